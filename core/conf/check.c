/* check.c - cross-checks between sections, after each was read on its own.
 * Entities with errors of their own may have NULL fields here; they are skipped. */
#include "conf/schema.h"

#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

/* Reports the second of two entities with the same name. */
static void unique_names(struct walk *w, const char *what, const void *base, size_t count,
                         size_t stride, size_t name_off, size_t loc_off)
{
    const char *p = base;
    for (size_t i = 0; i < count; i++) {
        const char *ni = *(const char *const *)(const void *)(p + i * stride + name_off);
        if (!ni)
            continue;
        for (size_t j = 0; j < i; j++) {
            const char *nj = *(const char *const *)(const void *)(p + j * stride + name_off);
            if (nj && !strcmp(ni, nj)) {
                const struct conf_loc *li = (const void *)(p + i * stride + loc_off);
                const struct conf_loc *lj = (const void *)(p + j * stride + loc_off);
                conf_error(w->d, li, "duplicate %s name '%s' (first defined at line %u)", what, ni,
                           lj->line);
                break;
            }
        }
    }
}

#define UNIQUE(w, what, arr, count, type)                                              \
    unique_names(w, what, arr, count, sizeof(type), offsetof(type, name), offsetof(type, loc))

static void resolve_routes(struct walk *w)
{
    struct conf *c = w->c;
    const char **names = arena_calloc(w->a, c->backend_count, sizeof *names);
    for (size_t i = 0; i < c->backend_count; i++)
        names[i] = c->backends[i].name ? c->backends[i].name : "";
    for (size_t f = 0; f < c->frontend_count; f++) {
        const struct conf_frontend *fe = &c->frontends[f];
        UNIQUE(w, "route", fe->routes, fe->route_count, struct conf_route);
        for (size_t r = 0; r < fe->route_count; r++) {
            struct conf_route *route = (struct conf_route *)&fe->routes[r];
            if (!route->backend_name)
                continue;
            route->backend = conf_find_backend(c, route->backend_name);
            if (route->backend)
                continue;
            const char *hint = walk_suggest(route->backend_name, names, c->backend_count);
            conf_error(w->d, &route->backend_loc, "backend '%s' is not defined%s%s%s",
                       route->backend_name, hint ? "; did you mean '" : "", hint ? hint : "",
                       hint ? "'?" : "");
        }
    }
}

static void check_backends(struct walk *w)
{
    const struct conf *c = w->c;
    UNIQUE(w, "backend", c->backends, c->backend_count, struct conf_backend);
    for (size_t b = 0; b < c->backend_count; b++) {
        const struct conf_backend *be = &c->backends[b];
        UNIQUE(w, "server", be->servers, be->server_count, struct conf_server);
        if (be->balance == CONF_BALANCE_HASH && be->hash_key.source == CONF_HASH_NONE)
            conf_error(w->d, &be->loc, "backend '%s' uses balance: hash but sets no hash_key "
                       "(for example hash_key: header:x-user-id)", be->name ? be->name : "?");
        if (be->balance != CONF_BALANCE_HASH && be->hash_key.source != CONF_HASH_NONE)
            conf_warn(w->d, &be->loc, "backend '%s' sets hash_key, which only balance: hash uses",
                      be->name ? be->name : "?");
    }
}

static int any_addr(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr == htonl(INADDR_ANY);
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)(const void *)a;
    return !memcmp(&a6->sin6_addr, &in6addr_any, sizeof in6addr_any);
}

static uint16_t port_of(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)(const void *)a)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)(const void *)a)->sin6_port);
}

/* Two binds clash when one socket could not be bound beside the other. */
static int binds_clash(const struct conf_bind *x, const struct conf_bind *y)
{
    if (!x->text || !y->text || x->addr.ss_family != y->addr.ss_family ||
        port_of(&x->addr) != port_of(&y->addr))
        return 0;
    return any_addr(&x->addr) || any_addr(&y->addr) || !memcmp(&x->addr, &y->addr, x->addr_len);
}

struct bind_ref {
    const struct conf_bind *bind;
    const char *owner;
};

static void check_binds(struct walk *w)
{
    const struct conf *c = w->c;
    size_t total = c->admin.enabled ? 1 : 0;
    for (size_t f = 0; f < c->frontend_count; f++)
        total += c->frontends[f].bind_count;
    struct bind_ref *refs = arena_calloc(w->a, total, sizeof *refs);
    size_t n = 0;
    for (size_t f = 0; f < c->frontend_count; f++)
        for (size_t i = 0; i < c->frontends[f].bind_count; i++)
            refs[n++] = (struct bind_ref){&c->frontends[f].binds[i],
                                          c->frontends[f].name ? c->frontends[f].name : "?"};
    if (c->admin.enabled)
        refs[n++] = (struct bind_ref){&c->admin.bind, "admin"};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (binds_clash(refs[i].bind, refs[j].bind)) {
                conf_error(w->d, &refs[i].bind->loc, "bind '%s' clashes with '%s' of %s%s (line %u)",
                           refs[i].bind->text, refs[j].bind->text,
                           strcmp(refs[j].owner, "admin") ? "frontend " : "", refs[j].owner,
                           refs[j].bind->loc.line);
                break;
            }
}

void conf_check(struct walk *w)
{
    UNIQUE(w, "frontend", w->c->frontends, w->c->frontend_count, struct conf_frontend);
    check_backends(w);
    resolve_routes(w);
    check_binds(w);
}
