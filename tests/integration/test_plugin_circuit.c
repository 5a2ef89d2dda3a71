/* test_plugin_circuit.c - the circuit_breaker plugin (plugins/circuit_breaker) in
 * front of sluice-mock, seen as a user sees it: a failing server stops getting
 * requests after `failures` in a row (or an `error_rate`), a probe goes to it after
 * `cooldown` and closes or reopens the circuit, backups take over while primaries
 * are open, everything open is a 503 at once, and /metrics, /stats and the log tell
 * the story. Cooldowns are 300 ms to 1 s; every wait is a bounded poll. No health
 * checks: they would add requests to the mocks' counts. */
#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bound of every poll: a cooldown of at most 1 s and a few requests, with room
 * for a loaded 2-core machine and the sanitizers. */
#define WAIT_MS 5000

/* ---- setup ---- */

/* sluice with `workers` workers, backend llm holding `servers` (YAML list items,
 * each line indented 6) behind `- plugin: circuit_breaker` with config {cb}. */
static bool start(struct sluice *s, int workers, const char *cb, const char *servers)
{
    char text[4096];
    snprintf(text, sizeof text,
             "global:\n"
             "  workers: %d\n"
             "  grace: 5s\n"
             "  log: {level: info, access: off}\n"
             "  plugin_path: [\"%s\"]\n"
             "admin:\n"
             "  bind: 127.0.0.1:@ADMIN@\n"
             "frontends:\n"
             "  - name: api\n"
             "    bind: [\"127.0.0.1:@PORT@\"]\n"
             "    routes:\n"
             "      - match: {path_prefix: /v1/}\n"
             "        backend: llm\n"
             "backends:\n"
             "  - name: llm\n"
             "    filters:\n"
             "      - plugin: circuit_breaker\n"
             "        config: {%s}\n"
             "    servers:\n"
             "%s",
             workers, sluice_plugin_dir(), cb, servers);
    return sluice_start(s, "%s", text);
}

/* A server line for mock m. */
static const char *server(char *buf, size_t cap, const char *name, int port, int priority)
{
    snprintf(buf, cap, "      - {name: %s, url: \"http://127.0.0.1:%d/v1\", priority: %d}\n", name,
             port, priority);
    return buf;
}

/* POST /mock/config with json ({"status":503} fails every request, {"status":0}
 * heals). */
static bool mock_set(struct mock *m, const char *json)
{
    struct http_resp r;
    long st = http_post_json(mock_url(m, "/mock/config"), json, &r);
    http_resp_free(&r);
    return st == 200;
}

static int64_t mock_requests(struct mock *m)
{
    return mock_stat(m, "requests");
}

/* ---- requests ---- */

struct answer {
    long status;
    char server[32];   /* x-mock-server, "" when the gateway answered itself */
    char code[64];     /* the gateway's error code, "" otherwise */
    double ms;
};

static struct answer get(struct sluice *s)
{
    struct answer a;
    memset(&a, 0, sizeof a);
    struct http_resp r;
    a.status = http_get(sluice_url(s, "/v1/models"), &r);
    a.ms = r.total_ms;
    if (!http_header(&r, "x-mock-server", a.server, sizeof a.server))
        a.server[0] = '\0';
    if (!a.server[0] && !is_openai_error(r.body, a.code, sizeof a.code))
        a.code[0] = '\0';
    http_resp_free(&r);
    return a;
}

/* Sends n requests; counts answers from server `name` into *hits (when not NULL). */
static void send_n(struct sluice *s, int n, const char *name, int *hits)
{
    for (int i = 0; i < n; i++) {
        struct answer a = get(s);
        if (hits && !strcmp(a.server, name))
            (*hits)++;
    }
}

/* Sends requests until mock m has received `want` requests in all (a probe got
 * through), or WAIT_MS passes. */
