"""Self-tests of the core kernel, run in the translated kernel (`make selftest`).

    pmm.alloc_every_free_frame      every free frame handed out once, all back,
                                    counters add up before, during and after
    paging.map_translate_unmap      a fresh frame mapped at a scratch kernel
                                    address: data visible through both
                                    mappings, unmapped afterwards (a probe
                                    faults), page-table frames given back
    heap.churn_back_to_baseline     interleaved allocations of many sizes,
                                    contents intact, bytes in use back to the
                                    start
    runtime.memmove_overlap         the C runtime's memmove (rawmem.copy) in
                                    both overlapping directions, odd sizes
    console.scroll                  a scratch console in RAM: a marked row
                                    moves up one text row per scroll, the
                                    bottom row is cleared

Each returns None when it passed or a constant string saying why not.
"""

from elyz.console.console import Console
from elyz.kernel import selftest
from elyz.rlib_kernel.karch import KARCH
if KARCH == 'x86_64':
    from elyz.kernel import traps
else:
    from elyz.kernel import porttraps as traps      # the same probe functions
from elyz.mm import heap, kernel_space, paging
from elyz.abi.errors import E_NOMEM, E_NOT_MAPPED
from elyz.mm.pmm import pmm
from elyz.rlib_kernel import rawmem

# A kernel-half address nothing else maps (PML4 entry 384, between the
# direct map and the kernel image).
SCRATCH_VIRT = rawmem.to_word(0xffffc00000000000)
PATTERN = 0x5A17E11A5A17E11A
CHURN_SLOTS = 64
CHURN_ROUNDS = 8


class _Slots(object):
    def __init__(self):
        self.addr = [0] * CHURN_SLOTS
        self.size = [0] * CHURN_SLOTS


_slots = _Slots()


@selftest.selftest('pmm.alloc_every_free_frame')
def test_alloc_every_free_frame():
    if not pmm.check_counters():
        return 'counters do not add up before the test'
    free_before = pmm.frames_free
    # Chain the allocated frames through their own first word (no list needed).
    head = 0
    count = 0
    while True:
        phys = pmm.alloc_frame()
        if phys == E_NOMEM:
            break
        if phys < 0:
            return 'alloc_frame failed with an unexpected error'
        rawmem.store_u64(pmm.phys_to_virt(phys), head)
        head = phys
        count += 1
    if count != free_before:
        return 'handed out a different number of frames than were free'
    if pmm.frames_free != 0 or not pmm.check_counters():
        return 'counters wrong with every frame allocated'
    while head != 0:
        next_head = rawmem.load_u64(pmm.phys_to_virt(head))
        if pmm.free_frame(head) != 0:
            return 'free_frame refused a frame it had handed out'
        head = next_head
    if pmm.frames_free != free_before or not pmm.check_counters():
        return 'free frame count not back to where it started'
    return None


@selftest.selftest('paging.map_translate_unmap')
def test_map_translate_unmap():
    pml4 = kernel_space.kernel_pml4()
    if pml4 == 0:
        return 'the kernel page tables are not active'
    used_before = pmm.frames_used
    phys = pmm.alloc_frame()
    if phys < 0:
        return 'no frame to map'
    flags = paging.PAGE_WRITE | paging.PAGE_NO_EXECUTE
    if paging.map(pml4, SCRATCH_VIRT, phys, flags, pmm) != 0:
        return 'map failed'
    if paging.translate(pml4, SCRATCH_VIRT + 0x123) != phys + 0x123:
        return 'translate does not give the mapped frame'
    rawmem.store_u64(SCRATCH_VIRT + 8, PATTERN)
    if rawmem.load_u64(pmm.phys_to_virt(phys) + 8) != PATTERN:
        return 'a write through the new mapping is not in the frame'
    if paging.unmap(pml4, SCRATCH_VIRT, pmm, kernel_space.tlb) != 0:
        return 'unmap failed'
    if paging.translate(pml4, SCRATCH_VIRT) != E_NOT_MAPPED:
        return 'still mapped after unmap'
    traps.probe_read(SCRATCH_VIRT)
    if not traps.probe_faulted() or traps.probe_fault_address() != SCRATCH_VIRT:
        return 'reading the unmapped page did not fault'
    pmm.free_frame(phys)
    # Tables of the kernel half are kept (shared by every address space):
    # at most a PD and a PT were added for the scratch address.
    if pmm.frames_used - used_before > 2:
        return 'page-table frames leaked'
    return None


def _fill(addr, size, seed):
    i = 0
    while i + 8 <= size:
        rawmem.store_u64(addr + i, seed ^ i)
        i += 8


def _intact(addr, size, seed):
    i = 0
    while i + 8 <= size:
        if rawmem.load_u64(addr + i) != seed ^ i:
            return False
        i += 8
    return True


