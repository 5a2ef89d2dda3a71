/* json_model.c - the top-level "model" of a JSON request body.
 *
 * A model allow-list is only as good as its reading of the body: it must find
 * the "model" the provider will act on, not one nested in `messages` or spelled
 * inside a string. So the whole document is checked against the JSON grammar
 * (RFC 8259), keys and the value are compared after decoding escapes
 * ("mod\u0065l" is "model"), and a second top-level "model" is reported (parsers
 * disagree on which one wins). Nesting is bounded; nothing recurses.
 */
#include "auth.h"

#include <string.h>

#define MAX_DEPTH 256   /* bits of the container stack below */

struct scan {
    const unsigned char *p, *end;
};

static int peek(const struct scan *s)
{
    return s->p < s->end ? *s->p : -1;
}

static void ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool eat(struct scan *s, int c)
{
    if (peek(s) != c)
        return false;
    s->p++;
    return true;
}

static int hex4(struct scan *s)
{
    if (s->end - s->p < 4)
        return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = *s->p++, d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    return v;
}

struct sink {
    char *out;          /* NULL: only validate */
    size_t cap, len;
    bool overflow;
};

static void put(struct sink *k, unsigned c)
{
    if (!k->out)
        return;
    if (k->len + 1 >= k->cap) {
        k->overflow = true;
        return;
    }
    k->out[k->len++] = (char)c;
}

