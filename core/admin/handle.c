/* handle.c - routing an admin request to its endpoint; errors; authorization. */
#include "admin/admin.h"

#include <string.h>
#include <strings.h>

#include "log/log.h"

#define CT_JSON "application/json"
#define CT_PROM "text/plain; version=0.0.4; charset=utf-8"
#define NAME_MAX_BYTES 256          /* a decoded backend or server name in a path */
#define POST_TOKENS 32

struct err_ctx {
    const char *message, *type, *code;
};

static void w_error(json_writer *w, const void *ctx)
{
    const struct err_ctx *e = ctx;
    json_w_obj_begin(w);
    json_w_key(w, "error");
    json_w_obj_begin(w);
    json_w_key(w, "message");
    json_w_str(w, e->message);
    json_w_key(w, "type");
    json_w_str(w, e->type);
    json_w_key(w, "code");
    json_w_str(w, e->code);
    json_w_obj_end(w);
    json_w_obj_end(w);
}

/* Messages are static text: nothing the client sent is echoed back. */
void admin_error(struct admin_response *r, int status, const char *code, const char *message)
{
    struct err_ctx e = {message, status >= 500 ? "server_error" : "invalid_request_error", code};
    r->status = status;
    r->content_type = CT_JSON;
    r->body.len = r->body.off = 0;
    if (!admin_json(&r->body, w_error, &e))
        r->body.len = r->body.off = 0;
}

static void w_health(json_writer *w, const void *ctx)
{
    (void)ctx;
    json_w_obj_begin(w);
    json_w_key(w, "status");
    json_w_str(w, "ok");
    json_w_obj_end(w);
}

bool admin_token_ok(const char *token, const char *authz, size_t authz_len)
{
    if (!token || !*token)
        return true;
    if (!authz || authz_len < 7 || strncasecmp(authz, "Bearer ", 7) != 0)
        return false;
    const char *given = authz + 7;
    size_t given_len = authz_len - 7;
    while (given_len && (*given == ' ' || *given == '\t')) {
        given++;
        given_len--;
    }
    /* Constant time: every byte of the token is compared, whatever matched. */
    size_t len = strlen(token);
    volatile unsigned char diff = given_len != len;
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(token[i] ^ (i < given_len ? given[i] : 0));
    return diff == 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes s[0..n) into out (NUL-terminated). False when malformed, empty,
 * too long, or when it decodes to a NUL. */
static bool decode_segment(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return false;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= cap)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return o > 0;
}

static bool path_is(const struct admin_request *q, const char *p)
{
    return q->path_len == strlen(p) && memcmp(q->path, p, q->path_len) == 0;
}

static bool method_allowed(struct admin_response *r, const struct admin_request *q, bool get,
                           bool post)
{
    if ((get && (q->method == ADMIN_GET || q->method == ADMIN_HEAD)) ||
        (post && q->method == ADMIN_POST))
        return true;
    r->allow = get && post ? "GET, HEAD, POST" : get ? "GET, HEAD" : "POST";
    admin_error(r, 405, "method_not_allowed", "this endpoint does not take this method");
    return false;
}

static void render(struct admin_response *r, bool ok, int status, const char *ct)
{
    r->status = status;
    r->content_type = ct;
    if (!ok)
        admin_error(r, 500, "internal_error", "the response is too large");
}

