/* balance_hash.c - weighted rendezvous (highest random weight) hashing.
 *
 * For key k each candidate i draws u_i = mix(hash(k) ^ name_hash_i) in (0, 1)
 * and scores w_i / -log2(u_i); the highest score wins, which happens with
 * probability w_i / sum(w). The score depends only on the key, the server's name
 * and its weight, never on array order, seeds or earlier picks: every worker and
 * every process agrees, and removing a server moves only the keys it had.
 * -log2 is computed in 32.32 fixed point with integer arithmetic so that hosts
 * with different libm implementations still agree.
 */
#include "balance/balance_algo.h"

/* -log2(h / 2^64) in 32.32 fixed point; h == 0 is treated as 1. Always >= 1. */
static uint64_t neg_log2_q32(uint64_t h)
{
    if (h == 0)
        h = 1;
    uint32_t e = 63u - (uint32_t)__builtin_clzll(h);          /* floor(log2(h)) */
    uint64_t m = (h << (63u - e)) >> 32;                      /* mantissa, 1.31 fixed point */
    uint64_t frac = 0;
    /* Bit by bit: squaring the mantissa doubles its log; a result >= 2 means the
     * next fraction bit is 1. m < 2^32 so m * m fits in 64 bits. */
    for (int bit = 31; bit >= 0; bit--) {
        m = (m * m) >> 31;
        if (m >= (UINT64_C(1) << 32)) {
            m >>= 1;
            frac |= UINT64_C(1) << bit;
        }
    }
    return ((uint64_t)(64u - e) << 32) - frac;
}

int balance_hash(struct balancer *b, const struct balance_set *s, const char *key, size_t key_len)
{
    if (!key || key_len == 0)
        return balance_wrr(b, s, NULL, 0);
    uint64_t kh = balance_name_hash(key, key_len);
    uint32_t best = b->count;
    uint64_t best_l = 0, best_u = 0;
    BALANCE_FOR_EACH(b, s, i) {
        const struct balance_server *srv = &b->servers[i];
        uint64_t u = balance_mix64(kh ^ srv->name_hash);
        uint64_t l = neg_log2_q32(u);       /* < 2^39; x weight (<= 2^8) fits */
        if (best == b->count) {
            best = i;
            best_l = l;
            best_u = u;
            continue;
        }
        /* w_i / l_i > w_best / l_best, cross-multiplied. */
        uint64_t mine = (uint64_t)srv->weight * best_l, theirs = (uint64_t)b->servers[best].weight * l;
        /* Exact ties are broken by values that do not depend on order either. */
        if (mine > theirs || (mine == theirs && (u > best_u || (u == best_u
                                && srv->name_hash > b->servers[best].name_hash)))) {
            best = i;
            best_l = l;
            best_u = u;
        }
    }
    return (int)best;
}
