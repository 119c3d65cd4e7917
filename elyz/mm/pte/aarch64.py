"""aarch64 page-table entries: VMSAv8-64 stage 1, 4 KiB granule, 48-bit
virtual addresses (Arm ARM D8.3; Linux arch/arm64/include/asm/pgtable-hwdef.h).
The interface is x86_64.py's (see its docstring).

The kernel sets TCR_EL1.T1SZ = 16 and loads TTBR1_EL1 with the kernel's
root table: a walk of an upper-half address (0xffff8000_00000000 and up)
indexes its entries 256..511, the same entries as on x86_64.  TTBR0_EL1
holds the kernel's root too until a process runs, then the process's root
(whose entries 256..511 are copies of the kernel's, as on x86_64).  With
T0SZ = 17 a TTBR0 walk covers exactly the lower half, entries 0..255.

   63  62..61  60   59   58..55  54  53  52  51..48  47 ............ 12  11  10  9..8  7..6   5   4..2   1   0
  +---+------+----+----+-------+---+---+---+------+-------------------+---+---+-----+-----+---+------+---+---+
  |NS |APTbl |UXN |PXN | soft  |UXN|PXN|Con| res0 | output address or |nG |AF | SH  | AP  |NS |AttrIx|typ| V |
  |tbl|      |tbl |tbl |       |   |   |   |      | next table        |   |   |     |[2:1]|   |      |   |   |
  +---+------+----+----+-------+---+---+---+------+-------------------+---+---+-----+-----+---+------+---+---+
   (table descriptors: bits 63..59)  (leaves: bits 54..52 and 11..2)

  V, typ   0b11 at levels 4..2 (x86 names; Arm levels 0..2): a table
           descriptor; 0b01 at levels 3 and 2: a block (1 GiB, 2 MiB);
           0b11 at level 1 (Arm level 3): a 4 KiB page.  V=0: invalid.
  AttrIx   index into MAIR_EL1, which the kernel programs with MAIR_VALUE:
             0  0xff  normal memory, inner/outer write-back   (no cache flag)
             1  0x04  device nGnRE                            (PAGE_UNCACHED)
             2  0x44  normal memory, inner/outer non-cacheable (PAGE_WRITE_COMBINING)
  AP[2:1]  bit 7 (AP[2]) read-only; bit 6 (AP[1]) accessible from EL0
  SH       0b11 inner shareable (device memory ignores it)
  AF       access flag: always set (no access-flag faults)
  nG       not global: set on every page without PAGE_GLOBAL (tagged with
           the ASID); PAGE_GLOBAL is refused in the lower half, so every
           lower-half page has it
  PXN, UXN no execution at EL1 / at EL0.  A user page always has PXN (the
           kernel never runs user memory) and UXN with PAGE_NO_EXECUTE; a
           kernel page always has UXN and PXN with PAGE_NO_EXECUTE.
  table descriptors: upper half APTable[0] (bit 61, no EL0 access below)
           and UXNTable (bit 60); lower half PXNTable (bit 59): no page
           below a lower-half table is kernel-executable, whatever its leaf
           says.  The leaf decides everything else.

The present-entry count: a table descriptor ignores only bits 58..52 (7
bits, at most 127), too few for 0..512, so the counts live in paging's side
array (COUNT_IN_ENTRY False).  The physical addresses are 48-bit (no
FEAT_LPA).
"""

from elyz.mm.pte.common import (
    leaf_frame, LEVEL_PT, PAGE_WRITE, PAGE_USER, PAGE_NO_EXECUTE, PAGE_GLOBAL,
    PAGE_WRITE_COMBINING, PAGE_UNCACHED)

NAME = 'aarch64'
MAX_PHYS = (1 << 48) - 1
COUNT_IN_ENTRY = False
# Does every address space's root carry the kernel half (entries 256..511,
# paging.copy_kernel_half)?  Yes: TTBR0 and TTBR1 hold the same root; T0SZ = 17 keeps TTBR0 walks to entries 0..255.
KERNEL_HALF_IN_EVERY_ROOT = True
KEPT_BITS = 0                       # no hardware-set bits (AF is always set)

