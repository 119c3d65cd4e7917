"""The object API (elyz.obj.api), rule by rule: every operation, and every
(operation, error) pair docs/abi.md lists, each a test named after its rule.
A failed operation must change nothing: `snapshot` compares the whole
observable state before and after."""

import pytest

from elyz.abi import limits
from elyz.abi.errors import (E_ALIGN, E_BADDESC, E_DEAD, E_EXITED, E_INVALID, E_KIND,
                             E_LIMIT, E_NOMEM, E_NOSLOTS, E_NOT_MAPPED, E_OVERLAP, E_RANGE,
                             E_RIGHTS)
from elyz.abi.rights import (KIND_MEMORY, KIND_PROCESS, MEMORY_RIGHTS, PROCESS_RIGHTS,
                             PROT_EXEC, PROT_READ, PROT_WRITE, RIGHT_BORROW, RIGHT_CLONE,
                             RIGHT_EXEC, RIGHT_GIVE, RIGHT_MAP, RIGHT_READ, RIGHT_TRANSFER,
                             RIGHT_WAIT, RIGHT_WRITE, STRENGTH_STRONG, STRENGTH_WEAK)
from elyz.lib import clock
from elyz.mm import address_space, heap
from elyz.obj import api, lease, mapping, memory, process, table
from elyz.rlib_kernel import cpu, rawmem
from tests.obj.conftest import HHDM

PAGE = limits.PAGE_SIZE
VA = 0x400000
RW = PROT_READ | PROT_WRITE
ALL = MEMORY_RIGHTS


def spawn():
    return process.get(api.spawn(None, 0))


def describe(proc, desc):
    out = api.Description()
    assert api.describe(proc, desc, out) == 0
    return out


def snapshot(world, *procs):
    """Everything a failed operation must leave as it was."""
    state = [world.frames_free(), heap.kernel_heap.bytes_in_use, memory.records_in_use(),
             process.records_in_use(), mapping.count_in_use(), lease.queued()]
    for proc in procs:
        state.append(proc.slots_used)
        for va in range(VA, VA + 16 * PAGE, PAGE):
            state.append(address_space.translate(proc.space, va) if proc.space else None)
    return state


def tick(n=1):
    for i in range(n):
        clock.tick()
        api.expire_leases(clock.ticks())


@pytest.fixture
def proc(world):
    return spawn()


# ------------------------------------------------------------ allocate

def test_allocate_gives_a_strong_descriptor_to_zeroed_whole_pages(world, proc):
    desc = api.allocate(proc, PAGE + 1, ALL)
    assert desc > 0
    info = describe(proc, desc)
    assert (info.kind, info.strength, info.rights, info.size) == \
        (KIND_MEMORY, STRENGTH_STRONG, ALL, 2 * PAGE)
    assert (info.strong, info.weak, info.dead, info.expiry) == (1, 0, False, 0)
    obj = memory.get(0)
    for page in range(2):
        virt = memory.frame(obj, page) + HHDM
        assert all(rawmem.load_u64(virt + i) == 0 for i in range(0, PAGE, 8))


def test_allocate_takes_its_frames_from_the_pmm_and_release_gives_them_back(world, proc):
    before = world.frames_free()
    desc = api.allocate(proc, 3 * PAGE, ALL)
    assert world.frames_free() <= before - 3
    assert memory.live_frames() == 3
    assert api.release(proc, desc) == 0
    assert memory.live_frames() == 0


@pytest.mark.parametrize('size', [0, -1, -PAGE])
def test_allocate_refuses_a_size_that_is_not_positive(world, proc, size):
    before = snapshot(world, proc)
    assert api.allocate(proc, size, ALL) == E_INVALID
    assert snapshot(world, proc) == before


def test_allocate_refuses_a_size_above_the_limit(world, proc):
    assert api.allocate(proc, limits.MAX_OBJECT_SIZE + 1, ALL) == E_LIMIT


def test_allocate_refuses_rights_a_memory_object_cannot_carry(world, proc):
    assert api.allocate(proc, PAGE, RIGHT_WAIT) == E_INVALID
    assert api.allocate(proc, PAGE, 1 << 40) == E_INVALID


def test_allocate_fails_cleanly_when_frames_run_out(world, proc):
    before = snapshot(world, proc)
    assert api.allocate(proc, (world.frames_free() + 1) * PAGE, ALL) == E_NOMEM
    assert snapshot(world, proc) == before


