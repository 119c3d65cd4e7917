"""conform: the ABI conformance program, from ring 3 (docs/abi.md).

    conform                 runs every test; returns 0 when all passed and
                            every (system call, error) pair of
                            elyz/abi/syscalls.py ERRORS was provoked
    conform <role> ...      a child the tests start (ROLES below)

Each test provokes documented errors and checks documented rules, and
starts from and returns to the same kernel counters (process.leaked: zero
leak per test).  A pair counts as covered only when a call returned exactly
that error (expect()); the closing lines list every pair and whether it was
seen, so coverage is measured, never declared.

Output, one line each:
    conform: ok <test> (<checks> checks)
    conform: FAIL <test>: <what>
    conform: pair <call> <E_NAME> covered|MISSING
    conform: <tests> tests, <failures> failed, <covered>/<pairs> pairs covered

The tests run in 256 MiB (a 256 MiB MemoryObject cannot be had) and need
the user image at their first descriptor (init passes it), to start their
children from.
"""

from rpython.rlib.unroll import unrolling_iterable
from rpython.rtyper.lltypesystem import lltype, rffi

from elyz.abi import errors, limits, syscalls
from elyz.abi.errors import (E_ALIGN, E_BADDESC, E_BUFFER, E_CLOSED, E_DEAD, E_EXITED,
                             E_FAULT, E_INVALID, E_KIND, E_LIMIT, E_NOEXEC, E_NOMEM,
                             E_NOSLOTS, E_OVERLAP, E_RANGE, E_RIGHTS, E_WOULDBLOCK)
from elyz.abi.rights import (CHANNEL_RIGHTS, KIND_CHANNEL, KIND_MEMORY, KIND_PROCESS,
                             MEMORY_RIGHTS, PROCESS_RIGHTS,
                             PROT_EXEC, PROT_READ, PROT_WRITE, RIGHT_BORROW, RIGHT_CLONE,
                             RIGHT_GIVE, RIGHT_MAP, RIGHT_READ, RIGHT_TRANSFER, RIGHT_WAIT,
                             RIGHT_WRITE, STRENGTH_STRONG, STRENGTH_WEAK)
from user.lib import api, ipc, process

PAGE = limits.PAGE_SIZE
SLOTS = limits.DESCRIPTOR_SLOTS
EXIT_PAGE_FAULT = 128 + 14
EXIT_GENERAL_PROTECTION = 128 + 13
MAGIC = 0x5eed1e55c0ffee
LARGEST = int((1 << 63) - 1)          # the largest word
HUGE_LENGTH = int((1 << 63) - 4096)   # page-aligned, wraps when added to an address

# Addresses: the runtime's heap is 0x10000000..0x50000000, the image at
# 0x400000, the stack below 0x7FF000000000; the tests keep out of them.
TEST_VA = 0x100000000
OTHER_VA = 0x180000000
FLAG_VA = 0x200000000
MANY_VA = 0x300000000
KERNEL_ADDRESS = -0x800000000000            # 0xffff800000000000: the direct map
NON_CANONICAL = 0x800000000000

# The flag page a parent shares with its children (word indexes).
GO = 1                  # the parent sets it: children may go on
CHILD_WORD = 8          # child i writes its report at CHILD_WORD + i
SECRET_SIZE = 1009 * PAGE   # a size none of a new process's objects has: not a
                            # multiple of 64 KiB (no heap chunk), above any segment
REPORT_TICKS = 3000     # 30 s
ENDPOINT_HOGS = 5           # children making channels (x 254: past MAX_ENDPOINTS)
MESSAGE_CHANNELS = 66       # queues enough for MAX_MESSAGES (66 x 64 > 4096)
RING = 100
CYCLE_SHAPES = ['self', 'pair', 'ring', 'hanging', 'lease', 'exchange']
HOGS = 17               # children holding leases (x 254: past MAX_LEASES)
RW = RIGHT_READ | RIGHT_WRITE | RIGHT_MAP
ALL_MEMORY = MEMORY_RIGHTS


# Every (system call, error) pair docs/abi.md lists, as "call E_NAME".
PAIRS = ['%s %s' % (call, error) for number, call, args, result in syscalls.SYSCALLS
         for error in syscalls.ERRORS[call]]


class _State(object):
    def __init__(self):
        self.test = ''
        self.checks = 0
        self.failures = 0
        self.failed = ''            # the current test's first failure
        self.covered = {}           # "call E_NAME" -> 1


_state = _State()


# ------------------------------------------------------------ checking

def fail(what):
    if not _state.failed:
        _state.failed = what


def check(condition, what):
    _state.checks += 1
    if not condition:
        fail(what)


def expect(call, error, result, what):
    """Checks that call returned exactly error; the pair is then covered."""
    _state.checks += 1
    if result == error:
        _state.covered[call + ' ' + errors.error_name(error)] = 1
    else:
        fail('%s: %s returned %d, expected %s' % (what, call, result,
                                                  errors.error_name(error)))


def good(result, what):
    """Checks that a call succeeded; returns its result."""
    _state.checks += 1
    if result < 0:
        fail('%s failed: %s' % (what, errors.error_name(result)))
    return result


def load(addr):
    return rffi.cast(rffi.LONGP, addr)[0]


def touched(addr):
    """Reads the word at addr (a read the compiler cannot drop: its value
    picks the result); returns 5, or 6 when it holds MAGIC.  The callers
    expect the read to kill them."""
    if load(addr) == MAGIC:
        return 6
    return 5


def store(addr, value):
    rffi.cast(rffi.LONGP, addr)[0] = value


def describe(desc):
    """Returns the Description of desc (kind 0 when describe failed)."""
    out = process.Description()
    if process.describe(desc, out) < 0:
        out.kind = 0
    return out


# ------------------------------------------------------------ helpers

def dead_weak():
    """Returns a weak descriptor whose object died."""
    desc = api.sys_allocate(PAGE, ALL_MEMORY)
    weak = api.sys_borrow(desc, 0)
    api.sys_release(desc)
    return weak


def fill_table(desc, rights):
    """Clones desc with rights until the table is full; returns the clones."""
    clones = []
    while True:
        clone = api.sys_clone(desc, rights)
        if clone < 0:
            check(clone == E_NOSLOTS, 'filling the table: %d' % clone)
            break
        clones.append(clone)
    return clones


def release_all(descs):
    for desc in descs:
        api.sys_release(desc)


def flag_page():
    """Returns a page mapped at FLAG_VA, for a parent and its children."""
    flag = api.sys_allocate(PAGE, ALL_MEMORY)
    good(api.sys_map(flag, FLAG_VA, 0, PAGE, PROT_READ | PROT_WRITE), 'map the flag page')
    return flag


def start(argv, passed):
    """Spawns the user image with argv, passing the descriptors passed."""
    return good(process.spawn(process.IMAGE, argv, passed), 'spawn %s' % argv[0])


def wait_for_children(count):
    """Waits until count children reported (CHILD_WORD + i nonzero), at
    most REPORT_TICKS ticks."""
    deadline = api.sys_clock() + REPORT_TICKS
    i = 0
    while i < count:
        while load(FLAG_VA + (CHILD_WORD + i) * 8) == 0:
            if api.sys_clock() > deadline:
                fail('child %d did not report within %d ticks' % (i, REPORT_TICKS))
                return
            api.sys_sleep(1)
        i += 1


def finish(child):
    """Waits for child and releases it; returns its exit code and fault
    address (describe's)."""
    code = process.wait(child)
    info = describe(child)
    api.sys_release(child)
    return code, info.fault_address


def spawn_true():
    return process.spawn(process.IMAGE, ['true'], [])


def exited_child():
    """Returns a strong descriptor to a child that has exited."""
    child = good(spawn_true(), 'spawn true')
    check(process.wait(child) == 0, 'true exits 0')
    return child


# ------------------------------------------------------------ the tests: errors

def t_debug_write():
    expect('debug_write', E_INVALID, api.sys_debug_write(TEST_VA, -1), 'negative length')
    expect('debug_write', E_FAULT, api.sys_debug_write(KERNEL_ADDRESS, 8), 'kernel pointer')
    expect('debug_write', E_FAULT, api.sys_debug_write(0, 8), 'null pointer')
    expect('debug_write', E_FAULT, api.sys_debug_write(TEST_VA, 8), 'unmapped pointer')
    expect('debug_write', E_FAULT, api.sys_debug_write(NON_CANONICAL, 8), 'non-canonical')
    expect('debug_write', E_FAULT, api.sys_debug_write(limits.USER_END - 4, 8),
           'a range across the end of the user half')
    expect('debug_write', E_FAULT, api.sys_debug_write(-8, 16), 'a wrapping range')


def t_sleep_and_clock():
    expect('sleep', E_INVALID, api.sys_sleep(-1), 'negative ticks')
    expect('sleep', E_INVALID, api.sys_sleep((1 << 40) + 1), 'ticks above 2^40')
    before = api.sys_clock()
    good(api.sys_sleep(3), 'sleep 3')
    check(api.sys_clock() - before >= 3, 'sleep(3) lasts at least 3 ticks')
    check(api.sys_yield() == 0, 'yield returns 0')


