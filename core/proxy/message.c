/* message.c - the heads sluice writes: upstream requests, client responses and the
 * gateway's own JSON errors. */
#include "proxy/proxy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "json/json.h"
#include "proxy/chain.h"
#include "route/route.h"

/* A bounded head being written; `len` stops growing once something did not fit. */
struct out {
    char *p;
    size_t len, cap;
    bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full || n > o->cap - o->len) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* Header names and values written here were checked already: the client's by the
 * parser, the configuration's by the loader. So this only copies. */
static void put_header(struct out *o, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (o->full || nlen + vlen + 4 > o->cap - o->len) {
        o->full = true;
        return;
    }
    char *p = o->p + o->len;
    memcpy(p, name, nlen);
    p[nlen] = ':';
    p[nlen + 1] = ' ';
    memcpy(p + nlen + 2, value, vlen);
    p[nlen + 2 + vlen] = '\r';
    p[nlen + 3 + vlen] = '\n';
    o->len += nlen + vlen + 4;
}

/* Decimal digits of v into buf (at least 20 bytes); returns the length. */
static size_t put_u64(char *buf, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

static void put_length(struct out *o, uint64_t v)
{
    char line[48] = "content-length: ";
    size_t n = 16 + put_u64(line + 16, v);
    line[n++] = '\r';
    line[n++] = '\n';
    put(o, line, n);
}

#define PUT_LIT(o, s) put(o, s, sizeof(s) - 1)

static bool name_is(const struct http1_hdr *h, const char *name, size_t len)
{
    return h->name_len == len && !strncasecmp(h->name, name, len);
}
#define NAME_IS(h, lit) name_is(h, lit, sizeof(lit) - 1)

static bool server_sets(const struct conf_server *s, const struct http1_hdr *h)
{
    for (size_t i = 0; i < s->header_count; i++)
        if (name_is(h, s->headers[i].name, strlen(s->headers[i].name)))
            return true;
    return false;
}

/* Headers filters set or added on `which`, except those `s` (a server) sets and,
 * for local answers, the ones sluice writes itself. */
static void put_edits(struct out *o, const struct txn *t, int which, const struct conf_server *s, bool local)
{
    const struct txn_ext *x = t->x;
    for (uint32_t i = 0; i < x->edit_count; i++) {
        const struct hedit *e = &x->edits[i];
        if (e->which != which || e->op == HE_REMOVE)
            continue;
        struct http1_hdr hd = {e->name.ptr, e->value.ptr, (uint32_t)e->name.len, (uint32_t)e->value.len, 0};
        if ((s && server_sets(s, &hd)) || NAME_IS(&hd, "x-request-id") ||
            (local && NAME_IS(&hd, "content-type")))
            continue;
        put_header(o, e->name.ptr, e->name.len, e->value.ptr, e->value.len);
    }
}

double proxy_now(struct worker *w)
{
    (void)w;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The request head sent upstream: the route's path rewrite, the server's headers
 * replacing the client's, hop-by-hop headers dropped, Host set to the server,
 * x-forwarded-for/-proto and x-request-id added, framing re-stated. body_len: -1
 * chunked, 0 none, else the exact length. */
size_t message_upstream_head(struct txn *t, const struct http1_head *h, char *buf, size_t cap,
                             int64_t body_len)
{
    struct out o = {buf, 0, cap, false};
    const struct conf_server *s = t->srv->conf;
    char path[8192];
    long plen = route_rewrite_path(t->route, s, h->origin, h->origin_len, path, sizeof path);
    if (plen < 0)
        return 0;
    put(&o, h->method_text, h->method_len);
    put(&o, " ", 1);
    put(&o, path, (size_t)plen);
    PUT_LIT(&o, " HTTP/1.1\r\n");
    put_header(&o, "host", 4, s->url.authority, strlen(s->url.authority));
    const struct http1_hdr *xff = NULL;
    for (uint32_t i = 0; i < h->header_count; i++) {
        const struct http1_hdr *hd = &h->headers[i];
        if ((hd->flags & HTTP1_HDR_HOP) || NAME_IS(hd, "host") || NAME_IS(hd, "content-length") ||
            NAME_IS(hd, "expect") || NAME_IS(hd, "x-forwarded-proto") || NAME_IS(hd, "x-request-id") ||
            server_sets(s, hd) || (t->x && edit_hides(t->x, SL_REQUEST, hd->name, hd->name_len)))
            continue;
        if (NAME_IS(hd, "x-forwarded-for")) {
            xff = hd;
            continue;
        }
        put_header(&o, hd->name, hd->name_len, hd->value, hd->value_len);
    }
    PUT_LIT(&o, "x-forwarded-for: ");
    if (xff) {
        put(&o, xff->value, xff->value_len);
        PUT_LIT(&o, ", ");
    }
    put(&o, t->c->ip, strlen(t->c->ip));
    PUT_LIT(&o, "\r\n");
    PUT_LIT(&o, "x-forwarded-proto: http\r\n");
    put_header(&o, "x-request-id", 12, t->request_id, strlen(t->request_id));
    if (t->x)
        put_edits(&o, t, SL_REQUEST, s, false);
    for (size_t i = 0; i < s->header_count; i++)
        put_header(&o, s->headers[i].name, strlen(s->headers[i].name), s->headers[i].value,
                   strlen(s->headers[i].value));
    if (body_len == MESSAGE_FRAMING_OPEN)
        return o.full ? 0 : o.len;
    if (body_len < 0) {
        PUT_LIT(&o, "transfer-encoding: chunked\r\n");
    } else if (body_len > 0 || h->content_length >= 0) {
        put_length(&o, (uint64_t)body_len);
    }
    PUT_LIT(&o, "\r\n");
    return o.full ? 0 : o.len;
}

/* The response head sent to the client: the upstream's headers without hop-by-hop
 * ones, its framing restated for this client, and x-request-id. */
size_t message_client_head(struct txn *t, const struct http1_head *h, char *buf, size_t cap)
{
    struct out o = {buf, 0, cap, false};
    size_t n = http1_status_line(o.p, o.cap, h->status, NULL);
    if (!n)
        return 0;
    o.len = n;
    for (uint32_t i = 0; i < h->header_count; i++) {
        const struct http1_hdr *hd = &h->headers[i];
        if ((hd->flags & HTTP1_HDR_HOP) || NAME_IS(hd, "content-length") || NAME_IS(hd, "x-request-id") ||
            (t->x && edit_hides(t->x, SL_RESPONSE, hd->name, hd->name_len)))
            continue;
        put_header(&o, hd->name, hd->name_len, hd->value, hd->value_len);
    }
    put_header(&o, "x-request-id", 12, t->request_id, strlen(t->request_id));
    if (t->x)
        put_edits(&o, t, SL_RESPONSE, NULL, false);
    if (t->resp_body == BODY_LENGTH || (t->is_head && h->content_length >= 0))
        put_length(&o, (uint64_t)h->content_length);
    else if (t->resp_body == BODY_CHUNKED)
        PUT_LIT(&o, "transfer-encoding: chunked\r\n");
    if (!t->client_keep_alive)
        PUT_LIT(&o, "connection: close\r\n");
    else if (t->http10)
        PUT_LIT(&o, "connection: keep-alive\r\n");
    PUT_LIT(&o, "\r\n");
    return o.full ? 0 : o.len;
}

/* The gateway's own error: the SPEC's OpenAI-shaped JSON, with x-request-id. */
size_t message_error(struct txn *t, int status, const char *type, const char *code, const char *message,
                     char *buf, size_t cap)
{
    char body[512];
    json_writer jw;
    json_w_init(&jw, body, sizeof body);
    json_w_obj_begin(&jw);
    json_w_key(&jw, "error");
    json_w_obj_begin(&jw);
    json_w_key(&jw, "message");
    json_w_str(&jw, message);
    json_w_key(&jw, "type");
    json_w_str(&jw, type);
    json_w_key(&jw, "code");
    json_w_str(&jw, code);
    json_w_obj_end(&jw);
    json_w_obj_end(&jw);
    size_t blen = 0;
    if (json_w_finish(&jw, &blen) != JSON_OK)
        return 0;
    body[blen++] = '\n';
    size_t n = message_local_head(t, status, "application/json", 16, blen, buf, cap);
    if (!n)
        return 0;
    struct out o = {buf, n, cap, false};
    if (!t->is_head)
        put(&o, body, blen);
    return o.full ? 0 : o.len;
}

/* A filter's own response: its status, type and length, x-request-id and the
 * response headers filters set. */
size_t message_local_head(struct txn *t, int status, const char *ctype, size_t ctype_len, size_t body_len,
                          char *buf, size_t cap)
{
    struct out o = {buf, 0, cap, false};
    size_t n = http1_status_line(o.p, o.cap, status, NULL);
    if (!n)
        return 0;
    o.len = n;
    if (ctype_len)
        put_header(&o, "content-type", 12, ctype, ctype_len);
    put_length(&o, body_len);
    put_header(&o, "x-request-id", 12, t->request_id, strlen(t->request_id));
    if (t->x)
        put_edits(&o, t, SL_RESPONSE, NULL, true);
    if (!t->client_keep_alive)
        PUT_LIT(&o, "connection: close\r\n");
    else if (t->http10)
        PUT_LIT(&o, "connection: keep-alive\r\n");
    PUT_LIT(&o, "\r\n");
    return o.full ? 0 : o.len;
}
