/* test_plugin_auth.c - the auth plugin as a client and an operator see it, with
 * sluice in front of sluice-mock's /mock/echo (which answers with the request as
 * the upstream received it): 401 without or with a wrong key, Bearer and
 * x-api-key accepted, hashed and plain-text keys, keys from a file, the client's
 * credential never forwarded, per-key backends and models (403), and the errors
 * and warnings `sluice -t` prints at FILE:LINE:COL without ever printing a key.
 *
 * Not here: the key's name for later filters (variable "auth.key") needs a filter
 * that shows variables; test_plugin_ratelimit checks it (budgets per api_key
 * behind auth). */
#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Keys of the tests and their stored forms (sha256sum of the key). */
#define ALICE "sk-alice-0123456789"
#define ALICE_SHA "sha256:767ce15891988db0e684a53b3a796188526d8ba43dc03acd89e7fdf3c126cdcc"
#define BOB "sk-bob-plain"                 /* stored in plain text */
#define CAROL "sk-carol-models"
#define CAROL_SHA "sha256:686cfc84100363c56f61d44701d5debaaf14fa406e73be7178eae2502a0ce8ac"
#define FILEKEY "sk-file-key"
#define FILEKEY_SHA "sha256:84fc18f41ef493c1ad163337871ceb4afa1988dd8de13db2b939f5ea5a0029d2"

/* %1$d mock port, %2$s plugin dir, %3$s the auth filter's config lines. Backend
 * `one` sets the provider's key; `two` sets none. */
static const char conf_fmt[] =
    "global:\n"
    "  workers: 2\n"
    "  grace: 5s\n"
    "  log: {level: info, access: off}\n"
    "  plugin_path: [\"%2$s\"]\n"
    "frontends:\n"
    "  - name: api\n"
    "    bind: [\"127.0.0.1:@PORT@\"]\n"
    "    filters:\n"
    "      - plugin: auth\n"
    "        config:\n"
    "%3$s"
    "    routes:\n"
    "      - {name: one, match: {path_prefix: /one/}, backend: one}\n"
    "      - {name: two, match: {path_prefix: /two/}, backend: two}\n"
    "backends:\n"
    "  - name: one\n"
    "    servers:\n"
    "      - name: s1\n"
    "        url: \"http://127.0.0.1:%1$d/mock/echo/one\"\n"
    "        headers: {authorization: \"Bearer server-key\"}\n"
    "  - name: two\n"
    "    servers: [{name: s2, url: \"http://127.0.0.1:%1$d/mock/echo/two\"}]\n";

static const char inline_keys[] =
    "          keys:\n"
    "            - {name: alice, key: \"" ALICE_SHA "\"}\n"
    "            - {name: bob, key: " BOB ", backends: [one]}\n"
    "            - {name: carol, key: \"" CAROL_SHA "\", models: [gpt-4o-mini, mock-model]}\n";

/* ---- one sluice in front of one mock ---- */

struct setup {
    struct mock m;
    struct sluice s;
    struct http_resp r;
    struct mock_echo e;
};

static bool setup_with(struct setup *x, const char *auth_config)
{
    memset(&x->r, 0, sizeof x->r);
    if (!mock_start(&x->m, "echo", NULL))
        return false;
    return mock_stop_on_failure(
        sluice_start(&x->s, conf_fmt, x->m.port, sluice_plugin_dir(), auth_config), &x->m, NULL);
}

static void teardown(struct setup *x)
{
    http_resp_free(&x->r);
    CHECK(sluice_and_mocks_stopped(&x->s, &x->m, NULL));
}

/* A request through sluice with up to two header lines (NULL to omit); the echo,
 * when there is one, is parsed into x->e. Returns the status. */
static long req(struct setup *x, const char *method, const char *path, const char *h1,
                const char *h2, const char *body)
{
    const char *hdrs[4] = {0};
    int n = 0;
    if (h1)
        hdrs[n++] = h1;
    if (h2)
        hdrs[n++] = h2;
    if (body)
        hdrs[n++] = "Content-Type: application/json";
    http_resp_free(&x->r);
    struct http_req q = {.method = method, .url = sluice_url(&x->s, path), .headers = hdrs,
                         .body = body};
    long st = http_do(NULL, &q, &x->r);
    mock_echo_load(&x->e, x->r.body);
    return st;
}

#define BEARER(k) "Authorization: Bearer " k
#define XKEY(k) "x-api-key: " k

