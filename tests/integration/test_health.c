/* test_health.c - active health checks (core/health) seen from outside: a killed
 * server is marked down after `fall` failed checks and gets no traffic, comes back
 * after `rise` good ones; checks run once per server per interval for the whole
 * process, not per worker; expect_status decides what a good answer is; priority
 * groups follow the health; the probe's request is what the docs promise; and
 * /metrics, /servers and the log tell the story. Intervals are 200 ms, so every
 * wait here is a poll bounded by a few seconds. */
#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bounds of the polls below: fall or rise checks at 200 ms +-10% take well under
 * a second; the rest is room for a loaded machine and the sanitizers. */
#define TRANSITION_MS 5000

/* ---- /metrics ---- */

/* sluice_server_up of backend/server as a label filter, in buf. */
static const char *server_labels(char *buf, size_t cap, const char *backend, const char *server)
{
    snprintf(buf, cap, "backend=\"%s\",server=\"%s\"", backend, server);
    return buf;
}

static bool wait_up(struct sluice *s, const char *backend, const char *server, int up)
{
    char l[128];
    return sluice_wait_metric(s, "sluice_server_up", server_labels(l, sizeof l, backend, server), up, true,
                       TRANSITION_MS);
}

static long long checks(struct sluice *s, const char *backend, const char *server,
                        const char *result)
{
    char l[160];
    snprintf(l, sizeof l, "backend=\"%s\",server=\"%s\",result=\"%s\"", backend, server, result);
    return sluice_metric(s, "sluice_health_checks_total", l);
}

/* The server's "health" as GET /servers/BACKEND/SERVER shows it, in out. */
static const char *server_health(struct sluice *s, const char *backend, const char *server,
                                 char *out, size_t cap)
{
    char path[128];
    snprintf(path, sizeof path, "/servers/%s/%s", backend, server);
    struct http_resp r;
    snprintf(out, cap, "?");
    if (http_get(sluice_admin_url(s, path), &r) == 200) {
        json_doc d;
        json_token t[256];
        if (json_load(&d, t, 256, r.body)) {
            int h = json_find(&d, 0, "health");
            if (json_type(&d, h) == JSON_STRING)
                json_str_decode(&d, h, out, cap, NULL);
        }
    }
    http_resp_free(&r);
    return out;
}

/* ---- traffic ---- */


/* Restart mock m (stopped) on its old port under name. */
static bool mock_restart(struct mock *m, const char *name)
{
    char ps[16];
    snprintf(ps, sizeof ps, "%d", m->port);
    return mock_start(m, name, "--port", ps, NULL);
}

#define ADMIN_AND_FRONTEND                                                      \
    "admin:\n"                                                                  \
    "  bind: 127.0.0.1:@ADMIN@\n"                                               \
    "frontends:\n"                                                              \
    "  - name: api\n"                                                           \
    "    bind: [\"127.0.0.1:@PORT@\"]\n"

#define FAST_CHECK                                                              \
    "    health_check: {path: /v1/models, interval: 200ms, timeout: 500ms,"     \
    " rise: 2, fall: 2}\n"

/* ---- (1) down after fall, up after rise, with the log and the counters ---- */

