"""Traps on the aarch64, riscv64 and loongarch64 ports: the arch-neutral
half (the arch half, which decodes causes and programs the timer, is the
machine module of elyz/rlib_kernel/port.py; the entry code is
arch/<karch>/trap.S; the frame is elyz/rlib_kernel/portframe.py).

    install_trap_tables()    points the CPU's vector base at trap.S; from
                             here on an exception dumps registers and panics
    init_interrupts(boot_info)  maps the interrupt controller the boot
                             information names, starts the tick
                             (clock.TICKS_PER_SECOND) and enables interrupts;
                             never fails (logs a warning and leaves the clock
                             stopped)
    interrupts_ready()       True once interrupts are on (translated)
    dispatch(frame)          rpy_trap: the tick (and the leases it expires,
                             elyz/obj/api.py expire_leases); a breakpoint (counted, then
                             stepped over); a page fault at a probe's access
                             (recorded, resumed at the probe's fixup); a fault
                             in a stack's guard page ("kernel stack
                             overflow"); anything else is reported and panics

The probes are elyz/kernel/probes.py's, under the same names here as in
traps.py (probe_read, probe_faulted, ...); a port decides "protection
violation" by reading the active tables at the fault (riscv64's causes do
not say).
    breakpoint_count()
"""

from rpython.rlib.objectmodel import we_are_translated

from elyz.kernel import panic
from elyz.lib import clock, log
from elyz.mm import address_space, kernel_space, paging
from elyz.obj import api as objects
from elyz.kernel import probes
from elyz.kernel.probes import (probe_read, probe_read32, probe_write, probe_faulted,  # noqa
                                probe_fault_address, probe_fault_error_code,
                                probe_fault_was_protection, probe_fault_was_write)
from elyz.rlib_kernel import cpu, image, portframe
from elyz.rlib_kernel import traps as arch_traps
from elyz.rlib_kernel.port import machine
from elyz.rlib_kernel.ports_common import (TRAP_TIMER, TRAP_BREAKPOINT, TRAP_PAGE_FAULT,
                                           TRAP_EXTERNAL)

STACK_OVERFLOW_MESSAGE = 'kernel stack overflow'
UNHANDLED_MESSAGE = 'unhandled CPU exception'
REGISTERS_PER_LINE = 4
REGISTER_DIGITS = 16


class _TrapState(object):
    def __init__(self):
        self.reset()

    def reset(self):
        self.tables_loaded = False
        self.interrupts_on = False
        self.breakpoints = 0
        self.external = 0


_state = _TrapState()


def reset_for_tests():
    """Untranslated only: forgets every count and flag."""
    _state.reset()
    probes.reset_for_tests()


def install_trap_tables():
    """Installs the vector base, interrupts still off; returns nothing."""
    if _state.tables_loaded:
        return
    machine.init_traps()
    _state.tables_loaded = True


def _map_intc(phys):
    if phys == 0 or machine.INTC_WINDOW == 0:
        return 0
    return kernel_space.map_device(phys, machine.INTC_WINDOW)


def init_interrupts(boot_info):
    """Starts the periodic tick and enables interrupts; returns nothing."""
    install_trap_tables()
    status = machine.timer_start(clock.TICKS_PER_SECOND, boot_info.timebase_frequency,
                                 _map_intc(boot_info.intc_base0),
                                 _map_intc(boot_info.intc_base1))
    if status == 0:
        clock.set_running(True)
        log.begin(log.INFO)
        log.put('interrupts: ')
        log.put(machine.NAME)
        log.put(' timer at ')
        log.put_int(clock.TICKS_PER_SECOND)
        log.put(' Hz (counter ')
        log.put_int(machine.counter_frequency())
        log.put(' Hz)')
        log.end()
    else:
        log.warn('interrupts: no timer: the clock does not run')
    cpu.enable_interrupts()
    _state.interrupts_on = True


def interrupts_ready():
    """Returns True once init_interrupts() enabled interrupts (untranslated
    always False: nothing would wake the emulated CPU)."""
    return _state.interrupts_on and we_are_translated()


def dispatch(frame):
    """Handles the trap saved at frame; returns when the trapped code may
    resume.  Panics on an unhandled exception; never raises otherwise."""
    kind = machine.classify(frame)
    if kind == TRAP_TIMER:
        clock.tick()
        objects.expire_leases(clock.ticks())
        machine.timer_acknowledge()
    elif kind == TRAP_BREAKPOINT:
        _state.breakpoints += 1
        machine.skip_breakpoint(frame)
    elif kind == TRAP_PAGE_FAULT and _resume_probe(frame):
        return
    elif kind == TRAP_EXTERNAL:
        _state.external += 1
    else:
        _fatal(frame, kind)


def _resume_probe(frame):
    """Returns True after redirecting a faulted probe to its fixup."""
    pc = portframe.read(frame, portframe.PC)
    fixup = arch_traps.fixup_for(pc)
    if fixup == 0:
        return False
    address = machine.fault_address(frame)
    probes.record_fault(address, machine.fault_is_write(frame), _mapped(address), 0)
    portframe.write(frame, portframe.PC, fixup)
    return True


def _mapped(addr):
    """Returns True when addr is mapped in the active tables (the kernel's
    for an upper-half address: every space shares them)."""
    root = address_space.current()
    if root == 0 or addr < 0:
        root = kernel_space.kernel_pml4()
    return root != 0 and paging.translate(root, addr) >= 0


def _fatal(frame, kind):
    report_exception(frame)
    if kind == TRAP_PAGE_FAULT and image.stack_guard_hit(machine.fault_address(frame)) >= 0:
        panic.panic(STACK_OVERFLOW_MESSAGE)
    panic.panic(UNHANDLED_MESSAGE)


def _put_register(number, value):
    log.put('x')
    if number < 10:
        log.put_char(' ')
    log.put_int(number)
    log.put(' ')
    log.put_hex(value, REGISTER_DIGITS)


def report_exception(frame):
    """Logs the cause, pc, status, fault address and the 32 registers of the
    trap at frame at ERROR level; returns nothing."""
    log.begin(log.ERROR)
    log.put('CPU exception: ')
    log.put(machine.cause_name(frame))
    log.put(', cause ')
    log.put_hex(portframe.read(frame, portframe.CAUSE))
    log.end()
    log.begin(log.ERROR)
    log.put('pc ')
    log.put_hex(portframe.read(frame, portframe.PC), REGISTER_DIGITS)
    log.put('  status ')
    log.put_hex(portframe.read(frame, portframe.STATUS))
    log.put('  fault address ')
    log.put_hex(portframe.read(frame, portframe.FAULT_ADDRESS))
    log.end()
    i = 0
    while i < portframe.REGISTER_COUNT:
        if i % REGISTERS_PER_LINE == 0:
            log.begin(log.ERROR)
        else:
            log.put('  ')
        _put_register(i, portframe.read(frame, portframe.REGISTER(i)))
        if i % REGISTERS_PER_LINE == REGISTERS_PER_LINE - 1:
            log.end()
        i += 1


def breakpoint_count():
    """Returns how many breakpoint traps were handled."""
    return _state.breakpoints
