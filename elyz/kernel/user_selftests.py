"""Self-tests of user mode (`make selftest`), registered on import: the tiny
ring-3 programs of arch/x86_64/usertests.S run as real processes while the
kernel's boot context idles.

    user.syscalls_and_exit      hello writes a line, reads the clock, yields
                                and exits 42
    user.faults_kill_only_the_process   a null write, hlt, ud2, a division
                                by zero and a read of kernel memory each end
                                their process with 128 + the vector; a
                                process started afterwards runs normally
    user.bad_pointers_return_e_fault    kernel and unmapped pointers give
                                E_FAULT, an unknown call E_NOSYS
    user.preemption             a process in an endless loop does not stop
                                another one from finishing
    user.sleep_wakes_on_time    sleep(5) returns after 5 to 7 ticks
    user.release_unmaps         memory mapped from user mode and released
                                faults when touched again
    user.fpu_state_is_per_process   two processes keep different values in
                                xmm0 across 200 switches
    user.no_leak                free frames and kernel heap bytes after all
                                of the above equal their values before
"""

from elyz.abi.rights import (PROT_EXEC, PROT_READ, PROT_WRITE, RIGHT_EXEC, RIGHT_MAP,
                             RIGHT_READ, RIGHT_WRITE)
from elyz.kernel import sched, selftest
from elyz.lib import log
from elyz.mm import address_space, heap
from elyz.mm.pmm import pmm
from elyz.obj import api, process
from elyz.rlib_kernel import rawmem, usertests

PAGE = 4096
CODE_VA = 0x400000
STACK_SIZE = 4 * PAGE
STACK_TOP = 0x00007FF000000000
EXIT_FAULT_BASE = 128
VECTOR_DIVIDE = 0
VECTOR_INVALID_OPCODE = 6
VECTOR_GENERAL_PROTECTION = 13
VECTOR_PAGE_FAULT = 14
HELLO_EXIT = 42
FPU_SEED_A = 0x1111222233334444
FPU_SEED_B = 0x5555666677778888


class _Baseline(object):
    def __init__(self):
        self.taken = False
        self.frames = 0
        self.heap_bytes = 0


_baseline = _Baseline()


def launch(name, arg):
    """Starts program name as a new process (arg in rdi); returns its
    process record index, or a negative error."""
    index = api.spawn(None, 0)
    if index < 0:
        return index
    proc = process.get(index)
    code = api.allocate(proc, PAGE, RIGHT_READ | RIGHT_EXEC | RIGHT_MAP)
    stack = api.allocate(proc, STACK_SIZE, RIGHT_READ | RIGHT_WRITE | RIGHT_MAP)
    if code < 0 or stack < 0 or \
            api.map(proc, code, CODE_VA, 0, PAGE, PROT_READ | PROT_EXEC) < 0 or \
            api.map(proc, stack, STACK_TOP - STACK_SIZE, 0, STACK_SIZE,
                    PROT_READ | PROT_WRITE) < 0:
        api.exit(proc, 0)
        return -1
    phys = address_space.translate(proc.space, CODE_VA)
    start = usertests.start(name)
    length = usertests.end(name) - start
    rawmem.copy(pmm.phys_to_virt(phys), start, length)
    status = sched.start(index, CODE_VA, STACK_TOP, arg, 0)
    if status < 0:
        api.exit(proc, 0)
        return status
    return index


def run(name, arg):
    """Runs program name to its end; returns its exit code (or -1 when it
    could not start)."""
    index = launch(name, arg)
    if index < 0:
        return -1
    return sched.wait_idle_until_exited(index)


def _take_baseline():
    if not _baseline.taken:
        run('hello', 0)                 # warm-up: heap slabs, page tables of the region
        _baseline.frames = pmm.frames_free
        _baseline.heap_bytes = heap.kernel_heap.bytes_in_use
        _baseline.taken = True


@selftest.selftest('user.syscalls_and_exit')
def test_syscalls_and_exit():
    _take_baseline()
    if run('hello', 0) != HELLO_EXIT:
        return 'hello did not exit with 42'
    return None


@selftest.selftest('user.faults_kill_only_the_process')
def test_faults_kill_only_the_process():
    if run('fault_null', 0) != EXIT_FAULT_BASE + VECTOR_PAGE_FAULT:
        return 'a null write did not end the process with 128 + #PF'
    if run('fault_privileged', 0) != EXIT_FAULT_BASE + VECTOR_GENERAL_PROTECTION:
        return 'hlt in user mode did not end the process with 128 + #GP'
    if run('fault_ud', 0) != EXIT_FAULT_BASE + VECTOR_INVALID_OPCODE:
        return 'ud2 did not end the process with 128 + #UD'
    if run('fault_divide', 0) != EXIT_FAULT_BASE + VECTOR_DIVIDE:
        return 'a division by zero did not end the process with 128 + #DE'
    if run('fault_kernel_read', 0) != EXIT_FAULT_BASE + VECTOR_PAGE_FAULT:
        return 'reading kernel memory from user mode did not fault'
    if run('hello', 0) != HELLO_EXIT:
        return 'a process after the faults did not run normally'
    return None


@selftest.selftest('user.bad_pointers_return_e_fault')
def test_bad_pointers():
    if run('bad_pointers', 0) != 0:
        return 'a bad pointer or an unknown call was not refused'
    return None


@selftest.selftest('user.preemption')
def test_preemption():
    spinner = launch('spin', 0)
    if spinner < 0:
        return 'cannot start the spinning process'
    code = run('hello', 0)
    sched.kill(spinner, 0)
    if code != HELLO_EXIT:
        return 'a process next to an endless loop did not finish'
    return None


@selftest.selftest('user.sleep_wakes_on_time')
def test_sleep():
    slept = run('sleeper', 0)
    if slept < 5 or slept > 7:
        return 'sleep(5) did not return after 5 to 7 ticks'
    return None


@selftest.selftest('user.release_unmaps')
def test_release_unmaps():
    if run('memory', 0) != EXIT_FAULT_BASE + VECTOR_PAGE_FAULT:
        return 'memory released from user mode was still mapped'
    return None


@selftest.selftest('user.fpu_state_is_per_process')
def test_fpu():
    a = launch('fpu', FPU_SEED_A)
    b = launch('fpu', FPU_SEED_B)
    if a < 0 or b < 0:
        return 'cannot start the two FPU processes'
    if sched.wait_idle_until_exited(a) != 0 or sched.wait_idle_until_exited(b) != 0:
        return 'an xmm register changed across a switch'
    return None


@selftest.selftest('user.no_leak')
def test_no_leak():
    if not _baseline.taken:
        return 'no baseline'
    log.begin(log.INFO)
    log.put('user: frames free ')
    log.put_int(_baseline.frames)
    log.put(' -> ')
    log.put_int(pmm.frames_free)
    log.put(', heap bytes ')
    log.put_int(_baseline.heap_bytes)
    log.put(' -> ')
    log.put_int(heap.kernel_heap.bytes_in_use)
    log.put(', processes ')
    log.put_int(process.records_in_use())
    log.put(', tasks ')
    log.put_int(sched.tasks_in_use())
    log.end()
    if pmm.frames_free != _baseline.frames or heap.kernel_heap.bytes_in_use != \
            _baseline.heap_bytes:
        return 'frames or heap bytes leaked'
    if process.records_in_use() != 0 or sched.tasks_in_use() != 0:
        return 'a process record or task is left'
    return None
