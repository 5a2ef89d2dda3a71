/* schema_frontend.c - frontends: binds, TLS, filters and routes. */
#include "conf/schema.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf/scalar.h"

const char *const conf_method_names[CONF_M_COUNT] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
};

static void read_binds(struct walk *w, const struct conf_node *n, struct conf_frontend *fe)
{
    const struct conf_node *const *items;
    size_t count;
    if (!walk_list(w, n, "bind", true, &items, &count))
        return;
    if (count == 0) {
        conf_error(w->d, &n->loc, "'bind' needs at least one address");
        return;
    }
    struct conf_bind *b = arena_calloc(w->a, count, sizeof *b);
    for (size_t i = 0; i < count; i++) {
        b[i].loc = items[i]->loc;
        if (!walk_string(w, items[i], "bind", &b[i].text))
            continue;
        const char *err = conf_parse_bind(items[i]->str, items[i]->len, &b[i]);
        if (err)
            conf_error(w->d, &items[i]->loc, "bind '%s': %s", items[i]->raw, err);
    }
    fe->binds = b;
    fe->bind_count = count;
}

static void check_readable(struct walk *w, const struct conf_node *n, const char *what)
{
    if (access(n->str, R_OK) != 0)
        conf_error(w->d, &n->loc, "cannot read the %s file '%s': %s", what, n->raw, strerror(errno));
}

static void read_tls(struct walk *w, const struct conf_node *n, struct conf_frontend *fe)
{
    static const char *const keys[] = {"cert", "key", "alpn", NULL};
    static const char *const protos[] = {"h2", "http/1.1"};
    static const char *const default_alpn[] = {"h2", "http/1.1"};
    const struct conf_node *v;
    if (!walk_map(w, n, "tls", keys))
        return;
    struct conf_tls *t = arena_calloc(w->a, 1, sizeof *t);
    if ((v = walk_need(w, n, "cert", "tls")) && walk_string(w, v, "cert", &t->cert))
        check_readable(w, v, "certificate");
    if ((v = walk_need(w, n, "key", "tls")) && walk_string(w, v, "key", &t->key))
        check_readable(w, v, "key");
    t->alpn = default_alpn;
    t->alpn_count = 2;
    const struct conf_node *const *items;
    size_t count;
    if ((v = conf_node_get(n, "alpn")) && walk_list(w, v, "alpn", true, &items, &count)) {
        const char **alpn = arena_calloc(w->a, count, sizeof *alpn);
        for (size_t i = 0; i < count; i++) {
            int e;
            if (walk_enum(w, items[i], "alpn", protos, 2, &e))
                alpn[i] = protos[e];
        }
        if (count == 0)
            conf_error(w->d, &v->loc, "'alpn' needs at least one protocol");
        t->alpn = alpn;
        t->alpn_count = count;
    }
    fe->tls = t;
}

static void read_methods(struct walk *w, const struct conf_node *n, struct conf_route *r)
{
    const struct conf_node *const *items;
    size_t count;
    if (!walk_list(w, n, "methods", true, &items, &count))
        return;
    for (size_t i = 0; i < count; i++) {
        int e;
        if (walk_enum(w, items[i], "methods", conf_method_names, CONF_M_COUNT, &e))
            r->methods |= 1u << e;
    }
}

