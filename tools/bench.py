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

User section: the user program `bench` (user/bench.py) booted as the only
program init starts (`elyz.init=bench elyz.exit`, PVH, `-initrd` with the
boot archive `make initrd` builds), under the same `-icount
shift=0,sleep=off -cpu qemu64`: whole system calls from ring 3, measured
as the Linux and seL4 figures of /work/shared/BENCH-FACTS.md were (rdtsc
around N iterations, the empty loop subtracted, a warm-up, the minimum
over batches).  It boots twice and says whether the figures are
identical (they should be: -icount makes the TSC an instruction count),
then prints them next to Linux 6.1's and seL4's (USER_REFERENCE).

    tools/bench.py                 all three sections (`make bench`)
    tools/bench.py --kernel-only   the kernel section alone, on the kernel
                                   `make kernel` built
    tools/bench.py --user-only     the user section alone, on that kernel
                                   and the archive `make initrd` built
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


# The user section: user/bench.py's lines arrive through debug_write, so
# with the kernel's "[pid N] " in front: `BENCH <op> <iterations> <per op>`.
USER_BENCH_LINE = re.compile(r'^\[pid \d+\] BENCH (\S+) (\d+) (-?\d+)$', re.M)
INITRD = os.path.join(REPO, 'build', 'x86_64', 'user', 'initrd.cpio')
USER_CMDLINE = 'elyz.init=bench elyz.exit'
USER_RUNS = 2
# (op, what it is on Elyz, (what Linux 6.1 did, instructions) or None, (what
# seL4 did, instructions) or None): /work/shared/BENCH-FACTS.md.
LINUX_GETPID = ('getpid, inline-asm syscall', 307)
SEL4_YIELD = ('seL4_Yield, one thread (its cheapest call)', 301)
USER_REFERENCE = [
    ('null_syscall', 'clock, inline-asm syscall', LINUX_GETPID, SEL4_YIELD),
    ('null_syscall_nosys', 'an unknown number (E_NOSYS)', LINUX_GETPID, SEL4_YIELD),
    ('yield', 'yield, nothing else runnable', ('sched_yield', 799), SEL4_YIELD),
    ('yield_round_trip', 'yield round trip between two processes',
     ('sched_yield of one process (no round trip measured)', 799),
     ('Yield round trip, two threads in two address spaces', 561)),
    ('spawn_exit_wait', 'spawn of `true` from the user image + wait + release',
     ('vfork + execve + wait of an 800 KB static ELF', 487737), None),
    ('alloc_map_touch_release_4k',
     'allocate 4 KiB + map + one store + release, page tables made and freed',
     ('mmap + touch (a page fault) + munmap 4 KiB', LINUX_MMAP_TOUCH_MUNMAP[1]), None),
    ('alloc_map_touch_release_4k_warm', 'the same beside a page that keeps the page table',
     ('mmap + touch (a page fault) + munmap 4 KiB', LINUX_MMAP_TOUCH_MUNMAP[1]), None),
    ('clone_release', 'clone of a 4 KiB memory descriptor + release of the clone',
     ('dup + close', 937), None),
    ('map_unmap_4k', 'map + unmap of an existing 4 KiB descriptor, page table kept',
     ('mmap + munmap 4 KiB (a new mapping, untouched)', 18188),
     ('Page_Map + Page_Unmap of one 4 KiB frame', 1435)),
    ('channel_round_trip', 'channel_send + blocking channel_recv of 1 byte, a partner process echoing',
     ('pipe ping-pong round trip, two processes', 12901),
     ('Call/ReplyRecv round trip, two address spaces', 474)),
    ('channel_call_round_trip', 'channel_call of 1 byte both ways (the fast path: straight to the waiting receiver)',
     ('pipe ping-pong round trip, two processes', 12901),
     ('Call/ReplyRecv round trip, two address spaces', 474)),
    ('channel_call_regs_round_trip', 'channel_call_regs of 1 byte both ways (the message in registers)',
     ('pipe ping-pong round trip, two processes', 12901),
     ('Call/ReplyRecv round trip, two address spaces', 474)),
    ('channel_round_trip_desc', 'the same round trip carrying one page descriptor each way',
     ('pipe ping-pong round trip, two processes', 12901), None),
    ('collect_ring_100', 'the channel_send that closes a ring of 100 endpoints, which the collector frees (less a plain send)',
     None, None),
    ('empty_loop_x1000', 'the subtracted empty loop, in 1/1000 instruction per iteration',
     ('its empty loop: 3002', None), None),
]


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
        source = os.path.join(REPO, name)
        # .venv may be a symlink to a shared environment (git lists it as
        # an untracked file): it is linked below, never copied.
        if not name or not os.path.exists(source) or os.path.isdir(source):
            continue
        target = os.path.join(dest, name)
        if not os.path.isdir(os.path.dirname(target)):
            os.makedirs(os.path.dirname(target))
        shutil.copy2(source, target)
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


