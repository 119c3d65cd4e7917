"""`make bench-linux`: the same operations on Linux and on Elyz, in the
same QEMU, in guest instructions per op; one table.

Both are direct boots in QEMU under `-icount shift=0,sleep=off -cpu
qemu64`, where the TSC counts guest instructions since reset, so every
figure is an instruction count, identical run to run
(/work/shared/BENCH-FACTS.md says how its Linux figures were obtained;
this is that harness):

  Linux  the kernel of the Debian package linux-image-amd64 depends on
         (`apt-cache depends`), fetched as a package file with `apt-get
         download` and unpacked with `dpkg-deb -x` into build/linux/<package>/
         (never installed on the host; a second run finds it there), its
         boot/vmlinuz-* booted with -kernel.  /init of a gzip'd newc initramfs
         (tools/mkarchive.py's entries) is tools/linuxbench/bench.c, built
         with `gcc -O2 -static`; it times each op, prints `BENCH` lines and
         powers off.  QEMU_COMMAND below is BENCH-FACTS.md's command exactly
         (QEMU_FLAGS is not added).
  Elyz   user/bench.py from the boot archive (`elyz.init=bench elyz.exit`, PVH
         -kernel elyz.elf -initrd initrd.cpio: tools/bench.py's user_runs);
         the boot figure is the kernel's `BENCH boot_to_first_user` line
         (elyz/kernel/sched.py: the TSC just before the first switch to a
         process).

    tools/benchlinux.py          builds what is missing, boots both, prints the table
    tools/benchlinux.py --linux-only   the Linux boot alone (its lines, raw)

The goal column: every Elyz figure at most half of Linux's.
"""

from __future__ import print_function

import glob
import gzip
import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from tools import bench, mkarchive

LINUX_DIR = os.path.join(REPO, 'build', 'linux')
META_PACKAGE = 'linux-image-amd64'
BENCH_SOURCE = os.path.join(REPO, 'tools', 'linuxbench', 'bench.c')
INIT_BINARY = os.path.join(LINUX_DIR, 'init')
INITRAMFS = os.path.join(LINUX_DIR, 'initramfs.cpio.gz')
CFLAGS = ['-O2', '-static', '-Wall', '-Wl,-e,bench_entry']
MODE_DIRECTORY = 0o040755
LINUX_TIMEOUT = 600.0
# BENCH-FACTS.md's QEMU command, word for word (kernel and initramfs filled in).
QEMU_COMMAND = ['qemu-system-x86_64', '-M', 'q35', '-m', '512M', '-cpu', 'qemu64', '-smp', '1',
                '-display', 'none', '-no-reboot', '-monitor', 'none', '-serial', 'stdio',
                '-icount', 'shift=0,sleep=off', '-rtc', 'base=2024-01-01T00:00:00,clock=vm',
                '-kernel', '{kernel}', '-initrd', '{initrd}',
                '-append', 'console=ttyS0 quiet panic=-1']

# bench.c's lines: `BENCH <op> <iterations> <ns per op> <instructions per op>`.
LINUX_LINE = re.compile(r'^BENCH (\S+) (\d+) (-?\d+) (\d+)\s*$', re.M)
LINUX_RELEASE = re.compile(r'^LINUX (\S+)\s*$', re.M)
LINUX_ERRORS = re.compile(r'^BENCH_ERRORS (\d+)\s*$', re.M)
# The kernel's line (a debug line: "debug: " in front on COM1).
ELYZ_BOOT_LINE = re.compile(r'BENCH boot_to_first_user (\d+)')
ELYZ_BOOT = 'boot_to_first_user'
LINUX_BOOT = 'boot_to_init'

