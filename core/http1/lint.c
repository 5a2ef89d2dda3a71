/* lint.c - the line grammar of RFC 9112, checked before llhttp sees a byte.
 *
 * llhttp 8.1 as packaged is built in loose mode: it accepts obs-fold, whitespace
 * before the colon, HTTP/0.9 and HTTP/2.0 request lines, several spaces between
 * request-line parts, obs-text in the target, and a bare CR ending the head or the
 * trailers. Each of these lets two parsers disagree on where a message ends, so every
 * line is checked here first; llhttp then only ever sees lines in the strict grammar.
 * Lines come here complete: http1_next_line() (parse.c) found their CRLF and refused
 * a bare LF; a CR left inside a line fails every lint below, and the caller reports
 * it as a bare CR (http1_line_fault()). Runs of many bytes are measured by scan.c.
 */
#include <string.h>

#include "http1/http1_int.h"

/* ---- byte classes: one table, computed by the compiler from the grammar ---- */

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_ALNUM(c) (IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
/* tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" /
 *         "`" / "|" / "~" / DIGIT / ALPHA */
#define IS_TCHAR(c)                                                                   \
    (IS_ALNUM(c) || (c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' || (c) == '&' || \
     (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' || (c) == '^' ||  \
     (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
/* field-vchar, SP and HTAB: VCHAR and obs-text (0x80-0xFF) */
#define IS_TEXT(c) ((c) == '\t' || ((c) >= 0x20 && (c) != 0x7f))
/* RFC 9112 3.2: no SP, CTL or byte over 0x7E; no fragment ("#") */
#define IS_TARGET(c) ((c) > 0x20 && (c) < 0x7f && (c) != '#')
/* RFC 3986 authority without userinfo: unreserved, sub-delims, ":", "[", "]", "%" */
#define IS_HOST(c)                                                                     \
    (IS_ALNUM(c) || (c) == '-' || (c) == '.' || (c) == '_' || (c) == '~' || (c) == '!' ||  \
     (c) == '$' || (c) == '&' || (c) == '\'' || (c) == '(' || (c) == ')' || (c) == '*' ||  \
     (c) == '+' || (c) == ',' || (c) == ';' || (c) == '=' || (c) == ':' || (c) == '[' ||   \
     (c) == ']' || (c) == '%')
#define CT(c) \
    ((IS_TCHAR(c) ? C_TCHAR : 0) | (IS_TEXT(c) ? C_TEXT : 0) | \
     (IS_TARGET(c) ? C_TARGET : 0) | (IS_HOST(c) ? C_HOST : 0))
#define CT4(c) CT(c), CT((c) + 1), CT((c) + 2), CT((c) + 3)
#define CT16(c) CT4(c), CT4((c) + 4), CT4((c) + 8), CT4((c) + 12)
#define CT64(c) CT16(c), CT16((c) + 16), CT16((c) + 32), CT16((c) + 48)

const uint8_t http1_ctype[256] = {CT64(0), CT64(64), CT64(128), CT64(192)};

static bool all_text(const char *s, size_t n) { return http1_text_len(s, n) == n; }

bool http1_ieq(const char *s, size_t n, const char *lower)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        if (lower[i] == '\0' || c != (unsigned char)lower[i])
            return false;
    }
    return lower[n] == '\0';
}

bool http1_same_name(const char *a, const char *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + ('a' - 'A'));
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + ('a' - 'A'));
        if (x != y)
            return false;
    }
    return true;
}

static bool is_digit(char c) { return IS_DIGIT(c); }

static bool is_text(unsigned char c) { return (http1_ctype[c] & C_TEXT) != 0; }

/* "HTTP/" DIGIT "." DIGIT at s; HTTP-name is case-sensitive. */
static bool is_version(const char *s, size_t n)
{
    return n >= 8 && memcmp(s, "HTTP/", 5) == 0 && is_digit(s[5]) && s[6] == '.' &&
           is_digit(s[7]);
}

static bool supported_version(const char *s)
{
    return s[5] == '1' && (s[7] == '0' || s[7] == '1');
}

/* ---- lines. Each lint is a fast yes/no scan; on "no" the original step-by-step
 * check (the *_fault functions) says why, so the reasons do not depend on the fast
 * path and the fast path accepts exactly what the step-by-step check accepts. ---- */

static const char *request_line_fault(const char *s, size_t n, uint16_t *status)
{
    size_t i = 0, t;
    *status = 400;
    while (i < n && http1_tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i == n || s[i] != ' ')
        return "invalid method";
    t = ++i;
    for (; i < n && s[i] != ' '; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '#')
            return "fragment in request target";
        if (c <= 0x20 || c >= 0x7f)
            return "invalid character in request target";
    }
    if (i == t || i == n)
        return "invalid request line";
    i++;
    if (n - i != 8 || !is_version(s + i, 8))
        return "invalid HTTP version";
    if (!supported_version(s + i)) {
        *status = 505;
        return "HTTP version not supported";
    }
    return NULL;
}

