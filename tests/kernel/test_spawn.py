"""Programs into processes (elyz.kernel.spawn): a minimal ELF image from
tests/loader/images.py, placed in simulated kernel memory outside the RAM
the PMM manages (like a boot module), becomes a runnable process; every
refusal and every memory shortage changes nothing."""

import pytest

from elyz.abi import limits
from elyz.abi.errors import (E_BADDESC, E_DEAD, E_INVALID, E_LIMIT, E_NOEXEC, E_NOMEM,
                             E_NOSLOTS, E_RIGHTS)
from elyz.abi.rights import (KIND_MEMORY, KIND_PROCESS, PROCESS_RIGHTS, PROT_READ, PROT_WRITE,
                             RIGHT_BORROW,
                             RIGHT_EXEC, RIGHT_MAP, RIGHT_READ, RIGHT_TRANSFER, RIGHT_WAIT,
                             RIGHT_WRITE, STRENGTH_STRONG)
from elyz.kernel import sched, spawn
from elyz.loader import elf
from elyz.mm import address_space, heap, kernel_stacks, paging
from elyz.obj import api, mapping, memory, process
from elyz.mm.pmm import FRAME_FREE, FRAME_USED, pmm
from elyz.rlib_kernel import rawmem
from tests.kernel.conftest import (HHDM, IMAGE_AT, SCRATCH, descriptors, drain_frames,
                                   give_back, kernel_stack_pages, memory_object_with,
                                   mirror, place_image, read_bytes, run_queue, write_bytes)
from tests.loader import images

PAGE = limits.PAGE_SIZE
SLOT0 = limits.DESCRIPTOR_SLOTS             # the value of a first descriptor
ARGS = SCRATCH                              # a kernel args block
PASSED = SCRATCH + 0x2000                   # a kernel array of descriptor values
ARGS_BLOCK = 'prog\0one\0two\0'
TRANSFERABLE = RIGHT_READ | RIGHT_MAP | RIGHT_TRANSFER


def minimal_image():
    return images.minimal_elf().build()


def parsed(data):
    out = elf.Image()
    assert elf.parse(IMAGE_AT, len(data), out) == 0
    return out


def describe(proc, desc):
    out = api.Description()
    status = api.describe(proc, desc, out)
    return out if status == 0 else status


def page_bytes(proc, vaddr, n):
    """The bytes of proc's memory at vaddr, through its page tables."""
    out = []
    for va in range(vaddr, vaddr + n, PAGE):
        phys = address_space.translate(proc.space, va)
        assert phys >= 0, hex(va)
        out.append(read_bytes(HHDM + phys, PAGE))
    return b''.join(out)


def kernel_spawn(data=None, args=ARGS_BLOCK, give_image=False):
    data = minimal_image() if data is None else data
    place_image(data)
    write_bytes(ARGS, args)
    return spawn.spawn(None, IMAGE_AT, len(data), 0, 0, ARGS, len(args),
                       give_image=give_image)


def pass_values(values):
    for i, v in enumerate(values):
        rawmem.store_u64(PASSED + 8 * i, v)


def caller_spawn(caller, passed, data=None, args=ARGS_BLOCK, count=None):
    data = minimal_image() if data is None else data
    place_image(data)
    write_bytes(ARGS, args)
    pass_values(passed)
    return spawn.spawn(caller, IMAGE_AT, len(data), PASSED,
                       len(passed) if count is None else count, ARGS, len(args))


def snapshot(kworld, *procs):
    state = [kworld.accounted_frames(), heap.kernel_heap.bytes_in_use,
             memory.records_in_use(), memory.live_frames(), process.records_in_use(),
             mapping.count_in_use(), sched.tasks_in_use(), run_queue()]
    for p in procs:
        state.append(descriptors(p))
    return state


@pytest.fixture
def caller(kworld):
    """A process that spawns (the kernel's parent of it: None), after one
    spawn that warmed the heap and the kernel stack region's page tables."""
    index = kernel_spawn()
    assert index >= 0
    sched.kill(index, 0)
    return process.get(api.spawn(None, 0))


# ------------------------------------------------------------ what the child gets

def test_each_segment_becomes_a_memory_object_with_its_protection(kworld):
    index = kernel_spawn()
    child = process.get(index)
    text, data = describe(child, SLOT0), describe(child, SLOT0 + 1)
    assert (text.kind, text.strength, text.rights, text.size) == \
        (KIND_MEMORY, STRENGTH_STRONG, RIGHT_READ | RIGHT_MAP | RIGHT_EXEC, PAGE)
    assert (data.kind, data.rights, data.size) == \
        (KIND_MEMORY, RIGHT_READ | RIGHT_MAP | RIGHT_WRITE, 3 * PAGE)


