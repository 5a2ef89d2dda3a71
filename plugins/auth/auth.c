/* auth.c - the `auth` filter: API keys for the clients of a frontend or route.
 *
 * Design choices (for docs/plugins.md):
 *
 * Configuration. `{keys_file: PATH}` and/or `{keys: [...]}`; both may be given
 *   and are merged. Each key is `{key: "sha256:<64 hex>", name: NAME,
 *   backends: [..], models: [..]}`; a keys file is YAML with a top-level `keys:`
 *   list of the same shape, read with config_load_file so its errors point into
 *   it. `key:` not starting with "sha256:" is a plain-text key: accepted, hashed
 *   at load, with a warning at its position (the key itself is never printed).
 *   Unknown keys, a missing or bad name (1-128 printable ASCII, no spaces), bad
 *   hex, an empty `backends`/`models` list, two keys with one name or one secret
 *   listed twice, and a configuration without any key are errors. `backends`
 *   and `models` also take a single name (a list of one).
 *
 * Credential. `Authorization: Bearer <k>` (the scheme in any case), else
 *   `x-api-key: <k>`. When both are sent the Bearer one is used. An
 *   Authorization header of another scheme (Basic...) does not count.
 *
 * Answers. No credential: 401 authentication_error/missing_api_key; a key not
 *   configured: 401 authentication_error/invalid_api_key; both with
 *   `www-authenticate: Bearer`. A known key that may not use the route's backend:
 *   403 permission_error/backend_not_allowed, and a model outside its `models`:
 *   403 permission_error/model_not_allowed. The SPEC lists 401 for bad keys; a
 *   valid key lacking a permission is 403, as OpenAI and Anthropic answer.
 *
 * Models. A key with `models` makes the core buffer the request body
 *   (request_body_buffer, so up to max_body_bytes); the body's top-level JSON
 *   "model" string must then be in the list. A body that is not a JSON object
 *   with a string "model" (or names it twice) is a 400
 *   invalid_request_error/model_required (duplicate_model), except an empty body
 *   on GET or HEAD (model listings), which passes: it asks no model to run.
 *   Multipart bodies (audio uploads) are therefore refused for such keys.
 *
 * Forwarding. On success both credential headers are removed from the request
 *   (the server's configured `headers` still add the provider's key), and the
 *   variable "auth.key" is set to the key's name for later filters (ratelimit
 *   per api_key, logging).
 *
 * Secrets. Keys are kept only as SHA-256 digests (wolfCrypt). A presented key is
 *   hashed and compared with every configured digest in constant time. Because
 *   SHA-256 costs thousands of instructions per request, each worker keeps a
 *   small cache (64 entries, cache.c) of credentials that matched,
 *   compared in constant time; failed lookups are never cached, entries are
 *   wiped on eviction and when the worker stops. Nothing here logs a credential.
 *
 * State. Everything goes through the host table received in create(); no
 * globals. Per-worker caches are indexed by the worker index.
 */
#include "auth.h"

#include "sluice/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

static void auth_destroy(void *instance)
{
    struct auth *a = instance;
    if (!a)
        return;
    for (uint32_t i = 0; i < a->n_caches; i++)
        auth_cache_free(a->caches[i]);
    free(a->caches);
    auth_keys_free(a);
    free(a);
}

static int32_t auth_create(const sl_host *host, sl_config *cfg, void **instance)
{
    if (!host || host->abi_major != SL_ABI_VERSION_MAJOR)
        return SL_ERROR;
    struct auth *a = calloc(1, sizeof *a);
    if (!a) {
        host->config_error(cfg, NULL, "out of memory");
        return SL_ERROR;
    }
    a->host = host;
    if (auth_keys_load(a, cfg) != SL_OK) {
        free(a);
        return SL_ERROR;
    }
    uint32_t workers = host->worker_count();
    if (workers && !(a->caches = calloc(workers, sizeof *a->caches))) {
        host->config_error(cfg, NULL, "out of memory");
        auth_destroy(a);
        return SL_ERROR;
    }
    a->n_caches = a->caches ? workers : 0;
    *instance = a;
    return SL_OK;
}

