/*
 * jdbc_my.c — the jdbc sink's MariaDB/MySQL target (libmariadb, Connector/C 3.3):
 * jdbc:mariadb:// and jdbc:mysql:// URLs.
 *
 * How it works. One client connection in utf8mb4, autocommit on, UTC session time zone
 * and a strict sql_mode, so that a value the column cannot hold (overflow, too long, bad
 * date) is refused instead of silently cut. Every statement runs synchronously: exec()
 * knows its outcome when it returns, and sync() has nothing to wait for. Statements the
 * sink marks as repeating go through server-side prepared statements, one per SQL text,
 * kept in a bounded cache (the least recently used one is closed when it is full), so
 * the server parses each shape once; values are bound as strings (MYSQL_TYPE_STRING) or
 * bytes (MYSQL_TYPE_BLOB) with their lengths and are never spliced into the text. DDL
 * and transaction control run as plain queries. MariaDB rounds a DECIMAL's extra
 * fraction digits with only a note even in strict mode: after a statement that left
 * warnings, they are read (SHOW WARNINGS) and a data-loss one fails the statement.
 *
 * Invariants:
 *  1. Errors are classified once, by errno: a lost or killed connection is SL_ERR_CONN
 *     and marks the connection broken (every later call fails at once with SL_ERR_CONN;
 *     the sink closes it and opens a new one, so prepared statements, which belong to
 *     the old session, die with it); anything else the server refused is SL_ERR_SERVER,
 *     transient only for a deadlock (1213) or a lock wait timeout (1205).
 *  2. Prepared statements are session objects: ROLLBACK does not touch them, so they
 *     stay usable after rollback(); at most STMTS_MAX are open on the server.
 *  3. No result set is ever left unread: each statement's results are drained or
 *     stored before the next command, so the protocol cannot get out of step.
 *  4. Auto-reconnect stays off: a silent reconnect would drop the open transaction
 *     and carry on in autocommit mode.
 *
 * References: MariaDB Connector/C API (mysql_stmt_*), MariaDB Connector/J connection
 * URL syntax (jdbc:mariadb://host:port/database?user=..&password=..&connectTimeout=..),
 * MariaDB "SQL_MODE" (STRICT_ALL_TABLES), MariaDB error codes.
 */
#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/log.h"
#include "sink/jdbc/jdbc.h"

#define N(a)                           (sizeof(a) / sizeof((a)[0]))
#define STMTS_MAX                      256 /* prepared statements kept open on the target */
#define DEFAULT_PORT                   3306
#define DEFAULT_CONNECT_TIMEOUT_S      30   /* Connector/J's default connectTimeout */
#define ER_CLIENT_INTERACTION_TIMEOUT_ 4031 /* not in every client's mysqld_error.h */

/* Strict: a value the column cannot hold is an error, not a warning. NO_AUTO_VALUE_ON_ZERO:
 * a replicated 0 in an AUTO_INCREMENT column of an existing table stays 0 instead of
 * silently becoming the next id. UTC: DATETIME holds zoned timestamps converted to UTC
 * (jdbc_types.c), and NOW()-like defaults (updated_at) agree with them. */
static const char SESSION_SETUP[] =
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO', "
    "SESSION time_zone = '+00:00', SESSION autocommit = 1";

typedef struct my_stmt {
    char *sql;
    uint64_t hash;
    uint64_t used; /* tick of the last use, for eviction */
    MYSQL_STMT *st;
} my_stmt_t;

typedef struct my_conn {
    jdbc_conn_t base;
    MYSQL *m;
    bool broken;          /* the connection is gone (invariant 1) */
    unsigned broken_code; /* the errno that broke it */
    char *host, *user, *password, *db;
    unsigned port, connect_timeout_s, socket_timeout_s;
    my_stmt_t stmts[STMTS_MAX];
    size_t nstmts;
    uint64_t tick;
    MYSQL_BIND *binds;
    unsigned long *lens;
    my_bool *nulls;
    size_t cap_binds;
} my_conn_t;

/* ---- errors ---------------------------------------------------------------------------------- */

