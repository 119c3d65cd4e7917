"""Rebuilds the kernel ELF after a change to C, assembly or the linker
script only: compiles what changed and links, from the sources the last
translation generated (`make kernel` calls it; it does not translate)."""

from __future__ import print_function

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from elyz.rlib_kernel.backend.build import BuildError, relink
from elyz.rlib_kernel.kernel_program import kernel_program
from elyz.kernel.entry import ENTRY_POINTS


def main():
    karch = os.environ.get('KARCH', 'x86_64')
    build_dir = os.path.join(REPO, 'build', karch, 'kernel')
    try:
        print('relinked: %s' % relink(kernel_program(karch, build_dir, ENTRY_POINTS)))
    except BuildError as err:
        print('error: %s' % err, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
