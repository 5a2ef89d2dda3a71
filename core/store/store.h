/* store.h - the process-wide shared store: counters and key/value with TTL.
 *
 * One instance serves every worker thread and outlives configuration reloads; it
 * backs the plugin ABI's "local" store (include/sluice/plugin.h). Every operation
 * is exact and linearizable per key: it takes the lock of one shard (of 64) for
 * a lookup and a few stores, never does I/O and never waits on anything else.
 * Memory is bounded by max_entries and max_bytes (key + value + per-entry
 * overhead); an operation that would pass either bound fails with SL_ERR_LIMIT
 * instead of evicting live data. Expired entries are dropped lazily when touched
 * and by store_sweep(), which the owner calls periodically.
 *
 * Times are caller-supplied monotonic milliseconds (now_ms), so tests control
 * time. ttl_ms 0 means no expiry; an entry is expired once now_ms >= its expiry.
 * Return values are the SL_* codes of sluice/plugin.h. A key holds either a
 * counter or a kv value: counter operations on a kv value (and kv_get on a
 * counter) answer SL_ERR_INVALID; kv_set replaces either; kv_del deletes either.
 * Keys are bytes (1 KiB at most, SL_ERR_INVALID beyond; the empty key is a key),
 * values up to 64 MiB (SL_ERR_LIMIT beyond). Output pointers may be NULL.
 */
#ifndef SLUICE_STORE_H
#define SLUICE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/plugin.h"

#define STORE_MAX_KEY 1024u
#define STORE_MAX_VALUE ((size_t)64 << 20)
#define STORE_DEFAULT_ENTRIES 1000000u
#define STORE_DEFAULT_BYTES ((uint64_t)256 << 20)

struct store;
struct store_limits { uint64_t max_entries; uint64_t max_bytes; }; /* 0 = the defaults above */

struct store *store_create(const struct store_limits *lim); /* NULL lim = defaults; NULL on ENOMEM */
/* No operation may be running or start afterwards. */
void store_destroy(struct store *s);

/* Creates the counter at 0 (expiring at now + ttl_ms) when absent or expired; an
 * existing counter keeps its expiry. limit > 0: applies delta only when
 * value + delta <= limit, else SL_LIMITED with the counter unchanged. *value is
 * the value after (or the current one when refused); *ttl_left_ms the time left,
 * 0 = none. SL_ERR_LIMIT when a new entry would pass a bound, SL_ERR_INVALID when
 * the key holds a kv value or the sum would overflow int64. */
int32_t store_counter_add(struct store *s, const char *key, size_t klen, int64_t delta, int64_t limit,
                          uint64_t ttl_ms, uint64_t now_ms, int64_t *value, uint64_t *ttl_left_ms);
/* SL_OK, SL_NOT_FOUND, or SL_ERR_INVALID (a kv value, a bad key). */
int32_t store_counter_get(struct store *s, const char *key, size_t klen, uint64_t now_ms,
                          int64_t *value, uint64_t *ttl_left_ms);

/* Copies the value out into alloc(ctx, len) (e.g. transaction memory). The value
 * is pinned by a reference, so alloc and the copy run after the shard lock is
 * released: alloc may take its time, and even call the store. An empty value is
 * returned as "" with len 0 without calling alloc. SL_OK, SL_NOT_FOUND,
 * SL_ERR_NOMEM (alloc returned NULL), SL_ERR_INVALID (a counter, a bad key). */
int32_t store_kv_get(struct store *s, const char *key, size_t klen, uint64_t now_ms,
                     void *(*alloc)(void *ctx, size_t n), void *ctx,
                     const char **data, size_t *len, uint64_t *ttl_left_ms);
/* Sets or replaces the value and its expiry. SL_ERR_LIMIT when too big for a bound
 * (the old value stays), SL_ERR_NOMEM. */
int32_t store_kv_set(struct store *s, const char *key, size_t klen, const void *val, size_t vlen,
                     uint64_t ttl_ms, uint64_t now_ms);
/* Deletes a kv value or a counter: SL_OK, or SL_NOT_FOUND (also when expired). */
int32_t store_kv_del(struct store *s, const char *key, size_t klen, uint64_t now_ms);

/* Drops expired entries from a bounded slice of the table: visits at most
 * about max_visit buckets and entries (a bucket's chain is always finished),
 * resuming where the previous sweep stopped, and stops after one full pass. Returns how many it dropped; 0 at once when another
 * thread is sweeping. Call it periodically (e.g. every 100 ms with 4096). */
uint32_t store_sweep(struct store *s, uint64_t now_ms, uint32_t max_visit);

struct store_stats { uint64_t entries, bytes; }; /* expired but not yet dropped included */
void store_stats(struct store *s, struct store_stats *out);

#endif
