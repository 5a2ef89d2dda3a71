/* scalar.c - see scalar.h. */
#include "conf/scalar.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads digits at s[*i]: 1 on success, 0 when there are none, -1 when the value
 * passes `max`. */
static int read_number(const char *s, size_t len, size_t *i, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t start = *i;
    while (*i < len && is_digit(s[*i])) {
        uint64_t dgt = (uint64_t)(s[*i] - '0');
        if (v > (max - dgt) / 10)
            return -1;
        v = v * 10 + dgt;
        (*i)++;
    }
    *out = v;
    return *i > start;
}

const char *conf_parse_uint(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
    size_t i = 0;
    uint64_t v;
    if (len == 0)
        return "expected a number, got an empty value";
    if (s[0] == '-')
        return "must not be negative";
    int r = read_number(s, len, &i, UINT64_MAX / 2, &v);
    if (r < 0)
        return "is out of range";
    if (r == 0 || i != len)
        return "expected a whole number";
    if (v < min || v > max)
        return "is out of range";
    *out = v;
    return NULL;
}

const char *conf_parse_duration(const char *s, size_t len, uint64_t *ms)
{
    static const struct { const char *unit; uint64_t ms; } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
    };
    if (len == 0)
        return "expected a duration such as 250ms, 5s, 1m or 1h, got an empty value";
    if (len == 1 && s[0] == '0') {
        *ms = 0;
        return NULL;
    }
    uint64_t total = 0;
    size_t i = 0;
    while (i < len) {
        uint64_t v;
        int r = read_number(s, len, &i, CONF_DURATION_MAX_MS, &v);
        if (r < 0)
            return "duration is longer than 30 days";
        if (r == 0)
            return "expected a duration such as 250ms, 5s, 1m or 1h";
        size_t u = i;
        while (i < len && !is_digit(s[i]))
            i++;
        if (u == i)
            return "a duration needs a unit: ms, s, m or h";
        size_t k;
        for (k = 0; k < sizeof units / sizeof units[0]; k++)
            if (strlen(units[k].unit) == i - u && !memcmp(s + u, units[k].unit, i - u))
                break;
        if (k == sizeof units / sizeof units[0])
            return "unknown duration unit (use ms, s, m or h)";
        if (v > CONF_DURATION_MAX_MS / units[k].ms ||
            total + v * units[k].ms > CONF_DURATION_MAX_MS)
            return "duration is longer than 30 days";
        total += v * units[k].ms;
    }
    *ms = total;
    return NULL;
}

const char *conf_parse_size(const char *s, size_t len, uint64_t *bytes)
{
    static const struct { const char *unit; uint64_t mul; } units[] = {
        {"", 1}, {"B", 1}, {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
    };
    size_t i = 0;
    uint64_t v;
    if (len == 0)
        return "expected a size such as 512, 64KiB or 16MiB, got an empty value";
    int r = read_number(s, len, &i, CONF_SIZE_MAX, &v);
    if (r < 0)
        return "size is larger than 1TiB";
    if (r == 0)
        return "expected a size such as 512, 64KiB or 16MiB";
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
        if (strlen(units[k].unit) == len - i && !memcmp(s + i, units[k].unit, len - i)) {
            if (v > CONF_SIZE_MAX / units[k].mul)
                return "size is larger than 1TiB";
            *bytes = v * units[k].mul;
            return NULL;
        }
    }
    return "unknown size unit (use B, KiB, MiB or GiB)";
}

const char *conf_parse_bool(const char *s, size_t len, int *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (size_t k = 0; k < 3; k++) {
        if (strlen(yes[k]) == len && !strncasecmp(s, yes[k], len)) {
            *out = 1;
            return NULL;
        }
        if (strlen(no[k]) == len && !strncasecmp(s, no[k], len)) {
            *out = 0;
            return NULL;
        }
    }
    return "expected true or false";
}

static const char *parse_port(const char *s, size_t len, uint16_t *port)
{
    uint64_t v;
    if (conf_parse_uint(s, len, 1, 65535, &v))
        return "the port must be a number from 1 to 65535";
    *port = (uint16_t)v;
    return NULL;
}

