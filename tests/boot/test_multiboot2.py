"""Specification of elyz.boot.multiboot2: the MBI becomes a BootInfo."""

import struct

from elyz.boot import bootinfo, errors, layout
from elyz.boot.bootinfo import (
    BootInfo, MEM_ACPI_NVS, MEM_ACPI_RECLAIMABLE, MEM_BAD, MEM_BOOTLOADER_RECLAIMABLE,
    MEM_KERNEL_AND_MODULES, MEM_RESERVED, MEM_USABLE, PROTOCOL_MULTIBOOT2)
from elyz.boot.multiboot2 import parse_multiboot2
from elyz.rlib_kernel.rawmem import to_word
from tests.boot.images import Machine, Multiboot2Image, regions, rsdp_v1, rsdp_v2
from tests.support.rpycheck import rtype_allocation_free

MBI = 0x10000                 # where GRUB puts the MBI in these tests
HHDM = layout.EARLY_HHDM

QEMU_MMAP = [(0x0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2),
             (0x100000, 0x7ee0000, 1), (0x7fe0000, 0x20000, 2),
             (0xfeffc000, 0x4000, 2), (0xfffc0000, 0x40000, 2)]


def boot(image_bytes, machine=None, at=MBI):
    machine = machine or Machine()
    machine.place(at, image_bytes)
    info = BootInfo()
    status = parse_multiboot2(at, HHDM, info)
    return status, info


def grub_image():
    return (Multiboot2Image()
            .cmdline('elyz.selftest console=ttyS0')
            .bootloader_name('GRUB 2.12')
            .basic_meminfo(639, 130048)
            .mmap(QEMU_MMAP)
            .framebuffer_rgb(0xfd000000, 4096, 1024, 768, 32)
            .acpi_old(rsdp_v1()))


def test_grub_boot_fills_every_field():
    image = grub_image().build()
    status, info = boot(image)
    assert status == errors.OK
    assert info.protocol == PROTOCOL_MULTIBOOT2
    assert info.protocol_name() == 'multiboot2'
    assert info.hhdm_offset == HHDM
    assert info.kernel_phys_base == 0x100000
    assert info.kernel_virt_base == to_word(0xffffffff80100000)
    assert info.stack_size == 64 * 1024
    assert ''.join(info.cmdline[:info.cmdline_len]) == 'elyz.selftest console=ttyS0'
    assert info.cmdline_has('elyz.selftest')
    assert ''.join(info.bootloader[:info.bootloader_len]) == 'GRUB 2.12'
    assert info.fb_present
    assert info.fb_address == to_word(HHDM + 0xfd000000)
    assert (info.fb_width, info.fb_height, info.fb_pitch, info.fb_bpp) == (1024, 768, 4096, 32)
    assert (info.fb_red_shift, info.fb_red_size) == (16, 8)
    assert (info.fb_green_shift, info.fb_green_size) == (8, 8)
    assert (info.fb_blue_shift, info.fb_blue_size) == (0, 8)
    assert info.module_count == 0
    # The RSDP copy sits in the ACPI tag, right after its 8-byte header.
    acpi_tag_offset = image.index(b'RSD PTR ') - 8
    assert info.rsdp == MBI + acpi_tag_offset + 8
    assert info.memmap_dropped == 0


def test_mmap_tag_entries_become_memory_regions():
    status, info = boot(grub_image().build())
    assert status == errors.OK
    mbi_end = MBI + len(grub_image().build())
    assert regions(info) == [
        (0x0, MBI, MEM_USABLE),
        (MBI, mbi_end - MBI, MEM_BOOTLOADER_RECLAIMABLE),
        (0x11000, 0x9f000 - 0x11000, MEM_USABLE),
        (0x9fc00, 0x400, MEM_RESERVED),
        (0xf0000, 0x10000, MEM_RESERVED),
        (0x100000, 0x7ee0000, MEM_USABLE),
        (0x7fe0000, 0x20000, MEM_RESERVED),
        (0xfeffc000, 0x4000, MEM_RESERVED),
        (0xfffc0000, 0x40000, MEM_RESERVED)]


