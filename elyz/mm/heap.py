"""The kernel heap: malloc/calloc/realloc/free over raw memory.

It sits behind the C runtime's malloc family (with gc=none every RPython
GC allocation lands here) and serves kernel objects.

API
    PageSource                      where the heap gets pages (interface):
        alloc_pages(n) -> virtual address of n contiguous pages, or 0
        free_pages(virt, n) -> E_OK or an error
    PmmPageSource(pmm, hhdm_offset) the kernel's: frames from the PMM
                                    (alloc_contiguous), reached via the HHDM
    Heap()
        init(page_source) -> E_OK, or E_NOMEM when the control page cannot
                             be had
        malloc(size) -> 16-byte aligned virtual address, or 0
        calloc(n, size) -> zeroed block, or 0 (also when n * size overflows)
        realloc(addr, size) -> block holding the old contents, or 0
        free(addr) -> E_OK or an error (free(0) is a no-op); E_REFUSED when
                      the page source refuses a large block's pages: the
                      block then stays allocated and the counters unchanged
        usable_size(addr) -> bytes usable at addr, or an error
        statistics: bytes_in_use, peak_bytes_in_use, bytes_reserved_from_pages,
                    alloc_count, free_count, refused_count (frees refused,
                    for a bad pointer or by the page source)
    kernel_heap, pmm_page_source    the prebuilt kernel instances
    init_kernel_heap(hhdm_offset) -> E_OK or E_NOMEM   (after pmm.init)
    heap_malloc(size) heap_calloc(n, size) heap_realloc(addr, size)
    heap_free(addr) heap_usable_size(addr)   the same on kernel_heap, for
                                    the C side (rpy_heap_malloc, ...)

Design.  Blocks up to MAX_SMALL_BLOCK bytes (header included) come from
size classes: each class has a free list threaded through its free blocks;
an empty list is refilled by carving a slab of SLAB_PAGES pages into blocks
of that class.  Slabs are never given back (simple; the classes are few).
Bigger blocks are whole runs of pages from the page source, given back on
free.  Every block starts with a 16-byte header:

    block +0   MAGIC_<state> XOR block address      state: small/large, used/free
          +8   small: size class index  |  large: number of pages
          +16  payload, 16-byte aligned; malloc returns this address.
               In a free small block its first word links to the next
               free block of the class (0 ends the list).

The header is what makes free() safe: a misaligned pointer, one outside the
pages the heap ever received, one without a used-block magic, or a block
already freed is refused with an error code and one log line.  (Limits: the
"received" check is one span [lowest, highest), so a wild pointer into an
unmapped hole inside that span still faults when its header is read; a
stale pointer into pages since handed out again cannot be told from a live
block.  There is no locking: one CPU, not from interrupt handlers.)

The only mutable state besides the counters is the list heads, kept in a
control page taken at init (head of class c at control + 8 * c), so the
allocation paths touch raw memory only and never allocate a GC object
(which would recurse into this very heap).  bytes_in_use counts the usable
sizes handed out; bytes_reserved_from_pages counts pages currently held,
control page included.
"""

from rpython.rlib.rarithmetic import r_uint, intmask

from elyz.lib import log
from elyz.mm import pmm as pmm_module
from elyz.abi.errors import (E_OK, E_NOMEM, E_INVALID, E_DOUBLE_FREE,
                            E_OUT_OF_RANGE, E_ALIGN, E_REFUSED)
from elyz.rlib_kernel import rawmem

PAGE_SHIFT = pmm_module.FRAME_SHIFT
PAGE_SIZE = pmm_module.FRAME_SIZE
PAGE_MASK = PAGE_SIZE - 1

ALIGNMENT = 16
ALIGN_MASK = ALIGNMENT - 1
HEADER_SIZE = 16
WORD_BYTES = 8

# Block sizes (header included) of the size classes, all multiples of 16.
SIZE_CLASSES = [32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
                448, 512, 640, 768, 896, 1024, 1280, 1536, 1792, 2048]
NUM_CLASSES = len(SIZE_CLASSES)
MAX_SMALL_BLOCK = 2048
MAX_SMALL_PAYLOAD = MAX_SMALL_BLOCK - HEADER_SIZE
SLAB_PAGES = 4
SLAB_BYTES = SLAB_PAGES * PAGE_SIZE
MAX_ALLOC = 1 << 40             # larger requests fail at once

