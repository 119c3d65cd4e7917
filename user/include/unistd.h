/* The common sysroot's unistd.h, plus what the GC's code calls. */
#ifndef ELYZ_USER_UNISTD_H
#define ELYZ_USER_UNISTD_H
#include_next <unistd.h>
int getpagesize(void);              /* 4096 */
#endif
