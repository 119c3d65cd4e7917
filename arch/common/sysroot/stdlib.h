#ifndef ELYZ_STDLIB_H
#define ELYZ_STDLIB_H
#include <stddef.h>
void *malloc(size_t size);
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);
void abort(void) __attribute__((noreturn));
#define EXIT_FAILURE 1
#define EXIT_SUCCESS 0
#endif
