"""The C runtime (arch/common/runtime/runtime.c) and the x86_64 string
functions (arch/x86_64/string.c), compiled for the host and run.

The sources are compiled exactly as for the kernel (freestanding, against
arch/common/sysroot, with the kernel's flags minus the three that tie code
to the kernel's address space), with every libc name they define renamed
to elyz_test_<name>, and linked with tests/runtime/host_driver.c, a hosted
program that provides elyz_fatal/elyz_debug_putc and runs one named check
per process (so a crash fails one test, with its output).  Two builds: the
generic runtime alone, and the runtime with the x86_64 string functions
(which override its weak memcpy/memmove/memset, as in the kernel).
"""

import os
import subprocess
from distutils.spawn import find_executable

import pytest

from elyz.rlib_kernel.backend.program import COMMON_RUNTIME_DIR, REPO_DIR, SYSROOT_DIR
from elyz.rlib_kernel.kernel_program import X86_64_CFLAGS
from tests.runtime.c_asm import asm_statements

HOST_CC = find_executable('gcc')
pytestmark = pytest.mark.skipif(HOST_CC is None,
                                reason='the host C tests need gcc on PATH (apt-get install gcc)')

RUNTIME_C = os.path.join(COMMON_RUNTIME_DIR, 'runtime.c')
STRING_C = os.path.join(REPO_DIR, 'arch', 'x86_64', 'string.c')
DRIVER_C = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'host_driver.c')

# Kernel flags a hosted (position-independent, user-space) executable cannot use.
KERNEL_ONLY_FLAGS = ('-mcmodel=kernel', '-fno-pic', '-fno-pie')
# The libc names the runtime sources define or use, renamed for the host.
RENAMED_SYMBOLS = ('malloc', 'calloc', 'free', 'realloc', 'memcpy', 'memmove', 'memset',
                   'memcmp', 'strlen', 'abort', 'errno', 'stderr', 'fprintf', 'vfprintf')
TEST_PREFIX = 'elyz_test_'
# Global names the renamed objects may define: the runtime's own.
OWN_SYMBOL_PREFIXES = (TEST_PREFIX, 'elyz_', 'rpy_', 'LL_')

ALLOCATION_CHECKS = ('bump_huge', 'bump_small', 'bump_exhaustion', 'calloc', 'realloc')
STRING_IMPLEMENTATIONS = ('generic', 'x86_64')


def freestanding_flags():
    """Returns the kernel's C flags usable for a host object, plus the
    sysroot and the renames."""
    include = subprocess.check_output([HOST_CC, '-print-file-name=include']).strip()
    flags = [f for f in X86_64_CFLAGS if f not in KERNEL_ONLY_FLAGS]
    flags += ['-nostdinc', '-isystem', SYSROOT_DIR, '-isystem', include, '-I', COMMON_RUNTIME_DIR]
    flags += ['-D%s=%s%s' % (name, TEST_PREFIX, name) for name in RENAMED_SYMBOLS]
    return flags


def run(cmd):
    """Runs cmd; returns its output, or fails the test with it."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.communicate()[0].decode('utf-8', 'replace')
    if proc.returncode != 0:
        pytest.fail('%s failed (status %d):\n%s' % (' '.join(cmd), proc.returncode, out))
    return out


def compile_freestanding(source, obj):
    """Compiles source into obj and checks that it defines no libc name."""
    run([HOST_CC] + freestanding_flags() + ['-c', source, '-o', obj])
    names = run(['nm', '--defined-only', '--extern-only', obj]).split()[2::3]
    stray = [n for n in names if not n.startswith(OWN_SYMBOL_PREFIXES)]
    assert not stray, '%s defines %s: add them to RENAMED_SYMBOLS' % (source, stray)


@pytest.fixture(scope='module')
def drivers(tmpdir_factory):
    """Returns {'generic': path, 'x86_64': path} of the two driver builds."""
    tmp = tmpdir_factory.mktemp('runtime_c')
    runtime_o = str(tmp.join('runtime.o'))
    string_o = str(tmp.join('string.o'))
    compile_freestanding(RUNTIME_C, runtime_o)
    compile_freestanding(STRING_C, string_o)
    built = {}
    for name, objects in (('generic', [runtime_o]), ('x86_64', [runtime_o, string_o])):
        exe = str(tmp.join('driver_' + name))
        run([HOST_CC, '-std=gnu11', '-O1', '-mno-red-zone', '-Wall', DRIVER_C]
            + objects + ['-o', exe])
        built[name] = exe
    return built


def run_check(exe, check):
    proc = subprocess.Popen([exe, check], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.communicate()[0].decode('utf-8', 'replace')
    return proc.returncode, out


@pytest.mark.parametrize('check', ALLOCATION_CHECKS)
def test_bump_allocator(drivers, check):
    """bump_huge: malloc of SIZE_MAX, SIZE_MAX-7, SIZE_MAX-15 (and neighbours)
    is NULL and carves nothing; bump_small: blocks of 0..64 bytes are
    16-aligned, distinct and do not overlap; bump_exhaustion: a full arena
    gives NULL, also for malloc(0); calloc: overflowing or unroundable
    products are NULL, blocks are zeroed; realloc: a bump block is copied
    (also into an installed allocator, whose free never sees bump blocks)."""
    status, out = run_check(drivers['generic'], check)
    assert status == 0 and out.strip().endswith('ok'), \
        'check %s: status %d\n%s' % (check, status, out)


@pytest.mark.parametrize('implementation', STRING_IMPLEMENTATIONS)
def test_memmove_memcpy_memset_against_a_reference(drivers, implementation):
    """Every size 0..80 at source and destination offsets 0..9 (memmove in
    both overlap directions), 4000-byte overlapping moves, guard bytes
    untouched, the destination returned, the direction flag clear after."""
    status, out = run_check(drivers[implementation], 'string_functions')
    assert status == 0 and out.strip().endswith('ok'), \
        '%s string functions: status %d\n%s' % (implementation, status, out)


def test_x86_64_string_asm_sets_and_clears_the_direction_flag_in_one_statement():
    """A backward copy's std and its cld must be in the same asm statement:
    between two statements the compiler may run code (or call memcpy) with
    the direction flag set, which the ABI forbids."""
    statements = asm_statements(open(STRING_C).read())
    assert statements, 'no asm found in %s' % STRING_C
    for asm in statements:
        instructions = [i.strip() for i in asm.template.replace(';', '\n').split('\n')]
        assert 'memory' in asm.clobber_names, asm.text
        if 'std' in instructions or 'cld' in instructions:
            assert 'std' in instructions and 'cld' in instructions, \
                'std and cld in separate asm statements: %s' % asm.text
            assert instructions.index('std') < instructions.index('cld'), asm.text
            assert instructions[-1] == 'cld', 'cld must end the statement: %s' % asm.text
            assert 'cc' in asm.clobber_names, 'std/cld change the flags: %s' % asm.text
