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

Shared frames (spawn maps the read-only segments of a program this way):

    seal(obj)        the kernel declares that obj's bytes never change again:
                     no descriptor to it has RIGHT_WRITE (it was allocated
                     without: rights only shrink) and the kernel writes it
                     no more; returns nothing
    share_frames(source, first_page)  kernel use: while source >= 0, create()
                     makes a view instead of taking frames: an object whose
                     frames are pages first_page.. of the sealed object
                     `source` (E_RANGE past its end, E_INVALID when it is
                     not sealed); share_frames(-1, 0) right after the one
                     allocation it is for
    A view's frames stay its source's: live_frames() counts them once, with
    the source, and they are freed only once the source died and its last
    view went (until then the source's record stays taken, dead, with no
    reference: records_in_use() counts it).
"""

from elyz.abi.errors import E_INVALID, E_LIMIT, E_NOMEM, E_RANGE
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
        self.sealed = False         # seal(): the bytes never change again
        self.source = -1            # a view: the object whose frames these are
        self.views = 0              # live views of this object's frames
        self.frames_kept = False    # died with views left: frames wait for them
        self.record_kept = False    # freed with views left: the record waits too

    def size_bytes(self):
        return self.pages * PAGE_SIZE


class _Accounting(object):
    def __init__(self):
        self.frames = 0
        self.kernel_fills = False
        self.share_source = -1
        self.share_first = 0


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


def seal(obj):
    """See the module docstring; returns nothing."""
    obj.sealed = True


def share_frames(source, first_page):
    """See the module docstring; returns nothing."""
    _accounting.share_source = source
    _accounting.share_first = first_page


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
    if _accounting.share_source >= 0:
        return _create_view(pages, _objects[_accounting.share_source],
                            _accounting.share_first)
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
    _start(index, pages, frames, -1)
    _accounting.frames += pages
    return index


def _start(index, pages, frames, source):
    obj = _objects[index]
    obj.reset_header()
    obj.in_use = True
    obj.alive = True
    obj.pages = pages
    obj.frames = frames
    obj.first_mapping = -1
    obj.sealed = False
    obj.source = source
    obj.views = 0
    obj.frames_kept = False
    obj.record_kept = False


def _create_view(pages, source, first):
    """Returns a new object whose frames are source's pages first.. (see
    the module docstring), or an error (nothing taken)."""
    if not source.sealed or not source.alive:
        return E_INVALID
    if first < 0 or pages > source.pages - first:
        return E_RANGE
    index = _pool.take()
    if index < 0:
        return E_NOMEM
    frames = heap.kernel_heap.malloc(pages * WORD)
    if frames == 0:
        _pool.give_back(index)
        return E_NOMEM
    rawmem.copy(frames, source.frames + first * WORD, pages * WORD)
    _start(index, pages, frames, source.index)        # never sealed: no views of views
    source.views += 1
    return index


def destroy_frames(obj):
    """Gives obj's frames and frame list back; the caller removed every
    mapping first.  A view gives back only its list (and, as the last view
    of a dead source, the source's frames); a source with views keeps its
    frames until the last goes.  Returns nothing."""
    if obj.frames == 0:
        return
    if obj.source >= 0:
        heap.kernel_heap.free(obj.frames)
        obj.frames = 0
        source = _objects[obj.source]
        obj.source = -1
        source.views -= 1
        if source.views == 0 and source.frames_kept:
            source.frames_kept = False
            destroy_frames(source)
            if source.record_kept:
                source.record_kept = False
                _give_record_back(source)
        return
    if obj.views > 0:
        obj.frames_kept = True
        return
    _free_frames(obj.frames, obj.pages)
    heap.kernel_heap.free(obj.frames)
    _accounting.frames -= obj.pages
    obj.frames = 0


def free_record(obj):
    """Returns obj's record to the pool (dead, both counts 0), or, while
    views of its frames remain, when the last goes; returns nothing."""
    obj.reset_header()
    if obj.views > 0:
        obj.record_kept = True
        return
    _give_record_back(obj)


def _give_record_back(obj):
    obj.pages = 0
    obj.sealed = False
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
        obj.sealed = False
        obj.source = -1
        obj.views = 0
        obj.frames_kept = False
        obj.record_kept = False
    _pool.reset()
    _accounting.frames = 0
    _accounting.kernel_fills = False
    _accounting.share_source = -1
    _accounting.share_first = 0
