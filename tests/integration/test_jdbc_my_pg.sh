#!/usr/bin/env bash
# jdbc sink, MariaDB -> PostgreSQL (the classic OLTP -> analytics sync): snapshot, then a
# mixed workload (multi-row inserts, updates incl. a primary-key change, deletes) into
# tables the sink creates from the events' schemas; then kill -9 of sluice at random
# moments during a longer workload with insert.mode=insert (a change applied twice would
# hit the primary key and stop sluice; a lost one shows in the comparison). At the end
# every table's rows, rendered as text on both sides, compare equal.
source "$(dirname "$0")/lib.sh"
require_sluice

my_start
pg_start
my_sql "CREATE DATABASE inv;
        CREATE TABLE inv.t (id INT PRIMARY KEY, b BIGINT, n DECIMAL(10,2), s VARCHAR(40), d DATE,
                            ts DATETIME(6), f BOOLEAN);
        CREATE TABLE inv.k (id INT PRIMARY KEY, v INT NOT NULL);
        USE inv; INSERT INTO t SELECT seq, seq * 1000000000, seq + 0.25, CONCAT('row ', seq),
                 '2024-01-01' + INTERVAL seq DAY, '2024-01-01 10:00:00.123456' + INTERVAL seq SECOND,
                 seq % 2 FROM seq_1_to_50;"
conf=$TEST_TMP/app.properties
my_sluice_conf "$conf" \
    "debezium.sink.type=jdbc" \
    "debezium.sink.jdbc.connection.url=jdbc:postgresql://127.0.0.1:$PGPORT/postgres" \
    "debezium.sink.jdbc.connection.username=postgres" \
    "debezium.sink.jdbc.connection.password=secret" \
    "debezium.sink.jdbc.insert.mode=upsert" \
    "debezium.sink.jdbc.delete.enabled=true" \
    "debezium.sink.jdbc.primary.key.mode=record_key" \
    "debezium.sink.jdbc.schema.evolution=basic" \
    "debezium.sink.jdbc.table.name.format=\${source.table}" \
    "debezium.format.value.schemas.enable=true" \
    "debezium.format.key.schemas.enable=true"

# compare TABLE: the same rows on both sides, as text (dates as days, decimals as text)
my_rows() { my_sql "SELECT id, b, n, s, DATEDIFF(d, '1970-01-01'), DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f'), f FROM inv.t ORDER BY id" | md5sum; }
pg_rows() {
    psql_c "SELECT id || E'\t' || b || E'\t' || n || E'\t' || s || E'\t' || (d - '1970-01-01'::date) || E'\t' || to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US') || E'\t' || f FROM t ORDER BY id" | md5sum
}
k_same() { [[ "$(my_sql 'SELECT id, v FROM inv.k ORDER BY id' | md5sum)" == "$(psql_c "SELECT id || E'\t' || v FROM k ORDER BY id" | md5sum)" ]]; }

start_bg sluice "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "psql_c 'SELECT count(*) FROM t' 2>/dev/null | grep -qx 50" 60 ||
    fail "snapshot not applied: $(tail -5 "$TEST_TMP/sluice.err")"
my_sql "USE inv;
        INSERT INTO t SELECT seq, seq, seq / 3, 'new', '2000-02-29', '1999-12-31 23:59:59.999999', 1 FROM seq_51_to_80;
        UPDATE t SET s = 'upd', n = -n WHERE id % 7 = 0;
        UPDATE t SET id = 1000 WHERE id = 3;
        DELETE FROM t WHERE id BETWEEN 60 AND 65;
        INSERT INTO k VALUES (1, 1);"
wait_for 'psql_c "SELECT count(*) FROM k" 2>/dev/null | grep -qx 1' 60 || fail "workload not applied: $(tail -5 "$TEST_TMP/sluice.err")"
wait_for '[ "$(my_rows)" = "$(pg_rows)" ]' 30 || fail "target differs from source: $(tail -3 "$TEST_TMP/sluice.err")"
t_ok "snapshot + inserts, updates, key change, deletes: target equals source"
bool_type=$(psql_c "SELECT data_type FROM information_schema.columns WHERE table_name = 't' AND column_name = 'n'")
assert_eq "numeric" "$bool_type" "DECIMAL(10,2) becomes numeric in the target"

# kill -9 during a workload, insert.mode=insert: exactly once or sluice stops on a duplicate key
kill -9 "$SL"; stop_pid "$SL" - 10 || true
sed -i 's/insert.mode=upsert/insert.mode=insert/' "$conf"
start_bg sluice1 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
( for i in $(seq 0 199); do
      a=$((100000 + i * 10))
      echo "INSERT INTO k SELECT seq, seq FROM seq_${a}_to_$((a + 9)); UPDATE k SET v = v + 1 WHERE id = $a;"
      [ $((i % 20)) = 19 ] && echo "DELETE FROM k WHERE id = $((a + 1));"
      echo "DO SLEEP(0.005);"
  done ) | sed '1i USE inv;' | _my_client >/dev/null &
WL=$!
register_pid "$WL" -
kills=0
for n in 2 3 4 5 6; do
    sleep "0.$((RANDOM % 6 + 2))"
    kill -9 "$SL" 2>/dev/null || true
    stop_pid "$SL" - 10 || true
    kills=$((kills + 1))
    start_bg "sluice$n" "$SLUICE_BIN" run -c "$conf"
    SL=$BG_PID
done
wait "$WL" || fail "workload failed"
unregister_pid "$WL"
wait_for k_same 60 || fail "after $kills kills the target differs: $(psql_c 'SELECT count(*) FROM k') rows vs $(my_sql 'SELECT COUNT(*) FROM inv.k'); $(tail -3 "$TEST_TMP/sluice$n.err")"
kill -0 "$SL" 2>/dev/null || fail "sluice stopped (a change applied twice?): $(tail -3 "$TEST_TMP/sluice$n.err")"
t_ok "kill -9 x$kills with insert.mode=insert: no change lost or applied twice"
assert_eq 1 "$(psql_c 'SELECT count(*) FROM sluice_offsets')" "one offsets row in the target"
assert_contains "$(psql_c 'SELECT "offset" FROM sluice_offsets')" "source=mysql" "the MariaDB position is stored in the target"
stop_pid "$SL" TERM 20 || fail "sluice did not stop"
t_done
