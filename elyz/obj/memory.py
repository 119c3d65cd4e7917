"""MemoryObject: a run of zero-filled pages (KIND_MEMORY).

    create(size) -> the index of a new object of size bytes rounded up to
                    whole pages, alive with no references yet, its frames
                    zeroed; E_INVALID for size <= 0, E_LIMIT above
                    MAX_OBJECT_SIZE, E_NOMEM when frames, heap or records
                    run out (then nothing was taken)
    get(index) -> the MemoryObject record
    frame(obj, page) -> the physical address of page `page` of obj
    destroy_frames(obj)  gives every frame and the frame list back (death)
    free_record(obj)     returns the record to the pool (counts both 0)
    live_frames() -> frames held by all objects; records_in_use()
    kernel_fills(on)  kernel use (spawn): while on, create() leaves the new
                     frames as they are instead of zeroing them, because
                     the kernel writes every byte of them before any
                     process can see them; turned off again right after the
                     one allocation it is for (whether it succeeded or not)

The frames come from the PMM one by one (no contiguity needed); their
physical addresses are words in a kernel-heap array (obj.frames).
"""

from elyz.abi.errors import E_INVALID, E_LIMIT, E_NOMEM
from elyz.abi.limits import MAX_MEMORY_OBJECTS, MAX_OBJECT_SIZE, PAGE_SIZE
from elyz.abi.rights import KIND_MEMORY
from elyz.mm import heap
from elyz.mm.pmm import pmm
from elyz.obj.kobject import KernelObject, Pool
from elyz.rlib_kernel import rawmem

WORD = 8


class MemoryObject(KernelObject):
    def __init__(self, index):
        KernelObject.__init__(self, KIND_MEMORY, index)
        self.pages = 0
        self.frames = 0             # kernel-heap array of physical addresses
        self.first_mapping = -1     # mapping.py: this object's mappings

    def size_bytes(self):
        return self.pages * PAGE_SIZE


class _Accounting(object):
    def __init__(self):
        self.frames = 0
        self.kernel_fills = False


_objects = [MemoryObject(i) for i in range(MAX_MEMORY_OBJECTS)]
_pool = Pool(MAX_MEMORY_OBJECTS)
_accounting = _Accounting()


def get(index):
    """Returns MemoryObject record index."""
    return _objects[index]


def frame(obj, page):
    """Returns the physical address of page `page` (0-based) of obj."""
    return rawmem.load_u64(obj.frames + page * WORD)


def kernel_fills(on):
    """See the module docstring; returns nothing."""
    _accounting.kernel_fills = on


def _free_frames(frames, count):
    i = 0
    while i < count:
        pmm.free_frame(rawmem.load_u64(frames + i * WORD))
        i += 1


def create(size):
    """Returns the index of a new object (see the module docstring) or an error."""
    if size <= 0:
        return E_INVALID
    if size > MAX_OBJECT_SIZE:
        return E_LIMIT
    pages = (size + PAGE_SIZE - 1) // PAGE_SIZE
    index = _pool.take()
    if index < 0:
        return E_NOMEM
    frames = heap.kernel_heap.malloc(pages * WORD)
    if frames == 0:
        _pool.give_back(index)
        return E_NOMEM
    zero = not _accounting.kernel_fills
    i = 0
    while i < pages:
        phys = pmm.alloc_frame()
        if phys < 0:
            _free_frames(frames, i)
            heap.kernel_heap.free(frames)
            _pool.give_back(index)
            return E_NOMEM
        if zero:
            rawmem.fill(pmm.phys_to_virt(phys), 0, PAGE_SIZE)
        rawmem.store_u64(frames + i * WORD, phys)
        i += 1
    obj = _objects[index]
    obj.reset_header()
    obj.in_use = True
    obj.alive = True
    obj.pages = pages
    obj.frames = frames
    obj.first_mapping = -1
    _accounting.frames += pages
    return index


def destroy_frames(obj):
    """Gives obj's frames and frame list back; the caller removed every
    mapping first.  Returns nothing."""
    if obj.frames != 0:
        _free_frames(obj.frames, obj.pages)
        heap.kernel_heap.free(obj.frames)
        _accounting.frames -= obj.pages
        obj.frames = 0


def free_record(obj):
    """Returns obj's record to the pool (dead, both counts 0); returns nothing."""
    obj.reset_header()
    obj.pages = 0
    _pool.give_back(obj.index)


def live_frames():
    """Returns the frames all MemoryObjects hold now."""
    return _accounting.frames


def records_in_use():
    """Returns how many MemoryObject records are taken (alive or dead)."""
    return _pool.taken


def reset_for_tests():
    """Untranslated only: every record free, no frames counted (the frames
    themselves belong to the test's simulated PMM)."""
    for obj in _objects:
        obj.reset_header()
        obj.pages = 0
        obj.frames = 0
        obj.first_mapping = -1
    _pool.reset()
    _accounting.frames = 0
    _accounting.kernel_fills = False
