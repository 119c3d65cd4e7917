"""x86_64 per-process CPU state (arch/x86_64/thread.c, syscall.S, cpu_tables.c).

    enable_syscalls()        IA32_STAR/LSTAR/FMASK, EFER.SCE
    set_kernel_stack(top)    TSS RSP0 and the syscall entry's stack
    switch_to(save_rsp_addr, new_rsp, new_bottom, new_top)
                             saves rsp at save_rsp_addr (a word), runs on the
                             kernel stack [new_bottom, new_top) from new_rsp;
                             returns when something switches back
    switch_task(prev_context, next_context, new_bottom, new_top)
                             from one task to another: FPU state saved into
                             prev_context, loaded from next_context (their
                             first FPU_AREA_SIZE bytes), then switch_to with
                             the saved-rsp words at CONTEXT_RSP of both
    prepare_user_stack(top, entry, user_rsp, arg0, arg1) -> the rsp to switch
                             to for a first entry into user mode
    syscall_frame(top) -> the trap frame of a system call made from user mode
                             by the task whose kernel stack ends at top:
                             syscall.S builds it at the very top (the
                             stack pointer it loads is the top set by
                             set_kernel_stack), trapframe.FRAME_SIZE bytes
    fpu_init()               SSE for user mode, the clean FPU state recorded
    fpu_reset(area) fpu_save(area) fpu_restore(area)   512-byte, 16-aligned areas
    FPU_AREA_SIZE

Untranslated, `emulated()` records calls: a switch_to stores a made-up rsp
and returns at once (tests check the scheduler's choices, not the CPU's).
"""

from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

from elyz.rlib_kernel import rawmem, trapframe

FPU_AREA_SIZE = 512
CONTEXT_RSP = FPU_AREA_SIZE     # a context block: the FPU area, then the saved rsp

_THREAD_ECI = ExternalCompilationInfo(post_include_bits=["""
void elyz_enable_syscalls(void);
void elyz_set_kernel_stack(long top);
void elyz_switch_to(long *save_rsp, long new_rsp, long new_bottom, long new_top);
void elyz_switch_task(long prev_context, long next_context, long new_bottom, long new_top);
long elyz_prepare_user_stack(long top, long entry, long user_rsp, long arg0, long arg1);
void elyz_fpu_init(void);
void elyz_fpu_reset(long area);
void elyz_fpu_save(long area);
void elyz_fpu_restore(long area);
static inline void elyz_switch_to_word(long save, long new_rsp, long bottom, long top)
{ elyz_switch_to((long *)save, new_rsp, bottom, top); }
"""])


class EmulatedThreads(object):
    def __init__(self):
        self.switches = []          # (new_rsp, bottom, top)
        self.kernel_stack = 0
        self.syscalls_enabled = False
        self.fpu_initialised = False


_emulated = [EmulatedThreads()]


def emulate(threads=None):
    """Untranslated only: installs threads (a new EmulatedThreads); returns it."""
    if threads is None:
        threads = EmulatedThreads()
    _emulated[0] = threads
    return threads


def emulated():
    return _emulated[0]


def _emulated_switch(save, new_rsp, bottom, top):
    rawmem.store_u64(save, 0x5A5A5000 + len(_emulated[0].switches))
    _emulated[0].switches.append((new_rsp, bottom, top))


def _emulated_switch_task(prev_context, next_context, bottom, top):
    _emulated_switch(prev_context + CONTEXT_RSP, rawmem.load_u64(next_context + CONTEXT_RSP),
                     bottom, top)


def _ext(name, args, result, emulation):
    return rffi.llexternal(name, args, result, compilation_info=_THREAD_ECI, _nowrapper=True,
                           sandboxsafe=True, releasegil=False, _callable=emulation)


S = lltype.Signed
V = lltype.Void
_enable_syscalls = _ext('elyz_enable_syscalls', [], V,
                        lambda: setattr(_emulated[0], 'syscalls_enabled', True))
_set_kernel_stack = _ext('elyz_set_kernel_stack', [S], V,
                         lambda top: setattr(_emulated[0], 'kernel_stack', top))
_switch_to = _ext('elyz_switch_to_word', [S, S, S, S], V, _emulated_switch)
_switch_task = _ext('elyz_switch_task', [S, S, S, S], V, _emulated_switch_task)
_prepare = _ext('elyz_prepare_user_stack', [S, S, S, S, S], S,
                lambda top, entry, rsp, a0, a1: top - 29 * 8)
_fpu_init = _ext('elyz_fpu_init', [], V,
                 lambda: setattr(_emulated[0], 'fpu_initialised', True))
_fpu_reset = _ext('elyz_fpu_reset', [S], V, lambda area: rawmem.fill(area, 0, FPU_AREA_SIZE))
_fpu_save = _ext('elyz_fpu_save', [S], V, lambda area: None)
_fpu_restore = _ext('elyz_fpu_restore', [S], V, lambda area: None)


def enable_syscalls():
    _enable_syscalls()


def set_kernel_stack(top):
    _set_kernel_stack(top)


def switch_to(save_rsp_addr, new_rsp, new_bottom, new_top):
    _switch_to(save_rsp_addr, new_rsp, new_bottom, new_top)


def switch_task(prev_context, next_context, new_bottom, new_top):
    _switch_task(prev_context, next_context, new_bottom, new_top)


def prepare_user_stack(top, entry, user_rsp, arg0, arg1):
    return _prepare(top, entry, user_rsp, arg0, arg1)


def syscall_frame(top):
    return top - trapframe.FRAME_SIZE


def fpu_init():
    _fpu_init()


def fpu_reset(area):
    _fpu_reset(area)


def fpu_save(area):
    _fpu_save(area)


def fpu_restore(area):
    _fpu_restore(area)
