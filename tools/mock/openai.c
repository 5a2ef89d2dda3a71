/* openai.c - OpenAI-compatible endpoints: chat completions (plain and streamed),
 * embeddings and the model list, in the shapes the official SDK parses. */
#include "mock.h"

#include <math.h>
#include <string.h>

static void usage_obj(json_writer *w, unsigned prompt, unsigned completion)
{
    json_w_obj_begin(w);
    json_w_key(w, "prompt_tokens");
    json_w_uint(w, prompt);
    json_w_key(w, "completion_tokens");
    json_w_uint(w, completion);
    json_w_key(w, "total_tokens");
    json_w_uint(w, (uint64_t)prompt + completion);
    json_w_obj_end(w);
}

/* Members every chat object starts with. */
static void chat_preamble(json_writer *w, const struct stream *st, const char *object)
{
    json_w_key(w, "id");
    json_w_str(w, st->id);
    json_w_key(w, "object");
    json_w_str(w, object);
    json_w_key(w, "created");
    json_w_int(w, st->created);
    json_w_key(w, "model");
    json_w_str(w, st->model);
    json_w_key(w, "system_fingerprint");
    json_w_str(w, "fp_mock");
}

struct chat_ctx {
    const struct stream *st;
    const char *text; /* completion as a JSON string literal */
    size_t text_len;
};

static void chat_body(json_writer *w, void *ctx)
{
    const struct chat_ctx *k = ctx;
    json_w_obj_begin(w);
    chat_preamble(w, k->st, "chat.completion");
    json_w_key(w, "choices");
    json_w_arr_begin(w);
    json_w_obj_begin(w);
    json_w_key(w, "index");
    json_w_int(w, 0);
    json_w_key(w, "message");
    json_w_obj_begin(w);
    json_w_key(w, "role");
    json_w_str(w, "assistant");
    json_w_key(w, "content");
    json_w_raw(w, k->text, k->text_len);
    json_w_key(w, "refusal");
    json_w_null(w);
    json_w_obj_end(w);
    json_w_key(w, "logprobs");
    json_w_null(w);
    json_w_key(w, "finish_reason");
    json_w_str(w, "stop");
    json_w_obj_end(w);
    json_w_arr_end(w);
    json_w_key(w, "usage");
    usage_obj(w, k->st->prompt_tokens, k->st->tokens);
    json_w_obj_end(w);
}

/* ---- streaming: role chunk, one chunk per token, finish chunk, usage chunk ---- */

enum chunk_kind { CHUNK_ROLE, CHUNK_TOKEN, CHUNK_FINISH, CHUNK_USAGE };

struct chunk_ctx {
    const struct stream *st;
    enum chunk_kind kind;
    unsigned i;
};

static void chunk_choice(json_writer *w, const struct chunk_ctx *k)
{
    json_w_obj_begin(w);
    json_w_key(w, "index");
    json_w_int(w, 0);
    json_w_key(w, "delta");
    json_w_obj_begin(w);
    if (k->kind == CHUNK_ROLE) {
        json_w_key(w, "role");
        json_w_str(w, "assistant");
        json_w_key(w, "content");
        json_w_str(w, "");
    } else if (k->kind == CHUNK_TOKEN) {
        size_t n;
        const char *t = text_token(k->i, &n);
        json_w_key(w, "content");
        json_w_str_n(w, t, n);
    }
    json_w_obj_end(w);
    json_w_key(w, "logprobs");
    json_w_null(w);
    json_w_key(w, "finish_reason");
    if (k->kind == CHUNK_FINISH)
        json_w_str(w, "stop");
    else
        json_w_null(w);
    json_w_obj_end(w);
}

static void chunk_body(json_writer *w, void *ctx)
{
    const struct chunk_ctx *k = ctx;
    json_w_obj_begin(w);
    chat_preamble(w, k->st, "chat.completion.chunk");
    json_w_key(w, "choices");
    json_w_arr_begin(w);
    if (k->kind != CHUNK_USAGE)
        chunk_choice(w, k);
    json_w_arr_end(w);
    if (k->st->include_usage) { /* null on every chunk but the last, as OpenAI does */
        json_w_key(w, "usage");
        if (k->kind == CHUNK_USAGE)
            usage_obj(w, k->st->prompt_tokens, k->st->tokens);
        else
            json_w_null(w);
    }
    json_w_obj_end(w);
}

static bool chat_head(struct conn *c, struct stream *st)
{
    struct chunk_ctx k = {st, CHUNK_ROLE, 0};
    return stream_event(c, NULL, chunk_body, &k);
}

static bool chat_token(struct conn *c, struct stream *st, unsigned i)
{
    struct chunk_ctx k = {st, CHUNK_TOKEN, i};
    return stream_event(c, NULL, chunk_body, &k);
}

static bool chat_tail(struct conn *c, struct stream *st)
{
    struct chunk_ctx k = {st, CHUNK_FINISH, 0};
    if (!stream_event(c, NULL, chunk_body, &k))
        return false;
    k.kind = CHUNK_USAGE;
    if (st->include_usage && !stream_event(c, NULL, chunk_body, &k))
        return false;
    return stream_event_raw(c, NULL, "[DONE]", 6);
}

