/* metrics.c - GET /metrics: the Prometheus text exposition format 0.0.4.
 *
 * Every family is written whole (HELP, TYPE, then its series), as the format
 * requires. Counters are the sums of every worker's copy. Histograms are converted
 * from the log-linear µs buckets of core/stats to cumulative `le` buckets at fixed
 * bounds: a log-linear bucket counts under a bound only when all of it lies at or
 * below the bound, so a cumulative count is never too high and at most one
 * log-linear bucket (under 25% of the value) late.
 */
#include "admin/admin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

struct prom {
    struct nbuf *out;
    bool ok;
    unsigned labels;            /* labels written in the current series */
};

static void put(struct prom *p, const char *s, size_t n)
{
    if (p->ok && !nbuf_append(p->out, s, n, ADMIN_OUT_MAX))
        p->ok = false;
}

static void puts_(struct prom *p, const char *s)
{
    put(p, s, strlen(s));
}

static void putf(struct prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct prom *p, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        p->ok = false;
    else
        put(p, buf, (size_t)n);
}

static void family(struct prom *p, const char *name, const char *type, const char *help)
{
    putf(p, "# HELP %s ", name);
    puts_(p, help);
    putf(p, "\n# TYPE %s %s\n", name, type);
}

static void series(struct prom *p, const char *name, const char *suffix)
{
    puts_(p, name);
    puts_(p, suffix);
    p->labels = 0;
}

/* A label value escaped as the format wants: backslash, double quote, newline. */
static void label(struct prom *p, const char *key, const char *value)
{
    put(p, p->labels++ ? "," : "{", 1);
    puts_(p, key);
    put(p, "=\"", 2);
    const char *run = value;
    for (const char *c = value; *c; c++) {
        const char *esc = *c == '\\' ? "\\\\" : *c == '"' ? "\\\"" : *c == '\n' ? "\\n" : NULL;
        if (!esc)
            continue;
        put(p, run, (size_t)(c - run));
        put(p, esc, 2);
        run = c + 1;
    }
    puts_(p, run);
    put(p, "\"", 1);
}

static void value(struct prom *p, uint64_t v)
{
    if (p->labels)
        put(p, "}", 1);
    putf(p, " %llu\n", (unsigned long long)v);
}

/* ---- histograms ---- */

struct bound {
    uint64_t us;
    const char *le;             /* the same bound in seconds, as printed */
};

static const struct bound duration_bounds[] = {
    {1000, "0.001"}, {2500, "0.0025"}, {5000, "0.005"}, {10000, "0.01"},
    {25000, "0.025"}, {50000, "0.05"}, {100000, "0.1"}, {250000, "0.25"},
    {500000, "0.5"}, {1000000, "1"}, {2500000, "2.5"}, {5000000, "5"},
    {10000000, "10"}, {30000000, "30"}, {60000000, "60"}, {120000000, "120"},
    {300000000, "300"}, {0, NULL},
};

static const struct bound overhead_bounds[] = {
    {10, "0.00001"}, {25, "0.000025"}, {50, "0.00005"}, {100, "0.0001"},
    {250, "0.00025"}, {500, "0.0005"}, {1000, "0.001"}, {2500, "0.0025"},
    {5000, "0.005"}, {10000, "0.01"}, {25000, "0.025"}, {50000, "0.05"},
    {100000, "0.1"}, {0, NULL},
};

