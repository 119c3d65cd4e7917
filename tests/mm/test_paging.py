"""Four-level paging over simulated physical memory (elyz.mm.paging), for
every page-table format: the tests that use the `frames` or `pml4` fixture
(or ask for `pte_format`) run once per format of elyz/mm/pte
(tests/mm/conftest.py); those marked x86_only read x86_64 bits.  The exact
encodings of each format are checked in test_pte_formats.py."""

import pytest
from hypothesis import given, settings, strategies as st

from elyz.mm import paging
from elyz.abi.errors import E_NOMEM, E_INVALID, E_NOT_MAPPED, E_ALREADY_MAPPED, E_ALIGN
from elyz.mm import pte
from elyz.mm.paging import (
    PAGE_SIZE, LARGE_PAGE_SIZE, HUGE_PAGE_SIZE,
    PAGE_WRITE, PAGE_USER, PAGE_NO_EXECUTE, PAGE_GLOBAL, PAGE_WRITE_COMBINING,
    PAGE_UNCACHED, PAGE_ALLOW_LARGE)
from elyz.mm.pte import x86_64
from elyz.mm.pte.x86_64 import (
    PTE_PRESENT, PTE_WRITABLE, PTE_USER, PTE_PWT, PTE_PCD, PTE_ACCESSED, PTE_DIRTY,
    PTE_HUGE, PTE_GLOBAL, PTE_NX, PTE_ADDR_MASK)
from elyz.rlib_kernel import rawmem
from tests.support.rpycheck import rtype_allocation_free

HHDM = rawmem.to_word(0xffff800000000000)
FRAME_BASE = 0x100000          # the fake allocator's frames start here (phys)
COUNTS = HHDM + 0x8000000      # the side array of counts, for formats that need it
UPPER = rawmem.to_word(0xffff800000000000)          # first upper-half address
KERNEL = rawmem.to_word(0xffffffff80000000)         # where kernels link


# ------------------------------------------------------------ the test world

class FakeFrames(paging.FrameAllocator):
    """Frames from a simulated region; fails once `budget` allocations were made.

    Every frame handed out is first filled with 0xA5 (present bits set), so a
    table the paging code forgot to zero shows up as garbage mappings.
    """

    def __init__(self, count, budget=-1):
        self.free = [FRAME_BASE + i * PAGE_SIZE for i in range(count - 1, -1, -1)]
        self.in_use = set()
        self.budget = budget

    def alloc_frame(self):
        if self.budget == 0 or not self.free:
            return E_NOMEM
        if self.budget > 0:
            self.budget -= 1
        phys = self.free.pop()
        rawmem.fill(phys + HHDM, 0xA5, PAGE_SIZE)
        self.in_use.add(phys)
        return phys

    def free_frame(self, phys):
        assert phys in self.in_use, "free of a frame not in use: %#x" % phys
        self.in_use.remove(phys)
        self.free.append(phys)
        return 0

    @property
    def used(self):
        return len(self.in_use)


class RecordingTlb(paging.TlbInvalidator):
    def __init__(self):
        self.calls = []

    def invalidate(self, virt):
        self.calls.append(virt)


def make_world(frames=64, budget=-1):
    """Installs fresh simulated memory holding `frames` frames, seen through
    the HHDM; returns the allocator."""
    memory = rawmem.simulate()
    memory.add_region(HHDM + FRAME_BASE, frames * PAGE_SIZE)
    paging.set_hhdm_offset(HHDM)
    if not paging.fmt.COUNT_IN_ENTRY:
        limit = FRAME_BASE // PAGE_SIZE + frames
        memory.add_region(COUNTS, paging.count_array_bytes(limit))
        paging.set_count_array(COUNTS, limit)
    return FakeFrames(frames, budget)


@pytest.fixture
def frames(pte_format):
    yield make_world()
    paging.set_hhdm_offset(0)


@pytest.fixture
def pml4(frames):
    """A new address space; after the test, every count of present entries
    kept in its lower half must still be exact."""
    table = paging.create_address_space(frames)
    assert table >= 0
    yield table
    assert paging.wrong_counts(table) == 0


def entry_at(table, index):
    return rawmem.load_u64(table + HHDM + index * 8)


def walk_entries(pml4, virt):
    """Returns the raw entries of virt's walk, PML4 entry first (stops at a
    leaf or a non-present entry)."""
    entries = []
    table = pml4
    for level in (4, 3, 2, 1):
        entry = entry_at(table, (virt >> (12 + 9 * (level - 1))) & 511)
        entries.append(entry)
        if (not paging.fmt.is_present(entry) or level == 1 or
                (level < 4 and paging.fmt.is_block(entry))):
            break
        table = paging.fmt.table_address(entry)
    return entries


def count_tables(pml4, first=0, last=511):
    """Returns how many tables (PDPT, PD, PT) hang under PML4 entries first..last."""
    def under(table, level):
        count = 1
        if level == 1:
            return count
        for i in range(512):
            entry = entry_at(table, i)
            if paging.fmt.is_present(entry) and not paging.fmt.is_block(entry):
                count += under(paging.fmt.table_address(entry), level - 1)
        return count
    total = 0
    for i in range(first, last + 1):
        entry = entry_at(pml4, i)
        if paging.fmt.is_present(entry):
            total += under(paging.fmt.table_address(entry), 3)
    return total


# ------------------------------------------------------------ addresses

def test_index_extraction_uses_an_arithmetic_shift_on_upper_half_addresses():
    from rpython.rtyper.test.test_llinterp import interpret

    def pml4_index(virt):
        return (virt >> 39) & 511

    def pdpt_index(virt):
        return (virt >> 30) & 511

    assert UPPER < 0 and KERNEL < 0
    for f in (pml4_index, pdpt_index):       # untranslated, then as rtyped code
        assert [f(UPPER), f(KERNEL)] == [interpret(f, [UPPER]), interpret(f, [KERNEL])]
    assert pml4_index(UPPER) == 256
    assert pml4_index(KERNEL) == 511 and pdpt_index(KERNEL) == 510
    assert interpret(paging.is_canonical, [KERNEL])


def test_canonical_addresses_are_those_with_bits_63_to_47_equal():
    assert paging.is_canonical(0)
    assert paging.is_canonical(0x00007fffffffffff)
    assert paging.is_canonical(UPPER)
    assert paging.is_canonical(-1)
    assert not paging.is_canonical(0x0000800000000000)
    assert not paging.is_canonical(rawmem.to_word(0xffff7fffffffffff))
    assert not paging.is_canonical(rawmem.to_word(0x8000000000000000))


