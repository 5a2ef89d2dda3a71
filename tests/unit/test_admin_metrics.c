/* test_admin_metrics.c - core/admin/metrics.c: the exact Prometheus lines for
 * counters summed over workers, converted histograms, gauges, and the format's
 * structure (every family announced once, before its series). */
#include "admin_util.h"

#include <stdlib.h>

static char *render(const struct runtime *rt)
{
    struct nbuf out = {0};
    CHECK(admin_render_metrics(rt, &out));
    char *s = strdup(admin_text(&out));
    nbuf_free(&out);
    return s;
}

static void requests_total_sums_workers_and_names_endpoints(void)
{
    struct runtime *rt = admin_rt(2);
    REQUIRE(rt != NULL);
    const struct backend_rt *llm = &rt->backends[0];
    uint32_t ep_a = runtime_endpoint(rt, llm, &llm->servers[0]);
    stat_add(&runtime_requests(rt, 0, 0, ep_a)[2], 3);
    stat_add(&runtime_requests(rt, 1, 0, ep_a)[2], 2);
    stat_add(&runtime_requests(rt, 1, 0, ep_a)[5], 1);
    stat_add(&runtime_requests(rt, 0, 0, runtime_endpoint(rt, NULL, NULL))[4], 7);
    stat_add(&runtime_requests(rt, 1, 0, runtime_endpoint(rt, llm, NULL))[5], 4);
    const struct backend_rt *spare = &rt->backends[1];
    stat_add(&runtime_requests(rt, 0, 1, runtime_endpoint(rt, spare, &spare->servers[0]))[2], 9);
    char *m = render(rt);
    CHECK_HAS_LINE(m, "# TYPE sluice_requests_total counter");
    CHECK_HAS_LINE(m, "sluice_requests_total{frontend=\"api\",backend=\"llm\",server=\"a\",code=\"2xx\"} 5");
    CHECK_HAS_LINE(m, "sluice_requests_total{frontend=\"api\",backend=\"llm\",server=\"a\",code=\"5xx\"} 1");
    CHECK_HAS_LINE(m, "sluice_requests_total{frontend=\"api\",backend=\"\",server=\"\",code=\"4xx\"} 7");
    CHECK_HAS_LINE(m, "sluice_requests_total{frontend=\"api\",backend=\"llm\",server=\"\",code=\"5xx\"} 4");
    CHECK_HAS_LINE(m, "sluice_requests_total{frontend=\"internal\",backend=\"spare\",server=\"c\",code=\"2xx\"} 9");
    /* series without a request are not written */
    CHECK(strstr(m, "server=\"b\",code=") == NULL);
    CHECK(strstr(m, "code=\"1xx\"") == NULL);
    free(m);
    runtime_release(rt);
}

static void duration_histogram_is_cumulative_at_fixed_bounds(void)
{
    struct runtime *rt = admin_rt(2);
    REQUIRE(rt != NULL);
    stats_hist_add(&rt->frontends[0].stats[0].duration, 500);        /* bucket ends at 512µs */
    stats_hist_add(&rt->frontends[0].stats[1].duration, 3000);       /* ends at 3072µs */
    stats_hist_add(&rt->frontends[0].stats[1].duration, 400000000);  /* 400 s: only +Inf */
    char *m = render(rt);
    CHECK_HAS_LINE(m, "# TYPE sluice_request_duration_seconds histogram");
    const char *p = "sluice_request_duration_seconds_bucket{frontend=\"api\",le=";
    char line[256];
    static const struct { const char *le; int n; } want[] = {
        {"0.001", 1}, {"0.0025", 1}, {"0.005", 2}, {"0.01", 2}, {"300", 2}, {"+Inf", 3},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        snprintf(line, sizeof line, "%s\"%s\"} %d", p, want[i].le, want[i].n);
        CHECK_HAS_LINE(m, line);
    }
    CHECK_HAS_LINE(m, "sluice_request_duration_seconds_sum{frontend=\"api\"} 400.003500");
    CHECK_HAS_LINE(m, "sluice_request_duration_seconds_count{frontend=\"api\"} 3");
    /* the idle frontend has its zero series too */
    CHECK_HAS_LINE(m, "sluice_request_duration_seconds_bucket{frontend=\"internal\",le=\"+Inf\"} 0");
    CHECK_HAS_LINE(m, "sluice_request_duration_seconds_sum{frontend=\"internal\"} 0.000000");
    free(m);
    runtime_release(rt);
}

