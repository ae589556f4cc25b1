/*
 * jdbc_pg.c — the jdbc sink's PostgreSQL target (libpq): jdbc:postgresql:// URLs.
 *
 * How it works. Statements go through libpq's pipeline mode: nothing waits for a result
 * until the transaction commits (or a catalog query needs an answer, or PIPE_MAX commands
 * are queued), so a transaction costs about one round trip, not one per row. Statements
 * the sink marks as repeating go through named prepared statements (one per text), so
 * the server parses and plans each shape once. Values are text parameters. Long runs of
 * plain inserts come as copy() and go out as COPY ... FROM STDIN in text format, which the
 * server loads with batched heap inserts and no per-row statement: COPY cannot run in
 * pipeline mode, so the pipeline is drained and left first and entered again by the next
 * command; BEGIN is held back until the transaction's first command, so a transaction that
 * starts with a COPY sends "BEGIN; COPY ..." as one query (one round trip less).
 *
 *   pipeline OFF --command--> ON (BEGIN first if pending) --sync/catalog query--> OFF
 *   OFF --copy(): [BEGIN;] COPY, rows, CopyDone, result--> OFF
 *
 * Invariants:
 *  1. A Sync inside the explicit BEGIN block neither commits nor ends the transaction, so
 *     the rows and the offsets row still change in one transaction. After a failed
 *     command the server skips the rest up to the Sync (PGRES_PIPELINE_ABORTED): the
 *     first error is the one reported, and the transaction is aborted.
 *  2. A COMMIT only counts when its tag is COMMIT (a failed transaction's COMMIT
 *     "succeeds" with the tag ROLLBACK).
 *  3. Prepared statements whose Parse may have been skipped are forgotten on rollback
 *     (DEALLOCATE ALL), so a name never refers to a statement that does not exist.
 *  4. COPY stores exactly the text an INSERT's text parameter would: NULL is \N;
 *     backslash, tab, newline and carriage return are escaped (bytea's \x hex becomes
 *     \\x); a value ends at its first NUL byte, as a C-string parameter does. A failed
 *     COPY aborts the transaction like a failed statement (the sink rolls back and
 *     rebuilds or stops), and the pipeline's earlier errors are reported before it runs.
 *     A target that COPY would not load as INSERT does (a view, a table with rules, a
 *     foreign table) is declined: the sink sends INSERTs.
 *  5. No statement of a transaction reaches the server before its BEGIN: a pending
 *     BEGIN is sent ahead of the first pipelined command, or in the COPY's query string;
 *     a rollback drops it. (Catalog reads through exec_cmd may run before it: they
 *     change nothing.)
 *  6. copy() returns once the rows and CopyDone are sent, without waiting for the server
 *     to load them: the target works on them while the sink prepares what follows. The
 *     COPY's result is read before the next command of any kind (copy_collect), so its
 *     error, like a pipelined command's, is reported by that call at the latest by the
 *     transaction's COMMIT, which therefore never succeeds after a failed COPY.
 *
 * References: libpq "Pipeline Mode" and "Functions Associated with the COPY Command";
 * PostgreSQL COPY (text format); pgJDBC connection URL syntax.
 */
#include <ctype.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/log.h"
#include "sink/jdbc/jdbc.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_CONN_KW 24
#define PIPE_MAX 1000 /* sync and read back at most this many commands at a time */
#define STMTS_MAX 256 /* prepared statements kept on the target; then DEALLOCATE ALL */

