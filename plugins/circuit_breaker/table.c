/* table.c - the circuits of one instance: an open-addressing table of entries
 * keyed by backend and server name, and each entry's sliding window.
 *
 * Every worker reads the table without a lock. A slot goes from NULL to an entry
 * exactly once (compare-and-swap) and is cleared only by cb_table_free, after the
 * last hook ran; an entry is fully built before it is published (release), so a
 * reader that sees the pointer (acquire) sees its names. */
#include "circuit.h"
#include "server_key.h"

#include <stdlib.h>
#include <string.h>


static bool entry_is(const struct cb_entry *e, uint64_t hash, sl_str backend, sl_str server)
{
    return e->hash == hash && e->backend_len == backend.len && e->server_len == server.len &&
           sk_bytes_eq(e->names, backend.ptr, backend.len) &&
           sk_bytes_eq(e->names + backend.len + 1, server.ptr, server.len);
}

static struct cb_entry *entry_new(uint64_t hash, sl_str backend, sl_str server)
{
    struct cb_entry *e = calloc(1, sizeof *e + backend.len + server.len + 2);
    if (!e)
        return NULL;
    atomic_init(&e->word, CB_W_MAKE(SL_CIRCUIT_CLOSED, 0, 0, 0));
    atomic_init(&e->opened_at, 0);
    atomic_init(&e->consecutive, 0);
    atomic_init(&e->bucket[0], 0);
    atomic_init(&e->bucket[1], 0);
    e->hash = hash;
    e->backend_len = backend.len;
    e->server_len = server.len;
    memcpy(e->names, backend.ptr, backend.len);
    memcpy(e->names + backend.len + 1, server.ptr, server.len);
    return e;
}

/* The table proper: by the names' hash. Out of line: the hint's path in
 * cb_find then has fewer registers to save. */
__attribute__((noinline)) static struct cb_entry *table_find(struct cb *cb, sl_str backend, sl_str server)
{
    uint64_t hash = sk_hash(backend, server);
    struct cb_entry *fresh = NULL;
    for (uint32_t i = 0; i < CB_TABLE_SIZE; i++) {
        _Atomic(struct cb_entry *) *slot = &cb->table[(hash + i) & (CB_TABLE_SIZE - 1)];
        struct cb_entry *e = atomic_load_explicit(slot, memory_order_acquire);
        if (!e) {
            if (!fresh && !(fresh = entry_new(hash, backend, server)))
                return NULL;
            if (atomic_compare_exchange_strong_explicit(slot, &e, fresh, memory_order_acq_rel,
                                                        memory_order_acquire))
                return fresh;
            /* Another worker filled the slot first; e is its entry. */
        }
        if (entry_is(e, hash, backend, server)) {
            if (fresh) /* the usual case has none: no call */
                free(fresh);
            return e;
        }
    }
    free(fresh);
    if (!atomic_exchange_explicit(&cb->full_warned, 1u, memory_order_relaxed))
        cb->h->log(SL_LOG_WARN, "circuit_breaker: more than 4096 servers; the others have no circuit");
    return NULL;
}

/* The hint of a server name's address: a multiplicative hash of the pointer. */
static inline uint32_t hint_slot(const char *p)
{
    return (uint32_t)(((uint64_t)(uintptr_t)p * SK_MUL) >> (64 - CB_HINT_BITS));
}

struct cb_entry *cb_find(struct cb *cb, sl_str backend, sl_str server)
{
    if (!backend.ptr || !server.ptr || server.len == 0)
        return NULL;
    /* The host hands the same name strings to every transaction in practice, so
     * the entry last found for this address is usually the one: trusted only once
     * its names equal these bytes (an address says nothing across transactions). */
    _Atomic(struct cb_entry *) *hint = &cb->hint[hint_slot(server.ptr)];
    struct cb_entry *e = atomic_load_explicit(hint, memory_order_acquire);
    if (e && e->server_len == server.len && e->backend_len == backend.len &&
        sk_bytes_eq(e->names + backend.len + 1, server.ptr, server.len) &&
        sk_bytes_eq(e->names, backend.ptr, backend.len))
        return e;
    e = table_find(cb, backend, server);
    if (e) /* only on a miss: hot hints are read-only, shared by the workers */
        atomic_store_explicit(hint, e, memory_order_release);
    return e;
}

void cb_table_free(struct cb *cb)
{
    for (uint32_t i = 0; i < CB_HINT_SIZE; i++)
        atomic_store_explicit(&cb->hint[i], NULL, memory_order_relaxed);
    for (uint32_t i = 0; i < CB_TABLE_SIZE; i++) {
        free(atomic_load_explicit(&cb->table[i], memory_order_relaxed));
        atomic_store_explicit(&cb->table[i], NULL, memory_order_relaxed);
    }
}

/* ---- the sliding window: two buckets of `window` each; the estimate is the
 * current bucket plus the previous one weighted by how much of it still lies
 * within the last `window` (as nginx's and Cloudflare's sliding counters). ---- */

void cb_window_add(const struct cb *cb, struct cb_entry *e, uint64_t now, bool total, bool fail)
{
    uint32_t idx = (uint32_t)((now / cb->window_ms) & CB_B_INDEX_MASK);
    _Atomic uint64_t *b = &e->bucket[idx & 1u];
    uint64_t old = atomic_load_explicit(b, memory_order_relaxed), next;
    do {
        uint32_t t = 0, f = 0;
        if (CB_B_INDEX(old) == idx) {
            t = CB_B_TOTAL(old);
            f = CB_B_FAIL(old);
        }
        if (total && t < CB_B_COUNT_MAX)
            t++;
        if (fail && f < CB_B_COUNT_MAX)
            f++;
        next = CB_B_MAKE(idx, t, f);
    } while (!atomic_compare_exchange_weak_explicit(b, &old, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

void cb_window_read(const struct cb *cb, struct cb_entry *e, uint64_t now, double *total,
                    double *fail)
{
    uint32_t idx = (uint32_t)((now / cb->window_ms) & CB_B_INDEX_MASK);
    uint32_t prev_idx = (idx - 1u) & CB_B_INDEX_MASK;
    uint64_t cur = atomic_load_explicit(&e->bucket[idx & 1u], memory_order_relaxed);
    uint64_t prev = atomic_load_explicit(&e->bucket[prev_idx & 1u], memory_order_relaxed);
    double weight = (double)(cb->window_ms - now % cb->window_ms) / (double)cb->window_ms;
    *total = 0;
    *fail = 0;
    if (CB_B_INDEX(cur) == idx) {
        *total += CB_B_TOTAL(cur);
        *fail += CB_B_FAIL(cur);
    }
    if (CB_B_INDEX(prev) == prev_idx) {
        *total += CB_B_TOTAL(prev) * weight;
        *fail += CB_B_FAIL(prev) * weight;
    }
}

void cb_window_clear(struct cb_entry *e)
{
    /* Index 0 with no counts: whichever bucket it matches, it adds nothing. */
    atomic_store_explicit(&e->bucket[0], 0, memory_order_relaxed);
    atomic_store_explicit(&e->bucket[1], 0, memory_order_relaxed);
}