# Header magics, XORed with the block address before being stored.
MAGIC_SMALL_USED = 0x4845415055534d31      # 'HEAPUSM1'
MAGIC_SMALL_FREE = 0x4845415046524d31      # 'HEAPFRM1'
MAGIC_LARGE_USED = 0x484541505553474c      # 'HEAPUSGL'
MAGIC_LARGE_FREE = 0x484541504652474c      # 'HEAPFRGL'

# What _check_block finds.
_KIND_SMALL = 1
_KIND_LARGE = 2


def size_class_of(block_size):
    """Returns the index of the smallest size class holding block_size
    bytes (header included), or -1 when block_size > MAX_SMALL_BLOCK."""
    c = 0
    while c < NUM_CLASSES:
        if SIZE_CLASSES[c] >= block_size:
            return c
        c += 1
    return -1


def _refuse(message, addr):
    """Writes the error line "message addr"; returns nothing."""
    log.begin(log.ERROR)
    log.put(message)
    log.put_hex(addr)
    log.end()


# ------------------------------------------------------------ page sources

class PageSource(object):
    """Where a Heap gets whole pages.  Subclasses override both methods."""

    def alloc_pages(self, n):
        """Returns the virtual address (page aligned, never 0) of n fresh
        contiguous pages, or 0 when there are none."""
        return 0

    def free_pages(self, virt, n):
        """Takes back n pages got from alloc_pages; returns E_OK or an error."""
        return E_INVALID


class PmmPageSource(PageSource):
    """Pages are physical frames from a PhysicalMemoryManager, used through
    the higher-half direct map."""

    def __init__(self, pmm, hhdm_offset):
        self.pmm = pmm
        self.hhdm_offset = hhdm_offset

    def alloc_pages(self, n):
        """Returns the HHDM address of n contiguous frames, or 0 when the
        PMM has no such run (or n <= 0)."""
        if n <= 0:
            return 0
        phys = self.pmm.alloc_contiguous(n, 1)
        if phys < 0:
            return 0
        return phys + self.hhdm_offset

    def free_pages(self, virt, n):
        """Returns the PMM's verdict on freeing the frames behind virt."""
        return self.pmm.free_frames(virt - self.hhdm_offset, n)


# -------------------------------------------------------------------- heap

