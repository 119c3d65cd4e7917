"""Trap dispatch of the ports (elyz/kernel/porttraps.py) with its machine
module set to riscv64 or aarch64: port frames in simulated memory, the
emulated probes of elyz/rlib_kernel/traps.py, the clock and the panic path."""

import pytest

from elyz.boot.bootinfo import BootInfo
from elyz.kernel import panic, porttraps
from elyz.lib import clock, log
from elyz.mm import kernel_space, paging
from elyz.rlib_kernel import aarch64, cpu, image, portframe, rawmem, riscv64
from elyz.rlib_kernel import traps as arch_traps
from tests.support import portarch, rpycheck

HHDM = rawmem.to_word(0xffff800000000000)
FRAME = rawmem.to_word(0xffffffff80300000)
CODE = rawmem.to_word(0xffffffff80201000)
GIC_DIST_PHYS = 0x08000000
GIC_CPU_PHYS = 0x08010000
RAM = 1 << 20                           # behind the HHDM: page tables of the tests
MAPPED = 0x200000                       # a lower-half page the tests map
UNMAPPED = 0x100000000000               # port_selftests.UNMAPPED_ADDRESS
ESR_IL = 1 << 25


def esr(ec, iss=0):
    return (ec << aarch64.ESR_EC_SHIFT) | ESR_IL | iss


class Riscv64(object):
    module = riscv64
    timer = 1 << 63 | riscv64.IRQ_SUPERVISOR_TIMER
    external = 1 << 63 | riscv64.IRQ_SUPERVISOR_EXTERNAL
    breakpoint = riscv64.EXC_BREAKPOINT
    load_fault = riscv64.EXC_LOAD_PAGE_FAULT
    store_fault = riscv64.EXC_STORE_PAGE_FAULT
    unhandled = 2
    unhandled_name = 'illegal instruction'
    breakpoint_size = 2                 # a c.ebreak at CODE

    def install(self, monkeypatch, memory):
        monkeypatch.setattr(riscv64, '_timer', riscv64._Timer())
        self.emulated = riscv64.emulate()
        rawmem.store_u16(CODE, 0x9002)

    def start_timer(self):
        assert riscv64.timer_start(clock.TICKS_PER_SECOND, 0, 0, 0) == 0

    def raise_timer(self):
        pass

    def armed(self):
        return self.emulated.timer_deadline


class Aarch64(object):
    module = aarch64
    timer = aarch64.CAUSE_IRQ
    external = aarch64.CAUSE_IRQ
    breakpoint = esr(aarch64.EC_BRK)
    load_fault = esr(aarch64.EC_DATA_ABORT, 0x07)
    store_fault = esr(aarch64.EC_DATA_ABORT, aarch64.ESR_WNR | 0x07)
    unhandled = esr(0x00)
    unhandled_name = 'unknown reason'
    breakpoint_size = 4

    def install(self, monkeypatch, memory):
        monkeypatch.setattr(aarch64, '_irq', aarch64._Interrupts())
        self.emulated = aarch64.emulate()
        memory.add_region(HHDM + GIC_DIST_PHYS, aarch64.GIC_WINDOW)
        memory.add_region(HHDM + GIC_CPU_PHYS, aarch64.GIC_WINDOW)
        self.set_iar(5)                  # any device but the timer

    def start_timer(self):
        assert aarch64.timer_start(clock.TICKS_PER_SECOND, 0, HHDM + GIC_DIST_PHYS,
                                   HHDM + GIC_CPU_PHYS) == 0

    def set_iar(self, value):
        rawmem.store_u32(HHDM + GIC_CPU_PHYS + aarch64.GICC_IAR, value)

    def raise_timer(self):
        self.set_iar(aarch64.VIRTUAL_TIMER_PPI)
        rawmem.store_u32(HHDM + GIC_CPU_PHYS + aarch64.GICC_EOIR, 0)
        self.emulated.timer_tval = 0

    def armed(self):
        return self.emulated.timer_tval


class Frames(paging.FrameAllocator):
    """Page-table frames handed out from the simulated RAM, never reused."""

    def __init__(self):
        self.next = 0x1000

    def alloc_frame(self):
        frame = self.next
        self.next += paging.PAGE_SIZE
        return frame


@pytest.fixture(params=[Riscv64, Aarch64], ids=['riscv64', 'aarch64'])
def port(request, monkeypatch):
    memory = rawmem.simulate()
    memory.add_region(FRAME, portframe.FRAME_SIZE)
    memory.add_region(CODE, 0x1000)
    memory.add_region(HHDM, RAM)
    for module in (log, panic, porttraps, clock):
        module.reset_for_tests()
    kernel_space.reset_for_tests()
    cpu.emulate()
    image.emulate()
    arch = request.param()
    arch.install(monkeypatch, memory)
    arch.traps = arch_traps.emulate()
    monkeypatch.setattr(porttraps, 'machine', arch.module)
    yield arch
    for module in (log, panic, porttraps, clock):
        module.reset_for_tests()
    kernel_space.reset_for_tests()
    paging.set_hhdm_offset(0)
    arch_traps.emulate()
    cpu.emulate()
    image.emulate()
    rawmem.simulate()


