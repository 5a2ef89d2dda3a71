/* ratelimit.c - the `ratelimit` filter: fixed-window request and token budgets
 * per API key, client IP or request header, exact across workers.
 *
 * Configuration (config.c checks it; every bad value is an error at its node):
 *   per:      api_key (default) | ip | header:NAME
 *   requests: requests admitted per window (integer >= 1)
 *   tokens:   tokens (usage total_tokens) per window (integer >= 1)
 *             at least one of requests and tokens
 *   window:   duration, default 1m
 *   store:    "local" (default, this process, kept across reloads) or a spec that
 *             goes to host->store_open (a redis:// URL); a bare `redis` is refused
 *             because it names no server.
 *
 * Identity (the bucket):
 *   api_key  the variable auth.key (the key's name, set by the auth plugin when it
 *            runs earlier in the chain); without it the client's credential
 *            (Authorization, its Bearer token, else x-api-key) as '#' + a 64-bit
 *            FNV-1a hash, so a raw key never reaches a store key or a log; no
 *            credential at all: the bucket "anonymous".
 *   ip       the client address; header:NAME that header's value ("-" when absent
 *            or empty). Identities longer than 128 bytes are hashed as well.
 *
 * Windows are fixed and aligned to the wall clock, so instances sharing a store
 * agree on them: index = wall ms / window ms. A counter's key is
 *   ratelimit:<config scope>:<per>/<window ms>:<r|t>:<identity>:<index in hex>
 * (the scope is stable across reloads, so counters carry over; the per kind and
 * window keep two entries of one filter list apart), created with a TTL of the
 * time left in the window plus 2 s of slack.
 *
 * Per request, in on_request_head:
 *   1. tokens: counter_get of the window's token counter; >= tokens: refused.
 *      Checked first so a request refused for tokens takes no request slot.
 *   2. requests: counter_add(+1, limit = requests): the store applies it only
 *      while the count stays within the limit, atomically across workers, so
 *      exactly `requests` are admitted per window. (Refused for tokens: a
 *      counter_get instead, for the headers.)
 *   3. headers on every response (header_set SL_RESPONSE applies to upstream
 *      and local answers): x-ratelimit-limit-, -remaining- and -reset-requests
 *      when requests is set, the -tokens trio when tokens is set; reset is the
 *      time left in the window, OpenAI style ("250ms", "59s", "6m0s"). Refused:
 *      429 in the gateway's JSON error shape (type rate_limit_error, code
 *      rate_limit_exceeded, the message says requests or tokens), retry-after
 *      in whole seconds rounded up (>= 1), and sluice_ratelimit_rejected_total.
 *   on_end: an admitted request adds its usage (total_tokens, when known) to the
 *   token counter of the window it was admitted in. Token budgets are therefore
 *   enforced after the fact: requests in flight when the budget runs out finish.
 *
 * A store that answers later (SL_PENDING, remote stores) pauses the request; the
 * callback continues where it stopped and resumes it. The callback's argument is
 * a malloc'd record holding a transaction reference, not transaction memory,
 * because the transaction may end (client gone) before the answer comes.
 * A failing store (unreachable, full) fails open: the request passes, a warning
 * is logged at most every 10 s.
 *
 * Hot path (local store, requests only): one var_get, one clock read, the key in
 * a stack buffer, one counter_add, three header_set with values formatted by
 * hand (no snprintf, no allocation).
 */
#include "ratelimit.h"

#include <stdlib.h>
#include <string.h>

#define STEP_TOKENS 0
#define STEP_REQUESTS 1
#define STEP_FINISH 2

#define REFUSED_NONE 0
#define REFUSED_REQUESTS 1
#define REFUSED_TOKENS 2

/* Where a pending store answer goes (malloc'd; freed by whoever sees it last). */
struct rl_wait {
    const sl_host *h;
    struct rl *rl;            /* only touched while the transaction is alive */
    sl_worker *w;
    uint64_t ref;
};

/* One request's progress. On the stack for a store that answers at once; in
 * transaction memory (txn_data) when it may pause, and for on_end when tokens
 * are counted (then only up to key_len bytes of key are kept). */
