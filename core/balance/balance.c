/* balance.c - candidate selection, dispatch, request accounting and hashing.
 * The algorithms live in balance_wrr.c, balance_load.c, balance_latency.c and
 * balance_hash.c. */
#include "balance/balance_algo.h"

#include <assert.h>

static const balance_picker pickers[CONF_BALANCE_COUNT] = {
    [CONF_BALANCE_WRR] = balance_wrr,
    [CONF_BALANCE_LEAST_CONN] = balance_least_conn,
    [CONF_BALANCE_RANDOM_TWO] = balance_random_two,
    [CONF_BALANCE_LATENCY] = balance_latency,
    [CONF_BALANCE_HASH] = balance_hash,
};

void balance_init(struct balancer *b, enum conf_balance algo, struct balance_server *servers,
                  uint32_t count, uint64_t seed)
{
    assert((unsigned)algo < CONF_BALANCE_COUNT && "balance_init: unknown algorithm");
    b->algo = algo;
    b->servers = servers;
    b->count = count;
    b->rng = seed;
    b->picks = 0;
    for (uint32_t i = 0; i < count; i++) {
        struct balance_server *s = &servers[i];
        assert(s->weight <= CONF_WEIGHT_MAX && "balance_init: weight out of range");
        s->inflight = 0;
        s->ewma_us = 0;
        s->cw = 0;
        s->picked_at = 0;
        s->sampled_at = 0;
    }
}

/* Fills s with the candidates: the usable weight > 0 servers of the lowest
 * priority among them. False when there are none. */
static bool find_candidates(const struct balancer *b, const uint64_t *usable, struct balance_set *s)
{
    s->usable = usable;
    s->prio = UINT32_MAX;
    s->n = 0;
    s->total = 0;
    for (uint32_t i = balance_next_usable(usable, b->count, 0); i < b->count;
         i = balance_next_usable(usable, b->count, i + 1u)) {
        const struct balance_server *srv = &b->servers[i];
        if (srv->weight == 0 || srv->priority > s->prio)
            continue;
        if (srv->priority < s->prio) {
            s->prio = srv->priority;
            s->n = 0;
            s->total = 0;
        }
        s->n++;
        s->total += srv->weight;
    }
    return s->n > 0;
}

int balance_pick(struct balancer *b, const uint64_t *usable, const char *key, size_t key_len)
{
    struct balance_set s;
    if (b->count == 0 || !find_candidates(b, usable, &s))
        return -1;
    int idx = pickers[b->algo](b, &s, key, key_len);
    assert(idx >= 0 && (uint32_t)idx < b->count && "balance picker returned no candidate");
    b->picks++;
    b->servers[idx].picked_at = b->picks;
    return idx;
}

void balance_started(struct balancer *b, int idx)
{
    assert(idx >= 0 && (uint32_t)idx < b->count && "balance_started: index out of range");
    struct balance_server *s = &b->servers[idx];
    if (s->inflight < UINT32_MAX)
        s->inflight++;
}

uint64_t balance_half_life(const struct balancer *b)
{
    return (uint64_t)BALANCE_DECAY_PICKS * (b->count ? b->count : 1u);
}

/* What a failed request on s counts as: twice the slowest estimate among s and
 * every other server, so failing fast never looks fast. */
static uint64_t failure_floor(const struct balancer *b, const struct balance_server *s)
{
    uint64_t slowest = s->ewma_us;
    for (uint32_t i = 0; i < b->count; i++)
        if (b->servers[i].ewma_us > slowest)
            slowest = b->servers[i].ewma_us;
    return slowest > BALANCE_LATENCY_MAX_US / 2 ? BALANCE_LATENCY_MAX_US : 2 * slowest;
}

void balance_finished(struct balancer *b, int idx, uint64_t latency_us, bool ok)
{
    assert(idx >= 0 && (uint32_t)idx < b->count && "balance_finished: index out of range");
    struct balance_server *s = &b->servers[idx];
    assert(s->inflight > 0 && "balance_finished without balance_started");
    if (s->inflight > 0)
        s->inflight--;
    if (ok && latency_us == 0)
        return;

    uint64_t sample = latency_us > BALANCE_LATENCY_MAX_US ? BALANCE_LATENCY_MAX_US : latency_us;
    if (!ok) {
        uint64_t least = failure_floor(b, s);
        if (sample < least)
            sample = least;
    }
    if (sample == 0)
        sample = 1;     /* 0 means "no sample" */
    /* An estimate older than the decay span describes a server that may have
     * changed since: the new sample replaces it instead of moving it by alpha. */
    if (s->ewma_us == 0 || b->picks - s->sampled_at >= balance_half_life(b))
        s->ewma_us = sample;
    else
        s->ewma_us = (s->ewma_us * (BALANCE_EWMA_DEN - BALANCE_EWMA_NUM) + sample * BALANCE_EWMA_NUM
                      + BALANCE_EWMA_DEN / 2) / BALANCE_EWMA_DEN;
    s->sampled_at = b->picks;
}

/* murmur3's fmix64: every input bit affects every output bit. */
uint64_t balance_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

uint64_t balance_name_hash(const char *name, size_t len)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)name[i];
        h *= UINT64_C(0x100000001b3);
    }
    /* FNV-1a alone leaves short inputs poorly spread in the high bits. */
    return balance_mix64(h);
}

/* splitmix64: any seed, including 0, gives a full-period sequence. */
uint64_t balance_rand(struct balancer *b)
{
    b->rng += UINT64_C(0x9e3779b97f4a7c15);
    uint64_t z = b->rng;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
