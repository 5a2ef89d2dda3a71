/* test_http1_request.c - the client side: requests parsed into heads, bodies and
 * message boundaries, the same whatever the reads' sizes, within the limits. */
#include "test_http1_util.h"

#define REQ(msg) same_for_every_split(HTTP1_REQUEST, S(msg), 0)

static int view_is(const char *v, uint32_t n, const char *want)
{
    return v && n == strlen(want) && memcmp(v, want, n) == 0;
}

static void simple_get_fills_the_head(void)
{
    struct run *r = REQ("GET /v1/models?x=1 HTTP/1.1\r\nHost: api.example\r\nUser-Agent: t\r\n\r\n");
    const struct http1_head *h = &r->head;
    CHECK_STR_EQ(r->log, "HEAD GET /v1/models?x=1|DONE|");
    CHECK_EQ_INT(h->method, HTTP_GET);
    CHECK(view_is(h->method_text, h->method_len, "GET"));
    CHECK(view_is(h->target, h->target_len, "/v1/models?x=1"));
    CHECK(view_is(h->path, h->path_len, "/v1/models"));
    CHECK(view_is(h->origin, h->origin_len, "/v1/models?x=1"));
    CHECK(h->authority == NULL);
    CHECK_EQ_INT(h->version_major, 1);
    CHECK_EQ_INT(h->version_minor, 1);
    CHECK(h->keep_alive);
    CHECK(!h->expect_continue && !h->upgrade);
    CHECK_EQ_INT(h->framing, HTTP1_BODY_NONE);
    CHECK_EQ_INT(h->content_length, -1);
    CHECK_EQ_INT(h->header_count, 2);
    REQUIRE_EQ_INT(h->host, 0);
    CHECK(view_is(h->headers[0].value, h->headers[0].value_len, "api.example"));
    CHECK(view_is(h->headers[1].name, h->headers[1].name_len, "User-Agent"));
    CHECK_EQ_INT(h->head_len, 65);
}

static void header_views_point_into_callers_buffer(void)
{
    struct run *r = REQ("GET / HTTP/1.1\r\nHost: a\r\nX-Long: 0123456789\r\n\r\n");
    const struct http1_head *h = &r->head;
    CHECK_EQ_INT(r->bad_views, 0);
    REQUIRE_EQ_INT(h->header_count, 2);
    CHECK(h->method_text == r->buf);
    CHECK(h->target == r->buf + 4);
    CHECK(h->headers[0].name == r->buf + 16);
    CHECK(h->headers[1].value == r->buf + 33);
    CHECK(http1_find_header(h, S("x-long")) == &h->headers[1]);
    CHECK(http1_find_header(h, S("x-lon")) == NULL);
}

static void header_values_are_trimmed_of_ows(void)
{
    struct run *r = REQ("GET / HTTP/1.1\r\nHost:a\r\nX: \t a b \t \r\nY:\r\nZ: \r\n\r\n");
    const struct http1_head *h = &r->head;
    REQUIRE_EQ_INT(h->header_count, 4);
    CHECK(view_is(h->headers[0].value, h->headers[0].value_len, "a"));
    CHECK(view_is(h->headers[1].value, h->headers[1].value_len, "a b"));
    CHECK(h->headers[2].value != NULL && h->headers[2].value_len == 0);
    CHECK(h->headers[3].value != NULL && h->headers[3].value_len == 0);
}

static void post_with_content_length_same_events_for_every_split(void)
{
    struct run *r = REQ("POST /v1/chat HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n"
                        "hello world");
    CHECK_STR_EQ(r->log, "HEAD POST /v1/chat|BODY|DONE|");
    CHECK(r->body_len == 11 && memcmp(r->body, "hello world", 11) == 0);
    CHECK_EQ_INT(r->head.framing, HTTP1_BODY_LENGTH);
    CHECK_EQ_INT(r->head.content_length, 11);
}

static void content_length_zero_is_done_at_once(void)
{
    struct run *r = REQ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    CHECK_STR_EQ(r->log, "HEAD POST /|DONE|");
    CHECK_EQ_INT(r->head.content_length, 0);
}

