/* test_stats_tokens.c - core/stats/tokens.c: the per-server model table behind
 * sluice_tokens_total (rows found again, the 64-name bound, "other" and
 * "unknown", sums over workers, names added by racing workers), and how /metrics
 * and /stats show it. */
#include "admin_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static uint32_t row_of(struct stats_tokens *t, const char *model)
{
    return stats_tokens_row(t, model, strlen(model));
}

static void a_model_keeps_its_row(void)
{
    struct stats_tokens *t = stats_tokens_create(1);
    REQUIRE(t != NULL);
    CHECK_EQ_INT(stats_tokens_models(t), 0);
    CHECK_EQ_INT(row_of(t, "gpt-4o"), 0);
    CHECK_EQ_INT(row_of(t, "claude-3-5-haiku-latest"), 1);
    CHECK_EQ_INT(row_of(t, "gpt-4o"), 0);
    CHECK_EQ_INT(row_of(t, "gpt-4o-mini"), 2); /* a prefix is another model */
    CHECK_EQ_INT(row_of(t, "gpt-4"), 3);
    CHECK_EQ_INT(stats_tokens_models(t), 4);
    CHECK_STR_EQ(stats_tokens_label(t, 1), "claude-3-5-haiku-latest");
    CHECK_STR_EQ(stats_tokens_label(t, 3), "gpt-4");
    stats_tokens_free(t);
}

