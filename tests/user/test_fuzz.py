"""The fuzzer's pure parts, untranslated (CPython): its random numbers, its
model of a descriptor table, and the arguments its generators make (the
booted fuzzer is tests/toolchain/test_fuzz.py)."""

import pytest
from rpython.rtyper.lltypesystem import rffi

from elyz.abi import errors, limits, syscalls
from elyz.abi.errors import E_ALIGN, E_INVALID, E_RANGE
from user import fuzz

SLOTS = limits.DESCRIPTOR_SLOTS
PAGE = limits.PAGE_SIZE


@pytest.fixture
def fuzzer():
    f = fuzz.Fuzzer('test', 12345, 1, 1000, 0, 4)
    yield f
    f.free_buffers()


def test_random_is_splitmix64():
    # The reference outputs of splitmix64 from state 0.
    r = fuzz.Random(0)
    assert [r.next() for _ in range(2)] == [0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4]


def test_the_same_seed_gives_the_same_numbers_and_another_seed_others():
    a, b, c = fuzz.Random(7), fuzz.Random(7), fuzz.Random(8)
    first = [a.word() for _ in range(100)]
    assert first == [b.word() for _ in range(100)]
    assert first != [c.word() for _ in range(100)]
    assert all(-2 ** 63 <= w < 2 ** 63 for w in first)


def test_below_stays_below_and_reaches_every_value():
    r = fuzz.Random(3)
    seen = set(r.below(10) for _ in range(1000))
    assert seen == set(range(10))


def test_each_process_gets_its_own_seed():
    seeds = [fuzz.derive_seed(1, i) for i in range(100)]
    assert len(set(seeds)) == 100
    assert all(0 <= s <= fuzz.SEED_MASK for s in seeds)
    assert seeds == [fuzz.derive_seed(1, i) for i in range(100)]


def test_the_allowed_errors_are_those_of_the_abi_table():
    for name, codes in syscalls.ERRORS.items():
        if name == 'exit':
            continue
        mask = getattr(fuzz, 'M_' + name.upper())
        assert mask == sum(1 << -getattr(errors, code) for code in codes), name


def test_a_fresh_table_knows_no_value():
    t = fuzz.Table()
    assert t.classify(SLOTS + 5) == fuzz.UNKNOWN        # the runtime's, or moved in
    assert t.classify(5) == fuzz.BAD                    # generation 0
    assert t.classify(-1) == fuzz.BAD
    assert t.classify(2 * SLOTS + 5) == fuzz.BAD        # a generation not issued yet
    assert t.classify(limits.DESCRIPTOR_GENERATION_LIMIT * SLOTS) == fuzz.BAD


def test_a_released_value_stays_stale_when_its_slot_is_reused():
    t = fuzz.Table()
    t.note_new(SLOTS + 5)
    assert t.classify(SLOTS + 5) == fuzz.MINE
    assert t.classify(2 * SLOTS + 5) == fuzz.BAD
    t.note_gone(SLOTS + 5)
    assert t.classify(SLOTS + 5) == fuzz.STALE
    assert t.classify(2 * SLOTS + 5) == fuzz.UNKNOWN    # the slot's next occupant
    t.note_new(2 * SLOTS + 5)
    assert t.classify(SLOTS + 5) == fuzz.STALE
    assert t.classify(2 * SLOTS + 5) == fuzz.MINE


def test_a_runtime_slot_is_never_mine():
    t = fuzz.Table()
    t.note_runtime(3)
    assert t.classify(SLOTS + 3) == fuzz.UNKNOWN
    assert t.value_of(3) == SLOTS + 3


@pytest.mark.parametrize('vaddr, length, error', [
    (fuzz.WINDOW, PAGE, 0),
    (fuzz.WINDOW + 1, PAGE, E_ALIGN),
    (fuzz.WINDOW, PAGE + 1, E_ALIGN),
    (fuzz.WINDOW, 0, E_INVALID),
    (fuzz.WINDOW, -PAGE, E_INVALID),
    (0, PAGE, E_RANGE),
    (fuzz.KERNEL_BASE, PAGE, E_RANGE),
    (fuzz.NONCANONICAL, PAGE, E_RANGE),
    (limits.USER_END - PAGE, PAGE, 0),
    (limits.USER_END - PAGE, 2 * PAGE, E_RANGE),
    (fuzz.WINDOW, (2 ** 63 - 1) & ~(PAGE - 1), E_RANGE),      # would wrap
])
def test_range_error_follows_the_abi_order(vaddr, length, error):
    assert fuzz.range_error(vaddr, length) == error


