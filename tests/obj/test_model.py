"""A reference model of the descriptor memory model, checked against the
real object layer by a Hypothesis state machine.

The model (plain Python, written from elyz/obj/api.py's contract, the
rights, limits and errors of elyz/abi and the issue's rules) keeps, for up
to six processes, every descriptor (object, strength, rights, lease expiry,
expired or not), every mapped user page (object, object page, and the
descriptor it was mapped through) and every object (alive, dead, record
freed).  Every call's return is predicted: the exact value or error, or,
where the contract leaves the order of checks open, the set of plausible
errors (the checks of one "phase" below).  A failed call must change
nothing: the model does not change, and heap bytes, frames and records
are compared before and after the call.

After every step the invariants compare the model with the machine:
describe() of every descriptor (kind, strength, rights, size, counts, expiry,
dead, state and exit code of a process), E_BADDESC for every released
value, the user pages of the real page tables (translate() against the
object's frames), the contents of live objects (zero, or the mark a
writable mapping stored), the record counts, and the frame accounting
(free == baseline - object frames - page-table frames - heap growth).
At teardown every process exits and everything must come back.

Error precedence assumed (the first phase with an applicable error decides;
within a phase any applicable error is accepted):
    1. E_BADDESC for the (first) descriptor argument
    2. that descriptor: E_DEAD, E_KIND, E_RIGHTS (rights needed, rights or
       protections asked beyond the descriptor's), E_INVALID for unknown
       rights/prot bits and write+execute; transfer: E_BADDESC for the
       target (the descriptor may be checked before the target is looked up)
    3. transfer's target: E_KIND, E_RIGHTS (no RIGHT_GIVE), E_DEAD, E_EXITED;
       other calls' other arguments: E_ALIGN, E_INVALID (length <= 0, bad
       duration), E_RANGE, E_LIMIT
    4. state: E_OVERLAP
    5. resources: E_NOSLOTS, E_NOMEM
allocate() has no descriptor argument: its size and rights checks form one
phase.  Two more points the contract leaves open are accepted either way:
a map() protection without PROT_READ may be refused with E_INVALID (at any
phase) or mapped, and expire_leases() may or may not count the leases of
objects that died before their expiry.
"""

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant,
                                 precondition, rule)

from elyz.abi import errors as E
from elyz.abi import limits as L
from elyz.abi import rights as R
from elyz.lib import clock, log
from elyz.mm import address_space, paging
from elyz.mm.pmm import pmm
from elyz.obj import api, memory, process
from elyz.rlib_kernel import rawmem
from tests.obj.conftest import HHDM, make_world, reset_objects

PAGE = L.PAGE_SIZE
WINDOW = 0x400000          # mappings go to WINDOW + k * PAGE, k < MAP_SLOTS
MAP_SLOTS = 32
WINDOW_PAGES = 48          # pages checked with translate (all the model can map)
KNOWN_RIGHTS = 0
for _name, _bit in R.RIGHT_NAMES:
    KNOWN_RIGHTS |= _bit
MAX_LIVE_PROCESSES = 6
STRENGTH = {True: R.STRENGTH_STRONG, False: R.STRENGTH_WEAK}
NONCANONICAL = 0x0000800000000000


def ename(code):
    if code >= 0:
        return str(code)
    return E.error_name(code)


def names(codes):
    return '{%s}' % ', '.join(sorted(ename(c) for c in codes))


# ---------------------------------------------------------------- the model

class MObject(object):
    """An object of the model: alive until its strong count reaches zero
    (dead), its record freed once both counts are zero (freed)."""

    def __init__(self, kind, index):
        self.kind = kind
        self.index = index
        self.dead = False
        self.freed = False


class MMemory(MObject):
    serials = [0]

    def __init__(self, index, pages):
        MObject.__init__(self, R.KIND_MEMORY, index)
        self.pages = pages
        self.serials[0] += 1
        self.serial = self.serials[0]
        self.written = set()     # pages a writable mapping stored a mark in

    def mark(self, page):
        """The word stored first and last in page through a writable mapping."""
        return (1 << 40) | (self.serial << 8) | page

    def frame(self, page):
        return memory.frame(memory.get(self.index), page)

    def __repr__(self):
        return 'M%d(%dp%s)' % (self.index, self.pages, ' dead' if self.dead else '')


class MProcess(MObject):
    def __init__(self, index, record):
        MObject.__init__(self, R.KIND_PROCESS, index)
        self.record = record
        self.running = True
        self.exit_code = 0
        self.descs = {}          # value -> MDesc
        self.history = set()     # every value ever handed out in this table
        self.stale = []          # released / moved-away values
        self.pages = {}          # vaddr -> (MMemory, object page, MDesc)
        self.tables = 0          # table_frames(space), cached
        self.tables_dirty = True

    def __repr__(self):
        return 'P%d(%s)' % (self.index, 'running' if self.running else
                            'exited %d' % self.exit_code)