/* A sample lands under a bound only when its whole log-linear bucket does: 1000µs
 * shares a bucket with values up to 1023µs, so it first counts at 2.5ms. */
static void bucket_straddling_a_bound_counts_at_the_next(void)
{
    struct runtime *rt = admin_rt(1);
    REQUIRE(rt != NULL);
    stats_hist_add(&rt->frontends[0].stats[0].duration, 1000);
    char *m = render(rt);
    CHECK_HAS_LINE(m, "sluice_request_duration_seconds_bucket{frontend=\"api\",le=\"0.001\"} 0");
    CHECK_HAS_LINE(m, "sluice_request_duration_seconds_bucket{frontend=\"api\",le=\"0.0025\"} 1");
    free(m);
    runtime_release(rt);
}

static void overhead_histogram_has_fine_bounds_and_no_labels(void)
{
    struct runtime *rt = admin_rt(3);
    REQUIRE(rt != NULL);
    stats_hist_add(&rt->global[0].overhead, 30);   /* bucket ends at 32µs */
    stats_hist_add(&rt->global[2].overhead, 90);   /* ends at 96µs */
    char *m = render(rt);
    CHECK_HAS_LINE(m, "# TYPE sluice_overhead_seconds histogram");
    CHECK_HAS_LINE(m, "sluice_overhead_seconds_bucket{le=\"0.00001\"} 0");
    CHECK_HAS_LINE(m, "sluice_overhead_seconds_bucket{le=\"0.000025\"} 0");
    CHECK_HAS_LINE(m, "sluice_overhead_seconds_bucket{le=\"0.00005\"} 1");
    CHECK_HAS_LINE(m, "sluice_overhead_seconds_bucket{le=\"0.0001\"} 2");
    CHECK_HAS_LINE(m, "sluice_overhead_seconds_bucket{le=\"0.1\"} 2");
    CHECK_HAS_LINE(m, "sluice_overhead_seconds_bucket{le=\"+Inf\"} 2");
    CHECK_HAS_LINE(m, "sluice_overhead_seconds_sum 0.000120");
    CHECK_HAS_LINE(m, "sluice_overhead_seconds_count 2");
    free(m);
    runtime_release(rt);
}

static void server_counters_and_gauges(void)
{
    struct runtime *rt = admin_rt(2);
    REQUIRE(rt != NULL);
    struct server_rt *a = &rt->backends[0].servers[0], *b = &rt->backends[0].servers[1];
    stat_add(&a->stats[0].upstream_connects, 2);
    stat_add(&a->stats[1].upstream_connects, 3);
    stat_add(&a->stats[1].retries, 1);
    stat_add(&b->stats[0].timeouts, 4);
    stat_add(&b->stats[1].connect_errors, 6);
    stat_add(&rt->frontends[1].stats[0].connections, 2);
    stat_add(&rt->frontends[1].stats[1].connections, 1);
    atomic_store(&b->state, CONF_STATE_DRAIN);
    atomic_store(&rt->backends[1].servers[0].up, 0);
    char *m = render(rt);
    CHECK_HAS_LINE(m, "sluice_upstream_connect_total{backend=\"llm\",server=\"a\"} 5");
    CHECK_HAS_LINE(m, "sluice_upstream_connect_total{backend=\"llm\",server=\"b\"} 0");
    CHECK_HAS_LINE(m, "sluice_retries_total{backend=\"llm\",server=\"a\"} 1");
    CHECK_HAS_LINE(m, "sluice_upstream_timeouts_total{backend=\"llm\",server=\"b\"} 4");
    CHECK_HAS_LINE(m, "sluice_upstream_connect_errors_total{backend=\"llm\",server=\"b\"} 6");
    CHECK_HAS_LINE(m, "sluice_active_connections{frontend=\"api\"} 0");
    CHECK_HAS_LINE(m, "sluice_active_connections{frontend=\"internal\"} 3");
    CHECK_HAS_LINE(m, "sluice_server_up{backend=\"llm\",server=\"b\"} 1");
    CHECK_HAS_LINE(m, "sluice_server_up{backend=\"spare\",server=\"c\"} 0");
    CHECK_HAS_LINE(m, "sluice_server_state{backend=\"llm\",server=\"b\",state=\"ready\"} 0");
    CHECK_HAS_LINE(m, "sluice_server_state{backend=\"llm\",server=\"b\",state=\"drain\"} 1");
    CHECK_HAS_LINE(m, "sluice_server_state{backend=\"llm\",server=\"b\",state=\"maint\"} 0");
    CHECK_HAS_LINE(m, "sluice_server_state{backend=\"spare\",server=\"c\",state=\"ready\"} 1");
    free(m);
    runtime_release(rt);
}

