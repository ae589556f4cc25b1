/*
 * mytypes.c — MySQL/MariaDB column values to Debezium JSON, from binlog row images
 * and from the text protocol, and their field schemas.
 *
 * What: one converter (my_conv_t) per column, resolved once from a my_coldef_t (the
 * TABLE_MAP wire type + metadata, or the same description rebuilt from
 * information_schema by my_coldef_from_decl), renders every value as Debezium's MySQL
 * connector does with its defaults (decimal.handling.mode=precise,
 * time.precision.mode=adaptive_time_microseconds, bigint.unsigned.handling.mode=long,
 * binary.handling.mode=bytes) through Kafka Connect's JsonConverter, and writes the
 * matching field schema.
 *
 * How: my_conv_new() maps (type, meta, signedness, charset) to a small `kind` and
 * precomputes what the metadata decides (storage sizes, length-prefix widths, decimal
 * precision/scale, fractional-second precision, the character set's decoder, ENUM/SET
 * labels converted to UTF-8). The binlog and text paths then each decode their wire
 * form into the same intermediate values (an integer, a decimal digit string, a
 * broken-down date and time, a byte string) and share one renderer per kind, so the
 * two paths cannot drift apart on formatting. Mapping decisions that are ours, not
 * Debezium's documentation's, are noted at the code:
 *   - TINYINT(1)/BOOLEAN is int16 (the binlog cannot tell it from TINYINT);
 *   - BIGINT UNSIGNED wraps into int64 (18446744073709551615 -> -1), as "long" mode;
 *   - FLOAT is float32 ("float"), DOUBLE float64 ("double");
 *   - YEAR 0 is 0 (the binlog byte 0 means year 0000, not 1900);
 *   - TIMESTAMP(n) prints exactly n fraction digits, none for n = 0 (as pgtypes.c
 *     does for timestamptz, Debezium >= 2.2);
 *   - a date with a zero year, month or day is a zero date (invariant 3), as
 *     Debezium's binlog deserializer returns null for any of them;
 *   - CHAR loses its trailing spaces and BINARY(n) is padded with 0x00 to n on both
 *     paths;
 *   - MySQL's binary JSON is printed compactly ({"a":1}); text JSON from a SELECT is
 *     compacted the same way (whitespace outside strings removed) so both agree;
 *     doubles inside binary JSON use Java's Double.toString form (sl_json_f64);
 *   - MariaDB's JSON is LONGTEXT: a plain string without the Json schema name;
 *   - ENUM/SET labels are kept in the column's character set (as TABLE_MAP carries
 *     them) and converted to UTF-8 here; my_coldef_from_decl converts the UTF-8 labels
 *     of information_schema into the column's character set so both coldefs match.
 *
 * Invariants (see also mytypes.h):
 *  1. No read past `avail`/`len`: each decoder checks the bytes it needs first.
 *  2. my_conv_binlog_value / my_conv_text_value either append one complete JSON value
 *     and return SL_OK, or append nothing (out->len is restored) and return an error.
 *  3. A converter is immutable after my_conv_new() apart from the zero-date counter.
 *  4. my_row_decode appends a complete object or nothing.
 *
 * References: MySQL/MariaDB server sql/log_event.cc (log_event_print_value),
 * strings/decimal.c (decimal2bin), sql-common/my_time.c (TIME_to_longlong_*_packed,
 * my_*_packed_from_binary), sql/json_binary.h (binary JSON layout); Debezium MySQL
 * connector documentation "Data type mappings"; Kafka JsonConverter.asJsonSchema.
 */
#include "source/mysql/mytypes.h"

#include <errno.h>
#include <iconv.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/civil.h"
#include "core/json.h"

#define MAX_DECIMAL_DIGITS 65
#define MAX_JSON_DEPTH 100

enum conv_kind {
    K_INT,
    K_BIT_BOOL, /* BIT(1) */
    K_BITS,     /* BIT(n > 1): io.debezium.data.Bits */
    K_YEAR,
    K_DECIMAL,
    K_FLOAT,
    K_DOUBLE,
    K_STRING,
    K_BYTES,
    K_DATE,
    K_DATETIME,
    K_TIMESTAMP,
    K_TIME,
    K_ENUM,
    K_SET,
    K_JSON,
    K_GEOMETRY,
};

enum cs_kind { CS_RAW, CS_UTF8, CS_LATIN1, CS_ICONV };

struct my_conv {
    uint8_t kind;
    uint8_t type;      /* wire type */
    uint8_t dmode;     /* K_DECIMAL: MY_DECIMAL_* */
    uint8_t cs;        /* K_STRING, K_ENUM, K_SET: enum cs_kind */
    bool is_unsigned;
    bool nullable;
    bool strip_spaces; /* CHAR */
    bool micro;        /* K_DATETIME: MicroTimestamp (fsp > 3) */
    bool legacy;       /* TIMESTAMP/DATETIME/TIME without fraction (types 7, 12, 11) */
    uint8_t int_bytes; /* K_INT storage size */
    uint8_t schema_bits; /* K_INT: 16, 32 or 64 */
    uint8_t fsp;       /* fractional second precision */
    uint8_t len_bytes; /* width of the binlog length prefix; 0 = fixed size */
    uint32_t fixed_len; /* K_BYTES from BINARY(n): pad to n; K_BITS/BIT_BOOL/ENUM/SET: bytes */
    uint32_t bits;     /* K_BITS: length in bits */
    int precision, scale; /* K_DECIMAL */
    char *iconv_name;  /* CS_ICONV */
    char **labels;     /* K_ENUM, K_SET: UTF-8 */
    uint32_t *label_len;
    uint32_t nlabels;
    char *allowed;     /* labels joined by ',' */
    char *name;
    _Atomic uint64_t zero_dates;
};

/* ---- small helpers ------------------------------------------------------------------- */

static void set_err(char *errstr, size_t errstr_size, const char *col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_err(char *errstr, size_t errstr_size, const char *col, const char *fmt, ...)
{
    if (!errstr || !errstr_size)
        return;
    int k = col ? snprintf(errstr, errstr_size, "column \"%s\": ", col) : 0;
    if (k < 0 || (size_t)k >= errstr_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr + k, errstr_size - (size_t)k, fmt, ap);
    va_end(ap);
}

#define CERR(c, ...) set_err(errstr, errstr_size, (c)->name, __VA_ARGS__)

static inline void add_lit(sl_buf_t *o, const char *s, size_t n) { sl_buf_add(o, s, n); }
#define ADD(o, lit) add_lit((o), (lit), sizeof(lit) - 1)

static inline bool is_digit(char c) { return (unsigned char)(c - '0') <= 9; }

static inline uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static inline uint32_t le24(const uint8_t *p) { return le16(p) | (uint32_t)p[2] << 16; }
static inline uint32_t le32(const uint8_t *p) { return le24(p) | (uint32_t)p[3] << 24; }
static inline uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }
static inline uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static inline uint32_t be24(const uint8_t *p) { return (uint32_t)p[0] << 16 | be16(p + 1); }
static inline uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | be24(p + 1); }
static inline uint64_t be40(const uint8_t *p) { return (uint64_t)p[0] << 32 | be32(p + 1); }
static inline uint64_t be48(const uint8_t *p) { return (uint64_t)be24(p) << 24 | be24(p + 3); }

