"""x86_64 four-level paging (PML4 -> PDPT -> PD -> PT -> 4 KiB page).

Page tables live in physical frames and are read and written through the
higher-half direct map (virtual = physical + hhdm offset).  An address
space is named by the physical address of its PML4.  A function that can
fail returns 0 (or a physical address, or flags) on success and a negative
E_* code from elyz.abi.errors on failure; none raises for an expected
failure and none allocates GC memory (loops are `while` loops: a `for ...
in range()` would allocate a range iterator).

    set_hhdm_offset(offset)          where the direct map of RAM starts
    create_address_space(alloc)      -> new zeroed PML4 (phys) or E_NOMEM
    destroy_address_space(pml4, alloc, free_frames=False) -> 0
    copy_kernel_half(dst_pml4, src_pml4)     share PML4 entries 256..511
    populate_kernel_half(pml4, alloc) -> 0 or E_NOMEM
    map(pml4, virt, phys, flags, alloc)              -> 0 or error
    map_range(pml4, virt, phys, size, flags, alloc, tlb=None) -> 0 or error
    map_frames(pml4, virt, frames, count, flags, alloc, tlb=None) -> 0 or error
    unmap(pml4, virt, alloc, tlb=None)               -> 0 or error
    unmap_range(pml4, virt, size, alloc, tlb=None)   -> 0 or error
    protect(pml4, virt, flags, tlb=None)             -> 0 or error
    translate(pml4, virt)            -> phys or error (4 KiB, 2 MiB, 1 GiB pages)
    mapping_size(pml4, virt)         -> PAGE_SIZE, LARGE_PAGE_SIZE, HUGE_PAGE_SIZE or error
    get_flags(pml4, virt)            -> the PAGE_* flags of the mapping, or error
    leaf_entry(pml4, virt)           -> the raw leaf entry, 0 when unmapped
    wrong_counts(pml4)               -> lower-half present-entry counts that are
                                        wrong (0: all exact; see PTE_COUNT_SHIFT)
    read_entry(entry_phys)           -> the raw entry at a physical address
    is_canonical(virt)  flags_valid(flags)  pte_bits(flags)

    FrameAllocator   alloc: alloc_frame() -> phys or error, free_frame(phys) -> 0 or error
    TlbInvalidator   tlb:   invalidate(virt), called after a live entry
                            changes (the kernel's one calls cpu.invlpg)

Flags (portable meaning; map and protect take these, not PTE bits):
    PAGE_WRITE  PAGE_USER  PAGE_NO_EXECUTE  PAGE_GLOBAL
    PAGE_WRITE_COMBINING  PAGE_UNCACHED     cache mode (default write-back)
    PAGE_ALLOW_LARGE      map_range may use 2 MiB pages where aligned
Every mapping is readable.  PAGE_NO_EXECUTE needs EFER.NXE set first (the
NX bit is reserved otherwise: the CPU faults on the walk).  PAGE_USER is
refused (E_INVALID) in the upper half, the kernel's; PAGE_GLOBAL in the
lower half, which changes with every address space.

Rules of the tree:
  - intermediate entries of the lower half are permissive (present,
    writable, user, executable): the leaf says what is allowed; those of
    the upper half are present, writable, executable and supervisor-only,
    so no leaf under them can ever be reached from user mode;
  - unmap frees a PT, PD or PDPT of the lower half once it is empty (known
    in O(1) from the count of present entries kept in the entry naming
    it, PTE_COUNT_SHIFT); it never
    frees the PML4 nor any table of the upper half (PML4 entries 256..511),
    which is the kernel's, shared by every address space and possibly built
    by the bootloader;
  - map allocates the tables it needs before changing anything, so E_NOMEM
    leaves the tree as it was; map_range undoes its own work on failure.
    (In the upper half the undo leaves the empty tables it created linked:
    they are reachable and reused, never lost.)
  - a large page is mapped and unmapped whole: unmap or protect of an
    address inside one but not at its start is E_ALIGN.  An empty table
    left in the upper half blocks a large page over its range
    (E_ALREADY_MAPPED).

Virtual addresses are Signed words: upper-half ones are negative, and
`virt >> n` is an arithmetic shift, so `(virt >> 39) & 511` is the PML4
index for both halves.
"""

from rpython.rlib.unroll import unrolling_iterable

from elyz.abi.errors import E_NOMEM, E_INVALID, E_NOT_MAPPED, E_ALREADY_MAPPED, E_ALIGN
from elyz.rlib_kernel import rawmem

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT                 # 4 KiB, a PT entry
LARGE_PAGE_SIZE = 1 << 21                   # 2 MiB, a PD entry with PS
HUGE_PAGE_SIZE = 1 << 30                    # 1 GiB, a PDPT entry with PS
ENTRIES = 512                               # entries per table
ENTRY_SIZE = 8

KERNEL_HALF_FIRST = 256                     # first PML4 entry of the upper half
MAX_PHYS = (1 << 52) - 1                    # the architectural limit
HALF_SIZE = 1 << 47                         # bytes in each canonical half

# Levels, named after the table an entry lives in.
LEVEL_PT = 1
LEVEL_PD = 2
LEVEL_PDPT = 3
LEVEL_PML4 = 4

# ------------------------------------------------------------ portable flags

