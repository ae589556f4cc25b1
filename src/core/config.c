/*
 * config.c — properties files, environment overrides, validation against the
 * property tables, typed getters and the generated CONFIGURATION.md.
 *
 * How it works. The file is read whole (at most CONF_MAX_FILE bytes), checked
 * to be UTF-8 in one pass (so every later step may work on bytes: the syntax
 * characters are ASCII and never occur inside a multi-byte sequence), then cut
 * into logical lines and key/value pairs the way java.util.Properties.load does
 * (JDK 8..21 LineReader and loadConvert):
 *
 *   - a line break is "\r\n", "\r" or "\n"; leading ' ', '\t', '\f' of every
 *     physical line are dropped;
 *   - blank lines, and lines whose first character is '#' or '!', are skipped
 *     while the logical line is still empty; a comment never continues,
 *     whatever it ends with;
 *   - a line ending in an odd number of backslashes continues on the next
 *     physical line (the backslash is dropped, so is the next line's leading
 *     white space; '#' there is an ordinary character once the logical line
 *     has content); an empty continuation line ends the logical line, and a
 *     backslash at end of input is dropped;
 *   - the key ends at the first unescaped '=', ':', ' ', '\t' or '\f'; white
 *     space around the separator and one '=' or ':' after white space are
 *     skipped; the value runs to the end of the logical line (trailing white
 *     space is kept, as Java keeps it; typed values are trimmed when parsed, as
 *     Kafka's ConfigDef trims them);
 *   - in key and value, \t \n \r \f stand for themselves, \uXXXX for a UTF-16
 *     code unit (a surrogate pair becomes one code point, encoded as UTF-8),
 *     and '\' before any other character is that character.
 *
 * Where we differ from Java, on purpose: a UTF-8 byte-order mark at the start is
 * skipped, the file must be UTF-8 (Java's InputStream overload reads ISO-8859-1;
 * Debezium Server's Quarkus reads application.properties as UTF-8), NUL bytes,
 * \u0000 and unpaired surrogates are errors (Java keeps them in its UTF-16
 * strings), and a logical line that is empty after continuation is always
 * skipped (JDK 17 stores an empty key when such a line is the last of the file
 * and is a lone backslash: a quirk that would only turn a stray backslash into
 * an "unknown key ''" error here).
 *
 * Settings live in one array in order of first appearance, with an
 * open-addressing hash index on the key. Each setting is one allocation holding
 * key, value and origin ("file:line" or "environment"). A key set again
 * replaces the value and origin in place: the later one wins, as in Java, and
 * the origin names the line that won.
 *
 * Environment overrides (DEBEZIUM_*, SLUICE_*) map to, in this order: a key of
 * one of the tables whose mangled name (upper case, non-alphanumerics -> '_')
 * equals the variable's name; a key already set in the file with that mangled
 * name (so "max-requests" style passthrough keys can be overridden); else the
 * longest PASSTHROUGH prefix whose mangled form starts the name, the rest being
 * lower-cased with '_' -> '.'. Other variables are ignored (SLUICE_TEST_DATA...).
 *
 * Invariants:
 *  1. every stored key and value is valid UTF-8 without NUL bytes;
 *  2. index[] holds exactly one slot (entry number + 1) per entry, and is at most
 *     half full, so probing always ends;
 *  3. no message written to errstr or the log contains the value of an
 *     SL_PF_SECRET key; syntax errors never quote values at all;
 *  4. a conf is only mutated by load; validate touches nothing but the
 *     "already warned" flag of ignored keys (single-threaded by contract).
 */
#include "core/config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/log.h"

#define CONF_MAX_FILE        (16u << 20) /* bytes of a properties file */
#define CONF_MAX_LINE        (1u << 20)  /* bytes of one logical line */
#define CONF_MAX_KEYS        65536u      /* distinct keys */
#define NEAR_MAX_LEN         128         /* longer keys get no "did you mean" hint */
#define QUOTE_MAX            80          /* bytes of a value or key quoted in a message */
#define CONF_REGEX_MAX_NODES 10000       /* estimated regcomp() nodes of one regular expression */
#define CONF_REGEX_MAX_DEPTH 64          /* nested groups in one regular expression */

struct entry {
    char *key; /* start of the allocation: key \0 value \0 origin \0 */
    const char *value;
    const char *origin;
    bool warned; /* SL_PF_IGNORED warning already logged */
};

struct sl_conf {
    char *name; /* file name for messages; NULL when there was no file */
    struct entry *entries;
    size_t n, cap;
    size_t *index;     /* entry number + 1, 0 = free slot */
    size_t index_size; /* power of two */
    const sl_prop_table_t **tables;
    size_t ntables;
};

static const char *const origin_env = "environment";

/* ---------- errors ---------- */

static int conf_err(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int conf_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    if (errstr && errstr_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return SL_ERR_CONFIG;
}

static int nomem_err(char *errstr, size_t errstr_size)
{
    if (errstr && errstr_size > 0)
        (void)snprintf(errstr, errstr_size, "out of memory");
    return SL_ERR_NOMEM;
}

/* Copies `s` into dst for quoting in a one-line message: control characters become
 * C escapes, and text beyond QUOTE_MAX bytes becomes "..." (cut on a UTF-8 boundary). */
static void quote_text(char *dst, size_t dst_size, const char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[5];
        size_t k = 0;
        if (c == '\n') {
            tmp[k++] = '\\';
            tmp[k++] = 'n';
        } else if (c == '\t') {
            tmp[k++] = '\\';
            tmp[k++] = 't';
        } else if (c == '\r') {
            tmp[k++] = '\\';
            tmp[k++] = 'r';
        } else if (c < 0x20 || c == 0x7f) {
            (void)snprintf(tmp, sizeof tmp, "\\x%02x", c);
            k = 4;
        } else {
            tmp[k++] = (char)c;
        }
        bool boundary = (c & 0xc0) != 0x80;
        if (boundary && (o + k > QUOTE_MAX || o + k + 4 > dst_size)) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        if (o + k + 4 > dst_size) /* inside a sequence that cannot fit: cut before it */
            break;
        memcpy(dst + o, tmp, k);
        o += k;
    }
    dst[o] = 0;
}

/* ---------- small string helpers ---------- */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\r' || c == '\n' || c == '\v';
}

/* [*s, *e) without surrounding white space. */
static void trim(const char **s, const char **e)
{
    while (*s < *e && is_ws(**s))
        (*s)++;
    while (*e > *s && is_ws((*e)[-1]))
        (*e)--;
}

static bool is_passthrough(const sl_prop_def_t *d)
{
    return d->type == SL_PT_PASSTHROUGH;
}

/* Length of a PASSTHROUGH key's prefix ("a.b.*" -> 4, "a.b."). */
static size_t passthrough_prefix_len(const sl_prop_def_t *d)
{
    size_t n = strlen(d->key);
    return n > 0 && d->key[n - 1] == '*' ? n - 1 : n;
}

static char env_char(char c)
{
    return isalnum((unsigned char)c) ? (char)toupper((unsigned char)c) : '_';
}

