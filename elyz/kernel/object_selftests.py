"""Self-tests of the object and descriptor API (elyz/obj/api.py), run in the
translated kernel (`make selftest`) on processes the kernel makes itself
(api.spawn(None, 0)), registered on import:

    objects.allocate_describe_release   allocate (size rounded up to pages,
                                   frames taken and zeroed), describe of a
                                   memory descriptor, release (frames back);
                                   E_INVALID / E_LIMIT for bad sizes and rights
    objects.stale_descriptor_refused    E_BADDESC for 0, negative, huge
                                   values, free slots, another process's
                                   value and a released value whose slot was
                                   reused (the generation moved on)
    objects.clone_rights_only_shrink    clone keeps strength and takes a
                                   subset of rights; E_RIGHTS when it would add
                                   one or lacks RIGHT_CLONE; the object lives
                                   while any strong descriptor does
    objects.borrow_and_death       borrow gives a weak descriptor; E_RIGHTS,
                                   E_INVALID, E_LIMIT; after the last strong
                                   release the lease is E_DEAD for every
                                   operation, its mapping and the frames are
                                   gone, the record stays until it is released
    objects.lease_expires_on_timer leases of 2 ticks (and their clones,
                                   borrows and one transferred to another
                                   process) expire on real timer ticks: E_DEAD,
                                   their mappings gone (a probe faults), the
                                   strong mapping of the object stays
    objects.map_checks             map and unmap: success, a split by a partial
                                   unmap; E_OVERLAP, E_ALIGN, E_RANGE, E_KIND,
                                   E_RIGHTS, E_INVALID (write and execute
                                   together, no read); nothing changed on failure
    objects.release_unmaps         a page written through one process is read
                                   through another's mapping; a read-only
                                   mapping refuses the store; release and
                                   unmap take the mappings away: a read in the
                                   process's own address space then faults
    objects.transfer_rules         transfer there and back (the source loses the
                                   value and its mappings); E_RIGHTS (no
                                   TRANSFER, no GIVE), E_KIND, E_BADDESC,
                                   E_EXITED, E_DEAD; nothing changed on failure
    objects.table_full             a full descriptor table: E_NOSLOTS from
                                   allocate, clone, borrow, spawn, grant and a
                                   transfer into it, nothing taken
    objects.process_lifecycle      spawn with a parent, exit (mappings, frames
                                   and space go, E_EXITED the second time), the
                                   zombie while a strong descriptor names it,
                                   the record freed with the last one
    objects.pools_exhausted        E_NOMEM when the Process, MemoryObject or
                                   mapping pool is full (spawn, allocate, map,
                                   an unmap that must split), nothing taken
    objects.out_of_frames          E_NOMEM with the PMM all but empty: allocate
                                   (frames taken so far given back), map (page
                                   tables made so far given back, nothing
                                   mapped), spawn; every free frame counted back
    objects.no_leak_churn          OBJECT_ROUNDS rounds of allocate + map +
                                   touch + release of 4 KiB, CHURN_ROUNDS rounds
                                   of clones, leases and transfers between
                                   three processes, PROCESS_ROUNDS processes
                                   made and torn down: free frames, heap bytes
                                   and every record pool back to where they were
                                   (the figures are logged)

Each test ends its processes and switches back to the kernel's address
space whatever happened, then checks that the MemoryObject, Process,
mapping and lease pools and the frames held by objects are back to their
starting counts.  Each returns None when it passed or a constant string
saying why not.  Nothing here allocates GC memory: prebuilt records only.
"""

from elyz.abi import limits
from elyz.abi.errors import (E_ALIGN, E_BADDESC, E_DEAD, E_EXITED, E_INVALID, E_KIND,
                             E_LIMIT, E_NOMEM, E_NOSLOTS, E_OVERLAP, E_RANGE, E_RIGHTS)
from elyz.abi.rights import (KIND_MEMORY, KIND_PROCESS, MEMORY_RIGHTS, PROT_EXEC,
                             PROT_READ, PROT_WRITE, RIGHT_BORROW, RIGHT_CLONE, RIGHT_GIVE,
                             RIGHT_MAP, RIGHT_READ, RIGHT_TRANSFER, RIGHT_WAIT, RIGHT_WRITE,
                             STRENGTH_STRONG, STRENGTH_WEAK)
from elyz.kernel import selftest
from elyz.rlib_kernel.karch import KARCH
if KARCH == 'x86_64':
    from elyz.kernel import traps
else:
    from elyz.kernel import porttraps as traps      # the same probe functions
from elyz.lib import clock, log
from elyz.mm import address_space, heap, kernel_space, protection
from elyz.mm.pmm import pmm
from elyz.obj import api, lease, mapping, memory, process, table
from elyz.rlib_kernel import cpu, rawmem

P = limits.PAGE_SIZE
VA = 0x20000000                 # user addresses the tests map (lower half)
VA2 = 0x20400000
VA3 = 0x20800000
KERNEL_VA = rawmem.to_word(0xffff800000000000)
PATTERN = 0x0B1EC75E1F7E5700
# Every memory right but execute.
RW = RIGHT_READ | RIGHT_WRITE | RIGHT_MAP | RIGHT_CLONE | RIGHT_TRANSFER | RIGHT_BORROW
PROT_RW = PROT_READ | PROT_WRITE
FIXTURE_PROCESSES = 6
LEASE_TICKS = 2
MAX_WAIT_HALTS = 300            # 3 s at 100 Hz: far beyond LEASE_TICKS
OBJECT_ROUNDS = 100000
CHURN_ROUNDS = 10000
PROCESS_ROUNDS = 1000


class _Fixture(object):
    """The processes a test made and the counts it must leave as found."""

    def __init__(self):
        self.procs = [-1] * FIXTURE_PROCESSES
        self.memory_records = 0
        self.process_records = 0
        self.mappings = 0
        self.leases = 0
        self.object_frames = 0
        self.expired = 0
        self.retry = False


_fixture = _Fixture()
_desc = api.Description()


def _begin(count):
    """Records the pool counts and makes count processes (fixture slots
    0..count-1); returns None or why it could not."""
    _fixture.memory_records = memory.records_in_use()
    _fixture.process_records = process.records_in_use()
    _fixture.mappings = mapping.count_in_use()
    _fixture.leases = lease.queued()
    _fixture.object_frames = memory.live_frames()
    k = 0
    while k < count:
        index = api.spawn(None, 0)
        if index < 0:
            return 'spawn(None, 0) failed'
        _fixture.procs[k] = index
        k += 1
    return None


def _proc(k):
    """Returns the Process record of fixture slot k."""
    return process.get(_fixture.procs[k])


def _kernel_space_back():
    protection.user_access_end()
    kernel = kernel_space.kernel_pml4()
    if address_space.current() != kernel:
        address_space.activate(kernel)


def _end_processes():
    k = 0
    while k < FIXTURE_PROCESSES:
        index = _fixture.procs[k]
        if index >= 0:
            proc = process.get(index)
            if proc.in_use and proc.state == process.STATE_RUNNING:
                api.exit(proc, 0)
            _fixture.procs[k] = -1
        k += 1


def _finish(reason):
    """Back to the kernel's space, every fixture process ended; returns
    reason, or (when it is None) why the pools are not as _begin found them."""
    _kernel_space_back()
    _end_processes()
    if reason is not None:
        return reason
    if memory.records_in_use() != _fixture.memory_records:
        return 'MemoryObject records leaked'
    if process.records_in_use() != _fixture.process_records:
        return 'Process records leaked'
    if mapping.count_in_use() != _fixture.mappings:
        return 'mapping records leaked'
    if lease.queued() != _fixture.leases:
        return 'leases left in the expiry queue'
    if memory.live_frames() != _fixture.object_frames:
        return 'frames of memory objects leaked'
    return None


