"""The local APIC of the boot CPU: enable, end of interrupt, periodic timer.

    init() -> 0, E_NO_APIC or E_NOT_MAPPED
                                enables the APIC (IA32_APIC_BASE global
                                enable, then the spurious vector register)
    mmio_address(phys) -> virtual address of the register page, or an E_*
                                code of elyz.abi.errors: THE one place that
                                decides how the LAPIC is mapped
    register_page() -> the virtual address init() will use, 0 when none
                                (no APIC, x2APIC mode, unmappable): probe it first
    calibrate_timer() -> 0 or E_NO_PIT / E_TIMER_STOPPED
                                measures timer counts per second against
                                the PIT (pit.py), CALIBRATION_MS long
    start_timer(hz) -> 0 or an E_* code
                                periodic interrupts at TIMER_VECTOR, hz a second
    stop_timer()
    eoi()                       ends the interrupt being served
    in_service(vector) -> bool  is vector's bit set in the ISR?
    acknowledge_error() -> the error status (ESR) after an ERROR_VECTOR interrupt
    timer_counts_per_second() -> the calibrated rate (0 before calibration)
    TIMER_VECTOR ERROR_VECTOR SPURIOUS_VECTOR

Registers are reached through memory (xAPIC) or, when the firmware left the
APIC in x2APIC mode, through MSRs 0x800 + offset / 16; both are handled by
read_register / write_register.  Nothing here allocates, so eoi() and
in_service() are safe in interrupt handlers.

Reference: Intel SDM vol. 3, chapter 11 (APIC), tables 11-1 and 11-6.
"""

from elyz.boot.bootinfo import boot_info
from elyz.drivers import pit
from elyz.mm import kernel_space
from elyz.rlib_kernel import cpu, mmio

# CPUID leaf 1, EDX bit 9: on-chip APIC.
CPUID_FEATURES = 1
CPUID_EDX = 3
CPUID_EDX_APIC = 1 << 9

MSR_APIC_BASE = 0x1B
APIC_BASE_BSP = 1 << 8
APIC_BASE_X2APIC = 1 << 10
APIC_BASE_ENABLE = 1 << 11
APIC_BASE_ADDRESS_MASK = 0x000FFFFFFFFFF000
X2APIC_MSR_BASE = 0x800
X2APIC_REGISTER_SHIFT = 4

# Register offsets in the 4 KiB register page.
REG_ID = 0x020
REG_VERSION = 0x030
REG_TASK_PRIORITY = 0x080
REG_EOI = 0x0B0
REG_SPURIOUS = 0x0F0
REG_ISR_BASE = 0x100          # eight 32-bit registers, 0x10 apart
REG_ERROR_STATUS = 0x280
REG_LVT_TIMER = 0x320
REG_LVT_ERROR = 0x370
REG_TIMER_INITIAL = 0x380
REG_TIMER_CURRENT = 0x390
REG_TIMER_DIVIDE = 0x3E0
REGISTER_STRIDE = 0x10
VECTORS_PER_ISR_REGISTER = 32

SPURIOUS_APIC_ENABLE = 1 << 8
LVT_MASKED = 1 << 16
LVT_TIMER_PERIODIC = 1 << 17
TIMER_DIVIDE_BY_16 = 0x3
TIMER_COUNT_MAX = 0xFFFFFFFF
TASK_PRIORITY_ACCEPT_ALL = 0

TIMER_VECTOR = 0x30           # just above the PIC's 0x20-0x2f
ERROR_VECTOR = 0xFE
SPURIOUS_VECTOR = 0xFF        # low 4 bits must be 1 on old APICs

CALIBRATION_MS = 50           # at most pit.MAX_ONESHOT_MS
MS_PER_SECOND = 1000

E_NO_APIC = -1                # CPUID says there is no local APIC
E_NO_PIT = -2                 # the PIT one-shot never ended
E_TIMER_STOPPED = -3          # the APIC timer did not count during calibration
E_BAD_RATE = -4               # hz is 0 or faster than the timer counts
E_NOT_ENABLED = -5            # init() has not succeeded
APIC_REGISTER_PAGE_SIZE = 4096
E_NOT_MAPPED = -6             # the register page is not mapped (see mmio_address)


class _ApicState(object):
    def __init__(self):
        self.reset()

    def reset(self):
        self.enabled = False
        self.x2apic = False
        self.base_phys = 0
        self.base = 0
        self.counts_per_second = 0
        self.timer_hz = 0
        self.errors = 0


_state = _ApicState()


def reset_for_tests():
    """Untranslated only: forgets everything init() and the timer learnt."""
    _state.reset()


def mmio_address(phys):
    """Returns the virtual address at which the kernel reaches the LAPIC
    register page at physical address phys, or 0 when it cannot be mapped.

    Once the kernel runs on its own page tables, the page is mapped
    uncached in the direct map (kernel_space.map_device); before that, the
    boot direct map is used as it is."""
    if kernel_space.kernel_pml4() != 0:
        return kernel_space.map_device(phys, APIC_REGISTER_PAGE_SIZE)
    return phys + boot_info.hhdm_offset


def _present():
    return (cpu.cpuid(CPUID_FEATURES, 0, CPUID_EDX) & CPUID_EDX_APIC) != 0


