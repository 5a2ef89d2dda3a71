/* test_conf_robust.c - hostile input never crashes the loader: it gets an error
 * with a location, and memory stays bounded. The sanitizer build runs this too. */
#include <stdint.h>

#include "conf_util.h"

static void empty_and_blank(void)
{
    EXPECT_DIAG("", "t.yaml:1:1: the configuration is empty");
    EXPECT_DIAG("   \n\n  \n", "t.yaml:1:1: the configuration is empty");
    EXPECT_DIAG("~\n", "t.yaml:1:1: the configuration is empty");
    EXPECT_DIAG("---\n...\n", "t.yaml:1:1: the configuration is empty");
}

static void scalars_where_maps_belong(void)
{
    EXPECT_DIAG("42\n", "t.yaml:1:1: the configuration must be a mapping, not a scalar");
    EXPECT_DIAG("global: 1\nadmin: 2\ndefaults: 3\nfrontends: 4\nbackends: 5\n",
                "t.yaml:1:9: global must be a mapping, not a scalar");
    CHECK_LINE("t.yaml:2:8: admin must be a mapping, not a scalar");
    CHECK_LINE("t.yaml:3:11: defaults must be a mapping, not a scalar");
    CHECK_LINE("t.yaml:4:12: 'frontends' must be a list, not a scalar");
    CHECK_LINE("t.yaml:5:11: 'backends' must be a list, not a scalar");
    EXPECT_DIAG("frontends: [1, [2], {name: x, bind: [[1]], routes: [3, {backend: [x], match: 5}]}]\n"
                "backends: [{name: b, servers: [1, {name: s, url: [u], headers: [h], model_map: [m]}]}]\n",
                "t.yaml:1:13: a frontend must be a mapping, not a scalar");
    CHECK(diag_errors >= 10);
}

static void binary_garbage(void)
{
    static const unsigned char bin[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0xff, 0xfe, 0x80, 0x00, '\n'};
    struct conf *c = load_len((const char *)bin, sizeof bin);
    CHECK(c == NULL);
    CHECK_STR_CONTAINS(diag_text, "t.yaml:1:");
    CHECK_STR_CONTAINS(diag_text, "YAML syntax error");
    c = load_len("a: \xc3\x28\n", 6);
    CHECK(c == NULL);
    CHECK_STR_CONTAINS(diag_text, "t.yaml:1:5: YAML syntax error: invalid trailing UTF-8 octet");
    c = load_len("a: b\0c: d\n", 10);
    CHECK(c == NULL);
    CHECK_STR_CONTAINS(diag_text, "t.yaml:1:5: YAML syntax error: control characters are not allowed");
}

/* Deterministic pseudo-random bytes and mutations of a valid file. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static void random_bytes_and_mutations(void)
{
    static const char base[] = MINIMAL_FRONTENDS MINIMAL_BACKENDS
        "admin: {bind: \"127.0.0.1:9901\", token: ${SLUICE_T_NONE:-}}\n"
        "defaults: {timeouts: {connect: 1s}, limits: {max_body_bytes: 1MiB}}\n";
    char buf[sizeof base + 64];
    for (int i = 0; i < 3000; i++) {
        size_t len;
        if (i % 3 == 0) {
            len = next_rand() % sizeof buf;
            for (size_t k = 0; k < len; k++)
                buf[k] = (char)next_rand();
        } else {
            memcpy(buf, base, sizeof base - 1);
            len = sizeof base - 1;
            for (int m = 0; m < 1 + i % 4; m++) {
                size_t at = next_rand() % len;
                static const char poison[] = "{}[]:,-&*!|>'\"%@`#\n \t\0x1";
                buf[at] = poison[next_rand() % (sizeof poison - 1)];
            }
            if (i % 5 == 0)
                len = next_rand() % len;
        }
        struct conf *c = load_len(buf, len);
        /* Either it loads, or it says why with a location. */
        CHECK(c != NULL || strncmp(diag_text, "t.yaml:", 7) == 0);
        conf_release(c);
    }
}

static void very_deep_nesting(void)
{
    size_t depth = 100000;
    char *s = malloc(2 * depth + 2);
    REQUIRE(s != NULL);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[2 * depth] = '\n';
    struct conf *c = load_len(s, 2 * depth + 1);
    CHECK(c == NULL);
    CHECK_LINE("t.yaml:1:65: nesting is deeper than 64 levels");
    for (size_t i = 0; i < depth; i++)
        s[i] = i % 2 ? ' ' : '-';
    memcpy(s, "a:\n", 3);
    c = load_len(s, depth);
    CHECK(c == NULL);
    CHECK_STR_CONTAINS(diag_text, "t.yaml:");
    free(s);
}

static void huge_scalars(void)
{
    size_t n = 3u * 1024 * 1024;
    char *s = malloc(n + 32);
    REQUIRE(s != NULL);
    memcpy(s, "global: {grace: ", 16);
    memset(s + 16, '9', n);
    memcpy(s + 16 + n, "}\n", 2);
    struct conf *c = load_len(s, n + 18);
    CHECK(c == NULL);
    CHECK_LINE("t.yaml:1:17: scalar of 3145728 bytes is longer than the 1048576 byte limit");
    /* Just under the limit: parsed, then refused as a duration. */
    memset(s + 16, '9', 1000);
    memcpy(s + 16 + 1000, "}\n", 2);
    c = load_len(s, 1018);
    CHECK(c == NULL);
    CHECK_LINE("t.yaml:1:17: 'grace': duration is longer than 30 days (got '"
               "9999999999999999999999999999999999999999999999999999999999999999...')");
    free(s);
}

static void alias_bomb(void)
{
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                       "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    EXPECT_DIAG(bomb, "t.yaml:6:20: the document has more than 500000 nodes (counting what aliases expand to)");
    EXPECT_DIAG("a: &a [*a]\n", "t.yaml:1:8: alias '*a' names no anchor defined before it");
}

static void missing_and_odd_files(void)
{
    struct conf_diags d;
    conf_diags_init(&d);
    CHECK(conf_load_file("/nonexistent/sluice.yaml", &d) == NULL);
    CHECK(conf_load_file("/", &d) == NULL);
    REQUIRE_EQ_INT(d.count, 2);
    CHECK_STR_EQ(d.items[0].msg, "cannot open the configuration file: No such file or directory");
    CHECK_EQ_INT(d.items[0].line, 1);
    CHECK_STR_EQ(d.items[1].msg, "the configuration is not a regular file");
    conf_diags_free(&d);
}

TEST_MAIN(RUN(empty_and_blank) RUN(scalars_where_maps_belong) RUN(binary_garbage)
          RUN(random_bytes_and_mutations) RUN(very_deep_nesting) RUN(huge_scalars) RUN(alias_bomb)
          RUN(missing_and_odd_files))
