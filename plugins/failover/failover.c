/* failover.c - the `failover` filter: a failed attempt is tried again on another
 * server of the backend, then on the `fallback` backends in order.
 *
 * Configuration (config.c checks it):
 *   attempts:        attempts in all, the first included (default 3, at most 10)
 *   on:              what counts as failed: connect_error, timeout, reset,
 *                    bad_response and statuses 400..599 (default connect_error,
 *                    timeout, reset, 429, 500, 502, 503, 504)
 *   backoff:         wait before the first retry (default 100ms), doubled for each
 *                    further one up to max_backoff (default 2s); the wait is drawn
 *                    at random from its upper half (jitter), so retries of many
 *                    requests do not arrive in lockstep
 *   max_retry_after: a server that answers with retry-after is set aside for that
 *                    long, at most this (default 10s); a retry that has to go
 *                    back to it waits that long
 *   max_body:        request bodies up to this size are kept for replay (default
 *                    1MiB); a request with a larger body is not retried
 *   fallback:        backend name(s) tried in order once the backend has no
 *                    untried usable server; their servers' headers and model_map
 *                    apply
 *
 * How:
 *   on_request_head  asks the host to keep the body: a body of known length is
 *                    held until complete (request_body_buffer), a chunked one is
 *                    retained while it streams (request_body_retain).
 *   on_select        (retries, or while some server is set aside) vetoes servers
 *                    already tried by this request and servers set aside, but
 *                    only while another usable server remains: it steers, it never
 *                    empties the backend by itself.
 *   on_attempt       on a failed attempt: sets the server aside when it sent
 *                    retry-after, then asks host->retry() for another server of
 *                    the backend (the host never takes the one that just failed),
 *                    else the next fallback backend; returns SL_RETRY. When
 *                    no server of the backend is usable at all (down, drained,
 *                    circuits open), the request moves to the next fallback at
 *                    once, without using an attempt. No retry
 *                    once a response byte reached the client (host->retry() then
 *                    refuses), so a stream that broke after its first byte ends,
 *                    it is never spliced.
 *
 * A first attempt that succeeds costs one txn_num, and on_select one atomic load.
 */
#include "failover.h"

#include <string.h>

struct fo_txn {
    uint32_t failed;                /* failed attempts so far */
    uint32_t fb_next;               /* next fallback to try */
    bool avail_known;
    uint64_t tried, avail;          /* server bits of the current backend */
    sl_str backend;                 /* the current backend (host memory, txn-long) */
    /* servers of the current backend that answered with retry-after, and until
     * when (monotonic ms): a retry that goes back to one of them waits for it */
    uint32_t aside_n;
    uint32_t aside_idx[FO_ATTEMPTS_MAX];
    uint64_t aside_until[FO_ATTEMPTS_MAX];
};

static struct fo_txn *txn_state(struct fo *fo, sl_txn *t, bool create)
{
    struct fo_txn *st = fo->h->txn_data(t, fo);
    if (st || !create)
        return st;
    st = fo->h->txn_alloc(t, sizeof *st);
    if (st) {
        memset(st, 0, sizeof *st);
        fo->h->txn_set_data(t, fo, st);
    }
    return st;
}

