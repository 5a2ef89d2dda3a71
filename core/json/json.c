/* json.c - the tokenizer/validator behind json_parse().
 *
 * An iterative state machine: nesting costs one bit per level (object or array) plus,
 * when tokens are kept, the parent link already stored in each token, so the depth
 * limit bounds memory without recursion and without allocating.
 */
#include "json.h"

#include "json_utf8.h"

#include <string.h>

enum pstate {
    P_VALUE,        /* a value must follow (top level, after ':' or ',' in an array) */
    P_VALUE_OR_END, /* just after '[' */
    P_KEY,          /* after ',' in an object */
    P_KEY_OR_END,   /* just after '{' */
    P_COLON,        /* after a key */
    P_COMMA_OR_END, /* after a value inside a container */
};

struct parser {
    const char *s;
    uint32_t len, pos;
    json_token *tok;
    uint32_t cap, n;
    int32_t cur; /* innermost open container's token (token mode), -1 at top */
    unsigned depth, max_depth;
    uint64_t is_obj[JSON_DEPTH_MAX / 64 + 1]; /* bit d: container at depth d */
};

static bool in_object(const struct parser *p)
{
    return (p->is_obj[p->depth / 64] >> (p->depth % 64)) & 1u;
}

static enum json_err fail(struct parser *p, enum json_err e, uint32_t at)
{
    p->pos = at;
    return e;
}

/* Append a token. `counted` says whether it is a child the container counts (array
 * elements and object keys; a member's value is not counted twice). */
static enum json_err emit(struct parser *p, enum json_type t, uint32_t start,
                          uint32_t end, bool counted)
{
    if (p->n >= (uint32_t)INT32_MAX)
        return fail(p, JSON_E_TOKENS, start);
    if (p->tok) {
        if (p->n >= p->cap)
            return fail(p, JSON_E_TOKENS, start);
        json_token *k = &p->tok[p->n];
        k->type = (uint8_t)t;
        k->start = start;
        k->end = end;
        k->size = 0;
        k->skip = p->n + 1;
        k->parent = p->cur;
        if (counted && p->cur >= 0)
            p->tok[p->cur].size++;
    }
    p->n++;
    return JSON_OK;
}

static enum json_err open_container(struct parser *p, enum json_type t, bool counted)
{
    uint32_t at = p->pos;
    if (p->depth >= p->max_depth)
        return fail(p, JSON_E_DEPTH, at);
    enum json_err e = emit(p, t, at, at + 1, counted);
    if (e)
        return e;
    if (p->tok)
        p->cur = (int32_t)(p->n - 1);
    p->depth++;
    uint64_t bit = (uint64_t)1 << (p->depth % 64);
    if (t == JSON_OBJECT)
        p->is_obj[p->depth / 64] |= bit;
    else
        p->is_obj[p->depth / 64] &= ~bit;
    p->pos++;
    return JSON_OK;
}

static void close_container(struct parser *p)
{
    if (p->tok) {
        json_token *k = &p->tok[p->cur];
        k->end = p->pos + 1;
        k->skip = p->n;
        p->cur = k->parent;
    }
    p->depth--;
    p->pos++;
}

/* Scan the string starting at the opening quote at p->pos; leaves pos past the
 * closing quote. */
