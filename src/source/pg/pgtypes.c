/*
 * pgtypes.c — PostgreSQL text-form values to Debezium JSON, and their field schemas.
 *
 * What: one converter (sl_pgconv_t) per column, resolved once from (type OID, typmod),
 * turns every value the server sends in text form (pgoutput text mode, COPY TO STDOUT)
 * into the JSON that Debezium's PostgreSQL connector emits through Kafka Connect's
 * JsonConverter with the default type mapping (time.precision.mode=adaptive,
 * binary.handling.mode=bytes, interval.handling.mode=numeric, hstore aside), and writes
 * the matching field schema.
 *
 * How: sl_pgconv_new() maps the OID to a small `kind` (builtin OIDs and their array
 * OIDs are known by number; anything else goes through the pg_type lookup callback:
 * domains become their base type with the base typmod, enums io.debezium.data.Enum,
 * arrays an array of the element converter, the rest a string tagged with its type
 * name), and precomputes everything the typmod decides (numeric scale, time precision,
 * bit length). sl_pgconv_value() is then one switch on the kind and a hand-written
 * parser per text form; nothing is allocated on that path except the output buffer,
 * apart from rare oversized cases noted where they happen (numerics of more than ~2400
 * digits, escaped array elements longer than 256 bytes, doubles from very long text).
 *
 * Where Debezium's behaviour is surprising we follow it and say so next to the code:
 * date 'infinity' (epoch-day constants from a year -5877611 LocalDate), timestamp
 * infinity (PGStatement's millisecond constants read as microseconds), numeric
 * NaN/Infinity (fails in precise mode, "NAN"/"POSITIVE_INFINITY" in string mode),
 * string mode using BigDecimal.toString() (so 0.0000001 is "1E-7"), interval months
 * as 30.4375 days computed in double precision, zoned timestamps padded to the column
 * precision, bit strings as little-endian bytes trimmed to the highest set bit.
 *
 * Invariants:
 *  1. A converter is immutable after sl_pgconv_new(); any thread may use it.
 *  2. sl_pgconv_value() either appends one complete JSON value and returns SL_OK, or
 *     appends nothing (the buffer length is restored) and returns an error. Bytes from
 *     the server are never trusted: malformed text is SL_ERR_PROTO, never an assert.
 *  3. Element converters of arrays are ordinary converters; an array value is the
 *     element converter applied to each element, NULL elements are JSON null.
 *  4. Type resolution recurses at most MAX_DEPTH levels (domain of array of domain...),
 *     so a lookup callback that loops cannot hang or overflow the stack.
 *
 * Session requirements (see pgtypes.h): DateStyle=ISO, TimeZone=UTC (any offset is
 * handled, but ISO output is required), IntervalStyle=iso_8601 (postgres also parsed),
 * bytea_output=hex, lc_monetary=C, extra_float_digits>=1 (PostgreSQL 12+ default).
 *
 * References: Debezium PostgreSQL connector documentation, "Data type mappings";
 * Debezium sources PostgresValueConverter, JdbcValueConverters, SpecialValueDecimal,
 * VariableScaleDecimal, MicroDuration, ZonedTimestamp, ZonedTime, PgOutputColumnValue,
 * AbstractColumnValue, DateTimeFormat, UnchangedToastedPlaceholder; pgjdbc PGInterval
 * and TypeInfoCache; Kafka JsonConverter.asJsonSchema (key order of schemas);
 * PostgreSQL datetime.c EncodeDateTime/EncodeInterval, numeric.c, arrayfuncs.c.
 */
#include "source/pg/pgtypes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/civil.h"
#include "core/json.h"

#define MAX_DEPTH 8
#define MAX_ARRAY_DIMS 32

enum conv_kind {
    K_BOOL,
    K_INT16,
    K_INT32,
    K_INT64,
    K_OID,
    K_FLOAT32,
    K_FLOAT64,
    K_NUMERIC,
    K_MONEY,
    K_STRING,
    K_BYTEA,
    K_DATE,
    K_TIME,        /* io.debezium.time.Time (ms) or MicroTime (us), per `micro` */
    K_TIMETZ,      /* io.debezium.time.ZonedTime */
    K_TIMESTAMP,   /* io.debezium.time.Timestamp (ms) or MicroTimestamp (us) */
    K_TIMESTAMPTZ, /* io.debezium.time.ZonedTimestamp */
    K_INTERVAL,    /* io.debezium.time.MicroDuration */
    K_BIT_BOOL,    /* bit(1), varbit(1) */
    K_BITS,        /* io.debezium.data.Bits */
    K_ARRAY,
    /* only while resolving: */
    K_BIT,
    K_VARBIT,
};

/* Semantic flavour of K_STRING. */
enum str_sem { S_PLAIN, S_JSON, S_XML, S_UUID, S_ENUM, S_LTREE, S_UNKNOWN };

struct sl_pgconv {
    uint8_t kind;
    uint8_t sem;           /* K_STRING */
    uint8_t dmode;         /* K_NUMERIC, K_MONEY: SL_DECIMAL_* */
    uint8_t micro;         /* K_TIME, K_TIMESTAMP: 1 = microseconds, 0 = milliseconds */
    uint8_t varscale;      /* K_NUMERIC: no typmod (VariableScaleDecimal in precise mode) */
    uint8_t elem_required; /* K_ARRAY: element schema is not optional (enum arrays) */
    char delim;            /* K_ARRAY: element delimiter */
    int32_t scale;         /* K_NUMERIC: scale; K_TIMESTAMPTZ: fraction digits (0 = ISO) */
    int32_t precision;     /* K_NUMERIC: precision; K_BITS: length */
    uint32_t oid;          /* the column's (or element's) resolved type OID */
    char *param;           /* S_ENUM: allowed labels; S_UNKNOWN: type name (owned) */
    sl_pgconv_t *elem;     /* K_ARRAY (owned) */
};

/* ---- builtin types ------------------------------------------------------------------ */

typedef struct builtin {
    uint32_t oid;
    uint32_t array_oid;
    const char *name;
    uint8_t kind;
    uint8_t sem;
} builtin_t;

static const builtin_t builtins[] = {
    {16, 1000, "bool", K_BOOL, 0},
    {17, 1001, "bytea", K_BYTEA, 0},
    {18, 1002, "char", K_STRING, S_PLAIN},
    {19, 1003, "name", K_STRING, S_PLAIN},
    {20, 1016, "int8", K_INT64, 0},
    {21, 1005, "int2", K_INT16, 0},
    {23, 1007, "int4", K_INT32, 0},
    {25, 1009, "text", K_STRING, S_PLAIN},
    {26, 1028, "oid", K_OID, 0},
    {114, 199, "json", K_STRING, S_JSON},
    {142, 143, "xml", K_STRING, S_XML},
    {650, 651, "cidr", K_STRING, S_PLAIN},
    {700, 1021, "float4", K_FLOAT32, 0},
    {701, 1022, "float8", K_FLOAT64, 0},
    {774, 775, "macaddr8", K_STRING, S_PLAIN},
    {790, 791, "money", K_MONEY, 0},
    {829, 1040, "macaddr", K_STRING, S_PLAIN},
    {869, 1041, "inet", K_STRING, S_PLAIN},
    {1042, 1014, "bpchar", K_STRING, S_PLAIN},
    {1043, 1015, "varchar", K_STRING, S_PLAIN},
    {1082, 1182, "date", K_DATE, 0},
    {1083, 1183, "time", K_TIME, 0},
    {1114, 1115, "timestamp", K_TIMESTAMP, 0},
    {1184, 1185, "timestamptz", K_TIMESTAMPTZ, 0},
    {1186, 1187, "interval", K_INTERVAL, 0},
    {1266, 1270, "timetz", K_TIMETZ, 0},
    {1560, 1561, "bit", K_BIT, 0},
    {1562, 1563, "varbit", K_VARBIT, 0},
    {1700, 1231, "numeric", K_NUMERIC, 0},
    {2950, 2951, "uuid", K_STRING, S_UUID},
    {3802, 3807, "jsonb", K_STRING, S_JSON},
    /* Debezium maps the builtin ranges to plain strings. */
    {3904, 3905, "int4range", K_STRING, S_PLAIN},
    {3906, 3907, "numrange", K_STRING, S_PLAIN},
    {3908, 3909, "tsrange", K_STRING, S_PLAIN},
    {3910, 3911, "tstzrange", K_STRING, S_PLAIN},
    {3912, 3913, "daterange", K_STRING, S_PLAIN},
    {3926, 3927, "int8range", K_STRING, S_PLAIN},
    /* Builtins without a Debezium mapping we implement: their text as a string tagged
     * with the type name (Debezium drops them unless include.unknown.datatypes). */
    {22, 1006, "int2vector", K_STRING, S_UNKNOWN},
    {24, 1008, "regproc", K_STRING, S_UNKNOWN},
    {27, 1010, "tid", K_STRING, S_UNKNOWN},
    {28, 1011, "xid", K_STRING, S_UNKNOWN},
    {29, 1012, "cid", K_STRING, S_UNKNOWN},
    {30, 1013, "oidvector", K_STRING, S_UNKNOWN},
    {600, 1017, "point", K_STRING, S_UNKNOWN},
    {601, 1018, "lseg", K_STRING, S_UNKNOWN},
    {602, 1019, "path", K_STRING, S_UNKNOWN},
    {603, 1020, "box", K_STRING, S_UNKNOWN},
    {604, 1027, "polygon", K_STRING, S_UNKNOWN},
    {628, 629, "line", K_STRING, S_UNKNOWN},
    {718, 719, "circle", K_STRING, S_UNKNOWN},
    {2205, 2210, "regclass", K_STRING, S_UNKNOWN},
    {2970, 2949, "txid_snapshot", K_STRING, S_UNKNOWN},
    {3220, 3221, "pg_lsn", K_STRING, S_UNKNOWN},
    {3614, 3643, "tsvector", K_STRING, S_UNKNOWN},
    {3615, 3645, "tsquery", K_STRING, S_UNKNOWN},
    {4072, 4073, "jsonpath", K_STRING, S_UNKNOWN},
    {5069, 271, "xid8", K_STRING, S_UNKNOWN},
};

