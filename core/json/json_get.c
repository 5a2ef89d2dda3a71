/* json_get.c - reading values out of a parsed json_doc.
 *
 * Every helper checks its token index and type, so a chain of look-ups on a document
 * of unexpected shape yields -1 / JSON_NONE / JSON_E_TYPE instead of crashing.
 */
#include "json.h"

#include "json_utf8.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const json_token *tok_at(const json_doc *doc, int i)
{
    if (!doc || !doc->tok || i < 0 || (uint32_t)i >= doc->count)
        return NULL;
    return &doc->tok[i];
}

enum json_type json_type(const json_doc *doc, int i)
{
    const json_token *t = tok_at(doc, i);
    return t ? (enum json_type)t->type : JSON_NONE;
}

const char *json_raw(const json_doc *doc, int i, size_t *len)
{
    const json_token *t = tok_at(doc, i);
    if (!t) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = t->end - t->start;
    return doc->buf + t->start;
}

json_iter json_iter_begin(const json_doc *doc, int container)
{
    json_iter it = {doc, -1, 0};
    const json_token *t = tok_at(doc, container);
    if (t && (t->type == JSON_OBJECT || t->type == JSON_ARRAY) && t->size > 0) {
        it.next = container + 1;
        it.left = t->type == JSON_OBJECT ? t->size * 2 : t->size;
    }
    return it;
}

static int iter_take(json_iter *it)
{
    if (it->left == 0 || it->next < 0)
        return -1;
    int i = it->next;
    it->left--;
    it->next = it->left ? (int)it->doc->tok[i].skip : -1;
    return i;
}

bool json_array_next(json_iter *it, int *elem)
{
    int i = iter_take(it);
    if (i < 0)
        return false;
    *elem = i;
    return true;
}

bool json_object_next(json_iter *it, int *key, int *value)
{
    if (it->left < 2)
        return false;
    *key = iter_take(it);
    *value = iter_take(it);
    return true;
}

int json_find(const json_doc *doc, int obj, const char *key)
{
    if (json_type(doc, obj) != JSON_OBJECT || !key)
        return -1;
    json_iter it = json_iter_begin(doc, obj);
    int k, v, found = -1;
    while (json_object_next(&it, &k, &v))
        if (json_str_eq(doc, k, key))
            found = v;
    return found;
}

int json_at(const json_doc *doc, int arr, uint32_t index)
{
    if (json_type(doc, arr) != JSON_ARRAY)
        return -1;
    json_iter it = json_iter_begin(doc, arr);
    int e;
    for (uint32_t n = 0; json_array_next(&it, &e); n++)
        if (n == index)
            return e;
    return -1;
}

/* One decoded piece of a string's content: a run of bytes needing no unescaping, or
 * one escape decoded into tmp. Runs always hold whole UTF-8 characters. */
struct seg {
    const char *p;
    size_t n;
    bool escape;
    char tmp[4];
};

static uint32_t hex4(const char *p)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++)
        v = v << 4 | (uint32_t)json_hexval((unsigned char)p[k]);
    return v;
}

/* Decode the escape at *cur (validated by json_parse) into s->tmp. */
static void seg_escape(const char **cur, const char *end, struct seg *s)
{
    const char *p = *cur;
    uint32_t cp;
    s->escape = true;
    s->p = s->tmp;
    switch (p[1]) {
    case 'b': cp = '\b'; break;
    case 'f': cp = '\f'; break;
    case 'n': cp = '\n'; break;
    case 'r': cp = '\r'; break;
    case 't': cp = '\t'; break;
    case 'u':
        cp = hex4(p + 2);
        if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 12 && p[6] == '\\' &&
            p[7] == 'u') {
            uint32_t lo = hex4(p + 8);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF)
            cp = 0xFFFD; /* lone surrogate: not representable in UTF-8 */
        s->n = json_utf8_put(cp, s->tmp);
        *cur = p + 6;
        return;
    default: cp = (unsigned char)p[1]; break; /* " \ / */
    }
    s->tmp[0] = (char)cp;
    s->n = 1;
    *cur = p + 2;
}

