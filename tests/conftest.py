import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import subprocess

import pytest

KARCH = os.environ.get('KARCH', 'x86_64')
KERNEL_ELF = os.path.join(ROOT, 'build', KARCH, 'kernel', 'elyz.elf')


@pytest.fixture(scope='session')
def kernel_elf():
    """Builds the kernel once per test session (make kernel); returns its path."""
    proc = subprocess.Popen(['make', '-s', 'kernel'], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = proc.communicate()[0]
    if proc.returncode != 0:
        pytest.fail('make kernel failed:\n%s' % out.decode('utf-8', 'replace')[-4000:])
    return KERNEL_ELF
