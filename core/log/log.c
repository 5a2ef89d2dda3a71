/* log.c - error log and access log, see log.h. */
#include "log/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json/json.h"

static _Atomic int min_level = CONF_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum conf_log_level level)
{
    min_level = (int)level;
}

void log_msg(enum conf_log_level level, const char *fmt, ...)
{
    if ((int)level < min_level)
        return;
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                     level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    /* One write() per line keeps lines whole across threads. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

bool access_log_open(struct access_log *al, const struct conf_global *g)
{
    al->format = g->log_format;
    switch (g->access) {
    case CONF_ACCESS_OFF:
        al->fd = -1;
        return true;
    case CONF_ACCESS_STDOUT:
        al->fd = STDOUT_FILENO;
        return true;
    case CONF_ACCESS_STDERR:
        al->fd = STDERR_FILENO;
        return true;
    case CONF_ACCESS_FILE:
        al->fd = open(g->access_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        return al->fd >= 0;
    }
    return false;
}

void access_log_close(struct access_log *al)
{
    if (al->fd > STDERR_FILENO)
        close(al->fd);
    al->fd = -1;
}

#define ACCESS_BUF_CAP (64u * 1024u)
#define ACCESS_FLUSH_AT (48u * 1024u)

void access_buf_init(struct access_buf *b, const struct access_log *log)
{
    b->log = log;
    b->p = NULL;
    b->len = b->cap = 0;
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static size_t format_json(char *out, size_t cap, const struct access_entry *e)
{
    json_writer w;
    json_w_init(&w, out, cap);
    json_w_obj_begin(&w);
    char num[32];
    int n = snprintf(num, sizeof num, "%.3f", e->time);
    json_w_key(&w, "time");
    json_w_raw(&w, num, (size_t)n);
    json_w_key(&w, "request_id");
    json_w_str(&w, or_dash(e->request_id));
    json_w_key(&w, "client");
    json_w_str(&w, or_dash(e->client_ip));
    json_w_key(&w, "frontend");
    json_w_str(&w, or_dash(e->frontend));
    json_w_key(&w, "route");
    json_w_str(&w, or_dash(e->route));
    json_w_key(&w, "backend");
    json_w_str(&w, or_dash(e->backend));
    json_w_key(&w, "server");
    json_w_str(&w, or_dash(e->server));
    json_w_key(&w, "method");
    json_w_str(&w, or_dash(e->method));
    json_w_key(&w, "path");
    json_w_str_n(&w, e->path ? e->path : "", e->path ? e->path_len : 0);
    json_w_key(&w, "status");
    json_w_int(&w, e->status);
    json_w_key(&w, "bytes_in");
    json_w_uint(&w, e->bytes_in);
    json_w_key(&w, "bytes_out");
    json_w_uint(&w, e->bytes_out);
    n = snprintf(num, sizeof num, "%.3f", e->duration_ms);
    json_w_key(&w, "duration_ms");
    json_w_raw(&w, num, (size_t)n);
    n = snprintf(num, sizeof num, "%.3f", e->upstream_ms);
    json_w_key(&w, "upstream_ms");
    json_w_raw(&w, num, (size_t)n);
    json_w_key(&w, "attempts");
    json_w_uint(&w, e->attempts);
    if (e->error) {
        json_w_key(&w, "error");
        json_w_str(&w, e->error);
    }
    if (e->retries) {
        json_w_key(&w, "retries");
        json_w_str(&w, e->retries);
    }
    json_w_obj_end(&w);
    size_t len = 0;
    return json_w_finish(&w, &len) == JSON_OK ? len : 0;
}

/* Text: space-separated fields; the path is the only free-form one and has its
 * spaces and controls %-escaped. */
static size_t format_text(char *out, size_t cap, const struct access_entry *e)
{
    char path[512];
    size_t pl = 0;
    for (size_t i = 0; e->path && i < e->path_len && pl + 4 < sizeof path; i++) {
        unsigned char ch = (unsigned char)e->path[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '"')
            pl += (size_t)snprintf(path + pl, sizeof path - pl, "%%%02X", ch);
        else
            path[pl++] = (char)ch;
    }
    path[pl] = '\0';
    int n = snprintf(out, cap, "%.3f %s %s %s %s %s %s %s \"%s\" %d %llu %llu %.3fms %.3fms %u%s%s%s%s\n",
                     e->time, or_dash(e->request_id), or_dash(e->client_ip), or_dash(e->frontend),
                     or_dash(e->route), or_dash(e->backend), or_dash(e->server), or_dash(e->method),
                     pl ? path : "-", e->status, (unsigned long long)e->bytes_in,
                     (unsigned long long)e->bytes_out, e->duration_ms, e->upstream_ms, e->attempts,
                     e->error ? " error=" : "", e->error ? e->error : "", e->retries ? " retries=" : "",
                     e->retries ? e->retries : "");
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

void access_buf_add(struct access_buf *b, const struct access_entry *e)
{
    if (!b->log || b->log->fd < 0)
        return;
    if (!b->p) {
        b->p = malloc(ACCESS_BUF_CAP);
        if (!b->p)
            return;
        b->cap = ACCESS_BUF_CAP;
    }
    if (b->cap - b->len < 2048)
        access_buf_flush(b);
    size_t n;
    if (b->log->format == CONF_LOG_JSON) {
        n = format_json(b->p + b->len, b->cap - b->len - 1, e);
        if (n)
            b->p[b->len + n++] = '\n';
    } else {
        n = format_text(b->p + b->len, b->cap - b->len, e);
    }
    b->len += n;
    if (b->len >= ACCESS_FLUSH_AT)
        access_buf_flush(b);
}

void access_buf_flush(struct access_buf *b)
{
    size_t off = 0;
    while (b->log && b->log->fd >= 0 && off < b->len) {
        ssize_t w = write(b->log->fd, b->p + off, b->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* a broken log target loses lines, never requests */
        off += (size_t)w;
    }
    b->len = 0;
}

void access_buf_free(struct access_buf *b)
{
    access_buf_flush(b);
    free(b->p);
    b->p = NULL;
    b->cap = 0;
}
