"""fuzz: a seeded system-call fuzzer; the same seed replays the same calls.

    fuzz [CALLS [SEED [PROCESSES]]]     (defaults 100000, 1, 4)

The parent takes the kernel's counters, starts PROCESSES workers (this image
again, `fuzz worker NAME SEED CALLS DEPTH PASSED TOPSEED ALLOWANCE`), each
with a share of CALLS, waits for them, releases what they moved into it and
compares the counters with the first ones (process.leaked).  It prints

    fuzz: N calls in S s (R calls/s), P processes, seed X, leaks 0

(N: every system call the fuzzer made, its own and the workers'; time from
the clock call), after a line `fuzz: C channel calls (S%)` (those of them
that were channel_create, channel_send, channel_recv and wait_any), and
returns 0, or 1 when a worker failed or something leaked.

A worker makes random system calls, every call of elyz/abi/syscalls.py but
exit (which ends it), with VALID arguments (its own descriptors, pages of its
private arenas, sane sizes), STALE ones (values it released or moved away,
expired leases, dead objects, exited processes) and RANDOM ones (64-bit
words, kernel-half and non-canonical addresses, sizes that overflow, rights
bits that do not exist, negative durations, misaligned and wrapping ranges).
It keeps a model of its descriptor table, its objects and its mappings, and
checks each result: it must be >= 0 or an error ERRORS allows for the call,
and where the model knows the outcome, exactly that.  A call whose outcome
depends on what others do (a lease that may have expired meanwhile, a target
that may have exited) gets every outcome that is possible.  A wrong result
prints

    fuzz: FAIL seed S worker NAME call #N: call(args) -> result, expected ...

and the worker exits 1.  Workers start sub-workers (bounded depth and
count), pass them descriptors, transfer descriptors to their parent,
siblings and children (process descriptors never carry RIGHT_WAIT out of the
process that may wait: nobody can wait for an ancestor, so nothing blocks
for ever), wait for every child and exit with their count of calls and
processes in the exit code (CODE_* below).

What the fuzzer maps lies in its own arenas (ARENAS), never over the
runtime's memory (image, GC heap, stack): unmapping those would crash the
worker, which is no kernel bug.  It never releases or moves the runtime's
descriptors (they lack RIGHT_TRANSFER, which is how the table scan tells
them from descriptors other processes moved in).

Channels.  Workers create channels (and clones, leases, weak descriptors of
endpoints, through the calls above), send messages of random lengths with
random descriptor lists (valid ones, stale, duplicated, without
RIGHT_TRANSFER, the sending endpoint itself and its peer), receive with
random buffers, call wait_any, fill a queue to MAX_QUEUED_MESSAGES and make
garbage cycles (endpoints waiting in each other's queues), then let go.
The model knows a queue whole (Fuzzer.exact) while only the worker sends
into it and receives from it: then a receive must give exactly the next
message it sent (bytes, and descriptors that describe as they were sent),
and E_WOULDBLOCK once it is empty; a strong descriptor of the worker
reaching an endpoint (through its table, then those queues) keeps it
alive, and an endpoint that nothing reaches and no other process may hold
is dead (Fuzzer.sweep: the kernel's collector must agree: E_CLOSED from
its peer, E_DEAD through a weak descriptor).  A receive blocks and wait_any
waits only when the model knows they return at once, so nobody waits for
ever.  Endpoints go to other processes through spawn (the parent links its
workers in a chain of channels), transfer and messages; what arrives from
them is described and taken into the model as the worker's to release.

Pure parts, tested untranslated (tests/user/test_fuzz.py): Random, Table
(the descriptor-value classification), range_error, is_safe_range, and the
channel model (sweep, exact, the expectations of receive and wait_any).
"""

from rpython.rlib.rarithmetic import intmask, r_uint
from rpython.rtyper.lltypesystem import lltype, rffi

from elyz.abi import errors, limits, syscalls
from elyz.abi.counters import WORDS as COUNTER_WORDS
from elyz.abi.description import WORDS as DESCRIPTION_WORDS
from elyz.abi.errors import (E_ALIGN, E_BADDESC, E_BUFFER, E_CLOSED, E_DEAD, E_EXITED, E_FAULT,
                             E_INVALID, E_KIND, E_LIMIT, E_NOEXEC, E_NOMEM, E_NOSLOTS, E_OVERLAP,
                             E_RANGE, E_RIGHTS, E_WOULDBLOCK)
from elyz.abi.rights import (CHANNEL_RIGHTS, KIND_CHANNEL, KIND_MEMORY, KIND_PROCESS,
                             MEMORY_RIGHTS, PROCESS_RIGHTS, PROT_ALL, PROT_EXEC, PROT_READ,
                             PROT_WRITE, RIGHT_BORROW, RIGHT_CLONE, RIGHT_EXEC, RIGHT_GIVE,
                             RIGHT_MAP, RIGHT_READ, RIGHT_TRANSFER, RIGHT_WAIT, RIGHT_WRITE,
                             STRENGTH_STRONG, STRENGTH_WEAK, rights_of_kind)
from user.lib import api, process

DEFAULT_CALLS = 100000
DEFAULT_SEED = 1
DEFAULT_PROCESSES = 4

PAGE = limits.PAGE_SIZE
PAGE_MASK = PAGE - 1
SLOTS = limits.DESCRIPTOR_SLOTS
VALUE_LIMIT = limits.DESCRIPTOR_GENERATION_LIMIT * SLOTS
USER_START = limits.USER_START
USER_END = limits.USER_END
MAX_OBJECT_SIZE = limits.MAX_OBJECT_SIZE
MAX_LEASE_TICKS = limits.MAX_LEASE_TICKS
MAXINT = 0x7fffffffffffffff
MININT = -MAXINT - 1
KERNEL_BASE = -0x800000000000           # 0xffff800000000000
NONCANONICAL = 0x800000000000           # just above the user half
MAX_SLEEP_TICKS = 1 << 40
MAX_PASSED = 16
MAX_ARGS_LENGTH = 1024
WORD = 8
STATE_RUNNING = 1
STATE_EXITED = 2
ELF_MAGIC = 0x464c457f                  # "\x7fELF", little-endian

# The fuzzer's arenas: where it maps.  Far from the image (0x400000), the
# GC heap (0x10000000..0x50000000) and the stack (below 0x7FF000000000).
WINDOW = 0x100000000
WINDOW_PAGES = 256
WINDOW_SAFE = 1 << 32                   # what a range starting there may cover
LOW = 0x200000
LOW_PAGES = 16
LOW_SAFE = 64 * PAGE
TOP_PAGES = 16
TOP = USER_END - TOP_PAGES * PAGE
IMAGE_PAGE = 0x400000                   # the image's first page: mapped, read-only

# Bounds per worker, so that the kernel's global pools (64 processes, 1024
# memory objects, 4096 mappings and leases) never run out.
MAX_HELD = 40                           # descriptors the model keeps
MAX_PAGES = 160                         # pages of the objects they name
MAX_OBJECT_PAGES = 8                    # of one object allocate makes
MAX_MAPS = 32
MAX_RANGE_PAGES = 8
MAX_GIVEN = 8                           # descriptors moved into other processes
MAX_DEPTH = 2
MAX_LIVE_CHILDREN = 2
MAX_ALLOWANCE = 12                      # processes a worker's subtree may add
MIN_CHILD_CALLS = 400
SCAN_EVERY = 64
FILL_EVERY = 2048                       # steps between two fills of the table
BUF_WORDS = 64
MESSAGE_EVERY = 256                     # one debug_write that prints in so many

# A worker's exit code: channel calls << CODE_CHANNEL | calls << CODE_CALLS |
# processes << CODE_PROCESSES | CODE_OK.
CODE_OK = 0x5A
CODE_PROCESSES = 8
CODE_CALLS = 16
CODE_CHANNEL = 40
CALLS_MASK = (1 << (CODE_CHANNEL - CODE_CALLS)) - 1
EXIT_FAILED = 1
STATS = False                           # each first-level worker prints its outcomes
TRACE = ''                                # the worker that prints each call (debugging)
IDLE_EXIT = 3                           # `fuzz idle`: what a failing spawn names
PAGE_FAULT_EXIT = 128 + 14              # killed by a page fault (docs/abi.md, exit)
PROBE_ADDRESS = WINDOW + PAGE + 8
# How a probe (`fuzz probe HOW`) takes its mapping away before it reads it again.
PROBE_UNMAP = 0
PROBE_RELEASE = 1
PROBE_TRANSFER = 2
PROBE_EXPIRY = 3
PROBE_DEATH = 4
PROBE_KINDS = 5
PROBE_NAMES = ['unmap', 'release', 'transfer', 'expiry', 'death']

# Channels (docs/abi.md, channel_*).
MAX_MESSAGE_BYTES = limits.MAX_MESSAGE_BYTES
MAX_MESSAGE_DESCRIPTORS = limits.MAX_MESSAGE_DESCRIPTORS
REGS_BYTES = syscalls.REGISTER_MESSAGE_BYTES
MAX_QUEUED_MESSAGES = limits.MAX_QUEUED_MESSAGES
MAX_INFLIGHT_BYTES = limits.MAX_INFLIGHT_BYTES
MESSAGE_CHARGE = 64                     # kernel memory a message takes besides its bytes
DESCRIPTOR_CHARGE = 48                  # ... and per descriptor it carries
RECV_NONBLOCK = 1
COUNT_SHIFT = 32
LENGTH_MASK = (1 << 32) - 1
WAIT_ANY_MAX = 16
DATA_BYTES = MAX_MESSAGE_BYTES + 64     # the fuzzer's message buffer
CHANNEL_PERCENT = 30                    # steps that make channel calls
MAX_FLIGHT = 32                         # descriptors in flight in queues only I receive from
MAX_KNOWN_MESSAGES = 160                # messages in those queues
MAX_SENT_AWAY = 32                      # descriptors sent into queues others may receive from

GIVE_RIGHTS = RIGHT_GIVE | RIGHT_TRANSFER | RIGHT_CLONE | RIGHT_BORROW     # no RIGHT_WAIT


def _allowed(name):
    mask = 0
    for code_name in syscalls.ERRORS[name]:
        mask |= 1 << -getattr(errors, code_name)
    return mask


M_DEBUG_WRITE = _allowed('debug_write')
M_YIELD = _allowed('yield')
M_SLEEP = _allowed('sleep')
M_CLOCK = _allowed('clock')
M_SPAWN = _allowed('spawn')
M_WAIT = _allowed('wait')
M_SELF = _allowed('self')
M_COUNTERS = _allowed('counters')
M_ALLOCATE = _allowed('allocate')
M_CLONE = _allowed('clone')
M_BORROW = _allowed('borrow')
M_TRANSFER = _allowed('transfer')
M_RELEASE = _allowed('release')
M_MAP = _allowed('map')
M_UNMAP = _allowed('unmap')
M_DESCRIBE = _allowed('describe')
M_CHANNEL_CREATE = _allowed('channel_create')
M_CHANNEL_SEND = _allowed('channel_send')
M_CHANNEL_RECV = _allowed('channel_recv')
M_WAIT_ANY = _allowed('wait_any')
M_CHANNEL_CALL = _allowed('channel_call')
M_CHANNEL_CALL_REGS = _allowed('channel_call_regs')


# ------------------------------------------------------------ pure parts

GOLDEN = r_uint(0x9E3779B97F4A7C15)
MIX1 = r_uint(0xBF58476D1CE4E5B9)
MIX2 = r_uint(0x94D049BB133111EB)
SEED_MASK = (1 << 62) - 1


class Random(object):
    """splitmix64: a 64-bit state, one multiply-xorshift mix per word."""

    def __init__(self, seed):
        self.state = r_uint(seed)

    def next(self):
        self.state += GOLDEN
        z = self.state
        z = (z ^ (z >> 30)) * MIX1
        z = (z ^ (z >> 27)) * MIX2
        return z ^ (z >> 31)

    def word(self):
        """Returns any 64-bit word (a signed int)."""
        return intmask(self.next())

    def below(self, n):
        """Returns 0 <= x < n (n > 0)."""
        return intmask(self.next() % r_uint(n))

    def chance(self, n):
        """Returns True once in n."""
        return self.below(n) == 0


def derive_seed(seed, i):
    """Returns the seed of the i-th process started by one seeded with seed."""
    r = Random(seed)
    r.state += r_uint(i) * MIX1
    return r.word() & SEED_MASK


# Descriptor values, as the model of one's own table sees them.
MINE = 1        # a live descriptor of mine
STALE = 2       # a generation that slot had: certainly E_BADDESC
BAD = 3         # never a descriptor here (range, or a generation not issued yet)
UNKNOWN = 4     # may be live: something the runtime made or another process moved in

FREE = 0
HELD = 1
RUNTIME = 2


class Table(object):
    """What a process knows of its own descriptor table: each slot's
    generation (the one its occupant has, or the next one gets) and whether
    it holds a descriptor of the fuzzer's, of the runtime's, or is free as
    far as it knows (another process may have moved one in)."""

    def __init__(self):
        self.gen = [1] * SLOTS
        self.state = [FREE] * SLOTS

    def note_new(self, value):
        slot = value % SLOTS
        self.gen[slot] = value // SLOTS
        self.state[slot] = HELD

    def note_gone(self, value):
        slot = value % SLOTS
        self.gen[slot] = value // SLOTS + 1
        self.state[slot] = FREE

    def note_runtime(self, slot):
        self.state[slot] = RUNTIME

    def value_of(self, slot):
        return self.gen[slot] * SLOTS + slot

    def classify(self, value):
        if value < SLOTS or value >= VALUE_LIMIT:
            return BAD
        slot = value % SLOTS
        gen = value // SLOTS
        if gen < self.gen[slot]:
            return STALE
        if gen > self.gen[slot]:
            return BAD
        if self.state[slot] == HELD:
            return MINE
        return UNKNOWN


def range_error(vaddr, length):
    """The error map and unmap give for the range (docs/abi.md), or 0."""
    if vaddr & PAGE_MASK or length & PAGE_MASK:
        return E_ALIGN
    if length <= 0:
        return E_INVALID
    if vaddr < USER_START or vaddr >= USER_END or length > USER_END - vaddr:
        return E_RANGE
    return 0


def _inside(vaddr, length, base, size):
    return vaddr >= base and vaddr - base <= size and length <= size - (vaddr - base)


def is_safe_range(vaddr, length):
    """True when [vaddr, vaddr + length) (a range range_error accepts) lies
    in the fuzzer's arenas, away from everything the runtime maps."""
    return (_inside(vaddr, length, LOW, LOW_SAFE) or
            _inside(vaddr, length, WINDOW, WINDOW_SAFE) or
            _inside(vaddr, length, TOP, USER_END - TOP))


def user_range_ok(addr, length):
    """The kernel's check of a pointer argument (elyz/mm/usercopy.py)."""
    if length < 0 or addr < USER_START or addr > USER_END:
        return False
    return length <= USER_END - addr


HEX = '0123456789abcdef'


