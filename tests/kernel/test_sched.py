"""The scheduler (elyz.kernel.sched), rule by rule, over the emulated thread
primitives: a switch is what sched.current(), the emulation's `switches`
and the active address space show (tests/kernel/conftest.py: a context
that blocks or ends raises Parked at its switch)."""

import pytest
from hypothesis import given, settings, strategies as st

from elyz.abi.errors import E_NOMEM
from elyz.abi.limits import MAX_PROCESSES
from elyz.kernel import sched
from elyz.lib import clock, log
from elyz.mm import address_space, heap, kernel_stacks
from elyz.mm.pmm import pmm
from elyz.obj import api, process
from elyz.rlib_kernel import cpu, image, rawmem, thread
from tests.kernel.conftest import (ENTRY, USER_RSP, Parked, blocks, drain_frames, give_back,
                                   kernel_stack_mapped, kernel_table_frames,
                                   kernel_stack_pages,
                                   make_current, new_process, run_queue, setup_kernel_world,
                                   start_task, teardown_kernel_world, tick)

IDLE = sched.IDLE
SLICE = sched.SLICE_TICKS


def states(*indexes):
    return [sched.task(i).state for i in indexes]


def check_queue():
    """The run queue's own invariants: every RUNNABLE task in it exactly
    once, nothing else, the count and the tail right."""
    order = run_queue()
    runnable = [i for i in range(MAX_PROCESSES) if sched.task(i).state == sched.TASK_RUNNABLE]
    assert sorted(order) == runnable
    assert len(set(order)) == len(order)
    assert sched.runnable_count() == len(order)
    assert sched._sched.tail == (order[-1] if order else -1)
    running = [i for i in range(MAX_PROCESSES) if sched.task(i).state == sched.TASK_RUNNING]
    assert running == ([] if sched.current() == IDLE else [sched.current()])
    return order


# ------------------------------------------------------------ set-up

def test_the_fast_kernel_table_count_agrees_with_address_space(kworld):
    start_task()
    assert kernel_table_frames(kworld.kernel_pml4) == address_space.kernel_table_frames()


def test_init_prepares_the_idle_context_the_fpu_and_the_syscall_msrs(kworld):
    assert sched._sched.idle_context != 0
    assert kworld.threads.fpu_initialised and kworld.threads.syscalls_enabled
    assert sched.current() == IDLE and sched.runnable_count() == 0


def test_start_makes_a_runnable_task_with_a_kernel_stack_and_a_clean_fpu_area(kworld):
    heap_bytes = heap.kernel_heap.bytes_in_use
    index = start_task()
    t = sched.task(index)
    assert t.state == sched.TASK_RUNNABLE and run_queue() == [index]
    assert kernel_stack_mapped(index)
    assert heap.kernel_heap.bytes_in_use > heap_bytes            # its context
    fpu = rawmem.simulated().read(t.context + sched.CONTEXT_FPU, thread.FPU_AREA_SIZE)
    assert fpu == bytearray(thread.FPU_AREA_SIZE)
    saved_rsp = rawmem.load_u64(t.context + sched.CONTEXT_RSP)
    assert kernel_stacks.bottom(index) <= saved_rsp < kernel_stacks.top(index)
    assert sched.tasks_in_use() == 1


def test_the_first_switch_to_a_task_uses_its_prepared_stack(kworld, monkeypatch):
    prepared = []
    real = thread.prepare_user_stack

    def prepare(top, entry, user_rsp, arg0, arg1):
        prepared.append((top, entry, user_rsp, arg0, arg1))
        return real(top, entry, user_rsp, arg0, arg1)

    monkeypatch.setattr(thread, 'prepare_user_stack', prepare)
    index = new_process()
    assert sched.start(index, ENTRY, USER_RSP, 11, 22) == 0
    assert prepared == [(kernel_stacks.top(index), ENTRY, USER_RSP, 11, 22)]
    rsp = rawmem.load_u64(sched.task(index).context + sched.CONTEXT_RSP)
    tick()
    assert kworld.threads.switches[-1] == (rsp, kernel_stacks.bottom(index),
                                           kernel_stacks.top(index))


# ------------------------------------------------------------ round robin

def test_the_idle_context_gives_the_cpu_at_the_first_tick_a_task_is_runnable(kworld):
    tick(n=3)
    assert sched.current() == IDLE and kworld.threads.switches == []
    a = start_task()
    tick()
    assert sched.current() == a


