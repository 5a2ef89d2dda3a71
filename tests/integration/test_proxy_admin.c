/* test_proxy_admin.c - the admin listener beside live traffic, as an operator
 * uses it: /stats and /metrics count what the proxy did, POST /servers/B/S moves
 * traffic at once (maint, drain, ready), /ready follows the usable servers, and
 * POSTs need the token. */
#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char conf[] =
    SLUICE_GLOBAL_1W
    "admin:\n"
    "  bind: 127.0.0.1:@ADMIN@\n"
    "  token: admin-secret\n"
    "frontends:\n"
    "  - name: api\n"
    "    bind: [\"127.0.0.1:@PORT@\"]\n"
    SLUICE_V1_TO_LLM
    "      - {name: main, url: \"http://127.0.0.1:%d\"}\n"
    "      - {name: backup, url: \"http://127.0.0.1:%d\", priority: 1}\n";

struct setup {
    struct mock main, backup;
    struct sluice s;
};

static bool setup(struct setup *x)
{
    if (!mock_start(&x->main, "main", NULL))
        return false;
    if (!mock_stop_on_failure(mock_start(&x->backup, "backup", NULL), &x->main, NULL))
        return false;
    return mock_stop_on_failure(sluice_start(&x->s, conf, x->main.port, x->backup.port),
                                &x->main, &x->backup, NULL);
}

static void teardown(struct setup *x)
{
    CHECK(sluice_and_mocks_stopped(&x->s, &x->main, &x->backup, NULL));
}

/* POST /servers/llm/NAME {"state": STATE}; token NULL: none. Returns the status. */
static long set_state(struct setup *x, const char *server, const char *state, const char *token,
                      struct http_resp *r)
{
    char path[128], body[64], authz[128];
    snprintf(path, sizeof path, "/servers/llm/%s", server);
    snprintf(body, sizeof body, "{\"state\":\"%s\"}", state);
    snprintf(authz, sizeof authz, "Authorization: Bearer %s", token ? token : "");
    const char *const with_token[] = {"Content-Type: application/json", authz, NULL};
    const char *const without[] = {"Content-Type: application/json", NULL};
    struct http_req req = {.method = "POST", .url = sluice_admin_url(&x->s, path), .body = body,
                           .headers = token ? with_token : without};
    return http_do(NULL, &req, r);
}

/* Who answers n requests: counts for main and backup; others are failures. */
static void traffic(struct setup *x, int n, int *main_n, int *backup_n, int *other)
{
    *main_n = *backup_n = *other = 0;
    for (int i = 0; i < n; i++) {
        struct http_resp r;
        char v[64];
        long st = http_get(sluice_url(&x->s, "/v1/models"), &r);
        const char *who = st == 200 ? http_header(&r, "x-mock-server", v, sizeof v) : NULL;
        if (who && !strcmp(who, "main"))
            (*main_n)++;
        else if (who && !strcmp(who, "backup"))
            (*backup_n)++;
        else
            (*other)++;
        http_resp_free(&r);
    }
}

/* An integer at a JSON path of /stats: obj keys separated by '/', arrays entered
 * by the "name" of their element ("backends/llm/servers/main/requests"). */
static int64_t stats_int(const char *body, const char *path)
{
    static json_token t[4096];
    json_doc d;
    if (json_parse(&d, body, strlen(body), t, 4096, 0) != JSON_OK)
        return INT64_MIN;
    int cur = 0;
    char part[64];
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        snprintf(part, sizeof part, "%.*s", (int)n, p);
        p += n + (p[n] == '/');
        if (json_type(&d, cur) == JSON_ARRAY) {
            json_iter it = json_iter_begin(&d, cur);
            int el, found = -1;
            while (found < 0 && json_array_next(&it, &el))
                if (json_str_eq(&d, json_find(&d, el, "name"), part))
                    found = el;
            cur = found;
        } else {
            cur = json_find(&d, cur, part);
        }
        if (cur < 0)
            return INT64_MIN;
    }
    int64_t v;
    return json_get_int(&d, cur, &v) == JSON_OK ? v : INT64_MIN;
}

