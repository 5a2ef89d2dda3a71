/* parse.c - the event loop of the codec: heads line by line, then the body.
 *
 * A head is not consumed until it is complete: each call re-reads it from its first
 * byte (p->line and p->scan make that linear, not quadratic), checks every new line
 * (runs of plain field lines at once with scan.c, any other line with
 * http1_next_line() and lint.c), and once the empty line arrives hands the whole
 * head to llhttp in one llhttp_execute(). llhttp therefore sees every span in one
 * piece, and the parser never holds a pointer into the caller's buffer between
 * calls. llhttp is paused at on_headers_complete and reset for every message:
 * bodies are decoded in body.c.
 */
#include <string.h>

#include "http1/http1_int.h"

static void start_message(struct http1_parser *p)
{
    p->line = p->scan = p->blank = p->pending = 0;
    p->lines = p->trailer_bytes = 0;
    p->remaining = p->body_total = 0;
    p->keep_alive = false;
    p->resp_status = 0;
    p->cur = NULL;
    llhttp_reset(&p->ll);
}

void http1_parser_init(struct http1_parser *p, enum http1_kind kind,
                       const struct http1_limits *lim)
{
    memset(p, 0, sizeof *p);
    p->kind = (uint8_t)kind;
    if (lim)
        p->lim = *lim;
    if (p->lim.max_head_bytes == 0)
        p->lim.max_head_bytes = HTTP1_DEFAULT_HEAD_BYTES;
    if (p->lim.max_headers == 0 || p->lim.max_headers > HTTP1_MAX_HEADERS)
        p->lim.max_headers = HTTP1_MAX_HEADERS;
    llhttp_init(&p->ll, kind == HTTP1_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE,
                &http1_llhttp_settings);
    p->ll.data = p;
    http1_parser_reset(p);
}

void http1_parser_reset(struct http1_parser *p)
{
    p->state = ST_HEAD;
    p->req_method = -1;
    p->status = 0;
    p->reason = NULL;
    start_message(p);
}

void http1_parser_expect_response_to(struct http1_parser *p, int method)
{
    p->req_method = method;
}

enum http1_event http1_fail(struct http1_parser *p, uint16_t status, const char *reason)
{
    p->state = ST_ERROR;
    p->status = p->kind == HTTP1_RESPONSE ? 502 : status;
    p->reason = reason;
    return HTTP1_ERROR;
}

enum http1_line http1_next_line(struct http1_parser *p, const char *line, size_t avail,
                                size_t max, size_t *n, const char **why)
{
    size_t lim = avail < max ? avail : max, i;
    const char *lf;
    if (p->scan > lim)
        p->scan = 0; /* fewer bytes than last time: the caller broke the contract */
    /* An empty buffer may come as NULL: memchr must not see it. */
    lf = lim > p->scan ? memchr(line + p->scan, '\n', lim - p->scan) : NULL;
    if (!lf) {
        /* A CR is only ever the first half of CRLF: refuse it as soon as the byte
         * after it is known, without waiting for the line to end. */
        if (lim - p->scan >= 2 && memchr(line + p->scan, '\r', lim - p->scan - 1)) {
            *why = "bare CR in line";
            return LINE_BAD;
        }
        p->scan = lim > 0 && line[lim - 1] == '\r' ? lim - 1 : lim;
        return avail >= max ? LINE_TOO_LONG : LINE_MORE;
    }
    i = (size_t)(lf - line);
    p->scan = 0;
    if (i == 0 || line[i - 1] != '\r') {
        *why = memchr(line, '\r', i) ? "bare CR in line" : "bare LF line ending";
        return LINE_BAD;
    }
    *n = i - 1;
    return LINE_OK;
}

const char *http1_line_fault(const char *line, size_t n, const char *why, uint16_t *status)
{
    if (!memchr(line, '\r', n))
        return why;
    if (status)
        *status = 400;
    return "bare CR in line";
}

enum http1_event http1_message_done(struct http1_parser *p)
{
    bool interim = p->kind == HTTP1_RESPONSE && p->resp_status < 200 &&
                   p->resp_status != 101;
    bool next = interim || p->keep_alive;
    if (!interim)
        p->req_method = -1;
    start_message(p);
    p->state = next ? ST_HEAD : ST_CLOSED;
    return HTTP1_DONE;
}

/* llhttp's verdict on a head lint.c accepted. The lint leaves it little to refuse
 * besides methods it does not know and Content-Length / Transfer-Encoding conflicts. */
static enum http1_event llhttp_failed(struct http1_parser *p, llhttp_errno_t e)
{
    const char *why = llhttp_get_error_reason(&p->ll);
    if (e == HPE_INVALID_METHOD)
        return http1_fail(p, 501, "method not implemented");
    return http1_fail(p, 400, why && *why ? why : "malformed head");
}

static enum http1_event head_complete(struct http1_parser *p, const char *data,
                                      size_t end, size_t *consumed,
                                      struct http1_head *h)
{
    llhttp_errno_t e;
    memset(h, 0, offsetof(struct http1_head, headers));
    h->content_length = -1;
    h->host = -1;
    p->cur = h;
    e = llhttp_execute(&p->ll, data, end);
    p->cur = NULL;
    if (p->state == ST_ERROR)
        return HTTP1_ERROR; /* a callback refused */
    if (e != HPE_PAUSED || llhttp_get_error_pos(&p->ll) != data + end)
        return llhttp_failed(p, e);
    if (!http1_head_analyze(p, h))
        return HTTP1_ERROR;
    h->head_len = (uint32_t)end;
    p->keep_alive = h->keep_alive;
    switch (h->framing) {
    case HTTP1_BODY_LENGTH:
        p->remaining = (uint64_t)h->content_length;
        p->state = p->remaining ? ST_BODY_LENGTH : ST_COMPLETE;
        break;
    case HTTP1_BODY_CHUNKED:
        p->state = ST_CHUNK_SIZE;
        break;
    case HTTP1_BODY_UNTIL_CLOSE:
        p->state = ST_BODY_CLOSE;
        break;
    default:
        p->state = ST_COMPLETE;
        break;
    }
    p->scan = 0;
    *consumed = end;
    return HTTP1_HEAD;
}