PAGE_WRITE = 1 << 0
PAGE_USER = 1 << 1
PAGE_NO_EXECUTE = 1 << 2
PAGE_GLOBAL = 1 << 3
PAGE_WRITE_COMBINING = 1 << 4
PAGE_UNCACHED = 1 << 5
PAGE_ALLOW_LARGE = 1 << 6                   # a request to map_range, not stored
PAGE_ALL_FLAGS = (PAGE_WRITE | PAGE_USER | PAGE_NO_EXECUTE | PAGE_GLOBAL |
                  PAGE_WRITE_COMBINING | PAGE_UNCACHED | PAGE_ALLOW_LARGE)

# ------------------------------------------------------------ hardware bits
# The layout of an entry is drawn above the walker (_leaf_level), below.

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
PTE_LARGE_ADDR_MASK = 0x000FFFFFFFE00000    # bits 51..21, a 2 MiB leaf
PTE_HUGE_ADDR_MASK = 0x000FFFFFC0000000     # bits 51..30, a 1 GiB leaf

# Lower half only: an entry that points at a table (PML4, PDPT or PD entry)
# keeps, in bits 61..52, how many entries of that table are present.  The
# CPU ignores bits 62..52 of such an entry (they are protection keys only in
# a leaf), so the count costs no memory and is O(1) to read: a table is
# empty exactly when the entry naming it says 0, and unmap frees it without
# scanning its 512 entries.  Every store that makes an entry of a lower-half
# table present or not present adjusts the count in its parent entry;
# wrong_counts(pml4) checks them all (tests).  Upper-half tables are shared
# by every space and never freed: their entries carry no count.
PTE_COUNT_SHIFT = 52
PTE_COUNT_MASK = 0x3FF << PTE_COUNT_SHIFT   # bits 61..52, up to 1023 >= ENTRIES
PTE_COUNT_ONE = 1 << PTE_COUNT_SHIFT

USER_TABLE_ENTRY_BITS = PTE_PRESENT | PTE_WRITABLE | PTE_USER     # lower half
KERNEL_TABLE_ENTRY_BITS = PTE_PRESENT | PTE_WRITABLE              # upper half

# Cache modes.  The PAT index of a page is PAT*4 + PCD*2 + PWT; we never set
# the PAT bit, so only indexes 0..3 are used.  The kernel programs the PAT
# MSR (IA32_PAT, 0x277) with PAT_MSR_VALUE at boot:
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
# UC either way.
PAT_MSR = 0x277
PAT_MSR_VALUE = 0x0007040600070106

# ------------------------------------------------------------ interfaces


class FrameAllocator(object):
    """Where page tables come from.  The PMM is one; tests use fakes."""

    def alloc_frame(self):
        """Returns the physical address of a free 4 KiB frame, or a negative
        error (E_NOMEM) when there is none.  The frame need not be zeroed."""
        return E_NOMEM

    def free_frame(self, phys):
        """Gives back a frame returned by alloc_frame.  Returns 0 or an
        error code (paging only frees frames it allocated and ignores it)."""
        return 0


class TlbInvalidator(object):
    """Told of every change to an entry the CPU may have cached."""

    def invalidate(self, virt):
        """Drops any translation of virt (the kernel's calls cpu.invlpg)."""
        pass


class _PagingState(object):
    def __init__(self):
        self.hhdm_offset = 0


_state = _PagingState()


def set_hhdm_offset(offset):
    """Sets where physical memory is mapped (virtual = physical + offset)."""
    _state.hhdm_offset = offset


def hhdm_offset():
    """Returns the offset given to set_hhdm_offset (0 until then)."""
    return _state.hhdm_offset


# ------------------------------------------------------------ small helpers


def is_canonical(virt):
    """Returns True when bits 63..47 of virt are all equal (all 0 or all 1)."""
    top = virt >> 47
    return top == 0 or top == -1


def flags_valid(flags):
    """Returns True when flags holds only PAGE_* bits and at most one cache mode."""
    if flags & ~PAGE_ALL_FLAGS:
        return False
    if (flags & PAGE_WRITE_COMBINING) and (flags & PAGE_UNCACHED):
        return False
    return True


# How each PAGE_* flag is stored in a leaf entry: the flag is set exactly
# when (entry & mask) == bits.  The two cache modes share the mask PCD|PWT
# (PAT indexes 1 and 3, see the table above); flags_valid allows one only.
# Loops over the table are unrolled when translated (no iterator).
#
#   flag                    bits               mask
_FLAG_BITS = unrolling_iterable([
    (PAGE_WRITE,            PTE_WRITABLE,      PTE_WRITABLE),
    (PAGE_USER,             PTE_USER,          PTE_USER),
    (PAGE_NO_EXECUTE,       PTE_NX,            PTE_NX),
    (PAGE_GLOBAL,           PTE_GLOBAL,        PTE_GLOBAL),
    (PAGE_WRITE_COMBINING,  PTE_PWT,           PTE_PCD | PTE_PWT),
    (PAGE_UNCACHED,         PTE_PCD | PTE_PWT, PTE_PCD | PTE_PWT),
])


def pte_bits(flags):
    """Returns the PTE bits (without PTE_PRESENT) for valid PAGE_* flags;
    the result is negative when PAGE_NO_EXECUTE is set (bit 63)."""
    result = 0
    for flag, bits, mask in _FLAG_BITS:
        if flags & flag:
            result |= bits
    return result


