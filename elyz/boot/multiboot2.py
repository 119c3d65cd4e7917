"""Multiboot2: from the boot information structure (MBI) to BootInfo.

Protocol document: "The Multiboot2 Specification version 2.0", section 3.6
"Boot information format" (GNU GRUB), with multiboot2.h from the same
distribution for the framebuffer tag (see below).

The MBI, 8-byte aligned, all fields little endian:
      0  u32 total_size       bytes, including this header and the end tag
      4  u32 reserved
      8  tags, each 8-byte aligned:  u32 type, u32 size (without padding)
Tags read here (offsets from the tag's start):
    1  command line      8: NUL-terminated string
    2  bootloader name   8: NUL-terminated string
    3  module            8: u32 mod_start, 12: u32 mod_end, 16: string
    4  basic meminfo     8: u32 mem_lower KiB (from 0), 12: u32 mem_upper KiB
                         (from 1 MiB); used only when there is no mmap tag
    6  memory map        8: u32 entry_size, 12: u32 entry_version, 16: entries
                         {u64 base_addr, u64 length, u32 type, u32 reserved};
                         types 1 available, 3 ACPI reclaimable, 4 ACPI NVS,
                         5 defective RAM, anything else reserved
    8  framebuffer       8: u64 addr, 16: u32 pitch, 20: u32 width,
                         24: u32 height, 28: u8 bpp, 29: u8 type (1 = RGB),
                         30: u16 reserved, then for RGB 32: u8 red_field_position,
                         33: red_mask_size, 34/35: green, 36/37: blue.
                         (The specification's prose shows an u8 reserved at
                         30; multiboot2.h and GRUB use u16, so colours at 32.)
   14  ACPI old RSDP     8: a copy of the RSDP v1
   15  ACPI new RSDP     8: a copy of the RSDP v2 (preferred over 14)
    0  end               size 8
The bootloader's addresses are physical; the kernel reads them through the
early direct map (virtual = physical + hhdm_offset), which covers only
layout.EARLY_MAP_SIZE bytes, so anything outside it is refused.

    parse_multiboot2(info_phys, hhdm_offset, info) -> 0 or an error code
"""

from elyz.boot import errors, layout, memmap
from elyz.boot.bootinfo import (
    MEM_ACPI_NVS, MEM_ACPI_RECLAIMABLE, MEM_BAD, MEM_BOOTLOADER_RECLAIMABLE,
    MEM_KERNEL_AND_MODULES, MEM_RESERVED, MEM_USABLE, PROTOCOL_MULTIBOOT2)
from elyz.rlib_kernel import rawmem

BOOTLOADER_MAGIC = 0x36d76289      # in eax at entry (checked by boot.S)

TAG_END = 0
TAG_CMDLINE = 1
TAG_BOOTLOADER_NAME = 2
TAG_MODULE = 3
TAG_BASIC_MEMINFO = 4
TAG_MMAP = 6
TAG_FRAMEBUFFER = 8
TAG_ACPI_OLD = 14
TAG_ACPI_NEW = 15

TAG_HEADER_SIZE = 8
INFO_HEADER_SIZE = 8
MAX_INFO_SIZE = 1024 * 1024        # a larger total_size is garbage
MODULE_TAG_MIN_SIZE = 16
MEMINFO_TAG_SIZE = 16
MMAP_TAG_HEADER_SIZE = 16
MMAP_ENTRY_MIN_SIZE = 24
FRAMEBUFFER_TAG_MIN_SIZE = 32      # the common part, up to the reserved u16
FRAMEBUFFER_RGB_TAG_SIZE = 38      # with the six colour bytes

MMAP_AVAILABLE = 1
MMAP_ACPI_RECLAIMABLE = 3
MMAP_NVS = 4
MMAP_BADRAM = 5
FRAMEBUFFER_TYPE_RGB = 1

LOW_MEMORY_BASE = 0
HIGH_MEMORY_BASE = 0x100000        # mem_upper counts from 1 MiB


class _ParseState(object):
    """What one pass over the tags saw besides BootInfo fields."""

    def __init__(self):
        self.reset()

    def reset(self):
        """Forgets the previous pass; returns nothing."""
        self.saw_mmap = False
        self.saw_meminfo = False
        self.mem_lower_kib = 0
        self.mem_upper_kib = 0
        self.saw_acpi_new = False