static bool same(sl_str a, sl_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static int32_t fo_request_head(void *inst, sl_txn *t)
{
    struct fo *fo = inst;
    int64_t len = fo->h->txn_num(t, SL_TXN_BODY_LENGTH);
    if (len > 0 && (uint64_t)len <= fo->max_body)
        (void)fo->h->request_body_buffer(t);
    else if (len < 0)
        (void)fo->h->request_body_retain(t, fo->max_body); /* chunked (or none) */
    return SL_CONTINUE;
}

static int32_t fo_select(void *inst, sl_txn *t, sl_select *s)
{
    struct fo *fo = inst;
    const sl_host *h = fo->h;
    struct fo_txn *st = txn_state(fo, t, false);
    bool aside_on = atomic_load_explicit(&fo->aside_any_until, memory_order_relaxed) != 0;
    if (!st && !aside_on)
        return SL_CONTINUE; /* a first attempt, nothing set aside: nothing to steer */
    if (!st && !(st = txn_state(fo, t, true)))
        return SL_CONTINUE;
    uint64_t now = aside_on ? h->clock_ms(SL_CLOCK_MONOTONIC) : 0;
    uint32_t n = h->select_count(s);
    if (n > 64)
        n = 64;
    uint64_t usable = 0, aside = 0;
    for (uint32_t i = 0; i < n; i++) {
        sl_server_info info = {.size = sizeof info};
        if (h->select_server(s, i, &info) != SL_OK)
            continue;
        if (i == 0 && !same(info.backend, st->backend)) {
            st->backend = info.backend; /* a fallback backend: nothing tried there yet */
            st->tried = 0;
            st->aside_n = 0;
        }
        if (!info.usable)
            continue;
        usable |= 1ull << i;
        if (aside_on && fo_aside_is(fo, fo_server_key(info.backend, info.name), now))
            aside |= 1ull << i;
    }
    uint64_t good = usable & ~aside & ~st->tried;
    if (!good)
        good = usable & ~aside; /* all tried: at least avoid those set aside */
    if (!good)
        good = usable;          /* all set aside: leave the choice to the balancer */
    for (uint32_t i = 0; i < n; i++)
        if (((usable & ~good) >> i) & 1u)
            (void)h->select_veto(s, i);
    st->avail = good;
    st->avail_known = true;
    return SL_CONTINUE;
}

static bool failed(const struct fo *fo, const sl_attempt *a)
{
    switch (a->outcome) {
    case SL_OUTCOME_RESPONSE: return a->status < 600 && fo->on_status[a->status];
    case SL_OUTCOME_CONNECT_ERROR: return fo->on_outcomes & FO_ON_CONNECT_ERROR;
    case SL_OUTCOME_TIMEOUT: return fo->on_outcomes & FO_ON_TIMEOUT;
    case SL_OUTCOME_RESET: return fo->on_outcomes & FO_ON_RESET;
    case SL_OUTCOME_BAD_RESPONSE: return fo->on_outcomes & FO_ON_BAD_RESPONSE;
    default: return false;
    }
}

static uint64_t rng_next(const sl_host *h)
{
    static _Thread_local uint64_t x;
    if (!x)
        x = (h->clock_ms(SL_CLOCK_WALL) ^ (uint64_t)(uintptr_t)&x) | 1u;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

/* backoff * 2^(n-1), capped, drawn from its upper half. */
static uint64_t backoff_ms(const struct fo *fo, uint32_t n)
{
    uint64_t d = fo->backoff_ms;
    for (uint32_t i = 1; i < n && d < fo->max_backoff_ms; i++)
        d *= 2;
    if (d > fo->max_backoff_ms)
        d = fo->max_backoff_ms;
    if (d < 2)
        return d;
    return d / 2 + rng_next(fo->h) % (d - d / 2 + 1);
}

/* Nothing of the backend was usable (ABI 1.1): nothing was sent, so no attempt
 * is used up and there is nothing to wait for; only a fallback can help. */
static int32_t no_server(struct fo *fo, sl_txn *t)
{
    struct fo_txn *st = txn_state(fo, t, true);
    while (st && st->fb_next < fo->fallback_count) {
        const char *fb = fo->fallback[st->fb_next++];
        int32_t r = fo->h->retry(t, (sl_str){fb, strlen(fb)}, 0);
        if (r == SL_OK)
            return SL_RETRY;
        if (r != SL_NOT_FOUND)
            break;
    }
    return SL_CONTINUE;
}

/* Going back to a server this request tried before (not the one that just
 * failed): the shortest wait any of them asked for with retry-after, 0 when one
 * of them did not ask. Bounded by max_retry_after, as the set-aside is. */
static uint64_t wait_for_tried(const struct fo *fo, const struct fo_txn *st, uint32_t last)
{
    uint64_t now = fo->h->clock_ms(SL_CLOCK_MONOTONIC), wait = UINT64_MAX;
    for (uint32_t i = 0; i < 64; i++) {
        if (i == last || !((st->tried >> i) & 1u))
            continue;
        uint64_t until = 0;
        for (uint32_t k = 0; k < st->aside_n; k++)
            if (st->aside_idx[k] == i && st->aside_until[k] > until)
                until = st->aside_until[k];
        uint64_t rem = until > now ? until - now : 0;
        wait = rem < wait ? rem : wait;
    }
    return wait == UINT64_MAX ? 0 : wait;
}

static int32_t fo_attempt(void *inst, sl_txn *t, const sl_attempt *a)
{
    struct fo *fo = inst;
    const sl_host *h = fo->h;
    if (a->outcome == SL_OUTCOME_NO_SERVER)
        return no_server(fo, t);
    if (!failed(fo, a))
        return SL_CONTINUE;
    uint64_t aside_until = 0;
    if (a->outcome == SL_OUTCOME_RESPONSE && a->retry_after_ms >= 0) {
        uint64_t ra = (uint64_t)a->retry_after_ms;
        aside_until = h->clock_ms(SL_CLOCK_MONOTONIC) + (ra < fo->max_retry_after_ms ? ra : fo->max_retry_after_ms);
        fo_aside_set(fo, fo_server_key(a->backend, a->server), aside_until);
    }
    struct fo_txn *st = txn_state(fo, t, true);
    if (!st)
        return SL_CONTINUE;
    if (++st->failed >= fo->attempts || h->txn_num(t, SL_TXN_RESPONSE_STARTED) == 1)
        return SL_CONTINUE;
    if (!same(a->backend, st->backend)) {
        st->backend = a->backend;
        st->tried = 0;
        st->avail_known = false;
        st->aside_n = 0;
    }
    if (a->server_index < 64)
        st->tried |= 1ull << a->server_index;
    if (aside_until && st->aside_n < FO_ATTEMPTS_MAX) {
        st->aside_idx[st->aside_n] = a->server_index;
        st->aside_until[st->aside_n++] = aside_until;
    }
    uint64_t delay = backoff_ms(fo, st->failed);
    bool untried = !st->avail_known || (st->avail & ~st->tried) != 0;
    int32_t r = SL_NOT_FOUND;
    if (untried && (r = h->retry(t, SL_STR_NULL, delay)) == SL_OK)
        return SL_RETRY;
    if (r != SL_NOT_FOUND)
        return SL_CONTINUE; /* the body is not at hand, or too late */
    while (st->fb_next < fo->fallback_count) {
        const char *fb = fo->fallback[st->fb_next++];
        r = h->retry(t, (sl_str){fb, strlen(fb)}, delay);
        if (r == SL_OK)
            return SL_RETRY;
        if (r != SL_NOT_FOUND)
            return SL_CONTINUE;
    }
    /* Every server was tried: one that failed earlier (not just now) may do,
     * once the wait it asked for with retry-after is over. */
    if (!untried) {
        uint64_t wait = wait_for_tried(fo, st, a->server_index);
        if (h->retry(t, SL_STR_NULL, wait > delay ? wait : delay) == SL_OK)
            return SL_RETRY;
    }
    return SL_CONTINUE;
}

static const sl_plugin fo_plugin = {
    SL_PLUGIN_HEAD,
    .name = "failover",
    .version = "1.0.0",
    .create = fo_create,
    .destroy = fo_destroy,
    .on_request_head = fo_request_head,
    .on_select = fo_select,
    .on_attempt = fo_attempt,
};

SL_PLUGIN_EXPORT const sl_plugin *SL_PLUGIN_ENTRY(void);
SL_PLUGIN_EXPORT const sl_plugin *SL_PLUGIN_ENTRY(void)
{
    return &fo_plugin;
}
