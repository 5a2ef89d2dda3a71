/* plugin.h - filter plugins: loading, instances, chains, and the host table.
 *
 * Entry points: plugins_load() (after conf_load: resolves every `- plugin:` entry,
 * dlopens it, checks its ABI and creates its instance, reporting problems as
 * FILE:LINE:COL), plugins_worker_start/stop() (on each worker's thread) and
 * plugin_host() (the sl_host table handed to plugins). The instances and the chain
 * of every route belong to the configuration generation and die with it; a loaded
 * shared object stays loaded until exit (a plugin's code may still run for requests
 * of an older generation).
 *
 * The transaction side of the ABI (hooks, headers, bodies, pause) is implemented
 * by core/proxy/chain.c and core/proxy/filter_api.c.
 */
#ifndef SLUICE_PLUGIN_H
#define SLUICE_PLUGIN_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "sluice/plugin.h"

struct worker;

/* One `- plugin:` entry: a created instance. */
struct filter {
    const sl_plugin *p;
    void *inst;
    const struct conf_filter *cf;
    const char *scope;          /* "frontend:NAME", "route:FE/ROUTE", "backend:NAME" */
    bool has_response_hooks;
};

/* The filters a request passes: frontend, route, backend; in that order. */
struct chain {
    uint32_t count;
    struct filter *const *items;
    bool any_body_hook;         /* someone wants request body chunks */
    bool any_response_hook;     /* on_response_head or on_response_body */
};

struct plugin_set {
    struct filter **filters;    /* every instance, for worker_start/stop and destroy */
    uint32_t count;
};

/* Loads and creates the plugins `c` names and attaches them (c->plugins, and each
 * route's chain). False when any failed; everything is reported into d. */
bool plugins_load(struct conf *c, struct conf_diags *d, uint32_t workers);
/* Destroys the instances (main thread); called by conf_release. */
void plugins_free(struct plugin_set *ps);
void plugins_worker_start(const struct conf *c, struct worker *w);
void plugins_worker_stop(const struct conf *c, struct worker *w);
/* Unloads every shared object (at exit, after the last configuration died). */
void plugins_unload_all(void);

const sl_host *plugin_host(void);
/* Frees the local store (at exit, after every worker stopped). */
void plugin_store_shutdown(void);
uint32_t plugin_worker_count(void);

/* host_conf.c: the sl_config of one create() call. */
struct plugin_cfg {
    struct conf *c;
    struct conf_diags *d;
    const struct conf_filter *cf;
    const char *scope;
    size_t errors_at_start;
};

#endif
