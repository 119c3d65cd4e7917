"""System calls (elyz.kernel.syscall), from a trap frame in simulated memory
to the kernel API and back, for a process made current by the scheduler.

User memory (see tests/kernel/conftest.py): untranslated, the kernel's user
copies read and write simulated memory at the user virtual address itself,
and the simulated world backs only the HHDM.  So each test maps its user
buffer in the process's space (api.allocate + api.map: the kernel checks
its page tables) and mirrors it, making the simulated page at the user
address the frame behind it; a pointer to a page that is mapped but not
mirrored faults in the copy itself."""

import pytest

from elyz.abi import counters, limits, syscalls
from elyz.abi.errors import (E_BADDESC, E_DEAD, E_FAULT, E_INVALID, E_KIND, E_LIMIT,
                             E_NOEXEC, E_NOSLOTS, E_NOSYS, E_RIGHTS)
from elyz.abi.rights import (KIND_MEMORY, KIND_PROCESS, MEMORY_RIGHTS, PROCESS_RIGHTS,
                             PROT_READ, PROT_WRITE, RIGHT_CLONE, RIGHT_GIVE, RIGHT_MAP,
                             RIGHT_READ, RIGHT_TRANSFER, RIGHT_WAIT, STRENGTH_STRONG)
from elyz.kernel import sched, spawn, syscall
from elyz.lib import clock, log
from elyz.mm import address_space, heap, paging
from elyz.mm.pmm import pmm
from elyz.obj import api, mapping, memory, process
from elyz.rlib_kernel import rawmem, trapframe
from tests.kernel.conftest import (USER_BUF, blocks, descriptors, do_syscall, frame_words,
                                   give_user_memory, make_current, memory_object_with, mirror,
                                   run_queue, start_task, syscall_frame, tick, write_bytes)
from tests.loader import images

PAGE = limits.PAGE_SIZE
KERNEL_PTR = rawmem.to_word(0xffff800000100000)     # kernel memory, simulated
WORD = 8
S = syscalls


@pytest.fixture
def proc(kworld):
    """The running process: started, switched to, a page of user memory at
    USER_BUF."""
    index = start_task()
    make_current(index)
    p = process.get(index)
    assert address_space.current() == p.space
    give_user_memory(p)
    log.reset_for_tests()
    return p


def snapshot(kworld, *procs):
    state = [kworld.accounted_frames(), heap.kernel_heap.bytes_in_use,
             memory.records_in_use(), process.records_in_use(), mapping.count_in_use(),
             sched.tasks_in_use(), run_queue()]
    for p in procs:
        state.append(descriptors(p))
    return state


def user_words(addr, n):
    return [rawmem.load_u64(addr + i * WORD) for i in range(n)]


# ------------------------------------------------------------ decoding

def test_the_table_gives_every_abi_number_its_handler_and_the_gaps_e_nosys():
    table = syscall._TABLE
    numbers = dict((c[0], c[1]) for c in syscalls.SYSCALLS)
    assert len(table) == max(numbers) + 1
    for number, handler in enumerate(table):
        if number in numbers:
            assert handler is syscall.HANDLERS[numbers[number]]
        else:
            assert handler is syscall.sys_nosys
    assert sorted(syscall.HANDLERS) == sorted(c[1] for c in syscalls.SYSCALLS)


def test_dispatch_decodes_rax_and_rdi_rsi_rdx_r10_r8_r9_and_answers_in_rax(kworld,
                                                                         monkeypatch):
    calls = []

    def recorder(number):
        def handler(a0, a1, a2, a3, a4, a5):
            calls.append((number, a0, a1, a2, a3, a4, a5))
            return 1000 + number
        return handler

    monkeypatch.setattr(syscall, '_TABLE', syscall.handler_table(
        dict((c[1], recorder(c[0])) for c in S.SYSCALLS)))
    for number, name, args, result in S.SYSCALLS:
        del calls[:]
        args = [number * 100 + i + 1 for i in range(6)]
        frame = syscall_frame(number, *args)
        before = frame_words()
        syscall.dispatch(frame)
        assert calls == [tuple([number] + args)], name
        after = frame_words()
        assert trapframe.read(frame, trapframe.RAX) == 1000 + number
        changed = [i * 8 for i in range(len(before)) if before[i] != after[i]]
        assert changed == [trapframe.RAX]


