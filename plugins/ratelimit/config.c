/* config.c - reading and checking the ratelimit configuration (create()), on the
 * main thread, also under `sluice -t`: every bad value is reported at its node,
 * and nothing but memory and a store handle is acquired. */
#include "ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rl_keys[] = {"per", "requests", "tokens", "window", "store", NULL};

#define RL_LIMIT_MAX 1000000000000000LL       /* 1e15: far above any real budget */
#define RL_WINDOW_MAX (366ULL * 24 * 3600 * 1000) /* a year keeps the header short */

/* An HTTP token character (RFC 9110 tchar). */
static bool is_tchar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool scalar(const sl_host *h, const sl_node *n)
{
    return n && h->node_kind(n) == SL_NODE_SCALAR;
}

/* per: api_key | ip | header:NAME. */
static bool read_per(const sl_host *h, sl_config *cfg, const sl_node *n, struct rl *rl)
{
    rl->per = RL_PER_API_KEY;
    if (!n)
        return true;
    if (!scalar(h, n)) {
        h->config_error(cfg, n, "`per` must be api_key, ip or header:NAME");
        return false;
    }
    sl_str s = h->node_str(n);
    if (s.len == 7 && memcmp(s.ptr, "api_key", 7) == 0)
        return true;
    if (s.len == 2 && memcmp(s.ptr, "ip", 2) == 0) {
        rl->per = RL_PER_IP;
        return true;
    }
    if (s.len > 7 && memcmp(s.ptr, "header:", 7) == 0) {
        size_t n_len = s.len - 7;
        if (n_len >= sizeof rl->header) {
            h->config_error(cfg, n, "`per: header:NAME`: the header name is too long");
            return false;
        }
        for (size_t i = 0; i < n_len; i++) {
            char c = s.ptr[7 + i];
            if (!is_tchar(c)) {
                h->config_error(cfg, n, "`per: header:NAME`: NAME is not a valid header name");
                return false;
            }
            rl->header[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        rl->header[n_len] = '\0';
        rl->header_len = n_len;
        rl->per = RL_PER_HEADER;
        return true;
    }
    h->config_error(cfg, n, "`per` must be api_key, ip or header:NAME (e.g. header:x-team)");
    return false;
}

/* requests/tokens: absent leaves *out 0; otherwise an integer >= 1. */
static bool read_limit(const sl_host *h, sl_config *cfg, const sl_node *n, int64_t *out)
{
    *out = 0;
    if (!n)
        return true;
    return h->node_int(cfg, n, 1, RL_LIMIT_MAX, out) == SL_OK;
}

static bool read_window(const sl_host *h, sl_config *cfg, const sl_node *n, struct rl *rl)
{
    rl->window_ms = 60000;
    if (!n)
        return true;
    uint64_t ms = 0;
    if (h->node_duration_ms(cfg, n, &ms) != SL_OK)
        return false;
    if (ms == 0 || ms > RL_WINDOW_MAX) {
        h->config_error(cfg, n, "`window` must be more than 0 and at most 366 days");
        return false;
    }
    rl->window_ms = ms;
    return true;
}

/* store: "local" (default) or a spec for host->store_open (a redis:// URL). Only
 * checked here; opened once everything else is valid. */
static bool read_store(const sl_host *h, sl_config *cfg, const sl_node *n, sl_str *spec)
{
    *spec = SL_STR("local");
    if (!n)
        return true;
    if (!scalar(h, n)) {
        h->config_error(cfg, n, "`store` must be \"local\" or a redis:// URL");
        return false;
    }
    *spec = h->node_str(n);
    if (spec->len == 5 && memcmp(spec->ptr, "redis", 5) == 0) {
        h->config_error(cfg, n,
                        "`store: redis` needs the server's URL, e.g. redis://127.0.0.1:6379");
        return false;
    }
    if (spec->len == 0) {
        h->config_error(cfg, n, "`store` is empty: use \"local\" or a redis:// URL");
        return false;
    }
    return true;
}

static size_t put(char *dst, size_t at, size_t cap, const char *src, size_t n)
{
    if (at + n > cap)
        n = at < cap ? cap - at : 0;
    memcpy(dst + at, src, n);
    return at + n;
}

/* "ratelimit:<scope>:<per>/<window_ms>:". The per kind and the window are part
 * of it so that two ratelimit entries of one filter list never share counters. A
 * scope too long for the bound is replaced by its hash. */
static void build_prefix(const sl_host *h, sl_config *cfg, struct rl *rl)
{
    char tag[160], num[32], hashed[32];
    size_t t = 0;
    if (rl->per == RL_PER_API_KEY) {
        t = put(tag, t, sizeof tag, "key", 3);
    } else if (rl->per == RL_PER_IP) {
        t = put(tag, t, sizeof tag, "ip", 2);
    } else {
        t = put(tag, t, sizeof tag, "h.", 2);
        t = put(tag, t, sizeof tag, rl->header, rl->header_len);
    }
    t = put(tag, t, sizeof tag, "/", 1);
    t = put(tag, t, sizeof tag, num, rl_fmt_u64(num, rl->window_ms));

    sl_str scope = h->config_scope(cfg);
    if (10 + scope.len + 1 + t + 1 > sizeof rl->prefix) {
        scope.len = rl_fmt_hash(hashed, scope.ptr, scope.len);
        scope.ptr = hashed;
    }
    size_t p = 0, cap = sizeof rl->prefix;
    p = put(rl->prefix, p, cap, "ratelimit:", 10);
    p = put(rl->prefix, p, cap, scope.ptr, scope.len);
    p = put(rl->prefix, p, cap, ":", 1);
    p = put(rl->prefix, p, cap, tag, t);
    p = put(rl->prefix, p, cap, ":", 1);
    rl->prefix_len = p;
}

/* The 429 messages name the limit and the window as written in the file. */
static void build_messages(const sl_host *h, const sl_node *window, struct rl *rl)
{
    sl_str w = window ? h->node_str(window) : SL_STR("1m");
    int wl = w.len > 40 ? 40 : (int)w.len;
    snprintf(rl->msg_requests, sizeof rl->msg_requests,
             "Rate limit exceeded: at most %lld requests per %.*s window",
             (long long)rl->requests, wl, w.ptr);
    snprintf(rl->msg_tokens, sizeof rl->msg_tokens,
             "Rate limit exceeded: at most %lld tokens per %.*s window",
             (long long)rl->tokens, wl, w.ptr);
    rl->requests_len = rl_fmt_u64(rl->requests_str, (uint64_t)rl->requests);
    rl->tokens_len = rl_fmt_u64(rl->tokens_str, (uint64_t)rl->tokens);
}

int32_t rl_create(const sl_host *h, sl_config *cfg, void **instance)
{
    const sl_node *root = h->config_root(cfg);
    if (!root || h->node_kind(root) != SL_NODE_MAP) {
        h->config_error(cfg, root,
                        "ratelimit needs a `config:` map with `requests` and/or `tokens`");
        return SL_ERROR;
    }
    struct rl *rl = calloc(1, sizeof *rl);
    if (!rl) {
        h->config_error(cfg, root, "ratelimit: out of memory");
        return SL_ERROR;
    }
    rl->h = h;
    /* Read everything, so one run of `sluice -t` shows every error. */
    bool ok = h->config_check_keys(cfg, root, rl_keys) == SL_OK;
    const sl_node *window = h->node_get(root, "window");
    sl_str spec;
    ok &= read_per(h, cfg, h->node_get(root, "per"), rl);
    ok &= read_limit(h, cfg, h->node_get(root, "requests"), &rl->requests);
    ok &= read_limit(h, cfg, h->node_get(root, "tokens"), &rl->tokens);
    ok &= read_window(h, cfg, window, rl);
    ok &= read_store(h, cfg, h->node_get(root, "store"), &spec);
    if (ok && !rl->requests && !rl->tokens && !h->node_get(root, "requests") &&
        !h->node_get(root, "tokens")) {
        h->config_error(cfg, root, "ratelimit needs `requests`, `tokens` or both");
        ok = false;
    }
    if (ok) {
        rl->remote = !(spec.len == 5 && memcmp(spec.ptr, "local", 5) == 0);
        rl->store = h->store_open(cfg, spec);
        if (!rl->store)
            ok = false; /* store_open reported why, with its location */
    }
    if (!ok) {
        free(rl);
        return SL_ERROR;
    }
    build_prefix(h, cfg, rl);
    build_messages(h, window, rl);
    *instance = rl;
    return SL_OK;
}

void rl_destroy(void *instance)
{
    free(instance);
}
