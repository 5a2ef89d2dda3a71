/* test_store.c - core/store: counters, kv, TTL, bounds, sweeping, exactness
 * under concurrency. Time is the now_ms argument, so nothing sleeps. */
#include "harness.h"
#include "store/store.h"
#include "store/store_int.h"   /* bounds_purge_on_demand picks keys of one shard */

#include <pthread.h>
#include <stdlib.h>

#define K(str) (str), (sizeof(str) - 1)

static int64_t add(struct store *s, const char *key, int64_t delta, int64_t limit, uint64_t ttl,
                   uint64_t now, int32_t *rc, uint64_t *left)
{
    int64_t v = -999;
    uint64_t l = 999;
    *rc = store_counter_add(s, key, strlen(key), delta, limit, ttl, now, &v, &l);
    if (left)
        *left = l;
    return v;
}

/* Allocations of kv_get, freed together (or refused, to test SL_ERR_NOMEM). */
struct pool { void *p[64]; int n; int refuse; };
static void *pool_alloc(void *ctx, size_t n)
{
    struct pool *pl = ctx;
    if (pl->refuse || pl->n == 64)
        return NULL;
    return pl->p[pl->n++] = malloc(n);
}
static void pool_free(struct pool *pl)
{
    while (pl->n > 0)
        free(pl->p[--pl->n]);
}

static void counter_create_add_negative(void)
{
    struct store *s = store_create(NULL);
    REQUIRE(s != NULL);
    int32_t rc;
    uint64_t left;
    CHECK_EQ_INT(add(s, "a", 1, 0, 0, 1000, &rc, &left), 1);
    CHECK_EQ_INT(rc, SL_OK);
    CHECK_EQ_U64(left, 0);
    CHECK_EQ_INT(add(s, "a", 5, 0, 0, 1000, &rc, NULL), 6);
    CHECK_EQ_INT(add(s, "a", -10, 0, 0, 1000, &rc, NULL), -4);
    CHECK_EQ_INT(rc, SL_OK);
    CHECK_EQ_INT(add(s, "b", -3, 0, 0, 1000, &rc, NULL), -3);
    int64_t v = 0;
    CHECK_EQ_INT(store_counter_get(s, K("a"), 1000, &v, &left), SL_OK);
    CHECK_EQ_INT(v, -4);
    CHECK_EQ_INT(store_counter_get(s, K("zz"), 1000, &v, &left), SL_NOT_FOUND);
    /* Overflow is refused, the counter unchanged. */
    CHECK_EQ_INT(add(s, "big", INT64_MAX, 0, 0, 0, &rc, NULL), INT64_MAX);
    CHECK_EQ_INT(add(s, "big", 1, 0, 0, 0, &rc, NULL), INT64_MAX);
    CHECK_EQ_INT(rc, SL_ERR_INVALID);
    CHECK_EQ_INT(add(s, "big", 1, 5, 0, 0, &rc, NULL), INT64_MAX);
    CHECK_EQ_INT(rc, SL_LIMITED);
    /* Binary keys: the NUL byte is part of the key. */
    CHECK_EQ_INT(store_counter_add(s, "k\0x", 3, 7, 0, 0, 0, &v, NULL), SL_OK);
    CHECK_EQ_INT(store_counter_add(s, "k\0y", 3, 1, 0, 0, 0, &v, NULL), SL_OK);
    CHECK_EQ_INT(v, 1);
    CHECK_EQ_INT(store_counter_add(s, "", 0, 2, 0, 0, 0, &v, NULL), SL_OK);
    CHECK_EQ_INT(store_counter_add(s, NULL, 0, 2, 0, 0, 0, &v, NULL), SL_OK);
    CHECK_EQ_INT(v, 4);
    store_destroy(s);
}

