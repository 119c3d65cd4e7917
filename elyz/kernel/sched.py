"""Processes on the CPU: tasks, the run queue, blocking and switching.

The concurrency model (docs/architecture.md, "User mode"):
  - the kernel is not preemptible: interrupts are off in kernel mode
    (system calls enter with IF cleared by IA32_FMASK, traps through
    interrupt gates), except in the idle loop;
  - a kernel stack per process (elyz/mm/kernel_stacks.py); a switch saves
    the callee-saved registers on it (arch/x86_64/syscall.S);
  - a switch happens only at these points: a timer tick that interrupted
    user mode or the idle loop, and the system calls yield, sleep, wait and
    exit (a fault that kills a process is an exit).  There, no RPython
    exception is pending and no kernel structure is half-updated.
  - the idle task is the boot context (kmain after its set-up: sti; hlt).

Round robin: a task runs SLICE_TICKS timer ticks, then goes to the back of
the run queue if another task is runnable.  The idle context runs when no
task is runnable, and also next after the task it watches ended
(wait_idle_until_exited: the kernel's own self-tests wait that way).  A runnable task waits at most
(runnable tasks - 1) slices: nothing starves.

    init()                     after the heap: the idle context, FPU set-up
    start(index, entry, user_rsp, arg0, arg1) -> 0 or E_NOMEM: makes process
                               record index runnable, entering user mode at
                               entry with rsp user_rsp, rdi arg0, rsi arg1
    current() -> the running process index, or IDLE
    tick(preemptible)          the timer: wakes sleepers; switches when the
                               slice is over and the interrupted code was
                               user mode or the idle loop (preemptible)
    yield_now()                to the back of the queue
    sleep_until(tick)          blocks until clock.ticks() >= tick
    wait_for(index) -> True when the process exited, False when the wait
                               was cut short (it cannot be: for the caller)
    wait_events()              blocks until wake_event_waiters (a message
                               queued, a peer gone, a process ended); the
                               caller checks its condition again
    wake_event_waiters()       makes every task in wait_events runnable
    exit_current(code)         tears the running process down; never returns
    kill(index, code)          the same for a process that is not running
    wait_idle_until_exited(index)   the idle context (kernel self-tests)
                               lets processes run until index exits
    idle_wait()                the idle context's wait for an interrupt
                               (sti; hlt), during which the timer may switch
    idle_is_waiting() -> True inside idle_wait
    runnable_count() tasks_in_use()   for tests and figures
"""

from elyz.abi.errors import E_NOMEM
from elyz.abi.limits import MAX_PROCESSES
from elyz.lib import clock, log
from elyz.mm import address_space, heap, kernel_stacks, kernel_space
from elyz.obj import api, channel, process
from elyz.rlib_kernel import cpu, image, rawmem, thread

IDLE = -1
SLICE_TICKS = 2

TASK_FREE = 0
TASK_RUNNABLE = 1
TASK_RUNNING = 2
TASK_SLEEPING = 3
TASK_WAITING = 4
TASK_ZOMBIE = 5                 # exited; its kernel stack waits to be freed
TASK_WAITING_EVENTS = 6         # channel receive / wait_any: until an event

# A task's context block in the kernel heap: the FPU/SSE area, then the
# saved kernel rsp.
CONTEXT_FPU = 0
CONTEXT_RSP = thread.CONTEXT_RSP
CONTEXT_INBOX = thread.FPU_AREA_SIZE + 16
INBOX_BYTES = 64                # a small message handed straight to a waiting receiver
CONTEXT_SIZE = CONTEXT_INBOX + INBOX_BYTES


class Task(object):
    def __init__(self, index):
        self.index = index
        self.state = TASK_FREE
        self.context = 0
        self.wake_tick = 0
        self.waiting_for = -1
        self.slice_left = 0
        self.next = -1
        self.exit_code = 0
        self.wait_endpoint = -1     # TASK_WAITING_EVENTS on this endpoint's waiter slot
        self.inbox_length = -1      # a message handed over (channel_call), or -1
        self.inbox_capacity = 0     # the most bytes that may be handed over


class _Scheduler(object):
    def __init__(self):
        self.current = IDLE
        self.head = -1
        self.tail = -1
        self.idle_context = 0
        self.runnable = 0
        self.zombies = 0
        self.switches = 0
        self.idle_waiting = False
        self.idle_watch = -1        # the task whose end the idle context waits for
        self.idle_wanted = False    # it ended: the idle context runs next
        self.user_entered = False   # boot_to_first_user logged
        self.event_waiters = 0      # tasks in TASK_WAITING_EVENTS


_tasks = [Task(i) for i in range(MAX_PROCESSES)]
_sched = _Scheduler()


