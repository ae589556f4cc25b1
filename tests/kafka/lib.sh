# shellcheck shell=bash
# tests/kafka/lib.sh — Kafka helpers for tests/integration/test_kafka_*.sh; source it
# after tests/integration/lib.sh.
#
#   kafka_start [-p partitions] [topic ...]   mock cluster (3 brokers) from
#                                  $SLUICE_KAFKA_MOCK; exports KAFKA_BOOTSTRAP, KAFKA_PID
#   kafka_consume TOPIC...         every message so far, as kcat -J lines (one JSON
#                                  object per message: topic, partition, offset, key,
#                                  payload (null for a tombstone), headers)
#   kafka_loss_dups TOPIC FROM N   "<missing> <duplicates>" among the ids FROM..FROM+N-1
#                                  created (op c or r) in TOPIC's messages so far
#
# The mock cluster keeps everything in memory and dies with the test (registered pid).

: "${SLUICE_KAFKA_MOCK:=$SLUICE_BUILD/kafka_mock_cluster}"

kafka_require()
{
    [[ -x "$SLUICE_KAFKA_MOCK" ]] || fail "mock cluster not built at $SLUICE_KAFKA_MOCK"
    command -v kcat >/dev/null || fail "kcat is not installed (scripts/install-deps.sh)"
}

kafka_start()
{
    kafka_require
    start_bg kafka "$SLUICE_KAFKA_MOCK" "$@"
    KAFKA_PID=$BG_PID
    wait_for "[ -s '$TEST_TMP/kafka.out' ]" 10 || fail "mock cluster did not start: $(cat "$TEST_TMP/kafka.err")"
    KAFKA_BOOTSTRAP=$(head -n 1 "$TEST_TMP/kafka.out")
    export KAFKA_BOOTSTRAP KAFKA_PID
}

kafka_consume()
{
    local t
    # -e: stop at the end of every partition; -J: JSON envelope per message.
    # kcat -C reads one topic at a time.
    for t in "$@"; do
        kcat -C -b "$KAFKA_BOOTSTRAP" -t "$t" -o beginning -e -J -q 2>>"$TEST_TMP/kcat.err"
    done
}

kafka_loss_dups()
{
    kafka_consume "$1" >"$TEST_TMP/msgs.$1.jsonl"
    python3 - "$TEST_TMP/msgs.$1.jsonl" "$2" "$3" <<'PY'
import json, sys
path, lo, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = {}
for line in open(path):
    if not line.strip():
        continue
    m = json.loads(line)
    if m["payload"] is None:
        continue
    v = json.loads(m["payload"])
    if v.get("op") in ("c", "r") and lo <= v["after"]["id"] < lo + n:
        seen[v["after"]["id"]] = seen.get(v["after"]["id"], 0) + 1
missing = [i for i in range(lo, lo + n) if i not in seen]
print(len(missing), sum(c - 1 for c in seen.values()))
PY
}