static enum json_err scan_string(struct parser *p)
{
    const unsigned char *s = (const unsigned char *)p->s;
    uint32_t i = p->pos + 1;
    while (i < p->len) {
        unsigned char c = s[i];
        if (c == '"') {
            p->pos = i + 1;
            return JSON_OK;
        }
        if (c < 0x20)
            return fail(p, JSON_E_STRING, i);
        if (c == '\\') {
            if (i + 1 >= p->len)
                return fail(p, JSON_E_TRUNCATED, p->len);
            c = s[i + 1];
            if (c == 'u') {
                for (uint32_t k = 2; k < 6; k++) {
                    if (i + k >= p->len)
                        return fail(p, JSON_E_TRUNCATED, p->len);
                    if (json_hexval(s[i + k]) < 0)
                        return fail(p, JSON_E_STRING, i + k);
                }
                i += 6;
            } else if (strchr("\"\\/bfnrt", c) && c != 0) {
                i += 2;
            } else {
                return fail(p, JSON_E_STRING, i + 1);
            }
            continue;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n = json_utf8_len(s + i, p->len - i);
        if (n == 0)
            return fail(p, i + 4 > p->len && json_utf8_prefix(s + i, p->len - i)
                               ? JSON_E_TRUNCATED : JSON_E_STRING, i);
        i += (uint32_t)n;
    }
    return fail(p, JSON_E_TRUNCATED, p->len);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Digits at pos (at least one); TRUNCATED at end of input, NUMBER otherwise. */
static enum json_err digits(struct parser *p, uint32_t *i)
{
    if (*i >= p->len)
        return fail(p, JSON_E_TRUNCATED, p->len);
    if (!is_digit(p->s[*i]))
        return fail(p, JSON_E_NUMBER, *i);
    while (*i < p->len && is_digit(p->s[*i]))
        (*i)++;
    return JSON_OK;
}

static enum json_err scan_number(struct parser *p)
{
    uint32_t i = p->pos;
    enum json_err e;
    if (p->s[i] == '-')
        i++;
    if (i < p->len && p->s[i] == '0') {
        i++;
        if (i < p->len && is_digit(p->s[i]))
            return fail(p, JSON_E_NUMBER, i); /* leading zero */
    } else if ((e = digits(p, &i)) != JSON_OK) {
        return e;
    }
    if (i < p->len && p->s[i] == '.') {
        i++;
        if ((e = digits(p, &i)) != JSON_OK)
            return e;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        if ((e = digits(p, &i)) != JSON_OK)
            return e;
    }
    p->pos = i;
    return JSON_OK;
}

static enum json_err scan_literal(struct parser *p, const char *word)
{
    size_t n = strlen(word);
    size_t have = p->len - p->pos;
    size_t cmp = have < n ? have : n;
    if (memcmp(p->s + p->pos, word, cmp) != 0) {
        uint32_t at = p->pos;
        while (at < p->len && p->s[at] == word[at - p->pos])
            at++;
        return fail(p, JSON_E_SYNTAX, at);
    }
    if (have < n)
        return fail(p, JSON_E_TRUNCATED, p->len);
    p->pos += (uint32_t)n;
    return JSON_OK;
}

/* A scalar value, or the opening of a container. */
static enum json_err value(struct parser *p, enum pstate *st)
{
    bool counted = !in_object(p); /* a member's value was counted with its key */
    uint32_t start = p->pos;
    enum json_type t;
    enum json_err e;
    switch (p->s[start]) {
    case '{':
        *st = P_KEY_OR_END;
        return open_container(p, JSON_OBJECT, counted);
    case '[':
        *st = P_VALUE_OR_END;
        return open_container(p, JSON_ARRAY, counted);
    case '"':
        t = JSON_STRING;
        e = scan_string(p);
        break;
    case 't':
        t = JSON_TRUE;
        e = scan_literal(p, "true");
        break;
    case 'f':
        t = JSON_FALSE;
        e = scan_literal(p, "false");
        break;
    case 'n':
        t = JSON_NULL;
        e = scan_literal(p, "null");
        break;
    default:
        if (p->s[start] != '-' && !is_digit(p->s[start]))
            return fail(p, JSON_E_SYNTAX, start);
        t = JSON_NUMBER;
        e = scan_number(p);
        break;
    }
    if (e)
        return e;
    *st = P_COMMA_OR_END;
    return emit(p, t, start, p->pos, counted);
}

static enum json_err key(struct parser *p, enum pstate *st)
{
    uint32_t start = p->pos;
    if (p->s[start] != '"')
        return fail(p, JSON_E_SYNTAX, start);
    enum json_err e = scan_string(p);
    if (e)
        return e;
    *st = P_COLON;
    return emit(p, JSON_STRING, start, p->pos, true);
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

/* One step of the state machine at a non-whitespace byte. */
static enum json_err step(struct parser *p, enum pstate *st)
{
    char c = p->s[p->pos];
    switch (*st) {
    case P_VALUE_OR_END:
        if (c == ']') {
            close_container(p);
            *st = P_COMMA_OR_END;
            return JSON_OK;
        }
        return value(p, st);
    case P_VALUE:
        return value(p, st);
    case P_KEY_OR_END:
        if (c == '}') {
            close_container(p);
            *st = P_COMMA_OR_END;
            return JSON_OK;
        }
        return key(p, st);
    case P_KEY:
        return key(p, st);
    case P_COLON:
        if (c != ':')
            return fail(p, JSON_E_SYNTAX, p->pos);
        p->pos++;
        *st = P_VALUE;
        return JSON_OK;
    case P_COMMA_OR_END:
        if (c == ',') {
            p->pos++;
            *st = in_object(p) ? P_KEY : P_VALUE;
            return JSON_OK;
        }
        if (c != (in_object(p) ? '}' : ']'))
            return fail(p, JSON_E_SYNTAX, p->pos);
        close_container(p);
        return JSON_OK;
    }
    return fail(p, JSON_E_SYNTAX, p->pos);
}

static enum json_err run(struct parser *p)
{
    enum pstate st = P_VALUE;
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->len)
            return fail(p, JSON_E_TRUNCATED, p->len);
        enum json_err e = step(p, &st);
        if (e)
            return e;
        if (p->depth == 0 && st == P_COMMA_OR_END)
            break; /* the top-level value is complete */
    }
    skip_ws(p);
    return p->pos < p->len ? fail(p, JSON_E_TRAILING, p->pos) : JSON_OK;
}

enum json_err json_parse(json_doc *doc, const char *buf, size_t len, json_token *toks,
                         size_t cap, unsigned max_depth)
{
    struct parser p;
    memset(&p, 0, sizeof p);
    doc->buf = buf;
    doc->len = len;
    doc->tok = toks;
    doc->count = 0;
    doc->err_offset = 0;
    if (len >= UINT32_MAX)
        return JSON_E_TOO_LARGE;
    if (!buf)
        len = 0;
    p.s = buf;
    p.len = (uint32_t)len;
    p.tok = toks;
    p.cap = toks ? (cap > INT32_MAX ? (uint32_t)INT32_MAX : (uint32_t)cap) : 0;
    p.cur = -1;
    p.max_depth = max_depth == 0 ? JSON_DEPTH_DEFAULT
                  : max_depth > JSON_DEPTH_MAX ? JSON_DEPTH_MAX : max_depth;
    enum json_err e = run(&p);
    doc->count = p.n;
    if (e)
        doc->err_offset = p.pos;
    return e;
}

const char *json_strerror(enum json_err err)
{
    switch (err) {
    case JSON_OK: return "ok";
    case JSON_E_SYNTAX: return "unexpected character";
    case JSON_E_TRUNCATED: return "unexpected end of input";
    case JSON_E_STRING: return "invalid string (control character, escape or UTF-8)";
    case JSON_E_NUMBER: return "invalid number";
    case JSON_E_TRAILING: return "unexpected data after the document";
    case JSON_E_DEPTH: return "nesting too deep";
    case JSON_E_TOKENS: return "document has too many values";
    case JSON_E_TOO_LARGE: return "document too large";
    case JSON_E_TYPE: return "value has the wrong type";
    case JSON_E_RANGE: return "number out of range";
    case JSON_E_SPACE: return "output buffer too small";
    case JSON_E_STATE: return "writer call out of place";
    }
    return "unknown error";
}
