/*
 * json.c — the streaming JSON writer used on the hot path (event encoding).
 *
 * What: appends compact JSON tokens (strings, integers, doubles, floats, base64 bytes,
 * literals) to an sl_buf_t, byte for byte as Kafka Connect's JsonConverter (Jackson)
 * writes them, so that a consumer comparing sluice output with Debezium output sees
 * the same text.
 *
 * How:
 *  - Strings: runs of bytes that need no attention (printable ASCII other than '"' and
 *    '\\', and valid multi-byte UTF-8) are found eight bytes at a time with word tricks
 *    and copied with one memcpy per run. Only control characters, '"', '\\' and invalid
 *    UTF-8 interrupt a run. Escapes follow Jackson: \b \t \n \f \r, \" \\, and \u00XX
 *    (upper-case hex) for the other control characters; '/' and DEL are not escaped.
 *  - Integers are written with a two-digits-at-a-time table, never printf.
 *  - Doubles and floats: the shortest decimal that reads back as the same value (found
 *    with printf("%.*e") + strtod/strtof: 15, 16, 17 significant digits for a double,
 *    6..9 for a float; integers and short decimals take exact arithmetic fast paths
 *    that provably give the same digits), laid out the way Java's
 *    Double.toString / Float.toString do it (JDK 19+ semantics), because that is what
 *    Jackson prints: "1.0", "0.001", "1234567.0", "1.0E7", "1.0E-4", "-0.0". NaN and
 *    the infinities become the strings "NaN", "Infinity", "-Infinity"
 *    (Jackson's QUOTE_NON_NUMERIC_NUMBERS, on by default).
 *  - Bytes: standard base64 with padding, as JsonConverter writes BYTES.
 *
 * Invariants:
 *  1. Output is always valid JSON and valid UTF-8, whatever the input bytes: every byte
 *     of an invalid UTF-8 sequence (overlong forms, surrogates, code points above
 *     U+10FFFF, truncated sequences, stray continuation bytes) becomes U+FFFD.
 *  2. Nothing here allocates except through sl_buf_grow(); allocation failure is sticky
 *     in the buffer (buf.h), so these functions return nothing.
 *  3. The double/float text always reads back (strtod/strtof) as the exact same value.
 *
 * References: RFC 8259 (JSON), RFC 3629 (UTF-8), RFC 4648 (base64), Javadoc of
 * java.lang.Double#toString(double) (JDK 19+), Jackson's WriterBasedJsonGenerator.
 */
#include "core/json.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- strings ---------------------------------------------------------------------- */

/* 1 for bytes that end a plain run: control characters, '"', '\\' and every byte >= 0x80
 * (the latter are checked as UTF-8 and may continue the run). */
static const unsigned char stop_byte[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20: '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50: '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x80.. */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Index of the first stop byte at or after i (n if none). */
static inline size_t scan_plain(const unsigned char *s, size_t i, size_t n)
{
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t q = w ^ (ONES * '"');
        uint64_t bs = w ^ (ONES * '\\');
        /* (x - 0x01..) & ~x & 0x80.. is non-zero iff some byte of x is zero; the same with
         * 0x20.. flags bytes < 0x20; w & 0x80.. flags bytes >= 0x80. */
        uint64_t t = ((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) | ((bs - ONES) & ~bs) | w;
        if (t & HIGHS)
            break;
        i += 8;
    }
    while (i < n && !stop_byte[s[i]])
        i++;
    return i;
}

/* Length of the valid UTF-8 sequence starting at s (s[0] >= 0x80), or 0 if invalid. */
static inline size_t utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    if (c >= 0xC2 && c <= 0xDF) {
        if (avail >= 2 && (s[1] & 0xC0) == 0x80)
            return 2;
        return 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (s[2] & 0xC0) != 0x80)
            return 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
        return (s[1] >= lo && s[1] <= hi) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
        return (s[1] >= lo && s[1] <= hi) ? 4 : 0;
    }
    return 0; /* continuation byte, C0/C1, F5..FF */
}

static const char hex_upper[] = "0123456789ABCDEF";

