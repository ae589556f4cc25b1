#!/usr/bin/env bash
# WAL safety and position checks: heartbeats advance an idle slot; a slot in use at start
# is tried again (slot.max.retries); a dropped, advanced or invalidated slot stops sluice
# with a clear error instead of a silent restart from "now"; snapshot.mode when_needed and
# initial_only; sluice check.
source "$(dirname "$0")/lib.sh"
require_sluice

pg_start
psql_c "CREATE TABLE t (id int PRIMARY KEY, v text);
        CREATE TABLE other (id serial PRIMARY KEY, pad text);
        CREATE TABLE nokey (a int);
        CREATE TABLE hb (ts timestamptz);
        INSERT INTO t VALUES (1, 'one')"
out=$TEST_TMP/out.jsonl
conf=$TEST_TMP/app.properties
sluice_conf "$conf" \
    "debezium.source.table.include.list=public.t" \
    "debezium.source.publication.autocreate.mode=filtered" \
    "debezium.source.heartbeat.interval.ms=300" \
    "debezium.source.heartbeat.action.query=INSERT INTO hb VALUES (now())" \
    "debezium.source.status.update.interval.ms=200"

# sluice check: all prerequisites met (nokey is not captured, so not reported)
out_check=$("$SLUICE_BIN" check -c "$conf" 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "check passes: $out_check"
assert_contains "$out_check" "ok: user postgres has the REPLICATION attribute" "check: replication privilege"
assert_contains "$out_check" "ok: wal_level is logical" "check: wal_level"
assert_contains "$out_check" "ok: 1 table captured" "check: captured tables"
# ... and reports a table whose updates/deletes would have no before-image
sed 's/^debezium.source.table.include.list=.*/debezium.source.table.include.list=public.t,public.nokey/' "$conf" >"$TEST_TMP/check2.properties"
out_check=$("$SLUICE_BIN" check -c "$TEST_TMP/check2.properties" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "check fails for a table without primary key"
assert_contains "$out_check" "FAIL: table public.nokey: replica identity DEFAULT without a primary key" "check: replica identity"

# --- heartbeats: writes to a table that is not captured must not pin WAL
start_bg sluice "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_events "$out" 'r["value"]["op"]=="r"' 1 30 || fail "no snapshot: $(cat "$TEST_TMP/sluice.err")"
psql_c "INSERT INTO other (pad) SELECT repeat('x', 100) FROM generate_series(1, 20000)"
target=$(psql_c "SELECT pg_current_wal_lsn()")
wait_for "[ \"\$(psql_c \"SELECT confirmed_flush_lsn >= '$target' FROM pg_replication_slots WHERE slot_name = 'sluice_test'\")\" = t ]" 30 \
    || fail "the slot did not advance past $target while captured tables were idle"
t_ok "heartbeats advance the slot while captured tables are idle"
assert_eq 1 "$([ "$(jsonl_count "$out" 'r["topic"]=="__debezium-heartbeat.test" and r["key"]=={"serverName":"test"} and isinstance(r["value"]["ts_ms"], int)')" -ge 1 ] && echo 1)" "heartbeat records in the sink"
[ "$(psql_c 'SELECT count(*) FROM hb')" -ge 1 ] || fail "heartbeat.action.query did not run"
t_ok "heartbeat.action.query runs"
kill -TERM "$SL"; stop_pid "$SL" - 30 || fail "stop failed"

# --- a slot still in use at start (as after a kill -9, before the server notices): sluice
# tries again slot.max.retries times, slot.retry.delay.ms apart, then gives up clearly
hold_slot() { # another client streams from slot "held" (pg_recvlogical creates it)
    start_bg holder "$PG_BIN/pg_recvlogical" -d "host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres" \
        --slot=held --create-slot --if-not-exists --start -P pgoutput -o proto_version=1 \
        -o publication_names=sluice_test -f /dev/null
    HOLDER=$BG_PID
    wait_for "[ \"\$(psql_c \"SELECT active FROM pg_replication_slots WHERE slot_name = 'held'\")\" = t ]" 20 ||
        fail "pg_recvlogical did not take slot held: $(cat "$TEST_TMP/holder.err")"
}
sed -e 's/^debezium.source.slot.name=.*/debezium.source.slot.name=held/' \
    -e "s#^debezium.source.offset.storage.file.filename=.*#debezium.source.offset.storage.file.filename=$TEST_TMP/held.dat#" \
    -e "s#^debezium.sink.file.path=.*#debezium.sink.file.path=$TEST_TMP/held.jsonl#" "$conf" >"$TEST_TMP/held.properties"
echo "debezium.source.slot.retry.delay.ms=100" >>"$TEST_TMP/held.properties"
hold_slot
err=$("$SLUICE_BIN" run -c "$TEST_TMP/held.properties" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "slot in use after every retry: exit 1"
assert_contains "$err" 'replication slot "held" is in use by another connection; trying again in 100 ms (6 of 6)' "slot in use: retried slot.max.retries times"
assert_contains "$err" 'ERROR' "slot in use: gives up with an error"
echo "debezium.source.slot.max.retries=100" >>"$TEST_TMP/held.properties"
start_bg heldstop "$SLUICE_BIN" run -c "$TEST_TMP/held.properties"
SL=$BG_PID
wait_for "grep -q 'is in use by another connection; trying again' '$TEST_TMP/heldstop.err'" 20 || fail "no retry: $(cat "$TEST_TMP/heldstop.err")"
kill -TERM "$SL"
rc=0
stop_pid "$SL" - 30 || rc=$?
assert_eq 0 "$rc" "a stop while waiting for the slot is a clean stop (exit 0)"
start_bg held "$SLUICE_BIN" run -c "$TEST_TMP/held.properties"
SL=$BG_PID
wait_for "grep -q 'is in use by another connection; trying again' '$TEST_TMP/held.err'" 20 || fail "no retry: $(cat "$TEST_TMP/held.err")"
kill -TERM "$HOLDER"; stop_pid "$HOLDER" - 10 || true
wait_for "grep -q 'streaming from' '$TEST_TMP/held.err'" 30 || fail "sluice did not take the slot once it was free: $(tail -5 "$TEST_TMP/held.err")"
t_ok "a slot in use at start: sluice retries, and streams once the slot is free"
kill -TERM "$SL"; stop_pid "$SL" - 30 || fail "stop failed"
psql_c "SELECT pg_drop_replication_slot('held')" >/dev/null

# --- the slot is ahead of the stored offset (consumed by someone else)
psql_c "INSERT INTO t VALUES (2, 'two')"
psql_c "SELECT pg_replication_slot_advance('sluice_test', pg_current_wal_lsn())" >/dev/null
err=$("$SLUICE_BIN" run -c "$conf" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "slot ahead of the offset: exit 1"
assert_contains "$err" "cannot resume from the stored offset" "slot ahead: message"
assert_contains "$err" "the replication slot is ahead of the stored offset" "slot ahead: reason"
assert_eq 0 "$(jsonl_count "$out" 'r["key"]=={"id":2}')" "nothing was emitted"

# --- the slot was dropped
psql_c "SELECT pg_drop_replication_slot('sluice_test')" >/dev/null
err=$("$SLUICE_BIN" run -c "$conf" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "slot missing: exit 1"
assert_contains "$err" "the replication slot does not exist" "slot missing: message"
assert_contains "$err" "sluice will not silently start from the current position" "slot missing: no silent restart"

# --- when_needed takes a new snapshot instead (row 2 arrives through it)
echo "debezium.source.snapshot.mode=when_needed" >>"$conf"
start_bg sluice2 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_events "$out" 'r["key"]=={"id":2} and r["value"]["op"]=="r"' 1 30 || fail "when_needed: no new snapshot: $(cat "$TEST_TMP/sluice2.err")"
t_ok "snapshot.mode=when_needed re-snapshots when the slot is gone"
kill -TERM "$SL"; stop_pid "$SL" - 30 || fail "stop failed"

# --- offsets from another cluster are refused
sed -i 's/^system_id=.*/system_id=12345/' "$TEST_TMP/offsets.dat"
sed -i 's/^debezium.source.snapshot.mode=when_needed/debezium.source.snapshot.mode=initial/' "$conf"
err=$("$SLUICE_BIN" run -c "$conf" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "foreign offsets: exit 1"
assert_contains "$err" "the stored offsets belong to another PostgreSQL cluster" "foreign offsets: message"

# --- initial_only: snapshot, then exit 0 by itself
rm -f "$TEST_TMP/offsets.dat"
psql_c "SELECT pg_drop_replication_slot('sluice_test')" >/dev/null
before=$(jsonl_count "$out" 'r["value"]["op"]=="r"')
echo "debezium.source.snapshot.mode=initial_only" >>"$conf"
timeout 60 "$SLUICE_BIN" run -c "$conf" 2>"$TEST_TMP/only.err" && rc=0 || rc=$?
assert_eq 0 "$rc" "initial_only exits 0 after the snapshot"
assert_eq $((before + 2)) "$(jsonl_count "$out" 'r["value"]["op"]=="r"')" "initial_only emitted the 2 rows"

# --- the server invalidated the slot (max_slot_wal_keep_size): a clear error, no silent restart
sed -i '/^debezium.source.snapshot.mode=initial_only/d' "$conf"
psql_c "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'" >/dev/null
psql_c "SELECT pg_reload_conf()" >/dev/null
for i in 1 2 3 4; do
    psql_c "INSERT INTO other (pad) SELECT repeat('y', 200) FROM generate_series(1, 2000); SELECT pg_switch_wal();" >/dev/null
done
psql_c "CHECKPOINT" >/dev/null
wait_for "[ \"\$(psql_c \"SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'sluice_test'\")\" = lost ]" 20 \
    || fail "could not get the slot invalidated: $(psql_c 'SELECT slot_name, wal_status, restart_lsn FROM pg_replication_slots')"
err=$("$SLUICE_BIN" run -c "$conf" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "invalidated slot: exit 1"
assert_contains "$err" "the replication slot was invalidated (wal_status=lost" "invalidated slot: message"
t_done
