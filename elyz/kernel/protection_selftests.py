"""Self-tests of the kernel's memory protection (`make selftest`), registered
on import.  Each proves a rule by behaviour or by reading the hardware state
back, on the live kernel:

    cpu.control_registers          CR0.WP and PG, CR4.PAE, PGE, SMEP and SMAP
                                   (as this CPU has them) and EFER.NXE are set
    paging.kernel_tables_audit     the live page tables keep every rule of
                                   elyz/mm/audit.py (W^X, supervisor-only
                                   kernel half, read-only image aliases,
                                   unmapped stack guards)
    paging.kernel_image_not_writable   stores into kernel text and rodata,
                                   through the image's own mapping and through
                                   the direct map, fault as protection
                                   violations (CR0.WP makes that bind the
                                   kernel; each store writes back the word it
                                   read, so a broken kernel is not harmed)
    stacks.guard_pages_unmapped    reading the guard page below each kernel
                                   stack faults (page not present)
    stacks.rpython_check_catches_recursion   unbounded RPython recursion
                                   raises StackOverflow near the bottom of the
                                   current stack (the bounds follow the stack)
                                   instead of running into the guard page
    cpu.smap_blocks_user_access    with SMAP, reading a user page faults unless
                                   user_access_begin() opened the window
    cpu.smep_blocks_user_execution with SMEP, calling into a user page faults
                                   on the instruction fetch

On the ports (aarch64, riscv64, loongarch64) the four tests in the middle
run (through elyz/kernel/porttraps.py's probes); the CPU-register, SMAP
and SMEP tests are x86_64's.  The SMAP and SMEP tests are skipped on a CPU without them (QEMU's qemu64);
tests/toolchain/test_selftest.py boots once with `-cpu max` to run them.
Each test returns None when it passed or a constant string saying why not.
"""

from rpython.rlib import rstackovf

from elyz.kernel import selftest
from elyz.mm import audit, kernel_space, paging, protection
from elyz.mm.pmm import pmm
from elyz.rlib_kernel import cpu, image, rawmem, runtime
from elyz.rlib_kernel.karch import KARCH
if KARCH == 'x86_64':
    from elyz.kernel import traps
else:
    from elyz.kernel import porttraps as traps      # the same probe functions


def x86_64_selftest(name):
    """selftest.selftest, on x86_64 only (the test reads x86 registers)."""
    def deco(function):
        if KARCH == 'x86_64':
            selftest.register(name, function)
        return function
    return deco

MSR_EFER = 0xC0000080
EFER_NXE = 1 << 11
USER_TEST_VIRT = 0x40000000     # lower half: nothing else maps it in the kernel's PML4
PATTERN = 0x0DDBA11C0FFEE000
# mov eax, 0x5e; ret: what the SMEP test's user page would run if fetched
USER_CODE = [0xB8, 0x5E, 0x00, 0x00, 0x00, 0xC3]
USER_CODE_RESULT = 0x5E
MIN_RECURSION_DEPTH = 100       # a false overflow would stop far earlier
STACK_CHECK_SLACK = 1024        # C code between two checks uses no more


@x86_64_selftest('cpu.control_registers')
def test_control_registers():
    cr0 = cpu.read_cr0()
    if cr0 & protection.CR0_WP == 0:
        return 'CR0.WP is off: the kernel can write to read-only pages'
    if cr0 & protection.CR0_PG == 0:
        return 'CR0.PG is off'
    cr4 = cpu.read_cr4()
    expected = protection.expected_cr4_bits()
    if cr4 & expected != expected:
        return 'CR4 lacks PAE, PGE, SMEP or SMAP although the CPU has it'
    unsupported = (protection.CR4_SMEP | protection.CR4_SMAP) & ~expected
    if cr4 & unsupported:
        return 'CR4 has SMEP or SMAP set on a CPU that lacks it'
    nxe = (cpu.read_msr(MSR_EFER) & EFER_NXE) != 0
    if nxe != kernel_space.nx_supported():
        return 'EFER.NXE does not match the CPU NX support'
    return None


def _audit_rules():
    rules = audit.AuditRules()
    first, end = kernel_space.image_phys_range()
    rules.fill_from_image(first, end, kernel_space.nx_supported())
    return rules


@selftest.selftest('paging.kernel_tables_audit')
def test_kernel_tables_audit():
    pml4 = kernel_space.kernel_pml4()
    if pml4 == 0:
        return 'the kernel page tables are not active'
    return audit.audit(pml4, _audit_rules())


def _store_faults(addr):
    """Returns True when a store to addr faulted as a write protection
    violation; the store writes back the word read there first."""
    word = rawmem.load_u64(addr)
    traps.probe_write(addr, word)
    if not traps.probe_faulted():
        return False
    return traps.probe_fault_was_protection() and traps.probe_fault_was_write()


@selftest.selftest('paging.kernel_image_not_writable')
def test_kernel_image_not_writable():
    first, end = kernel_space.image_phys_range()
    if end <= first:
        return 'the kernel image location is unknown'
    hhdm = paging.hhdm_offset()
    text_phys = first + (image.text_start() - image.kernel_start())
    rodata_phys = first + (image.rodata_start() - image.kernel_start())
    if not _store_faults(image.text_start()):
        return 'a store to kernel text did not fault (CR0.WP or text permissions)'
    if not _store_faults(image.rodata_start()):
        return 'a store to kernel rodata did not fault'
    if not _store_faults(text_phys + hhdm):
        return 'a store to kernel text through the direct map did not fault'
    if not _store_faults(rodata_phys + hhdm):
        return 'a store to kernel rodata through the direct map did not fault'
    data = image.data_start()
    traps.probe_write(data, rawmem.load_u64(data))
    if traps.probe_faulted():
        return 'a store to kernel data faulted'
    return None


