/* admin.h - the admin listener: health, readiness, statistics, metrics and server
 * state changes, served on the main thread's event loop (never on a worker).
 *
 * Entry points for the main thread: admin_start, admin_stop, admin_free. The rest of
 * this header is shared by the files of core/admin/ and its unit tests:
 *   listener.c  sockets, connections, HTTP/1.1 parsing and writing, timeouts
 *   handle.c    routing a parsed request to an endpoint, errors, authorization
 *   stats.c     sums over workers, JSON for /stats, /ready and one server
 *   metrics.c   the Prometheus text exposition for /metrics
 * Everything except listener.c is pure: it reads the runtime's counters (relaxed
 * loads) and writes into a buffer, so tests drive it without sockets.
 */
#ifndef SLUICE_ADMIN_H
#define SLUICE_ADMIN_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "json/json.h"
#include "net/net.h"
#include "runtime/runtime.h"

struct admin;

/* Listens on cfg->bind and serves on `loop`. NULL (logged) when it cannot bind.
 * Holds a reference to `rt` until admin_free; `cfg` must outlive the admin (it
 * lives in rt's configuration). */
struct admin *admin_start(struct ev_loop *loop, struct runtime *rt, const struct conf_admin *cfg);
/* Stops listening and closes its connections (the process is stopping). Idempotent. */
void admin_stop(struct admin *a);
/* Stops if needed, drops the runtime reference and frees. NULL is accepted. */
void admin_free(struct admin *a);

/* ---- internals, shared by core/admin/ and its unit tests ---- */

#define ADMIN_MAX_CONNS 64u
#define ADMIN_HEAD_MAX (16u * 1024u)        /* request head */
#define ADMIN_BODY_MAX (64u * 1024u)        /* request body */
#define ADMIN_OUT_MAX (32u * 1024u * 1024u) /* one rendered response */

enum admin_method { ADMIN_GET, ADMIN_HEAD, ADMIN_POST, ADMIN_OTHER };

/* A request as the listener hands it over; every pointer is borrowed for the call. */
struct admin_request {
    enum admin_method method;
    const char *path;           /* without the query, still percent-encoded */
    size_t path_len;
    const char *body;
    size_t body_len;
    bool authorized;            /* no token configured, or the right Bearer token */
};

/* What to answer. The body is owned by the response (admin_response_free). */
struct admin_response {
    int status;
    const char *content_type;   /* static */
    const char *allow;          /* static; set on 405 */
    bool challenge;             /* 401: add WWW-Authenticate: Bearer */
    struct nbuf body;
};

/* Answers `req` from `rt`, whose server states it may change (POST /servers).
 * `uptime` (seconds) goes into /stats. Always fills `resp`; a response that cannot
 * be rendered within ADMIN_OUT_MAX becomes a 500. */
void admin_handle(struct runtime *rt, double uptime, const struct admin_request *req,
                  struct admin_response *resp);
void admin_response_free(struct admin_response *resp);
/* Replaces resp's body with the SPEC's JSON error {"error":{message,type,code}}. */
void admin_error(struct admin_response *resp, int status, const char *code, const char *message);

/* True when `authz` (the Authorization value, may be NULL) is "Bearer <token>",
 * the scheme case-insensitive. Time depends on the token's length only. */
bool admin_token_ok(const char *token, const char *authz, size_t authz_len);

/* Renderers: each appends to `out` and returns false when the output would pass
 * ADMIN_OUT_MAX (what was appended is then meaningless). */
bool admin_render_metrics(const struct runtime *rt, struct nbuf *out);
bool admin_render_stats(const struct runtime *rt, double uptime, struct nbuf *out);
/* 200 {"status":"ready"} or 503 {"status":"not_ready","backends":[...]}: *status
 * gets the code. */
bool admin_render_ready(const struct runtime *rt, int *status, struct nbuf *out);
/* One server as /stats shows it, with its backend's name. */
bool admin_render_server(const struct runtime *rt, const struct server_rt *s, struct nbuf *out);

/* ---- shared helpers (stats.c) ---- */

/* Counters of one entity summed over every worker. Gauges are clamped at 0. */
struct admin_totals {
    uint64_t requests, responses[STATS_CLASSES];
    uint64_t bytes_in, bytes_out, upstream_connects, connect_errors, timeouts, retries;
    uint64_t inflight, connections;
    struct stats_hist duration;
};
void admin_sum(const struct stats_counters *per_worker, uint32_t workers,
               struct admin_totals *t);
/* Adds h into acc (a plain local copy, zeroed by the caller). */
void admin_hist_add(struct stats_hist *acc, const struct stats_hist *h);

/* Renders with `fn` into the free space of `out`, growing it once when short. */
typedef void (*admin_json_fn)(json_writer *w, const void *ctx);
bool admin_json(struct nbuf *out, admin_json_fn fn, const void *ctx);

#endif
