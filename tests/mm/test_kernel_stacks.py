"""Kernel stacks of processes (elyz.mm.kernel_stacks) over the simulated
machine of tests/obj/conftest.py, its kernel page table recorded as
kernel_space's.  Kernel-half page tables, once made, stay by design
(init.report_leaks counts them apart): frame accounting adds them back."""

import pytest

from elyz.abi.limits import MAX_PROCESSES, PAGE_SIZE
from elyz.mm import kernel_space, kernel_stacks, paging
from elyz.mm.pmm import pmm
from elyz.rlib_kernel import rawmem
from tests.kernel.conftest import drain_frames, give_back, kernel_table_frames
from tests.obj.conftest import make_world, reset_objects

STACK_PAGES = kernel_stacks.STACK_PAGES
GUARD_PAGES = kernel_stacks.GUARD_PAGES


@pytest.fixture
def world():
    w = make_world()
    kernel_space._space.pml4 = w.kernel_pml4
    yield w
    reset_objects()
    pmm.reset()
    paging.set_hhdm_offset(0)
    kernel_space.reset_for_tests()


def accounted(world):
    """Free frames plus the kernel half's page tables."""
    return pmm.frames_free + kernel_table_frames(world.kernel_pml4)


def stack_pages(slot):
    return [kernel_stacks.bottom(slot) + i * PAGE_SIZE for i in range(STACK_PAGES)]


def guard_pages(slot):
    return [kernel_stacks.bottom(slot) - (i + 1) * PAGE_SIZE for i in range(GUARD_PAGES)]


def mapped(world, virt):
    return paging.translate(world.kernel_pml4, virt) >= 0


# ------------------------------------------------------------ layout

def test_slots_tile_the_region_guard_then_stack():
    for slot in range(MAX_PROCESSES):
        assert kernel_stacks.top(slot) - kernel_stacks.bottom(slot) == kernel_stacks.STACK_SIZE
        assert kernel_stacks.bottom(slot) - GUARD_PAGES * PAGE_SIZE == \
            kernel_stacks.REGION + slot * kernel_stacks.SLOT_SIZE
        if slot > 0:
            assert kernel_stacks.top(slot - 1) == \
                kernel_stacks.bottom(slot) - GUARD_PAGES * PAGE_SIZE
    assert kernel_stacks.STACK_SIZE == STACK_PAGES * PAGE_SIZE == 16 * 1024
    assert kernel_stacks.top(MAX_PROCESSES - 1) < 0          # all in the kernel half


# ------------------------------------------------------------ create and destroy

def test_create_maps_stack_pages_pages_below_the_top_it_returns(world):
    frames = pmm.frames_free
    top = kernel_stacks.create(3)
    assert top == kernel_stacks.top(3)
    physes = [paging.translate(world.kernel_pml4, v) for v in stack_pages(3)]
    assert all(p >= 0 for p in physes) and len(set(physes)) == STACK_PAGES
    for virt in stack_pages(3):
        flags = paging.get_flags(world.kernel_pml4, virt)
        assert flags & paging.PAGE_WRITE and flags & paging.PAGE_NO_EXECUTE
        assert flags & paging.PAGE_GLOBAL and not flags & paging.PAGE_USER
    assert not mapped(world, kernel_stacks.top(3))
    assert pmm.frames_free <= frames - STACK_PAGES


def test_the_guard_pages_below_a_stack_stay_unmapped(world):
    for slot in (0, 1, 2):
        assert kernel_stacks.create(slot) != 0
    for slot in (0, 1, 2):
        for virt in guard_pages(slot):
            assert not mapped(world, virt)


def test_the_stack_is_writable_memory_of_its_own(world):
    top = kernel_stacks.create(0)
    phys = paging.translate(world.kernel_pml4, top - 8)
    rawmem.store_u64(pmm.phys_to_virt(phys), 0x1122334455667788)
    assert rawmem.load_u64(pmm.phys_to_virt(phys)) == 0x1122334455667788


def test_destroy_gives_every_frame_back(world):
    before = accounted(world)
    assert kernel_stacks.create(5) != 0
    kernel_stacks.destroy(5)
    assert accounted(world) == before
    assert not any(mapped(world, v) for v in stack_pages(5))
    frames = pmm.frames_free                                  # tables made: now exact
    assert kernel_stacks.create(5) != 0
    kernel_stacks.destroy(5)
    assert pmm.frames_free == frames


def test_destroy_of_a_slot_without_a_stack_changes_nothing(world):
    assert kernel_stacks.create(0) != 0
    frames = pmm.frames_free
    kernel_stacks.destroy(1)
    assert pmm.frames_free == frames and all(mapped(world, v) for v in stack_pages(0))


def test_every_slot_gets_a_stack_and_gives_it_back(world):
    before = accounted(world)
    for slot in range(MAX_PROCESSES):
        assert kernel_stacks.create(slot) == kernel_stacks.top(slot)
    for slot in range(MAX_PROCESSES):
        kernel_stacks.destroy(slot)
    assert accounted(world) == before


# ------------------------------------------------------------ running out

@pytest.mark.parametrize('frames_left', range(STACK_PAGES + 2))
def test_create_fails_cleanly_wherever_the_frames_run_out(world, frames_left):
    """A fresh region needs a page directory and a page table besides the
    stack's frames: every shortage, at a table or at a page, gives back
    what was taken and returns 0."""
    hoard = drain_frames(frames_left)
    before = accounted(world)
    assert kernel_stacks.create(7) == 0
    assert accounted(world) == before
    assert not any(mapped(world, v) for v in stack_pages(7))
    give_back(hoard)
    assert kernel_stacks.create(7) == kernel_stacks.top(7)


def test_a_fresh_region_needs_the_stack_pages_and_two_tables(world):
    hoard = drain_frames(STACK_PAGES + 2)
    assert kernel_stacks.create(7) == kernel_stacks.top(7)
    assert pmm.frames_free == 0
    give_back(hoard)


def test_create_with_tables_made_fails_cleanly_at_each_page(world):
    assert kernel_stacks.create(0) != 0                       # the region's tables
    for frames_left in range(STACK_PAGES):
        hoard = drain_frames(frames_left)
        assert kernel_stacks.create(1) == 0
        assert pmm.frames_free == frames_left
        assert not any(mapped(world, v) for v in stack_pages(1))
        give_back(hoard)


# ------------------------------------------------------------ guard_hit

def test_guard_hit_names_the_slot_whose_guard_holds_the_address():
    for slot in (0, 1, MAX_PROCESSES - 1):
        for virt in guard_pages(slot):
            assert kernel_stacks.guard_hit(virt) == slot
            assert kernel_stacks.guard_hit(virt + PAGE_SIZE - 8) == slot
        assert kernel_stacks.guard_hit(kernel_stacks.bottom(slot) - 1) == slot


@pytest.mark.parametrize('addr', [
    kernel_stacks.bottom(0), kernel_stacks.top(0) - 8, kernel_stacks.bottom(5) + 100,
    kernel_stacks.REGION - 1, kernel_stacks.REGION + MAX_PROCESSES * kernel_stacks.SLOT_SIZE,
    0, 0x1000, 0x00007FFFFFFFF000, rawmem.to_word(0xffffffff80000000),
    rawmem.to_word(0xffff800000000000), -1])
def test_guard_hit_is_minus_1_outside_every_guard(addr):
    assert kernel_stacks.guard_hit(addr) == -1
