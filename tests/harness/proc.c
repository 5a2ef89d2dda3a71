/* proc.c - child processes for integration tests (see proc.h). */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_PROCS 64
#define OUT_KEEP (4u << 20) /* captured output kept per child */

struct proc {
    pid_t pid;
    int out_fd;
    pthread_t reader;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *buf;          /* output so far (a window of it, see OUT_KEEP) */
    size_t len, cap;
    size_t cursor;      /* start of the first line not yet consumed */
    bool eof, stop;     /* stdout closed; reader asked to quit */
    bool reaped;
    int status;
    bool echo;
    char label[32];
};

static proc *registry[MAX_PROCS];

double proc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int decode_status(int ws)
{
    if (WIFEXITED(ws))
        return WEXITSTATUS(ws);
    if (WIFSIGNALED(ws))
        return 128 + WTERMSIG(ws);
    return -1;
}

const char *proc_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* The executable named by env_var, or build_path below SLUICE_BUILD_DIR. */
static const char *build_bin(char *buf, size_t cap, const char *env_var, const char *build_path)
{
    const char *v = proc_env(env_var);
    const char *dir = proc_env("SLUICE_BUILD_DIR");
    if (v)
        snprintf(buf, cap, "%s", v);
    else if (dir)
        snprintf(buf, cap, "%s/%s", dir, build_path);
    else
        return NULL;
    return access(buf, X_OK) == 0 ? buf : NULL;
}

const char *proc_mock_bin(char *buf, size_t cap)
{
    return build_bin(buf, cap, "SLUICE_MOCK_BIN", "tools/mock/sluice-mock");
}

const char *proc_sluice_bin(char *buf, size_t cap)
{
    return build_bin(buf, cap, "SLUICE_BIN", "core/sluice");
}

#define SLUICE_RUN_ARGS 16

int proc_run_sluice(struct proc_result *r, const struct proc_opts *opts, ...)
{
    char bin[1024];
    char *argv[SLUICE_RUN_ARGS + 2] = {bin};
    va_list ap;
    va_start(ap, opts);
    for (int i = 1; i <= SLUICE_RUN_ARGS; i++)
        if ((argv[i] = (char *)(uintptr_t)va_arg(ap, const char *)) == NULL)
            break;
    va_end(ap);
    if (!proc_sluice_bin(bin, sizeof bin)) {
        fprintf(stderr, "sluice not found (set SLUICE_BIN)\n");
        memset(r, 0, sizeof *r);
        r->status = -1;
        r->out = calloc(1, 1);
        r->err = calloc(1, 1);
        return -1;
    }
    return proc_run(argv, opts, 10000, r);
}

/* environ with opts->env applied; the array is malloc'd, the strings are not. */
static char **build_env(const struct proc_opts *o)
{
    size_t n = 0, add = 0;
    while (environ[n])
        n++;
    while (o && o->env && o->env[add])
        add++;
    char **env = calloc(n + add + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t j = 0; j < add && !replaced; j++) {
            const char *eq = strchr(o->env[j], '=');
            size_t nl = eq ? (size_t)(eq - o->env[j]) + 1 : strlen(o->env[j]);
            replaced = strncmp(environ[i], o->env[j], nl) == 0;
        }
        if (!replaced)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < add; j++)
        env[k++] = (char *)(uintptr_t)o->env[j];
    return env;
}

/* In the child between fork and exec: only async-signal-safe calls. */
static void child_exec(char *const argv[], char **env, const struct proc_opts *o,
                       int out_fd, int err_fd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* die with the test, whatever kills it */
    if (getppid() != parent)
        _exit(127);
    setpgid(0, 0); /* our own group: a stop reaches the child's children too */
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0)
        dup2(null_fd, 0);
    if (out_fd >= 0)
        dup2(out_fd, 1);
    if (err_fd >= 0)
        dup2(err_fd, 2);
    if (o && o->cwd && chdir(o->cwd) != 0)
        _exit(127);
    execvpe(argv[0], argv, env);
    static const char msg[] = "proc: exec failed: ";
    (void)!write(2, msg, sizeof msg - 1);
    (void)!write(2, argv[0], strlen(argv[0]));
    (void)!write(2, "\n", 1);
    _exit(127);
}

