/* health.h - active health checks: one probe per server per interval, for the
 * whole process.
 *
 * Entry points: health_start() (on the main loop, after the runtime is built),
 * health_stop() (before the loop ends). Probes run on the main thread's event
 * loop, never on a worker: a check costs nothing on the request path, and four
 * workers do not mean four probes. Each server's result moves its
 * server_rt.up (read by every worker's balancer): `fall` consecutive failures
 * mark it down, `rise` consecutive successes mark it up; transitions are logged.
 * The first probe comes at a random point of the first interval and later ones
 * every interval +-10%, so servers are not probed in lockstep.
 */
#ifndef SLUICE_HEALTH_H
#define SLUICE_HEALTH_H

#include <ev.h>

#include "runtime/runtime.h"

struct health;

/* NULL when no backend has a health_check. */
struct health *health_start(struct ev_loop *loop, struct runtime *rt);
void health_stop(struct health *h);

#endif
