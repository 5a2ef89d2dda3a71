/* sluice_fixture.c - see sluice_fixture.h. */
#include "sluice_fixture.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define START_ATTEMPTS 5
#define START_TIMEOUT_MS 15000
#define CONF_MAX (64u * 1024u)

int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Appends s[0..n) to out; false when it does not fit. */
static bool put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len + n + 1 > cap)
        return false;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
    return true;
}

/* The configuration with its placeholders filled in; *uses_port tells whether
 * @PORT@ appears (the frontend the fixture probes). */
static bool substitute(const struct sluice *s, const char *text, char *out, size_t cap,
                       bool *uses_port)
{
    size_t len = 0;
    char num[16];
    *uses_port = false;
    out[0] = '\0';
    for (const char *p = text; *p;) {
        const char *val = NULL;
        size_t skip = 0;
        if (!strncmp(p, "@PORT@", 6)) {
            snprintf(num, sizeof num, "%d", s->port);
            val = num, skip = 6, *uses_port = true;
        } else if (!strncmp(p, "@PORT2@", 7)) {
            snprintf(num, sizeof num, "%d", s->port2);
            val = num, skip = 7;
        } else if (!strncmp(p, "@ADMIN@", 7)) {
            snprintf(num, sizeof num, "%d", s->admin_port);
            val = num, skip = 7;
        } else if (!strncmp(p, "@DIR@", 5)) {
            val = s->dir, skip = 5;
        }
        if (val) {
            if (!put(out, cap, &len, val, strlen(val)))
                return false;
            p += skip;
        } else {
            if (!put(out, cap, &len, p, 1))
                return false;
            p++;
        }
    }
    return true;
}

static bool pick_ports(struct sluice *s)
{
    s->port = free_port();
    do
        s->port2 = free_port();
    while (s->port2 == s->port);
    do
        s->admin_port = free_port();
    while (s->admin_port == s->port || s->admin_port == s->port2);
    return s->port > 0 && s->port2 > 0 && s->admin_port > 0;
}

/* Connects to the frontend until it accepts (false when sluice exits first). */
static bool wait_accepting(proc *p, int port, int timeout_ms)
{
    double deadline = proc_now_ms() + timeout_ms;
    do {
        int fd = tcp_connect("127.0.0.1", port);
        if (fd >= 0) {
            close(fd);
            return true;
        }
        if (!proc_alive(p))
            return false;
        poll(NULL, 0, 1); /* polling interval */
    } while (proc_now_ms() < deadline);
    return false;
}

/* True once process pid catches `sig` (its handler is installed). */
static bool catches(pid_t pid, int sig)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    bool yes = false;
    if (!f)
        return false;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "SigCgt:", 7))
            yes = (strtoull(line + 7, NULL, 16) >> (sig - 1)) & 1u;
    fclose(f);
    return yes;
}

/* Waits until sluice handles SIGTERM; when that cannot be seen (no /proc, a
 * signalfd-based loop) it gives up after a while without failing. */
static void wait_stop_handler(struct sluice *s)
{
    double deadline = proc_now_ms() + 2000;
    while (!catches(proc_pid(s->p), SIGTERM) && proc_now_ms() < deadline && proc_alive(s->p))
        poll(NULL, 0, 1); /* polling interval */
}

enum start_result { STARTED, PORT_CLASH, FAILED };

static enum start_result try_start(struct sluice *s, unsigned flags, const char *bin, const char *text)
{
    char *conf = malloc(CONF_MAX);
    bool uses_port = false;
    if (!conf || !pick_ports(s) || !substitute(s, text, conf, CONF_MAX, &uses_port) ||
        !temp_file_write(s->dir, "sluice.yaml", conf, s->conf_path, sizeof s->conf_path)) {
        fprintf(stderr, "sluice_start: cannot write %s\n", s->conf_path);
        free(conf);
        return FAILED;
    }
    free(conf);
    char *argv[] = {(char *)(uintptr_t)bin, (char *)"-c", s->conf_path, NULL};
    struct proc_opts o = {.merge_stderr = true, .echo = true};
    s->p = proc_start(argv, &o);
    if (!s->p)
        return FAILED;
    double deadline = proc_now_ms() + START_TIMEOUT_MS;
    bool started = false;
    if ((flags & SLUICE_START_RAW) && uses_port) {
        if (wait_accepting(s->p, s->port, START_TIMEOUT_MS))
            return STARTED;
    } else {
        while (!started && proc_now_ms() < deadline) {
            started = proc_wait_output(s->p, "sluice started", 50);
            if (!started && !proc_alive(s->p))
                break;
        }
        if (started && (!uses_port || wait_accepting(s->p, s->port, 5000))) {
            wait_stop_handler(s);
            return STARTED;
        }
    }
    /* the whole log, up to its exit (wait_output returns at EOF) */
    bool clash = proc_wait_output(s->p, "cannot listen", 1000) ||
                 proc_wait_output(s->p, "Address already in use", 0);
    int status = proc_stop(s->p, 5000);
    s->p = NULL;
    if (!clash)
        fprintf(stderr, "sluice_start: sluice did not start (status %d)\n", status);
    return clash ? PORT_CLASH : FAILED;
}

