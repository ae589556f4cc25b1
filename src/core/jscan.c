/*
 * jscan.c — one-pass JSON scanner into a flat token array (see jscan.h).
 *
 * A recursive descent over the text: each value appends its token, containers append
 * their children after it and then record `next` and `count`. Depth is bounded
 * (invariant 3), every read is checked against the end of the text (invariant 1).
 * Strings, most of an event's bytes, are crossed 8 bytes at a time while no byte in the
 * word needs a look (quote, backslash, control character).
 */
#include "core/jscan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

typedef struct scan {
    sl_jdoc_t *d;
    const char *base, *end; /* the text; every read is checked against end (invariant 1) */
    int rc;
    const char *stop; /* sl_jdoc_parse_until: the root member to stop after (or NULL) */
    size_t stop_len;
    bool stopped;
} scan_t;

static inline const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (unsigned char)*p <= ' ' &&
           (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

static bool grow(scan_t *sc)
{
    sl_jdoc_t *d = sc->d;
    uint32_t nc = d->cap ? d->cap * 2 : 64;
    if (nc < d->cap) {
        sc->rc = SL_ERR_TOO_BIG;
        return false;
    }
    sl_jtok_t *nt = realloc(d->t, (size_t)nc * sizeof *nt);
    if (!nt) {
        sc->rc = SL_ERR_NOMEM;
        return false;
    }
    d->t = nt;
    d->cap = nc;
    return true;
}

/* A new token of `type` starting at p; its index, or -1 when the array cannot grow. The
 * token's address is valid only until the next new_tok (the array may move). */
static inline int new_tok(scan_t *sc, uint8_t type, const char *p)
{
    sl_jdoc_t *d = sc->d;
    if (d->n == d->cap && !grow(sc))
        return -1;
    sl_jtok_t *t = &d->t[d->n];
    *t = (sl_jtok_t){.start = (uint32_t)(p - sc->base), .type = type};
    return (int)d->n++;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* True when one of the 8 bytes in x is '"', '\\' or a control character (< 0x20): the
 * bytes a string's plain run stops at. Exact (no false negatives or positives). */
static inline bool any_special8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\');
    return (((q - ones) & ~q) | ((bs - ones) & ~bs) | ((x - ones * 0x20) & ~x)) & highs;
}

static const char *scan_value(scan_t *sc, const char *p, int depth);

/* p is at the opening quote; returns the position after the closing quote, or NULL. */
static const char *scan_string(scan_t *sc, const char *p)
{
    const char *end = sc->end;
    int k = new_tok(sc, SL_JT_STR, p + 1);
    if (k < 0)
        return NULL;
    const char *s = ++p;
    uint8_t flags = 0;
    for (;;) {
        /* the plain run, 8 bytes at a time while they hold nothing special */
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            if (any_special8(x))
                break;
            p += 8;
        }
        if (p >= end)
            return NULL;
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c < 0x20)
            return NULL;
        if (c == '\\') {
            flags |= SL_JT_F_ESC;
            if (++p >= end)
                return NULL;
            char e = *p;
            if (e == 'u') {
                if (end - p <= 4)
                    return NULL;
                for (int h = 1; h <= 4; h++)
                    if (!is_hex(p[h]))
                        return NULL;
                p += 4;
            } else if (e == 0 || !strchr("\"\\/bfnrt", e)) {
                return NULL;
            }
        }
        p++;
    }
    sl_jtok_t *t = &sc->d->t[k];
    t->len = (uint32_t)(p - s);
    t->flags = flags;
    t->next = sc->d->n;
    return p + 1;
}

static const char *scan_number(scan_t *sc, const char *p)
{
    const char *end = sc->end, *s = p;
    int k = new_tok(sc, SL_JT_NUM, p);
    if (k < 0)
        return NULL;
    bool is_int = true;
    if (p < end && *p == '-')
        p++;
    if (p >= end || !is_digit(*p))
        return NULL;
    if (*p == '0')
        p++;
    else
        while (p < end && is_digit(*p))
            p++;
    if (p < end && *p == '.') {
        is_int = false;
        if (++p >= end || !is_digit(*p))
            return NULL;
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        is_int = false;
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p))
            return NULL;
        while (p < end && is_digit(*p))
            p++;
    }
    sl_jtok_t *t = &sc->d->t[k];
    t->len = (uint32_t)(p - s);
    t->flags = is_int ? SL_JT_F_INT : 0;
    t->next = sc->d->n;
    return p;
}

