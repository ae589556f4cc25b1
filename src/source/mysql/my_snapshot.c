/*
 * my_snapshot.c — the consistent initial snapshot of a MySQL/MariaDB server.
 *
 * How it works. MariaDB: START TRANSACTION WITH CONSISTENT SNAPSHOT, then
 * SHOW STATUS LIKE 'binlog_snapshot_%' gives the binlog file:position exactly
 * matching that snapshot, without any lock (MariaDB keeps the commit order of the
 * binlog and InnoDB in step). MySQL has no such status: there sluice takes
 * FLUSH TABLES WITH READ LOCK for the few milliseconds it takes to start the
 * transaction and read SHOW MASTER STATUS, then unlocks (needs RELOAD), and says so.
 * Every captured table is then read with a streaming SELECT inside that
 * transaction and each row becomes an op "r" event; binlog streaming starts at the
 * snapshot's position, so the two meet with no gap and no overlap.
 *
 * Values arrive in the text protocol (session time_zone '+00:00'); the converters
 * (mytypes.c) map them to the same JSON the binlog's binary values give.
 *
 * Invariants:
 *  1. Snapshot events carry SL_POS_SNAPSHOT with ack_lsn = the snapshot's
 *     coordinate; the final marker carries SL_POS_SNAPSHOT_END. Until it is durable
 *     the stored offset says snapshot=incomplete and a restart snapshots again.
 *  2. Rows are read one at a time (mysql_use_result): memory is bounded by one row,
 *     never a table.
 *  3. Non-transactional tables (MyISAM, Aria) are read inside the same transaction
 *     but are not consistent with it; sluice warns about each one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "core/log.h"
#include "encode/dbz.h"
#include "source/mysql/my_source.h"

typedef struct snap {
    sl_source_t *src;
    char file[256];
    uint32_t pos;
    uint64_t ts_ms;
    sl_dbz_snap_hold_t hold;
} snap_t;

/* `name` quoted as a MySQL identifier (backquotes doubled). */
static void quote_ident(sl_buf_t *b, const char *name)
{
    sl_buf_addc(b, '`');
    for (const char *p = name; *p; p++) {
        if (*p == '`')
            sl_buf_addc(b, '`');
        sl_buf_addc(b, *p);
    }
    sl_buf_addc(b, '`');
}

static int snap_row(snap_t *s, const my_table_t *t, MYSQL_ROW row, const unsigned long *lens,
                    bool first_in_table)
{
    sl_source_t *src = s->src;
    sl_buf_t *rb = &src->rb;
    sl_buf_reset(rb);
    my_span_t *spans = src->spans;
    sl_buf_addc(rb, '{');
    bool first = true;
    for (uint32_t i = 0; i < t->ncols; i++) {
        const my_col_t *c = &t->cols[i];
        spans[i] = (my_span_t){0, 0};
        if (c->excluded)
            continue;
        if (!first)
            sl_buf_addc(rb, ',');
        first = false;
        sl_buf_add(rb, t->rowcols[i].json_key, t->rowcols[i].json_key_len);
        size_t off = rb->len;
        if (!row[i]) {
            sl_buf_adds(rb, "null");
        } else {
            char e[512];
            int rc = my_conv_text_value(c->conv, row[i], lens[i], rb, e, sizeof e);
            if (rc != SL_OK) {
                my_fail(src, "snapshot of %s.%s: column %s: %s", t->db, t->name, c->name, e);
                return rc == SL_ERR_NOMEM ? rc : SL_ERR_PROTO;
            }
        }
        spans[i] = (my_span_t){off, rb->len - off};
    }
    sl_buf_addc(rb, '}');
    size_t alen = rb->len;
    size_t koff = rb->len;
    if (t->nkeys)
        my_encode_key(t, rb->data, spans, rb);
    if (!sl_buf_ok(rb)) {
        my_fail(src, "out of memory");
        return SL_ERR_NOMEM;
    }
    my_change_t ch = {.table = t, .op = 'r', .snapshot = "true", .after = rb->data,
                      .after_len = alen, .key = t->nkeys ? rb->data + koff : NULL,
                      .key_len = rb->len - koff, .ts_ms = s->ts_ms, .file = s->file,
                      .pos = s->pos};
    int rc = my_encode_change(src, &ch);
    if (rc != SL_OK) {
        my_fail(src, "out of memory");
        return rc;
    }
    sl_pos_t pos = {.ack_lsn = src->ack_coord, .index = s->hold.rows, .flags = SL_POS_SNAPSHOT};
    sl_event_t *ev;
    bool split = my_split(src, t);
    if ((rc = sl_dbz_snap_hold(&s->hold, &src->kb, &src->vb, src->snap_off, t->topic,
                               t->topic_len, src->o.value_schemas || split ? t->schema : NULL,
                               split, &pos, first_in_table, &ev)) != SL_OK) {
        my_fail(src, "out of memory");
        return rc;
    }
    return ev ? my_emit(src, ev) : SL_OK;
}