def test_switching_to_a_task_activates_its_space_and_its_kernel_stack(kworld):
    a = start_task()
    tick()
    space = process.get(a).space
    assert address_space.current() == space and cpu.emulated().cr3 == space
    new_rsp, bottom, top = kworld.threads.switches[-1]
    assert (bottom, top) == (kernel_stacks.bottom(a), kernel_stacks.top(a))


def test_the_run_queue_is_first_in_first_out(kworld):
    tasks = [start_task() for i in range(4)]
    assert run_queue() == tasks
    ran = []
    for i in range(3 * len(tasks) * SLICE):
        tick()
        if not ran or ran[-1] != sched.current():
            ran.append(sched.current())
    assert ran == (tasks * 3)[:len(ran)] and len(ran) >= 2 * len(tasks)


def test_a_task_runs_a_whole_slice_before_it_is_preempted(kworld):
    a, b = start_task(), start_task()
    tick()
    assert sched.current() == a
    for i in range(SLICE - 1):
        tick()
        assert sched.current() == a
    tick()
    assert sched.current() == b
    assert run_queue() == [a]
    check_queue()


def test_a_task_switched_in_gets_a_full_slice(kworld):
    a, b = start_task(), start_task()
    make_current(b)
    assert sched.task(b).slice_left == SLICE


def test_a_tick_that_interrupted_kernel_code_never_switches_nor_uses_the_slice(kworld):
    a, b = start_task(), start_task()
    tick()
    left = sched.task(a).slice_left
    tick(preemptible=False, n=5 * SLICE)
    assert sched.current() == a and sched.task(a).slice_left == left
    assert len(kworld.threads.switches) == 1


def test_a_tick_from_idle_outside_the_idle_wait_never_switches(kworld):
    start_task()
    tick(preemptible=False, n=4)
    assert sched.current() == IDLE and kworld.threads.switches == []


def test_a_task_alone_keeps_the_cpu_after_its_slice(kworld):
    a = start_task()
    tick(n=1 + 4 * SLICE)
    assert sched.current() == a and len(kworld.threads.switches) == 1
    b = start_task()
    tick()                                   # its slice is long over: at once
    assert sched.current() == b


def test_a_runnable_task_waits_at_most_one_slice_per_other_task(kworld):
    tasks = [start_task() for i in range(6)]
    tick()
    last_ran = dict((t, clock.ticks()) for t in tasks)
    for i in range(10 * len(tasks) * SLICE):
        tick()
        now = clock.ticks()
        last_ran[sched.current()] = now
        for t in tasks:
            assert now - last_ran[t] <= (len(tasks) - 1) * SLICE
        check_queue()


# ------------------------------------------------------------ yield

def test_yield_puts_the_task_at_the_back_of_the_queue(kworld):
    a, b, c = start_task(), start_task(), start_task()
    tick()
    assert sched.yield_now() == 0
    assert sched.current() == b and run_queue() == [c, a]
    assert sched.task(a).state == sched.TASK_RUNNABLE
    check_queue()


def test_yield_with_nothing_else_runnable_returns_without_a_switch(kworld):
    a = start_task()
    tick()
    switches = len(kworld.threads.switches)
    assert sched.yield_now() == 0
    assert sched.current() == a and sched.task(a).state == sched.TASK_RUNNING
    assert len(kworld.threads.switches) == switches and run_queue() == []


def test_yield_from_the_idle_context_does_nothing(kworld):
    a = start_task()
    assert sched.yield_now() == 0
    assert sched.current() == IDLE and run_queue() == [a]


# ------------------------------------------------------------ sleep

def test_sleep_until_blocks_until_the_tick_and_the_tick_wakes_it(kworld):
    a, b = start_task(), start_task()
    tick()
    wake = clock.ticks() + 3
    assert blocks(sched.sleep_until, wake) == a
    assert sched.current() == b and states(a) == [sched.TASK_SLEEPING]
    assert run_queue() == []
    while clock.ticks() < wake - 1:
        tick(preemptible=False)
        assert states(a) == [sched.TASK_SLEEPING] and a not in run_queue()
    tick(preemptible=False)
    assert clock.ticks() == wake
    assert states(a) == [sched.TASK_RUNNABLE] and a in run_queue()
    check_queue()


def test_a_tick_in_kernel_mode_still_wakes_sleepers(kworld):
    a, b = start_task(), start_task()
    tick()
    blocks(sched.sleep_until, clock.ticks() + 1)
    tick(preemptible=False)
    assert states(a) == [sched.TASK_RUNNABLE] and run_queue() == [a]
    assert sched.current() == b