/* The last answer is a gateway error with this status and code. */
static void check_error(struct setup *x, long status, const char *code)
{
    char got[64] = "";
    CHECK_EQ_INT(x->r.status, status);
    CHECK(is_openai_error(x->r.body, got, sizeof got));
    CHECK_STR_EQ(got, code);
}

static void check_401(struct setup *x, const char *code, const char *key)
{
    char v[64];
    check_error(x, 401, code);
    CHECK_STR_EQ(http_header(&x->r, "www-authenticate", v, sizeof v), "Bearer");
    if (key)
        CHECK(strstr(x->r.body, key) == NULL);
}

/* ---- tests ---- */

static void missing_key_is_a_401_json_error(void)
{
    static struct setup x;
    REQUIRE(setup_with(&x, inline_keys));
    CHECK_EQ_INT(req(&x, "GET", "/one/x", NULL, NULL, NULL), 401);
    check_401(&x, "missing_api_key", NULL);
    /* an empty Bearer, another scheme and an empty x-api-key carry no key */
    req(&x, "GET", "/one/x", "Authorization: Bearer ", NULL, NULL);
    check_401(&x, "missing_api_key", NULL);
    req(&x, "GET", "/one/x", "Authorization: Basic c2stYWxpY2U6", NULL, NULL);
    check_401(&x, "missing_api_key", NULL);
    req(&x, "GET", "/one/x", "x-api-key;", NULL, NULL);  /* curl: an empty value */
    check_401(&x, "missing_api_key", NULL);
    CHECK_EQ_INT(mock_stat(&x.m, "requests"), 0);
    teardown(&x);
}

static void wrong_key_is_a_401_that_does_not_echo_it(void)
{
    static struct setup x;
    REQUIRE(setup_with(&x, inline_keys));
    CHECK_EQ_INT(req(&x, "GET", "/one/x", BEARER("sk-nobody-1234"), NULL, NULL), 401);
    check_401(&x, "invalid_api_key", "sk-nobody-1234");
    /* the stored form is not a key */
    req(&x, "GET", "/one/x", BEARER(ALICE_SHA), NULL, NULL);
    check_401(&x, "invalid_api_key", ALICE_SHA);
    /* once alice is remembered, her key's prefix or extension still fails */
    CHECK_EQ_INT(req(&x, "GET", "/one/x", BEARER(ALICE), NULL, NULL), 200);
    req(&x, "GET", "/one/x", BEARER("sk-alice-012345678"), NULL, NULL);
    check_401(&x, "invalid_api_key", "sk-alice");
    req(&x, "GET", "/one/x", XKEY(ALICE "0"), NULL, NULL);
    check_401(&x, "invalid_api_key", "sk-alice");
    CHECK_EQ_INT(mock_stat(&x.m, "requests"), 1);
    teardown(&x);
}

static void bearer_and_x_api_key_are_accepted(void)
{
    static struct setup x;
    REQUIRE(setup_with(&x, inline_keys));
    /* repeated, so both workers' caches and the hashing path are used */
    for (int i = 0; i < 6; i++) {
        CHECK_EQ_INT(req(&x, "GET", "/one/a", BEARER(ALICE), NULL, NULL), 200);
        CHECK_EQ_INT(req(&x, "GET", "/one/b", XKEY(ALICE), NULL, NULL), 200);
    }
    CHECK_EQ_INT(req(&x, "GET", "/one/c", "Authorization: bEaReR   " ALICE "  ", NULL, NULL), 200);
    CHECK_EQ_INT(req(&x, "GET", "/one/d", "x-api-key:   " ALICE, NULL, NULL), 200);
    /* a wrong Bearer is not rescued by a right x-api-key: Bearer comes first */
    CHECK_EQ_INT(req(&x, "GET", "/one/e", BEARER("sk-wrong"), XKEY(ALICE), NULL), 401);
    /* a Basic header does not hide x-api-key */
    CHECK_EQ_INT(req(&x, "GET", "/one/f", "Authorization: Basic eDp5", XKEY(ALICE), NULL), 200);
    teardown(&x);
}

static void plain_text_key_is_accepted(void)
{
    static struct setup x;
    REQUIRE(setup_with(&x, inline_keys));
    CHECK_EQ_INT(req(&x, "GET", "/one/x", BEARER(BOB), NULL, NULL), 200);
    CHECK_EQ_INT(req(&x, "GET", "/one/x", XKEY(BOB), NULL, NULL), 200);
    CHECK_EQ_INT(req(&x, "GET", "/one/x", BEARER("sk-bob-plai"), NULL, NULL), 401);
    teardown(&x);
}

