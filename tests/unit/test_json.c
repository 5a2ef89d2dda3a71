/* test_json.c - core/json: strict tokenizer, helpers and bounded writer. */
#include "harness.h"
#include "json/json.h"

#include <math.h>
#include <stdlib.h>

#define NTOK 64

/* Parse s (NUL-terminated) into toks; returns the error. */
static enum json_err parse(json_doc *d, json_token *toks, const char *s)
{
    return json_parse(d, s, strlen(s), toks, NTOK, 0);
}

static enum json_err parse_err(const char *s, size_t *off)
{
    json_doc d;
    json_token t[NTOK];
    enum json_err e = json_parse(&d, s, strlen(s), t, NTOK, 0);
    if (off)
        *off = d.err_offset;
    return e;
}

static void accepts_every_value_kind(void)
{
    static const char *ok[] = {
        "0", "-0", "1.5", "-12.5e+3", "1E-2", "123456789012345678901234567890",
        "true", "false", "null", "\"\"", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
        "\"\\u00e9\\uD83D\\uDE00\"", "\"h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"",
        "[]", "{}", " [ 1 , [ ] , { } ] ", "{\"a\":{\"b\":[null]}}", "\t\r\n 7 \n",
        "\"\\ud800\"", /* lone surrogate: grammatical, decoded as U+FFFD */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        enum json_err e = parse_err(ok[i], NULL);
        CHECK_MSG_(e == JSON_OK, "'%s' rejected: %s", ok[i], json_strerror(e));
    }
}

static void rejects_invalid_documents(void)
{
    static const struct { const char *s; enum json_err e; size_t off; } bad[] = {
        {"", JSON_E_TRUNCATED, 0},
        {"   ", JSON_E_TRUNCATED, 3},
        {"[1,]", JSON_E_SYNTAX, 3},
        {"{\"a\":1,}", JSON_E_SYNTAX, 7},
        {"{\"a\" 1}", JSON_E_SYNTAX, 5},
        {"{a:1}", JSON_E_SYNTAX, 1},
        {"{\"a\":1 \"b\":2}", JSON_E_SYNTAX, 7},
        {"[1 2]", JSON_E_SYNTAX, 3},
        {"[1}", JSON_E_SYNTAX, 2},
        {"{\"a\":1]", JSON_E_SYNTAX, 6},
        {"01", JSON_E_NUMBER, 1},
        {"-", JSON_E_TRUNCATED, 1},
        {"-a", JSON_E_NUMBER, 1},
        {"1.", JSON_E_TRUNCATED, 2},
        {"1.e5", JSON_E_NUMBER, 2},
        {"1e", JSON_E_TRUNCATED, 2},
        {"+1", JSON_E_SYNTAX, 0},
        {".5", JSON_E_SYNTAX, 0},
        {"NaN", JSON_E_SYNTAX, 0},
        {"tru", JSON_E_TRUNCATED, 3},
        {"trux", JSON_E_SYNTAX, 3},
        {"nul1", JSON_E_SYNTAX, 3},
        {"true false", JSON_E_TRAILING, 5},
        {"{} x", JSON_E_TRAILING, 3},
        {"\"abc", JSON_E_TRUNCATED, 4},
        {"\"a\tb\"", JSON_E_STRING, 2},
        {"\"\\x\"", JSON_E_STRING, 2},
        {"\"\\u12G4\"", JSON_E_STRING, 5},
        {"\"\\u12", JSON_E_TRUNCATED, 5},
        {"\"\xC3\"", JSON_E_STRING, 1},         /* cut 2-byte sequence */
        {"\"\xC0\xAF\"", JSON_E_STRING, 1},     /* overlong '/' */
        {"\"\xED\xA0\x80\"", JSON_E_STRING, 1}, /* UTF-8 encoded surrogate */
        {"\"\xF4\x90\x80\x80\"", JSON_E_STRING, 1}, /* above U+10FFFF */
        {"\"\xFF\"", JSON_E_STRING, 1},
        {"\"\xE2\x82", JSON_E_TRUNCATED, 1},    /* input cut inside a character */
        {"[", JSON_E_TRUNCATED, 1},
        {"{\"a\":", JSON_E_TRUNCATED, 5},
        {"\xEF\xBB\xBF{}", JSON_E_SYNTAX, 0},   /* a BOM is not JSON */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t off = 999;
        enum json_err e = parse_err(bad[i].s, &off);
        CHECK_MSG_(e == bad[i].e, "'%s': got %s, want %s", bad[i].s, json_strerror(e),
                   json_strerror(bad[i].e));
        CHECK_MSG_(off == bad[i].off, "'%s': offset %zu, want %zu", bad[i].s, off,
                   bad[i].off);
    }
}

