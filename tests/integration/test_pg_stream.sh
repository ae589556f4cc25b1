#!/usr/bin/env bash
# End to end, PostgreSQL -> file: snapshot, then streaming of inserts, updates
# (incl. a primary-key change), deletes with tombstones, a logical message, and a
# graceful stop that stores the offset and confirms it to the server.
source "$(dirname "$0")/lib.sh"
require_sluice

pg_start
psql_c "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text);
        INSERT INTO customers VALUES (1, 'Sally', 's@example.com'), (2, 'George', NULL);
        CREATE TABLE nopk (a int, b text);
        INSERT INTO nopk VALUES (1, 'x');"
out=$TEST_TMP/out.jsonl
sluice_conf "$TEST_TMP/app.properties"

start_bg sluice "$SLUICE_BIN" run -c "$TEST_TMP/app.properties"
SL=$BG_PID
wait_events "$out" 'r["value"] and r["value"]["op"]=="r"' 3 30 || fail "snapshot events did not arrive: $(cat "$TEST_TMP/sluice.err")"

assert_eq 2 "$(jsonl_count "$out" 'r["topic"]=="test.public.customers" and r["value"]["op"]=="r"')" "2 snapshot rows of customers"
assert_eq 1 "$(jsonl_count "$out" 'r["topic"]=="test.public.nopk" and r["key"] is None')" "a table without primary key has a null key"
assert_eq 1 "$(jsonl_count "$out" 'r["value"]["op"]=="r" and r["value"]["source"]["snapshot"]=="first"')" "first snapshot record marked first"
assert_eq 1 "$(jsonl_count "$out" 'r["value"]["op"]=="r" and r["value"]["source"]["snapshot"]=="last"')" "last snapshot record marked last"
assert_eq 1 "$(jsonl_count "$out" 'r["key"]=={"id":1} and r["value"]["after"]=={"id":1,"name":"Sally","email":"s@example.com"}')" "snapshot row content"

psql_c "INSERT INTO customers VALUES (3, 'Edward', 'e@example.com');
        UPDATE customers SET email = 'sally@example.com' WHERE id = 1;
        UPDATE customers SET id = 20 WHERE id = 2;
        DELETE FROM customers WHERE id = 3;
        SELECT pg_logical_emit_message(true, 'audit', 'hello');"
wait_events "$out" 'r["value"] is None' 2 30 || fail "tombstones did not arrive: $(tail -5 "$TEST_TMP/sluice.err")"

assert_eq 1 "$(jsonl_count "$out" 'r["value"] and r["value"]["op"]=="c" and r["key"]=={"id":3}')" "insert"
assert_eq 1 "$(jsonl_count "$out" 'r["value"] and r["value"]["op"]=="u" and r["value"]["after"]["email"]=="sally@example.com" and r["value"]["before"] is None')" "update (REPLICA IDENTITY DEFAULT: no before)"
assert_eq 1 "$(jsonl_count "$out" 'r["value"] and r["value"]["op"]=="d" and r["key"]=={"id":2}')" "primary key change: delete of the old key"
assert_eq 1 "$(jsonl_count "$out" 'r["value"] and r["value"]["op"]=="c" and r["key"]=={"id":20}')" "primary key change: create of the new key"
assert_eq 1 "$(jsonl_count "$out" 'r["value"] and r["value"]["op"]=="d" and r["key"]=={"id":3} and r["value"]["before"]["id"]==3 and r["value"]["after"] is None')" "delete"
assert_eq 1 "$(jsonl_count "$out" 'r["key"]=={"id":3} and r["value"] is None')" "tombstone after delete"
assert_eq 1 "$(jsonl_count "$out" 'r["topic"]=="test.message" and r["value"]["op"]=="m" and r["value"]["message"]["prefix"]=="audit" and r["value"]["message"]["content"]=="aGVsbG8="')" "logical decoding message"
assert_eq 1 "$(jsonl_count "$out" 'r["value"] and r["value"]["op"]=="c" and r["key"]=={"id":3} and r["value"]["source"]["connector"]=="postgresql" and r["value"]["source"]["db"]=="postgres" and r["value"]["source"]["schema"]=="public" and r["value"]["source"]["table"]=="customers" and r["value"]["source"]["snapshot"]=="false" and isinstance(r["value"]["source"]["lsn"], int) and isinstance(r["value"]["source"]["txId"], int)')" "source block"
# every change of the transaction above: its own LSN in source.lsn and as the last element of
# source.sequence (the rest of the block is rendered once per relation and transaction);
# 4 LSNs for 5 changes: the key change is a delete and a create at one LSN
assert_eq "5 4" "$(python3 - "$out" <<'PY'
import json, sys
ok, lsns = 0, set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    v = r["value"]
    if not v or v.get("op") not in ("c", "u", "d") or v["source"]["snapshot"] != "false":
        continue
    s = v["source"]
    seq = json.loads(s["sequence"])
    if len(seq) == 2 and seq[1] == str(s["lsn"]) and s["ts_us"] // 1000 == s["ts_ms"] \
            and s["ts_ns"] == s["ts_us"] * 1000 and isinstance(s["txId"], int):
        ok += 1
    lsns.add(s["lsn"])
print(ok, len(lsns))
PY
)" "source.lsn and source.sequence of each change"

kill -TERM "$SL"
rc=0
stop_pid "$SL" - 30 || rc=$?
assert_eq 0 "$rc" "graceful stop exits 0"
assert_contains "$(cat "$TEST_TMP/offsets.dat")" "snapshot=done" "offset stored"
stored=$(sed -n 's/^lsn_ack=//p' "$TEST_TMP/offsets.dat")
confirmed=$(psql_c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name='sluice_test'")
assert_eq "$stored" "$confirmed" "the slot's confirmed_flush_lsn is the stored offset"

# restart: nothing is re-sent, new changes arrive
notheartbeat='not r["topic"].startswith("__debezium-heartbeat")'
before=$(jsonl_count "$out" "$notheartbeat")
start_bg sluice2 "$SLUICE_BIN" run -c "$TEST_TMP/app.properties"
SL=$BG_PID
psql_c "INSERT INTO customers VALUES (4, 'Anne', NULL)"
wait_events "$out" 'r["value"] and r["key"]=={"id":4}' 1 30 || fail "insert after restart did not arrive: $(cat "$TEST_TMP/sluice2.err")"
kill -TERM "$SL"
stop_pid "$SL" - 30 || true
assert_eq $((before + 1)) "$(jsonl_count "$out" "$notheartbeat")" "restart re-sent nothing and lost nothing"

t_done
