/* Elyz x86_64 descriptor tables: GDT, TSS and IDT, and the C side of a trap.
 *
 * void elyz_x86_64_init_traps(void)
 *     Builds and loads the kernel's GDT (replacing boot.S's early one),
 *     reloads every segment register (CS through a far return), loads the
 *     TSS with ltr, then fills and loads the 256-gate IDT.  Interrupts stay
 *     as they were (off at boot).  Safe to call again: the TSS descriptor is
 *     rewritten as available before ltr.  Cannot fail.
 *
 * void elyz_trap_dispatch(long frame)
 *     Called by trap.S for every trap with the address of the trap frame;
 *     calls the RPython handler rpy_trap(frame) (elyz/kernel/entry.py).
 *
 * GDT layout, chosen for SYSCALL/SYSRET (Intel SDM vol. 2, SYSRET):
 *
 *     0x00  null
 *     0x08  kernel code, 64-bit    IA32_STAR[47:32] = 0x08: SYSCALL loads
 *     0x10  kernel data                CS = 0x08 and SS = 0x08 + 8
 *     0x18  user data (DPL 3)      IA32_STAR[63:48] = 0x10: SYSRET (64-bit)
 *     0x20  user code, 64-bit         loads SS = 0x10 + 8 | 3 = 0x1b and
 *                                      CS = 0x10 + 16 | 3 = 0x23
 *     0x28  TSS (a 16-byte system descriptor: two slots)
 *
 * The TSS gives separate Interrupt Stack Table stacks to the traps that can
 * strike with a broken kernel stack: #DF uses IST1, NMI IST2, #MC IST3.
 * The stacks live in stacks.S, each above an unmapped guard page, away
 * from these tables: a kernel stack overflow faults on a guard page (and
 * becomes a #DF on IST1) instead of overwriting the TSS or the IDT.
 * RSP0, the stack for traps from user mode, is the current process's
 * kernel stack (elyz_set_kernel_stack).
 * Every gate is a DPL 0 interrupt gate (IF cleared on entry): int3 from user
 * mode is a #GP, not a breakpoint.
 *
 * System calls (elyz_enable_syscalls): IA32_STAR as drawn above, IA32_LSTAR
 * = elyz_syscall_entry (syscall.S), IA32_FMASK clears IF, DF, TF and AC on
 * entry, EFER.SCE on.  GS: IA32_GS_BASE = &elyz_percpu in kernel mode (the
 * per-CPU area: its own address, the kernel stack top syscall entry loads,
 * a scratch word for the user rsp); swapgs exchanges it with
 * IA32_KERNEL_GS_BASE on every crossing (trap.S, syscall.S).
 *
 * void elyz_syscall_dispatch(long frame)
 *     Called by syscall.S; runs rpy_syscall(frame) like a trap from ring 3.
 */
#include <stddef.h>
#include <stdint.h>
#include "boot.h"
#include "elyz_runtime.h"

#define KERNEL_CS               0x08
#define KERNEL_DS               0x10
#define USER_DS                 0x18
#define USER_CS                 0x20
#define TSS_SELECTOR            0x28
#define GDT_ENTRIES             7       /* 5 segments + the 2-slot TSS */

/* Segment descriptors (Intel SDM vol. 3, 3.4.5): limit 0xfffff, base 0,
 * G=1; code: L=1 (64-bit), type execute/read; data: type read/write. */
#define DESC_KERNEL_CODE64      0x00af9a000000ffffULL
#define DESC_KERNEL_DATA        0x00cf92000000ffffULL
#define DESC_USER_DATA          0x00cff2000000ffffULL
#define DESC_USER_CODE64        0x00affa000000ffffULL
#define DESC_PRESENT            (1ULL << 47)
#define DESC_TYPE_TSS_AVAILABLE (0x9ULL << 40)

#define IDT_VECTORS             256
#define GATE_INTERRUPT_DPL0     0x8e    /* P=1, DPL=0, type 0xE (64-bit interrupt gate) */

#define VECTOR_NMI              2
#define VECTOR_DOUBLE_FAULT     8
#define VECTOR_MACHINE_CHECK    18
#define IST_DOUBLE_FAULT        1
#define IST_NMI                 2
#define IST_MACHINE_CHECK       3

#define MAX_TRAP_NESTING        4       /* a trap inside a trap inside a ... */

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];                    /* ist[0] is IST1 */
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} __attribute__((packed));

