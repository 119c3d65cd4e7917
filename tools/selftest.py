"""`make selftest`: boots the kernel directly (PVH) with the self-test
command line and checks the summary.  Exits 0 only when every self-test
passed; otherwise 1, printing the log (or its tail)."""

from __future__ import print_function

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools import qemurun

SUMMARY = re.compile(r'^(\d+) passed, (\d+) failed$', re.M)


def split_memory(flags):
    """Returns (memory, other flags): a -m in QEMU_FLAGS replaces the default."""
    memory = '256M'
    rest = []
    i = 0
    while i < len(flags):
        if flags[i] == '-m' and i + 1 < len(flags):
            memory = flags[i + 1]
            i += 2
            continue
        rest.append(flags[i])
        i += 1
    return memory, rest


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--kernel', required=True)
    parser.add_argument('--timeout', type=float, default=120.0)
    parser.add_argument('qemu_flags', nargs='*')
    args = parser.parse_args()
    flags = ' '.join(args.qemu_flags).split()
    memory, extra = split_memory(flags)
    result = qemurun.boot(kernel=args.kernel, cmdline='elyz.selftest elyz.exit', memory=memory,
                          extra=extra, timeout=args.timeout)
    print(result.log.rstrip())
    match = SUMMARY.search(result.log)
    if match is None:
        print('selftest: no summary line (status %s%s)'
              % (result.status, ', timed out' if result.timed_out else ''), file=sys.stderr)
        return 1
    if int(match.group(1)) == 0 and int(match.group(2)) == 0:
        print('selftest: FAILED (no self-test ran)', file=sys.stderr)
        return 1
    if int(match.group(2)) != 0 or result.status != qemurun.STATUS_SUCCESS:
        print('selftest: FAILED (%s passed, %s failed, QEMU status %s)'
              % (match.group(1), match.group(2), result.status), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