def test_allocate_fails_with_no_slots_when_the_table_is_full(world, proc):
    descs = [api.allocate(proc, PAGE, ALL) for i in range(limits.DESCRIPTOR_SLOTS)]
    assert all(d > 0 for d in descs)
    before = snapshot(world, proc)
    assert api.allocate(proc, PAGE, ALL) == E_NOSLOTS
    assert snapshot(world, proc) == before


# ------------------------------------------------------------ descriptor values

def test_a_released_value_is_refused_even_after_its_slot_is_reused(world, proc):
    old = api.allocate(proc, PAGE, ALL)
    assert api.release(proc, old) == 0
    new = api.allocate(proc, PAGE, ALL)
    assert new % limits.DESCRIPTOR_SLOTS == old % limits.DESCRIPTOR_SLOTS   # same slot
    assert new != old
    out = api.Description()
    assert api.describe(proc, old, out) == E_BADDESC
    assert api.release(proc, old) == E_BADDESC
    assert describe(proc, new).strong == 1


@pytest.mark.parametrize('value', [0, -1, 1, limits.DESCRIPTOR_SLOTS - 1, 1 << 62, -(1 << 62)])
def test_values_that_never_were_descriptors_are_refused(world, proc, value):
    api.allocate(proc, PAGE, ALL)
    for call in (lambda: api.release(proc, value), lambda: api.clone(proc, value, 0),
                 lambda: api.borrow(proc, value, 0), lambda: api.map(proc, value, VA, 0, PAGE, RW),
                 lambda: api.describe(proc, value, api.Description())):
        assert call() == E_BADDESC


def test_a_descriptor_of_another_process_means_nothing_here(world, proc):
    other = spawn()
    desc = api.allocate(other, PAGE, ALL)
    assert api.release(proc, desc) == E_BADDESC


# ------------------------------------------------------------ clone

