"""The kernel heap, over simulated pages (and once over the real PMM)."""

import pytest
from hypothesis import given, settings, strategies as st

from elyz.boot import bootinfo, memmap
from elyz.lib import log
from elyz.mm import heap as heap_module
from elyz.mm import pmm as pmm_module
from elyz.abi.errors import (E_OK, E_NOMEM, E_INVALID, E_DOUBLE_FREE,
                            E_OUT_OF_RANGE, E_ALIGN, E_REFUSED)
from elyz.mm.heap import (Heap, PageSource, HEADER_SIZE, MAX_SMALL_PAYLOAD, PAGE_SIZE,
                          SLAB_PAGES, MAX_ALLOC)
from elyz.rlib_kernel import rawmem
from tests.mm.test_pmm import HHDM, KERNEL_SIZE, error_lines, make_boot_info, simulate_ram
from tests.support.rpycheck import reaches, rtype_allocation_free

POOL_BASE = HHDM + 0x10000000          # a higher-half window of simulated pages
POOL_PAGES = 256                       # 1 MiB


class SimPageSource(PageSource):
    """First-fit page runs over one simulated window; checks every free."""

    def __init__(self, base=POOL_BASE, pages=POOL_PAGES):
        self.base = base
        self.taken = [False] * pages
        self.runs = {}                 # virt -> page count handed out
        self.refused = 0

    def pages_in_use(self):
        return sum(self.taken)

    def alloc_pages(self, n):
        run = 0
        for i in range(len(self.taken)):
            run = run + 1 if not self.taken[i] else 0
            if run == n:
                first = i - n + 1
                for k in range(first, first + n):
                    self.taken[k] = True
                virt = self.base + first * PAGE_SIZE
                self.runs[virt] = n
                return virt
        return 0

    def free_pages(self, virt, n):
        if self.runs.get(virt) != n:
            self.refused += 1
            return E_INVALID
        del self.runs[virt]
        first = (virt - self.base) // PAGE_SIZE
        for k in range(first, first + n):
            self.taken[k] = False
        return E_OK


def make_heap(pages=POOL_PAGES):
    memory = rawmem.simulate()
    memory.add_region(POOL_BASE, pages * PAGE_SIZE)
    source = SimPageSource(pages=pages)
    heap = Heap()
    assert heap.init(source) == E_OK
    return heap, source


def read(addr, n):
    return rawmem.simulated().read(addr, n)


# ---------------------------------------------------------------- malloc

def test_malloc_returns_16_byte_aligned_blocks_of_at_least_the_size():
    heap, _ = make_heap()
    for size in [0, 1, 15, 16, 17, 100, 1000, MAX_SMALL_PAYLOAD, MAX_SMALL_PAYLOAD + 1,
                 PAGE_SIZE, 5 * PAGE_SIZE + 3]:
        addr = heap.malloc(size)
        assert addr != 0
        assert addr % 16 == 0
        assert heap.usable_size(addr) >= size
        rawmem.fill(addr, 0x5A, heap.usable_size(addr))     # the whole block is writable


def test_small_sizes_use_the_smallest_fitting_class():
    heap, _ = make_heap()
    assert heap.usable_size(heap.malloc(0)) == 16
    assert heap.usable_size(heap.malloc(16)) == 16
    assert heap.usable_size(heap.malloc(17)) == 32
    assert heap.usable_size(heap.malloc(200)) == 208
    assert heap.usable_size(heap.malloc(MAX_SMALL_PAYLOAD)) == MAX_SMALL_PAYLOAD
    assert heap.usable_size(heap.malloc(MAX_SMALL_PAYLOAD + 1)) == PAGE_SIZE - HEADER_SIZE


def test_malloc_of_a_negative_or_huge_size_returns_0():
    heap, source = make_heap()
    assert heap.malloc(-1) == 0
    assert heap.malloc(MAX_ALLOC + 1) == 0
    assert heap.malloc(POOL_PAGES * PAGE_SIZE) == 0      # more than the source has
    assert heap.alloc_count == 0 and heap.bytes_in_use == 0


def test_malloc_before_init_returns_0():
    assert Heap().malloc(16) == 0


def test_init_fails_when_the_source_has_no_page():
    rawmem.simulate()
    assert Heap().init(SimPageSource(pages=0)) == E_NOMEM
    assert error_lines() == ['error: heap: no page for the heap control page']


def test_a_freed_small_block_is_reused_first():
    heap, _ = make_heap()
    a = heap.malloc(40)
    b = heap.malloc(40)
    assert b == a + 64                           # neighbours in the same slab
    assert heap.free(a) == E_OK
    assert heap.malloc(48) == a                  # same class, last freed first


