#!/usr/bin/env bash
# Kafka sink, brokers down for a while (shorter than message.timeout.ms): sluice keeps
# running and keeps its replication connection, the stored position (offsets file and the
# slot's confirmed_flush_lsn) does not advance while nothing is acknowledged, memory stays
# within the queue bounds (RSS sampled), and once the brokers are back the backlog drains
# with no committed insert lost, without a restart.
source "$(dirname "$0")/lib.sh"
source "$SLUICE_SRC/tests/kafka/lib.sh"
require_sluice
kafka_require

pg_start
psql_c "CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)"
# fault injection through a FIFO (-i), as in test_kafka_outage.sh
mkfifo "$TEST_TMP/ctl"
exec 7<>"$TEST_TMP/ctl"
"$SLUICE_KAFKA_MOCK" -i -p 3 test.public.t <&7 >"$TEST_TMP/kafka.out" 2>"$TEST_TMP/kafka.err" &
register_pid $!
wait_for "[ -s '$TEST_TMP/kafka.out' ]" 10 || fail "mock cluster did not start"
KAFKA_BOOTSTRAP=$(head -n 1 "$TEST_TMP/kafka.out")
brokers() { local b; for b in 1 2 3; do echo "$1 $b" >&7; done; }

sluice_conf "$TEST_TMP/app.properties" "debezium.sink.type=kafka" \
    "debezium.sink.kafka.producer.bootstrap.servers=$KAFKA_BOOTSTRAP" \
    "debezium.source.max.queue.size=2000" \
    "debezium.source.max.batch.size=500" \
    "debezium.source.max.queue.size.in.bytes=2097152"
start_bg sluice "$SLUICE_BIN" run -c "$TEST_TMP/app.properties"
SL=$BG_PID
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice.err'" 30 || fail "sluice did not start"
psql_c "INSERT INTO t VALUES (0, 0)"
wait_for "[ \$(kafka_consume test.public.t | wc -l) -ge 1 ]" 15 || fail "first change not delivered"
wait_for "grep -q lsn_ack '$TEST_TMP/offsets.dat'" 10 || fail "no position stored"
sleep 0.5
pos=$(grep lsn_ack "$TEST_TMP/offsets.dat")
slot_lsn() { psql_c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'sluice_test'"; }
slot0=$(slot_lsn)

brokers down
wait_for "[ \$(grep -c ok '$TEST_TMP/kafka.out') -ge 3 ]" 5 || fail "mock did not take the brokers down"
# 400 transactions of 20 rows while every broker is down: far more than the queue holds
workload_sql 1 400 | "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f - >/dev/null
rss_max=0
for _ in $(seq 1 16); do # ~8 s down
    pid_alive "$SL" || fail "sluice stopped while the brokers were down: $(tail -5 "$TEST_TMP/sluice.err")"
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$SL/status")
    ((rss > rss_max)) && rss_max=$rss
    [ "$(grep lsn_ack "$TEST_TMP/offsets.dat")" = "$pos" ] || fail "the stored position advanced while nothing was acknowledged"
    sleep 0.5
done
t_ok "sluice keeps running with every broker down"
assert_eq "$pos" "$(grep lsn_ack "$TEST_TMP/offsets.dat")" "the stored position does not advance while the brokers are down"
assert_eq "$slot0" "$(slot_lsn)" "the slot's confirmed_flush_lsn does not advance either"
assert_eq 1 "$(psql_c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" "the replication connection stays open"
echo "# kafka backpressure: peak RSS ${rss_max} kB while down" >&2
rss_bound=150000 # kB; the queues hold at most 2 x 2 MiB of events here
[[ "${SLUICE_SANITIZED:-0}" != 1 && "${SLUICE_SANITIZED:-}" != ON ]] || rss_bound=400000
((rss_max < rss_bound)) || fail "RSS ${rss_max} kB while down: memory not bounded by the queue limits"
t_ok "RSS stays bounded while the brokers are down (${rss_max} kB)"

brokers up
check_no_loss() { kafka_loss_dups test.public.t 1 8000; }
wait_for "[ \"\$(check_no_loss | cut -d' ' -f1)\" = 0 ]" 90 || true
read -r missing dups < <(check_no_loss)
assert_eq 0 "$missing" "after the outage the backlog drains: all 8000 inserts delivered (duplicates: $dups)"
pid_alive "$SL" || fail "sluice stopped"
wait_for "[ \"\$(grep lsn_ack '$TEST_TMP/offsets.dat')\" != \"$pos\" ]" 10 || fail "the position did not advance after the outage"
t_ok "the position advances again once the brokers acknowledge"
kill -TERM "$SL"
rc=0
stop_pid "$SL" - 30 || rc=$?
assert_eq 0 "$rc" "clean stop after the outage"
t_done
