/* upstream.c - connections to servers: per-worker pools, connect, relaying the
 * response to the transaction.
 *
 * An idle pooled connection keeps a read watcher so a server that closes it is
 * noticed (and the connection dropped) before anyone reuses it; the window left
 * is covered by the transaction's retry on a stale connection.
 */
#include "proxy/proxy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UPSTREAM_IN_MAX (256u * 1024u)

static void up_io(struct ev_loop *loop, ev_io *io, int revents);
static void fail_later(struct upstream *u);
static void up_timeout(struct ev_loop *loop, ev_timer *t, int revents);

static void up_events(struct upstream *u)
{
    int ev = 0;
    bool paused = u->txn && txn_client_full(u->txn);
    if (u->connecting || u->out.len)
        ev |= EV_WRITE;
    if (!u->connecting && !paused)
        ev |= EV_READ;
    if (ev == (u->io.events & (EV_READ | EV_WRITE)) && ev_is_active(&u->io))
        return;
    ev_io_stop(u->w->loop, &u->io);
    ev_io_modify(&u->io, ev); /* not ev_io_set: that makes libev re-add the fd */
    if (ev)
        ev_io_start(u->w->loop, &u->io);
}

static void arm_timer(struct upstream *u, uint64_t ms)
{
    deadline_set(u->w->loop, &u->timer, ms);
}

static void pool_unlink(struct upstream *u)
{
    struct pool *p = u->pool;
    if (!u->idle)
        return;
    if (u->prev)
        u->prev->next = u->next;
    else
        p->idle = u->next;
    if (u->next)
        u->next->prev = u->prev;
    u->prev = u->next = NULL;
    u->idle = false;
    p->idle_count--;
}

static void unqueue(struct upstream *u);

static void up_close(struct upstream *u)
{
    pool_unlink(u);
    if (u->flush_queued)
        unqueue(u);
    ev_io_stop(u->w->loop, &u->io);
    deadline_stop(u->w->loop, &u->timer);
    u->tp->close(u->fd, u->tp_ctx);
    u->pool->open--;
    nbuf_free(&u->in);
    nbuf_free(&u->out);
    free(u);
}

struct upstream *upstream_connect(struct worker *w, struct backend_rt *be, struct server_rt *s, struct pool *p)
{
    const struct conf_pool *pc = &be->conf->pool;
    if (pc->max_connections && p->open >= pc->max_connections)
        return NULL;
    int fd = net_connect((const struct sockaddr *)&s->addr, s->addr_len);
    struct upstream *u = calloc(1, sizeof *u);
    if (!u)
        abort();
    u->w = w;
    u->srv = s;
    u->pool = p;
    u->fd = fd;
    u->tp = &net_plain;
    u->connecting = true;
    p->open++;
    stat_add(&s->stats[w->id].upstream_connects, 1);
    http1_parser_init(&u->parser, HTTP1_RESPONSE, NULL);
    ev_io_init(&u->io, up_io, fd, 0);
    u->io.data = u;
    ev_init(&u->timer.timer, up_timeout);
    u->timer.timer.data = u;
    if (fd < 0) {
        /* Reported from the loop, not from inside the caller's call stack. */
        u->fd = -1;
        u->connect_error = errno ? errno : ECONNREFUSED;
        deadline_now(w->loop, &u->timer);
        return u;
    }
    ev_io_modify(&u->io, EV_WRITE);
    ev_io_start(w->loop, &u->io);
    arm_timer(u, be->conf->timeouts.connect);
    return u;
}

struct upstream *upstream_get(struct worker *w, struct backend_rt *be, struct server_rt *s, struct pool *p)
{
    struct upstream *u = p->idle;
    if (u) {
        pool_unlink(u);
        u->reused = true;
        http1_parser_reset(&u->parser);
        arm_timer(u, 0);
        return u;
    }
    return upstream_connect(w, be, s, p);
}

static void flush(struct upstream *u)
{
    while (u->out.len) {
        struct iovec iov = {nbuf_data(&u->out), u->out.len};
        ssize_t n = u->tp->writev(u->fd, u->tp_ctx, &iov, 1);
        if (n == NET_AGAIN)
            break;
        if (n < 0) {
            fail_later(u); /* handled from the loop, never inside a caller's stack */
            return;
        }
        nbuf_consume(&u->out, (size_t)n);
        if (u->txn && txn_client_wants_more(u->txn))
            client_resume_reading(u->txn->c);
    }
    nbuf_release_if_empty(&u->out);
    up_events(u);
}

static void fail_later(struct upstream *u)
{
    u->write_failed = true;
    nbuf_consume(&u->out, u->out.len);
    ev_io_stop(u->w->loop, &u->io);
    deadline_now(u->w->loop, &u->timer);
}

/* Like the client's output, written once per loop iteration. */
void upstream_send(struct upstream *u, const void *data, size_t n)
{
    if (u->write_failed)
        return;
    if (!nbuf_append(&u->out, data, n, PROXY_OUT_MAX)) {
        /* Callers stop feeding at PROXY_OUT_HIGH, so this is a broken invariant. */
        log_error("upstream output buffer overflow; closing");
        fail_later(u);
        return;
    }
    if (!u->flush_queued && !u->connecting) {
        struct proxy_worker *px = u->w->px;
        u->flush_queued = true;
        u->flush_next = px->flush_upstreams;
        px->flush_upstreams = u;
        proxy_flush_soon(u->w);
    }
}

