"""The loongarch64 port, translated (make kernel KARCH=loongarch64) and
booted directly on QEMU's virt machine (-kernel, la464): the ELF QEMU
loads, the device tree completed from fw_cfg (memory, command line), the
built-in self-tests at a small and a large memory size, and the panic
path, on QEMU 10 from Debian's bookworm-backports (tools/qemu-backports.sh:
Debian 12's QEMU 7.2 emulates LoongArch with 16 KiB pages, under which a
4 KiB page mapped away from its 16 KiB-congruent frame reaches the wrong
frame).  The kernel powers the machine off through the GED, so QEMU's exit
status is 0 whatever happened: the log is what is judged."""

import os
import re
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from tests.conftest import ROOT
from tools import qemurun

KARCH = 'loongarch64'
KERNEL = os.path.join(ROOT, 'build', KARCH, 'kernel', 'elyz.elf')
QEMU = qemurun.port_binary('loongarch64')
KERNEL_VMA = 0xffffffff80000000
EM_LOONGARCH = 258                  # pyelftools 0.29 has no name for it
PHYS_BASE = 0x200000
SUMMARY = re.compile(r'^(\d+) passed, (\d+) failed, (\d+) skipped$', re.M)
PORT_TESTS = ('pmm.alloc_every_free_frame', 'paging.map_translate_unmap',
              'heap.churn_back_to_baseline', 'runtime.memmove_overlap', 'console.scroll',
              'objects.allocate_describe_release', 'objects.stale_descriptor_refused',
              'objects.clone_rights_only_shrink', 'objects.borrow_and_death',
              'objects.lease_expires_on_timer', 'objects.map_checks', 'objects.release_unmaps',
              'objects.transfer_rules', 'objects.table_full', 'objects.process_lifecycle',
              'objects.pools_exhausted', 'objects.out_of_frames', 'objects.no_leak_churn',
              'paging.kernel_tables_audit', 'paging.kernel_image_not_writable',
              'stacks.guard_pages_unmapped', 'stacks.rpython_check_catches_recursion',
              'interrupts.page_fault_caught', 'paging.boot_window_closed',
              'interrupts.breakpoint_returns',
              'interrupts.timer_ticks_advance', 'interrupts.timer_rate')

def qemu_version():
    try:
        out = subprocess.check_output([QEMU, '--version']).decode('ascii', 'replace')
    except (OSError, subprocess.CalledProcessError):
        return None
    match = re.search(r'version (\d+)\.(\d+)', out)
    return (int(match.group(1)), int(match.group(2))) if match else None


@pytest.fixture(scope='module')
def loongarch_elf():
    """Builds the loongarch64 kernel (make kernel KARCH=loongarch64); returns its path."""
    if qemu_version() is None or qemu_version() < (8, 1):
        subprocess.call(['sh', 'tools/setup-system.sh', 'ports'], cwd=ROOT)
    global QEMU
    QEMU = qemurun.port_binary(KARCH)
    version = qemu_version()
    assert version is not None and version >= (8, 1), (
        'loongarch64 needs QEMU 8.1 or later (4 KiB target pages); '
        'tools/qemu-backports.sh fetches it, got %r' % (version,))
    if not os.path.exists(os.path.join(ROOT, 'build', 'tools', 'zig', 'bin', 'zig-cc')):
        subprocess.call(['sh', 'tools/zig-setup.sh'], cwd=ROOT)
    env = dict(os.environ, KARCH=KARCH)
    proc = subprocess.Popen(['make', '-s', 'kernel', 'KARCH=' + KARCH], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.communicate()[0]
    if proc.returncode != 0:
        pytest.fail('make kernel KARCH=%s failed:\n%s'
                    % (KARCH, out.decode('utf-8', 'replace')[-4000:]))
    return KERNEL


def boot(kernel, cmdline, memory='128M', timeout=120):
    """Boots kernel on the virt machine; returns the BootResult."""
    return qemurun.boot(kernel=kernel, cmdline=cmdline, memory=memory, timeout=timeout,
                        karch=KARCH)


def test_qemu_loads_the_image_at_its_physical_address(loongarch_elf):
    """QEMU 7.2 loads each segment at p_paddr and starts at e_entry as it
    is, in direct-address mode: both must be physical."""
    with open(loongarch_elf, 'rb') as f:
        elf = ELFFile(f)
        assert elf['e_machine'] in ('EM_LOONGARCH', EM_LOONGARCH)
        assert elf['e_entry'] == PHYS_BASE
        loads = [s for s in elf.iter_segments() if s['p_type'] == 'PT_LOAD']
        assert loads
        for segment in loads:
            assert segment['p_vaddr'] - KERNEL_VMA == segment['p_paddr']
            assert segment['p_paddr'] >= PHYS_BASE


def test_memory_and_command_line_reach_the_kernel(loongarch_elf):
    """QEMU 7.2's device tree has neither: boot.c adds them from fw_cfg."""
    result = boot(loongarch_elf, 'elyz.exit elyz.example=a,b')
    assert 'Elyz 0.1.0 (loongarch64, boot: devicetree)' in result.log, result.tail()
    assert 'command line: elyz.exit elyz.example=a,b' in result.log, result.tail()
    assert 'uart: ns16550 at 0x1fe001e0' in result.log, result.tail()
    usable = re.search(r'^memory: (\d+) MiB usable', result.log, re.M)
    assert usable and 100 <= int(usable.group(1)) <= 128, result.tail()
    assert not result.timed_out, 'the kernel did not power QEMU off:\n' + result.tail()


@pytest.mark.parametrize('memory', ['128M', '2G'])
def test_selftests_pass_with_memory_size(loongarch_elf, memory):
    result = boot(loongarch_elf, 'elyz.selftest elyz.exit', memory=memory, timeout=180)
    match = SUMMARY.search(result.log)
    assert match, 'no self-test summary:\n' + result.tail()
    assert not result.timed_out and result.status == qemurun.status_of('success', KARCH)
    ran = re.findall(r'^TEST (\S+) ok$', result.log, re.M)
    failed = re.findall(r'^TEST (\S+) FAIL (.*)$', result.log, re.M)
    skipped = re.findall(r'^TEST (\S+) skipped', result.log, re.M)
    assert skipped == [], result.tail()
    assert int(match.group(1)) == len(ran) and int(match.group(2)) == len(failed)
    assert failed == [], result.tail()
    assert sorted(ran) == sorted(PORT_TESTS), result.tail()


def test_a_panic_is_reported_and_powers_off(loongarch_elf):
    result = boot(loongarch_elf, 'elyz.panic elyz.exit')
    assert 'PANIC: requested on the command line (elyz.panic)' in result.log, result.tail()
    assert not result.timed_out, result.tail()
