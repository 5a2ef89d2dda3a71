/* test_conf_errors.c - every class of configuration error is reported at its exact
 * FILE:LINE:COL, all of a file's errors in one run, with no secret in the text. */
#include "conf_util.h"

static void unknown_key_at_line_12_col_5(void)
{
    EXPECT_DIAG("global:\n"                       /* 1 */
                "  workers: 2\n"                  /* 2 */
                "frontends:\n"                    /* 3 */
                "  - name: api\n"                 /* 4 */
                "    bind: 127.0.0.1:8080\n"      /* 5 */
                "    routes:\n"                   /* 6 */
                "      - backend: llm\n"          /* 7 */
                "backends:\n"                     /* 8 */
                "  - name: llm\n"                 /* 9 */
                "    servers:\n"                  /* 10 */
                "      - {name: a, url: http://h}\n" /* 11 */
                "    bogus: 1\n",                 /* 12 */
                "t.yaml:12:5: unknown key 'bogus' in a backend (expected one of: name, balance, "
                "hash_key, health_check, pool, timeouts, filters, servers)");
}

static void unknown_key_suggests_the_close_one(void)
{
    EXPECT_DIAG(MINIMAL_FRONTENDS
                "backends:\n"
                "  - name: llm\n"
                "    balanse: least_conn\n"
                "    servers: [{name: a, url: http://h, wieght: 2}]\n",
                "t.yaml:8:5: unknown key 'balanse' in a backend; did you mean 'balance'?");
    CHECK_LINE("t.yaml:9:40: unknown key 'wieght' in a server; did you mean 'weight'?");
}

static void yaml_syntax_error(void)
{
    EXPECT_DIAG("frontends:\n  - name: api\n   bind: x\n",
                "t.yaml:3:4: YAML syntax error: did not find expected '-' indicator (while parsing a block "
                "collection, line 2 column 3)");
    EXPECT_DIAG("a: [1, 2\n", "t.yaml:2:1: YAML syntax error: did not find expected ',' or ']' "
                              "(while parsing a flow sequence, line 1 column 4)");
}

static void root_must_be_a_mapping(void)
{
    EXPECT_DIAG("just a string\n", "t.yaml:1:1: the configuration must be a mapping, not a scalar");
    EXPECT_DIAG("- a\n- b\n", "t.yaml:1:1: the configuration must be a mapping, not a list");
    EXPECT_DIAG("", "t.yaml:1:1: the configuration is empty");
    EXPECT_DIAG("# only a comment\n\n", "t.yaml:1:1: the configuration is empty");
}

static void duplicate_key(void)
{
    EXPECT_DIAG(MINIMAL_FRONTENDS MINIMAL_BACKENDS "frontends: []\n",
                "t.yaml:10:1: duplicate key 'frontends' (first at line 1)");
}

static void missing_required_keys(void)
{
    EXPECT_DIAG(MINIMAL_BACKENDS, "t.yaml:1:1: the configuration is missing the required key 'frontends'");
    EXPECT_DIAG("frontends:\n  - bind: :80\n    routes: [{backend: llm}]\n" MINIMAL_BACKENDS,
                "t.yaml:2:5: a frontend is missing the required key 'name'");
    EXPECT_DIAG("frontends:\n  - name: x\n    routes: [{backend: llm}]\n" MINIMAL_BACKENDS,
                "t.yaml:2:5: a frontend is missing the required key 'bind'");
    EXPECT_DIAG("frontends:\n  - name: x\n    bind: :80\n" MINIMAL_BACKENDS,
                "t.yaml:2:5: a frontend is missing the required key 'routes'");
    EXPECT_DIAG("frontends:\n  - name: x\n    bind: :80\n    routes: [{match: {path: /}}]\n" MINIMAL_BACKENDS,
                "t.yaml:4:14: a route is missing the required key 'backend'");
    EXPECT_DIAG(MINIMAL_FRONTENDS "backends:\n  - name: llm\n    servers: [{name: a}]\n",
                "t.yaml:8:15: a server is missing the required key 'url'");
    EXPECT_DIAG(MINIMAL_FRONTENDS "backends:\n  - name: llm\n",
                "t.yaml:7:5: a backend is missing the required key 'servers'");
    EXPECT_DIAG("admin: {token: x}\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS,
                "t.yaml:1:8: admin is missing the required key 'bind'");
    EXPECT_DIAG("frontends: []\n" MINIMAL_BACKENDS, "t.yaml:1:12: at least one frontend is needed");
    EXPECT_DIAG(MINIMAL_FRONTENDS "backends:\n  - name: llm\n    servers: []\n",
                "t.yaml:8:14: a backend needs at least one server");
}

