/* test_plugin_chain_order.c - the chain runtime seen from outside (see
 * plugin_chain_fixture.h): the order hooks run in, local answers and errors at
 * each hook point, and pausing and resuming a transaction. */
#include "plugin_chain_fixture.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ======== hook order ======== */

static const char conf_order[] =
    FRONT(P("tag: A, trace: true, buffer_request: true"))
    ROUTE("r", "/", "b", P("tag: B, trace: true"))
    "backends:\n"
    ECHO_BACKEND("b", P("tag: C, trace: true"));

/* Request side (on_select and on_attempt included) in chain order; response
 * hooks and on_end in reverse. */
static void hooks_run_in_chain_order_and_response_hooks_in_reverse(void)
{
    static struct env e;
    UP(&e, conf_order);
    struct http_resp r;
    CHECK_EQ_INT(req(&e, "POST", "/x", NULL, "hello", 0, &r), 200);
    CHECK_STR_EQ(hdr(&r, "x-probe-trace"),
                 "A:reqhead,B:reqhead,C:reqhead,A:reqbody,B:reqbody,C:reqbody,"
                 "A:select,B:select,C:select,A:attempt,B:attempt,C:attempt,"
                 "C:resphead,B:resphead,A:resphead");
    CHECK_STR_EQ(hdr(&r, "x-probe-body-A"), "ok 5");
    http_resp_free(&r);
    /* on_response_body and on_end in reverse too; A's on_end comes last */
    char *tr = end_trace(&e, "A", "A:end");
    CHECK_STR_EQ(tr, "A:reqhead,B:reqhead,C:reqhead,A:reqbody,B:reqbody,C:reqbody,"
                     "A:select,B:select,C:select,A:attempt,B:attempt,C:attempt,"
                     "C:resphead,B:resphead,A:resphead,C:respbody,B:respbody,A:respbody,"
                     "C:end,B:end,A:end");
    free(tr);

    /* a bodiless GET: the same order (on_request_body calls aside) */
    CHECK_EQ_INT(get(&e, "/y", &r), 200);
    char t[2048];
    snprintf(t, sizeof t, "%s", hdr(&r, "x-probe-trace"));
    strip_hook(t, "reqbody");
    CHECK_STR_EQ(t, "A:reqhead,B:reqhead,C:reqhead,A:select,B:select,C:select,"
                    "A:attempt,B:attempt,C:attempt,C:resphead,B:resphead,A:resphead");
    http_resp_free(&r);
    CHECK_COUNTER(&e, "probe:A:ends", 2);
    CHECK_COUNTER(&e, "probe:C:ends", 2);
    CHECK_EQ_INT(counter(&e, "probe:A:double_end"), 0);
    DOWN(&e);
}

/* ======== local responses and errors at each hook point ======== */

static const char conf_local[] =
    FRONT(P("tag: A, trace: true, early_response_header: {x-early: from-A}"))
    ROUTE("lh", "/l-head/", "b", P("tag: LH, trace: true, respond_at: request_head, respond_status: 202"))
    ROUTE("lb", "/l-body/", "b", P("tag: LB, trace: true, buffer_request: true, respond_at: request_body, respond_status: 403"))
    ROUTE("ls", "/l-sel/", "b", P("tag: LS, trace: true, respond_at: select, respond_status: 429"))
    ROUTE("lr", "/l-resp/", "b", P("tag: LR, trace: true, respond_at: response_head, respond_status: 201"))
    ROUTE("eh", "/e-head/", "b", P("tag: EH, error_at: request_head"))
    ROUTE("eb", "/e-body/", "b", P("tag: EB, buffer_request: true, error_at: request_body"))
    ROUTE("es", "/e-sel/", "b", P("tag: ES, error_at: select"))
    ROUTE("er", "/e-resp/", "b", P("tag: ER, error_at: response_head"))
    ROUTE("r", "/", "b", "")
    "backends:\n"
    ECHO_BACKEND("b", P("tag: C, trace: true"));

struct local_case {
    const char *path, *tag;
    long status;
    const char *trace;    /* x-probe-trace */
    int upstream;         /* requests the mock must have seen */
};

