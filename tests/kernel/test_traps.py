"""Trap dispatch over fake trap frames in simulated memory."""

import pytest

from elyz.boot.bootinfo import boot_info
from elyz.drivers import apic, pic, pit
from elyz.kernel import entry, panic, traps, trap_selftests
from elyz.lib import clock
from elyz.lib import log
from elyz.rlib_kernel import cpu, image, ports, rawmem, trapframe
from elyz.rlib_kernel import traps as arch_traps
from tests.support import rpycheck

HHDM = 0xffff800000000000
APIC_PHYS = 0xFEE00000
APIC_VIRT = rawmem.to_word(HHDM + APIC_PHYS)
STACK_BASE = rawmem.to_word(0xffffffff80200000)     # where the fake frames live
FRAME = STACK_BASE + 0x800
KERNEL_RIP = rawmem.to_word(0xffffffff80101234)
KERNEL_RSP = rawmem.to_word(0xffffffff80230000)
KERNEL_CS = 0x08
KERNEL_SS = 0x10
RFLAGS = 0x202
UNMAPPED = 0x0000700000000123


class Machine(object):
    def __init__(self):
        self.memory = rawmem.simulate()
        self.memory.add_region(STACK_BASE, 0x1000)
        self.memory.add_region(APIC_VIRT, 0x1000)
        self.cpu = cpu.emulate()
        self.cpu.cpuid_values[(1, 0)] = (0, 0, 0, apic.CPUID_EDX_APIC)
        self.cpu.msrs[apic.MSR_APIC_BASE] = APIC_PHYS | apic.APIC_BASE_ENABLE
        self.ports = ports.emulate()
        self.ports.values[pit.PORT_B] = pit.PORT_B_OUT2
        self.traps = arch_traps.emulate()

    def apic_reg(self, offset):
        return rawmem.load_u32(APIC_VIRT + offset)

    def set_apic_reg(self, offset, value):
        rawmem.store_u32(APIC_VIRT + offset, value)


@pytest.fixture
def machine():
    log.reset_for_tests()
    panic.reset_for_tests()
    traps.reset_for_tests()
    clock.reset_for_tests()
    apic.reset_for_tests()
    saved_hhdm = boot_info.hhdm_offset
    boot_info.hhdm_offset = rawmem.to_word(HHDM)
    m = Machine()
    yield m
    boot_info.hhdm_offset = saved_hhdm
    for module in (log, panic, traps, clock, apic):
        module.reset_for_tests()
    cpu.emulate()
    ports.emulate()
    arch_traps.emulate()


def make_frame(vector, error_code=0, rip=KERNEL_RIP, **registers):
    """Writes a trap frame as trap.S would; registers default to 0x1000 * (index + 1)."""
    for i, name in enumerate(trapframe.REGISTER_NAMES):
        value = registers.get(name, 0x1000 * (i + 1))
        trapframe.write(FRAME, trapframe.REGISTER_OFFSETS[i], value)
    trapframe.write(FRAME, trapframe.VECTOR, vector)
    trapframe.write(FRAME, trapframe.ERROR_CODE, error_code)
    trapframe.write(FRAME, trapframe.RIP, rip)
    trapframe.write(FRAME, trapframe.CS, KERNEL_CS)
    trapframe.write(FRAME, trapframe.RFLAGS, RFLAGS)
    trapframe.write(FRAME, trapframe.RSP, KERNEL_RSP)
    trapframe.write(FRAME, trapframe.SS, KERNEL_SS)
    return FRAME


def frame_words():
    return [trapframe.read(FRAME, off) for off in range(0, trapframe.FRAME_SIZE, 8)]


# ------------------------------------------------------------- page faults

def test_page_fault_at_the_probe_load_resumes_at_the_fixup_and_records_the_fault(machine):
    machine.cpu.cr2 = UNMAPPED
    frame = make_frame(traps.VECTOR_PAGE_FAULT, error_code=0,
                       rip=arch_traps.probe_fault_rip())
    traps.dispatch(frame)
    assert trapframe.read(frame, trapframe.RIP) == arch_traps.probe_fixup_rip()
    assert traps.probe_faulted()
    assert traps.probe_fault_address() == UNMAPPED
    assert traps.probe_fault_error_code() == 0
    assert log.captured == []                      # handled quietly


