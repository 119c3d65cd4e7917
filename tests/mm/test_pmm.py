"""The physical memory manager, over simulated RAM reached through an HHDM."""

import pytest
from hypothesis import given, settings, strategies as st

from elyz.boot import bootinfo, memmap
from elyz.lib import log
from elyz.mm import pmm as pmm_module
from elyz.abi.errors import (E_OK, E_NOMEM, E_INVALID, E_DOUBLE_FREE, E_RESERVED,
                            E_OUT_OF_RANGE, E_ALIGN)
from elyz.mm.pmm import (PhysicalMemoryManager, FRAME_SIZE, FRAME_FREE, FRAME_USED,
                         FRAME_RESERVED, LOW_MEMORY_LIMIT)
from elyz.rlib_kernel import rawmem
from tests.support.rpycheck import reaches, rtype_allocation_free

HHDM = rawmem.to_word(0xffff800000000000)
RAM_BYTES = 0x800000

# The standard machine: 8 MiB, like a small PC.
KERNEL_PHYS = 0x100000
KERNEL_SIZE = 0x80000                  # 128 frames
RECLAIM_BASE = 0x400000
RECLAIM_SIZE = 0x20000                 # 32 frames
MODULE_PHYS = 0x500000
MODULE_SIZE = 0x2800                   # 3 frames (last one partial)
FB_PHYS = 0x600000
FB_PITCH = 0x1000
FB_HEIGHT = 4                          # 4 frames
STANDARD_MAP = [
    (0x0, 0x9f000, bootinfo.MEM_USABLE),
    (0x9f000, 0x61000, bootinfo.MEM_RESERVED),
    (0x100000, 0x300000, bootinfo.MEM_USABLE),
    (RECLAIM_BASE, RECLAIM_SIZE, bootinfo.MEM_BOOTLOADER_RECLAIMABLE),
    (0x420000, 0x3d0000, bootinfo.MEM_USABLE),
    (0x7f0000, 0x10000, bootinfo.MEM_ACPI_RECLAIMABLE),
    (0xfd000000, 0x1000000, bootinfo.MEM_RESERVED),
]
# A tiny machine, to run out of memory quickly: 112 usable frames above 1 MiB.
SMALL_MAP = [
    (0x100000, 0x40000, bootinfo.MEM_USABLE),
    (0x140000, 0x8000, bootinfo.MEM_BOOTLOADER_RECLAIMABLE),
    (0x148000, 0x38000, bootinfo.MEM_USABLE),
    (0x180000, 0x1000, bootinfo.MEM_RESERVED),
]
STANDARD_TOTAL = 0x7f0                 # frames below the end of the last usable region
STANDARD_LOW_USABLE = 0x9f             # usable frames below 1 MiB (frame 0 among them)
# usable 159 + 768 + 976 = 1903 frames, minus the 159 below 1 MiB, kernel 128,
# module 3, framebuffer 4, bitmap 1
STANDARD_FREE = 1903 - STANDARD_LOW_USABLE - 128 - 3 - 4 - 1
LOW_FRAMES = LOW_MEMORY_LIMIT // FRAME_SIZE


def make_boot_info(memory_map=STANDARD_MAP, module=True, framebuffer=True):
    info = bootinfo.BootInfo()
    info.hhdm_offset = HHDM
    info.kernel_phys_base = KERNEL_PHYS
    for base, length, mem_type in memory_map:
        info.add_memory_region(base, length, mem_type)
    if module:
        info.add_module(MODULE_PHYS + HHDM, MODULE_SIZE)
    if framebuffer:
        info.fb_present = True
        info.fb_address = FB_PHYS + HHDM
        info.fb_pitch = FB_PITCH
        info.fb_height = FB_HEIGHT
    return info


def simulate_ram(ram_bytes=RAM_BYTES):
    memory = rawmem.simulate()
    memory.add_region(HHDM, ram_bytes)
    return memory


