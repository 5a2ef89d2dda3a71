/* test_usage.c - core/proxy/usage: token usage from JSON and SSE bodies fed in any
 * chunking. Bodies marked "mock" are byte for byte what sluice-mock sends. */
#include "harness.h"
#include "proxy/usage.h"

#include <stdbool.h>
#include <stdlib.h>

/* ---- helpers ---- */

static uint32_t rng_state;

static uint32_t rnd(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static struct usage_scan scan; /* static: 5 KiB, and reused by every run */

/* Feeds body in pieces of 1..max bytes (max 0: whole), seeded. */
static bool run(enum usage_format f, const char *body, size_t n, size_t max, uint32_t seed,
                struct usage *u)
{
    rng_state = seed ? seed : 1;
    usage_scan_init(&scan, f);
    size_t i = 0;
    while (i < n) {
        size_t k = max ? 1 + rnd() % max : n;
        if (k > n - i)
            k = n - i;
        usage_scan_feed(&scan, body + i, k);
        i += k;
    }
    return usage_scan_end(&scan, u);
}

/* Every chunking must give the expected counts and model. */
static void expect_n(const char *label, enum usage_format f, const char *body, size_t n,
                     int64_t prompt, int64_t completion, int64_t total, const char *model)
{
    static const size_t maxes[] = {0, 1, 2, 3, 7, 64, 1000, 5000, 70000};
    for (size_t m = 0; m < sizeof maxes / sizeof maxes[0]; m++) {
        for (uint32_t seed = 1; seed <= (maxes[m] <= 1 ? 1u : 6u); seed++) {
            struct usage u;
            bool any = run(f, body, n, maxes[m], seed * 2654435761u, &u);
            bool ok = u.prompt == prompt && u.completion == completion && u.total == total &&
                      strcmp(u.model, model) == 0 &&
                      any == (prompt >= 0 || completion >= 0 || total >= 0);
            if (!CHECK_MSG_(ok, "%s (chunks <= %zu, seed %u): got %lld/%lld/%lld '%s', "
                                "want %lld/%lld/%lld '%s'",
                            label, maxes[m], seed, (long long)u.prompt,
                            (long long)u.completion, (long long)u.total, u.model,
                            (long long)prompt, (long long)completion, (long long)total,
                            model))
                return;
        }
    }
}

static void expect(const char *label, enum usage_format f, const char *body, int64_t prompt,
                   int64_t completion, int64_t total, const char *model)
{
    expect_n(label, f, body, strlen(body), prompt, completion, total, model);
}

/* A growable string for building large bodies. */
struct sb {
    char *p;
    size_t len, cap;
};

static void sb_add(struct sb *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(struct sb *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_repeat(struct sb *b, const char *s, size_t times)
{
    for (size_t i = 0; i < times; i++)
        sb_str(b, s);
}

/* ---- bodies ---- */

static const char mock_chat[] =
    "{\"id\":\"chatcmpl-9379941bbb66585e\",\"object\":\"chat.completion\",\"created\":"
    "1795436087,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_mock\",\"choices\":"
    "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello The quick brown "
    "fox\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":"
    "{\"prompt_tokens\":9,\"completion_tokens\":5,\"total_tokens\":14}}";

#define MOCK_CHUNK(delta, finish, usage)                                                \
    "data: {\"id\":\"chatcmpl-31201ed03ab8dc61\",\"object\":\"chat.completion.chunk\","  \
    "\"created\":1795436087,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_mock\"," \
    "\"choices\":[{\"index\":0,\"delta\":" delta ",\"logprobs\":null,\"finish_reason\":"  \
    finish "}]" usage "}\n\n"

static const char mock_chat_stream[] =
    MOCK_CHUNK("{\"role\":\"assistant\",\"content\":\"\"}", "null", ",\"usage\":null")
    MOCK_CHUNK("{\"content\":\"Hello\"}", "null", ",\"usage\":null")
    MOCK_CHUNK("{\"content\":\" The\"}", "null", ",\"usage\":null")
    MOCK_CHUNK("{\"content\":\" quick\"}", "null", ",\"usage\":null")
    MOCK_CHUNK("{}", "\"stop\"", ",\"usage\":null")
    "data: {\"id\":\"chatcmpl-31201ed03ab8dc61\",\"object\":\"chat.completion.chunk\","
    "\"created\":1795436087,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_mock\","
    "\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,"
    "\"total_tokens\":12}}\n\n"
    "data: [DONE]\n\n";

static const char mock_chat_stream_no_usage[] =
    MOCK_CHUNK("{\"role\":\"assistant\",\"content\":\"\"}", "null", "")
    MOCK_CHUNK("{\"content\":\"Hello\"}", "null", "")
    MOCK_CHUNK("{}", "\"stop\"", "")
    "data: [DONE]\n\n";

static const char mock_embeddings[] =
    "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":"
    "[0.99566459,0.093016256]}],\"model\":\"text-embedding-3-small\",\"usage\":"
    "{\"prompt_tokens\":3,\"total_tokens\":3}}";

static const char mock_messages[] =
    "{\"id\":\"msg_mockd7e8808eb9f35074\",\"type\":\"message\",\"role\":\"assistant\","
    "\"model\":\"claude-3-5-haiku-latest\",\"content\":[{\"type\":\"text\",\"text\":"
    "\"Hello The quick\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":"
    "{\"input_tokens\":9,\"output_tokens\":3}}";

#define ANT_EVENT(name, data) "event: " name "\ndata: " data "\n\n"
#define ANT_DELTA(text)                                                                 \
    ANT_EVENT("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,"    \
                                     "\"delta\":{\"type\":\"text_delta\",\"text\":\"" text \
                                     "\"}}")

static const char mock_messages_stream[] =
    ANT_EVENT("message_start",
              "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_mock75930b473905d41f\","
              "\"type\":\"message\",\"role\":\"assistant\",\"model\":"
              "\"claude-3-5-haiku-latest\",\"content\":[],\"stop_reason\":null,"
              "\"stop_sequence\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}")
    ANT_EVENT("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,"
                                     "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
    ANT_EVENT("ping", "{\"type\":\"ping\"}")
    ANT_DELTA("Hello") ANT_DELTA(" The") ANT_DELTA(" quick")
    ANT_EVENT("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
    ANT_EVENT("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
                               "\"end_turn\",\"stop_sequence\":null},\"usage\":"
                               "{\"output_tokens\":3}}")
    ANT_EVENT("message_stop", "{\"type\":\"message_stop\"}");

/* Shapes from the providers' API references. */
static const char openai_pretty[] =
    "{\n  \"id\": \"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\n"
    "  \"object\": \"chat.completion\",\n  \"created\": 1741570283,\n"
    "  \"model\": \"gpt-4o-2024-08-06\",\n  \"choices\": [\n    {\n      \"index\": 0,\n"
    "      \"message\": {\n        \"role\": \"assistant\",\n"
    "        \"content\": \"The image shows a {wooden} boardwalk \\\"usage\\\": {}\",\n"
    "        \"refusal\": null,\n        \"annotations\": []\n      },\n"
    "      \"logprobs\": null,\n      \"finish_reason\": \"stop\"\n    }\n  ],\n"
    "  \"usage\": {\n    \"prompt_tokens\": 1117,\n    \"completion_tokens\": 46,\n"
    "    \"total_tokens\": 1163,\n    \"prompt_tokens_details\": {\n"
    "      \"cached_tokens\": 0,\n      \"audio_tokens\": 0\n    },\n"
    "    \"completion_tokens_details\": {\n      \"reasoning_tokens\": 0,\n"
    "      \"audio_tokens\": 0,\n      \"accepted_prediction_tokens\": 0,\n"
    "      \"rejected_prediction_tokens\": 0\n    }\n  },\n"
    "  \"service_tier\": \"default\",\n  \"system_fingerprint\": \"fp_fc9f1d7035\"\n}\n";

static const char anthropic_cache[] =
    "{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\","
    "\"content\":[{\"type\":\"text\",\"text\":\"Hi! My name is Claude.\"}],"
    "\"model\":\"claude-sonnet-4-20250514\",\"stop_reason\":\"end_turn\","
    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,"
    "\"cache_creation_input_tokens\":20,\"cache_read_input_tokens\":30,"
    "\"cache_creation\":{\"ephemeral_5m_input_tokens\":20,\"ephemeral_1h_input_tokens\":0},"
    "\"output_tokens\":5,\"service_tier\":\"standard\"}}";

/* Newer Anthropic streams: cache counts, input counts repeated in message_delta; CRLF. */
static const char anthropic_stream_new[] =
    "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\","
    "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":"
    "\"claude-opus-4-1\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":"
    "{\"input_tokens\":25,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,"
    "\"output_tokens\":1,\"service_tier\":\"standard\"}}}\r\n\r\n"
    "event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n"
    "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
    "\"delta\":{\"type\":\"text_delta\",\"text\":\"usage\\\":{\\\"output_tokens\\\":7}\"}}"
    "\r\n\r\n"
    "event: message_delta\r\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
    "\"end_turn\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":26,"
    "\"cache_creation_input_tokens\":4,\"cache_read_input_tokens\":null,"
    "\"output_tokens\":15,\"server_tool_use\":{\"web_search_requests\":0}}}\r\n\r\n"
    "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";

/* OpenAI Responses API stream: usage inside the final event's "response". */
static const char responses_stream[] =
    "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,"
    "\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"in_progress\","
    "\"model\":\"gpt-4.1-2025-04-14\",\"output\":[],\"usage\":null}}\n\n"
    "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
    "\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}\n\n"
    "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":"
    "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"model\":"
    "\"gpt-4.1-2025-04-14\",\"output\":[{\"type\":\"message\",\"content\":[{\"type\":"
    "\"output_text\",\"text\":\"Hi\"}]}],\"usage\":{\"input_tokens\":36,"
    "\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":87,"
    "\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":123}}}\n\n";

/* ---- tests ---- */

static void content_types(void)
{
    static const struct {
        const char *ct;
        enum usage_format f;
    } cases[] = {
        {"application/json", USAGE_JSON},
        {"Application/JSON; charset=utf-8", USAGE_JSON},
        {"  application/json ;charset=UTF-8", USAGE_JSON},
        {"application/vnd.api+json", USAGE_JSON},
        {"application/problem+JSON", USAGE_JSON},
        {"text/event-stream", USAGE_SSE},
        {"TEXT/Event-Stream;charset=utf-8", USAGE_SSE},
        {"text/event-stream; charset=utf-8", USAGE_SSE},
        {"text/plain", USAGE_NONE},
        {"text/html; charset=utf-8", USAGE_NONE},
        {"application/jsonx", USAGE_NONE},
        {"application/json-seq", USAGE_NONE},
        {"application/x-ndjson", USAGE_NONE},
        {"application/+json", USAGE_NONE},
        {"application/a/b+json", USAGE_NONE},
        {"text/+json", USAGE_NONE},
        {"text/event-streams", USAGE_NONE},
        {"json", USAGE_NONE},
        {"", USAGE_NONE},
        {";", USAGE_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum usage_format f = usage_format_of(cases[i].ct, strlen(cases[i].ct));
        CHECK_MSG_(f == cases[i].f, "'%s': %d, want %d", cases[i].ct, f, cases[i].f);
    }
    CHECK_EQ_INT(usage_format_of(NULL, 0), USAGE_NONE);
    /* Only len bytes count. */
    CHECK_EQ_INT(usage_format_of("application/jsonXYZ", 16), USAGE_JSON);
    CHECK_EQ_INT(usage_format_of("text/event-stream", 10), USAGE_NONE);
}

static void openai_json(void)
{
    expect("mock chat", USAGE_JSON, mock_chat, 9, 5, 14, "gpt-4o-mini");
    expect("pretty chat", USAGE_JSON, openai_pretty, 1117, 46, 1163, "gpt-4o-2024-08-06");
    expect("mock embeddings", USAGE_JSON, mock_embeddings, 3, -1, 3,
           "text-embedding-3-small");
    expect("only two counts", USAGE_JSON,
           "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":6}}", 4, 6,
           10, "m");
    expect("error body", USAGE_JSON,
           "{\"error\":{\"message\":\"Rate limit\",\"type\":\"rate_limit\",\"code\":null}}",
           -1, -1, -1, "");
    expect("usage null", USAGE_JSON, "{\"model\":\"m\",\"usage\":null}", -1, -1, -1, "m");
}

static void openai_stream(void)
{
    expect("mock stream", USAGE_SSE, mock_chat_stream, 9, 3, 12, "gpt-4o-mini");
    expect("mock stream without include_usage", USAGE_SSE, mock_chat_stream_no_usage, -1,
           -1, -1, "gpt-4o-mini");
    expect("done only", USAGE_SSE, "data: [DONE]\n\n", -1, -1, -1, "");
    expect("responses api", USAGE_SSE, responses_stream, 36, 87, 123, "gpt-4.1-2025-04-14");
}

static void anthropic(void)
{
    expect("mock messages", USAGE_JSON, mock_messages, 9, 3, 12, "claude-3-5-haiku-latest");
    expect("cache counts", USAGE_JSON, anthropic_cache, 60, 5, 65, "claude-sonnet-4-20250514");
    expect("mock stream", USAGE_SSE, mock_messages_stream, 9, 3, 12,
           "claude-3-5-haiku-latest");
    /* message_delta's input 26 + cache 4 (+ message_start's cache_read 0; null ignored). */
    expect("new stream", USAGE_SSE, anthropic_stream_new, 30, 15, 45, "claude-opus-4-1");
}

/* LF, CRLF and CR line endings; data without the space; comments; multi-line data;
 * no blank line at the end; fields that merely start like "data". */
static void sse_framing(void)
{
    const char *u = "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}";
    static const char *const shapes[][2] = {
        {"data: ", "\n\n"}, {"data: ", "\r\n\r\n"}, {"data: ", "\r\r"}, {"data:", "\n\n"},
        {"data: ", ""}, {": keep-alive\n\nevent: x\nid: 3\nretry: 10\ndata: ", "\n\n"},
        {"datum: {\"usage\":{\"prompt_tokens\":9}}\ndata: ", "\n\n"},
        {"data\ndata: ", "\n\n"},
    };
    char buf[512];
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        snprintf(buf, sizeof buf, "%s%s%s", shapes[i][0], u, shapes[i][1]);
        expect(shapes[i][0], USAGE_SSE, buf, 1, 2, 3, "m");
    }
    expect("multi-line data", USAGE_SSE,
           "data: {\"model\":\"m\",\ndata: \"usage\":{\"prompt_tokens\":1,\n"
           "data: \"completion_tokens\":2}}\n\n",
           1, 2, 3, "m");
    /* A key split across lines is not a key; blank lines end events. */
    expect("split event", USAGE_SSE, "data: {\"usage\":\n\ndata: {\"prompt_tokens\":1}}\n\n",
           -1, -1, -1, "");
    expect("not data", USAGE_SSE, "event: {\"usage\":{\"prompt_tokens\":1}}\n\n", -1, -1, -1,
           "");
    /* Nested deeper than message/response: not usage. */
    expect("nested", USAGE_SSE,
           "data: {\"choices\":[{\"usage\":{\"prompt_tokens\":5}}],\"x\":{\"message\":"
           "{\"usage\":{\"prompt_tokens\":6}}}}\n\n",
           -1, -1, -1, "");
}

