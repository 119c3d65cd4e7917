"""The page-table audit (elyz.mm.audit): each rule it enforces, broken on
purpose in tables built over simulated memory, is found and named, for
every page-table format (tests/mm/conftest.py)."""

import pytest

from elyz.mm import audit, paging
from elyz.mm.paging import (PAGE_SIZE, LARGE_PAGE_SIZE, PAGE_WRITE, PAGE_USER,
                            PAGE_NO_EXECUTE, PAGE_GLOBAL, PAGE_ALLOW_LARGE)
from elyz.mm.pte import aarch64, x86_64
from elyz.rlib_kernel import image, rawmem
from tests.mm.test_paging import HHDM, make_world

IMAGE_PHYS = 0x100000
NX = PAGE_NO_EXECUTE


@pytest.fixture
def world(pte_format):
    """A kernel-like address space: the image with its section permissions
    and unmapped stack guards, and a direct map of 16 MiB with the image's
    frames read-only.  Returns (pml4, frames, layout, rules)."""
    frames = make_world(frames=128)
    layout = image.emulate()
    pml4 = paging.create_address_space(frames)

    def section(start, end, flags):
        phys = start - layout.kernel_start + IMAGE_PHYS
        assert paging.map_range(pml4, start, phys, end - start, flags, frames) == 0

    section(layout.kernel_start, layout.text_start, PAGE_WRITE | NX)
    section(layout.text_start, layout.text_end, PAGE_GLOBAL)
    section(layout.rodata_start, layout.rodata_end, NX | PAGE_GLOBAL)
    section(layout.data_start, layout.kernel_stacks_start, PAGE_WRITE | NX)
    for bottom, top in layout.stacks:
        section(bottom, top, PAGE_WRITE | NX)
    image_end = IMAGE_PHYS + layout.kernel_end - layout.kernel_start
    assert paging.map_range(pml4, HHDM, 0, IMAGE_PHYS, PAGE_WRITE | NX, frames) == 0
    assert paging.map_range(pml4, HHDM + IMAGE_PHYS, IMAGE_PHYS, image_end - IMAGE_PHYS,
                            NX, frames) == 0
    direct_end = 16 << 20
    assert paging.map_range(pml4, HHDM + image_end, image_end, direct_end - image_end,
                            PAGE_WRITE | NX | PAGE_ALLOW_LARGE, frames) == 0
    rules = audit.AuditRules()
    rules.fill_from_image(IMAGE_PHYS, image_end, True)
    yield pml4, frames, layout, rules
    image.emulate()
    paging.set_hhdm_offset(0)


def test_a_correct_kernel_space_passes(world):
    pml4, frames, layout, rules = world
    assert audit.audit(pml4, rules) is None
    assert audit.audit_failed_virt() == 0


def test_a_writable_and_executable_page_is_found(world):
    pml4, frames, layout, rules = world
    assert paging.protect(pml4, layout.data_start, PAGE_WRITE) == 0
    assert audit.audit(pml4, rules) == 'a page is writable and executable'
    assert audit.audit_failed_virt() == layout.data_start


def test_without_nx_writable_executable_pages_are_not_a_finding(world):
    pml4, frames, layout, rules = world
    assert paging.protect(pml4, layout.data_start, PAGE_WRITE) == 0
    rules.nx_supported = False
    assert audit.audit(pml4, rules) is None


def test_executable_kernel_memory_outside_text_is_found(world):
    pml4, frames, layout, rules = world
    assert paging.protect(pml4, layout.rodata_start, 0) == 0
    assert audit.audit(pml4, rules) == 'kernel memory outside .text is executable'


def test_a_writable_direct_map_alias_of_kernel_text_is_found(world):
    pml4, frames, layout, rules = world
    alias = HHDM + IMAGE_PHYS + (layout.text_start - layout.kernel_start)
    assert paging.protect(pml4, alias, PAGE_WRITE | NX) == 0
    assert audit.audit(pml4, rules) == 'an alias of the kernel image is writable'
    assert audit.audit_failed_virt() == alias


