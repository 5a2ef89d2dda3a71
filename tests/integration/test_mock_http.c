/* test_mock_http.c - sluice-mock at the HTTP and timing level: stream pacing, drops
 * and client aborts, pipelining, limits, malformed input, the echo endpoint and the
 * command line. */
#include "harness.h"
#include "mock_fixture.h"

#include <stdlib.h>
#include <unistd.h>

#define NT 512

static const char *const json_hdr[] = {"Content-Type: application/json", NULL};

#define START(m, ...) REQUIRE(mock_start((m), __VA_ARGS__, NULL))
#define STOP(m) CHECK_EQ_INT(mock_stop(m), 0)

/* Arrival times of the stream's content events. */
struct arrivals {
    double first_chunk, first_token, last;
    double at[64]; /* arrival of token i */
    int tokens;
    int stop_after; /* > 0: abort the transfer after this many tokens */
};

static bool on_chunk(void *ud, const char *data, size_t len, double t_ms)
{
    struct arrivals *a = ud;
    if (a->first_chunk < 0)
        a->first_chunk = t_ms;
    static const char tok[] = "\"delta\":{\"content\":\""; /* not the role chunk */
    for (const char *p = data; (p = memmem(p, len - (size_t)(p - data), tok,
                                           sizeof tok - 1)) != NULL; p++) {
        if (a->tokens == 0)
            a->first_token = t_ms;
        if (a->tokens < 64)
            a->at[a->tokens] = t_ms;
        a->tokens++;
    }
    a->last = t_ms;
    return a->stop_after <= 0 || a->tokens < a->stop_after;
}

static long stream_chat(struct mock *m, int max_tokens, struct arrivals *a,
                        struct http_resp *r)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"stream\":true,\"max_tokens\":%d,\"messages\":[{\"role\":\"user\","
             "\"content\":\"hi\"}]}", max_tokens);
    struct http_req req = {.url = mock_url(m, "/v1/chat/completions"), .body = body,
                           .headers = json_hdr, .on_chunk = on_chunk, .ud = a};
    a->first_chunk = a->first_token = a->last = -1;
    a->tokens = 0;
    return http_do(NULL, &req, r);
}

static void ttft_and_tps_pace_tokens_as_they_are_generated(void)
{
    struct mock m;
    START(&m, "paced", "--ttft", "150ms", "--tps", "50");
    struct http_resp r;
    struct arrivals a = {.stop_after = 0};
    CHECK_EQ_INT(stream_chat(&m, 10, &a, &r), 200);
    REQUIRE_EQ_INT(a.tokens, 10);
    /* headers and the role chunk come at once; token i is never sent before
     * ttft + i / tps (a loaded machine may only make it later) */
    CHECK(a.first_chunk >= 0 && a.first_chunk < a.first_token);
    for (int i = 0; i < 10; i++)
        CHECK_MSG_(a.at[i] >= 150.0 + i * 20.0 - 2.0, "token %d at %.1f ms", i, a.at[i]);
    CHECK(a.first_token < a.last); /* delivered incrementally, not at the end */
    CHECK(a.last < 5000.0);
    http_resp_free(&r);
    STOP(&m);
}

static void drop_after_closes_the_stream_abruptly(void)
{
    struct mock m;
    START(&m, "dropper", "--drop-after", "3");
    struct http_resp r;
    struct arrivals a = {.stop_after = 0};
    stream_chat(&m, 10, &a, &r);
    CHECK(r.curl_code != 0); /* the chunked body never ended */
    struct sse_list ev;
    CHECK_EQ_INT(sse_parse(r.body, r.body_len, &ev), 3);
    CHECK(strstr(r.body, "[DONE]") == NULL);
    sse_free(&ev);
    http_resp_free(&r);
    CHECK(mock_wait_stat(&m, "streams_dropped", 1, 3000));
    CHECK_EQ_INT(mock_stat(&m, "streams_aborted"), 0);
    STOP(&m);
}

static void client_abort_stops_the_stream(void)
{
    struct mock m;
    START(&m, "abort", "--tps", "20");
    struct http_resp r;
    struct arrivals a = {.stop_after = 2};
    double t0 = proc_now_ms();
    stream_chat(&m, 200, &a, &r); /* 10 s of tokens if nobody hung up */
    CHECK(r.aborted);
    http_resp_free(&r);
    CHECK(mock_wait_stat(&m, "streams_aborted", 1, 3000));
    CHECK(mock_wait_stat(&m, "connections_open", 1, 3000)); /* just the stats one */
    CHECK(proc_now_ms() - t0 < 5000.0);
    STOP(&m);
}

static const char pipelined[] =
    "GET /mock/echo/first HTTP/1.1\r\nHost: x\r\n\r\n"
    "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 71\r\n\r\n"
    "{\"stream\":true,\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":1}]}"
    "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n\r\n"
    "{\"input\":\"abc\"}"
    "GET /mock/echo/last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