def _describe(proc, desc):
    """describe() into the prebuilt _desc; returns its status."""
    return api.describe(proc, desc, _desc)


def _object_index(proc, desc):
    """Returns the record index a live descriptor of proc names."""
    slot = table.slot_of(proc.table, desc)
    return table.ref_index(table.read(proc.table, slot, table.OBJECT))


def _mapped(proc, vaddr):
    """Returns True when vaddr has a page in proc's address space."""
    return address_space.translate(proc.space, vaddr) >= 0


def _user_read(vaddr):
    """Reads a word of the active space's user page (SMAP window open)."""
    protection.user_access_begin()
    value = traps.probe_read(vaddr)
    protection.user_access_end()
    return value


def _user_write(vaddr, value):
    """Stores a word into the active space's user page; returns False when
    the store faulted."""
    protection.user_access_begin()
    ok = traps.probe_write(vaddr, value)
    protection.user_access_end()
    return ok


def _reads_zero(vaddr):
    """Returns True when vaddr reads as 0 in the active space, unfaulted."""
    return _user_read(vaddr) == 0 and not traps.probe_faulted()


def _faults_not_present(vaddr):
    """Returns True when reading vaddr in the active space faults as a
    page that is not present, at vaddr."""
    _user_read(vaddr)
    if not traps.probe_faulted():
        return False
    return traps.probe_fault_address() == vaddr and not traps.probe_fault_was_protection()


# ------------------------------------------------------------ the tests

def _allocate_describe_release():
    p = _proc(0)
    frames = memory.live_frames()
    d = api.allocate(p, 5000, RW)
    if d <= 0:
        return 'allocate(5000) failed'
    if memory.live_frames() != frames + 2:
        return 'allocate(5000) did not take two frames'
    if _describe(p, d) != 0:
        return 'describe of a new descriptor failed'
    if _desc.kind != KIND_MEMORY or _desc.strength != STRENGTH_STRONG:
        return 'describe: not a strong memory descriptor'
    if _desc.rights != RW or _desc.size != 2 * P:
        return 'describe: wrong rights or size (not rounded up to pages)'
    if _desc.strong != 1 or _desc.weak != 0 or _desc.expiry != 0 or _desc.dead:
        return 'describe: wrong counts, expiry or dead flag'
    if p.slots_used != 1:
        return 'the table does not count one slot used'
    # A new object is zero-filled: read through a mapping.
    if api.map(p, d, VA, 0, 2 * P, PROT_RW) != 0:
        return 'map of the new object failed'
    address_space.activate(p.space)
    if not _reads_zero(VA) or not _reads_zero(VA + 2 * P - 8):
        return 'a new object is not zero-filled'
    _kernel_space_back()
    if api.allocate(p, 0, RW) != E_INVALID:
        return 'allocate(0) is not E_INVALID'
    if api.allocate(p, -P, RW) != E_INVALID:
        return 'allocate(negative) is not E_INVALID'
    if api.allocate(p, P, RW | RIGHT_WAIT) != E_INVALID:
        return 'allocate with a process right is not E_INVALID'
    if api.allocate(p, P, 1 << 20) != E_INVALID:
        return 'allocate with an unknown right is not E_INVALID'
    if api.allocate(p, limits.MAX_OBJECT_SIZE + 1, RW) != E_LIMIT:
        return 'allocate above MAX_OBJECT_SIZE is not E_LIMIT'
    if p.slots_used != 1 or memory.live_frames() != frames + 2:
        return 'a failed allocate changed something'
    if api.release(p, d) != 0:
        return 'release failed'
    if memory.live_frames() != frames:
        return 'release did not give the frames back'
    if mapping.count_in_use() != _fixture.mappings or _mapped(p, VA):
        return 'release left the mapping'
    if p.slots_used != 0:
        return 'release did not free the slot'
    return None


@selftest.selftest('objects.allocate_describe_release')
def test_allocate_describe_release():
    reason = _begin(1)
    if reason is None:
        reason = _allocate_describe_release()
    return _finish(reason)


def _stale_descriptor_refused():
    p = _proc(0)
    q = _proc(1)
    g = api.grant(p, q, RIGHT_GIVE, True)
    d = api.allocate(p, P, RW)
    if g <= 0 or d <= 0:
        return 'grant or allocate failed'
    if api.release(p, d) != 0:
        return 'release failed'
    if _describe(p, d) != E_BADDESC or api.release(p, d) != E_BADDESC:
        return 'a released value is not E_BADDESC for describe and release'
    if api.clone(p, d, RIGHT_READ) != E_BADDESC or api.borrow(p, d, 0) != E_BADDESC:
        return 'a released value is not E_BADDESC for clone and borrow'
    if api.map(p, d, VA, 0, P, PROT_READ) != E_BADDESC:
        return 'a released value is not E_BADDESC for map'
    if api.transfer(p, d, g) != E_BADDESC:
        return 'a released value is not E_BADDESC for transfer'
    again = api.allocate(p, P, RW)          # the lowest free slot: d's again
    if again <= 0:
        return 'allocate after release failed'
    if again % limits.DESCRIPTOR_SLOTS != d % limits.DESCRIPTOR_SLOTS or again == d:
        return 'the reused slot did not get a new generation'
    if _describe(p, d) != E_BADDESC:
        return 'a stale value names the slot new occupant'
    if _describe(p, again) != 0:
        return 'the new value is refused'
    if _describe(p, 0) != E_BADDESC or _describe(p, -1) != E_BADDESC:
        return '0 or -1 is not E_BADDESC'
    if _describe(p, 7) != E_BADDESC:
        return 'a value below DESCRIPTOR_SLOTS (generation 0) is not E_BADDESC'
    if _describe(p, again + 5) != E_BADDESC:
        return 'a value naming a free slot is not E_BADDESC'
    if _describe(p, limits.DESCRIPTOR_GENERATION_LIMIT * limits.DESCRIPTOR_SLOTS) != E_BADDESC:
        return 'a value past the generation limit is not E_BADDESC'
    if _describe(q, again) != E_BADDESC or api.release(q, again) != E_BADDESC:
        return 'another process value is not E_BADDESC'
    if api.transfer(p, again, g + limits.DESCRIPTOR_SLOTS) != E_BADDESC:
        return 'a stale target of transfer is not E_BADDESC'
    return None


@selftest.selftest('objects.stale_descriptor_refused')
def test_stale_descriptor_refused():
    reason = _begin(2)
    if reason is None:
        reason = _stale_descriptor_refused()
    return _finish(reason)