@selftest.selftest('stacks.guard_pages_unmapped')
def test_guard_pages_unmapped():
    i = 0
    while i < image.stack_count():
        guard = image.stack_bottom(i) - image.STACK_GUARD_SIZE
        traps.probe_read(guard)
        if not traps.probe_faulted():
            return 'reading a stack guard page did not fault'
        if traps.probe_fault_was_protection():
            return 'a stack guard page is mapped (protection fault, not absent)'
        if image.stack_guard_hit(guard) != i:
            return 'stack_guard_hit does not name the stack of a guard page'
        i += 1
    return None


class _Recursion(object):
    def __init__(self):
        self.depth = 0
        self.lowest_sp = 0


_recursion = _Recursion()


def _recurse(depth):
    """Recurses until the stack check raises StackOverflow; never returns
    normally (RPython inserts the check: this function is a cycle)."""
    _recursion.depth = depth
    _recursion.lowest_sp = cpu.stack_pointer()
    if depth < 0:
        return 0                                # never: keeps it a real function
    return _recurse(depth + 1) + 1


@selftest.selftest('stacks.rpython_check_catches_recursion')
def test_rpython_check_catches_recursion():
    bottom = runtime.stack_bounds_bottom()
    top = runtime.stack_bounds_top()
    sp = cpu.stack_pointer()
    if not (bottom < sp < top):
        return 'the stack check bounds do not contain the stack pointer'
    _recursion.depth = 0
    caught = False
    try:
        _recurse(0)
    except rstackovf.StackOverflow:
        rstackovf.check_stack_overflow()
        caught = True
    if not caught:
        return 'unbounded recursion returned'
    if _recursion.depth < MIN_RECURSION_DEPTH:
        return 'StackOverflow came too early (false overflow)'
    if _recursion.lowest_sp < bottom:
        return 'the recursion went below the stack'
    if _recursion.lowest_sp > bottom + runtime.STACK_CHECK_RESERVE + STACK_CHECK_SLACK:
        return 'StackOverflow came far above the bottom of the stack'
    return None


def _map_user_page(flags):
    """Maps a fresh frame at USER_TEST_VIRT with PAGE_USER | flags; returns
    the frame, or a negative error."""
    phys = pmm.alloc_frame()
    if phys < 0:
        return phys
    status = paging.map(kernel_space.kernel_pml4(), USER_TEST_VIRT, phys,
                        flags | paging.PAGE_USER, pmm)
    if status < 0:
        pmm.free_frame(phys)
        return status
    return phys


def _unmap_user_page(phys):
    paging.unmap(kernel_space.kernel_pml4(), USER_TEST_VIRT, pmm, kernel_space.tlb)
    pmm.free_frame(phys)


@x86_64_selftest('cpu.smap_blocks_user_access')
def test_smap_blocks_user_access():
    if not protection.smap_supported():
        return selftest.SKIPPED + 'this CPU has no SMAP'
    phys = _map_user_page(paging.PAGE_WRITE | paging.PAGE_NO_EXECUTE)
    if phys < 0:
        return 'cannot map the user test page'
    rawmem.store_u64(pmm.phys_to_virt(phys), PATTERN)
    reason = None
    traps.probe_read(USER_TEST_VIRT)
    if not traps.probe_faulted():
        reason = 'the kernel read a user page outside user_access_begin/end'
    elif traps.probe_fault_error_code() & traps.PF_PROTECTION == 0:
        reason = 'reading the user page faulted, but not as a protection violation'
    else:
        protection.user_access_begin()
        value = traps.probe_read(USER_TEST_VIRT)
        faulted = traps.probe_faulted()
        protection.user_access_end()
        if faulted or value != PATTERN:
            reason = 'user_access_begin did not open access to the user page'
        else:
            traps.probe_read(USER_TEST_VIRT)
            if not traps.probe_faulted():
                reason = 'user_access_end did not close access to the user page'
    _unmap_user_page(phys)
    return reason


@x86_64_selftest('cpu.smep_blocks_user_execution')
def test_smep_blocks_user_execution():
    if not protection.smep_supported():
        return selftest.SKIPPED + 'this CPU has no SMEP'
    phys = _map_user_page(0)
    if phys < 0:
        return 'cannot map the user test page'
    code = pmm.phys_to_virt(phys)
    i = 0
    while i < len(USER_CODE):
        rawmem.store_u8(code + i, USER_CODE[i])
        i += 1
    reason = None
    result = traps.probe_call(USER_TEST_VIRT)
    if not traps.probe_faulted():
        if result == USER_CODE_RESULT:
            reason = 'the kernel executed code on a user page'
        else:
            reason = 'the call into the user page neither faulted nor ran it'
    else:
        cause = traps.probe_fault_error_code()
        if cause & traps.PF_INSTRUCTION_FETCH == 0 or cause & traps.PF_PROTECTION == 0:
            reason = 'the call faulted, but not as a protected instruction fetch'
        elif traps.probe_fault_address() != USER_TEST_VIRT:
            reason = 'the fetch fault recorded the wrong address'
    _unmap_user_page(phys)
    return reason
