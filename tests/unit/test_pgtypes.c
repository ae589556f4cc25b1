/*
 * test_pgtypes.c — unit tests for PostgreSQL text values -> Debezium JSON
 * (src/source/pg/pgtypes.c).
 *
 * Every expected value is exact JSON text. Numbers that are not obvious (epoch days and
 * microseconds, base64 of two's-complement unscaled decimals, interval microseconds
 * with Debezium's 30.4375-day month) were computed independently (Python big integers,
 * Julian Day Numbers and IEEE doubles), not by this code. A fake pg_type lookup provides an enum, an
 * array of it, domains, an array of a domain, a composite type and failing lookups.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/json.h"
#include "source/pg/pgtypes.h"

/* builtin OIDs used below */
enum {
    BOOL = 16, BYTEA = 17, INT8 = 20, INT2 = 21, INT4 = 23, TEXT = 25, OID = 26, JSON = 114,
    XML = 142, FLOAT4 = 700, FLOAT8 = 701, MONEY = 790, INET = 869, VARCHAR = 1043,
    DATE = 1082, TIME = 1083, TIMESTAMP = 1114, TIMESTAMPTZ = 1184, INTERVAL = 1186,
    TIMETZ = 1266, BIT = 1560, VARBIT = 1562, NUMERIC = 1700, UUID = 2950, JSONB = 3802,
    POINT = 600, INT4_ARRAY = 1007, INT8_ARRAY = 1016, TEXT_ARRAY = 1009, BOOL_ARRAY = 1000,
    BYTEA_ARRAY = 1001, NUMERIC_ARRAY = 1231, TIMESTAMPTZ_ARRAY = 1185, DATE_ARRAY = 1182,
    POINT_ARRAY = 1017,
};

/* fake catalog */
enum {
    MOOD = 50001, MOOD_ARRAY = 50002, PRICE = 50003, POSINT = 50004, PRICE_ARRAY = 50005,
    PAIR = 50006, LOOP = 50007, BROKEN = 50099,
};

#define NUMERIC_TYPMOD(p, s) ((int32_t)(((p) << 16) | (s)) + 4)

static int lookups;

static int fake_lookup(void *ud, uint32_t oid, sl_pgtype_info_t *out)
{
    (void)ud;
    lookups++;
    memset(out, 0, sizeof *out);
    out->oid = oid;
    out->base_typmod = -1;
    switch (oid) {
    case MOOD:
        strcpy(out->name, "mood");
        out->typtype = 'e';
        out->category = 'E';
        out->enum_labels = strdup("sad,ok,happy");
        return SL_OK;
    case MOOD_ARRAY:
        strcpy(out->name, "_mood");
        out->typtype = 'b';
        out->category = 'A';
        out->elem_oid = MOOD;
        return SL_OK;
    case PRICE:
        strcpy(out->name, "price");
        out->typtype = 'd';
        out->category = 'N';
        out->base_oid = NUMERIC;
        out->base_typmod = NUMERIC_TYPMOD(10, 2);
        return SL_OK;
    case POSINT:
        strcpy(out->name, "posint");
        out->typtype = 'd';
        out->category = 'N';
        out->base_oid = INT4;
        return SL_OK;
    case PRICE_ARRAY:
        strcpy(out->name, "_price");
        out->typtype = 'b';
        out->category = 'A';
        out->elem_oid = PRICE;
        return SL_OK;
    case PAIR:
        strcpy(out->name, "pair");
        out->typtype = 'c';
        out->category = 'C';
        return SL_OK;
    case LOOP:
        strcpy(out->name, "loop");
        out->typtype = 'd';
        out->base_oid = LOOP;
        return SL_OK;
    default:
        return SL_ERR_SERVER;
    }
}

static sl_buf_t buf = SL_BUF_INIT;

static sl_pgconv_t *mk_mode(uint32_t oid, int32_t typmod, int mode)
{
    sl_pgconv_t *c = NULL;
    char err[128] = "";
    sl_pgtype_opts_t opts = {mode};
    int rc = sl_pgconv_new(&c, oid, typmod, fake_lookup, NULL, &opts, err, sizeof err);
    if (rc != SL_OK)
        fail_msg("sl_pgconv_new(%u): %d %s", (unsigned)oid, rc, err);
    return c;
}
static sl_pgconv_t *mk(uint32_t oid, int32_t typmod) { return mk_mode(oid, typmod, SL_DECIMAL_PRECISE); }

static const char *val(const sl_pgconv_t *c, const char *text)
{
    sl_buf_reset(&buf);
    int rc = sl_pgconv_value(c, &buf, text, strlen(text));
    if (rc != SL_OK)
        fail_msg("value '%s' failed: %d", text, rc);
    assert_true(sl_buf_ok(&buf));
    return buf.data ? buf.data : "";
}

/* Asserts failure with `want` and that nothing was appended to a non-empty buffer. */
static void val_err(const sl_pgconv_t *c, const char *text, int want)
{
    sl_buf_reset(&buf);
    sl_buf_adds(&buf, "keep");
    int rc = sl_pgconv_value(c, &buf, text, strlen(text));
    if (rc != want)
        fail_msg("value '%s': got %d, want %d (out: %s)", text, rc, want, buf.data);
    assert_string_equal(buf.data, "keep");
    assert_int_equal(buf.len, 4);
}