static void local_responses_at_every_hook_point(void)
{
    static struct env e;
    UP(&e, conf_local);
    static const struct local_case cases[] = {
        {"/l-head/x", "LH", 202, "A:reqhead,LH:reqhead,LH:respond", 0},
        {"/l-body/x", "LB", 403, "A:reqhead,LB:reqhead,C:reqhead,A:reqbody,LB:reqbody,LB:respond", 0},
        {"/l-sel/x", "LS", 429,
         "A:reqhead,LS:reqhead,C:reqhead,A:reqbody,LS:reqbody,C:reqbody,A:select,LS:select,LS:respond", 0},
        {"/l-resp/x", "LR", 201, NULL, 1},
    };
    int64_t before = MOCK_REQUESTS(&e.m1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct local_case *c = &cases[i];
        struct http_resp r;
        char body[64];
        snprintf(body, sizeof body, "probe %s", c->tag);
        CHECK_EQ_INT(req(&e, "POST", c->path, NULL, "{\"a\":1}", 0, &r), c->status);
        CHECK_STR_EQ(r.body, body);
        CHECK_STR_EQ(hdr(&r, "x-early"), "from-A");
        if (c->trace) {
            char t[2048];
            snprintf(t, sizeof t, "%s", hdr(&r, "x-probe-trace"));
            if (i == 2) /* streamed body: its calls may fall anywhere before select */
                strip_hook(t, "reqbody");
            CHECK_STR_EQ(t, i == 2 ? "A:reqhead,LS:reqhead,C:reqhead,A:select,LS:select,LS:respond"
                                   : c->trace);
        } else {
            CHECK_STR_CONTAINS(hdr(&r, "x-probe-trace"), "C:resphead,LR:resphead,LR:respond");
        }
        http_resp_free(&r);
        CHECK_EQ_INT(MOCK_REQUESTS(&e.m1) - before, c->upstream);
        before = MOCK_REQUESTS(&e.m1);
    }
    /* the early edit goes with an upstream response too */
    struct http_resp r;
    CHECK_EQ_INT(get(&e, "/x", &r), 200);
    CHECK_STR_EQ(hdr(&r, "x-early"), "from-A");
    CHECK_STR_CONTAINS(r.body, "/mock/echo/x");
    http_resp_free(&r);
    /* every filter of every chain ended exactly once, whether it ran or not */
    CHECK_COUNTER(&e, "probe:A:ends", 5);
    CHECK_COUNTER(&e, "probe:C:ends", 5);
    CHECK_EQ_INT(counter(&e, "probe:A:end_status:202"), 1);
    CHECK_EQ_INT(counter(&e, "probe:A:end_status:429"), 1);
    CHECK_EQ_INT(counter(&e, "probe:C:end_without_head"), 1); /* /l-head/ stopped before C */
    CHECK_COUNTER(&e, "probe:LH:ends", 1);
    CHECK_COUNTER(&e, "probe:LR:ends", 1);
    CHECK_EQ_INT(counter(&e, "probe:A:end_local"), 4);
    CHECK_EQ_INT(counter(&e, "probe:A:double_end"), 0);
    CHECK_EQ_INT(counter(&e, "probe:C:double_end"), 0);
    DOWN(&e);
}

static void sl_error_fails_closed_with_500(void)
{
    static struct env e;
    UP(&e, conf_local);
    static const char *const paths[] = {"/e-head/x", "/e-body/x", "/e-sel/x", "/e-resp/x"};
    int64_t before = MOCK_REQUESTS(&e.m1);
    for (size_t i = 0; i < 4; i++) {
        struct http_resp r;
        CHECK_EQ_INT(req(&e, "POST", paths[i], NULL, "{\"a\":1}", 0, &r), 500);
        CHECK_MSG_(is_openai_error(r.body, NULL, 0), "%s: not a gateway error: %.200s", paths[i],
                   r.body);
        http_resp_free(&r);
        /* only the response-side error has reached the upstream */
        CHECK_EQ_INT(MOCK_REQUESTS(&e.m1) - before, i == 3 ? 1 : 0);
        before = MOCK_REQUESTS(&e.m1);
    }
    CHECK_COUNTER(&e, "probe:A:ends", 4);
    CHECK_EQ_INT(counter(&e, "probe:A:end_status:500"), 4);
    CHECK_COUNTER(&e, "probe:EH:ends", 1);
    CHECK_COUNTER(&e, "probe:ER:ends", 1);
    DOWN(&e);
}

/* ======== pause and resume ======== */