void sl_json_str_body(sl_buf_t *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;

    while (i < n) {
        i = scan_plain(s, i, n);
        if (i >= n)
            break;
        unsigned char c = s[i];
        if (c >= 0x80) {
            size_t l = utf8_seq(s + i, n - i);
            if (l) {
                i += l; /* valid UTF-8 continues the run */
                continue;
            }
            sl_buf_add(b, s + run, i - run);
            sl_buf_add(b, "\xEF\xBF\xBD", 3);
            run = ++i;
            continue;
        }
        sl_buf_add(b, s + run, i - run);
        char esc[6] = {'\\', 0, '0', '0', 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\t': esc[1] = 't'; break;
        case '\n': esc[1] = 'n'; break;
        case '\f': esc[1] = 'f'; break;
        case '\r': esc[1] = 'r'; break;
        default:
            esc[1] = 'u';
            esc[4] = hex_upper[c >> 4];
            esc[5] = hex_upper[c & 15];
            elen = 6;
            break;
        }
        sl_buf_add(b, esc, elen);
        run = ++i;
    }
    sl_buf_add(b, s + run, n - run);
}

void sl_json_str(sl_buf_t *b, const char *s, size_t n)
{
    /* One grow for the common case (nothing to escape) instead of three. */
    if (b->size - b->len <= n + 2 && !sl_buf_grow(b, n + 2))
        return;
    b->data[b->len++] = '"';
    sl_json_str_body(b, s, n);
    sl_buf_addc(b, '"');
}

/* ---- integers --------------------------------------------------------------------- */

static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

/* Writes v right-aligned ending at end; returns the first character. */
static char *u64_digits(char *end, uint64_t v)
{
    char *p = end;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, digit_pairs + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, digit_pairs + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    return p;
}

void sl_json_u64(sl_buf_t *b, uint64_t v)
{
    char tmp[24];
    char *p = u64_digits(tmp + sizeof tmp, v);
    sl_buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}

void sl_json_i64(sl_buf_t *b, int64_t v)
{
    char tmp[24];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN safe */
    char *p = u64_digits(tmp + sizeof tmp, u);
    if (v < 0)
        *--p = '-';
    sl_buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}

void sl_ts3_init(sl_ts3_t *x, int64_t t)
{
    uint64_t u = t < 0 ? 0 - (uint64_t)t : (uint64_t)t;
    x->t = t;
    x->n = 0;
    if (u < 1000) /* the text trick needs 4 digits; nothing here can overflow */
        return;
    char *end = x->text + sizeof x->text, *p = u64_digits(end, u);
    if (t < 0)
        *--p = '-';
    x->n = (uint8_t)(end - p);
    memmove(x->text, p, x->n);
}

void sl_ts3_ms(sl_buf_t *b, const sl_ts3_t *x)
{
    if (x->n)
        sl_buf_add(b, x->text, x->n - 3u); /* t / 1000 truncates toward zero, as this does */
    else
        sl_json_i64(b, x->t / 1000);
}

void sl_ts3_us(sl_buf_t *b, const sl_ts3_t *x)
{
    if (x->n)
        sl_buf_add(b, x->text, x->n);
    else
        sl_json_i64(b, x->t);
}

void sl_ts3_ns(sl_buf_t *b, const sl_ts3_t *x)
{
    if (x->n) {
        sl_buf_add(b, x->text, x->n);
        sl_buf_add(b, "000", 3);
    } else {
        sl_json_i64(b, x->t * 1000);
    }
}

/* ---- doubles and floats ----------------------------------------------------------- */

/*
 * Lays out a decimal -- significant digits dig[0..nd) (no trailing zeros, nd >= 1) times
 * 10^(e - nd + 1), i.e. dig[0] is the 10^e digit -- as Java's Double.toString does:
 * plain notation for 10^-3 <= |v| < 10^7 with at least one fraction digit, otherwise
 * d.dddE[-]n with at least one digit after the point. Returns the length written.
 */