def test_each_segment_is_mapped_at_its_pages_with_its_protection(kworld):
    child = process.get(kernel_spawn())
    text_flags = paging.get_flags(child.space, images.TEXT_VADDR)
    assert text_flags & paging.PAGE_USER and not text_flags & paging.PAGE_WRITE
    assert not text_flags & paging.PAGE_NO_EXECUTE
    for va in range(0x401000, 0x404000, PAGE):
        flags = paging.get_flags(child.space, va)
        assert flags & paging.PAGE_USER and flags & paging.PAGE_WRITE
        assert flags & paging.PAGE_NO_EXECUTE
    assert address_space.translate(child.space, 0x404000) < 0
    assert address_space.translate(child.space, images.TEXT_VADDR - PAGE) < 0


def test_each_segment_holds_its_file_bytes_then_zeros(kworld):
    data = minimal_image()
    child = process.get(kernel_spawn(data))
    for seg in parsed(data).segments[:parsed(data).count]:
        n = elf.page_count(seg) * PAGE
        assert page_bytes(child, elf.page_base(seg), n) == images.expected_pages(seg, data)


def dirty_free_frames():
    """Fills every free frame with 0xA5 (as a frame freed by another process
    may be): what a process sees must be zero or its own data."""
    taken = []
    while True:
        phys = pmm.alloc_frame()
        if phys < 0:
            break
        taken.append(phys)
    for phys in taken:
        rawmem.fill(HHDM + phys, 0xA5, PAGE)
        pmm.free_frame(phys)
    return len(taken)


def test_segments_and_stack_hold_no_stale_bytes_of_recycled_frames(kworld):
    data = minimal_image()
    assert dirty_free_frames() > 100
    child = process.get(kernel_spawn(data))
    for seg in parsed(data).segments[:parsed(data).count]:
        n = elf.page_count(seg) * PAGE
        assert page_bytes(child, elf.page_base(seg), n) == images.expected_pages(seg, data)
    stack = page_bytes(child, spawn.STACK_TOP - spawn.STACK_SIZE, spawn.STACK_SIZE)
    block = (len(ARGS_BLOCK) + 15) & ~15
    assert stack[:-block] == b'\0' * (spawn.STACK_SIZE - block)
    assert not memory._accounting.kernel_fills         # off again


def test_a_failed_segment_allocation_turns_kernel_fills_off(kworld, caller):
    hoard = drain_frames(0)
    assert caller_spawn(caller, []) == E_NOMEM
    assert not memory._accounting.kernel_fills
    give_back(hoard)


def test_the_stack_lies_below_stack_top_with_the_args_block_at_its_top(kworld):
    child = process.get(kernel_spawn())
    out = describe(child, SLOT0 + 2)
    assert (out.kind, out.rights, out.size) == \
        (KIND_MEMORY, RIGHT_READ | RIGHT_WRITE | RIGHT_MAP, spawn.STACK_SIZE)
    bottom = spawn.STACK_TOP - spawn.STACK_SIZE
    for va in range(bottom, spawn.STACK_TOP, PAGE):
        flags = paging.get_flags(child.space, va)
        assert flags & paging.PAGE_WRITE and flags & paging.PAGE_NO_EXECUTE
    assert address_space.translate(child.space, spawn.STACK_TOP) < 0
    assert address_space.translate(child.space, bottom - PAGE) < 0
    block = (len(ARGS_BLOCK) + 15) & ~15
    top_page = page_bytes(child, spawn.STACK_TOP - PAGE, PAGE)
    assert top_page[PAGE - block:PAGE - block + len(ARGS_BLOCK)] == ARGS_BLOCK
    assert top_page[:PAGE - block] == '\0' * (PAGE - block)


def record_starts(monkeypatch):
    started = []
    real = sched.start

    def start(index, entry, user_rsp, arg0, arg1):
        started.append((index, entry, user_rsp, arg0, arg1))
        return real(index, entry, user_rsp, arg0, arg1)

    monkeypatch.setattr(sched, 'start', start)
    return started