static const char *schema(const sl_pgconv_t *c, const char *field, bool optional)
{
    sl_buf_reset(&buf);
    sl_pgconv_schema(c, &buf, field, optional);
    return buf.data;
}

static const char *unavailable(const sl_pgconv_t *c)
{
    sl_buf_reset(&buf);
    sl_pgconv_unavailable(c, &buf);
    return buf.data;
}

#define EXPECT(c, text, json) assert_string_equal(val((c), (text)), (json))

/* ---- scalars ------------------------------------------------------------------------ */

static void test_bool_and_ints(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(BOOL, -1);
    EXPECT(c, "t", "true");
    EXPECT(c, "f", "false");
    val_err(c, "x", SL_ERR_PROTO);
    val_err(c, "", SL_ERR_PROTO);
    assert_string_equal(schema(c, "b", false), "{\"type\":\"boolean\",\"optional\":false,\"field\":\"b\"}");
    sl_pgconv_free(c);

    c = mk(INT2, -1);
    EXPECT(c, "-32768", "-32768");
    EXPECT(c, "0", "0");
    val_err(c, "32768", SL_ERR_PROTO);
    assert_string_equal(schema(c, "s", true), "{\"type\":\"int16\",\"optional\":true,\"field\":\"s\"}");
    sl_pgconv_free(c);

    c = mk(INT4, -1);
    EXPECT(c, "2147483647", "2147483647");
    EXPECT(c, "-2147483648", "-2147483648");
    val_err(c, "2147483648", SL_ERR_PROTO);
    val_err(c, "12a", SL_ERR_PROTO);
    val_err(c, "-", SL_ERR_PROTO);
    val_err(c, "", SL_ERR_PROTO);
    assert_string_equal(schema(c, "id", false), "{\"type\":\"int32\",\"optional\":false,\"field\":\"id\"}");
    sl_pgconv_free(c);

    c = mk(INT8, -1);
    EXPECT(c, "-9223372036854775808", "-9223372036854775808");
    EXPECT(c, "9223372036854775807", "9223372036854775807");
    val_err(c, "9223372036854775808", SL_ERR_PROTO);
    val_err(c, "99999999999999999999999", SL_ERR_PROTO);
    sl_pgconv_free(c);

    c = mk(OID, -1);
    EXPECT(c, "4294967295", "4294967295");
    val_err(c, "4294967296", SL_ERR_PROTO);
    val_err(c, "-1", SL_ERR_PROTO);
    assert_string_equal(schema(c, "o", true), "{\"type\":\"int64\",\"optional\":true,\"field\":\"o\"}");
    sl_pgconv_free(c);

    /* domain over int4 maps as int4 */
    c = mk(POSINT, -1);
    EXPECT(c, "42", "42");
    assert_string_equal(schema(c, "n", true), "{\"type\":\"int32\",\"optional\":true,\"field\":\"n\"}");
    sl_pgconv_free(c);
}

static void test_floats(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(FLOAT8, -1);
    EXPECT(c, "NaN", "\"NaN\"");
    EXPECT(c, "Infinity", "\"Infinity\"");
    EXPECT(c, "-Infinity", "\"-Infinity\"");
    EXPECT(c, "1.5", "1.5");
    EXPECT(c, "100", "100.0");
    EXPECT(c, "0.1", "0.1");
    EXPECT(c, "1e+300", "1.0E300");
    EXPECT(c, "-1.2345678901234567e-300", "-1.2345678901234568E-300");
    val_err(c, "0x10", SL_ERR_PROTO);
    val_err(c, "inf", SL_ERR_PROTO);
    val_err(c, "1.5x", SL_ERR_PROTO);
    assert_string_equal(schema(c, "d", true), "{\"type\":\"double\",\"optional\":true,\"field\":\"d\"}");
    sl_pgconv_free(c);

    c = mk(FLOAT4, -1);
    EXPECT(c, "0.1", "0.1");
    EXPECT(c, "3.4028235e+38", "3.4028235E38");
    EXPECT(c, "NaN", "\"NaN\"");
    EXPECT(c, "-Infinity", "\"-Infinity\"");
    assert_string_equal(schema(c, "f", true), "{\"type\":\"float\",\"optional\":true,\"field\":\"f\"}");
    sl_pgconv_free(c);
}

/* ---- numeric -------------------------------------------------------------------------- */

static void test_numeric_precise_fixed(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(NUMERIC, NUMERIC_TYPMOD(10, 2));
    EXPECT(c, "12.34", "\"BNI=\"");
    EXPECT(c, "-12.34", "\"+y4=\"");
    EXPECT(c, "0.00", "\"AA==\"");
    EXPECT(c, "-0.01", "\"/w==\"");
    EXPECT(c, "12.3", "\"BM4=\""); /* rescaled to 12.30 = 1230 */
    val_err(c, "1.234", SL_ERR_PROTO); /* would need rounding */
    val_err(c, "1.2.3", SL_ERR_PROTO);
    val_err(c, "abc", SL_ERR_PROTO);
    val_err(c, "NaN", SL_ERR_UNSUPPORTED);
    val_err(c, "Infinity", SL_ERR_UNSUPPORTED);
    assert_string_equal(schema(c, "price", true),
                        "{\"type\":\"bytes\",\"optional\":true,\"name\":\"org.apache.kafka.connect.data.Decimal\","
                        "\"version\":1,\"parameters\":{\"scale\":\"2\",\"connect.decimal.precision\":\"10\"},"
                        "\"field\":\"price\"}");
    sl_pgconv_free(c);

    c = mk(NUMERIC, NUMERIC_TYPMOD(5, 0));
    EXPECT(c, "128", "\"AIA=\"");
    EXPECT(c, "-128", "\"gA==\"");
    EXPECT(c, "-129", "\"/38=\"");
    EXPECT(c, "255", "\"AP8=\"");
    sl_pgconv_free(c);

    /* domain price = numeric(10,2) */
    c = mk(PRICE, -1);
    EXPECT(c, "1.50", "\"AJY=\"");
    assert_string_equal(schema(c, "p", false),
                        "{\"type\":\"bytes\",\"optional\":false,\"name\":\"org.apache.kafka.connect.data.Decimal\","
                        "\"version\":1,\"parameters\":{\"scale\":\"2\",\"connect.decimal.precision\":\"10\"},"
                        "\"field\":\"p\"}");
    sl_pgconv_free(c);
}

