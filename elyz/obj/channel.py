"""Channel endpoints and the messages queued in them (KIND_CHANNEL).

A channel is two endpoints, each an object of its own with strong and weak
counts; a message sent through one is queued in the other (its peer) until
the peer's holder receives it.  A message is some bytes and up to
MAX_MESSAGE_DESCRIPTORS descriptors moved out of the sender's table: they
are "in flight", keep their references, and are installed in the
receiver's table when it receives.

    create_pair() -> the index of the first endpoint of a new pair (the
                     second is peer(first)), both alive with no references,
                     or E_NOMEM
    get(index) -> the Endpoint record
    new_message(length, count) -> a message record holding room for length
                     bytes and count descriptor entries, or E_NOMEM
    message(m) -> the Message record; entries(m) -> its descriptor entries,
                     laid out like descriptor-table slots (elyz/obj/table.py:
                     OBJECT, RIGHTS, FLAGS, EXPIRY, QUEUED), so that the same
                     accessors and the lease queue serve both
    enqueue(endpoint, m) / dequeue(endpoint) -> m / head(endpoint) -> m or -1
    free_message(m)  its bytes and entries back to the heap, its record free
    records_in_use(), messages_in_use(), bytes_queued()

The endpoint records also carry the cycle collector's state (color,
buffered: elyz/obj/collector.py).
"""

from elyz.abi.errors import E_NOMEM
from elyz.abi.limits import MAX_ENDPOINTS, MAX_MESSAGES
from elyz.abi.rights import KIND_CHANNEL
from elyz.mm import heap
from elyz.obj import table
from elyz.obj.kobject import KernelObject, Pool

STATE_OPEN = 1          # what describe reports as state
STATE_PEER_CLOSED = 2
BLACK = 0               # the collector's colors (Bacon and Rajan)
GRAY = 1
WHITE = 2
PURPLE = 3


class Endpoint(KernelObject):
    def __init__(self, index):
        KernelObject.__init__(self, KIND_CHANNEL, index)
        self.reset()

    def reset(self):
        self.peer = -1              # the other endpoint; -1 once it died
        self.head = -1              # messages queued here, oldest first
        self.tail = -1
        self.queued = 0
        self.queued_bytes = 0
        self.color = BLACK
        self.buffered = False       # in the collector's root buffer
        self.stacked = False        # on the collector's scan stack
        self.drained = False        # dead, and its queue emptied (api._settle)
        self.waiter = -1            # a task blocked receiving on it (sched), or -1

    def size_bytes(self):
        return self.queued_bytes


class Message(object):
    def __init__(self, index):
        self.index = index
        self.next = -1
        self.bytes = 0              # kernel heap: length bytes
        self.length = 0
        self.entries = 0            # kernel heap: count table-slot entries
        self.count = 0
        self.sender = -1            # the process charged for it, and its serial
        self.sender_serial = 0
        self.charge = 0


class _Counts(object):
    def __init__(self):
        self.bytes_queued = 0
        self.endpoints = 0


_endpoints = [Endpoint(i) for i in range(MAX_ENDPOINTS)]
_pairs = Pool(MAX_ENDPOINTS // 2)   # pair p is endpoints 2p and 2p + 1
_messages = [Message(i) for i in range(MAX_MESSAGES)]
_message_pool = Pool(MAX_MESSAGES)
_counts = _Counts()


def get(index):
    """Returns Endpoint record index."""
    return _endpoints[index]


def create_pair():
    """See the module docstring."""
    pair = _pairs.take()
    if pair < 0:
        return E_NOMEM
    first = 2 * pair
    index = first
    while index < first + 2:
        e = _endpoints[index]
        e.reset_header()
        e.reset()
        e.in_use = True
        e.alive = True
        index += 1
    _counts.endpoints += 2
    _endpoints[first].peer = first + 1
    _endpoints[first + 1].peer = first
    return first


def free_record(e):
    """Returns e's record; the pair's slot goes back to the pool when both
    of its endpoints are free."""
    e.reset_header()
    e.reset()
    _counts.endpoints -= 1
    other = _endpoints[e.index ^ 1]
    if not other.in_use:
        _pairs.give_back(e.index // 2)


def message(m):
    return _messages[m]


def entries(m):
    """Returns the address of message m's descriptor entries."""
    return _messages[m].entries


def new_message(length, count):
    """See the module docstring."""
    m = _message_pool.take()
    if m < 0:
        return E_NOMEM
    msg = _messages[m]
    msg.next = -1
    msg.length = length
    msg.count = count
    msg.bytes = 0
    msg.entries = 0
    if length > 0:
        msg.bytes = heap.kernel_heap.malloc(length)
    if count > 0:
        msg.entries = heap.kernel_heap.calloc(count, table.SLOT_SIZE)
    if (length > 0 and msg.bytes == 0) or (count > 0 and msg.entries == 0):
        free_message(m)
        return E_NOMEM
    return m


def free_message(m):
    """See the module docstring."""
    msg = _messages[m]
    if msg.bytes != 0:
        heap.kernel_heap.free(msg.bytes)
        msg.bytes = 0
    if msg.entries != 0:
        heap.kernel_heap.free(msg.entries)
        msg.entries = 0
    msg.length = 0
    msg.count = 0
    msg.next = -1
    msg.sender = -1
    msg.charge = 0
    _message_pool.give_back(m)


def enqueue(e, m):
    """Appends message m to endpoint e's queue; returns nothing."""
    msg = _messages[m]
    msg.next = -1
    if e.tail < 0:
        e.head = m
    else:
        _messages[e.tail].next = m
    e.tail = m
    e.queued += 1
    e.queued_bytes += msg.length
    _counts.bytes_queued += msg.length


def head(e):
    return e.head


def dequeue(e):
    """Takes the oldest message off e's queue; returns it (or -1)."""
    m = e.head
    if m < 0:
        return -1
    msg = _messages[m]
    e.head = msg.next
    if e.head < 0:
        e.tail = -1
    msg.next = -1
    e.queued -= 1
    e.queued_bytes -= msg.length
    _counts.bytes_queued -= msg.length
    return m


def records_in_use():
    """Returns how many endpoint records are taken."""
    return _counts.endpoints


def messages_in_use():
    return _message_pool.taken


def bytes_queued():
    return _counts.bytes_queued


def reset_for_tests():
    """Untranslated only: every record free."""
    for e in _endpoints:
        e.reset_header()
        e.reset()
    for msg in _messages:
        msg.next = -1
        msg.bytes = 0
        msg.entries = 0
        msg.length = 0
        msg.count = 0
    _pairs.reset()
    _message_pool.reset()
    _counts.bytes_queued = 0
    _counts.endpoints = 0
