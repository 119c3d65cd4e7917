/* The user heap: malloc, free and realloc for RPython's GC and the runtime
 * (calloc is the common runtime's malloc + memset).
 *
 * Memory comes from the kernel: allocate(size, READ|WRITE|MAP) makes a
 * MemoryObject, map(desc, vaddr, 0, size, PROT_READ|PROT_WRITE) maps it at
 * the end of the heap, so the heap is one contiguous range [ELYZ_HEAP_BASE,
 * heap_end) growing up to ELYZ_HEAP_LIMIT.  The first growth maps
 * ELYZ_HEAP_FIRST_CHUNK (640 KiB: what every program's start-up needs, with
 * some slack), or more in whole ELYZ_HEAP_FIRST_UNITs (64 KiB) if the first
 * request needs it; each later one at least ELYZ_HEAP_CHUNK (1 MiB) and at
 * least a quarter of the heap so far (few descriptors: about 25 for 256
 * MiB), whole MiB, at most ELYZ_MAX_OBJECT_SIZE.  The heap never shrinks:
 * memory freed is reused.
 *
 * Blocks, 16-byte aligned, tile the heap; each starts with a header:
 *     prev_size  the size of the block just below (0 for the first)
 *     size       this block's size in bytes, header included, a multiple of
 *                16, at least MIN_BLOCK; bit 0 set when the block is in use
 * A free block also holds the links of the free list (next, prev) where an
 * allocated one holds its payload.  A sentinel header of size 0, in use,
 * ends the heap (its prev_size is the last block's size).  Two free blocks
 * are never neighbours: free() merges with both.  malloc is first fit over
 * the free list (newest first) and splits off the rest when it is at least
 * MIN_BLOCK; when nothing fits, the heap grows and the new memory merges
 * with a free last block.  realloc grows in place into a free neighbour
 * above when it can.
 *
 * free() of something that is not an allocated block of this heap is
 * fatal (elyz_fatal), never silent corruption. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "elyz_runtime.h"
#include "elyz_user.h"

typedef struct block {
    size_t prev_size;
    size_t size;
    struct block *next, *prev;      /* free blocks only */
} block_t;

#define HEADER          ((size_t)16)
#define MIN_BLOCK       ((size_t)32)
#define USED            ((size_t)1)
#define ALIGN_MASK      ((size_t)15)
#define HEAP_BASE       ((char *)ELYZ_HEAP_BASE)
#define HEAP_LIMIT      ((char *)ELYZ_HEAP_LIMIT)
#define HEAP_RIGHTS     (RIGHT_READ | RIGHT_WRITE | RIGHT_MAP)

static char *heap_end = (char *)ELYZ_HEAP_BASE;
static block_t *free_list;
static long stats[ELYZ_HEAP_INFO_COUNT];

static inline size_t bsize(const block_t *b) { return b->size & ~USED; }
static inline int used(const block_t *b) { return (b->size & USED) != 0; }
static inline block_t *above(block_t *b) { return (block_t *)((char *)b + bsize(b)); }
static inline block_t *below(block_t *b)
{
    return b->prev_size ? (block_t *)((char *)b - b->prev_size) : NULL;
}
static inline block_t *sentinel(void) { return (block_t *)(heap_end - HEADER); }

static void unlink_free(block_t *b)
{
    if (b->prev) b->prev->next = b->next; else free_list = b->next;
    if (b->next) b->next->prev = b->prev;
    stats[ELYZ_HEAP_FREE_BLOCKS]--;
}

static void push_free(block_t *b)
{
    b->prev = NULL;
    b->next = free_list;
    if (free_list) free_list->prev = b;
    free_list = b;
    stats[ELYZ_HEAP_FREE_BLOCKS]++;
}

/* Marks b (not on the free list, USED clear) free: merges it with free
   neighbours and puts the result on the free list. */
