/* health.c - the probes: connect, send one request, read the status line's head.
 *
 * One `struct probe` per checked server, all on the main loop. A probe is a new
 * connection each time (a pooled one would test the pool, not the server) and is
 * bounded: the request fits a fixed buffer, the response head must arrive within
 * `timeout` and HEALTH_HEAD_MAX bytes. Only the head is read; the connection is
 * closed right after.
 */
#include "health/health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http1/http1.h"
#include "log/log.h"
#include "net/net.h"

#define HEALTH_REQ_MAX 8192u
#define HEALTH_HEAD_MAX 16384u

struct probe {
    struct health *h;
    struct server_rt *s;
    const struct conf_health_check *hc;
    ev_timer timer;             /* next probe, then its timeout */
    ev_io io;
    int fd;
    bool busy;
    uint32_t ok_run, fail_run;
    char req[HEALTH_REQ_MAX];
    size_t req_len, sent;
    char in[HEALTH_HEAD_MAX];
    size_t in_len;
    struct http1_parser parser;
    struct http1_head head;
};

struct health {
    struct ev_loop *loop;
    struct runtime *rt;
    struct probe *probes;
    uint32_t count;
    uint64_t rng;
};

static double jitter(struct health *h, double lo, double hi)
{
    h->rng ^= h->rng << 13;
    h->rng ^= h->rng >> 7;
    h->rng ^= h->rng << 17;
    return lo + (hi - lo) * (double)(h->rng >> 11) / (double)(1ull << 53);
}

static void schedule(struct probe *p, double after)
{
    ev_timer_stop(p->h->loop, &p->timer);
    ev_timer_set(&p->timer, after, 0.);
    ev_timer_start(p->h->loop, &p->timer);
}

static void put(struct probe *p, const char *a, size_t n)
{
    if (p->req_len + n < sizeof p->req) {
        memcpy(p->req + p->req_len, a, n);
        p->req_len += n;
    }
}

static void put_header(struct probe *p, const char *name, const char *value)
{
    char line[HEALTH_REQ_MAX];
    size_t n = http1_header_line(line, sizeof line, name, strlen(name), value, strlen(value));
    put(p, line, n);
}

/* The request is the same every time: built once. */
static void build_request(struct probe *p)
{
    const struct conf_server *sv = p->s->conf;
    const struct conf_health_check *hc = p->hc;
    const char *method = hc->method ? hc->method : "GET";
    char line[HEALTH_REQ_MAX];
    size_t n = http1_request_line(line, sizeof line, method, strlen(method), hc->path, strlen(hc->path));
    put(p, line, n);
    put_header(p, "host", sv->url.authority);
    for (size_t i = 0; i < sv->header_count; i++) /* provider keys authenticate the probe */
        put_header(p, sv->headers[i].name, sv->headers[i].value);
    for (size_t i = 0; i < hc->header_count; i++)
        put_header(p, hc->headers[i].name, hc->headers[i].value);
    put(p, "user-agent: sluice-health-check\r\nconnection: close\r\n\r\n", 54);
}

static bool expected(const struct conf_health_check *hc, int status)
{
    if (!hc->expect_count)
        return status >= 200 && status <= 299;
    for (size_t i = 0; i < hc->expect_count; i++)
        if (status >= hc->expect[i].lo && status <= hc->expect[i].hi)
            return true;
    return false;
}

static void finish(struct probe *p, bool ok, const char *why)
{
    struct ev_loop *loop = p->h->loop;
    ev_io_stop(loop, &p->io);
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    p->busy = false;
    struct server_rt *s = p->s;
    stat_add(ok ? &s->stats[0].health_ok : &s->stats[0].health_fail, 1);
    const char *be = s->backend->conf->name, *name = s->conf->name;
    bool up = atomic_load_explicit(&s->up, memory_order_relaxed) != 0;
    if (ok) {
        p->fail_run = 0;
        if (!up && ++p->ok_run >= p->hc->rise) {
            atomic_store(&s->up, 1u);
            log_info("server %s/%s is up (%u successful health checks)", be, name, p->ok_run);
        }
    } else {
        p->ok_run = 0;
        if (up && ++p->fail_run >= p->hc->fall) {
            atomic_store(&s->up, 0u);
            log_warn("server %s/%s is down: %s (%u failed health checks)", be, name, why, p->fail_run);
        }
    }
    double iv = (double)p->hc->interval / 1000.0;
    schedule(p, jitter(p->h, iv * 0.9, iv * 1.1));
}