/* Polls /stats until path == want (counters land when a transaction ends, which
 * may be just after its response reached the client). */
static bool wait_stats(struct setup *x, const char *path, int64_t want, int timeout_ms)
{
    double deadline = proc_now_ms() + timeout_ms;
    int64_t got = INT64_MIN;
    do {
        struct http_resp r;
        if (http_get(sluice_admin_url(&x->s, "/stats"), &r) == 200)
            got = stats_int(r.body, path);
        http_resp_free(&r);
        if (got == want)
            return true;
        poll(NULL, 0, 5); /* polling interval */
    } while (proc_now_ms() < deadline && proc_alive(x->s.p));
    printf("  /stats %s = %lld, want %lld\n", path, (long long)got, (long long)want);
    return false;
}

static void stats_and_metrics_count_what_the_proxy_did(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    int m, b, o;
    traffic(&x, 10, &m, &b, &o);
    CHECK_EQ_INT(m, 10);
    struct http_resp r;
    CHECK_EQ_INT(http_get(sluice_url(&x.s, "/nowhere"), &r), 404);
    http_resp_free(&r);
    CHECK(wait_stats(&x, "frontends/api/requests", 11, 2000));
    CHECK(wait_stats(&x, "frontends/api/responses/2xx", 10, 2000));
    CHECK(wait_stats(&x, "frontends/api/responses/4xx", 1, 2000));
    CHECK(wait_stats(&x, "backends/llm/requests", 10, 2000));
    CHECK(wait_stats(&x, "backends/llm/servers/main/requests", 10, 2000));
    CHECK(wait_stats(&x, "backends/llm/servers/main/responses/2xx", 10, 2000));
    CHECK(wait_stats(&x, "backends/llm/servers/backup/requests", 0, 2000));
    CHECK(wait_stats(&x, "backends/llm/servers/main/inflight", 0, 2000));
    CHECK(wait_stats(&x, "backends/llm/servers/main/upstream_connects", 1, 2000)); /* pooled */
    CHECK_EQ_INT(http_get(sluice_admin_url(&x.s, "/metrics"), &r), 200);
    CHECK_STR_CONTAINS(r.body,
        "sluice_requests_total{frontend=\"api\",backend=\"llm\",server=\"main\",code=\"2xx\"} 10\n");
    CHECK_STR_CONTAINS(r.body,
        "sluice_requests_total{frontend=\"api\",backend=\"\",server=\"\",code=\"4xx\"} 1\n");
    CHECK_STR_CONTAINS(r.body, "sluice_upstream_connect_total{backend=\"llm\",server=\"main\"} 1\n");
    http_resp_free(&r);
    teardown(&x);
}

static void maint_drain_and_ready_move_traffic_at_once(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    int m, b, o;
    struct http_resp r;
    traffic(&x, 5, &m, &b, &o);
    CHECK(m == 5 && b == 0 && o == 0);

    CHECK_EQ_INT(set_state(&x, "main", "maint", "admin-secret", &r), 200);
    CHECK_STR_CONTAINS(r.body, "\"state\":\"maint\"");
    http_resp_free(&r);
    traffic(&x, 5, &m, &b, &o);
    CHECK_MSG_(m == 0 && b == 5 && o == 0, "main in maint: main %d, backup %d, failed %d", m, b, o);

    CHECK_EQ_INT(set_state(&x, "main", "ready", "admin-secret", &r), 200);
    http_resp_free(&r);
    traffic(&x, 5, &m, &b, &o);
    CHECK_MSG_(m == 5 && b == 0 && o == 0, "main ready again: main %d, backup %d, failed %d", m, b, o);

    CHECK_EQ_INT(set_state(&x, "main", "drain", "admin-secret", &r), 200);
    http_resp_free(&r);
    traffic(&x, 5, &m, &b, &o);
    CHECK_MSG_(m == 0 && b == 5 && o == 0, "main draining: main %d, backup %d, failed %d", m, b, o);
    teardown(&x);
}