static void killed_server_goes_down_and_comes_back(void)
{
    struct mock a, b;
    START_MOCK(&a, "a");
    START_MOCK(&b, "b");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s,
        SLUICE_GLOBAL_1W
        ADMIN_AND_FRONTEND
        SLUICE_V1_TO_LLM
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: b, url: \"http://127.0.0.1:%d/v1\"}\n"
        "    health_check: {path: /v1/models, interval: 200ms, timeout: 500ms,"
        " rise: 3, fall: 2}\n",
        a.port, b.port), &a, &b, NULL));
    static const char *const names[] = {"a", "b"};
    char l[128], h[16];
    /* servers start up, and the checks pass */
    CHECK_EQ_INT(sluice_metric(&s, "sluice_server_up", server_labels(l, sizeof l, "llm", "a")), 1);
    CHECK(sluice_wait_metric(&s, "sluice_health_checks_total",
                      "backend=\"llm\",server=\"a\",result=\"ok\"", 2, false, TRANSITION_MS));
    CHECK_EQ_INT(checks(&s, "llm", "a", "fail"), 0);
    CHECK_STR_EQ(server_health(&s, "llm", "a", h, sizeof h), "up");

    CHECK_EQ_INT(mock_stop(&a), 0);
    REQUIRE(wait_up(&s, "llm", "a", 0));
    /* not before `fall` failures (a check's count lands before its verdict) */
    long long fails = checks(&s, "llm", "a", "fail");
    CHECK_MSG_(fails >= 2, "down after %lld failed checks, fall is 2", fails);
    CHECK(proc_wait_output(s.p, "server llm/a is down: ", 2000));
    CHECK_STR_EQ(server_health(&s, "llm", "a", h, sizeof h), "down");
    CHECK_EQ_INT(sluice_metric(&s, "sluice_server_up", server_labels(l, sizeof l, "llm", "b")), 1);
    CHECK(checks(&s, "llm", "a", "ok") >= 2);
    CHECK_EQ_INT(checks(&s, "llm", "b", "fail"), 0);

    int count[2] = {0, 0}, failed = 0;
    sluice_spread(&s, "/v1/models", 20, names, count, 2, &failed);
    CHECK_EQ_INT(failed, 0);
    CHECK_EQ_INT(count[0], 0);
    CHECK_EQ_INT(count[1], 20);

    /* no check passes while a is gone: the count of good ones stands still */
    long long ok_before = checks(&s, "llm", "a", "ok");
    REQUIRE(mock_restart(&a, "a"));
    REQUIRE(wait_up(&s, "llm", "a", 1));
    long long oks = checks(&s, "llm", "a", "ok") - ok_before;
    CHECK_MSG_(oks >= 3, "up after %lld good checks, rise is 3", oks);
    CHECK(proc_wait_output(s.p, "server llm/a is up", 2000));
    CHECK_STR_EQ(server_health(&s, "llm", "a", h, sizeof h), "up");
    memset(count, 0, sizeof count);
    sluice_spread(&s, "/v1/models", 20, names, count, 2, &failed);
    CHECK_EQ_INT(failed, 0);
    CHECK_MSG_(count[0] >= 5 && count[1] >= 5, "after rise: a %d, b %d of 20", count[0], count[1]);
    CHECK(sluice_and_mocks_stopped(&s, &a, &b, NULL));
}

/* ---- (2) one check per server per interval, however many workers ---- */

static void checks_run_once_per_interval_for_the_whole_process(void)
{
    struct mock m;
    START_MOCK(&m, "m");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s,
        "global:\n"
        "  workers: 4\n"
        "  grace: 5s\n"
        "  log: {level: info, access: off}\n"
        ADMIN_AND_FRONTEND
        SLUICE_V1_TO_LLM
        "      - {name: m, url: \"http://127.0.0.1:%d\"}\n"
        "    health_check: {path: /v1/models, interval: 200ms, timeout: 500ms}\n",
        m.port), &m, NULL));
    /* Nothing but probes reaches the mock. Ten more of them take nine intervals
     * and part of one (at least 9 x 180 ms); four per interval (one per worker)
     * would take about half a second. */
    int64_t r0 = mock_stat(&m, "requests");
    double t0 = proc_now_ms();
    REQUIRE(r0 >= 0);
    int64_t r = r0;
    while (r < r0 + 10 && proc_now_ms() < t0 + 8000) {
        poll(NULL, 0, 10); /* polling interval */
        r = mock_stat(&m, "requests");
    }
    double took = proc_now_ms() - t0;
    CHECK_MSG_(r >= r0 + 10, "only %lld checks in %.0f ms", (long long)(r - r0), took);
    CHECK_MSG_(took >= 1400, "10 checks in %.0f ms: more than one per interval", took);
    /* the counters agree with what the mock saw (to within checks in flight) */
    long long ok = checks(&s, "llm", "m", "ok");
    int64_t seen = mock_stat(&m, "requests");
    CHECK_MSG_(ok >= seen - 2 && ok <= seen, "sluice counted %lld ok checks, the mock saw %lld",
               ok, (long long)seen);
    CHECK_EQ_INT(checks(&s, "llm", "m", "fail"), 0);
    CHECK(sluice_and_mocks_stopped(&s, &m, NULL));
}