static void counter_limit_boundary(void)
{
    struct store *s = store_create(NULL);
    REQUIRE(s != NULL);
    int32_t rc;
    CHECK_EQ_INT(add(s, "r", 3, 10, 0, 0, &rc, NULL), 3);
    CHECK_EQ_INT(add(s, "r", 3, 10, 0, 0, &rc, NULL), 6);
    CHECK_EQ_INT(add(s, "r", 3, 10, 0, 0, &rc, NULL), 9);
    CHECK_EQ_INT(add(s, "r", 1, 10, 0, 0, &rc, NULL), 10);   /* exactly at the limit: accepted */
    CHECK_EQ_INT(rc, SL_OK);
    CHECK_EQ_INT(add(s, "r", 1, 10, 0, 0, &rc, NULL), 10);   /* one past: refused */
    CHECK_EQ_INT(rc, SL_LIMITED);
    CHECK_EQ_INT(add(s, "r", 0, 10, 0, 0, &rc, NULL), 10);   /* a query at the limit */
    CHECK_EQ_INT(rc, SL_OK);
    CHECK_EQ_INT(add(s, "r", -4, 10, 0, 0, &rc, NULL), 6);   /* giving back */
    CHECK_EQ_INT(rc, SL_OK);
    CHECK_EQ_INT(add(s, "r", 5, 10, 0, 0, &rc, NULL), 6);
    CHECK_EQ_INT(rc, SL_LIMITED);
    CHECK_EQ_INT(add(s, "r", 4, 10, 0, 0, &rc, NULL), 10);
    CHECK_EQ_INT(rc, SL_OK);
    /* A lower limit later (a reload) refuses even a zero delta above it. */
    CHECK_EQ_INT(add(s, "r", 0, 8, 0, 0, &rc, NULL), 10);
    CHECK_EQ_INT(rc, SL_LIMITED);
    /* A new counter whose first delta is too big: refused, left at 0. */
    CHECK_EQ_INT(add(s, "n", 11, 10, 0, 0, &rc, NULL), 0);
    CHECK_EQ_INT(rc, SL_LIMITED);
    CHECK_EQ_INT(add(s, "n", 10, 10, 0, 0, &rc, NULL), 10);
    CHECK_EQ_INT(rc, SL_OK);
    store_destroy(s);
}

static void counter_expiry_and_ttl_left(void)
{
    struct store *s = store_create(NULL);
    REQUIRE(s != NULL);
    int32_t rc;
    uint64_t left;
    int64_t v;
    CHECK_EQ_INT(add(s, "w", 1, 0, 1000, 1000, &rc, &left), 1);
    CHECK_EQ_U64(left, 1000);
    /* An existing counter keeps its expiry, whatever ttl the next add gives. */
    CHECK_EQ_INT(add(s, "w", 1, 0, 5000, 1500, &rc, &left), 2);
    CHECK_EQ_U64(left, 500);
    CHECK_EQ_INT(store_counter_get(s, K("w"), 1999, &v, &left), SL_OK);
    CHECK_EQ_INT(v, 2);
    CHECK_EQ_U64(left, 1);
    CHECK_EQ_INT(store_counter_get(s, K("w"), 2000, &v, &left), SL_NOT_FOUND);
    /* Expired: starts again from 0 with a new expiry. */
    CHECK_EQ_INT(add(s, "w", 3, 0, 1000, 2000, &rc, &left), 3);
    CHECK_EQ_U64(left, 1000);
    CHECK_EQ_INT(add(s, "w", 1, 0, 0, 2999, &rc, &left), 4);
    CHECK_EQ_U64(left, 1);
    CHECK_EQ_INT(add(s, "w", 1, 0, 1000, 3000, &rc, &left), 1);   /* reused in place */
    CHECK_EQ_U64(left, 1000);
    /* Created without a ttl: never expires, later ttls do not change that. */
    CHECK_EQ_INT(add(s, "forever", 1, 0, 0, 0, &rc, &left), 1);
    CHECK_EQ_INT(add(s, "forever", 1, 0, 500, 10, &rc, &left), 2);
    CHECK_EQ_U64(left, 0);
    CHECK_EQ_INT(store_counter_get(s, K("forever"), UINT64_MAX - 1, &v, &left), SL_OK);
    /* A ttl that overflows the clock saturates instead of wrapping into the past. */
    CHECK_EQ_INT(add(s, "far", 1, 0, UINT64_MAX, 10, &rc, &left), 1);
    CHECK_EQ_U64(left, UINT64_MAX - 10);
    struct store_stats st;
    store_stats(s, &st);
    CHECK_EQ_U64(st.entries, 3);
    store_destroy(s);
}

