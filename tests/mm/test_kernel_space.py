"""The kernel's own address space, built over simulated memory."""

import pytest

from elyz.boot import bootinfo, memmap
from elyz.boot.bootinfo import BootInfo
from elyz.lib import log
from elyz.mm import audit, kernel_space, paging, protection
from elyz.mm.pte import x86_64
from elyz.abi.errors import E_NOT_MAPPED
from elyz.mm.pmm import pmm
from elyz.rlib_kernel import cpu, image, rawmem

HHDM = rawmem.to_word(0xffff800000000000)
RAM = 64 << 20
KERNEL_PHYS = 0x100000
FB_PHYS = 0xfd000000
APIC_PHYS = 0xfee00000


@pytest.fixture
def space():
    memory = rawmem.simulate()
    memory.add_region(HHDM, RAM)
    emulated = cpu.emulate()
    emulated.cpuid_values[(kernel_space.CPUID_EXTENDED_FEATURES, 0)] = \
        (0, 0, 0, kernel_space.CPUID_EDX_NX)
    emulated.cpuid_values[(protection.CPUID_MAX_LEAF, 0)] = (0xd, 0, 0, 0)
    emulated.cpuid_values[(protection.CPUID_FEATURES, 0)] = (0, 0, 0, protection.CPUID_EDX_PGE)
    emulated.cpuid_values[(protection.CPUID_STRUCTURED_FEATURES, 0)] = \
        (0, protection.CPUID_EBX_SMEP | protection.CPUID_EBX_SMAP, 0, 0)
    log.reset_for_tests()
    layout = image.emulate()
    kernel_space.reset_for_tests()
    info = BootInfo()
    info.hhdm_offset = HHDM
    info.kernel_phys_base = KERNEL_PHYS
    info.kernel_virt_base = layout.kernel_start
    memmap.add_region(info, 0, RAM, bootinfo.MEM_USABLE)
    memmap.reserve_range(info, KERNEL_PHYS, layout.kernel_end - layout.kernel_start,
                         bootinfo.MEM_KERNEL_AND_MODULES)
    memmap.normalise(info)
    info.fb_present = True
    info.fb_address = FB_PHYS + HHDM
    info.fb_pitch = 4096
    info.fb_height = 768
    assert pmm.init(info, layout.kernel_end - layout.kernel_start) == 0
    pml4 = kernel_space.build(info, pmm)
    assert pml4 > 0
    kernel_space.activate(pml4)
    yield info, layout, pml4
    kernel_space.reset_for_tests()
    paging.set_hhdm_offset(0)
    image.emulate()
    cpu.emulate()


def test_image_sections_get_their_permissions(space):
    info, layout, pml4 = space
    text = paging.get_flags(pml4, layout.text_start)
    rodata = paging.get_flags(pml4, layout.rodata_start)
    data = paging.get_flags(pml4, layout.data_start)
    assert not text & paging.PAGE_WRITE and not text & paging.PAGE_NO_EXECUTE
    assert not rodata & paging.PAGE_WRITE and rodata & paging.PAGE_NO_EXECUTE
    assert data & paging.PAGE_WRITE and data & paging.PAGE_NO_EXECUTE
    assert paging.translate(pml4, layout.text_start) == \
        layout.text_start - layout.kernel_start + KERNEL_PHYS


def test_ram_is_direct_mapped_no_execute_and_the_framebuffer_write_combining(space):
    info, layout, pml4 = space
    assert paging.translate(pml4, HHDM + 0x5000) == 0x5000
    assert paging.get_flags(pml4, HHDM + 0x400000) & paging.PAGE_NO_EXECUTE
    assert paging.mapping_size(pml4, HHDM + 0x400000) == paging.LARGE_PAGE_SIZE
    fb = paging.get_flags(pml4, HHDM + FB_PHYS)
    assert fb & paging.PAGE_WRITE_COMBINING


