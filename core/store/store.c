/* store.c - the store's operations: counters and key/value with TTL.
 *
 * Each operation hashes the key, takes its shard's lock, does one lookup and a
 * few stores, and unlocks; memory is freed and values are copied after unlock.
 * A counter_add on an existing (or expired, reused in place) counter allocates
 * nothing: it is the per-request path of rate limiting.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

static bool key_ok(const struct store *s, const char *key, size_t klen)
{
    return s && (key || klen == 0) && klen <= STORE_MAX_KEY;
}

static uint64_t expiry_of(uint64_t now_ms, uint64_t ttl_ms)
{
    uint64_t at;
    if (ttl_ms == 0)
        return 0;
    return __builtin_add_overflow(now_ms, ttl_ms, &at) ? UINT64_MAX : at;
}

/* Time left of a live entry (expires > now_ms), 0 = none. */
static uint64_t time_left(const struct entry *e, uint64_t now_ms)
{
    return e->expires ? e->expires - now_ms : 0;
}

/* Looks key up, dropping it when expired: the live entry or NULL. */
static struct entry *find_live(struct store *s, struct shard *sh, uint64_t hash, const char *key,
                               size_t klen, uint64_t now_ms, struct entry **dead)
{
    struct entry **link;
    struct entry *e = shard_find(sh, hash, key, klen, &link);
    if (e && entry_expired(e, now_ms)) {
        shard_drop(s, sh, link, dead);
        return NULL;
    }
    return e;
}

/* A new entry, reserved against the bounds and linked, or NULL with *rc set. */
static struct entry *entry_new(struct store *s, struct shard *sh, uint64_t hash, const char *key,
                               size_t klen, uint64_t extra_bytes, uint64_t now_ms,
                               struct entry **dead, int32_t *rc)
{
    uint64_t cost = entry_cost(klen) + extra_bytes;
    if (!shard_reserve(s, sh, now_ms, 1, cost, dead)) {
        *rc = SL_ERR_LIMIT;
        return NULL;
    }
    struct entry *e = malloc(sizeof *e + klen);
    if (!e) {
        store_release(s, 1, cost);
        *rc = SL_ERR_NOMEM;
        return NULL;
    }
    e->hash = hash;
    e->klen = (uint32_t)klen;
    if (klen)
        memcpy(e->key, key, klen);
    e->kind = ENTRY_COUNTER;
    e->u.counter = 0;
    e->expires = 0;
    shard_insert(sh, e);
    return e;
}

int32_t store_counter_add(struct store *s, const char *key, size_t klen, int64_t delta, int64_t limit,
                          uint64_t ttl_ms, uint64_t now_ms, int64_t *value, uint64_t *ttl_left_ms)
{
    if (!key_ok(s, key, klen))
        return SL_ERR_INVALID;
    uint64_t hash = store_hash(s->seed, key, klen);
    struct shard *sh = store_shard_of(s, hash);
    struct entry *dead = NULL;
    struct kv_val *drop = NULL;
    int32_t rc = SL_OK;

    pthread_mutex_lock(&sh->lock);
    struct entry **link;
    struct entry *e = shard_find(sh, hash, key, klen, &link);
    if (e && entry_expired(e, now_ms)) {
        /* Reuse the entry in place: a window that restarts allocates nothing. */
        if (e->kind == ENTRY_KV) {
            drop = e->u.val;
            store_release(s, 0, val_cost(drop->len));
            e->kind = ENTRY_COUNTER;
        }
        e->u.counter = 0;
        e->expires = expiry_of(now_ms, ttl_ms);
    } else if (e && e->kind != ENTRY_COUNTER) {
        rc = SL_ERR_INVALID;
        e = NULL;
    } else if (!e) {
        e = entry_new(s, sh, hash, key, klen, 0, now_ms, &dead, &rc);
        if (e)
            e->expires = expiry_of(now_ms, ttl_ms);
    }
    if (e) {
        int64_t next;
        if (__builtin_add_overflow(e->u.counter, delta, &next))
            rc = limit > 0 && delta > 0 ? SL_LIMITED : SL_ERR_INVALID;
        else if (limit > 0 && next > limit)
            rc = SL_LIMITED;
        else
            e->u.counter = next;
        if (value)
            *value = e->u.counter;
        if (ttl_left_ms)
            *ttl_left_ms = time_left(e, now_ms);
    }
    pthread_mutex_unlock(&sh->lock);

    kv_val_unref(drop);
    entry_free_list(dead);
    return rc;
}