@pytest.mark.parametrize('number', [9, 18, 19, 255, 256, -1, 1 << 40])
def test_an_unknown_number_gives_e_nosys_and_changes_nothing(kworld, proc, number):
    before = snapshot(kworld, proc)
    frame = syscall_frame(number, USER_BUF, 8)
    words = frame_words()
    syscall.dispatch(frame)
    assert trapframe.read(frame, trapframe.RAX) == E_NOSYS
    after = frame_words()
    assert [i * 8 for i in range(len(words)) if words[i] != after[i]] == [trapframe.RAX]
    assert snapshot(kworld, proc) == before and log.captured == []


def test_a_negative_result_comes_back_as_the_whole_word(kworld, proc):
    assert do_syscall(S.SYS_RELEASE, 12345) == E_BADDESC


# ------------------------------------------------------------ debug_write

def test_debug_write_logs_each_line_with_the_pid_prefix_and_returns_the_length(kworld,
                                                                              proc):
    text = 'hello\nworld'
    write_bytes(USER_BUF, text)
    assert do_syscall(S.SYS_DEBUG_WRITE, USER_BUF, len(text)) == len(text)
    pid = proc.index
    assert log.captured == ['[pid %d] hello' % pid, '[pid %d] world' % pid]


def test_debug_write_ends_a_line_at_each_newline_only(kworld, proc):
    text = 'a\n\nb\n'
    write_bytes(USER_BUF, text)
    assert do_syscall(S.SYS_DEBUG_WRITE, USER_BUF, len(text)) == len(text)
    pid = proc.index
    assert log.captured == ['[pid %d] a' % pid, '[pid %d] ' % pid, '[pid %d] b' % pid]


def test_debug_write_names_the_running_process(kworld):
    a, b = start_task(), start_task()
    for index in (a, b):
        make_current(index)
        give_user_memory(process.get(index))
        write_bytes(USER_BUF, 'x')
        log.reset_for_tests()
        assert do_syscall(S.SYS_DEBUG_WRITE, USER_BUF, 1) == 1
        assert log.captured == ['[pid %d] x' % index]


def test_debug_write_takes_at_most_debug_write_max_bytes(kworld, proc):
    give_user_memory(proc, USER_BUF + PAGE, 1)
    data = ''.join(chr(ord('a') + i % 26) for i in range(PAGE + 900))
    write_bytes(USER_BUF, data)
    assert do_syscall(S.SYS_DEBUG_WRITE, USER_BUF, len(data)) == syscall.DEBUG_WRITE_MAX
    prefix = '[pid %d] ' % proc.index
    assert log.captured == [prefix + data[:syscall.DEBUG_WRITE_MAX]]


def test_debug_write_of_nothing_writes_nothing(kworld, proc):
    assert do_syscall(S.SYS_DEBUG_WRITE, USER_BUF, 0) == 0
    assert log.captured == []


@pytest.mark.parametrize('ptr', [KERNEL_PTR, rawmem.to_word(0xffffffff80000000), 0,
                                 limits.USER_END - 4])
def test_debug_write_refuses_a_pointer_outside_the_user_half(kworld, proc, ptr):
    assert do_syscall(S.SYS_DEBUG_WRITE, ptr, 16) == E_FAULT
    assert log.captured == []


def test_debug_write_refuses_an_unmapped_page_without_logging(kworld, proc):
    assert do_syscall(S.SYS_DEBUG_WRITE, USER_BUF + 64 * PAGE, 16) == E_FAULT
    write_bytes(USER_BUF + PAGE - 4, 'abcd')
    assert do_syscall(S.SYS_DEBUG_WRITE, USER_BUF + PAGE - 4, 8) == E_FAULT
    assert log.captured == []


def test_debug_write_refuses_a_negative_length_before_the_pointer(kworld, proc):
    assert do_syscall(S.SYS_DEBUG_WRITE, USER_BUF, -1) == E_INVALID
    assert do_syscall(S.SYS_DEBUG_WRITE, KERNEL_PTR, -5) == E_INVALID
    assert log.captured == []


def test_debug_write_lines_are_the_process_s_not_the_kernel_s(kworld, proc):
    class Sink(log.LogSink):
        def __init__(self):
            self.styles = []

        def set_style(self, level, source):
            self.styles.append(source)

    sink = Sink()
    log.attach(sink)
    try:
        write_bytes(USER_BUF, 'hi\n')
        assert do_syscall(S.SYS_DEBUG_WRITE, USER_BUF, 3) == 3
    finally:
        log.detach(sink)
    assert log.PROCESS in sink.styles