def test_start_gets_the_entry_the_stack_pointer_and_the_args_block(kworld, monkeypatch):
    started = record_starts(monkeypatch)
    index = kernel_spawn()
    block = (len(ARGS_BLOCK) + 15) & ~15
    rsp = spawn.STACK_TOP - block
    assert started == [(index, images.TEXT_VADDR + images.CODE_OFFSET, rsp, rsp,
                        len(ARGS_BLOCK))]
    assert rsp % 16 == 0
    assert sched.task(index).state == sched.TASK_RUNNABLE and run_queue() == [index]
    assert kernel_stack_pages(index) == kernel_stacks.STACK_PAGES


def test_without_args_the_stack_starts_at_stack_top_and_no_block_is_given(kworld,
                                                                        monkeypatch):
    started = record_starts(monkeypatch)
    index = kernel_spawn(args='')
    assert started == [(index, images.TEXT_VADDR + images.CODE_OFFSET, spawn.STACK_TOP, 0, 0)]


def test_the_longest_args_block_fits(kworld, monkeypatch):
    started = record_starts(monkeypatch)
    args = 'a' * (spawn.MAX_ARGS_LENGTH - 1) + '\0'
    index = kernel_spawn(args=args)
    assert index >= 0
    assert started[0][2] == spawn.STACK_TOP - spawn.MAX_ARGS_LENGTH
    top_page = page_bytes(process.get(index), spawn.STACK_TOP - PAGE, PAGE)
    assert top_page[PAGE - spawn.MAX_ARGS_LENGTH:] == args


def test_the_kernel_receives_no_descriptor_and_passes_none(kworld):
    index = kernel_spawn()
    child = process.get(index)
    assert [slot for slot, ref, rights, flags, expiry in descriptors(child)] == [0, 1, 2]


def test_give_image_makes_a_copy_of_the_image_the_child_s_first_descriptor(kworld):
    data = minimal_image()
    child = process.get(kernel_spawn(data, give_image=True))
    out = describe(child, SLOT0)
    assert (out.kind, out.rights, out.size) == (KIND_MEMORY, spawn.IMAGE_RIGHTS, PAGE)
    obj = memory.get(api.memory_named(child, SLOT0, RIGHT_READ))
    copy = read_bytes(HHDM + memory.frame(obj, 0), PAGE)
    assert copy == data + '\0' * (PAGE - len(data))
    write_bytes(IMAGE_AT, '\0' * len(data))                     # a copy, not the original
    assert read_bytes(HHDM + memory.frame(obj, 0), len(data)) == data
    assert describe(child, SLOT0 + 1).rights == RIGHT_READ | RIGHT_MAP | RIGHT_EXEC


# ------------------------------------------------------------ a process as the caller

def test_the_caller_gets_a_strong_descriptor_with_every_process_right(kworld, caller):
    index = caller_spawn(caller, [])
    assert index >= 0
    desc = spawn.spawned_descriptor()
    out = describe(caller, desc)
    assert (out.kind, out.strength, out.rights) == (KIND_PROCESS, STRENGTH_STRONG,
                                                    PROCESS_RIGHTS)
    assert api.process_named(caller, desc, RIGHT_WAIT) == index


def test_passed_descriptors_become_the_child_s_first_descriptors_in_order(kworld, caller):
    a = api.allocate(caller, PAGE, TRANSFERABLE)
    b = api.allocate(caller, 2 * PAGE, TRANSFERABLE | RIGHT_BORROW)
    lease = api.borrow(caller, b, 50)
    expiry = describe(caller, lease).expiry
    held = dict((slot, entry) for slot, entry in
                [(d[0], d[1:]) for d in descriptors(caller)])
    slots = [api_slot(a), api_slot(b), api_slot(lease)]
    child = process.get(caller_spawn(caller, [b, lease, a]))
    for i, value in enumerate([b, lease, a]):
        assert describe(caller, value) == E_BADDESC              # moved away
        assert describe(child, SLOT0 + i) != E_BADDESC
    got = dict((d[0], d[1:]) for d in descriptors(child))
    assert [got[0], got[1], got[2]] == [held[slots[1]], held[slots[2]], held[slots[0]]]
    assert describe(child, SLOT0 + 1).expiry == expiry != 0
    assert describe(child, SLOT0 + 3).rights == RIGHT_READ | RIGHT_MAP | RIGHT_EXEC


def api_slot(value):
    return value % limits.DESCRIPTOR_SLOTS


