"""The trap and timer self-tests of the aarch64, riscv64 and loongarch64
ports (x86_64's are elyz/kernel/trap_selftests.py): the same claims, and one about the lower half.

    interrupts.page_fault_caught   a load from an unmapped address traps,
                                   is recorded with its address, and the
                                   probe returns; a mapped load does not trap
    interrupts.breakpoint_returns  ebreak / brk / break traps once and
                                   execution continues after it
    interrupts.timer_ticks_advance the tick interrupt arrives, and waiting
                                   for an interrupt returns
    paging.no_kernel_alias_below   the kernel image's address with its top 16
                                   bits cleared (bit 47 set: above the user
                                   half) faults: no lower-half address reaches
                                   the kernel's tables (aarch64: TTBR0 covers
                                   47 bits only; riscv64 Sv48: not canonical).
                                   Not on loongarch64, whose TLB compares
                                   virtual address bits 47..13 only: a global
                                   kernel entry matches the alias whatever the
                                   tables say (KERNEL_ALIAS_BELOW_FAULTS)
    paging.boot_window_closed      loongarch64: reading the kernel image through
                                   boot.S's direct-mapped window (which would
                                   alias every frame read-write-execute) faults
                                   once the kernel's tables are active
    interrupts.timer_rate          ticks counted over 200 ms of the
                                   architectural counter are within 3x of
                                   TICKS_PER_SECOND (a wrong divider is
                                   10x or more off)

Registered only by the port kernels (elyz/kernel/portmain.py imports it).
"""

from elyz.boot import layout
from elyz.kernel import porttraps, selftest
from elyz.lib import clock
from elyz.rlib_kernel import cpu, image
from elyz.rlib_kernel.port import machine

# In the lower half, which the kernel's own tables leave empty.
UNMAPPED_ADDRESS = 0x100000000000
WORD = 8
RATE_TOLERANCE = 3
RATE_WINDOW_MS = 200
MS_PER_SECOND = 1000
# Bounded waits, in counter time: a tick is due every 10 ms.
FIRST_TICK_WAIT_MS = 500
HALTS = 3


def _counter_after_ms(ms):
    return machine.counter() + machine.counter_frequency() * ms // MS_PER_SECOND


def test_page_fault_caught():
    """Returns None, or why a fault was not caught as it should be."""
    porttraps.probe_read(image.kernel_start())
    if porttraps.probe_faulted():
        return 'reading the kernel image faulted'
    value = porttraps.probe_read(UNMAPPED_ADDRESS)
    if not porttraps.probe_faulted():
        return 'reading an unmapped address did not fault'
    if porttraps.probe_fault_address() != UNMAPPED_ADDRESS:
        return 'the fault address is not the address read'
    if porttraps.probe_fault_was_write():
        return 'a load was reported as a store'
    if value != 0:
        return 'the faulted probe did not return 0'
    porttraps.probe_read32(UNMAPPED_ADDRESS + WORD)
    if not porttraps.probe_faulted() or \
            porttraps.probe_fault_address() != UNMAPPED_ADDRESS + WORD:
        return 'the 32-bit probe fault was not recorded at its address'
    if porttraps.probe_write(UNMAPPED_ADDRESS, 1):
        return 'a store to an unmapped address did not fault'
    if not porttraps.probe_fault_was_write():
        return 'a store fault was reported as a load'
    return None


LOW_48_BITS = (1 << 48) - 1


def test_no_kernel_alias_below():
    """Returns None, or why a lower-half alias of the kernel was readable."""
    alias = image.kernel_start() & LOW_48_BITS
    porttraps.probe_read(alias)
    if not porttraps.probe_faulted():
        return 'the kernel image is readable at its lower-half alias'
    return None


def test_boot_window_closed():
    """Returns None, or why memory was readable through the boot window."""
    phys = image.kernel_start() - layout.KERNEL_VIRT_BASE + layout.KERNEL_PHYS_BASE
    porttraps.probe_read(machine.BOOT_WINDOW + phys)
    if not porttraps.probe_faulted():
        return 'the kernel image is readable through the boot window'
    return None


def test_breakpoint_returns():
    """Returns None, or why the breakpoint did not trap exactly once."""
    before = porttraps.breakpoint_count()
    machine.breakpoint()
    if porttraps.breakpoint_count() != before + 1:
        return 'the breakpoint trap was not counted once'
    return None


def test_timer_ticks_advance():
    """Returns None, or why the clock did not advance."""
    if not porttraps.interrupts_ready():
        return 'interrupts are not set up'
    if clock.ticks_per_second() == 0:
        return 'the timer is not running'
    start = clock.ticks()
    deadline = _counter_after_ms(FIRST_TICK_WAIT_MS)
    while clock.ticks() == start and machine.counter() < deadline:
        cpu.compiler_barrier()
    if clock.ticks() == start:
        return 'no timer tick within 500 ms of interrupts on'
    before = clock.ticks()
    for i in range(HALTS):
        cpu.wait_for_interrupt()
    if clock.ticks() <= before:
        return 'waiting for an interrupt returned but the clock did not advance'
    return None


def test_timer_rate():
    """Returns None, or why the tick rate is far from TICKS_PER_SECOND."""
    if not porttraps.interrupts_ready() or clock.ticks_per_second() == 0:
        return 'the timer is not running'
    start = clock.ticks()
    deadline = _counter_after_ms(RATE_WINDOW_MS)
    while machine.counter() < deadline:
        cpu.compiler_barrier()
    counted = clock.ticks() - start
    expected = clock.TICKS_PER_SECOND * RATE_WINDOW_MS // MS_PER_SECOND
    if counted * RATE_TOLERANCE < expected:
        return 'the timer ticks more than 3 times too slowly'
    if counted > expected * RATE_TOLERANCE:
        return 'the timer ticks more than 3 times too fast'
    return None


def register_all():
    """Registers the five tests (called once, at import by portmain)."""
    selftest.register('interrupts.page_fault_caught', test_page_fault_caught)
    if getattr(machine, 'KERNEL_ALIAS_BELOW_FAULTS', True):     # machine: None on x86_64
        selftest.register('paging.no_kernel_alias_below', test_no_kernel_alias_below)
    if getattr(machine, 'BOOT_WINDOW', 0) != 0:
        selftest.register('paging.boot_window_closed', test_boot_window_closed)
    selftest.register('interrupts.breakpoint_returns', test_breakpoint_returns)
    selftest.register('interrupts.timer_ticks_advance', test_timer_ticks_advance)
    selftest.register('interrupts.timer_rate', test_timer_rate)
