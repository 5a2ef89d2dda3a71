/* probe.c - the hooks and the descriptor. Each hook records itself in the trace,
 * does what the configuration asks at that point, and reports what it saw in
 * response headers, variables or store counters (see probe.h). */
#include "probe.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static sl_str S(const char *s)
{
    return (sl_str){s, strlen(s)};
}

/* Adds 1 to the counter "probe:TAG:" + the formatted rest. */
__attribute__((format(printf, 3, 4))) static void count(struct probe *p, sl_txn *t,
                                                        const char *fmt, ...)
{
    char k[160];
    int n = snprintf(k, sizeof k, "probe:%s:", p->tag);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k + n, sizeof k - (size_t)n, fmt, ap);
    va_end(ap);
    probe_count(p, p->h->txn_worker(t), k, 1);
}

static void fail_log(struct probe *p, const char *what, int32_t rc)
{
    char msg[160];
    snprintf(msg, sizeof msg, "probe %s: %s = %d", p->tag, what, (int)rc);
    p->h->log(SL_LOG_ERROR, msg);
}

/* error_at, respond_at, pause_at for hook `at`, in that order of precedence. */
static int32_t act(struct probe *p, sl_txn *t, struct probe_txn *st, int at)
{
    if (p->at_error == at) {
        probe_trace(p, t, "error");
        return SL_ERROR;
    }
    if (p->at_respond == at)
        return probe_respond(p, t, st);
    if (p->at_pause == at)
        return probe_pause(p, t, st);
    return SL_CONTINUE;
}

/* var probe.where.TAG: the route, backend and server as on_request_head sees them. */
static void note_where(struct probe *p, sl_txn *t)
{
    char name[64], v[256];
    sl_str route = p->h->txn_str(t, SL_TXN_ROUTE), be = p->h->txn_str(t, SL_TXN_BACKEND);
    sl_str srv = p->h->txn_str(t, SL_TXN_SERVER);
    snprintf(name, sizeof name, "probe.where.%s", p->tag);
    int n = snprintf(v, sizeof v, "route=%.*s backend=%.*s server=%.*s", (int)route.len, route.ptr,
                     (int)be.len, be.ptr, (int)srv.len, srv.ptr);
    if (n > 0)
        p->h->var_set(t, S(name), (sl_str){v, n < (int)sizeof v ? (size_t)n : sizeof v - 1});
}

static int32_t on_request_head(void *inst, sl_txn *t)
{
    struct probe *p = inst;
    if (probe_control(p, t))
        return probe_control_answer(p, t);
    struct probe_txn *st = probe_txn(p, t);
    if (!st)
        return SL_ERROR;
    st->head_ran = true;
    count(p, t, "heads");
    probe_trace(p, t, "reqhead");
    note_where(p, t);
    for (uint32_t i = 0; i < p->n_vars; i++)
        p->h->var_set(t, S(p->vars[i].name), S(p->vars[i].value));
    for (uint32_t i = 0; i < p->n_set_req; i++) {
        int32_t rc = p->h->header_set(t, SL_REQUEST, S(p->set_req[i].name), S(p->set_req[i].value));
        if (rc != SL_OK)
            fail_log(p, "header_set(request)", rc);
    }
    for (uint32_t i = 0; i < p->n_remove_req; i++) {
        int32_t rc = p->h->header_remove(t, SL_REQUEST, S(p->remove_req[i]));
        if (rc != SL_OK && rc != SL_NOT_FOUND)
            fail_log(p, "header_remove(request)", rc);
    }
    for (uint32_t i = 0; i < p->n_early_resp; i++) {
        int32_t rc = p->h->header_set(t, SL_RESPONSE, S(p->early_resp[i].name),
                                      S(p->early_resp[i].value));
        if (rc != SL_OK)
            fail_log(p, "header_set(response) from on_request_head", rc);
    }
    if (p->buffer_request) {
        int32_t rc = p->h->request_body_buffer(t);
        if (rc != SL_OK) {
            fail_log(p, "request_body_buffer()", rc);
            return SL_ERROR;
        }
    }
    return act(p, t, st, AT_REQUEST_HEAD);
}

