#!/usr/bin/env bash
# Kafka sink, messages too large for the producer (message.max.bytes) or the broker:
#   errors.tolerance=none (default): sluice stops with exit 1 and a clear error, the
#     position does not pass the big event;
#   errors.tolerance=all + errors.deadletterqueue.topic.name: the big event goes to the
#     dead-letter topic (same key, headers __connect.errors.topic and
#     __connect.errors.exception.message, value dropped as it does not fit either), the
#     others go on to their topic, and the big event counts as delivered: after a
#     restart nothing is sent again.
source "$(dirname "$0")/lib.sh"
source "$SLUICE_SRC/tests/kafka/lib.sh"
require_sluice

pg_start
psql_c "CREATE TABLE t (id int PRIMARY KEY, body text NOT NULL)"
kafka_start -p 1 test.public.t dlq.test

conf=$TEST_TMP/app.properties
base=("debezium.sink.type=kafka"
      "debezium.sink.kafka.producer.bootstrap.servers=$KAFKA_BOOTSTRAP"
      "debezium.sink.kafka.producer.message.max.bytes=2000"
      "debezium.sink.kafka.producer.linger.ms=5")
sluice_conf "$conf" "${base[@]}"
chmod 600 "$conf"

start_bg sluice0 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice0.err'" 30 || fail "sluice did not start: $(cat "$TEST_TMP/sluice0.err")"
psql_c "INSERT INTO t VALUES (1, 'small')"
psql_c "INSERT INTO t VALUES (2, repeat('x', 5000))"
psql_c "INSERT INTO t VALUES (3, 'small too')"

# --- errors.tolerance=none: stop with a clear error
wait_for "! kill -0 $SL 2>/dev/null" 30 || fail "sluice did not stop on a too-large message"
rc=0; stop_pid "$SL" - 5 || rc=$?
assert_eq 1 "$rc" "too large message, errors.tolerance=none: exit code 1"
err=$(cat "$TEST_TMP/sluice0.err")
assert_contains "$err" "MSG_SIZE_TOO_LARGE" "the error names MSG_SIZE_TOO_LARGE"
assert_contains "$err" "errors.tolerance=all" "the error says how to send it to a dead-letter topic"
ids=$(kafka_consume test.public.t | python3 -c '
import json, sys
print(" ".join(str(json.loads(json.loads(l)["key"])["id"]) for l in sys.stdin if l.strip()))')
assert_eq "1" "$ids" "only the event before the big one reached the topic"

# --- errors.tolerance=all with a dead-letter topic: resumes from the durable position
sluice_conf "$conf" "${base[@]}" \
    "debezium.sink.kafka.errors.tolerance=all" \
    "debezium.sink.kafka.errors.deadletterqueue.topic.name=dlq.test"
chmod 600 "$conf"
start_bg sluice1 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "kafka_consume test.public.t | grep -q '\"id\\\\\":3'" 30 ||
    fail "event 3 did not arrive after the big one: $(tail -n 5 "$TEST_TMP/sluice1.err")"
wait_for "[ \$(kafka_consume dlq.test | wc -l) -ge 1 ]" 30 || fail "nothing in the dead-letter topic"
kafka_consume dlq.test >"$TEST_TMP/dlq.jsonl"
python3 - "$TEST_TMP/dlq.jsonl" <<'PY' || fail "dead-letter message: $(cat "$TEST_TMP/dlq.jsonl")"
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(msgs) == 1, f"{len(msgs)} dead-letter messages, expected 1"
m = msgs[0]
assert json.loads(m["key"]) == {"id": 2}, m["key"]
h = m.get("headers") or []
h = dict(zip(h[0::2], h[1::2]))
assert h.get("__connect.errors.topic") == "test.public.t", h
assert "MSG_SIZE_TOO_LARGE" in h.get("__connect.errors.exception.message", ""), h
assert h.get("__sluice.dlq.value.dropped") == "true" and m["payload"] is None, m
assert int(h.get("__sluice.dlq.value.size", "0")) > 5000, h
PY
t_ok "the big event is in the dead-letter topic: key, original topic, error, size"
ids=$(kafka_consume test.public.t | python3 -c '
import json, sys
print(" ".join(sorted({str(json.loads(json.loads(l)["key"])["id"]) for l in sys.stdin if l.strip()})))')
assert_eq "1 3" "$ids" "the other events reached their topic, the big one did not"
assert_contains "$(cat "$TEST_TMP/sluice1.err")" "sent to dead-letter topic \"dlq.test\"" "a warning names the dead-letter topic"
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed: $(tail -n 5 "$TEST_TMP/sluice1.err")"

# --- the big event counted as delivered: a restart sends nothing again
n_t=$(kafka_consume test.public.t | wc -l)
start_bg sluice2 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice2.err'" 30 || fail "sluice did not restart"
psql_c "INSERT INTO t VALUES (4, 'after')"
wait_for "kafka_consume test.public.t | grep -q '\"id\\\\\":4'" 30 || fail "event 4 did not arrive"
assert_eq "$((n_t + 1))" "$(kafka_consume test.public.t | wc -l)" "restart: only the new event was sent"
assert_eq 1 "$(kafka_consume dlq.test | wc -l)" "restart: the big event was not sent again"
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed"
t_done