static void no_model_is_unknown_and_reserved_names_share_their_rows(void)
{
    struct stats_tokens *t = stats_tokens_create(1);
    REQUIRE(t != NULL);
    CHECK_EQ_INT(stats_tokens_row(t, "", 0), STATS_TOKENS_UNKNOWN);
    CHECK_EQ_INT(row_of(t, "unknown"), STATS_TOKENS_UNKNOWN);
    CHECK_EQ_INT(row_of(t, "other"), STATS_TOKENS_OTHER);
    CHECK_EQ_INT(stats_tokens_models(t), 0); /* none of them takes a name's place */
    CHECK_STR_EQ(stats_tokens_label(t, STATS_TOKENS_UNKNOWN), "unknown");
    CHECK_STR_EQ(stats_tokens_label(t, STATS_TOKENS_OTHER), "other");
    char longname[STATS_TOKENS_NAME_MAX + 2];
    memset(longname, 'm', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_EQ_INT(row_of(t, longname), STATS_TOKENS_OTHER);
    longname[STATS_TOKENS_NAME_MAX] = '\0'; /* the longest name kept */
    CHECK_EQ_INT(row_of(t, longname), 0);
    stats_tokens_free(t);
}

static void past_64_models_count_as_other(void)
{
    struct stats_tokens *t = stats_tokens_create(2);
    REQUIRE(t != NULL);
    char name[32];
    for (unsigned i = 0; i < STATS_TOKENS_MODELS; i++) {
        snprintf(name, sizeof name, "model-%u", i);
        CHECK_EQ_INT(row_of(t, name), i);
    }
    CHECK_EQ_INT(row_of(t, "model-64"), STATS_TOKENS_OTHER);
    CHECK_EQ_INT(row_of(t, "model-65"), STATS_TOKENS_OTHER);
    CHECK_EQ_INT(row_of(t, "model-7"), 7); /* the known ones are still found */
    CHECK_EQ_INT(stats_tokens_models(t), STATS_TOKENS_MODELS);
    stats_tokens_add(t, 0, row_of(t, "model-99"), 5, 6);
    stats_tokens_add(t, 1, row_of(t, "model-100"), 1, 1);
    CHECK_EQ_U64(stats_tokens_sum(t, STATS_TOKENS_OTHER, STATS_TOKENS_PROMPT), 6);
    CHECK_EQ_U64(stats_tokens_sum(t, STATS_TOKENS_OTHER, STATS_TOKENS_COMPLETION), 7);
    stats_tokens_free(t);
}

static void counts_are_summed_over_workers_and_unknown_counts_skipped(void)
{
    struct stats_tokens *t = stats_tokens_create(3);
    REQUIRE(t != NULL);
    uint32_t a = row_of(t, "a"), b = row_of(t, "b");
    stats_tokens_add(t, 0, a, 10, 20);
    stats_tokens_add(t, 2, a, 1, 2);
    stats_tokens_add(t, 1, b, 100, -1); /* an embedding: no completion */
    stats_tokens_add(t, 1, STATS_TOKENS_UNKNOWN, -1, 7);
    CHECK_EQ_U64(stats_tokens_sum(t, a, STATS_TOKENS_PROMPT), 11);
    CHECK_EQ_U64(stats_tokens_sum(t, a, STATS_TOKENS_COMPLETION), 22);
    CHECK_EQ_U64(stats_tokens_sum(t, b, STATS_TOKENS_PROMPT), 100);
    CHECK_EQ_U64(stats_tokens_sum(t, b, STATS_TOKENS_COMPLETION), 0);
    CHECK_EQ_U64(stats_tokens_sum(t, STATS_TOKENS_UNKNOWN, STATS_TOKENS_COMPLETION), 7);
    CHECK_EQ_U64(stats_tokens_total(t, STATS_TOKENS_PROMPT), 111);
    CHECK_EQ_U64(stats_tokens_total(t, STATS_TOKENS_COMPLETION), 29);
    stats_tokens_free(t);
}

/* Workers racing to add the same and different names: every name once, at most
 * 64, and each worker finds the row the others agree on. */
struct racer {
    struct stats_tokens *t;
    unsigned id;
    uint32_t rows[100];
};

static void *race(void *arg)
{
    struct racer *r = arg;
    char name[32];
    for (unsigned i = 0; i < 100; i++) {
        unsigned m = (i * 7 + r->id * 13) % 100;
        snprintf(name, sizeof name, "m%u", m);
        r->rows[m] = row_of(r->t, name);
        stats_tokens_add(r->t, r->id, r->rows[m], 1, 0);
    }
    return NULL;
}

static void racing_workers_add_each_name_once(void)
{
    struct stats_tokens *t = stats_tokens_create(4);
    REQUIRE(t != NULL);
    struct racer r[4];
    pthread_t th_[4];
    for (unsigned k = 0; k < 4; k++) {
        r[k] = (struct racer){.t = t, .id = k};
        REQUIRE(pthread_create(&th_[k], NULL, race, &r[k]) == 0);
    }
    for (unsigned k = 0; k < 4; k++)
        pthread_join(th_[k], NULL);
    CHECK_EQ_INT(stats_tokens_models(t), STATS_TOKENS_MODELS);
    for (uint32_t i = 0; i < STATS_TOKENS_MODELS; i++)
        for (uint32_t j = i + 1; j < STATS_TOKENS_MODELS; j++)
            CHECK_MSG_(strcmp(stats_tokens_label(t, i), stats_tokens_label(t, j)) != 0, "row %u and %u: %s",
                       i, j, stats_tokens_label(t, i));
    for (unsigned m = 0; m < 100; m++)
        for (unsigned k = 1; k < 4; k++)
            CHECK_EQ_INT(r[k].rows[m], r[0].rows[m]);
    CHECK_EQ_U64(stats_tokens_total(t, STATS_TOKENS_PROMPT), 400);
    CHECK_EQ_U64(stats_tokens_sum(t, STATS_TOKENS_OTHER, STATS_TOKENS_PROMPT), 36 * 4);
    stats_tokens_free(t);
}

static char *render(const struct runtime *rt, bool stats)
{
    struct nbuf out = {0};
    CHECK(stats ? admin_render_stats(rt, 1.0, &out) : admin_render_metrics(rt, &out));
    char *s = strdup(admin_text(&out));
    nbuf_free(&out);
    return s;
}

static void metrics_show_each_used_row_by_server_model_and_type(void)
{
    struct runtime *rt = admin_rt(2);
    REQUIRE(rt != NULL);
    struct stats_tokens *a = rt->backends[0].servers[0].tokens;
    struct stats_tokens *c = rt->backends[1].servers[0].tokens;
    stats_tokens_add(a, 0, row_of(a, "gpt-4o"), 30, 16);
    stats_tokens_add(a, 1, row_of(a, "gpt-4o"), 12, 4);
    stats_tokens_add(a, 1, row_of(a, "we\"ird"), 1, 2);
    stats_tokens_add(c, 0, stats_tokens_row(c, "", 0), 5, 0);
    char *m = render(rt, false);
    CHECK_HAS_LINE(m, "# TYPE sluice_tokens_total counter");
    CHECK_HAS_LINE(m, "sluice_tokens_total{backend=\"llm\",server=\"a\",model=\"gpt-4o\",type=\"prompt\"} 42");
    CHECK_HAS_LINE(m, "sluice_tokens_total{backend=\"llm\",server=\"a\",model=\"gpt-4o\",type=\"completion\"} 20");
    CHECK_HAS_LINE(m, "sluice_tokens_total{backend=\"llm\",server=\"a\",model=\"we\\\"ird\",type=\"prompt\"} 1");
    CHECK_HAS_LINE(m, "sluice_tokens_total{backend=\"spare\",server=\"c\",model=\"unknown\",type=\"prompt\"} 5");
    CHECK_HAS_LINE(m, "sluice_tokens_total{backend=\"spare\",server=\"c\",model=\"unknown\",type=\"completion\"} 0");
    /* no series for a server without tokens, nor for unused "other" */
    CHECK(strstr(m, "sluice_tokens_total{backend=\"llm\",server=\"b\"") == NULL);
    CHECK(strstr(m, "model=\"other\"") == NULL);
    free(m);
    char *s = render(rt, true);
    CHECK_STR_CONTAINS(s, "\"name\":\"a\",\"url\"");
    CHECK_STR_CONTAINS(s, "\"tokens\":{\"prompt\":43,\"completion\":22,\"total\":65}");
    CHECK_STR_CONTAINS(s, "\"tokens\":{\"prompt\":5,\"completion\":0,\"total\":5}");
    CHECK_STR_CONTAINS(s, "\"tokens\":{\"prompt\":0,\"completion\":0,\"total\":0}"); /* server b */
    free(s);
    runtime_release(rt);
}

TEST_MAIN(RUN(a_model_keeps_its_row)
          RUN(no_model_is_unknown_and_reserved_names_share_their_rows)
          RUN(past_64_models_count_as_other)
          RUN(counts_are_summed_over_workers_and_unknown_counts_skipped)
          RUN(racing_workers_add_each_name_once)
          RUN(metrics_show_each_used_row_by_server_model_and_type))
