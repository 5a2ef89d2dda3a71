/* text.c - deterministic stand-ins for a model: completion text, token estimates,
 * hashing and ids.
 *
 * Token i of every completion is the same word, so a streamed completion concatenates
 * to exactly the non-streamed one of the same length, and tests can compare them.
 */
#include "mock.h"

#include <stdio.h>
#include <string.h>

static const char *const words[] = {
    " The", " quick", " brown", " fox", " jumps", " over", " the", " lazy",
    " dog", ",", " and", " the", " mock", " provider", " keeps", " talking",
    " about", " load", " balancers", ",", " gateways", " and", " tokens", ".",
};
#define NWORDS (sizeof words / sizeof words[0])

const char *text_token(unsigned i, size_t *len)
{
    const char *w = i == 0 ? "Hello" : words[(i - 1) % NWORDS];
    *len = strlen(w);
    return w;
}

bool text_completion(struct server *s, unsigned tokens, const char **json, size_t *len)
{
    struct buf *b = &s->text;
    b->len = 0;
    bool ok = buf_append(b, "\"", 1);
    for (unsigned i = 0; ok && i < tokens; i++) {
        size_t n;
        const char *w = text_token(i, &n);
        ok = buf_append(b, w, n); /* words need no JSON escaping */
    }
    ok = ok && buf_append(b, "\"", 1);
    *json = b->p;
    *len = b->len;
    return ok;
}

unsigned text_estimate(size_t bytes)
{
    size_t t = (bytes + 3) / 4;
    return t > UINT32_MAX / 2 ? UINT32_MAX / 2 : (unsigned)t;
}

/* Text carried by a message's content: a string, or an array of parts whose "text"
 * members count (OpenAI content parts, Anthropic content blocks). */
static size_t content_bytes(const json_doc *d, int content)
{
    if (json_type(d, content) == JSON_STRING)
        return json_str_len(d, content);
    size_t n = 0;
    json_iter it = json_iter_begin(d, content);
    int part;
    while (json_array_next(&it, &part)) {
        if (json_type(d, part) == JSON_STRING)
            n += json_str_len(d, part);
        else
            n += json_str_len(d, json_find(d, part, "text"));
    }
    return n;
}

/* ~4 bytes a token plus a few per message, like the providers' chat templates. */
unsigned text_prompt_tokens(const json_doc *d, int messages, int system)
{
    unsigned total = 3;
    if (system >= 0)
        total += 4 + text_estimate(content_bytes(d, system));
    json_iter it = json_iter_begin(d, messages);
    int m;
    while (json_array_next(&it, &m)) {
        total += 4 + text_estimate(content_bytes(d, json_find(d, m, "content")));
        if (total > UINT32_MAX / 4)
            break;
    }
    return total;
}

/* FNV-1a, 64 bit: stable across runs and platforms. */
uint64_t text_hash(const char *p, size_t n, uint64_t h)
{
    if (h == 0)
        h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* xorshift64*: cheap, deterministic for a given seed; state must not be 0. */
uint64_t text_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

void text_id(struct server *s, const char *prefix, char *out, size_t cap)
{
    s->seq++;
    uint64_t h = text_hash(s->name, strlen(s->name), 0) ^ (s->seq * 0x9E3779B97F4A7C15ull);
    snprintf(out, cap, "%s%016llx", prefix, (unsigned long long)h);
}
