"""The CPU's memory-protection switches (x86_64; on a port only the
user-access window, through its machine module), set when the kernel's own
page tables go live (kernel_space.activate).

    enable()             sets CR0.WP (read-only pages bind the kernel too),
                         flushes every TLB entry, global ones included, and
                         sets CR4.PGE (global kernel pages survive CR3
                         switches), CR4.SMEP (the kernel never executes user
                         pages) and CR4.SMAP (the kernel touches user pages
                         only between user_access_begin and _end) where CPUID
                         reports them; logs one line.  Never fails.
    smep_supported() smap_supported()    what CPUID reports
    smap_enabled()       True once enable() turned SMAP on
    user_access_begin()  stac: the kernel may touch user pages (copy-in and
    user_access_end()    copy-out go between the two); no-ops without SMAP,
                         where stac and clac would be #UD
    expected_cr0_bits() expected_cr4_bits()  what enable() must have set on
                         this CPU (the self-test reads the registers back)

Intel SDM vol. 3A 2.5 (control registers), 4.6 (access rights: WP, SMEP,
SMAP); CPUID leaf 7 (structured extended features).
"""

from elyz.lib import log
from elyz.rlib_kernel import cpu
from elyz.rlib_kernel.karch import KARCH
from elyz.rlib_kernel.port import machine

CR0_WP = 1 << 16            # supervisor writes obey read-only pages
CR0_PG = 1 << 31
CR4_PAE = 1 << 5
CR4_PGE = 1 << 7            # global pages
CR4_SMEP = 1 << 20          # supervisor-mode execution prevention
CR4_SMAP = 1 << 21          # supervisor-mode access prevention

CPUID_MAX_LEAF = 0
CPUID_FEATURES = 1
CPUID_EDX_PGE = 1 << 13
CPUID_STRUCTURED_FEATURES = 7
CPUID_EBX_SMEP = 1 << 7
CPUID_EBX_SMAP = 1 << 20
CPUID_EAX = 0
CPUID_EBX = 1
CPUID_EDX = 3


class _Protection(object):
    def __init__(self):
        self.smap_on = False


_state = _Protection()


def _structured_features_ebx():
    """Returns CPUID.(7,0).EBX, or 0 when the CPU has no leaf 7."""
    if cpu.cpuid(CPUID_MAX_LEAF, 0, CPUID_EAX) < CPUID_STRUCTURED_FEATURES:
        return 0
    return cpu.cpuid(CPUID_STRUCTURED_FEATURES, 0, CPUID_EBX)


def pge_supported():
    """Returns True when the CPU has global pages (every x86_64 CPU should)."""
    return (cpu.cpuid(CPUID_FEATURES, 0, CPUID_EDX) & CPUID_EDX_PGE) != 0


def smep_supported():
    """Returns True when CPUID reports SMEP."""
    return (_structured_features_ebx() & CPUID_EBX_SMEP) != 0


def smap_supported():
    """Returns True when CPUID reports SMAP."""
    return (_structured_features_ebx() & CPUID_EBX_SMAP) != 0


def smap_enabled():
    """Returns True once enable() turned SMAP on."""
    return _state.smap_on


def expected_cr0_bits():
    """Returns the CR0 bits enable() sets (and paging needs) on any CPU."""
    return CR0_WP | CR0_PG


def expected_cr4_bits():
    """Returns the CR4 bits enable() sets on this CPU."""
    bits = CR4_PAE
    if pge_supported():
        bits |= CR4_PGE
    if smep_supported():
        bits |= CR4_SMEP
    if smap_supported():
        bits |= CR4_SMAP
    return bits


def enable():
    """Turns on WP, PGE, SMEP and SMAP as this CPU allows (see the module
    docstring); returns nothing.  The kernel's tables must be live and
    hold no user page the kernel still needs."""
    cpu.write_cr0(cpu.read_cr0() | CR0_WP)
    # Clearing PGE flushes every TLB entry, the bootloader's global ones too.
    cr4 = cpu.read_cr4() & ~CR4_PGE
    cpu.write_cr4(cr4)
    cpu.write_cr4(cr4 | expected_cr4_bits())
    _state.smap_on = smap_supported()
    log.begin(log.INFO)
    log.put('cpu: write protection on; global pages ')
    _put_on_off(pge_supported())
    log.put('; SMEP ')
    _put_on_off(smep_supported())
    log.put('; SMAP ')
    _put_on_off(smap_supported())
    log.end()


def _put_on_off(on):
    if on:
        log.put('on')
    else:
        log.put('not supported by this CPU')


def user_access_begin():
    """Lets the kernel touch user pages (stac) until user_access_end();
    returns nothing.  Keep the window to the copy itself."""
    if KARCH != 'x86_64':
        machine.user_access_begin()
    elif _state.smap_on:
        cpu.stac()


def user_access_end():
    """Closes the window user_access_begin() opened (clac); returns nothing."""
    if KARCH != 'x86_64':
        machine.user_access_end()
    elif _state.smap_on:
        cpu.clac()


def reset_for_tests():
    """Untranslated only: SMAP off again."""
    _state.smap_on = False