static void kv_set_get_replace_delete(void)
{
    struct store *s = store_create(NULL);
    REQUIRE(s != NULL);
    struct pool pl = {0};
    const char *d = NULL;
    size_t len = 0;
    uint64_t left = 9;
    CHECK_EQ_INT(store_kv_get(s, K("k"), 0, pool_alloc, &pl, &d, &len, &left), SL_NOT_FOUND);
    CHECK_EQ_INT(store_kv_set(s, K("k"), K("hello"), 0, 0), SL_OK);
    CHECK_EQ_INT(store_kv_get(s, K("k"), 0, pool_alloc, &pl, &d, &len, &left), SL_OK);
    CHECK_EQ_U64(len, 5);
    CHECK(d && memcmp(d, "hello", 5) == 0);
    CHECK_EQ_U64(left, 0);
    CHECK_EQ_INT(store_kv_set(s, K("k"), K("a much longer value"), 0, 0), SL_OK);
    CHECK_EQ_INT(store_kv_get(s, K("k"), 0, pool_alloc, &pl, &d, &len, NULL), SL_OK);
    CHECK(len == 19 && memcmp(d, "a much longer value", 19) == 0);
    CHECK_EQ_INT(store_kv_set(s, K("k"), K("x"), 0, 0), SL_OK);
    CHECK_EQ_INT(store_kv_get(s, K("k"), 0, pool_alloc, &pl, &d, &len, NULL), SL_OK);
    CHECK(len == 1 && d[0] == 'x');
    /* An empty value is a value. */
    CHECK_EQ_INT(store_kv_set(s, K("e"), NULL, 0, 0, 0), SL_OK);
    CHECK_EQ_INT(store_kv_get(s, K("e"), 0, pool_alloc, &pl, &d, &len, NULL), SL_OK);
    CHECK_EQ_U64(len, 0);
    CHECK(d != NULL);
    CHECK_EQ_INT(store_kv_del(s, K("k"), 0), SL_OK);
    CHECK_EQ_INT(store_kv_del(s, K("k"), 0), SL_NOT_FOUND);
    CHECK_EQ_INT(store_kv_get(s, K("k"), 0, pool_alloc, &pl, &d, &len, NULL), SL_NOT_FOUND);
    /* Kinds: a kv key is no counter and the other way round; set and del take either. */
    int64_t v;
    CHECK_EQ_INT(store_counter_add(s, K("e"), 1, 0, 0, 0, &v, NULL), SL_ERR_INVALID);
    CHECK_EQ_INT(store_counter_get(s, K("e"), 0, &v, NULL), SL_ERR_INVALID);
    CHECK_EQ_INT(store_counter_add(s, K("c"), 1, 0, 0, 0, &v, NULL), SL_OK);
    CHECK_EQ_INT(store_kv_get(s, K("c"), 0, pool_alloc, &pl, &d, &len, NULL), SL_ERR_INVALID);
    CHECK_EQ_INT(store_kv_set(s, K("c"), K("now kv"), 0, 0), SL_OK);
    CHECK_EQ_INT(store_kv_get(s, K("c"), 0, pool_alloc, &pl, &d, &len, NULL), SL_OK);
    CHECK_EQ_INT(store_counter_add(s, K("d"), 1, 0, 0, 0, &v, NULL), SL_OK);
    CHECK_EQ_INT(store_kv_del(s, K("d"), 0), SL_OK);
    CHECK_EQ_INT(store_kv_get(s, K("e"), 0, NULL, NULL, &d, &len, NULL), SL_ERR_INVALID);
    CHECK_EQ_INT(store_kv_set(s, K("e"), NULL, 3, 0, 0), SL_ERR_INVALID);
    pool_free(&pl);
    store_destroy(s);
}

