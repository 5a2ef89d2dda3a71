/* arena.c - see arena.h. */
#include "arena/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16u

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void arena_init(struct arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->chunk_size = chunk_size ? chunk_size : 16384;
    a->total = 0;
}

void arena_free(struct arena *a)
{
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}

static struct arena_chunk *arena_grow(struct arena *a, size_t need)
{
    size_t cap = need > a->chunk_size ? need : a->chunk_size;
    if (cap > SIZE_MAX - sizeof(struct arena_chunk)) {
        fprintf(stderr, "sluice: arena request of %zu bytes is too large\n", need);
        abort();
    }
    struct arena_chunk *c = malloc(sizeof *c + cap);
    if (!c) {
        fprintf(stderr, "sluice: out of memory (arena chunk of %zu bytes)\n", cap);
        abort();
    }
    c->used = 0;
    c->cap = cap;
    /* A chunk made for one big request goes behind the head so the head's free
     * space is not wasted. */
    if (a->head && cap > a->chunk_size) {
        c->next = a->head->next;
        a->head->next = c;
    } else {
        c->next = a->head;
        a->head = c;
    }
    a->total += cap;
    return c;
}

void *arena_alloc(struct arena *a, size_t n)
{
    size_t rounded = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (rounded < n)
        rounded = SIZE_MAX; /* overflow: let arena_grow refuse it */
    struct arena_chunk *c = a->head;
    if (!c || c->cap - c->used < rounded)
        c = arena_grow(a, rounded);
    void *p = c->data + c->used;
    c->used += rounded;
    return p;
}

void *arena_calloc(struct arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) {
        fprintf(stderr, "sluice: arena calloc overflow (%zu x %zu)\n", count, size);
        abort();
    }
    void *p = arena_alloc(a, count * size);
    memset(p, 0, count * size);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}
