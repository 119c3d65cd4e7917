/* Elyz riscv64 boot glue: from boot.S (paging on, running high) to the
 * RPython kernel.
 *
 * elyz_riscv64_boot(hart, dtb) sets the RPython stack bounds and the early
 * bump arena behind malloc, then calls rpy_kmain(PROTOCOL_DEVICETREE,
 * dtb physical address, hhdm offset of boot.S's direct map).
 * elyz_fatal prints through the SBI console and, when the kernel asked for
 * it (elyz.exit), leaves QEMU through the virt machine's test device.
 */
#include <stddef.h>
#include <stdint.h>
#include "boot.h"
#include "elyz_runtime.h"

extern char boot_stack_bottom[], boot_stack_top[];
extern long rpy_kmain(long protocol, long info, long hhdm_offset);
extern long elyz_limine_request_table_address(void);

static char early_heap[ELYZ_EARLY_HEAP_SIZE] __attribute__((aligned(4096)));

long elyz_exit_on_panic;
/* sifive,test0: FAIL (0x3333) with code 3 in the upper half: QEMU exits 2, as from elyz/kernel/qemu.py EXIT_PANIC. */
#define TEST_FAIL_PANIC ((2 << 16) | 0x3333)

static long sbi_call(long ext, long fid, long a0, long a1)
{
    register long r_a0 __asm__("a0") = a0;
    register long r_a1 __asm__("a1") = a1;
    register long r_a6 __asm__("a6") = fid;
    register long r_a7 __asm__("a7") = ext;
    __asm__ volatile("ecall" : "+r"(r_a0), "+r"(r_a1) : "r"(r_a6), "r"(r_a7) : "memory");
    return r_a0;
}

static void console_putc(char c)
{
    sbi_call(0x01, 0, (unsigned char)c, 0);     /* legacy console_putchar */
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
    for (;;) __asm__ volatile("csrci sstatus, 2; wfi");
}

void elyz_fatal(const char *msg)
{
    console_puts("PANIC: ");
    console_puts(msg);
    console_puts("\n");
    if (elyz_exit_on_panic)
        *(volatile uint32_t *)(ELYZ_EARLY_HHDM + ELYZ_VIRT_TEST_DEVICE) = TEST_FAIL_PANIC;
    elyz_halt_forever();
    __builtin_unreachable();
}

size_t elyz_early_heap_size(void) { return sizeof early_heap; }
long elyz_early_heap_address(void) { return (long)early_heap; }

void elyz_riscv64_boot(long hart, long dtb)
{
    (void)hart;
    elyz_stack_bounds(boot_stack_bottom, boot_stack_top, ELYZ_STACK_CHECK_RESERVE);
    elyz_bump_init(early_heap, sizeof early_heap);
    rpy_kmain(ELYZ_BOOT_DEVICETREE, dtb, (long)ELYZ_EARLY_HHDM);
    console_puts("Elyz: kernel returned; halting.\n");
    elyz_halt_forever();
}

/* Limine's entry (boot.S): rpy_kmain(PROTOCOL_LIMINE, the request table,
 * 0): the kernel takes Limine's HHDM (Sv48: 0xffff800000000000, root
 * entry 256, where the kernel's own direct map is anyway). */
void elyz_riscv64_limine_boot(void)
{
    elyz_stack_bounds(boot_stack_bottom, boot_stack_top, ELYZ_STACK_CHECK_RESERVE);
    elyz_bump_init(early_heap, sizeof early_heap);
    rpy_kmain(ELYZ_BOOT_LIMINE, elyz_limine_request_table_address(), 0);
    console_puts("Elyz: kernel returned; halting.\n");
    elyz_halt_forever();
}

void elyz_debug_putc(char c)
{
    if (c == '\n') console_putc('\r');
    console_putc(c);
}
