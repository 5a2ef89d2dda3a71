/* head.c - what a head means: collecting llhttp's spans, then framing, keep-alive,
 * Host and hop-by-hop fields, decided from the header views.
 *
 * llhttp is paused at on_headers_complete, before its own framing checks run, so
 * every rule that decides where a message ends lives here, in one place, following
 * RFC 9112 section 6.3 and refusing whatever two implementations could read two ways.
 */
#include <string.h>

#include "http1/http1_int.h"

#define MAX_CONNECTION_OPTIONS 32u

/* ---- llhttp callbacks: spans into p->cur. The whole head is in one
 * llhttp_execute() that no callback pauses, so llhttp reports each span in one
 * piece. They are kept to the minimum (no *_complete callbacks): on_header_field
 * starts a field, on_header_value gives it its value. Method, target and reason are
 * joined if ever continued, and anything not contiguous is refused rather than
 * guessed at. ---- */

static struct http1_parser *owner(llhttp_t *ll) { return (struct http1_parser *)ll->data; }

static int extend(llhttp_t *ll, const char **ptr, uint32_t *len, const char *at, size_t n)
{
    if (n == 0)
        return 0;
    if (*len == 0) {
        *ptr = at;
    } else if (*ptr + *len != at) {
        http1_fail(owner(ll), 400, "malformed head");
        return -1;
    }
    *len += (uint32_t)n;
    return 0;
}

static int on_method(llhttp_t *ll, const char *at, size_t n)
{
    struct http1_head *h = owner(ll)->cur;
    return extend(ll, &h->method_text, &h->method_len, at, n);
}

static int on_url(llhttp_t *ll, const char *at, size_t n)
{
    struct http1_head *h = owner(ll)->cur;
    return extend(ll, &h->target, &h->target_len, at, n);
}

static int on_status(llhttp_t *ll, const char *at, size_t n)
{
    struct http1_head *h = owner(ll)->cur;
    return extend(ll, &h->reason, &h->reason_len, at, n);
}

/* Out of line and rare: keeps the callbacks below free of stack frames. */
__attribute__((cold, noinline)) static int refuse_cb(llhttp_t *ll, uint16_t status,
                                                     const char *reason)
{
    http1_fail(owner(ll), status, reason);
    return -1;
}

