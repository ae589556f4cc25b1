/*
 * workload.c — the reliability harness's workload generator (sl_workload).
 *
 * Writes random transactions to a PostgreSQL or MariaDB table and logs every change it
 * knows to be committed, so that a checker (check.py) can count, for whatever a sink
 * received, the changes lost, duplicated, reordered per key, or never committed at all.
 *
 *   rel_t(k int primary key, ver int not null, txn bigint not null, pad varchar(64))
 *   rel_commits(txn bigint primary key)     -- written in each transaction, not captured
 *
 * Every change carries a unique id: (k, ver, is-a-delete). A key's version grows by one
 * with each change (insert, update or delete; a re-insert after a delete goes on
 * counting); a delete is known by its before image's version. The log has one line per committed
 * change, "txn k ver op" (op c, u or d), in commit order.
 *
 * Invariants:
 *  1. A change is logged only once its transaction is known committed: COMMIT returned
 *     success, or, when the connection broke around the COMMIT, the transaction's row in
 *     rel_commits is there after reconnecting. The in-memory key state follows the same
 *     rule (a failed transaction's changes are undone), so versions never skip or repeat.
 *  2. Connection failures (the source restarted, a proxy dropped the connection) are
 *     retried for --retry-seconds; the workload goes on with a new transaction id.
 *  3. Values are integers formatted by this program: the SQL needs no escaping.
 *
 * Usage: sl_workload (--pg CONNINFO | --my HOST:PORT:USER:PASSWORD:DB) --log FILE
 *        [--setup] [--txns N] [--keys K] [--max-changes M] [--big-every B] [--seed S]
 *        [--sleep-us U] [--retry-seconds R]
 */
#include <errno.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    bool is_pg;
    const char *conninfo; /* --pg */
    char my_host[256], my_user[128], my_pass[128], my_db[128];
    unsigned my_port;
    PGconn *pg;
    MYSQL *my;
    char err[512];
} db_t;

typedef struct {
    int k, ver;
    bool existed;
    char op;
} change_t;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sl_workload: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void db_close(db_t *db)
{
    if (db->pg)
        PQfinish(db->pg);
    if (db->my)
        mysql_close(db->my);
    db->pg = NULL;
    db->my = NULL;
}

static bool db_connect(db_t *db)
{
    db_close(db);
    if (db->is_pg) {
        db->pg = PQconnectdb(db->conninfo);
        if (PQstatus(db->pg) == CONNECTION_OK)
            return true;
        snprintf(db->err, sizeof db->err, "%s", PQerrorMessage(db->pg));
        return false;
    }
    db->my = mysql_init(NULL);
    if (!db->my)
        die("out of memory");
    if (mysql_real_connect(db->my, db->my_host, db->my_user, db->my_pass, db->my_db,
                           db->my_port, NULL, 0))
        return true;
    snprintf(db->err, sizeof db->err, "%s", mysql_error(db->my));
    return false;
}

/* Runs one statement. With `count`, stores the first column of the first row. */
static bool db_exec(db_t *db, const char *sql, long *count)
{
    if (db->is_pg) {
        PGresult *r = PQexec(db->pg, sql);
        ExecStatusType st = PQresultStatus(r);
        bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
        if (!ok)
            snprintf(db->err, sizeof db->err, "%s", PQerrorMessage(db->pg));
        else if (count)
            *count = PQntuples(r) ? atol(PQgetvalue(r, 0, 0)) : 0;
        PQclear(r);
        return ok;
    }
    if (mysql_query(db->my, sql) != 0) {
        snprintf(db->err, sizeof db->err, "%s", mysql_error(db->my));
        return false;
    }
    MYSQL_RES *res = mysql_store_result(db->my);
    if (res) {
        MYSQL_ROW row = mysql_fetch_row(res);
        if (count)
            *count = row && row[0] ? atol(row[0]) : 0;
        mysql_free_result(res);
    } else if (mysql_field_count(db->my) != 0) {
        snprintf(db->err, sizeof db->err, "%s", mysql_error(db->my));
        return false;
    }
    return true;
}

