/* plugin_chain_fixture.h - what the test_plugin_chain_*.c tests share: sluice runs
 * the probe plugin (tests/plugins/probe) as frontend, route and backend filters in
 * front of one or two sluice-mocks, and each test checks what the client and the
 * upstream (/mock/echo) saw. What no response can show (on_end, on_attempt) the
 * probe counts in the local store; GET /probe/counters?k=KEY reads it back through
 * the same chain. */
#ifndef SLUICE_TEST_PLUGIN_CHAIN_FIXTURE_H
#define SLUICE_TEST_PLUGIN_CHAIN_FIXTURE_H

#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

/* ---- configuration pieces: %1$s is probe.so, %2$d and %3$d mock ports ---- */

#define P(cfg) "{plugin: \"%1$s\", config: {" cfg "}}"
#define FRONT(filters)                                                        \
    SLUICE_GLOBAL_1W "frontends:\n"                                           \
                     "  - name: api\n"                                        \
                     "    bind: [\"127.0.0.1:@PORT@\"]\n"                     \
                     "    filters: [" filters "]\n"                           \
                     "    routes:\n"
/* A route to backend b, with route filters. */
#define ROUTE(name, prefix, backend, filters)                                 \
    "      - {name: " name ", match: {path_prefix: \"" prefix "\"}, backend: " backend \
    ", filters: [" filters "]}\n"
#define ECHO_BACKEND(name, filters)                                           \
    "  - name: " name "\n"                                                    \
    "    servers: [{name: s1, url: \"http://127.0.0.1:%2$d/mock/echo\"}]\n"   \
    "    filters: [" filters "]\n"

/* The probe plugin's path. */
const char *probe_so(void);

struct env {
    struct mock m1, m2;
    struct sluice s;
    bool two;
};

/* Starts one or two mocks (false, printed, when probe.so was not built). */
bool start_mocks(struct env *e, bool two_mocks);

/* Returns ok; stops the mocks when it is false. */
bool started(struct env *e, bool ok);

/* sluice with conf (a literal, so its format is checked) in front of one or two mocks. */
#define UP(e, conf)                                                             \
    REQUIRE(start_mocks((e), false) &&                                          \
            started((e), sluice_start(&(e)->s, conf, probe_so(), (e)->m1.port)))
#define UP2(e, conf)                                                            \
    REQUIRE(start_mocks((e), true) &&                                           \
            started((e), sluice_start(&(e)->s, conf, probe_so(), (e)->m1.port, (e)->m2.port)))

/* Stops sluice and the mocks; each must exit cleanly. */
#define DOWN(e) CHECK(sluice_and_mocks_stopped(&(e)->s, &(e)->m1, (e)->two ? &(e)->m2 : NULL, NULL))

/* ---- requests and what came back ---- */

long req(struct env *e, const char *method, const char *path, const char *const *hdrs,
         const char *body, size_t body_len, struct http_resp *r);
long get(struct env *e, const char *path, struct http_resp *r);

/* A response header, or "" (static buffer: one at a time). */
const char *hdr(const struct http_resp *r, const char *name);

#define MOCK_REQUESTS(m) mock_stat((m), "requests")

/* ---- the probe's counters and traces ---- */

/* Counter key of the probe's store, or -1. */
long long counter(struct env *e, const char *key);

/* Polls until counter key reaches want (on_end runs after the response left). */
long long wait_counter(struct env *e, const char *key, long long want, int timeout_ms);

#define CHECK_COUNTER(e, key, want) CHECK_EQ_INT(wait_counter((e), (key), (want), 3000), (want))

/* The trace filter TAG kept at its on_end (probe:TAG:trace), malloc'd; waits up
 * to 3 s for it to contain must_contain. */
char *end_trace(struct env *e, const char *tag, const char *must_contain);

/* The trace without entries of `hook` (a streamed or empty body may or may not
 * call on_request_body; the order of the other hooks is fixed). */
void strip_hook(char *trace, const char *hook);

#endif
