"""aarch64 machine primitives of the port (EL1, QEMU virt, GICv2 or GICv3
distributor + CPU interface through memory-mapped registers).

The interface of elyz/rlib_kernel/riscv64.py (see there), with:

    classify(frame)          ESR_EL1.EC: 0x3c brk, 0x24/0x25 data abort,
                             0x20/0x21 instruction abort; an IRQ frame
                             (CAUSE = FRAME_CAUSE_IRQ) asks the GIC which
                             interrupt it is (GICC_IAR) and is TRAP_TIMER
                             for the virtual timer's PPI 27
    skip_breakpoint(frame)   ELR += 4 (brk does not advance it)
    timer_start(hz, timebase, gic_dist, gic_cpu) -> 0, or -1 without a GICv2
                             (gic_*: virtual addresses of its two register
                             blocks, 0 when the machine has none)
    timer_acknowledge()      re-arms CNTV for the next tick and signals the
                             end of the interrupt to the GIC
    activate_root(root)      TTBR0_EL1 and TTBR1_EL1 <- root (the one root
                             table holds both halves), TLB flushed
    user_access_begin/end()  nothing: cortex-a72 (ARMv8.0) has no PAN, so
                             EL1 may always touch EL0 pages (the SMAP analogue
                             would be PSTATE.PAN on ARMv8.1 and later)
    exit_qemu(code, hhdm)    semihosting SYS_EXIT (QEMU exits with code;
                             needs -semihosting-config enable=on)
"""

from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

from elyz.rlib_kernel import mmio, portframe, rawmem
from elyz.rlib_kernel.ports_common import (TRAP_OTHER, TRAP_TIMER, TRAP_BREAKPOINT,
                                           TRAP_PAGE_FAULT, TRAP_EXTERNAL)

NAME = 'aarch64'
# Does a kernel address with bits 63..48 cleared fault (self-test
# paging.no_kernel_alias_below)?  TTBR0 covers 47 bits (T0SZ = 17): an address with bit 47 set and bits
# 63..48 clear faults.
KERNEL_ALIAS_BELOW_FAULTS = True
# No direct-mapped window outlives boot (loongarch64 has one until the
# kernel's tables are active: BOOT_WINDOW there).
BOOT_WINDOW = 0

CAUSE_IRQ = rawmem.to_word(1 << 63)          # boot.h FRAME_CAUSE_IRQ
ESR_EC_SHIFT = 26
ESR_EC_MASK = 0x3F
EC_BRK = 0x3C
EC_INSTRUCTION_ABORT_LOWER = 0x20
EC_INSTRUCTION_ABORT = 0x21
EC_DATA_ABORT_LOWER = 0x24
EC_DATA_ABORT = 0x25
ESR_WNR = 1 << 6                              # data abort: the access was a write
# GICv2 (ARM IHI 0048B).
GICD_CTLR = 0x000
GICD_ISENABLER0 = 0x100
GICD_IPRIORITYR = 0x400
GICC_CTLR = 0x000
GICC_PMR = 0x004
GICC_IAR = 0x00C
GICC_EOIR = 0x010
GIC_SPURIOUS = 1023
GIC_ID_MASK = 0x3FF
VIRTUAL_TIMER_PPI = 27
GIC_WINDOW = 0x10000                          # bytes of each register block mapped
TIMER_PRIORITY = 0xA0
EXIT_DEVICE = 0                               # semihosting needs no device
EXIT_DEVICE_SIZE = 0
INTC_WINDOW = GIC_WINDOW

EXCEPTION_CLASS_NAMES = {
    0x00: 'unknown reason', 0x01: 'WFI/WFE trapped', 0x0E: 'illegal execution state',
    0x15: 'SVC', 0x18: 'system register access', 0x20: 'instruction abort from EL0',
    0x21: 'instruction abort', 0x22: 'pc alignment fault', 0x24: 'data abort from EL0',
    0x25: 'data abort', 0x26: 'sp alignment fault', 0x2F: 'SError', 0x3C: 'BRK',
}
_EC_NAMES = ['exception class %#x' % ec for ec in range(64)]
for _ec in EXCEPTION_CLASS_NAMES:
    _EC_NAMES[_ec] = EXCEPTION_CLASS_NAMES[_ec]

_ECI = ExternalCompilationInfo(includes=['elyz_cpu.h'])