def test_non_canonical_addresses_are_refused_everywhere(frames, pml4):
    bad = 0x0000800000000000
    assert paging.map(pml4, bad, 0x5000, PAGE_WRITE, frames) == E_INVALID
    assert paging.map_range(pml4, bad, 0x5000, PAGE_SIZE, 0, frames) == E_INVALID
    assert paging.unmap(pml4, bad, frames) == E_INVALID
    assert paging.unmap_range(pml4, bad, PAGE_SIZE, frames) == E_INVALID
    assert paging.protect(pml4, bad, 0) == E_INVALID
    assert paging.translate(pml4, bad) == E_INVALID
    assert paging.mapping_size(pml4, bad) == E_INVALID
    assert paging.get_flags(pml4, bad) == E_INVALID
    assert paging.leaf_entry(pml4, bad) == 0
    assert frames.used == 1


def test_a_range_may_not_cross_the_canonical_hole(frames, pml4):
    top = 0x00007fffffffe000
    assert paging.map_range(pml4, top, 0x5000, 2 * PAGE_SIZE, 0, frames) == 0
    assert paging.map_range(pml4, top, 0x5000, 3 * PAGE_SIZE, 0, frames) == E_INVALID
    last = rawmem.to_word(0xfffffffffffff000)
    assert paging.map_range(pml4, last, 0x5000, 2 * PAGE_SIZE, 0, frames) == E_INVALID
    assert paging.map_range(pml4, last, 0x5000, PAGE_SIZE, 0, frames) == 0
    assert paging.translate(pml4, last + 0xfff) == 0x5fff


# ------------------------------------------------------------ map / translate / unmap

def test_map_then_translate_gives_the_frame_plus_the_offset(frames, pml4):
    assert paging.map(pml4, 0x400000, 0x7000, PAGE_WRITE, frames) == 0
    assert paging.translate(pml4, 0x400000) == 0x7000
    assert paging.translate(pml4, 0x400abc) == 0x7abc
    assert paging.translate(pml4, 0x401000) == E_NOT_MAPPED
    assert paging.mapping_size(pml4, 0x400000) == PAGE_SIZE


def test_upper_half_addresses_map_and_translate(frames, pml4):
    assert paging.map(pml4, KERNEL, 0x200000, 0, frames) == 0
    assert paging.translate(pml4, KERNEL + 0x123) == 0x200123
    assert paging.unmap(pml4, KERNEL, frames) == 0
    assert paging.translate(pml4, KERNEL) == E_NOT_MAPPED


def test_unmap_removes_the_mapping_but_not_the_frame(frames, pml4):
    frame = frames.alloc_frame()
    assert paging.map(pml4, 0x1000, frame, PAGE_WRITE, frames) == 0
    assert paging.unmap(pml4, 0x1000, frames) == 0
    assert paging.translate(pml4, 0x1000) == E_NOT_MAPPED
    assert paging.unmap(pml4, 0x1000, frames) == E_NOT_MAPPED
    assert frame in frames.in_use


def test_a_new_address_space_is_one_zeroed_frame(frames):
    before = frames.used
    pml4 = paging.create_address_space(frames)
    assert frames.used == before + 1
    assert all(entry_at(pml4, i) == 0 for i in range(512))


def test_unmap_of_the_last_page_frees_the_empty_pt_pd_and_pdpt(frames, pml4):
    assert frames.used == 1
    assert paging.map(pml4, 0x12345000, 0x9000, PAGE_WRITE, frames) == 0
    assert frames.used == 4                   # PML4 + PDPT + PD + PT
    assert paging.unmap(pml4, 0x12345000, frames) == 0
    assert frames.used == 1
    assert all(entry_at(pml4, i) == 0 for i in range(512))


def test_tables_still_in_use_survive_an_unmap(frames, pml4):
    assert paging.map(pml4, 0x1000, 0x9000, 0, frames) == 0
    assert paging.map(pml4, 0x2000, 0xa000, 0, frames) == 0           # same PT
    assert paging.map(pml4, 0x40000000, 0xb000, 0, frames) == 0       # same PDPT, new PD
    assert frames.used == 6
    assert paging.unmap(pml4, 0x1000, frames) == 0
    assert frames.used == 6
    assert paging.translate(pml4, 0x2000) == 0xa000
    assert paging.unmap(pml4, 0x2000, frames) == 0
    assert frames.used == 4                   # the first PD and its PT went
    assert paging.translate(pml4, 0x40000000) == 0xb000
    assert paging.unmap(pml4, 0x40000000, frames) == 0
    assert frames.used == 1


def test_unmap_never_frees_upper_half_tables(frames, pml4):
    assert paging.map(pml4, KERNEL, 0x9000, 0, frames) == 0
    assert frames.used == 4
    assert paging.unmap(pml4, KERNEL, frames) == 0
    assert frames.used == 4
    assert count_tables(pml4, 256, 511) == 3


def test_map_over_an_existing_mapping_is_refused_and_keeps_it(frames, pml4):
    assert paging.map(pml4, 0x5000, 0x9000, PAGE_WRITE, frames) == 0
    used = frames.used
    assert paging.map(pml4, 0x5000, 0xa000, 0, frames) == E_ALREADY_MAPPED
    assert paging.translate(pml4, 0x5000) == 0x9000
    assert paging.get_flags(pml4, 0x5000) == PAGE_WRITE
    assert frames.used == used


def test_map_refuses_bad_alignment_bad_phys_and_bad_flags(frames, pml4):
    assert paging.map(pml4, 0x5001, 0x9000, 0, frames) == E_ALIGN
    assert paging.map(pml4, 0x5000, 0x9800, 0, frames) == E_ALIGN
    assert paging.map(pml4, 0x5000, -PAGE_SIZE, 0, frames) == E_INVALID
    assert paging.map(pml4, 0x5000, paging.fmt.MAX_PHYS + 1, 0, frames) == E_INVALID
    assert paging.map(pml4, 0x5000, 0x9000, 1 << 20, frames) == E_INVALID
    assert paging.map(pml4, 0x5000, 0x9000, PAGE_UNCACHED | PAGE_WRITE_COMBINING,
                      frames) == E_INVALID
    assert frames.used == 1


def test_new_tables_are_zeroed_even_when_the_allocator_hands_out_garbage(frames, pml4):
    # FakeFrames fills every frame with 0xA5 bytes: present bits everywhere.
    assert paging.map(pml4, 0x5000, 0x9000, 0, frames) == 0
    for virt in (0x6000, 0x200000, 0x40000000):
        assert paging.translate(pml4, virt) == E_NOT_MAPPED
    assert count_tables(pml4) == 3


