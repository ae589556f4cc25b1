/*
 * jdbc_types.c — Kafka Connect schemas to PostgreSQL column types, and Debezium JSON
 * values back to PostgreSQL's text input form.
 *
 * How it works. The event value carries its Connect schema (JsonConverter with
 * schemas.enable=true). A field's logical name (io.debezium.time.MicroTimestamp,
 * org.apache.kafka.connect.data.Decimal, ...) decides the column type first; the
 * primitive type (int32, string, bytes, ...) decides when there is none. Values are
 * turned back into the text PostgreSQL reads for that type, and bound as text
 * parameters, so nothing is ever spliced into SQL.
 *
 * Invariants:
 *  1. Precision is kept: Decimal is rebuilt from its unscaled two's-complement bytes
 *     and scale (no floating point on the way); timestamps keep their microseconds;
 *     doubles are printed with 17 significant digits, floats with 9 (both round-trip).
 *  2. Bytes from the event (base64) are checked while decoding: malformed input is an
 *     error, never a crash.
 *
 * References: Kafka Connect JsonConverter (schema JSON), Debezium PostgreSQL connector
 * "data type mappings" (logical names), Debezium JDBC sink "data and column type
 * mappings" (the target types chosen here follow it, with PostgreSQL's native types).
 */
#include "sink/jdbc/jdbc.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *param_of(const json_t *schema, const char *key)
{
    return str_of(json_object_get(schema, "parameters"), key);
}