static void draining_server_finishes_its_request_in_flight(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    struct http_resp r;
    CHECK_EQ_INT(http_post_json(mock_url(&x.main, "/mock/config"), "{\"latency_ms\":500}", &r), 200);
    http_resp_free(&r);
    int fd = tcp_connect("127.0.0.1", x.s.port);
    REQUIRE(fd >= 0);
    static const char req[] = "GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(tcp_send_all(fd, req, sizeof req - 1));
    REQUIRE(mock_wait_stat(&x.main, "requests", 1, 3000));
    CHECK_EQ_INT(set_state(&x, "main", "drain", "admin-secret", &r), 200);
    http_resp_free(&r);
    char buf[8192];
    tcp_read_responses(fd, buf, sizeof buf, 1, false, 5000);
    close(fd);
    CHECK_EQ_INT(http_status_of(buf), 200);
    CHECK_STR_CONTAINS(buf, "x-mock-server: main");
    teardown(&x);
}

static void ready_follows_usable_servers_and_no_usable_server_is_503(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    struct http_resp r;
    CHECK_EQ_INT(http_get(sluice_admin_url(&x.s, "/health"), &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(http_get(sluice_admin_url(&x.s, "/ready"), &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(set_state(&x, "main", "maint", "admin-secret", &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(http_get(sluice_admin_url(&x.s, "/ready"), &r), 200); /* the backup is usable */
    http_resp_free(&r);
    CHECK_EQ_INT(set_state(&x, "backup", "maint", "admin-secret", &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(http_get(sluice_admin_url(&x.s, "/ready"), &r), 503);
    CHECK_STR_CONTAINS(r.body, "\"llm\"");
    http_resp_free(&r);
    CHECK_EQ_INT(http_get(sluice_url(&x.s, "/v1/models"), &r), 503);
    CHECK(is_openai_error(r.body, NULL, 0));
    http_resp_free(&r);
    CHECK_EQ_INT(set_state(&x, "backup", "ready", "admin-secret", &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(http_get(sluice_admin_url(&x.s, "/ready"), &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(http_get(sluice_url(&x.s, "/v1/models"), &r), 200);
    char v[64];
    CHECK_STR_EQ(http_header(&r, "x-mock-server", v, sizeof v), "backup");
    http_resp_free(&r);
    teardown(&x);
}

static void state_change_needs_the_token(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    struct http_resp r;
    CHECK_EQ_INT(set_state(&x, "main", "maint", NULL, &r), 401);
    http_resp_free(&r);
    CHECK_EQ_INT(set_state(&x, "main", "maint", "wrong-token", &r), 401);
    http_resp_free(&r);
    CHECK_EQ_INT(set_state(&x, "nosuch", "maint", "admin-secret", &r), 404);
    http_resp_free(&r);
    CHECK_EQ_INT(set_state(&x, "main", "asleep", "admin-secret", &r), 400);
    http_resp_free(&r);
    int m, b, o;
    traffic(&x, 3, &m, &b, &o);
    CHECK_MSG_(m == 3, "main took %d of 3 after refused changes", m);
    /* the token never shows in the log */
    CHECK(!proc_wait_output(x.s.p, "admin-secret", 0));
    CHECK(!proc_wait_output(x.s.p, "wrong-token", 0));
    teardown(&x);
}

TEST_MAIN(
    RUN(stats_and_metrics_count_what_the_proxy_did)
    RUN(maint_drain_and_ready_move_traffic_at_once)
    RUN(draining_server_finishes_its_request_in_flight)
    RUN(ready_follows_usable_servers_and_no_usable_server_is_503)
    RUN(state_change_needs_the_token)
)