struct rl_run {
    uint64_t now, end, index;  /* wall ms; window end; window index */
    int64_t req_count;         /* requests in the window; -1 unknown */
    int64_t tok_used;          /* tokens used in the window; -1 unknown */
    int32_t step;              /* STEP_* */
    int32_t refused;           /* REFUSED_* */
    int32_t admitted;
    int32_t in_txn;            /* this run lives in transaction memory */
    struct rl_wait *wait;      /* remote stores: the callback's record */
    size_t key_len, kind_at;   /* key[kind_at] is 'r' or 't' */
    char key[RL_KEY_CAP];
};

static void on_store(void *arg, const sl_store_result *res);

static void warn_store(struct rl *rl, int32_t status)
{
    uint64_t now = rl->h->clock_ms(SL_CLOCK_MONOTONIC);
    uint64_t last = atomic_load_explicit(&rl->last_warn_ms, memory_order_relaxed);
    if (last && now - last < 10000)
        return;
    if (!atomic_compare_exchange_strong(&rl->last_warn_ms, &last, now ? now : 1))
        return;
    rl->h->log(SL_LOG_WARN, status == SL_ERR_LIMIT
                                ? "ratelimit: the store is full; requests pass unlimited"
                                : "ratelimit: the store failed; requests pass unlimited");
}

/* ---- identity and key ---- */

static bool ieq_prefix(sl_str s, const char *p, size_t n)
{
    if (s.len < n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s.ptr[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != p[i])
            return false;
    }
    return true;
}

/* Appends the identity to key at *p (room for RL_IDENT_MAX bytes). */
static void put_identity(const struct rl *rl, sl_txn *t, char *key, size_t *p)
{
    const sl_host *h = rl->h;
    sl_str v = SL_STR_NULL;
    bool secret = false;
    if (rl->per == RL_PER_API_KEY) {
        if (h->var_get(t, SL_STR("auth.key"), &v) != SL_OK || v.len == 0) {
            secret = true;
            if (h->header_get(t, SL_REQUEST, SL_STR("authorization"), &v) == SL_OK) {
                if (ieq_prefix(v, "bearer ", 7)) {
                    v.ptr += 7;
                    v.len -= 7;
                    while (v.len && v.ptr[0] == ' ') {
                        v.ptr++;
                        v.len--;
                    }
                }
            } else if (h->header_get(t, SL_REQUEST, SL_STR("x-api-key"), &v) != SL_OK) {
                v = SL_STR("anonymous");
                secret = false;
            }
        }
    } else if (rl->per == RL_PER_IP) {
        v = h->txn_str(t, SL_TXN_CLIENT_IP);
    } else if (h->header_get(t, SL_REQUEST, (sl_str){rl->header, rl->header_len}, &v) != SL_OK) {
        v = SL_STR_NULL;
    }
    if (v.len == 0) {
        key[(*p)++] = '-';
    } else if (secret || v.len > RL_IDENT_MAX) {
        *p += rl_fmt_hash(key + *p, v.ptr, v.len);
    } else {
        memcpy(key + *p, v.ptr, v.len);
        *p += v.len;
    }
}

static void build_key(const struct rl *rl, sl_txn *t, struct rl_run *run)
{
    size_t p = rl->prefix_len;
    memcpy(run->key, rl->prefix, p);
    run->kind_at = p;
    run->key[p++] = 'r';
    run->key[p++] = ':';
    put_identity(rl, t, run->key, &p);
    run->key[p++] = ':';
    p += rl_fmt_hex(run->key + p, run->index);
    run->key_len = p;
}

/* ---- the steps ---- */

/* Takes the answer of the current step's store call. */
static void apply(struct rl *rl, struct rl_run *run, int32_t status, const sl_store_result *res)
{
    bool ok = status == SL_OK || status == SL_LIMITED || status == SL_NOT_FOUND;
    if (!ok)
        warn_store(rl, status);
    int64_t value = status == SL_NOT_FOUND ? 0 : ok ? res->value : -1;
    if (run->step == STEP_TOKENS) {
        run->tok_used = value;
        if (value >= rl->tokens)
            run->refused = REFUSED_TOKENS;
        run->step = STEP_REQUESTS;
    } else {
        run->req_count = value;
        if (status == SL_LIMITED && run->refused == REFUSED_NONE)
            run->refused = REFUSED_REQUESTS;
        run->step = STEP_FINISH;
    }
}

