/* filter_api.c - the host functions a filter calls on its transaction: strings,
 * memory, variables, headers, bodies, local answers, refs, timers, selection.
 *
 * Every call runs on the transaction's worker, so nothing here locks. What a
 * plugin hands in is copied into transaction memory before the call returns.
 */
#include "proxy/chain.h"
#include "proxy/tokens.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define T(x) ((struct txn *)(x))

/* ---- memory ---- */

void *tmem_alloc(struct txn_ext *x, size_t n)
{
    size_t a = (n + 15u) & ~(size_t)15u;
    if (a <= TMEM_INLINE - x->mem_used) {
        void *p = x->mem + x->mem_used;
        x->mem_used += (uint32_t)a;
        return p;
    }
    return arena_alloc(&x->arena, n);
}

static sl_str tmem_dup(struct txn_ext *x, sl_str s)
{
    char *p = tmem_alloc(x, s.len + 1);
    if (s.len)
        memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return (sl_str){p, s.len};
}

static sl_worker *h_txn_worker(sl_txn *t)
{
    return (sl_worker *)T(t)->c->w;
}

static void *h_txn_alloc(sl_txn *t, size_t n)
{
    return T(t)->x ? tmem_alloc(T(t)->x, n) : NULL;
}

static sl_str cstr(const char *s)
{
    return s ? (sl_str){s, strlen(s)} : (sl_str){"", 0};
}

static sl_str h_txn_str(sl_txn *tx, int32_t key)
{
    struct txn *t = T(tx);
    const struct http1_head *h = &t->c->head;
    switch (key) {
    case SL_TXN_METHOD: return cstr(t->method_str);
    case SL_TXN_PATH: return (sl_str){h->path, h->path_len};
    case SL_TXN_TARGET: return (sl_str){h->target, h->target_len};
    case SL_TXN_HOST:
        return h->host >= 0 ? (sl_str){h->headers[h->host].value, h->headers[h->host].value_len} : cstr("");
    case SL_TXN_CLIENT_IP: return cstr(t->c->ip);
    case SL_TXN_REQUEST_ID: return cstr(t->request_id);
    case SL_TXN_FRONTEND: return cstr(t->c->fe->conf->name);
    case SL_TXN_ROUTE: return cstr(t->route ? t->route->name : "");
    case SL_TXN_BACKEND: return cstr(t->be ? t->be->conf->name : "");
    case SL_TXN_SERVER: return cstr(t->srv ? t->srv->conf->name : "");
    case SL_TXN_MODEL: return cstr(tokens_result(t) ? tokens_result(t)->model : "");
    default: return cstr("");
    }
}

static int64_t h_txn_num(sl_txn *tx, int32_t key)
{
    struct txn *t = T(tx);
    const struct usage *u = tokens_result(t);
    switch (key) {
    case SL_TXN_STATUS: return t->status;
    case SL_TXN_ATTEMPTS: return t->attempts;
    case SL_TXN_WORKER: return t->c->w->id;
    case SL_TXN_BODY_LENGTH:
        return t->c->head.framing == HTTP1_BODY_LENGTH ? t->c->head.content_length : -1;
    case SL_TXN_RESPONSE_STARTED: return t->resp_started;
    case SL_TXN_PROMPT_TOKENS: return u ? u->prompt : -1;
    case SL_TXN_COMPLETION_TOKENS: return u ? u->completion : -1;
    case SL_TXN_TOTAL_TOKENS: return u ? u->total : -1;
    case SL_TXN_STREAM: return t->resp_sse;
    default: return -1;
    }
}

static int find_slot(struct txn_ext *x, const struct chain *ch, const void *instance)
{
    for (uint32_t i = 0; i < ch->count; i++)
        if (ch->items[i]->inst == instance)
            return (int)i;
    (void)x;
    return -1;
}

static void *h_txn_data(sl_txn *tx, const void *instance)
{
    struct txn *t = T(tx);
    if (!t->x || !t->x->data)
        return NULL;
    int i = find_slot(t->x, t->chain, instance);
    return i < 0 ? NULL : t->x->data[i];
}