def test_the_fixup_changes_nothing_but_rip(machine):
    frame = make_frame(traps.VECTOR_PAGE_FAULT, rip=arch_traps.probe_fault_rip())
    before = frame_words()
    traps.dispatch(frame)
    after = frame_words()
    changed = [i * 8 for i in range(len(before)) if before[i] != after[i]]
    assert changed == [trapframe.RIP]


def raise_page_faults_through_dispatch(machine):
    """Makes the emulated probes raise #PF through the real dispatcher."""
    def page_fault_hook(addr, fault_rip):
        machine.cpu.cr2 = addr
        frame = make_frame(traps.VECTOR_PAGE_FAULT, error_code=0, rip=fault_rip)
        traps.dispatch(frame)
        return trapframe.read(frame, trapframe.RIP)
    machine.traps.page_fault_hook = page_fault_hook


def test_probe_read_survives_a_fault_end_to_end(machine):
    raise_page_faults_through_dispatch(machine)
    rawmem.store_u64(STACK_BASE, 0x1122334455667788)
    assert traps.probe_read(STACK_BASE) == 0x1122334455667788
    assert not traps.probe_faulted()
    assert traps.probe_read(UNMAPPED) == arch_traps.PROBE_FAULT_VALUE
    assert traps.probe_faulted()
    assert traps.probe_fault_address() == UNMAPPED
    assert traps.probe_read(STACK_BASE) == 0x1122334455667788
    assert not traps.probe_faulted()               # each probe starts clean


def test_probe_read32_reads_32_bits_and_survives_a_fault(machine):
    raise_page_faults_through_dispatch(machine)
    rawmem.store_u64(STACK_BASE, 0x1122334455667788)
    assert traps.probe_read32(STACK_BASE) == 0x55667788
    assert not traps.probe_faulted()
    assert traps.probe_read32(UNMAPPED) == arch_traps.PROBE_FAULT_VALUE
    assert traps.probe_faulted()
    assert traps.probe_fault_address() == UNMAPPED


def test_every_probe_load_has_its_own_fixup():
    emulated = arch_traps.emulate()
    try:
        assert arch_traps.fixup_for(emulated.FAULT_RIP) == emulated.FIXUP_RIP
        assert arch_traps.fixup_for(emulated.FAULT_RIP32) == emulated.FIXUP_RIP32
        assert arch_traps.fixup_for(KERNEL_RIP) == 0
    finally:
        arch_traps.emulate()


def test_page_fault_elsewhere_dumps_the_registers_and_panics(machine):
    machine.cpu.cr2 = 0xdead000
    frame = make_frame(traps.VECTOR_PAGE_FAULT, error_code=0x2)
    with pytest.raises(cpu.Halted):
        traps.dispatch(frame)
    assert panic._state.last_message == 'unhandled CPU exception #PF (page fault)'
    assert not traps.probe_faulted()
    assert log.captured == [
        'error: CPU exception #PF (page fault), vector 14, error code 0x2',
        'error: page fault at cr2 0xdead000: page not present, write, kernel mode',
        'error: rip 0xffffffff80101234  cs 0x8  rflags 0x202',
        'error: rsp 0xffffffff80230000  ss 0x10',
        'error: rax 0x0000000000001000  rbx 0x0000000000002000'
        '  rcx 0x0000000000003000  rdx 0x0000000000004000',
        'error: rsi 0x0000000000005000  rdi 0x0000000000006000'
        '  rbp 0x0000000000007000  r8  0x0000000000008000',
        'error: r9  0x0000000000009000  r10 0x000000000000a000'
        '  r11 0x000000000000b000  r12 0x000000000000c000',
        'error: r13 0x000000000000d000  r14 0x000000000000e000  r15 0x000000000000f000',
        'PANIC: unhandled CPU exception #PF (page fault)',
    ]


@pytest.mark.parametrize('error_code, cause', [
    (0x0, 'page not present, read, kernel mode'),
    (0x1, 'protection violation, read, kernel mode'),
    (0x3, 'protection violation, write, kernel mode'),
    (0x4, 'page not present, read, user mode'),
    (0x11, 'protection violation, read, kernel mode, instruction fetch'),
    (0x9, 'protection violation, read, kernel mode, reserved bit set'),
    (0x25, 'protection violation, read, user mode, protection key'),
])
def test_page_fault_error_code_is_decoded(machine, error_code, cause):
    machine.cpu.cr2 = 0x1000
    with pytest.raises(cpu.Halted):
        traps.dispatch(make_frame(traps.VECTOR_PAGE_FAULT, error_code=error_code))
    assert log.captured[1] == 'error: page fault at cr2 0x1000: ' + cause


