/* keys.c - the auth plugin's keys: read from `keys` and `keys_file`, hashed with
 * SHA-256, found by digest in constant time.
 *
 * Every problem is reported at its node and reading goes on, so one `sluice -t`
 * shows them all. No message ever contains a key: only names and positions.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA256_PREFIX "sha256:"
#define SHA256_PREFIX_LEN (sizeof SHA256_PREFIX - 1)

struct loader {
    struct auth *a;
    const sl_host *h;
    sl_config *cfg;
    uint32_t cap;       /* allocated entries of a->keys */
    int errors;
};

static void error_at(struct loader *l, const sl_node *at, const char *msg)
{
    l->h->config_error(l->cfg, at, msg);
    l->errors++;
}

bool auth_sha256(const void *data, size_t len, uint8_t out[AUTH_DIGEST_LEN])
{
    wc_Sha256 sha;
    if (len > UINT32_MAX || wc_InitSha256(&sha) != 0)
        return false;
    bool ok = wc_Sha256Update(&sha, data, (word32)len) == 0 && wc_Sha256Final(&sha, out) == 0;
    wc_Sha256Free(&sha);
    return ok;
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

const struct auth_key *auth_keys_find(const struct auth *a, const uint8_t d[AUTH_DIGEST_LEN])
{
    /* Digests are unique (create() refuses duplicates), so at most one mask is set;
     * no early exit, no branch on the data. */
    uintptr_t hit = 0;
    for (uint32_t i = 0; i < a->n_keys; i++) {
        const uint8_t *k = a->keys[i].digest;
        uint64_t diff = 0;
        for (size_t w = 0; w < AUTH_DIGEST_LEN; w += 8)
            diff |= load64(d + w) ^ load64(k + w);
        uint64_t zero = ((diff | (0 - diff)) >> 63) ^ 1;   /* 1 when equal */
        hit |= (uintptr_t)(0 - zero) & (uintptr_t)&a->keys[i];
    }
    return (const struct auth_key *)hit;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* `key:` into k->digest: "sha256:<64 hex>" as is, anything else hashed (with a
 * warning, since the file then holds a usable secret). */
static void read_secret(struct loader *l, const sl_node *n, struct auth_key *k)
{
    if (!n || l->h->node_kind(n) != SL_NODE_SCALAR) {
        error_at(l, n, "a key needs `key:` with \"sha256:<64 hex digits>\" (or the key in plain text)");
        return;
    }
    sl_str s = l->h->node_str(n);
    if (s.len >= SHA256_PREFIX_LEN && memcmp(s.ptr, SHA256_PREFIX, SHA256_PREFIX_LEN) == 0) {
        const char *hex = s.ptr + SHA256_PREFIX_LEN;
        if (s.len - SHA256_PREFIX_LEN != 2 * AUTH_DIGEST_LEN) {
            error_at(l, n, "a sha256: key needs exactly 64 hex digits (the output of sha256sum)");
            return;
        }
        for (size_t i = 0; i < AUTH_DIGEST_LEN; i++) {
            int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                error_at(l, n, "a sha256: key needs exactly 64 hex digits (the output of sha256sum)");
                return;
            }
            k->digest[i] = (uint8_t)(hi << 4 | lo);
        }
        return;
    }
    if (s.len == 0) {
        error_at(l, n, "an empty API key");
        return;
    }
    l->h->config_warn(l->cfg, n, "API key stored in plain text; store sha256:<hex> instead "
                                 "(hex from: echo -n KEY | sha256sum)");
    if (!auth_sha256(s.ptr, s.len, k->digest))
        error_at(l, n, "hashing the key failed");
}

/* 1 to AUTH_NAME_MAX printable ASCII characters without spaces: the name shows
 * up in variables, logs and store keys of later filters. */
static bool good_name(sl_str s)
{
    if (s.len == 0 || s.len > AUTH_NAME_MAX)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if ((unsigned char)s.ptr[i] <= 0x20 || (unsigned char)s.ptr[i] >= 0x7f)
            return false;
    return true;
}

static void free_list(char **v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* A list of names (or one scalar, a list of one) into *out / *count. */
static void read_list(struct loader *l, const sl_node *n, const char *what, char ***out,
                      uint32_t *count)
{
    const sl_host *h = l->h;
    int32_t kind = h->node_kind(n);
    uint32_t total = kind == SL_NODE_SEQ ? h->node_count(n) : 1;
    char msg[160];
    if (kind != SL_NODE_SEQ && kind != SL_NODE_SCALAR) {
        snprintf(msg, sizeof msg, "`%s` is a list of names", what);
        error_at(l, n, msg);
        return;
    }
    if (total == 0) {
        snprintf(msg, sizeof msg, "an empty `%s` list allows nothing; leave it out to allow all", what);
        error_at(l, n, msg);
        return;
    }
    char **v = calloc(total, sizeof *v);
    if (!v) {
        error_at(l, n, "out of memory");
        return;
    }
    uint32_t got = 0;
    for (uint32_t i = 0; i < total; i++) {
        const sl_node *item = kind == SL_NODE_SEQ ? h->node_item(n, i) : n;
        sl_str s = h->node_str(item);
        if (h->node_kind(item) != SL_NODE_SCALAR || s.len == 0 || s.len >= AUTH_MODEL_MAX) {
            snprintf(msg, sizeof msg, "each entry of `%s` is a name of 1 to %d bytes", what,
                     AUTH_MODEL_MAX - 1);
            error_at(l, item, msg);
            continue;
        }
        if (!(v[got] = strndup(s.ptr, s.len))) {
            error_at(l, item, "out of memory");
            continue;
        }
        got++;
    }
    *out = v;
    *count = got;
}

static void key_free(struct auth_key *k)
{
    free(k->name);
    free_list(k->backends, k->n_backends);
    free_list(k->models, k->n_models);
    memset(k, 0, sizeof *k);
}

/* Duplicates are errors: two entries for one secret make the name ambiguous, two
 * keys with one name make later filters (rate limits) mix them up. */
static void check_unique(struct loader *l, const struct auth_key *k, const sl_node *key_node,
                         const sl_node *name_node)
{
    char msg[AUTH_NAME_MAX + 96];
    for (uint32_t i = 0; i < l->a->n_keys; i++) {
        const struct auth_key *o = &l->a->keys[i];
        if (o->name_len == k->name_len && memcmp(o->name, k->name, k->name_len) == 0) {
            snprintf(msg, sizeof msg, "duplicate key name '%s'", k->name);
            error_at(l, name_node, msg);
        }
        if (memcmp(o->digest, k->digest, AUTH_DIGEST_LEN) == 0) {
            snprintf(msg, sizeof msg, "the same API key is already listed as '%s'", o->name);
            error_at(l, key_node, msg);
        }
    }
}

static void read_key(struct loader *l, const sl_node *n)
{
    static const char *const allowed[] = {"key", "name", "backends", "models", NULL};
    const sl_host *h = l->h;
    if (h->node_kind(n) != SL_NODE_MAP) {
        error_at(l, n, "each key is a mapping {key: \"sha256:<hex>\", name: NAME}");
        return;
    }
    int before = l->errors;
    if (h->config_check_keys(l->cfg, n, allowed) != SL_OK)
        l->errors++;
    struct auth_key k;
    memset(&k, 0, sizeof k);
    const sl_node *key_node = h->node_get(n, "key"), *name_node = h->node_get(n, "name");
    read_secret(l, key_node ? key_node : n, &k);
    sl_str name = h->node_str(name_node);
    if (!name_node || h->node_kind(name_node) != SL_NODE_SCALAR || !good_name(name)) {
        error_at(l, name_node ? name_node : n,
                 "a key needs `name:` of 1 to 128 printable characters without spaces");
    } else if (!(k.name = strndup(name.ptr, name.len))) {
        error_at(l, name_node, "out of memory");
    } else {
        k.name_len = name.len;
    }
    const sl_node *b = h->node_get(n, "backends"), *m = h->node_get(n, "models");
    if (b)
        read_list(l, b, "backends", &k.backends, &k.n_backends);
    if (m)
        read_list(l, m, "models", &k.models, &k.n_models);
    if (l->errors == before)
        check_unique(l, &k, key_node, name_node);
    if (l->errors != before) {
        key_free(&k);
        return;
    }
    if (l->a->n_keys == l->cap) {
        uint32_t cap = l->cap ? 2 * l->cap : 8;
        struct auth_key *grown = realloc(l->a->keys, cap * sizeof *grown);
        if (!grown) {
            error_at(l, n, "out of memory");
            key_free(&k);
            return;
        }
        l->a->keys = grown;
        l->cap = cap;
    }
    l->a->keys[l->a->n_keys++] = k;
}

static void read_keys(struct loader *l, const sl_node *seq)
{
    if (l->h->node_kind(seq) != SL_NODE_SEQ) {
        error_at(l, seq, "`keys` is a list of {key: \"sha256:<hex>\", name: NAME}");
        return;
    }
    uint32_t n = l->h->node_count(seq);
    for (uint32_t i = 0; i < n; i++)
        read_key(l, l->h->node_item(seq, i));
}

static void read_file(struct loader *l, const sl_node *at)
{
    static const char *const allowed[] = {"keys", NULL};
    const sl_host *h = l->h;
    if (h->node_kind(at) != SL_NODE_SCALAR || h->node_str(at).len == 0) {
        error_at(l, at, "`keys_file` is the path of a YAML file with a top-level `keys:` list");
        return;
    }
    const sl_node *root = h->config_load_file(l->cfg, at, h->node_str(at));
    if (!root) {
        l->errors++;
        return;
    }
    if (h->node_kind(root) != SL_NODE_MAP || !h->node_get(root, "keys")) {
        error_at(l, root, "a keys file is a mapping with a top-level `keys:` list");
        return;
    }
    if (h->config_check_keys(l->cfg, root, allowed) != SL_OK)
        l->errors++;
    read_keys(l, h->node_get(root, "keys"));
}

int32_t auth_keys_load(struct auth *a, sl_config *cfg)
{
    static const char *const allowed[] = {"keys_file", "keys", NULL};
    struct loader l = {.a = a, .h = a->host, .cfg = cfg};
    const sl_host *h = a->host;
    const sl_node *root = h->config_root(cfg);
    if (h->node_kind(root) != SL_NODE_MAP) {
        error_at(&l, root, "auth needs `config:` with `keys_file: PATH` and/or `keys: [...]`");
        return SL_ERROR;
    }
    if (h->config_check_keys(cfg, root, allowed) != SL_OK)
        l.errors++;
    const sl_node *file = h->node_get(root, "keys_file"), *keys = h->node_get(root, "keys");
    if (!file && !keys)
        error_at(&l, root, "auth needs `keys_file: PATH` and/or `keys: [...]`");
    if (file)
        read_file(&l, file);
    if (keys)
        read_keys(&l, keys);
    if (!l.errors && a->n_keys == 0)
        error_at(&l, keys ? keys : file, "no API keys: every request would be refused");
    if (l.errors) {
        auth_keys_free(a);
        return SL_ERROR;
    }
    return SL_OK;
}

void auth_keys_free(struct auth *a)
{
    for (uint32_t i = 0; i < a->n_keys; i++)
        key_free(&a->keys[i]);
    free(a->keys);
    a->keys = NULL;
    a->n_keys = 0;
}
