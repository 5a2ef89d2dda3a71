/* probe_util.c - transaction state, the trace, store counters, headers sent with
 * every response, and the /probe/ control endpoint. */
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACE_VAR "probe.trace"
#define TRACE_MAX 2048

struct probe_txn *probe_txn(struct probe *p, sl_txn *t)
{
    struct probe_txn *st = p->h->txn_data(t, p);
    if (st)
        return st;
    st = p->h->txn_alloc(t, sizeof *st);
    if (!st)
        return NULL;
    memset(st, 0, sizeof *st);
    st->p = p;
    st->t = t;
    p->h->txn_set_data(t, p, st);
    return st;
}

void probe_trace(struct probe *p, sl_txn *t, const char *hook)
{
    if (!p->trace)
        return;
    char buf[TRACE_MAX];
    sl_str old = SL_STR_NULL;
    size_t n = 0;
    if (p->h->var_get(t, SL_STR(TRACE_VAR), &old) == SL_OK && old.len > 0 &&
        old.len < sizeof buf - 1) {
        memcpy(buf, old.ptr, old.len);
        n = old.len;
        buf[n++] = ',';
    }
    int w = snprintf(buf + n, sizeof buf - n, "%s:%s", p->tag, hook);
    if (w < 0 || (size_t)w >= sizeof buf - n)
        return; /* bounded: a runaway trace stops growing */
    n += (size_t)w;
    p->h->var_set(t, SL_STR(TRACE_VAR), (sl_str){buf, n});
}

static void store_cb(void *arg, const sl_store_result *res)
{
    (void)arg;
    (void)res; /* the local store answers at once; nothing comes back later */
}

void probe_count(struct probe *p, sl_worker *w, const char *key, int64_t delta)
{
    sl_counter_op op = {.size = sizeof op, .key = {key, strlen(key)}, .delta = delta};
    sl_store_result res = {.size = sizeof res};
    int32_t rc = p->h->counter_add(p->store, w, &op, &res, store_cb, NULL);
    if (rc != SL_OK && rc != SL_PENDING) {
        char msg[256];
        snprintf(msg, sizeof msg, "probe %s: counter_add(%s) = %d", p->tag, key, (int)rc);
        p->h->log(SL_LOG_ERROR, msg);
    }
}

static void set_resp(struct probe *p, sl_txn *t, const char *name, sl_str value)
{
    int32_t rc = p->h->header_set(t, SL_RESPONSE, (sl_str){name, strlen(name)}, value);
    if (rc != SL_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "probe %s: header_set(response, %s) = %d", p->tag, name, (int)rc);
        p->h->log(SL_LOG_WARN, msg);
    }
}

/* Headers that report what this filter saw; set before any response leaves. */
void probe_emit(struct probe *p, sl_txn *t, struct probe_txn *st)
{
    sl_str v;
    if (p->trace && p->h->var_get(t, SL_STR(TRACE_VAR), &v) == SL_OK)
        set_resp(p, t, "x-probe-trace", v);
    for (uint32_t i = 0; i < p->n_var_copy; i++) {
        const struct probe_pair *c = &p->var_copy[i];
        if (p->h->var_get(t, (sl_str){c->name, strlen(c->name)}, &v) != SL_OK)
            v = SL_STR("(unset)");
        set_resp(p, t, c->value, v);
    }
    if (p->count_body && st) {
        char num[32];
        int n = snprintf(num, sizeof num, "%llu", (unsigned long long)st->req_bytes);
        set_resp(p, t, "x-probe-req-bytes", (sl_str){num, (size_t)n});
        n = snprintf(num, sizeof num, "%u", st->req_chunks);
        set_resp(p, t, "x-probe-req-chunks", (sl_str){num, (size_t)n});
    }
}

int32_t probe_respond(struct probe *p, sl_txn *t, struct probe_txn *st)
{
    char body[64];
    int n = snprintf(body, sizeof body, "probe %s", p->tag);
    probe_trace(p, t, "respond");
    probe_emit(p, t, st);
    int32_t rc = p->h->respond(t, p->respond_status, SL_STR("text/plain"), (sl_str){body, (size_t)n});
    if (rc != SL_OK) {
        char msg[128];
        snprintf(msg, sizeof msg, "probe %s: respond() = %d", p->tag, (int)rc);
        p->h->log(SL_LOG_ERROR, msg);
        return SL_ERROR;
    }
    return SL_DONE;
}

