"""The tiny ring-3 test programs of arch/x86_64/usertests.S.

    start(name) end(name) -> the virtual addresses of a program's bytes in
    the kernel image (name: one of NAMES)

Untranslated, `emulate(programs)` installs a dict name -> bytes placed in
simulated memory by the test.
"""

from rpython.rlib.unroll import unrolling_iterable
from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

NAMES = ['hello', 'fault_null', 'fault_privileged', 'fault_ud', 'fault_divide',
         'fault_kernel_read', 'bad_pointers', 'spin', 'sleeper', 'memory', 'fpu']

_ECI = ExternalCompilationInfo(post_include_bits=['\n'.join(
    ['extern char elyz_utest_%s[], elyz_utest_%s_end[];' % (n, n) for n in NAMES] +
    ['static inline long elyz_utest_start_%s(void) { return (long)elyz_utest_%s; }' % (n, n)
     for n in NAMES] +
    ['static inline long elyz_utest_end_%s(void) { return (long)elyz_utest_%s_end; }' % (n, n)
     for n in NAMES])])

_emulated = [{}]            # name -> (start, end)


def emulate(programs):
    """Untranslated only: programs maps a name to (start, end) addresses."""
    _emulated[0] = programs


def _ext(kind, name):
    return rffi.llexternal('elyz_utest_%s_%s' % (kind, name), [], lltype.Signed,
                           compilation_info=_ECI, _nowrapper=True, sandboxsafe=True,
                           releasegil=False,
                           _callable=lambda: _emulated[0][name][0 if kind == 'start' else 1])


_PROGRAMS = unrolling_iterable([(n, _ext('start', n), _ext('end', n)) for n in NAMES])


def start(name):
    """Returns the address of the first byte of program name (0: unknown)."""
    for known, get_start, get_end in _PROGRAMS:
        if name == known:
            return get_start()
    return 0


def end(name):
    """Returns the address just past program name's bytes (0: unknown)."""
    for known, get_start, get_end in _PROGRAMS:
        if name == known:
            return get_end()
    return 0