static void pipelined_requests_are_answered_in_order(void)
{
    struct mock m;
    START(&m, "pipe", "--latency", "30ms");
    int fd = tcp_connect(m.host, m.port);
    REQUIRE(fd >= 0);
    CHECK(tcp_send_all(fd, pipelined, sizeof pipelined - 1));
    char buf[16384];
    bool closed = false;
    tcp_read_until_close(fd, buf, sizeof buf, 5000, &closed);
    close(fd);
    CHECK(closed);
    const char *a = strstr(buf, "/mock/echo/first");
    const char *b = strstr(buf, "chat.completion.chunk");
    const char *done = strstr(buf, "data: [DONE]");
    const char *c = strstr(buf, "\"object\":\"embedding\"");
    const char *d = strstr(buf, "/mock/echo/last");
    CHECK(a && b && done && c && d);
    CHECK(a < b && b < done && done < c && c < d);
    int responses = 0;
    for (const char *p = buf; (p = strstr(p, "HTTP/1.1 200 OK")) != NULL; p++)
        responses++;
    CHECK_EQ_INT(responses, 4);
    STOP(&m);
}

static void raw_exchange(struct mock *m, const char *req, size_t len, char *buf,
                         size_t cap, bool *closed)
{
    int fd = tcp_connect(m->host, m->port);
    buf[0] = '\0';
    *closed = false;
    if (!CHECK(fd >= 0))
        return;
    tcp_send_all(fd, req, len);
    tcp_read_until_close(fd, buf, cap, 5000, closed);
    close(fd);
}

static void malformed_requests_get_400_and_close(void)
{
    static const char *const bad[] = {
        "GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
        "BREW /v1/models HTTP/1.1\r\n\r\n",
        "GET /v1/models HTTP/9.9\r\n\r\n",
        "POST /v1/embeddings HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "POST /mock/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS hello */
    };
    struct mock m;
    START(&m, "strict");
    char buf[4096];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bool closed;
        raw_exchange(&m, bad[i], strlen(bad[i]), buf, sizeof buf, &closed);
        CHECK_MSG_(strncmp(buf, "HTTP/1.1 400 ", 13) == 0, "request %zu got: %.40s", i, buf);
        CHECK_STR_CONTAINS(buf, "connection: close");
        CHECK_STR_CONTAINS(buf, "x-mock-server: strict");
        CHECK_STR_CONTAINS(buf, "invalid_request_error");
        CHECK(closed);
    }
    struct http_resp r;
    CHECK_EQ_INT(http_get(mock_url(&m, "/v1/models"), &r), 200); /* still serving */
    http_resp_free(&r);
    STOP(&m);
}

static void oversized_headers_get_431_and_bodies_413(void)
{
    struct mock m;
    START(&m, "limits");
    size_t big = 70 * 1024;
    char *hdr = malloc(big + 16);
    REQUIRE(hdr);
    memcpy(hdr, "X-Big: ", 7);
    memset(hdr + 7, 'a', big);
    hdr[7 + big] = '\0';
    const char *const hdrs[] = {hdr, NULL};
    struct http_req req = {.url = mock_url(&m, "/v1/models"), .headers = hdrs};
    struct http_resp r;
    CHECK_EQ_INT(http_do(NULL, &req, &r), 431);
    char v[64];
    CHECK_STR_EQ(http_header(&r, "x-mock-server", v, sizeof v), "limits");
    http_resp_free(&r);
    free(hdr);

    size_t n = 9u << 20;
    char *body = malloc(n);
    REQUIRE(body);
    memset(body, ' ', n);
    struct http_req post = {.url = mock_url(&m, "/v1/chat/completions"), .body = body,
                            .body_len = n, .headers = json_hdr};
    CHECK_EQ_INT(http_do(NULL, &post, &r), 413);
    http_resp_free(&r);
    free(body);
    CHECK_EQ_INT(http_get(mock_url(&m, "/v1/models"), &r), 200);
    http_resp_free(&r);
    STOP(&m);
}

static void chunked_request_bodies_are_accepted(void)
{
    static const char req[] =
        "POST /mock/echo/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
        "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
    struct mock m;
    START(&m, "chunky");
    char buf[4096];
    bool closed;
    raw_exchange(&m, req, sizeof req - 1, buf, sizeof buf, &closed);
    CHECK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
    CHECK_STR_CONTAINS(buf, "\"body\":\"hello, world\"");
    STOP(&m);
}

