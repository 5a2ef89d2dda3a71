/* config.c - reading and checking the circuit_breaker configuration (create()), on
 * the main thread, also under `sluice -t`: every bad value is reported at its node
 * and nothing but memory is acquired. */
#include "circuit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cb_keys[] = {"failures", "error_rate", "window",   "min_requests",
                                      "cooldown", "probes",     "on",       NULL};

static const char *const outcome_names[] = {
    [SL_OUTCOME_CONNECT_ERROR] = "connect_error",
    [SL_OUTCOME_TIMEOUT] = "timeout",
    [SL_OUTCOME_RESET] = "reset",
    [SL_OUTCOME_BAD_RESPONSE] = "bad_response",
};

static void set_status(struct cb *cb, uint32_t status)
{
    cb->on_status[status / 64] |= UINT64_C(1) << (status % 64);
}

/* The default `on`: what says the server itself is in trouble. 429 is left out:
 * a rate limit is the provider working as designed. */
static void default_on(struct cb *cb)
{
    cb->on_outcomes = (1u << SL_OUTCOME_CONNECT_ERROR) | (1u << SL_OUTCOME_TIMEOUT) |
                      (1u << SL_OUTCOME_RESET) | (1u << SL_OUTCOME_BAD_RESPONSE);
    set_status(cb, 500);
    set_status(cb, 502);
    set_status(cb, 503);
    set_status(cb, 504);
}

static bool is_scalar(const sl_host *h, const sl_node *n)
{
    return h->node_kind(n) == SL_NODE_SCALAR;
}

/* One item of `on`: an outcome name, a status (100..599) or a class ("5xx"). */
static bool read_on_item(const sl_host *h, sl_config *cfg, const sl_node *n, struct cb *cb)
{
    static const char msg[] = "circuit_breaker: `on` items are connect_error, timeout, reset, "
                              "bad_response, an HTTP status (100-599) or a class such as 5xx";
    if (!is_scalar(h, n)) {
        h->config_error(cfg, n, msg);
        return false;
    }
    sl_str s = h->node_str(n);
    for (size_t i = 0; i < sizeof outcome_names / sizeof outcome_names[0]; i++)
        if (outcome_names[i] && strlen(outcome_names[i]) == s.len &&
            memcmp(outcome_names[i], s.ptr, s.len) == 0) {
            cb->on_outcomes |= 1u << i;
            return true;
        }
    if (s.len == 3 && s.ptr[0] >= '1' && s.ptr[0] <= '5' && (s.ptr[1] | 0x20) == 'x' &&
        (s.ptr[2] | 0x20) == 'x') {
        uint32_t base = (uint32_t)(s.ptr[0] - '0') * 100u;
        for (uint32_t st = base; st < base + 100u; st++)
            set_status(cb, st);
        return true;
    }
    if (s.len == 0 || s.ptr[0] < '0' || s.ptr[0] > '9') {
        h->config_error(cfg, n, msg);
        return false;
    }
    int64_t v = 0;
    if (h->node_int(cfg, n, 100, 599, &v) != SL_OK)
        return false;
    set_status(cb, (uint32_t)v);
    return true;
}

static bool read_on(const sl_host *h, sl_config *cfg, const sl_node *n, struct cb *cb)
{
    if (!n) {
        default_on(cb);
        return true;
    }
    if (h->node_kind(n) != SL_NODE_SEQ || h->node_count(n) == 0) {
        h->config_error(cfg, n, "circuit_breaker: `on` must be a non-empty list, "
                                "e.g. [connect_error, timeout, 502, 503]");
        return false;
    }
    bool ok = true;
    for (uint32_t i = 0; i < h->node_count(n); i++)
        ok &= read_on_item(h, cfg, h->node_item(n, i), cb);
    return ok;
}

/* error_rate: a fraction ("0.5") or a percentage ("50%"), more than 0 and at
 * most 1 (100%). Stored in parts per million. */
static bool read_rate(const sl_host *h, sl_config *cfg, const sl_node *n, struct cb *cb)
{
    static const char msg[] = "circuit_breaker: `error_rate` must be a fraction above 0 and at "
                              "most 1 (0.5) or a percentage (50%)";
    if (!n)
        return true;
    if (!is_scalar(h, n)) {
        h->config_error(cfg, n, msg);
        return false;
    }
    sl_str s = h->node_str(n);
    char *end = NULL;
    double v = s.len && s.len < 32 ? strtod(s.ptr, &end) : -1.0;
    if (end && end != s.ptr && *end == '%' && end[1] == '\0')
        v /= 100.0;
    else if (!end || end == s.ptr || *end != '\0')
        v = -1.0;
    if (!(v > 0.0 && v <= 1.0)) { /* also refuses NaN */
        h->config_error(cfg, n, msg);
        return false;
    }
    cb->rate_ppm = (uint32_t)(v * 1e6 + 0.5);
    if (cb->rate_ppm == 0)
        cb->rate_ppm = 1;
    return true;
}

