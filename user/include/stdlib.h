/* The common sysroot's stdlib.h, plus what the GC's code calls. */
#ifndef ELYZ_USER_STDLIB_H
#define ELYZ_USER_STDLIB_H
#include_next <stdlib.h>
char *getenv(const char *name);     /* always NULL: no environment */
#endif