/* base64 of BigInteger("9" x 1000).toByteArray() and of its negation, computed
 * independently (Python int.to_bytes(signed=True) with the minimal length) */
static const char nines_b64[] =
    "A842x+d09rAV40paVOby20q+h8qyrjLHo+js82RTtZqiFGsvESHV79fxXNN3VI6vYgNBBI9ZpyLx"
    "KoSK+0Q66MGPxuYr9hcpVVEK37hOa6oWagVoZBuehpSfmF2n0lM74JtnoOVCw7WVQCKNmOxOPZ1x"
    "DuD+d3KdfkaY8MCBYoCiguU7NOVgoBZdVVIq6nh9oLw+ta/31JCTy4g+9TzTnIKzlvlcraiML7ct"
    "zLJD02eLhcYhHsyGegANd5wiWZnM3Qb8GoKYv39uUTtJGYGrGF1K+P0HtRSpOtlbZw29d07Ghkoi"
    "w4dZGzvHnRbUzHahvKmpS3rRBYSkh3R4YS3baYBefDLFJ5DTm8sZSEtTjoAh9FW0JuXVj5rCl6df"
    "RjznbiZg////////////////////////////////////////////////////////////////////"
    "////////////////////////////////////////////////////////////////////////////"
    "//////////////////////8=";
static const char neg_nines_b64[] =
    "/DHJOBiLCU/qHLWlqxkNJLVBeDVNUc04XBcTDJusSmVd65TQ7t4qECgOoyyIq3FQnfy++3CmWN0O"
    "1Xt1BLvFFz5wORnUCejWqq71IEexlFXplfqXm+RheWtgZ6JYLazEH2SYXxq9PEpqv91yZxOxwmKO"
    "8R8BiI1igblnDz9+nX9dfRrEyxqfX+miqq3VFYeCX0PBSlAIK29sNHfBCsMsY31MaQajUldz0EjS"
    "M028LJh0ejne4TN5hf/yiGPdpmYzIvkD5X1nQICRrsS25n5U56K1BwL4SutWxSakmPJCiLE5ebXd"
    "PHim5MQ4YukrM4leQ1ZWtIUu+ntbeIuHntIkln+hg8062G8sZDTmt7SscX/eC6pL2RoqcGU9aFig"
    "ucMYkdmfAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAE=";

static void test_numeric_1000_digits(void **state)
{
    (void)state;
    char nines[1001], want[1200];
    memset(nines, '9', 1000);
    nines[1000] = 0;

    sl_pgconv_t *c = mk(NUMERIC, -1);
    snprintf(want, sizeof want, "{\"scale\":0,\"value\":\"%s\"}", nines_b64);
    EXPECT(c, nines, want);
    /* negative, with a fraction of zeros that precise mode strips (scale 0) */
    char neg[1010];
    snprintf(neg, sizeof neg, "-%s.000", nines);
    snprintf(want, sizeof want, "{\"scale\":0,\"value\":\"%s\"}", neg_nines_b64);
    EXPECT(c, neg, want);
    sl_pgconv_free(c);

    /* numeric(1000,0): the Decimal bytes alone */
    c = mk(NUMERIC, NUMERIC_TYPMOD(1000, 0));
    snprintf(want, sizeof want, "\"%s\"", nines_b64);
    EXPECT(c, nines, want);
    sl_pgconv_free(c);

    /* 1000 digits after the point, numeric(1000,1000): same unscaled value */
    char frac[1010];
    snprintf(frac, sizeof frac, "-0.%s", nines);
    c = mk(NUMERIC, NUMERIC_TYPMOD(1000, 1000));
    snprintf(want, sizeof want, "\"%s\"", neg_nines_b64);
    EXPECT(c, frac, want);
    sl_pgconv_free(c);

    /* string mode keeps every digit (BigDecimal.toString of scale 3 is plain) */
    c = mk_mode(NUMERIC, -1, SL_DECIMAL_STRING);
    snprintf(want, sizeof want, "\"%s\"", neg);
    EXPECT(c, neg, want);
    sl_pgconv_free(c);
    /* double mode overflows to Infinity, as BigDecimal.doubleValue() does */
    c = mk_mode(NUMERIC, -1, SL_DECIMAL_DOUBLE);
    EXPECT(c, nines, "\"Infinity\"");
    sl_pgconv_free(c);
}

