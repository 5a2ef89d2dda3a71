/* router.c - dispatch, latency and failure injection, and the /mock/ control API.
 *
 * Behaviour flags (latency, failures) apply to every path outside /mock/; the
 * control endpoints always answer at once so tests can steer a "failing" mock.
 */
#include "mock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool path_is(const struct req *r, const char *p)
{
    size_t n = strlen(p);
    return r->path_len == n && memcmp(r->path, p, n) == 0;
}

static bool path_starts(const struct req *r, const char *p)
{
    size_t n = strlen(p);
    return r->path_len >= n && memcmp(r->path, p, n) == 0;
}

bool parse_body(struct server *s, const struct req *r, json_doc *d, char *msg,
                size_t cap)
{
    enum json_err e = JSON_E_TOKENS;
    if (s->toks)
        e = json_parse(d, r->body, r->body_len, s->toks, s->ntoks, 0);
    if (e == JSON_E_TOKENS) { /* grow the reusable array to what this body needs */
        json_parse(d, r->body, r->body_len, NULL, 0, 0);
        size_t n = d->count > 256 ? d->count : 256;
        json_token *t = realloc(s->toks, n * sizeof *t);
        if (!t) {
            snprintf(msg, cap, "out of memory");
            return false;
        }
        s->toks = t;
        s->ntoks = n;
        e = json_parse(d, r->body, r->body_len, s->toks, s->ntoks, 0);
    }
    if (e != JSON_OK) {
        snprintf(msg, cap, "request body is not valid JSON: %s at byte %zu",
                 json_strerror(e), d->err_offset);
        return false;
    }
    if (json_type(d, 0) != JSON_OBJECT) {
        snprintf(msg, cap, "request body must be a JSON object");
        return false;
    }
    return true;
}

long completion_tokens(const struct server *s, const json_doc *d)
{
    int t = json_find(d, 0, "max_completion_tokens");
    if (t < 0)
        t = json_find(d, 0, "max_tokens");
    if (t < 0 || json_type(d, t) == JSON_NULL)
        return (long)s->cfg.tokens;
    int64_t v;
    if (json_get_int(d, t, &v) != JSON_OK || v < 1 || v > MOCK_MAX_TOKENS)
        return -1;
    return (long)v;
}

void request_model(const json_doc *d, char *out, size_t cap)
{
    int m = json_find(d, 0, "model");
    if (json_type(d, m) != JSON_STRING) {
        snprintf(out, cap, "mock-model");
        return;
    }
    json_str_decode(d, m, out, cap, NULL); /* truncated names still echo a prefix */
}

static bool should_fail(struct server *s)
{
    const struct mock_config *cfg = &s->cfg;
    if (cfg->status == 0 || cfg->fail_rate <= 0)
        return false;
    if (cfg->fail_rate >= 1)
        return true;
    double dice = (double)(text_rand(&s->rng) >> 11) / 9007199254740992.0;
    return dice < cfg->fail_rate;
}

static void provider(struct conn *c)
{
    struct req r = conn_req(c);
    bool chat = path_is(&r, "/v1/chat/completions");
    bool messages = path_is(&r, "/v1/messages");
    bool embeddings = path_is(&r, "/v1/embeddings");
    bool models = path_is(&r, "/v1/models");
    if (!chat && !messages && !embeddings && !models) {
        reply_error(c, 404, "unknown path");
        return;
    }
    if (r.method != (models ? HTTP_GET : HTTP_POST)) {
        reply_error(c, 405, models ? "use GET" : "use POST");
        return;
    }
    if (should_fail(c->srv)) {
        char msg[96];
        snprintf(msg, sizeof msg, "mock %s: injected failure (%d)", c->srv->name,
                 c->srv->cfg.status);
        if (messages)
            reply_anthropic_error(c, c->srv->cfg.status, msg);
        else
            reply_error(c, c->srv->cfg.status, msg);
        return;
    }
    if (chat)
        openai_chat(c, &r);
    else if (messages)
        anthropic_messages(c, &r);
    else if (embeddings)
        openai_embeddings(c, &r);
    else
        openai_models(c);
}

