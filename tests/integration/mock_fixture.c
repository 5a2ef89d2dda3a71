/* mock_fixture.c - see mock_fixture.h. */
#include "mock_fixture.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool mock_start(struct mock *m, const char *name, ...)
{
    char bin[1024];
    char *argv[32];
    int n = 0;
    memset(m, 0, sizeof *m);
    if (!proc_mock_bin(bin, sizeof bin)) {
        fprintf(stderr, "sluice-mock not found (set SLUICE_MOCK_BIN)\n");
        return false;
    }
    argv[n++] = bin;
    argv[n++] = (char *)"--name";
    argv[n++] = (char *)(uintptr_t)name;
    va_list ap;
    va_start(ap, name);
    const char *a;
    while (n < 31 && (a = va_arg(ap, const char *)) != NULL)
        argv[n++] = (char *)(uintptr_t)a;
    va_end(ap);
    argv[n] = NULL;
    m->p = proc_start(argv, NULL);
    if (!m->p)
        return false;
    if (!proc_wait_listening(m->p, 10000, m->host, sizeof m->host, &m->port)) {
        proc_stop(m->p, 2000);
        m->p = NULL;
        return false;
    }
    return true;
}

int mock_stop(struct mock *m)
{
    int status = proc_stop(m->p, 5000);
    m->p = NULL;
    return status;
}

bool mock_stop_on_failure(bool ok, struct mock *m, ...)
{
    if (ok)
        return true;
    va_list ap;
    va_start(ap, m);
    for (; m; m = va_arg(ap, struct mock *))
        mock_stop(m);
    va_end(ap);
    return false;
}

const char *mock_url(struct mock *m, const char *path)
{
    snprintf(m->url, sizeof m->url, "http://%s:%d%s", m->host, m->port, path);
    return m->url;
}

bool json_load(json_doc *d, json_token *toks, size_t cap, const char *body)
{
    return body && json_parse(d, body, strlen(body), toks, cap, 0) == JSON_OK;
}

int64_t json_int(const json_doc *d, int obj, const char *key)
{
    int64_t v;
    if (json_get_int(d, json_find(d, obj, key), &v) != JSON_OK)
        return INT64_MIN;
    return v;
}

int64_t mock_stat(struct mock *m, const char *key)
{
    struct http_resp r;
    json_doc d;
    json_token t[32];
    int64_t v = -1;
    if (http_get(mock_url(m, "/mock/stats"), &r) == 200 && json_load(&d, t, 32, r.body))
        v = json_int(&d, 0, key);
    http_resp_free(&r);
    return v;
}

bool mock_wait_stat(struct mock *m, const char *key, int64_t want, int timeout_ms)
{
    double deadline = proc_now_ms() + timeout_ms;
    do {
        if (mock_stat(m, key) == want)
            return true;
        poll(NULL, 0, 5); /* polling interval, not a guess at how long it takes */
    } while (proc_now_ms() < deadline);
    return false;
}

/* ---- /mock/echo ---- */

bool mock_echo_load(struct mock_echo *e, const char *body)
{
    e->ok = body && json_parse(&e->d, body, strlen(body), e->t, MOCK_ECHO_TOKENS, 0) == JSON_OK &&
            json_type(&e->d, 0) == JSON_OBJECT;
    if (!e->ok)
        printf("  not an echo: %.200s\n", body ? body : "(null)");
    return e->ok;
}

char *mock_echo_str(struct mock_echo *e, const char *key, size_t *len)
{
    int v = e->ok ? json_find(&e->d, 0, key) : -1;
    size_t n = json_str_len(&e->d, v);
    char *out = calloc(1, n + 1);
    if (len)
        *len = 0;
    if (out && json_type(&e->d, v) == JSON_STRING)
        json_str_decode(&e->d, v, out, n + 1, len);
    return out;
}

int mock_echo_header(struct mock_echo *e, const char *name, char *out, size_t cap)
{
    int count = 0;
    if (out && cap)
        out[0] = '\0';
    if (!e->ok)
        return -1;
    json_iter it = json_iter_begin(&e->d, json_find(&e->d, 0, "headers"));
    int pair;
    while (json_array_next(&it, &pair)) {
        char n[256], v[1024];
        if (json_str_decode(&e->d, json_at(&e->d, pair, 0), n, sizeof n, NULL) != JSON_OK ||
            json_str_decode(&e->d, json_at(&e->d, pair, 1), v, sizeof v, NULL) != JSON_OK)
            continue;
        if (strcasecmp(n, name) == 0 && count++ == 0 && out)
            snprintf(out, cap, "%s", v);
    }
    return count;
}