static int snap_table(snap_t *s, my_table_t *t, const char *engine)
{
    sl_source_t *src = s->src;
    int rc = SL_OK;
    size_t need = (size_t)t->ncols * 2;
    if (need > src->spans_cap) {
        my_span_t *sp = realloc(src->spans, need * sizeof *sp);
        if (!sp) {
            my_fail(src, "out of memory");
            return SL_ERR_NOMEM;
        }
        src->spans = sp;
        src->spans_cap = need;
    }
    if (engine && strcasecmp(engine, "InnoDB") != 0)
        sl_warn("mysql: table %s.%s uses %s, which is not transactional: its snapshot is not "
                "consistent with the binlog position (changes during the snapshot may appear "
                "twice or in the wrong order)", t->db, t->name, engine);
    sl_buf_t sql = SL_BUF_INIT;
    sl_buf_adds(&sql, "SELECT ");
    for (uint32_t i = 0; i < t->ncols; i++) {
        if (i)
            sl_buf_adds(&sql, ", ");
        quote_ident(&sql, t->cols[i].name);
    }
    sl_buf_adds(&sql, " FROM ");
    quote_ident(&sql, t->db);
    sl_buf_addc(&sql, '.');
    quote_ident(&sql, t->name);
    if (!sl_buf_ok(&sql))
        return SL_ERR_NOMEM;
    if (mysql_real_query(src->conn, sql.data, sql.len) != 0) {
        my_fail(src, "snapshot of %s.%s failed: %s", t->db, t->name, mysql_error(src->conn));
        sl_buf_free(&sql);
        return SL_ERR_SERVER;
    }
    sl_buf_free(&sql);
    MYSQL_RES *r = mysql_use_result(src->conn);
    if (!r) {
        my_fail(src, "snapshot of %s.%s failed: %s", t->db, t->name, mysql_error(src->conn));
        return SL_ERR_SERVER;
    }
    int64_t rows = 0;
    MYSQL_ROW row;
    while (rc == SL_OK && (row = mysql_fetch_row(r))) {
        if (atomic_load(&src->stop)) {
            rc = SL_ERR_STOPPED;
            break;
        }
        rc = snap_row(s, t, row, mysql_fetch_lengths(r), rows == 0);
        rows++;
    }
    if (rc == SL_OK && mysql_errno(src->conn)) {
        my_fail(src, "snapshot of %s.%s failed: %s", t->db, t->name, mysql_error(src->conn));
        rc = SL_ERR_CONN;
    }
    mysql_free_result(r);
    if (t->has_dates)
        my_table_warn_zero_dates(t);
    if (rc == SL_OK)
        sl_info("mysql: snapshot of %s.%s: %lld rows", t->db, t->name, (long long)rows);
    return rc;
}

static int decl_cmp(const void *a, const void *b)
{
    const my_decl_t *x = *(const my_decl_t *const *)a, *y = *(const my_decl_t *const *)b;
    int c = strcmp(x->db, y->db);
    return c ? c : strcmp(x->name, y->name);
}