# ------------------------------------------------------------ bits in entries

USER_VIRT = 0x00007f0012345000
KERNEL_VIRT = rawmem.to_word(0xffffc00012345000)


@pytest.mark.x86_only
@pytest.mark.parametrize('virt, flags, set_bits, clear_bits', [
    (USER_VIRT, 0, 0, PTE_WRITABLE | PTE_USER | PTE_NX | PTE_GLOBAL | PTE_PWT | PTE_PCD),
    (USER_VIRT, PAGE_WRITE, PTE_WRITABLE, PTE_USER | PTE_NX),
    (USER_VIRT, PAGE_USER, PTE_USER, PTE_WRITABLE | PTE_NX),
    (USER_VIRT, PAGE_NO_EXECUTE, PTE_NX, PTE_WRITABLE | PTE_USER),
    (KERNEL_VIRT, PAGE_GLOBAL, PTE_GLOBAL, PTE_USER),
    (USER_VIRT, PAGE_WRITE | PAGE_USER | PAGE_NO_EXECUTE, PTE_WRITABLE | PTE_USER | PTE_NX,
     PTE_GLOBAL),
    (KERNEL_VIRT, PAGE_WRITE | PAGE_GLOBAL | PAGE_NO_EXECUTE,
     PTE_WRITABLE | PTE_GLOBAL | PTE_NX, PTE_USER),
    (USER_VIRT, PAGE_WRITE_COMBINING, PTE_PWT, PTE_PCD),
    (KERNEL_VIRT, PAGE_UNCACHED, PTE_PCD | PTE_PWT, 0),
])
def test_leaf_decides_and_intermediate_entries_are_user_only_in_the_lower_half(
        frames, pml4, virt, flags, set_bits, clear_bits):
    assert paging.map(pml4, virt, 0x9000, flags, frames) == 0
    entries = walk_entries(pml4, virt)
    assert len(entries) == 4
    expected = PTE_PRESENT | PTE_WRITABLE | (PTE_USER if virt >= 0 else 0)
    # one present entry in each table on the way: counted in the lower half
    count = x86_64.COUNT_ONE if virt >= 0 else 0
    for entry in entries[:3]:
        assert entry & 0xfff == expected
        assert entry & PTE_NX == 0
        assert entry & ~(PTE_ADDR_MASK | 0xfff) == count
    leaf = entries[3]
    assert leaf & PTE_ADDR_MASK == 0x9000
    assert leaf & PTE_PRESENT
    assert leaf & set_bits == set_bits
    assert leaf & clear_bits == 0
    assert leaf & PTE_HUGE == 0               # bit 7 is PAT in a PT entry: never set
    assert paging.get_flags(pml4, virt) == flags


@pytest.mark.x86_only
def test_kernel_half_tables_made_by_populate_are_supervisor_only(pte_format):
    frames = make_world(frames=300)
    pml4 = paging.create_address_space(frames)
    assert paging.populate_kernel_half(pml4, frames) == 0
    for index in range(256, 512):
        entry = rawmem.load_u64(HHDM + pml4 + index * 8)
        assert entry & 0xfff == PTE_PRESENT | PTE_WRITABLE, index


@pytest.mark.parametrize('virt', [KERNEL_VIRT, rawmem.to_word(0xffff800000000000),
                                  rawmem.to_word(0xfffffffffffff000)])
def test_map_refuses_a_user_page_in_the_kernel_half(frames, pml4, virt):
    used = frames.used
    assert paging.map(pml4, virt, 0x9000, PAGE_USER, frames) == E_INVALID
    assert paging.map_range(pml4, virt, 0x9000, 4096, PAGE_USER | PAGE_WRITE,
                            frames) == E_INVALID
    assert paging.translate(pml4, virt) == E_NOT_MAPPED
    assert frames.used == used


@pytest.mark.parametrize('virt', [0, 0x400000, 0x00007ffffffff000])
def test_map_refuses_a_global_page_in_the_lower_half(frames, pml4, virt):
    used = frames.used
    assert paging.map(pml4, virt, 0x9000, PAGE_GLOBAL, frames) == E_INVALID
    assert paging.map_range(pml4, virt, 0x9000, 4096, PAGE_GLOBAL | PAGE_USER,
                            frames) == E_INVALID
    assert paging.translate(pml4, virt) == E_NOT_MAPPED
    assert frames.used == used


def test_protect_refuses_user_in_the_kernel_half_and_global_in_the_lower_half(frames, pml4):
    assert paging.map(pml4, KERNEL_VIRT, 0x9000, PAGE_WRITE, frames) == 0
    assert paging.map(pml4, USER_VIRT, 0xa000, PAGE_USER, frames) == 0
    assert paging.protect(pml4, KERNEL_VIRT, PAGE_USER) == E_INVALID
    assert paging.protect(pml4, USER_VIRT, PAGE_USER | PAGE_GLOBAL) == E_INVALID
    assert paging.get_flags(pml4, KERNEL_VIRT) == PAGE_WRITE
    assert paging.get_flags(pml4, USER_VIRT) == PAGE_USER


@pytest.mark.x86_only
def test_hardware_bit_positions(pte_format):
    assert [PTE_PRESENT, PTE_WRITABLE, PTE_USER, PTE_PWT, PTE_PCD, PTE_ACCESSED,
            PTE_DIRTY, PTE_HUGE, PTE_GLOBAL] == [1 << i for i in range(9)]
    assert PTE_NX == rawmem.to_word(1 << 63) and PTE_NX < 0
    assert PTE_ADDR_MASK == ((1 << 52) - 1) & ~0xfff


@pytest.mark.x86_only
def test_pat_layout_puts_write_combining_at_index_1_and_uncached_at_index_3(pte_format):
    def pat_type(index):
        return (x86_64.PAT_MSR_VALUE >> (8 * index)) & 0xff
    assert [pat_type(i) for i in range(8)] == [0x06, 0x01, 0x07, 0x00,
                                               0x06, 0x04, 0x07, 0x00]
    assert x86_64.page_bits(PAGE_WRITE_COMBINING) == PTE_PRESENT | PTE_PWT     # index 1
    assert x86_64.page_bits(PAGE_UNCACHED) == PTE_PRESENT | PTE_PCD | PTE_PWT  # index 3


# ------------------------------------------------------------ protect