struct table_pointer {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

/* The RPython exception state (generated code: pypy_g_ExcData).  A trap
 * can strike between an RPython raise and its catch; the handler must
 * neither see nor clobber that pending exception. */
struct pypy_ExcData0 {
    void *ed_exc_type;
    void *ed_exc_value;
};
extern struct pypy_ExcData0 pypy_g_ExcData;
extern rpy_stacktoobig_t rpy_stacktoobig;

extern const uint64_t elyz_trap_stub_table[IDT_VECTORS];
extern long rpy_trap(long frame);
extern long rpy_syscall(long frame);
extern char elyz_syscall_entry[];
extern void pypy_debug_catch_fatal_exception(void);
extern void elyz_debug_putc(char c);
extern char elyz_ist1_stack_top[], elyz_ist2_stack_top[], elyz_ist3_stack_top[];

static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));
static int trap_depth;

#define MSR_EFER                0xc0000080
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_FMASK               0xc0000084
#define MSR_GS_BASE             0xc0000101
#define MSR_KERNEL_GS_BASE      0xc0000102
#define EFER_SCE                (1ULL << 0)
#define RFLAGS_TF               (1ULL << 8)
#define RFLAGS_IF               (1ULL << 9)
#define RFLAGS_DF               (1ULL << 10)
#define RFLAGS_AC               (1ULL << 18)
#define STAR_KERNEL_BASE        KERNEL_CS               /* SYSCALL: cs 0x08, ss 0x10 */
#define STAR_USER_BASE          (KERNEL_DS | 3)         /* SYSRET: ss 0x1b, cs 0x23 */
#define FRAME_CS                18      /* trapframe.py CS = 144, in words */

/* The per-CPU area (one CPU); syscall.S uses its offsets. */
struct percpu {
    uint64_t self;                      /* 0 */
    uint64_t kernel_rsp;                /* 8: top of the current kernel stack */
    uint64_t user_rsp;                  /* 16: the user rsp at syscall entry */
};
struct percpu elyz_percpu __attribute__((aligned(64)));