static const struct stream_ops chat_stream_ops = {chat_head, chat_token, chat_tail};

static bool flag(const json_doc *d, int obj, const char *key)
{
    bool v = false;
    json_get_bool(d, json_find(d, obj, key), &v);
    return v;
}

void openai_chat(struct conn *c, const struct req *r)
{
    struct server *s = c->srv;
    json_doc d;
    char msg[192];
    if (!parse_body(s, r, &d, msg, sizeof msg)) {
        reply_error(c, 400, msg);
        return;
    }
    long n = completion_tokens(s, &d);
    int messages = json_find(&d, 0, "messages");
    if (n < 0) {
        reply_error(c, 400, "max_tokens must be an integer from 1 to 1000000");
        return;
    }
    if (json_type(&d, messages) != JSON_ARRAY) {
        reply_error(c, 400, "messages must be an array");
        return;
    }
    struct stream *st = &c->stream;
    memset(st, 0, sizeof *st);
    st->tokens = (unsigned)n;
    st->prompt_tokens = text_prompt_tokens(&d, messages, -1);
    st->created = (long)ev_now(s->loop);
    request_model(&d, st->model, sizeof st->model);
    text_id(s, "chatcmpl-", st->id, sizeof st->id);
    if (flag(&d, 0, "stream")) {
        st->include_usage = flag(&d, json_find(&d, 0, "stream_options"), "include_usage");
        stream_start(c, &chat_stream_ops);
        return;
    }
    struct chat_ctx k = {st, NULL, 0};
    if (!text_completion(s, st->tokens, &k.text, &k.text_len) ||
        !build_json(s, chat_body, &k)) {
        c->broken = true;
        return;
    }
    reply_json(c, 200, NULL);
}

/* ---- embeddings ---- */

struct emb_ctx {
    struct server *s;
    const json_doc *d;
    int input;
    bool single;      /* input is one string or one token array */
    bool base64;      /* encoding_format "base64" (the SDK's default request) */
    unsigned dim, prompt;
    char model[MOCK_MODEL_MAX];
};

static bool is_token_array(const json_doc *d, int arr)
{
    if (json_type(d, arr) != JSON_ARRAY)
        return false;
    json_iter it = json_iter_begin(d, arr);
    int e;
    while (json_array_next(&it, &e))
        if (json_type(d, e) != JSON_NUMBER)
            return false;
    return true;
}

static unsigned input_tokens(const json_doc *d, int in)
{
    if (json_type(d, in) == JSON_STRING)
        return text_estimate(json_str_len(d, in));
    return d->tok[in].size;
}

/* Checks the input's shape and sums its tokens; false when it is invalid. */
static bool emb_inputs(struct emb_ctx *k, unsigned *count)
{
    const json_doc *d = k->d;
    enum json_type t = json_type(d, k->input);
    k->single = t == JSON_STRING || (is_token_array(d, k->input) && d->tok[k->input].size);
    if (k->single) {
        *count = 1;
        k->prompt = input_tokens(d, k->input);
        return true;
    }
    if (t != JSON_ARRAY || d->tok[k->input].size == 0 || d->tok[k->input].size > 2048)
        return false;
    *count = d->tok[k->input].size;
    json_iter it = json_iter_begin(d, k->input);
    int e;
    while (json_array_next(&it, &e)) {
        if (json_type(d, e) != JSON_STRING && !is_token_array(d, e))
            return false;
        k->prompt += input_tokens(d, e);
    }
    return true;
}