/* Long content events before the usage one are cut at the event cap, not kept. */
static void sse_long_events(void)
{
    struct sb b = {0};
    sb_str(&b, "data: {\"model\":\"big\",\"choices\":[{\"delta\":{\"content\":\"");
    sb_repeat(&b, "x\\\"usage\\\":{} ", 3000);
    sb_str(&b, "\"}}],\"usage\":null}\n\n");
    for (int i = 0; i < 50; i++)
        sb_str(&b, "data: {\"choices\":[{\"delta\":{\"content\":\"tok\"}}],\"usage\":null}\n\n");
    sb_str(&b, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":70,"
               "\"completion_tokens\":3001,\"total_tokens\":3071}}\n\ndata: [DONE]\n\n");
    expect_n("long content", USAGE_SSE, b.p, b.len, 70, 3001, 3071, "big");

    /* An event whose usage lies past the cap is lost (documented limit). */
    b.len = 0;
    sb_str(&b, "data: {\"model\":\"big\",\"choices\":[{\"delta\":{\"content\":\"");
    sb_repeat(&b, "y", USAGE_EVENT_CAP);
    sb_str(&b, "\"}}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n");
    expect_n("usage past the cap", USAGE_SSE, b.p, b.len, -1, -1, -1, "big");
    free(b.p);
}