static uint64_t le_n(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static char *dup_mem(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static void restore(sl_buf_t *o, size_t mark)
{
    o->len = mark;
    if (o->data)
        o->data[mark] = 0;
}

/* ---- character sets ---------------------------------------------------------------------- */

/* MySQL's latin1 is cp1252, except that the five positions cp1252 leaves undefined
 * (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to the C1 controls of the same number. */
static const uint16_t latin1_80_9f[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

/* MySQL character set names -> iconv names, for those whose names differ. */
static const struct {
    const char *my, *iconv;
} iconv_names[] = {
    {"sjis", "SHIFT_JIS"},     {"cp932", "CP932"},        {"ujis", "EUC-JP"},
    {"eucjpms", "EUC-JP-MS"},  {"gbk", "GBK"},            {"gb2312", "GB2312"},
    {"gb18030", "GB18030"},    {"big5", "BIG5"},          {"euckr", "EUC-KR"},
    {"utf16", "UTF-16BE"},     {"utf16le", "UTF-16LE"},   {"utf32", "UTF-32BE"},
    {"ucs2", "UCS-2BE"},       {"latin2", "ISO-8859-2"},  {"latin5", "ISO-8859-9"},
    {"latin7", "ISO-8859-13"}, {"greek", "ISO-8859-7"},   {"hebrew", "ISO-8859-8"},
    {"koi8r", "KOI8-R"},       {"koi8u", "KOI8-U"},       {"tis620", "TIS-620"},
    {"macroman", "MACINTOSH"}, {"macce", "MAC-CENTRALEUROPE"}, {"armscii8", "ARMSCII-8"},
    {"geostd8", "GEORGIAN-PS"}, {"cp1250", "CP1250"},     {"cp1251", "CP1251"},
    {"cp1256", "CP1256"},      {"cp1257", "CP1257"},      {"cp850", "CP850"},
    {"cp852", "CP852"},        {"cp866", "CP866"},        {"keybcs2", "KEYBCS2"},
    {"dec8", "DEC-MCS"},       {"hp8", "HP-ROMAN8"},
};

/* Resolves a charset name. *iconv_name is malloc'd for CS_ICONV. */
static int cs_resolve(const char *name, uint8_t *cs, char **iconv_name)
{
    *iconv_name = NULL;
    if (!name || strcasecmp(name, "binary") == 0) {
        *cs = CS_RAW;
        return SL_OK;
    }
    if (strcasecmp(name, "utf8mb4") == 0 || strcasecmp(name, "utf8mb3") == 0 ||
        strcasecmp(name, "utf8") == 0 || strcasecmp(name, "ascii") == 0) {
        *cs = CS_UTF8;
        return SL_OK;
    }
    if (strcasecmp(name, "latin1") == 0) {
        *cs = CS_LATIN1;
        return SL_OK;
    }
    const char *in = name;
    for (size_t i = 0; i < sizeof iconv_names / sizeof iconv_names[0]; i++)
        if (strcasecmp(name, iconv_names[i].my) == 0)
            in = iconv_names[i].iconv;
    iconv_t cd = iconv_open("UTF-8", in);
    if (cd == (iconv_t)-1)
        return SL_ERR_UNSUPPORTED;
    iconv_close(cd);
    *iconv_name = dup_mem(in, strlen(in));
    if (!*iconv_name)
        return SL_ERR_NOMEM;
    *cs = CS_ICONV;
    return SL_OK;
}

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += k + 1;
    }
    return true;
}

static size_t put_utf8(uint8_t *w, uint32_t cp)
{
    if (cp < 0x80) {
        w[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        w[0] = (uint8_t)(0xC0 | cp >> 6);
        w[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    w[0] = (uint8_t)(0xE0 | cp >> 12);
    w[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    w[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
}

/* Converts s into UTF-8 in *dst (malloc'd when it does not fit `stack`). */
static int to_utf8(uint8_t cs, const char *iconv_name, const uint8_t *s, size_t n, uint8_t *stack,
                   size_t stack_size, uint8_t **dst, size_t *dlen)
{
    *dst = NULL;
    *dlen = 0;
    if (cs == CS_RAW || cs == CS_UTF8) {
        if (cs == CS_UTF8 && !utf8_valid(s, n))
            return SL_ERR_PROTO;
        *dst = (uint8_t *)s;
        *dlen = n;
        return SL_OK;
    }
    if (n > (SIZE_MAX - 16) / 4)
        return SL_ERR_NOMEM;
    size_t cap = cs == CS_LATIN1 ? n * 3 : n * 4 + 16;
    uint8_t *w = cap <= stack_size ? stack : malloc(cap ? cap : 1);
    if (!w)
        return SL_ERR_NOMEM;
    if (cs == CS_LATIN1) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            uint8_t c = s[i];
            uint32_t cp = c >= 0x80 && c <= 0x9F ? latin1_80_9f[c - 0x80] : c;
            k += put_utf8(w + k, cp);
        }
        *dst = w;
        *dlen = k;
        return SL_OK;
    }
    iconv_t cd = iconv_open("UTF-8", iconv_name);
    if (cd == (iconv_t)-1) {
        if (w != stack)
            free(w);
        return SL_ERR_UNSUPPORTED;
    }
    char *in = (char *)s, *outp = (char *)w;
    size_t inleft = n, outleft = cap;
    size_t r = iconv(cd, &in, &inleft, &outp, &outleft);
    if (r != (size_t)-1)
        r = iconv(cd, NULL, NULL, &outp, &outleft);
    iconv_close(cd);
    if (r == (size_t)-1 || inleft != 0) {
        if (w != stack)
            free(w);
        return SL_ERR_PROTO;
    }
    *dst = w;
    *dlen = cap - outleft;
    return SL_OK;
}

/* UTF-8 -> the column's character set (labels of information_schema, see
 * my_coldef_from_decl). *dst is always malloc'd and NUL-terminated. */
static int from_utf8(const char *charset, const char *s, size_t n, char **dst)
{
    uint8_t cs;
    char *iname;
    *dst = NULL;
    int rc = cs_resolve(charset, &cs, &iname);
    if (rc)
        return rc;
    if (cs == CS_RAW || cs == CS_UTF8) {
        *dst = dup_mem(s, n);
        return *dst ? SL_OK : SL_ERR_NOMEM;
    }
    if (cs == CS_LATIN1) {
        char *w = malloc(n + 1);
        if (!w)
            return SL_ERR_NOMEM;
        size_t k = 0;
        const uint8_t *u = (const uint8_t *)s;
        for (size_t i = 0; i < n;) {
            uint32_t cp;
            if (u[i] < 0x80) {
                cp = u[i++];
            } else if ((u[i] & 0xE0) == 0xC0 && i + 1 < n) {
                cp = (uint32_t)(u[i] & 0x1F) << 6 | (u[i + 1] & 0x3F);
                i += 2;
            } else if ((u[i] & 0xF0) == 0xE0 && i + 2 < n) {
                cp = (uint32_t)(u[i] & 0x0F) << 12 | (uint32_t)(u[i + 1] & 0x3F) << 6 |
                     (u[i + 2] & 0x3F);
                i += 3;
            } else {
                free(w);
                return SL_ERR_PROTO;
            }
            int b = -1;
            if (cp < 0x80 || (cp >= 0xA0 && cp <= 0xFF)) {
                b = (int)cp;
            } else {
                for (int j = 0; j < 32; j++)
                    if (latin1_80_9f[j] == cp)
                        b = 0x80 + j;
            }
            if (b < 0) {
                free(w);
                return SL_ERR_PROTO;
            }
            w[k++] = (char)b;
        }
        w[k] = 0;
        *dst = w;
        return SL_OK;
    }
    iconv_t cd = iconv_open(iname, "UTF-8");
    free(iname);
    if (cd == (iconv_t)-1)
        return SL_ERR_UNSUPPORTED;
    size_t cap = n * 4 + 16;
    char *w = malloc(cap + 1);
    if (!w) {
        iconv_close(cd);
        return SL_ERR_NOMEM;
    }
    char *in = (char *)s, *outp = w;
    size_t inleft = n, outleft = cap;
    size_t r = iconv(cd, &in, &inleft, &outp, &outleft);
    iconv_close(cd);
    if (r == (size_t)-1 || inleft) {
        free(w);
        return SL_ERR_PROTO;
    }
    *outp = 0;
    *dst = w;
    return SL_OK;
}

/* Appends the column's text as a JSON string. */
static int emit_text(const my_conv_t *c, sl_buf_t *o, const uint8_t *s, size_t n, char *errstr,
                     size_t errstr_size)
{
    uint8_t stack[1024];
    uint8_t *u;
    size_t un;
    int rc = to_utf8(c->cs, c->iconv_name, s, n, stack, sizeof stack, &u, &un);
    if (rc == SL_ERR_NOMEM) {
        CERR(c, "out of memory");
        return rc;
    }
    if (rc) {
        CERR(c, "value is not valid in the column's character set");
        return SL_ERR_PROTO;
    }
    if (c->strip_spaces)
        while (un > 0 && u[un - 1] == ' ')
            un--;
    sl_json_str(o, (const char *)u, un);
    if (u != stack && u != s)
        free(u);
    return SL_OK;
}

/* ---- dates ---------------------------------------------------------------------------------- */

/* A broken-down DATE/DATETIME/TIMESTAMP. */
typedef struct dt {
    unsigned y, m, d, h, mi, s;
    uint32_t us;
} dt_t;

static bool dt_is_zero(const dt_t *t) { return t->y == 0 || t->m == 0 || t->d == 0; }

static bool dt_check(const dt_t *t)
{
    return t->y <= 9999 && t->m <= 12 && t->d <= 31 && t->h <= 23 && t->mi <= 59 && t->s <= 59 &&
           t->us <= 999999;
}

static int64_t dt_epoch_sec(const dt_t *t)
{
    return sl_days_from_civil(t->y, t->m, t->d) * 86400 + t->h * 3600 + t->mi * 60 + t->s;
}

static char *put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

static char *put_frac(char *p, uint32_t us, int width)
{
    char f[6];
    for (int i = 5; i >= 0; i--) {
        f[i] = (char)('0' + us % 10);
        us /= 10;
    }
    if (width <= 0)
        return p;
    *p++ = '.';
    memcpy(p, f, (size_t)width);
    return p + width;
}

/* Invariant 3: null for a nullable column, the epoch value otherwise; counted. */
static void emit_zero_date(const my_conv_t *c, sl_buf_t *o)
{
    atomic_fetch_add_explicit(&((my_conv_t *)c)->zero_dates, 1, memory_order_relaxed);
    if (c->nullable) {
        sl_json_null(o);
    } else if (c->kind == K_TIMESTAMP) {
        char tmp[40], *p = tmp;
        p += sprintf(p, "\"1970-01-01T00:00:00");
        p = put_frac(p, 0, c->fsp);
        *p++ = 'Z';
        *p++ = '"';
        sl_buf_add(o, tmp, (size_t)(p - tmp));
    } else {
        sl_buf_addc(o, '0');
    }
}

static void emit_date(const my_conv_t *c, sl_buf_t *o, const dt_t *t)
{
    if (dt_is_zero(t)) {
        emit_zero_date(c, o);
        return;
    }
    sl_json_i64(o, sl_days_from_civil(t->y, t->m, t->d));
}

static void emit_datetime(const my_conv_t *c, sl_buf_t *o, const dt_t *t)
{
    if (dt_is_zero(t)) {
        emit_zero_date(c, o);
        return;
    }
    int64_t sec = dt_epoch_sec(t);
    if (c->micro)
        sl_json_i64(o, sec * 1000000 + t->us);
    else
        sl_json_i64(o, sec * 1000 + t->us / 1000); /* Instant.toEpochMilli(): floor */
}

/* io.debezium.time.ZonedTimestamp in UTC from epoch seconds. */
static void emit_zoned(const my_conv_t *c, sl_buf_t *o, int64_t sec, uint32_t us)
{
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t tod = sec - days * 86400;
    int64_t y;
    unsigned m, d;
    sl_civil_from_days(days, &y, &m, &d);
    char tmp[48], *p = tmp;
    *p++ = '"';
    if (y >= 0 && y <= 9999) { /* TIMESTAMP's range; no printf on the hot path */
        p = put2(p, (unsigned)(y / 100));
        p = put2(p, (unsigned)(y % 100));
        *p++ = '-';
    } else {
        p += sprintf(p, "%04d-", (int)y);
    }
    p = put2(p, m);
    *p++ = '-';
    p = put2(p, d);
    *p++ = 'T';
    p = put2(p, (unsigned)(tod / 3600));
    *p++ = ':';
    p = put2(p, (unsigned)(tod / 60 % 60));
    *p++ = ':';
    p = put2(p, (unsigned)(tod % 60));
    p = put_frac(p, us, c->fsp);
    *p++ = 'Z';
    *p++ = '"';
    sl_buf_add(o, tmp, (size_t)(p - tmp));
}

static void emit_timestamp_dt(const my_conv_t *c, sl_buf_t *o, const dt_t *t)
{
    if (dt_is_zero(t)) {
        emit_zero_date(c, o);
        return;
    }
    emit_zoned(c, o, dt_epoch_sec(t), t->us);
}

/* ---- decimals ------------------------------------------------------------------------------- */

/* A decimal value: the unscaled integer's decimal digits (leading zeros allowed) and the
 * scale. */
typedef struct dec {
    bool neg;
    int nd;
    int scale;
    char dig[MAX_DECIMAL_DIGITS + 2];
} dec_t;

static const int dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};

static size_t decimal_bin_size(int precision, int scale)
{
    int intg = precision - scale;
    return (size_t)((intg / 9) * 4 + dig2bytes[intg % 9] + (scale / 9) * 4 + dig2bytes[scale % 9]);
}

static void put_digits(dec_t *d, uint32_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        d->dig[d->nd + i] = (char)('0' + v % 10);
        v /= 10;
    }
    d->nd += n;
}

/* strings/decimal.c decimal2bin layout: big-endian groups of 9 digits in 4 bytes, the
 * partial groups in dig2bytes[] bytes, sign in the top bit (set = positive), negative
 * values stored inverted. */
static bool decimal_from_bin(const uint8_t *p, int precision, int scale, dec_t *d)
{
    static const uint32_t pow10[10] = {1,      10,      100,      1000,      10000,
                                       100000, 1000000, 10000000, 100000000, 1000000000};
    uint8_t b[40];
    size_t n = decimal_bin_size(precision, scale);
    memcpy(b, p, n);
    d->neg = !(b[0] & 0x80);
    b[0] ^= 0x80;
    if (d->neg)
        for (size_t i = 0; i < n; i++)
            b[i] = (uint8_t)~b[i];
    int intg = precision - scale;
    int groups[4] = {intg % 9, intg / 9, scale / 9, scale % 9};
    size_t pos = 0;
    d->nd = 0;
    d->scale = scale;
    for (int g = 0; g < 4; g++) {
        int count = g == 1 || g == 2 ? groups[g] : (groups[g] ? 1 : 0);
        int digits = g == 1 || g == 2 ? 9 : groups[g];
        for (int k = 0; k < count; k++) {
            int nb = dig2bytes[digits];
            uint32_t v = 0;
            for (int j = 0; j < nb; j++)
                v = v << 8 | b[pos++];
            if (v >= pow10[digits])
                return false;
            put_digits(d, v, digits);
        }
    }
    return true;
}

/* "[-]ddd[.ddd]" at the column's scale. */
static bool decimal_from_text(const char *s, size_t n, int scale, dec_t *d)
{
    const char *p = s, *end = s + n;
    d->neg = false;
    if (p < end && (*p == '-' || *p == '+'))
        d->neg = *p++ == '-';
    d->nd = 0;
    d->scale = scale;
    const char *ip = p;
    while (p < end && *p == '0')
        p++; /* leading zeros do not count against the digit budget */
    bool any = p > ip;
    while (p < end && is_digit(*p)) {
        if (d->nd >= MAX_DECIMAL_DIGITS)
            return false;
        d->dig[d->nd++] = *p++;
        any = true;
    }
    int fn = 0;
    if (p < end && *p == '.') {
        p++;
        while (p < end && is_digit(*p)) {
            if (fn >= scale) {
                if (*p != '0') /* a value of a decimal(p,s) column never has more */
                    return false;
                p++;
                continue;
            }
            if (d->nd >= MAX_DECIMAL_DIGITS)
                return false;
            d->dig[d->nd++] = *p++;
            fn++;
            any = true;
        }
    }
    if (p != end || !any)
        return false;
    for (; fn < scale; fn++) {
        if (d->nd >= MAX_DECIMAL_DIGITS + 1)
            return false;
        d->dig[d->nd++] = '0';
    }
    return true;
}

/* BigInteger.toByteArray() of the unscaled value (minimal big-endian two's complement),
 * as base64. 66 decimal digits fit in 28 bytes. */
static void emit_unscaled(sl_buf_t *o, const dec_t *d)
{
    if (d->nd <= 18) {
        /* fast path: the unscaled value fits in 64 bits; minimal big-endian two's complement */
        int64_t v = 0;
        for (int i = 0; i < d->nd; i++)
            v = v * 10 + (d->dig[i] - '0');
        if (d->neg)
            v = -v;
        uint8_t be[8];
        for (int i = 7; i >= 0; i--)
            be[i] = (uint8_t)((uint64_t)v >> (8 * (7 - i)));
        int start = 0;
        while (start < 7 && ((be[start] == 0x00 && !(be[start + 1] & 0x80)) ||
                             (be[start] == 0xFF && (be[start + 1] & 0x80))))
            start++;
        sl_json_base64(o, be + start, (size_t)(8 - start));
        return;
    }
    uint8_t mag[40];
    memset(mag, 0, sizeof mag);
    bool zero = true;
    for (int i = 0; i < d->nd; i++) {
        unsigned carry = (unsigned)(d->dig[i] - '0');
        if (carry)
            zero = false;
        for (int j = (int)sizeof mag - 1; j >= 0; j--) {
            unsigned v = mag[j] * 10u + carry;
            mag[j] = (uint8_t)v;
            carry = v >> 8;
        }
    }
    size_t nb = sizeof mag, start = 1; /* mag[0] is always 0: room for a sign byte */
    while (start < nb && mag[start] == 0)
        start++;
    if (zero || start == nb) {
        uint8_t z = 0;
        sl_json_base64(o, &z, 1);
        return;
    }
    if (d->neg) {
        unsigned carry = 1;
        for (size_t j = nb; j-- > start;) {
            unsigned v = (uint8_t)~mag[j] + carry;
            mag[j] = (uint8_t)v;
            carry = v >> 8;
        }
        if (!(mag[start] & 0x80))
            mag[--start] = 0xFF;
    } else if (mag[start] & 0x80) {
        mag[--start] = 0;
    }
    sl_json_base64(o, mag + start, nb - start);
}

/* BigDecimal.toString(): plain when the adjusted exponent >= -6, else scientific
 * ("1E-30", "0E-30", "1.5E-7"). The scale of a MySQL decimal is never negative. */
static void emit_bigdecimal_string(sl_buf_t *o, const dec_t *d)
{
    int i = 0;
    while (i + 1 < d->nd && d->dig[i] == '0')
        i++;
    const char *c = d->dig + i;
    int len = d->nd - i;
    if (len == 0) {
        c = "0";
        len = 1;
    }
    bool zero = len == 1 && c[0] == '0';
    int64_t adjusted = -(int64_t)d->scale + (len - 1);
    sl_buf_addc(o, '"');
    if (d->neg && !zero)
        sl_buf_addc(o, '-');
    if (d->scale == 0) {
        sl_buf_add(o, c, (size_t)len);
    } else if (adjusted >= -6) {
        if (len > d->scale) {
            sl_buf_add(o, c, (size_t)(len - d->scale));
            sl_buf_addc(o, '.');
            sl_buf_add(o, c + len - d->scale, (size_t)d->scale);
        } else {
            ADD(o, "0.");
            for (int k = 0; k < d->scale - len; k++)
                sl_buf_addc(o, '0');
            sl_buf_add(o, c, (size_t)len);
        }
    } else {
        sl_buf_addc(o, c[0]);
        if (len > 1) {
            sl_buf_addc(o, '.');
            sl_buf_add(o, c + 1, (size_t)len - 1);
        }
        sl_buf_addc(o, 'E');
        if (adjusted > 0)
            sl_buf_addc(o, '+');
        sl_json_i64(o, adjusted);
    }
    sl_buf_addc(o, '"');
}

/* Plain "[-]int.frac" text (MySQL's own form), for double mode and JSON opaque values. */
static size_t decimal_plain(const dec_t *d, char *buf)
{
    char *p = buf;
    int intn = d->nd - d->scale;
    int i = 0;
    while (i < intn - 1 && d->dig[i] == '0')
        i++;
    if (d->neg)
        *p++ = '-';
    if (intn <= 0)
        *p++ = '0';
    else {
        memcpy(p, d->dig + i, (size_t)(intn - i));
        p += intn - i;
    }
    if (d->scale > 0) {
        *p++ = '.';
        memcpy(p, d->dig + (intn > 0 ? intn : 0), (size_t)d->scale);
        p += d->scale;
    }
    *p = 0;
    return (size_t)(p - buf);
}

static void emit_decimal(const my_conv_t *c, sl_buf_t *o, const dec_t *d)
{
    if (c->dmode == MY_DECIMAL_STRING) {
        emit_bigdecimal_string(o, d);
    } else if (c->dmode == MY_DECIMAL_DOUBLE) {
        char buf[MAX_DECIMAL_DIGITS + 8];
        decimal_plain(d, buf);
        sl_json_f64(o, strtod(buf, NULL)); /* correctly rounded, as BigDecimal.doubleValue */
    } else {
        emit_unscaled(o, d);
    }
}

/* ---- BIT and bytes ----------------------------------------------------------------------------- */

/* Debezium's Bits: little-endian bytes, exactly ceil(n/8) of them; the wire (binlog and
 * text) has them big-endian. */
static void emit_bits(const my_conv_t *c, sl_buf_t *o, const uint8_t *p, size_t n)
{
    uint8_t le[8];
    size_t nb = c->fixed_len;
    memset(le, 0, sizeof le);
    for (size_t i = 0; i < n && i < nb; i++)
        le[i] = p[n - 1 - i];
    sl_json_base64(o, le, nb);
}

static void emit_padded_bytes(const my_conv_t *c, sl_buf_t *o, const uint8_t *p, size_t n)
{
    if (c->fixed_len > n) {
        uint8_t stack[256];
        uint8_t *tmp = c->fixed_len <= sizeof stack ? stack : calloc(1, c->fixed_len);
        if (!tmp) {
            o->oom = true;
            return;
        }
        memcpy(tmp, p, n);
        memset(tmp + n, 0, c->fixed_len - n);
        sl_json_base64(o, tmp, c->fixed_len);
        if (tmp != stack)
            free(tmp);
        return;
    }
    sl_json_base64(o, p, n);
}

static int emit_geometry(const my_conv_t *c, sl_buf_t *o, const uint8_t *p, size_t n,
                         char *errstr, size_t errstr_size)
{
    if (n < 4) {
        CERR(c, "geometry value of %zu bytes has no SRID", n);
        return SL_ERR_PROTO;
    }
    ADD(o, "{\"wkb\":");
    sl_json_base64(o, p + 4, n - 4);
    ADD(o, ",\"srid\":");
    sl_json_i64(o, (int32_t)le32(p));
    sl_buf_addc(o, '}');
    return SL_OK;
}

/* ---- ENUM and SET -------------------------------------------------------------------------------- */

static int emit_enum(const my_conv_t *c, sl_buf_t *o, uint64_t idx, char *errstr, size_t errstr_size)
{
    if (idx == 0) { /* MySQL's "invalid value" member */
        ADD(o, "\"\"");
        return SL_OK;
    }
    if (idx > c->nlabels) {
        CERR(c, "enum index %llu out of range (%u members)", (unsigned long long)idx, c->nlabels);
        return SL_ERR_PROTO;
    }
    sl_json_str(o, c->labels[idx - 1], c->label_len[idx - 1]);
    return SL_OK;
}

static int emit_set(const my_conv_t *c, sl_buf_t *o, uint64_t bits, char *errstr, size_t errstr_size)
{
    if (c->nlabels < 64 && (bits >> c->nlabels) != 0) {
        CERR(c, "set bitmap has bits beyond its %u members", c->nlabels);
        return SL_ERR_PROTO;
    }
    sl_buf_addc(o, '"');
    bool first = true;
    for (uint32_t i = 0; i < c->nlabels && i < 64; i++) {
        if (!(bits >> i & 1))
            continue;
        if (!first)
            sl_buf_addc(o, ',');
        first = false;
        sl_json_str_body(o, c->labels[i], c->label_len[i]);
    }
    sl_buf_addc(o, '"');
    return SL_OK;
}

/* ---- MySQL binary JSON ------------------------------------------------------------------------------- */

enum {
    JB_SMALL_OBJ = 0, JB_LARGE_OBJ = 1, JB_SMALL_ARR = 2, JB_LARGE_ARR = 3, JB_LITERAL = 4,
    JB_INT16 = 5, JB_UINT16 = 6, JB_INT32 = 7, JB_UINT32 = 8, JB_INT64 = 9, JB_UINT64 = 10,
    JB_DOUBLE = 11, JB_STRING = 12, JB_OPAQUE = 15
};

typedef struct jb {
    sl_buf_t *o;
    char *errstr;
    size_t errstr_size;
} jb_t;

static int jb_fail(jb_t *j, const char *what)
{
    if (j->errstr && j->errstr_size)
        snprintf(j->errstr, j->errstr_size, "binary json: %s", what);
    return SL_ERR_PROTO;
}

/* Variable-length length: 7 bits per byte, low bits first, at most 5 bytes. */
static bool jb_varlen(const uint8_t *p, size_t n, uint32_t *v, size_t *used)
{
    uint64_t r = 0;
    for (size_t i = 0; i < 5 && i < n; i++) {
        r |= (uint64_t)(p[i] & 0x7F) << (7 * i);
        if (!(p[i] & 0x80)) {
            if (r > UINT32_MAX)
                return false;
            *v = (uint32_t)r;
            *used = i + 1;
            return true;
        }
    }
    return false;
}

/* Packed temporal (my_time.h TIME_to_longlong_*_packed) as MySQL prints it in JSON. */
static void jb_temporal(sl_buf_t *o, uint8_t ftype, int64_t packed)
{
    bool neg = packed < 0;
    uint64_t v = neg ? (uint64_t)0 - (uint64_t)packed : (uint64_t)packed;
    uint32_t frac = (uint32_t)(v % (1u << 24));
    uint64_t ip = v >> 24;
    char tmp[64];
    if (ftype == MY_T_TIME || ftype == MY_T_TIME2) {
        unsigned h = (unsigned)(ip >> 12 & 0x3FF), mi = (unsigned)(ip >> 6 & 0x3F), s = (unsigned)(ip & 0x3F);
        snprintf(tmp, sizeof tmp, "\"%s%02u:%02u:%02u.%06u\"", neg ? "-" : "", h, mi, s,
                 (unsigned)(frac % 1000000));
    } else {
        uint64_t ymd = ip >> 17, hms = ip % (1u << 17);
        uint64_t ym = ymd >> 5;
        unsigned d = (unsigned)(ymd % 32), m = (unsigned)(ym % 13), y = (unsigned)(ym / 13 % 100000);
        if (ftype == MY_T_DATE || ftype == MY_T_NEWDATE)
            snprintf(tmp, sizeof tmp, "\"%04u-%02u-%02u\"", y, m, d);
        else
            snprintf(tmp, sizeof tmp, "\"%04u-%02u-%02u %02u:%02u:%02u.%06u\"", y, m, d,
                     (unsigned)(hms >> 12), (unsigned)(hms >> 6 & 0x3F), (unsigned)(hms & 0x3F),
                     (unsigned)(frac % 1000000));
    }
    sl_buf_adds(o, tmp);
}

static int jb_value(jb_t *j, uint8_t type, const uint8_t *p, size_t n, int depth);

/* An object or array: p/n start at its element count. */
static int jb_container(jb_t *j, const uint8_t *p, size_t n, bool large, bool obj, int depth)
{
    if (depth > MAX_JSON_DEPTH)
        return jb_fail(j, "nested too deep");
    size_t w = large ? 4 : 2;
    if (n < 2 * w)
        return jb_fail(j, "truncated container header");
    uint32_t count = large ? le32(p) : le16(p);
    uint32_t size = large ? le32(p + w) : le16(p + w);
    if (size > n || size < 2 * w)
        return jb_fail(j, "container size out of range");
    size_t key_entry = w + 2, val_entry = 1 + w;
    /* the entries must fit in the container: bounds count before looping on it */
    uint64_t need = 2 * w + (uint64_t)count * ((obj ? key_entry : 0) + val_entry);
    if (need > size)
        return jb_fail(j, "too many elements for the container size");
    sl_buf_addc(j->o, obj ? '{' : '[');
    const uint8_t *keys = p + 2 * w;
    const uint8_t *vals = keys + (obj ? (size_t)count * key_entry : 0);
    for (uint32_t i = 0; i < count; i++) {
        if (i)
            sl_buf_addc(j->o, ',');
        if (obj) {
            const uint8_t *ke = keys + (size_t)i * key_entry;
            uint32_t koff = large ? le32(ke) : le16(ke);
            uint32_t klen = le16(ke + w);
            if (koff > size || klen > size - koff)
                return jb_fail(j, "key out of range");
            sl_json_str(j->o, (const char *)p + koff, klen);
            sl_buf_addc(j->o, ':');
        }
        const uint8_t *ve = vals + (size_t)i * val_entry;
        uint8_t t = ve[0];
        bool inl = t == JB_LITERAL || t == JB_INT16 || t == JB_UINT16 ||
                   (large && (t == JB_INT32 || t == JB_UINT32));
        int rc;
        if (inl) {
            rc = jb_value(j, t, ve + 1, w, depth + 1);
        } else {
            uint32_t voff = large ? le32(ve + 1) : le16(ve + 1);
            if (voff >= size)
                return jb_fail(j, "value out of range");
            rc = jb_value(j, t, p + voff, size - voff, depth + 1);
        }
        if (rc)
            return rc;
    }
    sl_buf_addc(j->o, obj ? '}' : ']');
    return SL_OK;
}

static int jb_value(jb_t *j, uint8_t type, const uint8_t *p, size_t n, int depth)
{
    sl_buf_t *o = j->o;
    switch (type) {
    case JB_SMALL_OBJ:
    case JB_LARGE_OBJ:
    case JB_SMALL_ARR:
    case JB_LARGE_ARR:
        return jb_container(j, p, n, type == JB_LARGE_OBJ || type == JB_LARGE_ARR,
                            type == JB_SMALL_OBJ || type == JB_LARGE_OBJ, depth);
    case JB_LITERAL:
        if (n < 1)
            return jb_fail(j, "truncated literal");
        if (p[0] == 0)
            sl_json_null(o);
        else if (p[0] == 1)
            sl_json_bool(o, 1);
        else if (p[0] == 2)
            sl_json_bool(o, 0);
        else
            return jb_fail(j, "bad literal");
        return SL_OK;
    case JB_INT16:
    case JB_UINT16:
        if (n < 2)
            return jb_fail(j, "truncated int16");
        sl_json_i64(o, type == JB_INT16 ? (int16_t)le16(p) : (int64_t)le16(p));
        return SL_OK;
    case JB_INT32:
    case JB_UINT32:
        if (n < 4)
            return jb_fail(j, "truncated int32");
        sl_json_i64(o, type == JB_INT32 ? (int32_t)le32(p) : (int64_t)le32(p));
        return SL_OK;
    case JB_INT64:
    case JB_UINT64:
        if (n < 8)
            return jb_fail(j, "truncated int64");
        if (type == JB_INT64)
            sl_json_i64(o, (int64_t)le64(p));
        else
            sl_json_u64(o, le64(p));
        return SL_OK;
    case JB_DOUBLE: {
        if (n < 8)
            return jb_fail(j, "truncated double");
        uint64_t bits = le64(p);
        double d;
        memcpy(&d, &bits, sizeof d);
        if (!isfinite(d))
            return jb_fail(j, "non-finite double");
        sl_json_f64(o, d);
        return SL_OK;
    }
    case JB_STRING: {
        uint32_t len;
        size_t u;
        if (!jb_varlen(p, n, &len, &u) || len > n - u)
            return jb_fail(j, "string length out of range");
        sl_json_str(o, (const char *)p + u, len);
        return SL_OK;
    }
    case JB_OPAQUE: {
        uint32_t len;
        size_t u;
        if (n < 1 || !jb_varlen(p + 1, n - 1, &len, &u) || len > n - 1 - u)
            return jb_fail(j, "opaque length out of range");
        uint8_t ft = p[0];
        const uint8_t *d = p + 1 + u;
        if (ft == MY_T_NEWDECIMAL && len >= 2) {
            int prec = d[0], scale = d[1];
            dec_t dv;
            if (prec < 1 || prec > MAX_DECIMAL_DIGITS || scale > 30 || scale > prec ||
                decimal_bin_size(prec, scale) > len - 2 || !decimal_from_bin(d + 2, prec, scale, &dv))
                return jb_fail(j, "bad decimal");
            char buf[MAX_DECIMAL_DIGITS + 8];
            sl_buf_add(o, buf, decimal_plain(&dv, buf));
            return SL_OK;
        }
        if ((ft == MY_T_DATE || ft == MY_T_NEWDATE || ft == MY_T_TIME || ft == MY_T_TIME2 ||
             ft == MY_T_DATETIME || ft == MY_T_DATETIME2 || ft == MY_T_TIMESTAMP ||
             ft == MY_T_TIMESTAMP2) &&
            len >= 8) {
            jb_temporal(o, ft, (int64_t)le64(d));
            return SL_OK;
        }
        /* anything else MySQL prints as "base64:type<N>:<base64>" */
        char pre[32];
        int k = snprintf(pre, sizeof pre, "\"base64:type%u:", (unsigned)ft);
        sl_buf_add(o, pre, (size_t)k);
        size_t mark = o->len;
        sl_json_base64(o, d, len); /* writes "...": drop its opening quote */
        if (o->len > mark) {
            memmove(o->data + mark, o->data + mark + 1, o->len - mark - 1);
            o->len--;
            o->data[o->len] = 0;
        }
        return SL_OK;
    }
    default:
        return jb_fail(j, "unknown value type");
    }
}

int my_json_binary_to_text(const uint8_t *p, size_t len, sl_buf_t *out, char *errstr,
                           size_t errstr_size)
{
    if (len == 0) { /* an empty binary document: MySQL's JSON null */
        ADD(out, "\"null\"");
        return SL_OK;
    }
    sl_buf_t tmp = SL_BUF_INIT;
    jb_t j = {&tmp, errstr, errstr_size};
    int rc = jb_value(&j, p[0], p + 1, len - 1, 0);
    if (rc == SL_OK && !sl_buf_ok(&tmp)) {
        rc = SL_ERR_NOMEM;
        if (errstr && errstr_size)
            snprintf(errstr, errstr_size, "binary json: out of memory");
    }
    if (rc == SL_OK)
        sl_json_str(out, tmp.data ? tmp.data : "", tmp.len);
    sl_buf_free(&tmp);
    return rc;
}

/* JSON text of a SELECT ({"a": 1, "b": [true]}) with the whitespace outside strings
 * removed, so that it equals the binlog's rendering ({"a":1,"b":[true]}). */
static void emit_json_text(sl_buf_t *o, const char *s, size_t n)
{
    sl_buf_addc(o, '"');
    size_t run = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = false;
            continue;
        }
        if (ch == '"') {
            in_str = true;
        } else if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') {
            sl_json_str_body(o, s + run, i - run);
            run = i + 1;
        }
    }
    if (run < n)
        sl_json_str_body(o, s + run, n - run);
    sl_buf_addc(o, '"');
}

/* ---- binlog values ------------------------------------------------------------------------------------ */

static int need(const my_conv_t *c, size_t avail, size_t n, char *errstr, size_t errstr_size)
{
    if (avail < n) {
        CERR(c, "row image truncated: value needs %zu bytes, %zu left", n, avail);
        return SL_ERR_PROTO;
    }
    return SL_OK;
}

/* Reads a length-prefixed value into data and n; used = prefix + n. */
static int var_value(const my_conv_t *c, const uint8_t *p, size_t avail, const uint8_t **data,
                     size_t *n, size_t *used, char *errstr, size_t errstr_size)
{
    unsigned lb = c->len_bytes;
    if (need(c, avail, lb, errstr, errstr_size))
        return SL_ERR_PROTO;
    uint64_t len = le_n(p, lb);
    if (len > avail - lb) {
        CERR(c, "value length %llu exceeds the %zu bytes left in the row image",
             (unsigned long long)len, avail - lb);
        return SL_ERR_PROTO;
    }
    *data = p + lb;
    *n = (size_t)len;
    *used = lb + (size_t)len;
    return SL_OK;
}

static int bad_value(const my_conv_t *c, char *errstr, size_t errstr_size, const char *what)
{
    CERR(c, "malformed %s value", what);
    return SL_ERR_PROTO;
}

