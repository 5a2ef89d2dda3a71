/* hist.c - log-linear latency histograms, see stats.h. */
#include "stats/stats.h"

unsigned stats_hist_bucket_of(uint64_t us)
{
    if (us < STATS_HIST_SUB)
        return (unsigned)us;
    unsigned octave = 63u - (unsigned)__builtin_clzll(us); /* us >= 4: octave >= 2 */
    unsigned sub = (unsigned)(us >> (octave - 2)) & (STATS_HIST_SUB - 1);
    unsigned i = (octave - 1) * STATS_HIST_SUB + sub;
    return i < STATS_HIST_BUCKETS ? i : STATS_HIST_BUCKETS - 1;
}

uint64_t stats_hist_bucket_upper(unsigned i)
{
    if (i < STATS_HIST_SUB)
        return i + 1;
    unsigned octave = i / STATS_HIST_SUB + 1, sub = i % STATS_HIST_SUB;
    return ((uint64_t)(STATS_HIST_SUB + sub + 1)) << (octave - 2);
}

void stats_hist_add(struct stats_hist *h, uint64_t us)
{
    stat_add(&h->bucket[stats_hist_bucket_of(us)], 1);
    stat_add(&h->count, 1);
    stat_add(&h->sum_us, us);
}

uint64_t stats_hist_quantile(const struct stats_hist *const *h, unsigned n, double q)
{
    uint64_t total = 0;
    for (unsigned k = 0; k < n; k++)
        total += stat_get(&h[k]->count);
    if (total == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)total);
    if (rank >= total)
        rank = total - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < STATS_HIST_BUCKETS; i++) {
        for (unsigned k = 0; k < n; k++)
            seen += stat_get(&h[k]->bucket[i]);
        if (seen > rank)
            return stats_hist_bucket_upper(i);
    }
    return stats_hist_bucket_upper(STATS_HIST_BUCKETS - 1);
}
