/*
 * jdbc_sqlite.c — the jdbc sink's SQLite target (libsqlite3): jdbc:sqlite: URLs.
 *
 * What. A target database that is a file: jdbc:sqlite:/abs/path.db, jdbc:sqlite:rel.db, or
 * jdbc:sqlite:file:/path.db?... (the "file:" is dropped, query parameters are ignored with
 * a warning). There is no server, user or password (ignored with a warning when set).
 *
 * How it works. The database is opened in-process on the pipeline thread (NOMUTEX: one
 * thread, no locking of our own) in WAL mode with synchronous=FULL, and every call runs
 * at once: exec() prepares, binds, steps to SQLITE_DONE and resets before it returns, so
 * sync() has nothing to wait for. Statements the sink marks as repeating are prepared
 * once (SQLITE_PREPARE_PERSISTENT) and kept in a cache by SQL text (STMTS_MAX entries,
 * the least recently used one finalized when it is full); the others are prepared,
 * run and finalized. Values are bound as text (blobs as blobs): the column's affinity
 * turns "42" into an integer in an INTEGER column, as the target's own parser would.
 * Transactions start with BEGIN IMMEDIATE, which takes the write lock up front.
 *
 * Invariants:
 *  1. No statement is left active between calls (each is run to its end, or to its error,
 *     and reset with its bindings cleared before exec() returns): COMMIT, ROLLBACK and
 *     savepoints never meet a statement in progress, and binding the caller's buffers
 *     with SQLITE_STATIC is safe — SQLite never reads them after exec() returns.
 *  2. A COMMIT that returned SQLITE_OK is on disk (WAL + synchronous=FULL: the WAL is
 *     fsynced at every commit). The sink reports events delivered only after it, which
 *     is what makes a kill -9 or a power cut lose nothing and repeat nothing.
 *  3. The write lock is taken at BEGIN (IMMEDIATE), never upgraded in the middle of a
 *     transaction, so a concurrent writer shows up as SQLITE_BUSY at BEGIN (after
 *     busy_timeout) — a transient error the sink retries — not as a deadlock.
 *  4. After some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM, some SQLITE_BUSY) SQLite
 *     rolls the whole transaction back by itself: rollback() asks sqlite3_get_autocommit()
 *     instead of assuming a transaction is open. A failed statement alone (a constraint)
 *     only undoes itself; the transaction stays open for the sink's savepoints.
 *  5. Double-quoted names are always identifiers: SQLite's legacy "double-quoted string
 *     literal" fallback is off (SQLITE_DBCONFIG_DQS_DML/DDL), so a column name that does
 *     not exist is an error, never a silently compared string constant.
 *
 * Errors: one line "<what>: <sqlite message> (SQLite error <extended code>)", SL_ERR_SERVER;
 * transient (the sink retries with backoff) for SQLITE_BUSY, SQLITE_LOCKED, SQLITE_FULL and
 * SQLITE_IOERR, permanent otherwise (constraint, datatype mismatch...). A file database
 * never loses its "connection": SL_ERR_CONN comes only from open().
 *
 * References: SQLite "C/C++ Interface" (sqlite3_prepare_v3, sqlite3_bind_*, sqlite3_step,
 * sqlite3_get_autocommit, sqlite3_db_config), "Write-Ahead Logging", PRAGMA synchronous,
 * "Datatypes In SQLite" (type affinity), "The ON CONFLICT clause" / UPSERT, "Quirks of
 * SQLite" (double-quoted string literals), "Result and Error Codes"; Xerial sqlite-jdbc URL
 * syntax (jdbc:sqlite:path).
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/log.h"
#include "sink/jdbc/jdbc.h"

#define STMTS_MAX 256         /* prepared statements kept; then the least recently used goes */
#define BUSY_TIMEOUT_MS 5000  /* wait this long for another writer's lock before SQLITE_BUSY */

typedef struct stmt_ent {
    char *sql;
    uint64_t hash;
    uint64_t used; /* lru clock */
    sqlite3_stmt *st;
} stmt_ent_t;

typedef struct sqlite_conn {
    jdbc_conn_t base;
    sqlite3 *db;
    char *path;
    stmt_ent_t *stmts; /* STMTS_MAX slots; sql == NULL: free */
    size_t nstmts;
    uint64_t clock;
} sqlite_conn_t;

/* ---- errors ------------------------------------------------------------------------------ */