static const char conf_pause[] =
    FRONT(P("tag: A, trace: true"))
    ROUTE("t", "/p-timer/", "b", P("tag: PT, trace: true, pause_ms: 150"))
    ROUTE("ref", "/p-ref/", "b", P("tag: PR, trace: true, pause_ms: 150, pause_via: ref"))
    ROUTE("post", "/p-post/", "b", P("tag: PP, trace: true, pause_ms: 150, pause_via: post"))
    ROUTE("resp", "/p-resp/", "b", P("tag: PX, trace: true, pause_ms: 100, pause_resume_with: respond, respond_status: 418"))
    ROUTE("err", "/p-err/", "b", P("tag: PE, pause_ms: 50, pause_resume_with: error"))
    ROUTE("body", "/p-body/", "b", P("tag: PB, trace: true, buffer_request: true, pause_at: request_body, pause_ms: 50"))
    ROUTE("sel", "/p-sel/", "b", P("tag: PS, trace: true, pause_at: select, pause_ms: 50"))
    ROUTE("rh", "/p-rh/", "b", P("tag: PH, trace: true, pause_at: response_head, pause_ms: 50, pause_via: post"))
    ROUTE("dt", "/d-timer/", "b", P("tag: DT, pause_ms: 400"))
    ROUTE("dr", "/d-ref/", "b", P("tag: DR, pause_ms: 400, pause_via: ref"))
    ROUTE("dp", "/d-post/", "b", P("tag: DP, pause_ms: 400, pause_via: post"))
    ROUTE("r", "/", "b", P("tag: PL, pause_ms: 20, pause_via: ref"))
    "backends:\n"
    ECHO_BACKEND("b", P("tag: C, trace: true"));

static void pause_resumes_from_a_timer_after_the_delay(void)
{
    static struct env e;
    UP(&e, conf_pause);
    static const struct { const char *path, *tag; } cases[] = {
        {"/p-timer/x", "PT"}, {"/p-ref/x", "PR"}, {"/p-post/x", "PP"}};
    for (size_t i = 0; i < 3; i++) {
        struct http_resp r;
        char want[256], key[64];
        CHECK_EQ_INT(get(&e, cases[i].path, &r), 200);
        CHECK_MSG_(r.total_ms >= 148.0, "%s answered after %.1f ms, paused for 150", cases[i].path,
                   r.total_ms);
        snprintf(want, sizeof want, "A:reqhead,%1$s:reqhead,%1$s:pause,%1$s:resume,C:reqhead", cases[i].tag);
        CHECK_STR_CONTAINS(hdr(&r, "x-probe-trace"), want);
        CHECK_STR_CONTAINS(r.body, "/mock/echo/x");
        http_resp_free(&r);
        snprintf(key, sizeof key, "probe:%s:resumes", cases[i].tag);
        CHECK_EQ_INT(counter(&e, key), 1);
    }
    CHECK_EQ_INT(counter(&e, "probe:PP:posted"), 1);
    CHECK_EQ_INT(counter(&e, "probe:PR:stale"), 0);
    CHECK_COUNTER(&e, "probe:C:ends", 3);
    DOWN(&e);
}

static void pause_then_respond_or_fail(void)
{
    static struct env e;
    UP(&e, conf_pause);
    int64_t before = MOCK_REQUESTS(&e.m1);
    struct http_resp r;
    CHECK_EQ_INT(get(&e, "/p-resp/x", &r), 418);
    CHECK(r.total_ms >= 98.0);
    CHECK_STR_EQ(r.body, "probe PX");
    CHECK_STR_EQ(hdr(&r, "x-probe-trace"), "A:reqhead,PX:reqhead,PX:pause,PX:resume,PX:respond");
    http_resp_free(&r);
    CHECK_EQ_INT(get(&e, "/p-err/x", &r), 500);
    CHECK(is_openai_error(r.body, NULL, 0));
    http_resp_free(&r);
    CHECK_EQ_INT(MOCK_REQUESTS(&e.m1) - before, 0);
    CHECK_COUNTER(&e, "probe:C:ends", 2);
    CHECK_COUNTER(&e, "probe:PX:ends", 1);
    DOWN(&e);
}

/* Pausing in on_request_body works like in on_request_head; on_select and
 * on_response_head may not pause (the request side only): sluice fails closed, and
 * the plugin's late resume finds the transaction gone. */