/* Does key's environment name (upper case, non-alphanumerics -> '_') equal name? */
static bool env_name_equals(const char *key, size_t key_len, const char *name, size_t name_len)
{
    if (key_len != name_len)
        return false;
    for (size_t i = 0; i < key_len; i++)
        if (env_char(key[i]) != name[i])
            return false;
    return true;
}

/* Empties b and makes sure data points at a NUL even when nothing gets added. */
static void buf_clear(sl_buf_t *b)
{
    sl_buf_reset(b);
    if (sl_buf_grow(b, 0))
        b->data[0] = 0;
}

/* ---------- UTF-8 ---------- */

/* Checks text; on failure returns 1 (invalid UTF-8) or 2 (NUL byte) and says where: the
 * line, the byte's column (1-based, in bytes) and the byte itself. */
struct utf8_bad {
    unsigned line, column, byte;
};

static int check_utf8(const char *text, size_t len, struct utf8_bad *bad)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + len, *line_start = p;
    unsigned line = 1;
#define BAD(rc)                                                                          \
    do {                                                                                 \
        *bad = (struct utf8_bad){line, (unsigned)(p - line_start) + 1, *p};              \
        return rc;                                                                       \
    } while (0)
    while (p < end) {
        unsigned c = *p;
        if (c < 0x80) {
            if (c == 0)
                BAD(2);
            if (c == '\n' || (c == '\r' && !(p + 1 < end && p[1] == '\n'))) {
                line++;
                line_start = p + 1;
            }
            p++;
            continue;
        }
        size_t n;
        unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) {
            n = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3;
            if (c == 0xe0)
                lo = 0xa0; /* overlong */
            else if (c == 0xed)
                hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4;
            if (c == 0xf0)
                lo = 0x90; /* overlong */
            else if (c == 0xf4)
                hi = 0x8f; /* > U+10FFFF */
        } else {
            BAD(1);
        }
        if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
            BAD(1);
        for (size_t i = 2; i < n; i++)
            if ((p[i] & 0xc0) != 0x80)
                BAD(1);
        p += n;
    }
    return 0;
#undef BAD
}

static void add_utf8(sl_buf_t *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    sl_buf_add(b, u, n);
}

/* ---------- the settings store ---------- */

static size_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

static struct entry *conf_find(const sl_conf_t *conf, const char *key)
{
    if (!conf || conf->index_size == 0)
        return NULL;
    size_t mask = conf->index_size - 1;
    for (size_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
        size_t slot = conf->index[i];
        if (slot == 0)
            return NULL;
        if (strcmp(conf->entries[slot - 1].key, key) == 0)
            return &conf->entries[slot - 1];
    }
}

static bool index_grow(sl_conf_t *conf)
{
    size_t nsize = conf->index_size ? conf->index_size * 2 : 64;
    size_t *idx = calloc(nsize, sizeof *idx);
    if (!idx)
        return false;
    for (size_t e = 0; e < conf->n; e++) {
        size_t i = hash_key(conf->entries[e].key) & (nsize - 1);
        while (idx[i])
            i = (i + 1) & (nsize - 1);
        idx[i] = e + 1;
    }
    free(conf->index);
    conf->index = idx;
    conf->index_size = nsize;
    return true;
}

/* Sets key = value with the given origin ("environment" or "name:line" when line > 0). */
static int conf_set(sl_conf_t *conf, const char *key, const char *value, unsigned line,
                    char *errstr, size_t errstr_size)
{
    const char *name = conf->name ? conf->name : "<string>";
    struct entry *e = conf_find(conf, key);
    if (!e && conf->n >= CONF_MAX_KEYS) {
        if (line > 0)
            return conf_err(errstr, errstr_size, "%s:%u: too many keys (limit %u)", name, line,
                            CONF_MAX_KEYS);
        return conf_err(errstr, errstr_size, "environment: too many keys (limit %u)",
                        CONF_MAX_KEYS);
    }
    size_t klen = strlen(key), vlen = strlen(value);
    int on = line > 0 ? snprintf(NULL, 0, "%s:%u", name, line) : (int)strlen(origin_env);
    if (on < 0)
        return nomem_err(errstr, errstr_size);
    size_t olen = (size_t)on;
    char *blk = malloc(klen + vlen + olen + 3);
    if (!blk)
        return nomem_err(errstr, errstr_size);
    char *origin = blk + klen + vlen + 2;
    memcpy(blk, key, klen + 1);
    memcpy(blk + klen + 1, value, vlen + 1);
    if (line > 0)
        (void)snprintf(origin, olen + 1, "%s:%u", name, line);
    else
        memcpy(origin, origin_env, olen + 1);

    if (e) {
        free(e->key);
    } else {
        if (conf->n == conf->cap) {
            size_t ncap = conf->cap ? conf->cap * 2 : 32;
            struct entry *ne = realloc(conf->entries, ncap * sizeof *ne);
            if (!ne) {
                free(blk);
                return nomem_err(errstr, errstr_size);
            }
            conf->entries = ne;
            conf->cap = ncap;
        }
        if ((conf->n + 1) * 2 > conf->index_size && !index_grow(conf)) {
            free(blk);
            return nomem_err(errstr, errstr_size);
        }
        e = &conf->entries[conf->n++];
        size_t mask = conf->index_size - 1, i = hash_key(key) & mask;
        while (conf->index[i])
            i = (i + 1) & mask;
        conf->index[i] = conf->n;
    }
    e->key = blk;
    e->value = blk + klen + 1;
    e->origin = origin;
    e->warned = false;
    return SL_OK;
}

/* ---------- the properties syntax ---------- */

struct reader {
    const char *p, *end;
    unsigned line; /* physical line of p, from 1 */
};

/* Reads the next logical line into `out` (without the continuation backslashes).
 * Returns 1 with *lineno = its first physical line, 0 at end of input, or an error. */