static void nul_byte_inside_input_is_rejected(void)
{
    json_doc d;
    json_token t[4];
    CHECK_EQ_INT(json_parse(&d, "\"a\0b\"", 5, t, 4, 0), JSON_E_STRING);
    CHECK_EQ_INT(d.err_offset, 2);
    CHECK_EQ_INT(json_parse(&d, "1\0", 2, t, 4, 0), JSON_E_TRAILING);
}

static void tokens_carry_exact_offsets_and_tree(void)
{
    const char *s = "{\"model\": \"gpt-4o\", \"n\": [1, {\"x\": true}], \"z\": null}";
    json_doc d;
    json_token t[NTOK];
    REQUIRE_EQ_INT(parse(&d, t, s), JSON_OK);
    CHECK_EQ_INT(d.count, 11);
    CHECK_EQ_INT(t[0].type, JSON_OBJECT);
    CHECK_EQ_INT(t[0].size, 3);
    CHECK_EQ_INT(t[0].start, 0);
    CHECK_EQ_INT(t[0].end, strlen(s));
    CHECK_EQ_INT(t[0].skip, 11);
    CHECK_EQ_INT(t[0].parent, -1);
    /* "model" key and its value, quotes included */
    CHECK_EQ_INT(t[1].start, 1);
    CHECK_EQ_INT(t[1].end, 8);
    CHECK_EQ_INT(t[2].type, JSON_STRING);
    CHECK_EQ_INT(t[2].start, 10);
    CHECK_EQ_INT(t[2].end, 18);
    CHECK_EQ_INT(t[2].parent, 0);
    /* "n": [1, {"x": true}] */
    CHECK_EQ_INT(t[4].type, JSON_ARRAY);
    CHECK_EQ_INT(t[4].size, 2);
    CHECK_EQ_INT(t[4].skip, 9);
    CHECK_EQ_INT(t[6].type, JSON_OBJECT);
    CHECK_EQ_INT(t[6].parent, 4);
    CHECK_EQ_INT(t[8].type, JSON_TRUE);
    CHECK_EQ_INT(t[8].parent, 6);
    CHECK_EQ_INT(t[10].type, JSON_NULL);
    CHECK_EQ_INT(t[10].parent, 0);
    size_t n;
    const char *raw = json_raw(&d, 4, &n);
    CHECK_EQ_INT(n, strlen("[1, {\"x\": true}]"));
    CHECK(memcmp(raw, "[1, {\"x\": true}]", n) == 0);
}

/* What the gateway's model_map does: swap the value, keep every other byte. */
static void model_value_splices_in_place(void)
{
    const char *s = "{ \"messages\":[{\"role\":\"user\",\"content\":\"model\"}],\n"
                    "  \"model\" :\t\"fast\" , \"stream\":true }";
    json_doc d;
    json_token t[NTOK];
    REQUIRE_EQ_INT(parse(&d, t, s), JSON_OK);
    int v = json_find(&d, 0, "model");
    REQUIRE(v > 0);
    char out[256];
    int n = snprintf(out, sizeof out, "%.*s\"gpt-4o-mini\"%s", (int)t[v].start, s,
                     s + t[v].end);
    REQUIRE(n > 0 && (size_t)n < sizeof out);
    CHECK_STR_EQ(out, "{ \"messages\":[{\"role\":\"user\",\"content\":\"model\"}],\n"
                      "  \"model\" :\t\"gpt-4o-mini\" , \"stream\":true }");
}

