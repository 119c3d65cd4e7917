/* Constants shared by the riscv64 boot stubs (assembly and C). */
#ifndef ELYZ_RISCV64_BOOT_H
#define ELYZ_RISCV64_BOOT_H

/* Boot protocols: the same numbers as elyz/boot/bootinfo.py PROTOCOL_*. */
#define ELYZ_BOOT_LIMINE        1
#define ELYZ_BOOT_DEVICETREE    4

/* Where Limine enters (its entry point request, arch/common/kernel/
 * limine_requests.c): the ELF's own entry is the physical one for -kernel. */
#define ELYZ_LIMINE_ENTRY       elyz_riscv64_limine_entry

#define ELYZ_BOOT_STACK_SIZE    (64 * 1024)
#define ELYZ_STACK_GUARD_SIZE   4096
#define ELYZ_STACK_CHECK_RESERVE (8 * 1024)
/* The early direct map boot.S builds (elyz/boot/layout.py HHDM_BASE). */
#define ELYZ_EARLY_HHDM         0xffff800000000000
#define ELYZ_EARLY_HEAP_SIZE    (1024 * 1024)
/* Where the kernel is linked and loaded (linker.ld, elyz/boot/layout.py). */
#define ELYZ_KERNEL_VMA         0xffffffff80000000
#define ELYZ_RAM_BASE           0x80000000
/* QEMU virt devices the C fatal path uses before the kernel knows the DTB. */
#define ELYZ_VIRT_TEST_DEVICE   0x100000        /* sifive,test0: exit QEMU */
#define ELYZ_VIRT_UART0         0x10000000      /* ns16550a */

/* The trap frame (trap.S, elyz/rlib_kernel/portframe.py): x0..x31 by
 * number (x0's slot unused, x2 = the trapped sp), then sepc, sstatus,
 * scause, stval. */
#define FRAME_PC        (32 * 8)
#define FRAME_STATUS    (33 * 8)
#define FRAME_CAUSE     (34 * 8)
#define FRAME_FAULT     (35 * 8)
#define FRAME_SIZE      (36 * 8)

#endif