def _clone_rights_only_shrink():
    p = _proc(0)
    frames = memory.live_frames()
    d = api.allocate(p, P, RW)
    if d <= 0:
        return 'allocate failed'
    c = api.clone(p, d, RIGHT_READ | RIGHT_MAP | RIGHT_CLONE)
    if c <= 0:
        return 'clone with fewer rights failed'
    if _describe(p, c) != 0 or _desc.strength != STRENGTH_STRONG:
        return 'the clone of a strong descriptor is not strong'
    if _desc.rights != RIGHT_READ | RIGHT_MAP | RIGHT_CLONE or _desc.strong != 2:
        return 'the clone has the wrong rights or the strong count is not 2'
    if api.clone(p, c, RIGHT_READ | RIGHT_WRITE) != E_RIGHTS:
        return 'a clone adding RIGHT_WRITE is not E_RIGHTS'
    if api.clone(p, c, RIGHT_READ | RIGHT_TRANSFER) != E_RIGHTS:
        return 'a clone adding RIGHT_TRANSFER is not E_RIGHTS'
    c2 = api.clone(p, c, RIGHT_READ)
    if c2 <= 0:
        return 'clone to RIGHT_READ alone failed'
    if api.clone(p, c2, RIGHT_READ) != E_RIGHTS:
        return 'clone without RIGHT_CLONE is not E_RIGHTS'
    if api.clone(p, c2, 0) != E_RIGHTS:
        return 'clone (no rights) without RIGHT_CLONE is not E_RIGHTS'
    if api.map(p, c, VA, 0, P, PROT_RW) != E_RIGHTS:
        return 'a write mapping through a read-only clone is not E_RIGHTS'
    if api.map(p, c2, VA, 0, P, PROT_READ) != E_RIGHTS:
        return 'a mapping without RIGHT_MAP is not E_RIGHTS'
    if api.map(p, c, VA, 0, P, PROT_READ) != 0:
        return 'a read mapping through the clone failed'
    if p.slots_used != 3 or mapping.count_in_use() != _fixture.mappings + 1:
        return 'a refused clone or map changed something'
    if api.release(p, d) != 0:
        return 'release of the original failed'
    if _describe(p, c) != 0 or _desc.dead or _desc.strong != 2:
        return 'the object died while strong clones remain'
    if not _mapped(p, VA) or memory.live_frames() != frames + 1:
        return 'releasing one strong descriptor took the object away'
    if api.release(p, c) != 0:
        return 'release of the clone failed'
    if _mapped(p, VA):
        return 'the mapping made through a released clone stayed'
    if _describe(p, c2) != 0 or _desc.dead or _desc.strong != 1:
        return 'the last strong clone does not keep the object alive'
    if api.release(p, c2) != 0:
        return 'release of the last clone failed'
    if memory.live_frames() != frames:
        return 'the frames did not go with the last strong descriptor'
    return None


@selftest.selftest('objects.clone_rights_only_shrink')
def test_clone_rights_only_shrink():
    reason = _begin(1)
    if reason is None:
        reason = _clone_rights_only_shrink()
    return _finish(reason)


def _borrow_and_death():
    p = _proc(0)
    q = _proc(1)
    frames = memory.live_frames()
    records = memory.records_in_use()
    d = api.allocate(p, 2 * P, RW)
    if d <= 0:
        return 'allocate failed'
    g = api.grant(p, q, RIGHT_GIVE, True)
    if g <= 0:
        return 'grant failed'
    lent = api.borrow(p, d, 0)
    if lent <= 0:
        return 'borrow failed'
    if _describe(p, lent) != 0 or _desc.strength != STRENGTH_WEAK or _desc.rights != RW:
        return 'a lease is not weak with the rights of its descriptor'
    if _desc.expiry != 0 or _desc.strong != 1 or _desc.weak != 1:
        return 'a lease of duration 0 has an expiry or the counts are wrong'
    weak_clone = api.clone(p, lent, RIGHT_READ | RIGHT_MAP)
    if weak_clone <= 0:
        return 'clone of a lease failed'
    if _describe(p, weak_clone) != 0 or _desc.strength != STRENGTH_WEAK or _desc.weak != 2:
        return 'the clone of a lease is not weak'
    narrow = api.clone(p, d, RIGHT_READ | RIGHT_CLONE)
    if narrow <= 0:
        return 'clone failed'
    if api.borrow(p, narrow, 0) != E_RIGHTS:
        return 'borrow without RIGHT_BORROW is not E_RIGHTS'
    if api.borrow(p, d, -1) != E_INVALID:
        return 'borrow for a negative duration is not E_INVALID'
    if api.borrow(p, d, limits.MAX_LEASE_TICKS + 1) != E_LIMIT:
        return 'borrow beyond MAX_LEASE_TICKS is not E_LIMIT'
    if lease.queued() != _fixture.leases:
        return 'a lease without expiry or a refused borrow was queued'
    if api.map(p, lent, VA, 0, 2 * P, PROT_RW) != 0:
        return 'map through a lease failed'
    if api.release(p, narrow) != 0 or api.release(p, d) != 0:
        return 'release of the strong descriptors failed'
    # The last strong descriptor went: the object is dead.
    if _describe(p, lent) != 0:
        return 'describe of a dead object lease failed'
    if not _desc.dead or _desc.strong != 0 or _desc.weak != 2:
        return 'describe does not report the object dead'
    if _mapped(p, VA) or _mapped(p, VA + P) or mapping.count_in_use() != _fixture.mappings:
        return 'the mapping made through the lease outlived the object'
    if memory.live_frames() != frames:
        return 'the frames did not go at death'
    if memory.records_in_use() != records + 1:
        return 'the record did not stay for the weak descriptors'
    if api.map(p, lent, VA, 0, P, PROT_READ) != E_DEAD:
        return 'map through a dead object lease is not E_DEAD'
    if api.clone(p, lent, RIGHT_READ) != E_DEAD:
        return 'clone of a dead object lease is not E_DEAD'
    if api.borrow(p, lent, 0) != E_DEAD:
        return 'borrow of a dead object lease is not E_DEAD'
    if api.transfer(p, lent, g) != E_DEAD:
        return 'transfer of a dead object lease is not E_DEAD'
    if p.slots_used != 3:
        return 'a refused operation on a dead lease changed the table'
    if api.release(p, lent) != 0 or api.release(p, weak_clone) != 0:
        return 'release of a dead lease failed'
    if memory.records_in_use() != records:
        return 'the record stayed after the last weak descriptor'
    return None


@selftest.selftest('objects.borrow_and_death')
def test_borrow_and_death():
    reason = _begin(2)
    if reason is None:
        reason = _borrow_and_death()
    return _finish(reason)


def _all_dead(p, q, l1, l2, l3, l4, moved):
    """Returns True when describe reports every lease dead."""
    if _describe(p, l1) != 0 or not _desc.dead:
        return False
    if _describe(p, l2) != 0 or not _desc.dead:
        return False
    if _describe(p, l3) != 0 or not _desc.dead:
        return False
    if _describe(p, l4) != 0 or not _desc.dead:
        return False
    return _describe(q, moved) == 0 and _desc.dead


def _late(expiry):
    """Notes whether the clock reached expiry before the set-up was done (a
    host that stalled the guest for a tick or two): the test then retries."""
    _fixture.retry = clock.ticks() >= expiry
    return _fixture.retry