static bool is_conn_errno(unsigned code)
{
    switch (code) {
    case CR_CONNECTION_ERROR:     /* 2002 */
    case CR_CONN_HOST_ERROR:      /* 2003 */
    case CR_SERVER_GONE_ERROR:    /* 2006 */
    case CR_SERVER_LOST:          /* 2013 */
    case CR_COMMANDS_OUT_OF_SYNC: /* 2014: only a new session is sure to be in step */
    case CR_SERVER_LOST_EXTENDED: /* 2055 */
    case ER_SERVER_SHUTDOWN:      /* 1053 */
    case ER_NET_READ_ERROR:       /* 1158 .. 1161: the server drops the connection after */
    case ER_NET_READ_INTERRUPTED:
    case ER_NET_ERROR_ON_WRITE:
    case ER_NET_WRITE_INTERRUPTED:
    case ER_CONNECTION_KILLED: /* 1927 */
    case ER_CLIENT_INTERACTION_TIMEOUT_:
        return true;
    default:
        return false;
    }
}

/* Warnings that mean a value was not stored as sent (in strict mode most are errors; a
 * DECIMAL rounded to its scale is only a note). */
static bool is_data_loss(unsigned code)
{
    switch (code) {
    case 1262: /* ER_WARN_TOO_MANY_RECORDS: row truncated */
    case 1263: /* ER_WARN_NULL_TO_NOTNULL */
    case 1264: /* ER_WARN_DATA_OUT_OF_RANGE */
    case 1265: /* WARN_DATA_TRUNCATED */
    case 1292: /* ER_TRUNCATED_WRONG_VALUE */
    case 1366: /* ER_TRUNCATED_WRONG_VALUE_FOR_FIELD */
    case 1406: /* ER_DATA_TOO_LONG */
        return true;
    default:
        return false;
    }
}

/* Records "<what>: <message> (MariaDB error <code>)" and classifies it (invariant 1). */
static int set_err(my_conn_t *c, const char *what, unsigned code, const char *msg)
{
    char m[700];
    snprintf(m, sizeof m, "%s", msg && *msg ? msg : "unknown error");
    jdbc_one_line(m);
    snprintf(c->base.err, sizeof c->base.err, "%s: %s (MariaDB error %u)", what, m, code);
    c->base.transient = false;
    if (code == CR_OUT_OF_MEMORY)
        return SL_ERR_NOMEM;
    if (is_conn_errno(code)) {
        c->broken = true;
        c->broken_code = code;
        return SL_ERR_CONN;
    }
    if (code == ER_NET_PACKET_TOO_LARGE) { /* refused for good, and the server hangs up */
        c->broken = true;
        c->broken_code = code;
        return SL_ERR_SERVER;
    }
    c->base.transient = code == ER_LOCK_DEADLOCK || code == ER_LOCK_WAIT_TIMEOUT;
    return SL_ERR_SERVER;
}

static int conn_err(my_conn_t *c, const char *what)
{
    return set_err(c, what, mysql_errno(c->m), mysql_error(c->m));
}

static int stmt_err(my_conn_t *c, const char *what, MYSQL_STMT *st)
{
    return set_err(c, what, mysql_stmt_errno(st), mysql_stmt_error(st));
}

static int broken_err(my_conn_t *c, const char *what)
{
    snprintf(c->base.err, sizeof c->base.err,
             "%s: the target connection was lost earlier (MariaDB error %u)", what, c->broken_code);
    c->base.transient = false;
    return SL_ERR_CONN;
}

/* After a statement that succeeded: fails it when its warnings say a value was changed on
 * the way in. A round trip only when there are warnings at all. */
