/*
 * my_tables.c — captured tables of the MySQL/MariaDB source.
 *
 * Where a table's shape comes from. A rows event is decoded with the TABLE_MAP event
 * that precedes it: that gives the wire types and metadata, and, with
 * binlog_row_metadata=FULL, the column names, signedness, character sets, ENUM/SET
 * labels and primary key too. Without FULL metadata the names, keys and character
 * sets come from information_schema (a "decl"), read at start and again after DDL
 * touching the table (my_source.c forgets the decl when it reads such DDL). That
 * fallback is only as good as information_schema's view *now*: while catching up on
 * a backlog that spans a DDL the columns could be newer than the event, so a column
 * count that disagrees with the TABLE_MAP is an error, and `sluice check` recommends
 * binlog_row_metadata=FULL.
 *
 * The snapshot builds its tables from decls (my_table_from_decl); my_coldef_from_decl
 * gives the same coldefs FULL metadata gives, so both paths render the same schemas.
 *
 * Invariants:
 *  1. A TABLE_MAP whose body equals the cached one for its table_id is not parsed
 *     again (one-row transactions each carry a TABLE_MAP).
 *  2. A tmap entry owns its table; replacing the entry frees the old table (events
 *     already emitted hold copies of everything they need).
 *  3. Names are never guessed: no FULL metadata and no decl is an error naming the
 *     table and the setting to change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "source/mysql/my_source.h"

static const char *const SYSTEM_DBS[] = {"mysql", "information_schema", "performance_schema",
                                         "sys", NULL};

bool my_db_captured(const my_opts_t *o, const char *db)
{
    for (int i = 0; SYSTEM_DBS[i]; i++)
        if (!strcmp(db, SYSTEM_DBS[i]))
            return false;
    if (o->db_inc.n && !sl_relist_match(&o->db_inc, db))
        return false;
    if (o->db_exc.n && sl_relist_match(&o->db_exc, db))
        return false;
    return true;
}

bool my_table_captured(const my_opts_t *o, const char *db, const char *table)
{
    if (!my_db_captured(o, db))
        return false;
    char full[512];
    snprintf(full, sizeof full, "%s.%s", db, table);
    if (o->table_inc.n && !sl_relist_match(&o->table_inc, full))
        return false;
    if (o->table_exc.n && sl_relist_match(&o->table_exc, full))
        return false;
    return true;
}

/* --- collations --------------------------------------------------------------- */

int my_load_collations(sl_source_t *src)
{
    MYSQL_RES *r = my_query_result(src, src->conn,
                                   "SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS");
    if (!r)
        return SL_ERR_SERVER;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r))) {
        if (!row[0] || !row[1])
            continue;
        unsigned long id = strtoul(row[0], NULL, 10);
        if (id > 65535)
            continue;
        if (id >= src->ncollations) {
            size_t n = id + 1;
            char **c = realloc(src->collations, n * sizeof *c);
            if (!c) {
                mysql_free_result(r);
                return SL_ERR_NOMEM;
            }
            memset(c + src->ncollations, 0, (n - src->ncollations) * sizeof *c);
            src->collations = c;
            src->ncollations = n;
        }
        free(src->collations[id]);
        if (!(src->collations[id] = strdup(row[1]))) {
            mysql_free_result(r);
            return SL_ERR_NOMEM;
        }
    }
    mysql_free_result(r);
    return SL_OK;
}

const char *my_collation_charset(const sl_source_t *src, uint32_t id)
{
    if (id == 63)
        return "binary";
    return id < src->ncollations ? src->collations[id] : NULL;
}

/* --- decls: information_schema ----------------------------------------------- */

static void decl_free(my_decl_t *d)
{
    if (!d)
        return;
    for (uint32_t i = 0; i < d->ncols; i++) {
        my_decl_col_t *c = &d->cols[i];
        free(c->name);
        free(c->charset);
        free(c->type_name);
        free(c->type_expr);
        my_labels_free(c->labels, c->nlabels);
    }
    free(d->cols);
    free(d->key_idx);
    free(d->engine);
    free(d->db);
    free(d->name);
    free(d);
}

void my_decls_free(sl_source_t *src)
{
    while (src->decls) {
        my_decl_t *n = src->decls->next;
        decl_free(src->decls);
        src->decls = n;
    }
}

my_decl_t *my_decl_find(sl_source_t *src, const char *db, const char *table)
{
    for (my_decl_t *d = src->decls; d; d = d->next)
        if (!strcmp(d->db, db) && !strcmp(d->name, table))
            return d;
    return NULL;
}