@pytest.mark.x86_only
def test_protect_rewrites_the_leaf_bits_and_keeps_frame_and_dirty_bits(frames, pml4):
    tlb = RecordingTlb()
    virt = 0x400000
    assert paging.map(pml4, virt, 0x9000, PAGE_WRITE | PAGE_USER, frames) == 0
    leaf_phys = walk_entries(pml4, virt)[2] & PTE_ADDR_MASK
    rawmem.store_u64(leaf_phys + HHDM + ((virt >> 12) & 511) * 8,
                     paging.leaf_entry(pml4, virt) | PTE_ACCESSED | PTE_DIRTY)
    assert paging.protect(pml4, virt, PAGE_USER | PAGE_NO_EXECUTE, tlb) == 0
    leaf = paging.leaf_entry(pml4, virt)
    assert leaf & PTE_WRITABLE == 0
    assert leaf & PTE_NX and leaf & PTE_USER and leaf & PTE_PRESENT
    assert leaf & (PTE_ACCESSED | PTE_DIRTY) == PTE_ACCESSED | PTE_DIRTY
    assert leaf & PTE_ADDR_MASK == 0x9000
    assert paging.get_flags(pml4, virt) == PAGE_USER | PAGE_NO_EXECUTE
    assert tlb.calls == [virt]


def test_protect_fails_cleanly(frames, pml4):
    assert paging.protect(pml4, 0x5000, PAGE_WRITE) == E_NOT_MAPPED
    assert paging.map(pml4, 0x5000, 0x9000, 0, frames) == 0
    assert paging.protect(pml4, 0x5000, 1 << 30) == E_INVALID
    assert paging.protect(pml4, 0x5008, PAGE_WRITE) == E_ALIGN
    assert paging.get_flags(pml4, 0x5000) == 0


# ------------------------------------------------------------ the TLB hook

def test_unmap_and_protect_tell_the_tlb_map_does_not(frames, pml4):
    tlb = RecordingTlb()
    assert paging.map(pml4, 0x5000, 0x9000, 0, frames) == 0
    assert paging.map_range(pml4, 0x6000, 0xa000, 2 * PAGE_SIZE, 0, frames) == 0
    assert tlb.calls == []
    assert paging.protect(pml4, 0x5000, PAGE_WRITE, tlb) == 0
    assert paging.unmap(pml4, 0x5000, frames, tlb) == 0
    assert paging.unmap_range(pml4, 0x4000, 8 * PAGE_SIZE, frames, tlb) == 0
    # Each page once, then the last one again when the tables it left
    # empty are unlinked (that invalidation drops the paging-structure caches).
    assert tlb.calls == [0x5000, 0x5000, 0x6000, 0x7000, 0x7000]
    assert paging.unmap(pml4, 0x5000, frames, tlb) == E_NOT_MAPPED
    assert len(tlb.calls) == 5


def test_tables_are_freed_only_after_the_tlb_was_told(frames, pml4):
    order = []

    class Tlb(paging.TlbInvalidator):
        def invalidate(self, virt):
            order.append('invalidate')

    free_frame = frames.free_frame
    frames.free_frame = lambda phys: (order.append('free'), free_frame(phys))
    assert paging.map(pml4, 0x5000, 0x9000, 0, frames) == 0
    assert paging.unmap(pml4, 0x5000, frames, Tlb()) == 0
    assert order == ['invalidate', 'free', 'free', 'free']


# ------------------------------------------------------------ out of memory

@pytest.mark.parametrize('budget', [0, 1, 2])
def test_out_of_memory_midway_through_map_changes_nothing(budget, pte_format):
    frames = make_world()
    try:
        pml4 = paging.create_address_space(frames)
        frames.budget = budget                # a new PDPT, PD and PT are needed
        assert paging.map(pml4, 0x12345000, 0x9000, 0, frames) == E_NOMEM
        assert frames.used == 1
        assert all(entry_at(pml4, i) == 0 for i in range(512))
    finally:
        paging.set_hhdm_offset(0)


def test_out_of_memory_below_existing_tables_changes_nothing(frames, pml4):
    assert paging.map(pml4, 0x1000, 0x9000, 0, frames) == 0
    used = frames.used
    frames.budget = 1                         # 0x40000000 needs a new PD and PT
    assert paging.map(pml4, 0x40000000, 0xa000, 0, frames) == E_NOMEM
    assert frames.used == used
    assert count_tables(pml4) == 3
    frames.budget = -1
    assert paging.map(pml4, 0x40000000, 0xa000, 0, frames) == 0


def test_out_of_memory_midway_through_map_range_undoes_it(frames, pml4):
    frames.budget = 4                         # PDPT, PD and two PTs: the third PT fails
    size = 2 * LARGE_PAGE_SIZE + 4 * PAGE_SIZE          # crosses into a third PT
    assert paging.map_range(pml4, 0x1000, 0x100000, size, PAGE_WRITE, frames) == E_NOMEM
    assert frames.used == 1
    assert all(entry_at(pml4, i) == 0 for i in range(512))


def test_a_conflict_midway_through_map_range_undoes_it(frames, pml4):
    assert paging.map(pml4, 0x8000, 0x9000, 0, frames) == 0
    used = frames.used
    assert paging.map_range(pml4, 0x4000, 0x20000, 8 * PAGE_SIZE, 0, frames) == \
        E_ALREADY_MAPPED
    assert frames.used == used
    for virt in range(0x4000, 0xc000, PAGE_SIZE):
        expected = 0x9000 if virt == 0x8000 else E_NOT_MAPPED
        assert paging.translate(pml4, virt) == expected


def test_map_range_undo_invalidates_every_page_it_had_mapped(frames, pml4):
    # The address space may be live: each page mapped and then taken back
    # may sit in the TLB, so the undo must tell the TLB of each.
    assert paging.map(pml4, 0x8000, 0x9000, 0, frames) == 0
    tlb = RecordingTlb()
    assert paging.map_range(pml4, 0x4000, 0x20000, 8 * PAGE_SIZE, 0, frames, tlb) == \
        E_ALREADY_MAPPED
    assert sorted(tlb.calls) == [0x4000, 0x5000, 0x6000, 0x7000]


def test_out_of_memory_in_the_upper_half_loses_no_frame(frames, pml4):
    frames.budget = 3
    size = LARGE_PAGE_SIZE + PAGE_SIZE        # a second PT is needed
    assert paging.map_range(pml4, KERNEL, 0x100000, size, 0, frames) == E_NOMEM
    for offset in range(0, size, PAGE_SIZE):
        assert paging.translate(pml4, KERNEL + offset) == E_NOT_MAPPED
    # What was allocated is either freed or still linked in the kernel half.
    assert frames.used == 1 + count_tables(pml4, 256, 511)


