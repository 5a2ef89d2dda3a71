/* load.c - conf_load_*(): file to typed configuration, and its lifetime. */
#include "conf/conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/schema.h"
#include "plugin/plugin.h"

static void set_defaults(struct conf *c)
{
    c->global.log_level = CONF_LOG_INFO;
    c->global.access = CONF_ACCESS_STDOUT;
    c->global.log_format = CONF_LOG_JSON;
    c->global.grace = 10000;
    c->timeouts = (struct conf_timeouts){.connect = 3000, .header = 10000,
                                         .client_idle = 60000, .server = 300000};
    c->limits = (struct conf_limits){.max_header_bytes = 64 * 1024,
                                     .max_body_bytes = 16 * 1024 * 1024};
    c->pool = (struct conf_pool){.max_idle = 64, .idle_timeout = 60000, .max_connections = 0};
}

static void read_root(struct walk *w, const struct conf_node *root)
{
    static const char *const keys[] = {"global", "admin", "defaults", "frontends", "backends", NULL};
    const struct conf_node *v;
    if (!walk_map(w, root, "the configuration", keys))
        return;
    /* defaults first: frontends and backends inherit from them. */
    if ((v = conf_node_get(root, "global")))
        schema_global(w, v);
    if ((v = conf_node_get(root, "admin")) && !(v->kind == CONF_NODE_SCALAR && v->is_null))
        schema_admin(w, v);
    if ((v = conf_node_get(root, "defaults")))
        schema_defaults(w, v);
    if ((v = conf_node_get(root, "backends")))
        schema_backends(w, v);
    if ((v = walk_need(w, root, "frontends", "the configuration")))
        schema_frontends(w, v);
    if (v && w->c->frontend_count == 0 && (v->kind == CONF_NODE_SEQ || v->is_null))
        conf_error(w->d, &v->loc, "at least one frontend is needed");
    conf_check(w);
}

struct conf *conf_load_string(const char *name, const char *text, size_t len,
                              struct conf_diags *d)
{
    struct conf *c = calloc(1, sizeof *c);
    if (!c) {
        fputs("sluice: out of memory\n", stderr);
        abort();
    }
    atomic_init(&c->refs, 1);
    arena_init(&c->arena, 64 * 1024);
    c->file = arena_strdup(&c->arena, name);
    set_defaults(c);
    size_t errors_before = d->errors;
    struct walk w = {c, &c->arena, d};
    c->root = conf_node_parse(&c->arena, d, c->file, text, len);
    if (c->root)
        read_root(&w, c->root);
    conf_diags_sort(d);
    if (!c->root || d->errors > errors_before) {
        conf_release(c);
        return NULL;
    }
    return c;
}

char *conf_read_file(const char *path, const struct conf_loc *at, struct conf_diags *d, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        conf_error(d, at, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        conf_error(d, at, "'%s' is not a regular file", path);
        fclose(f);
        return NULL;
    }
    if ((uint64_t)st.st_size > CONF_MAX_FILE_BYTES) {
        conf_error(d, at, "'%s' is larger than %u MiB", path, CONF_MAX_FILE_BYTES >> 20);
        fclose(f);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    char *text = malloc(size + 1);
    if (!text) {
        fclose(f);
        conf_error(d, at, "out of memory reading '%s'", path);
        return NULL;
    }
    size_t got = fread(text, 1, size, f);
    int err = ferror(f);
    fclose(f);
    if (err || got != size) {
        conf_error(d, at, "cannot read '%s'", path);
        free(text);
        return NULL;
    }
    text[size] = '\0';
    *len = size;
    return text;
}

struct conf *conf_load_file(const char *path, struct conf_diags *d)
{
    struct conf_loc loc = {path, 1, 1};
    FILE *f = fopen(path, "rb");
    if (!f) {
        conf_error(d, &loc, "cannot open the configuration file: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        conf_error(d, &loc, "the configuration is not a regular file");
        fclose(f);
        return NULL;
    }
    fclose(f);
    size_t size = 0;
    char *text = conf_read_file(path, &loc, d, &size);
    if (!text)
        return NULL;
    struct conf *c = conf_load_string(path, text, size, d);
    free(text);
    return c;
}

struct conf *conf_retain(struct conf *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void conf_release(struct conf *c)
{
    if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    plugins_free(c->plugins);
    arena_free(&c->arena);
    free(c);
}

const struct conf_backend *conf_find_backend_n(const struct conf *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->backend_count; i++) {
        const char *n = c->backends[i].name;
        if (n && strlen(n) == len && !memcmp(n, name, len))
            return &c->backends[i];
    }
    return NULL;
}

const struct conf_backend *conf_find_backend(const struct conf *c, const char *name)
{
    return conf_find_backend_n(c, name, strlen(name));
}

const struct conf_frontend *conf_find_frontend(const struct conf *c, const char *name)
{
    for (size_t i = 0; i < c->frontend_count; i++)
        if (c->frontends[i].name && !strcmp(c->frontends[i].name, name))
            return &c->frontends[i];
    return NULL;
}
