/* node.c - YAML text to a located node tree, with ${VAR} substitution.
 *
 * libyaml's event parser does the YAML; this file only assembles nodes. It keeps an
 * explicit stack (no recursion), caps depth and node count (aliases count as what
 * they expand to, so "billion laughs" documents are refused), and refuses duplicate
 * keys, since YAML would silently keep one of them.
 */
#include "conf/node.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "arena/arena.h"
#include "conf/diag.h"
#include "conf/subst.h"

struct vec {
    const struct conf_node **v;
    size_t n, cap;
};

struct frame {
    struct conf_node *node;
    struct vec kids;            /* maps: key, value, key, value ... */
    uint64_t weight;            /* nodes this subtree expands to */
    const char *anchor;
};

struct anchor {
    const char *name;
    const struct conf_node *node;
    uint64_t weight;
};

struct builder {
    struct arena *a;
    struct conf_diags *d;
    const char *file;
    struct frame stack[CONF_MAX_DEPTH + 1];
    size_t depth;
    struct anchor *anchors;
    size_t anchor_count, anchor_cap;
    const struct conf_node *root;
    uint64_t root_weight;
    size_t built;
    int failed;
};

static void vec_push(struct vec *v, const struct conf_node *n)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        const struct conf_node **p = realloc(v->v, cap * sizeof *p);
        if (!p)
            abort();
        v->v = p;
        v->cap = cap;
    }
    v->v[v->n++] = n;
}

static struct conf_loc mark_loc(const struct builder *b, yaml_mark_t m)
{
    struct conf_loc l = {b->file, (uint32_t)m.line + 1, (uint32_t)m.column + 1};
    return l;
}

static void anchor_add(struct builder *b, const char *name, const struct conf_node *n,
                       uint64_t weight)
{
    if (!name)
        return;
    if (b->anchor_count == b->anchor_cap) {
        size_t cap = b->anchor_cap ? b->anchor_cap * 2 : 8;
        struct anchor *p = realloc(b->anchors, cap * sizeof *p);
        if (!p)
            abort();
        b->anchors = p;
        b->anchor_cap = cap;
    }
    /* A later anchor of the same name shadows the earlier one, as YAML says. */
    b->anchors[b->anchor_count++] = (struct anchor){name, n, weight};
}

static const struct anchor *anchor_find(const struct builder *b, const char *name)
{
    for (size_t i = b->anchor_count; i-- > 0;)
        if (strcmp(b->anchors[i].name, name) == 0)
            return &b->anchors[i];
    return NULL;
}

static const char *copy_anchor(struct builder *b, const yaml_char_t *anchor)
{
    return anchor ? arena_strdup(b->a, (const char *)anchor) : NULL;
}

/* Hands a finished node to its parent (or makes it the root). */
static void attach(struct builder *b, const struct conf_node *n, uint64_t weight)
{
    if (b->depth == 0) {
        b->root = n;
        b->root_weight = weight;
        return;
    }
    struct frame *f = &b->stack[b->depth - 1];
    vec_push(&f->kids, n);
    f->weight += weight;
}

/* In a map, the scalar at an even position is a key; keys get no substitution. */
static int next_is_key(const struct builder *b)
{
    if (b->depth == 0)
        return 0;
    const struct frame *f = &b->stack[b->depth - 1];
    return f->node->kind == CONF_NODE_MAP && f->kids.n % 2 == 0;
}