/* ---- (3) expect_status ---- */

static void expect_status_decides_what_passes(void)
{
    struct mock m;
    START_MOCK(&m, "m", "--fail-status", "503");
    struct sluice s;
    /* three backends on the same failing mock: the default (2xx), a list with
     * 503, and a class */
    REQUIRE(mock_stop_on_failure(sluice_start(&s,
        SLUICE_GLOBAL_1W
        ADMIN_AND_FRONTEND
        "    routes: [{backend: strict}]\n"
        "backends:\n"
        "  - name: strict\n"
        "    servers: [{name: m, url: \"http://127.0.0.1:%1$d\"}]\n"
        "    health_check: {path: /v1/models, interval: 200ms, timeout: 500ms, fall: 2}\n"
        "  - name: list\n"
        "    servers: [{name: m, url: \"http://127.0.0.1:%1$d\"}]\n"
        "    health_check: {path: /v1/models, interval: 200ms, timeout: 500ms, fall: 2,"
        " expect_status: [200, 503]}\n"
        "  - name: class\n"
        "    servers: [{name: m, url: \"http://127.0.0.1:%1$d\"}]\n"
        "    health_check: {path: /v1/models, interval: 200ms, timeout: 500ms, fall: 2,"
        " expect_status: 5xx}\n"
        "  - name: range\n"
        "    servers: [{name: m, url: \"http://127.0.0.1:%1$d\"}]\n"
        "    health_check: {path: /v1/models, interval: 200ms, timeout: 500ms, fall: 2,"
        " expect_status: 200-399}\n",
        m.port), &m, NULL));
    CHECK(wait_up(&s, "strict", "m", 0));
    CHECK(wait_up(&s, "range", "m", 0));
    CHECK(proc_wait_output(s.p, "server strict/m is down: ", 2000));
    /* by now the others have had their checks too, and passed them */
    CHECK(sluice_wait_metric(&s, "sluice_health_checks_total",
                      "backend=\"list\",server=\"m\",result=\"ok\"", 3, false, TRANSITION_MS));
    CHECK(sluice_wait_metric(&s, "sluice_health_checks_total",
                      "backend=\"class\",server=\"m\",result=\"ok\"", 3, false, TRANSITION_MS));
    CHECK_EQ_INT(checks(&s, "list", "m", "fail"), 0);
    CHECK_EQ_INT(checks(&s, "class", "m", "fail"), 0);
    CHECK_EQ_INT(checks(&s, "strict", "m", "ok"), 0);
    char l[128];
    CHECK_EQ_INT(sluice_metric(&s, "sluice_server_up", server_labels(l, sizeof l, "list", "m")), 1);
    CHECK_EQ_INT(sluice_metric(&s, "sluice_server_up", server_labels(l, sizeof l, "class", "m")), 1);
    CHECK(!proc_wait_output(s.p, "server list/m is down", 0));
    CHECK(!proc_wait_output(s.p, "server class/m is down", 0));

    /* the mock heals: strict comes back, the 5xx-only backend goes down */
    struct http_req req = {.url = mock_url(&m, "/mock/config"), .body = "{\"status\":0}"};
    struct http_resp r;
    CHECK_EQ_INT(http_do(NULL, &req, &r), 200);
    http_resp_free(&r);
    CHECK(wait_up(&s, "strict", "m", 1));
    CHECK(wait_up(&s, "range", "m", 1));
    CHECK(wait_up(&s, "class", "m", 0));
    CHECK_EQ_INT(sluice_metric(&s, "sluice_server_up", server_labels(l, sizeof l, "list", "m")), 1);
    CHECK(sluice_and_mocks_stopped(&s, &m, NULL));
}

