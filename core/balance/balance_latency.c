/* balance_latency.c - lowest EWMA latency, load-aware.
 *
 * A candidate's cost is ewma x (inflight + 1) / weight: the fastest server wins
 * while idle, and the in-flight factor spreads a burst instead of sending it all
 * to one server before its answers raise its estimate (as Finagle's peak EWMA).
 * The estimate used here is adjusted in two ways:
 * - No sample yet: with nothing in flight it counts as 0, so an unknown server is
 *   tried first; while its first request runs it counts as the fastest sampled
 *   candidate, so a slow newcomer does not receive a whole burst.
 * - Decay: it halves every balance_half_life() picks in which the server was not
 *   picked, so a once-slow server is retried after about half_life x log2(its
 *   slowness ratio) picks instead of being starved forever. Being picked resets
 *   the decay; the probe's answer then replaces the stale estimate (balance.c).
 * Costs fit in 64 bits: ewma < 2^32, inflight clamped to 2^23, weight <= 256.
 */
#include "balance/balance_algo.h"

#define INFLIGHT_CLAMP (UINT32_C(1) << 23)

struct latency_ctx {
    uint64_t standin;     /* estimate for an unsampled server with requests in flight */
    uint64_t half_life;
};

static uint64_t estimate(const struct balancer *b, const struct latency_ctx *c,
                         const struct balance_server *srv)
{
    if (srv->ewma_us == 0)
        return srv->inflight ? c->standin : 0;
    uint64_t halvings = (b->picks - srv->picked_at) / c->half_life;
    uint64_t e = halvings >= 64 ? 0 : srv->ewma_us >> halvings;
    return e ? e : 1;
}

static uint64_t load_factor(const struct balance_server *srv)
{
    return (srv->inflight < INFLIGHT_CLAMP ? srv->inflight : INFLIGHT_CLAMP) + 1u;
}

static int latency_cmp(const struct balancer *b, const void *ctx, uint32_t i, uint32_t j)
{
    const struct balance_server *x = &b->servers[i], *y = &b->servers[j];
    uint64_t cx = estimate(b, ctx, x) * load_factor(x) * y->weight;
    uint64_t cy = estimate(b, ctx, y) * load_factor(y) * x->weight;
    return balance_cmp_u64(cx, cy);
}

int balance_latency(struct balancer *b, const struct balance_set *s, const char *key, size_t key_len)
{
    struct latency_ctx c = {.standin = 0, .half_life = balance_half_life(b)};
    BALANCE_FOR_EACH(b, s, i) {
        const struct balance_server *srv = &b->servers[i];
        if (srv->ewma_us) {
            uint64_t e = estimate(b, &c, srv);
            if (c.standin == 0 || e < c.standin)
                c.standin = e;
        }
    }
    if (c.standin == 0)
        c.standin = 1;      /* nothing sampled: cost is load over weight, as least_conn */
    return balance_pick_min(b, s, latency_cmp, &c);
}