@pytest.mark.parametrize('vaddr, length, safe', [
    (fuzz.WINDOW, 8 * PAGE, True),
    (fuzz.LOW, PAGE, True),
    (fuzz.TOP, fuzz.TOP_PAGES * PAGE, True),
    (0x400000, PAGE, False),                  # the image
    (0x10000000, PAGE, False),                # the GC heap
    (0x7FF000000000 - PAGE, PAGE, False),     # the stack
    (fuzz.LOW, 0x400000, False),              # from an arena into the image
])
def test_only_the_arenas_are_safe(vaddr, length, safe):
    assert fuzz.is_safe_range(vaddr, length) == safe


def test_every_range_the_generator_makes_is_refused_or_in_an_arena(fuzzer):
    accepted = 0
    for _ in range(20000):
        vaddr, length = fuzzer.pick_range()
        if fuzz.range_error(vaddr, length) == 0:
            accepted += 1
            assert fuzz.is_safe_range(vaddr, length), (hex(vaddr), hex(length))
    assert 10000 < accepted < 20000


def test_bad_descriptors_are_stale_or_bad(fuzzer):
    fuzzer.table.note_new(SLOTS + 9)
    fuzzer.table.note_gone(SLOTS + 9)
    fuzzer.stale.append(SLOTS + 9)
    kinds = set()
    for _ in range(5000):
        kind = fuzzer.table.classify(fuzzer.bad_desc())
        assert kind in (fuzz.STALE, fuzz.BAD)
        kinds.add(kind)
    assert kinds == set([fuzz.STALE, fuzz.BAD])


def test_bad_addresses_are_outside_the_user_half(fuzzer):
    for _ in range(5000):
        addr = fuzzer.bad_address()
        assert not fuzz.user_range_ok(addr, 1)


def test_pointers_into_unmapped_arenas_and_the_image_fault(fuzzer):
    write = True
    assert fuzzer.pointer_state(fuzzer.buf, 88, write) == fuzz.P_OK
    assert fuzzer.pointer_state(fuzz.WINDOW, 88, write) == fuzz.P_FAULT
    assert fuzzer.pointer_state(fuzz.IMAGE_PAGE, 88, write) == fuzz.P_FAULT
    assert fuzzer.pointer_state(0x10000000, 88, write) == fuzz.P_MAYBE    # the runtime's
    assert fuzzer.pointer_state(fuzz.KERNEL_BASE, 88, write) == fuzz.P_FAULT
    assert fuzzer.pointer_state(fuzz.KERNEL_BASE, 0, write) == fuzz.P_FAULT
    assert fuzzer.pointer_state(fuzz.WINDOW, 0, write) == fuzz.P_OK


def test_a_mapping_through_a_strong_descriptor_is_stable_and_splits_on_unmap(fuzzer):
    obj = fuzz.Obj(fuzz.KIND_MEMORY, 4, True)
    h = fuzzer.add(SLOTS + 20, obj, fuzz.MEMORY_RIGHTS, True, 0)
    fuzzer.maps.append(fuzz.Mapping(fuzz.WINDOW, 4, h, 0, fuzz.PROT_READ))
    assert fuzzer.pointer_state(fuzz.WINDOW + PAGE, 88, False) == fuzz.P_OK
    assert fuzzer.pointer_state(fuzz.WINDOW + PAGE, 88, True) == fuzz.P_FAULT
    assert fuzzer.overlap(fuzz.WINDOW + PAGE, 8 * PAGE) == (3, 0)
    fuzzer.cut(fuzz.WINDOW + PAGE, PAGE)
    assert [(m.start, m.pages, m.first) for m in fuzzer.maps] == [
        (fuzz.WINDOW, 1, 0), (fuzz.WINDOW + 2 * PAGE, 2, 2)]
    fuzzer.released(h)
    assert obj.dead and fuzzer.maps == []
    assert fuzzer.table.classify(SLOTS + 20) == fuzz.STALE