const char *conf_parse_bind(const char *s, size_t len, struct conf_bind *out)
{
    char host[64];
    size_t colon, hlen;
    int v6 = len > 0 && s[0] == '[';
    if (v6) {
        const char *close = memchr(s, ']', len);
        if (!close || (size_t)(close - s) + 1 >= len || close[1] != ':')
            return "expected [IPV6]:PORT";
        hlen = (size_t)(close - s) - 1;
        colon = (size_t)(close - s) + 1;
        if (hlen >= sizeof host)
            return "the address is too long";
        memcpy(host, s + 1, hlen);
    } else {
        const char *c = memrchr(s, ':', len);
        if (!c)
            return "expected HOST:PORT (for example 127.0.0.1:8080 or *:8080)";
        colon = (size_t)(c - s);
        hlen = colon;
        if (hlen >= sizeof host)
            return "the address is too long";
        memcpy(host, s, hlen);
    }
    host[hlen] = '\0';
    uint16_t port;
    const char *err = parse_port(s + colon + 1, len - colon - 1, &port);
    if (err)
        return err;
    memset(&out->addr, 0, sizeof out->addr);
    if (v6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->addr;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            return "not an IPv6 address";
        out->addr_len = sizeof *a6;
        return NULL;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&out->addr;
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    out->addr_len = sizeof *a4;
    if (hlen == 0 || !strcmp(host, "*"))
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (!strcasecmp(host, "localhost"))
        a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return "the host must be an IP address, '*' or localhost (names are not resolved)";
    return NULL;
}

static int host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
           c == '.' || c == '_';
}

/* RFC 3986 pchar plus '/', without '%'-decoding: what may stand in a base path. */
static int path_char(char c)
{
    return host_char(c) || c == '/' || c == '~' || c == '%' || c == '!' || c == '$' ||
           c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' || c == ',' ||
           c == ';' || c == '=' || c == ':' || c == '@';
}

const char *conf_parse_url(struct arena *a, const char *s, size_t len, struct conf_url *out)
{
    size_t i;
    if (len >= 7 && !strncasecmp(s, "http://", 7)) {
        out->scheme = CONF_HTTP;
        i = 7;
    } else if (len >= 8 && !strncasecmp(s, "https://", 8)) {
        out->scheme = CONF_HTTPS;
        i = 8;
    } else {
        return "the url must start with http:// or https://";
    }
    size_t auth = i;
    while (i < len && s[i] != '/' && s[i] != '?' && s[i] != '#')
        i++;
    size_t auth_end = i;
    if (memchr(s + auth, '@', auth_end - auth))
        return "credentials in a url are not supported (set them with the server's headers)";
    if (memchr(s + auth, '?', len - auth) || memchr(s + auth, '#', len - auth))
        return "a server url may not have a query or fragment";
    size_t h0 = auth, h1, port_at = 0;
    if (h0 < auth_end && s[h0] == '[') {
        const char *close = memchr(s + h0, ']', auth_end - h0);
        if (!close)
            return "unclosed '[' in the url's host";
        h0++;
        h1 = (size_t)(close - s);
        if (h1 + 1 < auth_end) {
            if (s[h1 + 1] != ':')
                return "unexpected text after the url's IPv6 address";
            port_at = h1 + 2;
        }
        struct in6_addr tmp;
        char buf[64];
        if (h1 - h0 >= sizeof buf)
            return "the url's IPv6 address is too long";
        memcpy(buf, s + h0, h1 - h0);
        buf[h1 - h0] = '\0';
        if (inet_pton(AF_INET6, buf, &tmp) != 1)
            return "the url's host is not a valid IPv6 address";
    } else {
        const char *c = memchr(s + h0, ':', auth_end - h0);
        h1 = c ? (size_t)(c - s) : auth_end;
        if (c)
            port_at = h1 + 1;
        for (size_t k = h0; k < h1; k++)
            if (!host_char(s[k]))
                return "the url's host has a character that is not allowed";
    }
    if (h1 == h0)
        return "the url has no host";
    if (h1 - h0 > 253)
        return "the url's host is longer than 253 characters";
    out->port = out->scheme == CONF_HTTPS ? 443 : 80;
    if (port_at) {
        const char *err = parse_port(s + port_at, auth_end - port_at, &out->port);
        if (err)
            return err;
    }
    for (size_t k = auth_end; k < len; k++)
        if (!path_char(s[k]))
            return "the url's path has a character that is not allowed (spaces and controls must be %-encoded)";
    size_t p_end = len;
    while (p_end > auth_end && s[p_end - 1] == '/')
        p_end--;
    out->host = arena_strndup(a, s + h0, h1 - h0);
    out->authority = arena_strndup(a, s + auth, auth_end - auth);
    out->path = arena_strndup(a, s + auth_end, p_end - auth_end);
    return NULL;
}

const char *conf_check_header_name(const char *s, size_t len)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (len == 0)
        return "a header name may not be empty";
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
              (c && strchr(extra, c))))
            return "a header name may hold only letters, digits and !#$%&'*+-.^_`|~";
    }
    return NULL;
}

const char *conf_check_header_value(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n' || c == '\0' || (c < 0x20 && c != '\t') || c == 0x7f)
            return "a header value may not hold control characters (CR, LF, NUL...)";
    }
    return NULL;
}

const char *conf_check_name(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return "a name must be 1 to 64 characters long";
    for (size_t i = 0; i < len; i++)
        if (!host_char(s[i]))
            return "a name may hold only letters, digits, '_', '-' and '.'";
    return NULL;
}
