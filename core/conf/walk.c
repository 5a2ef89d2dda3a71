/* walk.c - see walk.h. */
#include "conf/walk.h"

#include <ctype.h>
#include <string.h>

#include "conf/scalar.h"

static const char *kind_name(const struct conf_node *n)
{
    if (n->kind == CONF_NODE_MAP)
        return "a mapping";
    if (n->kind == CONF_NODE_SEQ)
        return "a list";
    return n->is_null ? "empty" : "a scalar";
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[65];
    if (la > 64 || lb > 64)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *walk_suggest(const char *s, const char *const *candidates, size_t count)
{
    const char *best = NULL;
    size_t best_d = 3;  /* suggest only close matches */
    for (size_t i = 0; i < count; i++) {
        size_t dist = edit_distance(s, candidates[i]);
        if (dist < best_d) {
            best_d = dist;
            best = candidates[i];
        }
    }
    return best;
}

bool walk_map(struct walk *w, const struct conf_node *n, const char *what,
              const char *const *keys)
{
    if (n->kind != CONF_NODE_MAP) {
        conf_error(w->d, &n->loc, "%s must be a mapping, not %s", what, kind_name(n));
        return false;
    }
    size_t nkeys = 0;
    while (keys[nkeys])
        nkeys++;
    for (size_t i = 0; i < n->count; i++) {
        const struct conf_node *k = n->pairs[i].key;
        size_t j;
        for (j = 0; j < nkeys; j++)
            if (conf_node_is(k, keys[j]))
                break;
        if (j < nkeys)
            continue;
        char expected[512];
        size_t off = 0;
        for (j = 0; j < nkeys && off < sizeof expected; j++)
            off += (size_t)snprintf(expected + off, sizeof expected - off, "%s%s", j ? ", " : "", keys[j]);
        const char *hint = walk_suggest(k->raw, keys, nkeys);
        if (hint)
            conf_error(w->d, &k->loc, "unknown key '%s' in %s; did you mean '%s'?", k->raw, what, hint);
        else
            conf_error(w->d, &k->loc, "unknown key '%s' in %s (expected one of: %s)", k->raw, what,
                       expected);
    }
    return true;
}

const struct conf_node *walk_need(struct walk *w, const struct conf_node *map, const char *key,
                                  const char *what)
{
    const struct conf_node *v = conf_node_get(map, key);
    if (!v)
        conf_error(w->d, &map->loc, "%s is missing the required key '%s'", what, key);
    return v;
}

bool walk_list(struct walk *w, const struct conf_node *n, const char *key, bool one_ok,
               const struct conf_node *const **items, size_t *count)
{
    if (n->kind == CONF_NODE_SEQ) {
        *items = n->items;
        *count = n->count;
        return true;
    }
    if (n->kind == CONF_NODE_SCALAR && n->is_null) {
        *items = NULL;
        *count = 0;
        return true;
    }
    if (n->kind == CONF_NODE_SCALAR && one_ok) {
        const struct conf_node **one = arena_alloc(w->a, sizeof *one);
        one[0] = n;
        *items = one;
        *count = 1;
        return true;
    }
    conf_error(w->d, &n->loc, "'%s' must be a list, not %s", key, kind_name(n));
    return false;
}

static bool need_scalar(struct walk *w, const struct conf_node *n, const char *key, const char *what)
{
    if (n->kind != CONF_NODE_SCALAR || n->is_null) {
        conf_error(w->d, &n->loc, "'%s' must be %s, not %s", key, what, kind_name(n));
        return false;
    }
    return true;
}

bool walk_string(struct walk *w, const struct conf_node *n, const char *key, const char **out)
{
    if (!need_scalar(w, n, key, "a string"))
        return false;
    if (n->len == 0) {
        conf_error(w->d, &n->loc, "'%s' may not be empty", key);
        return false;
    }
    if (memchr(n->str, '\0', n->len)) {
        conf_error(w->d, &n->loc, "'%s' may not contain a NUL character", key);
        return false;
    }
    *out = n->str;
    return true;
}

bool walk_string_any(struct walk *w, const struct conf_node *n, const char *key, const char **out)
{
    if (n->kind == CONF_NODE_SCALAR && n->is_null) {
        *out = "";
        return true;
    }
    if (!need_scalar(w, n, key, "a string"))
        return false;
    if (memchr(n->str, '\0', n->len)) {
        conf_error(w->d, &n->loc, "'%s' may not contain a NUL character", key);
        return false;
    }
    *out = n->str;
    return true;
}

bool walk_name(struct walk *w, const struct conf_node *n, const char *key, const char **out)
{
    if (!need_scalar(w, n, key, "a name"))
        return false;
    const char *err = conf_check_name(n->str, n->len);
    if (err) {
        conf_error(w->d, &n->loc, "'%s': %s", key, err);
        return false;
    }
    *out = n->str;
    return true;
}

bool walk_u32(struct walk *w, const struct conf_node *n, const char *key, uint32_t min,
              uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (!need_scalar(w, n, key, "a number"))
        return false;
    const char *err = conf_parse_uint(n->str, n->len, min, max, &v);
    if (err) {
        conf_error(w->d, &n->loc, "'%s' must be a whole number from %u to %u (got '%s')", key,
                   min, max, n->raw);
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

bool walk_duration(struct walk *w, const struct conf_node *n, const char *key, uint64_t *ms)
{
    if (!need_scalar(w, n, key, "a duration"))
        return false;
    const char *err = conf_parse_duration(n->str, n->len, ms);
    if (err)
        conf_error(w->d, &n->loc, "'%s': %s (got '%s')", key, err, n->raw);
    return !err;
}

bool walk_size(struct walk *w, const struct conf_node *n, const char *key, uint64_t *bytes)
{
    if (!need_scalar(w, n, key, "a size"))
        return false;
    const char *err = conf_parse_size(n->str, n->len, bytes);
    if (err)
        conf_error(w->d, &n->loc, "'%s': %s (got '%s')", key, err, n->raw);
    return !err;
}

bool walk_bool(struct walk *w, const struct conf_node *n, const char *key, bool *out)
{
    int v;
    if (!need_scalar(w, n, key, "true or false"))
        return false;
    const char *err = conf_parse_bool(n->str, n->len, &v);
    if (err) {
        conf_error(w->d, &n->loc, "'%s': %s (got '%s')", key, err, n->raw);
        return false;
    }
    *out = v != 0;
    return true;
}

bool walk_enum(struct walk *w, const struct conf_node *n, const char *key,
               const char *const *names, size_t count, int *out)
{
    if (!need_scalar(w, n, key, "a string"))
        return false;
    for (size_t i = 0; i < count; i++) {
        if (conf_node_is(n, names[i])) {
            *out = (int)i;
            return true;
        }
    }
    char expected[256];
    size_t off = 0;
    for (size_t i = 0; i < count && off < sizeof expected; i++)
        off += (size_t)snprintf(expected + off, sizeof expected - off, "%s%s", i ? ", " : "", names[i]);
    conf_error(w->d, &n->loc, "'%s' must be one of %s (got '%s')", key, expected, n->raw);
    return false;
}

bool walk_headers(struct walk *w, const struct conf_node *n, const char *key,
                  const struct conf_header **out, size_t *count)
{
    if (n->kind == CONF_NODE_SCALAR && n->is_null) {
        *out = NULL;
        *count = 0;
        return true;
    }
    if (n->kind != CONF_NODE_MAP) {
        conf_error(w->d, &n->loc, "'%s' must be a mapping of header names to values, not %s", key,
                   kind_name(n));
        return false;
    }
    struct conf_header *h = arena_calloc(w->a, n->count, sizeof *h);
    bool ok = true;
    for (size_t i = 0; i < n->count; i++) {
        const struct conf_node *k = n->pairs[i].key, *v = n->pairs[i].value;
        const char *err = conf_check_header_name(k->str, k->len);
        if (err) {
            conf_error(w->d, &k->loc, "'%s': %s", key, err);
            ok = false;
            continue;
        }
        char *name = arena_strndup(w->a, k->str, k->len);
        for (char *p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        const char *value;
        if (v->kind != CONF_NODE_SCALAR) {
            conf_error(w->d, &v->loc, "header '%s' must have a string value, not %s", name, kind_name(v));
            ok = false;
            continue;
        }
        if (!walk_string_any(w, v, name, &value)) {
            ok = false;
            continue;
        }
        if ((err = conf_check_header_value(v->str, v->len))) {
            conf_error(w->d, &v->loc, "header '%s': %s", name, err);
            ok = false;
            continue;
        }
        h[i].name = name;
        h[i].value = value;
    }
    for (size_t i = 0; i < n->count; i++)
        for (size_t j = 0; h[i].name && j < i; j++)
            if (h[j].name && !strcmp(h[i].name, h[j].name)) {
                conf_error(w->d, &n->pairs[i].key->loc, "header '%s' is set twice in '%s'", h[i].name, key);
                ok = false;
                break;
            }
    if (ok) {
        *out = h;
        *count = n->count;
    }
    return ok;
}