def make_pmm(info=None, kernel_size=KERNEL_SIZE, ram_bytes=RAM_BYTES):
    simulate_ram(ram_bytes)
    if info is None:
        info = make_boot_info()
    pmm = PhysicalMemoryManager()
    assert pmm.init(info, kernel_size) == E_OK
    return pmm, info


def counters_add_up(pmm):
    return (pmm.frames_total == pmm.frames_free + pmm.frames_used + pmm.frames_reserved
            and pmm.check_counters())


def reserved_frame_numbers(pmm):
    """The set of reserved frames, read from the reserved bitmap in one go."""
    bits = rawmem.simulated().read(pmm.reserved_map, pmm.words * 8)
    return set(f for f in range(pmm.frames_total) if bits[f >> 3] >> (f & 7) & 1)


def error_lines():
    return [line for line in log.captured if line.startswith('error: ')]


# ----------------------------------------------------------------- errors

def test_mm_error_codes_are_distinct_negative_and_named():
    from elyz.abi import errors
    codes = [errors.E_NOMEM, errors.E_INVALID, errors.E_DOUBLE_FREE, errors.E_RESERVED,
             errors.E_OUT_OF_RANGE, errors.E_NOT_MAPPED, errors.E_ALREADY_MAPPED,
             errors.E_ALIGN, errors.E_REFUSED]
    assert errors.E_OK == 0
    assert all(code < 0 for code in codes) and len(set(codes)) == len(codes)
    for name in ['E_OK', 'E_NOMEM', 'E_INVALID', 'E_DOUBLE_FREE', 'E_RESERVED',
                 'E_OUT_OF_RANGE', 'E_NOT_MAPPED', 'E_ALREADY_MAPPED', 'E_ALIGN', 'E_REFUSED']:
        assert errors.error_name(getattr(errors, name)) == name
    assert errors.error_name(1) == 'E_UNKNOWN'
    assert errors.error_name(-100) == 'E_UNKNOWN'


# ------------------------------------------------------------------- init

def test_init_counts_every_frame_below_the_highest_usable_address():
    pmm, _ = make_pmm()
    assert pmm.frames_total == STANDARD_TOTAL
    assert pmm.frames_free == STANDARD_FREE
    assert pmm.frames_used == 0
    assert pmm.frames_reserved == STANDARD_TOTAL - STANDARD_FREE
    assert counters_add_up(pmm)
    assert 'pmm: %d of %d frames free, bitmap at 0x180000' % (STANDARD_FREE, STANDARD_TOTAL) \
        in log.captured


def test_bitmap_lives_in_usable_memory_above_1mib_clear_of_the_kernel():
    pmm, _ = make_pmm()
    # The first usable frame above 1 MiB not covered by the kernel image.
    assert pmm.bitmap_phys == KERNEL_PHYS + KERNEL_SIZE
    assert pmm.bitmap_phys >= LOW_MEMORY_LIMIT
    assert pmm.used_map == pmm.bitmap_phys + HHDM
    assert pmm.frame_state(pmm.bitmap_phys) == FRAME_RESERVED


def test_bitmap_never_goes_below_1mib_even_when_nothing_above_has_room():
    info = make_boot_info([(0x0, 0x9f000, bootinfo.MEM_USABLE),
                           (0x100000, 0x80000, bootinfo.MEM_USABLE)],
                          module=False, framebuffer=False)
    simulate_ram()
    pmm = PhysicalMemoryManager()
    # the kernel fills all of 1 MiB .. 1.5 MiB: nothing could be allocated anyway
    assert pmm.init(info, KERNEL_SIZE) == E_NOMEM
    assert error_lines() == ['error: pmm: no usable region has room for the bitmap, bytes 4096']


