"""riscv64 page-table entries: Sv48 (RISC-V privileged spec, 4.5; Linux
arch/riscv/include/asm/pgtable-bits.h).  The interface is x86_64.py's (see
its docstring).

Why Sv48 and not Sv39 (Linux's usual choice) or Sv57: it has the shape of
the other three formats, 4 levels of 512 entries and 48-bit virtual
addresses with the upper half at root entries 256..511, so the walker,
the counts and the kernel half are the same code everywhere; QEMU's virt
machine (rv64, satp.MODE = 9) supports it.

   63 ...... 54  53 ........................... 10  9..8   7   6   5   4   3   2   1   0
  +-------------+----------------------------------+------+---+---+---+---+---+---+---+---+
  |  reserved   |  PPN: physical address >> 12     | RSW  | D | A | G | U | X | W | R | V |
  |  (zero)     |                                  |      |   |   |   |   |   |   |   |   |
  +-------------+----------------------------------+------+---+---+---+---+---+---+---+---+

  entry = (phys >> 12) << 10 | bits.
  V        valid.  R=W=X=0: the entry names the next table (a non-leaf, in
           which U, G, A and D are reserved and stay 0); otherwise it is a
           leaf at any level (R always: every mapping is readable; W with
           PAGE_WRITE; X without PAGE_NO_EXECUTE).
  U        user page (the kernel reaches it only with sstatus.SUM)
  G        global (PAGE_GLOBAL)
  A, D     set on every leaf: no hardware A/D updating is assumed (Svadu),
           and a clear bit would fault on first access or write
  RSW      free for software: bits 9..8 record the cache mode asked for
           (01 PAGE_WRITE_COMBINING, 11 PAGE_UNCACHED) so that get_flags
           reads it back.  The hardware takes memory types from the PMAs
           (QEMU virt: RAM cacheable, device regions I/O); Svpbmt's PBMT
           field (bits 62..61) is not used: bits 63..54 stay zero in every
           entry.
  Table entries are the same in both halves (a non-leaf has no U bit):
  user access is decided by the leaves alone.

The present-entry count: no free bits in a non-leaf (RSW is 2 bits), so
the counts live in paging's side array (COUNT_IN_ENTRY False).  The PPN
is 44 bits: 56-bit physical addresses.
"""

from elyz.mm.pte.common import (
    PAGE_WRITE, PAGE_USER, PAGE_NO_EXECUTE, PAGE_GLOBAL,
    PAGE_WRITE_COMBINING, PAGE_UNCACHED)
from elyz.rlib_kernel import rawmem

NAME = 'riscv64'
MAX_PHYS = (1 << 56) - 1
COUNT_IN_ENTRY = False
# Does every address space's root carry the kernel half (entries 256..511,
# paging.copy_kernel_half)?  Yes: satp names one table for both halves.
KERNEL_HALF_IN_EVERY_ROOT = True
KEPT_BITS = 0                       # A and D are always set already

PTE_V = 1 << 0
PTE_R = 1 << 1
PTE_W = 1 << 2
PTE_X = 1 << 3
PTE_U = 1 << 4
PTE_G = 1 << 5
PTE_A = 1 << 6
PTE_D = 1 << 7
PTE_RSW_WC = 1 << 8                 # RSW = 01: write-combining asked for
PTE_RSW_UC = 3 << 8                 # RSW = 11: uncached asked for
PTE_RSW_MASK = 3 << 8
PTE_RWX = PTE_R | PTE_W | PTE_X
PPN_SHIFT = 10
PPN_MASK = (1 << 44) - 1
RESERVED_MASK = rawmem.to_word(0x3FF << 54)   # bits 63..54 (a negative word)


def table_entry(table, lower):
    return ((table >> 12) << PPN_SHIFT) | PTE_V


def page_bits(flags):
    bits = PTE_V | PTE_R | PTE_A | PTE_D
    if flags & PAGE_WRITE:
        bits |= PTE_W
    if not (flags & PAGE_NO_EXECUTE):
        bits |= PTE_X
    if flags & PAGE_USER:
        bits |= PTE_U
    if flags & PAGE_GLOBAL:
        bits |= PTE_G
    if flags & PAGE_WRITE_COMBINING:
        bits |= PTE_RSW_WC
    elif flags & PAGE_UNCACHED:
        bits |= PTE_RSW_UC
    return bits


def block_bits(flags, level):
    """A leaf is a leaf at any level."""
    return page_bits(flags)


def leaf(phys, bits):
    return ((phys >> 12) << PPN_SHIFT) | bits


def is_present(entry):
    return (entry & PTE_V) != 0


def is_block(entry):
    """A valid entry is a leaf when any of R, W, X is set."""
    return (entry & PTE_RWX) != 0


def table_address(entry):
    return ((entry >> PPN_SHIFT) & PPN_MASK) << 12


def leaf_address(entry, level):
    return ((entry >> PPN_SHIFT) & PPN_MASK) << 12


def flags_of(entry, level):
    flags = 0
    if entry & PTE_W:
        flags |= PAGE_WRITE
    if not (entry & PTE_X):
        flags |= PAGE_NO_EXECUTE
    if entry & PTE_U:
        flags |= PAGE_USER
    if entry & PTE_G:
        flags |= PAGE_GLOBAL
    cache = entry & PTE_RSW_MASK
    if cache == PTE_RSW_WC:
        flags |= PAGE_WRITE_COMBINING
    elif cache == PTE_RSW_UC:
        flags |= PAGE_UNCACHED
    return flags


def grants_user(entry, level):
    """Only a leaf can: a non-leaf has no U bit."""
    return (entry & PTE_RWX) != 0 and (entry & PTE_U) != 0
