/* usage.h - token usage and model name read from an LLM response as it streams by.
 *
 * The proxy relays a response body in chunks of any size and never holds it; this
 * scanner watches the same bytes with a fixed amount of memory (struct usage_scan,
 * 5.3 KiB, embedded in the transaction, no allocation) and reports at the end:
 *
 *   - JSON bodies (OpenAI chat/completions/embeddings, Anthropic Messages): the
 *     top-level "usage" object and "model" string. Only the first USAGE_HEAD_CAP and
 *     the last USAGE_TAIL_CAP bytes are kept; the tail is scanned backwards from the
 *     closing brace, which tells top-level members from nested ones and from text
 *     inside strings exactly. Limit: a body longer than USAGE_TAIL_CAP whose usage
 *     sits neither in its last USAGE_TAIL_CAP bytes nor wholly in its first
 *     USAGE_HEAD_CAP bytes (say a pretty-printed huge body with usage first) yields
 *     unknown usage. OpenAI and Anthropic put usage last. "model" is looked for first
 *     among the head's first members (where both put it), so the backward scan can
 *     stop at "usage" instead of walking the whole body.
 *   - Server-sent events: each event's data (up to USAGE_EVENT_CAP bytes; the rest of
 *     a longer event is dropped) is looked at only when it holds a "usage" object, or
 *     a "model" while the model is still unknown. Usage is the top-level "usage"
 *     (OpenAI chunks with stream_options.include_usage, Anthropic message_delta) or
 *     the one inside a top-level "message" or "response" object (Anthropic
 *     message_start, OpenAI Responses API). Later counts replace earlier ones field
 *     by field, so message_delta's output_tokens wins over message_start's; "usage":
 *     null is ignored.
 *
 * Counts: prompt = prompt_tokens, else input_tokens + cache_creation_input_tokens +
 * cache_read_input_tokens; completion = completion_tokens, else output_tokens; total =
 * total_tokens, else prompt + completion. Counts must be plain non-negative integers
 * below 10^15; anything else is ignored. Member names are matched as raw bytes (a
 * key spelled with escapes is not recognised).
 *
 * Feed the entity body with its chunked framing removed. A body under a
 * content-encoding such as gzip yields nothing: callers skip those.
 * Malformed input never makes it read out of bounds; it only yields unknown values.
 */
#ifndef SLUICE_USAGE_H
#define SLUICE_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct usage {
    int64_t prompt, completion, total; /* -1 = unknown */
    char model[128];                   /* "" = unknown */
};

enum usage_format { USAGE_NONE, USAGE_JSON, USAGE_SSE };

#define USAGE_HEAD_CAP 1024u  /* JSON: first bytes kept ("model" sits there) */
#define USAGE_TAIL_CAP 4096u  /* JSON: last bytes kept ("usage" sits there) */
#define USAGE_EVENT_CAP 4096u /* SSE: data bytes kept per event */

/* Raw counters as the response named them; -1 until seen. */
enum usage_field {
    USAGE_F_PROMPT,       /* prompt_tokens */
    USAGE_F_COMPLETION,   /* completion_tokens */
    USAGE_F_TOTAL,        /* total_tokens */
    USAGE_F_INPUT,        /* input_tokens */
    USAGE_F_OUTPUT,       /* output_tokens */
    USAGE_F_CACHE_CREATE, /* cache_creation_input_tokens */
    USAGE_F_CACHE_READ,   /* cache_read_input_tokens */
    USAGE_F_COUNT
};

struct usage_scan {
    uint8_t format;      /* enum usage_format */
    uint8_t line_state;  /* SSE: part of the current line being read */
    uint8_t field_len;   /* SSE: bytes of the field name read so far */
    bool pending_cr;     /* SSE: last line ended with CR; a following LF is skipped */
    bool ev_data;        /* SSE: the current event has a data line */
    bool ev_cut;         /* SSE: the current event's data overflowed the buffer */
    char field[4];       /* SSE: field name of the current line ("data") */
    uint32_t len;        /* JSON: bytes in head; SSE: bytes of event data */
    uint32_t tail_pos;   /* JSON: next write offset in the tail ring */
    uint64_t seen;       /* JSON: body bytes fed so far */
    int64_t raw[USAGE_F_COUNT];
    char model[128];
    union {
        struct {
            char head[USAGE_HEAD_CAP];
            char tail[USAGE_TAIL_CAP];
        } json;
        char event[USAGE_EVENT_CAP];
    } b;
};

/* From a response content-type (not NUL-terminated; case-insensitive; parameters
 * allowed): application/json and application/...+json give USAGE_JSON,
 * text/event-stream USAGE_SSE, anything else (or NULL) USAGE_NONE. */
enum usage_format usage_format_of(const char *content_type, size_t len);

/* Sets every count to -1 and the model to "". */
void usage_clear(struct usage *u);

void usage_scan_init(struct usage_scan *s, enum usage_format f);

/* Any chunking, down to one byte at a time. A USAGE_NONE scan ignores its input. */
void usage_scan_feed(struct usage_scan *s, const char *data, size_t n);

/* At the end of the body: fills u (fields -1 when absent; model "" when absent).
 * Returns true when any token count was found. */
bool usage_scan_end(struct usage_scan *s, struct usage *u);

#endif
