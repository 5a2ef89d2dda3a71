/* test_http1_scan.c - the fast paths of the head (core/http1/scan.c: 16 bytes at a
 * time with SSE2, 8 elsewhere) judge every byte value exactly as the grammar does, in
 * every lane of a block: each message is parsed whole (fast path) and byte by byte
 * (the careful path), and both must agree with each other and with the rule being
 * tested, down to the reason given. */
#include "test_http1_util.h"

#include <stdbool.h>

static bool tchar(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool field_text(int c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

static bool host_char(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("-._~!$&'()*+,;=:[]%", c) != NULL);
}

/* msg with its byte at `at` replaced by c, parsed as a request whole (the fast
 * paths) and byte by byte (every line is incomplete at first: the careful path),
 * which must agree. Returns NULL when it was accepted (its head, then DONE), else why
 * it was refused. The reasons tell lint.c's verdicts from llhttp's, so a fast path
 * that let a bad byte through to llhttp would show. */
static const char *parse_with(const char *msg, size_t at, int c)
{
    static char m[512], log[4096];
    static struct http1_parser p;
    size_t len = strlen(msg);
    const char *reason;
    struct run *r;
    memcpy(m, msg, len);
    m[at] = (char)c;
    r = run_new();
    run_parser(&p, HTTP1_REQUEST, NULL);
    run_feed(r, &p, m, len, 1, 0, 1);
    memcpy(log, r->log, r->log_len + 1);
    reason = r->reason;
    r = run_msg(HTTP1_REQUEST, NULL, m, len, 0);
    CHECK_MSG_(strcmp(log, r->log) == 0 && reason == r->reason,
               "byte 0x%02x at %zu: whole \"%s\" (%s), byte by byte \"%s\" (%s)", c, at,
               r->log, r->reason ? r->reason : "-", log, reason ? reason : "-");
    if (strncmp(r->log, "HEAD ", 5) == 0 && strstr(r->log, "|DONE|") && !strstr(r->log, "ERROR"))
        return NULL;
    return r->reason ? r->reason : "(no reason)";
}

#define CHECK_VERDICT(got, want, what, c, k)                                             \
    CHECK_MSG_((!(got) && !(want)) || ((got) && (want) && strcmp((got), (want)) == 0),   \
               "%s byte 0x%02x at %zu: \"%s\", want \"%s\"", what, c, k,                \
               (got) ? (got) : "accepted", (want) ? (want) : "accepted")

/* What a byte that breaks a line is refused as, before the grammar of the line. */
static const char *line_fault(int c)
{
    return c == '\r' ? "bare CR in line" : c == '\n' ? "bare LF line ending" : NULL;
}

/* Every byte value at every offset of a 39-byte field name. */
static void field_name_bytes_follow_the_token_rule_in_every_lane(void)
{
    static const char msg[] = "GET / HTTP/1.1\r\nHost: a\r\n"
                              "X-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: v\r\n\r\n";
    size_t name = sizeof "GET / HTTP/1.1\r\nHost: a\r\n" - 1, k;
    int c;
    for (k = 0; msg[name + k] != ':'; k++)
        for (c = 0; c < 256; c++) {
            const char *want = line_fault(c);
            bool ws = c == ' ' || c == '\t';
            if (want || tchar(c) || (c == ':' && k > 0)) /* a colon ends the name early */
                ;
            else if (ws)
                want = k == 0 ? "obsolete line folding" : "whitespace before the colon";
            else
                want = c == ':' ? "empty header name" : "invalid character in header name";
            if (!CHECK_VERDICT(parse_with(msg, name + k, c), want, "name", c, k))
                return;
        }
}

/* Every byte value at every offset of a 48-byte field value. */
static void field_value_bytes_follow_the_text_rule_in_every_lane(void)
{
    static const char msg[] = "GET / HTTP/1.1\r\nHost: a\r\nX-V: "
                              "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\r\n\r\n";
    size_t value = sizeof "GET / HTTP/1.1\r\nHost: a\r\nX-V: " - 1, k;
    int c;
    for (k = 0; msg[value + k] != '\r'; k++)
        for (c = 0; c < 256; c++) {
            const char *want = line_fault(c);
            if (!want && !field_text(c))
                want = "invalid character in header value";
            if (!CHECK_VERDICT(parse_with(msg, value + k, c), want, "value", c, k))
                return;
        }
}

/* ... and the value, trimmed of OWS, is what the field says, with an HTAB inside. */
static void field_value_with_htab_and_obs_text_is_kept_whole(void)
{
    struct run *r = same_for_every_split(
        HTTP1_REQUEST,
        S("GET / HTTP/1.1\r\nHost: a\r\nX-V: \t one\ttwo \x80\xff three-four-five-six \t\r\n\r\n"),
        0);
    static const char want[] = "one\ttwo \x80\xff three-four-five-six";
    const struct http1_hdr *v = &r->head.headers[1];
    REQUIRE_EQ_INT(r->head.header_count, 2);
    CHECK(v->value_len == sizeof want - 1 && memcmp(v->value, want, sizeof want - 1) == 0);
}

/* Every byte value at every offset of a 40-byte request target but its "/". */
static void target_bytes_follow_the_target_rule_in_every_lane(void)
{
    static const char msg[] = "GET /ttttttttttttttttttttttttttttttttttttttt HTTP/1.1\r\n"
                              "Host: a\r\n\r\n";
    size_t k;
    int c;
    for (k = 1; msg[4 + k] != ' '; k++)
        for (c = 0; c < 256; c++) {
            const char *want = line_fault(c);
            if (want || (c > 0x20 && c < 0x7f && c != '#'))
                ;
            else if (c == '#')
                want = "fragment in request target";
            else if (c == ' ') /* a third space: the version is not what follows */
                want = "invalid HTTP version";
            else
                want = "invalid character in request target";
            if (!CHECK_VERDICT(parse_with(msg, 4 + k, c), want, "target", c, k))
                return;
        }
}

/* Every byte value at every inner offset of a 36-byte Host value (OWS at either end
 * would not be part of the value). */
static void host_bytes_follow_the_authority_rule_in_every_lane(void)
{
    static const char msg[] = "GET / HTTP/1.1\r\nHost: hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh\r\n\r\n";
    size_t host = sizeof "GET / HTTP/1.1\r\nHost: " - 1, k;
    int c;
    for (k = 1; msg[host + k + 1] != '\r'; k++)
        for (c = 0; c < 256; c++) {
            const char *want = line_fault(c);
            if (!want && !field_text(c))
                want = "invalid character in header value";
            else if (!want && !host_char(c))
                want = "invalid Host header";
            if (!CHECK_VERDICT(parse_with(msg, host + k, c), want, "host", c, k))
                return;
        }
}

/* A head of many plain lines, long and short, then one bad line: the fast path takes
 * the plain ones, the careful path names the fault. */
static void bad_line_after_many_plain_lines_is_refused_with_its_reason(void)
{
    struct run *r = same_for_every_split(
        HTTP1_REQUEST,
        S("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB-Very-Long-Field-Name-Here: x\r\nC: "
          "a value that is longer than sixteen bytes\r\nD : 4\r\n\r\n"),
        0);
    CHECK_STR_EQ(r->log, "ERROR 400|");
    CHECK_STR_EQ(r->reason, "whitespace before the colon");
    r = same_for_every_split(HTTP1_REQUEST,
                             S("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\rC: 3\r\n\r\n"), 0);
    CHECK_STR_EQ(r->log, "ERROR 400|");
    CHECK_STR_EQ(r->reason, "bare CR in line");
}

TEST_MAIN(
    RUN(field_name_bytes_follow_the_token_rule_in_every_lane)
    RUN(field_value_bytes_follow_the_text_rule_in_every_lane)
    RUN(field_value_with_htab_and_obs_text_is_kept_whole)
    RUN(target_bytes_follow_the_target_rule_in_every_lane)
    RUN(host_bytes_follow_the_authority_rule_in_every_lane)
    RUN(bad_line_after_many_plain_lines_is_refused_with_its_reason)
)
