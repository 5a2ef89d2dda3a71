/* node.h - the located YAML tree a configuration file is read into.
 *
 * Every node keeps the FILE:LINE:COL where it starts, so every error the loader or
 * a plugin reports points at the text. `${VAR}` references are already replaced in
 * scalar values (not in keys). The tree is immutable once built and lives in the
 * configuration's arena; plugin configuration is handed on as these nodes.
 */
#ifndef SLUICE_CONF_NODE_H
#define SLUICE_CONF_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct conf_diags;

struct conf_loc {
    const char *file;
    uint32_t line, col;         /* 1-based */
};

enum conf_node_kind { CONF_NODE_SCALAR, CONF_NODE_MAP, CONF_NODE_SEQ };

struct conf_node;
struct conf_pair {
    const struct conf_node *key;    /* always a scalar */
    const struct conf_node *value;
};

struct conf_node {
    enum conf_node_kind kind;
    struct conf_loc loc;
    /* Scalars. `str` is the value with ${VAR}s replaced. `raw` is the text as written
     * (cut to CONF_SHOWN_BYTES with "..."): the only form error messages may quote, as
     * the value may hold a secret from the environment. */
    const char *str;
    size_t len;
    const char *raw;
    bool is_null;               /* plain `~`, `null` or nothing */
    bool quoted;
    /* Maps (pairs) and sequences (items), in document order. */
    size_t count;
    const struct conf_pair *pairs;
    const struct conf_node *const *items;
};

/* Limits that keep hostile input harmless. */
#define CONF_MAX_FILE_BYTES (16u * 1024 * 1024)
#define CONF_MAX_DEPTH 64
#define CONF_MAX_NODES 500000u      /* also counts nodes reached through aliases */
#define CONF_MAX_SCALAR_BYTES (1u * 1024 * 1024)
#define CONF_SHOWN_BYTES 64u

/* Parses one YAML document into a tree allocated from `a`. Returns NULL after adding
 * the error(s) to `d`. `file` is the name used in locations (kept by reference: it
 * must outlive the tree). An empty document returns NULL with an error. */
const struct conf_node *conf_node_parse(struct arena *a, struct conf_diags *d,
                                        const char *file, const char *text, size_t len);

/* The value under `key` in a map, or NULL. */
const struct conf_node *conf_node_get(const struct conf_node *map, const char *key);

/* Whether a scalar equals the C string s. */
bool conf_node_is(const struct conf_node *n, const char *s);

#endif