static void echo_reports_the_request_as_received(void)
{
    struct mock m;
    START(&m, "echo");
    const char *const hdrs[] = {"X-One: 1", "x-two:  two ", "Content-Type: text/plain",
                                NULL};
    struct http_req req = {.url = mock_url(&m, "/mock/echo/a/b?x=1&y=%20"),
                           .method = "PUT", .headers = hdrs,
                           .body = "line1\n\"quoted\"\xff", .body_len = 15};
    struct http_resp r;
    REQUIRE_EQ_INT(http_do(NULL, &req, &r), 200);
    json_doc d;
    json_token t[NT];
    REQUIRE(json_load(&d, t, NT, r.body));
    CHECK(json_str_eq(&d, json_find(&d, 0, "method"), "PUT"));
    CHECK(json_str_eq(&d, json_find(&d, 0, "path"), "/mock/echo/a/b?x=1&y=%20"));
    CHECK(json_str_eq(&d, json_find(&d, 0, "body"), "line1\n\"quoted\"\xEF\xBF\xBD"));
    int headers = json_find(&d, 0, "headers");
    int one = -1, two = -1;
    json_iter it = json_iter_begin(&d, headers);
    int pair;
    for (int i = 0; json_array_next(&it, &pair); i++) {
        if (json_str_eq(&d, json_at(&d, pair, 0), "X-One")) {
            one = i;
            CHECK(json_str_eq(&d, json_at(&d, pair, 1), "1"));
        } else if (json_str_eq(&d, json_at(&d, pair, 0), "x-two")) {
            two = i;
            CHECK(json_str_eq(&d, json_at(&d, pair, 1), "two"));
        }
    }
    CHECK(one >= 0 && two == one + 1);
    http_resp_free(&r);
    CHECK_EQ_INT(mock_stat(&m, "requests"), 1); /* echo counts as a served request */
    STOP(&m);
}

static void http10_gets_a_close_delimited_reply(void)
{
    static const char req[] = "GET /v1/models HTTP/1.0\r\n\r\n";
    struct mock m;
    START(&m, "old");
    char buf[4096];
    bool closed;
    raw_exchange(&m, req, sizeof req - 1, buf, sizeof buf, &closed);
    CHECK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
    CHECK_STR_CONTAINS(buf, "connection: close");
    CHECK(closed);
    STOP(&m);
}

static void random_bytes_never_take_it_down(void)
{
    struct mock m;
    START(&m, "fuzz");
    unsigned x = 7;
    char junk[2048];
    for (int round = 0; round < 40; round++) {
        size_t n = (size_t)(round * 53 % (int)sizeof junk) + 1;
        memcpy(junk, round % 2 ? "POST /v1/chat/completions HTTP/1.1\r\n" : "GET / ", 6);
        for (size_t i = round % 2 ? 36 : 6; i < n; i++) {
            x = x * 1103515245u + 12345u;
            junk[i] = (char)(x >> 16);
        }
        int fd = tcp_connect(m.host, m.port);
        if (fd < 0)
            continue;
        tcp_send_all(fd, junk, n);
        close(fd);
    }
    struct http_resp r;
    CHECK_EQ_INT(http_get(mock_url(&m, "/v1/models"), &r), 200);
    http_resp_free(&r);
    CHECK(mock_wait_stat(&m, "connections_open", 1, 3000));
    STOP(&m);
}

static void command_line_help_and_errors(void)
{
    char bin[1024];
    REQUIRE(proc_mock_bin(bin, sizeof bin));
    char *help[] = {bin, (char *)"-h", NULL};
    struct proc_result r;
    CHECK_EQ_INT(proc_run(help, NULL, 5000, &r), 0);
    CHECK_STR_CONTAINS(r.out, "--fail-status");
    CHECK_STR_CONTAINS(r.out, "--drop-after");
    proc_result_free(&r);
    char *bad[] = {bin, (char *)"--latency", (char *)"soon", NULL};
    CHECK_EQ_INT(proc_run(bad, NULL, 5000, &r), 2);
    CHECK_STR_CONTAINS(r.err, "--latency");
    proc_result_free(&r);
    char *name[] = {bin, (char *)"--name", (char *)"bad name\r\n", NULL};
    CHECK_EQ_INT(proc_run(name, NULL, 5000, &r), 2);
    proc_result_free(&r);
}

TEST_MAIN(
    RUN(ttft_and_tps_pace_tokens_as_they_are_generated)
    RUN(drop_after_closes_the_stream_abruptly)
    RUN(client_abort_stops_the_stream)
    RUN(pipelined_requests_are_answered_in_order)
    RUN(malformed_requests_get_400_and_close)
    RUN(oversized_headers_get_431_and_bodies_413)
    RUN(chunked_request_bodies_are_accepted)
    RUN(echo_reports_the_request_as_received)
    RUN(http10_gets_a_close_delimited_reply)
    RUN(random_bytes_never_take_it_down)
    RUN(command_line_help_and_errors)
)
