/* anthropic.c - POST /v1/messages, plain and as Anthropic's named event stream:
 * message_start, content_block_start, ping, content_block_delta per token,
 * content_block_stop, message_delta (stop reason, output tokens), message_stop. */
#include "mock.h"

#include <string.h>

static void message_usage(json_writer *w, unsigned input, unsigned output)
{
    json_w_obj_begin(w);
    json_w_key(w, "input_tokens");
    json_w_uint(w, input);
    json_w_key(w, "output_tokens");
    json_w_uint(w, output);
    json_w_obj_end(w);
}

/* The message object; `streaming` gives the message_start shape (no content yet). */
static void message_obj(json_writer *w, const struct stream *st, const char *text,
                        size_t text_len, bool streaming)
{
    json_w_obj_begin(w);
    json_w_key(w, "id");
    json_w_str(w, st->id);
    json_w_key(w, "type");
    json_w_str(w, "message");
    json_w_key(w, "role");
    json_w_str(w, "assistant");
    json_w_key(w, "model");
    json_w_str(w, st->model);
    json_w_key(w, "content");
    json_w_arr_begin(w);
    if (!streaming) {
        json_w_obj_begin(w);
        json_w_key(w, "type");
        json_w_str(w, "text");
        json_w_key(w, "text");
        json_w_raw(w, text, text_len);
        json_w_obj_end(w);
    }
    json_w_arr_end(w);
    json_w_key(w, "stop_reason");
    if (streaming)
        json_w_null(w);
    else
        json_w_str(w, "end_turn");
    json_w_key(w, "stop_sequence");
    json_w_null(w);
    json_w_key(w, "usage");
    message_usage(w, st->prompt_tokens, streaming ? 1 : st->tokens);
    json_w_obj_end(w);
}

struct msg_ctx {
    const struct stream *st;
    const char *text;
    size_t text_len;
};

static void message_body(json_writer *w, void *ctx)
{
    const struct msg_ctx *k = ctx;
    message_obj(w, k->st, k->text, k->text_len, false);
}

/* ---- stream events ---- */

enum ev_kind { EV_START, EV_BLOCK_START, EV_PING, EV_DELTA, EV_BLOCK_STOP,
               EV_MSG_DELTA, EV_MSG_STOP };

static const char *const ev_names[] = {
    "message_start", "content_block_start", "ping", "content_block_delta",
    "content_block_stop", "message_delta", "message_stop",
};

#define BLOCK_START "{\"type\":\"text\",\"text\":\"\"}"
#define STOP_DELTA "{\"stop_reason\":\"end_turn\",\"stop_sequence\":null}"

struct ev_ctx {
    const struct stream *st;
    enum ev_kind kind;
    unsigned i;
};

static void text_delta(json_writer *w, unsigned i)
{
    size_t n;
    const char *t = text_token(i, &n);
    json_w_key(w, "delta");
    json_w_obj_begin(w);
    json_w_key(w, "type");
    json_w_str(w, "text_delta");
    json_w_key(w, "text");
    json_w_str_n(w, t, n);
    json_w_obj_end(w);
}

static void event_body(json_writer *w, void *ctx)
{
    const struct ev_ctx *k = ctx;
    json_w_obj_begin(w);
    json_w_key(w, "type");
    json_w_str(w, ev_names[k->kind]);
    switch (k->kind) {
    case EV_START:
        json_w_key(w, "message");
        message_obj(w, k->st, NULL, 0, true);
        break;
    case EV_BLOCK_START:
        json_w_key(w, "index");
        json_w_int(w, 0);
        json_w_key(w, "content_block");
        json_w_raw(w, BLOCK_START, sizeof BLOCK_START - 1);
        break;
    case EV_DELTA:
        json_w_key(w, "index");
        json_w_int(w, 0);
        text_delta(w, k->i);
        break;
    case EV_BLOCK_STOP:
        json_w_key(w, "index");
        json_w_int(w, 0);
        break;
    case EV_MSG_DELTA:
        json_w_key(w, "delta");
        json_w_raw(w, STOP_DELTA, sizeof STOP_DELTA - 1);
        json_w_key(w, "usage");
        json_w_obj_begin(w);
        json_w_key(w, "output_tokens");
        json_w_uint(w, k->st->tokens);
        json_w_obj_end(w);
        break;
    case EV_PING:
    case EV_MSG_STOP:
        break;
    }
    json_w_obj_end(w);
}

static bool send_ev(struct conn *c, struct stream *st, enum ev_kind kind, unsigned i)
{
    struct ev_ctx k = {st, kind, i};
    return stream_event(c, ev_names[kind], event_body, &k);
}

static bool msg_head(struct conn *c, struct stream *st)
{
    return send_ev(c, st, EV_START, 0) && send_ev(c, st, EV_BLOCK_START, 0) &&
           send_ev(c, st, EV_PING, 0);
}

static bool msg_token(struct conn *c, struct stream *st, unsigned i)
{
    return send_ev(c, st, EV_DELTA, i);
}

static bool msg_tail(struct conn *c, struct stream *st)
{
    return send_ev(c, st, EV_BLOCK_STOP, 0) && send_ev(c, st, EV_MSG_DELTA, 0) &&
           send_ev(c, st, EV_MSG_STOP, 0);
}

static const struct stream_ops msg_stream_ops = {msg_head, msg_token, msg_tail};

void anthropic_messages(struct conn *c, const struct req *r)
{
    struct server *s = c->srv;
    json_doc d;
    char msg[192];
    if (!parse_body(s, r, &d, msg, sizeof msg)) {
        reply_anthropic_error(c, 400, msg);
        return;
    }
    long n = completion_tokens(s, &d);
    int messages = json_find(&d, 0, "messages");
    if (n < 0) {
        reply_anthropic_error(c, 400, "max_tokens: must be an integer from 1 to 1000000");
        return;
    }
    if (json_type(&d, messages) != JSON_ARRAY) {
        reply_anthropic_error(c, 400, "messages: field required (an array)");
        return;
    }
    struct stream *st = &c->stream;
    memset(st, 0, sizeof *st);
    st->tokens = (unsigned)n;
    st->prompt_tokens = text_prompt_tokens(&d, messages, json_find(&d, 0, "system"));
    request_model(&d, st->model, sizeof st->model);
    text_id(s, "msg_mock", st->id, sizeof st->id);
    bool stream = false;
    json_get_bool(&d, json_find(&d, 0, "stream"), &stream);
    if (stream) {
        stream_start(c, &msg_stream_ops);
        return;
    }
    struct msg_ctx k = {st, NULL, 0};
    if (!text_completion(s, st->tokens, &k.text, &k.text_len) ||
        !build_json(s, message_body, &k)) {
        c->broken = true;
        return;
    }
    reply_json(c, 200, NULL);
}
