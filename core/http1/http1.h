/* http1.h - HTTP/1.x message codec over llhttp, strict against request smuggling.
 *
 * One parser per connection direction, embedded in the connection: HTTP1_REQUEST
 * for what a client sends, HTTP1_RESPONSE for what an upstream server answers. The
 * caller owns one contiguous input buffer and calls http1_parse() on the bytes it
 * has not had consumed yet. Each call returns one event:
 *
 *   HTTP1_HEAD       the head is complete; `head` describes it with views into the
 *                    bytes just consumed (no copies)
 *   HTTP1_BODY       one span of body data, de-chunked, a view into the input
 *   HTTP1_DONE       the message is complete; what follows belongs to the next one
 *   HTTP1_NEED_MORE  present the unconsumed bytes again, with more appended
 *   HTTP1_ERROR      refuse: answer p->status / p->reason and close the connection
 *
 * The caller may stop after any event (backpressure) and continue later with the
 * unconsumed bytes. The parser keeps offsets, never pointers, between calls: bytes
 * not yet consumed may be moved (buffer compaction) before they are presented again.
 * Views in `head` stay valid for as long as the caller keeps the consumed head bytes
 * where they were.
 *
 * Strictness: the head is checked line by line against the RFC 9112 grammar before
 * llhttp parses it (llhttp 8.1's loose build accepts obs-fold, a bare CR ending the
 * head, spaces before the colon, HTTP/2.0 and HTTP/0.9 request lines...), message
 * framing is decided here from the header views, and chunked bodies are decoded here
 * with a strict grammar. Everything refused, and why, is in docs/http1.md.
 *
 * Nothing allocates; all state lives in struct http1_parser. Not thread-safe: one
 * parser belongs to one connection on one worker.
 */
#ifndef SLUICE_HTTP1_H
#define SLUICE_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#define HTTP1_MAX_HEADERS 100u          /* hard cap on header lines per message */
#define HTTP1_DEFAULT_HEAD_BYTES 65536u /* max_head_bytes when the caller gives 0 */
#define HTTP1_MAX_CHUNK_LINE 4096u      /* chunk-size line with its extensions */

enum http1_kind { HTTP1_REQUEST, HTTP1_RESPONSE };

enum http1_event {
    HTTP1_NEED_MORE,
    HTTP1_HEAD,
    HTTP1_BODY,
    HTTP1_DONE,
    HTTP1_ERROR,
    HTTP1_CLOSED, /* http1_parse_eof() only: end of stream between messages */
};

/* How the body of the message is delimited (RFC 9112 section 6.3). */
enum http1_framing {
    HTTP1_BODY_NONE,        /* no body: request without length, HEAD/1xx/204/304 response */
    HTTP1_BODY_LENGTH,      /* Content-Length bytes (possibly 0) */
    HTTP1_BODY_CHUNKED,     /* Transfer-Encoding: chunked, decoded here */
    HTTP1_BODY_UNTIL_CLOSE, /* responses only: everything until the server closes */
};

/* http1_hdr.flags */
#define HTTP1_HDR_HOP 0x1u /* hop-by-hop: not to be forwarded (Connection and its
                            * tokens, Keep-Alive, TE, Trailer, Transfer-Encoding,
                            * Upgrade, Proxy-*) */

struct http1_hdr {
    const char *name, *value; /* views into the caller's buffer; value has no OWS */
    uint32_t name_len, value_len;
    uint32_t flags;           /* HTTP1_HDR_* */
};

struct http1_limits {
    uint32_t max_head_bytes; /* head incl. request/status line and final CRLF; 0 = default */
    uint64_t max_body_bytes; /* decoded body bytes; 0 = unlimited */
    uint32_t max_headers;    /* 0 or more than HTTP1_MAX_HEADERS = HTTP1_MAX_HEADERS */
};

/* A parsed head. Filled by the call that returns HTTP1_HEAD; every pointer is a view
 * into the bytes that call consumed. */
struct http1_head {
    /* requests */
    uint8_t method;             /* llhttp_method_t (HTTP_GET, HTTP_POST...) */
    const char *method_text;    /* as sent (methods are case-sensitive) */
    uint32_t method_len;
    const char *target;         /* request-target as sent */
    uint32_t target_len;
    const char *path;           /* path without the query ("/" for "http://h") */
    uint32_t path_len;
    const char *origin;         /* path and query: what to send upstream */
    uint32_t origin_len;
    const char *authority;      /* absolute-form only (equals Host), else NULL */
    uint32_t authority_len;
    /* responses */
    uint16_t status;
    const char *reason;         /* reason phrase, possibly empty */
    uint32_t reason_len;
    /* both */
    uint8_t version_major, version_minor;
    uint8_t framing;            /* enum http1_framing: authoritative for the body */
    bool keep_alive;            /* version default, Connection: close / keep-alive */
    bool expect_continue;       /* HTTP/1.1 request with Expect: 100-continue */
    bool upgrade;               /* request: Upgrade offered; response: 101 */
    int64_t content_length;     /* Content-Length value, -1 when absent */
    int host;                   /* index of Host in headers, -1 when absent */
    uint32_t head_len;          /* bytes consumed for the head */
    uint32_t header_count;
    struct http1_hdr headers[HTTP1_MAX_HEADERS];
};

