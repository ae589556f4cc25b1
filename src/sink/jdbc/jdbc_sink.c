/*
 * jdbc_sink.c — the `jdbc` sink: applies change events to a relational database, exactly
 * once. This slice speaks PostgreSQL (libpq); the configuration keys are those of
 * Debezium's JDBC sink connector, under debezium.sink.jdbc.
 *
 * How it works. Each event's value (Debezium JSON with its Connect schema) is parsed
 * with jansson; the table name comes from table.name.format, the columns and their
 * types from the schema of `after` (jdbc_types.c). The first event after a commit
 * opens a target transaction (BEGIN); every event is sent as it is submitted
 * (INSERT, INSERT ... ON CONFLICT DO UPDATE, UPDATE, DELETE, TRUNCATE), values always
 * bound as text parameters, identifiers always quoted. Commands go through libpq's
 * pipeline mode: nothing waits for a result until the transaction ends (or a catalog
 * query / DDL for a table not seen before needs an answer, or PIPE_MAX commands are
 * queued), so a transaction costs about one round trip, not one per row. INSERT, UPDATE
 * and DELETE go through named prepared statements (one per statement text), so the
 * target parses and plans each shape once. The value's Connect schema is parsed once and
 * reused while the next event carries the same schema text; only the payload is parsed
 * per event. The pipeline's
 * flush_offset() then queues the upsert of the source position into sluice_offsets and
 * the COMMIT in the same transaction and reads every result back; only after the COMMIT
 * succeeded is every event of it reported delivered.
 * offset_load() reads that row back at start, so the source resumes right after the
 * last committed event.
 *
 * Invariants:
 *  1. The target's rows and its sluice_offsets row change in one transaction: after a
 *     crash at any moment (sluice or target) the target holds exactly the events up to
 *     the stored position, none twice and none missing.
 *  2. An event is reported delivered only after the COMMIT that holds it returned OK.
 *     Any error rolls the transaction back and reports every event of it failed; the
 *     pipeline stops and a restart resumes from the committed position.
 *  3. The table cache mirrors the target only for committed DDL: a rollback drops it
 *     (tables and columns created inside the rolled-back transaction are gone).
 *  4. Unchanged-TOAST placeholders never reach the target: such a column is left out of
 *     the statement.
 *  5. Values are never spliced into SQL text; identifiers are always double-quoted with
 *     embedded quotes doubled.
 *
 * States:  IDLE --submit/flush_offset: BEGIN--> IN_TXN --COMMIT ok--> IDLE (report ok)
 *                                                IN_TXN --error: ROLLBACK--> IDLE (report failed)
 *
 * References: Debezium JDBC sink connector documentation (keys, defaults, table naming:
 * dots in the resolved name become underscores); PostgreSQL INSERT ... ON CONFLICT;
 * pgJDBC connection URL syntax.
 */
#include <ctype.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/plugin.h"
#include "sink/jdbc/jdbc.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define OFFSETS_TABLE "sluice_offsets"
#define MAX_CONN_KW 24

enum { MODE_INSERT, MODE_UPSERT, MODE_UPDATE };
enum { PK_NONE, PK_RECORD_KEY, PK_RECORD_VALUE };
enum { EVO_NONE, EVO_BASIC };

typedef struct tbl {
    char *name;
    char **cols;
    size_t ncols, cap;
} tbl_t;

/* Text parameters for PQexecParams: values packed in one buffer, NUL-separated. */
typedef struct params {
    sl_buf_t b;
    size_t *off;
    bool *null;
    const char **vals;
    size_t n, cap;
} params_t;

struct sl_sink {
    sl_sink_env_t env;
    PGconn *conn;
    const char *kw[MAX_CONN_KW + 1];
    char *kwval[MAX_CONN_KW + 1];
    int insert_mode, pk_mode, evolution;
    bool delete_enabled, truncate_enabled, key_schemas, value_schemas;
    char **pk_fields;
    char *table_format;
    char *offsets_name;
    int64_t batch_size;
    bool in_txn;
    sl_event_t **pending;
    size_t npending, cap_pending;
    tbl_t *tables;
    size_t ntables, cap_tables;
    sl_buf_t sql;
    params_t p;
    /* pipeline mode: commands sent and not yet read back (what each one was, for errors) */
    const char **piped;
    size_t npiped, cap_piped;
    /* named prepared statements on the target, by SQL text (dropped on any error) */
    char **stmts;
    size_t nstmts, cap_stmts;
    /* the last value schema seen: its exact text and its parsed form (events of one table
     * carry the same schema text; parsing it for every row was most of the sink's CPU) */
    char *vschema_text;
    size_t vschema_len;
    json_t *vschema;
    char err[1024];
};

#define PIPE_MAX 1000 /* sync and read back at most this many commands at a time */
#define STMTS_MAX 256 /* prepared statements kept on the target; then DEALLOCATE ALL */
static const char COMMIT_WHAT[] = "COMMIT failed";

/* ---- small helpers -------------------------------------------------------------------------- */

static void quote_ident(sl_buf_t *b, const char *s)
{
    sl_buf_addc(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            sl_buf_addc(b, '"');
        sl_buf_addc(b, *s);
    }
    sl_buf_addc(b, '"');
}

/* libpq's messages span lines ("...\n\tIs the server running..."): one line for the log. */
static void one_line(char *m)
{
    char *o = m;
    for (char *p = m; *p; p++) {
        if (*p == '\n' || *p == '\t') {
            if (o > m && o[-1] != ' ')
                *o++ = ' ';
        } else {
            *o++ = *p;
        }
    }
    *o = 0;
}

static void set_pg_err(sl_sink_t *snk, const char *what, const PGresult *r)
{
    const char *msg = r ? PQresultErrorMessage(r) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(snk->conn);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    char m[700];
    snprintf(m, sizeof m, "%s", msg ? msg : "");
    size_t l = strlen(m);
    while (l && (m[l - 1] == '\n' || m[l - 1] == ' '))
        m[--l] = 0;
    one_line(m);
    snprintf(snk->err, sizeof snk->err, "%s: %s%s%s%s", what, m, state ? " (SQLSTATE " : "",
             state ? state : "", state ? ")" : "");
}

static int conn_err(sl_sink_t *snk, const char *what)
{
    set_pg_err(snk, what, NULL);
    return PQstatus(snk->conn) == CONNECTION_OK ? SL_ERR_SERVER : SL_ERR_CONN;
}

