"""The backend's user-program mode (gc='incminimark'), next to the kernel
mode it must leave unchanged: the program description, the graph checks
per mode, the configuration each mode requires, the GC's host probes
replaced by constants, and the two targets each forcing their own GC in
their own process."""

import os
import re
import subprocess
import sys

import pytest
from rpython.config.translationoption import get_combined_translation_config
from rpython.rlib import rgc

from elyz.rlib_kernel.backend import checks, gcsupport, options
from elyz.rlib_kernel.backend.checks import FreestandingError
from elyz.rlib_kernel.backend.driver import _require_config
from elyz.rlib_kernel.backend.program import (
    GC_RUNTIME_SYMBOLS, EntryPoint, FreestandingProgram, GcOptions, Toolchain)
from tests.conftest import ROOT

TOOLCHAIN = Toolchain('gcc', 'ld', [], [])


def entry(n):
    return n + 1


def halves(n):
    return int(n * 0.5)


def collects(n):
    rgc.collect()
    return n


def program(gc='incminimark', allocation_free=False, **kwargs):
    return FreestandingProgram('p', [EntryPoint(entry, [int], 'p_entry', allocation_free)],
                               '/tmp/unused', TOOLCHAIN, gc=gc, **kwargs)


def test_the_kernel_mode_is_the_default_and_unchanged():
    p = FreestandingProgram('k', [EntryPoint(entry, [int], 'k_entry', True)], '/tmp/unused',
                            TOOLCHAIN)
    assert p.gc == 'none' and p.kernel_mode and not p.floats and p.gc_options is None
    assert p.allocation_free_functions() == [entry]


def test_a_user_program_has_gc_options_and_no_allocation_free_entry_points():
    p = program(floats=True)
    assert not p.kernel_mode and p.floats
    assert p.gc_options.nursery_size == GcOptions.MIN_NURSERY_SIZE
    with pytest.raises(ValueError) as err:
        program(allocation_free=True)
    assert 'kernel-mode' in str(err.value)


@pytest.mark.parametrize('kwargs', [dict(gc='boehm'), dict(gc='none', gc_options={}),
                                    dict(gc_options={'nursery_size': 4096}),
                                    dict(gc_options={'root_stack_depth': 0})])
def test_bad_program_descriptions_are_refused(kwargs):
    with pytest.raises(ValueError):
        program(**kwargs)


def test_floats_and_gc_operations_are_refused_in_kernel_mode_only():
    t = rtype_unchecked([(halves, [int]), (collects, [int])])
    kernel = [p for g in t.graphs for p in checks.graph_problems(g, ())]
    assert any('float' in p for p in kernel)
    assert any('gc__collect' in p for p in kernel)
    user = [p for g in t.graphs
            for p in checks.graph_problems(g, (), floats=True, gc='incminimark')]
    assert user == []


def test_threads_stay_refused_in_user_mode():
    assert 'gc_thread_start' in checks.unsupported_operations('incminimark')
    assert 'gc__collect' not in checks.unsupported_operations('incminimark')
    assert 'gc__collect' in checks.unsupported_operations('none')


def rtype_unchecked(entry_points):
    from rpython.translator.translator import TranslationContext
    config = get_combined_translation_config(translating=True)
    config.translation.gc = 'none'
    t = TranslationContext(config=config)
    annotator = t.buildannotator()
    for function, argtypes in entry_points:
        annotator.build_types(function, argtypes, False)
    t.annotator.complete()
    t.buildrtyper().specialize()
    return t


def config(gc, **kwargs):
    c = get_combined_translation_config(translating=True)
    c.translation.gc = gc
    for name, value in kwargs.items():
        setattr(c.translation, name, value)
    return c


def test_each_mode_requires_its_configuration():
    _require_config(config('none'), program('none'))
    _require_config(config('incminimark', log=False), program())
    with pytest.raises(FreestandingError) as err:
        _require_config(config('none'), program())
    assert "force_gc('incminimark')" in str(err.value)
    with pytest.raises(FreestandingError) as err:
        _require_config(config('incminimark'), program('none'))
    assert 'force_gc_none()' in str(err.value)
    with pytest.raises(FreestandingError) as err:
        _require_config(config('incminimark', log=True), program())
    assert '--no-log' in str(err.value)


def test_force_gc_rewrites_every_level_and_refuses_unknown_gcs():
    from rpython.config import translationoption
    saved = dict(translationoption.OPT_TABLE)
    try:
        options.force_gc('incminimark')
        assert all(w.split()[0] == 'incminimark' for w in translationoption.OPT_TABLE.values())
        options.force_gc_none()
        assert all(w.split()[0] == 'none' for w in translationoption.OPT_TABLE.values())
        with pytest.raises(ValueError):
            options.force_gc('boehm')
    finally:
        translationoption.OPT_TABLE.clear()
        translationoption.OPT_TABLE.update(saved)


def test_the_gc_host_probes_become_constants_and_are_restored():
    from rpython.memory.gc import env
    from rpython.memory.gctransform.shadowstack import ShadowStackPool
    before = env.read_from_env, ShadowStackPool.root_stack_depth
    opts = GcOptions(nursery_size=512 * 1024, min_heap_size=3 << 20, max_delta=1 << 20,
                     root_stack_depth=1000)
    undo = gcsupport.apply_gc_options(opts)
    try:
        assert env.read_from_env('PYPY_GC_NURSERY') == 512 * 1024
        assert env.read_from_env('PYPY_GC_DEBUG') == 0
        assert env.read_uint_from_env('PYPY_GC_MIN') == 3 << 20
        assert env.read_uint_from_env('PYPY_GC_MAX_DELTA') == 1 << 20
        assert env.read_uint_from_env('PYPY_GC_NURSERY_DEBUG') == 0
        assert env.read_float_from_env('PYPY_GC_MAJOR_COLLECT') == 0.0
        assert env.estimate_best_nursery_size() == 512 * 1024
        assert ShadowStackPool.root_stack_depth == 1000
    finally:
        undo()
    assert (env.read_from_env, ShadowStackPool.root_stack_depth) == before


def test_the_gc_runtime_symbols_are_what_the_user_runtime_defines():
    libc = open(os.path.join(ROOT, 'user', 'lib', 'libc.c')).read()
    for name in GC_RUNTIME_SYMBOLS:
        assert re.search(r'\b%s\(' % name, libc), name


def _opt_table_gc_after_importing(target):
    code = ('import sys; sys.path.insert(0, %r); import %s; '
            'from rpython.config.translationoption import OPT_TABLE; '
            'print(OPT_TABLE["2"].split()[0])' % (ROOT, target))
    out = subprocess.check_output([sys.executable, '-c', code], cwd=ROOT,
                                  stderr=subprocess.STDOUT)
    return out.decode('utf-8').strip().splitlines()[-1]


def test_each_target_forces_its_own_gc_in_its_own_process():
    assert _opt_table_gc_after_importing('targetelyz') == 'none'
    assert _opt_table_gc_after_importing('targetuser') == 'incminimark'