class MDesc(object):
    def __init__(self, owner, value, obj, strong, rights, expiry):
        self.owner = owner
        self.value = value
        self.obj = obj
        self.strong = strong
        self.rights = rights
        self.expiry = expiry     # 0: never
        self.expired = False

    def dead(self):
        return self.obj.dead or self.expired

    def __repr__(self):
        return 'D(%d %r %s r=%#x exp=%d%s)' % (
            self.value, self.obj, 'strong' if self.strong else 'weak',
            self.rights, self.expiry, ' expired' if self.expired else '')


def first_phase(phases):
    """The errors of the first phase that has one, or None (success)."""
    for phase in phases:
        codes = set(c for c in phase if c is not None)
        if codes:
            return codes
    return None


class ObjectModel(RuleBasedStateMachine):

    def __init__(self):
        RuleBasedStateMachine.__init__(self)
        self.world = make_world()
        self.base_free = self.world.frames_free()
        self.base_heap_pages = self.world.heap_pages()
        self.base_heap_bytes = self.world.heap.bytes_in_use
        self.procs = []
        self.mems = []
        self.now = 0
        self.consistent = True
        for _ in range(3):
            self._spawn()

    # ------------------------------------------------------------ helpers

    def running(self):
        return [p for p in self.procs if p.running]

    def all_descs(self):
        for p in self.procs:
            for d in p.descs.values():
                yield d

    def strong_count(self, obj):
        n = sum(1 for d in self.all_descs() if d.obj is obj and d.strong)
        if isinstance(obj, MProcess) and obj.running:
            n += 1
        return n

    def weak_count(self, obj):
        return sum(1 for d in self.all_descs() if d.obj is obj and not d.strong)

    def remove_mappings(self, keep):
        for p in self.procs:
            kept = dict((va, m) for va, m in p.pages.items() if keep(m))
            if len(kept) != len(p.pages):
                p.pages = kept
                p.tables_dirty = True

    def settle(self):
        """Kills objects whose strong count reached zero and frees records
        with both counts zero."""
        for obj in self.mems + self.procs:
            if obj.freed:
                continue
            if not obj.dead and self.strong_count(obj) == 0:
                obj.dead = True
                if isinstance(obj, MMemory):
                    self.remove_mappings(lambda m, o=obj: m[0] is not o)
            if obj.dead and self.weak_count(obj) == 0:
                obj.freed = True

    def drop_desc(self, d):
        p = d.owner
        del p.descs[d.value]
        p.stale.append(d.value)
        self.remove_mappings(lambda m: m[2] is not d)

    def add_desc(self, p, value, obj, strong, rights, expiry):
        assert value >= L.DESCRIPTOR_SLOTS, 'not a descriptor value: %d' % value
        assert value not in p.history, 'value %d reissued in %r' % (value, p)
        p.history.add(value)
        d = MDesc(p, value, obj, strong, rights, expiry)
        p.descs[value] = d
        return d

    def _spawn(self):
        index = api.spawn(None, 0)
        assert index >= 0, ename(index)
        assert index not in [p.index for p in self.procs if not p.freed]
        p = MProcess(index, process.get(index))
        self.procs.append(p)
        return p

    def _exit(self, p, code):
        for d in list(p.descs.values()):
            self.drop_desc(d)
        p.pages = {}
        p.running = False
        p.exit_code = code
        p.tables = 0
        p.tables_dirty = False
        self.settle()

    def snapshot(self):
        """What a failed call must leave as it was (beyond what the
        invariants compare with the model): heap bytes, frames (a heap page
        taken and kept counts as no change), records."""
        return (self.world.heap.bytes_in_use,
                self.world.frames_free() + self.world.heap_pages(),
                memory.records_in_use(), process.records_in_use(),
                memory.live_frames())

    def call(self, function, *args):
        self.before = self.snapshot()
        return function(*args)

    def expect(self, what, result, phases, also=()):
        """Checks result against the phases; returns True on success.
        also: outcomes accepted besides the predicted ones (ambiguities).
        A failure must have changed nothing (self.before, from call())."""
        errors = first_phase(phases)
        if errors is None:
            allowed = set(also)
            if result >= 0:
                return True
            assert result in allowed, '%s: expected success, got %s' % (what, ename(result))
        else:
            allowed = errors | set(also)
            assert result in allowed, '%s: expected %s, got %s' % (what, names(allowed),
                                                                  ename(result))
            if result >= 0:
                return True
        after = self.snapshot()
        assert after == self.before, '%s failed with %s but changed %r into %r' % (
            what, ename(result), self.before, after)
        return False

    def pick_proc(self, data):
        return data.draw(st.sampled_from(self.running()), label='proc')

    def pick_value(self, data, p, kinds=None):
        """A descriptor value for p: mostly a current one, else a stale one
        or garbage."""
        current = sorted(v for v, d in p.descs.items()
                         if kinds is None or d.obj.kind in kinds)
        choice = data.draw(st.integers(0, 9), label='which')
        if choice < 8 and current:
            return data.draw(st.sampled_from(current), label='desc')
        if choice < 9 and p.stale:
            return data.draw(st.sampled_from(p.stale), label='stale')
        return data.draw(st.sampled_from(
            [0, -1, 1, 7, L.DESCRIPTOR_SLOTS - 1, 200 * L.DESCRIPTOR_SLOTS + 3,
             L.DESCRIPTOR_GENERATION_LIMIT * L.DESCRIPTOR_SLOTS + 1]), label='garbage')

    # ------------------------------------------------------------ set-up

    @initialize(data=st.data())
    def grants(self, data):
        """Process descriptors between the first processes (self included)
        and a few MemoryObjects in each."""
        for holder in list(self.procs):
            for target in list(self.procs):
                how = data.draw(st.integers(0, 3), label='grant')
                if how:
                    self._grant(holder, target, how == 1, data)
        for p in list(self.procs):
            for _ in range(data.draw(st.integers(0, 2), label='objects')):
                self._allocate(p, data)

    def _grant(self, holder, target, strong, data):
        rights = data.draw(st.integers(0, KNOWN_RIGHTS), label='rights')
        if data.draw(st.booleans(), label='give'):
            rights |= R.RIGHT_GIVE | R.RIGHT_TRANSFER
        rights &= R.PROCESS_RIGHTS
        value = api.grant(holder.record, target.record, rights, strong)
        assert value >= 0, 'grant: %s' % ename(value)
        self.add_desc(holder, value, target, strong, rights, 0)

    # ------------------------------------------------------------ rules

    @precondition(lambda self: len([p for p in self.procs if not p.freed]) < MAX_LIVE_PROCESSES)
    @rule()
    def spawn(self):
        self._spawn()

    @rule(data=st.data(), strong=st.booleans())
    def grant(self, data, strong):
        holder = self.pick_proc(data)
        target = self.pick_proc(data)
        self._grant(holder, target, strong, data)

    @rule(data=st.data())
    def allocate(self, data):
        self._allocate(self.pick_proc(data), data)

    def _allocate(self, p, data):
        if data.draw(st.integers(0, 15), label='valid size') < 14:
            pages = data.draw(st.integers(1, 5), label='pages')
            size = (pages - 1) * PAGE + data.draw(st.sampled_from([PAGE, 1, PAGE - 1, 100]))
        else:
            # (E_NOMEM for sizes the RAM cannot hold costs seconds per call:
            # test_allocate_nomem covers it.)
            size = data.draw(st.sampled_from([0, -1, -PAGE, L.MAX_OBJECT_SIZE + 1,
                                              L.MAX_OBJECT_SIZE + PAGE]), label='size')
            pages = (size + PAGE - 1) // PAGE
        how = data.draw(st.integers(0, 3), label='rights how')
        if how < 2:
            rights = R.MEMORY_RIGHTS
        elif how == 2:
            rights = R.MEMORY_RIGHTS & ~data.draw(st.sampled_from(
                [b for _, b in R.RIGHT_NAMES]), label='dropped')
        else:
            rights = data.draw(st.integers(0, R.MEMORY_RIGHTS), label='rights')
        if data.draw(st.integers(0, 9), label='bad rights') == 0:
            rights |= data.draw(st.sampled_from([R.RIGHT_WAIT, R.RIGHT_GIVE, 1 << 9, 1 << 20]))
        result = self.call(api.allocate, p.record, size, rights)
        phases = [
            [E.E_INVALID if size <= 0 else None,
             E.E_LIMIT if size > L.MAX_OBJECT_SIZE else None,
             E.E_INVALID if rights & ~R.MEMORY_RIGHTS else None,
             E.E_RIGHTS if rights & ~R.MEMORY_RIGHTS & KNOWN_RIGHTS else None],
            [E.E_NOSLOTS if len(p.descs) >= L.DESCRIPTOR_SLOTS else None,
             E.E_NOMEM if pages > self.world.frames_free() else None],
        ]
        if not self.expect('allocate(%d, %#x)' % (size, rights), result, phases):
            return
        known = set(m.index for m in self.mems if not m.freed)
        new = [i for i in range(L.MAX_MEMORY_OBJECTS)
               if memory.get(i).in_use and i not in known]
        assert len(new) == 1, 'allocate: new records %r' % new
        obj = MMemory(new[0], pages)
        self.mems.append(obj)
        self.add_desc(p, result, obj, True, rights, 0)

    @rule(data=st.data())
    def clone(self, data):
        p = self.pick_proc(data)
        value = self.pick_value(data, p)
        d = p.descs.get(value)
        base = d.rights if d is not None else data.draw(st.integers(0, KNOWN_RIGHTS))
        how = data.draw(st.integers(0, 9), label='rights how')
        if how < 4:
            rights = base & ~data.draw(st.sampled_from([0] + [b for _, b in R.RIGHT_NAMES]),
                                       label='dropped')
        elif how < 7:
            rights = base & data.draw(st.integers(0, KNOWN_RIGHTS), label='mask')
        elif how < 9:
            rights = base | data.draw(st.sampled_from([b for _, b in R.RIGHT_NAMES] + [1 << 9]),
                                      label='extra')
        else:
            rights = data.draw(st.integers(0, 0x3ff), label='any rights')
        result = self.call(api.clone, p.record, value, rights)
        phases = [[E.E_BADDESC if d is None else None]]
        if d is not None:
            extra = rights & ~d.rights
            kind_rights = R.rights_of_kind(d.obj.kind)
            phases.append([
                E.E_RIGHTS if not d.rights & R.RIGHT_CLONE else None,
                E.E_DEAD if d.dead() else None,
                E.E_RIGHTS if extra else None,
                E.E_INVALID if extra & ~kind_rights else None,
            ])
            phases.append([E.E_NOSLOTS if len(p.descs) >= L.DESCRIPTOR_SLOTS else None])
        if not self.expect('clone(%d %r, %#x)' % (value, d, rights), result, phases):
            return
        self.add_desc(p, result, d.obj, d.strong, rights, d.expiry)

    @rule(data=st.data())
    def borrow(self, data):
        p = self.pick_proc(data)
        value = self.pick_value(data, p, kinds=(R.KIND_MEMORY,)
                                if data.draw(st.integers(0, 3), label='memory') else None)
        d = p.descs.get(value)
        if data.draw(st.integers(0, 19), label='valid duration') < 18:
            duration = data.draw(st.sampled_from([1, 2, 3, 5, 0]), label='duration')
        else:
            duration = data.draw(st.sampled_from([-1, L.MAX_LEASE_TICKS + 1,
                                                  L.MAX_LEASE_TICKS]), label='duration')
        self._borrow(p, value, duration)

    def _borrow(self, p, value, duration):
        """borrow() checked against the model; returns the new MDesc or None."""
        d = p.descs.get(value)
        result = self.call(api.borrow, p.record, value, duration)
        phases = [[E.E_BADDESC if d is None else None]]
        if d is not None:
            phases.append([E.E_RIGHTS if not d.rights & R.RIGHT_BORROW else None,
                           E.E_DEAD if d.dead() else None])
            phases.append([E.E_INVALID if duration < 0 else None,
                           E.E_LIMIT if duration > L.MAX_LEASE_TICKS else None,
                           E.E_INVALID if duration > L.MAX_LEASE_TICKS else None])
            phases.append([E.E_NOSLOTS if len(p.descs) >= L.DESCRIPTOR_SLOTS else None])
        if not self.expect('borrow(%d %r, %d)' % (value, d, duration), result, phases):
            return None
        if duration == 0:
            expiry = d.expiry
        else:
            expiry = self.now + duration
            if d.expiry:
                expiry = min(expiry, d.expiry)
        return self.add_desc(p, result, d.obj, False, d.rights, expiry)

    @rule(data=st.data())
    def transfer(self, data):
        p = self.pick_proc(data)
        value = self.pick_value(data, p)
        if data.draw(st.integers(0, 9), label='target how') < 8:
            target = self.pick_value(data, p, kinds=(R.KIND_PROCESS,))
        else:
            target = self.pick_value(data, p)
        d = p.descs.get(value)
        t = p.descs.get(target)
        result = self.call(api.transfer, p.record, value, target)
        # The descriptor is checked before the target is looked up, or the
        # two are looked up first: either order is accepted.
        phases = [[E.E_BADDESC if d is None else None]]
        dest = None
        if d is not None:
            phases.append([
                E.E_RIGHTS if not d.rights & R.RIGHT_TRANSFER else None,
                E.E_DEAD if d.dead() else None,
                E.E_BADDESC if t is None else None])
        if d is not None and t is not None:
            is_process = t.obj.kind == R.KIND_PROCESS
            phases.append([
                E.E_KIND if not is_process else None,
                E.E_RIGHTS if not t.rights & R.RIGHT_GIVE else None,
                E.E_DEAD if t.dead() else None,
                E.E_EXITED if is_process and not t.dead() and not t.obj.running else None,
            ])
            if is_process:
                dest = t.obj
                full = len(dest.descs) - (1 if dest is p else 0) >= L.DESCRIPTOR_SLOTS
                phases.append([E.E_NOSLOTS if full else None])
        if not self.expect('transfer(%d %r, %d %r)' % (value, d, target, t), result, phases):
            return
        self.drop_desc(d)
        self.add_desc(dest, result, d.obj, d.strong, d.rights, d.expiry)
        self.settle()

    @rule(data=st.data())
    def release(self, data):
        p = self.pick_proc(data)
        value = self.pick_value(data, p)
        d = p.descs.get(value)
        result = self.call(api.release, p.record, value)
        phases = [[E.E_BADDESC if d is None else None]]
        if not self.expect('release(%d %r)' % (value, d), result, phases):
            return
        assert result == 0, 'release: %d' % result
        self.drop_desc(d)
        self.settle()

    @rule(data=st.data())
    def map(self, data):
        holders = [q for q in self.running()
                   if any(d.obj.kind == R.KIND_MEMORY for d in q.descs.values())]
        if holders and data.draw(st.integers(0, 4), label='holder'):
            p = data.draw(st.sampled_from(holders), label='proc')
        else:
            p = self.pick_proc(data)
        value = self.pick_value(data, p, kinds=(R.KIND_MEMORY,)
                               if data.draw(st.integers(0, 9)) else None)
        d = p.descs.get(value)
        how = data.draw(st.integers(0, 19), label='valid args')
        vaddr = WINDOW + data.draw(st.integers(0, MAP_SLOTS - 1), label='slot') * PAGE
        if how < 12 and d is not None and d.obj.kind == R.KIND_MEMORY:
            first = data.draw(st.integers(0, d.obj.pages - 1), label='offset page')
            offset = first * PAGE
            length = data.draw(st.integers(1, d.obj.pages - first), label='length pages') * PAGE
        else:
            offset = data.draw(st.integers(0, 5), label='offset pages') * PAGE
            length = data.draw(st.integers(1, 6), label='length pages') * PAGE
        if how == 17:
            vaddr = data.draw(st.sampled_from([0, WINDOW + 0x800, L.USER_END,
                                               L.USER_END - PAGE, NONCANONICAL]), label='vaddr')
        elif how == 18:
            offset = data.draw(st.sampled_from([0x800, -PAGE, 1]), label='offset')
        elif how == 19:
            length = data.draw(st.sampled_from([0, 0x1800, -PAGE, 1]), label='length')
        if how < 15 and d is not None:
            prot = data.draw(st.sampled_from([R.PROT_READ, R.PROT_READ | R.PROT_WRITE,
                                              R.PROT_READ | R.PROT_EXEC]), label='prot')
        else:
            prot = data.draw(st.integers(0, 15), label='prot')
        self._map(p, value, vaddr, offset, length, prot)

    def _map(self, p, value, vaddr, offset, length, prot):
        """map() checked against the model; returns True when it mapped."""
        d = p.descs.get(value)
        result = self.call(api.map, p.record, value, vaddr, offset, length, prot)
        p.tables_dirty = True
        phases = [[E.E_BADDESC if d is None else None]]
        also = ()
        if d is not None:
            is_memory = d.obj.kind == R.KIND_MEMORY
            phases.append([
                E.E_KIND if not is_memory else None,
                E.E_RIGHTS if not is_memory else None,
                E.E_DEAD if d.dead() else None,
                E.E_RIGHTS if not d.rights & R.RIGHT_MAP else None,
                E.E_RIGHTS if prot & R.PROT_ALL & ~d.rights else None,
                E.E_INVALID if prot & ~R.PROT_ALL else None,
                E.E_INVALID if prot & R.PROT_WRITE and prot & R.PROT_EXEC else None,
            ])
            size = d.obj.pages * PAGE if is_memory else 0
            phases.append([
                E.E_ALIGN if vaddr % PAGE or offset % PAGE or length % PAGE else None,
                E.E_INVALID if length <= 0 else None,
                E.E_RANGE if length < 0 else None,
                E.E_RANGE if offset < 0 else None,
                E.E_INVALID if offset < 0 else None,
                E.E_RANGE if vaddr < L.USER_START or vaddr + length > L.USER_END else None,
                E.E_RANGE if is_memory and offset + length > size else None,
            ])
            overlap = length > 0 and any(vaddr + k * PAGE in p.pages
                                         for k in range(length // PAGE))
            phases.append([E.E_OVERLAP if overlap else None])
            if not prot & R.PROT_READ:
                # A protection without PROT_READ is not named by the
                # contract: address_space.page_flags makes every user mapping
                # readable, so the kernel may refuse it (E_INVALID, checked
                # at any point) or map it.
                also = (E.E_INVALID,)
        desc = 'map(%d %r, %#x, %#x, %#x, prot=%d)' % (value, d, vaddr, offset, length, prot)
        if not self.expect(desc, result, phases, also):
            return False
        assert result == 0, '%s: %d' % (desc, result)
        for k in range(length // PAGE):
            page = offset // PAGE + k
            p.pages[vaddr + k * PAGE] = (d.obj, page, d)
            if prot & R.PROT_WRITE:
                # What a user write through the mapping would leave: the
                # frame must keep it while the object lives, and a later
                # object must not see it.
                phys = d.obj.frame(page)
                rawmem.store_u64(HHDM + phys, d.obj.mark(page))
                rawmem.store_u64(HHDM + phys + PAGE - 8, d.obj.mark(page))
                d.obj.written.add(page)
        return True

    @rule(data=st.data())
    def lease_and_map(self, data):
        """A lease of a live MemoryObject (or of a lease) mapped at once,
        so that expiry, death and release find mappings made through
        leases."""
        cands = [d for q in self.running() for d in q.descs.values()
                 if d.obj.kind == R.KIND_MEMORY and not d.dead()
                 and d.rights & R.RIGHT_BORROW]
        if not cands:
            return
        d = data.draw(st.sampled_from(sorted(cands, key=lambda c: (c.owner.index, c.value))),
                      label='lent')
        p = d.owner
        lease = self._borrow(p, d.value, data.draw(st.sampled_from([1, 2, 3, 0]),
                                                   label='duration'))
        if lease is None:
            return
        first = data.draw(st.integers(0, d.obj.pages - 1), label='offset page')
        length = data.draw(st.integers(1, d.obj.pages - first), label='length pages')
        vaddr = WINDOW + data.draw(st.integers(0, MAP_SLOTS - 1), label='slot') * PAGE
        self._map(p, lease.value, vaddr, first * PAGE, length * PAGE,
                  data.draw(st.sampled_from([R.PROT_READ, R.PROT_READ | R.PROT_WRITE]),
                            label='prot'))

    @rule(data=st.data())
    def unmap(self, data):
        p = self.pick_proc(data)
        vaddr = WINDOW + data.draw(st.integers(0, WINDOW_PAGES - 8), label='page') * PAGE
        length = data.draw(st.integers(1, 8), label='pages') * PAGE
        how = data.draw(st.integers(0, 15), label='valid args')
        if how == 14:
            vaddr = data.draw(st.sampled_from([0, WINDOW + 1, L.USER_END, NONCANONICAL]),
                              label='vaddr')
        elif how == 15:
            length = data.draw(st.sampled_from([0, 0x800, -PAGE]), label='length')
        result = self.call(api.unmap, p.record, vaddr, length)
        p.tables_dirty = True
        phases = [[
            E.E_ALIGN if vaddr % PAGE or length % PAGE else None,
            E.E_INVALID if length <= 0 else None,
            E.E_RANGE if length < 0 else None,
            E.E_RANGE if vaddr < L.USER_START or vaddr + length > L.USER_END else None,
        ]]
        also = (0,) if length == 0 else ()
        desc = 'unmap(%#x, %#x)' % (vaddr, length)
        if not self.expect(desc, result, phases, also):
            return
        gone = [vaddr + k * PAGE for k in range(length // PAGE)
                if vaddr + k * PAGE in p.pages]
        assert result == len(gone), '%s: %d pages, expected %d' % (desc, result, len(gone))
        for va in gone:
            del p.pages[va]

    @rule(data=st.data())
    def stale_value(self, data):
        """A released value of some process used again: E_BADDESC for
        every operation."""
        p = self.pick_proc(data)
        if not p.stale:
            return
        value = data.draw(st.sampled_from(p.stale), label='stale')
        assert value not in p.descs
        other = sorted(p.descs) or [value]
        target = data.draw(st.sampled_from(other), label='other')
        # transfer(target, stale): target is checked first when it lacks
        # RIGHT_TRANSFER or is dead, or the stale value is looked up first.
        d = p.descs.get(target)
        first = set([E.E_BADDESC])
        if d is not None and not d.rights & R.RIGHT_TRANSFER:
            first.add(E.E_RIGHTS)
        if d is not None and d.dead():
            first.add(E.E_DEAD)
        out = api.Description()
        calls = [
            ('describe', lambda: api.describe(p.record, value, out), [E.E_BADDESC]),
            ('clone', lambda: api.clone(p.record, value, 0), [E.E_BADDESC]),
            ('borrow', lambda: api.borrow(p.record, value, 0), [E.E_BADDESC]),
            ('map', lambda: api.map(p.record, value, WINDOW, 0, PAGE, R.PROT_READ),
             [E.E_BADDESC]),
            ('transfer', lambda: api.transfer(p.record, value, target), [E.E_BADDESC]),
            ('transfer to', lambda: api.transfer(p.record, target, value), first),
            ('release', lambda: api.release(p.record, value), [E.E_BADDESC])]
        for what, function, allowed in calls:
            result = self.call(function)
            assert result in allowed, '%s(stale %d): %s' % (what, value, ename(result))
            assert self.snapshot() == self.before, '%s(stale %d) changed %r into %r' % (
                what, value, self.before, self.snapshot())

    @rule(ticks=st.integers(1, 4))
    def tick(self, ticks):
        for _ in range(ticks):
            clock.tick()
            result = api.expire_leases(clock.ticks())
            self.now += 1
            expiring = [d for d in self.all_descs()
                        if d.expiry and not d.expired and d.expiry <= self.now]
            # Whether a lease of an object that already died still counts
            # when its time comes is not said: either count is accepted.
            counts = set([len(expiring), len([d for d in expiring if not d.obj.dead])])
            assert result in counts, 'expire_leases(%d): %s, expected %r' % (
                self.now, ename(result), sorted(counts))
            for d in expiring:
                d.expired = True
            ids = set(id(d) for d in expiring)
            self.remove_mappings(lambda m: id(m[2]) not in ids)

    @precondition(lambda self: len(self.running()) >= 2)
    @rule(data=st.data(), code=st.integers(0, 255))
    def exit(self, data, code):
        p = self.pick_proc(data)
        result = api.exit(p.record, code)
        assert result == 0, 'exit: %s' % ename(result)
        self._exit(p, code)

    # ------------------------------------------------------------ checks

    def check_desc(self, d):
        p = d.owner
        out = api.Description()
        result = api.describe(p.record, d.value, out)
        what = 'describe(%r) in %r' % (d, p)
        assert result == 0, '%s: %s' % (what, ename(result))
        got = dict(kind=out.kind, strength=out.strength, rights=out.rights,
                   strong=out.strong, weak=out.weak, expiry=out.expiry, dead=out.dead)
        want = dict(kind=d.obj.kind, strength=STRENGTH[d.strong], rights=d.rights,
                    strong=self.strong_count(d.obj), weak=self.weak_count(d.obj),
                    expiry=d.expiry, dead=d.dead())
        if isinstance(d.obj, MMemory):
            got['size'] = out.size
            want['size'] = d.obj.pages * PAGE
        elif not d.dead():
            got['state'] = out.state
            want['state'] = process.STATE_RUNNING if d.obj.running else process.STATE_EXITED
            if not d.obj.running:
                got['exit_code'] = out.exit_code
                want['exit_code'] = d.obj.exit_code
        assert got == want, '%s:\n got  %r\n want %r' % (what, sorted(got.items()),
                                                         sorted(want.items()))

    @invariant()
    def check_all(self):
        assert clock.ticks() == self.now
        for p in self.running():
            for d in p.descs.values():
                self.check_desc(d)
            out = api.Description()
            for value in p.stale:
                result = api.describe(p.record, value, out)
                assert result == E.E_BADDESC, 'describe(stale %d) in %r: %s' % (
                    value, p, ename(result))
            for k in range(WINDOW_PAGES):
                va = WINDOW + k * PAGE
                phys = address_space.translate(p.record.space, va)
                m = p.pages.get(va)
                if m is None:
                    assert phys < 0, '%r: %#x maps %#x, the model has nothing' % (p, va, phys)
                else:
                    obj, page, via = m
                    assert not obj.dead and not via.dead()
                    want = obj.frame(page)
                    assert phys == want, '%r: %#x maps %s, the model says %r page %d (%#x)' % (
                        p, va, ename(phys) if phys < 0 else hex(phys), obj, page, want)
            if p.tables_dirty:
                p.tables = address_space.table_frames(p.record.space)
                assert paging.wrong_counts(p.record.space) == 0, \
                    '%r: a count of present entries is wrong' % p
                p.tables_dirty = False
            # Every mapping lies in one 2 MiB range: one page table and its
            # parents while anything is mapped, the top level alone otherwise.
            assert p.tables == (4 if p.pages else 1), '%r: %d table frames, %d pages' % (
                p, p.tables, len(p.pages))
        mems = [m for m in self.mems if not m.freed]
        procs = [q for q in self.procs if not q.freed]
        assert memory.records_in_use() == len(mems), (memory.records_in_use(), mems)
        assert process.records_in_use() == len(procs), (process.records_in_use(), procs)
        for m in mems:
            assert memory.get(m.index).in_use, m
            if m.dead:
                continue
            for page in range(m.pages):
                phys = m.frame(page)
                want = m.mark(page) if page in m.written else 0
                got = (rawmem.load_u64(HHDM + phys), rawmem.load_u64(HHDM + phys + PAGE - 8))
                assert got == (want, want), '%r page %d (%#x) holds %r, not %#x' % (
                    m, page, phys, got, want)
        live = sum(m.pages for m in mems if not m.dead)
        assert memory.live_frames() == live, (memory.live_frames(), live)
        tables = sum(q.tables for q in self.running())
        growth = self.world.heap_pages() - self.base_heap_pages
        free = self.world.frames_free()
        assert free == self.base_free - live - tables - growth, (
            'free %d, baseline %d - objects %d - tables %d - heap growth %d' % (
                free, self.base_free, live, tables, growth))
        self.consistent = True

    def execute_step(self, step):
        self.consistent = False
        return RuleBasedStateMachine.execute_step(self, step)

    def teardown(self):
        try:
            if self.consistent:
                for p in self.running():
                    assert api.exit(p.record, 0) == 0
                    self._exit(p, 0)
                assert all(o.freed for o in self.procs + self.mems), (self.procs, self.mems)
                assert memory.records_in_use() == 0
                assert process.records_in_use() == 0
                assert memory.live_frames() == 0
                assert self.world.heap.bytes_in_use == self.base_heap_bytes, (
                    self.world.heap.bytes_in_use, self.base_heap_bytes)
                growth = self.world.heap_pages() - self.base_heap_pages
                assert self.world.frames_free() == self.base_free - growth, (
                    self.world.frames_free(), self.base_free, growth)
        finally:
            reset_objects()
            pmm.reset()
            paging.set_hhdm_offset(0)
            log.reset_for_tests()


ObjectModel = settings(max_examples=75, stateful_step_count=40, deadline=None,
                       database=None,
                       suppress_health_check=[HealthCheck.too_slow,
                                              HealthCheck.filter_too_much])(ObjectModel)
TestObjectModel = ObjectModel.TestCase


# ---------------------------------------------------------------- fixed cases

ALL_PROCESS = R.PROCESS_RIGHTS


def _describe(proc, value):
    out = api.Description()
    result = api.describe(proc, value, out)
    return result, out


@pytest.mark.parametrize('a_first', [True, False])
@pytest.mark.parametrize('watch', [True, False])
def test_strong_cycle_is_reclaimed(world, a_first, watch):
    base_free = world.frames_free()
    base_heap_pages = world.heap_pages()
    base_bytes = world.heap.bytes_in_use
    keeper = process.get(api.spawn(None, 0))
    a = process.get(api.spawn(None, 0))
    b = process.get(api.spawn(None, 0))
    assert api.grant(a, b, ALL_PROCESS, True) > 0
    assert api.grant(b, a, ALL_PROCESS, True) > 0
    self_a = api.grant(a, a, ALL_PROCESS, True)
    assert self_a > 0
    watchers = {}
    if watch:
        for proc in (a, b):
            watchers[proc.index] = api.grant(keeper, proc, R.RIGHT_WAIT, False)
            assert watchers[proc.index] > 0
    for proc in (a, b):
        m = api.allocate(proc, 2 * PAGE, R.MEMORY_RIGHTS)
        assert m > 0
        assert api.map(proc, m, WINDOW, 0, 2 * PAGE, R.PROT_READ | R.PROT_WRITE) == 0
    result, out = _describe(a, self_a)
    assert result == 0
    assert (out.strong, out.weak) == (3, 1 if watch else 0)
    assert process.records_in_use() == 3
    assert memory.records_in_use() == 2

    first, second = (a, b) if a_first else (b, a)
    assert api.exit(first, 7) == 0
    assert process.records_in_use() == 3          # a zombie: second holds it
    assert memory.records_in_use() == 1
    if watch:
        result, out = _describe(keeper, watchers[first.index])
        assert result == 0
        assert not out.dead
        assert (out.state, out.exit_code) == (process.STATE_EXITED, 7)
        assert (out.strong, out.weak) == (1, 1)
    assert api.exit(second, 9) == 0
    assert memory.records_in_use() == 0
    if watch:
        assert process.records_in_use() == 3      # weak descriptors keep the records
        for proc in (a, b):
            result, out = _describe(keeper, watchers[proc.index])
            assert result == 0
            assert out.dead
            assert (out.strong, out.weak) == (0, 1)
            assert api.release(keeper, watchers[proc.index]) == 0
    assert process.records_in_use() == 1
    assert api.exit(keeper, 0) == 0
    assert process.records_in_use() == 0
    assert world.heap.bytes_in_use == base_bytes
    assert world.frames_free() == base_free - (world.heap_pages() - base_heap_pages)


def test_allocate_nomem(world):
    """An object larger than the free RAM: E_NOMEM and nothing taken."""
    p = process.get(api.spawn(None, 0))
    free = world.frames_free()
    heap_bytes = world.heap.bytes_in_use
    heap_pages = world.heap_pages()
    for size in (32 << 20, L.MAX_OBJECT_SIZE):
        assert api.allocate(p, size, R.MEMORY_RIGHTS) == E.E_NOMEM
        assert world.heap.bytes_in_use == heap_bytes
        assert world.frames_free() == free - (world.heap_pages() - heap_pages)
        assert memory.records_in_use() == 0
    assert api.allocate(p, L.MAX_OBJECT_SIZE + 1, R.MEMORY_RIGHTS) == E.E_LIMIT
    value = api.allocate(p, PAGE, R.MEMORY_RIGHTS)
    assert value > 0
    assert api.exit(p, 0) == 0
    assert process.records_in_use() == 0 and memory.records_in_use() == 0


def test_full_table(world):
    """E_NOSLOTS from allocate, clone, borrow and a transfer into a full
    table (the caller keeps its descriptor and its mapping)."""
    p = process.get(api.spawn(None, 0))
    q = process.get(api.spawn(None, 0))
    to_q = api.grant(p, q, R.RIGHT_GIVE, True)
    assert to_q > 0
    m = api.allocate(q, PAGE, R.MEMORY_RIGHTS)
    values = set([m])
    while len(values) < L.DESCRIPTOR_SLOTS:
        v = api.clone(q, m, R.MEMORY_RIGHTS)
        assert v > 0 and v not in values, v
        values.add(v)
    assert api.allocate(q, PAGE, R.MEMORY_RIGHTS) == E.E_NOSLOTS
    assert api.clone(q, m, R.MEMORY_RIGHTS) == E.E_NOSLOTS
    assert api.borrow(q, m, 0) == E.E_NOSLOTS
    mine = api.allocate(p, PAGE, R.MEMORY_RIGHTS)
    assert api.map(p, mine, WINDOW, 0, PAGE, R.PROT_READ) == 0
    phys = address_space.translate(p.space, WINDOW)
    assert phys > 0
    assert api.transfer(p, mine, to_q) == E.E_NOSLOTS
    assert address_space.translate(p.space, WINDOW) == phys
    result, out = _describe(p, mine)
    assert result == 0 and out.strong == 1
    assert api.release(q, m) == 0
    moved = api.transfer(p, mine, to_q)
    assert moved > 0
    assert address_space.translate(p.space, WINDOW) < 0
    assert api.describe(p, mine, api.Description()) == E.E_BADDESC
    assert api.exit(q, 0) == 0
    assert api.exit(p, 0) == 0
    assert process.records_in_use() == 0
    assert memory.records_in_use() == 0
