/* test_http1_smuggling.c - every framing ambiguity known to split two parsers is
 * refused, with the status the proxy answers, whatever the reads' sizes, and no
 * event is produced for any byte at or after the offending one. Several of these
 * llhttp 8.1 (loose build) accepts on its own; see docs/http1.md. */
#include "test_http1_util.h"

#define POST_CHUNKED "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
#define CHUNKED_OK "HEAD POST /|BODY|DONE|"

/* msg is refused as `log` says (split every way), after delivering exactly `body`. */
static void refused_as(const char *msg, size_t len, const char *log, const char *body,
                       const char *reason)
{
    struct run *r = same_for_every_split(HTTP1_REQUEST, msg, len, 0);
    CHECK_STR_EQ(r->log, log);
    CHECK(r->body_len == strlen(body) && memcmp(r->body, body, r->body_len) == 0);
    if (reason)
        CHECK_STR_EQ(r->reason, reason);
}

#define HEAD_REFUSED(msg, log) refused_as(S(msg), log, "", NULL)
#define HEAD_REFUSED_BECAUSE(msg, log, why) refused_as(S(msg), log, "", why)
#define BODY_REFUSED(chunks, body)                                                  \
    refused_as(S(POST_CHUNKED chunks),                                              \
               (body)[0] ? "HEAD POST /|BODY|ERROR 400|" : "HEAD POST /|ERROR 400|", \
               body, NULL)
#define ACCEPTED(msg, want) CHECK_STR_EQ(same_for_every_split(HTTP1_REQUEST, S(msg), 0)->log, want)

/* ---- Content-Length and Transfer-Encoding ---- */

static void content_length_with_transfer_encoding_400(void)
{
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                 "Content-Length: 3\r\n\r\n0\r\n\r\n", "ERROR 400|");
}

static void duplicate_content_length_differing_400(void)
{
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n"
                 "\r\nabcd", "ERROR 400|");
}

static void duplicate_content_length_identical_400(void)
{
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n"
                 "\r\nabc", "ERROR 400|");
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", "ERROR 400|");
}

static void content_length_with_sign_400(void)
{
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", "ERROR 400|");
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -3\r\n\r\nabc", "ERROR 400|");
}

static void content_length_with_inner_space_400(void)
{
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 3\r\n\r\nabc", "ERROR 400|");
}

static void content_length_not_decimal_400(void)
{
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc", "ERROR 400|");
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3a\r\n\r\nabc", "ERROR 400|");
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\nabc", "ERROR 400|");
}

static void content_length_overflow_400(void)
{
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
                 "ERROR 400|");
}

static void transfer_encoding_chunked_not_last_400(void)
{
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
                 "0\r\n\r\n", "ERROR 400|");
}

static void transfer_encoding_xchunked_400(void)
{
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
                 "ERROR 400|");
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", "ERROR 400|");
}

static void transfer_encoding_chunked_twice_400(void)
{
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"
                 "0\r\n\r\n", "ERROR 400|");
}

static void transfer_encoding_empty_element_or_parameter_400(void)
{
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n0\r\n\r\n",
                 "ERROR 400|");
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n"
                 "0\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", "ERROR 400|");
}

static void transfer_coding_other_than_chunked_501(void)
{
    HEAD_REFUSED_BECAUSE("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n"
                         "\r\n0\r\n\r\n", "ERROR 501|", "transfer coding not implemented");
}

