/* Elyz x86_64 trap entry: 256 interrupt stubs and the common path.
 *
 * Every IDT gate (cpu_tables.c) points at one stub of elyz_trap_stub_table.
 * A stub pushes a zero error code when the CPU pushes none for its vector,
 * then the vector number, and jumps to trap_common, which saves the general
 * registers, calls elyz_trap_dispatch(frame) (cpu_tables.c, which calls the
 * RPython handler rpy_trap), restores the registers from the frame, and
 * returns with iretq.  The handler may change the frame (rip, registers):
 * what is in the frame when it returns is what the trapped code resumes with.
 *
 * The trap frame (offsets from the frame address; mirrored by
 * elyz/rlib_kernel/trapframe.py, which must change with this file):
 *
 *      0 r15     32 r11     64 rbp    96 rcx    128 error code  160 rsp
 *      8 r14     40 r10     72 rdi   104 rbx    136 rip         168 ss
 *     16 r13     48 r9      80 rsi   112 rax    144 cs
 *     24 r12     56 r8      88 rdx   120 vector 152 rflags
 *
 * 0..119 are pushed by trap_common, 120 and 128 by the stub, 136..175 by
 * the CPU.  In 64-bit mode the CPU aligns rsp to 16 before pushing its five
 * words, so the 176-byte frame starts 16-byte aligned and the C call below
 * follows the System V stack alignment rule.
 *
 * GS: in kernel mode GS_BASE holds the per-CPU area (cpu_tables.c), in user
 * mode the user's value (KERNEL_GS_BASE then holds the per-CPU area).
 * trap_common swaps them (swapgs) on entry and on exit when the saved cs
 * has RPL 3.  NMI, #DF and #MC may strike anywhere, also between a
 * `syscall` and its swapgs (syscall.S), where cs already says kernel: their
 * stubs go through trap_paranoid, which decides by reading MSR_GS_BASE.
 *
 * elyz_trap_exit (the tail of trap_common) is also how a new process first
 * enters user mode and how every system call returns (syscall.S): with rsp
 * at a trap frame, it restores it and leaves with iretq.
 */

#include "frame.h"

#define TRAP_VECTORS    256
#define FRAME_VECTOR_AND_ERROR  16      /* the two words the stub pushed */
#define RFLAGS_AC               (1 << 18)       /* alignment check / SMAP override */
#define FRAME_CS_FROM_VECTOR    24      /* cs, counted from the vector word */
#define MSR_GS_BASE             0xc0000101

/* Vectors for which the CPU pushes an error code (Intel SDM vol. 3, 6.13;
 * AMD APM vol. 2, 8.2): #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14,
 * #AC 17, #CP 21, #VC 29, #SX 30. */
.macro trap_stub vec
trap_stub_\vec:
    .if (\vec == 8) || (\vec == 10) || (\vec == 11) || (\vec == 12) || (\vec == 13) || (\vec == 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    .else
    pushq $0
    .endif
    pushq $\vec
    .if (\vec == 2) || (\vec == 8) || (\vec == 18)
    jmp trap_paranoid
    .else
    jmp trap_common
    .endif
.endm

.macro trap_stub_address vec
    .quad trap_stub_\vec
.endm

    .text
    .code64
    .balign 16
    .globl elyz_trap_stubs
elyz_trap_stubs:
    .altmacro
    .set vector, 0
    .rept TRAP_VECTORS
    .balign 16
    trap_stub %vector
    .set vector, vector + 1
    .endr
    .noaltmacro

/* Clears RFLAGS.AC: code interrupted inside a user-memory copy (stac) must
 * not lend the handler access to user pages past SMAP.  iretq restores the
 * interrupted code's flags. */
.macro clear_ac
    pushfq
    andq $~RFLAGS_AC, (%rsp)
    popfq
.endm

    .balign 16
trap_common:
    cld
    testb $3, FRAME_CS_FROM_VECTOR(%rsp)
    jz 1f
    swapgs                              /* from user mode: the kernel's GS */
1:  clear_ac
    push_registers
    movq %rsp, %rdi                     /* the frame address */
    call elyz_trap_dispatch
    .globl elyz_trap_exit
elyz_trap_exit:
    pop_registers
    addq $FRAME_VECTOR_AND_ERROR, %rsp
    testb $3, 8(%rsp)                   /* the saved cs */
    jz 2f
    swapgs                              /* back to the user's GS */
2:  iretq

/* NMI, #DF, #MC: GS_BASE itself says whether the kernel's GS is loaded. */
    .balign 16
trap_paranoid:
    cld
    clear_ac
    push_registers
    movl $MSR_GS_BASE, %ecx
    rdmsr
    shlq $32, %rdx
    orq %rax, %rdx
    xorl %ebx, %ebx                     /* rbx: 1 when we swapped (callee-saved) */
    movabsq $elyz_percpu, %rax
    cmpq %rax, %rdx
    je 3f
    swapgs
    movl $1, %ebx
3:  movq %rsp, %rdi
    call elyz_trap_dispatch
    testl %ebx, %ebx
    jz 4f
    swapgs
4:  pop_registers
    addq $FRAME_VECTOR_AND_ERROR, %rsp
    iretq

/* elyz_trap_stub_table[v] = address of the stub for vector v. */
    .section .rodata
    .balign 8
    .globl elyz_trap_stub_table
elyz_trap_stub_table:
    .altmacro
    .set vector, 0
    .rept TRAP_VECTORS
    trap_stub_address %vector
    .set vector, vector + 1
    .endr
    .noaltmacro
