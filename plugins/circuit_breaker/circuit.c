/* circuit.c - the circuit_breaker filter: per-server circuits that take a failing
 * server out of balancing and let it back in after a cooldown and good probes.
 *
 * Design (docs/filters.md has the user's view):
 *  - One circuit per backend/server for the whole process, in the instance's
 *    table (table.c). Always keyed by the backend name the host gives with the
 *    server: a filter on a frontend or route, or a retry onto a fallback backend,
 *    sees servers of several backends.
 *  - A circuit's state, generation and probe slots are one atomic word (circuit.h),
 *    so every transition and every probe slot is one compare-and-swap; whoever
 *    wins a transition reports it (circuit_report) and logs it, exactly once.
 *  - on_select vetoes open servers. The first selection after the cooldown moves
 *    the circuit to half-open (lazily: /stats shows open until that request);
 *    then up to `probes` requests at a time go to it, each holding a probe slot
 *    (remembered in txn_data, given back in on_attempt or on_end). A probe is
 *    sent to the half-open server with select_pick, but only when that server
 *    would be a balancing candidate (its priority is not above the best closed
 *    usable server's), so a half-open backup does not take traffic from healthy
 *    primaries.
 *  - on_attempt classifies each attempt by `on`. Closed: failures in a row and a
 *    sliding window count toward opening. Half-open: only this period's probes
 *    count, judged by their response head (a probe does not hold its slot for a
 *    whole stream); one failure reopens, `probes` successes close. Open: nothing
 *    counts (requests that began before it opened end meanwhile).
 *  - A good head is settled in on_end: a response that then broke (the upstream
 *    died mid-body) is a failure of its server; one that completed ends a run of
 *    consecutive failures. So a server whose streams always break still opens.
 *  - The hot path takes no lock and allocates nothing once every server has
 *    been seen: the transaction's state is a tagged pointer (below); only a
 *    probe takes a few bytes of transaction memory. While every circuit of the
 *    instance is closed (a count of the others, cb->not_closed), on_select
 *    returns at once; on_attempt looks its server's circuit up by name.
 */
#include "circuit.h"

#include <stdio.h>
#include <string.h>

/* The transaction's state (txn_data). Mostly it is only "the last attempt had a
 * good head on this closed circuit, settle it in on_end": that is the entry's
 * pointer with bit 0 set, no memory needed (entries are malloc'd, so bit 0 of
 * their address is free). A transaction that took a probe slot gets this
 * struct (bit 0 clear) from transaction memory. */
struct cb_txn {
    struct cb_entry *pending; /* good head on a closed circuit, settled in on_end */
    struct cb_entry *probe;   /* the circuit whose probe slot it holds, or NULL */
    uint32_t probe_gen;       /* that half-open period's generation */
    uint32_t probed_gen;      /* the good probe's generation: a broken response reopens */
    struct cb_entry *probed;  /* the last probe that came back good */
};

#define TAGGED(p) (((uintptr_t)(p)&1u) != 0)

/* Each hook reads txn_data once (d) and works from it. */
static struct cb_txn *as_struct(void *d)
{
    return d && !TAGGED(d) ? d : NULL;
}

static struct cb_entry *pending_of(void *d)
{
    if (TAGGED(d))
        return (struct cb_entry *)((uintptr_t)d & ~(uintptr_t)1u);
    return d ? ((struct cb_txn *)d)->pending : NULL;
}

/* The struct, made on first need (keeping a pending entry); NULL: out of memory. */
static struct cb_txn *txn_struct_make(const struct cb *cb, sl_txn *t, void *d)
{
    struct cb_txn *x = as_struct(d);
    if (x)
        return x;
    if (!(x = cb->h->txn_alloc(t, sizeof *x)))
        return NULL;
    memset(x, 0, sizeof *x);
    x->pending = pending_of(d);
    cb->h->txn_set_data(t, cb, x);
    return x;
}

/* ---- on_select ---- */

/* The half-open servers get what is left once open ones are vetoed: one probe
 * (picked) when one would be a balancing candidate and has a free slot, vetoes
 * for the others. best_prio: the best priority among closed usable servers. */
