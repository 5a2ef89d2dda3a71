/* test_proxy_tokens.c - token accounting as an operator sees it: the exact
 * sluice_tokens_total{backend,server,model,type} series and the /stats totals after
 * OpenAI and Anthropic answers, JSON and streamed, through routes without filters
 * and with one; nothing counted for errors, encoded bodies, other content types or
 * a stream without usage.
 *
 * sluice-mock's usage is deterministic (docs/mock.md): prompt = 3 + per message
 * 4 + ceil(bytes / 4), completion = max_tokens. A raw upstream (a thread of this
 * test) answers what the mock cannot: an error carrying usage, gzip, no model. */
#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const json_hdr[] = {"Content-Type: application/json", NULL};

/* %1$d mock one, %2$d mock two, %3$d raw upstream, %4$s plugin dir. */
static const char conf[] =
    "global:\n"
    "  workers: 2\n"
    "  grace: 5s\n"
    "  log: {level: info, access: off}\n"
    "  plugin_path: [\"%4$s\"]\n"
    "admin:\n"
    "  bind: 127.0.0.1:@ADMIN@\n"
    "frontends:\n"
    "  - name: api\n"
    "    bind: [\"127.0.0.1:@PORT@\"]\n"
    "    routes:\n"
    "      - match: {path_prefix: /two/}\n"
    "        backend: second\n"
    "      - match: {path_prefix: /raw/}\n"
    "        backend: raw\n"
    "      - match: {path_prefix: /f/}\n"
    "        backend: llm\n"
    "        filters:\n"
    "          - plugin: ratelimit\n"
    "            config: {per: ip, tokens: 100000000, window: 1m}\n"
    "      - match: {path_prefix: /v1/}\n"
    "        backend: llm\n"
    "backends:\n"
    "  - name: llm\n"
    "    servers:\n"
    "      - {name: one, url: \"http://127.0.0.1:%1$d/v1\"}\n"
    "  - name: second\n"
    "    servers:\n"
    "      - {name: two, url: \"http://127.0.0.1:%2$d/v1\"}\n"
    "  - name: raw\n"
    "    servers:\n"
    "      - {name: raw, url: \"http://127.0.0.1:%3$d\"}\n";

/* ---- the raw upstream: one canned response per connection, in order ---- */

struct raw {
    int fd, port;
    const char *const *answers; /* NULL-terminated */
    pthread_t th;
};

static void *raw_serve(void *arg)
{
    struct raw *r = arg;
    for (const char *const *a = r->answers; *a; a++) {
        int c = accept(r->fd, NULL, NULL);
        if (c < 0)
            break;
        char buf[4096];
        tcp_read_until(c, buf, sizeof buf, "\r\n\r\n", 1, 5000);
        if (**a) /* "": close without an answer */
            tcp_send_all(c, *a, strlen(*a));
        close(c);
    }
    return NULL;
}

struct setup {
    struct mock one, two;
    struct raw raw;
    struct sluice s;
};

static const char *const no_answers[] = {NULL};

static bool setup(struct setup *x, const char *const *raw_answers)
{
    x->raw.answers = raw_answers ? raw_answers : no_answers;
    x->raw.fd = tcp_listen_loopback(&x->raw.port);
    if (x->raw.fd < 0 || pthread_create(&x->raw.th, NULL, raw_serve, &x->raw) != 0)
        return false;
    if (!mock_start(&x->one, "one", NULL))
        return false;
    if (!mock_start(&x->two, "two", NULL))
        return mock_stop_on_failure(false, &x->one, NULL);
    return mock_stop_on_failure(sluice_start(&x->s, conf, x->one.port, x->two.port, x->raw.port,
                                             sluice_plugin_dir()),
                                &x->one, &x->two, NULL);
}

static void teardown(struct setup *x)
{
    CHECK(sluice_and_mocks_stopped(&x->s, &x->one, &x->two, NULL));
    shutdown(x->raw.fd, SHUT_RDWR); /* ends a pending accept */
    pthread_join(x->raw.th, NULL);
    close(x->raw.fd);
}

static long post(struct setup *x, const char *path, const char *body, struct http_resp *r)
{
    struct http_req req = {.url = sluice_url(&x->s, path), .body = body, .headers = json_hdr,
                           .timeout_ms = 20000};
    return http_do(NULL, &req, r);
}

