/* stats.c - sums over workers and the JSON views: /stats, /ready, one server. */
#include "admin/admin.h"

#include "sluice/plugin.h" /* SL_CIRCUIT_* */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void admin_hist_add(struct stats_hist *acc, const struct stats_hist *h)
{
    for (unsigned i = 0; i < STATS_HIST_BUCKETS; i++)
        stat_add(&acc->bucket[i], stat_get(&h->bucket[i]));
    stat_add(&acc->count, stat_get(&h->count));
    stat_add(&acc->sum_us, stat_get(&h->sum_us));
}

/* A worker's gauge goes up and down on that worker only, but each copy is read at
 * a different moment: a sum can be caught mid-way, so it is clamped at 0. */
static uint64_t gauge(uint64_t wrapped_sum)
{
    return (int64_t)wrapped_sum < 0 ? 0 : wrapped_sum;
}

void admin_sum(const struct stats_counters *per_worker, uint32_t workers,
               struct admin_totals *t)
{
    memset(t, 0, sizeof *t);
    for (uint32_t k = 0; k < workers; k++) {
        const struct stats_counters *s = &per_worker[k];
        t->requests += stat_get(&s->requests);
        for (unsigned c = 0; c < STATS_CLASSES; c++)
            t->responses[c] += stat_get(&s->responses[c]);
        t->bytes_in += stat_get(&s->bytes_in);
        t->bytes_out += stat_get(&s->bytes_out);
        t->upstream_connects += stat_get(&s->upstream_connects);
        t->connect_errors += stat_get(&s->connect_errors);
        t->timeouts += stat_get(&s->timeouts);
        t->retries += stat_get(&s->retries);
        t->inflight += stat_get(&s->inflight);
        t->connections += stat_get(&s->connections);
        admin_hist_add(&t->duration, &s->duration);
    }
    t->inflight = gauge(t->inflight);
    t->connections = gauge(t->connections);
}

bool admin_json(struct nbuf *out, admin_json_fn fn, const void *ctx)
{
    if (!nbuf_reserve(out, 1024, ADMIN_OUT_MAX))
        return false;
    for (int attempt = 0; attempt < 2; attempt++) {
        json_writer w;
        json_w_init(&w, nbuf_tail(out), nbuf_room(out));
        fn(&w, ctx);
        size_t len = 0;
        enum json_err err = json_w_finish(&w, &len);
        if (err == JSON_OK && len < nbuf_room(out)) {
            nbuf_tail(out)[len] = '\n'; /* for people reading it with curl */
            out->len += (uint32_t)len + 1;
            return true;
        }
        if (err != JSON_OK && err != JSON_E_SPACE)
            return false;
        if (!nbuf_reserve(out, len + 2, ADMIN_OUT_MAX))
            return false;
    }
    return false;
}

/* ---- pieces ---- */

static void w_classes(json_writer *w, const uint64_t *responses)
{
    static const char *const names[STATS_CLASSES] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
    json_w_key(w, "responses");
    json_w_obj_begin(w);
    for (unsigned c = 1; c < STATS_CLASSES; c++) {
        json_w_key(w, names[c]);
        json_w_uint(w, responses[c]);
    }
    json_w_obj_end(w);
}

/* Percentiles in ms; null when nothing was measured (0 would read as "fast"). */
static void w_latency(json_writer *w, const struct stats_hist *h)
{
    json_w_key(w, "latency_ms");
    json_w_obj_begin(w);
    static const struct { const char *key; double q; } qs[] = {{"p50", 0.50}, {"p99", 0.99}};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        json_w_key(w, qs[i].key);
        if (stat_get(&h->count) == 0)
            json_w_null(w);
        else
            json_w_double(w, (double)stats_hist_quantile(&h, 1, qs[i].q) / 1000.0, 6);
    }
    json_w_obj_end(w);
}

