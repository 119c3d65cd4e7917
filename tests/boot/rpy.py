"""RPython checks for the boot parsers.

    rtype_without_allocation(entry_points)
        tests.support.rpycheck.rtype(entry_points) and the backend
        optimisations the kernel build runs, then fails if any function of
        elyz.boot (the parse paths), or anything they call, still contains
        a GC allocation: they must only fill the prebuilt BootInfo.
"""

from rpython.translator.backendopt.all import backend_optimizations

from tests.support.rpycheck import rtype

ALLOCATING_OPERATIONS = ('malloc', 'malloc_varsize', 'malloc_nonmovable',
                         'malloc_nonmovable_varsize')


def _module(graph):
    func = getattr(graph, 'func', None)
    return getattr(func, '__module__', None) or ''


def _callees(graph):
    for block in graph.iterblocks():
        for op in block.operations:
            if op.opname == 'direct_call':
                try:
                    callee = op.args[0].value._obj.graph
                except AttributeError:
                    continue
                yield callee


def allocations(translator, module_prefix='elyz.boot'):
    """Returns 'function: operation' for every allocation in a graph of a
    function defined in a module under module_prefix, or in any helper
    such a function calls (list and string helpers of the rtyper, say)."""
    found = []
    seen = set()
    todo = [g for g in translator.graphs if _module(g).startswith(module_prefix)]
    while todo:
        graph = todo.pop()
        if graph in seen:
            continue
        seen.add(graph)
        for block in graph.iterblocks():
            for op in block.operations:
                if op.opname in ALLOCATING_OPERATIONS:
                    found.append('%s: %s' % (graph.name, op))
        todo.extend(_callees(graph))
    return found


def rtype_without_allocation(entry_points):
    t = rtype(entry_points)
    backend_optimizations(t)       # as the kernel build does (inlining, malloc removal)
    found = allocations(t)
    assert not found, 'allocations in boot code:\n  ' + '\n  '.join(found)
    return t
