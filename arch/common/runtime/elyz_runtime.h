/* Interface between the common freestanding runtime and the program. */
#ifndef ELYZ_RUNTIME_H
#define ELYZ_RUNTIME_H
#include <stddef.h>

typedef void *(*elyz_malloc_fn)(size_t);
typedef void (*elyz_free_fn)(void *);
typedef void *(*elyz_realloc_fn)(void *, size_t);

/* Provided by the program: write one character of debug output. */
void elyz_debug_putc(char c);

/* Provided by the program: report msg and stop. */
void elyz_fatal(const char *msg) __attribute__((noreturn));

void elyz_bump_init(void *start, size_t size);
size_t elyz_bump_used(void);
void elyz_set_allocator(elyz_malloc_fn m, elyz_free_fn f, elyz_realloc_fn r);
/* The current stack is [bottom, top); RPython's stack check reports an
 * overflow once fewer than reserve bytes are left (runtime.c). */
void elyz_stack_bounds(void *bottom, void *top, long reserve);
extern char *elyz_stack_bottom;

typedef struct {
    char *stack_end;
    long stack_length;
    char report_error;
} rpy_stacktoobig_t;
#endif
