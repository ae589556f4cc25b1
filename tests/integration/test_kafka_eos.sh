#!/usr/bin/env bash
# Kafka sink, exactly-once mode (sluice.sink.kafka.exactly.once=true): kill -9 sluice at
# random moments while a workload runs, restart it, and check that a read_committed
# consumer sees every committed insert exactly once: no duplicate, no loss. The source
# position lives in the offsets topic (the offsets file is not used).
#
# librdkafka's mock cluster runs the transaction protocol (InitProducerId, AddPartitions,
# EndTxn) but writes no commit/abort markers and serves aborted data to read_committed
# consumers as well. So the consumer here is kcat with isolation.level=read_committed (what
# a real cluster needs) plus the markers the mock leaves out, rebuilt from the log: with
# sluice.sink.kafka.headers=true each message carries __sluice.txn, the Kafka transaction
# that wrote it, and a transaction counts as committed when its offset record (which
# sluice produces only after every data message of the transaction is acknowledged, and
# which a restart resumes from) is in the offsets topic. Data of transactions cut by a
# kill -9 is therefore in the mock's log but not in the read_committed view; the raw log's
# duplicates are printed to show the kills did cut transactions.
source "$(dirname "$0")/lib.sh"
source "$SLUICE_SRC/tests/kafka/lib.sh"
require_sluice

pg_start
psql_c "CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)"
kafka_start -p 3 test.public.t sluice-offsets-test
conf=$TEST_TMP/app.properties
sluice_conf "$conf" \
    "debezium.source.heartbeat.interval.ms=500" \
    "debezium.sink.type=kafka" \
    "debezium.sink.kafka.producer.bootstrap.servers=$KAFKA_BOOTSTRAP" \
    "sluice.sink.kafka.exactly.once=true" \
    "sluice.sink.kafka.headers=true" \
    "sluice.sink.flush.min.interval.ms=300"
# (Kafka transactions of ~300 ms: most kills below land inside an open one)

# --- configuration: the passthrough transactional.id is refused (sluice drives transactions)
bad=$TEST_TMP/bad.properties
cp "$conf" "$bad"
echo "debezium.sink.kafka.producer.transactional.id=x" >>"$bad"
rc=0; out=$("$SLUICE_BIN" run -c "$bad" 2>&1) || rc=$?
assert_eq 2 "$rc" "producer.transactional.id: exit code 2"
assert_contains "$out" "sluice.sink.kafka.exactly.once=true" "the error names the key to use"

run_sluice() {
    start_bg "sluice$1" "$SLUICE_BIN" run -c "$conf"
    SL=$BG_PID
}

consume_rc() { # read_committed, as a real consumer would
    local t
    for t in "$@"; do
        kcat -C -b "$KAFKA_BOOTSTRAP" -t "$t" -o beginning -e -J -q \
            -X isolation.level=read_committed 2>>"$TEST_TMP/kcat.err"
    done
}

# check FROM N: "<missing> <duplicates> <raw duplicates> <transactions>" among the
# inserted ids, in the read_committed view (see the top) and in the raw log
check() {
    consume_rc test.public.t >"$TEST_TMP/msgs.jsonl"
    consume_rc sluice-offsets-test >"$TEST_TMP/offsets.jsonl"
    python3 - "$TEST_TMP/msgs.jsonl" "$TEST_TMP/offsets.jsonl" "$1" "$2" <<'PY'
import json, sys
msgs, offs, lo, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def hdr(m):
    h = m.get("headers") or []
    return dict(zip(h[0::2], h[1::2]))
committed = set()
for line in open(offs):
    if line.strip():
        m = json.loads(line)
        if m["key"] == "sluice-test":
            committed.add(hdr(m).get("__sluice.txn"))
seen, raw = {}, {}
for line in open(msgs):
    if not line.strip():
        continue
    m = json.loads(line)
    if m["payload"] is None:
        continue
    v = json.loads(m["payload"])
    if v.get("op") in ("c", "r") and lo <= v["after"]["id"] < lo + n:
        i = v["after"]["id"]
        raw[i] = raw.get(i, 0) + 1
        if hdr(m).get("__sluice.txn") in committed:
            seen[i] = seen.get(i, 0) + 1
missing = [i for i in range(lo, lo + n) if i not in seen]
print(len(missing), sum(c - 1 for c in seen.values()), sum(c - 1 for c in raw.values()),
      len(committed))
PY
}

run_sluice 0
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice0.err'" 30 || fail "sluice did not start: $(cat "$TEST_TMP/sluice0.err")"
assert_contains "$(cat "$TEST_TMP/sluice0.err")" "no stored offset" "first start: nothing in the offsets topic"
workload_sql 1 600 | "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f - >/dev/null &
WL=$!
register_pid "$WL" -
kills=0
for k in 1 2 3 4 5; do
    wait_for "grep -q 'streaming from' '$TEST_TMP/sluice$((k - 1)).err'" 30 || fail "sluice did not start"
    sleep "0.$((RANDOM % 9 + 1))"
    kill -9 "$SL" 2>/dev/null || true
    stop_pid "$SL" - 10 || true
    kills=$((kills + 1))
    run_sluice "$k"
done
pid_alive "$WL" || echo "# note: the workload ended before the last kill" >&2
wait "$WL" || fail "workload failed"
unregister_pid "$WL"
wait_for "[ \"\$(check 1 12000 | cut -d' ' -f1)\" = 0 ]" 60 || true
read -r missing dups raw ntxn < <(check 1 12000)
assert_eq 0 "$missing" "kill -9 x$kills: no committed insert lost (read_committed)"
assert_eq 0 "$dups" "kill -9 x$kills: no duplicate (read_committed)"
assert_contains "$(cat "$TEST_TMP/sluice$kills.err")" "resuming from the stored offset" "restart reads the offset back from the offsets topic"
[ ! -e "$TEST_TMP/offsets.dat" ] || fail "exactly-once mode wrote the offsets file"
t_ok "the offsets file is not used in exactly-once mode"
echo "# kafka exactly-once: $kills kills, 12000 inserts checked, $ntxn committed transactions, $raw duplicates of aborted transactions in the raw log" >&2

# graceful stop commits the tail; a restart then sends nothing new
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed: $(tail -5 "$TEST_TMP/sluice$kills.err")"
before=$(consume_rc test.public.t | wc -l)
run_sluice 9
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice9.err'" 30 || fail "sluice did not restart"
sleep 1
assert_eq "$before" "$(consume_rc test.public.t | wc -l)" "restart after a graceful stop re-sends nothing"
psql_c "INSERT INTO t VALUES (100000, 1)"
wait_for "[ \"\$(check 100000 1 | cut -d' ' -f1)\" = 0 ]" 30 || fail "change after restart not committed"
t_ok "changes after the restart are committed"
kill -TERM "$SL"
stop_pid "$SL" - 30 || true
t_done