/* Pipeline mode (libpq >= 14): DML, BEGIN, the offsets upsert and COMMIT are sent without
 * waiting; pipe_drain() sends a Sync and reads every result back. A Sync inside the
 * explicit BEGIN block neither commits nor ends the transaction, so the rows and the
 * offsets row still change in one transaction (invariant 1). After a failed command the
 * server skips the rest up to the Sync (PGRES_PIPELINE_ABORTED) and the transaction is
 * aborted: the caller rolls back and reports every event of it failed (invariant 2).
 * The first error is the one reported. */
static int pipe_drain(sl_sink_t *snk)
{
    if (PQpipelineStatus(snk->conn) == PQ_PIPELINE_OFF)
        return SL_OK;
    int rc = SL_OK;
    if (snk->npiped) {
        if (PQpipelineSync(snk->conn) != 1) {
            rc = conn_err(snk, "could not send to the target");
            snk->npiped = 0;
            return rc;
        }
        size_t idx = 0;
        int nulls = 0;
        for (;;) {
            PGresult *r = PQgetResult(snk->conn);
            if (!r) {
                if (PQstatus(snk->conn) != CONNECTION_OK || ++nulls > 2) {
                    if (rc == SL_OK)
                        rc = conn_err(snk, "lost the target connection");
                    break;
                }
                continue;
            }
            nulls = 0;
            ExecStatusType st = PQresultStatus(r);
            if (st == PGRES_PIPELINE_SYNC) {
                PQclear(r);
                break;
            }
            const char *what = idx < snk->npiped ? snk->piped[idx] : "command failed";
            idx++;
            if (rc == SL_OK) {
                if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
                    st != PGRES_PIPELINE_ABORTED) {
                    set_pg_err(snk, what, r);
                    rc = PQstatus(snk->conn) == CONNECTION_OK ? SL_ERR_SERVER : SL_ERR_CONN;
                } else if (what == COMMIT_WHAT && st == PGRES_COMMAND_OK &&
                           strcmp(PQcmdStatus(r), "COMMIT") != 0) {
                    /* COMMIT of a failed transaction "succeeds" with the tag ROLLBACK */
                    snprintf(snk->err, sizeof snk->err, "the target rolled the transaction back");
                    rc = SL_ERR_SERVER;
                }
            }
            PQclear(r);
        }
    }
    snk->npiped = 0;
    if (rc == SL_OK && PQexitPipelineMode(snk->conn) != 1)
        rc = conn_err(snk, "could not leave pipeline mode");
    return rc;
}

/* Room for one more command in the pipeline (entering pipeline mode if needed). */
static int pipe_slot(sl_sink_t *snk)
{
    if (snk->npiped >= PIPE_MAX) {
        int rc = pipe_drain(snk);
        if (rc != SL_OK)
            return rc;
    }
    if (snk->npiped == snk->cap_piped) {
        size_t nc = snk->cap_piped ? snk->cap_piped * 2 : 64;
        const char **np = realloc(snk->piped, nc * sizeof *np);
        if (!np)
            return SL_ERR_NOMEM;
        snk->piped = np;
        snk->cap_piped = nc;
    }
    if (PQpipelineStatus(snk->conn) == PQ_PIPELINE_OFF && PQenterPipelineMode(snk->conn) != 1)
        return conn_err(snk, "could not enter pipeline mode");
    return SL_OK;
}

/* Queues a command in the pipeline (no result is read here). */
static int pipe_send(sl_sink_t *snk, const char *what, const char *sql, int n,
                     const char *const *vals)
{
    int rc = pipe_slot(snk);
    if (rc != SL_OK)
        return rc;
    if (PQsendQueryParams(snk->conn, sql, n, NULL, vals, NULL, NULL, 0) != 1)
        return conn_err(snk, what);
    snk->piped[snk->npiped++] = what;
    return SL_OK;
}

static void stmts_forget(sl_sink_t *snk)
{
    for (size_t i = 0; i < snk->nstmts; i++)
        free(snk->stmts[i]);
    snk->nstmts = 0;
}

/* Like pipe_send, through a named prepared statement (prepared in the same pipeline the
 * first time its text is seen): the target parses and plans each statement shape once.
 * Statements are session objects, not undone by a rollback, but one whose Parse was
 * skipped after an error does not exist: txn_abort() forgets them all (DEALLOCATE ALL). */
static int pipe_send_prepared(sl_sink_t *snk, const char *what, const char *sql, int n,
                              const char *const *vals)
{
    size_t i;
    for (i = 0; i < snk->nstmts; i++)
        if (strcmp(snk->stmts[i], sql) == 0)
            break;
    char name[32];
    int rc;
    if (i == snk->nstmts) {
        if (snk->nstmts >= STMTS_MAX) {
            if ((rc = pipe_send(snk, "DEALLOCATE failed", "DEALLOCATE ALL", 0, NULL)) != SL_OK)
                return rc;
            stmts_forget(snk);
            i = 0;
        }
        if (snk->nstmts == snk->cap_stmts) {
            size_t nc = snk->cap_stmts ? snk->cap_stmts * 2 : 16;
            char **ns = realloc(snk->stmts, nc * sizeof *ns);
            if (!ns)
                return SL_ERR_NOMEM;
            snk->stmts = ns;
            snk->cap_stmts = nc;
        }
        if ((rc = pipe_slot(snk)) != SL_OK)
            return rc;
        char *copy = strdup(sql);
        if (!copy)
            return SL_ERR_NOMEM;
        snprintf(name, sizeof name, "sluice_%zu", i);
        if (PQsendPrepare(snk->conn, name, sql, n, NULL) != 1) {
            free(copy);
            return conn_err(snk, what);
        }
        snk->piped[snk->npiped++] = what;
        snk->stmts[snk->nstmts++] = copy;
    }
    snprintf(name, sizeof name, "sluice_%zu", i);
    if ((rc = pipe_slot(snk)) != SL_OK)
        return rc;
    if (PQsendQueryPrepared(snk->conn, name, n, vals, NULL, NULL, 0) != 1)
        return conn_err(snk, what);
    snk->piped[snk->npiped++] = what;
    return SL_OK;
}

/* Runs a command and waits for its result (after reading back whatever is in the
 * pipeline); SL_OK when it succeeded, else SL_ERR_SERVER / SL_ERR_CONN with snk->err. */
static int exec_cmd(sl_sink_t *snk, const char *what, const char *sql, int n,
                    const char *const *vals, PGresult **res_out)
{
    int prc = pipe_drain(snk);
    if (prc != SL_OK)
        return prc;
    PGresult *r = PQexecParams(snk->conn, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        set_pg_err(snk, what, r);
        PQclear(r);
        return PQstatus(snk->conn) == CONNECTION_OK ? SL_ERR_SERVER : SL_ERR_CONN;
    }
    if (res_out)
        *res_out = r;
    else
        PQclear(r);
    return SL_OK;
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
    bool *nl = realloc(p->null, nc * sizeof *nl);
    if (nl)
        p->null = nl;
    const char **v = realloc(p->vals, nc * sizeof *v);
    if (v)
        p->vals = v;
    if (!o || !nl || !v)
        return SL_ERR_NOMEM;
    p->cap = nc;
    return SL_OK;
}

/* Adds one parameter (the value converted for its schema); returns its number ($n). */
static int params_add(sl_sink_t *snk, const json_t *schema, const json_t *v, const char *col,
                      size_t *num)
{
    params_t *p = &snk->p;
    if (params_grow(p) != SL_OK)
        return SL_ERR_NOMEM;
    bool isnull;
    char e[256];
    p->off[p->n] = p->b.len;
    if (jdbc_pg_value(schema, v, &p->b, &isnull, e, sizeof e) != 0) {
        snprintf(snk->err, sizeof snk->err, "column \"%s\": %s", col, e);
        return SL_ERR_PROTO;
    }
    sl_buf_addc(&p->b, 0);
    p->null[p->n] = isnull;
    *num = ++p->n;
    return sl_buf_ok(&p->b) ? SL_OK : SL_ERR_NOMEM;
}

static const char *const *params_vals(params_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        p->vals[i] = p->null[i] ? NULL : p->b.data + p->off[i];
    return p->vals;
}

/* ---- connection URL ------------------------------------------------------------------------ */

static int kw_add(sl_sink_t *snk, const char *k, const char *v, size_t vlen)
{
    size_t i = 0;
    while (snk->kw[i] && strcmp(snk->kw[i], k) != 0)
        i++;
    if (i >= MAX_CONN_KW)
        return SL_ERR_TOO_BIG;
    char *copy = strndup(v, vlen);
    if (!copy)
        return SL_ERR_NOMEM;
    free(snk->kwval[i]);
    snk->kw[i] = k;
    snk->kwval[i] = copy;
    return SL_OK;
}

static size_t url_decode(char *s)
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

/* jdbc:postgresql://host[:port][,host2[:port2]...]/database?key=value&... -> libpq keywords. */
static int parse_url(sl_sink_t *snk, const char *url, char *errstr, size_t errstr_size)
{
    static const char pfx[] = "jdbc:postgresql:";
    if (strncasecmp(url, pfx, sizeof pfx - 1) != 0) {
        if (strncasecmp(url, "jdbc:mysql:", 11) == 0 || strncasecmp(url, "jdbc:mariadb:", 13) == 0 ||
            strncasecmp(url, "jdbc:sqlite:", 12) == 0) {
            snprintf(errstr, errstr_size,
                     "debezium.sink.jdbc.connection.url: only jdbc:postgresql: targets are "
                     "supported so far");
            return SL_ERR_UNSUPPORTED;
        }
        snprintf(errstr, errstr_size,
                 "debezium.sink.jdbc.connection.url: expected jdbc:postgresql://host:port/database");
        return SL_ERR_CONFIG;
    }
    char *rest = strdup(url + sizeof pfx - 1);
    if (!rest)
        return SL_ERR_NOMEM;
    int rc = SL_OK;
    char *query = strchr(rest, '?');
    if (query)
        *query++ = 0;
    char *db = rest;
    if (strncmp(rest, "//", 2) == 0) {
        char *hosts = rest + 2;
        char *slash = strchr(hosts, '/');
        db = slash ? slash + 1 : (char *)"";
        if (slash)
            *slash = 0;
        sl_buf_t h = SL_BUF_INIT, pt = SL_BUF_INIT;
        char *save = NULL;
        for (char *hp = strtok_r(hosts, ",", &save); hp; hp = strtok_r(NULL, ",", &save)) {
            char *port = NULL;
            if (*hp == '[') { /* [ipv6]:port */
                char *end = strchr(hp, ']');
                if (end) {
                    *end = 0;
                    port = end[1] == ':' ? end + 2 : NULL;
                    hp++;
                }
            } else if ((port = strrchr(hp, ':')) != NULL) {
                *port++ = 0;
            }
            if (h.len) {
                sl_buf_addc(&h, ',');
                sl_buf_addc(&pt, ',');
            }
            sl_buf_adds(&h, *hp ? hp : "localhost");
            sl_buf_adds(&pt, port && *port ? port : "5432");
        }
        if (h.len == 0) {
            sl_buf_adds(&h, "localhost");
            sl_buf_adds(&pt, "5432");
        }
        if (!sl_buf_ok(&h) || !sl_buf_ok(&pt))
            rc = SL_ERR_NOMEM;
        if (rc == SL_OK)
            rc = kw_add(snk, "host", h.data, h.len);
        if (rc == SL_OK)
            rc = kw_add(snk, "port", pt.data, pt.len);
        sl_buf_free(&h);
        sl_buf_free(&pt);
    }
    if (rc == SL_OK && *db) {
        size_t l = url_decode(db);
        rc = kw_add(snk, "dbname", db, l);
    }
    static const struct {
        const char *jdbc, *pq;
    } map[] = {
        {"user", "user"},
        {"password", "password"},
        {"sslmode", "sslmode"},
        {"sslrootcert", "sslrootcert"},
        {"sslcert", "sslcert"},
        {"sslkey", "sslkey"},
        {"connectTimeout", "connect_timeout"},
        {"ApplicationName", "application_name"},
        {"options", "options"},
    };
    char *save = NULL;
    for (char *kv = query ? strtok_r(query, "&", &save) : NULL; kv && rc == SL_OK;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            continue;
        *eq = 0;
        size_t vl = url_decode(eq + 1);
        size_t i;
        for (i = 0; i < N(map); i++)
            if (strcasecmp(kv, map[i].jdbc) == 0) {
                rc = kw_add(snk, map[i].pq, eq + 1, vl);
                break;
            }
        if (i < N(map))
            continue;
        if (strcasecmp(kv, "ssl") == 0 && strcasecmp(eq + 1, "true") == 0)
            rc = kw_add(snk, "sslmode", "require", 7);
        else
            sl_warn("jdbc sink: connection.url parameter '%s' has no libpq equivalent; ignored", kv);
    }
    free(rest);
    if (rc != SL_OK)
        snprintf(errstr, errstr_size, "debezium.sink.jdbc.connection.url: %s", sl_err_str(rc));
    return rc;
}

