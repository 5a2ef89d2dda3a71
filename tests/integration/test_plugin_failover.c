/* test_plugin_failover.c - the failover plugin (plugins/failover) and the host's
 * retry(), seen from a client: a server killed under steady load costs no client
 * error with failover, and errors that stop after health checks notice without it;
 * a priority group takes over and hands back; a 429 with retry-after moves on and
 * sets the server aside; all servers down is a 503 at once; a stream fails over
 * before its first byte but never after; the body and the fallback's credentials
 * and model_map reach the fallback; attempts and max_body bound the retries.
 */
#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define CHAT "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4}"
#define CHAT_STREAM                                                                     \
    "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"   \
    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":5}"
#define WAIT_MS 8000

#define HEAD_WITH_ADMIN(access)                                                 \
    "global:\n"                                                                 \
    "  workers: 2\n"                                                            \
    "  grace: 5s\n"                                                             \
    "  plugin_path: [\"%s\"]\n"                                                 \
    "  log: {level: info, access: " access ", format: json}\n"                  \
    "admin:\n"                                                                  \
    "  bind: 127.0.0.1:@ADMIN@\n"                                               \
    "frontends:\n"                                                              \
    "  - name: api\n"                                                           \
    "    bind: [\"127.0.0.1:@PORT@\"]\n"                                        \
    "    routes:\n"                                                             \
    "      - match: {path_prefix: /v1/}\n"                                      \
    "        backend: llm\n"                                                    \
    "      - match: {path_prefix: /mock/}\n"                                    \
    "        backend: llm\n"                                                    \
    "backends:\n"                                                               \
    "  - name: llm\n"

#define HEAD HEAD_WITH_ADMIN("off")
#define HEAD_LOGGED HEAD_WITH_ADMIN("\"@DIR@/access.log\"")

#define FAST_CHECK                                                              \
    "    health_check: {path: /v1/models, interval: 200ms, timeout: 500ms, rise: 2, fall: 2}\n"

/* ---- helpers ---- */

/* SIGKILL: the server dies with whatever it had in flight. */
static void mock_kill(struct mock *m)
{
    proc_signal(m->p, SIGKILL);
    (void)proc_stop(m->p, 5000);
    m->p = NULL;
}

static bool mock_restart(struct mock *m, const char *name)
{
    char ps[16];
    snprintf(ps, sizeof ps, "%d", m->port);
    return mock_start(m, name, "--port", ps, NULL);
}

static long chat(struct sluice *s, const char *body, struct http_resp *r)
{
    return http_post_json(sluice_url(s, "/v1/chat/completions"), body, r);
}

/* The x-mock-server of a response, in out ("" without one). */
static const char *served_by(const struct http_resp *r, char *out, size_t cap)
{
    if (!http_header(r, "x-mock-server", out, cap))
        out[0] = '\0';
    return out;
}

static bool wait_file_has(struct sluice *s, const char *name, const char *needle, int timeout_ms)
{
    double deadline = proc_now_ms() + timeout_ms;
    for (;;) {
        char *text = sluice_read_file(s, name);
        bool found = strstr(text, needle) != NULL;
        if (found || proc_now_ms() >= deadline) {
            if (!found)
                printf("  %s lacks %s:\n%s\n", name, needle, text);
            free(text);
            return found;
        }
        free(text);
        poll(NULL, 0, 10); /* polling interval */
    }
}

/* ---- steady load from two client threads ---- */

#define LOAD_THREADS 2

struct load {
    struct sluice *s;
    const char *const *names;
    int k;
    atomic_bool stop;
    atomic_int ok, errors;
    atomic_int by[4];
};

static void *load_run(void *arg)
{
    struct load *l = arg;
    http_client *c = http_client_new();
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    char url[256];
    snprintf(url, sizeof url, "%s", sluice_url(l->s, "/v1/chat/completions"));
    while (!atomic_load(&l->stop)) {
        struct http_req q = {.url = url, .headers = hdrs, .body = CHAT, .timeout_ms = 10000};
        struct http_resp r;
        long st = http_do(c, &q, &r);
        char who[32];
        served_by(&r, who, sizeof who);
        bool known = false;
        for (int i = 0; st == 200 && i < l->k; i++)
            if (!strcmp(who, l->names[i])) {
                atomic_fetch_add(&l->by[i], 1);
                known = true;
            }
        if (known) {
            atomic_fetch_add(&l->ok, 1);
        } else if (atomic_fetch_add(&l->errors, 1) < 5) {
            printf("  load: status %ld (curl %d) %.200s\n", st, r.curl_code, r.body);
        }
        http_resp_free(&r);
    }
    http_client_free(c);
    return NULL;
}

