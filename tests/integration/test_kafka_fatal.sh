#!/usr/bin/env bash
# Kafka sink, fatal producer errors (librdkafka's "fatal": the idempotent or transactional
# producer cannot go on). sluice recreates the producer and produces again everything not
# yet durable, without stopping: normal mode, normal mode with offsets in Kafka, and
# exactly-once mode (the open transaction is sent again on the new producer, which fences
# the old one). Faults are injected with the test-only SLUICE_TEST_KAFKA_FATAL_AT hook
# (rd_kafka_test_fatal_error after the n-th message) while a workload runs. Checks: sluice
# keeps running, logs each recreation, loses no committed insert, stops cleanly.
source "$(dirname "$0")/lib.sh"
source "$SLUICE_SRC/tests/kafka/lib.sh"
require_sluice

pg_start
kafka_start -p 3 m1.public.t1 m2.public.t2 m3.public.t3 m2-offsets m3-offsets

# run_mode N EXTRA_KEY...: table tN, topic prefix mN, slot sluice_mN
run_mode() {
    local n=$1 conf=$TEST_TMP/app$1.properties
    shift
    psql_c "CREATE TABLE t$n (id int PRIMARY KEY, v int NOT NULL)"
    sluice_conf "$conf" \
        "debezium.sink.type=kafka" \
        "debezium.sink.kafka.producer.bootstrap.servers=$KAFKA_BOOTSTRAP" \
        "debezium.source.table.include.list=public.t$n" \
        "$@"
    sed -i -e "s/^debezium.source.topic.prefix=.*/debezium.source.topic.prefix=m$n/" \
        -e "s/^debezium.source.slot.name=.*/debezium.source.slot.name=sluice_m$n/" \
        -e "s/^debezium.source.publication.name=.*/debezium.source.publication.name=sluice_m$n/" \
        -e "s#^debezium.source.offset.storage.file.filename=.*#debezium.source.offset.storage.file.filename=$TEST_TMP/offsets$n.dat#" \
        "$conf"
    SLUICE_TEST_KAFKA_FATAL_AT=1500,6000,6001 start_bg "sluice$n" "$SLUICE_BIN" run -c "$conf"
    SL=$BG_PID
    wait_for "grep -q 'streaming from' '$TEST_TMP/sluice$n.err'" 30 || fail "sluice did not start: $(cat "$TEST_TMP/sluice$n.err")"
    workload_sql 1 600 "t$n" | "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f - >/dev/null
    wait_for "[ \"\$(check_no_loss $n | cut -d' ' -f1)\" = 0 ] || ! pid_alive $SL" 60 || true
    pid_alive "$SL" || fail "mode $n: sluice stopped: $(tail -5 "$TEST_TMP/sluice$n.err")"
    t_ok "mode $n: sluice keeps running through the fatal errors"
    read -r missing dups < <(check_no_loss "$n")
    assert_eq 0 "$missing" "mode $n: no committed insert lost (duplicates: $dups)"
    assert_eq 3 "$(grep -c "kafka: fatal producer error" "$TEST_TMP/sluice$n.err")" \
        "mode $n: three fatal errors, each followed by a new producer"
    kill -TERM "$SL"
    local rc=0
    stop_pid "$SL" - 30 || rc=$?
    assert_eq 0 "$rc" "mode $n: clean stop after the recreations"
}

# check_no_loss N: "<missing> <duplicates>" among the 12000 inserted ids of tN
check_no_loss() { kafka_loss_dups "m$1.public.t$1" 1 12000; }

run_mode 1
run_mode 2 "sluice.sink.kafka.offset.storage=kafka" "debezium.source.offset.storage.topic=m2-offsets"
run_mode 3 "sluice.sink.kafka.exactly.once=true" "sluice.sink.kafka.offsets.topic=m3-offsets"
assert_eq "no no" "$([ -e "$TEST_TMP/offsets2.dat" ] && echo yes || echo no) $([ -e "$TEST_TMP/offsets3.dat" ] && echo yes || echo no)" "offsets in Kafka: no offsets file"
t_done
