"""System calls: from the trap frame arch/x86_64/syscall.S built to the
kernel API and back.

    dispatch(frame)     decodes the number and arguments (elyz/abi/syscalls.py
                        convention), runs the call for the running process,
                        stores the result in the frame's rax; unknown numbers
                        get E_NOSYS.  Never raises, allocates nothing.
    init() -> 0 or E_NOMEM   the staging buffer (after the heap)
    DEBUG_WRITE_MAX     the most bytes one debug_write takes

Every pointer argument is a user address, checked and copied through
elyz/mm/usercopy.py (E_FAULT); every descriptor argument is looked up in
the caller's own table (elyz/obj/api.py).
"""

from rpython.rlib.objectmodel import specialize, we_are_translated

from elyz.abi import counters, description, syscalls
from elyz.abi.errors import E_FAULT, E_INVALID, E_LIMIT, E_NOMEM, E_NOSYS, E_WOULDBLOCK
from elyz.abi import limits
from elyz.abi.rights import CHANNEL_RIGHTS, RIGHT_WAIT
from elyz.kernel import accounting, sched, spawn
from elyz.lib import clock, log
from elyz.mm import heap, kernel_stacks, usercopy
from elyz.obj import api, channel, process
from elyz.rlib_kernel import cpu, rawmem, thread, trapframe

DEBUG_WRITE_MAX = 4096
DESCRIPTION_WORDS = description.WORDS
COUNTER_WORDS = counters.WORDS
MAX_SLEEP_TICKS = 1 << 40
WORD = 8
PASSED_OFFSET = 0               # spawn's staging: descriptor values, then args
ARGS_OFFSET = 1024
STAGING_SIZE = DEBUG_WRITE_MAX + 1024   # also a message (bytes, then descriptors)
MESSAGE_VALUES_OFFSET = limits.MAX_MESSAGE_BYTES
RECEIVED_LENGTH_MASK = (1 << 32) - 1
RECV_NONBLOCK = 1               # channel_recv and wait_any: E_WOULDBLOCK, never block
WAIT_ANY_MAX = 16               # descriptors one wait_any watches


class _Buffers(object):
    def __init__(self):
        self.staging = 0        # DEBUG_WRITE_MAX bytes in the kernel heap
        self.description = api.Description()
        self.counters = counters.Counters()
        self.pair = api.Pair()
        self.peeked = api.Peeked()
        self.frame = 0          # untranslated: the frame dispatch was given


_buffers = _Buffers()


def init():
    """Allocates the staging buffer; returns 0 or E_NOMEM."""
    _buffers.staging = heap.kernel_heap.malloc(STAGING_SIZE)
    if _buffers.staging == 0:
        return E_NOMEM
    return 0


def _caller():
    return process.get(sched.current())


# ------------------------------------------------------------ the calls
# Each takes the six argument words and returns the result word.

def sys_debug_write(ptr, length, a2, a3, a4, a5):
    if length < 0:
        return E_INVALID
    if length > DEBUG_WRITE_MAX:
        length = DEBUG_WRITE_MAX
    status = usercopy.copy_from_user(_buffers.staging, ptr, length)
    if status < 0:
        return status
    pid = sched.current()
    at_line_start = True
    i = 0
    while i < length:
        c = rawmem.load_u8(_buffers.staging + i)
        if at_line_start:
            log.begin(log.INFO, log.PROCESS)
            log.put('[pid ')
            log.put_int(pid)
            log.put('] ')
            at_line_start = False
        if c == 10:
            log.end()
            at_line_start = True
        else:
            log.put_char(chr(c))
        i += 1
    if not at_line_start:
        log.end()
    return length


def sys_exit(code, a1, a2, a3, a4, a5):
    sched.exit_current(code)
    return 0                                    # never reached


def sys_yield(a0, a1, a2, a3, a4, a5):
    return sched.yield_now()


def sys_sleep(ticks, a1, a2, a3, a4, a5):
    if ticks < 0 or ticks > MAX_SLEEP_TICKS:
        return E_INVALID
    if ticks == 0:
        return sched.yield_now()
    return sched.sleep_until(clock.ticks() + ticks)


def sys_clock(a0, a1, a2, a3, a4, a5):
    return clock.ticks()


