/* worker.c - worker threads, listeners, accepting and graceful stop. */
#include "worker/worker.h"

#include "plugin/plugin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "proxy/proxy.h"

#define ACCEPT_BATCH 64
#define LISTEN_BACKLOG 4096

uint32_t workers_bind_count(const struct runtime *rt)
{
    uint32_t n = 0;
    for (uint32_t f = 0; f < rt->frontend_count; f++)
        n += (uint32_t)rt->frontends[f].conf->bind_count;
    return n;
}

bool workers_listen(const struct runtime *rt, uint32_t workers, int *fds)
{
    uint32_t binds = workers_bind_count(rt);
    for (uint32_t i = 0; i < workers * binds; i++)
        fds[i] = -1;
    for (uint32_t w = 0; w < workers; w++) {
        uint32_t k = 0;
        for (uint32_t f = 0; f < rt->frontend_count; f++) {
            const struct conf_frontend *fe = rt->frontends[f].conf;
            for (size_t b = 0; b < fe->bind_count; b++, k++) {
                const struct conf_bind *bd = &fe->binds[b];
                int fd = net_listen((const struct sockaddr *)&bd->addr, bd->addr_len, LISTEN_BACKLOG, true);
                if (fd < 0) {
                    log_error("frontend %s: cannot listen on %s: %s", fe->name, bd->text, strerror(errno));
                    for (uint32_t i = 0; i < workers * binds; i++)
                        if (fds[i] >= 0)
                            close(fds[i]);
                    return false;
                }
                fds[w * binds + k] = fd;
            }
        }
    }
    return true;
}

static void listeners_stop(struct worker *w)
{
    for (uint32_t i = 0; i < w->listener_count; i++)
        ev_io_stop(w->loop, &w->listeners[i].io);
    w->accepting = false;
}

static void listeners_start(struct worker *w)
{
    for (uint32_t i = 0; i < w->listener_count; i++)
        ev_io_start(w->loop, &w->listeners[i].io);
    w->accepting = true;
}

/* Takes a slot under the global limit; false when the process is full. */
static bool conn_slot(struct worker *w)
{
    uint64_t n = atomic_fetch_add_explicit(&w->shared->connections, 1, memory_order_relaxed);
    if (w->shared->max_connections && n >= w->shared->max_connections) {
        atomic_fetch_sub_explicit(&w->shared->connections, 1, memory_order_relaxed);
        return false;
    }
    return true;
}

void worker_conn_closed(struct worker *w)
{
    atomic_fetch_sub_explicit(&w->shared->connections, 1, memory_order_relaxed);
}

/* Full, or out of descriptors: stop accepting and look again shortly. Pending
 * connections wait in the kernel's backlog meanwhile. */
static void pause_accepting(struct worker *w)
{
    listeners_stop(w);
    ev_timer_set(&w->resume, 0.05, 0.);
    ev_timer_start(w->loop, &w->resume);
}

static void on_resume(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct worker *w = t->data;
    if (!w->stopping && !w->accepting)
        listeners_start(w);
}

static void on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    struct listener *l = (struct listener *)io;
    struct worker *w = l->w;
    for (int i = 0; i < ACCEPT_BATCH && w->accepting; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warn("worker %u: cannot accept: %s; pausing", w->id, strerror(errno));
                pause_accepting(w);
            }
            return;
        }
        if (!conn_slot(w)) {
            close(fd);
            pause_accepting(w);
            return;
        }
        proxy_accept(w, l, fd, &peer);
    }
}

static void on_grace(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct worker *w = t->data;
    log_info("worker %u: grace period over, closing %u connection(s)", w->id, proxy_client_count(w));
    proxy_close_all(w);
    ev_break(loop, EVBREAK_ALL);
}

void worker_maybe_done(struct worker *w)
{
    if (w->stopping && proxy_client_count(w) == 0)
        ev_break(w->loop, EVBREAK_ALL);
}

static void on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)revents;
    struct worker *w = a->data;
    if (!atomic_load(&w->stop_requested) || w->stopping)
        return;
    w->stopping = true;
    listeners_stop(w);
    ev_timer_stop(loop, &w->resume);
    for (uint32_t i = 0; i < w->listener_count; i++) {
        close(w->listeners[i].fd);
        w->listeners[i].fd = -1;
    }
    proxy_begin_stop(w);
    ev_timer_set(&w->grace, (double)w->rt->conf->global.grace / 1000.0, 0.);
    ev_timer_start(loop, &w->grace);
    worker_maybe_done(w);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    plugins_worker_start(w->rt->conf, w);
    ev_run(w->loop, 0);
    proxy_worker_free(w); /* ends what is left, then plugins_worker_stop */
    ev_loop_destroy(w->loop);
    nbuf_cache_drain();
    return NULL;
}

struct worker *workers_start(struct runtime *rt, uint32_t count, const int *fds,
                             struct workers_shared *shared)
{
    uint32_t binds = workers_bind_count(rt);
    struct worker *ws = calloc(count, sizeof *ws);
    if (!ws)
        abort();
    for (uint32_t i = 0; i < count; i++) {
        struct worker *w = &ws[i];
        w->id = i;
        w->rt = runtime_retain(rt);
        w->shared = shared;
        w->rng = 0x9e3779b97f4a7c15ull * (i + 1);
        w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
        if (!w->loop)
            abort();
        w->listeners = calloc(binds ? binds : 1, sizeof *w->listeners);
        if (!w->listeners)
            abort();
        w->listener_count = binds;
        uint32_t k = 0;
        for (uint32_t f = 0; f < rt->frontend_count; f++) {
            for (size_t b = 0; b < rt->frontends[f].conf->bind_count; b++, k++) {
                struct listener *l = &w->listeners[k];
                l->fd = fds[i * binds + k];
                l->w = w;
                l->fe = &rt->frontends[f];
                ev_io_init(&l->io, on_accept, l->fd, EV_READ);
            }
        }
        ev_timer_init(&w->resume, on_resume, 0., 0.);
        w->resume.data = w;
        ev_timer_init(&w->grace, on_grace, 0., 0.);
        w->grace.data = w;
        ev_async_init(&w->wake, on_wake);
        w->wake.data = w;
        ev_async_start(w->loop, &w->wake);
        proxy_worker_init(w);
        listeners_start(w);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            log_error("cannot start worker thread %u", i);
            abort();
        }
    }
    return ws;
}

void workers_stop(struct worker *ws, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        atomic_store(&ws[i].stop_requested, 1);
        ev_async_send(ws[i].loop, &ws[i].wake);
    }
}

void workers_join(struct worker *ws, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        pthread_join(ws[i].thread, NULL);
        for (uint32_t k = 0; k < ws[i].listener_count; k++)
            if (ws[i].listeners[k].fd >= 0)
                close(ws[i].listeners[k].fd);
        free(ws[i].listeners);
        runtime_release(ws[i].rt);
    }
    free(ws);
}