def test_a_class_grows_by_one_slab_when_its_list_runs_out():
    heap, source = make_heap()
    per_slab = SLAB_PAGES * PAGE_SIZE // 2048
    pages = source.pages_in_use()
    blocks = [heap.malloc(2000) for _ in range(per_slab)]
    assert source.pages_in_use() == pages + SLAB_PAGES
    heap.malloc(2000)
    assert source.pages_in_use() == pages + 2 * SLAB_PAGES
    assert len(set(blocks)) == per_slab


def test_large_blocks_are_page_runs_given_back_on_free():
    heap, source = make_heap()
    pages = source.pages_in_use()
    addr = heap.malloc(3 * PAGE_SIZE)
    assert (addr - HEADER_SIZE) % PAGE_SIZE == 0
    assert source.pages_in_use() == pages + 4
    assert heap.bytes_reserved_from_pages == (pages + 4) * PAGE_SIZE
    assert heap.free(addr) == E_OK
    assert source.pages_in_use() == pages
    assert heap.bytes_reserved_from_pages == pages * PAGE_SIZE


def test_malloc_returns_0_when_pages_run_out_and_recovers_after_free():
    heap, _ = make_heap(pages=1 + 2 * SLAB_PAGES)
    blocks = []
    while True:
        addr = heap.malloc(1000)
        if addr == 0:
            break
        blocks.append(addr)
    assert len(blocks) == 2 * (SLAB_PAGES * PAGE_SIZE // 1024)
    assert heap.malloc(5000) == 0                # no pages for a large block either
    assert heap.free(blocks[0]) == E_OK
    assert heap.malloc(1000) == blocks[0]
    assert error_lines() == []


# -------------------------------------------------------------- calloc

def test_calloc_zeroes_the_block_even_when_reusing_dirty_memory():
    heap, _ = make_heap()
    dirty = heap.malloc(100)
    rawmem.fill(dirty, 0xAA, 100)
    heap.free(dirty)
    addr = heap.calloc(10, 10)
    assert addr == dirty
    assert read(addr, 100) == bytearray(100)


def test_calloc_refuses_overflowing_or_negative_requests():
    heap, _ = make_heap()
    assert heap.calloc(1 << 32, 1 << 32) == 0
    assert heap.calloc(-1, 8) == 0
    assert heap.calloc(8, -1) == 0
    assert heap.calloc(MAX_ALLOC // 2 + 1, 2) == 0
    assert heap.calloc(0, 100) != 0               # an empty block, like malloc(0)
    assert heap.alloc_count == 1


# ------------------------------------------------------------- realloc

def test_realloc_keeps_the_contents_and_frees_the_old_block():
    heap, _ = make_heap()
    addr = heap.malloc(20)
    rawmem.fill(addr, 0x11, 20)
    assert heap.realloc(addr, 30) == addr        # still fits its 32-byte block
    bigger = heap.realloc(addr, 3000)
    assert bigger != addr
    assert read(bigger, 20) == bytearray([0x11]) * 20
    assert heap.free(addr) == E_DOUBLE_FREE      # the old one was freed
    assert heap.realloc(0, 10) != 0              # realloc(0, n) is malloc(n)
    assert heap.realloc(bigger, -1) == 0
    assert heap.usable_size(bigger) >= 3000      # still valid after a failure


# ---------------------------------------------------------------- free

def test_free_of_zero_is_a_no_op():
    heap, _ = make_heap()
    assert heap.free(0) == E_OK
    assert heap.free_count == 0 and error_lines() == []


def test_double_free_is_refused_and_logged():
    heap, source = make_heap()
    small = heap.malloc(10)
    large = heap.malloc(10000)
    assert heap.free(small) == E_OK
    assert heap.free(large) == E_OK
    in_use = heap.bytes_in_use
    assert heap.free(small) == E_DOUBLE_FREE
    assert heap.free(large) == E_DOUBLE_FREE
    assert error_lines() == ['error: heap: double free of block 0x%x' % (small & (2 ** 64 - 1)),
                             'error: heap: double free of block 0x%x' % (large & (2 ** 64 - 1))]
    assert heap.bytes_in_use == in_use and heap.refused_count == 2
    assert source.refused == 0
    # the free list is intact: the block comes back once, then a fresh one
    assert heap.malloc(10) == small
    assert heap.malloc(10) != small


class RefusingPageSource(SimPageSource):
    """A page source that takes pages back only while accepting is True."""

    def __init__(self, *args, **kwargs):
        SimPageSource.__init__(self, *args, **kwargs)
        self.accepting = True

    def free_pages(self, virt, n):
        if not self.accepting:
            self.refused += 1
            return E_INVALID
        return SimPageSource.free_pages(self, virt, n)


def test_a_large_block_whose_pages_are_refused_stays_allocated():
    rawmem.simulate().add_region(POOL_BASE, POOL_PAGES * PAGE_SIZE)
    source = RefusingPageSource()
    heap = Heap()
    assert heap.init(source) == E_OK
    addr = heap.malloc(3 * PAGE_SIZE)
    rawmem.fill(addr, 0x77, 3 * PAGE_SIZE)
    header = read(addr - HEADER_SIZE, HEADER_SIZE)
    counters = (heap.bytes_in_use, heap.bytes_reserved_from_pages, heap.alloc_count,
                heap.free_count)
    pages = source.pages_in_use()

    source.accepting = False
    assert heap.free(addr) == E_REFUSED
    assert error_lines() == ['error: heap: the page source refused pages at 0x%x'
                             % ((addr - HEADER_SIZE) & (2 ** 64 - 1))]
    assert heap.refused_count == 1 and source.refused == 1
    # exactly as before: still allocated, counters unchanged, contents kept
    assert read(addr - HEADER_SIZE, HEADER_SIZE) == header
    assert (heap.bytes_in_use, heap.bytes_reserved_from_pages, heap.alloc_count,
            heap.free_count) == counters
    assert source.pages_in_use() == pages
    assert heap.usable_size(addr) == 4 * PAGE_SIZE - HEADER_SIZE
    assert read(addr, 3 * PAGE_SIZE) == bytearray([0x77]) * (3 * PAGE_SIZE)

    # so it can still be freed once the source takes the pages
    source.accepting = True
    assert heap.free(addr) == E_OK
    assert heap.bytes_in_use == 0 and heap.free_count == 1
    assert heap.bytes_reserved_from_pages == counters[1] - 4 * PAGE_SIZE
    assert source.pages_in_use() == pages - 4
    assert heap.free(addr) == E_DOUBLE_FREE          # and then it is free


def test_free_of_a_non_heap_pointer_is_refused_and_logged():
    heap, _ = make_heap()
    addr = heap.malloc(100)
    assert heap.free(addr + 8) == E_ALIGN
    assert heap.free(addr + 16) == E_INVALID     # inside a block, not a block
    assert heap.free(POOL_BASE + POOL_PAGES * PAGE_SIZE) == E_OUT_OF_RANGE
    assert heap.free(0x1000) == E_OUT_OF_RANGE   # a low (physical-looking) address
    assert len(error_lines()) == 4
    assert error_lines()[1].startswith('error: heap: not a heap block 0x')
    assert heap.usable_size(addr + 16) == E_INVALID
    assert heap.free(addr) == E_OK


def test_a_write_after_free_that_breaks_the_free_list_is_caught():
    heap, _ = make_heap()
    a = heap.malloc(10)
    heap.free(a)
    rawmem.store_u64(a - HEADER_SIZE, 0x1234)    # clobber the free block's header
    b = heap.malloc(10)
    assert b != 0 and b != a                     # the list was dropped, a fresh slab used
    assert error_lines() == ['error: heap: free list corrupted, dropped from 0x%x'
                             % ((a - HEADER_SIZE) & (2 ** 64 - 1))]


# ---------------------------------------------------------- statistics

def test_statistics_count_usable_bytes_peak_and_calls():
    heap, _ = make_heap()
    a = heap.malloc(100)                         # 112 usable
    b = heap.malloc(5000)                        # 2 pages
    assert heap.bytes_in_use == 112 + 2 * PAGE_SIZE - HEADER_SIZE
    peak = heap.bytes_in_use
    heap.free(b)
    assert heap.bytes_in_use == 112
    assert heap.peak_bytes_in_use == peak
    heap.free(a)
    assert heap.bytes_in_use == 0
    assert heap.alloc_count == 2 and heap.free_count == 2


def test_heap_bytes_in_use_back_to_baseline_after_churn():
    heap, _ = make_heap()
    baseline = heap.bytes_in_use
    sizes = [1, 24, 100, 500, 2000, 3000, 9000, 64, 64, 777]
    for _ in range(2):
        blocks = [heap.malloc(s) for s in sizes * 3]
        assert 0 not in blocks
        for addr in blocks[::2] + blocks[1::2]:
            assert heap.free(addr) == E_OK
        assert heap.bytes_in_use == baseline
        if _ == 0:
            reserved_after_first_round = heap.bytes_reserved_from_pages
    # a second round of the same churn needs no new pages
    assert heap.bytes_reserved_from_pages == reserved_after_first_round


# ------------------------------------------------------------ property

_SIZES = st.one_of(st.integers(0, 64), st.integers(0, MAX_SMALL_PAYLOAD + 64),
                   st.integers(0, 3 * PAGE_SIZE))
_HEAP_OPS = st.lists(st.one_of(
    st.tuples(st.just('malloc'), _SIZES),
    st.tuples(st.just('calloc'), st.integers(0, 300)),
    st.tuples(st.just('free'), st.integers(0, 1000)),
    st.tuples(st.just('realloc'), st.integers(0, 1000)),
), max_size=80)


@settings(max_examples=150, deadline=None)
@given(_HEAP_OPS)
def test_live_blocks_never_overlap_and_keep_their_contents(ops):
    log.reset_for_tests()
    heap, source = make_heap()
    live = {}                                    # addr -> (usable, pattern byte)
    counter = [0]

    def adopt(addr, size):
        assert addr != 0 and addr % 16 == 0
        usable = heap.usable_size(addr)
        assert usable >= size
        for other, (other_usable, _) in live.items():
            assert addr + usable <= other - HEADER_SIZE or other + other_usable <= addr - HEADER_SIZE
        counter[0] += 1
        pattern = counter[0] & 0xFF
        rawmem.fill(addr, pattern, usable)
        live[addr] = (usable, pattern)

    def check(addr):
        usable, pattern = live[addr]
        assert read(addr, usable) == bytearray([pattern]) * usable

    for op, x in ops:
        if op == 'malloc':
            adopt(heap.malloc(x), x)
        elif op == 'calloc':
            addr = heap.calloc(x, 3)
            assert read(addr, 3 * x) == bytearray(3 * x)
            adopt(addr, 3 * x)
        elif op == 'free' and live:
            addr = sorted(live)[x % len(live)]
            check(addr)
            del live[addr]
            assert heap.free(addr) == E_OK
        elif op == 'realloc' and live:
            addr = sorted(live)[x % len(live)]
            usable, pattern = live.pop(addr)
            new = heap.realloc(addr, usable + x)
            assert read(new, usable) == bytearray([pattern]) * usable
            adopt(new, usable + x)
        assert heap.bytes_in_use == sum(u for u, _ in live.values())
    for addr in list(live):
        check(addr)
        assert heap.free(addr) == E_OK
    assert heap.bytes_in_use == 0
    assert error_lines() == [] and source.refused == 0


# ----------------------------------------------------- over the real PMM

def test_kernel_heap_draws_frames_from_the_pmm_through_the_hhdm():
    simulate_ram()
    info = make_boot_info()
    pmm = pmm_module.pmm
    pmm.reset()
    assert pmm.init(info, KERNEL_SIZE) == E_OK
    free_before = pmm.frames_free
    assert heap_module.init_kernel_heap(HHDM) == E_OK
    heap = heap_module.kernel_heap
    small = heap_module.heap_malloc(64)
    assert small < 0                             # a higher-half address
    assert pmm.frame_state(small - HHDM) == pmm_module.FRAME_USED
    large = heap_module.heap_calloc(3, PAGE_SIZE)
    assert read(large, 3 * PAGE_SIZE) == bytearray(3 * PAGE_SIZE)
    assert pmm.frames_free == free_before - 1 - SLAB_PAGES - 4
    assert heap_module.heap_usable_size(large) == 4 * PAGE_SIZE - HEADER_SIZE
    grown = heap_module.heap_realloc(small, 100)    # a new class: one more slab
    assert heap_module.heap_free(large) == E_OK
    assert heap_module.heap_free(grown) == E_OK
    assert pmm.frames_free == free_before - 1 - 2 * SLAB_PAGES   # slabs are kept
    assert heap.bytes_in_use == 0
    assert heap_module.heap_free(grown) == E_DOUBLE_FREE
    assert pmm.check_counters()
    pmm.reset()


# ------------------------------------------------------------- RPython

def _heap_entry(size, n):
    memmap.add_region(bootinfo.boot_info, 0, n << 20, bootinfo.MEM_USABLE)   # see _pmm_entry
    pmm = pmm_module.pmm
    status = pmm.init(bootinfo.boot_info, 0)
    if status != E_OK:
        return status
    status = heap_module.init_kernel_heap(bootinfo.boot_info.hhdm_offset)
    if status != E_OK:
        return status
    a = heap_module.heap_malloc(size)
    b = heap_module.heap_calloc(n, size)
    a = heap_module.heap_realloc(a, size * 2)
    total = heap_module.heap_usable_size(a)
    heap_module.heap_free(a)
    heap_module.heap_free(b)
    return total + heap_module.kernel_heap.bytes_in_use


def test_heap_is_valid_rpython_and_allocates_no_gc_object():
    t = rtype_allocation_free([(_heap_entry, [int, int])], module_prefix='elyz.mm',
                              unoptimised=True)
    assert reaches(t, _heap_entry, Heap.realloc.im_func)