def test_init_without_usable_memory_fails_and_logs():
    simulate_ram()
    info = make_boot_info([(0x0, 0x100000, bootinfo.MEM_RESERVED)],
                          module=False, framebuffer=False)
    pmm = PhysicalMemoryManager()
    assert pmm.init(info, KERNEL_SIZE) == E_NOMEM
    assert error_lines() == ['error: pmm: the memory map has no usable memory']
    assert pmm.alloc_frame() == E_NOMEM


def test_init_fails_when_no_region_has_room_for_the_bitmap():
    # One usable frame above 1 MiB, the rest only reclaimable; make that
    # frame the kernel's so nothing is left.
    info = make_boot_info([(0x0, 0x9f000, bootinfo.MEM_USABLE),
                           (0x100000, 0x1000, bootinfo.MEM_USABLE),
                           (0x101000, 0x100000, bootinfo.MEM_BOOTLOADER_RECLAIMABLE)],
                          module=False, framebuffer=False)
    simulate_ram()
    pmm = PhysicalMemoryManager()
    assert pmm.init(info, 0x1000) == E_NOMEM
    assert error_lines() == ['error: pmm: no usable region has room for the bitmap, bytes 4096']


def test_frame_zero_is_never_handed_out():
    pmm, _ = make_pmm()
    assert pmm.frame_state(0) == FRAME_RESERVED
    while True:
        phys = pmm.alloc_frame()
        if phys < 0:
            break
        assert phys != 0
    assert pmm.free_frame(0) == E_RESERVED


def test_no_frame_below_1mib_is_ever_handed_out():
    pmm, _ = make_pmm()               # 159 usable frames below 1 MiB in the map
    handed_out = []
    while True:
        phys = pmm.alloc_frame()
        if phys < 0:
            break
        handed_out.append(phys)
    assert len(handed_out) == STANDARD_FREE
    assert min(handed_out) >= LOW_MEMORY_LIMIT
    for phys in handed_out:
        assert pmm.free_frame(phys) == E_OK
    while True:
        phys = pmm.alloc_contiguous(1, 1)
        if phys < 0:
            break
        assert phys >= LOW_MEMORY_LIMIT
    assert counters_add_up(pmm)


def test_usable_frames_below_1mib_count_as_reserved():
    pmm, _ = make_pmm()
    for frame in range(LOW_FRAMES):
        assert pmm.frame_state(frame * FRAME_SIZE) == FRAME_RESERVED
    assert set(range(LOW_FRAMES)) <= reserved_frame_numbers(pmm)
    assert pmm.frame_state(LOW_MEMORY_LIMIT + 0x80000) == FRAME_RESERVED    # the bitmap
    assert pmm.free_frame(0x5000) == E_RESERVED
    assert pmm.free_frames(0x9e000, 1) == E_RESERVED
    assert counters_add_up(pmm)


