"""Specification of elyz.boot.pvh: hvm_start_info becomes a BootInfo."""

from elyz.boot import bootinfo, errors, layout
from elyz.boot.bootinfo import (
    BootInfo, MEM_ACPI_NVS, MEM_ACPI_RECLAIMABLE, MEM_BAD, MEM_KERNEL_AND_MODULES,
    MEM_RESERVED, MEM_USABLE, PROTOCOL_PVH)
from elyz.boot.pvh import parse_pvh
from elyz.rlib_kernel.rawmem import to_word
from tests.boot.images import Machine, cstring, pvh_memmap, pvh_modlist, pvh_start_info, regions
from tests.support.rpycheck import rtype_allocation_free

HHDM = layout.EARLY_HHDM
START_INFO = 0x6000           # QEMU's PVH loader puts its tables low
MEMMAP = 0x6100
MODLIST = 0x6400
CMDLINE = 0x7000
MODULE_CMDLINE = 0x7400

QEMU_E820 = [(0x0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2),
             (0x100000, 0x7ee0000, 1), (0x7fe0000, 0x20000, 2), (0xfeffc000, 0x4000, 2),
             (0xfffc0000, 0x40000, 2)]


def qemu_boot(machine, e820=QEMU_E820, modules=(), cmdline='elyz.selftest elyz.exit',
              version=1, **overrides):
    machine.place(MEMMAP, pvh_memmap(e820))
    machine.place(CMDLINE, cstring(cmdline))
    if modules:
        machine.place(MODLIST, pvh_modlist(modules))
        machine.place(MODULE_CMDLINE, cstring('initrd'))
    fields = dict(version=version, flags=0, nr_modules=len(modules),
                  modlist_paddr=MODLIST if modules else 0, cmdline_paddr=CMDLINE,
                  rsdp_paddr=0xf52a0, memmap_paddr=MEMMAP, memmap_entries=len(e820))
    fields.update(overrides)
    machine.place(START_INFO, pvh_start_info(**fields))
    info = BootInfo()
    return parse_pvh(START_INFO, HHDM, info), info


def test_qemu_pvh_boot_fills_every_field():
    status, info = qemu_boot(Machine())
    assert status == errors.OK
    assert info.protocol == PROTOCOL_PVH
    assert info.protocol_name() == 'pvh'
    assert info.hhdm_offset == HHDM
    assert info.kernel_phys_base == 0x100000
    assert info.kernel_virt_base == to_word(0xffffffff80100000)
    assert info.stack_size == 64 * 1024
    assert ''.join(info.cmdline[:info.cmdline_len]) == 'elyz.selftest elyz.exit'
    assert info.cmdline_has('elyz.exit')
    assert info.rsdp == 0xf52a0
    assert info.bootloader_len == 0
    assert not info.fb_present
    assert info.module_count == 0
    assert info.memmap_dropped == 0


def test_memmap_entries_become_memory_regions():
    status, info = qemu_boot(Machine())
    assert status == errors.OK
    assert regions(info) == [(0x0, 0x9f000, MEM_USABLE), (0x9fc00, 0x400, MEM_RESERVED),
                             (0xf0000, 0x10000, MEM_RESERVED),
                             (0x100000, 0x7ee0000, MEM_USABLE),
                             (0x7fe0000, 0x20000, MEM_RESERVED),
                             (0xfeffc000, 0x4000, MEM_RESERVED),
                             (0xfffc0000, 0x40000, MEM_RESERVED)]


def test_e820_types_map_to_bootinfo_types():
    e820 = [(0x100000 * (t + 1), 0x1000, t) for t in range(1, 8)]
    status, info = qemu_boot(Machine(), e820=e820)
    assert status == errors.OK
    assert [t for _, _, t in regions(info)] == [
        MEM_USABLE, MEM_RESERVED, MEM_ACPI_RECLAIMABLE, MEM_ACPI_NVS, MEM_BAD,
        MEM_RESERVED, MEM_RESERVED]


def test_memory_above_4_gib_is_kept_in_the_map():
    e820 = QEMU_E820 + [(0x100000000, 0x80000000, 1)]
    status, info = qemu_boot(Machine(), e820=e820)
    assert status == errors.OK
    assert regions(info)[-1] == (0x100000000, 0x80000000, MEM_USABLE)


