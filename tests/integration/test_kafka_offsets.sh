#!/usr/bin/env bash
# Kafka sink, normal (at-least-once) mode with the position stored in Kafka
# (sluice.sink.kafka.offset.storage=kafka, debezium.source.offset.storage.topic): kill -9
# sluice at random moments while a workload runs, restart it, and check with kcat that
# every committed insert reached Kafka, that no offsets file was ever written, and that
# the offsets topic holds records under the expected key. A graceful stop followed by a
# restart re-sends nothing (the position was read back from the topic).
source "$(dirname "$0")/lib.sh"
source "$SLUICE_SRC/tests/kafka/lib.sh"
require_sluice

pg_start
psql_c "CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)"
kafka_start -p 3 test.public.t test-offsets
conf=$TEST_TMP/app.properties
sluice_conf "$conf" \
    "debezium.source.heartbeat.interval.ms=500" \
    "debezium.sink.type=kafka" \
    "debezium.sink.kafka.producer.bootstrap.servers=$KAFKA_BOOTSTRAP" \
    "debezium.source.offset.storage=org.apache.kafka.connect.storage.KafkaOffsetBackingStore" \
    "debezium.source.offset.storage.topic=test-offsets"
# (Debezium's spelling; sluice.sink.kafka.offset.storage=kafka means the same)

# --- exactly-once with offset.storage=file is a contradiction: exit 2, key named
bad=$TEST_TMP/bad.properties
sed '/^debezium.source.offset.storage=/d' "$conf" >"$bad"
printf 'sluice.sink.kafka.offset.storage=file\nsluice.sink.kafka.exactly.once=true\n' >>"$bad"
line=$(grep -n '^sluice.sink.kafka.offset.storage=' "$bad" | cut -d: -f1)
rc=0; out=$("$SLUICE_BIN" run -c "$bad" 2>&1) || rc=$?
assert_eq 2 "$rc" "exactly.once=true with offset.storage=file: exit code 2"
assert_contains "$out" "$bad:$line: sluice.sink.kafka.offset.storage=file contradicts" "the key and file:line are named"

run_sluice() {
    start_bg "sluice$1" "$SLUICE_BIN" run -c "$conf"
    SL=$BG_PID
}

# check_no_loss FROM COUNT: "<missing> <duplicates>" among the inserted ids
check_no_loss() { kafka_loss_dups test.public.t "$1" "$(($2 * 20))"; }

run_sluice 0
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice0.err'" 30 || fail "sluice did not start: $(cat "$TEST_TMP/sluice0.err")"
assert_contains "$(cat "$TEST_TMP/sluice0.err")" 'offsets in topic "test-offsets" (record key "sluice-test")' "offsets go to the configured topic, keyed sluice-<topic.prefix>"
workload_sql 1 600 | "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f - >/dev/null &
WL=$!
register_pid "$WL" -
kill9_restarts 5 run_sluice
kills=$KILLS
pid_alive "$WL" || echo "# note: the workload ended before the last kill" >&2
wait "$WL" || fail "workload failed"
unregister_pid "$WL"
wait_for "[ \"\$(check_no_loss 1 600 | cut -d' ' -f1)\" = 0 ]" 60 || true
read -r missing dups < <(check_no_loss 1 600)
assert_eq 0 "$missing" "kill -9 x$kills, offsets in Kafka: no committed insert lost (duplicates in the in-flight tail: $dups)"
echo "# kafka offsets kill -9: $kills kills, 12000 inserts checked, $dups duplicates" >&2
assert_eq "no" "$([ -e "$TEST_TMP/offsets.dat" ] && echo yes || echo no)" "no offsets file is written"
keys=$(kcat -C -b "$KAFKA_BOOTSTRAP" -t test-offsets -o beginning -e -q -f '%k\n' 2>/dev/null | sort -u)
assert_eq "sluice-test" "$keys" "the offsets topic holds records keyed sluice-test"

# the tail after the last restart: graceful stop, then nothing new on restart
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed: $(tail -5 "$TEST_TMP/sluice5.err")"
before=$(kafka_consume test.public.t | wc -l)
run_sluice 6
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice6.err'" 30 || fail "sluice did not restart"
# (checked here, not on the first kill -9 restart: that one may be killed before it logs)
grep -q "resuming from the stored offset" "$TEST_TMP/sluice6.err" || fail "the restart did not read the offsets topic: $(cat "$TEST_TMP/sluice6.err")"
t_ok "restarts resume from the record read back from the offsets topic"
sleep 1
assert_eq "$before" "$(kafka_consume test.public.t | wc -l)" "restart after a graceful stop re-sends nothing"
psql_c "INSERT INTO t VALUES (100000, 1)"
wait_for "[ \$(kafka_consume test.public.t | grep -c 100000) -ge 1 ]" 30 || fail "a new change after the restart is not delivered"
t_ok "a new change after the restart is delivered"
kill -TERM "$SL"
stop_pid "$SL" - 30 || true
t_done
