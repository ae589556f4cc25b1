/*
 * pg_source.h — internals shared by the PostgreSQL source's files.
 *
 *   pg_source.c    vtable, connections, slot/offset reconciliation, streaming loop
 *   pg_relcache.c  relations and their columns (catalog + Relation messages), filters
 *   pg_encode.c    rendering change events as Debezium JSON (key, value, schemas)
 *   pg_snapshot.c  the initial snapshot (exported snapshot + COPY)
 *   pg_spool.c     streamed in-progress transactions spooled to disk until commit
 *   pg_check.c     `sluice check` for PostgreSQL
 *   pg_offsets.c   the offset record: a position as text and back
 *   pgoutput.c     the wire decoder, pgtypes.c the value converters
 *
 * Not a public header: nothing outside src/source/pg/ includes it.
 */
#ifndef SL_PG_SOURCE_H
#define SL_PG_SOURCE_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/plugin.h"
#include "core/relist.h"
#include "source/pg/pgoutput.h"
#include "source/pg/pgtypes.h"

extern const sl_prop_table_t sl_pg_props;

/* Session settings every connection uses, so that value text forms are stable (pgtypes.h). */
#define PG_SESSION_OPTIONS                                                                         \
    "-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=iso_8601 -c extra_float_digits=3 "         \
    "-c bytea_output=hex -c client_encoding=UTF8 -c lc_monetary=C"

typedef struct pg_col {
    char *name;
    char *json_key; /* "name": escaped once, copied into every row */
    uint32_t type_oid;
    int32_t typmod;
    int key_pos;   /* position in the primary key (1-based), 0 if not part of it */
    bool optional; /* NOT NULL absent */
    bool excluded; /* column.exclude.list */
    sl_pgconv_t *conv;
} pg_col_t;

typedef struct pg_rel {
    uint32_t relid;
    char *nspname, *relname;
    char replident;
    bool captured;
    uint16_t ncols;
    pg_col_t *cols;   /* in the order the server sends values */
    uint16_t nkeys;
    uint16_t *key_idx; /* indexes into cols, in primary-key order */
    char *topic;
    size_t topic_len;
    sl_buf_t source_table; /* ,"schema":"<nsp>","table":"<rel>" for source blocks */
    sl_buf_t key_schema;   /* {"type":"struct",...,"name":"<topic>.Key"} */
    sl_buf_t value_schema; /* the Envelope schema */
    sl_schema_t *schema;   /* key and value schema (as configured), shared with events */
    struct pg_rel *next;
} pg_rel_t;

typedef struct pg_opts {
    char *prefix;
    char *dbname;
    char *slot;
    char *publication;
    int pub_mode; /* 0 all_tables, 1 disabled, 2 filtered */
    int snapshot_mode;
    bool tombstones;
    bool skip_c, skip_u, skip_d, skip_t;
    bool value_schemas, key_schemas;
    bool streaming;
    bool slot_drop_on_stop;
    int64_t slot_max_retries, slot_retry_delay_ms; /* a slot in use at start */
    int64_t heartbeat_ms;
    char *heartbeat_query;
    char *heartbeat_topic;
    int64_t status_interval_ms;
    char *spool_dir;
    sl_pgtype_opts_t types;
    sl_relist_t schema_inc, schema_exc, table_inc, table_exc, col_exc, snap_inc;
    sl_relist_t msg_inc, msg_exc;
} pg_opts_t;

enum { SNAP_INITIAL, SNAP_NO_DATA, SNAP_NEVER, SNAP_INITIAL_ONLY, SNAP_WHEN_NEEDED, SNAP_ALWAYS };

/* What the current transaction being decoded looks like. */
typedef struct pg_txn {
    bool active;
    uint32_t xid;
    uint64_t commit_lsn; /* final LSN from Begin / Stream Commit */
    int64_t commit_ts_us; /* unix epoch microseconds */
    int64_t next_index;   /* ordinal of the next change message in the transaction */
    int64_t skip_until;   /* resume: events with pos.index <= this are skipped (-1: none) */
    int64_t emitted_index; /* index of the newest event handed to the pipeline (-1: none) */
} pg_txn_t;

struct sl_source {
    sl_source_env_t env;
    const sl_conf_t *conf;
    pg_opts_t o;
    char *conninfo_repl; /* conninfo strings hold the password: never logged */
    char *conninfo_sql;
    PGconn *repl;
    PGconn *meta;
    sl_pgoutput_t *dec;
    pg_rel_t *rels;
    atomic_bool stop;
    char err[1024];

    /* identity and positions */
    char system_id[32];
    uint32_t timeline;
    int server_version;
    uint64_t ack_lsn;        /* newest complete-transaction end LSN emitted so far */
    uint64_t last_commit_lsn; /* for source.sequence */
    uint64_t sent_acked_lsn; /* last flush LSN reported to the server */
    uint64_t server_wal_end;
    bool streaming_started; /* START_REPLICATION succeeded once: later losses are retried */
    bool copy_started;      /* START_REPLICATION succeeded since the last reconnect */
    pg_txn_t txn;
    /* resume point from the offset store */
    bool have_stored;
    uint64_t stored_ack_lsn, stored_txn_lsn;
    int64_t stored_index;
    bool stored_snapshot_done;

