#!/usr/bin/env bash
# jdbc sink, PostgreSQL -> MariaDB: a PostgreSQL source and a MariaDB target (database tgt,
# reached as its own user with the credentials in the URL, percent-encoded).
#  1. snapshot + a mixed workload with insert.mode=upsert (inserts, updates incl. a
#     primary-key change, deletes, TRUNCATE, unchanged TOAST values, a table whose name and
#     columns hold quotes, backticks, spaces, semicolons and mixed case, a 1500-row
#     transaction above batch.size) and a types table; the tables are created from the
#     event schemas; source and target compared row by row for every table.
#  2. ALTER TABLE ... ADD COLUMN on the source while streaming: the column appears in the
#     target and its values arrive.
#  3. kill -9 of sluice at 5 random moments during a longer workload with
#     insert.mode=insert: a change applied twice would fail on the primary key (and stop
#     sluice), a lost one shows in the comparison; sluice_offsets holds one row and the
#     target equals the source at the end.
#
# How rows are compared: each side renders every row as one line of text, columns joined
# by '|' (CONCAT_WS in MariaDB, concat_ws in PostgreSQL), NULL as <NULL> (both functions
# skip NULLs, so every column is COALESCEd first), ordered by the key; the two outputs'
# md5s must match. Per type (PostgreSQL -> MariaDB column, and the rendering on each side):
#  - int, bigint, smallint: INT/BIGINT/SMALLINT, plain decimal text on both sides;
#  - numeric(10,2) -> DECIMAL(10,2): the text of both has exactly two decimals;
#  - numeric (no scale) -> DECIMAL(65,30): MariaDB pads to 30 decimals, so its text loses
#    trailing zeros (and a trailing '.'), PostgreSQL's goes through trim_scale();
#  - real -> FLOAT, double precision -> DOUBLE: values chosen so both print them the same
#    short way (1.5, -0.25, 2.718281828459045; no exponents, no NaN/Infinity, which
#    MariaDB cannot store);
#  - text, varchar, the TOASTed column: md5() of the UTF-8 bytes on both sides (tabs,
#    newlines and backslashes would otherwise be escaped differently by the two clients);
#  - timestamp -> DATETIME(6): 'YYYY-MM-DD HH:MI:SS.ffffff' (DATE_FORMAT / to_char);
#  - timestamptz -> DATETIME(6) holding UTC: PostgreSQL's value AT TIME ZONE 'UTC', same
#    format;
#  - date -> DATE, time -> TIME(6): 'YYYY-MM-DD', 'HH:MI:SS.ffffff';
#  - boolean -> BOOLEAN (TINYINT(1)): 0/1 (PostgreSQL b::int);
#  - bytea -> LONGBLOB: upper-case hex (HEX() / upper(encode(.., 'hex')));
#  - json, jsonb -> JSON (LONGTEXT): the text exactly as Debezium sent it, which is the
#    json value's own text and jsonb's normalised text (j::text on the PostgreSQL side);
#  - uuid -> CHAR(36): the canonical lower-case text.
# shellcheck disable=SC2016  # backticks in single quotes are MariaDB identifier quotes
source "$(dirname "$0")/lib.sh"
require_sluice

pg_start
my_start
# The target user's password needs percent-encoding in the URL (';' and '&').
my_sql "CREATE DATABASE tgt CHARACTER SET utf8mb4;
        CREATE USER 'sink'@'127.0.0.1' IDENTIFIED BY 'p;w&d';
        GRANT ALL PRIVILEGES ON tgt.* TO 'sink'@'127.0.0.1';"
src_c() { psql_c "$@"; }
tgt_c() { my_sql "$1" -D tgt; }

# Hostile identifiers, spelled for each side.
ODD_PG='"Odd ""Name""`;x"'
ODD_MY='`Odd "Name"``;x`'

