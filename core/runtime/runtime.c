/* runtime.c - building and releasing a runtime generation. */
#include "runtime/runtime.h"

#include <pthread.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *must(void *p)
{
    if (!p) {
        fputs("sluice: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    return must(calloc(n ? n : 1, size));
}

/* Resolves a server's host once, when the runtime is built (off the request path). */
static bool resolve(struct server_rt *s, struct conf_diags *d)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    char port[8];
    snprintf(port, sizeof port, "%u", s->conf->url.port);
    int err = getaddrinfo(s->conf->url.host, port, &hints, &res);
    if (err != 0 || !res) {
        conf_error(d, &s->conf->loc, "server '%s': cannot resolve '%s': %s", s->conf->name,
                   s->conf->url.host, gai_strerror(err));
        return false;
    }
    memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
    s->addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

struct runtime *runtime_create(struct conf *c, uint32_t workers, struct conf_diags *d)
{
    struct runtime *rt = xcalloc(1, sizeof *rt);
    atomic_init(&rt->refs, 1);
    rt->conf = c;
    rt->workers = workers;
    rt->frontend_count = (uint32_t)c->frontend_count;
    rt->frontends = xcalloc(c->frontend_count, sizeof *rt->frontends);
    for (uint32_t i = 0; i < rt->frontend_count; i++) {
        rt->frontends[i].conf = &c->frontends[i];
        rt->frontends[i].index = i;
        rt->frontends[i].stats = xcalloc(workers, sizeof(struct stats_counters));
    }
    rt->backend_count = (uint32_t)c->backend_count;
    rt->backends = xcalloc(c->backend_count, sizeof *rt->backends);
    bool ok = true;
    rt->endpoint_count = 1;
    for (uint32_t b = 0; b < rt->backend_count; b++) {
        struct backend_rt *be = &rt->backends[b];
        be->conf = &c->backends[b];
        be->index = b;
        be->count = (uint32_t)be->conf->server_count;
        be->servers = xcalloc(be->count, sizeof *be->servers);
        be->stats = xcalloc(workers, sizeof(struct stats_counters));
        rt->endpoint_count += 1 + be->count;
        for (uint32_t i = 0; i < be->count; i++) {
            struct server_rt *s = &be->servers[i];
            s->conf = &be->conf->servers[i];
            s->backend = be;
            s->index = i;
            atomic_init(&s->state, (uint32_t)s->conf->state);
            atomic_init(&s->up, 1);
            s->stats = xcalloc(workers, sizeof(struct stats_counters));
            s->tokens = must(stats_tokens_create(workers));
            ok = resolve(s, d) && ok;
        }
    }
    rt->global = xcalloc(workers, sizeof *rt->global);
    rt->requests = xcalloc((size_t)workers * rt->frontend_count * rt->endpoint_count * STATS_CLASSES,
                           sizeof(stat_t));
    if (!ok) {
        rt->conf = NULL; /* the caller keeps its reference on failure */
        runtime_release(rt);
        return NULL;
    }
    return rt;
}

static struct runtime *current;
static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;

struct runtime *runtime_current(void)
{
    pthread_mutex_lock(&current_lock);
    struct runtime *rt = current ? runtime_retain(current) : NULL;
    pthread_mutex_unlock(&current_lock);
    return rt;
}

/* Holds no reference of its own: the owner clears it before releasing rt. */
void runtime_set_current(struct runtime *rt)
{
    pthread_mutex_lock(&current_lock);
    current = rt;
    pthread_mutex_unlock(&current_lock);
}

struct runtime *runtime_retain(struct runtime *rt)
{
    atomic_fetch_add_explicit(&rt->refs, 1, memory_order_relaxed);
    return rt;
}

void runtime_release(struct runtime *rt)
{
    if (!rt || atomic_fetch_sub_explicit(&rt->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (uint32_t i = 0; i < rt->frontend_count; i++)
        free(rt->frontends[i].stats);
    for (uint32_t b = 0; b < rt->backend_count; b++) {
        for (uint32_t i = 0; i < rt->backends[b].count; i++) {
            free(rt->backends[b].servers[i].stats);
            stats_tokens_free(rt->backends[b].servers[i].tokens);
        }
        free(rt->backends[b].servers);
        free(rt->backends[b].stats);
    }
    free(rt->frontends);
    free(rt->backends);
    free(rt->global);
    free(rt->requests);
    conf_release(rt->conf);
    free(rt);
}

struct backend_rt *runtime_backend(const struct runtime *rt, const struct conf_backend *b)
{
    size_t i = (size_t)(b - rt->conf->backends);
    return i < rt->backend_count ? &rt->backends[i] : NULL;
}

struct server_rt *runtime_find_server(const struct runtime *rt, const char *backend, const char *server)
{
    for (uint32_t b = 0; b < rt->backend_count; b++) {
        if (strcmp(rt->backends[b].conf->name, backend) != 0)
            continue;
        for (uint32_t i = 0; i < rt->backends[b].count; i++)
            if (!strcmp(rt->backends[b].servers[i].conf->name, server))
                return &rt->backends[b].servers[i];
    }
    return NULL;
}

uint32_t runtime_endpoint(const struct runtime *rt, const struct backend_rt *b,
                          const struct server_rt *s)
{
    if (!b)
        return 0;
    uint32_t e = 1;
    for (uint32_t i = 0; i < b->index; i++)
        e += 1 + rt->backends[i].count;
    return s ? e + 1 + s->index : e;
}
