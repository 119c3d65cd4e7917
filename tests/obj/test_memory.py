"""MemoryObject records (elyz.obj.memory): frames, zeroing, clean failure."""

from elyz.abi import limits
from elyz.abi.errors import E_INVALID, E_LIMIT, E_NOMEM
from elyz.mm import heap
from elyz.obj import memory
from elyz.rlib_kernel import rawmem
from tests.obj.conftest import HHDM


def test_create_rounds_up_to_pages_and_zeroes_reused_frames(world):
    phys = world.pmm.alloc_frame()
    rawmem.fill(phys + HHDM, 0xAB, 4096)
    world.pmm.free_frame(phys)
    index = memory.create(1)
    obj = memory.get(index)
    assert obj.pages == 1 and obj.size_bytes() == 4096 and obj.alive
    assert rawmem.load_u64(memory.frame(obj, 0) + HHDM + 8) == 0


def test_create_refuses_bad_sizes(world):
    assert memory.create(0) == E_INVALID
    assert memory.create(limits.MAX_OBJECT_SIZE + 1) == E_LIMIT


def test_a_failed_create_gives_back_every_frame_and_byte(world):
    frames = world.frames_free()
    heap_bytes = heap.kernel_heap.bytes_in_use
    assert memory.create((frames + 5) * 4096) == E_NOMEM
    assert world.frames_free() == frames - (world.heap_pages() - 1)
    assert heap.kernel_heap.bytes_in_use == heap_bytes
    assert memory.records_in_use() == 0


def test_records_run_out_with_e_nomem(world):
    taken = [memory.create(4096) for i in range(limits.MAX_MEMORY_OBJECTS)]
    assert sorted(taken) == list(range(limits.MAX_MEMORY_OBJECTS))
    frames = world.frames_free()
    assert memory.create(4096) == E_NOMEM
    assert world.frames_free() == frames


def test_destroy_frames_returns_them_to_the_pmm(world):
    frames = world.frames_free()
    obj = memory.get(memory.create(3 * 4096))
    memory.destroy_frames(obj)
    memory.free_record(obj)
    assert world.frames_free() == frames - (world.heap_pages() - 1)
    assert memory.live_frames() == 0 and memory.records_in_use() == 0
