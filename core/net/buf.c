/* buf.c - bounded byte buffers, see net.h. */
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

/* Each thread keeps a few released blocks of NBUF_BLOCK bytes: a keep-alive
 * connection frees its buffers between requests (idle connections must be cheap)
 * and takes them back on the next one, without a trip through malloc. */
#define NBUF_CACHE 64
static _Thread_local struct {
    char *blocks[NBUF_CACHE];
    int count;
} cache;

void nbuf_cache_drain(void)
{
    while (cache.count > 0)
        free(cache.blocks[--cache.count]);
}

bool nbuf_reserve(struct nbuf *b, size_t extra, size_t max)
{
    if (!b->p && extra <= NBUF_BLOCK && max >= NBUF_BLOCK && cache.count > 0) {
        b->p = cache.blocks[--cache.count];
        b->off = b->len = 0;
        b->cap = NBUF_BLOCK;
        return true;
    }
    if (nbuf_room(b) >= extra)
        return true;
    if (b->off && b->cap - b->len >= extra) {
        memmove(b->p, b->p + b->off, b->len);
        b->off = 0;
        return true;
    }
    size_t need = (size_t)b->len + extra;
    if (need > max)
        return false;
    size_t cap = b->cap ? b->cap : NBUF_BLOCK;
    while (cap < need)
        cap *= 2;
    if (cap > max)
        cap = max;
    char *p = malloc(cap);
    if (!p)
        return false;
    if (b->len)
        memcpy(p, b->p + b->off, b->len);
    free(b->p);
    b->p = p;
    b->off = 0;
    b->cap = (uint32_t)cap;
    return true;
}

bool nbuf_append(struct nbuf *b, const void *data, size_t n, size_t max)
{
    if (n == 0)
        return true;
    if (!nbuf_reserve(b, n, max))
        return false;
    memcpy(nbuf_tail(b), data, n);
    b->len += (uint32_t)n;
    return true;
}

void nbuf_consume(struct nbuf *b, size_t n)
{
    if (n >= b->len) {
        b->off = b->len = 0;
        return;
    }
    b->off += (uint32_t)n;
    b->len -= (uint32_t)n;
}

static void release(struct nbuf *b)
{
    if (b->cap == NBUF_BLOCK && cache.count < NBUF_CACHE)
        cache.blocks[cache.count++] = b->p;
    else
        free(b->p);
}

void nbuf_release_if_empty(struct nbuf *b)
{
    if (b->len == 0 && b->p) {
        release(b);
        b->p = NULL;
        b->off = b->cap = 0;
    }
}

void nbuf_free(struct nbuf *b)
{
    if (b->p)
        release(b);
    memset(b, 0, sizeof *b);
}
