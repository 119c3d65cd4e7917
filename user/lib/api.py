"""What user programs call (RPython): output, exit, system calls, heap figures.

    write(s) -> bytes written, or a negative E_* code: s on the debug output
                (the debug_write system call, after what the C runtime has
                buffered), whole
    exit(code)  ends the program (flushes first); never returns
    sys_<name>(args...) -> the raw system call <name> of elyz/abi/syscalls.py,
                every argument and the result a machine word (negative: E_*);
                made from the table, one per entry (SYSCALL_FUNCTIONS);
                sys_exit returns nothing (use exit(), which flushes)
    heap_info(which) -> a figure of the C heap (HEAP_* below): what the
                kernel mapped for it, what is allocated, ...
    heap_check() -> 0 when the C heap keeps its rules, else negative

Untranslated (tests run programs on CPython), write() appends to OUTPUT
(and echoes nothing), heap_info and heap_check return 0, exit raises
ProgramExit, and the raw system calls raise NoKernel.
"""

from rpython.rlib.objectmodel import we_are_translated
from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

from elyz.abi import syscalls
from user.lib.abigen import NORETURN

# elyz_heap_info(which): the enum of user/include/elyz_user.h, in order.
HEAP_MAPPED = 0
HEAP_IN_USE = 1
HEAP_PEAK_IN_USE = 2
HEAP_CHUNKS = 3
HEAP_MALLOCS = 4
HEAP_FREES = 5
HEAP_FREE_BLOCKS = 6
HEAP_INFO_COUNT = 7

OUTPUT = []


class ProgramExit(Exception):
    """Untranslated only: exit(code) was called."""
    def __init__(self, code):
        Exception.__init__(self, code)
        self.code = code


class NoKernel(Exception):
    """Untranslated only: a raw system call has no kernel to go to."""


def _no_kernel(name):
    def call(*args):
        raise NoKernel("sys_%s%r: untranslated, there is no kernel" % (name, args))
    call.__name__ = 'emulated_sys_' + name
    return call


def _returns(value):
    def call(*args):
        return value
    return call


def _exit_untranslated(code):
    raise ProgramExit(code)


# The generated C sees the runtime's own prototypes (user/include).
_ECI = ExternalCompilationInfo(includes=['elyz_user.h'])

_c_write = rffi.llexternal('elyz_write', [rffi.CCHARP, lltype.Signed], lltype.Signed,
                           compilation_info=_ECI, _nowrapper=True, _callable=_returns(0))
_c_exit = rffi.llexternal('elyz_exit', [lltype.Signed], lltype.Void,
                          compilation_info=_ECI, _nowrapper=True,
                          _callable=_exit_untranslated)
_c_heap_info = rffi.llexternal('elyz_heap_info', [lltype.Signed], lltype.Signed,
                               compilation_info=_ECI, _nowrapper=True, _callable=_returns(0))
_c_heap_check = rffi.llexternal('elyz_heap_check', [], lltype.Signed,
                                compilation_info=_ECI, _nowrapper=True, _callable=_returns(0))

# The C functions of user/lib the RPython side calls (the program's
# provided_symbols).
RUNTIME_SYMBOLS = ('elyz_write', 'elyz_exit', 'elyz_heap_info', 'elyz_heap_check')

SYSCALL_FUNCTIONS = {}
for _number, _name, _args, _result in syscalls.SYSCALLS:
    _f = rffi.llexternal('elyz_sys_' + _name, [lltype.Signed] * len(_args),
                         lltype.Void if _name in NORETURN else lltype.Signed,
                         compilation_info=_ECI, _nowrapper=True, _callable=_no_kernel(_name))
    SYSCALL_FUNCTIONS[_name] = _f
    globals()['sys_' + _name] = _f
del _number, _name, _args, _result, _f

STUB_SYMBOLS = tuple(sorted('elyz_sys_' + name for name in SYSCALL_FUNCTIONS))


def write(s):
    """Writes s to the debug output; returns len(s) or a negative E_* code."""
    if not we_are_translated():
        OUTPUT.append(s)
        return len(s)
    with rffi.scoped_nonmovingbuffer(s) as buf:
        return _c_write(buf, len(s))


def exit(code):
    """Ends the program with code; never returns."""
    _c_exit(code)
    raise AssertionError("exit returned")


def heap_info(which):
    """Returns the C heap's figure which (a HEAP_* constant)."""
    return _c_heap_info(which)


def heap_check():
    """Returns 0 when the C heap is consistent, else the broken rule (< 0)."""
    return _c_heap_check()
