"""Checks that kernel code is valid freestanding RPython, without compiling.

    rtype(entry_points)   entry_points: list of (function, argtypes)
        annotates and rtypes them together, then runs the freestanding
        checks (no floats, no unsupported operations, no libc calls).
        Returns the TranslationContext; raises on any problem.
"""

from rpython.config.translationoption import get_combined_translation_config
from rpython.translator.translator import TranslationContext

from elyz.rlib_kernel.backend.checks import check_graphs
from elyz.rlib_kernel.backend.program import COMMON_RUNTIME_SYMBOLS


def rtype(entry_points, provided_symbols=()):
    config = get_combined_translation_config(translating=True)
    config.translation.gc = 'none'
    config.translation.thread = False
    t = TranslationContext(config=config)
    annotator = t.buildannotator()
    for function, argtypes in entry_points:
        annotator.build_types(function, argtypes, False)
    annotator.complete()
    annotator.simplify()
    t.buildrtyper().specialize(dont_simplify_again=True)
    check_graphs(t, frozenset(COMMON_RUNTIME_SYMBOLS) | frozenset(provided_symbols))
    return t
