/* body.c - message bodies: Content-Length, chunked, and until-close (responses).
 *
 * Chunked decoding is done here rather than by llhttp: llhttp 8.1 takes any byte
 * after the CR that ends a chunk extension as its LF, and a bare CR as the end of
 * the trailer section, each a way for two parsers to disagree on where a body ends.
 * Framing lines (chunk sizes, trailers) are handled whole, like head lines: an
 * incomplete one is left unconsumed and read again with more bytes. Data is
 * delivered as it arrives, one span per call, so the caller can stop after any span.
 */
#include "http1/http1_int.h"

static const char *too_large(const struct http1_parser *p)
{
    return p->kind == HTTP1_REQUEST ? "request body too large" : "response body too large";
}

static enum http1_event deliver(struct http1_parser *p, const char *data, size_t off,
                                size_t n, size_t *consumed, const char **body,
                                size_t *body_len)
{
    p->body_total += n;
    *body = data + off;
    *body_len = n;
    *consumed = off + n;
    return HTTP1_BODY;
}

/* A chunk-size line at data[*off]; moves to chunk data or the trailers. */
static enum http1_event chunk_size(struct http1_parser *p, const char *data, size_t len,
                                   size_t *off)
{
    const char *why = NULL;
    uint64_t size = 0;
    size_t n = 0;
    switch (http1_next_line(p, data + *off, len - *off, HTTP1_MAX_CHUNK_LINE, &n, &why)) {
    case LINE_MORE:
        return HTTP1_NEED_MORE;
    case LINE_TOO_LONG:
        return http1_fail(p, 400, "chunk size line too long");
    case LINE_BAD:
        return http1_fail(p, 400, why);
    case LINE_OK:
        break;
    }
    why = http1_lint_chunk_line(data + *off, n, &size);
    if (why)
        return http1_fail(p, 400, http1_line_fault(data + *off, n, why, NULL));
    *off += n + 2;
    if (size == 0) {
        p->state = ST_TRAILER;
        p->lines = 0;
        p->trailer_bytes = 0;
        return HTTP1_BODY; /* "keep going" */
    }
    /* Refused before any byte of the chunk that crosses the limit is delivered. */
    if (p->lim.max_body_bytes && size > p->lim.max_body_bytes - p->body_total)
        return http1_fail(p, 413, too_large(p));
    p->remaining = size;
    p->state = ST_CHUNK_DATA;
    return HTTP1_BODY;
}

/* One trailer line at data[*off]; the empty line ends the message. Trailer fields are
 * checked like header fields, then dropped: nothing downstream asks for them. */
static enum http1_event trailer(struct http1_parser *p, const char *data, size_t len,
                                size_t *off)
{
    const char *why = NULL;
    size_t n = 0;
    switch (http1_next_line(p, data + *off, len - *off,
                            p->lim.max_head_bytes - p->trailer_bytes, &n, &why)) {
    case LINE_MORE:
        return HTTP1_NEED_MORE;
    case LINE_TOO_LONG:
        return http1_fail(p, 431, "trailer section too large");
    case LINE_BAD:
        return http1_fail(p, 400, why);
    case LINE_OK:
        break;
    }
    if (n == 0) {
        *off += 2;
        return HTTP1_DONE;
    }
    if ((why = http1_lint_field_line(data + *off, n, false)) != NULL)
        return http1_fail(p, 400, http1_line_fault(data + *off, n, why, NULL));
    if (++p->lines > p->lim.max_headers)
        return http1_fail(p, 431, "too many trailer fields");
    p->trailer_bytes += (uint32_t)(n + 2);
    *off += n + 2;
    return HTTP1_BODY;
}

enum http1_event http1_body(struct http1_parser *p, const char *data, size_t len,
                            size_t *consumed, const char **body, size_t *body_len)
{
    size_t off = 0, n;
    enum http1_event ev;
    for (;;) {
        switch (p->state) {
        case ST_BODY_LENGTH:
            if (off == len)
                break;
            n = len - off < p->remaining ? len - off : (size_t)p->remaining;
            p->remaining -= n;
            if (p->remaining == 0)
                p->state = ST_COMPLETE;
            return deliver(p, data, off, n, consumed, body, body_len);
        case ST_BODY_CLOSE:
            if (off == len)
                break;
            n = len - off;
            if (p->lim.max_body_bytes) {
                /* up to the limit, then refuse: the same bytes whatever the reads */
                if (p->body_total == p->lim.max_body_bytes)
                    return http1_fail(p, 413, too_large(p));
                if (n > p->lim.max_body_bytes - p->body_total)
                    n = (size_t)(p->lim.max_body_bytes - p->body_total);
            }
            return deliver(p, data, off, n, consumed, body, body_len);
        case ST_CHUNK_DATA:
            if (off == len)
                break;
            n = len - off < p->remaining ? len - off : (size_t)p->remaining;
            p->remaining -= n;
            if (p->remaining == 0)
                p->state = ST_CHUNK_CRLF;
            return deliver(p, data, off, n, consumed, body, body_len);
        case ST_CHUNK_CRLF:
            if (len - off < 2) {
                if (len - off == 1 && data[off] != '\r')
                    return http1_fail(p, 400, "missing CRLF after chunk data");
                break;
            }
            if (data[off] != '\r' || data[off + 1] != '\n')
                return http1_fail(p, 400, "missing CRLF after chunk data");
            off += 2;
            p->state = ST_CHUNK_SIZE;
            continue;
        case ST_CHUNK_SIZE:
        case ST_TRAILER:
            ev = p->state == ST_CHUNK_SIZE ? chunk_size(p, data, len, &off)
                                           : trailer(p, data, len, &off);
            if (ev == HTTP1_BODY)
                continue;
            if (ev == HTTP1_DONE) {
                *consumed = off;
                return http1_message_done(p);
            }
            if (ev == HTTP1_ERROR)
                return ev;
            break;
        case ST_COMPLETE:
            *consumed = off;
            return http1_message_done(p);
        default:
            return http1_fail(p, 400, "internal parser state");
        }
        *consumed = off;
        return HTTP1_NEED_MORE;
    }
}