_state = _ParseState()


def parse_multiboot2(info_phys, hhdm_offset, info):
    """Resets info and fills it from the MBI at physical address info_phys,
    read at info_phys + hhdm_offset; the MBI itself (it holds the RSDP copy)
    and the modules are marked in the memory map, which is normalised.
    Returns 0, or: E_BAD_ADDRESS when the MBI or a module lies outside the
    early map (or info_phys is 0 or misaligned), E_BAD_SIZE for an
    impossible total_size or tag size, E_TRUNCATED when a tag runs past
    total_size or there is no end tag, E_NO_MEMORY_MAP when neither a
    memory map nor basic meminfo tag is present."""
    info.reset()
    info.protocol = PROTOCOL_MULTIBOOT2
    info.hhdm_offset = hhdm_offset
    info.kernel_phys_base = layout.KERNEL_PHYS_BASE
    info.kernel_virt_base = layout.KERNEL_VIRT_BASE
    info.stack_size = layout.BOOT_STACK_SIZE
    _state.reset()
    if info_phys == 0 or info_phys & 7 != 0:
        return errors.E_BAD_ADDRESS
    if not layout.in_early_map(info_phys, INFO_HEADER_SIZE):
        return errors.E_BAD_ADDRESS
    base = info_phys + hhdm_offset
    total_size = rawmem.load_u32(base)
    if total_size < INFO_HEADER_SIZE + TAG_HEADER_SIZE or total_size > MAX_INFO_SIZE:
        return errors.E_BAD_SIZE
    if not layout.in_early_map(info_phys, total_size):
        return errors.E_BAD_ADDRESS
    offset = INFO_HEADER_SIZE
    found_end = False
    while offset + TAG_HEADER_SIZE <= total_size:
        tag_type = rawmem.load_u32(base + offset)
        tag_size = rawmem.load_u32(base + offset + 4)
        if tag_size < TAG_HEADER_SIZE:
            return errors.E_BAD_SIZE
        if tag_size > total_size - offset:
            return errors.E_TRUNCATED
        if tag_type == TAG_END:
            found_end = True
            break
        status = _read_tag(tag_type, info_phys + offset, tag_size, hhdm_offset, info)
        if status != errors.OK:
            return status
        offset += (tag_size + 7) & ~7
    if not found_end:
        return errors.E_TRUNCATED
    if not _state.saw_mmap:
        if not _state.saw_meminfo:
            return errors.E_NO_MEMORY_MAP
        memmap.add_region(info, LOW_MEMORY_BASE, _state.mem_lower_kib * 1024, MEM_USABLE)
        memmap.add_region(info, HIGH_MEMORY_BASE, _state.mem_upper_kib * 1024, MEM_USABLE)
    memmap.add_region(info, info_phys, total_size, MEM_BOOTLOADER_RECLAIMABLE)
    for i in range(info.module_count):
        memmap.add_region(info, info.module_base[i] - hhdm_offset, info.module_size[i],
                          MEM_KERNEL_AND_MODULES)
    memmap.normalise(info)
    return errors.OK


def _read_tag(tag_type, tag_phys, size, hhdm_offset, info):
    """Reads one tag of size bytes at physical tag_phys (already known to
    lie inside the MBI).  Returns 0 or the tag's error code; unknown tags
    are skipped."""
    tag = tag_phys + hhdm_offset
    if tag_type == TAG_CMDLINE:
        info.set_cmdline_from(tag + TAG_HEADER_SIZE, size - TAG_HEADER_SIZE)
    elif tag_type == TAG_BOOTLOADER_NAME:
        info.set_bootloader_from(tag + TAG_HEADER_SIZE, size - TAG_HEADER_SIZE)
    elif tag_type == TAG_MODULE:
        return _read_module(tag, size, hhdm_offset, info)
    elif tag_type == TAG_BASIC_MEMINFO:
        if size < MEMINFO_TAG_SIZE:
            return errors.E_BAD_SIZE
        _state.saw_meminfo = True
        _state.mem_lower_kib = rawmem.load_u32(tag + 8)
        _state.mem_upper_kib = rawmem.load_u32(tag + 12)
    elif tag_type == TAG_MMAP:
        return _read_mmap(tag, size, info)
    elif tag_type == TAG_FRAMEBUFFER:
        return _read_framebuffer(tag, size, hhdm_offset, info)
    elif tag_type == TAG_ACPI_NEW:
        info.rsdp = tag_phys + TAG_HEADER_SIZE
        _state.saw_acpi_new = True
    elif tag_type == TAG_ACPI_OLD:
        if not _state.saw_acpi_new:
            info.rsdp = tag_phys + TAG_HEADER_SIZE
    return errors.OK


