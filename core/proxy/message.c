/* message.c - the heads sluice writes: upstream requests, client responses and the
 * gateway's own JSON errors. */
#include "proxy/proxy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "json/json.h"
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

static void put_header(struct out *o, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (o->full)
        return;
    size_t n = http1_header_line(o->p + o->len, o->cap - o->len, name, nlen, value, vlen);
    if (!n)
        o->full = true;
    o->len += n;
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
    size_t n = http1_request_line(o.p, o.cap, h->method_text, h->method_len, path, (size_t)plen);
    if (!n)
        return 0;
    o.len = n;
    put_header(&o, "host", 4, s->url.authority, strlen(s->url.authority));
    const struct http1_hdr *xff = NULL;
    for (uint32_t i = 0; i < h->header_count; i++) {
        const struct http1_hdr *hd = &h->headers[i];
        if ((hd->flags & HTTP1_HDR_HOP) || NAME_IS(hd, "host") || NAME_IS(hd, "content-length") ||
            NAME_IS(hd, "expect") || NAME_IS(hd, "x-forwarded-proto") || NAME_IS(hd, "x-request-id") ||
            server_sets(s, hd))
            continue;
        if (NAME_IS(hd, "x-forwarded-for")) {
            xff = hd;
            continue;
        }
        put_header(&o, hd->name, hd->name_len, hd->value, hd->value_len);
    }
    char v[512];
    int vl = xff ? snprintf(v, sizeof v, "%.*s, %s", (int)xff->value_len, xff->value, t->c->ip)
                 : snprintf(v, sizeof v, "%s", t->c->ip);
    if (vl > 0 && (size_t)vl < sizeof v)
        put_header(&o, "x-forwarded-for", 15, v, (size_t)vl);
    PUT_LIT(&o, "x-forwarded-proto: http\r\n");
    put_header(&o, "x-request-id", 12, t->request_id, strlen(t->request_id));
    for (size_t i = 0; i < s->header_count; i++)
        put_header(&o, s->headers[i].name, strlen(s->headers[i].name), s->headers[i].value,
                   strlen(s->headers[i].value));
    if (body_len == MESSAGE_FRAMING_OPEN)
        return o.full ? 0 : o.len;
    if (body_len < 0) {
        PUT_LIT(&o, "transfer-encoding: chunked\r\n");
    } else if (body_len > 0 || h->content_length >= 0) {
        int cl = snprintf(v, sizeof v, "content-length: %lld\r\n", (long long)body_len);
        put(&o, v, (size_t)cl);
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
        if ((hd->flags & HTTP1_HDR_HOP) || NAME_IS(hd, "content-length") || NAME_IS(hd, "x-request-id"))
            continue;
        put_header(&o, hd->name, hd->name_len, hd->value, hd->value_len);
    }
    put_header(&o, "x-request-id", 12, t->request_id, strlen(t->request_id));
    char v[64];
    if (t->resp_body == BODY_LENGTH) {
        int cl = snprintf(v, sizeof v, "content-length: %lld\r\n", (long long)h->content_length);
        put(&o, v, (size_t)cl);
    } else if (t->resp_body == BODY_CHUNKED) {
        PUT_LIT(&o, "transfer-encoding: chunked\r\n");
    } else if (t->is_head && h->content_length >= 0) {
        int cl = snprintf(v, sizeof v, "content-length: %lld\r\n", (long long)h->content_length);
        put(&o, v, (size_t)cl);
    }
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
    struct out o = {buf, 0, cap, false};
    size_t n = http1_status_line(o.p, o.cap, status, NULL);
    if (!n)
        return 0;
    o.len = n;
    char v[96];
    PUT_LIT(&o, "content-type: application/json\r\n");
    int l = snprintf(v, sizeof v, "content-length: %zu\r\n", blen);
    put(&o, v, (size_t)l);
    put_header(&o, "x-request-id", 12, t->request_id, strlen(t->request_id));
    if (!t->client_keep_alive)
        PUT_LIT(&o, "connection: close\r\n");
    else if (t->http10)
        PUT_LIT(&o, "connection: keep-alive\r\n");
    PUT_LIT(&o, "\r\n");
    if (!t->is_head)
        put(&o, body, blen);
    return o.full ? 0 : o.len;
}
