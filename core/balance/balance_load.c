/* balance_load.c - least_conn and random_two: both compare in-flight requests
 * relative to weight, inflight_i / weight_i, cross-multiplied so no division
 * (inflight < 2^32, weight <= 256: the products fit in 64 bits). */
#include "balance/balance_algo.h"

static int load_cmp(const struct balancer *b, const void *ctx, uint32_t i, uint32_t j)
{
    const struct balance_server *a = &b->servers[i], *c = &b->servers[j];
    return balance_cmp_u64((uint64_t)a->inflight * c->weight, (uint64_t)c->inflight * a->weight);
}

int balance_least_conn(struct balancer *b, const struct balance_set *s, const char *key, size_t key_len)
{
    return balance_pick_min(b, s, load_cmp, NULL);
}

/* A candidate other than skip, drawn with probability weight / total, where
 * total is the weight of the candidates other than skip. */
static uint32_t draw(struct balancer *b, const struct balance_set *s, uint32_t skip, uint64_t total)
{
    /* Modulo bias is below total / 2^64: irrelevant for weights of at most 256 per server. */
    uint64_t r = balance_rand(b) % total;
    uint32_t last = b->count;
    BALANCE_FOR_EACH(b, s, i) {
        if (i == skip)
            continue;
        if (r < b->servers[i].weight)
            return i;
        r -= b->servers[i].weight;
        last = i;
    }
    return last;
}

/* Power of two choices: two distinct candidates drawn by weight, the one with
 * less load relative to its weight wins, the first drawn on a tie (so at equal
 * load traffic follows the weights). */
int balance_random_two(struct balancer *b, const struct balance_set *s, const char *key, size_t key_len)
{
    uint32_t first = draw(b, s, b->count, s->total);
    if (s->n == 1)
        return (int)first;
    uint32_t second = draw(b, s, first, s->total - b->servers[first].weight);
    return (int)(load_cmp(b, NULL, second, first) < 0 ? second : first);
}
