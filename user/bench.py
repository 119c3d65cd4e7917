"""bench: user-mode figures for `make bench` (tools/bench.py), in guest
instructions per operation when run under QEMU with `-icount
shift=0,sleep=off -cpu qemu64` (the TSC then counts retired instructions:
identical run to run), measured as /work/shared/BENCH-FACTS.md says the
Linux and seL4 figures were: N iterations in a tight loop between two
rdtsc, the same loop with an empty body subtracted, a warm-up of N/10
first, the figure the minimum over BATCHES batches; nothing is printed
until every loop is done.

    bench [op...]           the operations named (OPERATIONS), or every one;
                            prints one line per operation,
                            `BENCH <op> <iterations> <instructions per op>`
                            (iterations: N, the loop the figure averages);
                            from the command line: elyz.init=bench:yield:spawn_exit_wait
    bench yield-partner K   (started by bench itself) yields K times

The operations:
    null_syscall        clock (the cheapest call), an inline-asm `syscall`
                        as Linux's getpid was: mov, syscall, loop
    null_syscall_nosys  an unknown number (E_NOSYS): entry, dispatch, exit
    yield               yield with no other process runnable
    yield_round_trip    yield while a second process (bench yield-partner)
                        yields in a loop: per round trip, i.e. two yields
                        and two switches (the process is alone otherwise:
                        init waits)
    spawn_exit_wait     spawn(`true`, a program returning 0 at once, from
                        the user image) + wait + release of its descriptor
    alloc_map_touch_release_4k       allocate(4 KiB) + map + one store +
                        release (which unmaps), at a place where no other
                        mapping keeps the page tables (a page directory
                        and a page table are made and freed each time)
    alloc_map_touch_release_4k_warm  the same beside a mapping (1 MiB
                        higher) that keeps them
    clone_release       clone of a 4 KiB MemoryObject descriptor (its
                        rights less RIGHT_CLONE) + release of the clone
                        (Linux: dup + close)
    map_unmap_4k        map + unmap of an existing 4 KiB MemoryObject
                        descriptor (touched once before) at MEMORY_VA, beside
                        a mapping that keeps the page tables (as seL4's
                        Page_Map + Page_Unmap, whose page table is an object
                        of its own)
    empty_loop_x1000    the subtracted loop, in thousandths of an
                        instruction per iteration (N = 10 * SYSCALL_N)

Before each batch the program sleeps one tick (not for yield_round_trip:
the partner would run alone), so a batch shorter than a timer period
(10^7 instructions at 100 Hz) is not interrupted.  An operation that
failed is reported on a `bench: ... failed` line (its figure is then
wrong) and the program returns 1.

The one piece of C: three static inline functions (rdtsc, a raw
`syscall` with no argument, a compiler barrier for the empty loop) in
this module's ExternalCompilationInfo, as elyz/rlib_kernel/cpu.py declares
the kernel's rdtsc.
"""

from rpython.rlib.objectmodel import specialize
from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

from elyz.abi import syscalls
from elyz.abi.rights import (CHANNEL_RIGHTS, PROT_READ, PROT_WRITE, RIGHT_CLONE, RIGHT_MAP,
                             RIGHT_READ, RIGHT_TRANSFER, RIGHT_WRITE)
from user.lib import api, ipc, process

BATCHES = 16
SYSCALL_N = 1000
YIELD_N = 1000
SPAWN_N = 4
MEMORY_N = 200
NOSYS = 1000                    # no system call has this number
PAGE = 4096
MEMORY_VA = 0x60000000          # alone in its 1 GiB: a PD and a PT made and freed
NEIGHBOUR_VA = 0x60100000       # same page table as MEMORY_VA (the warm case)
MEMORY_RIGHTS = RIGHT_READ | RIGHT_WRITE | RIGHT_MAP
MEMORY_PROT = PROT_READ | PROT_WRITE
CLONABLE_RIGHTS = MEMORY_RIGHTS | RIGHT_CLONE     # the clone itself gets MEMORY_RIGHTS
PARTNER = 'yield-partner'
PARTNER_SLACK = 1000            # yields the partner makes beyond the parent's
CLONE_N = 1000
OPERATIONS = ['null_syscall', 'null_syscall_nosys', 'yield', 'yield_round_trip',
              'spawn_exit_wait', 'alloc_map_touch_release_4k',
              'alloc_map_touch_release_4k_warm', 'clone_release', 'map_unmap_4k',
              'channel_round_trip', 'channel_call_round_trip', 'channel_call_regs_round_trip',
              'channel_round_trip_desc',
              'collect_ring_100', 'empty_loop_x1000']