static void pause_at_request_body_and_where_pausing_is_refused(void)
{
    static struct env e;
    UP(&e, conf_pause);
    struct http_resp r;
    CHECK_EQ_INT(req(&e, "POST", "/p-body/x", NULL, "payload", 0, &r), 200);
    CHECK(r.total_ms >= 48.0);
    CHECK_STR_CONTAINS(hdr(&r, "x-probe-trace"), "PB:reqbody,PB:pause,PB:resume,C:reqbody");
    CHECK_STR_CONTAINS(r.body, "\"body\":\"payload\"");
    http_resp_free(&r);
    CHECK_EQ_INT(get(&e, "/p-sel/x", &r), 500);
    CHECK(is_openai_error(r.body, NULL, 0));
    http_resp_free(&r);
    CHECK_EQ_INT(get(&e, "/p-rh/x", &r), 500);
    CHECK(is_openai_error(r.body, NULL, 0));
    http_resp_free(&r);
    CHECK_COUNTER(&e, "probe:PH:stale", 1);
    CHECK_EQ_INT(counter(&e, "probe:PS:resumes"), 0);
    CHECK_EQ_INT(counter(&e, "probe:PH:resumes"), 0);
    CHECK_COUNTER(&e, "probe:C:ends", 3);
    CHECK_EQ_INT(counter(&e, "probe:C:double_end"), 0);
    DOWN(&e);
}

/* The client leaves while paused: the transaction ends once, and a later resume
 * finds nothing (txn_lookup returns NULL) or never comes (a txn timer). */
