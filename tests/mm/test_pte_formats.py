"""The page-table entry formats (elyz/mm/pte): the exact bits each one
writes for the portable PAGE_* flags, flags read back, W^X as each
architecture expresses it, and the shape of the entries paging's walker
writes through them."""

import itertools
import os

import pytest

from elyz.mm import paging, pte
from elyz.mm.paging import (
    PAGE_SIZE, LARGE_PAGE_SIZE, PAGE_WRITE, PAGE_USER, PAGE_NO_EXECUTE, PAGE_GLOBAL,
    PAGE_WRITE_COMBINING, PAGE_UNCACHED, PAGE_ALLOW_LARGE)
from elyz.mm.pte import aarch64, loongarch64, riscv64, x86_64
from elyz.rlib_kernel import rawmem
from tests.mm.test_paging import HHDM, KERNEL, frame_list, make_world

PHYS = 0x12345000
LARGE_PHYS = 0x40200000
TABLE = 0x777000
BIT63 = rawmem.to_word(1 << 63)

USER_RW_NX = PAGE_USER | PAGE_WRITE | PAGE_NO_EXECUTE
KERNEL_RO_X_GLOBAL = PAGE_GLOBAL
KERNEL_RW_NX_GLOBAL = PAGE_WRITE | PAGE_NO_EXECUTE | PAGE_GLOBAL


def all_flag_sets():
    """Every valid combination of the stored PAGE_* flags."""
    stored = [PAGE_WRITE, PAGE_USER, PAGE_NO_EXECUTE, PAGE_GLOBAL]
    for bits in itertools.product([0, 1], repeat=len(stored)):
        base = sum(flag for flag, on in zip(stored, bits) if on)
        for cache in (0, PAGE_WRITE_COMBINING, PAGE_UNCACHED):
            yield base | cache


FORMATS = [pte.by_name(name) for name in pte.NAMES]


def bits_at(fmt, flags, level):
    """The bits of a leaf at level (1: 4 KiB, 2: 2 MiB, 3: 1 GiB)."""
    if level == 1:
        return fmt.page_bits(flags)
    return fmt.block_bits(flags, level)


# ------------------------------------------------------------ every format

@pytest.mark.parametrize('fmt', FORMATS, ids=pte.NAMES)
@pytest.mark.parametrize('level', [1, 2, 3])
def test_flags_and_frame_read_back_from_every_leaf(fmt, level):
    phys = PHYS & ~((1 << (12 + 9 * (level - 1))) - 1) or (1 << (12 + 9 * (level - 1)))
    for flags in all_flag_sets():
        entry = fmt.leaf(phys, bits_at(fmt, flags, level))
        assert fmt.is_present(entry)
        assert fmt.flags_of(entry, level) == flags, (fmt.NAME, level, flags)
        assert fmt.leaf_address(entry, level) == phys
        if level > 1:
            assert fmt.is_block(entry)
        assert (entry & BIT63 == 0) or fmt is not riscv64


@pytest.mark.parametrize('fmt', FORMATS, ids=pte.NAMES)
@pytest.mark.parametrize('lower', [True, False])
def test_a_table_entry_is_present_names_its_table_and_is_no_block(fmt, lower):
    entry = fmt.table_entry(TABLE, lower)
    assert fmt.is_present(entry) and not fmt.is_block(entry)
    assert fmt.table_address(entry) == TABLE
    assert not fmt.is_present(0)


@pytest.mark.parametrize('fmt', FORMATS, ids=pte.NAMES)
def test_upper_half_table_entries_never_let_user_mode_through(fmt):
    for level in (2, 3, 4):
        assert not fmt.grants_user(fmt.table_entry(TABLE, False), level)
    for flags in all_flag_sets():
        leaf = fmt.leaf(PHYS, bits_at(fmt, flags, 1))
        assert fmt.grants_user(leaf, 1) == bool(flags & PAGE_USER)


@pytest.mark.parametrize('fmt', FORMATS, ids=pte.NAMES)
def test_the_physical_limit(fmt):
    assert fmt.MAX_PHYS == {'x86_64': (1 << 52) - 1, 'aarch64': (1 << 48) - 1,
                            'riscv64': (1 << 56) - 1, 'loongarch64': (1 << 48) - 1}[fmt.NAME]
    top = fmt.MAX_PHYS + 1 - PAGE_SIZE
    assert fmt.leaf_address(fmt.leaf(top, bits_at(fmt, 0, 1)), 1) == top


