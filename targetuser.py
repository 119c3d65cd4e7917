"""Translation target of the Elyz user image: `rpython targetuser.py`.

Translates every program of user/<name>.py into one static ELF,
build/<karch>/user/elyz-user.elf, with the freestanding backend in
user-program mode: gc incminimark with a shadow stack, no threads, no
debug-print log.  (targetelyz.py forces gc=none at its import; this file
forces incminimark at its own: one process translates one of them.)

`python targetuser.py relink` rebuilds the ELF from the last translation's
C when only C, assembly, headers or the linker script changed; the ABI
files made from elyz/abi (abigen.py) are brought up to date first, in both
cases.  `make user` runs whichever is needed.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from elyz.rlib_kernel.backend import options
options.force_gc('incminimark')     # before the driver reads its option table

from elyz.rlib_kernel.backend.driver import install
from user.lib import abigen
from user.lib.image import build_dir, user_image

KARCH = os.environ.get('KARCH', 'x86_64')
BUILD_DIR = os.environ.get('ELYZ_USER_BUILD_DIR', build_dir(KARCH))


_cache = []


def _program():
    if not _cache:
        if KARCH != 'x86_64':
            raise SystemExit("KARCH=%s: the user image exists for x86_64 only" % KARCH)
        abigen.sync()
        _cache.append(user_image(BUILD_DIR))
    return _cache[0]


def target(driver, args):
    return install(driver, _program())


def handle_config(config, translateconfig):
    translateconfig.batch = True       # errors print and exit; no pdb prompt
    options.apply_program_config(config, _program())


def relink():
    from elyz.rlib_kernel.backend.build import BuildError, relink as backend_relink
    try:
        print('relinked: %s' % backend_relink(_program()))
    except BuildError as err:
        sys.stderr.write('error: %s\n' % err)
        return 1
    return 0


if __name__ == '__main__':
    if sys.argv[1:] == ['relink']:
        sys.exit(relink())
    sys.stderr.write('usage: rpython targetuser.py | python targetuser.py relink\n')
    sys.exit(2)