/* 1 MB of content full of look-alikes, then the real usage; the window starts inside
 * a string, in a run of backslashes. */
static void json_huge_content(void)
{
    struct sb b = {0};
    sb_str(&b, "{\"id\":\"x\",\"model\":\"gpt-4o\",\"choices\":[{\"message\":{\"content\":\"");
    sb_repeat(&b, "{[ \\\"usage\\\": {\\\"prompt_tokens\\\": 999} ]} \\\\", 20000);
    sb_repeat(&b, "\\\\", 5000);
    sb_str(&b, "\"}}],\"usage\":{\"prompt_tokens\":123,\"completion_tokens\":456,"
               "\"total_tokens\":579}}");
    expect_n("huge content", USAGE_JSON, b.p, b.len, 123, 456, 579, "gpt-4o");

    /* Same, pretty-printed usage near the end with members after it. */
    b.len = 0;
    sb_str(&b, "{\n  \"model\": \"gpt-4o\",\n  \"choices\": [{\"text\": \"");
    sb_repeat(&b, "lorem ipsum \\\"usage\\\" ", 50000);
    sb_str(&b, "\"}],\n  \"usage\": {\"prompt_tokens\": 5, \"completion_tokens\": 6},\n"
               "  \"note\": \"\\\"usage\\\": {\\\"prompt_tokens\\\": 7}\",\n"
               "  \"meta\": {\"usage\": {\"prompt_tokens\": 8}}\n}\n");
    expect_n("pretty huge", USAGE_JSON, b.p, b.len, 5, 6, 11, "gpt-4o");
    free(b.p);
}

