#!/usr/bin/env bash
# Memory stays bounded whatever the transaction size: a 1,000,000-row transaction
# streams through sluice (pgoutput v2 streams it in progress; sluice spools it to
# disk) with a peak RSS that does not grow with the transaction. Also checks that
# an aborted streamed transaction and a rolled-back subtransaction emit nothing.
source "$(dirname "$0")/lib.sh"
require_sluice

ROWS=${BIGTXN_ROWS:-1000000}
pg_start "logical_decoding_work_mem = '64kB'"
psql_c "CREATE TABLE big (id int PRIMARY KEY, pad text NOT NULL)"
out=$TEST_TMP/out.jsonl
sluice_conf "$TEST_TMP/app.properties" \
    "debezium.source.max.queue.size.in.bytes=16777216" \
    "debezium.source.heartbeat.interval.ms=0"
start_bg sluice "$SLUICE_BIN" run -c "$TEST_TMP/app.properties"
SL=$BG_PID
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice.err'" 30 || fail "no start: $(cat "$TEST_TMP/sluice.err")"

# an aborted streamed transaction, and a committed one with a rolled-back savepoint
psql_c "BEGIN; INSERT INTO big SELECT g, 'aborted' FROM generate_series(-50000, -1) g; ROLLBACK;"
psql_c "BEGIN; INSERT INTO big SELECT g, 'kept' FROM generate_series(2000001, 2020000) g;
        SAVEPOINT s; INSERT INTO big SELECT g, 'rolled back' FROM generate_series(3000001, 3020000) g;
        ROLLBACK TO SAVEPOINT s; INSERT INTO big VALUES (4000000, 'after savepoint'); COMMIT;"
psql_c "INSERT INTO big SELECT g, repeat('x', 40) FROM generate_series(1, $ROWS) g"
total=$((ROWS + 20001))
wait_for "[ \$(grep -c '\"op\":\"c\"' '$out') -ge $total ]" 600 || fail "only $(grep -c '"op":"c"' "$out") of $total events arrived: $(tail -3 "$TEST_TMP/sluice.err")"
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$SL/status")
kill -TERM "$SL"
stop_pid "$SL" - 60 || fail "graceful stop failed"

assert_eq "$total" "$(grep -c '"op":"c"' "$out")" "every row of the committed transactions arrived exactly once"
assert_eq 0 "$(grep -c 'aborted\|rolled back' "$out")" "nothing of the aborted transaction or subtransaction"
assert_contains "$(cat "$TEST_TMP/sluice.err")" "protocol v2" "pgoutput v2 with streaming was used"
echo "# peak RSS with a $ROWS-row transaction: $((hwm_kb / 1024)) MiB (queue bound 16 MiB)" >&2
if [ "${SLUICE_SANITIZED:-0}" = 1 ]; then
    t_ok "peak RSS not checked under AddressSanitizer (its quarantine holds freed memory)"
else
    [ "$hwm_kb" -lt 131072 ] || fail "peak RSS ${hwm_kb} kB: memory grew with the transaction"
    t_ok "peak RSS $((hwm_kb / 1024)) MiB < 128 MiB for $ROWS rows"
fi
t_done
