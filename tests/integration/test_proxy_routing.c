/* test_proxy_routing.c - which route and server a request takes, and what the
 * server receives: the path with the base path swapped in, the server's headers in
 * place of the client's credentials, the mapped model, forwarding headers, request
 * ids, no hop-by-hop headers, Host of the server. The upstream is sluice-mock's
 * /mock/echo, which answers with the request exactly as it arrived. */
#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char conf[] =
    SLUICE_GLOBAL_1W
    "frontends:\n"
    "  - name: api\n"
    "    bind: [\"127.0.0.1:@PORT@\"]\n"
    "    routes:\n"
    "      - name: chat\n"
    "        match: {path_prefix: /v1/chat/}\n"
    "        backend: chat\n"
    "      - name: v1\n"
    "        match: {path_prefix: /v1/}\n"
    "        backend: base\n"
    "      - name: shadowed\n"
    "        match: {path_prefix: /v1/models}\n"
    "        backend: shadowed\n"
    "      - name: post-only\n"
    "        match: {path_prefix: /m/, methods: [POST]}\n"
    "        backend: post\n"
    "      - name: by-host\n"
    "        match: {path_prefix: /m/, host: api.example.com}\n"
    "        backend: host\n"
    "      - name: by-header\n"
    "        match: {path_prefix: /m/, headers: {x-tenant: blue}}\n"
    "        backend: blue\n"
    "      - name: exact\n"
    "        match: {path: /m/exact}\n"
    "        backend: exact\n"
    "backends:\n"
    "  - name: chat\n"
    "    servers:\n"
    "      - name: chat\n"
    "        url: http://127.0.0.1:%1$d/mock/echo/chat\n"
    "        headers: {authorization: \"Bearer server-key\", x-extra: from-sluice}\n"
    "        model_map: {fast: mapped-fast, \"*\": mapped-any}\n"
    "  - {name: base, servers: [{name: base, url: \"http://127.0.0.1:%1$d/mock/echo/base\"}]}\n"
    "  - {name: shadowed, servers: [{name: s, url: \"http://127.0.0.1:%1$d/mock/echo/shadowed\"}]}\n"
    "  - {name: post, servers: [{name: s, url: \"http://127.0.0.1:%1$d/mock/echo/post\"}]}\n"
    "  - {name: host, servers: [{name: s, url: \"http://127.0.0.1:%1$d/mock/echo/host\"}]}\n"
    "  - {name: blue, servers: [{name: s, url: \"http://127.0.0.1:%1$d/mock/echo/blue\"}]}\n"
    "  - {name: exact, servers: [{name: s, url: \"http://127.0.0.1:%1$d/mock/echo/exact\"}]}\n";

/* One request through sluice; its echo parsed into e. Returns the status. */
static long via(struct sluice *s, const char *method, const char *path, const char *const *hdrs,
                const char *body, struct http_resp *r, struct mock_echo *e)
{
    struct http_req req = {.method = method, .url = sluice_url(s, path), .headers = hdrs, .body = body};
    long st = http_do(NULL, &req, r);
    if (e)
        mock_echo_load(e, r->body);
    return st;
}

struct setup {
    struct mock m;
    struct sluice s;
    struct mock_echo e;
    struct http_resp r;
};

static bool setup(struct setup *x)
{
    if (!mock_start(&x->m, "echo", NULL))
        return false;
    return mock_stop_on_failure(sluice_start(&x->s, conf, x->m.port), &x->m, NULL);
}

static void teardown(struct setup *x)
{
    CHECK(sluice_and_mocks_stopped(&x->s, &x->m, NULL));
}

/* ---- tests ---- */

static void base_path_replaces_the_matched_prefix_and_the_query_is_kept(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    CHECK_EQ_INT(via(&x.s, NULL, "/v1/chat/completions?x=1", NULL, NULL, &x.r, &x.e), 200);
    char *p = mock_echo_str(&x.e, "path", NULL);
    CHECK_STR_EQ(p, "/mock/echo/chat/completions?x=1");
    free(p);
    http_resp_free(&x.r);
    CHECK_EQ_INT(via(&x.s, NULL, "/v1/embeddings?a=b&c=%20d", NULL, NULL, &x.r, &x.e), 200);
    p = mock_echo_str(&x.e, "path", NULL);
    CHECK_STR_EQ(p, "/mock/echo/base/embeddings?a=b&c=%20d");
    free(p);
    http_resp_free(&x.r);
    teardown(&x);
}

