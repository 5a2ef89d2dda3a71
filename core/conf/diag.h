/* diag.h - the errors and warnings of one configuration load.
 *
 * The loader never stops at the first problem: it records every one with its
 * location and goes on, so a user fixes a file in one pass. Messages never quote a
 * value that came from the environment (see conf_node.raw).
 */
#ifndef SLUICE_CONF_DIAG_H
#define SLUICE_CONF_DIAG_H

#include <stddef.h>
#include <stdio.h>

#include "conf/node.h"

enum conf_severity { CONF_ERROR, CONF_WARNING };

struct conf_diag {
    enum conf_severity severity;
    char *file;                 /* owned copies: diags outlive the configuration */
    uint32_t line, col;
    char *msg;
};

#define CONF_MAX_DIAGS 500

struct conf_diags {
    struct conf_diag *items;
    size_t count, cap;
    size_t errors, warnings;
    size_t dropped;             /* beyond CONF_MAX_DIAGS */
};

void conf_diags_init(struct conf_diags *d);
void conf_diags_free(struct conf_diags *d);

void conf_error(struct conf_diags *d, const struct conf_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void conf_warn(struct conf_diags *d, const struct conf_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Orders the diagnostics by file, line and column. */
void conf_diags_sort(struct conf_diags *d);

/* Prints `FILE:LINE:COL: message` (and `FILE:LINE:COL: warning: message`) lines. */
void conf_diags_print(const struct conf_diags *d, FILE *out);

#endif
