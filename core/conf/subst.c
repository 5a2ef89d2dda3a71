/* subst.c - see subst.h. */
#include "conf/subst.h"

#include <stdlib.h>
#include <string.h>

#include "arena/arena.h"
#include "conf/diag.h"
#include "conf/node.h"

struct out {
    char *p;
    size_t len, cap;
    bool too_long;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (o->too_long || o->len + n > CONF_MAX_SCALAR_BYTES) {
        o->too_long = true;
        return;
    }
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        while (cap < o->len + n)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (!p)
            abort();
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static bool name_char(char c, bool first)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (!first && c >= '0' && c <= '9');
}

/* Expands the reference that starts at raw[i] == '$', raw[i+1] == '{'.
 * Returns the index after the closing brace, or 0 on error (reported). */
static size_t expand_one(struct conf_diags *d, const struct conf_loc *loc, const char *raw,
                         size_t len, size_t i, struct out *o)
{
    size_t name_start = i + 2, j = name_start;
    while (j < len && name_char(raw[j], j == name_start))
        j++;
    size_t name_len = j - name_start;
    char name[256];
    if (name_len == 0 || name_len >= sizeof name) {
        conf_error(d, loc, "bad variable reference: '${' must be followed by a variable name "
                           "(write '$${' for a literal '${')");
        return 0;
    }
    memcpy(name, raw + name_start, name_len);
    name[name_len] = '\0';
    const char *def = NULL;
    size_t def_len = 0;
    if (j + 1 < len && raw[j] == ':' && raw[j + 1] == '-') {
        def = raw + j + 2;
        const char *close = memchr(def, '}', len - (j + 2));
        if (!close) {
            conf_error(d, loc, "bad variable reference: '${%s:-' has no closing '}'", name);
            return 0;
        }
        def_len = (size_t)(close - def);
        j = (size_t)(close - raw);
    } else if (j >= len || raw[j] != '}') {
        conf_error(d, loc, "bad variable reference to '%s': expected '}' or ':-default}'", name);
        return 0;
    }
    const char *val = getenv(name);
    if (def && (!val || !*val))
        put(o, def, def_len);
    else if (val)
        put(o, val, strlen(val));
    else {
        conf_error(d, loc, "environment variable %s is not set (use ${%s:-default} for a default)",
                   name, name);
        return 0;
    }
    return j + 1;
}

bool conf_subst(struct arena *a, struct conf_diags *d, const struct conf_loc *loc,
                const char *raw, size_t len, const char **out, size_t *out_len)
{
    struct out o = {0};
    bool ok = true;
    size_t i = 0, lit = 0;
    while (i < len) {
        if (raw[i] != '$' || i + 1 >= len) {
            i++;
            continue;
        }
        if (raw[i + 1] == '$' && i + 2 < len && raw[i + 2] == '{') {
            put(&o, raw + lit, i - lit);
            put(&o, "${", 2);
            i += 3;
            lit = i;
        } else if (raw[i + 1] == '{') {
            put(&o, raw + lit, i - lit);
            size_t next = expand_one(d, loc, raw, len, i, &o);
            if (!next) {
                ok = false;
                /* Keep scanning for further errors past this reference. */
                const char *close = memchr(raw + i, '}', len - i);
                next = close ? (size_t)(close - raw) + 1 : len;
            }
            i = lit = next;
        } else {
            i++;
        }
    }
    put(&o, raw + lit, len - lit);
    if (o.too_long) {
        conf_error(d, loc, "value is longer than %u bytes after variable substitution",
                   CONF_MAX_SCALAR_BYTES);
        ok = false;
    }
    if (ok) {
        *out = arena_strndup(a, o.p ? o.p : "", o.len);
        *out_len = o.len;
    }
    free(o.p);
    return ok;
}
