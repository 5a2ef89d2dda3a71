/* test_abi_loader.c - how sluice refuses a plugin it cannot use: every case
 * prints FILE:LINE:COL of the `- plugin:` entry and a message that says why, and
 * exits 1 (`sluice -t`), or exits non-zero before binding anything (`sluice -c`).
 * A plugin built for a newer minor of the same major loads.
 *
 * The fixtures are in $SLUICE_BUILD_DIR/tests/plugins (tests/abi/fixtures);
 * garbage.so, a file that is not ELF at all, is written here. */
#include "harness.h"
#include "sluice_fixture.h"

#include <sluice/version.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];
static char fixdir[512];

/* The line and column of the `- plugin:` entry in every configuration below. */
#define ENTRY_LINE 8
#define ENTRY_COL 9

/* Writes a configuration whose only filter is `- plugin: plugin` (line 8, col 9),
 * with `config_line` under it when not NULL. */
static const char *write_conf(const char *file, const char *plugin_path, const char *plugin,
                              const char *config_line, int port)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, file);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fprintf(f,
            "global:\n"                                   /* 1 */
            "  workers: 1\n"                              /* 2 */
            "  plugin_path: [%s]\n"                       /* 3 */
            "frontends:\n"                                /* 4 */
            "  - name: api\n"                             /* 5 */
            "    bind: [\"127.0.0.1:%d\"]\n"              /* 6 */
            "    filters:\n"                              /* 7 */
            "      - plugin: %s\n"                        /* 8 */
            "%s%s%s"                                      /* 9: config */
            "    routes:\n"
            "      - match: {path_prefix: /}\n"
            "        backend: m\n"
            "backends:\n"
            "  - {name: m, servers: [{name: s, url: \"http://127.0.0.1:9\"}]}\n",
            plugin_path, port, plugin, config_line ? "        " : "",
            config_line ? config_line : "", config_line ? "\n" : "");
    fclose(f);
    return path;
}

static int run_check(const char *conf, const char *cwd, struct proc_result *r)
{
    struct proc_opts o = {.cwd = cwd};
    return proc_run_sluice(r, &o, "-t", "-c", conf, NULL);
}

/* `sluice -t` exits 1 and prints exactly "CONF:8:9: message\n". */
static void expect_refusal(const char *conf, const char *message)
{
    struct proc_result r;
    char want[4096];
    snprintf(want, sizeof want, "%s:%d:%d: %s\n", conf, ENTRY_LINE, ENTRY_COL, message);
    CHECK_EQ_INT(run_check(conf, NULL, &r), 1);
    CHECK_STR_EQ(r.err, want);
    CHECK_STR_EQ(r.out, "");
    proc_result_free(&r);
}

static void not_found_on_plugin_path(void)
{
    char pp[1200], msg[4096];
    snprintf(pp, sizeof pp, "\"%s\", \"%s\"", fixdir, tmpdir);
    const char *conf = write_conf("notfound.yaml", pp, "no_such_plugin", NULL, 18080);
    REQUIRE(conf != NULL);
    snprintf(msg, sizeof msg,
             "plugin 'no_such_plugin' not found: no no_such_plugin.so in plugin_path (%s, %s)",
             fixdir, tmpdir);
    expect_refusal(conf, msg);
}

/* garbage.so, found by name: dlopen() refuses it and its reason is passed on. */
static void not_a_shared_object(void)
{
    char so[512], pp[1200], want[4096];
    snprintf(so, sizeof so, "%s/garbage.so", tmpdir);
    FILE *f = fopen(so, "w");
    REQUIRE(f != NULL);
    fputs("this is not an ELF file, whatever its name says\n", f);
    fclose(f);
    snprintf(pp, sizeof pp, "\"%s\"", tmpdir);
    const char *conf = write_conf("garbage.yaml", pp, "garbage", NULL, 18080);
    REQUIRE(conf != NULL);
    struct proc_result r;
    CHECK_EQ_INT(run_check(conf, NULL, &r), 1);
    snprintf(want, sizeof want, "%s:%d:%d: plugin 'garbage': cannot load %s: ", conf,
             ENTRY_LINE, ENTRY_COL, so);
    CHECK_MSG_(strncmp(r.err, want, strlen(want)) == 0, "stderr \"%s\" starts with \"%s\"", r.err,
               want);
    /* One line, with dlerror()'s reason after the prefix. */
    size_t len = strlen(r.err);
    CHECK(len > strlen(want) + 1);
    CHECK(len > 0 && r.err[len - 1] == '\n' && strchr(r.err, '\n') == r.err + len - 1);
    proc_result_free(&r);
}