static inline void wrmsr(uint32_t msr, uint64_t value)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
                     : "memory");
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static void set_tss_descriptor(void)
{
    uint64_t base = (uint64_t)&tss;
    uint64_t limit = sizeof tss - 1;
    gdt[TSS_SELECTOR / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16)
        | DESC_TYPE_TSS_AVAILABLE | DESC_PRESENT
        | (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[TSS_SELECTOR / 8 + 1] = base >> 32;
}

static void load_gdt(void)
{
    struct table_pointer pointer = { sizeof gdt - 1, (uint64_t)gdt };
    __asm__ volatile("lgdt %0" : : "m"(pointer) : "memory");
    /* CS can only change through a far transfer: push cs:rip, lretq. */
    __asm__ volatile(
        "pushq %[cs]\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movw %w[ds], %%ax\n\t"
        "movw %%ax, %%ds\n\t"
        "movw %%ax, %%es\n\t"
        "movw %%ax, %%ss\n\t"
        "xorl %%eax, %%eax\n\t"
        "movw %%ax, %%fs\n\t"
        "movw %%ax, %%gs\n\t"
        : : [cs] "i"(KERNEL_CS), [ds] "i"(KERNEL_DS) : "rax", "memory");
}

static void set_gate(int vector, int ist)
{
    uint64_t handler = elyz_trap_stub_table[vector];
    struct idt_gate *gate = &idt[vector];
    gate->offset_low = handler & 0xffff;
    gate->selector = KERNEL_CS;
    gate->ist = ist;
    gate->type_attr = GATE_INTERRUPT_DPL0;
    gate->offset_mid = (handler >> 16) & 0xffff;
    gate->offset_high = handler >> 32;
    gate->reserved = 0;
}

/* Returns the top of the stack of IST index ist (1..3). */
static char *ist_top(int ist)
{
    if (ist == IST_DOUBLE_FAULT) return elyz_ist1_stack_top;
    if (ist == IST_NMI) return elyz_ist2_stack_top;
    return elyz_ist3_stack_top;
}

void elyz_x86_64_init_traps(void)
{
    gdt[0] = 0;
    gdt[KERNEL_CS / 8] = DESC_KERNEL_CODE64;
    gdt[KERNEL_DS / 8] = DESC_KERNEL_DATA;
    gdt[USER_DS / 8] = DESC_USER_DATA;
    gdt[USER_CS / 8] = DESC_USER_CODE64;
    tss.ist[IST_DOUBLE_FAULT - 1] = (uint64_t)ist_top(IST_DOUBLE_FAULT);
    tss.ist[IST_NMI - 1] = (uint64_t)ist_top(IST_NMI);
    tss.ist[IST_MACHINE_CHECK - 1] = (uint64_t)ist_top(IST_MACHINE_CHECK);
    tss.iomap_base = sizeof tss;        /* no I/O permission bitmap */
    set_tss_descriptor();
    load_gdt();
    __asm__ volatile("ltr %w0" : : "r"((uint16_t)TSS_SELECTOR) : "memory");

    for (int v = 0; v < IDT_VECTORS; v++)
        set_gate(v, 0);
    set_gate(VECTOR_DOUBLE_FAULT, IST_DOUBLE_FAULT);
    set_gate(VECTOR_NMI, IST_NMI);
    set_gate(VECTOR_MACHINE_CHECK, IST_MACHINE_CHECK);
    struct table_pointer pointer = { sizeof idt - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" : : "m"(pointer) : "memory");
    /* After load_gdt (a null GS selector may clear the base). */
    elyz_percpu.self = (uint64_t)&elyz_percpu;
    wrmsr(MSR_GS_BASE, (uint64_t)&elyz_percpu);
    wrmsr(MSR_KERNEL_GS_BASE, 0);
}

/* Turns the syscall instruction on (see the header).  Cannot fail. */
void elyz_enable_syscalls(void)
{
    wrmsr(MSR_STAR, ((uint64_t)STAR_USER_BASE << 48) | ((uint64_t)STAR_KERNEL_BASE << 32));
    wrmsr(MSR_LSTAR, (uint64_t)elyz_syscall_entry);
    wrmsr(MSR_FMASK, RFLAGS_IF | RFLAGS_DF | RFLAGS_TF | RFLAGS_AC);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
}

/* Makes top the stack of traps and system calls from user mode (TSS RSP0
 * and the per-CPU kernel_rsp).  Cannot fail. */
void elyz_set_kernel_stack(long top)
{
    tss.rsp[0] = (uint64_t)top;
    elyz_percpu.kernel_rsp = (uint64_t)top;
}

/* Returns the IST index the gate of vector uses, 0 for none. */
static int ist_of(long vector)
{
    if (vector == VECTOR_DOUBLE_FAULT) return IST_DOUBLE_FAULT;
    if (vector == VECTOR_NMI) return IST_NMI;
    if (vector == VECTOR_MACHINE_CHECK) return IST_MACHINE_CHECK;
    return 0;
}

static void put_string(const char *s)
{
    for (; *s; s++) elyz_debug_putc(*s);
}

static void put_decimal(long v)
{
    char digits[24];
    int n = 0;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) elyz_debug_putc(digits[--n]);
}

/* Runs rpy_trap(frame) with a clean RPython exception state, and with the
 * RPython stack bounds of the IST stack when the trap switched to one;
 * restores both afterwards.  Stops the machine on runaway nesting (a fault
 * in the fault handler, again and again), and when the handler left an
 * RPython exception behind: it was stopped halfway (an interrupt perhaps
 * not acknowledged), so that is fatal, with the RPython traceback. */
void elyz_trap_dispatch(long frame)
{
    long vector = ((long *)frame)[15];  /* trapframe.py VECTOR = 120 */
    struct pypy_ExcData0 saved_exception = pypy_g_ExcData;
    rpy_stacktoobig_t saved_bounds = rpy_stacktoobig;
    char *saved_bottom = elyz_stack_bottom;
    int ist = ist_of(vector);

    /* A trap from user mode starts a fresh kernel entry on the process's own
     * kernel stack; nesting counts only traps taken in kernel mode.  (Every
     * context switch happens at depth 1, so the count stays right.) */
    if (((long *)frame)[FRAME_CS] & 3)
        trap_depth = 1;
    else if (++trap_depth > MAX_TRAP_NESTING)
        elyz_fatal("traps nested too deeply (a fault in the trap handler?)");
    if (ist)
        elyz_stack_bounds(ist_top(ist) - ELYZ_IST_STACK_SIZE, ist_top(ist),
                          ELYZ_STACK_CHECK_RESERVE);
    pypy_g_ExcData.ed_exc_type = NULL;
    pypy_g_ExcData.ed_exc_value = NULL;
    rpy_trap(frame);
    if (pypy_g_ExcData.ed_exc_type != NULL) {
        put_string("FATAL: an RPython exception escaped the trap handler (vector ");
        put_decimal(vector);
        put_string(")\n");
        pypy_debug_catch_fatal_exception();     /* traceback, then abort() */
    }
    pypy_g_ExcData = saved_exception;
    rpy_stacktoobig = saved_bounds;
    elyz_stack_bottom = saved_bottom;
    trap_depth--;
}

/* The body of a system call: rpy_syscall(frame) with a clean RPython
 * exception state; an exception left behind is fatal, as for traps. */
void elyz_syscall_dispatch(long frame)
{
    trap_depth = 1;
    pypy_g_ExcData.ed_exc_type = NULL;
    pypy_g_ExcData.ed_exc_value = NULL;
    rpy_syscall(frame);
    if (pypy_g_ExcData.ed_exc_type != NULL) {
        put_string("FATAL: an RPython exception escaped a system call\n");
        pypy_debug_catch_fatal_exception();
    }
    trap_depth--;
}
