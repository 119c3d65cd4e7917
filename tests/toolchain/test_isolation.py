"""Isolation from ring 3 in QEMU (user/isolation.py): a child that reads
or writes any address it did not map (the user half's holes, its own
read-only image, the parent's secret, every top-level slot of the kernel
half, non-canonical addresses) is killed at exactly that address and reads
nothing; no pointer call takes a kernel or unmapped address; nothing
leaks."""

import re

from tests.toolchain.test_user_boot import NO_LEAK, initrd, run_init  # noqa: F401
from tools import qemurun

KERNEL_SLOTS = 256


def test_every_address_a_process_did_not_map_kills_it_and_shows_nothing(kernel_elf, initrd):
    result = run_init(kernel_elf, initrd, 'isolation', memory='256M', timeout=300)
    log = result.log
    assert re.findall(r'^\[pid \d+\] isolation: FAIL (.*)$', log, re.M) == [], result.tail()
    summary = re.search(r'^\[pid \d+\] isolation: (\d+) probes, 0 failed, leaks 0$', log, re.M)
    assert summary, result.tail()
    assert int(summary.group(1)) > KERNEL_SLOTS + 60
    kills = re.findall(r'^error: process \d+ killed: (#PF|#GP) .*?(?:address (0x[0-9a-f]+): '
                       r'(.*))?$', log, re.M)
    addresses = [int(a, 16) for kind, a, cause in kills if a]
    assert len([a for a in addresses if a >= 0xffff800000000000]) >= KERNEL_SLOTS
    assert ('#PF', '0x400000', 'protection violation, write, user mode') in kills
    assert len([k for k in kills if k[0] == '#GP']) == 8          # non-canonical
    assert 'init: isolation exited with 0' in log
    assert NO_LEAK.search(log), result.tail()
    assert result.status == qemurun.STATUS_SUCCESS, result.tail()