static int check_warnings(my_conn_t *c, const char *what, unsigned nwarn)
{
    if (nwarn == 0)
        return SL_OK;
    static const char q[] = "SHOW WARNINGS";
    if (mysql_real_query(c->m, q, sizeof q - 1) != 0)
        return conn_err(c, "could not read the target's warnings");
    MYSQL_RES *r = mysql_store_result(c->m);
    if (!r)
        return conn_err(c, "could not read the target's warnings");
    int rc = SL_OK;
    MYSQL_ROW row;
    while (rc == SL_OK && mysql_num_fields(r) >= 3 && (row = mysql_fetch_row(r)) != NULL) {
        unsigned code = row[1] ? (unsigned)strtoul(row[1], NULL, 10) : 0;
        if (is_data_loss(code)) {
            char m[700];
            snprintf(m, sizeof m, "%s", row[2] ? row[2] : "value changed");
            jdbc_one_line(m);
            snprintf(c->base.err, sizeof c->base.err, "%s: %s (MariaDB %s %u)", what, m,
                     row[0] ? row[0] : "warning", code);
            c->base.transient = false;
            rc = SL_ERR_SERVER;
        }
    }
    mysql_free_result(r);
    return rc;
}

/* ---- plain queries --------------------------------------------------------------------------- */

/* Runs `sql` (no parameters) and discards whatever it returns (invariant 3). */
static int run_query(my_conn_t *c, const char *what, const char *sql)
{
    if (c->broken)
        return broken_err(c, what);
    if (mysql_real_query(c->m, sql, strlen(sql)) != 0)
        return conn_err(c, what);
    for (;;) {
        MYSQL_RES *r = mysql_store_result(c->m);
        if (r)
            mysql_free_result(r);
        else if (mysql_field_count(c->m) != 0)
            return conn_err(c, what);
        if (!mysql_more_results(c->m))
            break;
        int more = mysql_next_result(c->m);
        if (more > 0)
            return conn_err(c, what);
        if (more < 0)
            break;
    }
    return SL_OK;
}

/* ---- prepared statements --------------------------------------------------------------------- */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void stmts_close(my_conn_t *c)
{
    for (size_t i = 0; i < c->nstmts; i++) {
        mysql_stmt_close(c->stmts[i].st); /* frees the handle even when the session is gone */
        free(c->stmts[i].sql);
    }
    c->nstmts = 0;
}

/* The cached prepared statement for `sql`, prepared on first use (invariant 2). */
static int stmt_get(my_conn_t *c, const char *what, const char *sql, MYSQL_STMT **out)
{
    uint64_t h = fnv1a(sql);
    for (size_t i = 0; i < c->nstmts; i++)
        if (c->stmts[i].hash == h && strcmp(c->stmts[i].sql, sql) == 0) {
            c->stmts[i].used = ++c->tick;
            *out = c->stmts[i].st;
            return SL_OK;
        }
    if (c->nstmts == STMTS_MAX) { /* close the least recently used one */
        size_t lru = 0;
        for (size_t i = 1; i < c->nstmts; i++)
            if (c->stmts[i].used < c->stmts[lru].used)
                lru = i;
        mysql_stmt_close(c->stmts[lru].st);
        free(c->stmts[lru].sql);
        c->stmts[lru] = c->stmts[--c->nstmts];
    }
    char *copy = strdup(sql);
    MYSQL_STMT *st = copy ? mysql_stmt_init(c->m) : NULL;
    if (!st) {
        free(copy);
        return SL_ERR_NOMEM;
    }
    if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
        int rc = stmt_err(c, what, st);
        mysql_stmt_close(st);
        free(copy);
        return rc;
    }
    c->stmts[c->nstmts++] = (my_stmt_t){.sql = copy, .hash = h, .used = ++c->tick, .st = st};
    *out = st;
    return SL_OK;
}

/* Binds p[0..n) to `st` (text or bytes, with their lengths; NULLs as NULL) and executes
 * it. A result set, if any, is left for the caller. */