# ------------------------------------------------------------ describe

def test_describe_writes_exactly_description_words_words(kworld, proc):
    desc = api.allocate(proc, 3 * PAGE, RIGHT_READ | RIGHT_MAP | RIGHT_CLONE)
    out = USER_BUF + 8
    n = syscall.DESCRIPTION_WORDS
    for i in range(n + 2):
        rawmem.store_u64(USER_BUF + i * WORD, 0x5555555555555555)
    assert do_syscall(S.SYS_DESCRIBE, desc, out) == 0
    assert user_words(out, n) == [KIND_MEMORY, STRENGTH_STRONG,
                                  RIGHT_READ | RIGHT_MAP | RIGHT_CLONE, 3 * PAGE, 1, 0, 0,
                                  0, 0, 0, 0]
    assert rawmem.load_u64(USER_BUF) == 0x5555555555555555
    assert rawmem.load_u64(out + n * WORD) == 0x5555555555555555


def test_describe_of_a_process_gives_its_state_and_exit_code(kworld, proc):
    other = process.get(start_task())
    desc = api.grant(proc, other, RIGHT_WAIT, True)
    sched.kill(other.index, 77)
    assert do_syscall(S.SYS_DESCRIBE, desc, USER_BUF) == 0
    words = user_words(USER_BUF, syscall.DESCRIPTION_WORDS)
    assert words[0] == KIND_PROCESS and words[8] == process.STATE_EXITED
    assert words[9] == 77


@pytest.mark.parametrize('out', [KERNEL_PTR, 0, limits.USER_END - 8])
def test_describe_refuses_an_out_pointer_outside_the_user_half_before_the_object(
        kworld, proc, monkeypatch, out):
    looked_up = []
    monkeypatch.setattr(api, 'describe', lambda *args: looked_up.append(args) or 0)
    desc = api.allocate(proc, PAGE, RIGHT_READ)
    assert do_syscall(S.SYS_DESCRIBE, desc, out) == E_FAULT
    assert do_syscall(S.SYS_DESCRIBE, 999999, out) == E_FAULT      # before the descriptor
    assert looked_up == []


def test_describe_refuses_an_out_range_that_runs_onto_an_unmapped_page(kworld, proc):
    desc = api.allocate(proc, PAGE, RIGHT_READ)
    out = USER_BUF + PAGE - 4 * WORD
    assert do_syscall(S.SYS_DESCRIBE, desc, out) == E_FAULT


def test_describe_refuses_a_read_only_out_page(kworld, proc):
    give_user_memory(proc, USER_BUF + 4 * PAGE, 1, prot=PROT_READ)
    desc = api.allocate(proc, PAGE, RIGHT_READ)
    before = user_words(USER_BUF + 4 * PAGE, syscall.DESCRIPTION_WORDS)
    assert do_syscall(S.SYS_DESCRIBE, desc, USER_BUF + 4 * PAGE) == E_FAULT
    assert user_words(USER_BUF + 4 * PAGE, syscall.DESCRIPTION_WORDS) == before


def test_describe_checks_the_out_pages_before_the_descriptor(kworld, proc):
    """docs/abi.md: "E_FAULT (checked first, before the descriptor)": an
    unmapped or read-only out wins over a bad descriptor."""
    give_user_memory(proc, USER_BUF + 4 * PAGE, 1, prot=PROT_READ)
    assert do_syscall(S.SYS_DESCRIBE, 999999, USER_BUF + 64 * PAGE) == E_FAULT
    assert do_syscall(S.SYS_DESCRIBE, 999999, USER_BUF + 4 * PAGE) == E_FAULT
    assert do_syscall(S.SYS_DESCRIBE, 999999, USER_BUF + PAGE - 8) == E_FAULT


def test_describe_of_a_bad_descriptor_is_e_baddesc_and_writes_nothing(kworld, proc):
    rawmem.store_u64(USER_BUF, 0x1234)
    assert do_syscall(S.SYS_DESCRIBE, 999999, USER_BUF) == E_BADDESC
    assert rawmem.load_u64(USER_BUF) == 0x1234


# ------------------------------------------------------------ spawn

