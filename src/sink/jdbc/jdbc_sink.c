/*
 * jdbc_sink.c — the `jdbc` sink: applies change events to a relational database, exactly
 * once. The configuration keys are those of Debezium's JDBC sink connector, under
 * debezium.sink.jdbc.; the target database is chosen by connection.url and reached
 * through a jdbc_target_t (jdbc.h): PostgreSQL, MariaDB/MySQL, SQLite.
 *
 * How it works. Each event's value is Debezium JSON with its Connect schema; the schema is
 * parsed with jansson once per text (recognised by the event's schema_id), the payload
 * scanned with core/jscan.h (only up to its row when the table name needs nothing after
 * it); the table name comes from table.name.format, the columns and their
 * types from the schema of `after` (jdbc_types.c). The first event after a commit
 * opens a target transaction; every event becomes one statement (INSERT, upsert,
 * UPDATE, DELETE, TRUNCATE) sent as it is submitted, values always bound as parameters,
 * identifiers always quoted; runs of inserts of one statement shape are held back and sent
 * together (rows_add/rows_flush): a run of at least COPY_MIN_ROWS plain inserts (no
 * conflict clause, so insert.mode=insert; upserts never) goes out as one COPY where the
 * target has copy() (PostgreSQL), anything else as multi-row INSERTs of 2^k rows; runs
 * of UPDATEs of one shape on distinct keys go out as multi-row UPDATEs where the target
 * has multi_update() (PostgreSQL; rows_add_update/updates_flush). The
 * target may queue statements and read their results back only at commit (PostgreSQL's
 * pipeline). Connect schemas are parsed once per schema text (a small cache) and their
 * row fields prepared once (jdbc_field_t: type and logical name classified), so a row
 * costs no schema lookups; the payload and key of each event are read with the
 * allocation-free token scanner (core/jscan.h). The pipeline's flush_offset() then
 * stores the source position in sluice_offsets and commits, in the same transaction;
 * only after the COMMIT succeeded is every event of it reported delivered. offset_load()
 * reads that row back at start, so the source resumes right after the last committed
 * event.
 *
 * When something fails, the events of the open transaction are still at hand (pending[],
 * not yet reported), so the transaction can be rebuilt:
 *  - connection lost, or a transient refusal (deadlock, serialization failure, busy):
 *    wait (flush.retry.delay.ms, doubling up to a minute), reconnect if needed, and apply
 *    the pending events again in a new transaction; after flush.max.retries attempts the
 *    pipeline stops. Meanwhile the source keeps its connection alive behind the full
 *    queue.
 *  - a row the target refuses (constraint, type overflow) or a value that does not fit
 *    its schema: with errors.tolerance=none (default) the pipeline stops with the error;
 *    with errors.tolerance=all the transaction is applied again one event at a time,
 *    each inside a SAVEPOINT, and an event that fails is rolled back to its savepoint and
 *    written, with its error, topic, key, value and position, to the dead-letter table
 *    in the same transaction.
 *
 * Invariants:
 *  1. The target's rows, its dead letters and its sluice_offsets row change in one
 *     transaction: after a crash at any moment (sluice or target) the target holds
 *     exactly the events up to the stored position, none twice and none missing.
 *  2. An event is reported delivered only after the COMMIT that holds it returned OK
 *     (dead letters count as delivered: they are committed too). An error that is not
 *     recovered rolls back and reports every event of the transaction failed; the
 *     pipeline stops and a restart resumes from the committed position.
 *  3. The table cache mirrors the target only for committed DDL: a rollback drops it
 *     (tables and columns created inside the rolled-back transaction are gone). On a
 *     target whose DDL commits implicitly (MariaDB), the open transaction is rolled back
 *     before the DDL and rebuilt after it, so no row is committed without its position.
 *  4. Unchanged-TOAST placeholders never reach the target: such a column is left out of
 *     the statement.
 *  5. Values are never spliced into SQL text; identifiers are always quoted for the
 *     target with embedded quotes doubled.
 *  6. Batching changes how rows travel, never what the target holds: a COPY or a
 *     multi-row INSERT stores exactly the rows the single-row INSERTs would, or fails as
 *     one of them would (a key twice in plain inserts fails on the key either way; an
 *     upsert statement never holds a key twice; nor does a multi-row UPDATE, so each row
 *     is updated once by it, and a key seen again starts the next statement, which keeps
 *     the updates' order). Careful mode sends one statement per
 *     event, never COPY: the failing event must be found, and COPY stores all or nothing.
 *
 * States:  IDLE --submit/flush_offset: BEGIN--> IN_TXN --COMMIT ok--> IDLE (report ok)
 *          IN_TXN --error--> RECOVERING --rebuilt--> IN_TXN
 *                                       --gave up: ROLLBACK--> IDLE (report failed)
 *
 * References: Debezium JDBC sink connector documentation (keys, defaults, table naming:
 * dots in the resolved name become underscores; flush.max.retries); PostgreSQL INSERT
 * ... ON CONFLICT; MariaDB INSERT ... ON DUPLICATE KEY UPDATE and implicit commits; Kafka
 * Connect errors.tolerance.
 */
#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/backoff.h"
#include "core/log.h"
#include "core/plugin.h"
#include "sink/jdbc/jdbc.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define TARGET(snk) ((snk)->conn->target)
#define RETRY_DELAY_MAX_MS 60000

enum { MODE_INSERT, MODE_UPSERT, MODE_UPDATE };
enum { PK_NONE, PK_RECORD_KEY, PK_RECORD_VALUE };
enum { EVO_NONE, EVO_BASIC };

typedef struct tbl {
    char *name;
    char **cols;
    size_t ncols, cap;
    uint64_t checked_gen; /* the value schema whose columns are known to be here */
} tbl_t;

/* Statement parameters: values packed in one buffer (each NUL-terminated). */
typedef struct params {
    sl_buf_t b;
    size_t *off;
    jdbc_param_t *p;
    size_t n, cap;
} params_t;

/* A value schema, parsed once: its row fields (the after/before struct) prepared for
 * rendering values, so that a row costs no schema lookups. Reference-counted: a replay
 * nested in apply() may evict it from the cache while an outer apply() still uses it. */
typedef struct pfield {
    const char *name; /* the column */
    jdbc_field_t f;
} pfield_t;

typedef struct vplan {
    int refs;
    json_t *json;         /* the whole schema */
    const json_t *fields; /* the row struct's field array (NULL: none) */
    size_t n;
    pfield_t f[];
} vplan_t;

/* Inserts waiting to go out together: as multi-row INSERTs, or as one COPY (rows_add /
 * rows_flush); or updates of one shape, as multi-row UPDATEs (rows_add_update). */
typedef struct rows {
    sl_buf_t shape;             /* the single-row statement: what the batched rows share */
    sl_buf_t table;             /* the table's name (unquoted) */
    sl_buf_t sql;               /* the multi-row statement being sent */
    size_t vals_off, vals_len;  /* where its "(...)" tuple is */
    size_t tgt_off, tgt_len;    /* where its `"table" ("col", ...)` is (for COPY) */
    size_t ncols, n;            /* parameters per row, rows */
    size_t max;                 /* most rows held (stmt_max; when copyable COPY_FIRST_ROWS,
                                 * doubling per COPY of the transaction up to COPY_MAX_ROWS) */
    size_t stmt_max;            /* most rows per INSERT statement */
    bool copyable;              /* a plain INSERT (no conflict clause) into a COPY target */
    bool plain;                 /* no conflict clause: a key twice fails alike in one
                                 * statement or two, so keys need not be tracked */
    params_t p;                 /* the rows' parameters, one row after the other */
    uint64_t *keys;             /* hash of each row's key values (a key twice: flush first) */
    size_t cap_keys;
    uint64_t shape_id;          /* snk->sql_id of the shape (0: compare the text) */
    bool update;                /* UPDATEs: the SET columns, then the key columns, are */
    sl_buf_t ucols;             /* ... these names (each NUL-terminated), */
    size_t nset;                /* ... nset of them SET */
} rows_t;

struct sl_sink {
    sl_sink_env_t env;
    const jdbc_target_t *target;
    jdbc_conn_t *conn; /* NULL while reconnecting */
    char *url, *user, *password;
    int insert_mode, pk_mode, evolution;
    bool delete_enabled, truncate_enabled, key_schemas, value_schemas;
    bool tolerate; /* errors.tolerance=all */
    char *dlq_table;
    char **pk_fields;
    char *table_format;
    const char **ucols; /* apply_row: an UPDATE's column names (SET, then key) */
    size_t cap_ucols;
    bool fmt_source; /* table_format has ${source.*} placeholders */
    bool fmt_fixed;  /* ... and only source.db/schema/table, fixed for a relation */
    /* table_format's result for the last topic (and value schema, when the format has
     * source fields: only with fmt_fixed) */
    struct {
        bool valid;
        uint64_t sid; /* 0 when the format has no source field */
        sl_buf_t topic, name;
    } tn;
    char *offsets_name;
    int64_t batch_size;
    sl_backoff_t retry;
    bool committed; /* a commit succeeded since the last failure (the retry schedule restarts) */
    bool in_txn;
    bool careful;   /* one savepoint per event until the transaction ends (dead letters) */
    bool rebuilding; /* inside rebuild(): no nested rebuilds */
    sl_event_t **pending;
    size_t npending, cap_pending;
    size_t napplied; /* pending[0..napplied) are applied in the open transaction */
    size_t ndead;   /* dead letters written in the open transaction */
    tbl_t *tables;
    size_t ntables, cap_tables;
    uint64_t tables_epoch; /* counts tables_clear() calls */
    unsigned copies;       /* COPYs sent in the open transaction (COPY_FIRST_ROWS) */
    sl_buf_t sql;
    uint64_t sql_id; /* sql is kept statement number sql_id (snk->stmt.id), 0: unknown */
    params_t p;
    rows_t rows;
    /* The statement of the last row that had all its fields (INSERT, upsert or UPDATE), for
     * the next row of the same table, schema and key columns (most rows): which fields it
     * takes and its text, so that such a row costs no name comparisons and no quoting
     * (apply_row). */
    struct stmt_shape {
        bool valid;
        const vplan_t *vp;
        uint64_t gen; /* vp's */
        int mode; /* MODE_UPDATE: UPDATE ... SET (fields SHAPE_IN) WHERE (the key) */
        uint64_t epoch;     /* snk->tables_epoch then */
        size_t tcols;       /* the table's column count then (columns are only added) */
        sl_buf_t tname, pk; /* table name; key column names, each NUL-terminated */
        size_t npk;
        uint8_t *fl; /* per field of vp: SHAPE_IN, SHAPE_PK */
        size_t cap_fl;
        sl_buf_t sql;
        uint64_t id, next_id; /* this statement's number (rows_fit); the next one's */
        size_t tgt_off, tgt_len, vals_off, vals_len;
    } stmt;
    /* value schemas by their exact text: parsed once (events of a table carry the same
     * schema text; parsing it for every row was most of the sink's CPU); `gen` tells a
     * table which schema it was last checked against */
    struct vschema {
        char *text;
        size_t len;
        vplan_t *plan;
        uint64_t gen;
        uint64_t sid; /* the newest event schema_id seen with this text (0: none) */
    } vschemas[8];
    size_t last_schema, evict_next;
    uint64_t gen_next;
    /* the events' values and keys, scanned (one pair per apply() nesting level) */
    sl_jdoc_t vdoc[4], kdoc[4];
    size_t depth;
    sl_buf_t scratch; /* unescaped names */
    char err[1024];
};

static int apply(sl_sink_t *snk, const sl_event_t *ev);
static int run_ddl(sl_sink_t *snk, const char *what, const char *ddl);

/* ---- small helpers -------------------------------------------------------------------------- */

void jdbc_one_line(char *m)
{
    char *o = m;
    for (char *p = m; *p; p++) {
        if (*p == '\n' || *p == '\t' || *p == '\r') {
            if (o > m && o[-1] != ' ')
                *o++ = ' ';
        } else {
            *o++ = *p;
        }
    }
    while (o > m && o[-1] == ' ')
        o--;
    *o = 0;
}

size_t jdbc_url_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
            char h[3] = {p[1], p[2], 0};
            *o++ = (char)strtol(h, NULL, 16);
            p += 2;
        } else {
            *o++ = *p == '+' ? ' ' : *p;
        }
    }
    *o = 0;
    return (size_t)(o - s);
}

static void quote_ident(const sl_sink_t *snk, sl_buf_t *b, const char *s)
{
    char q = snk->target->quote;
    sl_buf_addc(b, q);
    for (; *s; s++) {
        if (*s == q)
            sl_buf_addc(b, q);
        sl_buf_addc(b, *s);
    }
    sl_buf_addc(b, q);
}

/* Parameter marker number `num` (1-based; parameters are added in the order their
 * markers appear, so '?' works). */
static void placeholder(const sl_sink_t *snk, sl_buf_t *b, size_t num)
{
    if (!snk->target->numbered_params) {
        sl_buf_addc(b, '?');
        return;
    }
    char d[24], *p = d + sizeof d;
    do
        *--p = (char)('0' + num % 10);
    while ((num /= 10) != 0);
    *--p = '$';
    sl_buf_add(b, p, (size_t)(d + sizeof d - p));
}

