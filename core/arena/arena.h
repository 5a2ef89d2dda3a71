/* arena.h - bump allocator for memory that lives and dies together.
 *
 * A configuration generation, and later a transaction, allocates its many small
 * pieces from one arena and frees them with one call. Allocation is a pointer bump
 * inside a chunk; chunks come from malloc. Out of memory aborts with a message:
 * arenas are used where input size is already bounded (config files are capped),
 * so failing loudly beats half-built state.
 */
#ifndef SLUICE_ARENA_H
#define SLUICE_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head;   /* newest chunk first */
    size_t chunk_size;          /* default size of a new chunk */
    size_t total;               /* bytes obtained from malloc, for accounting */
};

void arena_init(struct arena *a, size_t chunk_size);
/* Frees every chunk; the arena can be used again afterwards. */
void arena_free(struct arena *a);

/* Memory aligned for any type, uninitialised / zeroed. n == 0 returns a valid pointer. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t count, size_t size);
/* A NUL-terminated copy of s[0..len). */
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);

#endif