static void chunked_body_dechunked_for_every_split(void)
{
    struct run *r = REQ("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5\r\nhello\r\n6;ext=1\r\n world\r\n00\r\nX-Trailer: t\r\n\r\n");
    CHECK_STR_EQ(r->log, "HEAD POST /c|BODY|DONE|");
    CHECK(r->body_len == 11 && memcmp(r->body, "hello world", 11) == 0);
    CHECK_EQ_INT(r->head.framing, HTTP1_BODY_CHUNKED);
    CHECK_EQ_INT(r->head.content_length, -1);
}

static void chunk_extensions_with_bws_and_quotes_accepted(void)
{
    struct run *r = REQ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked \r\n\r\n"
                        "3 ; a = \"q;\\\"x\" ;b\t;c=d\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n");
    CHECK_STR_EQ(r->log, "HEAD POST /|BODY|DONE|");
    CHECK(r->body_len == 13 && memcmp(r->body, "abc0123456789", 13) == 0);
}

#define PIPE1 "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
#define PIPE2 "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz"
#define PIPE3 "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" \
              "2\r\nuv\r\n0\r\n\r\n"

static void pipelined_requests_parsed_one_after_another(void)
{
    static const char all[] = PIPE1 PIPE2 PIPE3;
    static const size_t steps[] = {1, 4, 27, 28, sizeof all};
    size_t i;
    for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        struct http1_parser p;
        struct run *r = run_new();
        http1_parser_init(&p, HTTP1_REQUEST, NULL);
        run_feed(r, &p, all, sizeof all - 1, steps[i], 1, i % 2);
        CHECK_STR_EQ(r->log, "HEAD GET /a|DONE|HEAD POST /b|BODY|DONE|HEAD POST /c|BODY|DONE|EOF|");
        REQUIRE_EQ_INT(r->dones, 3);
        CHECK_EQ_U64(r->done_at[0], sizeof PIPE1 - 1);
        CHECK_EQ_U64(r->done_at[1], sizeof PIPE1 - 1 + sizeof PIPE2 - 1);
        CHECK_EQ_U64(r->done_at[2], sizeof all - 1);
        CHECK(r->body_len == 5 && memcmp(r->body, "xyzuv", 5) == 0);
    }
}