/* Posts body and checks the answer's status; the body is dropped. */
static void post_ok(struct setup *x, const char *path, const char *body, long want)
{
    struct http_resp r;
    CHECK_EQ_INT(post(x, path, body, &r), want);
    http_resp_free(&r);
}

/* The value of one sluice_tokens_total series, -1 when /metrics lacks it. */
static long long tokens(struct setup *x, const char *backend, const char *server, const char *model,
                        const char *type)
{
    struct http_resp r;
    if (http_get(sluice_admin_url(&x->s, "/metrics"), &r) != 200) {
        http_resp_free(&r);
        return -2;
    }
    char want[512];
    snprintf(want, sizeof want, "\nsluice_tokens_total{backend=\"%s\",server=\"%s\",model=\"%s\",type=\"%s\"} ",
             backend, server, model, type);
    const char *p = strstr(r.body, want);
    long long v = p ? strtoll(p + strlen(want), NULL, 10) : -1;
    http_resp_free(&r);
    return v;
}

#define CHECK_TOKENS(x, backend, server, model, prompt, completion)                     \
    do {                                                                                \
        CHECK_EQ_INT(tokens((x), backend, server, model, "prompt"), (prompt));          \
        CHECK_EQ_INT(tokens((x), backend, server, model, "completion"), (completion));  \
    } while (0)

/* The number of sluice_tokens_total series in /metrics. */
static int token_series(struct setup *x)
{
    struct http_resp r;
    int n = 0;
    if (http_get(sluice_admin_url(&x->s, "/metrics"), &r) == 200)
        for (const char *p = r.body; (p = strstr(p, "\nsluice_tokens_total{")) != NULL; p++)
            n++;
    http_resp_free(&r);
    return n;
}

/* 3 + (4 + ceil(2 / 4)) = 8 prompt tokens. */
#define HI "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"

static void openai_json_and_stream_with_include_usage(void)
{
    struct setup x;
    REQUIRE(setup(&x, NULL));
    post_ok(&x, "/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"max_tokens\":5," HI "}", 200);
    post_ok(&x, "/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"max_tokens\":3," HI "}", 200);
    CHECK_TOKENS(&x, "llm", "one", "gpt-4o-mini", 16, 8);
    /* streamed: the last chunk before [DONE] carries usage */
    post_ok(&x, "/v1/chat/completions",
            "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
            "\"max_tokens\":7," HI "}", 200);
    CHECK_TOKENS(&x, "llm", "one", "gpt-4o", 8, 7);
    /* without include_usage the stream carries no usage: nothing to count */
    post_ok(&x, "/v1/chat/completions", "{\"model\":\"gpt-no-usage\",\"stream\":true,\"max_tokens\":4," HI "}",
            200);
    CHECK_EQ_INT(tokens(&x, "llm", "one", "gpt-no-usage", "prompt"), -1);
    CHECK_EQ_INT(token_series(&x), 4);
    teardown(&x);
}

/* "hello world": 3 + (4 + ceil(11 / 4)) = 10 input tokens. */
#define HELLO "\"messages\":[{\"role\":\"user\",\"content\":\"hello world\"}]"

static void anthropic_json_and_stream(void)
{
    struct setup x;
    REQUIRE(setup(&x, NULL));
    post_ok(&x, "/v1/messages", "{\"model\":\"claude-3-5-haiku-latest\",\"max_tokens\":4," HELLO "}", 200);
    CHECK_TOKENS(&x, "llm", "one", "claude-3-5-haiku-latest", 10, 4);
    /* message_start: input_tokens 10, output_tokens 1; message_delta: output_tokens 6 */
    post_ok(&x, "/v1/messages", "{\"model\":\"claude-stream\",\"stream\":true,\"max_tokens\":6," HELLO "}", 200);
    CHECK_TOKENS(&x, "llm", "one", "claude-stream", 10, 6);
    CHECK_TOKENS(&x, "llm", "one", "claude-3-5-haiku-latest", 10, 4);
    teardown(&x);
}

