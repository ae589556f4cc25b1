#!/usr/bin/env bash
# Golden test of the MySQL/MariaDB type mapping: the rows of tests/fixtures/golden/my_types.sql
# through the snapshot (text protocol), and the same rows inserted again while streaming
# (binary row images), must give the same JSON (values and schemas), equal to
# tests/fixtures/golden/my_types.expected.json. Latin1 and utf8mb4 text, zero dates.
# Set GOLDEN_UPDATE=1 to rewrite the expected file from the snapshot (then review it).
source "$(dirname "$0")/lib.sh"
require_sluice

golden=$SLUICE_SRC/tests/fixtures/golden
my_start
my_sql_file "$golden/my_types.sql"
out=$TEST_TMP/out.jsonl
my_sluice_conf "$TEST_TMP/app.properties" \
    "debezium.format.value.schemas.enable=true" \
    "debezium.source.table.include.list=inv\\.(types|zero_dates)"
start_bg sluice "$SLUICE_BIN" run -c "$TEST_TMP/app.properties"
SL=$BG_PID
wait_events "$out" 'r["value"]["payload"]["op"]=="r"' 8 30 || fail "no snapshot: $(tail -3 "$TEST_TMP/sluice.err")"
# the same rows again, through the binlog (a temporary table is not logged in ROW format)
my_sql "SET SESSION sql_mode = ''; SET SESSION time_zone = '+00:00';
        CREATE TEMPORARY TABLE inv.tt AS SELECT * FROM inv.types; UPDATE inv.tt SET id = id + 1000;
        INSERT INTO inv.types SELECT * FROM inv.tt;
        CREATE TEMPORARY TABLE inv.tz AS SELECT * FROM inv.zero_dates; UPDATE inv.tz SET id = id + 1000;
        INSERT INTO inv.zero_dates SELECT * FROM inv.tz;"
wait_events "$out" 'r["value"]["payload"]["op"]=="c"' 8 30 || fail "no streamed rows: $(tail -3 "$TEST_TMP/sluice.err")"

python3 - "$out" "$golden/my_types.expected.json" "${GOLDEN_UPDATE:-0}" <<'PY' || fail "golden comparison failed"
import json, sys
path, expected_path, update = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
snap, stream, schemas = {}, {}, {}
for line in open(path):
    r = json.loads(line)
    v = r["value"]
    if not v or "payload" not in v or r["topic"] == "test":
        continue
    p = v["payload"]
    table = r["topic"].split(".")[-1]
    a = p["after"]
    after_schema = [f for f in v["schema"]["fields"] if f["field"] == "after"][0]
    if p["op"] == "r":
        snap[(table, a["id"])] = a
        schemas[(table, "r")] = after_schema
    elif p["op"] == "c":
        a = dict(a); a["id"] -= 1000
        stream[(table, a["id"])] = a
        schemas[(table, "c")] = after_schema
ok = True
for k in sorted(snap):
    for col in snap[k]:
        if snap[k][col] != stream.get(k, {}).get(col, "<missing>"):
            ok = False
            print(f"{k} column {col}: snapshot {snap[k][col]!r} streaming {stream.get(k, {}).get(col, '<missing>')!r}"[:400])
for t in ("types", "zero_dates"):
    if schemas.get((t, "r")) != schemas.get((t, "c")):
        ok = False
        a, b = schemas.get((t, "r")) or {"fields": []}, schemas.get((t, "c")) or {"fields": []}
        for x, y in zip(a["fields"], b["fields"]):
            if x != y:
                print(f"{t}: schema of {x.get('field')}: snapshot {x} streaming {y}")
got = {"rows": {f"{t}.{i}": snap[(t, i)] for (t, i) in sorted(snap)},
       "schema": {t: schemas.get((t, "r")) for t in ("types", "zero_dates")}}
if update:
    with open(expected_path, "w") as f:
        json.dump(got, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("expected file rewritten")
else:
    exp = json.load(open(expected_path))
    for k, row in exp["rows"].items():
        for col, val in row.items():
            if got["rows"].get(k, {}).get(col, "<missing>") != val:
                ok = False
                print(f"row {k} column {col}: expected {val!r} got {got['rows'].get(k, {}).get(col, '<missing>')!r}"[:400])
    for t in exp["schema"]:
        if exp["schema"][t] != got["schema"][t]:
            ok = False
            for a, b in zip(exp["schema"][t]["fields"], got["schema"][t]["fields"]):
                if a != b:
                    print(f"{t}: schema of {a.get('field')}: expected {a} got {b}")
sys.exit(0 if ok else 1)
PY
t_ok "snapshot and streaming give the same values and schemas, equal to the golden file"
assert_contains "$(cat "$TEST_TMP/sluice.err")" "zero date" "zero dates are reported, not silent"
stop_pid "$SL" TERM 20 || fail "sluice did not stop"
t_done