static void json_top_level_only(void)
{
    expect("nested only", USAGE_JSON,
           "{\"model\":\"m\",\"data\":{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6}}}",
           -1, -1, -1, "m");
    expect("in a later string", USAGE_JSON,
           "{\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2},"
           "\"note\":\"\\\"usage\\\":{\\\"prompt_tokens\\\":7}\"}",
           1, 2, 3, "");
    expect("nested before top", USAGE_JSON,
           "{\"choices\":[{\"usage\":{\"prompt_tokens\":100}}],\"usage\":{\"prompt_tokens\":1,"
           "\"completion_tokens\":2}, \"model\" : \"a\"}",
           1, 2, 3, "a");
    /* Duplicate members: the last "usage" wins (read from the end); "model" is read
     * from the first members of the head, so there the first one wins. */
    expect("duplicates: last usage, first model", USAGE_JSON,
           "{\"model\":\"a\",\"usage\":{\"prompt_tokens\":1},\"model\":\"b\","
           "\"usage\":{\"prompt_tokens\":2}}",
           2, -1, -1, "a");
    expect("model in a nested object", USAGE_JSON,
           "{\"data\":{\"model\":\"inner\"},\"usage\":{\"prompt_tokens\":2}}", 2, -1, -1, "");

    /* Usage first, then a long string holding a look-alike: found in the head. */
    struct sb b = {0};
    sb_str(&b, "{\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2},\"model\":\"m\","
               "\"note\":\"");
    sb_repeat(&b, "\\\"usage\\\":{\\\"prompt_tokens\\\":7} ", 1000);
    sb_str(&b, "\"}");
    expect_n("usage in the head", USAGE_JSON, b.p, b.len, 1, 2, 3, "m");

    /* Usage past the head and before the tail: unknown (documented limit). */
    b.len = 0;
    sb_str(&b, "{\n  \"model\": \"m\",\n  \"pad\": \"");
    sb_repeat(&b, "p", 2 * USAGE_HEAD_CAP);
    sb_str(&b, "\",\n  \"usage\": {\"prompt_tokens\": 1},\n  \"data\": [");
    sb_repeat(&b, "0.1, ", 2 * USAGE_TAIL_CAP);
    sb_str(&b, "0.2]\n}\n");
    expect_n("usage in the middle", USAGE_JSON, b.p, b.len, -1, -1, -1, "m");
    free(b.p);
}

