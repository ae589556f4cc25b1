/*
 * pg_source.c — the PostgreSQL source: replication connection, slot and offset
 * reconciliation, the streaming loop and change decoding into events.
 *
 * How it works. run() opens a replication connection (replication=database) and
 * a normal one for catalog lookups, checks the server (wal_level, version),
 * makes sure the publication exists, then reconciles three things before it
 * reads a single change: the stored offset, the replication slot and the
 * snapshot mode. If a snapshot is needed the slot is created with an exported
 * snapshot and pg_snapshot.c reads every captured table inside it with COPY;
 * streaming then starts at the slot's consistent point, which is exactly where
 * the snapshot ends (no gap, no duplicate). Otherwise streaming resumes at the
 * stored position. pgoutput messages are decoded (pgoutput.c), rendered
 * (pg_encode.c) and handed to the pipeline; every transaction ends with a
 * commit marker whose ack_lsn is the commit's end LSN.
 *
 * Invariants:
 *  1. The flush LSN sent to the server is never larger than the ack_lsn of a
 *     position the pipeline has committed to the offset store (env->acked).
 *  2. Keepalives are answered and status updates sent even while the pipeline
 *     applies backpressure (pg_emit keeps the connection alive while it waits).
 *  3. A stored position the slot cannot serve (slot missing, recreated, or
 *     already past the stored position) stops the source with an error, unless
 *     snapshot.mode=when_needed asks for a new snapshot. Never "start from now".
 *  4. On resume inside a partially delivered transaction, events with an index
 *     <= the stored one are skipped, so nothing is delivered twice on a clean
 *     restart and nothing is lost on any restart.
 *  5. Streamed in-progress transactions (protocol v2) are spooled to disk and
 *     replayed only at Stream Commit; aborted ones (and aborted
 *     subtransactions) never reach the pipeline.
 *
 * States:
 *   CONNECT -> RECONCILE -> [SNAPSHOT] -> STREAM -> (stop) -> DONE
 *                                  \-> DONE (initial_only)
 *
 * References: PostgreSQL docs "Streaming Replication Protocol" (XLogData,
 * Primary keepalive, Standby status update) and "Logical Replication Message
 * Formats"; pg_recvlogical.c for the status-update discipline.
 */
#include "source/pg/pg_source.h"

#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/backoff.h"
#include "core/log.h"
#include "core/offsets.h"

#define PG_EPOCH_OFFSET_US 946684800000000LL /* 2000-01-01 - 1970-01-01 in µs */

static const char *const pg_classes[] = {"io.debezium.connector.postgresql.PostgresConnector",
                                         "postgres", "postgresql", NULL};

void pg_set_error(sl_source_t *src, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(src->err, sizeof src->err, fmt, ap);
    va_end(ap);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_pg_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - PG_EPOCH_OFFSET_US;
}

/* Strips the trailing newline libpq puts on error messages. */
const char *pg_conn_error(PGconn *c)
{
    static __thread char buf[512];
    /* one line: libpq's messages carry newlines and tab-indented hints */
    const char *m = PQerrorMessage(c);
    size_t n = 0;
    for (; *m && n < sizeof buf - 1; m++) {
        char ch = (*m == '\n' || *m == '\t') ? ' ' : *m;
        if (ch == ' ' && (n == 0 || buf[n - 1] == ' '))
            continue;
        buf[n++] = ch;
    }
    while (n && buf[n - 1] == ' ')
        n--;
    buf[n] = 0;
    return buf;
}

/* --- options ---------------------------------------------------------------- */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static int opts_load(pg_opts_t *o, const sl_conf_t *conf)
{
#define S(k) sl_conf_str(conf, "debezium.source." k)
    o->prefix = dup_or_null(S("topic.prefix"));
    o->dbname = dup_or_null(S("database.dbname"));
    o->slot = dup_or_null(S("slot.name"));
    o->publication = dup_or_null(S("publication.name"));
    o->pub_mode = sl_conf_enum(conf, "debezium.source.publication.autocreate.mode");
    o->snapshot_mode = sl_conf_enum(conf, "debezium.source.snapshot.mode");
    o->tombstones = sl_conf_bool(conf, "debezium.source.tombstones.on.delete");
    o->value_schemas = sl_conf_bool(conf, "debezium.format.value.schemas.enable");
    o->key_schemas = sl_conf_bool(conf, "debezium.format.key.schemas.enable");
    o->streaming = sl_conf_bool(conf, "sluice.postgres.streaming");
    o->slot_drop_on_stop = sl_conf_bool(conf, "debezium.source.slot.drop.on.stop");
    o->slot_max_retries = sl_conf_int(conf, "debezium.source.slot.max.retries");
    o->slot_retry_delay_ms = sl_conf_int(conf, "debezium.source.slot.retry.delay.ms");
    o->heartbeat_ms = sl_conf_int(conf, "debezium.source.heartbeat.interval.ms");
    o->heartbeat_query = dup_or_null(S("heartbeat.action.query"));
    o->status_interval_ms = sl_conf_int(conf, "debezium.source.status.update.interval.ms");
    o->types.decimal_mode = sl_conf_enum(conf, "debezium.source.decimal.handling.mode");
    const char *hb = S("topic.heartbeat.prefix");
    size_t hl = strlen(hb) + strlen(o->prefix ? o->prefix : "") + 2;
    o->heartbeat_topic = malloc(hl);
    if (o->heartbeat_topic)
        snprintf(o->heartbeat_topic, hl, "%s.%s", hb, o->prefix ? o->prefix : "");
    const char *spool = sl_conf_str(conf, "sluice.postgres.spool.dir");
    if (spool)
        o->spool_dir = strdup(spool);
    else {
        const char *off = sl_conf_str(conf, "debezium.source.offset.storage.file.filename");
        size_t n = strlen(off) + 16;
        o->spool_dir = malloc(n);
        if (o->spool_dir) {
            snprintf(o->spool_dir, n, "%s", off);
            char *slash = strrchr(o->spool_dir, '/');
            if (slash)
                strcpy(slash + 1, "spool");
            else
                strcpy(o->spool_dir, "spool");
        }
    }
    char **skipped = sl_conf_list(conf, "debezium.source.skipped.operations");
    for (size_t i = 0; skipped && skipped[i]; i++) {
        o->skip_c |= !strcmp(skipped[i], "c");
        o->skip_u |= !strcmp(skipped[i], "u");
        o->skip_d |= !strcmp(skipped[i], "d");
        o->skip_t |= !strcmp(skipped[i], "t");
    }
    sl_conf_list_free(skipped);
#undef S
    if (!o->prefix || !o->dbname || !o->slot || !o->publication || !o->heartbeat_topic ||
        !o->spool_dir)
        return SL_ERR_NOMEM;
    int rc = SL_OK;
    rc = rc ? rc : sl_relist_compile_conf(&o->schema_inc, conf, "debezium.source.schema.include.list");
    rc = rc ? rc : sl_relist_compile_conf(&o->schema_exc, conf, "debezium.source.schema.exclude.list");
    rc = rc ? rc : sl_relist_compile_conf(&o->table_inc, conf, "debezium.source.table.include.list");
    rc = rc ? rc : sl_relist_compile_conf(&o->table_exc, conf, "debezium.source.table.exclude.list");
    rc = rc ? rc : sl_relist_compile_conf(&o->col_exc, conf, "debezium.source.column.exclude.list");
    rc = rc ? rc : sl_relist_compile_conf(&o->snap_inc, conf, "debezium.source.snapshot.include.collection.list");
    rc = rc ? rc : sl_relist_compile_conf(&o->msg_inc, conf, "debezium.source.message.prefix.include.list");
    rc = rc ? rc : sl_relist_compile_conf(&o->msg_exc, conf, "debezium.source.message.prefix.exclude.list");
    return rc;
}

static void opts_free(pg_opts_t *o)
{
    free(o->prefix);
    free(o->dbname);
    free(o->slot);
    free(o->publication);
    free(o->heartbeat_query);
    free(o->heartbeat_topic);
    free(o->spool_dir);
    sl_relist_t *lists[] = {&o->schema_inc, &o->schema_exc, &o->table_inc, &o->table_exc,
                                &o->col_exc,    &o->snap_inc,   &o->msg_inc,   &o->msg_exc};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        sl_relist_free(lists[i]);
}

/* --- connections ------------------------------------------------------------ */

/* The first line of `path` (without its line end) into buf. The message names the file,
 * never its content. */
static int read_password_file(const char *path, char *buf, size_t size, char *errstr,
                              size_t errstr_size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errstr_size, "sluice.postgres.password.file: cannot read '%s': %s", path,
                 strerror(errno));
        return SL_ERR_CONFIG;
    }
    if (!fgets(buf, (int)size, f))
        buf[0] = 0;
    fclose(f);
    buf[strcspn(buf, "\r\n")] = 0;
    return SL_OK;
}