static void no_entry_symbol(void)
{
    char pp[1200], msg[4096];
    snprintf(pp, sizeof pp, "\"%s\"", fixdir);
    const char *conf = write_conf("noentry.yaml", pp, "abi_noentry", NULL, 18080);
    REQUIRE(conf != NULL);
    snprintf(msg, sizeof msg,
             "plugin 'abi_noentry': %s is not a sluice plugin (no sluice_plugin_entry symbol)",
             sluice_test_plugin("abi_noentry"));
    expect_refusal(conf, msg);
}

/* The fixture NAME, loaded by its path, is refused with "plugin 'PATH': PATH " +
 * reason. */
static void expect_path_refused(const char *file, const char *name, const char *reason)
{
    char msg[4096];
    const char *so = sluice_test_plugin(name);
    const char *conf = write_conf(file, "", so, NULL, 18080);
    REQUIRE(conf != NULL);
    snprintf(msg, sizeof msg, "plugin '%s': %s %s", so, so, reason);
    expect_refusal(conf, msg);
}

static void bad_magic(void)
{
    expect_path_refused("nomagic.yaml", "abi_nomagic",
                        "is not a sluice plugin (bad descriptor magic)");
}

static void other_major_is_refused(void)
{
    char reason[256];
    snprintf(reason, sizeof reason,
             "was built for plugin ABI 2.0; this sluice provides ABI %d.%d "
             "(major versions must match)",
             SL_ABI_VERSION_MAJOR, SL_ABI_VERSION_MINOR);
    expect_path_refused("major2.yaml", "abi_major2", reason);
}

/* create() reported its own located error: that error is the message. */
static void create_error_at_the_plugins_node(void)
{
    const char *so = sluice_test_plugin("abi_createfail");
    const char *conf = write_conf("boom.yaml", "", so, "config: {boom: true}", 18080);
    REQUIRE(conf != NULL);
    struct proc_result r;
    char want[4096];
    /* "        config: {boom: true}": `true` is at line 9, column 24. */
    snprintf(want, sizeof want, "%s:9:24: abi_createfail: boom\n", conf);
    CHECK_EQ_INT(run_check(conf, NULL, &r), 1);
    CHECK_STR_EQ(r.err, want);
    CHECK_STR_EQ(r.out, "");
    proc_result_free(&r);
}

/* create() failed without a word: sluice says which filter. */
static void create_failed_silently(void)
{
    char msg[4096];
    const char *so = sluice_test_plugin("abi_createfail");
    const char *conf = write_conf("createfail.yaml", "", so, "config: {quiet: true}", 18080);
    REQUIRE(conf != NULL);
    snprintf(msg, sizeof msg, "plugin '%s': could not create its instance", so);
    expect_refusal(conf, msg);
}

/* ABI 1.99 with the 1.0 layout: a newer minor only appends, so it loads. */
static void newer_minor_loads(void)
{
    const char *conf = write_conf("newer.yaml", "", sluice_test_plugin("abi_minor_newer"), NULL, 18080);
    REQUIRE(conf != NULL);
    struct proc_result r;
    CHECK_EQ_INT(run_check(conf, NULL, &r), 0);
    CHECK_STR_EQ(r.out, "configuration OK\n");
    /* sluice may note the newer minor; it must not call it an error. */
    CHECK(!strstr(r.err, "error") && !strstr(r.err, ".yaml:"));
    proc_result_free(&r);
}

/* By name on plugin_path, and by a path relative to the working directory (not
 * to the configuration file). */
static void found_by_name_and_by_relative_path(void)
{
    char pp[1200];
    struct proc_result r;
    snprintf(pp, sizeof pp, "\"%s\", \"%s\"", tmpdir, fixdir);
    const char *conf = write_conf("byname.yaml", pp, "abi_minor_newer", NULL, 18080);
    REQUIRE(conf != NULL);
    CHECK_EQ_INT(run_check(conf, NULL, &r), 0);
    CHECK_STR_EQ(r.out, "configuration OK\n");
    proc_result_free(&r);

    conf = write_conf("relative.yaml", "", "./abi_minor_newer.so", NULL, 18080);
    REQUIRE(conf != NULL);
    CHECK_EQ_INT(run_check(conf, fixdir, &r), 0);
    CHECK_STR_EQ(r.out, "configuration OK\n");
    proc_result_free(&r);
}

