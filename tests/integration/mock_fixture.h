/* mock_fixture.h - start and query sluice-mock from integration tests. */
#ifndef SLUICE_TEST_MOCK_FIXTURE_H
#define SLUICE_TEST_MOCK_FIXTURE_H

#include "http.h"
#include "json/json.h"
#include "proc.h"

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

/* SIGTERM; returns the exit status (0 when it shut down cleanly, leak-free under
 * the sanitizers). */
int mock_stop(struct mock *m);

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

#endif
