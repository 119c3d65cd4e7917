"""loongarch64 page-table entries, as the kernel's TLB refill handler walks
them with lddir/ldpte (LoongArch reference manual vol. 1, 5.4 and 7.5.x;
Linux arch/loongarch/include/asm/pgtable-bits.h).  The interface is
x86_64.py's (see its docstring).

The kernel programs CSR.PWCL = 12 | 9<<5 | 21<<10 | 9<<15 | 30<<20 | 9<<25
(PTbase 12, PTwidth 9, Dir1 at 21, Dir2 at 30, 9 bits each) and CSR.PWCH =
39 | 9<<6 (Dir3 at 39, 9 bits): four levels of 512 entries, 48-bit virtual
addresses, PGDL = PGDH = the kernel's root while no process runs (a
process's root in PGDL; its entries 256..511 are copies of the kernel's).

A directory entry (levels 4..2, naming a table) is the next table's
physical address and nothing else: the manual asks that every other bit
of a non-huge directory entry be 0, so an absent entry is 0 and a present
one is non-zero.  (Frame 0 must therefore never be a page table: the
kernel keeps it out of the frame allocator.)  The refill handler runs in
direct address mode, so physical addresses are what lddir needs.

A leaf (a PT entry, or a huge one in a level 2 / 3 directory):

   63   62  61  60..48 47 ................... 12  11..9  8   7   6    5..4  3..2   1   0
  +----+---+---+------+-------------------------+------+---+---+----+-----+------+---+---+
  |RPLV|NX |NR | 0    | physical address        | 0    | W | P |G/H | MAT | PLV  | D | V |
  +----+---+---+------+-------------------------+------+---+---+----+-----+------+---+---+

  V      valid (set on every leaf)        D    hardware "dirty": writable
  PLV    0: kernel only; 3: user (RPLV 0, so the kernel reaches it too)
  MAT    1 coherent cached (no cache flag), 2 weakly-ordered uncached
         (PAGE_WRITE_COMBINING), 0 strongly-ordered uncached (PAGE_UNCACHED)
  G      bit 6 in a PT entry: global (PAGE_GLOBAL)
  P, W   software bits in Linux's layout, which we follow: P (bit 7) marks a
         present leaf, W (bit 8) a writable one (always equal to D: there is
         no dirty tracking, every writable page is dirty from the start)
  NR     never set (every mapping is readable)   NX   PAGE_NO_EXECUTE
  RPLV   never set
  Huge leaves (levels 2, 3): bit 6 is HUGE (Linux's _PAGE_HUGE) and the
  global bit moves to bit 12 (Linux's _PAGE_HGLOBAL); the address starts at
  bit 21 / 30.  lddir hands a huge entry to the refill handler as is, which
  splits it into the two halves of a TLB entry pair.

The present-entry count: a directory entry has no bit to spare, so the
counts live in paging's side array (COUNT_IN_ENTRY False).  PALEN is 48 on
the LA464/LA664 cores (3A5000, 3A6000) and on QEMU.
"""

from elyz.mm.pte.common import (
    leaf_frame, LEVEL_PT, PAGE_WRITE, PAGE_USER, PAGE_NO_EXECUTE, PAGE_GLOBAL,
    PAGE_WRITE_COMBINING, PAGE_UNCACHED)
from elyz.rlib_kernel import rawmem

NAME = 'loongarch64'
MAX_PHYS = (1 << 48) - 1
COUNT_IN_ENTRY = False
# Does every address space's root carry the kernel half (entries 256..511,
# paging.copy_kernel_half)?  No: PGDH always holds the kernel's root and PGDL the process's (or an empty table), and a lower-half address with bit 47 set indexes PGDL's entries 256..511: copies of the kernel half there would alias the kernel below 2**48.
KERNEL_HALF_IN_EVERY_ROOT = False
KEPT_BITS = 0                       # the TLB refill handler sets nothing

PTE_V = 1 << 0
PTE_D = 1 << 1
PLV_SHIFT = 2
PTE_PLV_MASK = 3 << PLV_SHIFT
PTE_PLV_USER = 3 << PLV_SHIFT
MAT_SHIFT = 4
PTE_MAT_MASK = 3 << MAT_SHIFT
PTE_MAT_SUC = 0 << MAT_SHIFT        # strongly-ordered uncached
PTE_MAT_CC = 1 << MAT_SHIFT         # coherent cached
PTE_MAT_WUC = 2 << MAT_SHIFT        # weakly-ordered uncached
PTE_G = 1 << 6                      # in a PT entry
PTE_HUGE = 1 << 6                   # in a level 2 / 3 directory entry
PTE_P = 1 << 7
PTE_W = 1 << 8
PTE_HGLOBAL = 1 << 12               # global, in a huge entry
PTE_NR = 1 << 61
PTE_NX = 1 << 62
PTE_RPLV = rawmem.to_word(1 << 63)
ADDR_MASK = 0x0000FFFFFFFFF000      # bits 47..12

PWCL_VALUE = 12 | 9 << 5 | 21 << 10 | 9 << 15 | 30 << 20 | 9 << 25
PWCH_VALUE = 39 | 9 << 6


def table_entry(table, lower):
    return table


def page_bits(flags):
    bits = PTE_V | PTE_P
    if flags & PAGE_WRITE:
        bits |= PTE_D | PTE_W
    if flags & PAGE_USER:
        bits |= PTE_PLV_USER
    if flags & PAGE_NO_EXECUTE:
        bits |= PTE_NX
    if flags & PAGE_WRITE_COMBINING:
        bits |= PTE_MAT_WUC
    elif not (flags & PAGE_UNCACHED):
        bits |= PTE_MAT_CC
    if flags & PAGE_GLOBAL:
        bits |= PTE_G
    return bits


def block_bits(flags, level):
    """A huge leaf: HUGE in bit 6, the global bit moved to bit 12."""
    bits = page_bits(flags & ~PAGE_GLOBAL) | PTE_HUGE
    if flags & PAGE_GLOBAL:
        bits |= PTE_HGLOBAL
    return bits


def leaf(phys, bits):
    return phys | bits


def is_present(entry):
    """A leaf has P (and V); a directory entry is a non-zero address."""
    return entry != 0


def is_block(entry):
    return (entry & PTE_HUGE) != 0


def table_address(entry):
    return entry & ADDR_MASK


def leaf_address(entry, level):
    return leaf_frame(entry, level, ADDR_MASK)


def flags_of(entry, level):
    flags = 0
    if entry & PTE_D:
        flags |= PAGE_WRITE
    if (entry & PTE_PLV_MASK) == PTE_PLV_USER:
        flags |= PAGE_USER
    if entry & PTE_NX:
        flags |= PAGE_NO_EXECUTE
    if level > LEVEL_PT:
        if entry & PTE_HGLOBAL:
            flags |= PAGE_GLOBAL
    elif entry & PTE_G:
        flags |= PAGE_GLOBAL
    mat = entry & PTE_MAT_MASK
    if mat == PTE_MAT_WUC:
        flags |= PAGE_WRITE_COMBINING
    elif mat == PTE_MAT_SUC:
        flags |= PAGE_UNCACHED
    return flags


def grants_user(entry, level):
    """Only a leaf can (PLV 3): a directory entry is an address alone."""
    if level == LEVEL_PT or is_block(entry):
        return (entry & PTE_PLV_MASK) == PTE_PLV_USER
    return False
