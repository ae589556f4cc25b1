/*
 * test_jscan.c — unit tests for the token scanner (src/core/jscan.c): the token layout
 * (order, next, count), lookups with and without a hint, string unescaping (surrogate
 * pairs, lone surrogates), integer limits, and malformed documents refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/jscan.h"

static sl_jdoc_t doc = SL_JDOC_INIT;

static int parse(const char *s) { return sl_jdoc_parse(&doc, s, strlen(s)); }

static int get(int obj, const char *k, int *hint) { return sl_jdoc_get(&doc, obj, k, strlen(k), hint); }

static void test_layout(void **state)
{
    (void)state;
    assert_int_equal(parse(" {\"a\":1,\"b\":[true,null,{\"c\":\"x\"}],\"d\":-2.5e3} "), SL_OK);
    assert_int_equal(doc.t[0].type, SL_JT_OBJ);
    assert_int_equal(doc.t[0].count, 3);
    assert_int_equal(doc.t[0].next, doc.n);
    int b = get(0, "b", NULL);
    assert_int_equal(doc.t[b].type, SL_JT_ARR);
    assert_int_equal(doc.t[b].count, 3);
    assert_int_equal(doc.t[b + 1].type, SL_JT_TRUE);
    assert_int_equal(doc.t[b + 2].type, SL_JT_NULL);
    int inner = b + 3;
    assert_int_equal(doc.t[inner].type, SL_JT_OBJ);
    assert_true(sl_jdoc_streq(&doc, get(inner, "c", NULL), "x", 1));
    int d = get(0, "d", NULL);
    double f;
    int64_t i;
    assert_true(sl_jdoc_f64(&doc, d, &f));
    assert_true(f == -2500.0);
    assert_false(sl_jdoc_i64(&doc, d, &i)); /* not an integer token */
    assert_true(sl_jdoc_i64(&doc, get(0, "a", NULL), &i));
    assert_int_equal(i, 1);
    assert_int_equal(get(0, "zz", NULL), -1);
    assert_int_equal(get(b, "a", NULL), -1); /* not an object */
    /* the raw text of a container */
    assert_int_equal(doc.t[inner].len, strlen("{\"c\":\"x\"}"));
    assert_memory_equal(doc.s + doc.t[inner].start, "{\"c\":\"x\"}", doc.t[inner].len);
}

/* parse_until stops after the named root member: later members are neither scanned nor
 * found; nested members of that name do not stop it; without the member it is a parse. */
static void test_until(void **state)
{
    (void)state;
    sl_jdoc_t d = SL_JDOC_INIT;
    const char *ev = "{\"before\":{\"after\":1},\"after\":{\"a\":1},\"source\":{\"t\":\"x\"}}";
    assert_int_equal(sl_jdoc_parse_until(&d, ev, strlen(ev), "after", 5), SL_OK);
    assert_int_equal(d.t[0].count, 2);
    int after = sl_jdoc_get(&d, 0, "after", 5, NULL);
    assert_int_equal(sl_jdoc_type(&d, after), SL_JT_OBJ);
    assert_int_equal(sl_jdoc_get(&d, after, "a", 1, NULL), after + 2);
    assert_int_equal(sl_jdoc_get(&d, 0, "source", 6, NULL), -1);
    assert_int_equal(d.t[0].next, d.n);
    /* what follows the member is not looked at */
    const char *tail = "{\"after\":[1,2] ,oops";
    assert_int_equal(sl_jdoc_parse_until(&d, tail, strlen(tail), "after", 5), SL_OK);
    assert_int_equal(sl_jdoc_parse(&d, tail, strlen(tail)), SL_ERR_PROTO);
    /* up to the member everything is checked */
    const char *bad = "{\"before\":nul,\"after\":1}";
    assert_int_equal(sl_jdoc_parse_until(&d, bad, strlen(bad), "after", 5), SL_ERR_PROTO);
    /* no such member, or not an object: a whole parse */
    const char *other = "{\"x\":1}";
    assert_int_equal(sl_jdoc_parse_until(&d, other, strlen(other), "after", 5), SL_OK);
    assert_int_equal(sl_jdoc_parse_until(&d, other, strlen(other) - 1, "after", 5), SL_ERR_PROTO);
    assert_int_equal(sl_jdoc_parse_until(&d, "[1]", 3, "after", 5), SL_OK);
    sl_jdoc_free(&d);
}