/* One histogram's series; `lkey`/`lval` is its one label, or NULL. */
static void histogram(struct prom *p, const char *name, const char *lkey, const char *lval,
                      const struct stats_hist *h, const struct bound *bounds)
{
    /* Bucket i holds whole µs values below its upper bound. */
    uint64_t cum = 0;
    unsigned i = 0;
    for (const struct bound *b = bounds; b->le; b++) {
        for (; i < STATS_HIST_BUCKETS && stats_hist_bucket_upper(i) <= b->us + 1; i++)
            cum += stat_get(&h->bucket[i]);
        series(p, name, "_bucket");
        if (lkey)
            label(p, lkey, lval);
        label(p, "le", b->le);
        value(p, cum);
    }
    for (; i < STATS_HIST_BUCKETS; i++)
        cum += stat_get(&h->bucket[i]);
    series(p, name, "_bucket");
    if (lkey)
        label(p, lkey, lval);
    label(p, "le", "+Inf");
    value(p, cum);
    series(p, name, "_sum");
    if (lkey)
        label(p, lkey, lval);
    if (p->labels)
        put(p, "}", 1);
    uint64_t us = stat_get(&h->sum_us);
    putf(p, " %llu.%06llu\n", (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000));
    /* _count equals the +Inf bucket, which the format requires; h->count is read
     * at another moment and could differ by a request in flight. */
    series(p, name, "_count");
    if (lkey)
        label(p, lkey, lval);
    value(p, cum);
}

/* ---- families ---- */

static void requests_total(struct prom *p, const struct runtime *rt)
{
    static const char *const codes[STATS_CLASSES] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
    family(p, "sluice_requests_total", "counter",
           "Requests answered, by frontend, backend, server and response class.");
    for (uint32_t f = 0; f < rt->frontend_count; f++) {
        for (uint32_t e = 0; e < rt->endpoint_count; e++) {
            /* Endpoint e back to its backend and server names (see runtime.h). */
            const char *bname = "", *sname = "";
            uint32_t base = 1;
            for (uint32_t b = 0; e > 0 && b < rt->backend_count; b++) {
                const struct backend_rt *be = &rt->backends[b];
                if (e < base + 1 + be->count) {
                    bname = be->conf->name;
                    if (e > base)
                        sname = be->servers[e - base - 1].conf->name;
                    break;
                }
                base += 1 + be->count;
            }
            for (unsigned c = 1; c < STATS_CLASSES; c++) {
                uint64_t n = 0;
                for (uint32_t k = 0; k < rt->workers; k++)
                    n += stat_get(&runtime_requests(rt, k, f, e)[c]);
                if (n == 0)
                    continue; /* a series appears with its first request */
                series(p, "sluice_requests_total", "");
                label(p, "frontend", rt->frontends[f].conf->name);
                label(p, "backend", bname);
                label(p, "server", sname);
                label(p, "code", codes[c]);
                value(p, n);
            }
        }
    }
}

static void frontend_families(struct prom *p, const struct runtime *rt)
{
    family(p, "sluice_request_duration_seconds", "histogram",
           "Time from a request's first byte to the end of its response, by frontend.");
    for (uint32_t f = 0; f < rt->frontend_count; f++) {
        struct admin_totals t;
        admin_sum(rt->frontends[f].stats, rt->workers, &t);
        histogram(p, "sluice_request_duration_seconds", "frontend", rt->frontends[f].conf->name,
                  &t.duration, duration_bounds);
    }
    family(p, "sluice_active_connections", "gauge", "Open client connections, by frontend.");
    for (uint32_t f = 0; f < rt->frontend_count; f++) {
        struct admin_totals t;
        admin_sum(rt->frontends[f].stats, rt->workers, &t);
        series(p, "sluice_active_connections", "");
        label(p, "frontend", rt->frontends[f].conf->name);
        value(p, t.connections);
    }
}

/* Counters filters feed (sl_host.count), by frontend. */
static void filter_counter(struct prom *p, const struct runtime *rt, const char *name, const char *help,
                           size_t offset)
{
    family(p, name, "counter", help);
    for (uint32_t f = 0; f < rt->frontend_count; f++) {
        uint64_t v = 0;
        for (uint32_t k = 0; k < rt->workers; k++)
            v += stat_get((const stat_t *)((const char *)&rt->frontends[f].stats[k] + offset));
        series(p, name, "");
        label(p, "frontend", rt->frontends[f].conf->name);
        value(p, v);
    }
}