# Tests of one port only (riscv64's timer needs no interrupt controller;
# every aarch64 IRQ is a timer or a device interrupt).
only_riscv64 = pytest.mark.parametrize('port', [Riscv64], ids=['riscv64'], indirect=True)
only_aarch64 = pytest.mark.parametrize('port', [Aarch64], ids=['aarch64'], indirect=True)


def make_frame(cause, pc=CODE, fault=0):
    return portarch.write_frame(FRAME, cause, pc, fault)


def frame_words():
    return portarch.frame_words(FRAME)


def map_kernel_page(virt):
    """Gives kernel_space active tables (in simulated RAM) with virt mapped."""
    paging.set_hhdm_offset(HHDM)
    frames = Frames()
    root = paging.create_address_space(frames)
    assert root > 0
    assert paging.map(root, virt, 0x80000, paging.PAGE_NO_EXECUTE, frames) == 0
    kernel_space._space.pml4 = root


# ------------------------------------------------------------- the tick

def test_a_timer_trap_ticks_the_clock_and_arms_the_next_tick(port):
    port.start_timer()
    first = port.armed()
    port.raise_timer()
    frame = make_frame(port.timer)
    before = frame_words()
    porttraps.dispatch(frame)
    assert clock.ticks() == 1
    assert port.armed() > 0 and (port.module is aarch64 or port.armed() > first)
    assert frame_words() == before
    assert log.captured == []


@only_aarch64
def test_the_aarch64_timer_trap_ends_the_interrupt_at_the_gic(port):
    port.start_timer()
    port.raise_timer()
    porttraps.dispatch(make_frame(port.timer))
    assert rawmem.load_u32(HHDM + GIC_CPU_PHYS + aarch64.GICC_EOIR) == \
        aarch64.VIRTUAL_TIMER_PPI


def test_a_device_interrupt_is_counted_and_does_not_tick(port):
    port.start_timer()
    porttraps.dispatch(make_frame(port.external))
    assert porttraps._state.external == 1
    assert clock.ticks() == 0
    assert log.captured == []


# ---------------------------------------------------------- breakpoints

def test_a_breakpoint_is_counted_and_stepped_over(port):
    frame = make_frame(port.breakpoint)
    porttraps.dispatch(frame)
    porttraps.dispatch(frame)
    assert porttraps.breakpoint_count() == 2
    assert portframe.read(frame, portframe.PC) == CODE + 2 * port.breakpoint_size
    assert log.captured == []


# ---------------------------------------------------------- page faults

def test_a_fault_at_the_probe_load_resumes_at_its_fixup_with_the_fault_recorded(port):
    frame = make_frame(port.load_fault, pc=arch_traps.probe_fault_rip(), fault=UNMAPPED)
    before = frame_words()
    porttraps.dispatch(frame)
    after = frame_words()
    assert portframe.read(frame, portframe.PC) == arch_traps.probe_fixup_rip()
    assert [i * 8 for i in range(len(before)) if before[i] != after[i]] == [portframe.PC]
    assert porttraps.probe_faulted()
    assert porttraps.probe_fault_address() == UNMAPPED
    assert not porttraps.probe_fault_was_write()
    assert not porttraps.probe_fault_was_protection()      # no kernel tables yet
    assert log.captured == []


def test_a_store_fault_at_the_write_probe_is_recorded_as_a_write(port):
    traps = port.traps
    frame = make_frame(port.store_fault, pc=traps.WRITE_FAULT_RIP, fault=UNMAPPED)
    porttraps.dispatch(frame)
    assert portframe.read(frame, portframe.PC) == traps.WRITE_FIXUP_RIP
    assert porttraps.probe_fault_was_write()


def test_a_fault_on_a_mapped_page_is_a_protection_fault(port):
    map_kernel_page(MAPPED)
    porttraps.dispatch(make_frame(port.store_fault, pc=port.traps.WRITE_FAULT_RIP,
                                  fault=MAPPED + 0x18))
    assert porttraps.probe_fault_was_protection()
    porttraps.dispatch(make_frame(port.load_fault, pc=port.traps.FAULT_RIP32,
                                  fault=MAPPED + paging.PAGE_SIZE))
    assert porttraps.probe_faulted()
    assert not porttraps.probe_fault_was_protection()       # the next page is not mapped


