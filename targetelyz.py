"""Translation target of the Elyz kernel: `rpython targetelyz.py`.

Translates the kernel with the freestanding backend (gc none, no libc)
and links build/<karch>/elyz.elf.  KARCH (environment) picks the
architecture, x86_64 by default.  Nothing else lives here.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from elyz.rlib_kernel.backend import options
options.force_gc_none()      # before the driver reads its option table

from elyz.rlib_kernel.backend.driver import install
from elyz.rlib_kernel.kernel_program import kernel_program
from elyz.kernel.entry import ENTRY_POINTS

KARCH = os.environ.get('KARCH', 'x86_64')
BUILD_DIR = os.environ.get('ELYZ_BUILD_DIR',
                           os.path.join(os.path.dirname(os.path.abspath(__file__)), 'build', KARCH))


def target(driver, args):
    return install(driver, kernel_program(KARCH, os.path.join(BUILD_DIR, 'kernel'), ENTRY_POINTS))


def handle_config(config, translateconfig):
    translateconfig.batch = True       # errors print and exit; no pdb prompt
    options.apply_freestanding_config(config)
