/* client.c - client connections: accept, read and parse requests, write responses.
 *
 * Only the connection's own libev callback frees it (client_settle at its end).
 * Code running elsewhere (upstream callbacks relaying a response) reports a dead
 * connection by setting a flag and feeding the callback an event, so no stack
 * frame ever holds a freed client.
 */
#include "proxy/proxy.h"

#include <stdlib.h>
#include <string.h>

#define CLIENT_IN_SLACK PROXY_IN_CHUNK

static void client_cb(struct ev_loop *loop, ev_io *io, int revents);
static void unqueue(struct client *c);
static void client_timeout(struct ev_loop *loop, ev_timer *t, int revents);

static void set_events(struct client *c)
{
    int ev = 0;
    if (c->out.len)
        ev |= EV_WRITE;
    if (!c->eof && !c->closing && c->reading)
        ev |= EV_READ;
    if (ev == (c->io.events & (EV_READ | EV_WRITE)) && ev_is_active(&c->io))
        return;
    ev_io_stop(c->w->loop, &c->io);
    ev_io_modify(&c->io, ev); /* not ev_io_set: that makes libev re-add the fd */
    if (ev)
        ev_io_start(c->w->loop, &c->io);
}

static void arm_timer(struct client *c, uint64_t ms)
{
    deadline_set(c->w->loop, &c->timer, ms);
}

static void poke(struct client *c)
{
    ev_feed_event(c->w->loop, &c->io, EV_CUSTOM);
}

void proxy_accept(struct worker *w, struct listener *l, int fd, const struct sockaddr_storage *peer)
{
    struct client *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    struct proxy_worker *px = w->px;
    c->w = w;
    c->fe = l->fe;
    c->fd = fd;
    c->tp = &net_plain;
    net_set_nodelay(fd);
    net_addr_ip((const struct sockaddr *)peer, c->ip, sizeof c->ip);
    const struct conf_frontend *fe = c->fe->conf;
    struct http1_limits lim = {(uint32_t)fe->limits.max_header_bytes, fe->limits.max_body_bytes, 0};
    http1_parser_init(&c->parser, HTTP1_REQUEST, &lim);
    c->reading = true;
    ev_io_init(&c->io, client_cb, fd, 0);
    c->io.data = c;
    ev_init(&c->timer.timer, client_timeout);
    c->timer.timer.data = c;
    c->next = px->clients;
    if (c->next)
        c->next->prev = c;
    px->clients = c;
    px->client_count++;
    stat_add(&c->fe->stats[w->id].connections, 1);
    stat_add(&w->rt->global[w->id].connections, 1);
    arm_timer(c, fe->timeouts.header);
    set_events(c);
}

static void client_free(struct client *c)
{
    struct worker *w = c->w;
    struct proxy_worker *px = w->px;
    if (c->txn) {
        c->closed = true;
        txn_client_gone(c->txn);
    }
    if (c->flush_queued)
        unqueue(c);
    ev_io_stop(w->loop, &c->io);
    deadline_stop(w->loop, &c->timer);
    c->tp->close(c->fd, c->tp_ctx);
    if (c->prev)
        c->prev->next = c->next;
    else
        px->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    px->client_count--;
    stat_sub(&c->fe->stats[w->id].connections, 1);
    stat_sub(&w->rt->global[w->id].connections, 1);
    nbuf_free(&c->in);
    nbuf_free(&c->out);
    free(c);
    worker_conn_closed(w);
    worker_maybe_done(w);
}

/* Writes what it can; false when the connection is dead. */
static bool flush(struct client *c)
{
    while (c->out.len) {
        struct iovec iov = {nbuf_data(&c->out), c->out.len};
        ssize_t n = c->tp->writev(c->fd, c->tp_ctx, &iov, 1);
        if (n == NET_AGAIN)
            break;
        if (n < 0) {
            c->dead = true;
            return false;
        }
        nbuf_consume(&c->out, (size_t)n);
        if (c->txn && c->txn->u && c->out.len < PROXY_OUT_HIGH / 2)
            upstream_resume_reading(c->txn->u);
        if (c->txn && c->out.len)   /* a slow reader gets client_idle to make progress */
            arm_timer(c, c->fe->conf->timeouts.client_idle);
    }
    nbuf_release_if_empty(&c->out);
    return true;
}

/* Output is written once per loop iteration (proxy_flush_pending, just before the
 * loop waits), so a response head and its body leave in one system call. */
void client_send(struct client *c, const void *data, size_t n)
{
    if (c->dead)
        return;
    /* Relaying stops at PROXY_OUT_HIGH; the rest of the cap is for our own small
     * messages (errors, chunk framing). */
    if (!nbuf_append(&c->out, data, n, PROXY_OUT_MAX)) {
        c->dead = true;
        poke(c);
        return;
    }
    if (!c->flush_queued) {
        struct proxy_worker *px = c->w->px;
        c->flush_queued = true;
        c->flush_next = px->flush_clients;
        px->flush_clients = c;
        proxy_flush_soon(c->w);
    }
}

static void unqueue(struct client *c)
{
    struct client **pp = &c->w->px->flush_clients;
    while (*pp && *pp != c)
        pp = &(*pp)->flush_next;
    if (*pp)
        *pp = c->flush_next;
    c->flush_queued = false;
}

void client_flush_pending(struct proxy_worker *px)
{
    while (px->flush_clients) {
        struct client *c = px->flush_clients;
        px->flush_clients = c->flush_next;
        c->flush_queued = false;
        if (c->dead)
            continue;
        if (!flush(c) || (c->closing && !c->txn && c->out.len == 0))
            poke(c); /* its callback settles it */
        else
            set_events(c);
    }
}

