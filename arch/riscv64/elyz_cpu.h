/* riscv64 CPU primitives behind elyz/rlib_kernel/cpu.py (the names of its
 * arch-neutral subset) and elyz/rlib_kernel/riscv64.py. */
#ifndef ELYZ_RISCV64_CPU_H
#define ELYZ_RISCV64_CPU_H

#define SSTATUS_SIE 2

static inline void elyz_halt_loop(void) { for (;;) __asm__ volatile("csrci sstatus, 2; wfi"); }
static inline void elyz_wait_for_interrupt(void) { __asm__ volatile("csrsi sstatus, 2; wfi" ::: "memory"); }
static inline void elyz_cli(void) { __asm__ volatile("csrci sstatus, 2" ::: "memory"); }
static inline void elyz_sti(void) { __asm__ volatile("csrsi sstatus, 2" ::: "memory"); }
static inline long elyz_irq_save(void)
{ unsigned long s; __asm__ volatile("csrrci %0, sstatus, 2" : "=r"(s) : : "memory"); return (long)((s >> 1) & 1); }
static inline void elyz_irq_restore(long on) { if (on) __asm__ volatile("csrsi sstatus, 2" ::: "memory"); }
static inline void elyz_compiler_barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline long elyz_rdtsc(void) { long v; __asm__ volatile("rdtime %0" : "=r"(v)); return v; }
static inline long elyz_stack_pointer(void) { long v; __asm__ volatile("mv %0, sp" : "=r"(v)); return v; }
extern long elyz_exit_on_panic;
static inline void elyz_set_exit_on_panic(long flag) { elyz_exit_on_panic = flag; }

/* riscv64.py */
static inline long elyz_rv_read_satp(void) { long v; __asm__ volatile("csrr %0, satp" : "=r"(v)); return v; }
static inline void elyz_rv_write_satp(long v)
{ __asm__ volatile("sfence.vma; csrw satp, %0; sfence.vma" : : "r"(v) : "memory"); }
static inline void elyz_rv_sfence_vma(long virt) { __asm__ volatile("sfence.vma %0, zero" : : "r"(virt) : "memory"); }
static inline void elyz_rv_sfence_all(void) { __asm__ volatile("sfence.vma" ::: "memory"); }
static inline long elyz_rv_read_sie(void) { long v; __asm__ volatile("csrr %0, sie" : "=r"(v)); return v; }
static inline void elyz_rv_set_sie(long bits) { __asm__ volatile("csrs sie, %0" : : "r"(bits) : "memory"); }
static inline long elyz_rv_read_sstatus(void) { long v; __asm__ volatile("csrr %0, sstatus" : "=r"(v)); return v; }
static inline void elyz_rv_set_sstatus(long bits) { __asm__ volatile("csrs sstatus, %0" : : "r"(bits) : "memory"); }
static inline long elyz_rv_sbi_call(long ext, long fid, long arg0, long arg1)
{
    register long a0 __asm__("a0") = arg0;
    register long a1 __asm__("a1") = arg1;
    register long a6 __asm__("a6") = fid;
    register long a7 __asm__("a7") = ext;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
    return a0;
}
/* sstatus.SUM (bit 18): S-mode may touch U pages (the SMAP window). */
static inline void elyz_rv_sum_on(void) { __asm__ volatile("csrs sstatus, %0" : : "r"(1L << 18) : "memory"); }
static inline void elyz_rv_sum_off(void) { __asm__ volatile("csrc sstatus, %0" : : "r"(1L << 18) : "memory"); }
static inline void elyz_breakpoint(void) { __asm__ volatile(".option push; .option norvc; ebreak; .option pop" ::: "memory"); }
extern void elyz_init_traps(void);
#endif