def test_mmap_types_map_to_bootinfo_types():
    image = (Multiboot2Image()
             .mmap([(0x100000, 0x1000, 1), (0x200000, 0x1000, 2), (0x300000, 0x1000, 3),
                    (0x400000, 0x1000, 4), (0x500000, 0x1000, 5), (0x600000, 0x1000, 9)])
             .build())
    status, info = boot(image)
    assert status == errors.OK
    types = dict((base, t) for base, _, t in regions(info))
    assert types == {MBI: MEM_BOOTLOADER_RECLAIMABLE, 0x100000: MEM_USABLE,
                     0x200000: MEM_RESERVED, 0x300000: MEM_ACPI_RECLAIMABLE,
                     0x400000: MEM_ACPI_NVS, 0x500000: MEM_BAD, 0x600000: MEM_RESERVED}


def test_mmap_entries_larger_than_24_bytes_are_stepped_over():
    image = Multiboot2Image().mmap([(0x100000, 0x2000, 1), (0x200000, 0x1000, 2)],
                                   entry_size=32).build()
    status, info = boot(image)
    assert status == errors.OK
    assert (0x100000, 0x2000, MEM_USABLE) in regions(info)
    assert (0x200000, 0x1000, MEM_RESERVED) in regions(info)


def test_unsorted_overlapping_mmap_is_normalised():
    image = Multiboot2Image().mmap([(0x200000, 0x100000, 1), (0x100000, 0x180000, 1),
                                    (0x180000, 0x1000, 2)]).build()
    status, info = boot(image)
    assert status == errors.OK
    assert regions(info)[1:] == [(0x100000, 0x80000, MEM_USABLE),
                                 (0x180000, 0x1000, MEM_RESERVED),
                                 (0x181000, 0x17f000, MEM_USABLE)]


def test_modules_are_recorded_at_virtual_addresses_and_reserved():
    machine = Machine()
    image = (Multiboot2Image().mmap([(0x0, 0x8000000, 1)])
             .module(0x400000, 0x403000, 'init arg')
             .module(0x500000, 0x500800, 'font').build())
    status, info = boot(image, machine)
    assert status == errors.OK
    assert info.module_count == 2
    assert info.module_base[0] == to_word(HHDM + 0x400000)
    assert info.module_size[0] == 0x3000
    assert info.module_base[1] == to_word(HHDM + 0x500000)
    assert info.module_size[1] == 0x800
    assert (0x400000, 0x3000, MEM_KERNEL_AND_MODULES) in regions(info)
    assert (0x500000, 0x800, MEM_KERNEL_AND_MODULES) in regions(info)
    assert (0x501000, 0x8000000 - 0x501000, MEM_USABLE) in regions(info)


def test_basic_meminfo_is_the_fallback_without_mmap_tag():
    image = Multiboot2Image().basic_meminfo(639, 127 * 1024).build()
    status, info = boot(image)
    assert status == errors.OK
    assert regions(info) == [(0x0, MBI, MEM_USABLE),
                             (MBI, len(image), MEM_BOOTLOADER_RECLAIMABLE),
                             (0x11000, 0x9f000 - 0x11000, MEM_USABLE),
                             (0x100000, 127 * 1024 * 1024, MEM_USABLE)]


def test_no_memory_information_at_all_is_an_error():
    status, info = boot(Multiboot2Image().cmdline('x').build())
    assert status == errors.E_NO_MEMORY_MAP
    assert info.protocol == PROTOCOL_MULTIBOOT2


def test_new_acpi_tag_wins_over_the_old_one_in_any_order():
    image = Multiboot2Image().mmap(QEMU_MMAP).acpi_new(rsdp_v2()).acpi_old(rsdp_v1()).build()
    status, info = boot(image)
    assert status == errors.OK
    assert info.rsdp == MBI + image.index(b'RSD PTR ')
    image = Multiboot2Image().mmap(QEMU_MMAP).acpi_old(rsdp_v1()).acpi_new(rsdp_v2()).build()
    status, info = boot(image)
    assert info.rsdp == MBI + image.rindex(b'RSD PTR ')


def test_ega_text_framebuffer_is_not_a_pixel_framebuffer():
    status, info = boot(Multiboot2Image().mmap(QEMU_MMAP).framebuffer_ega_text().build())
    assert status == errors.OK
    assert not info.fb_present


def test_framebuffer_above_the_early_map_is_left_out():
    image = Multiboot2Image().mmap(QEMU_MMAP).framebuffer_rgb(
        0x800000000, 4096, 1024, 768, 32).build()
    status, info = boot(image)
    assert status == errors.OK
    assert not info.fb_present


def test_unknown_tags_are_skipped():
    image = (Multiboot2Image().raw(21, struct.pack('<I', 0x100000)).raw(99, b'\xff' * 13)
             .mmap(QEMU_MMAP).cmdline('after unknown').build())
    status, info = boot(image)
    assert status == errors.OK
    assert info.cmdline_has('unknown')


