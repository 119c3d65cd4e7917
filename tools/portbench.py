"""`make bench KARCH=<port>`: the figures of a port (issue 11), from one
direct boot under `-icount shift=0,sleep=off` (one instruction per
nanosecond of virtual time; elyz/kernel/port_bench.py converts its counter
to instructions), plus what needs no boot:

    boot to banner          wall seconds from QEMU's start to the banner
                            (plain TCG, no icount), best of 3
    kernel size stripped    bytes of the ELF after `strip`
    the kernel's BENCH lines
"""

from __future__ import print_function

import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from elyz.rlib_kernel.kernel_program import toolchain_commands
from tools import qemurun
from tools.bench import BENCH_LINE

BANNER = 'Elyz '


def stripped_size(karch, elf):
    """Returns the size in bytes of elf stripped with the port's strip."""
    strip = toolchain_commands(karch)[3]
    fd, path = tempfile.mkstemp(suffix='.elf')
    os.close(fd)
    try:
        subprocess.check_call([strip, '-o', path, elf])
        return os.path.getsize(path)
    finally:
        os.remove(path)


def main():
    karch = os.environ.get('KARCH', 'x86_64')
    if karch == 'x86_64':
        print('portbench: KARCH is x86_64: use tools/bench.py', file=sys.stderr)
        return 2
    subprocess.check_call(['make', '-s', 'kernel', 'KARCH=' + karch], cwd=REPO)
    elf = os.path.join(REPO, 'build', karch, 'kernel', 'elyz.elf')
    print('== %s ==' % karch)
    print('%-44s %12d bytes' % ('kernel size stripped', stripped_size(karch, elf)))
    times = []
    for _ in range(3):
        result = qemurun.boot(kernel=elf, cmdline='elyz.exit', until=BANNER, timeout=60,
                              karch=karch)
        if result.marker_seconds is not None:
            times.append(result.marker_seconds)
    if times:
        print('%-44s %12.3f s (best of %d, TCG)' % ('boot to banner (QEMU start)', min(times),
                                                    len(times)))
    else:
        print('boot to banner: no banner')
    result = qemurun.boot(kernel=elf, cmdline='elyz.bench elyz.exit', icount=True,
                          timeout=300, karch=karch)
    lines = BENCH_LINE.findall(result.log)
    if not lines:
        print('no BENCH lines; log tail:\n' + result.tail())
        return 1
    print('-- under -icount shift=0,sleep=off --')
    for name, value, unit in lines:
        print('%-44s %12s %s' % (name, value, unit))
    return 0


if __name__ == '__main__':
    sys.exit(main())
