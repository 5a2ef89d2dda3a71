/* server_key.h - hashing and comparing the (backend, server) names plugins key
 * their per-server state by (circuit_breaker's circuits, failover's set-aside
 * servers). Header-only: each plugin is its own shared object. */
#ifndef SLUICE_PLUGINS_SERVER_KEY_H
#define SLUICE_PLUGINS_SERVER_KEY_H

#include "sluice/plugin.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Names are read 8 bytes at a time (fixed-size memcpy: one unaligned load each):
 * byte-by-byte FNV-1a and two libc memcmp calls were most of a lookup's cost. A
 * name's pointer must be valid whenever its length is not 0. */
static inline uint64_t sk_load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t sk_load32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The last 1..8 bytes of a name as one word, never reading past them: two
 * overlapping 4-byte loads from 4 bytes on, else bytes 0, n/2 and n-1 (as
 * wyhash). For a given n every byte is in the word, so equal words of equal
 * lengths are equal bytes. */
static inline uint64_t sk_tail_word(const char *p, size_t n)
{
    if (n >= 4)
        return sk_load32(p) << 32 | sk_load32(p + n - 4);
    return (uint64_t)(unsigned char)p[0] << 16 | (uint64_t)(unsigned char)p[n >> 1] << 8 |
           (unsigned char)p[n - 1];
}

#define SK_MUL UINT64_C(0x9e3779b97f4a7c15)

/* One name into h, its length too (so "ab"+"c" and "a"+"bc" differ). */
static inline uint64_t sk_hash_name(uint64_t h, const char *p, size_t n)
{
    h = (h ^ n) * SK_MUL;
    for (; n > 8; p += 8, n -= 8) {
        h = (h ^ sk_load64(p)) * SK_MUL;
        h ^= h >> 32;
    }
    if (n)
        h = (h ^ sk_tail_word(p, n)) * SK_MUL;
    return h ^ (h >> 32);
}

/* The key of a server: equal names give equal keys; different ones differ but
 * for 64-bit collisions (compare the names where that matters). */
static inline uint64_t sk_hash(sl_str backend, sl_str server)
{
    uint64_t h = sk_hash_name(UINT64_C(0xcbf29ce484222325), backend.ptr, backend.len);
    h = sk_hash_name(h, server.ptr, server.len);
    /* The table index is the low bits: fold the high ones in (murmur3's finalizer). */
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    return h ^ (h >> 33);
}

/* a and b: n bytes each. The last 1..8 as in sk_tail_word, but compared directly. */
static inline bool sk_bytes_eq(const char *a, const char *b, size_t n)
{
    for (; n > 8; a += 8, b += 8, n -= 8)
        if (sk_load64(a) != sk_load64(b))
            return false;
    if (n >= 4)
        return ((sk_load32(a) ^ sk_load32(b)) | (sk_load32(a + n - 4) ^ sk_load32(b + n - 4))) == 0;
    return !n || (a[0] == b[0] && a[n >> 1] == b[n >> 1] && a[n - 1] == b[n - 1]);
}

#endif