static int read_logical_line(struct reader *r, sl_buf_t *out, unsigned *lineno)
{
    for (;;) {
        buf_clear(out);
        while (r->p < r->end) {
            const char *s = r->p, *e = s;
            while (e < r->end && *e != '\n' && *e != '\r')
                e++;
            unsigned this_line = r->line;
            bool has_break = e < r->end;
            r->p = e;
            if (has_break) {
                r->p += (*e == '\r' && e + 1 < r->end && e[1] == '\n') ? 2 : 1;
                r->line++;
            }
            while (s < e && (*s == ' ' || *s == '\t' || *s == '\f'))
                s++;
            if (out->len == 0) {
                /* still at the start of a logical line (also after a continuation
                 * that contributed nothing, as in JDK 9+) */
                if (s == e || *s == '#' || *s == '!')
                    continue; /* blank line or comment */
                *lineno = this_line;
            }
            size_t n = (size_t)(e - s);
            if (out->len + n > CONF_MAX_LINE)
                return SL_ERR_TOO_BIG;
            sl_buf_add(out, s, n);
            if (!sl_buf_ok(out))
                return SL_ERR_NOMEM;
            size_t bs = 0;
            while (bs < n && e[-1 - (ptrdiff_t)bs] == '\\')
                bs++;
            if (bs % 2 == 0)
                break;
            out->data[--out->len] = 0; /* continuation: drop the backslash */
        }
        if (!sl_buf_ok(out))
            return SL_ERR_NOMEM;
        if (out->len > 0)
            return 1;
        if (r->p >= r->end)
            return 0;
        /* a logical line that is empty after continuation: skip it, as Java does */
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits at s[0..3]; -1 when there are fewer or they are not hex. */
static long hex4(const char *s, size_t avail)
{
    if (avail < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

enum {
    UNESC_OK = 0,
    UNESC_MALFORMED,
    UNESC_SURROGATE,
    UNESC_NUL
};

/* Java's loadConvert, producing UTF-8. Appends to out; returns UNESC_*. */
static int unescape(const char *s, size_t n, sl_buf_t *out)
{
    size_t i = 0;
    while (i < n) {
        char c = s[i++];
        if (c != '\\') {
            sl_buf_addc(out, c);
            continue;
        }
        if (i >= n)
            break; /* cannot happen (it would have been a continuation); drop it */
        c = s[i++];
        switch (c) {
        case 't':
            sl_buf_addc(out, '\t');
            break;
        case 'n':
            sl_buf_addc(out, '\n');
            break;
        case 'r':
            sl_buf_addc(out, '\r');
            break;
        case 'f':
            sl_buf_addc(out, '\f');
            break;
        case 'u': {
            long u = hex4(s + i, n - i);
            if (u < 0)
                return UNESC_MALFORMED;
            i += 4;
            uint32_t cp = (uint32_t)u;
            if (cp == 0)
                return UNESC_NUL;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return UNESC_SURROGATE;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                long lo = (n - i >= 2 && s[i] == '\\' && s[i + 1] == 'u')
                              ? hex4(s + i + 2, n - i - 2)
                              : -1;
                if (lo < 0xdc00 || lo > 0xdfff)
                    return UNESC_SURROGATE;
                i += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
            }
            add_utf8(out, cp);
            break;
        }
        default:
            sl_buf_addc(out, c);
            break;
        }
    }
    return UNESC_OK;
}

static int unescape_err(const sl_conf_t *conf, unsigned line, int rc, char *errstr,
                        size_t errstr_size)
{
    const char *name = conf->name ? conf->name : "<string>";
    switch (rc) {
    case UNESC_MALFORMED:
        return conf_err(errstr, errstr_size,
                        "%s:%u: malformed \\uXXXX escape (expected four hex digits)", name, line);
    case UNESC_SURROGATE:
        return conf_err(errstr, errstr_size, "%s:%u: unpaired UTF-16 surrogate in \\uXXXX escape",
                        name, line);
    default:
        return conf_err(errstr, errstr_size, "%s:%u: \\u0000 is not allowed", name, line);
    }
}

static int parse_text(sl_conf_t *conf, const char *text, size_t len, char *errstr,
                      size_t errstr_size)
{
    const char *name = conf->name ? conf->name : "<string>";
    if (len > CONF_MAX_FILE)
        return conf_err(errstr, errstr_size, "%s: file is too large (limit %u MiB)", name,
                        CONF_MAX_FILE >> 20);
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        text += 3;
        len -= 3;
    }
    struct utf8_bad bad;
    int u = check_utf8(text, len, &bad);
    if (u == 1)
        return conf_err(errstr, errstr_size,
                        "%s:%u: invalid UTF-8 (byte 0x%02X at column %u); save the file as UTF-8",
                        name, bad.line, bad.byte, bad.column);
    if (u == 2)
        return conf_err(errstr, errstr_size, "%s:%u: NUL byte is not allowed (column %u)", name,
                        bad.line, bad.column);

    struct reader r = {text, text + len, 1};
    sl_buf_t line = SL_BUF_INIT, key = SL_BUF_INIT, value = SL_BUF_INIT;
    int rc = SL_OK;
    for (;;) {
        unsigned lineno = 0;
        int got = read_logical_line(&r, &line, &lineno);
        if (got == 0)
            break;
        if (got == SL_ERR_TOO_BIG) {
            rc = conf_err(errstr, errstr_size, "%s:%u: line is too long (limit %u MiB)", name,
                          lineno, CONF_MAX_LINE >> 20);
            break;
        }
        if (got < 0) {
            rc = nomem_err(errstr, errstr_size);
            break;
        }
        /* split as Properties.load0 does */
        const char *d = line.data;
        size_t lim = line.len, klen = 0, vstart = lim;
        bool has_sep = false, bs = false;
        while (klen < lim) {
            char c = d[klen];
            if ((c == '=' || c == ':') && !bs) {
                vstart = klen + 1;
                has_sep = true;
                break;
            }
            if ((c == ' ' || c == '\t' || c == '\f') && !bs) {
                vstart = klen + 1;
                break;
            }
            bs = c == '\\' ? !bs : false;
            klen++;
        }
        while (vstart < lim) {
            char c = d[vstart];
            if (c != ' ' && c != '\t' && c != '\f') {
                if (!has_sep && (c == '=' || c == ':'))
                    has_sep = true;
                else
                    break;
            }
            vstart++;
        }
        buf_clear(&key);
        buf_clear(&value);
        int ue = unescape(d, klen, &key);
        if (ue == UNESC_OK)
            ue = unescape(d + vstart, lim - vstart, &value);
        if (ue != UNESC_OK) {
            rc = unescape_err(conf, lineno, ue, errstr, errstr_size);
            break;
        }
        if (!sl_buf_ok(&key) || !sl_buf_ok(&value)) {
            rc = nomem_err(errstr, errstr_size);
            break;
        }
        rc = conf_set(conf, key.data, value.data, lineno, errstr, errstr_size);
        if (rc != SL_OK)
            break;
    }
    sl_buf_free(&line);
    sl_buf_free(&key);
    sl_buf_free(&value);
    return rc;
}

/* ---------- environment ---------- */

static int apply_env(sl_conf_t *conf, char *const *envp, char *errstr, size_t errstr_size)
{
    if (!envp)
        return SL_OK;
    for (size_t v = 0; envp[v]; v++) {
        const char *var = envp[v];
        if (strncmp(var, "DEBEZIUM_", 9) != 0 && strncmp(var, "SLUICE_", 7) != 0)
            continue;
        const char *eq = strchr(var, '=');
        if (!eq)
            continue;
        size_t nlen = (size_t)(eq - var);
        const char *value = eq + 1;
        const char *key = NULL;
        char *made = NULL;

        /* 1. a key of a table */
        for (size_t t = 0; t < conf->ntables && !key; t++)
            for (size_t i = 0; i < conf->tables[t]->n && !key; i++) {
                const sl_prop_def_t *d = &conf->tables[t]->defs[i];
                if (!is_passthrough(d) && env_name_equals(d->key, strlen(d->key), var, nlen))
                    key = d->key;
            }
        /* 2. a key set in the file */
        for (size_t i = 0; i < conf->n && !key; i++)
            if (env_name_equals(conf->entries[i].key, strlen(conf->entries[i].key), var, nlen))
                key = conf->entries[i].key;
        /* 3. under the longest matching PASSTHROUGH prefix */
        if (!key) {
            const sl_prop_def_t *best = NULL;
            size_t best_len = 0;
            for (size_t t = 0; t < conf->ntables; t++)
                for (size_t i = 0; i < conf->tables[t]->n; i++) {
                    const sl_prop_def_t *d = &conf->tables[t]->defs[i];
                    size_t pl = passthrough_prefix_len(d);
                    if (is_passthrough(d) && pl < nlen && pl > best_len &&
                        env_name_equals(d->key, pl, var, pl)) {
                        best = d;
                        best_len = pl;
                    }
                }
            if (!best)
                continue;
            made = malloc(nlen + 1);
            if (!made)
                return nomem_err(errstr, errstr_size);
            memcpy(made, best->key, best_len);
            for (size_t i = best_len; i < nlen; i++)
                made[i] = (char)(var[i] == '_' ? '.' : tolower((unsigned char)var[i]));
            made[nlen] = 0;
            key = made;
        }
        struct utf8_bad bad;
        if (check_utf8(value, strlen(value), &bad) != 0) {
            free(made);
            return conf_err(errstr, errstr_size,
                            "environment variable %.*s: invalid UTF-8 (byte 0x%02X at column %u)",
                            (int)nlen, var, bad.byte, bad.column);
        }
        /* key may point into the entry conf_set replaces: copy it first */
        char *k = made ? made : strdup(key);
        if (!k)
            return nomem_err(errstr, errstr_size);
        int rc = conf_set(conf, k, value, 0, errstr, errstr_size);
        free(k);
        if (rc != SL_OK)
            return rc;
    }
    return SL_OK;
}

/* ---------- load / free ---------- */

static int conf_new(sl_conf_t **out, const char *name, const sl_prop_table_t *const *tables,
                    size_t ntables)
{
    sl_conf_t *conf = calloc(1, sizeof *conf);
    if (!conf)
        return SL_ERR_NOMEM;
    if (name && !(conf->name = strdup(name))) {
        free(conf);
        return SL_ERR_NOMEM;
    }
    if (ntables > 0) {
        conf->tables = malloc(ntables * sizeof(const sl_prop_table_t *));
        if (!conf->tables) {
            free(conf->name);
            free(conf);
            return SL_ERR_NOMEM;
        }
        memcpy(conf->tables, tables, ntables * sizeof(const sl_prop_table_t *));
        conf->ntables = ntables;
    }
    *out = conf;
    return SL_OK;
}

static int load_common(sl_conf_t **out, const char *name, const char *text, size_t len,
                       char *const *envp, const sl_prop_table_t *const *tables, size_t ntables,
                       char *errstr, size_t errstr_size)
{
    sl_conf_t *conf;
    *out = NULL;
    if (conf_new(&conf, name, tables, ntables) != SL_OK)
        return nomem_err(errstr, errstr_size);
    int rc = text ? parse_text(conf, text, len, errstr, errstr_size) : SL_OK;
    if (rc == SL_OK)
        rc = apply_env(conf, envp, errstr, errstr_size);
    if (rc != SL_OK) {
        sl_conf_free(conf);
        return rc;
    }
    *out = conf;
    return SL_OK;
}

int sl_conf_load_string(sl_conf_t **out, const char *name, const char *text, size_t len,
                        char *const *envp, const sl_prop_table_t *const *tables, size_t ntables,
                        char *errstr, size_t errstr_size)
{
    return load_common(out, name ? name : "<string>", text ? text : "", text ? len : 0, envp,
                       tables, ntables, errstr, errstr_size);
}

int sl_conf_load(sl_conf_t **out, const char *path, char *const *envp,
                 const sl_prop_table_t *const *tables, size_t ntables, char *errstr,
                 size_t errstr_size)
{
    *out = NULL;
    if (!path)
        return load_common(out, NULL, NULL, 0, envp, tables, ntables, errstr, errstr_size);
    FILE *f = fopen(path, "rb");
    if (!f)
        return conf_err(errstr, errstr_size, "could not open file \"%s\": %s", path,
                        strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > (off_t)CONF_MAX_FILE) {
        (void)fclose(f);
        return conf_err(errstr, errstr_size, "%s: file is too large (limit %u MiB)", path,
                        CONF_MAX_FILE >> 20);
    }
    /* stop as soon as the cap is passed: the file may not be a regular one (a pipe) */
    sl_buf_t b = SL_BUF_INIT;
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        sl_buf_add(&b, chunk, got);
        if (!sl_buf_ok(&b) || b.len > CONF_MAX_FILE)
            break;
    }
    int rd_err = ferror(f) ? (errno ? errno : EIO) : 0;
    (void)fclose(f); /* read-only: nothing to lose */
    int rc;
    if (rd_err)
        rc =
            conf_err(errstr, errstr_size, "could not read file \"%s\": %s", path, strerror(rd_err));
    else if (!sl_buf_ok(&b))
        rc = nomem_err(errstr, errstr_size);
    else
        rc = load_common(out, path, b.data ? b.data : "", b.len, envp, tables, ntables, errstr,
                         errstr_size);
    sl_buf_free(&b);
    return rc;
}

void sl_conf_free(sl_conf_t *conf)
{
    if (!conf)
        return;
    for (size_t i = 0; i < conf->n; i++)
        free(conf->entries[i].key);
    free(conf->entries);
    free(conf->index);
    free(conf->tables);
    free(conf->name);
    free(conf);
}

/* ---------- the tables ---------- */

/* The table entry for key: an exact key first, else the longest PASSTHROUGH prefix
 * (with a non-empty remainder). */
static const sl_prop_def_t *find_def(const sl_prop_table_t *const *tables, size_t ntables,
                                     const char *key)
{
    const sl_prop_def_t *best = NULL;
    size_t best_len = 0, klen = strlen(key);
    for (size_t t = 0; t < ntables; t++)
        for (size_t i = 0; i < tables[t]->n; i++) {
            const sl_prop_def_t *d = &tables[t]->defs[i];
            if (!is_passthrough(d)) {
                if (strcmp(d->key, key) == 0)
                    return d;
                continue;
            }
            size_t pl = passthrough_prefix_len(d);
            if (pl < klen && (!best || pl > best_len) && strncmp(d->key, key, pl) == 0) {
                best = d;
                best_len = pl;
            }
        }
    return best;
}

/* Parses a whole integer (surrounding white space allowed). 0 ok, -1 not an integer,
 * -2 does not fit in 64 bits. */
static int parse_int(const char *s, int64_t *out)
{
    const char *b = s, *e = s + strlen(s);
    trim(&b, &e);
    bool neg = false;
    if (b < e && (*b == '+' || *b == '-'))
        neg = *b++ == '-';
    if (b == e)
        return -1;
    uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    bool overflow = false;
    for (; b < e; b++) {
        if (*b < '0' || *b > '9')
            return -1;
        unsigned dg = (unsigned)(*b - '0');
        if (mag > (limit - dg) / 10)
            overflow = true;
        else
            mag = mag * 10 + dg;
    }
    if (overflow)
        return -2;
    *out = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    const char *b = s, *e = s + strlen(s);
    trim(&b, &e);
    size_t n = (size_t)(e - b);
    if (n == 4 && strncasecmp(b, "true", 4) == 0)
        *out = true;
    else if (n == 5 && strncasecmp(b, "false", 5) == 0)
        *out = false;
    else
        return -1;
    return 0;
}

/* Index of s (trimmed, case-insensitive) in "a|b|c", or -1. */
static int enum_index(const char *choices, const char *s)
{
    if (!choices || !s)
        return -1;
    const char *b = s, *e = s + strlen(s);
    trim(&b, &e);
    size_t n = (size_t)(e - b);
    int idx = 0;
    for (const char *c = choices;; idx++) {
        const char *bar = strchr(c, '|');
        size_t cl = bar ? (size_t)(bar - c) : strlen(c);
        if (cl == n && strncasecmp(c, b, n) == 0)
            return idx;
        if (!bar)
            return -1;
        c = bar + 1;
    }
}

static bool int_bounded(const sl_prop_def_t *d)
{
    return !(d->min == 0 && d->max == 0);
}

/* "1..65535", "1 or more", "at most 5"; empty when unbounded. */
static void range_text(const sl_prop_def_t *d, char *dst, size_t n)
{
    if (!int_bounded(d))
        dst[0] = 0;
    else if (d->max == INT64_MAX)
        (void)snprintf(dst, n, "%lld or more", (long long)d->min);
    else if (d->min == INT64_MIN)
        (void)snprintf(dst, n, "at most %lld", (long long)d->max);
    else
        (void)snprintf(dst, n, "%lld..%lld", (long long)d->min, (long long)d->max);
}

/* Splits a list value: calls fn for each trimmed, non-empty item. Stops when fn
 * returns non-zero and returns that. */
static int list_each(const char *v, int (*fn)(void *ud, const char *item, size_t len), void *ud)
{
    const char *p = v;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *b = p, *e = comma ? comma : p + strlen(p);
        trim(&b, &e);
        if (e > b) {
            int rc = fn(ud, b, (size_t)(e - b));
            if (rc)
                return rc;
        }
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

/* Why a regular expression is refused before regcomp() sees it. */
enum {
    RX_OK = 0,
    RX_TOO_COMPLEX,
    RX_EMPTY_LOOP
};

struct rx_frame {
    double size;       /* nodes of the group so far */
    bool branch_empty; /* the current alternative can match the empty string so far */
    bool any_empty;    /* an earlier alternative can */
};

/* Is an extended regular expression safe to hand to glibc's regcomp()? Measured:
 *  - it copies a subexpression once per repetition ("a{3}" -> "aaa", "a+" ->
 *    "aa*"), so "x++++++++++++++++++++" or "(a{999}){999}" exhaust memory: we
 *    bound the nodes it would build (over-estimating is fine, the patterns
 *    people write are tiny) -> RX_TOO_COMPLEX;
 *  - its parser recurses once per '(' (a stack overflow at ~30000) -> the
 *    nesting is bounded too -> RX_TOO_COMPLEX;
 *  - a loop ('*', '+', '{n,}') over something that can match the empty string
 *    ("(x?)+", "(a*|b)*") makes its epsilon closures explode: ten nested
 *    "(x?)+" take 0.6 s, "((x*|y?)+){50}" minutes -> RX_EMPTY_LOOP; a bounded
 *    "{n}" is unrolled into copies and only counts towards the node bound.
 *    POSIX leaves adjacent repetition operators ("x?+", "x**") undefined anyway. */
static int regex_check_cost(const char *p)
{
    struct rx_frame st[CONF_REGEX_MAX_DEPTH + 1];
    int depth = 0;
    st[0] = (struct rx_frame){0, true, false};
    double last = 0;         /* nodes of the last item (what a quantifier repeats) */
    bool last_empty = false; /* the last item can match the empty string */
    bool before_last = true; /* branch_empty before the last item was added */
    while (*p) {
        struct rx_frame *f = &st[depth];
        long lo = -1, hi = -1; /* quantifier bounds, hi = -1: unbounded */
        if (*p == '(') {
            if (depth == CONF_REGEX_MAX_DEPTH)
                return RX_TOO_COMPLEX;
            st[++depth] = (struct rx_frame){0, true, false};
            last = 0;
            last_empty = false;
            p++;
            continue;
        }
        if (*p == ')' && depth > 0) {
            bool empty = f->any_empty || f->branch_empty;
            last = f->size + 1;
            depth--;
            f = &st[depth];
            f->size += last;
            last_empty = empty;
            before_last = f->branch_empty;
            f->branch_empty = f->branch_empty && empty;
            p++;
        } else if (*p == '|') {
            f->any_empty = f->any_empty || f->branch_empty;
            f->branch_empty = true;
            f->size += 1;
            last = 0;
            last_empty = false;
            p++;
        } else if (*p == '*' || *p == '?' || *p == '+') {
            lo = *p == '+' ? 1 : 0;
            hi = *p == '?' ? 1 : -1;
            p++;
        } else if (*p == '{' && isdigit((unsigned char)p[1])) {
            char *end;
            unsigned long a = strtoul(p + 1, &end, 10), b = a;
            bool unbounded = false;
            if (*end == ',' && isdigit((unsigned char)end[1])) {
                b = strtoul(end + 1, &end, 10);
            } else if (*end == ',') {
                unbounded = true;
                end++;
            }
            if (*end != '}')
                return RX_OK; /* regcomp() will say what is wrong with it */
            a = a > 100000 ? 100000 : a;
            b = b > 100000 ? 100000 : b;
            lo = (long)a;
            hi = unbounded ? -1 : (long)b;
            p = end + 1;
        } else {
            bool zero_width = *p == '^' || *p == '$';
            if (*p == '[') {
                p++;
                if (*p == '^')
                    p++;
                if (*p == ']')
                    p++;
                while (*p && *p != ']') {
                    if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
                        char t = p[1];
                        p += 2;
                        while (*p && !(p[0] == t && p[1] == ']'))
                            p++;
                        if (*p)
                            p += 2;
                    } else {
                        p++;
                    }
                }
                if (*p)
                    p++;
            } else {
                p += (*p == '\\' && p[1]) ? 2 : 1;
            }
            last = 1;
            last_empty = zero_width;
            before_last = f->branch_empty;
            f->branch_empty = f->branch_empty && zero_width;
            f->size += 1;
        }
        if (lo >= 0) {
            /* a bounded repetition is unrolled into copies, not a loop */
            if (hi == -1 && last_empty)
                return RX_EMPTY_LOOP;
            double times = (double)(hi == -1 ? lo + 1 : (hi > lo ? hi : lo));
            if (times < 1)
                times = 1;
            f->size += last * (times - 1) + 1;
            last = last * times + 1;
            last_empty = last_empty || lo == 0;
            f->branch_empty = before_last && last_empty;
        }
        double total = 0;
        for (int i = 0; i <= depth; i++)
            total += st[i].size;
        if (total > CONF_REGEX_MAX_NODES)
            return RX_TOO_COMPLEX;
    }
    return RX_OK;
}

struct regex_check {
    const struct entry *e;
    const sl_prop_def_t *d;
    char *errstr;
    size_t errstr_size;
};

const char *sl_regex_problem(const char *pattern)
{
    int cost = regex_check_cost(pattern);
    return cost == RX_OK            ? NULL
           : cost == RX_TOO_COMPLEX ? "is too complex"
                                    : "repeats a subexpression that can match the empty string";
}

static int regex_check_item(void *ud, const char *item, size_t len)
{
    struct regex_check *rc = ud;
    char *pat = strndup(item, len);
    if (!pat)
        return nomem_err(rc->errstr, rc->errstr_size);
    int cost = regex_check_cost(pat);
    if (cost != RX_OK) {
        const char *why = cost == RX_TOO_COMPLEX
                              ? "is too complex"
                              : "repeats a subexpression that can match the empty string";
        int ret;
        if (rc->d->flags & SL_PF_SECRET) {
            ret = conf_err(rc->errstr, rc->errstr_size, "%s: %s: regular expression %s",
                           rc->e->origin, rc->e->key, why);
        } else {
            char q[QUOTE_MAX + 8];
            quote_text(q, sizeof q, pat);
            ret = conf_err(rc->errstr, rc->errstr_size, "%s: %s: regular expression '%s' %s",
                           rc->e->origin, rc->e->key, q, why);
        }
        free(pat);
        return ret;
    }
    regex_t re;
    int r = regcomp(&re, pat, REG_EXTENDED | REG_NOSUB);
    if (r == 0) {
        regfree(&re);
        free(pat);
        return 0;
    }
    char why[256];
    regerror(r, &re, why, sizeof why);
    /* our messages start lowercase; keep an acronym ("POSIX ...") as it is */
    if (isupper((unsigned char)why[0]) && !isupper((unsigned char)why[1]))
        why[0] = (char)tolower((unsigned char)why[0]);
    int ret;
    if (rc->d->flags & SL_PF_SECRET) {
        ret = conf_err(rc->errstr, rc->errstr_size, "%s: %s: invalid regular expression: %s",
                       rc->e->origin, rc->e->key, why);
    } else {
        char q[QUOTE_MAX + 8];
        quote_text(q, sizeof q, pat);
        ret = conf_err(rc->errstr, rc->errstr_size, "%s: %s: invalid regular expression '%s': %s",
                       rc->e->origin, rc->e->key, q, why);
    }
    free(pat);
    return ret;
}

/* Type-checks one setting against its table entry. */
static int check_value(const struct entry *e, const sl_prop_def_t *d, char *errstr,
                       size_t errstr_size)
{
    bool secret = (d->flags & SL_PF_SECRET) != 0;
    char q[QUOTE_MAX + 8], what[QUOTE_MAX + 16];
    quote_text(q, sizeof q, e->value);
    if (secret)
        (void)snprintf(what, sizeof what, "value");
    else
        (void)snprintf(what, sizeof what, "'%s'", q);

    switch (d->type) {
    case SL_PT_INT: {
        int64_t v;
        char range[96], paren[112] = "";
        range_text(d, range, sizeof range);
        if (range[0])
            (void)snprintf(paren, sizeof paren, " (expected %s)", range);
        int r = parse_int(e->value, &v);
        if (r == -1)
            return conf_err(errstr, errstr_size, "%s: %s: %s is not an integer%s", e->origin,
                            e->key, what, paren);
        if (r == -2 || (int_bounded(d) && (v < d->min || v > d->max)))
            return conf_err(errstr, errstr_size, "%s: %s: %s is out of range%s", e->origin, e->key,
                            what, range[0] ? paren : " (expected a 64-bit integer)");
        return SL_OK;
    }
    case SL_PT_BOOL: {
        bool b;
        if (parse_bool(e->value, &b) != 0)
            return conf_err(errstr, errstr_size,
                            "%s: %s: %s is not a boolean (expected true or false)", e->origin,
                            e->key, what);
        return SL_OK;
    }
    case SL_PT_ENUM: {
        if (enum_index(d->choices, e->value) >= 0)
            return SL_OK;
        sl_buf_t c = SL_BUF_INIT;
        for (const char *p = d->choices ? d->choices : ""; *p; p++) {
            if (*p == '|')
                sl_buf_adds(&c, ", ");
            else
                sl_buf_addc(&c, *p);
        }
        if (!sl_buf_ok(&c)) {
            sl_buf_free(&c);
            return nomem_err(errstr, errstr_size);
        }
        int rc =
            conf_err(errstr, errstr_size, "%s: %s: %s is not a valid value (expected one of: %s)",
                     e->origin, e->key, what, c.data ? c.data : "");
        sl_buf_free(&c);
        return rc;
    }
    case SL_PT_REGEX_LIST: {
        struct regex_check rc = {e, d, errstr, errstr_size};
        return list_each(e->value, regex_check_item, &rc);
    }
    case SL_PT_STRING:
    case SL_PT_LIST:
    case SL_PT_PASSTHROUGH:
        return SL_OK;
    }
    return SL_OK;
}

/* The entry for key in the active tables (the chosen source and sink) first: two sources
 * share key names (database.port) with different defaults and choices. */
static const sl_prop_def_t *find_def_active(const sl_prop_table_t *const *tables, size_t ntables,
                                            const sl_prop_table_t *const *active, size_t nactive,
                                            const char *key)
{
    const sl_prop_def_t *d = find_def(active, nactive, key);
    return d ? d : find_def(tables, ntables, key);
}

void sl_conf_set_active(sl_conf_t *conf, const sl_prop_table_t *const *active, size_t nactive)
{
    size_t front = 0;
    for (size_t a = 0; a < nactive; a++)
        for (size_t t = front; t < conf->ntables; t++)
            if (conf->tables[t] == active[a]) {
                const sl_prop_table_t *x = conf->tables[t];
                memmove(&conf->tables[front + 1], &conf->tables[front],
                        (t - front) * sizeof *conf->tables);
                conf->tables[front++] = x;
                break;
            }
}

int sl_conf_validate(const sl_conf_t *conf, const sl_prop_table_t *const *tables, size_t ntables,
                     const sl_prop_table_t *const *active, size_t nactive, char *errstr,
                     size_t errstr_size)
{
    for (size_t i = 0; i < conf->n; i++) {
        const struct entry *e = &conf->entries[i];
        const sl_prop_def_t *d = find_def_active(tables, ntables, active, nactive, e->key);
        if (!e->key[0])
            return conf_err(errstr, errstr_size,
                            "%s: a line with no key (it starts with '=' or ':'); write key=value",
                            e->origin);
        if (d && (d->flags & SL_PF_REQUIRED) && !e->value[0])
            return conf_err(errstr, errstr_size, "%s: %s is empty; it needs a value",
                            e->origin, e->key);
        if (!d) {
            char q[QUOTE_MAX + 8];
            quote_text(q, sizeof q, e->key);
            const char *near = sl_conf_nearest_key(e->key, tables, ntables);
            if (near)
                return conf_err(errstr, errstr_size, "%s: unknown key '%s' (did you mean '%s'?)",
                                e->origin, q, near);
            return conf_err(errstr, errstr_size, "%s: unknown key '%s'", e->origin, q);
        }
        int rc = check_value(e, d, errstr, errstr_size);
        if (rc != SL_OK)
            return rc;
    }
    for (size_t t = 0; t < nactive; t++)
        for (size_t i = 0; i < active[t]->n; i++) {
            const sl_prop_def_t *d = &active[t]->defs[i];
            if (!(d->flags & SL_PF_REQUIRED) || is_passthrough(d) || d->def ||
                conf_find(conf, d->key))
                continue;
            if (conf->name)
                return conf_err(errstr, errstr_size,
                                "%s: required key is missing (add '%s=...' to %s)", d->key, d->key,
                                conf->name);
            sl_buf_t env = SL_BUF_INIT;
            for (const char *p = d->key; *p; p++)
                sl_buf_addc(&env, env_char(*p));
            if (!sl_buf_ok(&env))
                return nomem_err(errstr, errstr_size);
            int rc = conf_err(errstr, errstr_size,
                              "%s: required key is missing (set %s in the environment)", d->key,
                              env.data ? env.data : "");
            sl_buf_free(&env);
            return rc;
        }
    for (size_t i = 0; i < conf->n; i++) {
        struct entry *e = &conf->entries[i];
        const sl_prop_def_t *d = find_def_active(tables, ntables, active, nactive, e->key);
        if (d && (d->flags & SL_PF_IGNORED) && !e->warned) {
            sl_warn("%s is accepted for Debezium compatibility and has no effect", e->key);
            e->warned = true;
        }
    }
    return SL_OK;
}

/* ---------- getters ---------- */

static const sl_prop_def_t *getter_def(const sl_conf_t *conf, const char *key)
{
    const sl_prop_def_t *d =
        find_def((const sl_prop_table_t *const *)conf->tables, conf->ntables, key);
    assert(d && "key is not in a registered property table");
    return d;
}

/* The value set, else the table's default, else NULL. */
static const char *raw_value(const sl_conf_t *conf, const char *key, const sl_prop_def_t **dp)
{
    const sl_prop_def_t *d = getter_def(conf, key);
    if (dp)
        *dp = d;
    const struct entry *e = conf_find(conf, key);
    if (e)
        return e->value;
    return d ? d->def : NULL;
}

const char *sl_conf_str(const sl_conf_t *conf, const char *key)
{
    return raw_value(conf, key, NULL);
}

int64_t sl_conf_int(const sl_conf_t *conf, const char *key)
{
    const sl_prop_def_t *d;
    const char *v = raw_value(conf, key, &d);
    int64_t n;
    if (v && parse_int(v, &n) == 0)
        return n;
    if (d && d->def && parse_int(d->def, &n) == 0)
        return n;
    return 0;
}

bool sl_conf_bool(const sl_conf_t *conf, const char *key)
{
    const sl_prop_def_t *d;
    const char *v = raw_value(conf, key, &d);
    bool b;
    if (v && parse_bool(v, &b) == 0)
        return b;
    if (d && d->def && parse_bool(d->def, &b) == 0)
        return b;
    return false;
}

int sl_conf_enum(const sl_conf_t *conf, const char *key)
{
    const sl_prop_def_t *d;
    const char *v = raw_value(conf, key, &d);
    if (!d)
        return -1;
    int i = enum_index(d->choices, v);
    return i >= 0 ? i : enum_index(d->choices, d->def);
}

bool sl_conf_is_set(const sl_conf_t *conf, const char *key)
{
    return conf_find(conf, key) != NULL;
}

const char *sl_conf_origin(const sl_conf_t *conf, const char *key)
{
    const struct entry *e = conf_find(conf, key);
    return e ? e->origin : "default";
}

int sl_conf_pair(const sl_conf_t *conf, const char *a, const char *b, const char *why,
                 char *errstr, size_t errstr_size)
{
    if (sl_conf_is_set(conf, a) == sl_conf_is_set(conf, b))
        return SL_OK;
    const char *set = sl_conf_is_set(conf, a) ? a : b, *unset = set == a ? b : a;
    snprintf(errstr, errstr_size, "%s: %s is set without %s; %s", sl_conf_origin(conf, set), set,
             unset, why);
    return SL_ERR_CONFIG;
}

void sl_conf_foreach_prefix(const sl_conf_t *conf, const char *prefix,
                            void (*fn)(void *ud, const char *subkey, const char *value), void *ud)
{
    size_t pl = strlen(prefix);
    for (size_t i = 0; i < conf->n; i++)
        if (strncmp(conf->entries[i].key, prefix, pl) == 0)
            fn(ud, conf->entries[i].key + pl, conf->entries[i].value);
}

struct list_build {
    char **items;
    size_t n;
};

static int list_add_item(void *ud, const char *item, size_t len)
{
    struct list_build *lb = ud;
    char *s = strndup(item, len);
    if (!s)
        return -1;
    lb->items[lb->n++] = s;
    return 0;
}

char **sl_conf_list(const sl_conf_t *conf, const char *key)
{
    const char *v = raw_value(conf, key, NULL);
    if (!v)
        return NULL;
    size_t commas = 0;
    for (const char *p = v; *p; p++)
        commas += *p == ',';
    struct list_build lb = {calloc(commas + 2, sizeof(char *)), 0};
    if (!lb.items)
        return NULL;
    if (list_each(v, list_add_item, &lb) != 0) {
        sl_conf_list_free(lb.items);
        return NULL;
    }
    return lb.items;
}

void sl_conf_list_free(char **list)
{
    if (!list)
        return;
    for (char **p = list; *p; p++)
        free(*p);
    free(list);
}

/* ---------- CONFIGURATION.md ---------- */

/* Writes text for a markdown table cell: '|' escaped, line breaks as spaces. */
static void md_cell(sl_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            sl_buf_adds(b, "\\|");
        else if (*s == '\n' || *s == '\r')
            sl_buf_addc(b, ' ');
        else
            sl_buf_addc(b, *s);
    }
}

