/* x86_64 memcpy, memmove and memset with the string instructions (they
 * override the weak generic ones of arch/common/runtime/runtime.c).
 * Eight bytes at a time with rep movsq/stosq, the tail with movsb/stosb;
 * memmove copies backwards (std) when the destination overlaps the
 * source from above. */
#include <stddef.h>
#include <stdint.h>

/* Returns dst after copying n bytes from src (the areas must not overlap).
   Never fails. */
void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    size_t quads = n >> 3, rest = n & 7;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(quads) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(rest) : : "memory");
    return dst;
}

/* Returns dst after copying n bytes from src to dst, correct for any
   overlap.  Never fails. */
void *memmove(void *dst, const void *src, size_t n)
{
    if ((uintptr_t)dst - (uintptr_t)src >= n)      /* no harmful overlap */
        return memcpy(dst, src, n);
    /* dst is above src and overlaps: copy from the end, the n & 7 top bytes
       one at a time (rdi/rsi then point at the byte below them), then the
       quads below (from 7 bytes lower: the start of the last quad).  The
       direction flag is set and cleared inside this one statement: the
       compiler must never run code (or call memcpy) while it is set. */
    unsigned char *d = (unsigned char *)dst + n - 1;
    const unsigned char *s = (const unsigned char *)src + n - 1;
    size_t rest = n & 7, quads = n >> 3;
    __asm__ volatile(
        "std\n\t"
        "rep movsb\n\t"
        "sub $7, %%rdi\n\t"
        "sub $7, %%rsi\n\t"
        "mov %[quads], %%rcx\n\t"
        "rep movsq\n\t"
        "cld"
        : "+D"(d), "+S"(s), "+c"(rest)
        : [quads] "r"(quads)
        : "memory", "cc");
    return dst;
}

/* Returns dst after setting its n bytes to (unsigned char)c.  Never fails. */
void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    uint64_t pattern = (unsigned char)c * 0x0101010101010101ULL;
    size_t quads = n >> 3, rest = n & 7;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(quads) : "a"(pattern) : "memory");
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(rest) : "a"(pattern) : "memory");
    return dst;
}