# ------------------------------------------------------------ map_frames

def frame_list(physes):
    """Returns the kernel address of a word array holding physes (in
    simulated memory above the fake allocator's frames)."""
    base = HHDM + 0x4000000
    rawmem.simulated().add_region(base, 8 * max(1, len(physes)))
    for i, phys in enumerate(physes):
        rawmem.store_u64(base + 8 * i, phys)
    return base


def test_map_frames_maps_each_page_to_its_frame_across_page_tables(frames, pml4):
    virt = 2 * LARGE_PAGE_SIZE - 3 * PAGE_SIZE          # three pages, then a second PT
    physes = [0x9000 + 0x3000 * i for i in range(6)]
    assert paging.map_frames(pml4, virt, frame_list(physes), 6, PAGE_WRITE | PAGE_USER,
                             frames) == 0
    for i, phys in enumerate(physes):
        assert paging.translate(pml4, virt + i * PAGE_SIZE + 8) == phys + 8
        assert paging.get_flags(pml4, virt + i * PAGE_SIZE) == PAGE_WRITE | PAGE_USER
    assert count_tables(pml4) == 4                     # PDPT, PD, two PTs
    assert paging.unmap_range(pml4, virt, 6 * PAGE_SIZE, frames) == 0
    assert count_tables(pml4) == 0 and frames.used == 1


def test_map_frames_of_no_page_maps_nothing(frames, pml4):
    assert paging.map_frames(pml4, 0x1000, frame_list([]), 0, 0, frames) == 0
    assert frames.used == 1


def test_map_frames_refuses_what_map_refuses(frames, pml4):
    flist = frame_list([0x9000])
    assert paging.map_frames(pml4, 0x1001, flist, 1, 0, frames) == E_ALIGN
    assert paging.map_frames(pml4, UPPER, flist, 1, PAGE_USER, frames) == E_INVALID
    assert paging.map_frames(pml4, 0x1000, flist, -1, 0, frames) == E_INVALID
    assert paging.map_frames(pml4, 0x1000, frame_list([0x9001]), 1, 0, frames) == E_ALIGN
    assert frames.used == 1


def test_a_conflict_midway_through_map_frames_undoes_it_and_tells_the_tlb(frames, pml4):
    assert paging.map(pml4, 0x8000, 0x9000, 0, frames) == 0
    used = frames.used
    tlb = RecordingTlb()
    physes = [0x20000 + PAGE_SIZE * i for i in range(8)]
    assert paging.map_frames(pml4, 0x4000, frame_list(physes), 8, 0, frames, tlb) == \
        E_ALREADY_MAPPED
    assert frames.used == used
    assert sorted(tlb.calls) == [0x4000, 0x5000, 0x6000, 0x7000]
    for virt in range(0x4000, 0xc000, PAGE_SIZE):
        expected = 0x9000 if virt == 0x8000 else E_NOT_MAPPED
        assert paging.translate(pml4, virt) == expected


def test_out_of_memory_midway_through_map_frames_undoes_it(frames, pml4):
    frames.budget = 4                         # PDPT, PD and two PTs: the third PT fails
    count = 2 * 512 + 4
    physes = [0x100000 + PAGE_SIZE * i for i in range(count)]
    assert paging.map_frames(pml4, 0x1000, frame_list(physes), count, PAGE_WRITE,
                             frames) == E_NOMEM
    assert frames.used == 1
    assert all(entry_at(pml4, i) == 0 for i in range(512))


def test_a_bad_frame_on_a_new_page_table_leaves_no_empty_table(frames, pml4):
    virt = LARGE_PAGE_SIZE - PAGE_SIZE        # the second page needs a new PT
    assert paging.map_frames(pml4, virt, frame_list([0x9000, 0xa001]), 2, 0,
                             frames) == E_ALIGN
    assert frames.used == 1 and count_tables(pml4) == 0


def test_unmap_range_clears_a_run_and_frees_each_emptied_table_once(frames, pml4):
    physes = [0x100000 + PAGE_SIZE * i for i in range(600)]
    assert paging.map_frames(pml4, 0x1000, frame_list(physes), 600, 0, frames) == 0
    assert paging.map(pml4, 0x40000000, 0x9000, 0, frames) == 0    # keeps the PDPT
    tlb = RecordingTlb()
    assert paging.unmap_range(pml4, 0, 0x40000000, frames, tlb) == 0
    assert len(tlb.calls) == 600 + 2           # each page, then per emptied PT
    assert count_tables(pml4) == 3             # PDPT, PD and PT of 0x40000000
    assert paging.translate(pml4, 0x40000000) == 0x9000


# ------------------------------------------------------------ present-entry counts

def count_in(entry):
    """The count of the lower-half table entry names, wherever the format keeps it."""
    return paging._count_of(entry)


def test_each_lower_half_table_entry_counts_the_present_entries_below_it(frames, pml4):
    virt = 0x40000000                                  # PML4 0, PDPT 1, PD 0, PT 0
    assert paging.map(pml4, virt, 0x9000, 0, frames) == 0
    assert paging.map(pml4, virt + PAGE_SIZE, 0x9000, 0, frames) == 0
    assert paging.map(pml4, virt + LARGE_PAGE_SIZE, 0x9000, 0, frames) == 0   # a 2nd PT
    assert paging.map(pml4, 0x1000, 0x9000, 0, frames) == 0                   # a 2nd PD
    e4, e3, e2 = walk_entries(pml4, virt)[:3]
    assert (count_in(e4), count_in(e3), count_in(e2)) == (2, 2, 2)
    assert count_in(walk_entries(pml4, virt + LARGE_PAGE_SIZE)[2]) == 1
    assert paging.wrong_counts(pml4) == 0


def test_a_full_page_table_counts_512_and_is_freed_only_with_its_last_page(frames, pml4):
    physes = [0x100000 + PAGE_SIZE * i for i in range(512)]
    assert paging.map_frames(pml4, 0, frame_list(physes), 512, 0, frames) == 0
    assert count_in(walk_entries(pml4, 0)[2]) == 512
    assert paging.unmap_range(pml4, 0, 511 * PAGE_SIZE, frames) == 0
    assert count_in(walk_entries(pml4, 0)[2]) == 1 and count_tables(pml4) == 3
    assert paging.translate(pml4, 511 * PAGE_SIZE) == physes[511]
    assert paging.unmap(pml4, 511 * PAGE_SIZE, frames) == 0
    assert count_tables(pml4) == 0 and frames.used == 1


