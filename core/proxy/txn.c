/* txn.c - a request's life: route, pick a server, send, relay, retry, end.
 *
 * A transaction ends exactly once (txn_finish): it is logged and counted there,
 * its upstream connection is pooled or closed, and the client connection moves on
 * to its next request.
 */
#include "proxy/proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "proxy/chain.h"
#include "proxy/model_map.h"
#include "proxy/tokens.h"
#include "route/route.h"

static int conf_method_of(uint8_t llhttp_method)
{
    switch (llhttp_method) {
    case HTTP_GET: return CONF_M_GET;
    case HTTP_HEAD: return CONF_M_HEAD;
    case HTTP_POST: return CONF_M_POST;
    case HTTP_PUT: return CONF_M_PUT;
    case HTTP_DELETE: return CONF_M_DELETE;
    case HTTP_PATCH: return CONF_M_PATCH;
    case HTTP_OPTIONS: return CONF_M_OPTIONS;
    case HTTP_TRACE: return CONF_M_TRACE;
    case HTTP_CONNECT: return CONF_M_CONNECT;
    default: return -1;
    }
}

static bool find_header(void *ud, const char *name, const char **value, size_t *len)
{
    const struct http1_hdr *h = http1_find_header(ud, name, strlen(name));
    if (!h)
        return false;
    *value = h->value;
    *len = h->value_len;
    return true;
}

/* "<prefix><12 hex digits of a per-worker counter>". */
static void make_request_id(struct txn *t, struct proxy_worker *px)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(px->id_prefix);
    memcpy(t->request_id, px->id_prefix, n);
    uint64_t v = ++px->next_id;
    for (int i = 11; i >= 0; i--, v >>= 4)
        t->request_id[n + (size_t)i] = hex[v & 0xf];
    t->request_id[n + 12] = '\0';
}

/* A client's x-request-id is kept when it is short and plain; else one is made. */
static void set_request_id(struct txn *t, struct proxy_worker *px, const struct http1_head *h)
{
    const struct http1_hdr *id = http1_find_header(h, "x-request-id", 12);
    if (id && id->value_len > 0 && id->value_len < sizeof t->request_id) {
        bool ok = true;
        for (uint32_t i = 0; i < id->value_len && ok; i++) {
            char ch = id->value[i];
            ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 ch == '-' || ch == '_' || ch == '.' || ch == ':';
        }
        if (ok) {
            memcpy(t->request_id, id->value, id->value_len);
            t->request_id[id->value_len] = '\0';
            return;
        }
    }
    make_request_id(t, px);
}

static struct stats_counters *fe_stats(struct txn *t)
{
    return &t->c->fe->stats[t->c->w->id];
}

static void account(struct txn *t, double now)
{
    struct worker *w = t->c->w;
    struct runtime *rt = w->rt;
    unsigned cls = stats_class(t->status);
    uint64_t us = (uint64_t)((now - t->t_start) * 1e6);
    struct stats_counters *fs = fe_stats(t);
    stat_add(&fs->responses[cls], 1);
    stat_add(&fs->bytes_in, t->bytes_in);
    stat_add(&fs->bytes_out, t->bytes_out);
    stat_sub(&fs->inflight, 1);
    stats_hist_add(&fs->duration, us);
    stat_add(runtime_requests(rt, w->id, t->c->fe->index, runtime_endpoint(rt, t->be, t->srv)) + cls, 1);
    if (t->be)
        stat_add(&t->be->stats[w->id].responses[cls], 1);
    if (t->srv && t->t_upstream > 0) { /* the rest was counted when the attempt ended */
        struct stats_counters *ss = &t->srv->stats[w->id];
        stat_add(&ss->bytes_in, t->bytes_in);
        stat_add(&ss->bytes_out, t->bytes_out);
    }
    if (t->t_upstream > 0 && t->t_first_byte > 0) {
        double overhead = (t->t_upstream - t->t_start) + (t->t_client_head - t->t_first_byte);
        stats_hist_add(&rt->global[w->id].overhead, overhead > 0 ? (uint64_t)(overhead * 1e6) : 0);
    }
}

