/* schema_backend.c - backends: balancing, health checks, pools and servers. */
#include "conf/schema.h"

#include <ctype.h>
#include <string.h>

#include "conf/scalar.h"

const char *const conf_balance_names[CONF_BALANCE_COUNT] = {
    "weighted_round_robin", "least_conn", "random_two", "latency", "hash",
};
const char *const conf_state_names[CONF_STATE_COUNT] = {"ready", "drain", "maint"};

static void read_hash_key(struct walk *w, const struct conf_node *n, struct conf_backend *be)
{
    const char *s;
    if (!walk_string(w, n, "hash_key", &s))
        return;
    if (strncmp(s, "header:", 7) != 0 || conf_check_header_name(s + 7, strlen(s + 7))) {
        conf_error(w->d, &n->loc, "'hash_key' must be header:NAME (got '%s')", n->raw);
        return;
    }
    char *name = arena_strdup(w->a, s + 7);
    for (char *p = name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    be->hash_key.source = CONF_HASH_HEADER;
    be->hash_key.name = name;
}

/* One expect_status item: 200, "2xx" or "200-299". */
static bool read_status(struct walk *w, const struct conf_node *n, struct conf_status_range *r)
{
    uint64_t lo, hi;
    if (n->kind == CONF_NODE_SCALAR && !n->is_null) {
        const char *s = n->str;
        const char *dash = memchr(s, '-', n->len);
        if (n->len == 3 && s[0] >= '1' && s[0] <= '5' && (s[1] == 'x' || s[1] == 'X') &&
            (s[2] == 'x' || s[2] == 'X')) {
            r->lo = (uint16_t)((s[0] - '0') * 100);
            r->hi = (uint16_t)(r->lo + 99);
            return true;
        }
        if (dash && !conf_parse_uint(s, (size_t)(dash - s), 100, 599, &lo) &&
            !conf_parse_uint(dash + 1, n->len - (size_t)(dash - s) - 1, 100, 599, &hi) && lo <= hi) {
            r->lo = (uint16_t)lo;
            r->hi = (uint16_t)hi;
            return true;
        }
        if (!conf_parse_uint(s, n->len, 100, 599, &lo)) {
            r->lo = r->hi = (uint16_t)lo;
            return true;
        }
    }
    conf_error(w->d, &n->loc, "'expect_status' items must be a status (200), a class (2xx) or a range "
                              "(200-399) within 100-599 (got '%s')", n->kind == CONF_NODE_SCALAR ? n->raw : "?");
    return false;
}

static void read_health_check(struct walk *w, const struct conf_node *n, struct conf_backend *be)
{
    static const char *const keys[] = {"path", "method", "interval", "timeout", "rise", "fall",
                                       "expect_status", "headers", NULL};
    static const struct conf_status_range any_2xx = {200, 299};
    const struct conf_node *v;
    if (!walk_map(w, n, "health_check", keys))
        return;
    struct conf_health_check *hc = arena_calloc(w->a, 1, sizeof *hc);
    hc->path = "/";
    hc->method = "GET";
    hc->interval = 5000;
    hc->timeout = 2000;
    hc->rise = 2;
    hc->fall = 3;
    hc->expect = &any_2xx;
    hc->expect_count = 1;
    if ((v = conf_node_get(n, "path")) && walk_string(w, v, "path", &hc->path) && hc->path[0] != '/')
        conf_error(w->d, &v->loc, "health_check 'path' must start with '/' (got '%s')", v->raw);
    int e;
    if ((v = conf_node_get(n, "method")) && walk_enum(w, v, "method", conf_method_names, CONF_M_COUNT, &e))
        hc->method = conf_method_names[e];
    if ((v = conf_node_get(n, "interval")) && walk_duration(w, v, "interval", &hc->interval) &&
        hc->interval < 100)
        conf_error(w->d, &v->loc, "health_check 'interval' must be at least 100ms");
    if ((v = conf_node_get(n, "timeout")) && walk_duration(w, v, "timeout", &hc->timeout) && hc->timeout == 0)
        conf_error(w->d, &v->loc, "health_check 'timeout' must be more than 0");
    if ((v = conf_node_get(n, "rise")))
        walk_u32(w, v, "rise", 1, 1000, &hc->rise);
    if ((v = conf_node_get(n, "fall")))
        walk_u32(w, v, "fall", 1, 1000, &hc->fall);
    if ((v = conf_node_get(n, "headers")))
        walk_headers(w, v, "headers", &hc->headers, &hc->header_count);
    const struct conf_node *const *items;
    size_t count;
    if ((v = conf_node_get(n, "expect_status")) && walk_list(w, v, "expect_status", true, &items, &count) &&
        count > 0) {
        struct conf_status_range *r = arena_calloc(w->a, count, sizeof *r);
        for (size_t i = 0; i < count; i++)
            read_status(w, items[i], &r[i]);
        hc->expect = r;
        hc->expect_count = count;
    }
    be->health_check = hc;
}

static void read_model_map(struct walk *w, const struct conf_node *n, struct conf_server *s)
{
    if (n->kind == CONF_NODE_SCALAR && n->is_null)
        return;
    if (n->kind != CONF_NODE_MAP) {
        conf_error(w->d, &n->loc, "'model_map' must be a mapping of model names to model names");
        return;
    }
    struct conf_model_map *m = arena_calloc(w->a, n->count, sizeof *m);
    for (size_t i = 0; i < n->count; i++) {
        m[i].from = n->pairs[i].key->str;
        walk_string(w, n->pairs[i].value, m[i].from, &m[i].to);
    }
    s->model_map = m;
    s->model_map_count = n->count;
}

static void read_server(struct walk *w, const struct conf_node *n, struct conf_server *s)
{
    static const char *const keys[] = {"name", "url", "weight", "priority", "headers", "model_map",
                                       "state", NULL};
    const struct conf_node *v;
    s->loc = n->loc;
    s->weight = 1;
    if (!walk_map(w, n, "a server", keys))
        return;
    if ((v = walk_need(w, n, "name", "a server")))
        walk_name(w, v, "name", &s->name);
    const char *url;
    if ((v = walk_need(w, n, "url", "a server")) && walk_string(w, v, "url", &url)) {
        const char *err = conf_parse_url(w->a, v->str, v->len, &s->url);
        if (err)
            conf_error(w->d, &v->loc, "bad url '%s': %s", v->raw, err);
    }
    if ((v = conf_node_get(n, "weight")))
        walk_u32(w, v, "weight", 0, CONF_WEIGHT_MAX, &s->weight);
    if ((v = conf_node_get(n, "priority")))
        walk_u32(w, v, "priority", 0, CONF_PRIORITY_MAX, &s->priority);
    if ((v = conf_node_get(n, "headers")))
        walk_headers(w, v, "headers", &s->headers, &s->header_count);
    if ((v = conf_node_get(n, "model_map")))
        read_model_map(w, v, s);
    int e;
    if ((v = conf_node_get(n, "state")) && walk_enum(w, v, "state", conf_state_names, CONF_STATE_COUNT, &e))
        s->state = (enum conf_server_state)e;
}

static void read_backend(struct walk *w, const struct conf_node *n, struct conf_backend *be)
{
    static const char *const keys[] = {"name", "balance", "hash_key", "health_check", "pool",
                                       "timeouts", "filters", "servers", NULL};
    static const char *const tkeys[] = {"connect", "server", NULL};
    const struct conf_node *v;
    be->loc = n->loc;
    be->timeouts = w->c->timeouts;
    be->pool = w->c->pool;
    if (!walk_map(w, n, "a backend", keys))
        return;
    if ((v = walk_need(w, n, "name", "a backend")))
        walk_name(w, v, "name", &be->name);
    int e;
    if ((v = conf_node_get(n, "balance")) &&
        walk_enum(w, v, "balance", conf_balance_names, CONF_BALANCE_COUNT, &e))
        be->balance = (enum conf_balance)e;
    if ((v = conf_node_get(n, "hash_key")))
        read_hash_key(w, v, be);
    if ((v = conf_node_get(n, "health_check")))
        read_health_check(w, v, be);
    if ((v = conf_node_get(n, "pool")))
        schema_pool(w, v, &be->pool);
    if ((v = conf_node_get(n, "timeouts")))
        schema_timeouts(w, v, "backend timeouts", tkeys, &be->timeouts);
    if ((v = conf_node_get(n, "filters")))
        schema_filters(w, v, &be->filters);
    const struct conf_node *const *items;
    size_t count;
    if ((v = walk_need(w, n, "servers", "a backend")) && walk_list(w, v, "servers", false, &items, &count)) {
        if (count == 0)
            conf_error(w->d, &v->loc, "a backend needs at least one server");
        struct conf_server *s = arena_calloc(w->a, count, sizeof *s);
        for (size_t i = 0; i < count; i++)
            read_server(w, items[i], &s[i]);
        be->servers = s;
        be->server_count = count;
    }
}

void schema_backends(struct walk *w, const struct conf_node *n)
{
    const struct conf_node *const *items;
    size_t count;
    if (!walk_list(w, n, "backends", false, &items, &count))
        return;
    struct conf_backend *be = arena_calloc(w->a, count, sizeof *be);
    for (size_t i = 0; i < count; i++)
        read_backend(w, items[i], &be[i]);
    w->c->backends = be;
    w->c->backend_count = count;
}
