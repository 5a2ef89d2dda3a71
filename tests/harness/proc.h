/* proc.h - child processes for integration tests: start servers (sluice, mocks),
 * wait for what they print, stop them, and run commands to completion.
 *
 * Every child is registered; an atexit handler kills whatever is still running, and
 * children also get SIGKILL from the kernel if the test process dies (a crash, a
 * ctest timeout), so a failing test never leaves servers behind.
 *
 * Status convention: exit code 0..255, 128 + N when killed by signal N, -1 when it
 * could not be started, waited for, or did not finish in time.
 */
#ifndef SLUICE_TEST_PROC_H
#define SLUICE_TEST_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct proc_opts {
    const char *const *env; /* "NAME=VALUE" added to (or replacing in) the environment;
                               NULL-terminated; NULL for none */
    const char *cwd;        /* working directory, NULL = inherit */
    bool merge_stderr;      /* stderr into the captured stdout (to wait on log lines) */
    bool echo;              /* copy the child's captured output to our stderr, prefixed
                               with its program name (also on when SLUICE_TEST_VERBOSE
                               is set) */
};

/* A running child whose stdout is read continuously by a background thread, so a
 * chatty child can never block on a full pipe. */
typedef struct proc proc;

/* Start argv[0] (a path; PATH is searched when it has no '/'), stdin from
 * /dev/null. NULL when it could not be started (the reason printed). */
proc *proc_start(char *const argv[], const struct proc_opts *opts);

pid_t proc_pid(const proc *p);

/* Wait up to timeout_ms for a line of output starting with prefix. Lines are taken
 * in order: lines before the match are consumed, so successive calls find successive
 * lines. Copies the line (without newline) into line[0..cap) when line is not NULL.
 * False on timeout, or when the child exits or closes stdout first. */
bool proc_wait_line(proc *p, const char *prefix, int timeout_ms, char *line, size_t cap);

/* Wait until the output printed since start contains needle (anywhere, not
 * consuming lines). For log messages. */
bool proc_wait_output(proc *p, const char *needle, int timeout_ms);

/* Wait for a "... listening on HOST:PORT" line (sluice-mock's start-up line) and
 * parse it; HOST loses IPv6 brackets. */
bool proc_wait_listening(proc *p, int timeout_ms, char *host, size_t host_cap,
                         int *port);

/* Parse "HOST:PORT" after "listening on " in line. */
bool proc_parse_listening(const char *line, char *host, size_t host_cap, int *port);

/* Send a signal; false when the child is already reaped. */
bool proc_signal(proc *p, int sig);

/* True while the child runs (reaps it when it has exited). */
bool proc_alive(proc *p);

/* Wait up to timeout_ms for the child to exit by itself; its status, or -1. */
int proc_wait_exit(proc *p, int timeout_ms);

/* SIGTERM, wait up to timeout_ms, then SIGKILL; frees p. Returns the status. */
int proc_stop(proc *p, int timeout_ms);

/* Kill (SIGKILL) and reap every child still registered. Runs at exit by itself. */
void proc_kill_all(void);

/* ---- run to completion ---- */

struct proc_result {
    int status;  /* see the status convention above */
    char *out;   /* captured stdout, NUL-terminated, malloc'd (never NULL on return) */
    char *err;   /* captured stderr, likewise */
    size_t out_len, err_len;
    bool timed_out;
};

/* Run argv to completion with a timeout (the child is killed when it runs over),
 * capturing stdout and stderr. Returns r->status. */
int proc_run(char *const argv[], const struct proc_opts *opts, int timeout_ms,
             struct proc_result *r);
void proc_result_free(struct proc_result *r);

/* ---- environment ---- */

/* getenv() that treats empty as unset. */
const char *proc_env(const char *name);

/* SLUICE_MOCK_BIN, or the build tree's tools/mock/sluice-mock via SLUICE_BUILD_DIR,
 * written to buf; NULL when neither names an executable. */
const char *proc_mock_bin(char *buf, size_t cap);

/* SLUICE_BIN, or the build tree's core/sluice via SLUICE_BUILD_DIR, likewise. */
const char *proc_sluice_bin(char *buf, size_t cap);

/* Run `sluice ARG...` (a NULL-terminated list) to completion within 10 s, with
 * opts (NULL for none). Returns r->status; -1, with empty output, when there is
 * no sluice to run. */
int proc_run_sluice(struct proc_result *r, const struct proc_opts *opts, ...)
    __attribute__((sentinel));

/* Milliseconds on a monotonic clock. */
double proc_now_ms(void);

/* ---- temporary files ---- */

/* Create a private directory /tmp/PREFIX-XXXXXX, its name in dir[0..cap). */
bool temp_dir_create(char *dir, size_t cap, const char *prefix);

/* Write text to DIR/NAME; the path goes to path[0..cap) and is returned, NULL when
 * the file could not be written. */
const char *temp_file_write(const char *dir, const char *name, const char *text, char *path,
                            size_t cap);

/* Remove dir and the files in it (not subdirectories); nothing when dir is "". */
void temp_dir_remove(const char *dir);

#endif
