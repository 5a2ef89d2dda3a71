/* tokens.c - the per-server table of sluice_tokens_total (see tokens.h). */
#include "stats/tokens.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct stats_tokens *stats_tokens_create(uint32_t workers)
{
    struct stats_tokens *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->workers = workers;
    t->counts = calloc((size_t)(workers ? workers : 1) * STATS_TOKENS_ROWS * STATS_TOKENS_TYPES,
                       sizeof *t->counts);
    if (!t->counts) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    atomic_init(&t->count, 0);
    return t;
}

void stats_tokens_free(struct stats_tokens *t)
{
    if (!t)
        return;
    uint32_t n = atomic_load_explicit(&t->count, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++)
        free((void *)t->names[i]);
    pthread_mutex_destroy(&t->lock);
    free(t->counts);
    free(t);
}

static uint32_t find(const struct stats_tokens *t, uint32_t from, uint32_t n, const char *model,
                     size_t len)
{
    for (uint32_t i = from; i < n; i++)
        if (t->names[i]->len == len && !memcmp(t->names[i]->s, model, len))
            return i;
    return UINT32_MAX;
}

static bool is_reserved(const char *model, size_t len, const char *label)
{
    return len == strlen(label) && !memcmp(model, label, len);
}

/* The slow path: a name not seen yet. Another worker may have added it meanwhile,
 * so the names published since the lock-free look are searched again. */
static uint32_t add(struct stats_tokens *t, uint32_t seen, const char *model, size_t len)
{
    pthread_mutex_lock(&t->lock);
    uint32_t n = atomic_load_explicit(&t->count, memory_order_relaxed);
    uint32_t row = find(t, seen, n, model, len);
    if (row == UINT32_MAX && n < STATS_TOKENS_MODELS) {
        struct stats_token_name *name = malloc(sizeof *name + len + 1);
        if (name) {
            name->len = (uint32_t)len;
            memcpy(name->s, model, len);
            name->s[len] = '\0';
            t->names[n] = name;
            atomic_store_explicit(&t->count, n + 1, memory_order_release);
            row = n;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return row == UINT32_MAX ? STATS_TOKENS_OTHER : row;
}

uint32_t stats_tokens_row(struct stats_tokens *t, const char *model, size_t len)
{
    if (len == 0 || is_reserved(model, len, "unknown"))
        return STATS_TOKENS_UNKNOWN;
    if (len > STATS_TOKENS_NAME_MAX || is_reserved(model, len, "other"))
        return STATS_TOKENS_OTHER;
    uint32_t n = atomic_load_explicit(&t->count, memory_order_acquire);
    uint32_t row = find(t, 0, n, model, len);
    if (row != UINT32_MAX)
        return row;
    return n < STATS_TOKENS_MODELS ? add(t, n, model, len) : STATS_TOKENS_OTHER;
}

uint32_t stats_tokens_models(const struct stats_tokens *t)
{
    return atomic_load_explicit(&t->count, memory_order_acquire);
}

const char *stats_tokens_label(const struct stats_tokens *t, uint32_t row)
{
    if (row == STATS_TOKENS_OTHER)
        return "other";
    if (row == STATS_TOKENS_UNKNOWN || row >= stats_tokens_models(t))
        return "unknown";
    return t->names[row]->s;
}

uint64_t stats_tokens_sum(const struct stats_tokens *t, uint32_t row, enum stats_token_type type)
{
    uint64_t v = 0;
    for (uint32_t w = 0; w < t->workers; w++)
        v += stat_get(&t->counts[((size_t)w * STATS_TOKENS_ROWS + row) * STATS_TOKENS_TYPES + type]);
    return v;
}

uint64_t stats_tokens_total(const struct stats_tokens *t, enum stats_token_type type)
{
    uint64_t v = 0;
    for (uint32_t row = 0; row < STATS_TOKENS_ROWS; row++)
        v += stats_tokens_sum(t, row, type);
    return v;
}
