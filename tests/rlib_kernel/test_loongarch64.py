"""The loongarch64 machine module (elyz/rlib_kernel/loongarch64.py),
untranslated: what each trap frame is classified as, the breakpoint step,
the stable timer's programming, the roots and invalidations, the exit
write; and that the module is valid RPython.  The C behind it is
arch/loongarch64/ (booted by tests/toolchain/test_port_loongarch64.py)."""

import os
import re

import pytest

from elyz.rlib_kernel import loongarch64 as la
from elyz.rlib_kernel import portframe, rawmem
from elyz.rlib_kernel.ports_common import (TRAP_OTHER, TRAP_TIMER, TRAP_BREAKPOINT,
                                           TRAP_PAGE_FAULT, TRAP_EXTERNAL)
from tests.support import portarch, rpycheck

KARCH = 'loongarch64'
FRAME = 0x10000
HHDM = rawmem.to_word(0xffff800000000000)


@pytest.fixture
def machine():
    memory = rawmem.simulate()
    memory.add_region(FRAME, portframe.FRAME_SIZE)
    return la.emulate()


def estat(ecode, irq_bits=0, subcode=0):
    return (subcode << 22) | (ecode << la.ESTAT_ECODE_SHIFT) | irq_bits


def frame_with(cause, pc=0x1000, badv=0):
    portframe.write(FRAME, portframe.CAUSE, cause)
    portframe.write(FRAME, portframe.PC, pc)
    portframe.write(FRAME, portframe.FAULT_ADDRESS, badv)
    return FRAME


def test_the_timer_interrupt_is_the_tick(machine):
    assert la.classify(frame_with(estat(la.ECODE_INT, 1 << la.IRQ_TIMER))) == TRAP_TIMER


def test_a_hardware_interrupt_line_is_external(machine):
    assert la.classify(frame_with(estat(la.ECODE_INT, 1 << 2))) == TRAP_EXTERNAL


def test_an_interrupt_with_no_known_line_is_other(machine):
    assert la.classify(frame_with(estat(la.ECODE_INT, 1 << 12))) == TRAP_OTHER   # IPI
    assert la.cause_name(FRAME) == 'unexpected interrupt'


def test_break_is_a_breakpoint(machine):
    assert la.classify(frame_with(estat(la.ECODE_BRK))) == TRAP_BREAKPOINT
    assert la.cause_name(FRAME) == 'breakpoint'


def test_every_page_exception_is_a_page_fault_with_badv(machine):
    for code in range(la.ECODE_PIL, la.ECODE_PPI + 1):
        frame = frame_with(estat(code), badv=0x100000000000)
        assert la.classify(frame) == TRAP_PAGE_FAULT, code
        assert la.fault_address(frame) == 0x100000000000


def test_only_store_faults_are_writes(machine):
    assert la.fault_is_write(frame_with(estat(la.ECODE_PIS)))
    assert la.fault_is_write(frame_with(estat(la.ECODE_PME)))
    assert not la.fault_is_write(frame_with(estat(la.ECODE_PIL)))
    assert not la.fault_is_write(frame_with(estat(la.ECODE_PIF)))
    assert not la.fault_is_write(frame_with(estat(la.ECODE_PNX)))


def test_other_exceptions_are_named_and_not_handled(machine):
    frame = frame_with(estat(0xD))                  # INE
    assert la.classify(frame) == TRAP_OTHER
    assert la.cause_name(frame) == 'instruction not defined'
    frame = frame_with(estat(0x9))                  # ALE: an unaligned access
    assert la.classify(frame) == TRAP_OTHER
    assert la.cause_name(frame) == 'unaligned access'
    assert la.cause_name(frame_with(estat(0x3E))) == 'unknown exception'


def test_skip_breakpoint_steps_over_the_four_byte_break(machine):
    frame = frame_with(estat(la.ECODE_BRK), pc=rawmem.to_word(0xffffffff80201230))
    la.skip_breakpoint(frame)
    assert portframe.read(frame, portframe.PC) == rawmem.to_word(0xffffffff80201234)


def test_breakpoint_executes_break(machine):
    la.breakpoint()
    assert machine.breakpoints == 1


def test_the_counter_frequency_comes_from_cpucfg_4_and_5(machine):
    machine.cpucfg[la.CPUCFG_CC_FREQ] = 25000000
    machine.cpucfg[la.CPUCFG_CC_RATIO] = (2 << 16) | 8      # x8 / 2
    assert la.counter_frequency() == 100000000


def test_a_cpucfg_without_a_ratio_gives_no_frequency(machine):
    machine.cpucfg[la.CPUCFG_CC_RATIO] = 0
    assert la.cpu_counter_frequency() == 0
    assert la.timer_start(100, 0, 0, 0) == -1


def test_timer_start_programs_a_periodic_timer_and_enables_its_line(machine):
    assert la.timer_start(100, 0, 0, 0) == 0
    period = la.QEMU_COUNTER_FREQUENCY // 100
    assert machine.tcfg == period | la.TCFG_PERIODIC | la.TCFG_ENABLE
    assert machine.ecfg & (1 << la.IRQ_TIMER)
    assert la.timer_period() == period
    assert machine.timer_clears == 1            # a stale pending tick is dropped first


def test_the_boot_timebase_wins_over_cpucfg(machine):
    assert la.timer_start(100, 10000000, 0, 0) == 0
    assert la.counter_frequency() == 10000000
    assert machine.tcfg >> 2 == 100000 >> 2


