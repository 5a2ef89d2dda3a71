/* test_mock.c - sluice-mock's provider endpoints and control API, driven with
 * libcurl against the real binary; every JSON shape is read with core/json. */
#include "harness.h"
#include "mock_fixture.h"

#include <math.h>
#include <stdlib.h>

#define NT 512

static const char *const json_hdr[] = {"Content-Type: application/json", NULL};

/* "system 1234" is 1 token, "abcdefgh" 2: prompt = 3 + (4 + 1) + (4 + 2) = 14. */
#define CHAT_MESSAGES \
    "\"messages\":[{\"role\":\"system\",\"content\":\"1234\"}," \
    "{\"role\":\"user\",\"content\":\"abcdefgh\"}]"
#define PROMPT_TOKENS 14
#define SEVEN_TOKENS "Hello The quick brown fox jumps over"

#define START(m, ...) REQUIRE(mock_start((m), __VA_ARGS__, NULL))
#define STOP(m) CHECK_EQ_INT(mock_stop(m), 0)

static long post(struct mock *m, const char *path, const char *json, struct http_resp *r)
{
    return http_post_json(mock_url(m, path), json, r);
}

static void models_list_carries_server_name(void)
{
    struct mock m;
    START(&m, "alpha");
    struct http_resp r;
    char v[128];
    CHECK_EQ_INT(http_get(mock_url(&m, "/v1/models"), &r), 200);
    CHECK_STR_EQ(http_header(&r, "content-type", v, sizeof v), "application/json");
    CHECK_STR_EQ(http_header(&r, "x-mock-server", v, sizeof v), "alpha");
    json_doc d;
    json_token t[NT];
    if (CHECK(json_load(&d, t, NT, r.body))) {
        CHECK(json_str_eq(&d, json_find(&d, 0, "object"), "list"));
        int data = json_find(&d, 0, "data");
        CHECK(json_type(&d, data) == JSON_ARRAY && d.tok[data].size >= 3);
        CHECK(json_str_eq(&d, json_find(&d, json_at(&d, data, 0), "object"), "model"));
        CHECK_EQ_INT(json_type(&d, json_find(&d, json_at(&d, data, 0), "id")), JSON_STRING);
    }
    http_resp_free(&r);
    STOP(&m);
}

static void chat_completion_has_openai_shape_and_usage(void)
{
    struct mock m;
    START(&m, "chat");
    const char *body = "{\"model\":\"gpt-4o-mini\"," CHAT_MESSAGES ",\"max_tokens\":7}";
    struct http_resp r;
    char v[64];
    json_doc d;
    json_token t[NT];
    for (int round = 0; round < 2; round++) { /* the estimate is deterministic */
        REQUIRE_EQ_INT(post(&m, "/v1/chat/completions", body, &r), 200);
        CHECK_STR_EQ(http_header(&r, "x-mock-server", v, sizeof v), "chat");
        REQUIRE(json_load(&d, t, NT, r.body));
        CHECK(json_str_eq(&d, json_find(&d, 0, "object"), "chat.completion"));
        CHECK(json_str_eq(&d, json_find(&d, 0, "model"), "gpt-4o-mini"));
        CHECK_EQ_INT(json_type(&d, json_find(&d, 0, "id")), JSON_STRING);
        CHECK_EQ_INT(json_type(&d, json_find(&d, 0, "created")), JSON_NUMBER);
        int choice = json_at(&d, json_find(&d, 0, "choices"), 0);
        int msg = json_find(&d, choice, "message");
        CHECK(json_str_eq(&d, json_find(&d, msg, "role"), "assistant"));
        CHECK(json_str_eq(&d, json_find(&d, msg, "content"), SEVEN_TOKENS));
        CHECK(json_str_eq(&d, json_find(&d, choice, "finish_reason"), "stop"));
        int usage = json_find(&d, 0, "usage");
        CHECK_EQ_INT(json_int(&d, usage, "prompt_tokens"), PROMPT_TOKENS);
        CHECK_EQ_INT(json_int(&d, usage, "completion_tokens"), 7);
        CHECK_EQ_INT(json_int(&d, usage, "total_tokens"), PROMPT_TOKENS + 7);
        http_resp_free(&r);
    }
    STOP(&m);
}

