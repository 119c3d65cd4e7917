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
 */
#include <stddef.h>
#include <stdint.h>
#include "boot.h"
#include "elyz_cpu.h"
#include "elyz_runtime.h"

extern char boot_stack_bottom[], boot_stack_top[];
extern long rpy_kmain(long protocol, long info, long hhdm_offset);

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

void elyz_debug_putc(char c)
{
    if (c == '\n') console_putc('\r');
    console_putc(c);
}
