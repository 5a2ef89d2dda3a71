/* test_plugin_chain_end.c - the chain runtime seen from outside (see
 * plugin_chain_fixture.h): filters steering server selection, on_end once per
 * transaction, on_attempt's view of each try, and the probe's configuration errors
 * located by `sluice -t`. */
#include "plugin_chain_fixture.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ======== selection ======== */

static const char conf_select[] =
    FRONT(P("tag: A"))
    ROUTE("veto", "/veto/", "two", P("tag: V, veto: [s1]"))
    ROUTE("pick", "/pick/", "two", P("tag: K, pick: s1, var_copy: {probe.pick.K: x-pick}"))
    ROUTE("none", "/none/", "two", P("tag: N, veto: [s1, s2]"))
    ROUTE("r", "/", "two", "")
    "backends:\n"
    "  - name: two\n"
    "    servers:\n"
    "      - {name: s1, url: \"http://127.0.0.1:%2$d/mock/echo\"}\n"
    "      - {name: s2, url: \"http://127.0.0.1:%3$d/mock/echo\"}\n"
    "    filters: [" P("tag: W, var_copy: {probe.select.W: x-sel}") "]\n";

/* Sends n requests to path; counts the answers from the mock called `server`. */
static int served_by(struct env *e, const char *path, int n, const char *server, char *sel, size_t cap)
{
    int hits = 0;
    for (int i = 0; i < n; i++) {
        struct http_resp r;
        CHECK_EQ_INT(get(e, path, &r), 200);
        hits += strcmp(hdr(&r, "x-mock-server"), server) == 0;
        snprintf(sel, cap, "%s", hdr(&r, "x-sel"));
        http_resp_free(&r);
    }
    return hits;
}

static void veto_and_pick_steer_the_balancer(void)
{
    static struct env e;
    UP2(&e, conf_select);
    char sel[256];
    CHECK_EQ_INT(served_by(&e, "/x", 4, "one", sel, sizeof sel), 2); /* balanced */
    CHECK_STR_EQ(sel, "s1:1,s2:1");
    CHECK_EQ_INT(served_by(&e, "/veto/x", 6, "two", sel, sizeof sel), 6);
    CHECK_STR_EQ(sel, "s1:0,s2:1"); /* a later filter sees the veto */
    CHECK_EQ_INT(served_by(&e, "/pick/x", 6, "one", sel, sizeof sel), 6);
    struct http_resp r;
    CHECK_EQ_INT(get(&e, "/pick/y", &r), 200);
    CHECK_STR_EQ(hdr(&r, "x-pick"), "ok");
    http_resp_free(&r);
    DOWN(&e);
}

static void every_server_vetoed_is_503_at_once(void)
{
    static struct env e;
    UP2(&e, conf_select);
    int64_t before = MOCK_REQUESTS(&e.m1) + MOCK_REQUESTS(&e.m2);
    struct http_resp r;
    char code[64];
    CHECK_EQ_INT(get(&e, "/none/x", &r), 503);
    CHECK(is_openai_error(r.body, code, sizeof code));
    CHECK_MSG_(r.total_ms < 1000.0, "503 after %.0f ms", r.total_ms);
    http_resp_free(&r);
    CHECK_EQ_INT(MOCK_REQUESTS(&e.m1) + MOCK_REQUESTS(&e.m2) - before, 0);
    CHECK_COUNTER(&e, "probe:N:ends", 1);
    CHECK_EQ_INT(counter(&e, "probe:N:end_status:503"), 1);
    DOWN(&e);
}

/* ======== on_end and on_attempt ======== */

static const char conf_end[] =
    FRONT(P("tag: A"))
    ROUTE("local", "/local/", "b", P("tag: L, respond_at: request_head"))
    ROUTE("hold", "/hold/", "b", P("tag: HB, buffer_request: true"))
    ROUTE("dead", "/dead/", "dead", "")
    ROUTE("raw", "/raw/", "raw", "")
    ROUTE("r", "/", "b", "")
    "backends:\n"
    ECHO_BACKEND("b", P("tag: C"))
    "  - name: dead\n"
    "    servers: [{name: gone, url: \"http://127.0.0.1:@PORT2@\"}]\n"
    "    filters: [" P("tag: D") "]\n"
    "  - name: raw\n"
    "    servers: [{name: s1, url: \"http://127.0.0.1:%2$d\"}]\n"
    "    filters: [" P("tag: R") "]\n";