static int is_null_text(const char *s, size_t len)
{
    return len == 0 || (len == 1 && s[0] == '~') ||
           (len == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

static void on_scalar(struct builder *b, const yaml_event_t *ev)
{
    struct conf_node *n = arena_calloc(b->a, 1, sizeof *n);
    const char *raw = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    n->kind = CONF_NODE_SCALAR;
    n->loc = mark_loc(b, ev->start_mark);
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    n->is_null = !n->quoted && is_null_text(raw, len);
    if (len > CONF_MAX_SCALAR_BYTES) {
        conf_error(b->d, &n->loc, "scalar of %zu bytes is longer than the %u byte limit", len,
                   CONF_MAX_SCALAR_BYTES);
        b->failed = 1;
        len = 0;
    }
    n->str = arena_strndup(b->a, raw, len);
    n->len = len;
    n->raw = n->str;
    if (len > CONF_SHOWN_BYTES) {
        char *shown = arena_alloc(b->a, CONF_SHOWN_BYTES + 4);
        memcpy(shown, raw, CONF_SHOWN_BYTES);
        memcpy(shown + CONF_SHOWN_BYTES, "...", 4);
        n->raw = shown;
    }
    if (!next_is_key(b) && !n->is_null && memchr(raw, '$', len)) {
        if (!conf_subst(b->a, b->d, &n->loc, raw, len, &n->str, &n->len))
            b->failed = 1;
    }
    anchor_add(b, copy_anchor(b, ev->data.scalar.anchor), n, 1);
    attach(b, n, 1);
}

static void on_start(struct builder *b, const yaml_event_t *ev, enum conf_node_kind kind)
{
    struct conf_loc loc = mark_loc(b, ev->start_mark);
    if (b->depth == CONF_MAX_DEPTH) {
        conf_error(b->d, &loc, "nesting is deeper than %d levels", CONF_MAX_DEPTH);
        b->failed = 2;
        return;
    }
    struct conf_node *n = arena_calloc(b->a, 1, sizeof *n);
    n->kind = kind;
    n->loc = loc;
    const yaml_char_t *anchor =
        kind == CONF_NODE_MAP ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    b->stack[b->depth++] = (struct frame){n, {0}, 1, copy_anchor(b, anchor)};
}

static int key_cmp(const void *x, const void *y)
{
    const struct conf_node *a = *(const struct conf_node *const *)x;
    const struct conf_node *c = *(const struct conf_node *const *)y;
    if (a->len != c->len)
        return a->len < c->len ? -1 : 1;
    int r = memcmp(a->str, c->str, a->len);
    if (r)
        return r;
    /* Same key: earlier in the file first, so the later one is the duplicate. */
    if (a->loc.line != c->loc.line)
        return a->loc.line < c->loc.line ? -1 : 1;
    return a->loc.col < c->loc.col ? -1 : (a->loc.col > c->loc.col);
}

/* Builds the pairs of a map; refuses non-scalar and duplicate keys. */
static void finish_map(struct builder *b, struct frame *f)
{
    size_t count = f->kids.n / 2;
    struct conf_pair *pairs = arena_calloc(b->a, count, sizeof *pairs);
    const struct conf_node **keys = malloc((count ? count : 1) * sizeof *keys);
    if (!keys)
        abort();
    size_t nkeys = 0;
    for (size_t i = 0; i < count; i++) {
        pairs[i].key = f->kids.v[2 * i];
        pairs[i].value = f->kids.v[2 * i + 1];
        if (pairs[i].key->kind != CONF_NODE_SCALAR) {
            conf_error(b->d, &pairs[i].key->loc, "a key must be a scalar, not a %s",
                       pairs[i].key->kind == CONF_NODE_MAP ? "mapping" : "list");
            b->failed = 1;
        } else {
            keys[nkeys++] = pairs[i].key;
        }
    }
    qsort(keys, nkeys, sizeof *keys, key_cmp);
    for (size_t i = 1; i < nkeys; i++) {
        if (keys[i]->len == keys[i - 1]->len && !memcmp(keys[i]->str, keys[i - 1]->str, keys[i]->len)) {
            conf_error(b->d, &keys[i]->loc, "duplicate key '%s' (first at line %u)", keys[i]->raw,
                       keys[i - 1]->loc.line);
            b->failed = 1;
        }
    }
    free(keys);
    f->node->pairs = pairs;
    f->node->count = count;
}

static void on_end(struct builder *b)
{
    struct frame *f = &b->stack[--b->depth];
    if (f->node->kind == CONF_NODE_MAP) {
        finish_map(b, f);
    } else {
        const struct conf_node **items = arena_calloc(b->a, f->kids.n, sizeof *items);
        if (f->kids.n)
            memcpy(items, f->kids.v, f->kids.n * sizeof *items);
        f->node->items = items;
        f->node->count = f->kids.n;
    }
    free(f->kids.v);
    anchor_add(b, f->anchor, f->node, f->weight);
    attach(b, f->node, f->weight);
}

static void on_alias(struct builder *b, const yaml_event_t *ev)
{
    struct conf_loc loc = mark_loc(b, ev->start_mark);
    const struct anchor *an = anchor_find(b, (const char *)ev->data.alias.anchor);
    if (!an) {
        conf_error(b->d, &loc, "alias '*%s' names no anchor defined before it",
                   (const char *)ev->data.alias.anchor);
        b->failed = 1;
        /* Keep the tree shaped: stand in a null scalar. */
        struct conf_node *n = arena_calloc(b->a, 1, sizeof *n);
        n->kind = CONF_NODE_SCALAR;
        n->loc = loc;
        n->raw = n->str = "";
        n->is_null = true;
        attach(b, n, 1);
        return;
    }
    attach(b, an->node, an->weight);
}

/* Weight of everything finished or open so far: the size the tree expands to. */
static uint64_t expanded(const struct builder *b)
{
    uint64_t w = b->root_weight;
    for (size_t i = 0; i < b->depth; i++)
        w += b->stack[i].weight;
    return w;
}

static void report_yaml_error(struct builder *b, const yaml_parser_t *p, const char *text, size_t len)
{
    struct conf_loc loc = {b->file, 1, 1};
    if (p->error == YAML_READER_ERROR) {
        /* Reader errors carry a byte offset, not a mark. */
        size_t off = p->problem_offset < len ? p->problem_offset : len;
        for (size_t i = 0; i < off; i++) {
            if (text[i] == '\n') {
                loc.line++;
                loc.col = 1;
            } else {
                loc.col++;
            }
        }
    } else {
        loc = mark_loc(b, p->problem_mark);
    }
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->error == YAML_MEMORY_ERROR)
        conf_error(b->d, &loc, "out of memory while reading YAML");
    else if (p->context)
        conf_error(b->d, &loc, "YAML syntax error: %s (%s, line %zu column %zu)", problem,
                   p->context, p->context_mark.line + 1, p->context_mark.column + 1);
    else
        conf_error(b->d, &loc, "YAML syntax error: %s", problem);
}

/* Drives the libyaml events; returns 0 when parsing must stop. */
static int step(struct builder *b, const yaml_event_t *ev, int *docs)
{
    struct conf_loc loc = mark_loc(b, ev->start_mark);
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*docs > 1) {
            conf_error(b->d, &loc, "only one YAML document is allowed in a configuration file");
            b->failed = 2;
        }
        break;
    case YAML_SCALAR_EVENT:
        on_scalar(b, ev);
        break;
    case YAML_SEQUENCE_START_EVENT:
        on_start(b, ev, CONF_NODE_SEQ);
        break;
    case YAML_MAPPING_START_EVENT:
        on_start(b, ev, CONF_NODE_MAP);
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        on_end(b);
        break;
    case YAML_ALIAS_EVENT:
        on_alias(b, ev);
        break;
    default:
        break;
    }
    if (b->failed != 2 && (++b->built > CONF_MAX_NODES || expanded(b) > CONF_MAX_NODES)) {
        conf_error(b->d, &loc, "the document has more than %u nodes (counting what aliases expand to)",
                   CONF_MAX_NODES);
        b->failed = 2;
    }
    return b->failed != 2;
}

