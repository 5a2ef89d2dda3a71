/* dlopen_check.c - loads each plugin given on the command line in a process that
 * is not sluice, with every symbol bound at once (RTLD_NOW, as LD_BIND_NOW), and
 * reads its descriptor. A plugin that leaned on a symbol of the sluice binary
 * fails here: this process exports none of them.
 *
 *     plugin_dlopen_check build/plugins/auth.so build/plugins/ratelimit.so
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <sluice/plugin.h>

static int check(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        printf("FAIL %s: %s\n", path, dlerror());
        return 1;
    }
    int bad = 1;
    sl_plugin_entry_fn entry;
    void *sym = dlsym(h, SL_PLUGIN_ENTRY_NAME);
    memcpy(&entry, &sym, sizeof entry);   /* object to function pointer, as POSIX allows */
    const sl_plugin *p = sym ? entry() : NULL;
    if (!sym)
        printf("FAIL %s: no %s symbol\n", path, SL_PLUGIN_ENTRY_NAME);
    else if (!p || p->magic != SL_PLUGIN_MAGIC)
        printf("FAIL %s: bad descriptor\n", path);
    else if (p->abi_major != SL_ABI_VERSION_MAJOR)
        printf("FAIL %s: ABI %u.%u\n", path, (unsigned)p->abi_major, (unsigned)p->abi_minor);
    else if (!p->name || !p->create)
        printf("FAIL %s: descriptor without name or create\n", path);
    else {
        printf("ok   %s: %s %s (ABI %u.%u)\n", path, p->name, p->version ? p->version : "?",
               (unsigned)p->abi_major, (unsigned)p->abi_minor);
        bad = 0;
    }
    dlclose(h);
    return bad;
}

int main(int argc, char **argv)
{
    int failed = 0;
    for (int i = 1; i < argc; i++)
        failed += check(argv[i]);
    return failed ? 1 : 0;
}
