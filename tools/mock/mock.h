/* mock.h - sluice-mock: a mock LLM provider for tests, the demo and benchmarks.
 *
 * One thread, one libev loop. Files by responsibility:
 *   main.c      command line, start-up, signals, shutdown
 *   conn.c      sockets, llhttp parsing, pipelining, output queue, closing
 *   reply.c     status lines, headers, JSON error bodies, chunked/SSE framing
 *   router.c    dispatch, latency and failure injection, the /mock/ control API
 *   openai.c    /v1/chat/completions, /v1/embeddings, /v1/models
 *   anthropic.c /v1/messages
 *   stream.c    paced event streams (ttft, tps, drop-after, client abort)
 *   text.c      deterministic completion text, token estimates, hashing
 *
 * Memory: a connection owns its buffers and keeps them across requests (no
 * per-request malloc once warm); the server owns one scratch buffer where every JSON
 * body is built before it is queued.
 */
#ifndef SLUICE_MOCK_H
#define SLUICE_MOCK_H

#include "json/json.h"

#include <ev.h>
#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define MOCK_MAX_HEADER_BYTES (64u * 1024u) /* URL + header names and values: 431 */
#define MOCK_MAX_HEADERS 256u               /* more: 431 */
#define MOCK_MAX_BODY (8u * 1024u * 1024u)  /* request body: 413 */
#define MOCK_RBUF 16384u                    /* socket read buffer per connection */
#define MOCK_MAX_TOKENS 1000000u            /* completion length accepted */
#define MOCK_MAX_DIM 65536u                 /* embedding dimension accepted */
#define MOCK_MODEL_MAX 256u                 /* model name echoed in streams */

/* Behaviour that /mock/config may change at run time. Durations in seconds. */
struct mock_config {
    int status;           /* failure status; 0 = healthy */
    double fail_rate;     /* 0..1: share of requests that fail with status */
    unsigned retry_after; /* seconds, sent with 429 */
    double latency;       /* before a non-streamed response or stream headers */
    double ttft;          /* from stream headers to the first token */
    double tps;           /* tokens per second in streams; 0 = unpaced */
    unsigned drop_after;  /* close after N stream events; 0 = never */
    unsigned tokens;      /* completion length when the request names none */
    unsigned dim;         /* embedding dimension */
};

struct mock_stats {
    uint64_t requests, connections_accepted, connections_open;
    uint64_t streams_aborted, streams_dropped;
};

/* A growable byte buffer; callers bound its size. */
struct buf {
    char *p;
    size_t len, cap;
};
bool buf_reserve(struct buf *b, size_t extra);
bool buf_append(struct buf *b, const void *p, size_t n);
void buf_free(struct buf *b);

struct conn;

struct server {
    struct ev_loop *loop;
    int fd;
    ev_io accept_w;
    ev_timer accept_pause; /* out of descriptors: retry accepting later */
    ev_signal sig_term, sig_int;
    char name[64];
    struct mock_config cfg;
    struct mock_stats st;
    struct conn *conns;    /* every open connection, for shutdown */
    struct buf scratch;    /* the JSON body being built */
    struct buf text;       /* completion text / base64 being built */
    json_token *toks;      /* tokens of the request body being read */
    size_t ntoks;
    struct buf models[2];  /* prebuilt GET /v1/models replies: [keep-alive, close] */
    uint64_t rng;          /* failure-rate dice (xorshift) */
    uint64_t seq;          /* response ids */
};

/* ---- the request being served (views into the connection's buffers) ---- */
struct hdr {
    uint32_t name, name_len, value, value_len; /* offsets into conn head */
};

struct req {
    int method; /* llhttp_method_t */
    const char *target; size_t target_len;   /* full request target */
    const char *path; size_t path_len;       /* target up to '?' */
    const char *body; size_t body_len;
};

/* ---- streams ---- */
struct stream;
struct stream_ops {
    bool (*head)(struct conn *c, struct stream *s);           /* events before tokens */
    bool (*token)(struct conn *c, struct stream *s, unsigned i);
    bool (*tail)(struct conn *c, struct stream *s);           /* events after tokens */
};

struct stream {
    const struct stream_ops *ops;
    unsigned tokens, sent;   /* completion length, tokens sent so far */
    unsigned events;         /* events sent, for drop-after */
    unsigned prompt_tokens;
    bool include_usage;
    bool chunked;            /* HTTP/1.1 chunked framing; else close-delimited */
    bool waiting_drain;      /* unpaced stream paused until the output drains */
    bool dropped;            /* --drop-after reached: close once flushed */
    double first_token_at;   /* ev_now() when token 0 is due */
    long created;
    char id[48];
    char model[MOCK_MODEL_MAX];
};

