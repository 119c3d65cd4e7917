"""isolation: a process reaches nothing it holds no descriptor for.

    isolation               runs every probe; returns 0 when each was killed
                            as it should be and nothing leaked
    isolation probe MODE ADDRESS    (a child) reads (MODE r) or writes (w)
                            the word at ADDRESS; it should never return
    isolation probe heapend w       (a child) writes just past its own heap
    isolation syscalls ADDRESS...   (a child) hands each ADDRESS to every
                            call that takes a pointer: each must say E_FAULT

The parent maps a secret page at SECRET_VA, then starts one child per
probe: every page it did not map (page 0, the guard below its stack, the
page above it, just past its heap, its image's end, each power of two of
the user half, the top of the user half, the parent's secret), a write to
its own read-only image, every one of the 256 top-level slots of the
kernel half (and its well-known regions: direct map, kernel image, kernel
stacks, image window), and non-canonical addresses.  Each child must be
killed by a page fault at exactly the address it touched (describe's
fault_address, exit 142), or by a general protection fault for a
non-canonical address (exit 141): it learns nothing.  The kernel's
counters are back at the end.

Output: `isolation: FAIL <probe>: ...` for each wrong outcome, then
`isolation: <probes> probes, <failed> failed, leaks <0|what>`.
"""

from rpython.rtyper.lltypesystem import rffi

from elyz.abi import limits
from elyz.abi.errors import E_FAULT
from elyz.abi.rights import MEMORY_RIGHTS, PROT_READ, PROT_WRITE
from elyz.kernel.spawn import STACK_SIZE, STACK_TOP
from user.lib import api, process

PAGE = limits.PAGE_SIZE
EXIT_PAGE_FAULT = 128 + 14
EXIT_GENERAL_PROTECTION = 128 + 13
EXIT_SURVIVED = 3
ADDRESSES_PER_CHILD = 32
SECRET_VA = 0x140000000
SECRET = 0x5ec2e75ec2e7
IMAGE_BASE = 0x400000
IMAGE_END_PROBE = 0x2000000         # far past the image (a few hundred KiB)
HEAP_BASE = 0x10000000
HEAP_LIMIT = 0x50000000

NON_CANONICAL = [0x800000000000, -0x800000000001, 0x7fffffffffff0000 + 0x8000,
                 -0x1000000000000 + 0x800000000000 - 8]
KERNEL_REGIONS = [-0x800000000000,                      # the direct map
                  -0x800000000000 + 0x100000,           # low RAM through it
                  -0x80000000,                          # the kernel image
                  -0x80000000 + 0x200000,
                  -0x20000000000,                       # kernel stacks (PML4 508)
                  -0x40000000000,                       # the spawn image window (504)
                  -8]