static int stmt_bind_exec(my_conn_t *c, const char *what, MYSQL_STMT *st, const jdbc_param_t *p,
                          size_t n)
{
    unsigned long markers = mysql_stmt_param_count(st);
    if (markers != n) {
        snprintf(c->base.err, sizeof c->base.err,
                 "%s: the statement has %lu parameter markers but %zu values", what, markers, n);
        c->base.transient = false;
        return SL_ERR_SERVER;
    }
    if (n > c->cap_binds) {
        MYSQL_BIND *b = realloc(c->binds, n * sizeof *b);
        if (b)
            c->binds = b;
        unsigned long *l = realloc(c->lens, n * sizeof *l);
        if (l)
            c->lens = l;
        my_bool *nl = realloc(c->nulls, n * sizeof *nl);
        if (nl)
            c->nulls = nl;
        if (!b || !l || !nl)
            return SL_ERR_NOMEM;
        c->cap_binds = n;
    }
    if (n) {
        memset(c->binds, 0, n * sizeof *c->binds);
        for (size_t i = 0; i < n; i++) {
            MYSQL_BIND *b = &c->binds[i];
            c->nulls[i] = p[i].is_null;
            c->lens[i] = p[i].is_null ? 0 : (unsigned long)p[i].len;
            b->buffer_type = p[i].is_blob ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
            b->buffer = (void *)(p[i].data && !p[i].is_null ? p[i].data : "");
            b->buffer_length = c->lens[i];
            b->length = &c->lens[i];
            b->is_null = &c->nulls[i];
        }
        if (mysql_stmt_bind_param(st, c->binds) != 0)
            return stmt_err(c, what, st);
    }
    if (mysql_stmt_execute(st) != 0)
        return stmt_err(c, what, st);
    return SL_OK;
}

/* Executes a statement that returns no rows (any it does return are discarded). */
static int stmt_run(my_conn_t *c, const char *what, MYSQL_STMT *st, const jdbc_param_t *p, size_t n)
{
    int rc = stmt_bind_exec(c, what, st, p, n);
    if (rc != SL_OK)
        return rc;
    if (mysql_stmt_field_count(st) > 0) { /* invariant 3 */
        if (mysql_stmt_store_result(st) != 0)
            return stmt_err(c, what, st);
        mysql_stmt_free_result(st);
    }
    return check_warnings(c, what, (unsigned)mysql_stmt_warning_count(st));
}

/* Runs a one-column query with parameters and calls row() for each value (NUL-terminated;
 * NULL for SQL NULL). The whole result is stored first, so an early stop leaves nothing
 * unread (invariant 3). */
static int query_col(my_conn_t *c, const char *what, const char *sql, const jdbc_param_t *p,
                     size_t n, int (*row)(void *opaque, const char *val, size_t len), void *opaque)
{
    if (c->broken)
        return broken_err(c, what);
    MYSQL_STMT *st = mysql_stmt_init(c->m);
    if (!st)
        return SL_ERR_NOMEM;
    int rc = SL_OK;
    if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
        rc = stmt_err(c, what, st);
        goto out;
    }
    if ((rc = stmt_bind_exec(c, what, st, p, n)) != SL_OK)
        goto out;
    if (mysql_stmt_field_count(st) != 1) {
        snprintf(c->base.err, sizeof c->base.err, "%s: expected one column, got %u", what,
                 mysql_stmt_field_count(st));
        rc = SL_ERR_PROTO;
        goto out;
    }
    if (mysql_stmt_store_result(st) != 0) {
        rc = stmt_err(c, what, st);
        goto out;
    }
    char small[512];
    unsigned long len = 0;
    my_bool isnull = 0, trunc = 0;
    MYSQL_BIND rb;
    memset(&rb, 0, sizeof rb);
    rb.buffer_type = MYSQL_TYPE_STRING;
    rb.buffer = small;
    rb.buffer_length = sizeof small;
    rb.length = &len;
    rb.is_null = &isnull;
    rb.error = &trunc;
    if (mysql_stmt_bind_result(st, &rb) != 0) {
        rc = stmt_err(c, what, st);
        goto out;
    }
    while (rc == SL_OK) {
        int f = mysql_stmt_fetch(st);
        if (f == MYSQL_NO_DATA)
            break;
        if (f != 0 && f != MYSQL_DATA_TRUNCATED) {
            rc = stmt_err(c, what, st);
            break;
        }
        if (isnull) {
            rc = row(opaque, NULL, 0);
        } else if (len < sizeof small) {
            small[len] = 0;
            rc = row(opaque, small, len);
        } else { /* longer than the buffer: fetch it again whole */
            char *big = len < SIZE_MAX ? malloc((size_t)len + 1) : NULL;
            if (!big) {
                rc = SL_ERR_NOMEM;
                break;
            }
            unsigned long blen = 0;
            MYSQL_BIND bb;
            memset(&bb, 0, sizeof bb);
            bb.buffer_type = MYSQL_TYPE_STRING;
            bb.buffer = big;
            bb.buffer_length = len + 1;
            bb.length = &blen;
            if (mysql_stmt_fetch_column(st, &bb, 0, 0) != 0 || blen != len) {
                free(big);
                snprintf(c->base.err, sizeof c->base.err, "%s: could not read a %lu-byte value",
                         what, len);
                rc = SL_ERR_PROTO;
                break;
            }
            big[len] = 0;
            rc = row(opaque, big, len);
            free(big);
        }
    }
