/* listener.c - the admin listener's sockets and HTTP/1.1 connections.
 *
 * Runs on the main thread's loop. Requests are answered synchronously (rendering
 * reads counters, it never waits), one at a time per connection: the next
 * pipelined request is parsed only once the previous response is written, so a
 * connection holds at most one response. Every buffer and the number of
 * connections are bounded; a request must arrive whole within a timeout.
 */
#include "admin/admin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http1/http1.h"
#include "log/log.h"

#define REQUEST_TIMEOUT 10.0    /* s to send a whole request, or to take some response */
#define IDLE_TIMEOUT 60.0       /* s a keep-alive connection may wait between requests */
#define READ_CHUNK 4096u
#define IN_MAX (ADMIN_HEAD_MAX + READ_CHUNK)
#define PATH_MAX_BYTES 1024u
#define REQUESTS_PER_CALL 32    /* pipelined requests served before letting others run */
#define LINGER_TIMEOUT 2.0      /* s to drain a client's unread input before closing */

enum tmode { T_NONE, T_IDLE, T_REQUEST, T_WRITE, T_LINGER };

struct conn {
    struct admin *a;
    int fd;
    ev_io io;
    ev_timer timer;
    struct nbuf in, out, body;
    struct http1_parser parser;
    struct http1_head head;
    /* the request being read, copied out of the head (its views do not last) */
    enum admin_method method;
    char path[PATH_MAX_BYTES];
    uint32_t path_len;          /* > PATH_MAX_BYTES: too long, not copied */
    bool authorized, keep_alive, http10;
    bool busy;                  /* part of a request has arrived */
    bool eof, closing;
    bool lingering;             /* our side is shut: discard input until EOF */
    enum tmode tmode;
    struct conn *prev, *next;
};

struct admin {
    struct ev_loop *loop;
    struct runtime *rt;
    const struct conf_admin *cfg;
    int fd;
    ev_io accept_io;
    struct conn *conns;         /* newest first */
    uint32_t count;
    struct timespec started;
    double refused_logged;      /* ev_now of the last "refusing" warning */
    bool stopped;
};

static void conn_cb(struct ev_loop *loop, ev_io *io, int revents);
static void conn_timeout(struct ev_loop *loop, ev_timer *t, int revents);

static double uptime(const struct admin *a)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - a->started.tv_sec) +
           (double)(now.tv_nsec - a->started.tv_nsec) / 1e9;
}

static void conn_close(struct conn *c)
{
    struct admin *a = c->a;
    ev_io_stop(a->loop, &c->io);
    ev_timer_stop(a->loop, &c->timer);
    net_plain.close(c->fd, NULL);
    if (c->prev)
        c->prev->next = c->next;
    else
        a->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    a->count--;
    nbuf_free(&c->in);
    nbuf_free(&c->out);
    nbuf_free(&c->body);
    free(c);
}

/* Writes what it can; false when the connection is dead. */
static bool flush(struct conn *c)
{
    while (c->out.len) {
        struct iovec iov = {nbuf_data(&c->out), c->out.len};
        ssize_t n = net_plain.writev(c->fd, NULL, &iov, 1);
        if (n == NET_AGAIN)
            return true;
        if (n < 0)
            return false;
        nbuf_consume(&c->out, (size_t)n);
        if (c->tmode == T_WRITE) /* a slow reader gets more time while it reads */
            c->tmode = T_NONE;
    }
    nbuf_release_if_empty(&c->out);
    return true;
}

