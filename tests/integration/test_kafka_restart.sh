#!/usr/bin/env bash
# Kafka sink durability (normal, at-least-once mode): kill -9 sluice at random moments
# while a workload runs, restart it, and check with kcat that every committed insert
# reached Kafka. Duplicates are allowed (the in-flight tail at each kill) and counted.
source "$(dirname "$0")/lib.sh"
source "$SLUICE_SRC/tests/kafka/lib.sh"
require_sluice

pg_start
psql_c "CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)"
kafka_start -p 3 test.public.t
conf=$TEST_TMP/app.properties
sluice_conf "$conf" \
    "debezium.source.heartbeat.interval.ms=500" \
    "debezium.sink.type=kafka" \
    "debezium.sink.kafka.producer.bootstrap.servers=$KAFKA_BOOTSTRAP"

run_sluice() {
    start_bg "sluice$1" "$SLUICE_BIN" run -c "$conf"
    SL=$BG_PID
}

# check_no_loss FROM COUNT: "<missing> <duplicates>" among the inserted ids
check_no_loss() { kafka_loss_dups test.public.t "$1" "$(($2 * 20))"; }

run_sluice 0
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice0.err'" 30 || fail "sluice did not start: $(cat "$TEST_TMP/sluice0.err")"
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
assert_eq 0 "$missing" "kill -9 x$kills: no committed insert lost (duplicates in the in-flight tail: $dups)"
echo "# kafka kill -9: $kills kills, 12000 inserts checked, $dups duplicates" >&2

# the tail after the last restart: graceful stop, then nothing new on restart
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed: $(tail -5 "$TEST_TMP/sluice5.err")"
before=$(kafka_consume test.public.t | wc -l)
run_sluice 6
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice6.err'" 30 || fail "sluice did not restart"
sleep 1
assert_eq "$before" "$(kafka_consume test.public.t | wc -l)" "restart after a graceful stop re-sends nothing"
kill -TERM "$SL"
stop_pid "$SL" - 30 || true
t_done