typedef struct pg_conn {
    jdbc_conn_t base;
    PGconn *conn;
    const char *kw[MAX_CONN_KW + 1];
    char *kwval[MAX_CONN_KW + 1];
    /* pipeline mode: commands sent and not yet read back (what each one was, for errors) */
    const char **piped;
    size_t npiped, cap_piped;
    /* named prepared statements on the target, by SQL text */
    char **stmts;
    size_t nstmts, cap_stmts;
    /* text parameters for libpq (NUL-terminated copies where the sink's are not) */
    const char **vals;
    size_t cap_vals;
    sl_buf_t copy_sql, copy_data; /* pg_copy's statement and rows (reused) */
    char **no_copy; /* tables COPY would not load as INSERT does (views, rules) */
    size_t nno_copy;
    /* a COPY whose rows are all sent and whose result is not read yet (its `what`; NULL:
     * none): read by copy_collect() before anything else goes out (invariant 6) */
    const char *copy_what;
    bool lost; /* the last error said the session is over */
    bool begin_pending; /* begin() was called: BEGIN goes out before the next command */
} pg_conn_t;

static const char COMMIT_WHAT[] = "COMMIT failed";

static void set_pg_err(pg_conn_t *snk, const char *what, const PGresult *r)
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
    jdbc_one_line(m);
    snprintf(snk->base.err, sizeof snk->base.err, "%s: %s%s%s%s", what, m, state ? " (SQLSTATE " : "",
             state ? state : "", state ? ")" : "");
    /* the server is going away (admin/crash shutdown) or the link broke: the session is
     * lost even if libpq has not noticed the closed socket yet */
    snk->lost = state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0);
    /* serialization failure, deadlock, lock not available: worth another attempt */
    snk->base.transient = state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
                                    strcmp(state, "55P03") == 0);
}

static int err_code(const pg_conn_t *snk)
{
    return PQstatus(snk->conn) == CONNECTION_OK && !snk->lost ? SL_ERR_SERVER : SL_ERR_CONN;
}

static int conn_err(pg_conn_t *snk, const char *what)
{
    set_pg_err(snk, what, NULL);
    return err_code(snk);
}

/* Pipeline mode (libpq >= 14): DML, BEGIN, the offsets upsert and COMMIT are sent without
 * waiting; pipe_drain() sends a Sync and reads every result back. A Sync inside the
 * explicit BEGIN block neither commits nor ends the transaction, so the rows and the
 * offsets row still change in one transaction (invariant 1). After a failed command the
 * server skips the rest up to the Sync (PGRES_PIPELINE_ABORTED) and the transaction is
 * aborted: the caller rolls back and reports every event of it failed (invariant 2).
 * The first error is the one reported. */
static int copy_collect(pg_conn_t *snk);

static int pipe_drain(pg_conn_t *snk)
{
    int rc = copy_collect(snk);
    if (rc != SL_OK || PQpipelineStatus(snk->conn) == PQ_PIPELINE_OFF)
        return rc;
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
                    rc = err_code(snk);
                } else if (what == COMMIT_WHAT && st == PGRES_COMMAND_OK &&
                           strcmp(PQcmdStatus(r), "COMMIT") != 0) {
                    /* COMMIT of a failed transaction "succeeds" with the tag ROLLBACK */
                    snprintf(snk->base.err, sizeof snk->base.err, "the target rolled the transaction back");
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

static const char BEGIN_WHAT[] = "BEGIN failed";

/* Room for one more command in the pipeline (entering pipeline mode if needed), after the
 * BEGIN that begin() left pending (invariant 5). */
static int pipe_slot(pg_conn_t *snk)
{
    int rc = copy_collect(snk);
    if (rc != SL_OK)
        return rc;
    if (snk->npiped >= PIPE_MAX && (rc = pipe_drain(snk)) != SL_OK)
        return rc;
    const char **np = sl_grow_array(snk->piped, &snk->cap_piped, snk->npiped + 2, sizeof *np, 64);
    if (!np)
        return SL_ERR_NOMEM;
    snk->piped = np;
    if (PQpipelineStatus(snk->conn) == PQ_PIPELINE_OFF && PQenterPipelineMode(snk->conn) != 1)
        return conn_err(snk, "could not enter pipeline mode");
    if (snk->begin_pending) {
        snk->begin_pending = false;
        if (PQsendQueryParams(snk->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) != 1)
            return conn_err(snk, BEGIN_WHAT);
        snk->piped[snk->npiped++] = BEGIN_WHAT;
    }
    return SL_OK;
}

/* Queues a command in the pipeline (no result is read here). */
static int pipe_send(pg_conn_t *snk, const char *what, const char *sql, int n,
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

static void stmts_forget(pg_conn_t *snk)
{
    for (size_t i = 0; i < snk->nstmts; i++)
        free(snk->stmts[i]);
    snk->nstmts = 0;
}

/* Like pipe_send, through a named prepared statement (prepared in the same pipeline the
 * first time its text is seen): the target parses and plans each statement shape once.
 * Statements are session objects, not undone by a rollback, but one whose Parse was
 * skipped after an error does not exist: txn_abort() forgets them all (DEALLOCATE ALL). */
static int pipe_send_prepared(pg_conn_t *snk, const char *what, const char *sql, int n,
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
        char **ns = sl_grow_array(snk->stmts, &snk->cap_stmts, snk->nstmts + 1, sizeof *ns, 16);
        if (!ns)
            return SL_ERR_NOMEM;
        snk->stmts = ns;
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
 * pipeline); SL_OK when it succeeded, else SL_ERR_SERVER / SL_ERR_CONN with snk->base.err. */
static int exec_cmd(pg_conn_t *snk, const char *what, const char *sql, int n,
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
        return err_code(snk);
    }
    if (res_out)
        *res_out = r;
    else
        PQclear(r);
    return SL_OK;
}

/* ---- connection URL ------------------------------------------------------------------------ */

static int kw_add(pg_conn_t *snk, const char *k, const char *v, size_t vlen)
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

/* jdbc:postgresql://host[:port][,host2[:port2]...]/database?key=value&... -> libpq keywords. */
static int parse_url(pg_conn_t *snk, const char *url, char *errstr, size_t errstr_size)
{
    static const char pfx[] = "jdbc:postgresql:";
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
        size_t l = jdbc_url_decode(db);
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
        size_t vl = jdbc_url_decode(eq + 1);
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

static int conn_open(pg_conn_t *snk, char *errstr, size_t errstr_size)
{
    snk->conn = PQconnectdbParams(snk->kw, (const char *const *)snk->kwval, 0);
    if (!snk->conn || PQstatus(snk->conn) != CONNECTION_OK) {
        char m[512];
        snprintf(m, sizeof m, "%s", snk->conn ? PQerrorMessage(snk->conn) : "out of memory");
        size_t l = strlen(m);
        while (l && (m[l - 1] == '\n' || m[l - 1] == ' '))
            m[--l] = 0;
        jdbc_one_line(m);
        snprintf(errstr, errstr_size, "could not connect to the target: %s", m);
        return SL_ERR_CONN;
    }
    /* The sink's prepared statements run with ever different values, and one plan fits
     * them all (key lookups, the multi-row UPDATE's join on the key): generic plans from
     * the first execution on, instead of custom plans that PostgreSQL may keep making for
     * every execution (the 128-row UPDATE ... FROM (... UNION ALL ...) was planned each
     * time: ~0.4 us of target CPU per updated row in bench/jdbc.sh). PostgreSQL 12+. */
    if (PQserverVersion(snk->conn) >= 120000) {
        PGresult *r = PQexec(snk->conn, "SET plan_cache_mode = force_generic_plan");
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            sl_warn("jdbc sink: could not set plan_cache_mode on the target: %s",
                    PQresultErrorMessage(r));
        PQclear(r);
    }
    return SL_OK;
}


/* ---- the target vtable -------------------------------------------------------------------- */

static void pg_close(jdbc_conn_t *c)
{
    pg_conn_t *snk = (pg_conn_t *)c;
    if (!snk)
        return;
    if (snk->conn)
        PQfinish(snk->conn); /* an open transaction dies with the session: rolled back */
    for (size_t i = 0; i < MAX_CONN_KW; i++)
        free(snk->kwval[i]);
    free(snk->piped);
    stmts_forget(snk);
    free(snk->stmts);
    free(snk->vals);
    sl_buf_free(&snk->copy_sql);
    sl_buf_free(&snk->copy_data);
    for (size_t i = 0; i < snk->nno_copy; i++)
        free(snk->no_copy[i]);
    free(snk->no_copy);
    free(snk);
}

static int pg_open(jdbc_conn_t **out, const char *url, const char *user, const char *password,
                   char *errstr, size_t errstr_size)
{
    pg_conn_t *snk = calloc(1, sizeof *snk);
    if (!snk)
        return SL_ERR_NOMEM;
    snk->base.target = &jdbc_target_pg;
    errstr[0] = 0;
    int rc = parse_url(snk, url, errstr, errstr_size);
    if (rc == SL_OK && user)
        rc = kw_add(snk, "user", user, strlen(user));
    if (rc == SL_OK && password)
        rc = kw_add(snk, "password", password, strlen(password));
    if (rc == SL_OK)
        rc = kw_add(snk, "application_name", "sluice", 6);
    if (rc != SL_OK && !*errstr)
        snprintf(errstr, errstr_size, "%s", sl_err_str(rc));
    if (rc == SL_OK)
        rc = conn_open(snk, errstr, errstr_size);
    if (rc != SL_OK) {
        pg_close(&snk->base);
        return rc;
    }
    *out = &snk->base;
    return SL_OK;
}

/* libpq wants NUL-terminated text parameters: the sink's values are (jdbc_value never
 * produces blobs for PostgreSQL), so they are passed as they are. */
static const char *const *pg_vals(pg_conn_t *snk, const jdbc_param_t *p, size_t n)
{
    if (n > snk->cap_vals) {
        const char **nv = realloc(snk->vals, n * sizeof *nv);
        if (!nv)
            return NULL;
        snk->vals = nv;
        snk->cap_vals = n;
    }
    for (size_t i = 0; i < n; i++)
        snk->vals[i] = p[i].is_null ? NULL : p[i].data;
    return snk->vals;
}

static int pg_exec(jdbc_conn_t *c, const char *what, const char *sql, const jdbc_param_t *p,
                   size_t n, bool repeats)
{
    pg_conn_t *snk = (pg_conn_t *)c;
    const char *const *vals = pg_vals(snk, p, n);
    if (n && !vals)
        return SL_ERR_NOMEM;
    return repeats ? pipe_send_prepared(snk, what, sql, (int)n, vals)
                   : pipe_send(snk, what, sql, (int)n, vals);
}

/* ---- COPY ------------------------------------------------------------------------------------ */

#define COPY_CHUNK 65536 /* rows are handed to libpq in pieces of about this size */

/* True when one of the 8 bytes in x is '\\' or below 0x0E (NUL, tab, newline, carriage
 * return among them): where copy_field's plain runs may stop. No false negatives. */
static inline bool copy_special8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t bs = x ^ (ones * '\\');
    return (((bs - ones) & ~bs) | ((x - ones * 0x0E) & ~x)) & highs;
}

/* One field in COPY's text format (invariant 4): \N for NULL; backslash, tab, newline and
 * carriage return escaped; every other byte as it is. A value ends at its first NUL byte,
 * as a text parameter does (libpq reads parameters as C strings), so COPY and INSERT store
 * the same text. */
static void copy_field(sl_buf_t *b, const jdbc_param_t *p)
{
    if (p->is_null) {
        sl_buf_add(b, "\\N", 2);
        return;
    }
    const char *s = p->data, *end = p->data + p->len, *run = s;
    while (end - s >= 8) { /* the usual value has nothing to escape: 8 bytes at a time */
        uint64_t x;
        memcpy(&x, s, 8);
        if (copy_special8(x))
            break;
        s += 8;
    }
    for (; s < end && *s; s++) {
        char e;
        switch (*s) {
        case '\\': e = '\\'; break;
        case '\t': e = 't'; break;
        case '\n': e = 'n'; break;
        case '\r': e = 'r'; break;
        default: continue;
        }
        sl_buf_add(b, run, (size_t)(s - run));
        sl_buf_addc(b, '\\');
        sl_buf_addc(b, e);
        run = s + 1;
    }
    sl_buf_add(b, run, (size_t)(s - run));
}

/* Reads the results of the command in progress up to its end; the first error (when rc is
 * still SL_OK) becomes the one reported. */
static int copy_finish(pg_conn_t *snk, const char *what, int rc)
{
    PGresult *r;
    while ((r = PQgetResult(snk->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (rc == SL_OK && st != PGRES_COMMAND_OK) {
            set_pg_err(snk, what, r);
            rc = err_code(snk);
        }
        PQclear(r);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH)
            break; /* never expected after CopyDone; the session is in an unknown state */
    }
    if (rc == SL_OK && PQstatus(snk->conn) != CONNECTION_OK)
        rc = conn_err(snk, what);
    return rc;
}

/* Reads the result of the COPY copy() left in flight, if any (invariant 6). */
static int copy_collect(pg_conn_t *snk)
{
    const char *what = snk->copy_what;
    if (!what)
        return SL_OK;
    snk->copy_what = NULL;
    return copy_finish(snk, what, SL_OK);
}

/* Sends the rows as COPY data in pieces of COPY_CHUNK bytes. */
static int copy_send_rows(pg_conn_t *snk, const jdbc_param_t *p, size_t nrows, size_t ncols)
{
    sl_buf_t *b = &snk->copy_data;
    for (size_t row = 0; row < nrows; row++) {
        for (size_t col = 0; col < ncols; col++) {
            if (col)
                sl_buf_addc(b, '\t');
            copy_field(b, &p[row * ncols + col]);
        }
        sl_buf_addc(b, '\n');
        if (b->len < COPY_CHUNK && row + 1 < nrows)
            continue;
        if (!sl_buf_ok(b))
            return SL_ERR_NOMEM;
        if (PQputCopyData(snk->conn, b->data, (int)b->len) != 1)
            return SL_ERR_CONN;
        sl_buf_reset(b);
    }
    return SL_OK;
}

/* COPY target FROM STDIN: COPY cannot run in pipeline mode, so the pipeline is drained and
 * left first (its errors come back from here) and is entered again by the next queued
 * command. The COPY statement goes out before the rows are formatted, so the server parses
 * it while they are; its result is read later (invariant 6). A failed COPY aborts the
 * transaction like any failed statement. */
static int pg_copy(jdbc_conn_t *c, const char *what, const char *table, const char *target,
                   size_t target_len, const jdbc_param_t *p, size_t nrows, size_t ncols)
{
    pg_conn_t *snk = (pg_conn_t *)c;
    for (size_t i = 0; i < snk->nno_copy; i++)
        if (strcmp(snk->no_copy[i], table) == 0)
            return SL_ERR_UNSUPPORTED;
    int rc = pipe_drain(snk);
    if (rc != SL_OK)
        return rc;
    sl_buf_t *q = &snk->copy_sql;
    sl_buf_reset(q);
    bool with_begin = snk->begin_pending; /* the transaction's first command: one round trip */
    snk->begin_pending = false;
    sl_buf_adds(q, with_begin ? "BEGIN; COPY " : "COPY ");
    sl_buf_add(q, target, target_len);
    sl_buf_adds(q, " FROM STDIN");
    if (!sl_buf_ok(q))
        return SL_ERR_NOMEM;
    if (PQsendQuery(snk->conn, q->data) != 1)
        return conn_err(snk, what);
    PGresult *r = PQgetResult(snk->conn);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (with_begin && st == PGRES_COMMAND_OK) { /* BEGIN's result; COPY's comes next */
        PQclear(r);
        r = PQgetResult(snk->conn);
        st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    }
    if (st != PGRES_COPY_IN) {
        set_pg_err(snk, what, r);
        rc = err_code(snk);
        PQclear(r);
        return copy_finish(snk, what, rc);
    }
    PQclear(r);
    sl_buf_reset(&snk->copy_data);
    rc = copy_send_rows(snk, p, nrows, ncols);
    if (rc == SL_ERR_CONN)
        rc = conn_err(snk, what);
    /* on out of memory the COPY is ended with an error: the server aborts the transaction */
    if (PQputCopyEnd(snk->conn, rc == SL_OK ? NULL : "sluice could not send the rows") != 1 &&
        rc == SL_OK)
        rc = conn_err(snk, what);
    if (rc != SL_OK)
        return copy_finish(snk, what, rc);
    snk->copy_what = what; /* the server loads the rows meanwhile */
    return SL_OK;
}

static bool pg_multi_update(jdbc_conn_t *c, const char *table)
{
    pg_conn_t *snk = (pg_conn_t *)c;
    for (size_t i = 0; i < snk->nno_copy; i++)
        if (strcmp(snk->no_copy[i], table) == 0)
            return false;
    return true;
}

static int pg_sync(jdbc_conn_t *c) { return pipe_drain((pg_conn_t *)c); }

/* BEGIN goes out with the transaction's first command (invariant 5): in the pipeline
 * before it, or in one query string with a COPY that starts the transaction. */
static int pg_begin(jdbc_conn_t *c)
{
    ((pg_conn_t *)c)->begin_pending = true;
    return SL_OK;
}

static int pg_commit(jdbc_conn_t *c)
{
    pg_conn_t *snk = (pg_conn_t *)c;
    int rc = pipe_send(snk, COMMIT_WHAT, "COMMIT", 0, NULL);
    return rc == SL_OK ? pipe_drain(snk) : rc;
}

static void pg_rollback(jdbc_conn_t *c)
{
    pg_conn_t *snk = (pg_conn_t *)c;
    char keep[sizeof snk->base.err];
    memcpy(keep, snk->base.err, sizeof keep); /* the first error is the one to report */
    (void)copy_collect(snk);
    if (PQstatus(snk->conn) == CONNECTION_OK && PQpipelineStatus(snk->conn) != PQ_PIPELINE_OFF) {
        if (pipe_drain(snk) != SL_OK && PQpipelineStatus(snk->conn) != PQ_PIPELINE_OFF)
            (void)PQexitPipelineMode(snk->conn);
    }
    memcpy(snk->base.err, keep, sizeof keep);
    snk->npiped = 0;
    snk->begin_pending = false;
    if (PQstatus(snk->conn) == CONNECTION_OK) {
        PQclear(PQexec(snk->conn, "ROLLBACK"));
        if (snk->nstmts)
            PQclear(PQexec(snk->conn, "DEALLOCATE ALL")); /* invariant 3 */
    }
    stmts_forget(snk);
}

/* Remembers that `name` takes no COPY (pg_copy then declines): a view (COPY cannot load
 * one; INSERT goes through its rules or triggers) or a table with rules (COPY ignores
 * them). Told by pg_columns, which the sink calls before it writes to a table. */
static int no_copy_add(pg_conn_t *snk, const char *name)
{
    for (size_t i = 0; i < snk->nno_copy; i++)
        if (strcmp(snk->no_copy[i], name) == 0)
            return SL_OK;
    char **nn = realloc(snk->no_copy, (snk->nno_copy + 1) * sizeof *nn);
    if (!nn)
        return SL_ERR_NOMEM;
    snk->no_copy = nn;
    if (!(nn[snk->nno_copy] = strdup(name)))
        return SL_ERR_NOMEM;
    snk->nno_copy++;
    return SL_OK;
}

static int pg_columns(jdbc_conn_t *c, const char *name, bool *exists,
                      int (*add)(void *opaque, const char *col), void *opaque)
{
    pg_conn_t *snk = (pg_conn_t *)c;
    const char *v[1] = {name}; /* quoted by the server (quote_ident), as the sink quotes it */
    PGresult *r = NULL;
    int rc = exec_cmd(snk, "could not read the target table's columns",
                      "SELECT c.oid IS NOT NULL, a.attname, k.relkind NOT IN ('r', 'p') OR "
                      "k.relhasrules FROM (SELECT to_regclass(quote_ident($1)) AS oid) c "
                      "LEFT JOIN pg_class k ON k.oid = c.oid "
                      "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT "
                      "a.attisdropped ORDER BY a.attnum",
                      1, v, &r);
    if (rc != SL_OK)
        return rc;
    *exists = PQntuples(r) > 0 && PQgetvalue(r, 0, 0)[0] == 't';
    if (*exists && PQgetvalue(r, 0, 2)[0] == 't')
        rc = no_copy_add(snk, name);
    for (int i = 0; *exists && i < PQntuples(r) && rc == SL_OK; i++)
        if (!PQgetisnull(r, i, 1))
            rc = add(opaque, PQgetvalue(r, i, 1));
    PQclear(r);
    return rc;
}

static int pg_offset_load(jdbc_conn_t *c, const char *name, char **text)
{
    pg_conn_t *snk = (pg_conn_t *)c;
    *text = NULL;
    PGresult *r = NULL;
    const char *v[1] = {name};
    int rc = exec_cmd(snk, "could not create " JDBC_OFFSETS_TABLE,
                      "CREATE TABLE IF NOT EXISTS " JDBC_OFFSETS_TABLE " (name text PRIMARY KEY, "
                      "\"offset\" text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())",
                      0, NULL, NULL);
    if (rc == SL_OK)
        rc = exec_cmd(snk, "could not read " JDBC_OFFSETS_TABLE,
                      "SELECT \"offset\" FROM " JDBC_OFFSETS_TABLE " WHERE name = $1", 1, v, &r);
    if (rc != SL_OK)
        return rc;
    if (PQntuples(r) == 1 && !(*text = strdup(PQgetvalue(r, 0, 0))))
        rc = SL_ERR_NOMEM;
    PQclear(r);
    return rc;
}

static int pg_offset_store(jdbc_conn_t *c, const char *name, const char *offset, size_t len)
{
    pg_conn_t *snk = (pg_conn_t *)c;
    char *o = strndup(offset, len);
    if (!o)
        return SL_ERR_NOMEM;
    const char *v[2] = {name, o};
    int rc = pipe_send(snk, "could not store the source position",
                       "INSERT INTO " JDBC_OFFSETS_TABLE " (name, \"offset\") VALUES ($1, $2) ON "
                       "CONFLICT (name) DO UPDATE SET \"offset\" = EXCLUDED.\"offset\", "
                       "updated_at = now()",
                       2, v);
    free(o); /* libpq copied the parameters into its output buffer */
    return rc;
}

static void pg_describe(jdbc_conn_t *c, char *buf, size_t size)
{
    pg_conn_t *snk = (pg_conn_t *)c;
    int v = PQserverVersion(snk->conn);
    snprintf(buf, size, "PostgreSQL %d.%d, database %s", v / 10000, v % 10000, PQdb(snk->conn));
}

const jdbc_target_t jdbc_target_pg = {
    .name = "PostgreSQL",
    .url_prefixes = {"jdbc:postgresql:"},
    .dialect = JDBC_PG,
    .quote = '"',
    .numbered_params = true,
    .truncate_sql = "TRUNCATE TABLE ",
    .max_ident_len = 63, /* NAMEDATALEN - 1 */
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .copy = pg_copy,
    .multi_update = pg_multi_update,
    .sync = pg_sync,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .columns = pg_columns,
    .offset_load = pg_offset_load,
    .offset_store = pg_offset_store,
    .describe = pg_describe,
};
