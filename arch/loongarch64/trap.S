/* Elyz loongarch64 exception entry (EENTRY, ECFG.VS = 0: one entry for
 * every exception and interrupt) and the TLB refill handler (TLBRENTRY).
 *
 * The entry saves the one trap frame (boot.h FRAME_*; the layout of
 * elyz/rlib_kernel/portframe.py: r0..r31, ERA, PRMD, ESTAT, BADV) on the
 * current stack, calls rpy_trap(frame), and returns with ertn to the
 * (possibly changed) ERA, PRMD and registers.  The kernel runs no user
 * code on this port yet, so a trap always comes from PLV0 on a kernel stack.
 *
 * One case is handled here before the frame: a page-invalid exception
 * (PIL, PIS, PIF) whose page *is* mapped now.  TLB entries come in
 * even/odd pairs and the refill handler installs both halves, so a page
 * that was absent when its neighbour was refilled sits in the TLB as an
 * invalid half after the kernel maps it (x86-style page-table code does
 * not flush on map).  The entry walks the tables of BADV (through the
 * direct map at ELYZ_EARLY_HHDM: a TLB miss there nests a refill, which has
 * its own save registers; formerly through DMW1,
 * physical addresses); when the leaf is valid it drops the stale pair
 * (invtlb) and retries the access, otherwise the fault goes to the kernel.
 * This is what Linux's handle_tlb_load/store do, without the rewrite.
 */
#include "boot.h"

#define ECODE_PIL 1
#define ECODE_PIF 3
#define HUGE_BIT 0x40

    .text
    .balign 4096
    .globl elyz_loongarch64_trap_entry
elyz_loongarch64_trap_entry:
    csrwr $t0, CSR_SAVE0
    csrrd $t0, CSR_ESTAT
    bstrpick.d $t0, $t0, 21, 16
    addi.d $t0, $t0, -ECODE_PIL
    sltui $t0, $t0, ECODE_PIF - ECODE_PIL + 1
    bnez $t0, .Lpage_invalid
.Lsave_frame:
    csrrd $t0, CSR_SAVE0
    addi.d $sp, $sp, -FRAME_SIZE
    st.d $zero, $sp, 0
    st.d $r1, $sp, 1 * 8
    st.d $r2, $sp, 2 * 8
    .irp n, 4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    st.d $r\n, $sp, \n * 8
    .endr
    addi.d $t0, $sp, FRAME_SIZE
    st.d $t0, $sp, 3 * 8
    csrrd $t0, CSR_ERA
    st.d $t0, $sp, FRAME_PC
    csrrd $t0, CSR_PRMD
    st.d $t0, $sp, FRAME_STATUS
    csrrd $t0, CSR_ESTAT
    st.d $t0, $sp, FRAME_CAUSE
    csrrd $t0, CSR_BADV
    st.d $t0, $sp, FRAME_FAULT
    move $a0, $sp
    bl rpy_trap
    ld.d $t0, $sp, FRAME_PC
    csrwr $t0, CSR_ERA
    ld.d $t0, $sp, FRAME_STATUS
    csrwr $t0, CSR_PRMD
    ld.d $r1, $sp, 1 * 8
    ld.d $r2, $sp, 2 * 8
    .irp n, 4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld.d $r\n, $sp, \n * 8
    .endr
    addi.d $sp, $sp, FRAME_SIZE
    ertn

    /* PIL/PIS/PIF: t0 is in SAVE0; t1..t3 go to SAVE1..3. */
.Lpage_invalid:
    csrwr $t1, CSR_SAVE1
    csrwr $t2, CSR_SAVE2
    csrwr $t3, CSR_SAVE3
    csrrd $t0, CSR_PGD                  /* PGDL or PGDH, by BADV's top bit */
    csrrd $t1, CSR_BADV
    li.d $t2, ELYZ_EARLY_HHDM           /* tables are RAM: read them through the direct map */
    or $t0, $t0, $t2
    bstrpick.d $t3, $t1, 47, 39
    alsl.d $t0, $t3, $t0, 3
    ld.d $t0, $t0, 0                    /* level 3 directory */
    beqz $t0, .Lpi_fault
    or $t0, $t0, $t2
    bstrpick.d $t3, $t1, 38, 30
    alsl.d $t0, $t3, $t0, 3
    ld.d $t0, $t0, 0                    /* level 2 directory, or a 1 GiB leaf */
    beqz $t0, .Lpi_fault
    andi $t3, $t0, HUGE_BIT
    bnez $t3, .Lpi_leaf
    or $t0, $t0, $t2
    bstrpick.d $t3, $t1, 29, 21
    alsl.d $t0, $t3, $t0, 3
    ld.d $t0, $t0, 0                    /* page table, or a 2 MiB leaf */
    beqz $t0, .Lpi_fault
    andi $t3, $t0, HUGE_BIT
    bnez $t3, .Lpi_leaf
    or $t0, $t0, $t2
    bstrpick.d $t3, $t1, 20, 12
    alsl.d $t0, $t3, $t0, 3
    ld.d $t0, $t0, 0                    /* 4 KiB leaf */
.Lpi_leaf:
    andi $t0, $t0, 1                    /* V */
    beqz $t0, .Lpi_fault
    invtlb 6, $zero, $t1                /* the stale pair of BADV */
    csrrd $t0, CSR_SAVE0
    csrrd $t1, CSR_SAVE1
    csrrd $t2, CSR_SAVE2
    csrrd $t3, CSR_SAVE3
    ertn
.Lpi_fault:
    csrrd $t1, CSR_SAVE1
    csrrd $t2, CSR_SAVE2
    csrrd $t3, CSR_SAVE3
    b .Lsave_frame

    .globl elyz_init_traps
elyz_init_traps:
    la.pcrel $t0, elyz_loongarch64_trap_entry
    csrwr $t0, CSR_EENTRY
    jr $ra

/* The TLB refill handler (TLBRENTRY holds its physical address; it runs
 * in direct-address mode).  Linux's handle_tlb_refill for four levels:
 * lddir follows the directory entries (physical addresses) of
 * TLBRBADV from the root CSR.PGD selects, ldpte loads the even and odd
 * leaves of the pair, tlbfill writes the entry.  A 2 MiB leaf stops the
 * lddir chain and ldpte splits it into two 1 MiB halves (QEMU 7.2's ldpte
 * splits every huge entry so, which is wrong for a 1 GiB leaf in a level-3
 * directory: paging.map_range makes none).  An absent entry
 * (0) makes the next level read physical frame 0, which stays all zero
 * (the PMM never hands out the first MiB; boot.c clears frame 0): the
 * pair is filled invalid, and the access raises PIL/PIS/PIF. */
    .balign 4096
    .globl elyz_loongarch64_tlb_refill
elyz_loongarch64_tlb_refill:
    csrwr $t0, CSR_TLBRSAVE
    csrrd $t0, CSR_PGD
    lddir $t0, $t0, 3
    lddir $t0, $t0, 2
    lddir $t0, $t0, 1
    ldpte $t0, 0
    ldpte $t0, 1
    tlbfill
    csrrd $t0, CSR_TLBRSAVE
    ertn
