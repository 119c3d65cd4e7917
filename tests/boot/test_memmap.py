"""Specification of elyz.boot.memmap: recording and normalising the map."""

from hypothesis import given, settings, strategies as st

from elyz.boot import bootinfo, memmap
from elyz.boot.bootinfo import (
    BootInfo, MAX_MEMMAP_ENTRIES, MEM_ACPI_NVS, MEM_ACPI_RECLAIMABLE, MEM_BAD,
    MEM_BOOTLOADER_RECLAIMABLE, MEM_FRAMEBUFFER, MEM_KERNEL_AND_MODULES,
    MEM_RESERVED, MEM_USABLE)
from elyz.rlib_kernel.rawmem import to_word
from tests.boot.images import regions
from tests.support.rpycheck import rtype_allocation_free

USABLE, RESERVED = MEM_USABLE, MEM_RESERVED
KIB = 1024
MIB = 1024 * 1024


def map_of(*entries):
    info = BootInfo()
    for base, length, mem_type in entries:
        assert info.add_memory_region(base, length, mem_type)
    return info


def normalised(*entries):
    info = map_of(*entries)
    memmap.normalise(info)
    return regions(info)


def test_entries_come_out_sorted_by_base():
    assert normalised((0x200000, 0x1000, USABLE), (0x0, 0x1000, RESERVED),
                      (0x100000, 0x1000, USABLE)) == [
        (0x0, 0x1000, RESERVED), (0x100000, 0x1000, USABLE), (0x200000, 0x1000, USABLE)]


def test_reserved_hole_splits_a_usable_region():
    assert normalised((0x0, 0x100000, USABLE), (0x9f000, 0x1000, RESERVED)) == [
        (0x0, 0x9f000, USABLE), (0x9f000, 0x1000, RESERVED), (0xa0000, 0x60000, USABLE)]


def test_usable_region_is_cut_back_where_it_runs_into_reserved():
    assert normalised((0x0, 0x20000, USABLE), (0x10000, 0x20000, RESERVED)) == [
        (0x0, 0x10000, USABLE), (0x10000, 0x20000, RESERVED)]


def test_later_usable_entry_cannot_reclaim_reserved_memory():
    assert normalised((0x10000, 0x10000, RESERVED), (0x0, 0x40000, USABLE)) == [
        (0x0, 0x10000, USABLE), (0x10000, 0x10000, RESERVED), (0x20000, 0x20000, USABLE)]


def test_bad_memory_beats_every_other_type():
    for other in range(memmap.NUM_MEM_TYPES):
        if other != MEM_BAD:
            assert normalised((0x0, 0x3000, other), (0x1000, 0x1000, MEM_BAD))[1] == \
                (0x1000, 0x1000, MEM_BAD)


def test_reserved_beats_reclaimable_memory():
    assert normalised((0x0, 0x3000, MEM_ACPI_RECLAIMABLE), (0x1000, 0x1000, RESERVED)) == [
        (0x0, 0x1000, MEM_ACPI_RECLAIMABLE), (0x1000, 0x1000, RESERVED),
        (0x2000, 0x1000, MEM_ACPI_RECLAIMABLE)]
    assert normalised((0x1000, 0x1000, MEM_BOOTLOADER_RECLAIMABLE),
                      (0x0, 0x3000, RESERVED)) == [(0x0, 0x3000, RESERVED)]


def test_kernel_image_carves_itself_out_of_usable_memory():
    info = map_of((0x0, 0x9f000, USABLE), (0x100000, 0x7f00000, USABLE))
    memmap.reserve_range(info, 0x100000, 0x123456, MEM_KERNEL_AND_MODULES)
    assert regions(info) == [(0x0, 0x9f000, USABLE),
                             (0x100000, 0x123456, MEM_KERNEL_AND_MODULES),
                             (0x224000, 0x8000000 - 0x224000, USABLE)]


def test_rank_orders_types_from_usable_to_bad():
    order = [MEM_USABLE, MEM_BOOTLOADER_RECLAIMABLE, MEM_ACPI_RECLAIMABLE,
             MEM_KERNEL_AND_MODULES, MEM_FRAMEBUFFER, MEM_ACPI_NVS, MEM_RESERVED, MEM_BAD]
    assert [memmap.RANK[t] for t in order] == sorted(memmap.RANK)
    assert len(set(memmap.RANK)) == memmap.NUM_MEM_TYPES


def test_adjacent_entries_of_the_same_type_merge():
    assert normalised((0x0, 0x1000, USABLE), (0x1000, 0x1000, USABLE),
                      (0x2000, 0x1000, RESERVED), (0x3000, 0x10, RESERVED)) == [
        (0x0, 0x2000, USABLE), (0x2000, 0x1010, RESERVED)]


def test_usable_regions_shrink_inward_to_whole_pages():
    assert normalised((0x9fc00 - 0x9f000 + 0x800, 0x9f000, USABLE)) == [
        (0x2000, 0x9e000, USABLE)]


def test_unaligned_pieces_merge_before_alignment():
    assert normalised((0x1000, 0x800, USABLE), (0x1800, 0x800, USABLE)) == [
        (0x1000, 0x1000, USABLE)]


def test_usable_regions_smaller_than_a_page_disappear():
    assert normalised((0x1800, 0x1000, USABLE), (0x5000, 0x0, RESERVED)) == []


def test_reserved_regions_keep_their_exact_bounds():
    assert normalised((0x9fc00, 0x400, RESERVED)) == [(0x9fc00, 0x400, RESERVED)]


