/* test_proxy_smuggling.c - what sluice refuses at the front door: ambiguous or
 * malformed requests (the request smuggling family) get 400 with a JSON error and a
 * closed connection, heads and bodies over the configured limits get 431 and 413,
 * and none of it reaches the server behind. Raw sockets, since no HTTP client
 * sends these. */
#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char conf[] =
    SLUICE_GLOBAL_1W
    "frontends:\n"
    "  - name: api\n"
    "    bind: [\"127.0.0.1:@PORT@\"]\n"
    "    limits: {max_header_bytes: 2KiB, max_body_bytes: 1KiB}\n"
    SLUICE_V1_TO_LLM
    "      - {name: echo, url: \"http://127.0.0.1:%d/mock/echo\"}\n";

static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

/* A refused request: `status` with a JSON error body, connection: close, and the
 * connection closed by sluice. */
static void check_refused(const char *what, const char *buf, bool closed, int status)
{
    char v[64];
    CHECK_MSG_(http_status_of(buf) == status, "%s: expected %d, got \"%.60s\"", what, status, buf);
    CHECK_MSG_(is_openai_error(body_of(buf), NULL, 0), "%s: body is not a JSON error: %.200s",
               what, body_of(buf));
    const char *conn = http_header_of(buf, "connection", v, sizeof v);
    CHECK_MSG_(conn && !strcasecmp(conn, "close"), "%s: no connection: close", what);
    CHECK_MSG_(closed, "%s: the connection stayed open", what);
}

struct bad_request {
    const char *name;
    const char *bytes;
    size_t len; /* 0: strlen */
};

#define R(name, s) {name, s, sizeof(s) - 1}

