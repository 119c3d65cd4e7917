/* The C half of program start (crt0.S has the first instructions).
 *
 * elyz_user_start(args, length, stack_size, stack_top):
 *   1. installs the heap allocator behind malloc (malloc.c),
 *   2. gives RPython's stack check the stack's bounds: [stack_top -
 *      stack_size, stack_top), stack_size ELYZ_DEFAULT_STACK_SIZE when the
 *      kernel passed 0, at most ELYZ_MAX_STACK_SIZE (what the GC's shadow
 *      stack is sized for), with ELYZ_STACK_RESERVE kept in reserve,
 *   3. runs RPython_StartupCode() (the GC: nursery, shadow stack),
 *   4. calls rpy_user_main(args, length) (user/lib/multicall.py): the
 *      program named by the first argument,
 *   5. exits with its result.
 * An RPython exception that escapes (a bug, MemoryError, StackOverflow)
 * prints the RPython traceback and exits with ELYZ_EXIT_FATAL (127). */
#include <stddef.h>
#include <string.h>
#include "elyz_runtime.h"
#include "elyz_user.h"

/* The RPython exception state (generated code: pypy_g_ExcData). */
struct pypy_ExcData0 {
    void *ed_exc_type;
    void *ed_exc_value;
};
extern struct pypy_ExcData0 pypy_g_ExcData;
extern void pypy_debug_catch_fatal_exception(void);

static void check_no_exception(const char *where)
{
    if (pypy_g_ExcData.ed_exc_type == NULL)
        return;
    elyz_debug_flush();
    static const char head[] = "fatal: an RPython exception escaped ";
    elyz_write(head, sizeof head - 1);
    elyz_write(where, (long)strlen(where));
    elyz_write("\n", 1);
    pypy_debug_catch_fatal_exception();     /* the traceback, then abort() */
    elyz_exit(ELYZ_EXIT_FATAL);
}

void elyz_user_start(const char *args, long length, long stack_size, char *stack_top)
{
    elyz_heap_install();
    if (stack_size <= 0)
        stack_size = ELYZ_DEFAULT_STACK_SIZE;
    if (stack_size > (long)ELYZ_MAX_STACK_SIZE)
        stack_size = ELYZ_MAX_STACK_SIZE;
    elyz_stack_bounds(stack_top - stack_size, stack_top, ELYZ_STACK_RESERVE);
    if (args == NULL || length < 0)
        length = 0;
    RPython_StartupCode();
    check_no_exception("the GC's set-up");
    long code = rpy_user_main((long)args, length);
    check_no_exception("the program");
    elyz_exit(code);
}