static bool seg_next(const char **cur, const char *end, struct seg *s)
{
    if (*cur >= end)
        return false;
    if (**cur == '\\') {
        seg_escape(cur, end, s);
        return true;
    }
    const char *bs = memchr(*cur, '\\', (size_t)(end - *cur));
    s->escape = false;
    s->p = *cur;
    s->n = (size_t)((bs ? bs : end) - *cur);
    *cur += s->n;
    return true;
}

/* Content bounds of string token i (quotes excluded); false when not a string. */
static bool str_bounds(const json_doc *doc, int i, const char **b, const char **e)
{
    const json_token *t = tok_at(doc, i);
    if (!t || t->type != JSON_STRING)
        return false;
    *b = doc->buf + t->start + 1;
    *e = doc->buf + t->end - 1;
    return true;
}

bool json_str_eq(const json_doc *doc, int i, const char *s)
{
    const char *cur, *end;
    if (!s || !str_bounds(doc, i, &cur, &end))
        return false;
    size_t left = strlen(s);
    struct seg g;
    while (seg_next(&cur, end, &g)) {
        if (g.n > left || memcmp(g.p, s, g.n) != 0)
            return false;
        s += g.n;
        left -= g.n;
    }
    return left == 0;
}

size_t json_str_len(const json_doc *doc, int i)
{
    const char *cur, *end;
    if (!str_bounds(doc, i, &cur, &end))
        return 0;
    size_t n = 0;
    struct seg g;
    while (seg_next(&cur, end, &g))
        n += g.n;
    return n;
}

/* Bytes of run p[0..n) that fit in room without splitting a UTF-8 character. */
static size_t fit_whole_chars(const char *p, size_t n, size_t room)
{
    if (n <= room)
        return n;
    size_t k = room;
    while (k > 0 && ((unsigned char)p[k] & 0xC0) == 0x80)
        k--;
    return k;
}

enum json_err json_str_decode(const json_doc *doc, int i, char *out, size_t cap,
                              size_t *len)
{
    const char *cur, *end;
    if (len)
        *len = 0;
    if (cap > 0)
        out[0] = '\0';
    if (!str_bounds(doc, i, &cur, &end))
        return JSON_E_TYPE;
    size_t n = 0, written = 0;
    bool full = cap == 0;
    struct seg g;
    while (seg_next(&cur, end, &g)) {
        if (!full) {
            size_t room = cap - 1 - written;
            size_t take = g.escape ? (g.n <= room ? g.n : 0)
                                   : fit_whole_chars(g.p, g.n, room);
            memcpy(out + written, g.p, take);
            written += take;
            full = take < g.n;
        }
        n += g.n;
    }
    if (cap > 0)
        out[written] = '\0';
    if (len)
        *len = n;
    return n < cap ? JSON_OK : JSON_E_SPACE;
}

enum json_err json_get_int(const json_doc *doc, int i, int64_t *out)
{
    size_t n;
    const char *p = json_raw(doc, i, &n);
    if (json_type(doc, i) != JSON_NUMBER)
        return JSON_E_TYPE;
    bool neg = p[0] == '-';
    size_t k = neg ? 1 : 0;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; k < n; k++) {
        if (p[k] < '0' || p[k] > '9')
            return JSON_E_TYPE; /* fraction or exponent */
        uint64_t d = (uint64_t)(p[k] - '0');
        if (v > (limit - d) / 10)
            return JSON_E_RANGE;
        v = v * 10 + d;
    }
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return JSON_OK;
}

enum json_err json_get_double(const json_doc *doc, int i, double *out)
{
    char tmp[512];
    size_t n;
    const char *p = json_raw(doc, i, &n);
    if (json_type(doc, i) != JSON_NUMBER)
        return JSON_E_TYPE;
    if (n >= sizeof tmp)
        return JSON_E_RANGE;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    errno = 0;
    double v = strtod(tmp, NULL);
    if (isinf(v))
        return JSON_E_RANGE;
    *out = v;
    return JSON_OK;
}

enum json_err json_get_bool(const json_doc *doc, int i, bool *out)
{
    enum json_type t = json_type(doc, i);
    if (t != JSON_TRUE && t != JSON_FALSE)
        return JSON_E_TYPE;
    *out = t == JSON_TRUE;
    return JSON_OK;
}
