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
