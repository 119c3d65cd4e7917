"""gcstress: allocates far more than its heap ever holds, checks every result.

    gcstress [rounds]        (default DEFAULT_ROUNDS)

Each round makes and drops short-lived objects (a binary tree, a list of
ints, strings joined and split, a dict), replaces one of MEDIUM_SLOTS lists
of nodes that live MEDIUM_SLOTS rounds (old enough to need major
collections), and every LARGE_EVERY rounds one of LARGE_SLOTS lists too
large for the nursery (the GC mallocs and frees those itself).  Every
result is checked against a formula; the survivors are checked when they
are dropped.  At the end a full collection, the C heap's own consistency
check, and one summary line, which tests/user parse:

    gcstress: ok rounds=R allocated=A objects=O heap_mapped=M heap_peak=P chunks=C ratio=X

allocated is a lower bound of what the program allocated: payload bytes
only (8 per field or list item, 1 per character, 16 per dict entry), no
GC header, no dict or list overallocation.  heap_mapped is what the C heap
got from the kernel (it never gives memory back, so it is also the peak),
ratio = allocated // heap_mapped.  Returns 0, or 1 after "gcstress: FAIL"
lines when a result was wrong, 2 for a bad argument.
"""

from rpython.rlib import rgc

from user.lib import api

DEFAULT_ROUNDS = 8000
TREE_DEPTH = 10
LIST_LENGTH = 1000
STRING_COUNT = 200
DICT_SIZE = 200
MEDIUM_SLOTS = 16
MEDIUM_LENGTH = 64
LARGE_SLOTS = 4
LARGE_EVERY = 8
LARGE_LENGTH = 20000            # 160000 bytes: above incminimark's large_object
WORD = 8
NODE_BYTES = 3 * WORD


class Node(object):
    def __init__(self, left, right, value):
        self.left = left
        self.right = right
        self.value = value


class Stats(object):
    def __init__(self):
        self.allocated = 0
        self.objects = 0
        self.failures = 0


class Survivors(object):
    def __init__(self):
        self.medium = [None] * MEDIUM_SLOTS
        self.medium_round = [0] * MEDIUM_SLOTS
        self.large = [None] * LARGE_SLOTS
        self.large_round = [0] * LARGE_SLOTS


def check(stats, ok, what):
    if not ok:
        stats.failures += 1
        if stats.failures <= 10:
            api.write("gcstress: FAIL " + what + "\n")


def make_tree(depth, value):
    if depth == 0:
        return Node(None, None, value)
    return Node(make_tree(depth - 1, 2 * value), make_tree(depth - 1, 2 * value + 1), value)


def tree_sum(node):
    if node is None:
        return 0
    return node.value + tree_sum(node.left) + tree_sum(node.right)


def do_tree(stats, r):
    # Nodes numbered 1..n in heap order: their sum is n(n+1)/2.
    n = (1 << (TREE_DEPTH + 1)) - 1
    check(stats, tree_sum(make_tree(TREE_DEPTH, 1)) == n * (n + 1) // 2, "tree sum")
    stats.allocated += n * NODE_BYTES
    stats.objects += n


def do_list(stats, r):
    items = [i * r for i in range(LIST_LENGTH)]
    total = 0
    for x in items:
        total += x
    check(stats, total == r * (LIST_LENGTH * (LIST_LENGTH - 1) // 2), "list sum")
    stats.allocated += WORD * LIST_LENGTH
    stats.objects += 1


def do_strings(stats, r):
    pieces = [str(i + r) for i in range(STRING_COUNT)]
    joined = ",".join(pieces)
    parts = joined.split(",")
    chars = 0
    for p in pieces:
        chars += len(p)
    check(stats, len(joined) == chars + STRING_COUNT - 1, "joined length")
    check(stats, len(parts) == STRING_COUNT and parts[STRING_COUNT - 1] == str(STRING_COUNT - 1 + r)
          and parts[0] == str(r), "split")
    stats.allocated += 2 * chars + len(joined) + 2 * WORD * STRING_COUNT
    stats.objects += 2 * STRING_COUNT + 3


def do_dict(stats, r):
    d = {}
    for i in range(DICT_SIZE):
        d[i] = i * i + r
    ok = len(d) == DICT_SIZE
    for i in range(DICT_SIZE):
        if d[i] != i * i + r:
            ok = False
    check(stats, ok, "dict")
    stats.allocated += 2 * WORD * DICT_SIZE
    stats.objects += 1


def do_medium(stats, keep, r):
    slot = r % MEDIUM_SLOTS
    old = keep.medium[slot]
    if old is not None:
        made = keep.medium_round[slot]
        ok = len(old) == MEDIUM_LENGTH
        for i in range(len(old)):
            if old[i].value != made * MEDIUM_LENGTH + i:
                ok = False
        check(stats, ok, "medium-lived nodes")
    keep.medium[slot] = [Node(None, None, r * MEDIUM_LENGTH + i) for i in range(MEDIUM_LENGTH)]
    keep.medium_round[slot] = r
    stats.allocated += MEDIUM_LENGTH * (NODE_BYTES + WORD)
    stats.objects += MEDIUM_LENGTH + 1


def do_large(stats, keep, r):
    slot = (r // LARGE_EVERY) % LARGE_SLOTS
    old = keep.large[slot]
    if old is not None:
        made = keep.large_round[slot]
        total = 0
        for x in old:
            total += x
        check(stats, len(old) == LARGE_LENGTH and total == made * LARGE_LENGTH, "large list")
    keep.large[slot] = [r] * LARGE_LENGTH
    keep.large_round[slot] = r
    stats.allocated += WORD * LARGE_LENGTH
    stats.objects += 1


def main(argv):
    rounds = DEFAULT_ROUNDS
    if len(argv) > 1:
        try:
            rounds = int(argv[1])
        except ValueError:
            rounds = -1
        if rounds < 0:
            api.write("usage: gcstress [rounds]\n")
            return 2
    stats = Stats()
    keep = Survivors()
    for r in range(rounds):
        do_tree(stats, r)
        do_list(stats, r)
        do_strings(stats, r)
        do_dict(stats, r)
        do_medium(stats, keep, r)
        if r % LARGE_EVERY == 0:
            do_large(stats, keep, r)
    keep = None
    rgc.collect()
    heap = api.heap_check()
    check(stats, heap == 0, "C heap check " + str(heap))
    mapped = api.heap_info(api.HEAP_MAPPED)
    ratio = stats.allocated // mapped if mapped > 0 else 0
    verdict = "ok" if stats.failures == 0 else "FAILED"
    api.write("gcstress: " + verdict + " rounds=" + str(rounds)
              + " allocated=" + str(stats.allocated) + " objects=" + str(stats.objects)
              + " heap_mapped=" + str(mapped)
              + " heap_peak=" + str(api.heap_info(api.HEAP_PEAK_IN_USE))
              + " chunks=" + str(api.heap_info(api.HEAP_CHUNKS))
              + " ratio=" + str(ratio) + "\n")
    return 0 if stats.failures == 0 else 1
