#!/usr/bin/env bash
# Kafka sink headers (sluice.sink.kafka.headers): the chosen headers, named as Debezium's
# ExtractNewRecordState names them, carry the values of the event's own envelope and
# source block; __sluice.position orders the messages of a partition as the source did
# and is on tombstones too; an unknown header name is a configuration error (exit 2).
# Values with schemas.enable=true (the {"schema","payload"} wrapping), read by kcat.
source "$(dirname "$0")/lib.sh"
source "$SLUICE_SRC/tests/kafka/lib.sh"
require_sluice

pg_start
psql_c "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)"
psql_c "INSERT INTO items SELECT g, 'snap' || g FROM generate_series(1, 4) g"
kafka_start -p 2 test.public.items
conf=$TEST_TMP/app.properties
sluice_conf "$conf" \
    "debezium.sink.type=kafka" \
    "debezium.sink.kafka.producer.bootstrap.servers=$KAFKA_BOOTSTRAP" \
    "debezium.format.value.schemas.enable=true" \
    "sluice.sink.kafka.headers=op,table,db,schema,lsn,source.ts_ms,sluice.position"

# --- configuration errors: exit 2, key and file:line named
bad=$TEST_TMP/bad.properties
sed 's/^sluice.sink.kafka.headers=.*/sluice.sink.kafka.headers=op,tabel/' "$conf" >"$bad"
line=$(grep -n '^sluice.sink.kafka.headers=' "$bad" | cut -d: -f1)
rc=0; out=$("$SLUICE_BIN" run -c "$bad" 2>&1) || rc=$?
assert_eq 2 "$rc" "unknown header: exit code 2"
assert_contains "$out" "$bad:$line: sluice.sink.kafka.headers: unknown header 'tabel'" "unknown header: key, file:line and the item named"
rc=0; out=$("$SLUICE_BIN" check -c "$bad" 2>&1) || rc=$?
assert_eq 2 "$rc" "sluice check: exit code 2 too (checked at load)"
assert_contains "$out" "sluice: $bad:$line: sluice.sink.kafka.headers: unknown header 'tabel'" "sluice check reports it too"

start_bg sluice "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice.err'" 30 || fail "sluice did not start: $(cat "$TEST_TMP/sluice.err")"
psql_c "INSERT INTO items SELECT g, 'new' || g FROM generate_series(5, 30) g"
psql_c "UPDATE items SET name = 'x\"y' WHERE id <= 3"
psql_c "DELETE FROM items WHERE id IN (10, 11)"
# 4 r + 26 c + 3 u + 2 d + 2 tombstones = 37
msgs=$TEST_TMP/msgs.jsonl
wait_for "kafka_consume test.public.items >'$msgs' && [ \$(wc -l <'$msgs') -ge 37 ]" 30 \
    || fail "not all messages arrived: $(wc -l <"$msgs") of 37"
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed: $(tail -5 "$TEST_TMP/sluice.err")"

check() {
    python3 - "$msgs" "$1" <<'PY'
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
what = sys.argv[2]
def hdrs(m):
    h = m.get("headers") or []
    return dict(zip(h[0::2], h[1::2]))
if what == "values":  # every header equals the field of the message's own value
    bad, n = [], 0
    for m in msgs:
        h = hdrs(m)
        if m["payload"] is None:
            continue
        p = json.loads(m["payload"])["payload"]
        s = p["source"]
        want = {"__op": p["op"], "__table": s["table"], "__db": s["db"], "__schema": s["schema"],
                "__lsn": str(s["lsn"]), "__source_ts_ms": str(s["ts_ms"])}
        got = {k: h.get(k) for k in want}
        n += 1
        if got != want:
            bad.append((m["offset"], got, want))
    print(len(bad), n, bad[:2])
elif what == "tombstones":  # only the position header
    print(sorted({tuple(sorted(hdrs(m))) for m in msgs if m["payload"] is None}))
elif what == "order":  # per partition, positions increase with the offset; snapshot first
    bad, parts = 0, {}
    for m in sorted(msgs, key=lambda m: (m["partition"], m["offset"])):
        pos = hdrs(m)["__sluice.position"]
        assert len(pos) == 33 and pos[16] == "-", pos
        last = parts.get(m["partition"])
        bad += last is not None and not last < pos
        parts[m["partition"]] = pos
    snap = [hdrs(m)["__sluice.position"] for m in msgs
            if m["payload"] and json.loads(m["payload"])["payload"]["op"] == "r"]
    print(bad, len(parts), all(p.startswith("0" * 16) for p in snap), len(snap))
PY
}
read -r nbad nall rest < <(check values)
assert_eq "0 37" "$nbad $((nall + 2))" "op, table, db, schema, lsn, source.ts_ms headers match each value ($rest)"
assert_eq "[('__sluice.position',)]" "$(check tombstones)" "tombstones carry only __sluice.position"
assert_eq "0 2 True 4" "$(check order)" "__sluice.position increases with the offset in each partition; snapshot rows at commit position 0"

# the old boolean form still means __op
sed -i 's/^sluice.sink.kafka.headers=.*/sluice.sink.kafka.headers=true/' "$conf"
psql_c "INSERT INTO items VALUES (100, 'bool')"
start_bg sluice2 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "[ \$(kafka_consume test.public.items | grep -c bool) -ge 1 ]" 30 || fail "no event after restart"
last=$(kafka_consume test.public.items | grep 'bool' | tail -1)
assert_eq '["__op", "c"]' "$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["headers"]))' "$last")" "headers=true: __op only (normal mode)"
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed"
t_done
