/* host.c - the sl_host table every plugin receives: one, filled once, read-only. */
#include "plugin/host_int.h"

#include <pthread.h>

static sl_host table;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void fill(void)
{
    table.size = (uint32_t)sizeof table;
    table.abi_major = SL_ABI_VERSION_MAJOR;
    table.abi_minor = SL_ABI_VERSION_MINOR;
    host_fill_conf(&table);
    host_fill_worker(&table);
    host_fill_txn(&table);
    host_fill_store(&table);
}

const sl_host *plugin_host(void)
{
    pthread_once(&once, fill);
    return &table;
}
