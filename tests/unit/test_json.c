/*
 * test_json.c — unit tests for the streaming JSON writer (src/core/json.c).
 *
 * Checks exact output text: escaping, UTF-8 validation, Java-style shortest doubles and
 * floats (what Jackson prints inside Kafka Connect's JsonConverter), integers, base64.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/json.h"

static sl_buf_t buf = SL_BUF_INIT;

static const char *s_str(const char *s, size_t n)
{
    sl_buf_reset(&buf);
    sl_json_str(&buf, s, n);
    assert_true(sl_buf_ok(&buf));
    return buf.data;
}
#define STR(lit) s_str((lit), sizeof(lit) - 1)

static const char *s_f64(double v)
{
    sl_buf_reset(&buf);
    sl_json_f64(&buf, v);
    return buf.data;
}

static const char *s_f32(float v)
{
    sl_buf_reset(&buf);
    sl_json_f32(&buf, v);
    return buf.data;
}

static const char *s_i64(int64_t v)
{
    sl_buf_reset(&buf);
    sl_json_i64(&buf, v);
    return buf.data;
}

static const char *s_b64(const void *p, size_t n)
{
    sl_buf_reset(&buf);
    sl_json_base64(&buf, p, n);
    return buf.data;
}

/* sl_ts3 (one number formatted, the others cut or padded from its text) against
 * the three numbers formatted one by one. */
static void test_ts3(void **state)
{
    (void)state;
    const int64_t ts[] = {0, 1, 999, 1000, 1001, 123456, -1, -999, -1000, -1001, -123456,
                          1763806493145123, -1763806493145123, INT64_MAX / 1000,
                          -(INT64_MAX / 1000)};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        int64_t t = ts[i];
        char want[128];
        snprintf(want, sizeof want, "a%lldb%lldc%lld", (long long)(t / 1000), (long long)t,
                 (long long)(t * 1000));
        sl_buf_reset(&buf);
        sl_ts3_t x;
        sl_ts3_init(&x, t);
        sl_buf_addc(&buf, 'a');
        sl_ts3_ms(&buf, &x);
        sl_buf_addc(&buf, 'b');
        sl_ts3_us(&buf, &x);
        sl_buf_addc(&buf, 'c');
        sl_ts3_ns(&buf, &x);
        sl_buf_addc(&buf, 0);
        assert_string_equal(buf.data, want);
    }
}

static void test_plain_and_quotes(void **state)
{
    (void)state;
    assert_string_equal(STR(""), "\"\"");
    assert_string_equal(STR("hello"), "\"hello\"");
    assert_string_equal(STR("say \"hi\""), "\"say \\\"hi\\\"\"");
    assert_string_equal(STR("a\\b"), "\"a\\\\b\"");
    assert_string_equal(STR("/ and \x7f stay"), "\"/ and \x7f stay\"");
    /* long runs go through the 8-byte scanner; escapes at every alignment */
    assert_string_equal(STR("0123456789abcdef\"0123456"), "\"0123456789abcdef\\\"0123456\"");
    assert_string_equal(STR("01234567\\"), "\"01234567\\\\\"");
}

static void test_control_chars(void **state)
{
    (void)state;
    assert_string_equal(STR("\b\t\n\f\r"), "\"\\b\\t\\n\\f\\r\"");
    assert_string_equal(STR("\x01\x1f"), "\"\\u0001\\u001F\"");
    assert_string_equal(s_str("a\0b", 3), "\"a\\u0000b\"");
}