# rows_pg TABLE-SQL ORDER-BY EXPR...: the canonical lines of a PostgreSQL table.
rows_pg() {
    local tbl=$1 ord=$2 e cols=""
    shift 2
    for e in "$@"; do cols+="${cols:+, }coalesce(($e)::text, '<NULL>')"; done
    src_c "SELECT concat_ws('|', $cols) FROM $tbl ORDER BY $ord"
}
# rows_my TABLE-SQL ORDER-BY EXPR...: the same for the MariaDB table.
rows_my() {
    local tbl=$1 ord=$2 e cols=""
    shift 2
    for e in "$@"; do cols+="${cols:+, }COALESCE($e, '<NULL>')"; done
    tgt_c "SELECT CONCAT_WS('|', $cols) FROM $tbl ORDER BY $ord"
}
TS_PG="'YYYY-MM-DD HH24:MI:SS.US'"
TS_MY="'%Y-%m-%d %H:%i:%s.%f'"
# Per table: the column expressions of each side, in the same order.
T_PG=(id b n "md5(s)" "to_char(ts AT TIME ZONE 'UTC', $TS_PG)" "to_char(d, 'YYYY-MM-DD')"
      "f::int" "upper(encode(by, 'hex'))" "j::text" "u::text" "md5(big)")
T_MY=(id b n "MD5(s)" "DATE_FORMAT(ts, $TS_MY)" "DATE_FORMAT(d, '%Y-%m-%d')"
      f "HEX(\`by\`)" j u "MD5(big)")
TY_PG=(id i2 i4 i8 n "trim_scale(nv)" r dp "md5(s)" "md5(vc)" "to_char(ts, $TS_PG)"
       "to_char(tstz AT TIME ZONE 'UTC', $TS_PG)" "to_char(d, 'YYYY-MM-DD')"
       "to_char(tm, 'HH24:MI:SS.US')" "b::int" "upper(encode(by, 'hex'))" "j::text" "jb::text"
       "u::text")
TY_MY=(id i2 i4 i8 n "TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM nv))" r dp "MD5(s)" "MD5(vc)"
       "DATE_FORMAT(ts, $TS_MY)" "DATE_FORMAT(tstz, $TS_MY)" "DATE_FORMAT(d, '%Y-%m-%d')"
       "TIME_FORMAT(tm, '%H:%i:%s.%f')" b "HEX(\`by\`)" j jb u)
ODD_COLS_PG=('"Id"' 'md5("we""ird col")' '"Sel ect"' 'md5("back`tick;Col")')
ODD_COLS_MY=('`Id`' 'MD5(`we"ird col`)' '`Sel ect`' 'MD5(`back``tick;Col`)')

# same NAME: the table's canonical rows are equal on both sides
same() {
    local a b
    case $1 in
        t) a=$(rows_pg t id "${T_PG[@]}") b=$(rows_my t id "${T_MY[@]}") ;;
        types) a=$(rows_pg types id "${TY_PG[@]}") b=$(rows_my types id "${TY_MY[@]}") ;;
        odd) a=$(rows_pg "$ODD_PG" '"Id"' "${ODD_COLS_PG[@]}")
             b=$(rows_my "$ODD_MY" '`Id`' "${ODD_COLS_MY[@]}") ;;
        k) a=$(rows_pg k id id v) b=$(rows_my k id id v) ;;
        big) a=$(rows_pg big id id "md5(s)") b=$(rows_my big id id "MD5(s)") ;;
        extra) a=$(rows_pg t id id extra) b=$(rows_my t id id extra) ;;
        *) fail "same: unknown table $1" ;;
    esac
    [[ -n "$a" && "$(md5sum <<<"$a")" == "$(md5sum <<<"$b")" ]]
}
# show NAME: both sides' lines that differ, for a failure message
show() {
    diff <(case $1 in
               t) rows_pg t id "${T_PG[@]}" ;; types) rows_pg types id "${TY_PG[@]}" ;;
               k) rows_pg k id id v ;; *) echo "?" ;;
           esac) \
         <(case $1 in
               t) rows_my t id "${T_MY[@]}" ;; types) rows_my types id "${TY_MY[@]}" ;;
               k) rows_my k id id v ;; *) echo "?" ;;
           esac) | head -n 10 || true
}