def test_activate_loads_cr3_sets_nx_and_programs_the_pat(space):
    info, layout, pml4 = space
    emulated = cpu.emulated()
    assert emulated.cr3 == pml4
    assert emulated.msrs[x86_64.PAT_MSR] == x86_64.PAT_MSR_VALUE
    assert emulated.msrs[kernel_space.MSR_EFER] & kernel_space.EFER_NXE


def test_device_memory_is_mapped_uncached_on_demand(space):
    info, layout, pml4 = space
    assert paging.translate(pml4, HHDM + APIC_PHYS) < 0
    virt = kernel_space.map_device(APIC_PHYS + 0x20, 16)
    assert virt == HHDM + APIC_PHYS + 0x20
    assert paging.get_flags(pml4, HHDM + APIC_PHYS) & paging.PAGE_UNCACHED


def test_device_memory_inside_a_ram_large_page_is_refused_and_logged(space):
    assert kernel_space.map_device(0x400000, 16) == 0
    assert any('cannot map device memory' in line for line in log.captured)


def test_without_nx_the_kernel_maps_no_page_no_execute(space):
    info, layout, pml4 = space
    cpu.emulated().cpuid_values.clear()          # a CPU without the NX bit
    kernel_space.reset_for_tests()
    pml4 = kernel_space.build(info, pmm)
    assert pml4 > 0
    assert not paging.get_flags(pml4, layout.data_start) & paging.PAGE_NO_EXECUTE
    assert not paging.get_flags(pml4, HHDM + 0x5000) & paging.PAGE_NO_EXECUTE


def test_map_device_before_the_kernel_space_is_active_is_refused():
    kernel_space.reset_for_tests()
    log.reset_for_tests()
    assert kernel_space.map_device(APIC_PHYS, 16) == 0
    assert any('no kernel page tables yet' in line for line in log.captured)


def _audit_rules(nx=True):
    rules = audit.AuditRules()
    first, end = kernel_space.image_phys_range()
    rules.fill_from_image(first, end, nx)
    return rules


def test_the_image_frames_are_read_only_in_the_direct_map(space):
    info, layout, pml4 = space
    first, end = kernel_space.image_phys_range()
    assert (first, end) == (KERNEL_PHYS, KERNEL_PHYS + layout.kernel_end - layout.kernel_start)
    for phys in range(first, end, paging.PAGE_SIZE):
        flags = paging.get_flags(pml4, HHDM + phys)
        assert not flags & paging.PAGE_WRITE, hex(phys)
        assert flags & paging.PAGE_NO_EXECUTE, hex(phys)
    # Around the image the direct map stays writable.
    assert paging.get_flags(pml4, HHDM + first - paging.PAGE_SIZE) & paging.PAGE_WRITE
    assert paging.get_flags(pml4, HHDM + end) & paging.PAGE_WRITE


def test_the_image_is_read_only_in_the_direct_map_whatever_the_memory_map_calls_it(space):
    # A bootloader that reports the kernel's frames as plain usable memory
    # must not get them mapped writable.
    info, layout, pml4 = space
    for i in range(info.memmap_count):
        if info.memmap_type[i] == bootinfo.MEM_KERNEL_AND_MODULES:
            info.memmap_type[i] = bootinfo.MEM_USABLE
    kernel_space.reset_for_tests()
    pml4 = kernel_space.build(info, pmm)
    assert pml4 > 0
    text_alias = HHDM + KERNEL_PHYS + (layout.text_start - layout.kernel_start)
    assert not paging.get_flags(pml4, text_alias) & paging.PAGE_WRITE
    assert audit.audit(pml4, _audit_rules()) is None


def test_every_stack_is_mapped_and_every_guard_page_below_it_is_not(space):
    info, layout, pml4 = space
    assert len(layout.stacks) == len(image.STACK_NAMES)
    for bottom, top in layout.stacks:
        for page in range(bottom, top, paging.PAGE_SIZE):
            flags = paging.get_flags(pml4, page)
            assert flags & paging.PAGE_WRITE and flags & paging.PAGE_NO_EXECUTE
        assert paging.translate(pml4, bottom - image.STACK_GUARD_SIZE) == E_NOT_MAPPED
    assert image.stack_guard_hit(layout.stacks[0][0] - 8) == 0
    assert image.stack_guard_hit(layout.stacks[3][0] - image.STACK_GUARD_SIZE) == 3
    assert image.stack_guard_hit(layout.stacks[0][0]) == -1


