/* conf.h - the configuration: loading a YAML file into immutable typed structures.
 *
 * Entry points: conf_load_file() (and conf_load_string() for tests), conf_retain(),
 * conf_release(). A `struct conf` is one generation of the configuration: every
 * string, array and node in it lives in its arena and is read-only after load.
 * Later layers hold it by reference (refcounted), so a reload can install a new
 * generation while requests in flight finish on the old one.
 *
 * Times are milliseconds (uint64_t); sizes are bytes (uint64_t). Every default is
 * already applied and every `defaults:` value already inherited: users of these
 * structures never look at YAML, except plugin configuration (conf_filter.config),
 * which the plugin loader hands to the plugin as located nodes.
 */
#ifndef SLUICE_CONF_H
#define SLUICE_CONF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "arena/arena.h"
#include "conf/diag.h"
#include "conf/node.h"

struct chain;
struct plugin_set;

/* A listening address: `HOST:PORT`, `[V6]:PORT`, `*:PORT` or `:PORT` (any). */
struct conf_bind {
    struct conf_loc loc;
    const char *text;           /* as written, for logs */
    struct sockaddr_storage addr;
    socklen_t addr_len;
};

enum conf_scheme { CONF_HTTP, CONF_HTTPS };

/* A server url: scheme://host[:port][/base/path]. */
struct conf_url {
    enum conf_scheme scheme;
    const char *host;           /* without brackets for IPv6 */
    uint16_t port;              /* explicit or the scheme's default */
    const char *authority;      /* host[:port] as the Host header carries it */
    const char *path;           /* base path without trailing '/', "" when none */
};

struct conf_header {
    const char *name;           /* lower case */
    const char *value;
};

struct conf_model_map {
    const char *from;           /* "*" maps any model not listed */
    const char *to;
};

/* One `- plugin: NAME` entry of a filter chain. */
struct conf_filter {
    struct conf_loc loc;
    const char *plugin;         /* a name (found on global.plugin_path) or a path */
    const struct conf_node *config; /* NULL when absent */
};

struct conf_filters {
    const struct conf_filter *items;
    size_t count;
};

struct conf_timeouts {
    uint64_t connect, header, client_idle, server;
};

struct conf_limits {
    uint64_t max_header_bytes, max_body_bytes;
};

/* Upstream keep-alive pool, per worker and server. */
struct conf_pool {
    uint32_t max_idle;          /* idle connections kept */
    uint64_t idle_timeout;      /* ms an idle connection is kept */
    uint32_t max_connections;   /* 0 = unlimited */
};

/* HTTP methods a route may name; bit (1u << CONF_M_x). */
enum conf_method {
    CONF_M_GET, CONF_M_HEAD, CONF_M_POST, CONF_M_PUT, CONF_M_DELETE,
    CONF_M_PATCH, CONF_M_OPTIONS, CONF_M_TRACE, CONF_M_CONNECT, CONF_M_COUNT
};
extern const char *const conf_method_names[CONF_M_COUNT];

struct conf_backend;

struct conf_route {
    struct conf_loc loc;
    const char *name;           /* `name:` or its index in the list ("0", "1"...) */
    const char *path_prefix;    /* NULL when not matched on */
    const char *path;           /* exact path, NULL when not matched on */
    uint32_t methods;           /* bit set of conf_method; 0 = any */
    const char *host;           /* lower case, port stripped; "*.x" suffix match */
    const struct conf_header *headers;  /* all must be present with this exact value */
    size_t header_count;
    const char *backend_name;
    struct conf_loc backend_loc;
    const struct conf_backend *backend;
    struct conf_filters filters;
    const struct chain *chain;  /* set by plugins_load (core/plugin): the filters a
                                 * request of this route passes, NULL when none */
};

struct conf_tls {
    const char *cert, *key;
    const char *const *alpn;    /* protocol ids in preference order */
    size_t alpn_count;
};

struct conf_frontend {
    struct conf_loc loc;
    const char *name;
    const struct conf_bind *binds;
    size_t bind_count;
    const struct conf_tls *tls; /* NULL: plain HTTP */
    struct conf_filters filters;
    const struct conf_route *routes;
    size_t route_count;
    struct conf_timeouts timeouts;  /* header and client_idle apply */
    struct conf_limits limits;
};

enum conf_balance {
    CONF_BALANCE_WRR, CONF_BALANCE_LEAST_CONN, CONF_BALANCE_RANDOM_TWO,
    CONF_BALANCE_LATENCY, CONF_BALANCE_HASH, CONF_BALANCE_COUNT
};
extern const char *const conf_balance_names[CONF_BALANCE_COUNT];