static void count_mode_reports_tokens_needed(void)
{
    const char *s = "[1,[2,3],{\"a\":[4]}]";
    json_doc d;
    CHECK_EQ_INT(json_parse(&d, s, strlen(s), NULL, 0, 0), JSON_OK);
    CHECK_EQ_INT(d.count, 9);
    json_token t[8];
    CHECK_EQ_INT(json_parse(&d, s, strlen(s), t, 8, 0), JSON_E_TOKENS);
    json_token t9[9];
    CHECK_EQ_INT(json_parse(&d, s, strlen(s), t9, 9, 0), JSON_OK);
    CHECK_EQ_INT(json_parse(&d, "[1,", 3, NULL, 0, 0), JSON_E_TRUNCATED);
}

static void depth_limit_is_enforced(void)
{
    char deep[2 * 1100 + 1];
    for (int i = 0; i < 1100; i++) {
        deep[i] = '[';
        deep[2 * 1100 - 1 - i] = ']';
    }
    deep[2 * 1100] = '\0';
    json_doc d;
    /* exactly at the limit: fine; one more: rejected at the offending bracket */
    CHECK_EQ_INT(json_parse(&d, deep + 1100 - 3, 6, NULL, 0, 3), JSON_OK);
    CHECK_EQ_INT(json_parse(&d, deep + 1100 - 4, 8, NULL, 0, 3), JSON_E_DEPTH);
    CHECK_EQ_INT(d.err_offset, 3);
    /* default 64 */
    CHECK_EQ_INT(json_parse(&d, deep + 1100 - 64, 128, NULL, 0, 0), JSON_OK);
    CHECK_EQ_INT(json_parse(&d, deep + 1100 - 65, 130, NULL, 0, 0), JSON_E_DEPTH);
    /* the hard maximum clamps larger requests */
    CHECK_EQ_INT(json_parse(&d, deep, sizeof deep - 1, NULL, 0, 5000), JSON_E_DEPTH);
    CHECK_EQ_INT(d.err_offset, JSON_DEPTH_MAX);
    CHECK_EQ_INT(json_parse(&d, deep + 1100 - 1024, 2048, NULL, 0, 5000), JSON_OK);
    /* mixed objects and arrays at depth */
    const char *mix = "{\"a\":[{\"b\":[{\"c\":[]}]}]}";
    CHECK_EQ_INT(json_parse(&d, mix, strlen(mix), NULL, 0, 6), JSON_OK);
    CHECK_EQ_INT(json_parse(&d, mix, strlen(mix), NULL, 0, 5), JSON_E_DEPTH);
}

static void find_and_iterate(void)
{
    const char *s = "{\"a\":1,\"b\":[10,[20,21],{\"k\":\"v\"},30],\"a\":2,\"c\\u0021\":3}";
    json_doc d;
    json_token t[NTOK];
    REQUIRE_EQ_INT(parse(&d, t, s), JSON_OK);
    int64_t v = 0;
    CHECK_EQ_INT(json_get_int(&d, json_find(&d, 0, "a"), &v), JSON_OK);
    CHECK_EQ_INT(v, 2); /* duplicate key: last wins */
    CHECK(json_find(&d, 0, "c!") > 0);
    CHECK_EQ_INT(json_find(&d, 0, "zz"), -1);
    CHECK_EQ_INT(json_find(&d, 0, "a\0"), json_find(&d, 0, "a"));
    int b = json_find(&d, 0, "b");
    CHECK_EQ_INT(json_type(&d, b), JSON_ARRAY);
    CHECK_EQ_INT(json_find(&d, b, "a"), -1); /* not an object */
    CHECK_EQ_INT(json_type(&d, json_at(&d, b, 2)), JSON_OBJECT);
    CHECK_EQ_INT(json_get_int(&d, json_at(&d, b, 3), &v), JSON_OK);
    CHECK_EQ_INT(v, 30);
    CHECK_EQ_INT(json_at(&d, b, 4), -1);
    json_iter it = json_iter_begin(&d, b);
    int e, n = 0;
    int64_t sum = 0;
    while (json_array_next(&it, &e)) {
        if (json_get_int(&d, e, &v) == JSON_OK)
            sum += v;
        n++;
    }
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(sum, 40);
    it = json_iter_begin(&d, 0);
    int k, val;
    n = 0;
    while (json_object_next(&it, &k, &val))
        n++;
    CHECK_EQ_INT(n, 4);
    /* wrong types and bad indexes are harmless */
    it = json_iter_begin(&d, 1);
    CHECK(!json_array_next(&it, &e));
    CHECK_EQ_INT(json_type(&d, -1), JSON_NONE);
    CHECK_EQ_INT(json_type(&d, 9999), JSON_NONE);
    CHECK_EQ_INT(json_type(&d, json_find(&d, -5, "a")), JSON_NONE);
    CHECK(json_raw(&d, 9999, NULL) == NULL);
    json_iter empty = json_iter_begin(&d, json_find(&d, 0, "nope"));
    CHECK(!json_object_next(&empty, &k, &val));
}

