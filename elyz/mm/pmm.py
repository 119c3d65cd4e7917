"""Physical memory manager: a bitmap with one bit per 4 KiB frame.

API (on the prebuilt instance `pmm` of PhysicalMemoryManager):

    pmm.reserve_range(phys, size) -> E_OK or error
        Keeps [phys, phys+size) away from the allocator for good.  Before
        init it is remembered and applied by init; after init it applies at
        once (and is refused if a frame of the range is allocated).
    pmm.init(boot_info, kernel_size) -> E_OK or error
    pmm.reclaim_bootloader_memory(boot_info) -> frames reclaimed (>= 0) or error
    pmm.alloc_frame() -> physical address, or E_NOMEM
    pmm.alloc_contiguous(n, align_frames) -> physical address, or error
    pmm.free_frame(phys) -> E_OK or error
    pmm.free_frames(phys, n) -> E_OK or error
    pmm.frame_state(phys) -> FRAME_FREE | FRAME_USED | FRAME_RESERVED, or error
    pmm.phys_to_virt(phys) -> phys + hhdm_offset
    pmm.check_counters() -> True when a recount of the bitmaps matches the counters
    counters: frames_total, frames_free, frames_used, frames_reserved

Frame states.  Every frame below frames_total is in exactly one state, so
always  frames_total == frames_free + frames_used + frames_reserved:

    free      may be handed out by alloc_*
    used      handed out by alloc_*, given back by free_*
    reserved  never handed out, never freed: holes and non-usable entries of
              the memory map, bootloader-reclaimable memory (until
              reclaim_bootloader_memory), every frame below LOW_MEMORY_LIMIT
              (1 MiB; frame 0 among them), the kernel image, the modules,
              the framebuffer, the bitmap itself, reserve_range()s.

Low memory is kept out of general use because the SMP start-up code (the
AP trampoline, entered in real mode) must live below 1 MiB: page tables,
heap pages and every other allocation come from above it, and a later
reclaim_bootloader_memory does not hand reclaimable low memory out either.

frames_total = (highest end of a usable or bootloader-reclaimable region) /
FRAME_SIZE: the bitmap covers every frame from physical 0 up to there.

Two bitmaps of frames_total bits, one after the other in a run of frames
taken from a usable region and reached through the HHDM:

    used bit  reserved bit   state
       0           0         free
       1           0         used
       1           1         reserved
       0           1         (never)

The used bitmap alone says whether a frame can be allocated; the reserved
bitmap tells an allocated frame from a reserved one, so freeing a reserved
frame is refused (E_RESERVED) instead of handing the kernel image out.
Besides the bitmaps, the explicitly reserved ranges (low memory, kernel,
modules, framebuffer, bitmap, reserve_range) are kept in a small table so
that reclaim_bootloader_memory can never free them, even when a bootloader
put one of them in reclaimable memory.

Allocation scans 64 frames a word at a time from a hint (every word before
hint_word is full), so a run of allocations is linear, not quadratic.
Nothing here allocates a GC object after construction; refusals write one
log line each.  Anything still needed that lives in usable memory (the
Multiboot2 information, boot page tables outside the image) must be given
to reserve_range before init.
"""

from rpython.rlib.rarithmetic import r_uint, intmask

from elyz.boot import bootinfo
from elyz.lib import log
from elyz.abi.errors import (E_OK, E_NOMEM, E_INVALID, E_DOUBLE_FREE, E_RESERVED,
                            E_OUT_OF_RANGE, E_ALIGN)
from elyz.rlib_kernel import cpu, rawmem

FRAME_SHIFT = 12
FRAME_SIZE = 1 << FRAME_SHIFT
FRAME_MASK = FRAME_SIZE - 1
WORD_SHIFT = 6                  # 64 frames per bitmap word
WORD_BITS = 1 << WORD_SHIFT
WORD_BYTES = 8
ALL_ONES_BYTE = 0xFF

# Every frame below this address stays reserved from init on, also after
# reclaim_bootloader_memory: the AP start-up trampoline (real mode) needs
# frames below 1 MiB, so nothing else may take them.
LOW_MEMORY_LIMIT = 0x100000

MAX_EXTRA_RANGES = 16
# low memory, kernel, framebuffer, bitmap, modules, reserve_range()s
MAX_PROTECTED = 4 + bootinfo.MAX_MODULES + MAX_EXTRA_RANGES

FRAME_FREE = 0
FRAME_USED = 1
FRAME_RESERVED = 2

