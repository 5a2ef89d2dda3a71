/* test_proxy_balance.c - how sluice spreads requests over servers and reuses its
 * upstream connections, as seen from the mocks behind it: weighted round robin,
 * hash balancing, and connection pooling. Which server answered is read from the
 * mock's x-mock-server header. */
#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

#include <stdlib.h>
#include <string.h>

/* Which server answered r: index into names, or -1. */
static int answered_by(const struct http_resp *r, const char *const *names, int n)
{
    char v[64];
    if (!http_header(r, "x-mock-server", v, sizeof v))
        return -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i]))
            return i;
    return -1;
}

static void weights_3_and_1_split_traffic_3_to_1_over_keep_alive(void)
{
    struct mock heavy, light;
    START_MOCK(&heavy, "heavy");
    START_MOCK(&light, "light");
    struct sluice s;
    REQUIRE(sluice_start(&s,
        "global: {workers: 2, grace: 5s, log: {level: info, access: off}}\n"
        "frontends:\n"
        "  - name: api\n"
        "    bind: [\"127.0.0.1:@PORT@\"]\n"
        "    routes: [{backend: llm}]\n"
        "backends:\n"
        "  - name: llm\n"
        "    balance: weighted_round_robin\n"
        "    servers:\n"
        "      - {name: heavy, url: \"http://127.0.0.1:%d\", weight: 3}\n"
        "      - {name: light, url: \"http://127.0.0.1:%d\", weight: 1}\n",
        heavy.port, light.port));
    static const char *const names[] = {"heavy", "light"};
    /* Four keep-alive clients taking turns, so both workers serve a share. */
    enum { CLIENTS = 4, TOTAL = 4000 };
    http_client *c[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        c[i] = http_client_new();
    int count[2] = {0, 0}, other = 0;
    struct http_req req = {.url = sluice_url(&s, "/v1/models")};
    for (int i = 0; i < TOTAL; i++) {
        struct http_resp r;
        long st = http_do(c[i % CLIENTS], &req, &r);
        int who = answered_by(&r, names, 2);
        if (st == 200 && who >= 0)
            count[who]++;
        else if (other++ < 3)
            CHECK_MSG_(0, "request %d: status %ld, curl %d %s", i, st, r.curl_code, r.error);
        http_resp_free(&r);
    }
    for (int i = 0; i < CLIENTS; i++)
        http_client_free(c[i]);
    printf("  heavy %d, light %d, other %d\n", count[0], count[1], other);
    CHECK_EQ_INT(other, 0);
    /* 3000 and 1000, each within 5% */
    CHECK_MSG_(count[0] >= 2850 && count[0] <= 3150, "heavy served %d of 4000", count[0]);
    CHECK_MSG_(count[1] >= 950 && count[1] <= 1050, "light served %d of 4000", count[1]);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    CHECK_EQ_INT(mock_stop(&heavy), 0);
    CHECK_EQ_INT(mock_stop(&light), 0);
}

static const char one_server_conf[] =
    SLUICE_GLOBAL_1W
    "frontends:\n"
    "  - name: api\n"
    "    bind: [\"127.0.0.1:@PORT@\"]\n"
    "    routes: [{backend: llm}]\n"
    "backends:\n"
    "  - name: llm\n"
    "    servers:\n"
    "      - {name: only, url: \"http://127.0.0.1:%d\"}\n";

static void pooling_1000_keep_alive_requests_open_a_handful_of_upstream_connections(void)
{
    struct mock m;
    START_MOCK(&m, "pooled");
    struct sluice s;
    REQUIRE(sluice_start(&s, one_server_conf, m.port));
    http_client *c = http_client_new();
    struct http_req req = {.url = sluice_url(&s, "/v1/models")};
    int ok = 0;
    for (int i = 0; i < 1000; i++) {
        struct http_resp r;
        ok += http_do(c, &req, &r) == 200;
        http_resp_free(&r);
    }
    http_client_free(c);
    CHECK_EQ_INT(ok, 1000);
    CHECK_EQ_INT(mock_stat(&m, "requests"), 1000);
    /* one pooled connection, plus the one this stats query came in on */
    int64_t accepted = mock_stat(&m, "connections_accepted");
    printf("  upstream connections accepted: %lld\n", (long long)accepted);
    CHECK_MSG_(accepted >= 1 && accepted <= 4, "connections_accepted = %lld", (long long)accepted);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    CHECK_EQ_INT(mock_stop(&m), 0);
}

static void pooling_outlives_client_connections(void)
{
    struct mock m;
    START_MOCK(&m, "pooled");
    struct sluice s;
    REQUIRE(sluice_start(&s, one_server_conf, m.port));
    int ok = 0;
    for (int i = 0; i < 300; i++) { /* a new client connection each time */
        struct http_resp r;
        ok += http_get(sluice_url(&s, "/v1/models"), &r) == 200;
        http_resp_free(&r);
    }
    CHECK_EQ_INT(ok, 300);
    int64_t accepted = mock_stat(&m, "connections_accepted");
    CHECK_MSG_(accepted >= 1 && accepted <= 4, "connections_accepted = %lld", (long long)accepted);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    CHECK_EQ_INT(mock_stop(&m), 0);
}

static void hash_on_x_user_pins_each_user_to_one_server_across_workers(void)
{
    struct mock m[3];
    static const char *const names[] = {"h0", "h1", "h2"};
    for (int i = 0; i < 3; i++)
        START_MOCK(&m[i], names[i]);
    struct sluice s;
    REQUIRE(sluice_start(&s,
        "global: {workers: 2, grace: 5s, log: {level: info, access: off}}\n"
        "frontends:\n"
        "  - name: api\n"
        "    bind: [\"127.0.0.1:@PORT@\"]\n"
        "    routes: [{backend: llm}]\n"
        "backends:\n"
        "  - name: llm\n"
        "    balance: hash\n"
        "    hash_key: header:x-user\n"
        "    servers:\n"
        "      - {name: h0, url: \"http://127.0.0.1:%d\"}\n"
        "      - {name: h1, url: \"http://127.0.0.1:%d\"}\n"
        "      - {name: h2, url: \"http://127.0.0.1:%d\"}\n",
        m[0].port, m[1].port, m[2].port));
    enum { USERS = 30, ROUNDS = 4 };
    int home[USERS], users_of[3] = {0, 0, 0};
    int moved = 0, failed = 0;
    char workers_seen[8][3] = {{0}};
    int nworkers = 0;
    for (int u = 0; u < USERS; u++)
        home[u] = -1;
    /* Rounds over all users, each request on a new connection, so a user's
     * requests land on either worker. */
    for (int round = 0; round < ROUNDS; round++) {
        for (int u = 0; u < USERS; u++) {
            char hdr[64];
            snprintf(hdr, sizeof hdr, "x-user: user-%d", u);
            const char *const hdrs[] = {hdr, NULL};
            struct http_req req = {.url = sluice_url(&s, "/v1/models"), .headers = hdrs};
            struct http_resp r;
            long st = http_do(NULL, &req, &r);
            int who = answered_by(&r, names, 3);
            char id[80];
            /* request ids carry the worker (see proxy/worker_state.c); only reported */
            if (http_header(&r, "x-request-id", id, sizeof id) && strlen(id) >= 10) {
                bool seen = false;
                for (int k = 0; k < nworkers; k++)
                    seen = seen || !memcmp(workers_seen[k], id + 8, 2);
                if (!seen && nworkers < 8)
                    memcpy(workers_seen[nworkers++], id + 8, 2);
            }
            http_resp_free(&r);
            if (st != 200 || who < 0) {
                failed++;
                continue;
            }
            if (home[u] < 0) {
                home[u] = who;
                users_of[who]++;
            } else if (home[u] != who) {
                moved++;
            }
        }
    }
    printf("  users per server: %d %d %d; workers seen: %d\n", users_of[0], users_of[1],
           users_of[2], nworkers);
    CHECK_EQ_INT(failed, 0);
    CHECK_EQ_INT(moved, 0);
    /* different users spread over the servers */
    for (int i = 0; i < 3; i++)
        CHECK_MSG_(users_of[i] >= 2, "server %s is home to %d of %d users", names[i],
                   users_of[i], USERS);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(mock_stop(&m[i]), 0);
}

TEST_MAIN(
    RUN(weights_3_and_1_split_traffic_3_to_1_over_keep_alive)
    RUN(pooling_1000_keep_alive_requests_open_a_handful_of_upstream_connections)
    RUN(pooling_outlives_client_connections)
    RUN(hash_on_x_user_pins_each_user_to_one_server_across_workers)
)
