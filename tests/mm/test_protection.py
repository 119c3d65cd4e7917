"""The CPU's protection switches (elyz.mm.protection) on the emulated CPU."""

import pytest

from elyz.lib import log
from elyz.mm import protection
from elyz.rlib_kernel import cpu


def make_cpu(smep, smap, pge=True):
    emulated = cpu.emulate()
    emulated.cr0 = 0x80000011               # PG, ET, PE: what a bootloader leaves
    emulated.cr4 = protection.CR4_PAE | protection.CR4_PGE     # Limine may leave PGE on
    ebx = (protection.CPUID_EBX_SMEP if smep else 0) | (protection.CPUID_EBX_SMAP if smap else 0)
    emulated.cpuid_values[(protection.CPUID_MAX_LEAF, 0)] = (0xd, 0, 0, 0)
    emulated.cpuid_values[(protection.CPUID_FEATURES, 0)] = \
        (0, 0, 0, protection.CPUID_EDX_PGE if pge else 0)
    emulated.cpuid_values[(protection.CPUID_STRUCTURED_FEATURES, 0)] = (0, ebx, 0, 0)
    return emulated


@pytest.fixture(autouse=True)
def clean():
    log.reset_for_tests()
    protection.reset_for_tests()
    yield
    protection.reset_for_tests()
    cpu.emulate()


def test_enable_sets_write_protect_and_global_pages_and_smep_and_smap_where_supported():
    emulated = make_cpu(smep=True, smap=True)
    protection.enable()
    assert emulated.cr0 & protection.CR0_WP
    assert emulated.cr0 & protection.CR0_PG
    for bit in (protection.CR4_PAE, protection.CR4_PGE, protection.CR4_SMEP,
                protection.CR4_SMAP):
        assert emulated.cr4 & bit
    assert protection.smap_enabled()
    assert any('SMEP on; SMAP on' in line for line in log.captured)


def test_enable_leaves_smep_and_smap_off_on_a_cpu_without_them():
    emulated = make_cpu(smep=False, smap=False)
    protection.enable()
    assert emulated.cr0 & protection.CR0_WP
    assert emulated.cr4 & protection.CR4_PGE
    assert not emulated.cr4 & (protection.CR4_SMEP | protection.CR4_SMAP)
    assert not protection.smap_enabled()
    assert protection.expected_cr4_bits() == protection.CR4_PAE | protection.CR4_PGE


def test_a_cpu_without_leaf_7_has_neither():
    emulated = make_cpu(smep=True, smap=True)
    emulated.cpuid_values[(protection.CPUID_MAX_LEAF, 0)] = (6, 0, 0, 0)
    assert not protection.smep_supported() and not protection.smap_supported()


def test_enable_clears_pge_first_to_flush_the_bootloaders_global_entries(monkeypatch):
    make_cpu(smep=False, smap=False)
    writes = []
    real = cpu.write_cr4
    monkeypatch.setattr(cpu, 'write_cr4', lambda v: (writes.append(v), real(v)))
    protection.enable()
    assert len(writes) == 2
    assert not writes[0] & protection.CR4_PGE and writes[1] & protection.CR4_PGE


def test_user_access_window_uses_stac_and_clac_only_with_smap():
    emulated = make_cpu(smep=True, smap=True)
    protection.enable()
    protection.user_access_begin()
    assert emulated.ac
    protection.user_access_end()
    assert not emulated.ac


def test_user_access_window_executes_nothing_without_smap(monkeypatch):
    make_cpu(smep=False, smap=False)
    protection.enable()
    monkeypatch.setattr(cpu, '_stac', lambda: pytest.fail('stac is #UD without SMAP'))
    monkeypatch.setattr(cpu, '_clac', lambda: pytest.fail('clac is #UD without SMAP'))
    protection.user_access_begin()
    protection.user_access_end()