static void client_credential_never_reaches_the_upstream(void)
{
    static struct setup x;
    REQUIRE(setup_with(&x, inline_keys));
    char v[256];
    /* backend one sets the provider's key: the only authorization upstream */
    REQUIRE(req(&x, "GET", "/one/x", BEARER(ALICE), XKEY(ALICE), NULL) == 200);
    CHECK_EQ_INT(mock_echo_header(&x.e, "authorization", v, sizeof v), 1);
    CHECK_STR_EQ(v, "Bearer server-key");
    CHECK_EQ_INT(mock_echo_header(&x.e, "x-api-key", NULL, 0), 0);
    CHECK(strstr(x.r.body, ALICE) == NULL);
    REQUIRE(req(&x, "GET", "/one/x", XKEY(ALICE), NULL, NULL) == 200);
    CHECK_EQ_INT(mock_echo_header(&x.e, "authorization", v, sizeof v), 1);
    CHECK_STR_EQ(v, "Bearer server-key");
    CHECK_EQ_INT(mock_echo_header(&x.e, "x-api-key", NULL, 0), 0);
    /* backend two sets none: nothing at all */
    REQUIRE(req(&x, "GET", "/two/x", BEARER(ALICE), XKEY(ALICE), NULL) == 200);
    CHECK_EQ_INT(mock_echo_header(&x.e, "authorization", NULL, 0), 0);
    CHECK_EQ_INT(mock_echo_header(&x.e, "x-api-key", NULL, 0), 0);
    CHECK(strstr(x.r.body, ALICE) == NULL);
    teardown(&x);
}

static void key_limited_to_a_backend_gets_403_elsewhere(void)
{
    static struct setup x;
    REQUIRE(setup_with(&x, inline_keys));
    CHECK_EQ_INT(req(&x, "GET", "/one/x", BEARER(BOB), NULL, NULL), 200);
    CHECK_EQ_INT(req(&x, "GET", "/two/x", BEARER(BOB), NULL, NULL), 403);
    check_error(&x, 403, "backend_not_allowed");
    CHECK(strstr(x.r.body, BOB) == NULL);
    /* a key without `backends` may use both */
    CHECK_EQ_INT(req(&x, "GET", "/two/x", BEARER(ALICE), NULL, NULL), 200);
    teardown(&x);
}

static void key_limited_to_models_is_checked_on_the_top_level_model(void)
{
    static struct setup x;
    REQUIRE(setup_with(&x, inline_keys));
    const char *k = BEARER(CAROL);
    CHECK_EQ_INT(req(&x, "POST", "/one/chat", k, NULL, "{\"model\":\"gpt-4o-mini\",\"n\":1}"), 200);
    CHECK_EQ_INT(req(&x, "POST", "/one/chat", k, NULL, "{\"model\":\"gpt-4o\"}"), 403);
    check_error(&x, 403, "model_not_allowed");
    /* a nested or quoted "model" does not count, either way */
    CHECK_EQ_INT(req(&x, "POST", "/one/chat", k, NULL,
                     "{\"messages\":[{\"role\":\"user\",\"content\":\"\\\"model\\\":\\\"gpt-4o-mini\\\"\","
                     "\"model\":\"gpt-4o-mini\"}],\"meta\":{\"model\":\"gpt-4o-mini\"},\"model\":\"gpt-4o\"}"),
                 403);
    CHECK_EQ_INT(req(&x, "POST", "/one/chat", k, NULL,
                     "{\"meta\":{\"model\":\"gpt-4o\"},\"model\" : \"mock-model\",\"x\":[{\"model\":1}]}"),
                 200);
    /* escapes decode as the provider would read them */
    CHECK_EQ_INT(req(&x, "POST", "/one/chat", k, NULL, "{\"mod\\u0065l\":\"gpt-4o\"}"), 403);
    CHECK_EQ_INT(req(&x, "POST", "/one/chat", k, NULL, "{\"model\":\"gpt\\u002d4o-mini\"}"), 200);
    /* no readable model: 400 */
    CHECK_EQ_INT(req(&x, "POST", "/one/chat", k, NULL, "{\"meta\":{\"model\":\"gpt-4o-mini\"}}"), 400);
    check_error(&x, 400, "model_required");
    CHECK_EQ_INT(req(&x, "POST", "/one/chat", k, NULL, "{\"model\":\"gpt-4o-mini\""), 400);
    CHECK_EQ_INT(req(&x, "POST", "/one/chat", k, NULL, "{\"model\":[\"gpt-4o-mini\"]}"), 400);
    CHECK_EQ_INT(req(&x, "POST", "/one/chat", k, NULL,
                     "{\"model\":\"gpt-4o-mini\",\"model\":\"gpt-4o\"}"), 400);
    check_error(&x, 400, "duplicate_model");
    /* a bodiless GET (model listing) runs no model */
    CHECK_EQ_INT(req(&x, "GET", "/one/models", k, NULL, NULL), 200);
    /* the allowed body reaches the upstream as sent */
    REQUIRE(req(&x, "POST", "/one/chat", k, NULL, "{\"model\":\"mock-model\"}") == 200);
    int b = json_find(&x.e.d, 0, "body");
    char body[128] = "";
    json_str_decode(&x.e.d, b, body, sizeof body, NULL);
    CHECK_STR_EQ(body, "{\"model\":\"mock-model\"}");
    /* keys without `models` are not limited */
    CHECK_EQ_INT(req(&x, "POST", "/one/chat", BEARER(ALICE), NULL, "{\"model\":\"gpt-4o\"}"), 200);
    CHECK_EQ_INT(req(&x, "POST", "/one/chat", BEARER(ALICE), NULL, "not json"), 200);
    teardown(&x);
}