static bool send_until_mock_sees(struct sluice *s, struct mock *m, int64_t want)
{
    double deadline = proc_now_ms() + WAIT_MS;
    do {
        if (mock_requests(m) >= want)
            return true;
        (void)get(s);
        poll(NULL, 0, 10); /* pacing, so the cooldown passes with few requests */
    } while (proc_now_ms() < deadline);
    printf("  mock saw %lld requests, want %lld\n", (long long)mock_requests(m), (long long)want);
    return false;
}

/* ---- what /metrics and /stats say ---- */

/* sluice_circuit_state{backend="llm",server=name}, or -1. */
static long long circuit_metric(struct sluice *s, const char *name)
{
    char want[128];
    snprintf(want, sizeof want, "sluice_circuit_state{backend=\"llm\",server=\"%s\"} ", name);
    struct http_resp r;
    long long v = -1;
    if (http_get(sluice_admin_url(s, "/metrics"), &r) == 200) {
        const char *p = strstr(r.body, want);
        if (p)
            v = strtoll(p + strlen(want), NULL, 10);
    }
    http_resp_free(&r);
    return v;
}

/* The server's "circuit" in GET /servers/llm/NAME (the /stats server object). */
static const char *circuit_stats(struct sluice *s, const char *name, char *out, size_t cap)
{
    char path[96];
    snprintf(path, sizeof path, "/servers/llm/%s", name);
    snprintf(out, cap, "?");
    struct http_resp r;
    if (http_get(sluice_admin_url(s, path), &r) == 200) {
        json_doc d;
        json_token t[256];
        if (json_load(&d, t, 256, r.body)) {
            int c = json_find(&d, 0, "circuit");
            if (json_type(&d, c) == JSON_STRING)
                json_str_decode(&d, c, out, cap, NULL);
        }
    }
    http_resp_free(&r);
    return out;
}

/* Both views agree on state (0 closed, 1 open, 2 half-open) within WAIT_MS. */
static bool wait_circuit(struct sluice *s, const char *name, int state)
{
    static const char *const names[] = {"closed", "open", "half_open"};
    double deadline = proc_now_ms() + WAIT_MS;
    long long m;
    char st[16];
    do {
        m = circuit_metric(s, name);
        if (m == state && !strcmp(circuit_stats(s, name, st, sizeof st), names[state]))
            return true;
        poll(NULL, 0, 10); /* polling interval */
    } while (proc_now_ms() < deadline);
    printf("  circuit of %s: metric %lld, stats \"%s\"; want %s\n", name, m,
           circuit_stats(s, name, st, sizeof st), names[state]);
    return false;
}

/* ---- (1) open after N consecutive failures, process-wide ---- */

static void opens_after_consecutive_failures_and_traffic_goes_elsewhere(void)
{
    struct mock a, b;
    START_MOCK(&a, "a");
    START_MOCK(&b, "b");
    REQUIRE(mock_set(&a, "{\"status\":503}"));
    char l1[128], l2[128], servers[256];
    snprintf(servers, sizeof servers, "%s%s", server(l1, sizeof l1, "a", a.port, 0),
             server(l2, sizeof l2, "b", b.port, 0));
    struct sluice s;
    /* Two workers: the circuit is one for the process, so a sees exactly 3. */
    REQUIRE(mock_stop_on_failure(start(&s, 2, "failures: 3, cooldown: 30s", servers), &a, &b, NULL));
    CHECK_EQ_INT(circuit_metric(&s, "a"), 0);

    int to_b = 0;
    send_n(&s, 40, "b", &to_b);
    CHECK_EQ_INT(mock_requests(&a), 3);
    CHECK_EQ_INT(to_b, 37);
    CHECK(proc_wait_output(s.p, "circuit_breaker: llm/a open after 3 consecutive failures "
                                "(last: status 503)", 2000));
    CHECK(wait_circuit(&s, "a", 1));
    CHECK_EQ_INT(circuit_metric(&s, "b"), 0);

    /* traffic goes on, to b alone */
    to_b = 0;
    send_n(&s, 20, "b", &to_b);
    CHECK_EQ_INT(to_b, 20);
    CHECK_EQ_INT(mock_requests(&a), 3);
    CHECK(sluice_and_mocks_stopped(&s, &a, &b, NULL));
}

