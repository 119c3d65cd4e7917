"""Four-level paging, the same code for every architecture: x86_64 (PML4),
aarch64 (VMSAv8-64, 4 KiB granule), riscv64 (Sv48) and loongarch64.  The
bits of an entry are the business of one format module per architecture
(elyz/mm/pte/, the interface in elyz/mm/pte/x86_64.py's docstring); this
module only walks, fills and frees tables through it.  All four have 4 KiB
pages, tables of 512 eight-byte entries, four levels (named after x86's:
PML4, PDPT, PD, PT; elyz/mm/pte/common.py) and 48-bit virtual addresses,
the upper half at root entries 256..511.

Page tables live in physical frames and are read and written through the
higher-half direct map (virtual = physical + hhdm offset).  An address
space is named by the physical address of its root table (the parameter
is called pml4 throughout, whatever the architecture calls it).  A
function that can fail returns 0 (or a physical address, or flags) on
success and a negative E_* code from elyz.abi.errors on failure; none
raises for an expected failure and none allocates GC memory (loops are
`while` loops: a `for ... in range()` would allocate a range iterator).

    fmt                              the entry format in use (elyz/mm/pte:
                                     the architecture being built)
    set_hhdm_offset(offset)          where the direct map of RAM starts
    set_count_array(base, frame_limit)  where the present-entry counts live
                                     for formats without room in an entry
    create_address_space(alloc)      -> new zeroed root table (phys) or E_NOMEM
    destroy_address_space(pml4, alloc, free_frames=False) -> 0
    copy_kernel_half(dst_pml4, src_pml4)     share root entries 256..511
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
                                        wrong (0: all exact; see "Counts")
    read_entry(entry_phys)           -> the raw entry at a physical address
    is_canonical(virt)  flags_valid(flags)

    FrameAllocator   alloc: alloc_frame() -> phys or error, free_frame(phys) -> 0 or error
    TlbInvalidator   tlb:   invalidate(virt), called after a live entry
                            changes (the kernel's one calls cpu.invlpg)

Flags (portable meaning; map and protect take these, not entry bits):
    PAGE_WRITE  PAGE_USER  PAGE_NO_EXECUTE  PAGE_GLOBAL
    PAGE_WRITE_COMBINING  PAGE_UNCACHED     cache mode (default write-back)
    PAGE_ALLOW_LARGE      map_range may use 2 MiB pages where aligned
Every mapping is readable.  PAGE_USER is refused (E_INVALID) in the upper
half, the kernel's; PAGE_GLOBAL in the lower half, which changes with
every address space.  (x86_64: PAGE_NO_EXECUTE needs EFER.NXE set first.)

Rules of the tree:
  - entries naming a table in the lower half let everything through (the
    leaf says what is allowed); those of the upper half never let user
    mode through where the format can say so (x86_64, aarch64; riscv64 and
    loongarch64 decide user access in leaves only);
  - unmap frees a PT, PD or PDPT of the lower half once it is empty (known
    in O(1) from its count of present entries, see "Counts"); it never
    frees the root table nor any table of the upper half (root entries
    256..511), which is the kernel's, shared by every address space and
    possibly built by the bootloader;
  - map allocates the tables it needs before changing anything, so E_NOMEM
    leaves the tree as it was; map_range undoes its own work on failure.
    (In the upper half the undo leaves the empty tables it created linked:
    they are reachable and reused, never lost.)
  - a large page is mapped and unmapped whole: unmap or protect of an
    address inside one but not at its start is E_ALIGN.  An empty table
    left in the upper half blocks a large page over its range
    (E_ALREADY_MAPPED).

Counts: every table of the lower half but the root has a count of its
present entries, so that a table is known to be empty without scanning
its 512 entries.  Where it lives is the format's choice (fmt.COUNT_IN_ENTRY):
  - x86_64: in bits 61..52 of the entry naming the table, which the CPU
    ignores: no memory, read with the entry the walk reads anyway;
  - aarch64, riscv64, loongarch64 have no 10 free bits in such an entry:
    in a side array of 16-bit counts, one per physical frame, indexed by
    the table's frame number (set_count_array: 2 bytes per frame of RAM,
    0.05 %, sized by the kernel at boot from the highest usable frame).
    A count is set when its table is linked into a lower-half walk, so a
    frame's stale count from an earlier life does not matter.
Every store that makes an entry of a lower-half table present or not
present adjusts its count; wrong_counts(pml4) checks them all (tests).
Upper-half tables are shared by every space and never freed: no counts.

Virtual addresses are Signed words: upper-half ones are negative, and
`virt >> n` is an arithmetic shift, so `(virt >> 39) & 511` is the root
index for both halves.
"""

