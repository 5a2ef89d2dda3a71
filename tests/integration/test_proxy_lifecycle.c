/* test_proxy_lifecycle.c - stopping and recording: SIGTERM lets requests in flight
 * finish while refusing new connections, and the access log writes one JSON line
 * per request without the secrets a request may carry. */
#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

static const char conf_grace[] =
    "global:\n"
    "  workers: 2\n"
    "  grace: %s\n"
    "  log: {level: info, access: off}\n"
    "frontends:\n"
    "  - name: api\n"
    "    bind: [\"127.0.0.1:@PORT@\"]\n"
    "    routes: [{backend: llm}]\n"
    "backends:\n"
    "  - name: llm\n"
    "    servers:\n"
    "      - {name: slow, url: \"http://127.0.0.1:%d\"}\n";

/* Polls until a connect to port is refused; ms it took, or -1. */
static double until_refused(int port, double since, int timeout_ms)
{
    double deadline = proc_now_ms() + timeout_ms;
    do {
        int fd = tcp_connect("127.0.0.1", port);
        if (fd < 0)
            return proc_now_ms() - since;
        close(fd);
    } while (proc_now_ms() < deadline);
    return -1;
}

static void sigterm_lets_the_request_in_flight_finish_and_refuses_new_connections(void)
{
    struct mock m;
    START_MOCK(&m, "slow", "--latency", "1s");
    struct sluice s;
    REQUIRE(sluice_start(&s, conf_grace, "5s", m.port));
    /* an idle keep-alive connection, and one with a request in flight */
    int idle = tcp_connect("127.0.0.1", s.port);
    int busy = tcp_connect("127.0.0.1", s.port);
    REQUIRE(idle >= 0 && busy >= 0);
    char buf[16384];
    static const char get[] = "GET /mock/echo/idle HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(tcp_send_all(idle, get, sizeof get - 1));
    tcp_read_responses(idle, buf, sizeof buf, 1, false, 5000);
    CHECK_EQ_INT(http_status_of(buf), 200);
    static const char slow[] = "GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(tcp_send_all(busy, slow, sizeof slow - 1));
    REQUIRE(mock_wait_stat(&m, "requests", 2, 3000)); /* both reached the server */

    double t0 = proc_now_ms();
    REQUIRE(proc_signal(s.p, SIGTERM));
    double refused = until_refused(s.port, t0, 1000);
    printf("  new connections refused %.1f ms after SIGTERM\n", refused);
    CHECK_MSG_(refused >= 0 && refused < 200.0, "refused after %.1f ms", refused);
    bool closed = false;
    size_t n = tcp_read_until_close(idle, buf, sizeof buf, 3000, &closed);
    double idle_closed = proc_now_ms() - t0;
    CHECK_MSG_(closed && n == 0 && idle_closed < 500.0, "idle connection: closed %d after %.0f ms, %zu bytes",
               closed, idle_closed, n);
    close(idle);

    n = tcp_read_until_close(busy, buf, sizeof buf, 5000, &closed);
    double answered = proc_now_ms() - t0;
    close(busy);
    CHECK_EQ_INT(http_status_of(buf), 200);
    CHECK_EQ_INT(http_response_len(buf, n, false), n); /* whole */
    char v[32];
    /* The response after which sluice closes because it is stopping says so.
     * Regression: keep-alive used to be decided once, when the request began. */
    CHECK_STR_EQ(http_header_of(buf, "connection", v, sizeof v), "close");
    CHECK(closed);
    int status = proc_wait_exit(s.p, 5000);
    double exited = proc_now_ms() - t0;
    printf("  answered %.0f ms, exited %.0f ms after SIGTERM (grace 5s)\n", answered, exited);
    CHECK_EQ_INT(status, 0);
    CHECK_MSG_(exited < 4000.0, "exited %.0f ms after SIGTERM", exited);
    CHECK_EQ_INT(sluice_stop(&s), 0); /* already exited: collects the status */
    CHECK_EQ_INT(mock_stop(&m), 0);
}

