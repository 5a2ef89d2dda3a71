/* test_conf_scalar.c - the typed scalar parsers: durations, sizes, numbers, binds, urls. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "conf/scalar.h"
#include "harness.h"

#define S(x) x, strlen(x)

static void durations(void)
{
    uint64_t ms = 1;
    CHECK(!conf_parse_duration(S("0"), &ms) && ms == 0);
    CHECK(!conf_parse_duration(S("250ms"), &ms) && ms == 250);
    CHECK(!conf_parse_duration(S("5s"), &ms) && ms == 5000);
    CHECK(!conf_parse_duration(S("1m"), &ms) && ms == 60000);
    CHECK(!conf_parse_duration(S("1h"), &ms) && ms == 3600000);
    CHECK(!conf_parse_duration(S("1m30s"), &ms) && ms == 90000);
    CHECK(!conf_parse_duration(S("720h"), &ms) && ms == 720ull * 3600000);
    CHECK(conf_parse_duration(S("721h"), &ms) != NULL);
    CHECK(conf_parse_duration(S("99999999999999999999s"), &ms) != NULL);
    CHECK(conf_parse_duration(S("5"), &ms) != NULL);
    CHECK(conf_parse_duration(S("s"), &ms) != NULL);
    CHECK(conf_parse_duration(S("5 s"), &ms) != NULL);
    CHECK(conf_parse_duration(S("-5s"), &ms) != NULL);
    CHECK(conf_parse_duration(S("1.5s"), &ms) != NULL);
    CHECK(conf_parse_duration(S(""), &ms) != NULL);
    CHECK_EQ_U64(ms, 720ull * 3600000); /* untouched by failures */
}

static void sizes(void)
{
    uint64_t b = 0;
    CHECK(!conf_parse_size(S("512"), &b) && b == 512);
    CHECK(!conf_parse_size(S("512B"), &b) && b == 512);
    CHECK(!conf_parse_size(S("64KiB"), &b) && b == 65536);
    CHECK(!conf_parse_size(S("16MiB"), &b) && b == 16777216);
    CHECK(!conf_parse_size(S("2GiB"), &b) && b == 2147483648ull);
    CHECK(!conf_parse_size(S("1024GiB"), &b) && b == 1ull << 40);
    CHECK(conf_parse_size(S("1025GiB"), &b) != NULL);
    CHECK(conf_parse_size(S("64KB"), &b) != NULL);
    CHECK(conf_parse_size(S("64k"), &b) != NULL);
    CHECK(conf_parse_size(S("KiB"), &b) != NULL);
    CHECK(conf_parse_size(S("-1"), &b) != NULL);
    CHECK(conf_parse_size(S(""), &b) != NULL);
}

static void numbers_and_bools(void)
{
    uint64_t v;
    int on = -1;
    CHECK(!conf_parse_uint(S("42"), 0, 100, &v) && v == 42);
    CHECK(conf_parse_uint(S("101"), 0, 100, &v) != NULL);
    CHECK(conf_parse_uint(S("4x"), 0, 100, &v) != NULL);
    CHECK(conf_parse_uint(S("-1"), 0, 100, &v) != NULL);
    CHECK(conf_parse_uint(S("184467440737095516160"), 0, 100, &v) != NULL);
    CHECK(!conf_parse_bool(S("true"), &on) && on == 1);
    CHECK(!conf_parse_bool(S("Off"), &on) && on == 0);
    CHECK(!conf_parse_bool(S("yes"), &on) && on == 1);
    CHECK(conf_parse_bool(S("1"), &on) != NULL);
}

