/* Elyz x86_64 entry points.
 *
 *  - Multiboot2 (GRUB): 32-bit protected mode, paging off,
 *    eax = 0x36d76289, ebx = physical address of the boot information.
 *  - PVH (QEMU -kernel, Xen ELF note 18): 32-bit protected mode, paging
 *    off, ebx = physical address of struct hvm_start_info.
 *  - Limine: 64-bit long mode, higher half, Limine's page tables and stack.
 *
 * The two 32-bit paths build early page tables (identity 0-4 GiB, the
 * same 4 GiB at the HHDM base 0xffff800000000000, and 0xffffffff80000000 ->
 * physical 0-1 GiB), enter long mode, and join the Limine path in the
 * higher half, which calls elyz_x86_64_boot(protocol, info_physical).
 */
#include "boot.h"

#define KERNEL_VMA      0xffffffff80000000
#define PHYS(sym)       ((sym) - KERNEL_VMA)

#define MB2_HEADER_MAGIC        0xe85250d6      /* Multiboot2 spec, 3.1.1 */
#define MB2_BOOTLOADER_MAGIC    0x36d76289
#define MB2_ARCH_I386           0
#define MB2_TAG_END             0
#define MB2_TAG_ENTRY_ADDRESS   3
#define MB2_TAG_FRAMEBUFFER     5

#define XEN_ELFNOTE_PHYS32_ENTRY 18             /* xen/include/public/elfnote.h */

#define CR0_PE          (1 << 0)
#define CR0_WP          (1 << 16)
#define CR0_PG          (1 << 31)
#define CR4_PAE         (1 << 5)
#define MSR_EFER        0xc0000080
#define EFER_LME        (1 << 8)
#define EFER_NXE        (1 << 11)
#define PTE_P_W         0x003
#define PTE_P_W_HUGE    0x083

/* ---------------------------------------------------------- Multiboot2 */
    .section .multiboot2, "a"
    .balign 8
mb2_header:
    .long MB2_HEADER_MAGIC
    .long MB2_ARCH_I386
    .long mb2_header_end - mb2_header
    .long -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    .balign 8
    .short MB2_TAG_ENTRY_ADDRESS, 0
    .long 12
    .long PHYS(elyz_multiboot2_entry)
    .balign 8
    .short MB2_TAG_FRAMEBUFFER, 1       /* optional: text mode is fine too */
    .long 20
    .long 1024, 768, 32
    .balign 8
    .short MB2_TAG_END, 0
    .long 8
mb2_header_end:

/* ---------------------------------------------------------------- PVH */
    .section .note.Xen, "a"
    .balign 4
    .long 4                              /* name size: "Xen\0" */
    .long 4                              /* descriptor size */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .balign 4
    .long PHYS(elyz_pvh_entry)
    .balign 4

/* ------------------------------------------------------- 32-bit entry */
    .section .boot.text, "ax"
    .code32
    .globl elyz_multiboot2_entry
elyz_multiboot2_entry:
    cli
    cmpl $MB2_BOOTLOADER_MAGIC, %eax
    jne no_boot_protocol
    movl $ELYZ_BOOT_MULTIBOOT2, %edi
    movl %ebx, %esi
    jmp enter_long_mode

    .globl elyz_pvh_entry
elyz_pvh_entry:
    cli
    movl $ELYZ_BOOT_PVH, %edi
    movl %ebx, %esi
    jmp enter_long_mode

no_boot_protocol:
    /* Not loaded by a known protocol: say so on COM1 and stop. */
    movl $PHYS(msg_no_protocol), %ebx
    jmp serial_die32

no_long_mode:
    movl $PHYS(msg_no_long_mode), %ebx
serial_die32:
    movw $0x3f8, %dx
1:  movb (%ebx), %al
    testb %al, %al
    jz 2f
    outb %al, %dx
    incl %ebx
    jmp 1b
2:  hlt
    jmp 2b