static void kv_expiry(void)
{
    struct store *s = store_create(NULL);
    REQUIRE(s != NULL);
    struct pool pl = {0};
    const char *d;
    size_t len;
    uint64_t left;
    CHECK_EQ_INT(store_kv_set(s, K("t"), K("v1"), 100, 0), SL_OK);
    CHECK_EQ_INT(store_kv_get(s, K("t"), 60, pool_alloc, &pl, &d, &len, &left), SL_OK);
    CHECK_EQ_U64(left, 40);
    /* Replacing also replaces the expiry. */
    CHECK_EQ_INT(store_kv_set(s, K("t"), K("v2"), 100, 60), SL_OK);
    CHECK_EQ_INT(store_kv_get(s, K("t"), 150, pool_alloc, &pl, &d, &len, &left), SL_OK);
    CHECK_EQ_U64(left, 10);
    CHECK_EQ_INT(store_kv_get(s, K("t"), 160, pool_alloc, &pl, &d, &len, &left), SL_NOT_FOUND);
    struct store_stats st;
    store_stats(s, &st);
    CHECK_EQ_U64(st.entries, 0);   /* dropped when touched */
    CHECK_EQ_U64(st.bytes, 0);
    CHECK_EQ_INT(store_kv_set(s, K("t"), K("v3"), 10, 200), SL_OK);
    CHECK_EQ_INT(store_kv_del(s, K("t"), 210), SL_NOT_FOUND);   /* expired: not found, but gone */
    store_stats(s, &st);
    CHECK_EQ_U64(st.entries, 0);
    /* An expired kv key becomes a counter again. */
    CHECK_EQ_INT(store_kv_set(s, K("x"), K("kv"), 10, 0), SL_OK);
    int64_t v;
    CHECK_EQ_INT(store_counter_add(s, K("x"), 2, 0, 0, 10, &v, &left), SL_OK);
    CHECK_EQ_INT(v, 2);
    store_stats(s, &st);
    CHECK_EQ_U64(st.entries, 1);
    pool_free(&pl);
    store_destroy(s);
}

static void kv_alloc_failure(void)
{
    struct store *s = store_create(NULL);
    REQUIRE(s != NULL);
    struct pool pl = {0};
    const char *d = NULL;
    size_t len = 77;
    CHECK_EQ_INT(store_kv_set(s, K("k"), K("value"), 0, 0), SL_OK);
    pl.refuse = 1;
    CHECK_EQ_INT(store_kv_get(s, K("k"), 0, pool_alloc, &pl, &d, &len, NULL), SL_ERR_NOMEM);
    CHECK(d == NULL);
    pl.refuse = 0;
    CHECK_EQ_INT(store_kv_get(s, K("k"), 0, pool_alloc, &pl, &d, &len, NULL), SL_OK);
    CHECK(len == 5 && memcmp(d, "value", 5) == 0);
    pool_free(&pl);
    store_destroy(s);
}

