/* sluice/plugin.h - the filter plugin ABI, version 1.
 *
 * A plugin is a shared object exporting one function, SL_PLUGIN_ENTRY, that
 * returns a descriptor (struct sl_plugin). sluice calls the descriptor's hooks for
 * every transaction that passes the plugin's filter; the plugin calls back into
 * sluice only through the function table (struct sl_host) handed to create(). A
 * plugin links nothing of sluice: `nm -D --undefined-only` shows libc alone.
 *
 * Rules that keep this ABI stable across 1.x (docs/plugins.md has the long form):
 *  - The first four fields of struct sl_plugin are frozen for every major version,
 *    so sluice can always tell which ABI a plugin was built for and say why it
 *    refuses it. A different major is refused; any minor loads.
 *  - Minor versions only append: fields at the end of structs, functions at the
 *    end of struct sl_host, new values of integer codes. Every struct that can
 *    grow starts with a `size` field; test SL_HAS(ptr, type, field) before reading
 *    a field that came after 1.0. A retired function stays and returns
 *    SL_ERR_UNSUPPORTED.
 *  - Only fixed-width integers, pointers, sl_str views and opaque handles cross
 *    the boundary: no enum-typed fields, no bitfields, no FILE *, no errno.
 *  - Ownership is borrowed unless stated: what a call hands to the plugin is
 *    valid until that call returns (or, where stated, until the transaction
 *    ends); what the plugin hands to sluice is copied before the call returns.
 *
 * Threads: create() and destroy() run on the main thread; worker_start() and
 * worker_stop() on each worker's thread; every hook, timer and resume on the
 * transaction's worker. Nothing may block: a hook that waits returns SL_PAUSE.
 */
#ifndef SLUICE_PUBLIC_PLUGIN_H
#define SLUICE_PUBLIC_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- plain data ---- */

/* A view of bytes; not NUL-terminated unless stated. */
typedef struct sl_str {
    const char *ptr;
    size_t len;
} sl_str;

#define SL_STR(lit) ((sl_str){(lit), sizeof(lit) - 1})
#define SL_STR_NULL ((sl_str){NULL, 0})

/* Whether a struct that starts with `size` has `field` (it was added in a later
 * minor version than the side that filled it). */
