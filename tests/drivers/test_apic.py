"""The local APIC over simulated memory: enable, EOI, calibration, periodic timer."""

import pytest

from elyz.boot.bootinfo import boot_info
from elyz.drivers import apic, pit
from elyz.rlib_kernel import cpu, ports, rawmem

HHDM = 0xffff800000000000
APIC_PHYS = 0xFEE00000
APIC_VIRT = rawmem.to_word(HHDM + APIC_PHYS)
QEMU_COUNTS_PER_SECOND = 62500000      # 1 GHz APIC bus / 16
CALIBRATION_COUNTS = QEMU_COUNTS_PER_SECOND * apic.CALIBRATION_MS // 1000


def reg(offset):
    return rawmem.load_u32(APIC_VIRT + offset)


def set_reg(offset, value):
    rawmem.store_u32(APIC_VIRT + offset, value)


def install_apic(emulated_cpu, msr=APIC_PHYS | apic.APIC_BASE_ENABLE | apic.APIC_BASE_BSP):
    emulated_cpu.cpuid_values[(1, 0)] = (0, 0, 0, apic.CPUID_EDX_APIC)
    emulated_cpu.msrs[apic.MSR_APIC_BASE] = msr


@pytest.fixture
def machine():
    """A CPU with an xAPIC at 0xfee00000, reached through the HHDM."""
    memory = rawmem.simulate()
    memory.add_region(APIC_VIRT, 4096)
    emulated_cpu = cpu.emulate()
    install_apic(emulated_cpu)
    fake_ports = ports.emulate()
    fake_ports.values[pit.PORT_B] = pit.PORT_B_OUT2     # the PIT one-shot ends at once
    saved_hhdm = boot_info.hhdm_offset
    boot_info.hhdm_offset = rawmem.to_word(HHDM)
    apic.reset_for_tests()
    yield emulated_cpu, fake_ports
    apic.reset_for_tests()
    boot_info.hhdm_offset = saved_hhdm
    cpu.emulate()
    ports.emulate()


def test_mmio_address_is_physical_plus_the_direct_map_offset(machine):
    assert apic.mmio_address(APIC_PHYS) == APIC_VIRT


def test_register_page_is_where_init_will_reach_the_registers(machine):
    emulated_cpu, _ = machine
    assert apic.register_page() == APIC_VIRT
    emulated_cpu.msrs[apic.MSR_APIC_BASE] |= apic.APIC_BASE_X2APIC
    assert apic.register_page() == 0                       # MSRs: no page to touch
    emulated_cpu.cpuid_values[(1, 0)] = (0, 0, 0, 0)
    assert apic.register_page() == 0


def test_a_register_page_that_cannot_be_mapped_is_refused(machine, monkeypatch):
    monkeypatch.setattr(apic, 'mmio_address', lambda phys: 0)     # 0: cannot be mapped
    assert apic.register_page() == 0
    assert apic.init() == apic.E_NOT_MAPPED
    assert apic.start_timer(100) == apic.E_NOT_ENABLED


def test_init_enables_the_apic_through_the_spurious_vector_register(machine):
    assert apic.init() == 0
    assert reg(apic.REG_SPURIOUS) == (1 << 8) | 0xFF
    assert reg(apic.REG_TASK_PRIORITY) == 0
    assert reg(apic.REG_LVT_ERROR) == apic.ERROR_VECTOR


def test_init_sets_the_global_enable_bit_when_firmware_left_it_clear(machine):
    emulated_cpu, _ = machine
    emulated_cpu.msrs[apic.MSR_APIC_BASE] = APIC_PHYS | apic.APIC_BASE_BSP
    assert apic.init() == 0
    assert emulated_cpu.msrs[apic.MSR_APIC_BASE] == APIC_PHYS | apic.APIC_BASE_BSP | (1 << 11)


def test_init_without_an_apic_fails_and_touches_nothing(machine):
    emulated_cpu, _ = machine
    emulated_cpu.cpuid_values[(1, 0)] = (0, 0, 0, 0)
    assert apic.init() == apic.E_NO_APIC
    assert reg(apic.REG_SPURIOUS) == 0
    assert apic.start_timer(100) == apic.E_NOT_ENABLED


def test_eoi_writes_zero_to_the_eoi_register(machine):
    apic.init()
    set_reg(apic.REG_EOI, 0xDEAD)
    apic.eoi()
    assert reg(apic.REG_EOI) == 0


def test_in_service_reads_the_vector_bit_of_the_isr(machine):
    apic.init()
    set_reg(apic.REG_ISR_BASE + 0x10, 1 << (0x30 - 32))
    assert apic.in_service(0x30)
    assert not apic.in_service(0x31)
    assert not apic.in_service(0x50)


def test_calibration_counts_timer_ticks_over_a_pit_one_shot(machine):
    _, fake_ports = machine
    apic.init()
    set_reg(apic.REG_TIMER_CURRENT, 0xFFFFFFFF - CALIBRATION_COUNTS)
    assert apic.calibrate_timer() == 0
    assert apic.timer_counts_per_second() == QEMU_COUNTS_PER_SECOND
    assert reg(apic.REG_TIMER_DIVIDE) == 0x3                   # divide by 16
    assert reg(apic.REG_LVT_TIMER) == (1 << 16) | apic.TIMER_VECTOR   # masked
    assert reg(apic.REG_TIMER_INITIAL) == 0                    # stopped again
    count = pit.count_for_ms(apic.CALIBRATION_MS)
    assert [(p, v) for p, s, v in fake_ports.writes if p in (0x42, 0x43)] == [
        (0x43, 0xB0), (0x42, count & 0xFF), (0x42, count >> 8)]


def test_calibration_without_a_pit_fails_and_stops_the_timer(machine, monkeypatch):
    _, fake_ports = machine
    monkeypatch.setattr(pit, 'SPIN_LIMIT', 10)
    fake_ports.values[pit.PORT_B] = 0
    apic.init()
    assert apic.calibrate_timer() == apic.E_NO_PIT
    assert reg(apic.REG_TIMER_INITIAL) == 0
    assert apic.timer_counts_per_second() == 0


def test_calibration_of_a_timer_that_never_counts_fails(machine):
    apic.init()
    set_reg(apic.REG_TIMER_CURRENT, 0xFFFFFFFF)
    assert apic.calibrate_timer() == apic.E_TIMER_STOPPED


def test_start_timer_programs_periodic_mode_at_the_requested_rate(machine):
    apic.init()
    set_reg(apic.REG_TIMER_CURRENT, 0xFFFFFFFF - CALIBRATION_COUNTS)
    assert apic.start_timer(100) == 0
    assert reg(apic.REG_LVT_TIMER) == (1 << 17) | apic.TIMER_VECTOR   # periodic, unmasked
    assert reg(apic.REG_TIMER_DIVIDE) == 0x3
    assert reg(apic.REG_TIMER_INITIAL) == QEMU_COUNTS_PER_SECOND // 100


def test_start_timer_rejects_a_rate_the_timer_cannot_reach(machine):
    apic.init()
    set_reg(apic.REG_TIMER_CURRENT, 0xFFFFFFFF - CALIBRATION_COUNTS)
    assert apic.start_timer(0) == apic.E_BAD_RATE
    assert apic.start_timer(QEMU_COUNTS_PER_SECOND * 2) == apic.E_BAD_RATE


def test_stop_timer_masks_and_zeroes_the_count(machine):
    apic.init()
    set_reg(apic.REG_TIMER_CURRENT, 0xFFFFFFFF - CALIBRATION_COUNTS)
    apic.start_timer(100)
    apic.stop_timer()
    assert reg(apic.REG_LVT_TIMER) & (1 << 16)
    assert reg(apic.REG_TIMER_INITIAL) == 0


def test_error_interrupt_latches_and_reads_the_error_status(machine):
    apic.init()
    set_reg(apic.REG_ERROR_STATUS, 0x40)
    assert apic.acknowledge_error() == 0          # the write of 0 landed first
    assert reg(apic.REG_ERROR_STATUS) == 0


def test_x2apic_mode_reaches_registers_through_msrs(machine):
    emulated_cpu, _ = machine
    install_apic(emulated_cpu, APIC_PHYS | apic.APIC_BASE_ENABLE | apic.APIC_BASE_X2APIC)
    assert apic.init() == 0
    assert emulated_cpu.msrs[0x80F] == (1 << 8) | 0xFF     # spurious vector register
    apic.eoi()
    assert emulated_cpu.msrs[0x80B] == 0
    assert reg(apic.REG_SPURIOUS) == 0                     # no MMIO access at all
