"""Programs into processes: an ELF64 image becomes a running process
(docs/abi.md, "Program start" and spawn).

    spawn(caller, image_base, image_length, passed, count, args, args_length)
        -> the new process's record index, or a negative error with nothing
        changed.  caller: the Process giving `count` descriptors (their
        values at `passed`, a kernel array of words) and receiving a strong
        Process descriptor (its value: spawned_descriptor()); None for the
        kernel (init), which passes and receives nothing.  The image is
        kernel-readable memory [image_base, image_base + image_length); the
        args block, args_length bytes at kernel address args, is copied to
        the top of the new process's stack.
    spawned_descriptor() -> the caller's descriptor to the last process
        spawn() made
    image_window(caller, image_desc) -> the kernel address of the image
        MemoryObject's bytes mapped contiguously (read-only) in the image
        window, or 0 (the error in window_error()); close_window() unmaps it

The new process's descriptor table: first the passed descriptors (moved,
in order: values DESCRIPTOR_SLOTS + i; for init, the user image), then one
MemoryObject per PT_LOAD segment and the stack's.  Its mappings: each segment at its page-aligned
address with its own protection, the stack (STACK_SIZE, read-write) below
STACK_TOP.

A segment that is not writable, spawned from a sealed image object (the
copy of the user image the kernel gives init, which no descriptor can
write: memory.seal), is not copied: its MemoryObject is a view of the
image object's frames (memory.share_frames), when the segment's pages lie
inside the image and every byte of them outside the segment's file bytes
is zero there (so the process sees exactly what a copy would hold).  Its
rights and mapping are those of the copy (never RIGHT_WRITE), so no
process can ever write those frames, nor the kernel once it sealed them.
Writable segments are always copied.  Order of work: everything that can fail (parse, process,
segments, stack, kernel stack) comes before the passed descriptors move,
so a failure changes nothing of the caller's.
"""

from elyz.abi import limits
from elyz.abi.errors import E_FAULT, E_INVALID, E_LIMIT, E_NOMEM
from elyz.abi.rights import (PROCESS_RIGHTS, PROT_EXEC, PROT_READ, PROT_WRITE, RIGHT_BORROW,
                             RIGHT_CLONE, RIGHT_EXEC, RIGHT_MAP, RIGHT_READ, RIGHT_TRANSFER,
                             RIGHT_WAIT, RIGHT_WRITE)
from elyz.kernel import sched
from elyz.loader import elf
from elyz.mm import kernel_space, paging
from elyz.mm.pmm import pmm
from elyz.obj import api, memory, process
from elyz.rlib_kernel import rawmem

PAGE = limits.PAGE_SIZE
PAGE_MASK = PAGE - 1
# The stack object: the args block's page on top of 64 KiB, so that at least
# the 64 KiB docs/abi.md promises (rdx = 0) lie below the initial rsp.
STACK_SIZE = 64 * 1024 + PAGE
STACK_TOP = 0x00007FF000000000
MAX_PASSED = 16                 # descriptors one spawn may pass
MAX_ARGS_LENGTH = 1024          # bytes of an args block
STACK_ALIGN = 16
WORD = 8
IMAGE_WINDOW = rawmem.to_word(0xfffffc0000000000)      # PML4 entry 504
WINDOW_FLAGS = paging.PAGE_NO_EXECUTE


class _State(object):
    def __init__(self):
        self.image = elf.Image()
        self.span = elf.PageCopy()
        self.spawned = 0
        self.window_pages = 0
        self.window_object = -1     # the MemoryObject record in the window
        self.window_error = 0


_state = _State()


def spawned_descriptor():
    return _state.spawned


def window_error():
    return _state.window_error


def _rights_of(prot):
    rights = RIGHT_READ | RIGHT_MAP
    if prot & PROT_WRITE:
        rights |= RIGHT_WRITE
    if prot & PROT_EXEC:
        rights |= RIGHT_EXEC
    return rights


