"""Checks that kernel code is valid freestanding RPython, without compiling.

    rtype(entry_points)   entry_points: list of (function, argtypes)
        annotates and rtypes them together, then runs the freestanding
        checks (no floats, no unsupported operations, no libc calls).
        Returns the TranslationContext; raises on any problem.
    rtype_allocation_free(entry_points, roots=(), module_prefix=None,
                          unoptimised=False)
        rtype(entry_points), then the backend optimisations the kernel
        build runs (inlining, malloc removal), then fails, naming each call
        path, when a GC allocation is reachable from the functions roots or
        from any function of a module under module_prefix.  The walk is the
        kernel build's (backend.checks.allocation_paths): it does not
        descend into a function marked may_allocate (the panic path).
        unoptimised=True also fails when, before the optimisations, a
        function under module_prefix or a helper it calls directly
        allocates (a `for ... in range()` iterator, say): such code does
        not rely on malloc removal.  Returns the TranslationContext.
    reaches(translator, caller, callee)
        True when a graph of callee is reached from that of caller by
        the same walk (so a check from caller really covers callee).
"""

from rpython.config.translationoption import get_combined_translation_config
from rpython.translator.backendopt.all import backend_optimizations
from rpython.translator.translator import TranslationContext

from elyz.rlib_kernel.backend import checks
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
    checks.check_graphs(t, frozenset(COMMON_RUNTIME_SYMBOLS) | frozenset(provided_symbols))
    return t


def _module(graph):
    return getattr(getattr(graph, 'func', None), '__module__', None) or ''


def _functions_under(translator, module_prefix):
    functions = []
    for graph in translator.graphs:
        if _module(graph).startswith(module_prefix) and graph.func not in functions:
            functions.append(graph.func)
    return functions


def _allocations_in(graph):
    return [op.opname for block in graph.iterblocks() for op in block.operations
            if op.opname in checks.ALLOCATING_OPERATIONS]


def _unoptimised_allocations(translator, module_prefix):
    """'function: operation' for each allocation in a function under
    module_prefix, or in a function it calls directly."""
    found = []
    for graph in translator.graphs:
        if not _module(graph).startswith(module_prefix):
            continue
        found.extend('%s: %s' % (graph.name, name) for name in _allocations_in(graph))
        for callee in checks.callee_graphs(graph):
            found.extend('%s -> %s: %s' % (graph.name, callee.name, name)
                         for name in _allocations_in(callee))
    return found


def rtype_allocation_free(entry_points, roots=(), module_prefix=None, unoptimised=False):
    t = rtype(entry_points)
    roots = list(roots)
    if module_prefix is not None:
        if unoptimised:
            found = _unoptimised_allocations(t, module_prefix)
            assert not found, ('allocations under %s before the backend optimisations:\n  %s'
                               % (module_prefix, '\n  '.join(found)))
        roots += _functions_under(t, module_prefix)
    assert roots, 'nothing to check'
    backend_optimizations(t)
    found = checks.allocation_paths(t, roots)
    assert not found, 'GC allocations on paths that must not allocate:\n  ' + '\n  '.join(found)
    return t


def reaches(translator, caller, callee):
    seen = set()
    todo = [translator.annotator.bookkeeper.getdesc(caller).getuniquegraph()]
    while todo:
        graph = todo.pop()
        if getattr(graph, 'func', None) is callee:   # any specialisation of it
            return True
        if graph in seen:
            continue
        seen.add(graph)
        todo.extend(g for g in checks.callee_graphs(graph)
                    if not checks.is_exempt(g))
    return False