/* Bodies held whole take a fast path (usage.c, usage_last_member): the last
 * `"usage": {` read forward to the end. Look-alikes in strings, escaped keys, nested
 * or later "usage" members and a model after usage must give what the backward scan
 * gives. */
static void json_whole_fast_path(void)
{
    expect("look-alike in a string before usage", USAGE_JSON,
           "{\"model\":\"m\",\"note\":\"say \\\"usage\\\":{\\\"prompt_tokens\\\":7}} {\","
           "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}",
           1, 2, 3, "m");
    expect("look-alike in a string after usage", USAGE_JSON,
           "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2},"
           "\"note\":\"}\\\"usage\\\":{\\\"prompt_tokens\\\":7}}\"}",
           1, 2, 3, "m");
    /* The last `"usage":{` starts at an escaped quote: a key named "\"usage". */
    expect("escaped key after usage", USAGE_JSON,
           "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2},"
           "\"x\\\"usage\":{\"prompt_tokens\":7}}",
           1, 2, 3, "m");
    expect("escaped backslash before the key", USAGE_JSON,
           "{\"model\":\"m\",\"a\":\"\\\\\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}",
           1, 2, 3, "m");
    expect("nested usage after usage", USAGE_JSON,
           "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2},"
           "\"meta\":{\"usage\":{\"prompt_tokens\":8}}}",
           1, 2, 3, "m");
    expect("later usage null", USAGE_JSON,
           "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":1},\"usage\":null}", -1, -1, -1,
           "m");
    expect("not the top-level object", USAGE_JSON,
           "[{\"model\":\"m\",\"usage\":{\"prompt_tokens\":1}}]", -1, -1, -1, "");
    expect("nested usage only", USAGE_JSON,
           "{\"model\":\"m\",\"x\":{\"usage\":{\"prompt_tokens\":1}}}", -1, -1, -1, "m");
    /* A model after usage: the last one after usage wins over the first members'. */
    expect("model after usage", USAGE_JSON,
           "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,"
           "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2},\"model\":\"late\"}",
           1, 2, 3, "late");
    expect("models before and after usage", USAGE_JSON,
           "{\"model\":\"a\",\"usage\":{\"prompt_tokens\":1},\"model\":\"b\"}", 1, -1, -1,
           "b");
    expect("bad model after usage", USAGE_JSON,
           "{\"model\":\"a\",\"usage\":{\"prompt_tokens\":1},\"model\":7}", 1, -1, -1, "a");
    expect("model only before usage, far", USAGE_JSON,
           "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,"
           "\"model\":\"m\",\"usage\":{\"prompt_tokens\":1}}",
           1, -1, -1, "m");
    expect("escapes in the first members", USAGE_JSON,
           "{\"id\":\"a\\\"b\\\\\",\"object\":\"x\\u0022\",\"model\":\"m\",\"usage\":"
           "{\"prompt_tokens\":1,\"completion_tokens\":2}}",
           1, 2, 3, "m");
    expect("counts: 16 digits, spaces, nested", USAGE_JSON,
           "{\"model\":\"m\",\"usage\": { \"prompt_tokens\" : 1000000000000000 ,"
           "\"x\":{\"completion_tokens\":5}, \"completion_tokens\" :\n2 , \"total_tokens\":07 } }",
           -1, 2, 7, "m");
    expect("cut after usage", USAGE_JSON,
           "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":1},\"x\":[1,", 1, -1, -1, "m");
}

