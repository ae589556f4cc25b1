#!/usr/bin/env bash
# jdbc sink, PostgreSQL -> SQLite (a file target: jdbc:sqlite:$TEST_TMP/target.db).
#  1. snapshot + a mixed workload (inserts, updates incl. a primary-key change, deletes,
#     TRUNCATE, unchanged TOAST values, a table with hostile identifiers, a table of every
#     common type) with insert.mode=upsert; the tables are created from the event schemas;
#     source and target compared row by row through a canonical text per row.
#  2. a schema change while streaming (ALTER TABLE ADD COLUMN on the source, then rows
#     using it) arrives as a new column of the target table.
#  3. kill -9 of sluice at random moments during a longer workload, with insert.mode=insert:
#     a change applied twice would fail on the primary key (and stop sluice), a lost one
#     shows in the comparison; sluice_offsets holds one row, the target equals the source.
#  4. errors.tolerance=all: rows the target refuses (a CHECK constraint the source does not
#     have) become dead letters in sluice_dead_letters and sluice keeps running; with
#     errors.tolerance=none the same refusal stops sluice, committing nothing of it.
#
# How rows are compared. Each row becomes one line of text in both databases (psql on the
# source, the sqlite3 CLI on the target), the lines are sorted and the lists compared by
# count and md5. The per-type expressions (canon below) map both sides to the same text:
#   integers         PostgreSQL x::text; SQLite CAST(x AS TEXT) (INTEGER affinity)
#   numeric(10,2)    PostgreSQL x::text ("10.50"); SQLite printf('%.2f') — the NUMERIC
#                    affinity stores 10.50 as the REAL 10.5 (or 5.00 as the INTEGER 5)
#   real, double     PostgreSQL prints the shortest text that reads back the same value;
#                    SQLite: the shortest of printf %.15g/%.16g/%!.17g that reads back
#                    equal. NaN and +-Infinity are TEXT in SQLite, as PostgreSQL spells them
#   text, varchar,   hex of the UTF-8 bytes in both (upper(encode(convert_to(x,'UTF8'),
#   json, jsonb      'hex')) / hex(x)): tabs and newlines stay on one line; json keeps the
#                    source's text, jsonb PostgreSQL's normalised text (what the source sent)
#   timestamp        to_char 'YYYY-MM-DD HH24:MI:SS.US'; SQLite holds that text
#   timestamptz      Debezium's ZonedTimestamp text in UTC, "YYYY-MM-DDTHH:MI:SS.ffffffZ"
#   date, time       to_char 'YYYY-MM-DD' / 'HH24:MI:SS.US' (time always with 6 digits)
#   boolean          1/0 (SQLite has no boolean: BOOLEAN is NUMERIC affinity, 1 and 0)
#   bytea            hex: upper(encode(x,'hex')) / hex(x) (a BLOB in SQLite)
#   uuid             x::text / the TEXT as sent
#   NULL             '~' on both sides (text is hex, so no value can look like it)
source "$(dirname "$0")/lib.sh"
require_sluice
command -v sqlite3 >/dev/null || fail "the sqlite3 CLI is not installed (scripts/install-deps.sh)"

pg_start
DB=$TEST_TMP/target.db
src_c() { psql_c "$@"; }
# the target, read with the sqlite3 CLI (WAL: a reader never blocks sluice's writes)
tgt() { sqlite3 -batch -bail -cmd '.timeout 5000' "$1" "$2"; }
tgt_q() { tgt "$DB" "$1"; }

