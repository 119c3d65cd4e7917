"""The architecture being built: KARCH from the environment (x86_64 by default).

    KARCH          'x86_64', 'aarch64', 'riscv64' or 'loongarch64'
    KARCHS         every architecture Elyz knows

Read once at import: a translation is for one architecture, and the
modules that differ per architecture choose their code from this name.
An unknown name raises ValueError (naming the known ones) at import.
"""

import os

KARCHS = ('x86_64', 'aarch64', 'riscv64', 'loongarch64')
KARCH = os.environ.get('KARCH', 'x86_64')
if KARCH not in KARCHS:
    raise ValueError('KARCH=%s: Elyz knows %s' % (KARCH, ', '.join(KARCHS)))
