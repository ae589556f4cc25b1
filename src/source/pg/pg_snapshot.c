/*
 * pg_snapshot.c — the initial snapshot: every captured table read with COPY
 * inside the snapshot the replication slot exported.
 *
 * How it works. CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT returns a snapshot
 * name and the slot's consistent point. A second connection runs
 * BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '<name>', so it
 * sees exactly the data as of the consistent point; streaming later starts at
 * that point, so the snapshot and the stream meet with no gap and no overlap.
 * Each table is read with COPY (<columns>) TO STDOUT in text format, whose
 * values are the same text forms pgoutput sends, so the same converters give
 * the same JSON. Rows become op "r" events.
 *
 * source.snapshot follows Debezium 2.x (labels and the held-back row: dbz.h).
 *
 * Invariants:
 *  1. The replication connection stays idle for the whole snapshot (any command
 *     on it would end the exported snapshot).
 *  2. Snapshot events carry SL_POS_SNAPSHOT; the final marker carries
 *     SL_POS_SNAPSHOT_END with ack_lsn = the consistent point. Until that
 *     marker is durable the stored offset says "snapshot=incomplete" and a
 *     restart takes the snapshot again (at-least-once for snapshot rows).
 *  3. Memory per row is bounded by the row itself: COPY rows are processed one
 *     at a time, never a whole table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "encode/dbz.h"
#include "source/pg/pg_source.h"

typedef struct snap {
    sl_source_t *src;
    uint64_t consistent_lsn;
    int64_t ts_us;
    sl_dbz_snap_hold_t hold; /* the held-back row (source.snapshot labels, dbz.h) */
} snap_t;

static int snapshot_row(snap_t *s, const pg_rel_t *rel, sl_pgo_tuple_t *tup, bool first_in_table)
{
    sl_source_t *src = s->src;
    bool split = src->env.split_events && rel->schema;
    pg_change_t ch = {.op = 'r', .rel = rel, .after = tup, .snapshot = "true",
                      .lsn = s->consistent_lsn, .ts_us = s->ts_us, .split = split};
    int rc = pg_encode_change(src, &ch);
    if (rc != SL_OK)
        return rc;
    sl_pos_t pos = {.index = s->hold.rows, .flags = SL_POS_SNAPSHOT};
    sl_event_t *ev;
    rc = sl_dbz_snap_hold(&s->hold, &src->kb, &src->vb, src->snap_off, rel->topic, rel->topic_len,
                          src->o.value_schemas || split ? rel->schema : NULL, split, &pos,
                          first_in_table, &ev);
    if (rc != SL_OK)
        return rc;
    return ev ? pg_emit(src, ev) : SL_OK;
}

static int copy_table(snap_t *s, PGconn *c, const pg_rel_t *rel)
{
    sl_source_t *src = s->src;
    sl_buf_t sql = SL_BUF_INIT;
    char *qn = PQescapeIdentifier(c, rel->nspname, strlen(rel->nspname));
    char *qr = PQescapeIdentifier(c, rel->relname, strlen(rel->relname));
    sl_buf_printf(&sql, "COPY %s.%s (", qn ? qn : "", qr ? qr : "");
    PQfreemem(qn);
    PQfreemem(qr);
    for (uint16_t i = 0; i < rel->ncols; i++) {
        char *qc = PQescapeIdentifier(c, rel->cols[i].name, strlen(rel->cols[i].name));
        sl_buf_printf(&sql, "%s%s", i ? ", " : "", qc ? qc : "");
        PQfreemem(qc);
    }
    sl_buf_adds(&sql, ") TO STDOUT");
    if (!sl_buf_ok(&sql)) {
        sl_buf_free(&sql);
        return SL_ERR_NOMEM;
    }
    PGresult *res = PQexec(c, sql.data);
    sl_buf_free(&sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        pg_set_error(src, "snapshot of %s.%s failed: %s", rel->nspname, rel->relname,
                     pg_conn_error(c));
        PQclear(res);
        return SL_ERR_SERVER;
    }
    PQclear(res);
    sl_pgo_col_t *cols = calloc(rel->ncols ? rel->ncols : 1, sizeof *cols);
    if (!cols)
        return SL_ERR_NOMEM;
    sl_pgo_tuple_t tup = {.ncols = rel->ncols, .cols = cols};
    int rc = SL_OK;
    int64_t rows = 0;
    for (;;) {
        char *line = NULL;
        int n = PQgetCopyData(c, &line, 0);
        if (n == -1)
            break;
        if (n < 0) {
            pg_set_error(src, "snapshot of %s.%s failed: %s", rel->nspname, rel->relname,
                         pg_conn_error(c));
            rc = SL_ERR_CONN;
            break;
        }
        if (rc == SL_OK && !atomic_load(&src->stop)) {
            size_t len = (size_t)n;
            if (len && line[len - 1] == '\n')
                len--;
            int nc = sl_pgcopy_split_row(line, len, cols, rel->ncols);
            if (nc < 0) {
                pg_set_error(src, "snapshot of %s.%s: malformed COPY row", rel->nspname,
                             rel->relname);
                rc = SL_ERR_PROTO;
            } else {
                rc = snapshot_row(s, rel, &tup, rows == 0);
                rows++;
            }
        }
        PQfreemem(line);
    }
    res = PQgetResult(c);
    if (rc == SL_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_set_error(src, "snapshot of %s.%s failed: %s", rel->nspname, rel->relname,
                     pg_conn_error(c));
        rc = SL_ERR_SERVER;
    }
    PQclear(res);
    while ((res = PQgetResult(c)))
        PQclear(res);
    free(cols);
    if (rc == SL_OK && atomic_load(&src->stop))
        rc = SL_ERR_STOPPED;
    if (rc == SL_OK)
        sl_info("pg: snapshot of %s.%s: %lld rows", rel->nspname, rel->relname, (long long)rows);
    return rc;
}