out:
    mysql_stmt_close(st); /* also frees the stored result */
    return rc;
}

/* ---- connection URL -------------------------------------------------------------------------- */

static int set_str(char **dst, const char *v, size_t len)
{
    char *copy = strndup(v, len);
    if (!copy)
        return SL_ERR_NOMEM;
    free(*dst);
    *dst = copy;
    return SL_OK;
}

/* Milliseconds (URL text) -> whole seconds, rounded up; false when not a number. */
static bool ms_to_s(const char *v, unsigned *out)
{
    char *end;
    unsigned long long ms = strtoull(v, &end, 10);
    if (!*v || *end || *v == '-' || ms > 86400000ULL * 365)
        return false;
    *out = (unsigned)((ms + 999) / 1000);
    return true;
}

/* jdbc:mariadb://host[:port]/database?user=..&password=..&connectTimeout=..&socketTimeout=..
 * (also jdbc:mysql:, and Connector/J's jdbc:mariadb:<mode>://h1,h2/db, of which the first
 * host is used). */
static int parse_url(my_conn_t *c, const char *url, char *errstr, size_t errstr_size)
{
    const char *after = NULL;
    for (size_t k = 0; k < N(jdbc_target_my.url_prefixes) && jdbc_target_my.url_prefixes[k]; k++) {
        size_t pl = strlen(jdbc_target_my.url_prefixes[k]);
        if (strncasecmp(url, jdbc_target_my.url_prefixes[k], pl) == 0) {
            after = url + pl;
            break;
        }
    }
    char *rest = after ? strdup(after) : NULL;
    if (!rest) {
        snprintf(errstr, errstr_size,
                 after ? "out of memory"
                       : "debezium.sink.jdbc.connection.url: expected "
                         "jdbc:mariadb://host[:port]/database");
        return after ? SL_ERR_NOMEM : SL_ERR_CONFIG;
    }
    int rc = SL_OK;
    char *query = strchr(rest, '?');
    if (query)
        *query++ = 0;
    char *hosts = strstr(rest, "//");
    if (!hosts) {
        snprintf(errstr, errstr_size,
                 "debezium.sink.jdbc.connection.url: expected jdbc:mariadb://host[:port]/database");
        free(rest);
        return SL_ERR_CONFIG;
    }
    if (hosts != rest) { /* jdbc:mariadb:sequential://, :replication:// ... */
        *hosts = 0;
        sl_warn("jdbc sink: connection.url mode '%s' is not supported; the first host is used",
                rest);
    }
    hosts += 2;
    char *slash = strchr(hosts, '/');
    char *db = slash ? slash + 1 : (char *)"";
    if (slash)
        *slash = 0;
    char *comma = strchr(hosts, ',');
    if (comma) {
        *comma = 0;
        sl_warn("jdbc sink: connection.url lists several hosts; only the first (%s) is used",
                hosts);
    }
    char *port = NULL, *host = hosts;
    if (*host == '[') { /* [ipv6]:port */
        char *end = strchr(host, ']');
        if (end) {
            *end = 0;
            port = end[1] == ':' ? end + 2 : NULL;
            host++;
        }
    } else if ((port = strrchr(host, ':')) != NULL) {
        *port++ = 0;
    }
    c->port = DEFAULT_PORT;
    if (port && *port) {
        char *end;
        unsigned long p = strtoul(port, &end, 10);
        if (*end || p == 0 || p > 65535) {
            snprintf(errstr, errstr_size, "debezium.sink.jdbc.connection.url: bad port '%s'", port);
            rc = SL_ERR_CONFIG;
        }
        c->port = (unsigned)p;
    }
    size_t hl = jdbc_url_decode(host);
    if (rc == SL_OK)
        rc = hl ? set_str(&c->host, host, hl) : set_str(&c->host, "localhost", 9);
    size_t dl = jdbc_url_decode(db);
    if (rc == SL_OK && dl == 0) {
        snprintf(
            errstr, errstr_size,
            "debezium.sink.jdbc.connection.url: no database (jdbc:mariadb://host:port/database)");
        rc = SL_ERR_CONFIG;
    }
    if (rc == SL_OK)
        rc = set_str(&c->db, db, dl);
    c->connect_timeout_s = DEFAULT_CONNECT_TIMEOUT_S;
    char *save = NULL;
    for (char *kv = query ? strtok_r(query, "&", &save) : NULL; kv && rc == SL_OK;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            continue;
        *eq = 0;
        char *v = eq + 1;
        size_t vl = jdbc_url_decode(v);
        if (strcasecmp(kv, "user") == 0)
            rc = set_str(&c->user, v, vl);
        else if (strcasecmp(kv, "password") == 0)
            rc = set_str(&c->password, v, vl);
        else if (strcasecmp(kv, "connectTimeout") == 0 || strcasecmp(kv, "socketTimeout") == 0) {
            bool conn = strcasecmp(kv, "connectTimeout") == 0;
            if (!ms_to_s(v, conn ? &c->connect_timeout_s : &c->socket_timeout_s)) {
                snprintf(errstr, errstr_size,
                         "debezium.sink.jdbc.connection.url: %s must be milliseconds, not '%s'", kv,
                         v);
                rc = SL_ERR_CONFIG;
            }
        } else
            sl_warn("jdbc sink: connection.url parameter '%s' is not supported for MariaDB; "
                    "ignored",
                    kv);
    }
    free(rest);
    if (rc != SL_OK && !*errstr)
        snprintf(errstr, errstr_size, "debezium.sink.jdbc.connection.url: %s", sl_err_str(rc));
    return rc;
}