def _flags_of(entry):
    """Returns the PAGE_* flags a leaf entry grants.  Never fails."""
    flags = 0
    for flag, bits, mask in _FLAG_BITS:
        if (entry & mask) == bits:
            flags |= flag
    return flags


def _level_size(level):
    """Returns the bytes one entry of a table at level covers (4 KiB..512 GiB)."""
    return 1 << (PAGE_SHIFT + 9 * (level - 1))


def _leaf_addr_mask(level):
    """Returns the mask of the frame address in a leaf entry at level."""
    if level == LEVEL_PDPT:
        return PTE_HUGE_ADDR_MASK
    if level == LEVEL_PD:
        return PTE_LARGE_ADDR_MASK
    return PTE_ADDR_MASK


def _read(entry_phys):
    """Returns the 64-bit entry at physical address entry_phys."""
    return rawmem.load_u64(entry_phys + _state.hhdm_offset)


def read_entry(entry_phys):
    """Returns the raw 64-bit entry at physical address entry_phys (for
    walkers outside this module, such as elyz/mm/audit.py)."""
    return _read(entry_phys)


def _write(entry_phys, value):
    """Stores value into the entry at physical address entry_phys."""
    rawmem.store_u64(entry_phys + _state.hhdm_offset, value)


def _entry_phys(table, virt, level):
    """Returns the physical address of virt's entry in table (at level)."""
    index = (virt >> (PAGE_SHIFT + 9 * (level - 1))) & (ENTRIES - 1)
    return table + index * ENTRY_SIZE


def _is_leaf(entry, level):
    """Returns True when a present entry at level maps memory itself."""
    return level == LEVEL_PT or (level != LEVEL_PML4 and (entry & PTE_HUGE) != 0)


def _count_of(entry):
    """Returns the count of present entries kept in a lower-half entry
    that points at a table."""
    return (entry & PTE_COUNT_MASK) >> PTE_COUNT_SHIFT


def _add_count(entry_phys, delta):
    """Adds delta to the count kept in the lower-half entry at entry_phys
    (which points at the table whose entries were made present or not)."""
    _write(entry_phys, _read(entry_phys) + delta * PTE_COUNT_ONE)


def _parent_counted(pml4, virt, level, delta):
    """The table at level on virt's walk gained (delta > 0) or lost present
    entries: adjusts the count kept in the entry pointing at it.  Nothing
    to do for the PML4 (no parent) or in the upper half (no counts)."""
    if virt >= 0 and level < LEVEL_PML4:
        _add_count(_find_entry(pml4, virt, level + 1), delta)


def _alloc_table(alloc):
    """Returns a new zeroed table (phys), or E_NOMEM."""
    table = alloc.alloc_frame()
    if table < 0:
        return E_NOMEM
    rawmem.fill(table + _state.hhdm_offset, 0, PAGE_SIZE)
    return table


# ------------------------------------------------------------ the walker
#
# A page-table entry (Intel SDM vol. 3A, 4.5, "4-level paging"):
#
#   63  62..59  58..52  51 ............................ 12  11..9   8   7   6   5   4   3   2   1   0
#  +--+-------+-------+-----------------------------------+-------+---+---+---+---+---+---+---+---+---+
#  |NX| PKEY  | avail |  physical address of the frame    | avail | G |PS | D | A |PCD|PWT|U/S|R/W| P |
#  |  |(leaf) |       |  or of the next-level table       |       |   |PAT|   |   |   |   |   |   |   |
#  +--+-------+-------+-----------------------------------+-------+---+---+---+---+---+---+---+---+---+
#
#  P    present; when 0 the CPU ignores every other bit
#  R/W  writable           U/S  user-accessible        NX   no instruction fetch
#  PWT, PCD (and PAT)      an index into the PAT MSR (see "Cache modes" above)
#  A    accessed (set by the CPU)                      D    dirty (set by the CPU, leaves only)
#  PS   in a PDPT entry: this is a 1 GiB page; in a PD entry: a 2 MiB page;
#       in a PT entry bit 7 is PAT instead; in a PML4 entry it must be 0.
#  G    global: survives a CR3 write (leaves only)
#  In a 2 MiB / 1 GiB leaf, bit 12 is PAT and the address starts at bit 21 / 30.
#
# The access rights of a page are the AND of R/W and U/S, and the OR of NX,
# over the four entries of its walk: intermediate entries carry P|R/W and no
# NX, plus U/S in the lower half only, so the leaf decides everything but
# user access, which the upper half never grants at any level.


def _table_entry_bits(virt):
    """Returns the bits of an intermediate entry on virt's walk: user
    access allowed in the lower half only."""
    if virt < 0:
        return KERNEL_TABLE_ENTRY_BITS
    return USER_TABLE_ENTRY_BITS


def _link_bits(virt, present):
    """Returns the bits of an entry on virt's walk pointing at a table
    with `present` entries present (counted in the lower half only)."""
    if virt < 0:
        return KERNEL_TABLE_ENTRY_BITS
    return USER_TABLE_ENTRY_BITS | present * PTE_COUNT_ONE


def _leaf_level(pml4, virt):
    """Walks virt's path.  Returns the level (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB)
    of the present leaf mapping virt, or -L when the walk meets a
    non-present entry in the table at level L.  virt must be canonical."""
    table = pml4
    level = LEVEL_PML4
    while True:
        entry = _read(_entry_phys(table, virt, level))
        if not (entry & PTE_PRESENT):
            return -level
        if _is_leaf(entry, level):
            return level
        table = entry & PTE_ADDR_MASK
        level -= 1


