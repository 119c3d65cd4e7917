"""Specification of elyz.boot.limine: Limine's answers become a BootInfo."""

import os
import re
import struct

from elyz.boot import bootinfo, errors, limine
from elyz.boot.bootinfo import (
    BootInfo, MEM_ACPI_RECLAIMABLE, MEM_BOOTLOADER_RECLAIMABLE, MEM_FRAMEBUFFER,
    MEM_KERNEL_AND_MODULES, MEM_RESERVED, MEM_USABLE, PROTOCOL_LIMINE)
from elyz.boot.limine import parse_limine, parse_limine_table, read_request_table
from elyz.rlib_kernel.rawmem import to_word
from tests.boot.images import DTB_PHYS, HHDM, LimineBoot, regions
from tests.support.rpycheck import rtype_allocation_free
from tests.conftest import ROOT

HEADER = os.path.join(ROOT, 'arch', 'common', 'kernel', 'limine_ids.h')


def typical_boot():
    world = LimineBoot()
    world.typical()
    info = BootInfo()
    return world, parse_limine(world.requests, info), info


def test_typical_boot_fills_every_field():
    world, status, info = typical_boot()
    assert status == errors.OK
    assert info.protocol == PROTOCOL_LIMINE
    assert info.protocol_name() == 'limine'
    assert info.hhdm_offset == to_word(HHDM)
    assert info.kernel_phys_base == 0x8200000
    assert info.kernel_virt_base == to_word(0xffffffff80100000)
    assert info.fb_present
    assert info.fb_address == to_word(HHDM + 0xfd000000)
    assert (info.fb_width, info.fb_height, info.fb_pitch, info.fb_bpp) == (1024, 768, 4096, 32)
    assert (info.fb_red_size, info.fb_red_shift) == (8, 16)
    assert (info.fb_green_size, info.fb_green_shift) == (8, 8)
    assert (info.fb_blue_size, info.fb_blue_shift) == (8, 0)
    assert info.module_count == 2
    assert (info.module_base[0], info.module_size[0]) == (to_word(HHDM + 0x8400000), 0x3000)
    assert (info.module_base[1], info.module_size[1]) == (to_word(HHDM + 0x8500000), 0x1234)
    assert info.rsdp == 0xf52a0
    assert info.stack_size == 128 * 1024
    assert ''.join(info.bootloader[:info.bootloader_len]) == 'Limine'
    assert ''.join(info.cmdline[:info.cmdline_len]) == 'elyz.selftest quiet'
    assert info.memmap_dropped == 0
    assert info.dtb_phys == DTB_PHYS


def test_memmap_entries_become_memory_regions():
    world, status, info = typical_boot()
    assert status == errors.OK
    assert regions(info) == [
        (0x0, 0x9f000, MEM_USABLE), (0x9fc00, 0x400, MEM_RESERVED),
        (0xf0000, 0x10000, MEM_RESERVED), (0x100000, 0x7ee0000, MEM_USABLE),
        (0x7fe0000, 0x20000, MEM_ACPI_RECLAIMABLE),
        (0x8000000, 0x200000, MEM_BOOTLOADER_RECLAIMABLE),
        (0x8200000, 0x400000, MEM_KERNEL_AND_MODULES),
        (0xfd000000, 0x300000, MEM_FRAMEBUFFER),
        (0xfed1c000, 0x4000, MEM_RESERVED),          # RESERVED_MAPPED (8)
        (0x100000000, 0x40000000, MEM_USABLE)]


def test_request_table_is_read_slot_by_slot():
    world = LimineBoot()
    world.typical()
    r = world.requests
    slots = {limine.SLOT_BASE_REVISION: r.base_revision, limine.SLOT_HHDM: r.hhdm,
             limine.SLOT_MEMMAP: r.memmap, limine.SLOT_FRAMEBUFFER: r.framebuffer,
             limine.SLOT_EXECUTABLE_ADDRESS: r.executable_address,
             limine.SLOT_MODULE: r.module, limine.SLOT_RSDP: r.rsdp,
             limine.SLOT_STACK_SIZE: r.stack_size,
             limine.SLOT_BOOTLOADER_INFO: r.bootloader_info,
             limine.SLOT_EXECUTABLE_CMDLINE: r.executable_cmdline,
             limine.SLOT_EXECUTABLE_FILE: r.executable_file,
             limine.SLOT_DTB: r.dtb, limine.SLOT_ENTRY_POINT: r.entry_point}
    table = world.table(dict((k, v & 0xffffffffffffffff) for k, v in slots.items()))
    requests = limine.LimineRequests()
    assert read_request_table(to_word(table), requests) == errors.OK
    assert requests.__dict__ == r.__dict__
    info = BootInfo()
    assert parse_limine_table(to_word(table), info) == errors.OK
    assert info.cmdline_has('elyz.selftest')