static void client_leaving_a_paused_transaction(void)
{
    static struct env e;
    UP(&e, conf_pause);
    static const char *const tags[] = {"DT", "DR", "DP"};
    static const char *const paths[] = {"/d-timer/x", "/d-ref/x", "/d-post/x"};
    for (size_t i = 0; i < 3; i++) {
        char key[64], rq[128];
        int fd = tcp_connect("127.0.0.1", e.s.port);
        REQUIRE(fd >= 0);
        snprintf(rq, sizeof rq, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", paths[i]);
        CHECK(tcp_send_all(fd, rq, strlen(rq)));
        snprintf(key, sizeof key, "probe:%s:pauses", tags[i]);
        CHECK_COUNTER(&e, key, 1);
        close(fd);
        snprintf(key, sizeof key, "probe:%s:ends", tags[i]);
        CHECK_COUNTER(&e, key, 1);
        snprintf(key, sizeof key, "probe:%s:end_client_gone", tags[i]);
        CHECK_EQ_INT(counter(&e, key), 1);
        snprintf(key, sizeof key, "probe:%s:end_paused", tags[i]);
        CHECK_EQ_INT(counter(&e, key), 1);
        if (i > 0) { /* the worker timer fires later and finds the transaction gone */
            snprintf(key, sizeof key, "probe:%s:stale", tags[i]);
            CHECK_COUNTER(&e, key, 1);
        }
        snprintf(key, sizeof key, "probe:%s:resumes", tags[i]);
        CHECK_EQ_INT(counter(&e, key), 0);
    }
    CHECK_EQ_INT(counter(&e, "probe:DP:posted"), 1);
    CHECK_EQ_INT(counter(&e, "probe:A:double_end"), 0);
    CHECK_EQ_INT(MOCK_REQUESTS(&e.m1), 0);
    /* sluice still serves */
    struct http_resp r;
    CHECK_EQ_INT(get(&e, "/p-timer/x", &r), 200);
    http_resp_free(&r);
    DOWN(&e);
}

/* A worker timer of a plugin still pending when sluice stops: worker_stop may
 * cancel it (the probe does), and sluice exits cleanly. */
static void stopping_with_a_plugin_timer_pending(void)
{
    static struct env e;
    UP(&e, conf_pause);
    int fd = tcp_connect("127.0.0.1", e.s.port);
    REQUIRE(fd >= 0);
    static const char rq[] = "GET /d-ref/x HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(tcp_send_all(fd, rq, sizeof rq - 1));
    CHECK_COUNTER(&e, "probe:DR:pauses", 1);
    close(fd);
    CHECK_COUNTER(&e, "probe:DR:ends", 1);
    CHECK_EQ_INT(counter(&e, "probe:DR:stale"), 0); /* its 400 ms timer is pending */
    DOWN(&e);
}

static const char conf_workers[] =
    "global:\n"
    "  workers: 2\n"
    "  grace: 5s\n"
    "  log: {level: info, access: off}\n"
    "frontends:\n"
    "  - name: api\n"
    "    bind: [\"127.0.0.1:@PORT@\"]\n"
    "    filters: [" P("tag: A") "]\n"
    "    routes:\n"
    ROUTE("ref", "/p-ref/", "b", P("tag: PR, pause_ms: 10, pause_via: ref"))
    ROUTE("post", "/p-post/", "b", P("tag: PP, pause_ms: 10, pause_via: post"))
    ROUTE("r", "/", "b", "")
    "backends:\n"
    ECHO_BACKEND("b", "");

/* With two workers each pause resumes on its own worker; the counters are shared. */
static void pauses_resume_on_each_worker(void)
{
    static struct env e;
    UP(&e, conf_workers);
    for (int i = 0; i < 8; i++) {
        struct http_resp r;
        CHECK_EQ_INT(get(&e, i % 2 ? "/p-ref/x" : "/p-post/x", &r), 200);
        http_resp_free(&r);
    }
    CHECK_EQ_INT(counter(&e, "probe:PR:resumes"), 4);
    CHECK_EQ_INT(counter(&e, "probe:PP:resumes"), 4);
    CHECK_EQ_INT(counter(&e, "probe:PP:posted"), 4);
    CHECK_EQ_INT(counter(&e, "probe:A:worker_starts"), 2);
    CHECK_COUNTER(&e, "probe:A:ends", 8);
    DOWN(&e);
}

/* Pipelined requests through a pausing filter are answered in order. */
static void pipelined_requests_through_a_pause_stay_in_order(void)
{
    static struct env e;
    UP(&e, conf_pause);
    int fd = tcp_connect("127.0.0.1", e.s.port);
    REQUIRE(fd >= 0);
    static const char rq[] = "GET /q1 HTTP/1.1\r\nHost: a\r\n\r\n"
                             "GET /q2 HTTP/1.1\r\nHost: a\r\n\r\n"
                             "POST /q3 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
                             "GET /q4 HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(tcp_send_all(fd, rq, sizeof rq - 1));
    static char buf[65536];
    size_t n = tcp_read_responses(fd, buf, sizeof buf, 4, false, 5000);
    close(fd);
    const char *p = buf;
    for (int i = 1; i <= 4; i++) {
        size_t len = http_response_len(p, n - (size_t)(p - buf), false);
        CHECK_MSG_(len > 0, "response %d incomplete: %.100s", i, p);
        if (len == 0)
            break;
        char want[64], one[8192];
        snprintf(one, sizeof one, "%.*s", (int)len, p);
        snprintf(want, sizeof want, "\"/mock/echo/q%d\"", i);
        CHECK_EQ_INT(http_status_of(one), 200);
        CHECK_STR_CONTAINS(one, want);
        p += len;
    }
    CHECK_COUNTER(&e, "probe:PL:resumes", 4);
    /* keep-alive, one at a time */
    http_client *c = http_client_new();
    for (int i = 0; i < 3; i++) {
        struct http_resp r;
        struct http_req q = {.url = sluice_url(&e.s, "/k")};
        CHECK_EQ_INT(http_do(c, &q, &r), 200);
        CHECK_STR_CONTAINS(r.body, "\"/mock/echo/k\"");
        http_resp_free(&r);
    }
    http_client_free(c);
    CHECK_EQ_INT(mock_stat(&e.m1, "connections_accepted") >= 1, 1);
    CHECK_COUNTER(&e, "probe:PL:ends", 7);
    DOWN(&e);
}
TEST_MAIN(
    RUN(hooks_run_in_chain_order_and_response_hooks_in_reverse)
    RUN(local_responses_at_every_hook_point)
    RUN(sl_error_fails_closed_with_500)
    RUN(pause_resumes_from_a_timer_after_the_delay)
    RUN(pause_then_respond_or_fail)
    RUN(pause_at_request_body_and_where_pausing_is_refused)
    RUN(stopping_with_a_plugin_timer_pending)
    RUN(client_leaving_a_paused_transaction)
    RUN(pauses_resume_on_each_worker)
    RUN(pipelined_requests_through_a_pause_stay_in_order)
)