def user_probes():
    """Returns [(mode, address)] of user-half addresses no child maps."""
    probes = [('r', 0), ('w', 8), ('r', PAGE - 8), ('w', limits.USER_START),
              ('r', IMAGE_BASE - 8), ('w', IMAGE_BASE), ('r', IMAGE_END_PROBE),
              ('r', HEAP_LIMIT - 8), ('w', HEAP_LIMIT),
              ('w', STACK_TOP - STACK_SIZE - 8), ('r', STACK_TOP), ('w', STACK_TOP + PAGE),
              ('r', limits.USER_END - 8), ('w', limits.USER_END),
              ('r', limits.USER_END + PAGE - 8), ('r', SECRET_VA), ('w', SECRET_VA + 8)]
    k = 31
    while k < 47:
        address = 1 << k
        if not (HEAP_BASE <= address < HEAP_LIMIT) and address != STACK_TOP:
            probes.append(('r', address))
            probes.append(('w', address + address // 2))
        k += 1
    return probes


def kernel_probes():
    """Returns [(mode, address)] of kernel-half addresses: every top-level
    slot (reads), and the known regions (reads and writes)."""
    probes = []
    slot = 256
    while slot < 512:
        probes.append(('r', (slot - 512) << 39))
        slot += 1
    for address in KERNEL_REGIONS:
        probes.append(('r', address))
        probes.append(('w', address))
    return probes


class _State(object):
    def __init__(self):
        self.probes = 0
        self.failed = 0


_state = _State()


def failed(what):
    _state.failed += 1
    api.write('isolation: FAIL %s\n' % what)


def probe(mode, address, expect_code, expect_address):
    """Starts a child that touches address; checks how it ended."""
    _state.probes += 1
    child = process.spawn(process.IMAGE, ['isolation', 'probe', mode, str(address)], [])
    if child < 0:
        failed('%s 0x%x: spawn: %d' % (mode, address, child))
        return
    code = process.wait(child)
    info = process.Description()
    process.describe(child, info)
    api.sys_release(child)
    if code != expect_code or info.fault_address != expect_address:
        failed('%s 0x%x: exit %d, fault address 0x%x (expected exit %d at 0x%x)' % (
            mode, address, code, info.fault_address, expect_code, expect_address))


def syscall_probe(addresses):
    """Starts one child handing every address to the pointer calls."""
    _state.probes += 1
    argv = ['isolation', 'syscalls']
    for address in addresses:
        argv.append(str(address))
    child = process.spawn(process.IMAGE, argv, [])
    code = process.wait(child) if child >= 0 else child
    api.sys_release(child)
    if code != 0:
        failed('pointer arguments: exit %d (the address of index %d was not E_FAULT)' % (
            code, code - 10))


def run_probes():
    for mode, address in user_probes():
        probe(mode, address, EXIT_PAGE_FAULT, address)
    for mode, address in kernel_probes():
        probe(mode, address, EXIT_PAGE_FAULT, address)
    for address in NON_CANONICAL:
        probe('r', address, EXIT_GENERAL_PROTECTION, 0)
        probe('w', address, EXIT_GENERAL_PROTECTION, 0)
    addresses = []
    for mode, address in kernel_probes():
        addresses.append(address)
    for address in NON_CANONICAL:
        addresses.append(address)
    addresses.append(SECRET_VA)
    addresses.append(0)
    first = 0
    while first < len(addresses):             # an args block holds 1024 bytes
        syscall_probe(addresses[first:first + ADDRESSES_PER_CHILD])
        first += ADDRESSES_PER_CHILD
    _state.probes += 1
    child = process.spawn(process.IMAGE, ['isolation', 'probe', 'w', 'heapend'], [])
    code = process.wait(child)
    info = process.Description()
    process.describe(child, info)
    api.sys_release(child)
    if code != EXIT_PAGE_FAULT or info.fault_address < HEAP_BASE or \
            info.fault_address >= HEAP_LIMIT:
        failed('w past its own heap: exit %d at 0x%x' % (code, info.fault_address))


# ------------------------------------------------------------ the children

def role_probe(argv):
    mode = argv[2]
    if argv[3] == 'heapend':
        address = HEAP_BASE + api.heap_info(api.HEAP_MAPPED)
    else:
        address = int(argv[3])
    pointer = rffi.cast(rffi.LONGP, address)
    if mode == 'w':
        pointer[0] = SECRET
    elif pointer[0] == SECRET:
        return EXIT_SURVIVED + 1            # it read the secret
    return EXIT_SURVIVED


def role_syscalls(argv):
    """Returns 0 when every pointer call refused every address with
    E_FAULT, else 10 + the index of the first address that got through."""
    desc = api.sys_allocate(PAGE, MEMORY_RIGHTS)
    i = 2
    while i < len(argv):
        address = int(argv[i])
        if api.sys_debug_write(address, 8) != E_FAULT or \
                api.sys_describe(desc, address) != E_FAULT or \
                api.sys_counters(address) != E_FAULT or \
                api.sys_spawn(desc, address, 1, address, 0) != E_FAULT or \
                api.sys_spawn(desc, 0x10000000, 0, address, 8) != E_FAULT:
            return 10 + i - 2
        i += 1
    api.sys_release(desc)
    return 0


def main(argv):
    if len(argv) > 3 and argv[1] == 'probe':
        return role_probe(argv)
    if len(argv) > 1 and argv[1] == 'syscalls':
        return role_syscalls(argv)
    before = process.Counters()
    after = process.Counters()
    process.counters(before)
    secret = api.sys_allocate(PAGE, MEMORY_RIGHTS)
    if secret < 0 or api.sys_map(secret, SECRET_VA, 0, PAGE, PROT_READ | PROT_WRITE) != 0:
        api.write('isolation: cannot map the secret\n')
        return 1
    rffi.cast(rffi.LONGP, SECRET_VA)[0] = SECRET
    run_probes()
    api.sys_release(secret)
    process.counters(after)
    leaks = process.leaked(before, after)
    if not leaks:
        leaks = ' 0'
    else:
        _state.failed += 1
    api.write('isolation: %d probes, %d failed, leaks%s\n' % (_state.probes, _state.failed,
                                                               leaks))
    if _state.failed:
        return 1
    return 0