static bool read_count(const sl_host *h, sl_config *cfg, const sl_node *n, int64_t min,
                       int64_t max, uint32_t *out)
{
    if (!n)
        return true;
    int64_t v = 0;
    if (h->node_int(cfg, n, min, max, &v) != SL_OK)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool read_duration(const sl_host *h, sl_config *cfg, const sl_node *n, const char *key,
                          uint64_t *out)
{
    if (!n)
        return true;
    uint64_t ms = 0;
    if (h->node_duration_ms(cfg, n, &ms) != SL_OK)
        return false;
    if (ms == 0 || ms > CB_DURATION_MAX_MS) {
        char msg[128];
        snprintf(msg, sizeof msg, "circuit_breaker: `%s` must be more than 0 and at most 24h", key);
        h->config_error(cfg, n, msg);
        return false;
    }
    *out = ms;
    return true;
}

/* Reads every key (so one `sluice -t` shows every error) into cb. */
static bool read_config(const sl_host *h, sl_config *cfg, const sl_node *root, struct cb *cb)
{
    bool ok = h->config_check_keys(cfg, root, cb_keys) == SL_OK;
    const sl_node *failures = h->node_get(root, "failures");
    const sl_node *rate = h->node_get(root, "error_rate");
    const sl_node *window = h->node_get(root, "window");
    const sl_node *min_req = h->node_get(root, "min_requests");
    ok &= read_count(h, cfg, failures, 0, CB_COUNT_MAX, &cb->failures);
    ok &= read_rate(h, cfg, rate, cb);
    ok &= read_duration(h, cfg, window, "window", &cb->window_ms);
    ok &= read_count(h, cfg, min_req, 1, CB_COUNT_MAX, &cb->min_requests);
    ok &= read_duration(h, cfg, h->node_get(root, "cooldown"), "cooldown", &cb->cooldown_ms);
    ok &= read_count(h, cfg, h->node_get(root, "probes"), 1, CB_PROBES_MAX, &cb->probes);
    ok &= read_on(h, cfg, h->node_get(root, "on"), cb);
    if (ok && cb->failures == 0 && cb->rate_ppm == 0) {
        h->config_error(cfg, failures, "circuit_breaker: with `failures: 0` and no `error_rate` "
                                       "the circuit never opens");
        ok = false;
    }
    if (ok && !rate && (window || min_req))
        h->config_warn(cfg, window ? window : min_req,
                       "circuit_breaker: `window` and `min_requests` only matter with `error_rate`");
    if (window)
        snprintf(cb->window_text, sizeof cb->window_text, "%s", h->node_str(window).ptr);
    return ok;
}

int32_t cb_create(const sl_host *h, sl_config *cfg, void **instance)
{
    const sl_node *root = h->config_root(cfg);
    if (root && h->node_kind(root) != SL_NODE_MAP && h->node_kind(root) != SL_NODE_NULL) {
        h->config_error(cfg, root, "circuit_breaker: `config` must be a map");
        return SL_ERROR;
    }
    struct cb *cb = calloc(1, sizeof *cb);
    if (!cb) {
        h->config_error(cfg, root, "circuit_breaker: out of memory");
        return SL_ERROR;
    }
    cb->h = h;
    cb->failures = 5;
    cb->window_ms = 10000;
    cb->min_requests = 10;
    cb->cooldown_ms = 30000;
    cb->probes = 1;
    snprintf(cb->window_text, sizeof cb->window_text, "10s");
    if (root && h->node_kind(root) == SL_NODE_MAP && !read_config(h, cfg, root, cb)) {
        free(cb);
        return SL_ERROR;
    }
    if (!root || h->node_kind(root) != SL_NODE_MAP)
        default_on(cb);
    for (uint32_t i = 0; i < CB_TABLE_SIZE; i++)
        atomic_init(&cb->table[i], NULL);
    for (uint32_t i = 0; i < CB_HINT_SIZE; i++)
        atomic_init(&cb->hint[i], NULL);
    atomic_init(&cb->full_warned, 0);
    atomic_init(&cb->not_closed, 0);
    *instance = cb;
    return SL_OK;
}

void cb_destroy(void *instance)
{
    struct cb *cb = instance;
    if (!cb)
        return;
    cb_table_free(cb);
    free(cb);
}