/* The target's error, for the log and for last_error(). */
static void take_conn_err(sl_sink_t *snk)
{
    if (snk->conn && snk->conn->err[0])
        snprintf(snk->err, sizeof snk->err, "%s", snk->conn->err);
}

static void params_reset(params_t *p)
{
    sl_buf_reset(&p->b);
    p->n = 0;
}

static int params_grow(params_t *p)
{
    if (p->n < p->cap)
        return SL_OK;
    size_t nc = p->cap ? p->cap * 2 : 64;
    size_t *o = realloc(p->off, nc * sizeof *o);
    if (o)
        p->off = o;
    jdbc_param_t *np = realloc(p->p, nc * sizeof *np);
    if (np)
        p->p = np;
    if (!o || !np)
        return SL_ERR_NOMEM;
    p->cap = nc;
    return SL_OK;
}

/* Adds one parameter (the value converted for its schema); returns its number. */
static int params_add(sl_sink_t *snk, const jdbc_field_t *fs, jdbc_val_t v, const char *col,
                      size_t *num)
{
    params_t *p = &snk->p;
    if (params_grow(p) != SL_OK)
        return SL_ERR_NOMEM;
    char e[256];
    jdbc_param_t *x = &p->p[p->n];
    p->off[p->n] = p->b.len;
    if (jdbc_field_value(snk->target->dialect, fs, v, &p->b, &x->is_null, &x->is_blob, e,
                         sizeof e) != 0) {
        snprintf(snk->err, sizeof snk->err, "column \"%s\": %s", col, e);
        return SL_ERR_PROTO;
    }
    x->len = p->b.len - p->off[p->n];
    sl_buf_addc(&p->b, 0);
    *num = ++p->n;
    return sl_buf_ok(&p->b) ? SL_OK : SL_ERR_NOMEM;
}

static void params_fix(params_t *p, size_t from, size_t n)
{
    for (size_t i = from; i < from + n; i++) /* the buffer may have moved while it grew */
        p->p[i].data = p->b.data + p->off[i];
}

/* ---- multi-row inserts ------------------------------------------------------------------------ */

#define ROWS_MAX 128          /* rows per INSERT statement */
#define ROWS_MAX_PARAMS 32766 /* parameters per statement (SQLite's default limit) */
/* COPY pays a few round trips (the pipeline is drained, COPY starts, its result is read),
 * so a run goes out as COPY only from COPY_MIN_ROWS rows on; a run longer than
 * COPY_MAX_ROWS rows or COPY_MAX_BYTES bytes of values is sent in several COPYs. */
#define COPY_MIN_ROWS 64
#define COPY_MAX_ROWS 4096
/* The first COPY of a target transaction takes at most this many rows, each next one twice
 * as many (up to COPY_MAX_ROWS): the target loads a COPY while the sink prepares the rows
 * of the next one, so a transaction's rows are not all waited for at its COMMIT. */
#define COPY_FIRST_ROWS 256
#define COPY_MAX_BYTES (4u << 20)

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 0x100000001b3ULL;
    return h;
}

/* Forgets the waiting rows (their transaction is rolled back). */
static void rows_reset(sl_sink_t *snk)
{
    snk->rows.n = 0;
    snk->rows.p.n = 0;
    sl_buf_reset(&snk->rows.p.b);
}

/* [<table>.]<c> = <alias>.<c>, quoted */
static void col_from_alias(const sl_sink_t *snk, sl_buf_t *s, const char *table,
                           const char *alias, const char *c)
{
    if (table) {
        quote_ident(snk, s, table);
        sl_buf_addc(s, '.');
    }
    quote_ident(snk, s, c);
    sl_buf_adds(s, " = ");
    quote_ident(snk, s, alias);
    sl_buf_addc(s, '.');
    quote_ident(snk, s, c);
}

/* The multi-row UPDATE of k rows (see updates_flush) into r->sql; the alias ("v" below)
 * is sluice_rows, or sluice_rows_ when that is the table's own name. */
static void update_sql(const sl_sink_t *snk, rows_t *r, size_t k)
{
    const char *t = r->table.data, *c;
    const char *alias = strcmp(t, "sluice_rows") == 0 ? "sluice_rows_" : "sluice_rows";
    sl_buf_t *s = &r->sql;
    sl_buf_adds(s, "UPDATE ");
    quote_ident(snk, s, t);
    sl_buf_adds(s, " SET ");
    c = r->ucols.data;
    for (size_t i = 0; i < r->nset; i++, c += strlen(c) + 1) {
        sl_buf_adds(s, i ? ", " : "");
        col_from_alias(snk, s, NULL, alias, c);
    }
    sl_buf_adds(s, " FROM (SELECT ");
    c = r->ucols.data;
    for (size_t i = 0; i < r->ncols; i++, c += strlen(c) + 1) {
        sl_buf_adds(s, i ? ", " : "");
        quote_ident(snk, s, c);
    }
    sl_buf_adds(s, " FROM ");
    quote_ident(snk, s, t);
    sl_buf_adds(s, " WHERE false");
    for (size_t row = 0; row < k; row++) {
        sl_buf_adds(s, " UNION ALL SELECT ");
        for (size_t i = 0; i < r->ncols; i++) {
            sl_buf_adds(s, i ? ", " : "");
            placeholder(snk, s, row * r->ncols + i + 1);
        }
    }
    sl_buf_adds(s, ") AS ");
    quote_ident(snk, s, alias);
    sl_buf_adds(s, " WHERE ");
    c = r->ucols.data;
    for (size_t i = 0; i < r->ncols; i++, c += strlen(c) + 1) {
        if (i >= r->nset) {
            sl_buf_adds(s, i > r->nset ? " AND " : "");
            col_from_alias(snk, s, t, alias, c);
        }
    }
}

/* The waiting UPDATEs (rows_add_update): statements of 2^k rows, largest first, of the form
 *   UPDATE "t" SET "a" = "v"."a", ... FROM (SELECT "a", ..., "id" FROM "t" WHERE false
 *     UNION ALL SELECT $1, ..., $n UNION ALL ...) AS "v" WHERE "t"."id" = "v"."id" AND ...
 * whose first branch gives the parameters the columns' types (as the single-row UPDATE's
 * assignments do) and returns no row. Keys are distinct within a run, so each row is
 * joined once. A single row, or any row of a table that is not plain (a view, rules: the
 * target says), goes as the single-row statement. */
static int updates_flush(sl_sink_t *snk)
{
    rows_t *r = &snk->rows;
    bool multi = TARGET(snk)->multi_update &&
                 TARGET(snk)->multi_update(snk->conn, r->table.data);
    size_t done = 0;
    int rc = SL_OK;
    while (done < r->n && rc == SL_OK) {
        size_t k = 1;
        while (multi && k * 2 <= r->n - done && k * 2 <= r->stmt_max)
            k *= 2;
        sl_buf_t *s = &r->sql;
        sl_buf_reset(s);
        if (k == 1)
            sl_buf_add(s, r->shape.data, r->shape.len);
        else
            update_sql(snk, r, k);
        rc = sl_buf_ok(s) ? TARGET(snk)->exec(snk->conn, "UPDATE failed", s->data,
                                               r->p.p + done * r->ncols, k * r->ncols, true)
                          : SL_ERR_NOMEM;
        done += k;
    }
    return rc;
}

/* Sends the waiting rows: one COPY when the run is long enough and the target has it
 * (never in careful mode: COPY stores all rows or none, and careful mode must find the
 * one that fails); otherwise statements of 2^k rows (largest first), so that only a few
 * statement texts ever exist and each is prepared once. */
static int rows_flush(sl_sink_t *snk)
{
    rows_t *r = &snk->rows;
    if (r->n == 0)
        return SL_OK;
    params_fix(&r->p, 0, r->p.n);
    if (r->update) {
        int rc = updates_flush(snk);
        rows_reset(snk);
        return rc;
    }
    const char *shape = r->shape.data;
    size_t done = 0;
    int rc = SL_OK;
    if (r->copyable && r->n >= COPY_MIN_ROWS && !snk->careful) {
        rc = TARGET(snk)->copy(snk->conn, "COPY failed", r->table.data, shape + r->tgt_off,
                               r->tgt_len, r->p.p, r->n, r->ncols);
        if (rc == SL_ERR_UNSUPPORTED) { /* a view, or rules: INSERTs do what the user meant */
            rc = SL_OK;
        } else {
            done = r->n;
            snk->copies++;
        }
    }
    while (done < r->n && rc == SL_OK) {
        size_t k = 1;
        while (k * 2 <= r->n - done && k * 2 <= r->stmt_max)
            k *= 2;
        sl_buf_reset(&r->sql);
        sl_buf_add(&r->sql, shape, r->vals_off);
        for (size_t row = 0; row < k; row++) {
            sl_buf_adds(&r->sql, row ? ", (" : "(");
            for (size_t c = 0; c < r->ncols; c++) {
                if (c)
                    sl_buf_adds(&r->sql, ", ");
                placeholder(snk, &r->sql, row * r->ncols + c + 1);
            }
            sl_buf_addc(&r->sql, ')');
        }
        sl_buf_adds(&r->sql, shape + r->vals_off + r->vals_len);
        rc = sl_buf_ok(&r->sql)
                 ? TARGET(snk)->exec(snk->conn, "INSERT failed", r->sql.data,
                                     r->p.p + done * r->ncols, k * r->ncols, true)
                 : SL_ERR_NOMEM;
        done += k;
    }
    rows_reset(snk);
    return rc;
}

/* A new run of rows with the shape of snk->sql: `"table" (cols)` at tgt_off/tgt_len, the
 * "(...)" tuple at vals_off/vals_len; anything after the tuple is a conflict clause. */
static int rows_start(sl_sink_t *snk, const char *tname, size_t tgt_off, size_t tgt_len,
                      size_t vals_off, size_t vals_len)
{
    rows_t *r = &snk->rows;
    sl_buf_reset(&r->shape);
    sl_buf_add(&r->shape, snk->sql.data, snk->sql.len);
    sl_buf_reset(&r->table);
    sl_buf_adds(&r->table, tname);
    if (!sl_buf_ok(&r->shape) || !sl_buf_ok(&r->table))
        return SL_ERR_NOMEM;
    r->tgt_off = tgt_off;
    r->tgt_len = tgt_len;
    r->vals_off = vals_off;
    r->vals_len = vals_len;
    r->ncols = snk->p.n;
    r->shape_id = snk->sql_id;
    size_t by_params = r->ncols ? ROWS_MAX_PARAMS / r->ncols : ROWS_MAX;
    r->stmt_max = by_params < ROWS_MAX ? (by_params ? by_params : 1) : ROWS_MAX;
    r->plain = vals_off + vals_len == snk->sql.len;
    r->copyable = r->plain && r->ncols > 0 && TARGET(snk)->copy != NULL;
    r->max = r->stmt_max;
    if (r->copyable) { /* COPY_FIRST_ROWS, doubling per COPY of the transaction */
        r->max = COPY_FIRST_ROWS;
        for (unsigned i = 0; i < snk->copies && r->max < COPY_MAX_ROWS; i++)
            r->max *= 2;
    }
    r->update = false;
    return SL_OK;
}

/* Whether the row in snk->sql / snk->p can join the waiting ones. */
static bool rows_fit(const sl_sink_t *snk, uint64_t key_hash)
{
    const rows_t *r = &snk->rows;
    if (!r->n || r->n >= r->max)
        return false;
    if (!(r->shape_id && r->shape_id == snk->sql_id) && /* the same kept statement */
        (r->shape.len != snk->sql.len || memcmp(r->shape.data, snk->sql.data, snk->sql.len) != 0))
        return false;
    if (r->copyable && r->p.b.len >= COPY_MAX_BYTES)
        return false;
    for (size_t i = 0; !r->plain && i < r->n; i++)
        if (r->keys[i] == key_hash) /* an upsert must not touch a row twice */
            return false;
    return true;
}

static int rows_push(sl_sink_t *snk, uint64_t key_hash);

/* Queues the single-row INSERT in snk->sql / snk->p (see rows_start for the offsets) to go
 * out with the rows of the same statement shape before it. */
static int rows_add(sl_sink_t *snk, const char *tname, size_t tgt_off, size_t tgt_len,
                    size_t vals_off, size_t vals_len, uint64_t key_hash)
{
    rows_t *r = &snk->rows;
    int rc;
    if (!rows_fit(snk, key_hash) && (rc = rows_flush(snk)) != SL_OK)
        return rc;
    if (r->n == 0 &&
        (rc = rows_start(snk, tname, tgt_off, tgt_len, vals_off, vals_len)) != SL_OK)
        return rc;
    return rows_push(snk, key_hash);
}

/* Queues the single-row UPDATE in snk->sql / snk->p, whose parameters are the `nset`
 * SET columns' and then the key columns' (names in `cols`), to go out with the updates
 * of the same shape before it (rows_flush: one statement for up to stmt_max rows). The
 * same key twice starts a new run, so each row is updated once per statement, in order. */