/* A check that never answers fails on its timeout, whatever expect_status says. */
static void a_check_that_hangs_fails_on_its_timeout(void)
{
    struct mock m;
    START_MOCK(&m, "m", "--latency", "2s");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s,
        SLUICE_GLOBAL_1W
        ADMIN_AND_FRONTEND
        SLUICE_V1_TO_LLM
        "      - {name: m, url: \"http://127.0.0.1:%d\"}\n"
        "    health_check: {path: /v1/models, interval: 200ms, timeout: 100ms, fall: 2}\n",
        m.port), &m, NULL));
    CHECK(wait_up(&s, "llm", "m", 0));
    CHECK(proc_wait_output(s.p, "server llm/m is down: ", 2000));
    CHECK_EQ_INT(checks(&s, "llm", "m", "ok"), 0);
    /* healed: a fast answer passes again */
    struct http_req req = {.url = mock_url(&m, "/mock/config"), .body = "{\"latency_ms\":0}"};
    struct http_resp r;
    CHECK_EQ_INT(http_do(NULL, &req, &r), 200);
    http_resp_free(&r);
    CHECK(wait_up(&s, "llm", "m", 1));
    CHECK(sluice_and_mocks_stopped(&s, &m, NULL));
}

/* ---- (4) priority groups follow the health ---- */

static void backup_serves_only_while_both_primaries_are_down(void)
{
    struct mock a, b, backup;
    START_MOCK(&a, "a");
    START_MOCK(&b, "b");
    START_MOCK(&backup, "backup");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s,
        SLUICE_GLOBAL_1W
        ADMIN_AND_FRONTEND
        SLUICE_V1_TO_LLM
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: b, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: backup, url: \"http://127.0.0.1:%d/v1\", priority: 1}\n"
        FAST_CHECK,
        a.port, b.port, backup.port), &a, &b, &backup, NULL));
    static const char *const names[] = {"a", "b", "backup"};
    int count[3] = {0, 0, 0}, failed = 0;
    sluice_spread(&s, "/v1/models", 10, names, count, 3, &failed);
    CHECK_EQ_INT(failed, 0);
    CHECK_EQ_INT(count[2], 0);

    /* one primary down: the other takes it all */
    CHECK_EQ_INT(mock_stop(&a), 0);
    REQUIRE(wait_up(&s, "llm", "a", 0));
    memset(count, 0, sizeof count);
    sluice_spread(&s, "/v1/models", 10, names, count, 3, &failed);
    CHECK_EQ_INT(failed, 0);
    CHECK_EQ_INT(count[1], 10);

    /* both down: the backup */
    CHECK_EQ_INT(mock_stop(&b), 0);
    REQUIRE(wait_up(&s, "llm", "b", 0));
    memset(count, 0, sizeof count);
    sluice_spread(&s, "/v1/models", 10, names, count, 3, &failed);
    CHECK_EQ_INT(failed, 0);
    CHECK_EQ_INT(count[2], 10);

    /* one primary back after rise: it takes the traffic back from the backup */
    REQUIRE(mock_restart(&a, "a"));
    REQUIRE(wait_up(&s, "llm", "a", 1));
    memset(count, 0, sizeof count);
    sluice_spread(&s, "/v1/models", 10, names, count, 3, &failed);
    CHECK_EQ_INT(failed, 0);
    CHECK_EQ_INT(count[0], 10);
    CHECK_EQ_INT(count[2], 0);
    char l[128];
    CHECK_EQ_INT(sluice_metric(&s, "sluice_server_up", server_labels(l, sizeof l, "llm", "b")), 0);
    CHECK(sluice_and_mocks_stopped(&s, &a, &backup, NULL));
}