static int binlog_value(const my_conv_t *c, const uint8_t *p, size_t avail, size_t *used,
                        sl_buf_t *o, char *errstr, size_t errstr_size)
{
    const uint8_t *data;
    size_t n;
    int rc;
    switch (c->kind) {
    case K_INT: {
        if (need(c, avail, c->int_bytes, errstr, errstr_size))
            return SL_ERR_PROTO;
        uint64_t u = le_n(p, c->int_bytes);
        int64_t v;
        if (c->is_unsigned || c->int_bytes == 8) {
            v = (int64_t)u; /* BIGINT UNSIGNED above 2^63-1 wraps (bigint "long" mode) */
        } else {
            unsigned sh = 64 - 8 * c->int_bytes;
            v = (int64_t)(u << sh) >> sh;
        }
        sl_json_i64(o, v);
        *used = c->int_bytes;
        return SL_OK;
    }
    case K_YEAR:
        if (need(c, avail, 1, errstr, errstr_size))
            return SL_ERR_PROTO;
        sl_json_i64(o, p[0] ? 1900 + p[0] : 0);
        *used = 1;
        return SL_OK;
    case K_FLOAT: {
        if (need(c, avail, 4, errstr, errstr_size))
            return SL_ERR_PROTO;
        uint32_t b = le32(p);
        float f;
        memcpy(&f, &b, sizeof f);
        sl_json_f32(o, f);
        *used = 4;
        return SL_OK;
    }
    case K_DOUBLE: {
        if (need(c, avail, 8, errstr, errstr_size))
            return SL_ERR_PROTO;
        uint64_t b = le64(p);
        double d;
        memcpy(&d, &b, sizeof d);
        sl_json_f64(o, d);
        *used = 8;
        return SL_OK;
    }
    case K_DECIMAL: {
        size_t sz = decimal_bin_size(c->precision, c->scale);
        if (need(c, avail, sz, errstr, errstr_size))
            return SL_ERR_PROTO;
        dec_t d;
        if (!decimal_from_bin(p, c->precision, c->scale, &d))
            return bad_value(c, errstr, errstr_size, "decimal");
        emit_decimal(c, o, &d);
        *used = sz;
        return SL_OK;
    }
    case K_BIT_BOOL:
    case K_BITS:
        if (need(c, avail, c->fixed_len, errstr, errstr_size))
            return SL_ERR_PROTO;
        if (c->kind == K_BITS) {
            emit_bits(c, o, p, c->fixed_len);
        } else {
            bool v = false;
            for (size_t i = 0; i < c->fixed_len; i++)
                v = v || p[i];
            sl_json_bool(o, v);
        }
        *used = c->fixed_len;
        return SL_OK;
    case K_STRING:
        if ((rc = var_value(c, p, avail, &data, &n, used, errstr, errstr_size)))
            return rc;
        return emit_text(c, o, data, n, errstr, errstr_size);
    case K_BYTES:
        if ((rc = var_value(c, p, avail, &data, &n, used, errstr, errstr_size)))
            return rc;
        if (c->fixed_len && n > c->fixed_len) {
            CERR(c, "binary value of %zu bytes is longer than binary(%u)", n, c->fixed_len);
            return SL_ERR_PROTO;
        }
        emit_padded_bytes(c, o, data, n);
        return SL_OK;
    case K_GEOMETRY:
        if ((rc = var_value(c, p, avail, &data, &n, used, errstr, errstr_size)))
            return rc;
        return emit_geometry(c, o, data, n, errstr, errstr_size);
    case K_JSON:
        if ((rc = var_value(c, p, avail, &data, &n, used, errstr, errstr_size)))
            return rc;
        {
            char jerr[160] = "";
            rc = my_json_binary_to_text(data, n, o, jerr, sizeof jerr);
            if (rc)
                CERR(c, "%s", jerr);
            return rc;
        }
    case K_ENUM:
    case K_SET:
        if (need(c, avail, c->fixed_len, errstr, errstr_size))
            return SL_ERR_PROTO;
        *used = c->fixed_len;
        if (c->kind == K_ENUM)
            return emit_enum(c, o, le_n(p, c->fixed_len), errstr, errstr_size);
        return emit_set(c, o, le_n(p, c->fixed_len), errstr, errstr_size);
    case K_DATE: {
        if (need(c, avail, 3, errstr, errstr_size))
            return SL_ERR_PROTO;
        uint32_t v = le24(p);
        dt_t t = {v >> 9, v >> 5 & 15, v & 31, 0, 0, 0, 0};
        if (!dt_check(&t))
            return bad_value(c, errstr, errstr_size, "date");
        emit_date(c, o, &t);
        *used = 3;
        return SL_OK;
    }
    case K_DATETIME:
    case K_TIMESTAMP: {
        dt_t t = {0, 0, 0, 0, 0, 0, 0};
        size_t fb = (size_t)(c->fsp + 1) / 2;
        if (c->kind == K_TIMESTAMP) {
            size_t sz = c->legacy ? 4 : 4 + fb;
            if (need(c, avail, sz, errstr, errstr_size))
                return SL_ERR_PROTO;
            /* TIMESTAMP2: big-endian seconds; legacy TIMESTAMP: little-endian */
            uint32_t sec = c->legacy ? le32(p) : be32(p);
            uint32_t us = 0;
            if (!c->legacy) {
                if (fb == 1)
                    us = p[4] * 10000u;
                else if (fb == 2)
                    us = be16(p + 4) * 100u;
                else if (fb == 3)
                    us = be24(p + 4);
            }
            if (us > 999999)
                return bad_value(c, errstr, errstr_size, "timestamp");
            *used = sz;
            if (sec == 0 && us == 0) { /* '0000-00-00 00:00:00' */
                emit_zero_date(c, o);
                return SL_OK;
            }
            emit_zoned(c, o, sec, us);
            return SL_OK;
        }
        if (c->legacy) { /* DATETIME (12): YYYYMMDDhhmmss as a little-endian integer */
            if (need(c, avail, 8, errstr, errstr_size))
                return SL_ERR_PROTO;
            uint64_t v = le64(p);
            t.s = (unsigned)(v % 100);
            t.mi = (unsigned)(v / 100 % 100);
            t.h = (unsigned)(v / 10000 % 100);
            t.d = (unsigned)(v / 1000000 % 100);
            t.m = (unsigned)(v / 100000000 % 100);
            t.y = (unsigned)(v / 10000000000ULL);
            *used = 8;
        } else { /* DATETIME2: 40-bit big-endian packed + fraction */
            if (need(c, avail, 5 + fb, errstr, errstr_size))
                return SL_ERR_PROTO;
            uint64_t ip = be40(p);
            if (ip < 0x8000000000ULL)
                return bad_value(c, errstr, errstr_size, "datetime");
            ip -= 0x8000000000ULL;
            uint64_t ymd = ip >> 17, ym = ymd >> 5;
            unsigned hms = (unsigned)(ip & 0x1FFFF);
            t.y = (unsigned)(ym / 13);
            t.m = (unsigned)(ym % 13);
            t.d = (unsigned)(ymd & 31);
            t.h = hms >> 12;
            t.mi = hms >> 6 & 63;
            t.s = hms & 63;
            if (fb == 1)
                t.us = p[5] * 10000u;
            else if (fb == 2)
                t.us = be16(p + 5) * 100u;
            else if (fb == 3)
                t.us = be24(p + 5);
            *used = 5 + fb;
        }
        if (!dt_check(&t))
            return bad_value(c, errstr, errstr_size, "datetime");
        emit_datetime(c, o, &t);
        return SL_OK;
    }
    case K_TIME: {
        int64_t us;
        if (c->legacy) { /* TIME (11): [-]HHMMSS as a signed 3-byte integer */
            if (need(c, avail, 3, errstr, errstr_size))
                return SL_ERR_PROTO;
            int32_t v = (int32_t)(le24(p) << 8) >> 8;
            int64_t a = v < 0 ? -(int64_t)v : v;
            if (a % 100 > 59 || a / 100 % 100 > 59)
                return bad_value(c, errstr, errstr_size, "time");
            us = ((a / 10000) * 3600 + (a / 100 % 100) * 60 + a % 100) * 1000000;
            if (v < 0)
                us = -us;
            *used = 3;
        } else { /* TIME2: my_time_packed_from_binary */
            size_t fb = (size_t)(c->fsp + 1) / 2;
            if (need(c, avail, 3 + fb, errstr, errstr_size))
                return SL_ERR_PROTO;
            int64_t packed;
            if (fb == 3) {
                packed = (int64_t)be48(p) - 0x800000000000LL;
            } else {
                int64_t ip = (int64_t)be24(p) - 0x800000;
                int64_t frac = 0;
                if (fb == 1) {
                    frac = p[3];
                    if (ip < 0 && frac) {
                        ip++;
                        frac -= 0x100;
                    }
                    frac *= 10000;
                } else if (fb == 2) {
                    frac = be16(p + 3);
                    if (ip < 0 && frac) {
                        ip++;
                        frac -= 0x10000;
                    }
                    frac *= 100;
                }
                packed = ip * (1 << 24) + frac;
            }
            bool neg = packed < 0;
            uint64_t a = neg ? (uint64_t)(-packed) : (uint64_t)packed;
            uint64_t hms = a >> 24, frac = a & 0xFFFFFF;
            uint64_t h = hms >> 12 & 0x3FF, mi = hms >> 6 & 0x3F, s = hms & 0x3F;
            if (mi > 59 || s > 59 || frac > 999999)
                return bad_value(c, errstr, errstr_size, "time");
            us = (int64_t)((h * 3600 + mi * 60 + s) * 1000000 + frac);
            if (neg)
                us = -us;
            *used = 3 + fb;
        }
        sl_json_i64(o, us);
        return SL_OK;
    }
    default:
        CERR(c, "no binlog decoder");
        return SL_ERR_UNSUPPORTED;
    }
}