/* ---- (2) a probe after the cooldown: a bad one reopens, a good one closes ---- */

static void probe_after_cooldown_reopens_or_closes(void)
{
    struct mock a, b;
    START_MOCK(&a, "a");
    START_MOCK(&b, "b");
    REQUIRE(mock_set(&a, "{\"status\":503}"));
    char l1[128], l2[128], servers[256];
    snprintf(servers, sizeof servers, "%s%s", server(l1, sizeof l1, "a", a.port, 0),
             server(l2, sizeof l2, "b", b.port, 0));
    struct sluice s;
    /* 1 s: the checks of "nothing for a within the cooldown" need the time of a
     * few requests, even on a loaded machine. */
    REQUIRE(mock_stop_on_failure(start(&s, 1, "failures: 2, cooldown: 1s", servers), &a, &b,
                                 NULL));
    send_n(&s, 4, "b", NULL); /* a, b, a, b: two failures in a row on a */
    REQUIRE_EQ_INT(mock_requests(&a), 2);
    CHECK(wait_circuit(&s, "a", 1));
    int to_b = 0;
    send_n(&s, 5, "b", &to_b); /* within the cooldown: nothing for a */
    CHECK_EQ_INT(to_b, 5);
    CHECK_EQ_INT(mock_requests(&a), 2);

    /* a bad probe: exactly one request, then open again */
    REQUIRE(send_until_mock_sees(&s, &a, 3));
    CHECK(proc_wait_output(s.p, "llm/a half-open: cooldown over, letting 1 probe through", 2000));
    CHECK(proc_wait_output(s.p, "llm/a open again: the probe failed (status 503)", 2000));
    CHECK(wait_circuit(&s, "a", 1));
    to_b = 0;
    send_n(&s, 5, "b", &to_b);
    CHECK_EQ_INT(to_b, 5);
    CHECK_EQ_INT(mock_requests(&a), 3);

    /* healed: the next probe closes it, and a takes its share again */
    REQUIRE(mock_set(&a, "{\"status\":0}"));
    REQUIRE(send_until_mock_sees(&s, &a, 4));
    CHECK(wait_circuit(&s, "a", 0));
    CHECK(proc_wait_output(s.p, "llm/a closed after 1 good probe", 2000));
    int to_a = 0;
    send_n(&s, 10, "a", &to_a);
    CHECK_EQ_INT(to_a, 5);
    CHECK(sluice_and_mocks_stopped(&s, &a, &b, NULL));
}

/* probes: 2 needs two good probes; the circuit stays half-open in between. */
static void two_probes_close_it_only_when_both_succeed(void)
{
    struct mock a, b;
    START_MOCK(&a, "a");
    START_MOCK(&b, "b");
    REQUIRE(mock_set(&a, "{\"status\":503}"));
    char l1[128], l2[128], servers[256];
    snprintf(servers, sizeof servers, "%s%s", server(l1, sizeof l1, "a", a.port, 0),
             server(l2, sizeof l2, "b", b.port, 0));
    struct sluice s;
    REQUIRE(mock_stop_on_failure(
        start(&s, 1, "failures: 1, cooldown: 300ms, probes: 2", servers), &a, &b, NULL));
    REQUIRE(send_until_mock_sees(&s, &a, 1));
    CHECK(wait_circuit(&s, "a", 1));
    REQUIRE(mock_set(&a, "{\"status\":0}"));
    REQUIRE(send_until_mock_sees(&s, &a, 2));
    CHECK(proc_wait_output(s.p, "llm/a half-open: cooldown over, letting 2 probes through", 2000));
    CHECK(wait_circuit(&s, "a", 2)); /* one good probe of two */
    REQUIRE(send_until_mock_sees(&s, &a, 3));
    CHECK(wait_circuit(&s, "a", 0));
    CHECK(proc_wait_output(s.p, "llm/a closed after 2 good probes", 2000));
    CHECK(sluice_and_mocks_stopped(&s, &a, &b, NULL));
}

