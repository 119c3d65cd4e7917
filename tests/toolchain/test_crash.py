"""Deliberate failures (elyz/kernel/crash.py) booted in QEMU: the kernel
must stop loudly, with the right message, and never go on silently or
reset the machine without a word."""

import re

from tools import qemurun


def boot_stack_bottom(kernel_elf):
    from elftools.elf.elffile import ELFFile
    with open(kernel_elf, 'rb') as f:
        symbol = ELFFile(f).get_section_by_name('.symtab').get_symbol_by_name(
            'boot_stack_bottom')[0]
        return symbol['st_value']


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
    rsp = re.search(r'^error: rsp (0x[0-9a-f]+)', result.log, re.M)
    assert rsp, result.tail()
    bottom = boot_stack_bottom(kernel_elf)
    assert bottom - 4096 <= int(rsp.group(1), 16) <= bottom + 256    # at the guard page
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
