/* chain.h - running a transaction through its filter chain (the ABI's txn side).
 *
 *   chain.c       the state machine: request head hooks, body, selection, response
 *                 hooks, pause/resume, on_end; local responses
 *   filter_api.c  the sl_host functions a hook calls on a transaction (headers,
 *                 bodies, variables, memory, timers, refs, selection)
 *   retry.c       retry(): another attempt on another server or backend
 *
 * A transaction without filters never touches any of this (t->x stays NULL). With
 * filters, t->x holds what the filters asked for; it is recycled with the txn.
 */
#ifndef SLUICE_PROXY_CHAIN_H
#define SLUICE_PROXY_CHAIN_H

#include "plugin/plugin.h"
#include "proxy/proxy.h"

/* Where a paused chain goes on. */
enum chain_stage { CH_REQ_HEAD, CH_REQ_BODY, CH_DONE };

enum { HE_SET, HE_ADD, HE_REMOVE };

struct hedit {
    uint8_t which, op;
    sl_str name, value;
};

struct tvar {
    sl_str name, value;
};

struct ptimer {
    ev_timer ev;
    struct worker *w;
    sl_callback cb;
    void *arg;
    struct txn_ext *owner;          /* NULL: the worker's */
    struct ptimer *prev, *next;     /* in the owner's list */
};

#define TMEM_INLINE 1536u
#define STORE_BODY_MAX ((size_t)64 << 20) /* a body a filter sets */

struct txn_ext {
    struct txn *t;
    void **data;                    /* [chain count]: txn_data per filter */
    uint32_t data_cap;
    struct hedit *edits;
    uint32_t edit_count, edit_cap;
    uint64_t hide_lens[2];          /* per side: bit len%64 of names set or removed */
    struct tvar *vars;
    uint32_t var_count, var_cap;
    /* chain position */
    uint8_t stage;                  /* enum chain_stage */
    uint32_t pos;                   /* next filter of the stage */
    bool in_hook;                   /* a hook is running (resume() takes effect after) */
    bool paused, resume_queued, ended, req_head_sent, holding, body_complete;
    bool buffer_req, buffer_resp, resp_held, resp_head_sent;
    int32_t resume_action;
    struct txn_ext *resume_next;
    uint32_t ref_slot;              /* 1 + registry slot, 0 none */
    uint64_t retain_max;
    bool retain_overflow;
    /* a local response */
    bool local_set;
    uint16_t local_status;
    sl_str local_ctype;
    struct nbuf local_body;
    const char *local_err_type, *local_err_code, *local_err_msg;
    /* the response */
    const struct http1_head *resp_head;
    struct nbuf resp_body;
    /* selection in progress */
    struct ptimer *timers;
    struct ptimer *pause_timer;
    /* a retry asked for in on_attempt (retry.c) */
    bool in_attempt, retry_set;
    struct backend_rt *retry_be;
    uint64_t retry_delay_ms;
    int retry_exclude;              /* server index not to take next, -1 none */
    char *tried;                    /* failed attempts for the access log (tmem) */
    uint32_t tried_len;
    /* Not cleared between transactions (chain_txn_free zeroes what is above). */
    char *head_copy;                /* the request head, copied so it outlives the */
    uint32_t head_copy_cap;         /* client's input buffer; kept for reuse */
    char *resp_head_copy;
    uint32_t resp_head_cap;
    struct arena arena;             /* transaction memory beyond `mem` */
    uint32_t mem_used;
    _Alignas(16) char mem[TMEM_INLINE];
};

/* chain.c: called by txn.c at each step; each returns false when it ended the
 * transaction (or paused it): the caller must not touch t afterwards. */
void chain_begin(struct txn *t);
bool chain_request_body(struct txn *t, const char *data, size_t n);
bool chain_request_end(struct txn *t);
enum chain_resp { CHAIN_SEND, CHAIN_HELD, CHAIN_ENDED };
/* The upstream's response head: on_attempt, then on_response_head. HELD: a filter
 * wants the whole body first (the head is kept and sent at the end). ENDED: the
 * transaction ended, or a filter asked for a retry (the upstream is gone then and
 * the transaction waits for its next attempt). */
enum chain_resp chain_response_head(struct txn *t, struct http1_head *h);
/* A response body span (relayed by the caller unless held). False: a held body
 * passed its bound. */
bool chain_response_body(struct txn *t, const char *data, size_t n);
/* The end of the response body: on_response_body with end = 1. */
void chain_response_end(struct txn *t);
/* on_attempt for an attempt that failed before its head: true when a filter asked
 * for a retry (the attempt's connection is gone, the next one is scheduled). */
bool chain_attempt_failed(struct txn *t, int outcome, int status);
/* on_attempt when no server of the backend was usable (plugins of ABI 1.1 on):
 * true when a filter asked for a retry on another backend. */
bool chain_no_server(struct txn *t);
/* Sends the response a filter set (respond/respond_error), or fails closed. */
void chain_respond_now(struct txn *t, const struct filter *f);
void chain_fail_now(struct txn *t, const struct filter *f, const char *hook);
void chain_end(struct txn *t);
void chain_txn_free(struct txn *t);
void chain_ext_destroy(struct txn_ext *x);
/* Worker-level: resumes queued by resume(), run once per loop iteration. */
void chain_run_resumes(struct proxy_worker *px);
bool chain_has_resumes(const struct proxy_worker *px);

/* retry.c: a retry a filter asked for (host retry() and its execution). */
int32_t retry_request(struct txn *t, sl_str backend, uint64_t delay_ms);
/* Drops the failed attempt (status: what it got, 502/504 for failures before a
 * head) and schedules the next one. */
void retry_start(struct txn *t, int outcome, int status);

/* filter_api.c */
void host_fill_txn(sl_host *h);
/* on_select over the usable set (vetoes clear bits): a picked server, -1 for the
 * balancer to choose, -2 when a filter ended the transaction. */
int chain_select(struct txn *t, uint64_t *usable);
/* Applies the request edits while the upstream head is written. */
bool edit_hides(const struct txn_ext *x, int which, const char *name, size_t len);
void *tmem_alloc(struct txn_ext *x, size_t n);
void ptimer_cancel_all(struct txn_ext *x);
void txn_ref_release(struct txn *t);
void name_cache_free(struct proxy_worker *px);
/* filter_worker.c: timers and post() for plugins. */
void host_fill_worker(sl_host *h);
void px_post_init(struct worker *w);
/* At worker exit: runs nothing more, frees what is queued and the worker's timers. */
void px_post_free(struct worker *w);
void count_add(struct txn *t, int32_t what, int64_t delta);

#endif