const char *probe_at_name(int at)
{
    switch (at) {
    case AT_REQUEST_HEAD: return "request_head";
    case AT_REQUEST_BODY: return "request_body";
    case AT_SELECT: return "select";
    case AT_RESPONSE_HEAD: return "response_head";
    default: return "none";
    }
}

/* ---- GET /probe/counters?k=KEY&k=KEY and GET /probe/kv?k=KEY ---- */

static bool key_ok(const char *s, size_t n)
{
    if (n == 0 || n > 200)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr(":_.-", s[i]) && !(s[i] >= '0' && s[i] <= '9') &&
            !(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z'))
            return false;
    return true;
}

/* The i-th `k=` parameter of the query; false past the last. */
static bool query_key(sl_str target, uint32_t i, sl_str *out)
{
    const char *q = memchr(target.ptr, '?', target.len);
    if (!q)
        return false;
    const char *end = target.ptr + target.len;
    for (const char *s = q + 1; s < end;) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *e = amp ? amp : end;
        if (e - s > 2 && s[0] == 'k' && s[1] == '=' && i-- == 0) {
            *out = (sl_str){s + 2, (size_t)(e - s - 2)};
            return true;
        }
        s = e + 1;
    }
    return false;
}

static int32_t control_counters(struct probe *p, sl_txn *t, sl_str target)
{
    sl_worker *w = p->h->txn_worker(t);
    size_t cap = 8192, n = 0;
    char *out = p->h->txn_alloc(t, cap);
    if (!out)
        return SL_ERROR;
    out[n++] = '{';
    sl_str k;
    for (uint32_t i = 0; query_key(target, i, &k); i++) {
        if (!key_ok(k.ptr, k.len) || i >= 32)
            return p->h->respond_error(t, 400, "invalid_request_error", "bad_key",
                                       "probe: keys are [A-Za-z0-9:_.-], at most 32")
                           == SL_OK ? SL_DONE : SL_ERROR;
        sl_store_result res = {.size = sizeof res};
        int32_t rc = p->h->counter_get(p->store, w, k, &res, store_cb, NULL);
        long long v = rc == SL_OK && res.status == SL_OK ? (long long)res.value : 0;
        int m = snprintf(out + n, cap - n, "%s\"%.*s\": %lld", i ? ", " : "", (int)k.len, k.ptr, v);
        if (m < 0 || (size_t)m >= cap - n)
            return SL_ERROR;
        n += (size_t)m;
    }
    out[n++] = '}';
    return p->h->respond(t, 200, SL_STR("application/json"), (sl_str){out, n}) == SL_OK ? SL_DONE
                                                                                      : SL_ERROR;
}

static int32_t control_kv(struct probe *p, sl_txn *t, sl_str target)
{
    sl_str k;
    if (!query_key(target, 0, &k) || !key_ok(k.ptr, k.len))
        return p->h->respond_error(t, 400, "invalid_request_error", "bad_key", "probe: k=KEY")
                       == SL_OK ? SL_DONE : SL_ERROR;
    sl_store_result res = {.size = sizeof res};
    int32_t rc = p->h->kv_get(p->store, t, k, &res, store_cb, NULL);
    if (rc != SL_OK || res.status != SL_OK)
        return p->h->respond_error(t, 404, "not_found_error", "no_key", "probe: no such key")
                       == SL_OK ? SL_DONE : SL_ERROR;
    return p->h->respond(t, 200, SL_STR("text/plain"), res.data) == SL_OK ? SL_DONE : SL_ERROR;
}

/* True when the request is for /probe/ (answered; the hook returns SL_DONE). */
bool probe_control(struct probe *p, sl_txn *t)
{
    sl_str path = p->h->txn_str(t, SL_TXN_PATH);
    if (path.len < 7 || memcmp(path.ptr, "/probe/", 7) != 0)
        return false;
    return true;
}

int32_t probe_control_answer(struct probe *p, sl_txn *t)
{
    sl_str path = p->h->txn_str(t, SL_TXN_PATH);
    sl_str target = p->h->txn_str(t, SL_TXN_TARGET);
    if (path.len == 15 && memcmp(path.ptr, "/probe/counters", 15) == 0)
        return control_counters(p, t, target);
    if (path.len == 9 && memcmp(path.ptr, "/probe/kv", 9) == 0)
        return control_kv(p, t, target);
    return p->h->respond_error(t, 404, "not_found_error", "no_probe_endpoint",
                               "probe: /probe/counters?k=KEY or /probe/kv?k=KEY")
                   == SL_OK ? SL_DONE : SL_ERROR;
}