static void wrong_node_kinds(void)
{
    EXPECT_DIAG("frontends: {name: api}\n" MINIMAL_BACKENDS,
                "t.yaml:1:12: 'frontends' must be a list, not a mapping");
    EXPECT_DIAG("global: [1]\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS,
                "t.yaml:1:9: global must be a mapping, not a list");
    EXPECT_DIAG("defaults: {timeouts: 5s}\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS,
                "t.yaml:1:22: defaults.timeouts must be a mapping, not a scalar");
    EXPECT_DIAG("frontends:\n  - name: [a]\n    bind: :80\n    routes: [{backend: llm}]\n" MINIMAL_BACKENDS,
                "t.yaml:2:11: 'name' must be a name, not a list");
    EXPECT_DIAG("frontends:\n  - name: a\n    bind: :80\n    routes: [{backend: llm}]\n"
                "    filters: {plugin: auth}\n" MINIMAL_BACKENDS,
                "t.yaml:5:14: 'filters' must be a list, not a mapping");
    EXPECT_DIAG("frontends:\n  - name: a\n    bind: :80\n    routes: [{backend: llm}]\n"
                "    filters: [auth]\n" MINIMAL_BACKENDS,
                "t.yaml:5:15: a filter must be a mapping, not a scalar");
    EXPECT_DIAG("frontends:\n  - name: a\n    bind: :80\n    routes: [{backend: llm}]\n"
                "    filters: [{config: {}}]\n" MINIMAL_BACKENDS,
                "t.yaml:5:15: a filter is missing the required key 'plugin'");
}

static void env_errors(void)
{
    unsetenv("SLUICE_T_NOPE");
    EXPECT_DIAG("admin:\n  bind: 127.0.0.1:${SLUICE_T_NOPE}\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS,
                "t.yaml:2:9: environment variable SLUICE_T_NOPE is not set (use ${SLUICE_T_NOPE:-default} "
                "for a default)");
    EXPECT_DIAG("admin:\n  bind: 127.0.0.1:${9}\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS,
                "t.yaml:2:9: bad variable reference: '${' must be followed by a variable name "
                "(write '$${' for a literal '${')");
    EXPECT_DIAG("admin:\n  bind: \"${SLUICE_T_NOPE:-x\"\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS,
                "t.yaml:2:9: bad variable reference: '${SLUICE_T_NOPE:-' has no closing '}'");
    EXPECT_DIAG("admin:\n  bind: \"${SLUICE_T_NOPE\"\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS,
                "t.yaml:2:9: bad variable reference to 'SLUICE_T_NOPE': expected '}' or ':-default}'");
}

static void values_from_the_environment_stay_secret(void)
{
    setenv("SLUICE_T_SECRET", "sk-live-123456", 1);
    setenv("SLUICE_T_NL", "Bearer x\r\nx-evil: 1", 1);
    struct conf *c = load(MINIMAL_FRONTENDS
                          "backends:\n"
                          "  - name: llm\n"
                          "    servers:\n"
                          "      - name: a\n"
                          "        url: http://h\n"
                          "        weight: ${SLUICE_T_SECRET}\n"
                          "        headers:\n"
                          "          authorization: ${SLUICE_T_NL}\n");
    CHECK(c == NULL);
    CHECK_LINE("t.yaml:11:17: 'weight' must be a whole number from 0 to 256 "
                              "(got '${SLUICE_T_SECRET}')");
    CHECK_LINE("t.yaml:13:26: header 'authorization': a header value may not hold "
                              "control characters (CR, LF, NUL...)");
    CHECK(strstr(diag_text, "sk-live") == NULL);
    CHECK(strstr(diag_text, "x-evil") == NULL);
}