bool jdbc_pg_type(const json_t *schema, sl_buf_t *out)
{
    const char *type = str_of(schema, "type"), *name = str_of(schema, "name");
    if (!type)
        return false;
    if (name) {
        static const struct {
            const char *name, *pg;
        } named[] = {
            {"io.debezium.time.Date", "date"},
            {"org.apache.kafka.connect.data.Date", "date"},
            {"io.debezium.time.Time", "time(3)"},
            {"org.apache.kafka.connect.data.Time", "time(3)"},
            {"io.debezium.time.MicroTime", "time(6)"},
            {"io.debezium.time.NanoTime", "time(6)"},
            {"io.debezium.time.Timestamp", "timestamp(3)"},
            {"org.apache.kafka.connect.data.Timestamp", "timestamp(3)"},
            {"io.debezium.time.MicroTimestamp", "timestamp(6)"},
            {"io.debezium.time.NanoTimestamp", "timestamp(6)"},
            {"io.debezium.time.ZonedTimestamp", "timestamptz"},
            {"io.debezium.time.ZonedTime", "timetz"},
            {"io.debezium.time.MicroDuration", "interval"},
            {"io.debezium.data.VariableScaleDecimal", "numeric"},
            {"io.debezium.data.Json", "json"},
            {"io.debezium.data.Uuid", "uuid"},
            {"io.debezium.data.Xml", "xml"},
            {"io.debezium.data.Enum", "text"},
            {"io.debezium.data.EnumSet", "text"},
            {"io.debezium.data.Ltree", "text"},
            {"io.debezium.time.Year", "integer"},
        };
        for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
            if (strcmp(name, named[i].name) == 0) {
                sl_buf_adds(out, named[i].pg);
                return true;
            }
        if (strcmp(name, "org.apache.kafka.connect.data.Decimal") == 0) {
            const char *p = param_of(schema, "connect.decimal.precision");
            const char *s = param_of(schema, "scale");
            long pl = p ? strtol(p, NULL, 10) : 0, sc = s ? strtol(s, NULL, 10) : 0;
            if (pl > 0 && pl <= 1000 && sc >= 0 && sc <= pl)
                sl_buf_printf(out, "numeric(%ld,%ld)", pl, sc);
            else
                sl_buf_adds(out, "numeric"); /* keeps every scale exactly as given */
            return true;
        }
    }
    static const struct {
        const char *type, *pg;
    } prim[] = {
        {"int8", "smallint"},  {"int16", "smallint"},        {"int32", "integer"},
        {"int64", "bigint"},   {"float", "real"},            {"float32", "real"},
        {"double", "double precision"}, {"float64", "double precision"},
        {"boolean", "boolean"}, {"string", "text"},          {"bytes", "bytea"},
    };
    for (size_t i = 0; i < sizeof prim / sizeof prim[0]; i++)
        if (strcmp(type, prim[i].type) == 0) {
            sl_buf_adds(out, prim[i].pg);
            return true;
        }
    if (strcmp(type, "array") == 0) {
        const json_t *items = json_object_get(schema, "items");
        size_t mark = out->len;
        if (!items || json_is_array(json_object_get(items, "items")) ||
            strcmp(str_of(items, "type") ? str_of(items, "type") : "", "array") == 0 ||
            !jdbc_pg_type(items, out)) {
            out->len = mark;
            if (out->data)
                out->data[mark] = 0;
            return false;
        }
        sl_buf_adds(out, "[]");
        return true;
    }
    return false;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes base64 into a malloc'd buffer; NULL on malformed input or out of memory. */
static uint8_t *b64_decode(const char *s, size_t n, size_t *out_len)
{
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return NULL;
    uint8_t *o = malloc(n * 3 / 4 + 1);
    if (!o)
        return NULL;
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_val((unsigned char)s[i]);
        if (v < 0) {
            free(o);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = k;
    return o;
}

/* Unscaled big-endian two's-complement integer + scale -> decimal text (invariant 1). */
static int decimal_text(const uint8_t *p, size_t n, long scale, sl_buf_t *out)
{
    bool neg = n > 0 && (p[0] & 0x80);
    uint8_t *mag = malloc(n ? n : 1);
    if (!mag)
        return -1;
    memcpy(mag, p, n);
    if (neg) { /* magnitude = ~x + 1 */
        for (size_t i = 0; i < n; i++)
            mag[i] = (uint8_t)~mag[i];
        for (size_t i = n; i-- > 0;)
            if (++mag[i] != 0)
                break;
    }
    /* repeated division by 10^9: base-1e9 limbs, least significant first */
    size_t cap = n * 3 / 8 + 2, nl = 0;
    uint32_t *limb = malloc(cap * sizeof *limb);
    if (!limb) {
        free(mag);
        return -1;
    }
    size_t start = 0;
    for (;;) {
        while (start < n && mag[start] == 0)
            start++;
        if (start == n)
            break;
        uint64_t rem = 0;
        for (size_t i = start; i < n; i++) {
            uint64_t cur = (rem << 8) | mag[i];
            mag[i] = (uint8_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        limb[nl++] = (uint32_t)rem;
    }
    sl_buf_t d = SL_BUF_INIT;
    if (nl == 0)
        sl_buf_addc(&d, '0');
    else {
        sl_buf_printf(&d, "%" PRIu32, limb[nl - 1]);
        for (size_t i = nl - 1; i-- > 0;)
            sl_buf_printf(&d, "%09" PRIu32, limb[i]);
    }
    free(limb);
    free(mag);
    if (!sl_buf_ok(&d)) {
        sl_buf_free(&d);
        return -1;
    }
    if (neg)
        sl_buf_addc(out, '-');
    if (scale <= 0) {
        sl_buf_add(out, d.data, d.len);
        for (long i = 0; i < -scale && !(d.len == 1 && d.data[0] == '0'); i++)
            sl_buf_addc(out, '0');
    } else if ((size_t)scale >= d.len) {
        sl_buf_adds(out, "0.");
        for (size_t i = d.len; i < (size_t)scale; i++)
            sl_buf_addc(out, '0');
        sl_buf_add(out, d.data, d.len);
    } else {
        sl_buf_add(out, d.data, d.len - (size_t)scale);
        sl_buf_addc(out, '.');
        sl_buf_add(out, d.data + d.len - (size_t)scale, (size_t)scale);
    }
    sl_buf_free(&d);
    return 0;
}

static int64_t floordiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/* Days since 1970-01-01 -> civil date (proleptic Gregorian; H. Hinnant's algorithm). */
static void date_text(int64_t days, sl_buf_t *out)
{
    int64_t z = days + 719468;
    int64_t era = floordiv(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    if (y <= 0) /* year 0 is 1 BC */
        sl_buf_printf(out, "%04" PRId64 "-%02" PRId64 "-%02" PRId64 " BC", 1 - y, m, d);
    else
        sl_buf_printf(out, "%04" PRId64 "-%02" PRId64 "-%02" PRId64, y, m, d);
}

static void time_text(int64_t us_of_day, sl_buf_t *out)
{
    sl_buf_printf(out, "%02" PRId64 ":%02" PRId64 ":%02" PRId64 ".%06" PRId64,
                  (int64_t)(us_of_day / 3600000000LL), (int64_t)(us_of_day / 60000000LL % 60),
                  (int64_t)(us_of_day / 1000000LL % 60), (int64_t)(us_of_day % 1000000LL));
}

static void timestamp_text(int64_t us, sl_buf_t *out)
{
    int64_t days = floordiv(us, 86400000000LL);
    int64_t rest = us - days * 86400000000LL;
    sl_buf_t d = SL_BUF_INIT;
    date_text(days, &d);
    /* "YYYY-MM-DD[ BC]" -> date, time, then the era suffix last as PostgreSQL reads it */
    bool bc = d.len > 3 && strcmp(d.data + d.len - 3, " BC") == 0;
    sl_buf_add(out, d.data, bc ? d.len - 3 : d.len);
    sl_buf_addc(out, ' ');
    time_text(rest, out);
    if (bc)
        sl_buf_adds(out, " BC");
    sl_buf_free(&d);
}

static bool get_int(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    return false;
}

/* Array element as it goes inside a PostgreSQL array literal: quoted, \ and " escaped. */
static int array_text(const json_t *items, const json_t *v, sl_buf_t *out, char *errbuf,
                      size_t errbuf_size)
{
    sl_buf_addc(out, '{');
    sl_buf_t e = SL_BUF_INIT;
    size_t i;
    const json_t *x;
    json_array_foreach(v, i, x)
    {
        if (i)
            sl_buf_addc(out, ',');
        bool isnull = false;
        sl_buf_reset(&e);
        if (jdbc_pg_value(items, x, &e, &isnull, errbuf, errbuf_size) != 0) {
            sl_buf_free(&e);
            return -1;
        }
        if (isnull) {
            sl_buf_adds(out, "NULL");
            continue;
        }
        sl_buf_addc(out, '"');
        for (size_t k = 0; k < e.len; k++) {
            if (e.data[k] == '"' || e.data[k] == '\\')
                sl_buf_addc(out, '\\');
            sl_buf_addc(out, e.data[k]);
        }
        sl_buf_addc(out, '"');
    }
    sl_buf_addc(out, '}');
    sl_buf_free(&e);
    return 0;
}

#define BAD(...)                                                                                 \
    do {                                                                                         \
        snprintf(errbuf, errbuf_size, __VA_ARGS__);                                              \
        return -1;                                                                               \
    } while (0)

int jdbc_pg_value(const json_t *schema, const json_t *v, sl_buf_t *out, bool *is_null,
                  char *errbuf, size_t errbuf_size)
{
    const char *type = str_of(schema, "type"), *name = str_of(schema, "name");
    *is_null = false;
    if (!v || json_is_null(v)) {
        *is_null = true;
        return 0;
    }
    if (!type)
        BAD("field schema without a type");
    int64_t n;
    if (name) {
        if (strcmp(name, "org.apache.kafka.connect.data.Decimal") == 0 ||
            strcmp(name, "io.debezium.data.VariableScaleDecimal") == 0) {
            const json_t *bytes = v;
            long scale;
            if (strncmp(name, "io.", 3) == 0) { /* VariableScaleDecimal: {"scale":..,"value":base64} */
                int64_t s;
                bytes = json_object_get(v, "value");
                if (!get_int(json_object_get(v, "scale"), &s))
                    BAD("variable scale decimal without a scale");
                scale = (long)s;
            } else {
                const char *s = param_of(schema, "scale");
                scale = s ? strtol(s, NULL, 10) : 0;
            }
            if (json_is_string(bytes)) {
                size_t len;
                uint8_t *raw = b64_decode(json_string_value(bytes), json_string_length(bytes), &len);
                if (!raw)
                    BAD("decimal value is not valid base64");
                int rc = decimal_text(raw, len, scale, out);
                free(raw);
                if (rc != 0)
                    BAD("out of memory");
                return 0;
            }
            if (json_is_number(bytes)) { /* decimal.handling.mode=double */
                sl_buf_printf(out, "%.17g", json_number_value(bytes));
                return 0;
            }
            BAD("decimal value is neither base64 bytes nor a number");
        }
        if (strcmp(name, "io.debezium.time.Date") == 0 ||
            strcmp(name, "org.apache.kafka.connect.data.Date") == 0) {
            if (!get_int(v, &n))
                BAD("date value is not an integer");
            date_text(n, out);
            return 0;
        }
        int64_t unit = 0; /* to microseconds: >0 multiply, <0 divide */
        bool is_time = false, is_ts = false;
        if (!strcmp(name, "io.debezium.time.Time") || !strcmp(name, "org.apache.kafka.connect.data.Time"))
            unit = 1000, is_time = true;
        else if (!strcmp(name, "io.debezium.time.MicroTime"))
            unit = 1, is_time = true;
        else if (!strcmp(name, "io.debezium.time.NanoTime"))
            unit = -1000, is_time = true;
        else if (!strcmp(name, "io.debezium.time.Timestamp") ||
                 !strcmp(name, "org.apache.kafka.connect.data.Timestamp"))
            unit = 1000, is_ts = true;
        else if (!strcmp(name, "io.debezium.time.MicroTimestamp"))
            unit = 1, is_ts = true;
        else if (!strcmp(name, "io.debezium.time.NanoTimestamp"))
            unit = -1000, is_ts = true;
        if (is_time || is_ts) {
            if (!get_int(v, &n))
                BAD("%s value is not an integer", name);
            int64_t us = unit > 0 ? n * unit : floordiv(n, -unit);
            if (is_time) {
                if (us < 0 || us > 86400000000LL)
                    BAD("time value %" PRId64 " is out of range", n);
                time_text(us, out);
            } else {
                timestamp_text(us, out);
            }
            return 0;
        }
        if (strcmp(name, "io.debezium.time.MicroDuration") == 0) {
            if (!get_int(v, &n))
                BAD("duration value is not an integer");
            sl_buf_printf(out, "%" PRId64 " microseconds", n);
            return 0;
        }
    }
    if (json_is_string(v)) {
        if (strcmp(type, "bytes") == 0) {
            size_t len;
            uint8_t *raw = b64_decode(json_string_value(v), json_string_length(v), &len);
            if (!raw)
                BAD("bytes value is not valid base64");
            static const char hex[] = "0123456789abcdef";
            sl_buf_adds(out, "\\x");
            for (size_t i = 0; i < len; i++) {
                sl_buf_addc(out, hex[raw[i] >> 4]);
                sl_buf_addc(out, hex[raw[i] & 15]);
            }
            free(raw);
            return 0;
        }
        /* strings; also NaN/Infinity, which the converter writes as strings */
        sl_buf_add(out, json_string_value(v), json_string_length(v));
        return 0;
    }
    if (json_is_boolean(v)) {
        sl_buf_adds(out, json_is_true(v) ? "true" : "false");
        return 0;
    }
    if (json_is_integer(v)) {
        sl_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return 0;
    }
    if (json_is_real(v)) {
        bool single = strcmp(type, "float") == 0 || strcmp(type, "float32") == 0;
        sl_buf_printf(out, single ? "%.9g" : "%.17g", json_real_value(v));
        return 0;
    }
    if (json_is_array(v) && strcmp(type, "array") == 0)
        return array_text(json_object_get(schema, "items"), v, out, errbuf, errbuf_size);
    /* struct/map without a column form: keep it as JSON text */
    char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!dump)
        BAD("out of memory");
    sl_buf_adds(out, dump);
    free(dump);
    return 0;
}

bool jdbc_is_unavailable(const json_t *v)
{
    static const char ph[] = JDBC_UNAVAILABLE;
    static const char ph64[] = "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==";
    if (json_is_string(v))
        return strcmp(json_string_value(v), ph) == 0 || strcmp(json_string_value(v), ph64) == 0;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return false;
    const json_t *first = json_array_get(v, 0);
    if (json_is_string(first))
        return json_array_size(v) == 1 && strcmp(json_string_value(first), ph) == 0;
    if (json_array_size(v) != sizeof ph - 1)
        return false;
    for (size_t i = 0; i < sizeof ph - 1; i++) {
        const json_t *x = json_array_get(v, i);
        if (!json_is_integer(x) || json_integer_value(x) != (unsigned char)ph[i])
            return false;
    }
    return true;
}
