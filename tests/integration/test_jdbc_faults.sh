#!/usr/bin/env bash
# jdbc sink under faults, PostgreSQL -> PostgreSQL (insert.mode=insert, so a change applied
# twice fails on the primary key and shows):
#  1. target down for a while during a workload (fast shutdown, then an immediate one that
#     can lose the reply to a COMMIT): sluice retries with backoff, stays up, keeps the
#     source connection alive, and the target equals the source afterwards.
#  2. errors.tolerance=all: rows the target refuses (a CHECK constraint the source does not
#     have) go to sluice_dead_letters with their error, in the same transaction as the
#     rows around them; everything else arrives; sluice keeps running.
#  3. errors.tolerance=none: the same refusal stops sluice with the error, and nothing of
#     the refused transaction is committed.
#  4. a target table name longer than PostgreSQL's 63 bytes (which PostgreSQL would cut,
#     possibly onto another table) is refused with a clear error.
source "$(dirname "$0")/lib.sh"
require_sluice

pg_start
SRC_PORT=$PGPORT
pg_start # the target: started last, so pg_restart acts on it
TGT_PORT=$PGPORT
src_c() { PGPORT=$SRC_PORT psql_c "$@"; }
tgt_c() { PGPORT=$TGT_PORT psql_c "$@"; }
checksum() { # checksum PORT TABLE
    PGPORT=$1 psql_c "SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY id)), '-') FROM $2 x"
}
same() { [[ "$(checksum "$SRC_PORT" "$1")" == "$(checksum "$TGT_PORT" "$1")" ]]; }

src_c "CREATE TABLE k (id int PRIMARY KEY, v int NOT NULL)"
src_c "CREATE TABLE c (id int PRIMARY KEY, v int NOT NULL)"
# the target refuses v >= 1000 in c; the source does not
tgt_c "CREATE TABLE c (id int PRIMARY KEY, v int NOT NULL CHECK (v < 1000))"

base_conf() { # base_conf FILE [extra lines...]
    local f=$1
    shift
    PGPORT=$SRC_PORT sluice_conf "$f" \
        "debezium.sink.type=jdbc" \
        "debezium.sink.jdbc.connection.url=jdbc:postgresql://127.0.0.1:$TGT_PORT/postgres?connectTimeout=2" \
        "debezium.sink.jdbc.connection.username=postgres" \
        "debezium.sink.jdbc.insert.mode=insert" \
        "debezium.sink.jdbc.delete.enabled=true" \
        "debezium.sink.jdbc.primary.key.mode=record_key" \
        "debezium.sink.jdbc.schema.evolution=basic" \
        "debezium.sink.jdbc.table.name.format=\${source.table}" \
        "debezium.sink.jdbc.flush.retry.delay.ms=100" \
        "debezium.format.value.schemas.enable=true" \
        "debezium.format.key.schemas.enable=true" \
        "$@"
}

# --- 1. target outage
conf=$TEST_TMP/outage.properties
base_conf "$conf" "debezium.sink.jdbc.flush.max.retries=-1" "debezium.source.table.include.list=public.k"
start_bg sluice1 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice1.err'" 30 || fail "sluice did not start: $(tail -5 "$TEST_TMP/sluice1.err")"
workload() { # FROM COUNT: COUNT transactions of 10 rows, with updates and deletes
    local from=$1 count=$2 i
    for ((i = 0; i < count; i++)); do
        local a=$((from + i * 10))
        echo "INSERT INTO k SELECT g, g FROM generate_series($a, $((a + 9))) g;"
        if ((i % 5 == 4)); then
            echo "BEGIN; UPDATE k SET v = v + 1 WHERE id = $a; DELETE FROM k WHERE id = $((a + 1)); COMMIT;"
        fi
        echo "SELECT pg_sleep(0.01);"
    done
}
workload 1 1200 | PGPORT=$SRC_PORT "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f - >/dev/null &
WL=$!
register_pid "$WL" -
sleep 1
pg_restart fast 4
pid_alive "$SL" || fail "sluice stopped while the target was down: $(tail -5 "$TEST_TMP/sluice1.err")"
grep -q 'retrying in' "$TEST_TMP/sluice1.err" || fail "no retry logged: $(tail -5 "$TEST_TMP/sluice1.err")"
grep -q 'reconnected to the target' "$TEST_TMP/sluice1.err" || wait_for "grep -q 'reconnected to the target' '$TEST_TMP/sluice1.err'" 30 ||
    fail "sluice did not reconnect: $(tail -5 "$TEST_TMP/sluice1.err")"
t_ok "target down 4 s (fast shutdown): sluice retried with backoff and reconnected"
sleep 1
pg_restart immediate 2
wait "$WL" || fail "workload failed"
unregister_pid "$WL"
wait_for "same k" 60 || fail "target differs after the outages: $(checksum "$SRC_PORT" k) vs $(checksum "$TGT_PORT" k); $(tail -5 "$TEST_TMP/sluice1.err")"
pid_alive "$SL" || fail "sluice stopped: $(tail -5 "$TEST_TMP/sluice1.err")"
assert_eq 0 "$(grep -c 'duplicate key' "$TEST_TMP/sluice1.err" || true)" "no change applied twice"
t_ok "two target outages (fast, immediate) during 1200 transactions: target equals source ($(checksum "$TGT_PORT" k)), sluice never stopped"
# the source's slot kept being confirmed: its confirmed position passed the outage
lag=$(src_c "SELECT pg_current_wal_lsn() - confirmed_flush_lsn FROM pg_replication_slots")
[[ "$lag" =~ ^[0-9]+$ ]] || fail "no slot lag reading: $lag"
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed"