static void h_txn_set_data(sl_txn *tx, const void *instance, void *data)
{
    struct txn *t = T(tx);
    struct txn_ext *x = t->x;
    if (!x)
        return;
    int i = find_slot(x, t->chain, instance);
    if (i < 0)
        return;
    if (!x->data) {
        x->data = tmem_alloc(x, t->chain->count * sizeof *x->data);
        memset(x->data, 0, t->chain->count * sizeof *x->data);
    }
    x->data[i] = data;
}

/* ---- variables ---- */

static bool str_eq(sl_str a, sl_str b)
{
    return a.len == b.len && (a.len == 0 || !memcmp(a.ptr, b.ptr, a.len));
}

static int32_t h_var_set(sl_txn *tx, sl_str name, sl_str value)
{
    struct txn_ext *x = T(tx)->x;
    if (!x || !name.len || (!value.ptr && value.len))
        return SL_ERR_INVALID;
    for (uint32_t i = 0; i < x->var_count; i++)
        if (str_eq(x->vars[i].name, name)) {
            x->vars[i].value = tmem_dup(x, value);
            return SL_OK;
        }
    if (x->var_count == x->var_cap) {
        uint32_t cap = x->var_cap ? x->var_cap * 2 : 8;
        struct tvar *nv = tmem_alloc(x, cap * sizeof *nv);
        if (x->var_count)
            memcpy(nv, x->vars, x->var_count * sizeof *nv);
        x->vars = nv;
        x->var_cap = cap;
    }
    x->vars[x->var_count++] = (struct tvar){tmem_dup(x, name), tmem_dup(x, value)};
    return SL_OK;
}

static int32_t h_var_get(sl_txn *tx, sl_str name, sl_str *value)
{
    struct txn_ext *x = T(tx)->x;
    if (x)
        for (uint32_t i = 0; i < x->var_count; i++)
            if (str_eq(x->vars[i].name, name)) {
                if (value)
                    *value = x->vars[i].value;
                return SL_OK;
            }
    return SL_NOT_FOUND;
}

/* ---- headers ---- */