void my_decls_forget(sl_source_t *src, const char *db, const char *table)
{
    for (my_decl_t **pp = &src->decls; *pp;) {
        my_decl_t *d = *pp;
        if (!strcmp(d->db, db) && (!table || !strcmp(d->name, table))) {
            *pp = d->next;
            decl_free(d);
        } else
            pp = &d->next;
    }
}

static int decl_add_col(sl_source_t *src, my_decl_t *d, MYSQL_ROW row)
{
    /* row: 0 db, 1 table, 2 column, 3 data_type, 4 column_type, 5 charset, 6 octet length,
     *      7 nullable, 8 engine */
    my_decl_col_t *cols = realloc(d->cols, (d->ncols + 1) * sizeof *cols);
    if (!cols)
        return SL_ERR_NOMEM;
    d->cols = cols;
    my_decl_col_t *c = &d->cols[d->ncols++];
    memset(c, 0, sizeof *c);
    c->name = strdup(row[2] ? row[2] : "");
    c->charset = row[5] ? strdup(row[5]) : NULL;
    c->type_name = strdup(row[3] ? row[3] : "");
    c->type_expr = strdup(row[4] ? row[4] : "");
    if (!c->name || (row[5] && !c->charset) || !c->type_name || !c->type_expr)
        return SL_ERR_NOMEM;
    for (char *p = c->type_name; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    uint64_t octets = row[6] ? strtoull(row[6], NULL, 10) : 0;
    bool nullable = row[7] && !strcmp(row[7], "YES");
    char e[256];
    int rc = my_coldef_from_decl(&c->def, row[3] ? row[3] : "", row[4] ? row[4] : "", c->charset,
                                 octets, nullable, &c->labels, &c->nlabels, e, sizeof e);
    if (rc != SL_OK) {
        my_fail(src, "table %s.%s column %s: %s", d->db, d->name, c->name, e);
        return rc;
    }
    c->def.name = c->name;
    c->def.charset = c->charset;
    c->def.labels = (const char *const *)c->labels;
    c->def.nlabels = c->nlabels;
    return SL_OK;
}

static int decls_load_keys(sl_source_t *src, const char *where)
{
    char sql[2048];
    snprintf(sql, sizeof sql,
             "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
             "WHERE CONSTRAINT_NAME = 'PRIMARY' %s ORDER BY TABLE_SCHEMA, TABLE_NAME, "
             "ORDINAL_POSITION",
             where);
    MYSQL_RES *r = my_query_result(src, src->conn, sql);
    if (!r)
        return SL_ERR_SERVER;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r))) {
        if (!row[0] || !row[1] || !row[2])
            continue;
        my_decl_t *d = my_decl_find(src, row[0], row[1]);
        if (!d)
            continue;
        for (uint32_t i = 0; i < d->ncols; i++)
            if (!strcmp(d->cols[i].name, row[2])) {
                uint32_t *k = realloc(d->key_idx, (d->nkeys + 1) * sizeof *k);
                if (!k) {
                    mysql_free_result(r);
                    return SL_ERR_NOMEM;
                }
                d->key_idx = k;
                d->key_idx[d->nkeys++] = i;
                break;
            }
    }
    mysql_free_result(r);
    return SL_OK;
}

/* `AND <alias>TABLE_SCHEMA = '<db>' [AND <alias>TABLE_NAME = '<table>']` */
static void scope_sql(MYSQL *c, char *out, size_t size, const char *alias, const char *db,
                      const char *table)
{
    char edb[520], etb[520];
    out[0] = 0;
    if (!db)
        return;
    mysql_real_escape_string(c, edb, db, (unsigned long)strnlen(db, 255));
    if (!table) {
        snprintf(out, size, "AND %sTABLE_SCHEMA = '%s'", alias, edb);
        return;
    }
    mysql_real_escape_string(c, etb, table, (unsigned long)strnlen(table, 255));
    snprintf(out, size, "AND %sTABLE_SCHEMA = '%s' AND %sTABLE_NAME = '%s'", alias, edb, alias,
             etb);
}

