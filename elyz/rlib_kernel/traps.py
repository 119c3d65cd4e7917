"""x86_64 trap primitives: descriptor tables, probes, software traps.

    init_traps()            loads the kernel's GDT, TSS and IDT
                            (arch/x86_64/cpu_tables.c: elyz_x86_64_init_traps)
    probe_read(addr) -> the 64-bit word at addr,
    probe_read32(addr) -> the 32-bit word at addr (device registers), or
                            PROBE_FAULT_VALUE when the load faulted (the trap
                            handler then records it; arch/x86_64/probe.S)
    fixup_for(rip) -> where to resume a probe that faulted at rip, 0 when
                            rip is not a probe's load
    probe_fault_rip() / probe_fixup_rip()   the 64-bit probe's pair
    probe_write(addr, value) -> 1 after storing the word, or
                            PROBE_FAULT_VALUE when the store faulted
    probe_call(target) -> what the code at target returned, or
                            PROBE_FAULT_VALUE when fetching it faulted
    call_probe_target()     the target of the running call probe, 0 if none
    call_probe_fixup_rip()  where a call probe whose fetch faulted resumes
                            (with the return address popped)
    breakpoint()            executes int3 (vector 3)
    raise_test_trap()       executes int $TEST_VECTOR (the crash test of an
                            exception escaping the trap handler)

Untranslated, `emulated()` is an EmulatedTraps: init_traps() counts its
calls, breakpoint() counts too, and the probes read simulated memory
(rawmem.simulate); on a SimulatedFault they call the installed
`page_fault_hook(addr, fault_rip)` (None: the fault propagates), which
stands in for the CPU raising #PF at fault_rip and returns the rip the
trap handler chose; the probe returns PROBE_FAULT_VALUE if that rip is the
probe's fixup.
"""

from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

from elyz.rlib_kernel import rawmem
from elyz.rlib_kernel.karch import KARCH

PROBE_FAULT_VALUE = 0           # what arch/x86_64/probe.S returns after a fault
TEST_VECTOR = 0xF1              # raise_test_trap's vector; no device uses it

_TRAPS_C = """
extern void ELYZ_INIT_TRAPS(void);
extern long elyz_probe_read(long addr);
extern long elyz_probe_read32(long addr);
extern char elyz_probe_read_fault_insn[], elyz_probe_read_fixup[];
extern const long elyz_probe_fixup_table[];
static inline long elyz_probe_fault_rip(void) { return (long)elyz_probe_read_fault_insn; }
static inline long elyz_probe_fixup_rip(void) { return (long)elyz_probe_read_fixup; }
static inline long elyz_probe_fixup_for(long rip)
{
    for (const long *entry = elyz_probe_fixup_table; entry[0] != 0; entry += 2)
        if (entry[0] == rip) return entry[1];
    return 0;
}
%(arch)s
extern long elyz_probe_write(long addr, long value);
extern long elyz_probe_call(long target);
extern volatile long elyz_probe_call_target;
extern char elyz_probe_call_fixup[];
static inline long elyz_call_probe_target(void) { return elyz_probe_call_target; }
static inline long elyz_call_probe_fixup_rip(void) { return (long)elyz_probe_call_fixup; }
"""
# x86_64's software traps; a port's breakpoint is in its arch/<karch>/elyz_cpu.h
# (ebreak, brk, break), and it has no call probe nor test vector yet.
_X86_64_TRAPS_C = """
static inline void elyz_breakpoint(void) { __asm__ volatile("int3" ::: "memory"); }
static inline void elyz_raise_test_trap(void) { __asm__ volatile("int $0xf1" ::: "memory"); }
"""
if KARCH == 'x86_64':
    INIT_TRAPS_NAME = 'elyz_x86_64_init_traps'
    _TRAPS_ECI = ExternalCompilationInfo(post_include_bits=[
        _TRAPS_C.replace('ELYZ_INIT_TRAPS', INIT_TRAPS_NAME) % {'arch': _X86_64_TRAPS_C}])
else:
    INIT_TRAPS_NAME = 'elyz_init_traps'
    _TRAPS_ECI = ExternalCompilationInfo(includes=['elyz_cpu.h'], post_include_bits=[
        _TRAPS_C.replace('ELYZ_INIT_TRAPS', INIT_TRAPS_NAME) % {'arch': ''}])


class EmulatedTraps(object):
    """Untranslated stand-in for the trap hardware."""
    FAULT_RIP = 0x7E570000          # made-up code addresses of the emulated probes
    FIXUP_RIP = 0x7E570010
    FAULT_RIP32 = 0x7E570020
    FIXUP_RIP32 = 0x7E570030

    WRITE_FAULT_RIP = 0x7E570040
    WRITE_FIXUP_RIP = 0x7E570050
    CALL_FIXUP_RIP = 0x7E570060

    def __init__(self):
        self.init_calls = 0
        self.breakpoints = 0
        self.test_traps = 0
        self.page_fault_hook = None  # hook(fault_address, fault_rip) -> resume rip
        self.call_target = 0
        self.callables = {}          # address -> Python function, for probe_call

    def fixup_for(self, rip):
        if rip == self.FAULT_RIP:
            return self.FIXUP_RIP
        if rip == self.FAULT_RIP32:
            return self.FIXUP_RIP32
        if rip == self.WRITE_FAULT_RIP:
            return self.WRITE_FIXUP_RIP
        return 0


