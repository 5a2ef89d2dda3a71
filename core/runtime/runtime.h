/* runtime.h - one running generation of the configuration.
 *
 * A runtime wraps a `struct conf` with what the workers and the admin listener
 * share while it runs: each server's resolved address and its state (admin state
 * and health, atomics so any thread can change them), and every worker's copy of
 * the statistics. It is refcounted like the configuration: a reload builds a new
 * runtime while requests in flight finish on the old one.
 */
#ifndef SLUICE_RUNTIME_H
#define SLUICE_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf/conf.h"
#include "stats/stats.h"
#include "stats/tokens.h"

struct backend_rt;

struct server_rt {
    const struct conf_server *conf;
    const struct backend_rt *backend;
    uint32_t index;                 /* in its backend */
    _Atomic uint32_t state;         /* enum conf_server_state; POST /servers changes it */
    _Atomic uint32_t up;            /* health: 1 up, 0 down (active checks) */
    _Atomic uint32_t circuit;       /* SL_CIRCUIT_*: what a circuit breaker reported */
    struct sockaddr_storage addr;   /* resolved when the runtime is built */
    socklen_t addr_len;
    struct stats_counters *stats;   /* [worker] */
    struct stats_tokens *tokens;    /* sluice_tokens_total: per model, per worker */
};

struct backend_rt {
    const struct conf_backend *conf;
    uint32_t index;
    struct server_rt *servers;
    uint32_t count;
    struct stats_counters *stats;   /* [worker] */
};

struct frontend_rt {
    const struct conf_frontend *conf;
    uint32_t index;
    struct stats_counters *stats;   /* [worker] */
};

/* Process-wide numbers per worker that belong to no entity. */
struct stats_global {
    struct stats_hist overhead;     /* time spent in the gateway itself */
    stat_t connections;             /* open client connections */
};

struct runtime {
    atomic_uint refs;
    struct conf *conf;              /* one reference held */
    uint32_t workers;
    struct frontend_rt *frontends;
    uint32_t frontend_count;
    struct backend_rt *backends;
    uint32_t backend_count;
    struct stats_global *global;    /* [worker] */
    /* sluice_requests_total{frontend,backend,server,code}: counters per frontend
     * and endpoint, where endpoint 0 is "no backend", and each backend has one
     * endpoint for "no server" followed by one per server. */
    uint32_t endpoint_count;
    stat_t *requests;               /* [worker][frontend][endpoint][class] */
};

/* Builds a runtime for `c` (taking over the caller's reference) with `workers`
 * copies of the statistics, resolving every server's host. On failure returns
 * NULL and reports each server that cannot be resolved into `d`. */
struct runtime *runtime_create(struct conf *c, uint32_t workers, struct conf_diags *d);
struct runtime *runtime_retain(struct runtime *rt);
/* The runtime serving new requests (one reference for the caller), or NULL. */
struct runtime *runtime_current(void);
void runtime_set_current(struct runtime *rt);
void runtime_release(struct runtime *rt);

struct backend_rt *runtime_backend(const struct runtime *rt, const struct conf_backend *b);
struct server_rt *runtime_find_server(const struct runtime *rt, const char *backend, const char *server);

/* Endpoint index of a server (or of "no server" in a backend when s is NULL, or of
 * "no backend" when both are NULL). */
uint32_t runtime_endpoint(const struct runtime *rt, const struct backend_rt *b,
                          const struct server_rt *s);
static inline stat_t *runtime_requests(const struct runtime *rt, uint32_t worker,
                                       uint32_t frontend, uint32_t endpoint)
{
    return rt->requests + (((size_t)worker * rt->frontend_count + frontend) * rt->endpoint_count +
                           endpoint) * STATS_CLASSES;
}

/* A server takes new requests: admin state ready and health up. */
static inline bool server_usable(const struct server_rt *s)
{
    return atomic_load_explicit(&s->state, memory_order_relaxed) == CONF_STATE_READY &&
           atomic_load_explicit(&s->up, memory_order_relaxed) != 0;
}

/* Usable, and no circuit breaker reported its circuit open: what /ready, /stats
 * and a retry's choice of candidates go by (a balancing pick asks the filters). */
static inline bool server_available(const struct server_rt *s)
{
    return server_usable(s) && atomic_load_explicit(&s->circuit, memory_order_relaxed) != 1u /* open */;
}

#endif
