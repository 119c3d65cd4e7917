"""The cycle collector: finds channel endpoints that only unreachable
endpoints' queues keep alive (docs/ipc.md, "Circular references").

Synchronous trial deletion (Bacon and Rajan, "Concurrent Cycle Collection
in Reference Counted Systems", ECOOP 2001, the synchronous algorithm of
section 3).  The graph: endpoints are the nodes; a strong descriptor to
endpoint T in a message queued in endpoint S is an edge S -> T.  Nothing
else can be part of a cycle: a running process's table is a root, an
exited process holds nothing (exit released its table), a MemoryObject
holds no descriptor.

    possible_root(e)   e's strong count dropped to a value above 0: it may
                       now be the entry to a garbage cycle (buffered once)
    pending() -> True when roots are buffered
    collect() -> how many endpoints are garbage: garbage(i) for i below it.
                 Their strong counts are left at 0 and every edge out of
                 them is already subtracted from its target's count, so the
                 caller frees them without dropping their endpoint edges
                 again (elyz/obj/api.py).

The three passes, all iterative over fixed work stacks (no recursion on a
kernel stack, whatever the graph):
  mark gray   from each purple root, subtract every internal edge once;
  scan        a gray node whose count stayed above 0 is referenced from
              outside the gray subgraph: it and everything it reaches turn
              black again and get their edges back; the others turn white;
  collect     the white nodes are the garbage.
A live endpoint is never collected: it is held by a process table, the
kernel, or a message in a live endpoint's queue; the first two are not
edges of the graph, so its count stays above 0 after the subtraction and
it turns black; the third makes it reachable from a black node, which
restores it to black.  Work per call is bounded by the endpoints reachable
from the roots and the descriptors queued in them: at most MAX_ENDPOINTS
nodes, each expanded once per pass.
"""

from elyz.abi.limits import MAX_ENDPOINTS
from elyz.abi.rights import KIND_CHANNEL
from elyz.obj import channel, table
from elyz.obj.channel import BLACK, GRAY, PURPLE, WHITE


class _Collector(object):
    def __init__(self):
        self.roots = [0] * MAX_ENDPOINTS
        self.root_count = 0
        self.stack = [0] * MAX_ENDPOINTS        # mark gray, collect white
        self.depth = 0
        self.scan_stack = [0] * MAX_ENDPOINTS   # scan (a node at most once)
        self.scan_depth = 0
        self.black_stack = [0] * MAX_ENDPOINTS  # scan black, inside scan
        self.black_depth = 0
        self.garbage = [0] * MAX_ENDPOINTS
        self.garbage_count = 0
        self.collections = 0
        self.collected = 0


_c = _Collector()


def possible_root(e):
    """See the module docstring."""
    if e.color != PURPLE:
        e.color = PURPLE
        if not e.buffered:
            e.buffered = True
            _c.roots[_c.root_count] = e.index
            _c.root_count += 1


def pending():
    return _c.root_count > 0


def garbage(i):
    return _c.garbage[i]


def statistics_collected():
    """Returns how many endpoints collections freed since boot."""
    return _c.collected


# ------------------------------------------------------------ graph walks
# A node goes on `stack` or `black_stack` when its color changes to the
# pass's color, so at most once per pass; on `scan_stack` when gray and not
# already there (its `stacked` flag).  No stack outgrows MAX_ENDPOINTS.

_SUBTRACT = 0           # mark gray: count t down, gray and expand it
_RESTORE = 1            # scan black: count t back up, blacken and expand it
_SCAN = 2               # scan: expand gray t
_WHITEN = 3             # collect white: gather white t


def _visit_children(index, visit):
    """Applies visit to every edge out of endpoint index."""
    e = channel.get(index)
    m = e.head
    while m >= 0:
        msg = channel.message(m)
        entries = msg.entries
        i = 0
        while i < msg.count:
            ref = table.read(entries, i, table.OBJECT)
            if table.ref_kind(ref) == KIND_CHANNEL and \
                    table.read(entries, i, table.FLAGS) & table.FLAG_STRONG:
                _edge(table.ref_index(ref), visit)
            i += 1
        m = msg.next


def _edge(target, visit):
    t = channel.get(target)
    if visit == _SUBTRACT:
        t.strong -= 1
        if t.color != GRAY:
            t.color = GRAY
            _c.stack[_c.depth] = target
            _c.depth += 1
    elif visit == _RESTORE:
        t.strong += 1
        if t.color != BLACK:
            t.color = BLACK
            _c.black_stack[_c.black_depth] = target
            _c.black_depth += 1
    elif visit == _SCAN:
        if t.color == GRAY and not t.stacked:
            t.stacked = True
            _c.scan_stack[_c.scan_depth] = target
            _c.scan_depth += 1
    else:
        if t.color == WHITE and not t.buffered:
            t.color = BLACK             # gathered once
            _c.garbage[_c.garbage_count] = target
            _c.garbage_count += 1
            _c.stack[_c.depth] = target
            _c.depth += 1


def _expand_stack(visit):
    while _c.depth > 0:
        _c.depth -= 1
        _visit_children(_c.stack[_c.depth], visit)


def _mark_gray(index):
    e = channel.get(index)
    if e.color != GRAY:
        e.color = GRAY
        _c.stack[_c.depth] = index
        _c.depth += 1
        _expand_stack(_SUBTRACT)


def _scan_black(index):
    channel.get(index).color = BLACK
    _c.black_stack[_c.black_depth] = index
    _c.black_depth += 1
    while _c.black_depth > 0:
        _c.black_depth -= 1
        _visit_children(_c.black_stack[_c.black_depth], _RESTORE)


def _scan(index):
    e = channel.get(index)
    if e.color != GRAY or e.stacked:
        return
    e.stacked = True
    _c.scan_stack[_c.scan_depth] = index
    _c.scan_depth += 1
    while _c.scan_depth > 0:
        _c.scan_depth -= 1
        node = _c.scan_stack[_c.scan_depth]
        n = channel.get(node)
        n.stacked = False
        if n.color != GRAY:
            continue                    # blackened since it was pushed
        if n.strong > 0:
            _scan_black(node)
        else:
            n.color = WHITE
            _visit_children(node, _SCAN)


def collect():
    """See the module docstring."""
    _c.garbage_count = 0
    _c.collections += 1
    # Mark: only purple roots still alive can lead into garbage.
    kept = 0
    i = 0
    while i < _c.root_count:
        index = _c.roots[i]
        e = channel.get(index)
        if e.color == PURPLE and e.alive and e.strong > 0:
            _c.roots[kept] = index
            kept += 1
            _mark_gray(index)
        else:
            e.buffered = False
            if e.color == PURPLE:
                e.color = BLACK
        i += 1
    _c.root_count = kept
    i = 0
    while i < kept:
        _scan(_c.roots[i])
        i += 1
    i = 0
    while i < kept:
        index = _c.roots[i]
        e = channel.get(index)
        e.buffered = False
        if e.color == WHITE:
            e.color = BLACK
            _c.garbage[_c.garbage_count] = index
            _c.garbage_count += 1
            _c.stack[_c.depth] = index
            _c.depth += 1
            _expand_stack(_WHITEN)
        i += 1
    _c.root_count = 0
    _c.collected += _c.garbage_count
    return _c.garbage_count


def reset_for_tests():
    """Untranslated only: no root, empty stacks."""
    _c.root_count = 0
    _c.depth = 0
    _c.scan_depth = 0
    _c.black_depth = 0
    _c.garbage_count = 0
    _c.collections = 0
    _c.collected = 0
