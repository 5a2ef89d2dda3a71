/* scan.c - the fast path of the head, and runs of bytes of one class.
 *
 * A head is mostly field lines, and nearly all of them are plain: a token, a colon,
 * text, CRLF. http1_skip_fields() accepts such lines one after the other, looking at
 * each byte about once: it measures the name where the line starts, then searches
 * the rest of the line for its first CTL, which must be the CR of its CRLF (HTABs are
 * text). Both go 16 bytes at a time with SSE2 (part of every x86-64 CPU), or 8 bytes
 * in a 64-bit word elsewhere, with lint.c's table deciding the unusual bytes. It
 * stops at the first line it cannot vouch for on its own; parse.c takes that line
 * the careful way (http1_next_line(), then lint.c), which also says what is wrong
 * with it. What is accepted here is exactly what the careful way accepts.
 * Compile with -DSLUICE_SCAN_PORTABLE to try the 64-bit word version on x86-64.
 */
#include <string.h>

#include "http1/http1_int.h"
#include "net/bytemask.h"

#if defined(BM_SSE2)
#define SCAN_SSE2 1
#endif

static inline bool is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }

/* ---- CTL masks (net/bytemask.h): for a block of BM_BLOCK bytes, a mask with bit
 * j * BM_STRIDE + BM_STRIDE - 1 set where byte j is a CTL (HTAB, CR and LF
 * included) or DEL ---- */

static inline bm_mask ctl_mask(const unsigned char *u)
{
    return bm_bits(bm_ctl(bm_load(u)));
}

/* The mask of u[0..n), n < BM_BLOCK, byte by byte: the end of the input. */
static inline bm_mask ctl_mask_short(const unsigned char *u, size_t n)
{
    bm_mask m = 0;
    size_t j;
    for (j = 0; j < n; j++)
        if (is_ctl(u[j]))
            m |= (bm_mask)1 << (j * BM_STRIDE + BM_STRIDE - 1);
    return m;
}

/* The mask of the block at u[b..b + BM_BLOCK), cut at lim; 0 past lim. */
static inline bm_mask block_at(const unsigned char *u, size_t b, size_t lim)
{
    if (b + BM_BLOCK <= lim)
        return ctl_mask(u + b);
    if (b >= lim)
        return 0;
    if (lim >= BM_BLOCK) /* the last BM_BLOCK bytes, without those before b */
        return ctl_mask(u + lim - BM_BLOCK) >> ((b + BM_BLOCK - lim) * BM_STRIDE);
    return ctl_mask_short(u + b, lim - b);
}


/* ---- runs of one byte class ---- */

#if SCAN_SSE2
/* A range test in two operations: adding 0x80 - first moves [first, first + n) to
 * the bottom of the signed bytes, where one signed compare bounds it. */
static inline __m128i in_range(__m128i x, char first, char n)
{
    return _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - first))),
                          _mm_set1_epi8((char)(-128 + n)));
}

/* Bytes that are surely of class `cls`: what tokens, targets and authorities are
 * mostly made of. The table decides the rest. */
static inline __m128i quick_class(__m128i x, unsigned cls)
{
    __m128i alnum, ok;
    if (cls == C_TARGET) /* exactly: 0x21-0x7E but "#" (0x80-0xFF are negative) */
        return _mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('#')),
                                in_range(x, 0x21, 0x7f - 0x21));
    alnum = _mm_or_si128(in_range(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 26),
                         in_range(x, '0', 10));
    ok = _mm_or_si128(alnum, _mm_cmpeq_epi8(x, _mm_set1_epi8('-')));
    if (cls == C_HOST)
        ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('.')),
                                           _mm_cmpeq_epi8(x, _mm_set1_epi8(':'))));
    return ok;
}
#endif

static inline size_t bytes_of(const unsigned char *u, size_t i, size_t lim, unsigned cls)
{
    while (i < lim && (http1_ctype[u[i]] & cls))
        i++;
    return i;
}

/* The length of the run of bytes of class `cls` (a C_* bit) at u[0..lim). */
static inline size_t run_len(const unsigned char *u, size_t lim, unsigned cls)
{
    size_t i = 0;
#if SCAN_SSE2
    for (; i + 16 <= lim; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
        unsigned m = (unsigned)_mm_movemask_epi8(quick_class(x, cls)) ^ 0xffffu;
        if (m) /* most often the end of the run */
            return bytes_of(u, i + (unsigned)__builtin_ctz(m), lim, cls);
    }
#endif
    while (i + 4 <= lim && (http1_ctype[u[i]] & http1_ctype[u[i + 1]] & http1_ctype[u[i + 2]] &
                            http1_ctype[u[i + 3]] & cls))
        i += 4;
    return bytes_of(u, i, lim, cls);
}

size_t http1_token_len(const char *s, size_t lim)
{
    return run_len((const unsigned char *)s, lim, C_TCHAR);
}

size_t http1_target_len(const char *s, size_t lim)
{
    return run_len((const unsigned char *)s, lim, C_TARGET);
}

size_t http1_host_len(const char *s, size_t lim)
{
    return run_len((const unsigned char *)s, lim, C_HOST);
}

/* ---- lines ---- */

/* The end of the run of C_TEXT bytes that starts at u[i], within u[0..lim): the
 * first CTL other than HTAB, or DEL; lim when there is none. */
static inline size_t text_end(const unsigned char *u, size_t i, size_t lim)
{
    for (;;) {
        bm_mask m = block_at(u, i, lim);
        if (!m) {
            i += BM_BLOCK;
            if (i >= lim)
                return lim;
            continue;
        }
        i += bm_first(m);
        if (u[i] != '\t')
            return i;
        i++; /* HTAB is text */
    }
}

/* From u[i], text up to a CRLF within u[0..lim): the index of the CR, else
 * HTTP1_NOT_CLEAN. */
static inline size_t line_end(const unsigned char *u, size_t i, size_t lim)
{
    i = text_end(u, i, lim);
    return i + 1 < lim && u[i] == '\r' && u[i + 1] == '\n' ? i : HTTP1_NOT_CLEAN;
}

size_t http1_text_len(const char *s, size_t lim)
{
    return text_end((const unsigned char *)s, 0, lim);
}

size_t http1_clean_line(const char *s, size_t lim)
{
    return line_end((const unsigned char *)s, 0, lim);
}

size_t http1_skip_fields(const char *s, size_t lim, uint32_t max_lines, uint32_t *count)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t line = 0;
    uint32_t k = 0;
    while (k < max_lines) {
        size_t colon = line + run_len(u + line, lim - line, C_TCHAR), cr;
        if (colon == line || colon == lim || u[colon] != ':')
            break; /* the empty line, obs-fold, a bad name, or not all here yet */
        cr = line_end(u, colon + 1, lim);
        if (cr == HTTP1_NOT_CLEAN)
            break;
        line = cr + 2;
        k++;
    }
    *count = k;
    return line;
}