static void test_utf8_valid(void **state)
{
    (void)state;
    /* 2-, 3- and 4-byte sequences (é, €, 😀) are copied unchanged */
    assert_string_equal(STR("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
                        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    assert_string_equal(STR("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
    /* emoji right after 8 ASCII bytes, at the end of the input */
    assert_string_equal(STR("abcdefgh\xf0\x9f\x98\x80"), "\"abcdefgh\xf0\x9f\x98\x80\"");
}

#define FFFD "\xef\xbf\xbd"

static void test_utf8_invalid(void **state)
{
    (void)state;
    assert_string_equal(STR("a\xff"
                            "b"),
                        "\"a" FFFD "b\"");
    assert_string_equal(STR("\x80"), "\"" FFFD "\"");         /* stray continuation */
    assert_string_equal(STR("\xc0\xaf"), "\"" FFFD FFFD "\""); /* overlong '/' */
    assert_string_equal(STR("\xed\xa0\x80"), "\"" FFFD FFFD FFFD "\""); /* surrogate */
    assert_string_equal(STR("\xf4\x90\x80\x80"), "\"" FFFD FFFD FFFD FFFD "\""); /* > U+10FFFF */
    assert_string_equal(STR("\xe2\x82"), "\"" FFFD FFFD "\"");             /* truncated */
    assert_string_equal(STR("\xf0\x9f\x98"
                            "x"),
                        "\"" FFFD FFFD FFFD "x\"");
}

static void test_str_body(void **state)
{
    (void)state;
    sl_buf_reset(&buf);
    sl_json_str_body(&buf, "x\"y", 3);
    assert_string_equal(buf.data, "x\\\"y");
    sl_buf_reset(&buf);
    sl_json_strz(&buf, "z");
    assert_string_equal(buf.data, "\"z\"");
}

static void test_nonfinite(void **state)
{
    (void)state;
    assert_string_equal(s_f64(NAN), "\"NaN\"");
    assert_string_equal(s_f64(INFINITY), "\"Infinity\"");
    assert_string_equal(s_f64(-INFINITY), "\"-Infinity\"");
    assert_string_equal(s_f32(NAN), "\"NaN\"");
    assert_string_equal(s_f32(-INFINITY), "\"-Infinity\"");
}

static void test_double_shortest(void **state)
{
    (void)state;
    /* Java's Double.toString layout */
    assert_string_equal(s_f64(0.0), "0.0");
    assert_string_equal(s_f64(-0.0), "-0.0");
    assert_string_equal(s_f64(1.0), "1.0");
    assert_string_equal(s_f64(-2.5), "-2.5");
    assert_string_equal(s_f64(0.1), "0.1");
    assert_string_equal(s_f64(0.3), "0.3");
    assert_string_equal(s_f64(1.0 / 3), "0.3333333333333333");
    assert_string_equal(s_f64(0.001), "0.001");
    assert_string_equal(s_f64(0.0001), "1.0E-4");
    assert_string_equal(s_f64(1234567.0), "1234567.0");
    assert_string_equal(s_f64(1e7), "1.0E7");
    assert_string_equal(s_f64(12345678.9), "1.23456789E7");
    assert_string_equal(s_f64(1e23), "1.0E23");
    assert_string_equal(s_f64(DBL_MAX), "1.7976931348623157E308");
    assert_string_equal(s_f64(5e-324), "4.9E-324"); /* Double.MIN_VALUE, as Java prints it */
    assert_string_equal(s_f64(9007199254740993.0), "9.007199254740992E15");
    assert_string_equal(s_f64(2.2250738585072014e-308), "2.2250738585072014E-308");
    /* round trip for a spread of values */
    for (int i = -300; i <= 300; i += 7) {
        double v = 1.2345678901234567 * pow(10.0, i);
        const char *t = s_f64(v);
        char *endp;
        assert_true(strtod(t, &endp) == v);
        assert_true(*endp == 0);
    }
}

static void test_float_vs_double(void **state)
{
    (void)state;
    /* 0.1f is 0.100000001490116...: shortest float text "0.1", as a double 17 digits */
    assert_string_equal(s_f32(0.1f), "0.1");
    assert_string_equal(s_f64((double)0.1f), "0.10000000149011612");
    assert_string_equal(s_f32(1.0f), "1.0");
    assert_string_equal(s_f32(3.4028235e38f), "3.4028235E38"); /* Float.MAX_VALUE */
    assert_string_equal(s_f32(1.4e-45f), "1.4E-45");            /* Float.MIN_VALUE */
    assert_string_equal(s_f32(16777216.0f), "1.6777216E7");
    assert_string_equal(s_f32(123456.7f), "123456.7");
    assert_string_equal(s_f32(-0.0f), "-0.0");
    for (int i = -37; i <= 37; i += 3) {
        float v = (float)(3.1415927 * pow(10.0, i));
        const char *t = s_f32(v);
        assert_true(strtof(t, NULL) == v);
    }
}

static void test_integers(void **state)
{
    (void)state;
    assert_string_equal(s_i64(0), "0");
    assert_string_equal(s_i64(-1), "-1");
    assert_string_equal(s_i64(9), "9");
    assert_string_equal(s_i64(10), "10");
    assert_string_equal(s_i64(1234567890123), "1234567890123");
    assert_string_equal(s_i64(INT64_MAX), "9223372036854775807");
    assert_string_equal(s_i64(INT64_MIN), "-9223372036854775808");
    sl_buf_reset(&buf);
    sl_json_u64(&buf, UINT64_MAX);
    assert_string_equal(buf.data, "18446744073709551615");
}

static void test_base64(void **state)
{
    (void)state;
    assert_string_equal(s_b64("", 0), "\"\"");
    assert_string_equal(s_b64("f", 1), "\"Zg==\"");
    assert_string_equal(s_b64("fo", 2), "\"Zm8=\"");
    assert_string_equal(s_b64("foo", 3), "\"Zm9v\"");
    assert_string_equal(s_b64("foobar", 6), "\"Zm9vYmFy\"");
    const uint8_t bin[] = {0x00, 0xff, 0xfe};
    assert_string_equal(s_b64(bin, 3), "\"AP/+\"");
}

static void test_literals_and_appending(void **state)
{
    (void)state;
    sl_buf_reset(&buf);
    sl_buf_addc(&buf, '[');
    sl_json_bool(&buf, 1);
    sl_buf_addc(&buf, ',');
    sl_json_bool(&buf, 0);
    sl_buf_addc(&buf, ',');
    sl_json_null(&buf);
    sl_buf_addc(&buf, ']');
    assert_string_equal(buf.data, "[true,false,null]");
    assert_int_equal(buf.len, strlen("[true,false,null]"));
}

static void test_large_string_growth(void **state)
{
    (void)state;
    size_t n = 100000;
    char *s = malloc(n);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)(i % 64 == 63 ? '\n' : 'a' + i % 26);
    sl_buf_reset(&buf);
    sl_json_str(&buf, s, n);
    assert_true(sl_buf_ok(&buf));
    assert_int_equal(buf.len, n + 2 + n / 64);
    assert_int_equal(buf.data[buf.len], 0);
    free(s);
}

static int teardown_all(void **state)
{
    (void)state;
    sl_buf_free(&buf);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_quotes),
        cmocka_unit_test(test_ts3),
        cmocka_unit_test(test_control_chars),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_str_body),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_double_shortest),
        cmocka_unit_test(test_float_vs_double),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_literals_and_appending),
        cmocka_unit_test(test_large_string_growth),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
