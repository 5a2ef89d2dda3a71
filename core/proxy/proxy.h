/* proxy.h - the request engine: client connections, transactions, upstreams.
 *
 * Entry points for the worker: proxy_worker_init/free, proxy_accept,
 * proxy_begin_stop, proxy_close_all, proxy_client_count. The rest of this header
 * is shared by the files of core/proxy/:
 *   client.c    client connections: reading, parsing requests, writing responses
 *   txn.c       a request's life: route, pick a server, attempts, the end
 *   upstream.c  upstream connections: pools, connect, response parsing
 *   message.c   the heads sluice writes: upstream requests, client responses, errors
 *   tokens.c    token usage of every response, counted per server (tokens.h)
 *
 * A transaction (struct txn) is the unit filters will hook into; it does not care
 * which HTTP version its client speaks (only client.c does). Connections are
 * touched only by their worker. Memory per connection is bounded: input and
 * output buffers have fixed maxima, and reading stops (backpressure) when the
 * other side's output is full.
 */
#ifndef SLUICE_PROXY_H
#define SLUICE_PROXY_H

#include <ev.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "balance/balance.h"
#include "http1/http1.h"
#include "log/log.h"
#include "net/net.h"
#include "proxy/deadline.h"
#include "runtime/runtime.h"
#include "worker/worker.h"

struct worker;
struct listener;

/* ---- worker entry points ---- */
void proxy_worker_init(struct worker *w);
void proxy_worker_free(struct worker *w);
void proxy_accept(struct worker *w, struct listener *l, int fd, const struct sockaddr_storage *peer);
/* Stopping: idle connections close now, busy ones after their current response. */
void proxy_begin_stop(struct worker *w);
void proxy_close_all(struct worker *w);
uint32_t proxy_client_count(const struct worker *w);

/* ---- internals ---- */

#define PROXY_OUT_HIGH (256u * 1024u)   /* stop reading the other side above this */
#define PROXY_OUT_MAX (1024u * 1024u)   /* hard cap of an output buffer */
#define PROXY_IN_CHUNK (16u * 1024u)    /* read size */
#define PROXY_REPLAY_MAX (64u * 1024u)  /* request bytes kept to retry on a stale pooled connection */

struct txn;
struct txn_ext;
struct txn_tokens;
struct upstream;
struct ptimer;
struct post_item;
struct name_slot;

struct client {
    struct worker *w;
    const struct frontend_rt *fe;
    int fd;
    const struct transport *tp;
    void *tp_ctx;
    ev_io io;
    struct deadline timer;          /* header, idle or slow-reader timeouts */
    struct nbuf in, out;
    struct http1_parser parser;
    struct http1_head head;
    struct txn *txn;                /* the request being served; pipelined ones wait in `in` */
    char ip[48];
    uint32_t requests;              /* served on this connection */
    bool reading;                   /* EV_READ wanted */
    bool eof;                       /* the client closed its side */
    bool closing;                   /* close once `out` is flushed */
    bool dead;                      /* close now: write failed or client gone */
    bool closed;                    /* being freed: a transaction ending must not continue */
    bool msg_open;                  /* a message is being parsed: call the parser again */
    bool head_timer;                /* the header timeout runs for the request being read */
    bool flush_queued;              /* in the worker's list of output to write */
    struct client *flush_next;
    struct client *prev, *next;
};

struct pool;

struct upstream {
    struct worker *w;
    struct server_rt *srv;
    struct pool *pool;
    int fd;
    const struct transport *tp;
    void *tp_ctx;
    ev_io io;
    struct deadline timer;          /* connect, server or idle timeout; also reports
                                     * failures from the loop (deadline_now) */
    struct nbuf in, out;
    struct http1_parser parser;
    struct http1_head head;
    struct txn *txn;                /* when busy */
    bool connecting, reused, idle;
    int connect_error;              /* errno of a failed connect, reported from a timer */
    bool write_failed;              /* likewise for a failed write */
    bool flush_queued;
    struct upstream *flush_next;
    struct upstream *prev, *next;   /* in the pool's idle list */
};