PGconn *pg_connect(sl_source_t *src, bool replication, char *errstr, size_t errstr_size)
{
    const sl_conf_t *conf = src->conf;
    char port[16], timeout[16];
    snprintf(port, sizeof port, "%" PRId64, sl_conf_int(conf, "debezium.source.database.port"));
    snprintf(timeout, sizeof timeout, "%" PRId64,
             (sl_conf_int(conf, "debezium.source.connect.timeout.ms") + 999) / 1000);
    const char *keys[16], *vals[16];
    int n = 0;
    char pw[1024];
    const char *pw_file = sl_conf_str(conf, "sluice.postgres.password.file");
    if (pw_file && read_password_file(pw_file, pw, sizeof pw, errstr, errstr_size) != SL_OK)
        return NULL;
#define P(k, v) do { const char *v_ = (v); if (v_) { keys[n] = (k); vals[n] = v_; n++; } } while (0)
    P("host", sl_conf_str(conf, "debezium.source.database.hostname"));
    P("port", port);
    P("user", sl_conf_str(conf, "debezium.source.database.user"));
    P("password", pw_file ? pw : sl_conf_str(conf, "debezium.source.database.password"));
    P("dbname", sl_conf_str(conf, "debezium.source.database.dbname"));
    /* the canonical spelling: the enum is case-insensitive, libpq's sslmode is not */
    static const char *const sslmodes[] = {"disable", "allow",     "prefer",
                                           "require", "verify-ca", "verify-full"};
    int sm = sl_conf_enum(conf, "debezium.source.database.sslmode");
    P("sslmode", sm >= 0 && sm < 6 ? sslmodes[sm] : NULL);
    P("sslrootcert", sl_conf_str(conf, "debezium.source.database.sslrootcert"));
    P("sslcert", sl_conf_str(conf, "debezium.source.database.sslcert"));
    P("sslkey", sl_conf_str(conf, "debezium.source.database.sslkey"));
    P("connect_timeout", timeout);
    P("application_name", replication ? "sluice" : "sluice-meta");
    P("keepalives", sl_conf_bool(conf, "debezium.source.database.tcpKeepAlive") ? "1" : "0");
    P("options", PG_SESSION_OPTIONS);
    if (replication)
        P("replication", "database");
#undef P
    keys[n] = vals[n] = NULL;
    PGconn *c = PQconnectdbParams(keys, vals, 0);
    if (pw_file)
        explicit_bzero(pw, sizeof pw);
    if (!c) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        const char *host = sl_conf_str(conf, "debezium.source.database.hostname");
        const char *m = pg_conn_error(c);
        /* The walsender's refusal (PostgreSQL <= 15: "must be superuser or replication role
         * to start walsender"; 16+: "permission denied to start WAL sender") says what the
         * server wants, not what the user should do. */
        if (replication && (strstr(m, "replication role to start walsender") ||
                            strstr(m, "permission denied to start WAL sender"))) {
            const char *user = sl_conf_str(conf, "debezium.source.database.user");
            snprintf(errstr, errstr_size,
                     "PostgreSQL at %s:%s refused the replication connection: user %s lacks the "
                     "REPLICATION attribute (ALTER ROLE %s WITH REPLICATION)",
                     host, port, user, user);
        } else
            snprintf(errstr, errstr_size, "could not connect to PostgreSQL at %s:%s: %s", host,
                     port, m);
        PQfinish(c);
        return NULL;
    }
    if (sl_log_get_level() <= SL_LOG_DEBUG) {
        const char *proto = PQsslInUse(c) ? PQsslAttribute(c, "protocol") : NULL;
        sl_debug("pg: %s connection to %s:%s: %s%s", replication ? "replication" : "catalog",
                 sl_conf_str(conf, "debezium.source.database.hostname"), port,
                 PQsslInUse(c) ? "TLS " : "not encrypted",
                 PQsslInUse(c) ? (proto ? proto : "") : "");
    }
    if (!replication) {
        const char *init = sl_conf_str(conf, "debezium.source.database.initial.statements");
        if (init) {
            PGresult *r = PQexec(c, init);
            if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
                snprintf(errstr, errstr_size, "database.initial.statements failed: %s",
                         pg_conn_error(c));
                PQclear(r);
                PQfinish(c);
                return NULL;
            }
            PQclear(r);
        }
    }
    return c;
}

int pg_exec_ok(sl_source_t *src, PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return SL_OK;
    pg_set_error(src, "%s", pg_conn_error(c));
    return SL_ERR_SERVER;
}

/* --- emitting events -------------------------------------------------------- */

static int send_status(sl_source_t *src, bool reply_requested);

int pg_emit(sl_source_t *src, sl_event_t *ev)
{
    if (!ev) {
        pg_set_error(src, "out of memory");
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
        /* Backpressure: the pipeline is full. Keep the server happy while waiting. */
        if (src->in_copy && mono_ms() - src->last_status_ms >= 1000 && send_status(src, false) != SL_OK) {
            sl_event_unref(ev);
            return SL_ERR_CONN;
        }
    }
}

/* rel: the relation whose value schema the value carries (NULL: none, or not the
 * relation's), for the event's schema_id; with split events (src->env.split_events),
 * kb/vb hold bare payloads when rel is given (pg_change_t.split). */
static int emit_data(sl_source_t *src, const sl_pos_t *pos, char op, const char *topic,
                     size_t topic_len, bool with_key, bool with_value, const pg_rel_t *rel)
{
    if (pos->txn_lsn && pos->txn_lsn == src->txn.commit_lsn)
        src->txn.emitted_index = pos->index;
    sl_event_t *ev = sl_event_new(pos, op, topic, topic_len, with_key && src->kb.len ? src->kb.data : NULL,
                                  src->kb.len, with_value ? src->vb.data : NULL, src->vb.len);
    bool split = rel && src->env.split_events;
    if (ev && rel && rel->schema && (split || (with_value && src->o.value_schemas)))
        sl_event_set_schema(ev, rel->schema, split);
    return pg_emit(src, ev);
}

/* --- status updates --------------------------------------------------------- */

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Standby status update: flush/apply = newest position in the offset store (invariant 1). */
static int send_status(sl_source_t *src, bool reply_requested)
{
    sl_pos_t acked;
    uint64_t flush = src->sent_acked_lsn;
    if (src->env.acked(src->env.opaque, &acked) && acked.ack_lsn > flush)
        flush = acked.ack_lsn;
    uint8_t msg[34];
    msg[0] = 'r';
    uint64_t write = src->server_wal_end > flush ? src->server_wal_end : flush;
    put_u64(msg + 1, write);
    put_u64(msg + 9, flush);
    put_u64(msg + 17, flush);
    put_u64(msg + 25, (uint64_t)now_pg_us());
    msg[33] = reply_requested ? 1 : 0;
    if (PQputCopyData(src->repl, (const char *)msg, sizeof msg) <= 0 || PQflush(src->repl) != 0) {
        pg_set_error(src, "could not send a status update to the server: %s", pg_conn_error(src->repl));
        return SL_ERR_CONN;
    }
    if (flush != src->sent_acked_lsn) {
        char a[20];
        sl_debug("pg: confirmed flush %s", sl_lsn_fmt(flush, a));
    }
    src->sent_acked_lsn = flush;
    src->last_status_ms = mono_ms();
    return SL_OK;
}

/* --- decoding changes ------------------------------------------------------- */

static void txn_pos(sl_source_t *src, sl_pos_t *pos, uint64_t lsn, int sub)
{
    pos->ack_lsn = src->ack_lsn;
    pos->txn_lsn = src->txn.commit_lsn;
    pos->lsn = lsn;
    pos->index = src->txn.next_index * 4 + sub;
    pos->xid = src->txn.xid;
    pos->flags = 0;
}

static bool skip_pos(const sl_source_t *src, const sl_pos_t *pos)
{
    return src->txn.skip_until >= 0 && pos->index <= src->txn.skip_until;
}

static bool keys_equal(const pg_rel_t *rel, const sl_pgo_tuple_t *a, const sl_pgo_tuple_t *b)
{
    for (uint16_t i = 0; i < rel->nkeys; i++) {
        const sl_pgo_col_t *x = &a->cols[rel->key_idx[i]], *y = &b->cols[rel->key_idx[i]];
        if (x->kind != y->kind || x->len != y->len ||
            (x->len && memcmp(x->data, y->data, x->len) != 0))
            return false;
    }
    return true;
}