static void strings_unescape_to_utf8(void)
{
    const char *s = "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u00e9\\u20AC\\uD83D\\uDE00\","
                    " \"\\ud800x\", \"\\udc00\\ud800\\u0041\", \"\xC3\xA9t\xC3\xA9\", \"\"]";
    json_doc d;
    json_token t[NTOK];
    REQUIRE_EQ_INT(parse(&d, t, s), JSON_OK);
    char out[64];
    size_t n;
    CHECK_EQ_INT(json_str_decode(&d, 1, out, sizeof out, &n), JSON_OK);
    CHECK_STR_EQ(out, "a\"b\\c/d\b\f\n\r\t");
    CHECK_EQ_INT(n, 12);
    CHECK_EQ_INT(json_str_decode(&d, 2, out, sizeof out, &n), JSON_OK);
    CHECK_STR_EQ(out, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    CHECK_EQ_INT(json_str_len(&d, 2), 9);
    CHECK_EQ_INT(json_str_decode(&d, 3, out, sizeof out, NULL), JSON_OK);
    CHECK_STR_EQ(out, "\xEF\xBF\xBDx"); /* lone high surrogate */
    CHECK_EQ_INT(json_str_decode(&d, 4, out, sizeof out, NULL), JSON_OK);
    CHECK_STR_EQ(out, "\xEF\xBF\xBD\xEF\xBF\xBD" "A"); /* reversed pair: two U+FFFD */
    CHECK_EQ_INT(json_str_decode(&d, 5, out, sizeof out, NULL), JSON_OK);
    CHECK_STR_EQ(out, "\xC3\xA9t\xC3\xA9");
    CHECK_EQ_INT(json_str_decode(&d, 6, out, sizeof out, &n), JSON_OK);
    CHECK_STR_EQ(out, "");
    CHECK_EQ_INT(n, 0);
    CHECK(json_str_eq(&d, 2, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
    CHECK(!json_str_eq(&d, 2, "\xC3\xA9"));
    CHECK(!json_str_eq(&d, 2, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80!"));
    CHECK(json_str_eq(&d, 6, ""));
    CHECK(!json_str_eq(&d, 0, "")); /* not a string */
    CHECK_EQ_INT(json_str_decode(&d, 0, out, sizeof out, NULL), JSON_E_TYPE);
}

static void decode_truncates_on_character_boundaries(void)
{
    const char *s = "[\"ab\xE2\x82\xAC" "cd\", \"x\\u20acy\"]";
    json_doc d;
    json_token t[NTOK];
    REQUIRE_EQ_INT(parse(&d, t, s), JSON_OK);
    char out[8];
    size_t n = 0;
    CHECK_EQ_INT(json_str_decode(&d, 1, out, 5, &n), JSON_E_SPACE);
    CHECK_STR_EQ(out, "ab"); /* the euro sign does not fit whole in 4 bytes + NUL */
    CHECK_EQ_INT(n, 7);
    CHECK_EQ_INT(json_str_decode(&d, 1, out, 6, NULL), JSON_E_SPACE);
    CHECK_STR_EQ(out, "ab\xE2\x82\xAC");
    CHECK_EQ_INT(json_str_decode(&d, 1, out, 7, NULL), JSON_E_SPACE);
    CHECK_STR_EQ(out, "ab\xE2\x82\xAC" "c");
    CHECK_EQ_INT(json_str_decode(&d, 1, out, 8, NULL), JSON_OK);
    CHECK_EQ_INT(json_str_decode(&d, 2, out, 3, NULL), JSON_E_SPACE);
    CHECK_STR_EQ(out, "x"); /* escaped euro sign skipped whole */
    CHECK_EQ_INT(json_str_decode(&d, 1, out, 0, &n), JSON_E_SPACE);
    CHECK_EQ_INT(n, 7);
}

static void numbers_convert_with_range_checks(void)
{
    const char *s = "[0, -0, 42, -17, 9223372036854775807, -9223372036854775808,"
                    " 9223372036854775808, -9223372036854775809, 1.5, 2e3, -0.25e-2,"
                    " 1e400, 1e-400, \"7\", true]";
    json_doc d;
    json_token t[NTOK];
    REQUIRE_EQ_INT(parse(&d, t, s), JSON_OK);
    int64_t v = -1;
    CHECK_EQ_INT(json_get_int(&d, json_at(&d, 0, 0), &v), JSON_OK);
    CHECK_EQ_INT(v, 0);
    CHECK_EQ_INT(json_get_int(&d, json_at(&d, 0, 1), &v), JSON_OK);
    CHECK_EQ_INT(v, 0);
    CHECK_EQ_INT(json_get_int(&d, json_at(&d, 0, 2), &v), JSON_OK);
    CHECK_EQ_INT(v, 42);
    CHECK_EQ_INT(json_get_int(&d, json_at(&d, 0, 3), &v), JSON_OK);
    CHECK_EQ_INT(v, -17);
    CHECK_EQ_INT(json_get_int(&d, json_at(&d, 0, 4), &v), JSON_OK);
    CHECK(v == INT64_MAX);
    CHECK_EQ_INT(json_get_int(&d, json_at(&d, 0, 5), &v), JSON_OK);
    CHECK(v == INT64_MIN);
    CHECK_EQ_INT(json_get_int(&d, json_at(&d, 0, 6), &v), JSON_E_RANGE);
    CHECK_EQ_INT(json_get_int(&d, json_at(&d, 0, 7), &v), JSON_E_RANGE);
    CHECK_EQ_INT(json_get_int(&d, json_at(&d, 0, 8), &v), JSON_E_TYPE);
    CHECK_EQ_INT(json_get_int(&d, json_at(&d, 0, 9), &v), JSON_E_TYPE);
    CHECK_EQ_INT(json_get_int(&d, json_at(&d, 0, 13), &v), JSON_E_TYPE);
    double x = 0;
    CHECK_EQ_INT(json_get_double(&d, json_at(&d, 0, 8), &x), JSON_OK);
    CHECK(x == 1.5);
    CHECK_EQ_INT(json_get_double(&d, json_at(&d, 0, 9), &x), JSON_OK);
    CHECK(x == 2000.0);
    CHECK_EQ_INT(json_get_double(&d, json_at(&d, 0, 10), &x), JSON_OK);
    CHECK(fabs(x + 0.0025) < 1e-12);
    CHECK_EQ_INT(json_get_double(&d, json_at(&d, 0, 11), &x), JSON_E_RANGE);
    CHECK_EQ_INT(json_get_double(&d, json_at(&d, 0, 12), &x), JSON_OK);
    CHECK(x == 0.0);
    CHECK_EQ_INT(json_get_double(&d, json_at(&d, 0, 13), &x), JSON_E_TYPE);
    bool b = false;
    CHECK_EQ_INT(json_get_bool(&d, json_at(&d, 0, 14), &b), JSON_OK);
    CHECK(b);
    CHECK_EQ_INT(json_get_bool(&d, json_at(&d, 0, 2), &b), JSON_E_TYPE);
}

static void writer_builds_nested_documents(void)
{
    char buf[256];
    json_writer w;
    json_w_init(&w, buf, sizeof buf);
    json_w_obj_begin(&w);
    json_w_key(&w, "id");
    json_w_str(&w, "chatcmpl-1");
    json_w_key(&w, "n");
    json_w_int(&w, -42);
    json_w_key(&w, "u");
    json_w_uint(&w, 18446744073709551615u);
    json_w_key(&w, "f");
    json_w_double(&w, 0.5, 0);
    json_w_key(&w, "g");
    json_w_double(&w, 1.0 / 3.0, 4);
    json_w_key(&w, "nan");
    json_w_double(&w, NAN, 0);
    json_w_key(&w, "list");
    json_w_arr_begin(&w);
    json_w_bool(&w, true);
    json_w_bool(&w, false);
    json_w_null(&w);
    json_w_arr_begin(&w);
    json_w_arr_end(&w);
    json_w_obj_begin(&w);
    json_w_obj_end(&w);
    json_w_raw(&w, "{\"raw\":1}", 9);
    json_w_arr_end(&w);
    json_w_obj_end(&w);
    size_t n = 0;
    CHECK_EQ_INT(json_w_finish(&w, &n), JSON_OK);
    const char *want = "{\"id\":\"chatcmpl-1\",\"n\":-42,\"u\":18446744073709551615,"
                       "\"f\":0.5,\"g\":0.3333,\"nan\":null,"
                       "\"list\":[true,false,null,[],{},{\"raw\":1}]}";
    CHECK_STR_EQ(buf, want);
    CHECK_EQ_INT(n, strlen(want));
    json_doc d;
    json_token t[NTOK];
    CHECK_EQ_INT(parse(&d, t, buf), JSON_OK);
}

static void writer_escapes_and_repairs_strings(void)
{
    char buf[128];
    json_writer w;
    json_w_init(&w, buf, sizeof buf);
    json_w_arr_begin(&w);
    json_w_str(&w, "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f");
    json_w_str(&w, "\xC3\xA9\xF0\x9F\x98\x80");
    json_w_str_n(&w, "a\xFF" "b\xC3", 4); /* invalid byte, then a cut sequence */
    json_w_str_n(&w, "x\0y", 3);
    json_w_arr_end(&w);
    CHECK_EQ_INT(json_w_finish(&w, NULL), JSON_OK);
    CHECK_STR_EQ(buf, "[\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\","
                      "\"\xC3\xA9\xF0\x9F\x98\x80\",\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD\","
                      "\"x\\u0000y\"]");
    /* whatever went in, the output parses and round-trips */
    json_doc d;
    json_token t[NTOK];
    REQUIRE_EQ_INT(parse(&d, t, buf), JSON_OK);
    CHECK(json_str_eq(&d, 1, "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f"));
    char out[16];
    size_t n;
    CHECK_EQ_INT(json_str_decode(&d, 4, out, sizeof out, &n), JSON_OK);
    CHECK_EQ_INT(n, 3);
    CHECK(memcmp(out, "x\0y", 3) == 0);
}

static void writer_tracks_overflow_without_writing_past_cap(void)
{
    char buf[16];
    memset(buf, '#', sizeof buf);
    json_writer w;
    json_w_init(&w, buf, 10);
    json_w_obj_begin(&w);
    json_w_key(&w, "key");
    json_w_str(&w, "a long value");
    json_w_key(&w, "n");
    json_w_int(&w, 1);
    json_w_obj_end(&w);
    size_t need = 0;
    CHECK_EQ_INT(json_w_finish(&w, &need), JSON_E_SPACE);
    CHECK_EQ_INT(need, strlen("{\"key\":\"a long value\",\"n\":1}"));
    CHECK(memcmp(buf, "{\"key\":", 7) == 0); /* a prefix of the document */
    for (size_t i = 10; i < sizeof buf; i++)
        CHECK(buf[i] == '#');
    /* exactly the document but no room for the NUL: still reported */
    json_w_init(&w, buf, 2);
    json_w_arr_begin(&w);
    json_w_arr_end(&w);
    CHECK_EQ_INT(json_w_finish(&w, &need), JSON_E_SPACE);
    json_w_init(&w, buf, 3);
    json_w_arr_begin(&w);
    json_w_arr_end(&w);
    CHECK_EQ_INT(json_w_finish(&w, &need), JSON_OK);
    CHECK_STR_EQ(buf, "[]");
    /* a zero-capacity writer only measures */
    json_w_init(&w, NULL, 0);
    json_w_str(&w, "measure me");
    CHECK_EQ_INT(json_w_finish(&w, &need), JSON_E_SPACE);
    CHECK_EQ_INT(need, 12);
}

static void writer_rejects_misuse(void)
{
    char buf[64];
    json_writer w;
    json_w_init(&w, buf, sizeof buf);
    json_w_obj_begin(&w);
    json_w_int(&w, 1); /* value without a key */
    CHECK_EQ_INT(json_w_finish(&w, NULL), JSON_E_STATE);

    json_w_init(&w, buf, sizeof buf);
    json_w_key(&w, "top"); /* key outside an object */
    CHECK_EQ_INT(json_w_finish(&w, NULL), JSON_E_STATE);

    json_w_init(&w, buf, sizeof buf);
    json_w_arr_begin(&w);
    json_w_obj_end(&w); /* mismatched close */
    CHECK_EQ_INT(json_w_finish(&w, NULL), JSON_E_STATE);

    json_w_init(&w, buf, sizeof buf);
    json_w_arr_begin(&w); /* never closed */
    CHECK_EQ_INT(json_w_finish(&w, NULL), JSON_E_STATE);

    json_w_init(&w, buf, sizeof buf);
    json_w_int(&w, 1);
    json_w_int(&w, 2); /* two top-level values */
    CHECK_EQ_INT(json_w_finish(&w, NULL), JSON_E_STATE);

    json_w_init(&w, buf, sizeof buf);
    for (int i = 0; i < 70; i++)
        json_w_arr_begin(&w);
    CHECK_EQ_INT(json_w_finish(&w, NULL), JSON_E_DEPTH);
}

/* Bytes that are no JSON at all: never a crash, never an OK. */
static void random_garbage_never_crashes(void)
{
    json_token t[16];
    json_doc d;
    unsigned x = 12345;
    char buf[64];
    static const char alphabet[] = "{}[]:,\"\\u0123456789abcdefnrt-+.eE \x80\xC3\xFF";
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(round % 63) + 1;
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = alphabet[(x >> 16) % (sizeof alphabet - 1)];
        }
        enum json_err e = json_parse(&d, buf, n, t, 16, 4);
        if (e == JSON_OK) {
            /* every accepted document survives the helpers */
            char out[64];
            for (int i = 0; i < (int)d.count; i++) {
                json_str_decode(&d, i, out, sizeof out, NULL);
                CHECK(t[i].end <= n && t[i].start < t[i].end);
            }
        } else {
            CHECK(d.err_offset <= n);
        }
    }
}

TEST_MAIN(
    RUN(accepts_every_value_kind)
    RUN(rejects_invalid_documents)
    RUN(nul_byte_inside_input_is_rejected)
    RUN(tokens_carry_exact_offsets_and_tree)
    RUN(model_value_splices_in_place)
    RUN(count_mode_reports_tokens_needed)
    RUN(depth_limit_is_enforced)
    RUN(find_and_iterate)
    RUN(strings_unescape_to_utf8)
    RUN(decode_truncates_on_character_boundaries)
    RUN(numbers_convert_with_range_checks)
    RUN(writer_builds_nested_documents)
    RUN(writer_escapes_and_repairs_strings)
    RUN(writer_tracks_overflow_without_writing_past_cap)
    RUN(writer_rejects_misuse)
    RUN(random_garbage_never_crashes)
)