int my_decls_load(sl_source_t *src, const char *db, const char *table)
{
    if (db)
        my_decls_forget(src, db, table);
    else
        my_decls_free(src);
    char scope[1200], sql[2600];
    scope_sql(src->conn, scope, sizeof scope, "c.", db, table);
    snprintf(sql, sizeof sql,
             "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, "
             "c.CHARACTER_SET_NAME, c.CHARACTER_OCTET_LENGTH, c.IS_NULLABLE, t.ENGINE "
             "FROM information_schema.COLUMNS c JOIN information_schema.TABLES t "
             "ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME "
             "WHERE t.TABLE_TYPE = 'BASE TABLE' AND c.TABLE_SCHEMA NOT IN ('mysql', "
             "'information_schema', 'performance_schema', 'sys') %s "
             "ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION",
             scope);
    MYSQL_RES *r = my_query_result(src, src->conn, sql);
    if (!r)
        return SL_ERR_SERVER;
    MYSQL_ROW row;
    my_decl_t *cur = NULL;
    int rc = SL_OK;
    while (rc == SL_OK && (row = mysql_fetch_row(r))) {
        if (!row[0] || !row[1])
            continue;
        if (!my_table_captured(&src->o, row[0], row[1]))
            continue;
        if (!cur || strcmp(cur->db, row[0]) || strcmp(cur->name, row[1])) {
            cur = calloc(1, sizeof *cur);
            if (!cur || !(cur->db = strdup(row[0])) || !(cur->name = strdup(row[1])) ||
                (row[8] && !(cur->engine = strdup(row[8])))) {
                decl_free(cur);
                rc = SL_ERR_NOMEM;
                break;
            }
            cur->next = src->decls;
            src->decls = cur;
        }
        rc = decl_add_col(src, cur, row);
    }
    mysql_free_result(r);
    if (rc == SL_ERR_NOMEM)
        my_fail(src, "out of memory");
    if (rc != SL_OK)
        return rc;
    scope_sql(src->conn, scope, sizeof scope, "", db, table);
    return decls_load_keys(src, scope);
}

/* --- tables ------------------------------------------------------------------- */

void my_table_free(my_table_t *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->ncols; i++) {
        my_col_t *c = &t->cols[i];
        free(c->name);
        free(c->charset);
        my_labels_free(c->labels, c->nlabels);
        my_conv_free(c->conv);
        if (t->rowcols)
            free((char *)t->rowcols[i].json_key);
    }
    free(t->cols);
    free(t->rowcols);
    free(t->key_idx);
    free(t->db);
    free(t->name);
    free(t->topic);
    sl_buf_free(&t->source_table);
    sl_buf_free(&t->source_db);
    sl_buf_free(&t->key_schema);
    sl_buf_free(&t->value_schema);
    sl_schema_unref(t->schema);
    free(t);
}

static char **labels_dup(const char *const *l, uint32_t n)
{
    char **out = calloc(n ? n : 1, sizeof *out);
    if (!out)
        return NULL;
    for (uint32_t i = 0; i < n; i++)
        if (!(out[i] = strdup(l[i]))) {
            my_labels_free(out, i);
            return NULL;
        }
    return out;
}