def _lease_expires_on_timer():
    if clock.ticks_per_second() == 0:
        return 'the timer is not running'
    p = _proc(0)
    q = _proc(1)
    g = api.grant(p, q, RIGHT_GIVE, False)
    d = api.allocate(p, 2 * P, RW)
    if g <= 0 or d <= 0:
        return 'grant or allocate failed'
    if api.map(p, d, VA, 0, P, PROT_RW) != 0:
        return 'map through the strong descriptor failed'
    # Start just after a tick: the set-up below has almost two ticks.
    before = clock.ticks()
    halts = 0
    while clock.ticks() == before and halts < MAX_WAIT_HALTS:
        cpu.wait_for_interrupt()
        halts += 1
    before = clock.ticks()
    lent = api.borrow(p, d, LEASE_TICKS)
    after = clock.ticks()
    if lent <= 0:
        return 'borrow for 2 ticks failed'
    if _describe(p, lent) != 0:
        return 'describe of the lease failed'
    expiry = _desc.expiry
    if expiry < before + LEASE_TICKS or expiry > after + LEASE_TICKS:
        return 'the lease does not expire 2 ticks from now'
    forever = api.borrow(p, lent, 0)            # never later than its parent
    later = api.borrow(p, lent, 1000)
    twin = api.clone(p, lent, RW)               # the same expiry
    give = api.clone(p, lent, RW)
    if forever <= 0 or later <= 0 or twin <= 0 or give <= 0:
        if _late(expiry):
            return 'retry'
        return 'borrow or clone of the lease failed'
    if _describe(p, forever) != 0 or _desc.expiry != expiry:
        return 'a lease of a lease for ever does not end with its parent'
    if _describe(p, later) != 0 or _desc.expiry != expiry:
        return 'a lease of a lease outlives its parent'
    if _describe(p, twin) != 0 or _desc.expiry != expiry or _desc.strength != STRENGTH_WEAK:
        return 'the clone of a lease lost its expiry or strength'
    moved = api.transfer(p, give, g)
    if moved <= 0:
        if _late(expiry):
            return 'retry'
        return 'transfer of a lease failed'
    if _describe(q, moved) != 0 or _desc.expiry != expiry:
        return 'a transferred lease lost its expiry'
    if lease.queued() != _fixture.leases + 5 and not _late(expiry):
        return 'five leases are not queued'
    if api.map(p, lent, VA2, 0, 2 * P, PROT_RW) != 0 or \
            api.map(p, twin, VA3, P, P, PROT_READ) != 0 or \
            api.map(q, moved, VA, 0, P, PROT_READ) != 0:
        if _late(expiry):
            return 'retry'
        return 'map through a lease failed'
    if _late(expiry):
        return 'retry'
    dead = _describe(p, lent) == 0 and _desc.dead
    if dead and clock.ticks() < expiry:
        return 'the lease died before its expiry tick'
    halts = 0
    while clock.ticks() < expiry and halts < MAX_WAIT_HALTS:
        cpu.wait_for_interrupt()
        halts += 1
    if clock.ticks() < expiry:
        return 'the clock did not reach the expiry tick'
    # The tick that reached expiry ran expire_leases before we resumed.
    if not _all_dead(p, q, lent, forever, later, twin, moved):
        return 'a lease is not dead at its expiry tick'
    if lease.queued() != _fixture.leases:
        return 'expired leases stayed in the queue'
    if api.map(p, lent, VA2, 0, P, PROT_READ) != E_DEAD:
        return 'map through an expired lease is not E_DEAD'
    if api.clone(p, twin, RIGHT_READ) != E_DEAD or api.borrow(p, later, 0) != E_DEAD:
        return 'clone or borrow of an expired lease is not E_DEAD'
    if api.transfer(q, moved, g) != E_DEAD:
        return 'transfer of an expired lease is not E_DEAD'
    if _mapped(p, VA2) or _mapped(p, VA3) or _mapped(q, VA):
        return 'a mapping made through an expired lease stayed'
    address_space.activate(p.space)
    if not _faults_not_present(VA2) or not _faults_not_present(VA2 + P):
        return 'reading a page mapped through an expired lease did not fault'
    _user_read(VA)
    if traps.probe_faulted():
        return 'the strong mapping went with the leases'
    _kernel_space_back()
    if _describe(p, d) != 0 or _desc.dead or _desc.weak != 5:
        return 'the object or its weak count changed at expiry'
    if api.release(p, lent) != 0 or api.release(p, forever) != 0 or \
            api.release(p, later) != 0 or api.release(p, twin) != 0 or \
            api.release(q, moved) != 0:
        return 'release of an expired lease failed'
    if _describe(p, d) != 0 or _desc.weak != 0:
        return 'releasing expired leases did not drop the weak count'
    return None


LEASE_ATTEMPTS = 3


@selftest.selftest('objects.lease_expires_on_timer')
def test_lease_expires_on_timer():
    attempt = 0
    while True:
        _fixture.retry = False
        reason = _begin(2)
        if reason is None:
            reason = _lease_expires_on_timer()
        reason = _finish(reason)
        attempt += 1
        if not _fixture.retry:
            return reason
        if attempt == LEASE_ATTEMPTS:
            return 'the clock passed the lease expiry during the set-up, 3 times'


def _map_failures(p, d, c, pd):
    """Every refused map; returns None or why one was not refused right."""
    if api.map(p, d, VA + P, 0, P, PROT_READ) != E_OVERLAP:
        return 'a mapping inside another is not E_OVERLAP'
    if api.map(p, d, VA - P, 0, 2 * P, PROT_READ) != E_OVERLAP:
        return 'a mapping over the start of another is not E_OVERLAP'
    if api.map(p, d, VA + 2 * P, 0, 2 * P, PROT_READ) != E_OVERLAP:
        return 'a mapping over the end of another is not E_OVERLAP'
    if api.map(p, d, VA2 + 8, 0, P, PROT_READ) != E_ALIGN:
        return 'an unaligned address is not E_ALIGN'
    if api.map(p, d, VA2, 0, 100, PROT_READ) != E_ALIGN:
        return 'an unaligned length is not E_ALIGN'
    if api.map(p, d, VA2, 100, P, PROT_READ) != E_ALIGN:
        return 'an unaligned offset is not E_ALIGN'
    if api.map(p, d, VA2, 0, 0, PROT_READ) != E_INVALID:
        return 'length 0 is not E_INVALID'
    if api.map(p, d, 0, 0, P, PROT_READ) != E_RANGE:
        return 'mapping page 0 is not E_RANGE'
    if api.map(p, d, limits.USER_END, 0, P, PROT_READ) != E_RANGE:
        return 'mapping at USER_END is not E_RANGE'
    if api.map(p, d, limits.USER_END - P, 0, 2 * P, PROT_READ) != E_RANGE:
        return 'a mapping running past USER_END is not E_RANGE'
    if api.map(p, d, KERNEL_VA, 0, P, PROT_READ) != E_RANGE:
        return 'mapping into the kernel half is not E_RANGE'
    if api.map(p, d, VA2, 3 * P, P, PROT_READ) != E_RANGE:
        return 'an offset at the end of the object is not E_RANGE'
    if api.map(p, d, VA2, 2 * P, 2 * P, PROT_READ) != E_RANGE:
        return 'a range past the end of the object is not E_RANGE'
    if api.map(p, d, VA2, -P, P, PROT_READ) != E_RANGE:
        return 'a negative offset is not E_RANGE'
    if api.map(p, d, VA2, 0, P, PROT_READ | PROT_WRITE | PROT_EXEC) != E_INVALID:
        return 'write and execute together is not E_INVALID'
    if api.map(p, d, VA2, 0, P, PROT_WRITE) != E_INVALID:
        return 'a protection without read is not E_INVALID'
    if api.map(p, d, VA2, 0, P, PROT_READ | 8) != E_INVALID:
        return 'an unknown protection bit is not E_INVALID'
    if api.map(p, c, VA2, 0, P, PROT_RW) != E_RIGHTS:
        return 'write through a read-only descriptor is not E_RIGHTS'
    if api.map(p, c, VA2, 0, P, PROT_READ | PROT_EXEC) != E_RIGHTS:
        return 'execute through a descriptor without RIGHT_EXEC is not E_RIGHTS'
    if api.map(p, pd, VA2, 0, P, PROT_READ) != E_KIND:
        return 'mapping a process descriptor is not E_KIND'
    return None