def init():
    """Sets up the idle context and the FPU; returns 0 or E_NOMEM."""
    _sched.idle_context = heap.kernel_heap.calloc(1, CONTEXT_SIZE)
    if _sched.idle_context == 0:
        return E_NOMEM
    thread.fpu_init()
    thread.enable_syscalls()
    return 0


def current():
    """Returns the running process's record index, or IDLE."""
    return _sched.current


def task(index):
    return _tasks[index]


def runnable_count():
    return _sched.runnable


def tasks_in_use():
    """Returns the tasks not FREE (zombies included)."""
    count = 0
    i = 0
    while i < MAX_PROCESSES:
        if _tasks[i].state != TASK_FREE:
            count += 1
        i += 1
    return count


# ------------------------------------------------------------ the run queue

def _enqueue(index):
    t = _tasks[index]
    t.state = TASK_RUNNABLE
    t.next = -1
    if _sched.tail >= 0:
        _tasks[_sched.tail].next = index
    else:
        _sched.head = index
    _sched.tail = index
    _sched.runnable += 1


def _dequeue():
    """Returns the first runnable task, or IDLE when none is."""
    index = _sched.head
    if index < 0:
        return IDLE
    _sched.head = _tasks[index].next
    if _sched.head < 0:
        _sched.tail = -1
    _tasks[index].next = -1
    _sched.runnable -= 1
    return index


# ------------------------------------------------------------ switching

def _context(index):
    if index == IDLE:
        return _sched.idle_context
    return _tasks[index].context


def _reap():
    """Frees the kernel stacks and contexts of exited tasks not running."""
    if _sched.zombies == 0:
        return
    i = 0
    while i < MAX_PROCESSES:
        t = _tasks[i]
        if t.state == TASK_ZOMBIE and i != _sched.current:
            kernel_stacks.destroy(i)
            heap.kernel_heap.free(t.context)
            t.context = 0
            t.state = TASK_FREE
            _sched.zombies -= 1
        i += 1


def _switch_away():
    """Runs the next runnable task (or idle); returns when this context is
    switched back to (never for a zombie)."""
    if _sched.idle_wanted:
        _sched.idle_wanted = False
        nxt = IDLE
    else:
        nxt = _dequeue()
    _switch_to(nxt)


def _switch_to(nxt):
    """Runs task nxt (or IDLE) now; returns when this context is switched
    back to."""
    prev = _sched.current
    if nxt == prev:
        if prev != IDLE:
            _tasks[prev].state = TASK_RUNNING
        return
    if nxt != IDLE and prev != IDLE and _tasks[prev].state != TASK_ZOMBIE:
        _switch_tasks(prev, nxt)
        return
    if prev != IDLE and _tasks[prev].state != TASK_ZOMBIE:
        thread.fpu_save(_context(prev) + CONTEXT_FPU)
    if nxt == IDLE:
        address_space.activate(kernel_space.kernel_pml4())
        bottom = image.stack_bottom(0)
        top = image.stack_top(0)
    else:
        t = _tasks[nxt]
        t.state = TASK_RUNNING
        t.slice_left = SLICE_TICKS
        thread.fpu_restore(t.context + CONTEXT_FPU)
        address_space.activate(process.get(nxt).space)
        bottom = kernel_stacks.bottom(nxt)
        top = kernel_stacks.top(nxt)
    _sched.current = nxt
    _sched.switches += 1
    thread.switch_to(_context(prev) + CONTEXT_RSP,
                     rawmem.load_u64(_context(nxt) + CONTEXT_RSP), bottom, top)
    _reap()


def _switch_tasks(prev, nxt):
    """_switch_to from a live task to another task: the FPU save and
    restore and the stack switch in one call (thread.switch_task)."""
    t = _tasks[nxt]
    t.state = TASK_RUNNING
    t.slice_left = SLICE_TICKS
    address_space.activate(process.get(nxt).space)
    _sched.current = nxt
    _sched.switches += 1
    thread.switch_task(_tasks[prev].context, t.context, kernel_stacks.bottom(nxt),
                       kernel_stacks.top(nxt))
    _reap()


# ------------------------------------------------------------ operations

def start(index, entry, user_rsp, arg0, arg1):
    """Makes process record index runnable in user mode (see the module
    docstring); returns 0, or E_NOMEM with nothing taken."""
    _reap()
    t = _tasks[index]
    context = heap.kernel_heap.calloc(1, CONTEXT_SIZE)
    if context == 0:
        return E_NOMEM
    top = kernel_stacks.create(index)
    if top == 0:
        heap.kernel_heap.free(context)
        return E_NOMEM
    thread.fpu_reset(context + CONTEXT_FPU)
    rawmem.store_u64(context + CONTEXT_RSP,
                     thread.prepare_user_stack(top, entry, user_rsp, arg0, arg1))
    t.context = context
    t.wake_tick = 0
    t.waiting_for = -1
    t.wait_endpoint = -1
    t.inbox_length = -1
    _enqueue(index)
    return 0