static const struct bad_request smuggling[] = {
    R("content-length with transfer-encoding",
      "POST /v1/a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    R("transfer-encoding with content-length",
      "POST /v1/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
      "Content-Length: 5\r\n\r\n0\r\n\r\n"),
    R("two differing content-lengths",
      "POST /v1/a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
    R("content-length list",
      "POST /v1/a HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!"),
    R("bad chunk size",
      "POST /v1/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
    R("bare LF line endings", "GET /v1/a HTTP/1.1\nHost: a\n\n"),
    R("bare LF after a header", "GET /v1/a HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n"),
    R("bare CR", "GET /v1/a HTTP/1.1\r\nHost: a\rX-A: b\r\n\r\n"),
    R("obs-fold", "GET /v1/a HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n"),
    R("space before colon", "GET /v1/a HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n"),
    R("invalid byte in a header name", "GET /v1/a HTTP/1.1\r\nHost: a\r\nX@A: b\r\n\r\n"),
    R("NUL in a header value", "GET /v1/a HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n"),
    R("CTL in a header value", "GET /v1/a HTTP/1.1\r\nHost: a\r\nX-A: b\x01" "c\r\n\r\n"),
    R("HTTP/1.1 without Host", "GET /v1/a HTTP/1.1\r\nX-A: b\r\n\r\n"),
    R("two Host headers", "GET /v1/a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
};

static void smuggling_attempts_get_400_close_and_never_reach_the_server(void)
{
    struct mock m;
    START_MOCK(&m, "behind");
    struct sluice s;
    REQUIRE(sluice_start(&s, conf, m.port));
    char buf[8192];
    for (size_t i = 0; i < sizeof smuggling / sizeof smuggling[0]; i++) {
        const struct bad_request *b = &smuggling[i];
        bool closed = false;
        sluice_raw(&s, b->bytes, b->len, buf, sizeof buf, 5000, &closed);
        check_refused(b->name, buf, closed, 400);
        int64_t seen = mock_stat(&m, "requests");
        CHECK_MSG_(seen == 0, "%s: the server saw %lld request(s)", b->name, (long long)seen);
    }
    /* still serving, and the server sees exactly the good request */
    bool closed;
    sluice_raw(&s, "GET /v1/ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0, buf,
               sizeof buf, 5000, &closed);
    CHECK_EQ_INT(http_status_of(buf), 200);
    CHECK_EQ_INT(mock_stat(&m, "requests"), 1);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    CHECK_EQ_INT(mock_stop(&m), 0);
}

static void head_over_max_header_bytes_gets_431(void)
{
    struct mock m;
    START_MOCK(&m, "behind");
    struct sluice s;
    REQUIRE(sluice_start(&s, conf, m.port));
    char req[4096], buf[8192];
    int n = snprintf(req, sizeof req, "GET /v1/a HTTP/1.1\r\nHost: a\r\nX-Big: ");
    memset(req + n, 'a', 3000);
    memcpy(req + n + 3000, "\r\n\r\n", 5);
    bool closed = false;
    sluice_raw(&s, req, 0, buf, sizeof buf, 5000, &closed);
    check_refused("3000-byte header with max_header_bytes 2KiB", buf, closed, 431);
    CHECK_EQ_INT(mock_stat(&m, "requests"), 0);
    /* just under the limit passes */
    n = snprintf(req, sizeof req, "GET /v1/a HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Big: ");
    memset(req + n, 'a', 1800);
    memcpy(req + n + 1800, "\r\n\r\n", 5);
    sluice_raw(&s, req, 0, buf, sizeof buf, 5000, &closed);
    CHECK_EQ_INT(http_status_of(buf), 200);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    CHECK_EQ_INT(mock_stop(&m), 0);
}

static void body_over_max_body_bytes_with_content_length_gets_413_at_once(void)
{
    struct mock m;
    START_MOCK(&m, "behind");
    struct sluice s;
    REQUIRE(sluice_start(&s, conf, m.port));
    int fd = tcp_connect("127.0.0.1", s.port);
    REQUIRE(fd >= 0);
    /* the head announces 5000 bytes; not one is sent */
    static const char head[] = "POST /v1/a HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                               "Content-Length: 5000\r\n\r\n";
    double t0 = proc_now_ms();
    CHECK(tcp_send_all(fd, head, sizeof head - 1));
    char buf[8192];
    bool closed = false;
    tcp_read_until_close(fd, buf, sizeof buf, 5000, &closed);
    double took = proc_now_ms() - t0;
    close(fd);
    check_refused("content-length 5000 over 1KiB", buf, closed, 413);
    CHECK_MSG_(took < 1000.0, "413 took %.0f ms", took);
    CHECK_EQ_INT(mock_stat(&m, "requests"), 0);
    /* exactly at the limit passes, body intact */
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "POST /v1/a HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 1024\r\n\r\n");
    memset(req + n, 'b', 1024);
    req[n + 1024] = '\0';
    sluice_raw(&s, req, 0, buf, sizeof buf, 5000, &closed);
    CHECK_EQ_INT(http_status_of(buf), 200);
    CHECK(strstr(buf, "\"content-length\",\"1024\"") != NULL);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    CHECK_EQ_INT(mock_stop(&m), 0);
}

static void chunked_body_growing_past_max_body_bytes_gets_413(void)
{
    struct mock m;
    START_MOCK(&m, "behind");
    struct sluice s;
    REQUIRE(sluice_start(&s, conf, m.port));
    int fd = tcp_connect("127.0.0.1", s.port);
    REQUIRE(fd >= 0);
    char chunk[700];
    int h = snprintf(chunk, sizeof chunk, "258\r\n"); /* 600 bytes */
    memset(chunk + h, 'c', 600);
    memcpy(chunk + h + 600, "\r\n", 2);
    size_t clen = (size_t)h + 602;
    static const char head[] = "POST /v1/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    CHECK(tcp_send_all(fd, head, sizeof head - 1));
    CHECK(tcp_send_all(fd, chunk, clen)); /* 600: fine */
    CHECK(tcp_send_all(fd, chunk, clen)); /* 1200: over */
    char buf[8192];
    bool closed = false;
    tcp_read_until_close(fd, buf, sizeof buf, 5000, &closed);
    close(fd);
    check_refused("chunked body of 1200 bytes over 1KiB", buf, closed, 413);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    CHECK_EQ_INT(mock_stop(&m), 0);
}

TEST_MAIN(
    RUN(smuggling_attempts_get_400_close_and_never_reach_the_server)
    RUN(head_over_max_header_bytes_gets_431)
    RUN(body_over_max_body_bytes_with_content_length_gets_413_at_once)
    RUN(chunked_body_growing_past_max_body_bytes_gets_413)
)