def mirrored_image_window(kworld, monkeypatch):
    """Makes spawn's image window readable in simulated memory (see the
    module docstring): each page the window maps is mirrored."""
    real = spawn.image_window

    def image_window(caller, image_desc):
        base = real(caller, image_desc)
        if base != 0:
            mirror(kworld.kernel_pml4, base, spawn._state.window_pages)
        return base

    monkeypatch.setattr(spawn, 'image_window', image_window)


def image_desc(proc, rights=RIGHT_READ | RIGHT_MAP):
    return memory_object_with(proc, images.minimal_elf().build(), rights)


ARGS = USER_BUF + 0x100
DESCS = USER_BUF + 0x800


@pytest.mark.parametrize('count, args_length, error', [
    (-1, 4, E_INVALID), (spawn.MAX_PASSED + 1, 4, E_INVALID), (0, -1, E_INVALID),
    (0, spawn.MAX_ARGS_LENGTH + 1, E_LIMIT), (spawn.MAX_PASSED + 1, -1, E_INVALID),
    (-1, spawn.MAX_ARGS_LENGTH + 1, E_INVALID)])
def test_spawn_refuses_a_bad_count_or_args_length_first(kworld, proc, count, args_length,
                                                         error):
    image = image_desc(proc)
    before = snapshot(kworld, proc)
    assert do_syscall(S.SYS_SPAWN, image, KERNEL_PTR, count, KERNEL_PTR, args_length) == error
    assert snapshot(kworld, proc) == before


@pytest.mark.parametrize('descs, args, count', [
    (KERNEL_PTR, ARGS, 1), (DESCS, KERNEL_PTR, 0), (USER_BUF + 64 * PAGE, ARGS, 1),
    (DESCS, USER_BUF + PAGE - 2, 0), (0, ARGS, 0)])
def test_spawn_refuses_bad_descs_or_args_pointers_with_e_fault(kworld, proc, descs, args,
                                                              count):
    image = image_desc(proc)
    write_bytes(ARGS, 'prog\0')
    before = snapshot(kworld, proc)
    assert do_syscall(S.SYS_SPAWN, image, descs, count, args, 5) == E_FAULT
    assert snapshot(kworld, proc) == before


def test_spawn_refuses_a_bad_image_descriptor(kworld, proc):
    other = process.get(start_task())
    not_readable = api.allocate(proc, PAGE, RIGHT_MAP)
    a_process = api.grant(proc, other, RIGHT_WAIT, True)
    write_bytes(ARGS, 'prog\0')
    before = snapshot(kworld, proc)
    for image, error in [(999999, E_BADDESC), (not_readable, E_RIGHTS), (a_process, E_KIND)]:
        assert do_syscall(S.SYS_SPAWN, image, DESCS, 0, ARGS, 5) == error
        assert snapshot(kworld, proc) == before
    assert paging.translate(kworld.kernel_pml4, spawn.IMAGE_WINDOW) < 0


def test_spawn_starts_the_image_and_gives_a_strong_process_descriptor(kworld, proc,
                                                                     monkeypatch):
    mirrored_image_window(kworld, monkeypatch)
    image = image_desc(proc)
    passed = api.allocate(proc, PAGE, RIGHT_READ | RIGHT_TRANSFER)
    rawmem.store_u64(DESCS, passed)
    write_bytes(ARGS, 'prog\0x\0')
    child_desc = do_syscall(S.SYS_SPAWN, image, DESCS, 1, ARGS, 7)
    assert child_desc > 0
    out = api.Description()
    assert api.describe(proc, child_desc, out) == 0
    assert (out.kind, out.strength, out.rights) == (KIND_PROCESS, STRENGTH_STRONG,
                                                    PROCESS_RIGHTS)
    child = process.get(api.process_named(proc, child_desc, RIGHT_WAIT))
    assert sched.task(child.index).state == sched.TASK_RUNNABLE
    assert api.describe(proc, passed, out) == E_BADDESC              # moved
    assert api.describe(child, limits.DESCRIPTOR_SLOTS, out) == 0
    assert out.kind == KIND_MEMORY and out.rights == RIGHT_READ | RIGHT_TRANSFER
    assert paging.translate(kworld.kernel_pml4, spawn.IMAGE_WINDOW) < 0    # closed