/* request-line = method SP request-target SP HTTP-version, single spaces. The form
 * of the target (origin, absolute, asterisk) is checked with the method, in head.c. */
const char *http1_lint_request_line(const char *s, size_t n, uint16_t *status)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = http1_token_len(s, n), t;
    if (i == 0 || u[i] != ' ')
        return request_line_fault(s, n, status);
    t = ++i;
    i += http1_target_len(s + i, n - i);
    /* u[i] == ' ' means i < n: s[n] is the CR */
    if (i == t || u[i] != ' ' || n - i != 9 || memcmp(s + i + 1, "HTTP/1.", 7) != 0 ||
        (s[n - 1] != '0' && s[n - 1] != '1'))
        return request_line_fault(s, n, status);
    *status = 400;
    return NULL;
}

/* status-line = HTTP-version SP 3DIGIT SP [ reason ]. Servers that end the line
 * right after the code are accepted: nothing about framing depends on the reason. */
const char *http1_lint_status_line(const char *s, size_t n)
{
    if (!is_version(s, n))
        return "invalid status line";
    if (!supported_version(s))
        return "unsupported HTTP version in response";
    if (n < 12 || s[8] != ' ' || s[9] < '1' || s[9] > '5' || !is_digit(s[10]) ||
        !is_digit(s[11]))
        return "invalid status code";
    if (n == 12)
        return NULL;
    if (s[12] != ' ')
        return "invalid status code";
    if (!all_text(s + 13, n - 13))
        return "invalid character in reason phrase";
    return NULL;
}

static const char *field_line_fault(const char *s, size_t n)
{
    size_t i = 0;
    if (s[0] == ' ' || s[0] == '\t')
        return "obsolete line folding";
    while (i < n && http1_tchar((unsigned char)s[i]))
        i++;
    if (i == n)
        return "header line without a colon";
    if (s[i] != ':')
        return s[i] == ' ' || s[i] == '\t' ? "whitespace before the colon"
                                           : "invalid character in header name";
    if (i == 0)
        return "empty header name";
    for (i++; i < n; i++)
        if (!is_text((unsigned char)s[i]))
            return "invalid character in header value";
    return NULL;
}

/* field-line = field-name ":" OWS field-value OWS. A line starting with SP or HTAB
 * is obs-fold, which RFC 9112 lets a server refuse; whitespace before the colon
 * MUST be refused (section 5.1). */
const char *http1_lint_field_line(const char *s, size_t n, bool clean)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = http1_token_len(s, n);
    if (i == 0 || u[i] != ':' || (!clean && !all_text(s + i + 1, n - i - 1)))
        return field_line_fault(s, n);
    return NULL;
}

static size_t skip_ws(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* quoted-string starting at s[i] == '"'; returns the index after it, or 0. */
static size_t quoted_string(const char *s, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"')
            return i + 1;
        if (c == '\\') {
            if (++i == n || !is_text((unsigned char)s[i]))
                return 0;
        } else if (!is_text(c)) {
            return 0;
        }
    }
    return 0;
}

/* chunk-size [ chunk-ext ], where
 * chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ). Extensions are
 * checked and ignored; whitespace is allowed only where BWS is. */
const char *http1_lint_chunk_line(const char *s, size_t n, uint64_t *size)
{
    size_t i = 0;
    uint64_t v = 0;
    int d;
    while (i < n && (d = hexval(s[i])) >= 0) {
        if (v >> 59)
            return "chunk size too large";
        v = v << 4 | (uint64_t)d;
        i++;
    }
    if (i == 0)
        return "invalid chunk size";
    while (i < n) {
        size_t start, eq;
        i = skip_ws(s, i, n);
        if (i == n || s[i] != ';')
            return "invalid chunk size";
        i = start = skip_ws(s, i + 1, n);
        while (i < n && http1_tchar((unsigned char)s[i]))
            i++;
        if (i == start)
            return "invalid chunk extension";
        eq = skip_ws(s, i, n);
        if (eq < n && s[eq] == '=') {
            size_t val = i = skip_ws(s, eq + 1, n);
            if (i < n && s[i] == '"') {
                i = quoted_string(s, i, n);
                if (i == 0)
                    return "invalid chunk extension";
            } else {
                while (i < n && http1_tchar((unsigned char)s[i]))
                    i++;
                if (i == val)
                    return "invalid chunk extension";
            }
        }
    }
    *size = v;
    return NULL;
}