/* The head alone holds a body that fits it; the tail ring starts with the head's
 * bytes when the body outgrows it. Bodies around both bounds, in every chunking. */
static void json_around_the_windows(void)
{
    static const size_t sizes[] = {USAGE_HEAD_CAP - 1, USAGE_HEAD_CAP, USAGE_HEAD_CAP + 1,
                                   USAGE_HEAD_CAP + 700, USAGE_TAIL_CAP - 1, USAGE_TAIL_CAP,
                                   USAGE_TAIL_CAP + 1, USAGE_TAIL_CAP + USAGE_HEAD_CAP + 3};
    static const char tail[] = "\"],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":5},\"tag\":\"ggg\"}";
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct sb b = {0};
        sb_str(&b, "{\"model\":\"m\",\"pad\":[\"");
        sb_repeat(&b, "g", sizes[i] - b.len - (sizeof tail - 1));
        sb_str(&b, tail);
        REQUIRE_EQ_INT(b.len, sizes[i]);
        char label[64];
        snprintf(label, sizeof label, "body of %zu bytes", sizes[i]);
        expect_n(label, USAGE_JSON, b.p, b.len, 4, 5, 9, "m");
        free(b.p);
    }
}

static void numbers(void)
{
    expect("out of range and not integers", USAGE_JSON,
           "{\"usage\":{\"prompt_tokens\":99999999999999999999,\"completion_tokens\":-5,"
           "\"total_tokens\":1.5,\"input_tokens\":1e3,\"output_tokens\":\"12\"}}",
           -1, -1, -1, "");
    expect("largest accepted", USAGE_JSON,
           "{\"usage\":{\"prompt_tokens\":999999999999999,\"completion_tokens\":0}}",
           999999999999999, 0, 999999999999999, "");
    expect("one bad, others kept", USAGE_JSON,
           "{\"usage\":{\"prompt_tokens\":true,\"completion_tokens\":8}}", -1, 8, -1, "");
}

