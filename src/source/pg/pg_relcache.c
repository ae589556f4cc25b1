/*
 * pg_relcache.c — relations (tables) the PostgreSQL source knows, and the filters.
 *
 * A relation enters the cache from a pgoutput Relation message (streaming) or
 * from the catalog (snapshot). The Relation message is the truth for which
 * columns arrive and in which order; the catalog adds what pgoutput does not
 * send: NOT NULL (the schema's "optional") and the primary key (Debezium's key,
 * in key order -- pgoutput's key flag marks the replica identity, which is every
 * column under REPLICA IDENTITY FULL). Each column gets its value converter
 * (pgtypes.c) resolved once, and each relation its topic and its key and value
 * schemas rendered once; events then only copy those bytes.
 *
 * Invariants:
 *  1. For a relation in the cache, cols[] matches the newest Relation message
 *     (or the catalog, before any message arrived).
 *  2. key_idx[] lists indexes of cols[] in primary-key order; nkeys == 0 means
 *     the table has no primary key and events carry a null key.
 *  3. Filters are whole-name, case-insensitive POSIX extended regular
 *     expressions, as Debezium's *.include.list / *.exclude.list.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "source/pg/pg_source.h"

bool pg_table_captured(const pg_opts_t *o, const char *nsp, const char *rel)
{
    if (!strcmp(nsp, "pg_catalog") || !strcmp(nsp, "information_schema"))
        return false;
    if (o->schema_inc.n && !sl_relist_match(&o->schema_inc, nsp))
        return false;
    if (o->schema_exc.n && sl_relist_match(&o->schema_exc, nsp))
        return false;
    char full[512];
    snprintf(full, sizeof full, "%s.%s", nsp, rel);
    if (o->table_inc.n && !sl_relist_match(&o->table_inc, full))
        return false;
    if (o->table_exc.n && sl_relist_match(&o->table_exc, full))
        return false;
    return true;
}

pg_rel_t *pg_rel_find(sl_source_t *src, uint32_t relid)
{
    for (pg_rel_t *r = src->rels; r; r = r->next)
        if (r->relid == relid)
            return r;
    return NULL;
}

static void rel_clear_cols(pg_rel_t *rel)
{
    for (uint16_t i = 0; i < rel->ncols; i++) {
        free(rel->cols[i].name);
        free(rel->cols[i].json_key);
        sl_pgconv_free(rel->cols[i].conv);
    }
    free(rel->cols);
    free(rel->key_idx);
    rel->cols = NULL;
    rel->key_idx = NULL;
    rel->ncols = rel->nkeys = 0;
}

static void rel_free(pg_rel_t *rel)
{
    rel_clear_cols(rel);
    free(rel->nspname);
    free(rel->relname);
    free(rel->topic);
    sl_buf_free(&rel->source_table);
    sl_buf_free(&rel->key_schema);
    sl_buf_free(&rel->value_schema);
    sl_schema_unref(rel->schema);
    free(rel);
}

void pg_rel_free_all(sl_source_t *src)
{
    pg_rel_t *r = src->rels;
    while (r) {
        pg_rel_t *next = r->next;
        rel_free(r);
        r = next;
    }
    src->rels = NULL;
}

/* --- catalog lookups -------------------------------------------------------- */

static int type_lookup(void *ud, uint32_t oid, sl_pgtype_info_t *out)
{
    sl_source_t *src = ud;
    char oidtxt[16];
    snprintf(oidtxt, sizeof oidtxt, "%u", oid);
    const char *params[1] = {oidtxt};
    PGresult *res = PQexecParams(
        src->meta,
        "SELECT t.typname, t.typtype, t.typcategory, t.typelem, t.typbasetype, t.typtypmod, "
        "(SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e "
        " WHERE e.enumtypid = t.oid) FROM pg_type t WHERE t.oid = $1::oid",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        pg_set_error(src, "could not look up type %u: %s", oid,
                     PQresultStatus(res) == PGRES_TUPLES_OK ? "no such type"
                                                            : pg_conn_error(src->meta));
        PQclear(res);
        return SL_ERR_SERVER;
    }
    memset(out, 0, sizeof *out);
    out->oid = oid;
    snprintf(out->name, sizeof out->name, "%s", PQgetvalue(res, 0, 0));
    out->typtype = PQgetvalue(res, 0, 1)[0];
    out->category = PQgetvalue(res, 0, 2)[0];
    out->elem_oid = (uint32_t)strtoul(PQgetvalue(res, 0, 3), NULL, 10);
    out->base_oid = (uint32_t)strtoul(PQgetvalue(res, 0, 4), NULL, 10);
    out->base_typmod = (int32_t)strtol(PQgetvalue(res, 0, 5), NULL, 10);
    out->enum_labels = PQgetisnull(res, 0, 6) ? NULL : strdup(PQgetvalue(res, 0, 6));
    PQclear(res);
    return SL_OK;
}