static void select_half_open(struct cb *cb, sl_txn *t, void *d, sl_select *s, uint32_t best_prio)
{
    const sl_host *h = cb->h;
    uint32_t n = h->select_count(s);
    uint64_t now = 0;
    bool picked = false;
    for (uint32_t i = 0; i < n; i++) {
        sl_server_info info = {.size = sizeof info};
        if (h->select_server(s, i, &info) != SL_OK)
            continue;
        struct cb_entry *e = cb_find(cb, info.backend, info.name);
        if (!e || cb_state_now(cb, e, &now) != SL_CIRCUIT_HALF_OPEN)
            continue;
        uint32_t gen = 0;
        if (!picked && info.usable && info.weight > 0 && info.priority <= best_prio &&
            cb_probe_take(cb, e, &gen)) {
            struct cb_txn *x = txn_struct_make(cb, t, d);
            if (x && h->select_pick(s, i) == SL_OK) {
                d = x;
                x->probe = e;
                x->probe_gen = gen;
                picked = true;
                continue;
            }
            cb_probe_give_back(e, gen);
        }
        h->select_veto(s, i);
    }
}

/* on_select once some circuit is not closed: out of line, so that the usual
 * case saves no registers and reserves no stack for it. */
__attribute__((noinline)) static int32_t select_servers(struct cb *cb, sl_txn *t, sl_select *s)
{
    const sl_host *h = cb->h;
    void *d = h->txn_data(t, cb);
    struct cb_txn *x = as_struct(d);
    if (x && x->probe) { /* defensive: an attempt that never reported */
        cb_probe_give_back(x->probe, x->probe_gen);
        x->probe = NULL;
    }
    uint32_t n = h->select_count(s), best_prio = UINT32_MAX, half_open = 0;
    uint64_t now = 0;
    for (uint32_t i = 0; i < n; i++) {
        sl_server_info info = {.size = sizeof info};
        if (h->select_server(s, i, &info) != SL_OK)
            continue;
        struct cb_entry *e = cb_find(cb, info.backend, info.name);
        if (!e)
            continue; /* no room for its circuit: fail open */
        switch (cb_state_now(cb, e, &now)) {
        case SL_CIRCUIT_OPEN:
            h->select_veto(s, i);
            break;
        case SL_CIRCUIT_HALF_OPEN:
            half_open++;
            break;
        default:
            if (info.usable && info.weight > 0 && info.priority < best_prio)
                best_prio = info.priority;
            break;
        }
    }
    if (half_open)
        select_half_open(cb, t, d, s, best_prio);
    /* Every server vetoed: the host answers 503 no_usable_server at once. */
    return SL_CONTINUE;
}

static int32_t cb_on_select(void *instance, sl_txn *t, sl_select *s)
{
    struct cb *cb = instance;
    /* Every circuit of the instance closed (the usual case): nothing to veto or
     * probe, so no server needs looking at. A circuit that opens meanwhile is
     * as if it opened just after this selection (on_attempt then ignores it). A
     * probe slot this transaction still holds is on a circuit that is closed
     * now, so it needs no giving back. */
    if (!atomic_load_explicit(&cb->not_closed, memory_order_acquire))
        return SL_CONTINUE;
    return select_servers(cb, t, s);
}

/* ---- on_attempt ---- */

/* Half-open: only this period's probe says something. */
static void half_open_outcome(struct cb *cb, struct cb_txn *x, struct cb_entry *e, uint64_t w,
                              uint32_t probe_gen, bool failed, const char *what)
{
    if (failed) {
        char why[96];
        snprintf(why, sizeof why, "open again: the probe failed (%s)", what);
        (void)cb_to_open(cb, e, w, why);
        return;
    }
    if (x) { /* a probe always has its struct */
        x->probed = e;
        x->probed_gen = probe_gen;
    }
    cb_probe_succeeded(cb, e, probe_gen);
}

