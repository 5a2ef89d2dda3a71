/* plugin_chain_fixture.c - see plugin_chain_fixture.h. */
#include "plugin_chain_fixture.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *probe_so(void)
{
    return sluice_test_plugin("probe");
}

bool start_mocks(struct env *e, bool two_mocks)
{
    struct stat sb;
    if (stat(probe_so(), &sb) != 0) {
        printf("  no %s (build the probe target)\n", probe_so());
        return false;
    }
    e->two = two_mocks;
    if (!mock_start(&e->m1, "one", NULL))
        return false;
    return !two_mocks || mock_stop_on_failure(mock_start(&e->m2, "two", NULL), &e->m1, NULL);
}

bool started(struct env *e, bool ok)
{
    return mock_stop_on_failure(ok, &e->m1, e->two ? &e->m2 : NULL, NULL);
}

long req(struct env *e, const char *method, const char *path, const char *const *hdrs,
         const char *body, size_t body_len, struct http_resp *r)
{
    struct http_req q = {.method = method, .url = sluice_url(&e->s, path), .headers = hdrs,
                         .body = body, .body_len = body_len};
    return http_do(NULL, &q, r);
}

long get(struct env *e, const char *path, struct http_resp *r)
{
    return req(e, "GET", path, NULL, NULL, 0, r);
}

const char *hdr(const struct http_resp *r, const char *name)
{
    static char v[4096];
    return http_header(r, name, v, sizeof v) ? v : "";
}

long long counter(struct env *e, const char *key)
{
    char path[256];
    snprintf(path, sizeof path, "/probe/counters?k=%s", key);
    struct http_resp r;
    json_doc d;
    json_token t[16];
    long long v = -1;
    if (get(e, path, &r) == 200 && json_load(&d, t, 16, r.body))
        v = json_int(&d, 0, key);
    else if (r.status != 0)
        printf("  /probe/counters: %ld %.200s\n", r.status, r.body);
    http_resp_free(&r);
    return v;
}

long long wait_counter(struct env *e, const char *key, long long want, int timeout_ms)
{
    double deadline = proc_now_ms() + timeout_ms;
    long long v;
    while ((v = counter(e, key)) != want && proc_now_ms() < deadline)
        poll(NULL, 0, 5); /* polling interval */
    return v;
}

char *end_trace(struct env *e, const char *tag, const char *must_contain)
{
    char path[128];
    snprintf(path, sizeof path, "/probe/kv?k=probe:%s:trace", tag);
    double deadline = proc_now_ms() + 3000;
    for (;;) {
        struct http_resp r;
        get(e, path, &r);
        if ((r.status == 200 && strstr(r.body, must_contain)) || proc_now_ms() > deadline) {
            char *out = strdup(r.status == 200 ? r.body : "");
            http_resp_free(&r);
            return out;
        }
        http_resp_free(&r);
        poll(NULL, 0, 5); /* polling interval */
    }
}

void strip_hook(char *trace, const char *hook)
{
    char out[2048] = "";
    char *save = NULL;
    for (char *tok = strtok_r(trace, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const char *colon = strchr(tok, ':');
        if (colon && strcmp(colon + 1, hook) == 0)
            continue;
        if (out[0])
            strncat(out, ",", sizeof out - strlen(out) - 1);
        strncat(out, tok, sizeof out - strlen(out) - 1);
    }
    strcpy(trace, out);
}