static bool load_start(struct load *l, pthread_t *thr, struct sluice *s, const char *const *names, int k)
{
    memset(l, 0, sizeof *l);
    l->s = s;
    l->names = names;
    l->k = k;
    struct http_resp r; /* curl's global set-up happens here, before any thread */
    http_get(sluice_url(s, "/nothing"), &r);
    http_resp_free(&r);
    for (int i = 0; i < LOAD_THREADS; i++)
        if (pthread_create(&thr[i], NULL, load_run, l) != 0)
            return false;
    return true;
}

static void load_stop(struct load *l, pthread_t *thr)
{
    atomic_store(&l->stop, true);
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_join(thr[i], NULL);
}

static bool mock_post_reset(struct mock *m)
{
    struct http_resp r;
    long st = http_post_json(mock_url(m, "/mock/reset"), "{}", &r);
    http_resp_free(&r);
    return st == 200;
}

/* Polls until mock m has counted at least want requests. */
static bool wait_requests(struct mock *m, int64_t want, int timeout_ms)
{
    double deadline = proc_now_ms() + timeout_ms;
    int64_t got;
    while ((got = mock_stat(m, "requests")) < want && proc_now_ms() < deadline)
        poll(NULL, 0, 5); /* polling interval */
    if (got < want)
        printf("  mock %d: %lld requests, want %lld\n", m->port, (long long)got, (long long)want);
    return got >= want;
}

/* Steady load on a and b (names[0], names[1]) until a has served 20 requests,
 * then a is killed with requests in flight. */
static bool load_then_kill_first(struct load *l, pthread_t *thr, struct sluice *s, const char *const *names,
                                 struct mock *a)
{
    if (!load_start(l, thr, s, names, 2))
        return false;
    bool ok = wait_requests(a, 20, WAIT_MS);
    mock_kill(a); /* each request waits for its answer: some are in flight now */
    return ok;
}

/* ---- (1) a server killed under load: failover hides it ---- */

static void killed_server_under_load_costs_no_client_error(void)
{
    struct mock a, b;
    START_MOCK(&a, "a", "--latency", "20ms");
    START_MOCK(&b, "b", "--latency", "20ms");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s, HEAD
        "    filters:\n"
        "      - plugin: failover\n"
        "        config: {attempts: 3, backoff: 10ms}\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: b, url: \"http://127.0.0.1:%d/v1\"}\n",
        sluice_plugin_dir(), a.port, b.port), &a, &b, NULL));
    static const char *const names[] = {"a", "b"};
    struct load l;
    pthread_t thr[LOAD_THREADS];
    CHECK(load_then_kill_first(&l, thr, &s, names, &a));
    int64_t b_then = mock_stat(&b, "requests");
    CHECK(wait_requests(&b, b_then + 80, WAIT_MS));
    load_stop(&l, thr);
    CHECK_EQ_INT(atomic_load(&l.errors), 0);
    CHECK(atomic_load(&l.by[0]) >= 10);
    CHECK(atomic_load(&l.by[1]) >= 80);
    CHECK(sluice_metric(&s, "sluice_retries_total", "backend=\"llm\",server=\"a\"") >= 1);
    CHECK_EQ_INT(sluice_metric(&s, "sluice_retries_total", "backend=\"llm\",server=\"b\""), 0);
    CHECK(sluice_and_mocks_stopped(&s, &b, NULL));
}

/* Without failover the same kill is seen by clients until the health checks mark
 * the server down; from then on there is no error. */
static void killed_server_without_failover_errors_until_detected(void)
{
    struct mock a, b;
    START_MOCK(&a, "a", "--latency", "20ms");
    START_MOCK(&b, "b", "--latency", "20ms");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s, HEAD
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: b, url: \"http://127.0.0.1:%d/v1\"}\n"
        FAST_CHECK,
        sluice_plugin_dir(), a.port, b.port), &a, &b, NULL));
    static const char *const names[] = {"a", "b"};
    struct load l;
    pthread_t thr[LOAD_THREADS];
    CHECK(load_then_kill_first(&l, thr, &s, names, &a));
    CHECK(sluice_wait_metric(&s, "sluice_server_up", "backend=\"llm\",server=\"a\"", 0, true, WAIT_MS));
    /* requests that picked a just before it went down may still fail: let them end */
    CHECK(wait_requests(&b, mock_stat(&b, "requests") + 10, WAIT_MS));
    int errors_at_detection = atomic_load(&l.errors);
    CHECK(wait_requests(&b, mock_stat(&b, "requests") + 80, WAIT_MS));
    load_stop(&l, thr);
    CHECK_MSG_(errors_at_detection > 0, "no client saw the dead server before detection");
    CHECK_EQ_INT(atomic_load(&l.errors) - errors_at_detection, 0);
    CHECK(sluice_and_mocks_stopped(&s, &b, NULL));
}