static void md_type(sl_buf_t *b, const sl_prop_def_t *d)
{
    switch (d->type) {
    case SL_PT_STRING:
        sl_buf_adds(b, "string");
        break;
    case SL_PT_INT: {
        char range[96];
        range_text(d, range, sizeof range);
        sl_buf_adds(b, "int");
        if (range[0])
            sl_buf_printf(b, " (%s)", range);
        break;
    }
    case SL_PT_BOOL:
        sl_buf_adds(b, "bool");
        break;
    case SL_PT_ENUM:
        sl_buf_adds(b, "one of: ");
        for (const char *p = d->choices ? d->choices : ""; *p;) {
            const char *bar = strchr(p, '|');
            size_t n = bar ? (size_t)(bar - p) : strlen(p);
            sl_buf_printf(b, "`%.*s`", (int)n, p);
            if (!bar)
                break;
            sl_buf_adds(b, ", ");
            p = bar + 1;
        }
        break;
    case SL_PT_LIST:
        sl_buf_adds(b, "list");
        break;
    case SL_PT_REGEX_LIST:
        sl_buf_adds(b, "list of regular expressions");
        break;
    case SL_PT_PASSTHROUGH:
        sl_buf_adds(b, "any key under this prefix");
        break;
    }
}

/* Builds the whole document in memory, then writes it at once. */
static void md_document(sl_buf_t *b, const sl_prop_table_t *const *tables, size_t ntables)
{
    sl_buf_adds(
        b, "# sluice configuration\n"
           "\n"
           "<!-- generated by `sluice --config-doc`; do not edit by hand -->\n"
           "\n"
           "This file is generated by `sluice --config-doc` from the property tables in the "
           "source code; do not edit it by hand.\n"
           "\n"
           "Settings are read from a Java-style properties file that uses Debezium Server's key "
           "names. Every key can be overridden by an environment variable: upper-case the key "
           "and replace each character that is not a letter or digit with `_` "
           "(`DEBEZIUM_SOURCE_DATABASE_PASSWORD` sets `debezium.source.database.password`).\n");
    for (size_t t = 0; t < ntables; t++) {
        const sl_prop_table_t *tb = tables[t];
        sl_buf_printf(b, "\n## %s\n\n", tb->title ? tb->title : tb->module);
        if (tb->n == 0) {
            sl_buf_adds(b, "No keys.\n");
            continue;
        }
        sl_buf_adds(b, "| key | type | default | description |\n|---|---|---|---|\n");
        for (size_t i = 0; i < tb->n; i++) {
            const sl_prop_def_t *d = &tb->defs[i];
            sl_buf_adds(b, "| `");
            md_cell(b, d->key);
            sl_buf_adds(b, "` | ");
            md_type(b, d);
            sl_buf_adds(b, " | ");
            if (d->def && (d->flags & SL_PF_SECRET))
                sl_buf_adds(b, "(secret)");
            else if (d->def && d->def[0]) {
                sl_buf_addc(b, '`');
                md_cell(b, d->def);
                sl_buf_addc(b, '`');
            } else if (d->def)
                sl_buf_adds(b, "(empty)");
            sl_buf_adds(b, " | ");
            const char *flags[3];
            size_t nf = 0;
            if (d->flags & SL_PF_REQUIRED)
                flags[nf++] = "required";
            if (d->flags & SL_PF_SECRET)
                flags[nf++] = "secret";
            if (d->flags & SL_PF_IGNORED)
                flags[nf++] = "ignored (Debezium compatibility)";
            if (nf > 0) {
                sl_buf_adds(b, "*");
                for (size_t f = 0; f < nf; f++)
                    sl_buf_printf(b, "%s%s", f ? ", " : "", flags[f]);
                sl_buf_adds(b, ".*");
                if (d->doc && d->doc[0])
                    sl_buf_addc(b, ' ');
            }
            md_cell(b, d->doc);
            sl_buf_adds(b, " |\n");
        }
    }
}