static void read_host(struct walk *w, const struct conf_node *n, struct conf_route *r)
{
    const char *host;
    if (!walk_string(w, n, "host", &host))
        return;
    char *h = arena_strdup(w->a, host);
    for (char *p = h; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    /* The Host header's port is not part of the match. */
    char *colon = h[0] != '[' ? strrchr(h, ':') : NULL;
    if (colon)
        *colon = '\0';
    r->host = h;
}

static void read_match(struct walk *w, const struct conf_node *n, struct conf_route *r)
{
    static const char *const keys[] = {"path_prefix", "path", "methods", "host", "headers", NULL};
    const struct conf_node *v;
    if (!walk_map(w, n, "match", keys))
        return;
    if ((v = conf_node_get(n, "path_prefix")) && walk_string(w, v, "path_prefix", &r->path_prefix) &&
        r->path_prefix[0] != '/')
        conf_error(w->d, &v->loc, "'path_prefix' must start with '/' (got '%s')", v->raw);
    if ((v = conf_node_get(n, "path")) && walk_string(w, v, "path", &r->path) && r->path[0] != '/')
        conf_error(w->d, &v->loc, "'path' must start with '/' (got '%s')", v->raw);
    if (r->path && r->path_prefix)
        conf_error(w->d, &n->loc, "a route matches either 'path' or 'path_prefix', not both");
    if ((v = conf_node_get(n, "methods")))
        read_methods(w, v, r);
    if ((v = conf_node_get(n, "host")))
        read_host(w, v, r);
    if ((v = conf_node_get(n, "headers")))
        walk_headers(w, v, "headers", &r->headers, &r->header_count);
}

static void read_route(struct walk *w, const struct conf_node *n, size_t index, struct conf_route *r)
{
    static const char *const keys[] = {"name", "match", "backend", "filters", NULL};
    const struct conf_node *v;
    r->loc = n->loc;
    if (!walk_map(w, n, "a route", keys))
        return;
    if ((v = conf_node_get(n, "name")))
        walk_name(w, v, "name", &r->name);
    if (!r->name) {
        char buf[24];
        snprintf(buf, sizeof buf, "%zu", index);
        r->name = arena_strdup(w->a, buf);
    }
    if ((v = conf_node_get(n, "match")) && !(v->kind == CONF_NODE_SCALAR && v->is_null))
        read_match(w, v, r);
    if ((v = walk_need(w, n, "backend", "a route"))) {
        r->backend_loc = v->loc;
        walk_name(w, v, "backend", &r->backend_name);
    }
    if ((v = conf_node_get(n, "filters")))
        schema_filters(w, v, &r->filters);
}

static void read_frontend(struct walk *w, const struct conf_node *n, struct conf_frontend *fe)
{
    static const char *const keys[] = {"name", "bind", "tls", "filters", "routes", "timeouts",
                                       "limits", NULL};
    static const char *const tkeys[] = {"header", "client_idle", NULL};
    const struct conf_node *v;
    fe->loc = n->loc;
    fe->timeouts = w->c->timeouts;
    fe->limits = w->c->limits;
    if (!walk_map(w, n, "a frontend", keys))
        return;
    if ((v = walk_need(w, n, "name", "a frontend")))
        walk_name(w, v, "name", &fe->name);
    if ((v = walk_need(w, n, "bind", "a frontend")))
        read_binds(w, v, fe);
    if ((v = conf_node_get(n, "tls")))
        read_tls(w, v, fe);
    if ((v = conf_node_get(n, "filters")))
        schema_filters(w, v, &fe->filters);
    if ((v = conf_node_get(n, "timeouts")))
        schema_timeouts(w, v, "frontend timeouts", tkeys, &fe->timeouts);
    if ((v = conf_node_get(n, "limits")))
        schema_limits(w, v, &fe->limits);
    const struct conf_node *const *items;
    size_t count;
    if ((v = walk_need(w, n, "routes", "a frontend")) && walk_list(w, v, "routes", false, &items, &count)) {
        if (count == 0)
            conf_error(w->d, &v->loc, "a frontend needs at least one route");
        struct conf_route *r = arena_calloc(w->a, count, sizeof *r);
        for (size_t i = 0; i < count; i++)
            read_route(w, items[i], i, &r[i]);
        fe->routes = r;
        fe->route_count = count;
    }
}

void schema_frontends(struct walk *w, const struct conf_node *n)
{
    const struct conf_node *const *items;
    size_t count;
    if (!walk_list(w, n, "frontends", false, &items, &count))
        return;
    struct conf_frontend *fe = arena_calloc(w->a, count, sizeof *fe);
    for (size_t i = 0; i < count; i++)
        read_frontend(w, items[i], &fe[i]);
    w->c->frontends = fe;
    w->c->frontend_count = count;
}
