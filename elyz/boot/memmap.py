"""The memory map of a BootInfo: recording entries and normalising them.

Bootloaders hand over maps that may be unsorted, overlapping, unaligned or
larger than the machine.  After normalise(info) the map in info is:

  - clipped to physical addresses below PHYS_LIMIT (2**52, the x86-64
    architectural maximum), so every base, length and end is a positive
    Signed word and plain comparisons are unsigned-correct;
  - sorted by base, with no two entries overlapping: where entries
    overlapped, each byte keeps the type of higher RANK (below), so a
    usable byte never hides a reserved one;
  - merged: touching entries of the same type become one;
  - usable entries shrunk inward to whole 4 KiB pages, empty entries gone.

Everything works in place on the fixed arrays of the BootInfo; nothing is
allocated.  An entry that has to be split may not fit in a full table: the
piece is dropped and counted in info.memmap_dropped (dropping is safe, as
memory missing from the map is never used).

    add_region(info, base, length, mem_type) -> False when the entry was lost
    reserve_range(info, base, length, mem_type)   add, then normalise
    normalise(info) -> the number of entries left
    total_usable_bytes(info)    sum of the usable entries
    usable_top(info)            end of the highest usable entry (0 if none)
"""

from elyz.boot.bootinfo import (
    MAX_MEMMAP_ENTRIES, MEM_ACPI_NVS, MEM_ACPI_RECLAIMABLE, MEM_BAD,
    MEM_BOOTLOADER_RECLAIMABLE, MEM_FRAMEBUFFER, MEM_KERNEL_AND_MODULES,
    MEM_RESERVED, MEM_USABLE)

PAGE_SIZE = 4096
PAGE_MASK = PAGE_SIZE - 1
PHYS_LIMIT = 1 << 52
NUM_MEM_TYPES = 8

# Which type wins where two entries overlap: the higher rank.  Usable is the
# weakest, then memory that is only borrowed (bootloader, ACPI tables), then
# memory holding something live, then memory that must never be touched.
# Indexed by MEM_* type.
RANK = [0] * NUM_MEM_TYPES
RANK[MEM_USABLE] = 0
RANK[MEM_BOOTLOADER_RECLAIMABLE] = 1
RANK[MEM_ACPI_RECLAIMABLE] = 2
RANK[MEM_KERNEL_AND_MODULES] = 3
RANK[MEM_FRAMEBUFFER] = 4
RANK[MEM_ACPI_NVS] = 5
RANK[MEM_RESERVED] = 6
RANK[MEM_BAD] = 7


def add_region(info, base, length, mem_type):
    """Appends [base, base+length) of mem_type to info's map, clipped below
    PHYS_LIMIT (an unknown type is recorded as reserved).  When the table is
    full it is normalised first to make room.  Returns False only when the
    entry had to be dropped; an entry that clips to nothing returns True."""
    if mem_type < 0 or mem_type >= NUM_MEM_TYPES:
        mem_type = MEM_RESERVED
    if base < 0 or base >= PHYS_LIMIT:
        return True
    room = PHYS_LIMIT - base
    if length < 0 or length > room:     # a u64 length of 2**63 or more
        length = room
    if length == 0:
        return True
    if info.memmap_count >= MAX_MEMMAP_ENTRIES:
        normalise(info)
    return info.add_memory_region(base, length, mem_type)


def reserve_range(info, base, length, mem_type):
    """Marks [base, base+length) as mem_type (e.g. the kernel image as
    MEM_KERNEL_AND_MODULES) over whatever weaker type covered it, and
    normalises the map.  Returns False when the entry was dropped."""
    recorded = add_region(info, base, length, mem_type)
    normalise(info)
    return recorded


def normalise(info):
    """Sorts, de-overlaps, merges and page-aligns info's map in place (see
    the module docstring).  Returns the number of entries left; never fails."""
    _sanitise(info)
    _sort(info)
    _resolve_overlaps(info)
    _merge_adjacent(info)
    _align_usable(info)
    _drop_empty(info)
    return info.memmap_count


def total_usable_bytes(info):
    """Returns the number of bytes in usable entries (of a normalised map,
    or the entries counted once each otherwise)."""
    total = 0
    for i in range(info.memmap_count):
        if info.memmap_type[i] == MEM_USABLE:
            total += info.memmap_length[i]
    return total


def usable_top(info):
    """Returns the physical address just above the highest usable byte,
    the extent a physical frame allocator must cover; 0 when nothing is
    usable."""
    top = 0
    for i in range(info.memmap_count):
        if info.memmap_type[i] == MEM_USABLE:
            end = info.memmap_base[i] + info.memmap_length[i]
            if end > top:
                top = end
    return top


# ------------------------------------------------------------------ steps

def _set(info, i, base, length, mem_type):
    """Overwrites entry i; returns nothing."""
    info.memmap_base[i] = base
    info.memmap_length[i] = length
    info.memmap_type[i] = mem_type


