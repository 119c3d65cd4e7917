"""Traps: CPU exceptions and interrupts, from rpy_trap to their handlers.

    init_interrupts()        loads the descriptor tables, remaps and masks the
                             PICs, enables the local APIC, starts its timer at
                             clock.TICKS_PER_SECOND, then enables interrupts.
                             Logs one line; never fails (no APIC, its page
                             unmapped, or no PIT: a warning, and the clock
                             does not run).
    interrupts_ready() -> bool   may idle code wait with sti;hlt?
    dispatch(frame)          handles the trap whose frame (trapframe.py) is at
                             frame; the body of the exported rpy_trap
    probe_read(addr) -> the word at addr, or 0 when reading it faulted;
    probe_read32(addr) -> the same for a 32-bit word (device registers)
    probe_write(addr, value) -> True, or False when the store faulted
    probe_call(target) -> what the code at target returned, or 0 when
                             fetching it faulted (SMEP, NX, absent)
    probe_faulted() -> bool  did the last probe fault (page fault only: a
                             non-canonical address is a #GP, and panics)?
    probe_fault_address()    its CR2, probe_fault_error_code() its error code
    breakpoint_count()       int3 traps handled so far
    arm_escape_test()        makes the next TEST_VECTOR trap raise
    report_exception(frame, vector, cr2)   the register dump (kernel log)
    EXCEPTION_COUNT, EXCEPTION_MNEMONICS, EXCEPTION_NAMES, VECTOR_*, PF_*

What a trap does:
    #PF at a probe's load     record CR2 and the error code, resume at its fixup
    #PF fetching a call probe's target   the same, resuming at the call
                              probe's fixup with its return address popped
    #PF or #DF with CR2 in a stack guard page   "kernel stack overflow",
                              the register dump, then panic (an overflow
                              faults on the guard, the CPU cannot push the
                              #PF frame there and raises #DF, which runs on
                              its own IST stack)
    #BP (int3)                count it, resume after the int3
    exceptions 0-31 in user mode   (but NMI and #MC) kill the process: one
                              log line, exit code EXIT_FAULT_BASE + vector
    other exceptions 0-31     register dump, then panic
    TEST_VECTOR               raises TrapTestError when arm_escape_test()
                              was called (the boot test of an exception
                              escaping the handler: the C side must stop the
                              kernel), else counted as unexpected
    the APIC timer            clock.tick(), expire the leases now due
                              (elyz/obj/api.py), EOI, then sched.tick: a
                              switch when user mode or the idle wait was
                              interrupted
    PIC vectors 0x20-0x2f     (all masked: only spurious ones) EOI if real
    APIC spurious / error     counted (error: ESR read, EOI)
    anything else             counted; EOI when the APIC has it in service

Handlers never raise and never allocate: they touch prebuilt objects and
print constant strings and numbers only.
"""

from rpython.rlib.objectmodel import we_are_translated

from elyz.drivers import apic, pic
from elyz.kernel import panic, sched
from elyz.mm import kernel_stacks
from elyz.obj import api as objects
from elyz.obj import process
from elyz.lib import clock
from elyz.lib import log
from elyz.rlib_kernel import cpu, image, trapframe
from elyz.rlib_kernel import traps as arch_traps
from elyz.kernel import probes
# The probe API lives in probes.py; traps.probe_read etc. stay its names here.
from elyz.kernel.probes import (probe_read, probe_read32, probe_write, probe_faulted,  # noqa
                                probe_fault_address, probe_fault_error_code,
                                probe_fault_was_protection, probe_fault_was_write)

EXCEPTION_COUNT = 32

VECTOR_DIVIDE_ERROR = 0
VECTOR_DEBUG = 1
VECTOR_NMI = 2
VECTOR_BREAKPOINT = 3
VECTOR_DOUBLE_FAULT = 8
VECTOR_GENERAL_PROTECTION = 13
VECTOR_PAGE_FAULT = 14
VECTOR_MACHINE_CHECK = 18

