"""x86_64 page-table entries: 4-level paging (Intel SDM vol. 3A, 4.5).

The format interface (every module of elyz/mm/pte has the same names):

    NAME, MAX_PHYS         the format's name; the highest physical address
    COUNT_IN_ENTRY         True: a lower-half table's present-entry count
                           lives in the entry naming it (COUNT_SHIFT,
                           COUNT_MASK, COUNT_ONE); False: in paging's side
                           array, one count per frame
    table_entry(table, lower) -> an entry naming the table at phys table, on
                           a lower-half (lower=True) or upper-half walk
    page_bits(flags)       -> every bit of a 4 KiB leaf with valid PAGE_*
                           flags, but the address
    block_bits(flags, level) -> the same for a 2 MiB (level 2) or 1 GiB
                           (level 3) leaf;  leaf(phys, bits) -> the entry
    is_present(entry)      is_block(entry): does a present entry of a level
                           2 or 3 table map memory itself (else it names a
                           table; level 1 entries are always leaves)
    table_address(entry)   leaf_address(entry, level): physical addresses
    flags_of(entry, level) -> the PAGE_* flags a leaf grants
    KEPT_BITS              the bits of a leaf protect keeps besides its
                           frame (those the CPU sets: accessed, dirty)
    grants_user(entry, level) -> does a present entry, leaf or table, let
                           user mode through (the audit's rule 2)

An entry:

   63  62..59  58..52  51 ............................ 12  11..9   8   7   6   5   4   3   2   1   0
  +--+-------+-------+-----------------------------------+-------+---+---+---+---+---+---+---+---+---+
  |NX| PKEY  | avail |  physical address of the frame    | avail | G |PS | D | A |PCD|PWT|U/S|R/W| P |
  |  |(leaf) |       |  or of the next-level table       |       |   |PAT|   |   |   |   |   |   |   |
  +--+-------+-------+-----------------------------------+-------+---+---+---+---+---+---+---+---+---+

  P    present; when 0 the CPU ignores every other bit
  R/W  writable           U/S  user-accessible        NX   no instruction fetch
  PWT, PCD (and PAT)      an index into the PAT MSR (see "Cache modes" below)
  A    accessed (set by the CPU)                      D    dirty (set by the CPU, leaves only)
  PS   in a PDPT entry: this is a 1 GiB page; in a PD entry: a 2 MiB page;
       in a PT entry bit 7 is PAT instead; in a PML4 entry it must be 0.
  G    global: survives a CR3 write (leaves only)
  In a 2 MiB / 1 GiB leaf, bit 12 is PAT and the address starts at bit 21 / 30.

The access rights of a page are the AND of R/W and U/S, and the OR of NX,
over the four entries of its walk: table entries carry P|R/W and no NX,
plus U/S in the lower half only, so the leaf decides everything but user
access, which the upper half never grants at any level.

The present-entry count: an entry of the lower half naming a table keeps,
in bits 61..52, how many entries of that table are present.  The CPU
ignores bits 62..52 of such an entry (they are protection keys only in a
leaf), so the count costs no memory and is read with the entry paging
reads anyway.  Upper-half entries carry no count.
"""

from elyz.mm.pte.common import (
    leaf_frame, PAGE_WRITE, PAGE_USER, PAGE_NO_EXECUTE, PAGE_GLOBAL,
    PAGE_WRITE_COMBINING, PAGE_UNCACHED)
from elyz.rlib_kernel import rawmem

NAME = 'x86_64'
MAX_PHYS = (1 << 52) - 1                    # the architectural limit

PTE_PRESENT = 1 << 0
PTE_WRITABLE = 1 << 1
PTE_USER = 1 << 2
PTE_PWT = 1 << 3
PTE_PCD = 1 << 4
PTE_ACCESSED = 1 << 5
PTE_DIRTY = 1 << 6
PTE_HUGE = 1 << 7
PTE_PAT_4K = 1 << 7                         # same bit as PTE_HUGE, in a PT entry
PTE_GLOBAL = 1 << 8
PTE_PAT_LARGE = 1 << 12                     # in a 2 MiB / 1 GiB leaf
PTE_NX = rawmem.to_word(1 << 63)            # a negative word
PTE_ADDR_MASK = 0x000FFFFFFFFFF000          # bits 51..12

# What protect keeps of a leaf besides its frame: the bits the CPU sets
# (and, of a large leaf, the PAT bit 12, which paging never sets).
KEPT_BITS = PTE_ADDR_MASK | PTE_ACCESSED | PTE_DIRTY