/* ---- (2) priority groups under failover ---- */

static void backup_takes_over_while_the_primary_is_down_and_hands_back(void)
{
    struct mock a, backup;
    START_MOCK(&a, "a", "--latency", "10ms");
    START_MOCK(&backup, "backup", "--latency", "10ms");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s, HEAD
        "    filters:\n"
        "      - plugin: failover\n"
        "        config: {backoff: 5ms}\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: backup, url: \"http://127.0.0.1:%d/v1\", priority: 1}\n"
        FAST_CHECK,
        sluice_plugin_dir(), a.port, backup.port), &a, &backup, NULL));
    static const char *const names[] = {"a", "backup"};
    struct load l;
    pthread_t thr[LOAD_THREADS];
    CHECK(load_then_kill_first(&l, thr, &s, names, &a));
    CHECK(atomic_load(&l.by[0]) >= 1);
    CHECK(sluice_wait_metric(&s, "sluice_server_up", "backend=\"llm\",server=\"a\"", 0, true, WAIT_MS));
    CHECK(wait_requests(&backup, mock_stat(&backup, "requests") + 40, WAIT_MS));
    REQUIRE(mock_restart(&a, "a"));
    CHECK(sluice_wait_metric(&s, "sluice_server_up", "backend=\"llm\",server=\"a\"", 1, true, WAIT_MS));
    CHECK(wait_requests(&a, 40, WAIT_MS)); /* traffic is back on a */
    load_stop(&l, thr);
    CHECK_EQ_INT(atomic_load(&l.errors), 0);
    /* after the hand-back, a takes everything */
    int count[2] = {0, 0}, failed = 0;
    sluice_spread(&s, "/v1/models", 10, names, count, 2, &failed);
    CHECK_EQ_INT(failed, 0);
    CHECK_EQ_INT(count[0], 10);
    CHECK(sluice_and_mocks_stopped(&s, &a, &backup, NULL));
}

/* ---- (3) 429 with retry-after ---- */

static void a_429_with_retry_after_moves_on_and_sets_the_server_aside(void)
{
    struct mock a, b;
    START_MOCK(&a, "a", "--fail-status", "429", "--retry-after", "30");
    START_MOCK(&b, "b");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s, HEAD_LOGGED
        "    filters:\n"
        "      - plugin: failover\n"
        "        config: {backoff: 1ms, max_retry_after: 20s}\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: b, url: \"http://127.0.0.1:%d/v1\"}\n",
        sluice_plugin_dir(), a.port, b.port), &a, &b, NULL));
    for (int i = 0; i < 10; i++) {
        struct http_resp r;
        char who[32];
        CHECK_EQ_INT(chat(&s, CHAT, &r), 200);
        CHECK_STR_EQ(served_by(&r, who, sizeof who), "b");
        http_resp_free(&r);
    }
    /* a answered once; then it was set aside (both workers see it) */
    CHECK_EQ_INT(mock_stat(&a, "requests"), 1);
    CHECK_EQ_INT(mock_stat(&b, "requests"), 10);
    CHECK_EQ_INT(sluice_metric(&s, "sluice_retries_total", "backend=\"llm\",server=\"a\""), 1);
    CHECK(wait_file_has(&s, "access.log", "\"attempts\":2,\"retries\":\"llm/a:429\"", WAIT_MS));
    CHECK(sluice_and_mocks_stopped(&s, &a, &b, NULL));
}

/* Both servers rate-limited: the third attempt goes back to the first one, but
 * only once its retry-after (capped by max_retry_after) has passed. */
static void going_back_to_a_server_waits_for_its_retry_after(void)
{
    struct mock a, b;
    START_MOCK(&a, "a", "--fail-status", "429", "--retry-after", "1");
    START_MOCK(&b, "b", "--fail-status", "429", "--retry-after", "1");
    struct sluice s;
    for (int capped = 0; capped < 2; capped++) {
        REQUIRE(mock_stop_on_failure(sluice_start(&s, HEAD
            "    filters:\n"
            "      - plugin: failover\n"
            "        config: {attempts: 3, backoff: 1ms, max_retry_after: %s}\n"
            "    servers:\n"
            "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
            "      - {name: b, url: \"http://127.0.0.1:%d/v1\"}\n",
            sluice_plugin_dir(), capped ? "200ms" : "10s", a.port, b.port), &a, &b, NULL));
        CHECK(mock_post_reset(&a) && mock_post_reset(&b));
        struct http_resp r;
        CHECK_EQ_INT(chat(&s, CHAT, &r), 429); /* the last answer, as it was */
        if (capped)
            CHECK_MSG_(r.total_ms >= 150 && r.total_ms < 800, "capped wait: %.0f ms", r.total_ms);
        else
            CHECK_MSG_(r.total_ms >= 900 && r.total_ms < 5000, "retry-after wait: %.0f ms", r.total_ms);
        http_resp_free(&r);
        CHECK_EQ_INT(mock_stat(&a, "requests") + mock_stat(&b, "requests"), 3);
        CHECK_EQ_INT(sluice_stop(&s), 0);
    }
    CHECK_EQ_INT(mock_stop(&a), 0);
    CHECK_EQ_INT(mock_stop(&b), 0);
}