/* Queues the head and (unless HEAD) the body of `r`. */
static void send_response(struct conn *c, struct admin_response *r)
{
    char head[1024];
    size_t n = http1_status_line(head, sizeof head, r->status, NULL);
    char len[24];
    int ll = snprintf(len, sizeof len, "%u", r->body.len);
    const struct { const char *name, *value; } hs[] = {
        {"content-type", r->content_type},
        {"content-length", len},
        {"cache-control", "no-store"},
        {"allow", r->allow},
        {"www-authenticate", r->challenge ? "Bearer realm=\"sluice admin\"" : NULL},
        {"connection", !c->keep_alive || c->closing ? "close" : c->http10 ? "keep-alive" : NULL},
    };
    for (size_t i = 0; n && i < sizeof hs / sizeof hs[0]; i++)
        if (hs[i].value) {
            size_t vl = hs[i].value == len ? (size_t)ll : strlen(hs[i].value);
            size_t m = http1_header_line(head + n, sizeof head - n, hs[i].name, strlen(hs[i].name),
                                         hs[i].value, vl);
            n = m ? n + m : 0;
        }
    if (n && sizeof head - n >= 2) {
        memcpy(head + n, "\r\n", 2);
        n += 2;
    } else {
        n = 0;
    }
    c->tmode = T_NONE; /* every response restarts the timer, the idle one included */
    bool with_body = c->method != ADMIN_HEAD;
    if (!n || !nbuf_append(&c->out, head, n, ADMIN_OUT_MAX + sizeof head) ||
        (with_body && !nbuf_append(&c->out, nbuf_data(&r->body), r->body.len,
                                   ADMIN_OUT_MAX + sizeof head))) {
        c->out.len = 0;
        c->closing = true;
    }
}

static void answer(struct conn *c)
{
    struct admin_response r;
    if (c->path_len > PATH_MAX_BYTES) {
        memset(&r, 0, sizeof r);
        admin_error(&r, 414, "uri_too_long", "the request path is too long");
    } else {
        struct admin_request q = {c->method, c->path, c->path_len, nbuf_data(&c->body),
                                  c->body.len, c->authorized};
        admin_handle(c->a->rt, uptime(c->a), &q, &r);
    }
    log_debug("admin: %s %.*s -> %d", c->method == ADMIN_GET ? "GET" : c->method == ADMIN_HEAD ? "HEAD"
              : c->method == ADMIN_POST ? "POST" : "other",
              c->path_len > PATH_MAX_BYTES ? 0 : (int)c->path_len, c->path, r.status);
    send_response(c, &r);
    admin_response_free(&r);
}

/* The parser refused the request: answer its status and close. */
static void refuse(struct conn *c)
{
    int st = c->parser.status ? c->parser.status : 400;
    struct admin_response r;
    memset(&r, 0, sizeof r);
    admin_error(&r, st, st == 413 ? "body_too_large" : st == 431 ? "headers_too_large"
                : "bad_request", c->parser.reason ? c->parser.reason : "malformed request");
    c->closing = true;
    c->method = ADMIN_GET;
    send_response(c, &r);
    admin_response_free(&r);
}

/* Copies what the request needs out of the head: its views do not outlive the
 * next read. */
static void begin(struct conn *c)
{
    const struct http1_head *h = &c->head;
    c->method = h->method == HTTP_GET ? ADMIN_GET : h->method == HTTP_HEAD ? ADMIN_HEAD
                : h->method == HTTP_POST ? ADMIN_POST : ADMIN_OTHER;
    c->path_len = h->path_len;
    if (h->path_len && h->path_len <= PATH_MAX_BYTES)
        memcpy(c->path, h->path, h->path_len);
    const struct http1_hdr *az = http1_find_header(h, "authorization", 13);
    c->authorized = admin_token_ok(c->a->cfg->token, az ? az->value : NULL, az ? az->value_len : 0);
    c->keep_alive = h->keep_alive;
    c->http10 = h->version_major == 1 && h->version_minor == 0;
    nbuf_free(&c->body);
    if (h->expect_continue && h->framing != HTTP1_BODY_NONE) {
        if (c->method == ADMIN_POST && !c->authorized) {
            c->closing = true; /* refuse before the body is sent */
            answer(c);
        } else if (!nbuf_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25, ADMIN_OUT_MAX)) {
            c->closing = true;
        }
    }
}