/* Builds a table from resolved column definitions (copied) and key column indexes. */
static int table_build(sl_source_t *src, const char *db, const char *name, uint32_t ncols,
                       const my_coldef_t *defs, const uint32_t *keys, uint32_t nkeys,
                       bool text_protocol, my_table_t **out)
{
    my_table_t *t = calloc(1, sizeof *t);
    if (!t)
        goto nomem;
    t->cols = calloc(ncols ? ncols : 1, sizeof *t->cols);
    t->rowcols = calloc(ncols ? ncols : 1, sizeof *t->rowcols);
    t->key_idx = calloc(nkeys ? nkeys : 1, sizeof *t->key_idx);
    t->db = strdup(db);
    t->name = strdup(name);
    if (!t->cols || !t->rowcols || !t->key_idx || !t->db || !t->name)
        goto nomem;
    t->ncols = ncols;
    t->nkeys = nkeys;
    if (nkeys)
        memcpy(t->key_idx, keys, nkeys * sizeof *keys);
    sl_buf_t topic = SL_BUF_INIT;
    sl_buf_printf(&topic, "%s.%s.%s", src->o.prefix, db, name);
    if (!sl_buf_ok(&topic))
        goto nomem;
    t->topic = topic.data;
    t->topic_len = topic.len;
    for (uint32_t i = 0; i < ncols; i++) {
        my_col_t *c = &t->cols[i];
        c->def = defs[i];
        if (!(c->name = strdup(defs[i].name ? defs[i].name : "")))
            goto nomem;
        /* The text protocol delivers text in the connection's character set (utf8mb4),
         * whatever the column's: decode it as such. */
        const char *cs = defs[i].charset;
        if (text_protocol && cs && strcmp(cs, "binary") != 0)
            cs = "utf8mb4";
        if (cs && !(c->charset = strdup(cs)))
            goto nomem;
        if (defs[i].nlabels) {
            if (!(c->labels = labels_dup(defs[i].labels, defs[i].nlabels)))
                goto nomem;
            c->nlabels = defs[i].nlabels;
        }
        c->def.name = c->name;
        c->def.charset = c->charset;
        c->def.labels = (const char *const *)c->labels;
        char e[512];
        int rc = my_conv_new(&c->conv, &c->def, &src->o.types, e, sizeof e);
        if (rc != SL_OK) {
            my_fail(src, "table %s.%s: %s", db, name, e);
            my_table_free(t);
            return rc == SL_ERR_NOMEM ? rc : SL_ERR_UNSUPPORTED;
        }
        switch (c->def.type) {
        case MY_T_DATE: case MY_T_NEWDATE: case MY_T_DATETIME: case MY_T_DATETIME2:
        case MY_T_TIMESTAMP: case MY_T_TIMESTAMP2:
            t->has_dates = true;
            break;
        default:
            break;
        }
        char full[1024];
        snprintf(full, sizeof full, "%s.%s.%s", db, name, c->name);
        c->excluded = src->o.col_exc.n && sl_relist_match(&src->o.col_exc, full);
        sl_buf_t k = SL_BUF_INIT;
        sl_json_strz(&k, c->name);
        sl_buf_addc(&k, ':');
        if (!sl_buf_ok(&k))
            goto nomem;
        t->rowcols[i] = (my_rowcol_t){c->conv, k.data, k.len, c->excluded};
    }
    sl_buf_adds(&t->source_table, ",\"table\":");
    sl_json_strz(&t->source_table, name);
    sl_buf_adds(&t->source_db, ",\"db\":");
    sl_json_strz(&t->source_db, db);
    if (!sl_buf_ok(&t->source_table) || !sl_buf_ok(&t->source_db) ||
        my_encode_table_schemas(src, t) != SL_OK)
        goto nomem;
    *out = t;
    return SL_OK;
nomem:
    my_table_free(t);
    my_fail(src, "out of memory");
    return SL_ERR_NOMEM;
}

void my_table_warn_zero_dates(my_table_t *t)
{
    for (uint32_t i = 0; i < t->ncols; i++) {
        my_col_t *c = &t->cols[i];
        if (c->zero_warned || !my_conv_zero_dates(c->conv))
            continue;
        c->zero_warned = true;
        sl_warn("mysql: column %s.%s.%s holds zero dates ('0000-00-00'); as Debezium does, they "
                "become %s", t->db, t->name, c->name,
                c->def.nullable ? "null" : "the epoch (the column is NOT NULL)");
    }
}

/* For the snapshot: values will arrive in the text protocol. */
int my_table_from_decl(sl_source_t *src, const my_decl_t *d, my_table_t **out)
{
    my_coldef_t *defs = calloc(d->ncols ? d->ncols : 1, sizeof *defs);
    if (!defs) {
        my_fail(src, "out of memory");
        return SL_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < d->ncols; i++)
        defs[i] = d->cols[i].def;
    int rc = table_build(src, d->db, d->name, d->ncols, defs, d->key_idx, d->nkeys, true, out);
    free(defs);
    return rc;
}

my_tmap_entry_t *my_tmap_find(sl_source_t *src, uint64_t table_id)
{
    for (my_tmap_entry_t *e = src->tmaps; e; e = e->next)
        if (e->table_id == table_id)
            return e;
    return NULL;
}

static void tmap_entry_free(my_tmap_entry_t *e)
{
    if (!e)
        return;
    my_table_free(e->table);
    free(e->body);
    free(e);
}

void my_tmaps_clear(sl_source_t *src)
{
    while (src->tmaps) {
        my_tmap_entry_t *n = src->tmaps->next;
        tmap_entry_free(src->tmaps);
        src->tmaps = n;
    }
}

/* Resolves the columns of a captured table from its TABLE_MAP (and decl when the
 * metadata is not FULL). */
