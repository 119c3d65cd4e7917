/* Hosted driver for the C runtime tests (tests/runtime/test_runtime_c.py).
 *
 * It is linked with arch/common/runtime/runtime.c (and, for the x86_64
 * string functions, arch/x86_64/string.c) compiled freestanding with their
 * libc names renamed to elyz_test_* (so that they do not clash with the
 * host's libc), and provides what the runtime needs from a program:
 * elyz_fatal and elyz_debug_putc.
 *
 *   host_driver CHECK     runs one check; prints "ok" and exits 0 when it
 *                         holds, prints why and exits 1 when it does not;
 *                         elyz_fatal exits 2.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The runtime's functions under their test names. */
void *elyz_test_malloc(size_t size);
void *elyz_test_calloc(size_t count, size_t size);
void *elyz_test_realloc(void *p, size_t size);
void elyz_test_free(void *p);
void *elyz_test_memcpy(void *dst, const void *src, size_t n);
void *elyz_test_memmove(void *dst, const void *src, size_t n);
void *elyz_test_memset(void *dst, int c, size_t n);

typedef void *(*elyz_malloc_fn)(size_t);
typedef void (*elyz_free_fn)(void *);
typedef void *(*elyz_realloc_fn)(void *, size_t);
void elyz_bump_init(void *start, size_t size);
size_t elyz_bump_used(void);
void elyz_set_allocator(elyz_malloc_fn m, elyz_free_fn f, elyz_realloc_fn r);

void elyz_fatal(const char *msg)
{
    printf("elyz_fatal: %s\n", msg);
    exit(2);
}

void elyz_debug_putc(char c)
{
    putchar(c);
}

#define ARENA_BYTES 16384
#define BUMP_ALIGNMENT 16
#define DIRTY_BYTE 0xAA
static unsigned char arena[ARENA_BYTES] __attribute__((aligned(4096)));

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { printf("FAIL %s:%d: ", __FILE__, __LINE__); \
    printf(__VA_ARGS__); printf("\n"); failures++; } } while (0)

/* Puts a fresh arena, full of DIRTY_BYTE, behind the bump allocator. */
static void fresh_arena(void)
{
    memset(arena, DIRTY_BYTE, sizeof arena);
    elyz_bump_init(arena, sizeof arena);
}

static int in_arena(const void *p)
{
    return (const unsigned char *)p >= arena && (const unsigned char *)p < arena + ARENA_BYTES;
}

/* ------------------------------------------------------------ allocation */

static void check_bump_huge(void)
{
    static const size_t huge[] = {
        SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 7, SIZE_MAX - 14, SIZE_MAX - 15, SIZE_MAX - 16,
        SIZE_MAX / 2 + 1, ARENA_BYTES + 1,
    };
    fresh_arena();
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        void *p = elyz_test_malloc(huge[i]);
        CHECK(p == NULL, "malloc(%#zx) returned %p, not NULL", huge[i], p);
    }
    CHECK(elyz_bump_used() == 0, "the refused requests used %zu bytes", elyz_bump_used());
    CHECK(elyz_test_malloc(ARENA_BYTES) == arena, "the whole arena is still there");
}

static void check_bump_small(void)
{
    unsigned char *blocks[2 * 65];
    size_t sizes[2 * 65];
    size_t count = 0;
    fresh_arena();
    for (size_t round = 0; round < 2; round++) {
        for (size_t size = 0; size <= 64; size++) {
            unsigned char *p = elyz_test_malloc(size);
            CHECK(p != NULL, "malloc(%zu) failed with room left", size);
            if (p == NULL) return;
            CHECK(((uintptr_t)p & (BUMP_ALIGNMENT - 1)) == 0, "malloc(%zu) = %p is not 16-aligned",
                  size, (void *)p);
            CHECK(in_arena(p) && p + size <= arena + ARENA_BYTES, "malloc(%zu) = %p outside the arena",
                  size, (void *)p);
            memset(p, (int)count, size);
            blocks[count] = p;
            sizes[count] = size;
            count++;
        }
    }
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < count; j++) {
            if (i == j) continue;
            /* distinct, and no block reaches into another (a size 0 block counts as 1 byte) */
            size_t extent = sizes[i] ? sizes[i] : 1;
            CHECK(!(blocks[j] >= blocks[i] && blocks[j] < blocks[i] + extent),
                  "block %zu (%p, size %zu) overlaps block %zu (%p)", i, (void *)blocks[i], sizes[i],
                  j, (void *)blocks[j]);
        }
        for (size_t k = 0; k < sizes[i]; k++)
            CHECK(blocks[i][k] == (unsigned char)i, "block %zu byte %zu was overwritten", i, k);
    }
}

