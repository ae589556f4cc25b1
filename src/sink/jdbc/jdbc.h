/*
 * jdbc.h — shared between the jdbc sink's files.
 *
 *  - jdbc_sink.c: the sink (vtable, events -> statements, transactions, offsets, retries,
 *    dead letters), the same for every target database;
 *  - jdbc_types.c: Kafka Connect schema -> column type, Debezium JSON value -> the text
 *    (or bytes) the target parses, per SQL dialect;
 *  - one file per target database behind jdbc_target_t: jdbc_pg.c (libpq), jdbc_my.c
 *    (MariaDB/MySQL, libmariadb), jdbc_sqlite.c (SQLite).
 *
 * All functions run on the pipeline thread. Schemas are jansson values (parsed once per
 * schema text); payload values are tokens of the event's scanned text (core/jscan.h).
 */
#ifndef SL_JDBC_H
#define SL_JDBC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/jscan.h"

/* Debezium's unchanged-TOAST placeholder (UnchangedToastedPlaceholder). */
#define JDBC_UNAVAILABLE "__debezium_unavailable_value"
#define JDBC_OFFSETS_TABLE "sluice_offsets"

/* ---- types and values (jdbc_types.c) --------------------------------------------------------- */

typedef enum jdbc_dialect { JDBC_PG, JDBC_MY, JDBC_SQLITE } jdbc_dialect_t;

/* Column type for a Connect field schema ({"type":..,"name":..,"parameters":..}) in
 * `dialect`, appended to `out` ("numeric(10,2)", "DATETIME(6)", "text[]"). `is_key`: the
 * column is part of the primary key (MariaDB cannot index TEXT/BLOB without a length, so
 * keys get VARCHAR(255)/VARBINARY(255) there). Returns false for a schema that has no
 * column form in this dialect (struct, map); `out` is then unchanged. */
bool jdbc_col_type(jdbc_dialect_t dialect, const json_t *schema, bool is_key, sl_buf_t *out);

/* A value of an event's payload: token `tok` of `doc` (-1: absent, read as null). */
typedef struct jdbc_val {
    const sl_jdoc_t *doc;
    int tok;
} jdbc_val_t;

/* Renders `v` (a payload value described by `schema`) in the form the target reads for
 * the column type jdbc_col_type() chose: text, or raw bytes when *is_blob is set (bytes
 * in MariaDB and SQLite; PostgreSQL takes bytea as \x hex text). Returns 0 and sets
 * *is_null for JSON null; -1 with a message in errbuf when the value does not fit its
 * schema or cannot be stored in this dialect (a BC date in MariaDB). */
int jdbc_value(jdbc_dialect_t dialect, const json_t *schema, jdbc_val_t v, sl_buf_t *out,
               bool *is_null, bool *is_blob, char *errbuf, size_t errbuf_size);

/* A field schema prepared once for many values: its type, its logical name classified (no
 * string compares per value) and the parameters values need. Borrows from `schema`. */
enum {
    JDBC_K_PLAIN, /* by the primitive type alone */
    JDBC_K_DECIMAL,
    JDBC_K_VSDECIMAL,
    JDBC_K_DATE,
    JDBC_K_TIME_MS,
    JDBC_K_TIME_US,
    JDBC_K_TIME_NS,
    JDBC_K_TS_MS,
    JDBC_K_TS_US,
    JDBC_K_TS_NS,
    JDBC_K_DURATION,
    JDBC_K_ZONED_TS,
    JDBC_K_ZONED_TIME
};
typedef struct jdbc_field {
    const json_t *schema, *items; /* items: an array's element schema */
    const char *type, *name;      /* NULL when absent */
    long scale;                   /* Decimal's scale parameter */
    unsigned char kind;           /* JDBC_K_* */
    bool is_bytes, is_array;
} jdbc_field_t;

void jdbc_field_init(jdbc_field_t *f, const json_t *schema);
/* jdbc_value() for a prepared field (the same results). */
int jdbc_field_value(jdbc_dialect_t dialect, const jdbc_field_t *f, jdbc_val_t v, sl_buf_t *out,
                     bool *is_null, bool *is_blob, char *errbuf, size_t errbuf_size);

/* True when `v` is Debezium's unchanged-TOAST placeholder in any of its shapes (string,
 * base64 bytes, one-element array, array of the placeholder's byte values). */
bool jdbc_is_unavailable(jdbc_val_t v);

/* ---- target databases ------------------------------------------------------------------------ */

/* One bound parameter: `len` bytes at `data` (not NUL-terminated for blobs). */
typedef struct jdbc_param {
    const char *data;
    size_t len;
    bool is_null, is_blob;
} jdbc_param_t;

/* Every target's connection struct starts with this header. */
typedef struct jdbc_conn {
    const struct jdbc_target *target;
    char err[1024]; /* the last error, one line: what failed, the server's message, its code */
    bool transient; /* the last SL_ERR_SERVER may pass if retried (deadlock, serialization
                     * failure, lock wait timeout, database busy) */
} jdbc_conn_t;