static void test_numeric_variable_scale(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(NUMERIC, -1);
    EXPECT(c, "1.500", "{\"scale\":1,\"value\":\"Dw==\"}");
    EXPECT(c, "-123.4500", "{\"scale\":2,\"value\":\"z8c=\"}");
    EXPECT(c, "100", "{\"scale\":0,\"value\":\"ZA==\"}");
    EXPECT(c, "0.000", "{\"scale\":0,\"value\":\"AA==\"}");
    EXPECT(c, "0", "{\"scale\":0,\"value\":\"AA==\"}");
    val_err(c, "NaN", SL_ERR_UNSUPPORTED);
    assert_string_equal(schema(c, "n", true),
                        "{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"scale\"},"
                        "{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}],\"optional\":true,"
                        "\"name\":\"io.debezium.data.VariableScaleDecimal\",\"version\":1,"
                        "\"doc\":\"Variable scaled decimal\",\"field\":\"n\"}");
    sl_pgconv_free(c);
}

static void test_numeric_string_and_double(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk_mode(NUMERIC, NUMERIC_TYPMOD(10, 2), SL_DECIMAL_STRING);
    EXPECT(c, "12.30", "\"12.30\"");
    EXPECT(c, "-0.05", "\"-0.05\"");
    EXPECT(c, "NaN", "\"NAN\"");
    EXPECT(c, "Infinity", "\"POSITIVE_INFINITY\"");
    EXPECT(c, "-Infinity", "\"NEGATIVE_INFINITY\"");
    assert_string_equal(schema(c, "s", true), "{\"type\":\"string\",\"optional\":true,\"field\":\"s\"}");
    sl_pgconv_free(c);

    /* BigDecimal.toString(): scientific below an adjusted exponent of -6 */
    c = mk_mode(NUMERIC, -1, SL_DECIMAL_STRING);
    EXPECT(c, "0.0000001", "\"1E-7\"");
    EXPECT(c, "0.00000000", "\"0E-8\"");
    EXPECT(c, "-0.000001", "\"-0.000001\"");
    EXPECT(c, "0.00000012345", "\"1.2345E-7\"");
    EXPECT(c, "123.4500", "\"123.4500\"");
    EXPECT(c, "-100", "\"-100\"");
    sl_pgconv_free(c);

    c = mk_mode(NUMERIC, NUMERIC_TYPMOD(10, 2), SL_DECIMAL_DOUBLE);
    EXPECT(c, "1.50", "1.5");
    EXPECT(c, "100.00", "100.0");
    EXPECT(c, "-0.01", "-0.01");
    EXPECT(c, "NaN", "\"NaN\"");
    EXPECT(c, "-Infinity", "\"-Infinity\"");
    assert_string_equal(schema(c, "d", false), "{\"type\":\"double\",\"optional\":false,\"field\":\"d\"}");
    sl_pgconv_free(c);
}

static void test_money(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(MONEY, -1);
    EXPECT(c, "$1,234.56", "\"AeJA\"");
    EXPECT(c, "-$1,234.56", "\"/h3A\"");
    EXPECT(c, "($5.00)", "\"/gw=\"");
    EXPECT(c, "$0.00", "\"AA==\"");
    val_err(c, "$", SL_ERR_PROTO);
    val_err(c, "$1.00x", SL_ERR_PROTO);
    assert_string_equal(schema(c, "m", true),
                        "{\"type\":\"bytes\",\"optional\":true,\"name\":\"org.apache.kafka.connect.data.Decimal\","
                        "\"version\":1,\"parameters\":{\"scale\":\"2\"},\"field\":\"m\"}");
    sl_pgconv_free(c);

    c = mk_mode(MONEY, -1, SL_DECIMAL_STRING);
    EXPECT(c, "$1,000.00", "\"1000.00\"");
    EXPECT(c, "-$0.50", "\"-0.50\"");
    sl_pgconv_free(c);

    c = mk_mode(MONEY, -1, SL_DECIMAL_DOUBLE);
    EXPECT(c, "-$1,234.56", "-1234.56");
    EXPECT(c, "$1,000.00", "1000.0");
    sl_pgconv_free(c);
}

/* ---- strings and bytes ------------------------------------------------------------------ */

static void test_text_and_semantic_strings(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(TEXT, -1);
    EXPECT(c, "he said \"hi\" \xf0\x9f\x98\x80\n", "\"he said \\\"hi\\\" \xf0\x9f\x98\x80\\n\"");
    EXPECT(c, "", "\"\"");
    EXPECT(c, "bad \xff byte", "\"bad \xef\xbf\xbd byte\"");
    assert_string_equal(schema(c, "we\"ird", true), "{\"type\":\"string\",\"optional\":true,\"field\":\"we\\\"ird\"}");
    assert_string_equal(unavailable(c), "\"__debezium_unavailable_value\"");
    sl_pgconv_free(c);

    c = mk(VARCHAR, 24);
    EXPECT(c, "abc", "\"abc\"");
    sl_pgconv_free(c);

    c = mk(UUID, -1);
    EXPECT(c, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"");
    assert_string_equal(schema(c, "u", false),
                        "{\"type\":\"string\",\"optional\":false,\"name\":\"io.debezium.data.Uuid\",\"version\":1,\"field\":\"u\"}");
    sl_pgconv_free(c);

    c = mk(JSONB, -1);
    EXPECT(c, "{\"a\": [1, 2]}", "\"{\\\"a\\\": [1, 2]}\"");
    assert_string_equal(schema(c, "j", true),
                        "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Json\",\"version\":1,\"field\":\"j\"}");
    sl_pgconv_free(c);
    c = mk(JSON, -1);
    assert_string_equal(schema(c, "j", true),
                        "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Json\",\"version\":1,\"field\":\"j\"}");
    sl_pgconv_free(c);

    c = mk(XML, -1);
    EXPECT(c, "<a>1</a>", "\"<a>1</a>\"");
    assert_string_equal(schema(c, "x", true),
                        "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Xml\",\"version\":1,\"field\":\"x\"}");
    sl_pgconv_free(c);

    c = mk(INET, -1);
    EXPECT(c, "192.168.0.1/24", "\"192.168.0.1/24\"");
    assert_string_equal(schema(c, "ip", true), "{\"type\":\"string\",\"optional\":true,\"field\":\"ip\"}");
    sl_pgconv_free(c);
}