static int rows_add_update(sl_sink_t *snk, const char *tname, const char **cols, size_t nset,
                           size_t ncols, uint64_t key_hash)
{
    rows_t *r = &snk->rows;
    int rc;
    if (!rows_fit(snk, key_hash) && (rc = rows_flush(snk)) != SL_OK)
        return rc;
    if (r->n == 0) {
        if ((rc = rows_start(snk, tname, 0, 0, 0, 0)) != SL_OK)
            return rc;
        r->update = true;
        r->plain = r->copyable = false;
        r->max = r->stmt_max;
        r->nset = nset;
        sl_buf_reset(&r->ucols);
        for (size_t i = 0; i < ncols; i++)
            sl_buf_add(&r->ucols, cols[i], strlen(cols[i]) + 1);
        if (!sl_buf_ok(&r->ucols))
            return SL_ERR_NOMEM;
    }
    return rows_push(snk, key_hash);
}

/* Adds the row in snk->p to the run started for it. */
static int rows_push(sl_sink_t *snk, uint64_t key_hash)
{
    rows_t *r = &snk->rows;
    uint64_t *nk = sl_grow_array(r->keys, &r->cap_keys, r->n + 1, sizeof *nk, ROWS_MAX);
    if (!nk)
        return SL_ERR_NOMEM;
    r->keys = nk;
    r->keys[r->n] = key_hash;
    for (size_t i = 0; i < snk->p.n; i++) {
        if (params_grow(&r->p) != SL_OK)
            return SL_ERR_NOMEM;
        r->p.off[r->p.n] = r->p.b.len;
        r->p.p[r->p.n] = snk->p.p[i];
        sl_buf_add(&r->p.b, snk->p.b.data + snk->p.off[i], snk->p.p[i].len + 1);
        r->p.n++;
    }
    r->n++;
    return sl_buf_ok(&r->p.b) ? SL_OK : SL_ERR_NOMEM;
}

/* Runs snk->sql with the parameters collected in snk->p (a statement shape that repeats),
 * after the rows waiting before it. */
static int exec_params(sl_sink_t *snk, const char *what, const char *sql)
{
    int rc = rows_flush(snk);
    if (rc != SL_OK)
        return rc;
    params_fix(&snk->p, 0, snk->p.n);
    return TARGET(snk)->exec(snk->conn, what, sql, snk->p.p, snk->p.n, true);
}

/* ---- table cache ----------------------------------------------------------------------------- */

static void tbl_free(tbl_t *t)
{
    for (size_t j = 0; j < t->ncols; j++)
        free(t->cols[j]);
    free(t->cols);
    free(t->name);
}

static void tables_clear(sl_sink_t *snk)
{
    for (size_t i = 0; i < snk->ntables; i++)
        tbl_free(&snk->tables[i]);
    snk->ntables = 0;
    snk->tables_epoch++;
}

static int tables_grow(sl_sink_t *snk)
{
    tbl_t *nt = sl_grow_array(snk->tables, &snk->cap_tables, snk->ntables + 1, sizeof *nt, 8);
    if (!nt)
        return SL_ERR_NOMEM;
    snk->tables = nt;
    return SL_OK;
}

/* Whether the table has `col`, compared as the target compares names (MariaDB and
 * SQLite: case-insensitively). */
static bool tbl_has(const sl_sink_t *snk, const tbl_t *t, const char *col)
{
    bool ci = snk->target->ci_idents;
    for (size_t i = 0; i < t->ncols; i++)
        if ((ci ? strcasecmp(t->cols[i], col) : strcmp(t->cols[i], col)) == 0)
            return true;
    return false;
}

/* A name the target would cut (PostgreSQL at 63 bytes, with only a notice) could silently
 * become another table's or column's name: refused instead. */
static int ident_check(sl_sink_t *snk, const char *what, const char *name)
{
    size_t max = snk->target->max_ident_len, len = strlen(name);
    if (max == 0 || len <= max)
        return SL_OK;
    snprintf(snk->err, sizeof snk->err,
             "%s name \"%.80s...\" is %zu bytes, longer than %s's %zu: it would be cut and could "
             "collide with another (shorten it, e.g. with debezium.sink.jdbc.table.name.format)",
             what, name, len, snk->target->name, max);
    return SL_ERR_PROTO;
}

static int tbl_add_col(tbl_t *t, const char *col)
{
    char **c = sl_grow_array(t->cols, &t->cap, t->ncols + 1, sizeof *c, 16);
    if (!c)
        return SL_ERR_NOMEM;
    t->cols = c;
    if (!(t->cols[t->ncols] = strdup(col)))
        return SL_ERR_NOMEM;
    t->ncols++;
    return SL_OK;
}

/* The after/before struct's field list from a value schema. */
static const json_t *row_fields(const json_t *vschema)
{
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(vschema, "fields"), i, f)
    {
        const char *name = json_string_value(json_object_get(f, "field"));
        if (name && (strcmp(name, "after") == 0 || strcmp(name, "before") == 0))
            return json_object_get(f, "fields");
    }
    return NULL;
}

static const jdbc_field_t *field_schema(const vplan_t *vp, const char *name)
{
    for (size_t i = 0; i < vp->n; i++)
        if (strcmp(vp->f[i].name, name) == 0)
            return &vp->f[i].f;
    return NULL;
}

static bool usable(const sl_sink_t *snk, const json_t *f)
{
    sl_buf_t t = SL_BUF_INIT;
    bool ok = jdbc_col_type(TARGET(snk)->dialect, f, false, &t);
    sl_buf_free(&t);
    return ok;
}

static int add_column_def(const sl_sink_t *snk, sl_buf_t *b, const json_t *f, bool is_key,
                          bool not_null)
{
    quote_ident(snk, b, json_string_value(json_object_get(f, "field")));
    sl_buf_addc(b, ' ');
    if (!jdbc_col_type(TARGET(snk)->dialect, f, is_key, b))
        return SL_ERR_UNSUPPORTED;
    if (not_null)
        sl_buf_adds(b, " NOT NULL");
    return SL_OK;
}

static int tbl_add_cb(void *opaque, const char *col) { return tbl_add_col(opaque, col); }

static tbl_t *tbl_find(sl_sink_t *snk, const char *name)
{
    for (size_t i = 0; i < snk->ntables; i++)
        if (strcmp(snk->tables[i].name, name) == 0)
            return &snk->tables[i];
    return NULL;
}

/* Drops `name` from the cache (it is read again from the catalog next time). */
static void tbl_forget(sl_sink_t *snk, const char *name)
{
    tbl_t *t = tbl_find(snk, name);
    if (t) {
        tbl_free(t);
        *t = snk->tables[--snk->ntables];
    }
}

/* The CREATE TABLE for `fields`, with `pk` as primary key. */
static void create_table_sql(const sl_sink_t *snk, sl_buf_t *ddl, const char *name,
                             const json_t *fields, char **pk, size_t npk)
{
    sl_buf_adds(ddl, "CREATE TABLE ");
    quote_ident(snk, ddl, name);
    sl_buf_adds(ddl, " (");
    size_t i, ncols = 0;
    const json_t *f;
    json_array_foreach(fields, i, f)
    {
        if (!usable(snk, f))
            continue;
        const char *fname = json_string_value(json_object_get(f, "field"));
        bool is_pk = false;
        for (size_t k = 0; k < npk; k++)
            is_pk |= strcmp(pk[k], fname) == 0;
        if (ncols++)
            sl_buf_adds(ddl, ", ");
        (void)add_column_def(snk, ddl, f, is_pk,
                             is_pk || json_is_false(json_object_get(f, "optional")));
    }
    if (npk) {
        sl_buf_adds(ddl, ", PRIMARY KEY (");
        for (size_t k = 0; k < npk; k++) {
            if (k)
                sl_buf_adds(ddl, ", ");
            quote_ident(snk, ddl, pk[k]);
        }
        sl_buf_addc(ddl, ')');
    }
    sl_buf_addc(ddl, ')');
    if (snk->target->table_options)
        sl_buf_adds(ddl, snk->target->table_options);
}

/* Finds the target table `name`, reading its columns from the catalog the first time.
 * fields == NULL: only look (NULL result when it does not exist). Otherwise create it
 * (schema.evolution=basic) with `pk` as primary key, and add the columns it lacks, once
 * per value schema (`gen`). After any DDL the table is looked up afresh: run_ddl() may
 * have replayed events (MariaDB), which can move or clear the cache. */
static int table_get(sl_sink_t *snk, const char *name, const json_t *fields, uint64_t gen,
                     char **pk, size_t npk, tbl_t **out)
{
    *out = NULL;
    tbl_t *t = tbl_find(snk, name);
    int rc;
    if (!t && (rc = ident_check(snk, "table", name)) != SL_OK)
        return rc;
    if (!t) {
        tbl_t tmp = {0};
        bool exists = false;
        rc = TARGET(snk)->columns(snk->conn, name, &exists, tbl_add_cb, &tmp);
        if (rc == SL_OK && exists && !(tmp.name = strdup(name)))
            rc = SL_ERR_NOMEM;
        if (rc == SL_OK && exists && (rc = tables_grow(snk)) == SL_OK) {
            t = &snk->tables[snk->ntables++];
            *t = tmp;
        } else {
            tbl_free(&tmp);
        }
        if (rc != SL_OK || (!exists && !fields))
            return rc;
        if (!exists) {
            if (snk->evolution != EVO_BASIC) {
                snprintf(snk->err, sizeof snk->err,
                         "target table \"%s\" does not exist (create it, or set "
                         "debezium.sink.jdbc.schema.evolution=basic)",
                         name);
                return SL_ERR_SERVER;
            }
            size_t i;
            const json_t *f;
            json_array_foreach(fields, i, f)
            {
                const char *fname = json_string_value(json_object_get(f, "field"));
                if (fname && usable(snk, f) && (rc = ident_check(snk, "column", fname)) != SL_OK)
                    return rc;
            }
            sl_buf_t ddl = SL_BUF_INIT;
            create_table_sql(snk, &ddl, name, fields, pk, npk);
            rc = sl_buf_ok(&ddl) ? run_ddl(snk, "could not create the target table", ddl.data)
                                 : SL_ERR_NOMEM;
            sl_buf_free(&ddl);
            if (rc != SL_OK)
                return rc;
            sl_info("jdbc sink: created table \"%s\"", name);
            return table_get(snk, name, fields, gen, pk, npk, out);
        }
    }
    /* schema evolution: columns the event has and the table lacks (once per schema) */
    if (!fields || (gen && t->checked_gen == gen)) {
        *out = t;
        return SL_OK;
    }
    size_t i;
    const json_t *f;
    json_array_foreach(fields, i, f)
    {
        const char *fname = json_string_value(json_object_get(f, "field"));
        if (!fname || !usable(snk, f) || tbl_has(snk, t, fname))
            continue;
        if ((rc = ident_check(snk, "column", fname)) != SL_OK)
            return rc;
        if (snk->evolution != EVO_BASIC) {
            snprintf(snk->err, sizeof snk->err,
                     "target table \"%s\" has no column \"%s\" (add it, or set "
                     "debezium.sink.jdbc.schema.evolution=basic)",
                     name, fname);
            return SL_ERR_SERVER;
        }
        sl_buf_t ddl = SL_BUF_INIT;
        sl_buf_adds(&ddl, "ALTER TABLE ");
        quote_ident(snk, &ddl, name);
        sl_buf_adds(&ddl, " ADD COLUMN ");
        (void)add_column_def(snk, &ddl, f, false, false); /* existing rows have no value */
        rc = sl_buf_ok(&ddl) ? run_ddl(snk, "could not add a column", ddl.data) : SL_ERR_NOMEM;
        sl_buf_free(&ddl);
        if (rc != SL_OK)
            return rc;
        sl_info("jdbc sink: added column \"%s\" to table \"%s\"", fname, name);
        tbl_forget(snk, name);
        return table_get(snk, name, fields, gen, pk, npk, out);
    }
    t->checked_gen = gen;
    *out = t;
    return SL_OK;
}

/* ---- transactions ---------------------------------------------------------------------------- */

static int txn_begin(sl_sink_t *snk)
{
    if (snk->in_txn)
        return SL_OK;
    int rc = TARGET(snk)->begin(snk->conn);
    if (rc == SL_OK) {
        snk->in_txn = true;
        snk->copies = 0;
    }
    return rc;
}

/* Ends the open transaction without storing anything. */
static void txn_rollback(sl_sink_t *snk)
{
    rows_reset(snk);
    if (snk->conn)
        TARGET(snk)->rollback(snk->conn);
    snk->in_txn = false;
    snk->ndead = 0;
    tables_clear(snk); /* invariant 3 */
}

/* Reports every pending event (err == SL_OK only after their COMMIT). */
static void report(sl_sink_t *snk, int err)
{
    size_t n = snk->npending;
    snk->npending = 0;
    for (size_t i = 0; i < n; i++)
        snk->env.on_delivery(snk->env.opaque, snk->pending[i], err);
}

/* Rolls back and reports every event of the transaction failed (invariant 2). */
static void txn_abort(sl_sink_t *snk, int err)
{
    txn_rollback(snk);
    snk->careful = false;
    report(snk, err);
}

static int conn_open(sl_sink_t *snk)
{
    char e[sizeof snk->err];
    e[0] = 0;
    int rc = snk->target->open(&snk->conn, snk->url, snk->user, snk->password, e, sizeof e);
    if (rc != SL_OK) {
        snk->conn = NULL;
        snprintf(snk->err, sizeof snk->err, "%s", e);
    }
    return rc;
}

/* Records a failure in the retry schedule and sleeps; false when the attempts are used up
 * or sluice is stopping. */