static size_t java_layout(char *out, bool neg, const char *dig, int nd, int e)
{
    char *p = out;
    if (neg)
        *p++ = '-';
    if (e >= 0 && e < 7) {
        for (int i = 0; i <= e; i++)
            *p++ = i < nd ? dig[i] : '0';
        *p++ = '.';
        if (nd > e + 1) {
            memcpy(p, dig + e + 1, (size_t)(nd - e - 1));
            p += nd - e - 1;
        } else {
            *p++ = '0';
        }
    } else if (e < 0 && e >= -3) {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -e - 1; i++)
            *p++ = '0';
        memcpy(p, dig, (size_t)nd);
        p += nd;
    } else {
        *p++ = dig[0];
        *p++ = '.';
        if (nd > 1) {
            memcpy(p, dig + 1, (size_t)(nd - 1));
            p += nd - 1;
        } else {
            *p++ = '0';
        }
        *p++ = 'E';
        unsigned ue = (unsigned)(e < 0 ? -e : e);
        if (e < 0)
            *p++ = '-';
        char tmp[8];
        char *q = u64_digits(tmp + sizeof tmp, ue);
        memcpy(p, q, (size_t)(tmp + sizeof tmp - q));
        p += tmp + sizeof tmp - q;
    }
    return (size_t)(p - out);
}

/* Splits "d.ddddde[+-]xx" (printf %e of a finite positive value) into digits without
 * trailing zeros and the exponent. Returns the digit count. */
static int split_e(const char *s, char *dig, int *e)
{
    int nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            dig[nd++] = *s;
    *e = (int)strtol(s + 1, NULL, 10);
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    return nd;
}

/* Formats an integral |v| < 2^53 (as uint64) exactly; its digits are the shortest. */
static size_t layout_integer(char *out, bool neg, uint64_t u)
{
    char tmp[24];
    char *p = u64_digits(tmp + sizeof tmp, u);
    int nd = (int)(tmp + sizeof tmp - p);
    int e = nd - 1;
    while (nd > 1 && p[nd - 1] == '0')
        nd--;
    return java_layout(out, neg, p, nd, e);
}

/* The shortest round-trip decimal of a finite, non-zero |v|, laid out Java-style.
 * is_float selects float32 semantics (v then holds the float's exact value). */
static size_t fmt_shortest(char *out, double v, bool is_float)
{
    bool neg = signbit(v);
    double a = fabs(v);
    char buf[40], dig[24];
    int lo, hi;

    if (is_float) {
        /* A float's shortest form has at most 9 digits; for normals, 6 digits are
         * always closer together than half an ulp, so the rounding to 6 digits is the
         * unique shortest form whenever one of <= 6 digits exists. */
        lo = a < FLT_MIN ? 2 : 6;
        hi = 9;
    } else {
        lo = a < DBL_MIN ? 2 : 15; /* same argument with 15 digits for doubles */
        hi = 17;
    }
    /* Java considers at least two digits (Double.MIN_VALUE prints as 4.9E-324), hence
     * the search from 2 for subnormals. */
    for (int p = lo; p <= hi; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, a);
        bool same = is_float ? strtof(buf, NULL) == (float)a : strtod(buf, NULL) == a;
        if (same || p == hi) {
            int e;
            int nd = split_e(buf, dig, &e);
            return java_layout(out, neg, dig, nd, e);
        }
    }
    return 0; /* not reached */
}

/*
 * Fast path for the common "short decimal" values (prices, measurements): the smallest k
 * such that m = round(a * 10^k) satisfies m / 10^k == a. With m < 2^53 and k <= 22 both
 * operands are exact doubles, so the one IEEE division is correctly rounded, i.e. equal
 * to strtod("m e-k"): the decimal round-trips. Smaller k having failed, it is the
 * shortest; with at most 15 digits (6 for a float) it is also the unique shortest, so the
 * slow path would find the same digits. Returns false to fall back to printf.
 */
