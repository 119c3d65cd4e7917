/* Elyz x86_64 system-call entry and context switch.
 *
 * elyz_syscall_entry (IA32_LSTAR): the CPU arrives from ring 3 with rcx =
 * the user rip, r11 = the user rflags, IF/DF/TF/AC cleared by IA32_FMASK,
 * cs/ss kernel, and rsp and GS still the user's.  It swaps to the kernel's
 * GS (the per-CPU area, cpu_tables.c), keeps the user rsp there, loads the
 * current process's kernel stack top, and builds the one trap frame of
 * trap.S as an interrupt from ring 3 would (ss, rsp, rflags, cs, rip, error
 * 0, vector TRAPFRAME_SYSCALL), so elyz_syscall_dispatch and every later
 * path see the same layout.  It returns through elyz_trap_exit, that is
 * with iretq: never sysret, whose #GP on a non-canonical rcx would strike
 * in ring 0 with the user's rsp (the Intel sysret hazard).  The frame is
 * thus always the top FRAME_SIZE bytes of the task's kernel stack
 * (elyz/rlib_kernel/thread.py syscall_frame: channel_call_regs writes its
 * reply into the frame's rdx, r10, r8, r9).
 *
 * Register convention (elyz/abi/syscalls.py): number in rax, arguments in
 * rdi, rsi, rdx, r10, r8, r9, result in rax; rcx and r11 come back holding
 * the return address and the flags, as after any `syscall`; every other
 * register is preserved (the frame restores them).
 *
 * void elyz_context_switch(long *save_rsp, long new_rsp)
 *     saves the callee-saved registers on the current kernel stack, stores
 *     rsp into *save_rsp, switches to new_rsp and returns into whatever
 *     that stack saved (another elyz_context_switch call, or, for a new
 *     process, elyz_trap_exit and so user mode).
 */

#include "frame.h"

#define PERCPU_KERNEL_RSP   8
#define PERCPU_USER_RSP     16
#define USER_DS             0x1b        /* 0x18 | RPL 3 (cpu_tables.c) */
#define USER_CS             0x23        /* 0x20 | RPL 3 */
#define TRAPFRAME_SYSCALL   256         /* trapframe.py: not an IDT vector */

    .text
    .code64
    .balign 16
    .globl elyz_syscall_entry
elyz_syscall_entry:
    swapgs
    movq %rsp, %gs:PERCPU_USER_RSP
    movq %gs:PERCPU_KERNEL_RSP, %rsp
    pushq $USER_DS                      /* ss */
    pushq %gs:PERCPU_USER_RSP           /* rsp */
    pushq %r11                          /* rflags */
    pushq $USER_CS                      /* cs */
    pushq %rcx                          /* rip */
    pushq $0                            /* error code */
    pushq $TRAPFRAME_SYSCALL            /* vector */
    push_registers                      /* (no cld: IA32_FMASK cleared DF) */
    movq %rsp, %rdi
    call elyz_syscall_dispatch
    jmp elyz_trap_exit

    .balign 16
    .globl elyz_context_switch
elyz_context_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
