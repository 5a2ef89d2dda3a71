/* store_int.h - the store's table, shared by store.c (operations) and
 * store_table.c (shards, hashing, growth, sweeping). Private to core/store. */
#ifndef SLUICE_STORE_INT_H
#define SLUICE_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "store/store.h"

#define STORE_SHARD_BITS 6
#define STORE_SHARDS (1u << STORE_SHARD_BITS)

enum { ENTRY_COUNTER = 1, ENTRY_KV = 2 };

/* A kv value is immutable and reference-counted, so readers copy it out after
 * releasing the shard lock and a large value never holds the lock for long. */
struct kv_val {
    atomic_uint refs;
    size_t len;
    char data[];
};

struct entry {
    struct entry *next;       /* bucket chain; also the list of entries to free */
    uint64_t hash;
    uint64_t expires;         /* monotonic ms, 0 = never */
    union { int64_t counter; struct kv_val *val; } u;
    uint32_t klen;
    uint8_t kind;
    char key[];
};

struct shard {
    _Alignas(64) pthread_mutex_t lock;   /* a cache line per shard: no false sharing */
    struct entry **buckets;
    size_t nbuckets;                     /* a power of two */
    size_t count;
    size_t purge_pos;                    /* next bucket a purge at a bound looks at */
};

struct store {
    struct shard shards[STORE_SHARDS];
    uint64_t seed;
    uint64_t max_entries, max_bytes;
    _Atomic uint64_t entries, bytes;     /* global bounds, reserved before inserting */
    pthread_mutex_t sweep_lock;          /* guards the sweep cursor; store_sweep only trylocks */
    unsigned sweep_shard;
    size_t sweep_pos;                    /* next bucket of sweep_shard */
};

/* Bytes an entry and a kv value count for: the allocation and a bucket slot. */
static inline uint64_t entry_cost(size_t klen)
{
    return (uint64_t)(sizeof(struct entry) + sizeof(struct entry *) + klen);
}
static inline uint64_t val_cost(size_t vlen)
{
    return (uint64_t)(sizeof(struct kv_val) + vlen);
}
static inline bool entry_expired(const struct entry *e, uint64_t now_ms)
{
    return e->expires != 0 && now_ms >= e->expires;
}

uint64_t store_hash(uint64_t seed, const void *data, size_t len);
static inline struct shard *store_shard_of(struct store *s, uint64_t hash)
{
    return &s->shards[hash >> (64 - STORE_SHARD_BITS)];
}

/* All shard_* functions run with sh->lock held. Dropped entries are unlinked,
 * their bytes released, and pushed on *dead for entry_free_list() after unlock. */
/* The entry for key, or NULL; *link receives the pointer that points to it. */
struct entry *shard_find(struct shard *sh, uint64_t hash, const char *key, size_t klen,
                         struct entry ***link);
void shard_insert(struct shard *sh, struct entry *e);    /* grows the buckets as needed */
void shard_drop(struct store *s, struct shard *sh, struct entry **link, struct entry **dead);
/* Reserves n_entries and bytes against the global bounds; when they would be
 * passed, purges expired entries from this shard (bounded) and tries once more. */
bool shard_reserve(struct store *s, struct shard *sh, uint64_t now_ms, uint64_t n_entries,
                   uint64_t bytes, struct entry **dead);
void store_release(struct store *s, uint64_t n_entries, uint64_t bytes);

void kv_val_unref(struct kv_val *v);
void entry_free_list(struct entry *dead);

#endif
