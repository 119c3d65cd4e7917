"""Kernel micro-benchmarks (`make bench`, command line word elyz.bench).

Each prints `BENCH <name> <value> <unit>`.  Run under QEMU with
`-icount shift=0,sleep=off -cpu qemu64`, the time-stamp counter advances
by one per instruction, so the figures are virtual cycles, identical from
run to run.

    note_kmain()        records the TSC when kmain starts
    note_banner()       records the TSC when the banner is printed
    run_all()           runs every benchmark and prints the results
"""

from elyz.console.console import Console
from elyz.lib import log
from elyz.mm import heap, kernel_space, paging
from elyz.mm.pmm import pmm
from elyz.rlib_kernel import cpu, rawmem, runtime

SCRATCH_VIRT = rawmem.to_word(0xffffc00000200000)
FRAME_ROUNDS = 10000
MAP_ROUNDS = 2000
HEAP_ROUNDS = 5000
SCROLL_ROUNDS = 20
SCREEN_WIDTH = 1024
SCREEN_HEIGHT = 768
SCREEN_BPP = 32


class _BenchState(object):
    def __init__(self):
        self.banner_tsc = 0
        self.kmain_tsc = 0


_state = _BenchState()
scratch_console = Console()


def note_kmain():
    """Records the TSC as kmain starts."""
    _state.kmain_tsc = cpu.read_tsc()


def note_banner():
    """Records the TSC as the banner is printed."""
    _state.banner_tsc = cpu.read_tsc()


def report(name, value, unit):
    """Prints one "BENCH <name> <value> <unit>" line."""
    log.begin(log.INFO)
    log.put('BENCH ')
    log.put(name)
    log.put(' ')
    log.put_int(value)
    log.put(' ')
    log.put(unit)
    log.end()


def bench_frames():
    """Returns cycles per alloc_frame + free_frame pair."""
    start = cpu.read_tsc()
    for i in range(FRAME_ROUNDS):
        phys = pmm.alloc_frame()
        pmm.free_frame(phys)
    return (cpu.read_tsc() - start) // FRAME_ROUNDS


def bench_map_unmap():
    """Returns cycles per 4 KiB map + unmap in the kernel space (tables already built)."""
    pml4 = kernel_space.kernel_pml4()
    phys = pmm.alloc_frame()
    flags = paging.PAGE_WRITE | paging.PAGE_NO_EXECUTE
    paging.map(pml4, SCRATCH_VIRT, phys, flags, pmm)      # tables built once, outside the loop
    paging.unmap(pml4, SCRATCH_VIRT, pmm, kernel_space.tlb)
    start = cpu.read_tsc()
    for i in range(MAP_ROUNDS):
        paging.map(pml4, SCRATCH_VIRT, phys, flags, pmm)
        paging.unmap(pml4, SCRATCH_VIRT, pmm, kernel_space.tlb)
    cycles = (cpu.read_tsc() - start) // MAP_ROUNDS
    pmm.free_frame(phys)
    return cycles


def bench_heap(size):
    """Returns cycles per malloc(size) + free pair on the kernel heap."""
    start = cpu.read_tsc()
    for i in range(HEAP_ROUNDS):
        addr = heap.kernel_heap.malloc(size)
        heap.kernel_heap.free(addr)
    return (cpu.read_tsc() - start) // HEAP_ROUNDS


def bench_console(shadow):
    """Returns (cycles per putchar, cycles per full-screen scroll), or
    (-1, -1) when no memory for the scratch screens."""
    pitch = SCREEN_WIDTH * 4
    size = pitch * SCREEN_HEIGHT
    screen = heap.kernel_heap.malloc(size)
    if screen == 0:
        return -1, -1
    console = scratch_console
    console.configure(screen, SCREEN_WIDTH, SCREEN_HEIGHT, pitch, SCREEN_BPP, 8, 16, 8, 8, 8, 0)
    back = 0
    if shadow:
        back = heap.kernel_heap.malloc(console.back_buffer_bytes())
        if back != 0:
            console.attach_back_buffer(back, console.back_buffer_bytes())
    chars = console.cols * (console.rows - 1)
    start = cpu.read_tsc()
    for i in range(chars):
        console.put_char(chr(33 + i % 90))
    putchar = (cpu.read_tsc() - start) // chars
    start = cpu.read_tsc()
    for i in range(SCROLL_ROUNDS):
        console.scroll_up()
    scroll = (cpu.read_tsc() - start) // SCROLL_ROUNDS
    console.reset()
    if back != 0:
        heap.kernel_heap.free(back)
    heap.kernel_heap.free(screen)
    return putchar, scroll


def run_all():
    """Runs the benchmarks; prints one BENCH line each."""
    report('reset_to_banner', _state.banner_tsc, 'cycles (firmware + boot stub + kmain)')
    report('kmain_to_banner', _state.banner_tsc - _state.kmain_tsc, 'cycles')
    report('heap_bytes_in_use_after_boot', heap.kernel_heap.bytes_in_use, 'bytes')
    report('early_arena_bytes_after_boot', runtime.early_arena_used(), 'bytes')
    report('frame_alloc_free', bench_frames(), 'cycles/op')
    report('map_unmap_4k', bench_map_unmap(), 'cycles/op')
    report('heap_malloc_free_64', bench_heap(64), 'cycles/op')
    report('heap_malloc_free_4096', bench_heap(4096), 'cycles/op')
    putchar, scroll = bench_console(False)
    report('console_putchar_1024x768x32', putchar, 'cycles/op')
    report('console_scroll_1024x768x32', scroll, 'cycles/op')
    putchar, scroll = bench_console(True)
    report('console_putchar_shadowed', putchar, 'cycles/op')
    report('console_scroll_shadowed', scroll, 'cycles/op')