static void models(void)
{
    expect("escaped model", USAGE_JSON, "{\"model\":\"org\\/gpt-\\u0034o\"}", -1, -1, -1,
           "org/gpt-4o");
    expect("control byte", USAGE_JSON, "{\"model\":\"a\\nb\"}", -1, -1, -1, "");
    expect("empty", USAGE_JSON, "{\"model\":\"\"}", -1, -1, -1, "");
    expect("not a string", USAGE_JSON, "{\"model\":42}", -1, -1, -1, "");
    expect("raw control byte", USAGE_JSON, "{\"model\":\"a\x01b\"}", -1, -1, -1, "");
    expect("raw DEL", USAGE_JSON, "{\"model\":\"abcdefghijklmnopqrstuvw\x7f\"}", -1, -1, -1, "");
    expect("raw control byte and an escape", USAGE_JSON, "{\"model\":\"a\tb\\/c\"}", -1, -1, -1,
           "");
    expect("long plain name", USAGE_JSON, "{\"model\":\"abcdefghijklmnopqrstuvwxyz-0123456789\"}",
           -1, -1, -1, "abcdefghijklmnopqrstuvwxyz-0123456789");
    expect("late escape", USAGE_JSON, "{\"model\":\"abcdefghijklmnopqrstuvwxyz\\/0\"}", -1, -1, -1,
           "abcdefghijklmnopqrstuvwxyz/0");
    expect("utf-8 name", USAGE_JSON, "{\"model\":\"mod\xc3\xa8le\"}", -1, -1, -1, "mod\xc3\xa8le");
    char buf[400];
    snprintf(buf, sizeof buf, "{\"model\":\"%0200d\"}", 7);
    expect("too long", USAGE_JSON, buf, -1, -1, -1, "");
    snprintf(buf, sizeof buf, "{\"model\":\"%0127d\"}", 7);
    struct usage u;
    run(USAGE_JSON, buf, strlen(buf), 0, 1, &u);
    CHECK_EQ_INT(strlen(u.model), 127);
}

