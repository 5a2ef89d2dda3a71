/* host_store.c - the store half of the host table over core/store.
 *
 * "local" is one process-wide store (core/store) created on first use; it lives
 * until exit, so its contents carry over reloads. Remote stores (redis://) will
 * answer SL_PENDING and call back on the worker; this version refuses them at
 * configuration time with a located error.
 */
#include "plugin/host_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

struct sl_store {
    struct store *local;
};

static struct sl_store local_handle;
static pthread_once_t local_once = PTHREAD_ONCE_INIT;
static atomic_uint ops;

static void local_create(void)
{
    local_handle.local = store_create(NULL);
}

/* Expiry needs milliseconds, not nanoseconds: the coarse clock is the cheap one. */
static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Expired entries go a slice at a time, paid for by every 1024th operation. */
static void maybe_sweep(struct store *s, uint64_t now)
{
    if ((atomic_fetch_add_explicit(&ops, 1, memory_order_relaxed) & 1023u) == 0)
        store_sweep(s, now, 1024);
}

void plugin_store_shutdown(void)
{
    if (local_handle.local) {
        store_destroy(local_handle.local);
        local_handle.local = NULL;
    }
}

static sl_store *h_store_open(sl_config *cfg, sl_str spec)
{
    struct plugin_cfg *pc = (struct plugin_cfg *)cfg;
    if (!spec.len || (spec.len == 5 && !memcmp(spec.ptr, "local", 5))) {
        pthread_once(&local_once, local_create);
        return local_handle.local ? &local_handle : NULL;
    }
    if (pc)
        conf_error(pc->d, pc->cf->config ? &pc->cf->config->loc : &pc->cf->loc,
                   "store '%.*s' is not available in this version (use local)", (int)(spec.len > 64 ? 64 : spec.len),
                   spec.ptr);
    return NULL;
}

static void fill(sl_store_result *res, int32_t status, int64_t value, uint64_t ttl)
{
    if (!res)
        return;
    res->status = status;
    res->value = value;
    res->ttl_ms = ttl;
    res->data = (sl_str){NULL, 0};
}

static int32_t h_counter_add(sl_store *st, sl_worker *w, const sl_counter_op *op, sl_store_result *res,
                             sl_store_cb cb, void *arg)
{
    (void)w, (void)cb, (void)arg;
    if (!st || !st->local || !op || (!op->key.ptr && op->key.len))
        return SL_ERR_INVALID;
    uint64_t now = now_ms();
    maybe_sweep(st->local, now);
    int64_t v = 0;
    uint64_t ttl = 0;
    int32_t r = store_counter_add(st->local, op->key.ptr, op->key.len, op->delta, op->limit, op->ttl_ms, now,
                                  &v, &ttl);
    fill(res, r, v, ttl);
    return r == SL_LIMITED ? SL_OK : r;
}

static int32_t h_counter_get(sl_store *st, sl_worker *w, sl_str key, sl_store_result *res, sl_store_cb cb,
                             void *arg)
{
    (void)w, (void)cb, (void)arg;
    if (!st || !st->local || (!key.ptr && key.len))
        return SL_ERR_INVALID;
    int64_t v = 0;
    uint64_t ttl = 0;
    int32_t r = store_counter_get(st->local, key.ptr, key.len, now_ms(), &v, &ttl);
    fill(res, r, v, ttl);
    return r == SL_NOT_FOUND ? SL_OK : r;
}

static void *txn_alloc_cb(void *ctx, size_t n)
{
    return plugin_host()->txn_alloc((sl_txn *)ctx, n);
}

static int32_t h_kv_get(sl_store *st, sl_txn *t, sl_str key, sl_store_result *res, sl_store_cb cb, void *arg)
{
    (void)cb, (void)arg;
    if (!st || !st->local || !t || (!key.ptr && key.len))
        return SL_ERR_INVALID;
    const char *data = NULL;
    size_t len = 0;
    uint64_t ttl = 0;
    int32_t r = store_kv_get(st->local, key.ptr, key.len, now_ms(), txn_alloc_cb, t, &data, &len, &ttl);
    fill(res, r, 0, ttl);
    if (res && r == SL_OK)
        res->data = (sl_str){data, len};
    return r == SL_NOT_FOUND ? SL_OK : r;
}

static int32_t h_kv_set(sl_store *st, sl_worker *w, sl_str key, sl_str value, uint64_t ttl_ms)
{
    (void)w;
    if (!st || !st->local || (!key.ptr && key.len) || (!value.ptr && value.len))
        return SL_ERR_INVALID;
    uint64_t now = now_ms();
    maybe_sweep(st->local, now);
    return store_kv_set(st->local, key.ptr, key.len, value.ptr, value.len, ttl_ms, now);
}

static int32_t h_kv_del(sl_store *st, sl_worker *w, sl_str key)
{
    (void)w;
    if (!st || !st->local || (!key.ptr && key.len))
        return SL_ERR_INVALID;
    return store_kv_del(st->local, key.ptr, key.len, now_ms());
}

void host_fill_store(sl_host *h)
{
    h->store_open = h_store_open;
    h->counter_add = h_counter_add;
    h->counter_get = h_counter_get;
    h->kv_get = h_kv_get;
    h->kv_set = h_kv_set;
    h->kv_del = h_kv_del;
}