def sys_spawn(image, descs, count, args, args_length, a5):
    if count < 0 or count > spawn.MAX_PASSED or args_length < 0:
        return E_INVALID
    if args_length > spawn.MAX_ARGS_LENGTH:
        return E_LIMIT
    staging = _buffers.staging
    status = usercopy.copy_from_user(staging + PASSED_OFFSET, descs, count * WORD)
    if status == 0:
        status = usercopy.copy_from_user(staging + ARGS_OFFSET, args, args_length)
    if status < 0:
        return status
    caller = _caller()
    base = spawn.image_window(caller, image)
    if base == 0:
        return spawn.window_error()
    index = spawn.spawn(caller, base, spawn.image_size(caller, image), staging + PASSED_OFFSET,
                        count, staging + ARGS_OFFSET, args_length)
    spawn.close_window()
    if index < 0:
        return index
    return spawn.spawned_descriptor()


def sys_wait(desc, a1, a2, a3, a4, a5):
    index = api.process_named(_caller(), desc, RIGHT_WAIT)
    if index < 0:
        return index
    if index == sched.current():
        return E_INVALID                        # it would wait for ever
    sched.wait_for(index)
    return process.get(index).exit_code


def sys_self(rights, a1, a2, a3, a4, a5):
    caller = _caller()
    return api.grant(caller, caller, rights, True)


def _words_out_ok(out, words):
    """Returns True when words words at out are in the user half and
    mapped writable (checked before anything is looked up)."""
    return usercopy.user_range_ok(out, words * WORD) and \
        usercopy.pages_ok(out, words * WORD, True)


@specialize.arg(2)
def _copy_words_out(out, record, word, words):
    """Copies words words of record (word(record, i) each) to user address
    out; returns 0 or E_FAULT."""
    staging = _buffers.staging
    i = 0
    while i < words:
        rawmem.store_u64(staging + i * WORD, word(record, i))
        i += 1
    return usercopy.copy_to_user(out, staging, words * WORD)


def sys_counters(out, a1, a2, a3, a4, a5):
    if not _words_out_ok(out, COUNTER_WORDS):
        return E_FAULT
    c = _buffers.counters
    flags = cpu.save_and_disable_interrupts()
    accounting.take(c)
    cpu.restore_interrupts(flags)
    return _copy_words_out(out, c, counters.word, COUNTER_WORDS)


def sys_allocate(size, rights, a2, a3, a4, a5):
    return api.allocate(_caller(), size, rights)


def sys_clone(desc, rights, a2, a3, a4, a5):
    return api.clone(_caller(), desc, rights)


def sys_borrow(desc, duration, a2, a3, a4, a5):
    return api.borrow(_caller(), desc, duration)


def sys_transfer(desc, target, a2, a3, a4, a5):
    return api.transfer(_caller(), desc, target)


def sys_release(desc, a1, a2, a3, a4, a5):
    result = api.release(_caller(), desc)
    _wake_if_events()                           # an endpoint went: its peer's waiters
    return result


def _wake_if_events():
    """Wakes the tasks waiting on channels when an operation made an event
    (a message queued, an endpoint gone)."""
    if api.take_events():
        sched.wake_event_waiters()


def sys_map(desc, vaddr, offset, length, prot, a5):
    return api.map(_caller(), desc, vaddr, offset, length, prot)


def sys_unmap(vaddr, length, a2, a3, a4, a5):
    return api.unmap(_caller(), vaddr, length)


def sys_describe(desc, out, a2, a3, a4, a5):
    if not _words_out_ok(out, DESCRIPTION_WORDS):
        return E_FAULT
    d = _buffers.description
    status = api.describe(_caller(), desc, d)
    if status < 0:
        return status
    return _copy_words_out(out, d, description.word, DESCRIPTION_WORDS)


# ------------------------------------------------------------ channels

def sys_channel_create(rights, out, a2, a3, a4, a5):
    if rights & ~CHANNEL_RIGHTS:
        return E_INVALID
    if not _words_out_ok(out, 2):
        return E_FAULT
    pair = _buffers.pair
    status = api.channel_create(_caller(), rights, pair)
    if status < 0:
        return status
    staging = _buffers.staging
    rawmem.store_u64(staging, pair.first)
    rawmem.store_u64(staging + WORD, pair.second)
    return usercopy.copy_to_user(out, staging, 2 * WORD)