def test_sleep_until_a_tick_already_reached_returns_at_once(kworld):
    a = start_task()
    tick(n=3)
    assert sched.sleep_until(clock.ticks()) == 0
    assert sched.sleep_until(clock.ticks() - 2) == 0
    assert sched.current() == a and len(kworld.threads.switches) == 1


def test_the_cpu_idles_in_the_kernel_space_when_every_task_sleeps(kworld):
    a = start_task()
    tick()
    blocks(sched.sleep_until, clock.ticks() + 5)
    assert sched.current() == IDLE
    assert address_space.current() == kworld.kernel_pml4
    new_rsp, bottom, top = kworld.threads.switches[-1]
    assert (bottom, top) == (image.stack_bottom(0), image.stack_top(0))
    tick(n=5)
    assert sched.current() == a


# ------------------------------------------------------------ wait and exit

def test_wait_for_blocks_until_the_target_exits_and_exit_wakes_every_waiter(kworld):
    a, b, c = start_task(), start_task(), start_task()
    tick()
    assert blocks(sched.wait_for, c) == a
    assert sched.current() == b
    assert blocks(sched.wait_for, c) == b
    assert sched.current() == c and states(a, b) == [sched.TASK_WAITING] * 2
    assert run_queue() == []
    assert blocks(sched.exit_current, 9) == c
    assert sched.task(c).exit_code == 9
    assert sched.current() == a and run_queue() == [b]
    check_queue()


def test_wait_for_a_process_that_has_exited_returns_at_once(kworld):
    a, b = start_task(), start_task()
    holder = process.get(a)
    desc = api.grant(holder, process.get(b), 0, True)      # keeps b's record
    make_current(b)
    blocks(sched.exit_current, 4)
    assert sched.current() == a
    switches = len(kworld.threads.switches)
    sched.wait_for(b)
    assert sched.current() == a and len(kworld.threads.switches) == switches
    assert process.get(b).exit_code == 4
    assert api.release(holder, desc) == 0


def test_wait_for_from_the_idle_context_never_blocks(kworld):
    a = start_task()
    sched.wait_for(a)
    assert sched.current() == IDLE and kworld.threads.switches == []


def test_exit_tears_the_process_down_and_runs_the_next_task(kworld):
    a, b = start_task(), start_task()
    tick()
    records = process.records_in_use()
    assert blocks(sched.exit_current, 3) == a
    assert process.records_in_use() == records - 1
    assert sched.task(a).state == sched.TASK_ZOMBIE
    assert sched.current() == b and address_space.current() == process.get(b).space


def test_exit_of_the_last_task_goes_back_to_the_idle_context(kworld):
    a = start_task()
    tick()
    blocks(sched.exit_current, 0)
    assert sched.current() == IDLE and address_space.current() == kworld.kernel_pml4


# ------------------------------------------------------------ kill

@pytest.mark.parametrize('position', [0, 1, 2])
def test_kill_removes_a_queued_task_and_keeps_the_order_of_the_others(kworld, position):
    a, b, c = start_task(), start_task(), start_task()
    victim = [a, b, c][position]
    assert sched.kill(victim, 5) == 0
    rest = [t for t in (a, b, c) if t != victim]
    assert run_queue() == rest
    assert sched.task(victim).state == sched.TASK_FREE        # reaped: not running
    assert sched.task(victim).exit_code == 5
    d = start_task()
    assert run_queue() == rest + [d]                           # the tail is right
    check_queue()


def test_kill_of_the_only_queued_task_empties_the_queue(kworld):
    a = start_task()
    sched.kill(a, 1)
    assert run_queue() == [] and sched._sched.tail == -1 and sched.runnable_count() == 0
    tick(n=3)
    assert sched.current() == IDLE


def test_kill_ends_a_sleeping_or_waiting_task_and_wakes_its_waiters(kworld):
    a, b, c = start_task(), start_task(), start_task()
    tick()
    blocks(sched.sleep_until, clock.ticks() + 100)            # a sleeps
    blocks(sched.wait_for, a)                                  # b waits for a
    assert sched.current() == c
    sched.kill(a, 7)
    assert sched.task(a).state == sched.TASK_FREE
    assert states(b) == [sched.TASK_RUNNABLE] and run_queue() == [b]
    sched.kill(b, 8)
    assert run_queue() == [] and sched.tasks_in_use() == 1
    tick(n=200)
    assert sched.current() == c                                # a never wakes again