/* Serve a provider request; the connection is done with it unless a stream began. */
static void provider_and_done(struct conn *c)
{
    provider(c);
    if (c->state != CS_STREAM)
        conn_request_done(c);
}

void route_latency_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct conn *c = w->data;
    c->corked = true; /* headers and first events in one write */
    provider_and_done(c);
    c->corked = false;
    conn_flush(c);
    conn_settle(c);
}

static void control(struct conn *c, const struct req *r);

void route_request(struct conn *c)
{
    struct server *s = c->srv;
    struct req r = conn_req(c);
    if (path_starts(&r, "/mock/")) {
        control(c, &r);
        conn_request_done(c);
        return;
    }
    s->st.requests++;
    if (s->cfg.latency > 0) {
        c->state = CS_DELAY;
        ev_set_cb(&c->timer, route_latency_cb);
        ev_timer_set(&c->timer, s->cfg.latency, 0.);
        ev_timer_start(s->loop, &c->timer);
        return;
    }
    provider_and_done(c);
}

/* ---- the /mock/ control API ---- */

static void stats_body(json_writer *w, void *ctx)
{
    const struct server *s = ctx;
    json_w_obj_begin(w);
    json_w_key(w, "name");
    json_w_str(w, s->name);
    json_w_key(w, "requests");
    json_w_uint(w, s->st.requests);
    json_w_key(w, "connections_accepted");
    json_w_uint(w, s->st.connections_accepted);
    json_w_key(w, "connections_open");
    json_w_uint(w, s->st.connections_open);
    json_w_key(w, "streams_aborted");
    json_w_uint(w, s->st.streams_aborted);
    json_w_key(w, "streams_dropped");
    json_w_uint(w, s->st.streams_dropped);
    json_w_obj_end(w);
}

static void config_body(json_writer *w, void *ctx)
{
    const struct server *s = ctx;
    const struct mock_config *g = &s->cfg;
    json_w_obj_begin(w);
    json_w_key(w, "name");
    json_w_str(w, s->name);
    json_w_key(w, "status");
    json_w_int(w, g->status);
    json_w_key(w, "fail_rate");
    json_w_double(w, g->fail_rate, 6);
    json_w_key(w, "retry_after");
    json_w_uint(w, g->retry_after);
    json_w_key(w, "latency_ms");
    json_w_double(w, g->latency * 1000.0, 9);
    json_w_key(w, "ttft_ms");
    json_w_double(w, g->ttft * 1000.0, 9);
    json_w_key(w, "tps");
    json_w_double(w, g->tps, 9);
    json_w_key(w, "drop_after");
    json_w_uint(w, g->drop_after);
    json_w_key(w, "tokens");
    json_w_uint(w, g->tokens);
    json_w_key(w, "dim");
    json_w_uint(w, g->dim);
    json_w_obj_end(w);
}

/* A number member of /mock/config within [lo, hi]. */
static bool num_in(const json_doc *d, int v, double lo, double hi, bool integer,
                   double *out)
{
    int64_t i;
    if (integer) {
        if (json_get_int(d, v, &i) != JSON_OK)
            return false;
        *out = (double)i;
    } else if (json_get_double(d, v, out) != JSON_OK) {
        return false;
    }
    return *out >= lo && *out <= hi;
}

/* Apply one member to cfg; false when the key is unknown or the value invalid. */
struct given {
    bool status, rate;
};

static bool config_member(const json_doc *d, int k, int v, struct mock_config *g,
                          struct given *given)
{
    double x;
    if (json_str_eq(d, k, "status") && num_in(d, v, 0, 599, true, &x) &&
        (x == 0 || x >= 100)) {
        g->status = (int)x;
        given->status = true;
    } else if (json_str_eq(d, k, "fail_rate") && num_in(d, v, 0, 1, false, &x)) {
        g->fail_rate = x;
        given->rate = true;
    } else if (json_str_eq(d, k, "latency_ms") && num_in(d, v, 0, 3.6e6, false, &x))
        g->latency = x / 1000.0;
    else if (json_str_eq(d, k, "ttft_ms") && num_in(d, v, 0, 3.6e6, false, &x))
        g->ttft = x / 1000.0;
    else if (json_str_eq(d, k, "tps") && num_in(d, v, 0, 1e9, false, &x))
        g->tps = x;
    else if (json_str_eq(d, k, "retry_after") && num_in(d, v, 0, 86400, true, &x))
        g->retry_after = (unsigned)x;
    else if (json_str_eq(d, k, "drop_after") && num_in(d, v, 0, 1e9, true, &x))
        g->drop_after = (unsigned)x;
    else if (json_str_eq(d, k, "tokens") && num_in(d, v, 1, MOCK_MAX_TOKENS, true, &x))
        g->tokens = (unsigned)x;
    else if (json_str_eq(d, k, "dim") && num_in(d, v, 1, MOCK_MAX_DIM, true, &x))
        g->dim = (unsigned)x;
    else
        return false;
    return true;
}

