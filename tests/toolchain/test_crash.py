"""Deliberate failures (elyz/kernel/crash.py) booted in QEMU: the kernel
must stop loudly, with the right message, and never go on silently or
reset the machine without a word."""

import re

from tools import qemurun


def crash_boot(kernel_elf, what):
    return qemurun.boot(kernel=kernel_elf, cmdline='elyz.crash=%s elyz.exit' % what,
                        timeout=60)


def test_a_kernel_stack_overflow_hits_the_guard_page_and_panics_with_a_dump(kernel_elf):
    result = crash_boot(kernel_elf, 'stack-overflow')
    assert 'crash test: recursing' in result.log, result.tail()
    assert re.search(r'^error: kernel stack overflow: the guard page below the boot stack '
                     r'was hit at 0x[0-9a-f]+$', result.log, re.M), result.tail()
    # The double fault ran on its own stack and dumped the registers.
    assert 'error: CPU exception #DF (double fault)' in result.log, result.tail()
    assert re.search(r'^error: rsp 0xffffffff802[0-9a-f]{5}', result.log, re.M), result.tail()
    assert 'PANIC: kernel stack overflow' in result.log, result.tail()
    assert 'crash test survived' not in result.log
    assert result.status == qemurun.STATUS_PANIC, result.tail()


def test_an_exception_escaping_the_trap_handler_is_fatal_with_its_traceback(kernel_elf):
    result = crash_boot(kernel_elf, 'trap-exception')
    assert 'crash test: raising an exception inside the trap handler' in result.log
    assert 'FATAL: an RPython exception escaped the trap handler (vector 241)' in result.log, \
        result.tail()
    assert 'Fatal RPython error: TrapTestError' in result.log, result.tail()
    assert re.search(r'^  File .* in dispatch$', result.log, re.M), result.tail()
    assert 'crash test survived' not in result.log
    assert result.status == qemurun.STATUS_PANIC, result.tail()