EXCEPTION_MNEMONICS = [
    '#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM',
    '#DF', '#CSO', '#TS', '#NP', '#SS', '#GP', '#PF', '#15',
    '#MF', '#AC', '#MC', '#XM', '#VE', '#CP', '#22', '#23',
    '#24', '#25', '#26', '#27', '#HV', '#VC', '#SX', '#31',
]
EXCEPTION_NAMES = [
    'divide error', 'debug', 'non-maskable interrupt', 'breakpoint',
    'overflow', 'bound range exceeded', 'invalid opcode', 'device not available',
    'double fault', 'coprocessor segment overrun', 'invalid TSS', 'segment not present',
    'stack-segment fault', 'general protection', 'page fault', 'reserved',
    'x87 floating-point error', 'alignment check', 'machine check', 'SIMD floating-point',
    'virtualization exception', 'control protection', 'reserved', 'reserved',
    'reserved', 'reserved', 'reserved', 'reserved',
    'hypervisor injection', 'VMM communication', 'security exception', 'reserved',
]
# Prebuilt at import: a panic in a trap handler builds no string.
PANIC_MESSAGES = ['unhandled CPU exception %s (%s)' % (EXCEPTION_MNEMONICS[v], EXCEPTION_NAMES[v])
                  for v in range(EXCEPTION_COUNT)]

# Page-fault error code bits (Intel SDM vol. 3, 4.7).
PF_PROTECTION = 1 << 0          # 0: the page was not present
PF_WRITE = 1 << 1               # 0: a read
PF_USER = 1 << 2                # 0: in kernel mode
PF_RESERVED_BIT = 1 << 3        # a reserved bit was set in a paging entry
PF_INSTRUCTION_FETCH = 1 << 4
PF_PROTECTION_KEY = 1 << 5

STACK_OVERFLOW_MESSAGE = 'kernel stack overflow'
# A process killed by CPU exception v exits with EXIT_FAULT_BASE + v (docs/abi.md).
EXIT_FAULT_BASE = 128
RETURN_ADDRESS_SIZE = 8         # what a call pushes


class TrapTestError(Exception):
    """Raised inside the trap handler on purpose (arm_escape_test)."""


# Prebuilt: raising it allocates nothing.
_TRAP_TEST_ERROR = TrapTestError()

REGISTERS_PER_LINE = 4
REGISTER_DIGITS = 16
REGISTER_NAME_WIDTH = 3


class _TrapState(object):
    def __init__(self):
        self.reset()

    def reset(self):
        self.tables_loaded = False
        self.interrupts_on = False
        self.breakpoints = 0
        self.last_breakpoint_rip = 0
        self.pic_spurious = 0
        self.apic_spurious = 0
        self.unexpected = 0
        self.last_unexpected_vector = 0
        self.escape_test_armed = False


_state = _TrapState()


def reset_for_tests():
    """Untranslated only: forgets every count and flag."""
    _state.reset()
    probes.reset_for_tests()


# ------------------------------------------------------------------ set-up

def install_trap_tables():
    """Loads the GDT, TSS and IDT and masks the legacy PICs, with interrupts
    still off; returns nothing.  From here on a CPU exception prints a
    register dump and panics instead of resetting the machine, so kmain
    calls it as early as it can."""
    if _state.tables_loaded:
        return
    arch_traps.init_traps()
    _state.tables_loaded = True
    pic.remap_and_mask()


def init_interrupts():
    """Installs the trap tables (if install_trap_tables has not), starts the
    APIC timer and enables interrupts; returns nothing.  Never fails:
    without an APIC, with its register page unmapped (probed first), or
    without a PIT it warns and the clock stays stopped (interrupts are
    still enabled)."""
    install_trap_tables()
    status = _check_apic_mapped()
    if status == 0:
        status = apic.init()
    if status == 0:
        status = apic.start_timer(clock.TICKS_PER_SECOND)
    if status == 0:
        clock.set_running(True)
        log.begin(log.INFO)
        log.put('interrupts: IDT loaded, PIC masked, APIC timer at ')
        log.put_int(clock.TICKS_PER_SECOND)
        log.put(' Hz (')
        log.put_int(apic.timer_counts_per_second())
        log.put(' counts/s)')
        log.end()
    else:
        log.begin(log.WARN)
        log.put('interrupts: IDT loaded, but no APIC timer (code ')
        log.put_int(status)
        log.put('): the clock does not run')
        log.end()
    cpu.enable_interrupts()
    _state.interrupts_on = True


def _check_apic_mapped():
    """Returns 0, or apic.E_NOT_MAPPED when reading the APIC's version
    register faults (a boot whose direct map leaves out device memory)."""
    page = apic.register_page()
    if page != 0:
        probe_read32(page + apic.REG_VERSION)
        if probe_faulted():
            return apic.E_NOT_MAPPED
    return 0


