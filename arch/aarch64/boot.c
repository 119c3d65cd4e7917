/* Elyz aarch64 boot glue: from boot.S (MMU on, running high) to the RPython
 * kernel.
 *
 * elyz_aarch64_boot(x0) sets the RPython stack bounds and the early bump
 * arena behind malloc, then calls rpy_kmain(PROTOCOL_DEVICETREE, dtb
 * physical address, hhdm offset of boot.S's direct map).  For an ELF
 * kernel QEMU passes no pointer (x0 = 0) and puts the tree at the start of
 * RAM.  elyz_fatal prints on the PL011 (through the early direct map, where
 * the first GiB is device memory) and, when the kernel asked for it
 * (elyz.exit), leaves QEMU through semihosting with status 2.
 *
 * elyz_aarch64_limine_boot() is the same for Limine (boot.S's Limine
 * entry): rpy_kmain(PROTOCOL_LIMINE, the request table, ELYZ_EARLY_HHDM),
 * after making Limine's HHDM visible at ELYZ_EARLY_HHDM as well (below).
 */
#include <stddef.h>
#include <stdint.h>
#include "boot.h"
#include "elyz_cpu.h"
#include "elyz_runtime.h"

extern char boot_stack_bottom[], boot_stack_top[];
extern long rpy_kmain(long protocol, long info, long hhdm_offset);
extern long elyz_limine_request_table_address(void);
extern uint64_t elyz_limine_hhdm_offset(void);

static char early_heap[ELYZ_EARLY_HEAP_SIZE] __attribute__((aligned(4096)));

long elyz_exit_on_panic;
#define EXIT_PANIC 2                    /* elyz/kernel/qemu.py EXIT_PANIC */
#define PL011_DR 0x00
#define PL011_FR 0x18
#define PL011_FR_TXFF (1 << 5)

static void console_putc(char c)
{
    volatile uint32_t *uart = (volatile uint32_t *)(ELYZ_EARLY_HHDM + ELYZ_VIRT_UART0);
    for (int spins = 0; spins < 100000 && (uart[PL011_FR / 4] & PL011_FR_TXFF); spins++)
        ;
    uart[PL011_DR / 4] = (unsigned char)c;
}

static void console_puts(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n') console_putc('\r');
        console_putc(*s);
    }
}

void elyz_halt_forever(void)
{
    for (;;) __asm__ volatile("msr daifset, #2; wfi");
}

void elyz_fatal(const char *msg)
{
    console_puts("PANIC: ");
    console_puts(msg);
    console_puts("\n");
    if (elyz_exit_on_panic)
        elyz_a64_semihosting_exit(EXIT_PANIC);
    elyz_halt_forever();
    __builtin_unreachable();
}

size_t elyz_early_heap_size(void) { return sizeof early_heap; }
long elyz_early_heap_address(void) { return (long)early_heap; }

void elyz_aarch64_boot(long x0)
{
    long dtb = x0 ? x0 : ELYZ_VIRT_DTB;
    elyz_stack_bounds(boot_stack_bottom, boot_stack_top, ELYZ_STACK_CHECK_RESERVE);
    elyz_bump_init(early_heap, sizeof early_heap);
    rpy_kmain(ELYZ_BOOT_DEVICETREE, dtb, (long)ELYZ_EARLY_HHDM);
    console_puts("Elyz: kernel returned; halting.\n");
    elyz_halt_forever();
}

/* Limine's aarch64 HHDM is 0xffff000000000000: TTBR1 root entry 0.  The
 * kernel keeps one root table in both TTBRs and owns only entries
 * 256..511 of it (address spaces share those; 0..255 are a process's
 * own), so its direct map must start at 0xffff800000000000, entry 256, as
 * on the direct boot.  Copying Limine's HHDM entry into entry 256 of
 * Limine's TTBR1 root (unused there: the kernel is in 511) shows the same
 * memory, with the same attributes, at ELYZ_EARLY_HHDM too, so the kernel
 * can use its own direct map from the start: elyz/kernel/boot.py moves
 * the framebuffer and module addresses there.  One entry covers 512 GiB,
 * more than Limine's HHDM spans on this machine. */
#define TTBR_BADDR_MASK 0x0000fffffffffffeULL
#define ROOT_INDEX(va)  (((uint64_t)(va) >> 39) & 511)
#define ROOT_SPAN_MASK  ((1ULL << 39) - 1)

static void alias_limine_hhdm(uint64_t limine_hhdm)
{
    uint64_t ttbr1;
    __asm__ volatile("mrs %0, ttbr1_el1" : "=r"(ttbr1));
    volatile uint64_t *root = (volatile uint64_t *)((ttbr1 & TTBR_BADDR_MASK) + limine_hhdm);
    root[ROOT_INDEX(ELYZ_EARLY_HHDM)] = root[ROOT_INDEX(limine_hhdm)];
    __asm__ volatile("dsb ishst; tlbi vmalle1; dsb ish; isb" ::: "memory");
}

void elyz_aarch64_limine_boot(void)
{
    uint64_t limine_hhdm = elyz_limine_hhdm_offset();
    long hhdm = 0;                      /* no HHDM answer: the kernel says so */
    /* A root entry spans 512 GiB: only an HHDM on such a boundary (not a
     * randomised one) aliases entry for entry. */
    if (limine_hhdm != 0 && (limine_hhdm & ROOT_SPAN_MASK) == 0
            && ROOT_INDEX(limine_hhdm) != ROOT_INDEX(ELYZ_EARLY_HHDM)) {
        alias_limine_hhdm(limine_hhdm);
        hhdm = (long)ELYZ_EARLY_HHDM;
    }
    elyz_stack_bounds(boot_stack_bottom, boot_stack_top, ELYZ_STACK_CHECK_RESERVE);
    elyz_bump_init(early_heap, sizeof early_heap);
    rpy_kmain(ELYZ_BOOT_LIMINE, elyz_limine_request_table_address(), hhdm);
    console_puts("Elyz: kernel returned; halting.\n");
    elyz_halt_forever();
}

void elyz_debug_putc(char c)
{
    if (c == '\n') console_putc('\r');
    console_putc(c);
}