def _wake_sleepers(now):
    i = 0
    while i < MAX_PROCESSES:
        t = _tasks[i]
        if t.state == TASK_SLEEPING and t.wake_tick <= now:
            _enqueue(i)
        i += 1


def tick(preemptible):
    """The timer's share of scheduling (see the module docstring)."""
    _wake_sleepers(clock.ticks())
    if not preemptible:
        return
    prev = _sched.current
    if prev == IDLE:
        if _sched.head >= 0:
            if not _sched.user_entered:
                _log_first_user_entry()
            _switch_away()
        return
    t = _tasks[prev]
    t.slice_left -= 1
    if t.slice_left <= 0 and (_sched.head >= 0 or _sched.idle_wanted):
        _enqueue(prev)
        _switch_away()


def _log_first_user_entry():
    """Logs `debug: BENCH boot_to_first_user <tsc>` once, the TSC (under
    QEMU -icount: instructions since reset) just before the first switch to
    a process: the idle context is the only way into the first one."""
    _sched.user_entered = True
    tsc = cpu.read_tsc()
    log.begin(log.DEBUG)
    log.put('BENCH boot_to_first_user ')
    log.put_int(tsc)
    log.end()


def yield_now():
    """Lets every other runnable task run first; returns 0."""
    prev = _sched.current
    if prev != IDLE:
        _enqueue(prev)
        _switch_away()
    return 0


def sleep_until(wake_tick):
    """Blocks the running task until clock.ticks() >= wake_tick; returns 0."""
    prev = _sched.current
    if prev == IDLE or clock.ticks() >= wake_tick:
        return 0
    t = _tasks[prev]
    t.state = TASK_SLEEPING
    t.wake_tick = wake_tick
    _switch_away()
    return 0


def wait_for(index):
    """Blocks the running task until process record index has exited;
    returns nothing (the caller reads the exit code: it holds a reference)."""
    prev = _sched.current
    while process.get(index).state == process.STATE_RUNNING and prev != IDLE:
        t = _tasks[prev]
        t.state = TASK_WAITING
        t.waiting_for = index
        _switch_away()


def wait_events():
    """See the module docstring; returns 0."""
    prev = _sched.current
    if prev == IDLE:
        return 0
    _tasks[prev].state = TASK_WAITING_EVENTS
    _sched.event_waiters += 1
    _switch_away()
    return 0


def wake_event_waiters():
    """See the module docstring; returns nothing."""
    if _sched.event_waiters == 0:
        return
    i = 0
    while i < MAX_PROCESSES:
        if _tasks[i].state == TASK_WAITING_EVENTS:
            _stop_waiting(i)
            _enqueue(i)
        i += 1


def _stop_waiting(index):
    """Task index leaves TASK_WAITING_EVENTS (its endpoint forgets it)."""
    t = _tasks[index]
    _sched.event_waiters -= 1
    if t.wait_endpoint >= 0:
        e = channel.get(t.wait_endpoint)
        if e.waiter == index:
            e.waiter = -1
        t.wait_endpoint = -1


def wait_on_endpoint(endpoint, capacity):
    """Blocks the running task until an event, as waiter of endpoint (a
    channel_call may then hand it a message of at most capacity bytes
    straight into its inbox); returns 0."""
    prev = _sched.current
    if prev == IDLE:
        return 0
    t = _tasks[prev]
    t.state = TASK_WAITING_EVENTS
    t.wait_endpoint = endpoint
    t.inbox_capacity = capacity
    channel.get(endpoint).waiter = prev
    _sched.event_waiters += 1
    _switch_away()
    return 0


def handoff_target(endpoint, length):
    """Returns the task waiting on endpoint that can take a message of
    length bytes into its inbox now (nothing is queued in endpoint before
    it), or -1."""
    e = channel.get(endpoint)
    index = e.waiter
    if index < 0 or e.head >= 0:
        return -1
    t = _tasks[index]
    if t.state != TASK_WAITING_EVENTS or t.inbox_length >= 0 or length > t.inbox_capacity:
        return -1
    return index


def inbox(index):
    """Returns the address of task index's inbox (INBOX_BYTES)."""
    return _tasks[index].context + CONTEXT_INBOX