static void health_checks(struct prom *p, const struct runtime *rt)
{
    family(p, "sluice_health_checks_total", "counter",
           "Active health checks run, by backend, server and result (ok, fail).");
    for (uint32_t b = 0; b < rt->backend_count; b++)
        for (uint32_t i = 0; i < rt->backends[b].count; i++) {
            const struct server_rt *s = &rt->backends[b].servers[i];
            for (int r = 0; r < 2; r++) {
                uint64_t v = 0;
                for (uint32_t k = 0; k < rt->workers; k++)
                    v += stat_get(r ? &s->stats[k].health_fail : &s->stats[k].health_ok);
                series(p, "sluice_health_checks_total", "");
                label(p, "backend", rt->backends[b].conf->name);
                label(p, "server", s->conf->name);
                label(p, "result", r ? "fail" : "ok");
                value(p, v);
            }
        }
}

static void circuit_states(struct prom *p, const struct runtime *rt)
{
    family(p, "sluice_circuit_state", "gauge",
           "Circuit state a circuit_breaker filter reported: 0 closed, 1 open, 2 half-open.");
    for (uint32_t b = 0; b < rt->backend_count; b++)
        for (uint32_t i = 0; i < rt->backends[b].count; i++) {
            const struct server_rt *s = &rt->backends[b].servers[i];
            series(p, "sluice_circuit_state", "");
            label(p, "backend", rt->backends[b].conf->name);
            label(p, "server", s->conf->name);
            value(p, atomic_load_explicit(&s->circuit, memory_order_relaxed));
        }
}

/* Rows of a server appear with their first tokens; a model's row shows both types. */
static void tokens_total(struct prom *p, const struct runtime *rt)
{
    static const char *const types[STATS_TOKENS_TYPES] = {"prompt", "completion"};
    family(p, "sluice_tokens_total", "counter",
           "Tokens the responses reported (usage), by backend, server, model and type "
           "(prompt, completion).");
    for (uint32_t b = 0; b < rt->backend_count; b++)
        for (uint32_t i = 0; i < rt->backends[b].count; i++) {
            const struct server_rt *s = &rt->backends[b].servers[i];
            uint32_t models = stats_tokens_models(s->tokens);
            for (uint32_t row = 0; row < STATS_TOKENS_ROWS; row++) {
                if (row >= models && row < STATS_TOKENS_MODELS)
                    continue;
                uint64_t v[STATS_TOKENS_TYPES];
                for (unsigned k = 0; k < STATS_TOKENS_TYPES; k++)
                    v[k] = stats_tokens_sum(s->tokens, row, (enum stats_token_type)k);
                if (row >= models && v[0] == 0 && v[1] == 0)
                    continue; /* "other" and "unknown" only once used */
                for (unsigned k = 0; k < STATS_TOKENS_TYPES; k++) {
                    series(p, "sluice_tokens_total", "");
                    label(p, "backend", rt->backends[b].conf->name);
                    label(p, "server", s->conf->name);
                    label(p, "model", stats_tokens_label(s->tokens, row));
                    label(p, "type", types[k]);
                    value(p, v[k]);
                }
            }
        }
}

static void overhead(struct prom *p, const struct runtime *rt)
{
    struct stats_hist h;
    memset(&h, 0, sizeof h);
    for (uint32_t k = 0; k < rt->workers; k++)
        admin_hist_add(&h, &rt->global[k].overhead);
    family(p, "sluice_overhead_seconds", "histogram",
           "Time spent in the gateway itself per proxied request (request and response "
           "heads), excluding the upstream's time.");
    histogram(p, "sluice_overhead_seconds", NULL, NULL, &h, overhead_bounds);
}

/* A counter or gauge of every server, from its summed totals. */
enum server_field { F_CONNECTS, F_CONNECT_ERRORS, F_TIMEOUTS, F_RETRIES };