def _move(info, src, dst):
    """Copies entry src over entry dst; returns nothing."""
    info.memmap_base[dst] = info.memmap_base[src]
    info.memmap_length[dst] = info.memmap_length[src]
    info.memmap_type[dst] = info.memmap_type[src]


def _remove(info, index):
    """Deletes entry index, shifting the later ones down; returns nothing."""
    n = info.memmap_count
    i = index
    while i < n - 1:
        _move(info, i + 1, i)
        i += 1
    info.memmap_count = n - 1


def _insert_sorted(info, base, length, mem_type, start):
    """Inserts an entry after the last one (from index start on) whose base
    is <= base.  Returns False, counting a drop, when the table is full."""
    n = info.memmap_count
    if n >= MAX_MEMMAP_ENTRIES:
        info.memmap_dropped += 1
        return False
    pos = start
    while pos < n and info.memmap_base[pos] <= base:
        pos += 1
    i = n
    while i > pos:
        _move(info, i - 1, i)
        i -= 1
    _set(info, pos, base, length, mem_type)
    info.memmap_count = n + 1
    return True


def _sanitise(info):
    """Clips every entry below PHYS_LIMIT, turns unknown types into
    MEM_RESERVED and removes empty entries; returns nothing."""
    w = 0
    for i in range(info.memmap_count):
        base = info.memmap_base[i]
        length = info.memmap_length[i]
        mem_type = info.memmap_type[i]
        if mem_type < 0 or mem_type >= NUM_MEM_TYPES:
            mem_type = MEM_RESERVED
        if base < 0 or base >= PHYS_LIMIT:
            continue
        room = PHYS_LIMIT - base
        if length < 0 or length > room:
            length = room
        if length == 0:
            continue
        _set(info, w, base, length, mem_type)
        w += 1
    info.memmap_count = w


def _sort(info):
    """Insertion sort by base, stable; returns nothing, cannot fail."""
    n = info.memmap_count
    for i in range(1, n):
        base = info.memmap_base[i]
        length = info.memmap_length[i]
        mem_type = info.memmap_type[i]
        j = i - 1
        while j >= 0 and info.memmap_base[j] > base:
            _move(info, j, j + 1)
            j -= 1
        _set(info, j + 1, base, length, mem_type)


def _resolve_overlaps(info):
    """Makes the sorted map non-overlapping.  Entry i, once it no longer
    overlaps entry i+1, overlaps nothing after it (the map is sorted), so
    only neighbours are compared.  Each step removes the overlapping bytes
    from the entry of lower rank, which keeps the map sorted:

        a = [a0, a1) at i, b = [b0, b1) at i+1, a0 <= b0 < a1
        a wins:  b loses [b0, min(a1, b1)); what is left, [a1, b1), moves
                 to its sorted place
        b wins:  a keeps [a0, b0); its tail [b1, a1), if any, is inserted
                 after b

    Every step shrinks the total length, so the loop ends."""
    i = 0
    while i < info.memmap_count - 1:
        a0 = info.memmap_base[i]
        a1 = a0 + info.memmap_length[i]
        a_type = info.memmap_type[i]
        b0 = info.memmap_base[i + 1]
        b1 = b0 + info.memmap_length[i + 1]
        b_type = info.memmap_type[i + 1]
        if b0 >= a1:
            i += 1
            continue
        if RANK[a_type] >= RANK[b_type]:
            _remove(info, i + 1)
            if b1 > a1:
                _insert_sorted(info, a1, b1 - a1, b_type, i + 1)
        else:
            if a1 > b1:
                _insert_sorted(info, b1, a1 - b1, a_type, i + 2)
            if b0 > a0:
                info.memmap_length[i] = b0 - a0
            else:
                _remove(info, i)


def _merge_adjacent(info):
    """Joins neighbours of the same type that touch; returns nothing."""
    i = 0
    while i < info.memmap_count - 1:
        end = info.memmap_base[i] + info.memmap_length[i]
        if (info.memmap_type[i] == info.memmap_type[i + 1]
                and end == info.memmap_base[i + 1]):
            info.memmap_length[i] += info.memmap_length[i + 1]
            _remove(info, i + 1)
        else:
            i += 1


def _align_usable(info):
    """Shrinks usable entries to the whole pages inside them (possibly to
    length 0); returns nothing."""
    for i in range(info.memmap_count):
        if info.memmap_type[i] != MEM_USABLE:
            continue
        base = info.memmap_base[i]
        start = (base + PAGE_MASK) & ~PAGE_MASK
        end = (base + info.memmap_length[i]) & ~PAGE_MASK
        if end > start:
            info.memmap_base[i] = start
            info.memmap_length[i] = end - start
        else:
            info.memmap_length[i] = 0


def _drop_empty(info):
    """Removes entries of length 0, keeping the order; returns nothing."""
    w = 0
    for i in range(info.memmap_count):
        if info.memmap_length[i] != 0:
            if w != i:
                _move(info, i, w)
            w += 1
    info.memmap_count = w
