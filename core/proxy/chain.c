/* chain.c - a transaction's way through its filters.
 *
 * Request side, in chain order: on_request_head, then (when a filter asked for
 * the whole body, or model_map needs it) the body is held and on_request_body sees
 * it once; then on_select and the attempt, and on_attempt with its outcome.
 * Response side, in reverse order: on_response_head, on_response_body; on_end once
 * for every filter. Only request-side hooks (head, held body) may pause; resume()
 * is acted on from the worker's loop (chain_run_resumes), never inside the
 * caller's stack.
 */
#include "proxy/chain.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/model_map.h"
#include "proxy/tokens.h"

#define PAUSE_LIMIT_DEFAULT_MS 300000u

static struct txn_ext *ext_get(struct proxy_worker *px)
{
    struct txn_ext *x = px->free_exts;
    if (x) {
        px->free_exts = x->resume_next;
        px->free_ext_count--;
        x->resume_next = NULL;
        return x;
    }
    x = calloc(1, sizeof *x);
    if (!x)
        abort();
    arena_init(&x->arena, 4096);
    return x;
}

void chain_ext_destroy(struct txn_ext *x)
{
    arena_free(&x->arena);
    nbuf_free(&x->local_body);
    nbuf_free(&x->resp_body);
    free(x->head_copy);
    free(x->resp_head_copy);
    free(x);
}

/* Back to the worker's cache, emptied; the copy buffers are kept for reuse. */
void chain_txn_free(struct txn *t)
{
    struct txn_ext *x = t->x;
    struct proxy_worker *px = t->c->w->px;
    t->x = NULL;
    if (px->free_ext_count >= 64) {
        chain_ext_destroy(x);
        return;
    }
    arena_free(&x->arena);
    nbuf_free(&x->local_body);
    nbuf_free(&x->resp_body);
    memset(x, 0, offsetof(struct txn_ext, head_copy));
    x->mem_used = 0;
    x->resume_next = px->free_exts;
    px->free_exts = x;
    px->free_ext_count++;
}

/* Moves every view of a head from the bytes at `from` to a copy at `to`. */
static void head_rebase(struct http1_head *h, const char *from, size_t len, char *to)
{
#define REBASE(p)                                                        \
    do {                                                                 \
        if ((p) && (p) >= from && (p) <= from + len)                     \
            (p) = to + ((p) - from);                                     \
    } while (0)
    REBASE(h->method_text);
    REBASE(h->target);
    REBASE(h->path);
    REBASE(h->origin);
    REBASE(h->authority);
    REBASE(h->reason);
    for (uint32_t i = 0; i < h->header_count; i++) {
        REBASE(h->headers[i].name);
        REBASE(h->headers[i].value);
    }
#undef REBASE
}

/* Copies a head's bytes into a buffer the transaction owns. */
static void keep_head(struct http1_head *h, const char *base, char **buf, uint32_t *cap)
{
    if (*cap < h->head_len) {
        char *nb = realloc(*buf, h->head_len);
        if (!nb)
            abort();
        *buf = nb;
        *cap = h->head_len;
    }
    memcpy(*buf, base, h->head_len);
    head_rebase(h, base, h->head_len, *buf);
}

/* ---- ending the request here ---- */

static void fail_closed(struct txn *t, const struct filter *f, const char *hook)
{
    log_warn("filter %s (%s) failed in %s: request %s answered 500", f->cf->plugin, f->scope, hook,
             t->request_id);
    t->error = "filter failed";
    txn_drop_upstream(t, false);
    txn_error(t, 500, "server_error", "filter_error", "a filter failed to process the request");
}

/* Sends what respond()/respond_error() set. */
static void send_local(struct txn *t, const struct filter *f)
{
    struct txn_ext *x = t->x;
    if (!x->local_set) {
        fail_closed(t, f, "respond (SL_DONE without a response)");
        return;
    }
    txn_drop_upstream(t, false); /* replacing an upstream response: its body is not read */
    if (x->local_err_type) {
        t->error = "answered by a filter";
        txn_error(t, x->local_status, x->local_err_type, x->local_err_code, x->local_err_msg);
        return;
    }
    if (!t->req_done || t->c->w->stopping)
        t->client_keep_alive = false;
    char buf[16384];
    size_t n = message_local_head(t, x->local_status, x->local_ctype.ptr, x->local_ctype.len,
                                  x->local_body.len, buf, sizeof buf);
    if (!n) {
        fail_closed(t, f, "respond (head too large)");
        return;
    }
    client_send(t->c, buf, n);
    if (!t->is_head && x->local_body.len)
        client_send(t->c, nbuf_data(&x->local_body), x->local_body.len);
    txn_finish_local(t, x->local_status, n + (t->is_head ? 0 : x->local_body.len));
}

