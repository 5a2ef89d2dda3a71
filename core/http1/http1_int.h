/* http1_int.h - shared between the files of core/http1/ only; not an API. */
#ifndef SLUICE_HTTP1_INT_H
#define SLUICE_HTTP1_INT_H

#include "http1/http1.h"

/* http1_parser.state */
enum {
    ST_HEAD,         /* scanning a head (also: idle between messages) */
    ST_BODY_LENGTH,  /* p->remaining Content-Length bytes left */
    ST_CHUNK_SIZE,   /* expecting a chunk-size line */
    ST_CHUNK_DATA,   /* p->remaining bytes of the chunk left */
    ST_CHUNK_CRLF,   /* expecting the CRLF after chunk data */
    ST_TRAILER,      /* trailer lines until the empty one */
    ST_BODY_CLOSE,   /* response body until the peer closes */
    ST_COMPLETE,     /* body done; the next call reports HTTP1_DONE */
    ST_CLOSED,       /* after a message that ends the connection */
    ST_ERROR,
};

/* ---- parse.c ---- */

/* Enters the error state with `status` (502 for any response) and a static reason. */
enum http1_event http1_fail(struct http1_parser *p, uint16_t status, const char *reason);

enum http1_line { LINE_OK, LINE_MORE, LINE_TOO_LONG, LINE_BAD };

/* Finds the CRLF ending the line that starts at line[0], within `max` bytes (CRLF
 * included) of the `avail` present. LINE_OK sets *n to the length without CRLF;
 * LINE_BAD (bare LF or CR) sets *why. p->scan remembers how far the search went so
 * that bytes presented again are not searched twice. */
enum http1_line http1_next_line(struct http1_parser *p, const char *line, size_t avail,
                                size_t max, size_t *n, const char **why);

/* Ends the current message: reports HTTP1_DONE and prepares the next one. */
enum http1_event http1_message_done(struct http1_parser *p);

/* ---- lint.c: the RFC 9112 grammar, one complete line (CRLF excluded) at a time.
 * Each returns NULL when the line is valid, else a short static reason. ---- */

bool http1_tchar(unsigned char c);
/* ASCII case-insensitive comparison of s[0..n) with a lower-case literal. */
bool http1_ieq(const char *s, size_t n, const char *lower);
/* ASCII case-insensitive equality of a[0..n) and b[0..n). */
bool http1_same_name(const char *a, const char *b, size_t n);
/* *status: 400, or 505 for a well-formed but unsupported version. */
const char *http1_lint_request_line(const char *s, size_t n, uint16_t *status);
const char *http1_lint_status_line(const char *s, size_t n);
const char *http1_lint_field_line(const char *s, size_t n);
/* Sets *size to the chunk size (always below 2^63). */
const char *http1_lint_chunk_line(const char *s, size_t n, uint64_t *size);

/* ---- head.c ---- */

/* llhttp callbacks that fill p->cur; on_headers_complete pauses llhttp. */
extern const llhttp_settings_t http1_llhttp_settings;

/* Decides framing, keep-alive and the rest from the headers llhttp collected, and
 * refuses what is ambiguous. false: p is in the error state. */
bool http1_head_analyze(struct http1_parser *p, struct http1_head *h);

/* ---- body.c ---- */

/* Body states: delivers the next span, or DONE/NEED_MORE/ERROR. */
enum http1_event http1_body(struct http1_parser *p, const char *data, size_t len,
                            size_t *consumed, const char **body, size_t *body_len);

#endif