/* ---- keys files and `sluice -t` ---- */

static char tmpdir[256];

/* Writes NAME into this test's temporary directory (made on first use); the path
 * is valid until the next call but one. */
static const char *tmp_file(const char *name, const char *text)
{
    static char path[2][512];
    static int which;
    char *p = path[which ^= 1];
    if (!tmpdir[0] && !temp_dir_create(tmpdir, sizeof tmpdir, "sluice-auth"))
        return NULL;
    return temp_file_write(tmpdir, name, text, p, sizeof path[0]);
}

static void tmp_cleanup(void)
{
    temp_dir_remove(tmpdir);
    tmpdir[0] = '\0';
}

/* For -t: the auth config lines start at line 9 of the file. */
static const char check_fmt[] =
    "global:\n"                                                 /* 1 */
    "  plugin_path: [\"%s\"]\n"                                 /* 2 */
    "frontends:\n"                                              /* 3 */
    "  - name: api\n"                                           /* 4 */
    "    bind: [\"127.0.0.1:8080\"]\n"                          /* 5 */
    "    filters:\n"                                            /* 6 */
    "      - plugin: auth\n"                                    /* 7 */
    "        config:\n"                                         /* 8 */
    "%s"                                                        /* 9... */
    "    routes:\n"
    "      - backend: one\n"
    "backends:\n"
    "  - {name: one, servers: [{name: s, url: \"http://127.0.0.1:9\"}]}\n";

/* `sluice -t` of the check_fmt configuration with these auth lines. */
static int check_config(const char *auth_lines, struct proc_result *r, char *path, size_t cap)
{
    char text[4096];
    snprintf(text, sizeof text, check_fmt, sluice_plugin_dir(), auth_lines);
    return sluice_check_config(text, r, path, cap);
}

static void plain_text_key_warns_at_its_position_without_printing_it(void)
{
    struct proc_result r;
    char path[512], where[600];
    int st = check_config("          keys:\n"
                          "            - {name: bob, key: " BOB "}\n", /* line 10, col 32 */
                          &r, path, sizeof path);
    CHECK_EQ_INT(st, 0);
    snprintf(where, sizeof where, "%s:10:32:", path);
    CHECK_STR_CONTAINS(r.err, where);
    CHECK_STR_CONTAINS(r.err, "plain text");
    CHECK(strstr(r.err, BOB) == NULL);
    CHECK(strstr(r.out, BOB) == NULL);
    proc_result_free(&r);
    tmp_cleanup();
}

static void keys_file_errors_point_into_the_keys_file(void)
{
    const char *keys = tmp_file("keys.yaml",
                                "keys:\n"                                       /* 1 */
                                "  - name: alice\n"                             /* 2 */
                                "    key: \"sha256:0123\"\n"                    /* 3 */
                                "  - {name: bob, key: \"" FILEKEY_SHA "\", colour: red}\n"); /* 4 */
    REQUIRE(keys != NULL);
    char keys_path[512], lines[700], path[512], where[600];
    snprintf(keys_path, sizeof keys_path, "%s", keys);
    snprintf(lines, sizeof lines, "          keys_file: \"%s\"\n", keys_path);
    struct proc_result r;
    CHECK_EQ_INT(check_config(lines, &r, path, sizeof path), 1);
    snprintf(where, sizeof where, "%s:3:10:", keys_path);
    CHECK_STR_CONTAINS(r.err, where);
    CHECK_STR_CONTAINS(r.err, "64 hex");
    snprintf(where, sizeof where, "%s:4:", keys_path);
    CHECK_STR_CONTAINS(r.err, where);
    CHECK_STR_CONTAINS(r.err, "'colour'");
    proc_result_free(&r);
    /* a file that is not there is an error at keys_file's value */
    snprintf(lines, sizeof lines, "          keys_file: \"%s/absent.yaml\"\n", tmpdir);
    CHECK_EQ_INT(check_config(lines, &r, path, sizeof path), 1);
    snprintf(where, sizeof where, "%s:9:22:", path);
    CHECK_STR_CONTAINS(r.err, where);
    proc_result_free(&r);
    tmp_cleanup();
}

