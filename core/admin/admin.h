/* admin.h - the admin listener: health, readiness, statistics, metrics and server
 * state changes, served on the main thread's event loop (never on a worker). */
#ifndef SLUICE_ADMIN_H
#define SLUICE_ADMIN_H

#include <ev.h>

#include "conf/conf.h"
#include "runtime/runtime.h"

struct admin;

/* Listens on cfg->bind and serves on `loop`. NULL (logged) when it cannot bind. */
struct admin *admin_start(struct ev_loop *loop, struct runtime *rt, const struct conf_admin *cfg);
/* Stops listening and closes its connections (the process is stopping). */
void admin_stop(struct admin *a);
void admin_free(struct admin *a);

#endif