int my_conv_binlog_value(const my_conv_t *conv, const uint8_t *p, size_t avail, size_t *used,
                         sl_buf_t *out, char *errstr, size_t errstr_size)
{
    size_t mark = out->len;
    size_t u = 0;
    int rc = binlog_value(conv, p, avail, &u, out, errstr, errstr_size);
    if (rc == SL_OK && !sl_buf_ok(out)) {
        CERR(conv, "out of memory");
        rc = SL_ERR_NOMEM;
    }
    if (rc != SL_OK) {
        restore(out, mark);
        return rc;
    }
    *used = u;
    return SL_OK;
}

/* ---- text values ------------------------------------------------------------------------------------------ */

static bool parse_u64(const char *s, size_t n, uint64_t *v)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t r = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9 || r > (UINT64_MAX - d) / 10)
            return false;
        r = r * 10 + d;
    }
    *v = r;
    return true;
}

/* Integer text within [lo, hi] (hi as unsigned for BIGINT UNSIGNED). */
static bool parse_int_range(const char *s, size_t n, bool neg_ok, uint64_t max_pos, uint64_t max_neg,
                            bool *neg, uint64_t *mag)
{
    *neg = false;
    if (n > 0 && s[0] == '-') {
        if (!neg_ok)
            return false;
        *neg = true;
        s++;
        n--;
    }
    if (!parse_u64(s, n, mag))
        return false;
    return *neg ? *mag <= max_neg : *mag <= max_pos;
}

static bool digits_n(const char *p, const char *end, int w, unsigned *v)
{
    if (end - p < w)
        return false;
    unsigned r = 0;
    for (int i = 0; i < w; i++) {
        if (!is_digit(p[i]))
            return false;
        r = r * 10 + (unsigned)(p[i] - '0');
    }
    *v = r;
    return true;
}

/* ".ffffff" (1 to 6 digits) -> microseconds; absent is 0. */
static bool parse_frac(const char **pp, const char *end, uint32_t *us)
{
    const char *p = *pp;
    *us = 0;
    if (p < end && *p == '.') {
        p++;
        int nd = 0;
        uint32_t v = 0;
        while (p < end && is_digit(*p)) {
            if (nd == 6)
                return false;
            v = v * 10 + (uint32_t)(*p++ - '0');
            nd++;
        }
        if (nd == 0)
            return false;
        for (; nd < 6; nd++)
            v *= 10;
        *us = v;
    }
    *pp = p;
    return true;
}

/* "YYYY-MM-DD[ hh:mm:ss[.ffffff]]" */
static bool parse_dt(const char *s, size_t n, bool with_time, dt_t *t)
{
    const char *p = s, *end = s + n;
    memset(t, 0, sizeof *t);
    if (!digits_n(p, end, 4, &t->y) || end - p < 10 || p[4] != '-' || p[7] != '-' ||
        !digits_n(p + 5, end, 2, &t->m) || !digits_n(p + 8, end, 2, &t->d))
        return false;
    p += 10;
    if (with_time) {
        if (end - p < 9 || p[0] != ' ' || p[3] != ':' || p[6] != ':' ||
            !digits_n(p + 1, end, 2, &t->h) || !digits_n(p + 4, end, 2, &t->mi) ||
            !digits_n(p + 7, end, 2, &t->s))
            return false;
        p += 9;
        if (!parse_frac(&p, end, &t->us))
            return false;
    }
    return p == end && dt_check(t);
}

