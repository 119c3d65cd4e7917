/* TEST-ONLY: a Linux flavour of the Elyz system calls, so that the user
 * image's own objects (generated C, GC, malloc, start-up) run as a Linux
 * process under pytest while the kernel cannot run them yet.  Never part
 * of the image.
 *
 *   debug_write(ptr, n)        write(1, ptr, n)
 *   exit(code)                 prints "[shim] maps=K mapped=B" on stderr,
 *                              then exit_group(code)
 *   allocate(size, rights)     records the size (rounded up to pages);
 *                              returns a descriptor (a small number)
 *   map(desc, vaddr, 0, n, p)  mmap(vaddr, n, p, MAP_FIXED_NOREPLACE |
 *                              MAP_PRIVATE | MAP_ANONYMOUS); the address
 *                              must be free, as in an Elyz address space
 *   release(desc)              munmap of what was mapped through it
 *   unmap(vaddr, n)            munmap
 *   yield                      sched_yield;  clock: 0
 *   anything else              E_NOSYS (tests/user make those stubs from
 *                              the table: nosys.c)
 * Errors come back as the nearest E_* code. */
#include <stddef.h>
#include "elyz_user.h"

#define LINUX_WRITE 1
#define LINUX_MMAP 9
#define LINUX_MUNMAP 11
#define LINUX_SCHED_YIELD 24
#define LINUX_EXIT_GROUP 231
#define MAP_PRIVATE 0x02
#define MAP_ANONYMOUS 0x20
#define MAP_FIXED_NOREPLACE 0x100000
#define SLOTS 64

static long linux6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall" : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

static struct { long size, vaddr, length; } objects[SLOTS];
static long maps, mapped;

static void put(const char *s)
{
    long n = 0;
    while (s[n]) n++;
    linux6(LINUX_WRITE, 2, (long)s, n, 0, 0, 0);
}

static void put_number(long v)
{
    char digits[24];
    int n = sizeof digits;
    digits[--n] = 0;
    do { digits[--n] = '0' + v % 10; v /= 10; } while (v);
    put(digits + n);
}

long elyz_sys_debug_write(long ptr, long length)
{
    long n = linux6(LINUX_WRITE, 1, ptr, length, 0, 0, 0);
    return n < 0 ? E_FAULT : n;
}

void elyz_sys_exit(long code)
{
    put("[shim] maps="); put_number(maps); put(" mapped="); put_number(mapped); put("\n");
    for (;;) linux6(LINUX_EXIT_GROUP, code, 0, 0, 0, 0, 0);
}

long elyz_sys_allocate(long size, long rights)
{
    if (size <= 0 || (rights & ~MEMORY_RIGHTS)) return E_INVALID;
    for (long i = 0; i < SLOTS; i++)
        if (objects[i].size == 0) {
            objects[i].size = (size + ELYZ_PAGE_SIZE - 1) & ~(ELYZ_PAGE_SIZE - 1);
            return i + 1;
        }
    return E_NOSLOTS;
}

long elyz_sys_map(long desc, long vaddr, long offset, long length, long prot)
{
    if (desc < 1 || desc > SLOTS || objects[desc - 1].size == 0) return E_BADDESC;
    if (objects[desc - 1].length) return E_OVERLAP;     /* one mapping per object here */
    if ((vaddr | offset | length) & (ELYZ_PAGE_SIZE - 1)) return E_ALIGN;
    if (offset != 0 || length > objects[desc - 1].size) return E_RANGE;
    long got = linux6(LINUX_MMAP, vaddr, length, prot & (PROT_READ | PROT_WRITE),
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (got != vaddr) {
        if (got > 0) linux6(LINUX_MUNMAP, got, length, 0, 0, 0, 0);
        return E_OVERLAP;
    }
    objects[desc - 1].vaddr = vaddr;
    objects[desc - 1].length = length;
    maps++;
    mapped += length;
    return 0;
}

long elyz_sys_release(long desc)
{
    if (desc < 1 || desc > SLOTS || objects[desc - 1].size == 0) return E_BADDESC;
    if (objects[desc - 1].length)
        linux6(LINUX_MUNMAP, objects[desc - 1].vaddr, objects[desc - 1].length, 0, 0, 0, 0);
    objects[desc - 1].size = objects[desc - 1].length = 0;
    return 0;
}

long elyz_sys_unmap(long vaddr, long length)
{
    if ((vaddr | length) & (ELYZ_PAGE_SIZE - 1)) return E_ALIGN;
    return linux6(LINUX_MUNMAP, vaddr, length, 0, 0, 0, 0) < 0 ? E_INVALID : length / ELYZ_PAGE_SIZE;
}

long elyz_sys_yield(void)
{
    linux6(LINUX_SCHED_YIELD, 0, 0, 0, 0, 0, 0);
    return 0;
}

long elyz_sys_clock(void)
{
    return 0;
}

/* Linux's argv without argv[0] (the executable's path) as an Elyz args
   block, each argument ended by NUL: `elyz-user-hosted hello a` gives
   "hello\0a\0", what the kernel would pass for the program hello. */
static char block[4096];

void elyz_hosted_start(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    long length = 0;
    for (long i = 1; i < argc; i++) {
        for (char *s = argv[i]; ; s++) {
            if (length == (long)sizeof block) { put("[shim] arguments too long\n"); elyz_sys_exit(126); }
            block[length++] = *s;
            if (*s == 0) break;
        }
    }
    elyz_user_start(length ? block : NULL, length, 0, (char *)sp);
}