def _pd_entry(pml4, virt):
    """Returns the physical address of virt's entry in its page directory,
    or -1 when the walk stops above it (an absent PML4 or PDPT entry, or a
    1 GiB leaf): _find_entry(pml4, virt, LEVEL_PD) unrolled, the one walk
    of a 4 KiB map or unmap."""
    entry = _read(_entry_phys(pml4, virt, LEVEL_PML4))
    if not (entry & PTE_PRESENT):
        return -1
    entry = _read(_entry_phys(entry & PTE_ADDR_MASK, virt, LEVEL_PDPT))
    if not (entry & PTE_PRESENT) or entry & PTE_HUGE:
        return -1
    return _entry_phys(entry & PTE_ADDR_MASK, virt, LEVEL_PD)


def _names_page_table(pde):
    """Returns True when pde (a _pd_entry result) holds a page table."""
    if pde < 0:
        return False
    entry = _read(pde)
    return (entry & PTE_PRESENT) != 0 and not (entry & PTE_HUGE)


def _find_entry(pml4, virt, level):
    """Returns the physical address of virt's entry in its table at level, or
    -1 when the walk stops above level (a non-present entry or a leaf)."""
    table = pml4
    current = LEVEL_PML4
    while current > level:
        entry = _read(_entry_phys(table, virt, current))
        if not (entry & PTE_PRESENT) or _is_leaf(entry, current):
            return -1
        table = entry & PTE_ADDR_MASK
        current -= 1
    return _entry_phys(table, virt, level)


class _NewTables(object):
    """The tables _alloc_tables made (prebuilt: no allocation on map paths)."""

    def __init__(self):
        self.first = -1
        self.second = -1
        self.third = -1


_new_tables = _NewTables()


def _alloc_tables(alloc, need):
    """Allocates need (0..3) zeroed tables into _new_tables (-1 for those
    not needed); returns 0, or E_NOMEM with none kept."""
    _new_tables.first = _new_tables.second = _new_tables.third = -1
    if need >= 1:
        _new_tables.first = _alloc_table(alloc)
        if _new_tables.first < 0:
            return E_NOMEM
    if need >= 2:
        _new_tables.second = _alloc_table(alloc)
        if _new_tables.second < 0:
            alloc.free_frame(_new_tables.first)
            return E_NOMEM
    if need >= 3:
        _new_tables.third = _alloc_table(alloc)
        if _new_tables.third < 0:
            alloc.free_frame(_new_tables.second)
            alloc.free_frame(_new_tables.first)
            return E_NOMEM
    return 0


def _map_leaf(pml4, virt, leaf, level, alloc):
    """Stores entry `leaf` for virt in its table at level, creating the
    missing tables above it.  Returns 0; E_ALREADY_MAPPED when virt (or,
    for a large leaf, part of its range) is mapped already or its entry
    holds a table; E_NOMEM when a table cannot be allocated, and then the
    tree is unchanged.  Arguments are checked by the caller."""
    found = _leaf_level(pml4, virt)
    if found > 0 or -found < level:
        return E_ALREADY_MAPPED
    hole = -found                           # the level of the first absent entry
    need = hole - level                     # tables to create, 0..3
    if _alloc_tables(alloc, need) < 0:
        return E_NOMEM
    new1 = _new_tables.first                # the tables for levels hole-1, -2, -3
    new2 = _new_tables.second
    new3 = _new_tables.third
    # Fill the new tables bottom-up, then publish them with one store into
    # the existing tree: a walker sees either nothing or the whole path.
    value = leaf
    current = level
    k = need
    while k >= 1:
        if k == 3:
            table = new3
        elif k == 2:
            table = new2
        else:
            table = new1
        _write(_entry_phys(table, virt, current), value)
        value = table | _link_bits(virt, 1)
        current += 1
        k -= 1
    _write(_find_entry(pml4, virt, hole), value)
    _parent_counted(pml4, virt, hole, 1)
    return 0


def _make_path(pml4, virt, alloc):
    """Returns the physical address of the PD entry naming the page table
    on virt's walk, creating the missing tables above it as _map_leaf does
    (all allocated first, then published with one store; a new page table
    is empty); E_ALREADY_MAPPED when a large leaf maps virt; E_NOMEM when
    a table cannot be allocated (then the tree is unchanged)."""
    pde = _pd_entry(pml4, virt)
    if _names_page_table(pde):
        return pde
    found = _leaf_level(pml4, virt)
    if found > LEVEL_PT:
        return E_ALREADY_MAPPED
    hole = -found                           # 2, 3 or 4
    need = hole - LEVEL_PT                  # tables to create, 1..3
    if _alloc_tables(alloc, need) < 0:
        return E_NOMEM
    new1 = _new_tables.first                # the tables for levels hole-1, -2, -3
    new2 = _new_tables.second
    new3 = _new_tables.third
    if need == 3:
        pt = new3
    elif need == 2:
        pt = new2
    else:
        pt = new1
    # Link the new tables bottom-up (the page table stays empty), then
    # publish the path with one store into the existing tree.
    value = pt | _link_bits(virt, 0)
    current = LEVEL_PT + 1
    k = need - 1
    while k >= 1:
        if k == 2:
            table = new2
        else:
            table = new1
        _write(_entry_phys(table, virt, current), value)
        value = table | _link_bits(virt, 1)
        current += 1
        k -= 1
    publish = _find_entry(pml4, virt, hole)
    _write(publish, value)
    _parent_counted(pml4, virt, hole, 1)
    if need == 1:
        return publish                      # the PD existed: the new PT's entry
    if need == 2:
        return _entry_phys(new1, virt, LEVEL_PD)
    return _entry_phys(new2, virt, LEVEL_PD)


