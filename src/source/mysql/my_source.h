/*
 * my_source.h — internals shared by the MySQL/MariaDB source's files.
 *
 *   my_source.c    vtable, connections, positions, the binlog streaming loop, reconnects
 *   my_tables.c    captured tables: filters, schema from information_schema, TABLE_MAP
 *                  resolution (columns, keys, converters, pre-rendered schemas)
 *   my_encode.c    change, schema-change and heartbeat events as Debezium JSON
 *   my_snapshot.c  the consistent initial snapshot
 *   my_check.c     `sluice check` for MySQL/MariaDB
 *   my_offsets.c   the offset record; the GTID state at each durable position
 *   my_props.c     the property table
 *   my_tls.c       TLS: ssl.mode and PEM files for every connection, their validation
 *   mybinlog.c     TABLE_MAP / rows event bodies; mytypes.c value converters
 *
 * Positions (DESIGN.md §1). A binlog coordinate (file, offset) is packed into 64 bits
 * as (file sequence number << 32 | offset): binlog files are named <base>.<number> and
 * an offset never reaches 4 GiB (max_binlog_size is at most 1 GiB), so the packed value
 * grows in binlog order and fits sl_pos_t's LSN fields:
 *   ack_lsn  coordinate right after the newest complete transaction (where to resume)
 *   txn_lsn  coordinate of the transaction's first event (its GTID / BEGIN event)
 *   lsn      coordinate of the rows event the change came from
 *   index    ordinal of the change inside its transaction (x4, + 1 for a tombstone)
 * The GTID state at a position is not in sl_pos_t: my_offsets.c keeps the GTIDs of the
 * transactions read but not yet durable and folds them into the state as positions
 * become durable (my_gtid_*).
 *
 * Not a public header: nothing outside src/source/mysql/ includes it.
 */
#ifndef SL_MY_SOURCE_H
#define SL_MY_SOURCE_H

#include <mysql.h>
#include <mariadb_rpl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/plugin.h"
#include "core/relist.h"
#include "source/mysql/mybinlog.h"
#include "source/mysql/mytypes.h"

extern const sl_prop_table_t sl_my_props;

static inline uint64_t my_coord(uint32_t file_seq, uint32_t off)
{
    return ((uint64_t)file_seq << 32) | off;
}
static inline uint32_t my_coord_file(uint64_t c) { return (uint32_t)(c >> 32); }
static inline uint32_t my_coord_off(uint64_t c) { return (uint32_t)c; }

enum { MY_SNAP_INITIAL, MY_SNAP_NO_DATA, MY_SNAP_NEVER, MY_SNAP_INITIAL_ONLY, MY_SNAP_WHEN_NEEDED,
       MY_SNAP_ALWAYS };
enum { MY_RESUME_AUTO, MY_RESUME_GTID, MY_RESUME_POSITION };

typedef struct my_opts {
    char *prefix;
    int snapshot_mode;
    int resume_by;
    uint32_t server_id;
    bool tombstones;
    bool skip_c, skip_u, skip_d;
    bool value_schemas, key_schemas;
    bool include_query;
    bool include_schema_changes;
    int64_t heartbeat_ms;
    char *heartbeat_topic;
    my_type_opts_t types;
    sl_relist_t db_inc, db_exc, table_inc, table_exc, col_exc, snap_inc;
} my_opts_t;

/* One column of a captured table, as the events render it. */
typedef struct my_col {
    char *name;
    my_coldef_t def;   /* def.name/charset/labels point into this struct's own copies */
    char *charset;
    char **labels;
    uint32_t nlabels;
    my_conv_t *conv;
    bool excluded;
    bool zero_warned; /* the zero-date warning was given for this column */
} my_col_t;

