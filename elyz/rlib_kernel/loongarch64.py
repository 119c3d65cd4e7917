"""loongarch64 machine primitives of the port (PLV0, QEMU virt, la464).

The interface of elyz/rlib_kernel/riscv64.py (see there), with:

    init_traps()             EENTRY -> arch/loongarch64/trap.S (ECFG.VS = 0)
    classify(frame)          ESTAT.Ecode: 0 an interrupt (TRAP_TIMER when
                             ESTAT.IS has the timer bit 11), 0xC break,
                             1..7 the page faults (PIL PIS PIF PME PNR PNX PPI)
    fault_address(frame)     BADV
    fault_is_write(frame)    PIS (store to an invalid page) or PME (store to
                             a clean, i.e. read-only, page)
    skip_breakpoint(frame)   ERA += 4 (break does not advance it)
    breakpoint()             `break 0`
    timer_start(hz, timebase, intc0, intc1) -> 0: the CPU's own stable
                             timer (TCFG periodic, period = counter
                             frequency / hz, ECFG.LIE timer bit 11); the
                             frequency is timebase when non-zero, else
                             CPUCFG word 4 (crystal) * word 5 bits 15..0 /
                             bits 31..16; the interrupt controllers are not
                             used (the timer is a CPU-local interrupt)
    timer_acknowledge()      TICLR.CLR (the periodic timer reloads itself)
    counter()                rdtime.d, the stable counter
    activate_root(root)      PGDL and PGDH <- root (one root holds both
                             halves), then invtlb 0 (everything)
    active_root()            PGDL
    invalidate_page(virt)    invtlb 6 (global or ASID 0 entries of virt)
    exit_qemu(code, hhdm)    the ACPI GED sleep register (hw/loongarch/virt.c
                             VIRT_GED_REG_ADDR): S5, QEMU powers off with
                             status 0 whatever the code (QEMU 7.2's virt
                             has no device that carries an exit status)
    EXIT_DEVICE, EXIT_DEVICE_SIZE   that register's page
    user_access_begin/end()  nothing: LoongArch has no SMAP-like window (a
                             page's RPLV bit would bar PLV0 from it for good,
                             and elyz/mm/pte/loongarch64.py never sets it)

Untranslated, `emulated()` records what was programmed (roots, TCFG,
ECFG, timer clears, invalidations, the exit write).
"""

from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

from elyz.rlib_kernel import mmio, portframe, rawmem
from elyz.rlib_kernel.ports_common import (TRAP_OTHER, TRAP_TIMER, TRAP_BREAKPOINT,
                                           TRAP_PAGE_FAULT, TRAP_EXTERNAL)

NAME = 'loongarch64'
# Does a kernel address with bits 63..48 cleared fault (self-test
# paging.no_kernel_alias_below)?  the TLB compares virtual address bits 47..13 only (VALEN 48), so a
# lower-half address with bit 47 set hits the global TLB entry of the
# kernel address it differs from in bits 63..48 alone; the page tables
# cannot prevent it. The kernel never uses such an address: its user-
# half checks stop at 2**47.
KERNEL_ALIAS_BELOW_FAULTS = False

# ESTAT (LoongArch Reference Manual vol. 1, 7.4.6): IS in bits 12..0,
# Ecode in 21..16.
ESTAT_IS_MASK = 0x1FFF
ESTAT_ECODE_SHIFT = 16
ESTAT_ECODE_MASK = 0x3F
IRQ_TIMER = 11                      # IS bit and ECFG.LIE bit of the stable timer
IRQ_HARDWARE_MASK = 0xFF << 2       # HWI0..7: external interrupts
ECODE_INT = 0x0
ECODE_PIL = 0x1                     # load from an invalid page
ECODE_PIS = 0x2                     # store to an invalid page
ECODE_PIF = 0x3                     # fetch from an invalid page
ECODE_PME = 0x4                     # store to a page whose D bit is clear
ECODE_PNR = 0x5
ECODE_PNX = 0x6
ECODE_PPI = 0x7
ECODE_ADE = 0x8                     # address error: ADEF (fetch) or ADEM (memory access)
ECODE_BRK = 0xC
ECODE_NAMES = ['interrupt', 'page invalid (load)', 'page invalid (store)',
               'page invalid (fetch)', 'page modified (store to a read-only page)',
               'page not readable', 'page not executable', 'page privilege',
               'address error', 'unaligned access', 'bound check', 'system call',
               'breakpoint', 'instruction not defined', 'instruction privilege',
               'floating point disabled']