def _unmap_leaf(pml4, virt, alloc, tlb, free_tables=True):
    """Clears the leaf mapping that starts at virt (canonical, 4 KiB
    aligned) and tells tlb; then, with free_tables, frees the lower-half
    tables this empties (_free_empty_tables).  Returns 0; E_NOT_MAPPED when
    nothing maps virt; E_ALIGN when virt is inside a large page but not at
    its start."""
    level = _leaf_level(pml4, virt)
    if level < 0:
        return E_NOT_MAPPED
    if virt & (_level_size(level) - 1):
        return E_ALIGN
    _write(_find_entry(pml4, virt, level), 0)
    _parent_counted(pml4, virt, level, -1)
    if free_tables:
        _free_empty_tables(pml4, virt, alloc, tlb, True)
    elif tlb is not None:
        tlb.invalidate(virt)
    return 0


def _free_empty_tables(pml4, virt, alloc, tlb, leaf_cleared):
    """Unlinks, bottom-up, the lower-half tables on virt's walk (PT, PD,
    PDPT) that hold no present entry, and frees them once the TLB and its
    paging-structure caches forgot them (an invalidation drops those
    caches whole); leaf_cleared: virt's own leaf was just cleared and is
    told to tlb here too, in the same single invalidation.  The upper
    half's tables are never freed.  Returns nothing."""
    if virt < 0:
        if leaf_cleared and tlb is not None:
            tlb.invalidate(virt)
        return
    e4 = _entry_phys(pml4, virt, LEVEL_PML4)
    e3 = _find_entry(pml4, virt, LEVEL_PDPT)        # -1 without a PDPT
    e2 = _find_entry(pml4, virt, LEVEL_PD)          # -1 without a PD
    free_pt = -1
    free_pd = -1
    free_pdpt = -1
    unlinking = True
    if e2 >= 0:
        entry = _read(e2)
        if entry & PTE_PRESENT and not (entry & PTE_HUGE):
            unlinking = _count_of(entry) == 0
            if unlinking:
                free_pt = entry & PTE_ADDR_MASK
                _write(e2, 0)
                _add_count(e3, -1)
    if unlinking and e3 >= 0:
        entry = _read(e3)
        if entry & PTE_PRESENT and not (entry & PTE_HUGE):
            unlinking = _count_of(entry) == 0
            if unlinking:
                free_pd = entry & PTE_ADDR_MASK
                _write(e3, 0)
                _add_count(e4, -1)
    if unlinking:
        entry = _read(e4)
        if entry & PTE_PRESENT and _count_of(entry) == 0:
            free_pdpt = entry & PTE_ADDR_MASK
            _write(e4, 0)
    if free_pt < 0 and free_pd < 0 and free_pdpt < 0 and not leaf_cleared:
        return
    if tlb is not None:
        tlb.invalidate(virt)
    if free_pt >= 0:
        alloc.free_frame(free_pt)
    if free_pd >= 0:
        alloc.free_frame(free_pd)
    if free_pdpt >= 0:
        alloc.free_frame(free_pdpt)


# ------------------------------------------------------------ argument checks


def _check_virt(virt, size):
    """Returns 0 when virt may start a mapping of size bytes; E_INVALID
    when it is non-canonical, E_ALIGN when it is not size-aligned."""
    if not is_canonical(virt):
        return E_INVALID
    if virt & (size - 1):
        return E_ALIGN
    return 0


def _check_phys(phys, size):
    """Returns 0 when phys may start a mapping of size bytes; E_INVALID
    when it is negative or beyond MAX_PHYS, E_ALIGN when it is not
    size-aligned."""
    if phys < 0 or phys > MAX_PHYS:
        return E_INVALID
    if phys & (size - 1):
        return E_ALIGN
    return 0


def _flags_allowed_at(virt, flags):
    """Returns True when flags suit a mapping at virt: no PAGE_USER in the
    upper (kernel) half, no PAGE_GLOBAL in the lower (per-process) half."""
    if virt < 0:
        return (flags & PAGE_USER) == 0
    return (flags & PAGE_GLOBAL) == 0


def _check_mapping(virt, phys, size, flags):
    """Returns 0 when [virt, virt+size) may be mapped to [phys, phys+size)
    with flags; E_INVALID for bad flags or flags not allowed in virt's half
    (_flags_allowed_at), a bad range (see _check_range) or a physical end
    beyond MAX_PHYS; E_ALIGN for misaligned addresses."""
    if not flags_valid(flags) or not _flags_allowed_at(virt, flags):
        return E_INVALID
    err = _check_range(virt, size)
    if err:
        return err
    err = _check_phys(phys, PAGE_SIZE)
    if err:
        return err
    if size > 0 and phys + (size - 1) > MAX_PHYS:
        return E_INVALID
    return 0


