/* host_conf.c - the configuration half of the host table: a plugin's `config:`
 * node, located errors, typed readers and extra YAML files (create() only).
 *
 * sl_node is struct conf_node; sl_config is struct plugin_cfg. Messages quote a
 * value only as written in the file (conf_node.raw), never as substituted.
 */
#include "plugin/host_int.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/scalar.h"
#include "conf/walk.h"

#define CFG(x) ((struct plugin_cfg *)(x))
#define NODE(x) ((const struct conf_node *)(x))

static const struct conf_loc *loc_of(struct plugin_cfg *cfg, const sl_node *at)
{
    return at ? &NODE(at)->loc : &cfg->cf->loc;
}

static const sl_node *h_config_root(sl_config *cfg)
{
    return (const sl_node *)CFG(cfg)->cf->config;
}

static sl_str h_config_scope(sl_config *cfg)
{
    return (sl_str){CFG(cfg)->scope, strlen(CFG(cfg)->scope)};
}

static void h_config_error(sl_config *cfg, const sl_node *at, const char *message)
{
    conf_error(CFG(cfg)->d, loc_of(CFG(cfg), at), "%s", message ? message : "error");
}

static void h_config_warn(sl_config *cfg, const sl_node *at, const char *message)
{
    conf_warn(CFG(cfg)->d, loc_of(CFG(cfg), at), "%s", message ? message : "warning");
}

static int32_t h_config_check_keys(sl_config *cfg, const sl_node *map, const char *const *allowed)
{
    struct plugin_cfg *pc = CFG(cfg);
    if (!map)
        return SL_OK;
    size_t before = pc->d->errors;
    struct walk w = {pc->c, &pc->c->arena, pc->d};
    char what[128];
    snprintf(what, sizeof what, "the configuration of plugin '%s'", pc->cf->plugin);
    if (!walk_map(&w, NODE(map), what, allowed))
        return SL_ERR_INVALID;
    return pc->d->errors > before ? SL_ERR_INVALID : SL_OK;
}

static const sl_node *h_config_load_file(sl_config *cfg, const sl_node *at, sl_str path)
{
    struct plugin_cfg *pc = CFG(cfg);
    const struct conf_loc *loc = loc_of(pc, at);
    if (!path.ptr || !path.len || memchr(path.ptr, '\0', path.len)) {
        conf_error(pc->d, loc, "an empty file name");
        return NULL;
    }
    char full[4096];
    if (path.ptr[0] == '/') {
        snprintf(full, sizeof full, "%.*s", (int)path.len, path.ptr);
    } else {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", pc->c->file);
        snprintf(full, sizeof full, "%s/%.*s", dirname(dir), (int)path.len, path.ptr);
    }
    size_t len = 0;
    char *text = conf_read_file(full, loc, pc->d, &len);
    if (!text)
        return NULL;
    const char *name = arena_strdup(&pc->c->arena, full);
    const struct conf_node *root = conf_node_parse(&pc->c->arena, pc->d, name, text, len);
    free(text);
    return (const sl_node *)root;
}

static int32_t h_node_kind(const sl_node *n)
{
    if (!n)
        return SL_NODE_NULL;
    switch (NODE(n)->kind) {
    case CONF_NODE_MAP: return SL_NODE_MAP;
    case CONF_NODE_SEQ: return SL_NODE_SEQ;
    default: return NODE(n)->is_null ? SL_NODE_NULL : SL_NODE_SCALAR;
    }
}

static sl_str h_node_str(const sl_node *n)
{
    if (!n || NODE(n)->kind != CONF_NODE_SCALAR)
        return (sl_str){"", 0};
    return (sl_str){NODE(n)->str, NODE(n)->len};
}

static const sl_node *h_node_get(const sl_node *map, const char *key)
{
    if (!map || NODE(map)->kind != CONF_NODE_MAP || !key)
        return NULL;
    return (const sl_node *)conf_node_get(NODE(map), key);
}

static uint32_t h_node_count(const sl_node *n)
{
    if (!n || NODE(n)->kind == CONF_NODE_SCALAR)
        return 0;
    return (uint32_t)NODE(n)->count;
}

static const sl_node *h_node_item(const sl_node *n, uint32_t i)
{
    if (!n || i >= h_node_count(n))
        return NULL;
    if (NODE(n)->kind == CONF_NODE_SEQ)
        return (const sl_node *)NODE(n)->items[i];
    return (const sl_node *)NODE(n)->pairs[i].value;
}

