"""rtcheck: checks of the user runtime itself, one per argument.

    rtcheck heap        malloc, realloc and free directly (raw memory, not
                        the GC): random sizes from 1 byte to 256 KiB, every
                        byte checked, the C heap's consistency checked;
                        prints "rtcheck: heap ok ..." and returns 0
    rtcheck recursion   recurses until RPython's stack check raises
                        StackOverflow, catches it, prints the depth, returns
                        0 (the stack bounds the crt set are right)
    rtcheck float       a little double arithmetic (SSE in user mode)
    rtcheck exit        calls exit(42) from inside a call; never returns 0
    rtcheck exception   lets a ValueError escape: the runtime prints the
                        RPython traceback and exits with 127
Returns 2 for no or an unknown case, 1 when a check fails.
"""

from rpython.rlib import rstackovf
from rpython.rlib.rarithmetic import r_uint, intmask
from rpython.rtyper.lltypesystem import lltype, rffi

from user.lib import api

HEAP_SLOTS = 64
HEAP_OPERATIONS = 3000
SMALL_LIMIT = 512
LARGE_LIMIT = 256 * 1024

_realloc = rffi.llexternal('realloc', [rffi.CCHARP, rffi.SIZE_T], rffi.CCHARP,
                           _nowrapper=True)


class Random(object):
    """A 64-bit linear congruential generator (Knuth's MMIX constants)."""
    def __init__(self, seed):
        self.state = r_uint(seed)

    def below(self, n):
        self.state = self.state * r_uint(6364136223846793005) + r_uint(1442695040888963407)
        return intmask((self.state >> 33) % r_uint(n))


def fill(p, size, seed):
    for i in range(size):
        p[i] = chr((seed + i) & 0xff)


def holds(p, size, seed):
    for i in range(size):
        if ord(p[i]) != (seed + i) & 0xff:
            return False
    return True


def random_size(rng):
    if rng.below(8) == 0:
        return 1 + rng.below(LARGE_LIMIT)
    return 1 + rng.below(SMALL_LIMIT)


def check_heap():
    rng = Random(12345)
    blocks = [lltype.nullptr(rffi.CCHARP.TO)] * HEAP_SLOTS
    sizes = [0] * HEAP_SLOTS
    seeds = [0] * HEAP_SLOTS
    in_use_before = api.heap_info(api.HEAP_IN_USE)
    bad = 0
    reallocs = 0
    for op in range(HEAP_OPERATIONS):
        k = rng.below(HEAP_SLOTS)
        if not blocks[k]:
            size = random_size(rng)
            blocks[k] = lltype.malloc(rffi.CCHARP.TO, size, flavor='raw')
            sizes[k] = size
            seeds[k] = op
            fill(blocks[k], size, op)
            continue
        if not holds(blocks[k], sizes[k], seeds[k]):
            bad += 1
        if rng.below(3) == 0:
            size = random_size(rng)
            kept = min(size, sizes[k])
            p = _realloc(blocks[k], rffi.cast(rffi.SIZE_T, size))
            if not p or not holds(p, kept, seeds[k]):
                bad += 1
            blocks[k] = p
            sizes[k] = size
            seeds[k] = op
            fill(p, size, op)
            reallocs += 1
        else:
            lltype.free(blocks[k], flavor='raw')
            blocks[k] = lltype.nullptr(rffi.CCHARP.TO)
        if op % 500 == 0 and api.heap_check() != 0:
            bad += 1
    for k in range(HEAP_SLOTS):
        if blocks[k]:
            if not holds(blocks[k], sizes[k], seeds[k]):
                bad += 1
            lltype.free(blocks[k], flavor='raw')
    check = api.heap_check()
    leaked = api.heap_info(api.HEAP_IN_USE) - in_use_before
    if bad or check != 0 or leaked != 0:
        api.write("rtcheck: heap FAILED bad=" + str(bad) + " check=" + str(check)
                  + " leaked=" + str(leaked) + "\n")
        return 1
    api.write("rtcheck: heap ok operations=" + str(HEAP_OPERATIONS) + " reallocs="
              + str(reallocs) + " mapped=" + str(api.heap_info(api.HEAP_MAPPED))
              + " free_blocks=" + str(api.heap_info(api.HEAP_FREE_BLOCKS)) + "\n")
    return 0


class Depth(object):
    def __init__(self):
        self.deepest = 0


def recurse(depth, n):
    if n > depth.deepest:
        depth.deepest = n
    return recurse(depth, n + 1) + 1


def check_recursion():
    depth = Depth()
    try:
        recurse(depth, 0)
    except rstackovf.StackOverflow:
        rstackovf.check_stack_overflow()
        api.write("rtcheck: recursion ok, StackOverflow at depth " + str(depth.deepest) + "\n")
        return 0
    return 1


def check_float():
    # The sum of 1/k**2 tends to pi**2/6 = 1.6449340668...
    total = 0.0
    for k in range(1, 100001):
        total += 1.0 / (float(k) * float(k))
    micro = int(total * 1000000.0)
    if micro != 1644924:
        api.write("rtcheck: float FAILED " + str(micro) + "\n")
        return 1
    api.write("rtcheck: float ok\n")
    return 0


def deep_exit(n):
    if n == 0:
        api.write("rtcheck: exiting with 42\n")
        api.exit(42)
    return deep_exit(n - 1) + 1


def main(argv):
    case = argv[1] if len(argv) > 1 else ''
    if case == 'heap':
        return check_heap()
    if case == 'recursion':
        return check_recursion()
    if case == 'float':
        return check_float()
    if case == 'exit':
        return deep_exit(10)
    if case == 'exception':
        raise ValueError
    api.write("usage: rtcheck heap|recursion|float|exit|exception\n")
    return 2