# canon pg|sl TYPE COLUMN: the expression for one column's canonical text (see the top)
canon() {
    local db=$1 ty=$2 c=$3 e
    case $db:$ty in
    pg:int | pg:num2 | pg:uuid | pg:float) e="$c::text" ;;
    sl:int) e="CAST($c AS TEXT)" ;;
    sl:num2) e="printf('%.2f', $c)" ;;
    sl:uuid | sl:ts | sl:tstz | sl:date | sl:time) e="$c" ;;
    sl:float)
        e="CASE WHEN typeof($c) = 'text' THEN $c
                WHEN CAST(printf('%.15g', $c) AS REAL) = $c THEN printf('%.15g', $c)
                WHEN CAST(printf('%.16g', $c) AS REAL) = $c THEN printf('%.16g', $c)
                ELSE printf('%!.17g', $c) END" ;;
    pg:text) e="upper(encode(convert_to($c::text, 'UTF8'), 'hex'))" ;;
    sl:text | sl:bytea) e="hex($c)" ;;
    pg:ts) e="to_char($c, 'YYYY-MM-DD HH24:MI:SS.US')" ;;
    pg:tstz) e="to_char($c AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')" ;;
    pg:date) e="to_char($c, 'YYYY-MM-DD')" ;;
    pg:time) e="to_char(date '2000-01-01' + $c, 'HH24:MI:SS.US')" ;;
    pg:bool) e="CASE WHEN $c THEN '1' ELSE '0' END" ;;
    sl:bool) e="CAST($c AS TEXT)" ;;
    pg:bytea) e="upper(encode($c, 'hex'))" ;;
    *) fail "canon: unknown $db:$ty" ;;
    esac
    echo "CASE WHEN $c IS NULL THEN '~' ELSE $e END"
}
# row_expr pg|sl "TYPE COLUMN" ...: the whole row's text, columns joined by '|'
row_expr() {
    local db=$1 spec out=""
    shift
    for spec in "$@"; do
        [[ -z "$out" ]] || out+=" || '|' || "
        out+="($(canon "$db" "${spec%% *}" "${spec#* }"))"
    done
    echo "$out"
}
# digest pg|sl TABLE SPEC...: "<rows>:<md5 of the sorted row texts>"
digest() {
    local db=$1 table=$2 rows
    shift 2
    if [[ $db == pg ]]; then
        rows=$(src_c "SELECT $(row_expr pg "$@") FROM $table") || return 1
    else
        rows=$(tgt_q "SELECT $(row_expr sl "$@") FROM $table") || return 1
    fi
    [[ -n "$rows" ]] || { echo "0:-"; return 0; }
    echo "$(printf '%s\n' "$rows" | wc -l):$(printf '%s\n' "$rows" | LC_ALL=C sort | md5sum | cut -d' ' -f1)"
}
# same TABLE SPEC...: the table has the same rows in the source and the target
same() { [[ "$(digest pg "$@")" == "$(digest sl "$@" 2>/dev/null)" ]]; }
differs() { echo "source $(digest pg "$@"), target $(digest sl "$@" 2>&1)"; }

T_COLS=("int id" "int b" "num2 n" "text s" "tstz ts" "date d" "bool f" "bytea by" "text j" "uuid u" "text big")
TYPES_COLS=("int id" "int i2" "int i4" "int i8" "num2 n" "float r" "float dp" "text s" "text vc"
    "ts ts" "tstz tstz" "date d" "time tm" "bool b" "bytea by" "text j" "text jb" "uuid u")
ODD='"Odd ""Name"";x"'
ODD_COLS=('int "Id"' 'text "we""ird col"' 'int "Sel ect"')
K_COLS=("int id" "int v")

src_c "CREATE TABLE t (id int PRIMARY KEY, b bigint, n numeric(10,2), s text, ts timestamptz,
        d date, f boolean, by bytea, j jsonb, u uuid, big text)"
src_c "CREATE TABLE types (id int PRIMARY KEY, i2 smallint, i4 int, i8 bigint, n numeric(10,2),
        r real, dp double precision, s text, vc varchar(20), ts timestamp, tstz timestamptz,
        d date, tm time, b boolean, by bytea, j json, jb jsonb, u uuid)"
src_c "CREATE TABLE $ODD (\"Id\" int PRIMARY KEY, \"we\"\"ird col\" text, \"Sel ect\" int)"
src_c "CREATE TABLE k (id int PRIMARY KEY, v int NOT NULL)"
src_c "CREATE TABLE big (id int PRIMARY KEY, s text)"
src_c "CREATE TABLE e (id int PRIMARY KEY, s text)"
# rows that exist before sluice starts: they come through the snapshot
src_c "INSERT INTO t SELECT g, g * 1000000000::bigint, g + 0.25, 'row ' || g, now(), current_date - g,
        g % 2 = 0, '\\x00ff'::bytea, jsonb_build_object('g', g), gen_random_uuid(), NULL
        FROM generate_series(1, 50) g"
src_c "INSERT INTO e SELECT g, 'e' || g FROM generate_series(1, 5) g"