static void pause_timeout(void *arg)
{
    struct txn *t = arg;
    t->x->pause_timer = NULL;
    if (!t->x->paused)
        return;
    t->x->paused = false;
    t->error = "a filter did not resume the request in time";
    txn_error(t, 504, "server_error", "filter_timeout", "a filter did not resume the request in time");
}

/* Acts on what a request-side hook returned. True: go on with the next filter. */
static bool outcome(struct txn *t, const struct filter *f, int32_t r, const char *hook)
{
    struct txn_ext *x = t->x;
    switch (r) {
    case SL_CONTINUE:
        x->local_set = false;
        return true;
    case SL_DONE:
        send_local(t, f);
        return false;
    case SL_PAUSE: {
        x->paused = true;
        uint64_t limit = t->be ? t->be->conf->timeouts.server : PAUSE_LIMIT_DEFAULT_MS;
        x->pause_timer = t->c->w ? (struct ptimer *)plugin_host()->txn_timer_start(
                                       (sl_txn *)t, limit ? limit : PAUSE_LIMIT_DEFAULT_MS, pause_timeout, t)
                                 : NULL;
        return false;
    }
    default:
        fail_closed(t, f, hook);
        return false;
    }
}

static void run_request_body(struct txn *t);

static void after_request_head(struct txn *t)
{
    struct txn_ext *x = t->x;
    const struct http1_head *h = &t->c->head;
    bool has_body = h->framing != HTTP1_BODY_NONE;
    bool map = false;
    for (uint32_t i = 0; has_body && i < t->be->count && !map; i++)
        map = t->be->servers[i].conf->model_map_count > 0;
    map = map && model_map_applies(h);
    x->stage = CH_REQ_BODY;
    x->pos = 0;
    if (has_body && (x->buffer_req || map)) {
        x->holding = true;
        if (h->expect_continue)
            client_send(t->c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        return; /* txn_request_end goes on */
    }
    if (x->buffer_req) { /* no body: the hooks see an empty one */
        x->body_complete = true;
        run_request_body(t);
        return;
    }
    x->stage = CH_DONE;
    txn_dispatch(t, -1);
}

static void run_request_head(struct txn *t)
{
    struct txn_ext *x = t->x;
    const struct chain *ch = t->chain;
    while (x->pos < ch->count) {
        const struct filter *f = ch->items[x->pos++];
        if (!f->p->on_request_head)
            continue;
        x->in_hook = true;
        int32_t r = f->p->on_request_head(f->inst, (sl_txn *)t);
        x->in_hook = false;
        if (!outcome(t, f, r, "on_request_head"))
            return;
    }
    after_request_head(t);
}

static void run_request_body(struct txn *t)
{
    struct txn_ext *x = t->x;
    const struct chain *ch = t->chain;
    while (x->pos < ch->count) {
        const struct filter *f = ch->items[x->pos++];
        if (!f->p->on_request_body)
            continue;
        sl_str body = {nbuf_data(&t->body), t->body.len};
        x->in_hook = true;
        int32_t r = f->p->on_request_body(f->inst, (sl_txn *)t, body, 1);
        x->in_hook = false;
        if (!outcome(t, f, r, "on_request_body"))
            return;
    }
    x->stage = CH_DONE;
    txn_dispatch(t, -1);
}

void chain_begin(struct txn *t)
{
    struct client *c = t->c;
    struct txn_ext *x = ext_get(c->w->px);
    t->x = x;
    x->t = t;
    /* The head outlives the client's input buffer from here on. */
    keep_head(&c->head, nbuf_data(&c->in), &x->head_copy, &x->head_copy_cap);
    x->stage = CH_REQ_HEAD;
    run_request_head(t);
}

/* Streamed request body: filters observe it. */
bool chain_request_body(struct txn *t, const char *data, size_t n)
{
    struct txn_ext *x = t->x;
    if (x->retain_max && !x->retain_overflow) {
        if (t->body.len + n <= x->retain_max)
            nbuf_append(&t->body, data, n, x->retain_max);
        else
            x->retain_overflow = true;
    }
    if (!t->chain->any_body_hook)
        return true;
    for (uint32_t i = 0; i < t->chain->count; i++) {
        const struct filter *f = t->chain->items[i];
        if (f->p->on_request_body && f->p->on_request_body(f->inst, (sl_txn *)t, (sl_str){data, n}, 0) == SL_ERROR) {
            fail_closed(t, f, "on_request_body");
            return false;
        }
    }
    return true;
}

bool chain_request_end(struct txn *t)
{
    struct txn_ext *x = t->x;
    if (x->holding) {
        x->body_complete = true;
        run_request_body(t);
        return false;
    }
    if (!t->chain->any_body_hook || x->stage != CH_DONE)
        return true;
    for (uint32_t i = 0; i < t->chain->count; i++) {
        const struct filter *f = t->chain->items[i];
        if (f->p->on_request_body && f->p->on_request_body(f->inst, (sl_txn *)t, SL_STR_NULL, 1) == SL_ERROR) {
            fail_closed(t, f, "on_request_body");
            return false;
        }
    }
    return true;
}

void chain_respond_now(struct txn *t, const struct filter *f)
{
    send_local(t, f);
}

void chain_fail_now(struct txn *t, const struct filter *f, const char *hook)
{
    fail_closed(t, f, hook);
}

/* ---- response side ---- */

static int64_t retry_after_ms(const struct http1_head *h)
{
    const struct http1_hdr *ra = h ? http1_find_header(h, "retry-after", 11) : NULL;
    if (!ra || ra->value_len == 0 || ra->value_len > 9)
        return -1;
    int64_t v = 0;
    for (uint32_t i = 0; i < ra->value_len; i++) {
        if (ra->value[i] < '0' || ra->value[i] > '9')
            return -1; /* an HTTP date: not worth parsing for a hint */
        v = v * 10 + (ra->value[i] - '0');
    }
    return v * 1000;
}

/* on_attempt in chain order (like on_select). True when a filter called retry()
 * and returned SL_RETRY: the retry is then under way. */
static bool run_attempt_hooks(struct txn *t, int32_t outcome_code, const struct http1_head *h, int status)
{
    struct txn_ext *x = t->x;
    bool none = outcome_code == SL_OUTCOME_NO_SERVER;
    sl_attempt a = {
        .size = sizeof a,
        .number = t->attempts,
        .outcome = outcome_code,
        .status = h ? h->status : 0,
        .server_index = none ? UINT32_MAX : (uint32_t)t->server_idx,
        .backend = {t->be->conf->name, strlen(t->be->conf->name)},
        .server = none ? (sl_str){"", 0} : (sl_str){t->srv->conf->name, strlen(t->srv->conf->name)},
        .duration_us = none ? 0 : (uint64_t)((proxy_now(t->c->w) - t->t_upstream) * 1e6),
        .retry_after_ms = h && h->status >= 400 ? retry_after_ms(h) : -1, /* not worth a look on 2xx */
    };
    const struct chain *ch = t->chain;
    bool asked = false;
    x->in_attempt = true;
    for (uint32_t i = 0; i < ch->count; i++) {
        const struct filter *f = ch->items[i];
        if (none && f->p->abi_minor < 1)
            continue; /* a 1.0 plugin knows no such outcome */
        if (f->p->on_attempt && f->p->on_attempt(f->inst, (sl_txn *)t, &a) == SL_RETRY)
            asked = true;
    }
    x->in_attempt = false;
    if (!x->retry_set)
        return false;
    x->retry_set = false;
    if (!asked)
        return false; /* retry() without SL_RETRY: the filter changed its mind */
    retry_start(t, outcome_code, status);
    return true;
}

bool chain_attempt_failed(struct txn *t, int outcome_code, int status)
{
    return t->srv && run_attempt_hooks(t, outcome_code, NULL, status);
}

bool chain_no_server(struct txn *t)
{
    t->srv = NULL;
    return run_attempt_hooks(t, SL_OUTCOME_NO_SERVER, NULL, 503);
}

enum chain_resp chain_response_head(struct txn *t, struct http1_head *h)
{
    struct txn_ext *x = t->x;
    const struct chain *ch = t->chain;
    x->resp_head = h;
    if (run_attempt_hooks(t, SL_OUTCOME_RESPONSE, h, h->status))
        return CHAIN_ENDED; /* retrying: this response is dropped */
    for (uint32_t i = ch->count; i-- > 0;) {
        const struct filter *f = ch->items[i];
        if (!f->p->on_response_head)
            continue;
        x->in_hook = true;
        int32_t r = f->p->on_response_head(f->inst, (sl_txn *)t);
        x->in_hook = false;
        if (r == SL_CONTINUE)
            continue;
        if (r == SL_DONE)
            send_local(t, f);
        else
            fail_closed(t, f, "on_response_head");
        return CHAIN_ENDED;
    }
    if (x->buffer_resp && !t->is_head && h->framing != HTTP1_BODY_NONE) {
        keep_head(h, h->head_len ? nbuf_data(&t->u->in) : NULL, &x->resp_head_copy, &x->resp_head_cap);
        x->resp_held = true;
        return CHAIN_HELD;
    }
    return CHAIN_SEND;
}

bool chain_response_body(struct txn *t, const char *data, size_t n)
{
    struct txn_ext *x = t->x;
    if (x->resp_held) {
        if (!nbuf_append(&x->resp_body, data, n, t->c->fe->conf->limits.max_body_bytes))
            return false; /* txn.c fails the attempt */
        return true;
    }
    if (!t->chain->any_response_hook)
        return true;
    for (uint32_t i = t->chain->count; i-- > 0;) {
        const struct filter *f = t->chain->items[i];
        if (f->p->on_response_body)
            (void)f->p->on_response_body(f->inst, (sl_txn *)t, (sl_str){data, n}, 0);
    }
    return true;
}

void chain_response_end(struct txn *t)
{
    struct txn_ext *x = t->x;
    const struct chain *ch = t->chain;
    sl_str body = x->resp_held ? (sl_str){nbuf_data(&x->resp_body), x->resp_body.len} : SL_STR_NULL;
    for (uint32_t i = ch->count; i-- > 0;) {
        const struct filter *f = ch->items[i];
        if (!f->p->on_response_body)
            continue;
        if (x->resp_held)
            body = (sl_str){nbuf_data(&x->resp_body), x->resp_body.len}; /* set may replace it */
        (void)f->p->on_response_body(f->inst, (sl_txn *)t, body, 1);
    }
}

/* ---- the end ---- */

static void unqueue_resume(struct txn_ext *x)
{
    struct proxy_worker *px = x->t->c->w->px;
    struct txn_ext **pp = &px->resumes;
    while (*pp && *pp != x)
        pp = &(*pp)->resume_next;
    if (*pp) {
        *pp = x->resume_next;
        if (px->resumes_tail == &x->resume_next)
            px->resumes_tail = pp;
    }
    x->resume_next = NULL;
    x->resume_queued = false;
}

void chain_end(struct txn *t)
{
    struct txn_ext *x = t->x;
    if (x->ended)
        return;
    x->ended = true;
    x->paused = false;
    if (x->resume_queued)
        unqueue_resume(x);
    ptimer_cancel_all(x);
    const struct usage *u = tokens_result(t); /* txn_finish ended the scan */
    double now = proxy_now(t->c->w);
    uint32_t flags = 0;
    if (x->local_set || (t->resp_started && t->t_first_byte <= 0))
        flags |= SL_END_LOCAL; /* a filter's or sluice's own answer */
    if (t->c->closed && !t->resp_done)
        flags |= SL_END_CLIENT_GONE;
    if (t->resp_started && !t->resp_done && !(flags & SL_END_CLIENT_GONE))
        flags |= SL_END_UPSTREAM_BROKE;
    sl_txn_end e = {
        .size = sizeof e,
        .status = t->status ? t->status : (t->c->closed ? 499u : 0u),
        .attempts = t->attempts,
        .flags = flags,
        .bytes_in = t->bytes_in,
        .bytes_out = t->bytes_out,
        .duration_us = (uint64_t)((now - t->t_start) * 1e6),
        .upstream_us = t->t_upstream > 0 ? (uint64_t)((now - t->t_upstream) * 1e6) : 0,
        .first_byte_us = t->t_first_byte > 0 ? (uint64_t)((t->t_first_byte - t->t_upstream) * 1e6) : 0,
        .prompt_tokens = u ? u->prompt : -1,
        .completion_tokens = u ? u->completion : -1,
        .total_tokens = u ? u->total : -1,
    };
    const struct chain *ch = t->chain;
    for (uint32_t i = ch->count; i-- > 0;) {
        const struct filter *f = ch->items[i];
        if (f->p->on_end)
            f->p->on_end(f->inst, (sl_txn *)t, &e);
    }
    ptimer_cancel_all(x); /* on_end may have started some */
    txn_ref_release(t);
}

/* ---- resume ---- */

bool chain_has_resumes(const struct proxy_worker *px)
{
    return px->resumes != NULL;
}

void chain_run_resumes(struct proxy_worker *px)
{
    while (px->resumes) {
        struct txn_ext *x = px->resumes;
        px->resumes = x->resume_next;
        if (!px->resumes)
            px->resumes_tail = &px->resumes;
        x->resume_next = NULL;
        x->resume_queued = false;
        struct txn *t = x->t;
        struct client *c = t->c;
        x->paused = false;
        if (x->pause_timer) {
            plugin_host()->timer_cancel((sl_timer *)x->pause_timer);
            x->pause_timer = NULL;
        }
        const struct filter *f = t->chain->items[x->pos ? x->pos - 1 : 0];
        if (x->resume_action == SL_CONTINUE) {
            x->local_set = false;
            if (x->stage == CH_REQ_HEAD)
                run_request_head(t);
            else
                run_request_body(t);
        } else if (x->resume_action == SL_DONE) {
            send_local(t, f);
        } else {
            fail_closed(t, f, "resume");
        }
        client_resume_reading(c); /* input held back while paused */
    }
}
