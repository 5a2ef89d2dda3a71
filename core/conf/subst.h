/* subst.h - ${NAME} and ${NAME:-default} in configuration scalars.
 *
 * `${NAME}` is the environment variable NAME and an error when it is unset.
 * `${NAME:-default}` is NAME when it is set and not empty, else `default` (as in
 * the shell). `$${` writes a literal `${`. A `$` not followed by `{` is kept.
 */
#ifndef SLUICE_CONF_SUBST_H
#define SLUICE_CONF_SUBST_H

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct conf_diags;
struct conf_loc;

/* Replaces the references in raw[0..len) into a new arena string. On error adds it
 * to `d` at `loc` and returns false. Error messages name variables, never values. */
bool conf_subst(struct arena *a, struct conf_diags *d, const struct conf_loc *loc,
                const char *raw, size_t len, const char **out, size_t *out_len);

#endif
