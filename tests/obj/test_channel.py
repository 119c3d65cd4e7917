"""Channels (elyz.obj.api channel_* over elyz.obj.channel) and the cycle
collector (elyz.obj.collector), untranslated: every error, moving
descriptors, leases in flight, and the shapes of garbage cycles checked
against a reachability oracle."""

import pytest
from hypothesis import given, settings, strategies as st

from elyz.abi import limits
from elyz.abi.errors import (E_BADDESC, E_BUFFER, E_CLOSED, E_DEAD, E_INVALID, E_KIND,
                             E_LIMIT, E_NOSLOTS, E_RIGHTS, E_WOULDBLOCK)
from elyz.abi.rights import (CHANNEL_RIGHTS, KIND_CHANNEL, MEMORY_RIGHTS, PROCESS_RIGHTS,
                             PROT_READ, RIGHT_READ, RIGHT_TRANSFER, RIGHT_WAIT, RIGHT_WRITE,
                             STRENGTH_STRONG, STRENGTH_WEAK)
from elyz.lib import clock
from elyz.mm import address_space, heap
from elyz.obj import api, channel, collector, lease, mapping, memory, process, table
from elyz.rlib_kernel import rawmem
from tests.obj.conftest import HHDM, make_world, reset_objects

PAGE = limits.PAGE_SIZE
VA = 0x40000000
SCRATCH = HHDM + 0x40000000         # simulated kernel scratch, outside the PMM's RAM
DATA = SCRATCH                      # message bytes in (and out at + 0x10000)
VALUES = SCRATCH + 0x20000          # descriptor values in (and out at + 0x1000)
WORD = 8


def spawn():
    return process.get(api.spawn(None, 0))


def add_scratch():
    rawmem.simulated().add_region(SCRATCH, 0x30000)


def pair(proc, rights=CHANNEL_RIGHTS):
    out = api.Pair()
    assert api.channel_create(proc, rights, out) == 0
    return out.first, out.second


def send(proc, ep, data='', descs=()):
    for i, c in enumerate(data):
        rawmem.store_u8(DATA + i, ord(c))
    for i, d in enumerate(descs):
        rawmem.store_u64(VALUES + i * WORD, d)
    return api.channel_send(proc, ep, DATA, len(data), VALUES, len(descs))


def receive(proc, ep, max_length=limits.MAX_MESSAGE_BYTES,
            max_count=limits.MAX_MESSAGE_DESCRIPTORS):
    """Returns (bytes, [values]) or the error."""
    result = api.channel_receive(proc, ep, max_length, max_count, DATA + 0x10000,
                                 VALUES + 0x1000)
    if result < 0:
        return result
    length = result & 0xffffffff
    count = result >> 32
    data = ''.join(chr(rawmem.load_u8(DATA + 0x10000 + i)) for i in range(length))
    return data, [rawmem.load_u64(VALUES + 0x1000 + i * WORD) for i in range(count)]


def describe(proc, desc):
    out = api.Description()
    assert api.describe(proc, desc, out) == 0
    return out


def counts(world):
    return [world.frames_free() + world.heap_pages(), heap.kernel_heap.bytes_in_use,
            memory.records_in_use(),
            channel.records_in_use(), channel.messages_in_use(), api.strong_descriptors(),
            api.weak_descriptors(), api.descriptors_in_flight(), lease.queued(),
            mapping.count_in_use()]


@pytest.fixture
def p(world):
    add_scratch()
    return spawn()


def tick(n=1):
    for i in range(n):
        clock.tick()
        api.expire_leases(clock.ticks())


# ------------------------------------------------------------ basics

def test_create_gives_two_strong_endpoints_of_one_channel(world, p):
    a, b = pair(p, RIGHT_READ | RIGHT_WRITE)
    for d in (a, b):
        info = describe(p, d)
        assert (info.kind, info.strength, info.rights) == (KIND_CHANNEL, STRENGTH_STRONG,
                                                           RIGHT_READ | RIGHT_WRITE)
        assert (info.state, info.exit_code, info.size) == (channel.STATE_OPEN, 0, 0)
    assert channel.records_in_use() == 2


def test_create_refuses_unknown_rights_and_a_table_without_two_slots(world, p):
    out = api.Pair()
    assert api.channel_create(p, CHANNEL_RIGHTS | RIGHT_TRANSFER << 8, out) == E_INVALID
    while api.allocate(p, PAGE, RIGHT_READ) > 0:
        pass
    api.release(p, table.value_of(p.table, 0))
    before = counts(world)
    assert api.channel_create(p, CHANNEL_RIGHTS, out) == E_NOSLOTS
    assert counts(world) == before