def test_a_lease_is_dead_once_the_clock_reads_its_expiry(fuzzer):
    obj = fuzz.Obj(fuzz.KIND_MEMORY, 1, True)
    strong = fuzzer.add(SLOTS + 1, obj, fuzz.MEMORY_RIGHTS, True, 0)
    lease = fuzzer.add(SLOTS + 2, obj, fuzz.MEMORY_RIGHTS, False, 50)
    weak = fuzzer.add(SLOTS + 3, obj, fuzz.MEMORY_RIGHTS, False, 0)
    assert fuzzer.dead_state(strong) == fuzz.ALIVE
    assert fuzzer.dead_state(weak) == fuzz.ALIVE        # the strong one keeps it
    assert fuzzer.dead_state(lease) == fuzz.MAYBE       # may expire any time
    fuzzer.advance(50)
    assert fuzzer.dead_state(lease) == fuzz.DEAD
    fuzzer.released(strong)
    assert fuzzer.dead_state(weak) == fuzz.DEAD


def test_a_new_value_that_was_mine_before_is_a_failure(fuzzer):
    fuzzer.add(SLOTS + 4, fuzz.Obj(fuzz.KIND_MEMORY, 1, True), 0, True, 0)
    assert not fuzzer.failed
    fuzzer.add(SLOTS + 4, fuzz.Obj(fuzz.KIND_MEMORY, 1, True), 0, True, 0)
    assert fuzzer.failed


# ------------------------------------------------------------ the channel model

def channel(f, first):
    """A channel the model made: two strong endpoints, values first and first + 1."""
    a = f.new_obj(fuzz.KIND_CHANNEL, 0, True)
    b = f.new_obj(fuzz.KIND_CHANNEL, 0, True)
    a.peer, b.peer = b, a
    ends = [f.add(first, a, fuzz.CHANNEL_RIGHTS, True, 0),
            f.add(first + 1, b, fuzz.CHANNEL_RIGHTS, True, 0)]
    f.sweep()
    return ends


def sent(f, through, length, passed):
    for i, h in enumerate(passed):
        rffi.cast(rffi.LONGP, f.buf)[i] = h.value
    f.sent(through, f.data_ptr, length, 7, len(passed))


def expected(f):
    errs = set(name for code, name in enumerate(errors.NAMES) if (f.x_errs >> code) & 1)
    return (f.x_lo, f.x_hi) if f.x_ok else None, errs


def test_an_endpoint_alone_in_its_own_queue_is_dead_and_its_peer_closed(fuzzer):
    a, b = channel(fuzzer, SLOTS + 1)
    sent(fuzzer, a, 0, [b])                 # b waits in b's queue: nothing reaches it
    assert b.obj.dead and not a.obj.dead
    assert fuzzer.peer_state(a.obj) == fuzz.DEAD
    assert b.obj.queue == [] and b.obj.flight_strong == 0
    assert fuzzer.known_messages == 0 and fuzzer.inflight_known == 0


def test_a_pair_in_each_other_s_queues_lives_while_a_clone_reaches_it(fuzzer):
    a, b = channel(fuzzer, SLOTS + 1)
    keep = fuzzer.add(SLOTS + 3, a.obj, fuzz.CHANNEL_RIGHTS, True, 0)
    weak = fuzzer.add(SLOTS + 4, b.obj, fuzz.CHANNEL_RIGHTS, False, 0)
    sent(fuzzer, a, 5, [a])                 # a into b's queue
    sent(fuzzer, b, 6, [b])                 # b into a's queue
    assert not a.obj.dead and not b.obj.dead
    assert fuzzer.dead_state(weak) == fuzz.ALIVE        # keep reaches b through a's queue
    assert a.obj.flight_strong == 1 and b.obj.flight_strong == 1
    fuzzer.released(keep)
    assert a.obj.dead and b.obj.dead
    assert fuzzer.dead_state(weak) == fuzz.DEAD
    assert fuzzer.known_messages == 0 and fuzzer.flight_items == 0


def test_memory_in_a_discarded_message_dies_with_it(fuzzer):
    a, b = channel(fuzzer, SLOTS + 1)
    mem = fuzz.Obj(fuzz.KIND_MEMORY, 1, True)
    page = fuzzer.add(SLOTS + 3, mem, fuzz.MEMORY_RIGHTS, True, 0)
    lease = fuzzer.add(SLOTS + 4, mem, fuzz.MEMORY_RIGHTS, False, 0)
    sent(fuzzer, a, 0, [page])
    assert fuzzer.dead_state(lease) == fuzz.MAYBE and not mem.dead
    fuzzer.released(b)                      # b dies: its queue goes, the page with it
    assert mem.dead and fuzzer.dead_state(lease) == fuzz.DEAD