#define BOX_OID 603

/* ---- small helpers -------------------------------------------------------------------- */

static void set_err(char *errstr, size_t errstr_size, const char *fmt, uint32_t oid)
{
    if (errstr && errstr_size)
        snprintf(errstr, errstr_size, fmt, (unsigned)oid);
}

static inline void add_lit(sl_buf_t *o, const char *s, size_t n) { sl_buf_add(o, s, n); }
#define ADD(o, lit) add_lit((o), (lit), sizeof(lit) - 1)

static inline bool is_digit(char c) { return (unsigned char)(c - '0') <= 9; }

/* Parses exactly `w` digits at p. */
static inline bool digits_n(const char *p, const char *end, int w, unsigned *v)
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

static inline char *put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

static char *put_uint(char *p, uint64_t v)
{
    char tmp[24];
    char *q = tmp + sizeof tmp;
    do {
        *--q = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t n = (size_t)(tmp + sizeof tmp - q);
    memcpy(p, q, n);
    return p + n;
}

static bool eq_lit(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n == l && memcmp(s, lit, l) == 0;
}

/* Java's (long) cast of a double: truncation, NaN -> 0, saturation at the ends. */
static int64_t java_d2l(double d)
{
    if (isnan(d))
        return 0;
    if (d >= 9223372036854775807.0)
        return INT64_MAX;
    if (d <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)d;
}

/* Forces rounding to double after each operation (no FMA contraction), so that the
 * interval arithmetic below is bit-identical to Java's. */
static double rnd(double x)
{
    volatile double v = x;
    return v;
}

/* ---- streaming base64 ------------------------------------------------------------------ */

static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

typedef struct b64w {
    char *w;
    uint32_t acc;
    int nacc;
} b64w_t;

/* Reserves room for the quoted base64 of `nbytes` bytes and opens the quote. */
static bool b64_begin(sl_buf_t *o, size_t nbytes, b64w_t *st)
{
    if (nbytes > (SIZE_MAX - 8) / 4 * 3) {
        o->oom = true;
        return false;
    }
    size_t need = (nbytes + 2) / 3 * 4 + 2;
    if (o->size - o->len <= need && !sl_buf_grow(o, need))
        return false;
    st->w = o->data + o->len;
    *st->w++ = '"';
    st->acc = 0;
    st->nacc = 0;
    return true;
}

static inline void b64_put(b64w_t *st, uint8_t byte)
{
    st->acc = st->acc << 8 | byte;
    if (++st->nacc == 3) {
        char *w = st->w;
        w[0] = b64_alpha[st->acc >> 18 & 63];
        w[1] = b64_alpha[st->acc >> 12 & 63];
        w[2] = b64_alpha[st->acc >> 6 & 63];
        w[3] = b64_alpha[st->acc & 63];
        st->w = w + 4;
        st->acc = 0;
        st->nacc = 0;
    }
}

static void b64_end(sl_buf_t *o, b64w_t *st)
{
    char *w = st->w;
    if (st->nacc == 1) {
        uint32_t v = st->acc << 16;
        w[0] = b64_alpha[v >> 18 & 63];
        w[1] = b64_alpha[v >> 12 & 63];
        w[2] = '=';
        w[3] = '=';
        w += 4;
    } else if (st->nacc == 2) {
        uint32_t v = st->acc << 8;
        w[0] = b64_alpha[v >> 18 & 63];
        w[1] = b64_alpha[v >> 12 & 63];
        w[2] = b64_alpha[v >> 6 & 63];
        w[3] = '=';
        w += 4;
    }
    *w++ = '"';
    o->len = (size_t)(w - o->data);
    o->data[o->len] = 0;
}

/* ---- integers and floats ----------------------------------------------------------------- */

static int parse_int(const char *s, size_t n, int64_t max, int64_t *v)
{
    size_t i = 0;
    bool neg = false;
    if (n == 0 || n > 21)
        return SL_ERR_PROTO;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return SL_ERR_PROTO;
    uint64_t u = 0;
    bool may_overflow = n - i > 19; /* 19 digits always fit in uint64 */
    for (; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9 || (may_overflow && u > (UINT64_MAX - d) / 10))
            return SL_ERR_PROTO;
        u = u * 10 + d;
    }
    if (u > (uint64_t)max + (neg ? 1 : 0))
        return SL_ERR_PROTO;
    if (neg)
        *v = u == 0 ? 0 : -(int64_t)(u - 1) - 1; /* INT64_MIN without overflow */
    else
        *v = (int64_t)u;
    return SL_OK;
}

/* NaN/Infinity as PostgreSQL (and Java's Double.valueOf) spell them. 0 if neither. */
static int special_float(const char *s, size_t n, double *v)
{
    if (eq_lit(s, n, "NaN"))
        *v = NAN;
    else if (eq_lit(s, n, "Infinity"))
        *v = INFINITY;
    else if (eq_lit(s, n, "-Infinity"))
        *v = -INFINITY;
    else
        return 0;
    return 1;
}

/* Checks the characters of a decimal float literal; strto* would also take hex, "inf",
 * leading blanks... none of which PostgreSQL sends. */
static bool float_chars_ok(const char *s, size_t n)
{
    bool digit = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (is_digit(c))
            digit = true;
        else if (c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E')
            return false;
    }
    return digit;
}

static int parse_f64(const char *s, size_t n, double *v)
{
    if (special_float(s, n, v))
        return SL_OK;
    if (!float_chars_ok(s, n))
        return SL_ERR_PROTO;
    char stackbuf[128];
    char *tmp = n < sizeof stackbuf ? stackbuf : malloc(n + 1);
    if (!tmp)
        return SL_ERR_NOMEM;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *endp;
    *v = strtod(tmp, &endp);
    bool ok = endp == tmp + n;
    if (tmp != stackbuf)
        free(tmp);
    return ok ? SL_OK : SL_ERR_PROTO;
}

static int parse_f32(const char *s, size_t n, float *v)
{
    double d;
    if (special_float(s, n, &d)) {
        *v = (float)d;
        return SL_OK;
    }
    if (n >= 64 || !float_chars_ok(s, n))
        return SL_ERR_PROTO;
    char tmp[64];
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *endp;
    *v = strtof(tmp, &endp);
    return endp == tmp + n ? SL_OK : SL_ERR_PROTO;
}

/* ---- numeric ------------------------------------------------------------------------------ */

/* A decimal as digit spans: the unscaled value is a[0..an) b[0..bn) followed by `zeros`
 * zeros (leading zeros allowed), negative if neg. */
typedef struct digits {
    bool neg;
    const char *a;
    size_t an;
    const char *b;
    size_t bn;
    size_t zeros;
} digits_t;

static inline size_t digits_len(const digits_t *d) { return d->an + d->bn + d->zeros; }

static inline char digit_at(const digits_t *d, size_t i)
{
    if (i < d->an)
        return d->a[i];
    i -= d->an;
    if (i < d->bn)
        return d->b[i];
    return '0';
}

/* Parsed numeric text "[-]ddd[.ddd]". */
typedef struct numtext {
    bool neg;
    const char *ip; /* integer digits */
    size_t in;
    const char *fp; /* fraction digits */
    size_t fn;
} numtext_t;

static int parse_numeric(const char *s, size_t n, numtext_t *t)
{
    const char *p = s, *end = s + n;
    t->neg = false;
    if (p < end && (*p == '-' || *p == '+')) {
        t->neg = *p == '-';
        p++;
    }
    t->ip = p;
    while (p < end && is_digit(*p))
        p++;
    t->in = (size_t)(p - t->ip);
    t->fp = p;
    t->fn = 0;
    if (p < end && *p == '.') {
        t->fp = ++p;
        while (p < end && is_digit(*p))
            p++;
        t->fn = (size_t)(p - t->fp);
    }
    if (p != end || t->in + t->fn == 0)
        return SL_ERR_PROTO;
    return SL_OK;
}

/* Unscaled digits of t at `scale` (BigDecimal.setScale without rounding: dropped digits
 * must be zeros, as they always are for a value of a numeric(p,s) column). */
