/* admin_stub.c - TEMPORARY until core/admin is written: refuses to start. */
#include "admin/admin.h"

#include <stdlib.h>

#include "log/log.h"

struct admin *admin_start(struct ev_loop *loop, struct runtime *rt, const struct conf_admin *cfg)
{
    (void)loop;
    (void)rt;
    (void)cfg;
    log_error("admin listener not built yet");
    return NULL;
}

void admin_stop(struct admin *a)
{
    (void)a;
}

void admin_free(struct admin *a)
{
    (void)a;
}