def test_kill_of_a_task_that_ended_changes_nothing(kworld):
    a, b = start_task(), start_task()
    sched.kill(a, 1)
    tasks, records = sched.tasks_in_use(), process.records_in_use()
    assert sched.kill(a, 2) == 0
    assert sched.task(a).exit_code == 1
    assert (sched.tasks_in_use(), process.records_in_use()) == (tasks, records)
    assert run_queue() == [b]


# ------------------------------------------------------------ reaping

def test_an_exiting_task_leaves_its_kernel_stack_only_after_switching_away(kworld):
    a, b = start_task(), start_task()
    tick()
    blocks(sched.exit_current, 0)
    prev, nxt, prev_stack_mapped = kworld.switch_log[-1]
    assert (prev, nxt, prev_stack_mapped) == (a, b, True)


def test_an_exit_into_a_first_entry_leaves_the_zombie_to_the_next_step(kworld):
    a, b = start_task(), start_task()
    tick()
    blocks(sched.exit_current, 0)                   # a -> b, entering user mode
    tick(n=SLICE)                                   # b alone: no switch
    assert sched.task(a).state == sched.TASK_ZOMBIE and kernel_stack_mapped(a)
    c = start_task()                                # start reaps first (c may be a)
    assert sched.task(a).state == (sched.TASK_RUNNABLE if c == a else sched.TASK_FREE)
    assert sched.tasks_in_use() == 2 and sched._sched.zombies == 0


def test_an_exit_into_a_context_that_resumes_reaps_the_zombie_at_once(kworld):
    a, b = start_task(), start_task()
    tick(n=1 + 2 * SLICE)                           # idle -> a -> b -> a
    assert sched.current() == a
    blocks(sched.exit_current, 0)                   # a -> b, which resumes
    assert sched.current() == b
    assert sched.task(a).state == sched.TASK_FREE and kernel_stack_pages(a) == 0


def test_a_zombie_is_reaped_after_the_next_switch(kworld):
    a, b, c = start_task(), start_task(), start_task()
    tick()
    blocks(sched.exit_current, 0)                   # a -> b
    assert sched.task(a).state == sched.TASK_ZOMBIE
    tick(n=SLICE)                                   # b -> c: reaps a
    assert sched.current() == c
    assert sched.task(a).state == sched.TASK_FREE and kernel_stack_pages(a) == 0
    assert sched.tasks_in_use() == 2


def test_reaping_gives_back_the_kernel_stack_frames_and_the_context(kworld):
    a = start_task()                                # warms the region's tables
    sched.kill(a, 0)
    accounted, heap_bytes = kworld.accounted_frames(), heap.kernel_heap.bytes_in_use
    records = process.records_in_use()
    b, c = start_task(), start_task()
    tick()
    blocks(sched.exit_current, 0)                   # b -> c
    blocks(sched.exit_current, 0)                   # c -> idle, which reaps both
    assert sched.current() == IDLE
    assert sched.tasks_in_use() == 0 and process.records_in_use() == records
    assert (kworld.accounted_frames(), heap.kernel_heap.bytes_in_use) == \
        (accounted, heap_bytes)


# ------------------------------------------------------------ start fails cleanly

def test_start_fails_cleanly_when_the_heap_runs_out(kworld):
    index = new_process()
    hoard = drain_frames(0)
    blocks_taken = []
    while True:
        block = heap.kernel_heap.malloc(sched.CONTEXT_SIZE)
        if block == 0:
            break
        blocks_taken.append(block)
    log.reset_for_tests()
    heap_bytes, frames = heap.kernel_heap.bytes_in_use, pmm.frames_free
    assert sched.start(index, ENTRY, USER_RSP, 0, 0) == E_NOMEM
    assert (heap.kernel_heap.bytes_in_use, pmm.frames_free) == (heap_bytes, frames)
    assert sched.task(index).state == sched.TASK_FREE and run_queue() == []
    assert sched.tasks_in_use() == 0
    for block in blocks_taken:
        heap.kernel_heap.free(block)
    give_back(hoard)
    assert sched.start(index, ENTRY, USER_RSP, 0, 0) == 0


