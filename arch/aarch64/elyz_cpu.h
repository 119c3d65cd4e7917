/* aarch64 CPU primitives behind elyz/rlib_kernel/cpu.py (the names of its
 * arch-neutral subset) and elyz/rlib_kernel/aarch64.py. */
#ifndef ELYZ_AARCH64_CPU_H
#define ELYZ_AARCH64_CPU_H

/* DAIF.I is bit 7; daifset/daifclr #2 set/clear I only. */
static inline void elyz_halt_loop(void) { for (;;) __asm__ volatile("msr daifset, #2; wfi"); }
static inline void elyz_wait_for_interrupt(void) { __asm__ volatile("msr daifclr, #2; wfi" ::: "memory"); }
static inline void elyz_cli(void) { __asm__ volatile("msr daifset, #2" ::: "memory"); }
static inline void elyz_sti(void) { __asm__ volatile("msr daifclr, #2" ::: "memory"); }
static inline long elyz_irq_save(void)
{ unsigned long d; __asm__ volatile("mrs %0, daif; msr daifset, #2" : "=r"(d) : : "memory"); return (long)(((d >> 7) & 1) ^ 1); }
static inline void elyz_irq_restore(long on) { if (on) __asm__ volatile("msr daifclr, #2" ::: "memory"); }
static inline void elyz_compiler_barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline long elyz_rdtsc(void) { long v; __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v) : : "memory"); return v; }
static inline long elyz_stack_pointer(void) { long v; __asm__ volatile("mov %0, sp" : "=r"(v)); return v; }
extern long elyz_exit_on_panic;
static inline void elyz_set_exit_on_panic(long flag) { elyz_exit_on_panic = flag; }
static inline void elyz_breakpoint(void) { __asm__ volatile("brk #0" ::: "memory"); }
extern void elyz_init_traps(void);

/* aarch64.py */
static inline long elyz_a64_read_ttbr1(void) { long v; __asm__ volatile("mrs %0, ttbr1_el1" : "=r"(v)); return v; }
/* TCR_EL1.T0SZ (bits 5:0) <- t0sz: how many address bits TTBR0 translates. */
static inline void elyz_a64_set_t0sz(long t0sz)
{
    unsigned long tcr;
    __asm__ volatile("mrs %0, tcr_el1" : "=r"(tcr));
    tcr = (tcr & ~0x3fUL) | ((unsigned long)t0sz & 0x3f);
    __asm__ volatile("msr tcr_el1, %0; isb" : : "r"(tcr) : "memory");
}
static inline void elyz_a64_set_mair(long mair)
{ __asm__ volatile("msr mair_el1, %0; isb" : : "r"(mair) : "memory"); }
static inline void elyz_a64_set_roots(long root)
{
    __asm__ volatile("dsb ishst; msr ttbr0_el1, %0; msr ttbr1_el1, %0; isb; tlbi vmalle1; dsb ish; isb"
                     : : "r"(root) : "memory");
}
static inline void elyz_a64_tlbi_page(long virt)
{ __asm__ volatile("dsb ishst; tlbi vaae1, %0; dsb ish; isb" : : "r"(((unsigned long)virt >> 12) & 0xfffffffffffUL) : "memory"); }
static inline void elyz_a64_tlbi_all(void) { __asm__ volatile("dsb ishst; tlbi vmalle1; dsb ish; isb" ::: "memory"); }
static inline long elyz_a64_cntfrq(void) { long v; __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v)); return v; }
static inline void elyz_a64_timer_set(long tval)
{ __asm__ volatile("msr cntv_tval_el0, %0; msr cntv_ctl_el0, %1; isb" : : "r"(tval), "r"(1L) : "memory"); }
static inline void elyz_a64_timer_cval(long cval)
{ __asm__ volatile("msr cntv_cval_el0, %0; msr cntv_ctl_el0, %1; isb" : : "r"(cval), "r"(1L) : "memory"); }
/* Semihosting SYS_EXIT (0x18) with ADP_Stopped_ApplicationExit and a code
 * (AArch64 takes a two-word block): QEMU exits with the code when started
 * with -semihosting-config enable=on. */
static inline void elyz_a64_semihosting_exit(long code)
{
    long block[2] = { 0x20026, code };
    register long x0 __asm__("x0") = 0x18;
    register long x1 __asm__("x1") = (long)block;
    __asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
}
#endif
