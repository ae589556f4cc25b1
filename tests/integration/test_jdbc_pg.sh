#!/usr/bin/env bash
# jdbc sink, PostgreSQL -> PostgreSQL: two servers (source and target).
#  1. snapshot + a mixed workload (inserts, updates incl. a primary-key change, deletes,
#     truncate, unchanged TOAST values, hostile identifiers) with insert.mode=upsert; the
#     tables are created from the event schemas; source and target compared row by row.
#  2. types round trip: int, bigint, numeric(10,2), text, timestamptz, date, boolean,
#     bytea, jsonb, uuid (+ a few more) compare equal as text.
#  3. kill -9 of sluice at random moments during a longer workload, with insert.mode=insert:
#     a change applied twice would fail on the primary key (and stop sluice), a lost one
#     shows in the comparison; sluice_offsets holds one row, and the target equals the
#     source at the end.
#  4. COPY (insert.mode=insert, runs of >= 64 inserts): 600 rows of hostile values in one
#     transaction (tabs, newlines, carriage returns, backslashes, the text \N, \. and
#     empty strings beside NULLs, bytea with those bytes, arrays, json escapes) compare
#     equal row by row; the target's statement log shows they went through COPY.
#  5. kill -9 at random moments while 300-row insert transactions go through COPY: nothing
#     lost, nothing applied twice.
#  6. a row the target refuses inside a COPY run: errors.tolerance=none stops sluice with
#     nothing of its target transaction committed; errors.tolerance=all applies it again one
#     event at a time and writes the refused rows as dead letters.
#  7. a target table that is a view (COPY cannot load one) still gets its long insert runs,
#     as INSERTs.
#  8. updates (insert.mode=insert: an update event is an UPDATE) go out as multi-row
#     UPDATEs joined onto a UNION ALL of parameter rows: a 400-row UPDATE, the same rows
#     updated again and again inside one transaction (order kept), a table named like the
#     statement's alias, a view (one UPDATE per row), and a refused update among many
#     (dead letter, the others applied) all leave the target equal to the source.
#  9. primary.key.mode=record_value with primary.key.fields=a,b: a composite key taken from
#     the row; upserts, updates, deletes and a key change leave the target equal.
# 10. a row refused in the third COPY of one target transaction (COPYs grow from 256 rows)
#     stops sluice with none of that transaction committed, the earlier COPYs included.
source "$(dirname "$0")/lib.sh"
require_sluice

pg_start
SRC_PORT=$PGPORT SRC_DIR=$PG_DIR
pg_start
TGT_PORT=$PGPORT TGT_DIR=$PG_DIR
src_c() { PGPORT=$SRC_PORT psql_c "$@"; }
tgt_c() { PGPORT=$TGT_PORT psql_c "$@"; }
checksum() { # checksum PORT TABLE ORDER-BY
    PGPORT=$1 psql_c "SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY $3)), '-') FROM $2 x"
}
same() { [[ "$(checksum "$SRC_PORT" "$1" "$2")" == "$(checksum "$TGT_PORT" "$1" "$2")" ]]; }

src_c "CREATE TABLE t (id int PRIMARY KEY, b bigint, n numeric(10,2), s text, ts timestamptz,
        d date, f boolean, by bytea, j jsonb, u uuid, big text)"
src_c "CREATE TABLE types (id int PRIMARY KEY, i2 smallint, i4 int, i8 bigint, n numeric(10,2),
        nv numeric, r real, dp double precision, s text, vc varchar(20), ts timestamp,
        tstz timestamptz, d date, tm time, b boolean, by bytea, j json, jb jsonb, u uuid,
        ai int[], at text[])"
src_c 'CREATE TABLE "Odd ""Name"";x" ("Id" int PRIMARY KEY, "we""ird col" text, "Sel ect" int)'
src_c "CREATE TABLE k (id int PRIMARY KEY, v int NOT NULL)"
src_c "CREATE TABLE big (id int PRIMARY KEY, s text)"
# rows that exist before sluice starts: they come through the snapshot
src_c "INSERT INTO t SELECT g, g * 1000000000::bigint, g + 0.25, 'row ' || g, now(), current_date - g,
        g % 2 = 0, '\\x00ff'::bytea, jsonb_build_object('g', g), gen_random_uuid(), NULL
        FROM generate_series(1, 50) g"