static void transfer_encoding_in_http10_400(void)
{
    HEAD_REFUSED("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "ERROR 400|");
}

static void transfer_encoding_case_and_ows_accepted(void)
{
    ACCEPTED("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \tCHUNKED \r\n\r\n0\r\n\r\n",
             "HEAD POST /|DONE|");
}

/* ---- chunked framing ---- */

static void chunk_size_not_hex_400(void) { BODY_REFUSED("3g\r\nabc\r\n0\r\n\r\n", ""); }
static void chunk_size_with_0x_prefix_400(void) { BODY_REFUSED("0x3\r\nabc\r\n0\r\n\r\n", ""); }
static void chunk_size_negative_400(void) { BODY_REFUSED("-3\r\nabc\r\n0\r\n\r\n", ""); }
static void chunk_size_empty_400(void) { BODY_REFUSED("\r\nabc\r\n0\r\n\r\n", ""); }

static void chunk_size_overflow_400(void)
{
    BODY_REFUSED("10000000000000003\r\nabc\r\n0\r\n\r\n", "");
    BODY_REFUSED("fffffffffffffffff\r\nabc\r\n0\r\n\r\n", "");
}

static void chunk_size_with_spaces_400(void)
{
    BODY_REFUSED("3 \r\nabc\r\n0\r\n\r\n", "");
    BODY_REFUSED(" 3\r\nabc\r\n0\r\n\r\n", "");
    BODY_REFUSED("3;a \r\nabc\r\n0\r\n\r\n", "");
}

/* llhttp 8.1 takes any byte after this CR for the LF: "b\r\na" became chunk data. */
static void chunk_extension_with_bare_cr_400(void)
{
    BODY_REFUSED("3;a\rb\r\nabc\r\n0\r\n\r\n", "");
}

static void chunk_extension_with_bare_lf_400(void) { BODY_REFUSED("3;a\nabc\r\n0\r\n\r\n", ""); }

static void chunk_extension_invalid_400(void)
{
    BODY_REFUSED("3;a=\x01\r\nabc\r\n0\r\n\r\n", "");
    BODY_REFUSED("3;=b\r\nabc\r\n0\r\n\r\n", "");
    BODY_REFUSED("3;a=\"b\r\nabc\r\n0\r\n\r\n", "");
}

static void chunk_size_line_with_bare_lf_400(void) { BODY_REFUSED("3\nabc\r\n0\r\n\r\n", ""); }

static void chunk_data_without_crlf_400(void)
{
    BODY_REFUSED("3\r\nabcX\r\n0\r\n\r\n", "abc");
    BODY_REFUSED("3\r\nabc\n0\r\n\r\n", "abc");
    BODY_REFUSED("3\r\nabc\rX0\r\n\r\n", "abc");
}

/* CVE-2023-30589 shape: a bare CR taken as the end of the trailer section. */
static void last_chunk_ended_by_bare_cr_400(void)
{
    refused_as(S(POST_CHUNKED "3\r\nabc\r\n0\r\n\rGET /admin HTTP/1.1\r\nHost: a\r\n\r\n"),
               "HEAD POST /|BODY|ERROR 400|", "abc", "bare CR in line");
}

static void trailer_with_obs_fold_or_bad_name_400(void)
{
    BODY_REFUSED("3\r\nabc\r\n0\r\nX: y\r\n z\r\n\r\n", "abc");
    BODY_REFUSED("3\r\nabc\r\n0\r\nX : y\r\n\r\n", "abc");
    BODY_REFUSED("3\r\nabc\r\n0\r\nX: y\n\r\n", "abc");
}

/* ---- line endings ---- */

static void bare_lf_ending_request_line_400(void)
{
    HEAD_REFUSED_BECAUSE("GET / HTTP/1.1\nHost: a\r\n\r\n", "ERROR 400|", "bare LF line ending");
}

static void bare_lf_ending_header_400(void)
{
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost: a\r\n\n", "ERROR 400|");
    HEAD_REFUSED("GET / HTTP/1.1\n\n", "ERROR 400|");
}

static void bare_cr_in_header_400(void)
{
    HEAD_REFUSED_BECAUSE("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", "ERROR 400|", "bare CR in line");
    HEAD_REFUSED("GET / HTTP/1.1\rHost: a\r\n\r\n", "ERROR 400|");
}

/* Past the field count limit, a line with a bare CR is still refused for its CR
 * (400), however the bytes arrive: the CR is what could split the message. */
static void bare_cr_past_the_field_limit_400(void)
{
    static const char msg[] = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\rx\r\n\r\n";
    struct http1_limits lim = {0, 0, 2};
    static struct http1_parser p;
    size_t step;
    for (step = 1; step <= sizeof msg; step += 7) {
        struct run *r = run_new();
        run_parser(&p, HTTP1_REQUEST, &lim);
        run_feed(r, &p, msg, sizeof msg - 1, step, 0, 0);
        CHECK_STR_EQ(r->log, "ERROR 400|");
        CHECK_STR_EQ(r->reason, "bare CR in line");
    }
}

/* CVE-2023-30589: llhttp 8.1 ends the head at "\r\n\r" and parses "GET /admin". */
static void bare_cr_ending_head_400(void)
{
    HEAD_REFUSED_BECAUSE("GET / HTTP/1.1\r\nHost: a\r\n\rGET /admin HTTP/1.1\r\nHost: a\r\n\r\n",
                         "ERROR 400|", "bare CR in line");
}

/* ---- header fields ---- */

static void obs_fold_400(void)
{
    HEAD_REFUSED_BECAUSE("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", "ERROR 400|",
                         "obsolete line folding");
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n", "ERROR 400|");
    /* a folded Transfer-Encoding is how CL.TE desyncs are usually built */
    HEAD_REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nX: y\r\n"
                 " Transfer-Encoding: chunked\r\n\r\nabc", "ERROR 400|");
}

static void whitespace_before_colon_400(void)
{
    HEAD_REFUSED_BECAUSE("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n"
                         "Content-Length: 3\r\n\r\nabc", "ERROR 400|", "whitespace before the colon");
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", "ERROR 400|");
}

static void invalid_header_name_400(void)
{
    HEAD_REFUSED("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost: a\r\nX\x01Y: b\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost: a\r\nX\x80: b\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", "ERROR 400|");
}

