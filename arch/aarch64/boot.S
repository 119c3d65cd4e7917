/* Elyz aarch64 entry: QEMU virt, -kernel (an ELF), cortex-a72.
 *
 * QEMU enters _start at EL1 with the MMU and caches off, at its physical
 * address (adr/adrp are pc-relative, so they yield physical addresses
 * here), and puts the device tree at the start of RAM (x0 is 0 for an
 * ELF).  _start clears .bss, programs MAIR_EL1 and TCR_EL1 (4 KiB granule,
 * 47-bit user and 48-bit kernel addresses), builds one early root table used
 * through both TTBR0_EL1 and TTBR1_EL1, and turns the MMU on:
 *
 *   root[0]   -> identity map of 0..4 GiB in 1 GiB blocks (0..1 GiB device
 *                memory, the rest normal), only so that the instructions
 *                after the MMU switch can be fetched;
 *   root[256] -> the direct map: 512 GiB at 0xffff800000000000 (the first
 *                GiB, where QEMU virt's devices are, as device nGnRE);
 *   root[511] -> the kernel: 0xffffffff80000000 -> 0x40000000, 2 GiB.
 *
 * It then jumps to the linked (high) address, takes the boot stack and
 * calls elyz_aarch64_boot(dtb physical).  The kernel replaces these tables
 * with its own (elyz/mm/kernel_space.py), whose format elyz/mm/pte/aarch64.py
 * draws; MAIR_EL1 indexes: 0 normal write-back, 1 device nGnRE, 2 normal
 * non-cacheable.
 *
 * Limine (UEFI, through its entry point request) enters
 * elyz_aarch64_limine_entry instead: EL1, MMU on with Limine's tables (the
 * kernel at its linked addresses, Limine's HHDM), interrupts masked, a
 * Limine stack on SP_EL0.  It takes the boot stack and calls
 * elyz_aarch64_limine_boot() (boot.c).
 */
#include "boot.h"

#define MAIR_VALUE      0x4404ff
/* T0SZ = 17: TTBR0 translates the 128 TiB user half only, so a TTBR0 walk
 * never indexes the kernel's root entries 256..511 (an address with bit 47
 * set and bits 63..48 clear faults, as on x86_64 and Sv48); T1SZ = 16: the
 * upper 256 TiB through TTBR1, the same root table.  Inner/outer
 * write-back, inner shareable, TG0 = 4 KiB, TG1 = 4 KiB; IPS from
 * ID_AA64MMFR0_EL1 below. */
#define TCR_VALUE       ((17 << 0) | (1 << 8) | (1 << 10) | (3 << 12) | (0 << 14) | \
                         (16 << 16) | (1 << 24) | (1 << 26) | (3 << 28) | (2 << 30))
#define DESC_TABLE      0x3
/* block: valid, AF, inner shareable, EL1 read-write; AttrIndx in bits 4:2 */
#define BLOCK_NORMAL    (0x1 | (1 << 10) | (3 << 8) | (0 << 2))
#define BLOCK_DEVICE    (0x1 | (1 << 10) | (1 << 2))
#define BLOCK_XN_HI     0x60            /* UXN | PXN, bits 54 and 53, as bits 63:48 >> 48 */
#define SCTLR_M         (1 << 0)
#define SCTLR_A         (1 << 1)
#define SCTLR_C         (1 << 2)
#define SCTLR_I         (1 << 12)

    .section .boot.text, "ax"
    .globl _start
_start:
    msr daifset, #0xf
    mov x19, x0

    /* .bss at its physical address */
    adrp x0, elyz_bss_start
    add x0, x0, :lo12:elyz_bss_start
    adrp x1, elyz_bss_end
    add x1, x1, :lo12:elyz_bss_end
1:  cmp x0, x1
    b.hs 2f
    str xzr, [x0], #8
    b 1b
2:
    adrp x0, boot_root
    adrp x1, boot_low
    adrp x2, boot_hhdm
    adrp x3, boot_high
    orr x4, x1, #DESC_TABLE
    str x4, [x0]
    orr x4, x2, #DESC_TABLE
    str x4, [x0, #256 * 8]
    orr x4, x3, #DESC_TABLE
    str x4, [x0, #511 * 8]

    /* identity 0..4 GiB: [0] device, [1..3] normal */
    mov x4, #BLOCK_DEVICE
    movk x4, #BLOCK_XN_HI, lsl #48
    str x4, [x1]
    mov x5, #1
3:  lsl x4, x5, #30
    mov x6, #BLOCK_NORMAL
    orr x4, x4, x6
    str x4, [x1, x5, lsl #3]
    add x5, x5, #1
    cmp x5, #4
    b.lo 3b

    /* direct map: [0] device, then 511 GiB normal, never executable */
    mov x4, #BLOCK_DEVICE
    movk x4, #BLOCK_XN_HI, lsl #48
    str x4, [x2]
    mov x5, #1
4:  lsl x4, x5, #30
    mov x6, #BLOCK_NORMAL
    orr x4, x4, x6
    movk x4, #BLOCK_XN_HI, lsl #48
    str x4, [x2, x5, lsl #3]
    add x5, x5, #1
    cmp x5, #512
    b.lo 4b

    /* kernel: [510] -> 0x40000000, [511] -> 0x80000000 */
    mov x4, #ELYZ_RAM_BASE
    mov x6, #BLOCK_NORMAL
    orr x4, x4, x6
    str x4, [x3, #510 * 8]
    mov x4, #0x80000000
    orr x4, x4, x6
    str x4, [x3, #511 * 8]

    ldr x4, =MAIR_VALUE
    msr mair_el1, x4
    ldr x4, =TCR_VALUE
    mrs x5, id_aa64mmfr0_el1
    and x5, x5, #0x7                    /* PARange -> IPS */
    orr x4, x4, x5, lsl #32
    msr tcr_el1, x4
    msr ttbr0_el1, x0
    msr ttbr1_el1, x0
    dsb ish
    isb
    tlbi vmalle1
    dsb ish
    isb
    mrs x4, sctlr_el1
    orr x4, x4, #SCTLR_M
    orr x4, x4, #SCTLR_C
    orr x4, x4, #SCTLR_I
    bic x4, x4, #SCTLR_A
    msr sctlr_el1, x4
    isb

    ldr x0, =elyz_aarch64_high
    br x0
    .ltorg

    .section .boot.bss, "aw", @nobits
    .balign 4096
boot_root:  .skip 4096
boot_low:   .skip 4096
boot_hhdm:  .skip 4096
boot_high:  .skip 4096

    .text
    .balign 4
elyz_aarch64_high:
    adrp x0, boot_stack_top
    add x0, x0, :lo12:boot_stack_top
    mov sp, x0
    mov x29, #0
    mov x30, #0
    mov x0, x19
    bl elyz_aarch64_boot
5:  wfi
    b 5b

/* Limine's entry: already high, .bss already zero (Limine clears what the
 * segments do not load). */
    .balign 4
    .globl elyz_aarch64_limine_entry
elyz_aarch64_limine_entry:
    msr daifset, #0xf
    /* Limine enters on SP_EL0 (SPSel = 0); the kernel runs on SP_EL1,
     * the stack trap.S's "current EL with SP_ELx" vectors save frames on. */
    msr spsel, #1
    ldr x0, =boot_stack_top
    mov sp, x0
    mov x29, #0
    mov x30, #0
    bl elyz_aarch64_limine_boot
6:  wfi
    b 6b
    .ltorg
