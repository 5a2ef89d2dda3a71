/* balance_wrr.c - smooth weighted round robin, and "lowest cost, ties by it".
 *
 * The round is nginx's ngx_http_upstream_get_peer(): each participant adds its
 * weight to its current weight cw, the largest cw wins (the first on equality)
 * and gives back the round's total. Only candidates take part, so a server that
 * is unusable keeps its cw frozen and the others split exactly by their own
 * weights; the sum of all cw stays 0, which bounds how far a returning server's
 * stale cw can skew the next few picks.
 */
#include "balance/balance_algo.h"

int balance_pick_min(struct balancer *b, const struct balance_set *s, balance_cmp cmp, const void *ctx)
{
    uint32_t best = b->count;
    if (cmp && s->n > 1) {
        BALANCE_FOR_EACH(b, s, i)
            if (best == b->count || cmp(b, ctx, i, best) < 0)
                best = i;
    }

    struct balance_server *chosen = NULL;
    int64_t total = 0;
    int idx = -1;
    BALANCE_FOR_EACH(b, s, i) {
        if (best != b->count && i != best && cmp(b, ctx, i, best) != 0)
            continue;
        struct balance_server *srv = &b->servers[i];
        srv->cw += srv->weight;
        total += srv->weight;
        if (!chosen || srv->cw > chosen->cw) {
            chosen = srv;
            idx = (int)i;
        }
    }
    chosen->cw -= total;
    return idx;
}

int balance_wrr(struct balancer *b, const struct balance_set *s, const char *key, size_t key_len)
{
    return balance_pick_min(b, s, NULL, NULL);
}