static void put_utf8(struct sink *k, unsigned cp)
{
    if (cp < 0x80) {
        put(k, cp);
    } else if (cp < 0x800) {
        put(k, 0xc0 | cp >> 6);
        put(k, 0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        put(k, 0xe0 | cp >> 12);
        put(k, 0x80 | (cp >> 6 & 0x3f));
        put(k, 0x80 | (cp & 0x3f));
    } else {
        put(k, 0xf0 | cp >> 18);
        put(k, 0x80 | (cp >> 12 & 0x3f));
        put(k, 0x80 | (cp >> 6 & 0x3f));
        put(k, 0x80 | (cp & 0x3f));
    }
}

/* A string at s->p (the opening quote), decoded into k. Lone surrogates are
 * refused: they decode differently from one parser to the next. */
static bool string(struct scan *s, struct sink *k)
{
    if (!eat(s, '"'))
        return false;
    for (;;) {
        if (s->p >= s->end)
            return false;
        unsigned c = *s->p++;
        if (c == '"')
            break;
        if (c < 0x20)
            return false;
        if (c != '\\') {
            put(k, c);
            continue;
        }
        if (s->p >= s->end)
            return false;
        int e = *s->p++;
        switch (e) {
        case '"': case '\\': case '/': put(k, (unsigned)e); break;
        case 'b': put(k, '\b'); break;
        case 'f': put(k, '\f'); break;
        case 'n': put(k, '\n'); break;
        case 'r': put(k, '\r'); break;
        case 't': put(k, '\t'); break;
        case 'u': {
            int u = hex4(s);
            if (u < 0 || (u >= 0xdc00 && u <= 0xdfff))
                return false;
            unsigned cp = (unsigned)u;
            if (u >= 0xd800 && u <= 0xdbff) {
                if (!eat(s, '\\') || !eat(s, 'u'))
                    return false;
                int lo = hex4(s);
                if (lo < 0xdc00 || lo > 0xdfff)
                    return false;
                cp = 0x10000 + (((unsigned)u - 0xd800) << 10) + ((unsigned)lo - 0xdc00);
            }
            put_utf8(k, cp);
            break;
        }
        default: return false;
        }
    }
    if (k->out)
        k->out[k->len] = '\0';
    return true;
}

static bool digits(struct scan *s)
{
    const unsigned char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start;
}

static bool number(struct scan *s)
{
    eat(s, '-');
    if (!eat(s, '0') && !digits(s))
        return false;
    if (eat(s, '.') && !digits(s))
        return false;
    if (eat(s, 'e') || eat(s, 'E')) {
        if (!eat(s, '+'))
            eat(s, '-');
        if (!digits(s))
            return false;
    }
    return true;
}

static bool literal(struct scan *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return false;
    s->p += n;
    return true;
}

/* An object member's key and colon; the key decoded into k (may be NULL). */
static bool member_key(struct scan *s, struct sink *k)
{
    struct sink none = {0};
    ws(s);
    if (!string(s, k ? k : &none))
        return false;
    ws(s);
    return eat(s, ':');
}

/* One whole value (scalars, or a container and everything in it). */
static bool skip_value(struct scan *s)
{
    uint64_t is_obj[MAX_DEPTH / 64] = {0};
    unsigned depth = 0;
    struct sink none = {0};
    for (;;) {
        ws(s);
        int c = peek(s);
        if (c == '{' || c == '[') {
            if (depth == MAX_DEPTH)
                return false;
            uint64_t bit = (uint64_t)1 << (depth % 64);
            if (c == '{')
                is_obj[depth / 64] |= bit;
            else
                is_obj[depth / 64] &= ~bit;
            depth++;
            s->p++;
            ws(s);
            if (eat(s, c == '{' ? '}' : ']')) {
                depth--;
            } else {
                if (c == '{' && !member_key(s, NULL))
                    return false;
                continue;               /* the first element's value */
            }
        } else if (c == '"') {
            if (!string(s, &none))
                return false;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            if (!number(s))
                return false;
        } else if (!literal(s, c == 't' ? "true" : c == 'f' ? "false" : "null")) {
            return false;
        }
        /* after a value: close containers until one goes on with a comma */
        for (;;) {
            if (depth == 0)
                return true;
            bool obj = is_obj[(depth - 1) / 64] >> ((depth - 1) % 64) & 1;
            ws(s);
            if (eat(s, ',')) {
                if (obj && !member_key(s, NULL))
                    return false;
                break;
            }
            if (!eat(s, obj ? '}' : ']'))
                return false;
            depth--;
        }
    }
}

int auth_json_model(sl_str body, char *out, size_t cap, size_t *out_len)
{
    struct scan s = {(const unsigned char *)body.ptr, (const unsigned char *)body.ptr + body.len};
    int result = AUTH_MODEL_ABSENT;
    bool seen = false, dup = false;
    *out_len = 0;
    if (cap)
        out[0] = '\0';
    ws(&s);
    if (!eat(&s, '{'))
        return AUTH_MODEL_BAD_JSON;
    ws(&s);
    if (!eat(&s, '}')) {
        for (;;) {
            char key[8];    /* "model" and one more byte to tell a longer key apart */
            struct sink k = {key, sizeof key, 0, false};
            if (!member_key(&s, &k))
                return AUTH_MODEL_BAD_JSON;
            bool is_model = !k.overflow && k.len == 5 && memcmp(key, "model", 5) == 0;
            ws(&s);
            if (is_model && !seen && peek(&s) == '"') {
                struct sink v = {out, cap, 0, false};
                if (!string(&s, &v))
                    return AUTH_MODEL_BAD_JSON;
                result = v.overflow ? AUTH_MODEL_TOO_LONG : AUTH_MODEL_FOUND;
                *out_len = v.overflow ? 0 : v.len;
                if (v.overflow && cap)
                    out[0] = '\0';
            } else {
                if (is_model && seen)
                    dup = true;
                else if (is_model)
                    result = AUTH_MODEL_NOT_STRING;
                if (!skip_value(&s))
                    return AUTH_MODEL_BAD_JSON;
            }
            seen = seen || is_model;
            ws(&s);
            if (eat(&s, ','))
                continue;
            if (!eat(&s, '}'))
                return AUTH_MODEL_BAD_JSON;
            break;
        }
    }
    ws(&s);
    if (s.p != s.end)
        return AUTH_MODEL_BAD_JSON;
    return dup ? AUTH_MODEL_DUPLICATE : result;
}
