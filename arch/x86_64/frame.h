/* The general-register part of the one trap frame (trap.S draws the whole
 * frame), as assembler macros shared by trap.S and syscall.S: both save and
 * restore in exactly this order, and elyz/rlib_kernel/trapframe.py mirrors it.
 */
#ifndef ELYZ_X86_64_FRAME_H
#define ELYZ_X86_64_FRAME_H

/* Saves the general registers (the frame's first 15 words). */
.macro push_registers
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
.endm

.macro pop_registers
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
.endm

#endif