static void server_headers_replace_the_clients_credentials(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    static const char *const hdrs[] = {"Authorization: Bearer client-key", "X-Extra: from-client",
                                       "X-Other: kept", NULL};
    CHECK_EQ_INT(via(&x.s, "GET", "/v1/chat/x", hdrs, NULL, &x.r, &x.e), 200);
    char v[256];
    CHECK_EQ_INT(mock_echo_header(&x.e, "authorization", v, sizeof v), 1);
    CHECK_STR_EQ(v, "Bearer server-key");
    CHECK_EQ_INT(mock_echo_header(&x.e, "x-extra", v, sizeof v), 1);
    CHECK_STR_EQ(v, "from-sluice");
    CHECK_EQ_INT(mock_echo_header(&x.e, "x-other", v, sizeof v), 1);
    CHECK_STR_EQ(v, "kept");
    CHECK(strstr(x.r.body, "client-key") == NULL);
    CHECK(strstr(x.r.body, "from-client") == NULL);
    http_resp_free(&x.r);
    teardown(&x);
}

/* Sends body (content-type JSON) to the chat route; the server must get `want`
 * byte for byte, with a content-length that matches. */
static void check_mapped(struct setup *x, const char *body, const char *want)
{
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    CHECK_EQ_INT(via(&x->s, "POST", "/v1/chat/completions", hdrs, body, &x->r, &x->e), 200);
    char *got = mock_echo_str(&x->e, "body", NULL);
    CHECK_STR_EQ(got, want);
    free(got);
    char cl[32], exp[32];
    snprintf(exp, sizeof exp, "%zu", strlen(want));
    CHECK_EQ_INT(mock_echo_header(&x->e, "content-length", cl, sizeof cl), 1);
    CHECK_STR_EQ(cl, exp);
    http_resp_free(&x->r);
}

static void model_map_rewrites_only_the_top_level_model(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    /* nested "model" keys, a "model" inside a string, odd spacing, escapes and
     * number spellings all stay as they were */
    check_mapped(&x,
        "{\"messages\":[{\"role\":\"user\",\"content\":\"\\\"model\\\": \\\"fast\\\"\",\"model\":\"fast\"}],\n"
        "  \"model\" :  \"fast\" , \"meta\":{\"model\":\"fast\"},\"n\":1.50e0,\"u\":\"\\u00e9\"}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"\\\"model\\\": \\\"fast\\\"\",\"model\":\"fast\"}],\n"
        "  \"model\" :  \"mapped-fast\" , \"meta\":{\"model\":\"fast\"},\"n\":1.50e0,\"u\":\"\\u00e9\"}");
    /* "*" maps whatever is not listed */
    check_mapped(&x, "{\"model\":\"gpt-9\",\"stream\":false}", "{\"model\":\"mapped-any\",\"stream\":false}");
    /* no top-level model: untouched */
    check_mapped(&x, "{\"meta\":{\"model\":\"fast\"}}", "{\"meta\":{\"model\":\"fast\"}}");
    /* the other servers have no model_map: untouched */
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    CHECK_EQ_INT(via(&x.s, "POST", "/v1/embeddings", hdrs, "{\"model\":\"fast\"}", &x.r, &x.e), 200);
    char *got = mock_echo_str(&x.e, "body", NULL);
    CHECK_STR_EQ(got, "{\"model\":\"fast\"}");
    free(got);
    http_resp_free(&x.r);
    teardown(&x);
}

