"""The kernel's entry points, exported to C under fixed names.

    rpy_kmain(protocol, info, hhdm_offset)   from arch/<karch>/boot.c
    rpy_trap(frame)                          from arch/<karch>/cpu_tables.c, for
                                             every interrupt and CPU exception
    rpy_syscall(frame)                       from cpu_tables.c, for every system call
    rpy_heap_malloc/realloc/free             the C runtime's allocator after
                                             boot (arch/common/kernel/heap_glue.c)
    rpy_obj_*(proc, ...)                     the object API (elyz/obj/api.py) for
                                             the process with record index proc:
                                             what the system calls will call;
                                             allocation-free like rpy_trap

ENTRY_POINTS lists them for the backend (targetelyz.py).  The ports
(aarch64, riscv64, loongarch64) export rpy_kmain (elyz/kernel/portmain.py),
rpy_trap (elyz/kernel/porttraps.py) and the heap's three: PORT_ENTRY_POINTS.
"""

from elyz.rlib_kernel.karch import KARCH
# The kernel main of the architecture only: importing one registers its
# self-tests (elyz/kernel/selftest.py), which the translation then includes.
if KARCH == 'x86_64':
    from elyz.kernel import main, syscall, traps
else:
    from elyz.kernel import porttraps, portmain
from elyz.mm import heap
from elyz.obj import api, process
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


def rpy_syscall(frame):
    """Runs the system call whose frame (elyz/rlib_kernel/trapframe.py) is at
    frame: result in its rax; returns 0."""
    syscall.dispatch(frame)
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


# describe() fills this record; the system-call layer copies it out.
last_description = api.Description()


def rpy_obj_allocate(proc, size, rights):
    return api.allocate(process.get(proc), size, rights)


def rpy_obj_clone(proc, desc, rights):
    return api.clone(process.get(proc), desc, rights)


def rpy_obj_borrow(proc, desc, duration):
    return api.borrow(process.get(proc), desc, duration)


def rpy_obj_transfer(proc, desc, target):
    return api.transfer(process.get(proc), desc, target)


def rpy_obj_release(proc, desc):
    return api.release(process.get(proc), desc)


def rpy_obj_map(proc, desc, vaddr, offset, length, prot):
    return api.map(process.get(proc), desc, vaddr, offset, length, prot)


def rpy_obj_unmap(proc, vaddr, length):
    return api.unmap(process.get(proc), vaddr, length)


def rpy_obj_describe(proc, desc):
    return api.describe(process.get(proc), desc, last_description)


def rpy_obj_exit(proc, code):
    return api.exit(process.get(proc), code)


ENTRY_POINTS = [
    EntryPoint(rpy_kmain, [int, int, int], 'rpy_kmain'),
    EntryPoint(rpy_trap, [int], 'rpy_trap', allocation_free=True),
    EntryPoint(rpy_syscall, [int], 'rpy_syscall', allocation_free=True),
    EntryPoint(rpy_heap_malloc, [int], 'rpy_heap_malloc', allocation_free=True),
    EntryPoint(rpy_heap_realloc, [int, int], 'rpy_heap_realloc', allocation_free=True),
    EntryPoint(rpy_heap_free, [int], 'rpy_heap_free', allocation_free=True),
    EntryPoint(rpy_obj_allocate, [int, int, int], 'rpy_obj_allocate', allocation_free=True),
    EntryPoint(rpy_obj_clone, [int, int, int], 'rpy_obj_clone', allocation_free=True),
    EntryPoint(rpy_obj_borrow, [int, int, int], 'rpy_obj_borrow', allocation_free=True),
    EntryPoint(rpy_obj_transfer, [int, int, int], 'rpy_obj_transfer', allocation_free=True),
    EntryPoint(rpy_obj_release, [int, int], 'rpy_obj_release', allocation_free=True),
    EntryPoint(rpy_obj_map, [int, int, int, int, int, int], 'rpy_obj_map',
               allocation_free=True),
    EntryPoint(rpy_obj_unmap, [int, int, int], 'rpy_obj_unmap', allocation_free=True),
    EntryPoint(rpy_obj_describe, [int, int], 'rpy_obj_describe', allocation_free=True),
    EntryPoint(rpy_obj_exit, [int, int], 'rpy_obj_exit', allocation_free=True),
]


def rpy_port_kmain(protocol, info, hhdm_offset):
    """Boots a port (info: the device tree's physical address); returns
    only if it was told to stop."""
    portmain.kmain(protocol, info, hhdm_offset)
    return 0


def rpy_port_trap(frame):
    """Handles a port's trap saved at frame (elyz/rlib_kernel/portframe.py);
    returns 0 when the trapped code may resume."""
    porttraps.dispatch(frame)
    return 0


PORT_ENTRY_POINTS = [
    EntryPoint(rpy_port_kmain, [int, int, int], 'rpy_kmain'),
    EntryPoint(rpy_port_trap, [int], 'rpy_trap', allocation_free=True),
    EntryPoint(rpy_heap_malloc, [int], 'rpy_heap_malloc', allocation_free=True),
    EntryPoint(rpy_heap_realloc, [int, int], 'rpy_heap_realloc', allocation_free=True),
    EntryPoint(rpy_heap_free, [int], 'rpy_heap_free', allocation_free=True),
]
if KARCH != 'x86_64':
    ENTRY_POINTS = PORT_ENTRY_POINTS