static void bounds_max_entries(void)
{
    struct store_limits lim = {.max_entries = 3, .max_bytes = 0};
    struct store *s = store_create(&lim);
    REQUIRE(s != NULL);
    int32_t rc;
    add(s, "a", 1, 0, 0, 0, &rc, NULL);
    CHECK_EQ_INT(rc, SL_OK);
    add(s, "b", 1, 0, 100, 0, &rc, NULL);
    CHECK_EQ_INT(rc, SL_OK);
    CHECK_EQ_INT(store_kv_set(s, K("c"), K("v"), 100, 0), SL_OK);
    add(s, "d", 1, 0, 0, 0, &rc, NULL);
    CHECK_EQ_INT(rc, SL_ERR_LIMIT);
    CHECK_EQ_INT(store_kv_set(s, K("d"), K("v"), 0, 0), SL_ERR_LIMIT);
    /* Existing entries still work at the bound. */
    CHECK_EQ_INT(add(s, "a", 1, 0, 0, 0, &rc, NULL), 2);
    CHECK_EQ_INT(rc, SL_OK);
    CHECK_EQ_INT(store_kv_set(s, K("c"), K("v2"), 100, 0), SL_OK);
    CHECK_EQ_INT(store_kv_del(s, K("a"), 0), SL_OK);
    add(s, "d", 1, 0, 0, 0, &rc, NULL);
    CHECK_EQ_INT(rc, SL_OK);
    add(s, "e", 1, 0, 0, 0, &rc, NULL);
    CHECK_EQ_INT(rc, SL_ERR_LIMIT);
    /* Expired entries stop counting once swept. */
    CHECK_EQ_INT(store_sweep(s, 100, 100000), 2);
    add(s, "e", 1, 0, 0, 100, &rc, NULL);
    CHECK_EQ_INT(rc, SL_OK);
    struct store_stats st;
    store_stats(s, &st);
    CHECK_EQ_U64(st.entries, 2);
    store_destroy(s);
}

/* With max_entries 1, an expired entry of the same shard is purged on demand
 * (expired entries elsewhere wait for store_sweep). */
static void bounds_purge_on_demand(void)
{
    struct store_limits lim = {.max_entries = 1, .max_bytes = 0};
    struct store *s = store_create(&lim);
    REQUIRE(s != NULL);
    int32_t rc;
    add(s, "same", 1, 0, 10, 0, &rc, NULL);
    CHECK_EQ_INT(rc, SL_OK);
    CHECK_EQ_INT(store_kv_set(s, K("same"), K("v"), 10, 20), SL_OK);   /* reuses the key */
    add(s, "same", 1, 0, 10, 40, &rc, NULL);
    CHECK_EQ_INT(rc, SL_OK);
    /* Another key of the same shard. */
    struct shard *want = store_shard_of(s, store_hash(s->seed, K("same")));
    char key[32];
    int n = 0;
    for (int i = 0; i < 100000; i++) {
        n = snprintf(key, sizeof key, "other%d", i);
        if (store_shard_of(s, store_hash(s->seed, key, (size_t)n)) == want)
            break;
    }
    CHECK_EQ_INT(store_kv_set(s, key, (size_t)n, K("v"), 0, 45), SL_ERR_LIMIT);
    CHECK_EQ_INT(store_kv_set(s, key, (size_t)n, K("v"), 0, 50), SL_OK);
    CHECK_EQ_INT(store_counter_get(s, K("same"), 50, NULL, NULL), SL_NOT_FOUND);
    store_destroy(s);
}