from elyz.abi.errors import E_NOMEM, E_INVALID, E_NOT_MAPPED, E_ALREADY_MAPPED, E_ALIGN
from elyz.mm import pte
from elyz.mm.pte.common import (                    # re-exported: paging.PAGE_WRITE, ...
    LEVEL_PT, LEVEL_PD, LEVEL_PDPT, LEVEL_PML4,
    PAGE_WRITE, PAGE_USER, PAGE_NO_EXECUTE, PAGE_GLOBAL, PAGE_WRITE_COMBINING,
    PAGE_UNCACHED, PAGE_ALLOW_LARGE, PAGE_ALL_FLAGS)
from elyz.rlib_kernel import rawmem

# The entry format: a module global, read where used, so that tests can
# swap it for another architecture's (the translator folds it as a constant).
fmt = pte.FORMAT

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT                 # 4 KiB, a PT entry
LARGE_PAGE_SIZE = 1 << 21                   # 2 MiB, a PD entry
HUGE_PAGE_SIZE = 1 << 30                    # 1 GiB, a PDPT entry
ENTRIES = 512                               # entries per table
ENTRY_SIZE = 8

KERNEL_HALF_FIRST = 256                     # first root entry of the upper half
HALF_SIZE = 1 << 47                         # bytes in each canonical half

COUNT_SIZE = 2                              # bytes of a count in the side array

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
        self.counts = 0                     # kernel address of the side array
        self.count_frames = 0               # frames it has a count for


_state = _PagingState()


def set_hhdm_offset(offset):
    """Sets where physical memory is mapped (virtual = physical + offset)."""
    _state.hhdm_offset = offset


def hhdm_offset():
    """Returns the offset given to set_hhdm_offset (0 until then)."""
    return _state.hhdm_offset


def count_array_bytes(frame_limit):
    """Returns the bytes set_count_array needs for frames 0..frame_limit-1."""
    return frame_limit * COUNT_SIZE


def set_count_array(base, frame_limit):
    """Gives paging count_array_bytes(frame_limit) bytes at kernel address
    base for the present-entry counts of formats that keep them outside
    the entries (fmt.COUNT_IN_ENTRY False); every page-table frame must be
    below frame_limit.  Needed before the first map on those formats; x86_64
    does not use it.  Returns nothing."""
    _state.counts = base
    _state.count_frames = frame_limit


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


def _level_size(level):
    """Returns the bytes one entry of a table at level covers (4 KiB..512 GiB)."""
    return 1 << (PAGE_SHIFT + 9 * (level - 1))


def _read(entry_phys):
    """Returns the 64-bit entry at physical address entry_phys."""
    return rawmem.load_u64(entry_phys + _state.hhdm_offset)


def read_entry(entry_phys):
    """Returns the raw 64-bit entry at physical address entry_phys (for
    walkers outside this module, such as elyz/mm/audit.py, which read it
    through fmt)."""
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
    return level == LEVEL_PT or (level != LEVEL_PML4 and fmt.is_block(entry))


def _side_count(table):
    """Returns the address of table's count in the side array."""
    return _state.counts + (table >> PAGE_SHIFT) * COUNT_SIZE