def register_page():
    """Returns the virtual address of the register page init() will use,
    or 0 when there is none to touch (no APIC, the APIC is in x2APIC mode
    and uses MSRs, or mmio_address cannot map the page).  Changes no APIC
    state (mmio_address may create the mapping)."""
    if not _present():
        return 0
    base_msr = cpu.read_msr(MSR_APIC_BASE)
    if base_msr & APIC_BASE_X2APIC:
        return 0
    return mmio_address(base_msr & APIC_BASE_ADDRESS_MASK)


def read_register(reg):
    """Returns the 32-bit APIC register at offset reg."""
    if _state.x2apic:
        return cpu.read_msr(X2APIC_MSR_BASE + (reg >> X2APIC_REGISTER_SHIFT))
    return mmio.read32(_state.base + reg)


def write_register(reg, value):
    """Writes the 32-bit APIC register at offset reg; returns nothing."""
    if _state.x2apic:
        cpu.write_msr(X2APIC_MSR_BASE + (reg >> X2APIC_REGISTER_SHIFT), value)
    else:
        mmio.write32(_state.base + reg, value)


def init():
    """Enables the boot CPU's local APIC; returns 0, or E_NO_APIC when the
    CPU has none."""
    if not _present():
        return E_NO_APIC
    base_msr = cpu.read_msr(MSR_APIC_BASE)
    if (base_msr & APIC_BASE_ENABLE) == 0:
        base_msr |= APIC_BASE_ENABLE
        cpu.write_msr(MSR_APIC_BASE, base_msr)
    _state.x2apic = (base_msr & APIC_BASE_X2APIC) != 0
    _state.base_phys = base_msr & APIC_BASE_ADDRESS_MASK
    base = mmio_address(_state.base_phys)
    if base == 0 and not _state.x2apic:
        return E_NOT_MAPPED
    _state.base = base
    write_register(REG_TASK_PRIORITY, TASK_PRIORITY_ACCEPT_ALL)
    write_register(REG_LVT_ERROR, ERROR_VECTOR)
    write_register(REG_SPURIOUS, SPURIOUS_APIC_ENABLE | SPURIOUS_VECTOR)
    _state.enabled = True
    return 0


def eoi():
    """Signals the end of the interrupt being served; returns nothing."""
    write_register(REG_EOI, 0)


def in_service(vector):
    """Returns True when the APIC is serving vector (its ISR bit is set)."""
    if not _state.enabled:
        return False
    reg = REG_ISR_BASE + REGISTER_STRIDE * (vector // VECTORS_PER_ISR_REGISTER)
    return ((read_register(reg) >> (vector % VECTORS_PER_ISR_REGISTER)) & 1) != 0


def acknowledge_error():
    """Returns the error status after an ERROR_VECTOR interrupt (and counts it)."""
    write_register(REG_ERROR_STATUS, 0)      # a write latches the current errors
    _state.errors += 1
    return read_register(REG_ERROR_STATUS)


def calibrate_timer():
    """Measures the timer's counts per second (divide by 16) over a PIT
    one-shot; returns 0, E_NOT_ENABLED, E_NO_PIT or E_TIMER_STOPPED."""
    if not _state.enabled:
        return E_NOT_ENABLED
    write_register(REG_TIMER_DIVIDE, TIMER_DIVIDE_BY_16)
    write_register(REG_LVT_TIMER, LVT_MASKED | TIMER_VECTOR)
    pit.start_oneshot(CALIBRATION_MS)
    write_register(REG_TIMER_INITIAL, TIMER_COUNT_MAX)
    pit_ok = pit.wait_oneshot()
    remaining = read_register(REG_TIMER_CURRENT)
    write_register(REG_TIMER_INITIAL, 0)
    if not pit_ok:
        return E_NO_PIT
    elapsed = TIMER_COUNT_MAX - remaining
    if elapsed <= 0:
        return E_TIMER_STOPPED
    _state.counts_per_second = elapsed * MS_PER_SECOND // CALIBRATION_MS
    return 0


def timer_counts_per_second():
    """Returns the calibrated timer rate in counts per second, 0 before calibration."""
    return _state.counts_per_second


def start_timer(hz):
    """Starts periodic TIMER_VECTOR interrupts hz times a second, calibrating
    first if needed; returns 0 or E_NOT_ENABLED, E_NO_PIT, E_TIMER_STOPPED,
    E_BAD_RATE."""
    if not _state.enabled:
        return E_NOT_ENABLED
    if _state.counts_per_second == 0:
        status = calibrate_timer()
        if status != 0:
            return status
    if hz <= 0:
        return E_BAD_RATE
    initial = _state.counts_per_second // hz
    if initial <= 0 or initial > TIMER_COUNT_MAX:
        return E_BAD_RATE
    write_register(REG_TIMER_DIVIDE, TIMER_DIVIDE_BY_16)
    write_register(REG_LVT_TIMER, LVT_TIMER_PERIODIC | TIMER_VECTOR)
    write_register(REG_TIMER_INITIAL, initial)
    _state.timer_hz = hz
    return 0


def stop_timer():
    """Stops and masks the timer; returns nothing."""
    if _state.enabled:
        write_register(REG_LVT_TIMER, LVT_MASKED | TIMER_VECTOR)
        write_register(REG_TIMER_INITIAL, 0)
        _state.timer_hz = 0