/* {"state": "ready"|"drain"|"maint"}: sets the state, logs a change. */
static void set_state(struct runtime *rt, struct server_rt *s, const struct admin_request *q,
                      struct admin_response *r)
{
    json_token tok[POST_TOKENS];
    json_doc d;
    enum json_err err = json_parse(&d, q->body, q->body_len, tok, POST_TOKENS, 8);
    if (err != JSON_OK) {
        admin_error(r, 400, "invalid_json", json_strerror(err));
        return;
    }
    if (json_type(&d, 0) != JSON_OBJECT) {
        admin_error(r, 400, "invalid_body", "the body must be a JSON object");
        return;
    }
    json_iter it = json_iter_begin(&d, 0);
    int k, v;
    while (json_object_next(&it, &k, &v))
        if (!json_str_eq(&d, k, "state")) {
            admin_error(r, 400, "unknown_field", "the only field accepted is \"state\"");
            return;
        }
    int sv = json_find(&d, 0, "state");
    uint32_t state = CONF_STATE_COUNT;
    for (uint32_t i = 0; sv >= 0 && i < CONF_STATE_COUNT; i++)
        if (json_str_eq(&d, sv, conf_state_names[i]))
            state = i;
    if (state == CONF_STATE_COUNT) {
        admin_error(r, 400, "invalid_state", "\"state\" must be \"ready\", \"drain\" or \"maint\"");
        return;
    }
    uint32_t old = atomic_exchange_explicit(&s->state, state, memory_order_relaxed);
    if (old != state)
        log_info("server %s/%s state %s -> %s (admin)", s->backend->conf->name, s->conf->name,
                 old < CONF_STATE_COUNT ? conf_state_names[old] : "unknown",
                 conf_state_names[state]);
    render(r, admin_render_server(rt, s, &r->body), 200, CT_JSON);
}

/* /servers/BACKEND/SERVER */
static void servers(struct runtime *rt, const struct admin_request *q, struct admin_response *r)
{
    const char *p = q->path + 9, *end = q->path + q->path_len;
    const char *slash = memchr(p, '/', (size_t)(end - p));
    char bname[NAME_MAX_BYTES], sname[NAME_MAX_BYTES];
    if (!slash || memchr(slash + 1, '/', (size_t)(end - slash - 1)) ||
        !decode_segment(p, (size_t)(slash - p), bname, sizeof bname) ||
        !decode_segment(slash + 1, (size_t)(end - slash - 1), sname, sizeof sname)) {
        admin_error(r, 404, "not_found", "no such endpoint; use /servers/BACKEND/SERVER");
        return;
    }
    if (!method_allowed(r, q, true, true))
        return;
    struct server_rt *s = runtime_find_server(rt, bname, sname);
    if (!s) {
        admin_error(r, 404, "server_not_found", "no such backend or server");
        return;
    }
    if (q->method == ADMIN_POST)
        set_state(rt, s, q, r);
    else
        render(r, admin_render_server(rt, s, &r->body), 200, CT_JSON);
}

void admin_handle(struct runtime *rt, double uptime, const struct admin_request *q,
                  struct admin_response *r)
{
    memset(r, 0, sizeof *r);
    if (q->method == ADMIN_POST && !q->authorized) {
        /* Before routing, so a caller without the token learns nothing. */
        r->challenge = true;
        admin_error(r, 401, "unauthorized", "POST needs Authorization: Bearer <admin token>");
        return;
    }
    if (path_is(q, "/health")) {
        if (method_allowed(r, q, true, false))
            render(r, admin_json(&r->body, w_health, NULL), 200, CT_JSON);
    } else if (path_is(q, "/ready")) {
        int status = 503;
        if (method_allowed(r, q, true, false)) {
            bool ok = admin_render_ready(rt, &status, &r->body);
            render(r, ok, status, CT_JSON);
        }
    } else if (path_is(q, "/stats")) {
        if (method_allowed(r, q, true, false))
            render(r, admin_render_stats(rt, uptime, &r->body), 200, CT_JSON);
    } else if (path_is(q, "/metrics")) {
        if (method_allowed(r, q, true, false))
            render(r, admin_render_metrics(rt, &r->body), 200, CT_PROM);
    } else if (q->path_len > 9 && memcmp(q->path, "/servers/", 9) == 0) {
        servers(rt, q, r);
    } else {
        admin_error(r, 404, "not_found", "no such endpoint");
    }
}

void admin_response_free(struct admin_response *r)
{
    nbuf_free(&r->body);
}
