"""Copies between kernel and user memory (elyz.mm.usercopy).

User memory in simulated memory: untranslated, the copy (usercopy's
emulation of elyz_user_copy) reads and writes rawmem at the user virtual
address itself, and tests/obj/conftest.py's world backs only the HHDM.  So
a user page here is mapped in a process's space (api.allocate + api.map:
the kernel checks the active space's page tables) and mirrored
(tests/kernel/conftest.py: the simulated page at the user address is the
very frame behind it).  A page mapped but not mirrored faults inside the
copy: the fault-and-fixup path of a page that went away."""

import pytest

from elyz.abi import limits
from elyz.abi.errors import E_FAULT
from elyz.abi.rights import PROT_READ
from elyz.mm import address_space, paging, protection, usercopy
from elyz.mm.pmm import pmm
from elyz.obj import api, process
from elyz.rlib_kernel import cpu, rawmem
from tests.kernel.conftest import give_user_memory, read_bytes, write_bytes
from tests.obj.conftest import HHDM, make_world, reset_objects

PAGE = limits.PAGE_SIZE
START = limits.USER_START
END = limits.USER_END
UBUF = 0x10000000                       # two user pages, read-write
RO = 0x10100000                         # a read-only user page
KBUF = HHDM + 0x20000000                # kernel memory, outside the RAM the PMM hands out
MAXW = (1 << 63) - 1


# ------------------------------------------------------------ user_range_ok

@pytest.mark.parametrize('addr, length', [
    (START, 0), (START, 1), (START, END - START), (END - 1, 1), (END - PAGE, PAGE),
    (END, 0), (0x400000, 4096), (0x700000000000, 16)])
def test_user_range_ok_accepts_ranges_inside_the_user_half(addr, length):
    assert usercopy.user_range_ok(addr, length)


@pytest.mark.parametrize('addr, length', [
    (0, 0), (0, 1), (START - 1, 1), (START - 1, 2), (END, 1), (END - 1, 2),
    (START, END - START + 1), (END + 1, 0), (START, -1), (UBUF, -PAGE),
    (START, MAXW), (END - 8, MAXW), (UBUF, MAXW - UBUF + 1),
    (rawmem.to_word(0xffff800000000000), 8), (rawmem.to_word(0xffffffff80000000), 0),
    (-1, 1), (-PAGE, 2 * PAGE), (0x0000800000000000, 8), (MAXW, 1), (MAXW, 0)])
def test_user_range_ok_refuses_ranges_outside_it_or_overflowing(addr, length):
    assert not usercopy.user_range_ok(addr, length)


# ------------------------------------------------------------ the copies

@pytest.fixture
def machine(monkeypatch):
    """A process whose space is active, with UBUF (2 pages RW) and RO (1 page
    read-only) mapped and mirrored; records every call of the copy
    primitive and the state of RFLAGS.AC during it."""
    make_world()
    proc = process.get(api.spawn(None, 0))
    give_user_memory(proc, UBUF, 2)
    give_user_memory(proc, RO, 1, prot=PROT_READ)
    rawmem.simulated().add_region(KBUF, 2 * PAGE)
    address_space.activate(proc.space)
    calls = []
    real = usercopy._user_copy

    def user_copy(dst, src, n):
        calls.append((dst, src, n, cpu.emulated().ac))
        return real(dst, src, n)

    monkeypatch.setattr(usercopy, '_user_copy', user_copy)
    proc.calls = calls
    yield proc
    reset_objects()
    pmm.reset()
    paging.set_hhdm_offset(0)
    protection.reset_for_tests()


def smap_on():
    c = cpu.emulated()
    c.cpuid_values[(protection.CPUID_MAX_LEAF, 0)] = (protection.CPUID_STRUCTURED_FEATURES,
                                                      0, 0, 0)
    c.cpuid_values[(protection.CPUID_STRUCTURED_FEATURES, 0)] = \
        (0, protection.CPUID_EBX_SMAP, 0, 0)
    protection.enable()
    assert protection.smap_enabled()


def test_copy_from_user_copies_the_bytes(machine):
    write_bytes(UBUF + 100, 'user data')
    write_bytes(KBUF, 'x' * 16)
    assert usercopy.copy_from_user(KBUF, UBUF + 100, 9) == 0
    assert read_bytes(KBUF, 16) == 'user data' + 'x' * 7


def test_copy_to_user_copies_the_bytes(machine):
    write_bytes(KBUF, 'kernel says hi')
    assert usercopy.copy_to_user(UBUF + PAGE - 5, KBUF, 14) == 0     # across the pages
    assert read_bytes(UBUF + PAGE - 5, 14) == 'kernel says hi'


def test_the_copy_reaches_the_frames_the_process_mapped(machine):
    write_bytes(KBUF, 'abc')
    assert usercopy.copy_to_user(UBUF + 8, KBUF, 3) == 0
    phys = address_space.translate(machine.space, UBUF)
    assert read_bytes(HHDM + phys + 8, 3) == 'abc'


def test_a_length_of_0_copies_nothing_and_succeeds(machine):
    assert usercopy.copy_from_user(KBUF, UBUF, 0) == 0
    assert usercopy.copy_to_user(UBUF, KBUF, 0) == 0
    assert usercopy.copy_to_user(0x30000000, KBUF, 0) == 0          # not even mapped
    assert machine.calls == []