/* Parses buffered input until a response is queued (true) or more input is
 * needed (false). */
static bool parse(struct conn *c)
{
    while (!c->closing) {
        size_t used = 0, blen = 0;
        const char *body = NULL;
        enum http1_event ev = http1_parse(&c->parser, nbuf_data(&c->in), c->in.len, &used,
                                          &c->head, &body, &blen);
        nbuf_consume(&c->in, used);
        switch (ev) {
        case HTTP1_NEED_MORE:
        case HTTP1_CLOSED:
            return false;
        case HTTP1_HEAD:
            begin(c);
            if (c->out.len)
                return true;
            break;
        case HTTP1_BODY:
            if (c->method == ADMIN_POST && !nbuf_append(&c->body, body, blen, ADMIN_BODY_MAX)) {
                c->parser.status = 413;
                refuse(c);
            }
            break;
        case HTTP1_DONE:
            answer(c);
            nbuf_free(&c->body);
            c->busy = c->in.len > 0;
            if (!c->keep_alive)
                c->closing = true;
            return true;
        case HTTP1_ERROR:
            refuse(c);
            return true;
        }
    }
    return true;
}

/* Closing with input maybe unread: a close() now would send a reset that can
 * destroy the response before the client reads it (a 413 to a client still
 * sending, say). Shut our side and discard input until the client closes. */
static bool linger(struct conn *c)
{
    if (c->eof)
        return false;
    if (!c->lingering) {
        c->lingering = true;
        shutdown(c->fd, SHUT_WR);
    }
    char buf[4096];
    for (int i = 0; i < 16; i++) {
        ssize_t n = net_plain.read(c->fd, NULL, buf, sizeof buf);
        if (n == NET_AGAIN)
            return true;
        if (n < 0)
            return false;
    }
    return true; /* more later, until the linger timer */
}

/* Serves what can be served now. False when the connection must close. */
static bool run(struct conn *c)
{
    for (int served = 0;;) {
        if (!flush(c))
            return false;
        if (c->out.len)
            return true; /* the rest when writable */
        if (c->closing)
            return linger(c);
        if (parse(c)) {
            if (++served >= REQUESTS_PER_CALL && !c->out.len) {
                ev_feed_event(c->a->loop, &c->io, EV_CUSTOM); /* let other watchers run */
                return true;
            }
            continue;
        }
        if (c->eof)
            return false; /* a request cut short gets no answer: nobody reads it */
        if (!nbuf_reserve(&c->in, READ_CHUNK, IN_MAX)) {
            c->parser.status = 431; /* unreachable: the parser stops at ADMIN_HEAD_MAX */
            refuse(c);
            continue;
        }
        ssize_t n = net_plain.read(c->fd, NULL, nbuf_tail(&c->in), nbuf_room(&c->in));
        if (n == NET_AGAIN) {
            nbuf_release_if_empty(&c->in);
            return true;
        }
        if (n == NET_ERR)
            return false;
        if (n == NET_EOF) {
            c->eof = true;
            continue;
        }
        c->in.len += (uint32_t)n;
        c->busy = true;
    }
}

/* One timer per connection: the request deadline runs from the request's first
 * byte (progress does not extend it, against slow senders); the write deadline is
 * renewed by progress; idle connections get IDLE_TIMEOUT. */
static void update(struct conn *c)
{
    int ev = c->out.len ? EV_WRITE : EV_READ;
    if (!ev_is_active(&c->io) || (c->io.events & (EV_READ | EV_WRITE)) != ev) {
        ev_io_stop(c->a->loop, &c->io);
        ev_io_set(&c->io, c->fd, ev);
        ev_io_start(c->a->loop, &c->io);
    }
    enum tmode m = c->lingering ? T_LINGER : c->out.len ? T_WRITE : c->busy ? T_REQUEST : T_IDLE;
    if (m == c->tmode)
        return;
    c->tmode = m;
    ev_timer_stop(c->a->loop, &c->timer);
    ev_timer_set(&c->timer, m == T_IDLE ? IDLE_TIMEOUT : m == T_LINGER ? LINGER_TIMEOUT
                            : REQUEST_TIMEOUT, 0.);
    ev_timer_start(c->a->loop, &c->timer);
}

