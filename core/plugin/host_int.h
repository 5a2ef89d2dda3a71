/* host_int.h - how the host table is put together from its parts. */
#ifndef SLUICE_PLUGIN_HOST_INT_H
#define SLUICE_PLUGIN_HOST_INT_H

#include "plugin/plugin.h"

void host_fill_conf(sl_host *h);   /* host_conf.c */
void host_fill_store(sl_host *h);  /* host_store.c */
void host_fill_txn(sl_host *h);    /* core/proxy/filter_api.c */
void host_fill_worker(sl_host *h); /* core/proxy/filter_worker.c */

#endif