/* The caller stops after any event and resumes later from data + consumed. */
static void body_spans_can_be_held_and_resumed(void)
{
    static const char msg[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET";
    struct http1_parser p;
    struct http1_head h;
    const char *b;
    size_t c, bl, off = 0, len = sizeof msg - 1;
    http1_parser_init(&p, HTTP1_REQUEST, NULL);
    REQUIRE_EQ_INT(http1_parse(&p, msg, len, &c, &h, &b, &bl), HTTP1_HEAD);
    CHECK_EQ_INT(c, 56);
    off += c;
    REQUIRE_EQ_INT(http1_parse(&p, msg + off, len - off, &c, &h, &b, &bl), HTTP1_BODY);
    CHECK(b == msg + 59 && bl == 3);
    CHECK_EQ_INT(c, 6);
    off += c;
    /* ... backpressure: nothing parsed for a while; the head stays usable ... */
    CHECK(h.headers[0].value == msg + 23);
    REQUIRE_EQ_INT(http1_parse(&p, msg + off, len - off, &c, &h, &b, &bl), HTTP1_BODY);
    CHECK(b == msg + 67 && bl == 2);
    off += c;
    REQUIRE_EQ_INT(http1_parse(&p, msg + off, len - off, &c, &h, &b, &bl), HTTP1_DONE);
    off += c;
    CHECK_EQ_INT(off, len - 3); /* "GET" is the next request's, untouched */
    CHECK_EQ_INT(http1_parse(&p, msg + off, len - off, &c, &h, &b, &bl), HTTP1_NEED_MORE);
    CHECK_EQ_INT(c, 0);
}

static void keep_alive_by_default_in_http11(void)
{
    CHECK(REQ("GET / HTTP/1.1\r\nHost: a\r\n\r\n")->head.keep_alive);
    CHECK(REQ("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n")->head.keep_alive);
}

static void connection_close_ends_http11(void)
{
    CHECK(!REQ("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")->head.keep_alive);
    CHECK(!REQ("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n")->head.keep_alive);
}

static void http10_closes_unless_keep_alive(void)
{
    struct run *r = REQ("GET / HTTP/1.0\r\n\r\n");
    CHECK_STR_EQ(r->log, "HEAD GET /|DONE|");
    CHECK(!r->head.keep_alive);
    CHECK_EQ_INT(r->head.version_minor, 0);
    CHECK_EQ_INT(r->head.host, -1);
    CHECK(REQ("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")->head.keep_alive);
    CHECK(!REQ("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n")->head.keep_alive);
}

static void data_after_connection_close_is_refused(void)
{
    struct run *r = REQ("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                        "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_STR_EQ(r->log, "HEAD GET /|DONE|ERROR 400|");
}

static void expect_100_continue_detected(void)
{
    CHECK(REQ("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n"
              "\r\nx")->head.expect_continue);
    CHECK(!REQ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx")->head.expect_continue);
    /* RFC 9110 10.1.1: ignored in an HTTP/1.0 request */
    CHECK(!REQ("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx")
               ->head.expect_continue);
}

static void hop_by_hop_fields_flagged(void)
{
    struct run *r = REQ("GET / HTTP/1.1\r\nConnection: keep-alive, X-Foo, Host, content-length\r\n"
                        "Keep-Alive: 5\r\nX-Foo: 1\r\nTE: trailers\r\nTrailer: x\r\n"
                        "Upgrade: h2c\r\nProxy-Authorization: secret\r\nHost: a\r\n"
                        "Content-Length: 0\r\nX-Bar: 2\r\n\r\n");
    const struct http1_head *h = &r->head;
    static const int hop[] = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
    uint32_t i;
    REQUIRE_EQ_INT(h->header_count, 10);
    for (i = 0; i < 10; i++)
        CHECK_MSG_((h->headers[i].flags & HTTP1_HDR_HOP) == (hop[i] ? HTTP1_HDR_HOP : 0),
                   "header %u (%.*s) hop flag", i, (int)h->headers[i].name_len,
                   h->headers[i].name);
    CHECK(!h->upgrade); /* Upgrade without the Connection option offers nothing */
}

/* Only options that can name a field not marked yet (not keep-alive or upgrade)
 * send the analysis looking for fields by name: "close" can. */
static void field_named_by_close_option_flagged(void)
{
    struct run *r = REQ("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nClose: x\r\n"
                        "Keep-Alive: 1\r\nX: 1\r\n\r\n");
    const struct http1_head *h = &r->head;
    REQUIRE_EQ_INT(h->header_count, 5);
    CHECK_EQ_INT(h->headers[2].flags & HTTP1_HDR_HOP, HTTP1_HDR_HOP);
    CHECK_EQ_INT(h->headers[3].flags & HTTP1_HDR_HOP, HTTP1_HDR_HOP);
    CHECK_EQ_INT(h->headers[4].flags & HTTP1_HDR_HOP, 0);
    r = REQ("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nX: 1\r\n\r\n");
    CHECK_EQ_INT(r->head.headers[2].flags & HTTP1_HDR_HOP, 0);
}

/* llhttp reports an empty value as a zero-length span where the next line starts:
 * that must not glue the next field's name onto this one. */
static void empty_values_keep_the_next_field_apart(void)
{
    struct run *r = REQ("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Ows: \t \r\n"
                        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    const struct http1_head *h = &r->head;
    CHECK_STR_EQ(r->log, "HEAD GET /|DONE|");
    REQUIRE_EQ_INT(h->header_count, 4);
    CHECK(view_is(h->headers[1].name, h->headers[1].name_len, "X-Empty"));
    CHECK_EQ_INT(h->headers[1].value_len, 0);
    CHECK(view_is(h->headers[2].name, h->headers[2].name_len, "X-Ows"));
    CHECK_EQ_INT(h->headers[2].value_len, 0);
    CHECK(view_is(h->headers[3].name, h->headers[3].name_len, "Transfer-Encoding"));
    CHECK_EQ_INT(h->framing, HTTP1_BODY_CHUNKED);
}

static void upgrade_offered_flagged(void)
{
    struct run *r = REQ("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    CHECK(r->head.upgrade);
    CHECK_STR_EQ(r->log, "HEAD GET /ws|DONE|");
}

static void absolute_form_gives_authority_and_origin(void)
{
    struct run *r = REQ("GET http://API.example:8080/v1/x?y=1 HTTP/1.1\r\nHost: api.example:8080\r\n\r\n");
    const struct http1_head *h = &r->head;
    CHECK(view_is(h->authority, h->authority_len, "API.example:8080"));
    CHECK(view_is(h->path, h->path_len, "/v1/x"));
    CHECK(view_is(h->origin, h->origin_len, "/v1/x?y=1"));
    r = REQ("OPTIONS https://h HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(view_is(r->head.path, r->head.path_len, "/"));
    CHECK(view_is(r->head.authority, r->head.authority_len, "h"));
}

static void asterisk_form_only_for_options(void)
{
    struct run *r = REQ("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_STR_EQ(r->log, "HEAD OPTIONS *|DONE|");
    CHECK(view_is(r->head.path, r->head.path_len, "*"));
    CHECK_STR_EQ(REQ("GET * HTTP/1.1\r\nHost: a\r\n\r\n")->log, "ERROR 400|");
}

static void leading_empty_lines_skipped(void)
{
    struct run *r = REQ("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_STR_EQ(r->log, "HEAD GET /|DONE|");
    CHECK_EQ_INT(r->head.head_len, 31);
    CHECK(r->head.method_text == r->buf + 4);
}

static void connect_and_unknown_methods_are_501(void)
{
    CHECK_STR_EQ(REQ("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n")->log, "ERROR 501|");
    CHECK_STR_EQ(REQ("FOO / HTTP/1.1\r\nHost: a\r\n\r\n")->log, "ERROR 501|");
    CHECK_STR_EQ(REQ("get / HTTP/1.1\r\nHost: a\r\n\r\n")->log, "ERROR 501|");
    CHECK_STR_EQ(REQ("DESCRIBE / HTTP/1.1\r\nHost: a\r\n\r\n")->log, "ERROR 400|");
}

static void eof_between_requests_is_a_clean_close(void)
{
    struct run *r = run_msg(HTTP1_REQUEST, NULL, S("GET / HTTP/1.1\r\nHost: a\r\n\r\n\r\n"), 1);
    CHECK_STR_EQ(r->log, "HEAD GET /|DONE|EOF|");
    r = run_msg(HTTP1_REQUEST, NULL, "", 0, 1);
    CHECK_STR_EQ(r->log, "EOF|");
}

static void eof_inside_a_request_is_an_error(void)
{
    CHECK_STR_EQ(run_msg(HTTP1_REQUEST, NULL, S("GET / HTTP/1.1\r\nHost: a\r\n"), 1)->log,
                 "EOF-ERROR 400|");
    CHECK_STR_EQ(run_msg(HTTP1_REQUEST, NULL,
                         S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nabc"), 1)->log,
                 "HEAD POST /|BODY|EOF-ERROR 400|");
    CHECK_STR_EQ(run_msg(HTTP1_REQUEST, NULL,
                         S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n"), 1)->log,
                 "HEAD POST /|BODY|EOF-ERROR 400|");
}

static void head_over_the_limit_is_431(void)
{
    static const char msg[] = "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789\r\n\r\n";
    struct http1_limits lim = {sizeof msg - 1, 0, 0};
    CHECK_STR_EQ(run_msg(HTTP1_REQUEST, &lim, S(msg), 0)->log, "HEAD GET /|DONE|");
    lim.max_head_bytes--;
    CHECK_STR_EQ(run_msg(HTTP1_REQUEST, &lim, S(msg), 0)->log, "ERROR 431|");
}

static void endless_head_line_is_431_without_waiting_for_its_end(void)
{
    static char msg[300];
    struct http1_limits lim = {128, 0, 0};
    struct http1_parser p;
    struct run *r = run_new();
    memcpy(msg, "GET /", 5);
    memset(msg + 5, 'a', sizeof msg - 5);
    http1_parser_init(&p, HTTP1_REQUEST, &lim);
    run_feed(r, &p, msg, sizeof msg, 16, 0, 0);
    CHECK_STR_EQ(r->log, "ERROR 431|");
    CHECK(r->have <= 128 + 16); /* refused as soon as the limit was reached */
}

static void too_many_headers_is_431(void)
{
    static const char msg[] = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
    struct http1_limits lim = {0, 0, 3};
    CHECK_STR_EQ(run_msg(HTTP1_REQUEST, &lim, S(msg), 0)->log, "HEAD GET /|DONE|");
    lim.max_headers = 2;
    CHECK_STR_EQ(run_msg(HTTP1_REQUEST, &lim, S(msg), 0)->log, "ERROR 431|");
}

static void content_length_over_the_limit_is_413_at_the_head(void)
{
    struct http1_limits lim = {0, 10, 0};
    CHECK_STR_EQ(run_msg(HTTP1_REQUEST, &lim,
                         S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n"), 0)->log,
                 "ERROR 413|");
    CHECK_STR_EQ(run_msg(HTTP1_REQUEST, &lim,
                         S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789"),
                         0)->log,
                 "HEAD POST /|BODY|DONE|");
}

static void chunked_total_over_the_limit_is_413_before_its_data(void)
{
    struct http1_limits lim = {0, 10, 0};
    struct run *r = run_msg(HTTP1_REQUEST, &lim,
                            S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "6\r\naaaaaa\r\n5\r\nbbbbb\r\n0\r\n\r\n"), 0);
    CHECK_STR_EQ(r->log, "HEAD POST /|BODY|ERROR 413|");
    CHECK(r->body_len == 6 && memcmp(r->body, "aaaaaa", 6) == 0);
}

static void trailer_section_over_the_limit_is_431(void)
{
    struct http1_limits lim = {80, 0, 0};
    struct run *r = run_msg(HTTP1_REQUEST, &lim,
                            S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "0\r\nX: 0123456789012345678901234567890123456789"
                              "0123456789012345678901234567890123456789\r\n\r\n"), 0);
    CHECK_STR_EQ(r->log, "HEAD POST /|ERROR 431|");
}

static void reset_recovers_from_an_error(void)
{
    struct http1_parser p;
    struct run *r = run_new();
    http1_parser_init(&p, HTTP1_REQUEST, NULL);
    run_feed(r, &p, S("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 64, 0, 0);
    CHECK_STR_EQ(r->log, "ERROR 400|");
    CHECK_STR_EQ(p.reason, "whitespace before the colon");
    http1_parser_reset(&p);
    r = run_new();
    run_feed(r, &p, S("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 64, 0, 0);
    CHECK_STR_EQ(r->log, "HEAD GET /|DONE|");
}

TEST_MAIN(
    RUN(simple_get_fills_the_head)
    RUN(header_views_point_into_callers_buffer)
    RUN(header_values_are_trimmed_of_ows)
    RUN(post_with_content_length_same_events_for_every_split)
    RUN(content_length_zero_is_done_at_once)
    RUN(chunked_body_dechunked_for_every_split)
    RUN(chunk_extensions_with_bws_and_quotes_accepted)
    RUN(pipelined_requests_parsed_one_after_another)
    RUN(body_spans_can_be_held_and_resumed)
    RUN(keep_alive_by_default_in_http11)
    RUN(connection_close_ends_http11)
    RUN(http10_closes_unless_keep_alive)
    RUN(data_after_connection_close_is_refused)
    RUN(expect_100_continue_detected)
    RUN(hop_by_hop_fields_flagged)
    RUN(field_named_by_close_option_flagged)
    RUN(empty_values_keep_the_next_field_apart)
    RUN(upgrade_offered_flagged)
    RUN(absolute_form_gives_authority_and_origin)
    RUN(asterisk_form_only_for_options)
    RUN(leading_empty_lines_skipped)
    RUN(connect_and_unknown_methods_are_501)
    RUN(eof_between_requests_is_a_clean_close)
    RUN(eof_inside_a_request_is_an_error)
    RUN(head_over_the_limit_is_431)
    RUN(endless_head_line_is_431_without_waiting_for_its_end)
    RUN(too_many_headers_is_431)
    RUN(content_length_over_the_limit_is_413_at_the_head)
    RUN(chunked_total_over_the_limit_is_413_before_its_data)
    RUN(trailer_section_over_the_limit_is_431)
    RUN(reset_recovers_from_an_error)
)