def test_clone_makes_a_second_strong_reference_with_fewer_rights(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    copy = api.clone(proc, desc, RIGHT_READ | RIGHT_MAP)
    assert copy > 0 and copy != desc
    info = describe(proc, copy)
    assert (info.strength, info.rights, info.strong) == (STRENGTH_STRONG,
                                                         RIGHT_READ | RIGHT_MAP, 2)


def test_clone_cannot_add_rights(world, proc):
    desc = api.allocate(proc, PAGE, RIGHT_READ | RIGHT_CLONE)
    before = snapshot(world, proc)
    assert api.clone(proc, desc, RIGHT_READ | RIGHT_WRITE) == E_RIGHTS
    assert snapshot(world, proc) == before


def test_clone_needs_the_clone_right(world, proc):
    desc = api.allocate(proc, PAGE, RIGHT_READ)
    assert api.clone(proc, desc, RIGHT_READ) == E_RIGHTS


def test_clone_of_a_lease_is_a_lease_with_the_same_expiry(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    loan = api.borrow(proc, desc, 5)
    copy = api.clone(proc, loan, ALL)
    info = describe(proc, copy)
    assert (info.strength, info.expiry, info.weak) == (STRENGTH_WEAK, 5, 2)
    tick(5)
    assert describe(proc, copy).dead


def test_the_last_strong_clone_keeps_the_object_alive(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    copy = api.clone(proc, desc, ALL)
    assert api.release(proc, desc) == 0
    assert describe(proc, copy).dead is False
    assert api.map(proc, copy, VA, 0, PAGE, RW) == 0


# ------------------------------------------------------------ borrow and leases

def test_borrow_makes_a_weak_lease_that_never_keeps_the_object_alive(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    loan = api.borrow(proc, desc, 0)
    info = describe(proc, loan)
    assert (info.strength, info.strong, info.weak, info.expiry) == (STRENGTH_WEAK, 1, 1, 0)
    assert api.release(proc, desc) == 0
    assert describe(proc, loan).dead
    assert memory.live_frames() == 0


def test_borrow_needs_the_borrow_right(world, proc):
    desc = api.allocate(proc, PAGE, ALL & ~RIGHT_BORROW)
    assert api.borrow(proc, desc, 0) == E_RIGHTS


def test_borrow_refuses_a_negative_or_too_long_duration(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    assert api.borrow(proc, desc, -1) == E_INVALID
    assert api.borrow(proc, desc, limits.MAX_LEASE_TICKS + 1) == E_LIMIT


def test_a_lease_expires_after_its_duration_and_its_mappings_go(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    loan = api.borrow(proc, desc, 3)
    assert api.map(proc, loan, VA, 0, PAGE, RW) == 0
    tick(2)
    assert address_space.translate(proc.space, VA) >= 0
    tick(1)
    assert describe(proc, loan).dead
    assert address_space.translate(proc.space, VA) == E_NOT_MAPPED
    assert api.map(proc, loan, VA, 0, PAGE, RW) == E_DEAD
    assert api.clone(proc, loan, 0) == E_DEAD
    assert describe(proc, desc).dead is False          # the object lives on


def test_an_expired_lease_keeps_its_slot_until_released(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    loan = api.borrow(proc, desc, 1)
    tick()
    assert describe(proc, desc).weak == 1
    assert api.release(proc, loan) == 0
    assert describe(proc, desc).weak == 0


def test_a_lease_of_a_lease_never_outlives_it(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    loan = api.borrow(proc, desc, 2)
    sub = api.borrow(proc, loan, 10)
    assert describe(proc, sub).expiry == 2
    forever = api.borrow(proc, loan, 0)
    assert describe(proc, forever).expiry == 2


def test_expiry_work_is_the_expiring_leases_only(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    for i in range(50):
        api.borrow(proc, desc, 1000)
    api.borrow(proc, desc, 1)
    assert lease.queued() == 51
    tick()
    assert lease.queued() == 50
    assert api.expire_leases(clock.ticks()) == 0


def test_releasing_a_lease_takes_it_off_the_expiry_queue(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    loans = [api.borrow(proc, desc, d) for d in (5, 3, 9, 1, 7)]
    assert api.release(proc, loans[1]) == 0
    assert lease.queued() == 4
    tick(9)
    assert [describe(proc, l).dead for l in (loans[0], loans[2], loans[3], loans[4])] == \
        [True] * 4


# ------------------------------------------------------------ map and unmap

def test_map_makes_the_object_pages_visible_in_the_process_space_only(world, proc):
    other = spawn()
    desc = api.allocate(proc, 2 * PAGE, ALL)
    assert api.map(proc, desc, VA, 0, 2 * PAGE, RW) == 0
    obj = memory.get(0)
    assert address_space.translate(proc.space, VA + PAGE) == memory.frame(obj, 1)
    assert address_space.translate(other.space, VA) == E_NOT_MAPPED
    assert address_space.translate(world.kernel_pml4, VA) == E_NOT_MAPPED


def test_map_at_an_offset_maps_the_pages_from_there(world, proc):
    desc = api.allocate(proc, 4 * PAGE, ALL)
    assert api.map(proc, desc, VA, 2 * PAGE, PAGE, PROT_READ) == 0
    assert address_space.translate(proc.space, VA) == memory.frame(memory.get(0), 2)


def test_map_needs_the_map_right(world, proc):
    desc = api.allocate(proc, PAGE, ALL & ~RIGHT_MAP)
    assert api.map(proc, desc, VA, 0, PAGE, PROT_READ) == E_RIGHTS


def test_map_cannot_grant_more_than_the_descriptor_rights(world, proc):
    desc = api.allocate(proc, PAGE, RIGHT_READ | RIGHT_MAP)
    before = snapshot(world, proc)
    assert api.map(proc, desc, VA, 0, PAGE, RW) == E_RIGHTS
    assert api.map(proc, desc, VA, 0, PAGE, PROT_READ | PROT_EXEC) == E_RIGHTS
    assert snapshot(world, proc) == before


def test_map_is_never_writable_and_executable_at_once(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    assert api.map(proc, desc, VA, 0, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC) == E_INVALID


@pytest.mark.parametrize('prot', [0, PROT_WRITE, 1 << 5])
def test_map_refuses_a_protection_without_read_or_with_unknown_bits(world, proc, prot):
    desc = api.allocate(proc, PAGE, ALL)
    assert api.map(proc, desc, VA, 0, PAGE, prot) == E_INVALID


def test_map_sets_the_page_permissions_the_protection_says(world, proc):
    from elyz.mm import paging
    desc = api.allocate(proc, 2 * PAGE, ALL)
    assert api.map(proc, desc, VA, 0, PAGE, PROT_READ | PROT_EXEC) == 0
    assert api.map(proc, desc, VA + PAGE, PAGE, PAGE, RW) == 0
    code = paging.get_flags(proc.space, VA)
    data = paging.get_flags(proc.space, VA + PAGE)
    assert code & paging.PAGE_USER and not code & paging.PAGE_WRITE
    assert not code & paging.PAGE_NO_EXECUTE
    assert data & paging.PAGE_WRITE and data & paging.PAGE_NO_EXECUTE


@pytest.mark.parametrize('vaddr, offset, length', [(VA + 1, 0, PAGE), (VA, 8, PAGE),
                                                   (VA, 0, PAGE - 1)])
def test_map_refuses_unaligned_arguments(world, proc, vaddr, offset, length):
    desc = api.allocate(proc, 2 * PAGE, ALL)
    assert api.map(proc, desc, vaddr, offset, length, PROT_READ) == E_ALIGN


def test_map_refuses_a_zero_length(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    assert api.map(proc, desc, VA, 0, 0, PROT_READ) == E_INVALID


@pytest.mark.parametrize('vaddr', [0, limits.USER_END, rawmem.to_word(0xffff800000000000),
                                   rawmem.to_word(0xffffffff80000000), 1 << 47])
def test_map_refuses_addresses_outside_the_user_half(world, proc, vaddr):
    desc = api.allocate(proc, PAGE, ALL)
    assert api.map(proc, desc, vaddr, 0, PAGE, PROT_READ) == E_RANGE


def test_map_refuses_a_range_that_runs_past_the_user_half(world, proc):
    desc = api.allocate(proc, 2 * PAGE, ALL)
    assert api.map(proc, desc, limits.USER_END - PAGE, 0, 2 * PAGE, PROT_READ) == E_RANGE


@pytest.mark.parametrize('offset, length', [(0, 3 * PAGE), (2 * PAGE, PAGE), (PAGE, 2 * PAGE),
                                            (-PAGE, PAGE)])
def test_map_refuses_a_range_outside_the_object(world, proc, offset, length):
    desc = api.allocate(proc, 2 * PAGE, ALL)
    assert api.map(proc, desc, VA, offset, length, PROT_READ) == E_RANGE


def test_map_refuses_to_overlap_an_existing_mapping(world, proc):
    desc = api.allocate(proc, 4 * PAGE, ALL)
    assert api.map(proc, desc, VA + PAGE, 0, 2 * PAGE, PROT_READ) == 0
    before = snapshot(world, proc)
    for vaddr, length in ((VA, 2 * PAGE), (VA + 2 * PAGE, 2 * PAGE), (VA, 4 * PAGE)):
        assert api.map(proc, desc, vaddr, 0, length, PROT_READ) == E_OVERLAP
    assert snapshot(world, proc) == before


def test_map_of_a_process_descriptor_is_refused(world, proc):
    child = api.spawn(proc, PROCESS_RIGHTS)
    assert api.map(proc, child, VA, 0, PAGE, PROT_READ) == E_KIND


def test_map_of_a_dead_object_through_a_lease_is_refused(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    loan = api.borrow(proc, desc, 0)
    api.release(proc, desc)
    assert api.map(proc, loan, VA, 0, PAGE, PROT_READ) == E_DEAD


def test_unmap_removes_the_pages_and_returns_how_many(world, proc):
    desc = api.allocate(proc, 3 * PAGE, ALL)
    assert api.map(proc, desc, VA, 0, 3 * PAGE, PROT_READ) == 0
    assert api.unmap(proc, VA, 3 * PAGE) == 3
    assert all(address_space.translate(proc.space, VA + i * PAGE) == E_NOT_MAPPED
               for i in range(3))
    assert api.unmap(proc, VA, 3 * PAGE) == 0
    assert mapping.count_in_use() == 0


def test_unmap_of_the_middle_splits_a_mapping(world, proc):
    desc = api.allocate(proc, 3 * PAGE, ALL)
    obj = memory.get(0)
    assert api.map(proc, desc, VA, 0, 3 * PAGE, PROT_READ) == 0
    assert api.unmap(proc, VA + PAGE, PAGE) == 1
    assert address_space.translate(proc.space, VA) == memory.frame(obj, 0)
    assert address_space.translate(proc.space, VA + PAGE) == E_NOT_MAPPED
    assert address_space.translate(proc.space, VA + 2 * PAGE) == memory.frame(obj, 2)
    assert mapping.count_in_use() == 2
    assert api.map(proc, desc, VA + PAGE, PAGE, PAGE, PROT_READ) == 0


def test_unmap_of_a_range_over_several_mappings_trims_each_in_one_call(world, proc):
    desc = api.allocate(proc, 8 * PAGE, ALL)
    obj = memory.get(0)
    for first in (0, 3, 6):                             # pages 0-1, 3-4, 6-7 of VA
        assert api.map(proc, desc, VA + first * PAGE, first * PAGE, 2 * PAGE,
                       PROT_READ) == 0
    assert api.unmap(proc, VA + PAGE, 6 * PAGE) == 4     # pages 1, 3, 4, 6
    mapped = [address_space.translate(proc.space, VA + i * PAGE) >= 0 for i in range(8)]
    assert mapped == [True, False, False, False, False, False, False, True]
    assert address_space.translate(proc.space, VA + 7 * PAGE) == memory.frame(obj, 7)
    assert mapping.count_in_use() == 2
    assert api.unmap(proc, VA, 8 * PAGE) == 2 and mapping.count_in_use() == 0


def test_unmap_that_would_split_with_no_free_record_changes_nothing(world, proc):
    desc = api.allocate(proc, 3 * PAGE, ALL)
    assert api.map(proc, desc, VA, 0, 3 * PAGE, PROT_READ) == 0
    taken = []
    while mapping.free_records() > 0:
        taken.append(mapping._pool.take())
    try:
        before = snapshot(world, proc)
        assert api.unmap(proc, VA + PAGE, PAGE) == E_NOMEM
        assert snapshot(world, proc) == before
        assert api.unmap(proc, VA, PAGE) == 1           # no split: no record needed
    finally:
        for index in taken:
            mapping._pool.give_back(index)
    assert api.unmap(proc, VA + 2 * PAGE, PAGE) == 1


def test_unmap_refuses_unaligned_or_non_user_ranges(world, proc):
    assert api.unmap(proc, VA + 1, PAGE) == E_ALIGN
    assert api.unmap(proc, VA, 0) == E_INVALID
    assert api.unmap(proc, 0, PAGE) == E_RANGE
    assert api.unmap(proc, rawmem.to_word(0xffffffff80000000), PAGE) == E_RANGE


# ------------------------------------------------------------ release and death

def test_release_removes_the_mappings_made_through_that_descriptor_only(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    copy = api.clone(proc, desc, ALL)
    assert api.map(proc, desc, VA, 0, PAGE, PROT_READ) == 0
    assert api.map(proc, copy, VA + PAGE, 0, PAGE, PROT_READ) == 0
    assert api.release(proc, desc) == 0
    assert address_space.translate(proc.space, VA) == E_NOT_MAPPED
    assert address_space.translate(proc.space, VA + PAGE) >= 0


def test_death_removes_every_mapping_in_every_space_and_weak_ones_turn_dead(world, proc):
    other = spawn()
    target = api.grant(proc, other, RIGHT_GIVE, True)
    desc = api.allocate(proc, PAGE, ALL)
    loan = api.borrow(proc, desc, 0)
    moved = api.transfer(proc, api.clone(proc, loan, ALL), target)
    assert api.map(other, moved, VA, 0, PAGE, PROT_READ) == 0
    assert api.map(proc, loan, VA, 0, PAGE, PROT_READ) == 0
    frames = world.frames_free()
    assert api.release(proc, desc) == 0
    assert address_space.translate(proc.space, VA) == E_NOT_MAPPED
    assert address_space.translate(other.space, VA) == E_NOT_MAPPED
    assert describe(other, moved).dead and describe(proc, loan).dead
    assert describe(proc, loan).size == PAGE                 # describe still answers
    assert world.frames_free() > frames
    assert memory.records_in_use() == 1                      # weak ones keep the record
    api.release(proc, loan)
    api.release(other, moved)
    assert memory.records_in_use() == 0


def test_release_of_a_dead_descriptor_frees_its_slot(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    loan = api.borrow(proc, desc, 0)
    api.release(proc, desc)
    used = proc.slots_used
    assert api.release(proc, loan) == 0
    assert proc.slots_used == used - 1


# ------------------------------------------------------------ transfer

def test_transfer_moves_the_descriptor_and_drops_the_callers_mappings(world, proc):
    other = spawn()
    target = api.grant(proc, other, RIGHT_GIVE, True)
    desc = api.allocate(proc, PAGE, ALL)
    assert api.map(proc, desc, VA, 0, PAGE, PROT_READ) == 0
    moved = api.transfer(proc, desc, target)
    assert moved > 0
    assert api.describe(proc, desc, api.Description()) == E_BADDESC
    assert address_space.translate(proc.space, VA) == E_NOT_MAPPED
    info = describe(other, moved)
    assert (info.strong, info.rights, info.dead) == (1, ALL, False)
    assert api.map(other, moved, VA, 0, PAGE, RW) == 0


def test_transfer_of_a_lease_keeps_its_expiry(world, proc):
    other = spawn()
    target = api.grant(proc, other, RIGHT_GIVE, True)
    desc = api.allocate(proc, PAGE, ALL)
    moved = api.transfer(proc, api.borrow(proc, desc, 2), target)
    assert describe(other, moved).expiry == 2
    tick(2)
    assert describe(other, moved).dead


def test_transfer_needs_the_transfer_right(world, proc):
    other = spawn()
    target = api.grant(proc, other, RIGHT_GIVE, True)
    desc = api.allocate(proc, PAGE, ALL & ~RIGHT_TRANSFER)
    assert api.transfer(proc, desc, target) == E_RIGHTS


def test_transfer_needs_the_give_right_on_the_target(world, proc):
    other = spawn()
    target = api.grant(proc, other, RIGHT_WAIT, True)
    desc = api.allocate(proc, PAGE, ALL)
    before = snapshot(world, proc, other)
    assert api.transfer(proc, desc, target) == E_RIGHTS
    assert snapshot(world, proc, other) == before


def test_transfer_to_a_memory_descriptor_is_refused(world, proc):
    desc = api.allocate(proc, PAGE, ALL)
    assert api.transfer(proc, desc, desc) == E_KIND


def test_transfer_to_an_exited_process_fails_and_the_caller_keeps_it(world, proc):
    other = spawn()
    target = api.grant(proc, other, RIGHT_GIVE, True)
    desc = api.allocate(proc, PAGE, ALL)
    assert api.exit(other, 0) == 0
    assert api.transfer(proc, desc, target) == E_EXITED
    assert describe(proc, desc).strong == 1


def test_transfer_to_a_dead_process_through_a_weak_descriptor_fails(world, proc):
    other = spawn()
    target = api.grant(proc, other, RIGHT_GIVE, False)
    desc = api.allocate(proc, PAGE, ALL)
    assert api.exit(other, 0) == 0                    # no strong reference: it dies
    assert api.transfer(proc, desc, target) == E_DEAD
    assert describe(proc, target).dead


def test_transfer_into_a_full_table_fails_and_the_caller_keeps_it(world, proc):
    other = spawn()
    target = api.grant(proc, other, RIGHT_GIVE, True)
    while api.allocate(other, PAGE, ALL) > 0:
        pass
    desc = api.allocate(proc, PAGE, ALL)
    before = snapshot(world, proc, other)
    assert api.transfer(proc, desc, target) == E_NOSLOTS
    assert snapshot(world, proc, other) == before


# ------------------------------------------------------------ processes

def test_spawn_gives_the_parent_a_strong_process_descriptor(world, proc):
    child = api.spawn(proc, RIGHT_WAIT | RIGHT_GIVE)
    info = describe(proc, child)
    assert (info.kind, info.strength, info.state) == (KIND_PROCESS, STRENGTH_STRONG,
                                                      process.STATE_RUNNING)
    assert info.strong == 2                   # the descriptor and the running state


def test_spawn_refuses_rights_a_process_cannot_carry(world, proc):
    assert api.spawn(proc, RIGHT_MAP) == E_INVALID


def test_exit_releases_every_descriptor_and_frees_the_space(world):
    frames = world.frames_free()
    heap_bytes = heap.kernel_heap.bytes_in_use
    heap_pages = world.heap_pages()
    proc = spawn()
    for i in range(5):
        desc = api.allocate(proc, 2 * PAGE, ALL)
        assert api.map(proc, desc, VA + 2 * i * PAGE, 0, 2 * PAGE, RW) == 0
        api.borrow(proc, desc, 3)
    assert api.exit(proc, 7) == 0
    assert world.frames_free() == frames - (world.heap_pages() - heap_pages)
    assert heap.kernel_heap.bytes_in_use == heap_bytes
    assert (memory.records_in_use(), process.records_in_use(), mapping.count_in_use(),
            lease.queued()) == (0, 0, 0, 0)


def test_exit_of_a_process_leaves_no_mapping_of_its_objects_in_other_spaces(world):
    # The exiting space's own pages are not unmapped one by one (its tables
    # go whole), but an object dying with it leaves every other space.
    owner = spawn()
    other = spawn()
    desc = api.allocate(owner, 2 * PAGE, ALL)
    lent = api.borrow(owner, desc, 0)
    assert api.map(owner, desc, VA, 0, 2 * PAGE, RW) == 0
    given = api.transfer(owner, lent, api.grant(owner, other, RIGHT_GIVE, False))
    assert api.map(other, given, VA, 0, 2 * PAGE, RW) == 0
    tables = address_space.table_frames(other.space)
    assert api.exit(owner, 0) == 0
    assert address_space.translate(other.space, VA) == E_NOT_MAPPED
    assert address_space.translate(other.space, VA + PAGE) == E_NOT_MAPPED
    assert address_space.table_frames(other.space) < tables
    assert describe(other, given).dead


def test_an_exited_process_is_a_zombie_with_its_exit_code_while_strong_descriptors_remain(
        world, proc):
    child = api.spawn(proc, RIGHT_WAIT)
    record = process.get(1)
    assert api.exit(record, 42) == 0
    info = describe(proc, child)
    assert (info.state, info.exit_code, info.dead, info.strong) == \
        (process.STATE_EXITED, 42, False, 1)
    assert api.exit(record, 1) == E_EXITED
    assert api.release(proc, child) == 0
    assert process.records_in_use() == 1


def test_processes_holding_each_other_are_reclaimed_once_both_exited(world):
    heap_bytes = heap.kernel_heap.bytes_in_use
    a, b = spawn(), spawn()
    api.grant(a, b, PROCESS_RIGHTS, True)
    api.grant(b, a, PROCESS_RIGHTS, True)
    api.grant(a, a, PROCESS_RIGHTS, True)               # and one to itself
    api.exit(a, 0)
    assert process.records_in_use() == 2                # a is a zombie held by b
    api.exit(b, 0)
    assert process.records_in_use() == 0
    assert heap.kernel_heap.bytes_in_use == heap_bytes


def test_every_api_entry_runs_with_interrupts_off_and_restores_them(world, proc, monkeypatch):
    seen = []
    real_create = memory.create
    monkeypatch.setattr(memory, 'create', lambda size: seen.append(
        cpu.emulated().interrupts_enabled) or real_create(size))
    cpu.emulated().interrupts_enabled = True
    assert api.allocate(proc, PAGE, ALL) > 0
    assert seen == [False] and cpu.emulated().interrupts_enabled


def test_counts_are_refused_at_the_limit(world, proc, monkeypatch):
    monkeypatch.setattr(limits, 'MAX_REFERENCES', 2)
    desc = api.allocate(proc, PAGE, ALL)
    assert api.clone(proc, desc, ALL) > 0
    assert api.clone(proc, desc, ALL) == E_LIMIT


def test_the_free_slot_hint_gives_the_lowest_free_slot_after_any_release(world):
    p = process.get(api.spawn(None, 0))
    values = [api.allocate(p, PAGE, RIGHT_READ) for _ in range(6)]
    for i in (4, 1, 3):
        assert api.release(p, values[i]) == 0
    assert [api.allocate(p, PAGE, RIGHT_READ) % limits.DESCRIPTOR_SLOTS
            for _ in range(4)] == [1, 3, 4, 6]


def test_a_release_after_a_transfer_finds_no_stale_mapping_flag(world):
    a = process.get(api.spawn(None, 0))
    b = process.get(api.spawn(None, 0))
    desc = api.allocate(a, PAGE, MEMORY_RIGHTS)
    assert api.map(a, desc, 0x40000000, 0, PAGE, PROT_READ) == 0
    target = api.grant(a, b, PROCESS_RIGHTS, True)
    moved = api.transfer(a, desc, target)
    slot = table.slot_of(b.table, moved)
    assert not table.read(b.table, slot, table.FLAGS) & table.FLAG_MAPPED
    assert api.map(b, moved, 0x40000000, 0, PAGE, PROT_READ) == 0
    assert table.read(b.table, slot, table.FLAGS) & table.FLAG_MAPPED
    assert api.release(b, moved) == 0
    assert mapping.count_in_use() == 0
