"""CPU primitives: x86_64, and the arch-neutral subset on every port.

On aarch64, riscv64 and loongarch64 the functions of the first block below
(halt_forever .. stack_pointer, set_exit_on_panic) are the same names in
C, from arch/<karch>/elyz_cpu.h; read_tsc reads the port's free-running
counter.  The control-register, MSR and CPUID functions are x86_64 only.

    halt_forever()           cli; hlt, never returns (untranslated: raises Halted)
    wait_for_interrupt()     sti; hlt (untranslated: no-op)
    disable_interrupts() / enable_interrupts()
    save_and_disable_interrupts() -> flags   restore_interrupts(flags)
                             a critical section that nests: flags says
                             whether interrupts were on
    compiler_barrier()       the C compiler must reload memory after it (e.g. a
                             word an interrupt handler changes); no CPU fence
    read_tsc() -> cycles     (untranslated: a counter that advances by 1000 per call)
    read_cr0() write_cr0(v)  read_cr4() write_cr4(v)   control registers
    read_cr2() read_cr3()    write_cr3(phys)   invlpg(virt)
    stac() / clac()          set / clear RFLAGS.AC: supervisor access to user
                             pages under SMAP (#UD on a CPU without SMAP:
                             use elyz/mm/protection.py user_access_*)
    stack_pointer() -> rsp   (untranslated: the emulation's stack_pointer)
    read_msr(msr) -> value   write_msr(msr, value)
    cpuid(leaf, subleaf, register) -> eax/ebx/ecx/edx (register = 0..3)
    set_exit_on_panic(flag)  the C fatal path then exits QEMU (isa-debug-exit)

Untranslated, the emulation is an `EmulatedCpu` (see `emulated()`): tests
read and set its registers.
"""

from rpython.rtyper.lltypesystem import lltype, rffi
from rpython.translator.tool.cbuild import ExternalCompilationInfo

from elyz.rlib_kernel.karch import KARCH

_X86_64_CPU_C = ("""
static inline void elyz_halt_loop(void) { for (;;) __asm__ volatile("cli; hlt"); }
static inline void elyz_wait_for_interrupt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
static inline void elyz_cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void elyz_sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline long elyz_irq_save(void)
{ unsigned long f; __asm__ volatile("pushfq; popq %0; cli" : "=r"(f) : : "memory"); return (long)((f >> 9) & 1); }
static inline void elyz_irq_restore(long on) { if (on) __asm__ volatile("sti" ::: "memory"); }
static inline void elyz_compiler_barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline long elyz_rdtsc(void)
{ unsigned int lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return (long)(((unsigned long)hi << 32) | lo); }
static inline long elyz_read_cr2(void) { long v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline long elyz_read_cr3(void) { long v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline long elyz_read_cr0(void) { long v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline void elyz_write_cr0(long v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline long elyz_read_cr4(void) { long v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void elyz_write_cr4(long v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void elyz_stac(void) { __asm__ volatile("stac" ::: "memory", "cc"); }
static inline void elyz_clac(void) { __asm__ volatile("clac" ::: "memory", "cc"); }
static inline long elyz_stack_pointer(void) { long v; __asm__ volatile("mov %%rsp, %0" : "=r"(v)); return v; }
static inline void elyz_write_cr3(long v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void elyz_invlpg(long v) { __asm__ volatile("invlpg (%0)" : : "r"(v) : "memory"); }
static inline long elyz_rdmsr(long msr)
{ unsigned int lo, hi; __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"((unsigned int)msr)); return (long)(((unsigned long)hi << 32) | lo); }
static inline void elyz_wrmsr(long msr, long v)
{ __asm__ volatile("wrmsr" : : "c"((unsigned int)msr), "a"((unsigned int)v), "d"((unsigned int)((unsigned long)v >> 32)) : "memory"); }
static inline long elyz_cpuid(long leaf, long subleaf, long reg)
{ unsigned int r[4]; __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"((unsigned int)leaf), "c"((unsigned int)subleaf)); return r[reg & 3]; }
extern long elyz_exit_on_panic;
static inline void elyz_set_exit_on_panic(long flag) { elyz_exit_on_panic = flag; }
""")
if KARCH == 'x86_64':
    _CPU_ECI = ExternalCompilationInfo(post_include_bits=[_X86_64_CPU_C])
else:
    _CPU_ECI = ExternalCompilationInfo(includes=['elyz_cpu.h'])


class Halted(Exception):
    """Untranslated only: the kernel asked the CPU to halt forever."""


class EmulatedCpu(object):
    def __init__(self):
        self.tsc = 0
        self.cr2 = 0
        self.cr3 = 0
        self.cr0 = 0
        self.cr4 = 0
        self.ac = False                 # RFLAGS.AC
        self.stack_pointer = 0
        self.msrs = {}
        self.interrupts_enabled = False
        self.invalidated = []
        self.exit_on_panic = 0
        self.cpuid_values = {}          # (leaf, subleaf) -> (eax, ebx, ecx, edx)


_emulated = [EmulatedCpu()]