typedef struct catcol {
    char *name;
    uint32_t type_oid;
    int32_t typmod;
    bool notnull;
    int key_pos;
} catcol_t;

/* Reads the relation's names, replica identity and columns from the catalog. */
static int catalog_columns(sl_source_t *src, uint32_t relid, char **nsp, char **relname,
                           char *replident, catcol_t **cols_out, int *ncols_out)
{
    char oidtxt[16];
    snprintf(oidtxt, sizeof oidtxt, "%u", relid);
    const char *params[1] = {oidtxt};
    PGresult *res = PQexecParams(
        src->meta,
        "SELECT n.nspname, c.relname, c.relreplident, a.attname, a.atttypid, a.atttypmod, "
        "a.attnotnull, coalesce((SELECT k.n FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n) "
        "WHERE k.attnum = a.attnum), 0) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "AND a.attgenerated = '' "
        "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
        "WHERE c.oid = $1::oid ORDER BY a.attnum",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_set_error(src, "could not read the columns of relation %u: %s", relid,
                     pg_conn_error(src->meta));
        PQclear(res);
        return SL_ERR_SERVER;
    }
    int n = PQntuples(res);
    catcol_t *cols = calloc(n ? (size_t)n : 1, sizeof *cols);
    if (!cols) {
        PQclear(res);
        return SL_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        cols[i].name = strdup(PQgetvalue(res, i, 3));
        cols[i].type_oid = (uint32_t)strtoul(PQgetvalue(res, i, 4), NULL, 10);
        cols[i].typmod = (int32_t)strtol(PQgetvalue(res, i, 5), NULL, 10);
        cols[i].notnull = PQgetvalue(res, i, 6)[0] == 't';
        cols[i].key_pos = atoi(PQgetvalue(res, i, 7));
    }
    if (n > 0 && nsp) {
        *nsp = strdup(PQgetvalue(res, 0, 0));
        *relname = strdup(PQgetvalue(res, 0, 1));
        *replident = PQgetvalue(res, 0, 2)[0];
    }
    PQclear(res);
    *cols_out = cols;
    *ncols_out = n;
    return SL_OK;
}

static void catcols_free(catcol_t *cols, int n)
{
    for (int i = 0; i < n; i++)
        free(cols[i].name);
    free(cols);
}


/* Converters, key order, topic and schemas for a relation whose cols[] are filled. */
static int rel_finish(sl_source_t *src, pg_rel_t *rel)
{
    char e[256];
    rel->nkeys = 0;
    rel->key_idx = calloc(rel->ncols ? rel->ncols : 1, sizeof *rel->key_idx);
    if (!rel->key_idx)
        return SL_ERR_NOMEM;
    for (uint16_t i = 0; i < rel->ncols; i++) {
        pg_col_t *c = &rel->cols[i];
        if (!c->name)
            return SL_ERR_NOMEM;
        char full[1024];
        snprintf(full, sizeof full, "%s.%s.%s", rel->nspname, rel->relname, c->name);
        c->excluded = src->o.col_exc.n && sl_relist_match(&src->o.col_exc, full);
        int rc = sl_pgconv_new(&c->conv, c->type_oid, c->typmod, type_lookup, src, &src->o.types,
                               e, sizeof e);
        if (rc != SL_OK) {
            pg_set_error(src, "column %s: %s", full, e);
            return rc;
        }
        if (c->key_pos > 0)
            rel->key_idx[rel->nkeys++] = i;
    }
    for (uint16_t i = 1; i < rel->nkeys; i++) /* primary-key order; keys are few */
        for (uint16_t j = i; j > 0 && rel->cols[rel->key_idx[j - 1]].key_pos >
                                          rel->cols[rel->key_idx[j]].key_pos; j--) {
            uint16_t t = rel->key_idx[j];
            rel->key_idx[j] = rel->key_idx[j - 1];
            rel->key_idx[j - 1] = t;
        }
    free(rel->topic);
    size_t tl = strlen(src->o.prefix) + strlen(rel->nspname) + strlen(rel->relname) + 3;
    rel->topic = malloc(tl);
    if (!rel->topic)
        return SL_ERR_NOMEM;
    rel->topic_len = (size_t)snprintf(rel->topic, tl, "%s.%s.%s", src->o.prefix, rel->nspname,
                                      rel->relname);
    rel->captured = pg_table_captured(&src->o, rel->nspname, rel->relname);
    return pg_encode_rel_schemas(src, rel);
}