/* Copies run into transaction memory (up to its key) and makes it txn_data. */
static struct rl_run *keep(struct rl *rl, sl_txn *t, struct rl_run *run, size_t bytes)
{
    if (run->in_txn)
        return run;
    struct rl_run *kept = rl->h->txn_alloc(t, bytes);
    if (!kept)
        return NULL;
    memcpy(kept, run, bytes);
    kept->in_txn = 1;
    rl->h->txn_set_data(t, rl, kept);
    return kept;
}

static void set_header(const sl_host *h, sl_txn *t, sl_str name, const char *v, size_t n)
{
    h->header_set(t, SL_RESPONSE, name, (sl_str){v, n});
}

/* Headers, and the 429 when refused. Returns SL_CONTINUE or SL_DONE. */
static int32_t finish(struct rl *rl, sl_txn *t, struct rl_run *run)
{
    const sl_host *h = rl->h;
    char v[32], reset[32];
    size_t reset_len = rl_fmt_duration(reset, run->end - run->now);
    if (rl->requests) {
        int64_t left = run->req_count < 0 ? rl->requests : rl->requests - run->req_count;
        set_header(h, t, SL_STR("x-ratelimit-limit-requests"), rl->requests_str, rl->requests_len);
        set_header(h, t, SL_STR("x-ratelimit-remaining-requests"), v,
                   rl_fmt_u64(v, left > 0 ? (uint64_t)left : 0));
        set_header(h, t, SL_STR("x-ratelimit-reset-requests"), reset, reset_len);
    }
    if (rl->tokens) {
        int64_t left = run->tok_used < 0 ? rl->tokens : rl->tokens - run->tok_used;
        set_header(h, t, SL_STR("x-ratelimit-limit-tokens"), rl->tokens_str, rl->tokens_len);
        set_header(h, t, SL_STR("x-ratelimit-remaining-tokens"), v,
                   rl_fmt_u64(v, left > 0 ? (uint64_t)left : 0));
        set_header(h, t, SL_STR("x-ratelimit-reset-tokens"), reset, reset_len);
    }
    if (run->refused != REFUSED_NONE) {
        uint64_t secs = (run->end - run->now + 999) / 1000;
        set_header(h, t, SL_STR("retry-after"), v, rl_fmt_u64(v, secs ? secs : 1));
        h->count(t, SL_COUNT_RATELIMIT_REJECTED, 1);
        h->respond_error(t, 429, "rate_limit_error", "rate_limit_exceeded",
                         run->refused == REFUSED_TOKENS ? rl->msg_tokens : rl->msg_requests);
        return SL_DONE;
    }
    run->admitted = 1;
    /* on_end adds the usage to this window's token counter. */
    if (rl->tokens && !keep(rl, t, run, offsetof(struct rl_run, key) + run->key_len))
        return SL_ERROR;
    return SL_CONTINUE;
}

/* Runs the steps from run->step. SL_PAUSE when a store call is pending (the
 * callback continues); otherwise what the hook returns. */
static int32_t advance(struct rl *rl, sl_txn *t, sl_worker *w, struct rl_run *run)
{
    const sl_host *h = rl->h;
    for (;;) {
        sl_store_result res = {.size = sizeof res};
        int32_t st;
        if (run->step == STEP_TOKENS) {
            if (!rl->tokens) {
                run->step = STEP_REQUESTS;
                continue;
            }
            run->key[run->kind_at] = 't';
            st = h->counter_get(rl->store, w, (sl_str){run->key, run->key_len}, &res, on_store,
                                run->wait);
        } else if (run->step == STEP_REQUESTS) {
            if (!rl->requests) {
                run->step = STEP_FINISH;
                continue;
            }
            run->key[run->kind_at] = 'r';
            sl_str key = {run->key, run->key_len};
            if (run->refused != REFUSED_NONE) {
                st = h->counter_get(rl->store, w, key, &res, on_store, run->wait);
            } else {
                sl_counter_op op = {.size = sizeof op, .key = key, .delta = 1,
                                    .limit = rl->requests,
                                    .ttl_ms = run->end - run->now + RL_TTL_SLACK_MS};
                st = h->counter_add(rl->store, w, &op, &res, on_store, run->wait);
            }
        } else {
            return finish(rl, t, run);
        }
        if (st == SL_PENDING) {
            if (run->wait)
                return SL_PAUSE;
            st = SL_ERR_STATE; /* a store that pends without a callback record */
        } else if (st == SL_OK) {
            st = res.status; /* answered at once: LIMITED and NOT_FOUND are in res */
        }
        apply(rl, run, st, &res);
    }
}