def test_request_table_with_wrong_slot_count_is_refused():
    world = LimineBoot()
    table = world._bump('kernel_next', struct.pack('<Q', limine.TABLE_SLOTS + 1) +
                        b'\x00' * 8 * (limine.TABLE_SLOTS + 1))
    info = BootInfo()
    assert parse_limine_table(to_word(table), info) == errors.E_BAD_REQUEST
    assert info.protocol == PROTOCOL_LIMINE
    assert parse_limine_table(0, BootInfo()) == errors.E_BAD_ADDRESS


def test_minimal_boot_needs_only_hhdm_and_memmap():
    world = LimineBoot()
    world.typical()
    r = world.requests
    minimal = limine.LimineRequests()
    minimal.base_revision, minimal.hhdm, minimal.memmap = r.base_revision, r.hhdm, r.memmap
    info = BootInfo()
    assert parse_limine(minimal, info) == errors.OK
    assert info.memmap_count == 10
    assert not info.fb_present
    assert info.module_count == 0
    assert info.rsdp == 0
    assert info.cmdline_len == 0 and info.bootloader_len == 0
    assert info.kernel_phys_base == 0
    assert info.stack_size == limine.DEFAULT_STACK_SIZE


def test_unanswered_optional_requests_leave_their_fields_empty():
    world = LimineBoot()
    world.typical()
    for field in ('framebuffer', 'module', 'rsdp', 'bootloader_info',
                  'executable_address', 'stack_size', 'executable_cmdline'):
        world.memory.store(getattr(world.requests, field) + limine.REQUEST_RESPONSE, 8, 0)
    world.memory.store(world.requests.executable_file + limine.REQUEST_RESPONSE, 8, 0)
    info = BootInfo()
    assert parse_limine(world.requests, info) == errors.OK
    assert not info.fb_present and info.module_count == 0 and info.rsdp == 0
    assert info.bootloader_len == 0 and info.cmdline_len == 0
    assert info.kernel_phys_base == 0 and info.kernel_virt_base == 0
    assert info.stack_size == limine.DEFAULT_STACK_SIZE


def test_no_device_tree_answer_leaves_dtb_phys_empty():
    world = LimineBoot()
    world.typical()
    world.memory.store(world.requests.dtb + limine.REQUEST_RESPONSE, 8, 0)
    info = BootInfo()
    assert parse_limine(world.requests, info) == errors.OK
    assert info.dtb_phys == 0


def test_device_tree_pointer_outside_the_hhdm_is_a_bad_address():
    world = LimineBoot()
    world.typical()
    response = world.memory.load(world.requests.dtb + limine.REQUEST_RESPONSE, 8)
    world.memory.store(response + 8, 8, DTB_PHYS)          # physical, not HHDM
    assert parse_limine(world.requests, BootInfo()) == errors.E_BAD_ADDRESS


def test_entry_point_request_is_checked_but_not_read():
    world = LimineBoot()
    world.typical()
    world.memory.store(world.requests.entry_point + 24, 8, 0)     # id word 3 broken
    assert parse_limine(world.requests, BootInfo()) == errors.E_BAD_REQUEST


def test_cmdline_falls_back_to_the_executable_file_string():
    world = LimineBoot()
    world.typical()
    world.memory.store(world.requests.executable_cmdline + limine.REQUEST_RESPONSE, 8, 0)
    info = BootInfo()
    assert parse_limine(world.requests, info) == errors.OK
    assert ''.join(info.cmdline[:info.cmdline_len]) == 'from-the-file'


def test_physical_rsdp_of_base_revision_3_is_kept():
    world = LimineBoot()
    world.typical()
    response = world.memory.load(world.requests.rsdp + limine.REQUEST_RESPONSE, 8)
    world.memory.store(response + 8, 8, 0xf52a0)
    info = BootInfo()
    assert parse_limine(world.requests, info) == errors.OK
    assert info.rsdp == 0xf52a0


def test_indexed_framebuffer_is_left_out():
    world = LimineBoot()
    world.typical()
    response = world.memory.load(world.requests.framebuffer + limine.REQUEST_RESPONSE, 8)
    fb = world.memory.load(world.memory.load(response + 16, 8), 8)
    world.memory.store(fb + 34, 1, 0)           # memory_model 0: not RGB
    info = BootInfo()
    assert parse_limine(world.requests, info) == errors.OK
    assert not info.fb_present


