#!/usr/bin/env bash
# Bad configuration exits 2 with the key, file:line and a fix; bad credentials and
# unreachable servers give one clear line and exit 1; the password never appears.
source "$(dirname "$0")/lib.sh"
require_sluice

SECRET='s3cr3t-Planted-Pa55'
base="debezium.source.connector.class=postgres
debezium.source.database.hostname=127.0.0.1
debezium.source.database.user=postgres
debezium.source.database.password=$SECRET
debezium.source.database.dbname=postgres
debezium.source.topic.prefix=t
debezium.sink.type=file
debezium.sink.file.path=$TEST_TMP/out.jsonl"
cfg=$TEST_TMP/app.properties

# expect_config EXTRA_LINE EXPECTED_MESSAGE: the extra line is line 9 of the file
expect_config() {
    printf '%s\n%s\n' "$base" "$1" >"$cfg"
    local out rc=0
    out=$("$SLUICE_BIN" run -c "$cfg" 2>&1) || rc=$?
    assert_eq 2 "$rc" "exit 2 for: $1"
    assert_eq "sluice: $2" "$out" "message for: $1"
    case "$out" in *"$SECRET"*) fail "the password leaked: $out" ;; esac
}

expect_config 'debezium.source.slot.nmae=x' \
    "$cfg:9: unknown key 'debezium.source.slot.nmae' (did you mean 'debezium.source.slot.name'?)"
expect_config 'debezium.source.database.port=abc' \
    "$cfg:9: debezium.source.database.port: 'abc' is not an integer (expected 1..65535)"
expect_config 'debezium.source.database.port=70000' \
    "$cfg:9: debezium.source.database.port: '70000' is out of range (expected 1..65535)"
expect_config 'debezium.source.snapshot.mode=sometimes' \
    "$cfg:9: debezium.source.snapshot.mode: 'sometimes' is not a valid value (expected one of: initial, no_data, never, initial_only, when_needed, always)"
expect_config 'debezium.source.tombstones.on.delete=yes' \
    "$cfg:9: debezium.source.tombstones.on.delete: 'yes' is not a boolean (expected true or false)"
expect_config 'debezium.source.table.include.list=public.(a' \
    "$cfg:9: debezium.source.table.include.list: invalid regular expression 'public.(a': unmatched ( or \\("
expect_config 'debezium.sink.type=kafkaa' \
    "$cfg:9: debezium.sink.type: unknown sink 'kafkaa' (use one of: file stdout kafka jdbc)"
expect_config 'debezium.source.connector.class=mongodb' \
    "$cfg:9: debezium.source.connector.class: unknown connector 'mongodb' (use io.debezium.connector.postgresql.PostgresConnector, io.debezium.connector.mariadb.MariaDbConnector, io.debezium.connector.mysql.MySqlConnector, or the short names postgres, mariadb, mysql)"
expect_config 'debezium.source.max.queue.size=-5' \
    "$cfg:9: debezium.source.max.queue.size: '-5' is out of range (expected 2..1000000)"

