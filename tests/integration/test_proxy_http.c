/* test_proxy_http.c - HTTP/1.x semantics a client relies on, through sluice:
 * keep-alive, pipelining, chunked bodies both ways, Expect: 100-continue, HEAD,
 * HTTP/1.0 clients. Raw sockets, so the bytes on the wire are what is checked. */
#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* /v1/... goes to the mock's echo, /llm/... to its provider API. */
static const char conf[] =
    SLUICE_GLOBAL_1W
    "frontends:\n"
    "  - name: api\n"
    "    bind: [\"127.0.0.1:@PORT@\"]\n"
    "    routes:\n"
    "      - match: {path_prefix: /v1/}\n"
    "        backend: echo\n"
    "      - match: {path_prefix: /llm/}\n"
    "        backend: llm\n"
    "backends:\n"
    "  - {name: echo, servers: [{name: echo, url: \"http://127.0.0.1:%1$d/mock/echo\"}]}\n"
    "  - {name: llm, servers: [{name: llm, url: \"http://127.0.0.1:%1$d/v1\"}]}\n";

struct setup {
    struct mock m;
    struct sluice s;
    int fd;
    char buf[65536];
};

static bool setup(struct setup *x)
{
    x->fd = -1;
    if (!mock_start(&x->m, "http", NULL) ||
        !mock_stop_on_failure(sluice_start(&x->s, conf, x->m.port), &x->m, NULL))
        return false;
    x->fd = tcp_connect("127.0.0.1", x->s.port);
    return x->fd >= 0;
}

static void teardown(struct setup *x)
{
    if (x->fd >= 0)
        close(x->fd);
    CHECK(sluice_and_mocks_stopped(&x->s, &x->m, NULL));
}

static bool send_str(int fd, const char *s)
{
    return tcp_send_all(fd, s, strlen(s));
}

static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

/* The echoed request target in an echo response, or "". */
static const char *echoed_path(const char *resp, char *out, size_t cap)
{
    const char *p = strstr(resp, "\"path\":\"");
    out[0] = '\0';
    if (p) {
        p += 8;
        size_t n = strcspn(p, "\"");
        snprintf(out, cap, "%.*s", (int)n, p);
    }
    return out;
}

static void keep_alive_connection_serves_request_after_request(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    for (int i = 0; i < 5; i++) {
        char req[128], want[64], path[128], v[64];
        snprintf(req, sizeof req, "GET /v1/ka%d HTTP/1.1\r\nHost: a\r\n\r\n", i);
        snprintf(want, sizeof want, "/mock/echo/ka%d", i);
        REQUIRE(tcp_send_all(x.fd, req, strlen(req)));
        size_t n = tcp_read_responses(x.fd, x.buf, sizeof x.buf, 1, false, 5000);
        CHECK_MSG_(n > 0 && http_response_len(x.buf, n, false) == n, "request %d: %zu bytes: %.60s", i,
                   n, x.buf);
        CHECK_EQ_INT(http_status_of(x.buf), 200);
        CHECK_STR_EQ(echoed_path(x.buf, path, sizeof path), want);
        const char *conn = http_header_of(x.buf, "connection", v, sizeof v);
        CHECK_MSG_(!conn || strcasecmp(conn, "close") != 0, "request %d: connection: close", i);
    }
    teardown(&x);
}

static void pipelined_requests_are_answered_in_order(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    static const char req[] =
        "GET /v1/first HTTP/1.1\r\nHost: a\r\n\r\n"
        "POST /v1/second HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
        "GET /v1/third HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    REQUIRE(tcp_send_all(x.fd, req, sizeof req - 1));
    bool closed = false;
    size_t n = tcp_read_until_close(x.fd, x.buf, sizeof x.buf, 5000, &closed);
    CHECK(closed);
    const char *a = strstr(x.buf, "\"/mock/echo/first\"");
    const char *b = strstr(x.buf, "\"/mock/echo/second\"");
    const char *c = strstr(x.buf, "\"/mock/echo/third\"");
    CHECK_MSG_(a && b && c && a < b && b < c, "responses out of order or missing: %.300s", x.buf);
    int count = 0;
    size_t off = 0, r;
    while (off < n && (r = http_response_len(x.buf + off, n - off, false)) > 0) {
        CHECK_EQ_INT(http_status_of(x.buf + off), 200);
        count++;
        off += r;
    }
    CHECK_EQ_INT(count, 3);
    CHECK_EQ_INT(off, n); /* nothing but the three responses */
    CHECK(strstr(x.buf, "\"body\":\"hello\"") != NULL);
    teardown(&x);
}

