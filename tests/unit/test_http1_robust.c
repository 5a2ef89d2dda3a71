/* test_http1_robust.c - hostile input: thousands of randomly damaged messages,
 * each parsed whole and split every way, must give the same events and bytes every
 * time (no read size can change where a message ends), keep every view inside the
 * consumed bytes, and never touch memory they should not (run under ASan/UBSan). */
#include "test_http1_util.h"

static const char *const requests[] = {
    "GET /v1/models HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n",
    ("POST /v1/chat HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
     "GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5;x=\"y\"\r\nhello\r\nA\r\n0123456789\r\n0\r\nT: v\r\n\r\n"),
    "POST / HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
    "OPTIONS * HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
};

static const char *const responses[] = {
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3\r\nabc\r\n0\r\n\r\n"),
    "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil close",
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* The bytes parsers disagree about, and a few ordinary ones. */
static const char interesting[] = " \t\r\n:;,=\"0fF-+\x00\x7f\x80\xff" "aZ";

static void mutate(char *m, size_t *len, size_t cap)
{
    int edits = 1 + (int)rnd(3);
    while (edits--) {
        size_t at = *len ? rnd((uint32_t)*len) : 0;
        char c = interesting[rnd(sizeof interesting - 1)];
        switch (rnd(3)) {
        case 0:
            if (*len)
                m[at] = c;
            break;
        case 1:
            if (*len) {
                memmove(m + at, m + at + 1, *len - at - 1);
                (*len)--;
            }
            break;
        default:
            if (*len < cap) {
                memmove(m + at + 1, m + at, *len - at);
                m[at] = c;
                (*len)++;
            }
            break;
        }
    }
}

static void run_mutations(enum http1_kind kind, const char *const *seeds, size_t count,
                          int rounds)
{
    static char m[512];
    int i;
    for (i = 0; i < rounds; i++) {
        const char *seed = seeds[rnd((uint32_t)count)];
        size_t len = strlen(seed), k;
        int before = th.failed_checks;
        struct run *r;
        memcpy(m, seed, len);
        mutate(m, &len, sizeof m);
        r = same_for_every_split(kind, m, len, (int)rnd(2));
        CHECK_EQ_INT(r->bad_views, 0);
        if (th.failed_checks != before) {
            printf("  message (%zu bytes):", len);
            for (k = 0; k < len; k++)
                printf(" %02x", (unsigned char)m[k]);
            printf("\n");
            return;
        }
    }
}

static void damaged_requests_parse_the_same_in_every_split(void)
{
    run_mutations(HTTP1_REQUEST, requests, sizeof requests / sizeof requests[0], 3000);
}

static void damaged_responses_parse_the_same_in_every_split(void)
{
    run_mutations(HTTP1_RESPONSE, responses, sizeof responses / sizeof responses[0], 1500);
}

TEST_MAIN(
    RUN(damaged_requests_parse_the_same_in_every_split)
    RUN(damaged_responses_parse_the_same_in_every_split)
)
