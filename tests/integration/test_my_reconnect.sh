#!/usr/bin/env bash
# MariaDB source across server restarts: MariaDB is restarted (clean shutdown, then
# SIGKILL) while a workload of one-row transactions runs; sluice reconnects with backoff
# and resumes by GTID right after the last event it emitted: every committed row arrives
# exactly once. Then, idle: heartbeat records keep coming (heartbeat.interval.ms).
source "$(dirname "$0")/lib.sh"
require_sluice

MY_FSYNC=on my_start
my_sql "CREATE DATABASE inv; CREATE TABLE inv.t (id INT PRIMARY KEY)"
out=$TEST_TMP/out.jsonl
my_sluice_conf "$TEST_TMP/app.properties" \
    "debezium.source.errors.retry.delay.initial.ms=100" \
    "debezium.source.errors.retry.delay.max.ms=1000" \
    "debezium.source.heartbeat.interval.ms=300"
start_bg sluice "$SLUICE_BIN" run -c "$TEST_TMP/app.properties"
SL=$BG_PID
wait_for "grep -q 'streaming the binlog' '$TEST_TMP/sluice.err'" 30 || fail "no start: $(cat "$TEST_TMP/sluice.err")"

insert_batch() { # FROM COUNT, one transaction per row; a restart may cut it short
    local i
    for ((i = $1; i < $1 + $2; i++)); do echo "INSERT INTO inv.t VALUES ($i);"; done |
        _my_client --force >/dev/null 2>&1 || true
}
insert_batch 1 2000 &
WL=$!
register_pid "$WL" -
sleep 0.5
my_restart fast
sleep 0.3
my_restart immediate
wait "$WL" || true
unregister_pid "$WL"
insert_batch 100000 200
expected=$(my_sql "SELECT COUNT(*) FROM inv.t")
count_c() { jsonl_count "$out" 'r["topic"]=="test.inv.t" and r["value"]["op"]=="c"'; }
wait_for "[ \"\$(count_c)\" -ge $expected ]" 60 ||
    fail "after the restarts only $(count_c) of $expected rows arrived: $(tail -5 "$TEST_TMP/sluice.err")"
assert_contains "$(cat "$TEST_TMP/sluice.err")" "reconnecting in" "sluice noticed the lost connection"
[ "$(grep -c 'streaming the binlog from' "$TEST_TMP/sluice.err")" -ge 3 ] ||
    fail "sluice did not resume streaming after both restarts: $(tail -5 "$TEST_TMP/sluice.err")"
my_sql "SELECT id FROM inv.t" >"$TEST_TMP/rows.txt"
python3 - "$out" "$TEST_TMP/rows.txt" <<'PY' || fail "lost or duplicated rows"
import json, sys
ids = [json.loads(l)["value"]["after"]["id"] for l in open(sys.argv[1]) if '"op":"c"' in l]
rows = set(int(x) for x in open(sys.argv[2]).read().split())
missing = rows - set(ids)
dups = len(ids) - len(set(ids))
print(f"# {len(rows)} committed rows, {len(missing)} missing, {dups} duplicated", file=sys.stderr)
sys.exit(1 if missing or dups else 0)
PY
t_ok "every committed row arrived exactly once across two server restarts"

# idle: heartbeat records, and the stored position follows them
before=$(jsonl_count "$out" 'r["topic"]=="__debezium-heartbeat.test"')
wait_for "[ \"\$(jsonl_count '$out' 'r[\"topic\"]==\"__debezium-heartbeat.test\"')\" -ge $((before + 2)) ]" 10 ||
    fail "no heartbeat records while idle"
t_ok "heartbeat records while the captured tables are idle"
kill -TERM "$SL"; stop_pid "$SL" - 30 || fail "graceful stop failed"
t_done