def _all_zero(addr, n):
    """Returns True when the n bytes at kernel address addr are all 0."""
    end = addr + n
    while addr < end and addr & (WORD - 1):
        if rawmem.load_u8(addr) != 0:
            return False
        addr += 1
    while addr + WORD <= end:
        if rawmem.load_u64(addr) != 0:
            return False
        addr += WORD
    while addr < end:
        if rawmem.load_u8(addr) != 0:
            return False
        addr += 1
    return True


def _shared_first_page(base, seg, source):
    """Returns the page of the image object record source (-1: none) whose
    frames seg's first page may share (see the module docstring), or -1
    when seg must be copied."""
    if source < 0 or seg.prot & PROT_WRITE:
        return -1
    obj = memory.get(source)
    if not obj.sealed:
        return -1
    first = (seg.offset - (seg.vaddr & PAGE_MASK)) // PAGE
    pages = elf.page_count(seg)
    if first < 0 or pages > obj.pages - first:
        return -1
    span = _state.span
    i = 0
    while i < pages:
        count = elf.segment_pages(seg, i, span)
        if count != PAGE:
            page = base + (first + i) * PAGE
            if not _all_zero(page, span.page_offset):
                return -1
            end = span.page_offset + count
            if not _all_zero(page + end, PAGE - end):
                return -1
        i += 1
    return first


def _load_segment(child, base, seg, source):
    """Gives child a MemoryObject holding seg, mapped; returns 0 or an error.
    source: the image's MemoryObject record, or -1.  A copy's frames are
    not zeroed first: load_page writes every byte of each (file bytes and
    zeros around them) before the mapping is made."""
    pages = elf.page_count(seg)
    first = _shared_first_page(base, seg, source)
    if first >= 0:
        memory.share_frames(source, first)
        desc = api.allocate(child, pages * PAGE, _rights_of(seg.prot))
        memory.share_frames(-1, 0)
        if desc < 0:
            return desc
        return api.map(child, desc, elf.page_base(seg), 0, pages * PAGE, seg.prot)
    memory.kernel_fills(True)
    desc = api.allocate(child, pages * PAGE, _rights_of(seg.prot))
    memory.kernel_fills(False)
    if desc < 0:
        return desc
    obj = memory.get(api.memory_named(child, desc, RIGHT_READ))
    i = 0
    while i < pages:
        elf.load_page(base, seg, i, pmm.phys_to_virt(memory.frame(obj, i)), _state.span)
        i += 1
    return api.map(child, desc, elf.page_base(seg), 0, pages * PAGE, seg.prot)