static const char *scan_literal(scan_t *sc, const char *p, const char *word, size_t n,
                                uint8_t type)
{
    if ((size_t)(sc->end - p) < n || memcmp(p, word, n) != 0)
        return NULL;
    int k = new_tok(sc, type, p);
    if (k < 0)
        return NULL;
    sc->d->t[k].len = (uint32_t)n;
    sc->d->t[k].next = sc->d->n;
    return p + n;
}

/* p is at '{' or '['. */
static const char *scan_container(scan_t *sc, const char *p, int depth, bool is_obj)
{
    const char *end = sc->end, *open = p;
    if (depth >= SL_JSCAN_MAX_DEPTH)
        return NULL;
    int k = new_tok(sc, is_obj ? SL_JT_OBJ : SL_JT_ARR, p);
    if (k < 0)
        return NULL;
    uint32_t count = 0;
    char close = is_obj ? '}' : ']';
    p = skip_ws(p + 1, end);
    if (p < end && *p == close) {
        p++;
    } else {
        for (;;) {
            p = skip_ws(p, end);
            int key_tok = -1;
            if (is_obj) {
                if (depth == 0)
                    key_tok = (int)sc->d->n;
                if (p >= end || *p != '"' || !(p = scan_string(sc, p)))
                    return NULL;
                p = skip_ws(p, end);
                if (p >= end || *p != ':')
                    return NULL;
                p++;
            }
            if (!(p = scan_value(sc, p, depth + 1)))
                return NULL;
            count++;
            if (key_tok >= 0 && sc->stop &&
                sl_jdoc_streq(sc->d, key_tok, sc->stop, sc->stop_len)) {
                sc->stopped = true; /* the rest is left unscanned (sl_jdoc_parse_until) */
                break;
            }
            p = skip_ws(p, end);
            if (p >= end)
                return NULL;
            char c = *p++;
            if (c == close)
                break;
            if (c != ',')
                return NULL;
        }
    }
    sl_jtok_t *t = &sc->d->t[k];
    t->len = (uint32_t)(p - open);
    t->count = count;
    t->next = sc->d->n;
    return p;
}

static const char *scan_value(scan_t *sc, const char *p, int depth)
{
    p = skip_ws(p, sc->end);
    if (p >= sc->end)
        return NULL;
    switch (*p) {
    case '{': return scan_container(sc, p, depth, true);
    case '[': return scan_container(sc, p, depth, false);
    case '"': return scan_string(sc, p);
    case 't': return scan_literal(sc, p, "true", 4, SL_JT_TRUE);
    case 'f': return scan_literal(sc, p, "false", 5, SL_JT_FALSE);
    case 'n': return scan_literal(sc, p, "null", 4, SL_JT_NULL);
    default: return scan_number(sc, p);
    }
}

static int parse(sl_jdoc_t *d, const char *s, size_t len, const char *stop, size_t stop_len)
{
    d->s = s;
    d->n = 0;
    if (len > UINT32_MAX - 1)
        return SL_ERR_TOO_BIG;
    scan_t sc = {d, s, s + len, SL_OK, stop, stop_len, false};
    const char *p = scan_value(&sc, s, 0);
    if (p && !sc.stopped)
        p = skip_ws(p, sc.end);
    if (!p || (p != sc.end && !sc.stopped)) {
        d->n = 0;
        return sc.rc != SL_OK ? sc.rc : SL_ERR_PROTO;
    }
    return SL_OK;
}

int sl_jdoc_parse(sl_jdoc_t *d, const char *s, size_t len) { return parse(d, s, len, NULL, 0); }

int sl_jdoc_parse_until(sl_jdoc_t *d, const char *s, size_t len, const char *key, size_t key_len)
{
    return parse(d, s, len, key, key_len);
}