static void completion_length_defaults_to_tokens_flag(void)
{
    struct mock m;
    START(&m, "len", "--tokens", "5");
    struct http_resp r;
    json_doc d;
    json_token t[NT];
    REQUIRE_EQ_INT(post(&m, "/v1/chat/completions", "{" CHAT_MESSAGES "}", &r), 200);
    if (CHECK(json_load(&d, t, NT, r.body))) {
        CHECK_EQ_INT(json_int(&d, json_find(&d, 0, "usage"), "completion_tokens"), 5);
        CHECK(json_str_eq(&d, json_find(&d, 0, "model"), "mock-model"));
    }
    http_resp_free(&r);
    REQUIRE_EQ_INT(post(&m, "/v1/chat/completions",
                        "{" CHAT_MESSAGES ",\"max_completion_tokens\":3}", &r), 200);
    if (CHECK(json_load(&d, t, NT, r.body)))
        CHECK_EQ_INT(json_int(&d, json_find(&d, 0, "usage"), "completion_tokens"), 3);
    http_resp_free(&r);
    CHECK_EQ_INT(post(&m, "/v1/chat/completions", "{" CHAT_MESSAGES ",\"max_tokens\":0}",
                      &r), 400);
    http_resp_free(&r);
    STOP(&m);
}

/* Fetch a stream and split it into events. */
static long fetch_stream(struct mock *m, const char *path, const char *body,
                         struct http_resp *r, struct sse_list *ev)
{
    struct http_req req = {.url = mock_url(m, path), .body = body, .headers = json_hdr};
    long status = http_do(NULL, &req, r);
    sse_parse(r->body, r->body_len, ev);
    return status;
}

static void chat_stream_sends_role_tokens_finish_usage_done(void)
{
    struct mock m;
    START(&m, "stream");
    struct http_resp r;
    struct sse_list ev;
    char v[64], text[256] = "";
    REQUIRE_EQ_INT(fetch_stream(&m, "/v1/chat/completions",
                                "{\"model\":\"m1\",\"stream\":true,\"max_tokens\":7,"
                                "\"stream_options\":{\"include_usage\":true}," CHAT_MESSAGES "}",
                                &r, &ev), 200);
    CHECK_STR_EQ(http_header(&r, "content-type", v, sizeof v), "text/event-stream");
    CHECK_STR_EQ(http_header(&r, "transfer-encoding", v, sizeof v), "chunked");
    CHECK_STR_EQ(http_header(&r, "x-mock-server", v, sizeof v), "stream");
    REQUIRE_EQ_INT(ev.n, 1 + 7 + 1 + 1 + 1);
    json_doc d;
    json_token t[NT];
    for (size_t i = 0; i + 1 < ev.n; i++) {
        if (!CHECK(json_load(&d, t, NT, ev.ev[i].data)))
            continue;
        CHECK(json_str_eq(&d, json_find(&d, 0, "object"), "chat.completion.chunk"));
        CHECK(json_str_eq(&d, json_find(&d, 0, "model"), "m1"));
        int choices = json_find(&d, 0, "choices");
        int delta = json_find(&d, json_at(&d, choices, 0), "delta");
        int finish = json_find(&d, json_at(&d, choices, 0), "finish_reason");
        int usage = json_find(&d, 0, "usage");
        if (i == 0) {
            CHECK(json_str_eq(&d, json_find(&d, delta, "role"), "assistant"));
        } else if (i <= 7) {
            char piece[64];
            CHECK_EQ_INT(json_str_decode(&d, json_find(&d, delta, "content"), piece,
                                         sizeof piece, NULL), JSON_OK);
            strncat(text, piece, sizeof text - strlen(text) - 1);
            CHECK_EQ_INT(json_type(&d, finish), JSON_NULL);
            CHECK_EQ_INT(json_type(&d, usage), JSON_NULL);
        } else if (i == 8) {
            CHECK(json_str_eq(&d, finish, "stop"));
        } else {
            CHECK_EQ_INT(d.tok[choices].size, 0);
            CHECK_EQ_INT(json_int(&d, usage, "prompt_tokens"), PROMPT_TOKENS);
            CHECK_EQ_INT(json_int(&d, usage, "completion_tokens"), 7);
            CHECK_EQ_INT(json_int(&d, usage, "total_tokens"), PROMPT_TOKENS + 7);
        }
    }
    CHECK_STR_EQ(text, SEVEN_TOKENS); /* the same text as without streaming */
    CHECK_STR_EQ(ev.ev[ev.n - 1].data, "[DONE]");
    sse_free(&ev);
    http_resp_free(&r);
    STOP(&m);
}

