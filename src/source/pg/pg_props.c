/*
 * pg_props.c — property table of the PostgreSQL source (Debezium's keys).
 */
#include <stdint.h>

#include "source/pg/pg_source.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define K(x) "debezium.source." x

static const sl_prop_def_t pg_defs[] = {
    {K("database.hostname"), SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED,
     "PostgreSQL server host name or address."},
    {K("database.port"), SL_PT_INT, "5432", NULL, 1, 65535, 0, "PostgreSQL server port."},
    {K("database.user"), SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED,
     "User with the REPLICATION attribute and SELECT on the captured tables (for the snapshot). "
     "That is all sluice needs when the tables' owner creates the publication beforehand "
     "(publication.autocreate.mode=disabled); `sluice check` names any privilege missing."},
    {K("database.password"), SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_SECRET,
     "Password (never logged). Prefer the DEBEZIUM_SOURCE_DATABASE_PASSWORD environment variable."},
    {"sluice.postgres.password.file", SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "File whose first line is the password, read at each connection (so it can be rotated "
     "without a restart); keeps the secret out of the properties file and the environment. "
     "Cannot be combined with database.password."},
    {K("database.dbname"), SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED,
     "Database to capture."},
    {K("database.sslmode"), SL_PT_ENUM, "prefer", "disable|allow|prefer|require|verify-ca|verify-full",
     0, 0, 0,
     "libpq sslmode for every connection: require encrypts without checking the server; "
     "verify-ca also checks that sslrootcert's CA signed the server's certificate; verify-full "
     "also checks the host name against it (use this one across untrusted networks)."},
    {K("database.sslrootcert"), SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "CA certificate file (PEM) for verify-ca / verify-full; needed by them unless "
     "~/.postgresql/root.crt exists. Not allowed with sslmode=disable."},
    {K("database.sslcert"), SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "Client certificate file (PEM), for the server's `cert` authentication; set with sslkey."},
    {K("database.sslkey"), SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "Private key of sslcert (mode 0600, or 0640 owned by root, as libpq requires)."},
    {K("database.tcpKeepAlive"), SL_PT_BOOL, "true", NULL, 0, 0, 0, "TCP keepalives."},
    {K("database.initial.statements"), SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "SQL run on each (non-replication) connection when it opens; ';'-separated."},
    {K("connect.timeout.ms"), SL_PT_INT, "30000", NULL, 1000, 3600000, 0,
     "Connection timeout."},
    {K("topic.prefix"), SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED,
     "Logical name of the server: first part of every topic (<prefix>.<schema>.<table>) and "
     "source.name."},
    {K("plugin.name"), SL_PT_ENUM, "pgoutput", "pgoutput", 0, 0, 0,
     "Logical decoding plugin; sluice speaks pgoutput."},
    {K("slot.name"), SL_PT_STRING, "debezium", NULL, 0, 0, 0, "Replication slot name."},
    {K("slot.drop.on.stop"), SL_PT_BOOL, "false", NULL, 0, 0, 0,
     "Drop the slot at a graceful stop (for throwaway setups: the server then keeps no WAL, "
     "and the next start cannot resume)."},
    {K("slot.max.retries"), SL_PT_INT, "6", NULL, 0, 1000, 0,
     "At start, how many more times to try when the replication slot is still in use by "
     "another connection (e.g. the server has not yet noticed that a killed sluice is gone)."},
    {K("slot.retry.delay.ms"), SL_PT_INT, "10000", NULL, 10, 3600000, 0,
     "Wait between those attempts."},
    {K("publication.name"), SL_PT_STRING, "dbz_publication", NULL, 0, 0, 0,
     "Publication the slot streams."},
    {K("publication.autocreate.mode"), SL_PT_ENUM, "all_tables", "all_tables|disabled|filtered",
     0, 0, 0,
     "Create the publication when missing: for all tables, never (it must exist), or for "
     "the tables the include/exclude lists select (and keep it in sync at start)."},
    {K("schema.include.list"), SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0,
     "Regular expressions matching schema names to capture (whole name match)."},
    {K("schema.exclude.list"), SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0,
     "Regular expressions matching schema names not to capture."},
    {K("table.include.list"), SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0,
     "Regular expressions matching <schema>.<table> to capture (whole name match)."},
    {K("table.exclude.list"), SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0,
     "Regular expressions matching <schema>.<table> not to capture."},
    {K("column.exclude.list"), SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0,
     "Regular expressions matching <schema>.<table>.<column> to leave out of events."},
    {K("snapshot.mode"), SL_PT_ENUM, "initial", "initial|no_data|never|initial_only|when_needed|always",
     0, 0, 0,
     "initial: snapshot when no offsets exist, then stream; no_data/never: stream only; "
     "initial_only: snapshot then stop; when_needed: snapshot when offsets are missing or no "
     "longer usable; always: snapshot at every start."},
    {K("snapshot.include.collection.list"), SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0,
     "Subset of the captured tables to snapshot (default: all captured tables)."},
    {K("skipped.operations"), SL_PT_LIST, "t", NULL, 0, 0, 0,
     "Operations not emitted: any of c, u, d, t, none (Debezium's default skips truncates)."},
    {K("tombstones.on.delete"), SL_PT_BOOL, "true", NULL, 0, 0, 0,
     "Follow each delete with a tombstone (same key, null value)."},
    {K("decimal.handling.mode"), SL_PT_ENUM, "precise", "precise|string|double", 0, 0, 0,
     "How numeric/decimal values are represented."},
    {K("time.precision.mode"), SL_PT_ENUM, "adaptive", "adaptive", 0, 0, 0,
     "Temporal types: adaptive (Debezium's default) is the mode sluice implements."},
    {K("message.prefix.include.list"), SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0,
     "Regular expressions matching pg_logical_emit_message prefixes to emit."},
    {K("message.prefix.exclude.list"), SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0,
     "Regular expressions matching prefixes not to emit."},
    {K("heartbeat.interval.ms"), SL_PT_INT, "10000", NULL, 0, 86400000, 0,
     "Emit a heartbeat record (and let the slot advance) after this long without captured "
     "changes; 0 disables. Keeps the server from retaining WAL while captured tables are idle."},
    {K("heartbeat.action.query"), SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "SQL run on each heartbeat (e.g. an UPDATE of a captured heartbeat table) so that a slot "
     "on a database with no captured traffic still advances."},
    {K("topic.heartbeat.prefix"), SL_PT_STRING, "__debezium-heartbeat", NULL, 0, 0, 0,
     "Heartbeat topic is <this>.<topic.prefix>."},
    {K("status.update.interval.ms"), SL_PT_INT, "10000", NULL, 100, 3600000, 0,
     "Longest time between two standby status updates to the server."},
    {K("errors.max.retries"), SL_PT_INT, "-1", NULL, -1, INT32_MAX, 0,
     "How often a lost connection is retried before sluice stops (-1 = forever). Only losses "
     "after streaming started are retried; start-up problems are reported at once."},
    {K("errors.retry.delay.initial.ms"), SL_PT_INT, "300", NULL, 10, 3600000, 0,
     "First wait before reconnecting; doubles after each failure."},
    {K("errors.retry.delay.max.ms"), SL_PT_INT, "10000", NULL, 10, 3600000, 0,
     "Longest wait between two reconnection attempts."},
    {"sluice.postgres.streaming", SL_PT_BOOL, "true", NULL, 0, 0, 0,
     "Use pgoutput protocol version 2 with streaming of in-progress transactions when the "
     "server has it (PostgreSQL 14+); large transactions are then spooled to disk until they "
     "commit instead of being held by the server's walsender."},
    {"sluice.postgres.spool.dir", SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "Directory for spooled in-progress transactions (default: <offsets dir>/spool)."},
    {K("provide.transaction.metadata"), SL_PT_BOOL, "false", NULL, 0, 0, SL_PF_IGNORED,
     "Transaction metadata events are not emitted yet; `transaction` is null."},
    {K("include.unknown.datatypes"), SL_PT_BOOL, "true", NULL, 0, 0, SL_PF_IGNORED,
     "sluice always includes unknown types, as their text form."},
    {K("schema.history.internal"), SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_IGNORED,
     "Not needed for PostgreSQL."},
};

const sl_prop_table_t sl_pg_props = {"source.postgres", "Source: PostgreSQL", pg_defs, N(pg_defs)};
