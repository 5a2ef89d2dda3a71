/* conf_util.h - helpers shared by the configuration unit tests. */
#ifndef SLUICE_TEST_CONF_UTIL_H
#define SLUICE_TEST_CONF_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "harness.h"

/* The diagnostics of the last load, as `sluice -t` prints them. */
static char diag_text[65536];
static size_t diag_errors;

static inline struct conf *load_len(const char *text, size_t len)
{
    struct conf_diags d;
    conf_diags_init(&d);
    struct conf *c = conf_load_string("t.yaml", text, len, &d);
    FILE *f = fmemopen(diag_text, sizeof diag_text - 1, "w");
    if (f) {
        conf_diags_print(&d, f);
        fclose(f);
    }
    diag_errors = d.errors;
    conf_diags_free(&d);
    return c;
}

static inline struct conf *load(const char *text)
{
    return load_len(text, strlen(text));
}

/* Loads text that must fail, and checks one printed line is exactly `line`. */
#define EXPECT_DIAG(text, line)                                                       \
    do {                                                                              \
        struct conf *c_ = load(text);                                                 \
        CHECK(c_ == NULL);                                                            \
        conf_release(c_);                                                             \
        CHECK_MSG_(has_line(diag_text, line), "expected line \"%s\" in:\n%s", line,   \
                   diag_text);                                                        \
    } while (0)

static inline int has_line(const char *all, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = all; (p = strstr(p, line)) != NULL; p++)
        if ((p == all || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

/* Checks the last load printed exactly `line` among its diagnostics. */
#define CHECK_LINE(line)                                                              \
    CHECK_MSG_(has_line(diag_text, line), "expected line \"%s\" in:\n%s", line, diag_text)

/* A valid configuration to splice test fragments into. */
#define MINIMAL_BACKENDS                                                              \
    "backends:\n"                                                                     \
    "  - name: llm\n"                                                                 \
    "    servers:\n"                                                                  \
    "      - {name: a, url: http://127.0.0.1:9001}\n"
#define MINIMAL_FRONTENDS                                                             \
    "frontends:\n"                                                                    \
    "  - name: api\n"                                                                 \
    "    bind: 127.0.0.1:8080\n"                                                      \
    "    routes:\n"                                                                   \
    "      - backend: llm\n"

#endif