static void servers_are_counted_apart_and_a_filter_changes_nothing(void)
{
    struct setup x;
    REQUIRE(setup(&x, NULL));
    post_ok(&x, "/two/chat/completions", "{\"model\":\"gpt-4o-mini\",\"max_tokens\":2," HI "}", 200);
    post_ok(&x, "/v1/chat/completions", "{\"model\":\"gpt-4o-mini\",\"max_tokens\":9," HI "}", 200);
    CHECK_TOKENS(&x, "second", "two", "gpt-4o-mini", 8, 2);
    CHECK_TOKENS(&x, "llm", "one", "gpt-4o-mini", 8, 9);
    /* the route with a filter (ratelimit reads the tokens too): counted once */
    post_ok(&x, "/f/chat/completions", "{\"model\":\"gpt-4o-mini\",\"max_tokens\":1," HI "}", 200);
    CHECK_TOKENS(&x, "llm", "one", "gpt-4o-mini", 16, 10);
    post_ok(&x, "/f/messages", "{\"model\":\"claude-f\",\"stream\":true,\"max_tokens\":2," HELLO "}", 200);
    CHECK_TOKENS(&x, "llm", "one", "claude-f", 10, 2);
    /* /stats: totals per server */
    struct http_resp r;
    REQUIRE(http_get(sluice_admin_url(&x.s, "/stats"), &r) == 200);
    const char *one = strstr(r.body, "\"name\":\"one\""), *two = strstr(r.body, "\"name\":\"two\"");
    REQUIRE(one != NULL && two != NULL);
    CHECK_STR_CONTAINS(strstr(one, "\"tokens\":"), "\"tokens\":{\"prompt\":26,\"completion\":12,\"total\":38}");
    CHECK_STR_CONTAINS(strstr(two, "\"tokens\":"), "\"tokens\":{\"prompt\":8,\"completion\":2,\"total\":10}");
    http_resp_free(&r);
    teardown(&x);
}

#define USAGE(model) \
    "{\"id\":\"x\"," model "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":50,\"total_tokens\":150}}"

/* A whole response for the raw upstream, malloc'd. */
static char *raw_answer(const char *status, const char *ctype, const char *extra, const char *body)
{
    char *s = malloc(1024);
    snprintf(s, 1024, "HTTP/1.1 %s\r\ncontent-type: %s\r\n%scontent-length: %zu\r\nconnection: close\r\n\r\n%s",
             status, ctype, extra, strlen(body), body);
    return s;
}

static void errors_encoded_and_untyped_bodies_count_nothing(void)
{
    /* Each carries usage the scan would read; only the fifth counts; the last is
     * a close without an answer (the gateway's own 502). */
    const char *json = "application/json";
    char *a[] = {
        raw_answer("500 Internal Server Error", json, "", USAGE("\"model\":\"m\",")),
        raw_answer("429 Too Many Requests", json, "", USAGE("\"model\":\"m\",")),
        raw_answer("200 OK", json, "content-encoding: gzip\r\n", USAGE("\"model\":\"m\",")),
        raw_answer("200 OK", "text/plain", "", USAGE("\"model\":\"m\",")),
        raw_answer("200 OK", json, "", USAGE("")),
        strdup(""),
        NULL,
    };
    struct setup x;
    REQUIRE(setup(&x, (const char *const *)a));
    static const long want[] = {500, 429, 200, 200, 200, 502};
    for (int i = 0; i < 6; i++) {
        struct http_resp r;
        CHECK_EQ_INT(http_get(sluice_url(&x.s, "/raw/x"), &r), want[i]);
        http_resp_free(&r);
        if (i == 3)
            CHECK_EQ_INT(token_series(&x), 0);
    }
    /* no model named: the "unknown" row, and nothing more after the 502 */
    CHECK_TOKENS(&x, "raw", "raw", "unknown", 100, 50);
    CHECK_EQ_INT(token_series(&x), 2);
    teardown(&x);
    for (int i = 0; a[i]; i++)
        free(a[i]);
}

TEST_MAIN(RUN(openai_json_and_stream_with_include_usage)
          RUN(anthropic_json_and_stream)
          RUN(servers_are_counted_apart_and_a_filter_changes_nothing)
          RUN(errors_encoded_and_untyped_bodies_count_nothing))