static void request_longer_than_grace_is_cut_and_sluice_still_exits_0(void)
{
    struct mock m;
    START_MOCK(&m, "slower", "--latency", "10s");
    struct sluice s;
    REQUIRE(sluice_start(&s, conf_grace, "500ms", m.port));
    int busy = tcp_connect("127.0.0.1", s.port);
    REQUIRE(busy >= 0);
    static const char slow[] = "GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(tcp_send_all(busy, slow, sizeof slow - 1));
    REQUIRE(mock_wait_stat(&m, "requests", 1, 3000));
    double t0 = proc_now_ms();
    REQUIRE(proc_signal(s.p, SIGTERM));
    int status = proc_wait_exit(s.p, 5000);
    double exited = proc_now_ms() - t0;
    printf("  exited %.0f ms after SIGTERM (grace 500ms)\n", exited);
    CHECK_EQ_INT(status, 0);
    CHECK_MSG_(exited >= 400.0 && exited < 2000.0, "exited %.0f ms after SIGTERM", exited);
    char buf[4096];
    bool closed = false;
    tcp_read_until_close(busy, buf, sizeof buf, 2000, &closed);
    CHECK(closed);
    close(busy);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    CHECK_EQ_INT(mock_stop(&m), 0);
}

/* A supervisor may stop sluice as soon as it is reachable. sluice binds and
 * accepts before it installs its SIGTERM handler (core/cli/serve.c), so a SIGTERM
 * in that window kills it (status 143) instead of stopping it. The window is
 * short: each round only has a chance of hitting it. */
static void sigterm_as_soon_as_the_port_accepts_stops_cleanly(void)
{
    struct mock m;
    START_MOCK(&m, "any");
    int unclean = 0, rounds = 20;
    for (int i = 0; i < rounds; i++) {
        struct sluice s;
        REQUIRE(sluice_start_ex(&s, SLUICE_START_RAW, conf_grace, "5s", m.port));
        int status = sluice_stop(&s);
        if (status != 0 && unclean++ == 0)
            printf("  round %d: status %d\n", i, status);
    }
    /* status 143: SIGTERM arrived before sluice handled it (core/cli/serve.c) */
    CHECK_MSG_(unclean == 0, "%d of %d stops right after start were not clean", unclean, rounds);
    CHECK_EQ_INT(mock_stop(&m), 0);
}

/* ---- access log ---- */

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static char *wait_log_lines(struct sluice *s, int want, int timeout_ms)
{
    double deadline = proc_now_ms() + timeout_ms;
    for (;;) {
        char *log = sluice_read_file(s, "access.log");
        if (count_lines(log) >= want || proc_now_ms() >= deadline)
            return log;
        free(log);
        usleep(5000); /* polling interval */
    }
}

struct logline {
    json_doc d;
    json_token t[64];
    bool ok;
};

static const char *str_of(struct logline *l, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    int v = json_find(&l->d, 0, key);
    if (json_type(&l->d, v) != JSON_STRING)
        return NULL;
    json_str_decode(&l->d, v, out, cap, NULL);
    return out;
}

static double num_of(struct logline *l, const char *key)
{
    double v;
    return json_get_double(&l->d, json_find(&l->d, 0, key), &v) == JSON_OK ? v : -1e300;
}

