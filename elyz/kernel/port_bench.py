"""The ports' kernel micro-benchmarks (`make bench KARCH=<port>`, command
line word elyz.bench), printed as `BENCH <name> <value> <unit>` like
x86_64's (elyz/kernel/bench.py).

A port has no instruction counter the kernel can read; its architectural
counter runs at a fixed frequency (aarch64: CNTFRQ, 62.5 MHz on QEMU
virt; riscv64: the timebase, 10 MHz; loongarch64: the stable counter).
Under QEMU's `-icount shift=0,sleep=off` one instruction takes one
nanosecond of virtual time, so counter ticks * (10^9 / frequency) are
instructions; the loops run enough rounds that the counter's coarseness
(16 or 100 instructions a tick) is below one instruction per op.

    note_banner()   records the counter when the banner is printed
    run_all()       reset_to_banner (instructions from QEMU's reset: the
                    firmware, the boot stub and kmain), frame_alloc_free,
                    map_unmap_4k (kernel space, tables kept), heap
                    malloc+free of 64 and 4096 bytes
"""

from elyz.kernel.bench import report       # the same BENCH lines as x86_64's
from elyz.mm import heap, kernel_space, paging
from elyz.mm.pmm import pmm
from elyz.rlib_kernel import rawmem
from elyz.rlib_kernel.port import machine

NS_PER_SECOND = 1000000000
SCRATCH_VIRT = rawmem.to_word(0xffffc00000200000)
FRAME_ROUNDS = 20000
MAP_ROUNDS = 5000
HEAP_ROUNDS = 10000


class _BenchState(object):
    def __init__(self):
        self.banner_counter = 0


_state = _BenchState()


def note_banner():
    """Records the counter as the banner is printed; returns nothing."""
    _state.banner_counter = machine.counter()


def instructions(ticks, rounds):
    """Returns the instructions per round that ticks of the counter over
    rounds rounds are under -icount shift=0."""
    return ticks * (NS_PER_SECOND // machine.counter_frequency()) // rounds


def bench_frames():
    """Returns instructions per alloc_frame + free_frame pair."""
    start = machine.counter()
    i = 0
    while i < FRAME_ROUNDS:
        pmm.free_frame(pmm.alloc_frame())
        i += 1
    return instructions(machine.counter() - start, FRAME_ROUNDS)


def bench_map_unmap():
    """Returns instructions per 4 KiB map + unmap in the kernel space."""
    root = kernel_space.kernel_pml4()
    phys = pmm.alloc_frame()
    flags = paging.PAGE_WRITE | paging.PAGE_NO_EXECUTE
    paging.map(root, SCRATCH_VIRT, phys, flags, pmm)      # tables built once, outside the loop
    paging.unmap(root, SCRATCH_VIRT, pmm, kernel_space.tlb)
    start = machine.counter()
    i = 0
    while i < MAP_ROUNDS:
        paging.map(root, SCRATCH_VIRT, phys, flags, pmm)
        paging.unmap(root, SCRATCH_VIRT, pmm, kernel_space.tlb)
        i += 1
    result = instructions(machine.counter() - start, MAP_ROUNDS)
    pmm.free_frame(phys)
    return result


def bench_heap(size):
    """Returns instructions per kernel-heap malloc + free of size bytes."""
    start = machine.counter()
    i = 0
    while i < HEAP_ROUNDS:
        heap.kernel_heap.free(heap.kernel_heap.malloc(size))
        i += 1
    return instructions(machine.counter() - start, HEAP_ROUNDS)


def run_all():
    """Runs the benchmarks; prints one BENCH line each."""
    report('reset_to_banner', instructions(_state.banner_counter, 1),
           'instructions (firmware + boot stub + kmain)')
    report('frame_alloc_free', bench_frames(), 'instructions/op')
    report('map_unmap_4k', bench_map_unmap(), 'instructions/op')
    report('heap_malloc_free_64', bench_heap(64), 'instructions/op')
    report('heap_malloc_free_4096', bench_heap(4096), 'instructions/op')
