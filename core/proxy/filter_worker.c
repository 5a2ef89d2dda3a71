/* filter_worker.c - the worker-side host functions: timers, post() from other
 * threads, process facts (workers, clocks, log) and the counters plugins feed.
 */
#include "proxy/chain.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- timers ---- */

static void unlink_timer(struct ptimer *pt)
{
    struct ptimer **head = pt->owner ? &pt->owner->timers : &pt->w->px->timers;
    if (pt->prev)
        pt->prev->next = pt->next;
    else if (*head == pt)
        *head = pt->next;
    if (pt->next)
        pt->next->prev = pt->prev;
    pt->prev = pt->next = NULL;
}

static void timer_fired(struct ev_loop *loop, ev_timer *ev, int revents)
{
    (void)loop;
    (void)revents;
    struct ptimer *pt = ev->data;
    unlink_timer(pt);
    sl_callback cb = pt->cb;
    void *arg = pt->arg;
    free(pt); /* the handle is gone once the callback runs */
    cb(arg);
}

static struct ptimer *timer_new(struct worker *w, struct txn_ext *owner, uint64_t ms, sl_callback cb, void *arg)
{
    if (!cb)
        return NULL;
    struct ptimer *pt = calloc(1, sizeof *pt);
    if (!pt)
        return NULL;
    pt->w = w;
    pt->cb = cb;
    pt->arg = arg;
    pt->owner = owner;
    struct ptimer **head = owner ? &owner->timers : &w->px->timers;
    pt->next = *head;
    if (pt->next)
        pt->next->prev = pt;
    *head = pt;
    ev_timer_init(&pt->ev, timer_fired, (ev_tstamp)ms / 1000.0, 0.);
    pt->ev.data = pt;
    ev_timer_start(w->loop, &pt->ev);
    return pt;
}

static sl_timer *h_timer_start(sl_worker *w, uint64_t delay_ms, sl_callback cb, void *arg)
{
    return (sl_timer *)timer_new((struct worker *)w, NULL, delay_ms, cb, arg);
}

static sl_timer *h_txn_timer_start(sl_txn *tx, uint64_t delay_ms, sl_callback cb, void *arg)
{
    struct txn *t = (struct txn *)tx;
    if (!t->x || t->x->ended)
        return NULL;
    return (sl_timer *)timer_new(t->c->w, t->x, delay_ms, cb, arg);
}

static void h_timer_cancel(sl_timer *timer)
{
    struct ptimer *pt = (struct ptimer *)timer;
    if (!pt)
        return;
    ev_timer_stop(pt->w->loop, &pt->ev);
    unlink_timer(pt);
    free(pt);
}

void ptimer_cancel_all(struct txn_ext *x)
{
    if (x->pause_timer)
        x->pause_timer = NULL; /* in the list below */
    while (x->timers)
        h_timer_cancel((sl_timer *)x->timers);
}

/* ---- post ---- */

struct post_item {
    sl_callback fn;
    void *arg;
    struct post_item *next;
};

static void on_posts(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)loop;
    (void)revents;
    struct proxy_worker *px = a->data;
    pthread_mutex_lock(&px->post_lock);
    struct post_item *list = px->posts;
    px->posts = NULL;
    pthread_mutex_unlock(&px->post_lock);
    /* In the order they were posted. */
    struct post_item *rev = NULL;
    while (list) {
        struct post_item *n = list->next;
        list->next = rev;
        rev = list;
        list = n;
    }
    while (rev) {
        struct post_item *n = rev->next;
        rev->fn(rev->arg);
        free(rev);
        rev = n;
    }
}

void px_post_init(struct worker *w)
{
    struct proxy_worker *px = w->px;
    pthread_mutex_init(&px->post_lock, NULL);
    ev_async_init(&px->post_wake, on_posts);
    px->post_wake.data = px;
    ev_async_start(w->loop, &px->post_wake);
    ev_unref(w->loop); /* an idle async must not keep a stopping loop alive */
}

void px_post_free(struct worker *w)
{
    struct proxy_worker *px = w->px;
    pthread_mutex_lock(&px->post_lock);
    px->post_closed = true;
    struct post_item *list = px->posts;
    px->posts = NULL;
    pthread_mutex_unlock(&px->post_lock);
    while (list) {
        struct post_item *n = list->next;
        free(list);
        list = n;
    }
    ev_ref(w->loop);
    ev_async_stop(w->loop, &px->post_wake);
    while (px->timers)
        h_timer_cancel((sl_timer *)px->timers);
    pthread_mutex_destroy(&px->post_lock);
}