def test_bytes_and_descriptors_travel_and_leave_the_sender(world, p):
    q = spawn()
    a, b = pair(p)
    mem = api.allocate(p, PAGE, MEMORY_RIGHTS)
    assert api.map(p, mem, VA, 0, PAGE, PROT_READ) == 0
    lease_ = api.borrow(p, mem, 0)
    target = api.grant(p, q, PROCESS_RIGHTS, True)
    assert api.transfer(p, b, target) > 0
    assert send(p, a, 'hello', [mem, lease_]) == 0
    assert api.describe(p, mem, api.Description()) == E_BADDESC
    assert address_space.translate(p.space, VA) < 0          # its mapping went
    assert api.descriptors_in_flight() == 2
    qb = table.value_of(q.table, 0)
    data, values = receive(q, qb)
    assert data == 'hello' and len(values) == 2
    assert describe(q, values[0]).strength == STRENGTH_STRONG
    assert describe(q, values[0]).rights == MEMORY_RIGHTS
    assert describe(q, values[1]).strength == STRENGTH_WEAK
    assert api.map(q, values[0], VA, 0, PAGE, PROT_READ) == 0
    assert api.descriptors_in_flight() == 0


def test_messages_come_out_in_order_and_describe_counts_them(world, p):
    a, b = pair(p)
    for word in ('one', 'two', 'three'):
        assert send(p, a, word) == 0
    info = describe(p, b)
    assert (info.exit_code, info.size) == (3, 11)
    assert [receive(p, b)[0] for _ in range(3)] == ['one', 'two', 'three']
    assert receive(p, b) == E_WOULDBLOCK


# ------------------------------------------------------------ errors

def test_send_checks_its_arguments_in_order_and_moves_nothing_when_it_fails(world, p):
    a, b = pair(p)
    ro, _ = pair(p, RIGHT_READ | RIGHT_TRANSFER)
    mem = api.allocate(p, PAGE, MEMORY_RIGHTS)
    fixed = api.allocate(p, PAGE, RIGHT_READ)               # no RIGHT_TRANSFER
    weak = api.borrow(p, api.allocate(p, PAGE, MEMORY_RIGHTS), 0)
    api.release(p, table.value_of(p.table, table.slot_of(p.table, weak) - 1))
    before = counts(world)
    assert api.channel_send(p, a, DATA, -1, VALUES, 0) == E_INVALID
    assert api.channel_send(p, a, DATA, 0, VALUES, limits.MAX_MESSAGE_DESCRIPTORS + 1) \
        == E_INVALID
    assert api.channel_send(p, a, DATA, limits.MAX_MESSAGE_BYTES + 1, VALUES, 0) == E_LIMIT
    assert send(p, a + limits.DESCRIPTOR_SLOTS) == E_BADDESC
    assert send(p, mem) == E_KIND
    assert send(p, ro) == E_RIGHTS
    assert send(p, a, 'x', [fixed]) == E_RIGHTS
    assert send(p, a, 'x', [mem + limits.DESCRIPTOR_SLOTS]) == E_BADDESC
    assert send(p, a, 'x', [weak]) == E_DEAD
    assert send(p, a, 'x', [mem, mem]) == E_INVALID
    assert counts(world) == before
    assert describe(p, mem).kind != 0


def test_send_to_a_closed_peer_or_a_full_queue(world, p):
    a, b = pair(p)
    for i in range(limits.MAX_QUEUED_MESSAGES):
        assert send(p, a, 'm') == 0
    mem = api.allocate(p, PAGE, MEMORY_RIGHTS)
    assert send(p, a, 'm', [mem]) == E_WOULDBLOCK
    assert describe(p, mem).kind != 0
    assert api.release(p, b) == 0
    assert channel.messages_in_use() == 0                   # the queue died with b
    assert send(p, a, 'm') == E_CLOSED
    assert describe(p, a).state == channel.STATE_PEER_CLOSED


def test_a_process_cannot_queue_more_than_its_quota(world, p):
    pairs = [pair(p) for _ in range(5)]          # 5 queues: room for 320 messages
    a, b = pairs[0]
    sent = 0
    while True:
        status = send(p, pairs[sent % 5][0], 'x' * limits.MAX_MESSAGE_BYTES)
        if status < 0:
            break
        sent += 1
    assert status == E_LIMIT
    assert sent * (limits.MAX_MESSAGE_BYTES + api.MESSAGE_OVERHEAD) <= \
        limits.MAX_INFLIGHT_BYTES
    assert receive(p, b)[0][:1] == 'x'
    assert send(p, a, 'y' * 16) == 0                         # room again