/* With nowhere else to go, the client gets the provider's 429 as it was. */
static void a_429_with_nowhere_to_go_reaches_the_client(void)
{
    struct mock a;
    START_MOCK(&a, "a", "--fail-status", "429", "--retry-after", "7");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s, HEAD
        "    filters:\n"
        "      - plugin: failover\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n",
        sluice_plugin_dir(), a.port), &a, NULL));
    for (int i = 0; i < 3; i++) {
        struct http_resp r;
        char ra[16];
        CHECK_EQ_INT(chat(&s, CHAT, &r), 429);
        CHECK_STR_EQ(http_header(&r, "retry-after", ra, sizeof ra), "7");
        CHECK_STR_CONTAINS(r.body, "rate_limit");
        http_resp_free(&r);
    }
    CHECK_EQ_INT(mock_stat(&a, "requests"), 3);
    CHECK(sluice_and_mocks_stopped(&s, &a, NULL));
}

/* ---- (4) every server down: 503 at once ---- */

static void all_servers_down_is_a_503_at_once(void)
{
    struct sluice s;
    REQUIRE(sluice_start(&s, HEAD
        "    filters:\n"
        "      - plugin: failover\n"
        "        config: {attempts: 5, backoff: 1s}\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: b, url: \"http://127.0.0.1:%d/v1\", priority: 1}\n"
        FAST_CHECK,
        sluice_plugin_dir(), free_port(), free_port()));
    CHECK(sluice_wait_metric(&s, "sluice_server_up", "backend=\"llm\",server=\"a\"", 0, true, WAIT_MS));
    CHECK(sluice_wait_metric(&s, "sluice_server_up", "backend=\"llm\",server=\"b\"", 0, true, WAIT_MS));
    struct http_resp r;
    char code[64];
    CHECK_EQ_INT(chat(&s, CHAT, &r), 503);
    CHECK(is_openai_error(r.body, code, sizeof code));
    CHECK_STR_EQ(code, "no_usable_server");
    CHECK_MSG_(r.total_ms < 500, "the 503 took %.0f ms", r.total_ms);
    http_resp_free(&r);
    CHECK_EQ_INT(sluice_stop(&s), 0);
}

/* Before the checks notice, connect errors move from server to server within the
 * attempts; the last one's 502 reaches the client. */
static void unreachable_servers_end_in_a_502_after_the_attempts(void)
{
    struct sluice s;
    REQUIRE(sluice_start(&s, HEAD
        "    filters:\n"
        "      - plugin: failover\n"
        "        config: {attempts: 3, backoff: 1ms}\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: b, url: \"http://127.0.0.1:%d/v1\"}\n",
        sluice_plugin_dir(), free_port(), free_port()));
    struct http_resp r;
    char code[64];
    CHECK_EQ_INT(chat(&s, CHAT, &r), 502);
    CHECK(is_openai_error(r.body, code, sizeof code));
    CHECK_STR_EQ(code, "upstream_error");
    http_resp_free(&r);
    /* a, b, a: never the same twice in a row, two retries */
    long long ra = sluice_metric(&s, "sluice_retries_total", "server=\"a\"");
    long long rb = sluice_metric(&s, "sluice_retries_total", "server=\"b\"");
    CHECK_EQ_INT(ra + rb, 2);
    CHECK_EQ_INT(sluice_stop(&s), 0);
}

/* A server silent past timeouts.server is a failed attempt too. */
static void a_silent_server_times_out_and_the_next_one_answers(void)
{
    struct mock a, b;
    START_MOCK(&a, "a", "--latency", "5s");
    START_MOCK(&b, "b");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s, HEAD
        "    timeouts: {server: 300ms}\n"
        "    filters:\n"
        "      - plugin: failover\n"
        "        config: {on: [timeout], backoff: 1ms}\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: b, url: \"http://127.0.0.1:%d/v1\", priority: 1}\n",
        sluice_plugin_dir(), a.port, b.port), &a, &b, NULL));
    struct http_resp r;
    char who[32];
    CHECK_EQ_INT(chat(&s, CHAT, &r), 200);
    CHECK_STR_EQ(served_by(&r, who, sizeof who), "b");
    CHECK_MSG_(r.total_ms >= 250 && r.total_ms < 3000, "answered after %.0f ms", r.total_ms);
    http_resp_free(&r);
    CHECK(sluice_and_mocks_stopped(&s, &a, &b, NULL));
}