static void check_bump_exhaustion(void)
{
    size_t blocks = 0;
    fresh_arena();
    while (elyz_test_malloc(1) != NULL) {
        blocks++;
        if (blocks > ARENA_BYTES) break;
    }
    CHECK(blocks == ARENA_BYTES / BUMP_ALIGNMENT, "%zu one-byte blocks fit, expected %d",
          blocks, ARENA_BYTES / BUMP_ALIGNMENT);
    CHECK(elyz_test_malloc(0) == NULL, "malloc(0) of a full arena is not NULL");
    CHECK(elyz_test_calloc(1, 1) == NULL, "calloc(1, 1) of a full arena is not NULL");
    CHECK(elyz_bump_used() == ARENA_BYTES, "used %zu of %d", elyz_bump_used(), ARENA_BYTES);

    fresh_arena();
    void *most = elyz_test_malloc(ARENA_BYTES - BUMP_ALIGNMENT);
    CHECK(most == arena, "malloc(arena - 16) = %p", most);
    CHECK(elyz_test_malloc(BUMP_ALIGNMENT + 1) == NULL, "17 bytes fit in the last 16");
    void *last = elyz_test_malloc(BUMP_ALIGNMENT);
    CHECK(last == arena + ARENA_BYTES - BUMP_ALIGNMENT, "the last 16 bytes: %p", last);
    CHECK(elyz_test_malloc(1) == NULL, "a byte fits in a full arena");
}

static void check_calloc(void)
{
    static const size_t overflowing[][2] = {
        {SIZE_MAX / 2 + 1, 2}, {2, SIZE_MAX / 2 + 1}, {SIZE_MAX, SIZE_MAX},
        {SIZE_MAX / 16 + 1, 16}, {((size_t)1 << 32) + 1, (size_t)1 << 32},
        /* no overflow in the product, but a size the arena cannot round up */
        {1, SIZE_MAX}, {SIZE_MAX, 1}, {1, SIZE_MAX - 7},
    };
    fresh_arena();
    for (size_t i = 0; i < sizeof overflowing / sizeof overflowing[0]; i++) {
        void *p = elyz_test_calloc(overflowing[i][0], overflowing[i][1]);
        CHECK(p == NULL, "calloc(%#zx, %#zx) returned %p, not NULL", overflowing[i][0],
              overflowing[i][1], p);
    }
    CHECK(elyz_bump_used() == 0, "the refused requests used %zu bytes", elyz_bump_used());
    unsigned char *z = elyz_test_calloc(10, 7);
    CHECK(z != NULL, "calloc(10, 7) failed");
    if (z == NULL) return;
    for (size_t k = 0; k < 70; k++)
        CHECK(z[k] == 0, "calloc block byte %zu is %#x (dirty arena not zeroed)", k, z[k]);
}

static size_t host_frees;
static void *host_malloc(size_t size) { return malloc(size); }
static void host_free(void *p) { host_frees++; free(p); }
static void *host_realloc(void *p, size_t size) { return realloc(p, size); }

static void check_realloc(void)
{
    fresh_arena();
    unsigned char *a = elyz_test_malloc(24);
    unsigned char *b = elyz_test_malloc(16);             /* a is not the last block */
    for (int k = 0; k < 24; k++) a[k] = (unsigned char)(k + 1);
    memset(b, 0x5B, 16);
    unsigned char *grown = elyz_test_realloc(a, 100);
    CHECK(grown != NULL && grown != a, "realloc(bump block, 100) = %p", (void *)grown);
    if (grown == NULL) return;
    for (int k = 0; k < 24; k++)
        CHECK(grown[k] == (unsigned char)(k + 1), "byte %d not copied", k);
    CHECK(b[0] == 0x5B && b[15] == 0x5B, "the neighbour block was touched");
    unsigned char *shrunk = elyz_test_realloc(grown, 8);
    CHECK(shrunk != NULL && shrunk[0] == 1 && shrunk[7] == 8, "realloc to 8 bytes lost data");
    CHECK(elyz_test_realloc(b, SIZE_MAX) == NULL, "realloc(bump block, SIZE_MAX) is not NULL");
    CHECK(b[0] == 0x5B, "a failed realloc touched the block");
    CHECK(elyz_test_realloc(NULL, SIZE_MAX - 7) == NULL, "realloc(NULL, SIZE_MAX - 7) is not NULL");

    /* Once an allocator is installed, a bump block still reallocates by
       copying into the new allocator's memory, and is never handed to its free. */
    elyz_set_allocator(host_malloc, host_free, host_realloc);
    unsigned char *moved = elyz_test_realloc(a, 40);
    CHECK(moved != NULL && !in_arena(moved), "realloc of a bump block after install = %p",
          (void *)moved);
    if (moved != NULL) {
        for (int k = 0; k < 24; k++)
            CHECK(moved[k] == (unsigned char)(k + 1), "byte %d not copied after install", k);
    }
    elyz_test_free(b);
    elyz_test_free(NULL);
    CHECK(host_frees == 0, "a bump block (or NULL) went to the installed free");
    elyz_test_free(moved);
    CHECK(host_frees == 1, "a block of the installed allocator did not go to its free");
    elyz_set_allocator(NULL, NULL, NULL);
}

/* ------------------------------------------------------ string functions */

#define MAX_SIZE 80
#define MAX_OFFSET 9
#define GUARD 32
#define BUFFER_BYTES (GUARD + MAX_OFFSET + MAX_SIZE + MAX_OFFSET + GUARD)