    /* replication connection state */
    bool in_copy;            /* inside START_REPLICATION's CopyBoth */
    int64_t last_status_ms;  /* monotonic time of the last status update */
    uint32_t stream_xid;     /* top-level xid of the open stream block (v2), 0 outside */
    bool activity;           /* XLogData arrived since the loop last looked at the clock */
    sl_pgoutput_t *plain_dec; /* decodes spooled messages at replay */

    /* encoding scratch */
    sl_buf_t kb, vb;
    sl_buf_t source_name; /* "source":{"version":..,"connector":"postgresql","name":"<prefix>" */
    sl_buf_t source_db;   /* ","db":"<dbname>" (escaped once, at start) */
    size_t snap_off; /* offset in vb of the source.snapshot text (pg_encode_change) */
    /* The source block of the last change, cut around its two LSNs (put_source): the next
     * change of the same transaction and relation copies these parts instead of rendering
     * every field again. */
    struct pg_sblock {
        bool valid;
        const pg_rel_t *rel;
        uint64_t schema_id; /* rel->schema's, then: a relation rebuilt at one address differs */
        const char *snapshot;
        int64_t ts_us;
        uint32_t xid;
        uint64_t last_commit_lsn;
        sl_buf_t head, mid; /* up to the first LSN; between the two */
        size_t snap_off;    /* of the snapshot text, in head */
    } sblock;
    struct pg_spool *spool;
};

/* pg_source.c */
void pg_set_error(sl_source_t *src, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pg_emit(sl_source_t *src, sl_event_t *ev);
PGconn *pg_connect(sl_source_t *src, bool replication, char *errstr, size_t errstr_size);
int pg_exec_ok(sl_source_t *src, PGconn *c, const char *sql);
/* libpq's last error as one line (thread-local buffer). */
const char *pg_conn_error(PGconn *c);

/* pg_relcache.c */
bool pg_table_captured(const pg_opts_t *o, const char *nsp, const char *rel);
pg_rel_t *pg_rel_find(sl_source_t *src, uint32_t relid);
/* Builds/refreshes a relation from a Relation message (columns, order) + the catalog. */
int pg_rel_from_message(sl_source_t *src, const sl_pgo_msg_t *m, pg_rel_t **out);
/* Builds a relation from the catalog alone (snapshot). */
int pg_rel_from_catalog(sl_source_t *src, uint32_t relid, pg_rel_t **out);
void pg_rel_free_all(sl_source_t *src);

/* pg_encode.c */
typedef struct pg_change {
    char op;               /* 'c','u','d','r' */
    const pg_rel_t *rel;
    const sl_pgo_tuple_t *before; /* may be NULL */
    char before_kind;      /* 'K' key only, 'O' full */
    const sl_pgo_tuple_t *after;  /* may be NULL */
    const char *snapshot;  /* source.snapshot: "false", "true", "first", "last", ... */
    uint64_t lsn;
    uint32_t xid;
    int64_t ts_us;         /* commit (or snapshot) time, unix µs */
    int64_t key_from;      /* 0: key from after, 1: key from before */
    bool split;            /* bare payloads: the event is split (rel->schema; event.h) */
} pg_change_t;
/* Renders key and value of a change into src->kb / src->vb. */
int pg_encode_change(sl_source_t *src, const pg_change_t *ch);
int pg_encode_truncate(sl_source_t *src, const pg_rel_t *rel, uint64_t lsn, uint32_t xid,
                       int64_t ts_us, bool split);
int pg_encode_message(sl_source_t *src, const sl_pgo_msg_t *m, uint64_t lsn, uint32_t xid, int64_t ts_us);
int pg_encode_heartbeat(sl_source_t *src, int64_t ts_ms);
/* Renders the constant parts of source blocks (src->source_name, src->source_db). */
int pg_encode_init(sl_source_t *src);
/* Builds rel->key_schema / rel->value_schema / rel->source_table and the columns' json_key. */
int pg_encode_rel_schemas(sl_source_t *src, pg_rel_t *rel);

/* pg_snapshot.c: runs the snapshot inside `snapshot_name` (exported by the slot). */
int pg_snapshot_run(sl_source_t *src, const char *snapshot_name, uint64_t consistent_lsn);

/* pg_offsets.c: the offset record (see the file's header for the format) */
typedef struct pg_offset {
    char system_id[32];
    char slot[128];
    uint64_t ack_lsn, txn_lsn;
    int64_t index;
    bool snapshot_done;
} pg_offset_t;
int pg_offset_format(const char *system_id, const char *slot, const sl_pos_t *pos, sl_buf_t *out);
int pg_offset_parse(const char *text, pg_offset_t *out, char *errstr, size_t errstr_size);

/* pg_check.c */
int pg_check(const sl_conf_t *conf, FILE *report);

/* pg_spool.c: streamed transactions (protocol v2) */
struct pg_spool;
int pg_spool_open(struct pg_spool **out, const char *dir, char *errstr, size_t errstr_size);
void pg_spool_close(struct pg_spool *sp);
int pg_spool_append(struct pg_spool *sp, uint32_t xid, uint32_t subxid, uint64_t lsn,
                    const uint8_t *msg, size_t len);
int pg_spool_abort(struct pg_spool *sp, uint32_t xid, uint32_t subxid);
/* Replays the spooled messages of `xid` in order through fn, then forgets them. */
int pg_spool_replay(struct pg_spool *sp, uint32_t xid,
                    int (*fn)(void *ud, uint64_t lsn, const uint8_t *msg, size_t len), void *ud);
void pg_spool_reset(struct pg_spool *sp);

#endif