def _map_checks():
    p = _proc(0)
    d = api.allocate(p, 3 * P, MEMORY_RIGHTS)
    c = api.clone(p, d, RIGHT_READ | RIGHT_MAP)
    pd = api.grant(p, _proc(1), RIGHT_WAIT, True)
    if d <= 0 or c <= 0 or pd <= 0:
        return 'allocate, clone or grant failed'
    if api.map(p, d, VA, 0, 3 * P, PROT_RW) != 0:
        return 'map of three pages failed'
    first = address_space.translate(p.space, VA)
    second = address_space.translate(p.space, VA + P)
    third = address_space.translate(p.space, VA + 2 * P)
    if first < 0 or second < 0 or third < 0:
        return 'a mapped page does not translate'
    if first == second or second == third or first == third:
        return 'two pages of the object share a frame'
    mappings = mapping.count_in_use()
    reason = _map_failures(p, d, c, pd)
    if reason is not None:
        return reason
    if mapping.count_in_use() != mappings or _mapped(p, VA2):
        return 'a refused map changed something'
    if api.map(p, d, VA2, 2 * P, P, PROT_READ | PROT_EXEC) != 0:
        return 'a read and execute mapping failed'
    if address_space.translate(p.space, VA2) != third:
        return 'the offset did not select the third page'
    if api.unmap(p, VA + P, P) != 1:
        return 'unmapping the middle page did not report one page'
    if _mapped(p, VA + P) or not _mapped(p, VA) or not _mapped(p, VA + 2 * P):
        return 'unmapping the middle page did not split the mapping'
    if mapping.count_in_use() != mappings + 2:
        return 'the split did not make a record for the tail'
    if api.map(p, d, VA + P, P, P, PROT_READ) != 0:
        return 'mapping into the hole of a split failed'
    if api.unmap(p, VA, 3 * P) != 3:
        return 'unmapping the three pieces did not report three pages'
    if api.unmap(p, VA, 3 * P) != 0:
        return 'unmapping nothing did not report 0'
    if _mapped(p, VA) or _mapped(p, VA + P) or _mapped(p, VA + 2 * P):
        return 'a page stayed mapped after unmap'
    if api.unmap(p, VA + 8, P) != E_ALIGN or api.unmap(p, VA, 8) != E_ALIGN:
        return 'unmap of an unaligned range is not E_ALIGN'
    if api.unmap(p, 0, P) != E_RANGE or api.unmap(p, KERNEL_VA, P) != E_RANGE:
        return 'unmap outside the user half is not E_RANGE'
    if api.unmap(p, VA, 0) != E_INVALID:
        return 'unmap of length 0 is not E_INVALID'
    if api.unmap(p, VA2, P) != 1 or mapping.count_in_use() != mappings - 1:
        return 'unmapping the last mapping failed'
    return None


@selftest.selftest('objects.map_checks')
def test_map_checks():
    reason = _begin(2)
    if reason is None:
        reason = _map_checks()
    return _finish(reason)


def _release_unmaps():
    p = _proc(0)
    q = _proc(1)
    frames = memory.live_frames()
    g = api.grant(p, q, RIGHT_GIVE, True)
    d = api.allocate(p, P, RW)
    c = api.clone(p, d, RW)
    if g <= 0 or d <= 0 or c <= 0:
        return 'grant, allocate or clone failed'
    theirs = api.transfer(p, c, g)
    if theirs <= 0:
        return 'transfer failed'
    if api.map(p, d, VA, 0, P, PROT_RW) != 0 or api.map(q, theirs, VA2, 0, P, PROT_READ) != 0:
        return 'map failed'
    address_space.activate(p.space)
    if not _user_write(VA, PATTERN) or _user_read(VA) != PATTERN:
        return 'a store through the writable mapping did not stick'
    address_space.activate(q.space)
    if _user_read(VA2) != PATTERN or traps.probe_faulted():
        return 'the other process does not see the shared page'
    if _user_write(VA2, 0):
        return 'a store through a read-only mapping did not fault'
    if not traps.probe_fault_was_protection() or not traps.probe_fault_was_write():
        return 'the read-only store did not fault as a write protection violation'
    if not _faults_not_present(VA):
        return 'the other process address space has the first one mapping'
    address_space.activate(p.space)
    if api.release(p, d) != 0:                  # with p's space active: invlpg
        return 'release failed'
    if not _faults_not_present(VA):
        return 'reading the page after release did not fault'
    address_space.activate(q.space)
    if _user_read(VA2) != PATTERN or traps.probe_faulted():
        return 'the other process lost the page, its descriptor still strong'
    if api.release(q, theirs) != 0:
        return 'release of the last descriptor failed'
    if not _faults_not_present(VA2):
        return 'reading the page after the last release did not fault'
    if memory.live_frames() != frames:
        return 'the frame did not go with the last release'
    again = api.allocate(q, P, RW)
    if again <= 0 or api.map(q, again, VA3, 0, P, PROT_RW) != 0:
        return 'allocate or map failed'
    if not _user_write(VA3, PATTERN) or _user_read(VA3) != PATTERN:
        return 'a store to a new mapping did not stick'
    if api.unmap(q, VA3, P) != 1:
        return 'unmap did not report one page'
    if not _faults_not_present(VA3):
        return 'reading the page after unmap did not fault'
    _kernel_space_back()
    return None


@selftest.selftest('objects.release_unmaps')
def test_release_unmaps():
    reason = _begin(2)
    if reason is None:
        reason = _release_unmaps()
    return _finish(reason)


def _transfer_failures(p, back, g_ab):
    """Refused transfers; returns None or why one was not refused right."""
    narrow = api.clone(p, back, RIGHT_READ | RIGHT_CLONE)
    if narrow <= 0:
        return 'clone failed'
    if api.transfer(p, narrow, g_ab) != E_RIGHTS:
        return 'transfer without RIGHT_TRANSFER is not E_RIGHTS'
    wait_only = api.grant(p, _proc(1), RIGHT_WAIT, True)
    if wait_only <= 0:
        return 'grant failed'
    if api.transfer(p, back, wait_only) != E_RIGHTS:
        return 'transfer to a process without RIGHT_GIVE is not E_RIGHTS'
    if api.transfer(p, back, narrow) != E_KIND:
        return 'transfer to a memory descriptor is not E_KIND'
    if api.transfer(p, back, g_ab + 7) != E_BADDESC:
        return 'transfer to a free slot is not E_BADDESC'
    g_ac = api.grant(p, _proc(2), RIGHT_GIVE | RIGHT_WAIT, True)
    if g_ac <= 0:
        return 'grant failed'
    if api.exit(_proc(2), 42) != 0:
        return 'exit failed'
    if api.exit(_proc(2), 0) != E_EXITED:
        return 'a second exit is not E_EXITED'
    if api.transfer(p, back, g_ac) != E_EXITED:
        return 'transfer to an exited process is not E_EXITED'
    if _describe(p, g_ac) != 0 or _desc.state != process.STATE_EXITED or \
            _desc.exit_code != 42 or _desc.dead:
        return 'describe of the zombie is wrong'
    weak = api.grant(p, _proc(3), RIGHT_GIVE, False)
    if weak <= 0:
        return 'weak grant failed'
    records = process.records_in_use()
    if api.exit(_proc(3), 0) != 0:
        return 'exit failed'
    if process.records_in_use() != records:
        return 'the record went while a weak descriptor names it'
    if api.transfer(p, back, weak) != E_DEAD:
        return 'transfer through a dead process descriptor is not E_DEAD'
    if api.release(p, weak) != 0 or process.records_in_use() != records - 1:
        return 'the dead process record did not go with its last weak descriptor'
    if api.release(p, g_ac) != 0 or process.records_in_use() != records - 2:
        return 'the zombie record did not go with its last strong descriptor'
    if _describe(p, back) != 0 or _desc.dead or _desc.strong != 2:
        return 'a refused transfer changed the descriptor'
    return None


def _transfer_rules():
    p = _proc(0)
    q = _proc(1)
    g_ab = api.grant(p, q, RIGHT_GIVE, True)
    g_ba = api.grant(q, p, RIGHT_GIVE, False)
    d = api.allocate(p, P, RW)
    if g_ab <= 0 or g_ba <= 0 or d <= 0:
        return 'grant or allocate failed'
    if api.map(p, d, VA, 0, P, PROT_RW) != 0:
        return 'map failed'
    used = p.slots_used
    there = api.transfer(p, d, g_ab)
    if there <= 0:
        return 'transfer failed'
    if _describe(p, d) != E_BADDESC or p.slots_used != used - 1:
        return 'the source kept the transferred descriptor'
    if _mapped(p, VA) or mapping.count_in_use() != _fixture.mappings:
        return 'the source kept the mapping made through the transferred descriptor'
    if _describe(q, there) != 0 or _desc.strength != STRENGTH_STRONG or \
            _desc.rights != RW or _desc.strong != 1 or _desc.dead:
        return 'the target descriptor is not the same strong descriptor'
    back = api.transfer(q, there, g_ba)
    if back <= 0:
        return 'transfer back failed'
    if _describe(q, there) != E_BADDESC or _describe(p, back) != 0 or _desc.strong != 1:
        return 'the transfer back did not move the descriptor'
    return _transfer_failures(p, back, g_ab)