def sys_channel_send(ep, buf, length, descs, count, a5):
    if length < 0 or count < 0 or count > limits.MAX_MESSAGE_DESCRIPTORS:
        return E_INVALID
    if length > limits.MAX_MESSAGE_BYTES:
        return E_LIMIT
    staging = _buffers.staging
    status = usercopy.copy_from_user(staging, buf, length)
    if status == 0:
        status = usercopy.copy_from_user(staging + MESSAGE_VALUES_OFFSET, descs, count * WORD)
    if status < 0:
        return status
    result = api.channel_send(_caller(), ep, staging, length,
                              staging + MESSAGE_VALUES_OFFSET, count)
    _wake_if_events()
    return result


def sys_channel_recv(ep, buf, length, descs, max_count, flags):
    if length < 0 or max_count < 0 or flags & ~RECV_NONBLOCK:
        return E_INVALID
    # The kernel writes at most MAX_MESSAGE_BYTES and MAX_MESSAGE_DESCRIPTORS
    # words: only those must be writable.
    if length > limits.MAX_MESSAGE_BYTES:
        length = limits.MAX_MESSAGE_BYTES
    if max_count > limits.MAX_MESSAGE_DESCRIPTORS:
        max_count = limits.MAX_MESSAGE_DESCRIPTORS
    if not _words_out_ok(descs, max_count) or not usercopy.user_range_ok(buf, length) or \
            (length > 0 and not usercopy.pages_ok(buf, length, True)):
        return E_FAULT
    caller = _caller()
    peeked = _buffers.peeked
    while True:
        status = api.channel_peek(caller, ep, peeked)
        if status != E_WOULDBLOCK or flags & RECV_NONBLOCK:
            break
        sched.wait_events()
    if status < 0:
        return status
    staging = _buffers.staging
    result = api.channel_receive(caller, ep, length, max_count, staging,
                                 staging + MESSAGE_VALUES_OFFSET)
    if result < 0:
        return result
    received = result & RECEIVED_LENGTH_MASK
    count = result >> api.RECEIVED_COUNT_SHIFT
    # The pages were checked writable and nothing ran since: these copies
    # cannot fail.
    usercopy.copy_to_user(buf, staging, received)
    usercopy.copy_to_user(descs, staging + MESSAGE_VALUES_OFFSET, count * WORD)
    return result


_NOT_FAST = -(1 << 62)          # _call_fast: take the general path (no result is this)
REGS_BYTES = syscalls.REGISTER_MESSAGE_BYTES


def sys_channel_call(ep, buf, length, rbuf, rlength, a5):
    if length >= 0 and length <= sched.INBOX_BYTES and rlength >= 0:
        result = _call_fast(ep, buf, length, rbuf, rlength)
        if result != _NOT_FAST:
            return result
    return _call_general(ep, buf, length, rbuf, rlength)


def sys_channel_call_regs(ep, length, w0, w1, w2, w3):
    """channel_call with the request in w0-w3 and the reply written back
    into their registers (docs/abi.md): no user memory is touched."""
    frame = _syscall_frame()
    if length < 0 or length > REGS_BYTES:
        return E_INVALID
    caller = _caller()
    endpoint = api.call_endpoint(caller, ep)
    if endpoint >= 0:
        target = sched.handoff_target(channel.get(endpoint).peer, length)
        if target >= 0:                 # the fast path, as in _call_fast
            _store_words(sched.inbox(target), w0, w1, w2, w3)
            received = sched.hand_over(target, length, endpoint, REGS_BYTES)
            if received >= 0:
                return _deliver(frame, 0, sched.inbox(sched.current()), received)
            return _call_receive(caller, ep, endpoint, 0, REGS_BYTES, REGS_BYTES, frame)
    staging = _buffers.staging
    _store_words(staging, w0, w1, w2, w3)
    return _call_checked(caller, ep, staging, length, 0, REGS_BYTES, frame)


def _syscall_frame():
    """Returns the trap frame of the running task's system call: syscall.S
    builds it at the top of the task's kernel stack (thread.syscall_frame).
    Untranslated, the frame dispatch was given."""
    if we_are_translated():
        return thread.syscall_frame(kernel_stacks.top(sched.current()))
    return _buffers.frame


def _store_words(addr, w0, w1, w2, w3):
    rawmem.store_u64(addr, w0)
    rawmem.store_u64(addr + WORD, w1)
    rawmem.store_u64(addr + 2 * WORD, w2)
    rawmem.store_u64(addr + 3 * WORD, w3)


