/* json.h - strict RFC 8259 JSON: a non-allocating tokenizer, token helpers and a
 * bounded writer.
 *
 * Reading. json_parse() validates a whole (ptr, len) document and describes it in a
 * caller-provided array of tokens, in document order (pre-order). A token's start and
 * end are exact byte offsets into the input, a string's quotes included, so a caller
 * can splice a new value over [start, end) and keep every other byte as it was.
 * Containers know their child count and the index just past their subtree (`skip`),
 * so siblings are reached without walking descendants. An object's children alternate
 * key (a string token), value.
 *
 * Writing. json_writer appends to a caller buffer; commas and colons are inserted
 * for the caller; when the buffer is too small the writer keeps counting the bytes it
 * would have written and reports JSON_E_SPACE, never writing past `cap`.
 *
 * Nothing here allocates or keeps global state. Numbers are parsed and printed with
 * strtod()/snprintf(), which assume LC_NUMERIC is "C" (the default unless the program
 * calls setlocale()).
 */
#ifndef SLUICE_JSON_H
#define SLUICE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_type {
    JSON_NONE = 0, /* not a token (index out of range) */
    JSON_OBJECT,
    JSON_ARRAY,
    JSON_STRING,
    JSON_NUMBER,
    JSON_TRUE,
    JSON_FALSE,
    JSON_NULL,
};

enum json_err {
    JSON_OK = 0,
    JSON_E_SYNTAX,    /* unexpected byte */
    JSON_E_TRUNCATED, /* input ended inside the document (or was empty) */
    JSON_E_STRING,    /* control byte, bad escape or invalid UTF-8 in a string */
    JSON_E_NUMBER,    /* malformed number */
    JSON_E_TRAILING,  /* bytes other than whitespace after the document */
    JSON_E_DEPTH,     /* nesting deeper than the limit */
    JSON_E_TOKENS,    /* token array too small */
    JSON_E_TOO_LARGE, /* input of 4 GiB or more */
    JSON_E_TYPE,      /* helper: token has the wrong type */
    JSON_E_RANGE,     /* helper: number does not fit the requested C type */
    JSON_E_SPACE,     /* helper or writer: output buffer too small */
    JSON_E_STATE,     /* writer: call out of place (value where a key belongs...) */
};

/* Default and maximum nesting depth accepted by json_parse(). */
#define JSON_DEPTH_DEFAULT 64u
#define JSON_DEPTH_MAX 1024u

typedef struct json_token {
    uint32_t start;  /* offset of the first byte (a string's opening quote) */
    uint32_t end;    /* offset one past the last byte (a string's closing quote) */
    uint32_t size;   /* object: members; array: elements; scalars: 0 */
    uint32_t skip;   /* index of the first token after this one's subtree */
    int32_t parent;  /* index of the enclosing object or array; -1 at top level */
    uint8_t type;    /* enum json_type */
} json_token;

typedef struct json_doc {
    const char *buf;   /* the input, not copied: it must outlive the doc */
    size_t len;
    json_token *tok;   /* caller's array, or NULL when only validating */
    uint32_t count;    /* tokens written (or, without an array, needed) */
    size_t err_offset; /* on error: byte offset where the problem was found */
} json_doc;

/* Validate buf[0..len) as one JSON text and tokenize it into toks[0..cap).
 * toks may be NULL (cap 0): the document is validated and doc->count tells how many
 * tokens a full parse needs. max_depth 0 means JSON_DEPTH_DEFAULT; larger than
 * JSON_DEPTH_MAX is clamped. Lone UTF-16 surrogate escapes (\ud800) are accepted, as
 * the grammar allows; decoding turns them into U+FFFD. On error doc->err_offset is the
 * offending byte and the tokens are meaningless. */
enum json_err json_parse(json_doc *doc, const char *buf, size_t len, json_token *toks,
                         size_t cap, unsigned max_depth);

/* A short English description of err, for logs and error responses. */
const char *json_strerror(enum json_err err);

/* Type of token i, or JSON_NONE when i is not a token of doc (so helpers chain:
 * json_type(d, json_find(d, 0, "usage")) == JSON_OBJECT). */
enum json_type json_type(const json_doc *doc, int i);

/* The bytes of token i as they appear in the input (quotes included for strings),
 * with their length in *len; NULL when i is not a token. */
const char *json_raw(const json_doc *doc, int i, size_t *len);