src_c "CREATE TABLE t (id int PRIMARY KEY, b bigint, n numeric(10,2), s text, ts timestamptz,
        d date, f boolean, by bytea, j jsonb, u uuid, big text)"
src_c "CREATE TABLE types (id int PRIMARY KEY, i2 smallint, i4 int, i8 bigint, n numeric(10,2),
        nv numeric, r real, dp double precision, s text, vc varchar(20), ts timestamp,
        tstz timestamptz, d date, tm time, b boolean, by bytea, j json, jb jsonb, u uuid)"
src_c 'CREATE TABLE '"$ODD_PG"' ("Id" int PRIMARY KEY, "we""ird col" text, "Sel ect" int,
        "back`tick;Col" text)'
src_c "CREATE TABLE k (id int PRIMARY KEY, v int NOT NULL)"
src_c "CREATE TABLE big (id int PRIMARY KEY, s text)"
# rows that exist before sluice starts: they come through the snapshot
src_c "INSERT INTO t SELECT g, g * 1000000000::bigint, g + 0.25, 'row ' || g, now(), current_date - g,
        g % 2 = 0, '\\x00ff'::bytea, jsonb_build_object('g', g), gen_random_uuid(), NULL
        FROM generate_series(1, 50) g"

conf=$TEST_TMP/app.properties
sluice_conf "$conf" \
    "debezium.sink.type=jdbc" \
    "debezium.sink.jdbc.connection.url=jdbc:mariadb://127.0.0.1:$MY_PORT/tgt?user=sink&password=p%3Bw%26d&connectTimeout=5000" \
    "debezium.sink.jdbc.insert.mode=upsert" \
    "debezium.sink.jdbc.delete.enabled=true" \
    "debezium.sink.jdbc.truncate.enabled=true" \
    "debezium.sink.jdbc.primary.key.mode=record_key" \
    "debezium.sink.jdbc.schema.evolution=basic" \
    "debezium.sink.jdbc.table.name.format=\${source.table}" \
    "debezium.format.value.schemas.enable=true" \
    "debezium.format.key.schemas.enable=true" \
    "debezium.source.skipped.operations=none"     # Debezium skips truncates by default
chmod 600 "$conf"

run_sluice() {
    start_bg "sluice$1" "$SLUICE_BIN" run -c "$conf"
    SL=$BG_PID
}

assert_contains "$("$SLUICE_BIN" check -c "$conf" 2>&1 || true)" \
    "jdbc sink connects to MariaDB 10." "sluice check describes the target"

# --- 1. snapshot + mixed workload
run_sluice 0
wait_for "same t" 60 || fail "snapshot did not reach the target: $(show t)"
t_ok "snapshot: 50 rows equal in the target (table created from the schema)"
assert_eq "int|bigint|decimal|longtext|datetime|date|tinyint|longblob|longtext|char|longtext" \
    "$(tgt_c "SELECT GROUP_CONCAT(data_type ORDER BY ordinal_position SEPARATOR '|') FROM information_schema.columns WHERE table_schema = 'tgt' AND table_name = 't'")" \
    "target column types follow the schema"
assert_eq "10,2 6" "$(tgt_c "SELECT CONCAT(numeric_precision, ',', numeric_scale), (SELECT datetime_precision FROM information_schema.columns WHERE table_schema = 'tgt' AND table_name = 't' AND column_name = 'ts') FROM information_schema.columns WHERE table_schema = 'tgt' AND table_name = 't' AND column_name = 'n'" | tr '\t' ' ')" \
    "numeric(10,2) keeps precision and scale, timestamps keep microseconds"

src_c "INSERT INTO t SELECT g, -g, -g - 0.5, 'new ' || g, now(), current_date + g, true, '\\xdeadbeef',
        '{\"a\": [1, 2]}', gen_random_uuid(), repeat('toast', 5000)
        FROM generate_series(51, 120) g"