static void bounds_max_bytes(void)
{
    struct store_limits lim = {.max_entries = 0, .max_bytes = 4096};
    struct store *s = store_create(&lim);
    REQUIRE(s != NULL);
    static char big[8192];
    memset(big, 'b', sizeof big);
    struct store_stats st;
    CHECK_EQ_INT(store_kv_set(s, K("x"), big, 5000, 0, 0), SL_ERR_LIMIT);
    CHECK_EQ_INT(store_kv_set(s, K("x"), big, 1900, 0, 0), SL_OK);
    store_stats(s, &st);
    CHECK(st.bytes > 1900 && st.bytes < 2100);
    CHECK_EQ_INT(store_kv_set(s, K("y"), big, 1900, 0, 0), SL_OK);
    CHECK_EQ_INT(store_kv_set(s, K("z"), big, 1900, 0, 0), SL_ERR_LIMIT);
    /* A replacement that does not fit leaves the old value. */
    CHECK_EQ_INT(store_kv_set(s, K("x"), big, 3000, 0, 0), SL_ERR_LIMIT);
    struct pool pl = {0};
    const char *d;
    size_t len;
    CHECK_EQ_INT(store_kv_get(s, K("x"), 0, pool_alloc, &pl, &d, &len, NULL), SL_OK);
    CHECK_EQ_U64(len, 1900);
    store_stats(s, &st);
    CHECK(st.bytes <= 4096);
    CHECK_EQ_U64(st.entries, 2);
    /* Many counters up to the byte bound, never past it. */
    int32_t rc = SL_OK;
    int made = 0;
    char key[32];
    for (int i = 0; i < 1000 && rc == SL_OK; i++) {
        snprintf(key, sizeof key, "c%d", i);
        add(s, key, 1, 0, 0, 0, &rc, NULL);
        made += rc == SL_OK;
    }
    CHECK_EQ_INT(rc, SL_ERR_LIMIT);
    CHECK(made > 0);
    store_stats(s, &st);
    CHECK(st.bytes <= 4096);
    CHECK_EQ_INT(store_kv_del(s, K("x"), 0), SL_OK);
    CHECK_EQ_INT(store_kv_del(s, K("y"), 0), SL_OK);
    for (int i = 0; i < made; i++) {
        snprintf(key, sizeof key, "c%d", i);
        CHECK_EQ_INT(store_kv_del(s, key, strlen(key), 0), SL_OK);
    }
    store_stats(s, &st);
    CHECK_EQ_U64(st.entries, 0);
    CHECK_EQ_U64(st.bytes, 0);
    /* Past the value bound: refused before anything is read or allocated. */
    CHECK_EQ_INT(store_kv_set(s, K("h"), big, STORE_MAX_VALUE + 1, 0, 0), SL_ERR_LIMIT);
    pool_free(&pl);
    store_destroy(s);
}

static void key_length_limit(void)
{
    struct store *s = store_create(NULL);
    REQUIRE(s != NULL);
    static char key[STORE_MAX_KEY + 1];
    memset(key, 'k', sizeof key);
    int64_t v;
    struct pool pl = {0};
    const char *d;
    size_t len;
    CHECK_EQ_INT(store_counter_add(s, key, STORE_MAX_KEY, 1, 0, 0, 0, &v, NULL), SL_OK);
    CHECK_EQ_INT(store_counter_get(s, key, STORE_MAX_KEY, 0, &v, NULL), SL_OK);
    CHECK_EQ_INT(store_counter_add(s, key, STORE_MAX_KEY + 1, 1, 0, 0, 0, &v, NULL), SL_ERR_INVALID);
    CHECK_EQ_INT(store_counter_get(s, key, STORE_MAX_KEY + 1, 0, &v, NULL), SL_ERR_INVALID);
    CHECK_EQ_INT(store_kv_set(s, key, STORE_MAX_KEY + 1, K("v"), 0, 0), SL_ERR_INVALID);
    CHECK_EQ_INT(store_kv_get(s, key, STORE_MAX_KEY + 1, 0, pool_alloc, &pl, &d, &len, NULL),
                 SL_ERR_INVALID);
    CHECK_EQ_INT(store_kv_del(s, key, STORE_MAX_KEY + 1, 0), SL_ERR_INVALID);
    CHECK_EQ_INT(store_counter_add(s, NULL, 3, 1, 0, 0, 0, &v, NULL), SL_ERR_INVALID);
    /* A key one byte shorter is another key. */
    CHECK_EQ_INT(store_counter_add(s, key, STORE_MAX_KEY - 1, 5, 0, 0, 0, &v, NULL), SL_OK);
    CHECK_EQ_INT(v, 5);
    store_destroy(s);
}