enum conn_state {
    CS_READ,      /* parsing requests; nothing pending */
    CS_DELAY,     /* a response waits for --latency */
    CS_STREAM,    /* a stream is being sent */
    CS_LINGER,    /* output done, write side shut, draining input before close */
};

struct conn {
    struct conn *prev, *next;
    struct server *srv;
    int fd;
    ev_io rio, wio;
    ev_timer timer;          /* latency, stream pacing, linger */
    llhttp_t parser;
    enum conn_state state;
    /* input */
    char rbuf[MOCK_RBUF];
    uint32_t rpos, rlen;
    /* request being parsed or served */
    struct buf head;         /* target, then header names and values */
    uint32_t target_len;
    struct hdr hdrs[MOCK_MAX_HEADERS];
    unsigned nhdrs;
    bool in_value;           /* last header callback was a value */
    struct buf body;
    int reject;              /* status decided while parsing (413, 431) */
    bool keep_alive;
    bool http10;
    bool delayed;            /* latency already served for this request */
    /* output */
    struct buf out;
    size_t out_off;
    bool corked;             /* batch replies to pipelined requests into one write */
    bool close_after;        /* close once out drains */
    bool in_process;         /* process_input() is on the stack */
    bool broken;             /* fatal: close at the end of the libev callback */
    struct stream stream;
};

/* conn.c */
void conn_accept_cb(struct ev_loop *loop, ev_io *w, int revents);
void conn_close(struct conn *c);
void conn_settle(struct conn *c);
void conn_send(struct conn *c, const struct iovec *iov, int n);
void conn_flush(struct conn *c);
void conn_request_done(struct conn *c);
void conn_abort_stream(struct conn *c);
const char *conn_header(const struct conn *c, const char *name, size_t *len);
struct req conn_req(const struct conn *c);

/* reply.c */
const char *reply_reason(int status);
void reply(struct conn *c, int status, const char *ctype, const char *body, size_t n,
           const char *extra_headers);
void reply_json(struct conn *c, int status, const char *extra_headers);
void reply_error(struct conn *c, int status, const char *message);
void reply_anthropic_error(struct conn *c, int status, const char *message);
bool reply_stream_head(struct conn *c);
bool reply_stream_event(struct conn *c, const char *event, const char *data, size_t n);
void reply_stream_end(struct conn *c);
bool reply_build_models(struct server *s);

/* Build a JSON body into srv->scratch with fn, growing and retrying on overflow.
 * Returns false when memory runs out or fn misuses the writer. */
typedef void (*json_build_fn)(json_writer *w, void *ctx);
bool build_json(struct server *s, json_build_fn fn, void *ctx);

/* router.c */
void route_request(struct conn *c);
void route_latency_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* openai.c */
void openai_chat(struct conn *c, const struct req *r);
void openai_embeddings(struct conn *c, const struct req *r);
void openai_models(struct conn *c);
void openai_models_body(json_writer *w, void *ctx);

/* anthropic.c */
void anthropic_messages(struct conn *c, const struct req *r);

/* stream.c */
void stream_start(struct conn *c, const struct stream_ops *ops);
void stream_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
void stream_drained(struct conn *c);
/* Send one event (JSON built by fn, or raw data); false once the stream must stop
 * (client gone, --drop-after reached). */
bool stream_event(struct conn *c, const char *event, json_build_fn fn, void *ctx);
bool stream_event_raw(struct conn *c, const char *event, const char *data, size_t n);

/* text.c */
const char *text_token(unsigned i, size_t *len);
/* The completion of `tokens` tokens as a JSON string literal, in s->text. */
bool text_completion(struct server *s, unsigned tokens, const char **json, size_t *len);
unsigned text_estimate(size_t bytes);
unsigned text_prompt_tokens(const json_doc *d, int messages, int system);
uint64_t text_hash(const char *p, size_t n, uint64_t h);
uint64_t text_rand(uint64_t *state);
void text_id(struct server *s, const char *prefix, char *out, size_t cap);

/* Parse a request body into d, with tokens in the server's reusable array (valid
 * until the next call). False with a message for a 400 in msg otherwise. */
bool parse_body(struct server *s, const struct req *r, json_doc *d, char *msg,
                size_t cap);
/* Completion length from max_tokens / max_completion_tokens / --tokens; -1 if bad. */
long completion_tokens(const struct server *s, const json_doc *d);
/* Copy the request's model (decoded, truncated to fit) into out. */
void request_model(const json_doc *d, char *out, size_t cap);

#endif