/* ASCII case folding for header names (tokens: no byte needs more). */
static inline unsigned char fold(unsigned char c)
{
    return (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

static bool name_eq(sl_str a, const char *b, size_t blen)
{
    if (a.len != blen)
        return false;
    for (size_t i = blen; i-- > 0;) /* names sharing a prefix differ near the end */
        if (fold((unsigned char)a.ptr[i]) != fold((unsigned char)b[i]))
            return false;
    return true;
}

bool edit_hides(const struct txn_ext *x, int which, const char *name, size_t len)
{
    if (!((x->hide_lens[which & 1] >> (len & 63u)) & 1u))
        return false; /* no set or remove of a name this long */
    for (uint32_t i = 0; i < x->edit_count; i++) {
        const struct hedit *e = &x->edits[i];
        if (e->which == which && e->op != HE_ADD && name_eq(e->name, name, len))
            return true;
    }
    return false;
}

/* RFC 9110 token characters. */
static const uint8_t tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1,
    ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
    ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
    ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
};

/* Bytes a header value must not hold: CTLs but HTAB, and DEL. */
static const uint8_t vbad[256] = {
    [0] = 1, [1] = 1, [2] = 1, [3] = 1, [4] = 1, [5] = 1, [6] = 1, [7] = 1, [8] = 1, [10] = 1,
    [11] = 1, [12] = 1, [13] = 1, [14] = 1, [15] = 1, [16] = 1, [17] = 1, [18] = 1, [19] = 1, [20] = 1,
    [21] = 1, [22] = 1, [23] = 1, [24] = 1, [25] = 1, [26] = 1, [27] = 1, [28] = 1, [29] = 1, [30] = 1,
    [31] = 1, [127] = 1,
};

static bool valid_name(sl_str n)
{
    if (!n.ptr || !n.len || n.len > 256)
        return false;
    unsigned ok = 1;
    for (size_t i = 0; i < n.len; i++) /* no early exit: names are short, branches cost more */
        ok &= tchar[(unsigned char)n.ptr[i]];
    return ok;
}

static bool valid_value(sl_str v)
{
    if (!v.ptr && v.len)
        return false;
    if (v.len >= 65536)
        return false;
    unsigned bad = 0;
    for (size_t i = 0; i < v.len; i++)
        bad |= vbad[(unsigned char)v.ptr[i]];
    return !bad;
}

/* The head of `which` as it stands, or NULL (no response yet). */
static const struct http1_head *head_of(struct txn *t, int which)
{
    if (which == SL_REQUEST)
        return &t->c->head;
    return t->x ? t->x->resp_head : NULL;
}

/* Hop-by-hop and framing headers are the proxy's business, not a filter's. */
static bool reserved(sl_str n)
{
    switch (n.len) {
    case 2: return name_eq(n, "te", 2);
    case 4: return name_eq(n, "host", 4);
    case 7: return name_eq(n, "trailer", 7) || name_eq(n, "upgrade", 7);
    case 10: return name_eq(n, "connection", 10) || name_eq(n, "keep-alive", 10);
    case 14: return name_eq(n, "content-length", 14);
    case 17: return name_eq(n, "transfer-encoding", 17);
    default: return false;
    }
}

/* Header names filters use are nearly always the same few constants: each worker
 * keeps checked copies of up to NAME_CACHE of them, found by the caller's pointer
 * and confirmed by content, so a name is validated and copied once, not on every
 * request. Entries are never replaced (a transaction may point at them) and live
 * until the worker exits. Anything else is checked and copied per transaction. */
#define NAME_CACHE 64u
#define NAME_PROBES 4u

struct name_slot {
    const char *src;
    uint32_t len;
    char *copy;
};

void name_cache_free(struct proxy_worker *px)
{
    if (!px->names)
        return;
    for (uint32_t i = 0; i < NAME_CACHE; i++)
        free(px->names[i].copy);
    free(px->names);
    px->names = NULL;
}

/* A stable, checked copy of a header name, or {NULL, 0} when it is not a token
 * (or one filters may not touch). */
static sl_str checked_name(struct txn *t, sl_str name)
{
    struct proxy_worker *px = t->c->w->px;
    if (!name.ptr || !name.len || name.len > 256)
        return SL_STR_NULL;
    if (!px->names) {
        px->names = calloc(NAME_CACHE, sizeof *px->names);
        if (!px->names)
            goto uncached;
    }
    uint32_t h = (uint32_t)(((uintptr_t)name.ptr >> 3) ^ (uintptr_t)name.len * 0x9e3779b1u);
    struct name_slot *empty = NULL;
    for (uint32_t k = 0; k < NAME_PROBES; k++) {
        struct name_slot *sl = &px->names[(h + k) & (NAME_CACHE - 1)];
        if (!sl->copy) {
            empty = empty ? empty : sl;
            continue;
        }
        if (sl->src == name.ptr && sl->len == name.len && !memcmp(sl->copy, name.ptr, name.len))
            return (sl_str){sl->copy, name.len};
    }
    if (!valid_name(name) || reserved(name))
        return SL_STR_NULL;
    if (empty && (empty->copy = malloc(name.len + 1))) {
        memcpy(empty->copy, name.ptr, name.len);
        empty->copy[name.len] = '\0';
        empty->src = name.ptr;
        empty->len = (uint32_t)name.len;
        return (sl_str){empty->copy, name.len};
    }
    return tmem_dup(t->x, name);
uncached:
    if (!valid_name(name) || reserved(name))
        return SL_STR_NULL;
    return tmem_dup(t->x, name);
}

static int32_t edit(struct txn *t, int32_t which, int op, sl_str name, sl_str value)
{
    struct txn_ext *x = t->x;
    if (!x || (which != SL_REQUEST && which != SL_RESPONSE))
        return SL_ERR_INVALID;
    if (!valid_value(value))
        return SL_ERR_INVALID;
    if ((which == SL_REQUEST && x->req_head_sent) || (which == SL_RESPONSE && x->resp_head_sent))
        return SL_ERR_STATE;
    name = checked_name(t, name);
    if (!name.ptr)
        return SL_ERR_INVALID;
    if (op != HE_ADD && ((x->hide_lens[which] >> (name.len & 63u)) & 1u)) /* earlier edits of the name are void */
        for (uint32_t i = 0; i < x->edit_count; i++)
            if (x->edits[i].which == which && name_eq(x->edits[i].name, name.ptr, name.len))
                x->edits[i].which = 0xff;
    if (x->edit_count == x->edit_cap) {
        uint32_t cap = x->edit_cap ? x->edit_cap * 2 : 8;
        struct hedit *ne = tmem_alloc(x, cap * sizeof *ne);
        if (x->edit_count)
            memcpy(ne, x->edits, x->edit_count * sizeof *ne);
        x->edits = ne;
        x->edit_cap = cap;
    }
    if (op != HE_ADD)
        x->hide_lens[which] |= 1ull << (name.len & 63u);
    x->edits[x->edit_count++] =
        (struct hedit){(uint8_t)which, (uint8_t)op, name, op == HE_REMOVE ? SL_STR_NULL : tmem_dup(x, value)};
    return SL_OK;
}

static int32_t h_header_set(sl_txn *t, int32_t which, sl_str name, sl_str value)
{
    return edit(T(t), which, HE_SET, name, value);
}

static int32_t h_header_add(sl_txn *t, int32_t which, sl_str name, sl_str value)
{
    return edit(T(t), which, HE_ADD, name, value);
}

static int32_t h_header_remove(sl_txn *t, int32_t which, sl_str name)
{
    return edit(T(t), which, HE_REMOVE, name, SL_STR_NULL);
}

static int32_t h_header_get(sl_txn *tx, int32_t which, sl_str name, sl_str *value)
{
    struct txn *t = T(tx);
    struct txn_ext *x = t->x;
    if (!name.ptr || !x)
        return SL_ERR_INVALID;
    /* The last set or remove decides; adds count after the original values. */
    for (uint32_t i = x->edit_count; i-- > 0;) {
        const struct hedit *e = &x->edits[i];
        if (e->which != which || !name_eq(e->name, name.ptr, name.len) || e->op == HE_ADD)
            continue;
        if (e->op == HE_REMOVE)
            goto added;
        if (value)
            *value = e->value;
        return SL_OK;
    }
    const struct http1_head *h = head_of(t, which);
    const struct http1_hdr *hd = h ? http1_find_header(h, name.ptr, name.len) : NULL;
    if (hd) {
        if (value)
            *value = (sl_str){hd->value, hd->value_len};
        return SL_OK;
    }
added:
    for (uint32_t i = 0; i < x->edit_count; i++) {
        const struct hedit *e = &x->edits[i];
        if (e->which == which && e->op == HE_ADD && name_eq(e->name, name.ptr, name.len)) {
            if (value)
                *value = e->value;
            return SL_OK;
        }
    }
    return SL_NOT_FOUND;
}

static int32_t h_header_at(sl_txn *tx, int32_t which, uint32_t idx, sl_str *name, sl_str *value)
{
    struct txn *t = T(tx);
    struct txn_ext *x = t->x;
    if (!x)
        return SL_ERR_INVALID;
    const struct http1_head *h = head_of(t, which);
    uint32_t k = 0;
    for (uint32_t i = 0; h && i < h->header_count; i++) {
        const struct http1_hdr *hd = &h->headers[i];
        if ((hd->flags & HTTP1_HDR_HOP) || edit_hides(x, which, hd->name, hd->name_len))
            continue;
        if (k++ == idx) {
            *name = (sl_str){hd->name, hd->name_len};
            *value = (sl_str){hd->value, hd->value_len};
            return SL_OK;
        }
    }
    for (uint32_t i = 0; i < x->edit_count; i++) {
        const struct hedit *e = &x->edits[i];
        if (e->which != which || e->op == HE_REMOVE)
            continue;
        if (k++ == idx) {
            *name = e->name;
            *value = e->value;
            return SL_OK;
        }
    }
    return SL_NOT_FOUND;
}

/* ---- bodies ---- */

/* A body a filter sets, copied; the old one is freed only once the copy exists. */
static int32_t replace_body(struct nbuf *dst, sl_str body)
{
    if (body.len > STORE_BODY_MAX || (!body.ptr && body.len))
        return SL_ERR_LIMIT;
    struct nbuf nb = {0};
    if (body.len && !nbuf_append(&nb, body.ptr, body.len, body.len))
        return SL_ERR_NOMEM;
    nbuf_free(dst);
    *dst = nb;
    return SL_OK;
}

static int32_t h_request_body_buffer(sl_txn *tx)
{
    struct txn_ext *x = T(tx)->x;
    if (!x || x->stage != CH_REQ_HEAD)
        return SL_ERR_STATE;
    x->buffer_req = true;
    return SL_OK;
}

static int32_t h_request_body_retain(sl_txn *tx, uint64_t max)
{
    struct txn *t = T(tx);
    struct txn_ext *x = t->x;
    if (!x || x->stage != CH_REQ_HEAD)
        return SL_ERR_STATE;
    uint64_t cap = t->c->fe->conf->limits.max_body_bytes;
    if (max > x->retain_max)
        x->retain_max = max < cap ? max : cap;
    return SL_OK;
}

static int32_t h_request_body_get(sl_txn *tx, sl_str *body)
{
    struct txn *t = T(tx);
    struct txn_ext *x = t->x;
    if (!x || !x->body_complete)
        return SL_ERR_STATE;
    *body = (sl_str){nbuf_data(&t->body), t->body.len};
    return SL_OK;
}

static int32_t h_request_body_set(sl_txn *tx, sl_str body)
{
    struct txn *t = T(tx);
    struct txn_ext *x = t->x;
    if (!x || !x->body_complete || x->req_head_sent)
        return SL_ERR_STATE;
    return replace_body(&t->body, body);
}

static int32_t h_response_body_buffer(sl_txn *tx)
{
    struct txn_ext *x = T(tx)->x;
    if (!x || !x->resp_head || x->resp_head_sent)
        return SL_ERR_STATE;
    x->buffer_resp = true;
    return SL_OK;
}

static int32_t h_response_body_get(sl_txn *tx, sl_str *body)
{
    struct txn_ext *x = T(tx)->x;
    if (!x || !x->resp_held)
        return SL_ERR_STATE;
    *body = (sl_str){nbuf_data(&x->resp_body), x->resp_body.len};
    return SL_OK;
}

static int32_t h_response_body_set(sl_txn *tx, sl_str body)
{
    struct txn_ext *x = T(tx)->x;
    if (!x || !x->resp_held || x->resp_head_sent)
        return SL_ERR_STATE;
    return replace_body(&x->resp_body, body);
}

/* ---- local answers ---- */

static int32_t h_respond(sl_txn *tx, uint32_t status, sl_str ctype, sl_str body)
{
    struct txn *t = T(tx);
    struct txn_ext *x = t->x;
    if (!x || t->resp_started || x->ended)
        return SL_ERR_STATE;
    if (status < 200 || status > 599 || !valid_value(ctype) || (!body.ptr && body.len))
        return SL_ERR_INVALID;
    if (body.len > STORE_BODY_MAX)
        return SL_ERR_LIMIT;
    nbuf_free(&x->local_body);
    if (body.len && !nbuf_append(&x->local_body, body.ptr, body.len, body.len))
        return SL_ERR_NOMEM;
    x->local_set = true;
    x->local_status = (uint16_t)status;
    x->local_ctype = ctype.len ? tmem_dup(x, ctype) : SL_STR_NULL;
    x->local_err_type = NULL;
    return SL_OK;
}

static const char *short_copy(struct txn_ext *x, const char *s, size_t max)
{
    size_t n = s ? strnlen(s, max) : 0;
    return tmem_dup(x, (sl_str){s ? s : "", n}).ptr;
}

static int32_t h_respond_error(sl_txn *tx, uint32_t status, const char *type, const char *code,
                               const char *message)
{
    struct txn *t = T(tx);
    struct txn_ext *x = t->x;
    if (!x || t->resp_started || x->ended)
        return SL_ERR_STATE;
    if (status < 200 || status > 599)
        return SL_ERR_INVALID;
    nbuf_free(&x->local_body);
    x->local_set = true;
    x->local_status = (uint16_t)status;
    x->local_err_type = short_copy(x, type ? type : "server_error", 64);
    x->local_err_code = short_copy(x, code ? code : "error", 64);
    x->local_err_msg = short_copy(x, message ? message : "", 256);
    return SL_OK;
}

/* ---- pause, resume, refs ---- */

static int32_t h_resume(sl_txn *tx, int32_t action)
{
    struct txn *t = T(tx);
    struct txn_ext *x = t->x;
    if (!x || x->ended || x->resume_queued || (!x->paused && !x->in_hook))
        return SL_ERR_STATE;
    struct proxy_worker *px = t->c->w->px;
    x->resume_action = action;
    x->resume_queued = true;
    x->resume_next = NULL;
    if (!px->resumes_tail || !px->resumes)
        px->resumes_tail = &px->resumes;
    *px->resumes_tail = x;
    px->resumes_tail = &x->resume_next;
    proxy_flush_soon(t->c->w);
    return SL_OK;
}

static uint64_t h_txn_ref(sl_txn *tx)
{
    struct txn *t = T(tx);
    struct txn_ext *x = t->x;
    struct proxy_worker *px = t->c->w->px;
    if (!x || x->ended)
        return 0;
    if (!x->ref_slot) {
        if (!px->ref_free) {
            uint32_t cap = px->ref_cap ? px->ref_cap * 2 : 64;
            if (cap > (1u << 24))
                return 0;
            struct ref_slot *ns = realloc(px->refs, cap * sizeof *ns);
            if (!ns)
                return 0;
            for (uint32_t i = px->ref_cap; i < cap; i++)
                ns[i] = (struct ref_slot){NULL, 1, i + 1 < cap ? i + 2 : 0};
            px->refs = ns;
            px->ref_free = px->ref_cap + 1;
            px->ref_cap = cap;
        }
        uint32_t s = px->ref_free - 1;
        px->ref_free = px->refs[s].next_free;
        px->refs[s].t = t;
        x->ref_slot = s + 1;
    }
    uint32_t s = x->ref_slot - 1;
    return ((uint64_t)px->refs[s].gen << 32) | ((uint64_t)(t->c->w->id & 0xffu) << 24) | s;
}

void txn_ref_release(struct txn *t)
{
    struct txn_ext *x = t->x;
    if (!x->ref_slot)
        return;
    struct proxy_worker *px = t->c->w->px;
    uint32_t s = x->ref_slot - 1;
    px->refs[s].t = NULL;
    px->refs[s].gen = px->refs[s].gen + 1 ? px->refs[s].gen + 1 : 1;
    px->refs[s].next_free = px->ref_free;
    px->ref_free = s + 1;
    x->ref_slot = 0;
}

static sl_txn *h_txn_lookup(sl_worker *wk, uint64_t ref)
{
    struct worker *w = (struct worker *)wk;
    struct proxy_worker *px = w->px;
    uint32_t s = (uint32_t)(ref & 0xffffffu);
    if (!ref || ((ref >> 24) & 0xffu) != (w->id & 0xffu) || s >= px->ref_cap)
        return NULL;
    if (px->refs[s].gen != (uint32_t)(ref >> 32) || !px->refs[s].t)
        return NULL;
    return (sl_txn *)px->refs[s].t;
}

/* ---- selection ---- */

struct select_ctx {
    struct txn *t;
    uint64_t *usable;
    int picked;
};

static uint32_t h_select_count(sl_select *s)
{
    return ((struct select_ctx *)s)->t->be->count;
}

static int32_t h_select_server(sl_select *sel, uint32_t i, sl_server_info *out)
{
    struct select_ctx *s = (struct select_ctx *)sel;
    struct backend_rt *be = s->t->be;
    if (i >= be->count || !out || out->size < offsetof(sl_server_info, url) + sizeof out->url)
        return SL_ERR_INVALID;
    const struct server_rt *sv = &be->servers[i];
    struct wbackend *wb = &s->t->c->w->px->backends[be->index];
    out->index = i;
    out->weight = sv->conf->weight;
    out->priority = sv->conf->priority;
    out->usable = (s->usable[i / 64] >> (i % 64)) & 1u;
    out->inflight = wb->bs[i].inflight;
    out->backend = cstr(be->conf->name);
    out->name = cstr(sv->conf->name);
    out->url = cstr(sv->conf->url.authority);
    return SL_OK;
}

static int32_t h_select_veto(sl_select *sel, uint32_t i)
{
    struct select_ctx *s = (struct select_ctx *)sel;
    if (i >= s->t->be->count)
        return SL_ERR_INVALID;
    s->usable[i / 64] &= ~(1ull << (i % 64));
    if (s->picked == (int)i)
        s->picked = -1;
    return SL_OK;
}

static int32_t h_select_pick(sl_select *sel, uint32_t i)
{
    struct select_ctx *s = (struct select_ctx *)sel;
    if (i >= s->t->be->count || !((s->usable[i / 64] >> (i % 64)) & 1u))
        return SL_ERR_INVALID;
    s->picked = (int)i;
    return SL_OK;
}

/* The on_select hooks over the usable set; -1: go on to the balancer (or the
 * pick), -2: a filter answered or failed (the transaction ended). */
int chain_select(struct txn *t, uint64_t *usable)
{
    struct select_ctx s = {t, usable, -1};
    const struct chain *ch = t->chain;
    for (uint32_t i = 0; i < ch->count; i++) {
        const struct filter *f = ch->items[i];
        if (!f->p->on_select)
            continue;
        int32_t r = f->p->on_select(f->inst, (sl_txn *)t, (sl_select *)&s);
        if (r == SL_CONTINUE)
            continue;
        if (r == SL_DONE && t->x->local_set)
            chain_respond_now(t, f);
        else
            chain_fail_now(t, f, "on_select");
        return -2;
    }
    return s.picked;
}

static int32_t h_retry(sl_txn *t, sl_str backend, uint64_t delay_ms)
{
    return retry_request(T(t), backend, delay_ms);
}

void host_fill_txn(sl_host *h)
{
    h->txn_worker = h_txn_worker;
    h->txn_str = h_txn_str;
    h->txn_num = h_txn_num;
    h->txn_alloc = h_txn_alloc;
    h->txn_data = h_txn_data;
    h->txn_set_data = h_txn_set_data;
    h->var_set = h_var_set;
    h->var_get = h_var_get;
    h->header_get = h_header_get;
    h->header_at = h_header_at;
    h->header_set = h_header_set;
    h->header_add = h_header_add;
    h->header_remove = h_header_remove;
    h->request_body_buffer = h_request_body_buffer;
    h->request_body_retain = h_request_body_retain;
    h->request_body_get = h_request_body_get;
    h->request_body_set = h_request_body_set;
    h->response_body_buffer = h_response_body_buffer;
    h->response_body_get = h_response_body_get;
    h->response_body_set = h_response_body_set;
    h->respond = h_respond;
    h->respond_error = h_respond_error;
    h->txn_ref = h_txn_ref;
    h->txn_lookup = h_txn_lookup;
    h->resume = h_resume;
    h->select_count = h_select_count;
    h->select_server = h_select_server;
    h->select_veto = h_select_veto;
    h->select_pick = h_select_pick;
    h->retry = h_retry;
}