def test_passed_descriptors_move_only_once_the_child_is_started(kworld, caller, monkeypatch):
    moves = []
    real = api.move_into

    def move_into(proc, desc, dest, slot):
        moves.append(sched.task(dest.index).state)
        return real(proc, desc, dest, slot)

    monkeypatch.setattr(api, 'move_into', move_into)
    passed = [api.allocate(caller, PAGE, TRANSFERABLE) for i in range(3)]
    assert caller_spawn(caller, passed) >= 0
    assert moves == [sched.TASK_RUNNABLE] * 3


def test_a_child_killed_gives_everything_back(kworld, caller):
    before = snapshot(kworld, caller)
    passed = [api.allocate(caller, PAGE, TRANSFERABLE)]
    index = caller_spawn(caller, passed)
    desc = spawn.spawned_descriptor()
    sched.kill(index, 0)
    assert api.release(caller, desc) == 0
    assert snapshot(kworld, caller) == before


# ------------------------------------------------------------ refusals change nothing

def refused(kworld, caller, passed, error, **kw):
    before = snapshot(kworld, caller)
    assert caller_spawn(caller, passed, **kw) == error
    assert snapshot(kworld, caller) == before
    assert paging.translate(kworld.kernel_pml4, spawn.IMAGE_WINDOW) < 0


def test_a_refused_image_changes_nothing(kworld, caller):
    passed = [api.allocate(caller, PAGE, TRANSFERABLE)]
    bad = bytearray(minimal_image())
    bad[0] = 0x7e
    refused(kworld, caller, passed, E_NOEXEC, data=bytes(bad))
    refused(kworld, caller, passed, E_NOEXEC, data=minimal_image()[:40])


def test_a_passed_value_that_is_no_descriptor_changes_nothing(kworld, caller):
    good = api.allocate(caller, PAGE, TRANSFERABLE)
    refused(kworld, caller, [good, 999999], E_BADDESC)
    refused(kworld, caller, [0], E_BADDESC)


def test_a_passed_descriptor_without_transfer_changes_nothing(kworld, caller):
    good = api.allocate(caller, PAGE, TRANSFERABLE)
    kept = api.allocate(caller, PAGE, RIGHT_READ | RIGHT_MAP)
    refused(kworld, caller, [good, kept], E_RIGHTS)


def test_a_passed_dead_descriptor_changes_nothing(kworld, caller):
    strong = api.allocate(caller, PAGE, TRANSFERABLE | RIGHT_BORROW)
    lease = api.borrow(caller, strong, 0)
    assert api.release(caller, strong) == 0
    refused(kworld, caller, [lease], E_DEAD)


def test_a_descriptor_passed_twice_changes_nothing(kworld, caller):
    a = api.allocate(caller, PAGE, TRANSFERABLE)
    b = api.allocate(caller, PAGE, TRANSFERABLE)
    refused(kworld, caller, [a, b, a], E_INVALID)


@pytest.mark.parametrize('count', [-1, spawn.MAX_PASSED + 1])
def test_a_count_outside_0_to_max_passed_changes_nothing(kworld, caller, count):
    passed = [api.allocate(caller, PAGE, TRANSFERABLE) for i in range(spawn.MAX_PASSED + 1)]
    refused(kworld, caller, passed, E_INVALID, count=count)


def test_max_passed_descriptors_may_be_passed(kworld, caller):
    passed = [api.allocate(caller, PAGE, TRANSFERABLE) for i in range(spawn.MAX_PASSED)]
    child = process.get(caller_spawn(caller, passed))
    assert [d[0] for d in descriptors(child)][:spawn.MAX_PASSED] == range(spawn.MAX_PASSED)


def test_an_args_block_too_long_changes_nothing(kworld, caller):
    passed = [api.allocate(caller, PAGE, TRANSFERABLE)]
    refused(kworld, caller, passed, E_LIMIT, args='a' * (spawn.MAX_ARGS_LENGTH + 1))


def test_a_negative_args_length_changes_nothing(kworld, caller):
    before = snapshot(kworld, caller)
    place_image(minimal_image())
    assert spawn.spawn(caller, IMAGE_AT, len(minimal_image()), PASSED, 0, ARGS, -1) == \
        E_INVALID
    assert snapshot(kworld, caller) == before


def test_a_full_caller_table_changes_nothing(kworld, caller):
    passed = api.allocate(caller, PAGE, TRANSFERABLE)
    while api.allocate(caller, PAGE, RIGHT_READ) > 0:
        pass
    refused(kworld, caller, [passed], E_NOSLOTS)


