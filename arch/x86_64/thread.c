/* Elyz x86_64 per-process CPU state: kernel stacks, context switch, FPU.
 *
 * void elyz_switch_to(long *save_rsp, long new_rsp, long new_bottom,
 *                     long new_top)
 *     Switches to the kernel stack whose saved rsp is new_rsp (a stack
 *     [new_bottom, new_top)), first making it the stack of traps and system
 *     calls from user mode (TSS RSP0, per-CPU kernel_rsp) and the RPython
 *     stack check's bounds; saves the current rsp into *save_rsp.  Returns
 *     when something switches back to *save_rsp.  The caller holds no
 *     pending RPython exception and no half-updated kernel structure.
 *
 * void elyz_switch_task(long prev_context, long next_context, long new_bottom,
 *                       long new_top)
 *     The switch from one process's task to another's in one call: saves
 *     the FPU/SSE state into prev_context (its first FPU_AREA_SIZE bytes),
 *     loads next_context's, then does what elyz_switch_to does with the
 *     saved rsp words at CONTEXT_RSP of both context blocks
 *     (elyz/kernel/sched.py lays them out).
 *
 * void elyz_switch_task(long prev_context, long next_context, long new_bottom, long new_top)
{
    __asm__ volatile("fxsave (%0)" : : "r"(prev_context) : "memory");
    __asm__ volatile("fxrstor (%0)" : : "r"(next_context) : "memory");
    elyz_set_kernel_stack(new_top);
    elyz_stack_bounds((void *)new_bottom, (void *)new_top, ELYZ_STACK_CHECK_RESERVE);
    elyz_context_switch((long *)(prev_context + CONTEXT_RSP),
                        *(long *)(next_context + CONTEXT_RSP));
}

long elyz_prepare_user_stack(long top, long entry, long user_rsp,
 *                              long arg0, long arg1)
 *     Lays out a fresh kernel stack ending at top so that switching to the
 *     returned rsp enters user mode at entry with rsp = user_rsp, rdi =
 *     arg0, rsi = arg1, every other register 0, interrupts on.
 *
 * void elyz_fpu_init(void)     CR0.MP on, CR0.EM and TS off, CR4.OSFXSR and
 *                              OSXMMEXCPT on (SSE for user mode; the kernel
 *                              itself is compiled without it), and records
 *                              a clean FPU/SSE state
 * void elyz_fpu_reset(long area)   area = the clean state (512 bytes, 16-aligned)
 * void elyz_fpu_save(long area) / elyz_fpu_restore(long area)   FXSAVE / FXRSTOR
 */
#include <stddef.h>
#include <stdint.h>
#include "boot.h"
#include "elyz_runtime.h"

extern void elyz_context_switch(long *save_rsp, long new_rsp);
extern void elyz_set_kernel_stack(long top);
extern char elyz_trap_exit[];

#define FRAME_WORDS             22      /* trapframe.py FRAME_SIZE / 8 */
#define FRAME_RDI               9       /* word indexes, trapframe.py */
#define FRAME_RSI               10
#define FRAME_RIP               17
#define FRAME_CS                18
#define FRAME_RFLAGS            19
#define FRAME_RSP               20
#define FRAME_SS                21
#define SWITCH_WORDS            7       /* r15 r14 r13 r12 rbx rbp, return address */
#define USER_CS                 0x23
#define USER_DS                 0x1b
#define RFLAGS_IF               0x200
#define RFLAGS_RESERVED_1       0x2

#define CR0_MP                  (1UL << 1)
#define CR0_EM                  (1UL << 2)
#define CR0_TS                  (1UL << 3)
#define CR4_OSFXSR              (1UL << 9)
#define CR4_OSXMMEXCPT          (1UL << 10)
#define MXCSR_DEFAULT           0x1f80  /* all exceptions masked, round to nearest */
#define FPU_AREA_SIZE           512
#define CONTEXT_RSP             FPU_AREA_SIZE   /* sched.py: the saved rsp after the FPU area */

static uint8_t clean_fpu_state[FPU_AREA_SIZE] __attribute__((aligned(16)));

void elyz_switch_to(long *save_rsp, long new_rsp, long new_bottom, long new_top)
{
    elyz_set_kernel_stack(new_top);
    elyz_stack_bounds((void *)new_bottom, (void *)new_top, ELYZ_STACK_CHECK_RESERVE);
    elyz_context_switch(save_rsp, new_rsp);
}

void elyz_switch_task(long prev_context, long next_context, long new_bottom, long new_top)
{
    __asm__ volatile("fxsave (%0)" : : "r"(prev_context) : "memory");
    __asm__ volatile("fxrstor (%0)" : : "r"(next_context) : "memory");
    elyz_set_kernel_stack(new_top);
    elyz_stack_bounds((void *)new_bottom, (void *)new_top, ELYZ_STACK_CHECK_RESERVE);
    elyz_context_switch((long *)(prev_context + CONTEXT_RSP),
                        *(long *)(next_context + CONTEXT_RSP));
}

long elyz_prepare_user_stack(long top, long entry, long user_rsp, long arg0, long arg1)
{
    uint64_t *frame = (uint64_t *)top - FRAME_WORDS;
    for (int i = 0; i < FRAME_WORDS; i++)
        frame[i] = 0;
    frame[FRAME_RDI] = (uint64_t)arg0;
    frame[FRAME_RSI] = (uint64_t)arg1;
    frame[FRAME_RIP] = (uint64_t)entry;
    frame[FRAME_CS] = USER_CS;
    frame[FRAME_RFLAGS] = RFLAGS_IF | RFLAGS_RESERVED_1;
    frame[FRAME_RSP] = (uint64_t)user_rsp;
    frame[FRAME_SS] = USER_DS;
    uint64_t *switch_frame = frame - SWITCH_WORDS;
    for (int i = 0; i < SWITCH_WORDS - 1; i++)
        switch_frame[i] = 0;
    switch_frame[SWITCH_WORDS - 1] = (uint64_t)elyz_trap_exit;
    return (long)switch_frame;
}

void elyz_fpu_init(void)
{
    unsigned long cr0, cr4;
    uint32_t mxcsr = MXCSR_DEFAULT;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    cr0 = (cr0 | CR0_MP) & ~(CR0_EM | CR0_TS);
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
    __asm__ volatile("fninit; ldmxcsr %0; fxsave %1" : : "m"(mxcsr), "m"(clean_fpu_state)
                     : "memory");
}

void elyz_fpu_reset(long area)
{
    uint64_t *dst = (uint64_t *)area;
    const uint64_t *src = (const uint64_t *)clean_fpu_state;
    for (int i = 0; i < FPU_AREA_SIZE / 8; i++)
        dst[i] = src[i];
}

void elyz_fpu_save(long area)
{
    __asm__ volatile("fxsave (%0)" : : "r"(area) : "memory");
}

void elyz_fpu_restore(long area)
{
    __asm__ volatile("fxrstor (%0)" : : "r"(area) : "memory");
}
