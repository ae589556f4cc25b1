/*
 * jdbc_types.c — Kafka Connect schemas to column types, and Debezium JSON values back
 * to the form the target reads, for each SQL dialect the jdbc sink writes
 * (PostgreSQL, MariaDB/MySQL, SQLite).
 *
 * How it works. The event value carries its Connect schema (JsonConverter with
 * schemas.enable=true). A field's logical name (io.debezium.time.MicroTimestamp,
 * org.apache.kafka.connect.data.Decimal, ...) decides the column type first; the
 * primitive type (int32, string, bytes, ...) decides when there is none; one table per
 * dialect. Values are turned back into the text the target parses for that type (raw
 * bytes for binary columns in MariaDB and SQLite) and bound as parameters, so nothing
 * is ever spliced into SQL. The dialects differ in a few places only: bytes (PostgreSQL
 * \x hex text, else raw), booleans (true/false, else 1/0), timestamps with a zone
 * (MariaDB's DATETIME has none: converted to UTC), durations (PostgreSQL interval, else
 * microseconds), arrays (PostgreSQL arrays, else JSON text) and BC dates (MariaDB has
 * none: an error, never a silently wrong year). A field schema is classified once
 * (jdbc_field_init: its logical name becomes a JDBC_K_* kind, its scale a number) and the
 * sink keeps that per schema, so rendering a value compares no strings; jdbc_value() does
 * both steps for a one-off value.
 *
 * Invariants:
 *  1. Precision is kept: Decimal is rebuilt from its unscaled two's-complement bytes
 *     and scale (no floating point on the way; up to 8 bytes in a 64-bit integer, longer
 *     ones by long division); timestamps keep their microseconds;
 *     numbers are passed on as the text the event carries (the writer's shortest
 *     round-trip form), never through a double.
 *  2. Bytes from the event (base64) are checked while decoding: malformed input is an
 *     error, never a crash.
 *
 *  3. A timestamp with a zone reaches MariaDB as the same instant in UTC; SQLite and
 *     PostgreSQL get Debezium's ISO-8601 text unchanged.
 *
 * References: Kafka Connect JsonConverter (schema JSON), Debezium PostgreSQL connector
 * "data type mappings" (logical names), Debezium JDBC sink "data and column type
 * mappings" (the target types chosen here follow it, with each target's native types);
 * SQLite "Datatypes In SQLite" (type affinity from the declared type name).
 */
#include "sink/jdbc/jdbc.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/civil.h"

static const char *str_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *param_of(const json_t *schema, const char *key)
{
    return str_of(json_object_get(schema, "parameters"), key);
}

typedef struct named_type {
    const char *name, *pg, *my, *sqlite;
} named_type_t;

/* Logical types by name. SQLite's names are chosen for their affinity: DATE/TIMESTAMP
 * (NUMERIC affinity) keep ISO text as text; NUMERIC turns a decimal into a real of 15
 * significant digits, so only decimals that fit are NUMERIC, the others TEXT (exact). */
