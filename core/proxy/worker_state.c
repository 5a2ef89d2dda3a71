/* worker_state.c - a worker's proxy state: balancers, pools, access log buffer. */
#include "proxy/chain.h"
#include "proxy/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

static void flush_all(struct ev_loop *loop, struct proxy_worker *px)
{
    if (px->resumes)
        chain_run_resumes(px); /* filters' resume() calls, outside their stacks */
    upstream_flush_pending(px);
    client_flush_pending(px);
    if (!px->flush_clients && !px->flush_upstreams && !px->resumes)
        ev_idle_stop(loop, &px->kick);
}

static void on_prepare(struct ev_loop *loop, ev_prepare *p, int revents)
{
    (void)revents;
    struct proxy_worker *px = p->data;
    flush_all(loop, px);
    if (px->access.len)
        access_buf_flush(&px->access);
}

/* Output queued after this iteration's flush (by callbacks the flush itself set off)
 * keeps the loop from blocking, and is written here or at the next prepare. */
static void on_kick(struct ev_loop *loop, ev_idle *i, int revents)
{
    (void)revents;
    flush_all(loop, i->data);
}

void proxy_flush_soon(struct worker *w)
{
    if (!ev_is_active(&w->px->kick))
        ev_idle_start(w->loop, &w->px->kick);
}

void proxy_worker_init(struct worker *w)
{
    struct proxy_worker *px = xcalloc(1, sizeof *px);
    struct runtime *rt = w->rt;
    w->px = px;
    px->backends = xcalloc(rt->backend_count, sizeof *px->backends);
    for (uint32_t b = 0; b < rt->backend_count; b++) {
        struct backend_rt *be = &rt->backends[b];
        struct wbackend *wb = &px->backends[b];
        wb->bs = xcalloc(be->count, sizeof *wb->bs);
        wb->pools = xcalloc(be->count, sizeof *wb->pools);
        wb->usable = xcalloc(BALANCE_WORDS(be->count), sizeof *wb->usable);
        for (uint32_t i = 0; i < be->count; i++) {
            const struct conf_server *s = be->servers[i].conf;
            wb->bs[i].weight = s->weight;
            wb->bs[i].priority = s->priority;
            wb->bs[i].name_hash = balance_name_hash(s->name, strlen(s->name));
        }
        balance_init(&wb->bal, be->conf->balance, wb->bs, be->count, w->rng + b);
    }
    access_buf_init(&px->access, &w->shared->access);
    px->resumes_tail = &px->resumes;
    px_post_init(w);
    ev_prepare_init(&px->flush, on_prepare);
    px->flush.data = px;
    ev_prepare_start(w->loop, &px->flush);
    ev_idle_init(&px->kick, on_kick);
    px->kick.data = px;
    /* Request ids: a per-process random part, the worker, and a counter. */
    snprintf(px->id_prefix, sizeof px->id_prefix, "%08x%02x", (unsigned)(w->shared->id_seed & 0xffffffffu),
             w->id & 0xffu);
}

void proxy_worker_free(struct worker *w)
{
    struct proxy_worker *px = w->px;
    if (!px)
        return;
    proxy_close_all(w);
    plugins_worker_stop(w->rt->conf, w); /* may still cancel its timers */
    px_post_free(w);
    while (px->free_exts) {
        struct txn_ext *x = px->free_exts;
        px->free_exts = x->resume_next;
        chain_ext_destroy(x);
    }
    free(px->refs);
    name_cache_free(px);
    for (uint32_t b = 0; b < w->rt->backend_count; b++) {
        struct wbackend *wb = &px->backends[b];
        for (uint32_t i = 0; i < w->rt->backends[b].count; i++)
            upstream_pool_free(w, &wb->pools[i]);
        free(wb->bs);
        free(wb->pools);
        free(wb->usable);
    }
    free(px->backends);
    txn_cache_free(px);
    tokens_cache_free(px);
    ev_prepare_stop(w->loop, &px->flush);
    ev_idle_stop(w->loop, &px->kick);
    access_buf_free(&px->access);
    free(px);
    w->px = NULL;
}
