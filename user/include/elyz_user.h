/* The Elyz user runtime (user/lib): its layout constants and functions.
 * docs/abi.md "Program start" and docs/user-programs.md describe them. */
#ifndef ELYZ_USER_H
#define ELYZ_USER_H
#include <stddef.h>
#include "elyz_abi.h"

/* The image is linked at ELYZ_USER_BASE (user/lib/user.ld says so too). */
#define ELYZ_USER_BASE          0x400000UL

/* The heap: memory objects mapped one after the other from ELYZ_HEAP_BASE,
 * never at or above ELYZ_HEAP_LIMIT.  The first is ELYZ_HEAP_FIRST_CHUNK
 * bytes (or what the first request needs, in whole ELYZ_HEAP_FIRST_UNITs):
 * room for what every program's start-up takes, about 620 KiB (the GC's
 * nursery of 264 KiB and its large-object slack, the 128 KiB shadow stack,
 * the GC's address stacks), and some slack; the kernel zeroes every byte
 * of it at allocate, so it is no larger.  Each later one is at least
 * ELYZ_HEAP_CHUNK bytes, and at least a quarter of the heap so far (few
 * descriptors), in whole ELYZ_HEAP_CHUNKs. */
#define ELYZ_HEAP_BASE          0x10000000UL
#define ELYZ_HEAP_LIMIT         0x50000000UL
#define ELYZ_HEAP_FIRST_CHUNK   (640UL << 10)
#define ELYZ_HEAP_FIRST_UNIT    (64UL << 10)
#define ELYZ_HEAP_CHUNK         (1UL << 20)

/* The stack the crt assumes below the initial rsp when the kernel passes
 * rdx = 0; the most of a larger stack RPython may use (the GC's shadow
 * stack, USER_GC_OPTIONS.root_stack_depth = 16384 roots in
 * user/lib/image.py, has one 8-byte root per 8 bytes of such a stack: it
 * has no overflow check of its own); and the part RPython's stack check
 * keeps in reserve (a deeper recursion raises StackOverflow). */
#define ELYZ_DEFAULT_STACK_SIZE (64UL * 1024)
#define ELYZ_MAX_STACK_SIZE     (128UL * 1024)
#define ELYZ_STACK_RESERVE      (16UL * 1024)

/* Exit code of a program stopped by the runtime: abort(), an RPython
 * exception nobody caught, a fatal runtime error. */
#define ELYZ_EXIT_FATAL         127

/* user/lib/start.c: called by _start (crt0.S); never returns. */
void elyz_user_start(const char *args, long length, long stack_size, char *stack_top)
    __attribute__((noreturn));

/* user/lib/malloc.c: the allocator behind malloc/free/realloc. */
void elyz_heap_install(void);
enum {
    ELYZ_HEAP_MAPPED,           /* bytes mapped from the kernel (the heap's size) */
    ELYZ_HEAP_IN_USE,           /* bytes of allocated blocks, headers included */
    ELYZ_HEAP_PEAK_IN_USE,      /* the most ELYZ_HEAP_IN_USE has been */
    ELYZ_HEAP_CHUNKS,           /* memory objects (descriptors) the heap holds */
    ELYZ_HEAP_MALLOCS,          /* successful malloc and realloc calls */
    ELYZ_HEAP_FREES,            /* free calls with a block */
    ELYZ_HEAP_FREE_BLOCKS,      /* blocks on the free list */
    ELYZ_HEAP_INFO_COUNT
};
long elyz_heap_info(long which);        /* -1 for an unknown which */
long elyz_heap_check(void);             /* 0, or the negative number of the broken rule */

/* user/lib/libc.c: debug output (buffered by line), fatal stop. */
long elyz_write(const char *data, long length);     /* flushes, then writes; bytes or E_* */
void elyz_debug_flush(void);
void elyz_exit(long code) __attribute__((noreturn));   /* flushes, then exits */

/* The generated C: the GC set-up and the multi-call entry point. */
void RPython_StartupCode(void);
long rpy_user_main(long args, long length);
#endif
