/* balance_algo.h - internals shared by the balancing algorithms (not for callers).
 *
 * balance_pick() finds the candidate set once, then calls the algorithm's picker
 * from a table indexed by enum conf_balance. A picker is called only when the set
 * has at least one candidate and must return one of them.
 */
#ifndef SLUICE_BALANCE_ALGO_H
#define SLUICE_BALANCE_ALGO_H

#include "balance/balance.h"

/* The candidates of one pick: usable, weight > 0, priority == prio. */
struct balance_set {
    const uint64_t *usable;
    uint32_t prio;
    uint32_t n;          /* number of candidates, >= 1 */
    uint64_t total;      /* sum of their weights */
};

typedef int (*balance_picker)(struct balancer *b, const struct balance_set *s,
                              const char *key, size_t key_len);

/* The first index >= from whose bit is set in usable, or count. */
static inline uint32_t balance_next_usable(const uint64_t *usable, uint32_t count, uint32_t from)
{
    while (from < count) {
        uint32_t w = from / 64u;
        uint64_t bits = usable[w] & (~UINT64_C(0) << (from % 64u));
        if (bits) {
            uint32_t i = w * 64u + (uint32_t)__builtin_ctzll(bits);
            return i < count ? i : count;
        }
        from = (w + 1u) * 64u;
    }
    return count;
}

/* The first candidate of s at index >= from, or b->count. */
static inline uint32_t balance_next(const struct balancer *b, const struct balance_set *s, uint32_t from)
{
    for (uint32_t i = balance_next_usable(s->usable, b->count, from); i < b->count;
         i = balance_next_usable(s->usable, b->count, i + 1u)) {
        if (b->servers[i].weight && b->servers[i].priority == s->prio)
            return i;
    }
    return b->count;
}

#define BALANCE_FOR_EACH(b, s, i) \
    for (uint32_t i = balance_next((b), (s), 0); i < (b)->count; i = balance_next((b), (s), i + 1u))

/* Orders two candidates for a "lowest wins" algorithm: < 0 when i is better than
 * j, 0 when they tie, > 0 when j is better. ctx is the algorithm's own. */
typedef int (*balance_cmp)(const struct balancer *b, const void *ctx, uint32_t i, uint32_t j);

/* The best candidate by cmp; ties (and every candidate when cmp is NULL) share
 * one smooth weighted round robin round, so equal servers alternate. */
int balance_pick_min(struct balancer *b, const struct balance_set *s, balance_cmp cmp, const void *ctx);

/* Sign of a - b for two unsigned products, as balance_cmp wants it. */
static inline int balance_cmp_u64(uint64_t a, uint64_t b)
{
    return (a > b) - (a < b);
}

uint64_t balance_rand(struct balancer *b);
uint64_t balance_mix64(uint64_t x);
/* Picks without progress for a latency estimate to halve (see BALANCE_DECAY_PICKS). */
uint64_t balance_half_life(const struct balancer *b);

int balance_wrr(struct balancer *b, const struct balance_set *s, const char *key, size_t key_len);
int balance_least_conn(struct balancer *b, const struct balance_set *s, const char *key, size_t key_len);
int balance_random_two(struct balancer *b, const struct balance_set *s, const char *key, size_t key_len);
int balance_latency(struct balancer *b, const struct balance_set *s, const char *key, size_t key_len);
int balance_hash(struct balancer *b, const struct balance_set *s, const char *key, size_t key_len);

#endif
