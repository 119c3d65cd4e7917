/* What the GC's code calls: madvise on memory it frees (a hint: a no-op),
 * and mprotect, only in its nursery-debugging mode (PYPY_GC_NURSERY_DEBUG,
 * which the user image's constants turn off): fatal if ever reached. */
#ifndef ELYZ_USER_SYS_MMAN_H
#define ELYZ_USER_SYS_MMAN_H
#include <stddef.h>
#define MADV_DONTNEED 4
#define MADV_FREE 8
int madvise(void *addr, size_t length, int advice);
int mprotect(void *addr, size_t length, int prot);
#endif
