"""The kernel API of objects and descriptors: what the system calls call.

Every operation acts for a calling process `proc` (a Process record) on
descriptor values of proc's table, returns a value >= 0 or a negative
error of elyz/abi/errors.py, and changes nothing when it fails.  The rules
are docs/abi.md's; in short:

    allocate(proc, size, rights) -> a strong MemoryObject descriptor
    clone(proc, desc, rights) -> a new descriptor of the same strength to the
        same object (and, for a lease, the same expiry); needs RIGHT_CLONE;
        rights must be a subset of desc's
    borrow(proc, desc, duration) -> a lease: a weak descriptor with desc's
        rights that expires duration ticks from now (0: never; never later
        than desc's own expiry); needs RIGHT_BORROW
    transfer(proc, desc, target) -> desc's value in the process target names
        (RIGHT_GIVE on target, RIGHT_TRANSFER on desc): proc loses desc and
        the mappings made through it
    release(proc, desc) -> 0: frees the slot and the mappings made through
        it; the last strong descriptor of an object kills it
    map(proc, desc, vaddr, offset, length, prot) -> 0: maps [offset, offset
        + length) of a MemoryObject at vaddr (RIGHT_MAP, prot within desc's
        rights, never write and execute together)
    unmap(proc, vaddr, length) -> pages unmapped (0 when none was mapped)
    describe(proc, desc, out) -> 0: fills out (a Description)
    spawn(parent, rights) -> a new running process and, in parent (unless
        parent is None), a strong descriptor to it with rights
    grant(holder, target, rights, strong) -> a descriptor to the process
        target in holder (kernel use: set-up and tests)
    exit(proc, code) -> 0: proc's descriptors are released (its mappings
        go), its table and address space freed; a zombie stays while strong
        descriptors name it
    expire_leases(now) -> leases expired (the timer calls it every tick)
    memory_named(proc, desc, right) -> the MemoryObject record index a live
        memory descriptor with right names (E_BADDESC, E_DEAD, E_KIND,
        E_RIGHTS): the kernel reads an image through it (spawn)
    reserve_slots(proc, count) -> 0 or E_NOSLOTS: keeps proc's lowest free
        slots for move_into (spawn passes descriptors into them last, when
        nothing can fail any more)
    move_into(proc, desc, dest, slot) -> desc's value in dest, moved into
        reserved slot (the caller checked desc with check_movable)
    check_movable(proc, desc) -> 0, or why desc cannot be transferred
        (E_BADDESC, E_DEAD, E_RIGHTS)
    channel_create(proc, rights, out) -> 0: two endpoints, their values in
        out (a Pair); channel_send(proc, desc, data, length, values, count),
        channel_peek(proc, desc, out), channel_receive(proc, desc, max_length,
        max_count, data, values) -> length + count << 32, ready(proc, desc),
        call_peer(proc, desc), call_endpoint(proc, desc): the channel calls
        (docs/ipc.md), on kernel buffers the system-call layer copied in or
        will copy out
    process_named(proc, desc, right) -> the Process record index a process
        descriptor names (E_BADDESC, E_KIND, E_DEAD, E_RIGHTS without right);
        the record may be running or exited

Each public function runs with interrupts off (restoring them as they
were), so the timer's expiry never interleaves with an operation.
"""

from rpython.rlib.objectmodel import dont_inline

from elyz.abi import limits
from elyz.abi.description import Description  # noqa: F401  (re-exported: api.Description)
from elyz.abi.errors import (E_ALIGN, E_BUFFER, E_CLOSED, E_DEAD, E_EXITED,
                             E_INVALID, E_KIND, E_LIMIT, E_NOMEM, E_NOSLOTS, E_OVERLAP,
                             E_RANGE, E_RIGHTS, E_WOULDBLOCK)
from elyz.abi.rights import (CHANNEL_RIGHTS, KIND_CHANNEL, KIND_MEMORY, KIND_PROCESS,
                             MEMORY_RIGHTS, PROCESS_RIGHTS, RIGHT_READ, RIGHT_WAIT,
                             RIGHT_WRITE,
                             PROT_ALL, PROT_EXEC, PROT_READ, PROT_WRITE, RIGHT_BORROW,
                             RIGHT_CLONE, RIGHT_GIVE, RIGHT_MAP, RIGHT_TRANSFER,
                             STRENGTH_STRONG, STRENGTH_WEAK)
from elyz.lib import clock
from elyz.obj import channel, collector, lease, mapping, memory, process, table
from elyz.rlib_kernel import cpu, rawmem

PAGE_MASK = limits.PAGE_SIZE - 1
WORD = 8
MESSAGE_OVERHEAD = 64           # charged per message besides bytes and descriptors
RECEIVED_COUNT_SHIFT = 32       # channel_receive: length + count << 32


class _DescriptorCounts(object):
    """Descriptors in all tables, by strength (kept by _occupy and _vacate)."""

    def __init__(self):
        self.strong = 0
        self.weak = 0


_descriptors = _DescriptorCounts()


