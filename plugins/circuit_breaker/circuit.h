/* circuit.h - the circuit_breaker plugin's instance and server table, shared by its
 * source files. Private to plugins/circuit_breaker; circuit.c describes the design. */
#ifndef SLUICE_PLUGIN_CIRCUIT_H
#define SLUICE_PLUGIN_CIRCUIT_H

#include "sluice/plugin.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Circuits one instance can hold (backend/server pairs); a power of two. Servers
 * past it are never broken (fail open, logged once). */
#define CB_TABLE_SIZE 4096u

/* Hints: the entry last found for a server name's address (table.c). */
#define CB_HINT_BITS 10u
#define CB_HINT_SIZE (1u << CB_HINT_BITS)

/* Bounds of the configuration. */
#define CB_COUNT_MAX 1000000
#define CB_PROBES_MAX 1000           /* fits the 16-bit probe fields of the word */
#define CB_DURATION_MAX_MS (24ULL * 3600 * 1000)

/* The state word of a circuit, one atomic so that every transition and every
 * probe slot is a single compare-and-swap:
 *   bits 0-1   SL_CIRCUIT_CLOSED / OPEN / HALF_OPEN
 *   bits 2-31  generation, +1 at every transition (stale probes are recognised)
 *   bits 32-47 half-open: probes in flight
 *   bits 48-63 half-open: probes that succeeded */
#define CB_W_STATE(w) ((uint32_t)((w) & 0x3u))
#define CB_W_GEN(w) ((uint32_t)(((w) >> 2) & 0x3fffffffu))
#define CB_W_INFLIGHT(w) ((uint32_t)(((w) >> 32) & 0xffffu))
#define CB_W_OK(w) ((uint32_t)((w) >> 48))
#define CB_W_MAKE(state, gen, inflight, ok)                                     \
    ((uint64_t)(state) | ((uint64_t)((gen) & 0x3fffffffu) << 2) |                \
     ((uint64_t)(inflight) << 32) | ((uint64_t)(ok) << 48))
#define CB_W_ONE_INFLIGHT (UINT64_C(1) << 32)
#define CB_W_ONE_OK (UINT64_C(1) << 48)

/* A window bucket, one atomic: bits 0-19 failures, 20-39 requests (both
 * saturating), 40-63 the bucket's index (time / window, modulo 2^24). */
#define CB_B_FAIL(b) ((uint32_t)((b) & 0xfffffu))
#define CB_B_TOTAL(b) ((uint32_t)(((b) >> 20) & 0xfffffu))
#define CB_B_INDEX(b) ((uint32_t)((b) >> 40))
#define CB_B_MAKE(index, total, fail)                                           \
    (((uint64_t)(index) << 40) | ((uint64_t)(total) << 20) | (uint64_t)(fail))
#define CB_B_COUNT_MAX 0xfffffu
#define CB_B_INDEX_MASK 0xffffffu

/* One server's circuit, for the whole process. Created the first time a server
 * is seen, freed with the instance; never moves or goes away before that. */
struct cb_entry {
    _Atomic uint64_t word;         /* CB_W_* */
    _Atomic uint64_t opened_at;    /* monotonic ms of the last opening */
    _Atomic uint32_t consecutive;  /* failures in a row while closed */
    _Atomic uint64_t bucket[2];    /* CB_B_*: the sliding error-rate window */
    uint64_t hash;
    size_t backend_len, server_len;
    char names[];                  /* "backend\0server\0" */
};

/* Outcome bits of `on` (bit n: SL_OUTCOME_n counts as a failure). */
#define CB_STATUS_WORDS 10         /* bits for statuses 0..639 */

struct cb {
    const sl_host *h;
    uint32_t failures;             /* consecutive failures that open; 0: off */
    uint32_t rate_ppm;             /* error rate that opens, parts per million; 0: off */
    uint64_t window_ms;
    uint32_t min_requests;
    uint64_t cooldown_ms;
    uint32_t probes;
    uint32_t on_outcomes;
    uint64_t on_status[CB_STATUS_WORDS];
    char window_text[24];          /* `window` as written, for logs */
    _Atomic uint32_t full_warned;
    /* Circuits not closed (open or half-open): on_select skips its work while 0.
     * Changed only by the winner of a transition to or from closed (state.c). */
    _Atomic uint32_t not_closed;
    _Atomic(struct cb_entry *) table[CB_TABLE_SIZE];
    _Atomic(struct cb_entry *) hint[CB_HINT_SIZE];
};

/* config.c: create() and destroy() of the descriptor. */
int32_t cb_create(const sl_host *h, sl_config *cfg, void **instance);
void cb_destroy(void *instance);

/* table.c: the circuit of backend/server, created on first sight (the only
 * allocation, once per server); NULL when the table is full or memory is out.
 * Lock-free: lookups only load; an insertion is one compare-and-swap; a hint
 * (checked against the names) is stored when it missed. */
struct cb_entry *cb_find(struct cb *cb, sl_str backend, sl_str server);
/* Frees every entry (destroy(), when no hook can run any more). */
void cb_table_free(struct cb *cb);

/* table.c: the sliding window. Adds one request (total) and/or one failure to
 * the bucket of now; reads the estimate over the last window; clears it. */
void cb_window_add(const struct cb *cb, struct cb_entry *e, uint64_t now, bool total, bool fail);
void cb_window_read(const struct cb *cb, struct cb_entry *e, uint64_t now, double *total,
                    double *fail);
void cb_window_clear(struct cb_entry *e);

/* state.c: the state machine. seen is the state word the caller loaded; a
 * transition from a word that changed meanwhile does nothing (someone else
 * moved the circuit first). */
bool cb_to_open(struct cb *cb, struct cb_entry *e, uint64_t seen, const char *why);
/* The state for a selection now; an open circuit whose cooldown is over becomes
 * half-open here. *now: monotonic ms, read when first needed (0: not yet). */
uint32_t cb_state_now(const struct cb *cb, struct cb_entry *e, uint64_t *now);
/* Probe slots of a half-open circuit: take one (its generation into *gen), give
 * it back unused, or report its success (closes after `probes` of them). */
bool cb_probe_take(const struct cb *cb, struct cb_entry *e, uint32_t *gen);
void cb_probe_give_back(struct cb_entry *e, uint32_t gen);
void cb_probe_succeeded(struct cb *cb, struct cb_entry *e, uint32_t gen);
/* Whether an attempt's outcome (SL_OUTCOME_*, status) is in `on`. */
bool cb_is_failure(const struct cb *cb, int32_t outcome, uint32_t status);
/* Closed: a failure (total: also a new request for the window), opening when a
 * threshold is reached; a good response head (counts in the window); a response
 * that completed (ends a run of failures). */
void cb_closed_failure(struct cb *cb, struct cb_entry *e, uint64_t seen, bool total,
                       const char *what);
void cb_closed_success(const struct cb *cb, struct cb_entry *e);
void cb_closed_completed(struct cb_entry *e);
/* An outcome in words for the log ("status 503", "connect error"). */
void cb_describe(int32_t outcome, uint32_t status, char *out, size_t cap);

#endif
