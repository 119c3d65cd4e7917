"""Descriptor tables: DESCRIPTOR_SLOTS slots per process, in kernel-heap
memory (one block per process, freed at teardown).

A slot (SLOT_SIZE bytes, words at these offsets):

     0  OBJECT      the object: kind << KIND_SHIFT | pool index + 1; 0 = free;
                    RESERVED = kept for a descriptor spawn will move in
     8  RIGHTS      RIGHT_* bits
    16  FLAGS       FLAG_STRONG or FLAG_WEAK, FLAG_LEASE (an expiry is set),
                    FLAG_EXPIRED (the lease ran out: the slot is dead),
                    FLAG_MAPPED (a mapping was made through the slot: a
                    release must look for its mappings)
    24  GENERATION  1, 2, ...: bumped at every release; the descriptor value
                    carries it (elyz/abi/limits.py), so a stale value is refused
    32  EXPIRY      the tick at which a lease expires (FLAG_LEASE only)
    40  QUEUED      lease.py's handle for the expiry queue, -1 when none

    new_table() -> the table's address, or 0 when the heap is full
    free_table(table)
    free_slot(table, start) -> the lowest free slot from start on, or -1
                (retired slots never come back); callers keep a hint below
                which no slot is free (Process.free_hint)
    value_of(table, slot) -> the descriptor value naming slot now
    slot_of(table, value) -> the slot value names, or E_BADDESC
    read(table, slot, FIELD), write(table, slot, FIELD, v)
    object_ref(kind, index) -> what OBJECT holds; ref_kind(ref), ref_index(ref)
"""

from elyz.abi.errors import E_BADDESC
from elyz.abi.limits import DESCRIPTOR_GENERATION_LIMIT, DESCRIPTOR_SLOTS
from elyz.mm import heap
from elyz.rlib_kernel import rawmem

OBJECT = 0
RIGHTS = 8
FLAGS = 16
GENERATION = 24
EXPIRY = 32
QUEUED = 40
SLOT_SIZE = 48
TABLE_SIZE = SLOT_SIZE * DESCRIPTOR_SLOTS

FLAG_STRONG = 1 << 0
FLAG_WEAK = 1 << 1
FLAG_LEASE = 1 << 2
FLAG_EXPIRED = 1 << 3
FLAG_MAPPED = 1 << 4

SLOT_BITS = 8                   # DESCRIPTOR_SLOTS == 1 << SLOT_BITS: a value's
SLOT_MASK = DESCRIPTOR_SLOTS - 1    # slot and generation are a mask and a shift
assert DESCRIPTOR_SLOTS == 1 << SLOT_BITS

RESERVED = -1
KIND_SHIFT = 32
INDEX_MASK = (1 << KIND_SHIFT) - 1


def new_table():
    """Returns a zeroed table (every slot free, generation 0), or 0."""
    table = heap.kernel_heap.calloc(DESCRIPTOR_SLOTS, SLOT_SIZE)
    return table


def free_table(table):
    """Gives the table's memory back; returns nothing."""
    heap.kernel_heap.free(table)


def read(table, slot, field):
    """Returns the word field of slot."""
    return rawmem.load_u64(table + slot * SLOT_SIZE + field)


def write(table, slot, field, value):
    """Stores value into field of slot; returns nothing."""
    rawmem.store_u64(table + slot * SLOT_SIZE + field, value)


def free_slot(table, start):
    """Returns the lowest free slot from start on that is not retired, or -1."""
    slot = start
    while slot < DESCRIPTOR_SLOTS:
        if read(table, slot, OBJECT) == 0 and \
                read(table, slot, GENERATION) < DESCRIPTOR_GENERATION_LIMIT - 1:
            return slot
        slot += 1
    return -1


def value_of(table, slot):
    """Returns the descriptor value of an occupied slot."""
    return read(table, slot, GENERATION) * DESCRIPTOR_SLOTS + slot


def slot_of(table, value):
    """Returns the occupied slot value names, or E_BADDESC for a value out
    of range, a free slot or a stale generation."""
    if value < DESCRIPTOR_SLOTS or value >= DESCRIPTOR_GENERATION_LIMIT * DESCRIPTOR_SLOTS:
        return E_BADDESC
    slot = value & SLOT_MASK            # value > 0 here: % and // of Python
    ref = read(table, slot, OBJECT)
    if ref == 0 or ref == RESERVED:
        return E_BADDESC
    if read(table, slot, GENERATION) != value >> SLOT_BITS:
        return E_BADDESC
    return slot


def object_ref(kind, index):
    """Returns the OBJECT word naming record index of kind."""
    return (kind << KIND_SHIFT) | (index + 1)


def ref_kind(ref):
    return ref >> KIND_SHIFT


def ref_index(ref):
    return (ref & INDEX_MASK) - 1