class EmulatedAarch64(object):
    def __init__(self):
        self.root = 0
        self.mair = 0
        self.t0sz = 16
        self.counter = 0
        self.frequency = 62500000
        self.timer_tval = -1
        self.invalidated = []
        self.flushes = 0
        self.breakpoints = 0
        self.exit_code = -1


_emulated = [EmulatedAarch64()]


def emulate(machine=None):
    """Untranslated: installs a fresh emulation (or machine); returns it."""
    _emulated[0] = machine if machine is not None else EmulatedAarch64()
    return _emulated[0]


def emulated():
    return _emulated[0]


def _tick():
    _emulated[0].counter += 1000
    return _emulated[0].counter


def _ext(name, args, result, emulation):
    return rffi.llexternal(name, args, result, compilation_info=_ECI, _nowrapper=True,
                           sandboxsafe=True, releasegil=False, _callable=emulation)


S = lltype.Signed
V = lltype.Void
_set_roots = _ext('elyz_a64_set_roots', [S], V, lambda r: setattr(_emulated[0], 'root', r))
_set_mair = _ext('elyz_a64_set_mair', [S], V, lambda m: setattr(_emulated[0], 'mair', m))
_set_t0sz = _ext('elyz_a64_set_t0sz', [S], V, lambda t: setattr(_emulated[0], 't0sz', t))
_read_ttbr1 = _ext('elyz_a64_read_ttbr1', [], S, lambda: _emulated[0].root)
_tlbi_page = _ext('elyz_a64_tlbi_page', [S], V, lambda v: _emulated[0].invalidated.append(v))
_tlbi_all = _ext('elyz_a64_tlbi_all', [], V,
                 lambda: setattr(_emulated[0], 'flushes', _emulated[0].flushes + 1))
_cntfrq = _ext('elyz_a64_cntfrq', [], S, lambda: _emulated[0].frequency)
_timer_set = _ext('elyz_a64_timer_set', [S], V, lambda t: setattr(_emulated[0], 'timer_tval', t))
_cntvct = _ext('elyz_rdtsc', [], S, _tick)
_breakpoint = _ext('elyz_breakpoint', [], V,
                   lambda: setattr(_emulated[0], 'breakpoints', _emulated[0].breakpoints + 1))
_init_traps = _ext('elyz_init_traps', [], V, lambda: None)
_semihosting_exit = _ext('elyz_a64_semihosting_exit', [S], V,
                         lambda c: setattr(_emulated[0], 'exit_code', c))


class _Interrupts(object):
    def __init__(self):
        self.gic_dist = 0
        self.gic_cpu = 0
        self.interval = 0
        self.frequency = 0
        self.pending_id = GIC_SPURIOUS


_irq = _Interrupts()


def init_traps():
    """Points VBAR_EL1 at the vectors; returns nothing."""
    _init_traps()


def _exception_class(frame):
    return (portframe.read(frame, portframe.CAUSE) >> ESR_EC_SHIFT) & ESR_EC_MASK


def classify(frame):
    """Returns the TRAP_* kind of the trap saved at frame (for an IRQ,
    acknowledges it at the GIC: timer_acknowledge or the caller ends it)."""
    cause = portframe.read(frame, portframe.CAUSE)
    if cause == CAUSE_IRQ:
        if _irq.gic_cpu == 0:
            return TRAP_EXTERNAL
        _irq.pending_id = mmio.read32(_irq.gic_cpu + GICC_IAR)
        interrupt = _irq.pending_id & GIC_ID_MASK
        if interrupt == VIRTUAL_TIMER_PPI:
            return TRAP_TIMER
        if interrupt != GIC_SPURIOUS:
            mmio.write32(_irq.gic_cpu + GICC_EOIR, _irq.pending_id)
        return TRAP_EXTERNAL
    ec = _exception_class(frame)
    if ec == EC_BRK:
        return TRAP_BREAKPOINT
    if ec == EC_DATA_ABORT or ec == EC_DATA_ABORT_LOWER or ec == EC_INSTRUCTION_ABORT or \
            ec == EC_INSTRUCTION_ABORT_LOWER:
        return TRAP_PAGE_FAULT
    return TRAP_OTHER


def fault_address(frame):
    """Returns FAR_EL1 of the trap saved at frame."""
    return portframe.read(frame, portframe.FAULT_ADDRESS)