def test_every_register_in_the_dump_comes_from_its_own_frame_slot(machine):
    values = dict((name, 0x100 + i) for i, name in enumerate(trapframe.REGISTER_NAMES))
    with pytest.raises(cpu.Halted):
        traps.dispatch(make_frame(traps.VECTOR_GENERAL_PROTECTION, error_code=0x18, **values))
    text = '\n'.join(log.captured)
    for name, value in values.items():
        assert '%-3s 0x%016x' % (name, value) in text
    assert 'cr2' not in text                       # only page faults show CR2


# ----------------------------------------------------- other exceptions

def test_breakpoint_is_counted_and_resumes_after_the_int3(machine):
    frame = make_frame(traps.VECTOR_BREAKPOINT, rip=KERNEL_RIP)
    before = frame_words()
    traps.dispatch(frame)
    assert frame_words() == before                 # rip already points past int3
    assert traps.breakpoint_count() == 1
    assert log.captured == []


@pytest.mark.parametrize('vector', [v for v in range(32) if v not in (3, 14)])
def test_every_other_cpu_exception_panics_with_its_name(machine, vector):
    with pytest.raises(cpu.Halted):
        traps.dispatch(make_frame(vector))
    assert log.captured[0].startswith('error: CPU exception %s (%s), vector %d,'
                                      % (traps.EXCEPTION_MNEMONICS[vector],
                                         traps.EXCEPTION_NAMES[vector], vector))
    assert panic._state.last_message == traps.PANIC_MESSAGES[vector]


def test_exception_tables_cover_the_32_reserved_vectors():
    assert len(traps.EXCEPTION_NAMES) == len(traps.EXCEPTION_MNEMONICS) == 32
    assert traps.EXCEPTION_MNEMONICS[traps.VECTOR_DOUBLE_FAULT] == '#DF'
    assert traps.EXCEPTION_NAMES[traps.VECTOR_GENERAL_PROTECTION] == 'general protection'


# ------------------------------------------------------------ interrupts

def test_timer_interrupt_ticks_the_clock_and_ends_with_an_eoi(machine):
    apic.init()
    machine.set_apic_reg(apic.REG_EOI, 0xFFFF)
    frame = make_frame(apic.TIMER_VECTOR)
    before = frame_words()
    traps.dispatch(frame)
    traps.dispatch(frame)
    assert clock.ticks() == 2
    assert machine.apic_reg(apic.REG_EOI) == 0
    assert frame_words() == before
    assert log.captured == []


def test_apic_spurious_interrupt_gets_no_eoi(machine):
    apic.init()
    machine.set_apic_reg(apic.REG_EOI, 0xFFFF)
    traps.dispatch(make_frame(apic.SPURIOUS_VECTOR))
    assert machine.apic_reg(apic.REG_EOI) == 0xFFFF
    assert traps._state.apic_spurious == 1


def test_apic_error_interrupt_reads_the_status_and_ends_with_an_eoi(machine):
    apic.init()
    machine.set_apic_reg(apic.REG_EOI, 0xFFFF)
    traps.dispatch(make_frame(apic.ERROR_VECTOR))
    assert machine.apic_reg(apic.REG_EOI) == 0
    assert apic._state.errors == 1


def test_spurious_pic_interrupt_is_counted_without_eoi(machine):
    machine.ports.values[pic.MASTER_COMMAND] = 0     # nothing in service
    traps.dispatch(make_frame(pic.VECTOR_BASE + 7))
    assert traps._state.pic_spurious == 1
    assert (pic.MASTER_COMMAND, 1, pic.OCW2_EOI) not in machine.ports.writes


