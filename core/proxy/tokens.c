/* tokens.c - reading and counting the token usage of proxied responses (tokens.h). */
#include "proxy/tokens.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKENS_CACHE 64 /* scan states kept per worker for reuse */

static struct txn_tokens *tokens_get(struct proxy_worker *px)
{
    struct txn_tokens *k = px->free_tokens;
    if (k) {
        px->free_tokens = k->next_free;
        px->free_token_count--;
        k->next_free = NULL;
        return k;
    }
    k = malloc(sizeof *k); /* usage_scan_init sets what is read */
    if (!k)
        abort();
    k->next_free = NULL;
    return k;
}

void tokens_txn_free(struct txn *t)
{
    struct txn_tokens *k = t->tok;
    struct proxy_worker *px = t->c->w->px;
    t->tok = NULL;
    if (px->free_token_count >= TOKENS_CACHE) {
        free(k);
        return;
    }
    k->next_free = px->free_tokens;
    px->free_tokens = k;
    px->free_token_count++;
}

void tokens_cache_free(struct proxy_worker *px)
{
    while (px->free_tokens) {
        struct txn_tokens *k = px->free_tokens;
        px->free_tokens = k->next_free;
        free(k);
    }
    px->free_token_count = 0;
}

/* Whether name[0..12) is "content-type" in any case, in two loads instead of a
 * strncasecmp call: OR 0x20 lowers the letters and keeps '-'; the only other byte it
 * could turn into one of these, CR (into '-'), is not in a parsed field name. */
static inline bool is_content_type(const char *name)
{
    uint64_t a;
    uint32_t b;
    memcpy(&a, name, 8);
    memcpy(&b, name + 8, 4);
    uint64_t la;
    uint32_t lb;
    memcpy(&la, "content-", 8);
    memcpy(&lb, "type", 4);
    return (a | 0x2020202020202020ull) == la && (b | 0x20202020u) == lb;
}

void tokens_response_head(struct txn *t, const struct http1_head *h)
{
    /* One pass for both headers: this runs for every response. */
    const struct http1_hdr *ct = NULL;
    bool encoded = false;
    for (uint32_t i = 0; i < h->header_count; i++) {
        const struct http1_hdr *f = &h->headers[i];
        if (f->name_len == 12 && !ct && is_content_type(f->name))
            ct = f;
        else if (f->name_len == 16 && !strncasecmp(f->name, "content-encoding", 16))
            encoded = encoded || !(f->value_len == 8 && !strncasecmp(f->value, "identity", 8));
    }
    enum usage_format fmt = ct ? usage_format_of(ct->value, ct->value_len) : USAGE_NONE;
    t->resp_sse = fmt == USAGE_SSE;
    /* Usage comes with successful answers, in bytes the scanner can read. */
    bool on = fmt != USAGE_NONE && !encoded && h->status >= 200 && h->status < 300 &&
              t->resp_body != BODY_NONE;
    if (!on) {
        if (t->tok) /* an earlier attempt's scan */
            t->tok->on = t->tok->done = t->tok->found = false;
        return;
    }
    if (!t->tok)
        t->tok = tokens_get(t->c->w->px);
    struct txn_tokens *k = t->tok;
    k->on = true;
    k->done = k->found = false;
    usage_scan_init(&k->scan, fmt);
}

void tokens_response_end(struct txn *t)
{
    struct txn_tokens *k = t->tok;
    if (!k || !k->on || k->done)
        return;
    k->found = usage_scan_end(&k->scan, &k->result);
    k->done = true;
}

void tokens_txn_end(struct txn *t)
{
    struct txn_tokens *k = t->tok;
    if (!k || !k->on)
        return;
    tokens_response_end(t);
    k->on = false; /* counted once */
    /* The status is the scanned response's unless the gateway answered instead. */
    if (!k->found || !t->srv || t->status < 200 || t->status >= 300)
        return;
    struct stats_tokens *st = t->srv->tokens;
    uint32_t row = stats_tokens_row(st, k->result.model, strlen(k->result.model));
    stats_tokens_add(st, t->c->w->id, row, k->result.prompt, k->result.completion);
}
