/* test_http1_util.h - drives an http1 parser the way the proxy will: one buffer,
 * bytes appended `step` at a time, parse called on the unconsumed bytes, optional
 * compaction of those bytes whenever the parser asks for more. Every event is logged
 * as text ("HEAD POST /x|BODY|DONE|") so that runs with different splits can be
 * compared; consecutive BODY events are logged once, their bytes concatenated. */
#ifndef SLUICE_TEST_HTTP1_UTIL_H
#define SLUICE_TEST_HTTP1_UTIL_H

#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "http1/http1.h"

#define S(x) x, (sizeof(x) - 1)

struct run {
    char buf[1 << 17];
    size_t have, off;      /* bytes in buf, bytes consumed */
    size_t base;           /* bytes dropped from the front by compaction */
    char log[4096];
    size_t log_len;
    char body[1 << 16];
    size_t body_len;
    int heads, dones;
    size_t done_at[16];    /* stream offset just after each DONE */
    uint16_t status;       /* after ERROR */
    const char *reason;
    struct http1_head head; /* the last head (views valid without compaction) */
    int bad_views;         /* views that pointed outside the consumed bytes */
};

static inline void run_log(struct run *r, const char *s)
{
    size_t n = strlen(s);
    if (n >= 5 && r->log_len >= 5 && strcmp(s, "BODY|") == 0 &&
        memcmp(r->log + r->log_len - 5, "BODY|", 5) == 0)
        return;
    if (r->log_len + n < sizeof r->log) {
        memcpy(r->log + r->log_len, s, n + 1);
        r->log_len += n;
    }
}

static inline int inside(const struct run *r, const char *v, size_t n)
{
    return v >= r->buf && v + n <= r->buf + r->off;
}

static inline void run_head(struct run *r, const struct http1_head *h, int request)
{
    char line[512];
    uint32_t i;
    if (request) {
        snprintf(line, sizeof line, "HEAD %.*s %.*s|", (int)h->method_len, h->method_text,
                 (int)h->target_len, h->target);
        r->bad_views += !inside(r, h->method_text, h->method_len) +
                        !inside(r, h->target, h->target_len);
    } else {
        snprintf(line, sizeof line, "HEAD %u|", h->status);
    }
    for (i = 0; i < h->header_count; i++)
        r->bad_views += !inside(r, h->headers[i].name, h->headers[i].name_len) +
                        !inside(r, h->headers[i].value, h->headers[i].value_len);
    run_log(r, line);
    r->heads++;
}

/* Feeds msg[0..len) `step` bytes at a time until the parser has everything, then
 * (eof) reports end of stream. Stops at the first error. */
static inline void run_feed(struct run *r, struct http1_parser *p, const char *msg,
                            size_t len, size_t step, int eof, int compact)
{
    size_t fed = 0;
    for (;;) {
        size_t c = 99999, bl = 0, n;
        const char *b = NULL;
        char line[64];
        enum http1_event ev = http1_parse(p, r->buf + r->off, r->have - r->off, &c,
                                          &r->head, &b, &bl);
        CHECK(c <= r->have - r->off);
        r->off += c;
        switch (ev) {
        case HTTP1_HEAD:
            CHECK_EQ_INT(r->head.head_len, c);
            run_head(r, &r->head, p->kind == HTTP1_REQUEST);
            break;
        case HTTP1_BODY:
            CHECK(bl > 0 && inside(r, b, bl));
            CHECK(r->body_len + bl <= sizeof r->body);
            if (r->body_len + bl <= sizeof r->body) {
                memcpy(r->body + r->body_len, b, bl);
                r->body_len += bl;
            }
            run_log(r, "BODY|");
            break;
        case HTTP1_DONE:
            if (r->dones < 16)
                r->done_at[r->dones] = r->base + r->off;
            r->dones++;
            run_log(r, "DONE|");
            break;
        case HTTP1_ERROR:
            r->status = p->status;
            r->reason = p->reason;
            snprintf(line, sizeof line, "ERROR %u|", p->status);
            run_log(r, line);
            return;
        case HTTP1_CLOSED:
            CHECK_MSG_(0, "parse returned CLOSED");
            return;
        case HTTP1_NEED_MORE:
            if (fed == len) {
                if (!eof)
                    return;
                ev = http1_parse_eof(p);
                if (ev == HTTP1_DONE) {
                    r->dones++;
                    run_log(r, "EOF-DONE|");
                } else if (ev == HTTP1_CLOSED) {
                    run_log(r, "EOF|");
                } else {
                    r->status = p->status;
                    r->reason = p->reason;
                    snprintf(line, sizeof line, "EOF-ERROR %u|", p->status);
                    run_log(r, line);
                }
                return;
            }
            if (compact) {
                memmove(r->buf, r->buf + r->off, r->have - r->off);
                r->base += r->off;
                r->have -= r->off;
                r->off = 0;
            }
            n = len - fed < step ? len - fed : step;
            if (r->have + n > sizeof r->buf) {
                CHECK_MSG_(0, "test buffer full");
                return;
            }
            memcpy(r->buf + r->have, msg + fed, n);
            r->have += n;
            fed += n;
            break;
        }
    }
}

