#!/usr/bin/env bash
# Kafka sink end to end: PostgreSQL -> sluice -> a 3-broker mock cluster, read back by a
# real client (kcat). Checks topics, keys, values, tombstones, headers, and that
# partitioning is Java's (murmur2 of the key bytes), so every change of one row is in
# one partition. Also: `sluice check`, refused and unknown producer properties.
source "$(dirname "$0")/lib.sh"
source "$SLUICE_SRC/tests/kafka/lib.sh"
require_sluice

pg_start
psql_c "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL)"
psql_c "CREATE TABLE orders (id int PRIMARY KEY, qty int NOT NULL)"
psql_c "INSERT INTO customers SELECT g, 'snap' || g FROM generate_series(1, 5) g"

# customers: created up front with 3 partitions; orders: auto-created by the mock on first use
kafka_start -p 3 test.public.customers
conf=$TEST_TMP/app.properties
sluice_conf "$conf" \
    "debezium.sink.type=kafka" \
    "debezium.sink.kafka.producer.bootstrap.servers=$KAFKA_BOOTSTRAP" \
    "debezium.sink.kafka.producer.key.serializer=org.apache.kafka.common.serialization.StringSerializer" \
    "debezium.sink.kafka.producer.value.serializer=org.apache.kafka.common.serialization.StringSerializer" \
    "debezium.sink.kafka.producer.linger.ms=5" \
    "sluice.sink.kafka.headers=true"

# --- sluice check
out=$("$SLUICE_BIN" check -c "$conf" 2>&1) || fail "check failed: $out"
assert_contains "$out" "ok: sink kafka: connected to $KAFKA_BOOTSTRAP (3 brokers)" "check connects to the cluster"

# --- configuration errors: exit 2, the key named
bad=$TEST_TMP/bad.properties
cp "$conf" "$bad"
echo "debezium.sink.kafka.producer.plugin.library.paths=/tmp/evil.so" >>"$bad"
rc=0; out=$("$SLUICE_BIN" run -c "$bad" 2>&1) || rc=$?
assert_eq 2 "$rc" "plugin.library.paths: exit code 2"
assert_contains "$out" "debezium.sink.kafka.producer.plugin.library.paths: refused" "plugin.library.paths is refused"
cp "$conf" "$bad"
echo "debezium.sink.kafka.producer.no.such.thing=1" >>"$bad"
rc=0; out=$("$SLUICE_BIN" run -c "$bad" 2>&1) || rc=$?
assert_eq 2 "$rc" "unknown librdkafka property: exit code 2"
assert_contains "$out" "debezium.sink.kafka.producer.no.such.thing" "unknown librdkafka property is named"

# --- stream
start_bg sluice "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice.err'" 30 || fail "sluice did not start: $(cat "$TEST_TMP/sluice.err")"
psql_c "INSERT INTO customers SELECT g, 'new' || g FROM generate_series(6, 40) g"
psql_c "UPDATE customers SET name = name || '!' WHERE id % 5 = 0"
psql_c "DELETE FROM customers WHERE id IN (3, 17, 33)"
psql_c "INSERT INTO orders VALUES (1, 10), (2, 20)"
psql_c "DELETE FROM orders WHERE id = 2"

# 40 creates/reads + 8 updates + 3 deletes + 3 tombstones = 54; orders: 2 + 1 + 1 = 4
msgs=$TEST_TMP/msgs.jsonl
wait_for "kafka_consume test.public.customers test.public.orders >'$msgs' && [ \$(wc -l <'$msgs') -ge 58 ]" 30 \
    || fail "not all messages arrived: $(wc -l <"$msgs") of 58; sluice: $(tail -5 "$TEST_TMP/sluice.err")"
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed: $(tail -5 "$TEST_TMP/sluice.err")"
t_ok "sluice stops cleanly on SIGTERM"

check() {
    python3 - "$msgs" "$1" <<'PY'
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
what = sys.argv[2]

def murmur2(data):  # Kafka's Java client, Utils.murmur2
    m, r, seed = 0x5bd1e995, 24, 0x9747b28c
    n = len(data)
    h = (seed ^ n) & 0xffffffff
    for i in range(0, n - n % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xffffffff
        k ^= k >> r
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
    rest = n % 4
    tail = data[n - rest:]
    if rest == 3: h ^= tail[2] << 16
    if rest >= 2: h ^= tail[1] << 8
    if rest >= 1:
        h ^= tail[0]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h

cust = [x for x in msgs if x["topic"] == "test.public.customers"]
if what == "counts":
    ops = {}
    for x in cust:
        op = json.loads(x["payload"])["op"] if x["payload"] is not None else "tombstone"
        ops[op] = ops.get(op, 0) + 1
    print(" ".join(f"{k}={ops[k]}" for k in sorted(ops)))
elif what == "keys":  # every key is the JSON of the primary key, and matches the value
    bad = 0
    for x in cust:
        k = json.loads(x["key"])
        if x["payload"] is not None:
            v = json.loads(x["payload"])
            row = v["after"] or v["before"]
            bad += k != {"id": row["id"]}
    print(bad)
elif what == "tombstones":  # each delete is followed by a null-valued message, same key, same partition
    ok = 0
    for i, x in enumerate(cust):
        if x["payload"] is not None and json.loads(x["payload"])["op"] == "d":
            after = [y for y in cust[i + 1:] if y["key"] == x["key"] and y["partition"] == x["partition"]]
            ok += bool(after) and after[0]["payload"] is None and after[0]["offset"] > x["offset"]
    print(ok)
elif what == "partitions":  # one partition per key, and it is Java's murmur2 choice
    part, bad = {}, 0
    for x in cust:
        part.setdefault(x["key"], set()).add(x["partition"])
        bad += x["partition"] != (murmur2(x["key"].encode()) & 0x7fffffff) % 3
    print(max(len(p) for p in part.values()), len({p for s in part.values() for p in s}), bad)
elif what == "headers":
    n = 0
    for x in cust:
        h = x.get("headers") or []
        hd = dict(zip(h[0::2], h[1::2]))
        if x["payload"] is None:
            n += "__op" not in hd
        else:
            n += hd.get("__op") == json.loads(x["payload"])["op"]
    print(n, len(cust))
elif what == "orders":
    o = [x for x in msgs if x["topic"] == "test.public.orders"]
    print(len(o), sum(x["payload"] is None for x in o))
PY
}

assert_eq "c=35 d=3 r=5 tombstone=3 u=8" "$(check counts)" "customers: snapshot, inserts, updates, deletes, tombstones"
assert_eq 0 "$(check keys)" "keys are the primary key JSON of each row"
assert_eq 3 "$(check tombstones)" "each delete is followed by a tombstone with its key, in its partition"
assert_eq "1 3 0" "$(check partitions)" "one partition per key, all 3 used, Java murmur2 partitioning"
read -r hn hall < <(check headers)
assert_eq "$hall" "$hn" "__op header on every change, none on tombstones"
assert_eq "4 1" "$(check orders)" "auto-created topic test.public.orders has its 4 messages"

# restart after a clean stop: nothing is sent twice
psql_c "INSERT INTO customers VALUES (100, 'after restart')"
start_bg sluice2 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "kafka_consume test.public.customers | grep -q 'after restart'" 30 || fail "no event after restart"
kafka_consume test.public.customers >"$msgs"
assert_eq "c=36 d=3 r=5 tombstone=3 u=8" "$(check counts)" "restart after a clean stop re-sends nothing"
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed"
t_done