static void access_log_has_one_json_line_per_request_without_secrets(void)
{
    struct mock m;
    START_MOCK(&m, "gen");
    struct sluice s;
    REQUIRE(sluice_start(&s,
        "global:\n"
        "  workers: 1\n"
        "  grace: 5s\n"
        "  log: {level: info, access: \"@DIR@/access.log\", format: json}\n"
        "frontends:\n"
        "  - name: api\n"
        "    bind: [\"127.0.0.1:@PORT@\"]\n"
        "    routes:\n"
        "      - name: chat\n"
        "        match: {path_prefix: /v1/}\n"
        "        backend: llm\n"
        "backends:\n"
        "  - name: llm\n"
        "    servers:\n"
        "      - {name: gen, url: \"http://127.0.0.1:%d\"}\n", m.port));
    enum { N = 3 };
    char ids[N][80];
    int statuses[N] = {200, 200, 404};
    struct http_resp r;
    static const char *const h0[] = {"Authorization: Bearer sk-client-SECRET", "X-Request-Id: log-req-1", NULL};
    struct http_req q0 = {.url = sluice_url(&s, "/v1/models?api_key=sk-query-SECRET"), .headers = h0};
    CHECK_EQ_INT(http_do(NULL, &q0, &r), 200);
    http_header(&r, "x-request-id", ids[0], sizeof ids[0]);
    http_resp_free(&r);
    CHECK_EQ_INT(http_post_json(sluice_url(&s, "/v1/chat/completions"),
                                "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                                &r), 200);
    http_header(&r, "x-request-id", ids[1], sizeof ids[1]);
    http_resp_free(&r);
    CHECK_EQ_INT(http_get(sluice_url(&s, "/nowhere?token=sk-query-SECRET"), &r), 404);
    http_header(&r, "x-request-id", ids[2], sizeof ids[2]);
    http_resp_free(&r);
    CHECK_STR_EQ(ids[0], "log-req-1");

    char *log = wait_log_lines(&s, N, 3000);
    CHECK_EQ_INT(count_lines(log), N);
    CHECK(strstr(log, "SECRET") == NULL);
    CHECK(strstr(log, "api_key") == NULL);
    struct timeval now;
    gettimeofday(&now, NULL);
    int i = 0;
    for (char *line = log, *nl; i < N && (nl = strchr(line, '\n')) != NULL; line = nl + 1, i++) {
        *nl = '\0';
        static struct logline l;
        l.ok = json_parse(&l.d, line, strlen(line), l.t, 64, 0) == JSON_OK && json_type(&l.d, 0) == JSON_OBJECT;
        CHECK_MSG_(l.ok, "line %d is not a JSON object: %s", i, line);
        if (!l.ok)
            continue;
        char v[128];
        CHECK_STR_EQ(str_of(&l, "request_id", v, sizeof v), ids[i]);
        CHECK_STR_EQ(str_of(&l, "frontend", v, sizeof v), "api");
        CHECK_EQ_INT((long long)num_of(&l, "status"), statuses[i]);
        CHECK(num_of(&l, "duration_ms") >= 0);
        CHECK(num_of(&l, "bytes_out") > 0);
        CHECK(num_of(&l, "bytes_in") > 0);
        /* a usable timestamp. Regression: it used to be written with 3
         * significant digits (1.8e+09), off by weeks (core/log/log.c). */
        double t = num_of(&l, "time");
        CHECK_MSG_(t > (double)now.tv_sec - 60 && t < (double)now.tv_sec + 60,
                   "line %d: time %.3f, now %ld", i, t, (long)now.tv_sec);
        if (statuses[i] == 200) {
            CHECK_STR_EQ(str_of(&l, "route", v, sizeof v), "chat");
            CHECK_STR_EQ(str_of(&l, "backend", v, sizeof v), "llm");
            CHECK_STR_EQ(str_of(&l, "server", v, sizeof v), "gen");
            CHECK_EQ_INT((long long)num_of(&l, "attempts"), 1);
        }
        if (i == 0) {
            CHECK_STR_EQ(str_of(&l, "path", v, sizeof v), "/v1/models");
            CHECK_STR_EQ(str_of(&l, "method", v, sizeof v), "GET");
        }
    }
    CHECK_EQ_INT(i, N);
    free(log);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    CHECK_EQ_INT(mock_stop(&m), 0);
}

TEST_MAIN(
    RUN(sigterm_lets_the_request_in_flight_finish_and_refuses_new_connections)
    RUN(request_longer_than_grace_is_cut_and_sluice_still_exits_0)
    RUN(sigterm_as_soon_as_the_port_accepts_stops_cleanly)
    RUN(access_log_has_one_json_line_per_request_without_secrets)
)