static int conn_open(sl_sink_t *snk, char *errstr, size_t errstr_size)
{
    snk->conn = PQconnectdbParams(snk->kw, (const char *const *)snk->kwval, 0);
    if (!snk->conn || PQstatus(snk->conn) != CONNECTION_OK) {
        char m[512];
        snprintf(m, sizeof m, "%s", snk->conn ? PQerrorMessage(snk->conn) : "out of memory");
        size_t l = strlen(m);
        while (l && (m[l - 1] == '\n' || m[l - 1] == ' '))
            m[--l] = 0;
        one_line(m);
        snprintf(errstr, errstr_size, "jdbc sink: could not connect to the target: %s", m);
        return SL_ERR_CONN;
    }
    return SL_OK;
}

/* ---- table cache ----------------------------------------------------------------------------- */

static void tables_clear(sl_sink_t *snk)
{
    for (size_t i = 0; i < snk->ntables; i++) {
        for (size_t j = 0; j < snk->tables[i].ncols; j++)
            free(snk->tables[i].cols[j]);
        free(snk->tables[i].cols);
        free(snk->tables[i].name);
    }
    snk->ntables = 0;
}

static bool tbl_has(const tbl_t *t, const char *col)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i], col) == 0)
            return true;
    return false;
}

static int tbl_add_col(tbl_t *t, const char *col)
{
    if (t->ncols == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cols, nc * sizeof *c);
        if (!c)
            return SL_ERR_NOMEM;
        t->cols = c;
        t->cap = nc;
    }
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

static const json_t *field_schema(const json_t *fields, const char *name)
{
    size_t i;
    const json_t *f;
    json_array_foreach(fields, i, f)
    {
        const char *n = json_string_value(json_object_get(f, "field"));
        if (n && strcmp(n, name) == 0)
            return f;
    }
    return NULL;
}

static bool usable(const json_t *f)
{
    sl_buf_t t = SL_BUF_INIT;
    bool ok = jdbc_pg_type(f, &t);
    sl_buf_free(&t);
    return ok;
}

static int add_column_def(sl_buf_t *b, const json_t *f, bool not_null)
{
    quote_ident(b, json_string_value(json_object_get(f, "field")));
    sl_buf_addc(b, ' ');
    if (!jdbc_pg_type(f, b))
        return SL_ERR_UNSUPPORTED;
    if (not_null)
        sl_buf_adds(b, " NOT NULL");
    return SL_OK;
}

/* Finds the target table `name`, reading its columns from the catalog the first time.
 * fields == NULL: only look (NULL result when it does not exist). Otherwise create it
 * (schema.evolution=basic) with `pk` as primary key, and add missing columns. */
static int table_get(sl_sink_t *snk, const char *name, const json_t *fields, char **pk,
                     size_t npk, tbl_t **out)
{
    *out = NULL;
    tbl_t *t = NULL;
    for (size_t i = 0; i < snk->ntables; i++)
        if (strcmp(snk->tables[i].name, name) == 0)
            t = &snk->tables[i];
    int rc;
    if (!t) {
        sl_buf_t q = SL_BUF_INIT;
        quote_ident(&q, name);
        if (!sl_buf_ok(&q))
            return SL_ERR_NOMEM;
        const char *v[1] = {q.data};
        PGresult *r = NULL;
        rc = exec_cmd(snk, "could not read the target table's columns",
                      "SELECT c.oid IS NOT NULL, a.attname FROM (SELECT to_regclass($1) AS oid) c "
                      "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT "
                      "a.attisdropped ORDER BY a.attnum",
                      1, v, &r);
        if (rc != SL_OK) {
            sl_buf_free(&q);
            return rc;
        }
        bool exists = PQntuples(r) > 0 && PQgetvalue(r, 0, 0)[0] == 't';
        if (!exists) {
            PQclear(r);
            r = NULL;
            if (!fields) {
                sl_buf_free(&q);
                return SL_OK;
            }
            if (snk->evolution != EVO_BASIC) {
                snprintf(snk->err, sizeof snk->err,
                         "target table %s does not exist (create it, or set "
                         "debezium.sink.jdbc.schema.evolution=basic)",
                         q.data);
                sl_buf_free(&q);
                return SL_ERR_SERVER;
            }
            sl_buf_t ddl = SL_BUF_INIT;
            sl_buf_adds(&ddl, "CREATE TABLE ");
            sl_buf_add(&ddl, q.data, q.len);
            sl_buf_adds(&ddl, " (");
            size_t i, ncols = 0;
            const json_t *f;
            json_array_foreach(fields, i, f)
            {
                if (!usable(f))
                    continue;
                const char *fname = json_string_value(json_object_get(f, "field"));
                bool is_pk = false;
                for (size_t k = 0; k < npk; k++)
                    is_pk |= strcmp(pk[k], fname) == 0;
                if (ncols++)
                    sl_buf_adds(&ddl, ", ");
                (void)add_column_def(&ddl, f, is_pk || json_is_false(json_object_get(f, "optional")));
            }
            if (npk) {
                sl_buf_adds(&ddl, ", PRIMARY KEY (");
                for (size_t k = 0; k < npk; k++) {
                    if (k)
                        sl_buf_adds(&ddl, ", ");
                    quote_ident(&ddl, pk[k]);
                }
                sl_buf_addc(&ddl, ')');
            }
            sl_buf_addc(&ddl, ')');
            rc = sl_buf_ok(&ddl) ? exec_cmd(snk, "could not create the target table", ddl.data, 0,
                                            NULL, NULL)
                                 : SL_ERR_NOMEM;
            if (rc == SL_OK)
                sl_info("jdbc sink: created table %s", q.data);
            sl_buf_free(&ddl);
            if (rc != SL_OK) {
                sl_buf_free(&q);
                return rc;
            }
        }
        if (snk->ntables == snk->cap_tables) {
            size_t nc = snk->cap_tables ? snk->cap_tables * 2 : 8;
            tbl_t *nt = realloc(snk->tables, nc * sizeof *nt);
            if (!nt) {
                PQclear(r);
                sl_buf_free(&q);
                return SL_ERR_NOMEM;
            }
            snk->tables = nt;
            snk->cap_tables = nc;
        }
        t = &snk->tables[snk->ntables];
        memset(t, 0, sizeof *t);
        if (!(t->name = strdup(name))) {
            PQclear(r);
            sl_buf_free(&q);
            return SL_ERR_NOMEM;
        }
        snk->ntables++;
        rc = SL_OK;
        if (exists) {
            for (int i = 0; i < PQntuples(r) && rc == SL_OK; i++)
                if (!PQgetisnull(r, i, 1))
                    rc = tbl_add_col(t, PQgetvalue(r, i, 1));
        } else {
            size_t i;
            const json_t *f;
            json_array_foreach(fields, i, f)
            {
                if (rc == SL_OK && usable(f))
                    rc = tbl_add_col(t, json_string_value(json_object_get(f, "field")));
            }
        }
        PQclear(r);
        sl_buf_free(&q);
        if (rc != SL_OK)
            return rc;
    }
    /* schema evolution: columns the event has and the table lacks */
    size_t i;
    const json_t *f;
    json_array_foreach(fields, i, f)
    {
        const char *fname = json_string_value(json_object_get(f, "field"));
        if (!fname || !usable(f) || tbl_has(t, fname))
            continue;
        if (snk->evolution != EVO_BASIC) {
            snprintf(snk->err, sizeof snk->err,
                     "target table \"%s\" has no column \"%s\" (add it, or set "
                     "debezium.sink.jdbc.schema.evolution=basic)",
                     name, fname);
            return SL_ERR_SERVER;
        }
        sl_buf_t ddl = SL_BUF_INIT;
        sl_buf_adds(&ddl, "ALTER TABLE ");
        quote_ident(&ddl, name);
        sl_buf_adds(&ddl, " ADD COLUMN ");
        (void)add_column_def(&ddl, f, false); /* existing rows have no value for it */
        rc = sl_buf_ok(&ddl) ? exec_cmd(snk, "could not add a column", ddl.data, 0, NULL, NULL)
                             : SL_ERR_NOMEM;
        sl_buf_free(&ddl);
        if (rc == SL_OK)
            rc = tbl_add_col(t, fname);
        if (rc != SL_OK)
            return rc;
        sl_info("jdbc sink: added column \"%s\" to table \"%s\"", fname, name);
    }
    *out = t;
    return SL_OK;
}