def user_runs(elf, runs=USER_RUNS):
    """Boots `elyz.init=bench` runs times; returns [(lines, BootResult)],
    lines being the [(op, iterations, per_op)] of each boot."""
    results = []
    for _ in range(runs):
        result = qemurun.boot(kernel=elf, cmdline=USER_CMDLINE, icount=True, timeout=180,
                              extra=['-initrd', INITRD])
        lines = [(op, int(n), int(value)) for op, n, value in USER_BENCH_LINE.findall(result.log)]
        results.append((lines, result))
    return results


def _versus(value, reference):
    if reference is None or reference[1] is None:
        return '%9s %7s' % ('-', '')
    return '%9d %6.2fx' % (reference[1], float(value) / reference[1])


def user_section(elf):
    print('== user mode (instructions per op from ring 3 under -icount shift=0, -cpu qemu64;')
    print('   empty loop subtracted, minimum over 16 batches of N; user/bench.py) ==')
    subprocess.check_call(['make', '-s', 'initrd'], cwd=REPO)
    results = user_runs(elf)
    lines, first = results[0]
    if not lines or first.status != qemurun.STATUS_SUCCESS:
        print('the bench program failed (status %s); log tail:\n%s' % (first.status,
                                                                        first.tail()))
        if not lines:
            return
    same = all(other == lines for other, _ in results[1:])
    print('%d boots of `%s`, %.1f s each at most: figures %s' % (
        len(results), USER_CMDLINE, max(r.seconds for _, r in results),
        'identical' if same else 'DIFFERENT (not deterministic?)'))
    if not same:
        for other, _ in results[1:]:
            print('  other boot: ' + ' '.join('%s=%d' % (op, v) for op, _, v in other))
    measured = dict((op, (n, value)) for op, n, value in lines)
    print('%-32s %6s %9s | %9s %7s | %9s %7s' % ('op', 'N', 'Elyz', 'Linux 6.1', 'ratio',
                                                 'seL4', 'ratio'))
    for op, what, linux, sel4 in USER_REFERENCE:
        if op in measured:
            n, value = measured[op]
            print('%-32s %6d %9d | %s | %s' % (op, n, value, _versus(value, linux),
                                              _versus(value, sel4)))
        else:
            print('%-32s %6s %9s' % (op, '', 'missing'))
    known = [op for op, _, _, _ in USER_REFERENCE]
    for op, n, value in lines:
        if op not in known:
            print('%-32s %6d %9d' % (op, n, value))
    print('what each row compares (Elyz; Linux; seL4):')
    for op, what, linux, sel4 in USER_REFERENCE:
        print('  %-32s %s; %s; %s' % (op, what, linux[0] if linux else '-',
                                      sel4[0] if sel4 else '-'))


def main():
    args = sys.argv[1:]
    subprocess.check_call(['make', '-s', 'kernel'], cwd=REPO)
    elf = os.path.join(REPO, 'build', 'x86_64', 'kernel', 'elyz.elf')
    if '--kernel-only' not in args and '--user-only' not in args:
        build_section()
    if '--user-only' not in args:
        kernel_section(elf)
    if '--kernel-only' not in args:
        user_section(elf)


if __name__ == '__main__':
    main()