/* ---- (3) every circuit open: 503 no_usable_server at once ---- */

static void all_open_is_503_at_once_without_upstream_requests(void)
{
    struct mock a, b;
    START_MOCK(&a, "a");
    START_MOCK(&b, "b");
    REQUIRE(mock_set(&a, "{\"status\":502}"));
    REQUIRE(mock_set(&b, "{\"status\":500}"));
    char l1[128], l2[128], servers[256];
    snprintf(servers, sizeof servers, "%s%s", server(l1, sizeof l1, "a", a.port, 0),
             server(l2, sizeof l2, "b", b.port, 0));
    struct sluice s;
    REQUIRE(mock_stop_on_failure(start(&s, 1, "failures: 1, cooldown: 30s", servers), &a, &b,
                                 NULL));
    send_n(&s, 2, "", NULL);
    CHECK(wait_circuit(&s, "a", 1));
    CHECK(wait_circuit(&s, "b", 1));
    /* Were a request sent now, it would take 2 s. */
    REQUIRE(mock_set(&a, "{\"status\":0,\"latency_ms\":2000}"));
    REQUIRE(mock_set(&b, "{\"status\":0,\"latency_ms\":2000}"));
    struct http_resp r;
    http_post_json(mock_url(&a, "/mock/reset"), "", &r);
    http_resp_free(&r);
    http_post_json(mock_url(&b, "/mock/reset"), "", &r);
    http_resp_free(&r);
    for (int i = 0; i < 5; i++) {
        struct answer x = get(&s);
        CHECK_EQ_INT(x.status, 503);
        CHECK_STR_EQ(x.code, "no_usable_server");
        CHECK_MSG_(x.ms < 500, "answered in %.0f ms, want at once", x.ms);
    }
    CHECK_EQ_INT(mock_requests(&a), 0);
    CHECK_EQ_INT(mock_requests(&b), 0);
    CHECK(sluice_and_mocks_stopped(&s, &a, &b, NULL));
}

/* ---- (4) priority groups: the backup takes over while primaries are open ---- */

static void backup_takes_over_while_primaries_are_open_and_hands_back(void)
{
    struct mock a1, a2, b;
    START_MOCK(&a1, "a1");
    START_MOCK(&a2, "a2");
    START_MOCK(&b, "b");
    REQUIRE(mock_set(&a1, "{\"status\":503}"));
    REQUIRE(mock_set(&a2, "{\"status\":504}"));
    char l1[128], l2[128], l3[128], servers[512];
    snprintf(servers, sizeof servers, "%s%s%s", server(l1, sizeof l1, "a1", a1.port, 0),
             server(l2, sizeof l2, "a2", a2.port, 0), server(l3, sizeof l3, "b", b.port, 1));
    struct sluice s;
    REQUIRE(mock_stop_on_failure(start(&s, 1, "failures: 2, cooldown: 1s", servers), &a1, &a2,
                                 &b, NULL));
    int to_b = 0;
    send_n(&s, 4, "b", &to_b); /* a1, a2, a1, a2: both open */
    CHECK_EQ_INT(to_b, 0);
    CHECK(wait_circuit(&s, "a1", 1));
    CHECK(wait_circuit(&s, "a2", 1));
    send_n(&s, 6, "b", &to_b);
    CHECK_EQ_INT(to_b, 6);
    CHECK_EQ_INT(mock_requests(&b), 6);

    /* healed primaries: one probe each after the cooldown, then all theirs */
    REQUIRE(mock_set(&a1, "{\"status\":0}"));
    REQUIRE(mock_set(&a2, "{\"status\":0}"));
    REQUIRE(send_until_mock_sees(&s, &a1, 3));
    REQUIRE(send_until_mock_sees(&s, &a2, 3));
    CHECK(wait_circuit(&s, "a1", 0));
    CHECK(wait_circuit(&s, "a2", 0));
    int64_t b_before = mock_requests(&b);
    to_b = 0;
    send_n(&s, 10, "b", &to_b);
    CHECK_EQ_INT(to_b, 0);
    CHECK_EQ_INT(mock_requests(&b), b_before);
    CHECK(sluice_and_mocks_stopped(&s, &a1, &a2, &b, NULL));
}