def test_no_process_record_left_changes_nothing(kworld, caller):
    while api.spawn(None, 0) >= 0:
        pass
    passed = [api.allocate(caller, PAGE, TRANSFERABLE)]
    refused(kworld, caller, passed, E_NOMEM)


def test_running_out_of_frames_anywhere_midway_changes_nothing(kworld, caller):
    passed = [api.allocate(caller, PAGE, TRANSFERABLE) for i in range(2)]
    failures = 0
    for frames_left in range(200):
        hoard = drain_frames(frames_left)
        before = snapshot(kworld, caller)
        index = caller_spawn(caller, passed)
        if index >= 0:
            give_back(hoard)
            break
        assert index == E_NOMEM
        assert snapshot(kworld, caller) == before, frames_left
        failures += 1
        give_back(hoard)
    else:
        raise AssertionError('spawn never succeeded')
    assert failures > 25                 # process, tables, segments, stack, kernel stack
    assert [d[0] for d in descriptors(process.get(index))][:2] == [0, 1]


# ------------------------------------------------------------ the image window

def test_the_image_window_maps_the_object_read_only_and_close_unmaps_it(kworld, caller):
    data = minimal_image() * 5
    desc = api.allocate(caller, len(data), RIGHT_READ)
    obj = memory.get(api.memory_named(caller, desc, RIGHT_READ))
    base = spawn.image_window(caller, desc)
    assert base == spawn.IMAGE_WINDOW and spawn.image_size(caller, desc) == obj.pages * PAGE
    for i in range(obj.pages):
        va = base + i * PAGE
        assert paging.translate(kworld.kernel_pml4, va) == memory.frame(obj, i)
        flags = paging.get_flags(kworld.kernel_pml4, va)
        assert not flags & paging.PAGE_WRITE and not flags & paging.PAGE_USER
        assert flags & paging.PAGE_NO_EXECUTE
    spawn.close_window()
    for i in range(obj.pages):
        assert paging.translate(kworld.kernel_pml4, base + i * PAGE) < 0


@pytest.mark.parametrize('which, error', [('bad', E_BADDESC), ('no_read', E_RIGHTS)])
def test_the_image_window_refuses_a_descriptor_without_read(kworld, caller, which, error):
    desc = 999999 if which == 'bad' else api.allocate(caller, PAGE, RIGHT_MAP)
    assert spawn.image_window(caller, desc) == 0
    assert spawn.window_error() == error
    assert paging.translate(kworld.kernel_pml4, spawn.IMAGE_WINDOW) < 0


# ------------------------------------------------------------ shared read-only segments

RODATA_VADDR = 0x402000


def page_separated_image():
    """Text R+X (file page 1), rodata R (file page 2, and a second page of
    p_memsz beyond p_filesz, whose file page 3 is zeros), data R+W with bss
    (file page 4): each segment's file bytes alone on their pages, as
    user/lib/user.ld lays them out."""
    e = images.Elf()
    e.load(images.TEXT_VADDR, PAGE, 0x300, 0x300, images.PF_R | images.PF_X)
    e.load(RODATA_VADDR, 2 * PAGE, 0x40, PAGE + 0x40, images.PF_R)
    e.load(0x404000, 4 * PAGE, 0x20, 0x1000, images.PF_R | images.PF_W)
    e.phdrs.append(images.Elf.phdr(images.PT_GNU_STACK, images.PF_R | images.PF_W, align=16))
    e.header['entry'] = images.TEXT_VADDR + 0x100
    e.payload[PAGE + 0x100] = images.JMP_SELF
    e.payload[2 * PAGE] = 'R' * 0x40
    e.payload[4 * PAGE] = 'D' * 0x20
    e.size = 4 * PAGE + 0x20
    return e.build()


def image_object(caller, data, sealed=True):
    """Gives caller an image MemoryObject holding data (read and map rights:
    no write, as the kernel's copy of the user image); returns (desc, obj)."""
    desc = memory_object_with(caller, data, RIGHT_MAP)
    obj = memory.get(api.memory_named(caller, desc, RIGHT_READ))
    if sealed:
        memory.seal(obj)
    return desc, obj


