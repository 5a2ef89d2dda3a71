/* test_plugin_ratelimit.c - the ratelimit plugin as a client sees it, with sluice
 * in front of sluice-mock: budgets per API key (through auth, and from raw
 * credentials), per IP and per header; the window's reset; the 429's JSON shape,
 * retry-after and x-ratelimit-* headers; token budgets fed by the mock's usage;
 * exactness across 4 workers under 32 concurrent clients; config errors located
 * at FILE:LINE:COL by `sluice -t`.
 *
 * Windows: tests that must not see a window roll over use long_window(), a window
 * of about an hour whose current instance has at least 5 minutes left (windows
 * are aligned to the wall clock, so the length is chosen to fit the moment). */
#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* sha256 of "sk-alice" and "sk-bob": the auth plugin's stored form. */
#define AUTH_FILTER                                                                      \
    "      - plugin: auth\n"                                                             \
    "        config:\n"                                                                  \
    "          keys:\n"                                                                  \
    "            - {name: alice, key: "                                                  \
    "\"sha256:099295a3784e1bd368dc348843a7398c1931b6b8ec2504c73e91ed2040bdc46c\"}\n"     \
    "            - {name: bob, key: "                                                    \
    "\"sha256:36c76b48bb2ee1d9d37140550e9d7ed7d395cf56f41050dc2a72e5291c0011f0\"}\n"

/* %1$d mock port, %2$s plugin dir, %3$s ratelimit config (flow map), %4$d workers,
 * %5$s filters before ratelimit. */
static const char conf_fmt[] =
    "global:\n"
    "  workers: %4$d\n"
    "  grace: 5s\n"
    "  log: {level: info, access: off}\n"
    "  plugin_path: [\"%2$s\"]\n"
    "admin:\n"
    "  bind: 127.0.0.1:@ADMIN@\n"
    "frontends:\n"
    "  - name: api\n"
    "    bind: [\"127.0.0.1:@PORT@\"]\n"
    "    filters:\n"
    "%5$s"
    "      - plugin: ratelimit\n"
    "        config: %3$s\n"
    SLUICE_V1_TO_LLM
    "      - {name: m, url: \"http://127.0.0.1:%1$d\"}\n";

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "NNNNms": about an hour, with at least 5 minutes left in the current window. */
static const char *long_window(void)
{
    static char w[32];
    uint64_t now = wall_ms(), ms = 3600000;
    while (ms - now % ms < 300000)
        ms += 1000;
    snprintf(w, sizeof w, "%llums", (unsigned long long)ms);
    return w;
}

struct setup {
    struct mock m;
    struct sluice s;
};

/* mock_args: extra sluice-mock flags (NULL-terminated), or NULL. */
static bool setup(struct setup *x, int workers, const char *pre, const char *rl_conf,
                  const char *mock_flag, const char *mock_value)
{
    if (!mock_start(&x->m, "rl", mock_flag, mock_value, NULL))
        return false;
    return mock_stop_on_failure(
        sluice_start(&x->s, conf_fmt, x->m.port, sluice_plugin_dir(), rl_conf, workers, pre),
        &x->m, NULL);
}

static void teardown(struct setup *x)
{
    CHECK(sluice_and_mocks_stopped(&x->s, &x->m, NULL));
}

/* GET /v1/models with extra headers ("Name: value", NULL-terminated or NULL). */
static long get(struct setup *x, const char *const *hdrs, struct http_resp *r)
{
    struct http_req req = {.url = sluice_url(&x->s, "/v1/models"), .headers = hdrs};
    return http_do(NULL, &req, r);
}

static long hdr_num(const struct http_resp *r, const char *name)
{
    char v[64];
    if (!http_header(r, name, v, sizeof v))
        return -1;
    char *end;
    long n = strtol(v, &end, 10);
    return end != v && *end == '\0' ? n : -2;
}

/* An OpenAI-style duration ("250ms", "59.5s", "6m0s", "1h0m0s") in ms, or -1. */
static long long parse_reset(const char *s)
{
    long long total = 0;
    if (!s || !*s)
        return -1;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s)
            return -1;
        if (strncmp(end, "ms", 2) == 0) {
            total += (long long)v;
            s = end + 2;
        } else if (*end == 'h' || *end == 'm' || *end == 's') {
            total += (long long)(v * (*end == 'h' ? 3600000 : *end == 'm' ? 60000 : 1000) + 0.5);
            s = end + 1;
        } else {
            return -1;
        }
    }
    return total;
}

