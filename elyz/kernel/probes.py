"""Recoverable memory probes: the kernel reads or writes an address that
may fault, and learns whether it did, instead of panicking (self-tests,
device probing).  The same API on every architecture; the trap handler of
the architecture (elyz/kernel/traps.py on x86_64, porttraps.py on the
ports) calls record_fault when a probe's access faulted and resumes the
probe at its fixup (arch/<karch>/probe.S), which returns 0.

    probe_read(addr) -> the word at addr, or 0 when the load faulted
    probe_read32(addr) -> the zero-extended 32-bit word, or 0
    probe_write(addr, value) -> True, or False when the store faulted
                                (nothing written)
    probe_faulted()             did the last probe fault
    probe_fault_address()       where (CR2, stval, FAR_EL1, BADV)
    probe_fault_was_write()     a store
    probe_fault_was_protection()  the page was present (a protection
                                violation), not absent
    probe_fault_error_code()    the CPU's own code (x86_64's page-fault error
                                code; 0 on the ports)
    begin()                     forgets the last fault (each probe calls it)
    record_fault(address, write, protection, error_code)   the trap handler's
"""

from elyz.rlib_kernel import traps as arch_traps


class _ProbeState(object):
    def __init__(self):
        self.reset()

    def reset(self):
        self.faulted = False
        self.address = 0
        self.write = False
        self.protection = False
        self.error_code = 0


_state = _ProbeState()


def reset_for_tests():
    """Untranslated only: forgets the last fault."""
    _state.reset()


def begin():
    """Forgets whether the last probe faulted; returns nothing."""
    _state.faulted = False


def record_fault(address, write, protection, error_code):
    """Records that the running probe faulted at address; returns nothing."""
    _state.faulted = True
    _state.address = address
    _state.write = write
    _state.protection = protection
    _state.error_code = error_code


def probe_read(addr):
    """Returns the word at addr, or 0 when reading it faulted (then
    probe_faulted() is True and the fault is recorded)."""
    begin()
    return arch_traps.probe_read(addr)


def probe_read32(addr):
    """Returns the 32-bit word at addr (a device register, say), or 0 when
    reading it faulted (then probe_faulted() is True)."""
    begin()
    return arch_traps.probe_read32(addr)


def probe_write(addr, value):
    """Stores the word value at addr; returns True, or False when the store
    faulted (then probe_faulted() is True, the fault recorded, nothing written)."""
    begin()
    return arch_traps.probe_write(addr, value) != arch_traps.PROBE_FAULT_VALUE


def probe_faulted():
    """Returns True when the last probe faulted."""
    return _state.faulted


def probe_fault_address():
    """Returns the fault address of the last faulted probe (0 before any)."""
    return _state.address


def probe_fault_was_write():
    """Returns True when the last faulted probe was a store."""
    return _state.write


def probe_fault_was_protection():
    """Returns True when the last faulted probe hit a present page."""
    return _state.protection


def probe_fault_error_code():
    """Returns the CPU's error code of the last faulted probe (x86_64's
    page-fault error code; 0 on the ports)."""
    return _state.error_code