src_c "UPDATE t SET s = 'updated', n = 99999999.99 WHERE id BETWEEN 10 AND 30"
src_c "UPDATE t SET id = id + 1000 WHERE id IN (3, 4, 5)"          # primary-key change
src_c "DELETE FROM t WHERE id BETWEEN 40 AND 45"
src_c "UPDATE t SET b = 7 WHERE id BETWEEN 51 AND 60"               # big: unchanged TOAST value
src_c "BEGIN; INSERT INTO t (id, s) VALUES (500, 'txn'); UPDATE t SET s = NULL WHERE id = 500; COMMIT"
src_c 'INSERT INTO '"$ODD_PG"' VALUES (1, '"'a''b\"c\`d;'"', 1, '"'x\`y'"'), (2, NULL, 2, NULL)'
src_c 'UPDATE '"$ODD_PG"' SET "Sel ect" = 3, "back`tick;Col" = '"'z'"' WHERE "Id" = 2'
src_c 'DELETE FROM '"$ODD_PG"' WHERE "Id" = 1'
src_c 'INSERT INTO '"$ODD_PG"' VALUES (3, '"'\`; DROP TABLE t; --'"', 3, NULL)'
src_c "INSERT INTO k SELECT g, g FROM generate_series(1, 20) g"
src_c "TRUNCATE k"
src_c "INSERT INTO k VALUES (1, 100)"
src_c "INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 1500) g"   # > batch.size
src_c "UPDATE big SET s = 'x' WHERE id % 3 = 0"
wait_for 'same t && same k && same big && same odd' 60 ||
    fail "target differs: t: $(show t); k: $(show k); $(tail -5 "$TEST_TMP/sluice0.err")"
t_ok "mixed workload (upsert): t, k, big (1500-row transaction, above batch.size) and a table with a hostile name equal in source and target"
assert_eq "Id|we\"ird col|Sel ect|back\`tick;Col" \
    "$(tgt_c "SELECT GROUP_CONCAT(column_name ORDER BY ordinal_position SEPARATOR '|') FROM information_schema.columns WHERE table_schema = 'tgt' AND table_name = 'Odd \"Name\"\`;x'")" \
    "hostile table and column names kept exactly"
assert_eq 10 "$(tgt_c "SELECT COUNT(*) FROM t WHERE id BETWEEN 51 AND 60 AND b = 7 AND LENGTH(big) = 25000")" \
    "unchanged TOAST values kept (placeholder never written)"
assert_eq 0 "$(tgt_c "SELECT COUNT(*) FROM t WHERE big LIKE '%unavailable%' OR s LIKE '%unavailable%'")" \
    "no placeholder text in the target"
assert_eq "1|100" "$(tgt_c "SELECT CONCAT_WS('|', id, v) FROM k")" "truncate applied, then the new row"
assert_eq 3 "$(tgt_c "SELECT COUNT(*) FROM t WHERE id IN (1003, 1004, 1005)")" "primary-key change moved the rows"
assert_eq 2 "$(tgt_c "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'tgt' AND table_name IN ('t', 'k')")" \
    "the hostile value did not run as SQL"

# types: edge values of each type, NULLs, and a row of zeros / empty values
src_c "INSERT INTO types VALUES
  (1, -32768, 2147483647, -9223372036854775808, 12345678.91, 3.141592653589793238462643383279,
   1.5, 2.718281828459045, 'tab	nl
 quote'' \"dq\" \\ back \` tick', 'varchar ünï', '2024-02-29 23:59:59.123456', '1999-12-31 23:59:59.999999+05:30',
   '0001-01-01', '13:14:15.654321', true, '\\x000102feff', '{\"z\": 1,  \"a\" : [true, null]}',
   '{\"k\": \"v\", \"n\": 1.50}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
  (2, 32767, -2147483648, 9223372036854775807, -0.01, -0.000000000000000000000000000001, -0.25,
   -0.5, '', NULL, '1900-01-01 00:00:00', '2262-04-11 23:47:16.854775+00',
   '9999-12-31', '00:00:00', false, '\\x', 'null', '[]', NULL),
  (3, 0, 0, 0, 0, 12345678901234567890123456789012345, 0, 0, 'ünïcødé ✓ 😀', 'x',
   '1970-01-01 00:00:00.000001', '1969-12-31 23:59:59.999999+00', '1970-01-01',
   '23:59:59.999999', NULL, NULL, NULL, NULL, NULL),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL)"