static void model_map_applies_to_a_chunked_body(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    static const char req[] =
        "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        "8\r\n{\"model\"\r\n"
        "9\r\n:\"fast\",\"\r\n"
        "b\r\nx\":[1,2,3]}\r\n"
        "0\r\n\r\n";
    char buf[8192];
    bool closed;
    sluice_raw(&x.s, req, 0, buf, sizeof buf, 5000, &closed);
    CHECK_EQ_INT(http_status_of(buf), 200);
    const char *body = strstr(buf, "\r\n\r\n");
    REQUIRE(body);
    REQUIRE(mock_echo_load(&x.e, body + 4));
    char *got = mock_echo_str(&x.e, "body", NULL);
    CHECK_STR_EQ(got, "{\"model\":\"mapped-fast\",\"x\":[1,2,3]}");
    free(got);
    char v[64];
    CHECK_EQ_INT(mock_echo_header(&x.e, "transfer-encoding", v, sizeof v), 0);
    CHECK_EQ_INT(mock_echo_header(&x.e, "content-length", v, sizeof v), 1);
    CHECK_STR_EQ(v, "35");
    teardown(&x);
}

static void forwarded_for_and_proto_are_added(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    char v[256];
    CHECK_EQ_INT(via(&x.s, NULL, "/v1/a", NULL, NULL, &x.r, &x.e), 200);
    CHECK_EQ_INT(mock_echo_header(&x.e, "x-forwarded-for", v, sizeof v), 1);
    CHECK_STR_EQ(v, "127.0.0.1");
    CHECK_EQ_INT(mock_echo_header(&x.e, "x-forwarded-proto", v, sizeof v), 1);
    CHECK_STR_EQ(v, "http");
    http_resp_free(&x.r);
    /* an existing chain is extended; a client's proto claim is not believed */
    static const char *const hdrs[] = {"X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https", NULL};
    CHECK_EQ_INT(via(&x.s, NULL, "/v1/a", hdrs, NULL, &x.r, &x.e), 200);
    CHECK_EQ_INT(mock_echo_header(&x.e, "x-forwarded-for", v, sizeof v), 1);
    CHECK_STR_EQ(v, "203.0.113.7, 127.0.0.1");
    CHECK_EQ_INT(mock_echo_header(&x.e, "x-forwarded-proto", v, sizeof v), 1);
    CHECK_STR_EQ(v, "http");
    http_resp_free(&x.r);
    teardown(&x);
}

static void request_id_is_generated_or_kept_and_returned(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    char up[128], down[128], first[128] = "";
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(via(&x.s, NULL, "/v1/a", NULL, NULL, &x.r, &x.e), 200);
        CHECK_EQ_INT(mock_echo_header(&x.e, "x-request-id", up, sizeof up), 1);
        CHECK(http_header(&x.r, "x-request-id", down, sizeof down) != NULL);
        CHECK(down[0] != '\0');
        CHECK_STR_EQ(up, down);
        if (i == 0)
            snprintf(first, sizeof first, "%s", down);
        else
            CHECK_MSG_(strcmp(first, down) != 0, "two requests got the same id %s", down);
        http_resp_free(&x.r);
    }
    static const char *const hdrs[] = {"X-Request-Id: client-id-42", NULL};
    CHECK_EQ_INT(via(&x.s, NULL, "/v1/a", hdrs, NULL, &x.r, &x.e), 200);
    CHECK_EQ_INT(mock_echo_header(&x.e, "x-request-id", up, sizeof up), 1);
    CHECK_STR_EQ(up, "client-id-42");
    CHECK_STR_EQ(http_header(&x.r, "x-request-id", down, sizeof down), "client-id-42");
    http_resp_free(&x.r);
    /* gateway errors carry it too */
    CHECK_EQ_INT(via(&x.s, NULL, "/nowhere", hdrs, NULL, &x.r, NULL), 404);
    CHECK_STR_EQ(http_header(&x.r, "x-request-id", down, sizeof down), "client-id-42");
    http_resp_free(&x.r);
    teardown(&x);
}

static void hop_by_hop_headers_are_removed(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    static const char req[] =
        "GET /v1/hop HTTP/1.1\r\nHost: a\r\n"
        "Connection: close, x-private\r\n"
        "X-Private: secret-hop\r\n"
        "Keep-Alive: timeout=5\r\n"
        "TE: trailers\r\n"
        "Upgrade: websocket\r\n"
        "Proxy-Authorization: Basic c2VjcmV0\r\n"
        "Proxy-Connection: keep-alive\r\n"
        "X-End-To-End: kept\r\n\r\n";
    char buf[8192];
    bool closed;
    sluice_raw(&x.s, req, 0, buf, sizeof buf, 5000, &closed);
    CHECK_EQ_INT(http_status_of(buf), 200);
    CHECK(closed);
    const char *body = strstr(buf, "\r\n\r\n");
    REQUIRE(body);
    REQUIRE(mock_echo_load(&x.e, body + 4));
    static const char *const gone[] = {"connection", "x-private", "keep-alive", "te", "upgrade",
                                       "proxy-authorization", "proxy-connection"};
    char v[256];
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
        CHECK_MSG_(mock_echo_header(&x.e, gone[i], v, sizeof v) == 0, "%s reached the server: %s", gone[i], v);
    CHECK_EQ_INT(mock_echo_header(&x.e, "x-end-to-end", v, sizeof v), 1);
    CHECK(strstr(body, "secret-hop") == NULL);
    teardown(&x);
}