# The table's rows: (Elyz op, what it is on Elyz, Linux op, what it is on Linux).
ROWS = [
    ('null_syscall', 'clock, inline syscall', 'null_syscall_getpid', 'getpid, inline syscall'),
    ('yield', 'yield', 'sched_yield', 'sched_yield'),
    ('clone_release', 'clone + release', 'dup_close', 'dup + close'),
    ('alloc_map_touch_release_4k', 'allocate+map+touch+release 4K',
     'mmap_touch_munmap_4k', 'mmap+touch+munmap 4K'),
    ('spawn_exit_wait', 'spawn + exit + wait', 'vfork_exec_wait', 'vfork+execve+wait'),
    ('channel_call_round_trip', 'channel_call round trip, 1 byte', 'pipe_pingpong',
     'pipe ping-pong, 1 byte'),
    ('channel_round_trip_desc', 'the same, one descriptor each way', 'pipe_pingpong',
     'pipe ping-pong, 1 byte'),
    (ELYZ_BOOT, 'reset -> 1st user instr.', LINUX_BOOT, 'reset -> 1st instr. of /init'),
]
# Beside the table: seL4's Page_Map + Page_Unmap of a 4 KiB frame (BENCH-FACTS.md).
SEL4_MAP_UNMAP = 1435
ELYZ_MAP_UNMAP = 'map_unmap_4k'
# BENCH-FACTS.md's Linux 6.1 figures, to check that this run reproduces them.
FACTS = {
    'null_syscall_getpid': 307, 'sched_yield': 799, 'dup_close': 937,
    'mmap_munmap_4k': 18188, 'mmap_touch_munmap_4k': 29411, 'pipe_pingpong': 12901,
    'fork_exit_wait': 157193, 'vfork_exit_wait': 53389, 'vfork_exec_wait': 487737,
    LINUX_BOOT: 6100000000,
}


# ------------------------------------------------------------ the Linux kernel

def depended_package(apt_cache_output, meta=META_PACKAGE):
    """Returns the kernel package named on the first `Depends: linux-image-...`
    line of `apt-cache depends <meta>`'s output, or None."""
    for line in apt_cache_output.splitlines():
        name = line.strip()
        if name.startswith('Depends:'):
            name = name[len('Depends:'):].strip()
            if name.startswith('linux-image-') and name != meta:
                return name
    return None


