/* stats.h - counters and latency histograms, written by one worker, read by admin.
 *
 * Each worker owns its own copy of every counter and writes it with a relaxed
 * load + store (no locked instruction on the request path); the admin thread
 * sums the copies of all workers with relaxed loads. Totals are therefore exact
 * once traffic stops and at most a few increments behind while it runs.
 */
#ifndef SLUICE_STATS_H
#define SLUICE_STATS_H

#include <stdatomic.h>
#include <stdint.h>

typedef _Atomic uint64_t stat_t;

static inline void stat_add(stat_t *s, uint64_t n)
{
    atomic_store_explicit(s, atomic_load_explicit(s, memory_order_relaxed) + n,
                          memory_order_relaxed);
}
static inline void stat_sub(stat_t *s, uint64_t n)
{
    atomic_store_explicit(s, atomic_load_explicit(s, memory_order_relaxed) - n,
                          memory_order_relaxed);
}
static inline uint64_t stat_get(const stat_t *s)
{
    return atomic_load_explicit(s, memory_order_relaxed);
}

/* Log-linear latency histogram: 4 buckets per power of two of microseconds, from
 * 1µs up to about 2^36µs (19 hours). Percentiles come out within 19%. */
#define STATS_HIST_SUB 4
#define STATS_HIST_OCTAVES 36
#define STATS_HIST_BUCKETS (STATS_HIST_OCTAVES * STATS_HIST_SUB)

struct stats_hist {
    stat_t bucket[STATS_HIST_BUCKETS];
    stat_t count;
    stat_t sum_us;
};

void stats_hist_add(struct stats_hist *h, uint64_t us);
/* Upper bound in µs of bucket i. */
uint64_t stats_hist_bucket_upper(unsigned i);
unsigned stats_hist_bucket_of(uint64_t us);
/* The q-quantile (0..1) of the sum of n histograms, in µs; 0 when empty. */
uint64_t stats_hist_quantile(const struct stats_hist *const *h, unsigned n, double q);

/* Response classes: [0] none (no response sent), [1] 1xx ... [5] 5xx. */
#define STATS_CLASSES 6
static inline unsigned stats_class(int status)
{
    return status >= 100 && status < 600 ? (unsigned)status / 100 : 0;
}

/* Per frontend, per backend and per server counters (one copy per worker). */
struct stats_counters {
    stat_t requests;            /* requests received (frontend) or sent (server) */
    stat_t responses[STATS_CLASSES];
    stat_t bytes_in, bytes_out; /* body and head bytes from / to the client */
    stat_t upstream_connects;   /* new upstream connections opened */
    stat_t connect_errors, timeouts, retries;
    stat_t inflight;            /* gauge: requests in progress */
    stat_t connections;         /* gauge: open client connections (frontends) */
    stat_t ratelimit_rejected;  /* fed by filters (frontends) */
    stat_t cache_hits, cache_misses;
    stat_t health_ok, health_fail;  /* active checks (servers; main thread, slot 0) */
    struct stats_hist duration; /* request duration (frontend: whole; server: upstream) */
};

#endif
