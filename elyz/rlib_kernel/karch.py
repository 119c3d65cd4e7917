"""The architecture the kernel is built for: KARCH from the environment
(the make variable), x86_64 when unset."""

import os

KARCHES = ('x86_64', 'aarch64', 'riscv64', 'loongarch64')
KARCH = os.environ.get('KARCH', 'x86_64')
if KARCH not in KARCHES:
    raise ValueError('KARCH=%r: not one of %s' % (KARCH, ', '.join(KARCHES)))
