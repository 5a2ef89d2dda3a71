/* state.c - one circuit's state machine: transitions (each a compare-and-swap on
 * the state word, see circuit.h), probe slots, and counting outcomes while closed.
 * Whoever wins a transition reports it (circuit_report) and logs it, exactly once.
 * Callable from any worker at once; no locks, no allocation. */
#include "circuit.h"

#include <stdio.h>
#include <string.h>

static uint64_t now_ms(const struct cb *cb)
{
    return cb->h->clock_ms(SL_CLOCK_MONOTONIC);
}

static sl_str entry_backend(const struct cb_entry *e)
{
    return (sl_str){e->names, e->backend_len};
}

static sl_str entry_server(const struct cb_entry *e)
{
    return (sl_str){e->names + e->backend_len + 1, e->server_len};
}

/* Publishes and logs a transition the caller won (to word `mine`). Names are
 * configuration names, never secrets. */
static void announce(const struct cb *cb, struct cb_entry *e, uint64_t mine, int32_t level,
                     const char *what)
{
    char msg[512];
    snprintf(msg, sizeof msg, "circuit_breaker: %s/%s %s", e->names, e->names + e->backend_len + 1,
             what);
    cb->h->circuit_report(entry_backend(e), entry_server(e), (int32_t)CB_W_STATE(mine));
    /* A later transition may have reported before this one did: whoever sees a
     * newer generation after reporting reports again, so the last report is the
     * current state. */
    uint64_t w = atomic_load_explicit(&e->word, memory_order_acquire);
    if (CB_W_GEN(w) != CB_W_GEN(mine))
        cb->h->circuit_report(entry_backend(e), entry_server(e), (int32_t)CB_W_STATE(w));
    cb->h->log(level, msg);
}

/* ---- transitions: each one compare-and-swap from the word the caller saw ---- */

bool cb_to_open(struct cb *cb, struct cb_entry *e, uint64_t seen, const char *why)
{
    /* Stored before the swap so that whoever sees OPEN sees its time. A loser's
     * store lands within the same instant as the winner's. */
    atomic_store_explicit(&e->opened_at, now_ms(cb), memory_order_relaxed);
    uint64_t next = CB_W_MAKE(SL_CIRCUIT_OPEN, CB_W_GEN(seen) + 1u, 0, 0);
    /* From closed: counted before the swap (undone if it is lost), so that a
     * selection that sees no circuit counted saw none open. */
    bool from_closed = CB_W_STATE(seen) == SL_CIRCUIT_CLOSED;
    if (from_closed)
        atomic_fetch_add_explicit(&cb->not_closed, 1u, memory_order_acq_rel);
    if (!atomic_compare_exchange_strong_explicit(&e->word, &seen, next, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        if (from_closed)
            atomic_fetch_sub_explicit(&cb->not_closed, 1u, memory_order_acq_rel);
        return false;
    }
    announce(cb, e, next, SL_LOG_WARN, why);
    return true;
}

static bool to_half_open(const struct cb *cb, struct cb_entry *e, uint64_t seen)
{
    uint64_t next = CB_W_MAKE(SL_CIRCUIT_HALF_OPEN, CB_W_GEN(seen) + 1u, 0, 0);
    if (!atomic_compare_exchange_strong_explicit(&e->word, &seen, next, memory_order_acq_rel,
                                                 memory_order_acquire))
        return false;
    char what[64];
    snprintf(what, sizeof what, "half-open: cooldown over, letting %u probe%s through", cb->probes,
             cb->probes == 1 ? "" : "s");
    announce(cb, e, next, SL_LOG_INFO, what);
    return true;
}

static bool to_closed(struct cb *cb, struct cb_entry *e, uint64_t seen)
{
    uint64_t next = CB_W_MAKE(SL_CIRCUIT_CLOSED, CB_W_GEN(seen) + 1u, 0, 0);
    if (!atomic_compare_exchange_strong_explicit(&e->word, &seen, next, memory_order_acq_rel,
                                                 memory_order_acquire))
        return false;
    atomic_fetch_sub_explicit(&cb->not_closed, 1u, memory_order_acq_rel); /* from half-open */
    /* A fresh start: failures from before the opening do not count again. */
    atomic_store_explicit(&e->consecutive, 0, memory_order_relaxed);
    cb_window_clear(e);
    char what[64];
    snprintf(what, sizeof what, "closed after %u good probe%s", cb->probes,
             cb->probes == 1 ? "" : "s");
    announce(cb, e, next, SL_LOG_INFO, what);
    return true;
}

/* The state for a selection now: an open circuit whose cooldown is over becomes
 * half-open here. *now is read once, when first needed. */
uint32_t cb_state_now(const struct cb *cb, struct cb_entry *e, uint64_t *now)
{
    for (;;) {
        uint64_t w = atomic_load_explicit(&e->word, memory_order_acquire);
        if (CB_W_STATE(w) != SL_CIRCUIT_OPEN)
            return CB_W_STATE(w);
        if (!*now)
            *now = now_ms(cb);
        uint64_t at = atomic_load_explicit(&e->opened_at, memory_order_relaxed);
        if (*now < at + cb->cooldown_ms)
            return SL_CIRCUIT_OPEN;
        (void)to_half_open(cb, e, w); /* won or lost, look again */
    }
}

/* Takes a probe slot of a half-open circuit: false when it is no longer half-open
 * or `probes` requests of this period are in flight or done. */
bool cb_probe_take(const struct cb *cb, struct cb_entry *e, uint32_t *gen)
{
    uint64_t w = atomic_load_explicit(&e->word, memory_order_acquire);
    do {
        if (CB_W_STATE(w) != SL_CIRCUIT_HALF_OPEN || CB_W_INFLIGHT(w) + CB_W_OK(w) >= cb->probes)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&e->word, &w, w + CB_W_ONE_INFLIGHT,
                                                    memory_order_acq_rel, memory_order_acquire));
    *gen = CB_W_GEN(w);
    return true;
}

