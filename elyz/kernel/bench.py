"""Kernel micro-benchmarks (`make bench`, command line word elyz.bench).

Each prints `BENCH <name> <value> <unit>`.  Run under QEMU with
`-icount shift=0,sleep=off -cpu qemu64`, the time-stamp counter advances
by one per instruction, so the figures are virtual cycles, identical from
run to run.

    note_kmain()        records the TSC when kmain starts
    note_banner()       records the TSC when the banner is printed
    run_all()           runs every benchmark and prints the results

The object API figures (obj_*) are what a system call will pay inside the
kernel, on kernel-made processes (api.spawn(None, 0)), the caller's address
space active as during a system call:

    obj_alloc_map_touch_release_4k       allocate 4 KiB + map + one store to
                                         the page + release, the only mapping
                                         of its process (page tables made and
                                         freed every time)
    obj_alloc_map_touch_release_4k_warm  the same beside another mapping that
                                         keeps the page tables
    obj_..._vs_linux                     the figures in per cent of Linux 6.1's
                                         mmap + touch + munmap of 4 KiB in the
                                         same QEMU (LINUX_MMAP_TOUCH_MUNMAP,
                                         /work/shared/BENCH-FACTS.md)
    obj_map_unmap_4k                     map + unmap of an existing object
    obj_clone_release, obj_borrow_release, obj_lease_release (a lease with
    an expiry: the expiry queue too), obj_transfer_there_and_back (two
    transfers: to a second process and back), obj_describe,
    obj_spawn_exit (process create + teardown)

An obj_errors line appears only when an operation failed during a run (the
figures are then wrong).
"""

from elyz.abi.rights import (PROT_READ, PROT_WRITE, RIGHT_BORROW, RIGHT_CLONE, RIGHT_GIVE,
                             RIGHT_MAP, RIGHT_READ, RIGHT_TRANSFER, RIGHT_WRITE)
from elyz.console.console import Console
from elyz.lib import log
from elyz.mm import address_space, heap, kernel_space, paging, protection
from elyz.mm.pmm import pmm
from elyz.obj import api, process
from elyz.rlib_kernel import cpu, rawmem, runtime

SCRATCH_VIRT = rawmem.to_word(0xffffc00000200000)
FRAME_ROUNDS = 10000
MAP_ROUNDS = 2000
HEAP_ROUNDS = 5000
SCROLL_ROUNDS = 20
SCREEN_WIDTH = 1024
SCREEN_HEIGHT = 768
SCREEN_BPP = 32
OBJ_ROUNDS = 2000
SPAWN_ROUNDS = 200
OBJ_VA = 0x40000000             # user addresses of the object benchmarks
OBJ_NEIGHBOUR_VA = 0x40100000   # same page table as OBJ_VA
OBJ_PAGE = 4096
OBJ_RIGHTS = RIGHT_READ | RIGHT_WRITE | RIGHT_MAP | RIGHT_CLONE | RIGHT_TRANSFER | RIGHT_BORROW
OBJ_PROT = PROT_READ | PROT_WRITE
OBJ_LEASE_TICKS = 1000000
# Linux 6.1, mmap + touch + munmap of 4 KiB, guest instructions under the
# same QEMU (-icount shift=0, -cpu qemu64): /work/shared/BENCH-FACTS.md.
LINUX_MMAP_TOUCH_MUNMAP = 29411


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


class _ObjBench(object):
    def __init__(self):
        self.first = -1             # Process record indexes
        self.second = -1
        self.errors = 0
        self.description = api.Description()


_obj = _ObjBench()


def _check(status):
    """Counts a failed operation (negative status); returns nothing."""
    if status < 0:
        _obj.errors += 1


def _touch(vaddr, value):
    protection.user_access_begin()
    rawmem.store_u64(vaddr, value)
    protection.user_access_end()


def bench_obj_alloc_map_touch_release(warm):
    """Returns cycles per allocate(4 KiB) + map + touch + release in the
    first process, its space active; with warm, a neighbouring mapping
    keeps the page tables."""
    proc = process.get(_obj.first)
    address_space.activate(proc.space)
    neighbour = 0
    if warm:
        neighbour = api.allocate(proc, OBJ_PAGE, OBJ_RIGHTS)
        _check(neighbour)
        _check(api.map(proc, neighbour, OBJ_NEIGHBOUR_VA, 0, OBJ_PAGE, OBJ_PROT))
    start = cpu.read_tsc()
    for i in range(OBJ_ROUNDS):
        desc = api.allocate(proc, OBJ_PAGE, OBJ_RIGHTS)
        _check(api.map(proc, desc, OBJ_VA, 0, OBJ_PAGE, OBJ_PROT))
        _touch(OBJ_VA, i)
        _check(api.release(proc, desc))
    cycles = (cpu.read_tsc() - start) // OBJ_ROUNDS
    if warm:
        _check(api.release(proc, neighbour))
    address_space.activate(kernel_space.kernel_pml4())
    return cycles