void sl_conf_write_markdown(FILE *out, const sl_prop_table_t *const *tables, size_t ntables)
{
    sl_buf_t b = SL_BUF_INIT;
    md_document(&b, tables, ntables);
    if (!sl_buf_ok(&b))
        sl_error("could not generate the configuration reference: out of memory");
    else if (b.len > 0 && fwrite(b.data, 1, b.len, out) != b.len)
        sl_error("could not write the configuration reference");
    sl_buf_free(&b);
}

/* ---------- "did you mean" ---------- */

/* Case-insensitive Levenshtein distance; na, nb <= NEAR_MAX_LEN. */
static size_t lev(const char *a, size_t na, const char *b, size_t nb)
{
    size_t row[NEAR_MAX_LEN + 1];
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t cost =
                tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t v = diag + cost;
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
        }
    }
    return row[nb];
}

/* Typo rule: the edit distance is judged against the parts after the longest common
 * dotted prefix ("debezium.source.slot.nmae" vs "...slot.name" -> "nmae" vs "name"),
 * so long shared namespaces do not make unrelated keys look close. Returns the
 * distance, or SIZE_MAX when too far. */
static size_t typo_distance(const char *a, size_t na, const char *b, size_t nb)
{
    size_t p = 0, dot = 0;
    while (p < na && p < nb && tolower((unsigned char)a[p]) == tolower((unsigned char)b[p])) {
        if (a[p] == '.')
            dot = p + 1;
        p++;
    }
    size_t ta = na - dot, tb = nb - dot;
    size_t tail = ta > tb ? ta : tb;
    size_t limit = tail / 3 + 1;
    size_t diff = ta > tb ? ta - tb : tb - ta;
    if (diff > limit)
        return SIZE_MAX;
    size_t d = lev(a + dot, ta, b + dot, tb);
    return d <= limit ? d : SIZE_MAX;
}