static void chunked_request_body_reaches_the_server_whole(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    static const char head[] = "POST /v1/chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    REQUIRE(tcp_send_all(x.fd, head, sizeof head - 1));
    REQUIRE(send_str(x.fd, "5;ext=1\r\nhello\r\n"));
    REQUIRE(send_str(x.fd, "6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n"));
    size_t n = tcp_read_responses(x.fd, x.buf, sizeof x.buf, 1, false, 5000);
    CHECK(n > 0);
    CHECK_EQ_INT(http_status_of(x.buf), 200);
    CHECK_STR_CONTAINS(x.buf, "\"body\":\"hello world\"");
    teardown(&x);
}

/* Decodes the chunked body at p[0..len) into out; false when the framing is
 * broken or does not end exactly at len. */
static bool dechunk(const char *p, size_t len, char *out, size_t cap, int *chunks)
{
    size_t i = 0, o = 0;
    *chunks = 0;
    for (;;) {
        char *e;
        unsigned long size = strtoul(p + i, &e, 16);
        if (e == p + i || (size_t)(e - p) + 2 > len || memcmp(e, "\r\n", 2) != 0)
            return false;
        i = (size_t)(e - p) + 2;
        if (size == 0)
            return i + 2 == len && !memcmp(p + i, "\r\n", 2);
        if (i + size + 2 > len || memcmp(p + i + size, "\r\n", 2) != 0 || o + size + 1 > cap)
            return false;
        memcpy(out + o, p + i, size);
        o += size;
        out[o] = '\0';
        i += size + 2;
        (*chunks)++;
    }
}

static void chunked_response_is_relayed_with_valid_framing(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    static const char body[] = "{\"stream\":true,\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    char req[512];
    snprintf(req, sizeof req,
             "POST /llm/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s", sizeof body - 1, body);
    REQUIRE(tcp_send_all(x.fd, req, strlen(req)));
    size_t n = tcp_read_responses(x.fd, x.buf, sizeof x.buf, 1, false, 5000);
    CHECK_EQ_INT(http_status_of(x.buf), 200);
    char v[64];
    CHECK_STR_EQ(http_header_of(x.buf, "transfer-encoding", v, sizeof v), "chunked");
    CHECK(http_header_of(x.buf, "content-length", v, sizeof v) == NULL);
    const char *b = body_of(x.buf);
    static char plain[65536];
    int chunks = 0;
    CHECK_MSG_(dechunk(b, n - (size_t)(b - x.buf), plain, sizeof plain, &chunks), "bad framing: %.200s", b);
    CHECK_STR_CONTAINS(plain, "data: [DONE]");
    printf("  %d chunks\n", chunks);
    /* still usable afterwards */
    REQUIRE(send_str(x.fd, "GET /v1/next HTTP/1.1\r\nHost: a\r\n\r\n"));
    tcp_read_responses(x.fd, x.buf, sizeof x.buf, 1, false, 5000);
    CHECK_EQ_INT(http_status_of(x.buf), 200);
    teardown(&x);
}

static void expect_100_continue_gets_100_then_the_response(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    static const char head[] = "POST /v1/expect HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n"
                               "Expect: 100-continue\r\n\r\n";
    double t0 = proc_now_ms();
    REQUIRE(tcp_send_all(x.fd, head, sizeof head - 1));
    tcp_read_until(x.fd, x.buf, sizeof x.buf, "\r\n\r\n", 1, 3000);
    double took = proc_now_ms() - t0;
    CHECK_MSG_(!strncmp(x.buf, "HTTP/1.1 100 Continue\r\n\r\n", 25), "got %.60s", x.buf);
    CHECK_MSG_(took < 1000.0, "100 Continue after %.0f ms", took);
    REQUIRE(send_str(x.fd, "hello world"));
    size_t n = tcp_read_responses(x.fd, x.buf, sizeof x.buf, 1, false, 5000);
    CHECK(n > 0);
    /* no second 100 from the server leaks through */
    const char *resp = x.buf;
    if (!strncmp(resp, "HTTP/1.1 100 ", 13))
        CHECK_MSG_(0, "a second 100 Continue: %.80s", resp);
    CHECK_EQ_INT(http_status_of(resp), 200);
    CHECK_STR_CONTAINS(resp, "\"body\":\"hello world\"");
    CHECK(strcasestr(body_of(resp), "\"expect\"") == NULL);
    teardown(&x);
}

