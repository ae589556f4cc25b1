#!/usr/bin/env bash
# MariaDB source with binlog_row_metadata=MINIMAL (TABLE_MAP events carry no column
# names, keys or character sets): names and keys come from information_schema and are
# re-read after DDL, so events keep the right columns; `sluice check` and the log warn.
# Also include.query=true: source.query holds the statement (annotate events).
source "$(dirname "$0")/lib.sh"
require_sluice

my_start --binlog-row-metadata=MINIMAL --binlog-annotate-row-events=ON
my_sql "CREATE DATABASE inv;
        CREATE TABLE inv.c (id INT PRIMARY KEY, name VARCHAR(20) CHARACTER SET latin1, u INT UNSIGNED)"
out=$TEST_TMP/out.jsonl
my_sluice_conf "$TEST_TMP/app.properties" "debezium.source.include.query=true"
rc=0
"$SLUICE_BIN" check -c "$TEST_TMP/app.properties" >"$TEST_TMP/check.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "check passes (MINIMAL is a warning)"
assert_contains "$(cat "$TEST_TMP/check.out")" "warn: binlog_row_metadata is MINIMAL (FULL recommended" "check warns about MINIMAL"
start_bg sluice "$SLUICE_BIN" run -c "$TEST_TMP/app.properties"
SL=$BG_PID
wait_for "grep -q 'streaming the binlog' '$TEST_TMP/sluice.err'" 30 || fail "no start: $(cat "$TEST_TMP/sluice.err")"
assert_contains "$(cat "$TEST_TMP/sluice.err")" "binlog_row_metadata is not FULL" "the log warns"
my_sql "INSERT INTO inv.c VALUES (1, 'Müller', 4000000000);
        ALTER TABLE inv.c ADD COLUMN extra VARCHAR(5) DEFAULT 'e';
        INSERT INTO inv.c (id, name, u) VALUES (2, 'Zoë', 1);
        UPDATE inv.c SET id = 3 WHERE id = 2;"
wait_events "$out" 'r["value"] and r["value"]["op"]=="c" and r["key"]["id"]==3' 1 30 ||
    fail "events missing: $(tail -3 "$TEST_TMP/sluice.err")"
python3 - "$out" <<'PY' || fail "events under MINIMAL metadata are wrong"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"test.inv.c"' in l]
c = [r for r in recs if r["value"] and r["value"]["op"] == "c"]
assert c[0]["value"]["after"] == {"id": 1, "name": "Müller", "u": 4000000000}, c[0]["value"]["after"]
assert c[1]["value"]["after"] == {"id": 2, "name": "Zoë", "u": 1, "extra": "e"}, c[1]["value"]["after"]
assert c[0]["key"] == {"id": 1}, "key from information_schema"
q = c[0]["value"]["source"]["query"]
assert q and q.startswith("INSERT INTO inv.c VALUES (1"), q
kc = [(r["value"]["op"] if r["value"] else "tomb", r["key"]["id"]) for r in recs][-4:]
assert kc == [("c", 2), ("d", 2), ("tomb", 2), ("c", 3)], kc
PY
t_ok "names, keys, unsigned and latin1 from information_schema, refreshed after DDL; source.query"
stop_pid "$SL" TERM 20 || fail "sluice did not stop"
t_done