/* Value token of member `key` of object token obj, or -1. Keys compare after
 * unescaping. With duplicate keys the last one wins, as in JSON.parse and Python, so
 * the gateway reads the same member the upstream will. */
int json_find(const json_doc *doc, int obj, const char *key);

/* Element `index` of array token arr, or -1. O(size of the array's tokens). */
int json_at(const json_doc *doc, int arr, uint32_t index);

/* Iteration over the children of a container without visiting descendants:
 *     json_iter it = json_iter_begin(d, obj); int k, v;
 *     while (json_object_next(&it, &k, &v)) ...
 * A begin on a token of the wrong type yields an empty iteration. */
typedef struct json_iter {
    const json_doc *doc;
    int next;       /* next child index, or -1 when done */
    uint32_t left;  /* children left */
} json_iter;

json_iter json_iter_begin(const json_doc *doc, int container);
bool json_array_next(json_iter *it, int *elem);
bool json_object_next(json_iter *it, int *key, int *value);

/* True when string token i, unescaped, equals the NUL-terminated s. */
bool json_str_eq(const json_doc *doc, int i, const char *s);

/* Byte length of string token i once unescaped to UTF-8 (NUL not counted), or 0 when
 * i is not a string. Sizes a buffer for json_str_decode(). */
size_t json_str_len(const json_doc *doc, int i);

/* Unescape string token i into out[0..cap) as UTF-8 and NUL-terminate it. *len (if
 * not NULL) gets the full decoded length. Returns JSON_E_SPACE when cap <= that
 * length: out then holds the longest prefix of whole characters that fits, still
 * NUL-terminated (when cap > 0). JSON_E_TYPE when i is not a string. */
enum json_err json_str_decode(const json_doc *doc, int i, char *out, size_t cap,
                              size_t *len);

/* Integer value of number token i. JSON_E_TYPE for a non-number or a number with a
 * fraction or exponent; JSON_E_RANGE when it does not fit. */
enum json_err json_get_int(const json_doc *doc, int i, int64_t *out);

/* Value of number token i as a double. JSON_E_RANGE on overflow to infinity. */
enum json_err json_get_double(const json_doc *doc, int i, double *out);

/* Value of a true/false token. JSON_E_TYPE otherwise. */
enum json_err json_get_bool(const json_doc *doc, int i, bool *out);

/* ---- writer ---- */

#define JSON_WRITER_DEPTH 64u

typedef struct json_writer {
    char *buf;
    size_t cap;
    size_t len;          /* bytes produced so far; may exceed cap after an overflow */
    enum json_err err;   /* first error (JSON_E_SPACE, JSON_E_STATE or JSON_E_DEPTH) */
    unsigned depth;
    uint64_t is_object;  /* bit d: container at depth d+1 is an object */
    uint64_t has_items;  /* bit d: container at depth d+1 has a child already */
    bool after_key;      /* a key was written; its value comes next */
} json_writer;

/* Start writing into buf[0..cap). */
void json_w_init(json_writer *w, char *buf, size_t cap);

void json_w_obj_begin(json_writer *w);
void json_w_obj_end(json_writer *w);
void json_w_arr_begin(json_writer *w);
void json_w_arr_end(json_writer *w);

/* A member name inside an object; the next call writes its value. */
void json_w_key(json_writer *w, const char *key);
void json_w_key_n(json_writer *w, const char *key, size_t n);

/* A string value, escaped. Invalid UTF-8 becomes U+FFFD so the output is always
 * valid JSON, whatever the bytes given. */
void json_w_str(json_writer *w, const char *s);
void json_w_str_n(json_writer *w, const char *s, size_t n);

void json_w_int(json_writer *w, int64_t v);
void json_w_uint(json_writer *w, uint64_t v);
/* A double with `digits` significant digits (1..17; 0 means 17, which round-trips).
 * NaN and infinities, which JSON cannot express, are written as null. */
void json_w_double(json_writer *w, double v, int digits);
void json_w_bool(json_writer *w, bool v);
void json_w_null(json_writer *w);

/* A value given as already-serialized JSON (copied from a parsed document, say).
 * The caller vouches that it is valid. */
void json_w_raw(json_writer *w, const char *json, size_t n);

/* Finish: checks every container was closed, NUL-terminates when there is room and
 * returns the first error (JSON_OK when buf holds the whole document). *len (if not
 * NULL) gets the document length, or the length it needs after JSON_E_SPACE. */
enum json_err json_w_finish(json_writer *w, size_t *len);

#endif
