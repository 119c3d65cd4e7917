"""The system-call fuzzer (user/fuzz.py) booted in QEMU: 10^5 calls from
workers and sub-workers, every result as the ABI allows, nothing leaked;
and the same seed replays the same run (under -icount, where the timer is
an instruction count too).  `make fuzz` runs 10^6 calls and more."""

import re

from tests.toolchain.test_user_boot import NO_LEAK, exit_codes, initrd, run_init  # noqa: F401
from tools import qemurun

CALLS = 100000
SUMMARY = re.compile(r'^\[pid \d+\] fuzz: (\d+) calls in [\d.]+ s \(\d+ calls/s\), '
                     r'(\d+) processes, seed (\d+), leaks (.*)$', re.M)
CHANNEL_CALLS = re.compile(r'^\[pid \d+\] fuzz: (\d+) channel calls \((\d+)%\)$', re.M)
FUZZ_LINES = re.compile(r'^\[pid \d+\] fuzz: .*$', re.M)
KILLED = re.compile(r'^error: process \d+ killed: .*$', re.M)
# What kills a probe: the read of the page whose mapping went (PROBE_ADDRESS).
PROBE_FAULT = 'address 0x100001008: page not present, read, user mode'


def test_a_hundred_thousand_random_calls_give_what_the_abi_allows_and_leak_nothing(
        kernel_elf, initrd):  # noqa: F811
    result = run_init(kernel_elf, initrd, 'fuzz:%d:1' % CALLS, timeout=300)
    assert 'fuzz: FAIL' not in result.log, result.tail()
    assert 'PANIC' not in result.log, result.tail()
    match = SUMMARY.search(result.log)
    assert match, result.tail()
    calls, processes, seed, leaks = match.groups()
    assert int(calls) >= CALLS
    kills = KILLED.findall(result.log)
    assert kills, 'no probe ran'
    assert [k for k in kills if not k.endswith(PROBE_FAULT)] == []
    assert int(processes) > 4               # sub-workers too
    channel_calls, share = CHANNEL_CALLS.search(result.log).groups()
    assert int(share) >= 10, channel_calls  # channel_create, _send, _recv and wait_any
    assert (seed, leaks) == ('1', '0')
    assert exit_codes(result.log) == {'fuzz': '0'}, result.tail()
    assert NO_LEAK.search(result.log), result.tail()
    assert result.status == qemurun.STATUS_SUCCESS, result.tail()


def test_the_same_seed_replays_the_same_calls(kernel_elf, initrd):  # noqa: F811
    logs = []
    for _ in range(2):
        result = qemurun.boot(kernel=kernel_elf, cmdline='elyz.init=fuzz:20000:3 elyz.exit',
                              memory='256M', icount=True, timeout=120,
                              extra=['-initrd', initrd])
        assert result.status == qemurun.STATUS_SUCCESS, result.tail()
        logs.append(FUZZ_LINES.findall(result.log))
    assert SUMMARY.search(logs[0][-1]), logs[0]
    assert logs[0] == logs[1]