# Transitions applied to a range of frames by _change_range.
_OP_RELEASE = 0                 # reserved -> free
_OP_RESERVE = 1                 # free -> reserved (used frames untouched)
_OP_ALLOC = 2                   # free -> used
_OP_FREE = 3                    # used -> free (reserved frames untouched)

# What _find looks for.
_FIND_FREE = 0
_FIND_NOT_FREE = 1              # used or reserved
_FIND_USED = 2                  # allocated, not reserved
_FIND_RESERVED = 3

_ONES = ~r_uint(0)
_LOW32 = r_uint(0xFFFFFFFF)
_M1 = r_uint(0x5555555555555555)
_M2 = r_uint(0x3333333333333333)
_M4 = r_uint(0x0F0F0F0F0F0F0F0F)
_H01 = r_uint(0x0101010101010101)


def popcount(x):
    """Returns the number of set bits of the r_uint x.  Never fails."""
    x = x - ((x >> 1) & _M1)
    x = (x & _M2) + ((x >> 2) & _M2)
    x = (x + (x >> 4)) & _M4
    return intmask((x * _H01) >> 56)


def lowest_set_bit(x):
    """Returns the index (0..63) of the lowest set bit of the r_uint x;
    x must not be 0 (then it returns 63)."""
    n = 0
    if not (x & _LOW32):
        n += 32
        x >>= 32
    if not (x & r_uint(0xFFFF)):
        n += 16
        x >>= 16
    if not (x & r_uint(0xFF)):
        n += 8
        x >>= 8
    if not (x & r_uint(0xF)):
        n += 4
        x >>= 4
    if not (x & r_uint(0x3)):
        n += 2
        x >>= 2
    if not (x & r_uint(0x1)):
        n += 1
    return n


def word_mask(lo, hi):
    """Returns the r_uint with bits lo..hi-1 set (0 <= lo < hi <= 64)."""
    if hi >= WORD_BITS:
        upper = _ONES
    else:
        upper = (r_uint(1) << hi) - r_uint(1)
    return upper & ~((r_uint(1) << lo) - r_uint(1))


def align_up(value, alignment):
    """Returns value rounded up to a multiple of alignment (a power of two)."""
    return (value + alignment - 1) & ~(alignment - 1)


def _refuse(message, addr):
    """Writes the error line "message addr"; returns nothing."""
    log.begin(log.ERROR)
    log.put(message)
    log.put_hex(addr)
    log.end()


