/* test_cli.c - the sluice command line as a user runs it: -t, -v, -h, bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "http.h"
#include "proc.h"

static char tmpdir[256];

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    return temp_file_write(tmpdir, name, text, path, sizeof path);
}

/* `sluice a1 a2 a3` (NULL ends the arguments early) with env added. */
static int run(struct proc_result *r, const char *a1, const char *a2, const char *a3,
               const char *const *env)
{
    struct proc_opts o = {.env = env};
    return proc_run_sluice(r, &o, a1, a2, a3, NULL);
}

static void demo_config_is_ok(void)
{
    char path[512];
    struct proc_result r;
    char plugins[512];
    snprintf(path, sizeof path, "%s/conf/demo.yaml", proc_env("SLUICE_SOURCE_DIR"));
    /* The demo runs from the source tree; here its plugins are in this build. */
    snprintf(plugins, sizeof plugins, "%s/plugins", proc_env("SLUICE_BUILD_DIR"));
    setenv("SLUICE_PLUGIN_DIR", plugins, 1);
    CHECK_EQ_INT(run(&r, "-t", "-c", path, NULL), 0);
    unsetenv("SLUICE_PLUGIN_DIR");
    CHECK_STR_EQ(r.out, "configuration OK\n");
    CHECK_STR_EQ(r.err, "");
    proc_result_free(&r);
}

/* The worked example of docs/resilience.md, with its keys set. */
static void resilience_example_is_ok(void)
{
    char path[512], plugins[512], pd[600];
    struct proc_result r;
    snprintf(path, sizeof path, "%s/conf/resilience.example.yaml", proc_env("SLUICE_SOURCE_DIR"));
    snprintf(plugins, sizeof plugins, "%s/plugins", proc_env("SLUICE_BUILD_DIR"));
    snprintf(pd, sizeof pd, "SLUICE_PLUGIN_DIR=%s", plugins);
    const char *const env[] = {pd, "OPENAI_API_KEY=sk-test-1", "ANTHROPIC_API_KEY=sk-ant-test-2", NULL};
    CHECK_EQ_INT(run(&r, "-t", "-c", path, env), 0);
    CHECK_STR_EQ(r.out, "configuration OK\n");
    CHECK_STR_EQ(r.err, "");
    proc_result_free(&r);
}

static void unknown_key_is_reported_at_12_5(void)
{
    const char *path = write_file("bad.yaml",
                                  "frontends:\n"                     /* 1 */
                                  "  - name: api\n"                  /* 2 */
                                  "    bind: 127.0.0.1:8080\n"       /* 3 */
                                  "    routes:\n"                    /* 4 */
                                  "      - backend: llm\n"           /* 5 */
                                  "backends:\n"                      /* 6 */
                                  "  - name: llm\n"                  /* 7 */
                                  "    balance: least_conn\n"        /* 8 */
                                  "    servers:\n"                   /* 9 */
                                  "      - name: a\n"                /* 10 */
                                  "        url: http://h\n"          /* 11 */
                                  "    retries: 3\n");               /* 12 */
    REQUIRE(path != NULL);
    struct proc_result r;
    char expect[1024];
    CHECK_EQ_INT(run(&r, "-t", "-c", path, NULL), 1);
    snprintf(expect, sizeof expect, "%s:12:5: unknown key 'retries' in a backend (expected one of: "
             "name, balance, hash_key, health_check, pool, timeouts, filters, servers)\n", path);
    CHECK_STR_EQ(r.err, expect);
    CHECK_STR_EQ(r.out, "");
    proc_result_free(&r);
}

static void every_error_in_one_run(void)
{
    const char *path = write_file("many.yaml",
                                  "global: {workers: -1, grace: 5}\n"
                                  "frontends:\n"
                                  "  - name: api\n"
                                  "    bind: [\"127.0.0.1:8080\", \"127.0.0.1:8080\"]\n"
                                  "    routes: [{backend: nope}]\n"
                                  "backends:\n"
                                  "  - name: llm\n"
                                  "    servers: [{name: a, url: \"ftp://x\", weight: 1000}]\n");
    REQUIRE(path != NULL);
    struct proc_result r;
    CHECK_EQ_INT(run(&r, "--test", "--config", path, NULL), 1);
    int lines = 0;
    for (const char *p = r.err; (p = strchr(p, '\n')); p++)
        lines++;
    CHECK_EQ_INT(lines, 6);
    CHECK_STR_CONTAINS(r.err, ":1:19: 'workers' must be auto");
    CHECK_STR_CONTAINS(r.err, ":1:30: 'grace': a duration needs a unit");
    CHECK_STR_CONTAINS(r.err, ":4:30: bind '127.0.0.1:8080' clashes");
    CHECK_STR_CONTAINS(r.err, ":5:24: backend 'nope' is not defined");
    CHECK_STR_CONTAINS(r.err, ":8:30: bad url 'ftp://x'");
    CHECK_STR_CONTAINS(r.err, ":8:49: 'weight' must be a whole number from 0 to 256");
    proc_result_free(&r);
}

