/* log.h - the error log (stderr) and the access log (one line per request).
 *
 * The error log is for operators: levelled, timestamped, one line per event, and
 * never carries a secret (no header values, no request bodies, no query strings).
 * The access log is written by each worker into its own buffer and flushed once per
 * event-loop iteration (or when the buffer fills), so logging costs no system call
 * per request and needs no lock.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

void log_set_level(enum conf_log_level level);
void log_msg(enum conf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(CONF_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(CONF_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(CONF_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(CONF_LOG_DEBUG, __VA_ARGS__)

/* Where access lines go; opened once for the process (file: O_APPEND). */
struct access_log {
    int fd;                     /* -1: off */
    enum conf_log_format format;
};
/* Opens the target of `g`; false (with errno) when a file cannot be opened. */
bool access_log_open(struct access_log *al, const struct conf_global *g);
void access_log_close(struct access_log *al);

/* One request as the access log records it. Strings may be NULL. */
struct access_entry {
    double time;                /* wall clock at the end, seconds */
    const char *request_id, *client_ip;
    const char *frontend, *route, *backend, *server;
    const char *method;
    const char *path;           /* without the query (it may carry keys) */
    size_t path_len;
    int status;
    uint64_t bytes_in, bytes_out;
    double duration_ms, upstream_ms;    /* whole request; upstream until its first byte */
    uint32_t attempts;
    const char *error;          /* short reason when the gateway failed the request */
    const char *retries;        /* failed attempts before the last, "backend/server:what,..." */
};

/* A worker's buffer of access lines. */
struct access_buf {
    const struct access_log *log;
    char *p;
    size_t len, cap;
};
void access_buf_init(struct access_buf *b, const struct access_log *log);
void access_buf_add(struct access_buf *b, const struct access_entry *e);
void access_buf_flush(struct access_buf *b);
void access_buf_free(struct access_buf *b);

#endif
