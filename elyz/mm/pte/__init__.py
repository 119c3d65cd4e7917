"""Page-table entry formats, one module per architecture, all with the
same names (the interface is listed in x86_64.py's docstring):

    x86_64       4-level paging (PML4)
    aarch64      VMSAv8-64, 4 KiB granule, 48-bit
    riscv64      Sv48
    loongarch64  the 4-level tables the TLB refill handler walks

    FORMAT       the module of the architecture being built (KARCH,
                 elyz/rlib_kernel/karch.py); paging.fmt starts as FORMAT
    NAMES        the four names;  by_name(name) -> the module
    common       the portable PAGE_* flags and the LEVEL_* names
"""

from elyz.rlib_kernel.karch import KARCH
from elyz.mm.pte import aarch64, loongarch64, riscv64, x86_64

NAMES = ('x86_64', 'aarch64', 'riscv64', 'loongarch64')
_BY_NAME = {'x86_64': x86_64, 'aarch64': aarch64, 'riscv64': riscv64,
            'loongarch64': loongarch64}


def by_name(name):
    """Returns the format module of architecture name (untranslated only)."""
    return _BY_NAME[name]


FORMAT = _BY_NAME[KARCH]
