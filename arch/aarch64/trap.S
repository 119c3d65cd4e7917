/* Elyz aarch64 exception vectors (VBAR_EL1).  The kernel runs at EL1 on
 * SP_EL1 and no user code yet, so only the "current EL with SP_ELx" group
 * is used; the other groups report themselves as unexpected.  Each entry
 * saves the one port trap frame (boot.h FRAME_*, elyz/rlib_kernel/
 * portframe.py): x0..x30, the trapped sp, ELR_EL1 (PC), SPSR_EL1 (STATUS),
 * ESR_EL1 or FRAME_CAUSE_IRQ (CAUSE), FAR_EL1 (FAULT_ADDRESS); calls
 * rpy_trap(frame); restores the (possibly changed) registers, ELR and SPSR;
 * and returns with eret.
 */
#include "boot.h"

.macro save_frame cause_is_irq
    sub sp, sp, #FRAME_SIZE
    stp x0, x1, [sp, #0 * 16]
    stp x2, x3, [sp, #1 * 16]
    stp x4, x5, [sp, #2 * 16]
    stp x6, x7, [sp, #3 * 16]
    stp x8, x9, [sp, #4 * 16]
    stp x10, x11, [sp, #5 * 16]
    stp x12, x13, [sp, #6 * 16]
    stp x14, x15, [sp, #7 * 16]
    stp x16, x17, [sp, #8 * 16]
    stp x18, x19, [sp, #9 * 16]
    stp x20, x21, [sp, #10 * 16]
    stp x22, x23, [sp, #11 * 16]
    stp x24, x25, [sp, #12 * 16]
    stp x26, x27, [sp, #13 * 16]
    stp x28, x29, [sp, #14 * 16]
    add x0, sp, #FRAME_SIZE
    stp x30, x0, [sp, #15 * 16]
    mrs x0, elr_el1
    mrs x1, spsr_el1
    stp x0, x1, [sp, #FRAME_PC]
    .if \cause_is_irq
    mov x0, #FRAME_CAUSE_IRQ
    .else
    mrs x0, esr_el1
    .endif
    mrs x1, far_el1
    stp x0, x1, [sp, #FRAME_CAUSE]
.endm

    .text
    .balign 4
elyz_aarch64_trap_common:
    mov x0, sp
    bl rpy_trap
    ldp x0, x1, [sp, #FRAME_PC]
    msr elr_el1, x0
    msr spsr_el1, x1
    ldp x0, x1, [sp, #0 * 16]
    ldp x2, x3, [sp, #1 * 16]
    ldp x4, x5, [sp, #2 * 16]
    ldp x6, x7, [sp, #3 * 16]
    ldp x8, x9, [sp, #4 * 16]
    ldp x10, x11, [sp, #5 * 16]
    ldp x12, x13, [sp, #6 * 16]
    ldp x14, x15, [sp, #7 * 16]
    ldp x16, x17, [sp, #8 * 16]
    ldp x18, x19, [sp, #9 * 16]
    ldp x20, x21, [sp, #10 * 16]
    ldp x22, x23, [sp, #11 * 16]
    ldp x24, x25, [sp, #12 * 16]
    ldp x26, x27, [sp, #13 * 16]
    ldp x28, x29, [sp, #14 * 16]
    ldr x30, [sp, #15 * 16]
    add sp, sp, #FRAME_SIZE
    eret

.macro vector cause_is_irq
    .balign 0x80
    save_frame \cause_is_irq
    b elyz_aarch64_trap_common
.endm

    .balign 2048
    .globl elyz_aarch64_vectors
elyz_aarch64_vectors:
    /* current EL with SP_EL0: never used (the kernel runs on SP_EL1) */
    vector 0
    vector 1
    vector 1
    vector 0
    /* current EL with SP_ELx: synchronous, IRQ, FIQ, SError */
    vector 0
    vector 1
    vector 1
    vector 0
    /* lower EL, AArch64 and AArch32: no user code yet */
    vector 0
    vector 1
    vector 1
    vector 0
    vector 0
    vector 1
    vector 1
    vector 0

    .globl elyz_init_traps
elyz_init_traps:
    adrp x0, elyz_aarch64_vectors
    add x0, x0, :lo12:elyz_aarch64_vectors
    msr vbar_el1, x0
    isb
    ret
