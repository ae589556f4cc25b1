/*
 * my_source.c — the MySQL/MariaDB source: connections, positions, binlog streaming.
 *
 * How it works. One query connection reads the server's settings, character sets
 * and table shapes, and takes the snapshot (my_snapshot.c). A second connection
 * registers as a replica (COM_BINLOG_DUMP through libmariadb's mariadb_rpl_* API)
 * from a GTID state (MariaDB's @slave_connect_state) or a binlog file:position and
 * reads events until stopped. TABLE_MAP and rows events are decoded by this
 * project's own parsers (mybinlog.c, mytypes.c); libmariadb only frames events and
 * parses the simple ones. The server sends a heartbeat every second while idle, so
 * the blocking read returns often enough to notice stop(). Both connections (and
 * `sluice check`'s) are opened by my_connect() with the same TLS settings (my_tls.c).
 *
 * Transactions. MariaDB starts each transaction with a GTID event (MySQL without
 * GTIDs with a BEGIN query) and ends it with an XID event (a COMMIT query for
 * non-transactional engines); DDL is a standalone GTID + QUERY pair. Every change
 * gets a position (my_source.h): the coordinate after the newest complete
 * transaction, the transaction's first coordinate and the change's index in it. A
 * commit emits a marker so that position becomes durable in order.
 *
 * Invariants:
 *  1. A position is never a bare coordinate: a restart resumes at the stored ack
 *     coordinate (or GTID state) and skips, inside the transaction it names, the
 *     events with an index <= the stored one, so nothing is lost or repeated.
 *  2. A stored position the server no longer has (purged binlog, unknown GTID)
 *     stops the source with the server's message and what to do -- unless
 *     snapshot.mode=when_needed, which takes a new snapshot. Never "start from now".
 *  3. A row image that is not FULL, or a rows event without its TABLE_MAP, stops the
 *     source: a row is never padded with NULLs or decoded with a guessed shape.
 *  4. After a lost connection the source resumes right after the last event it
 *     emitted (as after a restart from a stored offset, invariant 1).
 *
 * States: CONNECT -> (SNAPSHOT) -> STREAM --lost connection--> wait, CONNECT again.
 */
#define _GNU_SOURCE /* strcasestr */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/backoff.h"
#include "core/json.h"
#include "core/log.h"
#include "encode/dbz.h"
#include "source/mysql/my_source.h"

#define ER_MASTER_FATAL_ERROR_READING_BINLOG 1236
#define BINLOG_SEND_ANNOTATE_ROWS_EVENT 2

static const char *const my_classes[] = {"io.debezium.connector.mysql.MySqlConnector",
                                         "io.debezium.connector.mariadb.MariaDbConnector",
                                         "mysql", "mariadb", NULL};

void my_fail(sl_source_t *src, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(src->err, sizeof src->err, fmt, ap);
    va_end(ap);
}

int64_t my_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int my_query(sl_source_t *src, MYSQL *c, const char *sql)
{
    if (mysql_query(c, sql) != 0) {
        my_fail(src, "query failed: %s (%s)", mysql_error(c), sql);
        return SL_ERR_SERVER;
    }
    MYSQL_RES *r = mysql_store_result(c);
    if (r)
        mysql_free_result(r);
    return SL_OK;
}

MYSQL_RES *my_query_result(sl_source_t *src, MYSQL *c, const char *sql)
{
    if (mysql_query(c, sql) != 0) {
        my_fail(src, "query failed: %s (%s)", mysql_error(c), sql);
        return NULL;
    }
    MYSQL_RES *r = mysql_store_result(c);
    if (!r)
        my_fail(src, "query returned no result: %s (%s)", mysql_error(c), sql);
    return r;
}

/* "mysql-bin.000042" -> 42, base "mysql-bin"; 0 when the name has no numeric suffix. */
uint32_t my_file_seq(const char *file, char *base, size_t base_size)
{
    const char *dot = strrchr(file, '.');
    if (!dot || !dot[1])
        return 0;
    char *end;
    errno = 0;
    unsigned long n = strtoul(dot + 1, &end, 10);
    if (*end || errno || n > UINT32_MAX)
        return 0;
    if (base)
        snprintf(base, base_size, "%.*s", (int)(dot - file), file);
    return (uint32_t)n;
}

void my_file_name(const sl_source_t *src, uint32_t seq, char *out, size_t size)
{
    snprintf(out, size, "%s.%06" PRIu32, src->binlog_base, seq);
}

