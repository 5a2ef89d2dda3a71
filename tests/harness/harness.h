/* harness.h - sluice's own small test framework.
 *
 * A test file defines test functions and one TEST_MAIN listing them:
 *
 *     static void smooth_3_to_1_split(void) { CHECK_EQ_INT(balance_pick(b), 0); }
 *     TEST_MAIN(RUN(smooth_3_to_1_split))
 *
 * A failed CHECK prints file, line and both operands, marks the running test failed
 * and carries on; REQUIRE variants return from the test function at once. The binary
 * exits 0 when every test passed, 1 otherwise, and 77 (ctest SKIP) when a test called
 * SKIP(). `./test_x NAME` runs only the test called NAME.
 */
#ifndef SLUICE_TEST_HARNESS_H
#define SLUICE_TEST_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct th_state {
    const char *current;   /* name of the running test */
    int failed_checks;     /* in the running test */
    int tests_run, tests_failed, tests_skipped;
    int skip_current;
    const char *only;      /* run just this test, from argv[1] */
};
extern struct th_state th;

void th_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Returns ok; when it is 0, reports the failure like th_fail. */
int th_check(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void th_run(const char *name, void (*fn)(void));
int th_finish(void);

#define RUN(fn) th_run(#fn, fn);

#define TEST_MAIN(...)                                                         \
    struct th_state th;                                                        \
    int main(int argc, char **argv)                                            \
    {                                                                          \
        memset(&th, 0, sizeof th);                                             \
        th.only = argc > 1 ? argv[1] : NULL;                                   \
        __VA_ARGS__                                                            \
        return th_finish();                                                    \
    }

/* Stop the running test and count it as skipped (with the reason printed). */
#define SKIP(...)                                                              \
    do {                                                                       \
        printf("  skip %s: ", th.current);                                     \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
        th.skip_current = 1;                                                   \
        return;                                                                \
    } while (0)

/* A function, not a ?: expression, so a CHECK used as a statement leaves no
 * unused value behind. The message arguments are evaluated either way. */
#define CHECK_MSG_(ok, ...) th_check((ok) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

#define CHECK(cond) CHECK_MSG_((cond), "CHECK(%s)", #cond)
#define REQUIRE(cond)                                                          \
    do { if (!CHECK(cond)) return; } while (0)

#define CHECK_EQ_INT(a, b)                                                     \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        CHECK_MSG_(a_ == b_, "%s == %s: %lld != %lld", #a, #b, a_, b_);        \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                     \
    do {                                                                       \
        unsigned long long a_ = (unsigned long long)(a);                       \
        unsigned long long b_ = (unsigned long long)(b);                       \
        CHECK_MSG_(a_ == b_, "%s == %s: %llu != %llu", #a, #b, a_, b_);        \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                     \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        CHECK_MSG_(a_ && b_ && strcmp(a_, b_) == 0,                            \
                   "%s == %s: \"%s\" != \"%s\"", #a, #b,                       \
                   a_ ? a_ : "(null)", b_ ? b_ : "(null)");                    \
    } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                        \
    do {                                                                       \
        const char *h_ = (hay), *n_ = (needle);                                \
        CHECK_MSG_(h_ && n_ && strstr(h_, n_) != NULL,                         \
                   "%s contains %s: \"%s\" lacks \"%s\"", #hay, #needle,       \
                   h_ ? h_ : "(null)", n_ ? n_ : "(null)");                    \
    } while (0)

#define REQUIRE_EQ_INT(a, b)                                                   \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (!CHECK_MSG_(a_ == b_, "%s == %s: %lld != %lld", #a, #b, a_, b_))   \
            return;                                                            \
    } while (0)

#endif