def _call_fast(ep, buf, length, rbuf, rlength):
    """channel_call's fast path (docs/ipc.md): a live endpoint with both
    rights and an open peer, on which a task waits in channel_call with
    nothing queued and room for length bytes.  Returns the call's result,
    or _NOT_FAST before anything changed.  Once the descriptor is good, the
    only errors left are E_FAULT (reply buffer or buf), which come before
    the descriptor's in the documented order: the general path would find
    the same."""
    caller = _caller()
    endpoint = api.call_endpoint(caller, ep)
    if endpoint < 0:
        return _NOT_FAST
    target = sched.handoff_target(channel.get(endpoint).peer, length)
    if target < 0:
        return _NOT_FAST
    if rlength > limits.MAX_MESSAGE_BYTES:
        rlength = limits.MAX_MESSAGE_BYTES
    if not usercopy.writable(rbuf, rlength):
        return E_FAULT
    # Straight into the receiver's inbox: until hand_over says so, it is
    # not a message (a fault midway leaves bytes nobody reads).
    if usercopy.copy_in(sched.inbox(target), buf, length) < 0:
        return E_FAULT
    capacity = rlength
    if capacity > sched.INBOX_BYTES:
        capacity = sched.INBOX_BYTES
    received = sched.hand_over(target, length, endpoint, capacity)
    if received >= 0:                   # the usual answer: another hand-over
        usercopy.copy_out(rbuf, sched.inbox(sched.current()), received)
        return received
    return _call_receive(caller, ep, endpoint, rbuf, rlength, capacity, 0)


def _call_general(ep, buf, length, rbuf, rlength):
    """channel_call's checks in the documented order, then _call_checked."""
    if length < 0 or rlength < 0:
        return E_INVALID
    if length > limits.MAX_MESSAGE_BYTES:
        return E_LIMIT
    if rlength > limits.MAX_MESSAGE_BYTES:
        rlength = limits.MAX_MESSAGE_BYTES
    if not usercopy.writable(rbuf, rlength):
        return E_FAULT
    staging = _buffers.staging
    status = usercopy.copy_in(staging, buf, length)
    if status < 0:
        return status
    return _call_checked(_caller(), ep, staging, length, rbuf, rlength, 0)


def _call_checked(caller, ep, data, length, rbuf, rlength, frame):
    """Both channel calls once their arguments are checked and the request
    is in kernel memory (data): the descriptor's checks, the send (the
    hand-over when a task waits, else the queue), then the reply, to rbuf
    (at most rlength bytes) or, when frame is not 0, to the registers."""
    peer = api.call_peer(caller, ep)
    if peer < 0:
        return peer
    endpoint = api.endpoint_of(caller, ep)
    capacity = rlength
    if capacity > sched.INBOX_BYTES:
        capacity = sched.INBOX_BYTES
    target = sched.handoff_target(peer, length)
    if target >= 0:
        rawmem.copy(sched.inbox(target), data, length)
        received = sched.hand_over(target, length, endpoint, capacity)
        if received >= 0:
            return _deliver(frame, rbuf, sched.inbox(sched.current()), received)
    else:
        status = api.channel_send(caller, ep, data, length, data, 0)
        if status < 0:
            return status
        if api.take_events():
            sched.wake_event_waiters()
    return _call_receive(caller, ep, endpoint, rbuf, rlength, capacity, frame)


def _call_receive(caller, ep, endpoint, rbuf, rlength, capacity, frame):
    """The calls' second half: the reply from the inbox or the queue, to
    rbuf or the registers (_deliver).  rbuf was found writable before the
    call sent anything; the copies out cannot fail unless a lease that
    mapped it expired meanwhile (the reply is then received but lost, as
    with any buffer the caller unmapped)."""
    while True:
        length = sched.take_inbox()
        if length >= 0:
            return _deliver(frame, rbuf, sched.inbox(sched.current()), length)
        status = api.channel_peek(caller, ep, _buffers.peeked)
        if status != E_WOULDBLOCK:
            break
        sched.wait_on_endpoint(endpoint, capacity)
    if status < 0:
        return status
    staging = _buffers.staging
    result = api.channel_receive(caller, ep, rlength, 0, staging,
                                 staging + MESSAGE_VALUES_OFFSET)
    if result < 0:
        return result
    return _deliver(frame, rbuf, staging, result)


