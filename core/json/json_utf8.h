/* json_utf8.h - UTF-8 and hex helpers shared by the reader and the writer (private
 * to core/json). */
#ifndef SLUICE_JSON_UTF8_H
#define SLUICE_JSON_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline int json_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Allowed range of the second byte after lead byte c (RFC 3629 table), or 0/0 when
 * c cannot start a multi-byte sequence. Excludes overlongs, surrogates and code
 * points above U+10FFFF. */
static inline void json_utf8_second(unsigned char c, unsigned char *lo,
                                    unsigned char *hi, size_t *n)
{
    *lo = 0x80;
    *hi = 0xBF;
    *n = 0;
    if (c >= 0xC2 && c <= 0xDF)
        *n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        *n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        *n = 4;
    if (c == 0xE0)
        *lo = 0xA0;
    else if (c == 0xED)
        *hi = 0x9F;
    else if (c == 0xF0)
        *lo = 0x90;
    else if (c == 0xF4)
        *hi = 0x8F;
}

/* Length of the valid, complete multi-byte sequence at s (avail bytes readable), or
 * 0 when it is invalid or cut short. */
static inline size_t json_utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char lo, hi;
    size_t n;
    json_utf8_second(s[0], &lo, &hi, &n);
    if (n == 0 || avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* True when the avail (< sequence length) bytes at s are a valid beginning of a
 * sequence: the input was cut rather than malformed. */
static inline bool json_utf8_prefix(const unsigned char *s, size_t avail)
{
    unsigned char lo, hi;
    size_t n;
    json_utf8_second(s[0], &lo, &hi, &n);
    if (n == 0 || avail >= n)
        return false;
    if (avail >= 2 && (s[1] < lo || s[1] > hi))
        return false;
    for (size_t k = 2; k < avail; k++)
        if ((s[k] & 0xC0) != 0x80)
            return false;
    return true;
}

/* Encode code point cp (<= 0x10FFFF, not a surrogate) as UTF-8 into out; returns
 * the byte count. */
static inline size_t json_utf8_put(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

#endif
