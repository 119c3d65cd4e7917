/* Elyz loongarch64 kernel stack: the boot stack above an unmapped guard
 * (elyz/mm/kernel_space.py leaves every guard unmapped) of 16 KiB, one
 * block of QEMU 7.2's 16 KiB target pages (linker.ld BLOCK); the kernel's
 * overflow check looks at its top 4 KiB (elyz/rlib_kernel/image.py).
 * elyz_kernel_stack_table lists (bottom, top) pairs, in the order of
 * elyz/rlib_kernel/image.py STACK_NAMES for this architecture: boot. */
#include "boot.h"

    .section .kernel_stacks, "aw", @nobits
    .balign ELYZ_STACK_GUARD_SIZE
    .globl elyz_kernel_stacks_start, elyz_kernel_stacks_end
    .globl boot_stack_bottom, boot_stack_top
elyz_kernel_stacks_start:
    .skip ELYZ_STACK_GUARD_SIZE
boot_stack_bottom:
    .skip ELYZ_BOOT_STACK_SIZE
boot_stack_top:
elyz_kernel_stacks_end:

    .section .rodata
    .balign 8
    .globl elyz_kernel_stack_table, elyz_kernel_stack_count
elyz_kernel_stack_table:
    .dword boot_stack_bottom, boot_stack_top
elyz_kernel_stack_count:
    .dword 1
