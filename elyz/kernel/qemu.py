"""Leaving QEMU when the command line says so (tests and benchmarks): on
x86_64 through its isa-debug-exit device; on a port through the machine
module's exit_qemu (riscv64: the virt test device, whose exit status is
the code itself: 0, 1 or 2; see elyz/rlib_kernel/port.py).

    request_exit(flag)   set from the command line (elyz.exit)
    exit_requested() -> bool
    exit(code)           writes code to port 0xf4: QEMU exits with status
                         (code << 1) | 1. EXIT_SUCCESS -> 1, EXIT_FAILURE -> 3,
                         EXIT_PANIC -> 5. Returns if no such device exists.
"""

from elyz.rlib_kernel import cpu, ports
from elyz.rlib_kernel.karch import KARCH
from elyz.rlib_kernel.port import machine

DEBUG_EXIT_PORT = 0xF4      # -device isa-debug-exit,iobase=0xf4,iosize=0x04
EXIT_SUCCESS = 0
EXIT_FAILURE = 1
EXIT_PANIC = 2


class _QemuState(object):
    def __init__(self):
        self.exit_requested = False
        self.hhdm_offset = 0            # ports: where the exit device is mapped


_state = _QemuState()


def request_exit(flag):
    """Records whether to leave QEMU when done (and on a C-level fatal error)."""
    _state.exit_requested = flag
    cpu.set_exit_on_panic(1 if flag else 0)


def exit_requested():
    """Returns True when the command line asked to leave QEMU."""
    return _state.exit_requested


def set_device_window(hhdm_offset):
    """Ports: the direct map the exit device is reached through; returns nothing."""
    _state.hhdm_offset = hhdm_offset


def exit(code):
    """Asks QEMU to exit (x86_64: with status (code << 1) | 1); returns only
    without the device."""
    if KARCH == 'x86_64':
        ports.outl(DEBUG_EXIT_PORT, code)
    else:
        machine.exit_qemu(code, _state.hhdm_offset)
