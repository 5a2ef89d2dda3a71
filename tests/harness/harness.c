/* harness.c - the runner behind harness.h. */
#include "harness.h"

#include <stdarg.h>
#include <stdlib.h>

static void report(const char *file, int line, const char *fmt, va_list ap)
{
    printf("  FAIL %s:%d: [%s] ", file, line, th.current ? th.current : "?");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    th.failed_checks++;
}

void th_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(file, line, fmt, ap);
    va_end(ap);
}

int th_check(int ok, const char *file, int line, const char *fmt, ...)
{
    if (ok)
        return 1;
    va_list ap;
    va_start(ap, fmt);
    report(file, line, fmt, ap);
    va_end(ap);
    return 0;
}

void th_run(const char *name, void (*fn)(void))
{
    if (th.only && strcmp(th.only, name) != 0)
        return;
    th.current = name;
    th.failed_checks = 0;
    th.skip_current = 0;
    fn();
    th.tests_run++;
    if (th.failed_checks) {
        th.tests_failed++;
        printf("not ok %s\n", name);
    } else if (th.skip_current) {
        th.tests_skipped++;
        printf("skip   %s\n", name);
    } else {
        printf("ok     %s\n", name);
    }
    fflush(stdout);
    th.current = NULL;
}

int th_finish(void)
{
    printf("%d tests, %d failed, %d skipped\n", th.tests_run, th.tests_failed,
           th.tests_skipped);
    if (th.only && th.tests_run == 0) {
        printf("no test named %s\n", th.only);
        return 1;
    }
    if (th.tests_failed)
        return 1;
    if (th.tests_skipped && th.tests_skipped == th.tests_run)
        return 77;
    return 0;
}
