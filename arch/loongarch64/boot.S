/* Elyz loongarch64 entry: QEMU virt, -kernel (no firmware).
 *
 * QEMU 7.2 starts _start at its physical address in direct-address mode
 * (CRMD.DA = 1, PG = 0), with every general register 0 and the device
 * tree at physical 0x100000 (boot.h ELYZ_FDT_PHYS).  _start runs there:
 * la.pcrel yields physical addresses.  It clears .bss and builds early
 * page tables in the format the TLB refill handler walks
 * (elyz/mm/pte/loongarch64.py: a directory entry is the next table's
 * physical address; a leaf in a level-2 directory maps 2 MiB):
 *
 *   root[256] -> the direct map: physical 0 .. 4 GiB at 0xffff800000000000
 *                in 2 MiB pages (RW, global; cached RAM below 256 MiB and
 *                from 0x90000000, uncached device space between);
 *   root[511] -> the kernel: 0xffffffff80000000 -> physical 0, 1 GiB (RWX).
 *
 * It programs the walker (PWCL/PWCH, 4 KiB pages), TLBRENTRY (the refill
 * handler of trap.S, by physical address), PGDL = PGDH = the root, and the
 * window DMW1 (0x9000... -> physical, cached, PLV0).  It then jumps to the
 * DMW1 alias of itself (in direct-address mode the upper bits are
 * ignored), turns paging on (CRMD.PG = 1, DA = 0) and jumps to the linked
 * (high) address through the page tables, takes the boot stack and calls
 * elyz_loongarch64_boot(dtb physical).  The kernel replaces these tables
 * with its own (per-section permissions) in elyz/mm/kernel_space.py.
 */
#include "boot.h"

#define TABLE_BYTES 4096

    .section .boot.text, "ax"
    .globl _start
_start:
    csrwr $zero, CSR_ECFG               /* no interrupt sources, VS = 0 */
    li.w $t0, CRMD_IE
    csrxchg $zero, $t0, CSR_CRMD        /* interrupts off */

    /* .bss and the early tables (physical addresses) */
    la.pcrel $t0, elyz_bss_start
    la.pcrel $t1, elyz_bss_end
1:  bgeu $t0, $t1, 2f
    st.d $zero, $t0, 0
    addi.d $t0, $t0, 8
    b 1b
2:  la.pcrel $t0, boot_tables_start
    la.pcrel $t1, boot_tables_end
3:  bgeu $t0, $t1, 4f
    st.d $zero, $t0, 0
    addi.d $t0, $t0, 8
    b 3b
4:
    la.pcrel $s0, boot_root
    la.pcrel $s1, boot_hhdm_pud
    la.pcrel $s2, boot_hhdm_pmd
    la.pcrel $s3, boot_kernel_pud
    la.pcrel $s4, boot_kernel_pmd
    /* root[256] -> hhdm pud, root[511] -> kernel pud */
    li.d $t0, 256 * 8
    stx.d $s1, $s0, $t0
    li.d $t0, 511 * 8
    stx.d $s3, $s0, $t0
    /* hhdm pud[i] -> hhdm pmd i, for the first ELYZ_EARLY_MAP_GIB GiB */
    move $t0, $s2
    move $t1, $s1
    li.w $t2, ELYZ_EARLY_MAP_GIB
    li.d $t3, TABLE_BYTES
5:  st.d $t0, $t1, 0
    add.d $t0, $t0, $t3
    addi.d $t1, $t1, 8
    addi.w $t2, $t2, -1
    bnez $t2, 5b
    /* the hhdm pmds: 2 MiB leaves for physical 0 .. 4 GiB */
    move $t0, $zero                     /* physical address */
    move $t1, $s2                       /* entry */
    li.w $t2, ELYZ_EARLY_MAP_GIB * 512
    li.d $t3, 0x10000000                /* device space: 256 MiB .. 0x90000000 */
    li.d $t4, 0x90000000
    li.d $t5, 1 << 21
    li.d $t7, HUGE_RAM_BITS
    li.d $t8, HUGE_MMIO_BITS
6:  or $t6, $t0, $t7
    bltu $t0, $t3, 7f
    bgeu $t0, $t4, 7f
    or $t6, $t0, $t8
7:  st.d $t6, $t1, 0
    add.d $t0, $t0, $t5
    addi.d $t1, $t1, 8
    addi.w $t2, $t2, -1
    bnez $t2, 6b
    /* kernel pud[510] -> kernel pmd: physical 0 .. 1 GiB, cached */
    li.d $t0, 510 * 8
    stx.d $s4, $s3, $t0
    move $t0, $zero
    move $t1, $s4
    li.w $t2, 512
8:  or $t6, $t0, $t7
    st.d $t6, $t1, 0
    add.d $t0, $t0, $t5
    addi.d $t1, $t1, 8
    addi.w $t2, $t2, -1
    bnez $t2, 8b

    /* the walker, the refill handler, the roots */
    li.d $t0, PWCL_VALUE
    csrwr $t0, CSR_PWCL
    li.d $t0, PWCH_VALUE
    csrwr $t0, CSR_PWCH
    li.w $t0, PAGE_SHIFT
    csrwr $t0, CSR_STLBPS
    li.w $t0, PAGE_SHIFT
    csrwr $t0, CSR_TLBREHI
    la.pcrel $t0, elyz_loongarch64_tlb_refill
    csrwr $t0, CSR_TLBRENTRY
    csrwr $zero, CSR_ASID
    move $t0, $s0
    csrwr $t0, CSR_PGDL
    move $t0, $s0
    csrwr $t0, CSR_PGDH
    invtlb 0, $zero, $zero
    li.d $t0, ELYZ_DMW1_VALUE
    csrwr $t0, CSR_DMW1

    /* continue in the DMW1 window, then turn paging on */
    la.pcrel $t0, 9f
    li.d $t1, ELYZ_DMW_CACHED
    or $t0, $t0, $t1
    jirl $zero, $t0, 0
9:  li.w $t0, CRMD_PAGING
    csrwr $t0, CSR_CRMD
    la.pcrel $t0, high_entry
    li.d $t1, ELYZ_DMW_CACHED
    or $t0, $t0, $t1
    ld.d $t0, $t0, 0
    jirl $zero, $t0, 0

    .section .boot.data, "aw"
    .balign 8
high_entry:
    .dword elyz_loongarch64_high

    .section .boot.bss, "aw", @nobits
    .balign 4096
boot_tables_start:
boot_root:          .skip TABLE_BYTES
boot_hhdm_pud:      .skip TABLE_BYTES
boot_hhdm_pmd:      .skip TABLE_BYTES * ELYZ_EARLY_MAP_GIB
boot_kernel_pud:    .skip TABLE_BYTES
boot_kernel_pmd:    .skip TABLE_BYTES
boot_tables_end:

    .text
    .balign 4
elyz_loongarch64_high:
    la.pcrel $sp, boot_stack_top
    move $fp, $zero
    li.d $a0, ELYZ_FDT_PHYS
    bl elyz_loongarch64_boot
10: idle 0
    b 10b