/* Per worker, per server: idle keep-alive connections. */
struct pool {
    struct upstream *idle;
    uint32_t idle_count;
    uint32_t open;                  /* connections open to the server from this worker */
};

/* Per worker, per backend. */
struct wbackend {
    struct balancer bal;
    uint64_t *usable;               /* scratch bitset for picks */
    struct balance_server *bs;
    struct pool *pools;             /* [server] */
};

struct proxy_worker {
    struct wbackend *backends;      /* [backend] */
    struct client *clients;         /* every open client connection */
    uint32_t client_count;
    struct access_buf access;
    ev_prepare flush;               /* writes queued output and the access log, once per
                                     * loop iteration, just before the loop waits */
    ev_idle kick;                   /* active while output is queued: the loop must not
                                     * block before the next flush */
    uint64_t next_id;               /* request ids */
    struct txn *free_txns;          /* recycled transactions */
    struct txn_tokens *free_tokens; /* recycled usage scans (tokens.c) */
    uint32_t free_token_count;
    struct client *flush_clients;   /* output queued this loop iteration */
    struct upstream *flush_upstreams;
    uint32_t free_txn_count;
    char id_prefix[12];
    /* filter chains (chain.c, filter_api.c) */
    struct txn_ext *free_exts;      /* recycled chain state */
    uint32_t free_ext_count;
    struct txn_ext *resumes;        /* resume() calls to act on this iteration */
    struct txn_ext **resumes_tail;
    struct ref_slot *refs;          /* txn_ref() registry: generation-checked */
    uint32_t ref_cap, ref_free;     /* ref_free: 1 + first free slot, 0 none */
    struct ptimer *timers;          /* worker-owned plugin timers */
    pthread_mutex_t post_lock;      /* post(): work from other threads */
    struct post_item *posts;
    ev_async post_wake;
    bool post_closed;
    struct name_slot *names;        /* header names filters use, checked once */
};

struct ref_slot {
    struct txn *t;
    uint32_t gen;
    uint32_t next_free;             /* 1 + next free slot, 0 none */
};

enum txn_body { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_CLOSE };

struct txn {
    struct client *c;
    struct upstream *u;
    const struct conf_route *route;
    struct backend_rt *be;
    struct server_rt *srv;
    int server_idx;                 /* in the backend's balancer */
    uint8_t method;                 /* llhttp method */
    bool is_head;
    bool http10;                    /* the client spoke HTTP/1.0 */
    bool client_keep_alive;
    bool req_done;                  /* the whole request body was read */
    bool req_sent;                  /* ... and queued upstream */
    bool resp_started;              /* a response byte was queued for the client */
    bool resp_done;
    bool replayable;                /* replay holds every request byte sent so far */
    bool balanced;                  /* balance_started() was called */
    enum txn_body req_body, resp_body;
    uint16_t status;
    uint32_t attempts;
    uint64_t bytes_in, bytes_out;
    double t_start, t_upstream, t_first_byte;
    struct nbuf replay;             /* request bytes sent to a reused connection */
    struct nbuf body;               /* buffered request body (model_map) */
    bool buffer_body;
    bool interim;                   /* a 1xx response is being skipped */
    uint32_t held_head_len;         /* buffer_body: the upstream head at the start of `body` */
    double t_client_head;           /* the response head was queued for the client */
    char request_id[64];
    char method_str[16];
    char path[256];                 /* for the access log, without the query */
    uint32_t path_len;
    const char *error;              /* why the gateway failed the request, for the log */
    struct txn *next_free;          /* in the worker's free list */
    const struct chain *chain;      /* the route's filters, NULL when none */
    struct txn_ext *x;              /* what the filters asked for (chain.h) */
    struct txn_tokens *tok;         /* the response's usage scan (tokens.h), or NULL */
    bool resp_sse;                  /* the response is text/event-stream */
};