static int numeric_at_scale(const numtext_t *t, int32_t scale, digits_t *d)
{
    d->neg = t->neg;
    d->a = t->ip;
    d->an = t->in;
    d->b = t->fp;
    d->bn = t->fn;
    d->zeros = 0;
    if (scale >= 0 && (size_t)scale >= t->fn) {
        d->zeros = (size_t)scale - t->fn;
        return SL_OK;
    }
    /* drop = fn - scale trailing digits, all of which must be '0' */
    size_t drop = (size_t)((int64_t)t->fn - scale);
    size_t total = t->in + t->fn;
    for (size_t i = 0; i < drop && i < total; i++)
        if (digit_at(d, total - 1 - i) != '0')
            return SL_ERR_PROTO;
    if (drop >= total) {
        d->an = d->bn = 0; /* zero */
        return SL_OK;
    }
    size_t keep = total - drop;
    if (keep <= t->in) {
        d->an = keep;
        d->bn = 0;
    } else {
        d->bn = keep - t->in;
    }
    return SL_OK;
}

/* Appends the base64 of BigInteger.toByteArray() of the unscaled value: minimal
 * big-endian two's complement. Decimal digits are folded into 32-bit limbs nine at a
 * time (schoolbook, quadratic; a 1000-digit value takes ~10k multiply-adds). */
static int emit_unscaled(sl_buf_t *o, const digits_t *d)
{
    size_t nd = digits_len(d), i = 0;
    while (i < nd && digit_at(d, i) == '0')
        i++;
    size_t sig = nd - i;
    size_t cap = (sig + 8) / 9 * 30 / 32 + 2; /* 9 digits < 2^30 */
    uint32_t stack_limbs[256];
    uint8_t stack_bytes[256 * 4 + 1];
    uint32_t *limbs = stack_limbs;
    uint8_t *bytes = stack_bytes;
    if (cap > 256) {
        limbs = malloc(cap * sizeof *limbs);
        bytes = malloc(cap * 4 + 1);
        if (!limbs || !bytes) {
            free(limbs);
            free(bytes);
            return SL_ERR_NOMEM;
        }
    }
    static const uint32_t pow10[10] = {1,      10,      100,      1000,      10000,
                                       100000, 1000000, 10000000, 100000000, 1000000000};
    size_t nl = 0;
    while (i < nd) {
        uint32_t chunk = 0;
        int k = 0;
        for (; k < 9 && i < nd; k++, i++)
            chunk = chunk * 10 + (uint32_t)(digit_at(d, i) - '0');
        uint64_t carry = chunk;
        for (size_t j = 0; j < nl; j++) {
            uint64_t v = (uint64_t)limbs[j] * pow10[k] + carry;
            limbs[j] = (uint32_t)v;
            carry = v >> 32;
        }
        if (carry)
            limbs[nl++] = (uint32_t)carry;
    }
    /* magnitude, big-endian, one spare byte in front for the sign */
    size_t nb = 0;
    bytes[nb++] = 0;
    for (size_t j = nl; j-- > 0;) {
        bytes[nb++] = (uint8_t)(limbs[j] >> 24);
        bytes[nb++] = (uint8_t)(limbs[j] >> 16);
        bytes[nb++] = (uint8_t)(limbs[j] >> 8);
        bytes[nb++] = (uint8_t)limbs[j];
    }
    size_t start = 1;
    while (start < nb && bytes[start] == 0)
        start++;
    if (start == nb) { /* zero: BigInteger.ZERO.toByteArray() is {0} */
        start = nb - 1;
        bytes[start] = 0;
    } else if (d->neg) {
        /* two's complement of the magnitude in (nb - start) bytes */
        unsigned carry = 1;
        for (size_t j = nb; j-- > start;) {
            unsigned v = (uint8_t)~bytes[j] + carry;
            bytes[j] = (uint8_t)v;
            carry = v >> 8;
        }
        if (!(bytes[start] & 0x80)) /* magnitude > 2^(8k-1): needs a sign byte */
            bytes[--start] = 0xFF;
    } else if (bytes[start] & 0x80) {
        bytes[--start] = 0x00;
    }
    sl_json_base64(o, bytes + start, nb - start);
    if (limbs != stack_limbs) {
        free(limbs);
        free(bytes);
    }
    return SL_OK;
}

/* BigInteger.toByteArray() of a 64-bit value, as base64. */
static void emit_i64_twos(sl_buf_t *o, int64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
    int s = 0;
    while (s < 7 && ((b[s] == 0x00 && !(b[s + 1] & 0x80)) || (b[s] == 0xFF && (b[s + 1] & 0x80))))
        s++;
    sl_json_base64(o, b + s, (size_t)(8 - s));
}

/* BigDecimal.toString(): plain when scale >= 0 and the adjusted exponent >= -6, else
 * scientific ("1E-7", "1.5E+3", "0E-8"). */
static void emit_bigdecimal_string(sl_buf_t *o, const digits_t *d, int64_t scale)
{
    size_t nd = digits_len(d), i = 0;
    while (i + 1 < nd && digit_at(d, i) == '0')
        i++;
    size_t len = nd - i; /* coefficient length (>= 1 unless nd == 0) */
    bool zero = nd == 0 || (len == 1 && digit_at(d, i) == '0');
    sl_buf_addc(o, '"');
    if (d->neg && !zero)
        sl_buf_addc(o, '-');
    if (nd == 0) { /* an empty coefficient is zero */
        sl_buf_addc(o, '0');
        len = 1;
        i = 0;
    }
#define COEF(k) (nd == 0 ? '0' : digit_at(d, i + (k)))
    int64_t adjusted = -scale + (int64_t)(len - 1);
    if (scale == 0) {
        for (size_t k = 0; nd && k < len; k++)
            sl_buf_addc(o, COEF(k));
    } else if (scale > 0 && adjusted >= -6) {
        if ((int64_t)len > scale) {
            size_t ip = len - (size_t)scale;
            for (size_t k = 0; k < ip; k++)
                sl_buf_addc(o, COEF(k));
            sl_buf_addc(o, '.');
            for (size_t k = ip; k < len; k++)
                sl_buf_addc(o, COEF(k));
        } else {
            ADD(o, "0.");
            for (int64_t k = 0; k < scale - (int64_t)len; k++)
                sl_buf_addc(o, '0');
            for (size_t k = 0; k < len; k++)
                sl_buf_addc(o, COEF(k));
        }
    } else {
        if (nd)
            sl_buf_addc(o, COEF(0));
        if (len > 1) {
            sl_buf_addc(o, '.');
            for (size_t k = 1; k < len; k++)
                sl_buf_addc(o, COEF(k));
        }
        if (adjusted != 0) {
            sl_buf_addc(o, 'E');
            if (adjusted > 0)
                sl_buf_addc(o, '+');
            sl_json_i64(o, adjusted);
        }
    }
#undef COEF
    sl_buf_addc(o, '"');
}

static int numeric_value(const sl_pgconv_t *c, sl_buf_t *o, const char *s, size_t n)
{
    double special;
    if (special_float(s, n, &special)) {
        switch (c->dmode) {
        case SL_DECIMAL_DOUBLE:
            sl_json_f64(o, special);
            return SL_OK;
        case SL_DECIMAL_STRING:
            /* SpecialValueDecimal.toString() is the enum constant's name. */
            if (isnan(special))
                ADD(o, "\"NAN\"");
            else if (special > 0)
                ADD(o, "\"POSITIVE_INFINITY\"");
            else
                ADD(o, "\"NEGATIVE_INFINITY\"");
            return SL_OK;
        default:
            /* Debezium throws a ConnectException ("Got a special value (NaN/Infinity)
             * for Decimal type in column ... set decimal handling mode to 'string'")
             * and the connector stops: precise mode cannot carry NaN/Infinity. We
             * report the same condition and let the caller stop with that hint. */
            return SL_ERR_UNSUPPORTED;
        }
    }
    numtext_t t;
    int rc = parse_numeric(s, n, &t);
    if (rc)
        return rc;
    if (c->dmode == SL_DECIMAL_DOUBLE) {
        double v;
        rc = parse_f64(s, n, &v); /* strtod rounds correctly, as BigDecimal.doubleValue */
        if (rc)
            return rc;
        sl_json_f64(o, v);
        return SL_OK;
    }
    digits_t d;
    int64_t scale;
    if (c->varscale) {
        /* Unconstrained numeric: the value's own scale. In precise mode Debezium strips
         * trailing zeros (never below scale 0): 1.500 -> {"scale":1,...}, 0.00 -> 0. */
        d.neg = t.neg;
        d.a = t.ip;
        d.an = t.in;
        d.b = t.fp;
        d.bn = t.fn;
        d.zeros = 0;
        if (c->dmode == SL_DECIMAL_PRECISE)
            while (d.bn > 0 && d.b[d.bn - 1] == '0')
                d.bn--;
        scale = (int64_t)d.bn;
        if (c->dmode == SL_DECIMAL_PRECISE) {
            bool zero = true;
            for (size_t k = 0; k < digits_len(&d) && zero; k++)
                zero = digit_at(&d, k) == '0';
            if (zero) {
                d.bn = 0;
                scale = 0;
            }
        }
    } else {
        rc = numeric_at_scale(&t, c->scale, &d);
        if (rc)
            return rc;
        scale = c->scale;
    }
    if (c->dmode == SL_DECIMAL_STRING) {
        emit_bigdecimal_string(o, &d, scale);
        return SL_OK;
    }
    if (c->varscale) {
        ADD(o, "{\"scale\":");
        sl_json_i64(o, scale);
        ADD(o, ",\"value\":");
        rc = emit_unscaled(o, &d);
        if (rc)
            return rc;
        sl_buf_addc(o, '}');
        return SL_OK;
    }
    return emit_unscaled(o, &d);
}

/* ---- money ------------------------------------------------------------------------------- */

/*
 * money's text depends on lc_monetary; with lc_monetary=C it is "$1,234.56" or
 * "-$1,234.56". Debezium (AbstractColumnValue.asMoney) drops the sign and the one-char
 * currency symbol, removes the ',' separators and reads a BigDecimal; precise mode then
 * uses setScale(money.fraction.digits=2, HALF_UP), string mode toPlainString(), double
 * mode doubleValue(). We skip any currency symbol (not only one character).
 */
typedef struct money {
    bool neg;
    uint64_t ip;     /* integer part */
    char frac[20];   /* fraction digits as written */
    size_t fn;
} money_t;

static int parse_money(const char *s, size_t n, money_t *m)
{
    const char *p = s, *end = s + n;
    bool paren = false;
    m->neg = false;
    m->ip = 0;
    m->fn = 0;
    if (p < end && *p == '-') {
        m->neg = true;
        p++;
    } else if (p < end && *p == '(') {
        m->neg = paren = true;
        p++;
    }
    while (p < end && !is_digit(*p) && *p != '-')
        p++; /* currency symbol */
    if (p < end && *p == '-' && !m->neg) { /* "$-1.00" style */
        m->neg = true;
        p++;
    }
    bool any = false;
    for (; p < end && (is_digit(*p) || *p == ','); p++) {
        if (*p == ',')
            continue;
        unsigned dg = (unsigned)(*p - '0');
        if (m->ip > (UINT64_MAX - dg) / 10)
            return SL_ERR_PROTO;
        m->ip = m->ip * 10 + dg;
        any = true;
    }
    if (p < end && *p == '.') {
        for (p++; p < end && is_digit(*p); p++) {
            if (m->fn >= sizeof m->frac)
                return SL_ERR_PROTO;
            m->frac[m->fn++] = *p;
            any = true;
        }
    }
    if (paren) {
        if (p >= end || *p != ')')
            return SL_ERR_PROTO;
        p++;
    }
    if (!any || p != end)
        return SL_ERR_PROTO;
    return SL_OK;
}

static int money_value(const sl_pgconv_t *c, sl_buf_t *o, const char *s, size_t n)
{
    money_t m;
    int rc = parse_money(s, n, &m);
    if (rc)
        return rc;
    if (c->dmode == SL_DECIMAL_STRING) {
        bool zero = m.ip == 0;
        for (size_t k = 0; k < m.fn; k++)
            zero = zero && m.frac[k] == '0';
        sl_buf_addc(o, '"');
        if (m.neg && !zero)
            sl_buf_addc(o, '-');
        sl_json_u64(o, m.ip);
        if (m.fn) {
            sl_buf_addc(o, '.');
            sl_buf_add(o, m.frac, m.fn);
        }
        sl_buf_addc(o, '"');
        return SL_OK;
    }
    if (c->dmode == SL_DECIMAL_DOUBLE) {
        char tmp[64];
        char *p = tmp;
        if (m.neg)
            *p++ = '-';
        p = put_uint(p, m.ip);
        *p++ = '.';
        memcpy(p, m.frac, m.fn);
        p += m.fn;
        *p++ = '0';
        *p = 0;
        sl_json_f64(o, strtod(tmp, NULL));
        return SL_OK;
    }
    /* precise: cents, HALF_UP */
    uint64_t cents;
    if (__builtin_mul_overflow(m.ip, 100, &cents))
        return SL_ERR_PROTO;
    unsigned f = 0;
    for (size_t k = 0; k < 2; k++)
        f = f * 10 + (k < m.fn ? (unsigned)(m.frac[k] - '0') : 0);
    if (m.fn > 2 && m.frac[2] >= '5')
        f++;
    if (__builtin_add_overflow(cents, f, &cents) || cents > (uint64_t)INT64_MAX)
        return SL_ERR_PROTO;
    emit_i64_twos(o, m.neg ? -(int64_t)cents : (int64_t)cents);
    return SL_OK;
}

/* ---- bytea and bits ------------------------------------------------------------------------ */

static inline int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* bytea_output=hex: "\x0a1b..." -> base64 of the bytes, decoded and encoded in one pass
 * straight into the output buffer. */
static int bytea_value(sl_buf_t *o, const char *s, size_t n)
{
    if (n < 2 || s[0] != '\\' || s[1] != 'x' || (n & 1))
        return SL_ERR_PROTO;
    size_t nbytes = (n - 2) / 2;
    size_t mark = o->len;
    b64w_t st;
    if (!b64_begin(o, nbytes, &st))
        return SL_OK; /* oom is sticky in the buffer */
    for (size_t i = 2; i < n; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0) {
            o->len = mark;
            o->data[mark] = 0;
            return SL_ERR_PROTO;
        }
        b64_put(&st, (uint8_t)(hi << 4 | lo));
    }
    b64_end(o, &st);
    return SL_OK;
}

/*
 * io.debezium.data.Bits: PostgresValueConverter reads the bit string into a BitSet
 * with the LAST character as bit 0, and BitSet.toByteArray() is little-endian and only
 * as long as the highest set bit needs (so B'00000000' is zero bytes, "").
 */
static int bits_value(sl_buf_t *o, const char *s, size_t n)
{
    size_t high = 0; /* 1 + index of the highest set bit */
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '0' && s[i] != '1')
            return SL_ERR_PROTO;
        if (s[i] == '1' && !high)
            high = n - i;
    }
    size_t nbytes = (high + 7) / 8;
    b64w_t st;
    if (!b64_begin(o, nbytes, &st))
        return SL_OK;
    for (size_t byte = 0; byte < nbytes; byte++) {
        uint8_t v = 0;
        for (unsigned bit = 0; bit < 8; bit++) {
            size_t j = byte * 8 + bit; /* bit index; character n-1-j */
            if (j < n && s[n - 1 - j] == '1')
                v |= (uint8_t)(1u << bit);
        }
        b64_put(&st, v);
    }
    b64_end(o, &st);
    return SL_OK;
}

static int bitbool_value(sl_buf_t *o, const char *s, size_t n)
{
    bool v = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '0' && s[i] != '1')
            return SL_ERR_PROTO;
        v = v || s[i] == '1';
    }
    sl_json_bool(o, v);
    return SL_OK;
}

/* ---- dates and times ----------------------------------------------------------------------- */

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

/* "YYYY-MM-DD" (4 to 7 year digits: PostgreSQL's dates end in 5874897 AD, which keeps
 * every epoch computation below far from int64 overflow); BC is the caller's. */
static bool parse_ymd(const char **pp, const char *end, int64_t *y, unsigned *m, unsigned *d)
{
    const char *p = *pp;
    int64_t yy = 0;
    int nd = 0;
    while (p < end && is_digit(*p) && nd < 10) {
        yy = yy * 10 + (*p++ - '0');
        nd++;
    }
    if (nd < 4 || nd > 7 || p >= end || *p != '-')
        return false;
    p++;
    if (!digits_n(p, end, 2, m) || p + 2 >= end || p[2] != '-')
        return false;
    p += 3;
    if (!digits_n(p, end, 2, d))
        return false;
    p += 2;
    *y = yy;
    *pp = p;
    return *m >= 1 && *m <= 12 && *d >= 1 && yy >= 1;
}

/* Checks the day against the month once the era is known (year is proleptic). */
static bool ymd_valid(int64_t y, unsigned m, unsigned d) { return d <= month_days(y, m); }

/* " BC" at p? Consumes it. */
static bool parse_bc(const char **pp, const char *end)
{
    if (end - *pp >= 3 && memcmp(*pp, " BC", 3) == 0) {
        *pp += 3;
        return true;
    }
    return false;
}

/* "HH:MM:SS[.ffffff]" -> microseconds of day; 24:00:00 is allowed. */
static bool parse_hms(const char **pp, const char *end, int64_t *us)
{
    const char *p = *pp;
    unsigned h, mi, se;
    if (!digits_n(p, end, 2, &h) || end - p < 8 || p[2] != ':' || p[5] != ':' ||
        !digits_n(p + 3, end, 2, &mi) || !digits_n(p + 6, end, 2, &se))
        return false;
    p += 8;
    int64_t frac = 0;
    if (p < end && *p == '.') {
        p++;
        int nd = 0;
        while (p < end && is_digit(*p)) {
            if (nd == 6)
                return false;
            frac = frac * 10 + (*p++ - '0');
            nd++;
        }
        if (nd == 0)
            return false;
        for (; nd < 6; nd++)
            frac *= 10;
    }
    if (mi > 59 || se > 59 || h > 24 || (h == 24 && (mi || se || frac)))
        return false;
    *us = ((int64_t)h * 3600 + mi * 60 + se) * 1000000 + frac;
    *pp = p;
    return true;
}

/* "+HH[:MM[:SS]]" -> seconds east of UTC. */
static bool parse_tz(const char **pp, const char *end, int32_t *off)
{
    const char *p = *pp;
    if (p >= end || (*p != '+' && *p != '-'))
        return false;
    int sign = *p++ == '-' ? -1 : 1;
    unsigned h, m = 0, s = 0;
    if (!digits_n(p, end, 2, &h))
        return false;
    p += 2;
    if (p < end && *p == ':') {
        if (!digits_n(p + 1, end, 2, &m))
            return false;
        p += 3;
        if (p < end && *p == ':') {
            if (!digits_n(p + 1, end, 2, &s))
                return false;
            p += 3;
        }
    }
    if (h > 15 || m > 59 || s > 59)
        return false;
    *off = sign * (int32_t)(h * 3600 + m * 60 + s);
    *pp = p;
    return true;
}

/* Date and timestamp epoch values Debezium emits for PostgreSQL's infinities. */
/* DateTimeFormat maps date 'infinity' to LocalDate -5877611-06-21 and '-infinity' to
 * -5877611-06-22 (sic: both in year -5877611), whose epoch days are these (the first is
 * PostgreSQL's DATEVAL_NOEND, INT32_MAX days after 2000-01-01, wrapped to 32 bits). */
#define DBZ_DATE_POS_INF (-2147472692)
#define DBZ_DATE_NEG_INF (-2147472691)
/* PGStatement.DATE_POSITIVE/NEGATIVE_INFINITY (milliseconds) are read as microseconds
 * (Conversions.toInstantFromMicros), hence these MicroTimestamp values; Timestamp (ms)
 * gets the same instant in milliseconds (floor). */
#define DBZ_TS_POS_INF_US INT64_C(9223372036825200000)
#define DBZ_TS_NEG_INF_US INT64_C(-9223372036832400000)
#define DBZ_TS_POS_INF_MS INT64_C(9223372036825200)
#define DBZ_TS_NEG_INF_MS INT64_C(-9223372036832400)

static int date_value(sl_buf_t *o, const char *s, size_t n)
{
    if (eq_lit(s, n, "infinity")) {
        sl_json_i64(o, DBZ_DATE_POS_INF);
        return SL_OK;
    }
    if (eq_lit(s, n, "-infinity")) {
        sl_json_i64(o, DBZ_DATE_NEG_INF);
        return SL_OK;
    }
    const char *p = s, *end = s + n;
    int64_t y;
    unsigned m, d;
    if (!parse_ymd(&p, end, &y, &m, &d))
        return SL_ERR_PROTO;
    if (parse_bc(&p, end))
        y = 1 - y;
    if (p != end || !ymd_valid(y, m, d))
        return SL_ERR_PROTO;
    /* io.debezium.time.Date.toEpochDay: (int) LocalDate.toEpochDay() */
    sl_json_i64(o, (int32_t)(uint32_t)sl_days_from_civil(y, m, d));
    return SL_OK;
}

static int time_value(const sl_pgconv_t *c, sl_buf_t *o, const char *s, size_t n)
{
    const char *p = s, *end = s + n;
    int64_t us;
    if (!parse_hms(&p, end, &us) || p != end)
        return SL_ERR_PROTO;
    /* Duration.toNanos()/1000 resp. Duration.toMillis(); 24:00:00 is 86400000000 us */
    sl_json_i64(o, c->micro ? us : us / 1000);
    return SL_OK;
}

/* Parses a timestamp[tz] into epoch seconds (floor) and microseconds [0, 1e6). */
static bool parse_timestamp(const char *s, size_t n, bool with_tz, int64_t *sec, int64_t *usec)
{
    const char *p = s, *end = s + n;
    int64_t y, tod;
    unsigned m, d;
    int32_t off = 0;
    if (!parse_ymd(&p, end, &y, &m, &d) || p >= end || *p++ != ' ' || !parse_hms(&p, end, &tod))
        return false;
    if (tod >= INT64_C(86400000000))
        return false;
    if (with_tz && !parse_tz(&p, end, &off))
        return false;
    if (parse_bc(&p, end))
        y = 1 - y;
    if (p != end || !ymd_valid(y, m, d))
        return false;
    int64_t t = sl_days_from_civil(y, m, d) * 86400 + tod / 1000000 - off;
    *sec = t;
    *usec = tod % 1000000;
    return true;
}

/* Conversions.toEpochMicros(Instant): TimeUnit.SECONDS.toMicros (saturating) plus the
 * micros of the second (wrapping, as Java long arithmetic). */
static int64_t java_epoch_micros(int64_t sec, int64_t usec)
{
    int64_t r;
    if (__builtin_mul_overflow(sec, INT64_C(1000000), &r))
        r = sec < 0 ? INT64_MIN : INT64_MAX;
    return (int64_t)((uint64_t)r + (uint64_t)usec);
}

static int timestamp_value(const sl_pgconv_t *c, sl_buf_t *o, const char *s, size_t n)
{
    if (eq_lit(s, n, "infinity")) {
        sl_json_i64(o, c->micro ? DBZ_TS_POS_INF_US : DBZ_TS_POS_INF_MS);
        return SL_OK;
    }
    if (eq_lit(s, n, "-infinity")) {
        sl_json_i64(o, c->micro ? DBZ_TS_NEG_INF_US : DBZ_TS_NEG_INF_MS);
        return SL_OK;
    }
    int64_t sec, usec;
    if (!parse_timestamp(s, n, false, &sec, &usec))
        return SL_ERR_PROTO;
    if (c->micro)
        sl_json_i64(o, java_epoch_micros(sec, usec));
    else
        sl_json_i64(o, sec * 1000 + usec / 1000); /* Instant.toEpochMilli() */
    return SL_OK;
}

/* java.time's ISO_LOCAL_DATE year: 4 digits at least, '+' above 9999, '-' below 0. */
static char *put_year(char *p, int64_t y)
{
    uint64_t a = y < 0 ? (uint64_t)0 - (uint64_t)y : (uint64_t)y;
    if (y > 9999)
        *p++ = '+';
    else if (y < 0)
        *p++ = '-';
    if (a < 1000)
        *p++ = '0';
    if (a < 100)
        *p++ = '0';
    if (a < 10)
        *p++ = '0';
    return put_uint(p, a);
}

/* Appends ".ffffff" cut to `width` digits, or (width 0) only the significant digits
 * (java.time's appendFraction(0, 9) as in ISO_LOCAL_TIME); nothing for 0 in ISO form. */
static char *put_fraction(char *p, int64_t usec, int width)
{
    char f[6];
    int64_t v = usec;
    for (int i = 5; i >= 0; i--) {
        f[i] = (char)('0' + v % 10);
        v /= 10;
    }
    int nd = width;
    if (width <= 0) {
        nd = 6;
        while (nd > 0 && f[nd - 1] == '0')
            nd--;
        if (nd == 0)
            return p;
    }
    *p++ = '.';
    memcpy(p, f, (size_t)nd);
    return p + nd;
}

/*
 * io.debezium.time.ZonedTimestamp in UTC. Since Debezium 2.2 (DBZ-6163) the fraction
 * has exactly as many digits as the column's precision (6 for plain timestamptz), and
 * precision 0 falls back to ISO_OFFSET_DATE_TIME (no fraction when zero):
 *   2024-01-02T03:04:05.120000Z, +10000-01-01T00:00:00.000000Z, -0043-03-15T...Z
 */
static int timestamptz_value(const sl_pgconv_t *c, sl_buf_t *o, const char *s, size_t n)
{
    if (eq_lit(s, n, "infinity") || eq_lit(s, n, "-infinity")) {
        sl_json_str(o, s, n); /* PostgresValueConverter passes these strings through */
        return SL_OK;
    }
    int64_t sec, usec;
    if (!parse_timestamp(s, n, true, &sec, &usec))
        return SL_ERR_PROTO;
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t tod = sec - days * 86400;
    int64_t y;
    unsigned m, d;
    sl_civil_from_days(days, &y, &m, &d);
    char tmp[64];
    char *p = tmp;
    *p++ = '"';
    p = put_year(p, y);
    *p++ = '-';
    p = put2(p, m);
    *p++ = '-';
    p = put2(p, d);
    *p++ = 'T';
    p = put2(p, (unsigned)(tod / 3600));
    *p++ = ':';
    p = put2(p, (unsigned)(tod / 60 % 60));
    *p++ = ':';
    p = put2(p, (unsigned)(tod % 60));
    p = put_fraction(p, usec, c->scale);
    *p++ = 'Z';
    *p++ = '"';
    sl_buf_add(o, tmp, (size_t)(p - tmp));
    return SL_OK;
}

/* io.debezium.time.ZonedTime: the time shifted to UTC, ISO_OFFSET_TIME ("04:05:06.5Z");
 * 24:00:00 at offset zero stays "24:00:00Z" (PostgresTimeBoundary). */
static int timetz_value(sl_buf_t *o, const char *s, size_t n)
{
    const char *p = s, *end = s + n;
    int64_t us;
    int32_t off;
    if (!parse_hms(&p, end, &us) || !parse_tz(&p, end, &off) || p != end)
        return SL_ERR_PROTO;
    const int64_t day = INT64_C(86400000000);
    if (us == day && off == 0) {
        ADD(o, "\"24:00:00Z\"");
        return SL_OK;
    }
    int64_t utc = (us - (int64_t)off * 1000000) % day;
    if (utc < 0)
        utc += day;
    int64_t sec = utc / 1000000;
    char tmp[32];
    char *w = tmp;
    *w++ = '"';
    w = put2(w, (unsigned)(sec / 3600));
    *w++ = ':';
    w = put2(w, (unsigned)(sec / 60 % 60));
    *w++ = ':';
    w = put2(w, (unsigned)(sec % 60));
    w = put_fraction(w, utc % 1000000, 0);
    *w++ = 'Z';
    *w++ = '"';
    sl_buf_add(o, tmp, (size_t)(w - tmp));
    return SL_OK;
}