void client_abort(struct client *c)
{
    c->closing = true;
    poke(c);
}

void client_resume_reading(struct client *c)
{
    poke(c);
}

void client_txn_done(struct client *c)
{
    struct txn *t = c->txn;
    bool keep = t->client_keep_alive;
    c->txn = NULL;
    txn_free(t);
    if (c->closed)
        return;
    c->requests++;
    c->head_timer = false; /* the next request gets its own header timeout */
    if (!keep || c->w->stopping)
        c->closing = true;
    if (c->closing || c->in.len) {
        poke(c); /* close after the flush, or serve the pipelined request */
        return;
    }
    nbuf_release_if_empty(&c->in);
    arm_timer(c, c->fe->conf->timeouts.client_idle);
    set_events(c);
}

/* Refuses what the parser refused, and closes after. */
static void reject(struct client *c)
{
    struct txn *t = c->txn;
    if (t && t->resp_started) {
        client_abort(c);
        return;
    }
    if (!t)
        t = txn_begin_rejected(c);
    t->client_keep_alive = false;
    t->error = c->parser.reason;
    const char *code = c->parser.status == 413 ? "body_too_large"
                       : c->parser.status == 431 ? "headers_too_large" : "bad_request";
    txn_error(t, c->parser.status, "invalid_request_error", code, c->parser.reason);
    c->closing = true;
}

/* Parses what has arrived, one event at a time, until more input is needed or the
 * transaction cannot take more (backpressure, or a pipelined request waiting). */
static void process(struct client *c)
{
    while (!c->closing && !c->dead) {
        struct txn *t = c->txn;
        /* A message still open is parsed on to its DONE even when it has no body
         * (DONE may come with nothing consumed); a pipelined one waits. */
        if (t && ((t->req_done && !c->msg_open) || !txn_wants_body(t)))
            break;
        if (c->in.len == 0 && !c->msg_open)
            break;
        if (!t && !c->msg_open && !c->head_timer) {
            c->head_timer = true; /* a request started: it has `header` to arrive whole */
            arm_timer(c, c->fe->conf->timeouts.header);
        }
        size_t used = 0, blen = 0;
        const char *body = NULL;
        enum http1_event ev = http1_parse(&c->parser, nbuf_data(&c->in), c->in.len, &used, &c->head,
                                          &body, &blen);
        switch (ev) {
        case HTTP1_HEAD:
            c->msg_open = true;
            arm_timer(c, 0);
            txn_begin(c);
            nbuf_consume(&c->in, used);
            break;
        case HTTP1_BODY:
            if (c->txn)
                txn_request_body(c->txn, body, blen);
            nbuf_consume(&c->in, used);
            break;
        case HTTP1_DONE:
            c->msg_open = false;
            nbuf_consume(&c->in, used);
            if (c->txn)
                txn_request_end(c->txn);
            break;
        case HTTP1_NEED_MORE:
            nbuf_consume(&c->in, used);
            c->msg_open = false;
            return;
        default:
            reject(c);
            return;
        }
    }
}

static void read_input(struct client *c)
{
    size_t max = c->fe->conf->limits.max_header_bytes + CLIENT_IN_SLACK;
    if (!nbuf_reserve(&c->in, PROXY_IN_CHUNK, max))
        return; /* full: process() frees room as the transaction takes input */
    ssize_t n = c->tp->read(c->fd, c->tp_ctx, nbuf_tail(&c->in), nbuf_room(&c->in));
    if (n == NET_AGAIN)
        return;
    if (n < 0) {
        c->eof = true;
        if (n == NET_ERR)
            c->dead = true;
        return;
    }
    c->in.len += (uint32_t)n;
}

/* Decides, at the end of every callback, whether the connection lives on. */
static void settle(struct client *c)
{
    if (c->eof && c->txn && !c->txn->resp_done && !c->dead) {
        /* The client left mid-request: stop the upstream at once. */
        c->dead = true;
    }
    if (c->dead || (c->eof && !c->txn) || (c->closing && !c->txn && c->out.len == 0)) {
        client_free(c);
        return;
    }
    c->reading = c->in.len < c->fe->conf->limits.max_header_bytes + CLIENT_IN_SLACK;
    set_events(c);
}

static void client_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    struct client *c = io->data;
    if ((revents & EV_WRITE) && !flush(c)) {
        settle(c);
        return;
    }
    if (revents & EV_READ)
        read_input(c);
    if (revents & (EV_READ | EV_CUSTOM))
        process(c);
    if (c->closing && c->out.len && !c->dead)
        flush(c);
    settle(c);
}

static void client_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct client *c = t->data;
    if (!deadline_expired(loop, &c->timer))
        return;
    if (c->txn) {
        /* A response is due but the client stopped reading it. */
        c->dead = true;
    } else if (c->in.len || c->msg_open) {
        struct txn *tx = txn_begin_rejected(c);
        tx->client_keep_alive = false;
        tx->error = "request head timeout";
        txn_error(tx, 408, "invalid_request_error", "request_timeout", "the request head took too long");
        c->closing = true;
    } else {
        c->dead = true; /* idle keep-alive connection */
    }
    settle(c);
}

void proxy_begin_stop(struct worker *w)
{
    struct client *c = w->px->clients;
    while (c) {
        struct client *next = c->next;
        c->closing = true; /* idle ones close now, busy ones after their response */
        if (!c->txn)
            settle(c);
        c = next;
    }
}

void proxy_close_all(struct worker *w)
{
    while (w->px->clients)
        client_free(w->px->clients);
}

uint32_t proxy_client_count(const struct worker *w)
{
    return w->px->client_count;
}
