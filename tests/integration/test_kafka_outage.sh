#!/usr/bin/env bash
# Kafka sink, all brokers down: sluice stops with a clear error after
# sluice.sink.kafka.flush.timeout.ms, the stored position stays before the unacknowledged
# change, and once the brokers are back a restart delivers it.
source "$(dirname "$0")/lib.sh"
source "$SLUICE_SRC/tests/kafka/lib.sh"
require_sluice
kafka_require

pg_start
psql_c "CREATE TABLE t (id int PRIMARY KEY)"
# The mock cluster reads fault-injection commands from a FIFO (-i). Started directly,
# not with start_bg: a background job without its own redirection gets /dev/null.
mkfifo "$TEST_TMP/ctl"
exec 7<>"$TEST_TMP/ctl"
"$SLUICE_KAFKA_MOCK" -i -p 3 test.public.t <&7 >"$TEST_TMP/kafka.out" 2>"$TEST_TMP/kafka.err" &
register_pid $!
wait_for "[ -s '$TEST_TMP/kafka.out' ]" 10 || fail "mock cluster did not start"
KAFKA_BOOTSTRAP=$(head -n 1 "$TEST_TMP/kafka.out")
brokers() { local b; for b in 1 2 3; do echo "$1 $b" >&7; done; }

sluice_conf "$TEST_TMP/app.properties" "debezium.sink.type=kafka" \
    "debezium.sink.kafka.producer.bootstrap.servers=$KAFKA_BOOTSTRAP" \
    "debezium.sink.kafka.producer.message.timeout.ms=3000" \
    "sluice.sink.kafka.flush.timeout.ms=3000"
start_bg sluice "$SLUICE_BIN" run -c "$TEST_TMP/app.properties"
SL=$BG_PID
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice.err'" 30 || fail "sluice did not start"
psql_c "INSERT INTO t VALUES (1)"
wait_for "kafka_consume test.public.t | grep -q id" 15 || fail "first change not delivered"
wait_for "[ \"\$(grep lsn_ack '$TEST_TMP/offsets.dat')\" != \"\" ]" 10
sleep 0.5 # the position of change 1 reaches the offsets file
pos=$(grep lsn_ack "$TEST_TMP/offsets.dat")

brokers down
wait_for "[ \$(grep -c ok '$TEST_TMP/kafka.out') -ge 3 ]" 5 || fail "mock did not take the brokers down"
psql_c "INSERT INTO t VALUES (2)"
rc=0
stop_pid "$SL" - 30 || rc=$?
assert_eq 1 "$rc" "brokers down: sluice stops with exit code 1"
assert_contains "$(cat "$TEST_TMP/sluice.err")" "delivery failed" "the error says what happened"
assert_eq "$pos" "$(grep lsn_ack "$TEST_TMP/offsets.dat")" "the stored position did not advance past the unacknowledged change"

brokers up
start_bg sluice2 "$SLUICE_BIN" run -c "$TEST_TMP/app.properties"
SL=$BG_PID
wait_for "[ \$(kafka_consume test.public.t | grep -c id) -ge 2 ]" 30 || fail "change 2 not delivered after the brokers came back"
ids=$(kafka_consume test.public.t | python3 -c 'import sys, json; print(sorted({json.loads(json.loads(l)["payload"])["after"]["id"] for l in sys.stdin if l.strip()}))')
assert_eq "[1, 2]" "$ids" "after the outage a restart delivers the change"
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed"
t_done
