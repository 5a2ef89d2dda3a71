/* usage_micro.c - cost of core/proxy/usage per scanned response: usage_scan_init, the
 * body fed in one span, usage_scan_end. Default body: bench/body/chat_response.json
 * (the reply the instruction benchmark relays). Not a test. Build and run with
 * bench/micro/usage_micro.sh: instructions per body under callgrind (deterministic),
 * then ns per body natively.
 *
 * usage: usage_micro ITERATIONS [BODY_FILE [sse]] */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/usage.h"

static struct usage_scan scan;
static char body[1 << 20];

int main(int argc, char **argv)
{
    long i, n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    const char *path = argc > 2 ? argv[2] : "bench/body/chat_response.json";
    enum usage_format f = argc > 3 && !strcmp(argv[3], "sse") ? USAGE_SSE : USAGE_JSON;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        perror(path);
        return 1;
    }
    size_t len = fread(body, 1, sizeof body, fp);
    fclose(fp);
    struct usage u;
    struct timespec t0, t1;
    long long sink = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < n; i++) {
        usage_scan_init(&scan, f);
        usage_scan_feed(&scan, body, len);
        usage_scan_end(&scan, &u);
        sink += u.total + u.model[0];
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%ld bodies of %zu bytes, %.1f ns per body (%lld/%lld/%lld '%s', sink %lld)\n", n, len,
           ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)n,
           (long long)u.prompt, (long long)u.completion, (long long)u.total, u.model, sink);
    return 0;
}
