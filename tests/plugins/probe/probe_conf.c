/* probe_conf.c - the probe's configuration: every key checked, errors located.
 *
 *   tag: A                      name in traces and store keys ([A-Za-z0-9_-], <= 32)
 *   trace: true                 append "TAG:hook" to var probe.trace, send x-probe-trace
 *   respond_at: HOOK            answer locally there: respond_status (200), "probe TAG"
 *   error_at: HOOK              return SL_ERROR there
 *   pause_at: HOOK              (request_head when pause_ms is set) pause there ...
 *   pause_ms: 50                ... for this long, then resume with
 *   pause_resume_with: continue | respond | error
 *   pause_via: timer | ref | post   txn timer; worker timer + txn_lookup; + post()
 *   buffer_request: true        on_request_body checks it sees the whole body once;
 *   replace_body: "..."         and replaces it
 *   buffer_response: true       likewise for the response;
 *   replace_response_body: "..."
 *   set_request_header: {name: value}   remove_request_header: [name]
 *   set_response_header: {name: value}  (in on_response_head)
 *   early_response_header: {name: value} (SL_RESPONSE edits from on_request_head)
 *   veto: [server]   pick: server        (on_select)
 *   var_set: {name: value}              (on_request_head)
 *   var_copy: {var: header}             response header from a variable
 *   count_body: true            x-probe-req-bytes / -chunks; response bytes to the store
 * HOOK is request_head, request_body, select or response_head.
 */
#include "probe.h"

#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {
    "tag", "trace", "respond_at", "respond_status", "error_at", "pause_at", "pause_ms",
    "pause_resume_with", "pause_via", "buffer_request", "replace_body", "buffer_response",
    "replace_response_body", "set_request_header", "remove_request_header",
    "set_response_header", "early_response_header", "veto", "pick", "var_set", "var_copy",
    "count_body", NULL};

struct ctx {
    struct probe *p;
    sl_config *cfg;
    const sl_host *h;
    bool bad;
};

static void fail(struct ctx *c, const sl_node *at, const char *msg)
{
    c->h->config_error(c->cfg, at, msg);
    c->bad = true;
}

/* Copies a scalar into the instance's pool; NULL (error reported) otherwise. */
static const char *dup_scalar(struct ctx *c, const sl_node *n, size_t *len_out)
{
    int32_t k = c->h->node_kind(n);
    if (k != SL_NODE_SCALAR && k != SL_NODE_NULL) {
        fail(c, n, "probe: expected a string");
        return NULL;
    }
    sl_str s = k == SL_NODE_NULL ? SL_STR("") : c->h->node_str(n);
    struct probe *p = c->p;
    if (s.len + 1 > sizeof p->pool - p->pool_used) {
        fail(c, n, "probe: configuration strings exceed 16 KiB");
        return NULL;
    }
    char *out = p->pool + p->pool_used;
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    p->pool_used += s.len + 1;
    if (len_out)
        *len_out = s.len;
    return out;
}

static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!strchr("!#$%&'*+-.^_`|~", *s) && !(*s >= '0' && *s <= '9') &&
            !(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z'))
            return false;
    return true;
}

static int parse_at(struct ctx *c, const sl_node *n)
{
    static const char *const names[] = {"request_head", "request_body", "select",
                                        "response_head"};
    if (c->h->node_kind(n) == SL_NODE_SCALAR) {
        sl_str s = c->h->node_str(n);
        for (int i = 0; i < 4; i++)
            if (strcmp(s.ptr, names[i]) == 0)
                return AT_REQUEST_HEAD + i;
    }
    fail(c, n, "probe: expected request_head, request_body, select or response_head");
    return AT_NONE;
}

static bool get_bool(struct ctx *c, const sl_node *root, const char *key)
{
    const sl_node *n = c->h->node_get(root, key);
    int32_t v = 0;
    if (n && c->h->node_bool(c->cfg, n, &v) != SL_OK)
        c->bad = true;
    return v != 0;
}

