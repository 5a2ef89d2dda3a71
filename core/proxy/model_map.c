/* model_map.c - see model_map.h. */
#include "proxy/model_map.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json/json.h"

bool model_map_applies(const struct http1_head *h)
{
    const struct http1_hdr *ct = http1_find_header(h, "content-type", 12);
    if (!ct)
        return false;
    for (uint32_t i = 0; i + 4 <= ct->value_len; i++)
        if (!strncasecmp(ct->value + i, "json", 4))
            return true;
    return false;
}

const char *model_map_lookup(const struct conf_server *s, const char *model, size_t len)
{
    const char *any = NULL;
    for (size_t i = 0; i < s->model_map_count; i++) {
        const char *from = s->model_map[i].from;
        if (strlen(from) == len && !memcmp(from, model, len))
            return s->model_map[i].to;
        if (!strcmp(from, "*"))
            any = s->model_map[i].to;
    }
    return any;
}

/* Writes `s` as a JSON string (quotes and escapes) into out; its length or 0. */
static size_t json_quote(const char *s, char *out, size_t cap)
{
    json_writer w;
    json_w_init(&w, out, cap);
    json_w_str(&w, s);
    size_t len = 0;
    return json_w_finish(&w, &len) == JSON_OK ? len : 0;
}

bool model_map_rewrite(const struct conf_server *s, struct nbuf *buf, size_t from, size_t max)
{
    const char *doc_start = nbuf_data(buf) + from;
    size_t doc_len = buf->len - from;
    json_doc doc;
    if (json_parse(&doc, doc_start, doc_len, NULL, 0, JSON_DEPTH_DEFAULT) != JSON_OK || doc.count == 0)
        return false;
    json_token *toks = malloc(doc.count * sizeof *toks);
    if (!toks)
        return false;
    bool changed = false;
    if (json_parse(&doc, doc_start, doc_len, toks, doc.count, JSON_DEPTH_DEFAULT) != JSON_OK ||
        json_type(&doc, 0) != JSON_OBJECT)
        goto out;
    int m = json_find(&doc, 0, "model");
    if (m < 0 || json_type(&doc, m) != JSON_STRING)
        goto out;
    char model[512];
    size_t mlen = 0;
    if (json_str_decode(&doc, m, model, sizeof model, &mlen) != JSON_OK)
        goto out;
    const char *to = model_map_lookup(s, model, mlen);
    if (!to)
        goto out;
    char quoted[1024];
    size_t qlen = json_quote(to, quoted, sizeof quoted);
    size_t start = from + toks[m].start, end = from + toks[m].end; /* quotes included */
    size_t old = end - start;
    if (!qlen || buf->len - old + qlen > max)
        goto out;
    if (qlen > old && !nbuf_reserve(buf, qlen - old, max))
        goto out;
    char *p = nbuf_data(buf);
    memmove(p + start + qlen, p + end, buf->len - end);
    memcpy(p + start, quoted, qlen);
    buf->len = (uint32_t)(buf->len - old + qlen);
    changed = true;
out:
    free(toks);
    return changed;
}