def raise_page_faults_through_dispatch(port):
    """Makes the emulated probes trap through porttraps.dispatch, as the CPU would."""
    def page_fault_hook(addr, fault_pc):
        cause = port.store_fault if fault_pc == port.traps.WRITE_FAULT_RIP else port.load_fault
        frame = make_frame(cause, pc=fault_pc, fault=addr)
        porttraps.dispatch(frame)
        return portframe.read(frame, portframe.PC)
    port.traps.page_fault_hook = page_fault_hook


def test_the_probes_survive_faults_end_to_end(port):
    raise_page_faults_through_dispatch(port)
    rawmem.store_u64(HHDM + 0x3000, 0x1122334455667788)
    assert porttraps.probe_read(HHDM + 0x3000) == 0x1122334455667788
    assert not porttraps.probe_faulted()
    assert porttraps.probe_read(UNMAPPED) == 0
    assert porttraps.probe_faulted() and porttraps.probe_fault_address() == UNMAPPED
    assert not porttraps.probe_fault_was_write()
    assert porttraps.probe_read32(HHDM + 0x3000) == 0x55667788
    assert not porttraps.probe_faulted()                    # each probe starts clean
    assert porttraps.probe_read32(UNMAPPED + 8) == 0
    assert porttraps.probe_fault_address() == UNMAPPED + 8
    assert porttraps.probe_write(HHDM + 0x3000, 7) and not porttraps.probe_faulted()
    assert rawmem.load_u64(HHDM + 0x3000) == 7
    assert not porttraps.probe_write(UNMAPPED, 7)
    assert porttraps.probe_faulted() and porttraps.probe_fault_was_write()
    assert log.captured == []


def test_a_page_fault_elsewhere_dumps_the_registers_and_panics(port):
    frame = make_frame(port.load_fault, pc=CODE, fault=UNMAPPED)
    with pytest.raises(cpu.Halted):
        porttraps.dispatch(frame)
    assert panic._state.last_message == 'unhandled CPU exception'
    assert not porttraps.probe_faulted()
    assert log.captured[1] == 'error: pc 0xffffffff80201000  status 0x120  fault address ' \
                              '0x100000000000'
    assert log.captured[-1] == 'PANIC: unhandled CPU exception'


def test_a_probe_pc_with_another_cause_is_not_resumed(port):
    with pytest.raises(cpu.Halted):
        porttraps.dispatch(make_frame(port.unhandled, pc=arch_traps.probe_fault_rip()))
    assert not porttraps.probe_faulted()


def test_an_unhandled_exception_logs_cause_pc_and_every_register_then_panics(port):
    frame = make_frame(port.unhandled, pc=CODE + 0x40, fault=0x1234)
    with pytest.raises(cpu.Halted):
        porttraps.dispatch(frame)
    cause = rawmem.to_word(port.unhandled) & rawmem.MASK64
    assert log.captured == [
        'error: CPU exception: %s, cause %#x' % (port.unhandled_name, cause),
        'error: pc 0xffffffff80201040  status 0x120  fault address 0x1234',
        'error: x 0 0x0000000000000000  x 1 0x0000000000000100'
        '  x 2 0x0000000000000200  x 3 0x0000000000000300',
        'error: x 4 0x0000000000000400  x 5 0x0000000000000500'
        '  x 6 0x0000000000000600  x 7 0x0000000000000700',
        'error: x 8 0x0000000000000800  x 9 0x0000000000000900'
        '  x10 0x0000000000000a00  x11 0x0000000000000b00',
        'error: x12 0x0000000000000c00  x13 0x0000000000000d00'
        '  x14 0x0000000000000e00  x15 0x0000000000000f00',
        'error: x16 0x0000000000001000  x17 0x0000000000001100'
        '  x18 0x0000000000001200  x19 0x0000000000001300',
        'error: x20 0x0000000000001400  x21 0x0000000000001500'
        '  x22 0x0000000000001600  x23 0x0000000000001700',
        'error: x24 0x0000000000001800  x25 0x0000000000001900'
        '  x26 0x0000000000001a00  x27 0x0000000000001b00',
        'error: x28 0x0000000000001c00  x29 0x0000000000001d00'
        '  x30 0x0000000000001e00  x31 0x0000000000001f00',
        'PANIC: unhandled CPU exception',
    ]


@only_riscv64
def test_an_unexpected_interrupt_cause_panics_naming_it(port):
    with pytest.raises(cpu.Halted):
        porttraps.dispatch(make_frame(1 << 63 | 1))        # supervisor software interrupt
    assert log.captured[0] == 'error: CPU exception: unexpected interrupt, ' \
                              'cause 0x8000000000000001'


