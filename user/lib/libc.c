/* The rest of what the generated C and the GC need from a libc, for user
 * programs (the common runtime, arch/common/runtime/runtime.c, has
 * memcmp, strlen, calloc, abort, fprintf, the stack check):
 *   getenv       NULL: no environment (incminimark asks for PYPY_GC_MAX_PINNED)
 *   getpagesize  4096
 *   madvise      0: a hint, ignoring it is correct
 *   mprotect     fatal: only the GC's nursery-debugging mode calls it, and
 *                the user image's GC constants turn that mode off
 *   elyz_debug_putc / elyz_debug_flush / elyz_write
 *                debug output through the debug_write system call, buffered
 *                by line (fprintf(stderr, ...) and RPython tracebacks land here)
 *   elyz_fatal   "fatal: <msg>", then exit(ELYZ_EXIT_FATAL); abort() comes here
 *   elyz_exit    flushes, then the exit system call */
#include <stddef.h>
#include "elyz_runtime.h"
#include "elyz_user.h"

char *getenv(const char *name)
{
    (void)name;
    return NULL;
}

int getpagesize(void)
{
    return ELYZ_PAGE_SIZE;
}

int madvise(void *addr, size_t length, int advice)
{
    (void)addr; (void)length; (void)advice;
    return 0;
}

int mprotect(void *addr, size_t length, int prot)
{
    (void)addr; (void)length; (void)prot;
    elyz_fatal("mprotect() called: the GC's nursery debugging is not supported");
}

static char line[256];
static long line_length;

/* Writes all of data (debug_write may take fewer bytes than asked); returns
   length, or the kernel's error code. */
static long write_all(const char *data, long length)
{
    long done = 0;
    while (done < length) {
        long n = elyz_sys_debug_write((long)(data + done), length - done);
        if (n < 0) return n;
        if (n == 0) break;
        done += n;
    }
    return done;
}

void elyz_debug_flush(void)
{
    if (line_length) {
        write_all(line, line_length);
        line_length = 0;
    }
}

void elyz_debug_putc(char c)
{
    line[line_length++] = c;
    if (c == '\n' || line_length == (long)sizeof line)
        elyz_debug_flush();
}

long elyz_write(const char *data, long length)
{
    elyz_debug_flush();
    return write_all(data, length);
}

void elyz_exit(long code)
{
    elyz_debug_flush();
    elyz_sys_exit(code);
}

void elyz_fatal(const char *msg)
{
    static const char head[] = "fatal: ";
    elyz_debug_flush();
    write_all(head, sizeof head - 1);
    long n = 0;
    while (msg[n]) n++;
    write_all(msg, n);
    write_all("\n", 1);
    elyz_sys_exit(ELYZ_EXIT_FATAL);
}
