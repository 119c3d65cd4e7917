"""The kernel's entry points, exported to C under fixed names.

    rpy_kmain(protocol, info, hhdm_offset)   from arch/<karch>/boot.c
    rpy_trap(frame)                          from arch/<karch>/cpu_tables.c, for
                                             every interrupt and CPU exception
    rpy_heap_malloc/realloc/free             the C runtime's allocator after
                                             boot (arch/common/kernel/heap_glue.c)

ENTRY_POINTS lists them for the backend (targetelyz.py).
"""

from elyz.kernel import main, traps
from elyz.mm import heap
from elyz.rlib_kernel.backend.program import EntryPoint


def rpy_kmain(protocol, info, hhdm_offset):
    """Boots the kernel; returns only if it was told to stop (never, normally)."""
    main.kmain(protocol, info, hhdm_offset)
    return 0


def rpy_trap(frame):
    """Handles the trap whose saved state is at frame (elyz/rlib_kernel/
    trapframe.py); returns 0 when the trapped code may resume."""
    traps.dispatch(frame)
    return 0


def rpy_heap_malloc(size):
    """C malloc after boot: a block address, or 0 when memory is exhausted."""
    return heap.heap_malloc(size)


def rpy_heap_realloc(addr, size):
    """C realloc after boot: a block address, or 0."""
    return heap.heap_realloc(addr, size)


def rpy_heap_free(addr):
    """C free after boot: 0, or an error code (the heap logs the refusal)."""
    return heap.heap_free(addr)


ENTRY_POINTS = [
    EntryPoint(rpy_kmain, [int, int, int], 'rpy_kmain'),
    EntryPoint(rpy_trap, [int], 'rpy_trap', allocation_free=True),
    EntryPoint(rpy_heap_malloc, [int], 'rpy_heap_malloc', allocation_free=True),
    EntryPoint(rpy_heap_realloc, [int, int], 'rpy_heap_realloc', allocation_free=True),
    EntryPoint(rpy_heap_free, [int], 'rpy_heap_free', allocation_free=True),
]
