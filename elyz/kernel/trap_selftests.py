"""Self-tests of traps and interrupts (`make selftest`), registered on import.

    interrupts.page_fault_caught     probes (64- and 32-bit) of an unmapped
                                     address fault, are fixed up, and record
                                     CR2 and the error code; a probe of mapped
                                     memory works
    interrupts.breakpoint_returns    int3 is handled and execution resumes
    interrupts.timer_ticks_advance   the clock ticks with interrupts on (bounded
                                     by the PIT), and sti;hlt wakes on the timer
    interrupts.timer_rate            ticks over a PIT-measured interval match
                                     clock.TICKS_PER_SECOND within a factor of 3

Each test returns None when it passed, or a constant string saying why not.
"""

from elyz.boot.bootinfo import boot_info
from elyz.drivers import pit
from elyz.kernel import selftest, traps
from elyz.lib import clock
from elyz.rlib_kernel import cpu, rawmem
from elyz.rlib_kernel import traps as arch_traps

# Lower half, PML4 entry 224: the early tables of boot.S map PML4 entries 0
# (identity 0-4 GiB), 256 (direct map) and 511 (kernel) only, and Limine
# maps nothing there either; the test checks the PML4 entry first.
UNMAPPED_ADDRESS = 0x0000700000000123
PML4_INDEX_SHIFT = 39
PML4_INDEX_MASK = 0x1FF
PTE_PRESENT = 1
CR3_ADDRESS_MASK = 0x000FFFFFFFFFF000
WORD = 8
PF_CAUSE_BITS = traps.PF_PROTECTION | traps.PF_WRITE | traps.PF_USER | traps.PF_INSTRUCTION_FETCH

PIT_WINDOW_MS = 50              # one PIT one-shot (at most pit.MAX_ONESHOT_MS)
FIRST_TICK_WINDOWS = 10         # wait at most 500 ms for the first tick
HALTS = 3
RATE_WINDOWS = 6                # measure the rate over 300 ms
RATE_TOLERANCE = 3


def _pml4_entry(virt):
    pml4 = (cpu.read_cr3() & CR3_ADDRESS_MASK) + boot_info.hhdm_offset
    return rawmem.load_u64(pml4 + WORD * ((virt >> PML4_INDEX_SHIFT) & PML4_INDEX_MASK))


def test_page_fault_caught():
    """Returns None, or why the page-fault probe did not behave."""
    if _pml4_entry(UNMAPPED_ADDRESS) & PTE_PRESENT:
        return 'the test address is mapped (PML4 entry present)'
    mapped = arch_traps.probe_fault_rip()        # kernel text: mapped, readable
    value = traps.probe_read(mapped)
    if traps.probe_faulted():
        return 'reading mapped kernel text faulted'
    if value != rawmem.load_u64(mapped):
        return 'probe_read of mapped memory returned the wrong word'
    value = traps.probe_read(UNMAPPED_ADDRESS)
    if not traps.probe_faulted():
        return 'reading an unmapped address did not fault'
    if traps.probe_fault_address() != UNMAPPED_ADDRESS:
        return 'the fault recorded the wrong CR2'
    if (traps.probe_fault_error_code() & PF_CAUSE_BITS) != 0:
        return 'the error code is not: not present, read, kernel, data'
    if value != arch_traps.PROBE_FAULT_VALUE:
        return 'the faulted probe did not return through its fixup'
    traps.probe_read32(UNMAPPED_ADDRESS + WORD)
    if not traps.probe_faulted() or traps.probe_fault_address() != UNMAPPED_ADDRESS + WORD:
        return 'the 32-bit probe did not record its fault'
    return None


def test_breakpoint_returns():
    """Returns None, or why int3 was not handled and resumed."""
    before = traps.breakpoint_count()
    arch_traps.breakpoint()
    if traps.breakpoint_count() != before + 1:
        return 'int3 did not reach the breakpoint handler exactly once'
    return None


def _wait_for_tick(start):
    """Returns True when ticks() moved past start within FIRST_TICK_WINDOWS
    PIT windows (interrupts enabled, no hlt: bounded even with no timer)."""
    for i in range(FIRST_TICK_WINDOWS):
        pit.start_oneshot(PIT_WINDOW_MS)
        while clock.ticks() == start:
            if pit.oneshot_expired():
                break
        if clock.ticks() != start:
            return True
    return False


def test_timer_ticks_advance():
    """Returns None, or why the clock did not advance."""
    if not traps.interrupts_ready():
        return 'interrupts are not set up'
    if clock.ticks_per_second() == 0:
        return 'the timer is not running'
    if not _wait_for_tick(clock.ticks()):
        return 'no timer tick within 500 ms of interrupts on'
    before = clock.ticks()
    for i in range(HALTS):
        cpu.wait_for_interrupt()                 # the timer is alive: hlt returns
    if clock.ticks() <= before:
        return 'sti;hlt returned but the clock did not advance'
    return None


def test_timer_rate():
    """Returns None, or why the tick rate is far from TICKS_PER_SECOND."""
    if not traps.interrupts_ready() or clock.ticks_per_second() == 0:
        return 'the timer is not running'
    start = clock.ticks()
    for i in range(RATE_WINDOWS):
        if not pit.delay_ms(PIT_WINDOW_MS):
            return 'the PIT one-shot never ended'
    counted = clock.ticks() - start
    expected = clock.TICKS_PER_SECOND * PIT_WINDOW_MS * RATE_WINDOWS // pit.MS_PER_SECOND
    if counted * RATE_TOLERANCE < expected:
        return 'the timer ticks more than 3 times too slowly'
    if counted > expected * RATE_TOLERANCE:
        return 'the timer ticks more than 3 times too fast'
    return None


selftest.register('interrupts.page_fault_caught', test_page_fault_caught)
selftest.register('interrupts.breakpoint_returns', test_breakpoint_returns)
selftest.register('interrupts.timer_ticks_advance', test_timer_ticks_advance)
selftest.register('interrupts.timer_rate', test_timer_rate)