static void host_is_the_servers_authority(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    static const char *const hdrs[] = {"Host: client.example", NULL};
    CHECK_EQ_INT(via(&x.s, NULL, "/v1/a", hdrs, NULL, &x.r, &x.e), 200);
    char v[256], want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d", x.m.port);
    CHECK_EQ_INT(mock_echo_header(&x.e, "host", v, sizeof v), 1);
    CHECK_STR_EQ(v, want);
    http_resp_free(&x.r);
    teardown(&x);
}

static void first_matching_route_wins(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    /* /v1/models matches `v1` before `shadowed` */
    CHECK_EQ_INT(via(&x.s, NULL, "/v1/models", NULL, NULL, &x.r, &x.e), 200);
    char *p = mock_echo_str(&x.e, "path", NULL);
    CHECK_STR_EQ(p, "/mock/echo/base/models");
    free(p);
    http_resp_free(&x.r);
    /* /v1/chat/... matches `chat`, listed before `v1` */
    CHECK_EQ_INT(via(&x.s, NULL, "/v1/chat/x", NULL, NULL, &x.r, &x.e), 200);
    p = mock_echo_str(&x.e, "path", NULL);
    CHECK_STR_EQ(p, "/mock/echo/chat/x");
    free(p);
    http_resp_free(&x.r);
    teardown(&x);
}

static void no_route_gets_404_in_the_openai_error_shape(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    static const char *const paths[] = {"/", "/v2/chat/completions", "/v1", "/m/a"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        CHECK_MSG_(via(&x.s, NULL, paths[i], NULL, NULL, &x.r, NULL) == 404, "%s: %ld", paths[i], x.r.status);
        char ct[128], code[64] = "";
        CHECK_STR_CONTAINS(http_header(&x.r, "content-type", ct, sizeof ct), "application/json");
        CHECK_MSG_(is_openai_error(x.r.body, code, sizeof code), "%s: %s", paths[i], x.r.body);
        http_resp_free(&x.r);
    }
    CHECK_EQ_INT(mock_stat(&x.m, "requests"), 0);
    teardown(&x);
}

static void routes_match_on_method_host_and_headers(void)
{
    static struct setup x;
    REQUIRE(setup(&x));
    struct {
        const char *method, *path, *hdr, *want; /* want NULL: 404 */
    } cases[] = {
        {"POST", "/m/a", NULL, "/mock/echo/post/a"},
        {"GET", "/m/a", "Host: API.Example.com:8443", "/mock/echo/host/a"},
        {"GET", "/m/a", "Host: other.example.com", NULL},
        {"GET", "/m/a", "X-Tenant: blue", "/mock/echo/blue/a"},
        {"GET", "/m/a", "X-Tenant: red", NULL},
        {"GET", "/m/a", "X-Tenant: blue-ish", NULL},
        {"GET", "/m/exact", NULL, "/mock/echo/exact/m/exact"},
        {"GET", "/m/exact/more", NULL, NULL},
        {"PUT", "/m/a", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const hdrs[] = {cases[i].hdr, NULL};
        long st = via(&x.s, cases[i].method, cases[i].path, cases[i].hdr ? hdrs : NULL,
                      cases[i].method[0] == 'P' ? "{}" : NULL, &x.r, NULL);
        if (!cases[i].want) {
            CHECK_MSG_(st == 404, "%s %s [%s]: %ld", cases[i].method, cases[i].path,
                       cases[i].hdr ? cases[i].hdr : "", st);
        } else {
            mock_echo_load(&x.e, x.r.body);
            char *p = mock_echo_str(&x.e, "path", NULL);
            CHECK_MSG_(st == 200 && !strcmp(p, cases[i].want), "%s %s [%s]: %ld %s, want %s",
                       cases[i].method, cases[i].path, cases[i].hdr ? cases[i].hdr : "", st, p,
                       cases[i].want);
            free(p);
        }
        http_resp_free(&x.r);
    }
    teardown(&x);
}

TEST_MAIN(
    RUN(base_path_replaces_the_matched_prefix_and_the_query_is_kept)
    RUN(server_headers_replace_the_clients_credentials)
    RUN(model_map_rewrites_only_the_top_level_model)
    RUN(model_map_applies_to_a_chunked_body)
    RUN(forwarded_for_and_proto_are_added)
    RUN(request_id_is_generated_or_kept_and_returned)
    RUN(hop_by_hop_headers_are_removed)
    RUN(host_is_the_servers_authority)
    RUN(first_matching_route_wins)
    RUN(no_route_gets_404_in_the_openai_error_shape)
    RUN(routes_match_on_method_host_and_headers)
)
