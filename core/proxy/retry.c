/* retry.c - another attempt on another server, when a filter asks for one.
 *
 * A filter calls host->retry() from on_attempt and returns SL_RETRY (the failover
 * plugin does). The attempt that failed is dropped (its connection closed, its
 * server charged with the failure), and after the delay the request is sent again
 * to another server of the same backend (never the one that just failed) or of a
 * named one, with that server's headers and model_map. Only possible while no
 * response byte has reached the client and the whole request body is at hand
 * (held, or retained in full and read to its end).
 */
#include "proxy/chain.h"

#include <stdio.h>
#include <string.h>

#define RETRY_DELAY_MAX_MS 300000u
#define TRIED_MAX 512u

static bool has_body(const struct http1_head *h)
{
    return h->framing != HTTP1_BODY_NONE && !(h->framing == HTTP1_BODY_LENGTH && h->content_length == 0);
}

static bool body_replayable(const struct txn *t)
{
    const struct txn_ext *x = t->x;
    if (!has_body(&t->c->head))
        return true;
    if (x->holding)
        return x->body_complete;
    return x->retain_max && !x->retain_overflow && t->req_done;
}

/* A server that could take the retry now: usable, its circuit not open, and not
 * the one that just failed. */
static bool has_candidate(const struct backend_rt *be, int exclude)
{
    for (uint32_t i = 0; i < be->count; i++) {
        if ((int)i != exclude && server_available(&be->servers[i]))
            return true;
    }
    return false;
}

int32_t retry_request(struct txn *t, sl_str backend, uint64_t delay_ms)
{
    struct txn_ext *x = t->x;
    if (!x || x->ended || !x->in_attempt || x->retry_set || t->resp_started)
        return SL_ERR_STATE;
    if (!body_replayable(t))
        return SL_ERR_STATE;
    struct backend_rt *be = t->be;
    if (backend.len) {
        if (!backend.ptr)
            return SL_ERR_INVALID;
        const struct conf_backend *cb = conf_find_backend_n(t->c->w->rt->conf, backend.ptr, backend.len);
        be = cb ? runtime_backend(t->c->w->rt, cb) : NULL;
        if (!be)
            return SL_NOT_FOUND;
    }
    if (!has_candidate(be, be == t->be && t->srv ? t->server_idx : -1))
        return SL_NOT_FOUND;
    x->retry_set = true;
    x->retry_be = be;
    x->retry_delay_ms = delay_ms < RETRY_DELAY_MAX_MS ? delay_ms : RETRY_DELAY_MAX_MS;
    return SL_OK;
}

/* "backend/server:what" appended to the access log's list of failed attempts. */
static void note_tried(struct txn *t, int outcome, int status)
{
    struct txn_ext *x = t->x;
    if (!x->tried) {
        x->tried = tmem_alloc(x, TRIED_MAX);
        if (!x->tried)
            return;
        x->tried[0] = '\0';
    }
    char what[16];
    const char *w = outcome == SL_OUTCOME_NO_SERVER     ? "no_usable_server"
                    : outcome == SL_OUTCOME_CONNECT_ERROR ? "connect_error"
                    : outcome == SL_OUTCOME_TIMEOUT     ? "timeout"
                    : outcome == SL_OUTCOME_RESET       ? "reset"
                    : outcome == SL_OUTCOME_BAD_RESPONSE ? "bad_response"
                                                         : what;
    snprintf(what, sizeof what, "%d", status);
    int n = snprintf(x->tried + x->tried_len, TRIED_MAX - x->tried_len, "%s%s/%s:%s", x->tried_len ? "," : "",
                     t->be->conf->name, t->srv ? t->srv->conf->name : "-", w);
    if (n > 0 && x->tried_len + (uint32_t)n < TRIED_MAX)
        x->tried_len += (uint32_t)n;
    else
        x->tried[x->tried_len] = '\0'; /* the list is cut, the line stays bounded */
}

static void retry_fire(void *arg)
{
    struct txn *t = arg;
    (void)txn_dispatch(t, t->x->retry_exclude); /* it ends the transaction on failure */
}

void retry_start(struct txn *t, int outcome, int status)
{
    struct txn_ext *x = t->x;
    note_tried(t, outcome, status);
    if (t->srv) { /* the failed attempt counts for its server, and as a retry */
        txn_end_attempt(t, status, false, proxy_now(t->c->w));
        stat_add(&t->srv->stats[t->c->w->id].retries, 1);
    }
    /* Back to the state before the attempt. */
    t->status = 0;
    t->t_upstream = t->t_first_byte = t->t_client_head = 0;
    t->interim = false;
    t->req_sent = false;
    t->resp_body = BODY_NONE;
    t->replayable = false;
    nbuf_free(&t->replay);
    t->error = NULL;
    x->resp_head = NULL;
    x->req_head_sent = false;
    x->buffer_resp = x->resp_held = false;
    nbuf_free(&x->resp_body);
    if (has_body(&t->c->head) && !x->holding) {
        x->holding = true; /* a retained body: sent whole from now on */
        x->body_complete = true;
    }
    x->retry_exclude = x->retry_be == t->be && t->srv ? t->server_idx : -1;
    if (x->retry_be != t->be) { /* the request leaves this backend: its answer here */
        stat_add(&t->be->stats[t->c->w->id].responses[stats_class(status)], 1);
        t->be = x->retry_be;
        stat_add(&t->be->stats[t->c->w->id].requests, 1);
    }
    t->srv = NULL;
    if (!plugin_host()->txn_timer_start((sl_txn *)t, x->retry_delay_ms, retry_fire, t)) {
        t->error = "retry could not be scheduled";
        txn_error(t, 502, "server_error", "upstream_error", "the upstream server failed");
    }
}