def _count_of(entry):
    """Returns the count of present entries of the lower-half table that
    the (present) entry names."""
    if fmt.COUNT_IN_ENTRY:
        return (entry & fmt.COUNT_MASK) >> fmt.COUNT_SHIFT
    return rawmem.load_u16(_side_count(fmt.table_address(entry)))


def _add_count(entry_phys, delta):
    """Adds delta to the count of the lower-half table named by the entry
    at entry_phys (whose entries were made present or not)."""
    if fmt.COUNT_IN_ENTRY:
        _write(entry_phys, _read(entry_phys) + delta * fmt.COUNT_ONE)
    else:
        slot = _side_count(fmt.table_address(_read(entry_phys)))
        rawmem.store_u16(slot, rawmem.load_u16(slot) + delta)


def _link(table, virt, present):
    """Returns the entry naming table on virt's walk, table having present
    entries present: its count is set (in the lower half only)."""
    entry = fmt.table_entry(table, virt >= 0)
    if virt >= 0:
        if fmt.COUNT_IN_ENTRY:
            entry += present * fmt.COUNT_ONE
        else:
            rawmem.store_u16(_side_count(table), present)
    return entry


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
# A walk reads one entry per level, root first: absent (not fmt.is_present),
# a leaf (level 1, or fmt.is_block at levels 2 and 3) or the address of the
# next table (fmt.table_address).  The layout of an entry is drawn in its
# format module, elyz/mm/pte/<karch>.py.


def _leaf_level(pml4, virt):
    """Walks virt's path.  Returns the level (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB)
    of the present leaf mapping virt, or -L when the walk meets a
    non-present entry in the table at level L.  virt must be canonical."""
    table = pml4
    level = LEVEL_PML4
    while True:
        entry = _read(_entry_phys(table, virt, level))
        if not fmt.is_present(entry):
            return -level
        if _is_leaf(entry, level):
            return level
        table = fmt.table_address(entry)
        level -= 1


def _pd_entry(pml4, virt):
    """Returns the physical address of virt's entry in its page directory,
    or -1 when the walk stops above it (an absent PML4 or PDPT entry, or a
    1 GiB leaf): _find_entry(pml4, virt, LEVEL_PD) unrolled, the one walk
    of a 4 KiB map or unmap."""
    entry = _read(_entry_phys(pml4, virt, LEVEL_PML4))
    if not fmt.is_present(entry):
        return -1
    entry = _read(_entry_phys(fmt.table_address(entry), virt, LEVEL_PDPT))
    if not fmt.is_present(entry) or fmt.is_block(entry):
        return -1
    return _entry_phys(fmt.table_address(entry), virt, LEVEL_PD)


def _names_page_table(pde):
    """Returns True when pde (a _pd_entry result) holds a page table."""
    if pde < 0:
        return False
    entry = _read(pde)
    return fmt.is_present(entry) and not fmt.is_block(entry)


def _find_entry(pml4, virt, level):
    """Returns the physical address of virt's entry in its table at level, or
    -1 when the walk stops above level (a non-present entry or a leaf)."""
    table = pml4
    current = LEVEL_PML4
    while current > level:
        entry = _read(_entry_phys(table, virt, current))
        if not fmt.is_present(entry) or _is_leaf(entry, current):
            return -1
        table = fmt.table_address(entry)
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
        value = _link(table, virt, 1)
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
    value = _link(pt, virt, 0)
    current = LEVEL_PT + 1
    k = need - 1
    while k >= 1:
        if k == 2:
            table = new2
        else:
            table = new1
        _write(_entry_phys(table, virt, current), value)
        value = _link(table, virt, 1)
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
        if fmt.is_present(entry) and not fmt.is_block(entry):
            unlinking = _count_of(entry) == 0
            if unlinking:
                free_pt = fmt.table_address(entry)
                _write(e2, 0)
                _add_count(e3, -1)
    if unlinking and e3 >= 0:
        entry = _read(e3)
        if fmt.is_present(entry) and not fmt.is_block(entry):
            unlinking = _count_of(entry) == 0
            if unlinking:
                free_pd = fmt.table_address(entry)
                _write(e3, 0)
                _add_count(e4, -1)
    if unlinking:
        entry = _read(e4)
        if fmt.is_present(entry) and _count_of(entry) == 0:
            free_pdpt = fmt.table_address(entry)
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
    when it is negative or beyond fmt.MAX_PHYS, E_ALIGN when it is not
    size-aligned."""
    if phys < 0 or phys > fmt.MAX_PHYS:
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
    beyond fmt.MAX_PHYS; E_ALIGN for misaligned addresses."""
    if not flags_valid(flags) or not _flags_allowed_at(virt, flags):
        return E_INVALID
    err = _check_range(virt, size)
    if err:
        return err
    err = _check_phys(phys, PAGE_SIZE)
    if err:
        return err
    if size > 0 and phys + (size - 1) > fmt.MAX_PHYS:
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
    """Returns the physical address of a new, zeroed root table (nothing mapped,
    not even the kernel: see copy_kernel_half), or E_NOMEM."""
    return _alloc_table(alloc)


