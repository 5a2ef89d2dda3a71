/* model_map.h - a server's model_map applied to a JSON request body.
 *
 * Only the value of the top-level "model" member changes; every other byte of the
 * body stays as the client sent it. The caller re-states Content-Length.
 */
#ifndef SLUICE_MODEL_MAP_H
#define SLUICE_MODEL_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"
#include "http1/http1.h"
#include "net/net.h"

/* Whether a request's body may need rewriting: it has one, and says it is JSON. */
bool model_map_applies(const struct http1_head *h);

/* The mapped name for `model`, or NULL when the map has no entry (nor "*"). */
const char *model_map_lookup(const struct conf_server *s, const char *model, size_t len);

/* Rewrites the body at buf[from..] in place (growing it up to `max` bytes in all).
 * Returns true when it changed; false leaves it untouched (not JSON, no string
 * "model", nothing mapped, or no room). */
bool model_map_rewrite(const struct conf_server *s, struct nbuf *buf, size_t from, size_t max);

#endif
