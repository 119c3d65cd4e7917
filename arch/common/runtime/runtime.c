/* The common freestanding runtime of RPython programs built by Elyz's
 * backend: the libc subset the generated C calls (memory functions, the
 * allocator entry points, abort), and the stack-check pair.
 *
 * The program provides:
 *   void elyz_fatal(const char *msg)   print msg somewhere and stop (noreturn)
 * and may install a real allocator with elyz_set_allocator(); until then
 * malloc/calloc carve from a bump arena given with elyz_bump_init().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <stdarg.h>
#include "elyz_runtime.h"

int errno;

/* memcpy, memmove and memset are weak: an architecture may provide faster
   ones (arch/x86_64/string.c uses rep movs/stos). */
__attribute__((weak)) void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (((uintptr_t)d & 7) == 0 && ((uintptr_t)s & 7) == 0) {
        while (n >= 8) { *(uint64_t *)d = *(const uint64_t *)s; d += 8; s += 8; n -= 8; }
    }
    while (n--) *d++ = *s++;
    return dst;
}

__attribute__((weak)) void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0) return dst;
    if (d < s || d >= s + n) return memcpy(dst, src, n);
    d += n; s += n;
    if (((uintptr_t)d & 7) == 0 && ((uintptr_t)s & 7) == 0) {
        while (n >= 8) { d -= 8; s -= 8; n -= 8; *(uint64_t *)d = *(const uint64_t *)s; }
    }
    while (n--) *--d = *--s;
    return dst;
}

__attribute__((weak)) void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    uint64_t pattern = (unsigned char)c * 0x0101010101010101ULL;
    while (n && ((uintptr_t)d & 7)) { *d++ = (unsigned char)c; n--; }
    while (n >= 8) { *(uint64_t *)d = pattern; d += 8; n -= 8; }
    while (n--) *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

void abort(void)
{
    elyz_fatal("abort() called (RPython fatal error)");
}

void elyz_assert_failed(const char *expr, const char *file, int line)
{
    (void)file; (void)line;
    elyz_fatal(expr);
}

/* ---- allocation ----------------------------------------------------- */

static char *bump_next, *bump_end, *bump_start;
static size_t bump_allocations;
static elyz_malloc_fn installed_malloc;
static elyz_free_fn installed_free;
static elyz_realloc_fn installed_realloc;

void elyz_bump_init(void *start, size_t size)
{
    bump_start = bump_next = start;
    bump_end = (char *)start + size;
}

size_t elyz_bump_used(void)
{
    return (size_t)(bump_next - bump_start);
}

void elyz_set_allocator(elyz_malloc_fn m, elyz_free_fn f, elyz_realloc_fn r)
{
    installed_malloc = m;
    installed_free = f;
    installed_realloc = r;
}

static void *bump_alloc(size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size > (size_t)(bump_end - bump_next)) return NULL;
    void *p = bump_next;
    bump_next += size;
    bump_allocations++;
    return p;
}

void *malloc(size_t size)
{
    void *p = installed_malloc ? installed_malloc(size) : bump_alloc(size);
    return p;
}

void *calloc(size_t count, size_t size)
{
    size_t total = count * size;
    if (size && total / size != count) return NULL;
    void *p = malloc(total);
    if (p) memset(p, 0, total);
    return p;
}

static int in_bump_arena(void *p)
{
    return (char *)p >= bump_start && (char *)p < bump_end;
}

void free(void *p)
{
    if (p == NULL || in_bump_arena(p)) return;   /* boot-time objects live forever */
    if (installed_free) installed_free(p);
}

void *realloc(void *p, size_t size)
{
    if (p == NULL) return malloc(size);
    if (in_bump_arena(p) || installed_realloc == NULL) {
        /* Bump blocks do not record their size: copy what can be known. */
        if (!in_bump_arena(p)) elyz_fatal("realloc() without an allocator");
        void *q = malloc(size);
        if (q) memcpy(q, p, size < (size_t)(bump_next - (char *)p) ? size : (size_t)(bump_next - (char *)p));
        return q;
    }
    return installed_realloc(p, size);
}

/* ---- RPython stack checks ------------------------------------------- */

/* The stack is [stack_end - stack_length, stack_end]; the program sets
   both with elyz_stack_bounds() before running RPython code. */
rpy_stacktoobig_t rpy_stacktoobig = { NULL, 64 * 1024, 1 };

void elyz_stack_bounds(void *top, long usable_length)
{
    rpy_stacktoobig.stack_end = top;
    rpy_stacktoobig.stack_length = usable_length;
}

char LL_stack_too_big_slowpath(long current)
{
    if (rpy_stacktoobig.stack_end == NULL) {
        rpy_stacktoobig.stack_end = (char *)current;
        return 0;
    }
    return rpy_stacktoobig.report_error;
}


/* ---- the fprintf the upstream support files use ---------------------- */

/* Only stderr exists; it goes to the program's elyz_debug_putc. Supports
   %s %.*s %d %ld %lu %x %lx %p %c %% - what the RPython support files print. */
FILE *const stderr = (FILE *)0;

static void put_unsigned(unsigned long v, unsigned base)
{
    char digits[24];
    int n = 0;
    do { digits[n++] = "0123456789abcdef"[v % base]; v /= base; } while (v);
    while (n) elyz_debug_putc(digits[--n]);
}

int vfprintf(FILE *stream, const char *fmt, va_list ap)
{
    (void)stream;
    for (; *fmt; fmt++) {
        if (*fmt != '%') { elyz_debug_putc(*fmt); continue; }
        fmt++;
        int precision = -1, is_long = 0;
        if (fmt[0] == '.' && fmt[1] == '*') { precision = va_arg(ap, int); fmt += 2; }
        while (*fmt == 'l') { is_long = 1; fmt++; }
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            for (int i = 0; s[i] && (precision < 0 || i < precision); i++) elyz_debug_putc(s[i]);
            break;
        }
        case 'd': {
            long v = is_long ? va_arg(ap, long) : va_arg(ap, int);
            if (v < 0) { elyz_debug_putc('-'); put_unsigned(-(unsigned long)v, 10); }
            else put_unsigned((unsigned long)v, 10);
            break;
        }
        case 'u': put_unsigned(is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10); break;
        case 'x': put_unsigned(is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16); break;
        case 'p': elyz_debug_putc('0'); elyz_debug_putc('x');
                  put_unsigned((unsigned long)va_arg(ap, void *), 16); break;
        case 'c': elyz_debug_putc((char)va_arg(ap, int)); break;
        case '%': elyz_debug_putc('%'); break;
        case 0: return 0;
        default: elyz_debug_putc('%'); elyz_debug_putc(*fmt); break;
        }
    }
    return 0;
}

int fprintf(FILE *stream, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stream, fmt, ap);
    va_end(ap);
    return 0;
}