static void bad_durations_and_sizes(void)
{
    EXPECT_DIAG("defaults:\n  timeouts: {connect: 5}\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS,
                "t.yaml:2:23: 'connect': a duration needs a unit: ms, s, m or h (got '5')");
    EXPECT_DIAG("defaults:\n  timeouts: {server: 5d}\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS,
                "t.yaml:2:22: 'server': unknown duration unit (use ms, s, m or h) (got '5d')");
    EXPECT_DIAG("global: {grace: 31d}\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS,
                "t.yaml:1:17: 'grace': unknown duration unit (use ms, s, m or h) (got '31d')");
    EXPECT_DIAG("global: {grace: 99999h}\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS,
                "t.yaml:1:17: 'grace': duration is longer than 30 days (got '99999h')");
    EXPECT_DIAG("defaults:\n  limits: {max_body_bytes: 16MB}\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS,
                "t.yaml:2:28: 'max_body_bytes': unknown size unit (use B, KiB, MiB or GiB) (got '16MB')");
    EXPECT_DIAG("defaults:\n  limits: {max_header_bytes: 100}\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS,
                "t.yaml:2:30: 'max_header_bytes' must be from 1KiB to 1MiB (got '100')");
    EXPECT_DIAG("frontends:\n  - name: a\n    bind: :80\n    routes: [{backend: llm}]\n"
                "    timeouts: {connect: 1s}\n" MINIMAL_BACKENDS,
                "t.yaml:5:16: unknown key 'connect' in frontend timeouts (expected one of: header, "
                "client_idle)");
}

static void numbers_out_of_range(void)
{
    EXPECT_DIAG(MINIMAL_FRONTENDS "backends:\n  - name: llm\n    servers: [{name: a, url: http://h, weight: 257}]\n",
                "t.yaml:8:48: 'weight' must be a whole number from 0 to 256 (got '257')");
    EXPECT_DIAG(MINIMAL_FRONTENDS "backends:\n  - name: llm\n    servers: [{name: a, url: http://h, weight: -1}]\n",
                "t.yaml:8:48: 'weight' must be a whole number from 0 to 256 (got '-1')");
    EXPECT_DIAG(MINIMAL_FRONTENDS "backends:\n  - name: llm\n    servers: [{name: a, url: http://h, priority: 256}]\n",
                "t.yaml:8:50: 'priority' must be a whole number from 0 to 255 (got '256')");
    EXPECT_DIAG("global: {workers: 0}\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS,
                "t.yaml:1:19: 'workers' must be auto or a number from 1 to 1024 (got '0')");
    EXPECT_DIAG("global: {watch: maybe}\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS,
                "t.yaml:1:17: 'watch': expected true or false (got 'maybe')");
}

static void bad_enums(void)
{
    EXPECT_DIAG(MINIMAL_FRONTENDS "backends:\n  - name: llm\n    balance: fastest\n"
                "    servers: [{name: a, url: http://h, state: down}]\n",
                "t.yaml:8:14: 'balance' must be one of weighted_round_robin, least_conn, random_two, "
                "latency, hash (got 'fastest')");
    CHECK_LINE("t.yaml:9:47: 'state' must be one of ready, drain, maint (got 'down')");
    EXPECT_DIAG("frontends:\n  - name: a\n    bind: :80\n    routes: [{backend: llm, match: {methods: [GET, FETCH]}}]\n" MINIMAL_BACKENDS,
                "t.yaml:4:52: 'methods' must be one of GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, "
                "TRACE, CONNECT (got 'FETCH')");
}