/* ---- (5) error_rate with min_requests ---- */

static void error_rate_opens_only_after_min_requests(void)
{
    struct mock a;
    START_MOCK(&a, "a");
    REQUIRE(mock_set(&a, "{\"status\":500}"));
    char l1[128];
    struct sluice s;
    /* Consecutive failures off: only the rate can open it. A long window keeps
     * the 10 requests inside one bucket (one more when a boundary falls amid). */
    REQUIRE(mock_stop_on_failure(
        start(&s, 1, "failures: 0, error_rate: \"50%\", window: 1h, min_requests: 10, cooldown: 30s",
              server(l1, sizeof l1, "a", a.port, 0)),
        &a, NULL));
    int upstream = 0, local = 0;
    for (int i = 0; i < 15; i++) {
        struct answer x = get(&s);
        if (!strcmp(x.server, "a"))
            upstream++;
        else if (x.status == 503 && !strcmp(x.code, "no_usable_server"))
            local++;
    }
    CHECK_MSG_(upstream == 10 || upstream == 11, "%d requests reached a, want 10 (min_requests)",
               upstream);
    CHECK_EQ_INT(upstream + local, 15);
    CHECK(proc_wait_output(s.p, "llm/a open: error rate 100% over ", 2000));
    CHECK(wait_circuit(&s, "a", 1));
    CHECK(sluice_and_mocks_stopped(&s, &a, NULL));
}

static void error_rate_below_the_threshold_keeps_it_closed(void)
{
    struct mock a;
    START_MOCK(&a, "a", "--seed", "7");
    REQUIRE(mock_set(&a, "{\"status\":503,\"fail_rate\":0.3}"));
    char l1[128];
    struct sluice s;
    REQUIRE(mock_stop_on_failure(
        start(&s, 1, "failures: 0, error_rate: 0.9, min_requests: 5, cooldown: 30s",
              server(l1, sizeof l1, "a", a.port, 0)),
        &a, NULL));
    send_n(&s, 40, "a", NULL);
    CHECK_EQ_INT(mock_requests(&a), 40);
    CHECK_EQ_INT(circuit_metric(&s, "a"), 0);
    CHECK(sluice_and_mocks_stopped(&s, &a, NULL));
}

/* ---- (6) /metrics and /stats through closed, open, half-open, closed ---- */

static void metrics_and_stats_follow_every_transition(void)
{
    struct mock a, b;
    START_MOCK(&a, "a");
    START_MOCK(&b, "b");
    REQUIRE(mock_set(&a, "{\"status\":503}"));
    char l1[128], l2[128], servers[256];
    snprintf(servers, sizeof servers, "%s%s", server(l1, sizeof l1, "a", a.port, 0),
             server(l2, sizeof l2, "b", b.port, 0));
    struct sluice s;
    REQUIRE(mock_stop_on_failure(start(&s, 1, "failures: 1, cooldown: 300ms", servers), &a, &b,
                                 NULL));
    CHECK(wait_circuit(&s, "a", 0));
    (void)get(&s); /* to a: 503 */
    CHECK(wait_circuit(&s, "a", 1));

    /* A slow healthy a: its probe stays in flight long enough to be seen. */
    REQUIRE(mock_set(&a, "{\"status\":0,\"latency_ms\":1000}"));
    static const char req[] = "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char buf[8192];
    bool probed = false;
    double deadline = proc_now_ms() + WAIT_MS;
    while (!probed && proc_now_ms() < deadline) {
        int fd = tcp_connect("127.0.0.1", s.port);
        REQUIRE(fd >= 0);
        CHECK(tcp_send_all(fd, req, sizeof req - 1));
        /* b answers at once; a (the probe) only after its latency */
        bool closed = false;
        size_t n = tcp_read_until_close(fd, buf, sizeof buf, 200, &closed);
        if (!closed) {
            probed = mock_requests(&a) == 2;
            CHECK(probed);
            CHECK(wait_circuit(&s, "a", 2));
            n = tcp_read_until_close(fd, buf, sizeof buf, WAIT_MS, &closed);
            CHECK_EQ_INT(http_status_of(buf), 200);
            char who[16];
            CHECK_STR_EQ(http_header_of(buf, "x-mock-server", who, sizeof who), "a");
        }
        (void)n;
        close(fd);
    }
    CHECK(probed);
    CHECK(wait_circuit(&s, "a", 0));
    CHECK_EQ_INT(circuit_metric(&s, "b"), 0);
    CHECK(sluice_and_mocks_stopped(&s, &a, &b, NULL));
}

