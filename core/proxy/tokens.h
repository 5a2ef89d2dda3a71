/* tokens.h - token usage of every proxied response, with or without filters.
 *
 * At each response head (every attempt's) the transaction decides afresh whether
 * the response can carry usage: a 2xx with a JSON or SSE content type, no
 * content-encoding and a body. Only then does it take a scan state (struct
 * txn_tokens, 5.4 KiB, recycled per worker: no allocation per request once warm)
 * and watch the body bytes as they are relayed (usage.h: bounded memory, nothing
 * buffered). The result is read at the end of the body (filters see it in
 * on_response_body's last call, in on_end and through SL_TXN_*_TOKENS and
 * SL_TXN_MODEL) and counted once, when the transaction ends, in the server's
 * sluice_tokens_total table (stats/tokens.h).
 *
 * What counts: the usage the relayed response announced, also when it was cut
 * short (a stream broken after Anthropic's message_start counts its input
 * tokens), provided the transaction ends with that 2xx status. A response the
 * gateway replaced by an error, and an attempt whose response was not relayed,
 * count nothing: the next head starts the scan again.
 */
#ifndef SLUICE_PROXY_TOKENS_H
#define SLUICE_PROXY_TOKENS_H

#include "proxy/proxy.h"
#include "proxy/usage.h"

struct txn_tokens {
    struct usage result;            /* valid when done */
    bool on;                        /* this response's body is scanned */
    bool done;                      /* the scan ended: result holds what it found */
    bool found;                     /* result has a token count */
    struct txn_tokens *next_free;   /* in the worker's cache */
    struct usage_scan scan;
};

/* A final (non-1xx) response head: (re)starts or stops the scan; sets t->resp_sse. */
void tokens_response_head(struct txn *t, const struct http1_head *h);

/* A span of the response body, its framing removed. */
static inline void tokens_response_body(struct txn *t, const char *data, size_t n)
{
    if (t->tok && t->tok->on)
        usage_scan_feed(&t->tok->scan, data, n);
}

/* The end of the response body: the result is read. */
void tokens_response_end(struct txn *t);

/* The transaction ends (before on_end): a scan still open is ended, and the
 * usage is counted when the transaction ends with the scanned 2xx response. */
void tokens_txn_end(struct txn *t);

/* What the response said (NULL until its end, or when it was not scanned). */
static inline const struct usage *tokens_result(const struct txn *t)
{
    return t->tok && t->tok->done ? &t->tok->result : NULL;
}

/* The scan state goes back to the worker's cache. */
void tokens_txn_free(struct txn *t);
void tokens_cache_free(struct proxy_worker *px);

#endif
