"""The C runtime's allocator switch and early arena (arch/common).

    use_kernel_heap()      from now on malloc/calloc/realloc/free go to the
                           RPython kernel heap (rpy_heap_* entry points)
    early_arena_used() -> bytes the boot-time bump arena has handed out
    stack_bounds_bottom() stack_bounds_top() -> the stack RPython's stack
                           check believes the CPU is on (elyz_stack_bounds)
    STACK_CHECK_RESERVE    bytes at the bottom of a stack the check keeps free

Untranslated, `emulated()` records the switch and reports 0 bytes.
"""

from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

_RUNTIME_ECI = ExternalCompilationInfo(post_include_bits=["""
void elyz_use_kernel_heap(void);
unsigned long elyz_bump_used(void);
static inline long elyz_early_arena_used(void) { return (long)elyz_bump_used(); }
long elyz_stack_current_bottom(void);
long elyz_stack_current_top(void);
"""])

STACK_CHECK_RESERVE = 8 * 1024      # arch/x86_64/boot.h ELYZ_STACK_CHECK_RESERVE


class EmulatedRuntime(object):
    def __init__(self):
        self.kernel_heap_installed = False
        self.stack_bottom = 0
        self.stack_top = 0


_emulated = [EmulatedRuntime()]


def emulated():
    return _emulated[0]


def _install():
    _emulated[0].kernel_heap_installed = True


_use_kernel_heap = rffi.llexternal('elyz_use_kernel_heap', [], lltype.Void,
                                   compilation_info=_RUNTIME_ECI, _nowrapper=True,
                                   sandboxsafe=True, releasegil=False, _callable=_install)
_early_arena_used = rffi.llexternal('elyz_early_arena_used', [], lltype.Signed,
                                    compilation_info=_RUNTIME_ECI, _nowrapper=True,
                                    sandboxsafe=True, releasegil=False, _callable=lambda: 0)


def use_kernel_heap():
    _use_kernel_heap()


def early_arena_used():
    return _early_arena_used()


_stack_bottom = rffi.llexternal('elyz_stack_current_bottom', [], lltype.Signed,
                                compilation_info=_RUNTIME_ECI, _nowrapper=True,
                                sandboxsafe=True, releasegil=False,
                                _callable=lambda: _emulated[0].stack_bottom)
_stack_top = rffi.llexternal('elyz_stack_current_top', [], lltype.Signed,
                             compilation_info=_RUNTIME_ECI, _nowrapper=True,
                             sandboxsafe=True, releasegil=False,
                             _callable=lambda: _emulated[0].stack_top)


def stack_bounds_bottom():
    """Returns the bottom of the stack RPython's stack check measures against."""
    return _stack_bottom()


def stack_bounds_top():
    """Returns the top of that stack (0 before the boot code set it)."""
    return _stack_top()
