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
    process_named(proc, desc, right) -> the Process record index a process
        descriptor names (E_BADDESC, E_KIND, E_DEAD, E_RIGHTS without right);
        the record may be running or exited

Each public function runs with interrupts off (restoring them as they
were), so the timer's expiry never interleaves with an operation.
"""

from rpython.rlib.objectmodel import dont_inline

from elyz.abi import limits
from elyz.abi.description import Description
from elyz.abi.errors import (E_BADDESC, E_DEAD, E_EXITED, E_INVALID, E_KIND, E_LIMIT,
                             E_NOMEM, E_NOSLOTS, E_OVERLAP, E_RANGE, E_RIGHTS, E_ALIGN)
from elyz.abi.rights import (KIND_MEMORY, KIND_PROCESS, MEMORY_RIGHTS, PROCESS_RIGHTS,
                             PROT_ALL, PROT_EXEC, PROT_READ, PROT_WRITE, RIGHT_BORROW,
                             RIGHT_CLONE, RIGHT_GIVE, RIGHT_MAP, RIGHT_TRANSFER,
                             STRENGTH_STRONG, STRENGTH_WEAK)
from elyz.lib import clock
from elyz.obj import lease, mapping, memory, process, table
from elyz.rlib_kernel import cpu

PAGE_MASK = limits.PAGE_SIZE - 1


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


def reset_for_tests():
    """Untranslated only: the counts of an empty system."""
    _descriptors.strong = 0
    _descriptors.weak = 0


# ------------------------------------------------------------ helpers

def _object(ref):
    """Returns the record an OBJECT word names (Memory or Process)."""
    if table.ref_kind(ref) == KIND_MEMORY:
        return memory.get(table.ref_index(ref))
    return process.get(table.ref_index(ref))


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
    exit)."""
    obj.alive = False
    if obj.kind == KIND_MEMORY:
        mem = memory.get(obj.index)
        mapping.remove_all_of_object(mem)
        memory.destroy_frames(mem)


def _free_if_unreferenced(obj):
    if not obj.alive and obj.strong == 0 and obj.weak == 0:
        if obj.kind == KIND_MEMORY:
            memory.free_record(memory.get(obj.index))
        else:
            process.free_record(process.get(obj.index))


def _drop_reference(obj, strong):
    """Drops one strong or weak reference to obj, with what follows."""
    if strong:
        obj.strong -= 1
        if obj.strong == 0 and obj.alive:
            _die(obj)
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
    if kind == KIND_MEMORY:
        obj = memory.get(index)
    else:
        obj = process.get(index)
    status = _can_add_reference(obj, strong)
    if status < 0:
        return status
    flags = table.FLAG_STRONG if strong else table.FLAG_WEAK
    if expiry != 0:
        flags |= table.FLAG_LEASE
    value = _occupy(holder, slot, table.object_ref(kind, index), rights, flags, expiry)
    if expiry != 0:
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
        proc = process.get(lease.first_process())
        slot = lease.first_slot()
        lease.remove(proc, slot)
        table.write(proc.table, slot, table.FLAGS,
                    table.read(proc.table, slot, table.FLAGS) | table.FLAG_EXPIRED)
        mapping.remove_by_slot(proc, slot)
        expired += 1
    return expired


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
    cpu.restore_interrupts(flags)
    return result


def expire_leases(now):
    """Called by the timer with interrupts off: expires every lease due at
    tick now; returns how many expired."""
    return _expire_leases(now)


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