/* ---- transactions ---------------------------------------------------------------------------- */

static int txn_begin(sl_sink_t *snk)
{
    if (snk->in_txn)
        return SL_OK;
    int rc = pipe_send(snk, "BEGIN failed", "BEGIN", 0, NULL);
    if (rc == SL_OK)
        snk->in_txn = true;
    return rc;
}

/* Rolls back and reports every event of the transaction failed (invariant 2). */
static void txn_abort(sl_sink_t *snk, int err)
{
    if (PQstatus(snk->conn) == CONNECTION_OK && PQpipelineStatus(snk->conn) != PQ_PIPELINE_OFF) {
        char keep[sizeof snk->err];
        memcpy(keep, snk->err, sizeof keep); /* the first error is the one to report */
        if (pipe_drain(snk) != SL_OK && PQpipelineStatus(snk->conn) != PQ_PIPELINE_OFF)
            (void)PQexitPipelineMode(snk->conn);
        memcpy(snk->err, keep, sizeof keep);
    }
    snk->npiped = 0;
    if (snk->in_txn && PQstatus(snk->conn) == CONNECTION_OK)
        PQclear(PQexec(snk->conn, "ROLLBACK"));
    if (snk->nstmts && PQstatus(snk->conn) == CONNECTION_OK)
        PQclear(PQexec(snk->conn, "DEALLOCATE ALL"));
    stmts_forget(snk);
    snk->in_txn = false;
    tables_clear(snk); /* invariant 3 */
    size_t n = snk->npending;
    snk->npending = 0;
    for (size_t i = 0; i < n; i++)
        snk->env.on_delivery(snk->env.opaque, snk->pending[i], err);
}

static int txn_commit(sl_sink_t *snk, const char *offset, size_t offset_len)
{
    int rc = SL_OK;
    if (offset) {
        if ((rc = txn_begin(snk)) != SL_OK)
            goto fail;
        char *o = strndup(offset, offset_len);
        if (!o) {
            rc = SL_ERR_NOMEM;
            goto fail;
        }
        const char *v[2] = {snk->offsets_name, o};
        rc = pipe_send(snk, "could not store the source position",
                       "INSERT INTO " OFFSETS_TABLE " (name, \"offset\") VALUES ($1, $2) ON CONFLICT "
                       "(name) DO UPDATE SET \"offset\" = EXCLUDED.\"offset\", updated_at = now()",
                       2, v);
        free(o); /* libpq copied the parameters into its output buffer */
        if (rc != SL_OK)
            goto fail;
    }
    if (snk->in_txn) {
        /* COMMIT, then read every result of the transaction back (pipe_drain checks the
         * COMMIT's tag: a failed transaction's COMMIT "succeeds" as ROLLBACK) */
        rc = pipe_send(snk, COMMIT_WHAT, "COMMIT", 0, NULL);
        if (rc == SL_OK)
            rc = pipe_drain(snk);
        if (rc != SL_OK)
            goto fail; /* in_txn still set: txn_abort rolls back */
        snk->in_txn = false;
    } else if ((rc = pipe_drain(snk)) != SL_OK) {
        goto fail;
    }
    size_t n = snk->npending;
    snk->npending = 0;
    for (size_t i = 0; i < n; i++)
        snk->env.on_delivery(snk->env.opaque, snk->pending[i], SL_OK);
    return SL_OK;
fail:
    txn_abort(snk, rc);
    return rc;
}

/* ---- applying one event ---------------------------------------------------------------------- */

/* table.name.format with ${topic}, ${source.table}, ${source.schema}, ${source.db}; dots
 * in the result become underscores (Debezium's DefaultTableNamingStrategy). */
