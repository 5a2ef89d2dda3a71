/* store_table.c - the store's sharded hash table: hashing, lookup, growth,
 * bounds accounting and the sweeping of expired entries. */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MIN_BUCKETS 16u
#define PURGE_VISIT 1024u   /* bound on the work of a purge when a bound is hit */

/* ---- hashing: a wyhash-style multiply-fold, seeded per process so clients
 * choosing keys (addresses, key names) cannot aim at one bucket. ---- */

#define P0 0xa0761d6478bd642fULL
#define P1 0xe7037ed1a0b428dbULL
#define P2 0x8ebc6af09c88c6e3ULL

static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}
static inline uint64_t rd64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline uint64_t rd32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

uint64_t store_hash(uint64_t seed, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ mix((uint64_t)len ^ P0, P1);
    size_t n = len;
    uint64_t a = 0, b = 0;
    for (; n > 16; p += 16, n -= 16)
        h = mix(rd64(p) ^ P1, rd64(p + 8) ^ h);
    if (n > 8) {
        a = rd64(p);
        b = rd64(p + n - 8);
    } else if (n >= 4) {
        a = rd32(p);
        b = rd32(p + n - 4);
    } else if (n > 0) {
        a = ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
    }
    return mix(P2 ^ (uint64_t)len, mix(a ^ P1, b ^ h));
}

static uint64_t random_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)(uintptr_t)&ts;
    }
    return mix(seed ^ P0, P2);
}

/* ---- lifetime ---- */

struct store *store_create(const struct store_limits *lim)
{
    size_t size = (sizeof(struct store) + 63u) & ~(size_t)63u;
    struct store *s = aligned_alloc(64, size);
    if (!s)
        return NULL;
    memset(s, 0, size);
    s->max_entries = lim && lim->max_entries ? lim->max_entries : STORE_DEFAULT_ENTRIES;
    s->max_bytes = lim && lim->max_bytes ? lim->max_bytes : STORE_DEFAULT_BYTES;
    s->seed = random_seed();
    atomic_init(&s->entries, 0);
    atomic_init(&s->bytes, 0);
    pthread_mutex_init(&s->sweep_lock, NULL);
    for (unsigned i = 0; i < STORE_SHARDS; i++) {
        struct shard *sh = &s->shards[i];
        pthread_mutex_init(&sh->lock, NULL);
        sh->nbuckets = MIN_BUCKETS;
        sh->buckets = calloc(MIN_BUCKETS, sizeof *sh->buckets);
        if (!sh->buckets) {
            store_destroy(s);
            return NULL;
        }
    }
    return s;
}

void store_destroy(struct store *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < STORE_SHARDS; i++) {
        struct shard *sh = &s->shards[i];
        for (size_t b = 0; sh->buckets && b < sh->nbuckets; b++) {
            struct entry *e = sh->buckets[b];
            while (e) {
                struct entry *next = e->next;
                e->next = NULL;
                entry_free_list(e);
                e = next;
            }
        }
        free(sh->buckets);
        pthread_mutex_destroy(&sh->lock);
    }
    pthread_mutex_destroy(&s->sweep_lock);
    free(s);
}

void kv_val_unref(struct kv_val *v)
{
    if (v && atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1)
        free(v);
}

void entry_free_list(struct entry *dead)
{
    while (dead) {
        struct entry *next = dead->next;
        if (dead->kind == ENTRY_KV)
            kv_val_unref(dead->u.val);
        free(dead);
        dead = next;
    }
}

/* ---- the table of one shard ---- */

struct entry *shard_find(struct shard *sh, uint64_t hash, const char *key, size_t klen,
                         struct entry ***link)
{
    struct entry **l = &sh->buckets[hash & (sh->nbuckets - 1)];
    for (; *l; l = &(*l)->next) {
        struct entry *e = *l;
        if (e->hash == hash && e->klen == klen && (klen == 0 || memcmp(e->key, key, klen) == 0)) {
            *link = l;
            return e;
        }
    }
    *link = l;
    return NULL;
}

/* Rehashes into n buckets; on ENOMEM keeps the old ones (longer chains, still correct). */
static void shard_resize(struct shard *sh, size_t n)
{
    struct entry **nb = calloc(n, sizeof *nb);
    if (!nb)
        return;
    for (size_t b = 0; b < sh->nbuckets; b++) {
        struct entry *e = sh->buckets[b];
        while (e) {
            struct entry *next = e->next;
            struct entry **slot = &nb[e->hash & (n - 1)];
            e->next = *slot;
            *slot = e;
            e = next;
        }
    }
    free(sh->buckets);
    sh->buckets = nb;
    sh->nbuckets = n;
    sh->purge_pos = 0;
}