wait_for "same types" 30 || fail "types differ: $(show types); $(tail -5 "$TEST_TMP/sluice0.err")"
t_ok "types round trip (smallint, int, bigint, numeric with and without scale, real, double, text, varchar, timestamp, timestamptz, date, time, boolean, bytea, json, jsonb, uuid)"

# --- 2. schema change while streaming
src_c "ALTER TABLE t ADD COLUMN extra varchar(30)"
src_c "INSERT INTO t (id, s, extra) VALUES (600, 'with extra', 'x1'), (601, NULL, NULL)"
src_c "UPDATE t SET extra = 'upd ' || id WHERE id BETWEEN 100 AND 105"
wait_for "same extra" 30 || fail "the new column did not arrive: $(tail -5 "$TEST_TMP/sluice0.err")"
t_ok "ALTER TABLE ADD COLUMN on the source: the column is added to the target and its values arrive"
assert_eq "longtext" "$(tgt_c "SELECT data_type FROM information_schema.columns WHERE table_schema = 'tgt' AND table_name = 't' AND column_name = 'extra'")" \
    "the added column has the schema's type"
wait_for "same t" 10 || fail "t differs after the schema change: $(show t)"
t_ok "the other columns of t are still equal"

kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed: $(tail -5 "$TEST_TMP/sluice0.err")"
assert_eq 1 "$(tgt_c "SELECT COUNT(*) FROM sluice_offsets WHERE name = 'sluice'")" "sluice_offsets holds the position"

# --- 3. kill -9 at random moments; insert.mode=insert makes a duplicate apply fail loudly
echo "debezium.sink.jdbc.insert.mode=insert" >>"$conf"
KILLS=5
run_sluice 1
workload_sql 100 $((KILLS * 120)) k 10 1 | "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f - >/dev/null &
WL=$!
register_pid "$WL" -
restart_sluice() { run_sluice $(($1 + 1)); } # sluice2.. (sluice1 runs the workload's start)
kill9_restarts "$KILLS" restart_sluice "$WL"
wait "$WL" || fail "workload failed"
unregister_pid "$WL"
last=$TEST_TMP/sluice$((KILLS + 1)).err
wait_for "same k" 60 || fail "after $KILLS kills the target differs: $(show k); $(tail -5 "$last")"
pid_alive "$SL" || fail "sluice stopped (a change applied twice?): $(tail -5 "$last")"
t_ok "kill -9 x$KILLS during $((KILLS * 120)) transactions: target equals source ($(tgt_c 'SELECT COUNT(*) FROM k') rows)"
assert_eq 0 "$(cat "$TEST_TMP"/sluice*.err | grep -c 'Duplicate entry' || true)" "no change applied twice"
assert_eq 1 "$(tgt_c "SELECT COUNT(*) FROM sluice_offsets")" "one sluice_offsets row"
kill -TERM "$SL"
stop_pid "$SL" - 30 || fail "graceful stop failed: $(tail -5 "$last")"
assert_eq 0 "$(grep -ci 'error' "$last" || true)" "no error in the last run"

# --- 4. a value the column would round is refused, never stored changed: DECIMAL(65,30)
# keeps 30 decimals, MariaDB rounds a 31st with only a note (even in strict mode)
pos=$(tgt_c "SELECT MD5(\`offset\`) FROM sluice_offsets")
run_sluice 2000
src_c "INSERT INTO types (id, nv) VALUES (5, 0.1234567890123456789012345678901)"
wait_for "! pid_alive $SL" 30 || fail "sluice went on after a value the target would round"
stop_pid "$SL" - 10 || true
assert_contains "$(cat "$TEST_TMP/sluice2000.err")" "Data truncated for column 'nv'" \
    "a value the target would round stops the pipeline with the target's message"
assert_eq "0 $pos" "$(tgt_c "SELECT COUNT(*), (SELECT MD5(\`offset\`) FROM sluice_offsets) FROM types WHERE id = 5" | tr '\t' ' ')" \
    "nothing of that transaction is stored, the position did not move"
t_done
