/* serve.c - running: workers, listeners, signals, graceful stop. */
#include "cli/serve.h"

#include <ev.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "admin/admin.h"
#include "health/health.h"
#include "log/log.h"
#include "runtime/runtime.h"
#include "worker/worker.h"

struct server_state {
    struct worker *workers;
    uint32_t count;
    struct admin *admin;
    struct health *health;
    bool stopping;
};

/* Raises the open-file limit to its hard maximum and derives a connection limit
 * from it: each client connection may need an upstream one. */
static uint64_t default_max_connections(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 10000;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur > 256 ? (uint64_t)(rl.rlim_cur - 128) / 2 : 64;
}

static void on_stop_signal(struct ev_loop *loop, ev_signal *s, int revents)
{
    (void)revents;
    struct server_state *st = s->data;
    if (st->stopping)
        return;
    st->stopping = true;
    log_info("signal %d: stopping (grace period applies to requests in flight)", s->signum);
    if (st->admin)
        admin_stop(st->admin);
    health_stop(st->health);
    st->health = NULL;
    workers_stop(st->workers, st->count);
    ev_break(loop, EVBREAK_ALL);
}

static void on_hup(struct ev_loop *loop, ev_signal *s, int revents)
{
    (void)loop;
    (void)s;
    (void)revents;
    log_warn("SIGHUP: configuration reload is not available in this version; the running configuration stays");
}

uint32_t serve_worker_count(const struct conf *c)
{
    if (c->global.workers)
        return c->global.workers;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 1024 ? (uint32_t)n : 1;
}

int serve(struct conf *c)
{
    signal(SIGPIPE, SIG_IGN);
    log_set_level(c->global.log_level);
    uint32_t workers = serve_worker_count(c);
    struct conf_diags d;
    conf_diags_init(&d);
    struct runtime *rt = runtime_create(c, workers, &d);
    if (!rt) {
        conf_diags_print(&d, stderr);
        conf_diags_free(&d);
        conf_release(c);
        return 1;
    }
    conf_diags_free(&d);

    static struct workers_shared shared;
    shared.max_connections = c->global.max_connections ? c->global.max_connections
                                                       : default_max_connections();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    shared.id_seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_sec;
    if (!access_log_open(&shared.access, &c->global)) {
        log_error("cannot open the access log '%s'", c->global.access_file);
        runtime_release(rt);
        return 1;
    }
    /* Signal handlers go in before anything listens: a supervisor may send SIGTERM
     * as soon as the port accepts. */
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    struct server_state st = {0};
    ev_signal sterm, sint, shup;
    ev_signal_init(&sterm, on_stop_signal, SIGTERM);
    ev_signal_init(&sint, on_stop_signal, SIGINT);
    ev_signal_init(&shup, on_hup, SIGHUP);
    sterm.data = sint.data = shup.data = &st;
    ev_signal_start(loop, &sterm);
    ev_signal_start(loop, &sint);
    ev_signal_start(loop, &shup);

    uint32_t binds = workers_bind_count(rt);
    int *fds = calloc((size_t)workers * binds + 1, sizeof *fds);
    if (!fds || !workers_listen(rt, workers, fds)) {
        free(fds);
        access_log_close(&shared.access);
        runtime_release(rt);
        return 1;
    }
    if (c->admin.enabled) {
        st.admin = admin_start(loop, rt, &c->admin);
        if (!st.admin) {
            for (uint32_t i = 0; i < workers * binds; i++)
                close(fds[i]);
            free(fds);
            access_log_close(&shared.access);
            runtime_release(rt);
            return 1;
        }
    }
    runtime_set_current(rt);
    st.health = health_start(loop, rt);
    /* Workers inherit a mask without the stop signals: they go to this thread. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    st.workers = workers_start(rt, workers, fds, &shared);
    st.count = workers;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(fds);

    for (uint32_t f = 0; f < rt->frontend_count; f++)
        for (size_t b = 0; b < rt->frontends[f].conf->bind_count; b++)
            log_info("frontend %s listening on %s", rt->frontends[f].conf->name,
                     rt->frontends[f].conf->binds[b].text);
    log_info("sluice started with %u worker(s)", workers);

    ev_run(loop, 0);

    workers_join(st.workers, st.count);
    health_stop(st.health);
    if (st.admin)
        admin_free(st.admin);
    ev_signal_stop(loop, &sterm);
    ev_signal_stop(loop, &sint);
    ev_signal_stop(loop, &shup);
    ev_loop_destroy(loop);
    access_log_close(&shared.access);
    runtime_set_current(NULL);
    runtime_release(rt);
    log_info("stopped");
    return 0;
}