static long long hdr_reset(const struct http_resp *r, const char *name)
{
    char v[64];
    return parse_reset(http_header(r, name, v, sizeof v));
}

/* The requests trio on r: limit, remaining == want_left, reset in (0, window]. */
static void check_request_headers(const struct http_resp *r, long limit, long want_left,
                                  long long window_ms)
{
    CHECK_EQ_INT(hdr_num(r, "x-ratelimit-limit-requests"), limit);
    CHECK_EQ_INT(hdr_num(r, "x-ratelimit-remaining-requests"), want_left);
    long long reset = hdr_reset(r, "x-ratelimit-reset-requests");
    CHECK_MSG_(reset > 0 && reset <= window_ms, "reset-requests %lld not in (0, %lld]", reset,
               window_ms);
}

/* The 429 the plugin answers: JSON error shape, code, retry-after in [1, max_s]. */
static void check_429(const struct http_resp *r, long max_s, const char *word)
{
    char code[64], ct[128];
    CHECK_EQ_INT(r->status, 429);
    CHECK(is_openai_error(r->body, code, sizeof code));
    CHECK_STR_EQ(code, "rate_limit_exceeded");
    CHECK_STR_CONTAINS(r->body, "rate_limit_error");
    CHECK_STR_CONTAINS(r->body, word);
    CHECK_STR_CONTAINS(http_header(r, "content-type", ct, sizeof ct), "application/json");
    long ra = hdr_num(r, "retry-after");
    CHECK_MSG_(ra >= 1 && ra <= max_s, "retry-after %ld not in [1, %ld]", ra, max_s);
}

static long long window_of(const char *w)
{
    return atoll(w);
}

/* ---- per key ---- */

static void each_api_key_has_its_own_budget_and_429s_never_reach_the_backend(void)
{
    struct setup x;
    char rl[128];
    const char *w = long_window();
    snprintf(rl, sizeof rl, "{per: api_key, requests: 3, window: %s}", w);
    REQUIRE(setup(&x, 1, AUTH_FILTER, rl, NULL, NULL));
    const char *alice[] = {"Authorization: Bearer sk-alice", NULL};
    const char *bob[] = {"x-api-key: sk-bob", NULL};
    struct http_resp r;
    for (long i = 0; i < 3; i++) {
        CHECK_EQ_INT(get(&x, alice, &r), 200);
        check_request_headers(&r, 3, 2 - i, window_of(w));
        http_resp_free(&r);
    }
    CHECK_EQ_INT(get(&x, alice, &r), 429);
    check_429(&r, window_of(w) / 1000 + 1, "requests");
    check_request_headers(&r, 3, 0, window_of(w));
    http_resp_free(&r);
    /* bob's budget is untouched by alice's */
    for (long i = 0; i < 3; i++) {
        CHECK_EQ_INT(get(&x, bob, &r), 200);
        CHECK_EQ_INT(hdr_num(&r, "x-ratelimit-remaining-requests"), 2 - i);
        http_resp_free(&r);
    }
    CHECK_EQ_INT(get(&x, bob, &r), 429);
    http_resp_free(&r);
    CHECK_EQ_INT(get(&x, alice, &r), 429);
    http_resp_free(&r);
    CHECK_EQ_INT(mock_stat(&x.m, "requests"), 6);
    teardown(&x);
}

/* Without auth, the credential itself (hashed) is the bucket; no credential at
 * all shares one "anonymous" bucket. The raw key never shows in the log. */