/* Errors of the functions below: SL_ERR_SERVER (the target refused the statement: a
 * constraint, a type overflow, a deadlock; the transaction is aborted), SL_ERR_CONN (the
 * connection is gone: reconnect and replay), SL_ERR_NOMEM; c->err says what. */
typedef struct jdbc_target {
    const char *name;           /* "PostgreSQL", in messages */
    const char *url_prefixes[3]; /* connection.url prefixes it serves ("jdbc:postgresql:") */
    jdbc_dialect_t dialect;
    char quote;                 /* identifier quote character; embedded ones are doubled */
    bool numbered_params;       /* $1, $2 (PostgreSQL) rather than ? (in order of appearance) */
    bool upsert_on_duplicate;   /* INSERT ... ON DUPLICATE KEY UPDATE c = VALUES(c), not
                                 * ON CONFLICT (key) DO UPDATE SET c = EXCLUDED.c */
    bool ddl_commits;           /* CREATE/ALTER TABLE commit the open transaction (MariaDB) */
    const char *truncate_sql;   /* "TRUNCATE TABLE " or "DELETE FROM " (a TRUNCATE that
                                 * commits implicitly would break atomicity) */
    size_t max_ident_len;       /* longer identifiers are cut or refused (0: no limit) */
    bool ci_idents;             /* column names compare case-insensitively (MariaDB, SQLite) */
    const char *table_options;  /* appended to CREATE TABLE (NULL: none) */

    /* Parses `url` (with the user/password given apart, NULL when not set) and connects.
     * Errors go to errstr as one line (the sink puts "jdbc sink: " before it). */
    int (*open)(jdbc_conn_t **out, const char *url, const char *user, const char *password,
                char *errstr, size_t errstr_size);
    void (*close)(jdbc_conn_t *c);
    /* Runs a statement without a result set; `sql` uses the target's parameter markers.
     * The target may only queue it and report its outcome from a later call (libpq's
     * pipeline); `repeats` says the same text will come again (worth preparing). `what`
     * (a string literal) names the step in error messages. */
    int (*exec)(jdbc_conn_t *c, const char *what, const char *sql, const jdbc_param_t *p,
                size_t n, bool repeats);
    /* Optional (NULL: the sink sends multi-row INSERTs instead). Inserts `nrows` rows of
     * `ncols` parameters each (row after row in `p`) into table `table` — `target` is its
     * quoted name and column list as in the equivalent INSERT, `"t" ("a", "b")`,
     * `target_len` bytes — in the open transaction, with the effect of that plain INSERT
     * (no conflict clause): PostgreSQL's COPY FROM STDIN. Runs at once: the statements
     * queued before it are waited for first (their errors come back from here). An error
     * aborts the transaction like a failed statement. SL_ERR_UNSUPPORTED, before anything
     * is sent: this table takes no COPY as an INSERT would be taken (a view, rules), send
     * INSERTs. */
    int (*copy)(jdbc_conn_t *c, const char *what, const char *table, const char *target,
                size_t target_len, const jdbc_param_t *p, size_t nrows, size_t ncols);
    /* Optional (NULL: the sink sends one UPDATE per row). Whether `table` is a plain table
     * (not a view, no rules; told by columns(), which comes first): updates of several
     * rows of it then go out as one statement joining a row source built with
     * UNION ALL SELECT $1, $2 ... onto it (its first branch, SELECT <columns> FROM table
     * WHERE false, gives the parameters the columns' types). */
    bool (*multi_update)(jdbc_conn_t *c, const char *table);
    /* Waits for every queued statement; returns the first error among them. */
    int (*sync)(jdbc_conn_t *c);
    int (*begin)(jdbc_conn_t *c);
    /* Commits (after sync); an error means nothing of the transaction is stored. */
    int (*commit)(jdbc_conn_t *c);
    /* Best effort, never fails: rolls back (or drops the connection) and forgets queued
     * results and prepared statements that may not exist any more. */
    void (*rollback)(jdbc_conn_t *c);
    /* The columns of table `name` in order: calls add(opaque, column) for each; *exists
     * false (and no calls) when there is no such table. Runs at once (after sync). */
    int (*columns)(jdbc_conn_t *c, const char *name, bool *exists,
                   int (*add)(void *opaque, const char *col), void *opaque);
    /* CREATE TABLE IF NOT EXISTS sluice_offsets (name, offset, updated_at), then *text =
     * the offset stored under `name` (malloc'd; NULL when there is none). */
    int (*offset_load)(jdbc_conn_t *c, const char *name, char **text);
    /* Queues the upsert of (name, offset) into sluice_offsets in the open transaction. */
    int (*offset_store)(jdbc_conn_t *c, const char *name, const char *offset, size_t len);
    /* One line for `sluice check`: "PostgreSQL 15.8, database postgres". */
    void (*describe)(jdbc_conn_t *c, char *buf, size_t size);
} jdbc_target_t;

extern const jdbc_target_t jdbc_target_pg, jdbc_target_my, jdbc_target_sqlite;

/* Helpers for the targets' URL parsers: %XX and '+' decoded in place; returns the length. */
size_t jdbc_url_decode(char *s);
/* Collapses newlines and tabs (libpq's messages span lines) into single spaces and trims. */
void jdbc_one_line(char *m);

#endif