void shard_insert(struct shard *sh, struct entry *e)
{
    /* Load factor 1. Growth rehashes the shard under its lock: O(entries / 64),
     * amortized O(1) per insert. */
    if (sh->count >= sh->nbuckets)
        shard_resize(sh, sh->nbuckets * 2);
    struct entry **slot = &sh->buckets[e->hash & (sh->nbuckets - 1)];
    e->next = *slot;
    *slot = e;
    sh->count++;
}

void store_release(struct store *s, uint64_t n_entries, uint64_t bytes)
{
    if (n_entries)
        atomic_fetch_sub_explicit(&s->entries, n_entries, memory_order_relaxed);
    if (bytes)
        atomic_fetch_sub_explicit(&s->bytes, bytes, memory_order_relaxed);
}

void shard_drop(struct store *s, struct shard *sh, struct entry **link, struct entry **dead)
{
    struct entry *e = *link;
    *link = e->next;
    sh->count--;
    store_release(s, 1, entry_cost(e->klen) + (e->kind == ENTRY_KV ? val_cost(e->u.val->len) : 0));
    e->next = *dead;
    *dead = e;
}

/* Drops expired entries from bucket *pos onwards, visiting at most budget buckets
 * and entries (at least one bucket). *wrapped tells a full pass ended. Growth
 * only moves an entry of bucket b to b or b + n, so a pass misses nothing. */
static uint32_t shard_purge(struct store *s, struct shard *sh, size_t *pos, uint64_t now_ms,
                            size_t budget, size_t *visited, bool *wrapped, struct entry **dead)
{
    uint32_t dropped = 0;
    size_t seen = 0;
    *wrapped = false;
    while (seen < budget || seen == 0) {
        if (*pos >= sh->nbuckets) {
            *pos = 0;
            *wrapped = true;
            break;
        }
        struct entry **l = &sh->buckets[(*pos)++];
        seen++;
        while (*l) {
            seen++;
            if (entry_expired(*l, now_ms)) {
                shard_drop(s, sh, l, dead);
                dropped++;
            } else {
                l = &(*l)->next;
            }
        }
    }
    *visited = seen;
    return dropped;
}

static bool try_reserve(struct store *s, uint64_t n_entries, uint64_t bytes)
{
    /* Reserve first, check after: concurrent inserts can never pass a bound
     * together (near a bound both may fail, which is the safe side). */
    if (n_entries &&
        atomic_fetch_add_explicit(&s->entries, n_entries, memory_order_relaxed) + n_entries >
            s->max_entries) {
        store_release(s, n_entries, 0);
        return false;
    }
    if (atomic_fetch_add_explicit(&s->bytes, bytes, memory_order_relaxed) + bytes > s->max_bytes) {
        store_release(s, n_entries, bytes);
        return false;
    }
    return true;
}

bool shard_reserve(struct store *s, struct shard *sh, uint64_t now_ms, uint64_t n_entries,
                   uint64_t bytes, struct entry **dead)
{
    if (try_reserve(s, n_entries, bytes))
        return true;
    size_t visited;
    bool wrapped;
    if (shard_purge(s, sh, &sh->purge_pos, now_ms, PURGE_VISIT, &visited, &wrapped, dead) == 0)
        return false;
    return try_reserve(s, n_entries, bytes);
}

/* ---- sweeping and statistics ---- */

uint32_t store_sweep(struct store *s, uint64_t now_ms, uint32_t max_visit)
{
    if (!s || max_visit == 0 || pthread_mutex_trylock(&s->sweep_lock) != 0)
        return 0;
    uint32_t dropped = 0;
    size_t budget = max_visit;
    /* One full pass: every shard, and the start of the one begun last time. */
    unsigned passed = 0, shards = STORE_SHARDS + (s->sweep_pos > 0);
    while (budget > 0 && passed < shards) {
        struct shard *sh = &s->shards[s->sweep_shard];
        struct entry *dead = NULL;
        size_t visited;
        bool wrapped;
        pthread_mutex_lock(&sh->lock);
        dropped += shard_purge(s, sh, &s->sweep_pos, now_ms, budget, &visited, &wrapped, &dead);
        /* Give back most of the buckets of a shard that emptied out. */
        if (wrapped && sh->nbuckets > MIN_BUCKETS && sh->count < sh->nbuckets / 8) {
            size_t n = sh->nbuckets;
            while (n > MIN_BUCKETS && sh->count < n / 4)
                n /= 2;
            shard_resize(sh, n);
        }
        pthread_mutex_unlock(&sh->lock);
        entry_free_list(dead);
        budget = visited < budget ? budget - visited : 0;
        if (wrapped) {
            s->sweep_shard = (s->sweep_shard + 1) % STORE_SHARDS;
            passed++;
        }
    }
    pthread_mutex_unlock(&s->sweep_lock);
    return dropped;
}

void store_stats(struct store *s, struct store_stats *out)
{
    out->entries = atomic_load_explicit(&s->entries, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&s->bytes, memory_order_relaxed);
}