def test_the_count_alone_decides_that_a_table_is_empty(frames, pml4):
    # unmap frees a table whose count says 0 without looking at its
    # entries: a count one too high keeps it, whatever the entries say
    assert paging.map(pml4, 0x1000, 0x9000, 0, frames) == 0
    pd = paging.fmt.table_address(walk_entries(pml4, 0x1000)[1])
    paging._add_count(pd, 1)                           # the PD entry naming the PT
    assert paging.wrong_counts(pml4) == 1
    assert paging.unmap(pml4, 0x1000, frames) == 0
    assert count_tables(pml4) == 3                     # the PT stayed, empty
    paging._add_count(pd, -1)                          # the test's own undo
    assert paging.wrong_counts(pml4) == 0


@pytest.mark.x86_only
def test_upper_half_entries_carry_no_count(frames, pml4):
    assert paging.map(pml4, KERNEL, 0x9000, 0, frames) == 0
    assert all(entry & x86_64.COUNT_MASK == 0 for entry in walk_entries(pml4, KERNEL)[:3])


COUNT_OPERATIONS = st.lists(
    st.tuples(st.sampled_from(['frames', 'range', 'large', 'unmap']),
              st.integers(0, 1100), st.integers(1, 700)), max_size=25)


@settings(max_examples=60, deadline=None)
@given(COUNT_OPERATIONS)
def test_counts_stay_exact_through_runs_large_pages_and_failures(pte_format, operations):
    # runs across page tables, 2 MiB pages, refused and half-done maps
    # (E_ALREADY_MAPPED, E_NOMEM undone): after each, every count is exact
    # and exactly the tables that hold something are allocated
    frames = make_world(frames=6)            # PML4, PDPT, PD, 3 of the 4 PTs
    try:
        pml4 = paging.create_address_space(frames)
        physes = frame_list([0x100000 + PAGE_SIZE * i for i in range(700)])
        for kind, page, pages in operations:
            virt = page * PAGE_SIZE
            if kind == 'frames':
                paging.map_frames(pml4, virt, physes, pages, 0, frames, RecordingTlb())
            elif kind == 'range':
                paging.map_range(pml4, virt, 0x200000, pages * PAGE_SIZE, 0, frames,
                                 RecordingTlb())
            elif kind == 'large':
                paging.map_range(pml4, virt & ~(LARGE_PAGE_SIZE - 1), 0x200000,
                                 LARGE_PAGE_SIZE, PAGE_ALLOW_LARGE, frames, RecordingTlb())
            else:
                paging.unmap_range(pml4, virt, pages * PAGE_SIZE, frames, RecordingTlb())
            assert paging.wrong_counts(pml4) == 0
            assert frames.used == 1 + count_tables(pml4)
        paging.unmap_range(pml4, 0, 4 * LARGE_PAGE_SIZE, frames)
        assert paging.wrong_counts(pml4) == 0
        assert frames.used == 1
    finally:
        paging.set_hhdm_offset(0)


# ------------------------------------------------------------ large pages

def test_map_range_uses_2mib_pages_where_aligned_and_allowed(frames, pml4):
    virt = 0x40000000 - PAGE_SIZE             # one 4 KiB page, then 2 MiB ones
    phys = 0x80000000 - PAGE_SIZE
    size = PAGE_SIZE + 2 * LARGE_PAGE_SIZE + 3 * PAGE_SIZE
    flags = PAGE_WRITE | PAGE_NO_EXECUTE | PAGE_ALLOW_LARGE
    assert paging.map_range(pml4, virt, phys, size, flags, frames) == 0
    assert paging.mapping_size(pml4, virt) == PAGE_SIZE
    assert paging.mapping_size(pml4, virt + PAGE_SIZE) == LARGE_PAGE_SIZE
    assert paging.mapping_size(pml4, virt + PAGE_SIZE + LARGE_PAGE_SIZE) == LARGE_PAGE_SIZE
    assert paging.mapping_size(pml4, virt + PAGE_SIZE + 2 * LARGE_PAGE_SIZE) == PAGE_SIZE
    for offset in (0, PAGE_SIZE + 0x1234, LARGE_PAGE_SIZE + 0x5678, size - 1):
        assert paging.translate(pml4, virt + offset) == phys + offset
    assert paging.fmt.is_block(paging.leaf_entry(pml4, 0x40000000))
    assert paging.get_flags(pml4, 0x40000000) == PAGE_WRITE | PAGE_NO_EXECUTE
    # PML4 + 2 PDPT-side tables (one PDPT, PDs for GiB 0 and 1) + 2 PTs
    assert frames.used == 1 + 1 + 2 + 2


def test_map_range_without_the_flag_or_alignment_uses_4kib_pages(frames, pml4):
    assert paging.map_range(pml4, 0x200000, 0x400000, LARGE_PAGE_SIZE, 0, frames) == 0
    assert paging.mapping_size(pml4, 0x200000) == PAGE_SIZE
    assert paging.map_range(pml4, 0x600000, 0x401000, LARGE_PAGE_SIZE,
                            PAGE_ALLOW_LARGE, frames) == 0
    assert paging.mapping_size(pml4, 0x600000) == PAGE_SIZE
    assert paging.translate(pml4, 0x7fffff) == 0x600fff


def test_a_large_page_cannot_overlap_4kib_mappings(frames, pml4):
    assert paging.map(pml4, 0x201000, 0x9000, 0, frames) == 0
    assert paging.map_range(pml4, 0x200000, 0x400000, LARGE_PAGE_SIZE,
                            PAGE_ALLOW_LARGE, frames) == E_ALREADY_MAPPED
    assert paging.map_range(pml4, 0x400000, 0x400000, LARGE_PAGE_SIZE,
                            PAGE_ALLOW_LARGE, frames) == 0
    assert paging.map(pml4, 0x401000, 0x9000, 0, frames) == E_ALREADY_MAPPED


def test_large_pages_are_unmapped_and_protected_whole(frames, pml4):
    tlb = RecordingTlb()
    assert paging.map_range(pml4, 0x200000, 0x400000, LARGE_PAGE_SIZE,
                            PAGE_ALLOW_LARGE, frames) == 0
    assert paging.unmap(pml4, 0x201000, frames, tlb) == E_ALIGN
    assert paging.protect(pml4, 0x201000, PAGE_WRITE, tlb) == E_ALIGN
    assert paging.protect(pml4, 0x200000, PAGE_WRITE, tlb) == 0
    assert paging.fmt.is_block(paging.leaf_entry(pml4, 0x200000))
    assert paging.get_flags(pml4, 0x200000) == PAGE_WRITE
    assert paging.translate(pml4, 0x3fffff) == 0x5fffff
    assert paging.unmap(pml4, 0x200000, frames, tlb) == 0
    assert tlb.calls == [0x200000, 0x200000]
    assert frames.used == 1