static void chat_stream_without_include_usage_has_no_usage_chunk(void)
{
    struct mock m;
    START(&m, "stream2");
    struct http_resp r;
    struct sse_list ev;
    REQUIRE_EQ_INT(fetch_stream(&m, "/v1/chat/completions",
                                "{\"stream\":true,\"max_tokens\":3," CHAT_MESSAGES "}",
                                &r, &ev), 200);
    CHECK_EQ_INT(ev.n, 1 + 3 + 1 + 1);
    for (size_t i = 0; i < ev.n; i++)
        CHECK(strstr(ev.ev[i].data, "\"usage\"") == NULL);
    sse_free(&ev);
    http_resp_free(&r);
    STOP(&m);
}

static void anthropic_message_has_its_shape_and_usage(void)
{
    struct mock m;
    START(&m, "claude");
    struct http_resp r;
    json_doc d;
    json_token t[NT];
    REQUIRE_EQ_INT(post(&m, "/v1/messages",
                        "{\"model\":\"claude-x\",\"max_tokens\":7,\"system\":\"1234\","
                        "\"messages\":[{\"role\":\"user\",\"content\":"
                        "[{\"type\":\"text\",\"text\":\"abcdefgh\"}]}]}", &r), 200);
    REQUIRE(json_load(&d, t, NT, r.body));
    CHECK(json_str_eq(&d, json_find(&d, 0, "type"), "message"));
    CHECK(json_str_eq(&d, json_find(&d, 0, "role"), "assistant"));
    CHECK(json_str_eq(&d, json_find(&d, 0, "model"), "claude-x"));
    int block = json_at(&d, json_find(&d, 0, "content"), 0);
    CHECK(json_str_eq(&d, json_find(&d, block, "type"), "text"));
    CHECK(json_str_eq(&d, json_find(&d, block, "text"), SEVEN_TOKENS));
    CHECK(json_str_eq(&d, json_find(&d, 0, "stop_reason"), "end_turn"));
    CHECK_EQ_INT(json_type(&d, json_find(&d, 0, "stop_sequence")), JSON_NULL);
    int usage = json_find(&d, 0, "usage");
    CHECK_EQ_INT(json_int(&d, usage, "input_tokens"), PROMPT_TOKENS);
    CHECK_EQ_INT(json_int(&d, usage, "output_tokens"), 7);
    http_resp_free(&r);
    STOP(&m);
}

