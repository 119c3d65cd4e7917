"""What every page-table format shares: the portable PAGE_* flags that
paging.map and paging.protect take, and the names of the four levels.

All four formats (x86_64, aarch64, riscv64 Sv48, loongarch64) have 4 KiB
pages, 512 eight-byte entries per table and four levels; a level is named
after the x86 table an entry lives in, whatever the architecture calls it:

    level  x86_64  aarch64   riscv64 (Sv48)  loongarch64   one entry maps
      4    PML4    level 0   level 3 (root)  dir 4 (PGD)   512 GiB
      3    PDPT    level 1   level 2         dir 3 (PUD)   1 GiB
      2    PD      level 2   level 1         dir 1 (PMD)   2 MiB
      1    PT      level 3   level 0         PT            4 KiB
"""

LEVEL_PT = 1
LEVEL_PD = 2
LEVEL_PDPT = 3
LEVEL_PML4 = 4                  # the root table, whatever the architecture

PAGE_WRITE = 1 << 0
PAGE_USER = 1 << 1
PAGE_NO_EXECUTE = 1 << 2
PAGE_GLOBAL = 1 << 3
PAGE_WRITE_COMBINING = 1 << 4
PAGE_UNCACHED = 1 << 5
PAGE_ALLOW_LARGE = 1 << 6                   # a request to map_range, not stored
PAGE_ALL_FLAGS = (PAGE_WRITE | PAGE_USER | PAGE_NO_EXECUTE | PAGE_GLOBAL |
                  PAGE_WRITE_COMBINING | PAGE_UNCACHED | PAGE_ALLOW_LARGE)


def leaf_frame(entry, level, addr_mask):
    """Returns the frame address of a leaf at level whose addresses are the
    bits addr_mask: those bits from 12 (4 KiB), 21 (2 MiB) or 30 (1 GiB) up."""
    return entry & addr_mask & ~((1 << (12 + 9 * (level - 1))) - 1)