def hand_over(target, length, endpoint, capacity):
    """The running task has put length bytes in target's inbox (target from
    handoff_target); it blocks as waiter of endpoint (its reply) and target
    runs at once, without the run queue; capacity: as for wait_on_endpoint.
    Returns, when the running task is woken, what take_inbox would: the
    length of a message handed to it meanwhile (its inbox emptied), or -1.
    The waiter count stays as it was: target leaves the waiters, the
    running task joins them."""
    prev = _sched.current
    t = _tasks[target]
    t.inbox_length = length
    if t.wait_endpoint >= 0:                    # _stop_waiting(target), inline
        e = channel.get(t.wait_endpoint)
        if e.waiter == target:
            e.waiter = -1
        t.wait_endpoint = -1
    p = _tasks[prev]
    p.state = TASK_WAITING_EVENTS
    p.wait_endpoint = endpoint
    p.inbox_capacity = capacity
    channel.get(endpoint).waiter = prev
    _switch_tasks(prev, target)
    length = p.inbox_length
    p.inbox_length = -1
    return length


def take_inbox():
    """Returns the length of the message in the running task's inbox and
    empties it, or -1 when none is there."""
    t = _tasks[_sched.current]
    length = t.inbox_length
    t.inbox_length = -1
    return length


def _wake_waiters(index):
    i = 0
    while i < MAX_PROCESSES:
        t = _tasks[i]
        if t.state == TASK_WAITING and t.waiting_for == index:
            t.waiting_for = -1
            _enqueue(i)
        i += 1


def _remove_from_queue(index):
    """Takes task index out of the run queue; returns nothing."""
    prev = -1
    cursor = _sched.head
    while cursor >= 0 and cursor != index:
        prev = cursor
        cursor = _tasks[cursor].next
    if cursor < 0:
        return
    following = _tasks[index].next
    if prev >= 0:
        _tasks[prev].next = following
    else:
        _sched.head = following
    if _sched.tail == index:
        _sched.tail = prev
    _tasks[index].next = -1
    _sched.runnable -= 1


def _end_task(index, code):
    """The shared part of exit and kill: teardown, zombie, waiters woken."""
    api.exit(process.get(index), code)
    t = _tasks[index]
    t.state = TASK_ZOMBIE
    t.exit_code = code
    _sched.zombies += 1
    _wake_waiters(index)
    wake_event_waiters()            # wait_any on it, or a peer its exit closed
    if _sched.idle_watch == index:
        _sched.idle_watch = -1
        _sched.idle_wanted = _sched.current != IDLE


def kill(index, code):
    """Ends process record index, which must not be the running one, with
    code; returns 0 (or E_NOMEM... never: nothing is allocated)."""
    t = _tasks[index]
    if t.state == TASK_RUNNABLE:
        _remove_from_queue(index)
    elif t.state == TASK_WAITING_EVENTS:
        _stop_waiting(index)
    if t.state != TASK_FREE and t.state != TASK_ZOMBIE:
        _end_task(index, code)
    _reap()
    return 0


def exit_current(code):
    """Tears down the running process (api.exit) with code and runs the
    next task; never returns."""
    index = _sched.current
    address_space.activate(kernel_space.kernel_pml4())   # its space is going
    _end_task(index, code)
    _switch_away()
    log.line(log.PANIC, 'sched: a zombie task was switched back to')
    cpu.halt_forever()


def idle_wait():
    """Waits for an interrupt (sti; hlt) at a point where the timer may
    switch to a process; returns after the interrupt (interrupts on)."""
    _sched.idle_waiting = True
    cpu.wait_for_interrupt()
    _sched.idle_waiting = False


def idle_is_waiting():
    return _sched.idle_waiting and _sched.current == IDLE


def wait_idle_until_exited(index):
    """From the idle context (kmain, interrupts set up): lets the processes
    run until the task of process record index has ended; returns its exit
    code."""
    _sched.idle_watch = index
    while _tasks[index].state != TASK_ZOMBIE and _tasks[index].state != TASK_FREE:
        idle_wait()
    _sched.idle_watch = -1
    _reap()
    return _tasks[index].exit_code


def reset_for_tests():
    """Untranslated only: no task, idle running."""
    for t in _tasks:
        t.state = TASK_FREE
        t.context = 0
        t.next = -1
        t.waiting_for = -1
        t.slice_left = 0
        t.exit_code = 0
        t.wake_tick = 0
    _sched.current = IDLE
    _sched.idle_context = 0
    _sched.idle_waiting = False
    _sched.idle_watch = -1
    _sched.idle_wanted = False
    _sched.user_entered = False
    _sched.event_waiters = 0
    _sched.head = -1
    _sched.tail = -1
    _sched.runnable = 0
    _sched.zombies = 0
    _sched.switches = 0