static const named_type_t named_types[] = {
    {"io.debezium.time.Date", "date", "DATE", "DATE"},
    {"org.apache.kafka.connect.data.Date", "date", "DATE", "DATE"},
    {"io.debezium.time.Time", "time(3)", "TIME(3)", "TIME"},
    {"org.apache.kafka.connect.data.Time", "time(3)", "TIME(3)", "TIME"},
    {"io.debezium.time.MicroTime", "time(6)", "TIME(6)", "TIME"},
    {"io.debezium.time.NanoTime", "time(6)", "TIME(6)", "TIME"},
    {"io.debezium.time.Timestamp", "timestamp(3)", "DATETIME(3)", "TIMESTAMP"},
    {"org.apache.kafka.connect.data.Timestamp", "timestamp(3)", "DATETIME(3)", "TIMESTAMP"},
    {"io.debezium.time.MicroTimestamp", "timestamp(6)", "DATETIME(6)", "TIMESTAMP"},
    {"io.debezium.time.NanoTimestamp", "timestamp(6)", "DATETIME(6)", "TIMESTAMP"},
    {"io.debezium.time.ZonedTimestamp", "timestamptz", "DATETIME(6)", "TEXT"},
    {"io.debezium.time.ZonedTime", "timetz", "TIME(6)", "TEXT"},
    {"io.debezium.time.MicroDuration", "interval", "BIGINT", "INTEGER"},
    {"io.debezium.data.VariableScaleDecimal", "numeric", "DECIMAL(65,30)", "TEXT"},
    {"io.debezium.data.Json", "json", "JSON", "TEXT"},
    {"io.debezium.data.Uuid", "uuid", "CHAR(36)", "TEXT"},
    {"io.debezium.data.Xml", "xml", "LONGTEXT", "TEXT"},
    {"io.debezium.data.Enum", "text", NULL, "TEXT"},
    {"io.debezium.data.EnumSet", "text", NULL, "TEXT"},
    {"io.debezium.data.Ltree", "text", NULL, "TEXT"},
    {"io.debezium.time.Year", "integer", "INT", "INTEGER"},
};

typedef struct prim_type {
    const char *type, *pg, *my, *sqlite;
} prim_type_t;

static const prim_type_t prim_types[] = {
    {"int8", "smallint", "TINYINT", "INTEGER"},
    {"int16", "smallint", "SMALLINT", "INTEGER"},
    {"int32", "integer", "INT", "INTEGER"},
    {"int64", "bigint", "BIGINT", "INTEGER"},
    {"float", "real", "FLOAT", "REAL"},
    {"float32", "real", "FLOAT", "REAL"},
    {"double", "double precision", "DOUBLE", "REAL"},
    {"float64", "double precision", "DOUBLE", "REAL"},
    {"boolean", "boolean", "BOOLEAN", "BOOLEAN"},
    {"string", "text", NULL, "TEXT"}, /* MariaDB: see my_text() */
    {"bytes", "bytea", NULL, "BLOB"},
};

static const char *pick(jdbc_dialect_t d, const char *pg, const char *my, const char *sqlite)
{
    return d == JDBC_PG ? pg : d == JDBC_MY ? my : sqlite;
}

/* MariaDB indexes TEXT/BLOB only with a prefix length: key columns get VARCHAR. */
static const char *my_text(const char *type, bool is_key)
{
    if (strcmp(type, "bytes") == 0)
        return is_key ? "VARBINARY(255)" : "LONGBLOB";
    return is_key ? "VARCHAR(255)" : "LONGTEXT";
}