# TCFG (7.6.2): En bit 0, Periodic bit 1, InitVal from bit 2 (a multiple of 4).
TCFG_ENABLE = 1
TCFG_PERIODIC = 2
TCFG_VALUE_MASK = int((1 << 48) - 4)
# CPUCFG words 4 and 5: the stable counter's crystal and multiplier/divider.
CPUCFG_CC_FREQ = 4
CPUCFG_CC_RATIO = 5
BREAK_SIZE = 4
# QEMU 7.2 virt: the ACPI GED's registers (hw/loongarch/virt.c
# VIRT_GED_REG_ADDR = 0x100e0000 + 4 + 24), sleep control at offset 0;
# SLP_TYP (bits 4..2) 5 = S5 with SLP_EN (bit 5): power off.
GED_REGISTERS = 0x100E001C
GED_SLEEP_POWER_OFF = (5 << 2) | (1 << 5)
EXIT_DEVICE = GED_REGISTERS
EXIT_DEVICE_SIZE = 0x1000
INTC_WINDOW = 0                     # the timer is CPU-local: no controller needed
QEMU_COUNTER_FREQUENCY = 100000000  # what CPUCFG 4/5 say on QEMU (100 MHz)

_ECI = ExternalCompilationInfo(includes=['elyz_cpu.h'])


class EmulatedLoongarch64(object):
    def __init__(self):
        self.pgdl = 0
        self.pgdh = 0
        self.boot_window_open = True
        self.ecfg = 0
        self.tcfg = 0
        self.timer_clears = 0
        self.time = 0
        self.cpucfg = {CPUCFG_CC_FREQ: QEMU_COUNTER_FREQUENCY,
                       CPUCFG_CC_RATIO: (1 << 16) | 1}
        self.invalidated = []
        self.flushes = 0
        self.breakpoints = 0


_emulated = [EmulatedLoongarch64()]


def emulate(machine=None):
    """Untranslated: installs a fresh emulation (or machine); returns it."""
    _emulated[0] = machine if machine is not None else EmulatedLoongarch64()
    _timer.frequency = 0
    _timer.period = 0
    _roots.kernel = 0
    return _emulated[0]


def emulated():
    return _emulated[0]


def _tick():
    _emulated[0].time += 1000
    return _emulated[0].time


def _write_pgds_emulated(low, high):
    _emulated[0].pgdl = low
    _emulated[0].pgdh = high


def _ext(name, args, result, emulation):
    return rffi.llexternal(name, args, result, compilation_info=_ECI, _nowrapper=True,
                           sandboxsafe=True, releasegil=False, _callable=emulation)


S = lltype.Signed
V = lltype.Void
_cpucfg = _ext('elyz_la_cpucfg', [S], S, lambda word: _emulated[0].cpucfg.get(word, 0))
_write_pgds = _ext('elyz_la_write_pgds', [S, S], V, _write_pgds_emulated)
_close_boot_window = _ext('elyz_la_close_boot_window', [], V,
                          lambda: setattr(_emulated[0], 'boot_window_open', False))
_read_pgdl = _ext('elyz_la_read_pgdl', [], S, lambda: _emulated[0].pgdl)
_invtlb_all = _ext('elyz_la_invtlb_all', [], V,
                   lambda: setattr(_emulated[0], 'flushes', _emulated[0].flushes + 1))
_invtlb_page = _ext('elyz_la_invtlb_page', [S], V,
                    lambda v: _emulated[0].invalidated.append(v))
_write_tcfg = _ext('elyz_la_write_tcfg', [S], V, lambda v: setattr(_emulated[0], 'tcfg', v))
_timer_clear = _ext('elyz_la_timer_clear', [], V,
                    lambda: setattr(_emulated[0], 'timer_clears',
                                    _emulated[0].timer_clears + 1))
_set_ecfg = _ext('elyz_la_set_ecfg', [S], V,
                 lambda b: setattr(_emulated[0], 'ecfg', _emulated[0].ecfg | b))
_rdtime = _ext('elyz_rdtsc', [], S, _tick)
_breakpoint = _ext('elyz_breakpoint', [], V,
                   lambda: setattr(_emulated[0], 'breakpoints', _emulated[0].breakpoints + 1))
_init_traps = _ext('elyz_init_traps', [], V, lambda: None)


class _Timer(object):
    def __init__(self):
        self.frequency = 0
        self.period = 0


_timer = _Timer()


def init_traps():
    """Points EENTRY at the exception entry; returns nothing."""
    _init_traps()


def _ecode(frame):
    return (portframe.read(frame, portframe.CAUSE) >> ESTAT_ECODE_SHIFT) & ESTAT_ECODE_MASK


def classify(frame):
    """Returns the TRAP_* kind of the trap saved at frame."""
    estat = portframe.read(frame, portframe.CAUSE)
    code = (estat >> ESTAT_ECODE_SHIFT) & ESTAT_ECODE_MASK
    if code == ECODE_INT:
        if estat & (1 << IRQ_TIMER):
            return TRAP_TIMER
        if estat & IRQ_HARDWARE_MASK:
            return TRAP_EXTERNAL
        return TRAP_OTHER
    if code == ECODE_BRK:
        return TRAP_BREAKPOINT
    if ECODE_PIL <= code <= ECODE_PPI or code == ECODE_ADE:
        return TRAP_PAGE_FAULT      # ADE: an address no window or table can map (BADV)
    return TRAP_OTHER


def fault_address(frame):
    """Returns BADV of the trap saved at frame."""
    return portframe.read(frame, portframe.FAULT_ADDRESS)


