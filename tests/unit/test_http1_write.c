/* test_http1_write.c - what the proxy writes: chunk framing, status, request and
 * header lines, reason phrases; and that what it writes parses back. */
#include "test_http1_util.h"

static void chunk_header_is_lowercase_hex_and_crlf(void)
{
    char buf[HTTP1_CHUNK_HEADER_MAX];
    size_t n = http1_chunk_header(buf, sizeof buf, 0x1a2b);
    CHECK(n == 6 && memcmp(buf, "1a2b\r\n", 6) == 0);
    n = http1_chunk_header(buf, sizeof buf, 1);
    CHECK(n == 3 && memcmp(buf, "1\r\n", 3) == 0);
    n = http1_chunk_header(buf, sizeof buf, UINT64_MAX);
    CHECK(n == 18 && memcmp(buf, "ffffffffffffffff\r\n", 18) == 0);
}

static void chunk_header_refuses_zero_and_small_buffers(void)
{
    char buf[8];
    CHECK_EQ_INT(http1_chunk_header(buf, sizeof buf, 0), 0);
    CHECK_EQ_INT(http1_chunk_header(buf, 5, 0x1a2b), 0);
    CHECK_EQ_INT(http1_chunk_header(buf, 6, 0x1a2b), 6);
    CHECK_EQ_INT(strlen(HTTP1_LAST_CHUNK), HTTP1_LAST_CHUNK_LEN);
}

static void status_line_with_canonical_reason(void)
{
    char buf[64];
    size_t n = http1_status_line(buf, sizeof buf, 200, NULL);
    CHECK(n == 17 && memcmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    n = http1_status_line(buf, sizeof buf, 431, NULL);
    buf[n] = '\0';
    CHECK_STR_EQ(buf, "HTTP/1.1 431 Request Header Fields Too Large\r\n");
    n = http1_status_line(buf, sizeof buf, 299, "Custom");
    buf[n] = '\0';
    CHECK_STR_EQ(buf, "HTTP/1.1 299 Custom\r\n");
}

static void status_line_writes_every_code_as_three_digits(void)
{
    char buf[64], want[64];
    int status;
    for (status = 100; status <= 599; status++) {
        size_t n = http1_status_line(buf, sizeof buf, status, "R");
        int w = snprintf(want, sizeof want, "HTTP/1.1 %d R\r\n", status);
        if (!CHECK_MSG_(w > 0 && n == (size_t)w && memcmp(buf, want, n) == 0, "status %d", status))
            break;
    }
}

static void status_line_refuses_bad_input(void)
{
    char buf[64];
    CHECK_EQ_INT(http1_status_line(buf, sizeof buf, 99, NULL), 0);
    CHECK_EQ_INT(http1_status_line(buf, sizeof buf, 600, NULL), 0);
    CHECK_EQ_INT(http1_status_line(buf, sizeof buf, 200, "OK\r\nX-Injected: 1"), 0);
    CHECK_EQ_INT(http1_status_line(buf, 16, 200, NULL), 0);
}

static void reason_phrases_cover_what_the_gateway_sends(void)
{
    CHECK_STR_EQ(http1_reason_phrase(400), "Bad Request");
    CHECK_STR_EQ(http1_reason_phrase(401), "Unauthorized");
    CHECK_STR_EQ(http1_reason_phrase(404), "Not Found");
    CHECK_STR_EQ(http1_reason_phrase(413), "Content Too Large");
    CHECK_STR_EQ(http1_reason_phrase(429), "Too Many Requests");
    CHECK_STR_EQ(http1_reason_phrase(431), "Request Header Fields Too Large");
    CHECK_STR_EQ(http1_reason_phrase(502), "Bad Gateway");
    CHECK_STR_EQ(http1_reason_phrase(503), "Service Unavailable");
    CHECK_STR_EQ(http1_reason_phrase(504), "Gateway Timeout");
    CHECK_STR_EQ(http1_reason_phrase(505), "HTTP Version Not Supported");
    CHECK_STR_EQ(http1_reason_phrase(299), "Success");
    CHECK_STR_EQ(http1_reason_phrase(0), "Server Error");
}

static void request_and_header_lines_refuse_injection(void)
{
    char buf[64];
    size_t n = http1_request_line(buf, sizeof buf, S("POST"), S("/v1/chat?a=1"));
    buf[n] = '\0';
    CHECK_STR_EQ(buf, "POST /v1/chat?a=1 HTTP/1.1\r\n");
    CHECK_EQ_INT(http1_request_line(buf, sizeof buf, S("PO ST"), S("/")), 0);
    CHECK_EQ_INT(http1_request_line(buf, sizeof buf, S("GET"), S("/a b")), 0);
    CHECK_EQ_INT(http1_request_line(buf, sizeof buf, S("GET"), S("/\r\nX: 1")), 0);
    n = http1_header_line(buf, sizeof buf, S("authorization"), S("Bearer k\tx"));
    buf[n] = '\0';
    CHECK_STR_EQ(buf, "authorization: Bearer k\tx\r\n");
    CHECK_EQ_INT(http1_header_line(buf, sizeof buf, S("x"), S("a\r\nHost: evil")), 0);
    CHECK_EQ_INT(http1_header_line(buf, sizeof buf, S("x y"), S("a")), 0);
    CHECK_EQ_INT(http1_header_line(buf, sizeof buf, S(""), S("a")), 0);
    CHECK_EQ_INT(http1_header_line(buf, 5, S("x"), S("abc")), 0);
}

/* A chunked message built with the writers parses back to the same body. */
static void written_chunks_parse_back(void)
{
    static char msg[256];
    size_t n = 0;
    n += http1_request_line(msg + n, sizeof msg - n, S("POST"), S("/x"));
    n += http1_header_line(msg + n, sizeof msg - n, S("Host"), S("a"));
    n += http1_header_line(msg + n, sizeof msg - n, S("Transfer-Encoding"), S("chunked"));
    memcpy(msg + n, "\r\n", 2), n += 2;
    n += http1_chunk_header(msg + n, sizeof msg - n, 26);
    memcpy(msg + n, "abcdefghijklmnopqrstuvwxyz" HTTP1_CRLF, 28), n += 28;
    memcpy(msg + n, HTTP1_LAST_CHUNK, HTTP1_LAST_CHUNK_LEN), n += HTTP1_LAST_CHUNK_LEN;
    {
        struct run *r = same_for_every_split(HTTP1_REQUEST, msg, n, 0);
        CHECK_STR_EQ(r->log, "HEAD POST /x|BODY|DONE|");
        CHECK(r->body_len == 26 && memcmp(r->body, "abcdefghijklmnopqrstuvwxyz", 26) == 0);
    }
}

TEST_MAIN(
    RUN(chunk_header_is_lowercase_hex_and_crlf)
    RUN(chunk_header_refuses_zero_and_small_buffers)
    RUN(status_line_with_canonical_reason)
    RUN(status_line_writes_every_code_as_three_digits)
    RUN(status_line_refuses_bad_input)
    RUN(reason_phrases_cover_what_the_gateway_sends)
    RUN(request_and_header_lines_refuse_injection)
    RUN(written_chunks_parse_back)
)