/* A client that leaves while its retry waits for the backoff takes the retry with
 * it: the next server never sees the request. */
static void a_client_leaving_during_the_backoff_cancels_the_retry(void)
{
    struct mock a, b;
    START_MOCK(&a, "a", "--fail-status", "503");
    START_MOCK(&b, "b");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s, HEAD_LOGGED
        "    filters:\n"
        "      - plugin: failover\n"
        "        config: {backoff: 3s}\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: b, url: \"http://127.0.0.1:%d/v1\", priority: 1}\n",
        sluice_plugin_dir(), a.port, b.port), &a, &b, NULL));
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    struct http_req q = {.url = sluice_url(&s, "/v1/chat/completions"), .headers = hdrs, .body = CHAT,
                         .timeout_ms = 300};
    struct http_resp r;
    http_do(NULL, &q, &r);
    CHECK_EQ_INT(r.status, 0); /* curl gave up first */
    http_resp_free(&r);
    /* the transaction ends when sluice sees the close: logged as 499 */
    CHECK(wait_file_has(&s, "access.log", "\"status\":499", WAIT_MS));
    CHECK_EQ_INT(mock_stat(&a, "requests"), 1);
    CHECK_EQ_INT(mock_stat(&b, "requests"), 0);
    CHECK(sluice_and_mocks_stopped(&s, &a, &b, NULL));
}

/* ---- (5) streams: before the first byte, never after ---- */

static void a_stream_fails_over_before_its_first_byte(void)
{
    struct mock a, b;
    START_MOCK(&a, "a", "--fail-status", "503");
    START_MOCK(&b, "b", "--ttft", "20ms");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s, HEAD
        "    filters:\n"
        "      - plugin: failover\n"
        "        config: {backoff: 1ms}\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: b, url: \"http://127.0.0.1:%d/v1\", priority: 1}\n"
        "      - {name: gone, url: \"http://127.0.0.1:%d/v1\", priority: 1}\n",
        sluice_plugin_dir(), a.port, b.port, free_port()), &a, &b, NULL));
    for (int i = 0; i < 4; i++) {
        struct http_resp r;
        char who[32], ct[64];
        CHECK_EQ_INT(chat(&s, CHAT_STREAM, &r), 200);
        CHECK_STR_EQ(served_by(&r, who, sizeof who), "b");
        CHECK_STR_CONTAINS(http_header(&r, "content-type", ct, sizeof ct), "text/event-stream");
        struct sse_list ev;
        size_t n = sse_parse(r.body, r.body_len, &ev);
        CHECK(n >= 8);
        CHECK(n > 0 && !strcmp(ev.ev[n - 1].data, "[DONE]"));
        CHECK(n > 1 && strstr(ev.ev[n - 2].data, "\"usage\"") != NULL);
        sse_free(&ev);
        http_resp_free(&r);
    }
    CHECK_EQ_INT(mock_stat(&a, "requests"), 4);
    CHECK_EQ_INT(mock_stat(&b, "requests"), 4);
    CHECK(sluice_and_mocks_stopped(&s, &a, &b, NULL));
}

static void an_upstream_dying_mid_stream_ends_the_stream_without_retry(void)
{
    struct mock a, b;
    START_MOCK(&a, "a", "--drop-after", "3", "--tps", "100");
    START_MOCK(&b, "b");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s, HEAD_LOGGED
        "    filters:\n"
        "      - plugin: failover\n"
        "        config: {backoff: 1ms}\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: b, url: \"http://127.0.0.1:%d/v1\", priority: 1}\n",
        sluice_plugin_dir(), a.port, b.port), &a, &b, NULL));
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    struct http_req q = {.url = sluice_url(&s, "/v1/chat/completions"), .headers = hdrs,
                         .body = CHAT_STREAM, .timeout_ms = 10000};
    struct http_resp r;
    http_do(NULL, &q, &r);
    char who[32];
    CHECK_EQ_INT(r.status, 200);
    CHECK_STR_EQ(served_by(&r, who, sizeof who), "a");
    CHECK(r.curl_code != 0); /* cut short: the last chunk never came */
    CHECK_MSG_(r.total_ms < 3000, "the broken stream took %.0f ms to end", r.total_ms);
    CHECK_STR_CONTAINS(r.body, "data: {");
    CHECK(strstr(r.body, "[DONE]") == NULL);
    http_resp_free(&r);
    CHECK_EQ_INT(mock_stat(&b, "requests"), 0); /* no retry once a byte went out */
    CHECK_EQ_INT(mock_stat(&a, "streams_dropped"), 1);
    CHECK(wait_file_has(&s, "access.log", "\"server\":\"a\"", WAIT_MS));
    char *log = sluice_read_file(&s, "access.log");
    CHECK_STR_CONTAINS(log, "\"attempts\":1");
    CHECK(strstr(log, "retries") == NULL);
    free(log);
    CHECK(sluice_and_mocks_stopped(&s, &a, &b, NULL));
}

