/* diag.c - see diag.h. */
#include "conf/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void conf_diags_init(struct conf_diags *d)
{
    memset(d, 0, sizeof *d);
}

void conf_diags_free(struct conf_diags *d)
{
    for (size_t i = 0; i < d->count; i++) {
        free(d->items[i].file);
        free(d->items[i].msg);
    }
    free(d->items);
    conf_diags_init(d);
}

static char *dup_or_die(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p) {
        fputs("sluice: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void add(struct conf_diags *d, enum conf_severity sev, const struct conf_loc *loc,
                const char *fmt, va_list ap)
{
    if (sev == CONF_ERROR)
        d->errors++;
    else
        d->warnings++;
    if (d->count >= CONF_MAX_DIAGS) {
        d->dropped++;
        return;
    }
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct conf_diag *items = realloc(d->items, cap * sizeof *items);
        if (!items) {
            fputs("sluice: out of memory\n", stderr);
            abort();
        }
        d->items = items;
        d->cap = cap;
    }
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    struct conf_diag *g = &d->items[d->count++];
    g->severity = sev;
    g->file = dup_or_die(loc ? loc->file : "");
    g->line = loc ? loc->line : 0;
    g->col = loc ? loc->col : 0;
    g->msg = dup_or_die(buf);
}

void conf_error(struct conf_diags *d, const struct conf_loc *loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, CONF_ERROR, loc, fmt, ap);
    va_end(ap);
}

void conf_warn(struct conf_diags *d, const struct conf_loc *loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, CONF_WARNING, loc, fmt, ap);
    va_end(ap);
}

static int before(const struct conf_diag *a, const struct conf_diag *b)
{
    int f = strcmp(a->file, b->file);
    if (f)
        return f < 0;
    if (a->line != b->line)
        return a->line < b->line;
    return a->col < b->col;
}

/* Stable insertion sort: at most CONF_MAX_DIAGS items, and equal positions keep the
 * order they were found in. */
void conf_diags_sort(struct conf_diags *d)
{
    for (size_t i = 1; i < d->count; i++) {
        struct conf_diag x = d->items[i];
        size_t j = i;
        while (j > 0 && before(&x, &d->items[j - 1])) {
            d->items[j] = d->items[j - 1];
            j--;
        }
        d->items[j] = x;
    }
}

void conf_diags_print(const struct conf_diags *d, FILE *out)
{
    for (size_t i = 0; i < d->count; i++) {
        const struct conf_diag *g = &d->items[i];
        fprintf(out, "%s:%u:%u: %s%s\n", g->file, g->line, g->col,
                g->severity == CONF_WARNING ? "warning: " : "", g->msg);
    }
    if (d->dropped)
        fprintf(out, "(%zu more not shown)\n", d->dropped);
}
