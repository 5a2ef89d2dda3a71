/* main.c - the sluice command line: -c FILE, -t, -v, -h. */
#include <ev.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <llhttp.h>
#include <nghttp2/nghttp2ver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wolfssl/options.h>
#include <wolfssl/version.h>
#include <yaml.h>

#include "cli/serve.h"
#include "conf/conf.h"
#include "plugin/plugin.h"
#include "version.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* What this build can do; grows as subsystems land. */
static const char *const features[] = {"config(yaml)", "http1", "balance(wrr,least_conn,random_two,latency,hash)", "admin",
                                       "plugins(abi " STR(SL_ABI_VERSION_MAJOR) "." STR(SL_ABI_VERSION_MINOR) ")",
                                       "store(local)", "usage(openai,anthropic)"};

static void usage(FILE *out)
{
    fputs("usage: sluice -c FILE        run in the foreground with configuration FILE\n"
          "       sluice -t -c FILE     check FILE and the plugins it names, then exit\n"
          "       sluice -v             print the version and compiled-in features\n"
          "       sluice -h             print this help\n"
          "\n"
          "  -c, --config FILE   the YAML configuration\n"
          "  -t, --test          validate only: print 'configuration OK' (exit 0) or every\n"
          "                      error as FILE:LINE:COL: message (exit 1); binds nothing\n"
          "  -v, --version       version, build and libraries\n"
          "  -h, --help          this text\n",
          out);
}

static void version(void)
{
    printf("sluice %s (%s build)\n", SLUICE_VERSION, SLUICE_BUILD_TYPE);
    printf("features:");
    for (size_t i = 0; i < sizeof features / sizeof features[0]; i++)
        printf(" %s", features[i]);
    printf("\nlibraries: libyaml %s, libev %d.%d, llhttp %d.%d.%d, nghttp2 %s, wolfSSL %s, "
           "hiredis %d.%d.%d\n",
           yaml_get_version_string(), ev_version_major(), ev_version_minor(),
           LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH, NGHTTP2_VERSION,
           LIBWOLFSSL_VERSION_STRING, HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
}

/* Loads and checks the file; prints diagnostics. Returns the configuration or NULL. */
static struct conf *load(const char *path)
{
    struct conf_diags d;
    conf_diags_init(&d);
    struct conf *c = conf_load_file(path, &d);
    /* Plugins are part of the check: each is loaded and its configuration read. */
    if (c && !plugins_load(c, &d, serve_worker_count(c))) {
        conf_release(c);
        c = NULL;
    }
    conf_diags_sort(&d);
    conf_diags_print(&d, stderr);
    conf_diags_free(&d);
    return c;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"test", no_argument, NULL, 't'},
        {"version", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL;
    int test = 0, opt;
    while ((opt = getopt_long(argc, argv, "c:tvh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            file = optarg;
            break;
        case 't':
            test = 1;
            break;
        case 'v':
            version();
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sluice: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!file) {
        fputs("sluice: no configuration file given (use -c FILE)\n", stderr);
        usage(stderr);
        return 2;
    }
    struct conf *c = load(file);
    int rc = 1;
    if (c && test) {
        puts("configuration OK");
        conf_release(c);
        rc = 0;
    } else if (c) {
        rc = serve(c);
    }
    plugin_store_shutdown();
    plugins_unload_all();
    return rc;
}