conf=$TEST_TMP/app.properties
sluice_conf "$conf" \
    "debezium.sink.type=jdbc" \
    "debezium.sink.jdbc.connection.url=jdbc:sqlite:$DB" \
    "debezium.sink.jdbc.insert.mode=upsert" \
    "debezium.sink.jdbc.delete.enabled=true" \
    "debezium.sink.jdbc.truncate.enabled=true" \
    "debezium.sink.jdbc.primary.key.mode=record_key" \
    "debezium.sink.jdbc.schema.evolution=basic" \
    "debezium.sink.jdbc.table.name.format=\${source.table}" \
    "debezium.sink.jdbc.flush.retry.delay.ms=100" \
    "debezium.format.value.schemas.enable=true" \
    "debezium.format.key.schemas.enable=true" \
    "debezium.source.skipped.operations=none" # Debezium skips truncates by default

run_sluice() {
    start_bg "sluice$1" "$SLUICE_BIN" run -c "$conf"
    SL=$BG_PID
}

# --- 1. snapshot + mixed workload (upsert)
run_sluice 0
wait_for 'same t "${T_COLS[@]}"' 60 || fail "snapshot did not reach the target: $(differs t "${T_COLS[@]}"); $(tail -5 "$TEST_TMP/sluice0.err")"
t_ok "snapshot: 50 rows equal in the SQLite target (table created from the schema)"
assert_eq "id:INTEGER|b:INTEGER|n:NUMERIC|s:TEXT|ts:TEXT|d:DATE|f:BOOLEAN|by:BLOB|j:TEXT|u:TEXT|big:TEXT" \
    "$(tgt_q "SELECT group_concat(name || ':' || type, '|') FROM (SELECT name, type FROM pragma_table_info('t') ORDER BY cid)")" \
    "target column types follow the schema (declared for their SQLite affinity)"
assert_eq "1" "$(tgt_q "SELECT pk FROM pragma_table_info('t') WHERE name = 'id'")" "the record key is the primary key"
assert_eq "wal" "$(tgt_q "PRAGMA journal_mode")" "the target database is in WAL mode"

src_c "INSERT INTO t SELECT g, -g, -g - 0.5, 'new ' || g, now(), current_date + g, true, '\\xdeadbeef',
        '{\"a\": [1, 2]}', gen_random_uuid(), repeat('toast', 5000)
        FROM generate_series(51, 120) g"