/* A map of strings into pairs; header_names: keys must be HTTP tokens. */
static uint32_t get_pairs(struct ctx *c, const sl_node *root, const char *key,
                          struct probe_pair *out, bool header_names, bool header_values)
{
    const sl_node *n = c->h->node_get(root, key);
    if (!n)
        return 0;
    if (c->h->node_kind(n) != SL_NODE_MAP) {
        fail(c, n, "probe: expected a map");
        return 0;
    }
    uint32_t count = c->h->node_count(n);
    if (count > PROBE_MAX_ITEMS) {
        fail(c, n, "probe: at most 8 entries");
        return 0;
    }
    for (uint32_t i = 0; i < count; i++) {
        const sl_node *k = c->h->node_key(n, i), *v = c->h->node_item(n, i);
        out[i].name = dup_scalar(c, k, NULL);
        out[i].value = dup_scalar(c, v, NULL);
        if (out[i].name && header_names && !is_token(out[i].name))
            fail(c, k, "probe: not a valid header name");
        if (out[i].value && header_values && !is_token(out[i].value))
            fail(c, v, "probe: not a valid header name");
    }
    return c->bad ? 0 : count;
}

static uint32_t get_list(struct ctx *c, const sl_node *root, const char *key, const char **out,
                         bool header_names)
{
    const sl_node *n = c->h->node_get(root, key);
    if (!n)
        return 0;
    if (c->h->node_kind(n) != SL_NODE_SEQ) {
        fail(c, n, "probe: expected a list");
        return 0;
    }
    uint32_t count = c->h->node_count(n);
    if (count > PROBE_MAX_ITEMS) {
        fail(c, n, "probe: at most 8 entries");
        return 0;
    }
    for (uint32_t i = 0; i < count; i++) {
        const sl_node *it = c->h->node_item(n, i);
        out[i] = dup_scalar(c, it, NULL);
        if (out[i] && header_names && !is_token(out[i]))
            fail(c, it, "probe: not a valid header name");
    }
    return c->bad ? 0 : count;
}

