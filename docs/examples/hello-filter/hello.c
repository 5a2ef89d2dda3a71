/* hello.c - a small out-of-tree sluice filter plugin, built from the installed
 * headers alone (see README.md and docs/plugins.md).
 *
 * It adds `x-hello: <greeting>` (the header name is configurable) to every
 * response, upstream or local, and, when `path` is configured, answers
 * `GET <path>` itself with a small JSON body instead of forwarding it.
 *
 *     filters:
 *       - plugin: ./hello.so
 *         config: {greeting: "hi there", path: /hello}
 */
#include <sluice/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HELLO_VERSION "1.0.0"
#define GREETING_MAX 256

struct hello {
    const sl_host *host;    /* valid for the whole life of the instance */
    char header[64];        /* response header name */
    char greeting[GREETING_MAX + 1];
    sl_str header_s, greeting_s; /* views of the two above, for the hook */
    char *path;             /* NULL: nothing answered locally */
    char *body;             /* the local answer, built once in create() */
    size_t body_len;
};

/* ---- configuration ---- */

/* A header name must be an HTTP token; we keep it to the usual lowercase form. */
static int is_header_name(sl_str s)
{
    if (s.len == 0 || s.len >= sizeof(((struct hello *)0)->header))
        return 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

/* Printable ASCII only: a header value must not carry CR/LF or control bytes. */
static int is_printable(sl_str s)
{
    for (size_t i = 0; i < s.len; i++)
        if ((unsigned char)s.ptr[i] < 0x20 || (unsigned char)s.ptr[i] > 0x7e)
            return 0;
    return 1;
}

/* A scalar's text, or an error at the node. */
static int read_string(const sl_host *h, sl_config *cfg, const sl_node *n, const char *key,
                       sl_str *out)
{
    if (h->node_kind(n) != SL_NODE_SCALAR) {
        char msg[128];
        snprintf(msg, sizeof msg, "hello: '%s' must be a string", key);
        h->config_error(cfg, n, msg);
        return -1;
    }
    *out = h->node_str(n);
    return 0;
}

/* {"plugin":"hello","greeting":"..."} with the greeting escaped for JSON. */
static int build_body(struct hello *p)
{
    size_t cap = 64 + 2 * strlen(p->greeting);
    char *b = malloc(cap);
    if (!b)
        return -1;
    size_t n = (size_t)snprintf(b, cap, "{\"plugin\":\"hello\",\"greeting\":\"");
    for (const char *c = p->greeting; *c; c++) {
        if (*c == '"' || *c == '\\')
            b[n++] = '\\';
        b[n++] = *c;
    }
    n += (size_t)snprintf(b + n, cap - n, "\"}\n");
    p->body = b;
    p->body_len = n;
    return 0;
}

static void hello_destroy(void *instance)
{
    struct hello *p = instance;
    if (!p)
        return;
    free(p->path);
    free(p->body);
    free(p);
}

/* Reads the `config:` map. Every problem is reported at its node (FILE:LINE:COL)
 * and the function carries on, so one `sluice -t` run shows them all. */
static int hello_configure(struct hello *p, const sl_host *h, sl_config *cfg)
{
    static const char *const keys[] = {"greeting", "header", "path", NULL};
    const sl_node *root = h->config_root(cfg);
    int ok = 1;
    snprintf(p->header, sizeof p->header, "x-hello");
    snprintf(p->greeting, sizeof p->greeting, "hello");
    if (!root)
        return 0;   /* no config: the defaults */
    if (h->node_kind(root) != SL_NODE_MAP) {
        h->config_error(cfg, root, "hello: 'config' must be a map");
        return -1;
    }
    if (h->config_check_keys(cfg, root, keys) != SL_OK)
        ok = 0;

    const sl_node *n;
    sl_str s;
    if ((n = h->node_get(root, "greeting")) && read_string(h, cfg, n, "greeting", &s) == 0) {
        if (s.len == 0 || s.len > GREETING_MAX || !is_printable(s)) {
            h->config_error(cfg, n, "hello: 'greeting' must be 1 to 256 printable ASCII characters");
            ok = 0;
        } else {
            memcpy(p->greeting, s.ptr, s.len);
            p->greeting[s.len] = '\0';
        }
    } else if (n) {
        ok = 0;
    }
    if ((n = h->node_get(root, "header")) && read_string(h, cfg, n, "header", &s) == 0) {
        if (!is_header_name(s)) {
            h->config_error(cfg, n, "hello: 'header' must be a lowercase header name "
                                    "(a-z, 0-9, '-'; up to 63 characters)");
            ok = 0;
        } else {
            memcpy(p->header, s.ptr, s.len);
            p->header[s.len] = '\0';
        }
    } else if (n) {
        ok = 0;
    }
    if ((n = h->node_get(root, "path")) && read_string(h, cfg, n, "path", &s) == 0) {
        if (s.len == 0 || s.ptr[0] != '/' || s.len > 1024 || !is_printable(s) ||
            memchr(s.ptr, '?', s.len)) {
            h->config_error(cfg, n, "hello: 'path' must start with '/' and have no query");
            ok = 0;
        } else if (!(p->path = malloc(s.len + 1))) {
            h->config_error(cfg, n, "hello: out of memory");
            ok = 0;
        } else {
            memcpy(p->path, s.ptr, s.len);
            p->path[s.len] = '\0';
        }
    } else if (n) {
        ok = 0;
    }
    return ok ? 0 : -1;
}

/* Main thread, once per `- plugin:` entry; `sluice -t` runs it too, so it only
 * reads the configuration and allocates. On error: report, return SL_ERROR. */
static int32_t hello_create(const sl_host *host, sl_config *cfg, void **instance)
{
    struct hello *p = calloc(1, sizeof *p);
    if (!p)
        return SL_ERROR;   /* sluice reports that the instance could not be created */
    p->host = host;
    if (hello_configure(p, host, cfg) != 0 || build_body(p) != 0) {
        hello_destroy(p);
        return SL_ERROR;
    }
    p->header_s = (sl_str){p->header, strlen(p->header)};
    p->greeting_s = (sl_str){p->greeting, strlen(p->greeting)};
    *instance = p;
    return SL_OK;
}

/* ---- the hook (on the transaction's worker; must not block) ---- */

static int sl_str_eq(sl_str a, const char *b)
{
    size_t n = strlen(b);
    return a.len == n && memcmp(a.ptr, b, n) == 0;
}

static int32_t hello_request_head(void *instance, sl_txn *t)
{
    struct hello *p = instance;
    const sl_host *h = p->host;
    /* Set on the response before one exists: applies to whatever is sent, the
     * upstream's answer or a local one (ours or a later filter's). */
    if (h->header_set(t, SL_RESPONSE, p->header_s, p->greeting_s) != SL_OK)
        return SL_ERROR;   /* fail closed */
    if (p->path && sl_str_eq(h->txn_str(t, SL_TXN_METHOD), "GET") &&
        sl_str_eq(h->txn_str(t, SL_TXN_PATH), p->path)) {
        sl_str body = {p->body, p->body_len};
        if (h->respond(t, 200, SL_STR("application/json"), body) != SL_OK)
            return SL_ERROR;
        return SL_DONE;    /* nothing reaches a backend */
    }
    return SL_CONTINUE;
}

/* ---- the descriptor ---- */

static const sl_plugin hello_plugin = {
    SL_PLUGIN_HEAD,
    .name = "hello",
    .version = HELLO_VERSION,
    .create = hello_create,
    .destroy = hello_destroy,
    .on_request_head = hello_request_head,
};

SL_PLUGIN_EXPORT const sl_plugin *SL_PLUGIN_ENTRY(void);
SL_PLUGIN_EXPORT const sl_plugin *SL_PLUGIN_ENTRY(void)
{
    return &hello_plugin;
}