static void test_bytea(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(BYTEA, -1);
    EXPECT(c, "\\xdeadbeef00", "\"3q2+7wA=\"");
    EXPECT(c, "\\xDEADBEEF00", "\"3q2+7wA=\"");
    EXPECT(c, "\\x", "\"\"");
    val_err(c, "\\xzz", SL_ERR_PROTO);
    val_err(c, "\\xabc", SL_ERR_PROTO);
    val_err(c, "abc", SL_ERR_PROTO); /* escape format is not supported */
    assert_string_equal(schema(c, "b", true), "{\"type\":\"bytes\",\"optional\":true,\"field\":\"b\"}");
    assert_string_equal(unavailable(c), "\"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==\"");
    sl_pgconv_free(c);
}

static void test_bits(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(BIT, 1);
    EXPECT(c, "1", "true");
    EXPECT(c, "0", "false");
    val_err(c, "2", SL_ERR_PROTO);
    assert_string_equal(schema(c, "b", true), "{\"type\":\"boolean\",\"optional\":true,\"field\":\"b\"}");
    sl_pgconv_free(c);

    c = mk(BIT, 8);
    EXPECT(c, "10000000", "\"gA==\"");
    EXPECT(c, "00000000", "\"\"");
    EXPECT(c, "00000101", "\"BQ==\"");
    assert_string_equal(schema(c, "b", true),
                        "{\"type\":\"bytes\",\"optional\":true,\"name\":\"io.debezium.data.Bits\",\"version\":1,"
                        "\"parameters\":{\"length\":\"8\"},\"field\":\"b\"}");
    sl_pgconv_free(c);

    c = mk(BIT, 9);
    EXPECT(c, "100000000", "\"AAE=\"");
    sl_pgconv_free(c);

    c = mk(VARBIT, -1);
    EXPECT(c, "101", "\"BQ==\"");
    EXPECT(c, "1111111111111111", "\"//8=\"");
    EXPECT(c, "0101010101", "\"VQE=\"");
    assert_string_equal(schema(c, "v", true),
                        "{\"type\":\"bytes\",\"optional\":true,\"name\":\"io.debezium.data.Bits\",\"version\":1,"
                        "\"parameters\":{\"length\":\"2147483647\"},\"field\":\"v\"}");
    sl_pgconv_free(c);
}

/* ---- temporal ------------------------------------------------------------------------------ */

static void test_date(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(DATE, -1);
    EXPECT(c, "1970-01-01", "0");
    EXPECT(c, "2024-02-29", "19782");
    EXPECT(c, "2100-03-01", "47541");
    EXPECT(c, "0044-03-15 BC", "-735160");
    EXPECT(c, "0001-01-01 BC", "-719528");
    EXPECT(c, "5874897-12-31", "2145042905");
    /* Debezium's (year -5877611) infinity dates */
    EXPECT(c, "infinity", "-2147472692");
    EXPECT(c, "-infinity", "-2147472691");
    val_err(c, "2023-02-29", SL_ERR_PROTO);
    val_err(c, "2100-02-29", SL_ERR_PROTO);
    val_err(c, "2024-13-01", SL_ERR_PROTO);
    val_err(c, "24-01-01", SL_ERR_PROTO);
    val_err(c, "2024-01-01 AD", SL_ERR_PROTO);
    assert_string_equal(schema(c, "d", true),
                        "{\"type\":\"int32\",\"optional\":true,\"name\":\"io.debezium.time.Date\",\"version\":1,\"field\":\"d\"}");
    sl_pgconv_free(c);
}

static void test_time(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(TIME, -1);
    EXPECT(c, "13:14:15.123456", "47655123456");
    EXPECT(c, "00:00:00", "0");
    EXPECT(c, "24:00:00", "86400000000");
    val_err(c, "24:00:01", SL_ERR_PROTO);
    val_err(c, "12:60:00", SL_ERR_PROTO);
    val_err(c, "12:00", SL_ERR_PROTO);
    assert_string_equal(schema(c, "t", true),
                        "{\"type\":\"int64\",\"optional\":true,\"name\":\"io.debezium.time.MicroTime\",\"version\":1,\"field\":\"t\"}");
    sl_pgconv_free(c);

    c = mk(TIME, 3);
    EXPECT(c, "13:14:15.123", "47655123");
    EXPECT(c, "24:00:00", "86400000");
    assert_string_equal(schema(c, "t", true),
                        "{\"type\":\"int32\",\"optional\":true,\"name\":\"io.debezium.time.Time\",\"version\":1,\"field\":\"t\"}");
    sl_pgconv_free(c);

    c = mk(TIMETZ, -1);
    EXPECT(c, "13:14:15.5+02", "\"11:14:15.5Z\"");
    EXPECT(c, "24:00:00+00", "\"24:00:00Z\"");
    EXPECT(c, "00:30:00+01:00", "\"23:30:00Z\"");
    EXPECT(c, "01:02:03.000120-05:30", "\"06:32:03.00012Z\"");
    val_err(c, "12:00:00", SL_ERR_PROTO);
    assert_string_equal(schema(c, "tz", true),
                        "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.time.ZonedTime\",\"version\":1,\"field\":\"tz\"}");
    sl_pgconv_free(c);
}