static void access_log(struct txn *t, double now)
{
    struct proxy_worker *px = t->c->w->px;
    if (!px->access.log || px->access.log->fd < 0)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct access_entry e = {
        .time = (double)tv.tv_sec + (double)tv.tv_usec * 1e-6,
        .request_id = t->request_id,
        .client_ip = t->c->ip,
        .frontend = t->c->fe->conf->name,
        .route = t->route ? t->route->name : NULL,
        .backend = t->be ? t->be->conf->name : NULL,
        .server = t->srv ? t->srv->conf->name : NULL,
        .method = t->method_str,
        .path = t->path,
        .path_len = t->path_len,
        .status = t->status,
        .bytes_in = t->bytes_in,
        .bytes_out = t->bytes_out,
        .duration_ms = (now - t->t_start) * 1e3,
        .upstream_ms = t->t_first_byte > 0 ? (t->t_first_byte - t->t_upstream) * 1e3 : 0,
        .attempts = t->attempts,
        .error = t->error,
        .retries = t->x && t->x->tried_len ? t->x->tried : NULL,
    };
    access_buf_add(&px->access, &e);
}

void txn_drop_upstream(struct txn *t, bool reusable)
{
    struct upstream *u = t->u;
    if (!u)
        return;
    t->u = NULL;
    u->txn = NULL;
    upstream_release(u, reusable);
}

void txn_end_attempt(struct txn *t, int status, bool reusable, double now)
{
    struct worker *w = t->c->w;
    if (t->balanced) {
        struct wbackend *wb = &w->px->backends[t->be->index];
        uint64_t lat = t->t_first_byte > 0 ? (uint64_t)((t->t_first_byte - t->t_upstream) * 1e6) : 0;
        balance_finished(&wb->bal, t->server_idx, lat, status > 0 && status < 500);
        t->balanced = false;
    }
    txn_drop_upstream(t, reusable);
    if (t->srv && t->t_upstream > 0) {
        struct stats_counters *ss = &t->srv->stats[w->id];
        stat_add(&ss->responses[stats_class(status)], 1);
        stat_sub(&ss->inflight, 1);
        stats_hist_add(&ss->duration, (uint64_t)((now - t->t_upstream) * 1e6));
    }
}

/* Ends the transaction: the one place it is logged, counted and released. */
void txn_finish(struct txn *t)
{
    tokens_txn_end(t); /* before on_end, which reports the tokens */
    if (t->x)
        chain_end(t);
    double now = proxy_now(t->c->w);
    txn_end_attempt(t, t->status, t->u && t->resp_done && t->req_sent && t->u->head.keep_alive, now);
    account(t, now);
    access_log(t, now);
    client_txn_done(t->c);
}

/* Transactions are recycled per worker: one per request would otherwise be a
 * malloc and a free on the hot path. */
#define TXN_CACHE 64

static struct txn *txn_alloc(struct proxy_worker *px)
{
    struct txn *t = px->free_txns;
    if (t) {
        px->free_txns = t->next_free;
        px->free_txn_count--;
        memset(t, 0, sizeof *t);
        return t;
    }
    t = calloc(1, sizeof *t);
    if (!t)
        abort();
    return t;
}

void txn_free(struct txn *t)
{
    struct proxy_worker *px = t->c->w->px;
    if (t->x)
        chain_txn_free(t);
    if (t->tok)
        tokens_txn_free(t);
    nbuf_free(&t->replay);
    nbuf_free(&t->body);
    if (px->free_txn_count < TXN_CACHE) {
        t->next_free = px->free_txns;
        px->free_txns = t;
        px->free_txn_count++;
        return;
    }
    free(t);
}

void txn_cache_free(struct proxy_worker *px)
{
    while (px->free_txns) {
        struct txn *t = px->free_txns;
        px->free_txns = t->next_free;
        free(t);
    }
    px->free_txn_count = 0;
}

void txn_finish_local(struct txn *t, uint16_t status, size_t bytes)
{
    t->status = status;
    t->resp_started = t->resp_done = true;
    t->bytes_out += bytes;
    if (!t->client_keep_alive)
        t->c->closing = true;
    txn_finish(t);
}

void txn_error(struct txn *t, int status, const char *type, const char *code, const char *message)
{
    char buf[2048];
    if (!t->req_done || t->c->w->stopping)
        t->client_keep_alive = false; /* the rest of the request is not read: close after */
    size_t n = message_error(t, status, type, code, message, buf, sizeof buf);
    t->status = (uint16_t)status;
    t->resp_started = t->resp_done = true;
    t->bytes_out += n;
    if (!t->client_keep_alive)
        t->c->closing = true;
    client_send(t->c, buf, n);
    txn_finish(t);
}

/* Builds the usable set (ready, healthy, not excluded), lets the filters veto or
 * pick, and asks the balancer. -2: a filter ended the transaction. */