@selftest.selftest('objects.transfer_rules')
def test_transfer_rules():
    reason = _begin(4)
    if reason is None:
        reason = _transfer_rules()
    return _finish(reason)


TABLE_FULL_PREFILL = 3


def _table_full():
    p = _proc(0)
    q = _proc(1)
    g = api.grant(p, q, RIGHT_GIVE, True)
    d = api.allocate(p, P, RW)
    if g <= 0 or d <= 0:
        return 'grant or allocate failed'
    filled = 2
    while True:
        c = api.clone(p, d, RW)
        if c < 0:
            if c != E_NOSLOTS:
                return 'clone into an almost full table failed but not E_NOSLOTS'
            break
        filled += 1
    if filled != limits.DESCRIPTOR_SLOTS or p.slots_used != limits.DESCRIPTOR_SLOTS:
        return 'the table did not hold DESCRIPTOR_SLOTS descriptors'
    k = 0
    while k < TABLE_FULL_PREFILL:               # q holds a few descriptors already
        if api.grant(q, p, RIGHT_WAIT, False) <= 0:
            return 'grant failed'
        k += 1
    memory_records = memory.records_in_use()
    process_records = process.records_in_use()
    frames = memory.live_frames()
    if api.allocate(p, P, RW) != E_NOSLOTS:
        return 'allocate into a full table is not E_NOSLOTS'
    if api.borrow(p, d, 0) != E_NOSLOTS or api.borrow(p, d, 100) != E_NOSLOTS:
        return 'borrow into a full table is not E_NOSLOTS'
    if api.spawn(p, RIGHT_WAIT) != E_NOSLOTS:
        return 'spawn with a full parent table is not E_NOSLOTS'
    if api.grant(p, q, RIGHT_WAIT, False) != E_NOSLOTS:
        return 'grant into a full table is not E_NOSLOTS'
    if memory.records_in_use() != memory_records or memory.live_frames() != frames or \
            process.records_in_use() != process_records or lease.queued() != _fixture.leases:
        return 'an operation refused with E_NOSLOTS took something'
    # Fill q by transfers from p, until one does not fit.
    moved = 0
    slot = 0
    status = 0
    while slot < limits.DESCRIPTOR_SLOTS:
        value = table.value_of(p.table, slot)
        if slot != table.slot_of(p.table, g) and slot != table.slot_of(p.table, d):
            status = api.transfer(p, value, g)
            if status < 0:
                break
            moved += 1
        slot += 1
    if status != E_NOSLOTS or moved != limits.DESCRIPTOR_SLOTS - TABLE_FULL_PREFILL:
        return 'a transfer into a full table is not E_NOSLOTS'
    if q.slots_used != limits.DESCRIPTOR_SLOTS or \
            p.slots_used != limits.DESCRIPTOR_SLOTS - moved:
        return 'the refused transfer moved the descriptor'
    if _describe(p, d) != 0 or _desc.strong != limits.DESCRIPTOR_SLOTS - 1:
        return 'the strong count does not match the descriptors'
    return None


@selftest.selftest('objects.table_full')
def test_table_full():
    reason = _begin(2)
    if reason is None:
        reason = _table_full()
    return _finish(reason)


def _free_frames_and_heap_pages():
    """Free frames plus the pages the heap holds (which a slab keeps once
    it grew): what stays the same when nothing leaks."""
    return pmm.frames_free + heap.kernel_heap.bytes_reserved_from_pages // P


def _process_lifecycle():
    p = _proc(0)
    records = process.records_in_use()
    frames = memory.live_frames()
    free_before = _free_frames_and_heap_pages()
    if api.spawn(p, RIGHT_MAP) != E_INVALID:
        return 'spawn with a memory right is not E_INVALID'
    if api.spawn(None, 1 << 20) != E_INVALID:
        return 'spawn with an unknown right is not E_INVALID'
    if process.records_in_use() != records:
        return 'a refused spawn took a record'
    child_desc = api.spawn(p, RIGHT_WAIT | RIGHT_CLONE | RIGHT_GIVE)
    if child_desc <= 0:
        return 'spawn with a parent failed'
    _fixture.procs[1] = _object_index(p, child_desc)
    child = _proc(1)
    if _describe(p, child_desc) != 0 or _desc.kind != KIND_PROCESS or \
            _desc.strength != STRENGTH_STRONG or _desc.size != 0:
        return 'describe: not a strong process descriptor'
    if _desc.rights != RIGHT_WAIT | RIGHT_CLONE | RIGHT_GIVE or _desc.strong != 2 or \
            _desc.state != process.STATE_RUNNING or _desc.dead:
        return 'describe of a running child is wrong'
    if api.grant(p, child, RIGHT_MAP, False) != E_INVALID:
        return 'grant with a memory right is not E_INVALID'
    d = api.allocate(child, 3 * P, RW)
    if d <= 0 or api.map(child, d, VA, 0, 3 * P, PROT_RW) != 0:
        return 'allocate or map in the child failed'
    lent = api.borrow(child, d, 1000)
    if lent <= 0 or api.map(child, lent, VA2, 0, P, PROT_READ) != 0:
        return 'a lease in the child failed'
    if api.exit(child, 7) != 0:
        return 'exit failed'
    if api.exit(child, 0) != E_EXITED:
        return 'a second exit is not E_EXITED'
    if child.space != 0 or child.table != 0 or child.first_mapping != -1:
        return 'exit left the address space, the table or mappings'
    if memory.live_frames() != frames or lease.queued() != _fixture.leases or \
            mapping.count_in_use() != _fixture.mappings:
        return 'exit left frames, leases or mappings'
    if _describe(p, child_desc) != 0 or _desc.state != process.STATE_EXITED or \
            _desc.exit_code != 7 or _desc.dead or _desc.strong != 1:
        return 'the exited child is not a zombie with its exit code'
    if process.records_in_use() != records + 1:
        return 'the zombie record went while a strong descriptor names it'
    if api.release(p, child_desc) != 0:
        return 'release of the zombie descriptor failed'
    if process.records_in_use() != records or child.in_use:
        return 'the zombie record stayed after its last descriptor'
    if api.grant(p, child, RIGHT_WAIT, False) != E_DEAD:
        return 'grant of a dead process is not E_DEAD'
    if _free_frames_and_heap_pages() != free_before:
        return 'spawn and exit leaked frames'
    # A parent ending first leaves its child running.
    second = api.spawn(p, RIGHT_WAIT)
    if second <= 0:
        return 'spawn failed'
    _fixture.procs[2] = _object_index(p, second)
    if api.exit(p, 0) != 0:
        return 'exit of the parent failed'
    if _proc(2).state != process.STATE_RUNNING or _proc(2).strong != 1:
        return 'the parent exit did not just drop its descriptor to the child'
    return None


@selftest.selftest('objects.process_lifecycle')
def test_process_lifecycle():
    reason = _begin(1)
    if reason is None:
        reason = _process_lifecycle()
    return _finish(reason)


# ------------------------------------------------------------ exhaustion

class _Held(object):
    """Process record indexes a test holds beyond the fixture's."""

    def __init__(self):
        self.procs = [-1] * limits.MAX_PROCESSES