/* ---- interval -------------------------------------------------------------------------------- */

typedef struct ivl {
    int64_t months, days, hours, minutes, secs, micros;
} ivl_t;

/* A signed integer, optionally followed by a fraction (only when frac != NULL):
 * whole part and fraction in microseconds, both carrying the sign. At least one digit. */
static bool parse_signed(const char **pp, const char *end, int64_t *whole, int64_t *frac)
{
    const char *p = *pp;
    bool neg = false;
    if (p < end && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    int64_t v = 0, f = 0;
    int nd = 0, fd = 0;
    while (p < end && is_digit(*p)) {
        if (v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (*p++ - '0');
        nd++;
    }
    if (frac && p < end && *p == '.') {
        for (p++; p < end && is_digit(*p); p++, fd++)
            if (fd < 6)
                f = f * 10 + (*p - '0');
        for (int k = fd; k < 6; k++)
            f *= 10;
    }
    if (nd + fd == 0)
        return false;
    *whole = neg ? -v : v;
    if (frac)
        *frac = neg ? -f : f;
    *pp = p;
    return true;
}

/* *dst += v * mul, false on overflow (the server never sends such text; a fuzzer does). */
static bool acc(int64_t *dst, int64_t v, int64_t mul)
{
    int64_t t;
    return !__builtin_mul_overflow(v, mul, &t) && !__builtin_add_overflow(*dst, t, dst);
}

/* IntervalStyle=iso_8601: "P1Y2M3DT4H5M6.7S", "PT0S", "P-1Y-2M3DT-4H-5M-6.5S". */
static bool parse_interval_iso(const char *s, size_t n, ivl_t *v)
{
    const char *p = s + 1, *end = s + n;
    bool in_time = false, any = false;
    while (p < end) {
        if (*p == 'T') {
            in_time = true;
            p++;
            continue;
        }
        int64_t w, f = 0;
        if (!parse_signed(&p, end, &w, in_time ? &f : NULL) || p >= end)
            return false;
        char u = *p++;
        bool ok;
        if (!in_time && u == 'Y')
            ok = acc(&v->months, w, 12);
        else if (!in_time && u == 'M')
            ok = acc(&v->months, w, 1);
        else if (!in_time && u == 'W')
            ok = acc(&v->days, w, 7);
        else if (!in_time && u == 'D')
            ok = acc(&v->days, w, 1);
        else if (in_time && u == 'H' && f == 0)
            ok = acc(&v->hours, w, 1);
        else if (in_time && u == 'M' && f == 0)
            ok = acc(&v->minutes, w, 1);
        else if (in_time && u == 'S')
            ok = acc(&v->secs, w, 1) && acc(&v->micros, f, 1);
        else
            ok = false;
        if (!ok)
            return false;
        any = true;
    }
    return any;
}

/* IntervalStyle=postgres: "1 year 2 mons -3 days +04:05:06.7", "-00:00:01". */
static bool parse_interval_pg(const char *s, size_t n, ivl_t *v)
{
    const char *p = s, *end = s + n;
    bool any = false;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        if (p >= end)
            break;
        const char *tok = p;
        int64_t w;
        if (!parse_signed(&p, end, &w, NULL))
            return false;
        if (p < end && *p == ':') {
            /* [-]HH:MM:SS[.ffffff]; pgjdbc applies the sign to all three parts */
            bool neg = *tok == '-';
            int64_t h = w < 0 ? -w : w, mi, se, fr = 0;
            p++;
            if (!parse_signed(&p, end, &mi, NULL) || p >= end || *p++ != ':' ||
                !parse_signed(&p, end, &se, &fr))
                return false;
            int64_t sg = neg ? -1 : 1;
            if (!acc(&v->hours, h, sg) || !acc(&v->minutes, mi, sg) || !acc(&v->secs, se, sg) ||
                !acc(&v->micros, fr, sg))
                return false;
            any = true;
            continue;
        }
        if (p >= end || *p != ' ')
            return false;
        p++;
        const char *unit = p;
        while (p < end && *p != ' ')
            p++;
        size_t ul = (size_t)(p - unit);
        bool ok;
        if ((ul == 4 || ul == 5) && memcmp(unit, "year", 4) == 0)
            ok = acc(&v->months, w, 12);
        else if ((ul == 3 || ul == 4) && memcmp(unit, "mon", 3) == 0)
            ok = acc(&v->months, w, 1);
        else if ((ul == 3 || ul == 4) && memcmp(unit, "day", 3) == 0)
            ok = acc(&v->days, w, 1);
        else
            ok = false;
        if (!ok)
            return false;
        any = true;
    }
    return any;
}

/*
 * io.debezium.time.MicroDuration: pgjdbc's PGInterval fields fed to
 * MicroDuration.durationMicros(years, months, days, hours, minutes, seconds, 365.25/12):
 *   days = (years*12 + months) * 30.4375 + days
 *   secs = ((days*24 + hours)*60 + minutes)*60 + seconds     (all in double)
 *   (long)(secs * 1e6)
 * with seconds = wholeSeconds + microSeconds/1e6 as PGInterval.getSeconds() computes.
 */
static int interval_value(sl_buf_t *o, const char *s, size_t n)
{
    /* PostgreSQL 17 infinite intervals: pgjdbc cannot parse them and Debezium fails;
     * we saturate instead. */
    if (eq_lit(s, n, "infinity")) {
        sl_json_i64(o, INT64_MAX);
        return SL_OK;
    }
    if (eq_lit(s, n, "-infinity")) {
        sl_json_i64(o, INT64_MIN);
        return SL_OK;
    }
    ivl_t v = {0, 0, 0, 0, 0, 0};
    bool ok = n > 0 && s[0] == 'P' ? parse_interval_iso(s, n, &v) : parse_interval_pg(s, n, &v);
    if (!ok)
        return SL_ERR_PROTO;
    double t = rnd((double)v.months * (365.25 / 12.0));
    t = rnd(t + (double)v.days);
    t = rnd(t * 24);
    t = rnd(t + (double)v.hours);
    t = rnd(t * 60);
    t = rnd(t + (double)v.minutes);
    t = rnd(t * 60);
    double secs = rnd((double)v.secs + rnd((double)v.micros / 1000000.0));
    t = rnd(t + secs);
    t = rnd(t * 1e6);
    sl_json_i64(o, java_d2l(t));
    return SL_OK;
}

/* ---- arrays ------------------------------------------------------------------------------------- */

static int conv_value(const sl_pgconv_t *c, sl_buf_t *o, const char *s, size_t n);

/* Emits one element whose text still contains backslash escapes. Strings are unescaped
 * on the fly into the JSON escaper; other kinds get an unescaped copy. */
static int element_escaped(const sl_pgconv_t *e, sl_buf_t *o, const char *s, size_t n)
{
    if (e->kind == K_STRING) {
        sl_buf_addc(o, '"');
        size_t run = 0;
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '\\' && i + 1 < n) {
                sl_json_str_body(o, s + run, i - run);
                run = ++i; /* the escaped character starts the next run */
            }
        }
        sl_json_str_body(o, s + run, n - run);
        sl_buf_addc(o, '"');
        return SL_OK;
    }
    char stackbuf[256];
    stackbuf[0] = 0; /* quiets gcc -O2 -Wmaybe-uninitialized; n >= 2 here anyway */
    char *tmp = n <= sizeof stackbuf ? stackbuf : malloc(n);
    if (!tmp)
        return SL_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n)
            i++;
        tmp[k++] = s[i];
    }
    int rc = conv_value(e, o, tmp, k);
    if (tmp != stackbuf)
        free(tmp);
    return rc;
}

static inline bool array_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* One brace level "{...}" at *pp (array_out's format: elements separated by the type's
 * delimiter, quoted when needed with \-escapes, NULL unquoted). */
static int array_level(const sl_pgconv_t *c, sl_buf_t *o, const char **pp, const char *end,
                       int depth)
{
    const char *p = *pp;
    if (p >= end || *p != '{')
        return SL_ERR_PROTO;
    p++;
    sl_buf_addc(o, '[');
    while (p < end && array_space(*p))
        p++;
    if (p < end && *p == '}') {
        *pp = p + 1;
        sl_buf_addc(o, ']');
        return SL_OK;
    }
    for (bool first = true;; first = false) {
        int rc;
        while (p < end && array_space(*p))
            p++;
        if (p >= end)
            return SL_ERR_PROTO;
        if (!first)
            sl_buf_addc(o, ',');
        if (*p == '{') {
            if (depth >= MAX_ARRAY_DIMS)
                return SL_ERR_PROTO;
            rc = array_level(c, o, &p, end, depth + 1);
        } else if (*p == '"') {
            const char *start = ++p;
            bool esc = false;
            while (p < end && *p != '"') {
                if (*p == '\\') {
                    esc = true;
                    if (++p >= end)
                        return SL_ERR_PROTO;
                }
                p++;
            }
            if (p >= end)
                return SL_ERR_PROTO;
            size_t len = (size_t)(p - start);
            p++; /* closing quote */
            rc = esc ? element_escaped(c->elem, o, start, len) : conv_value(c->elem, o, start, len);
        } else {
            const char *start = p;
            bool esc = false;
            while (p < end && *p != c->delim && *p != '}' && *p != '{' && *p != '"') {
                if (*p == '\\') {
                    esc = true;
                    if (++p >= end)
                        return SL_ERR_PROTO;
                }
                p++;
            }
            const char *stop = p;
            while (stop > start && array_space(stop[-1]))
                stop--;
            size_t len = (size_t)(stop - start);
            if (len == 0)
                return SL_ERR_PROTO;
            if (!esc && len == 4 && (start[0] | 0x20) == 'n' && (start[1] | 0x20) == 'u' &&
                (start[2] | 0x20) == 'l' && (start[3] | 0x20) == 'l') {
                sl_json_null(o);
                rc = SL_OK;
            } else {
                rc = esc ? element_escaped(c->elem, o, start, len) : conv_value(c->elem, o, start, len);
            }
        }
        if (rc)
            return rc;
        while (p < end && array_space(*p))
            p++;
        if (p >= end)
            return SL_ERR_PROTO;
        if (*p == c->delim) {
            p++;
            continue;
        }
        if (*p == '}') {
            p++;
            break;
        }
        return SL_ERR_PROTO;
    }
    sl_buf_addc(o, ']');
    *pp = p;
    return SL_OK;
}