def test_the_format_follows_karch(monkeypatch):
    import imp
    from elyz.rlib_kernel import karch
    assert pte.FORMAT is pte.by_name(karch.KARCH)
    try:
        monkeypatch.setenv('KARCH', 'riscv64')
        imp.reload(karch)
        imp.reload(pte)
        assert karch.KARCH == 'riscv64' and pte.FORMAT is riscv64
        monkeypatch.setenv('KARCH', 'sparc')
        with pytest.raises(ValueError):
            imp.reload(karch)
    finally:
        monkeypatch.undo()
        imp.reload(karch)
        imp.reload(pte)
    assert pte.FORMAT is pte.by_name(os.environ.get('KARCH', 'x86_64'))


# ------------------------------------------------------------ x86_64

def test_x86_user_rw_nx_page():
    assert x86_64.leaf(PHYS, bits_at(x86_64, USER_RW_NX, 1)) == (
        PHYS | x86_64.PTE_PRESENT | x86_64.PTE_WRITABLE | x86_64.PTE_USER | x86_64.PTE_NX)


def test_x86_large_leaves_have_ps_and_tables_carry_the_count_bits_clear():
    assert bits_at(x86_64, 0, 2) == x86_64.PTE_PRESENT | x86_64.PTE_HUGE
    assert x86_64.table_entry(TABLE, True) == TABLE | 0b111
    assert x86_64.table_entry(TABLE, False) == TABLE | 0b011
    assert x86_64.COUNT_IN_ENTRY and x86_64.COUNT_MASK == 0x3FF << 52


# ------------------------------------------------------------ aarch64

A = aarch64
A_COMMON = A.AF | (0b11 << 8)                   # AF, SH inner shareable


def test_aarch64_user_rw_nx_page():
    assert A.leaf(PHYS, bits_at(A, USER_RW_NX, 1)) == (
        PHYS | 0b11 | A_COMMON | (1 << 6) | (1 << 54) | (1 << 53) | (1 << 11))


def test_aarch64_user_read_execute_page_is_never_kernel_executable():
    assert bits_at(A, PAGE_USER, 1) == (
        0b11 | A_COMMON | (1 << 7) | (1 << 6) | (1 << 53) | (1 << 11))


def test_aarch64_kernel_text_page_is_never_user_executable():
    assert bits_at(A, KERNEL_RO_X_GLOBAL, 1) == 0b11 | A_COMMON | (1 << 7) | (1 << 54)


def test_aarch64_kernel_data_block_at_2mib_and_1gib():
    bits = 0b01 | A_COMMON | (1 << 54) | (1 << 53)
    assert bits_at(A, KERNEL_RW_NX_GLOBAL, 2) == bits
    assert bits_at(A, KERNEL_RW_NX_GLOBAL, 3) == bits
    assert A.leaf(LARGE_PHYS, bits) & 0b11 == 0b01


def test_aarch64_cache_modes_index_the_mair():
    assert (bits_at(A, 0, 1) >> 2) & 7 == 0
    assert (bits_at(A, PAGE_UNCACHED, 1) >> 2) & 7 == 1
    assert (bits_at(A, PAGE_WRITE_COMBINING, 1) >> 2) & 7 == 2
    mair = [(A.MAIR_VALUE >> (8 * i)) & 0xff for i in range(8)]
    assert mair[:3] == [0xff, 0x04, 0x44]       # normal WB, device nGnRE, normal NC


def test_aarch64_table_descriptors():
    assert A.table_entry(TABLE, True) == TABLE | 0b11 | (1 << 59)           # PXNTable
    assert A.table_entry(TABLE, False) == TABLE | 0b11 | (1 << 60) | (1 << 61)
    assert A.grants_user(A.table_entry(TABLE, True), 4)


def test_aarch64_w_xor_x_between_privilege_levels():
    for flags in all_flag_sets():
        for level in (1, 2):
            bits = bits_at(A, flags, level)
            assert bits & A.AF
            if flags & PAGE_USER:
                assert bits & A.PXN                     # never kernel-executable
            else:
                assert bits & A.UXN                     # never user-executable
            assert bool(bits & A.NG) == (not flags & PAGE_GLOBAL)


# ------------------------------------------------------------ riscv64

R = riscv64


def test_riscv_user_rw_nx_page():
    assert R.leaf(PHYS, bits_at(R, USER_RW_NX, 1)) == (
        (PHYS >> 12) << 10 | R.PTE_V | R.PTE_R | R.PTE_W | R.PTE_U | R.PTE_A | R.PTE_D)
    assert [R.PTE_V, R.PTE_R, R.PTE_W, R.PTE_X, R.PTE_U, R.PTE_G, R.PTE_A, R.PTE_D] == \
        [1 << i for i in range(8)]


def test_riscv_kernel_text_page_and_a_non_leaf():
    assert bits_at(R, KERNEL_RO_X_GLOBAL, 1) == (
        R.PTE_V | R.PTE_R | R.PTE_X | R.PTE_G | R.PTE_A | R.PTE_D)
    assert R.table_entry(TABLE, True) == R.table_entry(TABLE, False) == (TABLE >> 12) << 10 | 1