def copy_kernel_half(dst_pml4, src_pml4):
    """Copies root entries 256..511 (the kernel's half) from src_pml4 to
    dst_pml4, so both share the kernel's PDPTs.  Never fails.  Run
    populate_kernel_half on the kernel's root first, or kernel mappings
    made later under a new root entry will not be seen by dst_pml4.  Does
    nothing on a format whose hardware walks the kernel half from its own
    root register (fmt.KERNEL_HALF_IN_EVERY_ROOT False: loongarch64)."""
    if not fmt.KERNEL_HALF_IN_EVERY_ROOT:
        return
    i = KERNEL_HALF_FIRST
    while i < ENTRIES:
        _write(dst_pml4 + i * ENTRY_SIZE, _read(src_pml4 + i * ENTRY_SIZE))
        i += 1


def populate_kernel_half(pml4, alloc):
    """Gives every upper-half root entry of pml4 a (zeroed) PDPT, so that
    copies made by copy_kernel_half stay in step.  Returns 0, or E_NOMEM
    (the PDPTs made so far stay in place: they are valid and empty)."""
    i = KERNEL_HALF_FIRST
    while i < ENTRIES:
        entry_phys = pml4 + i * ENTRY_SIZE
        if not fmt.is_present(_read(entry_phys)):
            table = _alloc_table(alloc)
            if table < 0:
                return E_NOMEM
            _write(entry_phys, fmt.table_entry(table, False))
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
        if fmt.is_present(entry):
            if not _is_leaf(entry, level):
                _free_tree(fmt.table_address(entry), level - 1, alloc, free_frames)
            elif level == LEVEL_PT and free_frames:
                alloc.free_frame(fmt.leaf_address(entry, LEVEL_PT))
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
        if fmt.is_present(entry):
            _free_tree(fmt.table_address(entry), LEVEL_PDPT, alloc, free_frames)
        i += 1
    alloc.free_frame(pml4)
    return 0


# ------------------------------------------------------------ mappings


