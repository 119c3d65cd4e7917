"""The lease expiry queue (elyz.obj.lease): a min-heap that hands out the
earliest expiry first and removes any entry on request."""

from hypothesis import given, settings, strategies as st

from elyz.abi.errors import E_LIMIT
from elyz.obj import lease, process, table
from tests.obj.conftest import make_world, reset_objects


def _process():
    index = process.create()
    assert index >= 0
    proc = process.get(index)
    for slot in range(40):
        table.write(proc.table, slot, table.QUEUED, -1)
    return proc


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 100), min_size=1, max_size=40),
       st.sets(st.integers(0, 39)))
def test_entries_come_out_in_expiry_order_and_removed_ones_never(expiries, removed):
    make_world()
    try:
        proc = _process()
        for slot, expiry in enumerate(expiries):
            assert lease.add(proc, slot, expiry) == 0
        for slot in removed:
            if slot < len(expiries):
                lease.remove(proc, slot)
        expected = sorted((e, s) for s, e in enumerate(expiries) if s not in removed)
        out = []
        while lease.due(1 << 30):
            slot = lease.first_slot()
            out.append((expiries[slot], slot))
            assert lease.first_process() == proc.index
            lease.remove(proc, slot)
        assert [e for e, s in out] == [e for e, s in expected]
        assert sorted(out) == expected
    finally:
        reset_objects()


def test_due_only_when_the_earliest_expiry_is_reached(world):
    proc = _process()
    lease.add(proc, 0, 5)
    assert not lease.due(4) and lease.due(5)


def test_the_queue_refuses_more_than_max_leases(world, monkeypatch):
    proc = _process()
    monkeypatch.setattr(lease, 'MAX_LEASES', 2)
    assert lease.add(proc, 0, 1) == 0 and lease.add(proc, 1, 1) == 0
    assert lease.add(proc, 2, 1) == E_LIMIT


def test_retarget_moves_an_entry_to_another_slot(world):
    a, b = _process(), _process()
    lease.add(a, 3, 9)
    lease.retarget(a, 3, b, 7)
    assert table.read(a.table, 3, table.QUEUED) == -1
    assert (lease.first_process(), lease.first_slot()) == (b.index, 7)
    lease.remove(b, 7)
    assert lease.queued() == 0