def test_riscv_leaves_are_the_same_at_every_level_and_cache_modes_go_to_rsw():
    assert bits_at(R, USER_RW_NX, 1) == bits_at(R, USER_RW_NX, 2) == bits_at(R, USER_RW_NX, 3)
    assert bits_at(R, PAGE_WRITE_COMBINING, 1) & (3 << 8) == 1 << 8
    assert bits_at(R, PAGE_UNCACHED, 1) & (3 << 8) == 3 << 8


def entries_under(table, level):
    """Every present entry of the tree under table, with its level."""
    found = []
    for i in range(512):
        entry = rawmem.load_u64(HHDM + table + 8 * i)
        if paging.fmt.is_present(entry):
            found.append((entry, level))
            if level > 1 and (level == 4 or not paging.fmt.is_block(entry)):
                found.extend(entries_under(paging.fmt.table_address(entry), level - 1))
    return found


@pytest.mark.formats('riscv64')
def test_riscv_reserved_bits_stay_zero_in_every_entry_the_walker_writes(pte_format):
    frames = make_world(frames=64)
    try:
        pml4 = paging.create_address_space(frames)
        flags = PAGE_WRITE | PAGE_NO_EXECUTE
        assert paging.map(pml4, 0x1000, 0x9000, PAGE_USER | flags, frames) == 0
        assert paging.map_range(pml4, 0x200000, 0x400000, 2 * LARGE_PAGE_SIZE,
                                flags | PAGE_ALLOW_LARGE, frames) == 0
        assert paging.map_frames(pml4, 0x7f0000000000, frame_list([0xa000, 0xb000]), 2,
                                 PAGE_USER | PAGE_UNCACHED, frames) == 0
        assert paging.map(pml4, KERNEL, 0xc000, PAGE_GLOBAL | PAGE_WRITE_COMBINING, frames) == 0
        assert paging.protect(pml4, 0x200000, PAGE_WRITE) == 0
        assert paging.protect(pml4, KERNEL, PAGE_GLOBAL | PAGE_NO_EXECUTE) == 0
        assert paging.unmap(pml4, 0x1000, frames) == 0
        entries = entries_under(pml4, 4)
        assert len(entries) >= 10
        for entry, level in entries:
            assert entry & R.RESERVED_MASK == 0, hex(entry)
            if level > 1 and not (level < 4 and R.is_block(entry)):
                # a non-leaf: only V, and the PPN
                assert entry & 0x3ff == R.PTE_V, hex(entry)
    finally:
        paging.set_hhdm_offset(0)


# ------------------------------------------------------------ loongarch64

L = loongarch64


def test_loongarch_user_rw_nx_page():
    assert L.leaf(PHYS, bits_at(L, USER_RW_NX, 1)) == (
        PHYS | 1 | (1 << 1) | (3 << 2) | (1 << 4) | (1 << 7) | (1 << 8) | (1 << 62))


def test_loongarch_kernel_text_page_is_plv0_global_cached():
    assert bits_at(L, KERNEL_RO_X_GLOBAL, 1) == 1 | (1 << 4) | (1 << 6) | (1 << 7)


def test_loongarch_huge_leaves_move_global_to_bit_12():
    assert bits_at(L, KERNEL_RW_NX_GLOBAL, 2) == (
        1 | (1 << 1) | (1 << 4) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 12) | (1 << 62))
    assert bits_at(L, PAGE_WRITE, 3) & ((1 << 6) | (1 << 12)) == 1 << 6       # huge, not global
    assert L.leaf_address(L.leaf(LARGE_PHYS, bits_at(L, PAGE_GLOBAL, 2)), 2) == LARGE_PHYS


def test_loongarch_cache_modes_and_directory_entries():
    assert bits_at(L, PAGE_UNCACHED, 1) & (3 << 4) == 0 << 4           # strongly-ordered UC
    assert bits_at(L, PAGE_WRITE_COMBINING, 1) & (3 << 4) == 2 << 4    # weakly-ordered UC
    assert bits_at(L, 0, 1) & (3 << 4) == 1 << 4                      # coherent cached
    assert L.table_entry(TABLE, True) == L.table_entry(TABLE, False) == TABLE
    assert bits_at(L, USER_RW_NX, 1) & (L.PTE_NR | L.PTE_RPLV) == 0


def test_loongarch_page_walk_controllers_describe_4_levels_of_9_bits():
    fields = [(L.PWCL_VALUE >> shift) & 31 for shift in (0, 5, 10, 15, 20, 25)]
    assert fields == [12, 9, 21, 9, 30, 9]
    assert (L.PWCH_VALUE & 63, (L.PWCH_VALUE >> 6) & 63) == (39, 9)
