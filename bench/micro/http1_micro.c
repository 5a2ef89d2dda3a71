/* http1_micro.c - cost of core/http1 per proxied request: one request parse and one
 * response parse, with the exact heads the instruction benchmark exchanges (h2load's
 * POST /v1/chat/completions with a 300-byte body; the nginx stub's 200 with 581 bytes).
 * Not a test. Build and run with bench/micro/http1_micro.sh, which reports
 * instructions per pair under callgrind (deterministic) and ns per pair natively.
 *
 * usage: http1_micro ITERATIONS */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http1/http1.h"

static const char req_head[] =
    "POST /v1/chat/completions HTTP/1.1\r\n"
    "Host: 127.0.0.1:18084\r\n"
    "user-agent: h2load nghttp2/1.52.0\r\n"
    "authorization: Bearer sk-bench-0000000000000000\r\n"
    "x-portkey-provider: openai\r\n"
    "x-portkey-custom-host: http://127.0.0.1:18081/v1\r\n"
    "content-type: application/json\r\n"
    "Content-Length: 300\r\n"
    "\r\n";

static const char resp_head[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx\r\n"
    "Date: Mon, 23 Nov 2026 09:21:38 GMT\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 581\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

static char req[4096], resp[4096];
static size_t req_len, resp_len;
static struct http1_head head;

/* One message, as the proxy consumes it: HEAD, the body in one span, DONE. */
static int one(struct http1_parser *p, const char *m, size_t len)
{
    size_t off = 0, used, blen;
    const char *b;
    int events = 0;
    for (;;) {
        enum http1_event ev = http1_parse(p, m + off, len - off, &used, &head, &b, &blen);
        off += used;
        events++;
        if (ev == HTTP1_DONE)
            return events;
        if (ev != HTTP1_HEAD && ev != HTTP1_BODY) {
            fprintf(stderr, "unexpected event %d (%u %s)\n", (int)ev, p->status,
                    p->reason ? p->reason : "");
            exit(1);
        }
    }
}

static size_t build(char *buf, const char *h, size_t body)
{
    size_t n = strlen(h);
    memcpy(buf, h, n);
    memset(buf + n, 'x', body);
    return n + body;
}

int main(int argc, char **argv)
{
    long i, n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    struct http1_parser rq, rs;
    struct timespec t0, t1;
    unsigned long sink = 0;
    req_len = build(req, req_head, 300);
    resp_len = build(resp, resp_head, 581);
    http1_parser_init(&rq, HTTP1_REQUEST, NULL);
    http1_parser_init(&rs, HTTP1_RESPONSE, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < n; i++) {
        sink += (unsigned long)one(&rq, req, req_len);
        http1_parser_expect_response_to(&rs, HTTP_POST);
        sink += (unsigned long)one(&rs, resp, resp_len);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%ld pairs, %.1f ns per pair (events %lu)\n", n,
           ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)n,
           sink);
    return 0;
}