void upstream_flush_pending(struct proxy_worker *px)
{
    while (px->flush_upstreams) {
        struct upstream *u = px->flush_upstreams;
        px->flush_upstreams = u->flush_next;
        u->flush_queued = false;
        flush(u);
    }
}

static void unqueue(struct upstream *u)
{
    struct upstream **pp = &u->w->px->flush_upstreams;
    while (*pp && *pp != u)
        pp = &(*pp)->flush_next;
    if (*pp)
        *pp = u->flush_next;
    u->flush_queued = false;
}

void upstream_resume_reading(struct upstream *u)
{
    up_events(u);
}

void upstream_release(struct upstream *u, bool reusable)
{
    struct worker *w = u->w;
    const struct conf_pool *pc = &u->srv->backend->conf->pool;
    if (!reusable || w->stopping || u->in.len || u->out.len || u->pool->idle_count >= pc->max_idle) {
        up_close(u);
        return;
    }
    u->txn = NULL;
    u->idle = true;
    u->prev = NULL;
    u->next = u->pool->idle;
    if (u->next)
        u->next->prev = u;
    u->pool->idle = u;
    u->pool->idle_count++;
    nbuf_release_if_empty(&u->in);
    arm_timer(u, pc->idle_timeout);
    up_events(u);
}

void upstream_pool_free(struct worker *w, struct pool *p)
{
    (void)w;
    while (p->idle)
        up_close(p->idle);
}

/* Feeds the response bytes to the transaction, one event at a time, until the
 * input runs out, the client's output is full, or the transaction ends. */
static void parse_response(struct upstream *u)
{
    while (u->txn) {
        struct txn *t = u->txn;
        if (txn_client_full(t))
            break;
        size_t used = 0;
        const char *body = NULL;
        size_t blen = 0;
        enum http1_event ev = http1_parse(&u->parser, nbuf_data(&u->in), u->in.len, &used, &u->head, &body, &blen);
        switch (ev) {
        case HTTP1_HEAD:
            if (!txn_response_head(t, &u->head))
                return; /* the transaction ended, u may be gone */
            nbuf_consume(&u->in, used);
            break;
        case HTTP1_BODY:
            txn_response_body(t, body, blen);
            nbuf_consume(&u->in, used);
            break;
        case HTTP1_DONE:
            nbuf_consume(&u->in, used);
            txn_response_end(t);
            return;
        case HTTP1_NEED_MORE:
            nbuf_consume(&u->in, used);
            return;
        case HTTP1_ERROR:
            txn_upstream_failed(t, 502, "malformed response from upstream", false);
            return;
        default:
            return;
        }
    }
}

static void on_connected(struct upstream *u)
{
    int err = net_connect_result(u->fd);
    if (err) {
        u->connect_error = err;
        stat_add(&u->srv->stats[u->w->id].connect_errors, 1);
        txn_upstream_failed(u->txn, 502, "connect failed", false);
        return;
    }
    u->connecting = false;
    arm_timer(u, u->srv->backend->conf->timeouts.server);
    flush(u);
}

static void read_input(struct upstream *u)
{
    if (!nbuf_reserve(&u->in, PROXY_IN_CHUNK, UPSTREAM_IN_MAX)) {
        up_events(u); /* full: wait for the client to drain what is parsed */
        return;
    }
    ssize_t n = u->tp->read(u->fd, u->tp_ctx, nbuf_tail(&u->in), nbuf_room(&u->in));
    if (n == NET_AGAIN)
        return;
    struct txn *t = u->txn;
    if (!t) {
        /* Idle: the server closed it, or sent what nobody asked for. */
        up_close(u);
        return;
    }
    if (n < 0) {
        if (n == NET_EOF && http1_parse_eof(&u->parser) == HTTP1_DONE && t->resp_started) {
            txn_response_end(t);
            return;
        }
        bool nothing_yet = !t->resp_started && u->in.len == 0;
        txn_upstream_failed(t, 502, n == NET_EOF ? "upstream closed the connection" : "upstream read failed",
                            nothing_yet);
        return;
    }
    u->in.len += (uint32_t)n;
    if (t->srv)
        arm_timer(u, u->srv->backend->conf->timeouts.server);
    parse_response(u);
}

static void up_io(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    struct upstream *u = io->data;
    if (u->connecting) {
        if (revents & EV_WRITE)
            on_connected(u);
        return;
    }
    if (revents & EV_WRITE) {
        flush(u);
        /* flush may have ended the transaction and closed u */
        return;
    }
    if (revents & EV_READ)
        read_input(u);
}

static void up_timeout(struct ev_loop *loop, ev_timer *tm, int revents)
{
    (void)revents;
    struct upstream *u = tm->data;
    if (!deadline_expired(loop, &u->timer))
        return;
    struct txn *t = u->txn;
    if (!t) {
        up_close(u); /* idle timeout */
        return;
    }
    if (u->connect_error) {
        stat_add(&u->srv->stats[u->w->id].connect_errors, 1);
        txn_upstream_failed(t, 502, "connect failed", false);
        return;
    }
    if (u->write_failed) {
        txn_upstream_failed(t, 502, "upstream write failed", true);
        return;
    }
    txn_upstream_failed(t, 504, u->connecting ? "connect timeout" : "server timeout", false);
}
