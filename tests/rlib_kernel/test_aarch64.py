"""The aarch64 machine module, untranslated: trap frames and a GICv2
(distributor and CPU interface) in simulated memory, the emulated generic
timer, translation table bases and semihosting."""

import pytest

from elyz.rlib_kernel import aarch64, portframe, rawmem
from elyz.rlib_kernel.ports_common import (TRAP_OTHER, TRAP_TIMER, TRAP_BREAKPOINT,
                                           TRAP_PAGE_FAULT, TRAP_EXTERNAL)
from tests.support import portarch

FRAME = rawmem.to_word(0xffffffff80300000)
HHDM = rawmem.to_word(0xffff800000000000)
GIC_DIST = HHDM + 0x08000000                        # QEMU virt's GICv2
GIC_CPU = HHDM + 0x08010000
PC = rawmem.to_word(0xffffffff80201234)
ESR_IL = 1 << 25                                    # a 32-bit instruction
EOIR_UNTOUCHED = 0xDEADBEEF


def esr(ec, iss=0):
    return (ec << aarch64.ESR_EC_SHIFT) | ESR_IL | iss


@pytest.fixture
def a64(monkeypatch):
    memory = rawmem.simulate()
    memory.add_region(FRAME, portframe.FRAME_SIZE)
    memory.add_region(GIC_DIST, aarch64.GIC_WINDOW)
    memory.add_region(GIC_CPU, aarch64.GIC_WINDOW)
    emulated = aarch64.emulate()
    monkeypatch.setattr(aarch64, '_irq', aarch64._Interrupts())
    rawmem.store_u32(GIC_CPU + aarch64.GICC_EOIR, EOIR_UNTOUCHED)
    yield emulated
    aarch64.emulate()


def make_frame(cause, pc=PC, far=0):
    return portarch.write_frame(FRAME, cause, pc, far, status=0x3c5)    # EL1h, DAIF masked


def irq_frame():
    return make_frame(aarch64.CAUSE_IRQ)


def start_timer(hz=100):
    assert aarch64.timer_start(hz, 0, GIC_DIST, GIC_CPU) == 0


def eoir():
    return rawmem.load_u32(GIC_CPU + aarch64.GICC_EOIR)


def set_iar(value):
    rawmem.store_u32(GIC_CPU + aarch64.GICC_IAR, value)


# ------------------------------------------------------------ C side

def test_the_frame_offsets_and_the_irq_marker_are_those_of_boot_h():
    defines = portarch.header_defines('aarch64')
    assert (portframe.PC, portframe.STATUS, portframe.CAUSE, portframe.FAULT_ADDRESS,
            portframe.FRAME_SIZE) == (defines['FRAME_PC'], defines['FRAME_STATUS'],
                                      defines['FRAME_CAUSE'], defines['FRAME_FAULT'],
                                      defines['FRAME_SIZE'])
    assert aarch64.CAUSE_IRQ == rawmem.to_word(defines['FRAME_CAUSE_IRQ'])


def test_every_primitive_the_module_calls_is_defined_by_arch_aarch64():
    missing = portarch.llexternal_names(aarch64) - portarch.c_functions('aarch64')
    assert missing == set()


# ------------------------------------------------------- interrupts

def test_an_irq_with_iar_27_is_the_timer_and_is_not_ended_before_the_acknowledge(a64):
    start_timer()
    set_iar(aarch64.VIRTUAL_TIMER_PPI)
    assert aarch64.classify(irq_frame()) == TRAP_TIMER
    assert eoir() == EOIR_UNTOUCHED
    aarch64.timer_acknowledge()
    assert eoir() == aarch64.VIRTUAL_TIMER_PPI


def test_another_interrupt_is_external_and_ended_with_the_full_iar_value(a64):
    start_timer()
    iar = (3 << 10) | 5                 # SGI 5 from CPU 3: EOIR wants the source bits too
    set_iar(iar)
    assert aarch64.classify(irq_frame()) == TRAP_EXTERNAL
    assert eoir() == iar


def test_a_spurious_interrupt_is_external_and_gets_no_end_of_interrupt(a64):
    start_timer()
    set_iar(aarch64.GIC_SPURIOUS)
    assert aarch64.classify(irq_frame()) == TRAP_EXTERNAL
    assert eoir() == EOIR_UNTOUCHED


