#!/usr/bin/env bash
# MariaDB source end to end: snapshot, then streaming inserts/updates/deletes (incl. a
# primary key change), DDL during streaming (ADD/DROP/RENAME COLUMN, CREATE/DROP TABLE)
# with the right columns before and after and schema change events, filters, the
# Debezium source block, a graceful restart that resumes without loss or duplicates,
# and resuming by GTID and by file:position.
source "$(dirname "$0")/lib.sh"
require_sluice

my_start
my_sql "CREATE DATABASE inv; CREATE DATABASE other;
        CREATE TABLE inv.customers (id INT PRIMARY KEY, name VARCHAR(40), email VARCHAR(80));
        CREATE TABLE inv.nokey (a INT, b VARCHAR(10));
        CREATE TABLE other.skipped (id INT PRIMARY KEY);
        INSERT INTO inv.customers VALUES (1, 'Ann', 'ann@x'), (2, 'Bob', 'bob@x'), (3, 'Cy', NULL);
        INSERT INTO other.skipped VALUES (1);"
out=$TEST_TMP/out.jsonl
conf=$TEST_TMP/app.properties
my_sluice_conf "$conf" "debezium.source.database.include.list=inv"
start_bg sluice "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_events "$out" 'r["value"]["op"]=="r"' 3 30 || fail "no snapshot: $(tail -5 "$TEST_TMP/sluice.err")"
t_ok "snapshot of 3 rows"

my_sql "INSERT INTO inv.customers VALUES (4, 'Dee', 'dee@x');
        UPDATE inv.customers SET email = 'ann@y' WHERE id = 1;
        DELETE FROM inv.customers WHERE id = 2;
        UPDATE inv.customers SET id = 30 WHERE id = 3;
        INSERT INTO inv.nokey VALUES (1, 'x');
        INSERT INTO other.skipped VALUES (2);
        BEGIN; INSERT INTO inv.customers VALUES (5, 'E', NULL), (6, 'F', NULL); COMMIT;"
wait_events "$out" 'r["topic"]=="test.inv.customers" and r["value"] and r["value"]["op"]=="c" and r["value"]["after"]["id"]==6' 1 30 ||
    fail "streamed changes missing: $(tail -5 "$TEST_TMP/sluice.err")"

python3 - "$out" <<'PY' || fail "streamed events are wrong"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
data = [r for r in recs if r["topic"].startswith("test.inv.")]
ops = [(r["value"]["op"] if r["value"] else "tomb", r["key"]) for r in data]
want = [("r", {"id": 1}), ("r", {"id": 2}), ("r", {"id": 3}),
        ("c", {"id": 4}), ("u", {"id": 1}), ("d", {"id": 2}), ("tomb", {"id": 2}),
        ("d", {"id": 3}), ("tomb", {"id": 3}), ("c", {"id": 30}),
        ("c", None), ("c", {"id": 5}), ("c", {"id": 6})]
assert ops == want, f"ops/keys: {ops}"
assert not [r for r in recs if "other" in r["topic"]], "database.include.list not applied"
u = data[4]["value"]
assert u["before"] == {"id": 1, "name": "Ann", "email": "ann@x"}, u["before"]
assert u["after"] == {"id": 1, "name": "Ann", "email": "ann@y"}, u["after"]
s = u["source"]
for k in ("version", "connector", "name", "ts_ms", "snapshot", "db", "table", "server_id",
          "gtid", "file", "pos", "row", "thread", "query"):
    assert k in s, f"source lacks {k}: {s}"
assert s["connector"] == "mariadb" and s["name"] == "test" and s["db"] == "inv"
assert s["table"] == "customers" and s["snapshot"] == "false" and s["server_id"] == 1, s
assert s["file"].startswith("mysql-bin.") and s["pos"] > 4 and s["gtid"].startswith("0-1-"), s
snap = data[0]["value"]["source"]
assert snap["snapshot"] == "first" and data[2]["value"]["source"]["snapshot"] in ("last", "last_in_data_collection"), snap
two = [r for r in data if r["value"] and r["value"]["op"] == "c" and r["key"] and r["key"]["id"] in (5, 6)]
assert [r["value"]["source"]["row"] for r in two] == [0, 1], "row index inside the rows event"
assert two[0]["value"]["source"]["gtid"] == two[1]["value"]["source"]["gtid"]
PY
t_ok "inserts, updates, deletes + tombstones, key change, keyless table, filters, source block"

