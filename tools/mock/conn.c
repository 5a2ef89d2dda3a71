/* conn.c - connections: accept, llhttp parsing, pipelining, output, closing.
 *
 * Pipelining: on_message_complete pauses the parser, so exactly one request is being
 * served per connection; later requests wait, unparsed, in rbuf until the response
 * is complete (conn_request_done), which keeps responses in request order.
 *
 * Lifetime: only the top-level libev callbacks free a connection (conn_settle at
 * their end). Code below them reports fatal trouble by setting `broken`, so nothing
 * on the stack ever touches a freed connection.
 */
#include "mock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define OUT_HIGH_WATER (1u << 20) /* free buffers above this once idle */
#define LINGER_SECONDS 2.0

bool buf_reserve(struct buf *b, size_t extra)
{
    if (extra <= b->cap - b->len)
        return true;
    if (extra > SIZE_MAX / 2 - b->len)
        return false;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return false;
    b->p = p;
    b->cap = cap;
    return true;
}

bool buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return true;
    if (!buf_reserve(b, n))
        return false;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return true;
}

void buf_free(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static struct conn *conn_of(llhttp_t *p)
{
    return p->data;
}

/* ---- llhttp callbacks: collect one request ---- */

static int on_message_begin(llhttp_t *p)
{
    struct conn *c = conn_of(p);
    c->head.len = 0;
    c->target_len = 0;
    c->nhdrs = 0;
    c->in_value = true; /* the next field starts a new header */
    c->body.len = 0;
    c->reject = 0;
    c->delayed = false;
    return 0;
}

static int head_add(struct conn *c, const char *at, size_t n)
{
    if (n > MOCK_MAX_HEADER_BYTES - c->head.len) {
        c->reject = 431;
        return HPE_USER;
    }
    if (!buf_append(&c->head, at, n)) {
        c->reject = 500;
        return HPE_USER;
    }
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    struct conn *c = conn_of(p);
    int rc = head_add(c, at, n);
    c->target_len += (uint32_t)n;
    return rc;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    struct conn *c = conn_of(p);
    if (c->in_value) {
        if (c->nhdrs == MOCK_MAX_HEADERS) {
            c->reject = 431;
            return HPE_USER;
        }
        struct hdr *h = &c->hdrs[c->nhdrs++];
        memset(h, 0, sizeof *h);
        h->name = (uint32_t)c->head.len;
        c->in_value = false;
    }
    int rc = head_add(c, at, n);
    c->hdrs[c->nhdrs - 1].name_len += (uint32_t)n;
    return rc;
}

/* Marks where the value starts even when the value is empty (no on_header_value). */
static int on_header_field_complete(llhttp_t *p)
{
    struct conn *c = conn_of(p);
    c->hdrs[c->nhdrs - 1].value = (uint32_t)c->head.len;
    c->in_value = true;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    struct conn *c = conn_of(p);
    int rc = head_add(c, at, n);
    c->hdrs[c->nhdrs - 1].value_len += (uint32_t)n;
    return rc;
}

/* llhttp drops leading whitespace of a value but keeps trailing; RFC 9110 says
 * neither is part of it. */
static int on_header_value_complete(llhttp_t *p)
{
    struct conn *c = conn_of(p);
    struct hdr *h = &c->hdrs[c->nhdrs - 1];
    while (h->value_len > 0 && (c->head.p[h->value + h->value_len - 1] == ' ' ||
                                c->head.p[h->value + h->value_len - 1] == '\t'))
        h->value_len--;
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    struct conn *c = conn_of(p);
    c->http10 = p->http_major == 1 && p->http_minor == 0;
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > MOCK_MAX_BODY) {
        c->reject = 413;
        return -1;
    }
    size_t n;
    const char *e = conn_header(c, "expect", &n);
    if (e && n == 12 && strncasecmp(e, "100-continue", 12) == 0 && !c->http10) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (!buf_append(&c->out, cont, sizeof cont - 1))
            c->broken = true;
        conn_flush(c); /* the client waits for it before sending the body */
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    struct conn *c = conn_of(p);
    if (n > MOCK_MAX_BODY - c->body.len) {
        c->reject = 413;
        return HPE_USER;
    }
    if (!buf_append(&c->body, at, n)) {
        c->reject = 500;
        return HPE_USER;
    }
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct conn *c = conn_of(p);
    c->keep_alive = llhttp_should_keep_alive(p) != 0;
    return HPE_PAUSED; /* serve this request before parsing the next one */
}

