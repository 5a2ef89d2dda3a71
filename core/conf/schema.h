/* schema.h - internal: the parts of the loader that map nodes to typed structures.
 * Each reads one section, applying defaults, and reports every problem it finds. */
#ifndef SLUICE_CONF_SCHEMA_H
#define SLUICE_CONF_SCHEMA_H

#include "conf/walk.h"

void schema_global(struct walk *w, const struct conf_node *n);
void schema_admin(struct walk *w, const struct conf_node *n);
void schema_defaults(struct walk *w, const struct conf_node *n);
void schema_frontends(struct walk *w, const struct conf_node *n);
void schema_backends(struct walk *w, const struct conf_node *n);

/* Shared readers. `keys` limit which timeouts a section accepts. */
void schema_timeouts(struct walk *w, const struct conf_node *n, const char *what,
                     const char *const *keys, struct conf_timeouts *t);
void schema_limits(struct walk *w, const struct conf_node *n, struct conf_limits *l);
void schema_pool(struct walk *w, const struct conf_node *n, struct conf_pool *p);
void schema_filters(struct walk *w, const struct conf_node *n, struct conf_filters *out);

/* Cross-checks once every section is read: names, references, binds. */
void conf_check(struct walk *w);

#endif