def map(pml4, virt, phys, flags, alloc):
    """Maps the 4 KiB page at virt to the frame at phys with PAGE_* flags.
    Returns 0; E_INVALID for a non-canonical virt, a phys beyond fmt.MAX_PHYS,
    bad flags, PAGE_USER on an upper-half or PAGE_GLOBAL on a lower-half
    virt; E_ALIGN when virt or phys is not page-aligned;
    E_ALREADY_MAPPED when virt is mapped; E_NOMEM when a table cannot be
    allocated (then nothing changed)."""
    err = _check_mapping(virt, phys, PAGE_SIZE, flags)
    if err:
        return err
    leaf = fmt.leaf(phys, fmt.page_bits(flags))
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
    bits = fmt.page_bits(flags)
    large_bits = fmt.block_bits(flags, LEVEL_PD)
    large = (flags & PAGE_ALLOW_LARGE) != 0
    offset = 0
    while offset < size:
        v = virt + offset
        p = phys + offset
        if (large and size - offset >= LARGE_PAGE_SIZE and
                (v & (LARGE_PAGE_SIZE - 1)) == 0 and (p & (LARGE_PAGE_SIZE - 1)) == 0):
            err = _map_leaf(pml4, v, fmt.leaf(p, large_bits), LEVEL_PD, alloc)
            step = LARGE_PAGE_SIZE
        else:
            err = _map_leaf(pml4, v, fmt.leaf(p, bits), LEVEL_PT, alloc)
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
    # before the check: nothing live across the call (it may be in
    # another C file, whose clobbers the C compiler cannot see)
    bits = fmt.page_bits(flags)
    err = _check_mapping(virt, 0, count * PAGE_SIZE, flags)
    if err:
        return err
    done = 0
    while done < count and err == 0:
        v = virt + done * PAGE_SIZE
        pde = _make_path(pml4, v, alloc)
        if pde < 0:
            err = pde
            break
        pt = fmt.table_address(_read(pde))
        index = (v >> PAGE_SHIFT) & (ENTRIES - 1)
        first = done
        while index < ENTRIES and done < count:
            phys = rawmem.load_u64(frames + done * ENTRY_SIZE)
            err = _check_phys(phys, PAGE_SIZE)
            if err:
                break
            entry_phys = pt + index * ENTRY_SIZE
            if fmt.is_present(_read(entry_phys)):
                err = E_ALREADY_MAPPED
                break
            _write(entry_phys, fmt.leaf(phys, bits))
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
            pt = fmt.table_address(_read(pde))
            index = (v >> PAGE_SHIFT) & (ENTRIES - 1)
            cleared = 0
            last_cleared = 0
            while index < ENTRIES and offset < size:
                entry_phys = pt + index * ENTRY_SIZE
                if fmt.is_present(_read(entry_phys)):
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
    its frame and the bits the CPU set, fmt.KEPT_BITS) and tells tlb.  Returns 0;
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
    entry = _read(entry_phys)
    if level == LEVEL_PT:
        bits = fmt.page_bits(flags)
    else:
        bits = fmt.block_bits(flags, level)
    _write(entry_phys, fmt.leaf(fmt.leaf_address(entry, level), bits) | (entry & fmt.KEPT_BITS))
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
    return fmt.leaf_address(entry, level) | (virt & offset_mask)


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
    if not is_canonical(virt):
        return E_INVALID
    level = _leaf_level(pml4, virt)
    if level < 0:
        return E_NOT_MAPPED
    return fmt.flags_of(_read(_find_entry(pml4, virt, level)), level)


def wrong_counts(pml4):
    """Returns how many lower-half tables below the root have a count (in
    the entry naming them, or in the side array: see "Counts") that differs
    from their present entries (0: every count is exact).  Walks every
    lower-half table: for tests and self-tests."""
    wrong = 0
    i = 0
    while i < KERNEL_HALF_FIRST:
        entry = _read(pml4 + i * ENTRY_SIZE)
        if fmt.is_present(entry):
            wrong += _wrong_counts_under(entry, LEVEL_PDPT)
        i += 1
    return wrong


def _wrong_counts_under(entry, level):
    """Returns the wrong counts of the table entry names (at level) and of
    the tables below it."""
    table = fmt.table_address(entry)
    wrong = 0
    present = 0
    i = 0
    while i < ENTRIES:
        child = _read(table + i * ENTRY_SIZE)
        if fmt.is_present(child):
            present += 1
            if not _is_leaf(child, level):
                wrong += _wrong_counts_under(child, level - 1)
        i += 1
    if _count_of(entry) != present:
        wrong += 1
    return wrong


def leaf_entry(pml4, virt):
    """Returns the raw leaf entry mapping virt (in fmt's layout; negative
    when bit 63 is set), or 0 when virt is non-canonical or not mapped."""
    if not is_canonical(virt):
        return 0
    level = _leaf_level(pml4, virt)
    if level < 0:
        return 0
    return _read(_find_entry(pml4, virt, level))