static int conn_open(my_conn_t *c, char *errstr, size_t errstr_size)
{
    if (!(c->m = mysql_init(NULL))) {
        snprintf(errstr, errstr_size, "out of memory");
        return SL_ERR_NOMEM;
    }
    my_bool no = 0;
    unsigned proto = MYSQL_PROTOCOL_TCP; /* like Connector/J, also for "localhost" */
    int bad = 0;
    bad |= mysql_optionsv(c->m, MYSQL_OPT_RECONNECT, &no); /* invariant 4 */
    bad |= mysql_optionsv(c->m, MYSQL_OPT_PROTOCOL, &proto);
    bad |= mysql_optionsv(c->m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (c->connect_timeout_s)
        bad |= mysql_optionsv(c->m, MYSQL_OPT_CONNECT_TIMEOUT, &c->connect_timeout_s);
    if (c->socket_timeout_s) {
        bad |= mysql_optionsv(c->m, MYSQL_OPT_READ_TIMEOUT, &c->socket_timeout_s);
        bad |= mysql_optionsv(c->m, MYSQL_OPT_WRITE_TIMEOUT, &c->socket_timeout_s);
    }
    if (bad) {
        snprintf(errstr, errstr_size, "could not set the client options");
        return SL_ERR_NOMEM;
    }
    if (!mysql_real_connect(c->m, c->host, c->user, c->password, c->db, c->port, NULL, 0)) {
        char m[600]; /* mysql_error never contains the password */
        snprintf(m, sizeof m, "%s", mysql_error(c->m));
        jdbc_one_line(m);
        snprintf(errstr, errstr_size,
                 "could not connect to the target: %s:%u as %s: %s (MariaDB error %u)",
                 c->host, c->port, c->user ? c->user : "(no user)", m, mysql_errno(c->m));
        return mysql_errno(c->m) == CR_OUT_OF_MEMORY ? SL_ERR_NOMEM : SL_ERR_CONN;
    }
    if (run_query(c, "session setup failed", SESSION_SETUP) != SL_OK) {
        snprintf(errstr, errstr_size, "could not connect to the target: %s",
                 c->base.err);
        return SL_ERR_CONN;
    }
    return SL_OK;
}

/* ---- the target vtable ----------------------------------------------------------------------- */

static void my_close(jdbc_conn_t *base)
{
    my_conn_t *c = (my_conn_t *)base;
    if (!c)
        return;
    stmts_close(c);
    if (c->m)
        mysql_close(c->m); /* an open transaction dies with the session: rolled back */
    free(c->host);
    free(c->user);
    free(c->password);
    free(c->db);
    free(c->binds);
    free(c->lens);
    free(c->nulls);
    free(c);
}

static int my_open(jdbc_conn_t **out, const char *url, const char *user, const char *password,
                   char *errstr, size_t errstr_size)
{
    errstr[0] = 0;
    my_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(errstr, errstr_size, "out of memory");
        return SL_ERR_NOMEM;
    }
    c->base.target = &jdbc_target_my;
    int rc = parse_url(c, url, errstr, errstr_size);
    if (rc == SL_OK && user)
        rc = set_str(&c->user, user, strlen(user));
    if (rc == SL_OK && password)
        rc = set_str(&c->password, password, strlen(password));
    if (rc != SL_OK && !*errstr)
        snprintf(errstr, errstr_size, "%s", sl_err_str(rc));
    if (rc == SL_OK)
        rc = conn_open(c, errstr, errstr_size);
    if (rc != SL_OK) {
        my_close(&c->base);
        return rc;
    }
    *out = &c->base;
    return SL_OK;
}

