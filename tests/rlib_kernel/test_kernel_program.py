"""The kernel program's C flags (RPython's integer semantics must survive
the C compiler; no floating point in the kernel), its per-architecture
tools and the sources it is built from."""

import os
import re
import subprocess
from distutils.spawn import find_executable

import pytest

from elyz.rlib_kernel.backend.program import EntryPoint
from elyz.rlib_kernel import kernel_program as kp
from elyz.rlib_kernel.kernel_program import X86_64_CFLAGS, kernel_program
from tests.conftest import ROOT

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


# ------------------------------------------------------ per architecture

PORTED = [karch for karch in kp.SUPPORTED_KARCHS
          if os.path.isdir(os.path.join(ROOT, 'arch', karch))]
FLOAT_C = 'double elyz_twice(double a) { return a * 2; }\n'


@pytest.fixture
def no_tool_overrides(monkeypatch):
    monkeypatch.delenv('ELYZ_CC', raising=False)
    monkeypatch.delenv('ELYZ_LD', raising=False)


def flags(karch):
    return kp.COMMON_CFLAGS + kp.ARCH_CFLAGS[karch]


@pytest.mark.parametrize('karch, prefix', [('x86_64', ''), ('aarch64', 'aarch64-linux-gnu-'),
                                           ('riscv64', 'riscv64-linux-gnu-')])
def test_each_gcc_port_uses_its_debian_cross_tools(karch, prefix):
    assert kp.toolchain_commands(karch) == (prefix + 'gcc', prefix + 'ld', prefix + 'objcopy',
                                            prefix + 'strip')


def test_loongarch64_uses_the_zig_wrappers():
    tools = kp.toolchain_commands('loongarch64')
    assert [os.path.basename(t) for t in tools] == ['zig-cc', 'zig-ld', 'zig-objcopy',
                                                    'zig-strip']
    assert all(os.path.dirname(t) == os.path.join(ROOT, 'build', 'tools', 'zig', 'bin')
               for t in tools)


def test_x86_64_keeps_sse_mmx_and_x87_out_of_the_kernel():
    for flag in ('-mno-sse', '-mno-sse2', '-mno-mmx', '-mno-80387', '-mno-red-zone'):
        assert flag in flags('x86_64')


def test_aarch64_uses_only_general_registers():
    assert '-mgeneral-regs-only' in flags('aarch64')


def test_riscv64_is_lp64_without_the_f_and_d_extensions():
    (march,) = [f for f in flags('riscv64') if f.startswith('-march=')]
    base = re.match(r'-march=rv64([a-z]+)', march).group(1)   # single-letter extensions
    assert 'i' in base and not set(base) & set('fdgqv')
    assert '-mabi=lp64' in flags('riscv64')


def test_loongarch64_is_soft_float_without_vector_units():
    # clang has no -msoft-float for LoongArch: the CPU loses its FPU and
    # vector units instead (-f -d -lsx -lasx), with the integer-only ABI.
    assert '-mabi=lp64s' in flags('loongarch64')
    (mcpu,) = [f for f in flags('loongarch64') if f.startswith('-mcpu=')]
    assert set(mcpu.split('-')[2:]) == set(['f', 'd', 'lsx', 'lasx'])


@pytest.mark.parametrize('karch', kp.SUPPORTED_KARCHS)
def test_every_port_is_freestanding_with_wrapping_arithmetic(karch):
    for flag in ('-ffreestanding', '-fno-builtin', '-fwrapv', '-fno-strict-aliasing',
                 '-fno-pic'):
        assert flag in flags(karch)
    other = [f for k in kp.SUPPORTED_KARCHS if k != karch for f in kp.ARCH_CFLAGS[k]
             if f not in kp.ARCH_CFLAGS[karch] and f.startswith('-m')]
    assert not set(other) & set(flags(karch))        # no other architecture's options


def _cross(karch, tool):
    return find_executable(kp.toolchain_commands(karch)[0].replace('gcc', tool))


@pytest.mark.parametrize('karch', ['x86_64', 'aarch64'])
def test_a_float_in_kernel_c_does_not_compile(tmpdir, karch):
    cc = _cross(karch, 'gcc')
    if cc is None:
        pytest.skip('%s has no compiler here' % karch)
    source = tmpdir.join('float.c')
    source.write(FLOAT_C)
    proc = subprocess.Popen([cc] + flags(karch) + ['-c', str(source), '-o',
                                                   str(tmpdir.join('float.o'))],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.communicate()[0]
    assert proc.returncode != 0, out


def test_a_float_in_riscv64_kernel_c_needs_soft_float_helpers_the_kernel_lacks(tmpdir):
    cc, nm = _cross('riscv64', 'gcc'), _cross('riscv64', 'nm')
    if cc is None or nm is None:
        pytest.skip('riscv64 has no compiler here')
    source = tmpdir.join('float.c')
    source.write(FLOAT_C)
    obj = str(tmpdir.join('float.o'))
    subprocess.check_call([cc] + flags('riscv64') + ['-c', str(source), '-o', obj])
    undefined = subprocess.check_output([nm, '-u', obj]).decode('ascii')
    assert re.search(r'__(add|mul)df3', undefined)   # no FPU instructions: a link error


def _entry_points():
    return [EntryPoint(_entry, [int], 'f')]


@pytest.mark.parametrize('karch', PORTED)
def test_kernel_program_of_each_port_takes_its_arch_directory(tmpdir, karch,
                                                              no_tool_overrides):
    program = kernel_program(karch, str(tmpdir), _entry_points())
    adir = os.path.join(ROOT, 'arch', karch)
    assert program.linker_script == os.path.join(adir, 'linker.ld')
    assert program.include_dirs[0] == adir
    assert program.output == os.path.join(str(tmpdir), 'elyz.elf')
    assert sorted(program.asm_sources) == sorted(
        os.path.join(adir, f) for f in os.listdir(adir) if f.endswith('.S'))
    arch_c = [p for p in program.runtime_sources if os.path.dirname(p) == adir]
    assert sorted(arch_c) == sorted(
        os.path.join(adir, f) for f in os.listdir(adir) if f.endswith('.c'))
    for path in program.runtime_sources + program.asm_sources:
        assert os.path.isfile(path), path
        assert os.path.dirname(path) == adir or '/arch/common/' in path, path
    assert os.path.join(adir, 'trap.S') in program.asm_sources
    cc, ld, objcopy, strip = kp.toolchain_commands(karch)
    toolchain = program.toolchain
    assert (toolchain.cc, toolchain.ld, toolchain.objcopy, toolchain.strip) == \
        (cc, ld, objcopy, strip)
    assert toolchain.cflags == flags(karch)
    assert toolchain.ldflags == kp.COMMON_LDFLAGS + kp.ARCH_LDFLAGS[karch]


def test_riscv64_links_without_relaxation(tmpdir, no_tool_overrides):
    program = kernel_program('riscv64', str(tmpdir), _entry_points())
    assert '--no-relax' in program.toolchain.ldflags
    assert '-mno-relax' in program.toolchain.cflags


def test_elyz_cc_and_elyz_ld_override_the_cross_tools(tmpdir, monkeypatch):
    monkeypatch.setenv('ELYZ_CC', '/opt/cross/bin/cc')
    monkeypatch.setenv('ELYZ_LD', '/opt/cross/bin/ld')
    program = kernel_program('aarch64', str(tmpdir), _entry_points())
    assert (program.toolchain.cc, program.toolchain.ld) == ('/opt/cross/bin/cc',
                                                            '/opt/cross/bin/ld')
    assert program.toolchain.objcopy == 'aarch64-linux-gnu-objcopy'