/* fork + exec with stdout (and stderr unless err_fd < -1) redirected. */
static pid_t spawn(char *const argv[], const struct proc_opts *o, int out_fd, int err_fd)
{
    char **env = build_env(o);
    if (!env)
        return -1;
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        child_exec(argv, env, o, out_fd, err_fd, parent);
    free(env);
    if (pid > 0)
        setpgid(pid, pid); /* also here, so the group exists before we signal it */
    return pid;
}

static void keep_window(proc *p)
{
    if (p->len <= OUT_KEEP)
        return;
    size_t drop = p->cursor > p->len / 2 ? p->cursor : p->len / 2;
    memmove(p->buf, p->buf + drop, p->len - drop);
    p->len -= drop;
    p->cursor = p->cursor > drop ? p->cursor - drop : 0;
}

static void echo_chunk(const proc *p, const char *s, size_t n)
{
    char line[4096];
    int h = snprintf(line, sizeof line, "[%s] %.*s", p->label,
                     (int)(n < sizeof line - 64 ? n : sizeof line - 64), s);
    if (h > 0)
        (void)!write(2, line, strlen(line));
}

static void *reader_main(void *arg)
{
    proc *p = arg;
    char chunk[8192];
    for (;;) {
        struct pollfd pfd = {p->out_fd, POLLIN, 0};
        int r = poll(&pfd, 1, 100);
        pthread_mutex_lock(&p->mu);
        bool stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        if (r <= 0)
            continue;
        ssize_t n = read(p->out_fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (p->echo)
            echo_chunk(p, chunk, (size_t)n);
        pthread_mutex_lock(&p->mu);
        if (p->len + (size_t)n + 1 > p->cap) {
            size_t cap = (p->len + (size_t)n + 1) * 2;
            char *b = realloc(p->buf, cap);
            if (b) {
                p->buf = b;
                p->cap = cap;
            }
        }
        if (p->len + (size_t)n + 1 <= p->cap) {
            memcpy(p->buf + p->len, chunk, (size_t)n);
            p->len += (size_t)n;
            p->buf[p->len] = '\0';
            keep_window(p);
        }
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_lock(&p->mu);
    p->eof = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static bool registry_add(proc *p)
{
    static bool hooked;
    if (!hooked) {
        atexit(proc_kill_all);
        hooked = true;
    }
    for (int i = 0; i < MAX_PROCS; i++) {
        if (!registry[i]) {
            registry[i] = p;
            return true;
        }
    }
    return false;
}

static void registry_remove(proc *p)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (registry[i] == p)
            registry[i] = NULL;
}

proc *proc_start(char *const argv[], const struct proc_opts *opts)
{
    int fds[2];
    proc *p = calloc(1, sizeof *p);
    if (!p || pipe2(fds, O_CLOEXEC) != 0) {
        free(p);
        fprintf(stderr, "proc_start: %s\n", strerror(errno));
        return NULL;
    }
    const char *base = strrchr(argv[0], '/');
    snprintf(p->label, sizeof p->label, "%s", base ? base + 1 : argv[0]);
    p->echo = (opts && opts->echo) || proc_env("SLUICE_TEST_VERBOSE");
    p->pid = spawn(argv, opts, fds[1], opts && opts->merge_stderr ? fds[1] : -1);
    close(fds[1]);
    p->out_fd = fds[0];
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (p->pid < 0 || !registry_add(p) ||
        pthread_create(&p->reader, NULL, reader_main, p) != 0) {
        fprintf(stderr, "proc_start: cannot start %s\n", argv[0]);
        if (p->pid > 0) {
            kill(-p->pid, SIGKILL);
            waitpid(p->pid, NULL, 0);
        }
        registry_remove(p);
        close(p->out_fd);
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    return p;
}

pid_t proc_pid(const proc *p)
{
    return p->pid;
}

/* Wait on the condition variable until deadline (monotonic ms); false at timeout. */
static bool wait_until(proc *p, double deadline)
{
    double left = deadline - proc_now_ms();
    if (left <= 0)
        return false;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long ns = (long long)ts.tv_nsec + (long long)(left * 1e6);
    ts.tv_sec += (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    return true;
}

bool proc_wait_line(proc *p, const char *prefix, int timeout_ms, char *line, size_t cap)
{
    double deadline = proc_now_ms() + timeout_ms;
    size_t plen = strlen(prefix);
    bool found = false;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        char *nl;
        while (!found && p->buf && (nl = memchr(p->buf + p->cursor, '\n',
                                                p->len - p->cursor)) != NULL) {
            char *start = p->buf + p->cursor;
            size_t n = (size_t)(nl - start);
            p->cursor += n + 1;
            if (n >= plen && memcmp(start, prefix, plen) == 0) {
                if (line && cap)
                    snprintf(line, cap, "%.*s", (int)n, start);
                found = true;
            }
        }
        if (found || p->eof || !wait_until(p, deadline))
            break;
    }
    pthread_mutex_unlock(&p->mu);
    return found;
}

bool proc_wait_output(proc *p, const char *needle, int timeout_ms)
{
    double deadline = proc_now_ms() + timeout_ms;
    bool found = false;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        found = p->buf && strstr(p->buf, needle) != NULL;
        if (found || p->eof || !wait_until(p, deadline))
            break;
    }
    pthread_mutex_unlock(&p->mu);
    return found;
}

bool proc_parse_listening(const char *line, char *host, size_t host_cap, int *port)
{
    const char *at = strstr(line, "listening on ");
    if (!at)
        return false;
    at += strlen("listening on ");
    const char *end = at + strcspn(at, " \r\n");
    const char *colon = NULL;
    for (const char *c = at; c < end; c++)
        if (*c == ':')
            colon = c;
    if (!colon || colon + 1 >= end)
        return false;
    const char *h = at, *he = colon;
    if (*h == '[' && he > h && he[-1] == ']') {
        h++;
        he--;
    }
    char *pe;
    long v = strtol(colon + 1, &pe, 10);
    if (pe != end || v <= 0 || v > 65535)
        return false;
    if (host && host_cap)
        snprintf(host, host_cap, "%.*s", (int)(he - h), h);
    *port = (int)v;
    return true;
}

bool proc_wait_listening(proc *p, int timeout_ms, char *host, size_t host_cap, int *port)
{
    char line[512];
    double deadline = proc_now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - proc_now_ms());
        if (left <= 0 || !proc_wait_line(p, "", left, line, sizeof line))
            return false;
        if (strstr(line, " listening on "))
            return proc_parse_listening(line, host, host_cap, port);
    }
}