static int emit_change(sl_source_t *src, const pg_change_t *ch, uint64_t lsn, int sub)
{
    sl_pos_t pos;
    txn_pos(src, &pos, lsn, sub);
    if (skip_pos(src, &pos))
        return SL_OK;
    int rc = pg_encode_change(src, ch);
    if (rc != SL_OK)
        return rc;
    return emit_data(src, &pos, ch->op, ch->rel->topic, ch->rel->topic_len, true, true, ch->rel);
}

static int emit_tombstone(sl_source_t *src, const pg_rel_t *rel, uint64_t lsn, int sub)
{
    sl_pos_t pos;
    txn_pos(src, &pos, lsn, sub);
    if (skip_pos(src, &pos) || !src->o.tombstones || !rel->nkeys)
        return SL_OK;
    /* src->kb still holds the key of the delete just encoded */
    return emit_data(src, &pos, 0, rel->topic, rel->topic_len, true, false, rel);
}

static int handle_change(sl_source_t *src, const sl_pgo_msg_t *m, uint64_t lsn)
{
    int rc = SL_OK;
    pg_rel_t *rel;
    pg_change_t ch = {.snapshot = "false", .lsn = lsn, .xid = src->txn.xid,
                      .split = src->env.split_events,
                      .ts_us = src->txn.commit_ts_us};
    switch (m->type) {
    case 'R':
        return pg_rel_from_message(src, m, &rel);
    case 'Y':
    case 'O':
        return SL_OK;
    case 'I':
    case 'U':
    case 'D': {
        uint32_t relid = m->type == 'I' ? m->u.insert.relid
                         : m->type == 'U' ? m->u.update.relid : m->u.del.relid;
        rel = pg_rel_find(src, relid);
        if (!rel) {
            pg_set_error(src, "change for relation %u arrived before its Relation message", relid);
            return SL_ERR_PROTO;
        }
        ch.rel = rel;
        if (!rel->captured)
            break;
        if (m->type == 'I') {
            if (src->o.skip_c)
                break;
            ch.op = 'c';
            ch.after = &m->u.insert.newtup;
            rc = emit_change(src, &ch, lsn, 0);
        } else if (m->type == 'U') {
            if (src->o.skip_u)
                break;
            const sl_pgo_tuple_t *old = m->u.update.oldkind ? &m->u.update.oldtup : NULL;
            if (old && rel->nkeys && !keys_equal(rel, old, &m->u.update.newtup)) {
                /* primary key changed: Debezium emits delete (+ tombstone) then create */
                ch.op = 'd';
                ch.before = old;
                ch.key_from = 1;
                if ((rc = emit_change(src, &ch, lsn, 0)) == SL_OK &&
                    (rc = emit_tombstone(src, rel, lsn, 1)) == SL_OK) {
                    pg_change_t c2 = ch;
                    c2.op = 'c';
                    c2.before = NULL;
                    c2.after = &m->u.update.newtup;
                    c2.key_from = 0;
                    rc = emit_change(src, &c2, lsn, 2);
                }
            } else {
                ch.op = 'u';
                ch.before = m->u.update.oldkind == 'O' ? old : NULL;
                ch.after = &m->u.update.newtup;
                rc = emit_change(src, &ch, lsn, 0);
            }
        } else {
            if (src->o.skip_d)
                break;
            ch.op = 'd';
            ch.before = &m->u.del.oldtup;
            ch.key_from = 1;
            if ((rc = emit_change(src, &ch, lsn, 0)) == SL_OK)
                rc = emit_tombstone(src, rel, lsn, 1);
        }
        break;
    }
    case 'T':
        for (uint32_t i = 0; i < m->u.truncate.nrels && rc == SL_OK; i++) {
            rel = pg_rel_find(src, m->u.truncate.relids[i]);
            if (!rel || !rel->captured || src->o.skip_t)
                continue;
            sl_pos_t pos;
            txn_pos(src, &pos, lsn, 0);
            pos.index = src->txn.next_index * 4; /* one message, several relations */
            src->txn.next_index++;
            if (skip_pos(src, &pos))
                continue;
            rc = pg_encode_truncate(src, rel, lsn, src->txn.xid, src->txn.commit_ts_us,
                                    src->env.split_events);
            if (rc == SL_OK)
                rc = emit_data(src, &pos, 't', rel->topic, rel->topic_len, false, true, rel);
        }
        return rc;
    case 'M': {
        bool transactional = m->u.message.flags & 1;
        const char *prefix = m->u.message.prefix;
        bool wanted = (!src->o.msg_inc.n || sl_relist_match(&src->o.msg_inc, prefix)) &&
                      !(src->o.msg_exc.n && sl_relist_match(&src->o.msg_exc, prefix));
        sl_pos_t pos;
        if (transactional) {
            txn_pos(src, &pos, lsn, 0);
            src->txn.next_index++;
            if (!wanted || skip_pos(src, &pos))
                return SL_OK;
        } else {
            if (!wanted)
                return SL_OK;
            memset(&pos, 0, sizeof pos);
            pos.ack_lsn = src->ack_lsn;
            pos.lsn = lsn;
            pos.index = -1;
        }
        int64_t ts = transactional ? src->txn.commit_ts_us : now_pg_us() + PG_EPOCH_OFFSET_US;
        rc = pg_encode_message(src, m, m->u.message.lsn ? m->u.message.lsn : lsn,
                               transactional ? src->txn.xid : 0, ts);
        if (rc == SL_OK) {
            char topic[512];
            int tl = snprintf(topic, sizeof topic, "%s.message", src->o.prefix);
            rc = emit_data(src, &pos, 'm', topic, (size_t)tl, true, true, NULL);
        }
        return rc;
    }
    default:
        pg_set_error(src, "unexpected pgoutput message '%c'", m->type);
        return SL_ERR_PROTO;
    }
    src->txn.next_index++;
    return rc;
}

static void txn_begin(sl_source_t *src, uint32_t xid, uint64_t commit_lsn, int64_t commit_ts_pg)
{
    src->txn.active = true;
    src->txn.xid = xid;
    src->txn.commit_lsn = commit_lsn;
    src->txn.commit_ts_us = commit_ts_pg + PG_EPOCH_OFFSET_US;
    src->txn.next_index = 0;
    src->txn.skip_until = -1;
    src->txn.emitted_index = -1;
    if (src->have_stored && src->stored_index >= 0 && commit_lsn == src->stored_txn_lsn) {
        src->txn.skip_until = src->stored_index;
        char a[20];
        sl_info("pg: resuming inside transaction %s after event %" PRId64,
                sl_lsn_fmt(commit_lsn, a), src->stored_index);
    }
}

static int txn_commit(sl_source_t *src, uint64_t commit_lsn, uint64_t end_lsn)
{
    sl_pos_t pos = {.ack_lsn = end_lsn, .txn_lsn = commit_lsn, .lsn = commit_lsn,
                    .index = src->txn.next_index * 4, .xid = src->txn.xid,
                    .flags = SL_POS_TXN_END};
    src->txn.active = false;
    src->ack_lsn = end_lsn;
    src->last_commit_lsn = commit_lsn;
    return pg_emit(src, sl_event_new_marker(&pos));
}

/* Replays one spooled message of a committed streamed transaction. */
static int replay_one(void *ud, uint64_t lsn, const uint8_t *msg, size_t len)
{
    sl_source_t *src = ud;
    if (!src->plain_dec && !(src->plain_dec = sl_pgoutput_new()))
        return SL_ERR_NOMEM;
    sl_pgo_msg_t m;
    int rc = sl_pgoutput_decode(src->plain_dec, msg, len, &m);
    if (rc != SL_OK) {
        pg_set_error(src, "malformed spooled message");
        return rc;
    }
    return handle_change(src, &m, lsn);
}

/* Spools a message of a streamed block without its xid, so that replay can decode it as a
 * plain (non-streamed) message. */
static int spool_message(sl_source_t *src, const sl_pgo_msg_t *m, const uint8_t *buf, size_t len,
                         uint64_t lsn, uint32_t top_xid)
{
    uint8_t small[4096];
    uint8_t *copy = len <= sizeof small ? small : malloc(len);
    if (!copy)
        return SL_ERR_NOMEM;
    size_t n = len;
    if (m->xid && len >= 5) {
        copy[0] = buf[0];
        memcpy(copy + 1, buf + 5, len - 5);
        n = len - 4;
    } else
        memcpy(copy, buf, len);
    int rc = pg_spool_append(src->spool, top_xid, m->xid ? m->xid : top_xid, lsn, copy, n);
    if (copy != small)
        free(copy);
    if (rc != SL_OK)
        pg_set_error(src, "could not spool a streamed transaction to \"%s\": %s",
                     src->o.spool_dir, sl_err_str(rc));
    return rc;
}