/* -t must not bind: it succeeds while another socket holds the configured port. */
static void check_binds_nothing(void)
{
    int port;
    int fd = tcp_listen_loopback(&port);
    REQUIRE(fd >= 0);
    char text[512];
    snprintf(text, sizeof text,
             "admin: {bind: \"127.0.0.1:%d\"}\n"
             "frontends: [{name: api, bind: \"127.0.0.1:%d\", routes: [{backend: b}]}]\n"
             "backends: [{name: b, servers: [{name: s, url: \"http://127.0.0.1:1\"}]}]\n",
             port == 65535 ? 1 : port + 1, port);
    const char *path = write_file("busy.yaml", text);
    struct proc_result r;
    CHECK_EQ_INT(run(&r, "-t", "-c", path, NULL), 0);
    CHECK_STR_EQ(r.out, "configuration OK\n");
    proc_result_free(&r);
    close(fd);
}

static void secrets_stay_out_of_errors(void)
{
    const char *path = write_file("secret.yaml",
                                  "frontends: [{name: api, bind: \":8080\", routes: [{backend: b}]}]\n"
                                  "backends:\n"
                                  "  - name: b\n"
                                  "    servers:\n"
                                  "      - name: s\n"
                                  "        url: ${T_UPSTREAM}\n"
                                  "        weight: ${T_SECRET}\n");
    const char *env[] = {"T_SECRET=sk-proj-abcdef123", "T_UPSTREAM=https://user:sk-pw@host/", NULL};
    struct proc_result r;
    CHECK_EQ_INT(run(&r, "-t", "-c", path, env), 1);
    CHECK_STR_CONTAINS(r.err, "(got '${T_SECRET}')");
    CHECK_STR_CONTAINS(r.err, "bad url '${T_UPSTREAM}'");
    CHECK(strstr(r.err, "sk-proj") == NULL);
    CHECK(strstr(r.err, "sk-pw") == NULL);
    proc_result_free(&r);
}

static void warnings_do_not_fail_the_check(void)
{
    const char *path = write_file("warn.yaml",
                                  "frontends: [{name: api, bind: \":8080\", routes: [{backend: b}]}]\n"
                                  "backends: [{name: b, hash_key: \"header:x\", servers: [{name: s, url: \"http://h\"}]}]\n");
    struct proc_result r;
    CHECK_EQ_INT(run(&r, "-t", "-c", path, NULL), 0);
    CHECK_STR_EQ(r.out, "configuration OK\n");
    CHECK_STR_CONTAINS(r.err, ":2:12: warning: backend 'b' sets hash_key");
    proc_result_free(&r);
}

static void missing_file(void)
{
    struct proc_result r;
    CHECK_EQ_INT(run(&r, "-t", "-c", "/nonexistent/sluice.yaml", NULL), 1);
    CHECK_STR_EQ(r.err, "/nonexistent/sluice.yaml:1:1: cannot open the configuration file: "
                        "No such file or directory\n");
    proc_result_free(&r);
}

static void version_and_help(void)
{
    struct proc_result r;
    CHECK_EQ_INT(run(&r, "-v", NULL, NULL, NULL), 0);
    CHECK(strncmp(r.out, "sluice 0.1.0 (", 14) == 0);
    CHECK_STR_CONTAINS(r.out, "\nfeatures: config(yaml)");
    CHECK_STR_CONTAINS(r.out, "libyaml 0.2.5");
    CHECK_STR_CONTAINS(r.out, "llhttp 8.1.0");
    proc_result_free(&r);
    CHECK_EQ_INT(run(&r, "-h", NULL, NULL, NULL), 0);
    CHECK_STR_CONTAINS(r.out, "usage: sluice -c FILE");
    CHECK_STR_CONTAINS(r.out, "sluice -t -c FILE");
    proc_result_free(&r);
}

static void bad_usage(void)
{
    struct proc_result r;
    CHECK_EQ_INT(run(&r, "-t", NULL, NULL, NULL), 2);
    CHECK_STR_CONTAINS(r.err, "no configuration file given (use -c FILE)");
    proc_result_free(&r);
    CHECK_EQ_INT(run(&r, "-x", NULL, NULL, NULL), 2);
    CHECK_STR_CONTAINS(r.err, "usage:");
    proc_result_free(&r);
    CHECK_EQ_INT(run(&r, "-c", "a.yaml", "extra", NULL), 2);
    CHECK_STR_CONTAINS(r.err, "unexpected argument 'extra'");
    proc_result_free(&r);
}

static void setup(void)
{
    if (!temp_dir_create(tmpdir, sizeof tmpdir, "sluice-cli"))
        abort();
}

TEST_MAIN(setup(); RUN(demo_config_is_ok) RUN(resilience_example_is_ok) RUN(unknown_key_is_reported_at_12_5)
          RUN(every_error_in_one_run) RUN(check_binds_nothing) RUN(secrets_stay_out_of_errors)
          RUN(warnings_do_not_fail_the_check) RUN(missing_file) RUN(version_and_help)
          RUN(bad_usage) temp_dir_remove(tmpdir);)