# DDL while streaming: every event carries the columns of its moment
my_sql "ALTER TABLE inv.customers ADD COLUMN vip BOOLEAN NOT NULL DEFAULT 0;
        INSERT INTO inv.customers VALUES (7, 'G', NULL, 1);
        ALTER TABLE inv.customers DROP COLUMN email;
        INSERT INTO inv.customers VALUES (8, 'H', 0);
        ALTER TABLE inv.customers RENAME COLUMN name TO full_name;
        UPDATE inv.customers SET full_name = 'Hh' WHERE id = 8;
        CREATE TABLE inv.later (k VARCHAR(5) PRIMARY KEY, v INT);
        INSERT INTO inv.later VALUES ('a', 1);
        DROP TABLE inv.later;"
wait_events "$out" 'r["topic"]=="test" and "DROP TABLE" in r["value"]["ddl"]' 1 30 ||
    fail "schema changes missing: $(tail -5 "$TEST_TMP/sluice.err")"
python3 - "$out" <<'PY' || fail "DDL handling is wrong"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
by = lambda i, op: [r for r in recs if r["topic"] == "test.inv.customers" and r["value"] and r["key"]["id"] == i and r["value"]["op"] == op][-1]["value"]
assert by(7, "c")["after"] == {"id": 7, "name": "G", "email": None, "vip": 1}, by(7, "c")["after"]
assert by(8, "c")["after"] == {"id": 8, "name": "H", "vip": 0}, by(8, "c")["after"]
# the update after the rename: both images in the table's new shape
assert by(8, "u")["before"] == {"id": 8, "full_name": "H", "vip": 0}, by(8, "u")["before"]
assert by(8, "u")["after"] == {"id": 8, "full_name": "Hh", "vip": 0}, by(8, "u")["after"]
later = [r for r in recs if r["topic"] == "test.inv.later"]
assert later and later[0]["value"]["after"] == {"k": "a", "v": 1}, later
ddl = [r for r in recs if r["topic"] == "test"]
kinds = [r["value"]["tableChanges"][0]["type"] if r["value"]["tableChanges"] else None for r in ddl]
assert kinds == ["ALTER", "ALTER", "ALTER", "CREATE", "DROP"], kinds
add = [r for r in ddl if "ADD COLUMN" in r["value"]["ddl"]][0]
assert add["key"] == {"databaseName": "inv"} and add["value"]["databaseName"] == "inv"
cols = [c["name"] for c in add["value"]["tableChanges"][0]["table"]["columns"]]
assert "vip" in cols, cols
PY
t_ok "DDL during streaming: columns before and after, schema change events"

# graceful restart: nothing lost, nothing repeated
stop_pid "$SL" TERM 20 || fail "sluice did not stop cleanly: $(tail -5 "$TEST_TMP/sluice.err")"
before=$(wc -l <"$out")
my_sql "INSERT INTO inv.customers VALUES (9, 'I', 0); DELETE FROM inv.customers WHERE id = 9;"
start_bg sluice2 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_events "$out" 'r["value"] and r["value"].get("op")=="d" and r["key"]["id"]==9' 1 30 ||
    fail "no events after restart: $(tail -5 "$TEST_TMP/sluice2.err")"
sleep 1
python3 - "$out" "$before" <<'PY' || fail "restart lost or repeated events"
import json, sys
lines = open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):]
recs = [json.loads(l) for l in lines]
got = [(r["value"]["op"] if r["value"] else "tomb", r["key"]["id"]) for r in recs if r["topic"] == "test.inv.customers"]
assert got == [("c", 9), ("d", 9), ("tomb", 9)], got
PY
t_ok "SIGTERM and restart: resumes exactly after the last durable event"
grep -q "gtids=0-1-" "$TEST_TMP/offsets.dat" || fail "offsets lack the GTID state: $(cat "$TEST_TMP/offsets.dat")"
stop_pid "$SL" TERM 20 || fail "sluice did not stop"

# resume by file:position (sluice.mysql.resume.by=position) picks up the same way
my_sql "INSERT INTO inv.customers VALUES (10, 'J', 0)"
before=$(wc -l <"$out")
echo "sluice.mysql.resume.by=position" >>"$conf"
start_bg sluice3 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_events "$out" 'r["value"] and r["key"]["id"]==10' 1 30 || fail "resume by position: $(tail -5 "$TEST_TMP/sluice3.err")"
assert_contains "$(cat "$TEST_TMP/sluice3.err")" "streaming the binlog from mysql-bin." "resumed by file:pos"
n=$(tail -n +$((before + 1)) "$out" | grep -c '"test.inv.customers"')
assert_eq 1 "$n" "exactly one new event after resume by position"
stop_pid "$SL" TERM 20 || fail "sluice did not stop"
t_done
