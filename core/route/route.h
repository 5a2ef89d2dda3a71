/* route.h - choosing a frontend's route for a request (first match wins). */
#ifndef SLUICE_ROUTE_H
#define SLUICE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"

/* What routing looks at. Header lookup is a callback so routing does not depend
 * on the HTTP version the request came in. Names are lower case. */
struct route_req {
    int method;                 /* enum conf_method, or -1 for a method routes cannot name */
    const char *path;           /* without the query */
    size_t path_len;
    const char *host;           /* Host header (or :authority), may carry a port; NULL if none */
    size_t host_len;
    bool (*header)(void *ud, const char *name, const char **value, size_t *len);
    void *ud;
};

/* The first route of `fe` whose every condition holds, or NULL (404). */
const struct conf_route *route_match(const struct conf_frontend *fe, const struct route_req *r);

/* The upstream path for a routed request: the server's base path replaces what
 * the route's path_prefix matched. Writes into buf (NUL-terminated) and returns the
 * length, or -1 when it does not fit. `target` is the full request target (with
 * query); its query is kept. */
long route_rewrite_path(const struct conf_route *route, const struct conf_server *s,
                        const char *target, size_t target_len, char *buf, size_t cap);

#endif
