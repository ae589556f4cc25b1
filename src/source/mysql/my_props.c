/*
 * my_props.c — property table of the MySQL/MariaDB source (Debezium's keys).
 */
#include <stdint.h>

#include "source/mysql/my_source.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define K(x) "debezium.source." x

static const sl_prop_def_t my_defs[] = {
    {K("database.hostname"), SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED,
     "MySQL/MariaDB server host name or address."},
    {K("database.port"), SL_PT_INT, "3306", NULL, 1, 65535, 0, "Server port."},
    {K("database.user"), SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED,
     "User with REPLICATION SLAVE, REPLICATION CLIENT and SELECT on the captured tables "
     "(RELOAD too on MySQL, whose snapshot needs a brief FLUSH TABLES WITH READ LOCK). "
     "`sluice check` names any privilege missing."},
    {K("database.password"), SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_SECRET,
     "Password (never logged). Prefer the DEBEZIUM_SOURCE_DATABASE_PASSWORD environment variable."},
    {K("database.ssl.mode"), SL_PT_ENUM, "preferred",
     "disabled|preferred|required|verify_ca|verify_identity", 0, 0, 0,
     "TLS for every connection (queries, snapshot, binlog, `sluice check`): disabled never "
     "encrypts; preferred encrypts when the server offers TLS; required always encrypts, "
     "without checking the server's certificate; verify_ca also checks that sluice.mysql.ssl.ca "
     "signed it; verify_identity also checks that it names database.hostname (use this one "
     "across untrusted networks). required and verify_ca notice a server without TLS only "
     "after logging in (libmariadb 3.3) and then stop; verify_identity stops before."},
    {"sluice.mysql.ssl.ca", SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "CA certificate file (PEM) that signed the server's certificate; needed by verify_ca "
     "(verify_identity uses the system's CAs without it). Set with preferred or required, it "
     "makes them check the CA too. Not allowed with ssl.mode=disabled."},
    {"sluice.mysql.ssl.cert", SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "Client certificate file (PEM), for accounts created with REQUIRE X509 (or SUBJECT/ISSUER); "
     "set with sluice.mysql.ssl.key."},
    {"sluice.mysql.ssl.key", SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "Private key (PEM, not encrypted) of sluice.mysql.ssl.cert."},
    {K("database.ssl.truststore"), SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "Java truststore: not supported (a configuration error); export the CA certificate as PEM "
     "(keytool -exportcert -rfc) and set sluice.mysql.ssl.ca."},
    {K("database.ssl.truststore.password"), SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_SECRET,
     "Not supported: see database.ssl.truststore."},
    {K("database.ssl.keystore"), SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "Java keystore: not supported (a configuration error); convert the client certificate and "
     "key to PEM files and set sluice.mysql.ssl.cert and sluice.mysql.ssl.key."},
    {K("database.ssl.keystore.password"), SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_SECRET,
     "Not supported: see database.ssl.keystore."},
    {K("database.server.id"), SL_PT_INT, NULL, NULL, 1, UINT32_MAX, SL_PF_REQUIRED,
     "Replica id sluice presents to the server: unique among the server's replicas and "
     "other binlog readers (a duplicate disconnects the other reader)."},
    {K("database.include.list"), SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0,
     "Regular expressions matching database names to capture (whole name match)."},
    {K("database.exclude.list"), SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0,
     "Regular expressions matching database names not to capture."},
    {K("table.include.list"), SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0,
     "Regular expressions matching <database>.<table> to capture (whole name match)."},
    {K("table.exclude.list"), SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0,
     "Regular expressions matching <database>.<table> not to capture."},
    {K("column.exclude.list"), SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0,
     "Regular expressions matching <database>.<table>.<column> to leave out of events."},
    {K("connect.timeout.ms"), SL_PT_INT, "30000", NULL, 1000, 3600000, 0, "Connection timeout."},
    {K("topic.prefix"), SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED,
     "Logical name of the server: first part of every topic (<prefix>.<database>.<table>), the "
     "schema change topic itself, and source.name."},
    {K("snapshot.mode"), SL_PT_ENUM, "initial", "initial|no_data|never|initial_only|when_needed|always",
     0, 0, 0,
     "initial: snapshot when no offsets exist, then stream; no_data/never: stream only (from "
     "the current binlog end when no offsets exist); initial_only: snapshot then stop; "
     "when_needed: snapshot also when the stored position is no longer on the server; "
     "always: snapshot at every start."},
    {K("snapshot.include.collection.list"), SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0,
     "Subset of the captured tables to snapshot (default: all captured tables)."},
    {K("skipped.operations"), SL_PT_LIST, "t", NULL, 0, 0, 0,
     "Operations not emitted: any of c, u, d, t, none."},
    {K("tombstones.on.delete"), SL_PT_BOOL, "true", NULL, 0, 0, 0,
     "Follow each delete with a tombstone (same key, null value)."},
    {K("include.query"), SL_PT_BOOL, "false", NULL, 0, 0, 0,
     "Put the statement that made a change into source.query (needs binlog_annotate_row_events "
     "on MariaDB, binlog_rows_query_log_events on MySQL)."},
    {K("include.schema.changes"), SL_PT_BOOL, "true", NULL, 0, 0, 0,
     "Emit DDL of captured databases as schema change events on the <topic.prefix> topic."},
    {K("decimal.handling.mode"), SL_PT_ENUM, "precise", "precise|string|double", 0, 0, 0,
     "How DECIMAL/NUMERIC values are represented."},
    {K("time.precision.mode"), SL_PT_ENUM, "adaptive_time_microseconds",
     "adaptive_time_microseconds", 0, 0, 0,
     "Temporal types: Debezium's MySQL default, the mode sluice implements."},
    {K("bigint.unsigned.handling.mode"), SL_PT_ENUM, "long", "long", 0, 0, 0,
     "BIGINT UNSIGNED as int64 (values above 2^63-1 wrap, as in Debezium's long mode)."},
    {K("binary.handling.mode"), SL_PT_ENUM, "bytes", "bytes", 0, 0, 0,
     "Binary columns as bytes (base64 in JSON)."},
    {K("heartbeat.interval.ms"), SL_PT_INT, "0", NULL, 0, 86400000, 0,
     "Emit a heartbeat record (and store the position) after this long without captured "
     "changes; 0 disables. Keeps the stored position close to the binlog's end, so that "
     "purging old binlogs does not overtake it while captured tables are idle."},
    {K("topic.heartbeat.prefix"), SL_PT_STRING, "__debezium-heartbeat", NULL, 0, 0, 0,
     "Heartbeat topic is <this>.<topic.prefix>."},
    {K("errors.max.retries"), SL_PT_INT, "-1", NULL, -1, INT32_MAX, 0,
     "How often a lost connection is retried before sluice stops (-1 = forever). Only losses "
     "after streaming started are retried; start-up problems are reported at once."},
    {K("errors.retry.delay.initial.ms"), SL_PT_INT, "300", NULL, 10, 3600000, 0,
     "First wait before reconnecting; doubles after each failure."},
    {K("errors.retry.delay.max.ms"), SL_PT_INT, "10000", NULL, 10, 3600000, 0,
     "Longest wait between two reconnection attempts."},
    {"sluice.mysql.resume.by", SL_PT_ENUM, "auto", "auto|gtid|position", 0, 0, 0,
     "How streaming resumes from stored offsets: by GTID state (survives a fail-over to "
     "another server of the same replication topology), by binlog file:position, or auto "
     "(GTID when the record has one and the server has GTIDs)."},
    {K("provide.transaction.metadata"), SL_PT_BOOL, "false", NULL, 0, 0, SL_PF_IGNORED,
     "Transaction metadata events are not emitted yet; `transaction` is null."},
    {K("schema.history.internal"), SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_IGNORED,
     "sluice keeps the schema itself (binlog row metadata, information_schema and the DDL "
     "it reads); no history store is used."},
    {K("schema.history.internal.file.filename"), SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_IGNORED,
     "See schema.history.internal."},
    {K("gtid.source.includes"), SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_IGNORED,
     "Not supported: every GTID domain/source is followed."},
};

const sl_prop_table_t sl_my_props = {"source.mysql", "Source: MySQL / MariaDB", my_defs, N(my_defs)};