bool sluice_start_ex(struct sluice *s, unsigned flags, const char *fmt, ...)
{
    memset(s, 0, sizeof *s);
    char bin[1024];
    if (!proc_sluice_bin(bin, sizeof bin)) {
        fprintf(stderr, "sluice not found (set SLUICE_BIN)\n");
        return false;
    }
    if (!temp_dir_create(s->dir, sizeof s->dir, "sluice-test"))
        return false;
    snprintf(s->conf_path, sizeof s->conf_path, "%s/sluice.yaml", s->dir);
    char *text = malloc(CONF_MAX);
    if (!text)
        return false;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, CONF_MAX, fmt, ap);
    va_end(ap);
    enum start_result r = FAILED;
    if (n > 0 && (size_t)n < CONF_MAX)
        for (int i = 0; i < START_ATTEMPTS; i++)
            if ((r = try_start(s, flags, bin, text)) != PORT_CLASH)
                break;
    free(text);
    return r == STARTED;
}

int sluice_stop_within(struct sluice *s, int timeout_ms)
{
    int status = -1;
    if (s->p) {
        status = proc_stop(s->p, timeout_ms > 0 ? timeout_ms : 15000);
        s->p = NULL;
        if (status != 0)
            fprintf(stderr, "sluice exited with status %d (see its log above)\n", status);
    }
    temp_dir_remove(s->dir);
    s->dir[0] = '\0';
    return status;
}

const char *sluice_url(struct sluice *s, const char *path)
{
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d%s", s->port, path);
    return s->url;
}

const char *sluice_admin_url(struct sluice *s, const char *path)
{
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d%s", s->admin_port, path);
    return s->url;
}

bool sluice_and_mocks_stopped(struct sluice *s, struct mock *m, ...)
{
    bool clean = sluice_stop(s) == 0;
    va_list ap;
    va_start(ap, m);
    for (; m; m = va_arg(ap, struct mock *)) {
        int status = mock_stop(m);
        if (status != 0)
            fprintf(stderr, "sluice-mock exited with status %d\n", status);
        clean = clean && status == 0;
    }
    va_end(ap);
    return clean;
}

char *sluice_read_file(struct sluice *s, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (f) {
        char chunk[8192];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
            if (len + n + 1 > cap) {
                cap = (len + n + 1) * 2;
                char *b = realloc(buf, cap);
                if (!b)
                    break;
                buf = b;
            }
            memcpy(buf + len, chunk, n);
            len += n;
        }
        fclose(f);
    }
    if (!buf)
        buf = calloc(1, 1);
    else
        buf[len] = '\0';
    return buf;
}

/* ---- raw HTTP ---- */

int http_status_of(const char *buf)
{
    if (strncmp(buf, "HTTP/1.", 7) != 0 || !buf[7] || buf[8] != ' ')
        return 0;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return 0;
        st = st * 10 + (buf[i] - '0');
    }
    return st;
}

const char *http_header_of(const char *buf, const char *name, char *out, size_t cap)
{
    const char *end = strstr(buf, "\r\n\r\n");
    size_t n = strlen(name);
    const char *line = strstr(buf, "\r\n");
    while (line && end && line < end) {
        line += 2;
        const char *eol = strstr(line, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - line) > n && line[n] == ':' && !strncasecmp(line, name, n)) {
            const char *v = line + n + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            snprintf(out, cap, "%.*s", (int)(ve - v), v);
            return out;
        }
        line = eol;
    }
    return NULL;
}

