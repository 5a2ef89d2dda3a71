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
 * that bytes presented again are not searched twice.
 * LINE_OK does not look inside the line: a CR in line[0..n) is a bare CR, which every
 * lint refuses; the caller then reports it with http1_line_fault(), so that a bare CR
 * wins over other faults of the line whatever the reads' sizes. */
enum http1_line http1_next_line(struct http1_parser *p, const char *line, size_t avail,
                                size_t max, size_t *n, const char **why);

/* The reason to report for a complete line line[0..n) that a lint refused with `why`:
 * "bare CR in line" when the line holds a CR (then *status, unless NULL, becomes
 * 400), else `why`. */
const char *http1_line_fault(const char *line, size_t n, const char *why, uint16_t *status);

/* Ends the current message: reports HTTP1_DONE and prepares the next one. */
enum http1_event http1_message_done(struct http1_parser *p);

/* ---- lint.c: the RFC 9112 grammar, one complete line at a time. Each lint takes
 * the line without its CRLF, s[0..n), and may read s[n], the CR of that CRLF. Each
 * returns NULL when the line is valid, else a short static reason. ---- */

/* Byte classes, one table lookup each (http1_ctype[c] & C_...). */
#define C_TCHAR 0x01u  /* token: field names, methods, list elements */
#define C_TEXT 0x02u   /* field-value and reason-phrase bytes: HTAB, SP, VCHAR, obs-text */
#define C_TARGET 0x04u /* request-target: VCHAR except "#" */
#define C_HOST 0x08u   /* authority without userinfo: reg-name, IP-literal, port */
extern const uint8_t http1_ctype[256];

static inline bool http1_tchar(unsigned char c) { return (http1_ctype[c] & C_TCHAR) != 0; }

/* ASCII case-insensitive comparison of s[0..n) with a lower-case literal. */
bool http1_ieq(const char *s, size_t n, const char *lower);
/* ASCII case-insensitive equality of a[0..n) and b[0..n). */
bool http1_same_name(const char *a, const char *b, size_t n);
/* *status: 400, or 505 for a well-formed but unsupported version. */
const char *http1_lint_request_line(const char *s, size_t n, uint16_t *status);
const char *http1_lint_status_line(const char *s, size_t n);
/* clean: s[0..n) is known to be all C_TEXT (http1_clean_line() said so); only the
 * name and the colon are left to check. */
const char *http1_lint_field_line(const char *s, size_t n, bool clean);
/* Sets *size to the chunk size (always below 2^63). */
const char *http1_lint_chunk_line(const char *s, size_t n, uint64_t *size);

/* ---- scan.c: the common case, each byte looked at once ---- */

/* When s[0..lim) starts with a complete line whose bytes are all C_TEXT (no CTL but
 * HTAB, no DEL) followed by CRLF, returns its length without the CRLF; else
 * HTTP1_NOT_CLEAN, and http1_next_line() and the lints decide what the line is
 * (incomplete, too long, bare CR or LF, or which fault). A clean line can only fail
 * the lints on its name, method, target or status. */
#define HTTP1_NOT_CLEAN ((size_t)-1)
size_t http1_clean_line(const char *s, size_t lim);

/* Accepts up to max_lines field lines at s[0..lim), each with its CRLF, for as long
 * as they are valid (http1_lint_field_line() would accept them) and complete. Sets
 * *count to the lines accepted and returns their length; stops before the empty
 * line and before any line it cannot accept on its own. */
size_t http1_skip_fields(const char *s, size_t lim, uint32_t max_lines, uint32_t *count);

/* The length of the run of token (C_TCHAR), text (C_TEXT), request-target (C_TARGET)
 * or authority (C_HOST) bytes at s[0..lim); the usual bytes are taken 16 at a time. */
size_t http1_token_len(const char *s, size_t lim);
size_t http1_text_len(const char *s, size_t lim);
size_t http1_target_len(const char *s, size_t lim);
size_t http1_host_len(const char *s, size_t lim);

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