static const llhttp_settings_t parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

const char *conn_header(const struct conn *c, const char *name, size_t *len)
{
    size_t n = strlen(name);
    for (unsigned i = 0; i < c->nhdrs; i++) {
        const struct hdr *h = &c->hdrs[i];
        if (h->name_len == n && strncasecmp(c->head.p + h->name, name, n) == 0) {
            *len = h->value_len;
            return c->head.p + h->value;
        }
    }
    *len = 0;
    return NULL;
}

struct req conn_req(const struct conn *c)
{
    struct req r;
    r.method = (int)c->parser.method;
    r.target = c->head.p ? c->head.p : "";
    r.target_len = c->target_len;
    r.path = r.target;
    r.path_len = r.target_len;
    /* absolute-form (what a forward proxy sends): route on its path */
    if (r.path_len > 7 && (strncasecmp(r.path, "http://", 7) == 0 ||
                           strncasecmp(r.path, "https://", 8) == 0)) {
        const char *auth = memchr(r.path, '/', r.path_len) + 2;
        const char *slash = memchr(auth, '/', r.target_len - (size_t)(auth - r.target));
        r.path = slash ? slash : "/";
        r.path_len = slash ? r.target_len - (size_t)(slash - r.target) : 1;
    }
    const char *q = memchr(r.path, '?', r.path_len);
    if (q)
        r.path_len = (size_t)(q - r.path);
    r.body = c->body.p ? c->body.p : "";
    r.body_len = c->body.len;
    return r;
}

/* ---- output ---- */

static void start_linger(struct conn *c);

void conn_send(struct conn *c, const struct iovec *iov, int n)
{
    if (c->broken)
        return;
    size_t done = 0;
    if (!c->corked && c->out.len == 0) {
        ssize_t w;
        do
            w = writev(c->fd, iov, n);
        while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            c->broken = true;
            return;
        }
        done = w > 0 ? (size_t)w : 0;
    }
    for (int i = 0; i < n; i++) {
        size_t skip = done < iov[i].iov_len ? done : iov[i].iov_len;
        done -= skip;
        if (!buf_append(&c->out, (const char *)iov[i].iov_base + skip,
                        iov[i].iov_len - skip)) {
            c->broken = true;
            return;
        }
    }
    if (!c->corked && c->out.len > 0)
        ev_io_start(c->srv->loop, &c->wio);
}

void conn_flush(struct conn *c)
{
    while (!c->broken && c->out_off < c->out.len) {
        ssize_t w = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off,
                         MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                ev_io_start(c->srv->loop, &c->wio);
                return;
            }
            c->broken = true;
            return;
        }
        c->out_off += (size_t)w;
    }
    ev_io_stop(c->srv->loop, &c->wio);
    c->out.len = c->out_off = 0;
    if (c->out.cap > OUT_HIGH_WATER)
        buf_free(&c->out);
    if (c->broken)
        return;
    if (c->state == CS_STREAM) {
        if (c->stream.dropped)
            c->broken = true; /* --drop-after: the events are out, now vanish */
        else if (c->stream.waiting_drain)
            stream_drained(c);
    } else if (c->close_after && c->state == CS_READ) {
        start_linger(c);
    }
}

/* ---- input ---- */

static void reject(struct conn *c, llhttp_errno_t e)
{
    c->keep_alive = false;
    int status = c->reject ? c->reject : 400;
    char msg[160];
    if (status == 400)
        snprintf(msg, sizeof msg, "malformed HTTP request: %s",
                 llhttp_get_error_reason(&c->parser) ? llhttp_get_error_reason(&c->parser)
                                                     : llhttp_errno_name(e));
    else
        snprintf(msg, sizeof msg, "%s", reply_reason(status));
    reply_error(c, status, msg);
    c->close_after = true;
}