static void release_block(block_t *b)
{
    block_t *n = above(b);
    if (!used(n)) {
        unlink_free(n);
        b->size += n->size;
    }
    block_t *p = below(b);
    if (p && !used(p)) {
        unlink_free(p);
        p->size += b->size;
        b = p;
    }
    above(b)->prev_size = bsize(b);
    push_free(b);
}

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

/* Maps at least need more bytes at heap_end; returns 1, or 0 when the
   kernel refuses or the heap would pass its limit. */
static int grow(size_t need)
{
    size_t mapped = (size_t)(heap_end - HEAP_BASE);
    size_t least = mapped == 0 ? ELYZ_HEAP_FIRST_CHUNK : ELYZ_HEAP_CHUNK;
    size_t unit = mapped == 0 ? ELYZ_HEAP_FIRST_UNIT : ELYZ_HEAP_CHUNK;
    size_t chunk = need + 2 * HEADER;
    if (chunk < least) chunk = least;
    if (chunk < mapped / 4) chunk = mapped / 4;
    chunk = round_up(chunk, unit);
    if (chunk > ELYZ_MAX_OBJECT_SIZE) {
        chunk = round_up(need + 2 * HEADER, unit);
        if (chunk > ELYZ_MAX_OBJECT_SIZE) return 0;
    }
    if (chunk > (size_t)(HEAP_LIMIT - heap_end)) return 0;
    long desc = elyz_sys_allocate((long)chunk, HEAP_RIGHTS);
    if (desc < 0) return 0;
    if (elyz_sys_map(desc, (long)heap_end, 0, (long)chunk, PROT_READ | PROT_WRITE) < 0) {
        elyz_sys_release(desc);
        return 0;
    }
    stats[ELYZ_HEAP_CHUNKS]++;
    block_t *b;
    if (mapped == 0) {              /* the first block, then the sentinel */
        b = (block_t *)HEAP_BASE;
        b->prev_size = 0;
        b->size = chunk - HEADER;
    } else {                        /* the old sentinel becomes a block */
        b = sentinel();
        b->size = chunk;
    }
    heap_end += chunk;
    sentinel()->size = 0 | USED;
    stats[ELYZ_HEAP_MAPPED] = heap_end - HEAP_BASE;
    release_block(b);
    return 1;
}

/* Turns free block b (on the list) into an allocated block of need bytes,
   splitting off the rest. */
static void *take(block_t *b, size_t need)
{
    unlink_free(b);
    size_t have = bsize(b);
    if (have - need >= MIN_BLOCK) {
        block_t *rest = (block_t *)((char *)b + need);
        rest->size = have - need;
        rest->prev_size = need;
        above(rest)->prev_size = rest->size;
        push_free(rest);
        have = need;
    }
    b->size = have | USED;
    stats[ELYZ_HEAP_IN_USE] += have;
    if (stats[ELYZ_HEAP_IN_USE] > stats[ELYZ_HEAP_PEAK_IN_USE])
        stats[ELYZ_HEAP_PEAK_IN_USE] = stats[ELYZ_HEAP_IN_USE];
    stats[ELYZ_HEAP_MALLOCS]++;
    return (char *)b + HEADER;
}

/* The block size for a request of n bytes, or 0 when n is too large. */
static size_t block_size(size_t n)
{
    if (n > (size_t)(HEAP_LIMIT - HEAP_BASE)) return 0;
    size_t need = (n + HEADER + ALIGN_MASK) & ~ALIGN_MASK;
    return need < MIN_BLOCK ? MIN_BLOCK : need;
}

static void *heap_malloc(size_t n)
{
    size_t need = block_size(n);
    if (need == 0) return NULL;
    for (;;) {
        for (block_t *b = free_list; b; b = b->next)
            if (bsize(b) >= need)
                return take(b, need);
        if (!grow(need)) return NULL;
    }
}

/* The header of the block whose payload is p; fatal unless it is an
   allocated block of this heap. */