def strong_descriptors():
    """Returns how many strong descriptors all tables hold."""
    return _descriptors.strong


def weak_descriptors():
    """Returns how many weak descriptors (leases included) all tables hold."""
    return _descriptors.weak


class _Ipc(object):
    """Channel state: endpoints that died and wait for _settle, descriptors
    in flight, events (a message queued, a peer gone) for the scheduler."""

    def __init__(self):
        self.dying = [0] * limits.MAX_ENDPOINTS
        self.dying_count = 0
        self.in_flight = 0
        self.events = 0
        self.unsettled = False      # endpoints died or roots were buffered: _settle


_ipc = _Ipc()


class Peeked(object):
    """What channel_peek reports of the next message: length in bytes and
    count of descriptors."""

    def __init__(self):
        self.length = 0
        self.count = 0


_ipc_peeked = Peeked()


class Pair(object):
    """The two descriptor values channel_create makes."""

    def __init__(self):
        self.first = 0
        self.second = 0


def descriptors_in_flight():
    """Returns how many descriptors queued messages carry."""
    return _ipc.in_flight


def take_events():
    """Returns True when a message was queued or a peer went since the
    last call (the scheduler then wakes the tasks waiting on channels)."""
    if _ipc.events == 0:
        return False
    _ipc.events = 0
    return True


def reset_for_tests():
    """Untranslated only: the counts of an empty system."""
    _descriptors.strong = 0
    _descriptors.weak = 0
    _ipc.dying_count = 0
    _ipc.in_flight = 0
    _ipc.events = 0
    _ipc.unsettled = False


# ------------------------------------------------------------ helpers

def _record(kind, index):
    """Returns record index of kind (Memory, Process or Endpoint)."""
    if kind == KIND_MEMORY:
        return memory.get(index)
    if kind == KIND_CHANNEL:
        return channel.get(index)
    return process.get(index)


def _object(ref):
    """Returns the record an OBJECT word names."""
    return _record(table.ref_kind(ref), table.ref_index(ref))


def _slot_object(proc, slot):
    return _object(table.read(proc.table, slot, table.OBJECT))


def _slot_dead(proc, slot):
    """Returns True when slot's lease expired or its object died."""
    if table.read(proc.table, slot, table.FLAGS) & table.FLAG_EXPIRED:
        return True
    return not _slot_object(proc, slot).alive


def _lookup_live(proc, desc):
    """Returns the slot of a live descriptor, or E_BADDESC / E_DEAD."""
    slot = table.slot_of(proc.table, desc)
    if slot < 0:
        return slot
    if _slot_dead(proc, slot):
        return E_DEAD
    return slot


def _is_strong(flags):
    return (flags & table.FLAG_STRONG) != 0


def _can_add_reference(obj, strong):
    """Returns 0, or E_LIMIT when obj's count is at MAX_REFERENCES."""
    count = obj.strong if strong else obj.weak
    if count >= limits.MAX_REFERENCES:
        return E_LIMIT
    return 0


def _free_slot(proc):
    """Returns proc's lowest free slot, or -1 (the table is full)."""
    slot = table.free_slot(proc.table, proc.free_hint)
    if slot >= 0:
        proc.free_hint = slot
    return slot


def _occupy(proc, slot, ref, rights, flags, expiry):
    """Fills free slot of proc; returns its descriptor value."""
    t = proc.table
    if table.read(t, slot, table.GENERATION) == 0:
        table.write(t, slot, table.GENERATION, 1)
    table.write(t, slot, table.OBJECT, ref)
    table.write(t, slot, table.RIGHTS, rights)
    table.write(t, slot, table.FLAGS, flags)
    table.write(t, slot, table.EXPIRY, expiry)
    table.write(t, slot, table.QUEUED, -1)
    proc.slots_used += 1
    if slot == proc.free_hint:
        proc.free_hint = slot + 1
    if _is_strong(flags):
        _descriptors.strong += 1
    else:
        _descriptors.weak += 1
    return table.value_of(t, slot)


def _vacate(proc, slot):
    """Empties slot: its mappings and queued expiry go, its generation moves
    on.  The reference it held is the caller's to drop or move."""
    t = proc.table
    flags = table.read(t, slot, table.FLAGS)
    if _is_strong(flags):
        _descriptors.strong -= 1
    else:
        _descriptors.weak -= 1
    table.write(t, slot, table.OBJECT, 0)
    table.write(t, slot, table.FLAGS, 0)
    table.write(t, slot, table.GENERATION, table.read(t, slot, table.GENERATION) + 1)
    proc.slots_used -= 1
    if slot < proc.free_hint:
        proc.free_hint = slot
    if flags & (table.FLAG_MAPPED | table.FLAG_LEASE):
        _vacate_mappings_and_lease(proc, slot, flags)


@dont_inline
def _vacate_mappings_and_lease(proc, slot, flags):
    """The rest of _vacate for a slot that had mappings made through it or
    a queued lease (neither looks at the slot's object, flags or
    generation); kept out of line so that the common release needs no
    saved registers.  Returns nothing."""
    if flags & table.FLAG_MAPPED:
        mapping.remove_by_slot(proc, slot)
    if flags & table.FLAG_LEASE:
        lease.remove(proc, slot)


