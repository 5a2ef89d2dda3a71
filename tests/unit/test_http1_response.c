/* test_http1_response.c - the upstream side: responses framed by length, chunks or
 * close, bodiless responses, interim responses, end of stream, and every response
 * the proxy must not relay refused with 502. */
#include "test_http1_util.h"

#define RESP(msg) same_for_every_split(HTTP1_RESPONSE, S(msg), 0)
#define RESP_EOF(msg) same_for_every_split(HTTP1_RESPONSE, S(msg), 1)

static int view_is(const char *v, uint32_t n, const char *want)
{
    return v && n == strlen(want) && memcmp(v, want, n) == 0;
}

static void response_with_content_length(void)
{
    struct run *r = RESP("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n"
                         "\r\nhello");
    const struct http1_head *h = &r->head;
    CHECK_STR_EQ(r->log, "HEAD 200|BODY|DONE|");
    CHECK(r->body_len == 5 && memcmp(r->body, "hello", 5) == 0);
    CHECK_EQ_INT(h->status, 200);
    CHECK(view_is(h->reason, h->reason_len, "OK"));
    CHECK(h->reason == r->buf + 13);
    CHECK_EQ_INT(r->bad_views, 0);
    CHECK_EQ_INT(h->framing, HTTP1_BODY_LENGTH);
    CHECK(h->keep_alive);
    CHECK_EQ_INT(h->header_count, 2);
}

static void chunked_response_dechunked_for_every_split(void)
{
    struct run *r = RESP("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n"
                         "e\r\ndata: {\"a\":1}\n\r\n"
                         "E\r\ndata: {\"b\":2}\n\r\n"
                         "0\r\n\r\n");
    CHECK_STR_EQ(r->log, "HEAD 200|BODY|DONE|");
    CHECK(r->body_len == 28 && memcmp(r->body, "data: {\"a\":1}\ndata: {\"b\":2}\n", 28) == 0);
    CHECK_EQ_INT(r->head.framing, HTTP1_BODY_CHUNKED);
    CHECK((r->head.headers[1].flags & HTTP1_HDR_HOP) != 0);
}

