"""`make bench-linux` (tools/benchlinux.py, tools/linuxbench/bench.c): the
pure-Python parts, the benchmark program on the host (never booted, never
as process 1), and the Elyz side in QEMU.  Nothing here downloads Linux."""

import gzip
import io
import os
import re
import subprocess

import pytest

from elyz.loader import archive
from tests.loader.images import place
from tests.toolchain.test_user_boot import initrd  # noqa: F401 (a fixture)
from tools import benchlinux, mkarchive, qemurun

APT_CACHE_DEPENDS = """linux-image-amd64
  Depends: linux-image-6.1.0-50-amd64
"""

LINUX_LOG = """\x1b[0m[    0.000000] Linux version 6.1.0-50-amd64
LINUX 6.1.0-50-amd64
BENCH boot_to_init 1 -1 6085105169
BENCH null_syscall_getpid 100000 307 307
BENCH dup_close 100000 940 937
BENCH vfork_exec_wait 200 449000 449971
BENCH_DONE
[    3.324385] reboot: Power down
"""


def newc_entries(data):
    """Returns [(name, mode, file data)] of a newc archive, trailer excluded."""
    entries = []
    pos = 0
    while True:
        assert data[pos:pos + 6] == b'070701', 'no newc magic at %d' % pos
        fields = [int(data[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = data[pos + 110:pos + 110 + namesize - 1].decode('ascii')
        pos += 110 + namesize
        pos += -pos % 4
        if name == mkarchive.TRAILER:
            return entries
        entries.append((name, mode, data[pos:pos + size]))
        pos += size
        pos += -pos % 4


# ------------------------------------------------------------ the Linux package

def test_the_kernel_package_is_what_linux_image_amd64_depends_on():
    assert benchlinux.depended_package(APT_CACHE_DEPENDS) == 'linux-image-6.1.0-50-amd64'


def test_no_depends_line_names_no_package():
    assert benchlinux.depended_package('W: Unable to locate package linux-image-amd64\n') is None
    assert benchlinux.depended_package('linux-image-amd64\n  Depends: linux-base\n') is None


def test_a_package_dir_without_a_vmlinuz_is_no_cache(tmpdir):
    assert benchlinux.cached_kernel(str(tmpdir)) is None
    tmpdir.mkdir('boot').join('vmlinuz-6.1.0-50-amd64').write('x')
    assert benchlinux.cached_kernel(str(tmpdir)).endswith('boot/vmlinuz-6.1.0-50-amd64')


def test_the_qemu_command_is_bench_facts_with_the_files_filled_in():
    cmd = benchlinux.linux_command('/k/vmlinuz', '/k/ird.gz')
    assert ' '.join(cmd) == (
        'qemu-system-x86_64 -M q35 -m 512M -cpu qemu64 -smp 1 -display none -no-reboot '
        '-monitor none -serial stdio -icount shift=0,sleep=off '
        '-rtc base=2024-01-01T00:00:00,clock=vm -kernel /k/vmlinuz -initrd /k/ird.gz '
        '-append console=ttyS0 quiet panic=-1')


# ------------------------------------------------------------ the initramfs

def test_the_initramfs_is_gzipped_newc_with_dev_and_an_executable_init():
    data = gzip.GzipFile(fileobj=io.BytesIO(benchlinux.initramfs(b'\x7fELF' + b'x' * 999))).read()
    assert newc_entries(data) == [('dev', 0o040755, b''),
                                  ('init', 0o100755, b'\x7fELF' + b'x' * 999)]
    entry = archive.Entry()       # Elyz's own reader agrees
    assert archive.find(place(data), len(data), 'init', entry) == 0 and entry.size == 1003


def test_the_initramfs_is_the_same_bytes_every_time():
    assert benchlinux.initramfs(b'abc') == benchlinux.initramfs(b'abc')


@pytest.mark.skipif(not os.path.exists('/usr/lib/x86_64-linux-gnu/libc.a'),
                    reason='no static glibc (libc6-dev): make bench-linux installs it')
def test_the_benchmark_program_exits_0_with_an_argument_and_refuses_to_run_elsewhere(tmpdir):
    binary = str(tmpdir.join('init'))
    subprocess.check_call(['gcc'] + benchlinux.CFLAGS + ['-o', binary, benchlinux.BENCH_SOURCE])
    assert subprocess.call([binary, 'exit']) == 0
    proc = subprocess.Popen([binary], stderr=subprocess.PIPE)
    assert b'usage' in proc.communicate()[1] and proc.returncode == 2
    entry = subprocess.check_output(['readelf', '-h', binary]).decode('ascii')
    symbols = subprocess.check_output(['nm', binary]).decode('ascii')
    address = re.search(r'^([0-9a-f]+) T bench_entry$', symbols, re.M).group(1)
    assert re.search(r'Entry point address:\s+0x0*%s' % address.lstrip('0'), entry)


# ------------------------------------------------------------ parsing and the table

def test_linux_lines_give_the_instruction_figures():
    figures, release, errors = benchlinux.parse_linux(LINUX_LOG)
    assert figures == {'boot_to_init': 6085105169, 'null_syscall_getpid': 307,
                       'dup_close': 937, 'vfork_exec_wait': 449971}
    assert release == '6.1.0-50-amd64' and errors == 0
    assert benchlinux.parse_linux(LINUX_LOG + 'BENCH_ERRORS 3\n')[2] == 3


def test_elyz_figures_take_the_kernel_boot_line():
    log = 'debug: BENCH boot_to_first_user 76560180\n[pid 1] BENCH yield 1000 157\n'
    assert benchlinux.parse_elyz([('yield', 1000, 157)], log) == {
        'yield': 157, 'boot_to_first_user': 76560180}


@pytest.mark.parametrize('elyz, linux, verdict', [
    (150, 300, 'met'), (151, 300, 'not met'), (None, 300, '-'), (10, None, '-')])
def test_the_goal_is_at_most_half_of_linux(elyz, linux, verdict):
    assert benchlinux.goal(elyz, linux) == verdict


def test_the_table_has_a_row_per_op_with_ratio_and_goal():
    rows = [('a', 'Elyz a', 'la', 'Linux a'), ('b', 'Elyz b', 'lb', 'Linux b')]
    lines = benchlinux.table({'a': 1000, 'b': 5}, {'la': 10000, 'lb': 8}, rows)
    assert len(lines) == 4 and 'ratio' in lines[0] and 'goal' in lines[0]
    assert lines[2].split() == ['Elyz', 'a', 'Linux', 'a', '10,000', '1,000', '0.100', 'met']
    assert lines[3].split()[-3:] == ['0.625', 'not', 'met']
    missing = benchlinux.table({}, {'la': 10000}, rows[:1])[2]
    assert 'missing' in missing and missing.endswith('-')


def test_the_table_rows_cover_the_ops_the_brief_names():
    assert [row[0] for row in benchlinux.ROWS] == [
        'null_syscall', 'yield', 'clone_release', 'alloc_map_touch_release_4k',
        'spawn_exit_wait', 'channel_call_round_trip', 'channel_round_trip_desc',
        'boot_to_first_user']
    assert all(row[2] in benchlinux.FACTS for row in benchlinux.ROWS)


# ------------------------------------------------------------ the Elyz side, booted

def test_elyz_bench_measures_clone_and_map_unmap_and_the_kernel_logs_its_boot(kernel_elf,
                                                                            initrd):  # noqa
    result = qemurun.boot(kernel=kernel_elf, cmdline='elyz.init=bench:clone_release:map_unmap_4k '
                          'elyz.exit', icount=True, timeout=120, extra=['-initrd', initrd])
    assert result.status == qemurun.STATUS_SUCCESS, result.tail()
    lines = dict((op, int(value)) for op, _, value
                 in re.findall(r'^\[pid \d+\] BENCH (\S+) (\d+) (-?\d+)$', result.log, re.M))
    assert sorted(lines) == ['clone_release', 'map_unmap_4k'], result.tail()
    assert all(value > 0 for value in lines.values())
    assert len(benchlinux.ELYZ_BOOT_LINE.findall(result.log)) == 1, result.tail()
    assert 0 < benchlinux.parse_elyz([], result.log)['boot_to_first_user']