def _add_reference(obj, strong):
    if strong:
        obj.strong += 1
    else:
        obj.weak += 1


def _die(obj):
    """The last strong reference went: obj dies now.  A MemoryObject's
    mappings and frames go; a Process died exited (its resources went at
    exit); an endpoint goes on the dying list (_settle empties its queue and
    tells its peer: no recursion, whatever the chain of endpoints)."""
    obj.alive = False
    if obj.kind == KIND_MEMORY:
        mem = memory.get(obj.index)
        mapping.remove_all_of_object(mem)
        memory.destroy_frames(mem)
    elif obj.kind == KIND_CHANNEL:
        _ipc.dying[_ipc.dying_count] = obj.index
        _ipc.dying_count += 1
        _ipc.unsettled = True


def _free_if_unreferenced(obj):
    if not obj.alive and obj.strong == 0 and obj.weak == 0:
        if obj.kind == KIND_MEMORY:
            memory.free_record(memory.get(obj.index))
        elif obj.kind == KIND_CHANNEL:
            e = channel.get(obj.index)
            if e.drained:                       # its queue went (_settle)
                channel.free_record(e)
        else:
            process.free_record(process.get(obj.index))


def _drop_reference(obj, strong):
    """Drops one strong or weak reference to obj, with what follows."""
    if strong:
        obj.strong -= 1
        if obj.strong == 0 and obj.alive:
            _die(obj)
        elif obj.kind == KIND_CHANNEL and obj.strong > 0:
            collector.possible_root(channel.get(obj.index))
            _ipc.unsettled = True
    else:
        obj.weak -= 1
    _free_if_unreferenced(obj)


def _release_slot(proc, slot):
    obj = _slot_object(proc, slot)
    strong = _is_strong(table.read(proc.table, slot, table.FLAGS))
    _vacate(proc, slot)
    _drop_reference(obj, strong)


def _install(holder, kind, index, rights, strong, expiry):
    """Puts a new descriptor to record index of kind into holder; returns
    its value, or E_NOSLOTS / E_LIMIT (nothing changed)."""
    slot = _free_slot(holder)
    if slot < 0:
        return E_NOSLOTS
    obj = _record(kind, index)
    status = _can_add_reference(obj, strong)
    if status < 0:
        return status
    if expiry != 0:
        return _install_lease(holder, slot, obj, kind, index, rights, strong, expiry)
    flags = table.FLAG_STRONG if strong else table.FLAG_WEAK
    value = _occupy(holder, slot, table.object_ref(kind, index), rights, flags, 0)
    _add_reference(obj, strong)
    return value


@dont_inline
def _install_lease(holder, slot, obj, kind, index, rights, strong, expiry):
    """_install's rare case, out of line: a descriptor with an expiry,
    queued for the timer (E_LIMIT when MAX_LEASES are queued)."""
    flags = (table.FLAG_STRONG if strong else table.FLAG_WEAK) | table.FLAG_LEASE
    value = _occupy(holder, slot, table.object_ref(kind, index), rights, flags, expiry)
    status = lease.add(holder, slot, expiry)
    if status < 0:
        _vacate(holder, slot)
        return status
    _add_reference(obj, strong)
    return value


# ------------------------------------------------------------ operations

def _allocate(proc, size, rights):
    if rights & ~MEMORY_RIGHTS:
        return E_INVALID
    if size <= 0:
        return E_INVALID
    if size > limits.MAX_OBJECT_SIZE:
        return E_LIMIT
    if _free_slot(proc) < 0:
        return E_NOSLOTS
    index = memory.create(size)
    if index < 0:
        return index
    value = _install(proc, KIND_MEMORY, index, rights, True, 0)
    if value < 0:                       # cannot happen: the slot was checked
        _die(memory.get(index))
        _free_if_unreferenced(memory.get(index))
    return value


def _clone(proc, desc, rights):
    slot = _lookup_live(proc, desc)
    if slot < 0:
        return slot
    t = proc.table
    held = table.read(t, slot, table.RIGHTS)
    if not (held & RIGHT_CLONE):
        return E_RIGHTS
    if rights & ~held:
        return E_RIGHTS
    ref = table.read(t, slot, table.OBJECT)
    flags = table.read(t, slot, table.FLAGS)
    expiry = 0
    if flags & table.FLAG_LEASE:
        expiry = table.read(t, slot, table.EXPIRY)
    return _install(proc, table.ref_kind(ref), table.ref_index(ref), rights,
                    _is_strong(flags), expiry)