static void head_response_has_no_body(void)
{
    struct run *r;
    run_expect_method = HTTP_HEAD;
    r = RESP("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    run_expect_method = -1;
    /* the expectation holds for one final response only */
    CHECK_STR_EQ(r->log, "HEAD 200|DONE|HEAD 200|BODY|DONE|");
    CHECK(r->body_len == 2);
    run_expect_method = HTTP_HEAD;
    r = RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    run_expect_method = -1;
    CHECK_STR_EQ(r->log, "HEAD 200|DONE|");
    CHECK_EQ_INT(r->head.framing, HTTP1_BODY_NONE);
}

static void status_204_and_304_have_no_body(void)
{
    struct run *r = RESP("HTTP/1.1 204 No Content\r\n\r\n"
                         "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n"
                         "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    CHECK_STR_EQ(r->log, "HEAD 204|DONE|HEAD 304|DONE|HEAD 200|DONE|");
}

static void interim_responses_precede_the_final_one(void)
{
    struct run *r;
    run_expect_method = HTTP_HEAD;
    r = RESP("HTTP/1.1 100 Continue\r\n\r\n"
             "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
             "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");
    run_expect_method = -1;
    /* still a response to HEAD after the 1xx: no body */
    CHECK_STR_EQ(r->log, "HEAD 100|DONE|HEAD 103|DONE|HEAD 200|DONE|");
    r = RESP("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nid");
    CHECK_STR_EQ(r->log, "HEAD 100|DONE|HEAD 201|BODY|DONE|");
}

static void switching_protocols_ends_http_on_the_connection(void)
{
    struct run *r = RESP("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\n\r\n\x81\x05hello");
    CHECK_STR_EQ(r->log, "HEAD 101|DONE|ERROR 502|");
    CHECK(r->head.upgrade && !r->head.keep_alive);
}

static void response_delimited_by_eof(void)
{
    struct run *r = RESP_EOF("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
                             "data: 1\n\ndata: 2\n\n");
    CHECK_STR_EQ(r->log, "HEAD 200|BODY|EOF-DONE|");
    CHECK(r->body_len == 18);
    CHECK_EQ_INT(r->head.framing, HTTP1_BODY_UNTIL_CLOSE);
    CHECK(!r->head.keep_alive);
    r = RESP_EOF("HTTP/1.0 200 OK\r\n\r\n");
    CHECK_STR_EQ(r->log, "HEAD 200|EOF-DONE|");
}

static void truncated_chunked_response_at_eof_is_an_error(void)
{
    struct run *r = RESP_EOF("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "5\r\nhello\r\n");
    CHECK_STR_EQ(r->log, "HEAD 200|BODY|EOF-ERROR 502|");
    r = RESP_EOF("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    CHECK_STR_EQ(r->log, "HEAD 200|BODY|EOF-ERROR 502|");
    r = RESP_EOF("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n");
    CHECK_STR_EQ(r->log, "HEAD 200|BODY|EOF-ERROR 502|");
}

static void truncated_length_response_at_eof_is_an_error(void)
{
    struct run *r = RESP_EOF("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");
    CHECK_STR_EQ(r->log, "HEAD 200|BODY|EOF-ERROR 502|");
}

static void eof_before_or_inside_a_head(void)
{
    CHECK_STR_EQ(run_msg(HTTP1_RESPONSE, NULL, "", 0, 1)->log, "EOF|");
    CHECK_STR_EQ(RESP_EOF("HTTP/1.1 200 OK\r\nContent-Len")->log, "EOF-ERROR 502|");
    CHECK_STR_EQ(RESP_EOF("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")->log,
                 "HEAD 200|BODY|DONE|EOF|");
}

static void status_line_without_reason_accepted(void)
{
    struct run *r = RESP("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");
    CHECK_STR_EQ(r->log, "HEAD 200|DONE|");
    CHECK_EQ_INT(r->head.reason_len, 0);
    r = RESP("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n");
    CHECK_STR_EQ(r->log, "HEAD 404|DONE|");
    CHECK_EQ_INT(r->head.reason_len, 0);
}

static void response_keep_alive_rules(void)
{
    CHECK(!RESP("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")->head.keep_alive);
    CHECK(RESP("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
              ->head.keep_alive);
    CHECK(!RESP("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
               ->head.keep_alive);
    CHECK_STR_EQ(RESP("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
                      "HTTP/1.1 200 OK\r\n\r\n")->log,
                 "HEAD 200|DONE|ERROR 502|");
}

#define RESP1 "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
#define RESP2 "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"

static void back_to_back_responses_consumed_exactly(void)
{
    struct run *r = RESP(RESP1 RESP2);
    CHECK_STR_EQ(r->log, "HEAD 200|BODY|DONE|HEAD 404|BODY|DONE|");
    REQUIRE_EQ_INT(r->dones, 2);
    CHECK_EQ_U64(r->done_at[0], sizeof RESP1 - 1);
    CHECK_EQ_U64(r->done_at[1], sizeof RESP1 - 1 + sizeof RESP2 - 1);
}

static void ambiguous_response_framing_is_502(void)
{
    CHECK_STR_EQ(RESP("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n"
                      "\r\n0\r\n\r\n")->log, "ERROR 502|");
    CHECK_STR_EQ(RESP("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc")->log,
                 "ERROR 502|");
    CHECK_STR_EQ(RESP("HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\nabc")->log, "ERROR 502|");
    CHECK_STR_EQ(RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc")->log, "ERROR 502|");
    CHECK_STR_EQ(RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabc")->log,
                 "ERROR 502|");
    CHECK_STR_EQ(RESP("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")->log,
                 "ERROR 502|");
    CHECK_STR_EQ(RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX")->log,
                 "HEAD 200|BODY|ERROR 502|");
}

static void malformed_status_line_is_502(void)
{
    static const char *const bad[] = {
        "HTTP/1.1 99 Low\r\n\r\n",      "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 600 Odd\r\n\r\n",     "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.2 200 OK\r\n\r\n",      "HTTP/1.1 200 O\x01K\r\n\r\n",
        "HTTP/1.1 200 OK\n\r\n",        "\r\nHTTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",       "ICY 200 OK\r\n\r\n",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct run *r = same_for_every_split(HTTP1_RESPONSE, bad[i], strlen(bad[i]), 0);
        CHECK_MSG_(strcmp(r->log, "ERROR 502|") == 0, "\"%s\": %s", bad[i], r->log);
    }
}

static void response_body_over_the_limit_is_502(void)
{
    struct http1_limits lim = {0, 4, 0};
    struct run *r;
    CHECK_STR_EQ(run_msg(HTTP1_RESPONSE, &lim, S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
                         0)->log, "ERROR 502|");
    CHECK_STR_EQ(run_msg(HTTP1_RESPONSE, &lim,
                         S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), 0)->log,
                 "HEAD 200|BODY|ERROR 502|");
    r = run_msg(HTTP1_RESPONSE, &lim, S("HTTP/1.1 200 OK\r\n\r\nhello"), 1);
    CHECK_STR_EQ(r->log, "HEAD 200|BODY|ERROR 502|");
    CHECK(r->body_len == 4 && memcmp(r->body, "hell", 4) == 0);
}

TEST_MAIN(
    RUN(response_with_content_length)
    RUN(chunked_response_dechunked_for_every_split)
    RUN(head_response_has_no_body)
    RUN(status_204_and_304_have_no_body)
    RUN(interim_responses_precede_the_final_one)
    RUN(switching_protocols_ends_http_on_the_connection)
    RUN(response_delimited_by_eof)
    RUN(truncated_chunked_response_at_eof_is_an_error)
    RUN(truncated_length_response_at_eof_is_an_error)
    RUN(eof_before_or_inside_a_head)
    RUN(status_line_without_reason_accepted)
    RUN(response_keep_alive_rules)
    RUN(back_to_back_responses_consumed_exactly)
    RUN(ambiguous_response_framing_is_502)
    RUN(malformed_status_line_is_502)
    RUN(response_body_over_the_limit_is_502)
)
