"""The riscv64 machine module, untranslated: trap frames in simulated memory
(laid out as portframe.py says), the emulated SBI timer, satp and sfence."""

import pytest

from elyz.rlib_kernel import portframe, rawmem, riscv64
from elyz.rlib_kernel.ports_common import (TRAP_OTHER, TRAP_TIMER, TRAP_BREAKPOINT,
                                           TRAP_PAGE_FAULT, TRAP_EXTERNAL)
from tests.support import portarch

FRAME = rawmem.to_word(0xffffffc000200000)
CODE = rawmem.to_word(0xffffffff80200000)          # where the trapped instructions lie
HHDM = rawmem.to_word(0xffffffd800000000)
INTERRUPT = 1 << 63
EBREAK = 0x00100073                                 # 32-bit ebreak
C_EBREAK = 0x9002                                   # 16-bit c.ebreak


@pytest.fixture
def rv(monkeypatch):
    memory = rawmem.simulate()
    memory.add_region(FRAME, portframe.FRAME_SIZE)
    memory.add_region(CODE, 0x1000)
    emulated = riscv64.emulate()
    monkeypatch.setattr(riscv64, '_timer', riscv64._Timer())
    yield emulated
    riscv64.emulate()


def make_frame(cause, pc=CODE, stval=0):
    return portarch.write_frame(FRAME, cause, pc, stval)


# ------------------------------------------------------------- the frame

def test_the_frame_offsets_are_those_of_boot_h():
    defines = portarch.header_defines('riscv64')
    assert (portframe.PC, portframe.STATUS, portframe.CAUSE, portframe.FAULT_ADDRESS,
            portframe.FRAME_SIZE) == (defines['FRAME_PC'], defines['FRAME_STATUS'],
                                      defines['FRAME_CAUSE'], defines['FRAME_FAULT'],
                                      defines['FRAME_SIZE'])
    assert portframe.REGISTER(31) + portframe.WORD <= portframe.PC


def test_every_primitive_the_module_calls_is_defined_by_arch_riscv64():
    missing = portarch.llexternal_names(riscv64) - portarch.c_functions('riscv64')
    assert missing == set()


def test_frame_words_round_trip_through_simulated_memory(rv):
    portframe.write(FRAME, portframe.CAUSE, rawmem.to_word(INTERRUPT | 5))
    assert portframe.read(FRAME, portframe.CAUSE) == rawmem.to_word(INTERRUPT | 5)
    assert rawmem.load_u64(FRAME + 272) == rawmem.to_word(INTERRUPT | 5)


# -------------------------------------------------------------- classify

@pytest.mark.parametrize('cause, kind', [
    (INTERRUPT | riscv64.IRQ_SUPERVISOR_TIMER, TRAP_TIMER),
    (INTERRUPT | riscv64.IRQ_SUPERVISOR_EXTERNAL, TRAP_EXTERNAL),
    (INTERRUPT | 1, TRAP_OTHER),                    # supervisor software interrupt
    (INTERRUPT | 3, TRAP_OTHER),                    # a breakpoint's code, but an interrupt
    (INTERRUPT | 13, TRAP_OTHER),                   # a page fault's code, but an interrupt
    (riscv64.EXC_BREAKPOINT, TRAP_BREAKPOINT),
    (riscv64.EXC_INSTRUCTION_PAGE_FAULT, TRAP_PAGE_FAULT),
    (riscv64.EXC_LOAD_PAGE_FAULT, TRAP_PAGE_FAULT),
    (riscv64.EXC_STORE_PAGE_FAULT, TRAP_PAGE_FAULT),
    (5, TRAP_OTHER),                                # load access fault (PMP)
    (7, TRAP_OTHER),                                # store access fault
    (2, TRAP_OTHER),                                # illegal instruction
    (9, TRAP_OTHER),                                # ecall from S-mode
    (riscv64.IRQ_SUPERVISOR_TIMER, TRAP_OTHER),     # code 5 without the interrupt bit
    (14, TRAP_OTHER),                               # reserved
    (24, TRAP_OTHER),                               # custom
])
def test_classify_decodes_every_cause(rv, cause, kind):
    assert riscv64.classify(make_frame(cause)) == kind


def test_fault_address_is_stval(rv):
    frame = make_frame(riscv64.EXC_LOAD_PAGE_FAULT, stval=0xffffffc0deadb000)
    assert riscv64.fault_address(frame) == rawmem.to_word(0xffffffc0deadb000)


@pytest.mark.parametrize('cause, write', [
    (riscv64.EXC_STORE_PAGE_FAULT, True),
    (riscv64.EXC_LOAD_PAGE_FAULT, False),
    (riscv64.EXC_INSTRUCTION_PAGE_FAULT, False),
    (7, False),
])
def test_only_a_store_page_fault_is_a_write(rv, cause, write):
    assert riscv64.fault_is_write(make_frame(cause)) is write


@pytest.mark.parametrize('cause, name', [
    (0, 'instruction address misaligned'), (1, 'instruction access fault'),
    (2, 'illegal instruction'), (3, 'breakpoint'), (4, 'load address misaligned'),
    (5, 'load access fault'), (6, 'store address misaligned'), (7, 'store access fault'),
    (8, 'environment call from U-mode'), (9, 'environment call from S-mode'),
    (10, 'reserved'), (11, 'reserved'), (12, 'instruction page fault'),
    (13, 'load page fault'), (14, 'reserved'), (15, 'store page fault'),
    (16, 'unknown exception'), (63, 'unknown exception'),
    (INTERRUPT | 5, 'unexpected interrupt'), (INTERRUPT | 9, 'unexpected interrupt'),
])
def test_cause_name_names_each_cause(rv, cause, name):
    assert riscv64.cause_name(make_frame(cause)) == name