def bench_obj_map_unmap():
    """Returns cycles per map + unmap of a 4 KiB object (tables kept by a
    neighbouring mapping)."""
    proc = process.get(_obj.first)
    address_space.activate(proc.space)
    desc = api.allocate(proc, 2 * OBJ_PAGE, OBJ_RIGHTS)
    _check(api.map(proc, desc, OBJ_NEIGHBOUR_VA, OBJ_PAGE, OBJ_PAGE, OBJ_PROT))
    start = cpu.read_tsc()
    for i in range(OBJ_ROUNDS):
        _check(api.map(proc, desc, OBJ_VA, 0, OBJ_PAGE, OBJ_PROT))
        _check(api.unmap(proc, OBJ_VA, OBJ_PAGE) - 1)
    cycles = (cpu.read_tsc() - start) // OBJ_ROUNDS
    _check(api.release(proc, desc))
    address_space.activate(kernel_space.kernel_pml4())
    return cycles


OBJ_CLONE = 0
OBJ_BORROW = 1
OBJ_LEASE = 2
OBJ_TRANSFER = 3
OBJ_DESCRIBE = 4


def bench_obj_descriptor(op):
    """Returns cycles per op (OBJ_*) on a descriptor of a 4 KiB object in
    the first process."""
    first = process.get(_obj.first)
    second = process.get(_obj.second)
    to_second = api.grant(first, second, RIGHT_GIVE, True)
    to_first = api.grant(second, first, RIGHT_GIVE, False)
    desc = api.allocate(first, OBJ_PAGE, OBJ_RIGHTS)
    _check(to_second)
    _check(to_first)
    _check(desc)
    start = cpu.read_tsc()
    if op == OBJ_CLONE:
        for i in range(OBJ_ROUNDS):
            _check(api.release(first, api.clone(first, desc, OBJ_RIGHTS)))
    elif op == OBJ_BORROW:
        for i in range(OBJ_ROUNDS):
            _check(api.release(first, api.borrow(first, desc, 0)))
    elif op == OBJ_LEASE:
        for i in range(OBJ_ROUNDS):
            _check(api.release(first, api.borrow(first, desc, OBJ_LEASE_TICKS)))
    elif op == OBJ_TRANSFER:
        for i in range(OBJ_ROUNDS):
            there = api.transfer(first, desc, to_second)
            desc = api.transfer(second, there, to_first)
            _check(there)
            _check(desc)
    else:
        for i in range(OBJ_ROUNDS):
            _check(api.describe(first, desc, _obj.description))
    cycles = (cpu.read_tsc() - start) // OBJ_ROUNDS
    _check(api.release(first, desc))
    _check(api.release(first, to_second))
    _check(api.release(second, to_first))
    return cycles


def bench_obj_spawn_exit():
    """Returns cycles per spawn(None) + exit (process create + teardown)."""
    start = cpu.read_tsc()
    for i in range(SPAWN_ROUNDS):
        index = api.spawn(None, 0)
        if index < 0:
            _obj.errors += 1
        else:
            _check(api.exit(process.get(index), 0))
    return (cpu.read_tsc() - start) // SPAWN_ROUNDS


def report_vs_linux(name, cycles):
    """Prints "BENCH <name>_vs_linux <per cent> ..." for an obj figure."""
    log.begin(log.INFO)
    log.put('BENCH ')
    log.put(name)
    log.put('_vs_linux ')
    log.put_int((cycles * 100 + LINUX_MMAP_TOUCH_MUNMAP // 2) // LINUX_MMAP_TOUCH_MUNMAP)
    log.put(' % of Linux 6.1 mmap+touch+munmap 4 KiB (')
    log.put_int(LINUX_MMAP_TOUCH_MUNMAP)
    log.put(' instructions)')
    log.end()


def run_object_benchmarks():
    """The obj_* figures (see the module docstring)."""
    _obj.first = api.spawn(None, 0)
    _obj.second = api.spawn(None, 0)
    if _obj.first < 0 or _obj.second < 0:
        report('obj_errors', 1, 'spawn failed: no object figures')
        return
    _obj.errors = 0
    # One untimed round of each first: the heap's slabs exist afterwards.
    bench_obj_alloc_map_touch_release(False)
    cold = bench_obj_alloc_map_touch_release(False)
    warm = bench_obj_alloc_map_touch_release(True)
    report('obj_alloc_map_touch_release_4k', cold, 'cycles/op')
    report('obj_alloc_map_touch_release_4k_warm', warm, 'cycles/op')
    report_vs_linux('obj_alloc_map_touch_release_4k', cold)
    report_vs_linux('obj_alloc_map_touch_release_4k_warm', warm)
    report('obj_map_unmap_4k', bench_obj_map_unmap(), 'cycles/op')
    report('obj_clone_release', bench_obj_descriptor(OBJ_CLONE), 'cycles/op')
    report('obj_borrow_release', bench_obj_descriptor(OBJ_BORROW), 'cycles/op')
    report('obj_lease_release', bench_obj_descriptor(OBJ_LEASE), 'cycles/op')
    report('obj_transfer_there_and_back', bench_obj_descriptor(OBJ_TRANSFER), 'cycles/op')
    report('obj_describe', bench_obj_descriptor(OBJ_DESCRIBE), 'cycles/op')
    bench_obj_spawn_exit()
    report('obj_spawn_exit', bench_obj_spawn_exit(), 'cycles/op')
    _check(api.exit(process.get(_obj.first), 0))
    _check(api.exit(process.get(_obj.second), 0))
    if _obj.errors:
        report('obj_errors', _obj.errors, 'operations failed: the obj figures are wrong')


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
    run_object_benchmarks()