static void on_end_once_per_transaction_whatever_happened(void)
{
    static struct env e;
    UP(&e, conf_end);
    struct http_resp r;
    CHECK_EQ_INT(get(&e, "/1", &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(get(&e, "/2", &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(get(&e, "/local/1", &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(get(&e, "/local/2", &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(get(&e, "/dead/1", &r), 502);
    CHECK(is_openai_error(r.body, NULL, 0));
    http_resp_free(&r);
    /* clients that leave half-way through their body: streamed, then held */
    static const char *const heads[] = {
        "POST /abort HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n",
        "POST /hold/abort HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n"};
    static char part[1000];
    memset(part, 'x', sizeof part);
    for (int i = 0; i < 2; i++) {
        int fd = tcp_connect("127.0.0.1", e.s.port);
        REQUIRE(fd >= 0);
        CHECK(tcp_send_all(fd, heads[i], strlen(heads[i])));
        CHECK(tcp_send_all(fd, part, sizeof part));
        CHECK_COUNTER(&e, "probe:C:heads", 3 + i);
        close(fd);
        CHECK_COUNTER(&e, "probe:C:ends", 5 + i);
    }
    CHECK_EQ_INT(counter(&e, "probe:HB:end_client_gone"), 1);

    CHECK_COUNTER(&e, "probe:A:ends", 7);
    CHECK_COUNTER(&e, "probe:C:ends", 6); /* in the chain of /, /local/ and /hold/ */
    CHECK_COUNTER(&e, "probe:L:ends", 2);
    CHECK_COUNTER(&e, "probe:D:ends", 1);
    CHECK_COUNTER(&e, "probe:HB:ends", 1);
    CHECK_EQ_INT(counter(&e, "probe:C:end_without_head"), 2);
    /* the two local answers; a client gone before any attempt may count as local too */
    long long local = counter(&e, "probe:A:end_local");
    CHECK_MSG_(local == 2 || local == 3, "end_local %lld", local);
    CHECK_EQ_INT(counter(&e, "probe:A:end_client_gone"), 2);
    CHECK_EQ_INT(counter(&e, "probe:C:end_status:499"), 2);
    CHECK_EQ_INT(counter(&e, "probe:D:end_status:502"), 1);
    CHECK_EQ_INT(counter(&e, "probe:HB:attempts:response:200"), 0); /* a held body never left */
    static const char *const tags[] = {"A", "C", "L", "D", "HB"};
    for (size_t i = 0; i < 5; i++) {
        char key[64];
        snprintf(key, sizeof key, "probe:%s:double_end", tags[i]);
        CHECK_EQ_INT(counter(&e, key), 0);
    }
    /* still exactly once a little later */
    CHECK_EQ_INT(get(&e, "/3", &r), 200);
    http_resp_free(&r);
    CHECK_COUNTER(&e, "probe:A:ends", 8);
    CHECK_EQ_INT(counter(&e, "probe:C:ends"), 7);
    DOWN(&e);
}

static void on_attempt_sees_connect_errors_and_statuses(void)
{
    static struct env e;
    UP(&e, conf_end);
    struct http_resp r;
    CHECK_EQ_INT(get(&e, "/dead/x", &r), 502);
    http_resp_free(&r);
    CHECK_EQ_INT(get(&e, "/x", &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(get(&e, "/raw/x", &r), 404); /* the mock's own 404 */
    http_resp_free(&r);
    CHECK_COUNTER(&e, "probe:D:attempts:connect_error:0", 1);
    CHECK_COUNTER(&e, "probe:A:attempts:connect_error:0", 1);
    CHECK_COUNTER(&e, "probe:C:attempts:response:200", 1);
    CHECK_COUNTER(&e, "probe:R:attempts:response:404", 1);
    CHECK_COUNTER(&e, "probe:A:attempts:response:404", 1);
    CHECK_COUNTER(&e, "probe:A:attempts:response:200", 1);
    CHECK_EQ_INT(counter(&e, "probe:L:attempts:response:200"), 0);
    DOWN(&e);
}

/* ======== configuration errors ======== */

/* `sluice -t` on a configuration whose probe filter has the config lines cfg
 * (from line 7): stderr must locate the error at want. */
static bool config_error_at(const char *cfg, const char *want)
{
    char text[2048];
    snprintf(text, sizeof text,
             "frontends:\n"                               /* 1 */
             "  - name: api\n"                            /* 2 */
             "    bind: [\"127.0.0.1:1\"]\n"              /* 3 */
             "    filters:\n"                             /* 4 */
             "      - plugin: \"%s\"\n"                   /* 5 */
             "        config:\n"                          /* 6 */
             "%s"                                         /* 7.. */
             "    routes:\n"
             "      - backend: b\n"
             "backends:\n"
             "  - {name: b, servers: [{name: a, url: \"http://127.0.0.1:1\"}]}\n",
             probe_so(), cfg);
    return sluice_config_error_at(text, want);
}

static void bad_probe_configs_are_located_errors(void)
{
    CHECK(config_error_at("          tag: A\n"
                          "          respond_at: nowhere\n",
                          "8:23: probe: expected request_head, request_body, select or response_head"));
    CHECK(config_error_at("          tga: A\n", "7:11: unknown key 'tga'"));
    CHECK(config_error_at("          respond_at: request_body\n",
                          "7:23: probe: acting at request_body needs buffer_request: true"));
    CHECK(config_error_at("          set_request_header: {\"bad name\": x}\n",
                          "7:32: probe: not a valid header name"));
    CHECK(config_error_at("          pause_ms: -5\n", "7:21:"));
    CHECK(config_error_at("          tag: \"a b\"\n", "7:16: probe: tag must be"));
}

TEST_MAIN(
    RUN(veto_and_pick_steer_the_balancer)
    RUN(every_server_vetoed_is_503_at_once)
    RUN(on_end_once_per_transaction_whatever_happened)
    RUN(on_attempt_sees_connect_errors_and_statuses)
    RUN(bad_probe_configs_are_located_errors)
)