static int array_value(const sl_pgconv_t *c, sl_buf_t *o, const char *s, size_t n)
{
    const char *p = s, *end = s + n;
    if (p < end && *p == '[') { /* dimension decoration "[0:2]={...}" */
        const char *eq = memchr(p, '=', n);
        if (!eq)
            return SL_ERR_PROTO;
        p = eq + 1;
    }
    int rc = array_level(c, o, &p, end, 1);
    if (rc)
        return rc;
    while (p < end && array_space(*p))
        p++;
    return p == end ? SL_OK : SL_ERR_PROTO;
}

/* ---- value dispatch ------------------------------------------------------------------------------ */

static int conv_value(const sl_pgconv_t *c, sl_buf_t *o, const char *s, size_t n)
{
    int64_t v;
    int rc;
    switch (c->kind) {
    case K_STRING:
        sl_json_str(o, s, n);
        return SL_OK;
    case K_INT32:
        if ((rc = parse_int(s, n, INT32_MAX, &v)))
            return rc;
        sl_json_i64(o, v);
        return SL_OK;
    case K_INT64:
        if ((rc = parse_int(s, n, INT64_MAX, &v)))
            return rc;
        sl_json_i64(o, v);
        return SL_OK;
    case K_INT16:
        if ((rc = parse_int(s, n, INT16_MAX, &v)))
            return rc;
        sl_json_i64(o, v);
        return SL_OK;
    case K_OID:
        if ((rc = parse_int(s, n, UINT32_MAX, &v)) || v < 0)
            return SL_ERR_PROTO;
        sl_json_i64(o, v);
        return SL_OK;
    case K_BOOL:
        /* PgOutputColumnValue.asBoolean: "t".equalsIgnoreCase(value) */
        if (n == 1 && (s[0] | 0x20) == 't')
            sl_json_bool(o, 1);
        else if (n == 1 && (s[0] | 0x20) == 'f')
            sl_json_bool(o, 0);
        else if (n == 4 && strncasecmp(s, "true", 4) == 0)
            sl_json_bool(o, 1);
        else if (n == 5 && strncasecmp(s, "false", 5) == 0)
            sl_json_bool(o, 0);
        else
            return SL_ERR_PROTO;
        return SL_OK;
    case K_FLOAT64: {
        double d;
        if ((rc = parse_f64(s, n, &d)))
            return rc;
        sl_json_f64(o, d);
        return SL_OK;
    }
    case K_FLOAT32: {
        float f;
        if ((rc = parse_f32(s, n, &f)))
            return rc;
        sl_json_f32(o, f);
        return SL_OK;
    }
    case K_NUMERIC:
        return numeric_value(c, o, s, n);
    case K_MONEY:
        return money_value(c, o, s, n);
    case K_BYTEA:
        return bytea_value(o, s, n);
    case K_DATE:
        return date_value(o, s, n);
    case K_TIME:
        return time_value(c, o, s, n);
    case K_TIMETZ:
        return timetz_value(o, s, n);
    case K_TIMESTAMP:
        return timestamp_value(c, o, s, n);
    case K_TIMESTAMPTZ:
        return timestamptz_value(c, o, s, n);
    case K_INTERVAL:
        return interval_value(o, s, n);
    case K_BIT_BOOL:
        return bitbool_value(o, s, n);
    case K_BITS:
        return bits_value(o, s, n);
    case K_ARRAY:
        return array_value(c, o, s, n);
    default:
        return SL_ERR_PROTO;
    }
}

int sl_pgconv_value(const sl_pgconv_t *conv, sl_buf_t *out, const char *text, size_t len)
{
    size_t mark = out->len;
    int rc = conv_value(conv, out, text, len);
    if (rc != SL_OK) {
        out->len = mark;
        if (out->data)
            out->data[mark] = 0;
    }
    return rc;
}

/* ---- unavailable (TOASTed) values -------------------------------------------------------------- */

/*
 * UnchangedToastedPlaceholder: the placeholder string for string-like columns; its
 * bytes for bytea; ["<placeholder>"] for text/varchar/json/jsonb arrays; for int4[]
 * and date[] (and int8[]) the list of the placeholder's byte values
 * [95,95,100,...]. Other columns get the bare string in Debezium (handleUnknownData),
 * which is what we emit for scalars; for other arrays we emit the one-element array so
 * that the value at least has the schema's shape.
 */
void sl_pgconv_unavailable(const sl_pgconv_t *conv, sl_buf_t *out)
{
    static const char ph[] = SL_UNAVAILABLE_VALUE;
    if (conv->kind == K_BYTEA) {
        sl_json_base64(out, (const uint8_t *)ph, sizeof ph - 1);
        return;
    }
    if (conv->kind == K_ARRAY) {
        uint8_t ek = conv->elem->kind;
        sl_buf_addc(out, '[');
        if (ek == K_INT32 || ek == K_DATE || ek == K_INT64) {
            for (size_t i = 0; i < sizeof ph - 1; i++) {
                if (i)
                    sl_buf_addc(out, ',');
                sl_json_i64(out, (signed char)ph[i]);
            }
        } else {
            sl_json_str(out, ph, sizeof ph - 1);
        }
        sl_buf_addc(out, ']');
        return;
    }
    sl_json_str(out, ph, sizeof ph - 1);
}

/* ---- schemas ------------------------------------------------------------------------------------- */

static void schema_param(sl_buf_t *o, bool *first, const char *key, const char *val)
{
    sl_buf_addc(o, *first ? '{' : ',');
    *first = false;
    sl_json_strz(o, key);
    sl_buf_addc(o, ':');
    sl_json_strz(o, val);
}

/* JsonConverter.asJsonSchema order: type, [items|fields], optional, name, version, doc,
 * parameters; the enclosing struct appends "field". */
static void write_schema(const sl_pgconv_t *c, sl_buf_t *o, bool optional, const char *field)
{
    const char *type = "string", *name = NULL;
    char num1[16], num2[16];
    const char *pk1 = NULL, *pv1 = NULL, *pk2 = NULL, *pv2 = NULL;

    switch (c->kind) {
    case K_BOOL:
    case K_BIT_BOOL: type = "boolean"; break;
    case K_INT16: type = "int16"; break;
    case K_INT32: type = "int32"; break;
    case K_INT64:
    case K_OID: type = "int64"; break;
    case K_FLOAT32: type = "float"; break;
    case K_FLOAT64: type = "double"; break;
    case K_BYTEA: type = "bytes"; break;
    case K_DATE: type = "int32"; name = "io.debezium.time.Date"; break;
    case K_TIME:
        type = c->micro ? "int64" : "int32";
        name = c->micro ? "io.debezium.time.MicroTime" : "io.debezium.time.Time";
        break;
    case K_TIMETZ: name = "io.debezium.time.ZonedTime"; break;
    case K_TIMESTAMP:
        type = "int64";
        name = c->micro ? "io.debezium.time.MicroTimestamp" : "io.debezium.time.Timestamp";
        break;
    case K_TIMESTAMPTZ: name = "io.debezium.time.ZonedTimestamp"; break;
    case K_INTERVAL: type = "int64"; name = "io.debezium.time.MicroDuration"; break;
    case K_BITS:
        type = "bytes";
        name = "io.debezium.data.Bits";
        snprintf(num1, sizeof num1, "%d", (int)c->precision);
        pk1 = "length";
        pv1 = num1;
        break;
    case K_NUMERIC:
    case K_MONEY:
        if (c->dmode == SL_DECIMAL_DOUBLE) {
            type = "double";
        } else if (c->dmode == SL_DECIMAL_STRING) {
            type = "string";
        } else if (c->kind == K_NUMERIC && c->varscale) {
            ADD(o, "{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,"
                   "\"field\":\"scale\"},{\"type\":\"bytes\",\"optional\":false,"
                   "\"field\":\"value\"}],\"optional\":");
            sl_json_bool(o, optional);
            ADD(o, ",\"name\":\"io.debezium.data.VariableScaleDecimal\",\"version\":1,"
                   "\"doc\":\"Variable scaled decimal\"");
            goto field;
        } else {
            type = "bytes";
            name = "org.apache.kafka.connect.data.Decimal";
            snprintf(num1, sizeof num1, "%d", (int)c->scale);
            pk1 = "scale";
            pv1 = num1;
            if (c->kind == K_NUMERIC) { /* money: Decimal.builder(money.fraction.digits) */
                snprintf(num2, sizeof num2, "%d", (int)c->precision);
                pk2 = "connect.decimal.precision";
                pv2 = num2;
            }
        }
        break;
    case K_STRING:
        switch (c->sem) {
        case S_JSON: name = "io.debezium.data.Json"; break;
        case S_XML: name = "io.debezium.data.Xml"; break;
        case S_UUID: name = "io.debezium.data.Uuid"; break;
        case S_LTREE: name = "io.debezium.data.Ltree"; break;
        case S_ENUM:
            name = "io.debezium.data.Enum";
            pk1 = "allowed";
            pv1 = c->param ? c->param : "";
            break;
        case S_UNKNOWN:
            pk1 = "__debezium.source.column.type";
            pv1 = c->param ? c->param : "";
            break;
        default: break;
        }
        break;
    case K_ARRAY:
        ADD(o, "{\"type\":\"array\",\"items\":");
        write_schema(c->elem, o, !c->elem_required, NULL);
        ADD(o, ",\"optional\":");
        sl_json_bool(o, optional);
        goto field;
    default: break;
    }

    ADD(o, "{\"type\":\"");
    sl_buf_adds(o, type);
    ADD(o, "\",\"optional\":");
    sl_json_bool(o, optional);
    if (name) {
        ADD(o, ",\"name\":\"");
        sl_buf_adds(o, name);
        ADD(o, "\",\"version\":1");
    }
    if (pk1) {
        bool first = true;
        ADD(o, ",\"parameters\":");
        schema_param(o, &first, pk1, pv1);
        if (pk2)
            schema_param(o, &first, pk2, pv2);
        sl_buf_addc(o, '}');
    }
field:
    if (field) {
        ADD(o, ",\"field\":");
        sl_json_strz(o, field);
    }
    sl_buf_addc(o, '}');
}

