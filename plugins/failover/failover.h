/* failover.h - the failover plugin's instance, shared by its source files.
 * Private to plugins/failover; the design is described in failover.c. */
#ifndef SLUICE_PLUGIN_FAILOVER_H
#define SLUICE_PLUGIN_FAILOVER_H

#include "sluice/plugin.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define FO_FALLBACK_MAX 8
#define FO_ATTEMPTS_MAX 10
#define FO_NAME_MAX 128

/* `on:` conditions */
#define FO_ON_CONNECT_ERROR 0x1u
#define FO_ON_TIMEOUT 0x2u
#define FO_ON_RESET 0x4u
#define FO_ON_BAD_RESPONSE 0x8u

/* Servers set aside after a retry-after, for the whole process (aside.c): a fixed
 * table keyed by a hash of "backend/server", lock-free. */
#define FO_ASIDE_SLOTS 256u

struct fo_aside {
    _Atomic uint64_t key;           /* 0: free */
    _Atomic uint64_t until_ms;      /* monotonic */
};

struct fo {
    const sl_host *h;
    uint32_t attempts;              /* in all, the first included */
    uint32_t on_outcomes;           /* FO_ON_* */
    uint8_t on_status[600];         /* 1: retry on this status */
    uint64_t backoff_ms, max_backoff_ms, max_retry_after_ms;
    uint64_t max_body;              /* bodies up to this are kept for replay */
    uint32_t fallback_count;
    char fallback[FO_FALLBACK_MAX][FO_NAME_MAX];
    _Atomic uint64_t aside_any_until; /* no table lookups before some server is set aside */
    struct fo_aside aside[FO_ASIDE_SLOTS];
};

/* config.c */
int32_t fo_create(const sl_host *h, sl_config *cfg, void **instance);
void fo_destroy(void *instance);

/* aside.c */
uint64_t fo_server_key(sl_str backend, sl_str server);
void fo_aside_set(struct fo *fo, uint64_t key, uint64_t until_ms);
/* True while the server is set aside at now_ms. */
bool fo_aside_is(struct fo *fo, uint64_t key, uint64_t now_ms);

#endif
