/* stream.c - paced server-sent event streams, independent of the provider format.
 *
 * Timeline: headers and the provider's head events go out at once (after
 * --latency); token 0 is due --ttft later, token i at ttft + i / tps. With tps 0 the
 * tokens go out as fast as the client reads: in batches, yielding to the loop between
 * batches and waiting for the output to drain when the client is slow.
 * --drop-after N closes the connection right after the N-th event reaches the socket.
 */
#include "mock.h"

#include <math.h>

#define UNPACED_BATCH 256u          /* events per loop iteration when unpaced */
#define DRAIN_HIGH (256u * 1024u)   /* unpaced: pause above this much unsent output */

static void rearm(struct conn *c, double after)
{
    struct ev_loop *loop = c->srv->loop;
    ev_timer_stop(loop, &c->timer);
    ev_set_cb(&c->timer, stream_timer_cb);
    ev_timer_set(&c->timer, after > 0 ? after : 0., 0.);
    ev_timer_start(loop, &c->timer);
}

bool stream_event_raw(struct conn *c, const char *event, const char *data, size_t n)
{
    struct stream *st = &c->stream;
    if (c->broken || st->dropped || !reply_stream_event(c, event, data, n))
        return false;
    st->events++;
    unsigned drop = c->srv->cfg.drop_after;
    if (drop && st->events >= drop) {
        st->dropped = true;
        c->srv->st.streams_dropped++;
        ev_timer_stop(c->srv->loop, &c->timer);
        conn_flush(c); /* closes (via broken) once what was sent is out */
        return false;
    }
    return true;
}

bool stream_event(struct conn *c, const char *event, json_build_fn fn, void *ctx)
{
    if (!build_json(c->srv, fn, ctx)) {
        c->broken = true;
        return false;
    }
    return stream_event_raw(c, event, c->srv->scratch.p, c->srv->scratch.len);
}

void stream_start(struct conn *c, const struct stream_ops *ops)
{
    struct stream *st = &c->stream;
    struct server *s = c->srv;
    st->ops = ops;
    st->chunked = !c->http10;
    if (c->http10)
        c->keep_alive = false; /* the stream ends when the connection does */
    c->state = CS_STREAM;
    if (!reply_stream_head(c) || !ops->head(c, st))
        return;
    st->first_token_at = ev_now(s->loop) + s->cfg.ttft;
    rearm(c, s->cfg.ttft);
}

/* Number of tokens that should have been sent by now. */
static unsigned tokens_due(const struct conn *c)
{
    const struct stream *st = &c->stream;
    double tps = c->srv->cfg.tps;
    if (tps <= 0)
        return st->tokens;
    double elapsed = ev_now(c->srv->loop) - st->first_token_at;
    if (elapsed < 0)
        return 0;
    double due = floor(elapsed * tps + 1e-6) + 1;
    return due >= st->tokens ? st->tokens : (unsigned)due;
}

static void pump_events(struct conn *c)
{
    struct stream *st = &c->stream;
    double tps = c->srv->cfg.tps;
    unsigned due = tokens_due(c), batch = 0;
    while (st->sent < due) {
        if (tps <= 0 && batch == UNPACED_BATCH) {
            rearm(c, 0); /* let other connections run */
            return;
        }
        if (tps <= 0 && c->out.len > DRAIN_HIGH) {
            ev_timer_stop(c->srv->loop, &c->timer);
            st->waiting_drain = true; /* conn_flush calls stream_drained */
            return;
        }
        if (!st->ops->token(c, st, st->sent))
            return;
        st->sent++;
        batch++;
    }
    if (st->sent < st->tokens) {
        rearm(c, st->first_token_at + st->sent / tps - ev_now(c->srv->loop));
        return;
    }
    if (!st->ops->tail(c, st))
        return;
    reply_stream_end(c);
    if (!c->broken)
        conn_request_done(c);
}

/* Events of one loop iteration leave in one write. */
static void pump(struct conn *c)
{
    c->corked = true;
    pump_events(c);
    c->corked = false;
    conn_flush(c);
}

void stream_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct conn *c = w->data;
    pump(c);
    conn_settle(c);
}

/* Called from conn_flush: continue on the next loop iteration rather than recurse. */
void stream_drained(struct conn *c)
{
    c->stream.waiting_drain = false;
    rearm(c, 0);
}