@pytest.mark.parametrize('frames_left', range(kernel_stacks.STACK_PAGES))
def test_start_fails_cleanly_when_frames_run_out(kworld, frames_left):
    index = new_process()
    context = heap.kernel_heap.calloc(1, sched.CONTEXT_SIZE)    # the heap has room for one
    heap.kernel_heap.free(context)
    hoard = drain_frames(frames_left)
    accounted, heap_bytes = kworld.accounted_frames(), heap.kernel_heap.bytes_in_use
    assert sched.start(index, ENTRY, USER_RSP, 0, 0) == E_NOMEM
    assert (kworld.accounted_frames(), heap.kernel_heap.bytes_in_use) == \
        (accounted, heap_bytes)
    assert sched.task(index).state == sched.TASK_FREE and sched.task(index).context == 0
    assert kernel_stack_pages(index) == 0 and run_queue() == []
    give_back(hoard)
    assert sched.start(index, ENTRY, USER_RSP, 0, 0) == 0


# ------------------------------------------------------------ the watched idle context

def script_idle_wait(monkeypatch, steps):
    """Makes each idle wait (sti; hlt) run the next step: what the other
    contexts do until an interrupt switches back to the idle context."""
    pending = list(steps)

    def wait_for_interrupt():
        assert pending, 'the idle context waited more often than scripted'
        pending.pop(0)()

    monkeypatch.setattr(cpu, 'wait_for_interrupt', wait_for_interrupt)
    return pending


def test_the_idle_context_runs_next_after_the_task_it_watches_exits(kworld, monkeypatch):
    a, b = start_task(), start_task()

    def a_runs_and_exits():
        assert sched.idle_is_waiting()
        clock.tick()
        sched.tick(sched.idle_is_waiting())                 # the timer: idle -> a
        assert sched.current() == a
        with pytest.raises(Parked):
            sched.exit_current(42)
        assert sched.current() == IDLE                      # before b, which waits
        assert run_queue() == [b]

    pending = script_idle_wait(monkeypatch, [a_runs_and_exits])
    assert sched.wait_idle_until_exited(a) == 42
    assert pending == [] and sched.current() == IDLE
    assert sched.task(a).state == sched.TASK_FREE and sched._sched.idle_watch == -1
    assert not sched._sched.idle_wanted


def test_a_slice_end_switches_to_idle_after_its_watched_task_was_killed(kworld, monkeypatch):
    b, a = start_task(), start_task()

    def b_runs_and_kills_a():
        tick()                                               # idle -> b
        assert sched.current() == b
        sched.kill(a, 3)
        assert run_queue() == []
        for i in range(SLICE - 1):
            tick()
            assert sched.current() == b
        tick()                                               # no task waits, idle does
        assert sched.current() == IDLE and run_queue() == [b]

    pending = script_idle_wait(monkeypatch, [b_runs_and_kills_a])
    assert sched.wait_idle_until_exited(a) == 3
    assert pending == []


def test_idle_is_waiting_only_inside_the_idle_wait(kworld, monkeypatch):
    seen = []
    script_idle_wait(monkeypatch, [lambda: seen.append(sched.idle_is_waiting())])
    assert not sched.idle_is_waiting()
    sched.idle_wait()
    assert seen == [True] and not sched.idle_is_waiting()


# ------------------------------------------------------------ the property

OPERATIONS = st.lists(st.tuples(
    st.sampled_from(['start', 'start', 'tick', 'tick', 'tick', 'kernel_tick', 'yield',
                     'sleep', 'exit', 'kill', 'wait']),
    st.integers(0, 7)), min_size=8, max_size=40)


class Model(object):
    """What the rules say: a FIFO queue, a current task, blocked tasks."""

    def __init__(self):
        self.queue = []
        self.current = IDLE
        self.state = {}             # index -> 'runnable' running sleeping waiting ended
        self.wake = {}
        self.waiting_for = {}
        self.slice = {}

    def live(self):
        return sorted(i for i, s in self.state.items() if s != 'ended')

    def enqueue(self, i):
        self.state[i] = 'runnable'
        self.queue.append(i)

    def switch_away(self):
        nxt = self.queue.pop(0) if self.queue else IDLE
        if nxt == self.current:
            if nxt != IDLE:
                self.state[nxt] = 'running'
            return
        self.current = nxt
        if nxt != IDLE:
            self.state[nxt] = 'running'
            self.slice[nxt] = SLICE

    def end(self, i):
        if self.state[i] == 'runnable':
            self.queue.remove(i)
        self.state[i] = 'ended'
        for w in sorted(self.state):
            if self.state[w] == 'waiting' and self.waiting_for[w] == i:
                self.enqueue(w)

    def tick(self, now, preemptible):
        for i in sorted(self.state):
            if self.state[i] == 'sleeping' and self.wake[i] <= now:
                self.enqueue(i)
        if not preemptible:
            return
        if self.current == IDLE:
            if self.queue:
                self.switch_away()
            return
        self.slice[self.current] -= 1
        if self.slice[self.current] <= 0 and self.queue:
            self.enqueue(self.current)
            self.switch_away()