static bool retry_wait(sl_sink_t *snk)
{
    if (!sl_backoff_failed(&snk->retry, snk->committed)) {
        sl_error("jdbc sink: giving up after %" PRId64 " attempts "
                 "(debezium.sink.jdbc.flush.max.retries)",
                 snk->retry.attempt);
        return false;
    }
    snk->committed = false;
    sl_warn("jdbc sink: %s; retrying in %" PRId64 " ms (attempt %" PRId64 ")", snk->err,
            snk->retry.delay_ms, snk->retry.attempt);
    return sl_backoff_wait_sig(&snk->retry, snk->env.stop);
}

/* Waits and reconnects until connected, or the attempts are used up (SL_ERR_CONN). */
static int reconnect(sl_sink_t *snk)
{
    txn_rollback(snk);
    if (snk->conn) {
        snk->target->close(snk->conn);
        snk->conn = NULL;
    }
    do {
        if (!retry_wait(snk))
            return SL_ERR_CONN;
    } while (conn_open(snk) != SL_OK);
    sl_info("jdbc sink: reconnected to the target");
    return SL_OK;
}

static int apply_careful(sl_sink_t *snk, const sl_event_t *ev);

static int apply_one(sl_sink_t *snk, const sl_event_t *ev)
{
    return snk->careful ? apply_careful(snk, ev) : apply(snk, ev);
}

/* Applies pending[0..n) in the open transaction (one savepoint each in careful mode). */
static int replay(sl_sink_t *snk, size_t n)
{
    int rc = SL_OK;
    for (size_t i = 0; i < n && rc == SL_OK; i++) {
        snk->napplied = i;
        rc = apply_one(snk, snk->pending[i]);
    }
    snk->napplied = n;
    return rc;
}

/* Runs a CREATE/ALTER TABLE in the open transaction; where DDL commits implicitly
 * (MariaDB), between two transactions instead: the open one is rolled back, the DDL runs
 * alone, and the events applied so far are applied again (invariant 3). The table cache
 * is kept: on such a target every DDL it knows of is committed. */
static int run_ddl(sl_sink_t *snk, const char *what, const char *ddl)
{
    const jdbc_target_t *t = TARGET(snk);
    if (!t->ddl_commits || !snk->in_txn) {
        int rc = rows_flush(snk);
        return rc == SL_OK ? t->exec(snk->conn, what, ddl, NULL, 0, false) : rc;
    }
    size_t n = snk->napplied;
    rows_reset(snk);
    t->rollback(snk->conn);
    snk->in_txn = false;
    snk->ndead = 0;
    int rc = t->exec(snk->conn, what, ddl, NULL, 0, false);
    if (rc == SL_OK)
        rc = t->sync(snk->conn);
    if (rc == SL_OK)
        rc = txn_begin(snk);
    if (rc == SL_OK)
        rc = replay(snk, n);
    if (rc == SL_OK && snk->careful) /* apply_careful's savepoint went with the rollback */
        rc = t->exec(snk->conn, "SAVEPOINT failed", "SAVEPOINT sluice_event", NULL, 0, false);
    return rc;
}

/* ---- dead letters ---------------------------------------------------------------------------- */

static const char *const dlq_cols[] = {"pipeline", "failed_at", "topic", "position",
                                       "error",    "key",       "value"};

static int dlq_create(sl_sink_t *snk)
{
    json_t *str = json_pack("{s:s}", "type", "string");
    if (!str)
        return SL_ERR_NOMEM;
    sl_buf_t ddl = SL_BUF_INIT;
    sl_buf_adds(&ddl, "CREATE TABLE IF NOT EXISTS ");
    quote_ident(snk, &ddl, snk->dlq_table);
    for (size_t i = 0; i < N(dlq_cols); i++) {
        sl_buf_adds(&ddl, i ? ", " : " (");
        quote_ident(snk, &ddl, dlq_cols[i]); /* "key" is reserved in MariaDB */
        sl_buf_addc(&ddl, ' ');
        (void)jdbc_col_type(snk->target->dialect, str, false, &ddl);
    }
    sl_buf_addc(&ddl, ')');
    if (snk->target->table_options)
        sl_buf_adds(&ddl, snk->target->table_options);
    json_decref(str);
    int rc = sl_buf_ok(&ddl) ? TARGET(snk)->exec(snk->conn, "could not create the dead-letter table",
                                                 ddl.data, NULL, 0, false)
                             : SL_ERR_NOMEM;
    if (rc == SL_OK)
        rc = TARGET(snk)->sync(snk->conn);
    sl_buf_free(&ddl);
    return rc;
}

static int params_text(sl_sink_t *snk, const char *s, size_t len)
{
    params_t *p = &snk->p;
    if (params_grow(p) != SL_OK)
        return SL_ERR_NOMEM;
    p->off[p->n] = p->b.len;
    p->p[p->n] = (jdbc_param_t){.len = len, .is_null = s == NULL};
    if (s)
        sl_buf_add(&p->b, s, len);
    sl_buf_addc(&p->b, 0);
    p->n++;
    return sl_buf_ok(&p->b) ? SL_OK : SL_ERR_NOMEM;
}

/* Writes `ev` with `why` into the dead-letter table, in the open transaction. */
static int dlq_write(sl_sink_t *snk, const sl_event_t *ev, const char *why)
{
    char now[40], pos[96], l1[20], l2[20];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(pos, sizeof pos, "txn %s lsn %s index %" PRId64, sl_lsn_fmt(ev->pos.txn_lsn, l1),
             sl_lsn_fmt(ev->pos.lsn, l2), ev->pos.index);
    sl_buf_reset(&snk->sql);
    params_reset(&snk->p);
    sl_buf_adds(&snk->sql, "INSERT INTO ");
    quote_ident(snk, &snk->sql, snk->dlq_table);
    for (size_t i = 0; i < N(dlq_cols); i++) {
        sl_buf_adds(&snk->sql, i ? ", " : " (");
        quote_ident(snk, &snk->sql, dlq_cols[i]);
    }
    sl_buf_adds(&snk->sql, ") VALUES (");
    for (size_t i = 1; i <= 7; i++) {
        if (i > 1)
            sl_buf_adds(&snk->sql, ", ");
        placeholder(snk, &snk->sql, i);
    }
    sl_buf_addc(&snk->sql, ')');
    int rc = params_text(snk, snk->offsets_name, strlen(snk->offsets_name));
    if (rc == SL_OK)
        rc = params_text(snk, now, strlen(now));
    if (rc == SL_OK)
        rc = params_text(snk, ev->topic, ev->topic_len);
    if (rc == SL_OK)
        rc = params_text(snk, pos, strlen(pos));
    if (rc == SL_OK)
        rc = params_text(snk, why, strlen(why));
    /* key and value as any other sink would write them: joined with their schemas */
    sl_buf_t k = SL_BUF_INIT, v = SL_BUF_INIT;
    sl_event_join(ev, false, &k);
    sl_event_join(ev, true, &v);
    if (rc == SL_OK)
        rc = !sl_buf_ok(&k) || !sl_buf_ok(&v) ? SL_ERR_NOMEM
                                              : params_text(snk, ev->key ? k.data : NULL, k.len);
    if (rc == SL_OK)
        rc = params_text(snk, ev->value ? v.data : NULL, v.len);
    sl_buf_free(&k);
    sl_buf_free(&v);
    if (rc == SL_OK)
        rc = sl_buf_ok(&snk->sql) ? exec_params(snk, "could not write a dead letter", snk->sql.data)
                                  : SL_ERR_NOMEM;
    if (rc == SL_OK) {
        snk->ndead++;
        sl_warn("jdbc sink: event on topic %s (%s) written to dead-letter table %s: %s", ev->topic,
                pos, snk->dlq_table, why);
    }
    return rc;
}

/* An error that sends the event to the dead-letter table (errors.tolerance=all): the
 * target refused the row for good, or the value does not fit its schema. */
static bool dead_letter_error(const sl_sink_t *snk, int rc)
{
    return snk->tolerate && (rc == SL_ERR_PROTO ||
                             (rc == SL_ERR_SERVER && snk->conn && !snk->conn->transient));
}

/* One event inside its own savepoint; if the target refuses it, the savepoint is rolled
 * back and the event becomes a dead letter. */
static int apply_careful(sl_sink_t *snk, const sl_event_t *ev)
{
    const jdbc_target_t *t = TARGET(snk);
    int rc = t->exec(snk->conn, "SAVEPOINT failed", "SAVEPOINT sluice_event", NULL, 0, false);
    if (rc != SL_OK)
        return rc;
    rc = apply(snk, ev);
    if (rc == SL_OK)
        rc = t->sync(snk->conn);
    if (rc != SL_OK) {
        if (!dead_letter_error(snk, rc))
            return rc;
        if (rc == SL_ERR_SERVER)
            take_conn_err(snk);
        char why[sizeof snk->err];
        memcpy(why, snk->err, sizeof why);
        rc = t->exec(snk->conn, "ROLLBACK TO SAVEPOINT failed", "ROLLBACK TO SAVEPOINT sluice_event",
                     NULL, 0, false);
        tables_clear(snk); /* DDL of this event may be undone too */
        if (rc == SL_OK)
            rc = dlq_write(snk, ev, why);
    }
    if (rc == SL_OK)
        rc = t->exec(snk->conn, "RELEASE SAVEPOINT failed", "RELEASE SAVEPOINT sluice_event", NULL,
                     0, false);
    return rc;
}

/* After `rc` from applying or committing: rebuilds the open transaction (pending[] applied
 * again) when the error allows it — see the file comment. SL_OK when rebuilt; otherwise
 * the error to stop with (snk->err says why). */
static int recover(sl_sink_t *snk, int rc)
{
    if (snk->rebuilding)
        return rc; /* the outer recover() decides */
    bool tried_careful = false;
    while (rc != SL_OK) {
        if (rc == SL_ERR_SERVER || rc == SL_ERR_CONN)
            take_conn_err(snk);
        bool transient = rc == SL_ERR_CONN || (rc == SL_ERR_SERVER && snk->conn->transient);
        bool dead = !transient && dead_letter_error(snk, rc);
        if ((!transient && !dead) || (dead && tried_careful))
            return rc;
        if (rc == SL_ERR_CONN) {
            if ((rc = reconnect(snk)) != SL_OK)
                return rc;
        } else if (transient) {
            txn_rollback(snk);
            if (!retry_wait(snk))
                return rc;
        }
        tried_careful |= dead;
        txn_rollback(snk);
        snk->rebuilding = true;
        snk->careful |= dead; /* until the transaction ends: later refusals cost no rebuild */
        rc = txn_begin(snk);
        if (rc == SL_OK)
            rc = replay(snk, snk->npending);
        snk->rebuilding = false;
    }
    return SL_OK;
}

/* Stores the position (when given) and commits; reports the pending events. */
static int txn_commit(sl_sink_t *snk, const char *offset, size_t offset_len)
{
    int rc = SL_OK;
    for (;;) {
        rc = rows_flush(snk);
        if (rc == SL_OK && offset && (rc = txn_begin(snk)) == SL_OK)
            rc = TARGET(snk)->offset_store(snk->conn, snk->offsets_name, offset, offset_len);
        if (rc == SL_OK && snk->in_txn)
            rc = TARGET(snk)->commit(snk->conn);
        if (rc == SL_OK)
            break;
        if (rc == SL_ERR_CONN && offset) {
            /* did the COMMIT land before the connection went? its offsets row says */
            take_conn_err(snk);
            char *stored = NULL;
            if ((rc = reconnect(snk)) == SL_OK &&
                (rc = TARGET(snk)->offset_load(snk->conn, snk->offsets_name, &stored)) == SL_OK &&
                stored && strlen(stored) == offset_len && memcmp(stored, offset, offset_len) == 0) {
                free(stored);
                sl_info("jdbc sink: the transaction was committed before the connection was lost");
                break;
            }
            free(stored);
            if (rc == SL_OK) /* not committed: apply it again */
                rc = txn_begin(snk);
            if (rc == SL_OK)
                rc = replay(snk, snk->npending);
        }
        if (rc != SL_OK && (rc = recover(snk, rc)) != SL_OK) {
            sl_error("jdbc sink: %s", snk->err);
            txn_abort(snk, rc);
            return rc;
        }
    }
    snk->in_txn = false;
    snk->careful = false;
    snk->committed = true;
    if (snk->ndead)
        sl_warn("jdbc sink: committed %zu events, %zu of them as dead letters in %s",
                snk->npending, snk->ndead, snk->dlq_table);
    snk->ndead = 0;
    report(snk, SL_OK);
    return SL_OK;
}

/* ---- applying one event ---------------------------------------------------------------------- */

/* table.name.format with ${topic}, ${source.table}, ${source.schema}, ${source.db}; dots
 * in the result become underscores (Debezium's DefaultTableNamingStrategy). */