/* ---- (6) what reaches the fallback ---- */

/* The primary is unreachable; the fallback backend gets the request with its own
 * credentials and model_map, and the body as the client sent it otherwise. */
static void the_fallback_gets_the_body_with_its_own_credentials_and_model_map(void)
{
    struct mock fb;
    START_MOCK(&fb, "fb");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s, HEAD
        "    filters:\n"
        "      - plugin: failover\n"
        "        config: {backoff: 1ms, fallback: [spare]}\n"
        "    servers:\n"
        "      - name: primary\n"
        "        url: http://127.0.0.1:%d\n"
        "        headers: {authorization: \"Bearer primary-key\"}\n"
        "  - name: spare\n"
        "    servers:\n"
        "      - name: fb\n"
        "        url: http://127.0.0.1:%d\n"
        "        headers: {authorization: \"Bearer spare-key\"}\n"
        "        model_map: {gpt-4o-mini: spare-model}\n",
        sluice_plugin_dir(), free_port(), fb.port), &fb, NULL));
    static const char *const plain[] = {"Content-Type: application/json",
                                        "Authorization: Bearer client-key", NULL};
    static const char *const chunked[] = {"Content-Type: application/json",
                                          "Authorization: Bearer client-key",
                                          "Transfer-Encoding: chunked", NULL};
    const char *const *variants[] = {plain, chunked};
    for (int v = 0; v < 2; v++) {
        struct http_req q = {.url = sluice_url(&s, "/mock/echo"), .headers = variants[v], .body = CHAT};
        struct http_resp r;
        CHECK_EQ_INT(http_do(NULL, &q, &r), 200);
        struct mock_echo e;
        if (CHECK(mock_echo_load(&e, r.body))) {
            char auth[64];
            CHECK_EQ_INT(mock_echo_header(&e, "authorization", auth, sizeof auth), 1);
            CHECK_STR_EQ(auth, "Bearer spare-key");
            char *body = mock_echo_str(&e, "body", NULL);
            CHECK_STR_EQ(body, "{\"model\":\"spare-model\",\"messages\":[{\"role\":\"user\","
                               "\"content\":\"hi\"}],\"max_tokens\":4}");
            free(body);
        }
        http_resp_free(&r);
    }
    CHECK_EQ_INT(mock_stat(&fb, "requests"), 2);
    CHECK(sluice_and_mocks_stopped(&s, &fb, NULL));
}

/* ---- (7) nothing usable in the backend: straight to the fallback ---- */

static long post_state(struct sluice *s, const char *server, const char *state)
{
    char path[128], body[64];
    snprintf(path, sizeof path, "/servers/llm/%s", server);
    snprintf(body, sizeof body, "{\"state\":\"%s\"}", state);
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    struct http_req q = {.method = "POST", .url = sluice_admin_url(s, path), .body = body, .headers = hdrs};
    struct http_resp r;
    long st = http_do(NULL, &q, &r);
    http_resp_free(&r);
    return st;
}

static void a_backend_with_no_usable_server_hands_over_to_its_fallback_at_once(void)
{
    struct mock a, fb;
    START_MOCK(&a, "a");
    START_MOCK(&fb, "fb");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s, HEAD_LOGGED
        "    filters:\n"
        "      - plugin: failover\n"
        "        config: {attempts: 1, backoff: 2s, fallback: [spare]}\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "  - name: spare\n"
        "    servers:\n"
        "      - {name: fb, url: \"http://127.0.0.1:%d/v1\"}\n",
        sluice_plugin_dir(), a.port, fb.port), &a, &fb, NULL));
    CHECK_EQ_INT(post_state(&s, "a", "maint"), 200);
    struct http_resp r;
    char who[32];
    /* no attempt is used up and no backoff waited: attempts 1 still reaches fb */
    CHECK_EQ_INT(chat(&s, CHAT, &r), 200);
    CHECK_STR_EQ(served_by(&r, who, sizeof who), "fb");
    CHECK_MSG_(r.total_ms < 1000, "the hand-over took %.0f ms", r.total_ms);
    http_resp_free(&r);
    CHECK(wait_file_has(&s, "access.log", "\"attempts\":1,\"retries\":\"llm/-:no_usable_server\"", WAIT_MS));
    CHECK_EQ_INT(post_state(&s, "a", "ready"), 200);
    CHECK_EQ_INT(chat(&s, CHAT, &r), 200);
    CHECK_STR_EQ(served_by(&r, who, sizeof who), "a");
    http_resp_free(&r);
    CHECK_EQ_INT(mock_stat(&a, "requests"), 1);
    CHECK(sluice_and_mocks_stopped(&s, &a, &fb, NULL));
}

