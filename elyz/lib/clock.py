"""The kernel's monotonic clock: timer ticks since the timer started.

    TICKS_PER_SECOND      the rate the periodic timer is programmed at
    ticks() -> count      ticks so far (never decreases; 0 before the timer runs)
    ticks_per_second() -> TICKS_PER_SECOND once the timer runs, else 0
    tick()                the timer interrupt handler's one call
    set_running(flag)     called once the timer is (or is not) started

tick() only increments a word of a prebuilt object: safe in an interrupt
handler.  On one CPU a 64-bit aligned load is atomic, so ticks() needs no
lock; it passes a compiler barrier first, so a loop polling it sees the
interrupt handler's increments.
"""

from elyz.rlib_kernel import cpu

TICKS_PER_SECOND = 100


class _ClockState(object):
    def __init__(self):
        self.reset()

    def reset(self):
        self.ticks = 0
        self.running = False


_state = _ClockState()


def reset_for_tests():
    """Untranslated only: back to 0 ticks, not running."""
    _state.reset()


def ticks():
    """Returns the number of timer ticks since the timer started."""
    cpu.compiler_barrier()
    return _state.ticks


def ticks_per_second():
    """Returns TICKS_PER_SECOND when the timer runs, 0 when it does not."""
    if _state.running:
        return TICKS_PER_SECOND
    return 0


def set_running(flag):
    """Records whether the periodic timer runs; returns nothing."""
    _state.running = flag


def tick():
    """Counts one timer interrupt; returns nothing, never fails."""
    _state.ticks += 1
