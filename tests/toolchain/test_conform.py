"""The ABI conformance program (user/conform.py), from ring 3 in QEMU:
every (system call, error) pair docs/abi.md lists is provoked and seen,
every rule test passes, and each test leaves the kernel's counters where
it found them."""

import re

from elyz.abi import syscalls
from tests.toolchain.test_user_boot import NO_LEAK, initrd, run_init  # noqa: F401
from tools import qemurun

PAIRS = ['%s %s' % (call, error) for number, call, args, result in syscalls.SYSCALLS
         for error in syscalls.ERRORS[call]]
TESTS = ['debug_write', 'sleep_yield_clock', 'allocate', 'clone', 'borrow', 'transfer',
         'release_describe_counters', 'self_wait', 'spawn', 'map', 'unmap',
         'mapping_records_run_out', 'lease_limit', 'rights_never_grow',
         'released_values_stay_refused', 'lease_mapping_gone_at_expiry',
         'transfer_takes_the_mapping', 'last_strong_release_unmaps_everywhere',
         'no_descriptor_no_access', 'channel_create', 'channel_send', 'channel_recv',
         'wait_any', 'channel_call', 'channel_call_regs', 'endpoint_records_run_out',
         'messages_run_out', 'descriptors_travel_between_processes', 'lease_in_flight_expires',
         'cycles_are_collected']


def lines(log, pattern):
    return re.findall(r'^\[pid \d+\] conform: ' + pattern + '$', log, re.M)


def test_every_documented_error_of_every_call_is_provoked_from_ring_3(kernel_elf, initrd):
    result = run_init(kernel_elf, initrd, 'conform', memory='256M', timeout=300)
    log = result.log
    assert lines(log, r'FAIL (.*)') == [], result.tail()
    assert lines(log, r'ok (\S+) \(\d+ checks\)') == TESTS, result.tail()
    assert sorted(lines(log, r'pair (\S+ \S+) covered')) == sorted(PAIRS), result.tail()
    assert lines(log, r'pair (\S+ \S+) MISSING') == []
    assert lines(log, r'(\d+) tests, 0 failed, (\d+)/(\d+) pairs covered') == \
        [(str(len(TESTS)), str(len(PAIRS)), str(len(PAIRS)))]
    assert 'init: conform exited with 0' in log
    assert NO_LEAK.search(log), result.tail()
    assert result.status == qemurun.STATUS_SUCCESS, result.tail()


def test_the_pairs_cover_every_error_a_call_can_return_but_internal_ones():
    from elyz.abi import errors
    listed = set(error for call in syscalls.ERRORS for error in syscalls.ERRORS[call])
    internal = set(['E_DOUBLE_FREE', 'E_RESERVED', 'E_OUT_OF_RANGE', 'E_NOT_MAPPED',
                    'E_ALREADY_MAPPED', 'E_REFUSED', 'E_MALFORMED', 'E_NOENT', 'E_NOSYS',
                    'E_OK'])
    assert listed | internal == set(errors.NAMES)
    assert len(PAIRS) >= 58