def hex_word(x):
    u = r_uint(x)
    digits = []
    while True:
        digits.append(HEX[intmask(u & r_uint(15))])
        u = u >> 4
        if u == 0:
            break
    digits.reverse()
    return '0x' + ''.join(digits)


def show(x):
    if -65536 < x < 65536:
        return str(x)
    return hex_word(x)


# ------------------------------------------------------------ the model

class Obj(object):
    """An object the fuzzer holds descriptors to."""

    def __init__(self, kind, pages, mine):
        self.kind = kind
        self.pages = pages
        self.mine = mine                # allocated by this process
        self.shared = not mine          # descriptors to it may exist elsewhere
        self.strong_elsewhere = not mine
        self.strong_mine = 0
        self.weak_mine = 0
        self.dead = False               # known dead
        self.why = ''
        self.written = False            # not all zeros any more (or unknown)
        self.is_self = False
        self.is_image = False
        self.is_child = False
        self.exited = False             # known exited
        self.exit_known = False
        self.exit_code = 0
        self.counted = False            # its exit code was added up
        # an endpoint
        self.peer = None                # the other endpoint, when known
        self.queue = []                 # its messages, when the model knows them (exact)
        self.reached = False            # a strong descriptor of mine reaches it: alive
        self.flight_strong = 0          # descriptors to it in those queues
        self.flight_weak = 0


class Item(object):
    """A descriptor in flight in a message the model knows."""

    def __init__(self, obj, rights, strong, expiry, dead):
        self.obj = obj
        self.rights = rights
        self.strong = strong
        self.expiry = expiry
        self.dead = dead


class Msg(object):
    """A message I sent into an endpoint whose queue the model knows whole
    (Fuzzer.exact: only I send into it, only I receive from it): what it
    holds, exactly."""

    def __init__(self, length, tag, charge):
        self.length = length
        self.tag = tag                  # its bytes are pattern(tag); -1: not known
        self.charge = charge            # kernel memory charged to me for it
        self.items = []


class Held(object):
    """A descriptor of the fuzzer's."""

    def __init__(self, value, obj, rights, strong, expiry):
        self.value = value
        self.obj = obj
        self.rights = rights
        self.strong = strong
        self.expiry = expiry            # 0: none; -1: not known yet
        self.dead = False               # known dead
        self.why = ''                   # why the model thinks so
        self.protected = False          # the image: never released or moved
        self.waitable = False           # a spawn's result: kept until waited for


class Mapping(object):
    def __init__(self, start, pages, held, first, prot):
        self.start = start
        self.pages = pages
        self.held = held
        self.first = first              # object page mapped at start
        self.prot = prot

    def end(self):
        return self.start + self.pages * PAGE


ALIVE = 0
DEAD = 1
MAYBE = 2

# What a pointer argument gives.
P_OK = 0
P_FAULT = 1
P_MAYBE = 2

# Filters for picking one of my descriptors.
F_ANY = 0
F_MEMORY = 1
F_PROCESS = 2
F_MOVABLE = 3
F_RELEASABLE = 4
F_GIVE = 5
F_CHILD = 6
F_SELF = 7
F_WAIT_SAFE = 8
F_NO_READ = 9
F_NO_TRANSFER = 10
F_EXEC_IMAGE = 11
F_MAPPABLE = 12
F_CHANNEL = 13
F_QUEUED = 14
F_FOREIGN = 15


