/* test_proxy_stream.c - server-sent events through sluice: relayed event by event
 * as the server produces them, and a client that hangs up mid-stream makes sluice
 * hang up on the server at once (so a provider stops generating tokens). */
#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

static const char *const json_hdr[] = {"Content-Type: application/json", NULL};

static const char conf[] =
    SLUICE_GLOBAL_1W
    "frontends:\n"
    "  - name: api\n"
    "    bind: [\"127.0.0.1:@PORT@\"]\n"
    SLUICE_V1_TO_LLM
    "      - {name: gen, url: \"http://127.0.0.1:%d\"}\n";

/* When each piece of the stream arrived (ms since the request started). */
struct arrivals {
    double first_chunk, first_token, last;
    double at[64];      /* arrival of token i */
    int tokens, chunks;
    int stop_after;     /* > 0: hang up after this many tokens */
    double hung_up;     /* proc_now_ms() when we hung up */
};

static bool on_chunk(void *ud, const char *data, size_t len, double t_ms)
{
    struct arrivals *a = ud;
    if (a->first_chunk < 0)
        a->first_chunk = t_ms;
    a->chunks++;
    static const char tok[] = "\"delta\":{\"content\":\""; /* not the role chunk */
    for (const char *p = data; (p = memmem(p, len - (size_t)(p - data), tok, sizeof tok - 1)) != NULL;
         p++) {
        if (a->tokens == 0)
            a->first_token = t_ms;
        if (a->tokens < 64)
            a->at[a->tokens] = t_ms;
        a->tokens++;
    }
    a->last = t_ms;
    if (a->stop_after > 0 && a->tokens >= a->stop_after) {
        a->hung_up = proc_now_ms();
        return false;
    }
    return true;
}

static long stream_chat(struct sluice *s, int max_tokens, struct arrivals *a, struct http_resp *r)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"max_tokens\":%d,"
             "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", max_tokens);
    struct http_req req = {.url = sluice_url(s, "/v1/chat/completions"), .body = body,
                           .headers = json_hdr, .on_chunk = on_chunk, .ud = a, .timeout_ms = 20000};
    a->first_chunk = a->first_token = a->last = -1;
    a->tokens = a->chunks = 0;
    return http_do(NULL, &req, r);
}

static void sse_events_are_relayed_as_they_are_generated(void)
{
    struct mock m;
    START_MOCK(&m, "gen", "--ttft", "200ms", "--tps", "20");
    struct sluice s;
    REQUIRE(sluice_start(&s, conf, m.port));
    struct http_resp r;
    struct arrivals a = {.stop_after = 0};
    CHECK_EQ_INT(stream_chat(&s, 20, &a, &r), 200);
    char ct[128];
    CHECK_STR_CONTAINS(http_header(&r, "content-type", ct, sizeof ct), "text/event-stream");
    REQUIRE_EQ_INT(a.tokens, 20);
    printf("  role chunk at %.0f ms, token 0 at %.0f ms, token 19 at %.0f ms, %d chunks\n",
           a.first_chunk, a.first_token, a.at[19], a.chunks);
    /* the headers and role chunk come at once, the first token after ttft, long
     * before the stream ends (tokens are 50 ms apart: 950 ms from first to last) */
    CHECK_MSG_(a.first_chunk < 150.0, "first event at %.0f ms", a.first_chunk);
    CHECK_MSG_(a.first_token >= 190.0, "token 0 at %.0f ms, before ttft", a.first_token);
    CHECK_MSG_(a.first_token < a.last - 700.0, "token 0 at %.0f ms, end at %.0f ms", a.first_token,
               a.last);
    /* each token when it is due, not held back and released in a batch */
    for (int i = 1; i < 20; i++) {
        double due = a.first_token + i * 50.0;
        CHECK_MSG_(a.at[i] >= due - 25.0 && a.at[i] <= due + 200.0, "token %d at %.0f ms, due %.0f ms",
                   i, a.at[i], due);
    }
    CHECK_MSG_(a.chunks >= 20, "only %d pieces arrived", a.chunks);
    struct sse_list ev;
    sse_parse(r.body, r.body_len, &ev);
    CHECK(ev.n >= 22);
    CHECK(ev.n > 0 && !strcmp(ev.ev[ev.n - 1].data, "[DONE]"));
    CHECK_STR_CONTAINS(r.body, "data: [DONE]");
    sse_free(&ev);
    http_resp_free(&r);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    CHECK_EQ_INT(mock_stop(&m), 0);
}

/* Polls a mock counter with a deadline; returns when it was seen at `want` (ms
 * after `since`), or -1. */
static double when_stat(struct mock *m, const char *key, int64_t want, double since, int timeout_ms)
{
    double deadline = proc_now_ms() + timeout_ms;
    do {
        if (mock_stat(m, key) == want)
            return proc_now_ms() - since;
        poll(NULL, 0, 1); /* polling interval */
    } while (proc_now_ms() < deadline);
    return -1;
}

static void client_hanging_up_mid_stream_closes_the_upstream_within_100ms(void)
{
    struct mock m;
    START_MOCK(&m, "gen", "--tps", "20");
    struct sluice s;
    REQUIRE(sluice_start(&s, conf, m.port));
    struct http_resp r;
    struct arrivals a = {.stop_after = 2};
    stream_chat(&s, 200, &a, &r); /* 10 s of tokens if nobody hung up */
    CHECK(r.aborted);
    http_resp_free(&r);
    /* curl closed the connection on its way out of http_do */
    double delay = when_stat(&m, "streams_aborted", 1, a.hung_up, 3000);
    printf("  upstream stream aborted %.1f ms after the client hung up\n", delay);
    CHECK_MSG_(delay >= 0 && delay < 100.0, "aborted after %.1f ms", delay);
    CHECK(mock_wait_stat(&m, "connections_open", 1, 1000)); /* only the stats query's */
    /* and sluice goes on serving */
    struct http_resp r2;
    CHECK_EQ_INT(http_get(sluice_url(&s, "/v1/models"), &r2), 200);
    http_resp_free(&r2);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    CHECK_EQ_INT(mock_stop(&m), 0);
}

static void client_hanging_up_before_the_response_closes_the_upstream(void)
{
    struct mock m;
    START_MOCK(&m, "slow", "--latency", "5s");
    struct sluice s;
    REQUIRE(sluice_start(&s, conf, m.port));
    struct http_req req = {.url = sluice_url(&s, "/v1/models"), .timeout_ms = 200};
    struct http_resp r;
    http_do(NULL, &req, &r); /* curl gives up after 200 ms and closes */
    double gone = proc_now_ms();
    CHECK_EQ_INT(r.status, 0);
    http_resp_free(&r);
    CHECK_EQ_INT(mock_stat(&m, "requests"), 1);
    double delay = when_stat(&m, "connections_open", 1, gone, 3000);
    printf("  upstream closed %.1f ms after the client\n", delay);
    CHECK_MSG_(delay >= 0 && delay < 100.0, "upstream closed after %.1f ms", delay);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    CHECK_EQ_INT(mock_stop(&m), 0);
}

TEST_MAIN(
    RUN(sse_events_are_relayed_as_they_are_generated)
    RUN(client_hanging_up_mid_stream_closes_the_upstream_within_100ms)
    RUN(client_hanging_up_before_the_response_closes_the_upstream)
)