IPC_PARTNER = 'ipc-partner'
IPC_N = 1000
IPC_BUFFER = 1024
RING = 100

_ECI = ExternalCompilationInfo(post_include_bits=["""
static inline long elyz_bench_rdtsc(void)
{ unsigned int lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return (long)(((unsigned long)hi << 32) | lo); }
static inline long elyz_bench_syscall0(long number)
{ long r; __asm__ volatile("syscall" : "=a"(r) : "a"(number) : "rcx", "r11", "memory"); return r; }
static inline void elyz_bench_barrier(void) { __asm__ volatile("" ::: "memory"); }
"""])


class _Counter(object):
    def __init__(self):
        self.value = 0


_fake_tsc = _Counter()


def _tick():
    _fake_tsc.value += 1000
    return _fake_tsc.value


def _nothing():
    pass


def _no_kernel(number):
    raise api.NoKernel("syscall %d: untranslated, there is no kernel" % number)


_rdtsc = rffi.llexternal('elyz_bench_rdtsc', [], lltype.Signed, compilation_info=_ECI,
                         _nowrapper=True, _callable=_tick)
_syscall0 = rffi.llexternal('elyz_bench_syscall0', [lltype.Signed], lltype.Signed,
                            compilation_info=_ECI, _nowrapper=True, _callable=_no_kernel)
_barrier = rffi.llexternal('elyz_bench_barrier', [], lltype.Void, compilation_info=_ECI,
                           _nowrapper=True, _callable=_nothing)


class _State(object):
    def __init__(self):
        self.errors = 0
        self.first_error = ''
        self.lines = []
        self.memory = -1            # the descriptor clone_release and map_unmap_4k use
        self.channel = -1           # the client end of the channel loops
        self.raw = lltype.nullptr(rffi.CCHARP.TO)   # IPC_BUFFER bytes


_state = _State()


def _failed(what, code):
    if _state.errors == 0:
        _state.first_error = "bench: %s failed with %d\n" % (what, code)
    _state.errors += 1


# ------------------------------------------------------------ the loops
# Each runs n iterations between two rdtsc and returns the difference.

def _loop_empty(n):
    start = _rdtsc()
    i = 0
    while i < n:
        _barrier()
        i += 1
    return _rdtsc() - start


def _loop_clock(n):
    start = _rdtsc()
    i = 0
    while i < n:
        _syscall0(syscalls.SYS_CLOCK)
        i += 1
    return _rdtsc() - start


def _loop_nosys(n):
    start = _rdtsc()
    i = 0
    while i < n:
        _syscall0(NOSYS)
        i += 1
    return _rdtsc() - start


def _loop_yield(n):
    start = _rdtsc()
    i = 0
    while i < n:
        _syscall0(syscalls.SYS_YIELD)
        i += 1
    return _rdtsc() - start


def _loop_spawn(n):
    start = _rdtsc()
    i = 0
    while i < n:
        child = process.spawn(process.IMAGE, ['true'], [])
        if child < 0:
            _failed('spawn', child)
        else:
            code = process.wait(child)
            if code != 0:
                _failed('true', code)
            api.sys_release(child)
        i += 1
    return _rdtsc() - start


def _loop_memory(n):
    start = _rdtsc()
    i = 0
    while i < n:
        desc = api.sys_allocate(PAGE, MEMORY_RIGHTS)
        status = api.sys_map(desc, MEMORY_VA, 0, PAGE, MEMORY_PROT)
        if status != 0:
            _failed('allocate + map', status)
            if desc >= 0:
                api.sys_release(desc)
            return 0
        rffi.cast(rffi.LONGP, MEMORY_VA)[0] = i
        api.sys_release(desc)
        i += 1
    return _rdtsc() - start


def _loop_clone(n):
    desc = _state.memory
    start = _rdtsc()
    i = 0
    while i < n:
        clone = api.sys_clone(desc, MEMORY_RIGHTS)
        if clone < 0:
            _failed('clone', clone)
            return 0
        api.sys_release(clone)
        i += 1
    return _rdtsc() - start