_held = _Held()


def _process_pool_full():
    """Spawns until E_NOMEM; returns None or why not (ends them all)."""
    count = 0
    result = 0
    while count < limits.MAX_PROCESSES:
        result = api.spawn(None, 0)
        if result < 0:
            break
        _held.procs[count] = result
        count += 1
    reason = None
    if result != E_NOMEM:
        reason = 'spawn with every Process record taken is not E_NOMEM'
    elif process.records_in_use() != limits.MAX_PROCESSES:
        reason = 'spawn stopped before the Process pool was full'
    elif api.spawn(_proc(0), RIGHT_WAIT) != E_NOMEM or _proc(0).slots_used != 0:
        reason = 'spawn with a parent and a full pool is not E_NOMEM (nothing taken)'
    while count > 0:
        count -= 1
        api.exit(process.get(_held.procs[count]), 0)
        _held.procs[count] = -1
    return reason


def _memory_pool_full():
    """Allocates until the MemoryObject pool is full (moving to the next
    fixture process when a table fills); returns None or why not."""
    k = 0
    result = 0
    while k < FIXTURE_PROCESSES:
        result = api.allocate(_proc(k), P, RW)
        if result == E_NOSLOTS:
            k += 1
        elif result < 0:
            break
    if result != E_NOMEM:
        return 'allocate with every MemoryObject record taken is not E_NOMEM'
    if memory.records_in_use() != limits.MAX_MEMORY_OBJECTS:
        return 'allocate stopped before the MemoryObject pool was full'
    if memory.live_frames() != _fixture.object_frames + limits.MAX_MEMORY_OBJECTS - \
            _fixture.memory_records:
        return 'a refused allocate kept frames'
    k = 0
    while k < FIXTURE_PROCESSES:
        api.exit(_proc(k), 0)
        k += 1
    return None


def _mapping_pool_full():
    """Maps single pages until the mapping pool is full; returns None or
    why not."""
    p = _proc(0)
    big = api.allocate(p, 3 * P, RW)
    one = api.allocate(p, P, RW)
    if big <= 0 or one <= 0 or api.map(p, big, VA2, 0, 3 * P, PROT_RW) != 0:
        return 'allocate or map failed'
    vaddr = VA3
    result = 0
    while True:
        result = api.map(p, one, vaddr, 0, P, PROT_READ)
        if result < 0:
            break
        vaddr += P
    if result != E_NOMEM or mapping.count_in_use() != limits.MAX_MAPPINGS:
        return 'map with every mapping record taken is not E_NOMEM'
    if _mapped(p, vaddr):
        return 'a map refused with E_NOMEM left the page mapped'
    if api.unmap(p, VA2 + P, P) != E_NOMEM:
        return 'an unmap that must split, with no record free, is not E_NOMEM'
    if not _mapped(p, VA2 + P) or mapping.count_in_use() != limits.MAX_MAPPINGS:
        return 'an unmap refused with E_NOMEM changed something'
    if api.unmap(p, VA2, P) != 1 or api.unmap(p, VA2 + P, P) != 1:
        return 'unmap from the start of a mapping (no split) failed'
    if api.release(p, one) != 0 or mapping.count_in_use() != _fixture.mappings + 1:
        return 'release did not take the mappings of the full pool away'
    return None


@selftest.selftest('objects.pools_exhausted')
def test_pools_exhausted():
    reason = _begin(1)
    if reason is None:
        reason = _process_pool_full()
    reason = _finish(reason)
    if reason is None:
        reason = _begin(FIXTURE_PROCESSES)
        if reason is None:
            reason = _memory_pool_full()
        reason = _finish(reason)
    if reason is None:
        reason = _begin(1)
        if reason is None:
            reason = _mapping_pool_full()
        reason = _finish(reason)
    return reason


class _Drain(object):
    def __init__(self):
        self.head = 0           # frames taken, chained through their first word
        self.run = 0


_drain = _Drain()
KEEP_RUN = 4                    # frames left free, contiguous
CROSSING_VA = 0x201FF000        # two pages in two page tables (and one PD)


def _drain_frames():
    """Takes every free frame but a run of KEEP_RUN; returns False when the
    run could not be set aside."""
    run = pmm.alloc_contiguous(KEEP_RUN, 1)
    if run < 0:
        return False
    _drain.run = run
    _drain.head = 0
    while True:
        phys = pmm.alloc_frame()
        if phys < 0:
            break
        rawmem.store_u64(pmm.phys_to_virt(phys), _drain.head)
        _drain.head = phys
    pmm.free_frames(run, KEEP_RUN)
    return True


def _refill_frames():
    while _drain.head != 0:
        following = rawmem.load_u64(pmm.phys_to_virt(_drain.head))
        pmm.free_frame(_drain.head)
        _drain.head = following


def _out_of_frames(p, one):
    """Runs with KEEP_RUN frames free; returns None or why not."""
    if pmm.frames_free != KEEP_RUN:
        return 'the PMM was not drained to the run set aside'
    records = memory.records_in_use()
    if api.allocate(p, (KEEP_RUN + 2) * P, RW) != E_NOMEM:
        return 'allocate of more frames than are free is not E_NOMEM'
    if pmm.frames_free != KEEP_RUN:
        return 'a refused allocate kept frames'
    if memory.records_in_use() != records or p.slots_used != 1:
        return 'a refused allocate kept a record or a slot'
    # Pages one and two need 3 + 1 tables; only the first three exist.
    first = pmm.alloc_frame()                   # leave exactly 3 frames
    status = api.map(p, one, CROSSING_VA, 0, 2 * P, PROT_READ)
    pmm.free_frame(first)
    if status != E_NOMEM:
        return 'map needing more page tables than frames is not E_NOMEM'
    if pmm.frames_free != KEEP_RUN or _mapped(p, CROSSING_VA) or \
            mapping.count_in_use() != _fixture.mappings:
        return 'a refused map left a page, a table or a record'
    processes = process.records_in_use()
    if api.spawn(p, RIGHT_WAIT) != E_NOMEM:
        return 'spawn with the PMM empty is not E_NOMEM'
    if pmm.frames_free != KEEP_RUN or process.records_in_use() != processes or \
            p.slots_used != 1:
        return 'a refused spawn kept frames, a record or a slot'
    return None


@selftest.selftest('objects.out_of_frames')
def test_out_of_frames():
    reason = _begin(1)
    if reason is not None:
        return _finish(reason)
    p = _proc(0)
    one = api.allocate(p, 2 * P, RW)
    # The heap's slab for the frame list of the refused allocate exists
    # before the PMM is drained (a slab takes SLAB_PAGES frames).
    warm = api.allocate(p, (KEEP_RUN + 2) * P, RW)
    if one <= 0 or warm <= 0 or api.release(p, warm) != 0:
        return _finish('allocate failed')
    free_before = _free_frames_and_heap_pages()
    if not _drain_frames():
        return _finish('no contiguous run of frames to keep')
    reason = _out_of_frames(p, one)
    _refill_frames()
    if reason is None and _free_frames_and_heap_pages() != free_before:
        reason = 'frames lost while the PMM was empty'
    if reason is None and not pmm.check_counters():
        reason = 'the PMM counters do not add up'
    return _finish(reason)


# ------------------------------------------------------------ no leak

class _Figures(object):
    def __init__(self):
        self.frames_free = 0
        self.heap_in_use = 0
        self.heap_reserved = 0


_start = _Figures()
_final = _Figures()


def _measure(figures):
    figures.frames_free = pmm.frames_free
    figures.heap_in_use = heap.kernel_heap.bytes_in_use
    figures.heap_reserved = heap.kernel_heap.bytes_reserved_from_pages