def _check_range(virt, size):
    """Returns 0 when [virt, virt+size) is a page-aligned range inside one
    canonical half; E_INVALID for a negative or too large size, a
    non-canonical start or end, or a range crossing the hole; E_ALIGN when
    virt or size is not a multiple of PAGE_SIZE."""
    if size < 0 or size > HALF_SIZE:
        return E_INVALID
    err = _check_virt(virt, PAGE_SIZE)
    if err:
        return err
    if size & (PAGE_SIZE - 1):
        return E_ALIGN
    if size > 0:
        last = virt + (size - 1)
        if not is_canonical(last) or (last < 0) != (virt < 0):
            return E_INVALID
    return 0


# ------------------------------------------------------------ address spaces


def create_address_space(alloc):
    """Returns the physical address of a new, zeroed PML4 (nothing mapped,
    not even the kernel: see copy_kernel_half), or E_NOMEM."""
    return _alloc_table(alloc)


def copy_kernel_half(dst_pml4, src_pml4):
    """Copies PML4 entries 256..511 (the kernel's half) from src_pml4 to
    dst_pml4, so both share the kernel's PDPTs.  Never fails.  Run
    populate_kernel_half on the kernel's PML4 first, or kernel mappings
    made later under a new PML4 entry will not be seen by dst_pml4."""
    i = KERNEL_HALF_FIRST
    while i < ENTRIES:
        _write(dst_pml4 + i * ENTRY_SIZE, _read(src_pml4 + i * ENTRY_SIZE))
        i += 1


def populate_kernel_half(pml4, alloc):
    """Gives every upper-half PML4 entry of pml4 a (zeroed) PDPT, so that
    copies made by copy_kernel_half stay in step.  Returns 0, or E_NOMEM
    (the PDPTs made so far stay in place: they are valid and empty)."""
    i = KERNEL_HALF_FIRST
    while i < ENTRIES:
        entry_phys = pml4 + i * ENTRY_SIZE
        if not (_read(entry_phys) & PTE_PRESENT):
            table = _alloc_table(alloc)
            if table < 0:
                return E_NOMEM
            _write(entry_phys, table | KERNEL_TABLE_ENTRY_BITS)
        i += 1
    return 0


def _free_tree(table, level, alloc, free_frames):
    """Frees table (at level) and every table under it; with free_frames,
    also the frames of its 4 KiB leaves (large-page leaves map memory the
    address space does not own and are left alone).  Never fails."""
    if level == LEVEL_PT and not free_frames:
        alloc.free_frame(table)             # only leaves below: nothing to walk
        return
    i = 0
    while i < ENTRIES:
        entry = _read(table + i * ENTRY_SIZE)
        if entry & PTE_PRESENT:
            if not _is_leaf(entry, level):
                _free_tree(entry & PTE_ADDR_MASK, level - 1, alloc, free_frames)
            elif level == LEVEL_PT and free_frames:
                alloc.free_frame(entry & PTE_ADDR_MASK)
        i += 1
    alloc.free_frame(table)


def destroy_address_space(pml4, alloc, free_frames=False):
    """Frees every lower-half table of pml4 and pml4 itself; with
    free_frames, also the frames its lower-half 4 KiB pages map.  The
    upper half (shared with the kernel) is left alone.  The address space
    must not be live on any CPU.  Returns 0."""
    i = 0
    while i < KERNEL_HALF_FIRST:
        entry = _read(pml4 + i * ENTRY_SIZE)
        if entry & PTE_PRESENT:
            _free_tree(entry & PTE_ADDR_MASK, LEVEL_PDPT, alloc, free_frames)
        i += 1
    alloc.free_frame(pml4)
    return 0


# ------------------------------------------------------------ mappings


def map(pml4, virt, phys, flags, alloc):
    """Maps the 4 KiB page at virt to the frame at phys with PAGE_* flags.
    Returns 0; E_INVALID for a non-canonical virt, a phys beyond MAX_PHYS,
    bad flags, PAGE_USER on an upper-half or PAGE_GLOBAL on a lower-half
    virt; E_ALIGN when virt or phys is not page-aligned;
    E_ALREADY_MAPPED when virt is mapped; E_NOMEM when a table cannot be
    allocated (then nothing changed)."""
    err = _check_mapping(virt, phys, PAGE_SIZE, flags)
    if err:
        return err
    leaf = phys | PTE_PRESENT | pte_bits(flags)
    return _map_leaf(pml4, virt, leaf, LEVEL_PT, alloc)


def map_range(pml4, virt, phys, size, flags, alloc, tlb=None):
    """Maps [virt, virt+size) to [phys, phys+size) with PAGE_* flags, using
    2 MiB pages where both addresses are 2 MiB-aligned and PAGE_ALLOW_LARGE
    is set.  Returns 0 (size 0 maps nothing); E_INVALID or E_ALIGN for bad
    arguments (see map; size must be a multiple of PAGE_SIZE and the range
    must stay in one canonical half); E_ALREADY_MAPPED or E_NOMEM from the
    first page that fails, after unmapping what this call had mapped and
    telling tlb of each page (pml4 may be live: the CPU may have cached
    any entry that was present, even for an instant)."""
    err = _check_mapping(virt, phys, size, flags)
    if err:
        return err
    bits = PTE_PRESENT | pte_bits(flags)
    large = (flags & PAGE_ALLOW_LARGE) != 0
    offset = 0
    while offset < size:
        v = virt + offset
        p = phys + offset
        if (large and size - offset >= LARGE_PAGE_SIZE and
                (v & (LARGE_PAGE_SIZE - 1)) == 0 and (p & (LARGE_PAGE_SIZE - 1)) == 0):
            err = _map_leaf(pml4, v, p | bits | PTE_HUGE, LEVEL_PD, alloc)
            step = LARGE_PAGE_SIZE
        else:
            err = _map_leaf(pml4, v, p | bits, LEVEL_PT, alloc)
            step = PAGE_SIZE
        if err:
            # Only pages this call mapped are in [virt, v).
            unmap_range(pml4, virt, offset, alloc, tlb)
            return err
        offset += step
    return 0