def test_the_period_is_a_multiple_of_four(machine):
    assert la.timer_start(7, 0, 0, 0) == 0      # 100 MHz / 7 = 14285714
    assert machine.tcfg & ~3 == 14285712
    assert machine.tcfg & 3 == la.TCFG_PERIODIC | la.TCFG_ENABLE


def test_timer_start_refuses_a_non_positive_rate(machine):
    assert la.timer_start(0, 0, 0, 0) == -1
    assert machine.tcfg == 0


def test_timer_acknowledge_clears_the_interrupt(machine):
    la.timer_start(100, 0, 0, 0)
    la.timer_acknowledge()
    assert machine.timer_clears == 2


def test_counter_reads_the_stable_counter(machine):
    first = la.counter()
    assert la.counter() > first


def test_the_kernel_root_goes_to_pgdh_with_an_empty_lower_half(machine):
    la.activate_root(0x372000)              # the first: the kernel's
    assert (machine.pgdl, machine.pgdh) == (la.EMPTY_ROOT, 0x372000)
    assert machine.flushes == 1
    assert la.active_root() == 0x372000


def test_the_first_activation_closes_the_boot_window(machine):
    assert machine.boot_window_open
    la.activate_root(0x372000)
    assert not machine.boot_window_open


def test_an_address_error_is_a_memory_fault_at_badv(machine):
    frame = frame_with(estat(la.ECODE_ADE, subcode=1), badv=la.BOOT_WINDOW + 0x200000)
    assert la.classify(frame) == TRAP_PAGE_FAULT
    assert la.cause_name(frame) == 'address error'
    assert la.fault_address(frame) == la.BOOT_WINDOW + 0x200000


def test_a_process_root_goes_to_pgdl_and_the_kernel_stays_in_pgdh(machine):
    la.activate_root(0x372000)
    la.activate_root(0x555000)              # a process's space
    assert (machine.pgdl, machine.pgdh) == (0x555000, 0x372000)
    assert la.active_root() == 0x555000
    la.activate_root(0x372000)              # back to the kernel's
    assert (machine.pgdl, machine.pgdh) == (la.EMPTY_ROOT, 0x372000)
    assert machine.flushes == 3


def test_invalidations(machine):
    la.invalidate_page(rawmem.to_word(0xffffc00000000000))
    la.invalidate_all()
    assert machine.invalidated == [rawmem.to_word(0xffffc00000000000)]
    assert machine.flushes == 1


def test_exit_powers_off_through_the_ged(machine):
    memory = rawmem.simulated()
    memory.add_region(HHDM + la.GED_REGISTERS, 4)
    la.exit_qemu(0, HHDM)
    assert memory.load(HHDM + la.GED_REGISTERS, 1) == 0x34     # SLP_TYP 5 | SLP_EN


def test_the_exit_device_is_the_ged_page():
    assert la.EXIT_DEVICE == 0x100E001C and la.EXIT_DEVICE_SIZE == 0x1000
    assert la.INTC_WINDOW == 0


_DEFINE = re.compile(r'^#define\s+(\w+)\s+([0-9a-fA-Fx()*+|<< ]+?)\s*(?:/\*.*)?$', re.M)


def boot_h():
    """Returns {name: int} of boot.h's numeric #defines (hex, |, <<
    included, which tests/support/portarch.py does not read)."""
    with open(os.path.join(portarch.arch_dir(KARCH), 'boot.h')) as f:
        text = f.read()
    return dict((name, eval(value, {})) for name, value in _DEFINE.findall(text))


def test_boot_h_agrees_with_the_module():
    """arch/loongarch64/boot.h repeats the GED and the frame layout."""
    defines = boot_h()
    assert defines['ELYZ_VIRT_GED_REG'] == la.GED_REGISTERS
    assert defines['ELYZ_GED_SLEEP_S5'] == la.GED_SLEEP_POWER_OFF
    assert defines['FRAME_PC'] == portframe.PC
    assert defines['FRAME_STATUS'] == portframe.STATUS
    assert defines['FRAME_CAUSE'] == portframe.CAUSE
    assert defines['FRAME_FAULT'] == portframe.FAULT_ADDRESS
    assert defines['FRAME_SIZE'] == portframe.FRAME_SIZE


def test_the_boot_walker_configuration_is_the_page_formats():
    """boot.S programs PWCL/PWCH for the format the kernel's tables use."""
    from elyz.mm.pte import loongarch64 as pte
    defines = boot_h()
    assert defines['PWCL_VALUE'] == pte.PWCL_VALUE
    assert defines['PWCH_VALUE'] == pte.PWCH_VALUE
    ram = pte.block_bits(pte.PAGE_WRITE | pte.PAGE_GLOBAL, 2)
    assert defines['HUGE_RAM_BITS'] == ram
    assert defines['HUGE_MMIO_BITS'] == (ram & ~pte.PTE_MAT_MASK) | pte.PTE_MAT_SUC


def test_every_primitive_the_module_calls_is_defined_by_arch_loongarch64():
    missing = portarch.llexternal_names(la) - portarch.c_functions(KARCH)
    assert missing == set()


def _machine_entry(frame):
    kind = la.classify(frame)
    la.fault_is_write(frame)
    la.cause_name(frame)
    la.skip_breakpoint(frame)
    la.timer_start(100, 0, 0, 0)
    la.timer_acknowledge()
    la.activate_root(frame)
    la.invalidate_page(frame)
    la.invalidate_all()
    la.exit_qemu(0, frame)
    return kind + la.counter() + la.active_root() + la.fault_address(frame)


def test_the_module_is_valid_rpython():
    rpycheck.rtype([(_machine_entry, [int])])


def test_there_is_no_user_access_window(machine):
    la.user_access_begin()
    la.user_access_end()
