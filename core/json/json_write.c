/* json_write.c - the bounded JSON writer.
 *
 * Invariant: buf[0..min(len, cap)) is always a prefix of the document being written.
 * A piece is copied only when it fits whole; once one does not, len runs past cap and
 * nothing is copied any more, but len keeps counting so the caller learns the size
 * to retry with.
 */
#include "json.h"

#include "json_utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void json_w_init(json_writer *w, char *buf, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = buf ? cap : 0;
}

static void put(json_writer *w, const char *s, size_t n)
{
    if (w->len <= w->cap && n <= w->cap - w->len)
        memcpy(w->buf + w->len, s, n);
    else if (w->err == JSON_OK)
        w->err = JSON_E_SPACE;
    w->len += n;
}

/* Misuse stops the writer for good; running out of space does not (sizes count on). */
static bool broken(const json_writer *w)
{
    return w->err == JSON_E_STATE || w->err == JSON_E_DEPTH;
}

static void set_err(json_writer *w, enum json_err e)
{
    if (w->err == JSON_OK || w->err == JSON_E_SPACE)
        w->err = e;
}

static bool bit(uint64_t set, unsigned d)
{
    return (set >> d) & 1u;
}

/* Separator before a key or value; false when the call is out of place. */
static bool begin_item(json_writer *w, bool is_key)
{
    if (broken(w))
        return false;
    bool obj = w->depth > 0 && bit(w->is_object, w->depth);
    if (is_key ? (!obj || w->after_key) : (obj && !w->after_key)) {
        set_err(w, JSON_E_STATE);
        return false;
    }
    if (w->after_key) {
        w->after_key = false;
        return true;
    }
    if (bit(w->has_items, w->depth)) {
        if (w->depth == 0) { /* a second top-level value */
            set_err(w, JSON_E_STATE);
            return false;
        }
        put(w, ",", 1);
    }
    w->has_items |= (uint64_t)1 << w->depth;
    return true;
}

static void open_c(json_writer *w, bool obj)
{
    if (!begin_item(w, false))
        return;
    if (w->depth + 1 >= JSON_WRITER_DEPTH) {
        set_err(w, JSON_E_DEPTH);
        return;
    }
    put(w, obj ? "{" : "[", 1);
    w->depth++;
    uint64_t b = (uint64_t)1 << w->depth;
    w->has_items &= ~b;
    w->is_object = obj ? (w->is_object | b) : (w->is_object & ~b);
}

static void close_c(json_writer *w, bool obj)
{
    if (broken(w))
        return;
    if (w->depth == 0 || bit(w->is_object, w->depth) != obj || w->after_key) {
        set_err(w, JSON_E_STATE);
        return;
    }
    put(w, obj ? "}" : "]", 1);
    w->depth--;
}

void json_w_obj_begin(json_writer *w) { open_c(w, true); }
void json_w_obj_end(json_writer *w) { close_c(w, true); }
void json_w_arr_begin(json_writer *w) { open_c(w, false); }
void json_w_arr_end(json_writer *w) { close_c(w, false); }

static bool plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Escape one byte that is not plain ASCII, or one UTF-8 character; returns the bytes
 * of s consumed. */
static size_t put_special(json_writer *w, const unsigned char *s, size_t left)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = {'\\', 'u', '0', '0', 0, 0};
    unsigned char c = s[0];
    if (c >= 0x80) {
        size_t n = json_utf8_len(s, left);
        if (n == 0) {
            put(w, "\xEF\xBF\xBD", 3); /* U+FFFD for each invalid byte */
            return 1;
        }
        put(w, (const char *)s, n);
        return n;
    }
    const char *short_esc = NULL;
    switch (c) {
    case '"': short_esc = "\\\""; break;
    case '\\': short_esc = "\\\\"; break;
    case '\b': short_esc = "\\b"; break;
    case '\f': short_esc = "\\f"; break;
    case '\n': short_esc = "\\n"; break;
    case '\r': short_esc = "\\r"; break;
    case '\t': short_esc = "\\t"; break;
    default: break;
    }
    if (short_esc) {
        put(w, short_esc, 2);
    } else {
        e[4] = hex[c >> 4];
        e[5] = hex[c & 15];
        put(w, e, 6);
    }
    return 1;
}

static void put_string(json_writer *w, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    put(w, "\"", 1);
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && plain(u[run]))
            run++;
        put(w, s + i, run - i);
        i = run;
        if (i < n)
            i += put_special(w, u + i, n - i);
    }
    put(w, "\"", 1);
}

void json_w_key_n(json_writer *w, const char *key, size_t n)
{
    if (!begin_item(w, true))
        return;
    put_string(w, key ? key : "", key ? n : 0);
    put(w, ":", 1);
    w->after_key = true;
}

void json_w_key(json_writer *w, const char *key)
{
    json_w_key_n(w, key, key ? strlen(key) : 0);
}

void json_w_str_n(json_writer *w, const char *s, size_t n)
{
    if (begin_item(w, false))
        put_string(w, s ? s : "", s ? n : 0);
}

void json_w_str(json_writer *w, const char *s)
{
    json_w_str_n(w, s, s ? strlen(s) : 0);
}

void json_w_raw(json_writer *w, const char *json, size_t n)
{
    if (begin_item(w, false))
        put(w, json, n);
}

static void put_fmt_value(json_writer *w, const char *tmp, int n)
{
    if (n > 0 && begin_item(w, false))
        put(w, tmp, (size_t)n);
}

void json_w_int(json_writer *w, int64_t v)
{
    char tmp[32];
    put_fmt_value(w, tmp, snprintf(tmp, sizeof tmp, "%" PRId64, v));
}

void json_w_uint(json_writer *w, uint64_t v)
{
    char tmp[32];
    put_fmt_value(w, tmp, snprintf(tmp, sizeof tmp, "%" PRIu64, v));
}

void json_w_double(json_writer *w, double v, int digits)
{
    char tmp[40];
    if (!isfinite(v)) {
        json_w_null(w);
        return;
    }
    if (digits <= 0 || digits > 17)
        digits = 17;
    put_fmt_value(w, tmp, snprintf(tmp, sizeof tmp, "%.*g", digits, v));
}

void json_w_bool(json_writer *w, bool v)
{
    if (begin_item(w, false))
        put(w, v ? "true" : "false", v ? 4 : 5);
}

void json_w_null(json_writer *w)
{
    if (begin_item(w, false))
        put(w, "null", 4);
}

enum json_err json_w_finish(json_writer *w, size_t *len)
{
    if (w->depth != 0 || w->after_key)
        set_err(w, JSON_E_STATE);
    if (len)
        *len = w->len;
    if (w->len < w->cap)
        w->buf[w->len] = '\0';
    else if (w->err == JSON_OK)
        w->err = JSON_E_SPACE; /* no room left for the terminating NUL */
    return w->err;
}
