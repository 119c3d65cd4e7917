"""The freestanding backend: checks, source syncing, and a real build of a
tiny program (compile only, for the host C compiler)."""

import os

import pytest

from elyz.rlib_kernel.backend.builder import sync_tree
from elyz.rlib_kernel.backend import checks
from elyz.rlib_kernel.backend.checks import FreestandingError
from elyz.rlib_kernel.backend.program import EntryPoint, FreestandingProgram, Toolchain
from elyz.rlib_kernel.backend.driver import translate
from elyz.rlib_kernel import kernel_program as kernel_program_module
from elyz.rlib_kernel.kernel_program import UnsupportedArch, kernel_program, X86_64_CFLAGS
from elyz.rlib_kernel import rawmem
from tests.support.rpycheck import rtype

from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo


def uses_a_float(n):
    return int(n * 0.5)


def calls_libc_write(n):
    return _write(1, n)


_write = rffi.llexternal('write', [lltype.Signed, lltype.Signed], lltype.Signed,
                         _nowrapper=True)


def clean_function(addr):
    rawmem.store_u32(addr, rawmem.load_u32(addr) + 1)
    return rawmem.load_u32(addr)


def test_a_float_fails_the_translation_naming_the_function():
    with pytest.raises(FreestandingError) as err:
        rtype([(uses_a_float, [int])])
    assert 'uses_a_float()' in str(err.value)
    assert 'float' in str(err.value)


def test_a_libc_call_fails_the_translation_naming_function_and_symbol():
    with pytest.raises(FreestandingError) as err:
        rtype([(calls_libc_write, [int])])
    assert 'calls_libc_write()' in str(err.value)
    assert 'write' in str(err.value)


def test_raw_memory_primitives_are_valid_freestanding_rpython():
    rtype([(clean_function, [int])])


def test_sync_tree_rewrites_only_changed_files(tmpdir):
    src = tmpdir.mkdir('src')
    dst = tmpdir.mkdir('dst')
    src.join('a.c').write('int a;')
    src.join('b.c').write('int b;')
    assert sync_tree(str(src), str(dst)) == 2
    os.utime(str(dst.join('a.c')), (1, 1))
    src.join('b.c').write('int b2;')
    dst.join('stale.c').write('old')
    assert sync_tree(str(src), str(dst)) == 1
    assert os.path.getmtime(str(dst.join('a.c'))) == 1       # untouched
    assert dst.join('b.c').read() == 'int b2;'
    assert not dst.join('stale.c').check()


def test_unknown_or_unported_karch_is_refused_with_the_supported_list(tmpdir, monkeypatch):
    monkeypatch.setattr(kernel_program_module, 'PLANNED_KARCHS', ('mips64',))
    with pytest.raises(UnsupportedArch) as err:
        kernel_program('mips64', str(tmpdir), [EntryPoint(clean_function, [int], 'f')])
    assert 'not landed' in str(err.value)
    with pytest.raises(UnsupportedArch) as err:
        kernel_program('vax', str(tmpdir), [EntryPoint(clean_function, [int], 'f')])
    assert 'not an architecture' in str(err.value)
    for karch in ('x86_64', 'aarch64', 'riscv64'):
        assert karch in str(err.value)


def _calls_through(header):
    """Returns an entry point calling elyz_port_probe, declared by an ECI
    that includes header."""
    probe = rffi.llexternal('elyz_port_probe', [lltype.Signed], lltype.Signed,
                            compilation_info=ExternalCompilationInfo(includes=[header]),
                            _nowrapper=True, sandboxsafe=True, releasegil=False,
                            _callable=lambda n: n)

    def calls_the_probe(n):
        return probe(n)
    return calls_the_probe


def test_a_call_declared_by_the_ports_elyz_cpu_h_is_the_programs_own():
    assert 'elyz_cpu.h' in checks.PROGRAM_HEADERS
    rtype([(_calls_through('elyz_cpu.h'), [int])])


@pytest.mark.parametrize('header', ['stdio.h', 'elyz_cpu_extra.h'])
def test_a_call_declared_by_another_header_is_refused(header):
    with pytest.raises(FreestandingError) as err:
        rtype([(_calls_through(header), [int])])
    assert 'calls the C function elyz_port_probe' in str(err.value)


def exported_one(x):
    return x + 1


def exported_two(x, y):
    return x * y


def test_translate_compiles_a_program_with_two_exported_entry_points(tmpdir):
    program = FreestandingProgram(
        name='tiny', build_dir=str(tmpdir),
        entry_points=[EntryPoint(exported_one, [int], 'tiny_one'),
                      EntryPoint(exported_two, [int, int], 'tiny_two')],
        toolchain=Toolchain('gcc', 'ld', X86_64_CFLAGS, []),
        compile_only=True)
    translate(program)
    generated = ''.join(open(os.path.join(program.gen_dir, f)).read()
                        for f in os.listdir(program.gen_dir) if f.endswith('.c'))
    assert 'tiny_one(' in generated and 'tiny_two(' in generated
    objects = os.listdir(program.obj_dir)
    assert any(o.endswith('.o') for o in objects)


class Box(object):
    def __init__(self, value):
        self.value = value


def builds_a_box(n):
    return Box(n).value + len([n] * n)


def handler_that_allocates(n):
    return builds_a_box(n)


@checks.may_allocate
def exempt_panic(n):
    return Box(n).value


def handler_that_only_panics_with_allocation(n):
    if n < 0:
        return exempt_panic(n)
    return n * 2


def _program(tmpdir, function):
    return FreestandingProgram(
        name='alloc', build_dir=str(tmpdir),
        entry_points=[EntryPoint(function, [int], 'alloc_entry', allocation_free=True)],
        toolchain=Toolchain('gcc', 'ld', X86_64_CFLAGS, []), compile_only=True)


def test_allocation_in_an_allocation_free_entry_point_fails_naming_the_path(tmpdir):
    with pytest.raises(FreestandingError) as err:
        translate(_program(tmpdir, handler_that_allocates))
    message = str(err.value)
    # builds_a_box is inlined and its Box removed: the list remains.
    assert 'handler_that_allocates -> ll_alloc_and_set' in message
    assert 'malloc_varsize' in message


def test_a_may_allocate_function_is_exempt_from_the_allocation_check(tmpdir):
    translate(_program(tmpdir, handler_that_only_panics_with_allocation))


def test_relink_rebuilds_from_the_last_translation_without_translating(tmpdir):
    from elyz.rlib_kernel.backend.build import BuildError, relink
    program = FreestandingProgram(
        name='tiny', build_dir=str(tmpdir),
        entry_points=[EntryPoint(exported_one, [int], 'tiny_one')],
        toolchain=Toolchain('gcc', 'ld', X86_64_CFLAGS, []), compile_only=True)
    with pytest.raises(BuildError) as err:
        relink(program)
    assert 'translate first' in str(err.value)
    translate(program)
    objects = sorted(os.listdir(program.obj_dir))
    for name in objects:
        os.remove(os.path.join(program.obj_dir, name))
    relink(program)
    assert sorted(os.listdir(program.obj_dir)) == objects
