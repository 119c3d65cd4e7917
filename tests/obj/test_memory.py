"""MemoryObject records (elyz.obj.memory): frames, zeroing, clean failure."""

from elyz.abi import limits
from elyz.abi.errors import E_INVALID, E_LIMIT, E_NOMEM, E_RANGE
from elyz.mm import heap
from elyz.mm.pmm import FRAME_FREE, FRAME_USED
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


# ------------------------------------------------------------ shared frames

def sealed_object(pages):
    index = memory.create(pages * 4096)
    memory.seal(memory.get(index))
    return memory.get(index)


def test_a_view_maps_the_source_frames_and_counts_none_of_its_own(world):
    source = sealed_object(4)
    frames = world.frames_free()
    heap_pages = world.heap_pages()
    live = memory.live_frames()
    memory.share_frames(source.index, 1)
    index = memory.create(2 * 4096)
    memory.share_frames(-1, 0)
    view = memory.get(index)
    assert [memory.frame(view, i) for i in range(2)] == \
        [memory.frame(source, 1), memory.frame(source, 2)]
    assert (source.views, view.source, view.sealed) == (1, source.index, False)
    assert world.frames_free() == frames - (world.heap_pages() - heap_pages)
    assert memory.live_frames() == live
    assert memory.create(4096) >= 0                     # off again: real frames
    assert memory.live_frames() == live + 1


def test_a_view_needs_a_sealed_live_source_and_stays_inside_it(world):
    plain = memory.create(2 * 4096)
    source = sealed_object(2)
    records = memory.records_in_use()
    memory.share_frames(plain, 0)
    assert memory.create(4096) == E_INVALID
    memory.share_frames(source.index, 1)
    assert memory.create(2 * 4096) == E_RANGE
    memory.share_frames(-1, 0)
    assert memory.records_in_use() == records and source.views == 0


def test_the_source_frames_and_record_outlive_its_death_until_its_last_view_goes(world):
    frames = world.frames_free()
    heap_pages = world.heap_pages()
    source = sealed_object(3)
    memory.share_frames(source.index, 0)
    views = [memory.get(memory.create(3 * 4096)) for i in range(2)]
    memory.share_frames(-1, 0)
    phys = memory.frame(source, 0)
    source.alive = False                    # what api does when the last strong goes
    memory.destroy_frames(source)
    memory.free_record(source)
    assert world.pmm.frame_state(phys) == FRAME_USED
    assert memory.records_in_use() == 3 and memory.live_frames() == 3
    for view in views:
        view.alive = False
        memory.destroy_frames(view)
        memory.free_record(view)
    assert world.pmm.frame_state(phys) == FRAME_FREE
    assert memory.records_in_use() == 0 and memory.live_frames() == 0
    assert world.frames_free() == frames - (world.heap_pages() - heap_pages)