static void test_hint(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"a\":1,\"b\":{\"x\":[1,2]},\"c\":3}"), SL_OK);
    int hint = 0;
    int64_t v;
    /* in text order, then out of order (wraps around), then missing */
    assert_true(sl_jdoc_i64(&doc, get(0, "a", &hint), &v) && v == 1);
    assert_int_equal(doc.t[get(0, "b", &hint)].type, SL_JT_OBJ);
    assert_true(sl_jdoc_i64(&doc, get(0, "c", &hint), &v) && v == 3);
    assert_true(sl_jdoc_i64(&doc, get(0, "a", &hint), &v) && v == 1);
    assert_int_equal(get(0, "nope", &hint), -1);
    assert_true(sl_jdoc_i64(&doc, get(0, "c", &hint), &v) && v == 3);
}

static void test_strings(void **state)
{
    (void)state;
    sl_buf_t scratch = SL_BUF_INIT;
    const char *s;
    size_t n;
    assert_int_equal(parse("[\"plain\",\"a\\\"b\\\\c\\/\\n\",\"\\u00e9\\ud83d\\ude00\",\"\\ud800x\"]"), SL_OK);
    assert_true(sl_jdoc_str(&doc, 1, &scratch, &s, &n));
    assert_int_equal(n, 5);
    assert_memory_equal(s, "plain", 5);
    assert_true(sl_jdoc_str(&doc, 2, &scratch, &s, &n));
    assert_string_equal(s, "a\"b\\c/\n");
    assert_true(sl_jdoc_str(&doc, 3, &scratch, &s, &n));
    assert_string_equal(s, "\xc3\xa9\xf0\x9f\x98\x80");
    assert_true(sl_jdoc_str(&doc, 4, &scratch, &s, &n));
    assert_string_equal(s, "\xef\xbf\xbdx"); /* lone surrogate -> U+FFFD */
    assert_true(sl_jdoc_streq(&doc, 2, "a\"b\\c/\n", 7));
    assert_false(sl_jdoc_str(&doc, 0, &scratch, &s, &n)); /* the array */
    /* keys with escapes are found by their unescaped text */
    assert_int_equal(parse("{\"k\\u0065y\":true}"), SL_OK);
    assert_int_equal(doc.t[get(0, "key", NULL)].type, SL_JT_TRUE);
    sl_buf_free(&scratch);
}

static void test_integers(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(parse("[9223372036854775807,-9223372036854775808,9223372036854775808,-0]"), SL_OK);
    assert_true(sl_jdoc_i64(&doc, 1, &v) && v == INT64_MAX);
    assert_true(sl_jdoc_i64(&doc, 2, &v) && v == INT64_MIN);
    assert_false(sl_jdoc_i64(&doc, 3, &v));
    assert_true(sl_jdoc_i64(&doc, 4, &v) && v == 0);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", " ", "{", "}", "[1,]", "{\"a\"}", "{\"a\":}", "{a:1}", "[01]", "[1.]", "[.5]",
        "[1e]", "[-]", "\"abc", "\"a\\x\"", "\"\\u12g4\"", "\"\\u12\"", "tru", "nul", "[1] x",
        "\"a\tb\"", "{\"a\":1,}", "[1 2]", "{\"a\":1 \"b\":2}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i]) != SL_ERR_PROTO)
            fail_msg("accepted malformed JSON: %s", bad[i]);
        assert_int_equal(doc.n, 0);
    }
    /* nesting is bounded: SL_JSCAN_MAX_DEPTH levels are fine, one more is not */
    char deep[2 * SL_JSCAN_MAX_DEPTH + 2];
    for (int levels = SL_JSCAN_MAX_DEPTH; levels <= SL_JSCAN_MAX_DEPTH + 1; levels++) {
        memset(deep, '[', (size_t)levels);
        memset(deep + levels, ']', (size_t)levels);
        assert_int_equal(sl_jdoc_parse(&doc, deep, 2 * (size_t)levels),
                         levels <= SL_JSCAN_MAX_DEPTH ? SL_OK : SL_ERR_PROTO);
    }
    /* not NUL-terminated: the scan stops at len */
    assert_int_equal(sl_jdoc_parse(&doc, "[1,2]xyz", 5), SL_OK);
    assert_int_equal(sl_jdoc_parse(&doc, "\"ab", 2), SL_ERR_PROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),   cmocka_unit_test(test_hint),
        cmocka_unit_test(test_strings),  cmocka_unit_test(test_integers),
        cmocka_unit_test(test_malformed), cmocka_unit_test(test_until),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sl_jdoc_free(&doc);
    return rc;
}