# --- 2. dead letters
tgt_c "DROP TABLE sluice_offsets" # a fresh pipeline: snapshot again
conf=$TEST_TMP/dlq.properties
base_conf "$conf" "debezium.sink.jdbc.errors.tolerance=all" "debezium.source.table.include.list=public.c" \
    "debezium.source.slot.name=sluice_dlq" "debezium.source.publication.name=sluice_dlq" \
    "debezium.source.offset.storage.file.filename=$TEST_TMP/dlq.offsets"
src_c "INSERT INTO c SELECT g, g FROM generate_series(1, 20) g"
src_c "INSERT INTO c VALUES (21, 5000)" # refused by the snapshot's batch
start_bg sluice2 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "[[ \$(tgt_c 'SELECT count(*) FROM c') == 20 ]]" 30 || fail "snapshot rows missing: $(tail -5 "$TEST_TMP/sluice2.err")"
src_c "BEGIN; INSERT INTO c VALUES (100, 1), (101, 1001), (102, 2); UPDATE c SET v = 3000 WHERE id = 5; COMMIT"
src_c "INSERT INTO c VALUES (103, 3)"
wait_for "[[ \$(tgt_c 'SELECT count(*) FROM c WHERE id >= 100') == 3 ]]" 30 || fail "rows around the refused ones missing: $(tail -5 "$TEST_TMP/sluice2.err")"
pid_alive "$SL" || fail "sluice stopped on a refused row with errors.tolerance=all: $(tail -5 "$TEST_TMP/sluice2.err")"
assert_eq "1,2,3" "$(tgt_c "SELECT string_agg(v::text, ',' ORDER BY id) FROM c WHERE id >= 100")" "the good rows of the transaction arrived"
assert_eq 5 "$(tgt_c "SELECT v FROM c WHERE id = 5")" "the refused update left the row as it was"
assert_eq 3 "$(tgt_c "SELECT count(*) FROM sluice_dead_letters")" "three dead letters (snapshot row 21, insert 101, update of 5)"
assert_eq 3 "$(tgt_c "SELECT count(*) FROM sluice_dead_letters WHERE error LIKE '%violates check constraint%' AND topic = 'test.public.c' AND pipeline = 'sluice'")" \
    "each with its error, topic and pipeline"
assert_eq "1001" "$(tgt_c "SELECT value::json->'payload'->'after'->>'v' FROM sluice_dead_letters WHERE key::json->'payload'->>'id' = '101'")" \
    "the dead letter holds the event's key and value"
t_ok "errors.tolerance=all: refused rows are dead letters, the rest of their transactions arrived"
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed"

# --- 3. errors.tolerance=none stops, committing nothing of the refused transaction
conf=$TEST_TMP/none.properties
base_conf "$conf" "debezium.source.table.include.list=public.c" \
    "debezium.source.slot.name=sluice_dlq" "debezium.source.publication.name=sluice_dlq" \
    "debezium.source.offset.storage.file.filename=$TEST_TMP/dlq.offsets"
start_bg sluice3 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice3.err'" 30 || fail "sluice did not start: $(tail -5 "$TEST_TMP/sluice3.err")"
src_c "BEGIN; INSERT INTO c VALUES (200, 1); INSERT INTO c VALUES (201, 1001); COMMIT"
wait_for "! pid_alive $SL" 30 || fail "sluice kept running after a refused row with errors.tolerance=none"
rc=0
wait "$SL" || rc=$?
unregister_pid "$SL"
[[ $rc -ne 0 ]] || fail "sluice exited 0 after a refused row"
grep -q 'violates check constraint' "$TEST_TMP/sluice3.err" || fail "the error is not in the log: $(tail -5 "$TEST_TMP/sluice3.err")"
assert_eq 0 "$(tgt_c "SELECT count(*) FROM c WHERE id = 200")" "nothing of the refused transaction was committed"
t_ok "errors.tolerance=none: the refusal stops sluice (exit $rc) with the target's error"

# --- 4. identifiers PostgreSQL would cut
long=$(printf 'x%.0s' {1..70})   # k_xxx...: 72 bytes
conf=$TEST_TMP/long.properties
base_conf "$conf" "debezium.source.table.include.list=public.k" \
    "debezium.sink.jdbc.table.name.format=\${source.table}_$long" \
    "debezium.source.slot.name=sluice_long" "debezium.source.publication.name=sluice_long" \
    "debezium.source.offset.storage.file.filename=$TEST_TMP/long.offsets"
tgt_c "DROP TABLE sluice_offsets"
start_bg sluice4 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "! pid_alive $SL" 60 || fail "sluice kept running with a 72-byte table name"
rc=0
wait "$SL" || rc=$?
unregister_pid "$SL"
[[ $rc -ne 0 ]] || fail "sluice exited 0"
grep -q "longer than PostgreSQL's 63: it would be cut" "$TEST_TMP/sluice4.err" ||
    fail "no clear error: $(tail -3 "$TEST_TMP/sluice4.err")"
assert_eq 0 "$(tgt_c "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'k_xxx%'")" "no cut table created"
t_ok "a 72-byte target table name is refused before PostgreSQL cuts it"
t_done