def test_more_modules_than_bootinfo_holds_are_cut_at_max_modules():
    world = LimineBoot()
    world.typical()
    files = [world.limine_file(HHDM + 0x9000000 + i * 0x1000, 0x1000, '/m', '')
             for i in range(bootinfo.MAX_MODULES + 3)]
    world.answer(world.requests.module & 0xffffffffffffffff,
                 struct.pack('<QQQ', 0, len(files), world.pointer_array(files)))
    info = BootInfo()
    assert parse_limine(world.requests, info) == errors.OK
    assert info.module_count == bootinfo.MAX_MODULES


# ------------------------------------------------------------ bad inputs

def test_unsupported_base_revision_is_refused():
    world = LimineBoot()
    world.typical()
    world.memory.store(world.requests.base_revision + 16, 8, 3)    # left unchanged
    info = BootInfo()
    assert limine.base_revision_supported(world.requests.base_revision) is False
    assert parse_limine(world.requests, info) == errors.E_BAD_VERSION
    assert info.protocol == PROTOCOL_LIMINE


def test_base_revision_is_supported_when_limine_zeroes_the_third_word():
    world = LimineBoot()
    tag = to_word(world.base_revision(supported=True))
    assert limine.base_revision_supported(tag)


def test_missing_base_revision_tag_is_a_bad_request():
    world = LimineBoot()
    world.typical()
    world.requests.base_revision = 0
    assert parse_limine(world.requests, BootInfo()) == errors.E_BAD_REQUEST
    world.requests.base_revision = world.requests.hhdm
    assert parse_limine(world.requests, BootInfo()) == errors.E_BAD_REQUEST


def test_request_in_the_wrong_slot_is_a_bad_request():
    world = LimineBoot()
    world.typical()
    world.requests.memmap, world.requests.hhdm = world.requests.hhdm, world.requests.memmap
    assert parse_limine(world.requests, BootInfo()) == errors.E_BAD_REQUEST


def test_missing_hhdm_is_an_error():
    world = LimineBoot()
    world.typical()
    world.memory.store(world.requests.hhdm + limine.REQUEST_RESPONSE, 8, 0)
    assert parse_limine(world.requests, BootInfo()) == errors.E_NO_HHDM
    world.requests.hhdm = 0
    assert parse_limine(world.requests, BootInfo()) == errors.E_NO_HHDM


def test_missing_or_empty_memmap_is_an_error():
    world = LimineBoot()
    world.typical()
    response = world.memory.load(world.requests.memmap + limine.REQUEST_RESPONSE, 8)
    world.memory.store(response + 8, 8, 0)
    assert parse_limine(world.requests, BootInfo()) == errors.E_NO_MEMORY_MAP
    world.memory.store(world.requests.memmap + limine.REQUEST_RESPONSE, 8, 0)
    assert parse_limine(world.requests, BootInfo()) == errors.E_NO_MEMORY_MAP


def test_absurd_memmap_entry_count_is_a_bad_size():
    world = LimineBoot()
    world.typical()
    response = world.memory.load(world.requests.memmap + limine.REQUEST_RESPONSE, 8)
    for count in (limine.MAX_ENTRY_COUNT + 1, 0xffffffffffffffff):
        world.memory.store(response + 8, 8, count)
        assert parse_limine(world.requests, BootInfo()) == errors.E_BAD_SIZE


def test_low_half_pointers_are_bad_addresses():
    world = LimineBoot()
    world.typical()
    response = world.memory.load(world.requests.memmap + limine.REQUEST_RESPONSE, 8)
    world.memory.store(response + 16, 8, 0x1000)          # entries: identity address
    assert parse_limine(world.requests, BootInfo()) == errors.E_BAD_ADDRESS
    world = LimineBoot()
    world.typical()
    world.memory.store(world.requests.framebuffer + limine.REQUEST_RESPONSE, 8, 0x5000)
    assert parse_limine(world.requests, BootInfo()) == errors.E_BAD_ADDRESS


# ------------------------------------------------------- the C header

def _header_defines():
    defines = {}
    for name, value in re.findall(r'^#define (ELYZ_LIMINE_\w+) (0x[0-9a-f]+|\d+)(?:ULL)?$',
                                  open(HEADER).read(), re.M):
        defines[name] = int(value, 0)
    return defines