static int text_value(const my_conv_t *c, const char *s, size_t n, sl_buf_t *o, char *errstr,
                      size_t errstr_size)
{
    const uint8_t *u = (const uint8_t *)s;
    switch (c->kind) {
    case K_INT: {
        static const uint64_t smax[9] = {0, 127, 32767, 8388607, 2147483647, 0, 0, 0, INT64_MAX};
        static const uint64_t umax[9] = {0, 255, 65535, 16777215, 4294967295u, 0, 0, 0, UINT64_MAX};
        bool neg;
        uint64_t mag;
        uint64_t maxp = c->is_unsigned ? umax[c->int_bytes] : smax[c->int_bytes];
        if (!parse_int_range(s, n, !c->is_unsigned, maxp, smax[c->int_bytes] + 1, &neg, &mag))
            return bad_value(c, errstr, errstr_size, "integer");
        sl_json_i64(o, neg ? (int64_t)(0 - mag) : (int64_t)mag); /* wraps above 2^63-1 */
        return SL_OK;
    }
    case K_YEAR: {
        uint64_t v;
        if (!parse_u64(s, n, &v) || v > 2155)
            return bad_value(c, errstr, errstr_size, "year");
        sl_json_i64(o, (int64_t)v);
        return SL_OK;
    }
    case K_FLOAT:
    case K_DOUBLE: {
        char tmp[64];
        if (n == 0 || n >= sizeof tmp)
            return bad_value(c, errstr, errstr_size, "floating-point");
        for (size_t i = 0; i < n; i++)
            if (!is_digit(s[i]) && s[i] != '-' && s[i] != '+' && s[i] != '.' && s[i] != 'e' &&
                s[i] != 'E')
                return bad_value(c, errstr, errstr_size, "floating-point");
        memcpy(tmp, s, n);
        tmp[n] = 0;
        char *end;
        if (c->kind == K_FLOAT) {
            float f = strtof(tmp, &end);
            if (end != tmp + n)
                return bad_value(c, errstr, errstr_size, "floating-point");
            sl_json_f32(o, f);
        } else {
            double d = strtod(tmp, &end);
            if (end != tmp + n)
                return bad_value(c, errstr, errstr_size, "floating-point");
            sl_json_f64(o, d);
        }
        return SL_OK;
    }
    case K_DECIMAL: {
        dec_t d;
        if (!decimal_from_text(s, n, c->scale, &d))
            return bad_value(c, errstr, errstr_size, "decimal");
        emit_decimal(c, o, &d);
        return SL_OK;
    }
    case K_BIT_BOOL:
    case K_BITS:
        if (n > c->fixed_len)
            return bad_value(c, errstr, errstr_size, "bit");
        if (c->kind == K_BITS) {
            emit_bits(c, o, u, n);
        } else {
            bool v = false;
            for (size_t i = 0; i < n; i++)
                v = v || u[i];
            sl_json_bool(o, v);
        }
        return SL_OK;
    case K_STRING:
    case K_ENUM:
    case K_SET:
        return emit_text(c, o, u, n, errstr, errstr_size);
    case K_BYTES:
        if (c->fixed_len && n > c->fixed_len)
            return bad_value(c, errstr, errstr_size, "binary");
        emit_padded_bytes(c, o, u, n);
        return SL_OK;
    case K_GEOMETRY:
        return emit_geometry(c, o, u, n, errstr, errstr_size);
    case K_JSON:
        if (!utf8_valid(u, n))
            return bad_value(c, errstr, errstr_size, "json");
        emit_json_text(o, s, n);
        return SL_OK;
    case K_DATE: {
        dt_t t;
        if (!parse_dt(s, n, false, &t))
            return bad_value(c, errstr, errstr_size, "date");
        emit_date(c, o, &t);
        return SL_OK;
    }
    case K_DATETIME:
    case K_TIMESTAMP: {
        dt_t t;
        if (!parse_dt(s, n, true, &t))
            return bad_value(c, errstr, errstr_size, c->kind == K_DATETIME ? "datetime" : "timestamp");
        if (c->kind == K_DATETIME)
            emit_datetime(c, o, &t);
        else
            emit_timestamp_dt(c, o, &t);
        return SL_OK;
    }
    case K_TIME: {
        /* "[-]h+:mm:ss[.ffffff]", hours up to 838 */
        const char *p = s, *end = s + n;
        bool neg = false;
        if (p < end && *p == '-') {
            neg = true;
            p++;
        }
        uint64_t h = 0;
        int nd = 0;
        while (p < end && is_digit(*p) && nd < 4) {
            h = h * 10 + (uint64_t)(*p++ - '0');
            nd++;
        }
        unsigned mi, se;
        uint32_t us;
        if (nd < 2 || end - p < 6 || p[0] != ':' || p[3] != ':' || !digits_n(p + 1, end, 2, &mi) ||
            !digits_n(p + 4, end, 2, &se) || mi > 59 || se > 59)
            return bad_value(c, errstr, errstr_size, "time");
        p += 6;
        if (!parse_frac(&p, end, &us) || p != end)
            return bad_value(c, errstr, errstr_size, "time");
        int64_t v = (int64_t)((h * 3600 + mi * 60 + se) * 1000000 + us);
        sl_json_i64(o, neg ? -v : v);
        return SL_OK;
    }
    default:
        CERR(c, "no text decoder");
        return SL_ERR_UNSUPPORTED;
    }
}

int my_conv_text_value(const my_conv_t *conv, const char *text, size_t len, sl_buf_t *out,
                       char *errstr, size_t errstr_size)
{
    size_t mark = out->len;
    int rc = text_value(conv, text, len, out, errstr, errstr_size);
    if (rc == SL_OK && !sl_buf_ok(out)) {
        CERR(conv, "out of memory");
        rc = SL_ERR_NOMEM;
    }
    if (rc != SL_OK)
        restore(out, mark);
    return rc;
}

uint64_t my_conv_zero_dates(const my_conv_t *conv)
{
    return atomic_load_explicit(&((my_conv_t *)conv)->zero_dates, memory_order_relaxed);
}

/* ---- schemas ------------------------------------------------------------------------------------------------ */

/* JsonConverter.asJsonSchema key order: type, [fields], optional, name, version, doc,
 * parameters; the enclosing struct appends "field". */
void my_conv_schema(const my_conv_t *c, sl_buf_t *o, const char *field)
{
    const char *type = "string", *name = NULL;
    char num1[16], num2[16];
    const char *pk1 = NULL, *pv1 = NULL, *pk2 = NULL, *pv2 = NULL;
    switch (c->kind) {
    case K_INT:
        type = c->schema_bits == 16 ? "int16" : c->schema_bits == 32 ? "int32" : "int64";
        break;
    case K_BIT_BOOL: type = "boolean"; break;
    case K_BITS:
        type = "bytes";
        name = "io.debezium.data.Bits";
        snprintf(num1, sizeof num1, "%u", c->bits);
        pk1 = "length";
        pv1 = num1;
        break;
    case K_YEAR: type = "int32"; name = "io.debezium.time.Year"; break;
    case K_DECIMAL:
        if (c->dmode == MY_DECIMAL_DOUBLE) {
            type = "double";
        } else if (c->dmode == MY_DECIMAL_PRECISE) {
            type = "bytes";
            name = "org.apache.kafka.connect.data.Decimal";
            snprintf(num1, sizeof num1, "%d", c->scale);
            snprintf(num2, sizeof num2, "%d", c->precision);
            pk1 = "scale";
            pv1 = num1;
            pk2 = "connect.decimal.precision";
            pv2 = num2;
        }
        break;
    case K_FLOAT: type = "float"; break;
    case K_DOUBLE: type = "double"; break;
    case K_BYTES: type = "bytes"; break;
    case K_DATE: type = "int32"; name = "io.debezium.time.Date"; break;
    case K_DATETIME:
        type = "int64";
        name = c->micro ? "io.debezium.time.MicroTimestamp" : "io.debezium.time.Timestamp";
        break;
    case K_TIMESTAMP: name = "io.debezium.time.ZonedTimestamp"; break;
    case K_TIME: type = "int64"; name = "io.debezium.time.MicroTime"; break;
    case K_ENUM:
    case K_SET:
        name = c->kind == K_ENUM ? "io.debezium.data.Enum" : "io.debezium.data.EnumSet";
        pk1 = "allowed";
        pv1 = c->allowed ? c->allowed : "";
        break;
    case K_JSON: name = "io.debezium.data.Json"; break;
    case K_GEOMETRY:
        ADD(o, "{\"type\":\"struct\",\"fields\":[{\"type\":\"bytes\",\"optional\":false,"
               "\"field\":\"wkb\"},{\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}],"
               "\"optional\":");
        sl_json_bool(o, c->nullable);
        ADD(o, ",\"name\":\"io.debezium.data.geometry.Geometry\",\"version\":1,"
               "\"doc\":\"Geometry\"");
        goto field;
    default: break;
    }
    ADD(o, "{\"type\":\"");
    sl_buf_adds(o, type);
    ADD(o, "\",\"optional\":");
    sl_json_bool(o, c->nullable);
    if (name) {
        ADD(o, ",\"name\":\"");
        sl_buf_adds(o, name);
        ADD(o, "\",\"version\":1");
    }
    if (pk1) {
        ADD(o, ",\"parameters\":{");
        sl_json_strz(o, pk1);
        sl_buf_addc(o, ':');
        sl_json_strz(o, pv1);
        if (pk2) {
            sl_buf_addc(o, ',');
            sl_json_strz(o, pk2);
            sl_buf_addc(o, ':');
            sl_json_strz(o, pv2);
        }
        sl_buf_addc(o, '}');
    }
field:
    if (field) {
        ADD(o, ",\"field\":");
        sl_json_strz(o, field);
    }
    sl_buf_addc(o, '}');
}

/* ---- converter construction ------------------------------------------------------------------------------------ */

void my_conv_free(my_conv_t *c)
{
    if (!c)
        return;
    for (uint32_t i = 0; i < c->nlabels; i++)
        free(c->labels ? c->labels[i] : NULL);
    free(c->labels);
    free(c->label_len);
    free(c->allowed);
    free(c->iconv_name);
    free(c->name);
    free(c);
}

static const char *type_name(uint8_t t)
{
    switch (t) {
    case MY_T_DECIMAL: return "decimal (pre-5.0)";
    case MY_T_NULL: return "null";
    case MY_T_NEWDATE: return "newdate";
    case MY_T_TINY_BLOB: return "tinyblob";
    case 140: return "varchar compressed";
    case 141: return "blob compressed";
    default: return "unknown";
    }
}

/* Labels (in the column's charset) -> UTF-8, and the "allowed" parameter. */
static int set_labels(my_conv_t *c, const my_coldef_t *def, char *errstr, size_t errstr_size)
{
    if (!def->labels || def->nlabels == 0) {
        CERR(c, "%s member names unknown (needs binlog_row_metadata=FULL or the column's "
                "declaration)", c->kind == K_ENUM ? "enum" : "set");
        return SL_ERR_UNSUPPORTED;
    }
    if ((c->kind == K_ENUM && def->nlabels > 65535) || (c->kind == K_SET && def->nlabels > 64)) {
        CERR(c, "too many members (%u)", def->nlabels);
        return SL_ERR_PROTO;
    }
    c->labels = calloc(def->nlabels, sizeof *c->labels);
    c->label_len = calloc(def->nlabels, sizeof *c->label_len);
    if (!c->labels || !c->label_len)
        return SL_ERR_NOMEM;
    c->nlabels = def->nlabels;
    size_t total = 1;
    for (uint32_t i = 0; i < def->nlabels; i++) {
        const char *l = def->labels[i] ? def->labels[i] : "";
        uint8_t stack[256];
        uint8_t *u;
        size_t un;
        int rc = to_utf8(c->cs, c->iconv_name, (const uint8_t *)l, strlen(l), stack, sizeof stack,
                         &u, &un);
        if (rc) {
            CERR(c, "member %u is not valid in the column's character set", i + 1);
            return rc == SL_ERR_NOMEM ? rc : SL_ERR_PROTO;
        }
        c->labels[i] = dup_mem((const char *)u, un);
        if (u != stack && u != (const uint8_t *)l)
            free(u);
        if (!c->labels[i])
            return SL_ERR_NOMEM;
        c->label_len[i] = (uint32_t)un;
        total += un + 1;
    }
    c->allowed = malloc(total);
    if (!c->allowed)
        return SL_ERR_NOMEM;
    size_t k = 0;
    for (uint32_t i = 0; i < c->nlabels; i++) {
        if (i)
            c->allowed[k++] = ',';
        memcpy(c->allowed + k, c->labels[i], c->label_len[i]);
        k += c->label_len[i];
    }
    c->allowed[k] = 0;
    return SL_OK;
}

