"""`make selftest`: boots the kernel directly (x86_64: PVH; the ports:
QEMU virt's -kernel, KARCH) with the self-test command line and checks the summary.  Exits 0 only when every self-test
passed; otherwise 1, printing the log (or its tail)."""

from __future__ import print_function

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools import qemurun

SUMMARY = re.compile(r'^(\d+) passed, (\d+) failed, (\d+) skipped$', re.M)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--kernel', required=True)
    parser.add_argument('--timeout', type=float, default=120.0)
    parser.add_argument('--memory', default='256M')
    args = parser.parse_args()
    # QEMU_FLAGS (e.g. "-m 64M") reaches QEMU through qemurun.
    result = qemurun.boot(kernel=args.kernel, cmdline='elyz.selftest elyz.exit', memory=args.memory,
                          timeout=args.timeout)
    print(result.log.rstrip())
    match = SUMMARY.search(result.log)
    if match is None:
        print('selftest: no summary line (status %s%s)'
              % (result.status, ', timed out' if result.timed_out else ''), file=sys.stderr)
        return 1
    if int(match.group(1)) == 0 and int(match.group(2)) == 0:
        print('selftest: FAILED (no self-test ran)', file=sys.stderr)
        return 1
    if int(match.group(2)) != 0 or result.status != qemurun.status_of('success'):
        print('selftest: FAILED (%s passed, %s failed, QEMU status %s)'
              % (match.group(1), match.group(2), result.status), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