static int table_name(sl_sink_t *snk, const sl_event_t *ev, jdbc_val_t source, sl_buf_t *out)
{
    const char *f = snk->table_format;
    while (*f) {
        if (f[0] == '$' && f[1] == '{') {
            const char *end = strchr(f, '}');
            if (end) {
                size_t l = (size_t)(end - f - 2);
                const char *key = f + 2, *val = NULL;
                size_t val_len = 0;
                if (l == 5 && strncmp(key, "topic", 5) == 0) {
                    val = ev->topic;
                    val_len = ev->topic_len;
                } else if (l > 7 && strncmp(key, "source.", 7) == 0) {
                    char k[64];
                    snprintf(k, sizeof k, "%.*s", (int)(l - 7), key + 7);
                    int tok = sl_jdoc_get(source.doc, source.tok, k, strlen(k), NULL);
                    if (!sl_jdoc_str(source.doc, tok, &snk->scratch, &val, &val_len)) {
                        snprintf(snk->err, sizeof snk->err,
                                 "table.name.format: the event's source block has no '%s'", k);
                        return SL_ERR_CONFIG;
                    }
                } else {
                    snprintf(snk->err, sizeof snk->err,
                             "table.name.format: unknown placeholder '%.*s'", (int)(l + 3), f);
                    return SL_ERR_CONFIG;
                }
                sl_buf_add(out, val, val_len);
                f = end + 1;
                continue;
            }
        }
        sl_buf_addc(out, *f++);
    }
    for (size_t i = 0; i < out->len; i++)
        if (out->data[i] == '.')
            out->data[i] = '_';
    return sl_buf_ok(out) ? SL_OK : SL_ERR_NOMEM;
}

/* Which source fields table.name.format uses (fmt_source, fmt_fixed). */
static void table_format_scan(sl_sink_t *snk)
{
    static const char *const fixed[] = {"${source.db}", "${source.schema}", "${source.table}"};
    snk->fmt_fixed = true;
    for (const char *f = snk->table_format; (f = strstr(f, "${source.")) != NULL; f++) {
        snk->fmt_source = true;
        bool ok = false;
        for (size_t i = 0; i < N(fixed); i++)
            ok |= strncmp(f, fixed[i], strlen(fixed[i])) == 0;
        snk->fmt_fixed &= ok;
    }
}

/* Whether the last name made can serve `ev`, and under which schema id it is kept: the
 * format's result depends on the topic only, or, with source fields fixed for a relation,
 * on the topic and the value schema. */
static bool table_name_cacheable(const sl_sink_t *snk, const sl_event_t *ev, uint64_t *sid)
{
    *sid = snk->fmt_source ? ev->schema_id : 0;
    return !snk->fmt_source || (snk->fmt_fixed && ev->schema_id);
}

static void table_name_remember(sl_sink_t *snk, const sl_event_t *ev, const sl_buf_t *name)
{
    uint64_t sid;
    if (!table_name_cacheable(snk, ev, &sid))
        return;
    sl_buf_reset(&snk->tn.topic);
    sl_buf_reset(&snk->tn.name);
    sl_buf_add(&snk->tn.topic, ev->topic, ev->topic_len);
    sl_buf_add(&snk->tn.name, name->data, name->len);
    snk->tn.sid = sid;
    snk->tn.valid = sl_buf_ok(&snk->tn.topic) && sl_buf_ok(&snk->tn.name);
}

/* The table name of an event when it is known without its source block: from the last
 * name made (table_name_cacheable), or made now when the format uses no source field. */
static bool table_name_known(sl_sink_t *snk, const sl_event_t *ev, sl_buf_t *out)
{
    uint64_t sid;
    if (table_name_cacheable(snk, ev, &sid) && snk->tn.valid && snk->tn.sid == sid &&
        snk->tn.topic.len == ev->topic_len &&
        memcmp(snk->tn.topic.data, ev->topic, ev->topic_len) == 0) {
        sl_buf_add(out, snk->tn.name.data, snk->tn.name.len);
        return sl_buf_ok(out);
    }
    if (snk->fmt_source || table_name(snk, ev, (jdbc_val_t){NULL, -1}, out) != SL_OK)
        return false;
    table_name_remember(snk, ev, out);
    return true;
}

/* Primary key column names of one event (pk_columns). They live in the caller's frame, or
 * in one malloc'd block when they do not fit (pk_free), so a nested replay cannot clobber
 * them and the usual key costs no allocation. */
typedef struct pk_list {
    const char **a;
    size_t n;
    const char *small[8];
    char text[256];
} pk_list_t;

static void pk_free(pk_list_t *pk)
{
    if (pk->a && pk->a != pk->small)
        free(pk->a);
}

/* The i-th key column name (false past the last); *name may point into snk->scratch. */
static bool pk_name(sl_sink_t *snk, jdbc_val_t key, const vplan_t *vp, uint32_t *x, size_t i,
                    const char **name, size_t *len, bool *nomem)
{
    if (snk->pk_fields) {
        if (!snk->pk_fields[i])
            return false;
        *name = snk->pk_fields[i];
        *len = strlen(*name);
        return true;
    }
    if (snk->pk_mode == PK_RECORD_KEY) { /* the key's members, *x walks them */
        if (sl_jdoc_type(key.doc, key.tok) != SL_JT_OBJ)
            return false;
        const sl_jtok_t *t = key.doc->t;
        if (i == 0)
            *x = (uint32_t)key.tok + 1;
        else
            *x = t[*x + 1].next;
        if (*x >= t[key.tok].next)
            return false;
        *nomem = !sl_jdoc_str(key.doc, (int)*x, &snk->scratch, name, len);
        return !*nomem;
    }
    if (i >= vp->n)
        return false;
    *name = vp->f[i].name;
    *len = strlen(*name);
    return true;
}

/* Primary key column names for this event into *pk (pk_free releases them). */
static int pk_columns(sl_sink_t *snk, jdbc_val_t key, const vplan_t *vp, pk_list_t *pk)
{
    pk->a = NULL;
    pk->n = 0;
    if (snk->pk_mode == PK_NONE)
        return SL_OK;
    const char *name;
    size_t len, k = 0, bytes = 0;
    uint32_t x = 0;
    bool nomem = false;
    for (; pk_name(snk, key, vp, &x, k, &name, &len, &nomem); k++)
        bytes += len + 1;
    if (nomem)
        return SL_ERR_NOMEM;
    if (k == 0) {
        snprintf(snk->err, sizeof snk->err,
                 "primary.key.mode=%s but the event has no %s to take the key from",
                 snk->pk_mode == PK_RECORD_KEY ? "record_key" : "record_value",
                 snk->pk_mode == PK_RECORD_KEY ? "key" : "fields");
        return SL_ERR_PROTO;
    }
    char *p;
    if (k <= N(pk->small) && bytes <= sizeof pk->text) {
        pk->a = pk->small;
        p = pk->text;
    } else {
        if (!(pk->a = malloc(k * sizeof *pk->a + bytes)))
            return SL_ERR_NOMEM;
        p = (char *)(pk->a + k);
    }
    for (size_t i = 0; i < k; i++) { /* a name unescaped into scratch is copied at once */
        if (!pk_name(snk, key, vp, &x, i, &name, &len, &nomem)) {
            pk_free(pk);
            pk->a = NULL;
            return SL_ERR_NOMEM;
        }
        memcpy(p, name, len);
        p[len] = 0;
        pk->a[i] = p;
        p += len + 1;
    }
    pk->n = k;
    return SL_OK;
}

static bool in_list(const char **a, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] && strcmp(a[i], s) == 0)
            return true;
    return false;
}

/* WHERE pk1 = $a AND pk2 = $b ...; key values from `src` (key payload or a row image).
 * Without `text`, the parameters only (the statement is known: snk->stmt). */
static int add_where(sl_sink_t *snk, const vplan_t *vp, jdbc_val_t src, const char **pk,
                     size_t npk, bool text)
{
    if (text)
        sl_buf_adds(&snk->sql, " WHERE ");
    for (size_t k = 0; k < npk; k++) {
        const jdbc_field_t *fs = field_schema(vp, pk[k]);
        jdbc_val_t v = {src.doc, sl_jdoc_get(src.doc, src.tok, pk[k], strlen(pk[k]), NULL)};
        if (!fs || v.tok < 0) {
            snprintf(snk->err, sizeof snk->err, "primary key column \"%s\" is not in the event",
                     pk[k]);
            return SL_ERR_PROTO;
        }
        size_t num;
        int rc = params_add(snk, fs, v, pk[k], &num);
        if (rc != SL_OK)
            return rc;
        if (!text)
            continue;
        if (k)
            sl_buf_adds(&snk->sql, " AND ");
        quote_ident(snk, &snk->sql, pk[k]);
        sl_buf_adds(&snk->sql, " = ");
        placeholder(snk, &snk->sql, num);
    }
    return SL_OK;
}

/* Field `c` of row object `row` (tok -1 when absent); `hint` makes lookups in the
 * schema's field order one step each. */
static jdbc_val_t row_value(jdbc_val_t row, const char *c, int *hint)
{
    jdbc_val_t v = {row.doc, c ? sl_jdoc_get(row.doc, row.tok, c, strlen(c), hint) : -1};
    return v;
}

/* The upsert's conflict clause: every non-key column the row sets takes the new value. */
static void upsert_clause(const sl_sink_t *snk, sl_buf_t *s, const tbl_t *t, const vplan_t *vp,
                          jdbc_val_t row, char op, const char **pk, size_t npk)
{
    bool dup = snk->target->upsert_on_duplicate;
    if (dup) {
        sl_buf_adds(s, " ON DUPLICATE KEY UPDATE ");
    } else {
        sl_buf_adds(s, " ON CONFLICT (");
        for (size_t k = 0; k < npk; k++) {
            if (k)
                sl_buf_adds(s, ", ");
            quote_ident(snk, s, pk[k]);
        }
        sl_buf_adds(s, ") DO ");
    }
    size_t nset = 0;
    int hint = 0;
    for (size_t i = 0; i < vp->n; i++) {
        const char *c = vp->f[i].name;
        jdbc_val_t v = row_value(row, c, &hint);
        if (!tbl_has(snk, t, c) || in_list(pk, npk, c) || (op == 'u' && jdbc_is_unavailable(v)))
            continue; /* invariant 4 */
        sl_buf_adds(s, nset++ ? ", " : dup ? "" : "UPDATE SET ");
        quote_ident(snk, s, c);
        sl_buf_adds(s, dup ? " = VALUES(" : " = EXCLUDED.");
        quote_ident(snk, s, c);
        if (dup)
            sl_buf_addc(s, ')');
    }
    if (nset == 0 && dup && npk) { /* only key columns: keep the row as it is */
        quote_ident(snk, s, pk[0]);
        sl_buf_adds(s, " = ");
        quote_ident(snk, s, pk[0]);
    } else if (nset == 0 && !dup) {
        sl_buf_adds(s, "NOTHING");
    }
}

#define SHAPE_IN 1u /* the statement takes this field */
#define SHAPE_PK 2u /* ... and it is a key column */
#define FNV_BASIS 0xcbf29ce484222325ULL

/* Where an INSERT's parts sit in snk->sql (rows_start). */
typedef struct insert_at {
    size_t tgt_off, tgt_len, vals_off, vals_len;
} insert_at_t;

/* Whether snk->stmt is the statement for a row of this table, schema, mode and key. */
static bool shape_fits(const sl_sink_t *snk, const char *tname, const tbl_t *t,
                        const vplan_t *vp, uint64_t gen, int mode, const char **pk, size_t npk)
{
    const struct stmt_shape *h = &snk->stmt;
    if (!h->valid || h->vp != vp || h->gen != gen || h->mode != mode ||
        h->epoch != snk->tables_epoch || h->tcols != t->ncols || h->npk != npk ||
        strcmp(h->tname.data, tname) != 0)
        return false;
    const char *p = h->pk.data;
    for (size_t k = 0; k < npk; k++, p += strlen(p) + 1)
        if (strcmp(p, pk[k]) != 0)
            return false;
    return true;
}

/* The row's parameters and statement by snk->stmt (shape_fits). SL_ERR_AGAIN: a field it
 * takes is an unchanged TOAST value, which this row's statement must leave out. An
 * UPDATE's SET columns go to snk->ucols (*nset of them), its key values come from `where`
 * (update_stmt). */
static int shape_params(sl_sink_t *snk, const vplan_t *vp, jdbc_val_t row, char op,
                         jdbc_val_t where, const char **pk, size_t npk, insert_at_t *at,
                         size_t *nset, uint64_t *key_hash)
{
    const struct stmt_shape *h = &snk->stmt;
    bool update = h->mode == MODE_UPDATE;
    int hint = 0, rc;
    *key_hash = FNV_BASIS;
    *nset = 0;
    for (size_t i = 0; i < vp->n; i++) {
        if (!(h->fl[i] & SHAPE_IN))
            continue;
        jdbc_val_t v = row_value(row, vp->f[i].name, &hint);
        if ((op == 'u' || update) && jdbc_is_unavailable(v))
            return SL_ERR_AGAIN;
        size_t num;
        if ((rc = params_add(snk, &vp->f[i].f, v, vp->f[i].name, &num)) != SL_OK)
            return rc;
        if (update)
            snk->ucols[(*nset)++] = vp->f[i].name;
        if (h->fl[i] & SHAPE_PK)
            *key_hash = fnv1a(*key_hash, snk->p.b.data + snk->p.off[num - 1],
                              snk->p.p[num - 1].len + 1);
    }
    if (update && (rc = add_where(snk, vp, where, pk, npk, false)) != SL_OK)
        return rc;
    *at = (insert_at_t){h->tgt_off, h->tgt_len, h->vals_off, h->vals_len};
    sl_buf_reset(&snk->sql);
    sl_buf_add(&snk->sql, h->sql.data, h->sql.len);
    snk->sql_id = h->id;
    return sl_buf_ok(&snk->sql) ? SL_OK : SL_ERR_NOMEM;
}

