"""Xen PVH: from struct hvm_start_info to BootInfo.

Protocol document: xen/include/public/arch-x86/hvm/start_info.h (Xen;
QEMU fills the same structure when it boots an ELF with a
XEN_ELFNOTE_PHYS32_ENTRY note) and docs/misc/pvh.pandoc.  Little endian;
every address is physical, and 0 means "not present".

    hvm_start_info
      0  u32 magic            XEN_HVM_START_MAGIC_VALUE 0x336ec578
      4  u32 version          0 or 1 (newer versions stay compatible)
      8  u32 flags
     12  u32 nr_modules
     16  u64 modlist_paddr    -> nr_modules hvm_modlist_entry
     24  u64 cmdline_paddr    NUL-terminated
     32  u64 rsdp_paddr
     40  u64 memmap_paddr     version >= 1 only
     48  u32 memmap_entries   version >= 1 only, 0 when there is no map
     52  u32 reserved
    hvm_modlist_entry (32 bytes)
      0  u64 paddr   8  u64 size   16  u64 cmdline_paddr   24  u64 reserved
    hvm_memmap_table_entry (24 bytes)
      0  u64 addr    8  u64 size   16  u32 type   20  u32 reserved
    types (E820 / ACPI address range types): 1 RAM, 2 reserved, 3 ACPI
    reclaimable, 4 ACPI NVS, 5 unusable, 6 disabled, 7 persistent memory

PVH passes no framebuffer and no bootloader name.  The structure is read
through the early direct map (virtual = physical + hhdm_offset), so every
address must lie in its first layout.EARLY_MAP_SIZE bytes.

    parse_pvh(start_info_phys, hhdm_offset, info) -> 0 or an error code
"""

from elyz.boot import errors, layout, memmap
from elyz.boot.bootinfo import (
    MAX_CMDLINE, MEM_ACPI_NVS, MEM_ACPI_RECLAIMABLE, MEM_BAD,
    MEM_KERNEL_AND_MODULES, MEM_RESERVED, MEM_USABLE, PROTOCOL_PVH)
from elyz.rlib_kernel import rawmem

START_MAGIC = 0x336ec578
START_INFO_SIZE_V0 = 40
START_INFO_SIZE_V1 = 56
MODLIST_ENTRY_SIZE = 32
MEMMAP_ENTRY_SIZE = 24
MAX_TABLE_ENTRIES = 1 << 16        # more modules or map entries is garbage

E820_RAM = 1
E820_RESERVED = 2
E820_ACPI = 3
E820_NVS = 4
E820_UNUSABLE = 5


def parse_pvh(start_info_phys, hhdm_offset, info):
    """Resets info and fills it from the hvm_start_info at physical address
    start_info_phys, read at start_info_phys + hhdm_offset; modules are
    marked in the memory map, which is normalised.  Returns 0, or:
    E_BAD_ADDRESS when the structure, its tables or a module lie outside
    the early map (or the address is 0), E_BAD_MAGIC for a wrong magic,
    E_BAD_SIZE for absurd table lengths, E_NO_MEMORY_MAP for a version 0
    structure or one without memory map entries."""
    info.reset()
    info.protocol = PROTOCOL_PVH
    info.hhdm_offset = hhdm_offset
    info.kernel_phys_base = layout.KERNEL_PHYS_BASE
    info.kernel_virt_base = layout.KERNEL_VIRT_BASE
    info.stack_size = layout.BOOT_STACK_SIZE
    if start_info_phys == 0 or not layout.in_early_map(start_info_phys, START_INFO_SIZE_V0):
        return errors.E_BAD_ADDRESS
    start = start_info_phys + hhdm_offset
    if rawmem.load_u32(start) != START_MAGIC:
        return errors.E_BAD_MAGIC
    version = rawmem.load_u32(start + 4)
    if version >= 1 and not layout.in_early_map(start_info_phys, START_INFO_SIZE_V1):
        return errors.E_BAD_ADDRESS
    _read_cmdline(rawmem.load_u64(start + 24), hhdm_offset, info)
    info.rsdp = rawmem.load_u64(start + 32)
    status = _read_modules(rawmem.load_u32(start + 12), rawmem.load_u64(start + 16),
                           hhdm_offset, info)
    if status != errors.OK:
        return status
    if version < 1:
        return errors.E_NO_MEMORY_MAP
    status = _read_memmap(rawmem.load_u32(start + 48), rawmem.load_u64(start + 40),
                          hhdm_offset, info)
    if status != errors.OK:
        return status
    for i in range(info.module_count):
        memmap.add_region(info, info.module_base[i] - hhdm_offset, info.module_size[i],
                          MEM_KERNEL_AND_MODULES)
    memmap.normalise(info)
    return errors.OK


def _read_cmdline(cmdline_phys, hhdm_offset, info):
    """Copies the command line (at most up to the end of the early map).
    Cannot fail: a missing or unreachable command line stays empty."""
    if cmdline_phys <= 0 or not layout.in_early_map(cmdline_phys, 1):
        return
    limit = layout.EARLY_MAP_SIZE - cmdline_phys
    if limit > MAX_CMDLINE:
        limit = MAX_CMDLINE
    info.set_cmdline_from(cmdline_phys + hhdm_offset, limit)


def _read_modules(count, modlist_phys, hhdm_offset, info):
    """Records up to MAX_MODULES modules (virtual address, size).  Returns
    E_BAD_SIZE for an absurd count, E_BAD_ADDRESS when the list or a module
    lies outside the early map."""
    if count == 0:
        return errors.OK
    if count > MAX_TABLE_ENTRIES:
        return errors.E_BAD_SIZE
    if modlist_phys == 0 or not layout.in_early_map(modlist_phys, count * MODLIST_ENTRY_SIZE):
        return errors.E_BAD_ADDRESS
    entry = modlist_phys + hhdm_offset
    for i in range(count):
        paddr = rawmem.load_u64(entry)
        size = rawmem.load_u64(entry + 8)
        if paddr == 0 or not layout.in_early_map(paddr, size):
            return errors.E_BAD_ADDRESS
        info.add_module(paddr + hhdm_offset, size)
        entry += MODLIST_ENTRY_SIZE
    return errors.OK


def _memory_type(e820_type):
    """Returns the MEM_* type for an E820 / hvm_memmap type."""
    if e820_type == E820_RAM:
        return MEM_USABLE
    if e820_type == E820_ACPI:
        return MEM_ACPI_RECLAIMABLE
    if e820_type == E820_NVS:
        return MEM_ACPI_NVS
    if e820_type == E820_UNUSABLE:
        return MEM_BAD
    return MEM_RESERVED


def _read_memmap(count, memmap_phys, hhdm_offset, info):
    """Adds the memory map entries.  Returns E_NO_MEMORY_MAP for an empty
    map, E_BAD_SIZE for an absurd count, E_BAD_ADDRESS for a table outside
    the early map."""
    if count == 0:
        return errors.E_NO_MEMORY_MAP
    if count > MAX_TABLE_ENTRIES:
        return errors.E_BAD_SIZE
    if memmap_phys == 0 or not layout.in_early_map(memmap_phys, count * MEMMAP_ENTRY_SIZE):
        return errors.E_BAD_ADDRESS
    entry = memmap_phys + hhdm_offset
    for i in range(count):
        memmap.add_region(info, rawmem.load_u64(entry), rawmem.load_u64(entry + 8),
                          _memory_type(rawmem.load_u32(entry + 16)))
        entry += MEMMAP_ENTRY_SIZE
    return errors.OK