def test_spawn_reports_its_errors_in_the_documented_order(kworld, proc, monkeypatch):
    """docs/abi.md: ... E_FAULT, the image's errors, the passed descriptors'
    errors, one passed twice, E_NOEXEC."""
    mirrored_image_window(kworld, monkeypatch)
    good = image_desc(proc)
    not_elf = memory_object_with(proc, 'not an ELF image', RIGHT_READ | RIGHT_MAP)
    movable = api.allocate(proc, PAGE, RIGHT_READ | RIGHT_TRANSFER)
    kept = api.allocate(proc, PAGE, RIGHT_READ)
    write_bytes(ARGS, 'prog\0')
    before = snapshot(kworld, proc)

    def call(image, passed, args=ARGS):
        for i, value in enumerate(passed):
            rawmem.store_u64(DESCS + i * WORD, value)
        return do_syscall(S.SYS_SPAWN, image, DESCS, len(passed), args, 5)

    assert call(999999, [kept], args=USER_BUF + 64 * PAGE) == E_FAULT
    assert call(999999, [kept]) == E_BADDESC                  # the image's, first
    assert call(not_elf, [kept]) == E_RIGHTS                  # the passed one's
    assert call(not_elf, [movable, movable]) == E_INVALID     # twice
    assert call(not_elf, [movable]) == E_NOEXEC
    assert snapshot(kworld, proc) == before
    assert call(good, [movable]) > 0


# ------------------------------------------------------------ the scheduling calls

def test_clock_returns_the_ticks(kworld, proc):
    assert do_syscall(S.SYS_CLOCK) == clock.ticks()
    tick(preemptible=False, n=3)
    assert do_syscall(S.SYS_CLOCK) == clock.ticks()


def test_yield_goes_to_the_back_of_the_queue_and_returns_0(kworld, proc):
    other = start_task()
    assert do_syscall(S.SYS_YIELD) == 0
    assert sched.current() == other and run_queue() == [proc.index]


@pytest.mark.parametrize('ticks', [-1, syscall.MAX_SLEEP_TICKS + 1])
def test_sleep_refuses_a_negative_or_too_long_duration(kworld, proc, ticks):
    assert do_syscall(S.SYS_SLEEP, ticks) == E_INVALID
    assert sched.current() == proc.index


def test_sleep_accepts_the_longest_duration(kworld, proc):
    assert blocks(do_syscall, S.SYS_SLEEP, syscall.MAX_SLEEP_TICKS) == proc.index
    assert sched.task(proc.index).wake_tick == clock.ticks() + syscall.MAX_SLEEP_TICKS


def test_sleep_of_0_ticks_yields(kworld, proc):
    other = start_task()
    assert do_syscall(S.SYS_SLEEP, 0) == 0
    assert sched.current() == other and run_queue() == [proc.index]


def test_sleep_blocks_the_caller_for_the_ticks_asked(kworld, proc):
    now = clock.ticks()
    assert blocks(do_syscall, S.SYS_SLEEP, 3) == proc.index
    assert sched.task(proc.index).state == sched.TASK_SLEEPING
    assert sched.task(proc.index).wake_tick == now + 3
    tick(n=2)
    assert sched.task(proc.index).state == sched.TASK_SLEEPING
    tick()
    assert sched.current() == proc.index


def test_exit_ends_the_caller_with_its_code(kworld, proc):
    index = proc.index
    assert blocks(do_syscall, S.SYS_EXIT, 33) == index
    assert sched.task(index).exit_code == 33
    assert sched.current() == sched.IDLE
    assert not process.get(index).in_use                 # nobody held it: record freed


def test_wait_blocks_until_the_process_exits_then_gives_its_code(kworld, proc):
    child = process.get(start_task())
    desc = api.grant(proc, child, RIGHT_WAIT, True)
    assert blocks(do_syscall, S.SYS_WAIT, desc) == proc.index
    assert sched.task(proc.index).state == sched.TASK_WAITING
    assert sched.current() == child.index
    blocks(do_syscall, S.SYS_EXIT, 5)
    assert sched.current() == proc.index                 # woken, and the only one
    assert do_syscall(S.SYS_WAIT, desc) == 5             # the call, seen again: at once


def weak_to_an_exited_process(proc, child):
    desc = api.grant(proc, child, RIGHT_WAIT, False)
    sched.kill(child.index, 1)
    return desc


