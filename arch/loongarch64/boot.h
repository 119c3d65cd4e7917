/* Constants shared by the loongarch64 boot stubs (assembly and C). */
#ifndef ELYZ_LOONGARCH64_BOOT_H
#define ELYZ_LOONGARCH64_BOOT_H

/* Boot protocols: the same numbers as elyz/boot/bootinfo.py PROTOCOL_*. */
#define ELYZ_BOOT_DEVICETREE    4

#define ELYZ_BOOT_STACK_SIZE    (64 * 1024)
#define ELYZ_STACK_GUARD_SIZE   16384   /* linker.ld BLOCK: see stacks.S */
#define ELYZ_STACK_CHECK_RESERVE (8 * 1024)
/* The early direct map boot.S builds (elyz/boot/layout.py EARLY_HHDM),
 * covering physical 0 .. ELYZ_EARLY_MAP_SIZE in 2 MiB pages. */
#define ELYZ_EARLY_HHDM         0xffff800000000000
#define ELYZ_EARLY_MAP_GIB      4
#define ELYZ_EARLY_HEAP_SIZE    (1024 * 1024)
/* Where the kernel is linked and loaded (linker.ld, elyz/boot/layout.py):
 * virtual ELYZ_KERNEL_VMA + x is physical x, for the first GiB. */
#define ELYZ_KERNEL_VMA         0xffffffff80000000
/* The direct-mapped configuration window DMW1 (cached, PLV0 only):
 * virtual ELYZ_DMW_CACHED | p is physical p.  boot.S runs there while it
 * turns paging on; the page-fault path of trap.S reads page tables there. */
#define ELYZ_DMW_CACHED         0x9000000000000000
#define ELYZ_DMW1_VALUE         0x9000000000000011  /* VSEG 9, MAT 1 (CC), PLV0 */

/* QEMU 7.2 virt (hw/loongarch/virt.c): what the C boot code reaches
 * before the kernel has read the device tree. */
#define ELYZ_FDT_PHYS           0x100000        /* the DTB QEMU places at 1 MiB */
#define ELYZ_VIRT_UART0         0x1fe001e0      /* ns16550a */
#define ELYZ_VIRT_FW_CFG        0x1e020000      /* qemu,fw-cfg-mmio */
#define ELYZ_VIRT_GED_REG       0x100e001c      /* ACPI GED sleep/reset registers */
#define ELYZ_GED_SLEEP_S5       0x34            /* SLP_TYP 5 << 2 | SLP_EN: power off */

/* CSR numbers (LoongArch Reference Manual vol. 1, ch. 7). */
#define CSR_CRMD        0x0
#define CSR_PRMD        0x1
#define CSR_EUEN        0x2
#define CSR_ECFG        0x4
#define CSR_ESTAT       0x5
#define CSR_ERA         0x6
#define CSR_BADV        0x7
#define CSR_EENTRY      0xc
#define CSR_TLBIDX      0x10
#define CSR_TLBEHI      0x11
#define CSR_ASID        0x18
#define CSR_PGDL        0x19
#define CSR_PGDH        0x1a
#define CSR_PGD         0x1b
#define CSR_PWCL        0x1c
#define CSR_PWCH        0x1d
#define CSR_STLBPS      0x1e
#define CSR_SAVE0       0x30
#define CSR_SAVE1       0x31
#define CSR_SAVE2       0x32
#define CSR_SAVE3       0x33
#define CSR_TCFG        0x41
#define CSR_TICLR       0x44
#define CSR_TLBRENTRY   0x88
#define CSR_TLBRSAVE    0x8b
#define CSR_TLBREHI     0x8e
#define CSR_DMW0        0x180
#define CSR_DMW1        0x181

#define CRMD_IE         0x4
/* Paging on: PG, and DATF = DATM = 1 (coherent cached) as the manual asks. */
#define CRMD_PAGING     0xb0
#define ESTAT_ECODE_SHIFT 16

/* The page-table walker (elyz/mm/pte/loongarch64.py PWCL_VALUE, PWCH_VALUE):
 * 4 KiB pages, four levels of 9 bits: PT at 12, dir 1 at 21, dir 2 at 30,
 * dir 3 at 39. */
#define PWCL_VALUE      (12 | 9 << 5 | 21 << 10 | 9 << 15 | 30 << 20 | 9 << 25)
#define PWCH_VALUE      (39 | 9 << 6)
#define PAGE_SHIFT      12

/* A 2 MiB leaf in a level-2 directory (pte/loongarch64.py): V D MAT HUGE P W HGLOBAL. */
#define HUGE_RAM_BITS   0x11d3          /* MAT 1: coherent cached */
#define HUGE_MMIO_BITS  0x11c3          /* MAT 0: strongly-ordered uncached */

/* The trap frame (trap.S, elyz/rlib_kernel/portframe.py): r0..r31 by
 * number (r0's slot 0, r3 = the trapped sp), then ERA, PRMD, ESTAT, BADV. */
#define FRAME_PC        (32 * 8)
#define FRAME_STATUS    (33 * 8)
#define FRAME_CAUSE     (34 * 8)
#define FRAME_FAULT     (35 * 8)
#define FRAME_SIZE      (36 * 8)

#endif