static double unit_rand(uint64_t *st)
{
    return (double)(text_rand(st) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* Streaming base64 into a buffer sized by the caller (b64_len()). */
struct b64 {
    char *out;
    size_t o;
    unsigned char in[3];
    unsigned have;
};

static void b64_flush(struct b64 *b)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (b->have == 0)
        return;
    uint32_t x = (uint32_t)b->in[0] << 16 | (b->have > 1 ? (uint32_t)b->in[1] << 8 : 0u) |
                 (b->have > 2 ? (uint32_t)b->in[2] : 0u);
    b->out[b->o++] = tab[x >> 18 & 63];
    b->out[b->o++] = tab[x >> 12 & 63];
    b->out[b->o++] = b->have > 1 ? tab[x >> 6 & 63] : '=';
    b->out[b->o++] = b->have > 2 ? tab[x & 63] : '=';
    b->have = 0;
}

static void b64_byte(struct b64 *b, unsigned char c)
{
    b->in[b->have++] = c;
    if (b->have == 3)
        b64_flush(b);
}

static size_t b64_len(unsigned dim)
{
    return ((size_t)dim * 4 + 2) / 3 * 4;
}

/* A unit-length vector seeded by the input's bytes: same text, same embedding.
 * base64 (little-endian float32s) is what the OpenAI SDK asks for by default. */
static void emb_vector(json_writer *w, struct emb_ctx *k, int in)
{
    size_t n;
    const char *raw = json_raw(k->d, in, &n);
    uint64_t seed = text_hash(raw, n, 0) | 1u, st = seed;
    double norm = 0;
    for (unsigned i = 0; i < k->dim; i++) {
        double x = unit_rand(&st);
        norm += x * x;
    }
    norm = norm > 0 ? sqrt(norm) : 1;
    st = seed;
    if (k->base64) {
        struct b64 b = {k->s->text.p, 0, {0, 0, 0}, 0};
        for (unsigned i = 0; i < k->dim; i++) {
            float f = (float)(unit_rand(&st) / norm);
            uint32_t u;
            memcpy(&u, &f, sizeof u);
            for (unsigned byte = 0; byte < 4; byte++)
                b64_byte(&b, (unsigned char)(u >> (8 * byte)));
        }
        b64_flush(&b);
        json_w_str_n(w, b.out, b.o);
        return;
    }
    json_w_arr_begin(w);
    for (unsigned i = 0; i < k->dim; i++)
        json_w_double(w, unit_rand(&st) / norm, 8);
    json_w_arr_end(w);
}


static void emb_item(json_writer *w, struct emb_ctx *k, int in, unsigned index)
{
    json_w_obj_begin(w);
    json_w_key(w, "object");
    json_w_str(w, "embedding");
    json_w_key(w, "index");
    json_w_uint(w, index);
    json_w_key(w, "embedding");
    emb_vector(w, k, in);
    json_w_obj_end(w);
}

static void emb_body(json_writer *w, void *ctx)
{
    struct emb_ctx *k = ctx;
    json_w_obj_begin(w);
    json_w_key(w, "object");
    json_w_str(w, "list");
    json_w_key(w, "data");
    json_w_arr_begin(w);
    if (k->single) {
        emb_item(w, k, k->input, 0);
    } else {
        json_iter it = json_iter_begin(k->d, k->input);
        int e;
        for (unsigned i = 0; json_array_next(&it, &e); i++)
            emb_item(w, k, e, i);
    }
    json_w_arr_end(w);
    json_w_key(w, "model");
    json_w_str(w, k->model);
    json_w_key(w, "usage");
    json_w_obj_begin(w);
    json_w_key(w, "prompt_tokens");
    json_w_uint(w, k->prompt);
    json_w_key(w, "total_tokens");
    json_w_uint(w, k->prompt);
    json_w_obj_end(w);
    json_w_obj_end(w);
}

void openai_embeddings(struct conn *c, const struct req *r)
{
    struct server *s = c->srv;
    json_doc d;
    char msg[192];
    if (!parse_body(s, r, &d, msg, sizeof msg)) {
        reply_error(c, 400, msg);
        return;
    }
    struct emb_ctx k;
    memset(&k, 0, sizeof k);
    k.s = s;
    k.d = &d;
    k.dim = s->cfg.dim;
    k.input = json_find(&d, 0, "input");
    k.base64 = json_str_eq(&d, json_find(&d, 0, "encoding_format"), "base64");
    int64_t dims;
    if (json_get_int(&d, json_find(&d, 0, "dimensions"), &dims) == JSON_OK) {
        if (dims < 1 || dims > MOCK_MAX_DIM) {
            reply_error(c, 400, "dimensions must be from 1 to 65536");
            return;
        }
        k.dim = (unsigned)dims;
    }
    unsigned count = 0;
    if (!emb_inputs(&k, &count)) {
        reply_error(c, 400, "input must be a non-empty string, array of strings or "
                            "array of token arrays (at most 2048)");
        return;
    }
    request_model(&d, k.model, sizeof k.model);
    s->text.len = 0;
    if ((k.base64 && !buf_reserve(&s->text, b64_len(k.dim))) ||
        !build_json(s, emb_body, &k)) {
        c->broken = true;
        return;
    }
    reply_json(c, 200, NULL);
}

/* ---- models ---- */

void openai_models_body(json_writer *w, void *ctx)
{
    static const char *const ids[] = {"gpt-4o-mini", "gpt-4o", "text-embedding-3-small",
                                      "claude-3-5-haiku-latest", "mock-model"};
    const struct server *s = ctx;
    json_w_obj_begin(w);
    json_w_key(w, "object");
    json_w_str(w, "list");
    json_w_key(w, "data");
    json_w_arr_begin(w);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        json_w_obj_begin(w);
        json_w_key(w, "id");
        json_w_str(w, ids[i]);
        json_w_key(w, "object");
        json_w_str(w, "model");
        json_w_key(w, "created");
        json_w_int(w, 1715367049);
        json_w_key(w, "owned_by");
        json_w_str(w, s->name);
        json_w_obj_end(w);
    }
    json_w_arr_end(w);
    json_w_obj_end(w);
}

void openai_models(struct conn *c)
{
    struct server *s = c->srv;
    if (c->http10) { /* needs its own connection header */
        if (build_json(s, openai_models_body, s))
            reply_json(c, 200, NULL);
        else
            c->broken = true;
        return;
    }
    const struct buf *m = &s->models[c->keep_alive ? 0 : 1];
    struct iovec iov = {m->p, m->len};
    conn_send(c, &iov, 1);
}