/* Responses: the request method every response parser of the next runs expects. */
static int run_expect_method = -1;

static inline void run_parser(struct http1_parser *p, enum http1_kind kind,
                              const struct http1_limits *lim)
{
    http1_parser_init(p, kind, lim);
    if (run_expect_method >= 0)
        http1_parser_expect_response_to(p, run_expect_method);
}

static inline struct run *run_new(void)
{
    static struct run r;
    memset(&r, 0, sizeof r);
    return &r;
}

/* One run of msg, whole, with the given limits (NULL = defaults). */
static inline struct run *run_msg(enum http1_kind kind, const struct http1_limits *lim,
                                  const char *msg, size_t len, int eof)
{
    static struct http1_parser p;
    struct run *r = run_new();
    run_parser(&p, kind, lim);
    run_feed(r, &p, msg, len, len ? len : 1, eof, 0);
    return r;
}

/* Runs msg whole, then split every way in `steps`, with and without compaction, and
 * checks each run logs the same events and the same body bytes. Returns the run of
 * the whole message (rerun last, so its views are valid). */
static inline struct run *same_for_every_split(enum http1_kind kind, const char *msg,
                                               size_t len, int eof)
{
    static char log[4096], body[1 << 16];
    static const size_t steps[] = {1, 2, 3, 5, 7, 13, 64};
    size_t log_len, body_len, i;
    int compact;
    struct run *r = run_msg(kind, NULL, msg, len, eof);
    const char *reason = r->reason;
    memcpy(log, r->log, r->log_len + 1);
    log_len = r->log_len;
    memcpy(body, r->body, r->body_len);
    body_len = r->body_len;
    for (i = 0; i < sizeof steps / sizeof steps[0]; i++)
        for (compact = 0; compact < 2; compact++) {
            struct http1_parser p;
            r = run_new();
            run_parser(&p, kind, NULL);
            run_feed(r, &p, msg, len, steps[i], eof, compact);
            if (!CHECK_MSG_(r->log_len == log_len && strcmp(r->log, log) == 0,
                            "step %zu compact %d: \"%s\" != \"%s\"", steps[i], compact,
                            r->log, log))
                break;
            CHECK(r->body_len == body_len && memcmp(r->body, body, body_len) == 0);
            /* the same reason too: reads' sizes must not change the diagnosis */
            if (!CHECK_MSG_((!reason && !r->reason) ||
                                (reason && r->reason && strcmp(reason, r->reason) == 0),
                            "step %zu compact %d: reason \"%s\" != \"%s\"", steps[i], compact,
                            r->reason ? r->reason : "(none)", reason ? reason : "(none)"))
                break;
        }
    return run_msg(kind, NULL, msg, len, eof);
}

#endif