def _borrow(proc, desc, duration):
    slot = _lookup_live(proc, desc)
    if slot < 0:
        return slot
    t = proc.table
    held = table.read(t, slot, table.RIGHTS)
    if not (held & RIGHT_BORROW):
        return E_RIGHTS
    if duration < 0:
        return E_INVALID
    if duration > limits.MAX_LEASE_TICKS:
        return E_LIMIT
    expiry = 0
    if duration != 0:
        expiry = clock.ticks() + duration
    if table.read(t, slot, table.FLAGS) & table.FLAG_LEASE:
        parent_expiry = table.read(t, slot, table.EXPIRY)
        if expiry == 0 or parent_expiry < expiry:
            expiry = parent_expiry
    ref = table.read(t, slot, table.OBJECT)
    return _install(proc, table.ref_kind(ref), table.ref_index(ref), held, False, expiry)


def _target_process(proc, target):
    """Returns the Process record index a GIVE descriptor names, or an error."""
    slot = table.slot_of(proc.table, target)
    if slot < 0:
        return slot
    ref = table.read(proc.table, slot, table.OBJECT)
    if table.ref_kind(ref) != KIND_PROCESS:
        return E_KIND
    if _slot_dead(proc, slot):
        return E_DEAD
    if not (table.read(proc.table, slot, table.RIGHTS) & RIGHT_GIVE):
        return E_RIGHTS
    index = table.ref_index(ref)
    if process.get(index).state != process.STATE_RUNNING:
        return E_EXITED
    return index


def _move(proc, slot, dest, new_slot):
    """Moves the descriptor in proc's slot into dest's free or reserved
    new_slot; returns its value there.  Cannot fail."""
    t = proc.table
    if table.read(dest.table, new_slot, table.OBJECT) == table.RESERVED:
        table.write(dest.table, new_slot, table.OBJECT, 0)
    value = _occupy(dest, new_slot, table.read(t, slot, table.OBJECT),
                    table.read(t, slot, table.RIGHTS),
                    table.read(t, slot, table.FLAGS) & ~table.FLAG_MAPPED,
                    table.read(t, slot, table.EXPIRY))
    lease.retarget(proc, slot, dest, new_slot)
    _vacate(proc, slot)                 # the reference moved with it
    return value


def _transfer(proc, desc, target):
    slot = _lookup_live(proc, desc)
    if slot < 0:
        return slot
    t = proc.table
    if not (table.read(t, slot, table.RIGHTS) & RIGHT_TRANSFER):
        return E_RIGHTS
    index = _target_process(proc, target)
    if index < 0:
        return index
    dest = process.get(index)
    new_slot = _free_slot(dest)
    if new_slot < 0:
        return E_NOSLOTS
    return _move(proc, slot, dest, new_slot)


def _release(proc, desc):
    slot = table.slot_of(proc.table, desc)
    if slot < 0:
        return slot
    _release_slot(proc, slot)
    return 0


def _check_prot(prot, held):
    if prot & ~PROT_ALL or not (prot & PROT_READ):
        return E_INVALID
    if (prot & PROT_WRITE) and (prot & PROT_EXEC):
        return E_INVALID
    if prot & ~held:
        return E_RIGHTS
    return 0


def _check_user_range(vaddr, length):
    """Returns 0 for a page-aligned, non-empty range inside the user half;
    E_ALIGN, E_INVALID or E_RANGE otherwise."""
    if vaddr & PAGE_MASK or length & PAGE_MASK:
        return E_ALIGN
    if length <= 0:
        return E_INVALID
    if vaddr < limits.USER_START or vaddr >= limits.USER_END or \
            length > limits.USER_END - vaddr:
        return E_RANGE
    return 0


