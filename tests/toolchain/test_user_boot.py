"""User programs from the boot archive, booted in QEMU: init starts them,
they exercise every system call of the user-mode issue, and when init has
exited every frame and heap byte is back (the kernel checks and prints it).
"""

import os
import re
import subprocess

import pytest

from tests.conftest import ROOT
from tests.toolchain.test_boot import make_image, needs_limine
from tools import qemurun

INITRD = os.path.join(ROOT, 'build', 'x86_64', 'user', 'initrd.cpio')
NO_LEAK = re.compile(r'^user: frames free \d+ -> \d+ .*processes left 0: no leak$', re.M)


@pytest.fixture(scope='session')
def initrd(kernel_elf):
    """Builds the user image and the boot archive once (make initrd)."""
    proc = subprocess.Popen(['make', '-s', 'initrd'], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = proc.communicate()[0]
    if proc.returncode != 0:
        pytest.fail('make initrd failed:\n%s' % out.decode('utf-8', 'replace')[-4000:])
    return INITRD


def run_init(kernel_elf, initrd, programs, memory='256M', timeout=120):
    return qemurun.boot(kernel=kernel_elf, cmdline='elyz.init=%s elyz.exit' % programs,
                        memory=memory, timeout=timeout, extra=['-initrd', initrd])


def exit_codes(log):
    return dict(re.findall(r'^\[pid \d+\] init: (\S+) exited with (-?\d+)$', log, re.M))


def test_init_runs_every_program_and_nothing_leaks(kernel_elf, initrd):
    result = run_init(kernel_elf, initrd, 'hello,demo,spawnmany,gcstress,server')
    assert re.search(r'^init: process 0 started from the boot archive', result.log, re.M), \
        result.tail()
    assert exit_codes(result.log) == {'hello': '0', 'demo': '0', 'spawnmany': '0',
                                      'gcstress': '0', 'server': '0'}, result.tail()
    assert 'server: 4 requests answered, 0 clients failed, leaks 0' in result.log
    assert 'init exited with 0' in result.log
    assert NO_LEAK.search(result.log), result.tail()
    assert result.status == qemurun.STATUS_SUCCESS, result.tail()


def test_the_demo_moves_memory_and_a_lease_between_processes(kernel_elf, initrd):
    log = run_init(kernel_elf, initrd, 'demo').log
    assert re.search(r'demo_reader: the message reads: Hello through a MemoryObject', log), log
    assert re.search(r'demo_reader: after 30 ticks the lease is dead; mapping it again '
                     r'gives -11$', log, re.M), log


def test_fifty_processes_are_spawned_and_waited_for(kernel_elf, initrd):
    log = run_init(kernel_elf, initrd, 'spawnmany').log
    assert 'spawnmany: 50 processes spawned and waited, 0 failed' in log, log
    assert len(re.findall(r'hello from Elyz user mode', log)) == 50
    assert NO_LEAK.search(log), log


def test_a_gc_program_allocates_over_100_times_its_heap(kernel_elf, initrd):
    log = run_init(kernel_elf, initrd, 'gcstress').log
    match = re.search(r'gcstress: ok rounds=\d+ allocated=(\d+) .* heap_mapped=(\d+) .*'
                      r'ratio=(\d+)', log)
    assert match, log
    assert int(match.group(3)) >= 100
    assert int(match.group(1)) >= 100 * int(match.group(2))


def test_an_unknown_program_is_reported_and_init_fails(kernel_elf, initrd):
    result = run_init(kernel_elf, initrd, 'nosuchprogram')
    assert "no program called 'nosuchprogram'" in result.log
    assert exit_codes(result.log) == {'nosuchprogram': '127'}
    assert result.status == qemurun.STATUS_FAILURE
    assert NO_LEAK.search(result.log), result.tail()


def test_the_grub_image_carries_the_boot_archive_as_a_multiboot2_module(
        kernel_elf, initrd, tmpdir, monkeypatch):
    monkeypatch.setenv('ELYZ_INITRD', initrd)
    iso = tmpdir.join('user.iso')
    make_image('iso', kernel_elf, iso, 'elyz.init=hello elyz.exit', limine=False)
    result = qemurun.boot(image=str(iso), uefi=False, timeout=60)
    assert exit_codes(result.log) == {'hello': '0'}, result.tail()
    assert result.status == qemurun.STATUS_SUCCESS


def test_user_programs_run_with_smep_and_smap_on(kernel_elf, initrd):
    # With SMAP the kernel reaches user memory only through its copy window.
    result = qemurun.boot(kernel=kernel_elf, cmdline='elyz.init=demo,gcstress:500 elyz.exit',
                          memory='256M', cpu='max', timeout=120, extra=['-initrd', initrd])
    assert 'SMEP on; SMAP on' in result.log, result.tail()
    assert exit_codes(result.log) == {'demo': '0', 'gcstress': '0'}, result.tail()
    assert NO_LEAK.search(result.log), result.tail()


@needs_limine
def test_the_limine_image_carries_the_boot_archive_as_a_module(
        kernel_elf, initrd, tmpdir, monkeypatch):
    monkeypatch.setenv('ELYZ_INITRD', initrd)
    iso = tmpdir.join('limine-user.iso')
    make_image('iso', kernel_elf, iso, 'elyz.init=hello elyz.exit', limine=True)
    result = qemurun.boot(image=str(iso), uefi=False, timeout=60)
    assert 'boot: limine' in result.log, result.tail()
    assert exit_codes(result.log) == {'hello': '0'}, result.tail()
    assert result.status == qemurun.STATUS_SUCCESS