static int handle_xlogdata(sl_source_t *src, const uint8_t *buf, size_t len, uint64_t lsn)
{
    sl_pgo_msg_t m;
    int rc = sl_pgoutput_decode(src->dec, buf, len, &m);
    if (rc != SL_OK) {
        pg_set_error(src, "malformed pgoutput message at %X/%X (type 0x%02x, %zu bytes)",
                     (unsigned)(lsn >> 32), (unsigned)lsn, len ? buf[0] : 0, len);
        return rc;
    }
    switch (m.type) {
    case 'B':
        txn_begin(src, m.u.begin.xid, m.u.begin.final_lsn, m.u.begin.commit_ts);
        return SL_OK;
    case 'C':
        return txn_commit(src, m.u.commit.commit_lsn, m.u.commit.end_lsn);
    case 'S':
        src->stream_xid = m.u.stream_start.xid;
        return SL_OK;
    case 'E':
        src->stream_xid = 0;
        return SL_OK;
    case 'A':
        return pg_spool_abort(src->spool, m.u.stream_abort.xid, m.u.stream_abort.subxid);
    case 'c':
        txn_begin(src, m.u.stream_commit.xid, m.u.stream_commit.commit_lsn,
                  m.u.stream_commit.commit_ts);
        rc = pg_spool_replay(src->spool, m.u.stream_commit.xid, replay_one, src);
        if (rc != SL_OK)
            return rc;
        return txn_commit(src, m.u.stream_commit.commit_lsn, m.u.stream_commit.end_lsn);
    default:
        if (src->stream_xid && m.type != 'O' && !(m.type == 'M' && !(m.u.message.flags & 1)))
            return spool_message(src, &m, buf, len, lsn, src->stream_xid);
        return handle_change(src, &m, lsn);
    }
}

/* --- heartbeats ------------------------------------------------------------- */

static int emit_heartbeat(sl_source_t *src)
{
    if (src->o.heartbeat_query) {
        if (pg_exec_ok(src, src->meta, src->o.heartbeat_query) != SL_OK)
            sl_warn("pg: heartbeat.action.query failed: %s", src->err);
    }
    if (src->server_wal_end > src->ack_lsn)
        src->ack_lsn = src->server_wal_end;
    sl_pos_t pos = {.ack_lsn = src->ack_lsn, .index = -1, .flags = SL_POS_HEARTBEAT};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int rc = pg_encode_heartbeat(src, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    if (rc != SL_OK)
        return rc;
    return emit_data(src, &pos, 0, src->o.heartbeat_topic, strlen(src->o.heartbeat_topic), true,
                     true, NULL);
}

/* --- the streaming loop ----------------------------------------------------- */

/* Waits up to timeout_ms for the replication socket to become readable and reads what
 * arrived into libpq's buffer. SL_ERR_CONN when the connection is gone. */
static int wait_input(sl_source_t *src, int timeout_ms)
{
    /* PQsocket is -1 once libpq has dropped a broken connection (a reset peer): that is a
     * lost connection, never an fd to wait on. poll, not select: no FD_SETSIZE limit. */
    struct pollfd p = {.fd = PQsocket(src->repl), .events = POLLIN};
    if (p.fd < 0) {
        pg_set_error(src, "replication connection lost: %s", pg_conn_error(src->repl));
        return SL_ERR_CONN;
    }
    if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR) {
        pg_set_error(src, "poll failed: %s", strerror(errno));
        return SL_ERR_CONN;
    }
    if (!PQconsumeInput(src->repl)) {
        pg_set_error(src, "replication connection lost: %s", pg_conn_error(src->repl));
        return SL_ERR_CONN;
    }
    return SL_OK;
}

#define SLOT_HEALTH_INTERVAL_MS 60000

/* Reports the slot's lag and WAL retention once a minute; warns while the server may
 * remove WAL the slot still needs (wal_status "unreserved") and stops once it has
 * (wal_status "lost": the slot can never deliver the missing changes). */
static int check_slot_health(sl_source_t *src)
{
    const char *params[1] = {src->o.slot};
    PGresult *r = PQexecParams(
        src->meta,
        "SELECT coalesce(wal_status, ''), pg_current_wal_lsn() - confirmed_flush_lsn, "
        "safe_wal_size FROM pg_replication_slots WHERE slot_name = $1",
        1, NULL, params, NULL, NULL, 0);
    int rc = SL_OK;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        const char *status = PQgetvalue(r, 0, 0);
        double lag_mib = strtod(PQgetvalue(r, 0, 1), NULL) / 1048576.0;
        bool limited = !PQgetisnull(r, 0, 2);
        double safe_mib = limited ? strtod(PQgetvalue(r, 0, 2), NULL) / 1048576.0 : 0;
        if (!strcmp(status, "lost")) {
            pg_set_error(src, "replication slot \"%s\" was invalidated by the server "
                              "(wal_status=lost, max_slot_wal_keep_size exceeded): changes were "
                              "lost; take a new snapshot (snapshot.mode=when_needed)",
                         src->o.slot);
            rc = SL_ERR_POSITION;
        } else if (!strcmp(status, "unreserved") || (limited && safe_mib < 64.0)) {
            sl_warn("pg: slot \"%s\" lags %.1f MiB and the server may soon remove WAL it needs "
                    "(wal_status=%s, safe_wal_size %.1f MiB; raise max_slot_wal_keep_size or "
                    "speed up the sink)", src->o.slot, lag_mib, status, safe_mib);
        } else {
            sl_info("pg: slot \"%s\" lag %.1f MiB, wal_status %s%s", src->o.slot, lag_mib,
                    status[0] ? status : "n/a", limited ? "" : ", no max_slot_wal_keep_size");
        }
    } else if (PQstatus(src->meta) != CONNECTION_OK) {
        pg_set_error(src, "metadata connection lost: %s", pg_conn_error(src->meta));
        rc = SL_ERR_CONN;
    }
    PQclear(r);
    return rc;
}

/* One CopyData message of the replication stream: keepalive or XLogData. */
static int handle_message(sl_source_t *src, const uint8_t *p, int n, int64_t *last_activity,
                          int64_t *hb_requested)
{
    int rc = SL_OK;
    if (p[0] == 'k' && n >= 18) {
        uint64_t wal_end = get_u64(p + 1);
        if (wal_end > src->server_wal_end)
            src->server_wal_end = wal_end;
        bool reply = p[17] != 0;
        if (*hb_requested && !src->txn.active && !src->stream_xid) {
            rc = emit_heartbeat(src);
            *last_activity = mono_ms();
            *hb_requested = 0;
        }
        if (rc == SL_OK && reply)
            rc = send_status(src, false);
    } else if (p[0] == 'w' && n >= 25) {
        uint64_t data_start = get_u64(p + 1);
        uint64_t wal_end = get_u64(p + 9);
        if (wal_end > src->server_wal_end)
            src->server_wal_end = wal_end;
        rc = handle_xlogdata(src, p + 25, (size_t)n - 25, data_start);
        src->activity = true;
    } else {
        pg_set_error(src, "unexpected replication message 0x%02x (%d bytes)", p[0], n);
        rc = SL_ERR_PROTO;
    }
    return rc;
}