static void bad_urls(void)
{
    static const struct { const char *url, *msg; } cases[] = {
        {"ftp://h", "the url must start with http:// or https://"},
        {"http://", "the url has no host"},
        {"http://u:p@h", "credentials in a url are not supported (set them with the server's headers)"},
        {"http://h/x?y=1", "a server url may not have a query or fragment"},
        {"http://h:0", "the port must be a number from 1 to 65535"},
        {"http://h:http", "the port must be a number from 1 to 65535"},
        {"http://[::1", "unclosed '[' in the url's host"},
        {"http://[zz]:80", "the url's host is not a valid IPv6 address"},
        {"http://h^/", "the url's host has a character that is not allowed"},
        {"'http://h/a b'", "the url's path has a character that is not allowed (spaces and controls must be %-encoded)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024], line[512];
        snprintf(text, sizeof text, MINIMAL_FRONTENDS "backends:\n  - name: llm\n    servers:\n"
                 "      - name: a\n        url: %s\n", cases[i].url);
        const char *raw = cases[i].url[0] == '\'' ? "http://h/a b" : cases[i].url;
        snprintf(line, sizeof line, "t.yaml:10:14: bad url '%s': %s", raw, cases[i].msg);
        EXPECT_DIAG(text, line);
    }
}

static void bad_binds(void)
{
    static const struct { const char *bind, *msg; } cases[] = {
        {"8080", "expected HOST:PORT (for example 127.0.0.1:8080 or *:8080)"},
        {"example.com:80", "the host must be an IP address, '*' or localhost (names are not resolved)"},
        {"127.0.0.1:70000", "the port must be a number from 1 to 65535"},
        {"\"[::1]8080\"", "expected [IPV6]:PORT"},
        {"\"[fe80::zz]:80\"", "not an IPv6 address"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024], line[512], raw[64];
        snprintf(text, sizeof text, "frontends:\n  - name: a\n    bind: %s\n    routes: [{backend: llm}]\n"
                 MINIMAL_BACKENDS, cases[i].bind);
        snprintf(raw, sizeof raw, "%s", cases[i].bind[0] == '"' ? cases[i].bind + 1 : cases[i].bind);
        if (cases[i].bind[0] == '"')
            raw[strlen(raw) - 1] = '\0';
        snprintf(line, sizeof line, "t.yaml:3:11: bind '%s': %s", raw, cases[i].msg);
        EXPECT_DIAG(text, line);
    }
}

static void same_bind_twice(void)
{
    EXPECT_DIAG("admin: {bind: \"127.0.0.1:8080\"}\n"
                "frontends:\n"
                "  - {name: a, bind: \"127.0.0.1:8080\", routes: [{backend: llm}]}\n"
                "  - {name: b, bind: [\"*:9000\", \"127.0.0.1:9000\"], routes: [{backend: llm}]}\n"
                "  - {name: c, bind: \"[::1]:8080\", routes: [{backend: llm}]}\n"
                MINIMAL_BACKENDS,
                "t.yaml:1:15: bind '127.0.0.1:8080' clashes with '127.0.0.1:8080' of frontend a (line 3)");
    CHECK_LINE("t.yaml:4:32: bind '127.0.0.1:9000' clashes with '*:9000' of frontend b (line 4)");
    CHECK_EQ_INT(diag_errors, 2); /* [::1]:8080 is another family: no clash */
}

static void duplicate_names(void)
{
    EXPECT_DIAG("frontends:\n"
                "  - {name: a, bind: \":1\", routes: [{name: r, backend: llm}, {name: r, backend: llm}]}\n"
                "  - {name: a, bind: \":2\", routes: [{backend: llm}]}\n"
                "backends:\n"
                "  - {name: llm, servers: [{name: s, url: http://h}, {name: s, url: http://i}]}\n"
                "  - {name: llm, servers: [{name: s, url: http://h}]}\n",
                "t.yaml:2:61: duplicate route name 'r' (first defined at line 2)");
    CHECK_LINE("t.yaml:3:5: duplicate frontend name 'a' (first defined at line 2)");
    CHECK_LINE("t.yaml:5:53: duplicate server name 's' (first defined at line 5)");
    CHECK_LINE("t.yaml:6:5: duplicate backend name 'llm' (first defined at line 5)");
    CHECK_EQ_INT(diag_errors, 4);
}

static void route_to_missing_backend(void)
{
    EXPECT_DIAG("frontends:\n  - name: a\n    bind: :80\n    routes:\n      - backend: llms\n"
                "      - backend: nothing\n" MINIMAL_BACKENDS,
                "t.yaml:5:18: backend 'llms' is not defined; did you mean 'llm'?");
    CHECK_LINE("t.yaml:6:18: backend 'nothing' is not defined");
}

static void hash_needs_a_key(void)
{
    EXPECT_DIAG(MINIMAL_FRONTENDS "backends:\n  - name: llm\n    balance: hash\n    servers: [{name: a, url: http://h}]\n",
                "t.yaml:7:5: backend 'llm' uses balance: hash but sets no hash_key (for example "
                "hash_key: header:x-user-id)");
    EXPECT_DIAG(MINIMAL_FRONTENDS "backends:\n  - name: llm\n    balance: hash\n    hash_key: cookie:x\n"
                "    servers: [{name: a, url: http://h}]\n",
                "t.yaml:9:15: 'hash_key' must be header:NAME (got 'cookie:x')");
    /* A key without hash balancing is a warning, not an error. */
    struct conf *c = load(MINIMAL_FRONTENDS "backends:\n  - name: llm\n    hash_key: header:x\n"
                          "    servers: [{name: a, url: http://h}]\n");
    CHECK(c != NULL);
    CHECK_LINE("t.yaml:7:5: warning: backend 'llm' sets hash_key, which only balance: hash uses");
    conf_release(c);
}

static void bad_headers_and_names(void)
{
    EXPECT_DIAG(MINIMAL_FRONTENDS "backends:\n  - name: llm\n    servers:\n      - name: a\n        url: http://h\n"
                "        headers: {\"bad name\": x, X-A: 1, x-a: 2}\n",
                "t.yaml:11:19: 'headers': a header name may hold only letters, digits and !#$%&'*+-.^_`|~");
    CHECK_LINE("t.yaml:11:42: header 'x-a' is set twice in 'headers'");
    EXPECT_DIAG("frontends:\n  - name: \"my api\"\n    bind: :80\n    routes: [{backend: llm}]\n" MINIMAL_BACKENDS,
                "t.yaml:2:11: 'name': a name may hold only letters, digits, '_', '-' and '.'");
}

static void bad_route_match(void)
{
    EXPECT_DIAG("frontends:\n  - name: a\n    bind: :80\n    routes:\n"
                "      - match: {path: /a, path_prefix: /b}\n        backend: llm\n" MINIMAL_BACKENDS,
                "t.yaml:5:16: a route matches either 'path' or 'path_prefix', not both");
    EXPECT_DIAG("frontends:\n  - name: a\n    bind: :80\n    routes:\n"
                "      - match: {path: a}\n        backend: llm\n" MINIMAL_BACKENDS,
                "t.yaml:5:23: 'path' must start with '/' (got 'a')");
}

static void bad_tls(void)
{
    EXPECT_DIAG("frontends:\n  - name: a\n    bind: :443\n    routes: [{backend: llm}]\n"
                "    tls: {cert: /nonexistent/cert.pem, key: " SLUICE_TEST_DATA "/key.pem, alpn: [h3]}\n"
                MINIMAL_BACKENDS,
                "t.yaml:5:17: cannot read the certificate file '/nonexistent/cert.pem': No such file or directory");
    CHECK(has_line(diag_text, "t.yaml:5:80: 'alpn' must be one of h2, http/1.1 (got 'h3')") ||
          strstr(diag_text, "'alpn' must be one of h2, http/1.1 (got 'h3')"));
    EXPECT_DIAG("frontends:\n  - name: a\n    bind: :443\n    routes: [{backend: llm}]\n"
                "    tls: {cert: " SLUICE_TEST_DATA "/cert.pem}\n" MINIMAL_BACKENDS,
                "t.yaml:5:10: tls is missing the required key 'key'");
}

static void bad_health_check(void)
{
    EXPECT_DIAG(MINIMAL_FRONTENDS "backends:\n  - name: llm\n"
                "    health_check: {path: models, interval: 10ms, rise: 0, expect_status: [2xx, 700, 300-200]}\n"
                "    servers: [{name: a, url: http://h}]\n",
                "t.yaml:8:26: health_check 'path' must start with '/' (got 'models')");
    CHECK_LINE("t.yaml:8:44: health_check 'interval' must be at least 100ms");
    CHECK_LINE("t.yaml:8:56: 'rise' must be a whole number from 1 to 1000 (got '0')");
    CHECK_LINE("t.yaml:8:80: 'expect_status' items must be a status (200), a class (2xx) "
                              "or a range (200-399) within 100-599 (got '700')");
    CHECK_LINE("t.yaml:8:85: 'expect_status' items must be a status (200), a class (2xx) "
                              "or a range (200-399) within 100-599 (got '300-200')");
}

static void yaml_structure_errors(void)
{
    EXPECT_DIAG("a: 1\n---\nb: 2\n", "t.yaml:2:1: only one YAML document is allowed in a configuration file");
    EXPECT_DIAG("a: *nowhere\n", "t.yaml:1:4: alias '*nowhere' names no anchor defined before it");
    EXPECT_DIAG("? [a]\n: 1\n", "t.yaml:1:3: a key must be a scalar, not a list");
}

/* One run reports every problem of the file, in file order. */
static void all_errors_in_one_run(void)
{
    struct conf *c = load("global:\n"
                          "  workers: many\n"
                          "  colour: red\n"
                          "frontends:\n"
                          "  - name: api\n"
                          "    bind: [\"127.0.0.1:80\", \"127.0.0.1:80\"]\n"
                          "    routes:\n"
                          "      - backend: missing\n"
                          "backends:\n"
                          "  - name: llm\n"
                          "    servers:\n"
                          "      - {name: a, url: http://h, weight: 999}\n");
    CHECK(c == NULL);
    CHECK_EQ_INT(diag_errors, 5);
    const char *expect[] = {
        "t.yaml:2:12: 'workers' must be auto or a number from 1 to 1024 (got 'many')",
        "t.yaml:3:3: unknown key 'colour' in global (expected one of: workers, plugin_path, log, watch, grace, max_connections)",
        "t.yaml:6:28: bind '127.0.0.1:80' clashes with '127.0.0.1:80' of frontend api (line 6)",
        "t.yaml:8:18: backend 'missing' is not defined",
        "t.yaml:12:42: 'weight' must be a whole number from 0 to 256 (got '999')",
    };
    const char *p = diag_text;
    for (size_t i = 0; i < 5; i++) {
        const char *at = strstr(p, expect[i]);
        CHECK_MSG_(at != NULL, "missing or out of order: %s\nin:\n%s", expect[i], diag_text);
        if (at)
            p = at;
    }
}

TEST_MAIN(RUN(unknown_key_at_line_12_col_5) RUN(unknown_key_suggests_the_close_one) RUN(yaml_syntax_error)
          RUN(root_must_be_a_mapping) RUN(duplicate_key) RUN(missing_required_keys) RUN(wrong_node_kinds)
          RUN(env_errors) RUN(values_from_the_environment_stay_secret) RUN(bad_durations_and_sizes)
          RUN(numbers_out_of_range) RUN(bad_enums) RUN(bad_urls) RUN(bad_binds) RUN(same_bind_twice)
          RUN(duplicate_names) RUN(route_to_missing_backend) RUN(hash_needs_a_key) RUN(bad_headers_and_names)
          RUN(bad_route_match) RUN(bad_tls) RUN(bad_health_check) RUN(yaml_structure_errors)
          RUN(all_errors_in_one_run))