static void binds(void)
{
    struct conf_bind b;
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)(const void *)&b.addr;
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)(const void *)&b.addr;
    CHECK(!conf_parse_bind(S("127.0.0.1:8080"), &b));
    CHECK_EQ_INT(a4->sin_family, AF_INET);
    CHECK_EQ_INT(ntohs(a4->sin_port), 8080);
    CHECK_EQ_U64(ntohl(a4->sin_addr.s_addr), INADDR_LOOPBACK);
    CHECK(!conf_parse_bind(S("localhost:1"), &b) && ntohl(a4->sin_addr.s_addr) == INADDR_LOOPBACK);
    CHECK(!conf_parse_bind(S("*:80"), &b) && a4->sin_addr.s_addr == htonl(INADDR_ANY));
    CHECK(!conf_parse_bind(S(":80"), &b) && a4->sin_addr.s_addr == htonl(INADDR_ANY));
    CHECK(!conf_parse_bind(S("[::1]:443"), &b));
    CHECK_EQ_INT(a6->sin6_family, AF_INET6);
    CHECK_EQ_INT(ntohs(a6->sin6_port), 443);
    CHECK(!conf_parse_bind(S("[::]:443"), &b));
    CHECK(conf_parse_bind(S("127.0.0.1"), &b) != NULL);
    CHECK(conf_parse_bind(S("127.0.0.1:0"), &b) != NULL);
    CHECK(conf_parse_bind(S("127.0.0.1:65536"), &b) != NULL);
    CHECK(conf_parse_bind(S("300.0.0.1:80"), &b) != NULL);
    CHECK(conf_parse_bind(S("host.example:80"), &b) != NULL);
    CHECK(conf_parse_bind(S("[::1:80"), &b) != NULL);
    CHECK(conf_parse_bind(S("::1:80"), &b) != NULL);
}

static void urls(void)
{
    struct arena a;
    struct conf_url u;
    arena_init(&a, 0);
    CHECK(!conf_parse_url(&a, S("https://api.openai.com/v1"), &u));
    CHECK_EQ_INT(u.scheme, CONF_HTTPS);
    CHECK_STR_EQ(u.host, "api.openai.com");
    CHECK_EQ_INT(u.port, 443);
    CHECK_STR_EQ(u.authority, "api.openai.com");
    CHECK_STR_EQ(u.path, "/v1");
    CHECK(!conf_parse_url(&a, S("HTTP://h:8080///"), &u));
    CHECK_EQ_INT(u.scheme, CONF_HTTP);
    CHECK_EQ_INT(u.port, 8080);
    CHECK_STR_EQ(u.authority, "h:8080");
    CHECK_STR_EQ(u.path, "");
    CHECK(!conf_parse_url(&a, S("http://[2001:db8::1]/api/paas/v4"), &u));
    CHECK_STR_EQ(u.host, "2001:db8::1");
    CHECK_STR_EQ(u.authority, "[2001:db8::1]");
    CHECK_EQ_INT(u.port, 80);
    CHECK_STR_EQ(u.path, "/api/paas/v4");
    CHECK(!conf_parse_url(&a, S("http://h/a%20b;v=1"), &u) && !strcmp(u.path, "/a%20b;v=1"));
    CHECK(conf_parse_url(&a, S("h:80"), &u) != NULL);
    CHECK(conf_parse_url(&a, S("http:/h"), &u) != NULL);
    CHECK(conf_parse_url(&a, S("http://h:"), &u) != NULL);
    CHECK(conf_parse_url(&a, S("http://h#frag"), &u) != NULL);
    CHECK(conf_parse_url(&a, S("http://[::1]x/"), &u) != NULL);
    CHECK(conf_parse_url(&a, S("http://h/\x01"), &u) != NULL);
    arena_free(&a);
}

static void header_names_values_and_names(void)
{
    CHECK(!conf_check_header_name(S("x-api-key")));
    CHECK(!conf_check_header_name(S("X_Weird.Name~1")));
    CHECK(conf_check_header_name(S("")) != NULL);
    CHECK(conf_check_header_name(S("bad name")) != NULL);
    CHECK(conf_check_header_name(S("bad:name")) != NULL);
    CHECK(!conf_check_header_value(S("Bearer sk-1\tx")));
    CHECK(conf_check_header_value(S("a\r\nb: c")) != NULL);
    CHECK(conf_check_header_value("a\0b", 3) != NULL);
    CHECK(!conf_check_name(S("openai-eu.1_b")));
    CHECK(conf_check_name(S("has space")) != NULL);
    CHECK(conf_check_name(S("a/b")) != NULL);
    CHECK(conf_check_name(S("")) != NULL);
    CHECK(conf_check_name(S("0123456789012345678901234567890123456789012345678901234567890123456789")) != NULL);
}

TEST_MAIN(RUN(durations) RUN(sizes) RUN(numbers_and_bools) RUN(binds) RUN(urls)
          RUN(header_names_values_and_names))