static void anthropic_stream_follows_the_documented_event_sequence(void)
{
    static const char *const want[] = {
        "message_start", "content_block_start", "ping", "content_block_delta",
        "content_block_delta", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop"};
    struct mock m;
    START(&m, "claude2");
    struct http_resp r;
    struct sse_list ev;
    json_doc d;
    json_token t[NT];
    char text[128] = "";
    REQUIRE_EQ_INT(fetch_stream(&m, "/v1/messages",
                                "{\"model\":\"c\",\"max_tokens\":3,\"stream\":true,"
                                "\"system\":\"1234\",\"messages\":[{\"role\":\"user\","
                                "\"content\":\"abcdefgh\"}]}", &r, &ev), 200);
    REQUIRE_EQ_INT(ev.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < ev.n; i++) {
        CHECK_STR_EQ(ev.ev[i].event, want[i]);
        if (!CHECK(json_load(&d, t, NT, ev.ev[i].data)))
            continue;
        CHECK(json_str_eq(&d, json_find(&d, 0, "type"), want[i]));
        if (i == 0) {
            int msg = json_find(&d, 0, "message");
            int usage = json_find(&d, msg, "usage");
            CHECK_EQ_INT(json_int(&d, usage, "input_tokens"), PROMPT_TOKENS);
            CHECK_EQ_INT(json_int(&d, usage, "output_tokens"), 1);
            CHECK(json_str_eq(&d, json_find(&d, msg, "model"), "c"));
        } else if (i >= 3 && i <= 5) {
            int delta = json_find(&d, 0, "delta");
            char piece[64];
            CHECK(json_str_eq(&d, json_find(&d, delta, "type"), "text_delta"));
            json_str_decode(&d, json_find(&d, delta, "text"), piece, sizeof piece, NULL);
            strncat(text, piece, sizeof text - strlen(text) - 1);
        } else if (i == 7) {
            int delta = json_find(&d, 0, "delta");
            CHECK(json_str_eq(&d, json_find(&d, delta, "stop_reason"), "end_turn"));
            CHECK_EQ_INT(json_int(&d, json_find(&d, 0, "usage"), "output_tokens"), 3);
        }
    }
    CHECK_STR_EQ(text, "Hello The quick");
    sse_free(&ev);
    http_resp_free(&r);
    STOP(&m);
}

static double vec_norm(const json_doc *d, int arr, uint32_t *n)
{
    double sum = 0, x;
    json_iter it = json_iter_begin(d, arr);
    int e;
    *n = 0;
    while (json_array_next(&it, &e))
        if (json_get_double(d, e, &x) == JSON_OK) {
            sum += x * x;
            (*n)++;
        }
    return sqrt(sum);
}

static void embeddings_keep_input_order_and_are_deterministic(void)
{
    struct mock m;
    START(&m, "emb", "--dim", "12");
    struct http_resp r;
    json_doc d;
    json_token t[NT];
    REQUIRE_EQ_INT(post(&m, "/v1/embeddings",
                        "{\"model\":\"text-embedding-3-small\","
                        "\"input\":[\"first text\",\"second\",\"first text\"]}", &r), 200);
    REQUIRE(json_load(&d, t, NT, r.body));
    CHECK(json_str_eq(&d, json_find(&d, 0, "model"), "text-embedding-3-small"));
    CHECK(json_str_eq(&d, json_find(&d, 0, "object"), "list"));
    int data = json_find(&d, 0, "data");
    REQUIRE_EQ_INT(d.tok[data].size, 3);
    size_t vlen[3];
    const char *vraw[3];
    for (uint32_t i = 0; i < 3; i++) {
        int item = json_at(&d, data, i);
        CHECK(json_str_eq(&d, json_find(&d, item, "object"), "embedding"));
        CHECK_EQ_INT(json_int(&d, item, "index"), i);
        uint32_t n;
        int vec = json_find(&d, item, "embedding");
        CHECK(fabs(vec_norm(&d, vec, &n) - 1.0) < 1e-6);
        CHECK_EQ_INT(n, 12);
        vraw[i] = json_raw(&d, vec, &vlen[i]);
    }
    CHECK(vlen[0] == vlen[2] && memcmp(vraw[0], vraw[2], vlen[0]) == 0);
    CHECK(vlen[0] != vlen[1] || memcmp(vraw[0], vraw[1], vlen[0]) != 0);
    int usage = json_find(&d, 0, "usage");
    CHECK_EQ_INT(json_int(&d, usage, "prompt_tokens"), 3 + 2 + 3);
    CHECK_EQ_INT(json_int(&d, usage, "total_tokens"), 3 + 2 + 3);
    http_resp_free(&r);

    /* a single string, token arrays, and base64 output (the SDK's default) */
    REQUIRE_EQ_INT(post(&m, "/v1/embeddings", "{\"input\":\"one\"}", &r), 200);
    if (CHECK(json_load(&d, t, NT, r.body)))
        CHECK_EQ_INT(d.tok[json_find(&d, 0, "data")].size, 1);
    http_resp_free(&r);
    REQUIRE_EQ_INT(post(&m, "/v1/embeddings", "{\"input\":[[1,2,3],[4,5]]}", &r), 200);
    if (CHECK(json_load(&d, t, NT, r.body))) {
        CHECK_EQ_INT(d.tok[json_find(&d, 0, "data")].size, 2);
        CHECK_EQ_INT(json_int(&d, json_find(&d, 0, "usage"), "prompt_tokens"), 5);
    }
    http_resp_free(&r);
    REQUIRE_EQ_INT(post(&m, "/v1/embeddings",
                        "{\"input\":\"x\",\"encoding_format\":\"base64\"}", &r), 200);
    if (CHECK(json_load(&d, t, NT, r.body))) {
        int vec = json_find(&d, json_at(&d, json_find(&d, 0, "data"), 0), "embedding");
        CHECK_EQ_INT(json_str_len(&d, vec), (12 * 4 + 2) / 3 * 4);
    }
    http_resp_free(&r);
    CHECK_EQ_INT(post(&m, "/v1/embeddings", "{\"input\":[]}", &r), 400);
    http_resp_free(&r);
    CHECK_EQ_INT(post(&m, "/v1/embeddings", "{\"input\":[{}]}", &r), 400);
    http_resp_free(&r);
    STOP(&m);
}

static void bad_requests_get_each_providers_error_shape(void)
{
    struct mock m;
    START(&m, "err");
    struct http_resp r;
    json_doc d;
    json_token t[NT];
    CHECK_EQ_INT(post(&m, "/v1/chat/completions", "{\"messages\": [", &r), 400);
    if (CHECK(json_load(&d, t, NT, r.body))) {
        int err = json_find(&d, 0, "error");
        CHECK(json_str_eq(&d, json_find(&d, err, "type"), "invalid_request_error"));
        CHECK_EQ_INT(json_type(&d, json_find(&d, err, "message")), JSON_STRING);
        CHECK_EQ_INT(json_type(&d, json_find(&d, err, "code")), JSON_STRING);
    }
    http_resp_free(&r);
    CHECK_EQ_INT(post(&m, "/v1/messages", "[1,2]", &r), 400);
    if (CHECK(json_load(&d, t, NT, r.body))) {
        CHECK(json_str_eq(&d, json_find(&d, 0, "type"), "error"));
        int err = json_find(&d, 0, "error");
        CHECK(json_str_eq(&d, json_find(&d, err, "type"), "invalid_request_error"));
        CHECK_EQ_INT(json_type(&d, json_find(&d, err, "message")), JSON_STRING);
    }
    http_resp_free(&r);
    CHECK_EQ_INT(post(&m, "/v1/embeddings", "", &r), 400);
    http_resp_free(&r);
    CHECK_EQ_INT(http_get(mock_url(&m, "/v2/nothing"), &r), 404);
    CHECK(json_load(&d, t, NT, r.body) && json_find(&d, 0, "error") > 0);
    http_resp_free(&r);
    CHECK_EQ_INT(http_get(mock_url(&m, "/v1/chat/completions"), &r), 405);
    http_resp_free(&r);
    CHECK_EQ_INT(http_get(mock_url(&m, "/mock/nothing"), &r), 404);
    http_resp_free(&r);
    STOP(&m);
}

static void stats_count_requests_over_one_keepalive_connection(void)
{
    struct mock m;
    START(&m, "stats");
    http_client *c = http_client_new();
    REQUIRE(c);
    struct http_resp r;
    json_doc d;
    json_token t[NT];
    for (int i = 0; i < 5; i++) {
        struct http_req req = {.url = mock_url(&m, "/v1/models")};
        CHECK_EQ_INT(http_do(c, &req, &r), 200);
        http_resp_free(&r);
    }
    char stats_url[128], reset_url[128]; /* mock_url() reuses one buffer */
    snprintf(stats_url, sizeof stats_url, "%s", mock_url(&m, "/mock/stats"));
    snprintf(reset_url, sizeof reset_url, "%s", mock_url(&m, "/mock/reset"));
    struct http_req stats = {.url = stats_url};
    CHECK_EQ_INT(http_do(c, &stats, &r), 200);
    if (CHECK(json_load(&d, t, NT, r.body))) {
        CHECK(json_str_eq(&d, json_find(&d, 0, "name"), "stats"));
        CHECK_EQ_INT(json_int(&d, 0, "requests"), 5); /* control requests not counted */
        CHECK_EQ_INT(json_int(&d, 0, "connections_accepted"), 1);
        CHECK_EQ_INT(json_int(&d, 0, "connections_open"), 1);
        CHECK_EQ_INT(json_int(&d, 0, "streams_aborted"), 0);
    }
    http_resp_free(&r);
    struct http_req reset = {.url = reset_url, .method = "POST", .body = ""};
    CHECK_EQ_INT(http_do(c, &reset, &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(http_do(c, &stats, &r), 200);
    if (CHECK(json_load(&d, t, NT, r.body))) {
        CHECK_EQ_INT(json_int(&d, 0, "requests"), 0);
        CHECK_EQ_INT(json_int(&d, 0, "connections_accepted"), 0);
        CHECK_EQ_INT(json_int(&d, 0, "connections_open"), 1); /* a gauge: still open */
    }
    http_resp_free(&r);
    http_client_free(c);
    STOP(&m);
}

static void config_switches_failures_at_run_time(void)
{
    struct mock m;
    START(&m, "cfg");
    struct http_resp r;
    json_doc d;
    json_token t[NT];
    const char *chat = "{" CHAT_MESSAGES "}";
    CHECK_EQ_INT(post(&m, "/v1/chat/completions", chat, &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(post(&m, "/mock/config", "{\"status\":503}", &r), 200);
    if (CHECK(json_load(&d, t, NT, r.body))) {
        CHECK_EQ_INT(json_int(&d, 0, "status"), 503);
        CHECK_EQ_INT(json_int(&d, 0, "tokens"), 16); /* the whole config comes back */
        double rate = 0;
        CHECK(json_get_double(&d, json_find(&d, 0, "fail_rate"), &rate) == JSON_OK &&
              rate == 1.0);
    }
    http_resp_free(&r);
    CHECK_EQ_INT(post(&m, "/v1/chat/completions", chat, &r), 503);
    if (CHECK(json_load(&d, t, NT, r.body)))
        CHECK(json_str_eq(&d, json_find(&d, json_find(&d, 0, "error"), "type"),
                          "server_error"));
    http_resp_free(&r);
    CHECK_EQ_INT(post(&m, "/v1/messages", chat, &r), 503);
    if (CHECK(json_load(&d, t, NT, r.body)))
        CHECK(json_str_eq(&d, json_find(&d, json_find(&d, 0, "error"), "type"),
                          "overloaded_error"));
    http_resp_free(&r);
    CHECK_EQ_INT(http_get(mock_url(&m, "/v1/models"), &r), 503); /* health checks see it */
    http_resp_free(&r);
    CHECK_EQ_INT(http_get(mock_url(&m, "/mock/stats"), &r), 200); /* control never fails */
    http_resp_free(&r);
    CHECK_EQ_INT(post(&m, "/mock/config", "{\"status\":0}", &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(post(&m, "/v1/chat/completions", chat, &r), 200);
    http_resp_free(&r);
    /* invalid updates change nothing */
    CHECK_EQ_INT(post(&m, "/mock/config", "{\"status\":", &r), 400);
    http_resp_free(&r);
    CHECK_EQ_INT(post(&m, "/mock/config", "{\"tokens\":4,\"colour\":1}", &r), 400);
    http_resp_free(&r);
    CHECK_EQ_INT(post(&m, "/mock/config", "{\"fail_rate\":2}", &r), 400);
    http_resp_free(&r);
    CHECK_EQ_INT(http_get(mock_url(&m, "/mock/config"), &r), 200);
    if (CHECK(json_load(&d, t, NT, r.body)))
        CHECK_EQ_INT(json_int(&d, 0, "tokens"), 16);
    http_resp_free(&r);
    STOP(&m);
}

static void fail_status_429_sends_retry_after(void)
{
    struct mock m;
    START(&m, "limited", "--fail-status", "429", "--retry-after", "7");
    struct http_resp r;
    json_doc d;
    json_token t[NT];
    char v[32];
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(post(&m, "/v1/chat/completions", "{" CHAT_MESSAGES "}", &r), 429);
        CHECK_STR_EQ(http_header(&r, "retry-after", v, sizeof v), "7");
        CHECK_STR_EQ(http_header(&r, "x-mock-server", v, sizeof v), "limited");
        if (CHECK(json_load(&d, t, NT, r.body)))
            CHECK(json_str_eq(&d, json_find(&d, json_find(&d, 0, "error"), "code"),
                              "rate_limit_exceeded"));
        http_resp_free(&r);
    }
    STOP(&m);
}

static void fail_rate_splits_requests(void)
{
    struct mock m;
    START(&m, "flaky", "--fail-status", "500", "--fail-rate", "0.5", "--seed", "42");
    struct http_resp r;
    int ok = 0, failed = 0;
    for (int i = 0; i < 100; i++) {
        long s = http_get(mock_url(&m, "/v1/models"), &r);
        ok += s == 200;
        failed += s == 500;
        http_resp_free(&r);
    }
    CHECK_EQ_INT(ok + failed, 100);
    CHECK(ok > 20 && failed > 20);
    STOP(&m);
    START(&m, "steady", "--fail-status", "500", "--fail-rate", "0");
    for (int i = 0; i < 20; i++) {
        CHECK_EQ_INT(http_get(mock_url(&m, "/v1/models"), &r), 200);
        http_resp_free(&r);
    }
    STOP(&m);
}

static void latency_delays_provider_responses_only(void)
{
    struct mock m;
    START(&m, "slow", "--latency", "400ms");
    struct http_resp r;
    CHECK_EQ_INT(post(&m, "/v1/chat/completions", "{" CHAT_MESSAGES "}", &r), 200);
    CHECK(r.ttfb_ms >= 400.0);
    CHECK(r.total_ms < 5000.0);
    http_resp_free(&r);
    CHECK_EQ_INT(http_get(mock_url(&m, "/mock/stats"), &r), 200);
    CHECK(r.total_ms < 350.0); /* far below the latency: control is never delayed */
    http_resp_free(&r);
    CHECK_EQ_INT(post(&m, "/mock/config", "{\"latency_ms\":0}", &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(http_get(mock_url(&m, "/v1/models"), &r), 200);
    CHECK(r.total_ms < 350.0);
    http_resp_free(&r);
    STOP(&m);
}

TEST_MAIN(
    RUN(models_list_carries_server_name)
    RUN(chat_completion_has_openai_shape_and_usage)
    RUN(completion_length_defaults_to_tokens_flag)
    RUN(chat_stream_sends_role_tokens_finish_usage_done)
    RUN(chat_stream_without_include_usage_has_no_usage_chunk)
    RUN(anthropic_message_has_its_shape_and_usage)
    RUN(anthropic_stream_follows_the_documented_event_sequence)
    RUN(embeddings_keep_input_order_and_are_deterministic)
    RUN(bad_requests_get_each_providers_error_shape)
    RUN(stats_count_requests_over_one_keepalive_connection)
    RUN(config_switches_failures_at_run_time)
    RUN(fail_status_429_sends_retry_after)
    RUN(fail_rate_splits_requests)
    RUN(latency_delays_provider_responses_only)
)
