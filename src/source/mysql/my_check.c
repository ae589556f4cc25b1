/*
 * my_check.c — `sluice check` for MySQL/MariaDB: one line per prerequisite.
 *
 * Reports the binlog settings (log_bin, binlog_format=ROW, binlog_row_image=FULL,
 * binlog_row_metadata=FULL recommended), the privileges the user needs (REPLICATION
 * SLAVE to read the binlog, REPLICATION CLIENT / BINLOG MONITOR for SHOW MASTER
 * STATUS, SELECT for the snapshot, RELOAD on MySQL), and whether the configured
 * database.server.id clashes with the server's own id or a registered replica's, and
 * whether the connection is encrypted (TLS version and cipher, my_tls.c).
 */
#define _GNU_SOURCE /* strcasestr */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "source/mysql/my_source.h"

static int line(FILE *f, const char *tag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int line(FILE *f, const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(f, "%s: ", tag);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    va_end(ap);
    return strcmp(tag, "FAIL") == 0;
}

static bool one(MYSQL *c, const char *sql, char *buf, size_t n)
{
    if (mysql_query(c, sql) != 0)
        return false;
    MYSQL_RES *r = mysql_store_result(c);
    if (!r)
        return false;
    MYSQL_ROW row = mysql_fetch_row(r);
    bool ok = row && row[0];
    if (ok)
        snprintf(buf, n, "%s", row[0]);
    mysql_free_result(r);
    return ok;
}

/* Privileges from SHOW GRANTS: true when any grant line on *.* names `priv` or ALL. */
static bool has_priv(const char *grants, const char *priv)
{
    return strcasestr(grants, priv) || strcasestr(grants, "ALL PRIVILEGES ON *.*");
}

int my_check(const sl_conf_t *conf, FILE *f)
{
    char e[1024], v[256];
    int bad = 0;
    MYSQL *c = my_connect(conf, NULL, e, sizeof e);
    if (!c)
        return line(f, "FAIL", "%s", e);
    const char *user = sl_conf_str(conf, "debezium.source.database.user");
    bool mariadb = strcasestr(mysql_get_server_info(c), "mariadb") != NULL;
    bad += line(f, "ok", "connected to %s %s at %s:%lld as %s", mariadb ? "MariaDB" : "MySQL",
                mysql_get_server_info(c), sl_conf_str(conf, "debezium.source.database.hostname"),
                (long long)sl_conf_int(conf, "debezium.source.database.port"), user);
    /* plain text is only possible here when the mode allows it (my_tls_enforce) */
    char tls[256];
    bool encrypted = my_tls_describe(c, conf, tls, sizeof tls);
    bad += line(f, encrypted || my_tls_mode(conf) == MY_SSL_DISABLED ? "ok" : "warn",
                "connection %s%s", tls,
                encrypted ? "" : "; set ssl.mode=verify_identity with TLS on the server to encrypt");
    if (one(c, "SELECT @@log_bin", v, sizeof v))
        bad += line(f, !strcmp(v, "1") ? "ok" : "FAIL", "log_bin is %s%s",
                    !strcmp(v, "1") ? "ON" : "OFF",
                    !strcmp(v, "1") ? "" : " (start the server with log_bin)");
    if (one(c, "SELECT @@binlog_format", v, sizeof v))
        bad += line(f, !strcasecmp(v, "ROW") ? "ok" : "FAIL", "binlog_format is %s%s", v,
                    !strcasecmp(v, "ROW") ? "" : " (set binlog_format=ROW)");
    if (one(c, "SELECT @@binlog_row_image", v, sizeof v))
        bad += line(f, !strcasecmp(v, "FULL") ? "ok" : "FAIL", "binlog_row_image is %s%s", v,
                    !strcasecmp(v, "FULL") ? "" : " (set binlog_row_image=FULL)");
    if (one(c, "SELECT @@binlog_row_metadata", v, sizeof v))
        bad += line(f, !strcasecmp(v, "FULL") ? "ok" : "warn", "binlog_row_metadata is %s%s", v,
                    !strcasecmp(v, "FULL")
                        ? ""
                        : " (FULL recommended: events then carry column names and keys, so a "
                          "backlog spanning DDL decodes with the right columns)");
    else
        bad += line(f, "warn", "the server has no binlog_row_metadata (MySQL < 8.0.1): column "
                               "names come from information_schema");

    sl_buf_t grants = SL_BUF_INIT;
    if (mysql_query(c, "SHOW GRANTS FOR CURRENT_USER()") == 0) {
        MYSQL_RES *r = mysql_store_result(c);
        MYSQL_ROW row;
        while (r && (row = mysql_fetch_row(r)))
            if (row[0]) {
                sl_buf_adds(&grants, row[0]);
                sl_buf_addc(&grants, '\n');
            }
        if (r)
            mysql_free_result(r);
    }
    const char *g = grants.data ? grants.data : "";
    bool repl = has_priv(g, "REPLICATION SLAVE") || has_priv(g, "REPLICATION REPLICA");
    bool client = has_priv(g, "REPLICATION CLIENT") || has_priv(g, "BINLOG MONITOR") ||
                  has_priv(g, "SUPER");
    bool sel = has_priv(g, "SELECT");
    bad += line(f, repl ? "ok" : "FAIL", "user %s %s REPLICATION SLAVE%s", user,
                repl ? "has" : "lacks",
                repl ? "" : " (GRANT REPLICATION SLAVE ON *.* TO ...): needed to read the binlog");
    bad += line(f, client ? "ok" : "FAIL", "user %s %s REPLICATION CLIENT%s", user,
                client ? "has" : "lacks",
                client ? "" : " (GRANT REPLICATION CLIENT ON *.* TO ...): needed for SHOW MASTER "
                              "STATUS");
    bad += line(f, sel ? "ok" : "FAIL", "user %s %s SELECT%s", user, sel ? "has" : "lacks",
                sel ? "" : " on the captured tables (needed for the snapshot)");
    if (!mariadb) {
        bool reload = has_priv(g, "RELOAD");
        bad += line(f, reload ? "ok" : "FAIL", "user %s %s RELOAD%s", user,
                    reload ? "has" : "lacks",
                    reload ? "" : " (the MySQL snapshot takes a brief FLUSH TABLES WITH READ LOCK)");
    }
    sl_buf_free(&grants);

    uint32_t sid = (uint32_t)sl_conf_int(conf, "debezium.source.database.server.id");
    bool clash = false;
    if (one(c, "SELECT @@server_id", v, sizeof v) && strtoul(v, NULL, 10) == sid)
        clash = true;
    if (!clash && mysql_query(c, "SHOW SLAVE HOSTS") == 0) {
        MYSQL_RES *r = mysql_store_result(c);
        MYSQL_ROW row;
        while (r && (row = mysql_fetch_row(r)))
            if (row[0] && strtoul(row[0], NULL, 10) == sid)
                clash = true;
        if (r)
            mysql_free_result(r);
    }
    bad += line(f, clash ? "FAIL" : "ok", "database.server.id %" PRIu32 " %s", sid,
                clash ? "is already used by the server or one of its replicas (choose another)"
                      : "is not used by the server or a registered replica");
    mysql_close(c);
    return bad;
}
