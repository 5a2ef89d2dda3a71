/* sluice_fixture.h - start sluice from integration tests, and the raw-HTTP helpers
 * the proxy tests share.
 *
 * A test writes its configuration as text with placeholders the fixture fills in:
 *
 *     @PORT@   a free port for the first frontend (s->port)
 *     @PORT2@  another free port (s->port2), for a second frontend or bind
 *     @ADMIN@  another free port (s->admin_port), for the admin listener
 *     @DIR@    a private temporary directory (s->dir), for access logs and the like
 *
 * sluice_start() formats the text (printf-style, for the mocks' ports), picks the
 * ports, writes the file into @DIR@, runs `$SLUICE_BIN -c FILE` and returns once
 * sluice has logged `sluice started` and the frontend port accepts connections.
 * Ports are picked by binding port 0 and closing; when sluice then cannot listen
 * (another process took the port meanwhile) it is started again with new ports.
 *
 * sluice's log (stderr, merged into the captured stdout) is copied to the test's
 * stderr prefixed with [sluice], so a failing test shows it (ctest
 * --output-on-failure); an ASan leak report at exit lands there too.
 */
#ifndef SLUICE_TEST_SLUICE_FIXTURE_H
#define SLUICE_TEST_SLUICE_FIXTURE_H

#include "http.h"
#include "json/json.h"
#include "mock_fixture.h"
#include "proc.h"

#include <stdbool.h>
#include <stddef.h>

struct sluice {
    proc *p;
    int port, port2, admin_port;
    char dir[128];
    char conf_path[192];
    char url[512];          /* last sluice_url() result */
};

/* The usual head of a test configuration: one worker, a short grace, no access
 * log, a terse error log. Tests that need other values write their own global. */
#define SLUICE_GLOBAL_1W                                                        \
    "global:\n"                                                                 \
    "  workers: 1\n"                                                            \
    "  grace: 5s\n"                                                             \
    "  log: {level: info, access: off}\n"

/* Routes every path under /v1/ to backend llm; its server list comes next (the
 * one route most proxy tests need). */
#define SLUICE_V1_TO_LLM                                                        \
    "    routes:\n"                                                             \
    "      - match: {path_prefix: /v1/}\n"                                      \
    "        backend: llm\n"                                                    \
    "backends:\n"                                                               \
    "  - name: llm\n"                                                           \
    "    servers:\n"

/* Start sluice with the configuration fmt (printf format, then placeholders).
 * False (with the reason printed) when it did not come up within 15 s.
 *
 * Ready means more than `sluice started` and an accepting port: the fixture also
 * waits until sluice catches SIGTERM (SigCgt in /proc/PID/status), so that no test
 * depends on when sluice installs its stop handlers (a SIGTERM before that kills
 * it with status 143). The one test about that window,
 * sigterm_as_soon_as_the_port_accepts_stops_cleanly, passes SLUICE_START_RAW to
 * sluice_start_ex: it returns as soon as the port accepts. */
