/* test_conf_load.c - a configuration using every key loads into the right values,
 * defaults apply, defaults are inherited, ${VAR} is substituted. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "conf_util.h"

static const char full[] =
    "global:\n"
    "  workers: 4\n"
    "  plugin_path: [./build/plugins, /usr/lib/sluice]\n"
    "  log: {level: debug, access: /var/log/sluice.log, format: text}\n"
    "  watch: true\n"
    "  grace: 1m30s\n"
    "  max_connections: 5000\n"
    "admin:\n"
    "  bind: 127.0.0.1:9901\n"
    "  token: s3cret\n"
    "defaults:\n"
    "  timeouts: {connect: 250ms, header: 5s, client_idle: 2m, server: 1h}\n"
    "  limits: {max_header_bytes: 32KiB, max_body_bytes: 1MiB}\n"
    "  pool: {max_idle: 8, idle_timeout: 30s, max_connections: 100}\n"
    "frontends:\n"
    "  - name: api\n"
    "    bind: [\"127.0.0.1:8080\", \"[::1]:8080\", \"*:8443\"]\n"
    "    tls: {cert: " SLUICE_TEST_DATA "/cert.pem, key: " SLUICE_TEST_DATA "/key.pem, alpn: [http/1.1]}\n"
    "    timeouts: {header: 1s}\n"
    "    limits: {max_body_bytes: 2MiB}\n"
    "    filters:\n"
    "      - plugin: auth\n"
    "        config: {keys_file: conf/keys.yaml}\n"
    "      - plugin: ./x/ratelimit.so\n"
    "    routes:\n"
    "      - name: chat\n"
    "        match:\n"
    "          path_prefix: /v1/\n"
    "          methods: [GET, POST]\n"
    "          host: API.Example.com:8080\n"
    "          headers: {X-Tenant: blue}\n"
    "        backend: llm\n"
    "        filters: [{plugin: cache, config: {ttl: 5m}}]\n"
    "      - match: {path: /health}\n"
    "        backend: other\n"
    "backends:\n"
    "  - name: llm\n"
    "    balance: hash\n"
    "    hash_key: header:X-User\n"
    "    health_check:\n"
    "      path: /v1/models\n"
    "      method: HEAD\n"
    "      interval: 5s\n"
    "      timeout: 2s\n"
    "      rise: 2\n"
    "      fall: 3\n"
    "      expect_status: [200, 3xx, 401-403]\n"
    "      headers: {authorization: Bearer hc}\n"
    "    pool: {max_idle: 2}\n"
    "    timeouts: {connect: 1s}\n"
    "    filters:\n"
    "      - plugin: circuit_breaker\n"
    "        config: {failures: 5, cooldown: 30s}\n"
    "    servers:\n"
    "      - name: openai\n"
    "        url: https://api.openai.com/v1/\n"
    "        weight: 3\n"
    "        headers: {Authorization: \"Bearer sk-1\"}\n"
    "        model_map: {fast: gpt-4o-mini, \"*\": gpt-4o}\n"
    "      - name: zai\n"
    "        url: http://[::1]:8000/api/paas/v4\n"
    "        weight: 0\n"
    "        priority: 1\n"
    "        state: drain\n"
    "  - name: other\n"
    "    balance: least_conn\n"
    "    servers: [{name: s, url: \"http://localhost\", state: maint}]\n";

static void every_key_is_read(void)
{
    struct conf *c = load(full);
    REQUIRE(c != NULL);
    CHECK_EQ_INT(c->global.workers, 4);
    REQUIRE_EQ_INT(c->global.plugin_path_count, 2);
    CHECK_STR_EQ(c->global.plugin_path[1], "/usr/lib/sluice");
    CHECK_EQ_INT(c->global.log_level, CONF_LOG_DEBUG);
    CHECK_EQ_INT(c->global.access, CONF_ACCESS_FILE);
    CHECK_STR_EQ(c->global.access_file, "/var/log/sluice.log");
    CHECK_EQ_INT(c->global.log_format, CONF_LOG_TEXT);
    CHECK(c->global.watch);
    CHECK_EQ_U64(c->global.grace, 90000);
    CHECK_EQ_INT(c->global.max_connections, 5000);

    CHECK(c->admin.enabled);
    CHECK_STR_EQ(c->admin.bind.text, "127.0.0.1:9901");
    CHECK_STR_EQ(c->admin.token, "s3cret");

    CHECK_EQ_U64(c->timeouts.connect, 250);
    CHECK_EQ_U64(c->timeouts.server, 3600000);
    CHECK_EQ_U64(c->limits.max_header_bytes, 32768);
    CHECK_EQ_INT(c->pool.max_connections, 100);

    REQUIRE_EQ_INT(c->frontend_count, 1);
    const struct conf_frontend *fe = &c->frontends[0];
    CHECK_STR_EQ(fe->name, "api");
    REQUIRE_EQ_INT(fe->bind_count, 3);
    CHECK_EQ_INT(fe->binds[1].addr.ss_family, AF_INET6);
    const struct sockaddr_in *any = (const struct sockaddr_in *)(const void *)&fe->binds[2].addr;
    CHECK_EQ_INT(ntohs(any->sin_port), 8443);
    CHECK_EQ_U64(ntohl(any->sin_addr.s_addr), INADDR_ANY);
    REQUIRE(fe->tls != NULL);
    REQUIRE_EQ_INT(fe->tls->alpn_count, 1);
    CHECK_STR_EQ(fe->tls->alpn[0], "http/1.1");
    /* Frontend overrides one value each and inherits the rest from defaults. */
    CHECK_EQ_U64(fe->timeouts.header, 1000);
    CHECK_EQ_U64(fe->timeouts.client_idle, 120000);
    CHECK_EQ_U64(fe->limits.max_body_bytes, 2 * 1024 * 1024);
    CHECK_EQ_U64(fe->limits.max_header_bytes, 32768);
    REQUIRE_EQ_INT(fe->filters.count, 2);
    CHECK_STR_EQ(fe->filters.items[0].plugin, "auth");
    REQUIRE(fe->filters.items[0].config != NULL);
    CHECK(conf_node_is(conf_node_get(fe->filters.items[0].config, "keys_file"), "conf/keys.yaml"));
    CHECK_EQ_INT(fe->filters.items[0].loc.line, 22);
    CHECK(fe->filters.items[1].config == NULL);

    REQUIRE_EQ_INT(fe->route_count, 2);
    const struct conf_route *r = &fe->routes[0];
    CHECK_STR_EQ(r->name, "chat");
    CHECK_STR_EQ(r->path_prefix, "/v1/");
    CHECK_EQ_INT(r->methods, (1u << CONF_M_GET) | (1u << CONF_M_POST));
    CHECK_STR_EQ(r->host, "api.example.com");
    REQUIRE_EQ_INT(r->header_count, 1);
    CHECK_STR_EQ(r->headers[0].name, "x-tenant");
    CHECK_STR_EQ(r->headers[0].value, "blue");
    CHECK(r->backend == &c->backends[0]);
    CHECK_EQ_INT(r->filters.count, 1);
    CHECK_STR_EQ(fe->routes[1].name, "1");
    CHECK_STR_EQ(fe->routes[1].path, "/health");
    CHECK_EQ_INT(fe->routes[1].methods, 0);
    CHECK(fe->routes[1].backend == &c->backends[1]);

    REQUIRE_EQ_INT(c->backend_count, 2);
    const struct conf_backend *be = &c->backends[0];
    CHECK_EQ_INT(be->balance, CONF_BALANCE_HASH);
    CHECK_EQ_INT(be->hash_key.source, CONF_HASH_HEADER);
    CHECK_STR_EQ(be->hash_key.name, "x-user");
    REQUIRE(be->health_check != NULL);
    CHECK_STR_EQ(be->health_check->path, "/v1/models");
    CHECK_STR_EQ(be->health_check->method, "HEAD");
    CHECK_EQ_U64(be->health_check->interval, 5000);
    CHECK_EQ_U64(be->health_check->timeout, 2000);
    CHECK_EQ_INT(be->health_check->rise, 2);
    CHECK_EQ_INT(be->health_check->fall, 3);
    REQUIRE_EQ_INT(be->health_check->expect_count, 3);
    CHECK_EQ_INT(be->health_check->expect[0].lo, 200);
    CHECK_EQ_INT(be->health_check->expect[0].hi, 200);
    CHECK_EQ_INT(be->health_check->expect[1].lo, 300);
    CHECK_EQ_INT(be->health_check->expect[1].hi, 399);
    CHECK_EQ_INT(be->health_check->expect[2].lo, 401);
    CHECK_EQ_INT(be->health_check->expect[2].hi, 403);
    CHECK_EQ_INT(be->health_check->header_count, 1);
    CHECK_EQ_INT(be->pool.max_idle, 2);
    CHECK_EQ_U64(be->pool.idle_timeout, 30000);
    CHECK_EQ_U64(be->timeouts.connect, 1000);
    CHECK_EQ_U64(be->timeouts.server, 3600000);
    CHECK_EQ_INT(be->filters.count, 1);

    REQUIRE_EQ_INT(be->server_count, 2);
    const struct conf_server *s = &be->servers[0];
    CHECK_STR_EQ(s->name, "openai");
    CHECK_EQ_INT(s->url.scheme, CONF_HTTPS);
    CHECK_STR_EQ(s->url.host, "api.openai.com");
    CHECK_EQ_INT(s->url.port, 443);
    CHECK_STR_EQ(s->url.authority, "api.openai.com");
    CHECK_STR_EQ(s->url.path, "/v1");
    CHECK_EQ_INT(s->weight, 3);
    CHECK_EQ_INT(s->priority, 0);
    REQUIRE_EQ_INT(s->header_count, 1);
    CHECK_STR_EQ(s->headers[0].name, "authorization");
    CHECK_STR_EQ(s->headers[0].value, "Bearer sk-1");
    REQUIRE_EQ_INT(s->model_map_count, 2);
    CHECK_STR_EQ(s->model_map[0].from, "fast");
    CHECK_STR_EQ(s->model_map[0].to, "gpt-4o-mini");
    CHECK_STR_EQ(s->model_map[1].from, "*");
    CHECK_EQ_INT(s->state, CONF_STATE_READY);
    s = &be->servers[1];
    CHECK_STR_EQ(s->url.host, "::1");
    CHECK_STR_EQ(s->url.authority, "[::1]:8000");
    CHECK_EQ_INT(s->url.port, 8000);
    CHECK_STR_EQ(s->url.path, "/api/paas/v4");
    CHECK_EQ_INT(s->weight, 0);
    CHECK_EQ_INT(s->priority, 1);
    CHECK_EQ_INT(s->state, CONF_STATE_DRAIN);
    CHECK_EQ_INT(c->backends[1].balance, CONF_BALANCE_LEAST_CONN);
    CHECK_EQ_INT(c->backends[1].servers[0].url.port, 80);
    CHECK_STR_EQ(c->backends[1].servers[0].url.path, "");
    CHECK_EQ_INT(c->backends[1].servers[0].state, CONF_STATE_MAINT);
    CHECK(conf_find_frontend(c, "api") == fe);
    CHECK(conf_find_backend(c, "nope") == NULL);
    conf_release(c);
}