/* Embedded in the connection. Fields are private except status and reason. */
struct http1_parser {
    llhttp_t ll;
    struct http1_limits lim;
    uint8_t kind;               /* enum http1_kind */
    uint8_t state;              /* private state machine */
    bool keep_alive;            /* of the message being parsed */
    int req_method;             /* responses: method of the request answered, or -1 */
    uint16_t resp_status;       /* responses: status of the message being parsed */
    uint16_t status;            /* after HTTP1_ERROR: status to answer (400, 413, 431,
                                 * 501, 505; 502 for every response error) */
    const char *reason;         /* after HTTP1_ERROR: static text, safe to send */
    size_t line;                /* head: offset of the line being scanned */
    size_t scan;                /* bytes after `line` already searched for LF */
    size_t blank;               /* head: leading empty lines (requests) */
    size_t pending;             /* head: bytes presented by the last call */
    uint32_t lines;             /* head or trailer lines accepted so far */
    uint32_t trailer_bytes;
    uint64_t remaining;         /* body bytes left in the message or chunk */
    uint64_t body_total;        /* decoded body bytes so far */
    struct http1_head *cur;     /* head being filled, only during http1_parse() */
};

/* Prepares `p` to parse messages of `kind`. `lim` is copied; NULL means the
 * defaults (HTTP1_DEFAULT_HEAD_BYTES, unlimited body, HTTP1_MAX_HEADERS). */
void http1_parser_init(struct http1_parser *p, enum http1_kind kind,
                       const struct http1_limits *lim);

/* Forgets any message in progress, an error, and the expected response method;
 * keeps kind and limits. For a connection that is reused from a clean state (an
 * upstream connection taken from the pool). Between keep-alive messages no reset is
 * needed: the call after HTTP1_DONE starts the next message. */
void http1_parser_reset(struct http1_parser *p);

/* Responses: the method of the request this response answers (llhttp_method_t).
 * A response to HEAD has no body whatever its headers say. Holds across interim
 * (1xx) responses and is forgotten when the final response is DONE. */
void http1_parser_expect_response_to(struct http1_parser *p, int method);

/* Parses data[0..len) and returns the next event. Always sets *consumed: bytes the
 * caller is done with; the next call must start with data[*consumed]. On
 * HTTP1_NEED_MORE *consumed may be less than len (an incomplete head or framing line
 * is re-read once complete): keep those bytes, append more, call again.
 * HTTP1_HEAD fills *head (which must not be NULL); views point into data[0..*consumed).
 * HTTP1_BODY sets *body / *body_len to a non-empty span inside data[0..*consumed).
 * After HTTP1_HEAD or HTTP1_BODY call again even when no bytes remain: the message may
 * be complete (HTTP1_DONE comes with *consumed possibly 0). After HTTP1_DONE the next
 * call starts the next message; when the message was not keep-alive (or was a 101)
 * further bytes are refused with HTTP1_ERROR. HTTP1_ERROR is sticky until reset; the
 * caller answers p->status (requests) and closes; no event is produced for any byte
 * at or after the offending one. */
enum http1_event http1_parse(struct http1_parser *p, const char *data, size_t len,
                             size_t *consumed, struct http1_head *head,
                             const char **body, size_t *body_len);

/* The peer closed its side. Returns HTTP1_DONE when this completes the message (a
 * response delimited by close, or a message whose DONE was not yet reported),
 * HTTP1_CLOSED when no message was in progress, HTTP1_ERROR (p->status) when the
 * message was cut short. Bytes the caller still holds unconsumed were presented to
 * http1_parse() already (it returned NEED_MORE on them). */
enum http1_event http1_parse_eof(struct http1_parser *p);

/* The first header called name[0..len) (case-insensitive), or NULL. */
const struct http1_hdr *http1_find_header(const struct http1_head *h, const char *name,
                                          size_t len);

/* ---- Writing. Each returns the bytes written, or 0 when they do not fit in cap
 * (nothing useful is left in buf then) or the input is refused. ---- */

#define HTTP1_CRLF "\r\n"              /* follows every chunk's data */
#define HTTP1_LAST_CHUNK "0\r\n\r\n"   /* ends a chunked body, no trailers */
#define HTTP1_LAST_CHUNK_LEN 5u
#define HTTP1_CHUNK_HEADER_MAX 18u     /* 16 hex digits and CRLF */

/* "1a2b\r\n": the size line of a chunk of `len` bytes (len > 0; 0 is the last
 * chunk, use HTTP1_LAST_CHUNK). */
size_t http1_chunk_header(char *buf, size_t cap, uint64_t len);

/* The canonical reason phrase for `status` (RFC 9110 and common extensions such as
 * 429, 431); for codes without one, a phrase naming the class ("Client Error").
 * Never NULL. */
const char *http1_reason_phrase(int status);

/* "HTTP/1.1 <status> <reason>\r\n". reason NULL means http1_reason_phrase(status).
 * Refuses status outside 100..599 and a reason with CR, LF or other CTLs. */
size_t http1_status_line(char *buf, size_t cap, int status, const char *reason);

/* "<method> <target> HTTP/1.1\r\n". Refuses a method that is not a token and a
 * target with bytes outside VCHAR. */
size_t http1_request_line(char *buf, size_t cap, const char *method, size_t method_len,
                          const char *target, size_t target_len);

/* "<name>: <value>\r\n". Refuses a name that is not a token and a value with CTLs
 * (other than HTAB), so values from configuration or filters cannot inject lines. */
size_t http1_header_line(char *buf, size_t cap, const char *name, size_t name_len,
                         const char *value, size_t value_len);

#endif
