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

/* Every bump block starts on a multiple of this (what malloc promises). */
#define BUMP_ALIGNMENT ((size_t)16)
#define BUMP_ALIGN_MASK (BUMP_ALIGNMENT - 1)

/* Makes [start, start + size) the bump arena (its first bytes skipped up to
   a BUMP_ALIGNMENT boundary).  Returns nothing; never fails: an arena too
   small for one block makes every bump malloc return NULL. */
void elyz_bump_init(void *start, size_t size)
{
    size_t skip = (BUMP_ALIGNMENT - ((uintptr_t)start & BUMP_ALIGN_MASK)) & BUMP_ALIGN_MASK;
    if (skip > size) skip = size;
    bump_start = bump_next = (char *)start + skip;
    bump_end = (char *)start + size;
}

/* Returns the bytes carved from the bump arena so far. */
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

/* Returns a BUMP_ALIGNMENT-aligned block of size bytes carved from the
   arena (size 0 gets a block of its own, like any other size), or NULL
   when the arena has fewer bytes left, before elyz_bump_init, or when size
   is so large that rounding it up would wrap around (malloc(SIZE_MAX)). */
static void *bump_alloc(size_t size)
{
    size_t room = (size_t)(bump_end - bump_next);
    if (size == 0) size = 1;
    /* Checked before rounding: size + BUMP_ALIGN_MASK must not wrap to a
       small number. */
    if (size > room || size > SIZE_MAX - BUMP_ALIGN_MASK) return NULL;
    size = (size + BUMP_ALIGN_MASK) & ~BUMP_ALIGN_MASK;
    if (size > room) return NULL;
    void *p = bump_next;
    bump_next += size;
    bump_allocations++;
    return p;
}

/* Returns a block of size bytes from the installed allocator, or from the
   bump arena until there is one; NULL when that allocator has no room. */
void *malloc(size_t size)
{
    void *p = installed_malloc ? installed_malloc(size) : bump_alloc(size);
    return p;
}

/* Returns a zeroed block of count * size bytes, or NULL when the product
   overflows or malloc fails. */
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

/* Gives p back to the installed allocator; returns nothing.  NULL and bump
   blocks are ignored (boot-time objects live forever). */
void free(void *p)
{
    if (p == NULL || in_bump_arena(p)) return;   /* boot-time objects live forever */
    if (installed_free) installed_free(p);
}

/* Returns a block of size bytes holding the start of p's contents (p
   itself or a new block), malloc(size) when p is NULL, or NULL when no
   block can be had (p then stays valid).  Fatal for a block that is not
   a bump block when no allocator is installed. */
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

/* RPython inserts a check into every function of a recursion cycle: it
   passes while sp lies in [stack_end - stack_length, stack_end], and calls
   LL_stack_too_big_slowpath otherwise.  The bounds must be those of the
   stack the CPU is on: the program sets them with elyz_stack_bounds()
   before running RPython code and again at every switch of stacks (an IST
   trap, and a context switch once threads exist). */
rpy_stacktoobig_t rpy_stacktoobig = { NULL, 0, 1 };
char *elyz_stack_bottom;

void elyz_stack_bounds(void *bottom, void *top, long reserve)
{
    elyz_stack_bottom = bottom;
    rpy_stacktoobig.stack_end = top;
    rpy_stacktoobig.stack_length = ((char *)top - (char *)bottom) - reserve;
}

/* Return the bounds elyz_stack_bounds() set last (0 before). */
long elyz_stack_current_bottom(void) { return (long)elyz_stack_bottom; }
long elyz_stack_current_top(void) { return (long)rpy_stacktoobig.stack_end; }

/* Returns 1 (RPython raises StackOverflow) when sp is in the reserve at
   the bottom of the current stack, or 0 inside RPython's critical code
   (report_error cleared).  A stack pointer outside the current stack means
   the bounds were not switched with the stack: fatal, never a false
   StackOverflow and never a silent pass. */
char LL_stack_too_big_slowpath(long current)
{
    char *sp = (char *)current;
    if (rpy_stacktoobig.stack_end == NULL)
        elyz_fatal("RPython stack check before elyz_stack_bounds()");
    if (sp > rpy_stacktoobig.stack_end || sp < elyz_stack_bottom)
        elyz_fatal("RPython stack check: the stack pointer is outside the current "
                   "stack (its bounds were not switched with it)");
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
