"""`make bench`: build, boot and kernel figures.

Build section: clean `make all` time in a scratch copy of the tree,
translation time, incremental rebuild after touching one kernel module,
stripped kernel size, and seconds from QEMU start to the banner (PVH,
GRUB/Limine BIOS, GRUB/Limine UEFI).

Kernel section: the kernel's own micro-benchmarks (command line
`elyz.bench`), run under `-icount shift=0,sleep=off` with `-cpu qemu64`, so
the figures are virtual cycles (instructions), identical run to run.  The
object API figures (obj_*) are followed by their ratio to Linux 6.1's
figures in the same QEMU (LINUX_REFERENCE, from /work/shared/BENCH-FACTS.md).

    tools/bench.py                 both sections (`make bench`)
    tools/bench.py --kernel-only   the kernel section alone, on the kernel
                                   `make kernel` built
"""

from __future__ import print_function

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from tools import qemurun

BANNER = 'Elyz '
BENCH_LINE = re.compile(r'^BENCH (\S+) (-?\d+) (.*)$', re.M)
# Linux 6.1 in the same QEMU (guest instructions per op, -cpu qemu64,
# -icount shift=0): /work/shared/BENCH-FACTS.md.  Figure name -> (what
# Linux did, instructions).
LINUX_MMAP_TOUCH_MUNMAP = ('mmap + touch + munmap 4 KiB', 29411)
LINUX_REFERENCE = {
    'obj_alloc_map_touch_release_4k': LINUX_MMAP_TOUCH_MUNMAP,
    'obj_alloc_map_touch_release_4k_warm': LINUX_MMAP_TOUCH_MUNMAP,
    'obj_map_unmap_4k': ('mmap + munmap 4 KiB', 18188),
    'obj_clone_release': ('dup + close', 937),
}


def run(cmd, cwd):
    start = time.time()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.communicate()[0]
    if proc.returncode != 0:
        print(out.decode('utf-8', 'replace')[-3000:])
        raise SystemExit('bench: %s failed' % ' '.join(cmd))
    return time.time() - start


def scratch_copy():
    files = subprocess.check_output(['git', 'ls-files', '-co', '--exclude-standard'],
                                    cwd=REPO).decode('utf-8').split('\n')
    dest = tempfile.mkdtemp(prefix='elyz-bench-')
    for name in files:
        if not name or not os.path.exists(os.path.join(REPO, name)):
            continue
        target = os.path.join(dest, name)
        if not os.path.isdir(os.path.dirname(target)):
            os.makedirs(os.path.dirname(target))
        shutil.copy2(os.path.join(REPO, name), target)
    os.symlink(os.path.join(REPO, '.venv'), os.path.join(dest, '.venv'))
    return dest


def build_section():
    print('== build ==')
    tree = scratch_copy()
    try:
        clean = run(['make', '-s', 'all'], tree)
        print('clean make all:                 %6.1f s' % clean)
        log = open(os.path.join(tree, 'build', 'x86_64', 'translate.log')).read()
        total = re.search(r'Total:\s+--- ([\d.]+) s', log)
        if total:
            print('translation (rpython, no C):    %6.1f s' % float(total.group(1)))
        translate = run([os.path.join(tree, '.venv', 'bin', 'rpython'), '--batch',
                         '--source', 'targetelyz.py'], tree)
        print('rpython targetelyz.py --source: %6.1f s' % translate)
        module = os.path.join(tree, 'elyz', 'kernel', 'main.py')
        with open(module, 'a') as f:
            f.write('\n# touched by bench\n')
        incremental = run(['make', '-s', 'kernel'], tree)
        print('incremental (touch main.py):    %6.1f s' % incremental)
        with open(os.path.join(tree, 'arch', 'x86_64', 'boot.c'), 'a') as f:
            f.write('\n/* touched by bench */\n')
        relinked = run(['make', '-s', 'kernel'], tree)
        print('incremental (touch boot.c):     %6.1f s' % relinked)
        elf = os.path.join(tree, 'build', 'x86_64', 'kernel', 'elyz.elf')
        stripped = elf + '.stripped'
        subprocess.check_call(['strip', '-o', stripped, elf])
        print('kernel ELF: %d bytes, stripped %d bytes' % (os.path.getsize(elf),
                                                          os.path.getsize(stripped)))
        iso = os.path.join(tree, 'Elyz.iso')
        hdd = os.path.join(tree, 'Elyz.hdd')
        run(['make', '-s', 'all-hdd'], tree)
        boots = [('PVH direct', dict(kernel=elf, cmdline='')),
                 ('ISO BIOS', dict(image=iso)),
                 ('ISO UEFI', dict(image=iso, uefi=True)),
                 ('HDD UEFI', dict(image=hdd, uefi=True, as_disk=True))]
        for name, kwargs in boots:
            result = qemurun.boot(until=BANNER, timeout=120, **kwargs)
            if result.marker_seconds is None:
                print('boot to banner, %-11s  no banner (status %s)' % (name + ':', result.status))
            else:
                print('boot to banner, %-11s %6.2f s' % (name + ':', result.marker_seconds))
        return elf
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def kernel_section(elf):
    print('== kernel (virtual cycles under -icount shift=0, -cpu qemu64) ==')
    result = qemurun.boot(kernel=elf, cmdline='elyz.bench elyz.exit', icount=True, timeout=300)
    lines = BENCH_LINE.findall(result.log)
    if not lines:
        print('no BENCH lines; log tail:\n' + result.tail())
        return
    for name, value, unit in lines:
        print('%-44s %12s %s' % (name, value, unit))
    compared = [(name, int(value)) for name, value, unit in lines if name in LINUX_REFERENCE]
    if compared:
        print('-- Elyz object API vs Linux 6.1 (same QEMU, instructions per op; Elyz: inside')
        print('   the kernel, no system-call entry yet; Linux: whole system calls from user')
        print('   space, its touch a page fault) --')
        for name, value in compared:
            what, linux = LINUX_REFERENCE[name]
            print('%-44s %12d vs %7d (%s): %.2fx' % (name, value, linux, what,
                                                     float(value) / linux))


def main():
    subprocess.check_call(['make', '-s', 'kernel'], cwd=REPO)
    if '--kernel-only' not in sys.argv[1:]:
        build_section()
    kernel_section(os.path.join(REPO, 'build', 'x86_64', 'kernel', 'elyz.elf'))


if __name__ == '__main__':
    main()
