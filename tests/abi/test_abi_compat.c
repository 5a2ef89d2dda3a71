/* test_abi_compat.c - a plugin built against the frozen 1.0 headers
 * (abi_v10_fixture.so, tests/abi/v1.0) loads and works in this sluice: its
 * response header is on every response, upstream or local, it answers its own
 * path, and its on_end runs for each transaction. This test must pass unchanged
 * in every later 1.x. */
#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char conf[] =
    SLUICE_GLOBAL_1W
    "frontends:\n"
    "  - name: api\n"
    "    bind: [\"127.0.0.1:@PORT@\"]\n"
    "    filters:\n"
    "      - plugin: %1$s\n"
    "        config: {note: frozen}\n"
    "    routes:\n"
    "      - match: {path_prefix: /}\n"
    "        backend: m\n"
    "backends:\n"
    "  - {name: m, servers: [{name: s, url: \"http://127.0.0.1:%2$d\"}]}\n";

struct setup {
    struct mock m;
    struct sluice s;
};

static bool setup(struct setup *x)
{
    if (!mock_start(&x->m, "abi", NULL))
        return false;
    return mock_stop_on_failure(
        sluice_start(&x->s, conf, sluice_test_plugin("abi_v10_fixture"), x->m.port), &x->m, NULL);
}

static void teardown(struct setup *x)
{
    CHECK(sluice_and_mocks_stopped(&x->s, &x->m, NULL));
}

/* The fixture's local answer, parsed: heads and ends counters, host ABI. */
struct answer {
    int64_t major, minor, heads, ends;
    char note[32];
    bool ok;
};

static struct answer ask_fixture(struct setup *x)
{
    struct answer a = {0};
    struct http_resp r;
    char v[64];
    long st = http_get(sluice_url(&x->s, "/abi-fixture"), &r);
    json_token toks[32];
    json_doc d;
    a.ok = st == 200 && http_header(&r, "x-abi-fixture", v, sizeof v) && !strcmp(v, "1.0") &&
           !http_header(&r, "x-mock-server", v, sizeof v) &&
           json_load(&d, toks, 32, r.body) && json_str_eq(&d, json_find(&d, 0, "fixture"), "1.0");
    if (a.ok) {
        a.major = json_int(&d, 0, "host_abi_major");
        a.minor = json_int(&d, 0, "host_abi_minor");
        a.heads = json_int(&d, 0, "heads");
        a.ends = json_int(&d, 0, "ends");
        json_str_decode(&d, json_find(&d, 0, "note"), a.note, sizeof a.note, NULL);
    } else {
        printf("  /abi-fixture: status %ld, body %.200s\n", st, r.body);
    }
    http_resp_free(&r);
    return a;
}

static void check_passes_with_the_v10_fixture(void)
{
    char conf_text[1024], text[1024], path[256];
    snprintf(conf_text, sizeof conf_text, conf, sluice_test_plugin("abi_v10_fixture"), 9);
    /* -t binds nothing, so the placeholder port can be any number. */
    char *port = strstr(conf_text, "@PORT@");
    REQUIRE(port != NULL);
    snprintf(text, sizeof text, "%.*s18080%s", (int)(port - conf_text), conf_text, port + 6);
    struct proc_result r;
    CHECK_EQ_INT(sluice_check_config(text, &r, path, sizeof path), 0);
    CHECK_STR_EQ(r.out, "configuration OK\n");
    CHECK_STR_EQ(r.err, "");
    proc_result_free(&r);
}

static void upstream_responses_carry_the_fixture_header(void)
{
    struct setup x;
    REQUIRE(setup(&x));
    for (int i = 0; i < 3; i++) {
        struct http_resp r;
        char v[64];
        CHECK_EQ_INT(http_get(sluice_url(&x.s, "/v1/models"), &r), 200);
        CHECK_STR_EQ(http_header(&r, "x-mock-server", v, sizeof v), "abi");
        CHECK_STR_EQ(http_header(&r, "x-abi-fixture", v, sizeof v), "1.0");
        CHECK_STR_CONTAINS(r.body, "mock-model");
        http_resp_free(&r);
    }
    /* Only GET /abi-fixture is the fixture's: a POST there goes upstream. */
    struct http_resp r;
    char v[64];
    struct http_req req = {.method = "POST", .url = sluice_url(&x.s, "/abi-fixture"),
                           .body = "{}"};
    http_do(NULL, &req, &r);
    CHECK(r.status != 0);
    CHECK_STR_EQ(http_header(&r, "x-mock-server", v, sizeof v), "abi");
    CHECK_STR_EQ(http_header(&r, "x-abi-fixture", v, sizeof v), "1.0");
    http_resp_free(&r);
    teardown(&x);
}

static void fixture_answers_its_path_locally(void)
{
    struct setup x;
    REQUIRE(setup(&x));
    int64_t before = mock_stat(&x.m, "requests");
    struct answer a = ask_fixture(&x);
    CHECK(a.ok);
    CHECK_EQ_INT(a.major, 1);
    CHECK(a.minor >= 0);
    CHECK_STR_EQ(a.note, "frozen");
    /* Nothing reached the upstream (/mock/stats is not counted). */
    CHECK_EQ_INT(mock_stat(&x.m, "requests"), before);
    teardown(&x);
}

/* on_end runs once for every transaction the fixture saw, locally answered too. */
static void on_end_runs_for_every_transaction(void)
{
    struct setup x;
    REQUIRE(setup(&x));
    for (int i = 0; i < 4; i++) {
        struct http_resp r;
        CHECK_EQ_INT(http_get(sluice_url(&x.s, "/v1/models"), &r), 200);
        http_resp_free(&r);
    }
    struct answer a = {0};
    double deadline = proc_now_ms() + 5000;
    do {
        a = ask_fixture(&x);
        /* This answer's own transaction has not ended yet: ends == heads - 1. */
        if (a.ok && a.ends == a.heads - 1)
            break;
        usleep(20 * 1000);
    } while (proc_now_ms() < deadline);
    CHECK(a.ok);
    CHECK(a.heads >= 5);
    CHECK_EQ_INT(a.ends, a.heads - 1);
    teardown(&x);
}

TEST_MAIN(RUN(check_passes_with_the_v10_fixture) RUN(upstream_responses_carry_the_fixture_header)
              RUN(fixture_answers_its_path_locally) RUN(on_end_runs_for_every_transaction))