static int stream(sl_source_t *src, uint64_t start_lsn)
{
    char sql[1024], a[20];
    bool v2 = src->o.streaming && src->server_version >= 140000;
    char *pub = PQescapeIdentifier(src->meta, src->o.publication, strlen(src->o.publication));
    char *slot = PQescapeIdentifier(src->meta, src->o.slot, strlen(src->o.slot));
    if (!pub || !slot) {
        PQfreemem(pub);
        PQfreemem(slot);
        return SL_ERR_NOMEM;
    }
    /* publication_names is a list of identifiers inside a string literal */
    char *publit = PQescapeLiteral(src->meta, pub, strlen(pub));
    snprintf(sql, sizeof sql,
             "START_REPLICATION SLOT %s LOGICAL %s (proto_version '%d', publication_names %s, "
             "messages 'true'%s)",
             slot, sl_lsn_fmt(start_lsn, a), v2 ? 2 : 1, publit ? publit : "''",
             v2 ? ", streaming 'on'" : "");
    PQfreemem(pub);
    PQfreemem(slot);
    PQfreemem(publit);
    if (v2) {
        char e[512];
        int rc = pg_spool_open(&src->spool, src->o.spool_dir, e, sizeof e);
        if (rc != SL_OK) {
            pg_set_error(src, "%s", e);
            return rc;
        }
    }
    PGresult *res = PQexec(src->repl, sql);
    if (PQresultStatus(res) != PGRES_COPY_BOTH) {
        pg_set_error(src, "could not start replication from slot \"%s\": %s", src->o.slot,
                     pg_conn_error(src->repl));
        PQclear(res);
        return SL_ERR_SERVER;
    }
    PQclear(res);
    src->in_copy = true;
    if (src->streaming_started)
        sl_info("pg: reconnected");
    src->streaming_started = true;
    src->copy_started = true;
    sl_info("pg: streaming from slot \"%s\" at %s (pgoutput protocol v%d%s)", src->o.slot,
            sl_lsn_fmt(start_lsn, a), v2 ? 2 : 1, v2 ? ", in-progress transactions streamed" : "");
    src->sent_acked_lsn = start_lsn;
    int64_t last_activity = mono_ms();
    int64_t hb_requested = 0;
    int rc = SL_OK;
    src->last_status_ms = mono_ms();

    unsigned since_housekeeping = 0;
    bool tried_read = false;
    int64_t last_health = mono_ms();
    while (!atomic_load(&src->stop)) {
        /* Fast path. Status updates and heartbeats need the clock and a lock: look at them
         * every 64 messages and whenever the socket runs dry, not for every message. When
         * libpq's buffer is empty, first try a non-blocking read: on a busy stream the
         * kernel already holds more bytes, and poll() would be a wasted system call. */
        if (++since_housekeeping < 64) {
            char *buf = NULL;
            int n = PQgetCopyData(src->repl, &buf, 1);
            if (n > 0) {
                tried_read = false;
                rc = handle_message(src, (const uint8_t *)buf, n, &last_activity, &hb_requested);
                PQfreemem(buf);
                if (rc != SL_OK)
                    break;
                continue;
            }
            if (n == 0 && !tried_read) {
                tried_read = true;
                if (PQconsumeInput(src->repl))
                    continue;
            }
            /* dry, ended or failed: the slow path below waits or reports */
        }
        since_housekeeping = 0;
        tried_read = false;
        int64_t t = mono_ms();
        if (src->activity) { /* XLogData arrived since the last look */
            last_activity = t;
            src->activity = false;
        }
        sl_pos_t acked;
        bool moved = src->env.acked(src->env.opaque, &acked) && acked.ack_lsn > src->sent_acked_lsn;
        if (moved || t - src->last_status_ms >= src->o.status_interval_ms) {
            if ((rc = send_status(src, false)) != SL_OK)
                break;
        }
        if (t - last_health >= SLOT_HEALTH_INTERVAL_MS) {
            last_health = t;
            if ((rc = check_slot_health(src)) != SL_OK)
                break;
        }
        if (src->o.heartbeat_ms > 0 && !src->txn.active && !src->stream_xid &&
            t - last_activity >= src->o.heartbeat_ms) {
            /* ask for a keepalive so server_wal_end is fresh, then emit on its arrival */
            if (!hb_requested) {
                if ((rc = send_status(src, true)) != SL_OK)
                    break;
                hb_requested = t;
            } else if (t - hb_requested > 5000) { /* no keepalive came back: emit anyway */
                if ((rc = emit_heartbeat(src)) != SL_OK)
                    break;
                last_activity = t;
                hb_requested = 0;
            }
        }

        char *buf = NULL;
        int n = PQgetCopyData(src->repl, &buf, 1);
        if (n == 0) {
            if ((rc = wait_input(src, 100)) != SL_OK)
                break;
            continue;
        }
        if (n == -1) {
            res = PQgetResult(src->repl);
            pg_set_error(src, "replication stream ended by the server: %s",
                         res && PQresultStatus(res) != PGRES_COMMAND_OK ? pg_conn_error(src->repl)
                                                                        : "no error");
            PQclear(res);
            rc = SL_ERR_CONN;
            break;
        }
        if (n < 0) {
            pg_set_error(src, "replication connection lost: %s", pg_conn_error(src->repl));
            rc = SL_ERR_CONN;
            break;
        }
        rc = handle_message(src, (const uint8_t *)buf, n, &last_activity, &hb_requested);
        PQfreemem(buf);
        if (rc != SL_OK)
            break;
    }
    return rc == SL_ERR_STOPPED ? SL_OK : rc;
}

/* --- slot and offset reconciliation ----------------------------------------- */

static int parse_stored(sl_source_t *src)
{
    if (!src->env.stored_offset)
        return SL_OK;
    pg_offset_t off;
    char e[512];
    int rc = pg_offset_parse(src->env.stored_offset, &off, e, sizeof e);
    if (rc != SL_OK) {
        pg_set_error(src, "%s", e);
        return rc;
    }
    src->have_stored = true;
    snprintf(src->system_id, sizeof src->system_id, "%s", off.system_id);
    src->stored_ack_lsn = off.ack_lsn;
    src->stored_txn_lsn = off.txn_lsn;
    src->stored_index = off.index;
    src->stored_snapshot_done = off.snapshot_done;
    return SL_OK;
}

static int identify(sl_source_t *src)
{
    PGresult *r = PQexec(src->repl, "IDENTIFY_SYSTEM");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQnfields(r) < 3) {
        pg_set_error(src, "IDENTIFY_SYSTEM failed: %s", pg_conn_error(src->repl));
        PQclear(r);
        return SL_ERR_SERVER;
    }
    const char *sysid = PQgetvalue(r, 0, 0);
    if (src->have_stored && src->system_id[0] && strcmp(src->system_id, sysid) != 0 &&
        src->o.snapshot_mode != SNAP_WHEN_NEEDED) {
        pg_set_error(src,
                     "the stored offsets belong to another PostgreSQL cluster (system id %s, "
                     "server has %s); refusing to resume (remove the offsets file to start over, "
                     "or use snapshot.mode=when_needed)",
                     src->system_id, sysid);
        PQclear(r);
        return SL_ERR_POSITION;
    }
    if (src->have_stored && src->system_id[0] && strcmp(src->system_id, sysid) != 0)
        src->have_stored = false; /* when_needed: the stored offsets are unusable */
    snprintf(src->system_id, sizeof src->system_id, "%s", sysid);
    src->timeline = (uint32_t)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    return SL_OK;
}

static int check_server(sl_source_t *src)
{
    src->server_version = PQserverVersion(src->meta);
    if (src->server_version < 100000) {
        pg_set_error(src, "PostgreSQL %d is too old: pgoutput needs PostgreSQL 10 or newer",
                     src->server_version / 10000);
        return SL_ERR_UNSUPPORTED;
    }
    PGresult *r = PQexec(src->meta, "SHOW wal_level");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "logical") != 0) {
        pg_set_error(src, "wal_level is \"%s\" on the server; logical decoding needs "
                          "wal_level=logical (set it in postgresql.conf and restart PostgreSQL)",
                     PQgetvalue(r, 0, 0));
        PQclear(r);
        return SL_ERR_SERVER;
    }
    PQclear(r);
    return SL_OK;
}

/* Comma-separated quoted list of the captured tables, for CREATE/ALTER PUBLICATION. */
static int captured_tables_sql(sl_source_t *src, sl_buf_t *out, int *count)
{
    PGresult *r = PQexec(src->meta,
                         "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON "
                         "n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND NOT "
                         "c.relispartition AND n.nspname NOT IN ('pg_catalog','information_schema') "
                         "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' "
                         "ORDER BY 1, 2");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_set_error(src, "could not list tables: %s", pg_conn_error(src->meta));
        PQclear(r);
        return SL_ERR_SERVER;
    }
    *count = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *nsp = PQgetvalue(r, i, 0), *rel = PQgetvalue(r, i, 1);
        if (!pg_table_captured(&src->o, nsp, rel))
            continue;
        char *qn = PQescapeIdentifier(src->meta, nsp, strlen(nsp));
        char *qr = PQescapeIdentifier(src->meta, rel, strlen(rel));
        if (qn && qr)
            sl_buf_printf(out, "%s%s.%s", (*count)++ ? ", " : "", qn, qr);
        PQfreemem(qn);
        PQfreemem(qr);
    }
    PQclear(r);
    return sl_buf_ok(out) ? SL_OK : SL_ERR_NOMEM;
}

