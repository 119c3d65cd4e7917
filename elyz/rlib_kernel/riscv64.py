"""riscv64 machine primitives of the port (S-mode under OpenSBI, QEMU virt).

The interface every port module gives (elyz/rlib_kernel/port.py picks the
one of KARCH; elyz/kernel/porttraps.py and portmain.py use it):

    NAME                     'riscv64'
    init_traps()             stvec -> arch/riscv64/trap.S
    classify(frame) -> TRAP_* kind of the trap saved at frame
    fault_address(frame)     the faulting address of a page fault (stval)
    cause_name(frame)        a constant string naming the cause
    skip_breakpoint(frame)   steps the saved pc over the ebreak (2 or 4 bytes)
    breakpoint()             executes ebreak; returns once handled
    timer_start(hz, timebase, intc0, intc1) -> 0, arms the SBI timer for hz
                             ticks per second (timebase: counter frequency,
                             0 = the virt machine's 10 MHz) and enables its
                             interrupt (intc0/intc1: the virtual addresses of
                             the interrupt controller's register blocks, 0
                             when none; the SBI timer needs none)
    EXIT_DEVICE, EXIT_DEVICE_SIZE   physical registers exit_qemu writes (0: none)
    user_access_begin() / user_access_end()   open and close the kernel's
                             window onto user pages (riscv64: sstatus.SUM;
                             S-mode can never touch a U page outside it)
    timer_acknowledge()      arms the next tick (clears the pending STIP)
    counter() -> the free-running time counter   counter_frequency() -> Hz
    activate_root(root)      satp <- Sv48 | root >> 12, with sfence.vma
    invalidate_page(virt)    sfence.vma virt      invalidate_all()
    exit_qemu(code)          the virt test device: QEMU exits with 0 when
                             code is 0, else with code (returns if absent)

Untranslated, `emulated()` records what was programmed (satp, timer
deadlines, invalidations) and the probes of porttraps run against
rawmem's simulated memory.
"""

from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

from elyz.rlib_kernel import mmio, portframe, rawmem
from elyz.rlib_kernel.ports_common import (TRAP_OTHER, TRAP_TIMER, TRAP_BREAKPOINT,
                                           TRAP_PAGE_FAULT, TRAP_EXTERNAL)

NAME = 'riscv64'
# Does a kernel address with bits 63..48 cleared fault (self-test
# paging.no_kernel_alias_below)?  an address with bit 47 set and bits 63..48 clear is not canonical
# under Sv48: it faults.
KERNEL_ALIAS_BELOW_FAULTS = True
# No direct-mapped window outlives boot (loongarch64 has one until the
# kernel's tables are active: BOOT_WINDOW there).
BOOT_WINDOW = 0

SATP_MODE_SV48 = rawmem.to_word(9 << 60)
CAUSE_INTERRUPT = int(rawmem.to_word(1 << 63))
CAUSE_CODE_MASK = 0xFF
IRQ_SUPERVISOR_TIMER = 5
IRQ_SUPERVISOR_EXTERNAL = 9
EXC_BREAKPOINT = 3
EXC_INSTRUCTION_PAGE_FAULT = 12
EXC_LOAD_PAGE_FAULT = 13
EXC_STORE_PAGE_FAULT = 15
SIE_STIE = 1 << 5
DEFAULT_TIMEBASE = 10000000         # QEMU virt's /cpus timebase-frequency
SBI_EXT_TIME = 0x54494D45
SBI_EXT_LEGACY_SET_TIMER = 0
VIRT_TEST_DEVICE = 0x100000         # sifive,test0
TEST_PASS = 0x5555
TEST_FAIL = 0x3333
EXIT_DEVICE = VIRT_TEST_DEVICE
EXIT_DEVICE_SIZE = 0x1000
INTC_WINDOW = 0                     # the PLIC is not used yet

CAUSE_NAMES = ['instruction address misaligned', 'instruction access fault',
               'illegal instruction', 'breakpoint', 'load address misaligned',
               'load access fault', 'store address misaligned', 'store access fault',
               'environment call from U-mode', 'environment call from S-mode',
               'reserved', 'reserved', 'instruction page fault', 'load page fault',
               'reserved', 'store page fault']

_ECI = ExternalCompilationInfo(includes=['elyz_cpu.h'])


class EmulatedRiscv64(object):
    def __init__(self):
        self.satp = 0
        self.sie = 0
        self.time = 0
        self.timer_deadline = -1
        self.invalidated = []
        self.flushes = 0
        self.breakpoints = 0
        self.exit_code = -1
        self.sum = False


_emulated = [EmulatedRiscv64()]


def emulate(machine=None):
    """Untranslated: installs a fresh emulation (or machine); returns it."""
    _emulated[0] = machine if machine is not None else EmulatedRiscv64()
    return _emulated[0]


def emulated():
    return _emulated[0]


def _sbi(ext, fid, a0, a1):
    m = _emulated[0]
    if ext == SBI_EXT_TIME or ext == SBI_EXT_LEGACY_SET_TIMER:
        m.timer_deadline = a0
    return 0


def _tick():
    _emulated[0].time += 1000
    return _emulated[0].time


def _ext(name, args, result, emulation):
    return rffi.llexternal(name, args, result, compilation_info=_ECI, _nowrapper=True,
                           sandboxsafe=True, releasegil=False, _callable=emulation)


