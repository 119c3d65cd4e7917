"""demo_reader: the other half of `demo` (see demo.py).

    demo_reader LENGTH    its first two descriptors: the page (strong) and a
                          lease of it; LENGTH bytes of message in the page
"""

from elyz.abi.rights import PROT_READ
from user.lib import api, process

PAGE_VA = 0x70000000
LEASE_VA = 0x70001000
SLEEP_TICKS = 30


def main(argv):
    if len(argv) < 2:
        return 2
    length = int(argv[1])
    page = process.first_descriptor(0)
    lease = process.first_descriptor(1)
    status = api.sys_map(page, PAGE_VA, 0, 4096, PROT_READ)
    if status < 0:
        api.write("demo_reader: FAIL map (%d)\n" % status)
        return 1
    api.write("demo_reader: the message reads: %s\n" % process.read_string(PAGE_VA, length))
    status = api.sys_map(lease, LEASE_VA, 0, 4096, PROT_READ)
    info = process.Description()
    process.describe(lease, info)
    api.write("demo_reader: mapped the lease (expires at tick %d): %s\n"
              % (info.expiry, process.read_string(LEASE_VA, 5)))
    api.sys_sleep(SLEEP_TICKS)
    process.describe(lease, info)
    if not info.dead:
        api.write("demo_reader: FAIL the lease did not expire\n")
        return 1
    again = api.sys_map(lease, LEASE_VA, 0, 4096, PROT_READ)
    api.write("demo_reader: after %d ticks the lease is dead; mapping it again gives %d\n"
              % (SLEEP_TICKS, again))
    return 0