static void setup(db_t *db)
{
    static const char *const pg[] = {
        "CREATE TABLE IF NOT EXISTS rel_t (k int PRIMARY KEY, ver int NOT NULL, "
        "txn bigint NOT NULL, pad varchar(64))",
        "ALTER TABLE rel_t REPLICA IDENTITY FULL",
        "CREATE TABLE IF NOT EXISTS rel_commits (txn bigint PRIMARY KEY)", NULL};
    static const char *const my[] = {
        "CREATE TABLE IF NOT EXISTS rel_t (k int PRIMARY KEY, ver int NOT NULL, "
        "txn bigint NOT NULL, pad varchar(64))",
        "CREATE TABLE IF NOT EXISTS rel_commits (txn bigint PRIMARY KEY)", NULL};
    for (const char *const *s = db->is_pg ? pg : my; *s; s++)
        if (!db_exec(db, *s, NULL))
            die("setup: %s", db->err);
}

/* xorshift64*: the same --seed gives the same workload */
static uint64_t rng_state = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 33) % n;
}

/* HOST:PORT:USER:PASSWORD:DB; the password may be empty */
static void parse_my(db_t *db, const char *spec)
{
    char *field[5], copy[700];
    snprintf(copy, sizeof copy, "%s", spec);
    char *p = copy;
    for (int i = 0; i < 5; i++) {
        field[i] = p;
        p = i < 4 ? strchr(p, ':') : NULL;
        if (i < 4 && !p)
            die("--my wants HOST:PORT:USER:PASSWORD:DB");
        if (p)
            *p++ = 0;
    }
    snprintf(db->my_host, sizeof db->my_host, "%s", field[0]);
    db->my_port = (unsigned)atoi(field[1]);
    snprintf(db->my_user, sizeof db->my_user, "%s", field[2]);
    snprintf(db->my_pass, sizeof db->my_pass, "%s", field[3]);
    snprintf(db->my_db, sizeof db->my_db, "%s", field[4]);
}

/* Builds the SQL of one change on key k and applies it to the in-memory state. */
static void plan_change(change_t *c, int k, bool *exists, int *ver, int64_t txn, char *sql,
                        size_t n)
{
    c->k = k;
    c->existed = exists[k];
    if (!exists[k]) {
        c->op = 'c';
        c->ver = ++ver[k];
        snprintf(sql, n, "INSERT INTO rel_t VALUES (%d, %d, %lld, 'p%d')", k, c->ver, (long long)txn,
                 c->ver);
        exists[k] = true;
    } else if (rnd(100) < 85) {
        c->op = 'u';
        c->ver = ++ver[k];
        snprintf(sql, n, "UPDATE rel_t SET ver = %d, txn = %lld WHERE k = %d", c->ver,
                 (long long)txn, k);
    } else {
        c->op = 'd';
        c->ver = ver[k]; /* the before image's version identifies the delete */
        ++ver[k];
        snprintf(sql, n, "DELETE FROM rel_t WHERE k = %d", k);
        exists[k] = false;
    }
}

static void undo(change_t *ch, int n, bool *exists, int *ver)
{
    for (int i = n - 1; i >= 0; i--) {
        exists[ch[i].k] = ch[i].existed;
        ver[ch[i].k] = ch[i].op == 'd' ? ch[i].ver : ch[i].ver - 1;
    }
}

static void reconnect(db_t *db, int retry_seconds, long *reconnects)
{
    for (int waited_ms = 0;; waited_ms += 200) {
        if (db_connect(db)) {
            ++*reconnects;
            return;
        }
        if (waited_ms >= retry_seconds * 1000)
            die("could not reconnect for %d s: %s", retry_seconds, db->err);
        usleep(200 * 1000);
    }
}