const struct conf_node *conf_node_parse(struct arena *a, struct conf_diags *d,
                                        const char *file, const char *text, size_t len)
{
    struct builder b = {.a = a, .d = d, .file = file};
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        struct conf_loc loc = {file, 1, 1};
        conf_error(d, &loc, "out of memory while reading YAML");
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int docs = 0, done = 0;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            report_yaml_error(&b, &p, text, len);
            b.failed = 2;
            break;
        }
        int go = step(&b, &ev, &docs);
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (!go)
            break;
    }
    yaml_parser_delete(&p);
    while (b.depth > 0)
        free(b.stack[--b.depth].kids.v);
    free(b.anchors);
    if (b.failed)
        return NULL;
    if (!b.root || (b.root->kind == CONF_NODE_SCALAR && b.root->is_null)) {
        struct conf_loc loc = {file, 1, 1};
        conf_error(d, &loc, "the configuration is empty");
        return NULL;
    }
    return b.root;
}

const struct conf_node *conf_node_get(const struct conf_node *map, const char *key)
{
    if (!map || map->kind != CONF_NODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->count; i++)
        if (conf_node_is(map->pairs[i].key, key))
            return map->pairs[i].value;
    return NULL;
}

bool conf_node_is(const struct conf_node *n, const char *s)
{
    size_t len = strlen(s);
    return n && n->kind == CONF_NODE_SCALAR && n->len == len && memcmp(n->str, s, len) == 0;
}