S = lltype.Signed
V = lltype.Void
_write_satp = _ext('elyz_rv_write_satp', [S], V, lambda v: setattr(_emulated[0], 'satp', v))
_read_satp = _ext('elyz_rv_read_satp', [], S, lambda: _emulated[0].satp)
_sfence_vma = _ext('elyz_rv_sfence_vma', [S], V, lambda v: _emulated[0].invalidated.append(v))
_sfence_all = _ext('elyz_rv_sfence_all', [], V,
                   lambda: setattr(_emulated[0], 'flushes', _emulated[0].flushes + 1))
_set_sie = _ext('elyz_rv_set_sie', [S], V,
                lambda b: setattr(_emulated[0], 'sie', _emulated[0].sie | b))
_sbi_call = _ext('elyz_rv_sbi_call', [S, S, S, S], S, _sbi)
_rdtime = _ext('elyz_rdtsc', [], S, _tick)
_breakpoint = _ext('elyz_breakpoint', [], V,
                   lambda: setattr(_emulated[0], 'breakpoints', _emulated[0].breakpoints + 1))
_init_traps = _ext('elyz_init_traps', [], V, lambda: None)
_sum_on = _ext('elyz_rv_sum_on', [], V, lambda: setattr(_emulated[0], 'sum', True))
_sum_off = _ext('elyz_rv_sum_off', [], V, lambda: setattr(_emulated[0], 'sum', False))


class _Timer(object):
    def __init__(self):
        self.interval = 0
        self.frequency = DEFAULT_TIMEBASE
        self.next_deadline = 0


_timer = _Timer()


def init_traps():
    """Points stvec at the trap entry; returns nothing."""
    _init_traps()


def classify(frame):
    """Returns the TRAP_* kind of the trap saved at frame."""
    cause = portframe.read(frame, portframe.CAUSE)
    code = cause & CAUSE_CODE_MASK
    if cause & CAUSE_INTERRUPT:
        if code == IRQ_SUPERVISOR_TIMER:
            return TRAP_TIMER
        if code == IRQ_SUPERVISOR_EXTERNAL:
            return TRAP_EXTERNAL
        return TRAP_OTHER
    if code == EXC_BREAKPOINT:
        return TRAP_BREAKPOINT
    if code == EXC_LOAD_PAGE_FAULT or code == EXC_STORE_PAGE_FAULT or \
            code == EXC_INSTRUCTION_PAGE_FAULT:
        return TRAP_PAGE_FAULT
    return TRAP_OTHER


def fault_address(frame):
    """Returns stval of the trap saved at frame."""
    return portframe.read(frame, portframe.FAULT_ADDRESS)


def fault_is_write(frame):
    """Returns True when the trap at frame is a store page fault."""
    return (portframe.read(frame, portframe.CAUSE) & CAUSE_CODE_MASK) == EXC_STORE_PAGE_FAULT


def cause_name(frame):
    """Returns a constant string naming the cause saved at frame."""
    cause = portframe.read(frame, portframe.CAUSE)
    code = cause & CAUSE_CODE_MASK
    if cause & CAUSE_INTERRUPT:
        return 'unexpected interrupt'
    if 0 <= code < len(CAUSE_NAMES):
        return CAUSE_NAMES[code]
    return 'unknown exception'


def skip_breakpoint(frame):
    """Steps the saved pc over the ebreak at it (c.ebreak is 2 bytes)."""
    pc = portframe.read(frame, portframe.PC)
    if rawmem.load_u16(pc) & 3 == 3:
        portframe.write(frame, portframe.PC, pc + 4)
    else:
        portframe.write(frame, portframe.PC, pc + 2)


def breakpoint():
    """Executes ebreak; returns after the trap was handled."""
    _breakpoint()


def counter():
    """Returns the time CSR (ticks at counter_frequency())."""
    return _rdtime()


def counter_frequency():
    """Returns the time counter's frequency in Hz."""
    return _timer.frequency


def _arm(deadline):
    _timer.next_deadline = deadline
    _sbi_call(SBI_EXT_TIME, 0, deadline, 0)


def timer_start(hz, timebase, intc0, intc1):
    """Arms a periodic hz tick from the SBI timer and enables its interrupt;
    returns 0, or -1 for hz <= 0 (as aarch64.timer_start)."""
    if hz <= 0:
        return -1
    if timebase > 0:
        _timer.frequency = timebase
    _timer.interval = _timer.frequency // hz
    _arm(counter() + _timer.interval)
    _set_sie(SIE_STIE)
    return 0


def timer_acknowledge():
    """Arms the next tick one interval after the last deadline (so ticks
    do not drift), or after now when the kernel fell behind; returns nothing."""
    deadline = _timer.next_deadline + _timer.interval
    now = counter()
    if deadline <= now:
        deadline = now + _timer.interval
    _arm(deadline)


def activate_root(root):
    """Loads satp with the Sv48 root table at physical root; returns nothing."""
    _write_satp(SATP_MODE_SV48 | (root >> 12))


def active_root():
    """Returns the physical address of the active root table."""
    return (_read_satp() & int((1 << 44) - 1)) << 12


def invalidate_page(virt):
    """Drops the TLB entries of the page at virt; returns nothing."""
    _sfence_vma(virt)


def invalidate_all():
    """Drops every TLB entry; returns nothing."""
    _sfence_all()


def user_access_begin():
    """Sets sstatus.SUM: the kernel may touch user pages; returns nothing."""
    _sum_on()


def user_access_end():
    """Clears sstatus.SUM; returns nothing."""
    _sum_off()


def exit_qemu(code, hhdm_offset):
    """Writes the virt test device (through the direct map): QEMU exits
    with status 0 (code 0) or code; returns only when there is no device."""
    if code == 0:
        value = TEST_PASS
    else:
        value = TEST_FAIL | (code << 16)
    mmio.write32(hhdm_offset + VIRT_TEST_DEVICE, value)