static void server_counter(struct prom *p, const struct runtime *rt, const char *name,
                           const char *help, enum server_field field)
{
    family(p, name, "counter", help);
    for (uint32_t b = 0; b < rt->backend_count; b++) {
        const struct backend_rt *be = &rt->backends[b];
        for (uint32_t i = 0; i < be->count; i++) {
            struct admin_totals t;
            admin_sum(be->servers[i].stats, rt->workers, &t);
            uint64_t v = field == F_CONNECTS ? t.upstream_connects
                         : field == F_CONNECT_ERRORS ? t.connect_errors
                         : field == F_TIMEOUTS ? t.timeouts : t.retries;
            series(p, name, "");
            label(p, "backend", be->conf->name);
            label(p, "server", be->servers[i].conf->name);
            value(p, v);
        }
    }
}

static void server_gauges(struct prom *p, const struct runtime *rt)
{
    family(p, "sluice_server_up", "gauge",
           "1 while the server's health is up (active checks), else 0; see sluice_server_state.");
    for (uint32_t b = 0; b < rt->backend_count; b++)
        for (uint32_t i = 0; i < rt->backends[b].count; i++) {
            const struct server_rt *s = &rt->backends[b].servers[i];
            series(p, "sluice_server_up", "");
            label(p, "backend", rt->backends[b].conf->name);
            label(p, "server", s->conf->name);
            value(p, atomic_load_explicit(&s->up, memory_order_relaxed) ? 1 : 0);
        }
    family(p, "sluice_server_state", "gauge",
           "1 for the server's administrative state (ready, drain, maint), 0 for the others.");
    for (uint32_t b = 0; b < rt->backend_count; b++)
        for (uint32_t i = 0; i < rt->backends[b].count; i++) {
            const struct server_rt *s = &rt->backends[b].servers[i];
            uint32_t state = atomic_load_explicit(&s->state, memory_order_relaxed);
            for (uint32_t st = 0; st < CONF_STATE_COUNT; st++) {
                series(p, "sluice_server_state", "");
                label(p, "backend", rt->backends[b].conf->name);
                label(p, "server", s->conf->name);
                label(p, "state", conf_state_names[st]);
                value(p, st == state ? 1 : 0);
            }
        }
}

bool admin_render_metrics(const struct runtime *rt, struct nbuf *out)
{
    struct prom p = {out, true, 0};
    family(&p, "sluice_build_info", "gauge", "Always 1; the version is in the label.");
    series(&p, "sluice_build_info", "");
    label(&p, "version", SLUICE_VERSION_STRING);
    value(&p, 1);
    requests_total(&p, rt);
    frontend_families(&p, rt);
    overhead(&p, rt);
    server_counter(&p, rt, "sluice_upstream_connect_total",
                   "New upstream connections opened, by backend and server.", F_CONNECTS);
    server_counter(&p, rt, "sluice_upstream_connect_errors_total",
                   "Upstream connections that could not be opened, by backend and server.",
                   F_CONNECT_ERRORS);
    server_counter(&p, rt, "sluice_upstream_timeouts_total",
                   "Upstream attempts that timed out, by backend and server.", F_TIMEOUTS);
    server_counter(&p, rt, "sluice_retries_total",
                   "Attempts retried after failing on this server, by backend and server.",
                   F_RETRIES);
    server_gauges(&p, rt);
    health_checks(&p, rt);
    circuit_states(&p, rt);
    tokens_total(&p, rt);
    filter_counter(&p, rt, "sluice_ratelimit_rejected_total", "Requests a rate limit refused (429), by frontend.",
                   offsetof(struct stats_counters, ratelimit_rejected));
    filter_counter(&p, rt, "sluice_cache_hits_total", "Responses served from a cache, by frontend.",
                   offsetof(struct stats_counters, cache_hits));
    filter_counter(&p, rt, "sluice_cache_misses_total", "Cacheable requests the cache could not answer, by frontend.",
                   offsetof(struct stats_counters, cache_misses));
    return p.ok;
}
