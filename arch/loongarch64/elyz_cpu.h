/* loongarch64 CPU primitives behind elyz/rlib_kernel/cpu.py (the names of
 * its arch-neutral subset) and elyz/rlib_kernel/loongarch64.py.  CSR
 * numbers: boot.h; the manual: LoongArch Reference Manual vol. 1. */
#ifndef ELYZ_LOONGARCH64_CPU_H
#define ELYZ_LOONGARCH64_CPU_H

#define ELYZ_CRMD_IE 4

static inline void elyz_cli(void)
{ long m = ELYZ_CRMD_IE; __asm__ volatile("csrxchg $zero, %0, 0x0" : : "r"(m) : "memory"); }
static inline void elyz_sti(void)
{ long v = ELYZ_CRMD_IE; __asm__ volatile("csrxchg %0, %0, 0x0" : "+r"(v) : : "memory"); }
static inline void elyz_halt_loop(void) { for (;;) { elyz_cli(); __asm__ volatile("idle 0" ::: "memory"); } }
static inline void elyz_wait_for_interrupt(void) { elyz_sti(); __asm__ volatile("idle 0" ::: "memory"); }
static inline long elyz_irq_save(void)
{
    long v = 0, m = ELYZ_CRMD_IE;
    __asm__ volatile("csrxchg %0, %1, 0x0" : "+r"(v) : "r"(m) : "memory");
    return (v >> 2) & 1;
}
static inline void elyz_irq_restore(long on) { if (on) elyz_sti(); }
static inline void elyz_compiler_barrier(void) { __asm__ volatile("" ::: "memory"); }
/* The stable counter (rdtime.d: counter ID into the second register). */
static inline long elyz_rdtsc(void) { long v, id; __asm__ volatile("rdtime.d %0, %1" : "=r"(v), "=r"(id)); return v; }
static inline long elyz_stack_pointer(void) { long v; __asm__ volatile("move %0, $sp" : "=r"(v)); return v; }
extern long elyz_exit_on_panic;
static inline void elyz_set_exit_on_panic(long flag) { elyz_exit_on_panic = flag; }
static inline void elyz_breakpoint(void) { __asm__ volatile("break 0" ::: "memory"); }
extern void elyz_init_traps(void);

/* loongarch64.py */
static inline long elyz_la_cpucfg(long word) { long v; __asm__ volatile("cpucfg %0, %1" : "=r"(v) : "r"(word)); return v; }
static inline long elyz_la_read_pgdl(void) { long v; __asm__ volatile("csrrd %0, 0x19" : "=r"(v)); return v; }
static inline long elyz_la_read_pgdh(void) { long v; __asm__ volatile("csrrd %0, 0x1a" : "=r"(v)); return v; }
/* DMW1 <- 0: closes boot.S's direct-mapped window (0x9000... -> physical,
 * RWX for PLV0), which would otherwise alias every frame around the page
 * tables' permissions. */
static inline void elyz_la_close_boot_window(void)
{ long v = 0; __asm__ volatile("csrwr %0, 0x181" : "+r"(v) : : "memory"); }
static inline void elyz_la_write_pgds(long low, long high)
{
    __asm__ volatile("csrwr %0, 0x19\n\tcsrwr %1, 0x1a" : "+r"(low), "+r"(high) : : "memory");
}
static inline void elyz_la_invtlb_all(void) { __asm__ volatile("dbar 0\n\tinvtlb 0, $zero, $zero" ::: "memory"); }
static inline void elyz_la_invtlb_page(long virt)
{ __asm__ volatile("dbar 0\n\tinvtlb 6, $zero, %0" : : "r"(virt) : "memory"); }
static inline void elyz_la_write_tcfg(long v) { __asm__ volatile("csrwr %0, 0x41" : "+r"(v) : : "memory"); }
static inline void elyz_la_timer_clear(void) { long v = 1; __asm__ volatile("csrwr %0, 0x44" : "+r"(v) : : "memory"); }
static inline void elyz_la_set_ecfg(long bits) { long v = bits; __asm__ volatile("csrxchg %0, %0, 0x4" : "+r"(v) : : "memory"); }
static inline long elyz_la_read_ecfg(void) { long v; __asm__ volatile("csrrd %0, 0x4" : "=r"(v)); return v; }
#endif
