"""Device register access: emulated over simulated memory, valid RPython."""

import pytest

from elyz.rlib_kernel import mmio, rawmem
from tests.support import rpycheck

BASE = 0xFEE00000


@pytest.fixture
def memory():
    memory = rawmem.simulate()
    memory.add_region(BASE, 0x1000)
    return memory


def test_writes_land_in_simulated_memory_with_their_width(memory):
    mmio.write32(BASE + 0x10, 0x1122334455)
    mmio.write8(BASE + 0x20, 0x1FF)
    mmio.write16(BASE + 0x30, 0x12345)
    mmio.write64(BASE + 0x40, -1)
    assert rawmem.load_u32(BASE + 0x10) == 0x22334455
    assert rawmem.load_u8(BASE + 0x14) == 0
    assert rawmem.load_u8(BASE + 0x20) == 0xFF
    assert rawmem.load_u16(BASE + 0x30) == 0x2345
    assert rawmem.load_u64(BASE + 0x40) == -1


def test_reads_zero_extend(memory):
    rawmem.store_u64(BASE, -1)
    assert mmio.read8(BASE) == 0xFF
    assert mmio.read16(BASE) == 0xFFFF
    assert mmio.read32(BASE) == 0xFFFFFFFF
    assert mmio.read64(BASE) == -1


def test_an_access_outside_simulated_memory_is_caught(memory):
    with pytest.raises(rawmem.SimulatedFault):
        mmio.read32(BASE + 0x1000)


def registers(addr):
    mmio.write8(addr, 1)
    mmio.write16(addr, 2)
    mmio.write32(addr, 3)
    mmio.write64(addr, 4)
    return mmio.read8(addr) + mmio.read16(addr) + mmio.read32(addr) + mmio.read64(addr)


def test_mmio_is_valid_freestanding_rpython():
    rpycheck.rtype([(registers, [int])])
