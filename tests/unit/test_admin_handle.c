/* test_admin_handle.c - core/admin/handle.c and stats.c: every endpoint's status
 * and body, server state changes, the errors, and the token check. */
#include "admin_util.h"

#include "json/json.h"

struct reply {
    int status;
    char body[65536];
    const char *allow;
    bool challenge;
};

static void call(struct runtime *rt, enum admin_method m, const char *path, const char *body,
                 bool authorized, struct reply *out)
{
    struct admin_request q = {m, path, strlen(path), body, body ? strlen(body) : 0, authorized};
    struct admin_response r;
    admin_handle(rt, 12.5, &q, &r);
    out->status = r.status;
    out->allow = r.allow;
    out->challenge = r.challenge;
    snprintf(out->body, sizeof out->body, "%s", admin_text(&r.body));
    admin_response_free(&r);
}

static struct reply rep;

static void health_is_ok(void)
{
    struct runtime *rt = admin_rt(1);
    REQUIRE(rt != NULL);
    call(rt, ADMIN_GET, "/health", NULL, false, &rep);
    CHECK_EQ_INT(rep.status, 200);
    CHECK_STR_EQ(rep.body, "{\"status\":\"ok\"}\n");
    call(rt, ADMIN_HEAD, "/health", NULL, false, &rep);
    CHECK_EQ_INT(rep.status, 200);
    runtime_release(rt);
}

static void ready_until_a_backend_has_no_usable_server(void)
{
    struct runtime *rt = admin_rt(1);
    REQUIRE(rt != NULL);
    call(rt, ADMIN_GET, "/ready", NULL, false, &rep);
    CHECK_EQ_INT(rep.status, 200);
    CHECK_STR_EQ(rep.body, "{\"status\":\"ready\"}\n");
    /* one of two servers gone: still ready */
    atomic_store(&rt->backends[0].servers[0].state, CONF_STATE_MAINT);
    call(rt, ADMIN_GET, "/ready", NULL, false, &rep);
    CHECK_EQ_INT(rep.status, 200);
    /* drained and down both count as not usable */
    atomic_store(&rt->backends[0].servers[1].up, 0);
    atomic_store(&rt->backends[1].servers[0].state, CONF_STATE_DRAIN);
    call(rt, ADMIN_GET, "/ready", NULL, false, &rep);
    CHECK_EQ_INT(rep.status, 503);
    CHECK_STR_EQ(rep.body, "{\"status\":\"not_ready\",\"backends\":[\"llm\",\"spare\"]}\n");
    runtime_release(rt);
}

static void post_drain_sets_state_and_answers_the_server(void)
{
    struct runtime *rt = admin_rt(2);
    REQUIRE(rt != NULL);
    struct server_rt *b = &rt->backends[0].servers[1];
    stat_add(&b->stats[0].requests, 4);
    stat_add(&b->stats[1].requests, 1);
    stat_add(&b->stats[1].inflight, 2);
    call(rt, ADMIN_POST, "/servers/llm/b", "{\"state\": \"drain\"}", true, &rep);
    CHECK_EQ_INT(rep.status, 200);
    CHECK_EQ_INT(atomic_load(&b->state), CONF_STATE_DRAIN);
    CHECK_STR_EQ(rep.body,
                 "{\"name\":\"b\",\"backend\":\"llm\",\"url\":\"http://127.0.0.1:1\",\"state\":\"drain\","
                 "\"health\":\"up\",\"circuit\":\"closed\",\"usable\":false,\"weight\":1,\"priority\":1,\"inflight\":2,"
                 "\"requests\":5,\"responses\":{\"1xx\":0,\"2xx\":0,\"3xx\":0,\"4xx\":0,\"5xx\":0},"
                 "\"bytes_in\":0,\"bytes_out\":0,\"upstream_connects\":0,\"connect_errors\":0,"
                 "\"timeouts\":0,\"retries\":0,\"tokens\":{\"prompt\":0,\"completion\":0,\"total\":0},"
                 "\"latency_ms\":{\"p50\":null,\"p99\":null}}\n");
    call(rt, ADMIN_POST, "/servers/llm/b", "{\"state\":\"maint\"}", true, &rep);
    CHECK_EQ_INT(atomic_load(&b->state), CONF_STATE_MAINT);
    call(rt, ADMIN_POST, "/servers/llm/b", "{\"state\":\"ready\"}", true, &rep);
    CHECK_EQ_INT(atomic_load(&b->state), CONF_STATE_READY);
    /* names may come percent-encoded */
    call(rt, ADMIN_POST, "/servers/%6clm/%62", "{\"state\":\"drain\"}", true, &rep);
    CHECK_EQ_INT(rep.status, 200);
    CHECK_EQ_INT(atomic_load(&b->state), CONF_STATE_DRAIN);
    call(rt, ADMIN_GET, "/servers/llm/b", NULL, false, &rep);
    CHECK_EQ_INT(rep.status, 200);
    CHECK_STR_CONTAINS(rep.body, "\"state\":\"drain\"");
    runtime_release(rt);
}