def test_a_1gib_page_built_by_hand_translates_and_unmaps(frames, pml4):
    # 1 GiB pages are what a bootloader may leave; map_range never makes them.
    assert paging.map(pml4, 0x1000, 0x9000, 0, frames) == 0      # builds the PDPT
    pdpt = paging.fmt.table_address(walk_entries(pml4, 0x1000)[0])
    fmt = paging.fmt
    rawmem.store_u64(pdpt + HHDM + 1 * 8,
                     fmt.leaf(0x80000000, fmt.block_bits(PAGE_WRITE | PAGE_NO_EXECUTE, 3)))
    # the PDPT has one more present entry: its count says so too
    paging._add_count(pml4, 1)
    assert paging.wrong_counts(pml4) == 0
    virt = HUGE_PAGE_SIZE + 0x12345678
    assert paging.translate(pml4, virt) == 0x80000000 + 0x12345678
    assert paging.mapping_size(pml4, virt) == HUGE_PAGE_SIZE
    assert paging.get_flags(pml4, virt) == PAGE_WRITE | PAGE_NO_EXECUTE
    assert paging.map(pml4, HUGE_PAGE_SIZE + 0x5000, 0x9000, 0, frames) == E_ALREADY_MAPPED
    assert paging.unmap(pml4, HUGE_PAGE_SIZE + PAGE_SIZE, frames) == E_ALIGN
    assert paging.unmap(pml4, HUGE_PAGE_SIZE, frames) == 0
    assert paging.translate(pml4, virt) == E_NOT_MAPPED
    assert paging.translate(pml4, 0x1000) == 0x9000      # its PDPT stays
    assert paging.wrong_counts(pml4) == 0


def test_the_direct_map_of_ram_uses_2mib_pages_in_the_upper_half(frames, pml4):
    ram = 64 << 20
    flags = PAGE_WRITE | PAGE_NO_EXECUTE | PAGE_GLOBAL | PAGE_ALLOW_LARGE
    assert paging.map_range(pml4, HHDM, 0, ram, flags, frames) == 0
    assert frames.used == 1 + 2               # one PDPT, one PD of 32 large entries
    assert paging.translate(pml4, HHDM + 0x3456789) == 0x3456789
    assert paging.get_flags(pml4, HHDM) == PAGE_WRITE | PAGE_NO_EXECUTE | PAGE_GLOBAL


# ------------------------------------------------------------ unmap_range

def test_unmap_range_skips_holes_quickly_over_the_whole_lower_half(frames, pml4):
    for virt in (0x1000, 0x40000000, 0x00007ffffffff000):
        assert paging.map(pml4, virt, 0x9000, 0, frames) == 0
    assert paging.map_range(pml4, 0x200000, 0x200000, LARGE_PAGE_SIZE,
                            PAGE_ALLOW_LARGE, frames) == 0
    assert paging.unmap_range(pml4, 0, paging.HALF_SIZE, frames) == 0
    assert frames.used == 1
    assert paging.unmap_range(pml4, 0, paging.HALF_SIZE + PAGE_SIZE, frames) == E_INVALID


def test_unmap_range_refuses_to_split_a_large_page(frames, pml4):
    assert paging.map(pml4, 0x1ff000, 0x9000, 0, frames) == 0
    assert paging.map_range(pml4, 0x200000, 0x200000, LARGE_PAGE_SIZE,
                            PAGE_ALLOW_LARGE, frames) == 0
    assert paging.unmap_range(pml4, 0x1ff000, 2 * PAGE_SIZE, frames) == E_ALIGN
    assert paging.unmap_range(pml4, 0x3ff000, PAGE_SIZE, frames) == E_ALIGN
    assert paging.translate(pml4, 0x1ff000) == 0x9000          # nothing changed
    assert paging.unmap_range(pml4, 0x1ff000, PAGE_SIZE + LARGE_PAGE_SIZE, frames) == 0
    assert frames.used == 1


def test_range_arguments_are_checked(frames, pml4):
    assert paging.map_range(pml4, 0x1000, 0x9000, 0, 0, frames) == 0
    assert paging.map_range(pml4, 0x1000, 0x9000, -PAGE_SIZE, 0, frames) == E_INVALID
    assert paging.map_range(pml4, 0x1000, 0x9000, 100, 0, frames) == E_ALIGN
    assert paging.map_range(pml4, 0x1000, 0x9001, PAGE_SIZE, 0, frames) == E_ALIGN
    assert paging.map_range(pml4, 0x1000, paging.fmt.MAX_PHYS + 1 - PAGE_SIZE, 2 * PAGE_SIZE,
                            0, frames) == E_INVALID
    assert paging.unmap_range(pml4, 0x1000, 0, frames) == 0
    assert frames.used == 1


# ------------------------------------------------------------ address spaces

def kernel_half_translation(phys):
    """What a process root translates a kernel address to: phys where every
    root carries the kernel half, E_NOT_MAPPED on loongarch64 (its PGDH
    always holds the kernel's root: copy_kernel_half copies nothing)."""
    if paging.fmt.KERNEL_HALF_IN_EVERY_ROOT:
        return phys
    return E_NOT_MAPPED


def test_copy_kernel_half_copies_nothing_where_the_kernel_has_its_own_root_register():
    from elyz.mm.pte import loongarch64, x86_64
    assert loongarch64.KERNEL_HALF_IN_EVERY_ROOT is False
    assert x86_64.KERNEL_HALF_IN_EVERY_ROOT is True


def test_destroy_frees_lower_tables_and_the_pml4_but_not_the_kernel_half(frames, pml4):
    kernel = paging.create_address_space(frames)
    assert paging.map(kernel, KERNEL, 0x9000, 0, frames) == 0
    kernel_frames = frames.used
    paging.copy_kernel_half(pml4, kernel)
    assert paging.translate(pml4, KERNEL) == kernel_half_translation(0x9000)
    assert paging.map(pml4, 0x1000, 0x9000, PAGE_USER, frames) == 0
    assert paging.map(pml4, 0x00007f0000000000, 0xa000, PAGE_USER, frames) == 0
    assert paging.destroy_address_space(pml4, frames) == 0
    assert frames.used == kernel_frames - 1   # minus the process PML4
    assert paging.translate(kernel, KERNEL) == 0x9000


