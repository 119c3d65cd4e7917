/* Sends the C runtime's malloc/free/realloc to the RPython kernel heap
 * (elyz/mm/heap.py, exported as rpy_heap_*) once the kernel calls
 * elyz_use_kernel_heap(). Until then they use the early bump arena. */
#include <stddef.h>
#include "elyz_runtime.h"

extern long rpy_heap_malloc(long size);
extern long rpy_heap_realloc(long addr, long size);
extern long rpy_heap_free(long addr);

static void *kernel_malloc(size_t size) { return (void *)rpy_heap_malloc((long)size); }
static void *kernel_realloc(void *p, size_t size) { return (void *)rpy_heap_realloc((long)p, (long)size); }
static void kernel_free(void *p) { rpy_heap_free((long)p); }

void elyz_use_kernel_heap(void)
{
    elyz_set_allocator(kernel_malloc, kernel_free, kernel_realloc);
}