static void sweep_bounded(void)
{
    struct store *s = store_create(NULL);
    REQUIRE(s != NULL);
    char key[32];
    int32_t rc;
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "t%d", i);
        add(s, key, 1, 0, 100, 0, &rc, NULL);
        snprintf(key, sizeof key, "kv%d", i);
        CHECK_EQ_INT(store_kv_set(s, key, strlen(key), key, strlen(key), 200, 0), SL_OK);
    }
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "p%d", i);
        add(s, key, 1, 0, 0, 0, &rc, NULL);
    }
    struct store_stats st;
    CHECK_EQ_U64(store_sweep(s, 99, 1000000), 0);
    /* Small slices: each returns little, together they drop exactly the counters. */
    uint32_t total = 0, most = 0;
    for (int i = 0; i < 10000 && total < 3000; i++) {
        uint32_t n = store_sweep(s, 100, 50);
        total += n;
        most = n > most ? n : most;
    }
    CHECK_EQ_U64(total, 3000);
    CHECK(most <= 64);   /* a bucket's chain is finished past the budget */
    store_stats(s, &st);
    CHECK_EQ_U64(st.entries, 3500);
    CHECK_EQ_U64(store_sweep(s, 1000, 1000000), 3000);
    store_stats(s, &st);
    CHECK_EQ_U64(st.entries, 500);
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "p%d", i);
        int64_t v = 0;
        CHECK_EQ_INT(store_counter_get(s, key, strlen(key), 1000, &v, NULL), SL_OK);
        CHECK_EQ_INT(v, 1);
    }
    CHECK_EQ_U64(store_sweep(s, 1000, 0), 0);
    store_destroy(s);
}

/* The table grows and shrinks back; every key stays reachable. */
static void many_keys(void)
{
    struct store *s = store_create(NULL);
    REQUIRE(s != NULL);
    char key[32];
    int32_t rc;
    int bad = 0;
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "key:%d", i);
        if (add(s, key, i, 0, (uint64_t)(i % 2) * 50, 0, &rc, NULL) != i || rc != SL_OK)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "key:%d", i);
        int64_t v = -1;
        if (store_counter_get(s, key, strlen(key), 10, &v, NULL) != SL_OK || v != i)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_U64(store_sweep(s, 50, UINT32_MAX), 50000);
    CHECK_EQ_U64(store_sweep(s, 50, UINT32_MAX), 0);
    for (int i = 0; i < 100000; i += 2) {
        snprintf(key, sizeof key, "key:%d", i);
        if (store_kv_del(s, key, strlen(key), 50) != SL_OK)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_U64(store_sweep(s, 50, UINT32_MAX), 0);   /* gives the buckets back */
    struct store_stats st;
    store_stats(s, &st);
    CHECK_EQ_U64(st.entries, 0);
    CHECK_EQ_U64(st.bytes, 0);
    add(s, "again", 1, 0, 0, 50, &rc, NULL);
    CHECK_EQ_INT(rc, SL_OK);
    store_destroy(s);
}

/* ---- concurrency ---- */

struct worker {
    pthread_t th;
    struct store *s;
    int id;
    long ok, limited, errors;
};

static void *limit_worker(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 20000; i++) {
        int64_t v;
        int32_t rc = store_counter_add(w->s, K("shared"), 1, 10000, 0, 0, &v, NULL);
        if (rc == SL_OK)
            w->ok++;
        else if (rc == SL_LIMITED && v == 10000)
            w->limited++;
        else
            w->errors++;
    }
    return NULL;
}

static void concurrent_limit_exact(void)
{
    struct store *s = store_create(NULL);
    REQUIRE(s != NULL);
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.s = s, .id = i};
        REQUIRE(pthread_create(&w[i].th, NULL, limit_worker, &w[i]) == 0);
    }
    long ok = 0, limited = 0, errors = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(w[i].th, NULL);
        ok += w[i].ok;
        limited += w[i].limited;
        errors += w[i].errors;
    }
    CHECK_EQ_INT(ok, 10000);
    CHECK_EQ_INT(limited, 70000);
    CHECK_EQ_INT(errors, 0);
    int64_t v = 0;
    CHECK_EQ_INT(store_counter_get(s, K("shared"), 0, &v, NULL), SL_OK);
    CHECK_EQ_INT(v, 10000);
    store_destroy(s);
}

#define NKEYS 100
#define ROUNDS 2000

static void *total_worker(void *arg)
{
    struct worker *w = arg;
    char key[16];
    for (int r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < NKEYS; k++) {
            int n = snprintf(key, sizeof key, "k%d", (k + w->id * 7) % NKEYS);
            int64_t v;
            if (store_counter_add(w->s, key, (size_t)n, 1 + (k % 3), 0, 0, 0, &v, NULL) != SL_OK)
                w->errors++;
        }
    }
    return NULL;
}