static void defaults_apply(void)
{
    struct conf *c = load(MINIMAL_FRONTENDS MINIMAL_BACKENDS);
    REQUIRE(c != NULL);
    CHECK_EQ_INT(c->global.workers, 0);
    CHECK_EQ_INT(c->global.plugin_path_count, 0);
    CHECK_EQ_INT(c->global.log_level, CONF_LOG_INFO);
    CHECK_EQ_INT(c->global.access, CONF_ACCESS_STDOUT);
    CHECK_EQ_INT(c->global.log_format, CONF_LOG_JSON);
    CHECK(!c->global.watch);
    CHECK_EQ_U64(c->global.grace, 10000);
    CHECK(!c->admin.enabled);
    const struct conf_frontend *fe = &c->frontends[0];
    CHECK_EQ_U64(fe->timeouts.header, 10000);
    CHECK_EQ_U64(fe->timeouts.client_idle, 60000);
    CHECK_EQ_U64(fe->limits.max_header_bytes, 65536);
    CHECK_EQ_U64(fe->limits.max_body_bytes, 16u * 1024 * 1024);
    CHECK(fe->tls == NULL);
    CHECK_EQ_INT(fe->filters.count, 0);
    CHECK_STR_EQ(fe->routes[0].name, "0");
    CHECK(fe->routes[0].path_prefix == NULL);
    const struct conf_backend *be = &c->backends[0];
    CHECK_EQ_INT(be->balance, CONF_BALANCE_WRR);
    CHECK(be->health_check == NULL);
    CHECK_EQ_U64(be->timeouts.connect, 3000);
    CHECK_EQ_U64(be->timeouts.server, 300000);
    CHECK_EQ_INT(be->pool.max_idle, 64);
    CHECK_EQ_U64(be->pool.idle_timeout, 60000);
    CHECK_EQ_INT(be->servers[0].weight, 1);
    CHECK_EQ_INT(be->servers[0].state, CONF_STATE_READY);
    conf_release(c);
}