static int table_name(sl_sink_t *snk, const sl_event_t *ev, const json_t *source, sl_buf_t *out)
{
    const char *f = snk->table_format;
    while (*f) {
        if (f[0] == '$' && f[1] == '{') {
            const char *end = strchr(f, '}');
            if (end) {
                size_t l = (size_t)(end - f - 2);
                const char *key = f + 2, *val = NULL;
                if (l == 5 && strncmp(key, "topic", 5) == 0)
                    val = ev->topic;
                else if (l > 7 && strncmp(key, "source.", 7) == 0) {
                    char k[64];
                    snprintf(k, sizeof k, "%.*s", (int)(l - 7), key + 7);
                    val = json_string_value(json_object_get(source, k));
                    if (!val) {
                        snprintf(snk->err, sizeof snk->err,
                                 "table.name.format: the event's source block has no '%s'", k);
                        return SL_ERR_CONFIG;
                    }
                } else {
                    snprintf(snk->err, sizeof snk->err,
                             "table.name.format: unknown placeholder '%.*s'", (int)(l + 3), f);
                    return SL_ERR_CONFIG;
                }
                sl_buf_adds(out, val);
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

/* Primary key column names for this event (malloc'd array of borrowed strings). */
static int pk_columns(sl_sink_t *snk, const json_t *key, const json_t *fields, const char ***out,
                      size_t *n)
{
    *out = NULL;
    *n = 0;
    if (snk->pk_mode == PK_NONE)
        return SL_OK;
    size_t cap = 0;
    if (snk->pk_fields)
        while (snk->pk_fields[cap])
            cap++;
    else if (snk->pk_mode == PK_RECORD_KEY)
        cap = json_is_object(key) ? json_object_size(key) : 0;
    else
        cap = json_array_size(fields);
    if (cap == 0) {
        snprintf(snk->err, sizeof snk->err,
                 "primary.key.mode=%s but the event has no %s to take the key from",
                 snk->pk_mode == PK_RECORD_KEY ? "record_key" : "record_value",
                 snk->pk_mode == PK_RECORD_KEY ? "key" : "fields");
        return SL_ERR_PROTO;
    }
    const char **a = calloc(cap, sizeof *a);
    if (!a)
        return SL_ERR_NOMEM;
    size_t k = 0;
    if (snk->pk_fields) {
        for (; snk->pk_fields[k]; k++)
            a[k] = snk->pk_fields[k];
    } else if (snk->pk_mode == PK_RECORD_KEY) {
        const char *name;
        const json_t *v;
        json_object_foreach((json_t *)key, name, v) a[k++] = name;
    } else {
        size_t i;
        const json_t *f;
        json_array_foreach(fields, i, f) a[k++] = json_string_value(json_object_get(f, "field"));
    }
    *out = a;
    *n = k;
    return SL_OK;
}

static bool in_list(const char **a, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] && strcmp(a[i], s) == 0)
            return true;
    return false;
}

/* WHERE pk1 = $a AND pk2 = $b ...; key values from `src` (key payload or a row image). */
static int add_where(sl_sink_t *snk, const json_t *fields, const json_t *src, const char **pk,
                     size_t npk)
{
    sl_buf_adds(&snk->sql, " WHERE ");
    for (size_t k = 0; k < npk; k++) {
        const json_t *fs = field_schema(fields, pk[k]);
        const json_t *v = json_object_get(src, pk[k]);
        if (!fs || !v) {
            snprintf(snk->err, sizeof snk->err, "primary key column \"%s\" is not in the event",
                     pk[k]);
            return SL_ERR_PROTO;
        }
        size_t num;
        int rc = params_add(snk, fs, v, pk[k], &num);
        if (rc != SL_OK)
            return rc;
        if (k)
            sl_buf_adds(&snk->sql, " AND ");
        quote_ident(&snk->sql, pk[k]);
        sl_buf_printf(&snk->sql, " = $%zu", num);
    }
    return SL_OK;
}

static int apply_row(sl_sink_t *snk, char op, const char *tname, const json_t *fields,
                     const json_t *row, const json_t *key)
{
    const char **pk = NULL;
    size_t npk = 0;
    int rc = pk_columns(snk, key, fields, &pk, &npk);
    if (rc != SL_OK)
        return rc;
    tbl_t *t;
    if ((rc = table_get(snk, tname, fields, (char **)pk, npk, &t)) != SL_OK)
        goto out;
    int mode = snk->insert_mode;
    if (mode == MODE_INSERT && op == 'u' && npk)
        mode = MODE_UPDATE; /* an update of an existing row, never a second insert */
    sl_buf_t *s = &snk->sql;
    sl_buf_reset(s);
    params_reset(&snk->p);
    size_t i, ncols = 0;
    const json_t *f;
    if (mode == MODE_UPDATE) {
        sl_buf_adds(s, "UPDATE ");
        quote_ident(s, tname);
        sl_buf_adds(s, " SET ");
        json_array_foreach(fields, i, f)
        {
            const char *c = json_string_value(json_object_get(f, "field"));
            const json_t *v = json_object_get(row, c);
            if (!c || !tbl_has(t, c) || in_list(pk, npk, c) || jdbc_is_unavailable(v))
                continue; /* invariant 4 */
            size_t num;
            if ((rc = params_add(snk, f, v, c, &num)) != SL_OK)
                goto out;
            if (ncols++)
                sl_buf_adds(s, ", ");
            quote_ident(s, c);
            sl_buf_printf(s, " = $%zu", num);
        }
        if (ncols == 0) /* nothing but the key (or only unchanged TOAST values) */
            goto out;
        if ((rc = add_where(snk, fields, snk->pk_mode == PK_RECORD_KEY ? key : row,
                            pk, npk)) != SL_OK)
            goto out;
    } else {
        sl_buf_adds(s, "INSERT INTO ");
        quote_ident(s, tname);
        sl_buf_adds(s, " (");
        sl_buf_t vals = SL_BUF_INIT;
        json_array_foreach(fields, i, f)
        {
            const char *c = json_string_value(json_object_get(f, "field"));
            const json_t *v = json_object_get(row, c);
            if (!c || !tbl_has(t, c) || (op == 'u' && jdbc_is_unavailable(v)))
                continue; /* invariant 4 */
            size_t num;
            if ((rc = params_add(snk, f, v, c, &num)) != SL_OK) {
                sl_buf_free(&vals);
                goto out;
            }
            if (ncols++) {
                sl_buf_adds(s, ", ");
                sl_buf_adds(&vals, ", ");
            }
            quote_ident(s, c);
            sl_buf_printf(&vals, "$%zu", num);
        }
        sl_buf_adds(s, ") VALUES (");
        sl_buf_add(s, vals.data, vals.len);
        sl_buf_addc(s, ')');
        sl_buf_free(&vals);
        if (mode == MODE_UPSERT) {
            sl_buf_adds(s, " ON CONFLICT (");
            for (size_t k = 0; k < npk; k++) {
                if (k)
                    sl_buf_adds(s, ", ");
                quote_ident(s, pk[k]);
            }
            sl_buf_adds(s, ") DO ");
            size_t nset = 0;
            json_array_foreach(fields, i, f)
            {
                const char *c = json_string_value(json_object_get(f, "field"));
                const json_t *v = json_object_get(row, c);
                if (!c || !tbl_has(t, c) || in_list(pk, npk, c) ||
                    (op == 'u' && jdbc_is_unavailable(v)))
                    continue;
                sl_buf_adds(s, nset++ ? ", " : "UPDATE SET ");
                quote_ident(s, c);
                sl_buf_adds(s, " = EXCLUDED.");
                quote_ident(s, c);
            }
            if (!nset)
                sl_buf_adds(s, "NOTHING");
        }
    }
    if (!sl_buf_ok(s)) {
        rc = SL_ERR_NOMEM;
        goto out;
    }
    rc = pipe_send_prepared(snk, mode == MODE_UPDATE ? "UPDATE failed" : "INSERT failed",
                            s->data, (int)snk->p.n, params_vals(&snk->p));
out:
    free(pk);
    return rc;
}

static int apply_delete(sl_sink_t *snk, const char *tname, const json_t *fields,
                        const json_t *before, const json_t *key)
{
    const char **pk = NULL;
    size_t npk = 0;
    const json_t *src = snk->pk_mode == PK_RECORD_KEY ? key : before;
    int rc = pk_columns(snk, key, fields, &pk, &npk);
    if (rc != SL_OK)
        return rc;
    tbl_t *t;
    if ((rc = table_get(snk, tname, NULL, NULL, 0, &t)) != SL_OK || !t)
        goto out; /* no table: nothing to delete */
    sl_buf_reset(&snk->sql);
    params_reset(&snk->p);
    sl_buf_adds(&snk->sql, "DELETE FROM ");
    quote_ident(&snk->sql, tname);
    if ((rc = add_where(snk, fields, src, pk, npk)) != SL_OK)
        goto out;
    rc = sl_buf_ok(&snk->sql) ? pipe_send_prepared(snk, "DELETE failed", snk->sql.data,
                                                   (int)snk->p.n, params_vals(&snk->p))
                              : SL_ERR_NOMEM;
out:
    free(pk);
    return rc;
}

static int apply_truncate(sl_sink_t *snk, const char *tname)
{
    tbl_t *t;
    int rc = table_get(snk, tname, NULL, NULL, 0, &t);
    if (rc != SL_OK || !t)
        return rc;
    sl_buf_reset(&snk->sql);
    sl_buf_adds(&snk->sql, "TRUNCATE TABLE ");
    quote_ident(&snk->sql, tname);
    return sl_buf_ok(&snk->sql)
               ? pipe_send(snk, "TRUNCATE failed", snk->sql.data, 0, NULL)
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
 * JSON value's text determines where it ends) and is not scanned again. */
static bool split_envelope(const char *v, size_t len, const char *known, size_t known_len,
                           size_t *so, size_t *sl, size_t *po, size_t *pl)
{
    static const char a[] = "{\"schema\":", b[] = ",\"payload\":";
    if (len < sizeof a + sizeof b || memcmp(v, a, sizeof a - 1) != 0)
        return false;
    size_t s0 = sizeof a - 1, s1;
    if (known && known_len && s0 + known_len + sizeof b - 1 <= len &&
        memcmp(v + s0, known, known_len) == 0 &&
        memcmp(v + s0 + known_len, b, sizeof b - 1) == 0)
        s1 = s0 + known_len;
    else
        s1 = skip_value(v, len, s0);
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

static int apply(sl_sink_t *snk, const sl_event_t *ev)
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
    json_error_t je;
    json_t *val = NULL, *key = NULL, *own_payload = NULL;
    const json_t *schema = NULL, *payload = NULL;
    size_t so, sl, po, pl;
    if (split_envelope(ev->value, ev->value_len, snk->vschema ? snk->vschema_text : NULL,
                       snk->vschema_len, &so, &sl, &po, &pl)) {
        if (!snk->vschema || sl != snk->vschema_len ||
            memcmp(snk->vschema_text, ev->value + so, sl) != 0) {
            json_decref(snk->vschema);
            free(snk->vschema_text);
            snk->vschema = json_loadb(ev->value + so, sl, 0, &je);
            snk->vschema_text = snk->vschema ? malloc(sl) : NULL;
            if (snk->vschema_text)
                memcpy(snk->vschema_text, ev->value + so, sl);
            else {
                json_decref(snk->vschema);
                snk->vschema = NULL;
            }
            snk->vschema_len = sl;
        }
        if (snk->vschema && (own_payload = json_loadb(ev->value + po, pl, 0, &je)) != NULL) {
            schema = snk->vschema;
            payload = own_payload;
        }
    }
    sl_buf_t tname = SL_BUF_INIT;
    int rc = SL_OK;
    if (!payload) { /* another layout, or not JSON: the whole value */
        if (!(val = json_loadb(ev->value, ev->value_len, 0, &je))) {
            snprintf(snk->err, sizeof snk->err, "event value on topic %s is not JSON: %s",
                     ev->topic, je.text);
            return SL_ERR_PROTO;
        }
        schema = json_object_get(val, "schema");
        payload = json_object_get(val, "payload");
    }
    const json_t *fields = row_fields(schema);
    if (!json_is_object(payload) || !fields) {
        snprintf(snk->err, sizeof snk->err,
                 "event on topic %s has no value schema (the jdbc sink needs "
                 "debezium.format.value.schemas.enable=true)",
                 ev->topic);
        rc = SL_ERR_PROTO;
        goto out;
    }
    if (ev->key) {
        json_t *k = json_loadb(ev->key, ev->key_len, 0, &je);
        if (!k) {
            snprintf(snk->err, sizeof snk->err, "event key on topic %s is not JSON: %s",
                     ev->topic, je.text);
            rc = SL_ERR_PROTO;
            goto out;
        }
        key = snk->key_schemas ? json_incref(json_object_get(k, "payload")) : json_incref(k);
        json_decref(k);
    }
    if ((rc = table_name(snk, ev, json_object_get(payload, "source"), &tname)) != SL_OK)
        goto out;
    if ((rc = txn_begin(snk)) != SL_OK)
        goto out;
    switch (op) {
    case 't': rc = apply_truncate(snk, tname.data); break;
    case 'd':
        rc = apply_delete(snk, tname.data, fields, json_object_get(payload, "before"), key);
        break;
    default: {
        const json_t *after = json_object_get(payload, "after");
        if (!json_is_object(after)) {
            snprintf(snk->err, sizeof snk->err, "%c event on topic %s has no 'after' row", op,
                     ev->topic);
            rc = SL_ERR_PROTO;
            break;
        }
        rc = apply_row(snk, op, tname.data, fields, after, key);
    }
    }
out:
    json_decref(key);
    json_decref(val);
    json_decref(own_payload);
    sl_buf_free(&tname);
    return rc;
}

/* ---- vtable ---------------------------------------------------------------------------------- */

static void jdbc_destroy(sl_sink_t *snk)
{
    if (!snk)
        return;
    if (snk->conn)
        PQfinish(snk->conn); /* an open transaction dies with the session: rolled back */
    tables_clear(snk);
    free(snk->tables);
    for (size_t i = 0; i < MAX_CONN_KW; i++)
        free(snk->kwval[i]);
    sl_conf_list_free(snk->pk_fields);
    free(snk->table_format);
    free(snk->offsets_name);
    free(snk->pending);
    free(snk->piped);
    stmts_forget(snk);
    free(snk->stmts);
    free(snk->vschema_text);
    json_decref(snk->vschema);
    sl_buf_free(&snk->sql);
    sl_buf_free(&snk->p.b);
    free(snk->p.off);
    free(snk->p.null);
    free(snk->p.vals);
    free(snk);
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
    snk->pk_fields = sl_conf_list(conf, "debezium.sink.jdbc.primary.key.fields");
    if (snk->pk_fields && !snk->pk_fields[0]) {
        sl_conf_list_free(snk->pk_fields);
        snk->pk_fields = NULL;
    }
    snk->table_format = strdup(sl_conf_str(conf, "debezium.sink.jdbc.table.name.format"));
    snk->offsets_name = strdup(sl_conf_str(conf, "sluice.sink.jdbc.offsets.name"));
    if (!snk->table_format || !snk->offsets_name)
        return SL_ERR_NOMEM;
    if (!snk->value_schemas) {
        snprintf(errstr, errstr_size,
                 "jdbc sink: column types come from the event schema: set "
                 "debezium.format.value.schemas.enable=true");
        return SL_ERR_CONFIG;
    }
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
    int rc = parse_url(snk, sl_conf_str(conf, "debezium.sink.jdbc.connection.url"), errstr,
                       errstr_size);
    if (rc != SL_OK)
        return rc;
    const char *user = sl_conf_str(conf, "debezium.sink.jdbc.connection.username");
    const char *pw = sl_conf_str(conf, "debezium.sink.jdbc.connection.password");
    if (rc == SL_OK && user)
        rc = kw_add(snk, "user", user, strlen(user));
    if (rc == SL_OK && pw)
        rc = kw_add(snk, "password", pw, strlen(pw));
    if (rc == SL_OK)
        rc = kw_add(snk, "application_name", "sluice", 6);
    if (rc != SL_OK)
        snprintf(errstr, errstr_size, "jdbc sink: %s", sl_err_str(rc));
    return rc;
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
    if (rc == SL_OK)
        rc = conn_open(snk, errstr, errstr_size);
    if (rc != SL_OK) {
        jdbc_destroy(snk);
        return rc;
    }
    *out = snk;
    return SL_OK;
}

/* Always exactly-once: the position lives in the target, in sluice_offsets. */
static unsigned jdbc_caps(const sl_sink_t *snk) { return SL_SINK_CAP_OFFSETS; }

static int jdbc_offset_load(sl_sink_t *snk, char **text, char *errstr, size_t errstr_size)
{
    *text = NULL;
    PGresult *r = NULL;
    const char *v[1] = {snk->offsets_name};
    int rc = exec_cmd(snk, "could not create " OFFSETS_TABLE,
                      "CREATE TABLE IF NOT EXISTS " OFFSETS_TABLE " (name text PRIMARY KEY, "
                      "\"offset\" text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())",
                      0, NULL, NULL);
    if (rc == SL_OK)
        rc = exec_cmd(snk, "could not read " OFFSETS_TABLE,
                      "SELECT \"offset\" FROM " OFFSETS_TABLE " WHERE name = $1", 1, v, &r);
    if (rc != SL_OK) {
        snprintf(errstr, errstr_size, "jdbc sink: %s", snk->err);
        return rc;
    }
    if (PQntuples(r) == 1 && !(*text = strdup(PQgetvalue(r, 0, 0))))
        rc = SL_ERR_NOMEM;
    PQclear(r);
    if (*text)
        sl_info("jdbc sink: resuming from the position stored in %s (name '%s')", OFFSETS_TABLE,
                snk->offsets_name);
    return rc;
}

static int jdbc_submit(sl_sink_t *snk, sl_event_t *ev)
{
    if (snk->npending >= (size_t)snk->batch_size)
        return SL_ERR_AGAIN; /* the pipeline commits (flush_offset) and submits again */
    if (snk->npending == snk->cap_pending) {
        size_t nc = snk->cap_pending ? snk->cap_pending * 2 : 256;
        sl_event_t **np = realloc(snk->pending, nc * sizeof *np);
        if (!np)
            return SL_ERR_NOMEM;
        snk->pending = np;
        snk->cap_pending = nc;
    }
    int rc = apply(snk, ev);
    if (rc != SL_OK) {
        sl_error("jdbc sink: %s (topic %s)", snk->err, ev->topic);
        txn_abort(snk, rc);
        return rc;
    }
    snk->pending[snk->npending++] = ev;
    return SL_OK;
}

static int jdbc_flush_offset(sl_sink_t *snk, const char *offset, size_t offset_len)
{
    return txn_commit(snk, offset, offset_len);
}

static int jdbc_flush(sl_sink_t *snk) { return txn_commit(snk, NULL, 0); }

static int jdbc_poll(sl_sink_t *snk, int timeout_ms) { return 0; }

static const char *jdbc_last_error(const sl_sink_t *snk) { return snk->err; }

static int jdbc_check(const sl_conf_t *conf, FILE *report)
{
    sl_sink_env_t env = {0};
    sl_sink_t *snk = NULL;
    char e[512];
    int rc = jdbc_create(&snk, conf, &env, e, sizeof e);
    if (rc != SL_OK) {
        fprintf(report, "FAIL: %s\n", e);
        return 1;
    }
    fprintf(report, "ok: jdbc sink connects to %s (server %d)\n", PQdb(snk->conn),
            PQserverVersion(snk->conn));
    jdbc_destroy(snk);
    return 0;
}

static const sl_prop_def_t jdbc_defs[] = {
    {"debezium.sink.jdbc.connection.url", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED,
     "Target database, jdbc:postgresql://host[:port][,host2[:port2]]/database[?user=..&sslmode=..]. "
     "Only PostgreSQL targets so far."},
    {"debezium.sink.jdbc.connection.username", SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "User name on the target (overrides user= in the URL)."},
    {"debezium.sink.jdbc.connection.password", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_SECRET,
     "Password on the target (overrides password= in the URL)."},
    {"debezium.sink.jdbc.insert.mode", SL_PT_ENUM, "insert", "insert|upsert|update", 0, 0, 0,
     "insert: creates become INSERT (updates become UPDATE when a primary key is known); upsert: "
     "INSERT ... ON CONFLICT (key) DO UPDATE for creates and updates; update: UPDATE only."},
    {"debezium.sink.jdbc.delete.enabled", SL_PT_BOOL, "false", NULL, 0, 0, 0,
     "Apply delete events as DELETE by primary key (tombstones are always ignored). Needs a "
     "primary.key.mode other than none."},
    {"debezium.sink.jdbc.truncate.enabled", SL_PT_BOOL, "false", NULL, 0, 0, 0,
     "Apply truncate events as TRUNCATE TABLE."},
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
     "Most events applied in one target transaction; a larger source transaction is committed "
     "in several parts (each with its source position, so a restart still resumes exactly)."},
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
};