static void on_io(struct ev_loop *loop, ev_io *io, int revents)
{
    struct probe *p = io->data;
    if (revents & EV_WRITE) {
        if (p->sent == 0) {
            int err = net_connect_result(p->fd);
            if (err) {
                finish(p, false, strerror(err));
                return;
            }
        }
        ssize_t n = write(p->fd, p->req + p->sent, p->req_len - p->sent);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            finish(p, false, "write failed");
            return;
        }
        if (n > 0)
            p->sent += (size_t)n;
        if (p->sent == p->req_len) {
            ev_io_stop(loop, io);
            ev_io_set(io, p->fd, EV_READ);
            ev_io_start(loop, io);
        }
        return;
    }
    ssize_t n = read(p->fd, p->in + p->in_len, sizeof p->in - p->in_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        finish(p, false, n == 0 ? "connection closed before a response" : "read failed");
        return;
    }
    p->in_len += (size_t)n;
    for (;;) {
        size_t used = 0, blen = 0;
        const char *body = NULL;
        enum http1_event ev = http1_parse(&p->parser, p->in, p->in_len, &used, &p->head, &body, &blen);
        if (ev == HTTP1_HEAD) {
            if (p->head.status < 200) { /* interim: wait for the final one */
                memmove(p->in, p->in + used, p->in_len - used);
                p->in_len -= used;
                continue;
            }
            char why[64];
            snprintf(why, sizeof why, "status %u", (unsigned)p->head.status);
            finish(p, expected(p->hc, p->head.status), why);
            return;
        }
        if (ev == HTTP1_NEED_MORE && p->in_len < sizeof p->in)
            return;
        finish(p, false, ev == HTTP1_NEED_MORE ? "response head too large" : "malformed response");
        return;
    }
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct probe *p = t->data;
    if (p->busy) {
        finish(p, false, "timeout");
        return;
    }
    p->fd = net_connect((const struct sockaddr *)&p->s->addr, p->s->addr_len);
    if (p->fd < 0) {
        finish(p, false, strerror(errno));
        return;
    }
    p->busy = true;
    p->sent = p->in_len = 0;
    http1_parser_reset(&p->parser);
    const char *m = p->hc->method ? p->hc->method : "GET";
    http1_parser_expect_response_to(&p->parser, !strcmp(m, "HEAD") ? HTTP_HEAD : HTTP_GET);
    ev_io_set(&p->io, p->fd, EV_WRITE);
    ev_io_start(loop, &p->io);
    schedule(p, (double)p->hc->timeout / 1000.0);
}

struct health *health_start(struct ev_loop *loop, struct runtime *rt)
{
    uint32_t n = 0;
    for (uint32_t b = 0; b < rt->backend_count; b++)
        if (rt->backends[b].conf->health_check)
            n += rt->backends[b].count;
    if (!n)
        return NULL;
    struct health *h = calloc(1, sizeof *h);
    struct probe *probes = calloc(n, sizeof *probes);
    if (!h || !probes)
        abort();
    h->loop = loop;
    h->rt = runtime_retain(rt);
    h->probes = probes;
    h->count = n;
    h->rng = (uint64_t)(ev_now(loop) * 1e6) ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
    uint32_t k = 0;
    for (uint32_t b = 0; b < rt->backend_count; b++) {
        const struct conf_health_check *hc = rt->backends[b].conf->health_check;
        for (uint32_t i = 0; hc && i < rt->backends[b].count; i++) {
            struct probe *p = &probes[k++];
            p->h = h;
            p->s = &rt->backends[b].servers[i];
            p->hc = hc;
            p->fd = -1;
            build_request(p);
            http1_parser_init(&p->parser, HTTP1_RESPONSE, NULL);
            ev_init(&p->io, on_io);
            p->io.data = p;
            ev_init(&p->timer, on_timer);
            p->timer.data = p;
            schedule(p, jitter(h, 0.0, (double)hc->interval / 1000.0));
        }
    }
    return h;
}

void health_stop(struct health *h)
{
    if (!h)
        return;
    for (uint32_t i = 0; i < h->count; i++) {
        struct probe *p = &h->probes[i];
        ev_timer_stop(h->loop, &p->timer);
        ev_io_stop(h->loop, &p->io);
        if (p->fd >= 0)
            close(p->fd);
    }
    runtime_release(h->rt);
    free(h->probes);
    free(h);
}