/* Offset of the dotted suffix after `k` leading components, or SIZE_MAX. */
static size_t strip_components(const char *s, size_t n, unsigned k)
{
    size_t off = 0;
    for (unsigned i = 0; i < k; i++) {
        const char *dot = memchr(s + off, '.', n - off);
        if (!dot || (size_t)(dot - s) + 1 >= n)
            return SIZE_MAX;
        off = (size_t)(dot - s) + 1;
    }
    return off;
}

static unsigned count_dots(const char *s, size_t n)
{
    unsigned c = 0;
    for (size_t i = 0; i < n; i++)
        c += s[i] == '.';
    return c;
}

const char *sl_conf_nearest_key(const char *key, const sl_prop_table_t *const *tables,
                                size_t ntables)
{
    size_t nk = strlen(key);
    if (nk == 0 || nk > NEAR_MAX_LEN)
        return NULL;
    const char *best = NULL;
    size_t best_score = SIZE_MAX;
    for (size_t t = 0; t < ntables; t++)
        for (size_t i = 0; i < tables[t]->n; i++) {
            const sl_prop_def_t *d = &tables[t]->defs[i];
            size_t nd = strlen(d->key);
            if (nd > NEAR_MAX_LEN)
                continue;
            if (is_passthrough(d)) {
                /* compare as many leading components of key as the prefix has */
                size_t pl = passthrough_prefix_len(d);
                unsigned comps = count_dots(d->key, pl);
                size_t kp = strip_components(key, nk, comps);
                if (comps == 0 || kp == SIZE_MAX)
                    continue;
                size_t dist = typo_distance(key, kp, d->key, pl);
                if (dist < best_score) {
                    best_score = dist;
                    best = d->key;
                }
                continue;
            }
            size_t dist = typo_distance(key, nk, d->key, nd);
            if (dist < best_score) {
                best_score = dist;
                best = d->key;
            }
            /* namespace left out, added or wrong ("database.hostname",
             * "debezium.sink.database.hostname"): the dotted tails must match
             * almost exactly, and each stripped component costs one */
            for (unsigned ki = 0; ki <= 4; ki++) {
                size_t ko = strip_components(key, nk, ki);
                if (ko == SIZE_MAX)
                    break;
                for (unsigned di = 0; di <= 4; di++) {
                    if (ki == 0 && di == 0)
                        continue;
                    size_t dof = strip_components(d->key, nd, di);
                    if (dof == SIZE_MAX)
                        break;
                    size_t la = nk - ko, lb = nd - dof;
                    /* a bare last component ("name") says too little, unless it is
                     * the whole of what the user wrote */
                    if (ki > 0 && !memchr(key + ko, '.', la))
                        continue;
                    if (!memchr(d->key + dof, '.', lb) && ki > 0)
                        continue;
                    size_t allowed = (la < lb ? la : lb) / 8;
                    size_t diff = la > lb ? la - lb : lb - la;
                    if (diff > allowed)
                        continue;
                    size_t dd = lev(key + ko, la, d->key + dof, lb);
                    if (dd > allowed)
                        continue;
                    size_t score = dd + ki + di;
                    if (score < best_score) {
                        best_score = score;
                        best = d->key;
                    }
                }
            }
        }
    return best;
}