def test_destroy_can_free_the_mapped_frames_too(frames, pml4):
    for virt in (0x1000, 0x2000, 0x40000000):
        assert paging.map(pml4, virt, frames.alloc_frame(), PAGE_USER, frames) == 0
    assert paging.destroy_address_space(pml4, frames, free_frames=True) == 0
    assert frames.used == 0


def test_populate_kernel_half_lets_later_kernel_mappings_reach_every_copy(pte_format):
    frames = make_world(frames=300)
    try:
        kernel = paging.create_address_space(frames)
        assert paging.populate_kernel_half(kernel, frames) == 0
        assert frames.used == 1 + 256
        process = paging.create_address_space(frames)
        paging.copy_kernel_half(process, kernel)
        assert paging.map(kernel, KERNEL, 0x9000, 0, frames) == 0   # after the copy
        assert paging.translate(process, KERNEL) == kernel_half_translation(0x9000)
        assert all(entry_at(process, i) == 0 for i in range(256))
    finally:
        paging.set_hhdm_offset(0)


def test_populate_kernel_half_reports_out_of_memory(pte_format):
    frames = make_world(frames=64)
    try:
        kernel = paging.create_address_space(frames)
        assert paging.populate_kernel_half(kernel, frames) == E_NOMEM
        assert frames.used == 1 + count_tables(kernel, 256, 511)
    finally:
        paging.set_hhdm_offset(0)


# ------------------------------------------------------------ a model check

ADDRESSES = [0x0, 0x1000, 0x1ff000, 0x200000, 0x40000000, 0x8000000000,
             0x00007ffffffff000, UPPER, UPPER + 0x1000, KERNEL,
             rawmem.to_word(0xfffffffffffff000)]
LOWER_COUNT = 7
OPERATIONS = st.lists(st.tuples(st.booleans(), st.integers(0, len(ADDRESSES) - 1),
                                st.integers(0, 15)), max_size=40)


@settings(max_examples=80, deadline=None)
@given(OPERATIONS)
def test_random_maps_and_unmaps_agree_with_a_dict(pte_format, operations):
    frames = make_world(frames=64)
    try:
        pml4 = paging.create_address_space(frames)
        model = {}
        for is_map, i, frame in operations:
            virt = ADDRESSES[i]
            if is_map:
                phys = (frame + 1) * PAGE_SIZE * 7
                expected = E_ALREADY_MAPPED if virt in model else 0
                assert paging.map(pml4, virt, phys, PAGE_WRITE, frames) == expected
                model.setdefault(virt, phys)
            else:
                expected = 0 if virt in model else E_NOT_MAPPED
                assert paging.unmap(pml4, virt, frames) == expected
                model.pop(virt, None)
            for v in ADDRESSES:
                assert paging.translate(pml4, v + 0x10) == \
                    (model[v] + 0x10 if v in model else E_NOT_MAPPED)
            assert frames.used == 1 + count_tables(pml4)
            assert paging.wrong_counts(pml4) == 0
        for virt in list(model):
            assert paging.unmap(pml4, virt, frames) == 0
        assert count_tables(pml4, 0, 255) == 0
        assert frames.used == 1 + count_tables(pml4, 256, 511)
        if not any(i >= LOWER_COUNT for _, i, _ in operations):
            assert frames.used == 1
    finally:
        paging.set_hhdm_offset(0)


# ------------------------------------------------------------ valid RPython

class _StackFrames(paging.FrameAllocator):
    def __init__(self):
        self.stack = [0] * 32
        self.count = 0

    def alloc_frame(self):
        if self.count == 0:
            return E_NOMEM
        self.count -= 1
        return self.stack[self.count]

    def free_frame(self, phys):
        self.stack[self.count] = phys
        self.count += 1
        return 0


class _CountingTlb(paging.TlbInvalidator):
    def __init__(self):
        self.count = 0

    def invalidate(self, virt):
        self.count += 1


_frames = _StackFrames()
_tlb = _CountingTlb()


def rpy_create():
    return paging.create_address_space(_frames)


def rpy_destroy(pml4):
    return paging.destroy_address_space(pml4, _frames, True)


def rpy_kernel_half(kernel, process):
    if paging.populate_kernel_half(kernel, _frames) < 0:
        return -1
    paging.copy_kernel_half(process, kernel)
    return 0


def rpy_map(pml4, virt, phys, flags):
    return paging.map(pml4, virt, phys, flags, _frames)


def rpy_map_range(pml4, virt, phys, size, flags):
    return paging.map_range(pml4, virt, phys, size, flags, _frames)


def rpy_map_frames(pml4, virt, frames, count, flags):
    return paging.map_frames(pml4, virt, frames, count, flags, _frames, _tlb)


def rpy_unmap(pml4, virt):
    return paging.unmap(pml4, virt, _frames, _tlb)


def rpy_unmap_no_tlb(pml4, virt):
    return paging.unmap(pml4, virt, _frames)


def rpy_unmap_range(pml4, virt, size):
    return paging.unmap_range(pml4, virt, size, _frames, _tlb)


def rpy_protect(pml4, virt, flags):
    return paging.protect(pml4, virt, flags, _tlb)


def rpy_query(pml4, virt):
    paging.set_hhdm_offset(HHDM)
    return (paging.translate(pml4, virt) + paging.mapping_size(pml4, virt) +
            paging.get_flags(pml4, virt) + paging.leaf_entry(pml4, virt))


RPY_ENTRY_POINTS = [
    (rpy_create, []), (rpy_destroy, [int]), (rpy_kernel_half, [int, int]),
    (rpy_map, [int] * 4), (rpy_map_range, [int] * 5), (rpy_map_frames, [int] * 5),
    (rpy_unmap, [int] * 2),
    (rpy_unmap_no_tlb, [int] * 2), (rpy_unmap_range, [int] * 3),
    (rpy_protect, [int] * 3), (rpy_query, [int] * 2),
]


def test_paging_is_valid_freestanding_rpython_and_allocates_no_gc_memory(pte_format):
    # paging.fmt is read by the annotator like any global: swapped for
    # pte_format, the graphs are those of a kernel built for that KARCH
    t = rtype_allocation_free(RPY_ENTRY_POINTS, module_prefix=paging.__name__, unoptimised=True)
    paging_graphs = [g for g in t.graphs
                     if getattr(getattr(g, 'func', None), '__module__', None) == paging.__name__]
    assert len(paging_graphs) > 20
    format_modules = set(getattr(getattr(g, 'func', None), '__module__', None) for g in t.graphs)
    assert pte_format.__name__ in format_modules
    assert not (format_modules & set(m.__name__ for m in map(pte.by_name, pte.NAMES))
                - set([pte_format.__name__]))