static int pick_server(struct txn *t, const struct http1_head *h, int exclude)
{
    struct wbackend *wb = &t->c->w->px->backends[t->be->index];
    uint64_t *usable = wb->usable;
    memset(usable, 0, BALANCE_WORDS(t->be->count) * sizeof *usable);
    for (uint32_t i = 0; i < t->be->count; i++)
        if ((int)i != exclude && server_usable(&t->be->servers[i]))
            usable[i / 64] |= 1ull << (i % 64);
    if (t->x) { /* filters veto or pick */
        int picked = chain_select(t, usable);
        if (picked != -1)
            return picked;
    }
    const char *key = NULL;
    size_t key_len = 0;
    if (h && t->be->conf->hash_key.source == CONF_HASH_HEADER) {
        const struct http1_hdr *kh =
            http1_find_header(h, t->be->conf->hash_key.name, strlen(t->be->conf->hash_key.name));
        if (kh) {
            key = kh->value;
            key_len = kh->value_len;
        }
    }
    return balance_pick(&wb->bal, usable, key, key_len);
}

/* A body held for the filters (or model_map) goes out whole with its head, mapped
 * for the chosen server; the original stays for another attempt. */
static bool send_held_request(struct txn *t, const struct http1_head *h, char *buf, size_t cap)
{
    struct nbuf mapped = {0};
    const char *body = nbuf_data(&t->body);
    size_t blen = t->body.len;
    uint64_t max = t->c->fe->conf->limits.max_body_bytes;
    if (t->srv->conf->model_map_count && blen && nbuf_append(&mapped, body, blen, max) &&
        model_map_rewrite(t->srv->conf, &mapped, 0, max)) {
        body = nbuf_data(&mapped);
        blen = mapped.len;
    }
    t->req_body = BODY_NONE;
    size_t n = message_upstream_head(t, h, buf, cap, (int64_t)blen);
    if (!n) {
        nbuf_free(&mapped);
        t->error = "request head too large to forward";
        txn_error(t, 431, "invalid_request_error", "headers_too_large", "the request head is too large to forward");
        return false;
    }
    t->x->req_head_sent = true;
    txn_send_upstream(t, buf, n);
    if (blen)
        txn_send_upstream(t, body, blen);
    nbuf_free(&mapped);
    t->req_sent = true;
    return true;
}

/* Takes a connection to t->srv (pooled or new) and queues the request head. */
static bool start_attempt(struct txn *t, const struct http1_head *h)
{
    struct worker *w = t->c->w;
    struct wbackend *wb = &w->px->backends[t->be->index];
    t->u = upstream_get(w, t->be, t->srv, &wb->pools[t->server_idx]);
    if (!t->u) {
        t->error = "no connection slot";
        txn_error(t, 503, "server_error", "no_connection_slot",
                  "the server's connection limit is reached");
        return false;
    }
    t->u->txn = t;
    http1_parser_expect_response_to(&t->u->parser, t->method);
    t->attempts++;
    t->t_upstream = proxy_now(w);
    t->replayable = true;
    stat_add(&t->srv->stats[w->id].requests, 1);
    stat_add(&t->srv->stats[w->id].inflight, 1);
    balance_started(&wb->bal, t->server_idx);
    t->balanced = true;
    char buf[16384];
    if (t->x && t->x->holding)
        return send_held_request(t, h, buf, sizeof buf);
    int64_t body_len = h->framing == HTTP1_BODY_LENGTH ? h->content_length
                       : h->framing == HTTP1_BODY_CHUNKED ? -1 : 0;
    t->req_body = body_len < 0 ? BODY_CHUNKED : body_len > 0 ? BODY_LENGTH : BODY_NONE;
    /* A body model_map may rewrite is held back: its length is stated at the end. */
    size_t n = message_upstream_head(t, h, buf, sizeof buf,
                                     t->buffer_body ? MESSAGE_FRAMING_OPEN : body_len);
    if (!n) {
        t->error = "request head too large to forward";
        txn_error(t, 431, "invalid_request_error", "headers_too_large",
                  "the request head is too large to forward");
        return false;
    }
    if (t->buffer_body) {
        if (!nbuf_append(&t->body, buf, n, n)) {
            txn_error(t, 500, "server_error", "internal_error", "out of memory");
            return false;
        }
        t->held_head_len = (uint32_t)n;
        return true;
    }
    if (t->x)
        t->x->req_head_sent = true;
    txn_send_upstream(t, buf, n);
    if (t->req_body == BODY_NONE)
        t->req_sent = true;
    return true;
}

