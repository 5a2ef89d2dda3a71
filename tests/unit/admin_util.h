/* admin_util.h - a runtime built from a configuration string, for the admin tests. */
#ifndef SLUICE_TEST_ADMIN_UTIL_H
#define SLUICE_TEST_ADMIN_UTIL_H

#include <string.h>

#include "admin/admin.h"
#include "harness.h"

/* Frontend api; backend llm with servers a and b; backend spare with server c.
 * Port 1 resolves without anything listening. */
static const char admin_cfg[] =
    "frontends:\n"
    "  - name: api\n"
    "    bind: 127.0.0.1:8080\n"
    "    routes:\n"
    "      - backend: llm\n"
    "  - name: internal\n"
    "    bind: 127.0.0.1:8081\n"
    "    routes:\n"
    "      - backend: spare\n"
    "backends:\n"
    "  - name: llm\n"
    "    servers:\n"
    "      - {name: a, url: http://127.0.0.1:1/v1, weight: 3}\n"
    "      - {name: b, url: http://127.0.0.1:1, priority: 1}\n"
    "  - name: spare\n"
    "    balance: least_conn\n"
    "    servers:\n"
    "      - {name: c, url: http://127.0.0.1:1}\n";

static inline struct runtime *admin_rt(uint32_t workers)
{
    struct conf_diags d;
    conf_diags_init(&d);
    struct conf *c = conf_load_string("t.yaml", admin_cfg, strlen(admin_cfg), &d);
    struct runtime *rt = c ? runtime_create(c, workers, &d) : NULL;
    if (!rt)
        conf_diags_print(&d, stdout);
    conf_diags_free(&d);
    return rt;
}

/* The NUL-terminated text of a buffer (the renderers do not terminate). */
static inline const char *admin_text(struct nbuf *b)
{
    if (!nbuf_reserve(b, 1, ADMIN_OUT_MAX + 1))
        return "";
    nbuf_tail(b)[0] = '\0';
    return nbuf_data(b);
}

/* True when `all` has `line` as one whole line. */
static inline int admin_has_line(const char *all, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = all; (p = strstr(p, line)) != NULL; p++)
        if ((p == all || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

#define CHECK_HAS_LINE(all, line)                                                      \
    CHECK_MSG_(admin_has_line(all, line), "expected line \"%s\" in:\n%s", line, all)
#define CHECK_NO_LINE(all, line)                                                       \
    CHECK_MSG_(!admin_has_line(all, line), "unexpected line \"%s\" in:\n%s", line, all)

#endif