static void test_timestamp(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(TIMESTAMP, -1);
    EXPECT(c, "2018-06-20 15:13:16.945104", "1529507596945104"); /* the Debezium docs' example */
    EXPECT(c, "1970-01-01 00:00:00", "0");
    EXPECT(c, "10000-01-01 00:00:00", "253402300800000000");
    EXPECT(c, "200000-06-15 12:00:00.5", "6249237566400500000");
    EXPECT(c, "4713-11-24 00:00:00.000001 BC", "-210835180799999999");
    EXPECT(c, "infinity", "9223372036825200000");
    EXPECT(c, "-infinity", "-9223372036832400000");
    /* past ~294247 AD, Java's saturating SECONDS.toMicros + wrapping add (bug-compatible) */
    EXPECT(c, "294276-12-31 23:59:59.999999", "-9223372036853775810");
    val_err(c, "2024-01-01", SL_ERR_PROTO);
    val_err(c, "2024-01-01 24:00:00", SL_ERR_PROTO);
    val_err(c, "2024-01-01 00:00:00+00", SL_ERR_PROTO);
    assert_string_equal(schema(c, "ts", true),
                        "{\"type\":\"int64\",\"optional\":true,\"name\":\"io.debezium.time.MicroTimestamp\",\"version\":1,\"field\":\"ts\"}");
    sl_pgconv_free(c);

    c = mk(TIMESTAMP, 3);
    EXPECT(c, "2018-06-20 15:13:16.945", "1529507596945");
    EXPECT(c, "4713-11-24 00:00:00 BC", "-210835180800000");
    EXPECT(c, "infinity", "9223372036825200");
    EXPECT(c, "-infinity", "-9223372036832400");
    assert_string_equal(schema(c, "ts", false),
                        "{\"type\":\"int64\",\"optional\":false,\"name\":\"io.debezium.time.Timestamp\",\"version\":1,\"field\":\"ts\"}");
    sl_pgconv_free(c);
}

static void test_timestamptz(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(TIMESTAMPTZ, -1);
    EXPECT(c, "2024-01-02 03:04:05.123456+00", "\"2024-01-02T03:04:05.123456Z\"");
    EXPECT(c, "2024-01-02 03:04:05.12+00", "\"2024-01-02T03:04:05.120000Z\"");
    EXPECT(c, "1999-01-08 04:05:06-08:30", "\"1999-01-08T12:35:06.000000Z\"");
    EXPECT(c, "2024-01-01 00:30:00+01", "\"2023-12-31T23:30:00.000000Z\"");
    EXPECT(c, "2024-02-28 23:00:00-02", "\"2024-02-29T01:00:00.000000Z\"");
    EXPECT(c, "2023-02-28 23:00:00-02", "\"2023-03-01T01:00:00.000000Z\"");
    EXPECT(c, "1900-01-01 00:00:00+00:09:21", "\"1899-12-31T23:50:39.000000Z\"");
    EXPECT(c, "0044-03-15 12:00:00+00 BC", "\"-0043-03-15T12:00:00.000000Z\"");
    EXPECT(c, "0001-01-01 00:30:00+01", "\"0000-12-31T23:30:00.000000Z\"");
    EXPECT(c, "10000-01-01 00:00:00+00", "\"+10000-01-01T00:00:00.000000Z\"");
    EXPECT(c, "infinity", "\"infinity\"");
    EXPECT(c, "-infinity", "\"-infinity\"");
    val_err(c, "2024-01-02 03:04:05", SL_ERR_PROTO);
    val_err(c, "2024-01-02T03:04:05+00", SL_ERR_PROTO);
    assert_string_equal(schema(c, "at", true),
                        "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.time.ZonedTimestamp\",\"version\":1,\"field\":\"at\"}");
    sl_pgconv_free(c);

    c = mk(TIMESTAMPTZ, 3);
    EXPECT(c, "2024-01-02 03:04:05.12+00", "\"2024-01-02T03:04:05.120Z\"");
    sl_pgconv_free(c);
    c = mk(TIMESTAMPTZ, 0);
    EXPECT(c, "2024-01-02 03:04:05+00", "\"2024-01-02T03:04:05Z\"");
    sl_pgconv_free(c);
}