/* Chunked body at b[0..len): bytes through its last chunk and trailers, or 0. */
static size_t chunked_len(const char *b, size_t len)
{
    size_t i = 0;
    for (;;) {
        const char *eol = memmem(b + i, len - i, "\r\n", 2);
        if (!eol)
            return 0;
        char *e;
        unsigned long long size = strtoull(b + i, &e, 16);
        if (e == b + i)
            return 0;
        i = (size_t)(eol - b) + 2;
        if (size == 0)
            break;
        if (len - i < size + 2)
            return 0;
        i += (size_t)size + 2;
    }
    for (;;) { /* trailers, then the empty line */
        const char *eol = memmem(b + i, len - i, "\r\n", 2);
        if (!eol)
            return 0;
        bool empty = eol == b + i;
        i = (size_t)(eol - b) + 2;
        if (empty)
            return i;
    }
}

size_t http_response_len(const char *buf, size_t len, bool head_only)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - buf) + 4;
    char tmp[64];
    /* http_header_of needs a NUL-terminated head */
    char *h = malloc(head + 1);
    if (!h)
        return 0;
    memcpy(h, buf, head);
    h[head] = '\0';
    int st = http_status_of(h);
    size_t total = 0;
    if (head_only || (st >= 100 && st < 200) || st == 204 || st == 304) {
        total = head;
    } else if (http_header_of(h, "content-length", tmp, sizeof tmp)) {
        size_t cl = (size_t)strtoull(tmp, NULL, 10);
        total = len - head >= cl ? head + cl : 0;
    } else if (http_header_of(h, "transfer-encoding", tmp, sizeof tmp) &&
               strcasestr(tmp, "chunked")) {
        size_t c = chunked_len(buf + head, len - head);
        total = c ? head + c : 0;
    }
    free(h);
    return total;
}

static int complete_responses(const char *buf, size_t len, bool head_only)
{
    int n = 0;
    size_t off = 0, r;
    while (off < len && (r = http_response_len(buf + off, len - off, head_only)) > 0) {
        int st = http_status_of(buf + off);
        if (st < 100 || st >= 200) /* interim responses do not count */
            n++;
        off += r;
    }
    return n;
}

size_t tcp_read_responses(int fd, char *buf, size_t cap, int n, bool head_only, int timeout_ms)
{
    double deadline = proc_now_ms() + timeout_ms;
    size_t len = 0;
    buf[0] = '\0';
    while (len + 1 < cap && complete_responses(buf, len, head_only) < n) {
        int left = (int)(deadline - proc_now_ms());
        struct pollfd pfd = {fd, POLLIN, 0};
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            break;
        ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
    }
    return len;
}

size_t sluice_raw(struct sluice *s, const char *req, size_t len, char *buf, size_t cap,
                  int timeout_ms, bool *closed)
{
    bool c = false;
    buf[0] = '\0';
    int fd = tcp_connect("127.0.0.1", s->port);
    if (fd < 0) {
        if (closed)
            *closed = false;
        return 0;
    }
    tcp_send_all(fd, req, len ? len : strlen(req));
    size_t n = tcp_read_until_close(fd, buf, cap, timeout_ms, &c);
    close(fd);
    if (closed)
        *closed = c;
    return n;
}

bool is_openai_error(const char *body, char *code, size_t cap)
{
    json_doc d;
    json_token t[32];
    if (!body || json_parse(&d, body, strlen(body), t, 32, 0) != JSON_OK ||
        json_type(&d, 0) != JSON_OBJECT)
        return false;
    int e = json_find(&d, 0, "error");
    if (json_type(&d, e) != JSON_OBJECT)
        return false;
    static const char *const keys[] = {"message", "type", "code"};
    for (int i = 0; i < 3; i++) {
        int v = json_find(&d, e, keys[i]);
        if (json_type(&d, v) != JSON_STRING || json_str_len(&d, v) == 0)
            return false;
    }
    if (code && cap)
        json_str_decode(&d, json_find(&d, e, "code"), code, cap, NULL);
    return true;
}

/* ---- plugins and `sluice -t` ---- */

const char *sluice_plugin_dir(void)
{
    static char dir[512];
    const char *b = proc_env("SLUICE_BUILD_DIR");
    snprintf(dir, sizeof dir, "%s/plugins", b ? b : ".");
    return dir;
}

const char *sluice_test_plugin(const char *name)
{
    static char path[4][640];
    static unsigned n;
    char *p = path[n++ % 4];
    const char *b = proc_env("SLUICE_BUILD_DIR");
    snprintf(p, sizeof path[0], "%s/tests/plugins/%s.so", b ? b : ".", name);
    return p;
}