def test_receive_errors_leave_the_message_queued(world, p):
    a, b = pair(p)
    wo, _ = pair(p, RIGHT_WRITE)
    mem = api.allocate(p, PAGE, MEMORY_RIGHTS)
    assert receive(p, b) == E_WOULDBLOCK
    assert send(p, a, 'abcdef', [mem]) == 0
    assert receive(p, wo) == E_RIGHTS
    assert receive(p, api.allocate(p, PAGE, RIGHT_READ)) == E_KIND
    assert receive(p, b, max_length=5) == E_BUFFER
    assert receive(p, b, max_count=0) == E_BUFFER
    while api.allocate(p, PAGE, RIGHT_READ) > 0:
        pass
    assert receive(p, b) == E_NOSLOTS
    assert describe(p, b).exit_code == 1
    api.release(p, table.value_of(p.table, 200))
    data, values = receive(p, b)
    assert data == 'abcdef' and describe(p, values[0]).size == PAGE


def test_after_the_peer_goes_the_queue_drains_then_e_closed(world, p):
    a, b = pair(p)
    assert send(p, a, 'last') == 0
    assert api.release(p, a) == 0
    assert receive(p, b) == ('last', [])
    assert receive(p, b) == E_CLOSED


# ------------------------------------------------------------ leases in flight

def test_a_lease_in_flight_expires_on_time(world, p):
    a, b = pair(p)
    mem = api.allocate(p, PAGE, MEMORY_RIGHTS)
    lease_ = api.borrow(p, mem, 5)
    assert send(p, a, '', [lease_]) == 0
    tick(5)
    data, values = receive(p, b)
    assert describe(p, values[0]).dead
    assert api.map(p, values[0], VA, 0, PAGE, PROT_READ) == E_DEAD


def test_a_received_lease_still_expires_and_takes_its_mapping(world, p):
    q = spawn()
    a, b = pair(p)
    target = api.grant(p, q, PROCESS_RIGHTS, True)
    qb = api.transfer(p, b, target)
    mem = api.allocate(p, PAGE, MEMORY_RIGHTS)
    assert send(p, a, '', [api.borrow(p, mem, 10)]) == 0
    tick(3)
    data, values = receive(q, qb)
    assert describe(q, values[0]).expiry == 10
    assert api.map(q, values[0], VA, 0, PAGE, PROT_READ) == 0
    tick(6)
    assert address_space.translate(q.space, VA) >= 0
    tick(1)
    assert address_space.translate(q.space, VA) < 0
    assert describe(q, values[0]).dead


# ------------------------------------------------------------ cycles

def everything_freed(world, before):
    assert counts(world) == before


def test_an_endpoint_sent_into_its_own_queue_is_collected_by_that_send(world, p):
    before = counts(world)
    a, b = pair(p)
    collected = collector.statistics_collected()
    assert send(p, a, 'self', [b]) == 0          # b would wait in its own queue
    assert collector.statistics_collected() == collected + 1
    assert channel.records_in_use() == 1         # a, whose peer is gone
    assert describe(p, a).state == channel.STATE_PEER_CLOSED
    assert send(p, a, 'more') == E_CLOSED
    assert api.release(p, a) == 0
    everything_freed(world, before)


def test_self_send_pair_ring_and_lease_cycles_go_when_released(world, p):
    before = counts(world)
    # self: b in its own queue
    a, b = pair(p)
    assert send(p, a, '', [b]) == 0
    api.release(p, a)
    # pair: endpoint x1 in y1's queue and y1's... two channels crossing
    x0, x1 = pair(p)
    y0, y1 = pair(p)
    assert send(p, y0, '', [x1]) == 0            # x1 queued in y1
    assert send(p, x0, '', [y1]) == 0            # y1 queued in x1
    api.release(p, x0)
    api.release(p, y0)
    # ring of 5
    ends = [pair(p) for _ in range(5)]
    for i in range(5):
        assert send(p, ends[i][0], '', [ends[(i + 1) % 5][1]]) == 0
    for e in ends:
        api.release(p, e[0])
    # a lease is weak: no cycle through it, ordinary counting frees it
    l0, l1 = pair(p)
    weak = api.borrow(p, l1, 0)
    assert send(p, l0, '', [weak]) == 0
    api.release(p, l0)
    api.release(p, l1)
    assert channel.records_in_use() == 0
    everything_freed(world, before)