/* Keeps the statement in snk->sql (whose fields are marked in snk->stmt.fl) for the rows
 * after it. */
static void shape_keep(sl_sink_t *snk, const char *tname, const tbl_t *t, const vplan_t *vp,
                        uint64_t gen, int mode, const char **pk, size_t npk,
                        const insert_at_t *at)
{
    struct stmt_shape *h = &snk->stmt;
    sl_buf_reset(&h->sql);
    sl_buf_add(&h->sql, snk->sql.data, snk->sql.len);
    sl_buf_reset(&h->tname);
    sl_buf_add(&h->tname, tname, strlen(tname) + 1);
    sl_buf_reset(&h->pk);
    for (size_t k = 0; k < npk; k++)
        sl_buf_add(&h->pk, pk[k], strlen(pk[k]) + 1);
    h->vp = vp;
    h->gen = gen;
    h->mode = mode;
    h->epoch = snk->tables_epoch;
    h->tcols = t->ncols;
    h->npk = npk;
    h->tgt_off = at->tgt_off;
    h->tgt_len = at->tgt_len;
    h->vals_off = at->vals_off;
    h->vals_len = at->vals_len;
    h->valid = sl_buf_ok(&h->sql) && sl_buf_ok(&h->tname) && sl_buf_ok(&h->pk);
    h->id = ++h->next_id;
    snk->sql_id = h->valid ? h->id : 0;
}

/* Forgets the kept statement while the next one is built: its per-field marks, one per
 * field of vp (NULL on out of memory). */
static uint8_t *shape_begin(sl_sink_t *snk, const vplan_t *vp)
{
    struct stmt_shape *h = &snk->stmt;
    uint8_t *fl = sl_grow_array(h->fl, &h->cap_fl, vp->n ? vp->n : 1, 1, 16);
    if (fl)
        h->fl = fl;
    h->valid = false;
    snk->sql_id = 0; /* the statement about to be built is compared by its text */
    return fl;
}

/* Builds the row's INSERT (or upsert) in snk->sql / snk->p, and keeps it in snk->stmt for
 * the rows after it when no field was left out for being an unchanged TOAST value. */
static int insert_stmt(sl_sink_t *snk, char op, int mode, const char *tname, const tbl_t *t,
                      const vplan_t *vp, uint64_t gen, jdbc_val_t row, const char **pk,
                      size_t npk, insert_at_t *at, uint64_t *key_hash)
{
    sl_buf_t *s = &snk->sql;
    uint8_t *fl = shape_begin(snk, vp);
    if (!fl)
        return SL_ERR_NOMEM;
    bool complete = true;
    int hint = 0, rc;
    size_t ncols = 0;
    sl_buf_reset(s);
    sl_buf_adds(s, "INSERT INTO ");
    at->tgt_off = s->len;
    quote_ident(snk, s, tname);
    sl_buf_adds(s, " (");
    sl_buf_t vals = SL_BUF_INIT;
    *key_hash = FNV_BASIS;
    for (size_t i = 0; i < vp->n; i++) {
        const char *c = vp->f[i].name;
        jdbc_val_t v = row_value(row, c, &hint);
        fl[i] = 0;
        if (!tbl_has(snk, t, c))
            continue;
        if (op == 'u' && jdbc_is_unavailable(v)) { /* invariant 4 */
            complete = false;
            continue;
        }
        size_t num;
        if ((rc = params_add(snk, &vp->f[i].f, v, c, &num)) != SL_OK) {
            sl_buf_free(&vals);
            return rc;
        }
        fl[i] = SHAPE_IN;
        if (in_list(pk, npk, c)) {
            fl[i] |= SHAPE_PK;
            const jdbc_param_t *x = &snk->p.p[num - 1];
            *key_hash = fnv1a(*key_hash, snk->p.b.data + snk->p.off[num - 1], x->len + 1);
        }
        if (ncols++) {
            sl_buf_adds(s, ", ");
            sl_buf_adds(&vals, ", ");
        }
        quote_ident(snk, s, c);
        placeholder(snk, &vals, num);
    }
    sl_buf_addc(s, ')');
    at->tgt_len = s->len - at->tgt_off;
    sl_buf_adds(s, " VALUES ");
    at->vals_off = s->len;
    sl_buf_addc(s, '(');
    sl_buf_add(s, vals.data, vals.len);
    sl_buf_addc(s, ')');
    at->vals_len = s->len - at->vals_off;
    sl_buf_free(&vals);
    if (mode == MODE_UPSERT)
        upsert_clause(snk, s, t, vp, row, op, pk, npk);
    if (!sl_buf_ok(s))
        return SL_ERR_NOMEM;
    if (complete)
        shape_keep(snk, tname, t, vp, gen, mode, pk, npk, at);
    return SL_OK;
}

/* The UPDATE of the row (mode MODE_UPDATE) in snk->sql / snk->p, its SET columns in
 * snk->ucols (*nset of them; 0: nothing to set, no statement), key values from `where`;
 * kept in snk->stmt like insert_stmt's. */
static int update_stmt(sl_sink_t *snk, const char *tname, const tbl_t *t, const vplan_t *vp,
                       uint64_t gen, jdbc_val_t row, jdbc_val_t where, const char **pk,
                       size_t npk, size_t *nset, uint64_t *key_hash)
{
    sl_buf_t *s = &snk->sql;
    uint8_t *fl = shape_begin(snk, vp);
    if (!fl)
        return SL_ERR_NOMEM;
    bool complete = true;
    int hint = 0, rc;
    *nset = 0;
    *key_hash = FNV_BASIS;
    sl_buf_reset(s);
    sl_buf_adds(s, "UPDATE ");
    quote_ident(snk, s, tname);
    sl_buf_adds(s, " SET ");
    for (size_t i = 0; i < vp->n; i++) {
        const char *c = vp->f[i].name;
        jdbc_val_t v = row_value(row, c, &hint);
        fl[i] = 0;
        if (!tbl_has(snk, t, c) || in_list(pk, npk, c))
            continue;
        if (jdbc_is_unavailable(v)) { /* invariant 4 */
            complete = false;
            continue;
        }
        size_t num;
        if ((rc = params_add(snk, &vp->f[i].f, v, c, &num)) != SL_OK)
            return rc;
        fl[i] = SHAPE_IN;
        snk->ucols[*nset] = c;
        if ((*nset)++)
            sl_buf_adds(s, ", ");
        quote_ident(snk, s, c);
        sl_buf_adds(s, " = ");
        placeholder(snk, s, num);
    }
    if (*nset == 0) /* nothing but the key (or only unchanged TOAST values) */
        return SL_OK;
    if ((rc = add_where(snk, vp, where, pk, npk, true)) != SL_OK)
        return rc;
    if (!sl_buf_ok(s))
        return SL_ERR_NOMEM;
    if (complete)
        shape_keep(snk, tname, t, vp, gen, MODE_UPDATE, pk, npk, &(insert_at_t){0});
    return SL_OK;
}

static int apply_row(sl_sink_t *snk, char op, const char *tname, const vplan_t *vp,
                     uint64_t gen, jdbc_val_t row, jdbc_val_t key)
{
    pk_list_t pkl;
    int rc = pk_columns(snk, key, vp, &pkl);
    if (rc != SL_OK)
        return rc;
    const char **pk = pkl.a;
    size_t npk = pkl.n;
    tbl_t *t;
    if ((rc = table_get(snk, tname, vp->fields, gen, (char **)pk, npk, &t)) != SL_OK)
        goto out;
    int mode = snk->insert_mode;
    if (mode == MODE_INSERT && op == 'u' && npk)
        mode = MODE_UPDATE; /* an update of an existing row, never a second insert */
    sl_buf_t *s = &snk->sql;
    sl_buf_reset(s);
    params_reset(&snk->p);
    size_t ncols = 0;
    if (mode == MODE_UPDATE) {
        const char **uc = sl_grow_array(snk->ucols, &snk->cap_ucols, vp->n + npk, sizeof *uc, 16);
        if (!uc) {
            rc = SL_ERR_NOMEM;
            goto out;
        }
        snk->ucols = uc;
        jdbc_val_t where = snk->pk_mode == PK_RECORD_KEY ? key : row;
        insert_at_t at;
        uint64_t key_hash;
        if (!shape_fits(snk, tname, t, vp, gen, mode, pk, npk) ||
            (rc = shape_params(snk, vp, row, op, where, pk, npk, &at, &ncols, &key_hash)) ==
                SL_ERR_AGAIN) {
            params_reset(&snk->p);
            rc = update_stmt(snk, tname, t, vp, gen, row, where, pk, npk, &ncols, &key_hash);
        }
        if (rc != SL_OK || ncols == 0)
            goto out;
        if (!snk->careful && TARGET(snk)->multi_update && npk) {
            for (size_t k = 0; k < npk; k++) {
                size_t x = ncols + k;
                snk->ucols[x] = pk[k];
                key_hash = fnv1a(key_hash, snk->p.b.data + snk->p.off[x], snk->p.p[x].len + 1);
            }
            rc = sl_buf_ok(s) ? rows_add_update(snk, tname, snk->ucols, ncols, ncols + npk,
                                                key_hash)
                              : SL_ERR_NOMEM;
            goto out;
        }
    } else {
        insert_at_t at;
        uint64_t key_hash;
        if (!shape_fits(snk, tname, t, vp, gen, mode, pk, npk) ||
            (rc = shape_params(snk, vp, row, op, row, pk, npk, &at, &ncols, &key_hash)) ==
                SL_ERR_AGAIN) {
            params_reset(&snk->p);
            rc = insert_stmt(snk, op, mode, tname, t, vp, gen, row, pk, npk, &at, &key_hash);
        }
        if (rc != SL_OK)
            goto out;
        if (!snk->careful) { /* careful mode: one statement per event, to find the bad one */
            rc = sl_buf_ok(s) ? rows_add(snk, tname, at.tgt_off, at.tgt_len, at.vals_off,
                                         at.vals_len, key_hash)
                              : SL_ERR_NOMEM;
            goto out;
        }
    }
    if (!sl_buf_ok(s)) {
        rc = SL_ERR_NOMEM;
        goto out;
    }
    rc = exec_params(snk, mode == MODE_UPDATE ? "UPDATE failed" : "INSERT failed", s->data);
out:
    pk_free(&pkl);
    return rc;
}

static int apply_delete(sl_sink_t *snk, const char *tname, const vplan_t *vp,
                        jdbc_val_t before, jdbc_val_t key)
{
    jdbc_val_t src = snk->pk_mode == PK_RECORD_KEY ? key : before;
    pk_list_t pkl;
    int rc = pk_columns(snk, key, vp, &pkl);
    if (rc != SL_OK)
        return rc;
    const char **pk = pkl.a;
    size_t npk = pkl.n;
    tbl_t *t;
    if ((rc = table_get(snk, tname, NULL, 0, NULL, 0, &t)) != SL_OK || !t)
        goto out; /* no table: nothing to delete */
    sl_buf_reset(&snk->sql);
    params_reset(&snk->p);
    sl_buf_adds(&snk->sql, "DELETE FROM ");
    quote_ident(snk, &snk->sql, tname);
    if ((rc = add_where(snk, vp, src, pk, npk, true)) != SL_OK)
        goto out;
    rc = sl_buf_ok(&snk->sql) ? exec_params(snk, "DELETE failed", snk->sql.data) : SL_ERR_NOMEM;
out:
    pk_free(&pkl);
    return rc;
}

static int apply_truncate(sl_sink_t *snk, const char *tname)
{
    tbl_t *t;
    int rc = table_get(snk, tname, NULL, 0, NULL, 0, &t);
    if (rc != SL_OK || !t)
        return rc;
    if ((rc = rows_flush(snk)) != SL_OK)
        return rc;
    sl_buf_reset(&snk->sql);
    sl_buf_adds(&snk->sql, TARGET(snk)->truncate_sql);
    quote_ident(snk, &snk->sql, tname);
    return sl_buf_ok(&snk->sql)
               ? TARGET(snk)->exec(snk->conn, "TRUNCATE failed", snk->sql.data, NULL, 0, false)
               : SL_ERR_NOMEM;
}

/* Skips one JSON value starting at s[i] (after whitespace); returns the index after it,
 * or 0 when the text is not well formed as far as this scan can tell. Strings are
 * skipped with their escapes; the full parse of the parts happens later. */
static size_t skip_value(const char *s, size_t len, size_t i)
{
    int depth = 0;
    bool started = false;
    while (i < len) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < len && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            if (i >= len)
                return 0;
            i++;
            started = true;
        } else if (c == '{' || c == '[') {
            depth++;
            started = true;
            i++;
        } else if (c == '}' || c == ']') {
            if (--depth < 0)
                return 0;
            i++;
        } else if (c == ',' && depth == 0) {
            break;
        } else {
            if (!isspace((unsigned char)c))
                started = true;
            i++;
        }
        if (started && depth == 0 && (c == '}' || c == ']' || c == '"'))
            break;
    }
    return depth == 0 && started ? i : 0;
}

