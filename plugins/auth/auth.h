/* auth.h - the auth plugin's internal interfaces (not part of any ABI).
 *
 *   auth.c       descriptor, create/destroy, workers, the request hooks
 *   keys.c       reading `keys` / `keys_file`, SHA-256, finding a key by digest
 *   cache.c      the per-worker cache of recently verified credentials
 *   json_model.c the top-level "model" of a JSON request body
 */
#ifndef SLUICE_PLUGIN_AUTH_H
#define SLUICE_PLUGIN_AUTH_H

#include "sluice/plugin.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_DIGEST_LEN 32      /* SHA-256 */
#define AUTH_NAME_MAX 128       /* bytes of a key's name */
#define AUTH_MODEL_MAX 256      /* bytes of a model name (config and request) */

/* One configured key. Strings are NUL-terminated copies owned by the instance. */
struct auth_key {
    uint8_t digest[AUTH_DIGEST_LEN];
    char *name;
    size_t name_len;
    char **backends;            /* NULL with n_backends 0: any backend */
    uint32_t n_backends;
    char **models;              /* NULL with n_models 0: any model */
    uint32_t n_models;
};

struct auth_cache;

/* One filter instance (one `- plugin: auth` entry). */
struct auth {
    const sl_host *host;
    struct auth_key *keys;
    uint32_t n_keys;
    uint32_t n_caches;
    struct auth_cache **caches; /* [worker index]; each touched only by its worker */
};

/* ---- keys.c ---- */

/* Reads the filter's configuration into a->keys, reporting every error it finds
 * through the host. SL_OK, or SL_ERROR after at least one config_error. */
int32_t auth_keys_load(struct auth *a, sl_config *cfg);
void auth_keys_free(struct auth *a);

/* SHA-256 of data[0..len) into out. False when wolfCrypt fails. */
bool auth_sha256(const void *data, size_t len, uint8_t out[AUTH_DIGEST_LEN]);

/* The key whose digest equals d, or NULL. Compares d with every key in constant
 * time, so the time taken tells nothing about which key (if any) matched. */
const struct auth_key *auth_keys_find(const struct auth *a, const uint8_t d[AUTH_DIGEST_LEN]);

/* ---- cache.c ---- */

struct auth_cache *auth_cache_new(void);
/* Wipes every remembered credential, then frees. NULL is fine. */
void auth_cache_free(struct auth_cache *c);
/* The key index remembered for this exact credential, or -1. Constant time in the
 * stored contents: only the presented credential's length shows in the timing. */
int64_t auth_cache_get(struct auth_cache *c, sl_str cred);
/* Remembers cred -> key index (evicting, and wiping, an older entry). Credentials
 * longer than the cache's slots are not remembered. */
void auth_cache_put(struct auth_cache *c, sl_str cred, uint32_t key_index);

/* ---- json_model.c ---- */

#define AUTH_MODEL_FOUND 0      /* a top-level "model" string, decoded into out */
#define AUTH_MODEL_ABSENT 1     /* a JSON object without a top-level "model" */
#define AUTH_MODEL_NOT_STRING 2 /* "model" is there but not a string */
#define AUTH_MODEL_TOO_LONG 3   /* longer than the out buffer */
#define AUTH_MODEL_DUPLICATE 4  /* "model" appears twice at the top level */
#define AUTH_MODEL_BAD_JSON 5   /* not a (well-formed) JSON object */

/* Scans a whole JSON document: the decoded top-level "model" string goes to
 * out[0..cap) (NUL-terminated) and *out_len. Nested "model" keys and text inside
 * strings never count. Returns an AUTH_MODEL_* code. */
int auth_json_model(sl_str body, char *out, size_t cap, size_t *out_len);

#endif