/* POST /mock/config: all members valid, or nothing changes. */
static void config_post(struct conn *c, const struct req *r)
{
    struct server *s = c->srv;
    json_doc d;
    char msg[192];
    if (!parse_body(s, r, &d, msg, sizeof msg)) {
        reply_error(c, 400, msg);
        return;
    }
    struct mock_config g = s->cfg;
    struct given given = {false, false};
    json_iter it = json_iter_begin(&d, 0);
    int k, v;
    while (json_object_next(&it, &k, &v)) {
        if (!config_member(&d, k, v, &g, &given)) {
            char key[64];
            json_str_decode(&d, k, key, sizeof key, NULL);
            snprintf(msg, sizeof msg, "unknown key or invalid value: %s", key);
            reply_error(c, 400, msg);
            return;
        }
    }
    if (given.status && g.status != 0 && !given.rate)
        g.fail_rate = 1; /* a status alone means "fail every request" */
    s->cfg = g;
    if (build_json(s, config_body, s))
        reply_json(c, 200, NULL);
    else
        c->broken = true;
}

struct echo_ctx {
    const struct conn *c;
    const struct req *r;
};

static void echo_body(json_writer *w, void *ctx)
{
    const struct echo_ctx *e = ctx;
    const struct conn *c = e->c;
    json_w_obj_begin(w);
    json_w_key(w, "method");
    json_w_str(w, llhttp_method_name((llhttp_method_t)e->r->method));
    json_w_key(w, "path");
    json_w_str_n(w, e->r->target, e->r->target_len);
    json_w_key(w, "headers");
    json_w_arr_begin(w);
    for (unsigned i = 0; i < c->nhdrs; i++) {
        const struct hdr *h = &c->hdrs[i];
        json_w_arr_begin(w);
        json_w_str_n(w, c->head.p + h->name, h->name_len);
        json_w_str_n(w, c->head.p + h->value, h->value_len);
        json_w_arr_end(w);
    }
    json_w_arr_end(w);
    json_w_key(w, "body");
    json_w_str_n(w, e->r->body, e->r->body_len);
    json_w_obj_end(w);
}

static void reply_built(struct conn *c, bool ok)
{
    if (ok)
        reply_json(c, 200, NULL);
    else
        c->broken = true;
}

static void control(struct conn *c, const struct req *r)
{
    struct server *s = c->srv;
    bool get = r->method == HTTP_GET, post = r->method == HTTP_POST;
    if (path_starts(r, "/mock/echo")) {
        struct echo_ctx e = {c, r};
        s->st.requests++;
        reply_built(c, build_json(s, echo_body, &e));
    } else if (path_is(r, "/mock/stats") && get) {
        reply_built(c, build_json(s, stats_body, s));
    } else if (path_is(r, "/mock/reset") && post) {
        s->st.requests = s->st.connections_accepted = 0;
        s->st.streams_aborted = s->st.streams_dropped = 0;
        reply_built(c, build_json(s, stats_body, s));
    } else if (path_is(r, "/mock/config") && post) {
        config_post(c, r);
    } else if (path_is(r, "/mock/config") && get) {
        reply_built(c, build_json(s, config_body, s));
    } else if (path_is(r, "/mock/stats") || path_is(r, "/mock/reset") ||
               path_is(r, "/mock/config")) {
        reply_error(c, 405, "method not allowed");
    } else {
        reply_error(c, 404, "unknown control path");
    }
}
