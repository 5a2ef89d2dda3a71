/* test_balance.c - core/balance: every algorithm, priority groups, the usable set. */
#include "harness.h"
#include "balance/balance.h"

#define MAXS 160

/* A backend of n servers named s0, s1, ... with every server usable. */
struct fx {
    struct balance_server srv[MAXS];
    char names[MAXS][12];
    uint64_t usable[BALANCE_WORDS(MAXS)];
    struct balancer b;
    uint32_t n;
};

static const enum conf_balance all_algos[] = {
    CONF_BALANCE_WRR, CONF_BALANCE_LEAST_CONN, CONF_BALANCE_RANDOM_TWO,
    CONF_BALANCE_LATENCY, CONF_BALANCE_HASH,
};
#define NALGOS (sizeof all_algos / sizeof all_algos[0])

/* weights (NULL: all 1) and prios (NULL: all 0) give server i its settings;
 * names[i] (NULL: "s<i>") its name. */
static void fx_init(struct fx *f, enum conf_balance algo, uint32_t n, const uint32_t *weights,
                    const uint32_t *prios, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    f->n = n;
    for (uint32_t i = 0; i < n; i++) {
        snprintf(f->names[i], sizeof f->names[i], "s%u", i);
        f->srv[i].weight = weights ? weights[i] : 1;
        f->srv[i].priority = prios ? prios[i] : 0;
        f->srv[i].name_hash = balance_name_hash(f->names[i], strlen(f->names[i]));
        f->usable[i / 64] |= UINT64_C(1) << (i % 64);
    }
    balance_init(&f->b, algo, f->srv, n, seed);
}

