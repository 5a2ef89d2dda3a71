/* main.c - sluice-mock's command line, listening socket, signals and shutdown. */
#include "mock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: sluice-mock [options]\n"
    "A mock OpenAI/Anthropic-compatible LLM provider for tests and benchmarks.\n"
    "\n"
    "  --host ADDR          address to listen on (default 127.0.0.1)\n"
    "  --port N             port; 0 picks a free one (default 0)\n"
    "  --name NAME          sent in x-mock-server on every response (default mock)\n"
    "  --latency D          delay before a response, or before stream headers\n"
    "  --ttft D             time from stream headers to the first token\n"
    "  --tps N              stream tokens per second; 0 = unpaced (default 0)\n"
    "  --tokens N           completion tokens when the request sets no max_tokens\n"
    "                       (default 16)\n"
    "  --fail-status CODE   answer failed requests with CODE and a provider error\n"
    "  --fail-rate F        share of requests that fail, 0..1 (default 1 with a status)\n"
    "  --retry-after S      retry-after seconds on a 429 (default 1)\n"
    "  --drop-after N       close a stream abruptly after N events (0 = never)\n"
    "  --dim N              embedding dimension (default 8)\n"
    "  --seed N             seed of the failure-rate dice (default 1)\n"
    "  -h, --help           this text\n"
    "\n"
    "Durations: 250ms, 2s, 1m, or a bare number of milliseconds.\n"
    "Prints 'sluice-mock NAME listening on HOST:PORT' once listening.\n"
    "Control API: GET /mock/stats, POST /mock/reset, GET|POST /mock/config, ANY /mock/echo.\n";

struct opts {
    const char *host;
    unsigned port;
    uint64_t seed;
    bool rate_given;
};

static bool parse_duration(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !(v >= 0) || !isfinite(v))
        return false;
    if (*end == '\0' || strcmp(end, "ms") == 0)
        v /= 1000.0;
    else if (strcmp(end, "m") == 0)
        v *= 60.0;
    else if (strcmp(end, "s") != 0)
        return false;
    *out = v;
    return v <= 86400.0;
}

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (*s == '-' || *s == '\0')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

static bool valid_name(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len >= sizeof ((struct server *)0)->name)
        return false;
    return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
           len;
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

/* One option with its argument; returns 0 or exit status 2. */
static int apply_opt(struct server *s, struct opts *o, const char *name, const char *v)
{
    struct mock_config *g = &s->cfg;
    unsigned long long u = 0;
    bool ok = true;
    if (!strcmp(name, "host")) {
        o->host = v;
    } else if (!strcmp(name, "port")) {
        ok = parse_uint(v, 65535, &u);
        o->port = (unsigned)u;
    } else if (!strcmp(name, "name")) {
        ok = valid_name(v);
        snprintf(s->name, sizeof s->name, "%s", ok ? v : "mock");
    } else if (!strcmp(name, "latency")) {
        ok = parse_duration(v, &g->latency);
    } else if (!strcmp(name, "ttft")) {
        ok = parse_duration(v, &g->ttft);
    } else if (!strcmp(name, "tps")) {
        ok = parse_double(v, 0, 1e9, &g->tps);
    } else if (!strcmp(name, "tokens")) {
        ok = parse_uint(v, MOCK_MAX_TOKENS, &u) && u > 0;
        g->tokens = (unsigned)u;
    } else if (!strcmp(name, "fail-status")) {
        ok = parse_uint(v, 599, &u) && u >= 100;
        g->status = (int)u;
    } else if (!strcmp(name, "fail-rate")) {
        ok = parse_double(v, 0, 1, &g->fail_rate);
        o->rate_given = true;
    } else if (!strcmp(name, "retry-after")) {
        ok = parse_uint(v, 86400, &u);
        g->retry_after = (unsigned)u;
    } else if (!strcmp(name, "drop-after")) {
        ok = parse_uint(v, 1000000000, &u);
        g->drop_after = (unsigned)u;
    } else if (!strcmp(name, "dim")) {
        ok = parse_uint(v, MOCK_MAX_DIM, &u) && u > 0;
        g->dim = (unsigned)u;
    } else if (!strcmp(name, "seed")) {
        ok = parse_uint(v, UINT64_MAX, &u);
        o->seed = u ? u : 1; /* xorshift state must not be 0 */
    }
    if (ok)
        return 0;
    fprintf(stderr, "sluice-mock: invalid value for --%s: '%s'\n", name, v);
    return 2;
}