def t_allocate():
    expect('allocate', E_INVALID, api.sys_allocate(PAGE, ALL_MEMORY | RIGHT_WAIT),
           'a process right')
    expect('allocate', E_INVALID, api.sys_allocate(PAGE, 1 << 40), 'an unknown right')
    expect('allocate', E_INVALID, api.sys_allocate(0, RW), 'size 0')
    expect('allocate', E_INVALID, api.sys_allocate(-PAGE, RW), 'a negative size')
    expect('allocate', E_LIMIT, api.sys_allocate(limits.MAX_OBJECT_SIZE + 1, RW),
           'one byte above MAX_OBJECT_SIZE')
    expect('allocate', E_LIMIT, api.sys_allocate(LARGEST, RW), 'the largest size')
    desc = good(api.sys_allocate(PAGE + 1, RW | RIGHT_CLONE), 'allocate a page and a byte')
    check(describe(desc).size == 2 * PAGE, 'a size is rounded up to whole pages')
    clones = fill_table(desc, RIGHT_READ)
    expect('allocate', E_NOSLOTS, api.sys_allocate(PAGE, RW), 'a full table')
    release_all(clones)
    api.sys_release(desc)
    held = []
    result = 0
    while len(held) < 64:
        result = api.sys_allocate(limits.MAX_OBJECT_SIZE, RIGHT_READ)
        if result < 0:
            break
        held.append(result)
    expect('allocate', E_NOMEM, result, 'MAX_OBJECT_SIZE bytes until none are left')
    release_all(held)


def t_clone():
    desc = good(api.sys_allocate(PAGE, RW | RIGHT_CLONE), 'allocate')
    expect('clone', E_BADDESC, api.sys_clone(0, RIGHT_READ), 'value 0')
    expect('clone', E_BADDESC, api.sys_clone(-1, RIGHT_READ), 'a negative value')
    expect('clone', E_BADDESC, api.sys_clone(desc + SLOTS, RIGHT_READ), 'the next generation')
    expect('clone', E_BADDESC, api.sys_clone(1 << 62, RIGHT_READ), 'a huge value')
    weak = dead_weak()
    expect('clone', E_DEAD, api.sys_clone(weak, RIGHT_READ), 'a dead weak descriptor')
    api.sys_release(weak)
    expect('clone', E_RIGHTS, api.sys_clone(desc, RW | RIGHT_CLONE | RIGHT_TRANSFER),
           'more rights than held')
    narrow = good(api.sys_clone(desc, RIGHT_READ), 'clone without RIGHT_CLONE')
    expect('clone', E_RIGHTS, api.sys_clone(narrow, RIGHT_READ), 'no RIGHT_CLONE')
    api.sys_release(narrow)
    clones = fill_table(desc, RIGHT_READ)
    expect('clone', E_NOSLOTS, api.sys_clone(desc, RIGHT_READ), 'a full table')
    release_all(clones)
    api.sys_release(desc)


def t_borrow():
    desc = good(api.sys_allocate(PAGE, RW | RIGHT_BORROW | RIGHT_CLONE), 'allocate')
    expect('borrow', E_BADDESC, api.sys_borrow(desc + 3 * SLOTS, 5), 'a later generation')
    weak = dead_weak()
    expect('borrow', E_DEAD, api.sys_borrow(weak, 5), 'a dead weak descriptor')
    api.sys_release(weak)
    lease = good(api.sys_borrow(desc, 1), 'a lease of 1 tick')
    api.sys_sleep(3)
    expect('borrow', E_DEAD, api.sys_borrow(lease, 5), 'an expired lease')
    expect('clone', E_DEAD, api.sys_clone(lease, RIGHT_READ), 'an expired lease')
    api.sys_release(lease)
    narrow = good(api.sys_clone(desc, RIGHT_READ), 'clone')
    expect('borrow', E_RIGHTS, api.sys_borrow(narrow, 5), 'no RIGHT_BORROW')
    api.sys_release(narrow)
    expect('borrow', E_INVALID, api.sys_borrow(desc, -1), 'a negative duration')
    expect('borrow', E_LIMIT, api.sys_borrow(desc, limits.MAX_LEASE_TICKS + 1),
           'above MAX_LEASE_TICKS')
    clones = fill_table(desc, RIGHT_READ)
    expect('borrow', E_NOSLOTS, api.sys_borrow(desc, 5), 'a full table')
    release_all(clones)
    api.sys_release(desc)


def t_transfer():
    desc = good(api.sys_allocate(PAGE, ALL_MEMORY), 'allocate')
    me = good(api.sys_self(RIGHT_GIVE | RIGHT_WAIT | RIGHT_BORROW), 'self')
    expect('transfer', E_BADDESC, api.sys_transfer(desc + SLOTS, me), 'a bad descriptor')
    expect('transfer', E_BADDESC, api.sys_transfer(desc, 0), 'a bad target')
    weak = dead_weak()
    expect('transfer', E_DEAD, api.sys_transfer(weak, me), 'a dead descriptor')
    api.sys_release(weak)
    narrow = good(api.sys_clone(desc, RIGHT_READ), 'clone')
    expect('transfer', E_RIGHTS, api.sys_transfer(narrow, me), 'no RIGHT_TRANSFER')
    api.sys_release(narrow)
    expect('transfer', E_KIND, api.sys_transfer(desc, desc), 'a memory target')
    no_give = good(api.sys_self(RIGHT_WAIT), 'self without RIGHT_GIVE')
    expect('transfer', E_RIGHTS, api.sys_transfer(desc, no_give), 'a target without RIGHT_GIVE')
    api.sys_release(no_give)
    child = exited_child()
    gone = good(api.sys_borrow(child, 0), 'a weak descriptor to the child')
    expect('transfer', E_EXITED, api.sys_transfer(desc, child), 'an exited target')
    check(describe(desc).kind == KIND_MEMORY, 'the sender keeps the descriptor')
    api.sys_release(child)
    expect('transfer', E_DEAD, api.sys_transfer(desc, gone), 'a dead target')
    expect('wait', E_DEAD, process.wait(gone), 'a dead process')
    api.sys_release(gone)
    clones = fill_table(desc, RIGHT_READ)
    expect('transfer', E_NOSLOTS, api.sys_transfer(desc, me), 'to itself, its table full')
    release_all(clones)
    moved = good(api.sys_transfer(desc, me), 'to itself')
    check(moved != desc, 'a moved descriptor has a new value')
    expect('release', E_BADDESC, api.sys_release(desc), 'the value moved away')
    api.sys_release(moved)
    api.sys_release(me)


def t_release_and_describe():
    desc = good(api.sys_allocate(PAGE, RW), 'allocate')
    good(api.sys_release(desc), 'release')
    expect('release', E_BADDESC, api.sys_release(desc), 'released twice')
    expect('release', E_BADDESC, api.sys_release(0), 'value 0')
    expect('release', E_BADDESC, api.sys_release(SLOTS - 1), 'generation 0')
    expect('release', E_BADDESC, api.sys_release(-SLOTS), 'a negative value')
    out = lltype.malloc(rffi.LONGP.TO, 16, flavor='raw')
    expect('describe', E_BADDESC, api.sys_describe(desc, rffi.cast(lltype.Signed, out)),
           'a released descriptor')
    lltype.free(out, flavor='raw')
    live = good(api.sys_allocate(PAGE, RW), 'allocate')
    expect('describe', E_FAULT, api.sys_describe(live, KERNEL_ADDRESS), 'a kernel out pointer')
    expect('describe', E_FAULT, api.sys_describe(live, TEST_VA), 'an unmapped out pointer')
    expect('describe', E_FAULT, api.sys_describe(live, 0x400000), 'a read-only out pointer')
    expect('counters', E_FAULT, api.sys_counters(KERNEL_ADDRESS), 'a kernel out pointer')
    expect('counters', E_FAULT, api.sys_counters(TEST_VA - 8), 'an unmapped out pointer')
    api.sys_release(live)


def t_self_and_wait():
    expect('self', E_INVALID, api.sys_self(RIGHT_READ), 'a memory right')
    expect('self', E_INVALID, api.sys_self(PROCESS_RIGHTS | (1 << 20)), 'an unknown right')
    me = good(api.sys_self(RIGHT_WAIT | RIGHT_CLONE), 'self')
    info = describe(me)
    check(info.kind == KIND_PROCESS and info.strength == STRENGTH_STRONG and
          info.rights == RIGHT_WAIT | RIGHT_CLONE and info.state == 1, 'self describes itself')
    expect('wait', E_INVALID, process.wait(me), 'itself')
    clones = fill_table(me, RIGHT_WAIT)
    expect('self', E_NOSLOTS, api.sys_self(RIGHT_WAIT), 'a full table')
    release_all(clones)
    api.sys_release(me)
    memory = good(api.sys_allocate(PAGE, RW), 'allocate')
    expect('wait', E_KIND, process.wait(memory), 'a memory descriptor')
    expect('wait', E_BADDESC, process.wait(memory + SLOTS), 'a bad descriptor')
    api.sys_release(memory)
    child = exited_child()
    no_wait = good(api.sys_clone(child, RIGHT_GIVE), 'clone without RIGHT_WAIT')
    expect('wait', E_RIGHTS, process.wait(no_wait), 'no RIGHT_WAIT')
    api.sys_release(no_wait)
    check(process.wait(child) == 0, 'wait again gives the code again')
    api.sys_release(child)