static pg_rel_t *rel_get_or_add(sl_source_t *src, uint32_t relid)
{
    pg_rel_t *rel = pg_rel_find(src, relid);
    if (rel)
        return rel;
    rel = calloc(1, sizeof *rel);
    if (!rel)
        return NULL;
    rel->relid = relid;
    rel->next = src->rels;
    src->rels = rel;
    return rel;
}

int pg_rel_from_message(sl_source_t *src, const sl_pgo_msg_t *m, pg_rel_t **out)
{
    pg_rel_t *rel = rel_get_or_add(src, m->u.relation.relid);
    if (!rel)
        return SL_ERR_NOMEM;
    rel_clear_cols(rel);
    free(rel->nspname);
    free(rel->relname);
    rel->nspname = strdup(m->u.relation.nspname[0] ? m->u.relation.nspname : "pg_catalog");
    rel->relname = strdup(m->u.relation.relname);
    rel->replident = m->u.relation.replident;
    if (!rel->nspname || !rel->relname)
        return SL_ERR_NOMEM;

    catcol_t *cat = NULL;
    int ncat = 0;
    int rc = catalog_columns(src, rel->relid, NULL, NULL, NULL, &cat, &ncat);
    if (rc != SL_OK)
        return rc;
    rel->cols = calloc(m->u.relation.ncols ? m->u.relation.ncols : 1, sizeof *rel->cols);
    if (!rel->cols) {
        catcols_free(cat, ncat);
        return SL_ERR_NOMEM;
    }
    rel->ncols = m->u.relation.ncols;
    for (uint16_t i = 0; i < rel->ncols; i++) {
        const sl_pgo_relcol_t *mc = &m->u.relation.cols[i];
        pg_col_t *c = &rel->cols[i];
        c->name = strdup(mc->name);
        c->type_oid = mc->type_oid;
        c->typmod = mc->typmod;
        c->optional = true;
        for (int j = 0; j < ncat; j++) {
            if (!strcmp(cat[j].name, mc->name)) {
                c->optional = !cat[j].notnull;
                c->key_pos = cat[j].key_pos;
                break;
            }
        }
    }
    catcols_free(cat, ncat);
    rc = rel_finish(src, rel);
    if (rc == SL_OK)
        *out = rel;
    return rc;
}

int pg_rel_from_catalog(sl_source_t *src, uint32_t relid, pg_rel_t **out)
{
    pg_rel_t *rel = rel_get_or_add(src, relid);
    if (!rel)
        return SL_ERR_NOMEM;
    rel_clear_cols(rel);
    free(rel->nspname);
    free(rel->relname);
    rel->nspname = rel->relname = NULL;
    catcol_t *cat = NULL;
    int ncat = 0;
    int rc = catalog_columns(src, relid, &rel->nspname, &rel->relname, &rel->replident, &cat,
                             &ncat);
    if (rc != SL_OK)
        return rc;
    if (!rel->nspname || !rel->relname) {
        catcols_free(cat, ncat);
        pg_set_error(src, "relation %u has no columns or does not exist", relid);
        return SL_ERR_SERVER;
    }
    rel->cols = calloc(ncat ? (size_t)ncat : 1, sizeof *rel->cols);
    if (!rel->cols) {
        catcols_free(cat, ncat);
        return SL_ERR_NOMEM;
    }
    rel->ncols = (uint16_t)ncat;
    for (int i = 0; i < ncat; i++) {
        pg_col_t *c = &rel->cols[i];
        c->name = cat[i].name;
        cat[i].name = NULL;
        c->type_oid = cat[i].type_oid;
        c->typmod = cat[i].typmod;
        c->optional = !cat[i].notnull;
        c->key_pos = cat[i].key_pos;
    }
    catcols_free(cat, ncat);
    rc = rel_finish(src, rel);
    if (rc == SL_OK)
        *out = rel;
    return rc;
}
