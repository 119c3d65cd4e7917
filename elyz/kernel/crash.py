"""Deliberate failures, chosen on the kernel command line, that the boot
tests (tests/toolchain/test_crash.py) use to prove the kernel stops loudly
where it must instead of corrupting itself or going on silently.

    run_requested(boot_info)   does the failure the command line names:
        elyz.crash=stack-overflow   unbounded recursion with no RPython stack
                                    check: the guard page below the boot stack
                                    must stop it ("kernel stack overflow",
                                    register dump, panic)
        elyz.crash=trap-exception   the trap handler raises an RPython
                                    exception: the C trap path must stop the
                                    kernel with a fatal error and traceback
    If the failure did not stop the kernel, logs "crash test survived: ..."
    at ERROR level and returns (the boot test then fails); returns at once
    when the command line names none.
"""

from elyz.kernel import traps
from elyz.lib import log
from elyz.rlib_kernel import cpu
from elyz.rlib_kernel import traps as arch_traps

CRASH_STACK_OVERFLOW = 'elyz.crash=stack-overflow'
CRASH_TRAP_EXCEPTION = 'elyz.crash=trap-exception'


class _Depth(object):
    def __init__(self):
        self.deepest = 0


_depth = _Depth()


def _recurse_unchecked(depth):
    """Calls itself without end; returns never (the barriers keep the C
    compiler from turning the recursion into a loop)."""
    _depth.deepest = depth
    cpu.compiler_barrier()
    result = _recurse_unchecked(depth + 1)
    cpu.compiler_barrier()
    return result + 1


_recurse_unchecked._dont_insert_stackcheck_ = True


def _survived(what):
    log.begin(log.ERROR)
    log.put('crash test survived: ')
    log.put(what)
    log.end()


def run_requested(boot_info):
    """Runs the deliberate failure boot_info's command line names, if any;
    returns only when there was none or it did not stop the kernel."""
    if boot_info.cmdline_has(CRASH_STACK_OVERFLOW):
        log.line(log.INFO, 'crash test: recursing until the stack guard page is hit')
        _recurse_unchecked(0)
        _survived(CRASH_STACK_OVERFLOW)
    if boot_info.cmdline_has(CRASH_TRAP_EXCEPTION):
        log.line(log.INFO, 'crash test: raising an exception inside the trap handler')
        traps.arm_escape_test()
        arch_traps.raise_test_trap()
        _survived(CRASH_TRAP_EXCEPTION)