@pytest.mark.parametrize('which, error', [('bad', E_BADDESC), ('memory', E_KIND),
                                          ('no_wait', E_RIGHTS), ('weak_dead', E_DEAD)])
def test_wait_refuses_what_does_not_name_a_waitable_process(kworld, proc, which, error):
    child = process.get(start_task())
    desc = {'bad': lambda: 999999,
            'memory': lambda: api.allocate(proc, PAGE, RIGHT_READ),
            'no_wait': lambda: api.grant(proc, child, RIGHT_CLONE, True),
            'weak_dead': lambda: weak_to_an_exited_process(proc, child)}[which]()
    assert do_syscall(S.SYS_WAIT, desc) == error
    assert sched.current() == proc.index


def test_wait_refuses_the_caller_itself_instead_of_blocking_for_ever(kworld, proc):
    me = do_syscall(S.SYS_SELF, RIGHT_WAIT)
    assert me > 0
    assert do_syscall(S.SYS_WAIT, me) == E_INVALID
    assert sched.current() == proc.index and sched.task(proc.index).state == sched.TASK_RUNNING


# ------------------------------------------------------------ self, counters

def test_self_gives_a_strong_descriptor_to_the_caller_with_the_rights_asked(kworld, proc):
    strong_before = proc.strong
    me = do_syscall(S.SYS_SELF, RIGHT_GIVE | RIGHT_WAIT)
    assert me > 0
    out = api.Description()
    assert api.describe(proc, me, out) == 0
    assert (out.kind, out.strength, out.rights) == (KIND_PROCESS, STRENGTH_STRONG,
                                                    RIGHT_GIVE | RIGHT_WAIT)
    assert api.process_named(proc, me, RIGHT_WAIT) == proc.index
    assert proc.strong == strong_before + 1


@pytest.mark.parametrize('rights', [RIGHT_READ, PROCESS_RIGHTS | 0x200, -1])
def test_self_refuses_rights_a_process_descriptor_cannot_carry(kworld, proc, rights):
    before = snapshot(kworld, proc)
    assert do_syscall(S.SYS_SELF, rights) == E_INVALID
    assert snapshot(kworld, proc) == before


def test_self_in_a_full_table_is_e_noslots(kworld, proc):
    while api.allocate(proc, PAGE, RIGHT_READ) > 0:
        pass
    before = snapshot(kworld, proc)
    assert do_syscall(S.SYS_SELF, RIGHT_WAIT) == E_NOSLOTS
    assert snapshot(kworld, proc) == before


def test_a_process_holding_itself_is_still_freed_when_it_exits(kworld, proc):
    index = proc.index
    assert do_syscall(S.SYS_SELF, PROCESS_RIGHTS) > 0
    blocks(do_syscall, S.SYS_EXIT, 0)
    assert not process.get(index).in_use


def counter_words():
    return dict(zip(counters.FIELDS, user_words(USER_BUF, counters.WORDS)))


def test_counters_writes_the_exact_counts(kworld, proc):
    assert do_syscall(S.SYS_COUNTERS, USER_BUF) == 0
    before = counter_words()
    assert before['processes'] == process.records_in_use() == 1
    assert before['memory_objects'] == memory.records_in_use()
    assert before['mappings'] == mapping.count_in_use()
    assert before['frames_free'] == pmm.frames_free
    assert before['table_frames'] == address_space.table_frames(proc.space)
    assert before['heap_bytes'] == heap.kernel_heap.bytes_in_use
    desc = api.allocate(proc, 3 * PAGE, MEMORY_RIGHTS)
    assert api.map(proc, desc, 0x30000000, 0, 3 * PAGE, PROT_READ) == 0
    weak = api.borrow(proc, desc, 0)
    lease = api.borrow(proc, desc, 50)
    assert do_syscall(S.SYS_COUNTERS, USER_BUF) == 0
    after = counter_words()
    assert after['memory_objects'] == before['memory_objects'] + 1
    assert after['strong_descriptors'] == before['strong_descriptors'] + 1
    assert after['weak_descriptors'] == before['weak_descriptors'] + 2
    assert after['leases'] == before['leases'] + 1
    assert after['mappings'] == before['mappings'] + 1
    assert after['memory_frames'] == before['memory_frames'] + 3
    assert after['table_frames'] > before['table_frames']         # a new page table
    for d in (lease, weak, desc):
        assert api.release(proc, d) == 0
    assert api.unmap(proc, 0x30000000, PAGE) == 0
    assert do_syscall(S.SYS_COUNTERS, USER_BUF) == 0
    again = counter_words()
    kept = ('table_frames', 'heap_pages', 'kernel_table_frames', 'frames_free')
    for name in counters.FIELDS:
        if name not in kept:            # the page tables and heap pages stay
            assert again[name] == before[name], name
    grown = sum(again[name] - before[name] for name in kept[:3])
    assert again['frames_free'] == before['frames_free'] - grown