@selftest.selftest('heap.churn_back_to_baseline')
def test_heap_churn():
    kheap = heap.kernel_heap
    baseline = kheap.bytes_in_use
    for slot in range(CHURN_SLOTS):
        _slots.addr[slot] = 0
    for round_number in range(CHURN_ROUNDS):
        for slot in range(CHURN_SLOTS):
            if (slot + round_number) % 3 == 0 and _slots.addr[slot] != 0:
                if not _intact(_slots.addr[slot], _slots.size[slot], slot):
                    return 'a block was overwritten while allocated'
                if kheap.free(_slots.addr[slot]) != 0:
                    return 'free refused a live block'
                _slots.addr[slot] = 0
            elif _slots.addr[slot] == 0:
                size = 16 + ((slot * 97 + round_number * 389) % 9000)
                addr = kheap.malloc(size)
                if addr == 0:
                    return 'malloc failed'
                if addr & 15:
                    return 'a block is not 16-byte aligned'
                _fill(addr, size, slot)
                _slots.addr[slot] = addr
                _slots.size[slot] = size
    for slot in range(CHURN_SLOTS):
        if _slots.addr[slot] != 0:
            if not _intact(_slots.addr[slot], _slots.size[slot], slot):
                return 'a block was overwritten while allocated'
            kheap.free(_slots.addr[slot])
            _slots.addr[slot] = 0
    if kheap.bytes_in_use != baseline:
        return 'bytes in use not back to the baseline'
    return None


MEMMOVE_BUFFER = 512
MEMMOVE_SIZES = [1, 7, 8, 9, 100, 301]


def _fill_bytes(addr, n):
    for i in range(n):
        rawmem.store_u8(addr + i, (i * 7 + 1) & 0xFF)


def _moved_correctly(buffer, dst_offset, src_offset, n):
    """Returns True when bytes [dst_offset, dst_offset+n) of buffer hold the
    pattern _fill_bytes wrote at [src_offset, src_offset+n)."""
    for i in range(n):
        if rawmem.load_u8(buffer + dst_offset + i) != ((src_offset + i) * 7 + 1) & 0xFF:
            return False
    return True


@selftest.selftest('runtime.memmove_overlap')
def test_memmove_overlap():
    buffer = heap.kernel_heap.malloc(MEMMOVE_BUFFER)
    if buffer == 0:
        return 'no memory for the test buffer'
    result = None
    for n in MEMMOVE_SIZES:
        _fill_bytes(buffer, MEMMOVE_BUFFER)
        rawmem.copy(buffer + 3, buffer, n)               # forwards overlap: copy backwards
        if not _moved_correctly(buffer, 3, 0, n):
            result = 'memmove to a higher overlapping address corrupted the data'
            break
        _fill_bytes(buffer, MEMMOVE_BUFFER)
        rawmem.copy(buffer, buffer + 5, n)               # backwards overlap
        if not _moved_correctly(buffer, 0, 5, n):
            result = 'memmove to a lower overlapping address corrupted the data'
            break
    heap.kernel_heap.free(buffer)
    return result


SCRATCH_WIDTH = 320
SCRATCH_HEIGHT = 64            # four text rows of 16 pixels
SCRATCH_BPP = 32
scratch_console = Console()


def _row_has_ink(console, row, bg_pixel):
    """Returns True when a pixel of text row `row` differs from bg_pixel."""
    y = row * 16
    while y < (row + 1) * 16:
        x = 0
        while x < 8:
            if console.screen.pixel_at(x, y) != bg_pixel:
                return True
            x += 1
        y += 1
    return False


@selftest.selftest('console.scroll')
def test_console_scroll():
    pitch = SCRATCH_WIDTH * 4
    size = pitch * SCRATCH_HEIGHT
    buffer = heap.kernel_heap.malloc(size)
    if buffer == 0:
        return 'no memory for a scratch framebuffer'
    console = scratch_console
    status = console.configure(buffer, SCRATCH_WIDTH, SCRATCH_HEIGHT, pitch, SCRATCH_BPP,
                               8, 16, 8, 8, 8, 0)
    result = None
    if status != 0:
        result = 'the scratch console refused a 32 bpp mode'
    else:
        bg = console.bg_pixel
        console.write('\n\n\n#')           # mark the bottom row (row 3)
        if not _row_has_ink(console, 3, bg) or _row_has_ink(console, 2, bg):
            result = 'the marker was not drawn on the bottom row'
        else:
            console.write('\n')             # one scroll
            if not _row_has_ink(console, 2, bg):
                result = 'the marked row did not move up'
            elif _row_has_ink(console, 3, bg):
                result = 'the new bottom row was not cleared'
    heap.kernel_heap.free(buffer)
    return result