@pytest.mark.parametrize('user', [KBUF, rawmem.to_word(0xffffffff80000000), 0,
                                  START - 8, END - 4])
def test_copy_from_user_refuses_a_pointer_outside_the_user_half_untouched(machine, user):
    write_bytes(KBUF + 0x100, 'k' * 32)
    assert usercopy.copy_from_user(KBUF + 0x100, user, 32) == E_FAULT
    assert read_bytes(KBUF + 0x100, 32) == 'k' * 32
    assert machine.calls == []


@pytest.mark.parametrize('user', [KBUF, rawmem.to_word(0xffffffff80000000), 0,
                                  START - 8, END - 4])
def test_copy_to_user_refuses_a_pointer_outside_the_user_half_untouched(machine, user):
    write_bytes(KBUF, 'secret' * 4)
    write_bytes(KBUF + 0x100, 'K' * 24)
    assert usercopy.copy_to_user(user, KBUF + 0x100, 24) == E_FAULT
    assert read_bytes(KBUF, 24) == 'secret' * 4
    assert machine.calls == []


def test_a_pointer_outside_the_user_half_is_refused_even_for_0_bytes(machine):
    assert usercopy.copy_from_user(KBUF, KBUF + 8, 0) == E_FAULT
    assert usercopy.copy_to_user(KBUF + 8, KBUF, 0) == E_FAULT


def test_a_range_running_onto_an_unmapped_page_is_refused_before_copying(machine):
    write_bytes(KBUF, 'z' * 64)
    write_bytes(UBUF + 2 * PAGE - 32, 'u' * 32)
    assert usercopy.copy_from_user(KBUF, UBUF + 2 * PAGE - 32, 64) == E_FAULT
    assert read_bytes(KBUF, 64) == 'z' * 64
    assert usercopy.copy_to_user(UBUF + 2 * PAGE - 32, KBUF, 64) == E_FAULT
    assert read_bytes(UBUF + 2 * PAGE - 32, 32) == 'u' * 32
    assert machine.calls == []


def test_copy_to_user_refuses_a_read_only_page_and_copy_from_user_reads_it(machine):
    write_bytes(RO, 'read only')
    write_bytes(KBUF, 'W' * 9)
    assert usercopy.copy_to_user(RO, KBUF, 9) == E_FAULT
    assert read_bytes(RO, 9) == 'read only'
    assert usercopy.copy_from_user(KBUF, RO, 9) == 0
    assert read_bytes(KBUF, 9) == 'read only'


def test_only_the_active_space_counts(machine):
    other = process.get(api.spawn(None, 0))
    give_user_memory(other, 0x20000000, 1)
    assert usercopy.copy_from_user(KBUF, 0x20000000, 8) == E_FAULT
    address_space.activate(other.space)
    assert usercopy.copy_from_user(KBUF, 0x20000000, 8) == 0
    assert usercopy.copy_from_user(KBUF, UBUF, 8) == E_FAULT


def test_a_fault_midway_returns_e_fault_and_never_raises(machine):
    proc = machine
    give_user_memory(proc, 0x30000000, 2, mirrored=[0])   # the second page "went away"
    write_bytes(0x30000000 + PAGE - 4, 'abcd')
    write_bytes(KBUF, '.' * 8)
    assert usercopy.copy_from_user(KBUF, 0x30000000 + PAGE - 4, 8) == E_FAULT
    assert read_bytes(KBUF, 8) == 'abcd....'                 # the fixup stops the copy
    assert usercopy.copy_to_user(0x30000000 + PAGE - 4, KBUF, 8) == E_FAULT
    assert len(machine.calls) == 2


# ------------------------------------------------------------ SMAP

def test_with_smap_the_window_is_open_during_the_copy_only(machine):
    smap_on()
    assert not cpu.emulated().ac
    assert usercopy.copy_from_user(KBUF, UBUF, 16) == 0
    assert usercopy.copy_to_user(UBUF, KBUF, 16) == 0
    assert [call[3] for call in machine.calls] == [True, True]
    assert not cpu.emulated().ac


def test_with_smap_the_window_closes_after_a_fault_midway(machine):
    give_user_memory(machine, 0x30000000, 2, mirrored=[0])
    smap_on()
    assert usercopy.copy_from_user(KBUF, 0x30000000 + PAGE - 4, 8) == E_FAULT
    assert machine.calls[-1][3] is True and not cpu.emulated().ac


def test_a_refused_pointer_never_opens_the_window(machine, monkeypatch):
    smap_on()
    opened = []
    monkeypatch.setattr(cpu, 'stac', lambda: opened.append(1))
    assert usercopy.copy_from_user(KBUF, KBUF + 8, 8) == E_FAULT
    assert usercopy.copy_to_user(0x30000000, KBUF, 8) == E_FAULT
    assert usercopy.copy_to_user(RO, KBUF, 8) == E_FAULT
    assert opened == [] and not cpu.emulated().ac


def test_without_smap_stac_and_clac_are_never_executed(machine, monkeypatch):
    executed = []
    monkeypatch.setattr(cpu, 'stac', lambda: executed.append('stac'))
    monkeypatch.setattr(cpu, 'clac', lambda: executed.append('clac'))
    assert not protection.smap_enabled()
    assert usercopy.copy_from_user(KBUF, UBUF, 16) == 0
    assert usercopy.copy_to_user(UBUF, KBUF, 16) == 0
    assert executed == [] and [call[3] for call in machine.calls] == [False, False]