int32_t store_counter_get(struct store *s, const char *key, size_t klen, uint64_t now_ms,
                          int64_t *value, uint64_t *ttl_left_ms)
{
    if (!key_ok(s, key, klen))
        return SL_ERR_INVALID;
    uint64_t hash = store_hash(s->seed, key, klen);
    struct shard *sh = store_shard_of(s, hash);
    struct entry *dead = NULL;
    int32_t rc = SL_OK;

    pthread_mutex_lock(&sh->lock);
    struct entry *e = find_live(s, sh, hash, key, klen, now_ms, &dead);
    if (!e) {
        rc = SL_NOT_FOUND;
    } else if (e->kind != ENTRY_COUNTER) {
        rc = SL_ERR_INVALID;
    } else {
        if (value)
            *value = e->u.counter;
        if (ttl_left_ms)
            *ttl_left_ms = time_left(e, now_ms);
    }
    pthread_mutex_unlock(&sh->lock);

    entry_free_list(dead);
    return rc;
}

int32_t store_kv_get(struct store *s, const char *key, size_t klen, uint64_t now_ms,
                     void *(*alloc)(void *ctx, size_t n), void *ctx,
                     const char **data, size_t *len, uint64_t *ttl_left_ms)
{
    if (!key_ok(s, key, klen) || !alloc)
        return SL_ERR_INVALID;
    uint64_t hash = store_hash(s->seed, key, klen);
    struct shard *sh = store_shard_of(s, hash);
    struct entry *dead = NULL;
    struct kv_val *v = NULL;
    uint64_t left = 0;
    int32_t rc = SL_OK;

    pthread_mutex_lock(&sh->lock);
    struct entry *e = find_live(s, sh, hash, key, klen, now_ms, &dead);
    if (!e) {
        rc = SL_NOT_FOUND;
    } else if (e->kind != ENTRY_KV) {
        rc = SL_ERR_INVALID;
    } else {
        v = e->u.val;
        atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
        left = time_left(e, now_ms);
    }
    pthread_mutex_unlock(&sh->lock);
    entry_free_list(dead);
    if (!v)
        return rc;

    const char *out = "";
    if (v->len) {
        char *copy = alloc(ctx, v->len);
        if (copy)
            memcpy(copy, v->data, v->len);
        else
            rc = SL_ERR_NOMEM;
        out = copy;
    }
    if (rc == SL_OK) {
        if (data)
            *data = out;
        if (len)
            *len = v->len;
        if (ttl_left_ms)
            *ttl_left_ms = left;
    }
    kv_val_unref(v);
    return rc;
}

int32_t store_kv_set(struct store *s, const char *key, size_t klen, const void *val, size_t vlen,
                     uint64_t ttl_ms, uint64_t now_ms)
{
    if (!key_ok(s, key, klen) || (!val && vlen))
        return SL_ERR_INVALID;
    if (vlen > STORE_MAX_VALUE)
        return SL_ERR_LIMIT;
    /* Build the value before locking: a large copy never holds the shard. */
    struct kv_val *nv = malloc(sizeof *nv + vlen);
    if (!nv)
        return SL_ERR_NOMEM;
    atomic_init(&nv->refs, 1);
    nv->len = vlen;
    if (vlen)
        memcpy(nv->data, val, vlen);
    uint64_t hash = store_hash(s->seed, key, klen);
    struct shard *sh = store_shard_of(s, hash);
    struct entry *dead = NULL;
    struct kv_val *drop = NULL;
    int32_t rc = SL_OK;

    pthread_mutex_lock(&sh->lock);
    struct entry *e = find_live(s, sh, hash, key, klen, now_ms, &dead);
    if (e) {
        if (shard_reserve(s, sh, now_ms, 0, val_cost(vlen), &dead)) {
            if (e->kind == ENTRY_KV) {
                drop = e->u.val;
                store_release(s, 0, val_cost(drop->len));
            }
        } else {
            rc = SL_ERR_LIMIT;
            e = NULL;
        }
    } else {
        e = entry_new(s, sh, hash, key, klen, val_cost(vlen), now_ms, &dead, &rc);
    }
    if (e) {
        e->kind = ENTRY_KV;
        e->u.val = nv;
        e->expires = expiry_of(now_ms, ttl_ms);
        nv = NULL;
    }
    pthread_mutex_unlock(&sh->lock);

    free(nv);
    kv_val_unref(drop);
    entry_free_list(dead);
    return rc;
}

int32_t store_kv_del(struct store *s, const char *key, size_t klen, uint64_t now_ms)
{
    if (!key_ok(s, key, klen))
        return SL_ERR_INVALID;
    uint64_t hash = store_hash(s->seed, key, klen);
    struct shard *sh = store_shard_of(s, hash);
    struct entry *dead = NULL;
    int32_t rc = SL_NOT_FOUND;

    pthread_mutex_lock(&sh->lock);
    struct entry **link;
    struct entry *e = shard_find(sh, hash, key, klen, &link);
    if (e) {
        rc = entry_expired(e, now_ms) ? SL_NOT_FOUND : SL_OK;
        shard_drop(s, sh, link, &dead);
    }
    pthread_mutex_unlock(&sh->lock);

    entry_free_list(dead);
    return rc;
}