def test_an_irq_before_the_gic_is_set_up_touches_no_register(a64):
    rawmem.simulate().add_region(FRAME, portframe.FRAME_SIZE)   # no GIC in memory at all
    assert aarch64.classify(irq_frame()) == TRAP_EXTERNAL


# -------------------------------------------------------- exceptions

@pytest.mark.parametrize('cause, kind', [
    (esr(aarch64.EC_BRK), TRAP_BREAKPOINT),
    (esr(aarch64.EC_DATA_ABORT, 0x07), TRAP_PAGE_FAULT),            # translation fault L3
    (esr(aarch64.EC_DATA_ABORT_LOWER, 0x07), TRAP_PAGE_FAULT),
    (esr(aarch64.EC_INSTRUCTION_ABORT, 0x0F), TRAP_PAGE_FAULT),     # permission fault L3
    (esr(aarch64.EC_INSTRUCTION_ABORT_LOWER, 0x07), TRAP_PAGE_FAULT),
    (esr(0x00), TRAP_OTHER),                                        # unknown reason
    (esr(0x15), TRAP_OTHER),                                        # SVC
    (esr(0x22), TRAP_OTHER),                                        # pc alignment
    (esr(0x26), TRAP_OTHER),                                        # sp alignment
    (esr(0x2F), TRAP_OTHER),                                        # SError
    (esr(0x3F), TRAP_OTHER),                                        # unallocated
])
def test_classify_decodes_the_exception_class(a64, cause, kind):
    start_timer()
    set_iar(aarch64.VIRTUAL_TIMER_PPI)
    assert aarch64.classify(make_frame(cause)) == kind
    assert eoir() == EOIR_UNTOUCHED                 # exceptions never touch the GIC


def test_fault_address_is_far(a64):
    frame = make_frame(esr(aarch64.EC_DATA_ABORT), far=0xffff0000dead0008)
    assert aarch64.fault_address(frame) == rawmem.to_word(0xffff0000dead0008)


@pytest.mark.parametrize('cause, write', [
    (esr(aarch64.EC_DATA_ABORT, aarch64.ESR_WNR | 0x07), True),
    (esr(aarch64.EC_DATA_ABORT_LOWER, aarch64.ESR_WNR | 0x0F), True),
    (esr(aarch64.EC_DATA_ABORT, 0x07), False),
    (esr(aarch64.EC_INSTRUCTION_ABORT, aarch64.ESR_WNR | 0x07), False),   # bit 6 means nothing
    (esr(0x15, aarch64.ESR_WNR), False),
])
def test_only_a_data_abort_with_wnr_is_a_write(a64, cause, write):
    assert aarch64.fault_is_write(make_frame(cause)) is write


@pytest.mark.parametrize('ec, name', [
    (0x00, 'unknown reason'), (0x01, 'WFI/WFE trapped'), (0x0E, 'illegal execution state'),
    (0x15, 'SVC'), (0x18, 'system register access'), (0x20, 'instruction abort from EL0'),
    (0x21, 'instruction abort'), (0x22, 'pc alignment fault'), (0x24, 'data abort from EL0'),
    (0x25, 'data abort'), (0x26, 'sp alignment fault'), (0x2F, 'SError'), (0x3C, 'BRK'),
    (0x07, 'exception class 0x7'), (0x3F, 'exception class 0x3f'),
])
def test_cause_name_names_each_exception_class(a64, ec, name):
    assert aarch64.cause_name(make_frame(esr(ec, 0x1FFFFFF))) == name


def test_cause_name_of_an_interrupt_frame(a64):
    assert aarch64.cause_name(irq_frame()) == 'unexpected interrupt'


def test_skip_breakpoint_steps_over_the_4_byte_brk(a64):
    frame = make_frame(esr(aarch64.EC_BRK))
    aarch64.skip_breakpoint(frame)
    assert portframe.read(frame, portframe.PC) == PC + 4
    assert portframe.read(frame, portframe.REGISTER(30)) == 0x100 * 30


def test_breakpoint_is_recorded_by_the_emulation(a64):
    aarch64.breakpoint()
    assert a64.breakpoints == 1


# ------------------------------------------------------------- timer