/* Starts the consistent transaction and reads where in the binlog it stands. */
static int begin_consistent(snap_t *s, sl_buf_t *gtids)
{
    sl_source_t *src = s->src;
    int rc;
    if ((rc = my_query(src, src->conn, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")))
        return rc;
    if (src->mariadb) {
        if ((rc = my_query(src, src->conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")))
            return rc;
        MYSQL_RES *r = my_query_result(src, src->conn, "SHOW STATUS LIKE 'binlog_snapshot_%'");
        if (!r)
            return SL_ERR_SERVER;
        MYSQL_ROW row;
        bool have_file = false, have_pos = false;
        while ((row = mysql_fetch_row(r))) {
            if (!row[0] || !row[1])
                continue;
            if (!strcasecmp(row[0], "binlog_snapshot_file")) {
                snprintf(s->file, sizeof s->file, "%s", row[1]);
                have_file = s->file[0] != 0;
            } else if (!strcasecmp(row[0], "binlog_snapshot_position")) {
                s->pos = (uint32_t)strtoul(row[1], NULL, 10);
                have_pos = true;
            }
        }
        mysql_free_result(r);
        if (!have_file || !have_pos) {
            my_fail(src, "the server reports no binlog_snapshot_file/position (is log_bin on?)");
            return SL_ERR_SERVER;
        }
        char sql[700], ef[520];
        mysql_real_escape_string(src->conn, ef, s->file, (unsigned long)strlen(s->file));
        snprintf(sql, sizeof sql, "SELECT BINLOG_GTID_POS('%s', %" PRIu32 ")", ef, s->pos);
        if (!(r = my_query_result(src, src->conn, sql)))
            return SL_ERR_SERVER;
        row = mysql_fetch_row(r);
        sl_buf_adds(gtids, row && row[0] ? row[0] : "");
        mysql_free_result(r);
        return SL_OK;
    }
    sl_info("mysql: MySQL has no binlog_snapshot_file: taking a brief global read lock to read "
            "the binlog position that matches the snapshot");
    if ((rc = my_query(src, src->conn, "FLUSH TABLES WITH READ LOCK"))) {
        my_fail(src, "%s (the snapshot on MySQL needs the RELOAD privilege)", src->err);
        return rc;
    }
    rc = my_query(src, src->conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
    MYSQL_RES *r = rc == SL_OK ? my_query_result(src, src->conn, "SHOW MASTER STATUS") : NULL;
    MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
    if (row && row[0] && row[1]) {
        snprintf(s->file, sizeof s->file, "%s", row[0]);
        s->pos = (uint32_t)strtoul(row[1], NULL, 10);
    } else if (rc == SL_OK) {
        my_fail(src, "SHOW MASTER STATUS returned nothing (is log_bin on?)");
        rc = SL_ERR_SERVER;
    }
    if (r)
        mysql_free_result(r);
    int urc = my_query(src, src->conn, "UNLOCK TABLES");
    return rc != SL_OK ? rc : urc;
}

int my_snapshot(sl_source_t *src)
{
    snap_t s = {.src = src, .ts_ms = (uint64_t)(sl_dbz_now_us() / 1000)};
    sl_buf_t gtids = SL_BUF_INIT;
    int rc = begin_consistent(&s, &gtids);
    if (rc == SL_OK && (rc = my_file_seq(s.file, NULL, 0) ? SL_OK : SL_ERR_PROTO) != SL_OK)
        my_fail(src, "unexpected binlog file name '%s'", s.file);
    if (rc == SL_OK) {
        char base[256];
        src->cur_file = my_file_seq(s.file, base, sizeof base);
        snprintf(src->binlog_base, sizeof src->binlog_base, "%s", base);
        src->ack_coord = my_coord(src->cur_file, s.pos);
        if (my_gtid_log_reset(&src->gtids, gtids.data ? gtids.data : "") != SL_OK) {
            my_fail(src, "unexpected GTID state from the server: %s", gtids.data);
            rc = SL_ERR_PROTO;
        }
    }
    sl_info("mysql: snapshot at %s:%" PRIu32 "%s%s", s.file, s.pos, gtids.len ? " gtids " : "",
            gtids.len ? gtids.data : "");
    sl_buf_free(&gtids);

    /* the tables to read, in name order; each stays alive until the end (the held row
     * points at its topic) */
    size_t n = 0;
    for (my_decl_t *d = src->decls; d; d = d->next)
        n++;
    my_decl_t **list = calloc(n ? n : 1, sizeof *list);
    my_table_t **tables = calloc(n ? n : 1, sizeof *tables);
    if (rc == SL_OK && (!list || !tables)) {
        my_fail(src, "out of memory");
        rc = SL_ERR_NOMEM;
    }
    size_t k = 0;
    for (my_decl_t *d = src->decls; d && list; d = d->next)
        list[k++] = d;
    if (list)
        qsort(list, n, sizeof *list, decl_cmp);
    size_t nt = 0;
    for (size_t i = 0; rc == SL_OK && i < n; i++) {
        char full[600];
        snprintf(full, sizeof full, "%s.%s", list[i]->db, list[i]->name);
        if (src->o.snap_inc.n && !sl_relist_match(&src->o.snap_inc, full))
            continue;
        if ((rc = my_table_from_decl(src, list[i], &tables[nt])) != SL_OK)
            break;
        rc = snap_table(&s, tables[nt++], list[i]->engine);
    }
    sl_event_t *last = NULL;
    if (rc == SL_OK && (rc = sl_dbz_snap_release(&s.hold, true, true, &last)) == SL_OK && last)
        rc = my_emit(src, last);
    for (size_t i = 0; i < nt; i++)
        my_table_free(tables[i]);
    free(tables);
    free(list);
    sl_dbz_snap_hold_free(&s.hold);
    if (rc == SL_OK)
        rc = my_query(src, src->conn, "COMMIT");
    if (rc != SL_OK)
        return rc;
    sl_pos_t pos = {.ack_lsn = src->ack_coord, .index = -1,
                    .flags = SL_POS_SNAPSHOT | SL_POS_SNAPSHOT_END};
    rc = my_emit(src, sl_event_new_marker(&pos));
    if (rc == SL_OK)
        sl_info("mysql: snapshot complete: %lld rows", (long long)s.hold.rows);
    return rc;
}
