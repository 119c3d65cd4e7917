#ifndef ELYZ_ASSERT_H
#define ELYZ_ASSERT_H
/* RPython's ll asserts are compiled out unless RPY_ASSERT is defined. */
void elyz_assert_failed(const char *expr, const char *file, int line) __attribute__((noreturn));
#ifdef NDEBUG
#  define assert(x) ((void)0)
#else
#  define assert(x) ((x) ? (void)0 : elyz_assert_failed(#x, __FILE__, __LINE__))
#endif
#endif