def test_timer_start_programs_the_gic_and_the_virtual_timer(a64):
    prio = GIC_DIST + aarch64.GICD_IPRIORITYR
    rawmem.store_u32(prio + 24, 0x11111111)         # PPIs 24..27
    rawmem.store_u32(prio + 28, 0x22222222)         # PPIs 28..31
    start_timer(100)
    assert rawmem.load_u32(prio + 24) == 0xA0111111     # only PPI 27's byte
    assert rawmem.load_u32(prio + 28) == 0x22222222
    assert rawmem.load_u32(GIC_DIST + aarch64.GICD_ISENABLER0) == 1 << 27
    assert rawmem.load_u32(GIC_DIST + aarch64.GICD_CTLR) == 1
    assert rawmem.load_u32(GIC_CPU + aarch64.GICC_PMR) == 0xFF
    assert rawmem.load_u32(GIC_CPU + aarch64.GICC_CTLR) == 1
    assert a64.timer_tval == 62500000 // 100
    assert aarch64.counter_frequency() == 62500000


def test_the_interval_comes_from_cntfrq_not_the_timebase_argument(a64):
    a64.frequency = 24000000
    assert aarch64.timer_start(250, 10000000, GIC_DIST, GIC_CPU) == 0
    assert a64.timer_tval == 24000000 // 250


@pytest.mark.parametrize('hz, dist, cpu', [
    (0, GIC_DIST, GIC_CPU), (-1, GIC_DIST, GIC_CPU), (100, 0, GIC_CPU), (100, GIC_DIST, 0),
])
def test_timer_start_refuses_a_bad_rate_or_a_missing_gic_and_writes_nothing(a64, hz, dist,
                                                                             cpu):
    assert aarch64.timer_start(hz, 0, dist, cpu) == -1
    assert a64.timer_tval == -1
    assert rawmem.load_u32(GIC_DIST + aarch64.GICD_ISENABLER0) == 0
    assert rawmem.load_u32(GIC_CPU + aarch64.GICC_CTLR) == 0
    set_iar(aarch64.VIRTUAL_TIMER_PPI)
    assert aarch64.classify(irq_frame()) == TRAP_EXTERNAL     # no GIC recorded


def test_timer_acknowledge_rearms_the_next_interval(a64):
    start_timer(100)
    a64.timer_tval = 0                              # the timer fired
    set_iar(aarch64.VIRTUAL_TIMER_PPI)
    aarch64.classify(irq_frame())
    aarch64.timer_acknowledge()
    assert a64.timer_tval == 62500000 // 100


def test_counter_reads_cntvct(a64):
    a64.counter = 5000
    assert aarch64.counter() == 6000                # the emulation advances per read


# ---------------------------------------------------- address spaces

def test_activate_root_loads_both_translation_table_bases(a64):
    aarch64.activate_root(0x40345000)
    assert a64.root == 0x40345000
    assert aarch64.active_root() == 0x40345000


def test_activate_root_programs_the_kernels_mair_first(a64):
    # Limine leaves its own MAIR_EL1 (index 1: the framebuffer's type)
    a64.mair = 0xff | (0x0c << 8)
    aarch64.activate_root(0x40345000)
    assert a64.mair == aarch64.MAIR_VALUE == 0x4404ff


def test_activate_root_limits_ttbr0_to_the_user_half(a64):
    # Limine leaves T0SZ = 16: TTBR0 would reach root entries 256..511
    a64.t0sz = 16
    aarch64.activate_root(0x40345000)
    assert a64.t0sz == aarch64.T0SZ_USER_HALF == 17


def test_active_root_drops_the_asid_and_the_cnp_bit(a64):
    a64.root = rawmem.to_word((0xABCD << 48) | 0x40346000 | 1)
    assert aarch64.active_root() == 0x40346000


def test_invalidations_issue_tlbi(a64):
    aarch64.invalidate_page(rawmem.to_word(0xffff800000123000))
    aarch64.invalidate_all()
    assert a64.invalidated == [rawmem.to_word(0xffff800000123000)]
    assert a64.flushes == 1


# ---------------------------------------------------------- QEMU exit

@pytest.mark.parametrize('code', [0, 1, 2])
def test_exit_qemu_asks_semihosting_to_exit_with_the_code(a64, code):
    aarch64.exit_qemu(code, HHDM)
    assert a64.exit_code == code

