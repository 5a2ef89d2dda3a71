/* test_plugin_chain_edit.c - the chain runtime seen from outside (see
 * plugin_chain_fixture.h): request and response headers filters set or remove,
 * variables between filters, request and response bodies held, replaced or
 * streamed, and the bound on a held body. */
#include "plugin_chain_fixture.h"

#include <stdlib.h>
#include <string.h>

/* ======== headers, bodies, variables ======== */

static const char conf_edit[] =
    FRONT(P("tag: A, var_set: {who: alice}, set_response_header: {x-resp: from-A}, var_copy: {late: x-late}"))
    ROUTE("buf", "/buf/", "b", P("tag: BF, buffer_request: true, replace_body: \"{\\\"replaced\\\": true}\""))
    ROUTE("keep", "/keep/", "b", P("tag: BK, buffer_request: true"))
    ROUTE("rbuf", "/rbuf/", "b", P("tag: RB, buffer_response: true, replace_response_body: short"))
    ROUTE("rkeep", "/rkeep/", "b", P("tag: RK, buffer_response: true"))
    ROUTE("sse", "/sse/", "llm", P("tag: RS, buffer_response: true, replace_response_body: short"))
    ROUTE("ssek", "/ssek/", "llm", P("tag: RSK, buffer_response: true"))
    ROUTE("r", "/", "b", P("tag: H, set_request_header: {x-added: yes, x-replaced: new}, remove_request_header: [x-drop]"))
    "backends:\n"
    "  - {name: llm, servers: [{name: s1, url: \"http://127.0.0.1:%2$d/v1\"}]}\n"
    ECHO_BACKEND("b", P("tag: C, count_body: true, var_set: {late: from-C}, set_response_header: {x-resp: from-C, x-c: c}, "
                        "var_copy: {who: x-who, probe.where.A: x-where}"));

static void request_headers_set_and_removed_reach_the_upstream(void)
{
    static struct env e;
    UP(&e, conf_edit);
    static const char *const h[] = {"X-Replaced: old", "X-Drop: secret", "X-Keep: kept",
                                    "X-Replaced: older", "X-Drop: again", NULL};
    struct http_resp r;
    struct mock_echo ec;
    char v[256];
    CHECK_EQ_INT(req(&e, "GET", "/h", h, NULL, 0, &r), 200);
    REQUIRE(mock_echo_load(&ec, r.body));
    CHECK_EQ_INT(mock_echo_header(&ec, "x-added", v, sizeof v), 1);
    CHECK_STR_EQ(v, "yes");
    CHECK_EQ_INT(mock_echo_header(&ec, "x-replaced", v, sizeof v), 1);
    CHECK_STR_EQ(v, "new");
    CHECK_EQ_INT(mock_echo_header(&ec, "x-drop", v, sizeof v), 0);
    CHECK_EQ_INT(mock_echo_header(&ec, "x-keep", v, sizeof v), 1);
    /* response side: C sets first, A (reverse order) last; both reach the client */
    CHECK_STR_EQ(hdr(&r, "x-resp"), "from-A");
    CHECK_STR_EQ(hdr(&r, "x-c"), "c");
    http_resp_free(&r);
    DOWN(&e);
}

static void variables_cross_filters_both_ways(void)
{
    static struct env e;
    UP(&e, conf_edit);
    struct http_resp r;
    CHECK_EQ_INT(get(&e, "/v", &r), 200);
    CHECK_STR_EQ(hdr(&r, "x-who"), "alice");    /* set by A, read by C */
    CHECK_STR_EQ(hdr(&r, "x-late"), "from-C");  /* set by C's request hook, read by A's response hook */
    CHECK_STR_EQ(hdr(&r, "x-where"), "route=r backend=b server=");
    http_resp_free(&r);
    DOWN(&e);
}