/* The worked example of docs/resilience.md in small: a single-server primary
 * behind circuit_breaker and failover. Its failures are retried on the fallback;
 * once its circuit opens it gets no request until the cooldown's probe, and the
 * clients never see an error. */
static void circuit_and_failover_together_keep_clients_whole(void)
{
    struct mock a, fb;
    START_MOCK(&a, "a", "--fail-status", "503");
    START_MOCK(&fb, "fb");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s, HEAD
        "    filters:\n"
        "      - plugin: circuit_breaker\n"
        "        config: {failures: 3, cooldown: 1s}\n"
        "      - plugin: failover\n"
        "        config: {backoff: 1ms, fallback: [spare]}\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "  - name: spare\n"
        "    servers:\n"
        "      - {name: fb, url: \"http://127.0.0.1:%d/v1\"}\n",
        sluice_plugin_dir(), a.port, fb.port), &a, &fb, NULL));
    for (int i = 0; i < 20; i++) {
        struct http_resp r;
        char who[32];
        CHECK_EQ_INT(chat(&s, CHAT, &r), 200);
        CHECK_STR_EQ(served_by(&r, who, sizeof who), "fb");
        http_resp_free(&r);
    }
    CHECK_EQ_INT(mock_stat(&a, "requests"), 3); /* then the circuit opened */
    CHECK_EQ_INT(sluice_metric(&s, "sluice_circuit_state", "backend=\"llm\",server=\"a\""), 1);
    struct http_resp rd; /* llm's one server is not usable while its circuit is open */
    CHECK_EQ_INT(http_get(sluice_admin_url(&s, "/ready"), &rd), 503);
    CHECK_STR_CONTAINS(rd.body, "llm");
    http_resp_free(&rd);
    /* a heals; after the cooldown a request probes it and closes the circuit */
    struct http_resp r;
    http_post_json(mock_url(&a, "/mock/config"), "{\"status\":0}", &r);
    http_resp_free(&r);
    double deadline = proc_now_ms() + WAIT_MS;
    bool back = false;
    while (!back && proc_now_ms() < deadline) {
        char who[32];
        CHECK_EQ_INT(chat(&s, CHAT, &r), 200);
        back = !strcmp(served_by(&r, who, sizeof who), "a");
        http_resp_free(&r);
        if (!back)
            poll(NULL, 0, 50); /* pacing the requests while the cooldown runs */
    }
    CHECK(back);
    CHECK_EQ_INT(sluice_metric(&s, "sluice_circuit_state", "backend=\"llm\",server=\"a\""), 0);
    CHECK_EQ_INT(http_get(sluice_admin_url(&s, "/ready"), &rd), 200);
    http_resp_free(&rd);
    CHECK(sluice_and_mocks_stopped(&s, &a, &fb, NULL));
}

/* ---- (8) bounds ---- */

static void attempts_and_max_body_bound_the_retries(void)
{
    struct mock a, b, c;
    START_MOCK(&a, "a", "--fail-status", "503");
    START_MOCK(&b, "b", "--fail-status", "503");
    START_MOCK(&c, "c", "--fail-status", "503");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s, HEAD
        "    filters:\n"
        "      - plugin: failover\n"
        "        config: {attempts: 2, backoff: 1ms, max_body: 64}\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: b, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: c, url: \"http://127.0.0.1:%d/v1\"}\n",
        sluice_plugin_dir(), a.port, b.port, c.port), &a, &b, &c, NULL));
    struct http_resp r;
    /* an empty body (content-length: 0) is replayable too */
    CHECK_EQ_INT(http_post_json(sluice_url(&s, "/v1/chat/completions"), "", &r), 503);
    http_resp_free(&r);
    int64_t empty = mock_stat(&a, "requests") + mock_stat(&b, "requests") + mock_stat(&c, "requests");
    CHECK_EQ_INT(empty, 2);
    CHECK(mock_post_reset(&a) && mock_post_reset(&b) && mock_post_reset(&c));
    /* a small body: two attempts, then the provider's own 503 */
    CHECK_EQ_INT(http_post_json(sluice_url(&s, "/v1/chat/completions"), "{\"messages\":[]}", &r), 503);
    CHECK_STR_CONTAINS(r.body, "\"error\"");
    http_resp_free(&r);
    int64_t total = mock_stat(&a, "requests") + mock_stat(&b, "requests") + mock_stat(&c, "requests");
    CHECK_EQ_INT(total, 2);
    /* a body over max_body is not kept, so it is not retried */
    CHECK_EQ_INT(chat(&s, CHAT, &r), 503);
    http_resp_free(&r);
    total = mock_stat(&a, "requests") + mock_stat(&b, "requests") + mock_stat(&c, "requests");
    CHECK_EQ_INT(total, 3);
    CHECK(sluice_and_mocks_stopped(&s, &a, &b, &c, NULL));
}