static void parse_tag(struct ctx *c, const sl_node *root)
{
    const sl_node *n = c->h->node_get(root, "tag");
    strcpy(c->p->tag, "probe");
    if (!n)
        return;
    const char *s = c->h->node_kind(n) == SL_NODE_SCALAR ? c->h->node_str(n).ptr : "";
    size_t len = strlen(s);
    bool ok = len > 0 && len < sizeof c->p->tag;
    for (size_t i = 0; ok && i < len; i++)
        ok = strchr("_-", s[i]) || (s[i] >= '0' && s[i] <= '9') ||
             (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z');
    if (!ok) {
        fail(c, n, "probe: tag must be 1 to 32 letters, digits, '_' or '-'");
        return;
    }
    memcpy(c->p->tag, s, len + 1);
}

static void parse_pause(struct ctx *c, const sl_node *root)
{
    struct probe *p = c->p;
    const sl_node *n;
    int64_t ms = -1;
    if ((n = c->h->node_get(root, "pause_ms")) && c->h->node_int(c->cfg, n, 0, 60000, &ms) != SL_OK)
        c->bad = true;
    if ((n = c->h->node_get(root, "pause_at")))
        p->at_pause = parse_at(c, n);
    else if (ms >= 0)
        p->at_pause = AT_REQUEST_HEAD;
    p->pause_ms = ms > 0 ? (uint64_t)ms : 0;
    p->resume_with = SL_CONTINUE;
    if ((n = c->h->node_get(root, "pause_resume_with"))) {
        sl_str s = c->h->node_kind(n) == SL_NODE_SCALAR ? c->h->node_str(n) : SL_STR("");
        if (strcmp(s.ptr, "continue") == 0)
            p->resume_with = SL_CONTINUE;
        else if (strcmp(s.ptr, "respond") == 0)
            p->resume_with = SL_DONE;
        else if (strcmp(s.ptr, "error") == 0)
            p->resume_with = SL_ERROR;
        else
            fail(c, n, "probe: expected continue, respond or error");
    }
    if ((n = c->h->node_get(root, "pause_via"))) {
        sl_str s = c->h->node_kind(n) == SL_NODE_SCALAR ? c->h->node_str(n) : SL_STR("");
        if (strcmp(s.ptr, "timer") == 0)
            p->pause_via = VIA_TXN_TIMER;
        else if (strcmp(s.ptr, "ref") == 0)
            p->pause_via = VIA_REF;
        else if (strcmp(s.ptr, "post") == 0)
            p->pause_via = VIA_POST;
        else
            fail(c, n, "probe: expected timer, ref or post");
    }
}

static void parse(struct ctx *c, const sl_node *root)
{
    struct probe *p = c->p;
    const sl_node *n;
    parse_tag(c, root);
    p->trace = get_bool(c, root, "trace");
    p->buffer_request = get_bool(c, root, "buffer_request");
    p->buffer_response = get_bool(c, root, "buffer_response");
    p->count_body = get_bool(c, root, "count_body");
    if ((n = c->h->node_get(root, "respond_at")))
        p->at_respond = parse_at(c, n);
    if ((n = c->h->node_get(root, "error_at")))
        p->at_error = parse_at(c, n);
    p->respond_status = 200;
    int64_t st;
    if ((n = c->h->node_get(root, "respond_status"))) {
        if (c->h->node_int(c->cfg, n, 200, 599, &st) == SL_OK)
            p->respond_status = (uint32_t)st;
        else
            c->bad = true;
    }
    parse_pause(c, root);
    if ((n = c->h->node_get(root, "replace_body")))
        p->replace_body = dup_scalar(c, n, &p->replace_body_len);
    if ((n = c->h->node_get(root, "replace_response_body")))
        p->replace_response_body = dup_scalar(c, n, &p->replace_response_body_len);
    if ((n = c->h->node_get(root, "pick")))
        p->pick = dup_scalar(c, n, NULL);
    p->n_set_req = get_pairs(c, root, "set_request_header", p->set_req, true, false);
    p->n_set_resp = get_pairs(c, root, "set_response_header", p->set_resp, true, false);
    p->n_early_resp = get_pairs(c, root, "early_response_header", p->early_resp, true, false);
    p->n_vars = get_pairs(c, root, "var_set", p->vars, false, false);
    p->n_var_copy = get_pairs(c, root, "var_copy", p->var_copy, false, true);
    p->n_remove_req = get_list(c, root, "remove_request_header", p->remove_req, true);
    p->n_veto = get_list(c, root, "veto", p->veto, false);

    /* A streamed body can only be observed: acting there needs the buffer. */
    static const char *const at_keys[] = {"respond_at", "error_at", "pause_at"};
    int ats[] = {p->at_respond, p->at_error, p->at_pause};
    for (int i = 0; i < 3; i++)
        if (ats[i] == AT_REQUEST_BODY && !p->buffer_request)
            fail(c, c->h->node_get(root, at_keys[i]),
                 "probe: acting at request_body needs buffer_request: true");
    if (p->replace_body && !p->buffer_request)
        fail(c, c->h->node_get(root, "replace_body"), "probe: replace_body needs buffer_request: true");
    if (p->replace_response_body && !p->buffer_response)
        fail(c, c->h->node_get(root, "replace_response_body"),
             "probe: replace_response_body needs buffer_response: true");
}

int32_t probe_create(const sl_host *h, sl_config *cfg, void **instance)
{
    struct probe *p = calloc(1, sizeof *p);
    if (!p)
        return SL_ERROR;
    struct ctx c = {.p = p, .cfg = cfg, .h = h};
    p->h = h;
    const sl_node *root = h->config_root(cfg);
    if (root && h->node_kind(root) != SL_NODE_MAP && h->node_kind(root) != SL_NODE_NULL)
        fail(&c, root, "probe: config must be a map");
    else if (root && h->node_kind(root) == SL_NODE_MAP) {
        if (h->config_check_keys(cfg, root, keys) != SL_OK)
            c.bad = true;
        parse(&c, root);
    } else
        strcpy(p->tag, "probe");
    if (!c.bad) {
        p->store = h->store_open(cfg, SL_STR("local"));
        if (!p->store)
            fail(&c, root, "probe: cannot open the local store");
    }
    p->workers = h->worker_count();
    if (!c.bad && p->workers > 0)
        p->pw = calloc(p->workers, sizeof *p->pw);
    if (c.bad) {
        free(p->pw);
        free(p);
        return SL_ERROR;
    }
    *instance = p;
    return SL_OK;
}

void probe_destroy(void *instance)
{
    struct probe *p = instance;
    if (!p)
        return;
    free(p->pw);
    free(p);
}
