/* tokens.h - token counts per server and model (sluice_tokens_total).
 *
 * Every server has one table. Its model names are shared by all workers: at most
 * STATS_TOKENS_MODELS of them, appended in the order responses named them and
 * never changed or removed for the runtime's life. A response naming a model
 * once the table is full counts under "other"; one naming no model counts under
 * "unknown" (a response that names "other" or "unknown" lands in those rows too,
 * so every label value is written once). This bounds the label cardinality of
 * sluice_tokens_total to (STATS_TOKENS_MODELS + 2) x 2 series per server whatever
 * the upstreams answer.
 *
 * Counts are kept per worker and written like stats.h's counters (relaxed load +
 * store by their one worker, no locked instruction); the admin thread sums the
 * workers. Finding a model takes no lock: names are published by a release store
 * of the count. Adding a name takes the table's mutex, once per model and server.
 */
#ifndef SLUICE_STATS_TOKENS_H
#define SLUICE_STATS_TOKENS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "stats/stats.h"

#define STATS_TOKENS_MODELS 64u      /* distinct model names per server */
#define STATS_TOKENS_NAME_MAX 127u   /* longer names count under "other" */
#define STATS_TOKENS_OTHER STATS_TOKENS_MODELS            /* row past the limit */
#define STATS_TOKENS_UNKNOWN (STATS_TOKENS_MODELS + 1u)   /* row of no model */
#define STATS_TOKENS_ROWS (STATS_TOKENS_MODELS + 2u)

/* The `type` label: OpenAI prompt_tokens and Anthropic input_tokens (with its
 * cache tokens) are "prompt"; completion_tokens and output_tokens "completion". */
enum stats_token_type { STATS_TOKENS_PROMPT, STATS_TOKENS_COMPLETION, STATS_TOKENS_TYPES };

struct stats_token_name {
    uint32_t len;
    char s[];                        /* NUL-terminated */
};

struct stats_tokens {
    pthread_mutex_t lock;            /* adding a name */
    _Atomic uint32_t count;          /* names published */
    const struct stats_token_name *names[STATS_TOKENS_MODELS];
    uint32_t workers;
    stat_t *counts;                  /* [worker][row][type] */
};

/* A table for `workers` workers; NULL when out of memory. */
struct stats_tokens *stats_tokens_create(uint32_t workers);
void stats_tokens_free(struct stats_tokens *t);

/* The row of a model name (len 0: unknown). May add the name (locks; one malloc). */
uint32_t stats_tokens_row(struct stats_tokens *t, const char *model, size_t len);

/* Counts a response's usage for worker w; negative counts are unknown and skipped. */
static inline void stats_tokens_add(struct stats_tokens *t, uint32_t w, uint32_t row,
                                    int64_t prompt, int64_t completion)
{
    stat_t *c = t->counts + ((size_t)w * STATS_TOKENS_ROWS + row) * STATS_TOKENS_TYPES;
    if (prompt > 0)
        stat_add(&c[STATS_TOKENS_PROMPT], (uint64_t)prompt);
    if (completion > 0)
        stat_add(&c[STATS_TOKENS_COMPLETION], (uint64_t)completion);
}

/* ---- reading (any thread) ---- */

/* Model names published so far: rows 0 .. count-1. */
uint32_t stats_tokens_models(const struct stats_tokens *t);
/* The `model` label of a row ("other", "unknown" for the two last). */
const char *stats_tokens_label(const struct stats_tokens *t, uint32_t row);
/* A row's count of one type, summed over workers. */
uint64_t stats_tokens_sum(const struct stats_tokens *t, uint32_t row, enum stats_token_type type);
/* Every row's count of one type, summed over workers. */
uint64_t stats_tokens_total(const struct stats_tokens *t, enum stats_token_type type);

#endif