def _read_module(tag, size, hhdm_offset, info):
    """Records a module (virtual address, size).  Returns E_BAD_SIZE for a
    short tag or mod_end before mod_start, E_BAD_ADDRESS for a module
    outside the early map; past MAX_MODULES modules are ignored."""
    if size < MODULE_TAG_MIN_SIZE:
        return errors.E_BAD_SIZE
    start = rawmem.load_u32(tag + 8)
    end = rawmem.load_u32(tag + 12)
    if end < start:
        return errors.E_BAD_SIZE
    if not layout.in_early_map(start, end - start):
        return errors.E_BAD_ADDRESS
    info.add_module(start + hhdm_offset, end - start)
    return errors.OK


def _memory_type(mb2_type):
    """Returns the MEM_* type for a Multiboot2 memory map type."""
    if mb2_type == MMAP_AVAILABLE:
        return MEM_USABLE
    if mb2_type == MMAP_ACPI_RECLAIMABLE:
        return MEM_ACPI_RECLAIMABLE
    if mb2_type == MMAP_NVS:
        return MEM_ACPI_NVS
    if mb2_type == MMAP_BADRAM:
        return MEM_BAD
    return MEM_RESERVED


def _read_mmap(tag, size, info):
    """Adds the memory map entries.  Returns E_BAD_SIZE for a short tag or
    an entry_size below 24 or not a multiple of 8."""
    if size < MMAP_TAG_HEADER_SIZE:
        return errors.E_BAD_SIZE
    entry_size = rawmem.load_u32(tag + 8)
    if entry_size < MMAP_ENTRY_MIN_SIZE or entry_size & 7 != 0:
        return errors.E_BAD_SIZE
    _state.saw_mmap = True
    count = (size - MMAP_TAG_HEADER_SIZE) // entry_size
    entry = tag + MMAP_TAG_HEADER_SIZE
    for i in range(count):
        memmap.add_region(info, rawmem.load_u64(entry), rawmem.load_u64(entry + 8),
                          _memory_type(rawmem.load_u32(entry + 16)))
        entry += entry_size
    return errors.OK


def _read_framebuffer(tag, size, hhdm_offset, info):
    """Records an RGB framebuffer at its early-map virtual address.
    Returns E_BAD_SIZE for a tag too short for its type; an indexed or text
    mode framebuffer, or one outside the early map, is left absent."""
    if size < FRAMEBUFFER_TAG_MIN_SIZE:
        return errors.E_BAD_SIZE
    if rawmem.load_u8(tag + 29) != FRAMEBUFFER_TYPE_RGB:
        return errors.OK
    if size < FRAMEBUFFER_RGB_TAG_SIZE:
        return errors.E_BAD_SIZE
    address = rawmem.load_u64(tag + 8)
    pitch = rawmem.load_u32(tag + 16)
    width = rawmem.load_u32(tag + 20)
    height = rawmem.load_u32(tag + 24)
    bpp = rawmem.load_u8(tag + 28)
    if width == 0 or height == 0 or pitch == 0 or bpp == 0:
        return errors.OK
    if not layout.in_early_map(address, pitch * height):
        return errors.OK
    # The Multiboot2 colour info puts each channel's position before its size.
    info.set_framebuffer(address + hhdm_offset, width, height, pitch, bpp,
                         rawmem.load_u8(tag + 33), rawmem.load_u8(tag + 32),
                         rawmem.load_u8(tag + 35), rawmem.load_u8(tag + 34),
                         rawmem.load_u8(tag + 37), rawmem.load_u8(tag + 36))
    return errors.OK