def t_spawn():
    none = lltype.malloc(rffi.LONGP.TO, 1, flavor='raw')
    descs = rffi.cast(lltype.Signed, none)
    image = process.IMAGE
    expect('spawn', E_INVALID, api.sys_spawn(image, descs, -1, descs, 0), 'count -1')
    expect('spawn', E_INVALID, api.sys_spawn(image, descs, 17, descs, 0), 'count 17')
    expect('spawn', E_INVALID, api.sys_spawn(image, descs, 0, descs, -1), 'args length -1')
    expect('spawn', E_LIMIT, api.sys_spawn(image, descs, 0, descs, 1025), 'args length 1025')
    expect('spawn', E_FAULT, api.sys_spawn(image, KERNEL_ADDRESS, 1, descs, 0), 'kernel descs')
    expect('spawn', E_FAULT, api.sys_spawn(image, descs, 0, TEST_VA, 4), 'unmapped args')
    expect('spawn', E_BADDESC, api.sys_spawn(image + SLOTS, descs, 0, descs, 0), 'a bad image')
    weak = dead_weak()
    expect('spawn', E_DEAD, api.sys_spawn(weak, descs, 0, descs, 0), 'a dead image')
    me = good(api.sys_self(RIGHT_WAIT), 'self')
    expect('spawn', E_KIND, api.sys_spawn(me, descs, 0, descs, 0), 'a process as image')
    no_read = good(api.sys_clone(image, RIGHT_MAP), 'the image without RIGHT_READ')
    expect('spawn', E_RIGHTS, api.sys_spawn(no_read, descs, 0, descs, 0), 'no RIGHT_READ')
    api.sys_release(no_read)
    none[0] = weak
    expect('spawn', E_DEAD, api.sys_spawn(image, descs, 1, descs, 0), 'passing a dead one')
    none[0] = image + SLOTS
    expect('spawn', E_BADDESC, api.sys_spawn(image, descs, 1, descs, 0), 'passing a bad one')
    none[0] = me
    expect('spawn', E_RIGHTS, api.sys_spawn(image, descs, 1, descs, 0),
           'passing one without RIGHT_TRANSFER')
    api.sys_release(weak)
    api.sys_release(me)
    zeros = good(api.sys_allocate(4 * PAGE, RIGHT_READ | RIGHT_MAP), 'allocate')
    expect('spawn', E_NOEXEC, api.sys_spawn(zeros, descs, 0, descs, 0), 'a page of zeros')
    api.sys_release(zeros)
    clones = fill_table(image, RIGHT_READ)
    expect('spawn', E_NOSLOTS, api.sys_spawn(image, descs, 0, descs, 0), 'a full table')
    release_all(clones)
    lltype.free(none, flavor='raw')
    zombies = []
    result = 0
    while len(zombies) < limits.MAX_PROCESSES:
        result = spawn_true()
        if result < 0:
            break
        check(process.wait(result) == 0, 'true exits 0')
        zombies.append(result)
    expect('spawn', E_NOMEM, result, 'every process record taken (zombies held)')
    release_all(zombies)


def t_map():
    desc = good(api.sys_allocate(4 * PAGE, RW | RIGHT_CLONE), 'allocate')
    prot = PROT_READ | PROT_WRITE
    expect('map', E_BADDESC, api.sys_map(desc + SLOTS, TEST_VA, 0, PAGE, prot), 'bad')
    weak = dead_weak()
    expect('map', E_DEAD, api.sys_map(weak, TEST_VA, 0, PAGE, PROT_READ), 'dead')
    api.sys_release(weak)
    me = good(api.sys_self(RIGHT_WAIT), 'self')
    expect('map', E_KIND, api.sys_map(me, TEST_VA, 0, PAGE, PROT_READ), 'a process')
    api.sys_release(me)
    no_map = good(api.sys_clone(desc, RIGHT_READ | RIGHT_WRITE), 'clone without RIGHT_MAP')
    expect('map', E_RIGHTS, api.sys_map(no_map, TEST_VA, 0, PAGE, PROT_READ), 'no RIGHT_MAP')
    api.sys_release(no_map)
    expect('map', E_INVALID, api.sys_map(desc, TEST_VA, 0, PAGE, PROT_READ | 8), 'unknown prot')
    expect('map', E_INVALID, api.sys_map(desc, TEST_VA, 0, PAGE, PROT_WRITE), 'no PROT_READ')
    expect('map', E_INVALID, api.sys_map(desc, TEST_VA, 0, PAGE,
                                         PROT_READ | PROT_WRITE | PROT_EXEC), 'W and X')
    expect('map', E_RIGHTS, api.sys_map(desc, TEST_VA, 0, PAGE, PROT_READ | PROT_EXEC),
           'PROT_EXEC without RIGHT_EXEC')
    expect('map', E_ALIGN, api.sys_map(desc, TEST_VA + 1, 0, PAGE, prot), 'vaddr')
    expect('map', E_ALIGN, api.sys_map(desc, TEST_VA, 0, PAGE + 8, prot), 'length')
    expect('map', E_INVALID, api.sys_map(desc, TEST_VA, 0, 0, prot), 'length 0')
    expect('map', E_INVALID, api.sys_map(desc, TEST_VA, 0, -PAGE, prot), 'negative length')
    expect('map', E_RANGE, api.sys_map(desc, 0, 0, PAGE, prot), 'page 0')
    expect('map', E_RANGE, api.sys_map(desc, limits.USER_END, 0, PAGE, prot), 'USER_END')
    expect('map', E_RANGE, api.sys_map(desc, KERNEL_ADDRESS, 0, PAGE, prot), 'the kernel half')
    expect('map', E_RANGE, api.sys_map(desc, NON_CANONICAL, 0, PAGE, prot), 'non-canonical')
    expect('map', E_RANGE, api.sys_map(desc, limits.USER_END - PAGE, 0, 2 * PAGE, prot),
           'across USER_END')
    expect('map', E_RANGE, api.sys_map(desc, TEST_VA, 0, HUGE_LENGTH, prot),
           'a length that wraps')
    expect('map', E_ALIGN, api.sys_map(desc, TEST_VA, 12, PAGE, prot), 'offset')
    expect('map', E_RANGE, api.sys_map(desc, TEST_VA, 4 * PAGE, PAGE, prot), 'offset at the end')
    expect('map', E_RANGE, api.sys_map(desc, TEST_VA, 2 * PAGE, 3 * PAGE, prot), 'past the end')
    expect('map', E_RANGE, api.sys_map(desc, TEST_VA, -PAGE, PAGE, prot), 'a negative offset')
    expect('map', E_RANGE, api.sys_map(desc, TEST_VA, (1 << 62), PAGE, prot), 'a huge offset')
    good(api.sys_map(desc, TEST_VA, 0, 2 * PAGE, prot), 'map 2 pages')
    expect('map', E_OVERLAP, api.sys_map(desc, TEST_VA + PAGE, 0, PAGE, prot), 'overlap')
    expect('map', E_OVERLAP, api.sys_map(desc, TEST_VA - PAGE, 0, 2 * PAGE, prot), 'overlap')
    store(TEST_VA + PAGE, MAGIC)
    check(api.sys_unmap(TEST_VA, 4 * PAGE) == 2, 'unmap says how many pages went')
    api.sys_release(desc)


def t_unmap():
    expect('unmap', E_ALIGN, api.sys_unmap(TEST_VA + 8, PAGE), 'vaddr')
    expect('unmap', E_ALIGN, api.sys_unmap(TEST_VA, 100), 'length')
    expect('unmap', E_INVALID, api.sys_unmap(TEST_VA, 0), 'length 0')
    expect('unmap', E_INVALID, api.sys_unmap(TEST_VA, -PAGE), 'negative length')
    expect('unmap', E_RANGE, api.sys_unmap(0, PAGE), 'page 0')
    expect('unmap', E_RANGE, api.sys_unmap(KERNEL_ADDRESS, PAGE), 'the kernel half')
    expect('unmap', E_RANGE, api.sys_unmap(limits.USER_END - PAGE, 2 * PAGE), 'across the end')
    check(api.sys_unmap(TEST_VA, PAGE) == 0, 'unmap of nothing is 0 pages')