static void set_usable(struct fx *f, uint32_t i, int on)
{
    if (on)
        f->usable[i / 64] |= UINT64_C(1) << (i % 64);
    else
        f->usable[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

static int pick(struct fx *f)
{
    return balance_pick(&f->b, f->usable, NULL, 0);
}

static int pick_key(struct fx *f, int k)
{
    char key[32];
    int len = snprintf(key, sizeof key, "user-%d", k);
    return balance_pick(&f->b, f->usable, key, (size_t)len);
}

/* A whole request on server idx taking latency_us. */
static void serve(struct fx *f, int idx, uint64_t latency_us)
{
    balance_started(&f->b, idx);
    balance_finished(&f->b, idx, latency_us, true);
}

/* ---- weighted round robin ---- */

static void smooth_5_1_1_sequence(void)
{
    struct fx f;
    fx_init(&f, CONF_BALANCE_WRR, 3, (const uint32_t[]){5, 1, 1}, NULL, 1);
    char got[15] = {0};
    for (int i = 0; i < 14; i++)
        got[i] = (char)('a' + pick(&f));
    CHECK_STR_EQ(got, "aabacaaaabacaa");
}

static void smooth_3_to_1_split(void)
{
    struct fx f;
    fx_init(&f, CONF_BALANCE_WRR, 2, (const uint32_t[]){3, 1}, NULL, 1);
    int count[2] = {0, 0};
    for (int round = 0; round < 1000; round++) {
        int in_round[2] = {0, 0};
        for (int i = 0; i < 4; i++)
            in_round[pick(&f)]++;
        /* interleaved: every 4 picks hold exactly 3 and 1 */
        CHECK_EQ_INT(in_round[0], 3);
        count[0] += in_round[0];
        count[1] += in_round[1];
    }
    CHECK_EQ_INT(count[0], 3000);
    CHECK_EQ_INT(count[1], 1000);
}

static void weight_zero_never_picked(void)
{
    for (size_t a = 0; a < NALGOS; a++) {
        struct fx f;
        fx_init(&f, all_algos[a], 3, (const uint32_t[]){0, 1, 2}, NULL, 7);
        for (int i = 0; i < 1000; i++) {
            int idx = pick_key(&f, i);
            CHECK(idx == 1 || idx == 2);
            serve(&f, idx, 1000);
        }
        set_usable(&f, 1, 0);
        set_usable(&f, 2, 0);
        CHECK_EQ_INT(pick_key(&f, 1), -1);
    }
}

static void unusable_server_skipped_split_kept(void)
{
    struct fx f;
    fx_init(&f, CONF_BALANCE_WRR, 3, (const uint32_t[]){3, 1, 1}, NULL, 1);
    for (int i = 0; i < 3; i++)      /* mid-round: cw values are not all 0 */
        pick(&f);
    set_usable(&f, 2, 0);
    int count[3] = {0, 0, 0};
    for (int i = 0; i < 4000; i++)
        count[pick(&f)]++;
    /* 3:1 between the rest; the frozen cw of server 2 shifts at most a pick or two */
    CHECK_EQ_INT(count[2], 0);
    CHECK(count[0] >= 2998 && count[0] <= 3002);
    CHECK_EQ_INT(count[0] + count[1], 4000);

    set_usable(&f, 2, 1);
    memset(count, 0, sizeof count);
    for (int i = 0; i < 5000; i++)
        count[pick(&f)]++;
    CHECK(count[0] >= 2998 && count[0] <= 3002);
    CHECK(count[1] >= 998 && count[1] <= 1002);
    CHECK(count[2] >= 998 && count[2] <= 1002);
}

/* ---- priority groups and the usable set ---- */

static void priority_group_only_when_lower_unusable(void)
{
    /* server 3 is in group 0 but has weight 0: it does not hold group 0 open */
    const uint32_t weights[] = {1, 1, 1, 0}, prios[] = {0, 0, 1, 0};
    for (size_t a = 0; a < NALGOS; a++) {
        struct fx f;
        fx_init(&f, all_algos[a], 4, weights, prios, 3);
        for (int i = 0; i < 100; i++) {
            int idx = pick_key(&f, i);
            CHECK(idx == 0 || idx == 1);
            serve(&f, idx, 500);
        }
        set_usable(&f, 0, 0);
        CHECK_EQ_INT(pick_key(&f, 1), 1);
        set_usable(&f, 1, 0);
        for (int i = 0; i < 20; i++)
            CHECK_EQ_INT(pick_key(&f, i), 2);
        set_usable(&f, 0, 1);
        set_usable(&f, 1, 1);
        for (int i = 0; i < 100; i++) {
            int idx = pick_key(&f, i);
            CHECK(idx == 0 || idx == 1);
            serve(&f, idx, 500);
        }
    }
}

static void no_usable_returns_minus_one(void)
{
    for (size_t a = 0; a < NALGOS; a++) {
        struct fx f;
        fx_init(&f, all_algos[a], 3, NULL, NULL, 1);
        for (uint32_t i = 0; i < 3; i++)
            set_usable(&f, i, 0);
        CHECK_EQ_INT(pick(&f), -1);
        CHECK_EQ_INT(pick_key(&f, 5), -1);
        CHECK_EQ_U64(f.b.picks, 0);

        fx_init(&f, all_algos[a], 0, NULL, NULL, 1);
        f.usable[0] = ~UINT64_C(0);     /* bits beyond count are ignored */
        CHECK_EQ_INT(pick(&f), -1);
    }
}

static void more_than_64_servers(void)
{
    for (size_t a = 0; a < NALGOS; a++) {
        struct fx f;
        fx_init(&f, all_algos[a], 130, NULL, NULL, 11);
        memset(f.usable, 0, sizeof f.usable);
        set_usable(&f, 3, 1);
        set_usable(&f, 70, 1);
        set_usable(&f, 129, 1);
        f.usable[2] |= ~UINT64_C(0) << 2;   /* garbage at bits 130..191 */
        int count[130] = {0};
        for (int i = 0; i < 3000; i++) {
            int idx = pick_key(&f, i);
            REQUIRE(idx == 3 || idx == 70 || idx == 129);
            count[idx]++;
            serve(&f, idx, 1000);
        }
        if (all_algos[a] != CONF_BALANCE_LATENCY) {     /* latency concentrates by design */
            CHECK(count[3] > 800 && count[70] > 800 && count[129] > 800);
        }
    }
    /* a priority group in the second word */
    struct fx f;
    uint32_t prios[130];
    for (int i = 0; i < 130; i++)
        prios[i] = i == 100 ? 0 : 1;
    fx_init(&f, CONF_BALANCE_WRR, 130, NULL, prios, 1);
    CHECK_EQ_INT(pick(&f), 100);
    set_usable(&f, 100, 0);
    CHECK_EQ_INT(pick(&f), 0);
}

/* ---- least_conn ---- */

static void least_conn_prefers_fewer_inflight_weighted(void)
{
    struct fx f;
    fx_init(&f, CONF_BALANCE_LEAST_CONN, 2, (const uint32_t[]){2, 1}, NULL, 1);
    /* 1/2 < 1/1 */
    balance_started(&f.b, 0);
    balance_started(&f.b, 1);
    CHECK_EQ_INT(pick(&f), 0);
    /* 3/2 > 1/1 */
    balance_started(&f.b, 0);
    balance_started(&f.b, 0);
    CHECK_EQ_INT(pick(&f), 1);
    /* 0/2 < 1/1 */
    for (int i = 0; i < 3; i++)
        balance_finished(&f.b, 0, 100, true);
    CHECK_EQ_INT(f.srv[0].inflight, 0);
    CHECK_EQ_INT(pick(&f), 0);

    /* requests that stay in flight end up spread 2:1 */
    fx_init(&f, CONF_BALANCE_LEAST_CONN, 2, (const uint32_t[]){2, 1}, NULL, 1);
    for (int i = 0; i < 300; i++)
        balance_started(&f.b, pick(&f));
    CHECK_EQ_INT(f.srv[0].inflight, 200);
    CHECK_EQ_INT(f.srv[1].inflight, 100);
}

static void least_conn_ties_alternate(void)
{
    struct fx f;
    fx_init(&f, CONF_BALANCE_LEAST_CONN, 3, NULL, NULL, 1);
    /* short requests: everything always ties, equal servers take turns */
    char got[10] = {0};
    for (int i = 0; i < 9; i++) {
        int idx = pick(&f);
        got[i] = (char)('a' + idx);
        serve(&f, idx, 100);
    }
    CHECK_STR_EQ(got, "abcabcabc");
    /* with b busy, a and c alternate */
    balance_started(&f.b, 1);
    memset(got, 0, sizeof got);
    for (int i = 0; i < 4; i++) {
        int idx = pick(&f);
        got[i] = (char)('a' + idx);
        serve(&f, idx, 100);
    }
    CHECK_STR_EQ(got, "acac");
}

/* ---- random_two ---- */

static void random_two_prefers_less_loaded(void)
{
    struct fx f;
    fx_init(&f, CONF_BALANCE_RANDOM_TWO, 4, NULL, NULL, 42);
    for (uint32_t i = 0; i < 4; i++)
        for (uint32_t k = 0; k < i; k++)
            balance_started(&f.b, (int)i);
    /* server i wins against every more loaded one: 3, 2, 1, 0 of the 6 pairs */
    int count[4] = {0, 0, 0, 0};
    for (int i = 0; i < 12000; i++)
        count[pick(&f)]++;
    CHECK_EQ_INT(count[3], 0);
    CHECK(count[0] > 5600 && count[0] < 6400);
    CHECK(count[1] > 3600 && count[1] < 4400);
    CHECK(count[2] > 1600 && count[2] < 2400);
}

static void random_two_weights(void)
{
    struct fx f;
    fx_init(&f, CONF_BALANCE_RANDOM_TWO, 4, (const uint32_t[]){1, 2, 3, 4}, NULL, 42);
    int count[4] = {0, 0, 0, 0};
    for (int i = 0; i < 20000; i++) {
        int idx = pick(&f);
        count[idx]++;
        serve(&f, idx, 100);
    }
    for (int i = 0; i < 4; i++) {
        int want = 2000 * (i + 1);
        CHECK_MSG_(count[i] > want * 9 / 10 && count[i] < want * 11 / 10,
                   "server %d: %d picks, want about %d", i, count[i], want);
    }
}

/* ---- latency ---- */

static void latency_prefers_fastest(void)
{
    const uint64_t lat[] = {300000, 100000, 200000};
    struct fx f;
    fx_init(&f, CONF_BALANCE_LATENCY, 3, NULL, NULL, 1);
    for (int i = 0; i < 3; i++)
        serve(&f, i, lat[i]);
    for (int i = 0; i < 20; i++) {
        int idx = pick(&f);
        CHECK_EQ_INT(idx, 1);
        serve(&f, idx, lat[idx]);
    }
}

static void latency_spreads_when_fastest_is_busy(void)
{
    struct fx f;
    fx_init(&f, CONF_BALANCE_LATENCY, 2, NULL, NULL, 1);
    serve(&f, 0, 100000);
    serve(&f, 1, 150000);
    CHECK_EQ_INT(pick(&f), 0);
    balance_started(&f.b, 0);     /* 100 ms x 2 in flight > 150 ms x 1 */
    CHECK_EQ_INT(pick(&f), 1);
    balance_started(&f.b, 1);     /* 200 < 300 */
    CHECK_EQ_INT(pick(&f), 0);
}

static void latency_probes_unsampled_and_reprobes_slow(void)
{
    uint64_t lat[] = {100000, 120000, 1000000};
    struct fx f;
    fx_init(&f, CONF_BALANCE_LATENCY, 3, NULL, NULL, 1);
    serve(&f, 0, lat[0]);
    serve(&f, 1, lat[1]);
    /* unknown and idle: tried first; while its probe runs it gets no burst */
    CHECK_EQ_INT(pick(&f), 2);
    balance_started(&f.b, 2);
    CHECK_EQ_INT(pick(&f), 0);
    balance_finished(&f.b, 2, lat[2], true);

    /* 10x slower: retried every ~half_life x log2(10) picks, never starved, rarely used */
    int count = 0, first = -1;
    for (int i = 0; i < 3000; i++) {
        int idx = pick(&f);
        if (idx == 2) {
            count++;
            if (first < 0)
                first = i;
        }
        serve(&f, idx, lat[idx]);
    }
    CHECK(first >= 0 && first < 96 * 5);
    CHECK_MSG_(count >= 4 && count <= 60, "slow server picked %d times", count);

    /* it recovers: the next probe replaces the stale estimate and it wins again */
    lat[2] = 50000;
    count = 0;
    for (int i = 0; i < 1000; i++) {
        int idx = pick(&f);
        count += idx == 2;
        serve(&f, idx, lat[idx]);
    }
    CHECK_MSG_(count > 500, "recovered server picked %d times", count);
}

static void latency_failure_counts_as_slow(void)
{
    struct fx f;
    fx_init(&f, CONF_BALANCE_LATENCY, 3, NULL, NULL, 1);
    serve(&f, 0, 100000);
    serve(&f, 1, 200000);
    balance_started(&f.b, 2);
    balance_finished(&f.b, 2, 10, false);       /* fails in 10 µs */
    CHECK(f.srv[2].ewma_us >= 400000);
    for (int i = 0; i < 10; i++) {
        int idx = pick(&f);
        CHECK(idx != 2);
        serve(&f, idx, idx == 0 ? 100000 : 200000);
    }
    /* ok with no latency (client left): no sample */
    balance_started(&f.b, 1);
    uint64_t before = f.srv[1].ewma_us;
    balance_finished(&f.b, 1, 0, true);
    CHECK_EQ_U64(f.srv[1].ewma_us, before);
    CHECK_EQ_INT(f.srv[1].inflight, 0);
}

/* ---- hash ---- */

static void hash_is_stable_across_balancers(void)
{
    const uint32_t weights[] = {1, 2, 3, 1, 5, 1, 2, 8};
    struct fx f1, f2;
    fx_init(&f1, CONF_BALANCE_HASH, 8, weights, NULL, 1);
    /* f2: same servers in reverse order, another seed, other traffic in between */
    fx_init(&f2, CONF_BALANCE_HASH, 8, NULL, NULL, 99);
    for (uint32_t i = 0; i < 8; i++) {
        f2.srv[i] = f1.srv[7 - i];
        memcpy(f2.names[i], f1.names[7 - i], sizeof f2.names[i]);
    }
    int got1[1000];
    for (int k = 0; k < 1000; k++)
        got1[k] = pick_key(&f1, k);
    for (int k = 999; k >= 0; k--) {
        serve(&f2, pick(&f2), 100);
        int idx = pick_key(&f2, k);
        REQUIRE(idx >= 0 && got1[k] >= 0);
        CHECK_STR_EQ(f2.names[idx], f1.names[got1[k]]);
    }
}

static void hash_minimal_disruption(void)
{
    enum { N = 8000 };
    static int before[N];
    struct fx f;
    fx_init(&f, CONF_BALANCE_HASH, 4, NULL, NULL, 1);
    int on2 = 0;
    for (int k = 0; k < N; k++) {
        before[k] = pick_key(&f, k);
        on2 += before[k] == 2;
    }
    CHECK_MSG_(on2 > N / 4 * 9 / 10 && on2 < N / 4 * 11 / 10, "server 2 had %d of %d keys", on2, N);
    set_usable(&f, 2, 0);
    int moved = 0;
    for (int k = 0; k < N; k++) {
        int idx = pick_key(&f, k);
        CHECK(idx != 2);
        if (idx != before[k]) {
            moved++;
            CHECK_MSG_(before[k] == 2, "key %d moved from %d", k, before[k]);
        }
    }
    CHECK_EQ_INT(moved, on2);
    set_usable(&f, 2, 1);       /* back: every key returns home */
    for (int k = 0; k < N; k++)
        CHECK_EQ_INT(pick_key(&f, k), before[k]);
}

static void hash_weighted_distribution(void)
{
    struct fx f;
    fx_init(&f, CONF_BALANCE_HASH, 4, (const uint32_t[]){1, 2, 3, 4}, NULL, 1);
    int count[4] = {0, 0, 0, 0};
    for (int k = 0; k < 20000; k++)
        count[pick_key(&f, k)]++;
    for (int i = 0; i < 4; i++) {
        int want = 2000 * (i + 1);
        CHECK_MSG_(count[i] > want * 92 / 100 && count[i] < want * 108 / 100,
                   "server %d: %d keys, want about %d", i, count[i], want);
    }
}

static void hash_without_key_is_round_robin(void)
{
    struct fx f;
    fx_init(&f, CONF_BALANCE_HASH, 3, (const uint32_t[]){5, 1, 1}, NULL, 1);
    char got[8] = {0};
    for (int i = 0; i < 7; i++)
        got[i] = (char)('a' + balance_pick(&f.b, f.usable, i % 2 ? NULL : "x", 0));
    CHECK_STR_EQ(got, "aabacaa");
}

static void name_hash_is_pinned(void)
{
    /* Sticky keys must map alike on every host and across upgrades: these
     * values (checked against an independent FNV-1a + fmix64) may only change
     * with a documented remapping. */
    CHECK_EQ_U64(balance_name_hash("", 0), 0xefd01f60ba992926ULL);
    CHECK_EQ_U64(balance_name_hash("openai", 6), 0x00156a3f27c0d283ULL);
}

TEST_MAIN(
    RUN(smooth_5_1_1_sequence)
    RUN(smooth_3_to_1_split)
    RUN(weight_zero_never_picked)
    RUN(unusable_server_skipped_split_kept)
    RUN(priority_group_only_when_lower_unusable)
    RUN(no_usable_returns_minus_one)
    RUN(more_than_64_servers)
    RUN(least_conn_prefers_fewer_inflight_weighted)
    RUN(least_conn_ties_alternate)
    RUN(random_two_prefers_less_loaded)
    RUN(random_two_weights)
    RUN(latency_prefers_fastest)
    RUN(latency_spreads_when_fastest_is_busy)
    RUN(latency_probes_unsampled_and_reprobes_slow)
    RUN(latency_failure_counts_as_slow)
    RUN(hash_is_stable_across_balancers)
    RUN(hash_minimal_disruption)
    RUN(hash_weighted_distribution)
    RUN(hash_without_key_is_round_robin)
    RUN(name_hash_is_pinned)
)