def fault_is_write(frame):
    """Returns True when the trap at frame is a data abort on a store."""
    ec = _exception_class(frame)
    if ec != EC_DATA_ABORT and ec != EC_DATA_ABORT_LOWER:
        return False
    return (portframe.read(frame, portframe.CAUSE) & ESR_WNR) != 0


def cause_name(frame):
    """Returns a constant string naming the cause saved at frame."""
    if portframe.read(frame, portframe.CAUSE) == CAUSE_IRQ:
        return 'unexpected interrupt'
    return _EC_NAMES[_exception_class(frame)]


def skip_breakpoint(frame):
    """Steps the saved pc over the brk at it; returns nothing."""
    portframe.write(frame, portframe.PC, portframe.read(frame, portframe.PC) + 4)


def breakpoint():
    """Executes brk #0; returns after the trap was handled."""
    _breakpoint()


def counter():
    """Returns CNTVCT_EL0."""
    return _cntvct()


def counter_frequency():
    """Returns CNTFRQ_EL0 in Hz."""
    return _cntfrq()


def timer_start(hz, timebase, gic_dist, gic_cpu):
    """Enables the GICv2 and the virtual timer's PPI, and arms a periodic
    hz tick; returns 0, or -1 without a GIC or for hz <= 0."""
    if hz <= 0 or gic_dist == 0 or gic_cpu == 0:
        return -1
    _irq.gic_dist = gic_dist
    _irq.gic_cpu = gic_cpu
    _irq.frequency = counter_frequency()
    _irq.interval = _irq.frequency // hz
    mmio.write8(gic_dist + GICD_IPRIORITYR + VIRTUAL_TIMER_PPI, TIMER_PRIORITY)
    mmio.write32(gic_dist + GICD_ISENABLER0, 1 << VIRTUAL_TIMER_PPI)
    mmio.write32(gic_dist + GICD_CTLR, 1)
    mmio.write32(gic_cpu + GICC_PMR, 0xFF)
    mmio.write32(gic_cpu + GICC_CTLR, 1)
    _timer_set(_irq.interval)
    return 0


def timer_acknowledge():
    """Arms the next tick and ends the timer interrupt at the GIC."""
    _timer_set(_irq.interval)
    mmio.write32(_irq.gic_cpu + GICC_EOIR, _irq.pending_id)


# MAIR_EL1 as the kernel's tables use it (elyz/mm/pte/aarch64.py): index 0
# normal write-back (0xff), 1 device nGnRE (0x04), 2 normal non-cacheable
# (0x44).  arch/aarch64/boot.S sets the same value.
MAIR_VALUE = 0x4404ff
# TTBR0 translates the 128 TiB user half only (arch/aarch64/boot.S): a walk
# through TTBR0 never indexes the kernel's root entries 256..511.
T0SZ_USER_HALF = 17


def activate_root(root):
    """Programs MAIR_EL1, then loads TTBR0_EL1 and TTBR1_EL1 with root;
    returns nothing.

    MAIR is written here, right before the switch, because the tables
    being left may be Limine's, made for Limine's MAIR (index 0 normal
    write-back, 1 the framebuffer's type): its index 0 is ours too, so
    everything the kernel touches until the switch (code, data, stack,
    the HHDM, the UART in Limine's 4 GiB of HHDM) keeps its meaning, and
    only Limine's framebuffer mapping, unused by then, changes type.
    TCR_EL1 keeps Limine's 4-level mode (4 KiB granules in both halves,
    T1SZ = 16, IPS from the CPU) but gets T0SZ = 17, as boot.S sets it:
    TTBR0 then covers the user half only (Limine leaves 16)."""
    _set_mair(MAIR_VALUE)
    _set_t0sz(T0SZ_USER_HALF)
    _set_roots(root)


def active_root():
    """Returns the physical address of the active root table."""
    return _read_ttbr1() & int((1 << 48) - 1) & ~0xFFF


def invalidate_page(virt):
    """Drops the TLB entries of the page at virt (all ASIDs); returns nothing."""
    _tlbi_page(virt)


def invalidate_all():
    """Drops every TLB entry of EL1; returns nothing."""
    _tlbi_all()


def user_access_begin():
    """No PAN on this CPU: the window is always open; returns nothing."""


def user_access_end():
    """No PAN on this CPU; returns nothing."""


def exit_qemu(code, hhdm_offset):
    """Semihosting SYS_EXIT: QEMU exits with status code; returns only
    when semihosting is off (then the hlt traps: the caller halts)."""
    _semihosting_exit(code)