static int table_from_map(sl_source_t *src, const my_tablemap_t *tm, my_table_t **out)
{
    const my_decl_t *d = NULL;
    bool need_decl = !tm->has_names || !tm->has_signedness || !tm->has_charsets ||
                     !tm->has_labels || !tm->has_pk;
    if (need_decl) {
        d = my_decl_find(src, tm->db, tm->table);
        if (!d) {
            int rc = my_decls_load(src, tm->db, tm->table);
            if (rc != SL_OK)
                return rc;
            d = my_decl_find(src, tm->db, tm->table);
        }
        if (!tm->has_names && !d) {
            my_fail(src, "table %s.%s: the binlog has no column names for it "
                              "(binlog_row_metadata is not FULL) and information_schema does not "
                              "know the table (dropped since?); set binlog_row_metadata=FULL",
                         tm->db, tm->table);
            return SL_ERR_UNSUPPORTED;
        }
        if (d && d->ncols != tm->ncols) {
            if (!tm->has_names) {
                my_fail(src, "table %s.%s: the binlog event has %u columns, "
                                  "information_schema has %u now (the table changed since this "
                                  "event was written); set binlog_row_metadata=FULL so that "
                                  "events carry their own column names",
                             tm->db, tm->table, tm->ncols, d->ncols);
                return SL_ERR_UNSUPPORTED;
            }
            d = NULL; /* FULL names: the decl is stale, use only what the map says */
        }
    }
    my_coldef_t *defs = calloc(tm->ncols ? tm->ncols : 1, sizeof *defs);
    if (!defs) {
        my_fail(src, "out of memory");
        return SL_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < tm->ncols; i++) {
        my_coldef_t *c = &defs[i];
        c->type = tm->types[i];
        c->meta = tm->meta[i];
        c->nullable = tm->nullable[i];
        c->name = tm->has_names ? tm->names[i] : d->cols[i].name;
        c->is_unsigned = tm->has_signedness ? tm->is_unsigned[i] : (d && d->cols[i].def.is_unsigned);
        if (tm->has_charsets)
            c->charset = tm->collation[i] ? my_collation_charset(src, tm->collation[i]) : NULL;
        else if (d)
            c->charset = d->cols[i].def.charset;
        if (tm->has_labels && tm->labels[i]) {
            c->labels = (const char *const *)tm->labels[i];
            c->nlabels = tm->nlabels[i];
        } else if (d) {
            c->labels = d->cols[i].def.labels;
            c->nlabels = d->cols[i].def.nlabels;
        }
    }
    const uint32_t *keys = NULL;
    uint32_t nkeys = 0;
    if (tm->has_pk) {
        keys = tm->pk;
        nkeys = tm->npk;
    } else if (d) {
        keys = d->key_idx;
        nkeys = d->nkeys;
    }
    int rc = table_build(src, tm->db, tm->table, tm->ncols, defs, keys, nkeys, false, out);
    free(defs);
    return rc;
}

int my_tablemap(sl_source_t *src, const uint8_t *body, size_t len, my_tmap_entry_t **out)
{
    /* table_id is the first 6 bytes (little endian) of the body */
    if (len < 8) {
        my_fail(src, "malformed TABLE_MAP event (%zu bytes)", len);
        return SL_ERR_PROTO;
    }
    uint64_t id = 0;
    for (int i = 5; i >= 0; i--)
        id = id << 8 | body[i];
    my_tmap_entry_t *e = my_tmap_find(src, id);
    if (e && e->body_len == len && memcmp(e->body, body, len) == 0) {
        *out = e;
        return SL_OK;
    }
    my_tablemap_t tm;
    char err[256];
    int rc = my_tablemap_parse(body, len, &tm, err, sizeof err);
    if (rc != SL_OK) {
        my_fail(src, "malformed TABLE_MAP event: %s", err);
        return rc;
    }
    my_tmap_entry_t *n = calloc(1, sizeof *n);
    if (!n || !(n->body = malloc(len))) {
        free(n);
        my_tablemap_free(&tm);
        my_fail(src, "out of memory");
        return SL_ERR_NOMEM;
    }
    memcpy(n->body, body, len);
    n->body_len = len;
    n->table_id = id;
    if (my_table_captured(&src->o, tm.db, tm.table) &&
        (rc = table_from_map(src, &tm, &n->table)) != SL_OK) {
        my_tablemap_free(&tm);
        tmap_entry_free(n);
        return rc;
    }
    my_tablemap_free(&tm);
    /* replace the old entry for this id (invariant 2) */
    for (my_tmap_entry_t **pp = &src->tmaps; *pp; pp = &(*pp)->next)
        if ((*pp)->table_id == id) {
            my_tmap_entry_t *old = *pp;
            *pp = old->next;
            tmap_entry_free(old);
            break;
        }
    n->next = src->tmaps;
    src->tmaps = n;
    *out = n;
    return SL_OK;
}
