#!/usr/bin/env bash
# Durability of the MariaDB source: kill -9 sluice at several moments while a workload
# runs (20-row INSERTs -- one rows event each --, 2000-row transactions that span
# several flushes, updates and deletes), restart it, and prove that every committed
# change arrived (duplicates allowed only for the tail that was in flight, and counted;
# the restarts resume by GTID). Then SIGTERM restarts resuming by file:position, where
# not even a duplicate is allowed.
source "$(dirname "$0")/lib.sh"
require_sluice

my_start
my_sql "CREATE DATABASE inv; CREATE TABLE inv.t (id INT PRIMARY KEY, v INT NOT NULL)"
out=$TEST_TMP/out.jsonl
my_sluice_conf "$TEST_TMP/app.properties" "debezium.source.heartbeat.interval.ms=500"

# my_workload FROM COUNT: COUNT batches of 20 inserted ids from FROM on; every 10th
# batch also updates one row and deletes another, every 50th is a 2000-row transaction
# (ids from 10000000 + 20 * FROM). Same ids checked by check_no_loss below.
my_workload() {
    local from=$1 count=$2 i
    echo "USE inv;"
    for ((i = 0; i < count; i++)); do
        local a=$((from + i * 20))
        echo "INSERT INTO t SELECT seq, seq FROM seq_${a}_to_$((a + 19));"
        if ((i % 10 == 9)); then
            echo "BEGIN; UPDATE t SET v = v + 1 WHERE id = $a; DELETE FROM t WHERE id = $((a + 1)); COMMIT;"
        fi
        if ((i % 50 == 25)); then
            local b=$((10000000 + from * 20 + i * 2000))
            echo "INSERT INTO t SELECT seq, seq FROM seq_${b}_to_$((b + 1999));"
        fi
        if ((i % 2 == 0)); then echo "DO SLEEP(0.01);"; fi
    done
}
my_client() { _my_client "$@"; }

run_sluice() {
    start_bg "sluice$1" "$SLUICE_BIN" run -c "$TEST_TMP/app.properties"
    SL=$BG_PID
}

# check FROM COUNT: "<missing> <duplicates>" of the ids that workload inserted
check_no_loss() { jsonl_loss_dups "$out" "$1" "$(($2 * 20))"; }

# --- phase 1: kill -9 at random moments
run_sluice 0
wait_for "grep -q 'streaming the binlog' '$TEST_TMP/sluice0.err'" 30 || fail "sluice did not start: $(cat "$TEST_TMP/sluice0.err")"
my_workload 1 600 | my_client >/dev/null &
WL=$!
register_pid "$WL" -
kill9_restarts 5 run_sluice
kills=$KILLS
wait "$WL" || fail "workload 1 failed"
unregister_pid "$WL"
wait_for "[ \"\$(check_no_loss 1 600 | cut -d' ' -f1)\" = 0 ]" 60 || true
read -r missing dups < <(check_no_loss 1 600)
assert_eq 0 "$missing" "kill -9 x$kills: no committed insert lost (duplicates in the in-flight tail: $dups)"
echo "# kill -9 phase: $kills kills, 12000 + 24000 inserts checked, $dups duplicates" >&2

# updates and deletes arrived too
assert_eq 60 "$(python3 -c 'import json,sys; print(len({r["key"]["id"] for r in map(json.loads, open(sys.argv[1])) if r["value"] and r["value"].get("op")=="u"}))' "$out")" "all 60 updates arrived"
assert_eq 60 "$(python3 -c 'import json,sys; print(len({r["key"]["id"] for r in map(json.loads, open(sys.argv[1])) if r["value"] and r["value"].get("op")=="d"}))' "$out")" "all 60 deletes arrived"
# per-key order across the kills: replays after a crash may repeat a key's events, but the
# first time each event of a key arrives is in commit order (create, then update / delete)
order_violations=$(jsonl_order_violations "$out")
assert_eq 0 "$order_violations" "per-key order: no update or delete arrives before its key's create"

big=$(python3 -c 'import json,sys; print(len({r["key"]["id"] for r in map(json.loads, open(sys.argv[1])) if r["value"] and r["value"].get("op")=="c" and r["key"]["id"] >= 10000000}))' "$out")
assert_eq 24000 "$big" "all rows of the twelve 2000-row transactions arrived"

# --- phase 2: graceful stops, resuming by binlog file:position: no loss and no duplicate
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed: $(tail -5 "$TEST_TMP/sluice5.err")"
echo "sluice.mysql.resume.by=position" >>"$TEST_TMP/app.properties"
run_sluice 10
my_workload 100000 300 | my_client >/dev/null &
WL=$!
register_pid "$WL" -
for k in 11 12 13; do
    sleep "0.$((RANDOM % 9 + 1))"
    kill -TERM "$SL"
    stop_pid "$SL" - 30 || fail "graceful stop $k failed"
    run_sluice "$k"
done
wait "$WL" || fail "workload 2 failed"
unregister_pid "$WL"
wait_for "[ \"\$(check_no_loss 100000 300 | cut -d' ' -f1)\" = 0 ]" 60 || true
read -r missing dups < <(check_no_loss 100000 300)
assert_eq 0 "$missing" "SIGTERM x3: no committed insert lost"
assert_eq 0 "$dups" "SIGTERM x3: no duplicate"
kill -TERM "$SL"
stop_pid "$SL" - 30 || true
t_done