def t_mapping_records_run_out():
    """map and unmap when no mapping record is free (MAX_MAPPINGS, all
    processes together): no garbage is made while the records are out (a
    runtime that grew its heap would need one)."""
    pages = limits.MAX_MAPPINGS + 16
    desc = good(api.sys_allocate(pages * PAGE, RW), 'allocate')
    split = good(api.sys_allocate(3 * PAGE, RW), 'allocate')
    prot = PROT_READ | PROT_WRITE
    good(api.sys_map(split, OTHER_VA, 0, 3 * PAGE, prot), 'map 3 pages')
    made = 0
    result = 0
    while made < pages:
        result = api.sys_map(desc, MANY_VA + 2 * made * PAGE, made * PAGE, PAGE, prot)
        if result < 0:
            break
        made += 1
    split_result = api.sys_unmap(OTHER_VA + PAGE, PAGE)
    removed = api.sys_unmap(MANY_VA, 2 * pages * PAGE)
    expect('map', E_NOMEM, result, 'every mapping record taken')
    expect('unmap', E_NOMEM, split_result, 'a split with every record taken')
    check(removed == made, 'one unmap removes every mapping in its range')
    check(made > limits.MAX_MAPPINGS // 2, 'most records were free')
    check(api.sys_unmap(OTHER_VA + PAGE, PAGE) == 1, 'the split works with records free')
    api.sys_release(split)
    api.sys_release(desc)


def t_lease_limit():
    """MAX_LEASES leases, in HOGS children's tables: clone and borrow of a
    lease then fail with E_LIMIT."""
    flag = flag_page()
    desc = good(api.sys_allocate(PAGE, ALL_MEMORY), 'allocate')
    lease = good(api.sys_borrow(desc, 1000000), 'a long lease')
    children = []
    i = 0
    while i < HOGS:
        passed = [good(api.sys_clone(flag, RW | RIGHT_TRANSFER), 'clone the flag'),
                  good(api.sys_clone(lease, ALL_MEMORY), 'clone the lease')]
        children.append(start(['conform', 'leasehog', str(i)], passed))
        i += 1
    wait_for_children(HOGS)
    expect('clone', E_LIMIT, api.sys_clone(lease, RIGHT_READ), 'MAX_LEASES leases queued')
    expect('borrow', E_LIMIT, api.sys_borrow(desc, 5), 'MAX_LEASES leases queued')
    infinite = good(api.sys_borrow(desc, 0), 'a lease that never expires is not queued')
    api.sys_release(infinite)
    store(FLAG_VA + GO * 8, 1)
    for child in children:
        code, address = finish(child)
        check(code == 0, 'a lease holder exits 0')
    api.sys_release(lease)
    api.sys_release(desc)
    api.sys_release(flag)


# ------------------------------------------------------------ the tests: rules

def t_rights_never_grow():
    desc = good(api.sys_allocate(PAGE, ALL_MEMORY), 'allocate')
    narrow = good(api.sys_clone(desc, RIGHT_READ | RIGHT_MAP | RIGHT_CLONE | RIGHT_BORROW |
                                RIGHT_TRANSFER), 'clone read-only')
    check(describe(narrow).rights == RIGHT_READ | RIGHT_MAP | RIGHT_CLONE | RIGHT_BORROW |
          RIGHT_TRANSFER, 'a clone has the rights asked')
    expect('clone', E_RIGHTS, api.sys_clone(narrow, RIGHT_READ | RIGHT_WRITE), 'regain write')
    lease = good(api.sys_borrow(narrow, 0), 'borrow')
    check(describe(lease).rights == describe(narrow).rights, 'a lease has the rights held')
    expect('map', E_RIGHTS, api.sys_map(lease, TEST_VA, 0, PAGE, PROT_READ | PROT_WRITE),
           'write through a read-only lease')
    expect('clone', E_RIGHTS, api.sys_clone(lease, ALL_MEMORY), 'regain through a lease')
    me = good(api.sys_self(RIGHT_GIVE), 'self')
    moved = good(api.sys_transfer(narrow, me), 'transfer to itself')
    check(describe(moved).rights == RIGHT_READ | RIGHT_MAP | RIGHT_CLONE | RIGHT_BORROW |
          RIGHT_TRANSFER, 'a transfer keeps the rights')
    check(describe(moved).strength == STRENGTH_STRONG, 'a transfer keeps the strength')
    check(describe(lease).strength == STRENGTH_WEAK, 'a lease is weak')
    release_all([lease, moved, me, desc])


def t_released_values_stay_refused():
    first = good(api.sys_allocate(PAGE, RW), 'allocate')
    api.sys_release(first)
    second = good(api.sys_allocate(2 * PAGE, RW), 'allocate again')
    check(second % SLOTS == first % SLOTS, 'the slot is reused')
    check(second != first, 'with a new value')
    expect('release', E_BADDESC, api.sys_release(first), 'the old value')
    expect('map', E_BADDESC, api.sys_map(first, TEST_VA, 0, PAGE, PROT_READ), 'the old value')
    expect('clone', E_BADDESC, api.sys_clone(first, RIGHT_READ), 'the old value')
    check(describe(second).size == 2 * PAGE, 'the new value names the new object')
    api.sys_release(second)


def t_lease_mapping_gone_at_expiry():
    """A child maps a lease, reads it, sleeps past its expiry and touches it
    again: killed by a page fault at exactly that address."""
    desc = good(api.sys_allocate(PAGE, ALL_MEMORY), 'allocate')
    good(api.sys_map(desc, TEST_VA, 0, PAGE, PROT_READ | PROT_WRITE), 'map')
    store(TEST_VA + 8, MAGIC)
    lease = good(api.sys_borrow(desc, 20), 'a lease of 20 ticks')
    child = start(['conform', 'leasetouch', str(OTHER_VA + 8)], [lease])
    code, address = finish(child)
    check(code == EXIT_PAGE_FAULT, 'the child is killed by a page fault (exit %d)' % code)
    check(address == OTHER_VA + 8, 'at the address it touched (%x)' % address)
    check(load(TEST_VA + 8) == MAGIC, 'the lender keeps its own mapping')
    api.sys_unmap(TEST_VA, PAGE)
    api.sys_release(desc)


def t_transfer_takes_the_mapping():
    """The sender of a descriptor loses the mappings made through it: seen
    by unmap (nothing left) and by a child that touches after sending."""
    desc = good(api.sys_allocate(PAGE, ALL_MEMORY), 'allocate')
    good(api.sys_map(desc, TEST_VA, 0, PAGE, PROT_READ | PROT_WRITE), 'map')
    flag = flag_page()
    holder = start(['conform', 'hold', '0'], [good(api.sys_clone(flag, ALL_MEMORY), 'clone')])
    wait_for_children(1)
    good(api.sys_transfer(desc, holder), 'transfer to a running child')
    check(api.sys_unmap(TEST_VA, PAGE) == 0, 'the mapping went with the descriptor')
    store(FLAG_VA + GO * 8, 1)
    code, address = finish(holder)
    check(code == 0, 'the holder exits 0')
    me = good(api.sys_self(RIGHT_GIVE | RIGHT_TRANSFER), 'self')
    store(FLAG_VA + CHILD_WORD * 8, 0)
    child = start(['conform', 'sendback', str(OTHER_VA)],
                  [me, good(api.sys_clone(flag, ALL_MEMORY), 'clone')])
    code, address = finish(child)
    check(code == EXIT_PAGE_FAULT and address == OTHER_VA,
          'the sender faults at the address it had mapped (exit %d at %x)' % (code, address))
    received = load(FLAG_VA + CHILD_WORD * 8)
    info = describe(received)
    check(info.kind == KIND_MEMORY and info.size == PAGE, 'the parent received the page')
    if good(api.sys_map(received, TEST_VA, 0, PAGE, PROT_READ), 'map what was received') == 0:
        check(load(TEST_VA) == MAGIC, 'it holds what the child wrote')
    api.sys_unmap(TEST_VA, PAGE)
    api.sys_release(received)
    api.sys_release(flag)


def t_last_strong_release_unmaps_everywhere():
    """The last strong release removes the object's mappings in every
    process, those made through leases included."""
    desc = good(api.sys_allocate(PAGE, ALL_MEMORY), 'allocate')
    good(api.sys_map(desc, TEST_VA, 0, PAGE, PROT_READ | PROT_WRITE), 'map')
    lease = good(api.sys_borrow(desc, 0), 'a lease that never expires')
    mine = good(api.sys_borrow(desc, 0), 'a lease kept')
    good(api.sys_map(mine, OTHER_VA, 0, PAGE, PROT_READ), 'map the kept lease')
    flag = flag_page()
    child = start(['conform', 'touch', str(OTHER_VA)],
                  [good(api.sys_clone(flag, ALL_MEMORY), 'clone'), lease])
    wait_for_children(1)
    api.sys_release(desc)
    check(api.sys_unmap(TEST_VA, PAGE) == 0, 'the strong mapping went')
    check(api.sys_unmap(OTHER_VA, PAGE) == 0, 'the mapping through a lease went')
    check(describe(mine).dead, 'the kept lease is dead')
    store(FLAG_VA + GO * 8, 1)
    code, address = finish(child)
    check(code == EXIT_PAGE_FAULT and address == OTHER_VA,
          'the child faults at its lease mapping (exit %d at %x)' % (code, address))
    api.sys_release(mine)
    api.sys_release(flag)


def t_no_descriptor_no_access():
    """A child names nothing of its parent's: no descriptor value it tries
    names the parent's secret, and the secret's address faults there."""
    secret = good(api.sys_allocate(SECRET_SIZE, ALL_MEMORY), 'allocate')
    good(api.sys_map(secret, TEST_VA, 0, SECRET_SIZE, PROT_READ | PROT_WRITE), 'map')
    store(TEST_VA, MAGIC)
    child = start(['conform', 'snoop', str(TEST_VA), str(secret)], [])
    code, address = finish(child)
    check(code == EXIT_PAGE_FAULT and address == TEST_VA,
          'the snooper faults at the secret address (exit %d at %x)' % (code, address))
    api.sys_unmap(TEST_VA, SECRET_SIZE)
    api.sys_release(secret)


# ------------------------------------------------------------ the tests: channels

def channel_pair(rights):
    ends = []
    good(ipc.create(rights, ends), 'channel_create')
    if len(ends) < 2:
        return 0, 0
    return ends[0], ends[1]


def send_raw(endpoint, buf, length, descs, count):
    return api.sys_channel_send(endpoint, buf, length, descs, count)


def t_channel_create():
    out = lltype.malloc(rffi.LONGP.TO, 2, flavor='raw')
    where = rffi.cast(lltype.Signed, out)
    expect('channel_create', E_INVALID, api.sys_channel_create(RIGHT_GIVE, where), 'GIVE')
    expect('channel_create', E_INVALID, api.sys_channel_create(1 << 30, where), 'unknown')
    expect('channel_create', E_FAULT, api.sys_channel_create(CHANNEL_RIGHTS, KERNEL_ADDRESS),
           'a kernel out pointer')
    expect('channel_create', E_FAULT, api.sys_channel_create(CHANNEL_RIGHTS, 0x400000),
           'a read-only out pointer')
    good(api.sys_channel_create(CHANNEL_RIGHTS, where), 'channel_create')
    a, b = out[0], out[1]
    info = describe(a)
    check(info.kind == KIND_CHANNEL and info.rights == CHANNEL_RIGHTS and info.state == 1,
          'an endpoint describes itself')
    clones = fill_table(a, RIGHT_READ)
    api.sys_release(clones.pop())                   # one slot free: not enough
    expect('channel_create', E_NOSLOTS, api.sys_channel_create(CHANNEL_RIGHTS, where),
           'one free slot')
    release_all(clones)
    release_all([a, b])
    lltype.free(out, flavor='raw')


def t_channel_send():
    a, b = channel_pair(CHANNEL_RIGHTS)
    read_only, other = channel_pair(RIGHT_READ | RIGHT_WAIT)
    buf = lltype.malloc(rffi.LONGP.TO, 4, flavor='raw')
    where = rffi.cast(lltype.Signed, buf)
    page = good(api.sys_allocate(PAGE, ALL_MEMORY), 'allocate')
    fixed = good(api.sys_allocate(PAGE, RIGHT_READ), 'allocate without RIGHT_TRANSFER')
    expect('channel_send', E_INVALID, send_raw(a, where, -1, where, 0), 'length -1')
    expect('channel_send', E_INVALID, send_raw(a, where, 0, where, 17), '17 descriptors')
    expect('channel_send', E_LIMIT, send_raw(a, where, limits.MAX_MESSAGE_BYTES + 1, where,
                                             0), 'MAX_MESSAGE_BYTES + 1')
    expect('channel_send', E_FAULT, send_raw(a, KERNEL_ADDRESS, 8, where, 0), 'kernel buf')
    expect('channel_send', E_FAULT, send_raw(a, where, 8, TEST_VA, 1), 'unmapped descs')
    expect('channel_send', E_BADDESC, send_raw(a + SLOTS, where, 8, where, 0), 'bad')
    weak = dead_weak()
    expect('channel_send', E_DEAD, send_raw(weak, where, 8, where, 0), 'a dead one')
    expect('channel_send', E_KIND, send_raw(page, where, 8, where, 0), 'memory')
    expect('channel_send', E_RIGHTS, send_raw(read_only, where, 8, where, 0), 'no WRITE')
    expect('channel_send', E_RIGHTS, ipc.send(a, 'x', [fixed]), 'passing no TRANSFER')
    expect('channel_send', E_BADDESC, ipc.send(a, 'x', [page + SLOTS]), 'passing a bad one')
    expect('channel_send', E_DEAD, ipc.send(a, 'x', [weak]), 'passing a dead one')
    expect('channel_send', E_INVALID, ipc.send(a, 'x', [page, page]), 'passing one twice')
    check(describe(page).kind == KIND_MEMORY, 'a failed send moves nothing')
    sent = 0
    while sent < limits.MAX_QUEUED_MESSAGES:
        good(ipc.send(a, 'm', []), 'send')
        sent += 1
    expect('channel_send', E_WOULDBLOCK, ipc.send(a, 'm', [page]), 'a full queue')
    good(api.sys_release(b), 'release the peer')
    expect('channel_send', E_CLOSED, ipc.send(a, 'm', [page]), 'the peer gone')
    check(describe(page).kind == KIND_MEMORY, 'the page stays')
    release_all([a, read_only, other, page, fixed, weak])
    lltype.free(buf, flavor='raw')


def t_channel_recv():
    a, b = channel_pair(CHANNEL_RIGHTS)
    write_only, other = channel_pair(RIGHT_WRITE)
    buf = lltype.malloc(rffi.LONGP.TO, 32, flavor='raw')
    where = rffi.cast(lltype.Signed, buf)
    recv = api.sys_channel_recv
    expect('channel_recv', E_INVALID, recv(b, where, -1, where, 1, 0), 'length -1')
    expect('channel_recv', E_INVALID, recv(b, where, 8, where, -1, 0), 'max -1')
    expect('channel_recv', E_INVALID, recv(b, where, 8, where, 1, 2), 'unknown flags')
    expect('channel_recv', E_FAULT, recv(b, KERNEL_ADDRESS, 8, where, 1, 0), 'kernel buf')
    expect('channel_recv', E_FAULT, recv(b, where, 8, 0x400000, 1, 0), 'read-only descs')
    expect('channel_recv', E_BADDESC, recv(b + SLOTS, where, 8, where, 1, 0), 'bad')
    weak = dead_weak()
    expect('channel_recv', E_DEAD, recv(weak, where, 8, where, 1, 0), 'dead')
    expect('channel_recv', E_KIND, recv(process.IMAGE, where, 8, where, 1, 0), 'memory')
    expect('channel_recv', E_RIGHTS, recv(write_only, where, 8, where, 1, 0), 'no READ')
    expect('channel_recv', E_WOULDBLOCK, recv(b, where, 8, where, 1, 1), 'nothing queued')
    page = good(api.sys_allocate(PAGE, ALL_MEMORY), 'allocate')
    good(ipc.send(a, 'twelve bytes', [page]), 'send')
    expect('channel_recv', E_BUFFER, recv(b, where, 11, where, 1, 0), '11 of 12 bytes')
    expect('channel_recv', E_BUFFER, recv(b, where, 64, where, 0, 0), 'no room for one')
    clones = fill_table(a, RIGHT_READ)
    expect('channel_recv', E_NOSLOTS, recv(b, where, 64, where, 1, 0), 'a full table')
    release_all(clones)
    check(describe(b).exit_code == 1, 'the message stays queued through errors')
    result = recv(b, where, 64, where + 64, 1, 0)
    check(result == 12 + (1 << 32), 'receive returns bytes + descriptors << 32')
    received = buf[8]
    check(describe(received).size == PAGE, 'the page arrived')
    good(api.sys_release(a), 'release the peer')
    expect('channel_recv', E_CLOSED, recv(b, where, 8, where, 1, 0), 'the peer gone')
    release_all([b, write_only, other, weak, received])
    lltype.free(buf, flavor='raw')


def t_wait_any():
    a, b = channel_pair(CHANNEL_RIGHTS)
    no_wait, other = channel_pair(RIGHT_READ | RIGHT_WRITE)
    page = good(api.sys_allocate(PAGE, ALL_MEMORY), 'allocate')
    weak = dead_weak()
    wait = api.sys_wait_any
    words = process.raw_words([b, a, no_wait, page, weak, b + SLOTS])
    where = rffi.cast(lltype.Signed, words)
    expect('wait_any', E_INVALID, wait(where, 0, 0), 'count 0')
    expect('wait_any', E_INVALID, wait(where, 17, 0), 'count 17')
    expect('wait_any', E_INVALID, wait(where, 1, 4), 'unknown flags')
    expect('wait_any', E_FAULT, wait(KERNEL_ADDRESS, 1, 0), 'kernel descs')
    expect('wait_any', E_WOULDBLOCK, wait(where, 2, 1), 'nothing ready')
    expect('wait_any', E_RIGHTS, wait(where + 16, 1, 1), 'no WAIT')
    expect('wait_any', E_KIND, wait(where + 24, 1, 1), 'memory')
    expect('wait_any', E_DEAD, wait(where + 32, 1, 1), 'dead')
    expect('wait_any', E_BADDESC, wait(where + 40, 1, 1), 'bad')
    good(ipc.send(b, 'to a', []), 'send')
    check(wait(where, 2, 0) == 1, 'the endpoint with a message is ready')
    child = exited_child()
    words[0] = child
    check(wait(where, 2, 0) == 0, 'an exited process is ready')
    lltype.free(words, flavor='raw')
    release_all([a, b, no_wait, other, page, weak, child])


def t_channel_call():
    """channel_call's errors, and a call whose reply is already queued (it
    does not block)."""
    a, b = channel_pair(CHANNEL_RIGHTS)
    write_only, other = channel_pair(RIGHT_WRITE)
    buf = lltype.malloc(rffi.LONGP.TO, 64, flavor='raw')
    where = rffi.cast(lltype.Signed, buf)
    page = good(api.sys_allocate(PAGE, ALL_MEMORY), 'allocate')
    call = api.sys_channel_call
    expect('channel_call', E_INVALID, call(a, where, -1, where, 8), 'length -1')
    expect('channel_call', E_INVALID, call(a, where, 1, where, -1), 'reply length -1')
    expect('channel_call', E_LIMIT, call(a, where, limits.MAX_MESSAGE_BYTES + 1, where, 8),
           'MAX_MESSAGE_BYTES + 1')
    expect('channel_call', E_FAULT, call(a, KERNEL_ADDRESS, 1, where, 8), 'kernel buf')
    expect('channel_call', E_FAULT, call(a, where, 1, 0x400000, 8), 'read-only reply')
    expect('channel_call', E_BADDESC, call(a + SLOTS, where, 1, where, 8), 'bad')
    weak = dead_weak()
    expect('channel_call', E_DEAD, call(weak, where, 1, where, 8), 'dead')
    expect('channel_call', E_KIND, call(page, where, 1, where, 8), 'memory')
    expect('channel_call', E_RIGHTS, call(write_only, where, 1, where, 8), 'no READ')
    good(ipc.send(b, 'pong', []), 'queue the answer first')
    store(where, 0x676e6970)                        # 'ping'
    result = call(a, where, 4, where + 64, 64)
    check(result == 4 and process.read_string(where + 64, 4) == 'pong',
          'a call whose reply is queued returns it at once (%d)' % result)
    message = ipc.Message()
    good(ipc.receive(b, message, ipc.RECV_NONBLOCK), 'the request arrived')
    check(message.data == 'ping', 'the request is what was sent')
    good(ipc.send(b, 'x' * 100, []), 'queue a long answer')
    expect('channel_call', E_BUFFER, call(a, where, 1, where + 64, 10),
           'a reply longer than the buffer (the request went)')
    check(describe(a).exit_code == 1, 'the long answer stays queued')
    sent = 1                                        # the request above
    while sent < limits.MAX_QUEUED_MESSAGES:
        good(ipc.send(a, 'm', []), 'fill the queue')
        sent += 1
    expect('channel_call', E_WOULDBLOCK, call(a, where, 1, where + 64, 64), 'a full queue')
    good(api.sys_release(b), 'release the peer')
    expect('channel_call', E_CLOSED, call(a, where, 1, where + 64, 64), 'the peer gone')
    release_all([a, write_only, other, page, weak])
    lltype.free(buf, flavor='raw')


def t_channel_call_regs():
    """channel_call_regs's errors, a call whose reply is already queued
    (back in the registers, the rest zero), and both calls answering each
    other's requests."""
    a, b = channel_pair(CHANNEL_RIGHTS)
    write_only, other = channel_pair(RIGHT_WRITE)
    buf = lltype.malloc(rffi.LONGP.TO, 8, flavor='raw')
    words = rffi.cast(lltype.Signed, buf)
    page = good(api.sys_allocate(PAGE, ALL_MEMORY), 'allocate')
    call = ipc.raw_call_regs
    expect('channel_call_regs', E_INVALID, call(a, -1, words), 'length -1')
    expect('channel_call_regs', E_INVALID, call(a, ipc.REGS_BYTES + 1, words), '33 bytes')
    expect('channel_call_regs', E_BADDESC, call(a + SLOTS, 1, words), 'bad')
    weak = dead_weak()
    expect('channel_call_regs', E_DEAD, call(weak, 1, words), 'dead')
    expect('channel_call_regs', E_KIND, call(page, 1, words), 'memory')
    expect('channel_call_regs', E_RIGHTS, call(write_only, 1, words), 'no READ')
    good(ipc.send(b, 'pong', []), 'queue the answer first')
    store(words, 0x676e6970)                        # 'ping'
    store(words + 8, -1)
    result = call(a, 4, words)
    check(result == 4 and buf[0] == 0x676e6f70 and buf[1] == 0 and buf[3] == 0,
          'a queued reply comes back in the registers, the rest zero (%d)' % result)
    message = ipc.Message()
    good(ipc.receive(b, message, ipc.RECV_NONBLOCK), 'the request arrived')
    check(message.data == 'ping', 'the request is what was sent')
    good(ipc.send(b, 'x' * (ipc.REGS_BYTES + 1), []), 'queue a long answer')
    expect('channel_call_regs', E_BUFFER, call(a, 1, words),
           'a reply longer than 32 bytes (the request went)')
    check(describe(a).exit_code == 1, 'the long answer stays queued')
    sent = 1                                        # the request above
    while sent < limits.MAX_QUEUED_MESSAGES:
        good(ipc.send(a, 'm', []), 'fill the queue')
        sent += 1
    expect('channel_call_regs', E_WOULDBLOCK, call(a, 1, words), 'a full queue')
    good(api.sys_release(b), 'release the peer')
    expect('channel_call_regs', E_CLOSED, call(a, 1, words), 'the peer gone')
    release_all([a, write_only, other, page, weak])
    lltype.free(buf, flavor='raw')
    a, b = channel_pair(CHANNEL_RIGHTS)
    child = start(['conform', 'echo-regs'], [b])
    reply = ipc.Message()
    good(ipc.call_regs(a, 'by registers', reply), 'call_regs to the echo child')
    check(reply.data == 'BY REGISTERS', 'the child answered by channel_call (%s)' % reply.data)
    out = lltype.malloc(rffi.CCHARP.TO, 64, flavor='raw')
    where = rffi.cast(lltype.Signed, out)
    out[0] = 'b'
    out[1] = 'y'
    result = api.sys_channel_call(a, where, 2, where + 32, 32)
    check(result == 2 and out[32] == 'B' and out[33] == 'Y',
          'the child answered a channel_call by channel_call_regs (%d)' % result)
    lltype.free(out, flavor='raw')
    release_all([a])                    # the child's last call_regs: E_CLOSED
    code, address = finish(child)
    check(code == 0, 'the echo child exits 0 (%d)' % code)


def role_echo_regs(argv):
    """echo-regs: on its first descriptor, receives one request and answers
    it upper-cased by channel_call (the parent called channel_call_regs),
    which waits for the next; answers that one by channel_call_regs, which
    waits until the parent's endpoint goes (E_CLOSED); exits 0."""
    end = process.first_descriptor(0)
    message = ipc.Message()
    if ipc.receive(end, message, 0) < 0:
        return 1
    raw = lltype.malloc(rffi.CCHARP.TO, 64, flavor='raw')
    where = rffi.cast(lltype.Signed, raw)
    data = message.data.upper()
    for i in range(len(data)):
        raw[i] = data[i]
    length = api.sys_channel_call(end, where, len(data), where, 64)
    if length < 0:
        return 2
    i = 0
    while i < 32:
        c = raw[i] if i < length else '\x00'
        if 'a' <= c <= 'z':
            c = chr(ord(c) - 32)
        raw[32 + i] = c
        i += 1
    result = ipc.raw_call_regs(end, length, where + 32)
    lltype.free(raw, flavor='raw')
    if result != E_CLOSED:
        return 3
    return 0


def t_endpoint_records_run_out():
    """channel_create when MAX_ENDPOINTS are taken: children hold them."""
    flag = flag_page()
    children = []
    i = 0
    while i < ENDPOINT_HOGS:
        passed = [good(api.sys_clone(flag, RW | RIGHT_TRANSFER), 'clone the flag')]
        children.append(start(['conform', 'endpointhog', str(i)], passed))
        i += 1
    wait_for_children(ENDPOINT_HOGS)
    out = lltype.malloc(rffi.LONGP.TO, 2, flavor='raw')
    expect('channel_create', E_NOMEM,
           api.sys_channel_create(CHANNEL_RIGHTS, rffi.cast(lltype.Signed, out)),
           'MAX_ENDPOINTS taken')
    lltype.free(out, flavor='raw')
    store(FLAG_VA + GO * 8, 1)
    for child in children:
        code, address = finish(child)
        check(code == 0, 'an endpoint holder exits 0')
    api.sys_release(flag)


def t_messages_run_out():
    """channel_send when MAX_MESSAGES are queued, and past the quota."""
    ends = []
    result = 0
    while len(ends) < 2 * MESSAGE_CHANNELS:
        good(ipc.create(CHANNEL_RIGHTS, ends), 'channel_create')
    sent = 0
    while True:
        result = ipc.send(ends[2 * (sent % MESSAGE_CHANNELS)], '', [])
        if result < 0:
            break
        sent += 1
    expect('channel_send', E_NOMEM, result, 'MAX_MESSAGES queued')
    check(sent == limits.MAX_MESSAGES, 'every message record was used (%d)' % sent)
    reply = lltype.malloc(rffi.LONGP.TO, 8, flavor='raw')
    expect('channel_call', E_NOMEM,
           api.sys_channel_call(ends[0], rffi.cast(lltype.Signed, reply), 0,
                                rffi.cast(lltype.Signed, reply), 64), 'MAX_MESSAGES queued')
    expect('channel_call_regs', E_NOMEM,
           ipc.raw_call_regs(ends[0], 0, rffi.cast(lltype.Signed, reply)), 'MAX_MESSAGES queued')
    lltype.free(reply, flavor='raw')
    release_all(ends)
    ends = []
    while len(ends) < 10:
        good(ipc.create(CHANNEL_RIGHTS, ends), 'channel_create')
    big = 'q' * limits.MAX_MESSAGE_BYTES
    sent = 0
    while True:
        result = ipc.send(ends[2 * (sent % 5)], big, [])
        if result < 0:
            break
        sent += 1
    expect('channel_send', E_LIMIT, result, 'past MAX_INFLIGHT_BYTES')
    # What is left of the quota, filled with empty messages in two fresh
    # channels (no queue full), is less than the smallest call's charge.
    spare = []
    good(ipc.create(CHANNEL_RIGHTS, spare), 'channel_create')
    good(ipc.create(CHANNEL_RIGHTS, spare), 'channel_create')
    sent = 0
    while True:
        result = ipc.send(spare[2 * (sent % 2)], '', [])
        if result < 0:
            break
        sent += 1
    check(result == E_LIMIT, 'empty messages fill the quota (%d)' % result)
    words = lltype.malloc(rffi.LONGP.TO, 4, flavor='raw')
    expect('channel_call_regs', E_LIMIT,
           ipc.raw_call_regs(spare[0], 0, rffi.cast(lltype.Signed, words)),
           'past MAX_INFLIGHT_BYTES')
    lltype.free(words, flavor='raw')
    release_all(spare)
    release_all(ends)


def t_descriptors_travel_between_processes():
    """A page goes to a child in a message; the child maps it, answers
    with its contents and a page of its own."""
    a, b = channel_pair(CHANNEL_RIGHTS)
    page = good(api.sys_allocate(PAGE, ALL_MEMORY), 'allocate')
    good(api.sys_map(page, TEST_VA, 0, PAGE, PROT_READ | PROT_WRITE), 'map')
    store(TEST_VA, MAGIC)
    api.sys_unmap(TEST_VA, PAGE)
    child = start(['conform', 'echo'], [b])
    good(ipc.send(a, 'page', [page]), 'send the page')
    reply = ipc.Message()
    good(ipc.receive(a, reply, 0), 'receive the answer')
    check(reply.data == 'read %d' % MAGIC, 'the child read the page: %s' % reply.data)
    check(len(reply.descs) == 1, 'and sent a page back')
    if len(reply.descs) == 1:
        good(api.sys_map(reply.descs[0], TEST_VA, 0, PAGE, PROT_READ), 'map it')
        check(load(TEST_VA) == MAGIC + 1, 'it holds what the child wrote')
        api.sys_unmap(TEST_VA, PAGE)
        api.sys_release(reply.descs[0])
    code, address = finish(child)
    check(code == 0, 'the child exits 0')
    api.sys_release(a)


def t_lease_in_flight_expires():
    """A lease that expires while queued arrives dead; one received before
    its expiry takes the receiver's mapping with it when it expires."""
    a, b = channel_pair(CHANNEL_RIGHTS)
    page = good(api.sys_allocate(PAGE, ALL_MEMORY), 'allocate')
    good(ipc.send(a, 'early', [good(api.sys_borrow(page, 2), 'a lease of 2 ticks')]), 'send')
    api.sys_sleep(4)
    message = ipc.Message()
    good(ipc.receive(b, message, 0), 'receive')
    check(len(message.descs) == 1 and describe(message.descs[0]).dead,
          'it arrives dead')
    expect('map', E_DEAD, api.sys_map(message.descs[0], TEST_VA, 0, PAGE, PROT_READ),
           'an expired lease received')
    release_all(message.descs)
    good(api.sys_map(page, TEST_VA, 0, PAGE, PROT_READ | PROT_WRITE), 'map')
    store(TEST_VA + 8, MAGIC)
    api.sys_unmap(TEST_VA, PAGE)
    child = start(['conform', 'leasereceiver', str(OTHER_VA + 8)], [b])
    good(ipc.send(a, 'lease', [good(api.sys_borrow(page, 20), 'a lease of 20 ticks')]),
         'send')
    code, address = finish(child)
    check(code == EXIT_PAGE_FAULT and address == OTHER_VA + 8,
          'the receiver faults at its lease mapping after expiry (exit %d at %x)' % (
              code, address))
    release_all([a, page])


def t_cycles_are_collected():
    """Children build each shape of garbage cycle and exit; the counters of
    the test (checked by run_test) come back."""
    for shape in CYCLE_SHAPES:
        image = good(api.sys_clone(process.IMAGE, process.IMAGE_RIGHTS), 'clone the image')
        child = start(['conform', 'cycles', shape], [image])
        code, address = finish(child)
        check(code == 0, 'shape %s: the builder exits %d' % (shape, code))


TESTS = unrolling_iterable([
    ('debug_write', t_debug_write),
    ('sleep_yield_clock', t_sleep_and_clock),
    ('allocate', t_allocate),
    ('clone', t_clone),
    ('borrow', t_borrow),
    ('transfer', t_transfer),
    ('release_describe_counters', t_release_and_describe),
    ('self_wait', t_self_and_wait),
    ('spawn', t_spawn),
    ('map', t_map),
    ('unmap', t_unmap),
    ('mapping_records_run_out', t_mapping_records_run_out),
    ('lease_limit', t_lease_limit),
    ('rights_never_grow', t_rights_never_grow),
    ('released_values_stay_refused', t_released_values_stay_refused),
    ('lease_mapping_gone_at_expiry', t_lease_mapping_gone_at_expiry),
    ('transfer_takes_the_mapping', t_transfer_takes_the_mapping),
    ('last_strong_release_unmaps_everywhere', t_last_strong_release_unmaps_everywhere),
    ('no_descriptor_no_access', t_no_descriptor_no_access),
    ('channel_create', t_channel_create),
    ('channel_send', t_channel_send),
    ('channel_recv', t_channel_recv),
    ('wait_any', t_wait_any),
    ('channel_call', t_channel_call),
    ('channel_call_regs', t_channel_call_regs),
    ('endpoint_records_run_out', t_endpoint_records_run_out),
    ('messages_run_out', t_messages_run_out),
    ('descriptors_travel_between_processes', t_descriptors_travel_between_processes),
    ('lease_in_flight_expires', t_lease_in_flight_expires),
    ('cycles_are_collected', t_cycles_are_collected),
])


# ------------------------------------------------------------ the children

def child_map_flag():
    good(api.sys_map(process.first_descriptor(0), FLAG_VA, 0, PAGE, PROT_READ | PROT_WRITE),
         'map the flag page')


def child_wait_for_go(index, report):
    store(FLAG_VA + (CHILD_WORD + index) * 8, report)
    while load(FLAG_VA + GO * 8) == 0:
        api.sys_sleep(1)


def role_hold(argv):
    """hold I: maps the flag page, reports, waits for GO, exits 0."""
    child_map_flag()
    child_wait_for_go(int(argv[2]), 1)
    return 0


def role_leasehog(argv):
    """leasehog I: clones its lease (second descriptor) until that fails,
    reports, waits for GO, exits 0 (its leases go with it)."""
    child_map_flag()
    count = 0
    while api.sys_clone(process.first_descriptor(1), RIGHT_READ) >= 0:
        count += 1
    child_wait_for_go(int(argv[2]), count + 1)
    return 0


def role_leasetouch(argv):
    """leasetouch VA: maps its lease (first descriptor) on VA's page, checks
    that VA holds MAGIC, sleeps past the lease's expiry and reads VA again
    (which must kill it).  Exits 3..5 when something else happened."""
    va = int(argv[2])
    base = va & ~(PAGE - 1)
    if api.sys_map(process.first_descriptor(0), base, 0, PAGE, PROT_READ) != 0:
        return 3
    if load(va) != MAGIC:
        return 4
    api.sys_sleep(40)
    return touched(va)


def role_touch(argv):
    """touch VA: maps its lease (second descriptor) at VA, reports, waits
    for GO and reads VA (which must kill it: the object died)."""
    va = int(argv[2])
    child_map_flag()
    if api.sys_map(process.first_descriptor(1), va, 0, PAGE, PROT_READ) != 0:
        return 3
    if touched(va) != 5:
        return 4                        # the object holds no MAGIC yet
    child_wait_for_go(0, 1)
    return touched(va)


def role_sendback(argv):
    """sendback VA: allocates a page, maps it at VA, writes MAGIC, transfers
    it to the parent (first descriptor), reports the value there in the
    flag page (second descriptor) and reads VA (which must kill it)."""
    va = int(argv[2])
    good(api.sys_map(process.first_descriptor(1), FLAG_VA, 0, PAGE, PROT_READ | PROT_WRITE),
         'map the flag')
    page = api.sys_allocate(PAGE, ALL_MEMORY)
    if page < 0 or api.sys_map(page, va, 0, PAGE, PROT_READ | PROT_WRITE) != 0:
        return 3
    store(va, MAGIC)
    moved = api.sys_transfer(page, process.first_descriptor(0))
    if moved < 0:
        return 4
    store(FLAG_VA + CHILD_WORD * 8, moved)
    return touched(va)


def role_snoop(argv):
    """snoop VA VALUE: holds only what spawn and its runtime made (stack,
    segments, heap chunks).  Every descriptor value of generations 1..3
    either is refused (E_BADDESC) or names one of its own objects (never
    one of SECRET_SIZE bytes, a size none of those has); the parent's value
    VALUE names nothing of the parent's.  Then it reads VA, where the parent maps its secret (which
    must kill it).  Exits 3 when it could name something not its own."""
    va = int(argv[2])
    value = int(argv[3])
    out = process.Description()
    own = 0
    foreign = 0
    candidate = SLOTS
    while candidate < 4 * SLOTS:
        status = process.describe(candidate, out)
        if status == 0:
            own += 1
            if out.size == SECRET_SIZE:
                foreign += 1
        elif status != E_BADDESC:
            foreign += 1
        candidate += 1
    if process.describe(value, out) != 0:
        if api.sys_map(value, va, 0, PAGE, PROT_READ) != E_BADDESC or \
                api.sys_clone(value, RIGHT_READ) != E_BADDESC or \
                api.sys_release(value) != E_BADDESC:
            foreign += 1
    elif out.size == SECRET_SIZE:
        foreign += 1
    if foreign or own == 0:
        return 3
    return touched(va)


def role_endpointhog(argv):
    """endpointhog I: makes channels until that fails, reports, waits for
    GO, exits 0 (its endpoints go with it)."""
    child_map_flag()
    made = 0
    ends = []
    while ipc.create(CHANNEL_RIGHTS, ends) == 0:
        made += 1
    child_wait_for_go(int(argv[2]), made + 1)
    return 0


def role_echo(argv):
    """echo: receives a page on its first descriptor, answers 'read N' with
    N the page's first word, and a page of its own holding N + 1."""
    end = process.first_descriptor(0)
    message = ipc.Message()
    if ipc.receive(end, message, 0) != 0 or len(message.descs) != 1:
        return 3
    if api.sys_map(message.descs[0], TEST_VA, 0, PAGE, PROT_READ) != 0:
        return 4
    value = load(TEST_VA)
    mine = api.sys_allocate(PAGE, ALL_MEMORY)
    if mine < 0 or api.sys_map(mine, OTHER_VA, 0, PAGE, PROT_READ | PROT_WRITE) != 0:
        return 5
    store(OTHER_VA, value + 1)
    if ipc.send(end, 'read %d' % value, [mine]) != 0:
        return 6
    return 0


def role_leasereceiver(argv):
    """leasereceiver VA: receives a lease on its first descriptor, maps it
    on VA's page, checks MAGIC at VA, sleeps past the expiry, reads again
    (which must kill it)."""
    va = int(argv[2])
    message = ipc.Message()
    if ipc.receive(process.first_descriptor(0), message, 0) != 0 or len(message.descs) != 1:
        return 3
    if api.sys_map(message.descs[0], va & ~(PAGE - 1), 0, PAGE, PROT_READ) != 0:
        return 4
    if load(va) != MAGIC:
        return 6
    api.sys_sleep(40)
    return touched(va)


def build_cycle(shape):
    """Builds a garbage cycle of shape; returns 0, or 3 when a call failed."""
    failed = 0
    ends = []
    if shape == 'self':             # an endpoint in its own queue
        failed |= ipc.create(CHANNEL_RIGHTS, ends)
        failed |= ipc.send(ends[0], 'self', [ends[1]])
    elif shape == 'pair':           # two endpoints, each in the other's queue
        failed |= ipc.create(CHANNEL_RIGHTS, ends)
        failed |= ipc.create(CHANNEL_RIGHTS, ends)
        failed |= ipc.send(ends[2], 'x', [ends[1]])
        failed |= ipc.send(ends[0], 'y', [ends[3]])
    elif shape == 'ring':           # RING endpoints, each in the next one's queue
        i = 0
        while i < RING:
            failed |= ipc.create(CHANNEL_RIGHTS, ends)
            i += 1
        i = 0
        while i < RING:
            failed |= ipc.send(ends[2 * i], 'r', [ends[2 * ((i + 1) % RING) + 1]])
            i += 1
    elif shape == 'hanging':        # a cycle a live endpoint's queue holds: survives
        failed |= ipc.create(CHANNEL_RIGHTS, ends)
        failed |= ipc.create(CHANNEL_RIGHTS, ends)
        other = api.sys_clone(ends[3], CHANNEL_RIGHTS)
        failed |= ipc.send(ends[2], 'loop', [ends[3]])
        failed |= ipc.send(ends[0], 'hold', [other])
        message = ipc.Message()
        failed |= ipc.receive(ends[1], message, 0)
        if len(message.descs) != 1 or describe(message.descs[0]).dead or \
                describe(message.descs[0]).exit_code != 1:
            return 4
    elif shape == 'lease':          # through a lease: weak, no cycle to collect
        failed |= ipc.create(CHANNEL_RIGHTS, ends)
        weak = api.sys_borrow(ends[1], 0)
        failed |= ipc.send(ends[0], 'weak', [weak])
    elif shape == 'exchange':       # across two processes: see role_cycles_peer
        failed |= ipc.create(CHANNEL_RIGHTS, ends)
        child = process.spawn(process.IMAGE, ['conform', 'cyclespeer'], [ends[1]])
        failed |= ipc.send(ends[0], 'mine', [ends[0]])
        if process.wait(child) != 0:
            return 5
        api.sys_release(child)
    else:
        return 2
    if failed:
        return 3
    return 0                        # exit releases the rest


def role_cycles(argv):
    """cycles SHAPE: builds a garbage cycle of SHAPE and exits."""
    return build_cycle(argv[2])


def role_cycles_peer(argv):
    """cyclespeer: sends its only endpoint into its own peer's queue."""
    end = process.first_descriptor(0)
    if ipc.send(end, 'yours', [end]) != 0:
        return 3
    return 0


ROLES = unrolling_iterable([
    ('hold', role_hold), ('leasehog', role_leasehog), ('leasetouch', role_leasetouch),
    ('touch', role_touch), ('sendback', role_sendback), ('snoop', role_snoop),
    ('endpointhog', role_endpointhog), ('echo', role_echo), ('echo-regs', role_echo_regs),
    ('leasereceiver', role_leasereceiver), ('cycles', role_cycles),
    ('cyclespeer', role_cycles_peer),
])


# ------------------------------------------------------------ main

def warm_up():
    """Grows the C heap once, so that no test makes the runtime map more
    memory (which the counters would show as the test's)."""
    block = lltype.malloc(rffi.CCHARP.TO, 8 * 1024 * 1024, flavor='raw')
    lltype.free(block, flavor='raw')


def run_test(name, test):
    before = process.Counters()
    after = process.Counters()
    chunks = api.heap_info(api.HEAP_CHUNKS)
    _state.test = name
    _state.checks = 0
    _state.failed = ''
    process.counters(before)
    test()
    process.counters(after)
    if api.heap_info(api.HEAP_CHUNKS) != chunks:
        fail('the runtime grew its heap during the test: counters not comparable')
    else:
        differ = process.leaked(before, after)
        if differ:
            fail('the counters did not come back:' + differ)
    if _state.failed:
        _state.failures += 1
        api.write('conform: FAIL %s: %s\n' % (name, _state.failed))
    else:
        api.write('conform: ok %s (%d checks)\n' % (name, _state.checks))


def main(argv):
    if len(argv) > 1:
        for name, role in ROLES:
            if argv[1] == name:
                return role(argv)
        api.write('conform: no role %s\n' % argv[1])
        return 2
    warm_up()
    tests = 0
    for name, test in TESTS:
        run_test(name, test)
        tests += 1
    covered = 0
    for key in PAIRS:
        if key in _state.covered:
            covered += 1
            api.write('conform: pair %s covered\n' % key)
        else:
            api.write('conform: pair %s MISSING\n' % key)
    api.write('conform: %d tests, %d failed, %d/%d pairs covered\n' % (
        tests, _state.failures, covered, len(PAIRS)))
    if _state.failures or covered != len(PAIRS):
        return 1
    return 0