static void head_gets_headers_and_no_body(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    REQUIRE(send_str(x.fd, "HEAD /v1/head HTTP/1.1\r\nHost: a\r\n\r\n"));
    size_t n = tcp_read_responses(x.fd, x.buf, sizeof x.buf, 1, true, 5000);
    CHECK_EQ_INT(http_status_of(x.buf), 200);
    CHECK_EQ_INT(http_response_len(x.buf, n, true), n);
    char v[64];
    CHECK(http_header_of(x.buf, "content-length", v, sizeof v) != NULL);
    /* the next response on the connection starts right away: no body bytes came */
    REQUIRE(send_str(x.fd, "GET /v1/after HTTP/1.1\r\nHost: a\r\n\r\n"));
    n = tcp_read_responses(x.fd, x.buf, sizeof x.buf, 1, false, 5000);
    CHECK_MSG_(!strncmp(x.buf, "HTTP/1.1 200 ", 13), "after HEAD: %.60s", x.buf);
    CHECK_STR_CONTAINS(x.buf, "/mock/echo/after");
    teardown(&x);
}

static void http10_client_gets_a_whole_response_and_a_close(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    REQUIRE(send_str(x.fd, "GET /v1/ten HTTP/1.0\r\n\r\n"));
    bool closed = false;
    size_t n = tcp_read_until_close(x.fd, x.buf, sizeof x.buf, 5000, &closed);
    CHECK(closed);
    CHECK_EQ_INT(http_status_of(x.buf), 200);
    CHECK_STR_CONTAINS(x.buf, "/mock/echo/ten");
    char v[64];
    CHECK(http_header_of(x.buf, "transfer-encoding", v, sizeof v) == NULL);
    if (http_header_of(x.buf, "content-length", v, sizeof v))
        CHECK_EQ_INT(http_response_len(x.buf, n, false), n);
    close(x.fd);

    /* a stream to an HTTP/1.0 client: no chunked framing, delimited by the close */
    static const char body[] = "{\"stream\":true,\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    char req[512];
    snprintf(req, sizeof req,
             "POST /llm/chat/completions HTTP/1.0\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s", sizeof body - 1, body);
    x.fd = tcp_connect("127.0.0.1", x.s.port);
    REQUIRE(x.fd >= 0);
    REQUIRE(tcp_send_all(x.fd, req, strlen(req)));
    closed = false;
    tcp_read_until_close(x.fd, x.buf, sizeof x.buf, 5000, &closed);
    CHECK(closed);
    CHECK_EQ_INT(http_status_of(x.buf), 200);
    CHECK(http_header_of(x.buf, "transfer-encoding", v, sizeof v) == NULL);
    CHECK_STR_CONTAINS(body_of(x.buf), "data: [DONE]");
    CHECK(!strncmp(body_of(x.buf), "data: ", 6)); /* raw events, no chunk sizes */
    close(x.fd);

    /* HTTP/1.0 with keep-alive asked for */
    x.fd = tcp_connect("127.0.0.1", x.s.port);
    REQUIRE(x.fd >= 0);
    static const char ka[] = "GET /v1/ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    for (int i = 0; i < 2; i++) {
        REQUIRE(tcp_send_all(x.fd, ka, sizeof ka - 1));
        n = tcp_read_responses(x.fd, x.buf, sizeof x.buf, 1, false, 5000);
        CHECK_EQ_INT(http_status_of(x.buf), 200);
        CHECK_EQ_INT(http_response_len(x.buf, n, false), n);
        CHECK_STR_EQ(http_header_of(x.buf, "connection", v, sizeof v), "keep-alive");
    }
    teardown(&x);
}

TEST_MAIN(
    RUN(keep_alive_connection_serves_request_after_request)
    RUN(pipelined_requests_are_answered_in_order)
    RUN(chunked_request_body_reaches_the_server_whole)
    RUN(chunked_response_is_relayed_with_valid_framing)
    RUN(expect_100_continue_gets_100_then_the_response)
    RUN(head_gets_headers_and_no_body)
    RUN(http10_client_gets_a_whole_response_and_a_close)
)