conf=$TEST_TMP/app.properties
PGPORT=$SRC_PORT sluice_conf "$conf" \
    "debezium.sink.type=jdbc" \
    "debezium.sink.jdbc.connection.url=jdbc:postgresql://127.0.0.1:$TGT_PORT/postgres" \
    "debezium.sink.jdbc.connection.username=postgres" \
    "debezium.sink.jdbc.connection.password=secret" \
    "debezium.sink.jdbc.insert.mode=upsert" \
    "debezium.sink.jdbc.delete.enabled=true" \
    "debezium.sink.jdbc.truncate.enabled=true" \
    "debezium.sink.jdbc.primary.key.mode=record_key" \
    "debezium.sink.jdbc.schema.evolution=basic" \
    "debezium.sink.jdbc.table.name.format=\${source.table}" \
    "debezium.format.value.schemas.enable=true" \
    "debezium.format.key.schemas.enable=true" \
    "debezium.source.skipped.operations=none"     # Debezium skips truncates by default

run_sluice() {
    start_bg "sluice$1" "$SLUICE_BIN" run -c "$conf"
    SL=$BG_PID
}

# --- 1. snapshot + mixed workload
run_sluice 0
wait_for "same t id" 60 || fail "snapshot did not reach the target: $(tail -5 "$TEST_TMP/sluice0.err")"
t_ok "snapshot: 50 rows equal in the target (table created from the schema)"
assert_eq "integer|bigint|numeric|text|timestamp with time zone|date|boolean|bytea|json|uuid|text" \
    "$(tgt_c "SELECT string_agg(data_type, '|' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 't'")" \
    "target column types follow the schema (io.debezium.data.Json -> json: keeps the text as sent)"
assert_eq "10,2" "$(tgt_c "SELECT numeric_precision || ',' || numeric_scale FROM information_schema.columns WHERE table_name = 't' AND column_name = 'n'")" \
    "numeric(10,2) keeps precision and scale"

src_c "INSERT INTO t SELECT g, -g, -g - 0.5, 'new ' || g, now(), current_date + g, true, '\\xdeadbeef',
        '{\"a\": [1, 2]}', gen_random_uuid(), repeat('toast', 5000)
        FROM generate_series(51, 120) g"
src_c "UPDATE t SET s = 'updated', n = 99999999.99 WHERE id BETWEEN 10 AND 30"
src_c "UPDATE t SET id = id + 1000 WHERE id IN (3, 4, 5)"          # primary-key change
src_c "DELETE FROM t WHERE id BETWEEN 40 AND 45"
src_c "UPDATE t SET b = 7 WHERE id BETWEEN 51 AND 60"               # big: unchanged TOAST value
src_c "BEGIN; INSERT INTO t (id, s) VALUES (500, 'txn'); UPDATE t SET s = NULL WHERE id = 500; COMMIT"
src_c "INSERT INTO \"Odd \"\"Name\"\";x\" VALUES (1, 'a''b\"c', 1), (2, NULL, 2)"
src_c "UPDATE \"Odd \"\"Name\"\";x\" SET \"Sel ect\" = 3 WHERE \"Id\" = 2"
src_c "INSERT INTO k SELECT g, g FROM generate_series(1, 20) g"
src_c "TRUNCATE k"
src_c "INSERT INTO k VALUES (1, 100)"
src_c "INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 3000) g"   # > batch.size
src_c "UPDATE big SET s = 'x' WHERE id % 3 = 0"
ODD='"Odd ""Name"";x"'
wait_for 'same t id && same k id && same big id && same "$ODD" "\"Id\""' 60 ||
    fail "target differs: t $(checksum "$SRC_PORT" t id) vs $(checksum "$TGT_PORT" t id); k $(checksum "$SRC_PORT" k id) vs $(checksum "$TGT_PORT" k id); odd $(checksum "$SRC_PORT" "$ODD" '"Id"') vs $(checksum "$TGT_PORT" "$ODD" '"Id"'); $(tail -5 "$TEST_TMP/sluice0.err")"
t_ok "mixed workload (upsert): t, k, big (3000-row transactions, above batch.size) and a table with a hostile name equal in source and target"
assert_eq 10 "$(tgt_c "SELECT count(*) FROM t WHERE id BETWEEN 51 AND 60 AND b = 7 AND length(big) = 25000")" \
    "unchanged TOAST values kept (placeholder never written)"
assert_eq 0 "$(tgt_c "SELECT count(*) FROM t WHERE big LIKE '%unavailable%' OR s LIKE '%unavailable%'")" \
    "no placeholder text in the target"
assert_eq "1|100" "$(tgt_c "SELECT id || '|' || v FROM k")" "truncate applied, then the new row"
assert_eq 3 "$(tgt_c "SELECT count(*) FROM t WHERE id IN (1003, 1004, 1005)")" "primary-key change moved the rows"

# --- 2. types round trip
src_c "INSERT INTO types VALUES
  (1, -32768, 2147483647, -9223372036854775808, 12345678.91, 3.14159265358979323846264338327950288,
   1.1, 2.718281828459045, 'tab	nl
 quote'' \"dq\" \\ back', 'varchar', '2024-02-29 23:59:59.123456', '1999-12-31 23:59:59.999999+05:30',
   '0001-01-01', '13:14:15.654321', true, '\\x000102feff', '{\"z\": 1,  \"a\" : [true, null]}',
   '{\"k\": \"v\", \"n\": 1.50}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', '{\"a,b\",NULL,\"c\\\"d\"}'),
  (2, NULL, NULL, NULL, -0.01, -1e-30, 'NaN', '-Infinity', '', NULL, '1900-01-01 00:00:00', '2262-04-11 23:47:16.854775+00',
   '2100-12-31', '00:00:00', false, '\\x', 'null', '[]', NULL, '{}', '{}'),
  (3, 0, 0, 0, 0, 0, 0, 0, 'ünïcødé ✓', 'x', '1970-01-01 00:00:00.000001', '1969-12-31 23:59:59.999999+00',
   '1970-01-01', '23:59:59.999999', NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
wait_for "same types id" 30 || {
    PGPORT=$SRC_PORT psql_c "SELECT * FROM types ORDER BY id" >&2
    PGPORT=$TGT_PORT psql_c "SELECT * FROM types ORDER BY id" >&2
    fail "types differ; $(tail -5 "$TEST_TMP/sluice0.err")"
}
t_ok "types round trip (ints, numeric, real/double incl. NaN/Infinity, text, timestamps, date, time, bool, bytea, json, jsonb, uuid, arrays)"

kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed: $(tail -5 "$TEST_TMP/sluice0.err")"
assert_eq 1 "$(tgt_c "SELECT count(*) FROM sluice_offsets WHERE name = 'sluice'")" "sluice_offsets holds the position"

# --- 3. kill -9 at random moments; insert.mode=insert makes a duplicate apply fail loudly
echo "debezium.sink.jdbc.insert.mode=insert" >>"$conf"
KILLS=${SLUICE_JDBC_KILLS:-10}   # more: SLUICE_JDBC_KILLS=50
run_sluice 1
workload_sql 100 $((KILLS * 150)) k 12 1 | PGPORT=$SRC_PORT "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f - >/dev/null &
WL=$!
register_pid "$WL" -
restart_sluice() { run_sluice $(($1 + 1)); } # sluice2.. (sluice1 runs the workload's start)
kill9_restarts "$KILLS" restart_sluice "$WL"
wait "$WL" || fail "workload failed"
unregister_pid "$WL"
wait_for "same k id" 90 || fail "after $KILLS kills the target differs: $(checksum "$SRC_PORT" k id) vs $(checksum "$TGT_PORT" k id); $(tail -5 "$TEST_TMP/sluice$((KILLS + 1)).err")"
pid_alive "$SL" || fail "sluice stopped (a change applied twice?): $(tail -5 "$TEST_TMP/sluice$((KILLS + 1)).err")"
t_ok "kill -9 x$KILLS during $((KILLS * 150)) transactions: target equals source ($(checksum "$TGT_PORT" k id))"
assert_eq 0 "$(cat "$TEST_TMP"/sluice*.err | grep -c 'duplicate key' || true)" "no change applied twice"
assert_eq 1 "$(tgt_c "SELECT count(*) FROM sluice_offsets")" "one sluice_offsets row"
# the stored position is the last one: a graceful stop and restart applies nothing again
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed"
before=$(checksum "$TGT_PORT" k id)
run_sluice 1000
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice1000.err'" 30 || fail "restart failed: $(tail -5 "$TEST_TMP/sluice1000.err")"
src_c "INSERT INTO k VALUES (999999, 1)"
wait_for "same k id" 30 || fail "target differs after restart"
assert_eq 0 "$(grep -ci 'error' "$TEST_TMP/sluice1000.err" || true)" "restart from sluice_offsets: no error, nothing re-applied"
[[ "$before" != "$(checksum "$TGT_PORT" k id)" ]] || fail "new row did not arrive"

# --- 4. COPY escaping: hostile values in a run long enough for COPY (sluice1000 runs on)
tgt_c "ALTER SYSTEM SET log_statement = 'all'" && tgt_c "SELECT pg_reload_conf()" >/dev/null
cat >"$TEST_TMP/hostile.sql" <<'SQL'
CREATE TABLE hostile (id int PRIMARY KEY, s text, v varchar(40), by bytea, ai int[], at text[],
                      j jsonb, n numeric, ts timestamptz, f boolean);
INSERT INTO hostile SELECT g,
    (ARRAY[E'tab\there', E'nl\nhere', E'cr\rhere', E'back\\slash', E'\\N', '', NULL,
           E'end\\', E'\\.', E'\\', E'mix\t\n\r\\N\\t\\\\', 'ünïcødé ✓',
           E'quote''s "dq"', ' lead/trail ', E'\\x41', E'two\n\nlines\n'])[1 + g % 16],
    (ARRAY[E'\\N', NULL, E'a\tb', ''])[1 + g % 4],
    (ARRAY[E'\\x00ff5c0a090d4e'::bytea, ''::bytea, NULL, E'\\x5c4e'::bytea])[1 + g % 4],
    CASE g % 3 WHEN 0 THEN '{1,NULL,3}'::int[] WHEN 1 THEN '{}'::int[] END,
    CASE g % 3 WHEN 0 THEN ARRAY[E'a\\b', 'c"d', NULL, E't\tn\n', '{x}', 'NULL']
               WHEN 1 THEN ARRAY['', ',', ' ', E'\\N', E'\\'] END,
    (ARRAY['{"k": "a\\tb\\nc\\\\"}'::jsonb, '{"t": "tab\there\\u00e9"}'::jsonb,
           'null'::jsonb, NULL])[1 + g % 4],
    (ARRAY[-0.5, 1e-20, 123456789.123456789, NULL])[1 + g % 4],
    (ARRAY['2024-02-29 23:59:59.123456+00'::timestamptz, '1999-12-31 23:59:59.999999+05:30', NULL])[1 + g % 3],
    (ARRAY[true, false, NULL])[1 + g % 3]
  FROM generate_series(1, 600) g;
SQL
PGPORT=$SRC_PORT "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f "$TEST_TMP/hostile.sql" >/dev/null ||
    fail "hostile rows: the source refused them"
wait_for "same hostile id" 60 || {
    PGPORT=$SRC_PORT psql_c "SELECT * FROM hostile ORDER BY id LIMIT 20" >&2
    PGPORT=$TGT_PORT psql_c "SELECT * FROM hostile ORDER BY id LIMIT 20" >&2
    fail "hostile rows differ: $(checksum "$SRC_PORT" hostile id) vs $(checksum "$TGT_PORT" hostile id); $(tail -5 "$TEST_TMP/sluice1000.err")"
}
tgt_c "ALTER SYSTEM RESET log_statement" && tgt_c "SELECT pg_reload_conf()" >/dev/null
grep -q 'COPY "hostile" (.*) FROM STDIN' "$TGT_DIR/postgresql.log" ||
    fail "the hostile rows did not go through COPY (target log: $(grep -c 'statement:' "$TGT_DIR/postgresql.log") statements)"
assert_eq 600 "$(tgt_c "SELECT count(*) FROM hostile")" "600 hostile rows in the target"
t_ok "COPY: 600 rows of hostile text (tabs, newlines, CR, backslashes, \\N and \\. as text, '' vs NULL), bytea, arrays, json equal in source and target"

# --- 5. kill -9 while long insert transactions go through COPY
kill_copy_sql() {
    local i
    for ((i = 0; i < $1; i++)); do
        echo "INSERT INTO big SELECT g, md5(g::text) FROM generate_series($((100000 + i * 300)), $((100000 + i * 300 + 299))) g;"
        ((i % 3 == 0)) && echo "SELECT pg_sleep(0.02);"
    done
    return 0
}
kill_copy_sql $((KILLS * 20)) | PGPORT=$SRC_PORT "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f - >/dev/null &
WL=$!
register_pid "$WL" -
restart_sluice_copy() { run_sluice $((2000 + $1)); }
kill9_restarts "$KILLS" restart_sluice_copy "$WL"
wait "$WL" || fail "COPY workload failed"
unregister_pid "$WL"
wait_for "same big id" 90 || fail "after $KILLS kills during COPY runs the target differs: $(checksum "$SRC_PORT" big id) vs $(checksum "$TGT_PORT" big id); $(tail -5 "$TEST_TMP/sluice$((2000 + KILLS)).err")"
pid_alive "$SL" || fail "sluice stopped (a change applied twice?): $(tail -5 "$TEST_TMP/sluice$((2000 + KILLS)).err")"
assert_eq 0 "$(cat "$TEST_TMP"/sluice2*.err | grep -c 'duplicate key' || true)" "no COPY row applied twice"
t_ok "kill -9 x$KILLS during $((KILLS * 20)) 300-row insert transactions (COPY): target equals source ($(checksum "$TGT_PORT" big id))"
kill -TERM "$SL"
stop_pid "$SL" - 30 || true

# --- 6. a row the target refuses inside a COPY run: errors.tolerance=none stops with nothing
# of its target transaction committed; errors.tolerance=all then applies the rest again
# one event at a time (never COPY) and writes the refused rows as dead letters
src_c "CREATE TABLE chk (id int PRIMARY KEY, v int NOT NULL)"
tgt_c "CREATE TABLE chk (id int PRIMARY KEY, v int NOT NULL CHECK (v < 1000))"
run_sluice 3000
wait_for "grep -q 'streaming from' '$TEST_TMP/sluice3000.err'" 30 || fail "sluice did not start: $(tail -5 "$TEST_TMP/sluice3000.err")"
src_c "INSERT INTO chk SELECT g, CASE WHEN g IN (77, 150) THEN 5000 + g ELSE g END FROM generate_series(1, 200) g"
wait_for "! pid_alive $SL" 30 || fail "sluice kept running after a refused row in a COPY run (errors.tolerance=none)"
wait "$SL" || true
unregister_pid "$SL"
grep -q 'COPY failed: .*violates check constraint' "$TEST_TMP/sluice3000.err" ||
    fail "the COPY's error is not in the log: $(tail -3 "$TEST_TMP/sluice3000.err")"
# the pipeline may commit a long source transaction in parts (each with its position): what
# is there must be a prefix that ends before the refused row
assert_eq "t" "$(tgt_c "SELECT count(*) = coalesce(max(id), 0) AND coalesce(max(id), 0) < 77 FROM chk")" \
    "errors.tolerance=none: a refused row in a COPY stops sluice, nothing of its target transaction committed"
echo "debezium.sink.jdbc.errors.tolerance=all" >>"$conf"
run_sluice 3001
wait_for "[[ \$(tgt_c 'SELECT count(*) FROM chk') == 198 ]]" 30 || fail "the good rows did not arrive: $(tail -5 "$TEST_TMP/sluice3001.err")"
assert_eq "77,150" "$(tgt_c "SELECT string_agg(key::json->'payload'->>'id', ',' ORDER BY key::json->'payload'->>'id' COLLATE \"C\" DESC) FROM sluice_dead_letters WHERE error LIKE '%violates check constraint%'")" \
    "errors.tolerance=all: the two refused rows of the COPY run are dead letters"
pid_alive "$SL" || fail "sluice stopped: $(tail -5 "$TEST_TMP/sluice3001.err")"
t_ok "a refused row in a COPY run: stops with tolerance=none (nothing committed); dead letters with tolerance=all"

# --- 7. a target that is a view takes no COPY: a long insert run goes in as INSERTs
src_c "CREATE TABLE vt (id int PRIMARY KEY, v text)"
tgt_c "CREATE TABLE vt_base (id int PRIMARY KEY, v text)"
tgt_c "CREATE VIEW vt AS SELECT * FROM vt_base"   # automatically updatable
src_c "INSERT INTO vt SELECT g, 'v' || g FROM generate_series(1, 150) g"
wait_for "[[ \$(tgt_c 'SELECT count(*) FROM vt_base') == 150 ]]" 30 || fail "rows into a view did not arrive: $(tail -5 "$TEST_TMP/sluice3001.err")"
assert_eq 0 "$(tgt_c "SELECT count(*) FROM sluice_dead_letters WHERE topic LIKE '%.vt'")" "a view target: 150 rows through INSERT, no dead letter"

# --- 8. multi-row UPDATEs (sluice3001 runs on: insert.mode=insert, errors.tolerance=all)
tgt_c "ALTER SYSTEM SET log_statement = 'all'" && tgt_c "SELECT pg_reload_conf()" >/dev/null
src_c "CREATE TABLE upd (id int PRIMARY KEY, a int, s text, ts timestamptz, n numeric(8,2))"
src_c 'CREATE TABLE sluice_rows (id int PRIMARY KEY, "V" text)'
src_c "INSERT INTO upd SELECT g, g, 's' || g, now(), g / 4.0 FROM generate_series(1, 400) g"
src_c "INSERT INTO sluice_rows SELECT g, 'v' || g FROM generate_series(1, 50) g"
wait_for "same upd id && same sluice_rows id" 30 || fail "update test rows did not arrive"
src_c "UPDATE upd SET a = a + 1, s = s || 'x', ts = ts + interval '1 day', n = n * 2"
src_c "BEGIN; UPDATE upd SET a = a * 2 WHERE id <= 20; UPDATE upd SET a = a + 7 WHERE id <= 10;
       UPDATE upd SET s = 'z' || s WHERE id IN (3, 300); UPDATE upd SET a = -a WHERE id <= 20; COMMIT"
src_c "UPDATE sluice_rows SET \"V\" = \"V\" || '!'"
src_c "UPDATE vt SET v = v || '?' WHERE id <= 100"
vt_marked() { [[ $(tgt_c "SELECT count(*) FROM vt_base WHERE v LIKE '%?'") == 100 ]]; }
wait_for "same upd id && same sluice_rows id && vt_marked" 30 || {
    PGPORT=$SRC_PORT psql_c "SELECT * FROM upd WHERE id <= 12 ORDER BY id" >&2
    PGPORT=$TGT_PORT psql_c "SELECT * FROM upd WHERE id <= 12 ORDER BY id" >&2
    fail "updates differ: upd $(checksum "$SRC_PORT" upd id) vs $(checksum "$TGT_PORT" upd id), sluice_rows $(checksum "$SRC_PORT" sluice_rows id) vs $(checksum "$TGT_PORT" sluice_rows id), vt_base $(tgt_c "SELECT count(*) FROM vt_base WHERE v LIKE '%?'"); $(tail -5 "$TEST_TMP/sluice3001.err")"
}
grep -q 'UPDATE "upd" SET .* UNION ALL SELECT \$1, ' "$TGT_DIR/postgresql.log" ||
    fail "the updates did not go out as multi-row UPDATEs"
t_ok "multi-row UPDATEs: 400 rows, the same rows updated 4 times in one transaction, a table named sluice_rows, a view: target equals source"
# a refused update among many: a dead letter, the others applied
tgt_c "ALTER TABLE upd ADD CONSTRAINT a_small CHECK (a < 100000)"
src_c "UPDATE upd SET a = CASE WHEN id = 250 THEN 500000 ELSE a + 1 END WHERE id > 200"
wait_for "[[ \$(tgt_c \"SELECT count(*) FROM sluice_dead_letters WHERE error LIKE '%a_small%'\") == 1 ]]" 30 ||
    fail "the refused update is not a dead letter: $(tail -5 "$TEST_TMP/sluice3001.err")"
src_sum=$(src_c "SELECT md5(string_agg(id || ':' || a, ',' ORDER BY id)) FROM upd WHERE id > 200 AND id <> 250")
assert_eq "$src_sum" "$(tgt_c "SELECT md5(string_agg(id || ':' || a, ',' ORDER BY id)) FROM upd WHERE id > 200 AND id <> 250")" \
    "the 199 other updates of the statement are applied"
# the dead letter holds key and value as JsonConverter writes them, schemas included
# (the sink reads events split from their schemas: it joins them again here)
assert_eq "250|t|500000" "$(tgt_c "SELECT key::json->'payload'->>'id',
    value::json->'schema'->>'name' LIKE '%.upd.Envelope', value::json->'payload'->'after'->>'a'
    FROM sluice_dead_letters WHERE error LIKE '%a_small%'")" \
    "the dead letter carries the event's key and value with their schemas"
tgt_c "ALTER SYSTEM RESET log_statement" && tgt_c "SELECT pg_reload_conf()" >/dev/null
t_ok "a refused update among 200: one dead letter, the other 199 applied"
kill -TERM "$SL"
stop_pid "$SL" - 30 || true

# --- 9. primary.key.mode=record_value with primary.key.fields (a composite key taken from
# the row, not the event key), upserts, updates and deletes (REPLICA IDENTITY FULL: the
# delete's before image holds the key fields), a key change
src_c "CREATE TABLE cpk (a int, b text, v int, w text, PRIMARY KEY (a, b));
       ALTER TABLE cpk REPLICA IDENTITY FULL"
printf '%s\n' "debezium.sink.jdbc.primary.key.mode=record_value" \
    "debezium.sink.jdbc.primary.key.fields=a,b" "debezium.sink.jdbc.insert.mode=upsert" >>"$conf"
run_sluice 4000
src_c "INSERT INTO cpk SELECT g % 50, 'k' || (g / 50), g, 'w' || g FROM generate_series(1, 300) g"
src_c "BEGIN; UPDATE cpk SET v = -v, w = w || '!' WHERE a < 10; DELETE FROM cpk WHERE a = 20;
       UPDATE cpk SET b = b || 'x' WHERE a = 30; INSERT INTO cpk VALUES (20, 'k1', 7, 'again'); COMMIT"
wait_for "same cpk 'a, b'" 30 || fail "cpk differs: $(checksum "$SRC_PORT" cpk 'a, b') vs $(checksum "$TGT_PORT" cpk 'a, b'); $(tail -5 "$TEST_TMP/sluice4000.err")"
assert_eq "a,b" "$(tgt_c "SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey, a.attnum))
    FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = 'cpk'::regclass AND i.indisprimary")" "the target table's primary key is primary.key.fields"
