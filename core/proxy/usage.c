/* usage.c - token usage from response bodies without holding them (see usage.h).
 *
 * A lenient JSON member walker (strings and brackets tracked, nothing validated,
 * every index checked against the end) serves both readers: the SSE reader walks the
 * data of events that can hold usage; the JSON reader walks the usage object it found
 * by scanning its tail window backwards, and falls back to walking its head window.
 */
#include "proxy/usage.h"

#include <string.h>

#include "json/json.h"
#include "net/bytemask.h"

#define COUNT_DIGITS_MAX 15 /* counts below 10^15; four of them sum without overflow */

enum line_state { LS_FIELD, LS_DATA_SP, LS_DATA, LS_SKIP };

/* The usage member named k[0..kn), or -1. Compares of constant size: inlined. */
static int field_of(const char *k, size_t kn)
{
    switch (kn) {
    case 12:
        return !memcmp(k, "total_tokens", 12) ? USAGE_F_TOTAL : !memcmp(k, "input_tokens", 12) ? USAGE_F_INPUT : -1;
    case 13:
        return !memcmp(k, "prompt_tokens", 13) ? USAGE_F_PROMPT : !memcmp(k, "output_tokens", 13) ? USAGE_F_OUTPUT : -1;
    case 17: return !memcmp(k, "completion_tokens", 17) ? USAGE_F_COMPLETION : -1;
    case 23: return !memcmp(k, "cache_read_input_tokens", 23) ? USAGE_F_CACHE_READ : -1;
    case 27: return !memcmp(k, "cache_creation_input_tokens", 27) ? USAGE_F_CACHE_CREATE : -1;
    default: return -1;
    }
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws_slow(const char *p, size_t i, size_t n)
{
    while (i < n && is_ws(p[i]))
        i++;
    return i;
}

/* Compact JSON has no whitespace: one comparison, inlined, settles most calls. */
static inline size_t skip_ws(const char *p, size_t i, size_t n)
{
    return i < n && (unsigned char)p[i] > ' ' ? i : skip_ws_slow(p, i, n);
}

/* Bytes that end a number, true, false or null. */
static const bool scalar_stop[256] = {
    [' '] = true, ['\t'] = true, ['\n'] = true, ['\r'] = true, [','] = true, ['}'] = true, [']'] = true,
};

static bool key_is(const char *k, size_t kn, const char *lit)
{
    size_t ln = strlen(lit);
    return kn == ln && memcmp(k, lit, ln) == 0;
}

/* ---- blocks: where the next '"' or '\\' is, without a call per string ----
 * Strings here are mostly short keys and values, where a memchr call costs more than
 * the search: net/bytemask.h looks at 16 bytes at a time (8 without SSE2). */

/* '"' and '\\': what ends a run of string text. */
static inline bm_mask text_stop_mask(const char *p)
{
    bm_block b = bm_load(p);
    return bm_bits(bm_or(bm_eq(b, '"'), bm_eq(b, '\\')));
}

/* '\\', the control bytes and DEL: what a model name is not copied as it is with. */
static inline bm_mask model_stop_mask(const char *p)
{
    bm_block b = bm_load(p);
    return bm_bits(bm_or(bm_ctl(b), bm_eq(b, '\\')));
}

enum stop { STOP_TEXT, STOP_MODEL };

static inline bm_mask stop_mask(const char *p, enum stop k)
{
    return k == STOP_TEXT ? text_stop_mask(p) : model_stop_mask(p);
}

static inline bool is_stop(char c, enum stop k)
{
    return c == '\\' || (k == STOP_TEXT ? c == '"' : (unsigned char)c < 0x20 || c == 0x7f);
}

/* The first j' in [j, n) where p[j'] is a stop of kind k, or n. The last block
 * overlaps the one before rather than reading past n. */
static inline size_t first_stop(const char *p, size_t j, size_t n, enum stop k)
{
    for (; j + BM_BLOCK <= n; j += BM_BLOCK) {
        bm_mask m = stop_mask(p + j, k);
        if (m)
            return j + bm_first(m);
    }
    if (j < n && n >= BM_BLOCK) {
        bm_mask m = stop_mask(p + n - BM_BLOCK, k) >> ((j + BM_BLOCK - n) * BM_STRIDE);
        return m ? j + bm_first(m) : n;
    }
    while (j < n && !is_stop(p[j], k))
        j++;
    return j;
}

/* ---- forward walker ---- */

/* One past the closing quote of the string opening at p[i], or 0 when it does not
 * close before n. Read forward, an escape is its backslash and the byte after. */
static inline size_t str_end(const char *p, size_t i, size_t n)
{
    size_t j = i + 1;
    for (;;) {
        j = first_stop(p, j, n, STOP_TEXT);
        if (j >= n)
            return 0;
        if (p[j] == '"')
            return j + 1;
        j += 2;
    }
}

/* One past the value starting at p[i], or 0 when n cuts it off. */
static size_t value_end(const char *p, size_t i, size_t n)
{
    if (i >= n)
        return 0;
    if (p[i] == '"')
        return str_end(p, i, n);
    if (p[i] == '{' || p[i] == '[') {
        size_t depth = 0;
        while (i < n) {
            char c = p[i];
            if (c == '"') {
                i = str_end(p, i, n);
                if (i == 0)
                    return 0;
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth == 0)
                return i + 1;
            i++;
        }
        return 0;
    }
    while (i < n && !scalar_stop[(unsigned char)p[i]])
        i++;
    return i < n ? i : 0; /* a scalar at the very end may be cut short */
}

typedef void (*member_fn)(void *ctx, const char *key, size_t klen, const char *val,
                          size_t vlen);

/* Calls fn for each member of the object opening at p[i] whose value ends before n;
 * stops at the closing brace, at the cut, or at the first thing out of place. */
static void walk_object(const char *p, size_t i, size_t n, member_fn fn, void *ctx)
{
    if (i >= n || p[i] != '{')
        return;
    i++;
    for (;;) {
        i = skip_ws(p, i, n);
        if (i >= n || p[i] == '}')
            return;
        if (p[i] == ',') {
            i++;
            continue;
        }
        if (p[i] != '"')
            return;
        size_t ke = str_end(p, i, n);
        size_t colon = ke ? skip_ws(p, ke, n) : n;
        if (colon >= n || p[colon] != ':')
            return;
        size_t v = skip_ws(p, colon + 1, n);
        size_t ve = value_end(p, v, n);
        if (ve == 0)
            return;
        fn(ctx, p + i + 1, ke - i - 2, p + v, ve - v);
        i = ve;
    }
}

/* ---- members ---- */

/* The members of the usage object opening at p[i], as walk_object would give them,
 * with their counts read as the digits go by: a count is a plain non-negative
 * integer of at most COUNT_DIGITS_MAX digits; any other value is skipped. Returns
 * one past the closing brace, or 0 when the walk stops before it. */
static size_t usage_object(const char *p, size_t i, size_t n, int64_t *raw)
{
    if (i >= n || p[i] != '{')
        return 0;
    i++;
    for (;;) {
        i = skip_ws(p, i, n);
        if (i >= n)
            return 0;
        if (p[i] == '}')
            return i + 1;
        if (p[i] == ',') {
            i++;
            continue;
        }
        if (p[i] != '"')
            return 0;
        size_t ke = str_end(p, i, n);
        size_t colon = ke ? skip_ws(p, ke, n) : n;
        if (colon >= n || p[colon] != ':')
            return 0;
        size_t v = skip_ws(p, colon + 1, n), e = v;
        int64_t x = 0;
        for (; e < n && (unsigned char)(p[e] - '0') < 10; e++)
            if (e - v < COUNT_DIGITS_MAX)
                x = x * 10 + (p[e] - '0');
        if (e > v && e < n && scalar_stop[(unsigned char)p[e]]) { /* a number of digits */
            int f = field_of(p + i + 1, ke - i - 2);
            if (f >= 0 && e - v <= COUNT_DIGITS_MAX)
                raw[f] = x;
        } else {
            e = value_end(p, v, n); /* not a count */
            if (e == 0)
                return 0;
        }
        i = e;
    }
}

/* Decodes the JSON string v[0..vn) (quotes included) as the model name; names that
 * are invalid, too long or hold control bytes stay unknown. */
static void set_model(struct usage_scan *s, const char *v, size_t vn)
{
    /* Plain names (no escapes) are copied as they are; the JSON reader decodes the rest. */
    if (vn >= 3 && vn - 2 < sizeof s->model) {
        /* One search for a backslash or a control byte settles the usual name. */
        size_t stop = first_stop(v, 1, vn - 1, STOP_MODEL);
        if (stop == vn - 1) {
            memcpy(s->model, v + 1, vn - 2);
            s->model[vn - 2] = '\0';
            return;
        }
        if (!memchr(v + stop, '\\', vn - 1 - stop))
            return; /* a control byte and no escape */
    }
    json_doc d;
    json_token t;
    char m[sizeof s->model];
    if (json_parse(&d, v, vn, &t, 1, 1) != JSON_OK ||
        json_str_decode(&d, 0, m, sizeof m, NULL) != JSON_OK || m[0] == '\0')
        return;
    for (const char *c = m; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return;
    memcpy(s->model, m, sizeof m);
}

struct walk {
    struct usage_scan *s;
    bool want_usage;
    bool descend; /* SSE: also look inside "message" / "response" */
};

static void top_member(void *ctx, const char *k, size_t kn, const char *v, size_t vn)
{
    struct walk *w = ctx;
    if (key_is(k, kn, "usage")) {
        if (w->want_usage)
            usage_object(v, 0, vn, w->s->raw);
    } else if (key_is(k, kn, "model")) {
        if (!w->s->model[0] && v[0] == '"')
            set_model(w->s, v, vn);
    } else if (w->descend && (key_is(k, kn, "message") || key_is(k, kn, "response"))) {
        struct walk inner = {w->s, w->want_usage, false};
        walk_object(v, 0, vn, top_member, &inner);
    }
}

/* ---- JSON bodies ---- */

/* Finds the opening quote of the string closing at p[close], scanning backwards.
 * whole: p starts at the body's first byte, so a backslash run reaching p[0] is
 * complete; otherwise the escape parity there is unknown and the scan gives up. */
static bool open_quote(const char *p, size_t close, bool whole, size_t *open)
{
    size_t j = close;
    while (j > 0) {
        const char *q = memrchr(p, '"', j);
        if (!q)
            return false;
        j = (size_t)(q - p);
        size_t bs = 0;
        while (bs < j && p[j - 1 - bs] == '\\')
            bs++;
        if (bs == j && !whole)
            return false;
        if ((bs & 1u) == 0) {
            *open = j;
            return true;
        }
    }
    return false;
}

/* Scans p[0..n) backwards from the document's closing brace. String state and depth
 * are exact from there on (JSON has backslashes only inside strings), so the members
 * of the top-level object are told apart from nested ones and from text. The last
 * "usage" and "model" win, as in JSON.parse. Returns whether "usage" was seen. */
static bool tail_scan(struct usage_scan *s, const char *p, size_t n, bool whole)
{
    size_t i = n, depth = 0;
    while (i > 0 && is_ws(p[i - 1]))
        i--;
    if (i == 0 || p[i - 1] != '}')
        return false; /* cut short or not an object */
    bool got_usage = false, got_model = false;
    /* The model usually sits at the start, read by head_model(): then the scan stops
     * at "usage" instead of walking the whole body back. */
    while (i > 0 && !(got_usage && (got_model || s->model[0]))) {
        char c = p[--i];
        if (c == '}' || c == ']') {
            depth++;
        } else if (c == '{' || c == '[') {
            if (depth <= 1)
                break; /* the top-level object's opening brace */
            depth--;
        } else if (c == '"') {
            size_t open;
            if (!open_quote(p, i, whole, &open))
                break; /* the window starts inside this string */
            size_t colon = skip_ws(p, i + 1, n);
            if (depth == 1 && colon < n && p[colon] == ':') {
                const char *k = p + open + 1;
                size_t kn = i - open - 1, v = skip_ws(p, colon + 1, n);
                if (!got_usage && key_is(k, kn, "usage")) {
                    got_usage = true;
                    usage_object(p, v, n, s->raw);
                } else if (!got_model && key_is(k, kn, "model")) {
                    got_model = true;
                    size_t ve = value_end(p, v, n);
                    if (ve && p[v] == '"')
                        set_model(s, p + v, ve - v);
                }
            }
            i = open;
        }
    }
    return got_usage;
}

static void tail_add(struct usage_scan *s, const char *p, size_t n)
{
    if (n >= USAGE_TAIL_CAP) {
        memcpy(s->b.json.tail, p + n - USAGE_TAIL_CAP, USAGE_TAIL_CAP);
        s->tail_pos = 0;
        return;
    }
    size_t first = USAGE_TAIL_CAP - s->tail_pos;
    first = n < first ? n : first;
    memcpy(s->b.json.tail + s->tail_pos, p, first);
    memcpy(s->b.json.tail, p + first, n - first);
    s->tail_pos = (uint32_t)((s->tail_pos + n) % USAGE_TAIL_CAP);
}

/* A body that fits the head (most answers) is copied once: the tail ring starts
 * when the body outgrows the head, with the head's bytes. */
static void json_feed(struct usage_scan *s, const char *p, size_t n)
{
    if (s->len < USAGE_HEAD_CAP) {
        size_t k = USAGE_HEAD_CAP - s->len;
        k = n < k ? n : k;
        memcpy(s->b.json.head + s->len, p, k);
        s->len += (uint32_t)k;
    }
    if (s->seen + n > USAGE_HEAD_CAP) {
        if (s->seen <= USAGE_HEAD_CAP)
            tail_add(s, s->b.json.head, (size_t)s->seen);
        tail_add(s, p, n);
    }
    s->seen += n;
}

/* "model" among the first members of the head (OpenAI and Anthropic put it there). */
static void head_model(struct usage_scan *s)
{
    const char *h = s->b.json.head;
    size_t n = s->len, i = 0;
    if (n >= 3 && memcmp(h, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    i = skip_ws(h, i, n);
    if (i >= n || h[i] != '{')
        return;
    i++;
    for (int m = 0; m < 8; m++) {
        i = skip_ws(h, i, n);
        if (i < n && h[i] == ',')
            i = skip_ws(h, i + 1, n);
        if (i >= n || h[i] != '"')
            return;
        size_t ke = str_end(h, i, n);
        size_t colon = ke ? skip_ws(h, ke, n) : n;
        if (colon >= n || h[colon] != ':')
            return;
        size_t v = skip_ws(h, colon + 1, n);
        size_t ve = value_end(h, v, n);
        if (!ve)
            return;
        if (key_is(h + i + 1, ke - i - 2, "model")) {
            if (h[v] == '"')
                set_model(s, h + v, ve - v);
            return;
        }
        i = ve;
    }
}

static bool has_usage_object(const char *p, size_t n);
static size_t last_usage_object(const char *p, size_t n, size_t *quote);

/* The fast path for a body held whole in p[0..n): its last `"usage": {` (its quote
 * at p[q], its '{' at p[v]) is taken for the top-level usage when, read forward from there, it is a member
 * followed by nothing but other members (no "usage" among them) and the closing brace
 * at the end. In JSON that proves it: a '"' not escaped is outside a string unless it
 * closes one, and `"usage"` cannot follow a string's end; the brace after the members
 * then closes the top-level object. The counts land in s->raw and a "model" among the
 * members after it is read as tail_scan would (the last one wins over head_model's).
 * Returns false, with s->raw as it was, for anything else: tail_scan decides then. */
static bool usage_last_member(struct usage_scan *s, const char *p, size_t n, size_t q,
                              size_t v)
{
    size_t bs = 0;
    while (bs < q && p[q - 1 - bs] == '\\')
        bs++;
    if (bs & 1u)
        return false; /* an escaped quote: the key is "\"usage" */
    int64_t raw[USAGE_F_COUNT];
    memcpy(raw, s->raw, sizeof raw);
    size_t i = usage_object(p, v, n, raw), model = 0, model_end = 0;
    if (i == 0)
        return false;
    for (;;) {
        i = skip_ws(p, i, n);
        if (i >= n)
            return false;
        if (p[i] == '}')
            break;
        if (p[i] != ',')
            return false;
        i = skip_ws(p, i + 1, n);
        if (i >= n || p[i] != '"')
            return false;
        size_t ke = str_end(p, i, n);
        size_t colon = ke ? skip_ws(p, ke, n) : n;
        if (colon >= n || p[colon] != ':')
            return false;
        size_t val = skip_ws(p, colon + 1, n), ve = value_end(p, val, n);
        if (ve == 0 || key_is(p + i + 1, ke - i - 2, "usage"))
            return false; /* cut, or a later "usage" (null, say): tail_scan's call */
        if (key_is(p + i + 1, ke - i - 2, "model")) {
            model = val;
            model_end = ve;
        }
        i = ve;
    }
    if (skip_ws(p, i + 1, n) != n)
        return false;
    memcpy(s->raw, raw, sizeof raw);
    if (model_end && p[model] == '"')
        set_model(s, p + model, model_end - model);
    return true;
}

static void json_end(struct usage_scan *s)
{
    head_model(s);
    char win[USAGE_TAIL_CAP];
    const char *p = s->seen <= USAGE_HEAD_CAP ? s->b.json.head : s->b.json.tail;
    size_t n = (size_t)s->seen;
    bool whole = s->seen <= USAGE_TAIL_CAP;
    if (!whole) { /* unroll the ring, oldest byte first */
        size_t pos = s->tail_pos;
        memcpy(win, s->b.json.tail + pos, USAGE_TAIL_CAP - pos);
        memcpy(win + USAGE_TAIL_CAP - pos, s->b.json.tail, pos);
        p = win;
        n = USAGE_TAIL_CAP;
    }
    /* Most bodies without usage (model lists, errors) end here, unscanned. */
    size_t q = 0, v = last_usage_object(p, n, &q);
    if (whole && v) {
        /* Most answers: usage is the last member, the model was among the first. */
        if (usage_last_member(s, p, n, q, v) && s->model[0])
            return;
    } else if (!v && (whole || !has_usage_object(s->b.json.head, s->len))) {
        return;
    }
    bool got_usage = tail_scan(s, p, n, whole);
    if (got_usage && s->model[0])
        return;
    /* The head: a truncated body, usage first, or the model far from the end. */
    const char *h = s->b.json.head;
    size_t hn = s->len, i = 0;
    if (hn >= 3 && memcmp(h, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    struct walk w = {s, !got_usage, false};
    walk_object(h, skip_ws(h, i, hn), hn, top_member, &w);
}

/* ---- server-sent events ---- */

/* Where a "usage" member with an object value occurs in p[0..n): run on every event,
 * so it hops between the rare 'g's with memchr (glibc's memmem costs a 256-byte table
 * per call), and it is not found for the "usage": null of OpenAI chunks. */

/* The offset of the '{' of `"usage": {` whose 'g' is p[k] (4 <= k, k + 2 < n), or 0. */
static size_t usage_object_at(const char *p, size_t k, size_t n)
{
    if (memcmp(p + k - 4, "\"usage\"", 7) != 0)
        return 0;
    size_t j = skip_ws(p, k + 3, n);
    if (j >= n || p[j] != ':')
        return 0;
    j = skip_ws(p, j + 1, n);
    return j < n && p[j] == '{' ? j : 0;
}

static bool has_usage_object(const char *p, size_t n)
{
    size_t i = 4; /* 'g' is byte 4 of "usage" with its quotes */
    while (i + 2 < n) {
        const char *g = memchr(p + i, 'g', n - 2 - i);
        if (!g)
            return false;
        size_t k = (size_t)(g - p);
        if (usage_object_at(p, k, n))
            return true;
        i = k + 1;
    }
    return false;
}

/* The same from the end, giving the last one's '{' (0: none) and its opening quote:
 * a JSON body's usage is its last member, so the first 'g' met is usually its own,
 * where a forward search stops at every "g" of the text. */
static size_t last_usage_object(const char *p, size_t n, size_t *quote)
{
    size_t j = n > 2 ? n - 2 : 0; /* 'g' sits in p[4 .. n-2) */
    while (j > 4) {
        const char *g = memrchr(p + 4, 'g', j - 4);
        if (!g)
            return 0;
        size_t k = (size_t)(g - p), v = usage_object_at(p, k, n);
        if (v) {
            *quote = k - 4;
            return v;
        }
        j = k;
    }
    return 0;
}

static void sse_event(struct usage_scan *s)
{
    const char *p = s->b.event;
    size_t n = s->len, i = skip_ws(p, 0, n);
    if (i >= n || p[i] != '{')
        return; /* [DONE] and the like */
    bool want_model = !s->model[0] && memmem(p + i, n - i, "\"model\"", 7) != NULL;
    bool want_usage = has_usage_object(p + i, n - i);
    if (!want_model && !want_usage)
        return;
    struct walk w = {s, want_usage, true};
    walk_object(p, i, n, top_member, &w);
}

static void ev_append(struct usage_scan *s, const char *p, size_t n)
{
    size_t room = USAGE_EVENT_CAP - s->len;
    if (n > room) {
        n = room;
        s->ev_cut = true; /* the rest of the event is dropped */
    }
    memcpy(s->b.event + s->len, p, n);
    s->len += (uint32_t)n;
}

static void ev_dispatch(struct usage_scan *s)
{
    if (s->ev_data)
        sse_event(s);
    s->len = 0;
    s->ev_data = false;
    s->ev_cut = false;
}

/* Data lines of one event join with LF, which JSON takes as whitespace. */
static void data_line_start(struct usage_scan *s)
{
    if (s->ev_data && !s->ev_cut)
        ev_append(s, "\n", 1);
    s->ev_data = true;
}

static bool field_is_data(const struct usage_scan *s)
{
    return s->field_len == 4 && memcmp(s->field, "data", 4) == 0;
}

/* A line ended while its field name was being read: blank (end of event) or a bare
 * field name ("data" alone is an empty data line). */
static void field_line_end(struct usage_scan *s)
{
    if (s->field_len == 0)
        ev_dispatch(s);
    else if (field_is_data(s))
        data_line_start(s);
    s->field_len = 0;
}

/* A whole line, read at its start, in a chunk without CR. */
static void sse_line(struct usage_scan *s, const char *line, size_t len)
{
    if (len == 0) {
        ev_dispatch(s);
    } else if (len >= 5 && memcmp(line, "data:", 5) == 0) {
        size_t off = len > 5 && line[5] == ' ' ? 6 : 5;
        data_line_start(s);
        if (!s->ev_cut)
            ev_append(s, line + off, len - off);
    } else if (len == 4 && memcmp(line, "data", 4) == 0) {
        data_line_start(s);
    }
}

/* Lines end with LF, CRLF or CR. In a chunk without CR (the usual case) each whole
 * line costs one memchr; lines split across chunks go through a small state machine:
 * field names byte by byte, the rest crossed with memchr and, for data, copied while
 * it fits. */
static void sse_feed(struct usage_scan *s, const char *p, size_t n)
{
    bool lf_only = !s->pending_cr && memchr(p, '\r', n) == NULL;
    size_t i = 0;
    while (i < n) {
        if (lf_only && s->line_state == LS_FIELD && s->field_len == 0) {
            const char *nl = memchr(p + i, '\n', n - i);
            if (nl) {
                size_t len = (size_t)(nl - (p + i));
                sse_line(s, p + i, len);
                i += len + 1;
                continue;
            }
        }
        if (s->pending_cr) {
            s->pending_cr = false;
            if (p[i] == '\n') {
                i++;
                continue;
            }
        }
        if (s->line_state == LS_FIELD) {
            char c = p[i++];
            if (c == '\n' || c == '\r') {
                s->pending_cr = c == '\r';
                field_line_end(s);
            } else if (c == ':') {
                bool data = field_is_data(s);
                if (data)
                    data_line_start(s);
                s->line_state = data ? LS_DATA_SP : LS_SKIP;
            } else if (s->field_len < sizeof s->field) {
                s->field[s->field_len++] = c;
            } else {
                s->line_state = LS_SKIP;
            }
            continue;
        }
        if (s->line_state == LS_DATA_SP) {
            s->line_state = LS_DATA;
            if (p[i] == ' ') {
                i++;
                continue;
            }
        }
        size_t len = n - i;
        const char *nl = memchr(p + i, '\n', len);
        if (nl)
            len = (size_t)(nl - (p + i));
        const char *cr = lf_only ? NULL : memchr(p + i, '\r', len);
        if (cr)
            len = (size_t)(cr - (p + i));
        if (s->line_state == LS_DATA && !s->ev_cut)
            ev_append(s, p + i, len);
        i += len;
        if (i < n) { /* at the line end */
            s->pending_cr = p[i] == '\r';
            i++;
            s->line_state = LS_FIELD;
            s->field_len = 0;
        }
    }
}

/* ---- API ---- */

static bool ieq(const char *a, const char *lit, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return false;
    }
    return true;
}

/* The type alone, or followed by parameters. */
static bool type_is(const char *ct, size_t len, const char *lit, size_t n)
{
    return len >= n && memcmp(ct, lit, n) == 0 &&
           (len == n || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

enum usage_format usage_format_of(const char *ct, size_t len)
{
    if (!ct)
        return USAGE_NONE;
    /* Every response pays for this: the usual spellings first, as blocks. */
    if (type_is(ct, len, "application/json", 16))
        return USAGE_JSON;
    if (type_is(ct, len, "text/event-stream", 17))
        return USAGE_SSE;
    size_t i = 0;
    while (i < len && (ct[i] == ' ' || ct[i] == '\t'))
        i++;
    size_t e = i;
    while (e < len && ct[e] != ';' && ct[e] != ' ' && ct[e] != '\t')
        e++;
    const char *t = ct + i;
    size_t n = e - i;
    if (n == 16 && ieq(t, "application/json", n))
        return USAGE_JSON;
    if (n == 17 && ieq(t, "text/event-stream", n))
        return USAGE_SSE;
    if (n > 17 && ieq(t, "application/", 12) && ieq(t + n - 5, "+json", 5) &&
        !memchr(t + 12, '/', n - 12))
        return USAGE_JSON;
    return USAGE_NONE;
}

void usage_clear(struct usage *u)
{
    u->prompt = u->completion = u->total = -1;
    u->model[0] = '\0';
}

void usage_scan_init(struct usage_scan *s, enum usage_format f)
{
    /* The buffers need no clearing: only bytes written are read. */
    memset(s, 0, offsetof(struct usage_scan, b));
    s->format = (uint8_t)f;
    s->line_state = LS_FIELD;
    for (size_t i = 0; i < USAGE_F_COUNT; i++)
        s->raw[i] = -1;
}

void usage_scan_feed(struct usage_scan *s, const char *data, size_t n)
{
    if (n == 0)
        return;
    if (s->format == USAGE_JSON)
        json_feed(s, data, n);
    else if (s->format == USAGE_SSE)
        sse_feed(s, data, n);
}

static int64_t nonneg(int64_t v)
{
    return v < 0 ? 0 : v;
}

bool usage_scan_end(struct usage_scan *s, struct usage *u)
{
    if (s->format == USAGE_JSON)
        json_end(s);
    else if (s->format == USAGE_SSE)
        ev_dispatch(s); /* a last event without its blank line */
    const int64_t *r = s->raw;
    usage_clear(u);
    if (r[USAGE_F_PROMPT] >= 0)
        u->prompt = r[USAGE_F_PROMPT];
    else if (r[USAGE_F_INPUT] >= 0 || r[USAGE_F_CACHE_CREATE] >= 0 ||
             r[USAGE_F_CACHE_READ] >= 0)
        u->prompt = nonneg(r[USAGE_F_INPUT]) + nonneg(r[USAGE_F_CACHE_CREATE]) +
                    nonneg(r[USAGE_F_CACHE_READ]);
    u->completion = r[USAGE_F_COMPLETION] >= 0 ? r[USAGE_F_COMPLETION] : r[USAGE_F_OUTPUT];
    if (r[USAGE_F_TOTAL] >= 0)
        u->total = r[USAGE_F_TOTAL];
    else if (u->prompt >= 0 && u->completion >= 0)
        u->total = u->prompt + u->completion;
    memcpy(u->model, s->model, sizeof u->model);
    return u->prompt >= 0 || u->completion >= 0 || u->total >= 0;
}