def _make_stack(child, args, args_length):
    """Maps the stack with the args block at its top; returns the initial
    rsp (a positive user address) or an error."""
    desc = api.allocate(child, STACK_SIZE, RIGHT_READ | RIGHT_WRITE | RIGHT_MAP)
    if desc < 0:
        return desc
    status = api.map(child, desc, STACK_TOP - STACK_SIZE, 0, STACK_SIZE,
                     PROT_READ | PROT_WRITE)
    if status < 0:
        return status
    obj = memory.get(api.memory_named(child, desc, RIGHT_READ))
    block = (args_length + STACK_ALIGN - 1) & ~(STACK_ALIGN - 1)
    args_user = STACK_TOP - block
    if args_length > 0:
        last = pmm.phys_to_virt(memory.frame(obj, STACK_SIZE // PAGE - 1))
        rawmem.copy(last + (args_user - (STACK_TOP - PAGE)), args, args_length)
    return args_user


IMAGE_RIGHTS = RIGHT_READ | RIGHT_MAP | RIGHT_CLONE | RIGHT_TRANSFER | RIGHT_BORROW


def _give_image(child, base, length):
    """Gives child a MemoryObject holding a copy of [base, base + length)
    (its first descriptor); returns 0 or an error."""
    desc = api.allocate(child, length, IMAGE_RIGHTS)
    if desc < 0:
        return desc
    obj = memory.get(api.memory_named(child, desc, RIGHT_READ))
    done = 0
    page = 0
    while done < length:
        chunk = length - done
        if chunk > PAGE:
            chunk = PAGE
        rawmem.copy(pmm.phys_to_virt(memory.frame(obj, page)), base + done, chunk)
        done += chunk
        page += 1
    memory.seal(obj)            # IMAGE_RIGHTS has no RIGHT_WRITE: nobody writes it
    return 0


def spawn(caller, image_base, image_length, passed, count, args, args_length,
          give_image=False):
    """See the module docstring; give_image (the kernel starting init): the
    new process's first descriptor is a MemoryObject holding a copy of the
    image, with IMAGE_RIGHTS, so that it can spawn from it."""
    if count < 0 or count > MAX_PASSED or args_length < 0:
        return E_INVALID
    if args_length > MAX_ARGS_LENGTH:
        return E_LIMIT
    i = 0
    while i < count:
        status = api.check_movable(caller, rawmem.load_u64(passed + i * WORD))
        if status < 0:
            return status
        k = 0
        while k < i:
            if rawmem.load_u64(passed + k * WORD) == rawmem.load_u64(passed + i * WORD):
                return E_INVALID
            k += 1
        i += 1
    image = _state.image
    source = -1
    if image_base == IMAGE_WINDOW and _state.window_pages > 0:
        source = _state.window_object
    status = elf.parse(image_base, image_length, image)
    if status < 0:
        return status
    if caller is None:
        index = api.spawn(None, 0)
        desc = 0
    else:
        desc = api.spawn(caller, PROCESS_RIGHTS)
        index = desc
        if desc >= 0:
            index = api.process_named(caller, desc, RIGHT_WAIT)
    if index < 0:
        return index
    child = process.get(index)
    status = api.reserve_slots(child, count)
    if status == 0 and give_image:
        status = _give_image(child, image_base, image_length)
    s = 0
    while status == 0 and s < image.count:
        status = _load_segment(child, image_base, image.segments[s], source)
        s += 1
    rsp = status
    if status == 0:
        rsp = _make_stack(child, args, args_length)
    if rsp >= 0:
        args_user = rsp if args_length > 0 else 0
        status = sched.start(index, image.entry, rsp, args_user, args_length)
    else:
        status = rsp
    if status < 0:
        if caller is not None:
            api.release(caller, desc)
        api.exit(child, 0)
        return status
    i = 0
    while i < count:
        api.move_into(caller, rawmem.load_u64(passed + i * WORD), child, i)
        i += 1
    _state.spawned = desc
    return index


# ------------------------------------------------------------ the image window

def close_window():
    """Unmaps the image window; returns nothing."""
    if _state.window_pages > 0:
        paging.unmap_range(kernel_space.kernel_pml4(), IMAGE_WINDOW,
                           _state.window_pages * PAGE, pmm, kernel_space.tlb)
    _state.window_pages = 0
    _state.window_object = -1


def image_window(caller, image_desc):
    """Maps the image MemoryObject image_desc of caller (RIGHT_READ) read-only
    at IMAGE_WINDOW; returns the window's address, or 0 with the error in
    window_error()."""
    index = api.memory_named(caller, image_desc, RIGHT_READ)
    if index < 0:
        _state.window_error = index
        return 0
    obj = memory.get(index)
    status = paging.map_frames(kernel_space.kernel_pml4(), IMAGE_WINDOW, obj.frames, obj.pages,
                               kernel_space.strip_nx(WINDOW_FLAGS), pmm, kernel_space.tlb)
    if status < 0:                      # nothing stays mapped
        _state.window_error = E_NOMEM
        return 0
    _state.window_pages = obj.pages
    _state.window_object = index
    return IMAGE_WINDOW


def image_size(caller, image_desc):
    """Returns the bytes of the image MemoryObject (call after image_window)."""
    return _state.window_pages * PAGE