/* A captured table at one shape: columns, key, converters and pre-rendered JSON. */
typedef struct my_table {
    char *db, *name;
    char *topic;
    size_t topic_len;
    uint32_t ncols;
    my_col_t *cols;
    my_rowcol_t *rowcols;  /* ncols, for my_row_decode */
    uint32_t nkeys;
    uint32_t *key_idx;     /* primary key columns in key order */
    sl_buf_t source_table; /* ,"table":"<name>" (escaped once) */
    sl_buf_t source_db;    /* ,"db":"<db>" */
    sl_buf_t key_schema, value_schema;
    sl_schema_t *schema; /* key and value schema (as configured), shared with events */
    bool has_dates;         /* DATE/DATETIME/TIMESTAMP columns: zero dates possible */
} my_table_t;

/* A table's schema as information_schema describes it (no binlog metadata needed). */
typedef struct my_decl_col {
    my_coldef_t def;  /* def.name, def.charset, def.labels point at the strings below */
    char *name, *charset;
    char **labels;
    uint32_t nlabels;
    char *type_name;  /* DATA_TYPE upper-cased, COLUMN_TYPE: for schema change events */
    char *type_expr;
} my_decl_col_t;

typedef struct my_decl {
    char *db, *name;
    char *engine; /* ENGINE: the snapshot warns about non-transactional tables */
    uint32_t ncols;
    my_decl_col_t *cols;
    uint32_t nkeys;
    uint32_t *key_idx;
    struct my_decl *next;
} my_decl_t;

/* table_id -> resolved table; the TABLE_MAP body is kept to recognise repeats cheaply. */
typedef struct my_tmap_entry {
    uint64_t table_id;
    uint8_t *body;
    size_t body_len;
    my_table_t *table; /* NULL when the table is not captured */
    struct my_tmap_entry *next;
} my_tmap_entry_t;

/* GTID bookkeeping (my_offsets.c): MariaDB domain-server-seq. */
typedef struct my_gtid {
    uint32_t domain, server;
    uint64_t seq;
} my_gtid_t;

typedef struct my_gtid_pending {
    uint64_t txn_coord; /* the transaction's txn_lsn */
    my_gtid_t gtid;
} my_gtid_pending_t;

typedef struct my_gtid_log {
    pthread_mutex_t mu;
    my_gtid_t *state; /* per domain: the last transaction folded in */
    size_t nstate;
    my_gtid_pending_t *q; /* ring of transactions not yet folded, in binlog order */
    size_t head, len, cap;
} my_gtid_log_t;

typedef struct my_txn {
    bool active;
    uint64_t start_coord;  /* coordinate of its GTID/BEGIN event: txn_lsn */
    bool has_gtid;
    my_gtid_t gtid;
    bool standalone;       /* MariaDB FL_STANDALONE: one statement, no XID/COMMIT follows */
    uint32_t ts;           /* event timestamp (seconds) */
    int64_t next_index;
    int64_t skip_until;    /* resume: skip events with index <= this (-1 none) */
    int64_t emitted_index; /* newest index handed to the pipeline (-1 none) */
    uint64_t thread; /* connection id from the BEGIN query (MySQL), when known */
    bool has_thread;
    char *query;           /* annotate / rows_query text for include.query (malloc'd) */
} my_txn_t;

/* The parsed offset record (my_offsets.c). */
typedef struct my_offset {
    char file[256];       /* binlog file of the resume coordinate */
    uint32_t pos;
    char gtids[1024];     /* GTID state at the resume point ("" when none) */
    char txn_gtid[64];    /* partially delivered transaction: its GTID ("" none) */
    char txn_file[256];   /* ... and its first event's coordinate */
    uint32_t txn_pos;
    int64_t index;        /* its last durable event (-1 none) */
    bool snapshot_done;
} my_offset_t;

struct sl_source {
    sl_source_env_t env;
    const sl_conf_t *conf;
    my_opts_t o;
    atomic_bool stop;
    char err[1024];

    MYSQL *conn;      /* queries: schema, snapshot, heartbeat */
    MYSQL *bconn;     /* the binlog dump connection */
    MARIADB_RPL *rpl;
    MARIADB_RPL_EVENT *ev;
    bool mariadb;          /* server flavour */
    uint32_t server_id;    /* the server's own @@server_id */
    char binlog_base[256]; /* "mysql-bin": files are <base>.<seq> */
    uint32_t cur_file;     /* sequence number of the file being read */
    bool row_metadata_full;
    bool gtid_mode;        /* server has GTIDs (MariaDB always) */
    bool binlog_checksum;  /* events end in a 4-byte CRC32 (binlog_checksum != NONE) */

