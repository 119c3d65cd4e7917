"""The kernel's entry points, exported to C under fixed names.

    rpy_kmain(protocol, info, hhdm_offset)   from arch/<karch>/boot.c

ENTRY_POINTS lists them for the backend (targetelyz.py).
"""

from elyz.kernel import main
from elyz.rlib_kernel.backend.program import EntryPoint


def rpy_kmain(protocol, info, hhdm_offset):
    """Boots the kernel; returns only if it was told to stop (never, normally)."""
    main.kmain(protocol, info, hhdm_offset)
    return 0


ENTRY_POINTS = [
    EntryPoint(rpy_kmain, [int, int, int], 'rpy_kmain'),
]
