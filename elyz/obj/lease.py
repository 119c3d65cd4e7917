"""The expiry queue of leases: a binary min-heap on the expiry tick, of at
most MAX_LEASES entries, each naming (owner, slot).  An owner is a process
index (>= 0: slot is a slot of its descriptor table) or, for a lease in
flight in a channel message m, in_flight(m) = -1 - m (slot is the index of
the entry in the message).  A slot with a queued lease holds its heap
position in table.QUEUED, so removal is O(log n) and the timer's work is
proportional to the leases that expire, not to the number of descriptors.

    add(proc, slot, expiry) -> 0, or E_LIMIT when MAX_LEASES are queued
    remove(proc, slot)      takes slot's entry out (if it has one)
    retarget(proc, slot, new_proc, new_slot)   the lease moved (transfer)
    remove_owned(owner, slot), retarget_owned(owner, slot, new_owner,
        new_slot)   the same by owner (messages: in_flight(m))
    owner_table(owner) -> the table or message entries owner's slots are in
    due(now) -> True when the earliest entry expires at or before now
    first_process() first_slot()   that entry; pop_first() removes it
    queued()
"""

from elyz.abi.errors import E_LIMIT
from elyz.abi.limits import MAX_LEASES
from elyz.obj import channel, process, table


class _Queue(object):
    def __init__(self):
        self.expiry = [0] * MAX_LEASES
        self.process = [0] * MAX_LEASES
        self.slot = [0] * MAX_LEASES
        self.count = 0


_queue = _Queue()


def queued():
    """Returns how many leases wait for expiry."""
    return _queue.count


def in_flight(m):
    """Returns the owner number of channel message m's entries."""
    return -1 - m


def owner_table(owner):
    """Returns the slots (a descriptor table, or a message's entries) of owner."""
    if owner >= 0:
        return process.get(owner).table
    return channel.entries(-1 - owner)


def _place(pos, expiry, owner, slot):
    _queue.expiry[pos] = expiry
    _queue.process[pos] = owner
    _queue.slot[pos] = slot
    table.write(owner_table(owner), slot, table.QUEUED, pos)


def _swap(a, b):
    expiry, proc_index, slot = _queue.expiry[a], _queue.process[a], _queue.slot[a]
    _place(a, _queue.expiry[b], _queue.process[b], _queue.slot[b])
    _place(b, expiry, proc_index, slot)


def _sift_up(pos):
    while pos > 0:
        parent = (pos - 1) // 2
        if _queue.expiry[parent] <= _queue.expiry[pos]:
            break
        _swap(parent, pos)
        pos = parent


def _sift_down(pos):
    while True:
        smallest = pos
        left = 2 * pos + 1
        right = left + 1
        if left < _queue.count and _queue.expiry[left] < _queue.expiry[smallest]:
            smallest = left
        if right < _queue.count and _queue.expiry[right] < _queue.expiry[smallest]:
            smallest = right
        if smallest == pos:
            return
        _swap(pos, smallest)
        pos = smallest


def add(proc, slot, expiry):
    """Queues slot's lease; returns 0, or E_LIMIT when the queue is full."""
    if _queue.count >= MAX_LEASES:
        return E_LIMIT
    pos = _queue.count
    _queue.count += 1
    _place(pos, expiry, proc.index, slot)
    _sift_up(pos)
    return 0


def remove(proc, slot):
    """Takes slot's entry out of the queue if it has one; returns nothing."""
    remove_owned(proc.index, slot)


def remove_owned(owner, slot):
    """remove() for an owner number (see the module docstring)."""
    slots = owner_table(owner)
    pos = table.read(slots, slot, table.QUEUED)
    if pos < 0:
        return
    table.write(slots, slot, table.QUEUED, -1)
    last = _queue.count - 1
    _queue.count = last
    if pos == last:
        return
    _place(pos, _queue.expiry[last], _queue.process[last], _queue.slot[last])
    _sift_up(pos)
    _sift_down(pos)


def retarget(proc, slot, new_proc, new_slot):
    """Makes slot's queued entry name (new_proc, new_slot), whose QUEUED
    field it sets; returns nothing."""
    retarget_owned(proc.index, slot, new_proc.index, new_slot)


def retarget_owned(owner, slot, new_owner, new_slot):
    """retarget() for owner numbers (see the module docstring)."""
    slots = owner_table(owner)
    pos = table.read(slots, slot, table.QUEUED)
    table.write(slots, slot, table.QUEUED, -1)
    if pos < 0:
        table.write(owner_table(new_owner), new_slot, table.QUEUED, -1)
        return
    _place(pos, _queue.expiry[pos], new_owner, new_slot)


def due(now):
    """Returns True when the earliest lease expires at or before tick now."""
    return _queue.count > 0 and _queue.expiry[0] <= now


def first_process():
    return _queue.process[0]


def first_slot():
    return _queue.slot[0]


def reset_for_tests():
    """Untranslated only: an empty queue."""
    _queue.count = 0