# ----------------------------------------------------------- breakpoints

def test_skip_breakpoint_steps_over_a_4_byte_ebreak(rv):
    rawmem.store_u32(CODE + 0x10, EBREAK)
    frame = make_frame(riscv64.EXC_BREAKPOINT, pc=CODE + 0x10)
    riscv64.skip_breakpoint(frame)
    assert portframe.read(frame, portframe.PC) == CODE + 0x14


def test_skip_breakpoint_steps_over_a_2_byte_c_ebreak(rv):
    rawmem.store_u16(CODE + 0x10, C_EBREAK)
    rawmem.store_u16(CODE + 0x12, 0x0073)           # a 32-bit instruction follows
    frame = make_frame(riscv64.EXC_BREAKPOINT, pc=CODE + 0x10)
    riscv64.skip_breakpoint(frame)
    assert portframe.read(frame, portframe.PC) == CODE + 0x12


def test_skip_breakpoint_changes_nothing_but_pc(rv):
    rawmem.store_u32(CODE, EBREAK)
    frame = make_frame(riscv64.EXC_BREAKPOINT, pc=CODE)
    before = portarch.frame_words(frame)
    riscv64.skip_breakpoint(frame)
    after = portarch.frame_words(frame)
    assert [i * 8 for i in range(len(before)) if before[i] != after[i]] == [portframe.PC]


def test_breakpoint_is_recorded_by_the_emulation(rv):
    riscv64.breakpoint()
    riscv64.breakpoint()
    assert rv.breakpoints == 2


# ----------------------------------------------------------------- timer

def test_timer_start_with_the_default_timebase_arms_one_interval_ahead(rv):
    assert riscv64.timer_start(100, 0, 0, 0) == 0
    interval = riscv64.DEFAULT_TIMEBASE // 100
    assert riscv64.counter_frequency() == riscv64.DEFAULT_TIMEBASE
    assert rv.timer_deadline == rv.time + interval     # now + 1/100 s
    assert rv.sie & riscv64.SIE_STIE


def test_timer_start_uses_the_device_tree_timebase(rv):
    assert riscv64.timer_start(250, 24000000, 0, 0) == 0
    assert riscv64.counter_frequency() == 24000000
    assert rv.timer_deadline == rv.time + 24000000 // 250


@pytest.mark.parametrize('hz', [0, -100])
def test_timer_start_refuses_a_rate_that_is_not_positive(rv, hz):
    assert riscv64.timer_start(hz, 0, 0, 0) == -1
    assert rv.timer_deadline == -1                  # nothing armed
    assert rv.sie == 0


def test_timer_acknowledge_arms_one_interval_after_the_last_deadline_without_drift(rv):
    riscv64.timer_start(100, 0, 0, 0)
    interval = riscv64.DEFAULT_TIMEBASE // 100
    first = rv.timer_deadline
    rv.time = first + 5000                          # the handler runs a little late
    riscv64.timer_acknowledge()
    assert rv.timer_deadline == first + interval    # not now + interval
    riscv64.timer_acknowledge()
    assert rv.timer_deadline == first + 2 * interval


def test_timer_acknowledge_catches_up_when_the_kernel_fell_behind(rv):
    riscv64.timer_start(100, 0, 0, 0)
    interval = riscv64.DEFAULT_TIMEBASE // 100
    rv.time = rv.timer_deadline + 10 * interval     # ten ticks missed
    riscv64.timer_acknowledge()
    now = rv.time                                   # the counter read in acknowledge
    assert rv.timer_deadline == now + interval


def test_counter_reads_the_time_csr(rv):
    rv.time = 123000
    assert riscv64.counter() == 124000              # the emulation advances per read


# ------------------------------------------------------- address spaces

def test_activate_root_loads_satp_with_sv48_and_the_root_frame(rv):
    riscv64.activate_root(0x80234000)
    assert rv.satp == rawmem.to_word((9 << 60) | 0x80234)
    assert riscv64.active_root() == 0x80234000


def test_active_root_ignores_mode_and_asid(rv):
    rv.satp = rawmem.to_word((9 << 60) | (0x1234 << 44) | 0x80235)
    assert riscv64.active_root() == 0x80235000


def test_invalidations_issue_sfence_vma(rv):
    riscv64.invalidate_page(0x40001000)
    riscv64.invalidate_all()
    riscv64.invalidate_all()
    assert rv.invalidated == [0x40001000]
    assert rv.flushes == 2


# ------------------------------------------------------------ QEMU exit

@pytest.fixture
def test_device(rv):
    rawmem.simulated().add_region(HHDM + riscv64.VIRT_TEST_DEVICE, 0x1000)
    rawmem.store_u32(HHDM + riscv64.VIRT_TEST_DEVICE, 0xFFFFFFFF)
    return HHDM + riscv64.VIRT_TEST_DEVICE


def test_exit_qemu_with_0_writes_pass_to_the_test_device(test_device):
    riscv64.exit_qemu(0, HHDM)
    assert rawmem.load_u32(test_device) == 0x5555


@pytest.mark.parametrize('code', [1, 2, 0x7F])
def test_exit_qemu_with_a_failure_code_writes_fail_with_the_code_above(test_device, code):
    riscv64.exit_qemu(code, HHDM)
    assert rawmem.load_u32(test_device) == (code << 16) | 0x3333


def test_the_exit_device_is_the_one_the_c_fatal_path_uses():
    defines = portarch.header_defines('riscv64')
    assert riscv64.EXIT_DEVICE == defines['ELYZ_VIRT_TEST_DEVICE']
    assert riscv64.EXIT_DEVICE_SIZE >= 4
