"""demo: the descriptor model at work, in a log a newcomer can follow.

The writer (this program) allocates a page, maps it, writes a message in
it, keeps a strong clone, lends a lease of LEASE_TICKS ticks, and starts
`demo_reader`, moving the page's descriptor and the lease into it.  The
reader maps the page and prints the message, maps the lease and reads it,
sleeps past the lease's expiry and shows that the lease is dead and its
mapping gone, then exits 0.  Returns 0 when every step behaved.
"""

from elyz.abi.rights import (PROT_READ, PROT_WRITE, RIGHT_BORROW, RIGHT_CLONE, RIGHT_MAP,
                             RIGHT_READ, RIGHT_TRANSFER, RIGHT_WRITE)
from user.lib import api, process

PAGE = 4096
MESSAGE_VA = 0x60000000
MESSAGE = "Hello through a MemoryObject: written by the demo, read by demo_reader"
LEASE_TICKS = 20
RIGHTS = RIGHT_READ | RIGHT_WRITE | RIGHT_MAP | RIGHT_CLONE | RIGHT_TRANSFER | RIGHT_BORROW


def fail(what, code):
    api.write("demo: FAIL %s (%d)\n" % (what, code))
    return 1


def main(argv):
    page = api.sys_allocate(PAGE, RIGHTS)
    if page < 0:
        return fail("allocate", page)
    api.write("demo: allocated one page, descriptor %d\n" % page)
    status = api.sys_map(page, MESSAGE_VA, 0, PAGE, PROT_READ | PROT_WRITE)
    if status < 0:
        return fail("map", status)
    process.write_string(MESSAGE_VA, MESSAGE)
    api.write("demo: wrote %d bytes at 0x%x\n" % (len(MESSAGE), MESSAGE_VA))
    keep = api.sys_clone(page, RIGHTS)
    lease = api.sys_borrow(keep, LEASE_TICKS)
    if keep < 0 or lease < 0:
        return fail("clone or borrow", min(keep, lease))
    api.write("demo: lent a lease of %d ticks (descriptor %d)\n" % (LEASE_TICKS, lease))
    reader = process.spawn(process.IMAGE, ["demo_reader", str(len(MESSAGE))], [page, lease])
    if reader < 0:
        return fail("spawn demo_reader", reader)
    api.write("demo: moved the page and the lease into demo_reader; my mapping went with them\n")
    code = process.wait(reader)
    api.write("demo: demo_reader exited with %d\n" % code)
    api.sys_release(reader)
    api.sys_release(keep)
    if code != 0:
        return 1
    return 0