static int parse_args(struct server *s, struct opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", 1, 0, 0}, {"port", 1, 0, 0}, {"name", 1, 0, 0}, {"latency", 1, 0, 0},
        {"ttft", 1, 0, 0}, {"tps", 1, 0, 0}, {"tokens", 1, 0, 0},
        {"fail-status", 1, 0, 0}, {"fail-rate", 1, 0, 0}, {"retry-after", 1, 0, 0},
        {"drop-after", 1, 0, 0}, {"dim", 1, 0, 0}, {"seed", 1, 0, 0},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    int idx, ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
        if (ch == 'h') {
            fputs(usage_text, stdout);
            return -1;
        }
        if (ch != 0) {
            fputs(usage_text, stderr);
            return 2;
        }
        int rc = apply_opt(s, o, longopts[idx].name, optarg);
        if (rc)
            return rc;
    }
    if (optind < argc) {
        fprintf(stderr, "sluice-mock: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (s->cfg.status && !o->rate_given)
        s->cfg.fail_rate = 1;
    return 0;
}

/* Bind and listen; prints the one start-up line with the real address. */
static int listen_on(struct server *s, const struct opts *o)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res, *ai;
    char port[8];
    snprintf(port, sizeof port, "%u", o->port);
    int rc = getaddrinfo(o->host, port, &hints, &res);
    if (rc) {
        fprintf(stderr, "sluice-mock: %s: %s\n", o->host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, one = 1;
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "sluice-mock: cannot listen on %s:%u: %s\n", o->host, o->port,
                strerror(errno));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN], serv[8];
    getsockname(fd, (struct sockaddr *)&ss, &len);
    getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, serv, sizeof serv,
                NI_NUMERICHOST | NI_NUMERICSERV);
    bool v6 = ss.ss_family == AF_INET6;
    printf("sluice-mock %s listening on %s%s%s:%s\n", s->name, v6 ? "[" : "", host,
           v6 ? "]" : "", serv);
    fflush(stdout);
    return fd;
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    ev_break(loop, EVBREAK_ALL);
}

static void shutdown_server(struct server *s)
{
    if (!s->loop)
        return;
    while (s->conns)
        conn_close(s->conns);
    ev_io_stop(s->loop, &s->accept_w);
    ev_timer_stop(s->loop, &s->accept_pause);
    ev_signal_stop(s->loop, &s->sig_term);
    ev_signal_stop(s->loop, &s->sig_int);
    if (s->fd >= 0)
        close(s->fd);
    buf_free(&s->scratch);
    buf_free(&s->text);
    buf_free(&s->models[0]);
    buf_free(&s->models[1]);
    free(s->toks);
    ev_loop_destroy(s->loop);
}

int main(int argc, char **argv)
{
    struct server s;
    memset(&s, 0, sizeof s);
    s.fd = -1;
    snprintf(s.name, sizeof s.name, "mock");
    s.cfg.retry_after = 1;
    s.cfg.tokens = 16;
    s.cfg.dim = 8;
    struct opts o = {"127.0.0.1", 0, 1, false};
    int rc = parse_args(&s, &o, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    s.rng = o.seed;
    signal(SIGPIPE, SIG_IGN);
    s.loop = ev_default_loop(EVFLAG_AUTO);
    if (!s.loop) {
        fprintf(stderr, "sluice-mock: cannot create the event loop\n");
        return 1;
    }
    if (!reply_build_models(&s)) {
        fprintf(stderr, "sluice-mock: cannot initialise\n");
        shutdown_server(&s);
        return 1;
    }
    /* signals first: whoever reads the listening line may send SIGTERM at once */
    ev_signal_init(&s.sig_term, stop_cb, SIGTERM);
    ev_signal_init(&s.sig_int, stop_cb, SIGINT);
    ev_signal_start(s.loop, &s.sig_term);
    ev_signal_start(s.loop, &s.sig_int);
    ev_init(&s.accept_pause, NULL);
    s.fd = listen_on(&s, &o);
    if (s.fd < 0) {
        shutdown_server(&s);
        return 1;
    }
    ev_io_init(&s.accept_w, conn_accept_cb, s.fd, EV_READ);
    s.accept_w.data = &s;
    ev_io_start(s.loop, &s.accept_w);
    ev_run(s.loop, 0);
    shutdown_server(&s);
    return 0;
}