/* Buffered: exactly one call, end = 1, the chunk is the whole body. */
static void check_buffered(struct probe *p, sl_txn *t, struct probe_txn *st, sl_str chunk,
                           int32_t end)
{
    sl_str got = SL_STR_NULL;
    int64_t cl = p->h->txn_num(t, SL_TXN_BODY_LENGTH);
    const char *why = NULL;
    if (st->body_calls != 1)
        why = "called more than once";
    else if (end != 1)
        why = "end is not 1";
    else if (p->h->request_body_get(t, &got) != SL_OK)
        why = "request_body_get failed";
    else if (got.len != chunk.len || (chunk.len && memcmp(got.ptr, chunk.ptr, chunk.len) != 0))
        why = "chunk differs from request_body_get";
    else if (cl >= 0 && (uint64_t)cl != chunk.len)
        why = "not the whole body";
    char name[64], v[96];
    snprintf(name, sizeof name, "x-probe-body-%s", p->tag);
    int n = why ? snprintf(v, sizeof v, "bad: %s", why)
                : snprintf(v, sizeof v, "ok %zu", chunk.len);
    p->h->header_set(t, SL_RESPONSE, S(name), (sl_str){v, (size_t)n});
}

static int32_t on_request_body(void *inst, sl_txn *t, sl_str chunk, int32_t end)
{
    struct probe *p = inst;
    struct probe_txn *st = probe_txn(p, t);
    if (!st)
        return SL_ERROR;
    st->body_calls++;
    st->req_bytes += chunk.len;
    if (chunk.len)
        st->req_chunks++;
    if (end)
        probe_trace(p, t, "reqbody");
    if (!p->buffer_request)
        return SL_CONTINUE; /* streamed: observe only */
    check_buffered(p, t, st, chunk, end);
    if (p->replace_body) {
        int32_t rc = p->h->request_body_set(t, (sl_str){p->replace_body, p->replace_body_len});
        if (rc != SL_OK) {
            fail_log(p, "request_body_set()", rc);
            return SL_ERROR;
        }
    }
    return act(p, t, st, AT_REQUEST_BODY);
}

static bool listed(const char *const *list, uint32_t n, sl_str name)
{
    for (uint32_t i = 0; i < n; i++)
        if (strlen(list[i]) == name.len && memcmp(list[i], name.ptr, name.len) == 0)
            return true;
    return false;
}

/* var probe.select.TAG = "name:usable,..." as this filter found them. */
static int32_t on_select(void *inst, sl_txn *t, sl_select *s)
{
    struct probe *p = inst;
    struct probe_txn *st = probe_txn(p, t);
    if (!st)
        return SL_ERROR;
    probe_trace(p, t, "select");
    char seen[512], name[64];
    size_t n = 0;
    uint32_t count_s = p->h->select_count(s);
    int32_t pick = -1;
    for (uint32_t i = 0; i < count_s; i++) {
        sl_server_info si = {.size = sizeof si};
        if (p->h->select_server(s, i, &si) != SL_OK)
            continue;
        int w = snprintf(seen + n, sizeof seen - n, "%s%.*s:%u", n ? "," : "", (int)si.name.len,
                         si.name.ptr, si.usable);
        if (w > 0 && (size_t)w < sizeof seen - n)
            n += (size_t)w;
        if (listed(p->veto, p->n_veto, si.name)) {
            int32_t rc = p->h->select_veto(s, i);
            if (rc != SL_OK)
                fail_log(p, "select_veto()", rc);
        }
        if (p->pick && strlen(p->pick) == si.name.len && memcmp(p->pick, si.name.ptr, si.name.len) == 0)
            pick = (int32_t)i;
    }
    snprintf(name, sizeof name, "probe.select.%s", p->tag);
    p->h->var_set(t, S(name), (sl_str){seen, n});
    if (p->pick) {
        int32_t rc = pick < 0 ? SL_NOT_FOUND : p->h->select_pick(s, (uint32_t)pick);
        snprintf(name, sizeof name, "probe.pick.%s", p->tag);
        p->h->var_set(t, S(name), rc == SL_OK ? SL_STR("ok") : SL_STR("failed"));
    }
    return act(p, t, st, AT_SELECT);
}

static const char *outcome_name(int32_t o)
{
    switch (o) {
    case SL_OUTCOME_RESPONSE: return "response";
    case SL_OUTCOME_CONNECT_ERROR: return "connect_error";
    case SL_OUTCOME_TIMEOUT: return "timeout";
    case SL_OUTCOME_RESET: return "reset";
    case SL_OUTCOME_BAD_RESPONSE: return "bad_response";
    default: return "unknown";
    }
}

static int32_t on_attempt(void *inst, sl_txn *t, const sl_attempt *a)
{
    struct probe *p = inst;
    probe_trace(p, t, "attempt");
    count(p, t, "attempts:%s:%lld", outcome_name(a->outcome),
          a->outcome == SL_OUTCOME_RESPONSE ? (long long)a->status : 0);
    return SL_CONTINUE;
}