static void concurrent_totals_exact(void)
{
    struct store *s = store_create(NULL);
    REQUIRE(s != NULL);
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.s = s, .id = i};
        REQUIRE(pthread_create(&w[i].th, NULL, total_worker, &w[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(w[i].th, NULL);
        CHECK_EQ_INT(w[i].errors, 0);
    }
    /* Thread i adds 1 + (k % 3) to key (k + 7i) % NKEYS, ROUNDS times. */
    int64_t want[NKEYS] = {0};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < NKEYS; k++)
            want[(k + i * 7) % NKEYS] += (int64_t)ROUNDS * (1 + (k % 3));
    char key[16];
    for (int k = 0; k < NKEYS; k++) {
        int n = snprintf(key, sizeof key, "k%d", k);
        int64_t v = -1;
        CHECK_EQ_INT(store_counter_get(s, key, (size_t)n, 0, &v, NULL), SL_OK);
        CHECK_EQ_INT(v, want[k]);
    }
    store_destroy(s);
}

/* kv set/get/del and a sweeper racing on a few keys: every value read is whole
 * (len bytes of one letter), and the accounting returns to zero. */
static void *kv_worker(void *arg)
{
    struct worker *w = arg;
    char buf[600], key[16];
    uint64_t now = 0;
    struct pool pl = {0};
    for (int i = 0; i < 20000; i++, now++) {
        int n = snprintf(key, sizeof key, "kv%d", (i * 31 + w->id) % 20);
        size_t len = (size_t)(i * 17 % 600);
        const char *d;
        size_t got;
        switch (i % 4) {
        case 0:
        case 1:
            memset(buf, 'a' + (i % 26), len);
            if (store_kv_set(w->s, key, (size_t)n, buf, len, (uint64_t)(i % 3) * 5, now) != SL_OK)
                w->errors++;
            break;
        case 2:
            if (store_kv_get(w->s, key, (size_t)n, now, pool_alloc, &pl, &d, &got, NULL) == SL_OK) {
                for (size_t j = 1; j < got; j++)
                    if (d[j] != d[0]) {
                        w->errors++;
                        break;
                    }
                w->ok++;
            }
            pool_free(&pl);
            break;
        default:
            if (w->id == 0)
                store_sweep(w->s, now, 8);
            else
                store_kv_del(w->s, key, (size_t)n, now);
        }
    }
    return NULL;
}

static void concurrent_kv_churn(void)
{
    struct store *s = store_create(NULL);
    REQUIRE(s != NULL);
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.s = s, .id = i};
        REQUIRE(pthread_create(&w[i].th, NULL, kv_worker, &w[i]) == 0);
    }
    long ok = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(w[i].th, NULL);
        CHECK_EQ_INT(w[i].errors, 0);
        ok += w[i].ok;
    }
    CHECK(ok > 0);
    char key[16];
    for (int k = 0; k < 20; k++) {
        int n = snprintf(key, sizeof key, "kv%d", k);
        store_kv_del(s, key, (size_t)n, 0);
    }
    struct store_stats st;
    store_stats(s, &st);
    CHECK_EQ_U64(st.entries, 0);
    CHECK_EQ_U64(st.bytes, 0);
    store_destroy(s);
}

TEST_MAIN(RUN(counter_create_add_negative) RUN(counter_limit_boundary)
          RUN(counter_expiry_and_ttl_left) RUN(kv_set_get_replace_delete) RUN(kv_expiry)
          RUN(kv_alloc_failure) RUN(bounds_max_entries) RUN(bounds_purge_on_demand)
          RUN(bounds_max_bytes) RUN(key_length_limit) RUN(sweep_bounded) RUN(many_keys)
          RUN(concurrent_limit_exact) RUN(concurrent_totals_exact) RUN(concurrent_kv_churn))