enter_long_mode:
    movl $PHYS(boot_stack_top), %esp
    /* Long mode available? (CPUID 0x80000001, EDX bit 29) */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    btl $29, %edx
    jnc no_long_mode
    movl %edx, %ebp                      /* bit 20: NX supported */

    /* Four page directories: 2 MiB pages over physical 0-4 GiB. */
    movl $PHYS(early_pd), %ebx
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $21, %eax
    orl $PTE_P_W_HUGE, %eax
    movl %eax, (%ebx, %ecx, 8)
    movl %ecx, %eax
    shrl $11, %eax                       /* high dword: (i << 21) >> 32 */
    movl %eax, 4(%ebx, %ecx, 8)
    incl %ecx
    cmpl $2048, %ecx
    jb 1b
    /* Low PDPT: entries 0-3 -> the four PDs. */
    movl $PHYS(early_pdpt_low), %ebx
    movl $PHYS(early_pd) + PTE_P_W, %eax
    movl %eax, 0(%ebx)
    addl $4096, %eax
    movl %eax, 8(%ebx)
    addl $4096, %eax
    movl %eax, 16(%ebx)
    addl $4096, %eax
    movl %eax, 24(%ebx)
    /* High PDPT: entry 510 (0xffffffff80000000) -> first PD (0-1 GiB). */
    movl $PHYS(early_pdpt_high), %ebx
    movl $PHYS(early_pd) + PTE_P_W, %eax
    movl %eax, 510*8(%ebx)
    /* PML4: 0 (identity), 256 (HHDM), 511 (kernel). */
    movl $PHYS(early_pml4), %ebx
    movl $PHYS(early_pdpt_low) + PTE_P_W, %eax
    movl %eax, 0(%ebx)
    movl %eax, 256*8(%ebx)
    movl $PHYS(early_pdpt_high) + PTE_P_W, %eax
    movl %eax, 511*8(%ebx)

    movl %ebx, %cr3
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    btl $20, %ebp
    jnc 1f
    orl $EFER_NXE, %eax
1:  wrmsr
    movl %cr0, %eax
    orl $(CR0_PG | CR0_PE | CR0_WP), %eax
    movl %eax, %cr0
    lgdt PHYS(early_gdt_pointer)
    ljmp $0x08, $PHYS(long_mode_low)

    .code64
long_mode_low:
    movabsq $long_mode_high, %rax
    jmp *%rax

/* --------------------------------------------------------- early data */
    .section .boot.data, "aw"
    .balign 16
early_gdt:
    .quad 0
    .quad 0x00af9a000000ffff            /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff            /* 0x10: data */
early_gdt_end:
early_gdt_pointer:
    .short early_gdt_end - early_gdt - 1
    .long PHYS(early_gdt)
    .balign 16
early_gdt_pointer64:
    .short early_gdt_end - early_gdt - 1
    .quad early_gdt
msg_no_protocol:
    .asciz "Elyz: not started by Multiboot2, PVH or Limine; stopping.\r\n"
msg_no_long_mode:
    .asciz "Elyz: this CPU has no 64-bit long mode; stopping.\r\n"

    .section .boot.bss, "aw", @nobits
    .balign 4096
early_pml4:         .skip 4096
early_pdpt_low:     .skip 4096
early_pdpt_high:    .skip 4096
early_pd:           .skip 4 * 4096

/* ------------------------------------------------------- 64-bit entry */
    .text
    .code64
long_mode_high:
    lgdt early_gdt_pointer64
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $boot_stack_top, %rsp
    movl %edi, %edi                      /* zero-extend protocol and info */
    movl %esi, %esi
    jmp call_boot

    .globl elyz_limine_entry
elyz_limine_entry:
    cli
    movabsq $boot_stack_top, %rsp
    movl $ELYZ_BOOT_LIMINE, %edi
    xorl %esi, %esi
call_boot:
    xorl %ebp, %ebp
    cld
    call elyz_x86_64_boot
1:  cli
    hlt
    jmp 1b

/* boot_stack_bottom and boot_stack_top: arch/x86_64/stacks.S. */
