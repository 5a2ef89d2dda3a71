/* reply.c - response framing: status line and headers, JSON error bodies in each
 * provider's shape, chunked server-sent events, the prebuilt /v1/models replies. */
#include "mock.h"

#include <stdio.h>
#include <string.h>

const char *reply_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 529: return "Overloaded";
    default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

/* Connection header for this response: HTTP/1.0 keep-alive must be confirmed, and
 * a closing connection says so. */
static const char *conn_hdr(const struct conn *c)
{
    if (!c->keep_alive)
        return "connection: close\r\n";
    return c->http10 ? "connection: keep-alive\r\n" : "";
}

void reply(struct conn *c, int status, const char *ctype, const char *body, size_t n,
           const char *extra_headers)
{
    char head[512];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %zu\r\n"
                     "x-mock-server: %s\r\n%s%s\r\n",
                     status, reply_reason(status), ctype, n, c->srv->name,
                     extra_headers ? extra_headers : "", conn_hdr(c));
    if (h < 0 || (size_t)h >= sizeof head) {
        c->broken = true;
        return;
    }
    struct iovec iov[2] = {{head, (size_t)h}, {(void *)(uintptr_t)body, n}};
    conn_send(c, iov, 2);
}

void reply_json(struct conn *c, int status, const char *extra_headers)
{
    struct buf *b = &c->srv->scratch;
    reply(c, status, "application/json", b->p, b->len, extra_headers);
}

bool build_json(struct server *s, json_build_fn fn, void *ctx)
{
    struct buf *b = &s->scratch;
    for (int attempt = 0; attempt < 2; attempt++) {
        json_writer w;
        json_w_init(&w, b->p, b->cap);
        fn(&w, ctx);
        size_t need;
        enum json_err e = json_w_finish(&w, &need);
        if (e == JSON_OK) {
            b->len = need;
            return true;
        }
        b->len = 0;
        if (e != JSON_E_SPACE || !buf_reserve(b, need + 1))
            return false;
    }
    return false;
}

struct err_ctx {
    int status;
    const char *message;
};

static const char *openai_type(int status)
{
    if (status == 429)
        return "rate_limit_error";
    if (status == 401)
        return "authentication_error";
    return status >= 500 ? "server_error" : "invalid_request_error";
}

static const char *openai_code(int status)
{
    switch (status) {
    case 400: return "invalid_request";
    case 401: return "invalid_api_key";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 413: return "request_too_large";
    case 429: return "rate_limit_exceeded";
    case 431: return "headers_too_large";
    case 503: return "service_unavailable";
    default: return status >= 500 ? "server_error" : "invalid_request";
    }
}

static void openai_error_body(json_writer *w, void *ctx)
{
    const struct err_ctx *e = ctx;
    json_w_obj_begin(w);
    json_w_key(w, "error");
    json_w_obj_begin(w);
    json_w_key(w, "message");
    json_w_str(w, e->message);
    json_w_key(w, "type");
    json_w_str(w, openai_type(e->status));
    json_w_key(w, "param");
    json_w_null(w);
    json_w_key(w, "code");
    json_w_str(w, openai_code(e->status));
    json_w_obj_end(w);
    json_w_obj_end(w);
}

static const char *anthropic_type(int status)
{
    switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503:
    case 529: return "overloaded_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

static void anthropic_error_body(json_writer *w, void *ctx)
{
    const struct err_ctx *e = ctx;
    json_w_obj_begin(w);
    json_w_key(w, "type");
    json_w_str(w, "error");
    json_w_key(w, "error");
    json_w_obj_begin(w);
    json_w_key(w, "type");
    json_w_str(w, anthropic_type(e->status));
    json_w_key(w, "message");
    json_w_str(w, e->message);
    json_w_obj_end(w);
    json_w_obj_end(w);
}

/* 429 carries retry-after, as providers send it. */
static void send_error(struct conn *c, int status, const char *message,
                       json_build_fn fn)
{
    struct err_ctx e = {status, message};
    char extra[64] = "";
    if (status == 429)
        snprintf(extra, sizeof extra, "retry-after: %u\r\n", c->srv->cfg.retry_after);
    if (!build_json(c->srv, fn, &e)) {
        c->broken = true;
        return;
    }
    reply_json(c, status, extra);
}

void reply_error(struct conn *c, int status, const char *message)
{
    send_error(c, status, message, openai_error_body);
}

void reply_anthropic_error(struct conn *c, int status, const char *message)
{
    send_error(c, status, message, anthropic_error_body);
}

bool reply_stream_head(struct conn *c)
{
    char head[384];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                     "cache-control: no-cache\r\nx-mock-server: %s\r\n%s%s\r\n",
                     c->srv->name,
                     c->stream.chunked ? "transfer-encoding: chunked\r\n" : "",
                     c->keep_alive ? "" : "connection: close\r\n");
    if (h < 0 || (size_t)h >= sizeof head)
        return false;
    struct iovec iov = {head, (size_t)h};
    conn_send(c, &iov, 1);
    return !c->broken;
}

/* One server-sent event (`event:` line optional), in its own HTTP chunk so that a
 * client sees it as soon as it is written. */
bool reply_stream_event(struct conn *c, const char *event, const char *data, size_t n)
{
    char pre[128];
    size_t ev_len = event ? strlen(event) + 8 : 0; /* "event: " NAME "\n" */
    size_t payload = ev_len + 6 + n + 2;             /* "data: " DATA "\n\n" */
    int h;
    if (c->stream.chunked)
        h = snprintf(pre, sizeof pre, "%zx\r\n%s%s%sdata: ", payload,
                     event ? "event: " : "", event ? event : "", event ? "\n" : "");
    else
        h = snprintf(pre, sizeof pre, "%s%s%sdata: ", event ? "event: " : "",
                     event ? event : "", event ? "\n" : "");
    if (h < 0 || (size_t)h >= sizeof pre)
        return false;
    struct iovec iov[3] = {{pre, (size_t)h},
                           {(void *)(uintptr_t)data, n},
                           {(void *)(uintptr_t)"\n\n\r\n", c->stream.chunked ? 4u : 2u}};
    conn_send(c, iov, 3);
    return !c->broken;
}

void reply_stream_end(struct conn *c)
{
    if (!c->stream.chunked)
        return;
    struct iovec iov = {(void *)(uintptr_t)"0\r\n\r\n", 5};
    conn_send(c, &iov, 1);
}

/* GET /v1/models is the health-check and benchmark path: its two possible replies
 * are built once, so serving one is a single copy. */
bool reply_build_models(struct server *s)
{
    if (!build_json(s, openai_models_body, s))
        return false;
    for (int close = 0; close < 2; close++) {
        char head[256];
        int h = snprintf(head, sizeof head,
                         "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                         "content-length: %zu\r\nx-mock-server: %s\r\n%s\r\n",
                         s->scratch.len, s->name, close ? "connection: close\r\n" : "");
        if (h < 0 || (size_t)h >= sizeof head)
            return false;
        struct buf *m = &s->models[close];
        m->len = 0;
        if (!buf_append(m, head, (size_t)h) ||
            !buf_append(m, s->scratch.p, s->scratch.len))
            return false;
    }
    return true;
}