static int32_t h_post(sl_worker *wk, sl_callback fn, void *arg)
{
    struct worker *w = (struct worker *)wk;
    if (!w || !fn || !w->px)
        return SL_ERR_INVALID;
    struct post_item *it = malloc(sizeof *it);
    if (!it)
        return SL_ERR_NOMEM;
    it->fn = fn;
    it->arg = arg;
    struct proxy_worker *px = w->px;
    pthread_mutex_lock(&px->post_lock);
    if (px->post_closed || atomic_load(&w->stop_requested)) {
        pthread_mutex_unlock(&px->post_lock);
        free(it);
        return SL_ERR_STATE;
    }
    it->next = px->posts;
    px->posts = it;
    pthread_mutex_unlock(&px->post_lock);
    ev_async_send(w->loop, &px->post_wake);
    return SL_OK;
}

/* ---- process facts ---- */

static uint32_t h_worker_count(void)
{
    return plugin_worker_count();
}

static uint32_t h_worker_index(sl_worker *w)
{
    return w ? ((struct worker *)w)->id : 0;
}

static uint64_t h_clock_ms(int32_t clock)
{
    struct timespec ts;
    clock_gettime(clock == SL_CLOCK_WALL ? CLOCK_REALTIME : CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void h_log(int32_t level, const char *message)
{
    enum conf_log_level l = level <= SL_LOG_ERROR ? CONF_LOG_ERROR
                            : level == SL_LOG_WARN ? CONF_LOG_WARN
                            : level == SL_LOG_INFO ? CONF_LOG_INFO : CONF_LOG_DEBUG;
    log_msg(l, "%s", message ? message : "");
}

/* ---- counters plugins feed ---- */

void count_add(struct txn *t, int32_t what, int64_t delta)
{
    if (delta <= 0)
        return;
    struct stats_counters *fs = &t->c->fe->stats[t->c->w->id];
    switch (what) {
    case SL_COUNT_RATELIMIT_REJECTED: stat_add(&fs->ratelimit_rejected, (uint64_t)delta); break;
    case SL_COUNT_CACHE_HIT: stat_add(&fs->cache_hits, (uint64_t)delta); break;
    case SL_COUNT_CACHE_MISS: stat_add(&fs->cache_misses, (uint64_t)delta); break;
    default: break;
    }
}

static void h_count(sl_txn *t, int32_t what, int64_t delta)
{
    count_add((struct txn *)t, what, delta);
}

static void h_circuit_report(sl_str backend, sl_str server, int32_t state)
{
    struct runtime *rt = runtime_current();
    if (!rt || !backend.ptr || !server.ptr || backend.len > 128 || server.len > 128)
        return;
    char b[129], s[129];
    memcpy(b, backend.ptr, backend.len);
    b[backend.len] = '\0';
    memcpy(s, server.ptr, server.len);
    s[server.len] = '\0';
    struct server_rt *sv = runtime_find_server(rt, b, s);
    if (sv)
        atomic_store(&sv->circuit, (uint32_t)state);
    runtime_release(rt);
}

static sl_subreq *h_subrequest(sl_worker *w, const sl_subreq_opts *opts, sl_subreq_cb cb, void *arg)
{
    (void)w;
    (void)opts;
    (void)cb;
    (void)arg;
    return NULL; /* not in this version: see docs/plugins.md */
}

static void h_subrequest_cancel(sl_subreq *r)
{
    (void)r;
}

void host_fill_worker(sl_host *h)
{
    h->worker_count = h_worker_count;
    h->worker_index = h_worker_index;
    h->clock_ms = h_clock_ms;
    h->log = h_log;
    h->post = h_post;
    h->timer_start = h_timer_start;
    h->txn_timer_start = h_txn_timer_start;
    h->timer_cancel = h_timer_cancel;
    h->count = h_count;
    h->circuit_report = h_circuit_report;
    h->subrequest = h_subrequest;
    h->subrequest_cancel = h_subrequest_cancel;
}
