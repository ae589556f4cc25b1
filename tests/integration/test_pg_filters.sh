#!/usr/bin/env bash
# Filters and options: table/column exclude lists, message prefix filters,
# tombstones.on.delete=false, skipped.operations (truncate events), unchanged
# TOAST values, key/value schemas, the stdout sink.
source "$(dirname "$0")/lib.sh"
require_sluice

pg_start
psql_c "CREATE TABLE a (id int PRIMARY KEY, secret text, big text, n int);
        CREATE TABLE b (id int PRIMARY KEY);
        ALTER TABLE a ALTER COLUMN big SET STORAGE EXTERNAL;
        CREATE TABLE nopk (x int);"
out=$TEST_TMP/out.jsonl
conf=$TEST_TMP/app.properties
sluice_conf "$conf" \
    "debezium.source.table.exclude.list=public\\.b" \
    "debezium.source.column.exclude.list=public\\.a\\.secret" \
    "debezium.source.message.prefix.include.list=keep.*" \
    "debezium.source.tombstones.on.delete=false" \
    "debezium.source.skipped.operations=none" \
    "debezium.source.heartbeat.interval.ms=0" \
    "debezium.format.key.schemas.enable=true"
start_bg sluice "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice.err'" 30 || fail "no start: $(cat "$TEST_TMP/sluice.err")"
assert_contains "$(cat "$TEST_TMP/sluice.err")" "WARN  table public.nopk has no primary key" "replica identity reported at start"

psql_c "INSERT INTO a VALUES (1, 'hidden', (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g), 1);
        INSERT INTO b VALUES (1);
        UPDATE a SET n = 2 WHERE id = 1;
        SELECT pg_logical_emit_message(true, 'keep.this', 'k');
        SELECT pg_logical_emit_message(true, 'drop.this', 'd');
        DELETE FROM a WHERE id = 1;
        TRUNCATE a;" >/dev/null
wait_events "$out" 'r["value"]["op"]=="t"' 1 30 || fail "no truncate event: $(tail -3 "$TEST_TMP/sluice.err")"

assert_eq 0 "$(jsonl_count "$out" 'r["topic"]=="test.public.b"')" "table.exclude.list"
assert_eq 0 "$(grep -c 'hidden\|"secret"' "$out")" "column.exclude.list: the column is gone from values and schemas"
assert_eq 1 "$(jsonl_count "$out" 'r["value"]["op"]=="u" and r["value"]["after"]["big"]=="__debezium_unavailable_value" and r["value"]["after"]["n"]==2')" "unchanged TOAST value becomes the placeholder"
assert_eq 1 "$(jsonl_count "$out" 'r["value"]["op"]=="c" and len(r["value"]["after"]["big"])==9600')" "the TOASTed value itself arrives with the insert"
assert_eq 1 "$(jsonl_count "$out" 'r["value"]["op"]=="m" and r["key"]["payload"]=={"prefix":"keep.this"}')" "message.prefix.include.list keeps"
assert_eq 0 "$(jsonl_count "$out" 'r["value"]["op"]=="m" and r["key"]["payload"]["prefix"]=="drop.this"')" "message.prefix.include.list drops"
assert_eq 0 "$(jsonl_count "$out" 'r["value"] is None')" "tombstones.on.delete=false"
assert_eq 1 "$(jsonl_count "$out" 'r["value"]["op"]=="t" and r["key"] is None and r["value"]["source"]["table"]=="a"')" "truncate event (skipped.operations=none)"
assert_eq 1 "$(jsonl_count "$out" 'r["value"]["op"]=="d" and r["key"]=={"schema":{"type":"struct","fields":[{"type":"int32","optional":False,"field":"id"}],"optional":False,"name":"test.public.a.Key"},"payload":{"id":1}}')" "key with schema"
kill -TERM "$SL"; stop_pid "$SL" - 30 || fail "stop failed"

# the stdout sink writes the same JSON Lines to standard output; logs stay on stderr
sed -i 's/^debezium.sink.type=file/debezium.sink.type=stdout/' "$conf"
psql_c "INSERT INTO a VALUES (7, 's', 'small', 7)"
start_bg stdout "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "grep -q '\"id\":7' '$TEST_TMP/stdout.out'" 30 || fail "stdout sink: nothing on stdout: $(cat "$TEST_TMP/stdout.err")"
kill -TERM "$SL"; stop_pid "$SL" - 30 || fail "stop failed"
assert_eq 0 "$(grep -vc '^{"topic":' "$TEST_TMP/stdout.out")" "only events on stdout"
assert_contains "$(cat "$TEST_TMP/stdout.err")" "stopped cleanly" "logs on stderr"

# size-based rotation of the file sink: whole lines only, nothing lost
sed -i 's/^debezium.sink.type=stdout/debezium.sink.type=file/' "$conf"
printf 'debezium.sink.file.path=%s\ndebezium.sink.file.rotate.bytes=4096\nsluice.sink.flush.min.interval.ms=0\n' \
    "$TEST_TMP/rot/changes.jsonl" >>"$conf"
mkdir -p "$TEST_TMP/rot"
start_bg rot "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
for i in $(seq 100 299); do
    echo "INSERT INTO a VALUES ($i, 's', 'v', $i);"
    if ((i % 50 == 49)); then echo "SELECT pg_sleep(0.2);"; fi # several flushes, so several rotations
done | "$PG_BIN/psql" -X -q -d postgres -f - >/dev/null
wait_for "[ \$(cat '$TEST_TMP'/rot/changes.jsonl* | grep -c '\"op\":\"c\"') -ge 200 ]" 30 || fail "rotation: events missing: $(tail -3 "$TEST_TMP/rot.err")"
kill -TERM "$SL"; stop_pid "$SL" - 30 || fail "stop failed"
nfiles=$(ls "$TEST_TMP/rot" | wc -l)
[ "$nfiles" -ge 3 ] || fail "rotation: expected several files, got $nfiles"
t_ok "file sink rotated into $nfiles files"
assert_eq 200 "$(cat "$TEST_TMP"/rot/changes.jsonl* | python3 -c 'import json,sys; print(len({json.loads(l)["key"]["payload"]["id"] for l in sys.stdin if "\"op\":\"c\"" in l}))')" "rotation: all 200 rows, every line whole JSON"
t_done