/* c->err from the connection's last error (invariant: call before any sqlite3_reset). */
static int set_err(sqlite_conn_t *snk, const char *what)
{
    int code = sqlite3_extended_errcode(snk->db);
    char m[700];
    snprintf(m, sizeof m, "%s", sqlite3_errmsg(snk->db));
    jdbc_one_line(m);
    snprintf(snk->base.err, sizeof snk->base.err, "%s: %s (SQLite error %d)", what, m, code);
    int primary = code & 0xff;
    /* another writer's lock, a full disk, an I/O error: may pass on another attempt */
    snk->base.transient = primary == SQLITE_BUSY || primary == SQLITE_LOCKED ||
                          primary == SQLITE_FULL || primary == SQLITE_IOERR;
    return SL_ERR_SERVER;
}

/* ---- statements -------------------------------------------------------------------------- */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void stmt_drop(stmt_ent_t *e)
{
    sqlite3_finalize(e->st);
    free(e->sql);
    memset(e, 0, sizeof *e);
}

/* The cached statement for `sql`, prepared (persistent) the first time it is seen. */
static int stmt_cached(sqlite_conn_t *snk, const char *what, const char *sql, sqlite3_stmt **out)
{
    uint64_t h = fnv1a(sql);
    stmt_ent_t *free_slot = NULL, *lru = NULL;
    for (size_t i = 0; i < STMTS_MAX; i++) {
        stmt_ent_t *e = &snk->stmts[i];
        if (!e->sql) {
            if (!free_slot)
                free_slot = e;
            continue;
        }
        if (e->hash == h && strcmp(e->sql, sql) == 0) {
            e->used = ++snk->clock;
            *out = e->st;
            return SL_OK;
        }
        if (!lru || e->used < lru->used)
            lru = e;
    }
    stmt_ent_t *e = free_slot;
    if (!e) { /* full: the least recently used statement goes */
        stmt_drop(lru);
        snk->nstmts--;
        e = lru;
    }
    char *copy = strdup(sql);
    if (!copy)
        return SL_ERR_NOMEM;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(snk->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        free(copy);
        return set_err(snk, what);
    }
    if (!st) { /* only whitespace or a comment: nothing to run, nothing to cache */
        free(copy);
        *out = NULL;
        return SL_OK;
    }
    e->sql = copy;
    e->hash = h;
    e->used = ++snk->clock;
    e->st = st;
    snk->nstmts++;
    *out = st;
    return SL_OK;
}

static int bind_params(sqlite_conn_t *snk, const char *what, sqlite3_stmt *st,
                       const jdbc_param_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int idx = (int)i + 1, rc;
        /* SQLITE_STATIC: the caller's buffers outlive the statement's run (invariant 1) */
        if (p[i].is_null)
            rc = sqlite3_bind_null(st, idx);
        else if (p[i].is_blob && p[i].len == 0)
            rc = sqlite3_bind_zeroblob(st, idx, 0); /* a NULL pointer would bind NULL */
        else if (p[i].is_blob)
            rc = sqlite3_bind_blob64(st, idx, p[i].data, p[i].len, SQLITE_STATIC);
        else
            rc = sqlite3_bind_text64(st, idx, p[i].data ? p[i].data : "", p[i].len, SQLITE_STATIC,
                                     SQLITE_UTF8);
        if (rc != SQLITE_OK)
            return set_err(snk, what);
    }
    return SL_OK;
}

/* Steps `st` to its end; calls row(opaque, st) for each result row when given. Always
 * leaves the statement reset with its bindings cleared (invariant 1). */
static int stmt_run(sqlite_conn_t *snk, const char *what, sqlite3_stmt *st,
                    int (*row)(void *opaque, sqlite3_stmt *st), void *opaque)
{
    int rc = SL_OK, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW)
        if (row && (rc = row(opaque, st)) != SL_OK)
            break;
    if (rc == SL_OK && s != SQLITE_DONE)
        rc = set_err(snk, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* Prepares (cached when `repeats`), binds, runs; row() as in stmt_run. */
static int run(sqlite_conn_t *snk, const char *what, const char *sql, const jdbc_param_t *p,
               size_t n, bool repeats, int (*row)(void *opaque, sqlite3_stmt *st), void *opaque)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (repeats) {
        rc = stmt_cached(snk, what, sql, &st);
    } else {
        rc = sqlite3_prepare_v3(snk->db, sql, -1, 0, &st, NULL) == SQLITE_OK ? SL_OK
                                                                              : set_err(snk, what);
    }
    if (rc != SL_OK || !st)
        return rc;
    rc = bind_params(snk, what, st, p, n);
    if (rc == SL_OK)
        rc = stmt_run(snk, what, st, row, opaque);
    else
        sqlite3_clear_bindings(st);
    if (!repeats)
        sqlite3_finalize(st);
    return rc;
}