/* ---- (7) connect errors count ---- */

static void connect_errors_count_as_failures(void)
{
    struct mock b;
    START_MOCK(&b, "b");
    char l1[128], l2[128], servers[256];
    snprintf(servers, sizeof servers, "%s%s", server(l1, sizeof l1, "a", free_port(), 0),
             server(l2, sizeof l2, "b", b.port, 0));
    struct sluice s;
    REQUIRE(mock_stop_on_failure(start(&s, 1, "failures: 2, cooldown: 30s", servers), &b, NULL));
    int to_b = 0, bad_gateway = 0;
    for (int i = 0; i < 12; i++) {
        struct answer x = get(&s);
        to_b += !strcmp(x.server, "b");
        bad_gateway += x.status == 502;
    }
    CHECK_EQ_INT(bad_gateway, 2);
    CHECK_EQ_INT(to_b, 10);
    CHECK(proc_wait_output(s.p, "llm/a open after 2 consecutive failures (last: connect error)",
                           2000));
    CHECK(wait_circuit(&s, "a", 1));
    CHECK(sluice_and_mocks_stopped(&s, &b, NULL));
}

/* ---- a response that breaks after it began ---- */

static void a_stream_that_breaks_counts_as_a_failure(void)
{
    struct mock a, b;
    START_MOCK(&a, "a");
    START_MOCK(&b, "b");
    REQUIRE(mock_set(&a, "{\"drop_after\":2}"));
    char l1[128], l2[128], servers[256];
    snprintf(servers, sizeof servers, "%s%s", server(l1, sizeof l1, "a", a.port, 0),
             server(l2, sizeof l2, "b", b.port, 0));
    struct sluice s;
    REQUIRE(mock_stop_on_failure(start(&s, 1, "failures: 2, cooldown: 30s", servers), &a, &b,
                                 NULL));
    static const char body[] = "{\"model\":\"m\",\"stream\":true,\"max_tokens\":8,"
                               "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    for (int i = 0; i < 10; i++) {
        struct http_resp r;
        http_post_json(sluice_url(&s, "/v1/chat/completions"), body, &r);
        http_resp_free(&r);
    }
    CHECK_EQ_INT(mock_requests(&a), 2);
    CHECK_EQ_INT(mock_requests(&b), 8);
    CHECK(proc_wait_output(s.p, "llm/a open after 2 consecutive failures (last: the response broke)",
                           2000));
    CHECK(sluice_and_mocks_stopped(&s, &a, &b, NULL));
}

/* ---- (8) `sluice -t`: bad configuration at its place ---- */

/* `sluice -t` on a configuration whose circuit_breaker config (from line 9) is cb. */
static bool config_error_at(const char *cb, const char *want)
{
    char text[2048];
    snprintf(text, sizeof text,
             "global:\n"                                  /* 1 */
             "  plugin_path: [\"%s\"]\n"                  /* 2 */
             "frontends:\n"                               /* 3 */
             "  - name: api\n"                            /* 4 */
             "    bind: [\"127.0.0.1:1\"]\n"              /* 5 */
             "    filters:\n"                             /* 6 */
             "      - plugin: circuit_breaker\n"          /* 7 */
             "        config:\n"                          /* 8 */
             "%s"                                         /* 9.. */
             "    routes:\n"
             "      - backend: llm\n"
             "backends:\n"
             "  - {name: llm, servers: [{name: a, url: \"http://127.0.0.1:1\"}]}\n",
             sluice_plugin_dir(), cb);
    return sluice_config_error_at(text, want);
}