def _map(proc, desc, vaddr, offset, length, prot):
    slot = _lookup_live(proc, desc)
    if slot < 0:
        return slot
    t = proc.table
    ref = table.read(t, slot, table.OBJECT)
    if table.ref_kind(ref) != KIND_MEMORY:
        return E_KIND
    held = table.read(t, slot, table.RIGHTS)
    if not (held & RIGHT_MAP):
        return E_RIGHTS
    status = _check_prot(prot, held)
    if status < 0:
        return status
    status = _check_user_range(vaddr, length)
    if status < 0:
        return status
    if offset & PAGE_MASK:
        return E_ALIGN
    obj = memory.get(table.ref_index(ref))
    if offset < 0 or offset > obj.size_bytes() or length > obj.size_bytes() - offset:
        return E_RANGE
    pages = length // limits.PAGE_SIZE
    if mapping.find_overlap(proc, vaddr, pages) >= 0:
        return E_OVERLAP
    index = mapping.add(proc, obj, slot, vaddr, offset // limits.PAGE_SIZE, pages, prot)
    if index < 0:
        return index
    table.write(t, slot, table.FLAGS, table.read(t, slot, table.FLAGS) | table.FLAG_MAPPED)
    return 0


def _unmap(proc, vaddr, length):
    status = _check_user_range(vaddr, length)
    if status < 0:
        return status
    pages = length // limits.PAGE_SIZE
    if mapping.free_records() == 0 and mapping.needs_split(proc, vaddr, pages):
        return E_NOMEM
    return mapping.trim_all(proc, vaddr, pages)


def _describe(proc, desc, out):
    slot = table.slot_of(proc.table, desc)
    if slot < 0:
        return slot
    t = proc.table
    obj = _slot_object(proc, slot)
    flags = table.read(t, slot, table.FLAGS)
    out.kind = obj.kind
    out.strength = STRENGTH_STRONG if _is_strong(flags) else STRENGTH_WEAK
    out.rights = table.read(t, slot, table.RIGHTS)
    out.size = obj.size_bytes()
    out.strong = obj.strong
    out.weak = obj.weak
    out.expiry = table.read(t, slot, table.EXPIRY) if flags & table.FLAG_LEASE else 0
    out.dead = _slot_dead(proc, slot)
    out.state = 0
    out.exit_code = 0
    out.fault_address = 0
    if obj.kind == KIND_PROCESS:
        target = process.get(obj.index)
        out.state = target.state
        out.exit_code = target.exit_code
        out.fault_address = target.fault_address
    elif obj.kind == KIND_CHANNEL:
        e = channel.get(obj.index)
        out.state = channel.STATE_OPEN if e.peer >= 0 else channel.STATE_PEER_CLOSED
        out.exit_code = e.queued
    return 0


def _spawn(parent, rights):
    if rights & ~PROCESS_RIGHTS:
        return E_INVALID
    if parent is not None and _free_slot(parent) < 0:
        return E_NOSLOTS
    index = process.create()
    if index < 0:
        return index
    if parent is None:
        return index
    value = _install(parent, KIND_PROCESS, index, rights, True, 0)
    return value


def _grant(holder, target, rights, strong):
    if rights & ~PROCESS_RIGHTS:
        return E_INVALID
    if not target.alive:
        return E_DEAD
    return _install(holder, KIND_PROCESS, target.index, rights, strong, 0)


def _exit(proc, code):
    if proc.state != process.STATE_RUNNING:
        return E_EXITED
    proc.state = process.STATE_EXITED
    proc.exit_code = code
    slot = 0
    while slot < limits.DESCRIPTOR_SLOTS:
        ref = table.read(proc.table, slot, table.OBJECT)
        if ref == table.RESERVED:
            table.write(proc.table, slot, table.OBJECT, 0)
        elif ref != 0:
            _release_slot(proc, slot)
        slot += 1
    mapping.remove_all_of_process(proc)
    process.release_resources(proc)
    _drop_reference(proc, True)         # the running state's own reference
    return 0


def _expire_leases(now):
    expired = 0
    while lease.due(now):
        owner = lease.first_process()
        slot = lease.first_slot()
        slots = lease.owner_table(owner)
        lease.remove_owned(owner, slot)
        table.write(slots, slot, table.FLAGS,
                    table.read(slots, slot, table.FLAGS) | table.FLAG_EXPIRED)
        if owner >= 0:                  # in a table (else in flight: no mapping)
            mapping.remove_by_slot(process.get(owner), slot)
        expired += 1
    return expired


# ------------------------------------------------------------ channels

def _message_charge(length, count):
    return length + count * table.SLOT_SIZE + MESSAGE_OVERHEAD


def _discard_message(m, collected):
    """Frees message m (taken off its queue) and drops the references its
    descriptors hold; for an endpoint the collector found (collected), its
    strong endpoint edges were already subtracted."""
    msg = channel.message(m)
    entries = msg.entries
    owner = lease.in_flight(m)
    i = 0
    while i < msg.count:
        ref = table.read(entries, i, table.OBJECT)
        flags = table.read(entries, i, table.FLAGS)
        lease.remove_owned(owner, i)
        strong = _is_strong(flags)
        if not (collected and strong and table.ref_kind(ref) == KIND_CHANNEL):
            _drop_reference(_object(ref), strong)
        i += 1
    _ipc.in_flight -= msg.count
    _uncharge(msg)
    channel.free_message(m)


def _uncharge(msg):
    """Gives the sender back the kernel memory msg was charged (when the
    sender is still the process that sent it)."""
    if msg.sender >= 0:
        sender = process.get(msg.sender)
        if sender.in_use and sender.serial == msg.sender_serial:
            sender.inflight_bytes -= msg.charge


def _close_endpoint(e, collected):
    """A dead endpoint's peer learns it is gone; its queue is emptied;
    its record goes once no weak descriptor names it."""
    if e.peer >= 0:
        channel.get(e.peer).peer = -1
        e.peer = -1
        _ipc.events += 1
    while e.head >= 0:
        _discard_message(channel.dequeue(e), collected)
    e.drained = True
    _free_if_unreferenced(e)


def _settle():
    """Runs at the end of every operation that can drop a strong count:
    closes the endpoints that died (which can kill more), then collects the
    garbage cycles the buffered roots lead to."""
    while True:
        while _ipc.dying_count > 0:
            _ipc.dying_count -= 1
            _close_endpoint(channel.get(_ipc.dying[_ipc.dying_count]), False)
        if not collector.pending():
            _ipc.unsettled = False
            return
        found = collector.collect()
        i = 0
        while i < found:
            e = channel.get(collector.garbage(i))
            e.strong = 0
            e.alive = False
            i += 1
        i = 0
        while i < found:
            _close_endpoint(channel.get(collector.garbage(i)), True)
            i += 1


def _endpoint_named(proc, desc, right):
    """Returns the slot of a live endpoint descriptor with right, or
    E_BADDESC, E_DEAD, E_KIND, E_RIGHTS."""
    slot = _lookup_live(proc, desc)
    if slot < 0:
        return slot
    if table.ref_kind(table.read(proc.table, slot, table.OBJECT)) != KIND_CHANNEL:
        return E_KIND
    if not (table.read(proc.table, slot, table.RIGHTS) & right):
        return E_RIGHTS
    return slot


def _slot_endpoint(proc, slot):
    return channel.get(table.ref_index(table.read(proc.table, slot, table.OBJECT)))


def _free_slots_at_least(proc, count):
    """Returns True when proc's table has count free slots."""
    found = 0
    slot = proc.free_hint
    while found < count:
        slot = table.free_slot(proc.table, slot)
        if slot < 0:
            return False
        found += 1
        slot += 1
    return True


def _channel_create(proc, rights, out):
    if rights & ~CHANNEL_RIGHTS:
        return E_INVALID
    if not _free_slots_at_least(proc, 2):
        return E_NOSLOTS
    first = channel.create_pair()
    if first < 0:
        return first
    out.first = _install(proc, KIND_CHANNEL, first, rights, True, 0)
    out.second = _install(proc, KIND_CHANNEL, first + 1, rights, True, 0)
    return 0


def _channel_send(proc, desc, data, length, values, count):
    if length < 0 or count < 0 or count > limits.MAX_MESSAGE_DESCRIPTORS:
        return E_INVALID
    if length > limits.MAX_MESSAGE_BYTES:
        return E_LIMIT
    slot = _endpoint_named(proc, desc, RIGHT_WRITE)
    if slot < 0:
        return slot
    e = _slot_endpoint(proc, slot)
    i = 0
    while i < count:
        value = rawmem.load_u64(values + i * WORD)
        status = check_movable(proc, value)
        if status < 0:
            return status
        j = 0
        while j < i:
            if rawmem.load_u64(values + j * WORD) == value:
                return E_INVALID
            j += 1
        i += 1
    if e.peer < 0:
        return E_CLOSED
    peer = channel.get(e.peer)
    if peer.queued >= limits.MAX_QUEUED_MESSAGES:
        return E_WOULDBLOCK
    charge = _message_charge(length, count)
    if proc.inflight_bytes + charge > limits.MAX_INFLIGHT_BYTES:
        return E_LIMIT
    m = channel.new_message(length, count)
    if m < 0:
        return m
    msg = channel.message(m)
    if length > 0:
        rawmem.copy(msg.bytes, data, length)
    owner = lease.in_flight(m)
    t = proc.table
    i = 0
    while i < count:
        moved = table.slot_of(t, rawmem.load_u64(values + i * WORD))
        table.write(msg.entries, i, table.OBJECT, table.read(t, moved, table.OBJECT))
        table.write(msg.entries, i, table.RIGHTS, table.read(t, moved, table.RIGHTS))
        table.write(msg.entries, i, table.FLAGS,
                    table.read(t, moved, table.FLAGS) & ~table.FLAG_MAPPED)
        table.write(msg.entries, i, table.EXPIRY, table.read(t, moved, table.EXPIRY))
        lease.retarget_owned(proc.index, moved, owner, i)
        _vacate(proc, moved)            # the reference travels in the message
        _moved_off_a_table(table.read(msg.entries, i, table.OBJECT),
                           table.read(msg.entries, i, table.FLAGS))
        i += 1
    _ipc.in_flight += count
    msg.sender = proc.index
    msg.sender_serial = proc.serial
    msg.charge = charge
    proc.inflight_bytes += charge
    channel.enqueue(peer, m)
    _ipc.events += 1
    return 0


def _moved_off_a_table(ref, flags):
    """A strong endpoint descriptor left a process table for a message:
    like a count dropping, that may leave its endpoint reachable only from
    garbage."""
    if table.ref_kind(ref) == KIND_CHANNEL and _is_strong(flags):
        collector.possible_root(channel.get(table.ref_index(ref)))
        _ipc.unsettled = True


def _channel_peek(proc, desc, out):
    slot = _endpoint_named(proc, desc, RIGHT_READ)
    if slot < 0:
        return slot
    e = _slot_endpoint(proc, slot)
    if e.head < 0:
        if e.peer < 0:
            return E_CLOSED
        return E_WOULDBLOCK
    msg = channel.message(e.head)
    out.length = msg.length
    out.count = msg.count
    return 0


def _channel_receive(proc, desc, max_length, max_count, data, values):
    peeked = _ipc_peeked
    status = _channel_peek(proc, desc, peeked)
    if status < 0:
        return status
    if peeked.length > max_length or peeked.count > max_count:
        return E_BUFFER
    if not _free_slots_at_least(proc, peeked.count):
        return E_NOSLOTS
    e = _slot_endpoint(proc, table.slot_of(proc.table, desc))
    m = channel.dequeue(e)
    msg = channel.message(m)
    if msg.length > 0:
        rawmem.copy(data, msg.bytes, msg.length)
    owner = lease.in_flight(m)
    i = 0
    while i < msg.count:
        slot = _free_slot(proc)
        value = _occupy(proc, slot, table.read(msg.entries, i, table.OBJECT),
                        table.read(msg.entries, i, table.RIGHTS),
                        table.read(msg.entries, i, table.FLAGS),
                        table.read(msg.entries, i, table.EXPIRY))
        lease.retarget_owned(owner, i, proc.index, slot)
        rawmem.store_u64(values + i * WORD, value)
        i += 1
    _ipc.in_flight -= msg.count
    length = msg.length
    count = msg.count
    msg.count = 0                       # the descriptors moved out
    _uncharge(msg)
    channel.free_message(m)
    return length + (count << RECEIVED_COUNT_SHIFT)


def _call_peer(proc, desc):
    """Returns the peer endpoint index of a live endpoint descriptor with
    RIGHT_READ and RIGHT_WRITE (channel_call sends and receives through it),
    or E_BADDESC, E_DEAD, E_KIND, E_RIGHTS, E_CLOSED."""
    slot = _endpoint_named(proc, desc, RIGHT_WRITE)
    if slot < 0:
        return slot
    if not (table.read(proc.table, slot, table.RIGHTS) & RIGHT_READ):
        return E_RIGHTS
    e = _slot_endpoint(proc, slot)
    if e.peer < 0:
        return E_CLOSED
    return e.peer


CALL_RIGHTS = RIGHT_READ | RIGHT_WRITE


def call_endpoint(proc, desc):
    """channel_call's fast path, from a system call (interrupts are off
    there already): returns the index of the endpoint desc names when desc
    is a live endpoint descriptor with RIGHT_READ and RIGHT_WRITE whose peer
    is still open, else -1 (the general path then finds the error, in the
    documented order).  One look at the slot: what _call_peer checks, with
    the kind tested before the liveness (both must hold here)."""
    t = proc.table
    slot = table.slot_of(t, desc)
    if slot < 0:
        return -1
    ref = table.read(t, slot, table.OBJECT)
    if table.ref_kind(ref) != KIND_CHANNEL:
        return -1
    if table.read(t, slot, table.RIGHTS) & CALL_RIGHTS != CALL_RIGHTS:
        return -1
    if table.read(t, slot, table.FLAGS) & table.FLAG_EXPIRED:
        return -1
    index = table.ref_index(ref)
    e = channel.get(index)
    if not e.alive or e.peer < 0:
        return -1
    return index


def queue_empty(endpoint):
    """Returns True when nothing is queued in endpoint."""
    return channel.get(endpoint).head < 0


def endpoint_of(proc, desc):
    """Returns the endpoint index a descriptor channel_call checked names."""
    return table.ref_index(table.read(proc.table, table.slot_of(proc.table, desc),
                                      table.OBJECT))


def _ready(proc, desc):
    """Returns 1 when desc (RIGHT_WAIT) names an endpoint with a message
    queued or whose peer is gone, or a process that exited; 0 when not
    yet; E_BADDESC, E_DEAD, E_KIND (memory) or E_RIGHTS."""
    slot = _lookup_live(proc, desc)
    if slot < 0:
        return slot
    ref = table.read(proc.table, slot, table.OBJECT)
    kind = table.ref_kind(ref)
    if kind == KIND_MEMORY:
        return E_KIND
    if not (table.read(proc.table, slot, table.RIGHTS) & RIGHT_WAIT):
        return E_RIGHTS
    if kind == KIND_CHANNEL:
        e = channel.get(table.ref_index(ref))
        if e.head >= 0 or e.peer < 0:
            return 1
        return 0
    if process.get(table.ref_index(ref)).state != process.STATE_RUNNING:
        return 1
    return 0


# ------------------------------------------------------------ entry points
# Interrupts off for the whole operation (see the module docstring).  Written
# out one by one: a generic wrapper taking *args would build an argument
# tuple, a GC allocation on the system-call path (tests/obj/test_rpython.py
# checks the unoptimised graphs).

def allocate(proc, size, rights):
    flags = cpu.save_and_disable_interrupts()
    result = _allocate(proc, size, rights)
    cpu.restore_interrupts(flags)
    return result


def clone(proc, desc, rights):
    flags = cpu.save_and_disable_interrupts()
    result = _clone(proc, desc, rights)
    cpu.restore_interrupts(flags)
    return result


def borrow(proc, desc, duration):
    flags = cpu.save_and_disable_interrupts()
    result = _borrow(proc, desc, duration)
    cpu.restore_interrupts(flags)
    return result


def transfer(proc, desc, target):
    flags = cpu.save_and_disable_interrupts()
    result = _transfer(proc, desc, target)
    cpu.restore_interrupts(flags)
    return result


def release(proc, desc):
    flags = cpu.save_and_disable_interrupts()
    result = _release(proc, desc)
    if _ipc.unsettled:
        _settle()
    cpu.restore_interrupts(flags)
    return result


def map(proc, desc, vaddr, offset, length, prot):
    flags = cpu.save_and_disable_interrupts()
    result = _map(proc, desc, vaddr, offset, length, prot)
    cpu.restore_interrupts(flags)
    return result


def unmap(proc, vaddr, length):
    flags = cpu.save_and_disable_interrupts()
    result = _unmap(proc, vaddr, length)
    cpu.restore_interrupts(flags)
    return result


def describe(proc, desc, out):
    flags = cpu.save_and_disable_interrupts()
    result = _describe(proc, desc, out)
    cpu.restore_interrupts(flags)
    return result


def spawn(parent, rights):
    flags = cpu.save_and_disable_interrupts()
    result = _spawn(parent, rights)
    cpu.restore_interrupts(flags)
    return result


def grant(holder, target, rights, strong):
    flags = cpu.save_and_disable_interrupts()
    result = _grant(holder, target, rights, strong)
    cpu.restore_interrupts(flags)
    return result


def exit(proc, code):
    flags = cpu.save_and_disable_interrupts()
    result = _exit(proc, code)
    if _ipc.unsettled:
        _settle()
    cpu.restore_interrupts(flags)
    return result


def expire_leases(now):
    """Called by the timer with interrupts off: expires every lease due at
    tick now; returns how many expired."""
    return _expire_leases(now)


def channel_create(proc, rights, out):
    flags = cpu.save_and_disable_interrupts()
    result = _channel_create(proc, rights, out)
    cpu.restore_interrupts(flags)
    return result


def channel_send(proc, desc, data, length, values, count):
    flags = cpu.save_and_disable_interrupts()
    result = _channel_send(proc, desc, data, length, values, count)
    if _ipc.unsettled:
        _settle()
    cpu.restore_interrupts(flags)
    return result


def channel_peek(proc, desc, out):
    flags = cpu.save_and_disable_interrupts()
    result = _channel_peek(proc, desc, out)
    cpu.restore_interrupts(flags)
    return result


def channel_receive(proc, desc, max_length, max_count, data, values):
    flags = cpu.save_and_disable_interrupts()
    result = _channel_receive(proc, desc, max_length, max_count, data, values)
    cpu.restore_interrupts(flags)
    return result


def call_peer(proc, desc):
    flags = cpu.save_and_disable_interrupts()
    result = _call_peer(proc, desc)
    cpu.restore_interrupts(flags)
    return result


def ready(proc, desc):
    flags = cpu.save_and_disable_interrupts()
    result = _ready(proc, desc)
    cpu.restore_interrupts(flags)
    return result


def memory_named(proc, desc, right):
    flags = cpu.save_and_disable_interrupts()
    result = _lookup_live(proc, desc)
    if result >= 0:
        slot = result
        ref = table.read(proc.table, slot, table.OBJECT)
        if table.ref_kind(ref) != KIND_MEMORY:
            result = E_KIND
        elif not (table.read(proc.table, slot, table.RIGHTS) & right):
            result = E_RIGHTS
        else:
            result = table.ref_index(ref)
    cpu.restore_interrupts(flags)
    return result


def check_movable(proc, desc):
    slot = _lookup_live(proc, desc)
    if slot < 0:
        return slot
    if not (table.read(proc.table, slot, table.RIGHTS) & RIGHT_TRANSFER):
        return E_RIGHTS
    return 0


def reserve_slots(proc, count):
    reserved = 0
    while reserved < count:
        slot = _free_slot(proc)
        if slot < 0:
            slot = 0                    # undo what was reserved
            while slot < limits.DESCRIPTOR_SLOTS:
                if table.read(proc.table, slot, table.OBJECT) == table.RESERVED:
                    table.write(proc.table, slot, table.OBJECT, 0)
                slot += 1
            proc.free_hint = 0
            return E_NOSLOTS
        table.write(proc.table, slot, table.OBJECT, table.RESERVED)
        reserved += 1
    return 0


def move_into(proc, desc, dest, slot):
    flags = cpu.save_and_disable_interrupts()
    result = _move(proc, table.slot_of(proc.table, desc), dest, slot)
    cpu.restore_interrupts(flags)
    return result


def process_named(proc, desc, right):
    flags = cpu.save_and_disable_interrupts()
    slot = table.slot_of(proc.table, desc)
    result = slot
    if slot >= 0:
        ref = table.read(proc.table, slot, table.OBJECT)
        if table.ref_kind(ref) != KIND_PROCESS:
            result = E_KIND
        elif _slot_dead(proc, slot):
            result = E_DEAD
        elif not (table.read(proc.table, slot, table.RIGHTS) & right):
            result = E_RIGHTS
        else:
            result = table.ref_index(ref)
    cpu.restore_interrupts(flags)
    return result