static void buffered_request_body_replaced(void)
{
    static struct env e;
    UP(&e, conf_edit);
    static char body[10240];
    memset(body, 'b', sizeof body);
    static const char *const chunked[] = {"Transfer-Encoding: chunked", NULL};
    for (int i = 0; i < 2; i++) {
        struct http_resp r;
        struct mock_echo ec;
        char v[64];
        CHECK_EQ_INT(req(&e, "POST", "/buf/x", i ? chunked : NULL, body, sizeof body, &r), 200);
        CHECK_STR_EQ(hdr(&r, "x-probe-body-BF"), "ok 10240");
        REQUIRE(mock_echo_load(&ec, r.body));
        char *got = mock_echo_str(&ec, "body", NULL);
        CHECK_STR_EQ(got, "{\"replaced\": true}");
        free(got);
        CHECK_EQ_INT(mock_echo_header(&ec, "content-length", v, sizeof v), 1);
        CHECK_STR_EQ(v, "18");
        CHECK_EQ_INT(mock_echo_header(&ec, "transfer-encoding", v, sizeof v), 0);
        http_resp_free(&r);
    }
    /* buffered and kept: the upstream gets the body as sent */
    struct http_resp r;
    struct mock_echo ec;
    CHECK_EQ_INT(req(&e, "POST", "/keep/x", chunked, "abc\"def", 0, &r), 200);
    CHECK_STR_EQ(hdr(&r, "x-probe-body-BK"), "ok 7");
    REQUIRE(mock_echo_load(&ec, r.body));
    char *got = mock_echo_str(&ec, "body", NULL);
    CHECK_STR_EQ(got, "abc\"def");
    free(got);
    http_resp_free(&r);
    DOWN(&e);
}

static void large_body_streams_through_untouched(void)
{
    static struct env e;
    UP(&e, conf_edit);
    size_t n = 1u << 20;
    char *body = malloc(n);
    REQUIRE(body != NULL);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)('a' + (i * 7 + i / 1000) % 26);
    struct http_resp r;
    struct mock_echo ec;
    CHECK_EQ_INT(req(&e, "POST", "/big", NULL, body, n, &r), 200);
    CHECK_STR_EQ(hdr(&r, "x-probe-req-bytes"), "1048576");
    CHECK_MSG_(atoi(hdr(&r, "x-probe-req-chunks")) >= 2, "1 MiB in %s chunk(s): not streamed?",
               hdr(&r, "x-probe-req-chunks"));
    CHECK(mock_echo_load(&ec, r.body));
    size_t got_len = 0;
    char *got = mock_echo_str(&ec, "body", &got_len);
    CHECK_EQ_U64(got_len, n);
    CHECK(got_len == n && memcmp(got, body, n) == 0);
    free(got);
    long long resp_len = (long long)r.body_len;
    http_resp_free(&r);
    free(body);
    CHECK_COUNTER(&e, "probe:C:ends", 1);
    /* on_response_body saw every byte of the (streamed) response */
    CHECK_EQ_INT(counter(&e, "probe:C:resp_bytes"), resp_len);
    DOWN(&e);
}

