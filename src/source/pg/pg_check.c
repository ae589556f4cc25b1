/*
 * pg_check.c — `sluice check` for the PostgreSQL source.
 *
 * Prints one line per prerequisite ("ok: ..." or "FAIL: ... (what to do)") and
 * returns the number of failures. Nothing is changed on the server.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/pg/pg_source.h"

static int line(FILE *f, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int line(FILE *f, bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(ok ? "ok: " : "FAIL: ", f);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    va_end(ap);
    return ok ? 0 : 1;
}

static const char *one(PGconn *c, const char *sql, char *buf, size_t n)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
        PQclear(r);
        return NULL;
    }
    snprintf(buf, n, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return buf;
}

int pg_check(const sl_conf_t *conf, FILE *f)
{
    sl_source_t *src = calloc(1, sizeof *src);
    if (!src)
        return 1;
    src->conf = conf;
    int bad = 0;
    char e[1024], v[256];
    const char *host = sl_conf_str(conf, "debezium.source.database.hostname");
    const char *user = sl_conf_str(conf, "debezium.source.database.user");
    long long port = (long long)sl_conf_int(conf, "debezium.source.database.port");
    pg_opts_t *o = &src->o;
    o->prefix = strdup(sl_conf_str(conf, "debezium.source.topic.prefix"));
    char **inc = sl_conf_list(conf, "debezium.source.table.include.list");
    char **exc = sl_conf_list(conf, "debezium.source.table.exclude.list");
    char **sinc = sl_conf_list(conf, "debezium.source.schema.include.list");
    char **sexc = sl_conf_list(conf, "debezium.source.schema.exclude.list");
    sl_relist_compile(&o->table_inc, inc);
    sl_relist_compile(&o->table_exc, exc);
    sl_relist_compile(&o->schema_inc, sinc);
    sl_relist_compile(&o->schema_exc, sexc);
    sl_conf_list_free(inc);
    sl_conf_list_free(exc);
    sl_conf_list_free(sinc);
    sl_conf_list_free(sexc);

    PGconn *c = pg_connect(src, false, e, sizeof e);
    if (!c) {
        bad += line(f, false, "%s", e);
        goto out;
    }
    bad += line(f, true, "connected to PostgreSQL %d at %s:%lld as %s", PQserverVersion(c) / 10000,
                host, port, user);
    if (one(c, "SHOW wal_level", v, sizeof v))
        bad += line(f, !strcmp(v, "logical"), "wal_level is %s%s", v,
                    strcmp(v, "logical") ? " (set wal_level=logical in postgresql.conf and restart)"
                                         : "");
    if (PQsslInUse(c)) {
        const char *proto = PQsslAttribute(c, "protocol");
        bad += line(f, true, "connection encrypted with %s (sslmode=%s)", proto ? proto : "TLS",
                    sl_conf_str(conf, "debezium.source.database.sslmode"));
    } else
        bad += line(f, true, "connection not encrypted (sslmode=%s%s)",
                    sl_conf_str(conf, "debezium.source.database.sslmode"),
                    sl_conf_enum(conf, "debezium.source.database.sslmode") == 0
                        ? ""
                        : "; sslmode=verify-full with sslrootcert requires TLS");
    bool repl_attr = true;
    if (one(c, "SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user", v,
            sizeof v)) {
        repl_attr = v[0] == 't';
        if (repl_attr)
            bad += line(f, true, "user %s has the REPLICATION attribute", user);
        else
            bad += line(f, false,
                        "user %s lacks the REPLICATION attribute (ALTER ROLE %s WITH "
                        "REPLICATION)",
                        user, user);
    }
    const char *params[1] = {sl_conf_str(conf, "debezium.source.slot.name")};
    PGresult *r = PQexecParams(c, "SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1), "
                                  "current_setting('max_replication_slots')::int - (SELECT count(*) FROM "
                                  "pg_replication_slots)", 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        bool exists = atoi(PQgetvalue(r, 0, 0)) > 0;
        int free_slots = atoi(PQgetvalue(r, 0, 1));
        if (exists)
            bad += line(f, true, "replication slot \"%s\" exists", params[0]);
        else
            bad += line(f, free_slots > 0, "%d free replication slot%s for \"%s\"%s", free_slots,
                        free_slots == 1 ? "" : "s", params[0],
                        free_slots > 0 ? "" : " (raise max_replication_slots or drop unused slots)");
    }
    PQclear(r);
    params[0] = sl_conf_str(conf, "debezium.source.publication.name");
    r = PQexecParams(c, "SELECT count(*) FROM pg_publication WHERE pubname = $1", 1, NULL, params,
                     NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        bool exists = atoi(PQgetvalue(r, 0, 0)) > 0;
        bool autocreate = sl_conf_enum(conf, "debezium.source.publication.autocreate.mode") != 1;
        bad += line(f, exists || autocreate, "publication \"%s\" %s", params[0],
                    exists ? "exists" : autocreate ? "will be created at start"
                                                   : "does not exist and autocreate is disabled");
    }
    PQclear(r);
    r = PQexec(c, "SELECT n.nspname, c.relname, c.relreplident, "
                  "EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary), "
                  "has_table_privilege(c.oid, 'SELECT') "
                  "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog','information_schema') "
                  "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2");
    int tables = 0;
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
        const char *nsp = PQgetvalue(r, i, 0), *rel = PQgetvalue(r, i, 1);
        if (!pg_table_captured(o, nsp, rel))
            continue;
        tables++;
        char ri = PQgetvalue(r, i, 2)[0];
        bool pk = PQgetvalue(r, i, 3)[0] == 't';
        bool sel = PQgetvalue(r, i, 4)[0] == 't';
        if (!sel)
            bad += line(f, false,
                        "user %s has no SELECT privilege on %s.%s, needed for the "
                        "snapshot (GRANT SELECT ON %s.%s TO %s)",
                        user, nsp, rel, nsp, rel, user);
        if (ri == 'n' || (ri == 'd' && !pk))
            bad += line(f, false,
                        "table %s.%s: replica identity %s%s: updates and deletes will have no "
                        "before-image (add a primary key or ALTER TABLE %s.%s REPLICA IDENTITY FULL)",
                        nsp, rel, ri == 'n' ? "NOTHING" : "DEFAULT", ri == 'd' ? " without a primary key" : "",
                        nsp, rel);
    }
    PQclear(r);
    bad += line(f, tables > 0, "%d table%s captured%s", tables, tables == 1 ? "" : "s",
                tables ? "" : " (check table.include.list / table.exclude.list)");
    PQfinish(c);
    PGconn *rc = pg_connect(src, true, e, sizeof e);
    if (!rc) {
        if (repl_attr) /* else said above, in the same words */
            bad += line(f, false, "replication connection refused: %s", e);
    } else {
        bad += line(f, true, "replication connection accepted");
        PQfinish(rc);
    }
out:
    free(o->prefix);
    sl_relist_free(&o->table_inc);
    sl_relist_free(&o->table_exc);
    sl_relist_free(&o->schema_inc);
    sl_relist_free(&o->schema_exc);
    free(src);
    return bad;
}