def test_unexpected_vector_gets_an_eoi_only_when_the_apic_serves_it(machine):
    apic.init()
    machine.set_apic_reg(apic.REG_EOI, 0xFFFF)
    traps.dispatch(make_frame(0x80))
    assert machine.apic_reg(apic.REG_EOI) == 0xFFFF  # a software int: no EOI
    machine.set_apic_reg(apic.REG_ISR_BASE + 0x10 * (0x41 // 32), 1 << (0x41 % 32))
    traps.dispatch(make_frame(0x41))
    assert machine.apic_reg(apic.REG_EOI) == 0
    assert traps._state.unexpected == 2
    assert traps._state.last_unexpected_vector == 0x41


# ----------------------------------------------------------------- set-up

def test_init_interrupts_loads_tables_masks_pics_starts_the_timer_and_enables(machine):
    count = 62500000 * apic.CALIBRATION_MS // 1000
    machine.set_apic_reg(apic.REG_TIMER_CURRENT, 0xFFFFFFFF - count)
    traps.init_interrupts()
    assert machine.traps.init_calls == 1
    assert (pic.MASTER_DATA, 1, 0xFF) in machine.ports.writes
    assert (pic.SLAVE_DATA, 1, 0xFF) in machine.ports.writes
    assert machine.apic_reg(apic.REG_SPURIOUS) & apic.SPURIOUS_APIC_ENABLE
    assert machine.apic_reg(apic.REG_LVT_TIMER) == apic.LVT_TIMER_PERIODIC | apic.TIMER_VECTOR
    assert machine.apic_reg(apic.REG_TIMER_INITIAL) == 62500000 // clock.TICKS_PER_SECOND
    assert clock.ticks_per_second() == clock.TICKS_PER_SECOND
    assert machine.cpu.interrupts_enabled
    assert log.captured == [
        'interrupts: IDT loaded, PIC masked, APIC timer at 100 Hz (62500000 counts/s)']


def test_init_interrupts_without_an_apic_warns_and_leaves_the_clock_stopped(machine):
    machine.cpu.cpuid_values[(1, 0)] = (0, 0, 0, 0)
    traps.init_interrupts()
    assert clock.ticks_per_second() == 0
    assert machine.cpu.interrupts_enabled
    assert log.captured == ['warning: interrupts: IDT loaded, but no APIC timer (code -1): '
                            'the clock does not run']


def test_init_interrupts_with_the_apic_page_unmapped_warns_instead_of_faulting(machine):
    raise_page_faults_through_dispatch(machine)
    boot_info.hhdm_offset = rawmem.to_word(HHDM + 0x100000000)   # APIC page not simulated
    traps.init_interrupts()
    assert clock.ticks_per_second() == 0
    assert machine.cpu.interrupts_enabled
    assert traps.probe_fault_address() == rawmem.to_word(
        HHDM + 0x100000000 + APIC_PHYS + apic.REG_VERSION)
    assert log.captured == ['warning: interrupts: IDT loaded, but no APIC timer (code -6): '
                            'the clock does not run']


def test_untranslated_idle_never_waits_for_an_interrupt(machine):
    traps.init_interrupts()
    assert traps._state.interrupts_on
    assert not traps.interrupts_ready()    # nothing would wake the emulated CPU


def test_a_page_fault_on_a_stack_guard_is_reported_as_a_kernel_stack_overflow(machine):
    layout = image.emulate()
    guard_top = layout.stacks[0][0] - 8             # just below the boot stack
    machine.cpu.cr2 = guard_top
    frame = make_frame(traps.VECTOR_PAGE_FAULT, error_code=0x2)
    with pytest.raises(cpu.Halted):
        traps.dispatch(frame)
    assert panic._state.last_message == 'kernel stack overflow'
    assert log.captured[0] == ('error: kernel stack overflow: the guard page below the boot '
                               'stack was hit at %#x' % (guard_top & 0xFFFFFFFFFFFFFFFF))
    assert log.captured[1] == 'error: CPU exception #PF (page fault), vector 14, error code 0x2'


def test_a_double_fault_after_a_push_into_a_guard_is_a_stack_overflow_too(machine):
    # The push faults (#PF), the CPU cannot push the #PF frame there either:
    # #DF on IST1, with CR2 still naming the guard page.
    layout = image.emulate()
    guard = layout.stacks[1][0] - image.STACK_GUARD_SIZE
    machine.cpu.cr2 = guard + 0xff8
    frame = make_frame(traps.VECTOR_DOUBLE_FAULT)
    with pytest.raises(cpu.Halted):
        traps.dispatch(frame)
    assert panic._state.last_message == 'kernel stack overflow'
    assert 'double fault (IST1) stack' in log.captured[0]
    assert log.captured[2] == 'error: cr2 (the last page fault) %#x' % (
        (guard + 0xff8) & 0xFFFFFFFFFFFFFFFF)


def test_a_double_fault_elsewhere_is_an_ordinary_panic(machine):
    image.emulate()
    machine.cpu.cr2 = UNMAPPED
    frame = make_frame(traps.VECTOR_DOUBLE_FAULT)
    with pytest.raises(cpu.Halted):
        traps.dispatch(frame)
    assert panic._state.last_message == 'unhandled CPU exception #DF (double fault)'


def test_a_fault_fetching_a_call_probe_target_resumes_at_its_fixup_with_the_call_undone(
        machine):
    target = 0x40000000
    machine.traps.call_target = target
    machine.cpu.cr2 = target
    frame = make_frame(traps.VECTOR_PAGE_FAULT, error_code=0x15, rip=target)
    traps.dispatch(frame)
    assert trapframe.read(frame, trapframe.RIP) == arch_traps.call_probe_fixup_rip()
    assert trapframe.read(frame, trapframe.RSP) == KERNEL_RSP + 8     # return address popped
    assert traps.probe_faulted() and traps.probe_fault_error_code() == 0x15
    assert log.captured == []


def test_a_fetch_fault_with_no_call_probe_running_panics(machine):
    machine.cpu.cr2 = 0x40000000
    frame = make_frame(traps.VECTOR_PAGE_FAULT, error_code=0x15, rip=0x40000000)
    with pytest.raises(cpu.Halted):
        traps.dispatch(frame)


def test_probe_call_and_probe_write_survive_faults_end_to_end(machine):
    raise_page_faults_through_dispatch(machine)
    machine.traps.callables[0x1000] = lambda: 42
    assert traps.probe_call(0x1000) == 42 and not traps.probe_faulted()
    assert traps.probe_call(0x40000000) == 0 and traps.probe_faulted()
    assert traps.probe_fault_address() == 0x40000000
    assert machine.traps.call_target == 0
    assert traps.probe_write(STACK_BASE, 7) and not traps.probe_faulted()
    assert rawmem.load_u64(STACK_BASE) == 7
    assert not traps.probe_write(UNMAPPED, 7) and traps.probe_faulted()


def test_the_test_vector_raises_out_of_the_handler_only_when_armed(machine):
    frame = make_frame(arch_traps.TEST_VECTOR)
    traps.dispatch(frame)                            # not armed: counted
    assert traps._state.unexpected == 1
    traps.arm_escape_test()
    with pytest.raises(traps.TrapTestError):
        traps.dispatch(frame)
    traps.dispatch(frame)                            # disarmed again
    assert traps._state.unexpected == 2


def test_emulated_breakpoint_is_recorded(machine):
    arch_traps.breakpoint()
    assert machine.traps.breakpoints == 1


# ----------------------------------------------------------------- RPython

def trap_entry(frame):
    return entry.rpy_trap(frame)


def setup_entry(n):
    traps.init_interrupts()
    value = traps.probe_read(n) + traps.probe_read32(n)
    if traps.probe_faulted():
        return traps.probe_fault_address() + traps.probe_fault_error_code()
    return value + traps.breakpoint_count() + int(traps.interrupts_ready())


SELFTESTS = [trap_selftests.test_page_fault_caught, trap_selftests.test_breakpoint_returns,
             trap_selftests.test_timer_ticks_advance, trap_selftests.test_timer_rate]


def selftests_entry(n):
    failures = 0
    for test in SELFTESTS:
        if test() is not None:
            failures += 1
    return failures


ENTRY_POINTS = [(trap_entry, [int]), (setup_entry, [int]), (selftests_entry, [int])]


def test_trap_modules_are_valid_freestanding_rpython():
    rpycheck.rtype(ENTRY_POINTS)


def test_the_trap_handler_allocates_nothing_short_of_a_panic():
    # panic() is marked may_allocate: the walk does not descend into it
    t = rpycheck.rtype_allocation_free(ENTRY_POINTS, roots=[entry.rpy_trap])
    assert rpycheck.reaches(t, entry.rpy_trap, traps.report_exception)     # the dump was walked