static void bad_configs_are_errors_at_their_place(void)
{
    CHECK(config_error_at("          failures: 3\n"
                          "          cooldwn: 5s\n",
                          "10:11: unknown key 'cooldwn'"));
    CHECK(config_error_at("          failures: -1\n", "9:21:"));
    CHECK(config_error_at("          failures: lots\n", "9:21:"));
    CHECK(config_error_at("          cooldown: soon\n", "9:21:"));
    CHECK(config_error_at("          cooldown: 0s\n",
                          "9:21: circuit_breaker: `cooldown` must be more than 0"));
    CHECK(config_error_at("          error_rate: 1.5\n",
                          "9:23: circuit_breaker: `error_rate` must be a fraction"));
    CHECK(config_error_at("          error_rate: \"0%\"\n", "9:23: circuit_breaker: `error_rate`"));
    CHECK(config_error_at("          error_rate: half\n", "9:23: circuit_breaker: `error_rate`"));
    CHECK(config_error_at("          probes: 0\n", "9:19:"));
    CHECK(config_error_at("          on: [timeout, 503, teapot]\n",
                          "9:30: circuit_breaker: `on` items are connect_error"));
    CHECK(config_error_at("          on: [700]\n", "9:16: '700' is not an integer from 100 to 599"));
    CHECK(config_error_at("          on: []\n", "9:15: circuit_breaker: `on` must be a non-empty list"));
    CHECK(config_error_at("          failures: 0\n",
                          "9:21: circuit_breaker: with `failures: 0` and no `error_rate`"));
    CHECK(config_error_at("          window: 10s\n"
                          "          min_requests: 0\n",
                          "10:25:"));
}

static void good_configs_check_ok(void)
{
    char text[1024];
    snprintf(text, sizeof text,
             "global:\n"
             "  plugin_path: [\"%s\"]\n"
             "frontends:\n"
             "  - name: api\n"
             "    bind: [\"127.0.0.1:1\"]\n"
             "    routes:\n"
             "      - backend: llm\n"
             "backends:\n"
             "  - name: llm\n"
             "    filters:\n"
             "      - plugin: circuit_breaker\n"
             "      - plugin: circuit_breaker\n"
             "        config: {failures: 0, error_rate: \"25.5%%\", window: 1m, min_requests: 20,\n"
             "                 cooldown: 10s, probes: 3, on: [connect_error, 5xx, 429]}\n"
             "    servers: [{name: a, url: \"http://127.0.0.1:1\"}]\n",
             sluice_plugin_dir());
    struct proc_result r;
    char path[256];
    CHECK_EQ_INT(sluice_check_config(text, &r, path, sizeof path), 0);
    CHECK_STR_CONTAINS(r.out, "configuration OK");
    proc_result_free(&r);
}

TEST_MAIN(RUN(opens_after_consecutive_failures_and_traffic_goes_elsewhere)
          RUN(probe_after_cooldown_reopens_or_closes)
          RUN(two_probes_close_it_only_when_both_succeed)
          RUN(all_open_is_503_at_once_without_upstream_requests)
          RUN(backup_takes_over_while_primaries_are_open_and_hands_back)
          RUN(error_rate_opens_only_after_min_requests)
          RUN(error_rate_below_the_threshold_keeps_it_closed)
          RUN(metrics_and_stats_follow_every_transition)
          RUN(connect_errors_count_as_failures)
          RUN(a_stream_that_breaks_counts_as_a_failure)
          RUN(bad_configs_are_errors_at_their_place)
          RUN(good_configs_check_ok))
