/* schema_top.c - global, admin, defaults and the readers sections share. */
#include "conf/schema.h"

#include <string.h>

#include "conf/scalar.h"

static const char *const log_levels[] = {"debug", "info", "warn", "error"};
static const char *const log_formats[] = {"json", "text"};

static void schema_log(struct walk *w, const struct conf_node *n, struct conf_global *g)
{
    static const char *const keys[] = {"level", "access", "format", NULL};
    const struct conf_node *v;
    int e;
    if (!walk_map(w, n, "global.log", keys))
        return;
    if ((v = conf_node_get(n, "level")) && walk_enum(w, v, "level", log_levels, 4, &e))
        g->log_level = (enum conf_log_level)e;
    if ((v = conf_node_get(n, "format")) && walk_enum(w, v, "format", log_formats, 2, &e))
        g->log_format = (enum conf_log_format)e;
    const char *access;
    if ((v = conf_node_get(n, "access")) && walk_string(w, v, "access", &access)) {
        if (!strcmp(access, "off"))
            g->access = CONF_ACCESS_OFF;
        else if (!strcmp(access, "stdout"))
            g->access = CONF_ACCESS_STDOUT;
        else if (!strcmp(access, "stderr"))
            g->access = CONF_ACCESS_STDERR;
        else {
            g->access = CONF_ACCESS_FILE;
            g->access_file = access;
        }
    }
}

void schema_global(struct walk *w, const struct conf_node *n)
{
    static const char *const keys[] = {"workers", "plugin_path", "log", "watch", "grace",
                                       "max_connections", NULL};
    struct conf_global *g = &w->c->global;
    const struct conf_node *v;
    if (!walk_map(w, n, "global", keys))
        return;
    if ((v = conf_node_get(n, "workers")) && !conf_node_is(v, "auto")) {
        uint64_t workers;
        if (v->kind != CONF_NODE_SCALAR || conf_parse_uint(v->str, v->len, 1, 1024, &workers))
            conf_error(w->d, &v->loc, "'workers' must be auto or a number from 1 to 1024 (got '%s')",
                       v->kind == CONF_NODE_SCALAR ? v->raw : "not a scalar");
        else
            g->workers = (uint32_t)workers;
    }
    if ((v = conf_node_get(n, "plugin_path"))) {
        const struct conf_node *const *items;
        size_t count;
        if (walk_list(w, v, "plugin_path", true, &items, &count)) {
            const char **dirs = arena_calloc(w->a, count, sizeof *dirs);
            for (size_t i = 0; i < count; i++)
                walk_string(w, items[i], "plugin_path", &dirs[i]);
            g->plugin_path = dirs;
            g->plugin_path_count = count;
        }
    }
    if ((v = conf_node_get(n, "log")))
        schema_log(w, v, g);
    if ((v = conf_node_get(n, "watch")))
        walk_bool(w, v, "watch", &g->watch);
    if ((v = conf_node_get(n, "grace")))
        walk_duration(w, v, "grace", &g->grace);
    if ((v = conf_node_get(n, "max_connections")))
        walk_u32(w, v, "max_connections", 0, 10000000, &g->max_connections);
}

void schema_admin(struct walk *w, const struct conf_node *n)
{
    static const char *const keys[] = {"bind", "token", NULL};
    struct conf_admin *ad = &w->c->admin;
    const struct conf_node *v;
    if (!walk_map(w, n, "admin", keys))
        return;
    if ((v = walk_need(w, n, "bind", "admin")) && walk_string(w, v, "bind", &ad->bind.text)) {
        const char *err = conf_parse_bind(v->str, v->len, &ad->bind);
        if (err)
            conf_error(w->d, &v->loc, "admin bind '%s': %s", v->raw, err);
        ad->bind.loc = v->loc;
        ad->enabled = !err;
    }
    if ((v = conf_node_get(n, "token")) && walk_string_any(w, v, "token", &ad->token) && !*ad->token)
        ad->token = NULL;
}