#define SLUICE_START_RAW 0x1u /* return as soon as the port accepts */
bool sluice_start_ex(struct sluice *s, unsigned flags, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define sluice_start(s, ...) sluice_start_ex((s), 0, __VA_ARGS__)

/* SIGTERM and wait up to timeout_ms (0: 15 s) for the exit; returns the status (0
 * when sluice stopped cleanly and, under the sanitizers, leak-free; -1 when it had
 * to be killed). Removes @DIR@ and everything in it. */
int sluice_stop_within(struct sluice *s, int timeout_ms);
#define sluice_stop(s) sluice_stop_within((s), 0)

/* http://127.0.0.1:PORT + path (the first frontend), in s->url. */
const char *sluice_url(struct sluice *s, const char *path);

/* http://127.0.0.1:ADMIN + path (the admin listener), in s->url. */
const char *sluice_admin_url(struct sluice *s, const char *path);

/* Stops sluice and the mocks (a NULL-terminated list); true when all of them
 * exited cleanly (status 0), otherwise the failures are printed. */
bool sluice_and_mocks_stopped(struct sluice *s, struct mock *m, ...) __attribute__((sentinel));

/* Contents of file `name` in @DIR@, malloc'd and NUL-terminated ("" when absent;
 * never NULL). */
char *sluice_read_file(struct sluice *s, const char *name);

/* Sends n GETs to path on the first frontend and counts the answers per
 * x-mock-server name in names[0..k) into count[]; anything else (an error, an
 * unknown name) is added to *failed and printed. */
void sluice_spread(struct sluice *s, const char *path, int n, const char *const *names, int *count, int k,
                   int *failed);

/* A port nothing listens on (bound once by us, then closed). */
int free_port(void);

/* ---- plugins and `sluice -t` ---- */

/* The bundled plugins' directory, $SLUICE_BUILD_DIR/plugins (for plugin_path). */
const char *sluice_plugin_dir(void);

/* $SLUICE_BUILD_DIR/tests/plugins/NAME.so, a test plugin or ABI fixture (a static
 * buffer of four in turn: valid for the next three calls). */
const char *sluice_test_plugin(const char *name);

/* `sluice -t -c FILE` on configuration text, FILE being a new file in a private
 * temporary directory (removed again). Returns the exit status (-1 when FILE could
 * not be written); r gets the output and path[0..cap) FILE's path, for located
 * messages "FILE:LINE:COL: ...". */
int sluice_check_config(const char *text, struct proc_result *r, char *path, size_t cap);

/* True when `sluice -t` on text exits 1 and its stderr contains "FILE:" + want
 * (FILE as above, want usually "LINE:COL: message"); otherwise prints what sluice
 * said instead. */
bool sluice_config_error_at(const char *text, const char *want);

/* The sum of metric name's samples (any labels) in a Prometheus text body such as
 * /metrics returns, or -1 when it has none. */
long long sluice_metric_sum(const char *body, const char *name);

/* The value of metric name's sample whose labels include every pair of want
 * ("k1=\"v1\",k2=\"v2\"", "" for any) in a /metrics body, or -1. */
long long sluice_metric_value(const char *body, const char *name, const char *want);

/* The same from sluice's /metrics now; -1 when it did not answer. */
long long sluice_metric(struct sluice *s, const char *name, const char *want);

/* Polls /metrics until the sample reaches want (exactly, when exact), up to
 * timeout_ms; false (with the last value printed) otherwise. */
bool sluice_wait_metric(struct sluice *s, const char *name, const char *want, long long value, bool exact,
                        int timeout_ms);

/* ---- raw HTTP on a socket ---- */

/* Bytes needed for the first complete response in buf[0..len): its head plus a
 * content-length body, or a chunked body through its last chunk. 0 while it is
 * incomplete or its end is the connection's close. head_only: the response to a
 * HEAD request (no body whatever the headers say). */
size_t http_response_len(const char *buf, size_t len, bool head_only);

/* Read until buf holds n complete responses (see http_response_len), the peer
 * closes, or timeout_ms passes. Returns the byte count (buf NUL-terminated). */
size_t tcp_read_responses(int fd, char *buf, size_t cap, int n, bool head_only, int timeout_ms);

/* Connect to the first frontend, send req[0..len) (len 0: strlen), read until the
 * connection closes or timeout_ms passes. Returns bytes read; *closed tells
 * whether sluice closed the connection. */
size_t sluice_raw(struct sluice *s, const char *req, size_t len, char *buf, size_t cap,
                  int timeout_ms, bool *closed);

/* Status code of the first response in buf, or 0. */
int http_status_of(const char *buf);

/* Value of header name in the first response head in buf (case-insensitive), copied
 * to out; NULL when absent. */
const char *http_header_of(const char *buf, const char *name, char *out, size_t cap);

/* The body of a gateway error: {"error": {"message", "type", "code"}} with three
 * non-empty strings. Writes the code into code[0..cap) when code is not NULL. */
bool is_openai_error(const char *body, char *code, size_t cap);

#endif