def test_a_writable_alias_of_kernel_data_is_found_too(world):
    pml4, frames, layout, rules = world
    alias = HHDM + IMAGE_PHYS + (layout.data_start - layout.kernel_start)
    assert paging.protect(pml4, alias, PAGE_WRITE | NX) == 0
    assert audit.audit(pml4, rules) == 'an alias of the kernel image is writable'


def test_writable_kernel_text_is_found(world):
    pml4, frames, layout, rules = world
    rules.nx_supported = False            # else W+X is found first
    assert paging.protect(pml4, layout.text_start, PAGE_WRITE) == 0
    assert audit.audit(pml4, rules) == 'kernel text or rodata is writable'


@pytest.mark.x86_only
def test_a_user_accessible_kernel_half_entry_is_found_at_any_level(world):
    pml4, frames, layout, rules = world
    pml4_entry = pml4 + 511 * 8
    rawmem.store_u64(HHDM + pml4_entry, rawmem.load_u64(HHDM + pml4_entry) | x86_64.PTE_USER)
    assert audit.audit(pml4, rules) == 'a kernel-half entry allows user access'


def test_a_user_page_in_the_kernel_half_is_found(world):
    pml4, frames, layout, rules = world
    # paging.protect refuses PAGE_USER there: rewrite the leaf behind its back.
    _set_leaf_flags(pml4, HHDM + 0x1000, PAGE_USER | NX)
    assert audit.audit(pml4, rules) == 'a kernel-half entry allows user access'
    assert audit.audit_failed_virt() == HHDM + 0x1000


@pytest.mark.formats('aarch64')
def test_an_aarch64_kernel_table_without_aptable_is_found(world):
    pml4, frames, layout, rules = world
    pml4_entry = pml4 + 511 * 8
    rawmem.store_u64(HHDM + pml4_entry,
                     rawmem.load_u64(HHDM + pml4_entry) & ~aarch64.TABLE_AP_NO_EL0)
    assert audit.audit(pml4, rules) == 'a kernel-half entry allows user access'


def test_a_global_lower_half_page_is_found(world):
    pml4, frames, layout, rules = world
    assert paging.map(pml4, 0x400000, 0x9000, PAGE_USER | NX, frames) == 0
    # paging.map refuses PAGE_GLOBAL there: rewrite the leaf behind its back.
    _set_leaf_flags(pml4, 0x400000, PAGE_USER | NX | PAGE_GLOBAL)
    assert audit.audit(pml4, rules) == 'a lower-half page is global'


def test_a_mapped_stack_guard_is_found(world):
    pml4, frames, layout, rules = world
    bottom = layout.stacks[1][0]
    guard = bottom - image.STACK_GUARD_SIZE
    phys = guard - layout.kernel_start + IMAGE_PHYS
    assert paging.map(pml4, guard, phys, PAGE_WRITE | NX, frames) == 0
    assert audit.audit(pml4, rules) == 'a stack guard page is mapped'
    assert audit.audit_failed_virt() == guard


def _leaf_phys(pml4, virt):
    """The physical address of virt's 4 KiB leaf entry."""
    table = pml4
    for level in (4, 3, 2):
        index = (virt >> (12 + 9 * (level - 1))) & 511
        table = paging.fmt.table_address(rawmem.load_u64(HHDM + table + index * 8))
    return table + ((virt >> 12) & 511) * 8


def _set_leaf_flags(pml4, virt, flags):
    """Rewrites virt's 4 KiB leaf with flags, in the format in use."""
    entry_phys = _leaf_phys(pml4, virt)
    entry = rawmem.load_u64(HHDM + entry_phys)
    fmt = paging.fmt
    rawmem.store_u64(HHDM + entry_phys, fmt.leaf(fmt.leaf_address(entry, 1),
                                                 fmt.page_bits(flags)))