def _deliver(frame, rbuf, data, length):
    """Gives the reply (length bytes at data) to the caller: into the
    registers of frame (w0-w3, the bytes past length zero) when frame is
    not 0, else to rbuf.  Returns length."""
    if frame == 0:
        usercopy.copy_out(rbuf, data, length)
        return length
    trapframe.write(frame, trapframe.SYSCALL_ARGUMENTS[2], _reply_word(data, 0, length))
    trapframe.write(frame, trapframe.SYSCALL_ARGUMENTS[3], _reply_word(data, 1, length))
    trapframe.write(frame, trapframe.SYSCALL_ARGUMENTS[4], _reply_word(data, 2, length))
    trapframe.write(frame, trapframe.SYSCALL_ARGUMENTS[5], _reply_word(data, 3, length))
    return length


def _reply_word(data, i, length):
    """Word i of the length bytes at data, the bytes past length zero (an
    inbox may hold older bytes there)."""
    kept = length - i * WORD
    if kept <= 0:
        return 0
    word = rawmem.load_u64(data + i * WORD)
    if kept >= WORD:
        return word
    return word & ((1 << (kept * 8)) - 1)


def sys_wait_any(descs, count, flags, a3, a4, a5):
    if count < 1 or count > WAIT_ANY_MAX or flags & ~RECV_NONBLOCK:
        return E_INVALID
    staging = _buffers.staging
    caller = _caller()
    while True:
        # Again after every wait: other processes' calls use the staging too.
        status = usercopy.copy_from_user(staging, descs, count * WORD)
        if status < 0:
            return status
        i = 0
        while i < count:
            ready = api.ready(caller, rawmem.load_u64(staging + i * WORD))
            if ready != 0:
                if ready < 0:
                    return ready
                return i
            i += 1
        if flags & RECV_NONBLOCK:
            return E_WOULDBLOCK
        sched.wait_events()


HANDLERS = {
    'debug_write': sys_debug_write, 'exit': sys_exit, 'yield': sys_yield,
    'sleep': sys_sleep, 'clock': sys_clock, 'spawn': sys_spawn, 'wait': sys_wait,
    'self': sys_self, 'counters': sys_counters,
    'channel_create': sys_channel_create, 'channel_send': sys_channel_send,
    'channel_recv': sys_channel_recv, 'wait_any': sys_wait_any,
    'channel_call': sys_channel_call, 'channel_call_regs': sys_channel_call_regs,
    'allocate': sys_allocate, 'clone': sys_clone, 'borrow': sys_borrow,
    'transfer': sys_transfer, 'release': sys_release, 'map': sys_map, 'unmap': sys_unmap,
    'describe': sys_describe,
}
def sys_nosys(a0, a1, a2, a3, a4, a5):
    return E_NOSYS


def handler_table(handlers):
    """Returns the list indexed by system-call number: the handler of each
    number of elyz/abi/syscalls.py (handlers: name -> function), sys_nosys
    for the gaps.  One indexed, indirect call, whatever the number."""
    numbers = [number for number, name, args, result in syscalls.SYSCALLS]
    table = [sys_nosys] * (max(numbers) + 1)
    for number, name, args, result in syscalls.SYSCALLS:
        table[number] = handlers[name]
    return table


_TABLE = handler_table(HANDLERS)


def call(number, a0, a1, a2, a3, a4, a5):
    """Runs system call number for the running process; returns its result."""
    if number < 0 or number >= len(_TABLE):
        return E_NOSYS
    return _TABLE[number](a0, a1, a2, a3, a4, a5)


def dispatch(frame):
    """The body of rpy_syscall (see the module docstring)."""
    args = trapframe.SYSCALL_ARGUMENTS
    if not we_are_translated():
        _buffers.frame = frame          # tests build their frames anywhere
    result = call(trapframe.read(frame, trapframe.SYSCALL_NUMBER),
                  trapframe.read(frame, args[0]), trapframe.read(frame, args[1]),
                  trapframe.read(frame, args[2]), trapframe.read(frame, args[3]),
                  trapframe.read(frame, args[4]), trapframe.read(frame, args[5]))
    trapframe.write(frame, trapframe.SYSCALL_RESULT, result)