static int32_t on_response_head(void *inst, sl_txn *t)
{
    struct probe *p = inst;
    struct probe_txn *st = probe_txn(p, t);
    if (!st)
        return SL_ERROR;
    probe_trace(p, t, "resphead");
    for (uint32_t i = 0; i < p->n_set_resp; i++) {
        int32_t rc = p->h->header_set(t, SL_RESPONSE, S(p->set_resp[i].name), S(p->set_resp[i].value));
        if (rc != SL_OK)
            fail_log(p, "header_set(response)", rc);
    }
    if (p->buffer_response) {
        int32_t rc = p->h->response_body_buffer(t);
        if (rc != SL_OK) {
            fail_log(p, "response_body_buffer()", rc);
            return SL_ERROR;
        }
    }
    int32_t r = act(p, t, st, AT_RESPONSE_HEAD);
    if (r == SL_CONTINUE)
        probe_emit(p, t, st);
    return r;
}

static int32_t on_response_body(void *inst, sl_txn *t, sl_str chunk, int32_t end)
{
    struct probe *p = inst;
    struct probe_txn *st = probe_txn(p, t);
    if (!st)
        return SL_ERROR;
    st->resp_bytes += chunk.len;
    st->resp_chunks++;
    if (end)
        probe_trace(p, t, "respbody");
    if (!p->buffer_response)
        return SL_CONTINUE;
    sl_str got = SL_STR_NULL;
    if (st->resp_chunks != 1 || end != 1 || p->h->response_body_get(t, &got) != SL_OK ||
        got.len != chunk.len)
        count(p, t, "resp_buffer_bad");
    if (p->replace_response_body) {
        int32_t rc = p->h->response_body_set(
            t, (sl_str){p->replace_response_body, p->replace_response_body_len});
        if (rc != SL_OK) {
            fail_log(p, "response_body_set()", rc);
            return SL_ERROR;
        }
    }
    return SL_CONTINUE;
}

/* Counters: ends, ends by status, by flag; double_end if this filter saw it twice. */
static void on_end(void *inst, sl_txn *t, const sl_txn_end *e)
{
    struct probe *p = inst;
    if (probe_control(p, t))
        return;
    sl_worker *w = p->h->txn_worker(t);
    struct probe_txn *st = p->h->txn_data(t, p);
    if (st && st->ended)
        count(p, t, "double_end");
    if (!st)
        st = probe_txn(p, t);
    if (st)
        st->ended = true;
    count(p, t, "ends");
    count(p, t, "end_status:%u", e->status);
    if (e->flags & SL_END_LOCAL)
        count(p, t, "end_local");
    if (e->flags & SL_END_CLIENT_GONE)
        count(p, t, "end_client_gone");
    if (e->flags & SL_END_UPSTREAM_BROKE)
        count(p, t, "end_upstream_broke");
    if (st && st->paused)
        count(p, t, "end_paused");
    if (!st || !st->head_ran)
        count(p, t, "end_without_head");
    if (st && st->resp_bytes) {
        char k[96];
        snprintf(k, sizeof k, "probe:%s:resp_bytes", p->tag);
        probe_count(p, w, k, (int64_t)st->resp_bytes);
    }
    probe_trace(p, t, "end");
    sl_str tr;
    if (p->trace && p->h->var_get(t, SL_STR("probe.trace"), &tr) == SL_OK) {
        char k[96];
        snprintf(k, sizeof k, "probe:%s:trace", p->tag);
        p->h->kv_set(p->store, w, S(k), tr, 0);
    }
}

static const sl_plugin probe_plugin = {
    SL_PLUGIN_HEAD,
    .name = "probe",
    .version = "1.0",
    .create = probe_create,
    .destroy = probe_destroy,
    .worker_start = probe_worker_start,
    .worker_stop = probe_worker_stop,
    .on_request_head = on_request_head,
    .on_request_body = on_request_body,
    .on_select = on_select,
    .on_attempt = on_attempt,
    .on_response_head = on_response_head,
    .on_response_body = on_response_body,
    .on_end = on_end,
};

SL_PLUGIN_EXPORT const sl_plugin *SL_PLUGIN_ENTRY(void);
SL_PLUGIN_EXPORT const sl_plugin *SL_PLUGIN_ENTRY(void)
{
    return &probe_plugin;
}