def _loop_map_unmap(n):
    desc = _state.memory
    start = _rdtsc()
    i = 0
    while i < n:
        status = api.sys_map(desc, MEMORY_VA, 0, PAGE, MEMORY_PROT)
        if status != 0:
            _failed('map', status)
            return 0
        api.sys_unmap(MEMORY_VA, PAGE)
        i += 1
    return _rdtsc() - start


# ------------------------------------------------------------ channels
# The client end is _state.channel; the partner (bench ipc-partner MODE K)
# answers K requests on the other end.  _state.raw: a raw buffer of
# IPC_BUFFER bytes (message bytes at 0, descriptor values at 512).

def _raw():
    return rffi.cast(lltype.Signed, _state.raw)


def _loop_channel(n):
    """send 1 byte + blocking receive of the 1-byte answer."""
    end = _state.channel
    buf = _raw()
    start = _rdtsc()
    i = 0
    while i < n:
        api.sys_channel_send(end, buf, 1, buf + 512, 0)
        result = api.sys_channel_recv(end, buf, 64, buf + 512, 0, 0)
        if result != 1:
            _failed('channel round trip', result)
            return 0
        i += 1
    return _rdtsc() - start


def _loop_channel_call(n):
    """channel_call of 1 byte, answered by 1 byte."""
    end = _state.channel
    buf = _raw()
    start = _rdtsc()
    i = 0
    while i < n:
        result = api.sys_channel_call(end, buf, 1, buf + 64, 64)
        if result != 1:
            _failed('channel_call round trip', result)
            return 0
        i += 1
    return _rdtsc() - start


def _loop_channel_call_regs(n):
    """channel_call_regs of 1 byte (in a register), answered by 1 byte."""
    end = _state.channel
    words = _raw() + 64
    start = _rdtsc()
    i = 0
    while i < n:
        result = ipc.raw_call_regs(end, 1, words)
        if result != 1:
            _failed('channel_call_regs round trip', result)
            return 0
        i += 1
    return _rdtsc() - start


def _loop_channel_desc(n):
    """send 1 byte and a descriptor + receive them back."""
    end = _state.channel
    buf = _raw()
    start = _rdtsc()
    i = 0
    while i < n:
        api.sys_channel_send(end, buf, 1, buf + 512, 1)
        result = api.sys_channel_recv(end, buf, 64, buf + 512, 1, 0)
        if result != 1 + (1 << 32):
            _failed('channel round trip with a descriptor', result)
            return 0
        i += 1
    return _rdtsc() - start


def _ipc_partner(argv):
    """bench ipc-partner MODE K: answers K requests on its first descriptor:
    MODE send (receive + send back what came, descriptors too), call
    (the first by receive, the others by channel_call, the last answer by
    send) or callregs (the same with channel_call_regs)."""
    mode = argv[2]
    count = int(argv[3])
    end = process.first_descriptor(0)
    raw = lltype.malloc(rffi.CCHARP.TO, IPC_BUFFER, flavor='raw')
    buf = rffi.cast(lltype.Signed, raw)
    words = rffi.cast(rffi.LONGP, buf + 512)
    i = 0
    if mode == 'call' or mode == 'callregs':
        if count > 0 and api.sys_channel_recv(end, buf, 64, buf + 512, 0, 0) != 1:
            return 3
        i = 1
        if mode == 'call':
            while i < count:
                if api.sys_channel_call(end, buf, 1, buf + 64, 64) != 1:
                    return 4
                i += 1
        while i < count:
            if ipc.raw_call_regs(end, 1, buf + 64) != 1:
                return 4
            i += 1
        if count > 0:
            api.sys_channel_send(end, buf, 1, buf + 512, 0)
        return 0
    while i < count:
        result = api.sys_channel_recv(end, buf, 64, buf + 512, 16, 0)
        if result < 0:
            return 5
        descs = result >> 32
        api.sys_channel_send(end, buf, result & 0xffffffff, buf + 512, descs)
        i += 1
    words[0] = 0
    return 0