static bool reap(proc *p, int flags)
{
    if (p->reaped)
        return true;
    int ws;
    pid_t r;
    do
        r = waitpid(p->pid, &ws, flags);
    while (r < 0 && errno == EINTR);
    if (r == p->pid) {
        p->reaped = true;
        p->status = decode_status(ws);
    } else if (r < 0) {
        p->reaped = true; /* not our child any more */
        p->status = -1;
    }
    return p->reaped;
}

bool proc_signal(proc *p, int sig)
{
    if (reap(p, WNOHANG))
        return false;
    return kill(-p->pid, sig) == 0 || kill(p->pid, sig) == 0;
}

bool proc_alive(proc *p)
{
    return !reap(p, WNOHANG);
}

int proc_wait_exit(proc *p, int timeout_ms)
{
    double deadline = proc_now_ms() + timeout_ms;
    while (!reap(p, WNOHANG)) {
        if (proc_now_ms() >= deadline)
            return -1;
        sleep_ms(2); /* polling the child's state, not waiting for a guess */
    }
    return p->status;
}

static void proc_free(proc *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->reader, NULL);
    close(p->out_fd);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    registry_remove(p);
    free(p->buf);
    free(p);
}

int proc_stop(proc *p, int timeout_ms)
{
    if (!p)
        return -1;
    if (proc_signal(p, SIGTERM) && proc_wait_exit(p, timeout_ms) < 0) {
        kill(-p->pid, SIGKILL);
        kill(p->pid, SIGKILL);
        reap(p, 0);
    }
    reap(p, 0);
    int status = p->status;
    proc_free(p);
    return status;
}