static int ensure_publication(sl_source_t *src)
{
    const char *params[1] = {src->o.publication};
    PGresult *r = PQexecParams(src->meta, "SELECT puballtables FROM pg_publication WHERE pubname = $1",
                               1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_set_error(src, "could not read pg_publication: %s", pg_conn_error(src->meta));
        PQclear(r);
        return SL_ERR_SERVER;
    }
    bool exists = PQntuples(r) == 1;
    PQclear(r);
    if (exists && src->o.pub_mode != 2)
        return SL_OK;
    if (!exists && src->o.pub_mode == 1) {
        pg_set_error(src, "publication \"%s\" does not exist and publication.autocreate.mode is "
                          "disabled (create it, e.g. CREATE PUBLICATION %s FOR ALL TABLES)",
                     src->o.publication, src->o.publication);
        return SL_ERR_SERVER;
    }
    char *pub = PQescapeIdentifier(src->meta, src->o.publication, strlen(src->o.publication));
    if (!pub)
        return SL_ERR_NOMEM;
    sl_buf_t sql = SL_BUF_INIT;
    int rc = SL_OK;
    if (src->o.pub_mode == 0) {
        sl_buf_printf(&sql, "CREATE PUBLICATION %s FOR ALL TABLES", pub);
    } else {
        sl_buf_t tables = SL_BUF_INIT;
        int count = 0;
        rc = captured_tables_sql(src, &tables, &count);
        if (rc == SL_OK && count == 0) {
            pg_set_error(src, "publication.autocreate.mode=filtered but no table matches the "
                              "include/exclude lists");
            rc = SL_ERR_CONFIG;
        }
        if (rc == SL_OK)
            sl_buf_printf(&sql, "%s PUBLICATION %s %s TABLE %s", exists ? "ALTER" : "CREATE", pub,
                          exists ? "SET" : "FOR", tables.data);
        sl_buf_free(&tables);
    }
    PQfreemem(pub);
    if (rc == SL_OK) {
        rc = pg_exec_ok(src, src->meta, sql.data);
        if (rc != SL_OK) {
            char e[sizeof src->err];
            snprintf(e, sizeof e, "%s", src->err);
            pg_set_error(src,
                         "could not %s publication \"%s\": %s (%s it beforehand as a "
                         "superuser or the tables' owner and set "
                         "publication.autocreate.mode=disabled)",
                         exists ? "update" : "create", src->o.publication, e,
                         exists ? "update" : "create");
        } else
            sl_info("pg: %s publication \"%s\"", exists ? "updated" : "created", src->o.publication);
    }
    sl_buf_free(&sql);
    return rc;
}

typedef struct slot_info {
    bool exists;
    char plugin[64];
    char database[128];
    bool active;
    uint64_t confirmed_flush;
    char wal_status[32];
} slot_info_t;

static int read_slot(sl_source_t *src, slot_info_t *si)
{
    memset(si, 0, sizeof *si);
    const char *params[1] = {src->o.slot};
    PGresult *r = PQexecParams(
        src->meta,
        "SELECT plugin, database, active, coalesce(confirmed_flush_lsn::text, '0/0'), "
        "coalesce(wal_status, '') FROM pg_replication_slots WHERE slot_name = $1",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        /* wal_status exists from PostgreSQL 13 on */
        PQclear(r);
        r = PQexecParams(src->meta,
                         "SELECT plugin, database, active, coalesce(confirmed_flush_lsn::text, "
                         "'0/0'), '' FROM pg_replication_slots WHERE slot_name = $1",
                         1, NULL, params, NULL, NULL, 0);
    }
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_set_error(src, "could not read pg_replication_slots: %s", pg_conn_error(src->meta));
        PQclear(r);
        return SL_ERR_SERVER;
    }
    if (PQntuples(r) == 1) {
        si->exists = true;
        snprintf(si->plugin, sizeof si->plugin, "%s", PQgetvalue(r, 0, 0));
        snprintf(si->database, sizeof si->database, "%s", PQgetvalue(r, 0, 1));
        si->active = PQgetvalue(r, 0, 2)[0] == 't';
        sl_lsn_parse(PQgetvalue(r, 0, 3), &si->confirmed_flush);
        snprintf(si->wal_status, sizeof si->wal_status, "%s", PQgetvalue(r, 0, 4));
    }
    PQclear(r);
    return SL_OK;
}

static int drop_slot(sl_source_t *src)
{
    char *slot = PQescapeIdentifier(src->meta, src->o.slot, strlen(src->o.slot));
    if (!slot)
        return SL_ERR_NOMEM;
    char sql[512];
    snprintf(sql, sizeof sql, "DROP_REPLICATION_SLOT %s", slot);
    PQfreemem(slot);
    int rc = pg_exec_ok(src, src->repl, sql);
    if (rc != SL_OK)
        pg_set_error(src, "could not drop replication slot \"%s\": %s", src->o.slot, pg_conn_error(src->repl));
    return rc;
}

/* Creates the slot; with `export` the result carries a snapshot name valid while the
 * replication connection stays idle. */
static int create_slot(sl_source_t *src, bool export, uint64_t *consistent, char *snap,
                       size_t snap_size)
{
    char *slot = PQescapeIdentifier(src->meta, src->o.slot, strlen(src->o.slot));
    if (!slot)
        return SL_ERR_NOMEM;
    char sql[512];
    snprintf(sql, sizeof sql, "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput %s", slot,
             export ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT");
    PQfreemem(slot);
    PGresult *r = PQexec(src->repl, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        pg_set_error(src, "could not create replication slot \"%s\": %s", src->o.slot,
                     pg_conn_error(src->repl));
        PQclear(r);
        return SL_ERR_SERVER;
    }
    sl_lsn_parse(PQgetvalue(r, 0, 1), consistent);
    snprintf(snap, snap_size, "%s", PQgetisnull(r, 0, 2) ? "" : PQgetvalue(r, 0, 2));
    PQclear(r);
    char a[20];
    sl_info("pg: created replication slot \"%s\" at %s", src->o.slot, sl_lsn_fmt(*consistent, a));
    return SL_OK;
}

/* The snapshot reads every captured table; a table the user may not read would fail it
 * half-way, after the slot was created. Check first and name the table and the grant. */
static int check_snapshot_privileges(sl_source_t *src)
{
    PGresult *r =
        PQexec(src->meta, "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON "
                          "n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN "
                          "('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
                          "AND n.nspname NOT LIKE 'pg_temp%' AND NOT has_table_privilege(c.oid, "
                          "'SELECT') ORDER BY 1, 2");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_set_error(src, "could not check table privileges: %s", pg_conn_error(src->meta));
        PQclear(r);
        return SL_ERR_SERVER;
    }
    sl_buf_t list = SL_BUF_INIT;
    int missing = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *nsp = PQgetvalue(r, i, 0), *rel = PQgetvalue(r, i, 1);
        char full[512];
        snprintf(full, sizeof full, "%s.%s", nsp, rel);
        if (!pg_table_captured(&src->o, nsp, rel) ||
            (src->o.snap_inc.n && !sl_relist_match(&src->o.snap_inc, full)))
            continue;
        sl_buf_printf(&list, "%s%s", missing++ ? ", " : "", full);
    }
    PQclear(r);
    int rc = SL_OK;
    if (missing) {
        const char *user = sl_conf_str(src->conf, "debezium.source.database.user");
        pg_set_error(src,
                     "user %s has no SELECT privilege on %s %s, which the snapshot reads "
                     "(GRANT SELECT ON %s TO %s)",
                     user, missing == 1 ? "table" : "tables", sl_buf_ok(&list) ? list.data : "?",
                     sl_buf_ok(&list) ? list.data : "?", user);
        rc = SL_ERR_SERVER;
    }
    sl_buf_free(&list);
    return rc;
}