def interrupts_ready():
    """Returns True once init_interrupts() has enabled interrupts, so that
    sti;hlt is a safe idle.  Untranslated always False: nothing would ever
    wake the emulated CPU."""
    return _state.interrupts_on and we_are_translated()


# ---------------------------------------------------------------- dispatch

def dispatch(frame):
    """Handles the trap described by the frame at address frame; returns
    when the trapped code may resume (with the frame as the handler left
    it).  Panics on an unhandled CPU exception; never raises otherwise."""
    vector = trapframe.read(frame, trapframe.VECTOR)
    if vector == apic.TIMER_VECTOR:
        clock.tick()
        objects.expire_leases(clock.ticks())
        apic.eoi()                          # before any switch
        sched.tick(trapframe.from_user(frame) or sched.idle_is_waiting())
    elif vector < EXCEPTION_COUNT:
        _handle_exception(frame, vector)
    elif pic.is_pic_vector(vector):
        if not pic.acknowledge(vector):
            _state.pic_spurious += 1
    elif vector == apic.SPURIOUS_VECTOR:
        _state.apic_spurious += 1            # no EOI for the spurious vector
    elif vector == apic.ERROR_VECTOR:
        apic.acknowledge_error()
        apic.eoi()
    elif vector == arch_traps.TEST_VECTOR and _state.escape_test_armed:
        _state.escape_test_armed = False
        raise _TRAP_TEST_ERROR
    else:
        _state.unexpected += 1
        _state.last_unexpected_vector = vector
        if apic.in_service(vector):
            apic.eoi()


def _record_probe_fault(frame, cr2):
    error_code = trapframe.read(frame, trapframe.ERROR_CODE)
    probes.record_fault(cr2, (error_code & PF_WRITE) != 0, (error_code & PF_PROTECTION) != 0,
                        error_code)


def _handle_exception(frame, vector):
    cr2 = 0
    if vector == VECTOR_PAGE_FAULT or vector == VECTOR_DOUBLE_FAULT:
        cr2 = cpu.read_cr2()                 # before anything can fault again
    if trapframe.from_user(frame) and vector != VECTOR_NMI and \
            vector != VECTOR_MACHINE_CHECK and sched.current() != sched.IDLE:
        _kill_faulting_process(frame, vector, cr2)
        return
    if vector == VECTOR_PAGE_FAULT:
        rip = trapframe.read(frame, trapframe.RIP)
        fixup = arch_traps.fixup_for(rip)
        if fixup != 0:
            _record_probe_fault(frame, cr2)
            trapframe.write(frame, trapframe.RIP, fixup)
            return
        if rip != 0 and rip == arch_traps.call_probe_target():
            _record_probe_fault(frame, cr2)
            trapframe.write(frame, trapframe.RIP, arch_traps.call_probe_fixup_rip())
            trapframe.write(frame, trapframe.RSP,
                            trapframe.read(frame, trapframe.RSP) + RETURN_ADDRESS_SIZE)
            return
    if vector == VECTOR_BREAKPOINT:
        _state.breakpoints += 1
        _state.last_breakpoint_rip = trapframe.read(frame, trapframe.RIP)
        return
    if vector == VECTOR_PAGE_FAULT or vector == VECTOR_DOUBLE_FAULT:
        stack = image.stack_guard_hit(cr2)
        if stack >= 0:
            _report_stack_overflow(image.STACK_NAMES[stack], cr2)
            report_exception(frame, vector, cr2)
            panic.panic(STACK_OVERFLOW_MESSAGE)
        if kernel_stacks.guard_hit(cr2) >= 0:
            _report_stack_overflow('process kernel', cr2)
            report_exception(frame, vector, cr2)
            panic.panic(STACK_OVERFLOW_MESSAGE)
    report_exception(frame, vector, cr2)
    panic.panic(PANIC_MESSAGES[vector])


def _kill_faulting_process(frame, vector, cr2):
    """Logs one line naming the process, the fault, the instruction and (for
    #PF) the address, then ends the process with EXIT_FAULT_BASE + vector;
    never returns."""
    log.begin(log.ERROR)
    log.put('process ')
    log.put_int(sched.current())
    log.put(' killed: ')
    log.put(EXCEPTION_MNEMONICS[vector])
    log.put(' (')
    log.put(EXCEPTION_NAMES[vector])
    log.put(') at rip ')
    log.put_hex(trapframe.read(frame, trapframe.RIP))
    if vector == VECTOR_PAGE_FAULT:
        log.put(', address ')
        log.put_hex(cr2)
        log.put(': ')
        _put_page_fault_cause(trapframe.read(frame, trapframe.ERROR_CODE))
        process.get(sched.current()).fault_address = cr2
    log.end()
    sched.exit_current(EXIT_FAULT_BASE + vector)


