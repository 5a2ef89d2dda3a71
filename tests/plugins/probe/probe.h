/* probe.h - a test plugin that drives every hook point of the plugin ABI.
 *
 * One binary, configured per filter entry (probe_conf.c documents the keys), lets
 * the integration tests (tests/integration/test_plugin_chain.c) check the chain
 * runtime from outside: the order of hooks (a trace kept in the variable
 * "probe.trace" and sent as x-probe-trace), local answers, errors, pauses,
 * header and body edits, server vetoes and picks, variables crossing filters.
 * What a response cannot show (on_end, on_attempt, response body sizes) goes to
 * counters of the "local" store, which GET /probe/counters?k=KEY&k=KEY reads back.
 */
#ifndef SLUICE_TEST_PROBE_H
#define SLUICE_TEST_PROBE_H

#include "sluice/plugin.h"

#include <stdbool.h>
#include <stdint.h>

/* Hook points an action can be tied to. */
enum probe_at {
    AT_NONE = 0,
    AT_REQUEST_HEAD,
    AT_REQUEST_BODY,
    AT_SELECT,
    AT_RESPONSE_HEAD,
};

/* How a pause ends. */
enum probe_via {
    VIA_TXN_TIMER = 0, /* txn_timer_start: owned by the transaction */
    VIA_REF,           /* worker timer, then txn_lookup(txn_ref) */
    VIA_POST,          /* worker timer, post() to the same worker, then txn_lookup */
};

#define PROBE_MAX_ITEMS 8

struct probe_pair {
    const char *name, *value;
};

struct probe_box; /* a pause resumed through txn_ref/txn_lookup (probe_pause.c) */

/* Per worker: boxes whose timer is still pending, freed by worker_stop. */
struct probe_pw {
    struct probe_box *pending;
};

struct probe {
    const sl_host *h;
    sl_store *store;
    char tag[33];
    bool trace, buffer_request, buffer_response, count_body;
    int at_respond, at_error, at_pause; /* enum probe_at */
    uint32_t respond_status;
    uint64_t pause_ms;
    int pause_via;        /* enum probe_via */
    int32_t resume_with;  /* SL_CONTINUE, SL_DONE (after respond()) or SL_ERROR */
    const char *replace_body, *replace_response_body; /* NULL: keep */
    size_t replace_body_len, replace_response_body_len;
    struct probe_pair set_req[PROBE_MAX_ITEMS], set_resp[PROBE_MAX_ITEMS];
    struct probe_pair early_resp[PROBE_MAX_ITEMS], vars[PROBE_MAX_ITEMS];
    struct probe_pair var_copy[PROBE_MAX_ITEMS]; /* name: var, value: header */
    const char *remove_req[PROBE_MAX_ITEMS], *veto[PROBE_MAX_ITEMS];
    uint32_t n_set_req, n_set_resp, n_early_resp, n_vars, n_var_copy, n_remove_req, n_veto;
    const char *pick;     /* NULL: let the balancer choose */
    uint32_t workers;
    struct probe_pw *pw;  /* [workers] */
    size_t pool_used;
    char pool[16384];     /* every string above is a copy in here */
};

/* Per filter per transaction (txn_alloc'd, found with txn_data). */
struct probe_txn {
    struct probe *p;
    sl_txn *t;
    bool head_ran, ended, paused, body_seen;
    uint32_t req_chunks, resp_chunks, body_calls;
    uint64_t req_bytes, resp_bytes;
};

/* probe_conf.c */
int32_t probe_create(const sl_host *h, sl_config *cfg, void **instance);
void probe_destroy(void *instance);

/* probe_util.c */
struct probe_txn *probe_txn(struct probe *p, sl_txn *t);
void probe_trace(struct probe *p, sl_txn *t, const char *hook);
void probe_count(struct probe *p, sl_worker *w, const char *key, int64_t delta);
void probe_emit(struct probe *p, sl_txn *t, struct probe_txn *st);
int32_t probe_respond(struct probe *p, sl_txn *t, struct probe_txn *st);
bool probe_control(struct probe *p, sl_txn *t);             /* path under /probe/ */
int32_t probe_control_answer(struct probe *p, sl_txn *t);   /* SL_DONE or SL_ERROR */
const char *probe_at_name(int at);

/* probe_pause.c */
int32_t probe_pause(struct probe *p, sl_txn *t, struct probe_txn *st);
int32_t probe_worker_start(void *instance, sl_worker *w);
void probe_worker_stop(void *instance, sl_worker *w);

#endif