/* Statuses not listed in `on` pass through untouched. */
static void only_the_listed_conditions_are_retried(void)
{
    struct mock a, b;
    START_MOCK(&a, "a", "--fail-status", "500");
    START_MOCK(&b, "b", "--fail-status", "500");
    struct sluice s;
    REQUIRE(mock_stop_on_failure(sluice_start(&s, HEAD
        "    filters:\n"
        "      - plugin: failover\n"
        "        config: {on: [connect_error, 503]}\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d/v1\"}\n"
        "      - {name: b, url: \"http://127.0.0.1:%d/v1\"}\n",
        sluice_plugin_dir(), a.port, b.port), &a, &b, NULL));
    struct http_resp r;
    CHECK_EQ_INT(chat(&s, CHAT, &r), 500);
    http_resp_free(&r);
    CHECK_EQ_INT(mock_stat(&a, "requests") + mock_stat(&b, "requests"), 1);
    CHECK(sluice_and_mocks_stopped(&s, &a, &b, NULL));
}

/* ---- (9) sluice -t ---- */

static void bad_configuration_is_refused_at_its_line(void)
{
    char text[2048];
    const char *bad[][2] = {
        {"{attempts: 0}", "9:47: '0' is not an integer from 1 to 10"},
        {"{on: [connect_error, 200]}", "9:57: `on` items are"},
        {"{on: 503}", "9:41: `on` must be a list"},
        {"{backoff: soon}", "9:46: 'soon' is not a duration"},
        {"{backoff: 2s, max_backoff: 1s}", "9:63: `max_backoff` is less than `backoff`"},
        {"{fallback: [[x]]}", "9:48: `fallback` items are backend names"},
        {"{fallback: [llm, nope]}", "9:53: `fallback`: there is no backend 'nope'"},
        {"{atempts: 2}", "9:37: unknown key 'atempts' in the configuration of plugin 'failover'; did you mean 'attempts'?"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text,
                 "global:\n"
                 "  plugin_path: [\"%s\"]\n"
                 "frontends:\n"
                 "  - {name: api, bind: [\"127.0.0.1:1\"], routes: [{match: {path_prefix: /}, backend: llm}]}\n"
                 "backends:\n"
                 "  - name: llm\n"
                 "    servers: [{name: a, url: \"http://127.0.0.1:1\"}]\n"
                 "    filters:\n"
                 "      - {plugin: failover, config: %s}\n",
                 sluice_plugin_dir(), bad[i][0]);
        CHECK_MSG_(sluice_config_error_at(text, bad[i][1]), "config %s", bad[i][0]);
    }
}

TEST_MAIN(
    RUN(killed_server_under_load_costs_no_client_error)
    RUN(killed_server_without_failover_errors_until_detected)
    RUN(backup_takes_over_while_the_primary_is_down_and_hands_back)
    RUN(a_429_with_retry_after_moves_on_and_sets_the_server_aside)
    RUN(going_back_to_a_server_waits_for_its_retry_after)
    RUN(a_429_with_nowhere_to_go_reaches_the_client)
    RUN(all_servers_down_is_a_503_at_once)
    RUN(unreachable_servers_end_in_a_502_after_the_attempts)
    RUN(a_silent_server_times_out_and_the_next_one_answers)
    RUN(a_client_leaving_during_the_backoff_cancels_the_retry)
    RUN(a_stream_fails_over_before_its_first_byte)
    RUN(an_upstream_dying_mid_stream_ends_the_stream_without_retry)
    RUN(the_fallback_gets_the_body_with_its_own_credentials_and_model_map)
    RUN(a_backend_with_no_usable_server_hands_over_to_its_fallback_at_once)
    RUN(circuit_and_failover_together_keep_clients_whole)
    RUN(attempts_and_max_body_bound_the_retries)
    RUN(only_the_listed_conditions_are_retried)
    RUN(bad_configuration_is_refused_at_its_line)
)