def _apt_cache_depends():
    proc = subprocess.Popen(['apt-cache', 'depends', META_PACKAGE], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    return proc.communicate()[0].decode('utf-8', 'replace')


def resolve_package():
    """Returns the kernel package linux-image-amd64 depends on; runs `apt-get
    update` once (as root) when the package lists do not know it."""
    package = depended_package(_apt_cache_depends())
    if package is None and os.geteuid() == 0:
        print('bench-linux: apt-get update (the package lists do not know %s)' % META_PACKAGE)
        subprocess.call(['apt-get', 'update', '-q'], stdout=open(os.devnull, 'w'))
        package = depended_package(_apt_cache_depends())
    if package is None:
        raise SystemExit('bench-linux: `apt-cache depends %s` names no kernel package '
                         '(run apt-get update)' % META_PACKAGE)
    return package


def cached_kernel(package_dir):
    """Returns the boot/vmlinuz-* unpacked in package_dir, or None."""
    found = sorted(glob.glob(os.path.join(package_dir, 'boot', 'vmlinuz-*')))
    return found[0] if found else None


def fetch_kernel():
    """Returns the path of the Linux kernel to boot: build/linux/<package>/
    boot/vmlinuz-*, downloaded (apt-get download) and unpacked (dpkg-deb -x)
    unless an earlier run left it there.  The modules (lib/) are deleted
    after unpacking: only the kernel image is booted."""
    package = resolve_package()
    package_dir = os.path.join(LINUX_DIR, package)
    kernel = cached_kernel(package_dir)
    if kernel:
        return kernel
    scratch = os.path.join(LINUX_DIR, 'download')
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    print('bench-linux: apt-get download %s' % package)
    # As root, apt's download sandbox user could not write here (a warning).
    sandbox = ['-o', 'APT::Sandbox::User=root'] if os.geteuid() == 0 else []
    subprocess.check_call(['apt-get', 'download', '-q'] + sandbox + [package], cwd=scratch)
    debs = glob.glob(os.path.join(scratch, '*.deb'))
    if len(debs) != 1:
        raise SystemExit('bench-linux: apt-get download left %d package files' % len(debs))
    unpacked = os.path.join(scratch, 'root')
    subprocess.check_call(['dpkg-deb', '-x', debs[0], unpacked])
    shutil.rmtree(os.path.join(unpacked, 'lib'), ignore_errors=True)
    shutil.rmtree(os.path.join(unpacked, 'usr'), ignore_errors=True)
    shutil.rmtree(package_dir, ignore_errors=True)
    os.rename(unpacked, package_dir)
    shutil.rmtree(scratch, ignore_errors=True)
    kernel = cached_kernel(package_dir)
    if kernel is None:
        raise SystemExit('bench-linux: %s holds no boot/vmlinuz-*' % package)
    return kernel


# ------------------------------------------------------------ the initramfs

def build_init():
    """Compiles bench.c into build/linux/init when the source is newer."""
    if not os.path.isdir(LINUX_DIR):
        os.makedirs(LINUX_DIR)
    if os.path.exists(INIT_BINARY) and \
            os.path.getmtime(INIT_BINARY) >= os.path.getmtime(BENCH_SOURCE):
        return INIT_BINARY
    subprocess.check_call(['gcc'] + CFLAGS + ['-o', INIT_BINARY, BENCH_SOURCE])
    return INIT_BINARY


def initramfs(init_data):
    """Returns the gzip'd newc archive holding the directory dev and the
    executable init (the same bytes every time: gzip's time stamp is 0)."""
    cpio = mkarchive.archive([('dev', b'', MODE_DIRECTORY),
                              ('init', init_data, mkarchive.MODE_EXECUTABLE)])
    out = io.BytesIO()
    zipped = gzip.GzipFile(filename='', mode='wb', fileobj=out, mtime=0)
    zipped.write(cpio)
    zipped.close()
    return out.getvalue()


def write_initramfs():
    with open(build_init(), 'rb') as f:
        data = initramfs(f.read())
    with open(INITRAMFS, 'wb') as f:
        f.write(data)
    return INITRAMFS


# ------------------------------------------------------------ the boots

def linux_command(kernel, initrd):
    return [word.format(kernel=kernel, initrd=initrd) for word in QEMU_COMMAND]


def run_linux(kernel, initrd, timeout=LINUX_TIMEOUT):
    """Boots Linux with bench.c as /init; returns (serial log, seconds)."""
    start = time.time()
    proc = subprocess.Popen(linux_command(kernel, initrd), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=open(os.devnull))
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        out = proc.communicate()[0]
    finally:
        timer.cancel()
    return out.decode('latin-1').replace('\r', ''), time.time() - start


def parse_linux(log):
    """Returns ({op: instructions per op}, the release or None, errors) from
    bench.c's output; boot_to_init is the TSC at /init's first instruction."""
    figures = dict((op, int(tsc)) for op, _, _, tsc in LINUX_LINE.findall(log))
    release = LINUX_RELEASE.search(log)
    errors = LINUX_ERRORS.search(log)
    return figures, release.group(1) if release else None, int(errors.group(1)) if errors else 0


def parse_elyz(lines, log):
    """Returns {op: instructions per op} from user_runs' lines and the boot
    log (the kernel's boot_to_first_user line)."""
    figures = dict((op, value) for op, _, value in lines)
    boot = ELYZ_BOOT_LINE.search(log)
    if boot:
        figures[ELYZ_BOOT] = int(boot.group(1))
    return figures


# ------------------------------------------------------------ the table

def _number(value):
    if value is None:
        return 'missing'
    return '{:,}'.format(value)


def goal(elyz, linux):
    """'met' when elyz is at most half of linux, 'not met' otherwise, '-'
    when a figure is missing."""
    if elyz is None or linux is None:
        return '-'
    return 'met' if 2 * elyz <= linux else 'not met'


def table(elyz, linux, rows=ROWS):
    """Returns the table's lines: op, Linux instructions, Elyz instructions,
    ratio (Elyz/Linux), goal, for each row of rows."""
    head = ('%-31s %-29s %15s %15s %8s  %s'
            % ('Elyz op', 'Linux op', 'Linux', 'Elyz', 'ratio', 'goal: Elyz <= Linux/2'))
    out = [head, '-' * len(head)]
    for elyz_op, elyz_what, linux_op, linux_what in rows:
        e, l = elyz.get(elyz_op), linux.get(linux_op)
        ratio = '%.3f' % (float(e) / l) if e is not None and l else '-'
        out.append('%-31s %-29s %15s %15s %8s  %s' % (elyz_what, linux_what, _number(l),
                                                      _number(e), ratio, goal(e, l)))
    return out


def facts_check(linux):
    """Returns one line per op of FACTS: this run's Linux figure against
    BENCH-FACTS.md's, in per cent."""
    out = []
    for op in sorted(FACTS):
        if op in linux:
            out.append('%s %s (facts %s, %+.1f %%)' % (op, _number(linux[op]), _number(FACTS[op]),
                                                      100.0 * (linux[op] - FACTS[op]) / FACTS[op]))
        else:
            out.append('%s missing' % op)
    return out


def report(elyz, linux, release, seconds):
    print('== Elyz vs Linux %s: guest instructions per op (TSC under -icount shift=0,sleep=off,'
          % (release or '?'))
    print('   -cpu qemu64, q35); both direct boots in the same QEMU: Linux -kernel vmlinuz'
          ' -initrd initramfs,')
    print('   Elyz PVH -kernel elyz.elf -initrd initrd.cpio ==')
    for line in table(elyz, linux):
        print(line)
    e = elyz.get(ELYZ_MAP_UNMAP)
    print('beside: Elyz map + unmap of an existing 4 KiB descriptor %s vs seL4 Page_Map + '
          'Page_Unmap %s: %s' % (_number(e), _number(SEL4_MAP_UNMAP),
                                 '%.3fx' % (float(e) / SEL4_MAP_UNMAP) if e else '-'))
    print(textwrap.fill('Linux vs BENCH-FACTS.md: ' + '; '.join(facts_check(linux)), width=100,
                        subsequent_indent='   '))
    print('wall time %.1f s (Linux boot %.1f s, Elyz boot %.1f s)' % seconds)


def main(argv):
    start = time.time()
    kernel = fetch_kernel()
    initrd = write_initramfs()
    print('bench-linux: booting %s with %s' % (os.path.relpath(kernel, REPO),
                                               os.path.relpath(initrd, REPO)))
    log, linux_seconds = run_linux(kernel, initrd)
    linux, release, errors = parse_linux(log)
    if '--linux-only' in argv:
        print(log)
        return 0
    if not linux or errors:
        print('bench-linux: the Linux run failed (%d errors); its log:\n%s' % (errors, log[-3000:]))
    subprocess.check_call(['make', '-s', 'kernel', 'initrd'], cwd=REPO)
    elf = os.path.join(REPO, 'build', 'x86_64', 'kernel', 'elyz.elf')
    lines, result = bench.user_runs(elf, runs=1)[0]
    elyz = parse_elyz(lines, result.log)
    if not lines or result.status != bench.qemurun.STATUS_SUCCESS:
        print('bench-linux: the Elyz run failed (status %s); log tail:\n%s'
              % (result.status, result.tail()))
    report(elyz, linux, release, (time.time() - start, linux_seconds, result.seconds))
    return 0 if linux and lines else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