    my_decl_t *decls;          /* information_schema cache */
    my_tmap_entry_t *tmaps;    /* TABLE_MAP cache by table_id (each owns its table) */
    char **collations;         /* collation id -> character set name (server's table) */
    size_t ncollations;

    uint64_t ack_coord;  /* after the newest complete transaction */
    my_txn_t txn;
    my_gtid_log_t gtids;
    bool streaming_started;
    bool stream_ok_since_reconnect;
    int64_t last_data_ms;

    bool have_stored;
    my_offset_t stored;

    sl_buf_t kb, vb, rb;
    size_t snap_off; /* where my_encode_change wrote source.snapshot's label in vb */
    my_span_t *spans;
    size_t spans_cap;
    sl_buf_t source_name; /* "source":{"version":..,"connector":"mysql","name":"<prefix>" */
    const char *connector; /* "mysql" | "mariadb" */
};

/* Row events of table t are split (bare payloads, schemas by reference: event.h). */
static inline bool my_split(const sl_source_t *src, const my_table_t *t)
{
    return src->env.split_events && t->schema;
}

/* my_source.c */
void my_fail(sl_source_t *src, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int my_query(sl_source_t *src, MYSQL *c, const char *sql);
MYSQL_RES *my_query_result(sl_source_t *src, MYSQL *c, const char *sql);
/* Opens a connection with the configured TLS settings (my_tls.c). `what` ("query",
 * "binlog") names it in the info line that says whether it is encrypted; NULL: no line. */
MYSQL *my_connect(const sl_conf_t *conf, const char *what, char *errstr, size_t errstr_size);
int my_emit(sl_source_t *src, sl_event_t *ev);
int64_t my_mono_ms(void);
uint32_t my_file_seq(const char *file, char *base, size_t base_size);
void my_file_name(const sl_source_t *src, uint32_t seq, char *out, size_t size);

/* my_tables.c */
bool my_table_captured(const my_opts_t *o, const char *db, const char *table);
bool my_db_captured(const my_opts_t *o, const char *db);
int my_load_collations(sl_source_t *src);
const char *my_collation_charset(const sl_source_t *src, uint32_t id);
int my_decls_load(sl_source_t *src, const char *db, const char *table);
void my_decls_forget(sl_source_t *src, const char *db, const char *table);
my_decl_t *my_decl_find(sl_source_t *src, const char *db, const char *table);
int my_table_from_decl(sl_source_t *src, const my_decl_t *d, my_table_t **out);
void my_table_free(my_table_t *t);
/* After rows were rendered: warns once per column that rendered a zero date. */
void my_table_warn_zero_dates(my_table_t *t);
int my_tablemap(sl_source_t *src, const uint8_t *body, size_t len, my_tmap_entry_t **out);
my_tmap_entry_t *my_tmap_find(sl_source_t *src, uint64_t table_id);
void my_tmaps_clear(sl_source_t *src);
void my_decls_free(sl_source_t *src);

/* my_ddl.c: what a QUERY event's statement does to tables. */
typedef struct my_table_ref {
    char db[256], name[256];
} my_table_ref_t;
#define MY_DDL_MAX_TABLES 16
typedef struct my_ddl {
    const char *sql; /* the statement (borrowed) */
    size_t sql_len;
    char db[256];     /* database it applies to: the first table's, else the session's */
    const char *type; /* "CREATE" | "ALTER" | "DROP" for table DDL, else NULL */
    bool database_level; /* CREATE/ALTER/DROP DATABASE */
    my_table_ref_t tables[MY_DDL_MAX_TABLES]; /* RENAME: old and new names */
    size_t ntables;
    bool has_thread;
    uint64_t thread;
} my_ddl_t;
/* True when the statement is DDL (anything but BEGIN/COMMIT/ROLLBACK/SAVEPOINT/XA/SET/
 * DML); fills out. `session_db` is the QUERY event's default database ("" none). */
bool my_ddl_parse(const char *sql, size_t len, const char *session_db, my_ddl_t *out);

/* my_encode.c */
int my_encode_init(sl_source_t *src);
int my_encode_table_schemas(sl_source_t *src, my_table_t *t);
typedef struct my_change {
    const my_table_t *table;
    char op;
    const char *snapshot; /* "false", "true", "first", "last", ... */
    const char *before, *after; /* rendered row objects (NULL: null) */
    size_t before_len, after_len;
    const char *key; /* rendered key object, NULL: no key */
    size_t key_len;
    uint64_t ts_ms;
    const char *file;
    uint32_t pos;
    int32_t row;
    const char *gtid; /* NULL: null */
    bool has_thread;
    uint64_t thread;
    const char *query; /* NULL: null */
    int64_t now_us;    /* processing time for ts_ms/us/ns (0: read the clock) */
} my_change_t;
/* Renders key and value of a row change into src->kb / src->vb: bare payloads when the
 * events are split (my_split; event.h). */
int my_encode_change(sl_source_t *src, const my_change_t *ch);
int my_encode_schema_change(sl_source_t *src, const my_ddl_t *ddl, uint64_t ts_ms,
                            const char *file, uint32_t pos, const char *gtid);
/* Renders the key object of a row from its decoded spans ({"id":1}) into out. */
void my_encode_key(const my_table_t *t, const char *row, const my_span_t *spans, sl_buf_t *out);

/* my_snapshot.c */
int my_snapshot(sl_source_t *src);

/* my_tls.c: debezium.source.database.ssl.mode, in its table's order */
enum { MY_SSL_DISABLED, MY_SSL_PREFERRED, MY_SSL_REQUIRED, MY_SSL_VERIFY_CA,
       MY_SSL_VERIFY_IDENTITY };
int my_tls_mode(const sl_conf_t *conf);
/* Contradictory or unusable TLS keys: SL_ERR_CONFIG with a one-line message. */
int my_tls_validate(const sl_conf_t *conf, char *errstr, size_t errstr_size);
/* Before mysql_real_connect: sets the TLS options. SL_ERR_NOMEM if libmariadb fails. */
int my_tls_options(MYSQL *m, const sl_conf_t *conf);
/* After connecting: SL_ERR_CONN (message in errstr) when the mode needs TLS and the
 * connection has none -- the caller closes it before sending anything. */
int my_tls_enforce(MYSQL *m, const sl_conf_t *conf, char *errstr, size_t errstr_size);
/* "encrypted with TLSv1.3, cipher ... (...ssl.mode=...)" or "not encrypted ..."; true
 * when encrypted. */
bool my_tls_describe(MYSQL *m, const sl_conf_t *conf, char *buf, size_t size);
/* What to do about a failed connect, when TLS may be why (" (...)"), else "". */
const char *my_tls_hint(MYSQL *m, const sl_conf_t *conf, char *buf, size_t size);

/* my_check.c */
int my_check(const sl_conf_t *conf, FILE *report);

/* my_offsets.c */
int my_offset_format(sl_source_t *src, const sl_pos_t *pos, sl_buf_t *out);
int my_offset_parse(const char *text, my_offset_t *out, char *errstr, size_t errstr_size);
int my_gtid_log_init(my_gtid_log_t *g);
void my_gtid_log_fini(my_gtid_log_t *g);
/* Source thread: a transaction with `gtid` begins at txn_coord. */
int my_gtid_log_push(my_gtid_log_t *g, uint64_t txn_coord, const my_gtid_t *gtid);
/* Sets the folded state from text "0-1-100,1-2-5" (start / after a snapshot). */
int my_gtid_log_reset(my_gtid_log_t *g, const char *state);
/* Renders the state at ack_coord: folds every pending transaction that began before it. */
void my_gtid_log_state(my_gtid_log_t *g, uint64_t ack_coord, sl_buf_t *out);
/* The GTID of the pending transaction beginning at txn_coord; false if unknown. */
bool my_gtid_log_find(my_gtid_log_t *g, uint64_t txn_coord, my_gtid_t *out);

#endif