static int my_exec(jdbc_conn_t *base, const char *what, const char *sql, const jdbc_param_t *p,
                   size_t n, bool repeats)
{
    my_conn_t *c = (my_conn_t *)base;
    if (c->broken)
        return broken_err(c, what);
    if (!repeats && n == 0) {
        int rc = run_query(c, what, sql);
        return rc == SL_OK ? check_warnings(c, what, mysql_warning_count(c->m)) : rc;
    }
    if (repeats) {
        MYSQL_STMT *st = NULL;
        int rc = stmt_get(c, what, sql, &st);
        return rc == SL_OK ? stmt_run(c, what, st, p, n) : rc;
    }
    /* parameters, but a text that will not come again: prepare, run, close */
    MYSQL_STMT *st = mysql_stmt_init(c->m);
    if (!st)
        return SL_ERR_NOMEM;
    int rc = mysql_stmt_prepare(st, sql, strlen(sql)) != 0 ? stmt_err(c, what, st)
                                                           : stmt_run(c, what, st, p, n);
    mysql_stmt_close(st);
    return rc;
}

/* Every statement's outcome is known when exec() returns. */
static int my_sync(jdbc_conn_t *base)
{
    my_conn_t *c = (my_conn_t *)base;
    return c->broken ? broken_err(c, "could not reach the target") : SL_OK;
}

static int my_begin(jdbc_conn_t *base)
{
    return run_query((my_conn_t *)base, "START TRANSACTION failed", "START TRANSACTION");
}

static int my_commit(jdbc_conn_t *base)
{
    return run_query((my_conn_t *)base, "COMMIT failed", "COMMIT");
}

/* Best effort; the prepared statements stay valid (invariant 2). The first error is the
 * one to report, so the one of the ROLLBACK itself is not kept. */
static void my_rollback(jdbc_conn_t *base)
{
    my_conn_t *c = (my_conn_t *)base;
    if (c->broken)
        return;
    char keep[sizeof c->base.err];
    bool transient = c->base.transient;
    memcpy(keep, c->base.err, sizeof keep);
    (void)run_query(c, "ROLLBACK failed", "ROLLBACK");
    memcpy(c->base.err, keep, sizeof keep);
    c->base.transient = transient;
}

typedef struct cols_ctx {
    bool *exists;
    int (*add)(void *opaque, const char *col);
    void *opaque;
} cols_ctx_t;

