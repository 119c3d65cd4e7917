"""The translated kernel's built-in self-tests, booted by pytest (PVH), with
a tiny and a large memory size; and once through GRUB, where the console
runs on a real framebuffer."""

import re

import pytest

from tests.toolchain.test_boot import make_image
from tools import qemurun

SUMMARY = re.compile(r'^(\d+) passed, (\d+) failed, (\d+) skipped$', re.M)
EXPECTED_TESTS = ('pmm.alloc_every_free_frame', 'paging.map_translate_unmap',
                  'heap.churn_back_to_baseline', 'runtime.memmove_overlap', 'console.scroll',
                  'interrupts.page_fault_caught', 'interrupts.breakpoint_returns',
                  'interrupts.timer_ticks_advance', 'interrupts.timer_rate',
                  'cpu.control_registers', 'paging.kernel_tables_audit',
                  'paging.kernel_image_not_writable', 'stacks.guard_pages_unmapped',
                  'stacks.rpython_check_catches_recursion',
                  'objects.allocate_describe_release', 'objects.stale_descriptor_refused',
                  'objects.clone_rights_only_shrink', 'objects.borrow_and_death',
                  'objects.lease_expires_on_timer', 'objects.map_checks',
                  'objects.release_unmaps', 'objects.transfer_rules', 'objects.table_full',
                  'objects.process_lifecycle', 'objects.pools_exhausted',
                  'objects.out_of_frames', 'objects.no_leak_churn',
                  'user.syscalls_and_exit', 'user.faults_kill_only_the_process',
                  'user.bad_pointers_return_e_fault', 'user.preemption',
                  'user.sleep_wakes_on_time', 'user.release_unmaps',
                  'user.fpu_state_is_per_process', 'user.no_leak')
# Run only on a CPU that has SMEP and SMAP (skipped on qemu64).
SMEP_SMAP_TESTS = ('cpu.smap_blocks_user_access', 'cpu.smep_blocks_user_execution')


def assert_all_passed(result, expected=EXPECTED_TESTS):
    match = SUMMARY.search(result.log)
    assert match, 'no self-test summary (QEMU status %s):\n%s' % (result.status, result.tail())
    failures = re.findall(r'^TEST (\S+) FAIL (.*)$', result.log, re.M)
    assert failures == [], result.tail()
    ran = re.findall(r'^TEST (\S+) ok$', result.log, re.M)
    for name in expected:
        assert name in ran, 'self-test %s did not run:\n%s' % (name, result.tail())
    skipped = re.findall(r'^TEST (\S+) skipped \(.*\)$', result.log, re.M)
    assert set(skipped) <= set(SMEP_SMAP_TESTS), result.tail()
    assert int(match.group(1)) == len(ran) and match.group(2) == '0'
    assert int(match.group(3)) == len(skipped)
    assert result.status == qemurun.STATUS_SUCCESS, result.tail()


@pytest.mark.parametrize('memory', ['64M', '2G'])
def test_selftests_pass_with_memory_size(kernel_elf, memory):
    result = qemurun.boot(kernel=kernel_elf, cmdline='elyz.selftest elyz.exit', memory=memory,
                          timeout=180)
    assert_all_passed(result)


def test_selftests_pass_on_a_cpu_with_smep_and_smap(kernel_elf):
    # QEMU's TCG 'max' CPU has SMEP and SMAP: the kernel turns both on and the
    # self-tests prove them by behaviour (a blocked read, a blocked fetch).
    result = qemurun.boot(kernel=kernel_elf, cmdline='elyz.selftest elyz.exit', memory='128M',
                          cpu='max', timeout=180)
    assert 'cpu: write protection on; global pages on; SMEP on; SMAP on' in result.log, \
        result.tail()
    assert_all_passed(result, EXPECTED_TESTS + SMEP_SMAP_TESTS)


def test_selftests_pass_on_the_grub_framebuffer_path(kernel_elf, tmpdir):
    iso = tmpdir.join('selftest.iso')
    make_image('iso', kernel_elf, iso, 'elyz.selftest elyz.exit', limine=False)
    result = qemurun.boot(image=str(iso), timeout=300)
    assert_all_passed(result)
    assert re.search(r'^console: \d+x\d+ characters', result.log, re.M), result.tail()