def fault_is_write(frame):
    """Returns True when the trap at frame is a store fault (PIS or PME)."""
    code = _ecode(frame)
    return code == ECODE_PIS or code == ECODE_PME


def cause_name(frame):
    """Returns a constant string naming the cause saved at frame."""
    code = _ecode(frame)
    if code == ECODE_INT:
        return 'unexpected interrupt'
    if 0 <= code < len(ECODE_NAMES):
        return ECODE_NAMES[code]
    return 'unknown exception'


def skip_breakpoint(frame):
    """Steps the saved ERA over the break instruction at it."""
    portframe.write(frame, portframe.PC, portframe.read(frame, portframe.PC) + BREAK_SIZE)


def breakpoint():
    """Executes `break 0`; returns after the trap was handled."""
    _breakpoint()


def counter():
    """Returns the stable counter (ticks at counter_frequency())."""
    return _rdtime()


def cpu_counter_frequency():
    """Returns the stable counter's frequency from CPUCFG words 4 and 5
    (0 when they do not say)."""
    crystal = _cpucfg(CPUCFG_CC_FREQ) & 0xFFFFFFFF
    ratio = _cpucfg(CPUCFG_CC_RATIO)
    multiplier = ratio & 0xFFFF
    divider = (ratio >> 16) & 0xFFFF
    if crystal == 0 or multiplier == 0 or divider == 0:
        return 0
    return crystal * multiplier // divider


def counter_frequency():
    """Returns the stable counter's frequency in Hz."""
    if _timer.frequency == 0:
        _timer.frequency = cpu_counter_frequency()
    return _timer.frequency


def timer_start(hz, timebase, intc0, intc1):
    """Starts the periodic stable timer at hz and enables its interrupt in
    ECFG; returns 0, or -1 for hz <= 0 or an unknown counter frequency."""
    if hz <= 0:
        return -1
    if timebase > 0:
        _timer.frequency = timebase
    frequency = counter_frequency()
    if frequency <= 0:
        return -1
    period = (frequency // hz) & TCFG_VALUE_MASK
    if period == 0:
        return -1
    _timer.period = period
    _timer_clear()
    _write_tcfg(period | TCFG_PERIODIC | TCFG_ENABLE)
    _set_ecfg(1 << IRQ_TIMER)
    return 0


def timer_period():
    """Returns the programmed period in counter ticks (0 before timer_start)."""
    return _timer.period


def timer_acknowledge():
    """Clears the timer interrupt (the next tick comes by itself)."""
    _timer_clear()


# boot.S's direct-mapped window DMW1 (arch/loongarch64/boot.h
# ELYZ_DMW_CACHED): virtual BOOT_WINDOW + p is physical p, cached, PLV0,
# with no permissions; activate_root closes it (self-test
# paging.boot_window_closed).
BOOT_WINDOW = rawmem.to_word(0x9000000000000000)

# Frame 0, zeroed by boot.c and never handed out: the empty table absent
# directory entries already name.  PGDL holds it while the kernel's own root
# is the active one, so no lower-half address translates then.
EMPTY_ROOT = 0


class _Roots(object):
    def __init__(self):
        self.kernel = 0


_roots = _Roots()


def activate_root(root):
    """Makes root the active address space and drops every TLB entry:
    PGDH always holds the kernel's root (the first one activated: the
    kernel's, kernel_space.activate), PGDL the root of a process, or the
    empty table when root is the kernel's.  The walker indexes both with
    bits 47..39 and the halves split at bit 63, so a shared root would let
    a lower-half address with bit 47 set reach the kernel's entries
    (paging's KERNEL_HALF_IN_EVERY_ROOT is False here).  The first call
    also closes boot.S's DMW1 window (BOOT_WINDOW): from then on only the
    kernel's tables, with W^X, map memory.  Returns nothing."""
    if _roots.kernel == 0:
        _roots.kernel = root
        _close_boot_window()            # from now on only page tables map memory
    low = root
    if root == _roots.kernel:
        low = EMPTY_ROOT
    _write_pgds(low, _roots.kernel)
    _invtlb_all()


def active_root():
    """Returns the physical address of the active root table: PGDL's, or
    the kernel's while PGDL holds the empty table."""
    low = _read_pgdl()
    if low == EMPTY_ROOT:
        return _roots.kernel
    return low


def invalidate_page(virt):
    """Drops the TLB entries of the page at virt; returns nothing."""
    _invtlb_page(virt)


def invalidate_all():
    """Drops every TLB entry; returns nothing."""
    _invtlb_all()


def user_access_begin():
    """No user-access window on LoongArch: always open; returns nothing."""


def user_access_end():
    """No user-access window on LoongArch; returns nothing."""


def exit_qemu(code, hhdm_offset):
    """Powers the machine off through the GED (reached through the direct
    map): QEMU exits with status 0 whatever the code; returns only when
    the device is absent."""
    mmio.write8(hhdm_offset + GED_REGISTERS, GED_SLEEP_POWER_OFF)