def test_overlapping_e820_entries_are_normalised():
    e820 = [(0x100000, 0x1000000, 1), (0x0, 0x9fc00, 1), (0x800000, 0x1000, 2)]
    status, info = qemu_boot(Machine(), e820=e820)
    assert status == errors.OK
    assert regions(info) == [(0x0, 0x9f000, MEM_USABLE), (0x100000, 0x700000, MEM_USABLE),
                             (0x800000, 0x1000, MEM_RESERVED),
                             (0x801000, 0x8ff000, MEM_USABLE)]


def test_modules_are_recorded_at_virtual_addresses_and_reserved():
    modules = [(0x2000000, 0x5000, MODULE_CMDLINE), (0x3000000, 0x10, 0)]
    status, info = qemu_boot(Machine(), modules=modules)
    assert status == errors.OK
    assert info.module_count == 2
    assert (info.module_base[0], info.module_size[0]) == (to_word(HHDM + 0x2000000), 0x5000)
    assert (info.module_base[1], info.module_size[1]) == (to_word(HHDM + 0x3000000), 0x10)
    assert (0x2000000, 0x5000, MEM_KERNEL_AND_MODULES) in regions(info)
    assert (0x3000000, 0x10, MEM_KERNEL_AND_MODULES) in regions(info)
    assert (0x3001000, 0x7fe0000 - 0x3001000, MEM_USABLE) in regions(info)


def test_missing_cmdline_and_rsdp_stay_empty():
    status, info = qemu_boot(Machine(), cmdline_paddr=0, rsdp_paddr=0)
    assert status == errors.OK
    assert info.cmdline_len == 0
    assert info.rsdp == 0


def test_cmdline_outside_the_early_map_is_ignored():
    status, info = qemu_boot(Machine(), cmdline_paddr=0x100000000)
    assert status == errors.OK
    assert info.cmdline_len == 0


# ------------------------------------------------------------ bad inputs

def test_wrong_magic_is_refused():
    status, info = qemu_boot(Machine(), magic=0x336ec579)
    assert status == errors.E_BAD_MAGIC
    assert info.protocol == PROTOCOL_PVH


def test_null_or_out_of_map_start_info_is_refused():
    assert parse_pvh(0, HHDM, BootInfo()) == errors.E_BAD_ADDRESS
    assert parse_pvh(layout.EARLY_MAP_SIZE - 16, HHDM, BootInfo()) == errors.E_BAD_ADDRESS
    assert parse_pvh(to_word(0xffffffffffff0000), HHDM, BootInfo()) == errors.E_BAD_ADDRESS


def test_version_0_has_no_memory_map():
    status, info = qemu_boot(Machine(), version=0)
    assert status == errors.E_NO_MEMORY_MAP
    assert info.cmdline_has('elyz.exit')     # what version 0 has is still read


def test_empty_memory_map_is_an_error():
    assert qemu_boot(Machine(), memmap_entries=0)[0] == errors.E_NO_MEMORY_MAP


def test_huge_entry_counts_are_a_bad_size():
    assert qemu_boot(Machine(), memmap_entries=0xffffffff)[0] == errors.E_BAD_SIZE
    assert qemu_boot(Machine(), nr_modules=0x10000000, modlist_paddr=MODLIST)[0] == \
        errors.E_BAD_SIZE


def test_tables_outside_the_early_map_are_refused():
    assert qemu_boot(Machine(), memmap_paddr=0x100000000)[0] == errors.E_BAD_ADDRESS
    assert qemu_boot(Machine(), memmap_paddr=0)[0] == errors.E_BAD_ADDRESS
    assert qemu_boot(Machine(), nr_modules=1, modlist_paddr=0)[0] == errors.E_BAD_ADDRESS


def test_module_outside_the_early_map_is_refused():
    modules = [(0xfffff000, 0x2000, 0)]
    assert qemu_boot(Machine(), modules=modules)[0] == errors.E_BAD_ADDRESS


# ---------------------------------------------------------------- RPython

def _pvh_entry(start_info_phys, hhdm_offset):
    return parse_pvh(start_info_phys, hhdm_offset, bootinfo.boot_info)


def test_pvh_parser_is_valid_rpython_and_allocates_nothing():
    rtype_allocation_free([(_pvh_entry, [int, int])], module_prefix='elyz.boot')