static int32_t auth_worker_start(void *instance, sl_worker *w)
{
    struct auth *a = instance;
    uint32_t i = a->host->worker_index(w);
    if (i < a->n_caches && !a->caches[i])
        a->caches[i] = auth_cache_new();    /* NULL is fine: every lookup then hashes */
    return SL_OK;
}

static void auth_worker_stop(void *instance, sl_worker *w)
{
    struct auth *a = instance;
    uint32_t i = a->host->worker_index(w);
    if (i < a->n_caches) {
        auth_cache_free(a->caches[i]);
        a->caches[i] = NULL;
    }
}

/* This worker's cache, made here if worker_start did not run for this instance. */
static struct auth_cache *worker_cache(struct auth *a, sl_txn *t)
{
    int64_t i = a->host->txn_num(t, SL_TXN_WORKER);
    if (i < 0 || (uint64_t)i >= a->n_caches)
        return NULL;
    if (!a->caches[i])
        a->caches[i] = auth_cache_new();
    return a->caches[i];
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static sl_str trim(sl_str s)
{
    while (s.len && is_ows(s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len && is_ows(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

/* "Bearer" in any case: two loads instead of strncasecmp on every request. */
static bool is_bearer(const char *p)
{
    uint32_t head, want_head;
    uint16_t tail, want_tail;
    memcpy(&head, p, 4);
    memcpy(&tail, p + 4, 2);
    memcpy(&want_head, "bear", 4);
    memcpy(&want_tail, "er", 2);
    return ((head | 0x20202020u) == want_head) & ((tail | 0x2020u) == want_tail);
}

/* The client's credential: Bearer first, then x-api-key. False when none. */
static bool credential(const sl_host *h, sl_txn *t, sl_str *out)
{
    sl_str v;
    if (h->header_get(t, SL_REQUEST, SL_STR("authorization"), &v) == SL_OK) {
        v = trim(v);
        if (v.len > 7 && is_bearer(v.ptr) && is_ows(v.ptr[6])) {
            v.ptr += 7;
            v.len -= 7;
            *out = trim(v);
            if (out->len)
                return true;
        }
    }
    if (h->header_get(t, SL_REQUEST, SL_STR("x-api-key"), &v) == SL_OK) {
        *out = trim(v);
        return out->len > 0;
    }
    return false;
}

/* The key cred belongs to (NULL: none); *failed when hashing failed. */
static const struct auth_key *lookup(struct auth *a, sl_txn *t, sl_str cred, bool *failed)
{
    struct auth_cache *c = worker_cache(a, t);
    if (c) {
        int64_t i = auth_cache_get(c, cred);
        if (i >= 0 && (uint64_t)i < a->n_keys)
            return &a->keys[i];
    }
    uint8_t d[AUTH_DIGEST_LEN];
    if (!auth_sha256(cred.ptr, cred.len, d)) {
        *failed = true;
        return NULL;
    }
    const struct auth_key *k = auth_keys_find(a, d);
    explicit_bzero(d, sizeof d);
    if (k && c)
        auth_cache_put(c, cred, (uint32_t)(k - a->keys));
    return k;
}

static int32_t answer(const sl_host *h, sl_txn *t, uint32_t status, const char *type,
                      const char *code, const char *msg)
{
    if (status == 401)
        h->header_set(t, SL_RESPONSE, SL_STR("www-authenticate"), SL_STR("Bearer"));
    return h->respond_error(t, status, type, code, msg) == SL_OK ? SL_DONE : SL_ERROR;
}

static bool listed(char *const *list, uint32_t n, sl_str s)
{
    for (uint32_t i = 0; i < n; i++)
        if (strlen(list[i]) == s.len && memcmp(list[i], s.ptr, s.len) == 0)
            return true;
    return false;
}

/* A name the client sent, fit to quote in a message: short and of plain
 * characters, else left out. */
static const char *quotable(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
            !strchr("._:/@+-", c))
            return NULL;
    }
    return s;
}

static int32_t auth_request_head(void *instance, sl_txn *t)
{
    struct auth *a = instance;
    const sl_host *h = a->host;
    sl_str cred;
    if (!credential(h, t, &cred))
        return answer(h, t, 401, "authentication_error", "missing_api_key",
                      "Missing API key: send Authorization: Bearer <key> or x-api-key: <key>");
    bool failed = false;
    const struct auth_key *k = lookup(a, t, cred, &failed);
    if (failed)
        return SL_ERROR;
    if (!k)
        return answer(h, t, 401, "authentication_error", "invalid_api_key", "Invalid API key");
    if (k->n_backends && !listed(k->backends, k->n_backends, h->txn_str(t, SL_TXN_BACKEND))) {
        sl_str b = h->txn_str(t, SL_TXN_BACKEND);
        char msg[384];
        snprintf(msg, sizeof msg, "API key '%.128s' may not use backend '%.*s'", k->name,
                 quotable(b.ptr, b.len) ? (int)b.len : 1, quotable(b.ptr, b.len) ? b.ptr : "?");
        return answer(h, t, 403, "permission_error", "backend_not_allowed", msg);
    }
    if (h->header_remove(t, SL_REQUEST, SL_STR("authorization")) < 0 ||
        h->header_remove(t, SL_REQUEST, SL_STR("x-api-key")) < 0 ||
        h->var_set(t, SL_STR("auth.key"), (sl_str){k->name, k->name_len}) != SL_OK)
        return SL_ERROR;     /* fail closed: never forward a credential */
    if (k->n_models) {
        if (h->request_body_buffer(t) != SL_OK)
            return SL_ERROR;
        h->txn_set_data(t, a, (void *)&a->keys[k - a->keys]);
    }
    return SL_CONTINUE;
}

static bool bodiless_read(const sl_host *h, sl_txn *t)
{
    sl_str m = h->txn_str(t, SL_TXN_METHOD);
    return (m.len == 3 && memcmp(m.ptr, "GET", 3) == 0) ||
           (m.len == 4 && memcmp(m.ptr, "HEAD", 4) == 0);
}

static int32_t auth_request_body(void *instance, sl_txn *t, sl_str chunk, int32_t end)
{
    struct auth *a = instance;
    const sl_host *h = a->host;
    const struct auth_key *k = h->txn_data(t, a);
    if (!k || !end)
        return SL_CONTINUE;
    sl_str body;
    if (h->request_body_get(t, &body) != SL_OK)
        body = chunk;
    if (body.len == 0 && bodiless_read(h, t))
        return SL_CONTINUE;
    char model[AUTH_MODEL_MAX], msg[384];
    size_t len;
    switch (auth_json_model(body, model, sizeof model, &len)) {
    case AUTH_MODEL_FOUND:
        if (listed(k->models, k->n_models, (sl_str){model, len}))
            return SL_CONTINUE;
        /* fallthrough */
    case AUTH_MODEL_TOO_LONG:
        if (quotable(model, len))
            snprintf(msg, sizeof msg, "API key '%.128s' may not use model '%.64s'", k->name,
                     model);
        else
            snprintf(msg, sizeof msg, "API key '%s' may not use this model", k->name);
        return answer(h, t, 403, "permission_error", "model_not_allowed", msg);
    case AUTH_MODEL_DUPLICATE:
        return answer(h, t, 400, "invalid_request_error", "duplicate_model",
                      "The request body names \"model\" twice");
    default:
        snprintf(msg, sizeof msg, "API key '%s' is limited to some models: the request body "
                 "must be a JSON object with a string \"model\"", k->name);
        return answer(h, t, 400, "invalid_request_error", "model_required", msg);
    }
}

static const sl_plugin auth_plugin = {
    SL_PLUGIN_HEAD,
    .name = "auth",
    .version = STR(SL_VERSION_MAJOR) "." STR(SL_VERSION_MINOR) "." STR(SL_VERSION_PATCH),
    .create = auth_create,
    .destroy = auth_destroy,
    .worker_start = auth_worker_start,
    .worker_stop = auth_worker_stop,
    .on_request_head = auth_request_head,
    .on_request_body = auth_request_body,
};

SL_PLUGIN_EXPORT const sl_plugin *SL_PLUGIN_ENTRY(void);
SL_PLUGIN_EXPORT const sl_plugin *SL_PLUGIN_ENTRY(void)
{
    return &auth_plugin;
}
