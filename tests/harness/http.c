/* http.c - libcurl client, SSE splitter and raw TCP helpers (see http.h). */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct http_client {
    CURL *h;
};

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double epoch_ms;

double http_elapsed_ms(void)
{
    return mono_ms() - epoch_ms;
}

static void global_init(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    epoch_ms = mono_ms();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    atexit(curl_global_cleanup);
}

http_client *http_client_new(void)
{
    global_init();
    http_client *c = calloc(1, sizeof *c);
    if (c && !(c->h = curl_easy_init())) {
        free(c);
        return NULL;
    }
    return c;
}

void http_client_free(http_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->h);
    free(c);
}

struct growbuf {
    char *p;
    size_t len, cap;
};

static bool grow_append(struct growbuf *g, const char *s, size_t n)
{
    if (g->len + n + 1 > g->cap) {
        size_t cap = (g->len + n + 1) * 2;
        char *p = realloc(g->p, cap);
        if (!p)
            return false;
        g->p = p;
        g->cap = cap;
    }
    memcpy(g->p + g->len, s, n);
    g->len += n;
    g->p[g->len] = '\0';
    return true;
}

struct xfer {
    const struct http_req *req;
    struct growbuf body, headers;
    double start;
    bool aborted;
};

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (!grow_append(&x->body, data, n))
        return 0;
    if (x->req->on_chunk &&
        !x->req->on_chunk(x->req->ud, data, n, mono_ms() - x->start)) {
        x->aborted = true;
        return 0;
    }
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0)
        x->headers.len = 0; /* keep only the final response's headers */
    return grow_append(&x->headers, data, n) ? n : 0;
}

static void setup(CURL *h, const struct http_req *req, struct xfer *x,
                  struct curl_slist *hdrs)
{
    const char *method = req->method ? req->method : req->body ? "POST" : "GET";
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms ? req->timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (req->body) {
        size_t n = req->body_len ? req->body_len : strlen(req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    }
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0 || req->body)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    else
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
}

long http_do(http_client *c, const struct http_req *req, struct http_resp *resp)
{
    global_init();
    memset(resp, 0, sizeof *resp);
    struct xfer x;
    memset(&x, 0, sizeof x);
    x.req = req;
    CURL *h = c ? c->h : curl_easy_init();
    struct curl_slist *hdrs = NULL;
    for (size_t i = 0; req->headers && req->headers[i]; i++)
        hdrs = curl_slist_append(hdrs, req->headers[i]);
    if (c)
        curl_easy_reset(h); /* options only: the live connection is kept */
    setup(h, req, &x, hdrs);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    x.start = mono_ms();
    CURLcode rc = curl_easy_perform(h);
    curl_off_t ttfb = 0, total = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &ttfb);
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    if (!c)
        curl_easy_cleanup(h);
    resp->ttfb_ms = (double)ttfb / 1000.0;
    resp->total_ms = (double)total / 1000.0;
    resp->curl_code = (int)rc;
    resp->aborted = x.aborted;
    if (rc != CURLE_OK)
        snprintf(resp->error, sizeof resp->error, "%s",
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
    resp->body = x.body.p ? x.body.p : calloc(1, 1);
    resp->body_len = x.body.len;
    resp->headers = x.headers.p ? x.headers.p : calloc(1, 1);
    return resp->status;
}

long http_get(const char *url, struct http_resp *resp)
{
    struct http_req req = {.url = url};
    return http_do(NULL, &req, resp);
}

long http_post_json(const char *url, const char *json, struct http_resp *resp)
{
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    struct http_req req = {.url = url, .body = json ? json : "", .headers = hdrs,
                           .method = "POST"};
    return http_do(NULL, &req, resp);
}

void http_resp_free(struct http_resp *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}

const char *http_header(const struct http_resp *r, const char *name, char *buf,
                        size_t cap)
{
    size_t n = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > n && line[n] == ':' && strncasecmp(line, name, n) == 0) {
            const char *v = line + n + 1;
            const char *end = line + len;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' '))
                end--;
            snprintf(buf, cap, "%.*s", (int)(end - v), v);
            return buf;
        }
        line = eol ? eol + 1 : line + len;
    }
    return NULL;
}

/* ---- server-sent events ---- */

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static bool sse_push(struct sse_list *l, struct growbuf *event, struct growbuf *data)
{
    struct sse_event *ev = realloc(l->ev, (l->n + 1) * sizeof *ev);
    if (!ev)
        return false;
    l->ev = ev;
    ev[l->n].event = dup_n(event->p ? event->p : "", event->len);
    ev[l->n].data = dup_n(data->p ? data->p : "", data->len);
    l->n++;
    event->len = data->len = 0;
    return true;
}

/* One "field: value" line into the event being collected. */
static void sse_line(const char *line, size_t n, struct growbuf *event, struct growbuf *data)
{
    const char *colon = memchr(line, ':', n);
    size_t flen = colon ? (size_t)(colon - line) : n;
    const char *v = colon ? colon + 1 : line + n;
    if (v < line + n && *v == ' ')
        v++;
    size_t vlen = (size_t)(line + n - v);
    if (flen == 5 && memcmp(line, "event", 5) == 0) {
        event->len = 0;
        grow_append(event, v, vlen);
    } else if (flen == 4 && memcmp(line, "data", 4) == 0) {
        if (data->len)
            grow_append(data, "\n", 1);
        grow_append(data, v, vlen);
    }
}

size_t sse_parse(const char *body, size_t len, struct sse_list *out)
{
    memset(out, 0, sizeof *out);
    struct growbuf event = {0}, data = {0};
    bool pending = false;
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && body[e] != '\n' && body[e] != '\r')
            e++;
        if (e == i) { /* blank line: dispatch */
            if (pending)
                sse_push(out, &event, &data);
            pending = false;
        } else if (body[i] != ':') {
            sse_line(body + i, e - i, &event, &data);
            pending = true;
        }
        if (e < len && body[e] == '\r' && e + 1 < len && body[e + 1] == '\n')
            e++;
        i = e + 1;
    }
    free(event.p);
    free(data.p);
    return out->n;
}

void sse_free(struct sse_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->ev[i].event);
        free(l->ev[i].data);
    }
    free(l->ev);
    memset(l, 0, sizeof *l);
}

/* ---- raw TCP ---- */

int tcp_connect(const char *host, int port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    char ps[8];
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

int tcp_listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 1) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

bool tcp_send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += nl)
        n++;
    return n;
}

/* Shared loop: read until closed, full, timed out, or enough needles. */
static size_t read_loop(int fd, char *buf, size_t cap, const char *needle, int count,
                        int timeout_ms, bool *closed)
{
    double deadline = mono_ms() + timeout_ms;
    size_t len = 0;
    buf[0] = '\0';
    *closed = false;
    while (len + 1 < cap) {
        if (needle && count_of(buf, needle) >= (size_t)count)
            break;
        int left = (int)(deadline - mono_ms());
        struct pollfd pfd = {fd, POLLIN, 0};
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            break;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *closed = true;
            break;
        }
        len += (size_t)n;
        buf[len] = '\0';
    }
    return len;
}

size_t tcp_read_until_close(int fd, char *buf, size_t cap, int timeout_ms, bool *closed)
{
    bool c;
    return read_loop(fd, buf, cap, NULL, 0, timeout_ms, closed ? closed : &c);
}

size_t tcp_read_until(int fd, char *buf, size_t cap, const char *needle, int count,
                      int timeout_ms)
{
    bool closed;
    return read_loop(fd, buf, cap, needle, count, timeout_ms, &closed);
}