@pytest.mark.parametrize('stack', [0, 3])
def test_a_page_fault_in_a_stack_guard_page_panics_with_kernel_stack_overflow(port, stack):
    layout = image.emulate()
    guard_address = layout.stacks[stack][0] - 8            # just below the stack
    with pytest.raises(cpu.Halted):
        porttraps.dispatch(make_frame(port.store_fault, fault=guard_address))
    assert panic._state.last_message == 'kernel stack overflow'
    assert log.captured[0].startswith('error: CPU exception: ')
    assert log.captured[-1] == 'PANIC: kernel stack overflow'


def test_a_fault_just_above_the_guard_page_is_no_stack_overflow(port):
    layout = image.emulate()
    with pytest.raises(cpu.Halted):
        porttraps.dispatch(make_frame(port.store_fault, fault=layout.stacks[0][0]))
    assert panic._state.last_message == 'unhandled CPU exception'


# --------------------------------------------------------------- set-up

def boot_info_of(port, with_controller=True):
    info = BootInfo()
    info.hhdm_offset = HHDM
    if port.module is riscv64:
        info.timebase_frequency = 10000000
    elif with_controller:
        info.intc_base0 = GIC_DIST_PHYS
        info.intc_base1 = GIC_CPU_PHYS
    return info


def map_device_through_the_direct_map(monkeypatch):
    mapped = []

    def map_device(phys, size):
        mapped.append((phys, size))
        return HHDM + phys
    monkeypatch.setattr(kernel_space, 'map_device', map_device)
    return mapped


def test_init_interrupts_starts_the_tick_and_enables_interrupts(port, monkeypatch):
    mapped = map_device_through_the_direct_map(monkeypatch)
    porttraps.init_interrupts(boot_info_of(port))
    assert porttraps._state.tables_loaded
    assert clock.ticks_per_second() == clock.TICKS_PER_SECOND
    assert cpu.emulated().interrupts_enabled
    assert porttraps._state.interrupts_on
    assert not porttraps.interrupts_ready()                # untranslated: never waits
    frequency = port.module.counter_frequency()
    assert log.captured == ['interrupts: %s timer at 100 Hz (counter %d Hz)'
                            % (port.module.NAME, frequency)]
    if port.module is aarch64:
        assert mapped == [(GIC_DIST_PHYS, aarch64.GIC_WINDOW),
                          (GIC_CPU_PHYS, aarch64.GIC_WINDOW)]
        assert rawmem.load_u32(HHDM + GIC_DIST_PHYS + aarch64.GICD_ISENABLER0) == 1 << 27
        assert port.emulated.timer_tval == frequency // clock.TICKS_PER_SECOND
    else:
        assert mapped == []                                # the SBI timer needs no window
        assert frequency == 10000000
        assert port.emulated.timer_deadline > 0


@only_aarch64
def test_without_an_interrupt_controller_the_clock_stays_stopped(port, monkeypatch):
    mapped = map_device_through_the_direct_map(monkeypatch)
    porttraps.init_interrupts(boot_info_of(port, with_controller=False))
    assert mapped == []
    assert clock.ticks_per_second() == 0
    assert cpu.emulated().interrupts_enabled
    assert log.captured == ['warning: interrupts: no timer: the clock does not run']


@only_aarch64
def test_an_interrupt_controller_that_cannot_be_mapped_leaves_the_clock_stopped(
        port, monkeypatch):
    monkeypatch.setattr(kernel_space, 'map_device', lambda phys, size: 0)
    porttraps.init_interrupts(boot_info_of(port))
    assert clock.ticks_per_second() == 0
    assert log.captured == ['warning: interrupts: no timer: the clock does not run']


def test_install_trap_tables_installs_once(port, monkeypatch):
    calls = []
    monkeypatch.setattr(port.module, 'init_traps', lambda: calls.append(1))
    porttraps.install_trap_tables()
    porttraps.install_trap_tables()
    assert calls == [1]


# ---------------------------------------------------------------- RPython

def trap_entry(frame):
    porttraps.dispatch(frame)
    return porttraps.breakpoint_count()


def setup_entry(n):
    info = BootInfo()
    info.intc_base0 = n
    porttraps.init_interrupts(info)
    value = porttraps.probe_read(n) + porttraps.probe_read32(n)
    if porttraps.probe_write(n, value) and porttraps.probe_fault_was_protection():
        return porttraps.probe_fault_address()
    return value + int(porttraps.interrupts_ready())


@pytest.mark.parametrize('module', [riscv64, aarch64], ids=['riscv64', 'aarch64'])
def test_the_port_trap_handler_is_freestanding_rpython_that_allocates_nothing(
        monkeypatch, module):
    # panic() is marked may_allocate: the walk does not descend into it
    monkeypatch.setattr(porttraps, 'machine', module)
    t = rpycheck.rtype_allocation_free([(trap_entry, [int]), (setup_entry, [int])],
                                       roots=[porttraps.dispatch])
    assert rpycheck.reaches(t, porttraps.dispatch, porttraps.report_exception)