/* Totals over every model; the split by model is in /metrics. */
static void w_tokens(json_writer *w, const struct stats_tokens *t)
{
    uint64_t prompt = stats_tokens_total(t, STATS_TOKENS_PROMPT);
    uint64_t completion = stats_tokens_total(t, STATS_TOKENS_COMPLETION);
    json_w_key(w, "tokens");
    json_w_obj_begin(w);
    json_w_key(w, "prompt");
    json_w_uint(w, prompt);
    json_w_key(w, "completion");
    json_w_uint(w, completion);
    json_w_key(w, "total");
    json_w_uint(w, prompt + completion);
    json_w_obj_end(w);
}

static void w_url(json_writer *w, const struct conf_url *u)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "%s://%s%s", u->scheme == CONF_HTTPS ? "https" : "http",
                     u->authority, u->path);
    json_w_key(w, "url");
    json_w_str_n(w, buf, n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* A circuit state as a circuit_breaker filter reported it (SL_CIRCUIT_*). */
static const char *circuit_name(uint32_t state)
{
    switch (state) {
    case SL_CIRCUIT_OPEN: return "open";
    case SL_CIRCUIT_HALF_OPEN: return "half_open";
    default: return "closed";
    }
}

struct server_ctx {
    const struct runtime *rt;
    const struct server_rt *s;
    bool with_backend;
};

static void w_server(json_writer *w, const void *ctx)
{
    const struct server_ctx *x = ctx;
    const struct server_rt *s = x->s;
    struct admin_totals t;
    admin_sum(s->stats, x->rt->workers, &t);
    uint32_t state = atomic_load_explicit(&s->state, memory_order_relaxed);
    json_w_obj_begin(w);
    json_w_key(w, "name");
    json_w_str(w, s->conf->name);
    if (x->with_backend) {
        json_w_key(w, "backend");
        json_w_str(w, s->backend->conf->name);
    }
    w_url(w, &s->conf->url);
    json_w_key(w, "state");
    json_w_str(w, state < CONF_STATE_COUNT ? conf_state_names[state] : "unknown");
    json_w_key(w, "health");
    json_w_str(w, atomic_load_explicit(&s->up, memory_order_relaxed) ? "up" : "down");
    json_w_key(w, "circuit");
    json_w_str(w, circuit_name(atomic_load_explicit(&s->circuit, memory_order_relaxed)));
    json_w_key(w, "usable");
    json_w_bool(w, server_available(s));
    json_w_key(w, "weight");
    json_w_uint(w, s->conf->weight);
    json_w_key(w, "priority");
    json_w_uint(w, s->conf->priority);
    json_w_key(w, "inflight");
    json_w_uint(w, t.inflight);
    json_w_key(w, "requests");
    json_w_uint(w, t.requests);
    w_classes(w, t.responses);
    json_w_key(w, "bytes_in");
    json_w_uint(w, t.bytes_in);
    json_w_key(w, "bytes_out");
    json_w_uint(w, t.bytes_out);
    json_w_key(w, "upstream_connects");
    json_w_uint(w, t.upstream_connects);
    json_w_key(w, "connect_errors");
    json_w_uint(w, t.connect_errors);
    json_w_key(w, "timeouts");
    json_w_uint(w, t.timeouts);
    json_w_key(w, "retries");
    json_w_uint(w, t.retries);
    w_tokens(w, s->tokens);
    w_latency(w, &t.duration);
    json_w_obj_end(w);
}

bool admin_render_server(const struct runtime *rt, const struct server_rt *s, struct nbuf *out)
{
    struct server_ctx x = {rt, s, true};
    return admin_json(out, w_server, &x);
}

static void w_frontend(json_writer *w, const struct runtime *rt, const struct frontend_rt *f)
{
    struct admin_totals t;
    admin_sum(f->stats, rt->workers, &t);
    json_w_obj_begin(w);
    json_w_key(w, "name");
    json_w_str(w, f->conf->name);
    json_w_key(w, "requests");
    json_w_uint(w, t.requests);
    w_classes(w, t.responses);
    json_w_key(w, "bytes_in");
    json_w_uint(w, t.bytes_in);
    json_w_key(w, "bytes_out");
    json_w_uint(w, t.bytes_out);
    json_w_key(w, "connections");
    json_w_uint(w, t.connections);
    json_w_key(w, "inflight");
    json_w_uint(w, t.inflight);
    w_latency(w, &t.duration);
    json_w_obj_end(w);
}

static void w_backend(json_writer *w, const struct runtime *rt, const struct backend_rt *b)
{
    struct admin_totals t;
    admin_sum(b->stats, rt->workers, &t);
    json_w_obj_begin(w);
    json_w_key(w, "name");
    json_w_str(w, b->conf->name);
    json_w_key(w, "balance");
    json_w_str(w, conf_balance_names[b->conf->balance]);
    json_w_key(w, "requests");
    json_w_uint(w, t.requests);
    w_classes(w, t.responses);
    json_w_key(w, "servers");
    json_w_arr_begin(w);
    for (uint32_t i = 0; i < b->count; i++) {
        struct server_ctx x = {rt, &b->servers[i], false};
        w_server(w, &x);
    }
    json_w_arr_end(w);
    json_w_obj_end(w);
}

struct stats_ctx {
    const struct runtime *rt;
    double uptime;
};

static void w_stats(json_writer *w, const void *ctx)
{
    const struct stats_ctx *x = ctx;
    const struct runtime *rt = x->rt;
    uint64_t conns = 0;
    for (uint32_t k = 0; k < rt->workers; k++)
        conns += stat_get(&rt->global[k].connections);
    json_w_obj_begin(w);
    json_w_key(w, "version");
    json_w_str(w, SLUICE_VERSION_STRING);
    json_w_key(w, "uptime_seconds");
    json_w_double(w, x->uptime, 6);
    json_w_key(w, "workers");
    json_w_uint(w, rt->workers);
    json_w_key(w, "connections");
    json_w_uint(w, gauge(conns));
    json_w_key(w, "frontends");
    json_w_arr_begin(w);
    for (uint32_t f = 0; f < rt->frontend_count; f++)
        w_frontend(w, rt, &rt->frontends[f]);
    json_w_arr_end(w);
    json_w_key(w, "backends");
    json_w_arr_begin(w);
    for (uint32_t b = 0; b < rt->backend_count; b++)
        w_backend(w, rt, &rt->backends[b]);
    json_w_arr_end(w);
    json_w_obj_end(w);
}

bool admin_render_stats(const struct runtime *rt, double uptime, struct nbuf *out)
{
    struct stats_ctx x = {rt, uptime};
    return admin_json(out, w_stats, &x);
}

static bool backend_usable(const struct backend_rt *b)
{
    for (uint32_t i = 0; i < b->count; i++)
        if (server_available(&b->servers[i]))
            return true;
    return false;
}

struct ready_ctx {
    const struct runtime *rt;
    const bool *usable;         /* [backend], one snapshot for both render attempts */
    bool ready;
};

static void w_ready(json_writer *w, const void *ctx)
{
    const struct ready_ctx *x = ctx;
    json_w_obj_begin(w);
    json_w_key(w, "status");
    json_w_str(w, x->ready ? "ready" : "not_ready");
    if (!x->ready) {
        json_w_key(w, "backends");
        json_w_arr_begin(w);
        for (uint32_t b = 0; b < x->rt->backend_count; b++)
            if (!x->usable[b])
                json_w_str(w, x->rt->backends[b].conf->name);
        json_w_arr_end(w);
    }
    json_w_obj_end(w);
}

bool admin_render_ready(const struct runtime *rt, int *status, struct nbuf *out)
{
    bool *usable = calloc(rt->backend_count ? rt->backend_count : 1, sizeof *usable);
    if (!usable)
        return false;
    struct ready_ctx x = {rt, usable, true};
    for (uint32_t b = 0; b < rt->backend_count; b++) {
        usable[b] = backend_usable(&rt->backends[b]);
        x.ready = x.ready && usable[b];
    }
    bool ok = admin_json(out, w_ready, &x);
    free(usable);
    *status = x.ready ? 200 : 503;
    return ok;
}
