/* probe_pause.c - SL_PAUSE and the three ways back: a transaction timer, a worker
 * timer that finds the transaction again with txn_lookup(txn_ref), and the same
 * with a post() from the worker to itself in between. The last two outlive their
 * transaction on purpose: a client that left makes txn_lookup return NULL, which
 * the counter probe:TAG:stale records. */
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>

struct probe_box {
    struct probe *p;
    sl_worker *w;
    uint32_t widx;
    uint64_t ref;
    sl_timer *timer;          /* until it fires */
    struct probe_box *next, *prev;
};

static void key(struct probe *p, char *buf, size_t cap, const char *what)
{
    snprintf(buf, cap, "probe:%s:%s", p->tag, what);
}

static void count(struct probe *p, sl_worker *w, const char *what)
{
    char k[96];
    key(p, k, sizeof k, what);
    probe_count(p, w, k, 1);
}

/* Ends the pause of st's transaction as configured. */
static void finish(struct probe *p, sl_txn *t, struct probe_txn *st)
{
    sl_worker *w = p->h->txn_worker(t);
    int32_t action = p->resume_with;
    if (!st || !st->paused) {
        count(p, w, "resume_unpaused"); /* a bug in the core's bookkeeping or ours */
        return;
    }
    st->paused = false;
    probe_trace(p, t, "resume");
    count(p, w, "resumes");
    if (action == SL_DONE && probe_respond(p, t, st) != SL_DONE)
        action = SL_ERROR;
    int32_t rc = p->h->resume(t, action);
    if (rc != SL_OK) {
        char msg[96];
        snprintf(msg, sizeof msg, "probe %s: resume() = %d", p->tag, (int)rc);
        p->h->log(SL_LOG_ERROR, msg);
        count(p, w, "resume_failed");
    }
}

static void txn_timer_cb(void *arg)
{
    struct probe_txn *st = arg;
    finish(st->p, st->t, st);
}

static void unlink_box(struct probe_box *b)
{
    if (b->widx >= b->p->workers)
        return;
    struct probe_pw *pw = &b->p->pw[b->widx];
    if (b->prev)
        b->prev->next = b->next;
    else if (pw->pending == b)
        pw->pending = b->next;
    if (b->next)
        b->next->prev = b->prev;
    b->next = b->prev = NULL;
}

static void lookup_and_finish(struct probe_box *b)
{
    struct probe *p = b->p;
    sl_txn *t = p->h->txn_lookup(b->w, b->ref);
    if (!t)
        count(p, b->w, "stale");
    else
        finish(p, t, p->h->txn_data(t, p));
    unlink_box(b);
    free(b);
}

static void post_cb(void *arg)
{
    struct probe_box *b = arg;
    count(b->p, b->w, "posted");
    lookup_and_finish(b);
}

static void worker_timer_cb(void *arg)
{
    struct probe_box *b = arg;
    b->timer = NULL; /* the handle is gone once the callback runs */
    if (b->p->pause_via == VIA_POST) {
        if (b->p->h->post(b->w, post_cb, b) == SL_OK)
            return;
        count(b->p, b->w, "post_failed");
    }
    lookup_and_finish(b);
}

int32_t probe_pause(struct probe *p, sl_txn *t, struct probe_txn *st)
{
    sl_worker *w = p->h->txn_worker(t);
    st->paused = true;
    probe_trace(p, t, "pause");
    count(p, w, "pauses");
    if (p->pause_via == VIA_TXN_TIMER) {
        if (!p->h->txn_timer_start(t, p->pause_ms, txn_timer_cb, st)) {
            st->paused = false;
            return SL_ERROR;
        }
        return SL_PAUSE;
    }
    struct probe_box *b = calloc(1, sizeof *b);
    if (!b) {
        st->paused = false;
        return SL_ERROR;
    }
    b->p = p;
    b->w = w;
    b->widx = p->h->worker_index(w);
    b->ref = p->h->txn_ref(t);
    b->timer = p->h->timer_start(w, p->pause_ms, worker_timer_cb, b);
    if (!b->timer || b->ref == 0) {
        if (b->timer)
            p->h->timer_cancel(b->timer);
        free(b);
        st->paused = false;
        return SL_ERROR;
    }
    if (b->widx < p->workers) {
        struct probe_pw *pw = &p->pw[b->widx];
        b->next = pw->pending;
        if (pw->pending)
            pw->pending->prev = b;
        pw->pending = b;
    }
    return SL_PAUSE;
}

int32_t probe_worker_start(void *instance, sl_worker *w)
{
    struct probe *p = instance;
    count(p, w, "worker_starts");
    return SL_OK;
}

/* Boxes still waiting: cancel their timers. sluice drops posts still queued when
 * the worker stops (after this), so a posted box is freed here too. */
void probe_worker_stop(void *instance, sl_worker *w)
{
    struct probe *p = instance;
    uint32_t i = p->h->worker_index(w);
    if (i >= p->workers)
        return;
    struct probe_box *b = p->pw[i].pending, *next;
    p->pw[i].pending = NULL;
    for (; b; b = next) {
        next = b->next;
        if (b->timer)
            p->h->timer_cancel(b->timer);
        free(b);
    }
}