# The table: each row is "extra lines (\n between them, from line 9) | the exact message"
# (@ stands for the file's name). Every one exits 2 before anything starts.
touch "$TEST_TMP/client.crt" # exists, but is not PEM
while IFS='|' read -r extra msg; do
    [[ -n "$extra" && "$extra" != \#* ]] || continue
    extra=$(printf '%b' "$extra")
    printf '%s\n%s\n' "$base" "$extra" >"$cfg"
    rc=0
    out=$("$SLUICE_BIN" run -c "$cfg" 2>&1) || rc=$?
    assert_eq 2 "$rc" "exit 2 for: ${extra//$'\n'/ + }"
    assert_eq "sluice: ${msg//@/$cfg}" "$out" "message for: ${extra//$'\n'/ + }"
    [ ! -e "$TEST_TMP/out.jsonl" ] || fail "a rejected configuration started the sink: $extra"
done <<'TABLE'
debezium.source.topic.prefix=ab\xff\xfecd|@:9: invalid UTF-8 (byte 0xFF at column 32); save the file as UTF-8
debezium.source.\xc0\xafkey=1|@:9: invalid UTF-8 (byte 0xC0 at column 17); save the file as UTF-8
debezium.source.topic.prefix=a\\u00ZZb|@:9: malformed \uXXXX escape (expected four hex digits)
=x|@:9: a line with no key (it starts with '=' or ':'); write key=value
debezium.sink.file.pathh=x|@:9: unknown key 'debezium.sink.file.pathh' (did you mean 'debezium.sink.file.path'?)
debezium.source.max.queue.size.in.bytes=99999999999999999999|@:9: debezium.source.max.queue.size.in.bytes: '99999999999999999999' is out of range (expected 0 or more)
debezium.source.offset.flush.interval.ms=-1|@:9: debezium.source.offset.flush.interval.ms: '-1' is out of range (expected 0..86400000)
debezium.sink.file.rotate.bytes=-1|@:9: debezium.sink.file.rotate.bytes: '-1' is out of range (expected 0 or more)
debezium.source.heartbeat.interval.ms=1.5|@:9: debezium.source.heartbeat.interval.ms: '1.5' is not an integer (expected 0..86400000)
debezium.source.database.port=0|@:9: debezium.source.database.port: '0' is out of range (expected 1..65535)
debezium.source.errors.max.retries=-2|@:9: debezium.source.errors.max.retries: '-2' is out of range (expected -1..2147483647)
debezium.source.max.batch.size=0|@:9: debezium.source.max.batch.size: '0' is out of range (expected 1..1000000)
debezium.source.max.queue.size=1000000000|@:9: debezium.source.max.queue.size: '1000000000' is out of range (expected 2..1000000)
debezium.source.max.queue.size=100|@:9: debezium.source.max.queue.size (100) must be larger than debezium.source.max.batch.size (2048, the default), as in Debezium; raise the queue or lower the batch
debezium.source.snapshot.mode=|@:9: debezium.source.snapshot.mode: '' is not a valid value (expected one of: initial, no_data, never, initial_only, when_needed, always)
debezium.source.decimal.handling.mode=float|@:9: debezium.source.decimal.handling.mode: 'float' is not a valid value (expected one of: precise, string, double)
debezium.source.publication.autocreate.mode=sometimes|@:9: debezium.source.publication.autocreate.mode: 'sometimes' is not a valid value (expected one of: all_tables, disabled, filtered)
debezium.format.value.schemas.enable=1|@:9: debezium.format.value.schemas.enable: '1' is not a boolean (expected true or false)
debezium.source.column.exclude.list=public.t.(x|@:9: debezium.source.column.exclude.list: invalid regular expression 'public.t.(x': unmatched ( or \(
debezium.source.slot.name=Bad-Name|@:9: debezium.source.slot.name 'Bad-Name': a replication slot name is 1 to 63 lower-case letters, digits and underscores
debezium.source.topic.prefix=bad/prefix|@:9: debezium.source.topic.prefix 'bad/prefix' may only hold letters, digits, '.', '_' and '-' (it starts every topic name)
debezium.source.database.hostname=|@:9: debezium.source.database.hostname is empty; it needs a value
debezium.sink.file.path=|@:9: debezium.sink.file.path is empty; it needs a value
debezium.source.database.sslmode=disable\ndebezium.source.database.sslrootcert=/etc/hostname|@:10: debezium.source.database.sslrootcert is set but debezium.source.database.sslmode=disable (set at @:9) never uses TLS; remove one of them (sslmode=verify-full checks the server's certificate)
debezium.source.database.sslcert=/nonexistent/x.crt|@:9: debezium.source.database.sslcert: cannot read '/nonexistent/x.crt': No such file or directory
debezium.sink.type=jdbc|debezium.sink.jdbc.connection.url: required key is missing (add 'debezium.sink.jdbc.connection.url=...' to @)
debezium.sink.type=jdbc\ndebezium.sink.jdbc.connection.url=jdbc:postgresql://h/db\ndebezium.sink.jdbc.insert.mode=merge|@:11: debezium.sink.jdbc.insert.mode: 'merge' is not a valid value (expected one of: insert, upsert, update)
debezium.sink.type=jdbc\ndebezium.sink.jdbc.connection.url=jdbc:oracle:thin:@db:1521/x|@:10: debezium.sink.jdbc.connection.url: expected jdbc:postgresql://host:port/database, jdbc:mariadb://host:port/database (or jdbc:mysql://), or jdbc:sqlite:/path/file.db
debezium.sink.type=jdbc\ndebezium.sink.jdbc.connection.url=jdbc:postgresql://h/db\ndebezium.format.value.schemas.enable=false|@:11: debezium.format.value.schemas.enable=false, but the jdbc sink takes column types from the event schema: set it to true
debezium.sink.type=kafka\ndebezium.sink.kafka.producer.bootstrap.servers=x:1\nsluice.sink.kafka.headers=op,tabel|@:11: sluice.sink.kafka.headers: unknown header 'tabel' (use op, table, db, schema, lsn, ts_ms, source.<field>, transaction.<field>, sluice.position, sluice.txn; or true / false)
debezium.sink.type=kafka|debezium.sink.kafka.producer.bootstrap.servers: required key is missing (add 'debezium.sink.kafka.producer.bootstrap.servers=...' to @)
debezium.sink.type=kafka\ndebezium.sink.kafka.producer.bootstrap.servers=x:1\nsluice.sink.kafka.exactly.once=maybe|@:11: sluice.sink.kafka.exactly.once: 'maybe' is not a boolean (expected true or false)
debezium.source.connector.class=mariadb|debezium.source.database.server.id: required key is missing (add 'debezium.source.database.server.id=...' to @)
debezium.source.connector.class=mariadb\ndebezium.source.database.server.id=5\ndebezium.source.database.ssl.mode=verify_ca|@:11: debezium.source.database.ssl.mode=verify_ca needs sluice.mysql.ssl.ca, the CA certificate that signed the server's certificate; set it, or use ssl.mode=required to encrypt without verifying the server
debezium.source.offset.storage=org.apache.kafka.connect.storage.KafkaOffsetBackingStore|@:9: debezium.source.offset.storage=org.apache.kafka.connect.storage.KafkaOffsetBackingStore needs debezium.sink.type=kafka (sink here: file); use the FileOffsetBackingStore
debezium.transforms=R\ndebezium.transforms.R.type=org.apache.kafka.connect.transforms.RegexRouter\ndebezium.transforms.R.regex=(?i)x\ndebezium.transforms.R.replacement=y|@:11: debezium.transforms.R.regex: the regular expression uses a (?...) group, which POSIX regular expressions do not have
TABLE

printf '%s\ndebezium.source.table.include.list=public.a\ndebezium.source.table.exclude.list=public.b\n' "$base" >"$cfg"
out=$("$SLUICE_BIN" run -c "$cfg" 2>&1) && rc=0 || rc=$?
assert_eq 2 "$rc" "contradictory options: exit 2"
assert_eq "sluice: $cfg:10: debezium.source.table.exclude.list cannot be combined with debezium.source.table.include.list (set at $cfg:9); keep only one of them" "$out" "contradictory options message"
[ ! -e "$TEST_TMP/out.jsonl" ] || fail "a rejected configuration must not start anything (the sink file exists)"

printf 'debezium.sink.type=file\n' >"$cfg"
out=$("$SLUICE_BIN" run -c "$cfg" 2>&1) && rc=0 || rc=$?
assert_eq 2 "$rc" "missing required key: exit 2"
assert_eq "sluice: debezium.source.connector.class: required key is missing (add 'debezium.source.connector.class=...' to $cfg)" "$out" "missing required key message"

out=$("$SLUICE_BIN" run 2>&1) && rc=0 || rc=$?
assert_eq 2 "$rc" "no -c: exit 2"
out=$("$SLUICE_BIN" frobnicate 2>&1) && rc=0 || rc=$?
assert_eq 2 "$rc" "unknown command: exit 2"

# unreachable server: one line, exit 1, no secret
port=$(free_port)
printf '%s\ndebezium.source.database.port=%s\n' "$base" "$port" >"$cfg"
out=$("$SLUICE_BIN" run -c "$cfg" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "unreachable server: exit 1"
assert_contains "$out" "ERROR could not connect to PostgreSQL at 127.0.0.1:$port: connection to server at \"127.0.0.1\", port $port failed: Connection refused Is the server running" "unreachable server message"
assert_eq 1 "$(grep -c 'could not connect' <<<"$out")" "the error is one line"
case "$out" in *"$SECRET"*) fail "the password leaked" ;; esac

# wrong password against a server that checks it
pg_start
psql_c "CREATE ROLE app LOGIN REPLICATION PASSWORD 'right-password'"
sed -i '1i host all app 127.0.0.1/32 scram-sha-256\nhost replication app 127.0.0.1/32 scram-sha-256' "$PG_DATA/pg_hba.conf"
psql_c "SELECT pg_reload_conf()" >/dev/null
printf '%s\ndebezium.source.database.port=%s\ndebezium.source.database.user=app\n' "$base" "$PGPORT" >"$cfg"
out=$("$SLUICE_BIN" run -c "$cfg" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "wrong password: exit 1"
assert_contains "$out" "password authentication failed for user \"app\"" "wrong password message"
case "$out" in *"$SECRET"*) fail "the password leaked: $out" ;; esac
out=$("$SLUICE_BIN" check -c "$cfg" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "check with a wrong password: exit 1"
assert_contains "$out" "FAIL: could not connect" "check reports the connection failure"
case "$out" in *"$SECRET"*) fail "the password leaked in check: $out" ;; esac

# the password from the environment wins over the file
out=$(DEBEZIUM_SOURCE_DATABASE_PASSWORD=right-password "$SLUICE_BIN" check -c "$cfg" 2>&1) && rc=0 || rc=$?
assert_contains "$out" "ok: connected to PostgreSQL 15" "environment override of the password"

# wal_level=replica: one clear line
pg_stop
pg_start "wal_level = replica"
printf '%s\ndebezium.source.database.port=%s\n' "$base" "$PGPORT" >"$cfg"
out=$("$SLUICE_BIN" run -c "$cfg" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "wal_level=replica: exit 1"
assert_contains "$out" 'wal_level is "replica" on the server; logical decoding needs wal_level=logical' "wal_level message"
out=$("$SLUICE_BIN" check -c "$cfg" 2>&1) && rc=0 || rc=$?
assert_contains "$out" "FAIL: wal_level is replica (set wal_level=logical in postgresql.conf and restart)" "check reports wal_level"
t_done
