#!/usr/bin/env bash
# Golden test of the type mapping: the rows of tests/fixtures/golden/types.sql through
# the snapshot, and the same values inserted again while streaming, must give the
# same JSON (after and its schema), equal to tests/fixtures/golden/types.expected.json.
# Set GOLDEN_UPDATE=1 to rewrite the expected file from the snapshot (then review it).
source "$(dirname "$0")/lib.sh"
require_sluice

golden=$SLUICE_SRC/tests/fixtures/golden
pg_start
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f "$golden/types.sql" >/dev/null
out=$TEST_TMP/out.jsonl
sluice_conf "$TEST_TMP/app.properties" \
    "debezium.source.heartbeat.interval.ms=0" \
    "debezium.format.value.schemas.enable=true" \
    "debezium.source.table.include.list=public.types"
start_bg sluice "$SLUICE_BIN" run -c "$TEST_TMP/app.properties"
SL=$BG_PID
wait_events "$out" 'r["value"]["payload"]["op"]=="r"' 4 30 || fail "no snapshot: $(cat "$TEST_TMP/sluice.err")"
psql_c "INSERT INTO types SELECT id + 1000, b, i2, i4, i8, f4, f8, n, nu, t, vc, bp, by, d, tm, tm3,
        tmtz, ts, ts3, tstz, iv, u, j, jb, e, dom, dnum, ai, at, ae, inet_col, pt FROM types"
wait_events "$out" 'r["value"]["payload"]["op"]=="c"' 4 30 || fail "no streamed rows: $(tail -3 "$TEST_TMP/sluice.err")"

python3 - "$out" "$golden/types.expected.json" "${GOLDEN_UPDATE:-0}" <<'PY' || fail "golden comparison failed"
import json, sys
path, expected_path, update = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
snap, stream, schemas = {}, {}, {}
for line in open(path):
    r = json.loads(line)
    v = r["value"]
    if not v or "payload" not in v:
        continue
    p = v["payload"]
    a = p["after"]
    if p["op"] == "r":
        snap[a["id"]] = a
        schemas["r"] = [f for f in v["schema"]["fields"] if f["field"] == "after"][0]
    elif p["op"] == "c":
        a = dict(a); a["id"] -= 1000
        stream[a["id"]] = a
        schemas["c"] = [f for f in v["schema"]["fields"] if f["field"] == "after"][0]
ok = True
if snap != stream:
    ok = False
    for k in sorted(snap):
        for col in snap[k]:
            if snap[k][col] != stream.get(k, {}).get(col):
                print(f"row {k} column {col}: snapshot {snap[k][col]!r} streaming {stream.get(k, {}).get(col)!r}")
if schemas.get("r") != schemas.get("c"):
    ok = False
    print("schemas differ between snapshot and streaming")
got = {"rows": {str(k): snap[k] for k in sorted(snap)}, "schema": schemas.get("r")}
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
                print(f"row {k} column {col}: expected {val!r} got {got['rows'].get(k, {}).get(col, '<missing>')!r}")
    if exp["schema"] != got["schema"]:
        ok = False
        for a, b in zip(exp["schema"]["fields"], got["schema"]["fields"]):
            if a != b:
                print(f"schema of {a.get('field')}: expected {a} got {b}")
sys.exit(0 if ok else 1)
PY
t_ok "snapshot and streaming give the same values and schemas, equal to the golden file"

# numeric NaN under decimal.handling.mode=precise stops with Debezium's advice
psql_c "INSERT INTO types (id, nu) VALUES (5000, 'NaN')"
wait_for "! kill -0 $SL" 30 || fail "sluice did not stop on NaN"
rc=0; stop_pid "$SL" - 5 || rc=$?
assert_eq 1 "$rc" "NaN in precise mode: exit 1"
assert_contains "$(cat "$TEST_TMP/sluice.err")" "set debezium.source.decimal.handling.mode=string or double" "NaN message"
# ... and with decimal.handling.mode=string the same row streams (as Debezium: "NAN"), nothing lost
echo "debezium.source.decimal.handling.mode=string" >>"$TEST_TMP/app.properties"
start_bg sluice2 "$SLUICE_BIN" run -c "$TEST_TMP/app.properties"
SL=$BG_PID
wait_events "$out" 'r["value"]["payload"]["after"]["id"]==5000 and r["value"]["payload"]["after"]["nu"]=="NAN"' 1 30 || fail "NaN row not delivered in string mode: $(tail -3 "$TEST_TMP/sluice2.err")"
t_ok "after switching to decimal.handling.mode=string the NaN row arrives"
kill -TERM "$SL"; stop_pid "$SL" - 30 || true
t_done