/* {"schema":S,"payload":P} (the converter's layout): the offsets of S and P. `known` is
 * the text of a complete schema seen before: when S starts with it, S is exactly it (a
 * JSON value's text determines where it ends) and is not scanned again; `same` says the
 * event's schema_id vouches for that without comparing. *hit: S is `known`. */
static bool split_envelope(const char *v, size_t len, const char *known, size_t known_len,
                           bool same, size_t *so, size_t *sl, size_t *po, size_t *pl, bool *hit)
{
    static const char a[] = "{\"schema\":", b[] = ",\"payload\":";
    *hit = false;
    if (len < sizeof a + sizeof b || memcmp(v, a, sizeof a - 1) != 0)
        return false;
    size_t s0 = sizeof a - 1, s1;
    if (known && known_len && s0 + known_len + sizeof b - 1 <= len &&
        (same || memcmp(v + s0, known, known_len) == 0) &&
        memcmp(v + s0 + known_len, b, sizeof b - 1) == 0) {
        s1 = s0 + known_len;
        *hit = true;
    } else {
        s1 = skip_value(v, len, s0);
    }
    if (!s1 || s1 + sizeof b - 1 > len || memcmp(v + s1, b, sizeof b - 1) != 0)
        return false;
    size_t p0 = s1 + sizeof b - 1, end = len;
    while (end > p0 && isspace((unsigned char)v[end - 1]))
        end--;
    if (end <= p0 + 1 || v[end - 1] != '}')
        return false;
    *so = s0;
    *sl = s1 - s0;
    *po = p0;
    *pl = end - 1 - p0;
    return true;
}

static void vplan_unref(vplan_t *vp)
{
    if (vp && --vp->refs == 0) {
        json_decref(vp->json);
        free(vp);
    }
}

/* Parses schema text t and prepares its row fields (fields without a name are skipped, as
 * they always were); NULL when it is not JSON or on out of memory. */
static vplan_t *vplan_new(const char *t, size_t len)
{
    json_error_t je;
    json_t *json = json_loadb(t, len, 0, &je);
    if (!json)
        return NULL;
    const json_t *fields = row_fields(json);
    size_t n = json_array_size(fields);
    vplan_t *vp = malloc(sizeof *vp + n * sizeof vp->f[0]);
    if (!vp) {
        json_decref(json);
        return NULL;
    }
    *vp = (vplan_t){.refs = 1, .json = json, .fields = fields};
    size_t i;
    const json_t *f;
    json_array_foreach(fields, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "field"));
        if (!name)
            continue;
        vp->f[vp->n].name = name;
        jdbc_field_init(&vp->f[vp->n].f, f);
        vp->n++;
    }
    return vp;
}

/* The cached schema an event's schema_id names (sl_event_t.schema_id), or NULL. */
static struct vschema *schema_by_id(sl_sink_t *snk, uint64_t sid)
{
    for (size_t k = 0; sid && k < N(snk->vschemas); k++) {
        size_t i = (snk->last_schema + k) % N(snk->vschemas);
        if (snk->vschemas[i].plan && snk->vschemas[i].sid == sid) {
            snk->last_schema = i;
            return &snk->vschemas[i];
        }
    }
    return NULL;
}

/* The prepared Connect schema for schema text t (from the cache when seen before), which
 * the event's schema_id `sid` (0: none) names from now on. */
static const struct vschema *value_schema(sl_sink_t *snk, const char *t, size_t len, uint64_t sid)
{
    for (size_t k = 0; k < N(snk->vschemas); k++) {
        size_t i = (snk->last_schema + k) % N(snk->vschemas);
        struct vschema *v = &snk->vschemas[i];
        if (v->plan && v->len == len && memcmp(v->text, t, len) == 0) {
            snk->last_schema = i;
            if (sid)
                v->sid = sid;
            return v;
        }
    }
    struct vschema *v = &snk->vschemas[snk->evict_next];
    vplan_unref(v->plan);
    free(v->text);
    v->plan = vplan_new(t, len);
    v->text = v->plan ? malloc(len ? len : 1) : NULL;
    if (!v->text) {
        vplan_unref(v->plan);
        v->plan = NULL;
        return NULL;
    }
    memcpy(v->text, t, len);
    v->len = len;
    v->sid = sid;
    v->gen = ++snk->gen_next;
    snk->last_schema = snk->evict_next;
    snk->evict_next = (snk->evict_next + 1) % N(snk->vschemas);
    return v;
}

/* Scanned documents for apply(): one pair per nesting level (a replay inside apply, when
 * DDL on MariaDB rebuilds the transaction, must not overwrite the outer event's). */
static int docs_for(sl_sink_t *snk, sl_jdoc_t **val, sl_jdoc_t **key)
{
    if (snk->depth >= N(snk->vdoc)) {
        snprintf(snk->err, sizeof snk->err, "internal: replays nested too deeply");
        return SL_ERR_TOO_BIG;
    }
    *val = &snk->vdoc[snk->depth];
    *key = &snk->kdoc[snk->depth];
    return SL_OK;
}

static int apply_event(sl_sink_t *snk, const sl_event_t *ev)
{
    char op = ev->op;
    if (!ev->value) /* tombstone: the delete before it did the work */
        return SL_OK;
    if (op != 'c' && op != 'r' && op != 'u' && op != 'd' && op != 't')
        return SL_OK; /* messages, heartbeats */
    if (op == 'd' && !snk->delete_enabled)
        return SL_OK;
    if (op == 't' && !snk->truncate_enabled)
        return SL_OK;
    sl_jdoc_t *vdoc, *kdoc;
    int rc = docs_for(snk, &vdoc, &kdoc);
    if (rc != SL_OK)
        return rc;
    vplan_t *vp = NULL; /* own reference: a replay may evict the cached one */
    uint64_t gen = 0;
    sl_buf_t tname = SL_BUF_INIT;
    bool named = table_name_known(snk, ev, &tname);
    jdbc_val_t payload = {vdoc, -1};
    size_t so, sl, po, pl;
    /* the schema the event's schema_id names (no text compare), else the last one used */
    const struct vschema *known = schema_by_id(snk, ev->schema_id), *vs = NULL;
    bool same = known != NULL, hit;
    if (!known)
        known = &snk->vschemas[snk->last_schema];
    if (ev->schema) {
        /* a split event: the payload alone, its schema by reference (event.h) */
        if ((rc = named ? sl_jdoc_parse_until(vdoc, ev->value, ev->value_len, "after", 5)
                        : sl_jdoc_parse(vdoc, ev->value, ev->value_len)) == SL_OK)
            payload.tok = 0;
        if (ev->schema->value)
            vs = same ? known
                      : value_schema(snk, ev->schema->value, ev->schema->value_len, ev->schema_id);
    } else if (split_envelope(ev->value, ev->value_len, known->plan ? known->text : NULL,
                              known->len, same, &so, &sl, &po, &pl, &hit)) {
        /* the usual layout: the schema text is recognised, only the payload is scanned, and
         * only up to its row when the source block is not needed for the table's name (a
         * source writes before and after first) */
        if ((rc = named ? sl_jdoc_parse_until(vdoc, ev->value + po, pl, "after", 5)
                        : sl_jdoc_parse(vdoc, ev->value + po, pl)) == SL_OK)
            payload.tok = 0;
        vs = hit && same ? known : value_schema(snk, ev->value + so, sl, ev->schema_id);
    } else if ((rc = sl_jdoc_parse(vdoc, ev->value, ev->value_len)) == SL_OK) {
        int st = sl_jdoc_get(vdoc, 0, "schema", 6, NULL);
        payload.tok = sl_jdoc_get(vdoc, 0, "payload", 7, NULL);
        if (sl_jdoc_type(vdoc, st) == SL_JT_OBJ)
            vs = value_schema(snk, vdoc->s + vdoc->t[st].start, vdoc->t[st].len, ev->schema_id);
    }
    if (vs) {
        vp = vs->plan;
        vp->refs++;
        gen = vs->gen;
    }
    if (rc != SL_OK) {
        snprintf(snk->err, sizeof snk->err, "event value on topic %s is not JSON", ev->topic);
        goto out;
    }
    if (sl_jdoc_type(vdoc, payload.tok) != SL_JT_OBJ || !vp || !vp->fields) {
        snprintf(snk->err, sizeof snk->err,
                 "event on topic %s has no value schema (the jdbc sink needs "
                 "debezium.format.value.schemas.enable=true)",
                 ev->topic);
        rc = SL_ERR_PROTO;
        goto out;
    }
    jdbc_val_t key = {kdoc, -1};
    if (ev->key) {
        if (sl_jdoc_parse(kdoc, ev->key, ev->key_len) != SL_OK) {
            snprintf(snk->err, sizeof snk->err, "event key on topic %s is not JSON", ev->topic);
            rc = SL_ERR_PROTO;
            goto out;
        }
        key.tok = snk->key_schemas && !ev->schema ? sl_jdoc_get(kdoc, 0, "payload", 7, NULL) : 0;
    }
    if (!named) {
        jdbc_val_t source = {vdoc, sl_jdoc_get(vdoc, payload.tok, "source", 6, NULL)};
        sl_buf_reset(&tname);
        if ((rc = table_name(snk, ev, source, &tname)) != SL_OK)
            goto out;
        table_name_remember(snk, ev, &tname);
    }
    if ((rc = txn_begin(snk)) != SL_OK)
        goto out;
    /* after; before for a delete */
    jdbc_val_t row = {vdoc, sl_jdoc_get(vdoc, payload.tok, op == 'd' ? "before" : "after",
                                        op == 'd' ? 6 : 5, NULL)};
    switch (op) {
    case 't': rc = apply_truncate(snk, tname.data); break;
    case 'd': rc = apply_delete(snk, tname.data, vp, row, key); break;
    default:
        if (sl_jdoc_type(vdoc, row.tok) != SL_JT_OBJ) {
            snprintf(snk->err, sizeof snk->err, "%c event on topic %s has no 'after' row", op,
                     ev->topic);
            rc = SL_ERR_PROTO;
            break;
        }
        rc = apply_row(snk, op, tname.data, vp, gen, row, key);
    }
out:
    vplan_unref(vp);
    sl_buf_free(&tname);
    return rc;
}

static int apply(sl_sink_t *snk, const sl_event_t *ev)
{
    snk->depth++;
    int rc = apply_event(snk, ev);
    snk->depth--;
    return rc;
}

/* ---- vtable ---------------------------------------------------------------------------------- */

static void jdbc_destroy(sl_sink_t *snk)
{
    if (!snk)
        return;
    if (snk->conn)
        snk->target->close(snk->conn); /* an open transaction dies with the session */
    tables_clear(snk);
    free(snk->tables);
    free(snk->url);
    free(snk->user);
    free(snk->password);
    sl_conf_list_free(snk->pk_fields);
    free(snk->table_format);
    free(snk->ucols);
    sl_buf_free(&snk->tn.topic);
    sl_buf_free(&snk->tn.name);
    free(snk->offsets_name);
    free(snk->dlq_table);
    free(snk->pending);
    for (size_t i = 0; i < N(snk->vschemas); i++) {
        free(snk->vschemas[i].text);
        vplan_unref(snk->vschemas[i].plan);
    }
    for (size_t i = 0; i < N(snk->vdoc); i++) {
        sl_jdoc_free(&snk->vdoc[i]);
        sl_jdoc_free(&snk->kdoc[i]);
    }
    sl_buf_free(&snk->scratch);
    sl_buf_free(&snk->sql);
    sl_buf_free(&snk->stmt.tname);
    sl_buf_free(&snk->stmt.pk);
    sl_buf_free(&snk->stmt.sql);
    free(snk->stmt.fl);
    sl_buf_free(&snk->rows.shape);
    sl_buf_free(&snk->rows.table);
    sl_buf_free(&snk->rows.sql);
    sl_buf_free(&snk->rows.p.b);
    sl_buf_free(&snk->rows.ucols);
    free(snk->rows.p.off);
    free(snk->rows.p.p);
    free(snk->rows.keys);
    sl_buf_free(&snk->p.b);
    free(snk->p.off);
    free(snk->p.p);
    free(snk);
}

static const jdbc_target_t *const targets[] = {&jdbc_target_pg, &jdbc_target_my,
                                               &jdbc_target_sqlite};