int main(int argc, char **argv)
{
    db_t db = {0};
    const char *log_path = NULL, *seed = "0";
    long txns = 100, keys = 200, max_changes = 5, big_every = 0, sleep_us = 0;
    int retry_seconds = 120;
    bool do_setup = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--setup")) {
            do_setup = true;
            continue;
        }
        if (!v)
            die("%s needs a value", a);
        i++;
        if (!strcmp(a, "--pg")) {
            db.is_pg = true;
            db.conninfo = v;
        } else if (!strcmp(a, "--my"))
            parse_my(&db, v);
        else if (!strcmp(a, "--log"))
            log_path = v;
        else if (!strcmp(a, "--txns"))
            txns = atol(v);
        else if (!strcmp(a, "--keys"))
            keys = atol(v);
        else if (!strcmp(a, "--max-changes"))
            max_changes = atol(v);
        else if (!strcmp(a, "--big-every"))
            big_every = atol(v);
        else if (!strcmp(a, "--seed")) {
            seed = v;
            rng_state ^= (uint64_t)atoll(v) * 0x9E3779B97F4A7C15ull;
        }
        else if (!strcmp(a, "--sleep-us"))
            sleep_us = atol(v);
        else if (!strcmp(a, "--retry-seconds"))
            retry_seconds = atoi(v);
        else
            die("unknown option %s", a);
    }
    if (!db.conninfo && !db.my_host[0])
        die("give --pg CONNINFO or --my HOST:PORT:USER:PASSWORD:DB");
    if (!log_path || keys < 1 || max_changes < 1)
        die("give --log FILE, --keys >= 1 and --max-changes >= 1");
    FILE *log = fopen(log_path, "a");
    if (!log)
        die("%s: %s", log_path, strerror(errno));

    long reconnects = -1, changes = 0, failed_txns = 0;
    reconnect(&db, retry_seconds, &reconnects);
    if (do_setup)
        setup(&db);
    long max_txn = 0;
    if (!db_exec(&db, "SELECT coalesce(max(txn), 0) FROM rel_commits", &max_txn))
        die("%s", db.err);

    bool *exists = calloc((size_t)keys, sizeof *exists);
    int *ver = calloc((size_t)keys, sizeof *ver);
    change_t *ch = malloc(sizeof *ch * (size_t)(max_changes > 200 ? max_changes : 200));
    if (!exists || !ver || !ch)
        die("out of memory");
    char sql[256];
    int64_t txn = max_txn;
    for (long t = 0; t < txns;) {
        txn++;
        int n = big_every > 0 && t % big_every == big_every - 1 ? 200 : 1 + (int)rnd((uint32_t)max_changes);
        bool ok = db_exec(&db, db.is_pg ? "BEGIN" : "START TRANSACTION", NULL);
        int done = 0;
        for (; ok && done < n; done++) {
            plan_change(&ch[done], (int)rnd((uint32_t)keys), exists, ver, txn, sql, sizeof sql);
            ok = db_exec(&db, sql, NULL);
        }
        if (ok) {
            snprintf(sql, sizeof sql, "INSERT INTO rel_commits VALUES (%lld)", (long long)txn);
            ok = db_exec(&db, sql, NULL) && db_exec(&db, "COMMIT", NULL);
        }
        if (!ok) {
            /* did the COMMIT happen before the connection broke? (invariant 1) */
            reconnect(&db, retry_seconds, &reconnects);
            long found = 0;
            snprintf(sql, sizeof sql, "SELECT count(*) FROM rel_commits WHERE txn = %lld",
                     (long long)txn);
            if (!db_exec(&db, sql, &found))
                die("%s", db.err);
            if (!found) {
                undo(ch, done, exists, ver);
                failed_txns++;
                continue;
            }
        }
        for (int i = 0; i < n; i++)
            fprintf(log, "%lld %d %d %c\n", (long long)txn, ch[i].k, ch[i].ver, ch[i].op);
        fflush(log);
        changes += n;
        t++;
        if (sleep_us)
            usleep((useconds_t)sleep_us);
    }
    fprintf(stderr, "sl_workload: %ld transactions, %ld changes, %ld reconnects, %ld retried (seed %s)\n",
            txns, changes, reconnects, failed_txns, seed);
    fclose(log);
    db_close(&db);
    free(exists);
    free(ver);
    free(ch);
    return 0;
}