class Heap(object):

    def __init__(self):
        self.source = None
        self.control = 0
        self.reset_statistics()
        self.lowest = 0             # [lowest, highest) spans every page received
        self.highest = 0

    def reset_statistics(self):
        """Zeroes every counter; returns nothing."""
        self.bytes_in_use = 0
        self.peak_bytes_in_use = 0
        self.bytes_reserved_from_pages = 0
        self.alloc_count = 0
        self.free_count = 0
        self.refused_count = 0

    def init(self, page_source):
        """Starts an empty heap drawing pages from page_source.  Returns E_OK,
        or E_NOMEM (logged) when page_source cannot give the control page."""
        self.source = page_source
        self.control = 0
        self.lowest = 0
        self.highest = 0
        self.reset_statistics()
        control = page_source.alloc_pages(1)
        if control == 0:
            log.error('heap: no page for the heap control page')
            return E_NOMEM
        rawmem.fill(control, 0, NUM_CLASSES * WORD_BYTES)
        self._note_pages(control, 1)
        self.control = control
        return E_OK

    # ------------------------------------------------------------ helpers

    def _head(self, c):
        """Returns the first free block of class c, 0 when there is none."""
        return rawmem.load_u64(self.control + c * WORD_BYTES)

    def _set_head(self, c, block):
        """Makes block (or 0) the first free block of class c."""
        rawmem.store_u64(self.control + c * WORD_BYTES, block)

    def _note_pages(self, base, pages):
        """Counts pages got from the source and widens [lowest, highest);
        returns nothing."""
        self.bytes_reserved_from_pages += pages * PAGE_SIZE
        end = base + pages * PAGE_SIZE
        if self.lowest == self.highest:
            self.lowest = base
            self.highest = end
        else:
            if r_uint(base) < r_uint(self.lowest):
                self.lowest = base
            if r_uint(end) > r_uint(self.highest):
                self.highest = end

    def _inside(self, block, size):
        """Returns True when [block, block+size) lies within [lowest, highest)."""
        if r_uint(block) < r_uint(self.lowest) or r_uint(block) >= r_uint(self.highest):
            return False
        room = intmask(r_uint(self.highest) - r_uint(block))
        return size <= room

    def _count_alloc(self, usable):
        """Counts a successful allocation of usable bytes; returns nothing."""
        self.bytes_in_use += usable
        if self.bytes_in_use > self.peak_bytes_in_use:
            self.peak_bytes_in_use = self.bytes_in_use
        self.alloc_count += 1

    def _refill(self, c):
        """Carves a new slab into free blocks of class c, pushed in address
        order.  Returns False when the page source has no pages."""
        base = self.source.alloc_pages(SLAB_PAGES)
        if base == 0:
            return False
        self._note_pages(base, SLAB_PAGES)
        block_size = SIZE_CLASSES[c]
        head = self._head(c)
        i = SLAB_BYTES // block_size - 1
        while i >= 0:
            block = base + i * block_size
            rawmem.store_u64(block, MAGIC_SMALL_FREE ^ block)
            rawmem.store_u64(block + WORD_BYTES, c)
            rawmem.store_u64(block + HEADER_SIZE, head)
            head = block
            i -= 1
        self._set_head(c, head)
        return True

    def _pop(self, c):
        """Takes the first free block of class c, refilling the class when
        its list is empty.  Returns the block (header) address, or 0 when
        out of pages.  A list head that is not a free block of the class
        (a write after free) is logged and the rest of that list dropped."""
        block = self._head(c)
        if block != 0 and not (self._inside(block, SIZE_CLASSES[c])
                               and block & ALIGN_MASK == 0
                               and rawmem.load_u64(block) ^ block == MAGIC_SMALL_FREE
                               and rawmem.load_u64(block + WORD_BYTES) == c):
            _refuse('heap: free list corrupted, dropped from ', block)
            self._set_head(c, 0)
            block = 0
        if block == 0:
            if not self._refill(c):
                return 0
            block = self._head(c)
        self._set_head(c, rawmem.load_u64(block + HEADER_SIZE))
        return block

    def _check_block(self, addr):
        """Returns _KIND_SMALL or _KIND_LARGE when addr is the payload of a
        used block; otherwise logs why and returns E_ALIGN, E_OUT_OF_RANGE,
        E_DOUBLE_FREE (block already free) or E_INVALID (no block there)."""
        if addr & ALIGN_MASK:
            _refuse('heap: misaligned block address ', addr)
            return E_ALIGN
        block = addr - HEADER_SIZE
        if not self._inside(block, HEADER_SIZE + ALIGNMENT):
            _refuse('heap: address outside the heap ', addr)
            return E_OUT_OF_RANGE
        magic = rawmem.load_u64(block) ^ block
        info = rawmem.load_u64(block + WORD_BYTES)
        if magic == MAGIC_SMALL_USED:
            if 0 <= info < NUM_CLASSES and self._inside(block, SIZE_CLASSES[info]):
                return _KIND_SMALL
        elif magic == MAGIC_LARGE_USED:
            if (block & PAGE_MASK) == 0 and 0 < info <= (1 << (62 - PAGE_SHIFT)) \
                    and self._inside(block, info * PAGE_SIZE):
                return _KIND_LARGE
        elif magic == MAGIC_SMALL_FREE or magic == MAGIC_LARGE_FREE:
            _refuse('heap: double free of block ', addr)
            return E_DOUBLE_FREE
        _refuse('heap: not a heap block ', addr)
        return E_INVALID

    # -------------------------------------------------------------- API

    def malloc(self, size):
        """Returns a 16-byte aligned block of at least size bytes (size 0
        gives a minimal block), or 0 when size < 0 or > MAX_ALLOC, before
        init, or when the page source is out of pages."""
        if size < 0 or size > MAX_ALLOC or self.control == 0:
            return 0
        need = size + HEADER_SIZE
        if need <= MAX_SMALL_BLOCK:
            c = size_class_of(need)
            block = self._pop(c)
            if block == 0:
                return 0
            rawmem.store_u64(block, MAGIC_SMALL_USED ^ block)
            usable = SIZE_CLASSES[c] - HEADER_SIZE
        else:
            pages = (need + PAGE_MASK) >> PAGE_SHIFT
            block = self.source.alloc_pages(pages)
            if block == 0:
                return 0
            self._note_pages(block, pages)
            rawmem.store_u64(block, MAGIC_LARGE_USED ^ block)
            rawmem.store_u64(block + WORD_BYTES, pages)
            usable = pages * PAGE_SIZE - HEADER_SIZE
        self._count_alloc(usable)
        return block + HEADER_SIZE

    def calloc(self, n, size):
        """Returns a zeroed block of n * size bytes, or 0 when n or size is
        negative, n * size overflows MAX_ALLOC, or malloc fails."""
        if n < 0 or size < 0:
            return 0
        if n != 0 and size > MAX_ALLOC // n:
            return 0
        total = n * size
        addr = self.malloc(total)
        if addr != 0:
            rawmem.fill(addr, 0, total)
        return addr

    def usable_size(self, addr):
        """Returns the number of bytes usable at addr (>= what was asked),
        or the error of a bad block (logged, see free)."""
        kind = self._check_block(addr)
        if kind < 0:
            return kind
        info = rawmem.load_u64(addr - HEADER_SIZE + WORD_BYTES)
        if kind == _KIND_SMALL:
            return SIZE_CLASSES[info] - HEADER_SIZE
        return info * PAGE_SIZE - HEADER_SIZE

    def free(self, addr):
        """Frees the block at addr.  Returns E_OK (also for addr 0), or,
        logged, counted in refused_count and with nothing changed: E_ALIGN,
        E_OUT_OF_RANGE (never heap memory), E_INVALID (no block header
        there), E_DOUBLE_FREE; or E_REFUSED when the page source refuses the
        pages of a large block, which then stays allocated (still valid,
        counters unchanged: a later free may succeed)."""
        if addr == 0:
            return E_OK
        kind = self._check_block(addr)
        if kind < 0:
            self.refused_count += 1
            return kind
        block = addr - HEADER_SIZE
        info = rawmem.load_u64(block + WORD_BYTES)
        if kind == _KIND_SMALL:
            rawmem.store_u64(block, MAGIC_SMALL_FREE ^ block)
            rawmem.store_u64(block + HEADER_SIZE, self._head(info))
            self._set_head(info, block)
            self.bytes_in_use -= SIZE_CLASSES[info] - HEADER_SIZE
        else:
            # Marked free while the pages are still ours (afterwards they are
            # not ours to write), so that a second free of addr is caught as
            # long as nobody reuses them; put back if the source refuses.
            rawmem.store_u64(block, MAGIC_LARGE_FREE ^ block)
            status = self.source.free_pages(block, info)
            if status != E_OK:
                rawmem.store_u64(block, MAGIC_LARGE_USED ^ block)
                _refuse('heap: the page source refused pages at ', block)
                self.refused_count += 1
                return E_REFUSED
            self.bytes_reserved_from_pages -= info * PAGE_SIZE
            self.bytes_in_use -= info * PAGE_SIZE - HEADER_SIZE
        self.free_count += 1
        return E_OK

    def realloc(self, addr, size):
        """Returns a block of at least size bytes holding the contents of
        addr (addr itself when it is big enough; malloc(size) when addr is
        0), or 0 when size < 0, addr is not a used block (logged) or malloc
        fails; on failure addr stays valid.  A moved block's old block is
        freed (should the page source refuse its pages, it stays allocated:
        logged, see free)."""
        if addr == 0:
            return self.malloc(size)
        if size < 0:
            return 0
        usable = self.usable_size(addr)
        if usable < 0:
            return 0
        if size <= usable:
            return addr
        new = self.malloc(size)
        if new == 0:
            return 0
        rawmem.copy(new, addr, usable)
        self.free(addr)
        return new


# ------------------------------------------------------- kernel instances

pmm_page_source = PmmPageSource(pmm_module.pmm, 0)
kernel_heap = Heap()


def init_kernel_heap(hhdm_offset):
    """Starts kernel_heap over the prebuilt PMM (which must be initialised).
    Allocates no GC object.  Returns E_OK or E_NOMEM."""
    pmm_page_source.hhdm_offset = hhdm_offset
    return kernel_heap.init(pmm_page_source)


def heap_malloc(size):
    """kernel_heap.malloc(size): a block address or 0."""
    return kernel_heap.malloc(size)


def heap_calloc(n, size):
    """kernel_heap.calloc(n, size): a zeroed block address or 0."""
    return kernel_heap.calloc(n, size)


def heap_realloc(addr, size):
    """kernel_heap.realloc(addr, size): a block address or 0."""
    return kernel_heap.realloc(addr, size)


def heap_free(addr):
    """kernel_heap.free(addr): E_OK or an error code."""
    return kernel_heap.free(addr)


def heap_usable_size(addr):
    """kernel_heap.usable_size(addr): bytes, or an error code."""
    return kernel_heap.usable_size(addr)