def map_frames(pml4, virt, frames, count, flags, alloc, tlb=None):
    """Maps count 4 KiB pages from virt to the frames whose physical
    addresses are the words at kernel address frames (frames[0] for virt,
    frames[1] for the next page, ...), with PAGE_* flags: each page table
    on the way is walked to once, not once per page.  Returns 0 (count 0
    maps nothing); E_INVALID or E_ALIGN for bad arguments (see map; a bad
    frame address is found page by page); E_ALREADY_MAPPED or E_NOMEM from
    the first page that fails, after unmapping what this call had mapped
    (telling tlb, as map_range does)."""
    if count < 0:
        return E_INVALID
    err = _check_mapping(virt, 0, count * PAGE_SIZE, flags)
    if err:
        return err
    bits = PTE_PRESENT | pte_bits(flags)
    done = 0
    while done < count and err == 0:
        v = virt + done * PAGE_SIZE
        pde = _make_path(pml4, v, alloc)
        if pde < 0:
            err = pde
            break
        pt = _read(pde) & PTE_ADDR_MASK
        index = (v >> PAGE_SHIFT) & (ENTRIES - 1)
        first = done
        while index < ENTRIES and done < count:
            phys = rawmem.load_u64(frames + done * ENTRY_SIZE)
            err = _check_phys(phys, PAGE_SIZE)
            if err:
                break
            entry_phys = pt + index * ENTRY_SIZE
            if _read(entry_phys) & PTE_PRESENT:
                err = E_ALREADY_MAPPED
                break
            _write(entry_phys, phys | bits)
            index += 1
            done += 1
        if virt >= 0:
            _add_count(pde, done - first)
    if err:
        unmap_range(pml4, virt, done * PAGE_SIZE, alloc, tlb)
        if virt >= 0:
            # the tables made for the failing page, left empty (the lower
            # half has no other empty table)
            _free_empty_tables(pml4, virt + done * PAGE_SIZE, alloc, tlb, False)
        return err
    return 0


def unmap(pml4, virt, alloc, tlb=None):
    """Removes the mapping starting at virt (a 4 KiB page, or a whole large
    page when virt is its start), tells tlb, and frees the lower-half
    tables left empty.  The frame that was mapped is not freed.  Returns 0;
    E_INVALID for a non-canonical virt; E_ALIGN when virt is not
    page-aligned or lies inside a large page but not at its start;
    E_NOT_MAPPED when nothing maps virt."""
    err = _check_virt(virt, PAGE_SIZE)
    if err:
        return err
    return _unmap_leaf(pml4, virt, alloc, tlb)


def unmap_range(pml4, virt, size, alloc, tlb=None):
    """Removes every mapping in [virt, virt+size), skipping holes (each
    unmapped page is told to tlb).  Returns 0; E_INVALID or E_ALIGN for a
    bad range (see map_range); E_ALIGN, before changing anything, when a
    large page sticks out of either end of the range."""
    err = _check_range(virt, size)
    if err:
        return err
    if size == 0:
        return 0
    last = virt + (size - PAGE_SIZE)
    # A page table on virt's walk: no large page there (and none at last
    # when it lies in the same 2 MiB), so no walk to look for one.
    pde = _pd_entry(pml4, virt)
    in_table = _names_page_table(pde)
    if not in_table:
        level = _leaf_level(pml4, virt)
        if level > LEVEL_PT and virt & (_level_size(level) - 1):
            return E_ALIGN
    if not in_table or (last >> 21) != (virt >> 21):
        level = _leaf_level(pml4, last)
        if level > LEVEL_PT and (last + PAGE_SIZE) & (_level_size(level) - 1):
            return E_ALIGN
    # The tables a run of leaves empties are looked at once per table: when
    # the walk leaves the 2 MiB a page table covers (if the page table's
    # count says it is empty), and at the end.  4 KiB leaves are cleared a
    # page table at a time: one walk per table.
    offset = 0
    pending = False
    pending_virt = 0
    while offset < size:
        v = virt + offset
        if offset > 0:
            pde = _pd_entry(pml4, v)
            in_table = _names_page_table(pde)
        if in_table:
            pt = _read(pde) & PTE_ADDR_MASK
            index = (v >> PAGE_SHIFT) & (ENTRIES - 1)
            cleared = 0
            last_cleared = 0
            while index < ENTRIES and offset < size:
                entry_phys = pt + index * ENTRY_SIZE
                if _read(entry_phys) & PTE_PRESENT:
                    if cleared == 0 and pending and (v >> 21) != (pending_virt >> 21):
                        _free_empty_tables(pml4, pending_virt, alloc, tlb, False)
                        pending = False
                    _write(entry_phys, 0)
                    if tlb is not None:
                        tlb.invalidate(virt + offset)
                    cleared += 1
                    last_cleared = virt + offset
                index += 1
                offset += PAGE_SIZE
            if cleared > 0:
                # a page table still holding pages keeps every table above
                # it: nothing to free (the upper half frees nothing anyway)
                if v >= 0:
                    _add_count(pde, -cleared)
                    pending = _count_of(_read(pde)) == 0
                else:
                    pending = False
                pending_virt = last_cleared
            continue
        level = _leaf_level(pml4, v)        # not in a page table: a large page or a hole
        if level > 0:
            if pending and (v >> 21) != (pending_virt >> 21):
                _free_empty_tables(pml4, pending_virt, alloc, tlb, False)
            _unmap_leaf(pml4, v, alloc, tlb, False)
            pending = True
            pending_virt = v
            offset += _level_size(level)
        else:
            # Nothing mapped up to the end of the absent entry's span.
            span = _level_size(-level)
            offset = ((v + span) & ~(span - 1)) - virt
    if pending:
        _free_empty_tables(pml4, pending_virt, alloc, tlb, False)
    return 0