def test_the_kernel_tables_pass_the_audit(space):
    info, layout, pml4 = space
    assert audit.audit(pml4, _audit_rules()) is None


def test_kernel_half_entries_are_supervisor_only(space):
    info, layout, pml4 = space
    for index in range(256, 512):
        entry = rawmem.load_u64(HHDM + pml4 + index * 8)
        assert entry & x86_64.PTE_PRESENT and not entry & x86_64.PTE_USER, index


def test_activate_sets_write_protect_global_pages_smep_and_smap(space):
    emulated = cpu.emulated()
    assert emulated.cr0 & protection.CR0_WP
    assert emulated.cr4 & protection.CR4_PGE
    assert emulated.cr4 & protection.CR4_SMEP and emulated.cr4 & protection.CR4_SMAP
    assert protection.smap_enabled()


# ------------------------------------------------------- device windows

UART_PHYS = 0x10000000              # outside the 64 MiB of RAM: not in the direct map yet
PL011_PHYS = 0x09000000


def test_add_device_window_refuses_a_ninth_window_and_ignores_empty_ones():
    kernel_space.reset_for_tests()
    try:
        for i in range(kernel_space.MAX_DEVICE_WINDOWS):
            assert kernel_space.add_device_window(UART_PHYS + i * paging.PAGE_SIZE, 8)
        assert not kernel_space.add_device_window(PL011_PHYS, 8)
        assert kernel_space.add_device_window(0, 0x1000)        # no device: ignored
        assert kernel_space.add_device_window(PL011_PHYS, 0)    # no size: ignored
        kernel_space.reset_for_tests()
        assert kernel_space.add_device_window(PL011_PHYS, 8)    # the table is empty again
    finally:
        kernel_space.reset_for_tests()


def _rebuild_with_windows(info, windows):
    kernel_space.reset_for_tests()
    for phys, size in windows:
        assert kernel_space.add_device_window(phys, size)
    pml4 = kernel_space.build(info, pmm)
    assert pml4 > 0
    return pml4


def test_build_maps_each_device_window_uncached_in_the_direct_map(space):
    info, layout, pml4 = space
    pml4 = _rebuild_with_windows(info, [(UART_PHYS, 0x100), (0, 0x1000)])
    flags = paging.get_flags(pml4, HHDM + UART_PHYS)
    assert flags & paging.PAGE_UNCACHED
    assert flags & paging.PAGE_WRITE and flags & paging.PAGE_NO_EXECUTE
    assert not flags & paging.PAGE_USER
    assert paging.translate(pml4, HHDM + UART_PHYS + 0x10) == UART_PHYS + 0x10
    assert paging.translate(pml4, HHDM + UART_PHYS + paging.PAGE_SIZE) == E_NOT_MAPPED
    assert paging.translate(pml4, HHDM) == 0        # phys 0 (no device) is just RAM
    assert not paging.get_flags(pml4, HHDM) & paging.PAGE_UNCACHED


def test_a_window_across_a_page_boundary_maps_both_pages(space):
    info, layout, pml4 = space
    pml4 = _rebuild_with_windows(info, [(PL011_PHYS + 0xff0, 0x20)])
    for page in (PL011_PHYS, PL011_PHYS + paging.PAGE_SIZE):
        assert paging.translate(pml4, HHDM + page) == page
        assert paging.get_flags(pml4, HHDM + page) & paging.PAGE_UNCACHED
    assert paging.translate(pml4, HHDM + PL011_PHYS + 2 * paging.PAGE_SIZE) == E_NOT_MAPPED


def test_without_windows_build_maps_no_device(space):
    info, layout, pml4 = space
    assert paging.translate(pml4, HHDM + UART_PHYS) == E_NOT_MAPPED
    assert paging.translate(pml4, HHDM + PL011_PHYS) == E_NOT_MAPPED
