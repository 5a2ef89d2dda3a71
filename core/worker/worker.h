/* worker.h - worker threads: one event loop each, with its own listening sockets.
 *
 * Each worker has its own SO_REUSEPORT socket for every frontend bind, so the
 * kernel spreads connections and workers never share a lock on the request path.
 * The main thread creates the sockets (bind errors surface before anything
 * starts), starts the workers, and later asks them to stop: listeners close at
 * once, requests in flight get the grace period, then everything is closed.
 */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "log/log.h"
#include "runtime/runtime.h"

struct proxy_worker;
struct worker;

struct listener {
    ev_io io;
    int fd;
    struct worker *w;
    const struct frontend_rt *fe;
};

/* What every worker shares with the process. */
struct workers_shared {
    _Atomic uint64_t connections;   /* open client connections, all workers */
    uint64_t max_connections;       /* global limit */
    struct access_log access;
    uint64_t id_seed;               /* random part of generated request ids */
};

struct worker {
    uint32_t id;
    pthread_t thread;
    struct ev_loop *loop;
    struct runtime *rt;             /* one reference */
    struct workers_shared *shared;
    struct listener *listeners;
    uint32_t listener_count;
    bool accepting;                 /* listeners started */
    ev_timer resume;                /* retry accepting after the limit or EMFILE */
    ev_async wake;
    _Atomic int stop_requested;
    bool stopping;
    ev_timer grace;
    struct proxy_worker *px;
    uint64_t rng;
};

/* Opens one listening socket per worker and bind into `fds` (count = workers *
 * binds, worker-major). Returns false after logging which bind failed. */
bool workers_listen(const struct runtime *rt, uint32_t workers, int *fds);
/* Starts `count` workers using the sockets from workers_listen(). */
struct worker *workers_start(struct runtime *rt, uint32_t count, const int *fds,
                             struct workers_shared *shared);
/* Asks every worker to stop gracefully; returns at once. */
void workers_stop(struct worker *ws, uint32_t count);
/* Waits for every worker thread and frees them. */
void workers_join(struct worker *ws, uint32_t count);

/* Number of binds across all frontends. */
uint32_t workers_bind_count(const struct runtime *rt);

/* Called by the proxy when a client connection closes (global limit accounting). */
void worker_conn_closed(struct worker *w);
/* Whether the worker is stopping and has nothing left to finish. */
void worker_maybe_done(struct worker *w);

#endif
