/* Elyz riscv64 trap entry (stvec, direct mode): every S-mode exception and
 * interrupt.  Saves the one trap frame (boot.h FRAME_*; the layout of
 * elyz/rlib_kernel/portframe.py) on the current stack, calls
 * rpy_trap(frame), and returns with sret to the (possibly changed) sepc and
 * registers.  The kernel runs no user code on this port yet, so a trap
 * always comes from S-mode on a kernel stack.
 */
#include "boot.h"

.macro save_reg n
    sd x\n, (\n * 8)(sp)
.endm
.macro load_reg n
    ld x\n, (\n * 8)(sp)
.endm

    .text
    .balign 4
    .globl elyz_riscv64_trap_entry
elyz_riscv64_trap_entry:
    addi sp, sp, -FRAME_SIZE
    save_reg 1
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    save_reg \n
    .endr
    addi t0, sp, FRAME_SIZE
    sd t0, (2 * 8)(sp)
    sd zero, 0(sp)
    csrr t0, sepc
    sd t0, FRAME_PC(sp)
    csrr t0, sstatus
    sd t0, FRAME_STATUS(sp)
    csrr t0, scause
    sd t0, FRAME_CAUSE(sp)
    csrr t0, stval
    sd t0, FRAME_FAULT(sp)
    mv a0, sp
    call rpy_trap
    ld t0, FRAME_PC(sp)
    csrw sepc, t0
    ld t0, FRAME_STATUS(sp)
    csrw sstatus, t0
    load_reg 1
    .irp n, 3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    load_reg \n
    .endr
    addi sp, sp, FRAME_SIZE
    sret

    .globl elyz_init_traps
elyz_init_traps:
    lla t0, elyz_riscv64_trap_entry
    csrw stvec, t0
    ret