static void buffered_response_body_replaced(void)
{
    static struct env e;
    UP(&e, conf_edit);
    struct http_resp r;
    CHECK_EQ_INT(get(&e, "/rbuf/x", &r), 200);
    CHECK_STR_EQ(r.body, "short");
    CHECK_STR_EQ(hdr(&r, "content-length"), "5");
    http_resp_free(&r);
    CHECK_EQ_INT(req(&e, "POST", "/rkeep/x", NULL, "kept", 0, &r), 200);
    CHECK_STR_CONTAINS(r.body, "\"body\":\"kept\"");
    char cl[32];
    snprintf(cl, sizeof cl, "%zu", r.body_len);
    CHECK_STR_EQ(hdr(&r, "content-length"), cl);
    http_resp_free(&r);
    /* a chunked event stream, held whole: replaced, or relayed intact */
    static const char chat[] = "{\"stream\": true, \"max_tokens\": 3, \"messages\": []}";
    static const char *const json[] = {"Content-Type: application/json", NULL};
    CHECK_EQ_INT(req(&e, "POST", "/sse/chat/completions", json, chat, 0, &r), 200);
    CHECK_STR_EQ(r.body, "short");
    CHECK_STR_EQ(hdr(&r, "content-length"), "5");
    CHECK_STR_EQ(hdr(&r, "transfer-encoding"), "");
    http_resp_free(&r);
    CHECK_EQ_INT(req(&e, "POST", "/ssek/chat/completions", json, chat, 0, &r), 200);
    struct sse_list ev;
    CHECK_EQ_INT(sse_parse(r.body, r.body_len, &ev), 6); /* role, 3 tokens, stop, [DONE] */
    if (ev.n == 6)
        CHECK_STR_EQ(ev.ev[5].data, "[DONE]");
    sse_free(&ev);
    snprintf(cl, sizeof cl, "%zu", r.body_len);
    CHECK_STR_EQ(hdr(&r, "content-length"), cl);
    http_resp_free(&r);
    CHECK_COUNTER(&e, "probe:RB:ends", 1);
    CHECK_COUNTER(&e, "probe:RSK:ends", 1);
    CHECK_EQ_INT(counter(&e, "probe:RB:resp_buffer_bad"), 0);
    CHECK_EQ_INT(counter(&e, "probe:RS:resp_buffer_bad"), 0);
    CHECK_EQ_INT(counter(&e, "probe:RSK:resp_buffer_bad"), 0);
    CHECK_EQ_INT(counter(&e, "probe:RK:resp_buffer_bad"), 0);
    DOWN(&e);
}

static const char conf_limit[] =
    SLUICE_GLOBAL_1W
    "frontends:\n"
    "  - name: api\n"
    "    bind: [\"127.0.0.1:@PORT@\"]\n"
    "    limits: {max_body_bytes: 1KiB}\n"
    "    filters: [" P("tag: A, trace: true") "]\n"
    "    routes:\n"
    ROUTE("buf", "/buf/", "b", P("tag: BF, trace: true, buffer_request: true"))
    ROUTE("r", "/", "b", "")
    "backends:\n"
    ECHO_BACKEND("b", P("tag: C"));

/* A body a filter holds is bounded by max_body_bytes. A content-length over it is
 * refused before the chain begins (no hook, no on_end); a chunked body that grows
 * past it ends the transaction the chain began: 413, no body hook, nothing
 * forwarded, on_end once. */
static void buffered_body_over_the_limit_is_413(void)
{
    static struct env e;
    UP(&e, conf_limit);
    static char body[4096];
    memset(body, 'z', sizeof body);
    struct http_resp r;
    CHECK_EQ_INT(req(&e, "POST", "/buf/x", NULL, body, 1024, &r), 200);
    CHECK_STR_EQ(hdr(&r, "x-probe-body-BF"), "ok 1024");
    http_resp_free(&r);
    CHECK_EQ_INT(req(&e, "POST", "/buf/x", NULL, body, sizeof body, &r), 413);
    CHECK(is_openai_error(r.body, NULL, 0));
    http_resp_free(&r);
    CHECK_EQ_INT(counter(&e, "probe:A:heads"), 1);
    static const char *const chunked[] = {"Transfer-Encoding: chunked", NULL};
    CHECK_EQ_INT(req(&e, "POST", "/buf/x", chunked, body, sizeof body, &r), 413);
    CHECK(is_openai_error(r.body, NULL, 0));
    CHECK(strstr(hdr(&r, "x-probe-trace"), "reqbody") == NULL);
    http_resp_free(&r);
    CHECK_EQ_INT(MOCK_REQUESTS(&e.m1), 1);
    CHECK_EQ_INT(counter(&e, "probe:A:heads"), 2);
    CHECK_COUNTER(&e, "probe:C:ends", 2);
    CHECK_EQ_INT(counter(&e, "probe:BF:end_status:413"), 1);
    CHECK_EQ_INT(counter(&e, "probe:C:double_end"), 0);
    DOWN(&e);
}
TEST_MAIN(
    RUN(request_headers_set_and_removed_reach_the_upstream)
    RUN(variables_cross_filters_both_ways)
    RUN(buffered_request_body_replaced)
    RUN(large_body_streams_through_untouched)
    RUN(buffered_response_body_replaced)
    RUN(buffered_body_over_the_limit_is_413)
)
