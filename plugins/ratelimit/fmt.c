/* fmt.c - number and duration formatting for header values, and the hash that
 * stands in for credentials. Hand-written because snprintf costs hundreds of
 * instructions per call and these run on every request. */
#include "ratelimit.h"

static const char rl_pairs[] = "00010203040506070809101112131415161718192021222324"
                               "25262728293031323334353637383940414243444546474849"
                               "50515253545556575859606162636465666768697071727374"
                               "75767778798081828384858687888990919293949596979899";

size_t rl_fmt_u64(char *out, uint64_t v)
{
    /* Count the digits, then write them from the end two at a time: no reversal,
     * half the divisions (which the compiler turns into multiplications). */
    static const uint64_t p10[19] = {
        10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u, 1000000000u,
        10000000000u, 100000000000u, 1000000000000u, 10000000000000u, 100000000000000u,
        1000000000000000u, 10000000000000000u, 100000000000000000u, 1000000000000000000u,
        10000000000000000000u};
    size_t n = 1;
    while (n < 20 && v >= p10[n - 1])
        n++;
    char *p = out + n;
    while (v >= 100) {
        size_t r = (size_t)(v % 100) * 2;
        v /= 100;
        p -= 2;
        p[0] = rl_pairs[r];
        p[1] = rl_pairs[r + 1];
    }
    if (v >= 10) {
        p[-2] = rl_pairs[v * 2];
        p[-1] = rl_pairs[v * 2 + 1];
    } else {
        p[-1] = (char)('0' + v);
    }
    return n;
}

size_t rl_fmt_hex(char *out, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = v ? (size_t)(67 - __builtin_clzll(v)) / 4 : 1;
    for (size_t i = n; i-- > 0; v >>= 4)
        out[i] = hex[v & 0xfu];
    return n;
}

size_t rl_fmt_duration(char *out, uint64_t ms)
{
    size_t n = 0;
    if (ms < 1000) {
        if (ms == 0) {
            out[0] = '0';
            out[1] = 's';
            return 2;
        }
        n = rl_fmt_u64(out, ms);
        out[n++] = 'm';
        out[n++] = 's';
        return n;
    }
    uint64_t h = ms / 3600000u, m = ms / 60000u % 60u, s = ms / 1000u % 60u;
    uint64_t frac = ms % 1000u;
    if (h) {
        n += rl_fmt_u64(out + n, h);
        out[n++] = 'h';
    }
    if (h || m) {
        n += rl_fmt_u64(out + n, m);
        out[n++] = 'm';
    }
    n += rl_fmt_u64(out + n, s);
    if (frac) {
        /* three digits with the trailing zeros dropped: 500 -> ".5" */
        char d[3] = {(char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
                     (char)('0' + frac % 10)};
        size_t k = 3;
        while (d[k - 1] == '0')
            k--;
        out[n++] = '.';
        for (size_t i = 0; i < k; i++)
            out[n++] = d[i];
    }
    out[n++] = 's';
    return n;
}

uint64_t rl_hash(const char *p, size_t n)
{
    uint64_t x = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++) {
        x ^= (unsigned char)p[i];
        x *= 0x100000001b3u;
    }
    return x;
}

size_t rl_fmt_hash(char *out, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t x = rl_hash(p, n);
    out[0] = '#';
    for (int i = 0; i < 16; i++)
        out[1 + i] = hex[(x >> (60 - 4 * i)) & 0xfu];
    return 17;
}