static int32_t cb_on_attempt(void *instance, sl_txn *t, const sl_attempt *a)
{
    struct cb *cb = instance;
    void *d = cb->h->txn_data(t, cb);
    struct cb_txn *x = as_struct(d);
    /* An earlier attempt's good head: it answered. */
    struct cb_entry *settled = pending_of(d), *pending = NULL;
    if (settled)
        cb_closed_completed(settled);
    struct cb_entry *e = cb_find(cb, a->backend, a->server);
    struct cb_entry *probe = x ? x->probe : NULL;
    uint32_t gen = x ? x->probe_gen : 0;
    if (x)
        x->probe = NULL;
    if (probe && probe != e) { /* a later filter sent it elsewhere */
        cb_probe_give_back(probe, gen);
        probe = NULL;
    }
    if (e) {
        bool failed = cb_is_failure(cb, a->outcome, a->status);
        char what[48];
        what[0] = '\0';
        if (failed)
            cb_describe(a->outcome, a->status, what, sizeof what);
        uint64_t w = atomic_load_explicit(&e->word, memory_order_acquire);
        switch (CB_W_STATE(w)) {
        case SL_CIRCUIT_CLOSED:
            if (failed) {
                cb_closed_failure(cb, e, w, true, what);
            } else {
                cb_closed_success(cb, e);
                pending = e;
            }
            break;
        case SL_CIRCUIT_HALF_OPEN:
            if (probe && CB_W_GEN(w) == gen)
                half_open_outcome(cb, x, e, w, gen, failed, what);
            break; /* otherwise it began before this half-open period */
        default:
            break; /* open: it began before the circuit opened */
        }
    }
    /* Usually the only txn_set_data of the transaction: the tagged pointer. */
    if (x)
        x->pending = pending;
    else if (pending != settled)
        cb->h->txn_set_data(t, cb, pending ? (void *)((uintptr_t)pending | 1u) : NULL);
    return SL_CONTINUE;
}

/* ---- on_end ---- */

/* A response that broke after a good head: a failure of the server that sent it. */
static void count_broken(struct cb *cb, struct cb_txn *x, struct cb_entry *pending)
{
    struct cb_entry *e = pending;
    if (!e && x)
        e = x->probed;
    if (!e)
        return;
    uint64_t w = atomic_load_explicit(&e->word, memory_order_acquire);
    if (CB_W_STATE(w) == SL_CIRCUIT_CLOSED)
        cb_closed_failure(cb, e, w, false, "the response broke");
    else if (CB_W_STATE(w) == SL_CIRCUIT_HALF_OPEN && x && x->probed == e &&
             x->probed_gen == CB_W_GEN(w))
        (void)cb_to_open(cb, e, w, "open again: the probe's response broke");
}

static void cb_on_end(void *instance, sl_txn *t, const sl_txn_end *end)
{
    struct cb *cb = instance;
    void *d = cb->h->txn_data(t, cb);
    if (!d)
        return; /* no attempt with a good head, no probe */
    struct cb_txn *x = as_struct(d);
    if (x && x->probe) { /* answered or failed before the attempt */
        cb_probe_give_back(x->probe, x->probe_gen);
        x->probe = NULL;
    }
    if (end->flags & SL_END_UPSTREAM_BROKE)
        count_broken(cb, x, pending_of(d));
    else if (pending_of(d))
        cb_closed_completed(pending_of(d));
    /* No txn_set_data(NULL): no hook runs after on_end, and the next
     * transaction starts with NULL. */
}

static const sl_plugin cb_plugin = {
    SL_PLUGIN_HEAD,
    .name = "circuit_breaker",
    .version = "1.0.0",
    .create = cb_create,
    .destroy = cb_destroy,
    .on_select = cb_on_select,
    .on_attempt = cb_on_attempt,
    .on_end = cb_on_end,
};

SL_PLUGIN_EXPORT const sl_plugin *SL_PLUGIN_ENTRY(void);
SL_PLUGIN_EXPORT const sl_plugin *SL_PLUGIN_ENTRY(void)
{
    return &cb_plugin;
}