def test_reclaim_never_frees_frames_below_1mib():
    low_reclaimable = (0x8000, 0x10000)                 # 16 frames below 1 MiB
    info = make_boot_info([(0x0, 0x8000, bootinfo.MEM_USABLE),
                           (low_reclaimable[0], low_reclaimable[1],
                            bootinfo.MEM_BOOTLOADER_RECLAIMABLE),
                           (0x18000, 0x87000, bootinfo.MEM_USABLE)] + STANDARD_MAP[1:])
    pmm, _ = make_pmm(info)
    reserved_before = pmm.frames_reserved
    assert pmm.reclaim_bootloader_memory(info) == RECLAIM_SIZE // FRAME_SIZE  # the high one only
    for phys in range(low_reclaimable[0], sum(low_reclaimable), FRAME_SIZE):
        assert pmm.frame_state(phys) == FRAME_RESERVED
    assert pmm.frames_reserved == reserved_before - RECLAIM_SIZE // FRAME_SIZE
    assert 'pmm: reclaimed %d bootloader frames' % (RECLAIM_SIZE // FRAME_SIZE) in log.captured
    assert counters_add_up(pmm)
    assert pmm.reclaim_bootloader_memory(info) == 0
    assert counters_add_up(pmm)


def test_kernel_modules_framebuffer_and_holes_are_reserved():
    pmm, _ = make_pmm()
    for phys in range(KERNEL_PHYS, KERNEL_PHYS + KERNEL_SIZE, FRAME_SIZE):
        assert pmm.frame_state(phys) == FRAME_RESERVED
    for phys in (MODULE_PHYS, MODULE_PHYS + 0x1000, MODULE_PHYS + 0x2000):
        assert pmm.frame_state(phys) == FRAME_RESERVED
    assert pmm.frame_state(MODULE_PHYS + 0x3000) == FRAME_FREE
    for phys in range(FB_PHYS, FB_PHYS + FB_PITCH * FB_HEIGHT, FRAME_SIZE):
        assert pmm.frame_state(phys) == FRAME_RESERVED
    assert pmm.frame_state(0x9f000) == FRAME_RESERVED           # reserved entry
    assert pmm.frame_state(0x7ef000) == FRAME_FREE              # the last usable frame
    assert pmm.frame_state(0x7f0000) == E_OUT_OF_RANGE          # past the last usable byte


def test_unaligned_usable_entries_are_rounded_inward():
    info = make_boot_info([(0x100800, 0xff000, bootinfo.MEM_USABLE),
                           (0x200000, 0x100000, bootinfo.MEM_USABLE)],
                          module=False, framebuffer=False)
    pmm, _ = make_pmm(info, kernel_size=0)
    assert pmm.frame_state(0x100000) == FRAME_RESERVED  # only half usable
    assert pmm.bitmap_phys == 0x101000                  # first whole frame above 1 MiB
    assert pmm.frame_state(0x102000) == FRAME_FREE
    assert pmm.frame_state(0x1fe000) == FRAME_FREE
    assert pmm.frame_state(0x1ff000) == FRAME_RESERVED  # only half usable
    assert pmm.frame_state(0x200000) == FRAME_FREE
    assert pmm.frames_total == 0x300
    assert counters_add_up(pmm)


def test_overlapping_reserved_entry_wins_over_usable():
    info = make_boot_info(STANDARD_MAP + [(0x200000, 0x800, bootinfo.MEM_ACPI_NVS)],
                          module=False, framebuffer=False)
    pmm, _ = make_pmm(info)
    assert pmm.frame_state(0x200000) == FRAME_RESERVED
    assert pmm.frame_state(0x201000) == FRAME_FREE


# ------------------------------------------------------ reserved ranges

def test_reserve_range_before_init_is_kept_by_init_and_avoided_by_the_bitmap():
    simulate_ram()
    pmm = PhysicalMemoryManager()
    assert pmm.reserve_range(0x180000, 0x3000) == E_OK      # where the bitmap would go
    assert pmm.init(make_boot_info(), KERNEL_SIZE) == E_OK
    for phys in (0x180000, 0x181000, 0x182000):
        assert pmm.frame_state(phys) == FRAME_RESERVED
    assert pmm.bitmap_phys == 0x183000
    assert pmm.frames_free == STANDARD_FREE - 3
    assert counters_add_up(pmm)


def test_reserve_range_after_init_takes_free_frames_at_once():
    pmm, _ = make_pmm()
    free_before = pmm.frames_free
    assert pmm.reserve_range(0x300800, 0x1000) == E_OK      # touches two frames
    assert pmm.frame_state(0x300000) == FRAME_RESERVED
    assert pmm.frame_state(0x301000) == FRAME_RESERVED
    assert pmm.frames_free == free_before - 2
    assert counters_add_up(pmm)


def test_reserve_range_refuses_a_range_with_allocated_frames():
    pmm, _ = make_pmm()
    phys = pmm.alloc_frame()
    assert pmm.reserve_range(phys, FRAME_SIZE) == E_INVALID
    assert pmm.frame_state(phys) == FRAME_USED
    assert len(error_lines()) == 1
    assert pmm.free_frame(phys) == E_OK


def test_reserve_range_refuses_bad_ranges_and_a_full_table():
    pmm = PhysicalMemoryManager()
    assert pmm.reserve_range(-0x1000, 0x1000) == E_INVALID
    assert pmm.reserve_range(0x1000, 0) == E_INVALID
    for i in range(pmm_module.MAX_EXTRA_RANGES):
        assert pmm.reserve_range(0x200000 + i * FRAME_SIZE, FRAME_SIZE) == E_OK
    assert pmm.reserve_range(0x300000, FRAME_SIZE) == E_NOMEM
    assert len(error_lines()) == 3


def test_bootloader_reclaimable_freed_only_on_reclaim():
    pmm, info = make_pmm()
    for phys in range(RECLAIM_BASE, RECLAIM_BASE + RECLAIM_SIZE, FRAME_SIZE):
        assert pmm.frame_state(phys) == FRAME_RESERVED
    free_before = pmm.frames_free
    assert pmm.reclaim_bootloader_memory(info) == RECLAIM_SIZE // FRAME_SIZE
    for phys in range(RECLAIM_BASE, RECLAIM_BASE + RECLAIM_SIZE, FRAME_SIZE):
        assert pmm.frame_state(phys) == FRAME_FREE
    assert pmm.frames_free == free_before + RECLAIM_SIZE // FRAME_SIZE
    assert counters_add_up(pmm)
    assert pmm.reclaim_bootloader_memory(info) == 0           # idempotent


def test_reclaim_keeps_protected_ranges_that_lie_in_reclaimable_memory():
    simulate_ram()
    info = make_boot_info(framebuffer=False, module=False)
    info.add_module(RECLAIM_BASE + 0x1000 + HHDM, 0x1000)     # module in reclaimable memory
    pmm = PhysicalMemoryManager()
    assert pmm.reserve_range(RECLAIM_BASE + 0x5000, 0x2000) == E_OK
    assert pmm.init(info, KERNEL_SIZE) == E_OK
    assert pmm.reclaim_bootloader_memory(info) == RECLAIM_SIZE // FRAME_SIZE - 3
    assert pmm.frame_state(RECLAIM_BASE) == FRAME_FREE
    assert pmm.frame_state(RECLAIM_BASE + 0x1000) == FRAME_RESERVED
    assert pmm.frame_state(RECLAIM_BASE + 0x5000) == FRAME_RESERVED
    assert pmm.frame_state(RECLAIM_BASE + 0x6000) == FRAME_RESERVED
    assert counters_add_up(pmm)


def test_reclaim_leaves_frames_allocated_since_alone():
    pmm, info = make_pmm()
    pmm.reclaim_bootloader_memory(info)
    held = pmm.alloc_contiguous(RECLAIM_SIZE // FRAME_SIZE, 1)
    assert held >= 0
    used = pmm.frames_used
    assert pmm.reclaim_bootloader_memory(info) == 0
    assert pmm.frames_used == used
    assert counters_add_up(pmm)


def test_reclaim_before_init_is_refused():
    pmm = PhysicalMemoryManager()
    assert pmm.reclaim_bootloader_memory(make_boot_info()) == E_INVALID
    assert error_lines() == ['error: pmm: reclaim before init']


# ------------------------------------------------------------ allocation

def test_alloc_frame_hands_out_distinct_free_frames_until_empty():
    pmm, _ = make_pmm()
    seen = set()
    for _ in range(STANDARD_FREE):
        phys = pmm.alloc_frame()
        assert phys > 0 and phys % FRAME_SIZE == 0
        assert phys not in seen
        seen.add(phys)
        assert pmm.frame_state(phys) == FRAME_USED
    assert pmm.alloc_frame() == E_NOMEM
    assert pmm.alloc_contiguous(1, 1) == E_NOMEM
    assert pmm.frames_free == 0 and pmm.frames_used == STANDARD_FREE
    assert counters_add_up(pmm)
    assert error_lines() == []                  # running out is not an error


def test_freed_frame_is_handed_out_again():
    pmm, _ = make_pmm()
    frames = [pmm.alloc_frame() for _ in range(100)]
    assert pmm.free_frame(frames[3]) == E_OK
    assert pmm.alloc_frame() == frames[3]       # the hint moved back


def test_a_run_of_allocations_is_linear_thanks_to_the_hint(monkeypatch):
    pmm, _ = make_pmm()
    loads = [0]
    real_load = pmm._load

    def counting_load(bitmap, word):
        loads[0] += 1
        return real_load(bitmap, word)
    monkeypatch.setattr(pmm, '_load', counting_load)
    for _ in range(STANDARD_FREE):
        assert pmm.alloc_frame() >= 0
    # one load to find the frame, two to mark it, plus one per full word skipped
    assert loads[0] <= 3 * STANDARD_FREE + pmm.words


def test_alloc_contiguous_respects_alignment():
    pmm, _ = make_pmm()
    pmm.alloc_frame()                            # make frame 1 used: misalign the hint
    for n, align in [(1, 1), (3, 2), (5, 8), (16, 16), (7, 64), (64, 128)]:
        phys = pmm.alloc_contiguous(n, align)
        assert phys > 0
        assert (phys // FRAME_SIZE) % align == 0
        for k in range(n):
            assert pmm.frame_state(phys + k * FRAME_SIZE) == FRAME_USED
    assert counters_add_up(pmm)


def test_alloc_contiguous_skips_runs_broken_by_used_or_reserved_frames():
    pmm, _ = make_pmm()
    # Fill memory, then free a pattern: runs of 3 everywhere, one run of 10.
    frames = []
    while True:
        phys = pmm.alloc_frame()
        if phys < 0:
            break
        frames.append(phys)
    for i in range(0, 400, 4):
        pmm.free_frames(frames[i], 3)
    ten = 0x700000
    assert pmm.free_frames(ten, 10) == E_OK
    assert pmm.alloc_contiguous(4, 1) == ten
    assert pmm.alloc_contiguous(6, 1) == ten + 4 * FRAME_SIZE
    assert pmm.alloc_contiguous(4, 1) == E_NOMEM
    assert pmm.alloc_contiguous(3, 1) == frames[0]
    assert counters_add_up(pmm)


def test_alloc_contiguous_run_never_covers_a_reserved_frame():
    info = make_boot_info([(0x100000, 0x9f000, bootinfo.MEM_USABLE),
                           (0x19f000, 0x61000, bootinfo.MEM_RESERVED),
                           (0x200000, 0x40000, bootinfo.MEM_USABLE)],
                          module=False, framebuffer=False)
    pmm, _ = make_pmm(info, kernel_size=0)
    # 0x19e000 is the last usable frame below the 0x19f000 hole: the aligned
    # pair starting there would cross into the hole.
    while True:
        phys = pmm.alloc_contiguous(2, 2)
        if phys < 0:
            break
        assert pmm.frame_state(phys) == FRAME_USED
        assert pmm.frame_state(phys + FRAME_SIZE) == FRAME_USED
    assert pmm.frame_state(0x19e000) == FRAME_FREE
    assert pmm.frame_state(0x19f000) == FRAME_RESERVED
    assert counters_add_up(pmm)


def test_alloc_contiguous_refuses_bad_arguments():
    pmm, _ = make_pmm()
    assert pmm.alloc_contiguous(0, 1) == E_INVALID
    assert pmm.alloc_contiguous(-1, 1) == E_INVALID
    assert pmm.alloc_contiguous(1, 0) == E_INVALID
    assert pmm.alloc_contiguous(1, 3) == E_INVALID
    assert pmm.alloc_contiguous(STANDARD_TOTAL, 1) == E_NOMEM
    assert len(error_lines()) == 4
    assert counters_add_up(pmm)


# ------------------------------------------------------------------ free

def test_double_free_is_refused_and_logged():
    pmm, _ = make_pmm()
    phys = pmm.alloc_frame()
    assert pmm.free_frame(phys) == E_OK
    free_before = pmm.frames_free
    assert pmm.free_frame(phys) == E_DOUBLE_FREE
    assert error_lines() == ['error: pmm: double free of frame 0x%x' % phys]
    assert pmm.frames_free == free_before
    assert counters_add_up(pmm)


def test_free_of_a_reserved_frame_is_refused_and_logged():
    pmm, _ = make_pmm()
    assert pmm.free_frame(KERNEL_PHYS) == E_RESERVED
    assert pmm.free_frame(pmm.bitmap_phys) == E_RESERVED
    assert error_lines() == ['error: pmm: free of a reserved frame 0x100000',
                             'error: pmm: free of a reserved frame 0x180000']
    assert pmm.frame_state(KERNEL_PHYS) == FRAME_RESERVED
    assert counters_add_up(pmm)


def test_free_out_of_range_or_misaligned_is_refused_and_logged():
    pmm, _ = make_pmm()
    assert pmm.free_frame(STANDARD_TOTAL * FRAME_SIZE) == E_OUT_OF_RANGE
    assert pmm.free_frame(-FRAME_SIZE) == E_OUT_OF_RANGE
    assert pmm.free_frame(0x300010) == E_ALIGN
    assert pmm.free_frames(0x300000, 0) == E_INVALID
    assert pmm.free_frames((STANDARD_TOTAL - 1) * FRAME_SIZE, 2) == E_OUT_OF_RANGE
    assert error_lines() == [
        'error: pmm: free of an address outside physical memory 0x7f0000',
        'error: pmm: free of an address outside physical memory 0xfffffffffffff000',
        'error: pmm: free of a misaligned address 0x300010',
        'error: pmm: free of a run of no frames at 0x300000',
        'error: pmm: free of an address outside physical memory 0x7ef000',
    ]
    assert counters_add_up(pmm)


def test_free_frames_is_all_or_nothing():
    pmm, _ = make_pmm()
    run = pmm.alloc_contiguous(4, 1)
    assert pmm.free_frame(run + 2 * FRAME_SIZE) == E_OK
    used = pmm.frames_used
    assert pmm.free_frames(run, 4) == E_DOUBLE_FREE          # frame 2 already free
    assert pmm.frames_used == used
    assert pmm.frame_state(run) == FRAME_USED
    assert pmm.free_frames(run, 2) == E_OK
    assert pmm.free_frames(run + 3 * FRAME_SIZE, 1) == E_OK
    assert counters_add_up(pmm)


def test_counters_add_up_after_every_operation():
    pmm, info = make_pmm()
    assert counters_add_up(pmm)
    a = pmm.alloc_frame()
    assert counters_add_up(pmm)
    b = pmm.alloc_contiguous(8, 8)
    assert counters_add_up(pmm)
    pmm.free_frame(a)
    assert counters_add_up(pmm)
    pmm.free_frame(a)                            # refused
    assert counters_add_up(pmm)
    pmm.reserve_range(0x380000, 0x4000)
    assert counters_add_up(pmm)
    pmm.reclaim_bootloader_memory(info)
    assert counters_add_up(pmm)
    pmm.free_frames(b, 8)
    assert counters_add_up(pmm)
    assert pmm.frames_used == 0


# -------------------------------------------------------------- property

_OPS = st.lists(st.one_of(
    st.tuples(st.just('alloc'), st.just(0), st.just(0)),
    st.tuples(st.just('contig'), st.integers(1, 40), st.sampled_from([1, 2, 4, 8, 64])),
    st.tuples(st.just('free'), st.integers(0, 1000), st.just(0)),
    st.tuples(st.just('double_free'), st.integers(0, 1000), st.just(0)),
    st.tuples(st.just('free_any'), st.integers(0, STANDARD_TOTAL + 10), st.just(0)),
    st.tuples(st.just('reclaim'), st.just(0), st.just(0)),
), max_size=40)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(['standard', 'small']), _OPS)
def test_random_alloc_free_never_hands_out_a_frame_twice(machine, ops):
    log.reset_for_tests()
    if machine == 'standard':
        pmm, info = make_pmm()
    else:
        pmm, info = make_pmm(make_boot_info(SMALL_MAP, module=False, framebuffer=False),
                             kernel_size=0)
    reserved_at_start = reserved_frame_numbers(pmm)
    runs = []                    # (first phys, frame count) allocated, in order
    owned = set()                # frame numbers allocated
    freed = []
    reclaimed = [False]

    def take(phys, n):
        for k in range(n):
            frame = phys // FRAME_SIZE + k
            assert frame not in owned
            assert frame >= LOW_FRAMES
            if not reclaimed[0]:
                assert frame not in reserved_at_start
            owned.add(frame)
        runs.append((phys, n))

    for op, x, y in ops:
        if op == 'alloc':
            phys = pmm.alloc_frame()
            if phys >= 0:
                take(phys, 1)
            else:
                assert phys == E_NOMEM and pmm.frames_free == 0
        elif op == 'contig':
            phys = pmm.alloc_contiguous(x, y)
            if phys >= 0:
                assert (phys // FRAME_SIZE) % y == 0
                take(phys, x)
            else:
                assert phys == E_NOMEM
        elif op == 'free' and runs:
            phys, n = runs.pop(x % len(runs))
            assert pmm.free_frames(phys, n) == E_OK
            for k in range(n):
                owned.discard(phys // FRAME_SIZE + k)
            freed.append((phys, n))
        elif op == 'double_free' and freed:
            phys, n = freed[x % len(freed)]
            if not any(phys // FRAME_SIZE + k in owned for k in range(n)):
                assert pmm.free_frames(phys, n) == E_DOUBLE_FREE
        elif op == 'free_any' and x not in owned:
            # a frame nobody owns: reserved, free or out of range
            assert pmm.free_frame(x * FRAME_SIZE) in (E_RESERVED, E_DOUBLE_FREE, E_OUT_OF_RANGE)
        elif op == 'reclaim':
            pmm.reclaim_bootloader_memory(info)
            reclaimed[0] = True
        assert counters_add_up(pmm)
        assert pmm.frames_used == len(owned)
    for frame in owned:
        assert pmm.frame_state(frame * FRAME_SIZE) == FRAME_USED


# --------------------------------------------------------------- RPython

def _pmm_entry(kernel_size, n):
    info = bootinfo.boot_info
    # A memory map known only at run time: with the prebuilt empty one the
    # annotator sees init fail and never looks past it.
    memmap.add_region(info, 0, n << 20, bootinfo.MEM_USABLE)
    pmm = pmm_module.pmm
    pmm.reserve_range(0x9000, 0x1000)
    status = pmm.init(info, kernel_size)
    if status != E_OK:
        return status
    a = pmm.alloc_frame()
    b = pmm.alloc_contiguous(n, 4)
    pmm.free_frame(a)
    pmm.free_frames(b, n)
    pmm.reclaim_bootloader_memory(info)
    if not pmm.check_counters():
        return -1
    return pmm.frame_state(a) + pmm.phys_to_virt(0)


def test_pmm_is_valid_rpython_and_allocates_no_gc_object():
    t = rtype_allocation_free([(_pmm_entry, [int, int])], module_prefix='elyz.mm.pmm',
                              unoptimised=True)
    assert reaches(t, _pmm_entry, PhysicalMemoryManager.reclaim_bootloader_memory.im_func)
