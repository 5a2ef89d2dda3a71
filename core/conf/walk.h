/* walk.h - helpers the schema code uses to read typed values out of nodes.
 *
 * Each reports its own error (with location, the key and what was expected) and
 * returns false, leaving *out untouched, so callers set defaults first and read
 * optional keys with one call each. Values are quoted in messages only as written
 * in the file (conf_node.raw), never as substituted from the environment.
 */
#ifndef SLUICE_CONF_WALK_H
#define SLUICE_CONF_WALK_H

#include "conf/conf.h"

struct walk {
    struct conf *c;
    struct arena *a;
    struct conf_diags *d;
};

/* Checks that `n` is a mapping with only `keys` (NULL-terminated); reports each
 * unknown key with a suggestion. Returns false when n is not a mapping. */
bool walk_map(struct walk *w, const struct conf_node *n, const char *what,
              const char *const *keys);
/* The value of a key that must be present; reports it missing at the map. */
const struct conf_node *walk_need(struct walk *w, const struct conf_node *map, const char *key,
                                  const char *what);
/* The items of a sequence. A scalar counts as a one-item list when `one_ok`, a null
 * value as an empty list. Returns false (reported) for anything else. */
bool walk_list(struct walk *w, const struct conf_node *n, const char *key, bool one_ok,
               const struct conf_node *const **items, size_t *count);

bool walk_string(struct walk *w, const struct conf_node *n, const char *key, const char **out);
/* A string that may be empty (a null value reads as ""). */
bool walk_string_any(struct walk *w, const struct conf_node *n, const char *key, const char **out);
bool walk_name(struct walk *w, const struct conf_node *n, const char *key, const char **out);
bool walk_u32(struct walk *w, const struct conf_node *n, const char *key, uint32_t min,
              uint32_t max, uint32_t *out);
bool walk_duration(struct walk *w, const struct conf_node *n, const char *key, uint64_t *ms);
bool walk_size(struct walk *w, const struct conf_node *n, const char *key, uint64_t *bytes);
bool walk_bool(struct walk *w, const struct conf_node *n, const char *key, bool *out);
/* One of names[0..count); *out is its index. */
bool walk_enum(struct walk *w, const struct conf_node *n, const char *key,
               const char *const *names, size_t count, int *out);
/* A mapping of header names to values: names lower-cased and checked, values checked. */
bool walk_headers(struct walk *w, const struct conf_node *n, const char *key,
                  const struct conf_header **out, size_t *count);

/* Adds "; did you mean 'x'?" material: the candidate closest to `s`, or NULL. */
const char *walk_suggest(const char *s, const char *const *candidates, size_t count);

#endif