static void conn_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    struct conn *c = io->data;
    if (!run(c)) {
        conn_close(c);
        return;
    }
    update(c);
}

static void conn_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct conn *c = t->data;
    if (c->tmode != T_REQUEST || c->out.len || c->closing) {
        conn_close(c);
        return;
    }
    struct admin_response r;
    memset(&r, 0, sizeof r);
    admin_error(&r, 408, "request_timeout", "the request took too long to arrive");
    c->closing = true;
    c->method = ADMIN_GET;
    send_response(c, &r);
    admin_response_free(&r);
    c->tmode = T_NONE;
    if (!run(c)) {
        conn_close(c);
        return;
    }
    update(c);
}

/* At the limit, the oldest idle keep-alive connection makes room for a new one. */
static bool make_room(struct admin *a)
{
    if (a->count < ADMIN_MAX_CONNS)
        return true;
    struct conn *victim = NULL;
    for (struct conn *c = a->conns; c; c = c->next)
        if (!c->busy && !c->out.len)
            victim = c;
    if (victim)
        conn_close(victim);
    return victim != NULL;
}

static void accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)revents;
    struct admin *a = io->data;
    for (;;) {
        int fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                log_warn("admin: accept: %s", strerror(errno));
            return;
        }
        struct conn *c = make_room(a) ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            if (ev_now(loop) - a->refused_logged >= 1.0) { /* at most once a second */
                a->refused_logged = ev_now(loop);
                log_warn("admin: %u connections busy, refusing new ones", ADMIN_MAX_CONNS);
            }
            close(fd);
            continue;
        }
        c->a = a;
        c->fd = fd;
        struct http1_limits lim = {ADMIN_HEAD_MAX, ADMIN_BODY_MAX, 0};
        http1_parser_init(&c->parser, HTTP1_REQUEST, &lim);
        ev_io_init(&c->io, conn_cb, fd, EV_READ);
        c->io.data = c;
        ev_init(&c->timer, conn_timeout);
        c->timer.data = c;
        c->next = a->conns;
        if (c->next)
            c->next->prev = c;
        a->conns = c;
        a->count++;
        net_set_nodelay(fd);
        update(c);
    }
}

struct admin *admin_start(struct ev_loop *loop, struct runtime *rt, const struct conf_admin *cfg)
{
    int fd = net_listen((const struct sockaddr *)&cfg->bind.addr, cfg->bind.addr_len, 64, false);
    if (fd < 0) {
        log_error("admin: cannot listen on %s: %s", cfg->bind.text, strerror(errno));
        return NULL;
    }
    struct admin *a = calloc(1, sizeof *a);
    if (!a) {
        close(fd);
        log_error("admin: out of memory");
        return NULL;
    }
    a->loop = loop;
    a->rt = runtime_retain(rt);
    a->cfg = cfg;
    a->fd = fd;
    clock_gettime(CLOCK_MONOTONIC, &a->started);
    ev_io_init(&a->accept_io, accept_cb, fd, EV_READ);
    a->accept_io.data = a;
    ev_io_start(loop, &a->accept_io);
    log_info("admin listening on %s%s", cfg->bind.text,
             cfg->token && *cfg->token ? " (POST needs the admin token)" : "");
    return a;
}

void admin_stop(struct admin *a)
{
    if (!a || a->stopped)
        return;
    a->stopped = true;
    ev_io_stop(a->loop, &a->accept_io);
    close(a->fd);
    while (a->conns)
        conn_close(a->conns);
}

void admin_free(struct admin *a)
{
    if (!a)
        return;
    admin_stop(a);
    runtime_release(a->rt);
    free(a);
}