static void post_without_token_is_401_and_changes_nothing(void)
{
    struct runtime *rt = admin_rt(1);
    REQUIRE(rt != NULL);
    call(rt, ADMIN_POST, "/servers/llm/a", "{\"state\":\"maint\"}", false, &rep);
    CHECK_EQ_INT(rep.status, 401);
    CHECK(rep.challenge);
    CHECK_STR_CONTAINS(rep.body, "\"code\":\"unauthorized\"");
    CHECK_EQ_INT(atomic_load(&rt->backends[0].servers[0].state), CONF_STATE_READY);
    /* unknown paths too: nothing is learned without the token */
    call(rt, ADMIN_POST, "/nothing", "", false, &rep);
    CHECK_EQ_INT(rep.status, 401);
    /* GETs stay open */
    call(rt, ADMIN_GET, "/stats", NULL, false, &rep);
    CHECK_EQ_INT(rep.status, 200);
    runtime_release(rt);
}

static void bad_bodies_are_400(void)
{
    struct runtime *rt = admin_rt(1);
    REQUIRE(rt != NULL);
    static const struct { const char *body, *code; } cases[] = {
        {"", "invalid_json"},
        {"{\"state\":", "invalid_json"},
        {"{\"state\":\"ready\"} x", "invalid_json"},
        {"[\"ready\"]", "invalid_body"},
        {"\"drain\"", "invalid_body"},
        {"{}", "invalid_state"},
        {"{\"state\":\"up\"}", "invalid_state"},
        {"{\"state\":\"READY\"}", "invalid_state"},
        {"{\"state\":1}", "invalid_state"},
        {"{\"state\":\"ready\",\"weight\":2}", "unknown_field"},
        {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "invalid_json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        call(rt, ADMIN_POST, "/servers/llm/a", cases[i].body, true, &rep);
        CHECK_EQ_INT(rep.status, 400);
        char code[64];
        snprintf(code, sizeof code, "\"code\":\"%s\"", cases[i].code);
        CHECK_STR_CONTAINS(rep.body, code);
        CHECK_STR_CONTAINS(rep.body, "\"type\":\"invalid_request_error\"");
    }
    CHECK_EQ_INT(atomic_load(&rt->backends[0].servers[0].state), CONF_STATE_READY);
    runtime_release(rt);
}

static void unknown_things_are_404_and_wrong_methods_405(void)
{
    struct runtime *rt = admin_rt(1);
    REQUIRE(rt != NULL);
    static const char *const missing[] = {
        "/", "/healthz", "/health/", "/stats/x", "/servers", "/servers/", "/servers/llm",
        "/servers/llm/", "/servers//a", "/servers/llm/a/x", "/servers/llm/zz", "/servers/zz/a",
        "/servers/spare/a", "/servers/llm/a%00", "/servers/llm/%zz", "/servers/llm/a%4",
        "/reload",
    };
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        call(rt, ADMIN_GET, missing[i], NULL, false, &rep);
        CHECK_MSG_(rep.status == 404, "GET %s: %d", missing[i], rep.status);
        CHECK_STR_CONTAINS(rep.body, "{\"error\":{\"message\":");
    }
    call(rt, ADMIN_POST, "/health", "{}", true, &rep);
    CHECK_EQ_INT(rep.status, 405);
    CHECK_STR_EQ(rep.allow, "GET, HEAD");
    CHECK_STR_CONTAINS(rep.body, "\"code\":\"method_not_allowed\"");
    call(rt, ADMIN_OTHER, "/metrics", NULL, false, &rep);
    CHECK_EQ_INT(rep.status, 405);
    call(rt, ADMIN_OTHER, "/servers/llm/a", NULL, false, &rep);
    CHECK_EQ_INT(rep.status, 405);
    CHECK_STR_EQ(rep.allow, "GET, HEAD, POST");
    runtime_release(rt);
}