static const sl_node *h_node_key(const sl_node *n, uint32_t i)
{
    if (!n || NODE(n)->kind != CONF_NODE_MAP || i >= NODE(n)->count)
        return NULL;
    return (const sl_node *)NODE(n)->pairs[i].key;
}

/* A scalar to parse, or an error at n. */
static const struct conf_node *scalar_or_error(struct plugin_cfg *pc, const sl_node *n, const char *what)
{
    if (!n || NODE(n)->kind != CONF_NODE_SCALAR || NODE(n)->is_null) {
        conf_error(pc->d, loc_of(pc, n), "expected %s", what);
        return NULL;
    }
    return NODE(n);
}

static int32_t h_node_int(sl_config *cfg, const sl_node *n, int64_t min, int64_t max, int64_t *out)
{
    struct plugin_cfg *pc = CFG(cfg);
    const struct conf_node *s = scalar_or_error(pc, n, "an integer");
    if (!s)
        return SL_ERR_INVALID;
    const char *p = s->str;
    size_t len = s->len;
    bool neg = len > 0 && p[0] == '-';
    uint64_t v = 0;
    const char *why = conf_parse_uint(p + neg, len - neg, 0, (uint64_t)INT64_MAX, &v);
    int64_t iv = neg ? -(int64_t)v : (int64_t)v;
    if (why || iv < min || iv > max) {
        conf_error(pc->d, &s->loc, "'%s' is not an integer from %lld to %lld", s->raw, (long long)min,
                   (long long)max);
        return SL_ERR_INVALID;
    }
    *out = iv;
    return SL_OK;
}

static int32_t h_node_bool(sl_config *cfg, const sl_node *n, int32_t *out)
{
    struct plugin_cfg *pc = CFG(cfg);
    const struct conf_node *s = scalar_or_error(pc, n, "true or false");
    if (!s)
        return SL_ERR_INVALID;
    int v = 0;
    if (conf_parse_bool(s->str, s->len, &v)) {
        conf_error(pc->d, &s->loc, "'%s' is not true or false", s->raw);
        return SL_ERR_INVALID;
    }
    *out = v;
    return SL_OK;
}

static int32_t h_node_duration_ms(sl_config *cfg, const sl_node *n, uint64_t *out)
{
    struct plugin_cfg *pc = CFG(cfg);
    const struct conf_node *s = scalar_or_error(pc, n, "a duration such as 250ms, 5s, 1m or 1h");
    if (!s)
        return SL_ERR_INVALID;
    const char *why = conf_parse_duration(s->str, s->len, out);
    if (why) {
        conf_error(pc->d, &s->loc, "'%s' is not a duration: %s", s->raw, why);
        return SL_ERR_INVALID;
    }
    return SL_OK;
}

static int32_t h_node_size(sl_config *cfg, const sl_node *n, uint64_t *out)
{
    struct plugin_cfg *pc = CFG(cfg);
    const struct conf_node *s = scalar_or_error(pc, n, "a size such as 512, 64KiB or 16MiB");
    if (!s)
        return SL_ERR_INVALID;
    const char *why = conf_parse_size(s->str, s->len, out);
    if (why) {
        conf_error(pc->d, &s->loc, "'%s' is not a size: %s", s->raw, why);
        return SL_ERR_INVALID;
    }
    return SL_OK;
}

static int32_t h_config_backend(sl_config *cfg, sl_str name)
{
    const struct plugin_cfg *pc = (const struct plugin_cfg *)cfg;
    return name.ptr && conf_find_backend_n(pc->c, name.ptr, name.len) ? SL_OK : SL_NOT_FOUND;
}

void host_fill_conf(sl_host *h)
{
    h->config_root = h_config_root;
    h->config_scope = h_config_scope;
    h->config_error = h_config_error;
    h->config_warn = h_config_warn;
    h->config_check_keys = h_config_check_keys;
    h->config_load_file = h_config_load_file;
    h->node_kind = h_node_kind;
    h->node_str = h_node_str;
    h->node_get = h_node_get;
    h->node_count = h_node_count;
    h->node_item = h_node_item;
    h->node_key = h_node_key;
    h->node_int = h_node_int;
    h->node_bool = h_node_bool;
    h->node_duration_ms = h_node_duration_ms;
    h->node_size = h_node_size;
    h->config_backend = h_config_backend;
}
