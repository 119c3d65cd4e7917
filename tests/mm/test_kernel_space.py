"""The kernel's own address space, built over simulated memory."""

import pytest

from elyz.boot import bootinfo, memmap
from elyz.boot.bootinfo import BootInfo
from elyz.kernel import log
from elyz.mm import kernel_space, paging
from elyz.mm.pmm import pmm
from elyz.rlib_kernel import cpu, image, rawmem

HHDM = rawmem.to_word(0xffff800000000000)
RAM = 64 << 20
KERNEL_PHYS = 0x100000
FB_PHYS = 0xfd000000
APIC_PHYS = 0xfee00000


@pytest.fixture
def space():
    memory = rawmem.simulate()
    memory.add_region(HHDM, RAM)
    emulated = cpu.emulate()
    emulated.cpuid_values[(kernel_space.CPUID_EXTENDED_FEATURES, 0)] = \
        (0, 0, 0, kernel_space.CPUID_EDX_NX)
    log.reset_for_tests()
    layout = image.emulate()
    kernel_space.reset_for_tests()
    info = BootInfo()
    info.hhdm_offset = HHDM
    info.kernel_phys_base = KERNEL_PHYS
    info.kernel_virt_base = layout.kernel_start
    memmap.add_region(info, 0, RAM, bootinfo.MEM_USABLE)
    memmap.reserve_range(info, KERNEL_PHYS, layout.kernel_end - layout.kernel_start,
                         bootinfo.MEM_KERNEL_AND_MODULES)
    memmap.normalise(info)
    info.fb_present = True
    info.fb_address = FB_PHYS + HHDM
    info.fb_pitch = 4096
    info.fb_height = 768
    assert pmm.init(info, layout.kernel_end - layout.kernel_start) == 0
    pml4 = kernel_space.build(info, pmm)
    assert pml4 > 0
    kernel_space.activate(pml4)
    return info, layout, pml4


def test_image_sections_get_their_permissions(space):
    info, layout, pml4 = space
    text = paging.get_flags(pml4, layout.text_start)
    rodata = paging.get_flags(pml4, layout.rodata_start)
    data = paging.get_flags(pml4, layout.data_start)
    assert not text & paging.PAGE_WRITE and not text & paging.PAGE_NO_EXECUTE
    assert not rodata & paging.PAGE_WRITE and rodata & paging.PAGE_NO_EXECUTE
    assert data & paging.PAGE_WRITE and data & paging.PAGE_NO_EXECUTE
    assert paging.translate(pml4, layout.text_start) == \
        layout.text_start - layout.kernel_start + KERNEL_PHYS


def test_ram_is_direct_mapped_no_execute_and_the_framebuffer_write_combining(space):
    info, layout, pml4 = space
    assert paging.translate(pml4, HHDM + 0x5000) == 0x5000
    assert paging.get_flags(pml4, HHDM + 0x400000) & paging.PAGE_NO_EXECUTE
    assert paging.mapping_size(pml4, HHDM + 0x400000) == paging.LARGE_PAGE_SIZE
    fb = paging.get_flags(pml4, HHDM + FB_PHYS)
    assert fb & paging.PAGE_WRITE_COMBINING


def test_activate_loads_cr3_sets_nx_and_programs_the_pat(space):
    info, layout, pml4 = space
    emulated = cpu.emulated()
    assert emulated.cr3 == pml4
    assert emulated.msrs[paging.PAT_MSR] == paging.PAT_MSR_VALUE
    assert emulated.msrs[kernel_space.MSR_EFER] & kernel_space.EFER_NXE


def test_device_memory_is_mapped_uncached_on_demand(space):
    info, layout, pml4 = space
    assert paging.translate(pml4, HHDM + APIC_PHYS) < 0
    virt = kernel_space.map_device(APIC_PHYS + 0x20, 16)
    assert virt == HHDM + APIC_PHYS + 0x20
    assert paging.get_flags(pml4, HHDM + APIC_PHYS) & paging.PAGE_UNCACHED


def test_device_memory_inside_a_ram_large_page_is_refused_and_logged(space):
    assert kernel_space.map_device(0x400000, 16) == 0
    assert any('cannot map device memory' in line for line in log.captured)


def test_without_nx_the_kernel_maps_no_page_no_execute(space):
    info, layout, pml4 = space
    cpu.emulated().cpuid_values.clear()          # a CPU without the NX bit
    kernel_space.reset_for_tests()
    pml4 = kernel_space.build(info, pmm)
    assert pml4 > 0
    assert not paging.get_flags(pml4, layout.data_start) & paging.PAGE_NO_EXECUTE
    assert not paging.get_flags(pml4, HHDM + 0x5000) & paging.PAGE_NO_EXECUTE


def test_map_device_before_the_kernel_space_is_active_is_refused():
    kernel_space.reset_for_tests()
    log.reset_for_tests()
    assert kernel_space.map_device(APIC_PHYS, 16) == 0
    assert any('no kernel page tables yet' in line for line in log.captured)