/* /stats parses as JSON and carries each entity's summed counters. */
static void stats_json_sums_workers(void)
{
    struct runtime *rt = admin_rt(2);
    REQUIRE(rt != NULL);
    struct stats_counters *f0 = &rt->frontends[0].stats[0], *f1 = &rt->frontends[0].stats[1];
    stat_add(&f0->requests, 3);
    stat_add(&f1->requests, 4);
    stat_add(&f0->responses[2], 6);
    stat_add(&f1->responses[5], 1);
    stat_add(&f1->bytes_out, 1000);
    stat_add(&f0->connections, 2);
    stats_hist_add(&f0->duration, 1500);
    stat_add(&rt->global[1].connections, 5);
    atomic_store(&rt->backends[1].servers[0].circuit, 2u); /* SL_CIRCUIT_HALF_OPEN */
    call(rt, ADMIN_GET, "/stats", NULL, false, &rep);
    REQUIRE_EQ_INT(rep.status, 200);
    json_token tok[512];
    json_doc d;
    REQUIRE_EQ_INT(json_parse(&d, rep.body, strlen(rep.body), tok, 512, 0), JSON_OK);
    int64_t v = -1;
    CHECK_EQ_INT(json_get_int(&d, json_find(&d, 0, "workers"), &v), JSON_OK);
    CHECK_EQ_INT(v, 2);
    CHECK_EQ_INT(json_get_int(&d, json_find(&d, 0, "connections"), &v), JSON_OK);
    CHECK_EQ_INT(v, 5);
    double up = 0;
    CHECK_EQ_INT(json_get_double(&d, json_find(&d, 0, "uptime_seconds"), &up), JSON_OK);
    CHECK(up == 12.5);
    int api = json_at(&d, json_find(&d, 0, "frontends"), 0);
    CHECK(json_str_eq(&d, json_find(&d, api, "name"), "api"));
    json_get_int(&d, json_find(&d, api, "requests"), &v);
    CHECK_EQ_INT(v, 7);
    int cls = json_find(&d, api, "responses");
    json_get_int(&d, json_find(&d, cls, "2xx"), &v);
    CHECK_EQ_INT(v, 6);
    json_get_int(&d, json_find(&d, cls, "5xx"), &v);
    CHECK_EQ_INT(v, 1);
    json_get_int(&d, json_find(&d, api, "bytes_out"), &v);
    CHECK_EQ_INT(v, 1000);
    json_get_int(&d, json_find(&d, api, "connections"), &v);
    CHECK_EQ_INT(v, 2);
    double p50 = 0;
    CHECK_EQ_INT(json_get_double(&d, json_find(&d, json_find(&d, api, "latency_ms"), "p50"), &p50),
                 JSON_OK);
    CHECK(p50 >= 1.5 && p50 <= 1.8); /* within one log-linear bucket */
    int spare = json_at(&d, json_find(&d, 0, "backends"), 1);
    CHECK(json_str_eq(&d, json_find(&d, spare, "balance"), "least_conn"));
    int c = json_at(&d, json_find(&d, spare, "servers"), 0);
    CHECK(json_str_eq(&d, json_find(&d, c, "name"), "c"));
    CHECK(json_str_eq(&d, json_find(&d, c, "state"), "ready"));
    CHECK(json_str_eq(&d, json_find(&d, c, "health"), "up"));
    CHECK(json_str_eq(&d, json_find(&d, c, "circuit"), "half_open"));
    CHECK_EQ_INT(json_type(&d, json_find(&d, c, "backend")), JSON_NONE);
    runtime_release(rt);
}

static void token_check(void)
{
    const char *t = "s3cret-token";
    static const struct { const char *authz; bool ok; } cases[] = {
        {"Bearer s3cret-token", true},
        {"bearer s3cret-token", true},
        {"BEARER   s3cret-token", true},
        {"Bearer s3cret-toke", false},
        {"Bearer s3cret-token2", false},
        {"Bearer S3cret-token", false},
        {"Bearer ", false},
        {"Bearer", false},
        {"Basic s3cret-token", false},
        {"s3cret-token", false},
        {"", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_MSG_(admin_token_ok(t, cases[i].authz, strlen(cases[i].authz)) == cases[i].ok,
                   "\"%s\"", cases[i].authz);
    CHECK(!admin_token_ok(t, NULL, 0));
    /* no token configured: everything passes */
    CHECK(admin_token_ok(NULL, NULL, 0));
    CHECK(admin_token_ok("", "Bearer x", 8));
}

TEST_MAIN(RUN(health_is_ok) RUN(ready_until_a_backend_has_no_usable_server)
          RUN(post_drain_sets_state_and_answers_the_server)
          RUN(post_without_token_is_401_and_changes_nothing) RUN(bad_bodies_are_400)
          RUN(unknown_things_are_404_and_wrong_methods_405) RUN(stats_json_sums_workers)
          RUN(token_check))