MYSQL *my_connect(const sl_conf_t *conf, const char *what, char *errstr, size_t errstr_size)
{
    MYSQL *m = mysql_init(NULL);
    if (!m || my_tls_options(m, conf) != SL_OK) {
        snprintf(errstr, errstr_size, "out of memory");
        if (m)
            mysql_close(m);
        return NULL;
    }
    const char *host = sl_conf_str(conf, "debezium.source.database.hostname");
    unsigned port = (unsigned)sl_conf_int(conf, "debezium.source.database.port");
    unsigned timeout_s = (unsigned)(sl_conf_int(conf, "debezium.source.connect.timeout.ms") / 1000);
    unsigned read_timeout_s = 60;
    unsigned proto = MYSQL_PROTOCOL_TCP;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout_s);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &read_timeout_s);
    mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &proto);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    const char *user = sl_conf_str(conf, "debezium.source.database.user");
    const char *pw = sl_conf_str(conf, "debezium.source.database.password");
    if (!mysql_real_connect(m, host, user, pw, NULL, port, NULL, 0)) {
        /* mysql_error never contains the password */
        char hint[512];
        snprintf(errstr, errstr_size, "cannot connect to MySQL/MariaDB at %s:%u as %s: %s%s", host,
                 port, user, mysql_error(m), my_tls_hint(m, conf, hint, sizeof hint));
        mysql_close(m);
        return NULL;
    }
    if (my_tls_enforce(m, conf, errstr, errstr_size) != SL_OK) { /* before any query */
        mysql_close(m);
        return NULL;
    }
    if (what) {
        char tls[256];
        my_tls_describe(m, conf, tls, sizeof tls);
        sl_info("mysql: %s connection to %s:%u %s", what, host, port, tls);
    }
    if (mysql_query(m, "SET time_zone = '+00:00', SESSION sql_mode = ''") != 0) {
        snprintf(errstr, errstr_size, "session setup failed on %s:%u: %s", host, port,
                 mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* --- emitting ------------------------------------------------------------------ */

int my_emit(sl_source_t *src, sl_event_t *ev)
{
    if (!ev) {
        my_fail(src, "out of memory");
        return SL_ERR_NOMEM;
    }
    for (;;) {
        int rc = src->env.emit(src->env.opaque, ev, 100);
        if (rc == SL_OK)
            return SL_OK;
        if (rc != SL_ERR_AGAIN) {
            sl_event_unref(ev);
            return rc;
        }
        /* Backpressure: the binlog connection is simply not read meanwhile; the server
         * holds the events (net_write_timeout may drop it: then we resume, invariant 4). */
    }
}

static int emit_data(sl_source_t *src, const sl_pos_t *pos, char op, const my_table_t *t,
                     bool with_key, bool with_value)
{
    if (pos->txn_lsn && pos->txn_lsn == src->txn.start_coord)
        src->txn.emitted_index = pos->index;
    sl_event_t *ev = sl_event_new(pos, op, t->topic, t->topic_len,
                                  with_key && src->kb.len ? src->kb.data : NULL, src->kb.len,
                                  with_value ? src->vb.data : NULL, src->vb.len);
    bool split = my_split(src, t); /* my_encode_change rendered bare payloads */
    if (ev && t->schema && (split || (with_value && src->o.value_schemas)))
        sl_event_set_schema(ev, t->schema, split);
    return my_emit(src, ev);
}

/* --- options -------------------------------------------------------------------- */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static int opts_load(my_opts_t *o, const sl_conf_t *conf)
{
    o->prefix = dup_or_null(sl_conf_str(conf, "debezium.source.topic.prefix"));
    o->snapshot_mode = sl_conf_enum(conf, "debezium.source.snapshot.mode");
    o->resume_by = sl_conf_enum(conf, "sluice.mysql.resume.by");
    o->server_id = (uint32_t)sl_conf_int(conf, "debezium.source.database.server.id");
    o->tombstones = sl_conf_bool(conf, "debezium.source.tombstones.on.delete");
    o->include_query = sl_conf_bool(conf, "debezium.source.include.query");
    o->include_schema_changes = sl_conf_bool(conf, "debezium.source.include.schema.changes");
    o->value_schemas = sl_conf_bool(conf, "debezium.format.value.schemas.enable");
    o->key_schemas = sl_conf_bool(conf, "debezium.format.key.schemas.enable");
    o->heartbeat_ms = sl_conf_int(conf, "debezium.source.heartbeat.interval.ms");
    o->types.decimal_mode = sl_conf_enum(conf, "debezium.source.decimal.handling.mode");
    char **ops = sl_conf_list(conf, "debezium.source.skipped.operations");
    for (size_t i = 0; ops && ops[i]; i++) {
        o->skip_c |= !strcasecmp(ops[i], "c");
        o->skip_u |= !strcasecmp(ops[i], "u");
        o->skip_d |= !strcasecmp(ops[i], "d");
    }
    sl_conf_list_free(ops);
    sl_buf_t hb = SL_BUF_INIT;
    sl_buf_printf(&hb, "%s.%s", sl_conf_str(conf, "debezium.source.topic.heartbeat.prefix"),
                  o->prefix ? o->prefix : "");
    o->heartbeat_topic = hb.data;
    int rc = SL_OK;
    rc = rc ? rc : sl_relist_compile_conf(&o->db_inc, conf, "debezium.source.database.include.list");
    rc = rc ? rc : sl_relist_compile_conf(&o->db_exc, conf, "debezium.source.database.exclude.list");
    rc = rc ? rc : sl_relist_compile_conf(&o->table_inc, conf, "debezium.source.table.include.list");
    rc = rc ? rc : sl_relist_compile_conf(&o->table_exc, conf, "debezium.source.table.exclude.list");
    rc = rc ? rc : sl_relist_compile_conf(&o->col_exc, conf, "debezium.source.column.exclude.list");
    rc = rc ? rc
            : sl_relist_compile_conf(&o->snap_inc, conf,
                                     "debezium.source.snapshot.include.collection.list");
    if (rc == SL_OK && (!o->prefix || !o->heartbeat_topic))
        rc = SL_ERR_NOMEM;
    return rc;
}

static void opts_free(my_opts_t *o)
{
    free(o->prefix);
    free(o->heartbeat_topic);
    sl_relist_free(&o->db_inc);
    sl_relist_free(&o->db_exc);
    sl_relist_free(&o->table_inc);
    sl_relist_free(&o->table_exc);
    sl_relist_free(&o->col_exc);
    sl_relist_free(&o->snap_inc);
}

/* --- server facts ------------------------------------------------------------ */

static int query_vars(sl_source_t *src)
{
    MYSQL_RES *r = my_query_result(
        src, src->conn,
        "SELECT @@server_id, @@log_bin, @@binlog_format, @@binlog_row_image, VERSION(), "
        "IFNULL((SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES "
        "WHERE VARIABLE_NAME = 'BINLOG_ROW_METADATA'), 'MINIMAL')");
    if (!r)
        return SL_ERR_SERVER;
    MYSQL_ROW row = mysql_fetch_row(r);
    int rc = SL_OK;
    if (!row || !row[0] || !row[1] || !row[2] || !row[3] || !row[4]) {
        my_fail(src, "cannot read the server's replication settings");
        rc = SL_ERR_SERVER;
    } else if (strcmp(row[1], "1") != 0) {
        my_fail(src, "the server's binary log is off (log_bin=OFF): start it with "
                          "log_bin, binlog_format=ROW and binlog_row_image=FULL");
        rc = SL_ERR_UNSUPPORTED;
    } else if (strcasecmp(row[2], "ROW") != 0) {
        my_fail(src, "binlog_format is %s; sluice needs ROW (SET GLOBAL binlog_format=ROW, "
                          "and in the server's configuration)", row[2]);
        rc = SL_ERR_UNSUPPORTED;
    } else if (strcasecmp(row[3], "FULL") != 0) {
        my_fail(src, "binlog_row_image is %s; sluice needs FULL (SET GLOBAL "
                          "binlog_row_image=FULL, and in the server's configuration)", row[3]);
        rc = SL_ERR_UNSUPPORTED;
    } else {
        src->server_id = (uint32_t)strtoul(row[0], NULL, 10);
        src->mariadb = strcasestr(row[4], "mariadb") != NULL;
        src->gtid_mode = src->mariadb;
        src->row_metadata_full = row[5] && !strcasecmp(row[5], "FULL");
    }
    mysql_free_result(r);
    if (rc == SL_OK && !src->row_metadata_full && !src->streaming_started)
        sl_warn("mysql: binlog_row_metadata is not FULL: column names and keys come from "
                "information_schema, which is only right when the events read are newer than the "
                "last DDL (set binlog_row_metadata=FULL)");
    return rc;
}

/* Current end of the binlog: file, position and (MariaDB) GTID state. */
static int binlog_end(sl_source_t *src, MYSQL *c, char *file, size_t file_size, uint32_t *pos,
                      sl_buf_t *gtids)
{
    MYSQL_RES *r = my_query_result(src, c, "SHOW MASTER STATUS");
    if (!r)
        return SL_ERR_SERVER;
    MYSQL_ROW row = mysql_fetch_row(r);
    if (!row || !row[0] || !row[1]) {
        mysql_free_result(r);
        my_fail(src, "SHOW MASTER STATUS returned nothing: is log_bin on, and does the user "
                          "have REPLICATION CLIENT (or BINLOG MONITOR)?");
        return SL_ERR_SERVER;
    }
    snprintf(file, file_size, "%s", row[0]);
    *pos = (uint32_t)strtoul(row[1], NULL, 10);
    mysql_free_result(r);
    if (gtids && src->gtid_mode) {
        char sql[600], ef[520];
        mysql_real_escape_string(c, ef, file, (unsigned long)strnlen(file, 255));
        snprintf(sql, sizeof sql, "SELECT BINLOG_GTID_POS('%s', %" PRIu32 ")", ef, *pos);
        if (!(r = my_query_result(src, c, sql)))
            return SL_ERR_SERVER;
        row = mysql_fetch_row(r);
        sl_buf_adds(gtids, row && row[0] ? row[0] : "");
        mysql_free_result(r);
    }
    return SL_OK;
}

static int set_base(sl_source_t *src, const char *file)
{
    char base[256];
    uint32_t seq = my_file_seq(file, base, sizeof base);
    if (!seq) {
        my_fail(src, "unexpected binlog file name '%s' (expected <base>.<number>)", file);
        return SL_ERR_PROTO;
    }
    snprintf(src->binlog_base, sizeof src->binlog_base, "%s", base);
    src->cur_file = seq;
    return SL_OK;
}

/* --- transactions ---------------------------------------------------------------- */

static void txn_begin(sl_source_t *src, uint64_t coord, const my_gtid_t *gtid, uint32_t ts)
{
    my_txn_t *t = &src->txn;
    free(t->query);
    memset(t, 0, sizeof *t);
    t->active = true;
    t->start_coord = coord;
    t->ts = ts;
    t->skip_until = -1;
    t->emitted_index = -1;
    if (gtid) {
        t->has_gtid = true;
        t->gtid = *gtid;
    }
    if (!src->have_stored || src->stored.index < 0)
        return;
    bool same;
    if (gtid && src->stored.txn_gtid[0]) {
        char g[64];
        snprintf(g, sizeof g, "%" PRIu32 "-%" PRIu32 "-%" PRIu64, gtid->domain, gtid->server,
                 gtid->seq);
        same = !strcmp(g, src->stored.txn_gtid);
    } else {
        char f[300];
        my_file_name(src, my_coord_file(coord), f, sizeof f);
        same = !strcmp(f, src->stored.txn_file) && my_coord_off(coord) == src->stored.txn_pos;
    }
    if (same) {
        t->skip_until = src->stored.index;
        sl_info("mysql: resuming inside transaction at %s:%" PRIu32 " after event %" PRId64,
                src->stored.txn_file, src->stored.txn_pos, src->stored.index);
    }
    src->stored.index = -1; /* only the first transaction can be the partial one */
}

static int txn_commit(sl_source_t *src, uint64_t end_coord)
{
    sl_pos_t pos = {.ack_lsn = end_coord, .txn_lsn = src->txn.start_coord, .lsn = end_coord,
                    .index = src->txn.next_index * 4, .flags = SL_POS_TXN_END};
    src->txn.active = false;
    free(src->txn.query);
    src->txn.query = NULL;
    src->ack_coord = end_coord;
    return my_emit(src, sl_event_new_marker(&pos));
}

static void txn_pos(const sl_source_t *src, sl_pos_t *pos, uint64_t coord, int sub)
{
    pos->ack_lsn = src->ack_coord;
    pos->txn_lsn = src->txn.start_coord;
    pos->lsn = coord;
    pos->index = src->txn.next_index * 4 + sub;
    pos->xid = 0;
    pos->flags = 0;
}

/* --- rows -------------------------------------------------------------------------- */

typedef struct row_ctx {
    const my_table_t *t;
    uint64_t coord;
    uint32_t ts;
    const char *file;
    uint32_t pos;
    int32_t row;
    const char *gtid;
    int64_t now_us; /* one clock reading per rows event */
} row_ctx_t;

/* Decodes one image, appending it to src->rb; off and len locate the object there. */
static int decode_image(sl_source_t *src, const my_table_t *t, const uint8_t *present,
                        const uint8_t **p, const uint8_t *end, my_span_t *spans, size_t *off,
                        size_t *len)
{
    char e[512];
    size_t used = 0;
    *off = src->rb.len;
    int rc = my_row_decode(t->rowcols, t->ncols, present, *p, (size_t)(end - *p), &used, &src->rb,
                           spans, e, sizeof e);
    if (rc != SL_OK) {
        if (rc == SL_ERR_UNSUPPORTED)
            my_fail(src, "table %s.%s: %s", t->db, t->name, e);
        else
            my_fail(src, "table %s.%s: malformed row image: %s", t->db, t->name, e);
        return rc == SL_ERR_NOMEM ? rc : (rc == SL_ERR_UNSUPPORTED ? rc : SL_ERR_PROTO);
    }
    *len = src->rb.len - *off;
    *p += used;
    return SL_OK;
}

static int emit_row(sl_source_t *src, const row_ctx_t *c, char op, const char *before,
                    size_t blen, const char *after, size_t alen, const char *key, size_t klen,
                    int sub)
{
    sl_pos_t pos;
    txn_pos(src, &pos, c->coord, sub);
    if (src->txn.skip_until >= 0 && pos.index <= src->txn.skip_until)
        return SL_OK;
    my_change_t ch = {.table = c->t, .op = op, .snapshot = "false", .before = before,
                      .before_len = blen, .after = after, .after_len = alen,
                      .key = c->t->nkeys ? key : NULL, .key_len = klen,
                      .ts_ms = (uint64_t)c->ts * 1000, .file = c->file, .pos = c->pos,
                      .row = c->row, .gtid = c->gtid, .has_thread = src->txn.has_thread,
                      .thread = src->txn.thread,
                      .query = src->o.include_query ? src->txn.query : NULL,
                      .now_us = c->now_us};
    int rc = my_encode_change(src, &ch);
    if (rc != SL_OK) {
        my_fail(src, "out of memory");
        return rc;
    }
    return emit_data(src, &pos, op, c->t, true, true);
}

static int emit_tombstone(sl_source_t *src, const row_ctx_t *c, const char *key, size_t klen)
{
    sl_pos_t pos;
    txn_pos(src, &pos, c->coord, 1);
    if (!src->o.tombstones || !c->t->nkeys ||
        (src->txn.skip_until >= 0 && pos.index <= src->txn.skip_until))
        return SL_OK;
    sl_buf_reset(&src->kb);
    if (src->o.key_schemas) {
        sl_buf_adds(&src->kb, "{\"schema\":");
        sl_buf_add(&src->kb, c->t->key_schema.data, c->t->key_schema.len);
        sl_buf_adds(&src->kb, ",\"payload\":");
    }
    sl_buf_add(&src->kb, key, klen);
    if (src->o.key_schemas)
        sl_buf_addc(&src->kb, '}');
    if (!sl_buf_ok(&src->kb)) {
        my_fail(src, "out of memory");
        return SL_ERR_NOMEM;
    }
    return emit_data(src, &pos, 0, c->t, true, false);
}

static int ensure_spans(sl_source_t *src, uint32_t ncols)
{
    size_t need = (size_t)ncols * 2;
    if (need <= src->spans_cap)
        return SL_OK;
    my_span_t *s = realloc(src->spans, need * sizeof *s);
    if (!s) {
        my_fail(src, "out of memory");
        return SL_ERR_NOMEM;
    }
    src->spans = s;
    src->spans_cap = need;
    return SL_OK;
}

static int handle_rows(sl_source_t *src, uint8_t type, const uint8_t *body, size_t len,
                       uint64_t coord, uint32_t ts)
{
    my_rows_ev_t re;
    char e[256];
    int rc = my_rows_parse(type, body, len, &re, e, sizeof e);
    if (rc != SL_OK) {
        my_fail(src, "malformed rows event at %s.%06" PRIu32 ":%" PRIu32 ": %s",
                     src->binlog_base, my_coord_file(coord), my_coord_off(coord), e);
        return SL_ERR_PROTO;
    }
    my_tmap_entry_t *tm = my_tmap_find(src, re.table_id);
    if (!tm) {
        my_fail(src, "rows event for table id %" PRIu64 " without its TABLE_MAP at "
                          "%s.%06" PRIu32 ":%" PRIu32, re.table_id, src->binlog_base,
                     my_coord_file(coord), my_coord_off(coord));
        return SL_ERR_PROTO;
    }
    if (!tm->table) /* not captured */
        return SL_OK;
    const my_table_t *t = tm->table;
    if (re.ncols != t->ncols) {
        my_fail(src, "table %s.%s: rows event has %u columns, its TABLE_MAP %u", t->db,
                     t->name, re.ncols, t->ncols);
        return SL_ERR_PROTO;
    }
    if (!my_bitmap_full(re.present, re.ncols) ||
        (re.kind == MY_ROWS_UPDATE && !my_bitmap_full(re.present_after, re.ncols))) {
        my_fail(src, "table %s.%s: a rows event at %s.%06" PRIu32 ":%" PRIu32 " has a "
                          "partial row image (the writing session had binlog_row_image other "
                          "than FULL); sluice never pads rows with NULLs: set binlog_row_image="
                          "FULL for every session writing to this table",
                     t->db, t->name, src->binlog_base, my_coord_file(coord), my_coord_off(coord));
        return SL_ERR_UNSUPPORTED;
    }
    if ((rc = ensure_spans(src, t->ncols)) != SL_OK)
        return rc;
    char file[300], gtid[64];
    my_file_name(src, my_coord_file(coord), file, sizeof file);
    if (src->txn.has_gtid)
        snprintf(gtid, sizeof gtid, "%" PRIu32 "-%" PRIu32 "-%" PRIu64, src->txn.gtid.domain,
                 src->txn.gtid.server, src->txn.gtid.seq);
    row_ctx_t c = {t, coord, ts, file, my_coord_off(coord), 0, src->txn.has_gtid ? gtid : NULL,
                   sl_dbz_now_us()};
    if (src->o.heartbeat_ms > 0)
        src->last_data_ms = my_mono_ms();
    const uint8_t *p = re.rows, *end = re.rows + re.rows_len;
    my_span_t *sb = src->spans, *sa = src->spans + t->ncols;
    while (p < end) {
        sl_buf_reset(&src->rb);
        size_t boff = 0, blen = 0, aoff = 0, alen = 0, kboff = 0, kblen = 0, kaoff = 0, kalen = 0;
        if (re.kind != MY_ROWS_WRITE &&
            (rc = decode_image(src, t, re.present, &p, end, sb, &boff, &blen)) != SL_OK)
            return rc;
        if (re.kind != MY_ROWS_DELETE &&
            (rc = decode_image(src, t, re.kind == MY_ROWS_UPDATE ? re.present_after : re.present,
                               &p, end, sa, &aoff, &alen)) != SL_OK)
            return rc;
        /* keys, rendered after the images in the same buffer */
        if (blen) {
            kboff = src->rb.len;
            my_encode_key(t, src->rb.data, sb, &src->rb);
            kblen = src->rb.len - kboff;
        }
        if (alen) {
            kaoff = src->rb.len;
            my_encode_key(t, src->rb.data, sa, &src->rb);
            kalen = src->rb.len - kaoff;
        }
        if (!sl_buf_ok(&src->rb)) {
            my_fail(src, "out of memory");
            return SL_ERR_NOMEM;
        }
        const char *rb = src->rb.data;
        if (re.kind == MY_ROWS_WRITE) {
            if (!src->o.skip_c)
                rc = emit_row(src, &c, 'c', NULL, 0, rb + aoff, alen, rb + kaoff, kalen, 0);
        } else if (re.kind == MY_ROWS_DELETE) {
            if (!src->o.skip_d) {
                rc = emit_row(src, &c, 'd', rb + boff, blen, NULL, 0, rb + kboff, kblen, 0);
                if (rc == SL_OK)
                    rc = emit_tombstone(src, &c, rb + kboff, kblen);
            }
        } else if (t->nkeys && (kblen != kalen || memcmp(rb + kboff, rb + kaoff, kblen) != 0)) {
            /* primary key changed: delete + tombstone + create, as Debezium does */
            if (!src->o.skip_u) {
                rc = emit_row(src, &c, 'd', rb + boff, blen, NULL, 0, rb + kboff, kblen, 0);
                if (rc == SL_OK)
                    rc = emit_tombstone(src, &c, rb + kboff, kblen);
                if (rc == SL_OK)
                    rc = emit_row(src, &c, 'c', NULL, 0, rb + aoff, alen, rb + kaoff, kalen, 2);
            }
        } else if (!src->o.skip_u) {
            rc = emit_row(src, &c, 'u', rb + boff, blen, rb + aoff, alen, rb + kaoff, kalen, 0);
        }
        if (rc != SL_OK)
            return rc;
        src->txn.next_index++;
        c.row++;
    }
    if (t->has_dates)
        my_table_warn_zero_dates(tm->table);
    return SL_OK;
}

/* --- DDL ------------------------------------------------------------------------- */

static int handle_ddl(sl_source_t *src, const MARIADB_RPL_EVENT *ev, uint64_t coord)
{
    const struct st_mariadb_rpl_query_event *q = &ev->event.query;
    char db[256];
    snprintf(db, sizeof db, "%.*s", (int)(q->database.length < 255 ? q->database.length : 255),
             q->database.str ? q->database.str : "");
    my_ddl_t ddl;
    if (!my_ddl_parse(q->statement.str, q->statement.length, db, &ddl))
        return SL_OK;
    ddl.has_thread = true;
    ddl.thread = q->thread_id;
    /* forget every cached shape in the databases touched (always safe) */
    my_decls_forget(src, ddl.db, NULL);
    for (size_t i = 0; i < ddl.ntables; i++)
        my_decls_forget(src, ddl.tables[i].db, NULL);
    for (my_tmap_entry_t **pp = &src->tmaps; *pp;) {
        my_tmap_entry_t *e = *pp;
        bool drop = false;
        if (e->table)
            for (size_t i = 0; i < ddl.ntables && !drop; i++)
                drop = !strcmp(e->table->db, ddl.tables[i].db);
        if (e->table && !strcmp(e->table->db, ddl.db))
            drop = true;
        if (drop) {
            *pp = e->next;
            my_table_free(e->table);
            free(e->body);
            free(e);
        } else
            pp = &e->next;
    }
    if (!src->o.include_schema_changes || !ddl.db[0] || !my_db_captured(&src->o, ddl.db))
        return SL_OK;
    /* the table's shape after the change, for tableChanges */
    for (size_t i = 0; i < ddl.ntables; i++)
        if (ddl.type && strcmp(ddl.type, "DROP") &&
            my_table_captured(&src->o, ddl.tables[i].db, ddl.tables[i].name) &&
            !my_decl_find(src, ddl.tables[i].db, ddl.tables[i].name)) {
            int rc = my_decls_load(src, ddl.tables[i].db, ddl.tables[i].name);
            if (rc != SL_OK)
                return rc;
        }
    sl_pos_t pos;
    txn_pos(src, &pos, coord, 0);
    src->txn.next_index++;
    if (src->txn.skip_until >= 0 && pos.index <= src->txn.skip_until)
        return SL_OK;
    char file[300], gtid[64];
    my_file_name(src, my_coord_file(coord), file, sizeof file);
    if (src->txn.has_gtid)
        snprintf(gtid, sizeof gtid, "%" PRIu32 "-%" PRIu32 "-%" PRIu64, src->txn.gtid.domain,
                 src->txn.gtid.server, src->txn.gtid.seq);
    int rc = my_encode_schema_change(src, &ddl, (uint64_t)ev->timestamp * 1000, file,
                                     my_coord_off(coord), src->txn.has_gtid ? gtid : NULL);
    if (rc != SL_OK) {
        my_fail(src, "out of memory");
        return rc;
    }
    if (src->txn.active)
        src->txn.emitted_index = pos.index;
    sl_event_t *e = sl_event_new(&pos, 0, src->o.prefix, strlen(src->o.prefix), src->kb.data,
                                 src->kb.len, src->vb.data, src->vb.len);
    return my_emit(src, e);
}

/* --- heartbeats -------------------------------------------------------------------- */

static int maybe_heartbeat(sl_source_t *src)
{
    if (src->o.heartbeat_ms <= 0 || src->txn.active ||
        my_mono_ms() - src->last_data_ms < src->o.heartbeat_ms)
        return SL_OK;
    sl_pos_t pos = {.ack_lsn = src->ack_coord, .index = -1, .flags = SL_POS_HEARTBEAT};
    sl_dbz_heartbeat(&src->kb, &src->vb, src->o.prefix, src->o.key_schemas, src->o.value_schemas,
                     sl_dbz_now_us() / 1000);
    if (!sl_buf_ok(&src->kb) || !sl_buf_ok(&src->vb)) {
        my_fail(src, "out of memory");
        return SL_ERR_NOMEM;
    }
    sl_event_t *ev = sl_event_new(&pos, 0, src->o.heartbeat_topic, strlen(src->o.heartbeat_topic),
                                  src->kb.data, src->kb.len, src->vb.data, src->vb.len);
    src->last_data_ms = my_mono_ms();
    return my_emit(src, ev);
}

/* --- the binlog loop ---------------------------------------------------------------- */

static bool is_rows_event(int t)
{
    return t == MY_EV_WRITE_ROWS_V1 || t == MY_EV_UPDATE_ROWS_V1 || t == MY_EV_DELETE_ROWS_V1 ||
           t == MY_EV_WRITE_ROWS || t == MY_EV_UPDATE_ROWS || t == MY_EV_DELETE_ROWS ||
           t == MY_EV_PARTIAL_UPDATE_ROWS;
}

static int fetch_error(sl_source_t *src)
{
    unsigned err = mysql_errno(src->bconn);
    const char *msg = mysql_error(src->bconn);
    if (err == ER_MASTER_FATAL_ERROR_READING_BINLOG) {
        if (strstr(msg, "same server_uuid") || strstr(msg, "same server_id") ||
            strstr(msg, "same server-id")) {
            my_fail(src, "another replica or binlog reader uses server id %" PRIu32 ": %s "
                              "(give debezium.source.database.server.id a unique value)",
                         src->o.server_id, msg);
            return SL_ERR_SERVER;
        }
        my_fail(src, "the stored binlog position is not on the server any more (purged "
                          "binlog or unknown GTID): %s; set debezium.source.snapshot.mode="
                          "when_needed to take a new snapshot, or remove the offsets to start "
                          "over",
                     msg);
        return SL_ERR_POSITION;
    }
    if (err == 0 || err == 2013 || err == 2006 || err == 2026 || err == 1053 || err == 2055) {
        my_fail(src, "binlog connection lost: %s", err ? msg : "end of stream");
        return SL_ERR_CONN;
    }
    my_fail(src, "reading the binlog failed: %s (error %u)", msg, err);
    return SL_ERR_SERVER;
}

static int open_binlog(sl_source_t *src, const char *file, uint32_t pos, const char *gtids)
{
    char e[1024];
    if (!(src->bconn = my_connect(src->conf, "binlog", e, sizeof e))) {
        my_fail(src, "%s", e);
        return SL_ERR_CONN;
    }
    char sql[1200];
    int rc;
    if ((rc = my_query(src, src->bconn, "SET @master_binlog_checksum = @@global.binlog_checksum")) ||
        (rc = my_query(src, src->bconn, "SET @master_heartbeat_period = 1000000000")))
        return rc;
    /* Every event the server sends from now on, the first fake ROTATE included, ends in a
     * CRC32 unless the checksum is NONE. libmariadb learns it only from the format
     * description event, which comes after that ROTATE: ask the server instead. */
    MYSQL_RES *r = my_query_result(src, src->bconn, "SELECT @master_binlog_checksum");
    if (!r)
        return SL_ERR_SERVER;
    MYSQL_ROW row = mysql_fetch_row(r);
    src->binlog_checksum = row && row[0] && strcasecmp(row[0], "NONE") != 0;
    mysql_free_result(r);
    if (src->mariadb && (rc = my_query(src, src->bconn, "SET @mariadb_slave_capability = 4")))
        return rc;
    if (gtids) {
        char eg[1100];
        mysql_real_escape_string(src->bconn, eg, gtids, (unsigned long)strnlen(gtids, 512));
        snprintf(sql, sizeof sql, "SET @slave_connect_state = '%s'", eg);
        if ((rc = my_query(src, src->bconn, sql)))
            return rc;
    }
    if (!(src->rpl = mariadb_rpl_init(src->bconn))) {
        my_fail(src, "out of memory");
        return SL_ERR_NOMEM;
    }
    unsigned flags = src->o.include_query ? BINLOG_SEND_ANNOTATE_ROWS_EVENT : 0;
    mariadb_rpl_optionsv(src->rpl, MARIADB_RPL_SERVER_ID, (uint32_t)src->o.server_id);
    mariadb_rpl_optionsv(src->rpl, MARIADB_RPL_FLAGS, flags);
    if (!gtids) {
        mariadb_rpl_optionsv(src->rpl, MARIADB_RPL_FILENAME, file, strlen(file));
        mariadb_rpl_optionsv(src->rpl, MARIADB_RPL_START, (unsigned long)pos);
    }
    if (mariadb_rpl_open(src->rpl) != 0) {
        my_fail(src, "cannot start reading the binlog: %s (does the user have REPLICATION "
                          "SLAVE?)", mysql_error(src->bconn));
        return mysql_errno(src->bconn) == 2013 ? SL_ERR_CONN : SL_ERR_SERVER;
    }
    return SL_OK;
}

static void close_binlog(sl_source_t *src)
{
    if (src->ev) {
        mariadb_free_rpl_event(src->ev);
        src->ev = NULL;
    }
    if (src->rpl) {
        mariadb_rpl_close(src->rpl);
        src->rpl = NULL;
    }
    if (src->bconn) {
        mysql_close(src->bconn);
        src->bconn = NULL;
    }
}

static int handle_event(sl_source_t *src, MARIADB_RPL_EVENT *ev)
{
    int type = ev->event_type;
    uint32_t next = ev->next_event_pos;
    uint64_t start = my_coord(src->cur_file, next >= ev->event_length ? next - ev->event_length : 0);
    uint64_t end = my_coord(src->cur_file, next);
    size_t hdr = 19, csum = src->binlog_checksum ? 4 : 0;
    const uint8_t *body = ev->raw_data + ev->raw_data_ofs + hdr;
    size_t body_len = ev->event_length >= hdr + csum ? ev->event_length - hdr - csum : 0;
    if (ev->raw_data_size < ev->raw_data_ofs + hdr + body_len) {
        my_fail(src, "binlog event shorter than its header says");
        return SL_ERR_PROTO;
    }
    switch (type) {
    case ROTATE_EVENT: {
        /* Parsed here: libmariadb 3.3 reads the file name of every ROTATE after the first
         * at a wrong offset ("n.000004" for "mysql-bin.000004"). Body: position (8 bytes),
         * then the file name. */
        if (body_len < 9 || body_len - 8 > 255) {
            my_fail(src, "malformed ROTATE event (%zu bytes)", body_len);
            return SL_ERR_PROTO;
        }
        char f[300];
        snprintf(f, sizeof f, "%.*s", (int)(body_len - 8), (const char *)body + 8);
        return set_base(src, f);
    }
    case GTID_EVENT: {
        my_gtid_t g = {ev->event.gtid.domain_id, ev->server_id, ev->event.gtid.sequence_nr};
        /* a group left open ends here (should not happen: groups end with XID/COMMIT/DDL) */
        if (src->txn.active && txn_commit(src, start) != SL_OK)
            return SL_ERR_STOPPED;
        txn_begin(src, start, &g, ev->timestamp);
        src->txn.standalone = ev->event.gtid.flags & FL_STANDALONE;
        if (my_gtid_log_push(&src->gtids, start, &g) != SL_OK) {
            my_fail(src, "out of memory");
            return SL_ERR_NOMEM;
        }
        return SL_OK;
    }
    case QUERY_EVENT: {
        const char *s = ev->event.query.statement.str;
        size_t n = ev->event.query.statement.length;
        if (n == 5 && !strncasecmp(s, "BEGIN", 5)) {
            if (!src->txn.active)
                txn_begin(src, start, NULL, ev->timestamp);
            src->txn.has_thread = true;
            src->txn.thread = ev->event.query.thread_id;
            return SL_OK;
        }
        if ((n == 6 && !strncasecmp(s, "COMMIT", 6)) || (n == 8 && !strncasecmp(s, "ROLLBACK", 8)))
            return src->txn.active ? txn_commit(src, end) : SL_OK;
        /* DDL: a group of its own (MariaDB: standalone GTID; MySQL: no BEGIN) */
        bool own_group = !src->txn.active || src->txn.standalone;
        if (!src->txn.active)
            txn_begin(src, start, NULL, ev->timestamp);
        int rc = handle_ddl(src, ev, start);
        if (rc != SL_OK)
            return rc;
        return own_group ? txn_commit(src, end) : SL_OK;
    }
    case XID_EVENT:
        return src->txn.active ? txn_commit(src, end) : SL_OK;
    case ANNOTATE_ROWS_EVENT:
    case ROWS_QUERY_LOG_EVENT:
        if (src->o.include_query && src->txn.active) {
            free(src->txn.query);
            const char *s = type == ANNOTATE_ROWS_EVENT ? ev->event.annotate_rows.statement.str
                                                        : (const char *)body + 1;
            size_t n = type == ANNOTATE_ROWS_EVENT ? ev->event.annotate_rows.statement.length
                                                   : (body_len ? body_len - 1 : 0);
            src->txn.query = sl_memdupz(s, n);
        }
        return SL_OK;
    case TABLE_MAP_EVENT: {
        my_tmap_entry_t *e;
        return my_tablemap(src, body, body_len, &e);
    }
    default:
        if (is_rows_event(type)) {
            if (!src->txn.active)
                txn_begin(src, start, NULL, ev->timestamp);
            if (type == MY_EV_PARTIAL_UPDATE_ROWS) {
                my_fail(src, "partial JSON update events (binlog_row_value_options="
                                  "PARTIAL_JSON) are not supported: turn that option off");
                return SL_ERR_UNSUPPORTED;
            }
            return handle_rows(src, (uint8_t)type, body, body_len, start, ev->timestamp);
        }
        return SL_OK; /* FORMAT_DESCRIPTION, GTID_LIST, checkpoints, heartbeats, ... */
    }
}

static int stream(sl_source_t *src, const char *file, uint32_t pos, const char *gtids)
{
    int rc = open_binlog(src, file, pos, gtids);
    if (rc != SL_OK)
        return rc;
    if (!gtids && set_base(src, file) != SL_OK)
        return SL_ERR_PROTO;
    sl_info("mysql: streaming the binlog from %s", gtids ? gtids : file);
    src->streaming_started = true;
    src->stream_ok_since_reconnect = true;
    src->last_data_ms = my_mono_ms();
    while (!atomic_load(&src->stop)) {
        MARIADB_RPL_EVENT *ev = mariadb_rpl_fetch(src->rpl, src->ev);
        if (!ev) {
            /* the event passed in for reuse is gone too: libmariadb frees it when the read
             * fails (freeing it again crashed after a lost connection) */
            src->ev = NULL;
            if (atomic_load(&src->stop))
                break;
            return fetch_error(src);
        }
        src->ev = ev;
        if ((rc = handle_event(src, ev)) != SL_OK)
            return rc;
        if ((rc = maybe_heartbeat(src)) != SL_OK)
            return rc;
    }
    return SL_OK;
}

/* --- start: offsets, snapshot, streaming ------------------------------------------- */

static int start_from_end(sl_source_t *src)
{
    char file[256];
    uint32_t pos;
    sl_buf_t g = SL_BUF_INIT;
    int rc = binlog_end(src, src->conn, file, sizeof file, &pos, &g);
    if (rc == SL_OK && (rc = set_base(src, file)) == SL_OK) {
        src->ack_coord = my_coord(src->cur_file, pos);
        if (my_gtid_log_reset(&src->gtids, g.data ? g.data : "") != SL_OK) {
            my_fail(src, "unexpected GTID state from the server: %s", g.data);
            rc = SL_ERR_PROTO;
        }
    }
    sl_buf_free(&g);
    if (rc != SL_OK)
        return rc;
    /* a marker makes this start point durable even before the first change */
    sl_pos_t p = {.ack_lsn = src->ack_coord, .index = -1, .flags = SL_POS_HEARTBEAT};
    if ((rc = my_emit(src, sl_event_new_marker(&p))) != SL_OK)
        return rc;
    char f[300];
    my_file_name(src, src->cur_file, f, sizeof f);
    return stream(src, f, pos, NULL);
}

static int resume(sl_source_t *src)
{
    const my_offset_t *o = &src->stored;
    int rc = set_base(src, o->file);
    if (rc != SL_OK)
        return rc;
    src->ack_coord = my_coord(src->cur_file, o->pos);
    if (my_gtid_log_reset(&src->gtids, o->gtids) != SL_OK) {
        my_fail(src, "the offsets file's gtids are malformed");
        return SL_ERR_POSITION;
    }
    bool by_gtid = src->gtid_mode && o->gtids[0] && src->o.resume_by != MY_RESUME_POSITION;
    if (src->o.resume_by == MY_RESUME_GTID && !by_gtid) {
        my_fail(src, "sluice.mysql.resume.by=gtid, but %s", src->gtid_mode
                                                                     ? "the stored offsets have no GTID state"
                                                                     : "the server has no GTIDs");
        return SL_ERR_POSITION;
    }
    return stream(src, o->file, o->pos, by_gtid ? o->gtids : NULL);
}

static int connect_and_run(sl_source_t *src)
{
    char e[1024];
    if (!(src->conn = my_connect(src->conf, "query", e, sizeof e))) {
        my_fail(src, "%s", e);
        return SL_ERR_CONN;
    }
    int rc;
    if ((rc = query_vars(src)) != SL_OK || (rc = my_load_collations(src)) != SL_OK)
        return rc;
    src->connector = src->mariadb ? "mariadb" : "mysql";
    if ((rc = my_encode_init(src)) != SL_OK)
        return rc;
    if (src->streaming_started) /* reconnect: resume right after the last event emitted */
        return resume(src);

    int mode = src->o.snapshot_mode;
    bool have = src->have_stored;
    bool snapshot_done = have && src->stored.snapshot_done;
    bool want_snapshot = mode == MY_SNAP_ALWAYS ||
                         ((mode == MY_SNAP_INITIAL || mode == MY_SNAP_INITIAL_ONLY ||
                           mode == MY_SNAP_WHEN_NEEDED) && !snapshot_done);
    if (have && !snapshot_done && (mode == MY_SNAP_NEVER || mode == MY_SNAP_NO_DATA)) {
        my_fail(src, "the stored offsets are from an interrupted snapshot; snapshot.mode=%s "
                          "cannot finish it (set snapshot.mode=initial or remove the offsets)",
                     mode == MY_SNAP_NEVER ? "never" : "no_data");
        return SL_ERR_POSITION;
    }
    if (!want_snapshot && have) {
        rc = resume(src);
        if (rc != SL_ERR_POSITION || mode != MY_SNAP_WHEN_NEEDED || src->txn.active ||
            src->ack_coord != my_coord(my_file_seq(src->stored.file, NULL, 0), src->stored.pos))
            return rc;
        sl_warn("mysql: %s -- taking a new snapshot (snapshot.mode=when_needed)", src->err);
        close_binlog(src);
        want_snapshot = true;
        src->have_stored = false;
    }
    if (!want_snapshot)
        return start_from_end(src);

    if ((rc = my_decls_load(src, NULL, NULL)) != SL_OK)
        return rc;
    src->have_stored = false;
    if ((rc = my_snapshot(src)) != SL_OK)
        return rc;
    if (mode == MY_SNAP_INITIAL_ONLY) {
        sl_info("mysql: snapshot complete; snapshot.mode=initial_only: stopping");
        return SL_OK;
    }
    char f[300];
    my_file_name(src, src->cur_file, f, sizeof f);
    return stream(src, f, my_coord_off(src->ack_coord), NULL);
}

/* After a lost connection: resume exactly after the last event emitted (invariant 4). */
static void prepare_reconnect(sl_source_t *src)
{
    close_binlog(src);
    if (src->conn) {
        mysql_close(src->conn);
        src->conn = NULL;
    }
    my_tmaps_clear(src);
    src->have_stored = true;
    my_offset_t *o = &src->stored;
    memset(o, 0, sizeof *o);
    o->snapshot_done = true;
    my_file_name(src, my_coord_file(src->ack_coord), o->file, sizeof o->file);
    o->pos = my_coord_off(src->ack_coord);
    sl_buf_t g = SL_BUF_INIT;
    my_gtid_log_state(&src->gtids, src->ack_coord, &g);
    snprintf(o->gtids, sizeof o->gtids, "%s", g.data ? g.data : "");
    sl_buf_free(&g);
    o->index = -1;
    if (src->txn.active) {
        my_file_name(src, my_coord_file(src->txn.start_coord), o->txn_file, sizeof o->txn_file);
        o->txn_pos = my_coord_off(src->txn.start_coord);
        if (src->txn.has_gtid)
            snprintf(o->txn_gtid, sizeof o->txn_gtid, "%" PRIu32 "-%" PRIu32 "-%" PRIu64,
                     src->txn.gtid.domain, src->txn.gtid.server, src->txn.gtid.seq);
        o->index = src->txn.emitted_index > src->txn.skip_until ? src->txn.emitted_index
                                                                 : src->txn.skip_until;
    }
    src->txn.active = false;
}

static int my_run(sl_source_t *src)
{
    sl_backoff_t bo;
    sl_backoff_init(&bo, src->conf);
    for (;;) {
        int rc = connect_and_run(src);
        bool progressed = src->stream_ok_since_reconnect; /* it streamed again since the last loss */
        src->stream_ok_since_reconnect = false;
        if (!sl_backoff_retry(&bo, &rc, atomic_load(&src->stop), src->streaming_started,
                              progressed, "mysql", src->err))
            return rc;
        prepare_reconnect(src);
        if (!sl_backoff_wait(&bo, &src->stop))
            return SL_OK;
    }
}

/* --- vtable ------------------------------------------------------------------------ */

static int my_create(sl_source_t **out, const sl_conf_t *conf, const sl_source_env_t *env,
                     char *errstr, size_t errstr_size)
{
    sl_source_t *src = calloc(1, sizeof *src);
    if (!src) {
        snprintf(errstr, errstr_size, "out of memory");
        return SL_ERR_NOMEM;
    }
    src->env = *env;
    src->conf = conf;
    src->connector = "mysql";
    atomic_init(&src->stop, false);
    int rc = opts_load(&src->o, conf);
    if (rc == SL_OK)
        rc = my_gtid_log_init(&src->gtids);
    if (rc != SL_OK) {
        snprintf(errstr, errstr_size, "out of memory");
        opts_free(&src->o);
        free(src);
        return rc;
    }
    if (env->stored_offset) {
        if ((rc = my_offset_parse(env->stored_offset, &src->stored, errstr, errstr_size)) != SL_OK) {
            my_gtid_log_fini(&src->gtids);
            opts_free(&src->o);
            free(src);
            return rc;
        }
        src->have_stored = true;
        set_base(src, src->stored.file);
    }
    *out = src;
    return SL_OK;
}

static void my_stop(sl_source_t *src) { atomic_store(&src->stop, true); }

static int my_format_pos(sl_source_t *src, const sl_pos_t *pos, sl_buf_t *out)
{
    return my_offset_format(src, pos, out);
}

/* The binlog has nothing to acknowledge: the server does not keep it for us. */
static int my_ack(sl_source_t *src, const sl_pos_t *pos) { return SL_OK; }

static const char *my_last_error(const sl_source_t *src) { return src->err; }

/* Combinations the property table cannot express: the TLS keys (my_tls.c). */
static int my_validate(const sl_conf_t *conf, char *errstr, size_t errstr_size)
{
    return my_tls_validate(conf, errstr, errstr_size);
}

static void my_destroy(sl_source_t *src)
{
    if (!src)
        return;
    close_binlog(src);
    if (src->conn)
        mysql_close(src->conn);
    my_tmaps_clear(src);
    my_decls_free(src);
    for (size_t i = 0; i < src->ncollations; i++)
        free(src->collations[i]);
    free(src->collations);
    free(src->txn.query);
    free(src->spans);
    sl_buf_free(&src->kb);
    sl_buf_free(&src->vb);
    sl_buf_free(&src->rb);
    sl_buf_free(&src->source_name);
    my_gtid_log_fini(&src->gtids);
    opts_free(&src->o);
    free(src);
}

const sl_source_ops_t sl_source_mysql = {
    .abi = SL_SOURCE_ABI,
    .name = "mysql",
    .classes = my_classes,
    .props = &sl_my_props,
    .create = my_create,
    .validate = my_validate,
    .check = my_check,
    .run = my_run,
    .stop = my_stop,
    .format_pos = my_format_pos,
    .ack = my_ack,
    .last_error = my_last_error,
    .destroy = my_destroy,
};