static int cols_row(void *opaque, const char *val, size_t len)
{
    cols_ctx_t *x = opaque;
    (void)len;
    *x->exists = true; /* a table always has a column */
    return val ? x->add(x->opaque, val) : SL_OK;
}

static int my_columns(jdbc_conn_t *base, const char *name, bool *exists,
                      int (*add)(void *opaque, const char *col), void *opaque)
{
    my_conn_t *c = (my_conn_t *)base;
    *exists = false;
    size_t l = strlen(name);
    /* the first comparison lets the server open just that table; information_schema
     * compares case-insensitively, table names are case-sensitive: the second one is exact */
    jdbc_param_t p[2] = {{.data = name, .len = l}, {.data = name, .len = l}};
    cols_ctx_t x = {exists, add, opaque};
    return query_col(c, "could not read the target table's columns",
                     "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                     "DATABASE() AND table_name = ? AND BINARY table_name = BINARY ? "
                     "ORDER BY ordinal_position",
                     p, 2, cols_row, &x);
}

static int offset_row(void *opaque, const char *val, size_t len)
{
    char **text = opaque;
    if (!val || *text)
        return SL_OK;
    return (*text = strndup(val, len)) ? SL_OK : SL_ERR_NOMEM;
}

static int my_offset_load(jdbc_conn_t *base, const char *name, char **text)
{
    my_conn_t *c = (my_conn_t *)base;
    *text = NULL;
    int rc = run_query(c, "could not create " JDBC_OFFSETS_TABLE,
                       "CREATE TABLE IF NOT EXISTS " JDBC_OFFSETS_TABLE " (name VARCHAR(255) "
                       "PRIMARY KEY, `offset` LONGTEXT NOT NULL, updated_at TIMESTAMP(6) NOT NULL "
                       "DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)) ENGINE=InnoDB "
                       "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");
    if (rc != SL_OK)
        return rc;
    jdbc_param_t p[1] = {{.data = name, .len = strlen(name)}};
    rc = query_col(c, "could not read " JDBC_OFFSETS_TABLE,
                   "SELECT `offset` FROM " JDBC_OFFSETS_TABLE " WHERE name = ?", p, 1, offset_row,
                   text);
    if (rc != SL_OK) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

static int my_offset_store(jdbc_conn_t *base, const char *name, const char *offset, size_t len)
{
    jdbc_param_t p[2] = {{.data = name, .len = strlen(name)}, {.data = offset, .len = len}};
    return my_exec(base, "could not store the source position",
                   "INSERT INTO " JDBC_OFFSETS_TABLE " (name, `offset`) VALUES (?, ?) "
                   "ON DUPLICATE KEY UPDATE `offset` = VALUES(`offset`)",
                   p, 2, true);
}

/* "MariaDB 10.11.19, database inv" (the server's version string up to its first '-'). */
static void my_describe(jdbc_conn_t *base, char *buf, size_t size)
{
    my_conn_t *c = (my_conn_t *)base;
    const char *info = c->m ? mysql_get_server_info(c->m) : NULL;
    if (!info)
        info = "";
    size_t vl = strcspn(info, "-");
    snprintf(buf, size, "%s %.*s, database %s", strstr(info, "MariaDB") ? "MariaDB" : "MySQL",
             (int)vl, info, c->db ? c->db : "");
}

const jdbc_target_t jdbc_target_my = {
    .name = "MariaDB",
    .url_prefixes = {"jdbc:mariadb:", "jdbc:mysql:"},
    .dialect = JDBC_MY,
    .quote = '`',
    .numbered_params = false,
    .upsert_on_duplicate = true,
    .ddl_commits = true,
    .truncate_sql = "DELETE FROM ", /* TRUNCATE TABLE commits implicitly */
    .max_ident_len = 64,
    .ci_idents = true,
    /* exact text keys: the default collation would merge 'a', 'A' and 'a ' */
    .table_options = " DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    .open = my_open,
    .close = my_close,
    .exec = my_exec,
    .sync = my_sync,
    .begin = my_begin,
    .commit = my_commit,
    .rollback = my_rollback,
    .columns = my_columns,
    .offset_load = my_offset_load,
    .offset_store = my_offset_store,
    .describe = my_describe,
};