static int on_header_field(llhttp_t *ll, const char *at, size_t n)
{
    struct http1_parser *p = owner(ll);
    struct http1_head *h = p->cur;
    struct http1_hdr *f = h->headers + h->header_count;
    if (n == 0)
        return 0;
    /* Until it gets a value, a field's value points right after its name: a name
     * that goes on from there is the same name, continued (a new field starts after
     * at least ":" CRLF). */
    if (f != h->headers && f[-1].value == at) {
        f[-1].name_len += (uint32_t)n;
        f[-1].value = at + n;
        return 0;
    }
    if (h->header_count >= p->lim.max_headers) /* lint.c counted already */
        return refuse_cb(ll, 431, "too many header fields");
    f->name = at;
    f->name_len = (uint32_t)n;
    f->value = at + n; /* also a valid pointer when the value stays empty */
    f->value_len = 0;
    f->flags = 0;
    h->header_count++;
    return 0;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t n)
{
    struct http1_head *h = owner(ll)->cur;
    struct http1_hdr *f;
    const char *end = at + n;
    if (n == 0)
        return 0; /* llhttp reports an empty value where the next line starts */
    if (h->header_count == 0)
        return refuse_cb(ll, 400, "malformed head");
    f = h->headers + h->header_count - 1;
    if (f->value_len) { /* continued: only ever right where it stopped */
        if (f->value + f->value_len != at)
            return refuse_cb(ll, 400, "malformed head");
        at = f->value;
    }
    /* llhttp drops leading OWS but keeps trailing OWS in the span. */
    while (end > at && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    f->value = at;
    f->value_len = (uint32_t)(end - at);
    return 0;
}

static int on_headers_complete(llhttp_t *ll)
{
    (void)ll;
    return HPE_PAUSED; /* the body is ours: see body.c */
}

const llhttp_settings_t http1_llhttp_settings = {
    .on_method = on_method,
    .on_url = on_url,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
};

/* ---- analysis ---- */

static bool refuse(struct http1_parser *p, uint16_t status, const char *reason)
{
    http1_fail(p, status, reason);
    return false;
}

enum field_id {
    FLD_OTHER, FLD_HOST, FLD_LENGTH, FLD_TE, FLD_CONNECTION, FLD_EXPECT, FLD_UPGRADE, FLD_HOP
};

/* What the fields say, gathered in one pass. */
struct facts {
    unsigned hosts, lengths, chunked, options;
    unsigned naming; /* Connection options that may name a field not yet marked */
    bool te, chunked_last, other_coding;
    bool close, keep_alive, upgrade_option, upgrade_field, expect_continue;
};

/* s[0..n) equals the lower-case literal `lower` (n bytes of letters and "-"),
 * ignoring ASCII case. s must be a token: field names are (lint.c), list elements
 * are checked first. Among tokens, setting bit 5 changes only 'A'-'Z' and maps
 * nothing else onto a lower-case letter or "-", so case is folded exactly, eight
 * bytes at a time (the last, possibly overlapping, word ends the name). */
static bool name_is(const char *s, const char *lower, size_t n)
{
    const uint64_t fold = 0x2020202020202020ull;
    uint64_t a, b;
    size_t i;
    if (n < 8) {
        for (i = 0; i < n; i++)
            if (((unsigned char)s[i] | 0x20) != (unsigned char)lower[i])
                return false;
        return true;
    }
    for (i = 0; i + 8 < n; i += 8) {
        memcpy(&a, s + i, sizeof a);
        memcpy(&b, lower + i, sizeof b);
        if ((a | fold) != b)
            return false;
    }
    memcpy(&a, s + n - 8, sizeof a);
    memcpy(&b, lower + n - 8, sizeof b);
    return (a | fold) == b;
}

#define IS(lit, id) (name_is(s, lit, sizeof(lit) - 1) ? (id) : FLD_OTHER)

/* The fields the analysis acts on. Every field of every message comes through here,
 * so the length picks the candidate (the first byte when two names share a length)
 * and one comparison decides; most fields are rejected by the length alone. */
static enum field_id classify(const char *s, size_t n)
{
    switch (n) {
    case 2:
        return IS("te", FLD_HOP);
    case 4:
        return IS("host", FLD_HOST);
    case 6:
        return IS("expect", FLD_EXPECT);
    case 7:
        return (s[0] | 0x20) == 'u' ? IS("upgrade", FLD_UPGRADE) : IS("trailer", FLD_HOP);
    case 10:
        return (s[0] | 0x20) == 'c' ? IS("connection", FLD_CONNECTION)
                                    : IS("keep-alive", FLD_HOP);
    case 14:
        return IS("content-length", FLD_LENGTH);
    case 16:
        return IS("proxy-connection", FLD_HOP);
    case 17:
        return IS("transfer-encoding", FLD_TE);
    case 18:
        return IS("proxy-authenticate", FLD_HOP);
    case 19:
        return IS("proxy-authorization", FLD_HOP);
    default:
        return FLD_OTHER;
    }
}

#undef IS

/* The next element of a comma-separated list, trimmed of OWS; false at the end. */
static bool next_element(const char *s, size_t n, size_t *pos, const char **e, size_t *len)
{
    size_t i = *pos, j;
    const char *comma;
    if (i > n)
        return false;
    comma = memchr(s + i, ',', n - i);
    j = comma ? (size_t)(comma - s) : n;
    *pos = j + 1;
    while (i < j && (s[i] == ' ' || s[i] == '\t'))
        i++;
    while (j > i && (s[j - 1] == ' ' || s[j - 1] == '\t'))
        j--;
    *e = s + i;
    *len = j - i;
    return true;
}

static bool all_tchar(const char *s, size_t n)
{
    return n > 0 && http1_token_len(s, n) == n;
}

/* 1*DIGIT and nothing else: no sign, no spaces, no list ("5, 5"). */
static bool parse_length(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;
    size_t i;
    if (n == 0)
        return false;
    for (i = 0; i < n; i++) {
        int d = s[i] - '0';
        if (d < 0 || d > 9 || v > INT64_MAX / 10 || (v == INT64_MAX / 10 && d > INT64_MAX % 10))
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Accepted only as a list whose single chunked element comes last; whatever else
 * appears decides between 400 (framing unknowable) and 501 (coding unknown). */
static bool transfer_codings(struct http1_parser *p, const struct http1_hdr *f,
                             struct facts *k)
{
    size_t pos = 0, n, name;
    const char *e;
    k->te = true;
    while (next_element(f->value, f->value_len, &pos, &e, &n)) {
        for (name = 0; name < n && http1_tchar((unsigned char)e[name]); name++)
            ;
        if (name == 0)
            return refuse(p, 400, "invalid Transfer-Encoding");
        k->chunked_last = name == 7 && name_is(e, "chunked", 7);
        if (k->chunked_last) {
            if (name != n)
                return refuse(p, 400, "invalid Transfer-Encoding");
            k->chunked++;
        } else {
            k->other_coding = true;
        }
    }
    return true;
}

static bool connection_options(struct http1_parser *p, const struct http1_hdr *f,
                               struct facts *k)
{
    size_t pos = 0, n;
    const char *e;
    while (next_element(f->value, f->value_len, &pos, &e, &n)) {
        if (n == 0)
            continue; /* RFC 9110 5.6.1: empty list elements are ignored */
        if (!all_tchar(e, n))
            return refuse(p, 400, "invalid Connection header");
        /* keep-alive and upgrade name fields that are hop-by-hop already */
        if (n == 10 && name_is(e, "keep-alive", 10)) {
            k->keep_alive = true;
        } else if (n == 7 && name_is(e, "upgrade", 7)) {
            k->upgrade_option = true;
        } else {
            k->close = k->close || (n == 5 && name_is(e, "close", 5));
            k->naming++; /* for mark_options() */
        }
        if (++k->options > MAX_CONNECTION_OPTIONS)
            return refuse(p, 400, "too many Connection options");
    }
    return true;
}

static bool scan_fields(struct http1_parser *p, struct http1_head *h, struct facts *k,
                        uint8_t *ids)
{
    uint32_t i;
    for (i = 0; i < h->header_count; i++) {
        struct http1_hdr *f = &h->headers[i];
        enum field_id id = classify(f->name, f->name_len);
        ids[i] = (uint8_t)id;
        switch (id) {
        case FLD_HOST:
            if (k->hosts++)
                return refuse(p, 400, "more than one Host header");
            h->host = (int)i;
            break;
        case FLD_LENGTH:
            if (k->lengths++) /* even when equal: nothing to gain from accepting it */
                return refuse(p, 400, "more than one Content-Length");
            if (!parse_length(f->value, f->value_len, &h->content_length))
                return refuse(p, 400, "invalid Content-Length");
            break;
        case FLD_TE:
            if (!transfer_codings(p, f, k))
                return false;
            break;
        case FLD_CONNECTION:
            if (!connection_options(p, f, k))
                return false;
            break;
        case FLD_EXPECT:
            k->expect_continue = http1_ieq(f->value, f->value_len, "100-continue");
            break;
        case FLD_UPGRADE:
            k->upgrade_field = true;
            break;
        default:
            break;
        }
        if (id == FLD_TE || id == FLD_CONNECTION || id == FLD_UPGRADE || id == FLD_HOP)
            f->flags |= HTTP1_HDR_HOP;
    }
    return true;
}

/* Fields named by Connection are hop-by-hop too (RFC 9110 7.6.1), except Host and
 * Content-Length: a client must not be able to make the proxy drop those. */
static void mark_options(struct http1_head *h, const uint8_t *ids)
{
    uint32_t i, j;
    for (i = 0; i < h->header_count; i++) {
        size_t pos = 0, n;
        const char *e;
        if (ids[i] != FLD_CONNECTION)
            continue;
        while (next_element(h->headers[i].value, h->headers[i].value_len, &pos, &e, &n)) {
            if (n == 0)
                continue;
            for (j = 0; j < h->header_count; j++)
                if (ids[j] != FLD_HOST && ids[j] != FLD_LENGTH && n == h->headers[j].name_len &&
                    http1_same_name(e, h->headers[j].name, n))
                    h->headers[j].flags |= HTTP1_HDR_HOP;
        }
    }
}

/* RFC 9112 6.3, requests and responses alike, with the no-body responses after. */
static bool framing(struct http1_parser *p, struct http1_head *h, const struct facts *k)
{
    if (k->te) {
        if (h->version_minor == 0)
            return refuse(p, 400, "Transfer-Encoding in an HTTP/1.0 message");
        if (k->lengths)
            return refuse(p, 400, "both Content-Length and Transfer-Encoding");
        if (k->chunked != 1 || !k->chunked_last)
            return refuse(p, 400, "Transfer-Encoding must end in a single chunked");
        if (k->other_coding)
            return refuse(p, 501, "transfer coding not implemented");
        h->framing = HTTP1_BODY_CHUNKED;
    } else if (k->lengths) {
        h->framing = HTTP1_BODY_LENGTH;
    } else {
        h->framing = p->kind == HTTP1_REQUEST ? HTTP1_BODY_NONE : HTTP1_BODY_UNTIL_CLOSE;
    }
    if (p->kind == HTTP1_RESPONSE &&
        (p->req_method == HTTP_HEAD || h->status < 200 || h->status == 204 || h->status == 304))
        h->framing = HTTP1_BODY_NONE;
    if (h->framing == HTTP1_BODY_UNTIL_CLOSE)
        h->keep_alive = false;
    if (h->framing == HTTP1_BODY_LENGTH && p->lim.max_body_bytes &&
        (uint64_t)h->content_length > p->lim.max_body_bytes)
        return refuse(p, 413, p->kind == HTTP1_REQUEST ? "request body too large"
                                                       : "response body too large");
    return true;
}

/* reg-name, IP-literal or IPv4 with an optional port: the characters of RFC 3986
 * authority without userinfo. Anything else could route one way and mean another. */
static bool host_chars(const char *s, size_t n)
{
    return http1_host_len(s, n) == n;
}

/* origin-form, asterisk-form (OPTIONS only) or absolute-form (http and https). */
static bool request_target(struct http1_parser *p, struct http1_head *h)
{
    const char *t = h->target, *a, *end = h->target + h->target_len, *q;
    size_t skip;
    if (t[0] == '/') {
        q = memchr(t, '?', h->target_len);
        h->path = h->origin = t;
        h->path_len = (uint32_t)(q ? (size_t)(q - t) : h->target_len);
        h->origin_len = h->target_len;
        return true;
    }
    if (h->target_len == 1 && t[0] == '*') {
        if (h->method != HTTP_OPTIONS)
            return refuse(p, 400, "asterisk-form target is for OPTIONS only");
        h->path = h->origin = t;
        h->path_len = h->origin_len = 1;
        return true;
    }
    if (h->target_len > 7 && http1_ieq(t, 7, "http://"))
        skip = 7;
    else if (h->target_len > 8 && http1_ieq(t, 8, "https://"))
        skip = 8;
    else
        return refuse(p, 400, "invalid request target");
    for (a = q = t + skip; q < end && *q != '/' && *q != '?'; q++)
        ;
    if (q == a || memchr(a, '@', (size_t)(q - a)) || !host_chars(a, (size_t)(q - a)))
        return refuse(p, 400, "invalid authority in request target");
    h->authority = a;
    h->authority_len = (uint32_t)(q - a);
    if (q == end) {
        h->path = h->origin = "/";
        h->path_len = h->origin_len = 1;
        return true;
    }
    if (*q == '?') /* "http://h?x" has no contiguous origin-form; nobody sends it */
        return refuse(p, 400, "invalid request target");
    h->path = h->origin = q;
    h->origin_len = (uint32_t)(end - q);
    h->path_len = h->origin_len;
    if ((a = memchr(q, '?', h->origin_len)) != NULL)
        h->path_len = (uint32_t)(a - q);
    return true;
}

static bool request_semantics(struct http1_parser *p, struct http1_head *h,
                              const struct facts *k)
{
    const struct http1_hdr *host = h->host >= 0 ? &h->headers[h->host] : NULL;
    if (h->method == HTTP_CONNECT)
        return refuse(p, 501, "CONNECT not supported");
    if (h->method > HTTP_SOURCE) /* PRI and the RTSP methods */
        return refuse(p, 501, "method not implemented");
    if (!request_target(p, h))
        return false;
    if (!host && h->version_minor == 1)
        return refuse(p, 400, "missing Host header");
    if (host && !host_chars(host->value, host->value_len))
        return refuse(p, 400, "invalid Host header");
    /* RFC 9112 3.2.2 says to prefer the target's authority; refusing a mismatch
     * instead leaves routing a single answer to trust. */
    if (host && h->authority &&
        (host->value_len != h->authority_len ||
         !http1_same_name(host->value, h->authority, h->authority_len)))
        return refuse(p, 400, "Host does not match the request target");
    h->expect_continue = k->expect_continue && h->version_minor == 1;
    h->upgrade = k->upgrade_field && k->upgrade_option;
    return true;
}

bool http1_head_analyze(struct http1_parser *p, struct http1_head *h)
{
    struct facts k;
    uint8_t ids[HTTP1_MAX_HEADERS];
    memset(&k, 0, sizeof k);
    h->version_major = p->ll.http_major;
    h->version_minor = p->ll.http_minor;
    if (p->kind == HTTP1_REQUEST) {
        h->method = p->ll.method;
    } else {
        h->status = p->ll.status_code;
        p->resp_status = h->status;
    }
    if (!scan_fields(p, h, &k, ids))
        return false;
    if (k.naming)
        mark_options(h, ids);
    h->keep_alive = !k.close && (h->version_minor == 1 || k.keep_alive);
    if (p->kind == HTTP1_REQUEST && !request_semantics(p, h, &k))
        return false;
    if (!framing(p, h, &k))
        return false;
    if (p->kind == HTTP1_RESPONSE && h->status == 101) {
        h->upgrade = true; /* what follows is not HTTP: the connection ends here */
        h->keep_alive = false;
    }
    return true;
}
