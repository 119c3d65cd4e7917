#ifndef ELYZ_STDIO_H
#define ELYZ_STDIO_H
/* The stdio of a freestanding program: only stderr, which the runtime
   sends to the program's elyz_debug_putc (the kernel: COM1). */
#include <stddef.h>
#include <stdarg.h>
typedef struct elyz_no_file FILE;
extern FILE *const stderr;
int fprintf(FILE *stream, const char *fmt, ...);
int vfprintf(FILE *stream, const char *fmt, va_list ap);
#endif