t_ok "record_value with primary.key.fields: upserts, updates, deletes and a key change on a composite key"
kill -TERM "$SL"
stop_pid "$SL" - 30 || true

# --- 10. a target transaction of several COPYs (they grow from 256 rows, doubling): a row
# refused in a later COPY undoes the earlier, successful ones too (errors.tolerance=none)
src_c "CREATE TABLE chk2 (id int PRIMARY KEY, v int NOT NULL)"
tgt_c "CREATE TABLE chk2 (id int PRIMARY KEY, v int NOT NULL CHECK (v < 100000))"
printf '%s\n' "debezium.sink.jdbc.primary.key.mode=record_key" \
    "debezium.sink.jdbc.insert.mode=insert" "debezium.sink.jdbc.errors.tolerance=none" >>"$conf"
tgt_c "ALTER SYSTEM SET log_statement = 'all'" && tgt_c "SELECT pg_reload_conf()" >/dev/null
run_sluice 5000
src_c "INSERT INTO chk2 SELECT g, g FROM generate_series(1, 700) g"
wait_for "[[ \$(tgt_c 'SELECT count(*) FROM chk2') == 700 ]]" 30 || fail "the first 700 rows did not arrive: $(tail -5 "$TEST_TMP/sluice5000.err")"
# 1,000 rows in one transaction: COPYs of 256, 512 and 232 rows; row 1600 is in the third
src_c "INSERT INTO chk2 SELECT g, CASE WHEN g = 1600 THEN 500000 ELSE g END FROM generate_series(701, 1700) g"
wait_for "! pid_alive $SL" 30 || fail "sluice kept running after a refused row (errors.tolerance=none)"
wait "$SL" || true
unregister_pid "$SL"
tgt_c "ALTER SYSTEM RESET log_statement" && tgt_c "SELECT pg_reload_conf()" >/dev/null
[[ $(grep -c 'COPY "chk2"' "$TGT_DIR/postgresql.log") -ge 5 ]] ||
    fail "the transactions did not go out as several COPYs: $(grep -c 'COPY "chk2"' "$TGT_DIR/postgresql.log")"
assert_eq "700" "$(tgt_c 'SELECT count(*) FROM chk2')" \
    "a row refused in a transaction's third COPY: nothing of that transaction is committed"
t_done
