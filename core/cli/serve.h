/* serve.h - running sluice in the foreground with a loaded configuration. */
#ifndef SLUICE_SERVE_H
#define SLUICE_SERVE_H

#include "conf/conf.h"

/* Takes over the reference to c. Returns the process exit status. */
int serve(struct conf *c);
/* global.workers, or one per online CPU for `auto`. */
uint32_t serve_worker_count(const struct conf *c);

#endif