static void without_auth_the_credential_is_the_bucket(void)
{
    struct setup x;
    char rl[128];
    snprintf(rl, sizeof rl, "{requests: 1, window: %s}", long_window());
    REQUIRE(setup(&x, 1, "", rl, NULL, NULL));
    const char *k1[] = {"Authorization: Bearer sk-raw-one", NULL};
    const char *k2[] = {"x-api-key: sk-raw-two", NULL};
    struct http_resp r;
    CHECK_EQ_INT(get(&x, k1, &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(get(&x, k1, &r), 429);
    http_resp_free(&r);
    CHECK_EQ_INT(get(&x, k2, &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(get(&x, NULL, &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(get(&x, NULL, &r), 429);
    http_resp_free(&r);
    CHECK(!proc_wait_output(x.s.p, "sk-raw", 0));
    teardown(&x);
}

/* ---- per ip ---- */

/* One request from source address src (a 127.0.0.0/8 address) to the frontend;
 * returns the status. */
static int get_from(struct setup *x, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &a.sin_addr);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)x->s.port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    char buf[8192];
    int st = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        connect(fd, (struct sockaddr *)&to, sizeof to) == 0) {
        static const char req[] = "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        bool closed;
        if (tcp_send_all(fd, req, sizeof req - 1) &&
            tcp_read_until_close(fd, buf, sizeof buf, 5000, &closed) > 0)
            st = http_status_of(buf);
    }
    close(fd);
    return st;
}

static void per_ip_each_client_address_has_its_own_budget(void)
{
    struct setup x;
    char rl[128];
    snprintf(rl, sizeof rl, "{per: ip, requests: 2, window: %s}", long_window());
    REQUIRE(setup(&x, 1, "", rl, NULL, NULL));
    /* a credential does not matter per ip */
    const char *k1[] = {"x-api-key: one", NULL}, *k2[] = {"x-api-key: two", NULL};
    struct http_resp r;
    CHECK_EQ_INT(get(&x, k1, &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(get(&x, k2, &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(get(&x, k1, &r), 429);
    check_429(&r, 3600 * 2, "requests");
    http_resp_free(&r);
    CHECK_EQ_INT(get_from(&x, "127.0.0.2"), 200);
    CHECK_EQ_INT(get_from(&x, "127.0.0.2"), 200);
    CHECK_EQ_INT(get_from(&x, "127.0.0.2"), 429);
    CHECK_EQ_INT(get_from(&x, "127.0.0.1"), 429);
    teardown(&x);
}

/* ---- per header ---- */

static void per_header_each_team_has_its_own_budget(void)
{
    struct setup x;
    char rl[128];
    snprintf(rl, sizeof rl, "{per: \"header:X-Team\", requests: 2, window: %s}", long_window());
    REQUIRE(setup(&x, 1, "", rl, NULL, NULL));
    const char *a[] = {"x-team: red", NULL}, *b[] = {"X-Team: blue", NULL};
    struct http_resp r;
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(get(&x, a, &r), 200);
        http_resp_free(&r);
    }
    CHECK_EQ_INT(get(&x, a, &r), 429);
    http_resp_free(&r);
    CHECK_EQ_INT(get(&x, b, &r), 200);
    CHECK_EQ_INT(hdr_num(&r, "x-ratelimit-remaining-requests"), 1);
    http_resp_free(&r);
    /* no header: one shared bucket of its own */
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(get(&x, NULL, &r), 200);
        http_resp_free(&r);
    }
    CHECK_EQ_INT(get(&x, NULL, &r), 429);
    http_resp_free(&r);
    CHECK_EQ_INT(get(&x, b, &r), 200);
    http_resp_free(&r);
    teardown(&x);
}

/* ---- window reset ---- */

static void budget_comes_back_when_the_window_resets(void)
{
    struct setup x;
    REQUIRE(setup(&x, 1, "", "{per: ip, requests: 2, window: 2s}", NULL, NULL));
    /* Start in the first half of a 2 s window so both requests fall in it. */
    double deadline = proc_now_ms() + 3000;
    while (wall_ms() % 2000 > 800 && proc_now_ms() < deadline)
        usleep(10000);
    uint64_t window_end = (wall_ms() / 2000 + 1) * 2000;
    struct http_resp r;
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(get(&x, NULL, &r), 200);
        http_resp_free(&r);
    }
    CHECK_EQ_INT(get(&x, NULL, &r), 429);
    check_429(&r, 2, "requests");
    long long reset = hdr_reset(&r, "x-ratelimit-reset-requests");
    CHECK_MSG_(reset > 0 && reset <= 2000, "reset %lld", reset);
    http_resp_free(&r);
    /* Refused requests take nothing, so polling is harmless: the first 200 comes
     * once the window rolled over. */
    long st = 429;
    deadline = proc_now_ms() + 4000;
    while (st == 429 && proc_now_ms() < deadline) {
        usleep(20000);
        st = get(&x, NULL, &r);
        if (st == 200)
            CHECK_EQ_INT(hdr_num(&r, "x-ratelimit-remaining-requests"), 1);
        http_resp_free(&r);
    }
    CHECK_EQ_INT(st, 200);
    CHECK_MSG_(wall_ms() + 50 >= window_end, "admitted %lld ms before the window's end",
               (long long)window_end - (long long)wall_ms());
    teardown(&x);
}

/* ---- tokens ---- */

/* prompt: 3 + 4 + ceil(2 / 4) = 8 tokens; completion: max_tokens 10; total 18. */
static const char chat_body[] =
    "{\"model\":\"mock-model\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
#define CHAT_TOTAL 18

static long chat(struct setup *x, struct http_resp *r)
{
    const char *hdrs[] = {"Content-Type: application/json", "x-api-key: sk-tok", NULL};
    struct http_req req = {.method = "POST", .url = sluice_url(&x->s, "/v1/chat/completions"),
                           .headers = hdrs, .body = chat_body};
    return http_do(NULL, &req, r);
}

static void token_budget_is_spent_by_the_usage_of_responses(void)
{
    struct setup x;
    char rl[128];
    const char *w = long_window();
    snprintf(rl, sizeof rl, "{tokens: 50, window: %s}", w);
    REQUIRE(setup(&x, 1, "", rl, "--tokens", "10"));
    struct http_resp r;
    for (long i = 0; i < 3; i++) {
        CHECK_EQ_INT(chat(&x, &r), 200);
        CHECK_EQ_INT(hdr_num(&r, "x-ratelimit-limit-tokens"), 50);
        CHECK_EQ_INT(hdr_num(&r, "x-ratelimit-remaining-tokens"), 50 - CHAT_TOTAL * i);
        long long reset = hdr_reset(&r, "x-ratelimit-reset-tokens");
        CHECK_MSG_(reset > 0 && reset <= window_of(w), "reset-tokens %lld", reset);
        /* only the trio that is configured */
        CHECK_EQ_INT(hdr_num(&r, "x-ratelimit-limit-requests"), -1);
        http_resp_free(&r);
    }
    CHECK_EQ_INT(chat(&x, &r), 429);
    check_429(&r, window_of(w) / 1000 + 1, "tokens");
    CHECK_EQ_INT(hdr_num(&r, "x-ratelimit-limit-tokens"), 50);
    CHECK_EQ_INT(hdr_num(&r, "x-ratelimit-remaining-tokens"), 0);
    CHECK(hdr_reset(&r, "x-ratelimit-reset-tokens") > 0);
    http_resp_free(&r);
    CHECK_EQ_INT(mock_stat(&x.m, "requests"), 3);
    teardown(&x);
}

/* A request refused for tokens takes no request slot. */
static void refused_for_tokens_keeps_the_request_budget(void)
{
    struct setup x;
    char rl[128];
    const char *w = long_window();
    snprintf(rl, sizeof rl, "{requests: 5, tokens: 30, window: %s}", w);
    REQUIRE(setup(&x, 1, "", rl, "--tokens", "10"));
    struct http_resp r;
    for (long i = 0; i < 2; i++) {
        CHECK_EQ_INT(chat(&x, &r), 200);
        check_request_headers(&r, 5, 4 - i, window_of(w));
        CHECK_EQ_INT(hdr_num(&r, "x-ratelimit-remaining-tokens"), 30 - CHAT_TOTAL * i);
        http_resp_free(&r);
    }
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(chat(&x, &r), 429);
        check_429(&r, window_of(w) / 1000 + 1, "tokens");
        check_request_headers(&r, 5, 3, window_of(w));
        CHECK_EQ_INT(hdr_num(&r, "x-ratelimit-remaining-tokens"), 0);
        http_resp_free(&r);
    }
    teardown(&x);
}

/* ---- exactness across workers ---- */

struct storm {
    struct setup *x;
    atomic_int next, ok, limited, other;
};

#define STORM_TOTAL 300
#define STORM_CLIENTS 32

static void *storm_client(void *arg)
{
    struct storm *s = arg;
    http_client *c = http_client_new();
    while (atomic_fetch_add(&s->next, 1) < STORM_TOTAL) {
        struct http_resp r;
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/models", s->x->s.port);
        struct http_req req = {.url = url};
        long st = http_do(c, &req, &r);
        if (st == 200)
            atomic_fetch_add(&s->ok, 1);
        else if (st == 429)
            atomic_fetch_add(&s->limited, 1);
        else
            atomic_fetch_add(&s->other, 1);
        http_resp_free(&r);
    }
    http_client_free(c);
    return NULL;
}

static void exactly_the_budget_is_admitted_across_4_workers(void)
{
    struct setup x;
    char rl[128];
    snprintf(rl, sizeof rl, "{per: ip, requests: 100, window: %s}", long_window());
    REQUIRE(setup(&x, 4, "", rl, NULL, NULL));
    struct storm s = {.x = &x};
    pthread_t tid[STORM_CLIENTS];
    int started = 0;
    for (int i = 0; i < STORM_CLIENTS; i++)
        if (pthread_create(&tid[i], NULL, storm_client, &s) == 0)
            started++;
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    CHECK_EQ_INT(started, STORM_CLIENTS);
    CHECK_EQ_INT(atomic_load(&s.ok), 100);
    CHECK_EQ_INT(atomic_load(&s.limited), 200);
    CHECK_EQ_INT(atomic_load(&s.other), 0);
    CHECK_EQ_INT(mock_stat(&x.m, "requests"), 100);
    /* every refusal is counted in the metric */
    struct http_resp r;
    CHECK_EQ_INT(http_get(sluice_admin_url(&x.s, "/metrics"), &r), 200);
    CHECK_EQ_INT(sluice_metric_sum(r.body, "sluice_ratelimit_rejected_total"), 200);
    http_resp_free(&r);
    teardown(&x);
}

/* ---- configuration errors ---- */

/* `sluice -t` on a configuration whose ratelimit config (from line 9) is rl:
 * stderr must locate the error at want. */
static bool config_error_at(const char *rl, const char *want)
{
    char text[2048];
    snprintf(text, sizeof text,
             "global:\n"                                  /* 1 */
             "  plugin_path: [\"%s\"]\n"                  /* 2 */
             "frontends:\n"                               /* 3 */
             "  - name: api\n"                            /* 4 */
             "    bind: [\"127.0.0.1:1\"]\n"              /* 5 */
             "    filters:\n"                             /* 6 */
             "      - plugin: ratelimit\n"                /* 7 */
             "        config:\n"                          /* 8 */
             "%s"                                         /* 9.. */
             "    routes:\n"
             "      - backend: llm\n"
             "backends:\n"
             "  - {name: llm, servers: [{name: a, url: \"http://127.0.0.1:1\"}]}\n",
             sluice_plugin_dir(), rl);
    return sluice_config_error_at(text, want);
}

static void bad_configs_are_errors_at_their_place(void)
{
    CHECK(config_error_at("          requests: 10\n"
                          "          tokenz: 5\n",
                          "10:11: unknown key 'tokenz'"));
    CHECK(config_error_at("          window: 1m\n", "9:11: ratelimit needs `requests`, `tokens` or both"));
    CHECK(config_error_at("          requests: 0\n", "9:21:"));
    CHECK(config_error_at("          requests: many\n", "9:21:"));
    CHECK(config_error_at("          requests: 5\n"
                          "          tokens: -3\n",
                          "10:19:"));
    CHECK(config_error_at("          requests: 5\n"
                          "          per: user\n",
                          "10:16: `per` must be api_key, ip or header:NAME"));
    CHECK(config_error_at("          requests: 5\n"
                          "          per: \"header:bad name\"\n",
                          "10:16: `per: header:NAME`: NAME is not a valid header name"));
    CHECK(config_error_at("          requests: 5\n"
                          "          window: soon\n",
                          "10:19:"));
    CHECK(config_error_at("          requests: 5\n"
                          "          window: 0s\n",
                          "10:19: `window` must be more than 0"));
    CHECK(config_error_at("          requests: 5\n"
                          "          store: redis\n",
                          "10:18: `store: redis` needs the server's URL"));
}

TEST_MAIN(RUN(each_api_key_has_its_own_budget_and_429s_never_reach_the_backend)
          RUN(without_auth_the_credential_is_the_bucket)
          RUN(per_ip_each_client_address_has_its_own_budget)
          RUN(per_header_each_team_has_its_own_budget)
          RUN(budget_comes_back_when_the_window_resets)
          RUN(token_budget_is_spent_by_the_usage_of_responses)
          RUN(refused_for_tokens_keeps_the_request_budget)
          RUN(exactly_the_budget_is_admitted_across_4_workers)
          RUN(bad_configs_are_errors_at_their_place))
