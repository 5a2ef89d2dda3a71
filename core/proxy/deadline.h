/* deadline.h - a connection's single timeout, moved without touching libev's timer
 * heap on every request.
 *
 * Connections change their deadline several times per request (header, server,
 * idle...). Setting a deadline only records it; the libev timer is restarted only
 * when the new deadline is earlier than the armed one. When the timer fires early,
 * deadline_expired() re-arms it for the rest (libev's "lazy timeout" pattern).
 */
#ifndef SLUICE_DEADLINE_H
#define SLUICE_DEADLINE_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

struct deadline {
    ev_timer timer;
    ev_tstamp due;              /* loop time; 0 = none */
};

static inline void deadline_set(struct ev_loop *loop, struct deadline *d, uint64_t ms)
{
    if (!ms) {
        d->due = 0; /* the armed timer, if any, will find nothing due */
        return;
    }
    ev_tstamp after = (ev_tstamp)ms / 1000.0;
    d->due = ev_now(loop) + after;
    if (!ev_is_active(&d->timer) || ev_timer_remaining(loop, &d->timer) > after + 0.001) {
        ev_timer_stop(loop, &d->timer);
        ev_timer_set(&d->timer, after, 0.);
        ev_timer_start(loop, &d->timer);
    }
}

/* Makes the timer callback run on the next loop iteration, deadline passed. */
static inline void deadline_now(struct ev_loop *loop, struct deadline *d)
{
    d->due = ev_now(loop) - 1.0;
    ev_timer_stop(loop, &d->timer);
    ev_timer_set(&d->timer, 0., 0.);
    ev_timer_start(loop, &d->timer);
}

/* For the timer callback: true when the deadline has passed (and clears it);
 * otherwise re-arms the timer for what is left and returns false. */
static inline bool deadline_expired(struct ev_loop *loop, struct deadline *d)
{
    if (!d->due)
        return false;
    ev_tstamp left = d->due - ev_now(loop);
    if (left > 0.0005) {
        ev_timer_set(&d->timer, left, 0.);
        ev_timer_start(loop, &d->timer);
        return false;
    }
    d->due = 0;
    return true;
}

static inline void deadline_stop(struct ev_loop *loop, struct deadline *d)
{
    d->due = 0;
    ev_timer_stop(loop, &d->timer);
}

#endif
