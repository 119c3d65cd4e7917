"""What the counters system call reports (docs/abi.md, "Accounting"): the
kernel's exact counts of everything a process can make it hold, defined
once for the kernel (elyz/kernel/accounting.py) and user programs
(user/lib/process.py).

    Counters        the record: one integer attribute per name of FIELDS
    FIELDS          the names, in the order of the words `counters` writes
    WORDS           len(FIELDS)
    word(c, i)      field i of c
    set_word(c, i, value)   sets field i of c
"""

from rpython.rlib.unroll import unrolling_iterable

FIELDS = [
    'memory_objects',       # MemoryObject records in use (alive, or dead with weak descriptors)
    'processes',            # Process records in use (running, or zombies)
    'strong_descriptors',   # strong descriptors in all tables
    'weak_descriptors',     # weak descriptors (leases included) in all tables
    'leases',               # leases with an expiry, queued for the timer
    'mappings',             # mapping records, all address spaces together
    'memory_frames',        # frames held by MemoryObjects
    'table_frames',         # page-table frames of the processes' address spaces
    'kernel_table_frames',  # page-table frames of the kernel half (never freed)
    'frames_free',          # free physical frames
    'heap_bytes',           # kernel heap bytes in use
    'heap_pages',           # pages the kernel heap took from the frame allocator (kept)
    'endpoints',            # channel endpoint records in use
    'messages',             # messages queued in endpoints
    'message_bytes',        # bytes of the queued messages
    'in_flight',            # descriptors the queued messages carry
]
WORDS = len(FIELDS)
_INDEXED = unrolling_iterable(list(enumerate(FIELDS)))


class Counters(object):
    """One integer per name of FIELDS (see there)."""

    def __init__(self):
        for k, name in _INDEXED:
            setattr(self, name, 0)


def word(c, i):
    """Returns field i (FIELDS order) of c."""
    for k, name in _INDEXED:
        if k == i:
            return getattr(c, name)
    return 0


def set_word(c, i, value):
    """Sets field i (FIELDS order) of c to value."""
    for k, name in _INDEXED:
        if k == i:
            setattr(c, name, value)