/* Parse and serve buffered requests until one goes asynchronous or input runs out. */
static void process_input(struct conn *c)
{
    if (c->in_process)
        return; /* the outer call's loop picks up where this one would */
    c->in_process = true;
    c->corked = true;
    while (c->state == CS_READ && !c->close_after && !c->broken && c->rpos < c->rlen) {
        const char *data = c->rbuf + c->rpos;
        llhttp_errno_t e = llhttp_execute(&c->parser, data, c->rlen - c->rpos);
        if (e == HPE_OK) {
            c->rpos = c->rlen;
            break;
        }
        c->rpos += (uint32_t)(llhttp_get_error_pos(&c->parser) - data);
        if (e == HPE_PAUSED) {
            llhttp_resume(&c->parser);
            route_request(c);
        } else if (e == HPE_PAUSED_UPGRADE) {
            c->close_after = true; /* we never switch protocols */
        } else {
            reject(c, e);
        }
    }
    if (c->rpos == c->rlen)
        c->rpos = c->rlen = 0;
    c->corked = false;
    c->in_process = false;
    conn_flush(c);
}

void conn_request_done(struct conn *c)
{
    bool async = c->state != CS_READ;
    c->state = CS_READ;
    ev_timer_stop(c->srv->loop, &c->timer);
    if (!c->keep_alive)
        c->close_after = true;
    if (c->body.cap > OUT_HIGH_WATER)
        buf_free(&c->body);
    if (async) {
        ev_io_start(c->srv->loop, &c->rio);
        process_input(c);
    }
}

static void linger_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct conn *c = w->data;
    c->broken = true;
    conn_settle(c);
}

/* Shut our side and read until the peer closes, so that unread request bytes (a
 * rejected body, say) do not turn our close into a reset that eats the response. */
static void start_linger(struct conn *c)
{
    c->state = CS_LINGER;
    c->rpos = c->rlen = 0; /* unparsed input is discarded from now on */
    shutdown(c->fd, SHUT_WR);
    ev_io_start(c->srv->loop, &c->rio);
    ev_timer_stop(c->srv->loop, &c->timer);
    ev_set_cb(&c->timer, linger_cb);
    ev_timer_set(&c->timer, LINGER_SECONDS, 0.);
    ev_timer_start(c->srv->loop, &c->timer);
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct conn *c = w->data;
    if (c->rlen == MOCK_RBUF && c->rpos > 0) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen -= c->rpos;
        c->rpos = 0;
    }
    if (c->rlen == MOCK_RBUF) {
        ev_io_stop(loop, w); /* busy with a response; resumed when it is done */
        return;
    }
    ssize_t n = read(c->fd, c->rbuf + c->rlen, MOCK_RBUF - c->rlen);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) { /* the client is gone (mid-stream: counted as aborted) */
        c->broken = true;
    } else if (c->state == CS_LINGER) {
        c->rlen = 0; /* discard */
    } else {
        c->rlen += (uint32_t)n;
        if (c->state == CS_READ)
            process_input(c);
    }
    conn_settle(c);
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct conn *c = w->data;
    conn_flush(c);
    conn_settle(c);
}

void conn_settle(struct conn *c)
{
    if (c->broken)
        conn_close(c);
}

void conn_close(struct conn *c)
{
    struct server *s = c->srv;
    if (c->state == CS_STREAM && !c->stream.dropped)
        s->st.streams_aborted++;
    ev_io_stop(s->loop, &c->rio);
    ev_io_stop(s->loop, &c->wio);
    ev_timer_stop(s->loop, &c->timer);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->st.connections_open--;
    buf_free(&c->head);
    buf_free(&c->body);
    buf_free(&c->out);
    free(c);
}

static void conn_new(struct server *s, int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->srv = s;
    c->fd = fd;
    llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
    c->parser.data = c;
    ev_io_init(&c->rio, read_cb, fd, EV_READ);
    ev_io_init(&c->wio, write_cb, fd, EV_WRITE);
    ev_init(&c->timer, linger_cb);
    c->rio.data = c->wio.data = c->timer.data = c;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->st.connections_accepted++;
    s->st.connections_open++;
    ev_io_start(s->loop, &c->rio);
}

static void accept_resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct server *s = w->data;
    ev_io_start(loop, &s->accept_w);
}

void conn_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct server *s = w->data;
    for (int i = 0; i < 64; i++) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            conn_new(s, fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* out of resources: stop accepting for a moment instead of spinning */
            ev_io_stop(loop, &s->accept_w);
            ev_timer_init(&s->accept_pause, accept_resume_cb, 0.1, 0.);
            s->accept_pause.data = s;
            ev_timer_start(loop, &s->accept_pause);
        }
        return;
    }
}