DESC_VALID = 1 << 0
DESC_TABLE = 0b11                   # a table descriptor (levels 4..2)
DESC_BLOCK = 0b01                   # a block descriptor (levels 3, 2)
DESC_PAGE = 0b11                    # a page descriptor (level 1)
DESC_TYPE_MASK = 0b11
ATTR_SHIFT = 2
ATTR_MASK = 0b111 << ATTR_SHIFT
ATTR_NORMAL = 0 << ATTR_SHIFT       # MAIR index 0
ATTR_DEVICE = 1 << ATTR_SHIFT       # MAIR index 1
ATTR_NORMAL_NC = 2 << ATTR_SHIFT    # MAIR index 2
AP_EL0 = 1 << 6                     # AP[1]
AP_RDONLY = 1 << 7                  # AP[2]
SH_INNER = 0b11 << 8
AF = 1 << 10
NG = 1 << 11
PXN = 1 << 53
UXN = 1 << 54
TABLE_PXN = 1 << 59
TABLE_UXN = 1 << 60
TABLE_AP_NO_EL0 = 1 << 61           # APTable[0]
ADDR_MASK = 0x0000FFFFFFFFF000      # bits 47..12

# MAIR_EL1: Attr0 normal WB (0xff), Attr1 device nGnRE (0x04), Attr2
# normal non-cacheable (0x44), Attr3..7 unused (0).
MAIR_VALUE = 0x4404ff

USER_TABLE_BITS = DESC_TABLE | TABLE_PXN
KERNEL_TABLE_BITS = DESC_TABLE | TABLE_UXN | TABLE_AP_NO_EL0


def table_entry(table, lower):
    if lower:
        return table | USER_TABLE_BITS
    return table | KERNEL_TABLE_BITS


def page_bits(flags):
    bits = DESC_PAGE | AF | SH_INNER
    if not (flags & PAGE_WRITE):
        bits |= AP_RDONLY
    if flags & PAGE_USER:
        bits |= AP_EL0 | PXN
        if flags & PAGE_NO_EXECUTE:
            bits |= UXN
    else:
        bits |= UXN
        if flags & PAGE_NO_EXECUTE:
            bits |= PXN
    if not (flags & PAGE_GLOBAL):
        bits |= NG
    if flags & PAGE_WRITE_COMBINING:
        bits |= ATTR_NORMAL_NC
    elif flags & PAGE_UNCACHED:
        bits |= ATTR_DEVICE
    return bits


def block_bits(flags, level):
    """A block descriptor: the page's bits with type 0b01."""
    return (page_bits(flags) & ~DESC_TYPE_MASK) | DESC_BLOCK


def leaf(phys, bits):
    return phys | bits


def is_present(entry):
    return (entry & DESC_VALID) != 0


def is_block(entry):
    """A valid level 2 or 3 descriptor is a block when bit 1 is clear."""
    return (entry & DESC_TYPE_MASK) == DESC_BLOCK


def table_address(entry):
    return entry & ADDR_MASK


def leaf_address(entry, level):
    return leaf_frame(entry, level, ADDR_MASK)


def flags_of(entry, level):
    flags = 0
    if not (entry & AP_RDONLY):
        flags |= PAGE_WRITE
    if entry & AP_EL0:
        flags |= PAGE_USER
        if entry & UXN:
            flags |= PAGE_NO_EXECUTE
    elif entry & PXN:
        flags |= PAGE_NO_EXECUTE
    if not (entry & NG):
        flags |= PAGE_GLOBAL
    attr = entry & ATTR_MASK
    if attr == ATTR_NORMAL_NC:
        flags |= PAGE_WRITE_COMBINING
    elif attr == ATTR_DEVICE:
        flags |= PAGE_UNCACHED
    return flags


def grants_user(entry, level):
    """A leaf with AP[1]; a table descriptor without APTable[0]."""
    if level == LEVEL_PT or is_block(entry):
        return (entry & AP_EL0) != 0
    return (entry & TABLE_AP_NO_EL0) == 0