static void stmts_reset(sqlite_conn_t *snk)
{
    for (size_t i = 0; i < STMTS_MAX && snk->stmts; i++)
        if (snk->stmts[i].st) {
            sqlite3_reset(snk->stmts[i].st);
            sqlite3_clear_bindings(snk->stmts[i].st);
        }
}

/* ---- connection URL ---------------------------------------------------------------------- */

/* %XX escapes of a file: URI, in place ('+' is a plus in a path, not a space). */
static void pct_decode(char *s)
{
    static const char hex[] = "0123456789abcdef";
    char *o = s;
    for (char *p = s; *p; p++) {
        const char *h1 = p[0] == '%' && p[1] ? strchr(hex, p[1] | 0x20) : NULL;
        const char *h2 = h1 && p[2] ? strchr(hex, p[2] | 0x20) : NULL;
        if (h2) {
            *o++ = (char)((h1 - hex) << 4 | (h2 - hex));
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = 0;
}

/* jdbc:sqlite:<path> | jdbc:sqlite:file:<path>[?...] -> *path (malloc'd). */
static int parse_url(const char *url, char **path, char *errstr, size_t errstr_size)
{
    static const char pfx[] = "jdbc:sqlite:";
    *path = NULL;
    char *p = strdup(url + sizeof pfx - 1);
    if (!p)
        return SL_ERR_NOMEM;
    char *q = strchr(p, '?');
    if (q) {
        *q++ = 0;
        if (*q)
            sl_warn("jdbc sink: connection.url parameters '%s' are ignored by the SQLite target",
                    q);
    }
    char *s = p;
    if (strncasecmp(s, "file:", 5) == 0) {
        s += 5;
        if (strncmp(s, "//", 2) == 0) { /* file://[localhost]/path */
            char *slash = strchr(s + 2, '/');
            size_t alen = slash ? (size_t)(slash - s - 2) : strlen(s + 2);
            if (!slash || (alen && !(alen == 9 && strncasecmp(s + 2, "localhost", 9) == 0))) {
                snprintf(errstr, errstr_size,
                         "debezium.sink.jdbc.connection.url: a file: URL names a local file "
                         "(file:/path or file:///path)");
                free(p);
                return SL_ERR_CONFIG;
            }
            s = slash;
        }
        pct_decode(s);
    }
    if (!*s) {
        snprintf(errstr, errstr_size,
                 "debezium.sink.jdbc.connection.url: no database file after jdbc:sqlite: "
                 "(jdbc:sqlite:/path/file.db)");
        free(p);
        return SL_ERR_CONFIG;
    }
    if (strcmp(s, ":memory:") == 0)
        sl_warn("jdbc sink: jdbc:sqlite::memory: keeps nothing after sluice stops (the position "
                "is lost with the rows)");
    *path = strdup(s);
    free(p);
    return *path ? SL_OK : SL_ERR_NOMEM;
}

/* ---- the target vtable ------------------------------------------------------------------- */

static void sq_close(jdbc_conn_t *c)
{
    sqlite_conn_t *snk = (sqlite_conn_t *)c;
    if (!snk)
        return;
    for (size_t i = 0; i < STMTS_MAX && snk->stmts; i++)
        if (snk->stmts[i].sql)
            stmt_drop(&snk->stmts[i]);
    free(snk->stmts);
    if (snk->db)
        sqlite3_close_v2(snk->db); /* an open transaction is rolled back */
    free(snk->path);
    free(snk);
}

/* Runs a PRAGMA at open; for journal_mode, checks that the answer is `expect`. */
static int open_pragma(sqlite_conn_t *snk, const char *sql, const char *expect, char *errstr,
                       size_t errstr_size)
{
    sqlite3_stmt *st = NULL;
    int s = sqlite3_prepare_v2(snk->db, sql, -1, &st, NULL);
    char got[32] = "";
    if (s == SQLITE_OK && st) {
        while ((s = sqlite3_step(st)) == SQLITE_ROW)
            if (sqlite3_column_text(st, 0))
                snprintf(got, sizeof got, "%s", (const char *)sqlite3_column_text(st, 0));
        if (s == SQLITE_DONE)
            s = SQLITE_OK;
    }
    if (s != SQLITE_OK) {
        char m[512];
        snprintf(m, sizeof m, "%s", sqlite3_errmsg(snk->db));
        jdbc_one_line(m);
        snprintf(errstr, errstr_size, "could not open the target database %s: %s",
                 snk->path, m);
    }
    sqlite3_finalize(st);
    if (s != SQLITE_OK)
        return SL_ERR_CONN;
    if (expect && strcasecmp(got, expect) != 0) {
        snprintf(errstr, errstr_size,
                 "could not open the target database %s: journal_mode is '%s', not "
                 "%s (a file system without shared memory?)",
                 snk->path, got, expect);
        return SL_ERR_CONN;
    }
    return SL_OK;
}

static int sq_open(jdbc_conn_t **out, const char *url, const char *user, const char *password,
                   char *errstr, size_t errstr_size)
{
    errstr[0] = 0;
    sqlite_conn_t *snk = calloc(1, sizeof *snk);
    if (!snk) {
        snprintf(errstr, errstr_size, "out of memory");
        return SL_ERR_NOMEM;
    }
    snk->base.target = &jdbc_target_sqlite;
    int rc = parse_url(url, &snk->path, errstr, errstr_size);
    if (rc == SL_OK && !(snk->stmts = calloc(STMTS_MAX, sizeof *snk->stmts)))
        rc = SL_ERR_NOMEM;
    if (rc != SL_OK) {
        if (!*errstr)
            snprintf(errstr, errstr_size, "%s", sl_err_str(rc));
        sq_close(&snk->base);
        return rc;
    }
    if (user || password)
        sl_warn("jdbc sink: connection.username/password are ignored by the SQLite target");
    int s = sqlite3_open_v2(snk->path, &snk->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (s != SQLITE_OK) {
        char m[512];
        snprintf(m, sizeof m, "%s", snk->db ? sqlite3_errmsg(snk->db) : sqlite3_errstr(s));
        jdbc_one_line(m);
        snprintf(errstr, errstr_size, "could not open the target database %s: %s",
                 snk->path, m);
        sq_close(&snk->base);
        return s == SQLITE_NOMEM ? SL_ERR_NOMEM : SL_ERR_CONN;
    }
    sqlite3_extended_result_codes(snk->db, 1);
    sqlite3_busy_timeout(snk->db, BUSY_TIMEOUT_MS);
    /* invariant 5 */
    (void)sqlite3_db_config(snk->db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
    (void)sqlite3_db_config(snk->db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
    /* WAL: readers (the user's queries) do not block the sink, nor the sink them; FULL:
     * a commit is fsynced before it returns (invariant 2). foreign_keys stays as built
     * (off by default): the sink applies a source's changes in its commit order, and a
     * child row may legitimately arrive in a transaction the parent's came before. */
    rc = open_pragma(snk, "PRAGMA journal_mode=WAL", strcmp(snk->path, ":memory:") ? "wal" : NULL,
                     errstr, errstr_size);
    if (rc == SL_OK)
        rc = open_pragma(snk, "PRAGMA synchronous=FULL", NULL, errstr, errstr_size);
    if (rc != SL_OK) {
        sq_close(&snk->base);
        return rc;
    }
    *out = &snk->base;
    return SL_OK;
}

static int sq_exec(jdbc_conn_t *c, const char *what, const char *sql, const jdbc_param_t *p,
                   size_t n, bool repeats)
{
    return run((sqlite_conn_t *)c, what, sql, p, n, repeats, NULL, NULL);
}

static int sq_sync(jdbc_conn_t *c) { return SL_OK; } /* every exec() ran at once */

static int sq_begin(jdbc_conn_t *c)
{
    return run((sqlite_conn_t *)c, "BEGIN failed", "BEGIN IMMEDIATE", NULL, 0, true, NULL, NULL);
}

static int sq_commit(jdbc_conn_t *c)
{
    return run((sqlite_conn_t *)c, "COMMIT failed", "COMMIT", NULL, 0, true, NULL, NULL);
}

static void sq_rollback(jdbc_conn_t *c)
{
    sqlite_conn_t *snk = (sqlite_conn_t *)c;
    stmts_reset(snk); /* invariant 1: nothing may be in progress at ROLLBACK */
    if (!sqlite3_get_autocommit(snk->db)) { /* invariant 4 */
        char keep[sizeof snk->base.err];
        bool transient = snk->base.transient;
        memcpy(keep, snk->base.err, sizeof keep); /* the first error is the one to report */
        if (sqlite3_exec(snk->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
            sl_warn("jdbc sink: ROLLBACK on the SQLite target failed: %s", sqlite3_errmsg(snk->db));
        memcpy(snk->base.err, keep, sizeof keep);
        snk->base.transient = transient;
    }
}

typedef struct cols_ctx {
    bool *exists;
    int (*add)(void *opaque, const char *col);
    void *opaque;
} cols_ctx_t;

static int cols_row(void *opaque, sqlite3_stmt *st)
{
    cols_ctx_t *x = opaque;
    const unsigned char *name = sqlite3_column_text(st, 0);
    if (!name)
        return SL_ERR_NOMEM; /* a column name is never NULL: the copy failed */
    *x->exists = true;
    return x->add(x->opaque, (const char *)name);
}

/* A table with zero columns cannot exist in SQLite: no row means no table. */
static int sq_columns(jdbc_conn_t *c, const char *name, bool *exists,
                      int (*add)(void *opaque, const char *col), void *opaque)
{
    sqlite_conn_t *snk = (sqlite_conn_t *)c;
    *exists = false;
    cols_ctx_t x = {exists, add, opaque};
    jdbc_param_t p = {.data = name, .len = strlen(name)};
    return run(snk, "could not read the target table's columns",
               "SELECT name FROM pragma_table_info(?1) ORDER BY cid", &p, 1, true, cols_row, &x);
}

static int offset_row(void *opaque, sqlite3_stmt *st)
{
    char **text = opaque;
    const unsigned char *v = sqlite3_column_text(st, 0);
    int len = sqlite3_column_bytes(st, 0);
    if (!v)
        return SL_ERR_NOMEM; /* the column is NOT NULL: the conversion's copy failed */
    free(*text);
    if (!(*text = malloc((size_t)len + 1)))
        return SL_ERR_NOMEM;
    memcpy(*text, v, (size_t)len);
    (*text)[len] = 0;
    return SL_OK;
}

static int sq_offset_load(jdbc_conn_t *c, const char *name, char **text)
{
    sqlite_conn_t *snk = (sqlite_conn_t *)c;
    *text = NULL;
    int rc = run(snk, "could not create " JDBC_OFFSETS_TABLE,
                 "CREATE TABLE IF NOT EXISTS " JDBC_OFFSETS_TABLE " (name TEXT PRIMARY KEY, "
                 "\"offset\" TEXT NOT NULL, updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
                 NULL, 0, false, NULL, NULL);
    jdbc_param_t p = {.data = name, .len = strlen(name)};
    if (rc == SL_OK)
        rc = run(snk, "could not read " JDBC_OFFSETS_TABLE,
                 "SELECT \"offset\" FROM " JDBC_OFFSETS_TABLE " WHERE name = ?1", &p, 1, false,
                 offset_row, text);
    if (rc != SL_OK) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

static int sq_offset_store(jdbc_conn_t *c, const char *name, const char *offset, size_t len)
{
    jdbc_param_t p[2] = {{.data = name, .len = strlen(name)}, {.data = offset, .len = len}};
    return run((sqlite_conn_t *)c, "could not store the source position",
               "INSERT INTO " JDBC_OFFSETS_TABLE " (name, \"offset\") VALUES (?1, ?2) ON CONFLICT "
               "(name) DO UPDATE SET \"offset\" = excluded.\"offset\", updated_at = "
               "CURRENT_TIMESTAMP",
               p, 2, true, NULL, NULL);
}

static void sq_describe(jdbc_conn_t *c, char *buf, size_t size)
{
    sqlite_conn_t *snk = (sqlite_conn_t *)c;
    const char *f = sqlite3_db_filename(snk->db, "main");
    snprintf(buf, size, "SQLite %s, file %s", sqlite3_libversion(), f && *f ? f : snk->path);
}

const jdbc_target_t jdbc_target_sqlite = {
    .name = "SQLite",
    .url_prefixes = {"jdbc:sqlite:"},
    .dialect = JDBC_SQLITE,
    .quote = '"',
    .numbered_params = false,     /* '?' markers, bound in order of appearance */
    .upsert_on_duplicate = false, /* ON CONFLICT (key) DO UPDATE SET c = excluded.c */
    .ddl_commits = false,         /* CREATE/ALTER TABLE are transactional */
    .truncate_sql = "DELETE FROM ",
    .max_ident_len = 0,
    .ci_idents = true,
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    .sync = sq_sync,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .columns = sq_columns,
    .offset_load = sq_offset_load,
    .offset_store = sq_offset_store,
    .describe = sq_describe,
};