/* Gives a slot back unused; nothing to do once that half-open period is over. */
void cb_probe_give_back(struct cb_entry *e, uint32_t gen)
{
    uint64_t w = atomic_load_explicit(&e->word, memory_order_acquire);
    do {
        if (CB_W_STATE(w) != SL_CIRCUIT_HALF_OPEN || CB_W_GEN(w) != gen || !CB_W_INFLIGHT(w))
            return;
    } while (!atomic_compare_exchange_weak_explicit(&e->word, &w, w - CB_W_ONE_INFLIGHT,
                                                    memory_order_acq_rel, memory_order_acquire));
}

/* A probe came back good: count it, and close after `probes` of them. */
void cb_probe_succeeded(struct cb *cb, struct cb_entry *e, uint32_t gen)
{
    uint64_t w = atomic_load_explicit(&e->word, memory_order_acquire);
    for (;;) {
        if (CB_W_STATE(w) != SL_CIRCUIT_HALF_OPEN || CB_W_GEN(w) != gen)
            return;
        if (CB_W_OK(w) + 1u >= cb->probes) {
            if (to_closed(cb, e, w))
                return;
            w = atomic_load_explicit(&e->word, memory_order_acquire);
            continue;
        }
        uint64_t next = w + CB_W_ONE_OK - (CB_W_INFLIGHT(w) ? CB_W_ONE_INFLIGHT : 0);
        if (atomic_compare_exchange_weak_explicit(&e->word, &w, next, memory_order_acq_rel,
                                                  memory_order_acquire))
            return;
    }
}

/* ---- counting outcomes ---- */

bool cb_is_failure(const struct cb *cb, int32_t outcome, uint32_t status)
{
    if (outcome == SL_OUTCOME_RESPONSE)
        return status < 64u * CB_STATUS_WORDS &&
               ((cb->on_status[status / 64] >> (status % 64)) & 1u);
    return outcome >= 0 && outcome < 32 && ((cb->on_outcomes >> outcome) & 1u);
}

/* A failure while closed: opens after `failures` in a row or when the window's
 * error rate reaches `error_rate` over at least `min_requests`. total: the
 * request is new to the window (false when a success already counted it). */
void cb_closed_failure(struct cb *cb, struct cb_entry *e, uint64_t seen, bool total,
                       const char *what)
{
    uint32_t n = atomic_fetch_add_explicit(&e->consecutive, 1u, memory_order_relaxed) + 1u;
    char why[256];
    if (cb->failures && n >= cb->failures) {
        snprintf(why, sizeof why, "open after %u consecutive failure%s (last: %s)", n,
                 n == 1 ? "" : "s", what);
        (void)cb_to_open(cb, e, seen, why);
        return;
    }
    if (!cb->rate_ppm)
        return;
    uint64_t now = now_ms(cb);
    double t, f;
    cb_window_add(cb, e, now, total, true);
    cb_window_read(cb, e, now, &t, &f);
    if (t >= cb->min_requests && f * 1e6 >= (double)cb->rate_ppm * t) {
        snprintf(why, sizeof why, "open: error rate %.0f%% over %.0f requests in %s (last: %s)",
                 100.0 * f / t, t, cb->window_text, what);
        (void)cb_to_open(cb, e, seen, why);
    }
}

void cb_closed_success(const struct cb *cb, struct cb_entry *e)
{
    if (cb->rate_ppm)
        cb_window_add(cb, e, now_ms(cb), true, false);
}

void cb_closed_completed(struct cb_entry *e)
{
    /* Read first: a store on every success would bounce the line between workers. */
    if (atomic_load_explicit(&e->consecutive, memory_order_relaxed))
        atomic_store_explicit(&e->consecutive, 0, memory_order_relaxed);
}

/* What an attempt's outcome was, for the log. */
void cb_describe(int32_t outcome, uint32_t status, char *out, size_t cap)
{
    static const char *const names[] = {"response", "connect error", "timeout", "reset",
                                        "bad response"};
    if (outcome == SL_OUTCOME_RESPONSE)
        snprintf(out, cap, "status %u", status);
    else
        snprintf(out, cap, "%s", outcome > 0 && outcome < 5 ? names[outcome] : "error");
}
