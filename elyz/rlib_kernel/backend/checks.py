"""Checks on the rtyped graphs of a freestanding program.

`check_graphs(translator, provided_symbols, floats=False, gc='none')`
raises FreestandingError listing every offending RPython function when the
program
  - computes with floats, unless floats=True (no FPU state is kept in the
    kernel; a user program may have them),
  - uses an operation that needs a runtime we do not have (threads; with
    gc='none' also weakrefs and the GC's introspection, GC_OPERATIONS),
  - calls a C function that neither an ExternalCompilationInfo of its own
    defines nor the freestanding runtime provides (a libc function, say).
Returns nothing when the program is clean.  It runs before the GC
transformation: the GC's own code is not checked (the link is).

`check_allocation_free(translator, functions)` runs after the backend
optimisations (inlining and malloc removal decide what really allocates):
it raises FreestandingError naming the call path to every GC allocation
reachable from the given functions (interrupt handlers, the heap behind
malloc).  A function marked with `may_allocate` (the panic path, which
never returns) is not descended into.
"""

from rpython.rtyper.lltypesystem import lltype
from rpython.flowspace.model import Constant

FLOAT_TYPES = (lltype.Float, lltype.SingleFloat, lltype.LongFloat)

# Operations that need a garbage collector: refused with gc='none'.
GC_OPERATIONS = {
    'weakref_create': 'weak references need a GC',
    'weakref_deref': 'weak references need a GC',
    'gc__collect': 'there is no garbage collector',
    'gc_get_rpy_roots': 'there is no garbage collector',
    'gc_get_rpy_referents': 'there is no garbage collector',
}

# Operations whose C implementation needs a runtime no freestanding program
# has, whatever its GC.
ALWAYS_UNSUPPORTED_OPERATIONS = {
    'gc_thread_run': 'threads are not supported',
    'gc_thread_start': 'threads are not supported',
    'gc_thread_die': 'threads are not supported',
    'gc_thread_before_fork': 'threads are not supported',
    'gc_thread_after_fork': 'threads are not supported',
    'threadlocalref_get': 'thread-locals are not supported',
    'threadlocalref_addr': 'thread-locals are not supported',
    'debug_print': 'debug_print needs stdio; use the kernel log',
    'debug_start': 'debug_print needs stdio; use the kernel log',
    'debug_stop': 'debug_print needs stdio; use the kernel log',
}

# What check_graphs refuses in kernel mode (gc='none').
UNSUPPORTED_OPERATIONS = dict(ALWAYS_UNSUPPORTED_OPERATIONS, **GC_OPERATIONS)


def unsupported_operations(gc='none'):
    """Returns {operation name: why} of what a program with gc refuses."""
    if gc == 'none':
        return UNSUPPORTED_OPERATIONS
    return ALWAYS_UNSUPPORTED_OPERATIONS


# Headers of the kernel's own that define C functions (a port's primitives,
# arch/<karch>/elyz_cpu.h): a call declared by one is the program's, not libc's.
PROGRAM_HEADERS = ('elyz_cpu.h',)


class FreestandingError(Exception):
    """The program uses something the freestanding backend cannot support."""


def _graph_name(graph):
    func = getattr(graph, 'func', None)
    if func is not None:
        code = func.func_code
        return '%s() in %s:%d' % (func.func_name, code.co_filename, code.co_firstlineno)
    return graph.name


def _is_float(v):
    return getattr(v, 'concretetype', None) in FLOAT_TYPES


def _external_call_problem(op, provided_symbols):
    fnptr = op.args[0]
    if not isinstance(fnptr, Constant):
        return None
    try:
        funcobj = fnptr.value._obj
    except (AttributeError, lltype.DelayedPointer):
        return None
    if getattr(funcobj, 'external', None) != 'C':
        return None
    name = funcobj._name
    eci = getattr(funcobj, 'compilation_info', None)
    if eci is not None and (eci.post_include_bits or eci.separate_module_sources
                            or eci.separate_module_files):
        return None          # the program defines it itself
    if eci is not None and any(h in PROGRAM_HEADERS for h in eci.includes):
        return None          # in a header of the program's own (arch/<karch>/)
    if name in provided_symbols:
        return None
    return ("calls the C function %s, which the freestanding runtime does not "
            "provide" % name)


def graph_problems(graph, provided_symbols, floats=False, gc='none'):
    """Returns a list of strings, one per problem found in graph."""
    problems = []
    unsupported = unsupported_operations(gc)
    for block in graph.iterblocks():
        for v in block.inputargs:
            if not floats and _is_float(v):
                problems.append('uses a float (variable %s)' % v)
                break
        for op in block.operations:
            if op.opname in unsupported:
                problems.append('uses %s: %s' % (op.opname, unsupported[op.opname]))
            if not floats and (_is_float(op.result) or any(_is_float(a) for a in op.args)):
                problems.append('uses a float (operation %s)' % op.opname)
            if op.opname == 'direct_call':
                problem = _external_call_problem(op, provided_symbols)
                if problem:
                    problems.append(problem)
    seen = set()
    unique = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique


def check_graphs(translator, provided_symbols, floats=False, gc='none'):
    """Raises FreestandingError naming each function with a problem."""
    report = []
    for graph in translator.graphs:
        for problem in graph_problems(graph, provided_symbols, floats, gc):
            report.append('  %s %s' % (_graph_name(graph), problem))
    if report:
        raise FreestandingError(
            "the program cannot be translated freestanding:\n" + '\n'.join(report))


ALLOCATING_OPERATIONS = ('malloc', 'malloc_varsize', 'malloc_nonmovable',
                         'malloc_nonmovable_varsize')


def may_allocate(function):
    """Decorator: calls to function are exempt from check_allocation_free
    (for paths that never return, such as a panic)."""
    function._elyz_may_allocate_ = True
    return function


def is_exempt(graph):
    """Returns True when graph's function is marked with may_allocate."""
    return getattr(getattr(graph, 'func', None), '_elyz_may_allocate_', False)


def callee_graphs(graph):
    """Yields the graphs graph calls (direct calls, and the known targets of
    indirect ones)."""
    for block in graph.iterblocks():
        for op in block.operations:
            if op.opname == 'direct_call':
                try:
                    callee = op.args[0].value._obj.graph
                except AttributeError:
                    continue
                yield callee
            elif op.opname == 'indirect_call':
                graphs = op.args[-1].value
                if graphs:
                    for callee in graphs:
                        yield callee


def allocation_paths(translator, functions):
    """Returns 'root -> ... -> function: operation' strings, one per GC
    allocation reachable from the graphs of functions."""
    bk = translator.annotator.bookkeeper
    found = []
    parents = {}
    todo = []
    for function in functions:
        graph = bk.getdesc(function).getuniquegraph()
        parents[graph] = None
        todo.append(graph)
    while todo:
        graph = todo.pop()
        for block in graph.iterblocks():
            for op in block.operations:
                if op.opname in ALLOCATING_OPERATIONS:
                    path = []
                    g = graph
                    while g is not None:
                        path.append(g.name)
                        g = parents[g]
                    found.append('%s: %s' % (' -> '.join(reversed(path)), op.opname))
        for callee in callee_graphs(graph):
            if is_exempt(callee) or callee in parents:
                continue
            parents[callee] = graph
            todo.append(callee)
    return found


def check_allocation_free(translator, functions):
    """Raises FreestandingError listing every allocation reachable from functions."""
    found = allocation_paths(translator, functions)
    if found:
        raise FreestandingError("GC allocations on paths that must not allocate:\n  "
                                + "\n  ".join(found))