enum conf_hash_source { CONF_HASH_NONE, CONF_HASH_HEADER };

struct conf_hash_key {
    enum conf_hash_source source;
    const char *name;           /* header name, lower case */
};

struct conf_status_range {
    uint16_t lo, hi;
};

struct conf_health_check {
    const char *path;
    const char *method;
    uint64_t interval, timeout;
    uint32_t rise, fall;
    const struct conf_status_range *expect;  /* any of these; default 200-299 */
    size_t expect_count;
    const struct conf_header *headers;
    size_t header_count;
};

enum conf_server_state { CONF_STATE_READY, CONF_STATE_DRAIN, CONF_STATE_MAINT, CONF_STATE_COUNT };
extern const char *const conf_state_names[CONF_STATE_COUNT];

#define CONF_WEIGHT_MAX 256
#define CONF_PRIORITY_MAX 255

struct conf_server {
    struct conf_loc loc;
    const char *name;
    struct conf_url url;
    uint32_t weight;            /* 0..CONF_WEIGHT_MAX; 0 takes no balanced traffic */
    uint32_t priority;          /* 0 first; higher only while no lower is usable */
    const struct conf_header *headers;      /* set on every forwarded request */
    size_t header_count;
    const struct conf_model_map *model_map;
    size_t model_map_count;
    enum conf_server_state state;
};

struct conf_backend {
    struct conf_loc loc;
    const char *name;
    enum conf_balance balance;
    struct conf_hash_key hash_key;
    const struct conf_health_check *health_check;   /* NULL: no active checks */
    struct conf_pool pool;
    struct conf_timeouts timeouts;  /* connect and server apply */
    struct conf_filters filters;
    const struct conf_server *servers;
    size_t server_count;
};

enum conf_log_level { CONF_LOG_DEBUG, CONF_LOG_INFO, CONF_LOG_WARN, CONF_LOG_ERROR };
enum conf_log_format { CONF_LOG_JSON, CONF_LOG_TEXT };
enum conf_access_target { CONF_ACCESS_OFF, CONF_ACCESS_STDOUT, CONF_ACCESS_STDERR, CONF_ACCESS_FILE };

struct conf_global {
    uint32_t workers;           /* 0 = auto (one per CPU) */
    const char *const *plugin_path;
    size_t plugin_path_count;
    enum conf_log_level log_level;
    enum conf_access_target access;
    const char *access_file;    /* CONF_ACCESS_FILE */
    enum conf_log_format log_format;
    bool watch;
    uint64_t grace;
    uint32_t max_connections;   /* process-wide client connections; 0 = unlimited */
};

struct conf_admin {
    bool enabled;
    struct conf_bind bind;
    const char *token;          /* NULL or "" = POST endpoints open */
};

struct conf {
    atomic_uint refs;
    struct arena arena;
    const char *file;
    const struct conf_node *root;
    struct conf_global global;
    struct conf_admin admin;
    struct conf_timeouts timeouts;  /* defaults */
    struct conf_limits limits;
    struct conf_pool pool;
    const struct conf_frontend *frontends;
    size_t frontend_count;
    const struct conf_backend *backends;
    size_t backend_count;
    struct plugin_set *plugins; /* plugin instances (core/plugin), NULL when not loaded */
};

/* Reads and checks `path`. Returns a configuration holding one reference, or NULL
 * when the file has any error; every error and warning is added to `d`, sorted by
 * position. Binds nothing, starts nothing, reads the environment. */
struct conf *conf_load_file(const char *path, struct conf_diags *d);
/* The same for text in memory; `name` stands for the file name in locations. */
struct conf *conf_load_string(const char *name, const char *text, size_t len,
                              struct conf_diags *d);

/* The text of a file the configuration refers to (NUL-terminated, malloc'd), or NULL
 * with an error at `at`. Bounded by CONF_MAX_FILE_BYTES. */
char *conf_read_file(const char *path, const struct conf_loc *at, struct conf_diags *d,
                     size_t *len);

struct conf *conf_retain(struct conf *c);
/* Drops a reference; the last one frees everything. NULL is accepted. */
void conf_release(struct conf *c);

const struct conf_backend *conf_find_backend(const struct conf *c, const char *name);
/* The same for a name that is not NUL-terminated. */
const struct conf_backend *conf_find_backend_n(const struct conf *c, const char *name, size_t len);
const struct conf_frontend *conf_find_frontend(const struct conf *c, const char *name);

#endif