void txn_send_upstream(struct txn *t, const void *data, size_t n)
{
    if (t->replayable && t->u->reused) {
        if (t->replay.len + n <= PROXY_REPLAY_MAX)
            nbuf_append(&t->replay, data, n, PROXY_REPLAY_MAX);
        else
            t->replayable = false;
    }
    upstream_send(t->u, data, n);
}

struct txn *txn_begin_rejected(struct client *c)
{
    struct txn *t = txn_alloc(c->w->px);
    t->c = c;
    c->txn = t;
    t->t_start = proxy_now(c->w);
    t->http10 = false;
    make_request_id(t, c->w->px);
    struct stats_counters *fs = fe_stats(t);
    stat_add(&fs->requests, 1);
    stat_add(&fs->inflight, 1);
    return t;
}

struct txn *txn_begin(struct client *c)
{
    struct worker *w = c->w;
    const struct http1_head *h = &c->head;
    struct txn *t = txn_alloc(w->px);
    t->c = c;
    c->txn = t;
    t->t_start = proxy_now(w);
    t->method = h->method;
    t->is_head = h->method == HTTP_HEAD;
    t->http10 = h->version_minor == 0;
    t->client_keep_alive = h->keep_alive && !w->stopping;
    t->req_done = h->framing == HTTP1_BODY_NONE;
    size_t ml = h->method_len < sizeof t->method_str ? h->method_len : sizeof t->method_str - 1;
    memcpy(t->method_str, h->method_text, ml);
    t->path_len = h->path_len < sizeof t->path ? h->path_len : (uint32_t)sizeof t->path - 1;
    memcpy(t->path, h->path, t->path_len);
    set_request_id(t, w->px, h);
    struct stats_counters *fs = fe_stats(t);
    stat_add(&fs->requests, 1);
    stat_add(&fs->inflight, 1);
    t->bytes_in += h->head_len;

    const struct http1_hdr *host = h->host >= 0 ? &h->headers[h->host] : NULL;
    struct route_req rq = {conf_method_of(h->method), h->path, h->path_len,
                           host ? host->value : NULL, host ? host->value_len : 0,
                           find_header, (void *)h};
    t->route = route_match(c->fe->conf, &rq);
    if (!t->route) {
        t->error = "no route";
        txn_error(t, 404, "invalid_request_error", "route_not_found", "no route matches this request");
        return NULL;
    }
    t->be = runtime_backend(w->rt, t->route->backend);
    stat_add(&t->be->stats[w->id].requests, 1);
    t->chain = t->route->chain;
    if (t->chain) {
        chain_begin(t); /* it dispatches when the filters let the request on */
        return NULL;
    }
    return txn_dispatch(t, -1) ? t : NULL;
}