_emulated = [EmulatedTraps()]


def emulate(traps=None):
    """Untranslated only: installs traps (a new EmulatedTraps when None); returns it."""
    if traps is None:
        traps = EmulatedTraps()
    _emulated[0] = traps
    return traps


def emulated():
    return _emulated[0]


def _emulated_init():
    _emulated[0].init_calls += 1


def _emulated_breakpoint():
    _emulated[0].breakpoints += 1


def _emulated_probe(load, fault_rip):
    def probe(addr):
        traps = _emulated[0]
        try:
            return load(addr)
        except rawmem.SimulatedFault:
            if traps.page_fault_hook is None:
                raise
            if traps.page_fault_hook(addr, fault_rip) == traps.fixup_for(fault_rip):
                return PROBE_FAULT_VALUE
            raise
    return probe


def _emulated_probe_write(addr, value):
    traps = _emulated[0]
    try:
        rawmem.store_u64(addr, value)
        return 1
    except rawmem.SimulatedFault:
        if traps.page_fault_hook is None:
            raise
        if traps.page_fault_hook(addr, traps.WRITE_FAULT_RIP) == traps.WRITE_FIXUP_RIP:
            return PROBE_FAULT_VALUE
        raise


def _emulated_probe_call(target):
    """Calls the Python function registered at target; a target with none
    stands for code whose fetch faults: the page_fault_hook is asked, with
    the target as the faulting rip, and must choose CALL_FIXUP_RIP."""
    traps = _emulated[0]
    traps.call_target = target
    try:
        if target in traps.callables:
            return traps.callables[target]()
        if traps.page_fault_hook is not None and \
                traps.page_fault_hook(target, target) == traps.CALL_FIXUP_RIP:
            return PROBE_FAULT_VALUE
        raise rawmem.SimulatedFault('instruction fetch at %#x' % target)
    finally:
        traps.call_target = 0


def _emulated_test_trap():
    _emulated[0].test_traps += 1


def _ext(name, args, result, emulation):
    return rffi.llexternal(name, args, result, compilation_info=_TRAPS_ECI, _nowrapper=True,
                           sandboxsafe=True, releasegil=False, _callable=emulation)


S = lltype.Signed
V = lltype.Void
_init_traps = _ext(INIT_TRAPS_NAME, [], V, _emulated_init)
_probe_read = _ext('elyz_probe_read', [S], S,
                   _emulated_probe(rawmem.load_u64, EmulatedTraps.FAULT_RIP))
_probe_read32 = _ext('elyz_probe_read32', [S], S,
                     _emulated_probe(rawmem.load_u32, EmulatedTraps.FAULT_RIP32))
_fixup_for = _ext('elyz_probe_fixup_for', [S], S, lambda rip: _emulated[0].fixup_for(rip))
_probe_fault_rip = _ext('elyz_probe_fault_rip', [], S, lambda: _emulated[0].FAULT_RIP)
_probe_fixup_rip = _ext('elyz_probe_fixup_rip', [], S, lambda: _emulated[0].FIXUP_RIP)
_breakpoint = _ext('elyz_breakpoint', [], V, _emulated_breakpoint)
_raise_test_trap = _ext('elyz_raise_test_trap', [], V, _emulated_test_trap)
_probe_write = _ext('elyz_probe_write', [S, S], S, _emulated_probe_write)
_probe_call = _ext('elyz_probe_call', [S], S, _emulated_probe_call)
_call_probe_target = _ext('elyz_call_probe_target', [], S, lambda: _emulated[0].call_target)
_call_probe_fixup_rip = _ext('elyz_call_probe_fixup_rip', [], S,
                             lambda: _emulated[0].CALL_FIXUP_RIP)


def init_traps():
    """Loads GDT, TSS and IDT; returns nothing and cannot fail."""
    _init_traps()


def probe_read(addr):
    """Returns the word at addr, or PROBE_FAULT_VALUE when the load faulted."""
    return _probe_read(addr)


def probe_read32(addr):
    """Returns the zero-extended 32-bit word at addr, or PROBE_FAULT_VALUE
    when the load faulted."""
    return _probe_read32(addr)


def fixup_for(rip):
    """Returns the address a probe that faulted at rip resumes at, or 0 when
    rip is not the load of a probe."""
    return _fixup_for(rip)


def probe_fault_rip():
    """Returns the address of the probe's (possibly faulting) load instruction."""
    return _probe_fault_rip()


def probe_fixup_rip():
    """Returns the address a faulted probe must resume at."""
    return _probe_fixup_rip()


def breakpoint():
    """Executes int3; returns after the breakpoint trap was handled."""
    _breakpoint()


def probe_write(addr, value):
    """Stores the word value at addr; returns 1, or PROBE_FAULT_VALUE when
    the store faulted (then nothing was written)."""
    return _probe_write(addr, value)


def probe_call(target):
    """Calls the code at target; returns what it returned, or
    PROBE_FAULT_VALUE when fetching its first instruction faulted."""
    return _probe_call(target)


def call_probe_target():
    """Returns the address a running probe_call jumped to, 0 when none runs."""
    return _call_probe_target()


def call_probe_fixup_rip():
    """Returns the address a call probe whose fetch faulted resumes at (the
    handler must also pop the return address: rsp += 8)."""
    return _call_probe_fixup_rip()


def raise_test_trap():
    """Executes int $TEST_VECTOR; returns when the trap was handled."""
    _raise_test_trap()