static void health_check_defaults(void)
{
    struct conf *c = load(MINIMAL_FRONTENDS
                          "backends:\n"
                          "  - name: llm\n"
                          "    health_check: {}\n"
                          "    servers: [{name: a, url: http://h}]\n");
    REQUIRE(c != NULL);
    const struct conf_health_check *hc = c->backends[0].health_check;
    REQUIRE(hc != NULL);
    CHECK_STR_EQ(hc->path, "/");
    CHECK_STR_EQ(hc->method, "GET");
    CHECK_EQ_U64(hc->interval, 5000);
    CHECK_EQ_U64(hc->timeout, 2000);
    CHECK_EQ_INT(hc->rise, 2);
    CHECK_EQ_INT(hc->fall, 3);
    REQUIRE_EQ_INT(hc->expect_count, 1);
    CHECK_EQ_INT(hc->expect[0].lo, 200);
    CHECK_EQ_INT(hc->expect[0].hi, 299);
    conf_release(c);
}

static void env_is_substituted(void)
{
    setenv("SLUICE_T_KEY", "sk-from-env", 1);
    setenv("SLUICE_T_PORT", "9100", 1);
    setenv("SLUICE_T_EMPTY", "", 1);
    unsetenv("SLUICE_T_UNSET");
    struct conf *c = load("admin: {bind: \"127.0.0.1:${SLUICE_T_PORT}\", token: \"${SLUICE_T_UNSET:-}\"}\n"
                          MINIMAL_FRONTENDS
                          "backends:\n"
                          "  - name: llm\n"
                          "    servers:\n"
                          "      - name: a\n"
                          "        url: http://h:${SLUICE_T_UNSET:-81}/${SLUICE_T_EMPTY:-base}\n"
                          "        headers:\n"
                          "          authorization: Bearer ${SLUICE_T_KEY}\n"
                          "          x-lit: $${SLUICE_T_KEY} $5\n");
    CHECK_STR_EQ(diag_text, "");
    REQUIRE(c != NULL);
    CHECK_STR_EQ(c->admin.bind.text, "127.0.0.1:9100");
    CHECK(c->admin.token == NULL);
    const struct conf_server *s = &c->backends[0].servers[0];
    CHECK_EQ_INT(s->url.port, 81);
    CHECK_STR_EQ(s->url.path, "/base");
    CHECK_STR_EQ(s->headers[0].value, "Bearer sk-from-env");
    CHECK_STR_EQ(s->headers[1].value, "${SLUICE_T_KEY} $5");
    conf_release(c);
}