static int conv_init(my_conv_t *c, const my_coldef_t *def, char *errstr, size_t errstr_size)
{
    uint16_t meta = def->meta;
    uint8_t type = def->type;
    int rc;
    /* ENUM/SET as TABLE_MAP types them (STRING with the real type in the high byte) */
    if (type == MY_T_STRING && (meta >> 8 == MY_T_ENUM || meta >> 8 == MY_T_SET))
        type = (uint8_t)(meta >> 8);
    switch (type) {
    case MY_T_TINY:
    case MY_T_SHORT:
    case MY_T_INT24:
    case MY_T_LONG:
    case MY_T_LONGLONG:
        c->kind = K_INT;
        c->int_bytes = type == MY_T_TINY ? 1 : type == MY_T_SHORT ? 2 : type == MY_T_INT24 ? 3
                     : type == MY_T_LONG ? 4 : 8;
        if (type == MY_T_TINY)
            c->schema_bits = 16;
        else if (type == MY_T_SHORT)
            c->schema_bits = c->is_unsigned ? 32 : 16;
        else if (type == MY_T_INT24)
            c->schema_bits = 32;
        else if (type == MY_T_LONG)
            c->schema_bits = c->is_unsigned ? 64 : 32;
        else
            c->schema_bits = 64;
        return SL_OK;
    case MY_T_YEAR:
        c->kind = K_YEAR;
        return SL_OK;
    case MY_T_FLOAT:
        c->kind = K_FLOAT;
        return SL_OK;
    case MY_T_DOUBLE:
        c->kind = K_DOUBLE;
        return SL_OK;
    case MY_T_NEWDECIMAL:
        c->kind = K_DECIMAL;
        c->precision = meta >> 8;
        c->scale = meta & 0xFF;
        if (c->precision < 1 || c->precision > MAX_DECIMAL_DIGITS || c->scale > 30 ||
            c->scale > c->precision) {
            CERR(c, "invalid decimal(%d,%d)", c->precision, c->scale);
            return SL_ERR_PROTO;
        }
        return SL_OK;
    case MY_T_BIT:
        c->bits = (uint32_t)(meta >> 8) * 8 + (meta & 0xFF);
        if (c->bits < 1 || c->bits > 64 || (meta & 0xFF) > 7) {
            CERR(c, "invalid bit length (meta 0x%04x)", meta);
            return SL_ERR_PROTO;
        }
        c->kind = c->bits == 1 ? K_BIT_BOOL : K_BITS;
        c->fixed_len = (c->bits + 7) / 8;
        return SL_OK;
    case MY_T_DATE:
    case MY_T_NEWDATE:
        c->kind = K_DATE;
        return SL_OK;
    case MY_T_DATETIME:
    case MY_T_DATETIME2:
    case MY_T_TIMESTAMP:
    case MY_T_TIMESTAMP2:
    case MY_T_TIME:
    case MY_T_TIME2:
        c->legacy = type == MY_T_DATETIME || type == MY_T_TIMESTAMP || type == MY_T_TIME;
        c->fsp = c->legacy ? 0 : (uint8_t)meta;
        if (c->fsp > 6 || (c->legacy && meta != 0)) {
            CERR(c, "invalid fractional second precision %u", meta);
            return SL_ERR_UNSUPPORTED;
        }
        c->kind = type == MY_T_DATETIME || type == MY_T_DATETIME2 ? K_DATETIME
                : type == MY_T_TIME || type == MY_T_TIME2         ? K_TIME
                                                                  : K_TIMESTAMP;
        c->micro = c->fsp > 3; /* adaptive: DATETIME(0..3) ms, DATETIME(4..6) us */
        return SL_OK;
    case MY_T_ENUM:
    case MY_T_SET:
        c->kind = type == MY_T_ENUM ? K_ENUM : K_SET;
        c->fixed_len = meta & 0xFF; /* storage bytes: meta is n or (real_type << 8 | n) */
        if ((c->kind == K_ENUM && c->fixed_len != 1 && c->fixed_len != 2) ||
            (c->kind == K_SET && (c->fixed_len < 1 || c->fixed_len > 8))) {
            CERR(c, "invalid %s storage size %u", c->kind == K_ENUM ? "enum" : "set", c->fixed_len);
            return SL_ERR_PROTO;
        }
        rc = cs_resolve(def->charset ? def->charset : "utf8mb4", &c->cs, &c->iconv_name);
        if (rc == SL_ERR_UNSUPPORTED)
            CERR(c, "unknown character set \"%s\"", def->charset);
        if (rc)
            return rc;
        return set_labels(c, def, errstr, errstr_size);
    case MY_T_VARCHAR:
    case MY_T_VAR_STRING:
    case MY_T_STRING:
    case MY_T_BLOB:
    case MY_T_TINY_BLOB:
    case MY_T_MEDIUM_BLOB:
    case MY_T_LONG_BLOB:
        if (type == MY_T_VARCHAR || type == MY_T_VAR_STRING || type == MY_T_STRING) {
            c->len_bytes = meta < 256 ? 1 : 2;
        } else {
            c->len_bytes = (uint8_t)meta;
            if (meta < 1 || meta > 4) {
                CERR(c, "invalid blob length size %u", meta);
                return SL_ERR_PROTO;
            }
        }
        rc = cs_resolve(def->charset, &c->cs, &c->iconv_name);
        if (rc == SL_ERR_UNSUPPORTED)
            CERR(c, "unknown character set \"%s\"", def->charset);
        if (rc)
            return rc;
        if (c->cs == CS_RAW) {
            c->kind = K_BYTES;
            if (type == MY_T_STRING)
                c->fixed_len = meta; /* BINARY(n): 0x00-padded to n on both paths */
        } else {
            c->kind = K_STRING;
            c->strip_spaces = type == MY_T_STRING; /* CHAR */
        }
        return SL_OK;
    case MY_T_JSON:
    case MY_T_GEOMETRY:
        c->kind = type == MY_T_JSON ? K_JSON : K_GEOMETRY;
        c->len_bytes = (uint8_t)meta;
        if (meta < 1 || meta > 4) {
            CERR(c, "invalid length size %u", meta);
            return SL_ERR_PROTO;
        }
        return SL_OK;
    default:
        CERR(c, "unsupported column type %u (%s)", (unsigned)type, type_name(type));
        return SL_ERR_UNSUPPORTED;
    }
}

int my_conv_new(my_conv_t **out, const my_coldef_t *def, const my_type_opts_t *opts,
                char *errstr, size_t errstr_size)
{
    *out = NULL;
    int dmode = opts ? opts->decimal_mode : MY_DECIMAL_PRECISE;
    if (dmode != MY_DECIMAL_PRECISE && dmode != MY_DECIMAL_STRING && dmode != MY_DECIMAL_DOUBLE) {
        set_err(errstr, errstr_size, def->name, "invalid decimal handling mode %d", dmode);
        return SL_ERR_CONFIG;
    }
    my_conv_t *c = calloc(1, sizeof *c);
    if (!c) {
        set_err(errstr, errstr_size, def->name, "out of memory");
        return SL_ERR_NOMEM;
    }
    atomic_init(&c->zero_dates, 0);
    c->type = def->type;
    c->dmode = (uint8_t)dmode;
    c->is_unsigned = def->is_unsigned;
    c->nullable = def->nullable;
    c->name = dup_mem(def->name ? def->name : "?", strlen(def->name ? def->name : "?"));
    int rc = c->name ? conv_init(c, def, errstr, errstr_size) : SL_ERR_NOMEM;
    if (rc != SL_OK) {
        if (rc == SL_ERR_NOMEM)
            set_err(errstr, errstr_size, def->name, "out of memory");
        my_conv_free(c);
        return rc;
    }
    *out = c;
    return SL_OK;
}

/* ---- TABLE_MAP metadata ------------------------------------------------------------------------------------------ */

int my_tablemap_meta(const uint8_t *types, uint32_t ncols, const uint8_t *meta, size_t meta_len,
                     uint16_t *meta_out, char *errstr, size_t errstr_size)
{
    size_t pos = 0;
    for (uint32_t i = 0; i < ncols; i++) {
        uint8_t t = types[i];
        size_t nb;
        switch (t) {
        case MY_T_DECIMAL: case MY_T_TINY: case MY_T_SHORT: case MY_T_LONG: case MY_T_NULL:
        case MY_T_TIMESTAMP: case MY_T_LONGLONG: case MY_T_INT24: case MY_T_DATE: case MY_T_TIME:
        case MY_T_DATETIME: case MY_T_YEAR: case MY_T_NEWDATE:
            nb = 0;
            break;
        case MY_T_FLOAT: case MY_T_DOUBLE: case MY_T_TIMESTAMP2: case MY_T_DATETIME2:
        case MY_T_TIME2: case MY_T_JSON: case MY_T_TINY_BLOB: case MY_T_MEDIUM_BLOB:
        case MY_T_LONG_BLOB: case MY_T_BLOB: case MY_T_GEOMETRY: case 141: /* blob compressed */
            nb = 1;
            break;
        case MY_T_VARCHAR: case MY_T_VAR_STRING: case MY_T_BIT: case MY_T_NEWDECIMAL:
        case MY_T_ENUM: case MY_T_SET: case MY_T_STRING: case 140: /* varchar compressed */
            nb = 2;
            break;
        default:
            if (errstr && errstr_size)
                snprintf(errstr, errstr_size, "table map: column %u has unknown type %u", i,
                         (unsigned)t);
            return SL_ERR_PROTO;
        }
        if (meta_len - pos < nb) {
            if (errstr && errstr_size)
                snprintf(errstr, errstr_size, "table map: metadata block too short (%zu bytes)",
                         meta_len);
            return SL_ERR_PROTO;
        }
        const uint8_t *m = meta + pos;
        pos += nb;
        uint16_t v = 0;
        if (nb == 1) {
            v = m[0];
        } else if (nb == 2) {
            if (t == MY_T_VARCHAR || t == MY_T_VAR_STRING || t == MY_T_BIT || t == 140) {
                v = (uint16_t)le16(m); /* BIT: low byte bits % 8, high byte whole bytes */
            } else if (t == MY_T_NEWDECIMAL) {
                v = (uint16_t)(m[0] << 8 | m[1]); /* precision << 8 | scale */
            } else {
                /* STRING/ENUM/SET: m[0] real type, m[1] length; a CHAR longer than 255 bytes
                 * keeps length bits 8-9 inverted in bits 4-5 of the real type. */
                uint8_t real = m[0];
                unsigned len = m[1];
                if ((real & 0x30) != 0x30) {
                    len |= (unsigned)((real & 0x30) ^ 0x30) << 4;
                    real |= 0x30;
                }
                if (real == MY_T_ENUM || real == MY_T_SET)
                    v = (uint16_t)(real << 8 | m[1]);
                else
                    v = (uint16_t)len;
            }
        }
        meta_out[i] = v;
    }
    if (pos != meta_len) {
        if (errstr && errstr_size)
            snprintf(errstr, errstr_size,
                     "table map: metadata block has %zu bytes, the column types use %zu", meta_len,
                     pos);
        return SL_ERR_PROTO;
    }
    return SL_OK;
}

/* ---- column declarations (information_schema) ------------------------------------------------------------------- */

void my_labels_free(char **labels, uint32_t n)
{
    if (!labels)
        return;
    for (uint32_t i = 0; i < n; i++)
        free(labels[i]);
    free(labels);
}