def test_unknown_types_count_as_reserved():
    assert normalised((0x0, 0x2000, USABLE), (0x1000, 0x10, 42)) == [
        (0x0, 0x1000, USABLE), (0x1000, 0x10, RESERVED)]


def test_entries_beyond_the_physical_address_limit_are_clipped():
    info = BootInfo()
    memmap.add_region(info, to_word(0xfffffffffffff000), 0x1000, RESERVED)
    memmap.add_region(info, 0x100000000, to_word(0xffffffffffffffff), USABLE)
    assert regions(info) == [(0x100000000, memmap.PHYS_LIMIT - 0x100000000, USABLE)]


def test_add_region_drops_empty_entries_without_complaint():
    info = BootInfo()
    assert memmap.add_region(info, 0x1000, 0, USABLE)
    assert info.memmap_count == 0


def test_a_full_table_is_compacted_to_make_room():
    info = BootInfo()
    for i in range(MAX_MEMMAP_ENTRIES):
        assert memmap.add_region(info, i * 0x1000, 0x1000, USABLE)
    assert memmap.add_region(info, 0x10000000, 0x1000, RESERVED)
    assert regions(info) == [(0, MAX_MEMMAP_ENTRIES * 0x1000, USABLE),
                             (0x10000000, 0x1000, RESERVED)]
    assert info.memmap_dropped == 0


def test_pieces_that_cannot_fit_are_dropped_and_counted():
    info = BootInfo()
    # One usable region under MAX reserved holes needs MAX + 1 usable pieces.
    memmap.add_region(info, 0, MAX_MEMMAP_ENTRIES * 0x2000 + 0x1000, USABLE)
    for i in range(MAX_MEMMAP_ENTRIES - 1):
        info.add_memory_region(0x1000 + i * 0x2000, 0x1000, RESERVED)
    memmap.normalise(info)
    assert info.memmap_dropped > 0
    _assert_well_formed(regions(info))


def test_total_usable_bytes_and_usable_top_summarise_the_map():
    info = map_of((0x0, 0x9f000, USABLE), (0x9f000, 0x61000, RESERVED),
                  (0x100000, 0x7f00000, USABLE), (0xfd000000, 0x1000000, MEM_FRAMEBUFFER))
    memmap.normalise(info)
    assert memmap.total_usable_bytes(info) == 0x9f000 + 0x7f00000
    assert memmap.usable_top(info) == 0x8000000


def test_a_map_without_usable_memory_has_top_zero():
    info = map_of((0x0, 0x1000, RESERVED))
    assert memmap.total_usable_bytes(info) == 0
    assert memmap.usable_top(info) == 0


# --------------------------------------------------------- property test

UNIT = 0x400                    # entries start and end on 1 KiB boundaries
SPACE_UNITS = 256               # in a 256 KiB physical space

entry_strategy = st.tuples(st.integers(0, SPACE_UNITS - 1), st.integers(0, 64),
                           st.integers(0, memmap.NUM_MEM_TYPES - 1))


def _assert_well_formed(result):
    for (base, length, mem_type) in result:
        assert length > 0
        if mem_type == USABLE:
            assert base % memmap.PAGE_SIZE == 0 and length % memmap.PAGE_SIZE == 0
    for (b0, l0, t0), (b1, l1, t1) in zip(result, result[1:]):
        assert b0 < b1, 'not sorted'
        assert b0 + l0 <= b1, 'overlap'
        assert not (b0 + l0 == b1 and t0 == t1), 'unmerged neighbours'


def _winning_type_per_unit(entries):
    """The model: each 1 KiB unit gets the highest-rank type covering it."""
    owner = [None] * (SPACE_UNITS + 64)
    for start, units, mem_type in entries:
        for u in range(start, start + units):
            if owner[u] is None or memmap.RANK[mem_type] > memmap.RANK[owner[u]]:
                owner[u] = mem_type
    return owner


def _type_per_unit(result):
    owner = [None] * (SPACE_UNITS + 64)
    for base, length, mem_type in result:
        for u in range(base // UNIT, (base + length) // UNIT):
            owner[u] = mem_type
    return owner


@settings(max_examples=300, deadline=None)
@given(st.lists(entry_strategy, max_size=24))
def test_normalised_map_is_the_strongest_type_of_each_byte(entries):
    """Sorted, non-overlapping, merged; every non-usable byte keeps the
    strongest type that covered it; a page is usable exactly when every
    byte of it was covered by usable entries only."""
    info = map_of(*[(s * UNIT, n * UNIT, t) for s, n, t in entries])
    memmap.normalise(info)
    result = regions(info)
    _assert_well_formed(result)
    assert info.memmap_dropped == 0

    model = _winning_type_per_unit(entries)
    got = _type_per_unit(result)
    units_per_page = memmap.PAGE_SIZE // UNIT
    for u, want in enumerate(model):
        if want is None:
            assert got[u] is None
        elif want != USABLE:
            assert got[u] == want
        else:
            page = u - u % units_per_page
            whole_page_usable = all(model[p] == USABLE
                                    for p in range(page, page + units_per_page))
            assert got[u] == (USABLE if whole_page_usable else None)


# ---------------------------------------------------------------- RPython

def _memmap_entry(base, length):
    info = bootinfo.boot_info
    memmap.add_region(info, base, length, MEM_USABLE)
    memmap.reserve_range(info, base, length, MEM_KERNEL_AND_MODULES)
    memmap.normalise(info)
    return memmap.total_usable_bytes(info) + memmap.usable_top(info)


def test_memmap_is_valid_rpython_and_allocates_nothing():
    rtype_allocation_free([(_memmap_entry, [int, int])], module_prefix='elyz.boot')
