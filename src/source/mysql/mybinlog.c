/*
 * mybinlog.c — parsing the bodies of TABLE_MAP and WRITE/UPDATE/DELETE_ROWS events.
 *
 * What: my_tablemap_parse() turns a TABLE_MAP body into a my_tablemap_t (names, wire
 * types, per-column metadata normalised by my_tablemap_meta(), nullability, and the
 * optional metadata of binlog_row_metadata=MINIMAL|FULL); my_rows_parse() splits a rows
 * event body into its header fields, column bitmaps and row images, which
 * my_row_decode() (mytypes.c) then walks.
 *
 * How: a bounded reader (struct rd) hands out fixed-size fields and length-encoded
 * integers, failing once anything would run past the end; every count read from the
 * wire is checked against the bytes that must hold its elements before anything is
 * allocated for it. The optional-metadata TLVs are first only located, then interpreted
 * once all are known, because their meaning depends on each other and on the flavour:
 *
 *   MariaDB and MySQL disagree on which columns the per-column lists cover. MariaDB
 *   counts YEAR among the numeric columns of the SIGNEDNESS bitmap and GEOMETRY among
 *   the character columns of the charset lists (verified against MariaDB 10.11); MySQL
 *   8 counts neither. We assume MariaDB unless the event says otherwise: a
 *   COLUMN_VISIBILITY field or a JSON column (both MySQL-only), or list lengths that
 *   only MySQL's counting explains. Tables without YEAR and GEOMETRY columns read the
 *   same either way.
 *
 * Normalisation: ENUM and SET columns are typed MY_T_STRING on the wire with the real
 * type in their metadata; tm->types[i] holds MY_T_ENUM/MY_T_SET for them (meta stays
 * (real_type << 8 | storage bytes), see my_tablemap_meta). YEAR columns are reported
 * unsigned whatever the flavour, so both agree with my_coldef_from_decl.
 *
 * Invariants:
 *  1. Nothing is read past body + len (every access goes through struct rd).
 *  2. Counts are bounded by the bytes holding them before allocation.
 *  3. On error *out is left empty (everything freed, fields zeroed).
 *
 * References: MariaDB server sql/log_event.h, sql/log_event_server.cc
 * (Table_map_log_event::init_metadata_fields and friends), MySQL
 * libbinlogevents/include/rows_event.h (Table_map_event::Optional_metadata_field_type),
 * MariaDB protocol docs "TABLE_MAP_EVENT" and "ROWS_EVENT_V1/V2".
 */
#include "source/mysql/mybinlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/mysql/mytypes.h"

#define MAX_COLUMNS 4096 /* MySQL and MariaDB both cap a table at 4096 columns */

/* Optional metadata field types. */
enum {
    OM_SIGNEDNESS = 1,
    OM_DEFAULT_CHARSET = 2,
    OM_COLUMN_CHARSET = 3,
    OM_COLUMN_NAME = 4,
    OM_SET_STR_VALUE = 5,
    OM_ENUM_STR_VALUE = 6,
    OM_GEOMETRY_TYPE = 7,
    OM_SIMPLE_PRIMARY_KEY = 8,
    OM_PRIMARY_KEY_WITH_PREFIX = 9,
    OM_ENUM_AND_SET_DEFAULT_CHARSET = 10,
    OM_ENUM_AND_SET_COLUMN_CHARSET = 11,
    OM_COLUMN_VISIBILITY = 12,
    OM_MAX = 13
};

typedef struct rd {
    const uint8_t *p;
    size_t n;
    bool bad;
} rd_t;

static const uint8_t *rd_take(rd_t *r, size_t k)
{
    if (r->bad || r->n < k) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *q = r->p;
    r->p += k;
    r->n -= k;
    return q;
}

static uint64_t rd_uint(rd_t *r, size_t k)
{
    const uint8_t *q = rd_take(r, k);
    uint64_t v = 0;
    if (q)
        for (size_t i = k; i-- > 0;)
            v = v << 8 | q[i];
    return v;
}

