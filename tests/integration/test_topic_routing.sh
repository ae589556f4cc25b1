#!/usr/bin/env bash
# Topic routing (debezium.transforms with Kafka Connect's RegexRouter): every sink sees
# the routed topic. PostgreSQL -> file sink and PostgreSQL -> Kafka (read back with kcat):
# customers and orders of one prefix are merged into one topic (a group reference in the
# replacement), other topics pass unchanged, and an unsupported transform type exits 2.
source "$(dirname "$0")/lib.sh"
source "$SLUICE_SRC/tests/kafka/lib.sh"
require_sluice

pg_start
psql_c "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL)"
psql_c "CREATE TABLE orders (id int PRIMARY KEY, qty int NOT NULL)"
psql_c "CREATE TABLE notes (id int PRIMARY KEY)"
psql_c "INSERT INTO customers VALUES (1, 'snap')"
# in a properties file a backslash before an ordinary character is dropped (as in Java),
# so the regex test\.public\.(customers|orders) is written with doubled backslashes
route=("debezium.transforms=Merge"
    "debezium.transforms.Merge.type=org.apache.kafka.connect.transforms.RegexRouter"
    'debezium.transforms.Merge.regex=test\\.public\\.(customers|orders)'
    'debezium.transforms.Merge.replacement=shop.all_$1s')

# --- an unsupported transform type: exit 2, nothing started
conf=$TEST_TMP/bad.properties
sluice_conf "$conf" "debezium.transforms=R" \
    "debezium.transforms.R.type=io.debezium.transforms.ByLogicalTableRouter"
rc=0; out=$("$SLUICE_BIN" run -c "$conf" 2>&1) || rc=$?
assert_eq 2 "$rc" "unknown transform type: exit 2"
assert_eq "sluice: $conf:17: debezium.transforms.R.type: unknown transform type 'io.debezium.transforms.ByLogicalTableRouter' (sluice supports org.apache.kafka.connect.transforms.RegexRouter)" "$out" "unknown transform type: message"

# --- file sink
conf=$TEST_TMP/file.properties
sluice_conf "$conf" "${route[@]}"
start_bg sluice "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice.err'" 30 || fail "sluice did not start: $(cat "$TEST_TMP/sluice.err")"
psql_c "INSERT INTO orders VALUES (10, 3); INSERT INTO notes VALUES (7); UPDATE customers SET name = 'x' WHERE id = 1"
wait_events "$TEST_TMP/out.jsonl" 'True' 4 || fail "events did not arrive: $(cat "$TEST_TMP/out.jsonl")"
topics=$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["topic"] for l in open(sys.argv[1])))' "$TEST_TMP/out.jsonl")
assert_eq "shop.all_customerss shop.all_orderss test.public.notes shop.all_customerss" "$topics" "file sink: routed topics in order (snapshot, insert, unrouted table, update)"
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed"

# --- Kafka sink: the routed topics are the ones produced to
kafka_start -p 1
conf=$TEST_TMP/kafka.properties
sluice_conf "$conf" "${route[@]}" "debezium.sink.type=kafka" \
    "debezium.sink.kafka.producer.bootstrap.servers=$KAFKA_BOOTSTRAP" \
    "debezium.source.slot.name=sluice_kafka" "debezium.source.offset.storage.file.filename=$TEST_TMP/k.offsets"
start_bg sluicek "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "grep -q 'streaming from' '$TEST_TMP/sluicek.err'" 30 || fail "sluice did not start: $(cat "$TEST_TMP/sluicek.err")"
psql_c "INSERT INTO orders VALUES (11, 4)"
# kcat -J: one JSON line per message, the value as an escaped string
wait_for "[ \"\$(kafka_consume shop.all_orderss | grep -c 'id.\":11')\" -ge 1 ]" 30 ||
    fail "the routed Kafka topic did not get the insert: $(kafka_consume shop.all_orderss)"
assert_eq 2 "$(kafka_consume shop.all_orderss | grep -c .)" "kafka: both orders changes (snapshot, insert) on shop.all_orderss"
assert_eq 1 "$(kafka_consume test.public.notes | grep -c .)" "kafka: the unrouted table keeps its topic"
assert_eq 0 "$(kafka_consume test.public.orders | grep -c . || true)" "kafka: nothing on the original orders topic"
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed"
t_done