static block_t *checked_block(void *p, const char *who)
{
    char *c = p;
    block_t *b = (block_t *)(c - HEADER);
    if (c < HEAP_BASE + HEADER || c >= heap_end || ((uintptr_t)c & ALIGN_MASK)
        || !used(b) || bsize(b) < MIN_BLOCK || (char *)above(b) > (char *)sentinel()
        || above(b)->prev_size != bsize(b))
        elyz_fatal(who);
    return b;
}

static void heap_free(void *p)
{
    if (p == NULL) return;
    block_t *b = checked_block(p, "free(): not an allocated block (double free?)");
    stats[ELYZ_HEAP_IN_USE] -= bsize(b);
    stats[ELYZ_HEAP_FREES]++;
    b->size &= ~USED;
    release_block(b);
}

static void *heap_realloc(void *p, size_t n)
{
    if (p == NULL) return heap_malloc(n);
    block_t *b = checked_block(p, "realloc(): not an allocated block");
    size_t need = block_size(n);
    if (need == 0) return NULL;
    size_t have = bsize(b);
    block_t *n_above = above(b);
    if (have < need && !used(n_above) && have + bsize(n_above) >= need) {
        unlink_free(n_above);           /* grow in place */
        stats[ELYZ_HEAP_IN_USE] += bsize(n_above);
        have += bsize(n_above);
        b->size = have | USED;
        above(b)->prev_size = have;
        if (stats[ELYZ_HEAP_IN_USE] > stats[ELYZ_HEAP_PEAK_IN_USE])
            stats[ELYZ_HEAP_PEAK_IN_USE] = stats[ELYZ_HEAP_IN_USE];
    }
    if (have >= need) {
        if (have - need >= MIN_BLOCK) { /* give the tail back */
            block_t *rest = (block_t *)((char *)b + need);
            rest->size = have - need;
            rest->prev_size = need;
            b->size = need | USED;
            stats[ELYZ_HEAP_IN_USE] -= rest->size;
            release_block(rest);
        }
        stats[ELYZ_HEAP_MALLOCS]++;
        return p;
    }
    void *q = heap_malloc(n);
    if (q == NULL) return NULL;
    memcpy(q, p, have - HEADER);
    heap_free(p);
    return q;
}

void elyz_heap_install(void)
{
    elyz_set_allocator(heap_malloc, heap_free, heap_realloc);
}

long elyz_heap_info(long which)
{
    if (which < 0 || which >= ELYZ_HEAP_INFO_COUNT) return -1;
    return stats[which];
}

/* Walks every block: returns 0 when the heap keeps its rules, else the
   negative number of the first rule broken. */
long elyz_heap_check(void)
{
    if (heap_end == HEAP_BASE) return free_list == NULL ? 0 : -1;
    size_t prev = 0, in_use = 0;
    long free_blocks = 0;
    block_t *b = (block_t *)HEAP_BASE;
    while (b != sentinel()) {
        if ((char *)b > (char *)sentinel()) return -2;         /* ran past the end */
        if (b->prev_size != prev) return -3;
        if (bsize(b) < MIN_BLOCK || (bsize(b) & ALIGN_MASK)) return -4;
        if (!used(b)) {
            free_blocks++;
            block_t *n = above(b);
            if (n != sentinel() && !used(n)) return -5;         /* unmerged neighbours */
        } else {
            in_use += bsize(b);
        }
        prev = bsize(b);
        b = above(b);
    }
    if (sentinel()->prev_size != prev || sentinel()->size != USED) return -6;
    long listed = 0;
    for (block_t *f = free_list; f; f = f->next) {
        if (used(f) || (f->next && f->next->prev != f)) return -7;
        if (++listed > free_blocks) return -8;
    }
    if (listed != free_blocks || listed != stats[ELYZ_HEAP_FREE_BLOCKS]) return -8;
    if ((long)in_use != stats[ELYZ_HEAP_IN_USE]) return -9;
    return 0;
}