def window_spawn(kworld, caller, image_desc):
    """Spawns from caller's image object as the spawn system call does
    (the window's pages mirrored in simulated memory: test_syscall.py)."""
    base = spawn.image_window(caller, image_desc)
    assert base == spawn.IMAGE_WINDOW
    mirror(kworld.kernel_pml4, base, spawn._state.window_pages)
    write_bytes(ARGS, ARGS_BLOCK)
    index = spawn.spawn(caller, base, spawn.image_size(caller, image_desc), PASSED, 0, ARGS,
                        len(ARGS_BLOCK))
    spawn.close_window()
    return index


def test_read_only_segments_map_the_sealed_image_frames_and_data_is_copied(kworld, caller):
    data = page_separated_image()
    desc, image = image_object(caller, data)
    live = memory.live_frames()
    child = process.get(window_spawn(kworld, caller, desc))
    assert address_space.translate(child.space, images.TEXT_VADDR) == memory.frame(image, 1)
    assert address_space.translate(child.space, RODATA_VADDR) == memory.frame(image, 2)
    assert address_space.translate(child.space, RODATA_VADDR + PAGE) == memory.frame(image, 3)
    data_phys = address_space.translate(child.space, 0x404000)
    assert data_phys not in [memory.frame(image, i) for i in range(image.pages)]
    # Only the data segment and the stack took frames.
    assert memory.live_frames() == live + 1 + spawn.STACK_SIZE // PAGE
    text, rodata = describe(child, SLOT0), describe(child, SLOT0 + 1)
    assert (text.rights, text.size) == (RIGHT_READ | RIGHT_MAP | RIGHT_EXEC, PAGE)
    assert (rodata.rights, rodata.size) == (RIGHT_READ | RIGHT_MAP, 2 * PAGE)
    place_image(data)                                   # for parsed()
    for seg in parsed(data).segments[:parsed(data).count]:
        n = elf.page_count(seg) * PAGE
        assert page_bytes(child, elf.page_base(seg), n) == images.expected_pages(seg, data)


def test_a_shared_segment_is_never_writable_by_the_child(kworld, caller):
    desc, image = image_object(caller, page_separated_image())
    child = process.get(window_spawn(kworld, caller, desc))
    for va in (images.TEXT_VADDR, RODATA_VADDR, RODATA_VADDR + PAGE):
        assert not paging.get_flags(child.space, va) & paging.PAGE_WRITE
    assert paging.get_flags(child.space, images.TEXT_VADDR) & paging.PAGE_NO_EXECUTE == 0
    for value in (SLOT0, SLOT0 + 1):
        assert api.map(child, value, 0x500000, 0, PAGE, PROT_READ | PROT_WRITE) == E_RIGHTS
        assert api.clone(child, value, RIGHT_READ) == E_RIGHTS
        assert api.transfer(child, value, value) == E_RIGHTS


def test_an_image_that_is_not_sealed_is_copied(kworld, caller):
    desc, image = image_object(caller, page_separated_image(), sealed=False)
    child = process.get(window_spawn(kworld, caller, desc))
    assert address_space.translate(child.space, images.TEXT_VADDR) != memory.frame(image, 1)
    assert image.views == 0


def test_a_page_holding_other_bytes_of_the_image_is_copied(kworld, caller):
    # minimal_elf's text page also holds the ELF header and the data bytes.
    data = minimal_image()
    desc, image = image_object(caller, data)
    child = process.get(window_spawn(kworld, caller, desc))
    assert address_space.translate(child.space, images.TEXT_VADDR) != memory.frame(image, 0)
    assert image.views == 0
    place_image(data)
    seg = parsed(data).segments[0]
    assert page_bytes(child, images.TEXT_VADDR, PAGE) == images.expected_pages(seg, data)


def test_shared_image_frames_outlive_the_image_descriptor_until_the_child_ends(kworld,
                                                                               caller):
    before = snapshot(kworld, caller)
    live = memory.live_frames()
    desc, image = image_object(caller, page_separated_image())
    text_phys = memory.frame(image, 1)
    index = window_spawn(kworld, caller, desc)
    handle = spawn.spawned_descriptor()
    child = process.get(index)
    assert api.release(caller, desc) == 0              # the image object dies
    assert pmm.frame_state(text_phys) == FRAME_USED
    assert address_space.translate(child.space, images.TEXT_VADDR) == text_phys
    assert page_bytes(child, images.TEXT_VADDR, PAGE)[0x100:0x102] == images.JMP_SELF
    sched.kill(index, 0)
    assert pmm.frame_state(text_phys) == FRAME_FREE
    assert memory.live_frames() == live
    assert api.release(caller, handle) == 0
    assert snapshot(kworld, caller) == before
