/* aside.c - servers set aside after answering with retry-after, shared by all
 * workers without a lock. A slot is claimed once for a server (CAS on its key)
 * and never freed; a full table only means a server is not set aside. */
#include "failover.h"
#include "server_key.h"

uint64_t fo_server_key(sl_str backend, sl_str server)
{
    uint64_t h = sk_hash(backend, server);
    return h ? h : 1; /* 0 marks a free slot */
}

static struct fo_aside *slot(struct fo *fo, uint64_t key, bool claim)
{
    for (uint32_t i = 0; i < FO_ASIDE_SLOTS; i++) {
        struct fo_aside *s = &fo->aside[(key + i) % FO_ASIDE_SLOTS];
        uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);
        if (k == key)
            return s;
        if (k == 0) {
            if (!claim)
                return NULL;
            uint64_t expect = 0;
            if (atomic_compare_exchange_strong(&s->key, &expect, key) || expect == key)
                return s;
        }
    }
    return NULL;
}

void fo_aside_set(struct fo *fo, uint64_t key, uint64_t until_ms)
{
    struct fo_aside *s = slot(fo, key, true);
    if (!s)
        return;
    atomic_store_explicit(&s->until_ms, until_ms, memory_order_relaxed);
    uint64_t any = atomic_load_explicit(&fo->aside_any_until, memory_order_relaxed);
    while (any < until_ms &&
           !atomic_compare_exchange_weak_explicit(&fo->aside_any_until, &any, until_ms, memory_order_relaxed,
                                                  memory_order_relaxed)) {
    }
}

bool fo_aside_is(struct fo *fo, uint64_t key, uint64_t now_ms)
{
    if (atomic_load_explicit(&fo->aside_any_until, memory_order_relaxed) <= now_ms)
        return false; /* the usual case: one load */
    struct fo_aside *s = slot(fo, key, false);
    return s && atomic_load_explicit(&s->until_ms, memory_order_relaxed) > now_ms;
}