def test_a_cycle_hanging_off_a_live_endpoint_survives(world, p):
    before = counts(world)
    keep0, keep1 = pair(p)
    x0, x1 = pair(p)
    other = api.clone(p, x1, CHANNEL_RIGHTS)
    assert send(p, x0, '', [x1]) == 0            # x1 in its own queue: a cycle
    assert send(p, keep0, '', [other]) == 0      # ...that keep1's queue holds too
    api.release(p, keep0)                        # keep1 is still held: all survive
    assert channel.records_in_use() == 3
    assert describe(p, x0).state == channel.STATE_OPEN
    data, values = receive(p, keep1)
    assert describe(p, values[0]).kind == KIND_CHANNEL
    assert not describe(p, values[0]).dead and describe(p, values[0]).exit_code == 1
    api.release(p, values[0])                    # now the cycle is garbage
    assert describe(p, x0).state == channel.STATE_PEER_CLOSED
    api.release(p, keep1)
    api.release(p, x0)
    everything_freed(world, before)


def test_exit_collects_every_cycle_the_process_made(world, p):
    before = counts(world)
    q = spawn()
    ends = [pair(q) for _ in range(8)]
    for i in range(8):
        assert send(q, ends[i][0], '', [ends[(i + 3) % 8][1], ends[(i + 5) % 8][0]]) in \
            (0, E_BADDESC, E_CLOSED)
    api.exit(q, 0)
    assert channel.records_in_use() == 0
    assert channel.messages_in_use() == 0
    assert api.descriptors_in_flight() == 0


def test_a_ring_of_a_hundred_is_collected_in_one_release(world, p):
    before = counts(world)
    ends = [pair(p) for _ in range(100)]
    for i in range(99):
        assert send(p, ends[i][0], '', [ends[i + 1][1]]) == 0
    assert channel.records_in_use() == 200       # a chain, held at ends[0][1]
    collected = collector.statistics_collected()
    assert send(p, ends[99][0], '', [ends[0][1]]) == 0      # closes the ring
    assert collector.statistics_collected() == collected + 100
    assert channel.records_in_use() == 100       # the senders, peers gone
    for e in ends:
        api.release(p, e[0])
    everything_freed(world, before)


# ------------------------------------------------------------ random graphs

def reachable(p):
    """The oracle: endpoints reachable from p's table through strong
    descriptors and the strong endpoint descriptors queued in reachable
    endpoints."""
    seen = set()
    work = []
    for slot in range(limits.DESCRIPTOR_SLOTS):
        ref = table.read(p.table, slot, table.OBJECT)
        if ref > 0 and table.ref_kind(ref) == KIND_CHANNEL and \
                table.read(p.table, slot, table.FLAGS) & table.FLAG_STRONG:
            work.append(table.ref_index(ref))
    while work:
        e = work.pop()
        if e in seen:
            continue
        seen.add(e)
        m = channel.get(e).head
        while m >= 0:
            msg = channel.message(m)
            for i in range(msg.count):
                ref = table.read(msg.entries, i, table.OBJECT)
                if table.ref_kind(ref) == KIND_CHANNEL and \
                        table.read(msg.entries, i, table.FLAGS) & table.FLAG_STRONG:
                    work.append(table.ref_index(ref))
            m = msg.next
    return seen


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11),
                                             st.booleans(), st.integers(0, 3)),
                                   max_size=30),
       st.lists(st.integers(0, 40), max_size=20))
def test_exactly_the_unreachable_endpoints_die(channels, sends, releases):
    world = make_world()
    add_scratch()
    try:
        p = spawn()
        before = counts(world)
        held = []
        for _ in range(channels):
            held.extend(pair(p))
        for via, what, weak, more in sends:
            live = [d for d in held if api.describe(p, d, api.Description()) == 0]
            if not live:
                break
            ep, moved = live[via % len(live)], live[what % len(live)]
            if weak:
                moved = api.borrow(p, moved, 0 if more % 2 else 50)
                held.append(moved)
            status = send(p, ep, 'x' * more, [moved])
            assert status in (0, E_CLOSED, E_WOULDBLOCK, E_DEAD), status   # a dead weak one
        for r in releases:
            if held:
                api.release(p, held.pop(r % len(held)))
            live_set = reachable(p)
            for index in range(limits.MAX_ENDPOINTS):
                e = channel.get(index)
                if e.in_use:
                    assert e.alive == (index in live_set), index
        api.exit(p, 0)
        assert channel.records_in_use() == 0
        assert channel.messages_in_use() == 0 and api.descriptors_in_flight() == 0
        assert lease.queued() == 0 and memory.records_in_use() == 0
    finally:
        reset_objects()