static void config_errors_are_located(void)
{
    struct proc_result r;
    char path[512], where[600];
    /* an unknown key of the plugin's config */
    CHECK_EQ_INT(check_config("          keys: [{name: alice, key: \"" ALICE_SHA "\"}]\n"
                              "          header: x-token\n",        /* 10:11 */
                              &r, path, sizeof path), 1);
    snprintf(where, sizeof where, "%s:10:11:", path);
    CHECK_STR_CONTAINS(r.err, where);
    CHECK_STR_CONTAINS(r.err, "'header'");
    proc_result_free(&r);
    /* every bad key in one run: no name, bad hex, a duplicate name, the same
     * secret twice (named by the other key's name, never by the secret) */
    CHECK_EQ_INT(check_config("          keys:\n"                                            /* 9 */
                              "            - {key: \"" ALICE_SHA "\"}\n"                     /* 10 */
                              "            - {name: a, key: \"sha256:" "xyz" "\"}\n"         /* 11 */
                              "            - {name: b, key: sk-secret-one}\n"                /* 12 */
                              "            - {name: b, key: \"" CAROL_SHA "\"}\n"            /* 13 */
                              "            - {name: c, key: sk-secret-one}\n",               /* 14 */
                              &r, path, sizeof path), 1);
    static const char *const at[] = {":10:", ":11:", ":13:", ":14:"};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        snprintf(where, sizeof where, "%s%s", path, at[i]);
        CHECK_STR_CONTAINS(r.err, where);
    }
    CHECK_STR_CONTAINS(r.err, "duplicate key name 'b'");
    CHECK_STR_CONTAINS(r.err, "already listed as 'b'");
    CHECK(strstr(r.err, "sk-secret-one") == NULL);
    proc_result_free(&r);
    /* neither keys nor keys_file */
    CHECK_EQ_INT(check_config("          {}\n", &r, path, sizeof path), 1);
    CHECK_STR_CONTAINS(r.err, "keys_file");
    proc_result_free(&r);
    tmp_cleanup();
}

static void keys_file_keys_are_accepted(void)
{
    const char *keys = tmp_file("keys.yaml",
                                "keys:\n"
                                "  - {name: filed, key: \"" FILEKEY_SHA "\", backends: two}\n");
    REQUIRE(keys != NULL);
    char lines[700];
    /* keys_file and inline keys together */
    snprintf(lines, sizeof lines, "          keys_file: \"%s\"\n%s", keys, inline_keys);
    static struct setup x;
    if (!setup_with(&x, lines)) {
        tmp_cleanup();
        REQUIRE(false);
    }
    CHECK_EQ_INT(req(&x, "GET", "/two/x", XKEY(FILEKEY), NULL, NULL), 200);
    CHECK_EQ_INT(req(&x, "GET", "/one/x", XKEY(FILEKEY), NULL, NULL), 403);
    CHECK_EQ_INT(req(&x, "GET", "/one/x", BEARER(ALICE), NULL, NULL), 200);
    CHECK_EQ_INT(req(&x, "GET", "/one/x", BEARER("sk-file-ke"), NULL, NULL), 401);
    teardown(&x);
    tmp_cleanup();
}

TEST_MAIN(
    RUN(missing_key_is_a_401_json_error)
    RUN(wrong_key_is_a_401_that_does_not_echo_it)
    RUN(bearer_and_x_api_key_are_accepted)
    RUN(plain_text_key_is_accepted)
    RUN(client_credential_never_reaches_the_upstream)
    RUN(key_limited_to_a_backend_gets_403_elsewhere)
    RUN(key_limited_to_models_is_checked_on_the_top_level_model)
    RUN(plain_text_key_warns_at_its_position_without_printing_it)
    RUN(keys_file_errors_point_into_the_keys_file)
    RUN(config_errors_are_located)
    RUN(keys_file_keys_are_accepted)
)