static void keys_are_not_substituted(void)
{
    setenv("SLUICE_T_KEY", "name", 1);
    load("${SLUICE_T_KEY}: x\n" MINIMAL_FRONTENDS MINIMAL_BACKENDS);
    CHECK_STR_CONTAINS(diag_text, "t.yaml:1:1: unknown key '${SLUICE_T_KEY}' in the configuration");
}

static void anchors_and_aliases_work(void)
{
    struct conf *c = load(MINIMAL_FRONTENDS
                          "backends:\n"
                          "  - name: llm\n"
                          "    servers:\n"
                          "      - {name: a, url: http://a, headers: &h {x-team: blue}}\n"
                          "      - {name: b, url: http://b, headers: *h}\n");
    REQUIRE(c != NULL);
    CHECK_STR_EQ(c->backends[0].servers[1].headers[0].value, "blue");
    conf_release(c);
}

static void retain_and_release(void)
{
    struct conf *c = load(MINIMAL_FRONTENDS MINIMAL_BACKENDS);
    REQUIRE(c != NULL);
    CHECK(conf_retain(c) == c);
    conf_release(c);
    CHECK_STR_EQ(c->frontends[0].name, "api"); /* still held once */
    conf_release(c);
    conf_release(NULL);
}

static void demo_config_loads(void)
{
    struct conf_diags d;
    conf_diags_init(&d);
    struct conf *c = conf_load_file(SLUICE_TEST_DATA "/../../../conf/demo.yaml", &d);
    CHECK_EQ_INT(d.errors, 0);
    REQUIRE(c != NULL);
    REQUIRE_EQ_INT(c->backends[0].server_count, 3);
    CHECK_EQ_INT(c->backends[0].servers[0].weight, 3);
    CHECK_EQ_INT(c->backends[0].servers[1].weight, 1);
    CHECK_EQ_INT(c->backends[0].servers[2].priority, 1);
    conf_release(c);
    conf_diags_free(&d);
}

TEST_MAIN(RUN(every_key_is_read) RUN(defaults_apply) RUN(health_check_defaults)
          RUN(env_is_substituted) RUN(keys_are_not_substituted) RUN(anchors_and_aliases_work)
          RUN(retain_and_release) RUN(demo_config_loads))