def emulate(cpu=None):
    """Untranslated only: installs cpu (a new EmulatedCpu when None); returns it."""
    if cpu is None:
        cpu = EmulatedCpu()
    _emulated[0] = cpu
    return cpu


def emulated():
    return _emulated[0]


def _halt():
    raise Halted()


def _tick():
    cpu = _emulated[0]
    cpu.tsc += 1000
    return cpu.tsc


def _set(attr, value):
    setattr(_emulated[0], attr, value)


def _ext(name, args, result, emulation):
    return rffi.llexternal(name, args, result, compilation_info=_CPU_ECI, _nowrapper=True,
                           sandboxsafe=True, releasegil=False, _callable=emulation)


S = lltype.Signed
V = lltype.Void
_halt_loop = _ext('elyz_halt_loop', [], V, _halt)
_wfi = _ext('elyz_wait_for_interrupt', [], V, lambda: _set('interrupts_enabled', True))
_cli = _ext('elyz_cli', [], V, lambda: _set('interrupts_enabled', False))
_sti = _ext('elyz_sti', [], V, lambda: _set('interrupts_enabled', True))
def _emulated_irq_save():
    was_on = _emulated[0].interrupts_enabled
    _emulated[0].interrupts_enabled = False
    return 1 if was_on else 0


def _emulated_irq_restore(on):
    if on:
        _emulated[0].interrupts_enabled = True


_irq_save = _ext('elyz_irq_save', [], S, _emulated_irq_save)
_irq_restore = _ext('elyz_irq_restore', [S], V, _emulated_irq_restore)
_barrier = _ext('elyz_compiler_barrier', [], V, lambda: None)
_rdtsc = _ext('elyz_rdtsc', [], S, _tick)
_read_cr2 = _ext('elyz_read_cr2', [], S, lambda: _emulated[0].cr2)
_read_cr3 = _ext('elyz_read_cr3', [], S, lambda: _emulated[0].cr3)
_read_cr0 = _ext('elyz_read_cr0', [], S, lambda: _emulated[0].cr0)
_write_cr0 = _ext('elyz_write_cr0', [S], V, lambda v: _set('cr0', v))
_read_cr4 = _ext('elyz_read_cr4', [], S, lambda: _emulated[0].cr4)
_write_cr4 = _ext('elyz_write_cr4', [S], V, lambda v: _set('cr4', v))
_stac = _ext('elyz_stac', [], V, lambda: _set('ac', True))
_clac = _ext('elyz_clac', [], V, lambda: _set('ac', False))
_stack_pointer = _ext('elyz_stack_pointer', [], S, lambda: _emulated[0].stack_pointer)
_write_cr3 = _ext('elyz_write_cr3', [S], V, lambda v: _set('cr3', v))
_invlpg = _ext('elyz_invlpg', [S], V, lambda v: _emulated[0].invalidated.append(v))
_rdmsr = _ext('elyz_rdmsr', [S], S, lambda msr: _emulated[0].msrs.get(msr, 0))
_wrmsr = _ext('elyz_wrmsr', [S, S], V, lambda msr, v: _emulated[0].msrs.__setitem__(msr, v))
_cpuid = _ext('elyz_cpuid', [S, S, S], S,
              lambda leaf, sub, reg: _emulated[0].cpuid_values.get((leaf, sub), (0, 0, 0, 0))[reg & 3])
_set_exit_on_panic = _ext('elyz_set_exit_on_panic', [S], V, lambda f: _set('exit_on_panic', f))


def halt_forever():
    _halt_loop()


def wait_for_interrupt():
    _wfi()


def disable_interrupts():
    _cli()


def enable_interrupts():
    _sti()


def save_and_disable_interrupts():
    """Turns interrupts off; returns 1 when they were on, else 0."""
    return _irq_save()


def restore_interrupts(flags):
    """Turns interrupts back on when flags (from save_and_disable_interrupts)
    says they were on; returns nothing."""
    _irq_restore(flags)


def compiler_barrier():
    _barrier()


def read_tsc():
    return _rdtsc()


def read_cr2():
    return _read_cr2()


def read_cr3():
    return _read_cr3()


def write_cr3(phys):
    _write_cr3(phys)


def read_cr0():
    return _read_cr0()


def write_cr0(value):
    _write_cr0(value)


def read_cr4():
    return _read_cr4()


def write_cr4(value):
    _write_cr4(value)


def stac():
    """Sets RFLAGS.AC (SMAP lets the kernel touch user pages); #UD without SMAP."""
    _stac()


def clac():
    """Clears RFLAGS.AC; #UD without SMAP."""
    _clac()


def stack_pointer():
    """Returns the current stack pointer (roughly: the caller's frame)."""
    return _stack_pointer()


def invlpg(virt):
    _invlpg(virt)


def read_msr(msr):
    return _rdmsr(msr)


def write_msr(msr, value):
    _wrmsr(msr, value)


def cpuid(leaf, subleaf, register):
    return _cpuid(leaf, subleaf, register)


def set_exit_on_panic(flag):
    _set_exit_on_panic(flag)