COUNT_IN_ENTRY = True
# Does every address space's root carry the kernel half (entries 256..511,
# paging.copy_kernel_half)?  Yes: CR3 names one table for both halves.
KERNEL_HALF_IN_EVERY_ROOT = True
COUNT_SHIFT = 52
COUNT_MASK = 0x3FF << COUNT_SHIFT           # bits 61..52, up to 1023 >= 512
COUNT_ONE = 1 << COUNT_SHIFT

USER_TABLE_ENTRY_BITS = PTE_PRESENT | PTE_WRITABLE | PTE_USER     # lower half
KERNEL_TABLE_ENTRY_BITS = PTE_PRESENT | PTE_WRITABLE              # upper half

# Cache modes.  The PAT index of a page is PAT*4 + PCD*2 + PWT; we never set
# the PAT bit, so only indexes 0..3 are used.  The kernel programs the PAT
# MSR (IA32_PAT, 0x277) with PAT_MSR_VALUE at boot (elyz/mm/kernel_space.py):
#
#   index  bits       type              used for
#     0    -          write-back (06)   PAGE_* with no cache flag (normal RAM)
#     1    PWT        write-combining (01)  PAGE_WRITE_COMBINING (framebuffers)
#     2    PCD        uncached-minus (07)   -
#     3    PCD|PWT    uncached (00)     PAGE_UNCACHED (device registers)
#     4..7            WB, WT, UC-, UC   (unused: the power-on values of 4..7)
#
# Until the MSR is programmed, index 1 is write-through (its power-on value),
# a safe if slower stand-in for write-combining; indexes 0 and 3 are WB and
# UC either way.  PAGE_NO_EXECUTE needs EFER.NXE set first (the NX bit is
# reserved otherwise: the CPU faults on the walk).
PAT_MSR = 0x277
PAT_MSR_VALUE = 0x0007040600070106
CACHE_MASK = PTE_PCD | PTE_PWT


def table_entry(table, lower):
    """Returns the entry naming the table at phys table (count 0): user
    access allowed below it in the lower half only."""
    if lower:
        return table | USER_TABLE_ENTRY_BITS
    return table | KERNEL_TABLE_ENTRY_BITS


def page_bits(flags):
    """Returns the bits of a 4 KiB leaf with PAGE_* flags, but the
    address; negative with PAGE_NO_EXECUTE (bit 63)."""
    bits = 0
    if flags & PAGE_WRITE:
        bits |= PTE_WRITABLE
    if flags & PAGE_USER:
        bits |= PTE_USER
    if flags & PAGE_NO_EXECUTE:
        bits |= PTE_NX
    if flags & PAGE_GLOBAL:
        bits |= PTE_GLOBAL
    if flags & PAGE_WRITE_COMBINING:
        bits |= PTE_PWT                     # PAT index 1
    if flags & PAGE_UNCACHED:
        bits |= PTE_PCD | PTE_PWT           # PAT index 3
    return bits | PTE_PRESENT


def block_bits(flags, level):
    """Returns the bits of a 2 MiB or 1 GiB leaf: PS set."""
    return page_bits(flags) | PTE_HUGE


def leaf(phys, bits):
    """Returns the leaf entry mapping the frame at phys with page_bits or
    block_bits bits."""
    return phys | bits


def is_present(entry):
    return (entry & PTE_PRESENT) != 0


def is_block(entry):
    """A present PD or PDPT entry maps a 2 MiB or 1 GiB page (PS)."""
    return (entry & PTE_HUGE) != 0


def table_address(entry):
    return entry & PTE_ADDR_MASK


def leaf_address(entry, level):
    return leaf_frame(entry, level, PTE_ADDR_MASK)


def flags_of(entry, level):
    """Returns the PAGE_* flags a leaf grants.  Never fails."""
    flags = 0
    if entry & PTE_WRITABLE:
        flags |= PAGE_WRITE
    if entry & PTE_USER:
        flags |= PAGE_USER
    if entry & PTE_NX:
        flags |= PAGE_NO_EXECUTE
    if entry & PTE_GLOBAL:
        flags |= PAGE_GLOBAL
    cache = entry & CACHE_MASK
    if cache == PTE_PWT:
        flags |= PAGE_WRITE_COMBINING
    elif cache == CACHE_MASK:
        flags |= PAGE_UNCACHED
    return flags


def grants_user(entry, level):
    return (entry & PTE_USER) != 0