int sluice_check_config(const char *text, struct proc_result *r, char *path, size_t cap)
{
    char dir[128];
    memset(r, 0, sizeof *r);
    path[0] = '\0';
    if (!temp_dir_create(dir, sizeof dir, "sluice-check") ||
        !temp_file_write(dir, "sluice.yaml", text, path, cap)) {
        temp_dir_remove(dir);
        r->status = -1;
        r->out = calloc(1, 1);
        r->err = calloc(1, 1);
        return -1;
    }
    int status = proc_run_sluice(r, NULL, "-t", "-c", path, NULL);
    temp_dir_remove(dir);
    return status;
}

bool sluice_config_error_at(const char *text, const char *want)
{
    struct proc_result r;
    char path[256], expect[1024];
    int status = sluice_check_config(text, &r, path, sizeof path);
    snprintf(expect, sizeof expect, "%s:%s", path, want);
    bool ok = status == 1 && strstr(r.err, expect) != NULL;
    if (!ok)
        printf("  sluice -t: status %d (want 1), stderr \"%s\" (want \"%s\")\n", status, r.err,
               expect);
    proc_result_free(&r);
    return ok;
}

long long sluice_metric_sum(const char *body, const char *name)
{
    long long sum = -1;
    size_t n = strlen(name);
    for (const char *l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, name, n) != 0 || (l[n] != ' ' && l[n] != '{'))
            continue;
        const char *v = l + n;
        if (*v == '{')
            v = strchr(v, '}') ? strchr(v, '}') + 1 : v;
        sum = (sum < 0 ? 0 : sum) + strtoll(v, NULL, 10);
    }
    return sum;
}

void sluice_spread(struct sluice *s, const char *path, int n, const char *const *names, int *count, int k,
                   int *failed)
{
    for (int i = 0; i < n; i++) {
        struct http_resp r;
        long st = http_get(sluice_url(s, path), &r);
        char v[64];
        bool known = false;
        if (st == 200 && http_header(&r, "x-mock-server", v, sizeof v))
            for (int j = 0; j < k; j++)
                if (!strcmp(v, names[j])) {
                    count[j]++;
                    known = true;
                }
        if (!known) {
            (*failed)++;
            printf("  request %d to %s: status %ld, %s\n", i, path, st, r.body ? r.body : "");
        }
        http_resp_free(&r);
    }
}

/* ---- /metrics ---- */

/* True when the label set labels ("k1=\"v1\",k2=\"v2\"") holds every pair in want
 * (the same form, a comma-separated list). */
static bool labels_hold(const char *labels, size_t len, const char *want)
{
    while (*want) {
        size_t n = strcspn(want, ",");
        bool found = false;
        for (const char *p = labels; p + n <= labels + len && !found; p++)
            found = (p == labels || p[-1] == ',') && !strncmp(p, want, n) &&
                    (p + n == labels + len || p[n] == ',');
        if (!found)
            return false;
        want += n + (want[n] == ',');
    }
    return true;
}

/* The value of metric name's sample whose labels include want, or -1. */
long long sluice_metric_value(const char *body, const char *name, const char *want)
{
    size_t nl = strlen(name);
    for (const char *line = body; *line;) {
        const char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        if (!strncmp(line, name, nl) && line[nl] == '{') {
            const char *lb = line + nl + 1, *rb = memchr(lb, '}', (size_t)(end - lb));
            if (rb && labels_hold(lb, (size_t)(rb - lb), want))
                return strtoll(rb + 1, NULL, 10);
        }
        line = *end ? end + 1 : end;
    }
    return -1;
}

/* One sample of /metrics, or -1 when /metrics did not answer. */
long long sluice_metric(struct sluice *s, const char *name, const char *want)
{
    struct http_resp r;
    long long v = -1;
    if (http_get(sluice_admin_url(s, "/metrics"), &r) == 200)
        v = sluice_metric_value(r.body, name, want);
    http_resp_free(&r);
    return v;
}

/* Polls /metrics until the sample reaches at least want (exactly want when exact). */
bool sluice_wait_metric(struct sluice *s, const char *name, const char *want_labels, long long want,
                        bool exact, int timeout_ms)
{
    double deadline = proc_now_ms() + timeout_ms;
    long long got;
    do {
        got = sluice_metric(s, name, want_labels);
        if (exact ? got == want : got >= want)
            return true;
        poll(NULL, 0, 20); /* polling interval */
    } while (proc_now_ms() < deadline && proc_alive(s->p));
    printf("  %s{%s} = %lld, want %s%lld\n", name, want_labels, got, exact ? "" : ">= ", want);
    return false;
}
