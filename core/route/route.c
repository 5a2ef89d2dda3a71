/* route.c - see route.h. */
#include "route/route.h"

#include <string.h>
#include <strings.h>

static bool host_matches(const char *want, const char *host, size_t len)
{
    /* The port is not part of the match; IPv6 literals keep their brackets. */
    const char *end = host + len;
    if (len && host[0] != '[') {
        const char *colon = memchr(host, ':', len);
        if (colon)
            end = colon;
    } else if (len) {
        const char *close = memchr(host, ']', len);
        if (close)
            end = close + 1;
    }
    size_t hlen = (size_t)(end - host), wlen = strlen(want);
    if (want[0] == '*' && want[1] == '.') {
        /* "*.example.com" matches any subdomain, not example.com itself. */
        return hlen > wlen - 1 && !strncasecmp(host + hlen - (wlen - 1), want + 1, wlen - 1);
    }
    return hlen == wlen && !strncasecmp(host, want, wlen);
}

static bool route_ok(const struct conf_route *rt, const struct route_req *r)
{
    if (rt->methods && (r->method < 0 || !(rt->methods & (1u << r->method))))
        return false;
    if (rt->path && (strlen(rt->path) != r->path_len || memcmp(rt->path, r->path, r->path_len)))
        return false;
    if (rt->path_prefix) {
        size_t n = strlen(rt->path_prefix);
        if (r->path_len < n || memcmp(rt->path_prefix, r->path, n))
            return false;
    }
    if (rt->host && (!r->host || !host_matches(rt->host, r->host, r->host_len)))
        return false;
    for (size_t i = 0; i < rt->header_count; i++) {
        const char *v;
        size_t len;
        if (!r->header || !r->header(r->ud, rt->headers[i].name, &v, &len) ||
            strlen(rt->headers[i].value) != len || memcmp(rt->headers[i].value, v, len))
            return false;
    }
    return true;
}

const struct conf_route *route_match(const struct conf_frontend *fe, const struct route_req *r)
{
    for (size_t i = 0; i < fe->route_count; i++)
        if (route_ok(&fe->routes[i], r))
            return &fe->routes[i];
    return NULL;
}

long route_rewrite_path(const struct conf_route *route, const struct conf_server *s,
                        const char *target, size_t target_len, char *buf, size_t cap)
{
    const char *base = s->url.path;
    size_t base_len = strlen(base), skip = 0;
    if (base_len && route->path_prefix) {
        skip = strlen(route->path_prefix);
        /* "/v1/" matched: keep the '/' so "/api/v4" + "chat/..." reads "/api/v4/chat/...". */
        if (skip && route->path_prefix[skip - 1] == '/')
            skip--;
        if (skip > target_len)
            skip = target_len;
    }
    size_t rest = target_len - skip;
    if (base_len + rest + 1 > cap)
        return -1;
    memcpy(buf, base, base_len);
    memcpy(buf + base_len, target + skip, rest);
    if (base_len + rest == 0)
        buf[base_len + rest++] = '/';
    buf[base_len + rest] = '\0';
    return (long)(base_len + rest);
}