void sl_pgconv_schema(const sl_pgconv_t *conv, sl_buf_t *out, const char *field, bool optional)
{
    write_schema(conv, out, optional, field);
}

/* ---- resolution ---------------------------------------------------------------------------------- */

typedef struct resolve_ctx {
    sl_pgtype_lookup_fn lookup;
    void *ud;
    int dmode;
    char *errstr;
    size_t errstr_size;
} resolve_ctx_t;

static void conv_free(sl_pgconv_t *c)
{
    if (!c)
        return;
    conv_free(c->elem);
    free(c->param);
    free(c);
}

/* time/timestamp precision from the typmod: -1 means 6 (pgjdbc TypeInfoCache.getScale). */
static int32_t time_precision(int32_t typmod) { return typmod < 0 || typmod > 6 ? 6 : typmod; }

static void init_scalar(sl_pgconv_t *c, uint8_t kind, uint8_t sem, int32_t typmod, int dmode)
{
    c->kind = kind;
    c->sem = sem;
    c->dmode = (uint8_t)dmode;
    switch (kind) {
    case K_NUMERIC:
        if (typmod < 4) {
            c->varscale = 1;
        } else {
            int32_t t = typmod - 4;
            c->precision = (t >> 16) & 0xFFFF;
            c->scale = (((t & 0x7FF) ^ 1024) - 1024); /* PostgreSQL 15: scale may be < 0 */
        }
        break;
    case K_MONEY:
        c->scale = 2; /* money.fraction.digits default */
        break;
    case K_TIME:
    case K_TIMESTAMP:
        /* adaptive: precision <= 3 -> milliseconds, else microseconds */
        c->micro = time_precision(typmod) > 3;
        break;
    case K_TIMESTAMPTZ:
        c->scale = time_precision(typmod);
        break;
    case K_BIT:
        /* bit(n): n bits; Debezium: length > 1 -> Bits, else boolean */
        if (typmod > 1) {
            c->kind = K_BITS;
            c->precision = typmod;
        } else {
            c->kind = K_BIT_BOOL;
        }
        break;
    case K_VARBIT:
        /* varbit without length is Bits with length 2^31-1 (pgjdbc's unknown length) */
        if (typmod == 1) {
            c->kind = K_BIT_BOOL;
        } else {
            c->kind = K_BITS;
            c->precision = typmod < 0 ? INT32_MAX : typmod;
        }
        break;
    default:
        break;
    }
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

static int set_unknown(sl_pgconv_t *c, const char *name)
{
    c->kind = K_STRING;
    c->sem = S_UNKNOWN;
    c->param = dup_str(name);
    return c->param ? SL_OK : SL_ERR_NOMEM;
}

static int resolve(sl_pgconv_t *c, uint32_t oid, int32_t typmod, resolve_ctx_t *ctx, int depth);

static int resolve_array(sl_pgconv_t *c, uint32_t elem_oid, int32_t typmod, resolve_ctx_t *ctx,
                         int depth)
{
    c->kind = K_ARRAY;
    c->delim = elem_oid == BOX_OID ? ';' : ',';
    c->elem = calloc(1, sizeof *c->elem);
    if (!c->elem)
        return SL_ERR_NOMEM;
    /* The array column's typmod is its element's (numeric(10,2)[] -> Decimal(10,2)). */
    int rc = resolve(c->elem, elem_oid, typmod, ctx, depth + 1);
    if (rc)
        return rc;
    if (c->elem->kind == K_ARRAY) { /* "array of array" does not exist in pg_type */
        set_err(ctx->errstr, ctx->errstr_size, "type %u: array of array", elem_oid);
        return SL_ERR_PROTO;
    }
    /* Debezium builds enum array items with Enum.builder(...) without optional(). */
    c->elem_required = c->elem->kind == K_STRING && c->elem->sem == S_ENUM;
    return SL_OK;
}

static int resolve(sl_pgconv_t *c, uint32_t oid, int32_t typmod, resolve_ctx_t *ctx, int depth)
{
    if (depth > MAX_DEPTH) {
        set_err(ctx->errstr, ctx->errstr_size, "type %u: type nesting too deep", oid);
        return SL_ERR_PROTO;
    }
    c->oid = oid;
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        const builtin_t *b = &builtins[i];
        if (b->oid == oid) {
            if (b->sem == S_UNKNOWN)
                return set_unknown(c, b->name);
            init_scalar(c, b->kind, b->sem, typmod, ctx->dmode);
            return SL_OK;
        }
        if (b->array_oid == oid)
            return resolve_array(c, b->oid, typmod, ctx, depth);
    }

    if (!ctx->lookup) {
        char name[24];
        snprintf(name, sizeof name, "oid:%u", (unsigned)oid);
        return set_unknown(c, name);
    }
    sl_pgtype_info_t info;
    memset(&info, 0, sizeof info);
    info.base_typmod = -1;
    int rc = ctx->lookup(ctx->ud, oid, &info);
    if (rc != SL_OK) {
        free(info.enum_labels);
        set_err(ctx->errstr, ctx->errstr_size, "type %u: pg_type lookup failed", oid);
        return rc;
    }
    info.name[sizeof info.name - 1] = 0;
    if (info.typtype == 'd' && info.base_oid) {
        rc = resolve(c, info.base_oid, typmod >= 0 ? typmod : info.base_typmod, ctx, depth + 1);
    } else if (info.typtype == 'e') {
        c->kind = K_STRING;
        c->sem = S_ENUM;
        /* take the labels (the info owns them; we keep them instead of copying) */
        c->param = info.enum_labels ? info.enum_labels : dup_str("");
        info.enum_labels = NULL;
        rc = c->param ? SL_OK : SL_ERR_NOMEM;
    } else if (info.category == 'A' && info.elem_oid) {
        rc = resolve_array(c, info.elem_oid, typmod, ctx, depth);
    } else if (strcmp(info.name, "citext") == 0) {
        c->kind = K_STRING;
        c->sem = S_PLAIN;
    } else if (strcmp(info.name, "ltree") == 0) {
        c->kind = K_STRING;
        c->sem = S_LTREE;
    } else {
        rc = set_unknown(c, info.name[0] ? info.name : "unknown");
    }
    free(info.enum_labels);
    return rc;
}

int sl_pgconv_new(sl_pgconv_t **out, uint32_t oid, int32_t typmod, sl_pgtype_lookup_fn lookup,
                  void *ud, const sl_pgtype_opts_t *opts, char *errstr, size_t errstr_size)
{
    *out = NULL;
    int dmode = opts ? opts->decimal_mode : SL_DECIMAL_PRECISE;
    if (dmode != SL_DECIMAL_PRECISE && dmode != SL_DECIMAL_STRING && dmode != SL_DECIMAL_DOUBLE) {
        set_err(errstr, errstr_size, "type %u: invalid decimal handling mode", oid);
        return SL_ERR_CONFIG;
    }
    sl_pgconv_t *c = calloc(1, sizeof *c);
    if (!c) {
        set_err(errstr, errstr_size, "type %u: out of memory", oid);
        return SL_ERR_NOMEM;
    }
    resolve_ctx_t ctx = {lookup, ud, dmode, errstr, errstr_size};
    int rc = resolve(c, oid, typmod, &ctx, 0);
    if (rc != SL_OK) {
        if (rc == SL_ERR_NOMEM)
            set_err(errstr, errstr_size, "type %u: out of memory", oid);
        conv_free(c);
        return rc;
    }
    *out = c;
    return SL_OK;
}

void sl_pgconv_free(sl_pgconv_t *conv) { conv_free(conv); }
