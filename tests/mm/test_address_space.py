"""Per-process address spaces (elyz.mm.address_space), for every page-table
format (tests/mm/conftest.py)."""

import pytest

from elyz.abi.errors import E_NOT_MAPPED, E_ALREADY_MAPPED, E_NOMEM
from elyz.abi.rights import PROT_EXEC, PROT_READ, PROT_WRITE
from elyz.lib import log
from elyz.mm import address_space, heap, paging
from elyz.rlib_kernel import cpu, rawmem
from tests.obj import conftest as obj_conftest
from tests.obj.conftest import HHDM
from elyz.mm.pmm import pmm

VA = 0x400000
KERNEL_VA = rawmem.to_word(0xffffc00000000000)


COUNTS = HHDM + 0x8000000          # the side array of counts, outside the RAM


@pytest.fixture
def world(pte_format):
    """tests/obj's machine, its tables in pte_format (and, for formats that
    keep the present-entry counts outside the entries, a count per frame)."""
    w = obj_conftest.make_world()
    if not paging.fmt.COUNT_IN_ENTRY:
        limit = obj_conftest.RAM_BYTES // paging.PAGE_SIZE
        rawmem.simulated().add_region(COUNTS, paging.count_array_bytes(limit))
        paging.set_count_array(COUNTS, limit)
    yield w
    obj_conftest.reset_objects()
    pmm.reset()
    paging.set_hhdm_offset(0)
    log.reset_for_tests()


def frame_list(frames):
    array = heap.kernel_heap.malloc(8 * len(frames))
    for i, phys in enumerate(frames):
        rawmem.store_u64(array + 8 * i, phys)
    return array


def test_a_new_space_shares_the_kernel_half_including_later_kernel_mappings(world):
    space = address_space.create()
    assert paging.map(world.kernel_pml4, KERNEL_VA, 0x5000, paging.PAGE_WRITE, pmm) == 0
    if paging.fmt.KERNEL_HALF_IN_EVERY_ROOT:
        assert address_space.translate(space, KERNEL_VA) == 0x5000
    else:               # loongarch64: PGDH holds the kernel's root for every space
        assert address_space.translate(space, KERNEL_VA) == E_NOT_MAPPED
        assert address_space.translate(world.kernel_pml4, KERNEL_VA) == 0x5000
    for index in range(256):
        assert rawmem.load_u64(HHDM + space + 8 * index) == 0


def test_map_pages_maps_user_pages_with_the_protection_given(world):
    space = address_space.create()
    frames = frame_list([0x7000, 0x9000])
    assert address_space.map_pages(space, VA, frames, 0, 2, PROT_READ | PROT_WRITE) == 0
    assert address_space.translate(space, VA + 4096) == 0x9000
    flags = paging.get_flags(space, VA)
    assert flags & paging.PAGE_USER and flags & paging.PAGE_WRITE
    assert flags & paging.PAGE_NO_EXECUTE
    assert address_space.page_flags(PROT_READ | PROT_EXEC) == paging.PAGE_USER


def test_map_pages_undoes_itself_on_failure(world):
    space = address_space.create()
    frames = frame_list([0x7000, 0x8000, 0x9000])
    assert address_space.map_pages(space, VA + 2 * 4096, frames, 0, 1, PROT_READ) == 0
    assert address_space.map_pages(space, VA, frames, 0, 3, PROT_READ) == E_ALREADY_MAPPED
    assert address_space.translate(space, VA) == E_NOT_MAPPED
    assert address_space.translate(space, VA + 4096) == E_NOT_MAPPED


def test_the_tlb_is_told_only_when_the_space_is_active(world):
    space = address_space.create()
    frames = frame_list([0x7000])
    address_space.map_pages(space, VA, frames, 0, 1, PROT_READ)
    address_space.unmap_pages(space, VA, 1)
    assert cpu.emulated().invalidated == []
    address_space.map_pages(space, VA, frames, 0, 1, PROT_READ)
    address_space.activate(space)
    assert cpu.emulated().cr3 == space and address_space.current() == space
    address_space.unmap_pages(space, VA, 1)
    assert cpu.emulated().invalidated and set(cpu.emulated().invalidated) == set([VA])


def test_an_unmap_beside_a_page_that_keeps_the_tables_still_invalidates_the_page(world):
    # the page table keeps its neighbour: no table is freed, no table is
    # scanned, and the unmapped page is still told to the TLB
    space = address_space.create()
    frames = frame_list([0x7000, 0x8000])
    address_space.map_pages(space, VA + (1 << 20), frames, 1, 1, PROT_READ)
    address_space.activate(space)
    tables = address_space.table_frames(space)
    for i in range(3):
        address_space.map_pages(space, VA, frames, 0, 1, PROT_READ)
        del cpu.emulated().invalidated[:]
        address_space.unmap_pages(space, VA, 1)
        assert cpu.emulated().invalidated == [VA]
        assert address_space.translate(space, VA) == E_NOT_MAPPED
        assert address_space.table_frames(space) == tables
    assert address_space.translate(space, VA + (1 << 20)) == 0x8000
    address_space.unmap_pages(space, VA + (1 << 20), 1)
    assert address_space.table_frames(space) == 1


def test_destroy_frees_every_page_table_frame(world):
    frames_before = world.frames_free()
    space = address_space.create()
    frames = frame_list([0x7000])
    for i in range(3):
        address_space.map_pages(space, VA + i * (1 << 30), frames, 0, 1, PROT_READ)
    assert address_space.table_frames(space) == 1 + 1 + 3 + 3
    address_space.destroy(space)
    assert world.frames_free() == frames_before - (world.heap_pages() - 1)
