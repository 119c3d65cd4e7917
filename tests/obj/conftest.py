"""A small machine for the object layer: 16 MiB of simulated RAM behind the
HHDM, the real PMM and kernel heap over it, a kernel top-level table with
its kernel half populated, and every object pool empty."""

import pytest

from elyz.boot import bootinfo
from elyz.lib import clock, log
from elyz.mm import address_space, heap, paging
from elyz.mm.pmm import pmm
from elyz.obj import api, channel, collector, lease, mapping, memory, process
from elyz.rlib_kernel import cpu, rawmem

HHDM = rawmem.to_word(0xffff800000000000)
RAM_BYTES = 16 << 20
KERNEL_PHYS = 0x100000
KERNEL_SIZE = 0x100000


class World(object):
    """What a test may look at: the PMM, the kernel heap, the kernel table."""

    def __init__(self):
        self.pmm = pmm
        self.heap = heap.kernel_heap
        self.kernel_pml4 = 0

    def frames_free(self):
        return pmm.frames_free

    def heap_pages(self):
        return heap.kernel_heap.bytes_reserved_from_pages // 4096


def reset_objects():
    api.reset_for_tests()
    channel.reset_for_tests()
    collector.reset_for_tests()
    memory.reset_for_tests()
    process.reset_for_tests()
    mapping.reset_for_tests()
    lease.reset_for_tests()
    address_space.reset_for_tests()
    clock.reset_for_tests()


def make_world():
    memory_sim = rawmem.simulate()
    memory_sim.add_region(HHDM, RAM_BYTES)
    cpu.emulate()
    log.reset_for_tests()
    reset_objects()
    info = bootinfo.BootInfo()
    info.hhdm_offset = HHDM
    info.kernel_phys_base = KERNEL_PHYS
    info.add_memory_region(0, RAM_BYTES, bootinfo.MEM_USABLE)
    pmm.reset()
    assert pmm.init(info, KERNEL_SIZE) == 0
    paging.set_hhdm_offset(HHDM)
    heap.kernel_heap.reset_statistics()
    assert heap.init_kernel_heap(HHDM) == 0
    world = World()
    world.kernel_pml4 = paging.create_address_space(pmm)
    assert paging.populate_kernel_half(world.kernel_pml4, pmm) == 0
    address_space.init(world.kernel_pml4, pmm)
    return world


@pytest.fixture
def world():
    w = make_world()
    yield w
    reset_objects()
    pmm.reset()
    paging.set_hhdm_offset(0)
    log.reset_for_tests()