static void on_store(void *arg, const sl_store_result *res)
{
    struct rl_wait *wait = arg;
    if (!wait)
        return; /* on_end's fire-and-forget update, or a store breaking its word */
    sl_txn *t = wait->h->txn_lookup(wait->w, wait->ref);
    if (!t) {
        free(wait); /* the transaction ended while we waited */
        return;
    }
    struct rl *rl = wait->rl;
    struct rl_run *run = rl->h->txn_data(t, rl);
    apply(rl, run, res->status, res);
    int32_t r = advance(rl, t, wait->w, run);
    if (r == SL_PAUSE)
        return;
    run->wait = NULL;
    free(wait);
    rl->h->resume(t, r);
}

/* ---- hooks ---- */

static int32_t rl_request_head(void *instance, sl_txn *t)
{
    struct rl *rl = instance;
    const sl_host *h = rl->h;
    struct rl_run local, *run = &local;
    if (rl->remote) {
        run = h->txn_alloc(t, sizeof *run);
        if (!run)
            return SL_ERROR;
    }
    run->now = h->clock_ms(SL_CLOCK_WALL);
    run->index = run->now / rl->window_ms;
    run->end = (run->index + 1) * rl->window_ms;
    run->req_count = -1;
    run->tok_used = -1;
    run->step = STEP_TOKENS;
    run->refused = REFUSED_NONE;
    run->admitted = 0;
    run->in_txn = rl->remote;
    run->wait = NULL;
    build_key(rl, t, run);
    sl_worker *w = h->txn_worker(t);
    if (rl->remote) {
        h->txn_set_data(t, rl, run);
        run->wait = malloc(sizeof *run->wait);
        if (!run->wait)
            return SL_ERROR;
        *run->wait = (struct rl_wait){.h = h, .rl = rl, .w = w, .ref = h->txn_ref(t)};
    }
    int32_t r = advance(rl, t, w, run);
    if (r != SL_PAUSE && run->wait) {
        free(run->wait);
        run->wait = NULL;
    }
    return r;
}

static void rl_end(void *instance, sl_txn *t, const sl_txn_end *e)
{
    struct rl *rl = instance;
    if (!rl->tokens || e->total_tokens <= 0)
        return;
    struct rl_run *run = rl->h->txn_data(t, rl);
    if (!run || !run->admitted)
        return;
    uint64_t now = rl->h->clock_ms(SL_CLOCK_WALL);
    if (now >= run->end)
        return; /* that window is over: its counter no longer matters */
    run->key[run->kind_at] = 't';
    sl_counter_op op = {.size = sizeof op, .key = {run->key, run->key_len},
                        .delta = e->total_tokens, .ttl_ms = run->end - now + RL_TTL_SLACK_MS};
    sl_store_result res = {.size = sizeof res};
    int32_t st = rl->h->counter_add(rl->store, rl->h->txn_worker(t), &op, &res, on_store, NULL);
    if (st != SL_OK && st != SL_PENDING)
        warn_store(rl, st);
}

static const sl_plugin rl_plugin = {
    SL_PLUGIN_HEAD,
    .name = "ratelimit",
    .version = "1.0.0",
    .create = rl_create,
    .destroy = rl_destroy,
    .on_request_head = rl_request_head,
    .on_end = rl_end,
};

SL_PLUGIN_EXPORT const sl_plugin *SL_PLUGIN_ENTRY(void);
SL_PLUGIN_EXPORT const sl_plugin *SL_PLUGIN_ENTRY(void)
{
    return &rl_plugin;
}
