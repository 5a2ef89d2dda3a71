/* mock_fixture.h - start and query sluice-mock from integration tests. */
#ifndef SLUICE_TEST_MOCK_FIXTURE_H
#define SLUICE_TEST_MOCK_FIXTURE_H

#include "http.h"
#include "json/json.h"
#include "proc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mock {
    proc *p;
    char host[64];
    int port;
    char url[512]; /* last mock_url() result */
};

/* Start sluice-mock on a free port with --name name and extra arguments (NULL-
 * terminated list after name). False when it did not come up within 10 s. */
bool mock_start(struct mock *m, const char *name, ...);

/* mock_start in a test function (needs harness.h): returns from the test when the
 * mock does not come up. Extra arguments after the name, as for mock_start. */
#define START_MOCK(m, ...) REQUIRE(mock_start((m), __VA_ARGS__, NULL))

/* SIGTERM; returns the exit status (0 when it shut down cleanly, leak-free under
 * the sanitizers). */
int mock_stop(struct mock *m);

/* Returns ok; when it is false, stops the mocks (a NULL-terminated list): for a
 * setup whose next step (usually sluice_start) failed after its mocks started. */
bool mock_stop_on_failure(bool ok, struct mock *m, ...) __attribute__((sentinel));

/* http://HOST:PORT + path, in m->url (valid until the next call). */
const char *mock_url(struct mock *m, const char *path);

/* Parse body into d with toks[0..cap); false when it is not JSON. */
bool json_load(json_doc *d, json_token *toks, size_t cap, const char *body);

/* Integer member key of object obj, or INT64_MIN when absent or not an integer. */
int64_t json_int(const json_doc *d, int obj, const char *key);

/* Member key of /mock/stats, or -1. */
int64_t mock_stat(struct mock *m, const char *key);

/* Poll /mock/stats until key == want or timeout_ms passes. */
bool mock_wait_stat(struct mock *m, const char *key, int64_t want, int timeout_ms);

/* ---- /mock/echo's answer: the request as the upstream received it ---- */

#define MOCK_ECHO_TOKENS 1024

struct mock_echo {
    json_doc d;
    json_token t[MOCK_ECHO_TOKENS];
    bool ok; /* body was an echo (a JSON object) */
};

/* Parse body into e; false (with the body printed) when it is not an echo. */
bool mock_echo_load(struct mock_echo *e, const char *body);

/* A string member of the echo ("method", "path", "body"), malloc'd; "" when
 * absent. Its length into *len when len is not NULL. */
char *mock_echo_str(struct mock_echo *e, const char *key, size_t *len);

/* How often the upstream received header name (any case), the first value copied
 * to out[0..cap) when out is not NULL; -1 when e holds no echo. */
int mock_echo_header(struct mock_echo *e, const char *name, char *out, size_t cap);

#endif
