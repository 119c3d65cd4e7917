/* Constants shared by the x86_64 boot stubs (assembly and C). */
#ifndef ELYZ_X86_64_BOOT_H
#define ELYZ_X86_64_BOOT_H

/* Boot protocols: the same numbers as elyz/boot/bootinfo.py PROTOCOL_*. */
#define ELYZ_BOOT_LIMINE        1
#define ELYZ_BOOT_MULTIBOOT2    2
#define ELYZ_BOOT_PVH           3

#define ELYZ_BOOT_STACK_SIZE    (64 * 1024)
/* Interrupt Stack Table stacks (cpu_tables.c): #DF, NMI, #MC. */
#define ELYZ_IST_STACK_SIZE     (32 * 1024)
/* The unmapped page below every kernel stack (stacks.S). */
#define ELYZ_STACK_GUARD_SIZE   4096
/* Bytes at the bottom of a stack that RPython's stack check keeps free for
 * the C code that runs between two checks (runtime.c elyz_stack_bounds). */
#define ELYZ_STACK_CHECK_RESERVE (8 * 1024)
/* Virtual base of the early direct map the 32-bit paths build. */
#define ELYZ_EARLY_HHDM         0xffff800000000000
#define ELYZ_EARLY_HEAP_SIZE    (1024 * 1024)   /* GC allocations before the heap: ~200 bytes today */

#endif