/* client.c */
void client_send(struct client *c, const void *data, size_t n);
void client_want_write(struct client *c);
void client_txn_done(struct client *c);
void client_resume_reading(struct client *c);
void client_abort(struct client *c);
/* Writes every connection's queued output (once per loop iteration). */
void client_flush_pending(struct proxy_worker *px);

/* txn.c */
struct txn *txn_begin(struct client *c);
/* A transaction for a request refused before its head was understood. */
struct txn *txn_begin_rejected(struct client *c);
void txn_request_body(struct txn *t, const char *data, size_t n);
void txn_request_end(struct txn *t);
void txn_upstream_ready(struct txn *t);
/* False when it ended the transaction (the upstream may be gone). */
bool txn_response_head(struct txn *t, struct http1_head *h);
void txn_response_body(struct txn *t, const char *data, size_t n);
void txn_response_end(struct txn *t);
/* The upstream failed: connect error, timeout, reset or early close. */
void txn_upstream_failed(struct txn *t, int status, const char *why, bool retryable);
void txn_client_gone(struct txn *t);
void txn_free(struct txn *t);
void txn_cache_free(struct proxy_worker *px);
bool txn_wants_body(const struct txn *t);
/* The upstream took enough of the request body for the client to be read again. */
bool txn_client_wants_more(const struct txn *t);
bool txn_client_full(const struct txn *t);
void txn_send_upstream(struct txn *t, const void *data, size_t n);
/* Picks a server (not the one at index exclude, -1 none) and starts the attempt
 * (head, and a held body). False when the transaction ended. */
bool txn_dispatch(struct txn *t, int exclude);
/* Closes (or, when reusable, pools) the transaction's upstream connection. */
void txn_drop_upstream(struct txn *t, bool reusable);
/* The attempt on t->srv is over with status: the balancer learns it, its
 * connection is dropped (or pooled), its server counts the answer. */
void txn_end_attempt(struct txn *t, int status, bool reusable, double now);
/* Ends the transaction after a local answer was queued (chain.c). */
void txn_finish_local(struct txn *t, uint16_t status, size_t bytes);
void txn_finish(struct txn *t);
/* Answers the request locally with the SPEC's JSON error. */
void txn_error(struct txn *t, int status, const char *type, const char *code, const char *message);

/* upstream.c */
/* A pooled connection to s, or a new one (connecting). NULL at the pool's limit. */
struct upstream *upstream_get(struct worker *w, struct backend_rt *be, struct server_rt *s, struct pool *p);
/* Always a new connection. */
struct upstream *upstream_connect(struct worker *w, struct backend_rt *be, struct server_rt *s, struct pool *p);
void upstream_send(struct upstream *u, const void *data, size_t n);
void upstream_release(struct upstream *u, bool reusable);
void upstream_resume_reading(struct upstream *u);
void upstream_pool_free(struct worker *w, struct pool *p);
void upstream_flush_pending(struct proxy_worker *px);

/* worker_state.c */
void proxy_flush_soon(struct worker *w);

/* message.c */
#define MESSAGE_FRAMING_OPEN INT64_MIN /* leave framing and the final CRLF to the caller */
size_t message_upstream_head(struct txn *t, const struct http1_head *h, char *buf, size_t cap, int64_t body_len);
size_t message_client_head(struct txn *t, const struct http1_head *h, char *buf, size_t cap);
size_t message_error(struct txn *t, int status, const char *type, const char *code, const char *message,
                     char *buf, size_t cap);
/* A filter's local response head (the body follows it). */
size_t message_local_head(struct txn *t, int status, const char *ctype, size_t ctype_len, size_t body_len,
                          char *buf, size_t cap);
double proxy_now(struct worker *w);

#endif