void schema_timeouts(struct walk *w, const struct conf_node *n, const char *what,
                     const char *const *keys, struct conf_timeouts *t)
{
    const struct conf_node *v;
    if (!walk_map(w, n, what, keys))
        return;
    if ((v = conf_node_get(n, "connect")))
        walk_duration(w, v, "connect", &t->connect);
    if ((v = conf_node_get(n, "header")))
        walk_duration(w, v, "header", &t->header);
    if ((v = conf_node_get(n, "client_idle")))
        walk_duration(w, v, "client_idle", &t->client_idle);
    if ((v = conf_node_get(n, "server")))
        walk_duration(w, v, "server", &t->server);
}

void schema_limits(struct walk *w, const struct conf_node *n, struct conf_limits *l)
{
    static const char *const keys[] = {"max_header_bytes", "max_body_bytes", NULL};
    const struct conf_node *v;
    if (!walk_map(w, n, "limits", keys))
        return;
    uint64_t hb;
    if ((v = conf_node_get(n, "max_header_bytes")) && walk_size(w, v, "max_header_bytes", &hb)) {
        if (hb < 1024 || hb > 1024 * 1024)
            conf_error(w->d, &v->loc, "'max_header_bytes' must be from 1KiB to 1MiB (got '%s')", v->raw);
        else
            l->max_header_bytes = hb;
    }
    if ((v = conf_node_get(n, "max_body_bytes")))
        walk_size(w, v, "max_body_bytes", &l->max_body_bytes);
}

void schema_pool(struct walk *w, const struct conf_node *n, struct conf_pool *p)
{
    static const char *const keys[] = {"max_idle", "idle_timeout", "max_connections", NULL};
    const struct conf_node *v;
    if (!walk_map(w, n, "pool", keys))
        return;
    if ((v = conf_node_get(n, "max_idle")))
        walk_u32(w, v, "max_idle", 0, 100000, &p->max_idle);
    if ((v = conf_node_get(n, "idle_timeout")))
        walk_duration(w, v, "idle_timeout", &p->idle_timeout);
    if ((v = conf_node_get(n, "max_connections")))
        walk_u32(w, v, "max_connections", 0, 1000000, &p->max_connections);
}

void schema_filters(struct walk *w, const struct conf_node *n, struct conf_filters *out)
{
    static const char *const keys[] = {"plugin", "config", NULL};
    const struct conf_node *const *items;
    size_t count;
    if (!walk_list(w, n, "filters", false, &items, &count))
        return;
    struct conf_filter *f = arena_calloc(w->a, count, sizeof *f);
    for (size_t i = 0; i < count; i++) {
        const struct conf_node *v;
        f[i].loc = items[i]->loc;
        if (!walk_map(w, items[i], "a filter", keys))
            continue;
        if ((v = walk_need(w, items[i], "plugin", "a filter")))
            walk_string(w, v, "plugin", &f[i].plugin);
        v = conf_node_get(items[i], "config");
        f[i].config = v && !(v->kind == CONF_NODE_SCALAR && v->is_null) ? v : NULL;
    }
    out->items = f;
    out->count = count;
}

void schema_defaults(struct walk *w, const struct conf_node *n)
{
    static const char *const keys[] = {"timeouts", "limits", "pool", NULL};
    static const char *const tkeys[] = {"connect", "header", "client_idle", "server", NULL};
    const struct conf_node *v;
    if (!walk_map(w, n, "defaults", keys))
        return;
    if ((v = conf_node_get(n, "timeouts")))
        schema_timeouts(w, v, "defaults.timeouts", tkeys, &w->c->timeouts);
    if ((v = conf_node_get(n, "limits")))
        schema_limits(w, v, &w->c->limits);
    if ((v = conf_node_get(n, "pool")))
        schema_pool(w, v, &w->c->pool);
}