static void none_and_empty(void)
{
    struct usage u;
    CHECK(!run(USAGE_NONE, mock_chat, strlen(mock_chat), 0, 1, &u));
    CHECK_EQ_INT(u.prompt, -1);
    CHECK_STR_EQ(u.model, "");
    CHECK(!run(USAGE_JSON, "", 0, 0, 1, &u));
    CHECK(!run(USAGE_SSE, "", 0, 0, 1, &u));
    CHECK(sizeof(struct usage_scan) <= 6 * 1024);
}

/* A body cut anywhere gives unknown or correct values, never wrong ones. */
static void truncated_bodies(void)
{
    const struct {
        enum usage_format f;
        const char *body;
        int64_t p, c, t;
    } cases[] = {
        {USAGE_JSON, mock_chat, 9, 5, 14},
        {USAGE_JSON, openai_pretty, 1117, 46, 1163},
        {USAGE_JSON, mock_messages, 9, 3, 12},
        {USAGE_SSE, mock_chat_stream, 9, 3, 12},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t n = strlen(cases[k].body);
        for (size_t cut = 0; cut <= n; cut++) {
            struct usage u;
            run(cases[k].f, cases[k].body, cut, 5, (uint32_t)cut + 1, &u);
            bool ok = (u.prompt == -1 || u.prompt == cases[k].p) &&
                      (u.completion == -1 || u.completion == cases[k].c) &&
                      (u.total == -1 || u.total == cases[k].t);
            if (!CHECK_MSG_(ok, "case %zu cut at %zu: %lld/%lld/%lld", k, cut,
                            (long long)u.prompt, (long long)u.completion,
                            (long long)u.total))
                break;
        }
    }
}

/* Random bytes and random mutations of real bodies: must not crash or overread (the
 * Sanitize build checks). */
static void garbage(void)
{
    static const char alphabet[] = "{}[]\":,\\ \n\rdatusgeol0123456789-.";
    const char *seeds[] = {mock_chat, mock_chat_stream, mock_messages, mock_messages_stream,
                           anthropic_cache, openai_pretty};
    char buf[8192];
    rng_state = 12345;
    for (int iter = 0; iter < 3000; iter++) {
        size_t n;
        if (iter % 2) {
            n = rnd() % sizeof buf;
            for (size_t i = 0; i < n; i++)
                buf[i] = iter % 4 == 1 ? (char)rnd() : alphabet[rnd() % (sizeof alphabet - 1)];
        } else {
            const char *s = seeds[rnd() % (sizeof seeds / sizeof seeds[0])];
            n = strlen(s);
            memcpy(buf, s, n);
            for (int m = 0; m < 4; m++)
                buf[rnd() % n] = alphabet[rnd() % (sizeof alphabet - 1)];
        }
        struct usage u;
        uint32_t save = rng_state;
        run(iter % 3 ? USAGE_JSON : USAGE_SSE, buf, n, 1 + save % 300, save, &u);
        rng_state = save + 1;
        CHECK(u.prompt >= -1 && u.completion >= -1 && u.total >= -1);
        CHECK(strlen(u.model) < sizeof u.model);
    }
}

TEST_MAIN(RUN(content_types) RUN(openai_json) RUN(openai_stream) RUN(anthropic)
              RUN(sse_framing) RUN(sse_long_events) RUN(json_huge_content)
              RUN(json_top_level_only) RUN(json_whole_fast_path)
              RUN(json_around_the_windows) RUN(numbers) RUN(models)
              RUN(none_and_empty) RUN(truncated_bodies) RUN(garbage))
