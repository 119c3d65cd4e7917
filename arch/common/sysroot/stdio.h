#ifndef ELYZ_STDIO_H
#define ELYZ_STDIO_H
/* No stdio in a freestanding program: only the type names the generated
   headers mention. Any call to these fails at link time. */
#include <stddef.h>
#include <stdarg.h>
typedef struct elyz_no_file FILE;
#endif