static void nul_in_header_value_400(void)
{
    refused_as("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 35, "ERROR 400|", "", NULL);
}

static void ctl_in_header_value_400(void)
{
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f" "b\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost: a\r\nX: a\x1b" "b\r\n\r\n", "ERROR 400|");
}

static void obs_text_and_htab_in_header_value_accepted(void)
{
    ACCEPTED("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\tok\r\n\r\n", "HEAD GET /|DONE|");
}

static void invalid_connection_option_400(void)
{
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost: a\r\nConnection: close;x\r\n\r\n", "ERROR 400|");
}

/* ---- request line ---- */

static void invalid_method_characters_400(void)
{
    HEAD_REFUSED("G@T / HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR 400|");
}

static void extra_spaces_in_request_line_400(void)
{
    HEAD_REFUSED("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR 400|");
}

static void invalid_target_characters_400(void)
{
    HEAD_REFUSED("GET /a\x01" "b HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET a HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", "ERROR 400|");
}

static void unsupported_version_505(void)
{
    HEAD_REFUSED("GET / HTTP/1.2\r\nHost: a\r\n\r\n", "ERROR 505|");
    HEAD_REFUSED("GET / HTTP/2.0\r\nHost: a\r\n\r\n", "ERROR 505|");
    HEAD_REFUSED("GET / HTTP/0.9\r\nHost: a\r\n\r\n", "ERROR 505|");
    HEAD_REFUSED("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "ERROR 505|");
}

static void malformed_version_400(void)
{
    HEAD_REFUSED("GET / http/1.1\r\nHost: a\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET / HTTP/11\r\nHost: a\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET / HTTP/1.1x\r\nHost: a\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET /\r\n\r\n", "ERROR 400|");
}

/* ---- Host ---- */

static void missing_host_in_http11_400(void)
{
    HEAD_REFUSED_BECAUSE("GET / HTTP/1.1\r\nX: a\r\n\r\n", "ERROR 400|", "missing Host header");
}

static void duplicate_host_400(void)
{
    HEAD_REFUSED_BECAUSE("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "ERROR 400|",
                         "more than one Host header");
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", "ERROR 400|");
}

static void invalid_host_400(void)
{
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "ERROR 400|");
    HEAD_REFUSED("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", "ERROR 400|");
}

static void host_differing_from_absolute_target_400(void)
{
    HEAD_REFUSED_BECAUSE("GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n", "ERROR 400|",
                         "Host does not match the request target");
}

/* ---- after a refusal ---- */

static void errors_are_sticky(void)
{
    struct http1_parser p;
    struct http1_head h;
    const char *b;
    size_t c, bl;
    static const char good[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    http1_parser_init(&p, HTTP1_REQUEST, NULL);
    CHECK_EQ_INT(http1_parse(&p, S("GET / HTTP/1.1\r\nHost: a\r\n\rX"), &c, &h, &b, &bl), HTTP1_ERROR);
    CHECK_EQ_INT(p.status, 400);
    CHECK_EQ_INT(http1_parse(&p, S(good), &c, &h, &b, &bl), HTTP1_ERROR);
    CHECK_EQ_INT(c, 0);
    CHECK_EQ_INT(http1_parse_eof(&p), HTTP1_ERROR);
}

TEST_MAIN(
    RUN(content_length_with_transfer_encoding_400)
    RUN(duplicate_content_length_differing_400)
    RUN(duplicate_content_length_identical_400)
    RUN(content_length_with_sign_400)
    RUN(content_length_with_inner_space_400)
    RUN(content_length_not_decimal_400)
    RUN(content_length_overflow_400)
    RUN(transfer_encoding_chunked_not_last_400)
    RUN(transfer_encoding_xchunked_400)
    RUN(transfer_encoding_chunked_twice_400)
    RUN(transfer_encoding_empty_element_or_parameter_400)
    RUN(transfer_coding_other_than_chunked_501)
    RUN(transfer_encoding_in_http10_400)
    RUN(transfer_encoding_case_and_ows_accepted)
    RUN(chunk_size_not_hex_400)
    RUN(chunk_size_with_0x_prefix_400)
    RUN(chunk_size_negative_400)
    RUN(chunk_size_empty_400)
    RUN(chunk_size_overflow_400)
    RUN(chunk_size_with_spaces_400)
    RUN(chunk_extension_with_bare_cr_400)
    RUN(chunk_extension_with_bare_lf_400)
    RUN(chunk_extension_invalid_400)
    RUN(chunk_size_line_with_bare_lf_400)
    RUN(chunk_data_without_crlf_400)
    RUN(last_chunk_ended_by_bare_cr_400)
    RUN(bare_cr_past_the_field_limit_400)
    RUN(trailer_with_obs_fold_or_bad_name_400)
    RUN(bare_lf_ending_request_line_400)
    RUN(bare_lf_ending_header_400)
    RUN(bare_cr_in_header_400)
    RUN(bare_cr_ending_head_400)
    RUN(obs_fold_400)
    RUN(whitespace_before_colon_400)
    RUN(invalid_header_name_400)
    RUN(nul_in_header_value_400)
    RUN(ctl_in_header_value_400)
    RUN(obs_text_and_htab_in_header_value_accepted)
    RUN(invalid_connection_option_400)
    RUN(invalid_method_characters_400)
    RUN(extra_spaces_in_request_line_400)
    RUN(invalid_target_characters_400)
    RUN(unsupported_version_505)
    RUN(malformed_version_400)
    RUN(missing_host_in_http11_400)
    RUN(duplicate_host_400)
    RUN(invalid_host_400)
    RUN(host_differing_from_absolute_target_400)
    RUN(errors_are_sticky)
)
