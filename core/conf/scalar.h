/* scalar.h - parsers for the typed scalars of the configuration.
 *
 * Each returns NULL on success or a static message saying what is wrong (never
 * quoting the input, which may hold a secret). The loader adds location and key.
 */
#ifndef SLUICE_CONF_SCALAR_H
#define SLUICE_CONF_SCALAR_H

#include <stddef.h>
#include <stdint.h>

#include "arena/arena.h"
#include "conf/conf.h"

#define CONF_DURATION_MAX_MS (30ull * 24 * 3600 * 1000)     /* 30 days */
#define CONF_SIZE_MAX (1ull << 40)                          /* 1 TiB */

/* `250ms`, `5s`, `1m`, `1h`, combinations such as `1m30s`, or `0`. */
const char *conf_parse_duration(const char *s, size_t len, uint64_t *ms);
/* `512`, `512B`, `64KiB`, `16MiB`, `1GiB`. */
const char *conf_parse_size(const char *s, size_t len, uint64_t *bytes);
/* A decimal integer within [min, max]. */
const char *conf_parse_uint(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out);
/* true/false (also yes/no, on/off). */
const char *conf_parse_bool(const char *s, size_t len, int *out);
/* `HOST:PORT`, `[V6]:PORT`, `*:PORT`, `:PORT`; HOST an IP literal or localhost. */
const char *conf_parse_bind(const char *s, size_t len, struct conf_bind *out);
/* `http[s]://host[:port][/path]`; strings of `out` come from `a`. */
const char *conf_parse_url(struct arena *a, const char *s, size_t len, struct conf_url *out);
/* An HTTP header name (RFC 9110 token). */
const char *conf_check_header_name(const char *s, size_t len);
/* A header value: no CR, LF or NUL (they would let a value inject headers). */
const char *conf_check_header_value(const char *s, size_t len);
/* An entity name: 1-64 of [A-Za-z0-9_.-] (names appear in URLs and metric labels). */
const char *conf_check_name(const char *s, size_t len);

#endif
