/* config.c - reading and checking the failover configuration (create()), on the
 * main thread, also under `sluice -t`: every bad value is reported at its node. */
#include "failover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fo_keys[] = {"attempts", "on", "backoff", "max_backoff", "max_retry_after",
                                      "max_body", "fallback", NULL};

#define FO_DELAY_MAX_MS 300000u

static bool scalar(const sl_host *h, const sl_node *n)
{
    return n && h->node_kind(n) == SL_NODE_SCALAR;
}

static bool is_name(sl_str s, const char *name)
{
    return s.len == strlen(name) && memcmp(s.ptr, name, s.len) == 0;
}

/* One `on:` item: an outcome name or a status 400..599. */
static bool read_on_item(const sl_host *h, sl_config *cfg, const sl_node *n, struct fo *fo)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } names[] = {{"connect_error", FO_ON_CONNECT_ERROR}, {"timeout", FO_ON_TIMEOUT},
                 {"reset", FO_ON_RESET}, {"bad_response", FO_ON_BAD_RESPONSE}};
    sl_str s = scalar(h, n) ? h->node_str(n) : SL_STR_NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (is_name(s, names[i].name)) {
            fo->on_outcomes |= names[i].bit;
            return true;
        }
    }
    int v = 0;
    bool digits = s.len == 3;
    for (size_t i = 0; digits && i < s.len; i++) {
        digits = s.ptr[i] >= '0' && s.ptr[i] <= '9';
        v = v * 10 + (s.ptr[i] - '0');
    }
    if (digits && v >= 400 && v <= 599) {
        fo->on_status[v] = 1;
        return true;
    }
    h->config_error(cfg, n,
                    "`on` items are connect_error, timeout, reset, bad_response or an HTTP status "
                    "from 400 to 599 (e.g. 429, 503)");
    return false;
}

static bool read_on(const sl_host *h, sl_config *cfg, const sl_node *n, struct fo *fo)
{
    if (!n) { /* the SPEC's example list, and a connection that broke before a head */
        fo->on_outcomes = FO_ON_CONNECT_ERROR | FO_ON_TIMEOUT | FO_ON_RESET;
        static const int codes[] = {429, 500, 502, 503, 504};
        for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
            fo->on_status[codes[i]] = 1;
        return true;
    }
    if (h->node_kind(n) != SL_NODE_SEQ) {
        h->config_error(cfg, n, "`on` must be a list, e.g. [connect_error, timeout, 429, 503]");
        return false;
    }
    bool ok = true;
    for (uint32_t i = 0; i < h->node_count(n); i++)
        ok &= read_on_item(h, cfg, h->node_item(n, i), fo);
    return ok;
}

static bool read_delay(const sl_host *h, sl_config *cfg, const sl_node *n, const char *key, uint64_t dflt,
                       uint64_t *out)
{
    *out = dflt;
    if (!n)
        return true;
    if (h->node_duration_ms(cfg, n, out) != SL_OK)
        return false;
    if (*out > FO_DELAY_MAX_MS) {
        char msg[96];
        snprintf(msg, sizeof msg, "`%s` must be at most 5m", key);
        h->config_error(cfg, n, msg);
        return false;
    }
    return true;
}

/* fallback: a backend name or a list of them, tried in order; each must exist
 * (a 1.0 host cannot tell: a missing one is then skipped at run time). */
static bool read_fallback(const sl_host *h, sl_config *cfg, const sl_node *n, struct fo *fo)
{
    if (!n)
        return true;
    bool seq = h->node_kind(n) == SL_NODE_SEQ;
    uint32_t count = seq ? h->node_count(n) : 1;
    if (count > FO_FALLBACK_MAX) {
        h->config_error(cfg, n, "`fallback` lists at most 8 backends");
        return false;
    }
    bool ok = true;
    for (uint32_t i = 0; i < count; i++) {
        const sl_node *item = seq ? h->node_item(n, i) : n;
        sl_str s = scalar(h, item) ? h->node_str(item) : SL_STR_NULL;
        if (!s.len || s.len >= FO_NAME_MAX) {
            h->config_error(cfg, item, "`fallback` items are backend names");
            ok = false;
            continue;
        }
        if (SL_HAS(h, sl_host, config_backend) && h->config_backend(cfg, s) != SL_OK) {
            char msg[FO_NAME_MAX + 64];
            snprintf(msg, sizeof msg, "`fallback`: there is no backend '%.*s'", (int)s.len, s.ptr);
            h->config_error(cfg, item, msg);
            ok = false;
            continue;
        }
        memcpy(fo->fallback[fo->fallback_count], s.ptr, s.len);
        fo->fallback[fo->fallback_count][s.len] = '\0';
        fo->fallback_count++;
    }
    return ok;
}

int32_t fo_create(const sl_host *h, sl_config *cfg, void **instance)
{
    const sl_node *root = h->config_root(cfg);
    if (root && h->node_kind(root) != SL_NODE_MAP && h->node_kind(root) != SL_NODE_NULL) {
        h->config_error(cfg, root, "failover's `config:` must be a map");
        return SL_ERROR;
    }
    if (root && h->node_kind(root) == SL_NODE_NULL)
        root = NULL;
    struct fo *fo = calloc(1, sizeof *fo);
    if (!fo) {
        h->config_error(cfg, root, "failover: out of memory");
        return SL_ERROR;
    }
    fo->h = h;
    /* Read everything, so one run of `sluice -t` shows every error. */
    bool ok = !root || h->config_check_keys(cfg, root, fo_keys) == SL_OK;
    const sl_node *n = root ? h->node_get(root, "attempts") : NULL;
    int64_t attempts = 3;
    if (n)
        ok &= h->node_int(cfg, n, 1, FO_ATTEMPTS_MAX, &attempts) == SL_OK;
    fo->attempts = (uint32_t)attempts;
    ok &= read_on(h, cfg, root ? h->node_get(root, "on") : NULL, fo);
    ok &= read_delay(h, cfg, root ? h->node_get(root, "backoff") : NULL, "backoff", 100, &fo->backoff_ms);
    const sl_node *max_backoff = root ? h->node_get(root, "max_backoff") : NULL;
    ok &= read_delay(h, cfg, max_backoff, "max_backoff", 2000, &fo->max_backoff_ms);
    if (!max_backoff && fo->max_backoff_ms < fo->backoff_ms)
        fo->max_backoff_ms = fo->backoff_ms;
    ok &= read_delay(h, cfg, root ? h->node_get(root, "max_retry_after") : NULL, "max_retry_after", 10000,
                     &fo->max_retry_after_ms);
    fo->max_body = 1u << 20;
    n = root ? h->node_get(root, "max_body") : NULL;
    if (n)
        ok &= h->node_size(cfg, n, &fo->max_body) == SL_OK;
    ok &= read_fallback(h, cfg, root ? h->node_get(root, "fallback") : NULL, fo);
    if (ok && fo->max_backoff_ms < fo->backoff_ms) {
        h->config_error(cfg, max_backoff, "`max_backoff` is less than `backoff`");
        ok = false;
    }
    if (!ok) {
        free(fo);
        return SL_ERROR;
    }
    *instance = fo;
    return SL_OK;
}

void fo_destroy(void *instance)
{
    free(instance);
}
