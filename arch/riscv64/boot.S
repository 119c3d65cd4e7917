/* Elyz riscv64 entry: QEMU virt, -kernel, through OpenSBI.
 *
 * OpenSBI enters _start in S-mode with the MMU off, a0 = hart id and
 * a1 = the physical address of the device tree.  _start runs at its
 * physical address (lla is pc-relative, so it yields physical addresses
 * here); it clears .bss, builds three early Sv48 tables and turns paging on:
 *
 *   root[0]   -> identity map of 0..4 GiB in 1 GiB pages (RWX), only so
 *                that the instruction after `csrw satp` can be fetched;
 *   root[256] -> the direct map: 512 GiB of physical space at
 *                0xffff800000000000 in 1 GiB pages (RW, global);
 *   root[511] -> the kernel: 0xffffffff80000000 -> 0x80000000, 2 GiB (RWX).
 *
 * It then jumps to the linked (high) address, takes the boot stack and
 * calls elyz_riscv64_boot(hart id, dtb physical).  The kernel replaces
 * these tables with its own (per-section permissions, no identity map)
 * in elyz/mm/kernel_space.py.
 *
 * Limine (UEFI through U-Boot, its entry point request) enters
 * elyz_riscv64_limine_entry instead: S-mode, Sv48 paging on with Limine's
 * tables (the kernel at its linked addresses, the HHDM at
 * 0xffff800000000000, the same as boot.S's), interrupts off, a Limine
 * stack.  It takes the boot stack and calls elyz_riscv64_limine_boot().
 */
#include "boot.h"

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_G 0x20
#define PTE_A 0x40
#define PTE_D 0x80
#define SATP_SV48 (9 << 60)

    .section .boot.text, "ax"
    .globl _start
_start:
    csrw sie, zero
    csrci sstatus, 2
    mv s0, a0
    mv s1, a1

    /* .bss (at its physical address) */
    lla t0, elyz_bss_start
    lla t1, elyz_bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:
    lla t0, boot_root
    lla t1, boot_low
    lla t2, boot_hhdm
    lla t3, boot_high
    /* root entries naming the three tables */
    srli t4, t1, 2
    ori t4, t4, PTE_V
    sd t4, 0(t0)
    srli t4, t2, 2
    ori t4, t4, PTE_V
    li t5, 256 * 8
    add t5, t5, t0
    sd t4, 0(t5)
    srli t4, t3, 2
    ori t4, t4, PTE_V
    li t5, 511 * 8
    add t5, t5, t0
    sd t4, 0(t5)

    /* identity 0..4 GiB */
    li t4, 0                    /* physical address */
    li t5, 0                    /* entry index */
    li t6, 4
3:  srli a2, t4, 2
    ori a2, a2, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
    slli a3, t5, 3
    add a3, a3, t1
    sd a2, 0(a3)
    li a4, 1 << 30
    add t4, t4, a4
    addi t5, t5, 1
    blt t5, t6, 3b

    /* direct map: 512 x 1 GiB */
    li t4, 0
    li t5, 0
    li t6, 512
4:  srli a2, t4, 2
    ori a2, a2, PTE_V | PTE_R | PTE_W | PTE_G | PTE_A | PTE_D
    slli a3, t5, 3
    add a3, a3, t2
    sd a2, 0(a3)
    li a4, 1 << 30
    add t4, t4, a4
    addi t5, t5, 1
    blt t5, t6, 4b

    /* kernel: entries 510 and 511 of the last 512 GiB */
    li t4, ELYZ_RAM_BASE
    srli a2, t4, 2
    ori a2, a2, PTE_V | PTE_R | PTE_W | PTE_X | PTE_G | PTE_A | PTE_D
    li a3, 510 * 8
    add a3, a3, t3
    sd a2, 0(a3)
    li a4, 1 << 30
    add t4, t4, a4
    srli a2, t4, 2
    ori a2, a2, PTE_V | PTE_R | PTE_W | PTE_X | PTE_G | PTE_A | PTE_D
    sd a2, 8(a3)

    srli t4, t0, 12
    li t5, SATP_SV48
    or t4, t4, t5
    sfence.vma
    csrw satp, t4
    sfence.vma

    ld t0, high_entry
    jr t0

    .section .boot.data, "aw"
    .balign 8
high_entry:
    .dword elyz_riscv64_high

    .section .boot.bss, "aw", @nobits
    .balign 4096
boot_root:  .skip 4096
boot_low:   .skip 4096
boot_hhdm:  .skip 4096
boot_high:  .skip 4096

    .text
    .balign 4
elyz_riscv64_high:
    lla sp, boot_stack_top
    mv fp, zero
    mv a0, s0
    mv a1, s1
    call elyz_riscv64_boot
5:  wfi
    j 5b

/* Limine's entry: already high, .bss already zero. */
    .balign 4
    .globl elyz_riscv64_limine_entry
elyz_riscv64_limine_entry:
    csrw sie, zero
    csrci sstatus, 2
    lla sp, boot_stack_top
    mv fp, zero
    call elyz_riscv64_limine_boot
6:  wfi
    j 6b