class Fuzzer(object):
    def __init__(self, name, seed, topseed, budget, depth, allowance):
        self.name = name
        self.seed = seed
        self.topseed = topseed
        self.rng = Random(seed)
        self.budget = budget
        self.depth = depth
        self.allowance = allowance
        self.calls = 0
        self.stats = {}
        self.steps = 0
        self.failed = False
        self.table = Table()
        self.held = []
        self.by_value = {}
        self.stale = []
        self.maps = []
        self.now = 0
        self.given = 0
        self.spawned = 0
        self.live_children = 0
        self.child_calls = 0
        self.channel_calls = 0          # mine and my children's
        self.child_processes = 0
        self.pages_held = 0
        self.picked = None
        self.self_obj = Obj(KIND_PROCESS, 0, False)
        self.self_obj.is_self = True
        self.buf = rffi.cast(lltype.Signed, lltype.malloc(rffi.LONGP.TO, BUF_WORDS, flavor='raw'))
        self.fill = lltype.malloc(rffi.LONGP.TO, SLOTS, flavor='raw')
        self.data = lltype.malloc(rffi.CCHARP.TO, DATA_BYTES, flavor='raw')
        self.data_ptr = rffi.cast(lltype.Signed, self.data)
        self.chans = []                 # the endpoints the model knows (Obj)
        self.inflight_known = 0         # charged for my messages in known queues
        self.inflight_unknown = 0       # ... in others (an upper bound: never goes down)
        self.flight_items = 0           # descriptors in flight in known queues
        self.known_messages = 0
        self.sent_away = 0              # descriptors sent into queues others may read
        self.message = 'fuzz: worker %s is fuzzing (seed %d)\n' % (name, seed)
        self.message_ptr = rffi.cast(lltype.Signed, rffi.str2charp(self.message))
        idle = 'fuzz\x00idle\x00'
        self.idle_ptr = rffi.cast(lltype.Signed, rffi.str2charp(idle))
        self.idle_length = len(idle)
        # the call in flight
        self.cname = ''
        self.cmask = 0
        self.nargs = 0
        self.a0 = 0
        self.a1 = 0
        self.a2 = 0
        self.a3 = 0
        self.a4 = 0
        self.a5 = 0
        # what it may return
        self.x_ok = False
        self.x_lo = 0
        self.x_hi = 0
        self.x_errs = 0

    def free_buffers(self):
        lltype.free(rffi.cast(rffi.LONGP, self.buf), flavor='raw')
        lltype.free(self.fill, flavor='raw')
        lltype.free(self.data, flavor='raw')
        rffi.free_charp(rffi.cast(rffi.CCHARP, self.message_ptr))
        rffi.free_charp(rffi.cast(rffi.CCHARP, self.idle_ptr))

    # -------------------------------------------------------- checking

    def expect(self):
        self.x_ok = False
        self.x_lo = 0
        self.x_hi = 0
        self.x_errs = 0

    def may_err(self, code):
        self.x_errs |= 1 << -code

    def may_ok(self, lo, hi):
        self.x_ok = True
        self.x_lo = lo
        self.x_hi = hi

    def live_gate(self, h):
        """Expects what a descriptor argument h (None: not one of mine) gives
        first: E_BADDESC, or E_DEAD when it is or may be dead; returns True
        when the call may get past it to the next check."""
        if h is None:
            self.may_err(E_BADDESC)
            return False
        ds = self.dead_state(h)
        if ds != ALIVE:
            self.may_err(E_DEAD)
        return ds != DEAD

    def begin(self, name, mask, nargs, a0, a1, a2, a3, a4):
        self.cname = name
        self.cmask = mask
        self.nargs = nargs
        self.a0 = a0
        self.a1 = a1
        self.a2 = a2
        self.a3 = a3
        self.a4 = a4
        self.a5 = 0
        self.calls += 1

    def finish(self, result):
        if TRACE and self.name == TRACE:
            api.write('T #%d %s -> %d\n' % (self.calls, self.call_text(), result))
        if STATS:
            key = self.cname
            if result < 0:
                key += ' ' + errors.error_name(result)
            else:
                key += ' ok'
            self.stats[key] = self.stats.get(key, 0) + 1
        if self.x_errs & ~self.cmask:
            self.fail(result, ' (the fuzzer expects an error the ABI does not list: its bug)')
        elif result >= 0:
            if not (self.x_ok and self.x_lo <= result <= self.x_hi):
                self.fail(result, '')
        elif result < -62 or not ((self.x_errs >> -result) & 1) or \
                not ((self.cmask >> -result) & 1):
            self.fail(result, '')
        return result

    def expected_text(self):
        parts = []
        if self.x_ok:
            if self.x_lo == self.x_hi:
                parts.append(str(self.x_lo))
            elif self.x_hi == MAXINT:
                parts.append('>= %d' % self.x_lo)
            else:
                parts.append('%d..%d' % (self.x_lo, self.x_hi))
        code = 1
        while code < len(errors.NAMES):
            if (self.x_errs >> code) & 1:
                parts.append(errors.NAMES[code])
            code += 1
        if not parts:
            return 'nothing'
        return ' or '.join(parts)

    def call_text(self):
        args = [self.a0, self.a1, self.a2, self.a3, self.a4, self.a5]
        shown = []
        i = 0
        while i < self.nargs:
            shown.append(show(args[i]))
            i += 1
        return '%s(%s)' % (self.cname, ', '.join(shown))

    def fail(self, result, why):
        if self.failed:
            return
        self.failed = True
        if result < 0:
            got = '%d (%s)' % (result, errors.error_name(result))
        else:
            got = str(result)
        h = self.picked
        if h is not None and self.nargs > 0 and h.value == self.a0:
            why += self.model_text(h)
        api.write('fuzz: FAIL seed %d worker %s (seed %d) call #%d: %s -> %s, expected %s%s\n'
                  % (self.topseed, self.name, self.seed, self.calls, self.call_text(), got,
                     self.expected_text(), why))

    def fail_check(self, what):
        """A call returned what was expected, but what it wrote or did is wrong."""
        if self.failed:
            return
        self.failed = True
        api.write('fuzz: FAIL seed %d worker %s (seed %d) call #%d: %s: %s\n'
                  % (self.topseed, self.name, self.seed, self.calls, self.call_text(), what))

    # -------------------------------------------------------- the calls

    def c_debug_write(self, ptr, length):
        self.begin('debug_write', M_DEBUG_WRITE, 2, ptr, length, 0, 0, 0)
        return self.finish(api.sys_debug_write(ptr, length))

    def c_yield(self):
        self.begin('yield', M_YIELD, 0, 0, 0, 0, 0, 0)
        return self.finish(api.sys_yield())

    def c_sleep(self, ticks):
        self.begin('sleep', M_SLEEP, 1, ticks, 0, 0, 0, 0)
        return self.finish(api.sys_sleep(ticks))

    def c_clock(self):
        self.begin('clock', M_CLOCK, 0, 0, 0, 0, 0, 0)
        return self.finish(api.sys_clock())

    def c_spawn(self, image, descs, count, args, args_length):
        self.begin('spawn', M_SPAWN, 5, image, descs, count, args, args_length)
        return self.finish(api.sys_spawn(image, descs, count, args, args_length))

    def c_wait(self, desc):
        self.begin('wait', M_WAIT, 1, desc, 0, 0, 0, 0)
        return self.finish(api.sys_wait(desc))

    def c_self(self, rights):
        self.begin('self', M_SELF, 1, rights, 0, 0, 0, 0)
        return self.finish(api.sys_self(rights))

    def c_counters(self, out):
        self.begin('counters', M_COUNTERS, 1, out, 0, 0, 0, 0)
        return self.finish(api.sys_counters(out))

    def c_allocate(self, size, rights):
        self.begin('allocate', M_ALLOCATE, 2, size, rights, 0, 0, 0)
        return self.finish(api.sys_allocate(size, rights))

    def c_clone(self, desc, rights):
        self.begin('clone', M_CLONE, 2, desc, rights, 0, 0, 0)
        return self.finish(api.sys_clone(desc, rights))

    def c_borrow(self, desc, duration):
        self.begin('borrow', M_BORROW, 2, desc, duration, 0, 0, 0)
        return self.finish(api.sys_borrow(desc, duration))

    def c_transfer(self, desc, target):
        self.begin('transfer', M_TRANSFER, 2, desc, target, 0, 0, 0)
        return self.finish(api.sys_transfer(desc, target))

    def c_release(self, desc):
        self.begin('release', M_RELEASE, 1, desc, 0, 0, 0, 0)
        return self.finish(api.sys_release(desc))

    def c_map(self, desc, vaddr, offset, length, prot):
        self.begin('map', M_MAP, 5, desc, vaddr, offset, length, prot)
        return self.finish(api.sys_map(desc, vaddr, offset, length, prot))

    def c_unmap(self, vaddr, length):
        self.begin('unmap', M_UNMAP, 2, vaddr, length, 0, 0, 0)
        return self.finish(api.sys_unmap(vaddr, length))

    def c_describe(self, desc, out):
        self.begin('describe', M_DESCRIBE, 2, desc, out, 0, 0, 0)
        return self.finish(api.sys_describe(desc, out))

    def c_channel_create(self, rights, out):
        self.channel_calls += 1
        self.begin('channel_create', M_CHANNEL_CREATE, 2, rights, out, 0, 0, 0)
        return self.finish(api.sys_channel_create(rights, out))

    def c_channel_send(self, ep, buf, length, descs, count):
        self.channel_calls += 1
        self.begin('channel_send', M_CHANNEL_SEND, 5, ep, buf, length, descs, count)
        return self.finish(api.sys_channel_send(ep, buf, length, descs, count))

    def c_channel_recv(self, ep, buf, length, descs, max_count, flags):
        self.channel_calls += 1
        self.begin('channel_recv', M_CHANNEL_RECV, 6, ep, buf, length, descs, max_count)
        self.a5 = flags
        return self.finish(api.sys_channel_recv(ep, buf, length, descs, max_count, flags))

    def c_channel_call(self, ep, buf, length, reply, reply_length):
        self.channel_calls += 1
        self.begin('channel_call', M_CHANNEL_CALL, 5, ep, buf, length, reply, reply_length)
        return self.finish(api.sys_channel_call(ep, buf, length, reply, reply_length))

    def c_channel_call_regs(self, ep, length, w0, w1, w2, w3):
        self.channel_calls += 1
        self.begin('channel_call_regs', M_CHANNEL_CALL_REGS, 6, ep, length, w0, w1, w2)
        self.a5 = w3
        return self.finish(api.sys_channel_call_regs(ep, length, w0, w1, w2, w3))

    def c_wait_any(self, descs, count, flags):
        self.channel_calls += 1
        self.begin('wait_any', M_WAIT_ANY, 3, descs, count, flags, 0, 0)
        return self.finish(api.sys_wait_any(descs, count, flags))

    # -------------------------------------------------------- the model

    def room(self, pages):
        return len(self.held) < MAX_HELD and self.pages_held + pages <= MAX_PAGES

    def lookup(self, value):
        """Returns my Held of value, or None (then value is STALE or BAD,
        or UNKNOWN: callers never pass those)."""
        if self.table.classify(value) == MINE:
            return self.by_value.get(value, None)
        return None

    def _count(self, h, delta):
        self.count_ref(h.obj, h.strong, False, delta)

    def count_ref(self, obj, strong, flight, delta):
        """A reference of mine to obj, in my table or in flight in a queue
        only I receive from, comes (delta 1) or goes (-1)."""
        before = obj.strong_mine + obj.weak_mine + obj.flight_strong + obj.flight_weak
        if flight and strong:
            obj.flight_strong += delta
        elif flight:
            obj.flight_weak += delta
        elif strong:
            obj.strong_mine += delta
        else:
            obj.weak_mine += delta
        after = obj.strong_mine + obj.weak_mine + obj.flight_strong + obj.flight_weak
        if obj.kind == KIND_MEMORY and not obj.is_image:     # the image's frames are shared
            if before == 0 and after > 0:
                self.pages_held += obj.pages
            elif before > 0 and after == 0:
                self.pages_held -= obj.pages

    def add(self, value, obj, rights, strong, expiry):
        """Records a descriptor the kernel just gave me; checks that its
        value is new (never mine before, not a stale generation)."""
        slot = value % SLOTS
        if value < SLOTS or value >= VALUE_LIMIT or \
                self.table.classify(value) != UNKNOWN or self.table.state[slot] == RUNTIME:
            self.fail_check('the new descriptor %d is not a fresh value (slot %d, generation '
                            '%d known)' % (value, slot, self.table.gen[slot]))
        h = Held(value, obj, rights, strong, expiry)
        self.table.note_new(value)
        self.by_value[value] = h
        self.held.append(h)
        self._count(h, 1)
        return h

    def forget(self, h):
        """h left my table (released, moved); its mappings went with it."""
        self.remove_mappings_of(h)
        self.table.note_gone(h.value)
        del self.by_value[h.value]
        i = 0
        while i < len(self.held):
            if self.held[i] is h:
                del self.held[i]
                break
            i += 1
        if len(self.stale) < 64:
            self.stale.append(h.value)
        else:
            self.stale[self.rng.below(64)] = h.value
        self._count(h, -1)

    def moved_away(self, h):
        """h went into another process (or a queue others may receive from)."""
        self.mark_shared(h.obj, h.strong)
        self.forget(h)

    def released(self, h):
        obj = h.obj
        self.forget(h)
        if obj.kind == KIND_CHANNEL:
            if h.strong:
                self.sweep()
        elif h.strong:
            self.check_death(obj, 'released its last strong descriptor %d at call #%d'
                             % (h.value, self.calls))

    def check_death(self, obj, why):
        """A strong reference to obj (memory or process) went: it dies when
        it was the last."""
        if obj.strong_mine == 0 and obj.flight_strong == 0 and not obj.strong_elsewhere and \
                not obj.is_self and not obj.dead:
            if obj.kind == KIND_MEMORY or (obj.kind == KIND_PROCESS and obj.exited):
                self.object_died(obj, why)

    def object_died(self, obj, why):
        obj.dead = True
        obj.why = why
        i = 0
        while i < len(self.maps):
            if self.maps[i].held.obj is obj:
                del self.maps[i]
            else:
                i += 1

    def dead_state(self, h):
        if h.dead or h.obj.dead:
            return DEAD
        if h.expiry > 0 and self.now >= h.expiry:
            self.mark_dead(h, 'expiry %d, clock read %d' % (h.expiry, self.now))
            return DEAD
        if h.expiry != 0:
            return MAYBE
        if h.strong or h.obj.strong_mine > 0 or h.obj.is_self or h.obj.reached:
            return ALIVE
        return MAYBE

    def mark_dead(self, h, why):
        if not h.dead:
            h.dead = True
            h.why = '%s (call #%d)' % (why, self.calls)
            if h.obj.kind == KIND_CHANNEL and not h.strong and h.expiry == 0 and \
                    not h.obj.dead:
                h.obj.dead = True       # no lease: its endpoint died (and stays dead)
                h.obj.why = h.why
        self.remove_mappings_of(h)

    def model_text(self, h):
        """What the model knows of h, for failure messages."""
        text = ' [model: %d strong=%d rights=%d expiry=%d clock=%d' % (
            h.value, int(h.strong), h.rights, h.expiry, self.now)
        if h.dead:
            text += ' dead: ' + h.why
        if h.obj.dead:
            text += ' object dead: ' + h.obj.why
        return text + ']'

    def learn_dead(self, h, result):
        if h is not None and result == E_DEAD:
            self.mark_dead(h, self.cname + ' gave E_DEAD')

    def remove_mappings_of(self, h):
        i = 0
        while i < len(self.maps):
            if self.maps[i].held is h:
                del self.maps[i]
            else:
                i += 1

    def advance(self, now):
        """The clock read now: leases due are dead."""
        if now > self.now:
            self.now = now
        for h in self.held:
            if not h.dead and h.expiry > 0 and h.expiry <= self.now:
                self.mark_dead(h, 'expiry %d, clock read %d' % (h.expiry, self.now))

    def fits(self, h, f):
        obj = h.obj
        if f == F_ANY:
            return True
        if f == F_MEMORY:
            return obj.kind == KIND_MEMORY
        if f == F_PROCESS:
            return obj.kind == KIND_PROCESS
        if f == F_MOVABLE:
            return not h.protected and not h.waitable and (h.rights & RIGHT_TRANSFER) != 0 and \
                not (obj.kind == KIND_PROCESS and (h.rights & RIGHT_WAIT))
        if f == F_RELEASABLE:
            return not h.protected and not (h.waitable and not obj.counted)
        if f == F_GIVE:
            return obj.kind == KIND_PROCESS and (h.rights & RIGHT_GIVE) != 0
        if f == F_CHILD:
            return obj.is_child
        if f == F_SELF:
            return obj.is_self
        if f == F_WAIT_SAFE:
            return obj.kind != KIND_PROCESS or obj.is_self or obj.is_child or \
                not (h.rights & RIGHT_WAIT)
        if f == F_CHANNEL:
            return obj.kind == KIND_CHANNEL
        if f == F_FOREIGN:
            return obj.kind == KIND_CHANNEL and not self.exact(obj)
        if f == F_QUEUED:
            return obj.kind == KIND_CHANNEL and len(obj.queue) > 0 and (h.rights & RIGHT_READ) != 0
        if f == F_NO_READ:
            return obj.kind == KIND_MEMORY and not (h.rights & RIGHT_READ)
        if f == F_NO_TRANSFER:
            return not (h.rights & RIGHT_TRANSFER) and self.dead_state(h) == ALIVE
        if f == F_MAPPABLE:
            return obj.kind == KIND_MEMORY and (h.rights & RIGHT_MAP) != 0
        if f == F_EXEC_IMAGE:
            return obj.kind == KIND_MEMORY and obj.mine and (h.rights & RIGHT_READ) != 0 and \
                self.dead_state(h) == ALIVE
        return False

    def pick_mine(self, f):
        n = 0
        for h in self.held:
            if self.fits(h, f):
                n += 1
        if n == 0:
            return None
        k = self.rng.below(n)
        for h in self.held:
            if self.fits(h, f):
                if k == 0:
                    return h
                k -= 1
        return None

    def bad_desc(self):
        """Returns a value that is certainly not a descriptor of mine."""
        tries = 0
        while tries < 8:
            k = self.rng.below(10)
            if k < 4 and len(self.stale) > 0:
                v = self.stale[self.rng.below(len(self.stale))]
            elif k == 4:
                v = 0
            elif k == 5:
                v = -1 - self.rng.below(1 << 40)
            elif k == 6:
                v = self.rng.below(SLOTS)
            elif k == 7:
                v = VALUE_LIMIT + self.rng.below(1 << 40)
            elif k == 8:
                v = self.rng.word()
            else:
                slot = self.rng.below(SLOTS)
                v = (self.table.gen[slot] + 1 + self.rng.below(3)) * SLOTS + slot
            c = self.table.classify(v)
            if c == STALE or c == BAD:
                return v
            tries += 1
        return -1

    def pick_desc(self, f, mine_eighths):
        """Returns a descriptor value: one of mine fitting f (then
        self.picked is it) about mine_eighths times in 8, else a stale or
        bad one (self.picked None)."""
        if self.rng.below(8) < mine_eighths:
            h = self.pick_mine(f)
            if h is not None:
                self.picked = h
                return h.value
        self.picked = None
        return self.bad_desc()

    def pick_rights(self, all_rights):
        k = self.rng.below(8)
        if k < 5:
            return self.rng.word() & all_rights
        if k == 5:
            return all_rights
        if k == 6:
            return 1 << (9 + self.rng.below(54))
        return self.rng.word()

    # -------------------------------------------------------- addresses

    def bad_address(self):
        """Returns an address outside the user half."""
        k = self.rng.below(8)
        if k == 0:
            return 0
        if k == 1:
            return KERNEL_BASE + (self.rng.below(1 << 30) << 12) + self.rng.below(8) * 8
        if k == 2:
            return NONCANONICAL + (self.rng.below(1 << 40) << 12)
        if k == 3:
            return -PAGE
        if k == 4:
            return USER_END + self.rng.below(PAGE)
        if k == 5:
            return self.rng.below(USER_START)
        if k == 6:
            v = self.rng.word()
            if 0 <= v < USER_END + PAGE:
                v = KERNEL_BASE
            return v
        return MININT

    def arena_page(self):
        """Returns a page address of an arena."""
        k = self.rng.below(10)
        if k < 8:
            return WINDOW + self.rng.below(WINDOW_PAGES) * PAGE
        if k == 8:
            return LOW + self.rng.below(LOW_PAGES) * PAGE
        return TOP + self.rng.below(TOP_PAGES) * PAGE

    def mapping_at(self, page):
        for m in self.maps:
            if m.start <= page < m.end():
                return m
        return None

    def page_state(self, page, write):
        if page == IMAGE_PAGE:
            if write:
                return P_FAULT
            return P_OK
        if not is_safe_range(page, PAGE):
            return P_MAYBE
        m = self.mapping_at(page)
        if m is None:
            return P_FAULT
        if self.dead_state(m.held) != ALIVE:
            return P_MAYBE
        if write and not (m.prot & PROT_WRITE):
            return P_FAULT
        return P_OK

    def pointer_state(self, addr, length, write):
        """What the kernel finds at [addr, addr + length): P_OK, P_FAULT, or
        P_MAYBE (a page that may go any time, or memory the model does not know)."""
        if not user_range_ok(addr, length):
            return P_FAULT
        if length == 0:
            return P_OK
        if addr >= self.buf and length <= BUF_WORDS * WORD - (addr - self.buf):
            return P_OK
        if addr >= self.message_ptr and length <= len(self.message) - (addr - self.message_ptr):
            return P_OK
        if addr >= self.idle_ptr and length <= self.idle_length - (addr - self.idle_ptr):
            return P_OK
        if addr >= self.data_ptr and length <= DATA_BYTES - (addr - self.data_ptr):
            return P_OK
        state = P_OK
        page = addr & ~PAGE_MASK
        while page < addr + length:
            s = self.page_state(page, write)
            if s == P_FAULT:
                return P_FAULT
            if s == P_MAYBE:
                state = P_MAYBE
            page += PAGE
        return state

    def readable(self, addr, length):
        """True when the fuzzer itself may read [addr, addr + length) now."""
        if addr >= self.buf and length <= BUF_WORDS * WORD - (addr - self.buf):
            return True
        if addr >= self.data_ptr and length <= DATA_BYTES - (addr - self.data_ptr):
            return True
        page = addr & ~PAGE_MASK
        while page < addr + length:
            if page == IMAGE_PAGE or not is_safe_range(page, PAGE):
                return False
            m = self.mapping_at(page)
            if m is None or self.dead_state(m.held) != ALIVE:
                return False
            page += PAGE
        return True

    def note_written(self, addr, length):
        """The kernel wrote there: the objects are no longer all zeros."""
        for m in self.maps:
            if m.start < addr + length and addr < m.end():
                m.held.obj.written = True

    def out_pointer(self, length):
        """Returns where describe or counters may write length bytes."""
        k = self.rng.below(20)
        if k < 9:
            return self.buf + self.rng.below(BUF_WORDS * WORD - length + 1)
        if k < 13:
            m = self.pick_mapping(True, PROT_WRITE)
            if m is not None:
                return m.start + self.rng.below(m.pages * PAGE - length + 1)
            return self.buf
        if k < 16:
            return self.bad_address()
        if k == 16:
            return IMAGE_PAGE + self.rng.below(PAGE - length)
        if k == 17:
            m = self.pick_mapping(True, 0)
            if m is not None:
                return m.end() - 1 - self.rng.below(length)     # straddles the end
            return USER_END - length + 1
        if k == 18:
            return self.arena_page() + self.rng.below(PAGE)
        return USER_END - self.rng.below(length)

    def pick_mapping(self, stable, prot):
        n = 0
        for m in self.maps:
            if (m.prot & prot) == prot and (not stable or self.dead_state(m.held) == ALIVE):
                n += 1
        if n == 0:
            return None
        k = self.rng.below(n)
        for m in self.maps:
            if (m.prot & prot) == prot and (not stable or self.dead_state(m.held) == ALIVE):
                if k == 0:
                    return m
                k -= 1
        return None

    def pick_range(self):
        """Returns (vaddr, length) for map or unmap: mostly a range of an
        arena, else misaligned, empty, negative, outside the user half or
        wrapping; never a range the runtime's memory is in."""
        page = self.arena_page()
        pages = 1 + self.rng.below(MAX_RANGE_PAGES)
        vaddr = page
        length = pages * PAGE
        k = self.rng.below(16)
        if k == 10:
            vaddr = page + 1 + self.rng.below(PAGE - 1)
        elif k == 11:
            length = length - 1 - self.rng.below(PAGE - 1)
        elif k == 12:
            length = -self.rng.below(4) * PAGE
        elif k == 13:
            vaddr = self.bad_address() & ~PAGE_MASK
        elif k == 14:
            length = (MAXINT - self.rng.below(1 << 20) * PAGE) & ~PAGE_MASK
        elif k == 15:
            length = USER_END - vaddr + PAGE * (1 + self.rng.below(4))
        if range_error(vaddr, length) == 0 and not is_safe_range(vaddr, length):
            vaddr = KERNEL_BASE
        return vaddr, length

    def overlap(self, vaddr, length):
        """Returns (pages certainly mapped, pages that may be) in the range."""
        stable = 0
        unstable = 0
        end = vaddr + length
        for m in self.maps:
            lo = m.start
            if vaddr > lo:
                lo = vaddr
            hi = m.end()
            if end < hi:
                hi = end
            if lo < hi:
                if self.dead_state(m.held) == ALIVE:
                    stable += (hi - lo) // PAGE
                else:
                    unstable += (hi - lo) // PAGE
        return stable, unstable

    def cut(self, vaddr, length):
        """The model's unmap of [vaddr, vaddr + length)."""
        end = vaddr + length
        kept = []
        for m in self.maps:
            if m.end() <= vaddr or m.start >= end:
                kept.append(m)
                continue
            if m.start < vaddr:
                kept.append(Mapping(m.start, (vaddr - m.start) // PAGE, m.held, m.first, m.prot))
            if m.end() > end:
                skip = (end - m.start) // PAGE
                kept.append(Mapping(end, m.pages - skip, m.held, m.first + skip, m.prot))
        self.maps = kept

    # -------------------------------------------------------- start and scans

    def read_word(self, base, i):
        return rffi.cast(rffi.LONGP, base)[i]

    def scan(self, full):
        """Describes the slots the model thinks free: finds what the
        runtime made (no RIGHT_TRANSFER) and what others moved in (adopted).
        Stops after 4 free ones in a row unless full."""
        misses = 0
        slot = 0
        while slot < SLOTS and not self.failed:
            if self.table.state[slot] == FREE:
                value = self.table.value_of(slot)
                self.expect()
                self.may_ok(0, 0)
                self.may_err(E_BADDESC)
                if self.c_describe(value, self.buf) == 0:
                    misses = 0
                    if self.read_word(self.buf, 2) & RIGHT_TRANSFER:
                        self.adopt(value)
                    else:
                        self.table.note_runtime(slot)
                else:
                    misses += 1
                    if misses >= 4 and not full:
                        return
            slot += 1

    def adopt(self, value):
        """Takes into the model the descriptor another process moved in
        (its description is in buf)."""
        kind = self.read_word(self.buf, 0)
        strong = self.read_word(self.buf, 1) == STRENGTH_STRONG
        rights = self.read_word(self.buf, 2)
        pages = self.read_word(self.buf, 3) // PAGE
        expiry = self.read_word(self.buf, 6)
        dead = self.read_word(self.buf, 7) != 0
        obj = self.new_obj(kind, pages, False)
        obj.written = True
        obj.is_image = value == process.IMAGE
        h = self.add(value, obj, rights, strong, expiry)
        h.dead = dead
        if kind == KIND_PROCESS and self.read_word(self.buf, 8) == STATE_EXITED:
            obj.exited = True
        if obj.is_image:
            h.protected = True
        elif not self.room(0):
            self.expect()
            self.may_ok(0, 0)
            if self.c_release(value) == 0:
                self.released(h)

    def start(self):
        self.scan(False)
        h = self.lookup(process.IMAGE)
        if h is None or not h.protected:
            self.fail_check('the image is not my first descriptor')

    # -------------------------------------------------------- the steps

    def step(self):
        self.steps += 1
        if self.steps % SCAN_EVERY == 0:
            self.scan(False)
            return
        if self.steps % FILL_EVERY == FILL_EVERY // 2 + 1:
            self.fill_table()
            return
        if self.rng.below(100) < CHANNEL_PERCENT:
            self.channel_step()
            return
        k = self.rng.below(100)
        if k < 8:
            self.op_allocate()
        elif k < 18:
            self.op_clone()
        elif k < 26:
            self.op_borrow()
        elif k < 32:
            self.op_transfer()
        elif k < 44:
            self.op_release()
        elif k < 57:
            self.op_map()
        elif k < 64:
            self.op_unmap()
        elif k < 73:
            self.op_describe()
        elif k < 76:
            self.op_self()
        elif k < 78:
            self.op_counters()
        elif k < 82:
            self.op_clock()
        elif k < 84:
            self.op_yield()
        elif k < 85:
            self.op_sleep()
        elif k < 88:
            self.op_debug_write()
        elif k < 91:
            self.op_spawn()
        elif k < 94:
            self.op_wait()
        else:
            self.touch()

    def fill_table(self):
        """Fills my table with clones of the image until E_NOSLOTS, checks
        that every call that adds a descriptor to it gives E_NOSLOTS, and
        releases the clones.  Nothing here allocates GC memory: the runtime's
        heap must not need a descriptor while the table is full."""
        image = process.IMAGE
        n = 0
        r = 0
        while n < SLOTS and not self.failed:
            self.expect()
            self.may_ok(SLOTS, MAXINT)
            self.may_err(E_NOSLOTS)
            r = self.c_clone(image, RIGHT_TRANSFER)
            if r < 0:
                break
            self.table.note_new(r)
            self.fill[n] = r
            n += 1
        if r != E_NOSLOTS and not self.failed:
            self.fail_check('%d clones and the table is not full' % n)
        if not self.failed:
            self.expect()
            self.may_err(E_NOSLOTS)
            self.c_allocate(PAGE, MEMORY_RIGHTS)
            self.c_clone(image, 0)
            self.c_borrow(image, self.rng.below(3))
            self.c_self(RIGHT_GIVE)
            me = self.pick_mine(F_SELF)
            if me is not None and (me.rights & RIGHT_GIVE) and n > 0 and \
                    self.dead_state(me) == ALIVE:
                self.c_transfer(self.fill[0], me.value)
            self.c_spawn(image, self.buf, 0, self.idle_ptr, self.idle_length)
            self.c_channel_create(CHANNEL_RIGHTS, self.buf)
            self.fill_receive(1)
        if n > 0 and not self.failed:
            # one slot free: still too few for a channel, or for two descriptors
            n -= 1
            self.expect()
            self.may_ok(0, 0)
            if self.c_release(self.fill[n]) == 0:
                self.table.note_gone(self.fill[n])
            self.expect()
            self.may_err(E_NOSLOTS)
            self.c_channel_create(self.rng.word() & CHANNEL_RIGHTS, self.buf)
            self.fill_receive(2)
        i = 0
        while i < n:
            self.expect()
            self.may_ok(0, 0)
            if self.c_release(self.fill[i]) == 0:
                self.table.note_gone(self.fill[i])
            i += 1

    def fill_receive(self, needed):
        """With fewer than needed free slots: a receive of a message known
        to carry needed descriptors or more gives E_NOSLOTS (and leaves it
        queued).  Allocates nothing."""
        for h in self.held:
            obj = h.obj
            if obj.kind == KIND_CHANNEL and h.rights & RIGHT_READ and \
                    self.dead_state(h) == ALIVE and len(obj.queue) > 0 and \
                    len(obj.queue[0].items) >= needed:
                self.expect()
                self.may_err(E_NOSLOTS)
                self.c_channel_recv(h.value, self.data_ptr, MAX_MESSAGE_BYTES, self.buf,
                                    MAX_MESSAGE_DESCRIPTORS, RECV_NONBLOCK)
                return

    def op_allocate(self):
        room = self.room(MAX_OBJECT_PAGES)
        k = self.rng.below(10)
        if room and k < 6:
            size = 1 + self.rng.below(MAX_OBJECT_PAGES * PAGE)
        elif k == 6 or (not room and k < 6):
            size = 0
        elif k == 7:
            size = -1 - (self.rng.word() & MAXINT)
        elif k == 8:
            size = MAX_OBJECT_SIZE + 1 + self.rng.below(1 << 40)
        else:
            size = MAXINT - self.rng.below(PAGE)        # overflows when rounded up
        if self.rng.chance(2):
            rights = MEMORY_RIGHTS & ~RIGHT_EXEC
            if self.rng.chance(4):
                rights = MEMORY_RIGHTS & ~RIGHT_WRITE
        else:
            rights = self.pick_rights(MEMORY_RIGHTS)
        self.expect()
        if rights & ~MEMORY_RIGHTS or size <= 0:
            self.may_err(E_INVALID)
        elif size > MAX_OBJECT_SIZE:
            self.may_err(E_LIMIT)
        else:
            self.may_ok(SLOTS, MAXINT)
        r = self.c_allocate(size, rights)
        if r >= 0 and not self.failed:
            self.add(r, Obj(KIND_MEMORY, (size + PAGE - 1) // PAGE, True), rights, True, 0)

    def op_clone(self):
        value = self.pick_desc(F_ANY, 6 if self.room(0) else 0)
        h = self.picked
        k = self.rng.below(8)
        if h is None:
            rights = self.rng.word() & 0x1ff
        elif k < 5:
            rights = h.rights & self.rng.word()
        elif k == 5:
            rights = h.rights
        elif k == 6:
            rights = h.rights | (1 << self.rng.below(63))
        else:
            rights = self.rng.word()
        self.expect()
        if self.live_gate(h):
            if not (h.rights & RIGHT_CLONE) or rights & ~h.rights:
                self.may_err(E_RIGHTS)
            else:
                self.may_ok(SLOTS, MAXINT)
        r = self.c_clone(value, rights)
        self.learn_dead(h, r)
        if r >= 0 and h is not None and not self.failed:
            self.add(r, h.obj, rights, h.strong, h.expiry)

    def op_borrow(self):
        value = self.pick_desc(F_ANY, 6 if self.room(0) else 0)
        h = self.picked
        k = self.rng.below(10)
        if k == 0:
            duration = 0
        elif k < 5:
            duration = 1 + self.rng.below(40)
        elif k == 5:
            duration = 100 + self.rng.below(1000)
        elif k == 6:
            duration = MAX_LEASE_TICKS
        elif k == 7:
            duration = -1 - self.rng.below(1 << 40)
        elif k == 8:
            duration = MAX_LEASE_TICKS + 1 + self.rng.below(1 << 40)
        else:
            duration = self.rng.word()
        now = self.now
        self.expect()
        if self.live_gate(h):
            if not (h.rights & RIGHT_BORROW):
                self.may_err(E_RIGHTS)
            elif duration < 0:
                self.may_err(E_INVALID)
            elif duration > MAX_LEASE_TICKS:
                self.may_err(E_LIMIT)
            else:
                self.may_ok(SLOTS, MAXINT)
        r = self.c_borrow(value, duration)
        self.learn_dead(h, r)
        if r < 0 or h is None or self.failed:
            return
        if duration == 0 and h.expiry == 0:
            self.add(r, h.obj, h.rights, False, 0)
            return
        lease = self.add(r, h.obj, h.rights, False, -1)
        # learn the expiry: at least now + duration, never after h's own
        self.expect()
        self.may_ok(0, 0)
        if self.c_describe(r, self.buf) != 0:
            return
        expiry = self.read_word(self.buf, 6)
        lo = now + duration
        if duration == 0 or (h.expiry > 0 and h.expiry < lo):
            lo = h.expiry
        if expiry < lo or (h.expiry > 0 and expiry > h.expiry) or \
                self.read_word(self.buf, 2) != h.rights or \
                self.read_word(self.buf, 1) != STRENGTH_WEAK:
            self.fail_check('the lease of %d for %d ticks reads expiry %d rights %d strength '
                            '%d (lease of expiry %d, clock read %d)'
                            % (value, duration, expiry, self.read_word(self.buf, 2),
                               self.read_word(self.buf, 1), h.expiry, now))
        lease.expiry = expiry
        if self.read_word(self.buf, 7):
            self.mark_dead(lease, 'described dead at once')

    def op_transfer(self):
        value = self.pick_desc(F_MOVABLE, 6)
        h = self.picked
        k = self.rng.below(8)
        t = None
        if k < 5:
            t = self.pick_mine(F_GIVE)
        elif k == 5:
            t = self.pick_mine(F_MEMORY)
        elif k == 6:
            t = self.pick_mine(F_ANY)
        if t is not None and h is not None and not t.obj.is_self and self.given >= MAX_GIVEN:
            t = None
        if t is not None:
            target = t.value
        else:
            target = self.bad_desc()
        self.expect()
        hs = ALIVE                      # ALIVE: not the reason for an E_DEAD
        ts = ALIVE
        if h is not None:
            hs = self.dead_state(h)
        if self.live_gate(h):
            if not (h.rights & RIGHT_TRANSFER):
                self.may_err(E_RIGHTS)
            elif t is not None and t.obj.kind != KIND_PROCESS:
                self.may_err(E_KIND)
            else:
                if t is not None:
                    ts = self.dead_state(t)
                if self.live_gate(t):
                    if not (t.rights & RIGHT_GIVE):
                        self.may_err(E_RIGHTS)
                    elif t.obj.is_self:
                        self.may_ok(SLOTS, MAXINT)
                    elif t.obj.exited:
                        self.may_err(E_EXITED)
                    else:
                        self.may_err(E_EXITED)
                        self.may_err(E_NOSLOTS)
                        self.may_ok(SLOTS, MAXINT)
        r = self.c_transfer(value, target)
        if r == E_DEAD:
            if hs == MAYBE and ts == ALIVE:
                self.mark_dead(h, 'transfer gave E_DEAD')
            elif ts == MAYBE and hs == ALIVE:
                self.mark_dead(t, 'transfer to it gave E_DEAD')
        elif r == E_EXITED and t is not None:
            t.obj.exited = True
        if r < 0 or h is None or t is None or self.failed:
            return
        if t.obj.is_self:
            self.forget(h)
            moved = self.add(r, h.obj, h.rights, h.strong, h.expiry)
            moved.dead = h.dead
        else:
            self.moved_away(h)
            self.given += 1
            self.sweep()

    def op_release(self):
        value = self.pick_desc(F_RELEASABLE, 6)
        h = self.picked
        self.expect()
        if h is None:
            self.may_err(E_BADDESC)
        else:
            self.may_ok(0, 0)
        r = self.c_release(value)
        if r == 0 and h is not None and not self.failed:
            self.released(h)

    def op_map(self):
        k = self.rng.below(8)
        f = F_MAPPABLE
        if k == 0:
            f = F_ANY
        elif k == 1:
            f = F_MEMORY
        value = self.pick_desc(f, 7)
        h = self.picked
        vaddr, length = self.pick_range()
        if len(self.maps) >= MAX_MAPS:
            vaddr = KERNEL_BASE
        pages = 1
        if h is not None and h.obj.pages > 0:
            pages = h.obj.pages
        k = self.rng.below(10)
        if k < 5:
            # a part of the object: offset and length within it
            offset = self.rng.below(pages) * PAGE
            if range_error(vaddr, length) == 0:
                length = (1 + self.rng.below(pages - offset // PAGE)) * PAGE
                if not is_safe_range(vaddr, length):
                    vaddr = WINDOW + self.rng.below(WINDOW_PAGES) * PAGE
        elif k < 8:
            offset = self.rng.below(pages + 1) * PAGE
        elif k == 8:
            offset = self.rng.below(pages * PAGE) | (1 + self.rng.below(PAGE_MASK))
        else:
            offset = self.rng.word() & ~PAGE_MASK
        k = self.rng.below(12)
        if k < 8 and h is not None:
            prot = PROT_READ                    # within h's rights, mostly
            if h.rights & RIGHT_WRITE and not self.rng.chance(4):
                prot |= PROT_WRITE
            elif h.rights & RIGHT_EXEC and self.rng.chance(2):
                prot |= PROT_EXEC
        elif k < 9:
            prot = PROT_READ | PROT_WRITE
            if self.rng.chance(2):
                prot = PROT_READ | PROT_EXEC
        elif k == 9:
            prot = PROT_ALL
        elif k == 10:
            prot = self.rng.below(8)
        else:
            prot = self.rng.word()
        self.expect()
        stable = 0
        unstable = 0
        if self.live_gate(h):
            size = h.obj.pages * PAGE
            held = h.rights
            error = range_error(vaddr, length)
            if h.obj.kind != KIND_MEMORY:
                self.may_err(E_KIND)
            elif not (held & RIGHT_MAP):
                self.may_err(E_RIGHTS)
            elif prot & ~PROT_ALL or not (prot & PROT_READ):
                self.may_err(E_INVALID)
            elif (prot & PROT_WRITE) and (prot & PROT_EXEC):
                self.may_err(E_INVALID)
            elif prot & ~held:
                self.may_err(E_RIGHTS)
            elif error < 0:
                self.may_err(error)
            elif offset & PAGE_MASK:
                self.may_err(E_ALIGN)
            elif offset < 0 or offset > size or length > size - offset:
                self.may_err(E_RANGE)
            else:
                stable, unstable = self.overlap(vaddr, length)
                if stable > 0:
                    self.may_err(E_OVERLAP)
                else:
                    if unstable > 0:
                        self.may_err(E_OVERLAP)
                    self.may_ok(0, 0)
        r = self.c_map(value, vaddr, offset, length, prot)
        self.learn_dead(h, r)
        if r == 0 and h is not None and not self.failed:
            if unstable > 0:
                self.drop_gone(vaddr, length)
            self.maps.append(Mapping(vaddr, length // PAGE, h, offset // PAGE, prot))

    def drop_gone(self, vaddr, length):
        """A map over mappings that may have gone succeeded: they had gone
        (their descriptors died)."""
        end = vaddr + length
        i = 0
        while i < len(self.maps):
            m = self.maps[i]
            if m.start < end and vaddr < m.end():
                self.mark_dead(m.held, 'a map over its mapping succeeded')
                i = 0
            else:
                i += 1

    def op_unmap(self):
        if self.rng.chance(64) or len(self.maps) >= MAX_MAPS - 1:
            vaddr = WINDOW
            length = WINDOW_PAGES * PAGE
        else:
            vaddr, length = self.pick_range()
        self.expect()
        error = range_error(vaddr, length)
        if error < 0:
            self.may_err(error)
        else:
            stable, unstable = self.overlap(vaddr, length)
            self.may_ok(stable, stable + unstable)
        r = self.c_unmap(vaddr, length)
        if r >= 0 and not self.failed:
            self.cut(vaddr, length)

    def op_describe(self):
        value = self.pick_desc(F_ANY, 6)
        h = self.picked
        length = DESCRIPTION_WORDS * WORD
        out = self.out_pointer(length)
        p = self.pointer_state(out, length, True)
        self.expect()
        if p != P_OK:
            self.may_err(E_FAULT)
        if p != P_FAULT:
            if h is None:
                self.may_err(E_BADDESC)
            else:
                self.may_ok(0, 0)
        r = self.c_describe(value, out)
        if r == 0 and not self.failed:
            self.note_written(out, length)
            if h is not None and self.readable(out, length):
                self.check_description(h, out)

    def check_description(self, h, base):
        obj = h.obj
        kind = self.read_word(base, 0)
        strength = self.read_word(base, 1)
        rights = self.read_word(base, 2)
        size = self.read_word(base, 3)
        strong = self.read_word(base, 4)
        weak = self.read_word(base, 5)
        expiry = self.read_word(base, 6)
        dead = self.read_word(base, 7)
        state = self.read_word(base, 8)
        code = self.read_word(base, 9)
        wrong = ''
        if kind != obj.kind:
            wrong += ' kind %d' % kind
        if strength != (STRENGTH_STRONG if h.strong else STRENGTH_WEAK):
            wrong += ' strength %d' % strength
        if rights != h.rights:
            wrong += ' rights %d (not %d)' % (rights, h.rights)
        if kind == KIND_MEMORY and size != obj.pages * PAGE:
            wrong += ' size %d (not %d)' % (size, obj.pages * PAGE)
        if kind == KIND_PROCESS and size != 0:
            wrong += ' size %d' % size
        if h.expiry >= 0 and expiry != h.expiry:
            wrong += ' expiry %d (not %d)' % (expiry, h.expiry)
        ds = self.dead_state(h)
        if ds == DEAD and dead != 1:
            wrong += ' alive (it is dead)'
        elif ds == ALIVE and dead != 0:
            wrong += ' dead (it is alive)'
        elif ds == MAYBE and dead == 1:
            self.mark_dead(h, 'described dead')
        if kind != KIND_PROCESS and not obj.shared and \
                (strong != obj.strong_mine + obj.flight_strong or
                 weak != obj.weak_mine + obj.flight_weak):
            wrong += ' counts %d/%d (not %d+%d/%d+%d)' % (
                strong, weak, obj.strong_mine, obj.flight_strong, obj.weak_mine,
                obj.flight_weak)
        if kind == KIND_CHANNEL:
            wrong += self.check_endpoint(obj, size, state, code)
        if obj.is_self and (state != STATE_RUNNING or code != 0):
            wrong += ' state %d code %d (I run)' % (state, code)
        if obj.exit_known and (state != STATE_EXITED or code != obj.exit_code):
            wrong += ' state %d code %d (exited with %d)' % (state, code, obj.exit_code)
        if wrong:
            self.fail_check('descriptor %d described wrong:%s%s' % (h.value, wrong,
                                                                   self.model_text(h)))

    def op_self(self):
        room = self.room(0)
        k = self.rng.below(8)
        if room and k < 6:
            rights = self.rng.word() & PROCESS_RIGHTS
        elif k < 7:
            rights = PROCESS_RIGHTS | (1 << self.rng.below(8))     # a memory-only right
        else:
            rights = self.rng.word() | (1 << 9)
        self.expect()
        if rights & ~PROCESS_RIGHTS:
            self.may_err(E_INVALID)
        else:
            self.may_ok(SLOTS, MAXINT)
        r = self.c_self(rights)
        if r >= 0 and not self.failed:
            self.add(r, self.self_obj, rights, True, 0)

    def op_counters(self):
        length = COUNTER_WORDS * WORD
        out = self.out_pointer(length)
        p = self.pointer_state(out, length, True)
        self.expect()
        if p != P_OK:
            self.may_err(E_FAULT)
        if p != P_FAULT:
            self.may_ok(0, 0)
        r = self.c_counters(out)
        if r == 0 and not self.failed:
            self.note_written(out, length)
            if self.readable(out, length):
                i = 0
                while i < COUNTER_WORDS:
                    if self.read_word(out, i) < 0:
                        self.fail_check('counter %d is negative' % i)
                    i += 1
                if self.read_word(out, 1) < 2:      # processes: init and me at least
                    self.fail_check('%d processes counted' % self.read_word(out, 1))

    def op_clock(self):
        self.expect()
        self.may_ok(self.now, MAXINT)
        r = self.c_clock()
        if r >= 0:
            self.advance(r)

    def op_yield(self):
        self.expect()
        self.may_ok(0, 0)
        self.c_yield()

    def op_sleep(self):
        k = self.rng.below(8)
        if k < 4:
            ticks = 0
        elif k == 4:
            ticks = 1
        elif k == 5:
            ticks = -1 - self.rng.below(1 << 40)
        elif k == 6:
            ticks = MAX_SLEEP_TICKS + 1 + self.rng.below(1 << 40)
        else:
            ticks = self.rng.word()
            if 0 <= ticks <= MAX_SLEEP_TICKS:
                ticks = MININT
        self.expect()
        if ticks < 0 or ticks > MAX_SLEEP_TICKS:
            self.may_err(E_INVALID)
        else:
            self.may_ok(0, 0)
        self.c_sleep(ticks)

    def op_debug_write(self):
        k = self.rng.below(16)
        if k == 0 and self.rng.chance(MESSAGE_EVERY // 16):
            ptr = self.message_ptr
            length = len(self.message)
        elif k < 5:
            ptr = self.arena_page() + self.rng.below(PAGE)
            if self.rng.chance(2):
                ptr = USER_START + self.rng.below(USER_END - USER_START + 1)
            length = 0
        elif k < 7:
            ptr = self.bad_address()
            length = 0
        elif k < 10:
            ptr = self.rng.word()
            length = -1 - self.rng.below(1 << 40)
            if k == 9:
                length = MININT
        else:
            if k < 13:
                ptr = self.bad_address()
            else:
                ptr = self.arena_page() + self.rng.below(PAGE)
            length = 1 + self.rng.below(64)
            if k == 15:
                length = self.rng.word() & MAXINT
            taken = length
            if taken > 4096:
                taken = 4096
            if self.pointer_state(ptr, taken, False) != P_FAULT:
                length = 0                              # never print what lies there
        self.expect()
        if length < 0:
            self.may_err(E_INVALID)
        else:
            taken = length
            if taken > 4096:
                taken = 4096
            p = self.pointer_state(ptr, taken, False)
            if p != P_OK:
                self.may_err(E_FAULT)
            if p != P_FAULT:
                self.may_ok(taken, taken)
        self.c_debug_write(ptr, length)

    # -------------------------------------------------------- channels: the model

    def new_obj(self, kind, pages, mine):
        obj = Obj(kind, pages, mine)
        if kind == KIND_CHANNEL:
            self.chans.append(obj)
        return obj

    def mark_shared(self, obj, strong):
        """Descriptors to obj may now be in other processes (strong ones if
        strong): for an endpoint, what waits in its queue may go to them too."""
        if strong:
            obj.strong_elsewhere = True
        if obj.shared:
            return
        obj.shared = True
        if obj.kind == KIND_CHANNEL:
            # others may receive from it, and send into its peer
            self.unknown_queue(obj)
            if obj.peer is not None:
                self.unknown_queue(obj.peer)

    def unknown_queue(self, obj):
        """The model stops knowing obj's queue: what I sent there may come
        to others (or to me, mixed with what they sent)."""
        queue = obj.queue
        obj.queue = []
        for msg in queue:
            self.unqueue(msg)
            self.inflight_unknown += msg.charge
            for it in msg.items:
                self.mark_shared(it.obj, it.strong)

    def unqueue(self, msg):
        """msg leaves a known queue (received, discarded or no longer known)."""
        self.known_messages -= 1
        self.inflight_known -= msg.charge
        for it in msg.items:
            self.flight_items -= 1
            self.count_ref(it.obj, it.strong, True, -1)

    def exact(self, obj):
        """True when the model knows obj's whole queue: only I send into it
        and only I receive from it."""
        return not obj.shared and obj.peer is not None and not obj.peer.shared

    def peer_state(self, obj):
        p = obj.peer
        if obj.dead:
            return DEAD                 # a dead endpoint has no peer either
        if p is None:
            return MAYBE
        if p.dead:
            return DEAD
        if p.reached:
            return ALIVE
        return MAYBE

    def sweep(self):
        """The kernel's collector, in the model: an endpoint no strong
        descriptor of mine reaches (through my table, then the queues I
        know), that no other process may hold, is dead; its queue goes."""
        for obj in self.chans:
            obj.reached = False
        stack = []
        for h in self.held:
            if h.strong and h.obj.kind == KIND_CHANNEL and not h.obj.reached:
                h.obj.reached = True
                stack.append(h.obj)
        while len(stack) > 0:
            obj = stack.pop()
            for msg in obj.queue:
                for it in msg.items:
                    if it.strong and it.obj.kind == KIND_CHANNEL and not it.obj.reached:
                        it.obj.reached = True
                        stack.append(it.obj)
        dying = []
        for obj in self.chans:
            if not obj.reached and not obj.shared and not obj.dead:
                obj.dead = True
                obj.why = 'unreachable after call #%d' % self.calls
                dying.append(obj)
        for obj in dying:
            queue = obj.queue
            obj.queue = []
            for msg in queue:
                self.unqueue(msg)
                for it in msg.items:
                    if it.strong and it.obj.kind != KIND_CHANNEL:
                        self.check_death(it.obj, 'its message was discarded at call #%d'
                                         % self.calls)
        kept = []
        for obj in self.chans:
            if (obj.dead or obj.shared) and obj.strong_mine + obj.weak_mine + \
                    obj.flight_strong + obj.flight_weak == 0:
                obj.reached = False
            else:
                kept.append(obj)
        self.chans = kept

    def queued_bytes(self, obj):
        n = 0
        for msg in obj.queue:
            n += msg.length
        return n

    def check_endpoint(self, obj, size, state, code):
        """What describe reports of an endpoint: bytes and messages queued,
        whether its peer is gone."""
        wrong = ''
        alive = obj.strong_mine > 0 or obj.reached
        if obj.dead or (alive and self.exact(obj)):
            if size != self.queued_bytes(obj) or code != len(obj.queue):
                wrong += ' queue %d bytes %d messages (not %d/%d)' % (
                    size, code, self.queued_bytes(obj), len(obj.queue))
        ps = self.peer_state(obj)
        if ps == DEAD and state != 2:
            wrong += ' state %d (its peer is gone)' % state
        elif ps == ALIVE and alive and state != 1:
            wrong += ' state %d (its peer is alive)' % state
        if code < 0 or code > MAX_QUEUED_MESSAGES or size < 0 or \
                size > code * MAX_MESSAGE_BYTES:
            wrong += ' queue %d bytes %d messages' % (size, code)
        return wrong

    def fill_pattern(self, tag, length):
        i = 0
        while i < length:
            self.data[i] = chr((tag + i * 13) & 0xff)
            i += 1

    def pattern_ok(self, base, tag, length):
        p = rffi.cast(rffi.CCHARP, base)
        i = 0
        while i < length:
            if ord(p[i]) != (tag + i * 13) & 0xff:
                return False
            i += 1
        return True

    def holder_of(self, obj, f):
        """Returns a descriptor of mine to obj fitting f, or None."""
        if obj is None:
            return None
        for h in self.held:
            if h.obj is obj and self.fits(h, f):
                return h
        return None

    # -------------------------------------------------------- channels: the calls

    def create_channel(self, rights, out):
        """Checked channel_create(rights, out) (out: where it writes, which
        the model knows to be writable and readable or to fault); returns
        [end, end] (Held) or []."""
        p = self.pointer_state(out, 2 * WORD, True)
        self.expect()
        if rights & ~CHANNEL_RIGHTS:
            self.may_err(E_INVALID)
        elif p == P_FAULT:
            self.may_err(E_FAULT)
        else:
            self.may_err(E_NOMEM)
            self.may_ok(0, 0)
        r = self.c_channel_create(rights, out)
        if r != 0 or self.failed:
            return []
        self.note_written(out, 2 * WORD)
        first = self.read_word(out, 0)
        second = self.read_word(out, 1)
        a = self.new_obj(KIND_CHANNEL, 0, True)
        b = self.new_obj(KIND_CHANNEL, 0, True)
        a.peer = b
        b.peer = a
        a.reached = True
        b.reached = True
        ends = [self.add(first, a, rights, True, 0)]
        if first == second:
            self.fail_check('both endpoints are descriptor %d' % first)
            return []
        ends.append(self.add(second, b, rights, True, 0))
        return ends

    def op_channel_create(self):
        room = len(self.held) + 2 <= MAX_HELD
        k = self.rng.below(12)
        if k < 7:
            rights = CHANNEL_RIGHTS
        elif k < 10:
            rights = self.rng.word() & CHANNEL_RIGHTS
        elif k == 10:
            rights = CHANNEL_RIGHTS | [RIGHT_EXEC, RIGHT_MAP, RIGHT_GIVE,
                                       1 << (9 + self.rng.below(54))][self.rng.below(4)]
        else:
            rights = self.rng.word() | RIGHT_GIVE
        k = self.rng.below(10)
        if k < 7:
            out = self.buf + self.rng.below(BUF_WORDS - 1) * WORD
        elif k < 9:
            out = self.bad_address()
        else:
            out = self.out_pointer(2 * WORD)
            p = self.pointer_state(out, 2 * WORD, True)
            if p == P_MAYBE or (p == P_OK and not self.readable(out, 2 * WORD)):
                out = self.bad_address()
        if not room and not (rights & ~CHANNEL_RIGHTS):
            out = self.bad_address()
        self.create_channel(rights, out)

    def pick_passed(self, h, i):
        """Returns a descriptor value to pass in a message sent through h
        (None: not mine), as the i-th: mostly one of mine that may move,
        else h itself, its peer, a stale or bad value, one without
        RIGHT_TRANSFER, a duplicate, a dead one.  Never one the fuzzer
        must keep (the image, a child to wait for, a process it may wait
        for: those lack RIGHT_TRANSFER or are dead, or are not picked)."""
        k = self.rng.below(16)
        if k < 7:
            v = self.pick_desc(F_MOVABLE, 8)
            return v
        if k < 9 and h is not None:
            return h.value
        if k < 11 and h is not None:
            p = self.holder_of(h.obj.peer, F_MOVABLE)
            if p is not None:
                return p.value
            return self.pick_desc(F_MOVABLE, 8)
        if k == 11 and i > 0:
            return rffi.cast(rffi.LONGP, self.buf)[self.rng.below(i)]
        if k == 12:
            v = self.pick_desc(F_NO_TRANSFER, 8)
            if self.picked is not None and self.picked.rights & RIGHT_TRANSFER:
                return self.bad_desc()
            return v
        if k == 13:
            p = self.pick_mine(F_ANY)
            if p is not None and self.dead_state(p) == DEAD:
                return p.value
        return self.bad_desc()

    def pick_endpoint(self, queued):
        """Returns the endpoint argument of a send or receive (self.picked:
        my Held of it, or None): in 16, queued times one where a message is
        known to wait (when there is one), 3 times one another process may
        use too (when there is one), else mostly an endpoint of mine, else
        any descriptor of mine, a stale or a bad value."""
        k = self.rng.below(16)
        if k < queued:
            value = self.pick_desc(F_QUEUED, 8)
            if self.picked is not None:
                return value
        elif k < queued + 3:
            value = self.pick_desc(F_FOREIGN, 8)
            if self.picked is not None:
                return value
        if k < 13:
            return self.pick_desc(F_CHANNEL, 8)
        if k < 15:
            return self.pick_desc(F_ANY, 8)
        self.picked = None
        return self.bad_desc()

    def op_channel_send(self):
        value = self.pick_endpoint(0)
        h = self.picked
        k = self.rng.below(16)
        if k < 8:
            length = self.rng.below(65)
        elif k < 11:
            length = self.rng.below(MAX_MESSAGE_BYTES + 1)
        elif k == 11:
            length = MAX_MESSAGE_BYTES
        elif k == 12:
            length = MAX_MESSAGE_BYTES + 1 + self.rng.below(1 << 20)
            if self.rng.chance(4):
                length = MAXINT - self.rng.below(PAGE)
        elif k == 13:
            length = -1 - self.rng.below(1 << 40)
        else:
            length = 0
        tag = -1
        k = self.rng.below(16)
        if k < 13:
            buf = self.data_ptr
            tag = self.rng.below(256)
        elif k == 13:
            buf = self.bad_address()
        elif k == 14:
            buf = self.arena_page() + self.rng.below(PAGE)
        else:
            buf = IMAGE_PAGE + self.rng.below(PAGE)
        if tag >= 0 and 0 < length <= MAX_MESSAGE_BYTES:
            self.fill_pattern(tag, length)
        # how many it may pass, so that the model and others' tables stay bounded
        room = MAX_MESSAGE_DESCRIPTORS
        if h is not None and h.obj.kind == KIND_CHANNEL:
            target = h.obj.peer
            if target is not None and self.exact(target):
                room = MAX_FLIGHT - self.flight_items
                if self.known_messages >= MAX_KNOWN_MESSAGES:
                    buf = self.bad_address()
            else:
                room = MAX_SENT_AWAY - self.sent_away
        k = self.rng.below(16)
        if k < 6:
            count = 0
        elif k < 13:
            count = 1 + self.rng.below(3)
        elif k == 13:
            count = self.rng.below(MAX_MESSAGE_DESCRIPTORS + 1)
        elif k == 14:
            count = MAX_MESSAGE_DESCRIPTORS + 1 + self.rng.below(100)
        else:
            count = -1 - self.rng.below(1 << 40)
        if 0 <= count <= MAX_MESSAGE_DESCRIPTORS and count > room:
            count = room
            if count < 0:
                count = 0
        descs = self.buf
        k = self.rng.below(16)
        if k == 0:
            descs = self.bad_address()
        elif k == 1:
            descs = self.arena_page() + self.rng.below(PAGE)
            if self.pointer_state(descs, count * WORD, False) != P_FAULT:
                descs = self.bad_address()
        elif 0 < count <= MAX_MESSAGE_DESCRIPTORS:
            i = 0
            while i < count:
                rffi.cast(rffi.LONGP, self.buf)[i] = self.pick_passed(h, i)
                i += 1
        self.send(value, h, buf, length, tag, descs, count)

    def send(self, value, h, buf, length, tag, descs, count):
        """Checked channel_send through value (h: my Held of it, or None);
        the values at descs are in self.buf or descs faults.  Returns the
        result."""
        self.expect()
        self.expect_send(h, buf, length, descs, count)
        hs = ALIVE
        if h is not None:
            hs = self.dead_state(h)
        r = self.c_channel_send(value, buf, length, descs, count)
        if r == E_DEAD and hs == MAYBE and self.passed_alive(count):
            self.mark_dead(h, 'channel_send gave E_DEAD')
        if r == 0 and not self.failed and h is not None:
            self.sent(h, buf, length, tag, count)
        return r

    def sent(self, h, buf, length, tag, count):
        """The model of a send through h that worked: the count descriptors
        whose values are in self.buf moved into the message."""
        target = h.obj.peer
        charge = length + count * DESCRIPTOR_CHARGE + MESSAGE_CHARGE
        msg = None
        if target is not None and self.exact(target):
            if buf != self.data_ptr:
                tag = -1
            msg = Msg(length, tag, charge)
            target.queue.append(msg)
            self.known_messages += 1
            self.inflight_known += charge
        else:
            self.inflight_unknown += charge
        i = 0
        while i < count:
            p = self.lookup(rffi.cast(rffi.LONGP, self.buf)[i])
            i += 1
            if p is None:
                self.fail_check('sent a descriptor the model does not hold')
                return
            if msg is not None:
                msg.items.append(Item(p.obj, p.rights, p.strong, p.expiry, p.dead))
                self.flight_items += 1
                self.count_ref(p.obj, p.strong, True, 1)
                self.forget(p)
            else:
                self.sent_away += 1
                self.moved_away(p)
        self.sweep()

    def passed_alive(self, count):
        """True when the count values in buf are mine and certainly alive."""
        i = 0
        while i < count:
            p = self.lookup(rffi.cast(rffi.LONGP, self.buf)[i])
            if p is None or self.dead_state(p) != ALIVE:
                return False
            i += 1
        return True

    def expect_send(self, h, buf, length, descs, count):
        """Sets the expectation of channel_send (docs/abi.md: the errors in order)."""
        if length < 0 or count < 0 or count > MAX_MESSAGE_DESCRIPTORS:
            self.may_err(E_INVALID)
            return
        if length > MAX_MESSAGE_BYTES:
            self.may_err(E_LIMIT)
            return
        for p in [self.pointer_state(buf, length, False),
                  self.pointer_state(descs, count * WORD, False)]:
            if p == P_FAULT:
                self.may_err(E_FAULT)
                return
            if p == P_MAYBE:
                self.may_err(E_FAULT)
        if not self.live_gate(h):
            return
        if h.obj.kind != KIND_CHANNEL:
            self.may_err(E_KIND)
            return
        if not (h.rights & RIGHT_WRITE):
            self.may_err(E_RIGHTS)
            return
        if descs != self.buf and count > 0:
            self.fail_check('the fuzzer passes descriptors it cannot read')
            return
        i = 0
        while i < count:
            v = rffi.cast(rffi.LONGP, self.buf)[i]
            p = self.lookup(v)
            if not self.live_gate(p):
                return
            if not (p.rights & RIGHT_TRANSFER):
                self.may_err(E_RIGHTS)
                return
            j = 0
            while j < i:
                if rffi.cast(rffi.LONGP, self.buf)[j] == v:
                    self.may_err(E_INVALID)
                    return
                j += 1
            i += 1
        obj = h.obj
        ps = self.peer_state(obj)
        if ps == DEAD:
            self.may_err(E_CLOSED)
            return
        if ps == MAYBE:
            self.may_err(E_CLOSED)
        target = obj.peer
        if target is not None and self.exact(target):
            if len(target.queue) >= MAX_QUEUED_MESSAGES:
                self.may_err(E_WOULDBLOCK)
                return
        else:
            self.may_err(E_WOULDBLOCK)
        charge = length + count * DESCRIPTOR_CHARGE + MESSAGE_CHARGE
        if self.inflight_known + charge > MAX_INFLIGHT_BYTES:
            self.may_err(E_LIMIT)
            return
        if self.inflight_known + self.inflight_unknown + charge > MAX_INFLIGHT_BYTES:
            self.may_err(E_LIMIT)
        self.may_err(E_NOMEM)
        self.may_ok(0, 0)

    def op_channel_recv(self):
        value = self.pick_endpoint(8)
        h = self.picked
        k = self.rng.below(16)
        if k < 9:
            length = MAX_MESSAGE_BYTES
        elif k < 11:
            length = self.rng.below(70)
        elif k < 13:
            length = self.rng.below(MAX_MESSAGE_BYTES + 1)
        elif k == 13:
            length = MAX_MESSAGE_BYTES + 1 + self.rng.below(1 << 40)
        elif k == 14:
            length = -1 - self.rng.below(1 << 40)
        else:
            length = 0
        k = self.rng.below(16)
        if k < 11:
            max_count = MAX_MESSAGE_DESCRIPTORS
        elif k < 14:
            max_count = self.rng.below(MAX_MESSAGE_DESCRIPTORS + 1)
        elif k == 14:
            max_count = MAX_MESSAGE_DESCRIPTORS + 1 + self.rng.below(1 << 40)
        else:
            max_count = -1 - self.rng.below(100)
        k = self.rng.below(32)
        buf = self.data_ptr
        descs = self.buf
        if k == 0:
            buf = self.bad_address()
        elif k == 1:
            buf = IMAGE_PAGE + self.rng.below(PAGE)
        elif k == 2:
            buf = self.arena_page() + self.rng.below(PAGE)
        elif k == 3:
            descs = self.bad_address()
        elif k == 4:
            descs = IMAGE_PAGE + self.rng.below(PAGE // WORD) * WORD
        elif k == 5:
            m = self.pick_mapping(True, PROT_WRITE)
            if m is not None:
                buf = m.start
        flags = RECV_NONBLOCK
        if self.rng.chance(32):
            flags = self.rng.word() & ~RECV_NONBLOCK
            if flags == 0:
                flags = 2
        self.receive(value, h, buf, length, descs, max_count, flags)

    def receive(self, value, h, buf, length, descs, max_count, flags):
        """Checked channel_recv; blocks (flags 0 instead of RECV_NONBLOCK)
        now and then when the model knows it returns at once."""
        self.expect()
        head = self.expect_recv(h, buf, length, descs, max_count)
        if flags == RECV_NONBLOCK and not (self.x_errs & (1 << -E_WOULDBLOCK)) and \
                self.rng.chance(2):
            flags = 0
        if flags & ~RECV_NONBLOCK:
            self.expect()
            self.may_err(E_INVALID)
        r = self.c_channel_recv(value, buf, length, descs, max_count, flags)
        self.learn_dead(h, r)
        if r < 0 or self.failed or h is None:
            return r
        got_length = r & LENGTH_MASK
        got_count = r >> COUNT_SHIFT
        obj = h.obj
        values = []
        i = 0
        while i < got_count:
            values.append(self.read_word(descs, i))
            i += 1
        self.note_written(buf, got_length)
        if head is not None:
            obj.queue.pop(0)
            self.unqueue(head)
            if head.tag >= 0 and buf == self.data_ptr and \
                    not self.pattern_ok(buf, head.tag, head.length):
                self.fail_check('the message of %d bytes came with other bytes' % head.length)
                return r
        elif got_length > MAX_MESSAGE_BYTES or got_count > MAX_MESSAGE_DESCRIPTORS or \
                got_length > length or got_count > max_count:
            self.fail_check('received %d bytes and %d descriptors' % (got_length, got_count))
            return r
        arrived = []
        i = 0
        while i < got_count:
            if head is not None:
                it = head.items[i]
                a = self.add(values[i], it.obj, it.rights, it.strong, it.expiry)
                a.dead = it.dead
            else:
                a = self.arrived(values[i])
            if a is None or self.failed:
                return r
            arrived.append(a)
            i += 1
        if head is not None:
            for a in arrived:
                if not self.failed:
                    self.check_arrived(a)
        self.sweep()
        # the descriptors that came are mine to release: keep the model bounded
        for a in arrived:
            if not self.failed and (not self.room(0) or self.rng.chance(4)):
                self.expect()
                self.may_ok(0, 0)
                if self.c_release(a.value) == 0:
                    self.released(a)
        return r

    def check_arrived(self, a):
        """a came in a message the model knows, as item it: describes as sent."""
        self.expect()
        self.may_ok(0, 0)
        if self.c_describe(a.value, self.buf) == 0 and not self.failed:
            self.check_description(a, self.buf)

    def arrived(self, value):
        """A descriptor came in a message from someone else: describes it
        (a kind, rights of that kind) and takes it into the model."""
        self.expect()
        self.may_ok(0, 0)
        if self.c_describe(value, self.buf) != 0 or self.failed:
            return None
        kind = self.read_word(self.buf, 0)
        strength = self.read_word(self.buf, 1)
        rights = self.read_word(self.buf, 2)
        if kind < KIND_MEMORY or kind > KIND_CHANNEL or rights & ~rights_of_kind(kind) or \
                (strength != STRENGTH_STRONG and strength != STRENGTH_WEAK):
            self.fail_check('received descriptor %d describes as kind %d strength %d '
                            'rights %d' % (value, kind, strength, rights))
            return None
        obj = self.new_obj(kind, self.read_word(self.buf, 3) // PAGE, False)
        obj.written = True
        if kind == KIND_PROCESS and self.read_word(self.buf, 8) == STATE_EXITED:
            obj.exited = True
        a = self.add(value, obj, rights, strength == STRENGTH_STRONG, self.read_word(self.buf, 6))
        a.dead = self.read_word(self.buf, 7) != 0
        return a

    def expect_recv(self, h, buf, length, descs, max_count):
        """Sets the expectation of a non-blocking channel_recv; returns the
        message it takes when the model knows it (else None)."""
        if length < 0 or max_count < 0:
            self.may_err(E_INVALID)
            return None
        if length > MAX_MESSAGE_BYTES:
            length = MAX_MESSAGE_BYTES
        if max_count > MAX_MESSAGE_DESCRIPTORS:
            max_count = MAX_MESSAGE_DESCRIPTORS
        for p in [self.pointer_state(descs, max_count * WORD, True),
                  self.pointer_state(buf, length, True)]:
            if p == P_FAULT:
                self.may_err(E_FAULT)
                return None
            if p == P_MAYBE:
                self.may_err(E_FAULT)
        if not self.live_gate(h):
            return None
        obj = h.obj
        if obj.kind != KIND_CHANNEL:
            self.may_err(E_KIND)
            return None
        if not (h.rights & RIGHT_READ):
            self.may_err(E_RIGHTS)
            return None
        if self.exact(obj) and len(obj.queue) > 0:
            head = obj.queue[0]
            if head.length > length or len(head.items) > max_count:
                self.may_err(E_BUFFER)
                return None
            result = head.length + (len(head.items) << COUNT_SHIFT)
            self.may_ok(result, result)
            return head
        ps = self.peer_state(obj)
        if self.exact(obj):
            if ps != ALIVE:
                self.may_err(E_CLOSED)
            if ps != DEAD:
                self.may_err(E_WOULDBLOCK)
            return None
        self.may_err(E_CLOSED)
        if ps != DEAD:
            self.may_err(E_WOULDBLOCK)
        if length < MAX_MESSAGE_BYTES or max_count < MAX_MESSAGE_DESCRIPTORS:
            self.may_err(E_BUFFER)
        self.may_ok(0, MAXINT)
        return None

    def op_wait_any(self):
        k = self.rng.below(16)
        if k < 12:
            count = 1 + self.rng.below(4)
        elif k == 12:
            count = WAIT_ANY_MAX
        elif k == 13:
            count = 1 + self.rng.below(WAIT_ANY_MAX)
        elif k == 14:
            count = -self.rng.below(3)
        else:
            count = WAIT_ANY_MAX + 1 + self.rng.below(1 << 40)
        descs = self.buf
        k = self.rng.below(16)
        if k == 0:
            descs = self.bad_address()
        elif k == 1:
            descs = self.arena_page() + self.rng.below(PAGE)
            if 0 < count <= WAIT_ANY_MAX and \
                    self.pointer_state(descs, count * WORD, False) != P_FAULT:
                descs = self.bad_address()
        elif 0 < count <= WAIT_ANY_MAX:
            i = 0
            while i < count:
                k = self.rng.below(16)
                if k < 11:
                    v = self.pick_desc(F_CHANNEL, 8)
                elif k < 13:
                    v = self.pick_desc(F_PROCESS, 8)
                elif k < 15:
                    v = self.pick_desc(F_ANY, 8)
                else:
                    v = self.bad_desc()
                rffi.cast(rffi.LONGP, self.buf)[i] = v
                i += 1
        flags = RECV_NONBLOCK
        if self.rng.chance(32):
            flags = self.rng.word() & ~RECV_NONBLOCK
            if flags == 0:
                flags = 4
        self.expect()
        ends = self.expect_wait_any(descs, count, flags)
        if flags == RECV_NONBLOCK and ends and self.rng.chance(2):
            flags = 0                   # it returns at once: may block
        self.c_wait_any(descs, count, flags)

    def expect_wait_any(self, descs, count, flags):
        """Sets the expectation of wait_any; returns True when it certainly
        returns without waiting (an error, or a descriptor known ready)."""
        if count < 1 or count > WAIT_ANY_MAX or flags & ~RECV_NONBLOCK:
            self.may_err(E_INVALID)
            return True
        p = self.pointer_state(descs, count * WORD, False)
        if p == P_FAULT:
            self.may_err(E_FAULT)
            return True
        if p == P_MAYBE or descs != self.buf:
            self.fail_check('the fuzzer watches descriptors it cannot read')
            return True
        lo = -1
        hi = -1
        i = 0
        while i < count:
            h = self.lookup(rffi.cast(rffi.LONGP, self.buf)[i])
            if h is None:
                self.may_err(E_BADDESC)
                break
            ds = self.dead_state(h)
            if ds != ALIVE:
                self.may_err(E_DEAD)
                if ds == DEAD:
                    break
            obj = h.obj
            if obj.kind == KIND_MEMORY:
                self.may_err(E_KIND)
                break
            if not (h.rights & RIGHT_WAIT):
                self.may_err(E_RIGHTS)
                break
            ready = MAYBE
            if obj.kind == KIND_CHANNEL:
                ps = self.peer_state(obj)
                if len(obj.queue) > 0 or ps == DEAD:
                    ready = ALIVE
                elif self.exact(obj) and ps == ALIVE:
                    ready = DEAD
            elif obj.is_self:
                ready = DEAD
            elif obj.exited or obj.exit_known:
                ready = ALIVE
            if ready != DEAD:
                if lo < 0:
                    lo = i
                hi = i
            if ready == ALIVE:
                break
            i += 1
        if lo >= 0:
            self.may_ok(lo, hi)
        if i >= count:
            self.may_err(E_WOULDBLOCK)
            return False
        return True

    def op_flood(self):
        """Fills a queue only I use to MAX_QUEUED_MESSAGES: the next send
        gives E_WOULDBLOCK."""
        h = self.pick_mine(F_CHANNEL)
        if h is None or self.dead_state(h) != ALIVE or not (h.rights & RIGHT_WRITE) or \
                h.obj.peer is None or not self.exact(h.obj.peer) or \
                self.known_messages + MAX_QUEUED_MESSAGES > MAX_KNOWN_MESSAGES:
            return
        target = h.obj.peer
        while len(target.queue) < MAX_QUEUED_MESSAGES and not self.failed:
            length = self.rng.below(16)
            tag = self.rng.below(256)
            self.fill_pattern(tag, length)
            if self.send(h.value, h, self.data_ptr, length, tag, self.buf, 0) != 0:
                return
        self.send(h.value, h, self.data_ptr, 0, -1, self.buf, 0)

    def op_cycle(self):
        """Makes a channel or two and sends their endpoints through each
        other: a garbage cycle once I let go (or at once)."""
        if len(self.held) + 4 > MAX_HELD or self.flight_items + 2 > MAX_FLIGHT or \
                self.known_messages + 2 > MAX_KNOWN_MESSAGES:
            return
        ab = self.create_channel(CHANNEL_RIGHTS, self.buf)
        if len(ab) < 2:
            return
        k = self.rng.below(4)
        if k == 0:
            # b into its own queue: b dies at once, a's peer is gone
            rffi.cast(rffi.LONGP, self.buf)[0] = ab[1].value
            self.send(ab[0].value, ab[0], self.data_ptr, 0, -1, self.buf, 1)
            return
        if k == 1:
            # a into b's queue and b into a's: a pair that holds itself
            rffi.cast(rffi.LONGP, self.buf)[0] = ab[0].value
            self.send(ab[0].value, ab[0], self.data_ptr, 0, -1, self.buf, 1)
            rffi.cast(rffi.LONGP, self.buf)[0] = ab[1].value
            self.send(ab[1].value, ab[1], self.data_ptr, 0, -1, self.buf, 1)
            return
        cd = self.create_channel(CHANNEL_RIGHTS, self.buf)
        if len(cd) < 2:
            return
        # d waits in b's queue, b in d's; a and c stay mine (until released)
        rffi.cast(rffi.LONGP, self.buf)[0] = cd[1].value
        self.send(ab[0].value, ab[0], self.data_ptr, 0, -1, self.buf, 1)
        rffi.cast(rffi.LONGP, self.buf)[0] = ab[1].value
        self.send(cd[0].value, cd[0], self.data_ptr, 0, -1, self.buf, 1)
        if k == 3 and not self.failed:
            for end in [ab[0], cd[0]]:
                self.expect()
                self.may_ok(0, 0)
                if self.c_release(end.value) == 0:
                    self.released(end)

    def op_channel_call(self):
        """channel_call with arguments refused before anything is sent (it
        could otherwise block for ever): exactly the first error."""
        k = self.rng.below(6)
        ep = self.pick_desc(F_CHANNEL, 8)
        length = self.rng.below(64)
        reply_length = self.rng.below(64)
        buf = self.data_ptr
        reply = self.buf
        self.expect()
        if k == 0:
            length = -1 - self.rng.below(1 << 40)
            self.may_err(E_INVALID)
        elif k == 1:
            reply_length = -1 - self.rng.below(1 << 40)
            self.may_err(E_INVALID)
        elif k == 2:
            length = MAX_MESSAGE_BYTES + 1 + self.rng.below(1 << 40)
            self.may_err(E_LIMIT)
        elif k == 3:
            buf = self.bad_address()
            if length == 0:
                length = 8
            self.may_err(E_FAULT)
        elif k == 4:
            reply = self.bad_address()
            if reply_length == 0:
                reply_length = 8
            self.may_err(E_FAULT)
        else:
            ep = self.bad_desc()
            self.may_err(E_BADDESC)
        self.c_channel_call(ep, buf, length, reply, reply_length)

    def op_channel_call_regs(self):
        """channel_call_regs refused before anything is sent (it could
        otherwise block for ever): a length outside 0..32, or not a
        descriptor of mine; random words (no pointer: nothing to fault)."""
        ep = self.pick_desc(F_CHANNEL, 8)
        length = self.rng.below(REGS_BYTES + 1)
        self.expect()
        k = self.rng.below(3)
        if k == 0:
            length = -1 - self.rng.below(1 << 40)
            self.may_err(E_INVALID)
        elif k == 1:
            length = REGS_BYTES + 1 + self.rng.below(1 << 40)
            self.may_err(E_INVALID)
        else:
            ep = self.bad_desc()
            self.may_err(E_BADDESC)
        self.c_channel_call_regs(ep, length, self.rng.word(), self.rng.word(),
                                 self.rng.word(), self.rng.word())

    def channel_step(self):
        k = self.rng.below(100)
        if k < 2:
            self.op_channel_call()
        elif k < 3:
            self.op_channel_call_regs()
        elif k < 10:
            self.op_channel_create()
        elif k < 42:
            self.op_channel_send()
        elif k < 78:
            self.op_channel_recv()
        elif k < 88:
            self.op_wait_any()
        elif k < 89:
            self.op_flood()
        elif k < 92:
            self.op_cycle()
        else:
            self.op_describe_channel()

    def op_describe_channel(self):
        h = self.pick_mine(F_CHANNEL)
        if h is None:
            return
        self.expect()
        self.may_ok(0, 0)
        if self.c_describe(h.value, self.buf) == 0 and not self.failed:
            self.check_description(h, self.buf)

    # -------------------------------------------------------- spawn and wait

    def can_spawn(self):
        return self.depth < MAX_DEPTH and self.allowance >= 1 and \
            self.live_children < MAX_LIVE_CHILDREN and \
            self.budget - self.calls >= 4 * MIN_CHILD_CALLS and self.room(0) and \
            len(self.held) + 2 < MAX_HELD

    def op_spawn(self):
        if self.can_spawn() and self.rng.chance(3):
            self.spawn_worker()
            return
        if self.allowance >= 1 and self.room(0) and self.rng.chance(8):
            self.spawn_probe()
            return
        image = process.IMAGE
        descs = self.buf
        count = 0
        args = self.idle_ptr
        args_length = self.idle_length
        k = self.rng.below(13)
        if k == 0:
            count = self.rng.word()
            if 0 <= count <= MAX_PASSED:
                count = MAX_PASSED + 1 + count
        elif k == 1:
            args_length = -1 - self.rng.below(1 << 40)
        elif k == 2:
            args_length = MAX_ARGS_LENGTH + 1 + self.rng.below(1 << 40)
        elif k == 3:
            descs = self.bad_address()
            count = self.rng.below(MAX_PASSED + 1)
        elif k == 4:
            args = self.bad_address()
            args_length = self.rng.below(MAX_ARGS_LENGTH + 1)
        elif k == 5:
            image = self.bad_desc()
        elif k == 6:
            image = self.pick_desc(F_PROCESS, 8)
        elif k == 7:
            image = self.pick_desc(F_NO_READ, 8)
        elif k == 8:
            image = self.pick_desc(F_EXEC_IMAGE, 8)
        else:
            count = 1 + self.rng.below(3)
            i = 0
            while i < count:
                v = self.pick_desc(F_MOVABLE, 8)
                h = self.picked
                if h is None or self.dead_state(h) != ALIVE:
                    v = self.bad_desc()
                rffi.cast(rffi.LONGP, descs)[i] = v
                i += 1
            bad = self.rng.below(count)
            if k == 9:
                v = self.bad_desc()
            elif k == 10:
                v = self.pick_desc(F_NO_TRANSFER, 8)
            elif k == 11:
                if count == 1:
                    count = 2
                    rffi.cast(rffi.LONGP, descs)[1] = self.bad_desc()
                v = rffi.cast(rffi.LONGP, descs)[0]
                bad = count - 1
            else:
                v = self.pick_desc(F_ANY, 8)
                h = self.picked
                if h is None or self.dead_state(h) != DEAD:
                    v = self.bad_desc()
            rffi.cast(rffi.LONGP, descs)[bad] = v
        self.expect_spawn(image, descs, count, args, args_length)
        if self.x_ok:
            # never start a process by chance: make this spawn fail for sure
            image = self.bad_desc()
            self.expect_spawn(image, descs, count, args, args_length)
        r = self.c_spawn(image, descs, count, args, args_length)
        if r >= 0:
            api.sys_wait(r)
            api.sys_release(r)

    def expect_spawn(self, image, descs, count, args, args_length):
        """Sets the expectation of spawn (docs/abi.md: the errors in order)."""
        self.expect()
        if count < 0 or count > MAX_PASSED or args_length < 0:
            self.may_err(E_INVALID)
            return
        if args_length > MAX_ARGS_LENGTH:
            self.may_err(E_LIMIT)
            return
        for p in [self.pointer_state(descs, count * WORD, False),
                  self.pointer_state(args, args_length, False)]:
            if p == P_FAULT:
                self.may_err(E_FAULT)
                return
            if p == P_MAYBE:
                self.may_err(E_FAULT)
        h = self.lookup(image)
        if not self.live_gate(h):
            return
        if h.obj.kind != KIND_MEMORY:
            self.may_err(E_KIND)
            return
        if not (h.rights & RIGHT_READ):
            self.may_err(E_RIGHTS)
            return
        if self.pointer_state(descs, count * WORD, False) != P_OK:
            return                              # the model cannot read them
        i = 0
        while i < count:
            v = rffi.cast(rffi.LONGP, descs)[i]
            p = self.lookup(v)
            if not self.live_gate(p):
                return
            if not (p.rights & RIGHT_TRANSFER):
                self.may_err(E_RIGHTS)
                return
            j = 0
            while j < i:
                if rffi.cast(rffi.LONGP, descs)[j] == v:
                    self.may_err(E_INVALID)
                    return
                j += 1
            i += 1
        if not h.obj.is_image:
            self.may_err(E_NOEXEC)
            return
        self.may_ok(SLOTS, MAXINT)

    def spawn_program(self, argv, passed):
        """Starts `fuzz worker ...` with the descriptors passed (all mine,
        alive, movable); returns the child's Held or None."""
        block = '\x00'.join(argv) + '\x00'
        i = 0
        while i < len(passed):
            rffi.cast(rffi.LONGP, self.buf)[i] = passed[i].value
            i += 1
        args = rffi.str2charp(block)
        args_ptr = rffi.cast(lltype.Signed, args)
        self.expect()
        self.may_ok(SLOTS, MAXINT)
        r = self.c_spawn(process.IMAGE, self.buf, len(passed), args_ptr, len(block))
        rffi.free_charp(args)
        if r < 0 or self.failed:
            return None
        for h in passed:
            self.moved_away(h)
        self.sweep()
        obj = Obj(KIND_PROCESS, 0, False)
        obj.is_child = True             # (it may move descriptors to itself elsewhere)
        child = self.add(r, obj, PROCESS_RIGHTS, True, 0)
        child.waitable = True
        self.live_children += 1
        return child

    def spawn_worker(self):
        self.expect()
        self.may_ok(SLOTS, MAXINT)
        image = self.c_clone(process.IMAGE, process.IMAGE_RIGHTS)
        if image < 0:
            return
        image_obj = self.lookup(process.IMAGE).obj
        passed = [self.add(image, image_obj, process.IMAGE_RIGHTS, True, 0)]
        self.expect()
        self.may_ok(SLOTS, MAXINT)
        me = self.c_self(GIVE_RIGHTS)
        if me < 0:
            return
        passed.append(self.add(me, self.self_obj, GIVE_RIGHTS, True, 0))
        if self.rng.chance(2) and len(self.held) + 2 <= MAX_HELD:
            # a channel to the child: I keep one end
            ends = self.create_channel(CHANNEL_RIGHTS, self.buf)
            if len(ends) == 2:
                passed.append(ends[self.rng.below(2)])
        extra = self.rng.below(4)
        while extra > 0:
            h = self.pick_mine(F_MOVABLE)
            if h is not None and self.dead_state(h) == ALIVE and h not in passed:
                passed.append(h)
            extra -= 1
        self.spawned += 1
        calls = (self.budget - self.calls) // 3
        allowance = (self.allowance - 1) // 2
        name = '%s.%d' % (self.name, self.spawned)
        seed = derive_seed(self.seed, self.spawned)
        argv = ['fuzz', 'worker', name, str(seed), str(calls), str(self.depth + 1),
                str(len(passed)), str(self.topseed), str(allowance)]
        if self.spawn_program(argv, passed) is not None:
            self.budget -= calls
            self.allowance -= 1 + allowance

    def spawn_probe(self):
        """Starts `fuzz probe HOW` and checks that it died of a page fault at
        PROBE_ADDRESS: the page it read after its mapping went."""
        how = self.rng.below(PROBE_KINDS)
        block = 'fuzz\x00probe\x00%d\x00' % how
        args = rffi.str2charp(block)
        self.expect()
        self.may_ok(SLOTS, MAXINT)
        r = self.c_spawn(process.IMAGE, self.buf, 0, rffi.cast(lltype.Signed, args), len(block))
        rffi.free_charp(args)
        if r < 0 or self.failed:
            return
        self.allowance -= 1
        self.child_processes += 1
        obj = Obj(KIND_PROCESS, 0, False)
        probe = self.add(r, obj, PROCESS_RIGHTS, True, 0)
        self.expect()
        self.may_ok(PAGE_FAULT_EXIT, PAGE_FAULT_EXIT)
        code = self.c_wait(r)
        self.expect()
        self.may_ok(0, 0)
        if self.c_describe(r, self.buf) == 0 and code == PAGE_FAULT_EXIT:
            fault = self.read_word(self.buf, 10)
            if fault != PROBE_ADDRESS or self.read_word(self.buf, 8) != STATE_EXITED:
                self.fail_check('the %s probe died at %s, not %s' % (
                    PROBE_NAMES[how], hex_word(fault), hex_word(PROBE_ADDRESS)))
        elif code == 0:
            self.fail_check('after its mapping went (%s) the probe still read the page'
                            % PROBE_NAMES[how])
        self.expect()
        self.may_ok(0, 0)
        if self.c_release(r) == 0:
            self.released(probe)

    def note_exit(self, obj, code):
        """A child exited with code (its wait returned it)."""
        if obj.counted:
            return
        obj.counted = True
        obj.exited = True
        obj.exit_known = True
        obj.exit_code = code
        self.live_children -= 1
        if code & 0xff != CODE_OK:
            self.fail_check('a child exited with %d' % code)
            return
        self.child_calls += (code >> CODE_CALLS) & CALLS_MASK
        self.channel_calls += code >> CODE_CHANNEL
        self.child_processes += (code >> CODE_PROCESSES) & 0xff

    def op_wait(self):
        k = self.rng.below(10)
        if k == 0 and self.rng.chance(4):
            value = self.pick_desc(F_CHILD, 8)
        elif k < 4:
            value = self.pick_desc(F_SELF, 8)
        elif k < 7:
            value = self.pick_desc(F_WAIT_SAFE, 8)
        else:
            value = self.bad_desc()
            self.picked = None
        h = self.picked
        self.expect()
        if h is not None and h.obj.kind != KIND_PROCESS:
            self.may_err(E_KIND)
        elif self.live_gate(h):
            if not (h.rights & RIGHT_WAIT):
                self.may_err(E_RIGHTS)
            elif h.obj.is_self:
                self.may_err(E_INVALID)
            elif h.obj.exit_known:
                self.may_ok(h.obj.exit_code, h.obj.exit_code)
            else:
                self.may_ok(0, MAXINT)
        r = self.c_wait(value)
        self.learn_dead(h, r)
        if r >= 0 and h is not None and h.obj.is_child and not self.failed:
            self.note_exit(h.obj, r)

    def touch(self):
        """Writes a word through a mapping of an object only I hold and reads
        it back through every mapping of that page; a fresh object reads 0."""
        m = self.pick_mapping(True, PROT_WRITE)
        if m is None or m.held.obj.shared:
            return
        obj = m.held.obj
        page = self.rng.below(m.pages)
        offset = self.rng.below(PAGE // WORD) * WORD
        addr = m.start + page * PAGE + offset
        if not obj.written and self.read_word(addr, 0) != 0:
            self.fail_check('a fresh object reads %s at %s' % (
                hex_word(self.read_word(addr, 0)), hex_word(addr)))
            return
        value = self.rng.word()
        if value & 0xffffffff == ELF_MAGIC:
            value += 1
        rffi.cast(rffi.LONGP, addr)[0] = value
        obj.written = True
        for other in self.maps:
            if other.held.obj is obj and self.dead_state(other.held) == ALIVE:
                page_in_object = m.first + page
                if other.first <= page_in_object < other.first + other.pages:
                    there = other.start + (page_in_object - other.first) * PAGE + offset
                    if self.read_word(there, 0) != value:
                        self.fail_check('wrote %s at %s, %s reads %s' % (
                            hex_word(value), hex_word(addr), hex_word(there),
                            hex_word(self.read_word(there, 0))))
                        return

    def clone_of(self, h, rights):
        """Checked clone of my live descriptor h; returns the new Held, or
        None."""
        self.expect()
        self.may_ok(SLOTS, MAXINT)
        r = self.c_clone(h.value, rights)
        if r < 0 or self.failed:
            return None
        return self.add(r, h.obj, rights, h.strong, h.expiry)

    # -------------------------------------------------------- the end

    def wait_children(self):
        """Waits for every child not waited for yet."""
        for h in self.held:
            if h.waitable and not h.obj.counted:
                if self.failed:
                    code = api.sys_wait(h.value)
                    h.obj.counted = True
                    continue
                self.expect()
                self.may_ok(0, MAXINT)
                code = self.c_wait(h.value)
                if code >= 0:
                    self.note_exit(h.obj, code)

    def release_all(self, chance):
        """Releases (checked) each descriptor but the image, once in chance."""
        for h in self.held[:]:
            if not h.protected and not self.failed and self.rng.chance(chance):
                self.expect()
                self.may_ok(0, 0)
                if self.c_release(h.value) == 0:
                    self.released(h)

    def exit_code(self):
        if self.failed:
            return EXIT_FAILED
        return (self.channel_calls << CODE_CHANNEL) | \
            ((self.calls + self.child_calls) << CODE_CALLS) | \
            ((1 + self.child_processes) << CODE_PROCESSES) | CODE_OK


# ------------------------------------------------------------ the programs

def run_probe(how):
    """Maps a page at PROBE_ADDRESS, uses it, takes the mapping away as how
    says and reads the page again: the read must kill it (exit 142).
    Returns 0 when the read worked (a kernel bug), 1 when a call failed."""
    page = PROBE_ADDRESS & ~PAGE_MASK
    rights = RIGHT_READ | RIGHT_WRITE | RIGHT_MAP | RIGHT_BORROW | RIGHT_TRANSFER
    mem = api.sys_allocate(PAGE, rights)
    through = mem
    if how == PROBE_EXPIRY:
        through = api.sys_borrow(mem, 2)
    elif how == PROBE_DEATH:
        through = api.sys_borrow(mem, 0)
    if mem < 0 or through < 0 or \
            api.sys_map(through, page, 0, PAGE, PROT_READ | PROT_WRITE) != 0:
        return EXIT_FAILED
    word = rffi.cast(rffi.LONGP, PROBE_ADDRESS)
    word[0] = 42
    status = 0
    if how == PROBE_UNMAP:
        status = api.sys_unmap(page, PAGE) - 1
    elif how == PROBE_RELEASE:
        status = api.sys_release(mem)
    elif how == PROBE_TRANSFER:
        me = api.sys_self(RIGHT_GIVE)
        status = api.sys_transfer(mem, me)
    elif how == PROBE_DEATH:
        status = api.sys_release(mem)
    else:
        # keep the page in use until the timer expires the lease under it
        out = lltype.malloc(rffi.LONGP.TO, DESCRIPTION_WORDS, flavor='raw')
        api.sys_describe(through, rffi.cast(lltype.Signed, out))
        expiry = out[6]
        lltype.free(out, flavor='raw')
        while api.sys_clock() < expiry:
            if word[0] != 42:
                return EXIT_FAILED
    if status < 0:
        return EXIT_FAILED
    if word[0] != 42:
        return EXIT_FAILED
    return 0


def run_worker(argv):
    if len(argv) < 9:
        api.write('fuzz: worker with %d arguments\n' % len(argv))
        return EXIT_FAILED
    f = Fuzzer(argv[2], int(argv[3]), int(argv[7]), int(argv[4]), int(argv[5]),
               int(argv[8]))
    f.start()
    while f.calls < f.budget and not f.failed:
        f.step()
    f.wait_children()
    f.release_all(2)
    code = f.exit_code()
    if STATS and f.depth == 0:
        keys = f.stats.keys()

        line = 'STATS %s' % f.name
        for key in keys:
            line += ' | %s %d' % (key, f.stats[key])
        api.write(line + '\n')
    f.free_buffers()
    return code


def run_parent(calls, seed, processes):
    f = Fuzzer('parent', seed, seed, 0, 0, 0)
    before = process.Counters()
    if process.counters(before) != 0:
        api.write('fuzz: FAIL the counters call failed\n')
        return EXIT_FAILED
    f.start()
    f.expect()
    f.may_ok(0, MAXINT)
    t0 = f.c_clock()
    f.expect()
    f.may_ok(SLOTS, MAXINT)
    me = f.add(f.c_self(GIVE_RIGHTS), f.self_obj, GIVE_RIGHTS, True, 0)
    image = f.lookup(process.IMAGE)
    allowance = (limits.MAX_PROCESSES - 6 - processes) // processes
    if allowance > MAX_ALLOWANCE:
        allowance = MAX_ALLOWANCE
    if allowance < 0:
        allowance = 0
    workers = []
    left = None                         # the next worker's end of a channel to the last
    i = 0
    while i < processes and not f.failed:
        share = calls // processes
        if i < calls % processes:
            share += 1
        passed = [f.clone_of(image, process.IMAGE_RIGHTS), f.clone_of(me, GIVE_RIGHTS)]
        if workers:
            passed.append(f.clone_of(workers[-1], GIVE_RIGHTS))
        if left is not None:
            passed.append(left)
            left = None
        if i + 1 < processes:
            ends = f.create_channel(CHANNEL_RIGHTS, f.buf)
            if len(ends) == 2:
                passed.append(ends[0])
                left = ends[1]
        name = 'w%d' % (i + 1)
        argv = ['fuzz', 'worker', name, str(derive_seed(seed, i + 1)), str(share), '0',
                str(len(passed)), str(seed), str(allowance)]
        if f.failed:
            break
        child = f.spawn_program(argv, passed)
        if child is None:
            break
        workers.append(child)
        i += 1
    if len(workers) > 1 and not f.failed:
        # the first worker learns of the last: a transfer between siblings' parent and child
        link = f.clone_of(workers[-1], GIVE_RIGHTS)
        f.expect()
        f.may_ok(SLOTS, MAXINT)
        f.may_err(E_EXITED)
        f.may_err(E_NOSLOTS)
        r = f.c_transfer(link.value, workers[0].value)
        if r >= 0:
            f.moved_away(link)
    f.wait_children()
    t1 = f.c_clock()
    f.scan(True)
    f.release_all(1)
    after = process.Counters()
    if process.counters(after) != 0:
        api.write('fuzz: FAIL the counters call failed\n')
        return EXIT_FAILED
    leaks = process.leaked(before, after)
    total = f.calls + f.child_calls + 2
    ticks = t1 - t0
    if ticks < 1:
        ticks = 1
    api.write('fuzz: %d channel calls (%d%%)\n'
              % (f.channel_calls, f.channel_calls * 100 // total))
    api.write('fuzz: %d calls in %d.%d%d s (%d calls/s), %d processes, seed %d, leaks %s\n'
              % (total, ticks // 100, (ticks // 10) % 10, ticks % 10, total * 100 // ticks,
                 f.child_processes, seed, '0' if not leaks else leaks))
    f.free_buffers()
    if f.failed or leaks:
        return EXIT_FAILED
    return 0


def main(argv):
    if len(argv) > 1 and argv[1] == 'worker':
        return run_worker(argv)
    if len(argv) > 1 and argv[1] == 'idle':
        return IDLE_EXIT
    if len(argv) > 2 and argv[1] == 'probe':
        return run_probe(int(argv[2]))
    calls = DEFAULT_CALLS
    seed = DEFAULT_SEED
    processes = DEFAULT_PROCESSES
    if len(argv) > 1:
        calls = int(argv[1])
    if len(argv) > 2:
        seed = int(argv[2]) & SEED_MASK
    if len(argv) > 3:
        processes = int(argv[3])
    if processes < 1:
        processes = 1
    return run_parent(calls, seed, processes)