/* ---- the probe itself ---- */

/* Accepts one connection on lfd within ms, reads one request head into buf;
 * answers status with connection: close. The head's length, or 0. */
static size_t serve_one_probe(int lfd, int ms, char *buf, size_t cap, int status)
{
    struct pollfd p = {lfd, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0)
        return 0;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t n = tcp_read_until(fd, buf, cap, "\r\n\r\n", 1, 2000);
    char resp[128];
    int len = snprintf(resp, sizeof resp,
                       "HTTP/1.1 %d X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n", status);
    tcp_send_all(fd, resp, (size_t)len);
    bool closed = false;
    char rest[64];
    /* sluice asked for connection: close, so it is done with the connection too */
    tcp_read_until_close(fd, rest, sizeof rest, 2000, &closed);
    close(fd);
    return strstr(buf, "\r\n\r\n") ? n : 0;
}

static void probe_request_is_what_the_docs_promise(void)
{
    int port;
    int lfd = tcp_listen_loopback(&port);
    REQUIRE(lfd >= 0);
    struct sluice s;
    if (!sluice_start(&s,
        SLUICE_GLOBAL_1W
        ADMIN_AND_FRONTEND
        SLUICE_V1_TO_LLM
        "      - {name: p, url: \"http://127.0.0.1:%d/api/v1\","
        " headers: {authorization: \"Bearer sk-probe-secret\"}}\n"
        "    health_check: {path: /healthz, method: HEAD, interval: 200ms, timeout: 1s,"
        " headers: {x-probe: yes}}\n",
        port)) {
        CHECK(0);
        close(lfd);
        return;
    }
    char req[4096];
    size_t n = serve_one_probe(lfd, 3000, req, sizeof req, 200);
    CHECK(n > 0);
    char host[64];
    snprintf(host, sizeof host, "\r\nhost: 127.0.0.1:%d\r\n", port);
    /* the path as configured, not joined with the server's base path */
    CHECK_MSG_(!strncmp(req, "HEAD /healthz HTTP/1.1\r\n", 24), "request line: %.40s", req);
    CHECK_MSG_(strcasestr(req, host) != NULL, "no %s in\n%s", host + 2, req);
    CHECK_MSG_(strcasestr(req, "\r\nx-probe: yes\r\n") != NULL, "no x-probe in\n%s", req);
    CHECK_MSG_(strcasestr(req, "\r\nauthorization: Bearer sk-probe-secret\r\n") != NULL,
               "no server header in\n%s", req);
    CHECK_MSG_(strcasestr(req, "\r\nconnection: close\r\n") != NULL, "no connection: close in\n%s",
               req);
    /* a failing answer counts as a failure; the key never reaches the log */
    n = serve_one_probe(lfd, 3000, req, sizeof req, 500);
    CHECK(n > 0);
    CHECK(sluice_wait_metric(&s, "sluice_health_checks_total",
                      "backend=\"llm\",server=\"p\",result=\"fail\"", 1, false, TRANSITION_MS));
    CHECK(sluice_metric(&s, "sluice_health_checks_total",
                     "backend=\"llm\",server=\"p\",result=\"ok\"") >= 1);
    /* with the listener closed every check is refused: down after fall (3,
     * the default), without the server's key in the log */
    close(lfd);
    CHECK(wait_up(&s, "llm", "p", 0));
    CHECK(proc_wait_output(s.p, "server llm/p is down: ", 2000));
    CHECK(!proc_wait_output(s.p, "sk-probe-secret", 0));
    CHECK_EQ_INT(sluice_stop(&s), 0);
}

TEST_MAIN(
    RUN(killed_server_goes_down_and_comes_back)
    RUN(checks_run_once_per_interval_for_the_whole_process)
    RUN(expect_status_decides_what_passes)
    RUN(a_check_that_hangs_fails_on_its_timeout)
    RUN(backup_serves_only_while_both_primaries_are_down)
    RUN(probe_request_is_what_the_docs_promise)
)