def test_the_descriptor_counts_follow_transfer_and_exit(kworld, proc):
    other = process.get(start_task())
    target = api.grant(proc, other, PROCESS_RIGHTS, True)
    strong, weak = api.strong_descriptors(), api.weak_descriptors()
    desc = api.allocate(proc, PAGE, MEMORY_RIGHTS)
    lease = api.borrow(proc, desc, 5)
    assert api.transfer(proc, lease, target) > 0
    assert (api.strong_descriptors(), api.weak_descriptors()) == (strong + 1, weak + 1)
    sched.kill(other.index, 1)
    assert (api.strong_descriptors(), api.weak_descriptors()) == (strong + 1, weak)
    assert api.release(proc, desc) == 0 and api.release(proc, target) == 0
    assert (api.strong_descriptors(), api.weak_descriptors()) == (strong - 1, weak)


@pytest.mark.parametrize('out', [KERNEL_PTR, 0, limits.USER_END - 8, USER_BUF + PAGE - 8])
def test_counters_refuses_an_out_range_it_cannot_write(kworld, proc, out):
    assert do_syscall(S.SYS_COUNTERS, out) == E_FAULT


# ------------------------------------------------------------ the object calls

def test_the_object_calls_act_for_the_running_process(kworld, proc):
    other = process.get(start_task())
    va = 0x20000000
    desc = do_syscall(S.SYS_ALLOCATE, 2 * PAGE, MEMORY_RIGHTS)
    assert desc > 0 and api.memory_named(proc, desc, RIGHT_READ) >= 0
    assert api.memory_named(other, desc, RIGHT_READ) < 0
    assert do_syscall(S.SYS_MAP, desc, va, 0, 2 * PAGE, PROT_READ | PROT_WRITE) == 0
    assert address_space.translate(proc.space, va) >= 0
    assert do_syscall(S.SYS_UNMAP, va + PAGE, PAGE) == 1
    assert address_space.translate(proc.space, va + PAGE) < 0
    clone = do_syscall(S.SYS_CLONE, desc, RIGHT_READ | RIGHT_TRANSFER)
    lease = do_syscall(S.SYS_BORROW, desc, 10)
    assert clone > 0 and lease > 0
    out = api.Description()
    assert api.describe(proc, lease, out) == 0 and out.expiry == clock.ticks() + 10
    target = api.grant(proc, other, PROCESS_RIGHTS, True)
    moved = do_syscall(S.SYS_TRANSFER, clone, target)
    assert moved > 0 and api.describe(other, moved, out) == 0
    assert api.describe(proc, clone, out) == E_BADDESC
    assert do_syscall(S.SYS_RELEASE, lease) == 0
    assert api.describe(proc, lease, out) == E_BADDESC
    assert do_syscall(S.SYS_ALLOCATE, 0, MEMORY_RIGHTS) == E_INVALID


# ------------------------------------------------------------ the entry stub

def test_the_syscall_entry_relies_on_fmask_to_clear_the_direction_flag():
    # syscall.S has no cld: the kernel's string copies (rep movsb) run
    # forwards only because IA32_FMASK clears DF on every syscall
    import os
    import re
    arch = os.path.join(os.path.dirname(__file__), '..', '..', 'arch', 'x86_64')
    entry = open(os.path.join(arch, 'syscall.S')).read()
    tables = open(os.path.join(arch, 'cpu_tables.c')).read()
    body = entry.split('elyz_syscall_entry:')[1].split('jmp elyz_trap_exit')[0]
    code = re.sub(r'/\*.*?\*/', '', body, flags=re.S)
    if 'cld' not in code.split():
        fmask = re.search(r'wrmsr\(MSR_FMASK, ([^)]*)\)', tables).group(1)
        assert 'RFLAGS_DF' in fmask
        assert re.search(r'#define RFLAGS_DF\s+\(1ULL << 10\)', tables)