def test_a_queue_is_known_only_while_nobody_else_holds_either_end(fuzzer):
    a, b = channel(fuzzer, SLOTS + 1)
    mem = fuzz.Obj(fuzz.KIND_MEMORY, 1, True)
    sent(fuzzer, a, 3, [fuzzer.add(SLOTS + 3, mem, fuzz.MEMORY_RIGHTS, True, 0)])
    assert fuzzer.exact(b.obj) and len(b.obj.queue) == 1 and not mem.shared
    fuzzer.moved_away(a)                    # another process may send into b now
    fuzzer.sweep()                          # (as transfer, spawn and send do)
    assert not fuzzer.exact(b.obj) and b.obj.queue == []
    assert mem.shared and mem.strong_elsewhere  # the page may come to anyone
    assert fuzzer.inflight_known == 0 and fuzzer.inflight_unknown == 3 + 48 + 64
    assert not b.obj.dead and fuzzer.peer_state(b.obj) == fuzz.MAYBE


def test_a_receive_from_a_known_queue_expects_exactly_the_next_message(fuzzer):
    a, b = channel(fuzzer, SLOTS + 1)
    data = fuzzer.data_ptr
    fuzzer.expect()
    fuzzer.expect_recv(b, data, 4096, fuzzer.buf, 16)
    assert expected(fuzzer) == (None, {'E_WOULDBLOCK'})
    sent(fuzzer, a, 10, [])
    fuzzer.expect()
    assert fuzzer.expect_recv(b, data, 4096, fuzzer.buf, 16) is b.obj.queue[0]
    assert expected(fuzzer) == ((10, 10), set())
    fuzzer.expect()
    fuzzer.expect_recv(b, data, 9, fuzzer.buf, 16)
    assert expected(fuzzer) == (None, {'E_BUFFER'})
    fuzzer.expect()
    fuzzer.expect_recv(b, data, 4096, fuzzer.buf, -1)
    assert expected(fuzzer) == (None, {'E_INVALID'})
    b.obj.queue[0].items.append(fuzz.Item(a.obj, 0, False, 0, False))
    fuzzer.expect()
    fuzzer.expect_recv(b, data, 4096, fuzzer.buf, 0)
    assert expected(fuzzer) == (None, {'E_BUFFER'})


def test_a_receive_after_the_peer_went_is_closed_once_the_queue_is_empty(fuzzer):
    a, b = channel(fuzzer, SLOTS + 1)
    sent(fuzzer, a, 4, [])
    fuzzer.released(a)
    assert fuzzer.peer_state(b.obj) == fuzz.DEAD
    fuzzer.expect()
    fuzzer.expect_recv(b, fuzzer.data_ptr, 4096, fuzzer.buf, 16)
    assert expected(fuzzer) == ((4, 4), set())
    fuzzer.unqueue(b.obj.queue.pop(0))
    fuzzer.expect()
    fuzzer.expect_recv(b, fuzzer.data_ptr, 4096, fuzzer.buf, 16)
    assert expected(fuzzer) == (None, {'E_CLOSED'})


def test_wait_any_returns_the_first_ready_and_blocks_only_when_one_is_known(fuzzer):
    a, b = channel(fuzzer, SLOTS + 1)
    mem = fuzzer.add(SLOTS + 3, fuzz.Obj(fuzz.KIND_MEMORY, 1, True), fuzz.MEMORY_RIGHTS,
                     True, 0)
    words = rffi.cast(rffi.LONGP, fuzzer.buf)
    words[0], words[1], words[2] = a.value, b.value, mem.value
    fuzzer.expect()
    assert not fuzzer.expect_wait_any(fuzzer.buf, 2, fuzz.RECV_NONBLOCK)
    assert expected(fuzzer) == (None, {'E_WOULDBLOCK'})
    fuzzer.expect()
    assert fuzzer.expect_wait_any(fuzzer.buf, 3, fuzz.RECV_NONBLOCK)
    assert expected(fuzzer) == (None, {'E_KIND'})
    sent(fuzzer, a, 1, [])                  # a message waits in b
    fuzzer.expect()
    assert fuzzer.expect_wait_any(fuzzer.buf, 3, fuzz.RECV_NONBLOCK)
    assert expected(fuzzer) == ((1, 1), set())
    fuzzer.expect()
    assert fuzzer.expect_wait_any(fuzzer.buf, 17, fuzz.RECV_NONBLOCK)
    assert expected(fuzzer) == (None, {'E_INVALID'})
