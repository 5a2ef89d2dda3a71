/* test_route.c - first match wins; every condition; base-path rewriting. */
#include "conf_util.h"
#include "route/route.h"

static const char cfg[] =
    "frontends:\n"
    "  - name: api\n"
    "    bind: :8080\n"
    "    routes:\n"
    "      - {name: exact, match: {path: /health}, backend: b}\n"
    "      - {name: tenant, match: {path_prefix: /v1/, headers: {x-tenant: blue}}, backend: b}\n"
    "      - {name: host, match: {path_prefix: /v1/, host: \"*.example.com\"}, backend: b}\n"
    "      - {name: post, match: {path_prefix: /v1/, methods: [POST]}, backend: b}\n"
    "      - {name: anyv1, match: {path_prefix: /v1/}, backend: b}\n"
    "      - {name: h2, match: {host: api.local}, backend: b}\n"
    "backends:\n"
    "  - name: b\n"
    "    servers:\n"
    "      - {name: zai, url: \"https://api.z.ai/api/paas/v4\"}\n"
    "      - {name: plain, url: \"http://h\"}\n"
    "      - {name: slash, url: \"http://h/\"}\n";

struct hdrs { const char *name, *value; };

static bool lookup(void *ud, const char *name, const char **v, size_t *len)
{
    for (const struct hdrs *h = ud; h && h->name; h++)
        if (!strcmp(h->name, name)) {
            *v = h->value;
            *len = strlen(h->value);
            return true;
        }
    return false;
}

static const char *match(const struct conf *c, int method, const char *path, const char *host,
                         struct hdrs *h)
{
    struct route_req r = {method, path, strlen(path), host, host ? strlen(host) : 0, lookup, h};
    const struct conf_route *rt = route_match(&c->frontends[0], &r);
    return rt ? rt->name : "none";
}

static void first_match_wins(void)
{
    struct conf *c = load(cfg);
    REQUIRE(c != NULL);
    struct hdrs blue[] = {{"x-tenant", "blue"}, {NULL, NULL}};
    struct hdrs red[] = {{"x-tenant", "red"}, {NULL, NULL}};
    CHECK_STR_EQ(match(c, CONF_M_GET, "/health", NULL, NULL), "exact");
    CHECK_STR_EQ(match(c, CONF_M_GET, "/healthz", NULL, NULL), "none");
    CHECK_STR_EQ(match(c, CONF_M_POST, "/v1/chat", NULL, blue), "tenant");
    CHECK_STR_EQ(match(c, CONF_M_GET, "/v1/chat", NULL, red), "anyv1");
    CHECK_STR_EQ(match(c, CONF_M_GET, "/v1/x", "a.Example.com:8080", NULL), "host");
    CHECK_STR_EQ(match(c, CONF_M_GET, "/v1/x", "example.com", NULL), "anyv1");
    CHECK_STR_EQ(match(c, CONF_M_POST, "/v1/x", NULL, NULL), "post");
    CHECK_STR_EQ(match(c, -1, "/v1/x", NULL, NULL), "anyv1");
    CHECK_STR_EQ(match(c, CONF_M_GET, "/v2", "API.local", NULL), "h2");
    CHECK_STR_EQ(match(c, CONF_M_GET, "/v2", "api.local.evil", NULL), "none");
    CHECK_STR_EQ(match(c, CONF_M_GET, "/v2", NULL, NULL), "none");
    conf_release(c);
}

static const char *rewrite(const struct conf *c, int route, int server, const char *target)
{
    static char buf[256];
    const struct conf_route *r = &c->frontends[0].routes[route];
    long n = route_rewrite_path(r, &c->backends[0].servers[server], target, strlen(target), buf, sizeof buf);
    return n < 0 ? "overflow" : buf;
}

static void base_path_replaces_prefix(void)
{
    struct conf *c = load(cfg);
    REQUIRE(c != NULL);
    CHECK_STR_EQ(rewrite(c, 4, 0, "/v1/chat/completions"), "/api/paas/v4/chat/completions");
    CHECK_STR_EQ(rewrite(c, 4, 0, "/v1/models?x=1"), "/api/paas/v4/models?x=1");
    CHECK_STR_EQ(rewrite(c, 4, 1, "/v1/chat/completions"), "/v1/chat/completions");
    CHECK_STR_EQ(rewrite(c, 4, 2, "/v1/chat/completions"), "/v1/chat/completions");
    CHECK_STR_EQ(rewrite(c, 0, 0, "/health"), "/api/paas/v4/health");
    CHECK_STR_EQ(rewrite(c, 5, 0, "/x"), "/api/paas/v4/x");
    char small[8];
    CHECK_EQ_INT(route_rewrite_path(&c->frontends[0].routes[4], &c->backends[0].servers[0],
                                    "/v1/chat", 8, small, sizeof small), -1);
    conf_release(c);
}

TEST_MAIN(RUN(first_match_wins) RUN(base_path_replaces_prefix))
