"""The user image's own objects run as Linux processes (tests/user/hosted.py
swaps only the crt and the system-call layer): the programs are picked by
their first argument, print through debug_write, and exit with their code;
gcstress allocates more than 100 times the heap it ever had."""

import re

import pytest

from tests.user.hosted import render_nosys, run, shim_implements

SHIM_LINE = re.compile(r'^\[shim\] maps=(\d+) mapped=(\d+)$', re.M)


def shim_mapped(err):
    m = SHIM_LINE.search(err)
    assert m, err
    return int(m.group(1)), int(m.group(2))


def test_hello_prints_its_greeting_and_arguments_and_exits_0(hosted):
    status, out, err = run(hosted, 'hello', 'a', 'b c')
    assert status == 0
    assert out == ("hello from Elyz user mode: hello\n"
                   "arguments: a b c\n")


def test_gcstress_allocates_over_100_times_its_peak_heap_with_right_results(hosted):
    status, out, err = run(hosted, 'gcstress')
    assert status == 0, out + err
    m = re.match(r'^gcstress: ok rounds=(\d+) allocated=(\d+) objects=(\d+) heap_mapped=(\d+) '
                 r'heap_peak=(\d+) chunks=(\d+) ratio=(\d+)\n$', out)
    assert m, out
    rounds, allocated, objects, mapped, peak, chunks, ratio = [int(g) for g in m.groups()]
    maps, shim_bytes = shim_mapped(err)
    # The heap only grows: what the kernel (here the shim) mapped is its peak.
    assert (maps, shim_bytes) == (chunks, mapped)
    assert 0 < peak <= mapped
    assert allocated >= 100 * mapped
    assert ratio == allocated // mapped >= 100
    assert objects > 10 * 1000 * 1000


def test_the_runtime_heap_reuses_freed_memory_and_keeps_its_rules(hosted):
    status, out, err = run(hosted, 'rtcheck', 'heap')
    assert status == 0, out
    assert out.startswith('rtcheck: heap ok operations=3000 ')


def test_a_deep_recursion_raises_stack_overflow_within_the_stack_the_crt_assumes(hosted):
    status, out, err = run(hosted, 'rtcheck', 'recursion')
    assert status == 0, out
    depth = int(re.match(r'rtcheck: recursion ok, StackOverflow at depth (\d+)\n$', out).group(1))
    # 64 KiB assumed (rdx = 0), 16 KiB kept in reserve: a few dozen bytes a frame.
    assert 200 < depth < 48 * 1024 // 16


def test_user_programs_compute_with_doubles(hosted):
    assert run(hosted, 'rtcheck', 'float')[:2] == (0, 'rtcheck: float ok\n')


def test_exit_from_deep_inside_a_program_gives_its_code(hosted):
    assert run(hosted, 'rtcheck', 'exit')[:2] == (42, 'rtcheck: exiting with 42\n')


def test_an_escaping_rpython_exception_prints_the_traceback_and_exits_127(hosted):
    status, out, err = run(hosted, 'rtcheck', 'exception')
    assert status == 127
    assert 'an RPython exception escaped the program' in out
    assert 'RPython traceback' in out and 'Fatal RPython error: ValueError' in out


@pytest.mark.parametrize('args', [[], ['nosuchprogram']])
def test_no_or_an_unknown_program_name_lists_the_programs_and_exits_127(hosted, args):
    status, out, err = run(hosted, *args)
    assert status == 127
    from user.lib.image import program_names
    assert 'the first argument names the program: %s' % ' '.join(program_names()) in out
    assert ('nosuchprogram' in out) == bool(args)


def test_a_bad_argument_is_refused_by_the_program(hosted):
    assert run(hosted, 'gcstress', 'many')[:2] == (2, 'usage: gcstress [rounds]\n')


def test_the_shim_stubs_every_call_it_does_not_implement():
    implemented = shim_implements()
    assert set(['debug_write', 'exit', 'allocate', 'map', 'release', 'unmap']) <= implemented
    text = render_nosys()
    from elyz.abi import syscalls
    for _, name, _, _ in syscalls.SYSCALLS:
        assert (('elyz_sys_%s(' % name) in text) != (name in implemented), name