def _report_stack_overflow(stack_name, cr2):
    log.begin(log.ERROR)
    log.put(STACK_OVERFLOW_MESSAGE)
    log.put(': the guard page below the ')
    log.put(stack_name)
    log.put(' stack was hit at ')
    log.put_hex(cr2)
    log.end()


# ------------------------------------------------------------------- probe

def probe_call(target):
    """Calls the code at target and returns what it returned, or 0 when
    fetching it faulted (then probe_faulted() is True)."""
    probes.begin()
    return arch_traps.probe_call(target)


def breakpoint_count():
    """Returns how many int3 traps were handled."""
    return _state.breakpoints


def arm_escape_test():
    """Makes the next trap at arch_traps.TEST_VECTOR raise TrapTestError
    out of the handler (a deliberate failure for the boot test)."""
    _state.escape_test_armed = True


# ------------------------------------------------------------ the dump

def _put_register(name, value):
    log.put(name)
    for i in range(REGISTER_NAME_WIDTH + 1 - len(name)):
        log.put_char(' ')
    log.put_hex(value, REGISTER_DIGITS)


def _put_page_fault_cause(error_code):
    if error_code & PF_PROTECTION:
        log.put('protection violation')
    else:
        log.put('page not present')
    if error_code & PF_WRITE:
        log.put(', write')
    else:
        log.put(', read')
    if error_code & PF_USER:
        log.put(', user mode')
    else:
        log.put(', kernel mode')
    if error_code & PF_INSTRUCTION_FETCH:
        log.put(', instruction fetch')
    if error_code & PF_RESERVED_BIT:
        log.put(', reserved bit set')
    if error_code & PF_PROTECTION_KEY:
        log.put(', protection key')


def report_exception(frame, vector, cr2):
    """Writes the exception's name, error code (decoded for #PF, with CR2;
    CR2 for #DF too, since a double fault is mostly a fault on a fault),
    rip, cs, rflags, rsp, ss and every general register to the kernel log
    at ERROR level; returns nothing.  vector must be below EXCEPTION_COUNT."""
    error_code = trapframe.read(frame, trapframe.ERROR_CODE)
    log.begin(log.ERROR)
    log.put('CPU exception ')
    log.put(EXCEPTION_MNEMONICS[vector])
    log.put(' (')
    log.put(EXCEPTION_NAMES[vector])
    log.put('), vector ')
    log.put_int(vector)
    log.put(', error code ')
    log.put_hex(error_code)
    log.end()
    if vector == VECTOR_PAGE_FAULT:
        log.begin(log.ERROR)
        log.put('page fault at cr2 ')
        log.put_hex(cr2)
        log.put(': ')
        _put_page_fault_cause(error_code)
        log.end()
    elif vector == VECTOR_DOUBLE_FAULT:
        log.begin(log.ERROR)
        log.put('cr2 (the last page fault) ')
        log.put_hex(cr2)
        log.end()
    log.begin(log.ERROR)
    _put_register('rip', trapframe.read(frame, trapframe.RIP))
    log.put('  cs ')
    log.put_hex(trapframe.read(frame, trapframe.CS))
    log.put('  rflags ')
    log.put_hex(trapframe.read(frame, trapframe.RFLAGS))
    log.end()
    log.begin(log.ERROR)
    _put_register('rsp', trapframe.read(frame, trapframe.RSP))
    log.put('  ss ')
    log.put_hex(trapframe.read(frame, trapframe.SS))
    log.end()
    count = len(trapframe.REGISTER_NAMES)
    for i in range(count):
        if i % REGISTERS_PER_LINE == 0:
            log.begin(log.ERROR)
        else:
            log.put('  ')
        _put_register(trapframe.REGISTER_NAMES[i],
                      trapframe.read(frame, trapframe.REGISTER_OFFSETS[i]))
        if i % REGISTERS_PER_LINE == REGISTERS_PER_LINE - 1 or i == count - 1:
            log.end()