def test_cmdline_longer_than_the_buffer_is_cut():
    status, info = boot(Multiboot2Image().mmap(QEMU_MMAP).cmdline('a' * 1000).build())
    assert status == errors.OK
    assert info.cmdline_len == bootinfo.MAX_CMDLINE - 1


def test_unterminated_cmdline_stops_at_its_tag_end():
    image = Multiboot2Image().raw(1, b'abc').mmap(QEMU_MMAP).build()
    status, info = boot(image)
    assert status == errors.OK
    assert ''.join(info.cmdline[:info.cmdline_len]) == 'abc'


# ------------------------------------------------------------ bad inputs

def test_null_or_misaligned_info_address_is_refused():
    Machine().place(MBI, grub_image().build())
    assert parse_multiboot2(0, HHDM, BootInfo()) == errors.E_BAD_ADDRESS
    assert parse_multiboot2(MBI + 4, HHDM, BootInfo()) == errors.E_BAD_ADDRESS


def test_info_beyond_the_early_map_is_refused():
    assert parse_multiboot2(layout.EARLY_MAP_SIZE, HHDM, BootInfo()) == errors.E_BAD_ADDRESS
    assert parse_multiboot2(to_word(0xfffffffffffff000), HHDM, BootInfo()) == \
        errors.E_BAD_ADDRESS


def test_huge_total_size_is_refused():
    image = grub_image().build(total_size=0x7fffffff)
    assert boot(image)[0] == errors.E_BAD_SIZE


def test_total_size_too_small_for_any_tag_is_refused():
    assert boot(grub_image().build(total_size=8))[0] == errors.E_BAD_SIZE


def test_total_size_running_past_the_early_map_is_refused():
    machine = Machine()
    at = layout.EARLY_MAP_SIZE - 0x1000
    image = grub_image().build(total_size=0x2000)
    assert boot(image, machine, at=at)[0] == errors.E_BAD_ADDRESS


def test_missing_end_tag_is_truncation():
    assert boot(grub_image().build(end_tag=False))[0] == errors.E_TRUNCATED


def test_tag_running_past_total_size_is_truncation():
    image = grub_image().raw(1, b'abc\x00', size=4096).build()
    assert boot(image)[0] == errors.E_TRUNCATED


def test_total_size_cutting_into_a_tag_is_truncation():
    cut = grub_image().build(total_size=40)
    assert boot(cut)[0] == errors.E_TRUNCATED


def test_tag_smaller_than_its_header_is_a_bad_size():
    image = Multiboot2Image().raw(1, b'', size=4).mmap(QEMU_MMAP).build()
    assert boot(image)[0] == errors.E_BAD_SIZE


def test_mmap_with_impossible_entry_size_is_a_bad_size():
    for entry_size in (0, 16, 28):
        image = Multiboot2Image().raw(6, struct.pack('<II', entry_size, 0) + b'\x00' * 48).build()
        assert boot(image)[0] == errors.E_BAD_SIZE


def test_module_ending_before_it_starts_is_a_bad_size():
    image = Multiboot2Image().mmap(QEMU_MMAP).module(0x500000, 0x400000).build()
    assert boot(image)[0] == errors.E_BAD_SIZE


def test_short_framebuffer_tag_is_a_bad_size():
    image = Multiboot2Image().mmap(QEMU_MMAP).raw(8, b'\x00' * 12).build()
    assert boot(image)[0] == errors.E_BAD_SIZE


def test_garbage_never_raises():
    import random
    rng = random.Random(1234)
    for _ in range(200):
        garbage = bytearray(rng.getrandbits(8) for _ in range(256))
        garbage[0:4] = struct.pack('<I', rng.choice([16, 64, 256, 4096, 0xffffffff]))
        machine = Machine()
        machine.place(MBI, bytes(garbage))
        if struct.unpack('<I', bytes(garbage[0:4]))[0] > 256:
            machine.place(MBI + 256, b'\x00' * 4096)
        status = parse_multiboot2(MBI, HHDM, BootInfo())
        assert status <= 0


# ---------------------------------------------------------------- RPython

def _multiboot2_entry(info_phys, hhdm_offset):
    return parse_multiboot2(info_phys, hhdm_offset, bootinfo.boot_info)


def test_multiboot2_parser_is_valid_rpython_and_allocates_nothing():
    rtype_allocation_free([(_multiboot2_entry, [int, int])], module_prefix='elyz.boot')