def _object_rounds(rounds):
    """allocate + map + touch + release of 4 KiB, rounds times, in the
    space of fixture process 0 (active meanwhile, as for a system call)."""
    p = _proc(0)
    address_space.activate(p.space)
    i = 0
    while i < rounds:
        d = api.allocate(p, P, RW)
        if d <= 0:
            return 'allocate failed'
        if api.map(p, d, VA, 0, P, PROT_RW) != 0:
            return 'map failed'
        if not _reads_zero(VA + 8):
            return 'a new page is not zero-filled (or not readable)'
        value = PATTERN ^ i
        if not _user_write(VA + 8, value):
            return 'the store to the page faulted'
        phys = address_space.translate(p.space, VA)
        if phys < 0 or rawmem.load_u64(pmm.phys_to_virt(phys) + 8) != value:
            return 'the store did not reach the object frame'
        if api.release(p, d) != 0:
            return 'release failed'
        if not _faults_not_present(VA + 8):
            return 'the page stayed readable after release'
        i += 1
    _kernel_space_back()
    return None


def _ok_or_dead(status):
    return status >= 0 or status == E_DEAD


def _churn_round(r, g_ab, g_bc, g_ca):
    """One round of clones, leases and transfers between processes 0, 1, 2;
    leaves every table as it found it.  Returns None or why not."""
    a = _proc(0)
    b = _proc(1)
    c = _proc(2)
    d = api.allocate(a, 2 * P, RW)
    if d <= 0:
        return 'allocate failed'
    twin = api.clone(a, d, RW)
    lent = api.borrow(a, d, 0)
    short = api.borrow(a, d, 1 + r % 4)         # may expire on the timer
    if twin <= 0 or lent <= 0 or short <= 0:
        return 'clone or borrow failed'
    if api.map(a, d, VA, 0, 2 * P, PROT_RW) != 0 or api.map(a, lent, VA2, P, P, PROT_READ) != 0:
        return 'map in the first process failed'
    theirs = api.transfer(a, twin, g_ab)
    if theirs <= 0 or api.map(b, theirs, VA, 0, P, PROT_READ) != 0:
        return 'transfer to or map in the second process failed'
    if _describe(b, theirs) != 0 or _desc.strong != 2 or _desc.weak != 2:
        return 'the counts are wrong after the transfer'
    lease_b = api.borrow(b, theirs, 50)
    if lease_b <= 0:
        return 'borrow in the second process failed'
    lease_c = api.transfer(b, lease_b, g_bc)
    if not _ok_or_dead(lease_c):
        return 'transfer of a lease to the third process failed'
    if lease_c < 0 and api.release(b, lease_b) != 0:
        return 'release of a dead lease failed'
    if lease_c > 0:
        if not _ok_or_dead(api.map(c, lease_c, VA3, P, P, PROT_READ)):
            return 'map through the transferred lease failed'
        lease_back = api.transfer(c, lease_c, g_ca)
        if lease_back > 0:
            if not _ok_or_dead(api.map(a, lease_back, VA3, 0, P, PROT_READ)):
                return 'map through the lease transferred back failed'
            if api.release(a, lease_back) != 0:
                return 'release of the lease transferred back failed'
        elif lease_back != E_DEAD or api.release(c, lease_c) != 0:
            return 'transfer of the lease back failed'
    if _describe(a, short) == 0 and _desc.dead:
        _fixture.expired += 1
    order = r % 3
    if order == 0:
        if api.release(a, d) != 0 or api.release(b, theirs) != 0:
            return 'release of the strong descriptors failed'
        if _describe(a, lent) != 0 or not _desc.dead:
            return 'the object outlived its strong descriptors'
        if api.release(a, lent) != 0 or api.release(a, short) != 0:
            return 'release of a lease failed'
    elif order == 1:
        if api.release(b, theirs) != 0 or api.release(a, short) != 0 or \
                api.release(a, lent) != 0 or api.release(a, d) != 0:
            return 'release failed'
    else:
        if api.unmap(a, VA, 2 * P) != 2 or api.unmap(b, VA, P) != 1:
            return 'unmap did not report the pages mapped'
        if api.release(a, short) != 0 or api.release(a, lent) != 0 or \
                api.release(b, theirs) != 0 or api.release(a, d) != 0:
            return 'release failed'
    if a.slots_used != 1 or b.slots_used != 1 or c.slots_used != 1:
        return 'a round left descriptors behind'
    if mapping.count_in_use() != _fixture.mappings or lease.queued() != _fixture.leases:
        return 'a round left mappings or leases behind'
    return None


def _churn(rounds):
    a = _proc(0)
    b = _proc(1)
    c = _proc(2)
    g_ab = api.grant(a, b, RIGHT_GIVE, True)
    g_bc = api.grant(b, c, RIGHT_GIVE, True)
    g_ca = api.grant(c, a, RIGHT_GIVE, True)    # a cycle of strong descriptors
    if g_ab <= 0 or g_bc <= 0 or g_ca <= 0:
        return 'grant failed'
    r = 0
    while r < rounds:
        reason = _churn_round(r, g_ab, g_bc, g_ca)
        if reason is not None:
            return reason
        r += 1
    return None


def _process_rounds(rounds):
    """Processes made, given memory, a mapping and a lease, then ended."""
    i = 0
    while i < rounds:
        index = api.spawn(None, 0)
        if index < 0:
            return 'spawn failed'
        proc = process.get(index)
        d = api.allocate(proc, P, RW)
        if d <= 0 or api.map(proc, d, VA, 0, P, PROT_RW) != 0 or api.borrow(proc, d, 100) <= 0:
            api.exit(proc, 0)
            return 'allocate, map or borrow in a new process failed'
        if api.exit(proc, 0) != 0 or proc.in_use:
            return 'exit did not free the process record'
        i += 1
    return None


def _no_leak_rounds(object_rounds, churn_rounds, process_rounds):
    reason = _begin(3)
    if reason is None:
        reason = _object_rounds(object_rounds)
    if reason is None:
        reason = _churn(churn_rounds)
    if reason is None:
        reason = _process_rounds(process_rounds)
    return _finish(reason)


def _log_figures():
    log.begin(log.INFO)
    log.put('objects: ')
    log.put_int(OBJECT_ROUNDS)
    log.put(' rounds of allocate+map+touch+release 4 KiB, ')
    log.put_int(CHURN_ROUNDS)
    log.put(' of clone/borrow/transfer churn (')
    log.put_int(_fixture.expired)
    log.put(' leases expired on the timer), ')
    log.put_int(PROCESS_ROUNDS)
    log.put(' processes; frames free ')
    log.put_int(_start.frames_free)
    log.put(' -> ')
    log.put_int(_final.frames_free)
    log.put(', heap bytes in use ')
    log.put_int(_start.heap_in_use)
    log.put(' -> ')
    log.put_int(_final.heap_in_use)
    log.put(', heap pages ')
    log.put_int(_start.heap_reserved // P)
    log.put(' -> ')
    log.put_int(_final.heap_reserved // P)
    log.end()


@selftest.selftest('objects.no_leak_churn')
def test_no_leak_churn():
    # Warm-up: the heap grows the slabs this pattern needs (and keeps them).
    reason = _no_leak_rounds(2, 3, 2)
    if reason is not None:
        return reason
    _fixture.expired = 0
    _measure(_start)
    reason = _no_leak_rounds(OBJECT_ROUNDS, CHURN_ROUNDS, PROCESS_ROUNDS)
    _measure(_final)
    _log_figures()
    if reason is not None:
        return reason
    if _final.heap_in_use != _start.heap_in_use:
        return 'heap bytes in use not back to the start'
    if _final.heap_reserved != _start.heap_reserved:
        return 'the heap holds a different number of pages (slabs grew)'
    if _final.frames_free != _start.frames_free:
        return 'free frames not back to the start'
    return None