def test_c_header_has_the_same_magic_numbers():
    d = _header_defines()
    assert (d['ELYZ_LIMINE_COMMON_MAGIC_0'], d['ELYZ_LIMINE_COMMON_MAGIC_1']) == \
        limine.COMMON_MAGIC
    assert (d['ELYZ_LIMINE_BASE_REVISION_MAGIC_0'], d['ELYZ_LIMINE_BASE_REVISION_MAGIC_1']) \
        == limine.BASE_REVISION_MAGIC
    assert tuple(d['ELYZ_LIMINE_REQUESTS_START_MARKER_%d' % i] for i in range(4)) == \
        limine.REQUESTS_START_MARKER
    assert tuple(d['ELYZ_LIMINE_REQUESTS_END_MARKER_%d' % i] for i in range(2)) == \
        limine.REQUESTS_END_MARKER


def test_c_header_has_every_request_id():
    d = _header_defines()
    for name, word2, word3 in limine.REQUEST_IDS:
        assert d['ELYZ_LIMINE_%s_ID_2' % name] == word2, name
        assert d['ELYZ_LIMINE_%s_ID_3' % name] == word3, name
    header_names = set(n[len('ELYZ_LIMINE_'):-len('_ID_2')] for n in d if n.endswith('_ID_2'))
    assert header_names == set(name for name, _, _ in limine.REQUEST_IDS)


def test_c_header_has_the_request_table_layout():
    d = _header_defines()
    assert d['ELYZ_LIMINE_TABLE_SLOTS'] == limine.TABLE_SLOTS
    python_slots = dict((n, v) for n, v in vars(limine).items() if n.startswith('SLOT_'))
    header_slots = dict((n[len('ELYZ_LIMINE_'):], v) for n, v in d.items()
                        if n.startswith('ELYZ_LIMINE_SLOT_'))
    assert header_slots == python_slots


def test_request_ids_are_unique():
    pairs = [(a, b) for _, a, b in limine.REQUEST_IDS]
    assert len(set(pairs)) == len(pairs)


# ---------------------------------------------------------------- RPython

def _limine_entry(table):
    return parse_limine_table(table, bootinfo.boot_info)


def test_limine_parser_is_valid_rpython_and_allocates_nothing():
    rtype_allocation_free([(_limine_entry, [int])], module_prefix='elyz.boot')


# ------------------------------------ the ports: devices from Limine's tree

def port_boot_with_tree():
    """A typical Limine boot whose DTB answer points at a real blob naming
    a PL011 and a GICv2; returns (world, info after parse_limine)."""
    from tests.support import fdt
    from tests.support.fdt import Node, cells, strings, u32
    uart = Node('pl011@9000000', [('compatible', strings('arm,pl011')),
                                  ('reg', cells(2, 0x9000000, 0x1000))])
    gic = Node('intc@8000000', [('compatible', strings('arm,cortex-a15-gic')),
                                ('reg', cells(2, 0x8000000, 0x10000, 0x8010000, 0x10000))])
    blob = fdt.build(Node('', [('#address-cells', u32(2)), ('#size-cells', u32(2))],
                          [uart, gic]))
    world = LimineBoot()
    world.typical()
    world.memory.add_region(HHDM + DTB_PHYS, blob.totalsize)
    world.memory.write(HHDM + DTB_PHYS, bytearray(blob.data[:blob.totalsize]))
    info = BootInfo()
    assert parse_limine(world.requests, info) == errors.OK
    return world, info


def test_limine_on_a_port_reads_the_devices_and_keeps_limines_memory_map():
    from elyz.kernel import boot
    world, info = port_boot_with_tree()
    before = regions(info)
    assert boot._limine_port_devices(info, 0) == errors.OK
    assert (info.uart_base, info.intc_base0, info.intc_base1) == (0x9000000, 0x8000000,
                                                                   0x8010000)
    assert regions(info) == before and info.hhdm_offset == to_word(HHDM)


def test_limine_on_a_port_moves_the_direct_map_where_the_stub_aliased_it():
    from elyz.kernel import boot
    world, info = port_boot_with_tree()
    alias = to_word(0xffff900000000000)      # not the tests' HHDM: a real move
    assert boot._limine_port_devices(info, alias) == errors.OK
    assert info.hhdm_offset == alias
    assert info.fb_address == alias + 0xfd000000
    assert info.module_base[0] == alias + 0x8400000 and info.module_base[1] == alias + 0x8500000
    assert info.dtb_phys == DTB_PHYS


def test_limine_on_a_port_without_a_device_tree_is_an_error():
    from elyz.kernel import boot
    world, info = port_boot_with_tree()
    info.dtb_phys = 0
    assert boot._limine_port_devices(info, 0) == boot.E_NO_DEVICE_TREE
    assert boot.error_name(boot.E_NO_DEVICE_TREE) == 'no device tree from the bootloader'