static void test_interval(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(INTERVAL, -1);
    EXPECT(c, "P1Y2M3DT4H5M6.7S", "37091106700000");
    EXPECT(c, "P-1Y-2M3DT-4H-5M-6.5S", "-36572706500000");
    EXPECT(c, "PT0S", "0");
    EXPECT(c, "P1M", "2629800000000"); /* 30.4375 days */
    EXPECT(c, "PT0.000001S", "1");
    EXPECT(c, "P-178956970Y-8M", "-9223372036854775808"); /* (long) saturates */
    /* IntervalStyle=postgres is understood as well */
    EXPECT(c, "1 year 2 mons -3 days +04:05:06.789", "36572706789000");
    EXPECT(c, "-00:00:01.5", "-1500000");
    EXPECT(c, "3 days", "259200000000");
    val_err(c, "P1X", SL_ERR_PROTO);
    val_err(c, "P", SL_ERR_PROTO);
    val_err(c, "garbage", SL_ERR_PROTO);
    val_err(c, "", SL_ERR_PROTO);
    assert_string_equal(schema(c, "i", true),
                        "{\"type\":\"int64\",\"optional\":true,\"name\":\"io.debezium.time.MicroDuration\",\"version\":1,\"field\":\"i\"}");
    sl_pgconv_free(c);
}

/* ---- arrays, enums, unknown --------------------------------------------------------------- */

static void test_arrays(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(INT4_ARRAY, -1);
    EXPECT(c, "{1,2,NULL,-3}", "[1,2,null,-3]");
    EXPECT(c, "{}", "[]");
    EXPECT(c, "{{1,2},{3,4}}", "[[1,2],[3,4]]");
    EXPECT(c, "[0:1]={5,6}", "[5,6]");
    EXPECT(c, "{null}", "[null]");
    val_err(c, "{1,2", SL_ERR_PROTO);
    val_err(c, "{1,,2}", SL_ERR_PROTO);
    val_err(c, "1,2", SL_ERR_PROTO);
    val_err(c, "{1,x}", SL_ERR_PROTO);
    val_err(c, "{1}}", SL_ERR_PROTO);
    assert_string_equal(schema(c, "a", true),
                        "{\"type\":\"array\",\"items\":{\"type\":\"int32\",\"optional\":true},\"optional\":true,\"field\":\"a\"}");
    assert_string_equal(unavailable(c),
                        "[95,95,100,101,98,101,122,105,117,109,95,117,110,97,118,97,105,108,97,98,108,101,95,118,"
                        "97,108,117,101]");
    sl_pgconv_free(c);

    c = mk(TEXT_ARRAY, -1);
    EXPECT(c, "{\"a,b\",\"c\\\"d\",\"e\\\\f\",NULL,\"NULL\",plain,\"\xf0\x9f\x98\x80\",\"\"}",
           "[\"a,b\",\"c\\\"d\",\"e\\\\f\",null,\"NULL\",\"plain\",\"\xf0\x9f\x98\x80\",\"\"]");
    EXPECT(c, "{\xf0\x9f\x98\x80,\"x y\"}", "[\"\xf0\x9f\x98\x80\",\"x y\"]");
    val_err(c, "{\"abc}", SL_ERR_PROTO);
    assert_string_equal(unavailable(c), "[\"__debezium_unavailable_value\"]");
    sl_pgconv_free(c);

    c = mk(BOOL_ARRAY, -1);
    EXPECT(c, "{t,f,NULL}", "[true,false,null]");
    sl_pgconv_free(c);

    c = mk(BYTEA_ARRAY, -1);
    EXPECT(c, "{\"\\\\xdead\",NULL}", "[\"3q0=\",null]");
    /* an escaped element longer than the stack scratch */
    char big[2 + 1 + 2 + 2 + 600 + 2 + 1];
    char *p = big;
    p += sprintf(p, "{\"\\\\x");
    for (int i = 0; i < 300; i++)
        p += sprintf(p, "00");
    sprintf(p, "\"}");
    const char *out = val(c, big);
    assert_int_equal(strlen(out), 2 + 2 + 400);
    assert_int_equal(strncmp(out, "[\"AAAA", 6), 0);
    sl_pgconv_free(c);

    c = mk(NUMERIC_ARRAY, -1);
    EXPECT(c, "{1.50,NULL,-2}", "[{\"scale\":1,\"value\":\"Dw==\"},null,{\"scale\":0,\"value\":\"/g==\"}]");
    sl_pgconv_free(c);
    c = mk(NUMERIC_ARRAY, NUMERIC_TYPMOD(10, 2));
    EXPECT(c, "{1.50}", "[\"AJY=\"]");
    assert_string_equal(schema(c, "na", true),
                        "{\"type\":\"array\",\"items\":{\"type\":\"bytes\",\"optional\":true,"
                        "\"name\":\"org.apache.kafka.connect.data.Decimal\",\"version\":1,"
                        "\"parameters\":{\"scale\":\"2\",\"connect.decimal.precision\":\"10\"}},"
                        "\"optional\":true,\"field\":\"na\"}");
    sl_pgconv_free(c);

    c = mk(TIMESTAMPTZ_ARRAY, -1);
    EXPECT(c, "{\"2024-01-02 03:04:05+00\",infinity}", "[\"2024-01-02T03:04:05.000000Z\",\"infinity\"]");
    sl_pgconv_free(c);

    c = mk(DATE_ARRAY, -1);
    EXPECT(c, "{2024-02-29,\"0044-03-15 BC\"}", "[19782,-735160]");
    sl_pgconv_free(c);

    c = mk(INT8_ARRAY, -1);
    assert_int_equal(strncmp(unavailable(c), "[95,95,100,", 11), 0);
    sl_pgconv_free(c);
}

