/* Elyz x86_64 kernel stacks, each above an unmapped guard page.
 *
 * The section .kernel_stacks (linker.ld puts it last in the image, after
 * .bss and the CPU tables) holds, from low to high addresses:
 *
 *     guard | boot stack (64 KiB) | guard | IST1 #DF (32 KiB) | guard | IST2 NMI
 *     | guard | IST3 #MC
 *
 * Stacks grow down, so a stack that overflows runs into the guard page
 * below it.  The kernel's page tables (elyz/mm/kernel_space.py) map every
 * stack and leave every guard page unmapped; the first push into a guard
 * page page-faults, the CPU cannot push the #PF frame there either, and the
 * resulting double fault runs on IST1, where elyz/kernel/traps.py reports
 * "kernel stack overflow" and panics.  (Before the kernel's own tables are
 * active the guards are still mapped by the bootloader or boot.S.)
 *
 * elyz_kernel_stack_table lists (bottom, top) pairs in the order of
 * elyz/rlib_kernel/stacks.py STACK_NAMES: boot, #DF, NMI, #MC.
 */
#include "boot.h"

    .section .kernel_stacks, "aw", @nobits
    .balign 4096
    .globl elyz_kernel_stacks_start, elyz_kernel_stacks_end
    .globl boot_stack_bottom, boot_stack_top
    .globl elyz_ist1_stack_top, elyz_ist2_stack_top, elyz_ist3_stack_top
elyz_kernel_stacks_start:
    .skip ELYZ_STACK_GUARD_SIZE
boot_stack_bottom:
    .skip ELYZ_BOOT_STACK_SIZE
boot_stack_top:
    .skip ELYZ_STACK_GUARD_SIZE
elyz_ist1_stack_bottom:
    .skip ELYZ_IST_STACK_SIZE
elyz_ist1_stack_top:
    .skip ELYZ_STACK_GUARD_SIZE
elyz_ist2_stack_bottom:
    .skip ELYZ_IST_STACK_SIZE
elyz_ist2_stack_top:
    .skip ELYZ_STACK_GUARD_SIZE
elyz_ist3_stack_bottom:
    .skip ELYZ_IST_STACK_SIZE
elyz_ist3_stack_top:
elyz_kernel_stacks_end:

    .section .rodata
    .balign 8
    .globl elyz_kernel_stack_table, elyz_kernel_stack_count
elyz_kernel_stack_table:
    .quad boot_stack_bottom, boot_stack_top
    .quad elyz_ist1_stack_bottom, elyz_ist1_stack_top
    .quad elyz_ist2_stack_bottom, elyz_ist2_stack_top
    .quad elyz_ist3_stack_bottom, elyz_ist3_stack_top
elyz_kernel_stack_table_end:
elyz_kernel_stack_count:
    .quad (elyz_kernel_stack_table_end - elyz_kernel_stack_table) / 16
