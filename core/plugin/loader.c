/* loader.c - from `- plugin: NAME` to a created instance, and each route's chain.
 *
 * A name is looked up as NAME.so in global.plugin_path (in order); anything with a
 * '/' or ending in ".so" is a path. Relative directories and paths are taken from
 * the current working directory, as a shell user expects. A shared object is opened
 * once per path and stays loaded until exit. A filter that fails to load or create
 * fails the whole configuration: a request never skips a configured filter.
 */
#include "plugin/plugin.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"

struct so {
    char *path;
    void *handle;
    const sl_plugin *desc;
    struct so *next;
};

static struct so *loaded;
static pthread_mutex_t loaded_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t g_workers = 1;

uint32_t plugin_worker_count(void)
{
    return g_workers;
}

static bool is_path(const char *name)
{
    size_t n = strlen(name);
    return strchr(name, '/') || (n > 3 && !strcmp(name + n - 3, ".so"));
}

/* Resolves NAME to a readable file; reports when none is found. */
static char *resolve(const struct conf *c, const struct conf_filter *f, struct conf_diags *d)
{
    if (is_path(f->plugin)) {
        char *rp = realpath(f->plugin, NULL);
        if (rp)
            return rp;
        /* Let dlopen say what is wrong with it. */
        size_t n = strlen(f->plugin) + 3;
        char *p = malloc(n);
        if (p)
            snprintf(p, n, "%s%s", strchr(f->plugin, '/') ? "" : "./", f->plugin);
        return p;
    }
    char buf[PATH_MAX];
    for (size_t i = 0; i < c->global.plugin_path_count; i++) {
        int n = snprintf(buf, sizeof buf, "%s/%s.so", c->global.plugin_path[i], f->plugin);
        if (n > 0 && (size_t)n < sizeof buf && access(buf, R_OK) == 0) {
            char *rp = realpath(buf, NULL);
            if (rp)
                return rp;
        }
    }
    char dirs[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < c->global.plugin_path_count && used < sizeof dirs; i++) {
        int n = snprintf(dirs + used, sizeof dirs - used, "%s%s", i ? ", " : "", c->global.plugin_path[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (c->global.plugin_path_count == 0)
        snprintf(dirs, sizeof dirs, "global.plugin_path is not set");
    conf_error(d, &f->loc, "plugin '%s' not found: no %s.so in plugin_path (%s)", f->plugin, f->plugin, dirs);
    return NULL;
}

/* dlopens and checks a file once; later uses share it. */
static const sl_plugin *open_so(const struct conf_filter *f, const char *path, struct conf_diags *d)
{
    pthread_mutex_lock(&loaded_lock);
    for (struct so *s = loaded; s; s = s->next)
        if (!strcmp(s->path, path)) {
            pthread_mutex_unlock(&loaded_lock);
            return s->desc;
        }
    pthread_mutex_unlock(&loaded_lock);

    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        conf_error(d, &f->loc, "plugin '%s': cannot load %s: %s", f->plugin, path, why ? why : "unknown error");
        return NULL;
    }
    sl_plugin_entry_fn entry;
    void *sym = dlsym(h, SL_PLUGIN_ENTRY_NAME);
    memcpy(&entry, &sym, sizeof entry); /* object to function pointer, as POSIX allows */
    if (!sym) {
        conf_error(d, &f->loc, "plugin '%s': %s is not a sluice plugin (no %s symbol)", f->plugin, path,
                   SL_PLUGIN_ENTRY_NAME);
        dlclose(h);
        return NULL;
    }
    const sl_plugin *p = entry();
    if (!p || p->magic != SL_PLUGIN_MAGIC) {
        conf_error(d, &f->loc, "plugin '%s': %s is not a sluice plugin (bad descriptor magic)", f->plugin, path);
        dlclose(h);
        return NULL;
    }
    if (p->abi_major != SL_ABI_VERSION_MAJOR) {
        conf_error(d, &f->loc,
                   "plugin '%s': %s was built for plugin ABI %u.%u; this sluice provides ABI %d.%d "
                   "(major versions must match)",
                   f->plugin, path, p->abi_major, p->abi_minor, SL_ABI_VERSION_MAJOR, SL_ABI_VERSION_MINOR);
        dlclose(h);
        return NULL;
    }
    /* The 1.0 descriptor must be there whole; later fields are read only when present. */
    if (p->size < offsetof(sl_plugin, on_end) + sizeof p->on_end || !p->create) {
        conf_error(d, &f->loc, "plugin '%s': %s has a truncated descriptor (size %u)", f->plugin, path, p->size);
        dlclose(h);
        return NULL;
    }
    struct so *s = calloc(1, sizeof *s);
    char *copy = strdup(path);
    if (!s || !copy) {
        free(s);
        free(copy);
        dlclose(h);
        conf_error(d, &f->loc, "plugin '%s': out of memory", f->plugin);
        return NULL;
    }
    s->path = copy;
    s->handle = h;
    s->desc = p;
    pthread_mutex_lock(&loaded_lock);
    s->next = loaded;
    loaded = s;
    pthread_mutex_unlock(&loaded_lock);
    if (p->abi_minor > SL_ABI_VERSION_MINOR)
        log_info("plugin %s (%s) was built for ABI 1.%u; functions newer than 1.%d are unavailable",
                 p->name ? p->name : f->plugin, path, p->abi_minor, SL_ABI_VERSION_MINOR);
    return p;
}

static struct filter *create_filter(struct conf *c, const struct conf_filter *f, const char *scope,
                                    struct conf_diags *d)
{
    char *path = resolve(c, f, d);
    if (!path)
        return NULL;
    const sl_plugin *p = open_so(f, path, d);
    if (!p) {
        free(path);
        return NULL;
    }
    struct plugin_cfg cfg = {c, d, f, scope, d->errors};
    void *inst = NULL;
    int32_t r = p->create(plugin_host(), (sl_config *)&cfg, &inst);
    if (r != SL_OK || d->errors > cfg.errors_at_start) {
        if (d->errors == cfg.errors_at_start)
            conf_error(d, &f->loc, "plugin '%s': could not create its instance", f->plugin);
        else if (r == SL_OK && p->destroy)
            p->destroy(inst); /* it reported errors yet said OK: do not keep it */
        free(path);
        return NULL;
    }
    free(path);
    struct filter *flt = arena_calloc(&c->arena, 1, sizeof *flt);
    flt->p = p;
    flt->inst = inst;
    flt->cf = f;
    flt->scope = scope;
    flt->has_response_hooks = p->on_response_head || p->on_response_body;
    return flt;
}

/* Creates every filter of a list; their instances in out[0..count). */
static bool create_list(struct conf *c, const struct conf_filters *fl, const char *scope, struct conf_diags *d,
                        struct filter **out, struct plugin_set *ps)
{
    bool ok = true;
    for (size_t i = 0; i < fl->count; i++) {
        out[i] = create_filter(c, &fl->items[i], scope, d);
        if (!out[i]) {
            ok = false;
            continue;
        }
        ps->filters[ps->count++] = out[i];
    }
    return ok;
}

static const char *scope_of(struct conf *c, const char *kind, const char *a, const char *b)
{
    char buf[512];
    if (b)
        snprintf(buf, sizeof buf, "%s:%s/%s", kind, a, b);
    else
        snprintf(buf, sizeof buf, "%s:%s", kind, a);
    return arena_strdup(&c->arena, buf);
}

static size_t filter_total(const struct conf *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->frontend_count; i++) {
        n += c->frontends[i].filters.count;
        for (size_t r = 0; r < c->frontends[i].route_count; r++)
            n += c->frontends[i].routes[r].filters.count;
    }
    for (size_t i = 0; i < c->backend_count; i++)
        n += c->backends[i].filters.count;
    return n;
}

bool plugins_load(struct conf *c, struct conf_diags *d, uint32_t workers)
{
    g_workers = workers ? workers : 1;
    size_t total = filter_total(c);
    if (total == 0)
        return true;
    struct plugin_set *ps = calloc(1, sizeof *ps);
    struct filter **all = calloc(total, sizeof *all);
    if (!ps || !all)
        abort();
    ps->filters = all;
    c->plugins = ps;
    bool ok = true;
    /* Backend filters first: every route of a backend shares them. */
    struct filter ***be_f = arena_calloc(&c->arena, c->backend_count + 1, sizeof *be_f);
    for (size_t i = 0; i < c->backend_count; i++) {
        const struct conf_backend *b = &c->backends[i];
        be_f[i] = arena_calloc(&c->arena, b->filters.count + 1, sizeof **be_f);
        ok &= create_list(c, &b->filters, scope_of(c, "backend", b->name, NULL), d, be_f[i], ps);
    }
    for (size_t i = 0; i < c->frontend_count; i++) {
        const struct conf_frontend *fe = &c->frontends[i];
        struct filter **fe_f = arena_calloc(&c->arena, fe->filters.count + 1, sizeof *fe_f);
        ok &= create_list(c, &fe->filters, scope_of(c, "frontend", fe->name, NULL), d, fe_f, ps);
        for (size_t r = 0; r < fe->route_count; r++) {
            struct conf_route *rt = (struct conf_route *)&fe->routes[r];
            struct filter **rt_f = arena_calloc(&c->arena, rt->filters.count + 1, sizeof *rt_f);
            ok &= create_list(c, &rt->filters, scope_of(c, "route", fe->name, rt->name), d, rt_f, ps);
            size_t bi = rt->backend ? (size_t)(rt->backend - c->backends) : 0;
            size_t bn = rt->backend ? rt->backend->filters.count : 0;
            size_t n = fe->filters.count + rt->filters.count + bn;
            if (!ok || n == 0)
                continue;
            struct chain *ch = arena_calloc(&c->arena, 1, sizeof *ch);
            struct filter **items = arena_calloc(&c->arena, n, sizeof *items);
            size_t k = 0;
            for (size_t j = 0; j < fe->filters.count; j++)
                items[k++] = fe_f[j];
            for (size_t j = 0; j < rt->filters.count; j++)
                items[k++] = rt_f[j];
            for (size_t j = 0; j < bn; j++)
                items[k++] = be_f[bi][j];
            ch->count = (uint32_t)n;
            ch->items = items;
            for (size_t j = 0; j < n; j++) {
                ch->any_body_hook |= items[j]->p->on_request_body != NULL;
                ch->any_response_hook |= items[j]->has_response_hooks;
            }
            rt->chain = ch;
        }
    }
    return ok;
}

void plugins_free(struct plugin_set *ps)
{
    if (!ps)
        return;
    for (uint32_t i = ps->count; i-- > 0;)
        if (ps->filters[i]->p->destroy)
            ps->filters[i]->p->destroy(ps->filters[i]->inst);
    free(ps->filters);
    free(ps);
}

void plugins_worker_start(const struct conf *c, struct worker *w)
{
    if (!c->plugins)
        return;
    for (uint32_t i = 0; i < c->plugins->count; i++) {
        struct filter *f = c->plugins->filters[i];
        if (f->p->worker_start && f->p->worker_start(f->inst, (sl_worker *)w) != SL_OK)
            log_error("plugin %s (%s): worker_start failed", f->cf->plugin, f->scope);
    }
}

void plugins_worker_stop(const struct conf *c, struct worker *w)
{
    if (!c->plugins)
        return;
    for (uint32_t i = c->plugins->count; i-- > 0;) {
        struct filter *f = c->plugins->filters[i];
        if (f->p->worker_stop)
            f->p->worker_stop(f->inst, (sl_worker *)w);
    }
}

void plugins_unload_all(void)
{
    pthread_mutex_lock(&loaded_lock);
    while (loaded) {
        struct so *s = loaded;
        loaded = s->next;
        dlclose(s->handle);
        free(s->path);
        free(s);
    }
    pthread_mutex_unlock(&loaded_lock);
}