static int direction_flag_set(void)
{
    unsigned long flags;
    __asm__ volatile("pushfq; popq %0" : "=r"(flags));   /* the driver has no red zone */
    return (flags >> 10) & 1;
}

static void fill_pattern(unsigned char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(i * 7 + seed * 13 + 1);
}

/* What memmove must leave in buf: the copy made through a separate buffer. */
static void reference_move(unsigned char *buf, size_t dst, size_t src, size_t n)
{
    unsigned char tmp[MAX_SIZE];
    for (size_t i = 0; i < n; i++) tmp[i] = buf[src + i];
    for (size_t i = 0; i < n; i++) buf[dst + i] = tmp[i];
}

static void check_string_functions(void)
{
    /* Aligned buffers, so offsets 0..9 cover the aligned, the 8-byte
       misaligned and the odd cases of the quad-word paths. */
    static unsigned char buf[BUFFER_BYTES] __attribute__((aligned(16)));
    static unsigned char want[BUFFER_BYTES] __attribute__((aligned(16)));
    static unsigned char src_buf[BUFFER_BYTES] __attribute__((aligned(16)));
    int reported = 0;
    for (size_t n = 0; n <= MAX_SIZE; n++) {
        for (size_t s = 0; s <= MAX_OFFSET; s++) {
            for (size_t d = 0; d <= MAX_OFFSET; d++) {
                /* memmove inside one buffer: dst above src (backward copy),
                   below it (forward), or equal */
                size_t src = GUARD + s, dst = GUARD + d;
                fill_pattern(buf, BUFFER_BYTES, (unsigned)(n + s + d));
                memcpy(want, buf, BUFFER_BYTES);
                reference_move(want, dst, src, n);
                void *r = elyz_test_memmove(buf + dst, buf + src, n);
                int df = direction_flag_set();
                if ((r != buf + dst || memcmp(buf, want, BUFFER_BYTES) != 0 || df) && reported++ < 10)
                    CHECK(0, "memmove(buf+%zu, buf+%zu, %zu): %s", dst, src, n,
                          df ? "direction flag left set" :
                          r != buf + dst ? "wrong return value" : "wrong contents");

                /* memcpy between two buffers */
                fill_pattern(src_buf, BUFFER_BYTES, (unsigned)(n * 3 + s));
                fill_pattern(buf, BUFFER_BYTES, (unsigned)(n + d + 101));
                memcpy(want, buf, BUFFER_BYTES);
                memcpy(want + dst, src_buf + src, n);
                r = elyz_test_memcpy(buf + dst, src_buf + src, n);
                if ((r != buf + dst || memcmp(buf, want, BUFFER_BYTES) != 0 || direction_flag_set())
                    && reported++ < 10)
                    CHECK(0, "memcpy(buf+%zu, src+%zu, %zu) is wrong", dst, src, n);
            }
            /* memset, with a value wider than a byte */
            static const int values[] = {0, 0xA5, 0x1FF, -1};
            for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
                size_t dst = GUARD + s;
                fill_pattern(buf, BUFFER_BYTES, (unsigned)(n + s + v));
                memcpy(want, buf, BUFFER_BYTES);
                memset(want + dst, values[v], n);
                void *r = elyz_test_memset(buf + dst, values[v], n);
                if ((r != buf + dst || memcmp(buf, want, BUFFER_BYTES) != 0 || direction_flag_set())
                    && reported++ < 10)
                    CHECK(0, "memset(buf+%zu, %#x, %zu) is wrong", dst, values[v], n);
            }
        }
    }
    /* a longer overlapping move in both directions, past the small sizes */
    static unsigned char big[4096 + 64] __attribute__((aligned(16)));
    for (size_t shift = 1; shift <= 17; shift += 8) {
        for (int up = 0; up <= 1; up++) {
            static unsigned char expect[sizeof big];
            fill_pattern(big, sizeof big, (unsigned)shift);
            memcpy(expect, big, sizeof big);
            size_t dst = up ? 3 + shift : 3, src = up ? 3 : 3 + shift;
            memmove(expect + dst, big + src, 4000);
            elyz_test_memmove(big + dst, big + src, 4000);
            CHECK(memcmp(big, expect, sizeof big) == 0 && !direction_flag_set(),
                  "memmove of 4000 bytes by %s%zu is wrong", up ? "+" : "-", shift);
        }
    }
}

int main(int argc, char **argv)
{
    static const struct { const char *name; void (*run)(void); } checks[] = {
        {"bump_huge", check_bump_huge},
        {"bump_small", check_bump_small},
        {"bump_exhaustion", check_bump_exhaustion},
        {"calloc", check_calloc},
        {"realloc", check_realloc},
        {"string_functions", check_string_functions},
    };
    setvbuf(stdout, NULL, _IONBF, 0);      /* keep what was printed before a crash */
    if (argc != 2) {
        printf("usage: %s CHECK\n", argv[0]);
        return 1;
    }
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (strcmp(argv[1], checks[i].name) == 0) {
            checks[i].run();
            if (failures == 0) printf("ok\n");
            return failures ? 1 : 0;
        }
    }
    printf("no check named %s\n", argv[1]);
    return 1;
}
