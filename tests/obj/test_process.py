"""Process records (elyz.obj.process): creation and its clean failures."""

from elyz.abi import limits
from elyz.abi.errors import E_NOMEM
from elyz.mm import address_space, heap
from elyz.obj import process


def test_create_makes_a_running_process_with_its_own_space_and_table(world):
    index = process.create()
    proc = process.get(index)
    assert proc.state == process.STATE_RUNNING and proc.strong == 1 and proc.alive
    assert proc.space not in (0, world.kernel_pml4) and proc.table != 0
    assert address_space.table_frames(proc.space) == 1


def test_records_run_out_with_e_nomem_and_nothing_taken(world):
    for i in range(limits.MAX_PROCESSES):
        assert process.create() == i
    frames, heap_bytes = world.frames_free(), heap.kernel_heap.bytes_in_use
    assert process.create() == E_NOMEM
    assert (world.frames_free(), heap.kernel_heap.bytes_in_use) == (frames, heap_bytes)


def test_create_fails_cleanly_when_no_frame_is_left_for_the_space(world):
    while world.pmm.alloc_frame() >= 0:
        pass
    heap_bytes = heap.kernel_heap.bytes_in_use
    result = process.create()
    assert result == E_NOMEM
    assert process.records_in_use() == 0
    assert heap.kernel_heap.bytes_in_use == heap_bytes


def test_release_resources_frees_table_and_space(world):
    frames, heap_bytes = world.frames_free(), heap.kernel_heap.bytes_in_use
    heap_pages = world.heap_pages()
    proc = process.get(process.create())
    process.release_resources(proc)
    process.free_record(proc)
    assert world.frames_free() == frames - (world.heap_pages() - heap_pages)
    assert heap.kernel_heap.bytes_in_use == heap_bytes