@specialize.arg(1, 2)
def _bench_channel(name, loop, mode, n):
    """Measures loop against a partner in another process (a channel
    between them; for the descriptor loop, a page descriptor travels)."""
    ends = []
    if ipc.create(CHANNEL_RIGHTS, ends) != 0:
        _failed('channel_create for ' + name, -1)
        return
    total = max(n // 10, 1) + BATCHES * n
    partner = process.spawn(process.IMAGE, ['bench', IPC_PARTNER, mode, str(total)],
                            [ends[1]])
    if partner < 0:
        _failed('spawn of the ipc partner', partner)
        api.sys_release(ends[0])
        return
    _state.channel = ends[0]
    words = rffi.cast(rffi.LONGP, _raw() + 512)
    words[0] = api.sys_allocate(PAGE, MEMORY_RIGHTS | RIGHT_TRANSFER)
    _measure(name, loop, n, sleep=False)        # the descriptor loop moves words[0]
    code = process.wait(partner)
    if code != 0:
        _failed('the ipc partner', code)
    api.sys_release(partner)
    api.sys_release(words[0])
    api.sys_release(ends[0])
    _state.channel = -1
    _state.memory = -1


def _bench_collect_ring():
    """The send that closes a ring of RING endpoints (each queued in the
    next one's queue) and so makes it garbage: the collector frees all of
    them in that call.  Minimum over BATCHES rings, minus a plain send."""
    best = -1
    plain = -1
    buf = _raw()
    words = rffi.cast(rffi.LONGP, buf + 512)
    b = 0
    while b < BATCHES:
        ends = []
        k = 0
        while k < RING:
            ipc.create(CHANNEL_RIGHTS, ends)
            k += 1
        k = 0
        while k < RING - 1:
            words[0] = ends[2 * (k + 1) + 1]
            api.sys_channel_send(ends[2 * k], buf, 0, buf + 512, 1)
            k += 1
        words[0] = ends[1]
        start = _rdtsc()
        status = api.sys_channel_send(ends[2 * (RING - 1)], buf, 0, buf + 512, 1)
        spent = _rdtsc() - start
        if status != 0:
            _failed('the send that closes the ring', status)
        start = _rdtsc()
        api.sys_channel_send(ends[0], buf, 0, buf + 512, 0)     # to a closed peer
        plain_spent = _rdtsc() - start
        if best < 0 or spent < best:
            best = spent
        if plain < 0 or plain_spent < plain:
            plain = plain_spent
        k = 0
        while k < RING:
            api.sys_release(ends[2 * k])
            k += 1
        b += 1
    _state.lines.append("BENCH collect_ring_100 %d %d\n" % (BATCHES, best - plain))


@specialize.arg(0)
def _best(loop, n, batches, sleep):
    """Returns the least time of batches runs of loop(n), after a warm-up
    of n // 10 (at least 1) iterations."""
    loop(max(n // 10, 1))
    best = -1
    b = 0
    while b < batches:
        if sleep:
            api.sys_sleep(1)
        elapsed = loop(n)
        if best < 0 or elapsed < best:
            best = elapsed
        b += 1
    return best


@specialize.arg(1)
def _measure(name, loop, n, batches=BATCHES, sleep=True):
    """Times loop against the empty loop; keeps the BENCH line."""
    spent = _best(loop, n, batches, sleep)
    empty = _best(_loop_empty, n, batches, sleep)
    per_op = (spent - empty + n // 2) // n
    _state.lines.append("BENCH %s %d %d\n" % (name, n, per_op))
    return per_op


# ------------------------------------------------------------ the operations

def _bench_yield_round_trip():
    # One partner yield per yield of ours (the first, the warm-up, the
    # batches), and some to spare: a preemption costs the partner one.  What
    # is left it yields alone while we wait for it.
    total = 1 + YIELD_N // 10 + BATCHES * YIELD_N + PARTNER_SLACK
    partner = process.spawn(process.IMAGE, ['bench', PARTNER, str(total)], [])
    if partner < 0:
        _failed('spawn of the yield partner', partner)
        return
    _syscall0(syscalls.SYS_YIELD)               # the partner starts and yields back
    _measure('yield_round_trip', _loop_yield, YIELD_N, sleep=False)
    code = process.wait(partner)
    if code != 0:
        _failed('the yield partner', code)
    api.sys_release(partner)


def _map_neighbour():
    """Allocates a page and maps it at NEIGHBOUR_VA, which keeps MEMORY_VA's
    page tables; returns its descriptor, or -1 (the failure noted)."""
    neighbour = api.sys_allocate(PAGE, MEMORY_RIGHTS)
    status = api.sys_map(neighbour, NEIGHBOUR_VA, 0, PAGE, MEMORY_PROT)
    if status != 0:
        _failed('allocate + map of the neighbour', status)
        if neighbour >= 0:
            api.sys_release(neighbour)
        return -1
    return neighbour


def _bench_memory_warm():
    neighbour = _map_neighbour()
    if neighbour >= 0:
        _measure('alloc_map_touch_release_4k_warm', _loop_memory, MEMORY_N)
        api.sys_release(neighbour)


@specialize.arg(1)
def _with_memory(name, loop, n):
    """Measures loop with _state.memory a 4 KiB MemoryObject, touched
    once and unmapped, beside the neighbour mapping."""
    neighbour = _map_neighbour()
    if neighbour < 0:
        return
    desc = api.sys_allocate(PAGE, CLONABLE_RIGHTS)
    status = api.sys_map(desc, MEMORY_VA, 0, PAGE, MEMORY_PROT)
    if status != 0:
        _failed('allocate + map for ' + name, status)
    else:
        rffi.cast(rffi.LONGP, MEMORY_VA)[0] = 1
        api.sys_unmap(MEMORY_VA, PAGE)
        _state.memory = desc
        _measure(name, loop, n)
        _state.memory = -1
    if desc >= 0:
        api.sys_release(desc)
    api.sys_release(neighbour)


def _partner(argv):
    count = int(argv[2])
    i = 0
    while i < count:
        _syscall0(syscalls.SYS_YIELD)
        i += 1
    return 0


def _wanted(argv, name):
    return len(argv) == 1 or name in argv[1:]


def main(argv):
    if len(argv) == 3 and argv[1] == PARTNER:
        return _partner(argv)
    if len(argv) == 4 and argv[1] == IPC_PARTNER:
        return _ipc_partner(argv)
    _state.raw = lltype.malloc(rffi.CCHARP.TO, IPC_BUFFER, flavor='raw')
    for name in argv[1:]:
        if name not in OPERATIONS:
            api.write("usage: bench [operation...]; operations: %s\n" % ' '.join(OPERATIONS))
            return 2
    if _wanted(argv, 'null_syscall'):
        _measure('null_syscall', _loop_clock, SYSCALL_N)
    if _wanted(argv, 'null_syscall_nosys'):
        _measure('null_syscall_nosys', _loop_nosys, SYSCALL_N)
    if _wanted(argv, 'yield'):
        _measure('yield', _loop_yield, YIELD_N)
    if _wanted(argv, 'yield_round_trip'):
        _bench_yield_round_trip()
    if _wanted(argv, 'spawn_exit_wait'):
        _measure('spawn_exit_wait', _loop_spawn, SPAWN_N)
    if _wanted(argv, 'alloc_map_touch_release_4k'):
        _measure('alloc_map_touch_release_4k', _loop_memory, MEMORY_N)
    if _wanted(argv, 'alloc_map_touch_release_4k_warm'):
        _bench_memory_warm()
    if _wanted(argv, 'clone_release'):
        _with_memory('clone_release', _loop_clone, CLONE_N)
    if _wanted(argv, 'map_unmap_4k'):
        _with_memory('map_unmap_4k', _loop_map_unmap, MEMORY_N)
    if _wanted(argv, 'channel_round_trip'):
        _bench_channel('channel_round_trip', _loop_channel, 'send', IPC_N)
    if _wanted(argv, 'channel_call_round_trip'):
        _bench_channel('channel_call_round_trip', _loop_channel_call, 'call', IPC_N)
    if _wanted(argv, 'channel_call_regs_round_trip'):
        _bench_channel('channel_call_regs_round_trip', _loop_channel_call_regs, 'callregs',
                       IPC_N)
    if _wanted(argv, 'channel_round_trip_desc'):
        _bench_channel('channel_round_trip_desc', _loop_channel_desc, 'send', IPC_N)
    if _wanted(argv, 'collect_ring_100'):
        _bench_collect_ring()
    if _wanted(argv, 'empty_loop_x1000'):
        # The empty loop itself, in thousandths of an instruction per iteration.
        n = SYSCALL_N * 10
        empty = _best(_loop_empty, n, BATCHES, True)
        _state.lines.append("BENCH empty_loop_x1000 %d %d\n" % (n, (empty * 1000) // n))
    for line in _state.lines:
        api.write(line)
    if _state.errors:
        api.write(_state.first_error)
        api.write("bench: %d operations failed\n" % _state.errors)
        return 1
    return 0