static int reconcile_and_run(sl_source_t *src)
{
    int rc;
    char a[20], b[20];
    slot_info_t si;
    if ((rc = read_slot(src, &si)) != SL_OK)
        return rc;
    /* At start, a slot still in use is usually the walsender of a sluice that was killed,
     * which the server has not noticed yet: try again, as Debezium does (slot.max.retries
     * times, slot.retry.delay.ms apart). Once streaming, the reconnect loop retries. */
    for (int64_t n = 0; si.exists && si.active && !src->streaming_started &&
                        n < src->o.slot_max_retries && !atomic_load(&src->stop);
         n++) {
        sl_warn("pg: replication slot \"%s\" is in use by another connection; trying again in "
                "%lld ms (%lld of %lld)",
                src->o.slot, (long long)src->o.slot_retry_delay_ms, (long long)n + 1,
                (long long)src->o.slot_max_retries);
        for (int64_t t = 0; t < src->o.slot_retry_delay_ms && !atomic_load(&src->stop); t += 50)
            usleep(50000);
        if ((rc = read_slot(src, &si)) != SL_OK)
            return rc;
    }
    if (atomic_load(&src->stop))
        return SL_ERR_STOPPED; /* asked to stop while waiting: a clean stop */
    if (si.exists) {
        if (strcmp(si.plugin, "pgoutput") != 0) {
            pg_set_error(src, "replication slot \"%s\" uses plugin \"%s\"; sluice needs pgoutput "
                              "(drop the slot or set slot.name to another name)",
                         src->o.slot, si.plugin);
            return SL_ERR_CONFIG;
        }
        if (strcmp(si.database, src->o.dbname) != 0) {
            pg_set_error(src, "replication slot \"%s\" belongs to database \"%s\", not \"%s\"",
                         src->o.slot, si.database, src->o.dbname);
            return SL_ERR_CONFIG;
        }
        if (si.active) {
            pg_set_error(src, "replication slot \"%s\" is in use by another connection",
                         src->o.slot);
            /* after a lost connection the server may not have noticed yet: retry */
            return src->streaming_started ? SL_ERR_CONN : SL_ERR_SERVER;
        }
    }
    int mode = src->o.snapshot_mode;
    bool stored_stream = src->have_stored && src->stored_snapshot_done;
    bool lost = false;
    const char *why = NULL;
    if (stored_stream && !si.exists) {
        lost = true;
        why = "the replication slot does not exist (dropped, or never created on this server)";
    } else if (stored_stream && !strcmp(si.wal_status, "lost")) {
        lost = true;
        why = "the replication slot was invalidated (wal_status=lost: max_slot_wal_keep_size "
              "was exceeded)";
    } else if (stored_stream && si.confirmed_flush > src->stored_ack_lsn) {
        lost = true;
        why = "the replication slot is ahead of the stored offset (it was recreated or consumed "
              "by another client)";
    }
    bool need_snapshot;
    switch (mode) {
    case SNAP_ALWAYS: need_snapshot = true; break;
    case SNAP_NEVER:
    case SNAP_NO_DATA: need_snapshot = false; break;
    case SNAP_WHEN_NEEDED: need_snapshot = !stored_stream || lost; break;
    default: need_snapshot = !src->have_stored || !src->stored_snapshot_done; break;
    }
    if (lost && mode != SNAP_WHEN_NEEDED && mode != SNAP_ALWAYS) {
        pg_set_error(src,
                     "cannot resume from the stored offset %s: %s; changes after it may be lost. "
                     "sluice will not silently start from the current position (take a new "
                     "snapshot with snapshot.mode=when_needed, or remove the offsets file)",
                     sl_lsn_fmt(src->stored_ack_lsn, a), why);
        return SL_ERR_POSITION;
    }
    if (lost)
        sl_warn("pg: %s; taking a new snapshot (snapshot.mode=%s)", why,
                mode == SNAP_ALWAYS ? "always" : "when_needed");

    uint64_t start = 0;
    if (need_snapshot) {
        if ((rc = check_snapshot_privileges(src)) != SL_OK)
            return rc;
        if (si.exists) {
            sl_warn("pg: recreating replication slot \"%s\" to take a consistent snapshot",
                    src->o.slot);
            if ((rc = drop_slot(src)) != SL_OK)
                return rc;
        }
        char snap[128];
        if ((rc = create_slot(src, true, &start, snap, sizeof snap)) != SL_OK)
            return rc;
        src->have_stored = false;
        if ((rc = pg_snapshot_run(src, snap, start)) != SL_OK)
            return rc;
        if (mode == SNAP_INITIAL_ONLY) {
            sl_info("pg: snapshot complete; snapshot.mode=initial_only, not streaming");
            return SL_OK;
        }
    } else if (!si.exists) {
        char snap[128];
        if ((rc = create_slot(src, false, &start, snap, sizeof snap)) != SL_OK)
            return rc;
        src->ack_lsn = start;
    } else if (stored_stream) {
        start = src->stored_ack_lsn;
        src->ack_lsn = start;
        sl_info("pg: resuming from stored offset %s (slot confirmed %s)", sl_lsn_fmt(start, a),
                sl_lsn_fmt(si.confirmed_flush, b));
    } else {
        start = si.confirmed_flush;
        src->ack_lsn = start;
    }
    if (mode == SNAP_INITIAL_ONLY && !need_snapshot) {
        sl_info("pg: snapshot.mode=initial_only and the snapshot is already complete; nothing to do");
        return SL_OK;
    }
    return stream(src, start);
}

/* Reports, once at start, every captured table whose UPDATE/DELETE events will lack a
 * complete before-image or will not be replicated at all. */
static void warn_replica_identities(sl_source_t *src)
{
    PGresult *r = PQexec(src->meta,
                         "SELECT n.nspname, c.relname, c.relreplident, EXISTS (SELECT 1 FROM "
                         "pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) FROM pg_class c "
                         "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') "
                         "AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname "
                         "NOT LIKE 'pg_toast%' ORDER BY 1, 2");
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
        const char *nsp = PQgetvalue(r, i, 0), *rel = PQgetvalue(r, i, 1);
        char ri = PQgetvalue(r, i, 2)[0];
        bool pk = PQgetvalue(r, i, 3)[0] == 't';
        if (!pg_table_captured(&src->o, nsp, rel))
            continue;
        if (ri == 'n')
            sl_warn("table %s.%s has REPLICA IDENTITY NOTHING: updates and deletes carry no "
                    "before-image (ALTER TABLE %s.%s REPLICA IDENTITY DEFAULT or FULL)",
                    nsp, rel, nsp, rel);
        else if (ri == 'd' && !pk)
            sl_warn("table %s.%s has no primary key and REPLICA IDENTITY DEFAULT: the server "
                    "refuses its updates and deletes (add a primary key or ALTER TABLE %s.%s "
                    "REPLICA IDENTITY FULL)", nsp, rel, nsp, rel);
        else if (ri == 'd' || ri == 'i')
            sl_debug("table %s.%s: before-images of updates hold only the key columns (REPLICA "
                     "IDENTITY FULL gives whole rows)", nsp, rel);
    }
    PQclear(r);
}

/* --- vtable ----------------------------------------------------------------- */

/* True when libpq would find a root certificate without sslrootcert: PGSSLROOTCERT, or
 * ~/.postgresql/root.crt (libpq looks in $HOME, else the password database's home). */
static bool default_root_cert_exists(void)
{
    const char *env = getenv("PGSSLROOTCERT");
    if (env && env[0])
        return true;
    const char *homes[2] = {getenv("HOME"), NULL};
    struct passwd *pw = getpwuid(geteuid());
    if (pw)
        homes[1] = pw->pw_dir;
    for (int i = 0; i < 2; i++) {
        char path[4096];
        if (!homes[i] || !homes[i][0])
            continue;
        snprintf(path, sizeof path, "%s/.postgresql/root.crt", homes[i]);
        if (access(path, R_OK) == 0)
            return true;
    }
    return false;
}

/* TLS options that contradict each other or cannot work are configuration errors (exit 2)
 * rather than a connection failure later: the fix is in the file, not on the server. */
static int validate_tls(const sl_conf_t *conf, char *errstr, size_t errstr_size)
{
#define TK(x) "debezium.source.database." x
    static const char *const files[] = {TK("sslrootcert"), TK("sslcert"), TK("sslkey")};
    const char *mode_key = TK("sslmode");
    const char *mode = sl_conf_str(conf, mode_key);
    int m = sl_conf_enum(conf, mode_key); /* disable|allow|prefer|require|verify-ca|verify-full */
    for (size_t i = 0; i < 3; i++) {
        if (!sl_conf_is_set(conf, files[i]))
            continue;
        if (m == 0) {
            snprintf(errstr, errstr_size,
                     "%s: %s is set but %s=%s (set at %s) never uses TLS; remove one of them "
                     "(sslmode=verify-full checks the server's certificate)",
                     sl_conf_origin(conf, files[i]), files[i], mode_key, mode,
                     sl_conf_origin(conf, mode_key));
            return SL_ERR_CONFIG;
        }
        const char *path = sl_conf_str(conf, files[i]);
        if (access(path, R_OK) != 0) {
            snprintf(errstr, errstr_size, "%s: %s: cannot read '%s': %s",
                     sl_conf_origin(conf, files[i]), files[i], path, strerror(errno));
            return SL_ERR_CONFIG;
        }
    }
    if (m >= 4 && !sl_conf_is_set(conf, files[0]) && !default_root_cert_exists()) {
        snprintf(errstr, errstr_size,
                 "%s: %s=%s needs %s, the CA certificate that signed the server's certificate "
                 "(no default ~/.postgresql/root.crt exists); set it, or use sslmode=require "
                 "to encrypt without verifying the server",
                 sl_conf_origin(conf, mode_key), mode_key, mode, files[0]);
        return SL_ERR_CONFIG;
    }
    return sl_conf_pair(conf, files[1], files[2], SL_CLIENT_CERT_WHY, errstr, errstr_size);
#undef TK
}

/* Debezium refuses an include list and an exclude list at the same level, since one of
 * them would silently be ignored; so does sluice. */