#define SL_HAS(p, type, field) \
    ((p)->size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* ---- opaque handles ---- */

typedef struct sl_txn sl_txn;         /* one request and its response */
typedef struct sl_worker sl_worker;   /* a worker thread and its event loop */
typedef struct sl_config sl_config;   /* the context of create(): where errors go */
typedef struct sl_node sl_node;       /* a located YAML node of the configuration */
typedef struct sl_select sl_select;   /* the candidate servers of one selection */
typedef struct sl_timer sl_timer;     /* a one-shot timer on a worker */
typedef struct sl_subreq sl_subreq;   /* a request a plugin sends to a backend */
typedef struct sl_store sl_store;     /* shared counters and key/value store */

/* ---- results and codes (int32_t) ---- */

/* What a hook returns. */
#define SL_CONTINUE 0    /* go on with the next filter */
#define SL_PAUSE 1       /* wait: the plugin calls host->resume() exactly once later */
#define SL_DONE 2        /* a response was set with respond()/respond_error(): send it */
#define SL_RETRY 3       /* on_attempt only: give up this attempt; retry() was called */
#define SL_ERROR (-1)    /* the filter failed: the request fails closed with a 500 */

/* What host calls return. */
#define SL_OK 0
#define SL_PENDING 1             /* store: the answer comes later through the callback */
#define SL_NOT_FOUND 2           /* store, headers, variables: nothing under that name */
#define SL_LIMITED 3             /* store: counter_add refused, the limit would be passed */
#define SL_ERR_UNSUPPORTED (-1)  /* not available in this host or at this point */
#define SL_ERR_INVALID (-2)      /* bad argument (a header name that is not a token...) */
#define SL_ERR_STATE (-3)        /* too late or too early (the response already started...) */
#define SL_ERR_NOMEM (-4)
#define SL_ERR_LIMIT (-5)        /* a bound would be passed (body size, store size) */
#define SL_ERR_IO (-6)           /* store backend unreachable */

/* Which message a header call is about. */
#define SL_REQUEST 0   /* the request forwarded upstream */
#define SL_RESPONSE 1  /* the response sent to the client (upstream or local) */

/* txn_str() keys. Views stay valid until the transaction ends. */
#define SL_TXN_METHOD 0
#define SL_TXN_PATH 1        /* without the query */
#define SL_TXN_TARGET 2      /* path and query as the client sent them */
#define SL_TXN_HOST 3        /* Host header, "" when absent */
#define SL_TXN_CLIENT_IP 4
#define SL_TXN_REQUEST_ID 5
#define SL_TXN_FRONTEND 6
#define SL_TXN_ROUTE 7       /* "" for an unnamed route */
#define SL_TXN_BACKEND 8     /* of the current or last attempt */
#define SL_TXN_SERVER 9      /* of the current or last attempt, "" before one */
#define SL_TXN_MODEL 10      /* the model the response named (with usage), "" unknown */

/* txn_num() keys. -1 when unknown. */
#define SL_TXN_STATUS 0          /* response status, 0 before the head */
#define SL_TXN_ATTEMPTS 1
#define SL_TXN_WORKER 2          /* worker index, 0..worker_count-1 */
#define SL_TXN_BODY_LENGTH 3     /* request content-length, -1 chunked or none */
#define SL_TXN_RESPONSE_STARTED 4 /* 1 once a response byte was queued for the client */
#define SL_TXN_PROMPT_TOKENS 5
#define SL_TXN_COMPLETION_TOKENS 6
#define SL_TXN_TOTAL_TOKENS 7
#define SL_TXN_STREAM 8          /* 1 when the response is text/event-stream */

/* sl_attempt.outcome */
#define SL_OUTCOME_RESPONSE 0      /* a response head arrived; see status */
#define SL_OUTCOME_CONNECT_ERROR 1
#define SL_OUTCOME_TIMEOUT 2       /* connect or server timeout before the head */
#define SL_OUTCOME_RESET 3         /* the connection broke before the head */
#define SL_OUTCOME_BAD_RESPONSE 4  /* a head sluice refused to relay */
/* 1.1, only to plugins built for 1.1 or later: no server of the backend was
 * usable, nothing was sent (server empty, server_index UINT32_MAX, status 0); a
 * filter may retry() on another backend. */
#define SL_OUTCOME_NO_SERVER 5

/* sl_txn_end.flags */
#define SL_END_LOCAL 0x1u          /* answered by a filter or by sluice itself */
#define SL_END_CLIENT_GONE 0x2u    /* the client left before the response ended */
#define SL_END_UPSTREAM_BROKE 0x4u /* the upstream failed after the response started */

/* Log levels. */
#define SL_LOG_ERROR 0
#define SL_LOG_WARN 1
#define SL_LOG_INFO 2
#define SL_LOG_DEBUG 3

/* YAML node kinds. */
#define SL_NODE_SCALAR 0
#define SL_NODE_MAP 1
#define SL_NODE_SEQ 2
#define SL_NODE_NULL 3   /* a scalar that is `~`, `null` or empty */

/* count() keys: process metrics plugins feed, labelled by the transaction. */
#define SL_COUNT_RATELIMIT_REJECTED 0  /* sluice_ratelimit_rejected_total */
#define SL_COUNT_CACHE_HIT 1           /* sluice_cache_hits_total */
#define SL_COUNT_CACHE_MISS 2          /* sluice_cache_misses_total */

/* Circuit states for circuit_report(): sluice_circuit_state and /stats. */
#define SL_CIRCUIT_CLOSED 0
#define SL_CIRCUIT_OPEN 1
#define SL_CIRCUIT_HALF_OPEN 2

/* clock_ms() clocks */
#define SL_CLOCK_MONOTONIC 0
#define SL_CLOCK_WALL 1      /* ms since the Unix epoch (windows shared across hosts) */

/* ---- data handed to hooks ---- */

/* One attempt's outcome (on_attempt). */
typedef struct sl_attempt {
    uint32_t size;
    uint32_t number;          /* 1 for the first attempt of the transaction */
    int32_t outcome;          /* SL_OUTCOME_* */
    uint32_t status;          /* SL_OUTCOME_RESPONSE: the status */
    uint32_t server_index;    /* in its backend, as in on_select */
    uint32_t reserved;
    sl_str backend, server;
    uint64_t duration_us;     /* from sending the request to the outcome */
    int64_t retry_after_ms;   /* from a 4xx/5xx's retry-after (seconds), -1 without */
} sl_attempt;

/* The end of a transaction (on_end), for every transaction that began the chain. */
typedef struct sl_txn_end {
    uint32_t size;
    uint32_t status;          /* sent to the client; 499 when it left first */
    uint32_t attempts;
    uint32_t flags;           /* SL_END_* */
    uint64_t bytes_in, bytes_out;
    uint64_t duration_us;     /* from the request head to the end */
    uint64_t upstream_us;     /* last attempt: request sent to response end, 0 none */
    uint64_t first_byte_us;   /* last attempt: request sent to response head, 0 none */
    int64_t prompt_tokens;    /* usage read from the response; -1 unknown */
    int64_t completion_tokens;
    int64_t total_tokens;
} sl_txn_end;

/* A server offered to on_select. */
typedef struct sl_server_info {
    uint32_t size;
    uint32_t index;           /* in its backend */
    uint32_t weight;
    uint32_t priority;
    uint32_t usable;          /* 1: ready, healthy and not vetoed so far */
    uint32_t inflight;        /* requests in flight to it from this worker */
    sl_str backend, name;     /* NUL-terminated; valid until the transaction ends */
    sl_str url;
} sl_server_info;

/* A counter operation (counter_add). */
typedef struct sl_counter_op {
    uint32_t size;
    uint32_t reserved;
    sl_str key;
    int64_t delta;
    int64_t limit;            /* >0: apply only when the result stays <= limit */
    uint64_t ttl_ms;          /* a new counter expires after this (0: never);
                               * an existing one keeps its expiry */
} sl_counter_op;

/* The result of a store operation. */
typedef struct sl_store_result {
    uint32_t size;
    int32_t status;           /* SL_OK, SL_LIMITED, SL_NOT_FOUND or an SL_ERR_* */
    int64_t value;            /* counters: the value after the operation (or now, when
                               * limited) */
    uint64_t ttl_ms;          /* time left before the entry expires, 0: no expiry */
    sl_str data;              /* kv_get: the value; borrowed for the callback or, when
                               * returned at once, until the transaction ends */
} sl_store_result;

typedef void (*sl_store_cb)(void *arg, const sl_store_result *res);

/* A request a plugin sends to a backend of its own (subrequest). */
typedef struct sl_subreq_opts {
    uint32_t size;
    uint32_t header_count;
    sl_str backend;           /* a backend name of the running configuration */
    sl_str method, path;      /* path with query, before the route rewrite */
    const sl_str *headers;    /* header_count name/value pairs: [2i] name, [2i+1] value */
    sl_str body;
    uint64_t timeout_ms;      /* 0: the backend's server timeout */
} sl_subreq_opts;

typedef struct sl_subreq_result {
    uint32_t size;
    uint32_t status;          /* 0 when no response came (see error) */
    sl_str error;             /* why it failed, empty on success */
    sl_str body;              /* the whole response body (bounded by max_body_bytes) */
    sl_str content_type;
} sl_subreq_result;

typedef void (*sl_subreq_cb)(void *arg, const sl_subreq_result *res);
typedef void (*sl_callback)(void *arg);

/* ---- the host: everything a plugin can ask of sluice ---- */

typedef struct sl_host {
    uint32_t size;            /* sizeof the table sluice was built with */
    uint16_t abi_major, abi_minor;

    /* -- configuration (create() only, main thread) -- */
    /* The filter's `config:` node, or NULL when absent. */
    const sl_node *(*config_root)(sl_config *cfg);
    /* Where this filter entry is, stable across reloads: "frontend:NAME",
     * "route:FRONTEND/ROUTE" (ROUTE is the route's name or its 1-based position) or
     * "backend:NAME". A good prefix for store keys. NUL-terminated. */
    sl_str (*config_scope)(sl_config *cfg);
    /* Reports an error at `at` (FILE:LINE:COL); create() then fails the load. */
    void (*config_error)(sl_config *cfg, const sl_node *at, const char *message);
    void (*config_warn)(sl_config *cfg, const sl_node *at, const char *message);
    /* Errors for every key of a map not in `allowed` (NULL-terminated), with a
     * suggestion; SL_OK when all are known. */
    int32_t (*config_check_keys)(sl_config *cfg, const sl_node *map, const char *const *allowed);
    /* Reads another YAML file (relative paths are from the configuration file's
     * directory) with ${VAR} substitution; errors point into it. The tree is valid
     * until create() returns. NULL after reporting an error. */
    const sl_node *(*config_load_file)(sl_config *cfg, const sl_node *at, sl_str path);

    /* -- YAML nodes (valid until create() returns) -- */
    int32_t (*node_kind)(const sl_node *n);                /* SL_NODE_* */
    sl_str (*node_str)(const sl_node *n);                  /* scalar text, NUL-terminated */
    const sl_node *(*node_get)(const sl_node *map, const char *key);
    uint32_t (*node_count)(const sl_node *n);              /* map pairs or seq items */
    const sl_node *(*node_item)(const sl_node *seq_or_map, uint32_t i); /* value */
    const sl_node *(*node_key)(const sl_node *map, uint32_t i);         /* key scalar */
    /* Typed readers: SL_OK, or an error reported at n and SL_ERR_INVALID. */
    int32_t (*node_int)(sl_config *cfg, const sl_node *n, int64_t min, int64_t max, int64_t *out);
    int32_t (*node_bool)(sl_config *cfg, const sl_node *n, int32_t *out);
    int32_t (*node_duration_ms)(sl_config *cfg, const sl_node *n, uint64_t *out);
    int32_t (*node_size)(sl_config *cfg, const sl_node *n, uint64_t *out);

    /* -- process -- */
    uint32_t (*worker_count)(void);
    uint32_t (*worker_index)(sl_worker *w);
    uint64_t (*clock_ms)(int32_t clock);
    /* Thread-safe; messages must never contain secrets. */
    void (*log)(int32_t level, const char *message);
    /* Thread-safe: runs fn(arg) on worker w's thread, soon. SL_OK or SL_ERR_STATE
     * when the worker is stopping (fn is then not called); calls still queued when
     * the worker stops are dropped without running (free their state in
     * worker_stop). */
    int32_t (*post)(sl_worker *w, sl_callback fn, void *arg);

    /* -- transactions (on their worker) -- */
    sl_worker *(*txn_worker)(sl_txn *t);
    sl_str (*txn_str)(sl_txn *t, int32_t key);            /* SL_TXN_* string keys */
    int64_t (*txn_num)(sl_txn *t, int32_t key);           /* SL_TXN_* number keys */
    /* Memory freed when the transaction ends (after on_end), aligned for any type
     * (as malloc). NULL when out of memory. */
    void *(*txn_alloc)(sl_txn *t, size_t n);
    /* One pointer per filter per transaction, for the plugin's own state. */
    void *(*txn_data)(sl_txn *t, const void *instance);
    void (*txn_set_data)(sl_txn *t, const void *instance, void *data);
    /* Variables shared by the filters of a transaction (copied in). */
    int32_t (*var_set)(sl_txn *t, sl_str name, sl_str value);
    int32_t (*var_get)(sl_txn *t, sl_str name, sl_str *value);

    /* -- headers -- */
    /* First value of `name` (case-insensitive): SL_OK or SL_NOT_FOUND. */
    int32_t (*header_get)(sl_txn *t, int32_t which, sl_str name, sl_str *value);
    /* The i-th header as it will be sent: SL_OK or SL_NOT_FOUND past the end. */
    int32_t (*header_at)(sl_txn *t, int32_t which, uint32_t i, sl_str *name, sl_str *value);
    /* Replaces every `name` header with one (copied). SL_RESPONSE before the
     * response exists: applied to whichever response is sent, upstream or local. */
    int32_t (*header_set)(sl_txn *t, int32_t which, sl_str name, sl_str value);
    int32_t (*header_add)(sl_txn *t, int32_t which, sl_str name, sl_str value);
    int32_t (*header_remove)(sl_txn *t, int32_t which, sl_str name);

    /* -- bodies -- */
    /* From on_request_head: hold the whole request body before anything is sent;
     * on_request_body then sees it once, with end = 1. */
    int32_t (*request_body_buffer)(sl_txn *t);
    /* From on_request_head: keep a copy of up to max bytes of the body while it
     * streams, so a retry can send it again. */
    int32_t (*request_body_retain)(sl_txn *t, uint64_t max);
    /* The buffered body, valid until replaced or the transaction ends. */
    int32_t (*request_body_get)(sl_txn *t, sl_str *body);
    /* Replaces the buffered body (copied); content-length follows. */
    int32_t (*request_body_set)(sl_txn *t, sl_str body);
    /* From on_response_head: hold the whole response body; on_response_body then
     * sees it once, with end = 1. */
    int32_t (*response_body_buffer)(sl_txn *t);
    int32_t (*response_body_get)(sl_txn *t, sl_str *body);
    int32_t (*response_body_set)(sl_txn *t, sl_str body);

    /* -- answering -- */
    /* A local response (body copied); the hook then returns SL_DONE. Headers added
     * with header_set/add(SL_RESPONSE) go with it. From on_response_head it
     * replaces the upstream's response. */
    int32_t (*respond)(sl_txn *t, uint32_t status, sl_str content_type, sl_str body);
    /* The same in the gateway's JSON error shape:
     * {"error": {"message": ..., "type": ..., "code": ...}}. */
    int32_t (*respond_error)(sl_txn *t, uint32_t status, const char *type, const char *code,
                             const char *message);

    /* -- pause and resume -- */
    /* A reference that outlives the transaction safely: txn_lookup() of a
     * transaction that ended returns NULL. */
    uint64_t (*txn_ref)(sl_txn *t);
    sl_txn *(*txn_lookup)(sl_worker *w, uint64_t ref);
    /* Ends a pause: SL_CONTINUE (next filter), SL_DONE (respond() was called) or
     * SL_ERROR. Exactly once per SL_PAUSE, on the transaction's worker; it takes
     * effect after the caller returns. */
    int32_t (*resume)(sl_txn *t, int32_t action);

    /* -- timers (on a worker; the callback runs once on that worker) -- */
    sl_timer *(*timer_start)(sl_worker *w, uint64_t delay_ms, sl_callback cb, void *arg);
    /* Owned by the transaction: cancelled before on_end if it has not fired. */
    sl_timer *(*txn_timer_start)(sl_txn *t, uint64_t delay_ms, sl_callback cb, void *arg);
    /* Only before the callback ran; the handle is gone once it runs. */
    void (*timer_cancel)(sl_timer *timer);

    /* -- selection (on_select) and attempts (on_attempt) -- */
    uint32_t (*select_count)(sl_select *s);
    int32_t (*select_server)(sl_select *s, uint32_t i, sl_server_info *out);
    int32_t (*select_veto)(sl_select *s, uint32_t i);
    /* Takes this server, skipping the balancer (it must be usable). */
    int32_t (*select_pick)(sl_select *s, uint32_t i);
    /* From on_attempt (then return SL_RETRY): send the request again after
     * delay_ms, to another server of `backend` (empty: the same backend). The body
     * must be buffered or retained in full. SL_ERR_STATE once a response byte has
     * reached the client. */
    int32_t (*retry)(sl_txn *t, sl_str backend, uint64_t delay_ms);
    void (*circuit_report)(sl_str backend, sl_str server, int32_t state);
    void (*count)(sl_txn *t, int32_t what, int64_t delta);

    /* -- requests of the plugin's own -- */
    /* Sends a request to a backend (balanced, with its servers' headers and
     * model_map); cb runs once on w, unless cancelled first. NULL on error. */
    sl_subreq *(*subrequest)(sl_worker *w, const sl_subreq_opts *opts, sl_subreq_cb cb, void *arg);
    void (*subrequest_cancel)(sl_subreq *r);

    /* -- shared store: counters and key/value with TTL, safe across workers --
     * `spec` is "local" (this process; kept across reloads) or a redis:// URL.
     * Opened in create(); nothing connects until first use. Keys are bytes; each
     * plugin should prefix its own. Operations return SL_OK with *res filled (its
     * status SL_OK, SL_LIMITED or SL_NOT_FOUND says what happened), or SL_PENDING
     * and call cb(arg, res) later on w (remote stores), or SL_ERR_*. store_open
     * reports its own located error and returns NULL for a store it cannot offer. */
    sl_store *(*store_open)(sl_config *cfg, sl_str spec);
    int32_t (*counter_add)(sl_store *st, sl_worker *w, const sl_counter_op *op,
                           sl_store_result *res, sl_store_cb cb, void *arg);
    int32_t (*counter_get)(sl_store *st, sl_worker *w, sl_str key,
                           sl_store_result *res, sl_store_cb cb, void *arg);
    /* kv_get's data: with t, copied into the transaction's memory; without, only
     * within cb (a pending answer) and SL_ERR_INVALID for an answer at once. */
    int32_t (*kv_get)(sl_store *st, sl_txn *t, sl_str key, sl_store_result *res,
                      sl_store_cb cb, void *arg);
    int32_t (*kv_set)(sl_store *st, sl_worker *w, sl_str key, sl_str value, uint64_t ttl_ms);
    int32_t (*kv_del)(sl_store *st, sl_worker *w, sl_str key);

    /* -- 1.1 (test SL_HAS(host, sl_host, config_backend): a 1.0 host lacks it) -- */
    /* create() only: SL_OK when the configuration being loaded has a backend of
     * that name, else SL_NOT_FOUND; for checking names a plugin's configuration
     * refers to (failover's fallback) under `sluice -t`. */
    int32_t (*config_backend)(sl_config *cfg, sl_str name);
} sl_host;

/* ---- the plugin's descriptor ---- */

#define SL_PLUGIN_MAGIC 0x534c5046u   /* "SLPF" */
#define SL_PLUGIN_ENTRY sluice_plugin_entry
#define SL_PLUGIN_ENTRY_NAME "sluice_plugin_entry"

typedef struct sl_plugin {
    /* Frozen for every major version. */
    uint32_t magic;           /* SL_PLUGIN_MAGIC */
    uint16_t abi_major;       /* SL_ABI_VERSION_MAJOR the plugin was built with */
    uint16_t abi_minor;
    uint32_t size;            /* sizeof(struct sl_plugin) the plugin was built with */
    uint32_t reserved;
    /* 1.0 */
    const char *name;         /* as in `plugin: NAME` */
    const char *version;      /* the plugin's own version, for logs */

    /* Main thread. Reads and checks the configuration, builds the instance; no side
     * effects beyond memory (sluice -t runs it too). On error: report with
     * config_error, return SL_ERROR; destroy() is not called. */
    int32_t (*create)(const sl_host *host, sl_config *cfg, void **instance);
    void (*destroy)(void *instance);
    /* On each worker's thread when it starts and before it exits (optional); a
     * failing worker_start is logged, and the hooks still run on that worker. */
    int32_t (*worker_start)(void *instance, sl_worker *w);
    void (*worker_stop)(void *instance, sl_worker *w);

    /* Hooks, each optional (NULL). on_request_head, on_request_body, on_select and
     * on_attempt run in chain order (frontend, route, backend filters);
     * on_response_head, on_response_body and on_end in reverse. Only on_request_head
     * and a buffered on_request_body may return SL_PAUSE; elsewhere it fails the
     * request closed (500). docs/plugins.md has what each may return. */
    int32_t (*on_request_head)(void *instance, sl_txn *t);
    int32_t (*on_request_body)(void *instance, sl_txn *t, sl_str chunk, int32_t end);
    int32_t (*on_select)(void *instance, sl_txn *t, sl_select *s);
    int32_t (*on_attempt)(void *instance, sl_txn *t, const sl_attempt *a);
    int32_t (*on_response_head)(void *instance, sl_txn *t);
    int32_t (*on_response_body)(void *instance, sl_txn *t, sl_str chunk, int32_t end);
    void (*on_end)(void *instance, sl_txn *t, const sl_txn_end *e);
} sl_plugin;

/* The head every descriptor starts with. */
#define SL_PLUGIN_HEAD                                                            \
    .magic = SL_PLUGIN_MAGIC, .abi_major = SL_ABI_VERSION_MAJOR,                  \
    .abi_minor = SL_ABI_VERSION_MINOR, .size = (uint32_t)sizeof(struct sl_plugin)

/* The exported entry point: `SL_PLUGIN_EXPORT const sl_plugin *SL_PLUGIN_ENTRY(void)`. */
#if defined(__GNUC__)
#define SL_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define SL_PLUGIN_EXPORT
#endif

typedef const sl_plugin *(*sl_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif
