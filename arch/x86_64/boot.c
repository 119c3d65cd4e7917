/* Elyz x86_64 boot glue: from the assembly entry (any protocol) to the
 * RPython kernel.
 *
 * elyz_x86_64_boot(protocol, info_physical) sets the RPython stack bounds
 * (the boot stack of stacks.S)
 * and the early bump arena behind malloc, then calls the exported RPython
 * entry point rpy_kmain(protocol, info, hhdm_offset):
 *   Multiboot2 / PVH: info = physical address of the boot information,
 *                     hhdm_offset = the early direct map built in boot.S;
 *   Limine:           info = virtual address of elyz_limine_request_table,
 *                     hhdm_offset = 0 (the kernel reads Limine's response).
 */
#include <stddef.h>
#include <stdint.h>
#include "boot.h"
#include "elyz_runtime.h"

extern char boot_stack_bottom[], boot_stack_top[];
extern long rpy_kmain(long protocol, long info, long hhdm_offset);
extern long elyz_limine_request_table_address(void);

/* The bump arena behind malloc until the kernel heap exists (runtime.c). */
static char early_heap[ELYZ_EARLY_HEAP_SIZE] __attribute__((aligned(4096)));

/* Set by the kernel from its command line (elyz.exit): panics then leave
 * QEMU through isa-debug-exit with status 5, as RPython panics do
 * (elyz/kernel/qemu.py EXIT_PANIC). */
long elyz_exit_on_panic;
#define DEBUG_EXIT_PORT         0xf4
#define DEBUG_EXIT_PANIC        2       /* QEMU exits with (2 << 1) | 1 = 5 */

static inline void outb(uint16_t port, uint8_t v)
{ __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{ uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void serial_putc(char c)
{
    for (int spins = 0; spins < 100000 && !(inb(0x3f8 + 5) & 0x20); spins++)
        ;
    outb(0x3f8, (uint8_t)c);
}

static void serial_puts(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n') serial_putc('\r');
        serial_putc(*s);
    }
}

void elyz_halt_forever(void)
{
    for (;;) __asm__ volatile("cli; hlt");
}

/* Runtime hook: the last resort for errors below the RPython kernel
 * (abort(), failed C assert, unsupported realloc). Prints to COM1. */
void elyz_fatal(const char *msg)
{
    serial_puts("PANIC: ");
    serial_puts(msg);
    serial_puts("\n");
    if (elyz_exit_on_panic) outb(DEBUG_EXIT_PORT, DEBUG_EXIT_PANIC);
    elyz_halt_forever();
    __builtin_unreachable();
}

size_t elyz_early_heap_size(void) { return sizeof early_heap; }
long elyz_early_heap_address(void) { return (long)early_heap; }

void elyz_x86_64_boot(unsigned long protocol, unsigned long info)
{
    long hhdm = (long)ELYZ_EARLY_HHDM;
    elyz_stack_bounds(boot_stack_bottom, boot_stack_top, ELYZ_STACK_CHECK_RESERVE);
    elyz_bump_init(early_heap, sizeof early_heap);
    if (protocol == ELYZ_BOOT_LIMINE) {
        info = (unsigned long)elyz_limine_request_table_address();
        hhdm = 0;
    }
    rpy_kmain((long)protocol, (long)info, hhdm);
    serial_puts("Elyz: kernel returned; halting.\n");
    elyz_halt_forever();
}

/* Runtime hook: RPython's own diagnostics (tracebacks, fatal errors). */
void elyz_debug_putc(char c)
{
    if (c == '\n') serial_putc('\r');
    serial_putc(c);
}
