"""Memory bring-up at boot, in order:

    1. the physical memory manager over the normalised memory map, and on
       the formats that keep page tables' present-entry counts outside the
       entries (every port: elyz/mm/pte/), their array, 2 bytes a frame;
    2. the kernel's own page tables (elyz/mm/kernel_space.py), then the
       switch to them; process address spaces copy their kernel half
       (elyz/mm/address_space.py);
    3. bootloader-reclaimable memory handed to the PMM (nothing of the
       bootloader's is used any more: BootInfo holds copies);
    4. the kernel heap, and the C runtime's malloc moved onto it.

    init_memory(boot_info) -> 0, or a negative E_* code (logged) when a step failed
    log_memory_state()     one line of PMM and heap figures
"""

from elyz.lib import log
from elyz.mm import address_space, heap, kernel_space, paging
from elyz.abi.errors import error_name
from elyz.mm.pmm import pmm
from elyz.rlib_kernel import image, rawmem, runtime

def _fail(step, status):
    log.begin(log.ERROR)
    log.put('memory: ')
    log.put(step)
    log.put(' failed: ')
    log.put(error_name(status))
    log.end()
    return status


def _give_paging_its_counts(boot_info):
    """Allocates the count array for every frame the PMM knows (page
    tables only ever come from it); returns 0 or E_NOMEM."""
    frames = pmm.frames_total
    pages = (paging.count_array_bytes(frames) + paging.PAGE_SIZE - 1) // paging.PAGE_SIZE
    phys = pmm.alloc_contiguous(pages, 1)
    if phys < 0:
        return phys
    base = phys + boot_info.hhdm_offset
    rawmem.fill(base, 0, pages * paging.PAGE_SIZE)
    paging.set_count_array(base, frames)
    return 0


def init_memory(boot_info):
    """Brings up PMM, kernel page tables and heap; returns 0 or an error."""
    status = pmm.init(boot_info, image.kernel_end() - image.kernel_start())
    if status < 0:
        return _fail('physical memory manager', status)
    if not paging.fmt.COUNT_IN_ENTRY:
        status = _give_paging_its_counts(boot_info)
        if status < 0:
            return _fail('page-table count array', status)
    pml4 = kernel_space.build(boot_info, pmm)
    if pml4 < 0:
        return _fail('kernel page tables', pml4)
    kernel_space.activate(pml4)
    address_space.init(pml4, pmm)
    reclaimed = pmm.reclaim_bootloader_memory(boot_info)
    if reclaimed < 0:
        return _fail('reclaiming bootloader memory', reclaimed)
    status = heap.init_kernel_heap(boot_info.hhdm_offset)
    if status < 0:
        return _fail('kernel heap', status)
    runtime.use_kernel_heap()
    log.begin(log.INFO)
    log.put('paging: kernel page tables at ')
    log.put_hex(pml4)
    log.end()
    log_memory_state()
    return 0


def log_memory_state():
    """Logs the PMM counters and heap statistics; returns nothing."""
    log.begin(log.INFO)
    log.put('pmm: ')
    log.put_int(pmm.frames_free)
    log.put(' free, ')
    log.put_int(pmm.frames_used)
    log.put(' used, ')
    log.put_int(pmm.frames_reserved)
    log.put(' reserved of ')
    log.put_int(pmm.frames_total)
    log.put(' frames; heap: ')
    log.put_int(heap.kernel_heap.bytes_in_use)
    log.put(' bytes in use, early arena ')
    log.put_int(runtime.early_arena_used())
    log.put(' bytes')
    log.end()