static bool fast_shortest(double a, bool is_float, uint64_t *m_out, int *k_out)
{
    const double limit = is_float ? 1e6 : 1e15;
    if (a < 1e-7 || a >= limit)
        return false;
    double p = 1;
    for (int k = 0; k <= 22; k++, p *= 10) {
        double t = a * p;
        if (t >= limit)
            return false;
        double m = floor(t + 0.5);
        double q = m / p;
        bool same;
        if (!is_float) {
            same = q == a;
        } else {
            float f = (float)q;
            same = (double)f == a;
            if (same && q != a) {
                /* (float)q rounded twice; only a q exactly halfway between two floats
                 * can differ from strtof's single rounding: leave those to printf. */
                float nb = nextafterf(f, q > a ? INFINITY : -INFINITY);
                if (q == ((double)f + (double)nb) / 2)
                    return false;
            }
        }
        if (same) {
            *m_out = (uint64_t)m;
            *k_out = k;
            return true;
        }
    }
    return false;
}

static size_t layout_fast(char *out, bool neg, uint64_t m, int k)
{
    char tmp[24];
    char *p = u64_digits(tmp + sizeof tmp, m);
    int nd = (int)(tmp + sizeof tmp - p);
    int e = nd - 1 - k;
    while (nd > 1 && p[nd - 1] == '0')
        nd--;
    return java_layout(out, neg, p, nd, e);
}

static void json_nonfinite(sl_buf_t *b, double v)
{
    if (isnan(v))
        sl_buf_add(b, "\"NaN\"", 5);
    else if (v > 0)
        sl_buf_add(b, "\"Infinity\"", 10);
    else
        sl_buf_add(b, "\"-Infinity\"", 11);
}

void sl_json_f64(sl_buf_t *b, double v)
{
    char out[48];
    size_t n;
    uint64_t m;
    int k;
    if (!isfinite(v)) {
        json_nonfinite(b, v);
        return;
    }
    double a = fabs(v);
    if (a == 0)
        n = java_layout(out, signbit(v), "0", 1, 0);
    else if (a < 9007199254740992.0 && a == floor(a))
        n = layout_integer(out, signbit(v), (uint64_t)a);
    else if (fast_shortest(a, false, &m, &k))
        n = layout_fast(out, signbit(v), m, k);
    else
        n = fmt_shortest(out, v, false);
    sl_buf_add(b, out, n);
}

void sl_json_f32(sl_buf_t *b, float f)
{
    char out[48];
    size_t n;
    uint64_t m;
    int k;
    double v = f;
    if (!isfinite(v)) {
        json_nonfinite(b, v);
        return;
    }
    double a = fabs(v);
    if (a == 0)
        n = java_layout(out, signbit(v), "0", 1, 0);
    else if (a < 16777216.0 && a == floor(a))
        n = layout_integer(out, signbit(v), (uint64_t)a);
    else if (fast_shortest(a, true, &m, &k))
        n = layout_fast(out, signbit(v), m, k);
    else
        n = fmt_shortest(out, v, true);
    sl_buf_add(b, out, n);
}

/* ---- literals and bytes ----------------------------------------------------------- */

void sl_json_bool(sl_buf_t *b, int v)
{
    if (v)
        sl_buf_add(b, "true", 4);
    else
        sl_buf_add(b, "false", 5);
}

void sl_json_null(sl_buf_t *b) { sl_buf_add(b, "null", 4); }

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void sl_json_base64(sl_buf_t *b, const uint8_t *p, size_t n)
{
    if (n > (SIZE_MAX - 8) / 4 * 3) { /* the size computation would overflow */
        b->oom = true;
        return;
    }
    size_t out = (n + 2) / 3 * 4 + 2;
    if (b->size - b->len <= out && !sl_buf_grow(b, out))
        return;
    char *w = b->data + b->len;
    *w++ = '"';
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        w[0] = b64_alphabet[v >> 18];
        w[1] = b64_alphabet[(v >> 12) & 63];
        w[2] = b64_alphabet[(v >> 6) & 63];
        w[3] = b64_alphabet[v & 63];
        w += 4;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        w[0] = b64_alphabet[v >> 18];
        w[1] = b64_alphabet[(v >> 12) & 63];
        w[2] = '=';
        w[3] = '=';
        w += 4;
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        w[0] = b64_alphabet[v >> 18];
        w[1] = b64_alphabet[(v >> 12) & 63];
        w[2] = b64_alphabet[(v >> 6) & 63];
        w[3] = '=';
        w += 4;
    }
    *w++ = '"';
    b->len = (size_t)(w - b->data);
    b->data[b->len] = 0;
}