void sl_jdoc_free(sl_jdoc_t *d)
{
    free(d->t);
    d->t = NULL;
    d->n = d->cap = 0;
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static void put_utf8(sl_buf_t *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    sl_buf_add(b, u, n);
}

/* Escapes were validated by the scan; lone surrogates become U+FFFD. */
static void unescape(const char *p, size_t n, sl_buf_t *b)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\\') {
            size_t j = i;
            while (j < n && p[j] != '\\')
                j++;
            sl_buf_add(b, p + i, j - i);
            i = j - 1;
            continue;
        }
        char e = p[++i];
        switch (e) {
        case 'b': sl_buf_addc(b, '\b'); break;
        case 'f': sl_buf_addc(b, '\f'); break;
        case 'n': sl_buf_addc(b, '\n'); break;
        case 'r': sl_buf_addc(b, '\r'); break;
        case 't': sl_buf_addc(b, '\t'); break;
        case 'u': {
            unsigned cp = hex4(p + i + 1);
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 < n && p[i + 1] == '\\' && p[i + 2] == 'u') {
                unsigned lo = hex4(p + i + 3);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xFFFD;
            put_utf8(b, cp);
            break;
        }
        default: sl_buf_addc(b, e); break; /* " \ / */
        }
    }
}

bool sl_jdoc_str(const sl_jdoc_t *d, int tok, sl_buf_t *scratch, const char **out, size_t *len)
{
    if (sl_jdoc_type(d, tok) != SL_JT_STR)
        return false;
    const sl_jtok_t *t = &d->t[tok];
    if (!(t->flags & SL_JT_F_ESC)) {
        *out = d->s + t->start;
        *len = t->len;
        return true;
    }
    sl_buf_reset(scratch);
    unescape(d->s + t->start, t->len, scratch);
    sl_buf_addc(scratch, 0);
    if (!sl_buf_ok(scratch))
        return false;
    *out = scratch->data;
    *len = scratch->len - 1;
    return true;
}

bool sl_jdoc_streq(const sl_jdoc_t *d, int tok, const char *s, size_t n)
{
    if (sl_jdoc_type(d, tok) != SL_JT_STR)
        return false;
    const sl_jtok_t *t = &d->t[tok];
    if (!(t->flags & SL_JT_F_ESC))
        return t->len == n && memcmp(d->s + t->start, s, n) == 0;
    sl_buf_t b = SL_BUF_INIT;
    unescape(d->s + t->start, t->len, &b);
    bool eq = sl_buf_ok(&b) && b.len == n && memcmp(b.data, s, n) == 0;
    sl_buf_free(&b);
    return eq;
}

int sl_jdoc_get(const sl_jdoc_t *d, int obj, const char *key, size_t key_len, int *hint)
{
    if (sl_jdoc_type(d, obj) != SL_JT_OBJ)
        return -1;
    uint32_t first = (uint32_t)obj + 1, end = d->t[obj].next;
    /* from the hint (a key's index, or the end) to the end, then from the first key */
    uint32_t start = hint && *hint > obj && (uint32_t)*hint < end ? (uint32_t)*hint : first;
    uint32_t k = start;
    bool wrapped = false;
    for (;;) {
        if (k >= end) {
            if (wrapped || start == first)
                return -1;
            k = first;
            wrapped = true;
        }
        if (wrapped && k >= start)
            return -1;
        uint32_t v = k + 1; /* the value after the key */
        if (sl_jdoc_streq(d, (int)k, key, key_len)) {
            if (hint)
                *hint = (int)d->t[v].next;
            return (int)v;
        }
        k = d->t[v].next;
    }
}

bool sl_jdoc_i64(const sl_jdoc_t *d, int tok, int64_t *out)
{
    if (sl_jdoc_type(d, tok) != SL_JT_NUM || !(d->t[tok].flags & SL_JT_F_INT))
        return false;
    const char *p = d->s + d->t[tok].start;
    size_t n = d->t[tok].len;
    bool neg = *p == '-';
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (size_t i = neg; i < n; i++) {
        unsigned dgt = (unsigned)(p[i] - '0');
        if (v > (lim - dgt) / 10)
            return false;
        v = v * 10 + dgt;
    }
    *out = neg ? (v ? -(int64_t)(v - 1) - 1 : 0) : (int64_t)v;
    return true;
}

bool sl_jdoc_f64(const sl_jdoc_t *d, int tok, double *out)
{
    if (sl_jdoc_type(d, tok) != SL_JT_NUM)
        return false;
    char tmp[64];
    size_t n = d->t[tok].len;
    if (n >= sizeof tmp)
        return false;
    memcpy(tmp, d->s + d->t[tok].start, n);
    tmp[n] = 0;
    errno = 0;
    *out = strtod(tmp, NULL);
    return true;
}
