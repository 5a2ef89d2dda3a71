/* cache.c - a worker's memory of recently verified credentials.
 *
 * SHA-256 of a presented key costs a few thousand instructions, more than the
 * rest of a proxied request's budget allows; clients send the same key again and
 * again, so each worker remembers the last credentials that matched a key. Only
 * successful lookups are stored, so every guess still pays for a SHA-256.
 *
 * Two-way set associative, 32 sets: the set comes from a fast non-secret hash of
 * the credential, then both ways are compared in constant time over the
 * presented length (the length is the client's own; stored bytes beyond it are
 * covered by comparing lengths). Entries are wiped when evicted and when the
 * cache is freed. One cache per worker: no locks.
 */
#include "auth.h"

#include <stdlib.h>
#include <string.h>

#define CRED_WORDS 16                   /* credentials up to 128 bytes are cached */
#define CRED_MAX (CRED_WORDS * 8)
#define SETS 32
#define WAYS 2

struct slot {
    uint64_t w[CRED_WORDS];             /* the credential as word() reads it */
    uint64_t len;                       /* 0: empty slot */
    uint64_t key_index;
};

struct auth_cache {
    struct slot s[SETS][WAYS];
    uint8_t victim[SETS];               /* the way to replace next */
};

struct auth_cache *auth_cache_new(void)
{
    return calloc(1, sizeof(struct auth_cache));
}

void auth_cache_free(struct auth_cache *c)
{
    if (!c)
        return;
    explicit_bzero(c, sizeof *c);
    free(c);
}

/* Word i of the credential, zero-padded past its end. get and put both read
 * through here, so only consistency matters: the tail word is the last 8 bytes
 * shifted so that just the credential's own remain. */
static uint64_t word(sl_str cred, size_t i)
{
    uint64_t v = 0;
    size_t off = i * 8, rem = cred.len - off;
    if (rem >= 8) {
        memcpy(&v, cred.ptr + off, 8);
    } else if (cred.len >= 8) {
        memcpy(&v, cred.ptr + cred.len - 8, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        v >>= 8 * (8 - rem);
#else
        v &= ((uint64_t)1 << (8 * rem)) - 1;
#endif
    } else {
        for (size_t j = 0; j < rem; j++)
            v |= (uint64_t)(unsigned char)cred.ptr[off + j] << (8 * j);
    }
    return v;
}

/* Keys share prefixes ("sk-proj-"), so the set comes from the last 8 bytes too. */
static uint32_t set_of(sl_str cred)
{
    uint64_t last = cred.len >= 8 ? word((sl_str){cred.ptr + cred.len - 8, 8}, 0) : 0;
    uint64_t h = (word(cred, 0) ^ cred.len * 0x9e3779b97f4a7c15u) * 0xff51afd7ed558ccdu;
    h = (h ^ last) * 0xc4ceb9fe1a85ec53u;
    return (uint32_t)(h >> 59) % SETS;
}

/* All ones when x == 0, else 0, without a branch. */
static uint64_t zero_mask(uint64_t x)
{
    return (((x | (0 - x)) >> 63) ^ 1) * UINT64_MAX;
}

int64_t auth_cache_get(struct auth_cache *c, sl_str cred)
{
    if (cred.len == 0 || cred.len > CRED_MAX)
        return -1;
    uint32_t set = set_of(cred);
    const struct slot *s0 = &c->s[set][0], *s1 = &c->s[set][1];
    uint64_t d0 = s0->len ^ cred.len, d1 = s1->len ^ cred.len;
    size_t full = cred.len / 8;
    for (size_t i = 0; i < full; i++) {
        uint64_t w;
        memcpy(&w, cred.ptr + 8 * i, 8);
        d0 |= s0->w[i] ^ w;
        d1 |= s1->w[i] ^ w;
    }
    if (cred.len % 8) {
        uint64_t w = word(cred, full);
        d0 |= s0->w[full] ^ w;
        d1 |= s1->w[full] ^ w;
    }
    uint64_t m0 = zero_mask(d0), m1 = zero_mask(d1);
    if (!(m0 | m1))
        return -1;
    c->victim[set] = (uint8_t)(m0 & 1);     /* keep the one just used */
    return (int64_t)((m0 & s0->key_index) | (m1 & s1->key_index));
}

void auth_cache_put(struct auth_cache *c, sl_str cred, uint32_t key_index)
{
    if (cred.len == 0 || cred.len > CRED_MAX)
        return;
    uint32_t set = set_of(cred);
    uint8_t way = c->victim[set];
    struct slot *s = &c->s[set][way];
    explicit_bzero(s, sizeof *s);
    for (size_t i = 0; i * 8 < cred.len; i++)
        s->w[i] = word(cred, i);
    s->len = cred.len;
    s->key_index = key_index;
    c->victim[set] = (uint8_t)(way ^ 1);
}