int pg_snapshot_run(sl_source_t *src, const char *snapshot_name, uint64_t consistent_lsn)
{
    char e[1024], a[20];
    PGconn *c = pg_connect(src, false, e, sizeof e);
    if (!c) {
        pg_set_error(src, "%s", e);
        return SL_ERR_CONN;
    }
    snap_t s = {.src = src, .consistent_lsn = consistent_lsn};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s.ts_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    int rc = pg_exec_ok(src, c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (rc == SL_OK) {
        char *lit = PQescapeLiteral(c, snapshot_name, strlen(snapshot_name));
        char sql[256];
        snprintf(sql, sizeof sql, "SET TRANSACTION SNAPSHOT %s", lit ? lit : "''");
        PQfreemem(lit);
        rc = pg_exec_ok(src, c, sql);
        if (rc != SL_OK)
            pg_set_error(src, "could not use the slot's exported snapshot: %s", pg_conn_error(c));
    }
    PGresult *r = NULL;
    if (rc == SL_OK) {
        r = PQexec(c, "SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
                      "ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN "
                      "('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
                      "AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 2, 3");
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            pg_set_error(src, "could not list tables for the snapshot: %s", pg_conn_error(c));
            rc = SL_ERR_SERVER;
        }
    }
    sl_info("pg: snapshot started at %s", sl_lsn_fmt(consistent_lsn, a));
    for (int i = 0; rc == SL_OK && i < PQntuples(r); i++) {
        const char *nsp = PQgetvalue(r, i, 1), *rel = PQgetvalue(r, i, 2);
        if (!pg_table_captured(&src->o, nsp, rel))
            continue;
        char full[512];
        snprintf(full, sizeof full, "%s.%s", nsp, rel);
        if (src->o.snap_inc.n && !sl_relist_match(&src->o.snap_inc, full))
            continue;
        pg_rel_t *prel;
        if ((rc = pg_rel_from_catalog(src, (uint32_t)strtoul(PQgetvalue(r, i, 0), NULL, 10),
                                      &prel)) != SL_OK)
            break;
        rc = copy_table(&s, c, prel);
    }
    PQclear(r);
    sl_event_t *last = NULL;
    if (rc == SL_OK && (rc = sl_dbz_snap_release(&s.hold, true, true, &last)) == SL_OK && last)
        rc = pg_emit(src, last);
    if (rc == SL_OK)
        rc = pg_exec_ok(src, c, "COMMIT");
    PQfinish(c);
    sl_dbz_snap_hold_free(&s.hold);
    if (rc != SL_OK)
        return rc;
    /* the end marker: once durable, the stored offset says "snapshot done, stream from here" */
    sl_pos_t pos = {.ack_lsn = consistent_lsn, .index = -1, .flags = SL_POS_SNAPSHOT_END};
    src->ack_lsn = consistent_lsn;
    rc = pg_emit(src, sl_event_new_marker(&pos));
    if (rc == SL_OK)
        sl_info("pg: snapshot complete: %lld rows", (long long)s.hold.rows);
    return rc;
}