/* Each family: one HELP, then one TYPE, then only its own series; no family twice. */
static void every_family_announced_once_before_its_series(void)
{
    struct runtime *rt = admin_rt(1);
    REQUIRE(rt != NULL);
    stat_add(&runtime_requests(rt, 0, 0, 0)[4], 1);
    struct stats_tokens *tt = rt->backends[0].servers[0].tokens;
    stats_tokens_add(tt, 0, stats_tokens_row(tt, "gpt-4o", 6), 3, 4);
    char *m = render(rt);
    CHECK(strncmp(m, "# HELP sluice_build_info ", 25) == 0);
    CHECK(strstr(m, "\nsluice_build_info{version=\"") != NULL);
    char family[128] = "", seen[4096] = " ";
    int families = 0;
    for (char *line = m, *next; *line; line = next) {
        char *nl = strchr(line, '\n');
        REQUIRE(nl != NULL); /* every line ends with a newline */
        *nl = '\0';
        next = nl + 1;
        char name[128], type[32];
        if (sscanf(line, "# HELP %127s", name) == 1) {
            char key[132];
            snprintf(key, sizeof key, " %s ", name);
            CHECK_MSG_(strstr(seen, key) == NULL, "family %s twice", name);
            strncat(seen, key + 1, sizeof seen - strlen(seen) - 1);
            snprintf(family, sizeof family, "%s", name);
            families++;
            continue;
        }
        if (sscanf(line, "# TYPE %127s %31s", name, type) == 2) {
            CHECK_STR_EQ(name, family);
            CHECK(!strcmp(type, "counter") || !strcmp(type, "gauge") || !strcmp(type, "histogram"));
            continue;
        }
        CHECK_MSG_(strncmp(line, "sluice_", 7) == 0, "line \"%s\"", line);
        size_t fl = strlen(family), ll = strcspn(line, "{ ");
        const char *rest = line + fl;
        CHECK_MSG_(strncmp(line, family, fl) == 0 &&
                       (ll == fl || (ll > fl && (!strncmp(rest, "_bucket", 7) ||
                                                 !strncmp(rest, "_sum", 4) ||
                                                 !strncmp(rest, "_count", 6)))),
                   "series \"%s\" under family %s", line, family);
    }
    CHECK_EQ_INT(families, 17);
    free(m);
    runtime_release(rt);
}

TEST_MAIN(RUN(requests_total_sums_workers_and_names_endpoints)
          RUN(duration_histogram_is_cumulative_at_fixed_bounds)
          RUN(bucket_straddling_a_bound_counts_at_the_next)
          RUN(overhead_histogram_has_fine_bounds_and_no_labels)
          RUN(server_counters_and_gauges)
          RUN(every_family_announced_once_before_its_series))