void proc_kill_all(void)
{
    for (int i = 0; i < MAX_PROCS; i++) {
        proc *p = registry[i];
        if (!p)
            continue;
        if (!p->reaped) {
            kill(-p->pid, SIGKILL);
            kill(p->pid, SIGKILL);
            reap(p, 0);
        }
        proc_free(p);
    }
}

/* ---- run to completion ---- */

struct sink {
    int fd;
    char *buf;
    size_t len, cap;
};

static void sink_read(struct sink *s)
{
    char chunk[8192];
    ssize_t n = read(s->fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        close(s->fd);
        s->fd = -1;
        return;
    }
    if (s->len + (size_t)n + 1 > s->cap) {
        size_t cap = (s->len + (size_t)n + 1) * 2;
        char *b = realloc(s->buf, cap);
        if (!b)
            return; /* drop output rather than fail the run */
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, chunk, (size_t)n);
    s->len += (size_t)n;
    s->buf[s->len] = '\0';
}

/* Read both pipes until they close or the deadline passes; false at timeout. */
static bool drain(struct sink *s, int n, double deadline)
{
    for (;;) {
        struct pollfd pfd[2];
        int open_fds = 0;
        for (int i = 0; i < n; i++) {
            pfd[i].fd = s[i].fd;
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
            open_fds += s[i].fd >= 0;
        }
        if (open_fds == 0)
            return true;
        int left = (int)(deadline - proc_now_ms());
        if (left <= 0)
            return false;
        if (poll(pfd, (nfds_t)n, left) < 0 && errno != EINTR)
            return false;
        for (int i = 0; i < n; i++)
            if (s[i].fd >= 0 && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                sink_read(&s[i]);
    }
}

static char *take(struct sink *s, size_t *len)
{
    *len = s->len;
    if (s->fd >= 0)
        close(s->fd);
    return s->buf ? s->buf : calloc(1, 1);
}

int proc_run(char *const argv[], const struct proc_opts *opts, int timeout_ms,
             struct proc_result *r)
{
    memset(r, 0, sizeof *r);
    r->status = -1;
    int o[2], e[2];
    if (pipe2(o, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(e, O_CLOEXEC) != 0) {
        close(o[0]);
        close(o[1]);
        return -1;
    }
    pid_t pid = spawn(argv, opts, o[1], opts && opts->merge_stderr ? o[1] : e[1]);
    close(o[1]);
    close(e[1]);
    struct sink s[2] = {{o[0], NULL, 0, 0}, {e[0], NULL, 0, 0}};
    if (pid > 0 && !drain(s, 2, proc_now_ms() + timeout_ms)) {
        r->timed_out = true;
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    int ws;
    if (pid > 0 && waitpid(pid, &ws, 0) == pid && !r->timed_out)
        r->status = decode_status(ws);
    r->out = take(&s[0], &r->out_len);
    r->err = take(&s[1], &r->err_len);
    return r->status;
}

void proc_result_free(struct proc_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* ---- temporary files ---- */

bool temp_dir_create(char *dir, size_t cap, const char *prefix)
{
    snprintf(dir, cap, "/tmp/%s-XXXXXX", prefix);
    if (mkdtemp(dir))
        return true;
    fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
    dir[0] = '\0';
    return false;
}

const char *temp_file_write(const char *dir, const char *name, const char *text, char *path,
                            size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? path : NULL;
}

void temp_dir_remove(const char *dir)
{
    DIR *d = dir[0] ? opendir(dir) : NULL;
    if (!d)
        return;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}
