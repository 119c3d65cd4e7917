/* memcpy, memmove and memset for user programs with the string
 * instructions (they override the weak generic ones of
 * arch/common/runtime/runtime.c): the GC copies and clears whole nurseries
 * and arenas with them.  The direction flag is clear (the ABI says so at
 * every call) and never set here. */
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    if ((uintptr_t)dst - (uintptr_t)src >= n)      /* no harmful overlap */
        return memcpy(dst, src, n);
    /* dst lies above src and overlaps it: copy from the top down. */
    unsigned char *d = (unsigned char *)dst + n;
    const unsigned char *s = (const unsigned char *)src + n;
    while (n >= 8 && ((uintptr_t)d & 7) == 0 && ((uintptr_t)s & 7) == 0) {
        d -= 8; s -= 8; n -= 8;
        *(uint64_t *)d = *(const uint64_t *)s;
    }
    while (n--) *--d = *--s;
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}