class PhysicalMemoryManager(object):

    def __init__(self):
        self.extra_base = [0] * MAX_EXTRA_RANGES
        self.extra_size = [0] * MAX_EXTRA_RANGES
        self.prot_base = [0] * MAX_PROTECTED
        self.prot_size = [0] * MAX_PROTECTED
        self.extra_count = 0
        self.reset()

    def reset(self):
        """Forgets everything, including reserve_range()s.  Returns nothing."""
        self.initialised = False
        self.hhdm_offset = 0
        self.bitmap_phys = 0
        self.bitmap_bytes = 0
        self.used_map = 0           # virtual address of the used bitmap
        self.reserved_map = 0       # virtual address of the reserved bitmap
        self.words = 0
        self.hint_word = 0
        self.frames_total = 0
        self.frames_free = 0
        self.frames_used = 0
        self.frames_reserved = 0
        self.prot_count = 0
        self.extra_count = 0

    # ------------------------------------------------------------ bitmaps

    def _load(self, bitmap, word):
        """Returns word number `word` of a bitmap as an r_uint."""
        return r_uint(rawmem.load_u64(bitmap + word * WORD_BYTES))

    def _store(self, bitmap, word, value):
        """Stores the r_uint value as word number `word` of a bitmap."""
        rawmem.store_u64(bitmap + word * WORD_BYTES, intmask(value))

    def _change_range(self, first, last, op):
        """Applies the transition op (_OP_*) to every frame of [first, last)
        that it concerns, clipped to the managed frames, and updates the
        counters.  Returns how many frames changed state."""
        if first < 0:
            first = 0
        if last > self.frames_total:
            last = self.frames_total
        changed = 0
        frame = first
        while frame < last:
            word = frame >> WORD_SHIFT
            hi = last - (word << WORD_SHIFT)
            if hi > WORD_BITS:
                hi = WORD_BITS
            mask = word_mask(frame & (WORD_BITS - 1), hi)
            used = self._load(self.used_map, word)
            reserved = self._load(self.reserved_map, word)
            if op == _OP_RELEASE:
                bits = reserved & mask
                used &= ~bits
                reserved &= ~bits
            elif op == _OP_RESERVE:
                bits = ~used & mask
                used |= bits
                reserved |= bits
            elif op == _OP_ALLOC:
                bits = ~used & mask
                used |= bits
            else:
                bits = used & ~reserved & mask
                used &= ~bits
            if bits:
                self._store(self.used_map, word, used)
                self._store(self.reserved_map, word, reserved)
                changed += popcount(bits)
            frame = (word + 1) << WORD_SHIFT
        if op == _OP_RELEASE:
            self.frames_reserved -= changed
            self.frames_free += changed
        elif op == _OP_RESERVE:
            self.frames_free -= changed
            self.frames_reserved += changed
        elif op == _OP_ALLOC:
            self.frames_free -= changed
            self.frames_used += changed
        else:
            self.frames_used -= changed
            self.frames_free += changed
        if changed > 0 and (op == _OP_RELEASE or op == _OP_FREE):
            if (first >> WORD_SHIFT) < self.hint_word:
                self.hint_word = first >> WORD_SHIFT
        return changed

    def _find(self, first, last, kind):
        """Returns the first frame of [first, last) (clipped to the managed
        frames) in the state kind (_FIND_*), or -1 when there is none.
        Looks at 64 frames per step."""
        if first < 0:
            first = 0
        if last > self.frames_total:
            last = self.frames_total
        frame = first
        while frame < last:
            word = frame >> WORD_SHIFT
            hi = last - (word << WORD_SHIFT)
            if hi > WORD_BITS:
                hi = WORD_BITS
            mask = word_mask(frame & (WORD_BITS - 1), hi)
            used = self._load(self.used_map, word)
            if kind == _FIND_FREE:
                bits = ~used & mask
            elif kind == _FIND_NOT_FREE:
                bits = used & mask
            elif kind == _FIND_USED:
                bits = used & ~self._load(self.reserved_map, word) & mask
            else:
                bits = self._load(self.reserved_map, word) & mask
            if bits:
                return (word << WORD_SHIFT) + lowest_set_bit(bits)
            frame = (word + 1) << WORD_SHIFT
        return -1

    # --------------------------------------------------- protected ranges

    def _add_protected(self, base, size):
        """Adds [base, base+size) to the table of ranges init and reclaim
        always keep reserved.  Returns False when the table is full (it is
        sized so that this cannot happen)."""
        if size <= 0:
            return True
        if base < 0:
            size += base
            base = 0
            if size <= 0:
                return True
        if self.prot_count >= MAX_PROTECTED:
            return False
        self.prot_base[self.prot_count] = base
        self.prot_size[self.prot_count] = size
        self.prot_count += 1
        return True

    def _protected_overlap(self, base, size):
        """Returns the end of a protected range overlapping [base, base+size),
        or -1 when none does."""
        i = 0
        while i < self.prot_count:
            pbase = self.prot_base[i]
            pend = pbase + self.prot_size[i]
            if pbase < base + size and base < pend:
                return pend
            i += 1
        return -1

    def _reserve_boot_ranges(self, boot_info, keep_reclaimable):
        """Marks reserved every frame touched by a non-usable memory map
        entry (bootloader-reclaimable ones only when keep_reclaimable) and
        by a protected range.  Returns nothing."""
        i = 0
        while i < boot_info.memmap_count:
            mem_type = boot_info.memmap_type[i]
            if mem_type != bootinfo.MEM_USABLE and (
                    keep_reclaimable or mem_type != bootinfo.MEM_BOOTLOADER_RECLAIMABLE):
                self._reserve_outward(boot_info.memmap_base[i], boot_info.memmap_length[i])
            i += 1
        i = 0
        while i < self.prot_count:
            self._reserve_outward(self.prot_base[i], self.prot_size[i])
            i += 1

    def _reserve_outward(self, base, size):
        """Marks reserved every free frame touched by [base, base+size);
        returns nothing."""
        first = base >> FRAME_SHIFT
        last = (base + size + FRAME_MASK) >> FRAME_SHIFT
        self._change_range(first, last, _OP_RESERVE)

    def _place_bitmap(self, boot_info, size, min_phys):
        """Returns the physical address of the first frame-aligned run of
        size bytes at or above min_phys inside a usable region that overlaps
        no protected range, or -1 when there is none."""
        i = 0
        while i < boot_info.memmap_count:
            if boot_info.memmap_type[i] == bootinfo.MEM_USABLE:
                candidate = align_up(boot_info.memmap_base[i], FRAME_SIZE)
                end = (boot_info.memmap_base[i] + boot_info.memmap_length[i]) & ~FRAME_MASK
                if candidate < min_phys:
                    candidate = min_phys
                while candidate + size <= end:
                    blocker_end = self._protected_overlap(candidate, size)
                    if blocker_end < 0:
                        return candidate
                    candidate = align_up(blocker_end, FRAME_SIZE)
            i += 1
        return -1

    # ------------------------------------------------------------- set-up

    def reserve_range(self, phys, size):
        """Keeps the frames of [phys, phys+size) reserved for good.  Returns
        E_OK; E_INVALID for a negative address, a size <= 0, or (after init)
        a range holding an allocated frame; E_NOMEM when MAX_EXTRA_RANGES
        ranges are already registered."""
        if phys < 0 or size <= 0 or size > (1 << 62) - phys:
            _refuse('pmm: reserve of a bad range at ', phys)
            return E_INVALID
        if self.extra_count >= MAX_EXTRA_RANGES:
            _refuse('pmm: too many reserved ranges, refused ', phys)
            return E_NOMEM
        first = phys >> FRAME_SHIFT
        last = (phys + size + FRAME_MASK) >> FRAME_SHIFT
        if self.initialised:
            if self._find(first, last, _FIND_USED) >= 0:
                _refuse('pmm: reserve of a range with allocated frames at ', phys)
                return E_INVALID
            if not self._add_protected(phys, size):
                _refuse('pmm: protected range table full, refused ', phys)
                return E_NOMEM
            self._change_range(first, last, _OP_RESERVE)
        self.extra_base[self.extra_count] = phys
        self.extra_size[self.extra_count] = size
        self.extra_count += 1
        return E_OK

    def init(self, boot_info, kernel_size):
        """Builds the bitmap from boot_info's (normalised) memory map; the
        kernel image is [boot_info.kernel_phys_base, + kernel_size); every
        frame below LOW_MEMORY_LIMIT is reserved.  Returns E_OK, or E_NOMEM
        when the map has no usable memory or no usable region above
        LOW_MEMORY_LIMIT has room for the bitmap (both logged)."""
        extra_count = self.extra_count
        self.reset()
        self.extra_count = extra_count
        hhdm = boot_info.hhdm_offset
        self.hhdm_offset = hhdm

        highest = 0
        i = 0
        while i < boot_info.memmap_count:
            mem_type = boot_info.memmap_type[i]
            if mem_type == bootinfo.MEM_USABLE or mem_type == bootinfo.MEM_BOOTLOADER_RECLAIMABLE:
                end = (boot_info.memmap_base[i] + boot_info.memmap_length[i]) & ~FRAME_MASK
                if end > highest:
                    highest = end
            i += 1
        if highest <= 0:
            log.error('pmm: the memory map has no usable memory')
            return E_NOMEM
        total = highest >> FRAME_SHIFT
        words = (total + WORD_BITS - 1) >> WORD_SHIFT
        bitmap_bytes = 2 * words * WORD_BYTES
        bitmap_size = align_up(bitmap_bytes, FRAME_SIZE)

        self._add_protected(0, LOW_MEMORY_LIMIT)
        self._add_protected(boot_info.kernel_phys_base, kernel_size)
        i = 0
        while i < boot_info.module_count:
            self._add_protected(boot_info.module_base[i] - hhdm, boot_info.module_size[i])
            i += 1
        if boot_info.fb_present:
            self._add_protected(boot_info.fb_address - hhdm,
                                boot_info.fb_pitch * boot_info.fb_height)
        i = 0
        while i < self.extra_count:
            self._add_protected(self.extra_base[i], self.extra_size[i])
            i += 1

        place = self._place_bitmap(boot_info, bitmap_size, LOW_MEMORY_LIMIT)
        if place < 0:
            log.begin(log.ERROR)
            log.put('pmm: no usable region has room for the bitmap, bytes ')
            log.put_int(bitmap_size)
            log.end()
            return E_NOMEM
        self._add_protected(place, bitmap_size)

        self.bitmap_phys = place
        self.bitmap_bytes = bitmap_bytes
        self.words = words
        self.used_map = place + hhdm
        self.reserved_map = self.used_map + words * WORD_BYTES
        # Everything reserved (padding bits past the last frame included),
        # then usable regions freed, then the reservations put back.
        rawmem.fill(self.used_map, ALL_ONES_BYTE, bitmap_bytes)
        self.frames_total = total
        self.frames_reserved = total
        self.initialised = True
        self._release_regions(boot_info, bootinfo.MEM_USABLE)
        self._reserve_boot_ranges(boot_info, True)
        self.hint_word = 0

        log.begin(log.INFO)
        log.put('pmm: ')
        log.put_int(self.frames_free)
        log.put(' of ')
        log.put_int(total)
        log.put(' frames free, bitmap at ')
        log.put_hex(place)
        log.end()
        return E_OK

    def _release_regions(self, boot_info, mem_type):
        """Frees the reserved frames lying wholly inside memory map entries
        of type mem_type; returns how many were freed."""
        released = 0
        i = 0
        while i < boot_info.memmap_count:
            if boot_info.memmap_type[i] == mem_type:
                base = boot_info.memmap_base[i]
                first = align_up(base, FRAME_SIZE) >> FRAME_SHIFT
                last = (base + boot_info.memmap_length[i]) >> FRAME_SHIFT
                released += self._change_range(first, last, _OP_RELEASE)
            i += 1
        return released

    def reclaim_bootloader_memory(self, boot_info):
        """Frees the bootloader-reclaimable regions (call it once nothing the
        bootloader left there is needed: boot info copied, modules and page
        tables elsewhere).  Protected ranges inside them stay reserved, and
        so does every frame below LOW_MEMORY_LIMIT.  Returns the number of
        frames freed, or E_INVALID before init."""
        if not self.initialised:
            log.error('pmm: reclaim before init')
            return E_INVALID
        before = self.frames_free
        self._release_regions(boot_info, bootinfo.MEM_BOOTLOADER_RECLAIMABLE)
        self._reserve_boot_ranges(boot_info, False)
        reclaimed = self.frames_free - before
        log.begin(log.INFO)
        log.put('pmm: reclaimed ')
        log.put_int(reclaimed)
        log.put(' bootloader frames')
        log.end()
        return reclaimed

    # --------------------------------------------------------- allocation

    # The public allocation and free paths run with interrupts off: the
    # timer's lease expiry frees page-table frames (elyz/obj/api.py), and a
    # bitmap word changed half-way must never be seen by it.

    def alloc_frame(self):
        """Returns the physical address of a newly allocated frame (never 0),
        or E_NOMEM when no frame is free (not logged)."""
        flags = cpu.save_and_disable_interrupts()
        result = self._alloc_frame()
        cpu.restore_interrupts(flags)
        return result

    def alloc_contiguous(self, n, align_frames):
        """Allocates n physically contiguous frames whose first frame number
        is a multiple of align_frames (a power of two).  Returns the physical
        address of the first frame; E_INVALID (logged) for n <= 0 or a bad
        alignment, E_NOMEM (not logged) when no such run is free."""
        flags = cpu.save_and_disable_interrupts()
        result = self._alloc_contiguous(n, align_frames)
        cpu.restore_interrupts(flags)
        return result

    def free_frames(self, phys, n):
        """Frees the n frames starting at phys; all of them must be allocated.
        Returns E_OK, or (each logged, nothing freed) E_INVALID for n <= 0,
        E_ALIGN, E_OUT_OF_RANGE, E_RESERVED for a reserved frame in the run,
        E_DOUBLE_FREE for a free frame in the run."""
        flags = cpu.save_and_disable_interrupts()
        result = self._free_frames(phys, n)
        cpu.restore_interrupts(flags)
        return result

    def _alloc_frame(self):
        # The one-frame path of _find + _change_range, a word at a time from
        # the hint (every word before it is full): no masks, no popcount.
        if self.frames_free <= 0:
            return E_NOMEM
        word = self.hint_word
        while word < self.words:
            used = self._load(self.used_map, word)
            if used != _ONES:
                frame = (word << WORD_SHIFT) + lowest_set_bit(~used)
                if frame >= self.frames_total:
                    return E_NOMEM          # the bits past the last frame
                self._store(self.used_map, word,
                            used | (r_uint(1) << (frame & (WORD_BITS - 1))))
                self.hint_word = word
                self.frames_free -= 1
                self.frames_used += 1
                return frame << FRAME_SHIFT
            word += 1
        return E_NOMEM

    def _alloc_contiguous(self, n, align_frames):
        if n <= 0 or align_frames <= 0 or (align_frames & (align_frames - 1)) != 0:
            _refuse('pmm: alloc_contiguous with a bad count or alignment, count ', n)
            return E_INVALID
        if n > self.frames_free:
            return E_NOMEM
        total = self.frames_total
        frame = self._find(self.hint_word << WORD_SHIFT, total, _FIND_FREE)
        while frame >= 0:
            frame = align_up(frame, align_frames)
            if frame > total - n:
                break
            blocker = self._find(frame, frame + n, _FIND_NOT_FREE)
            if blocker < 0:
                self._change_range(frame, frame + n, _OP_ALLOC)
                return frame << FRAME_SHIFT
            frame = self._find(blocker + 1, total, _FIND_FREE)
        return E_NOMEM

    def free_frame(self, phys):
        """Frees the frame at phys.  Returns E_OK, or (each logged, nothing
        changed) E_ALIGN, E_OUT_OF_RANGE, E_RESERVED, E_DOUBLE_FREE."""
        return self.free_frames(phys, 1)

    def _free_frames(self, phys, n):
        if n == 1 and self._free_one(phys):
            return E_OK
        if n <= 0:
            _refuse('pmm: free of a run of no frames at ', phys)
            return E_INVALID
        if phys & FRAME_MASK:
            _refuse('pmm: free of a misaligned address ', phys)
            return E_ALIGN
        first = phys >> FRAME_SHIFT
        if phys < 0 or first >= self.frames_total or n > self.frames_total - first:
            _refuse('pmm: free of an address outside physical memory ', phys)
            return E_OUT_OF_RANGE
        bad = self._find(first, first + n, _FIND_RESERVED)
        if bad >= 0:
            _refuse('pmm: free of a reserved frame ', bad << FRAME_SHIFT)
            return E_RESERVED
        bad = self._find(first, first + n, _FIND_FREE)
        if bad >= 0:
            _refuse('pmm: double free of frame ', bad << FRAME_SHIFT)
            return E_DOUBLE_FREE
        self._change_range(first, first + n, _OP_FREE)
        return E_OK

    def _free_one(self, phys):
        """Frees the frame at phys when it is an allocated (used, not
        reserved) frame; returns True then, False (nothing changed) for
        anything else, which _free_frames then refuses with its log line."""
        if phys < 0 or phys & FRAME_MASK:
            return False
        frame = phys >> FRAME_SHIFT
        if frame >= self.frames_total:
            return False
        word = frame >> WORD_SHIFT
        bit = r_uint(1) << (frame & (WORD_BITS - 1))
        used = self._load(self.used_map, word)
        if not (used & bit) or (self._load(self.reserved_map, word) & bit):
            return False
        self._store(self.used_map, word, used & ~bit)
        self.frames_used -= 1
        self.frames_free += 1
        if word < self.hint_word:
            self.hint_word = word
        return True

    # ------------------------------------------------------------ queries

    def frame_state(self, phys):
        """Returns FRAME_FREE, FRAME_USED or FRAME_RESERVED for the frame
        holding phys, or E_OUT_OF_RANGE outside the managed frames."""
        frame = phys >> FRAME_SHIFT
        if phys < 0 or frame >= self.frames_total:
            return E_OUT_OF_RANGE
        if self._find(frame, frame + 1, _FIND_RESERVED) >= 0:
            return FRAME_RESERVED
        if self._find(frame, frame + 1, _FIND_FREE) >= 0:
            return FRAME_FREE
        return FRAME_USED

    def phys_to_virt(self, phys):
        """Returns the HHDM virtual address of phys.  Never fails."""
        return phys + self.hhdm_offset

    def check_counters(self):
        """Recounts both bitmaps; returns True when the counters match the
        recount and add up to frames_total, False otherwise."""
        free = 0
        used = 0
        reserved = 0
        word = 0
        while word < self.words:
            hi = self.frames_total - (word << WORD_SHIFT)
            if hi > WORD_BITS:
                hi = WORD_BITS
            mask = word_mask(0, hi)
            u = self._load(self.used_map, word)
            r = self._load(self.reserved_map, word)
            free += popcount(~u & mask)
            used += popcount(u & ~r & mask)
            reserved += popcount(r & mask)
            word += 1
        return (free == self.frames_free and used == self.frames_used
                and reserved == self.frames_reserved
                and free + used + reserved == self.frames_total)


# The kernel's single instance, prebuilt into the image.
pmm = PhysicalMemoryManager()
