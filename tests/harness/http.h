/* http.h - HTTP for integration tests: a libcurl client (one-shot or keep-alive),
 * a streaming variant that reports each chunk as it arrives, a server-sent events
 * splitter, and raw TCP helpers for what curl will not send (pipelining, malformed
 * requests).
 */
#ifndef SLUICE_TEST_HTTP_H
#define SLUICE_TEST_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Called for each piece of the response body as curl receives it; t_ms is the time
 * since the request started. Return false to abort the transfer (the response then
 * has curl_code CURLE_WRITE_ERROR (23) and aborted set). */
typedef bool (*http_chunk_fn)(void *ud, const char *data, size_t len, double t_ms);

struct http_req {
    const char *method;           /* NULL: GET, or POST when body is set */
    const char *url;
    const char *const *headers;   /* "Name: value", NULL-terminated; NULL for none */
    const char *body;             /* NULL for none */
    size_t body_len;              /* 0 with body set: strlen(body) */
    long timeout_ms;              /* whole transfer; 0 = 10 s */
    http_chunk_fn on_chunk;       /* NULL: just collect the body */
    void *ud;
};

struct http_resp {
    long status;                  /* 0 when no response arrived */
    char *headers;                /* raw header block of the final response, malloc'd */
    char *body;                   /* malloc'd, NUL-terminated (never NULL on return) */
    size_t body_len;
    double ttfb_ms;               /* request start to first response byte */
    double total_ms;
    int curl_code;                /* CURLcode; 0 = transfer completed */
    bool aborted;                 /* on_chunk returned false */
    char error[256];              /* curl's message when curl_code != 0 */
};

/* A client that keeps its connection between requests (keep-alive tests). */
typedef struct http_client http_client;
http_client *http_client_new(void);
void http_client_free(http_client *c);

/* Perform req on client c (NULL: a fresh connection). Returns resp->status. */
long http_do(http_client *c, const struct http_req *req, struct http_resp *resp);

/* Shorthands on a fresh connection; body may be NULL. */
long http_get(const char *url, struct http_resp *resp);
long http_post_json(const char *url, const char *json, struct http_resp *resp);

void http_resp_free(struct http_resp *r);

/* Value of response header name (case-insensitive), copied into buf; NULL if
 * absent. */
const char *http_header(const struct http_resp *r, const char *name, char *buf,
                        size_t cap);

/* Time since this process's first http call, for ordering observations. */
double http_elapsed_ms(void);

/* ---- server-sent events ---- */

struct sse_event {
    char *event;  /* "event:" field, "" when absent */
    char *data;   /* "data:" lines joined with '\n' */
};

struct sse_list {
    size_t n;
    struct sse_event *ev;
};

/* Split a text/event-stream body into events (comments and unknown fields ignored).
 * Returns the count; free with sse_free. */
size_t sse_parse(const char *body, size_t len, struct sse_list *out);
void sse_free(struct sse_list *l);

/* ---- raw TCP ---- */

/* Connected, blocking socket to host:port, or -1. */
int tcp_connect(const char *host, int port);
/* A socket listening on 127.0.0.1 at a port the kernel picks (into *port), or -1:
 * a port that stays taken while the test holds it. */
int tcp_listen_loopback(int *port);
bool tcp_send_all(int fd, const void *data, size_t len);
/* Read until the peer closes, cap-1 bytes arrived, or timeout_ms passed; buf is
 * NUL-terminated. Returns the byte count; *closed tells whether the peer closed. */
size_t tcp_read_until_close(int fd, char *buf, size_t cap, int timeout_ms, bool *closed);
/* Read until buf holds `count` occurrences of needle (or as above). */
size_t tcp_read_until(int fd, char *buf, size_t cap, const char *needle, int count,
                      int timeout_ms);

#endif
