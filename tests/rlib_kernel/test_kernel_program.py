"""The kernel program's C flags: RPython's integer semantics must survive
the C compiler."""

import subprocess
from distutils.spawn import find_executable

import pytest

from elyz.rlib_kernel.backend.program import EntryPoint
from elyz.rlib_kernel.kernel_program import X86_64_CFLAGS, kernel_program

HOST_CC = find_executable('gcc')
needs_gcc = pytest.mark.skipif(HOST_CC is None,
                               reason='compiling with the kernel flags needs gcc on PATH')

# a + 1 > a: always true in C with undefined signed overflow (the compiler
# may fold it to 1), false for LONG_MAX when signed arithmetic wraps, as
# plain RPython ints (intmask, r_uint casts) assume.
OVERFLOW_PROBE_C = 'long elyz_probe_next_is_greater(long a) { return a + 1 > a; }\n'
PROBE_DRIVER_C = r'''
#include <limits.h>
#include <stdio.h>
long elyz_probe_next_is_greater(long a);
int main(void)
{
    printf("%ld %ld\n", elyz_probe_next_is_greater(LONG_MAX), elyz_probe_next_is_greater(1));
    return 0;
}
'''


def _entry(n):
    return n + 1


def test_the_kernel_is_compiled_with_wrapping_signed_arithmetic_and_no_strict_aliasing(tmpdir):
    """-fwrapv: RPython's Signed wraps on overflow, but the C it becomes is
    plain `long` arithmetic, where overflow is undefined.  -fno-strict-aliasing:
    the kernel reads the same raw memory through different pointer types
    (rawmem, the generated casts)."""
    program = kernel_program('x86_64', str(tmpdir), [EntryPoint(_entry, [int], 'f')])
    assert '-fwrapv' in program.toolchain.cflags
    assert '-fno-strict-aliasing' in program.toolchain.cflags
    assert '-fno-wrapv' not in program.toolchain.cflags
    assert '-fstrict-aliasing' not in program.toolchain.cflags


def _probe(tmpdir, cflags):
    """Compiles OVERFLOW_PROBE_C with cflags and links it with a hosted
    driver; returns what it prints for (LONG_MAX, 1)."""
    probe_c = tmpdir.join('probe.c')
    probe_c.write(OVERFLOW_PROBE_C)
    driver_c = tmpdir.join('driver.c')
    driver_c.write(PROBE_DRIVER_C)
    probe_o = str(tmpdir.join('probe.o'))
    exe = str(tmpdir.join('probe'))
    subprocess.check_call([HOST_CC] + list(cflags) + ['-c', str(probe_c), '-o', probe_o])
    subprocess.check_call([HOST_CC, str(driver_c), probe_o, '-o', exe])
    return subprocess.check_output([exe]).decode('ascii').split()


@needs_gcc
def test_with_the_kernel_flags_signed_overflow_wraps(tmpdir):
    """The probe, compiled with exactly the kernel's flags, sees LONG_MAX + 1
    wrap below LONG_MAX."""
    assert _probe(tmpdir, X86_64_CFLAGS) == ['0', '1']


@needs_gcc
def test_without_fwrapv_the_compiler_folds_the_overflow_check(tmpdir):
    """The control: the same flags without -fwrapv let gcc fold a + 1 > a to
    1, which is what the previous test would have seen before -fwrapv."""
    flags = [f for f in X86_64_CFLAGS if f != '-fwrapv']
    result = _probe(tmpdir, flags)
    if result != ['1', '1']:
        pytest.skip('this compiler does not exploit signed overflow here (%s)' % result)
    assert result == ['1', '1']