src_c "UPDATE t SET s = 'updated', n = 99999999.99 WHERE id BETWEEN 10 AND 30"
src_c "UPDATE t SET id = id + 1000 WHERE id IN (3, 4, 5)" # primary-key change
src_c "DELETE FROM t WHERE id BETWEEN 40 AND 45"
src_c "UPDATE t SET b = 7 WHERE id BETWEEN 51 AND 60" # big: unchanged TOAST value
src_c "BEGIN; INSERT INTO t (id, s) VALUES (500, 'txn'); UPDATE t SET s = NULL WHERE id = 500; COMMIT"
src_c "INSERT INTO $ODD VALUES (1, 'a''b\"c;', 1), (2, NULL, 2), (3, 'semi;colon \"q\"', 3)"
src_c "UPDATE $ODD SET \"Sel ect\" = 30 WHERE \"Id\" = 2"
src_c "DELETE FROM $ODD WHERE \"Id\" = 3"
src_c "INSERT INTO k SELECT g, g FROM generate_series(1, 20) g"
src_c "TRUNCATE k"
src_c "INSERT INTO k VALUES (1, 100)"
src_c "INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 3000) g" # > batch.size
src_c "UPDATE big SET s = 'x' WHERE id % 3 = 0"
src_c "INSERT INTO types VALUES
  (1, -32768, 2147483647, -9223372036854775808, 12345678.91, 1.1, 2.718281828459045,
   'tab	nl
 quote'' \"dq\" \\ back', 'varchar', '2024-02-29 23:59:59.123456', '1999-12-31 23:59:59.999999+05:30',
   '0001-01-01', '13:14:15.654321', true, '\\x000102feff', '{\"z\": 1,  \"a\" : [true, null]}',
   '{\"k\": \"v\", \"n\": 1.50}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
  (2, NULL, NULL, NULL, -0.01, 'NaN', '-Infinity', '', NULL, '1900-01-01 00:00:00',
   '2262-04-11 23:47:16.854775+00', '2100-12-31', '00:00:00', false, '\\x', 'null', '[]', NULL),
  (3, 0, 0, 9223372036854775807, 10.50, -2.5, 1e-30, 'ünïcødé ✓', 'x', '1970-01-01 00:00:00.000001',
   '1969-12-31 23:59:59.999999+00', '1970-01-01', '23:59:59.999999', NULL, NULL, NULL, NULL, NULL),
  (4, 1, 1, 1, 5, 3.14159, 0.30000000000000004, 'Mixed', 'v', NULL, NULL, NULL, NULL, true, '\\x00',
   '{}', '{\"a\": {\"b\": [1, 2.5, \"x\"]}}', '00000000-0000-0000-0000-000000000000')"
wait_for 'same t "${T_COLS[@]}" && same k "${K_COLS[@]}" && same big "int id" "text s" && same "$ODD" "${ODD_COLS[@]}"' 60 ||
    fail "target differs: t $(differs t "${T_COLS[@]}"); k $(differs k "${K_COLS[@]}"); big $(differs big "int id" "text s"); odd $(differs "$ODD" "${ODD_COLS[@]}"); $(tail -5 "$TEST_TMP/sluice0.err")"
t_ok "mixed workload (upsert): t, k, big (3000-row transactions, above batch.size) and a table with a hostile name equal in source and target"
assert_eq 10 "$(tgt_q "SELECT count(*) FROM t WHERE id BETWEEN 51 AND 60 AND b = 7 AND length(big) = 25000")" \
    "unchanged TOAST values kept (placeholder never written)"
assert_eq 0 "$(tgt_q "SELECT count(*) FROM t WHERE big LIKE '%unavailable%' OR s LIKE '%unavailable%'")" \
    "no placeholder text in the target"
assert_eq "1|100" "$(tgt_q "SELECT id || '|' || v FROM k")" "truncate applied (DELETE FROM), then the new row"
assert_eq 3 "$(tgt_q "SELECT count(*) FROM t WHERE id IN (1003, 1004, 1005)")" "primary-key change moved the rows"
assert_eq 0 "$(tgt_q "SELECT count(*) FROM t WHERE id IN (3, 4, 5)")" "and removed them from their old key"
assert_eq 'Id|we"ird col|Sel ect' \
    "$(tgt_q "SELECT group_concat(name, '|') FROM (SELECT name FROM pragma_table_info('Odd \"Name\";x') ORDER BY cid)")" \
    "hostile identifiers kept as they are (quotes, spaces, semicolons, mixed case)"
wait_for 'same types "${TYPES_COLS[@]}"' 30 || {
    src_c "SELECT $(row_expr pg "${TYPES_COLS[@]}") FROM types" | sort >&2
    tgt_q "SELECT $(row_expr sl "${TYPES_COLS[@]}") FROM types" | sort >&2
    fail "types differ: $(differs types "${TYPES_COLS[@]}"); $(tail -5 "$TEST_TMP/sluice0.err")"
}
t_ok "types round trip (smallint, int, bigint, numeric(10,2), real/double incl. NaN/-Infinity, text, varchar, timestamp, timestamptz, date, time, boolean, bytea, json, jsonb, uuid)"
assert_eq "integer|integer|integer|real|real|real|text|text|text|text|text|text|integer|blob|text|text|text" \
    "$(tgt_q "SELECT typeof(i2) || '|' || typeof(i4) || '|' || typeof(i8) || '|' || typeof(n) || '|' || typeof(r) || '|' ||
        typeof(dp) || '|' || typeof(s) || '|' || typeof(vc) || '|' || typeof(ts) || '|' || typeof(tstz) || '|' ||
        typeof(d) || '|' || typeof(tm) || '|' || typeof(b) || '|' || typeof(by) || '|' || typeof(j) || '|' ||
        typeof(jb) || '|' || typeof(u) FROM types WHERE id = 1")" \
    "SQLite storage classes: integers, reals, text, 1/0 booleans and a real BLOB for bytea"
assert_eq "text|text" "$(tgt_q "SELECT typeof(r) || '|' || typeof(dp) FROM types WHERE id = 2")" \
    "NaN and -Infinity are kept as text (SQLite's REAL has no NaN)"

# --- 2. schema change while streaming: a new source column becomes a target column
src_c "ALTER TABLE e ADD COLUMN extra text, ADD COLUMN num int"
src_c "INSERT INTO e VALUES (6, 'e6', 'new column', 42), (7, 'e7', NULL, 7)"
src_c "UPDATE e SET extra = 'set later', num = 1 WHERE id = 1"
E2_COLS=("int id" "text s" "text extra" "int num")
wait_for 'same e "${E2_COLS[@]}"' 30 || fail "schema change did not arrive: $(differs e "${E2_COLS[@]}"); $(tail -5 "$TEST_TMP/sluice0.err")"
assert_eq "id|s|extra|num" "$(tgt_q "SELECT group_concat(name, '|') FROM (SELECT name FROM pragma_table_info('e') ORDER BY cid)")" \
    "ALTER TABLE ADD COLUMN on the source: the target table gained the columns"
t_ok "rows using the new columns equal in source and target"
grep -q 'added column "extra" to table "e"' "$TEST_TMP/sluice0.err" || fail "no 'added column' in the log"

kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed: $(tail -5 "$TEST_TMP/sluice0.err")"
assert_eq 1 "$(tgt_q "SELECT count(*) FROM sluice_offsets WHERE name = 'sluice'")" "sluice_offsets holds the position"
"$SLUICE_BIN" check -c "$conf" >"$TEST_TMP/check.out" 2>&1 || true
assert_contains "$(cat "$TEST_TMP/check.out")" "jdbc sink connects to SQLite $(sqlite3 -version | cut -d' ' -f1), file $DB" \
    "sluice check describes the target"

# --- 3. kill -9 at random moments; insert.mode=insert makes a duplicate apply fail loudly
echo "debezium.sink.jdbc.insert.mode=insert" >>"$conf"
KILLS=5
run_sluice 1
workload_sql 100 $((KILLS * 150)) k 3 1 | "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f - >/dev/null &
WL=$!
register_pid "$WL" -
restart_sluice() { run_sluice $(($1 + 1)); } # sluice2.. (sluice1 runs the workload's start)
kill9_restarts "$KILLS" restart_sluice "$WL"
wait "$WL" || fail "workload failed"
unregister_pid "$WL"
wait_for 'same k "${K_COLS[@]}"' 90 || fail "after $KILLS kills the target differs: $(differs k "${K_COLS[@]}"); $(tail -5 "$TEST_TMP/sluice$((KILLS + 1)).err")"
pid_alive "$SL" || fail "sluice stopped (a change applied twice?): $(tail -5 "$TEST_TMP/sluice$((KILLS + 1)).err")"
[[ $KILLS_DURING -gt 0 ]] || fail "no kill landed while the workload ran"
t_ok "kill -9 x$KILLS ($KILLS_DURING while the workload ran) during $((KILLS * 150)) transactions: target equals source ($(digest sl k "${K_COLS[@]}"))"
assert_eq 0 "$(cat "$TEST_TMP"/sluice*.err | grep -c 'UNIQUE constraint failed' || true)" "no change applied twice"
assert_eq 1 "$(tgt_q "SELECT count(*) FROM sluice_offsets")" "one sluice_offsets row"
assert_eq ok "$(tgt_q "PRAGMA integrity_check")" "the SQLite file is intact after the kills"
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed: $(tail -5 "$TEST_TMP/sluice$((KILLS + 1)).err")"

# --- 4. dead letters (errors.tolerance=all), then errors.tolerance=none stops sluice
DLQ_DB=$TEST_TMP/dlq.db
src_c "CREATE TABLE c (id int PRIMARY KEY, v int NOT NULL)"
# the target refuses v >= 1000; the source does not
tgt "$DLQ_DB" "CREATE TABLE c (id INTEGER PRIMARY KEY, v INTEGER NOT NULL CHECK (v < 1000))"
dlq_conf() { # dlq_conf FILE [extra lines...]
    local f=$1
    shift
    sluice_conf "$f" \
        "debezium.sink.type=jdbc" \
        "debezium.sink.jdbc.connection.url=jdbc:sqlite:file:$DLQ_DB?cache=shared" \
        "debezium.sink.jdbc.insert.mode=insert" \
        "debezium.sink.jdbc.primary.key.mode=record_key" \
        "debezium.sink.jdbc.schema.evolution=basic" \
        "debezium.sink.jdbc.table.name.format=\${source.table}" \
        "debezium.format.value.schemas.enable=true" \
        "debezium.format.key.schemas.enable=true" \
        "debezium.source.table.include.list=public.c" \
        "debezium.source.slot.name=sluice_dlq" "debezium.source.publication.name=sluice_dlq" \
        "debezium.source.offset.storage.file.filename=$TEST_TMP/dlq.offsets" \
        "$@"
}
conf=$TEST_TMP/dlq.properties
dlq_conf "$conf" "debezium.sink.jdbc.errors.tolerance=all"
src_c "INSERT INTO c SELECT g, g FROM generate_series(1, 20) g"
src_c "INSERT INTO c VALUES (21, 5000)" # refused in the snapshot's batch
start_bg sluice_dlq "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "[[ \$(tgt '$DLQ_DB' 'SELECT count(*) FROM c') == 20 ]]" 30 || fail "snapshot rows missing: $(tail -5 "$TEST_TMP/sluice_dlq.err")"
src_c "BEGIN; INSERT INTO c VALUES (100, 1), (101, 1001), (102, 2); UPDATE c SET v = 3000 WHERE id = 5; COMMIT"
src_c "INSERT INTO c VALUES (103, 3)"
wait_for "[[ \$(tgt '$DLQ_DB' 'SELECT count(*) FROM c WHERE id >= 100') == 3 ]]" 30 ||
    fail "rows around the refused ones missing: $(tail -5 "$TEST_TMP/sluice_dlq.err")"
pid_alive "$SL" || fail "sluice stopped on a refused row with errors.tolerance=all: $(tail -5 "$TEST_TMP/sluice_dlq.err")"
assert_eq "1,2,3" "$(tgt "$DLQ_DB" "SELECT group_concat(v, ',') FROM (SELECT v FROM c WHERE id >= 100 ORDER BY id)")" \
    "the good rows of the transaction arrived"
assert_eq 5 "$(tgt "$DLQ_DB" "SELECT v FROM c WHERE id = 5")" "the refused update left the row as it was"
assert_eq "pipeline|failed_at|topic|position|error|key|value" \
    "$(tgt "$DLQ_DB" "SELECT group_concat(name, '|') FROM (SELECT name FROM pragma_table_info('sluice_dead_letters') ORDER BY cid)")" \
    "sluice_dead_letters has its columns"
assert_eq 3 "$(tgt "$DLQ_DB" "SELECT count(*) FROM sluice_dead_letters")" "three dead letters (snapshot row 21, insert 101, update of 5)"
assert_eq 3 "$(tgt "$DLQ_DB" "SELECT count(*) FROM sluice_dead_letters WHERE error LIKE '%CHECK constraint failed%' AND topic = 'test.public.c' AND pipeline = 'sluice'")" \
    "each with the constraint error, its topic and pipeline"
assert_eq "1001" "$(tgt "$DLQ_DB" "SELECT json_extract(value, '\$.payload.after.v') FROM sluice_dead_letters WHERE json_extract(key, '\$.payload.id') = 101")" \
    "the dead letter holds the event's key and value"
assert_contains "$(tgt "$DLQ_DB" "SELECT error FROM sluice_dead_letters LIMIT 1")" \
    "CHECK constraint failed: v < 1000 (SQLite error 275)" "the error is SQLite's, with its extended code (SQLITE_CONSTRAINT_CHECK)"
assert_eq 1 "$(tgt "$DLQ_DB" "SELECT count(*) FROM sluice_offsets")" "the dead-letter pipeline stored its position"
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed: $(tail -5 "$TEST_TMP/sluice_dlq.err")"

conf=$TEST_TMP/none.properties
dlq_conf "$conf" # errors.tolerance=none (the default)
start_bg sluice_none "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice_none.err'" 30 || fail "sluice did not start: $(tail -5 "$TEST_TMP/sluice_none.err")"
offset_before=$(tgt "$DLQ_DB" 'SELECT "offset" FROM sluice_offsets')
src_c "BEGIN; INSERT INTO c VALUES (200, 1); INSERT INTO c VALUES (201, 1001); COMMIT"
src_c "INSERT INTO c VALUES (202, 2)"
wait_for "! pid_alive $SL" 30 || fail "sluice kept running after a refused row with errors.tolerance=none"
rc=0
wait "$SL" || rc=$?
unregister_pid "$SL"
[[ $rc -ne 0 ]] || fail "sluice exited 0 after a refused row"
grep -q 'CHECK constraint failed' "$TEST_TMP/sluice_none.err" || fail "the error is not in the log: $(tail -5 "$TEST_TMP/sluice_none.err")"
assert_eq 0 "$(tgt "$DLQ_DB" "SELECT count(*) FROM c WHERE id >= 200")" "nothing of the refused transaction (nor after it) was committed"
assert_eq "$offset_before" "$(tgt "$DLQ_DB" 'SELECT "offset" FROM sluice_offsets')" "the stored position did not move"
t_ok "errors.tolerance=none: the refusal stops sluice (exit $rc) with SQLite's error"
t_done