/* Length-encoded integer (251 = NULL is not valid here). */
static uint64_t rd_lenenc(rd_t *r)
{
    const uint8_t *q = rd_take(r, 1);
    if (!q)
        return 0;
    if (q[0] < 251)
        return q[0];
    if (q[0] == 252)
        return rd_uint(r, 2);
    if (q[0] == 253)
        return rd_uint(r, 3);
    if (q[0] == 254)
        return rd_uint(r, 8);
    r->bad = true;
    return 0;
}

static void fail(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    if (!errstr || !errstr_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

static char *dup_n(const uint8_t *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

void my_tablemap_free(my_tablemap_t *tm)
{
    if (!tm)
        return;
    free(tm->db);
    free(tm->table);
    free(tm->types);
    free(tm->meta);
    free(tm->nullable);
    free(tm->is_unsigned);
    free(tm->collation);
    if (tm->names)
        for (uint32_t i = 0; i < tm->ncols; i++)
            free(tm->names[i]);
    free(tm->names);
    if (tm->labels)
        for (uint32_t i = 0; i < tm->ncols; i++)
            my_labels_free(tm->labels[i], tm->nlabels ? tm->nlabels[i] : 0);
    free(tm->labels);
    free(tm->nlabels);
    free(tm->pk);
    memset(tm, 0, sizeof *tm);
}

static bool is_numeric(uint8_t t, bool mariadb)
{
    switch (t) {
    case MY_T_TINY: case MY_T_SHORT: case MY_T_INT24: case MY_T_LONG: case MY_T_LONGLONG:
    case MY_T_FLOAT: case MY_T_DOUBLE: case MY_T_DECIMAL: case MY_T_NEWDECIMAL:
        return true;
    case MY_T_YEAR:
        return mariadb;
    default:
        return false;
    }
}

/* Columns of the DEFAULT_CHARSET/COLUMN_CHARSET lists (types already normalised, so
 * ENUM/SET are not MY_T_STRING any more). */
static bool is_character(uint8_t t, bool mariadb)
{
    switch (t) {
    case MY_T_STRING: case MY_T_VAR_STRING: case MY_T_VARCHAR: case MY_T_BLOB:
    case MY_T_TINY_BLOB: case MY_T_MEDIUM_BLOB: case MY_T_LONG_BLOB: case 140: case 141:
        return true;
    case MY_T_GEOMETRY:
        return mariadb;
    default:
        return false;
    }
}

static bool is_enum_set(uint8_t t) { return t == MY_T_ENUM || t == MY_T_SET; }

/* Number of length-encoded integers filling a field exactly, or -1. */
static long count_lenenc(const uint8_t *p, size_t n)
{
    rd_t r = {p, n, false};
    long k = 0;
    while (r.n > 0 && !r.bad) {
        (void)rd_lenenc(&r);
        k++;
    }
    return r.bad ? -1 : k;
}

/* DEFAULT_CHARSET (default + (index, collation) pairs) or COLUMN_CHARSET (one collation
 * per column of the group) into collation[] for the columns selected by `sel`. */
static int apply_charsets(my_tablemap_t *tm, const uint8_t *f, size_t flen, bool per_column,
                          bool (*sel)(uint8_t, bool), bool mariadb, char *errstr,
                          size_t errstr_size)
{
    uint32_t ngroup = 0;
    for (uint32_t i = 0; i < tm->ncols; i++)
        ngroup += sel(tm->types[i], mariadb);
    rd_t r = {f, flen, false};
    if (per_column) {
        for (uint32_t i = 0; i < tm->ncols; i++)
            if (sel(tm->types[i], mariadb))
                tm->collation[i] = (uint32_t)rd_lenenc(&r);
        if (r.bad || r.n) {
            fail(errstr, errstr_size, "table map: column charset list does not match %u columns",
                 ngroup);
            return SL_ERR_PROTO;
        }
        return SL_OK;
    }
    uint32_t def = (uint32_t)rd_lenenc(&r);
    for (uint32_t i = 0; i < tm->ncols; i++)
        if (sel(tm->types[i], mariadb))
            tm->collation[i] = def;
    while (r.n > 0 && !r.bad) {
        uint64_t idx = rd_lenenc(&r);
        uint32_t coll = (uint32_t)rd_lenenc(&r);
        if (r.bad || idx >= ngroup) {
            fail(errstr, errstr_size, "table map: charset index %llu out of range",
                 (unsigned long long)idx);
            return SL_ERR_PROTO;
        }
        for (uint32_t i = 0, k = 0; i < tm->ncols; i++)
            if (sel(tm->types[i], mariadb) && k++ == idx)
                tm->collation[i] = coll;
    }
    if (r.bad) {
        fail(errstr, errstr_size, "table map: malformed default charset field");
        return SL_ERR_PROTO;
    }
    return SL_OK;
}

static bool sel_char(uint8_t t, bool mariadb) { return is_character(t, mariadb); }
static bool sel_enum_set(uint8_t t, bool mariadb) { (void)mariadb; return is_enum_set(t); }

/* SET_STR_VALUE / ENUM_STR_VALUE: for each column of `type`, a count and the names. */
static int apply_labels(my_tablemap_t *tm, const uint8_t *f, size_t flen, uint8_t type,
                        char *errstr, size_t errstr_size)
{
    rd_t r = {f, flen, false};
    for (uint32_t i = 0; i < tm->ncols; i++) {
        if (tm->types[i] != type)
            continue;
        uint64_t n = rd_lenenc(&r);
        if (r.bad || n > r.n) { /* each name takes at least its length byte */
            fail(errstr, errstr_size, "table map: bad member count for column %u", i);
            return SL_ERR_PROTO;
        }
        char **l = calloc(n ? n : 1, sizeof *l);
        if (!l)
            return SL_ERR_NOMEM;
        tm->labels[i] = l;
        for (uint64_t k = 0; k < n; k++) {
            uint64_t len = rd_lenenc(&r);
            const uint8_t *s = r.bad || len > r.n ? NULL : rd_take(&r, (size_t)len);
            if (!s) {
                tm->nlabels[i] = (uint32_t)k;
                fail(errstr, errstr_size, "table map: member name of column %u truncated", i);
                return SL_ERR_PROTO;
            }
            l[k] = dup_n(s, (size_t)len);
            if (!l[k]) {
                tm->nlabels[i] = (uint32_t)k;
                return SL_ERR_NOMEM;
            }
        }
        tm->nlabels[i] = (uint32_t)n;
    }
    if (r.n) {
        fail(errstr, errstr_size, "table map: trailing bytes in the member names");
        return SL_ERR_PROTO;
    }
    return SL_OK;
}

static int tablemap_parse(const uint8_t *body, size_t len, my_tablemap_t *tm, char *errstr,
                          size_t errstr_size)
{
    rd_t r = {body, len, false};
    tm->table_id = rd_uint(&r, 6);
    (void)rd_uint(&r, 2); /* flags */
    size_t dblen = (size_t)rd_uint(&r, 1);
    const uint8_t *db = rd_take(&r, dblen + 1);
    size_t tlen = (size_t)rd_uint(&r, 1);
    const uint8_t *tb = rd_take(&r, tlen + 1);
    uint64_t ncols = rd_lenenc(&r);
    if (r.bad) {
        fail(errstr, errstr_size, "table map: truncated header (%zu bytes)", len);
        return SL_ERR_PROTO;
    }
    if (db[dblen] != 0 || tb[tlen] != 0) {
        fail(errstr, errstr_size, "table map: names not NUL-terminated");
        return SL_ERR_PROTO;
    }
    if (ncols == 0 || ncols > MAX_COLUMNS || ncols > r.n) {
        fail(errstr, errstr_size, "table map: column count %llu out of range",
             (unsigned long long)ncols);
        return SL_ERR_PROTO;
    }
    uint32_t n = (uint32_t)ncols;
    const uint8_t *types = rd_take(&r, n);
    uint64_t mlen = rd_lenenc(&r);
    const uint8_t *meta = r.bad || mlen > r.n ? NULL : rd_take(&r, (size_t)mlen);
    const uint8_t *nulls = meta ? rd_take(&r, (n + 7) / 8) : NULL;
    if (!nulls) {
        fail(errstr, errstr_size, "table map: truncated column metadata");
        return SL_ERR_PROTO;
    }
    tm->db = dup_n(db, dblen);
    tm->table = dup_n(tb, tlen);
    tm->ncols = n;
    tm->types = malloc(n);
    tm->meta = calloc(n, sizeof *tm->meta);
    tm->nullable = calloc(n, sizeof *tm->nullable);
    tm->is_unsigned = calloc(n, sizeof *tm->is_unsigned);
    tm->collation = calloc(n, sizeof *tm->collation);
    tm->names = calloc(n, sizeof *tm->names);
    tm->labels = calloc(n, sizeof *tm->labels);
    tm->nlabels = calloc(n, sizeof *tm->nlabels);
    if (!tm->db || !tm->table || !tm->types || !tm->meta || !tm->nullable || !tm->is_unsigned ||
        !tm->collation || !tm->names || !tm->labels || !tm->nlabels) {
        fail(errstr, errstr_size, "table map: out of memory");
        return SL_ERR_NOMEM;
    }
    memcpy(tm->types, types, n);
    int rc = my_tablemap_meta(types, n, meta, (size_t)mlen, tm->meta, errstr, errstr_size);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        tm->nullable[i] = nulls[i >> 3] >> (i & 7) & 1;
        if (tm->types[i] == MY_T_STRING && is_enum_set((uint8_t)(tm->meta[i] >> 8)))
            tm->types[i] = (uint8_t)(tm->meta[i] >> 8);
    }

    /* optional metadata: locate the fields first */
    const uint8_t *fld[OM_MAX] = {0};
    size_t flen[OM_MAX] = {0};
    while (r.n > 0) {
        unsigned t = (unsigned)rd_uint(&r, 1);
        uint64_t l = rd_lenenc(&r);
        const uint8_t *v = r.bad || l > r.n ? NULL : rd_take(&r, (size_t)l);
        if (!v) {
            fail(errstr, errstr_size, "table map: optional metadata field %u truncated", t);
            return SL_ERR_PROTO;
        }
        if (t < OM_MAX) {
            fld[t] = v;
            flen[t] = (size_t)l;
        }
    }

    /* flavour (see the file comment) */
    bool mariadb = fld[OM_COLUMN_VISIBILITY] == NULL;
    uint32_t num_m = 0, num_y = 0, chr_m = 0, chr_g = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t t = tm->types[i];
        if (t == MY_T_JSON)
            mariadb = false;
        num_m += is_numeric(t, false);
        num_y += t == MY_T_YEAR;
        chr_m += is_character(t, false);
        chr_g += t == MY_T_GEOMETRY;
    }
    if (mariadb && num_y && fld[OM_SIGNEDNESS] && flen[OM_SIGNEDNESS] == (num_m + 7) / 8 &&
        flen[OM_SIGNEDNESS] != (num_m + num_y + 7) / 8)
        mariadb = false;
    if (mariadb && chr_g && fld[OM_COLUMN_CHARSET] &&
        count_lenenc(fld[OM_COLUMN_CHARSET], flen[OM_COLUMN_CHARSET]) == (long)chr_m)
        mariadb = false;

    if (fld[OM_SIGNEDNESS]) {
        uint32_t nnum = num_m + (mariadb ? num_y : 0);
        if (flen[OM_SIGNEDNESS] != (nnum + 7) / 8) {
            fail(errstr, errstr_size, "table map: signedness bitmap of %zu bytes for %u numeric columns",
                 flen[OM_SIGNEDNESS], nnum);
            return SL_ERR_PROTO;
        }
        tm->has_signedness = true;
        for (uint32_t i = 0, k = 0; i < n; i++) {
            if (!is_numeric(tm->types[i], mariadb))
                continue;
            tm->is_unsigned[i] = fld[OM_SIGNEDNESS][k >> 3] >> (7 - (k & 7)) & 1;
            k++;
        }
        for (uint32_t i = 0; i < n; i++)
            if (tm->types[i] == MY_T_YEAR)
                tm->is_unsigned[i] = true; /* YEAR is unsigned; MySQL just does not say so */
    }
    if (fld[OM_DEFAULT_CHARSET] || fld[OM_COLUMN_CHARSET]) {
        bool per = fld[OM_COLUMN_CHARSET] != NULL;
        rc = apply_charsets(tm, per ? fld[OM_COLUMN_CHARSET] : fld[OM_DEFAULT_CHARSET],
                            per ? flen[OM_COLUMN_CHARSET] : flen[OM_DEFAULT_CHARSET], per, sel_char,
                            mariadb, errstr, errstr_size);
        if (rc)
            return rc;
        tm->has_charsets = true;
    }
    if (fld[OM_ENUM_AND_SET_DEFAULT_CHARSET] || fld[OM_ENUM_AND_SET_COLUMN_CHARSET]) {
        bool per = fld[OM_ENUM_AND_SET_COLUMN_CHARSET] != NULL;
        rc = apply_charsets(tm,
                            per ? fld[OM_ENUM_AND_SET_COLUMN_CHARSET]
                                : fld[OM_ENUM_AND_SET_DEFAULT_CHARSET],
                            per ? flen[OM_ENUM_AND_SET_COLUMN_CHARSET]
                                : flen[OM_ENUM_AND_SET_DEFAULT_CHARSET],
                            per, sel_enum_set, mariadb, errstr, errstr_size);
        if (rc)
            return rc;
        tm->has_charsets = true;
    }
    if (fld[OM_COLUMN_NAME]) {
        rd_t f = {fld[OM_COLUMN_NAME], flen[OM_COLUMN_NAME], false};
        for (uint32_t i = 0; i < n; i++) {
            uint64_t l = rd_lenenc(&f);
            const uint8_t *s = f.bad || l > f.n ? NULL : rd_take(&f, (size_t)l);
            if (!s) {
                fail(errstr, errstr_size, "table map: column names truncated at column %u", i);
                return SL_ERR_PROTO;
            }
            tm->names[i] = dup_n(s, (size_t)l);
            if (!tm->names[i]) {
                fail(errstr, errstr_size, "table map: out of memory");
                return SL_ERR_NOMEM;
            }
        }
        if (f.n) {
            fail(errstr, errstr_size, "table map: more column names than columns");
            return SL_ERR_PROTO;
        }
        tm->has_names = true;
    }
    if (fld[OM_SET_STR_VALUE]) {
        rc = apply_labels(tm, fld[OM_SET_STR_VALUE], flen[OM_SET_STR_VALUE], MY_T_SET, errstr,
                          errstr_size);
        if (rc)
            return rc;
        tm->has_labels = true;
    }
    if (fld[OM_ENUM_STR_VALUE]) {
        rc = apply_labels(tm, fld[OM_ENUM_STR_VALUE], flen[OM_ENUM_STR_VALUE], MY_T_ENUM, errstr,
                          errstr_size);
        if (rc)
            return rc;
        tm->has_labels = true;
    }
    bool pfx = fld[OM_PRIMARY_KEY_WITH_PREFIX] != NULL;
    if (fld[OM_SIMPLE_PRIMARY_KEY] || pfx) {
        const uint8_t *f = pfx ? fld[OM_PRIMARY_KEY_WITH_PREFIX] : fld[OM_SIMPLE_PRIMARY_KEY];
        size_t fl = pfx ? flen[OM_PRIMARY_KEY_WITH_PREFIX] : flen[OM_SIMPLE_PRIMARY_KEY];
        tm->pk = calloc(fl ? fl : 1, sizeof *tm->pk); /* one byte per entry at least */
        if (!tm->pk) {
            fail(errstr, errstr_size, "table map: out of memory");
            return SL_ERR_NOMEM;
        }
        rd_t pr = {f, fl, false};
        while (pr.n > 0) {
            uint64_t idx = rd_lenenc(&pr);
            if (pfx)
                (void)rd_lenenc(&pr);
            if (pr.bad || idx >= n) {
                fail(errstr, errstr_size, "table map: bad primary key column");
                return SL_ERR_PROTO;
            }
            tm->pk[tm->npk++] = (uint32_t)idx;
        }
        tm->has_pk = true;
    }
    return SL_OK;
}

int my_tablemap_parse(const uint8_t *body, size_t len, my_tablemap_t *out, char *errstr,
                      size_t errstr_size)
{
    memset(out, 0, sizeof *out);
    int rc = tablemap_parse(body, len, out, errstr, errstr_size);
    if (rc != SL_OK)
        my_tablemap_free(out);
    return rc;
}

int my_rows_parse(uint8_t type, const uint8_t *body, size_t len, my_rows_ev_t *out, char *errstr,
                  size_t errstr_size)
{
    memset(out, 0, sizeof *out);
    bool v2 = false;
    switch (type) {
    case MY_EV_WRITE_ROWS: v2 = true; /* fall through */
    case MY_EV_WRITE_ROWS_V1: out->kind = MY_ROWS_WRITE; break;
    case MY_EV_UPDATE_ROWS: v2 = true; /* fall through */
    case MY_EV_UPDATE_ROWS_V1: out->kind = MY_ROWS_UPDATE; break;
    case MY_EV_DELETE_ROWS: v2 = true; /* fall through */
    case MY_EV_DELETE_ROWS_V1: out->kind = MY_ROWS_DELETE; break;
    case MY_EV_PARTIAL_UPDATE_ROWS:
        fail(errstr, errstr_size,
             "partial JSON updates (binlog_row_value_options=PARTIAL_JSON) are not supported");
        return SL_ERR_UNSUPPORTED;
    default:
        fail(errstr, errstr_size, "event type %u is not a rows event", (unsigned)type);
        return SL_ERR_PROTO;
    }
    rd_t r = {body, len, false};
    out->table_id = rd_uint(&r, 6);
    out->flags = (uint16_t)rd_uint(&r, 2);
    if (v2) {
        size_t extra = (size_t)rd_uint(&r, 2); /* counts its own two bytes */
        if (!r.bad && extra < 2) {
            fail(errstr, errstr_size, "rows event: extra data length %zu", extra);
            return SL_ERR_PROTO;
        }
        (void)rd_take(&r, extra >= 2 ? extra - 2 : 0);
    }
    uint64_t ncols = rd_lenenc(&r);
    if (r.bad) {
        fail(errstr, errstr_size, "rows event: truncated header (%zu bytes)", len);
        return SL_ERR_PROTO;
    }
    if (ncols == 0 || ncols > MAX_COLUMNS) {
        fail(errstr, errstr_size, "rows event: column count %llu out of range",
             (unsigned long long)ncols);
        return SL_ERR_PROTO;
    }
    size_t nb = ((size_t)ncols + 7) / 8;
    out->ncols = (uint32_t)ncols;
    out->present = rd_take(&r, nb);
    out->present_after = out->kind == MY_ROWS_UPDATE ? rd_take(&r, nb) : NULL;
    if (r.bad) {
        fail(errstr, errstr_size, "rows event: truncated column bitmaps");
        memset(out, 0, sizeof *out);
        return SL_ERR_PROTO;
    }
    out->rows = r.p;
    out->rows_len = r.n;
    return SL_OK;
}
