"""`make fuzz`: boots the kernel directly (PVH) with the boot archive and
`elyz.init=fuzz:CALLS:SEED[:PROCESSES] elyz.exit`, so that init runs the
system-call fuzzer (user/fuzz.py).  Prints the fuzzer's lines (a failure
names the seed, the worker and the call), the kernel's errors and its leak
line, and the summary with the calls per second (not the lines the
fuzzer's debug_write calls print, nor the kernel's line for each probe
killed, as it should be, by a page fault).  Exits 0 only when the
fuzzer printed its summary with no leak, every process exited 0 and the
kernel found nothing leaked.

    tools/fuzz.py [--calls N] [--seed S] [--processes P] [--icount]

With --icount the run is deterministic (the timer counts instructions): the
same seed replays exactly, to reproduce a failure.
"""

from __future__ import print_function

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools import qemurun

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL = os.path.join(REPO, 'build', 'x86_64', 'kernel', 'elyz.elf')
INITRD = os.path.join(REPO, 'build', 'x86_64', 'user', 'initrd.cpio')
SUMMARY = re.compile(r'^\[pid \d+\] fuzz: \d+ calls .*, leaks 0$', re.M)
NO_LEAK = re.compile(r'^user: .*processes left 0: no leak$', re.M)
WRITTEN = re.compile(r'^\[pid \d+\] fuzz: worker \S+ is fuzzing .*$', re.M)
# The probes (user/fuzz.py, spawn_probe) die reading a page that went: PROBE_ADDRESS.
PROBE_KILLED = re.compile(r'^error: process \d+ killed: #PF \(page fault\) at rip \S+, '
                          r'address 0x100001008: page not present, read, user mode$', re.M)
SHOWN = re.compile(r'^(\[pid \d+\] (fuzz|init):|error:|warning:|PANIC|user:).*$', re.M)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--calls', type=int, default=1000000)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--processes', type=int, default=None)
    parser.add_argument('--icount', action='store_true')
    parser.add_argument('--memory', default='512M')
    parser.add_argument('--kernel', default=KERNEL)
    parser.add_argument('--initrd', default=INITRD)
    args = parser.parse_args()
    program = 'fuzz:%d:%d' % (args.calls, args.seed)
    if args.processes is not None:
        program += ':%d' % args.processes
    # About 30000 calls per second under TCG; room for a slow machine.
    timeout = 120 + args.calls / 2000.0
    start = time.time()
    result = qemurun.boot(kernel=args.kernel, cmdline='elyz.init=%s elyz.exit' % program,
                          memory=args.memory, icount=args.icount, timeout=timeout,
                          extra=['-initrd', args.initrd])
    wall = time.time() - start
    for match in SHOWN.finditer(result.log):
        if not WRITTEN.match(match.group(0)) and not PROBE_KILLED.match(match.group(0)):
            print(match.group(0))
    print('fuzz: not shown: %d lines the fuzzer wrote with debug_write, %d probes killed '
          'by the page fault they were made for'
          % (len(WRITTEN.findall(result.log)), len(PROBE_KILLED.findall(result.log))))
    print('fuzz: QEMU ran %.1f s (status %s%s)'
          % (wall, result.status, ', timed out' if result.timed_out else ''))
    if SUMMARY.search(result.log) is None or NO_LEAK.search(result.log) is None or \
            'fuzz: FAIL' in result.log or result.status != qemurun.STATUS_SUCCESS:
        print('fuzz: FAILED (the log: rerun with QEMU_FLAGS="-serial file:fuzz.log")',
              file=sys.stderr)
        if result.timed_out or 'PANIC' in result.log:
            print(result.tail(), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