static int pg_validate(const sl_conf_t *conf, char *errstr, size_t errstr_size)
{
    static const char *const pairs[][2] = {
        {"schema.include.list", "schema.exclude.list"},
        {"table.include.list", "table.exclude.list"},
        {"message.prefix.include.list", "message.prefix.exclude.list"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char inc[128], exc[128];
        snprintf(inc, sizeof inc, "debezium.source.%s", pairs[i][0]);
        snprintf(exc, sizeof exc, "debezium.source.%s", pairs[i][1]);
        if (sl_conf_is_set(conf, inc) && sl_conf_is_set(conf, exc)) {
            snprintf(errstr, errstr_size,
                     "%s: %s cannot be combined with %s (set at %s); keep only one of them",
                     sl_conf_origin(conf, exc), exc, inc, sl_conf_origin(conf, inc));
            return SL_ERR_CONFIG;
        }
    }
    /* PostgreSQL's rule for slot names (ReplicationSlotValidateName) */
    const char *slot_key = "debezium.source.slot.name", *slot = sl_conf_str(conf, slot_key);
    size_t slot_ok = strspn(slot, "abcdefghijklmnopqrstuvwxyz0123456789_");
    if (!slot[0] || slot[slot_ok] || slot_ok > 63) {
        snprintf(errstr, errstr_size,
                 "%s: %s '%s': a replication slot name is 1 to 63 lower-case letters, digits "
                 "and underscores",
                 sl_conf_origin(conf, slot_key), slot_key, slot);
        return SL_ERR_CONFIG;
    }
    int rc = validate_tls(conf, errstr, errstr_size);
    if (rc != SL_OK)
        return rc;
    const char *pwf = "sluice.postgres.password.file", *pwk = "debezium.source.database.password";
    if (sl_conf_is_set(conf, pwf)) {
        if (sl_conf_is_set(conf, pwk)) {
            snprintf(errstr, errstr_size,
                     "%s: %s cannot be combined with %s (set at %s); keep "
                     "only one of them",
                     sl_conf_origin(conf, pwf), pwf, pwk, sl_conf_origin(conf, pwk));
            return SL_ERR_CONFIG;
        }
        const char *path = sl_conf_str(conf, pwf);
        struct stat st;
        if (access(path, R_OK) != 0 || stat(path, &st) != 0) {
            snprintf(errstr, errstr_size, "%s: %s: cannot read '%s': %s", sl_conf_origin(conf, pwf),
                     pwf, path, strerror(errno));
            return SL_ERR_CONFIG;
        }
        if (st.st_mode & (S_IRGRP | S_IROTH))
            sl_warn("%s is readable by other users and holds a password (chmod 600 %s)", path,
                    path);
    }
    if (sl_conf_bool(conf, "debezium.source.slot.drop.on.stop") &&
        sl_conf_enum(conf, "debezium.source.snapshot.mode") == SNAP_NEVER) {
        snprintf(errstr, errstr_size,
                 "%s: debezium.source.slot.drop.on.stop=true with snapshot.mode=never would lose "
                 "every change made while sluice is stopped; use snapshot.mode=initial or "
                 "when_needed, or keep the slot",
                 sl_conf_origin(conf, "debezium.source.slot.drop.on.stop"));
        return SL_ERR_CONFIG;
    }
    return SL_OK;
}

static int pg_create(sl_source_t **out, const sl_conf_t *conf, const sl_source_env_t *env,
                     char *errstr, size_t errstr_size)
{
    sl_source_t *src = calloc(1, sizeof *src);
    if (!src)
        return SL_ERR_NOMEM;
    src->env = *env;
    src->conf = conf;
    src->txn.skip_until = -1;
    int rc = opts_load(&src->o, conf);
    if (rc == SL_OK && !(src->dec = sl_pgoutput_new()))
        rc = SL_ERR_NOMEM;
    if (rc == SL_OK)
        rc = parse_stored(src);
    if (rc == SL_OK)
        rc = pg_encode_init(src);
    if (rc != SL_OK) {
        snprintf(errstr, errstr_size, "%s", src->err[0] ? src->err : sl_err_str(rc));
        sl_buf_free(&src->source_name);
        sl_buf_free(&src->source_db);
        opts_free(&src->o);
        sl_pgoutput_free(src->dec);
        free(src);
        return rc;
    }
    *out = src;
    return SL_OK;
}

static int connect_and_run(sl_source_t *src)
{
    char e[1024];
    int rc;
    if (!(src->meta = pg_connect(src, false, e, sizeof e)) ||
        !(src->repl = pg_connect(src, true, e, sizeof e))) {
        pg_set_error(src, "%s", e);
        return SL_ERR_CONN;
    }
    if ((rc = check_server(src)) != SL_OK || (rc = identify(src)) != SL_OK ||
        (rc = ensure_publication(src)) != SL_OK)
        return rc;
    if (!src->streaming_started)
        warn_replica_identities(src);
    return reconcile_and_run(src);
}

/* After a lost connection: resume exactly after the last event emitted, as a restart
 * from a stored offset would (invariant 4), and forget per-connection state. */
static void prepare_reconnect(sl_source_t *src)
{
    if (src->repl)
        PQfinish(src->repl);
    if (src->meta)
        PQfinish(src->meta);
    src->repl = src->meta = NULL;
    src->in_copy = false;
    src->stream_xid = 0;
    sl_pgoutput_reset(src->dec);
    pg_spool_close(src->spool);
    src->spool = NULL;
    src->have_stored = true;
    src->stored_snapshot_done = true;
    src->stored_ack_lsn = src->ack_lsn;
    src->stored_txn_lsn = src->txn.active ? src->txn.commit_lsn : 0;
    src->stored_index = -1;
    if (src->txn.active)
        src->stored_index = src->txn.emitted_index > src->txn.skip_until ? src->txn.emitted_index
                                                                          : src->txn.skip_until;
    src->txn.active = false;
}

static int pg_run(sl_source_t *src)
{
    sl_backoff_t bo;
    sl_backoff_init(&bo, src->conf);
    for (;;) {
        int rc = connect_and_run(src);
        bool progressed = src->copy_started; /* it streamed again since the last loss */
        src->copy_started = false;
        if (!sl_backoff_retry(&bo, &rc, atomic_load(&src->stop), src->streaming_started,
                              progressed, "pg", src->err))
            return rc;
        prepare_reconnect(src);
        if (!sl_backoff_wait(&bo, &src->stop))
            return SL_OK;
    }
}

static void pg_stop(sl_source_t *src) { atomic_store(&src->stop, true); }

static int pg_format_pos(sl_source_t *src, const sl_pos_t *pos, sl_buf_t *out)
{
    return pg_offset_format(src->system_id, src->o.slot, pos, out);
}

static int pg_ack(sl_source_t *src, const sl_pos_t *pos)
{
    if (!src->repl || !src->in_copy)
        return SL_OK;
    int rc = send_status(src, false);
    char a[20];
    if (rc == SL_OK)
        sl_info("pg: confirmed flush position %s to the server", sl_lsn_fmt(src->sent_acked_lsn, a));
    /* leave COPY mode politely (CopyDone, then drain until the server's CopyDone and
     * CommandComplete) so the walsender ends without logging a lost connection */
    PQputCopyEnd(src->repl, NULL);
    PQflush(src->repl);
    src->in_copy = false;
    int64_t deadline = mono_ms() + 2000;
    while (mono_ms() < deadline) {
        char *buf = NULL;
        int n = PQgetCopyData(src->repl, &buf, 1);
        if (buf)
            PQfreemem(buf);
        if (n == -1 || n == -2)
            break;
        if (n == 0 && wait_input(src, 100) != SL_OK)
            break;
    }
    PGresult *res;
    while (!PQisBusy(src->repl) && (res = PQgetResult(src->repl)))
        PQclear(res);
    return rc;
}

static const char *pg_last_error(const sl_source_t *src) { return src->err; }

static void pg_destroy(sl_source_t *src)
{
    if (!src)
        return;
    if (src->o.slot_drop_on_stop && src->meta) {
        const char *params[1] = {src->o.slot};
        PGresult *r = PQexecParams(src->meta, "SELECT pg_drop_replication_slot($1)", 1, NULL,
                                   params, NULL, NULL, 0);
        PQclear(r);
    }
    if (src->repl)
        PQfinish(src->repl);
    if (src->meta)
        PQfinish(src->meta);
    pg_spool_close(src->spool);
    pg_rel_free_all(src);
    sl_pgoutput_free(src->dec);
    sl_pgoutput_free(src->plain_dec);
    sl_buf_free(&src->kb);
    sl_buf_free(&src->vb);
    sl_buf_free(&src->sblock.head);
    sl_buf_free(&src->sblock.mid);
    sl_buf_free(&src->source_name);
    sl_buf_free(&src->source_db);
    opts_free(&src->o);
    free(src);
}

const sl_source_ops_t sl_source_postgres = {
    .abi = SL_SOURCE_ABI,
    .name = "postgres",
    .classes = pg_classes,
    .props = &sl_pg_props,
    .create = pg_create,
    .validate = pg_validate,
    .check = pg_check,
    .run = pg_run,
    .stop = pg_stop,
    .format_pos = pg_format_pos,
    .ack = pg_ack,
    .last_error = pg_last_error,
    .destroy = pg_destroy,
};