/* The fast path: the field lines that http1_skip_fields() vouches for, within the
 * limits, are taken at once. It stops at the empty line and at any line it cannot
 * accept on its own, which head_line() and the lints then take the careful way. */
static void skip_plain_fields(struct http1_parser *p, const char *data, size_t len)
{
    size_t max = p->lim.max_head_bytes;
    uint32_t k;
    if (p->scan != 0 || p->lines > p->lim.max_headers)
        return;
    p->line += http1_skip_fields(data + p->line, (len < max ? len : max) - p->line,
                                 p->lim.max_headers + 1 - p->lines, &k);
    p->lines += k;
}

/* The next complete line of the head, at data[p->line]: LINE_OK with its length
 * without CRLF in *n, and *clean when http1_clean_line() found every byte C_TEXT;
 * else what stops the head for now (http1_next_line()). */
static enum http1_line head_line(struct http1_parser *p, const char *data, size_t len,
                                 size_t *n, bool *clean, const char **why)
{
    const char *s = data + p->line;
    size_t avail = len - p->line, room = p->lim.max_head_bytes - p->line;
    size_t lim = avail < room ? avail : room;
    /* A line presented again (p->scan > 0) is searched on from where the last search
     * stopped, so that a head arriving byte by byte costs linear time. */
    *clean = false;
    if (p->scan == 0) {
        *n = lim >= 2 && s[0] == '\r' && s[1] == '\n' ? 0 : http1_clean_line(s, lim);
        if (*n != HTTP1_NOT_CLEAN) {
            *clean = true;
            return LINE_OK;
        }
    }
    return http1_next_line(p, s, avail, room, n, why);
}

/* Out of line: the body and DONE calls of http1_parse() stay short. */
__attribute__((noinline)) static enum http1_event
parse_head(struct http1_parser *p, const char *data, size_t len, size_t *consumed,
           struct http1_head *h)
{
    if (len < p->pending) /* bytes were dropped: start the scan over */
        start_message(p);
    p->pending = len;
    for (;;) {
        const char *s, *why = NULL;
        uint16_t status = 400;
        size_t n = 0;
        bool clean;
        if (p->lines > 0)
            skip_plain_fields(p, data, len);
        switch (head_line(p, data, len, &n, &clean, &why)) {
        case LINE_MORE:
            return HTTP1_NEED_MORE;
        case LINE_TOO_LONG:
            return http1_fail(p, 431, "header section too large");
        case LINE_BAD:
            return http1_fail(p, 400, why);
        case LINE_OK:
            break;
        }
        if (n == 0) {
            if (p->lines > 0)
                return head_complete(p, data, p->line + 2, consumed, h);
            /* RFC 9112 2.2: a server SHOULD ignore empty lines before a request. */
            if (p->kind == HTTP1_RESPONSE)
                return http1_fail(p, 502, "empty line before the status line");
            p->line = p->blank = p->line + 2;
            continue;
        }
        s = data + p->line;
        if (p->lines == 0) {
            why = p->kind == HTTP1_REQUEST ? http1_lint_request_line(s, n, &status)
                                           : http1_lint_status_line(s, n);
        } else if (p->lines > p->lim.max_headers) {
            why = "too many header fields";
            status = 431;
        } else {
            why = http1_lint_field_line(s, n, clean);
        }
        if (why) { /* a bare CR in the line comes first, whatever else is wrong */
            why = http1_line_fault(s, n, why, &status);
            return http1_fail(p, status, why);
        }
        p->lines++;
        p->line += n + 2;
    }
}

enum http1_event http1_parse(struct http1_parser *p, const char *data, size_t len,
                             size_t *consumed, struct http1_head *head,
                             const char **body, size_t *body_len)
{
    *consumed = 0;
    *body = NULL;
    *body_len = 0;
    switch (p->state) {
    case ST_ERROR:
        return HTTP1_ERROR;
    case ST_CLOSED:
        if (len == 0)
            return HTTP1_NEED_MORE;
        return http1_fail(p, 400, "data after the last message of the connection");
    case ST_HEAD:
        return parse_head(p, data, len, consumed, head);
    case ST_COMPLETE:
        return http1_message_done(p);
    default:
        return http1_body(p, data, len, consumed, body, body_len);
    }
}

enum http1_event http1_parse_eof(struct http1_parser *p)
{
    switch (p->state) {
    case ST_ERROR:
        return HTTP1_ERROR;
    case ST_CLOSED:
        return HTTP1_CLOSED;
    case ST_HEAD:
        if (p->pending > p->blank)
            return http1_fail(p, 400, "connection closed in the middle of the head");
        return HTTP1_CLOSED;
    case ST_COMPLETE:
    case ST_BODY_CLOSE:
        return http1_message_done(p);
    default:
        return http1_fail(p, 400, "connection closed in the middle of the body");
    }
}

const struct http1_hdr *http1_find_header(const struct http1_head *h, const char *name,
                                          size_t len)
{
    uint32_t i;
    for (i = 0; i < h->header_count; i++) {
        const struct http1_hdr *f = &h->headers[i];
        if (f->name_len == len && http1_same_name(f->name, name, len))
            return f;
    }
    return NULL;
}
