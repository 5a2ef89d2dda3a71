/* bytemask.h - where bytes of a class are in a block of input, many bytes at a time.
 *
 * The HTTP/1 scanner (http1/scan.c) and the token usage scanner (proxy/usage.c)
 * both look for a few byte values in runs of ordinary text; a call per byte or a
 * memchr per class costs more than the search. A block is BM_BLOCK bytes: 16 with
 * SSE2 (every x86-64 CPU), or 8 in a 64-bit word elsewhere. bm_bits() gives a mask
 * with bit j * BM_STRIDE + BM_STRIDE - 1 set where byte j is in the class, so the
 * first such byte is bm_first(mask). Compile with -DSLUICE_SCAN_PORTABLE to try the
 * word version on x86-64.
 *
 *     bm_block b = bm_load(p);
 *     bm_mask m = bm_bits(bm_or(bm_eq(b, '"'), bm_eq(b, '\\')));
 *     if (m) found = p + bm_first(m);
 */
#ifndef SLUICE_NET_BYTEMASK_H
#define SLUICE_NET_BYTEMASK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) && !defined(SLUICE_SCAN_PORTABLE)
#include <emmintrin.h>

#define BM_SSE2 1
#define BM_BLOCK 16
#define BM_STRIDE 1
typedef uint32_t bm_mask;
typedef __m128i bm_block;   /* the bytes, and a class: 0xff where a byte is in it */

static inline bm_block bm_load(const void *p)
{
    return _mm_loadu_si128((const __m128i *)p);
}

static inline bm_block bm_eq(bm_block b, unsigned char c)
{
    return _mm_cmpeq_epi8(b, _mm_set1_epi8((char)c));
}

/* The control bytes 0x00-0x1f and DEL. */
static inline bm_block bm_ctl(bm_block b)
{
    /* min(b, 0x1f) == b exactly for the bytes 0x00-0x1f (an unsigned compare) */
    return _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(b, _mm_set1_epi8(0x1f)), b),
                        _mm_cmpeq_epi8(b, _mm_set1_epi8(0x7f)));
}

static inline bm_block bm_or(bm_block a, bm_block b)
{
    return _mm_or_si128(a, b);
}

static inline bm_mask bm_bits(bm_block cls)
{
    return (bm_mask)_mm_movemask_epi8(cls);
}

#else

#define BM_BLOCK 8
#define BM_STRIDE 8
typedef uint64_t bm_mask;
typedef uint64_t bm_block;  /* byte j of the block is byte j of the word; a class
                             * is bit 7 of each byte in it */
#define BM_ONES 0x0101010101010101ull
#define BM_HIGHS 0x8080808080808080ull

static inline bm_block bm_load(const void *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* Exact for every byte, as no carry crosses a byte: with x = b ^ c and
 * t = x & 0x7f, t + 0x7f reaches bit 7 iff t != 0, and bit 7 of x covers the rest. */
static inline bm_block bm_eq(bm_block w, unsigned char c)
{
    uint64_t x = w ^ (BM_ONES * c), t = x & (BM_ONES * 0x7f);
    return ~((t + BM_ONES * 0x7f) | x) & BM_HIGHS;
}

/* With t = b & 0x7f, t + 0x60 reaches bit 7 iff t >= 0x20, and t + 0x01 iff
 * t == 0x7f; bytes with bit 7 set are neither. */
static inline bm_block bm_ctl(bm_block w)
{
    uint64_t t = w & (BM_ONES * 0x7f);
    return ~(((t + BM_ONES * 0x60) & ~(t + BM_ONES)) | w) & BM_HIGHS;
}

static inline bm_block bm_or(bm_block a, bm_block b)
{
    return a | b;
}

static inline bm_mask bm_bits(bm_block cls)
{
    return cls;
}

#endif

/* The index of the first byte marked in m (m != 0). */
static inline size_t bm_first(bm_mask m)
{
    return (size_t)__builtin_ctzll((unsigned long long)m) / BM_STRIDE;
}

#endif