STATE_OF = {'runnable': [sched.TASK_RUNNABLE], 'running': [sched.TASK_RUNNING],
            'sleeping': [sched.TASK_SLEEPING], 'waiting': [sched.TASK_WAITING],
            'ended': [sched.TASK_ZOMBIE, sched.TASK_FREE]}


def apply(model, op, arg):
    cur = sched.current()
    if op == 'start':
        if len(model.live()) < 6:
            index = new_process()
            if index in model.state and model.state[index] != 'ended':
                raise AssertionError('a live task record was handed out again')
            assert sched.start(index, ENTRY, USER_RSP, 0, 0) == 0
            model.enqueue(index)
    elif op in ('tick', 'kernel_tick'):
        tick(preemptible=op == 'tick')
        model.tick(clock.ticks(), op == 'tick')
    elif op == 'yield':
        assert sched.yield_now() == 0
        if cur != IDLE:
            model.enqueue(cur)
            model.switch_away()
    elif op == 'sleep':
        if cur == IDLE:
            return
        arg %= 5
        wake = clock.ticks() + arg
        if arg == 0:
            assert sched.sleep_until(wake) == 0
            return
        assert blocks(sched.sleep_until, wake) == cur
        model.state[cur] = 'sleeping'
        model.wake[cur] = wake
        model.switch_away()
    elif op == 'exit':
        if cur == IDLE:
            return
        assert blocks(sched.exit_current, arg) == cur
        model.end(cur)
        model.switch_away()
    elif op == 'kill':
        targets = [i for i in model.live() if i != cur]
        if targets:
            victim = targets[arg % len(targets)]
            assert sched.kill(victim, 1) == 0
            model.end(victim)
    elif op == 'wait':
        targets = [i for i in model.live() if i != cur]
        if cur == IDLE or not targets:
            return
        target = targets[arg % len(targets)]
        assert blocks(sched.wait_for, target) == cur
        model.state[cur] = 'waiting'
        model.waiting_for[cur] = target
        model.switch_away()


def check_against(model, kworld):
    assert check_queue() == model.queue
    assert sched.current() == model.current
    for i, s in model.state.items():
        assert sched.task(i).state in STATE_OF[s], (i, s)
        pages = kernel_stack_pages(i)
        if s != 'ended':
            assert pages == kernel_stacks.STACK_PAGES
        elif sched.task(i).state == sched.TASK_FREE:
            assert pages == 0                        # reaped: its stack went back
    assert process.records_in_use() == len(model.live())
    expected_space = (kworld.kernel_pml4 if model.current == IDLE
                      else process.get(model.current).space)
    assert address_space.current() == expected_space


@pytest.fixture
def reusable_world(monkeypatch):
    """One simulated machine for all the examples of a property: an example
    that passed left it as it found it (it checks so), and one that failed
    makes the next example build a fresh one."""
    shared = {'kw': None, 'clean': False}

    def get():
        if not shared['clean']:
            if shared['kw'] is not None:
                monkeypatch.undo()
                teardown_kernel_world()
            shared['kw'] = setup_kernel_world(monkeypatch)
        shared['clean'] = False
        return shared

    yield get
    monkeypatch.undo()
    teardown_kernel_world()


@settings(max_examples=50, deadline=None)
@given(operations=OPERATIONS)
def test_random_schedules_keep_the_queue_fifo_and_leave_nothing_behind(reusable_world,
                                                                      operations):
    shared = reusable_world()
    kworld = shared['kw']
    warm = start_task()                          # the stack region's page tables stay
    sched.kill(warm, 0)
    accounted, heap_bytes = kworld.accounted_frames(), heap.kernel_heap.bytes_in_use
    model = Model()
    for op, arg in operations:
        apply(model, op, arg)
        check_against(model, kworld)
    # Everything ends: the running tasks exit, the blocked ones are killed.
    while sched.current() != IDLE:
        blocks(sched.exit_current, 0)
    for i in range(MAX_PROCESSES):
        sched.kill(i, 0)                         # the blocked ones; reaps the zombies
    assert sched.tasks_in_use() == 0 and process.records_in_use() == 0
    assert run_queue() == [] and sched.runnable_count() == 0
    assert (kworld.accounted_frames(), heap.kernel_heap.bytes_in_use) == \
        (accounted, heap_bytes)
    shared['clean'] = True