/* Every bad filter of the file is reported in one run. */
static void every_bad_plugin_in_one_run(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/two.yaml", tmpdir);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fprintf(f,
            "frontends:\n"
            "  - name: api\n"
            "    bind: [\"127.0.0.1:18080\"]\n"
            "    filters:\n"
            "      - plugin: %s\n"                         /* 5 */
            "    routes:\n"
            "      - match: {path_prefix: /}\n"
            "        backend: m\n"
            "        filters:\n"
            "          - plugin: %s\n"                     /* 10 */
            "backends:\n"
            "  - {name: m, servers: [{name: s, url: \"http://127.0.0.1:9\"}]}\n",
            sluice_test_plugin("abi_major2"), sluice_test_plugin("abi_nomagic"));
    fclose(f);
    struct proc_result r;
    char want[4096];
    CHECK_EQ_INT(run_check(path, NULL, &r), 1);
    snprintf(want, sizeof want, "%s:5:9: plugin '%s': %s was built for plugin ABI 2.0", path,
             sluice_test_plugin("abi_major2"), sluice_test_plugin("abi_major2"));
    CHECK_STR_CONTAINS(r.err, want);
    snprintf(want, sizeof want, "%s:10:13: plugin '%s': %s is not a sluice plugin", path,
             sluice_test_plugin("abi_nomagic"), sluice_test_plugin("abi_nomagic"));
    CHECK_STR_CONTAINS(r.err, want);
    proc_result_free(&r);
}

/* `sluice -c` refuses the same way, before binding: it holds no port, so the port
 * we hold here would make a bind-first sluice fail with a different message. */
static void run_refuses_before_binding(void)
{
    int port;
    int fd = tcp_listen_loopback(&port);
    REQUIRE(fd >= 0);

    const char *so = sluice_test_plugin("abi_major2");
    const char *conf = write_conf("run.yaml", "", so, NULL, port);
    REQUIRE(conf != NULL);
    struct proc_result r;
    int st = proc_run_sluice(&r, NULL, "-c", conf, NULL);
    CHECK(st != 0 && st != -1);
    CHECK(!r.timed_out);
    char want[4096];
    snprintf(want, sizeof want,
             "%s:%d:%d: plugin '%s': %s was built for plugin ABI 2.0; this sluice provides "
             "ABI %d.%d (major versions must match)",
             conf, ENTRY_LINE, ENTRY_COL, so, so, SL_ABI_VERSION_MAJOR, SL_ABI_VERSION_MINOR);
    CHECK_STR_CONTAINS(r.err, want);
    CHECK(!strstr(r.err, "sluice started") && !strstr(r.out, "sluice started"));
    CHECK(!strstr(r.err, "listening on"));
    proc_result_free(&r);
    close(fd);
}

static void cleanup(void)
{
    temp_dir_remove(tmpdir);
}

static bool setup(void)
{
    const char *b = proc_env("SLUICE_BUILD_DIR");
    if (!b || !proc_env("SLUICE_BIN")) {
        printf("SLUICE_BUILD_DIR and SLUICE_BIN must be set (run through ctest)\n");
        return false;
    }
    snprintf(fixdir, sizeof fixdir, "%s/tests/plugins", b);
    if (!temp_dir_create(tmpdir, sizeof tmpdir, "sluice-abi-loader"))
        return false;
    atexit(cleanup);
    return true;
}

TEST_MAIN(if (!setup()) return 1;
          RUN(not_found_on_plugin_path) RUN(not_a_shared_object) RUN(no_entry_symbol)
              RUN(bad_magic) RUN(other_major_is_refused) RUN(create_error_at_the_plugins_node)
                  RUN(create_failed_silently) RUN(newer_minor_loads)
                      RUN(found_by_name_and_by_relative_path) RUN(every_bad_plugin_in_one_run)
                          RUN(run_refuses_before_binding))