static void test_enum_and_domain_arrays(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(MOOD, -1);
    EXPECT(c, "happy", "\"happy\"");
    assert_string_equal(schema(c, "mood", true),
                        "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Enum\",\"version\":1,"
                        "\"parameters\":{\"allowed\":\"sad,ok,happy\"},\"field\":\"mood\"}");
    assert_string_equal(unavailable(c), "\"__debezium_unavailable_value\"");
    sl_pgconv_free(c);

    c = mk(MOOD_ARRAY, -1);
    EXPECT(c, "{sad,happy,NULL}", "[\"sad\",\"happy\",null]");
    EXPECT(c, "{}", "[]");
    /* Debezium's enum array items are not optional */
    assert_string_equal(schema(c, "moods", true),
                        "{\"type\":\"array\",\"items\":{\"type\":\"string\",\"optional\":false,"
                        "\"name\":\"io.debezium.data.Enum\",\"version\":1,\"parameters\":{\"allowed\":\"sad,ok,happy\"}},"
                        "\"optional\":true,\"field\":\"moods\"}");
    sl_pgconv_free(c);

    c = mk(PRICE_ARRAY, -1);
    EXPECT(c, "{1.50,NULL}", "[\"AJY=\",null]");
    sl_pgconv_free(c);
}

static void test_unknown_types(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(PAIR, -1);
    EXPECT(c, "(1,\"a b\")", "\"(1,\\\"a b\\\")\"");
    assert_string_equal(schema(c, "p", true),
                        "{\"type\":\"string\",\"optional\":true,\"parameters\":{\"__debezium.source.column.type\":\"pair\"},"
                        "\"field\":\"p\"}");
    sl_pgconv_free(c);

    /* builtin without a Debezium mapping: known by number, no lookup */
    int before = lookups;
    c = mk(POINT, -1);
    assert_int_equal(lookups, before);
    EXPECT(c, "(1,2)", "\"(1,2)\"");
    assert_string_equal(schema(c, "pt", true),
                        "{\"type\":\"string\",\"optional\":true,\"parameters\":{\"__debezium.source.column.type\":\"point\"},"
                        "\"field\":\"pt\"}");
    sl_pgconv_free(c);

    c = mk(POINT_ARRAY, -1);
    EXPECT(c, "{\"(1,2)\",NULL}", "[\"(1,2)\",null]");
    sl_pgconv_free(c);

    /* no lookup callback: the type is named by its OID */
    sl_pgconv_t *u = NULL;
    assert_int_equal(sl_pgconv_new(&u, 99999, -1, NULL, NULL, NULL, NULL, 0), SL_OK);
    assert_string_equal(schema(u, "x", true),
                        "{\"type\":\"string\",\"optional\":true,\"parameters\":{\"__debezium.source.column.type\":\"oid:99999\"},"
                        "\"field\":\"x\"}");
    EXPECT(u, "whatever", "\"whatever\"");
    sl_pgconv_free(u);
}

static void test_new_errors(void **state)
{
    (void)state;
    sl_pgconv_t *c = (sl_pgconv_t *)&buf; /* must be reset to NULL on failure */
    char err[128] = "";
    assert_int_equal(sl_pgconv_new(&c, BROKEN, -1, fake_lookup, NULL, NULL, err, sizeof err), SL_ERR_SERVER);
    assert_null(c);
    assert_non_null(strstr(err, "50099"));

    err[0] = 0;
    assert_int_equal(sl_pgconv_new(&c, LOOP, -1, fake_lookup, NULL, NULL, err, sizeof err), SL_ERR_PROTO);
    assert_null(c);
    assert_non_null(strstr(err, "too deep"));

    sl_pgtype_opts_t bad = {42};
    assert_int_equal(sl_pgconv_new(&c, INT4, -1, NULL, NULL, &bad, NULL, 0), SL_ERR_CONFIG);
    assert_null(c);
}

static void test_appends_after_existing(void **state)
{
    (void)state;
    sl_pgconv_t *c = mk(INT4, -1);
    sl_buf_reset(&buf);
    sl_buf_adds(&buf, "{\"id\":");
    assert_int_equal(sl_pgconv_value(c, &buf, "7", 1), SL_OK);
    sl_buf_addc(&buf, '}');
    assert_string_equal(buf.data, "{\"id\":7}");
    /* text is not NUL-terminated: only len bytes count */
    sl_buf_reset(&buf);
    assert_int_equal(sl_pgconv_value(c, &buf, "123456", 3), SL_OK);
    assert_string_equal(buf.data, "123");
    sl_pgconv_free(c);
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
        cmocka_unit_test(test_bool_and_ints),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_numeric_precise_fixed),
        cmocka_unit_test(test_numeric_1000_digits),
        cmocka_unit_test(test_numeric_variable_scale),
        cmocka_unit_test(test_numeric_string_and_double),
        cmocka_unit_test(test_money),
        cmocka_unit_test(test_text_and_semantic_strings),
        cmocka_unit_test(test_bytea),
        cmocka_unit_test(test_bits),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_timestamp),
        cmocka_unit_test(test_timestamptz),
        cmocka_unit_test(test_interval),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_enum_and_domain_arrays),
        cmocka_unit_test(test_unknown_types),
        cmocka_unit_test(test_new_errors),
        cmocka_unit_test(test_appends_after_existing),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
