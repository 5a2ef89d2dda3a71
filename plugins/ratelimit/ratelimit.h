/* ratelimit.h - the ratelimit plugin's instance, shared by its source files.
 * Private to plugins/ratelimit; the design is described in ratelimit.c. */
#ifndef SLUICE_PLUGIN_RATELIMIT_H
#define SLUICE_PLUGIN_RATELIMIT_H

#include "sluice/plugin.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What identifies a bucket (`per:`). */
#define RL_PER_API_KEY 0
#define RL_PER_IP 1
#define RL_PER_HEADER 2

/* Identities longer than this are replaced by their hash, which bounds the store
 * key: prefix + "r:" + identity + ":" + index fits RL_KEY_CAP. */
#define RL_IDENT_MAX 128
#define RL_PREFIX_MAX 256
#define RL_KEY_CAP (RL_PREFIX_MAX + 2 + RL_IDENT_MAX + 1 + 24)

/* Expiry slack past the end of a window, so a counter outlives its window even
 * when hosts sharing a store disagree a little about the time. */
#define RL_TTL_SLACK_MS 2000u

struct rl {
    const sl_host *h;
    sl_store *store;
    bool remote;              /* the store may answer SL_PENDING */
    int32_t per;              /* RL_PER_* */
    char header[96];          /* per: header:NAME, lower case, NUL-terminated */
    size_t header_len;
    int64_t requests;         /* 0: not limited */
    int64_t tokens;           /* 0: not limited */
    uint64_t window_ms;
    /* "ratelimit:<scope>:<per>/<window_ms>:"; the key of a counter appends
     * "r:" or "t:", the identity, ":" and the window index. */
    char prefix[RL_PREFIX_MAX];
    size_t prefix_len;
    /* Preformatted header values and 429 messages. */
    char requests_str[24], tokens_str[24];
    size_t requests_len, tokens_len;
    char msg_requests[160], msg_tokens[160];
    /* Store failures are logged at most every few seconds (monotonic ms). */
    _Atomic uint64_t last_warn_ms;
};

/* config.c: create() and destroy() of the descriptor. */
int32_t rl_create(const sl_host *h, sl_config *cfg, void **instance);
void rl_destroy(void *instance);

/* fmt.c: formatting without snprintf, and the identity hash. Each writes into
 * out (room for 32 bytes) and returns the length; no NUL. */
size_t rl_fmt_u64(char *out, uint64_t v);
/* Lower-case hex without leading zeros: the window index in store keys. */
size_t rl_fmt_hex(char *out, uint64_t v);
/* Go's time.Duration style at ms precision, as OpenAI's reset headers:
 * "250ms", "1s", "59.5s", "6m0s", "1h0m0s". */
size_t rl_fmt_duration(char *out, uint64_t ms);
/* 64-bit FNV-1a: not cryptographic, only keeps raw credentials out of keys. */
uint64_t rl_hash(const char *p, size_t n);
/* '#' and 16 hex digits of rl_hash(p, n): 17 bytes. */
size_t rl_fmt_hash(char *out, const char *p, size_t n);

#endif