static const jdbc_target_t *target_for(const char *url)
{
    for (size_t i = 0; i < N(targets); i++)
        for (size_t k = 0; k < N(targets[i]->url_prefixes) && targets[i]->url_prefixes[k]; k++)
            if (strncasecmp(url, targets[i]->url_prefixes[k],
                            strlen(targets[i]->url_prefixes[k])) == 0)
                return targets[i];
    return NULL;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* Checked at load (run and check), before anything starts. */
static int jdbc_validate(const sl_conf_t *conf, char *errstr, size_t errstr_size)
{
    const char *url_key = "debezium.sink.jdbc.connection.url", *url = sl_conf_str(conf, url_key);
    if (url && !target_for(url)) {
        snprintf(errstr, errstr_size,
                 "%s: %s: expected jdbc:postgresql://host:port/database, "
                 "jdbc:mariadb://host:port/database (or jdbc:mysql://), or jdbc:sqlite:/path/file.db",
                 sl_conf_origin(conf, url_key), url_key);
        return SL_ERR_CONFIG;
    }
    const char *vs = "debezium.format.value.schemas.enable";
    if (!sl_conf_bool(conf, vs)) {
        snprintf(errstr, errstr_size,
                 "%s: %s=false, but the jdbc sink takes column types from the event schema: "
                 "set it to true",
                 sl_conf_origin(conf, vs), vs);
        return SL_ERR_CONFIG;
    }
    return SL_OK;
}

static int setup(sl_sink_t *snk, const sl_conf_t *conf, char *errstr, size_t errstr_size)
{
    snk->insert_mode = sl_conf_enum(conf, "debezium.sink.jdbc.insert.mode");
    snk->pk_mode = sl_conf_enum(conf, "debezium.sink.jdbc.primary.key.mode");
    snk->evolution = sl_conf_enum(conf, "debezium.sink.jdbc.schema.evolution");
    snk->delete_enabled = sl_conf_bool(conf, "debezium.sink.jdbc.delete.enabled");
    snk->truncate_enabled = sl_conf_bool(conf, "debezium.sink.jdbc.truncate.enabled");
    snk->batch_size = sl_conf_int(conf, "debezium.sink.jdbc.batch.size");
    snk->key_schemas = sl_conf_bool(conf, "debezium.format.key.schemas.enable");
    snk->value_schemas = sl_conf_bool(conf, "debezium.format.value.schemas.enable");
    snk->tolerate = strcmp(sl_conf_str(conf, "debezium.sink.jdbc.errors.tolerance"), "all") == 0;
    sl_backoff_set(&snk->retry, sl_conf_int(conf, "debezium.sink.jdbc.flush.retry.delay.ms"),
                   RETRY_DELAY_MAX_MS, sl_conf_int(conf, "debezium.sink.jdbc.flush.max.retries"));
    snk->pk_fields = sl_conf_list(conf, "debezium.sink.jdbc.primary.key.fields");
    if (snk->pk_fields && !snk->pk_fields[0]) {
        sl_conf_list_free(snk->pk_fields);
        snk->pk_fields = NULL;
    }
    const char *url = sl_conf_str(conf, "debezium.sink.jdbc.connection.url");
    snk->table_format = strdup(sl_conf_str(conf, "debezium.sink.jdbc.table.name.format"));
    if (snk->table_format)
        table_format_scan(snk);
    snk->offsets_name = strdup(sl_conf_str(conf, "sluice.sink.jdbc.offsets.name"));
    snk->dlq_table = strdup(sl_conf_str(conf, "sluice.sink.jdbc.dead.letter.table"));
    snk->url = strdup(url);
    snk->user = dup_or_null(sl_conf_str(conf, "debezium.sink.jdbc.connection.username"));
    snk->password = dup_or_null(sl_conf_str(conf, "debezium.sink.jdbc.connection.password"));
    if (!snk->table_format || !snk->offsets_name || !snk->dlq_table || !snk->url)
        return SL_ERR_NOMEM;
    if (!(snk->target = target_for(url)) || !snk->value_schemas) /* jdbc_validate said why */
        return jdbc_validate(conf, errstr, errstr_size);
    if (snk->pk_mode == PK_NONE && (snk->insert_mode != MODE_INSERT || snk->delete_enabled)) {
        snprintf(errstr, errstr_size,
                 "jdbc sink: %s needs a primary key: set debezium.sink.jdbc.primary.key.mode="
                 "record_key (or record_value)",
                 snk->delete_enabled ? "delete.enabled=true" : "insert.mode=upsert|update");
        return SL_ERR_CONFIG;
    }
    if (snk->pk_mode == PK_RECORD_VALUE && snk->delete_enabled && !snk->pk_fields) {
        snprintf(errstr, errstr_size,
                 "jdbc sink: delete.enabled=true with primary.key.mode=record_value needs "
                 "debezium.sink.jdbc.primary.key.fields");
        return SL_ERR_CONFIG;
    }
    return SL_OK;
}

static int jdbc_create(sl_sink_t **out, const sl_conf_t *conf, const sl_sink_env_t *env,
                       char *errstr, size_t errstr_size)
{
    sl_sink_t *snk = calloc(1, sizeof *snk);
    if (!snk)
        return SL_ERR_NOMEM;
    snk->env = *env;
    int rc = setup(snk, conf, errstr, errstr_size);
    if (rc == SL_ERR_NOMEM)
        snprintf(errstr, errstr_size, "out of memory");
    if (rc == SL_OK && (rc = conn_open(snk)) != SL_OK)
        snprintf(errstr, errstr_size, "%s", snk->err);
    if (rc != SL_OK) {
        jdbc_destroy(snk);
        return rc;
    }
    *out = snk;
    return SL_OK;
}

/* Always exactly-once: the position lives in the target, in sluice_offsets. */
static unsigned jdbc_caps(const sl_sink_t *snk) { return SL_SINK_CAP_OFFSETS | SL_SINK_CAP_SPLIT; }

static int jdbc_offset_load(sl_sink_t *snk, char **text, char *errstr, size_t errstr_size)
{
    *text = NULL;
    int rc = TARGET(snk)->offset_load(snk->conn, snk->offsets_name, text);
    if (rc == SL_OK && snk->tolerate)
        rc = dlq_create(snk);
    if (rc != SL_OK) {
        take_conn_err(snk);
        snprintf(errstr, errstr_size, "jdbc sink: %s", snk->err);
        return rc;
    }
    if (*text)
        sl_info("jdbc sink: resuming from the position stored in %s (name '%s')",
                JDBC_OFFSETS_TABLE, snk->offsets_name);
    return rc;
}

/* b belongs to a's source transaction (the snapshot is not one: its rows may be split). */
static bool same_txn(const sl_event_t *a, const sl_event_t *b)
{
    return a->pos.txn_lsn != 0 && a->pos.txn_lsn == b->pos.txn_lsn &&
           !(a->pos.flags & SL_POS_SNAPSHOT) && !(b->pos.flags & SL_POS_SNAPSHOT);
}

static int jdbc_submit(sl_sink_t *snk, sl_event_t *ev)
{
    /* batch.size is reached: commit first (the pipeline flushes and submits again), but
     * only between source transactions, which stay atomic (pipeline invariant 9); the
     * pipeline's in-flight bound is what cuts a transaction larger than it */
    if (snk->npending >= (size_t)snk->batch_size && !same_txn(snk->pending[snk->npending - 1], ev))
        return SL_ERR_AGAIN;
    sl_event_t **np = sl_grow_array(snk->pending, &snk->cap_pending, snk->npending + 1,
                                    sizeof *np, 256);
    if (!np)
        return SL_ERR_NOMEM;
    snk->pending = np;
    snk->napplied = snk->npending;
    int rc = apply_one(snk, ev);
    snk->pending[snk->npending++] = ev;
    if (rc != SL_OK && (rc = recover(snk, rc)) != SL_OK) {
        sl_error("jdbc sink: %s (topic %s)", snk->err, ev->topic);
        snk->npending--; /* a failed submit is never reported */
        txn_abort(snk, rc);
        return rc;
    }
    return SL_OK;
}

static int jdbc_flush_offset(sl_sink_t *snk, const char *offset, size_t offset_len)
{
    return txn_commit(snk, offset, offset_len);
}

static int jdbc_flush(sl_sink_t *snk) { return txn_commit(snk, NULL, 0); }

static int jdbc_poll(sl_sink_t *snk, int timeout_ms) { return 0; }

static const char *jdbc_last_error(const sl_sink_t *snk) { return snk->err; }

static int jdbc_check(const sl_conf_t *conf, FILE *report_to)
{
    sl_sink_env_t env = {0};
    sl_sink_t *snk = NULL;
    char e[1024];
    int rc = jdbc_create(&snk, conf, &env, e, sizeof e);
    if (rc != SL_OK) {
        fprintf(report_to, "FAIL: %s\n", e);
        return 1;
    }
    char d[256];
    snk->target->describe(snk->conn, d, sizeof d);
    fprintf(report_to, "ok: jdbc sink connects to %s\n", d);
    jdbc_destroy(snk);
    return 0;
}

static const sl_prop_def_t jdbc_defs[] = {
    {"debezium.sink.jdbc.connection.url", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED,
     "Target database: jdbc:postgresql://host[:port][,host2[:port2]]/database[?user=..&sslmode=..], "
     "jdbc:mariadb://host[:port]/database[?user=..] (or jdbc:mysql://), or "
     "jdbc:sqlite:/path/file.db."},
    {"debezium.sink.jdbc.connection.username", SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "User name on the target (overrides user= in the URL)."},
    {"debezium.sink.jdbc.connection.password", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_SECRET,
     "Password on the target (overrides password= in the URL)."},
    {"debezium.sink.jdbc.insert.mode", SL_PT_ENUM, "insert", "insert|upsert|update", 0, 0, 0,
     "insert: creates become INSERT (updates become UPDATE when a primary key is known); upsert: "
     "the target's insert-or-update (PostgreSQL and SQLite ON CONFLICT, MariaDB ON DUPLICATE "
     "KEY UPDATE) for creates and updates; update: UPDATE only."},
    {"debezium.sink.jdbc.delete.enabled", SL_PT_BOOL, "false", NULL, 0, 0, 0,
     "Apply delete events as DELETE by primary key (tombstones are always ignored). Needs a "
     "primary.key.mode other than none."},
    {"debezium.sink.jdbc.truncate.enabled", SL_PT_BOOL, "false", NULL, 0, 0, 0,
     "Apply truncate events (PostgreSQL: TRUNCATE TABLE; MariaDB and SQLite: DELETE FROM, "
     "which stays inside the transaction)."},
    {"debezium.sink.jdbc.primary.key.mode", SL_PT_ENUM, "none", "none|record_key|record_value", 0,
     0, 0,
     "Where the target's primary key comes from: none; record_key (the event key's fields, or "
     "primary.key.fields among them); record_value (primary.key.fields of the row, all fields "
     "when empty)."},
    {"debezium.sink.jdbc.primary.key.fields", SL_PT_LIST, NULL, NULL, 0, 0, 0,
     "Comma-separated primary key column names (see primary.key.mode)."},
    {"debezium.sink.jdbc.schema.evolution", SL_PT_ENUM, "none", "none|basic", 0, 0, 0,
     "basic: create missing tables and add missing columns from the event schema (types keep "
     "their precision); none: the tables and columns must exist."},
    {"debezium.sink.jdbc.table.name.format", SL_PT_STRING, "${topic}", NULL, 0, 0, 0,
     "Target table name; ${topic}, ${source.table}, ${source.schema} and ${source.db} are "
     "replaced, then dots become underscores. Names are always quoted (case and special "
     "characters kept)."},
    {"debezium.sink.jdbc.batch.size", SL_PT_INT, "500", NULL, 1, 1000000, 0,
     "Events after which the open target transaction is committed, at the next source "
     "transaction boundary: consecutive source transactions are grouped up to about this "
     "size, and one is never cut to fit it (only a source transaction larger than "
     "debezium.source.max.queue.size is committed in parts, each with its source position)."},
    {"debezium.sink.jdbc.flush.max.retries", SL_PT_INT, "5", NULL, -1, INT32_MAX, 0,
     "Attempts after the target connection was lost or the target refused a transaction for a "
     "transient reason (deadlock, serialization failure, lock timeout, busy) before the "
     "pipeline stops; -1: never stop. The transaction is rebuilt from the events it held."},
    {"debezium.sink.jdbc.flush.retry.delay.ms", SL_PT_INT, "1000", NULL, 10, 3600000, 0,
     "Wait before the first retry; it doubles after each failed attempt, up to 60 s."},
    {"debezium.sink.jdbc.errors.tolerance", SL_PT_ENUM, "none", "none|all", 0, 0, 0,
     "none: a row the target refuses (constraint, type overflow) or a value that does not fit "
     "its schema stops the pipeline; all: the event is written with its error to the "
     "dead-letter table (sluice.sink.jdbc.dead.letter.table) in the same transaction, and the "
     "pipeline goes on."},
    {"sluice.sink.jdbc.dead.letter.table", SL_PT_STRING, "sluice_dead_letters", NULL, 0, 0, 0,
     "With errors.tolerance=all: the target table (created when missing) that receives refused "
     "events: pipeline (offsets.name), failed_at, topic, position, error, key, value."},
    {"sluice.sink.jdbc.offsets.name", SL_PT_STRING, "sluice", NULL, 0, 0, 0,
     "Row of the target's sluice_offsets table that holds this pipeline's source position, "
     "written in the same transaction as the rows. Give each pipeline into the same target its "
     "own name."},
};
static const sl_prop_table_t jdbc_props = {"sink.jdbc", "Sink: jdbc", jdbc_defs, N(jdbc_defs)};

const sl_sink_ops_t sl_sink_jdbc = {
    .abi = SL_SINK_ABI,
    .name = "jdbc",
    .props = &jdbc_props,
    .create = jdbc_create,
    .check = jdbc_check,
    .submit = jdbc_submit,
    .flush = jdbc_flush,
    .poll = jdbc_poll,
    .last_error = jdbc_last_error,
    .destroy = jdbc_destroy,
    .caps = jdbc_caps,
    .offset_load = jdbc_offset_load,
    .flush_offset = jdbc_flush_offset,
    .validate = jdbc_validate,
};