def protect(pml4, virt, flags, tlb=None):
    """Replaces the PAGE_* flags of the mapping starting at virt (keeping
    its frame and the accessed/dirty bits) and tells tlb.  Returns 0;
    E_INVALID for a non-canonical virt, bad flags or flags not allowed in
    virt's half (see map); E_ALIGN when virt is not page-aligned or lies
    inside a large page but not at its start; E_NOT_MAPPED when nothing
    maps virt."""
    if not flags_valid(flags) or not _flags_allowed_at(virt, flags):
        return E_INVALID
    err = _check_virt(virt, PAGE_SIZE)
    if err:
        return err
    level = _leaf_level(pml4, virt)
    if level < 0:
        return E_NOT_MAPPED
    if virt & (_level_size(level) - 1):
        return E_ALIGN
    entry_phys = _find_entry(pml4, virt, level)
    keep = PTE_ADDR_MASK | PTE_ACCESSED | PTE_DIRTY
    if level > LEVEL_PT:
        keep |= PTE_HUGE
    entry = _read(entry_phys)
    _write(entry_phys, (entry & keep) | PTE_PRESENT | pte_bits(flags))
    if tlb is not None:
        tlb.invalidate(virt)
    return 0


# ------------------------------------------------------------ queries


def translate(pml4, virt):
    """Returns the physical address virt maps to (any byte of a 4 KiB,
    2 MiB or 1 GiB page).  Fails with E_INVALID for a non-canonical virt,
    E_NOT_MAPPED when nothing maps it."""
    if not is_canonical(virt):
        return E_INVALID
    level = _leaf_level(pml4, virt)
    if level < 0:
        return E_NOT_MAPPED
    entry = _read(_find_entry(pml4, virt, level))
    offset_mask = _level_size(level) - 1
    return (entry & _leaf_addr_mask(level)) | (virt & offset_mask)


def mapping_size(pml4, virt):
    """Returns the size of the page mapping virt (PAGE_SIZE, LARGE_PAGE_SIZE
    or HUGE_PAGE_SIZE).  Fails with E_INVALID for a non-canonical virt,
    E_NOT_MAPPED when nothing maps it."""
    if not is_canonical(virt):
        return E_INVALID
    level = _leaf_level(pml4, virt)
    if level < 0:
        return E_NOT_MAPPED
    return _level_size(level)


def get_flags(pml4, virt):
    """Returns the PAGE_* flags of the page mapping virt.  Fails with
    E_INVALID for a non-canonical virt, E_NOT_MAPPED when nothing maps it."""
    entry = leaf_entry(pml4, virt)
    if entry == 0:
        if not is_canonical(virt):
            return E_INVALID
        return E_NOT_MAPPED
    return _flags_of(entry)


def wrong_counts(pml4):
    """Returns how many lower-half entries pointing at a table keep a count
    that differs from the present entries of that table (0: every count is
    exact).  Walks every lower-half table: for tests and self-tests."""
    wrong = 0
    i = 0
    while i < KERNEL_HALF_FIRST:
        entry = _read(pml4 + i * ENTRY_SIZE)
        if entry & PTE_PRESENT:
            wrong += _wrong_counts_under(entry, LEVEL_PDPT)
        i += 1
    return wrong


def _wrong_counts_under(entry, level):
    """Returns the wrong counts in entry (pointing at a table at level) and
    in the entries of that table and below."""
    table = entry & PTE_ADDR_MASK
    wrong = 0
    present = 0
    i = 0
    while i < ENTRIES:
        child = _read(table + i * ENTRY_SIZE)
        if child & PTE_PRESENT:
            present += 1
            if not _is_leaf(child, level):
                wrong += _wrong_counts_under(child, level - 1)
        i += 1
    if _count_of(entry) != present:
        wrong += 1
    return wrong


def leaf_entry(pml4, virt):
    """Returns the raw leaf entry mapping virt (negative when NX is set),
    or 0 when virt is non-canonical or not mapped."""
    if not is_canonical(virt):
        return 0
    level = _leaf_level(pml4, virt)
    if level < 0:
        return 0
    return _read(_find_entry(pml4, virt, level))
