"""Kernel stacks of processes: one per process, in a kernel-half region of
their own, each above unmapped guard pages.

    Slot i (a process record index) spans SLOT_SIZE bytes from
    REGION + i * SLOT_SIZE: the lower GUARD_PAGES pages stay unmapped, the
    upper STACK_PAGES pages are the stack (RW-, NX, global).  An overflow
    faults on the guard (traps.py reports "kernel stack overflow").

    create(slot) -> the stack's top (its initial rsp: a higher-half address,
                    so negative), or 0 when frames or page tables ran out
                    (nothing taken); frames come from the PMM one by one
    destroy(slot)   unmaps the stack and gives its frames back
    bottom(slot) top(slot)
    guard_hit(addr) -> the slot whose guard pages hold addr, or -1
    STACK_SIZE
"""

from elyz.abi.errors import E_NOMEM
from elyz.abi.limits import MAX_PROCESSES
from elyz.mm import kernel_space, paging
from elyz.mm.pmm import pmm
from elyz.rlib_kernel import rawmem

REGION = rawmem.to_word(0xfffffe0000000000)        # PML4 entry 508
STACK_PAGES = 4
GUARD_PAGES = 4
SLOT_SIZE = (STACK_PAGES + GUARD_PAGES) * paging.PAGE_SIZE
STACK_SIZE = STACK_PAGES * paging.PAGE_SIZE
STACK_FLAGS = paging.PAGE_WRITE | paging.PAGE_NO_EXECUTE | paging.PAGE_GLOBAL


def bottom(slot):
    """Returns the lowest address of slot's stack."""
    return REGION + slot * SLOT_SIZE + GUARD_PAGES * paging.PAGE_SIZE


def top(slot):
    """Returns the address just above slot's stack."""
    return REGION + (slot + 1) * SLOT_SIZE


def _unmap_pages(slot, count):
    pml4 = kernel_space.kernel_pml4()
    i = 0
    while i < count:
        virt = bottom(slot) + i * paging.PAGE_SIZE
        phys = paging.translate(pml4, virt)
        if phys >= 0:
            paging.unmap(pml4, virt, pmm, kernel_space.tlb)
            pmm.free_frame(phys)
        i += 1


def create(slot):
    """Maps a fresh stack for slot; returns its top, or 0."""
    pml4 = kernel_space.kernel_pml4()
    i = 0
    while i < STACK_PAGES:
        phys = pmm.alloc_frame()
        status = E_NOMEM
        if phys >= 0:
            status = paging.map(pml4, bottom(slot) + i * paging.PAGE_SIZE, phys,
                                kernel_space.strip_nx(STACK_FLAGS), pmm)
            if status < 0:
                pmm.free_frame(phys)
        if status < 0:
            _unmap_pages(slot, i)
            return 0
        i += 1
    return top(slot)


def destroy(slot):
    """Unmaps slot's stack and frees its frames; returns nothing."""
    _unmap_pages(slot, STACK_PAGES)


def guard_hit(addr):
    """Returns the slot whose guard pages hold addr, or -1."""
    if addr < REGION or addr >= REGION + MAX_PROCESSES * SLOT_SIZE:
        return -1
    slot = (addr - REGION) // SLOT_SIZE
    if addr < bottom(slot):
        return slot
    return -1