bool txn_dispatch(struct txn *t, int exclude)
{
    struct client *c = t->c;
    const struct http1_head *h = &c->head;
    t->server_idx = pick_server(t, h, exclude);
    if (t->server_idx == -2)
        return false; /* a filter answered */
    if (t->server_idx < 0) {
        if (t->x && chain_no_server(t))
            return false; /* a filter moves the request to another backend */
        t->error = "no usable server";
        txn_error(t, 503, "server_error", "no_usable_server", "no server of this backend is usable");
        return false;
    }
    t->srv = &t->be->servers[t->server_idx];
    if (!t->x)
        t->buffer_body = t->srv->conf->model_map_count > 0 && h->framing != HTTP1_BODY_NONE &&
                         model_map_applies(h);
    if (h->expect_continue && !t->req_done && !(t->x && t->x->holding))
        client_send(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    return start_attempt(t, h);
}

bool txn_wants_body(const struct txn *t)
{
    if (t->x && (t->x->holding || t->x->stage != CH_DONE))
        return t->x->holding && !t->x->paused;
    return t->buffer_body || (t->u && t->u->out.len < PROXY_OUT_HIGH);
}

void txn_request_body(struct txn *t, const char *data, size_t n)
{
    t->bytes_in += n;
    if (t->x) {
        if (t->x->holding) {
            /* Bounded by max_body_bytes, which the parser enforces (413). */
            if (!nbuf_append(&t->body, data, n, t->c->fe->conf->limits.max_body_bytes)) {
                t->error = "request body too large to buffer";
                txn_error(t, 413, "invalid_request_error", "body_too_large", "the request body is too large");
            }
            return;
        }
        if (!chain_request_body(t, data, n))
            return;
    }
    if (t->buffer_body) {
        /* Bounded by max_body_bytes, which the parser enforces (413). */
        if (!nbuf_append(&t->body, data, n, t->held_head_len + t->c->fe->conf->limits.max_body_bytes)) {
            t->error = "request body too large to buffer";
            txn_error(t, 413, "invalid_request_error", "body_too_large", "the request body is too large");
        }
        return;
    }
    if (t->req_body == BODY_CHUNKED) {
        char hdr[HTTP1_CHUNK_HEADER_MAX];
        size_t hl = http1_chunk_header(hdr, sizeof hdr, n);
        txn_send_upstream(t, hdr, hl);
        txn_send_upstream(t, data, n);
        txn_send_upstream(t, HTTP1_CRLF, 2);
    } else {
        txn_send_upstream(t, data, n);
    }
}

/* The held head and body go out together once the body is complete and, when the
 * server maps models, rewritten. */
static void send_held(struct txn *t)
{
    size_t body_len = t->body.len - t->held_head_len;
    model_map_rewrite(t->srv->conf, &t->body, t->held_head_len,
                      t->held_head_len + t->c->fe->conf->limits.max_body_bytes);
    body_len = t->body.len - t->held_head_len;
    char cl[64];
    int n = snprintf(cl, sizeof cl, "content-length: %zu\r\n\r\n", body_len);
    txn_send_upstream(t, nbuf_data(&t->body), t->held_head_len);
    txn_send_upstream(t, cl, (size_t)n); /* model_map only: not the hot path */
    txn_send_upstream(t, nbuf_data(&t->body) + t->held_head_len, body_len);
    nbuf_free(&t->body);
    t->buffer_body = false;
}

void txn_request_end(struct txn *t)
{
    t->req_done = true;
    if (t->x && t->x->holding) {
        chain_request_end(t); /* the filters see the body, then it is sent */
        return;
    }
    if (t->x && !chain_request_end(t))
        return;
    if (t->buffer_body)
        send_held(t);
    else if (t->req_body == BODY_CHUNKED)
        txn_send_upstream(t, HTTP1_LAST_CHUNK, HTTP1_LAST_CHUNK_LEN);
    t->req_sent = true;
}

bool txn_response_head(struct txn *t, struct http1_head *h)
{
    if (h->status < 200) {
        t->interim = true; /* 100 Continue and friends: sluice answered Expect itself */
        return true;
    }
    t->interim = false;
    t->status = h->status;
    t->t_first_byte = proxy_now(t->c->w);
    if (t->is_head || h->framing == HTTP1_BODY_NONE)
        t->resp_body = BODY_NONE;
    else if (h->framing == HTTP1_BODY_LENGTH)
        t->resp_body = BODY_LENGTH;
    else if (t->http10) {
        t->resp_body = BODY_CLOSE;
        t->client_keep_alive = false;
    } else {
        t->resp_body = BODY_CHUNKED;
    }
    if (!t->req_done || t->c->w->stopping)
        t->client_keep_alive = false; /* answered before the request ended, or stopping */
    tokens_response_head(t, h);
    if (t->x) {
        enum chain_resp r = chain_response_head(t, h);
        if (r == CHAIN_ENDED)
            return false;
        if (r == CHAIN_HELD)
            return true; /* sent with the whole body at the end */
        t->x->resp_head_sent = true;
    }
    char buf[16384];
    size_t n = message_client_head(t, h, buf, sizeof buf);
    if (!n) {
        t->error = "response head too large";
        txn_upstream_failed(t, 502, "response head too large to relay", false);
        return false;
    }
    t->resp_started = true;
    t->bytes_out += n;
    client_send(t->c, buf, n);
    t->t_client_head = proxy_now(t->c->w);
    return true;
}

void txn_response_body(struct txn *t, const char *data, size_t n)
{
    if (t->interim)
        return;
    tokens_response_body(t, data, n);
    if (t->x) {
        if (!chain_response_body(t, data, n)) {
            t->error = "response too large to buffer for a filter";
            txn_upstream_failed(t, 502, "response too large to buffer for a filter", false);
            return;
        }
        if (t->x->resp_held)
            return;
    }
    t->bytes_out += n;
    if (t->resp_body == BODY_CHUNKED) {
        char hdr[HTTP1_CHUNK_HEADER_MAX];
        size_t hl = http1_chunk_header(hdr, sizeof hdr, n);
        client_send(t->c, hdr, hl);
        client_send(t->c, data, n);
        client_send(t->c, HTTP1_CRLF, 2);
    } else {
        client_send(t->c, data, n);
    }
}

bool txn_client_full(const struct txn *t)
{
    return t->c->out.len >= PROXY_OUT_HIGH;
}

/* A response a filter held: its head, now with the length of the final body. */
static bool send_held_response(struct txn *t)
{
    struct txn_ext *x = t->x;
    struct http1_head *h = &t->u->head;
    h->content_length = (int64_t)x->resp_body.len;
    t->resp_body = BODY_LENGTH;
    x->resp_held = false;
    char buf[16384];
    size_t n = message_client_head(t, h, buf, sizeof buf);
    if (!n) {
        txn_upstream_failed(t, 502, "response head too large to relay", false);
        return false;
    }
    x->resp_head_sent = true;
    t->resp_started = true;
    t->bytes_out += n + x->resp_body.len;
    client_send(t->c, buf, n);
    if (!t->is_head)
        client_send(t->c, nbuf_data(&x->resp_body), x->resp_body.len);
    t->resp_body = BODY_NONE; /* nothing more to frame */
    t->t_client_head = proxy_now(t->c->w);
    return true;
}

void txn_response_end(struct txn *t)
{
    if (t->interim) {
        t->interim = false;
        return;
    }
    tokens_response_end(t); /* before on_response_body's last call */
    if (t->x) {
        chain_response_end(t);
        if (t->x->resp_held && !send_held_response(t))
            return;
    }
    if (t->resp_body == BODY_CHUNKED)
        client_send(t->c, HTTP1_LAST_CHUNK, HTTP1_LAST_CHUNK_LEN);
    if (t->resp_body == BODY_CLOSE)
        t->c->closing = true;
    t->resp_done = true;
    txn_finish(t);
}

/* A pooled connection can die just as it is reused; the request is then sent
 * again on a new connection to the same server, when every byte of it is still at
 * hand and nothing of the response has arrived. */
void txn_upstream_failed(struct txn *t, int status, const char *why, bool retryable)
{
    struct worker *w = t->c->w;
    struct upstream *u = t->u;
    if (retryable && u && u->reused && t->replayable && !t->resp_started && t->attempts < 3) {
        struct nbuf replay = t->replay;
        memset(&t->replay, 0, sizeof t->replay);
        txn_drop_upstream(t, false);
        struct wbackend *wb = &w->px->backends[t->be->index];
        t->u = upstream_connect(w, t->be, t->srv, &wb->pools[t->server_idx]);
        if (t->u) {
            t->u->txn = t;
            http1_parser_expect_response_to(&t->u->parser, t->method);
            t->attempts++;
            stat_add(&t->srv->stats[w->id].retries, 1);
            upstream_send(t->u, nbuf_data(&replay), replay.len);
            nbuf_free(&replay);
            return;
        }
        nbuf_free(&replay);
    }
    t->error = why;
    if (status == 504)
        stat_add(&t->srv->stats[w->id].timeouts, 1);
    if (t->x && t->t_first_byte <= 0 &&
        chain_attempt_failed(t, status == 504 ? SL_OUTCOME_TIMEOUT
                                : !strcmp(why, "connect failed") ? SL_OUTCOME_CONNECT_ERROR
                                : !strcmp(why, "malformed response from upstream") ? SL_OUTCOME_BAD_RESPONSE
                                : SL_OUTCOME_RESET, status))
        return; /* a filter retries elsewhere */
    if (!t->resp_started) {
        txn_error(t, status, "server_error", status == 504 ? "upstream_timeout" : "upstream_error",
                  status == 504 ? "the upstream server did not answer in time" : "the upstream server failed");
        return;
    }
    /* Part of the response is out: the client can only see it cut short. */
    t->c->closing = true;
    t->client_keep_alive = false;
    client_abort(t->c);
    txn_finish(t);
}

void txn_client_gone(struct txn *t)
{
    if (!t->resp_done) {
        t->status = t->resp_started ? t->status : 499; /* nginx's "client closed request" */
        t->error = "client closed the connection";
    }
    txn_finish(t);
}

bool txn_client_wants_more(const struct txn *t)
{
    return !t->req_done && t->u && t->u->out.len < PROXY_OUT_HIGH / 2;
}
