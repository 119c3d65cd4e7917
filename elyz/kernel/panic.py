"""The panic path: report, then stop the machine.

    panic(msg)       logs "PANIC: msg" to every sink, paints the panic
                     screen when a console exists, prints the RPython
                     traceback buffer on COM1, and halts (or leaves QEMU with
                     status 3 when the command line said elyz.exit).
    set_panic_screen(painter)   painter: a PanicScreen subclass
Never returns (untranslated: raises cpu.Halted after recording the panic).
"""

from rpython.rtyper.lltypesystem import lltype, rffi

from elyz.lib import log
from elyz.rlib_kernel.backend.checks import may_allocate
from elyz.kernel import qemu
from elyz.rlib_kernel import cpu


class PanicScreen(object):
    """Something that can show a panic message; see elyz.console."""

    def paint_panic(self, msg):
        """Shows msg as a panic; the base class shows nothing."""
        pass


class _PanicState(object):
    def __init__(self):
        self.screen = None
        self.in_panic = False
        self.last_message = None


_state = _PanicState()

_print_traceback = rffi.llexternal('pypy_debug_traceback_print', [], lltype.Void,
                                   _nowrapper=True, sandboxsafe=True, releasegil=False,
                                   _callable=lambda: None)


def set_panic_screen(screen):
    """Makes panic() paint on screen (a PanicScreen); returns nothing."""
    _state.screen = screen


@may_allocate
def panic(msg):
    """Reports msg and halts; never returns."""
    if not _state.in_panic:
        _state.in_panic = True
        _state.last_message = msg
        log.line(log.PANIC, msg)
        screen = _state.screen
        if screen is not None:
            screen.paint_panic(msg)
        _print_traceback()           # after painting: its first line says the screen is done
        if qemu.exit_requested():
            qemu.exit(qemu.EXIT_PANIC)
    cpu.halt_forever()
    raise AssertionError("halt_forever returned")     # unreachable


def reset_for_tests():
    """Untranslated only: forgets the screen and the panic state."""
    _state.screen = None
    _state.in_panic = False
    _state.last_message = None