/* "enum('a','b''c')" -> labels (UTF-8, quotes undoubled). */
static int parse_labels(const char *ct, char ***out, uint32_t *nout)
{
    *out = NULL;
    *nout = 0;
    const char *p = strchr(ct, '(');
    if (!p)
        return SL_ERR_PROTO;
    p++;
    size_t cap = 0;
    for (const char *q = p; *q; q++)
        if (*q == '\'')
            cap++;
    cap = cap / 2 + 1;
    char **labels = calloc(cap, sizeof *labels);
    char *tmp = malloc(strlen(p) + 1);
    uint32_t n = 0;
    if (!labels || !tmp) {
        free(labels);
        free(tmp);
        return SL_ERR_NOMEM;
    }
    int rc = SL_ERR_PROTO;
    while (*p == '\'') {
        p++;
        size_t k = 0;
        for (;;) {
            if (!*p)
                goto done;
            if (*p == '\'' && p[1] == '\'') {
                tmp[k++] = '\'';
                p += 2;
            } else if (*p == '\\' && p[1]) {
                tmp[k++] = p[1];
                p += 2;
            } else if (*p == '\'') {
                p++;
                break;
            } else {
                tmp[k++] = *p++;
            }
        }
        if (n >= cap)
            goto done;
        labels[n] = dup_mem(tmp, k);
        if (!labels[n]) {
            rc = SL_ERR_NOMEM;
            goto done;
        }
        n++;
        if (*p == ',')
            p++;
        else if (*p == ')')
            break;
        else
            goto done;
    }
    if (*p != ')' || n == 0)
        goto done;
    free(tmp);
    *out = labels;
    *nout = n;
    return SL_OK;
done:
    free(tmp);
    my_labels_free(labels, n);
    return rc;
}

/* First "(a[,b])" numbers of a COLUMN_TYPE. */
static int paren_nums(const char *ct, unsigned *a, unsigned *b)
{
    const char *p = strchr(ct, '(');
    if (!p)
        return 0;
    char *end;
    unsigned long x = strtoul(p + 1, &end, 10);
    if (end == p + 1 || x > 100000)
        return 0;
    *a = (unsigned)x;
    if (*end == ',') {
        const char *q = end + 1;
        unsigned long y = strtoul(q, &end, 10);
        if (end == q || y > 100000)
            return 0;
        *b = (unsigned)y;
        return *end == ')' ? 2 : 0;
    }
    return *end == ')' ? 1 : 0;
}

int my_coldef_from_decl(my_coldef_t *out, const char *data_type, const char *column_type,
                        const char *charset, uint64_t octet_length, bool nullable,
                        char ***labels_out, uint32_t *nlabels_out, char *errstr,
                        size_t errstr_size)
{
    memset(out, 0, sizeof *out);
    *labels_out = NULL;
    *nlabels_out = 0;
    out->nullable = nullable;
    const char *ct = column_type ? column_type : "";
    const char *dt = data_type ? data_type : "";
    unsigned a = 0, b = 0;
    int np = paren_nums(ct, &a, &b);
    out->is_unsigned = strstr(ct, "unsigned") != NULL;
#define IS(s) (strcasecmp(dt, (s)) == 0)
    if (IS("tinyint") || IS("bool") || IS("boolean")) {
        out->type = MY_T_TINY;
    } else if (IS("smallint")) {
        out->type = MY_T_SHORT;
    } else if (IS("mediumint")) {
        out->type = MY_T_INT24;
    } else if (IS("int") || IS("integer")) {
        out->type = MY_T_LONG;
    } else if (IS("bigint")) {
        out->type = MY_T_LONGLONG;
    } else if (IS("year")) {
        out->type = MY_T_YEAR;
        out->is_unsigned = true; /* MariaDB's TABLE_MAP flags YEAR unsigned */
    } else if (IS("decimal") || IS("numeric") || IS("fixed") || IS("dec")) {
        unsigned p = np >= 1 ? a : 10, s = np == 2 ? b : 0;
        if (p < 1 || p > 65 || s > 30 || s > p) {
            set_err(errstr, errstr_size, NULL, "invalid decimal declaration \"%s\"", ct);
            return SL_ERR_PROTO;
        }
        out->type = MY_T_NEWDECIMAL;
        out->meta = (uint16_t)(p << 8 | s);
    } else if (IS("float")) {
        out->type = MY_T_FLOAT;
        out->meta = 4;
    } else if (IS("double") || IS("real") || IS("double precision")) {
        out->type = MY_T_DOUBLE;
        out->meta = 8;
    } else if (IS("bit")) {
        unsigned n = np >= 1 ? a : 1;
        if (n < 1 || n > 64) {
            set_err(errstr, errstr_size, NULL, "invalid bit declaration \"%s\"", ct);
            return SL_ERR_PROTO;
        }
        out->type = MY_T_BIT;
        out->meta = (uint16_t)((n / 8) << 8 | (n % 8));
    } else if (IS("date")) {
        out->type = MY_T_DATE;
    } else if (IS("datetime") || IS("timestamp") || IS("time")) {
        unsigned fsp = np >= 1 ? a : 0;
        if (fsp > 6) {
            set_err(errstr, errstr_size, NULL, "invalid precision \"%s\"", ct);
            return SL_ERR_PROTO;
        }
        out->type = IS("datetime") ? MY_T_DATETIME2 : IS("time") ? MY_T_TIME2 : MY_T_TIMESTAMP2;
        out->meta = (uint16_t)fsp;
    } else if (IS("char") || IS("varchar") || IS("binary") || IS("varbinary")) {
        if (octet_length > 65535) {
            set_err(errstr, errstr_size, NULL, "invalid octet length %llu",
                    (unsigned long long)octet_length);
            return SL_ERR_PROTO;
        }
        bool bin = IS("binary") || IS("varbinary");
        out->type = IS("char") || IS("binary") ? MY_T_STRING : MY_T_VARCHAR;
        out->meta = (uint16_t)octet_length;
        out->charset = bin || !charset ? "binary" : charset;
    } else if (IS("tinytext") || IS("text") || IS("mediumtext") || IS("longtext") ||
               IS("tinyblob") || IS("blob") || IS("mediumblob") || IS("longblob")) {
        bool bin = strstr(dt, "blob") != NULL;
        /* the binlog types every BLOB/TEXT as BLOB with the length size as metadata */
        out->type = MY_T_BLOB;
        out->meta = strncasecmp(dt, "tiny", 4) == 0     ? 1
                  : strncasecmp(dt, "medium", 6) == 0 ? 3
                  : strncasecmp(dt, "long", 4) == 0   ? 4
                                                      : 2;
        out->charset = bin || !charset ? "binary" : charset;
    } else if (IS("json")) { /* MySQL's binary JSON (MariaDB reports "longtext") */
        out->type = MY_T_JSON;
        out->meta = 4;
    } else if (IS("geometry") || IS("point") || IS("linestring") || IS("polygon") ||
               IS("multipoint") || IS("multilinestring") || IS("multipolygon") ||
               IS("geometrycollection") || IS("geomcollection")) {
        out->type = MY_T_GEOMETRY;
        out->meta = 4;
        out->charset = "binary"; /* MariaDB's TABLE_MAP gives geometry the binary collation */
    } else if (IS("enum") || IS("set")) {
        char **utf8_labels;
        uint32_t n;
        int rc = parse_labels(ct, &utf8_labels, &n);
        if (rc) {
            set_err(errstr, errstr_size, NULL, "cannot parse members of \"%s\"", ct);
            return rc;
        }
        bool is_enum = IS("enum");
        if ((is_enum && n > 65535) || (!is_enum && n > 64)) {
            my_labels_free(utf8_labels, n);
            set_err(errstr, errstr_size, NULL, "too many members in \"%s\"", ct);
            return SL_ERR_PROTO;
        }
        /* TABLE_MAP carries the labels in the column's character set: do the same */
        for (uint32_t i = 0; i < n; i++) {
            char *conv;
            rc = from_utf8(charset, utf8_labels[i], strlen(utf8_labels[i]), &conv);
            if (rc) {
                my_labels_free(utf8_labels, n);
                set_err(errstr, errstr_size, NULL, "member %u of \"%s\" cannot be converted to %s",
                        i + 1, ct, charset ? charset : "?");
                return rc;
            }
            free(utf8_labels[i]);
            utf8_labels[i] = conv;
        }
        unsigned storage;
        if (is_enum) {
            storage = n < 256 ? 1 : 2;
        } else {
            storage = (n + 7) / 8;
            if (storage > 4)
                storage = 8;
        }
        out->type = is_enum ? MY_T_ENUM : MY_T_SET;
        out->meta = (uint16_t)((is_enum ? MY_T_ENUM : MY_T_SET) << 8 | storage);
        out->charset = charset;
        out->labels = (const char *const *)utf8_labels;
        out->nlabels = n;
        *labels_out = utf8_labels;
        *nlabels_out = n;
    } else {
        set_err(errstr, errstr_size, NULL, "unsupported data type \"%s\" (%s)", dt, ct);
        return SL_ERR_UNSUPPORTED;
    }
#undef IS
    return SL_OK;
}

/* ---- row images ----------------------------------------------------------------------------------------------------- */

bool my_bitmap_full(const uint8_t *bitmap, uint32_t ncols)
{
    for (uint32_t i = 0; i < ncols; i++)
        if (!(bitmap[i >> 3] >> (i & 7) & 1))
            return false;
    return true;
}

int my_row_decode(const my_rowcol_t *cols, uint32_t ncols, const uint8_t *present,
                  const uint8_t *p, size_t avail, size_t *used, sl_buf_t *out, my_span_t *spans,
                  char *errstr, size_t errstr_size)
{
    if (!my_bitmap_full(present, ncols)) {
        if (errstr && errstr_size)
            snprintf(errstr, errstr_size,
                     "partial row image (binlog_row_image is not FULL for this table)");
        return SL_ERR_UNSUPPORTED;
    }
    size_t nb = ((size_t)ncols + 7) / 8;
    if (avail < nb) {
        if (errstr && errstr_size)
            snprintf(errstr, errstr_size, "row image truncated: null bitmap needs %zu bytes, %zu left",
                     nb, avail);
        return SL_ERR_PROTO;
    }
    const uint8_t *nulls = p;
    size_t pos = nb;
    size_t mark = out->len;
    bool first = true;
    sl_buf_addc(out, '{');
    for (uint32_t i = 0; i < ncols; i++) {
        const my_rowcol_t *col = &cols[i];
        if (spans)
            spans[i].off = spans[i].len = 0;
        bool isnull = nulls[i >> 3] >> (i & 7) & 1;
        if (!col->excluded) {
            if (!first)
                sl_buf_addc(out, ',');
            first = false;
            sl_buf_add(out, col->json_key, col->json_key_len);
        }
        size_t voff = out->len;
        if (isnull) {
            if (!col->excluded) {
                sl_json_null(out);
                if (spans) {
                    spans[i].off = voff;
                    spans[i].len = out->len - voff;
                }
            }
            continue;
        }
        size_t u = 0;
        int rc = my_conv_binlog_value(col->conv, p + pos, avail - pos, &u, out, errstr, errstr_size);
        if (rc != SL_OK) {
            restore(out, mark);
            return rc;
        }
        pos += u;
        if (col->excluded)
            restore(out, voff);
        else if (spans) {
            spans[i].off = voff;
            spans[i].len = out->len - voff;
        }
    }
    sl_buf_addc(out, '}');
    if (!sl_buf_ok(out)) {
        restore(out, mark);
        if (errstr && errstr_size)
            snprintf(errstr, errstr_size, "out of memory");
        return SL_ERR_NOMEM;
    }
    *used = pos;
    return SL_OK;
}