bool jdbc_col_type(jdbc_dialect_t dialect, const json_t *schema, bool is_key, sl_buf_t *out)
{
    const char *type = str_of(schema, "type"), *name = str_of(schema, "name");
    if (!type)
        return false;
    if (name) {
        for (size_t i = 0; i < sizeof named_types / sizeof named_types[0]; i++) {
            const named_type_t *t = &named_types[i];
            if (strcmp(name, t->name) == 0) {
                const char *ct = pick(dialect, t->pg, t->my, t->sqlite);
                sl_buf_adds(out, ct ? ct : my_text("string", is_key));
                return true;
            }
        }
        if (strcmp(name, "org.apache.kafka.connect.data.Decimal") == 0) {
            const char *p = param_of(schema, "connect.decimal.precision");
            const char *s = param_of(schema, "scale");
            long pl = p ? strtol(p, NULL, 10) : 0, sc = s ? strtol(s, NULL, 10) : 0;
            bool fits = pl > 0 && sc >= 0 && sc <= pl &&
                        (dialect == JDBC_MY ? pl <= 65 && sc <= 30 : pl <= 1000);
            if (dialect == JDBC_SQLITE) /* NUMERIC keeps 15 digits; TEXT keeps them all */
                sl_buf_adds(out, pl > 0 && pl <= 15 && sc >= 0 && sc <= pl ? "NUMERIC" : "TEXT");
            else if (fits)
                sl_buf_printf(out, dialect == JDBC_PG ? "numeric(%ld,%ld)" : "DECIMAL(%ld,%ld)",
                              pl, sc);
            else /* keeps every digit and scale exactly as given */
                sl_buf_adds(out, dialect == JDBC_PG ? "numeric" : my_text("string", is_key));
            return true;
        }
    }
    for (size_t i = 0; i < sizeof prim_types / sizeof prim_types[0]; i++) {
        const prim_type_t *t = &prim_types[i];
        if (strcmp(type, t->type) == 0) {
            const char *ct = pick(dialect, t->pg, t->my, t->sqlite);
            sl_buf_adds(out, ct ? ct : my_text(type, is_key));
            return true;
        }
    }
    if (strcmp(type, "array") == 0) {
        if (dialect != JDBC_PG) { /* JSON text */
            sl_buf_adds(out, dialect == JDBC_MY ? "JSON" : "TEXT");
            return true;
        }
        const json_t *items = json_object_get(schema, "items");
        size_t mark = out->len;
        if (!items || json_is_array(json_object_get(items, "items")) ||
            strcmp(str_of(items, "type") ? str_of(items, "type") : "", "array") == 0 ||
            !jdbc_col_type(dialect, items, false, out)) {
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

/* Decodes base64 into `buf` when it is large enough, else into a malloc'd buffer (the
 * caller frees a result that is not `buf`); NULL on malformed input or out of memory. */
static uint8_t *b64_decode_into(const char *s, size_t n, uint8_t *buf, size_t buf_size,
                                size_t *out_len)
{
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return NULL;
    size_t need = n * 3 / 4 + 1;
    uint8_t *o = need <= buf_size ? buf : malloc(need);
    if (!o)
        return NULL;
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_val((unsigned char)s[i]);
        if (v < 0) {
            if (o != buf)
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

/* Writes sign, digits and the decimal point `scale` digits from the right (negative scale:
 * zeros appended, except to a zero). */
static void place_point(sl_buf_t *out, bool neg, const char *d, size_t len, long scale)
{
    if (neg)
        sl_buf_addc(out, '-');
    if (scale <= 0) {
        sl_buf_add(out, d, len);
        for (long i = 0; i < -scale && !(len == 1 && d[0] == '0'); i++)
            sl_buf_addc(out, '0');
    } else if ((size_t)scale >= len) {
        sl_buf_adds(out, "0.");
        for (size_t i = len; i < (size_t)scale; i++)
            sl_buf_addc(out, '0');
        sl_buf_add(out, d, len);
    } else {
        sl_buf_add(out, d, len - (size_t)scale);
        sl_buf_addc(out, '.');
        sl_buf_add(out, d + len - (size_t)scale, (size_t)scale);
    }
}

/* Up to 8 bytes (numeric(18) and less: nearly every decimal column): in an integer. */
static void decimal_text_small(const uint8_t *p, size_t n, long scale, sl_buf_t *out)
{
    uint64_t u = n > 0 && (p[0] & 0x80) ? UINT64_MAX : 0; /* sign extension */
    for (size_t i = 0; i < n; i++)
        u = (u << 8) | p[i];
    bool neg = (int64_t)u < 0;
    uint64_t mag = neg ? ~u + 1 : u; /* two's complement: INT64_MIN's magnitude fits */
    char d[24], *e = d + sizeof d, *b = e;
    do
        *--b = (char)('0' + mag % 10);
    while ((mag /= 10) != 0);
    place_point(out, neg, b, (size_t)(e - b), scale);
}

/* Unscaled big-endian two's-complement integer + scale -> decimal text (invariant 1). */
static int decimal_text(const uint8_t *p, size_t n, long scale, sl_buf_t *out)
{
    if (n <= 8) {
        decimal_text_small(p, n, scale, out);
        return 0;
    }
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
    place_point(out, neg, d.data, d.len, scale);
    sl_buf_free(&d);
    return 0;
}

static int64_t floordiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/* Days since 1970-01-01 -> "YYYY-MM-DD". Years before 1: PostgreSQL counts eras (*bc set:
 * the caller appends " BC" where PostgreSQL reads it), SQLite gets ISO 8601's astronomical
 * year ("-0043-03-15"), MariaDB cannot store them (false; so also past 9999). */
static bool date_text(jdbc_dialect_t dialect, int64_t days, sl_buf_t *out, bool *bc)
{
    int64_t y;
    unsigned m, d;
    sl_civil_from_days(days, &y, &m, &d);
    *bc = dialect == JDBC_PG && y <= 0; /* year 0 is 1 BC */
    if (dialect == JDBC_MY && (y < 1 || y > 9999))
        return false;
    if (*bc)
        y = 1 - y;
    sl_buf_printf(out, y < 0 ? "%05" PRId64 "-%02u-%02u" : "%04" PRId64 "-%02u-%02u", y, m, d);
    return true;
}

static void time_text(int64_t us_of_day, sl_buf_t *out)
{
    sl_buf_printf(out, "%02" PRId64 ":%02" PRId64 ":%02" PRId64 ".%06" PRId64,
                  (int64_t)(us_of_day / 3600000000LL), (int64_t)(us_of_day / 60000000LL % 60),
                  (int64_t)(us_of_day / 1000000LL % 60), (int64_t)(us_of_day % 1000000LL));
}

/* "YYYY-MM-DD HH:MM:SS.ffffff" (PostgreSQL reads the era suffix last: "... BC"). */
static bool timestamp_text(jdbc_dialect_t dialect, int64_t us, sl_buf_t *out)
{
    int64_t days = floordiv(us, 86400000000LL);
    bool bc;
    if (!date_text(dialect, days, out, &bc))
        return false;
    sl_buf_addc(out, ' ');
    time_text(us - days * 86400000000LL, out);
    if (bc)
        sl_buf_adds(out, " BC");
    return true;
}

/* Reads `n` digits at s[*i]; -1 when they are not all there. */
static int64_t digits(const char *s, size_t len, size_t *i, int n)
{
    int64_t v = 0;
    for (int k = 0; k < n; k++, (*i)++) {
        if (*i >= len || !isdigit((unsigned char)s[*i]))
            return -1;
        v = v * 10 + (s[*i] - '0');
    }
    return v;
}

/* [.fraction](Z | +HH:MM | -HH:MM | +HH) at s[*i]: microseconds of the fraction and the
 * zone's offset east of UTC in seconds; false when malformed. */
static bool frac_zone(const char *s, size_t len, size_t *i, int64_t *frac_us, int64_t *off_s)
{
    *frac_us = 0;
    *off_s = 0;
    if (*i < len && s[*i] == '.') {
        int64_t scale = 100000;
        for ((*i)++; *i < len && isdigit((unsigned char)s[*i]); (*i)++, scale /= 10)
            *frac_us += (s[*i] - '0') * scale; /* digits past the 6th add 0 */
    }
    if (*i < len && s[*i] == 'Z')
        return ++*i == len;
    if (*i < len && (s[*i] == '+' || s[*i] == '-')) {
        int sign = s[(*i)++] == '-' ? -1 : 1;
        int64_t h = digits(s, len, i, 2), m = 0;
        if (h < 0)
            return false;
        if (*i < len && s[*i] == ':')
            (*i)++;
        if (*i < len && (m = digits(s, len, i, 2)) < 0)
            return false;
        *off_s = sign * (h * 3600 + m * 60);
        return *i == len;
    }
    return *i == len;
}

/* Debezium's ZonedTimestamp ("2024-05-01T10:00:00.5Z", any offset) -> the same instant
 * as MariaDB DATETIME text in UTC (invariant 3). */
static bool zoned_ts_utc(const char *s, size_t len, sl_buf_t *out)
{
    size_t i = 0;
    int sign = 1;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        sign = s[i++] == '-' ? -1 : 1;
    int64_t y = digits(s, len, &i, 4);
    while (y >= 0 && i < len && isdigit((unsigned char)s[i])) /* years past 9999 */
        y = y * 10 + (s[i++] - '0');
    if (y < 0 || i >= len || s[i++] != '-')
        return false;
    int64_t mo = digits(s, len, &i, 2);
    if (mo < 1 || mo > 12 || i >= len || s[i++] != '-')
        return false;
    int64_t d = digits(s, len, &i, 2);
    if (d < 1 || d > 31 || i >= len || (s[i] != 'T' && s[i] != ' '))
        return false;
    i++;
    int64_t h = digits(s, len, &i, 2), mi = -1, se = -1;
    if (h >= 0 && i < len && s[i++] == ':')
        mi = digits(s, len, &i, 2);
    if (mi >= 0 && i < len && s[i++] == ':')
        se = digits(s, len, &i, 2);
    int64_t frac, off;
    if (se < 0 || !frac_zone(s, len, &i, &frac, &off))
        return false;
    int64_t days = sl_days_from_civil(sign * y, (unsigned)mo, (unsigned)d);
    int64_t us = (days * 86400 + h * 3600 + mi * 60 + se - off) * 1000000 + frac;
    return timestamp_text(JDBC_MY, us, out);
}

/* Debezium's ZonedTime ("10:15:30.5Z", "10:15:30+02:00") -> UTC time of day. */
static bool zoned_time_utc(const char *s, size_t len, sl_buf_t *out)
{
    size_t i = 0;
    int64_t h = digits(s, len, &i, 2), mi = -1, se = -1;
    if (h >= 0 && i < len && s[i++] == ':')
        mi = digits(s, len, &i, 2);
    if (mi >= 0 && i < len && s[i++] == ':')
        se = digits(s, len, &i, 2);
    int64_t frac, off;
    if (se < 0 || h > 23 || !frac_zone(s, len, &i, &frac, &off))
        return false;
    int64_t us = ((h * 3600 + mi * 60 + se - off) * 1000000 + frac) % 86400000000LL;
    time_text(us < 0 ? us + 86400000000LL : us, out);
    return true;
}

static int tok_type(jdbc_val_t v) { return v.tok < 0 ? SL_JT_NULL : sl_jdoc_type(v.doc, v.tok); }

static bool get_int(jdbc_val_t v, int64_t *out) { return sl_jdoc_i64(v.doc, v.tok, out); }

/* The raw text of token v (a number's digits, a container's JSON). */
static void raw_text(jdbc_val_t v, sl_buf_t *out)
{
    const sl_jtok_t *t = &v.doc->t[v.tok];
    sl_buf_add(out, v.doc->s + t->start, t->len);
}

/* A string token's content, unescaped (into *tmp when it has escapes). */
static bool get_str(jdbc_val_t v, sl_buf_t *tmp, const char **p, size_t *n)
{
    return sl_jdoc_str(v.doc, v.tok, tmp, p, n);
}

/* Array element as it goes inside a PostgreSQL array literal: quoted, \ and " escaped. */
static int array_text(const json_t *items, jdbc_val_t v, sl_buf_t *out, char *errbuf,
                      size_t errbuf_size)
{
    sl_buf_addc(out, '{');
    sl_buf_t e = SL_BUF_INIT;
    jdbc_field_t item;
    jdbc_field_init(&item, items);
    const sl_jtok_t *t = v.doc->t;
    uint32_t end = t[v.tok].next;
    for (uint32_t x = (uint32_t)v.tok + 1; x < end; x = t[x].next) {
        if (x != (uint32_t)v.tok + 1)
            sl_buf_addc(out, ',');
        bool isnull = false, blob = false;
        sl_buf_reset(&e);
        if (jdbc_field_value(JDBC_PG, &item, (jdbc_val_t){v.doc, (int)x}, &e, &isnull, &blob,
                             errbuf, errbuf_size) != 0) {
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

/* Logical names whose values are converted, in the order value_text() used to test them. */
static const struct {
    const char *name;
    uint8_t kind;
} kinds[] = {
    {"org.apache.kafka.connect.data.Decimal", JDBC_K_DECIMAL},
    {"io.debezium.data.VariableScaleDecimal", JDBC_K_VSDECIMAL},
    {"io.debezium.time.Date", JDBC_K_DATE},
    {"org.apache.kafka.connect.data.Date", JDBC_K_DATE},
    {"io.debezium.time.Time", JDBC_K_TIME_MS},
    {"org.apache.kafka.connect.data.Time", JDBC_K_TIME_MS},
    {"io.debezium.time.MicroTime", JDBC_K_TIME_US},
    {"io.debezium.time.NanoTime", JDBC_K_TIME_NS},
    {"io.debezium.time.Timestamp", JDBC_K_TS_MS},
    {"org.apache.kafka.connect.data.Timestamp", JDBC_K_TS_MS},
    {"io.debezium.time.MicroTimestamp", JDBC_K_TS_US},
    {"io.debezium.time.NanoTimestamp", JDBC_K_TS_NS},
    {"io.debezium.time.MicroDuration", JDBC_K_DURATION},
    {"io.debezium.time.ZonedTimestamp", JDBC_K_ZONED_TS},
    {"io.debezium.time.ZonedTime", JDBC_K_ZONED_TIME},
};

void jdbc_field_init(jdbc_field_t *f, const json_t *schema)
{
    f->schema = schema;
    f->type = str_of(schema, "type");
    f->name = str_of(schema, "name");
    f->kind = JDBC_K_PLAIN;
    for (size_t i = 0; f->name && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(f->name, kinds[i].name) == 0) {
            f->kind = kinds[i].kind;
            break;
        }
    const char *sc = f->kind == JDBC_K_DECIMAL ? param_of(schema, "scale") : NULL;
    f->scale = sc ? strtol(sc, NULL, 10) : 0;
    f->is_bytes = f->type && strcmp(f->type, "bytes") == 0;
    f->is_array = f->type && strcmp(f->type, "array") == 0;
    f->items = f->is_array ? json_object_get(schema, "items") : NULL;
}

static int value_text(jdbc_dialect_t dialect, const jdbc_field_t *f, jdbc_val_t v, int vt,
                      sl_buf_t *out, bool *is_blob, sl_buf_t *tmp, char *errbuf,
                      size_t errbuf_size);

int jdbc_field_value(jdbc_dialect_t dialect, const jdbc_field_t *f, jdbc_val_t v, sl_buf_t *out,
                     bool *is_null, bool *is_blob, char *errbuf, size_t errbuf_size)
{
    *is_null = false;
    *is_blob = false;
    int vt = tok_type(v);
    if (vt == SL_JT_NULL) {
        *is_null = true;
        return 0;
    }
    sl_buf_t tmp = SL_BUF_INIT; /* unescaped strings (rare: only strings with escapes) */
    int rc = value_text(dialect, f, v, vt, out, is_blob, &tmp, errbuf, errbuf_size);
    sl_buf_free(&tmp);
    return rc;
}

int jdbc_value(jdbc_dialect_t dialect, const json_t *schema, jdbc_val_t v, sl_buf_t *out,
               bool *is_null, bool *is_blob, char *errbuf, size_t errbuf_size)
{
    jdbc_field_t f;
    jdbc_field_init(&f, schema);
    return jdbc_field_value(dialect, &f, v, out, is_null, is_blob, errbuf, errbuf_size);
}

/* Decimal and VariableScaleDecimal: base64 two's-complement bytes (or a number with
 * decimal.handling.mode=double). */
static int decimal_value(const jdbc_field_t *f, jdbc_val_t v, sl_buf_t *out, sl_buf_t *tmp,
                         char *errbuf, size_t errbuf_size)
{
    const char *sp;
    size_t sn;
    jdbc_val_t bytes = v;
    long scale = f->scale;
    if (f->kind == JDBC_K_VSDECIMAL) { /* {"scale":..,"value":base64} */
        int64_t s;
        bytes.tok = sl_jdoc_get(v.doc, v.tok, "value", 5, NULL);
        if (!get_int((jdbc_val_t){v.doc, sl_jdoc_get(v.doc, v.tok, "scale", 5, NULL)}, &s))
            BAD("variable scale decimal without a scale");
        scale = (long)s;
    }
    if (tok_type(bytes) == SL_JT_STR) {
        size_t len;
        if (!get_str(bytes, tmp, &sp, &sn))
            BAD("out of memory");
        uint8_t small[48];
        uint8_t *raw = b64_decode_into(sp, sn, small, sizeof small, &len);
        if (!raw)
            BAD("decimal value is not valid base64");
        int rc = decimal_text(raw, len, scale, out);
        if (raw != small)
            free(raw);
        if (rc != 0)
            BAD("out of memory");
        return 0;
    }
    if (tok_type(bytes) == SL_JT_NUM) { /* decimal.handling.mode=double */
        raw_text(bytes, out);
        return 0;
    }
    BAD("decimal value is neither base64 bytes nor a number");
}

/* Date, Time*, Timestamp*, MicroDuration: integers in their unit. */
static int temporal_value(jdbc_dialect_t dialect, const jdbc_field_t *f, jdbc_val_t v,
                          sl_buf_t *out, char *errbuf, size_t errbuf_size)
{
    int64_t n;
    if (f->kind == JDBC_K_DATE) {
        if (!get_int(v, &n))
            BAD("date value is not an integer");
        bool bc;
        if (!date_text(dialect, n, out, &bc))
            BAD("date %" PRId64 " days from 1970-01-01 is outside the target's DATE range", n);
        if (bc)
            sl_buf_adds(out, " BC");
        return 0;
    }
    if (f->kind == JDBC_K_DURATION) {
        if (!get_int(v, &n))
            BAD("duration value is not an integer");
        sl_buf_printf(out, dialect == JDBC_PG ? "%" PRId64 " microseconds" : "%" PRId64, n);
        return 0;
    }
    /* to microseconds: >0 multiply, <0 divide */
    int64_t unit = f->kind == JDBC_K_TIME_MS || f->kind == JDBC_K_TS_MS ? 1000
                   : f->kind == JDBC_K_TIME_NS || f->kind == JDBC_K_TS_NS ? -1000
                                                                           : 1;
    bool is_time = f->kind == JDBC_K_TIME_MS || f->kind == JDBC_K_TIME_US ||
                   f->kind == JDBC_K_TIME_NS;
    if (!get_int(v, &n))
        BAD("%s value is not an integer", f->name);
    int64_t us = unit > 0 ? n * unit : floordiv(n, -unit);
    if (is_time) {
        if (us < 0 || us > 86400000000LL)
            BAD("time value %" PRId64 " is out of range", n);
        time_text(us, out);
    } else if (!timestamp_text(dialect, us, out)) {
        BAD("timestamp %" PRId64 " is outside the target's DATETIME range", n);
    }
    return 0;
}

static int value_text(jdbc_dialect_t dialect, const jdbc_field_t *f, jdbc_val_t v, int vt,
                      sl_buf_t *out, bool *is_blob, sl_buf_t *tmp, char *errbuf,
                      size_t errbuf_size)
{
    const char *sp;
    size_t sn;
    if (!f->type)
        BAD("field schema without a type");
    switch (f->kind) {
    case JDBC_K_DECIMAL:
    case JDBC_K_VSDECIMAL: return decimal_value(f, v, out, tmp, errbuf, errbuf_size);
    case JDBC_K_DATE:
    case JDBC_K_TIME_MS:
    case JDBC_K_TIME_US:
    case JDBC_K_TIME_NS:
    case JDBC_K_TS_MS:
    case JDBC_K_TS_US:
    case JDBC_K_TS_NS:
    case JDBC_K_DURATION: return temporal_value(dialect, f, v, out, errbuf, errbuf_size);
    case JDBC_K_ZONED_TS:
    case JDBC_K_ZONED_TIME:
        if (dialect == JDBC_MY && vt == SL_JT_STR) {
            bool ts = f->kind == JDBC_K_ZONED_TS;
            if (!get_str(v, tmp, &sp, &sn))
                BAD("out of memory");
            if (!(ts ? zoned_ts_utc : zoned_time_utc)(sp, sn, out))
                BAD("'%.*s' is not a %s the target can store", (int)(sn > 64 ? 64 : sn), sp,
                    ts ? "timestamp with time zone" : "time with time zone");
            return 0;
        }
        break;
    default: break;
    }
    if (vt == SL_JT_STR) {
        if (!get_str(v, tmp, &sp, &sn))
            BAD("out of memory");
        if (f->is_bytes) {
            size_t len;
            uint8_t *raw = b64_decode_into(sp, sn, NULL, 0, &len);
            if (!raw)
                BAD("bytes value is not valid base64");
            if (dialect == JDBC_PG) {
                static const char hex[] = "0123456789abcdef";
                sl_buf_adds(out, "\\x");
                for (size_t i = 0; i < len; i++) {
                    sl_buf_addc(out, hex[raw[i] >> 4]);
                    sl_buf_addc(out, hex[raw[i] & 15]);
                }
            } else {
                sl_buf_add(out, raw, len);
                *is_blob = true;
            }
            free(raw);
            return 0;
        }
        /* strings; also NaN/Infinity, which the converter writes as strings */
        sl_buf_add(out, sp, sn);
        return 0;
    }
    if (vt == SL_JT_TRUE || vt == SL_JT_FALSE) {
        if (dialect == JDBC_PG)
            sl_buf_adds(out, vt == SL_JT_TRUE ? "true" : "false");
        else
            sl_buf_adds(out, vt == SL_JT_TRUE ? "1" : "0");
        return 0;
    }
    if (vt == SL_JT_NUM) { /* the writer's shortest round-trip text, digits kept exactly */
        raw_text(v, out);
        return 0;
    }
    if (dialect == JDBC_PG && vt == SL_JT_ARR && f->is_array)
        return array_text(f->items, v, out, errbuf, errbuf_size);
    /* arrays outside PostgreSQL, struct/map without a column form: their JSON text */
    raw_text(v, out);
    return 0;
}

bool jdbc_is_unavailable(jdbc_val_t v)
{
    static const char ph[] = JDBC_UNAVAILABLE;
    static const char ph64[] = "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==";
    int vt = tok_type(v);
    if (vt == SL_JT_STR)
        return sl_jdoc_streq(v.doc, v.tok, ph, sizeof ph - 1) ||
               sl_jdoc_streq(v.doc, v.tok, ph64, sizeof ph64 - 1);
    if (vt != SL_JT_ARR || v.doc->t[v.tok].count == 0)
        return false;
    const sl_jtok_t *t = v.doc->t;
    int first = v.tok + 1;
    if (t[first].type == SL_JT_STR)
        return t[v.tok].count == 1 && sl_jdoc_streq(v.doc, first, ph, sizeof ph - 1);
    if (t[v.tok].count != sizeof ph - 1)
        return false;
    int x = first;
    for (size_t i = 0; i < sizeof ph - 1; i++, x = (int)t[x].next) {
        int64_t b;
        if (!sl_jdoc_i64(v.doc, x, &b) || b != (unsigned char)ph[i])
            return false;
    }
    return true;
}
