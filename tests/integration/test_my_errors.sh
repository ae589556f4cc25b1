#!/usr/bin/env bash
# MariaDB source under wrong settings and lost positions: each case stops with its exact
# one-line message (exit 1), never a guess; `sluice check` names what is missing; a
# purged binlog is an error unless snapshot.mode=when_needed takes a new snapshot.
source "$(dirname "$0")/lib.sh"
require_sluice

my_start
my_sql "CREATE DATABASE inv; CREATE TABLE inv.t (id INT PRIMARY KEY, v INT);
        INSERT INTO inv.t VALUES (1, 1)"
out=$TEST_TMP/out.jsonl
conf=$TEST_TMP/app.properties

# run_fail NAME EXPECTED: sluice must exit 1 with EXPECTED in its error output
run_fail() {
    local name=$1 expected=$2 rc=0
    timeout 60 "$SLUICE_BIN" run -c "$conf" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" || rc=$?
    assert_eq 1 "$rc" "$name: exit 1"
    assert_contains "$(cat "$TEST_TMP/$name.err")" "$expected" "$name: message"
}

# --- unreachable server, wrong password (the password never appears)
my_sluice_conf "$conf" "debezium.source.database.port=$(free_port)"
run_fail unreachable "cannot connect to MySQL/MariaDB at 127.0.0.1:"
my_sluice_conf "$conf" "debezium.source.database.password=Wr0ngSecret"
run_fail badpass "as sluice: Access denied for user 'sluice'"
if grep -q Wr0ngSecret "$TEST_TMP/badpass.err"; then fail "the password leaked into the log"; fi

# --- wrong server settings
my_sluice_conf "$conf"
my_sql "SET GLOBAL binlog_format = 'STATEMENT'"
run_fail format "binlog_format is STATEMENT; sluice needs ROW"
my_sql "SET GLOBAL binlog_format = 'ROW'; SET GLOBAL binlog_row_image = 'MINIMAL'"
run_fail image "binlog_row_image is MINIMAL; sluice needs FULL"
my_sql "SET GLOBAL binlog_row_image = 'FULL'"

# --- sluice check: what a user without replication privileges lacks
my_sql "CREATE USER 'weak'@'%' IDENTIFIED BY 'weak'; GRANT SELECT ON inv.* TO 'weak'@'%'"
my_sluice_conf "$conf" "debezium.source.database.user=weak" "debezium.source.database.password=weak"
rc=0
"$SLUICE_BIN" check -c "$conf" >"$TEST_TMP/check.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "check with missing privileges: exit 1"
report=$(cat "$TEST_TMP/check.out")
assert_contains "$report" "ok: binlog_format is ROW" "check reports binlog_format"
assert_contains "$report" "ok: binlog_row_metadata is FULL" "check reports binlog_row_metadata"
assert_contains "$report" "FAIL: user weak lacks REPLICATION SLAVE" "check names the missing REPLICATION SLAVE"
assert_contains "$report" "FAIL: user weak lacks REPLICATION CLIENT" "check names the missing REPLICATION CLIENT"
my_sluice_conf "$conf" "debezium.source.database.server.id=1"
rc=0
"$SLUICE_BIN" check -c "$conf" >"$TEST_TMP/check2.out" 2>&1 || rc=$?
assert_contains "$(cat "$TEST_TMP/check2.out")" "FAIL: database.server.id 1 is already used" "check: server id clash"
my_sluice_conf "$conf"
rc=0
"$SLUICE_BIN" check -c "$conf" >"$TEST_TMP/check3.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "check passes for the sluice user: $(cat "$TEST_TMP/check3.out")"

# --- a session that overrides binlog_row_image: an error for that table, never NULL padding
start_bg sluice "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_events "$out" 'r["value"]["op"]=="r"' 1 30 || fail "no snapshot: $(tail -3 "$TEST_TMP/sluice.err")"
my_sql "SET SESSION binlog_row_image = 'MINIMAL'; UPDATE inv.t SET v = 2 WHERE id = 1"
wait_for "! kill -0 $SL" 30 || fail "sluice did not stop on a partial row image"
rc=0; stop_pid "$SL" - 5 || rc=$?
assert_eq 1 "$rc" "partial row image: exit 1"
assert_contains "$(cat "$TEST_TMP/sluice.err")" "table inv.t: a rows event at mysql-bin.000001:" "partial image: names the table and position"
assert_contains "$(cat "$TEST_TMP/sluice.err")" "has a partial row image" "partial image: says why"
if grep -q '"v":null' "$out"; then fail "a partial row was padded with NULLs"; fi

# --- purged binlog: the stored position is gone
rm -f "$TEST_TMP/offsets.dat" "$out"
my_sluice_conf "$conf"
start_bg sluice2 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_events "$out" 'r["value"]["op"]=="r"' 1 30 || fail "no snapshot: $(tail -3 "$TEST_TMP/sluice2.err")"
stop_pid "$SL" TERM 20 || fail "stop failed"
my_sql "INSERT INTO inv.t VALUES (2, 2); FLUSH BINARY LOGS; INSERT INTO inv.t VALUES (3, 3);
        FLUSH BINARY LOGS;"
# a dump thread still reading a file keeps it from being purged: wait until the server
# has noticed that sluice is gone
wait_for '[ "$(my_sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE '"'"'Binlog Dump%'"'"'")" = 0 ]' 30 ||
    fail "the server still has a binlog dump thread"
# (and InnoDB must have checkpointed a file before it can go: retry)
last=$(my_sql "SHOW BINARY LOGS" | tail -n 1 | cut -f1)
wait_for "my_sql \"PURGE BINARY LOGS TO '$last'\"; [ \"\$(my_sql 'SHOW BINARY LOGS' | wc -l)\" = 1 ]" 30 ||
    fail "older binlogs were not purged: $(my_sql 'SHOW BINARY LOGS' | tr '\n' ' ')"
run_fail purged "the stored binlog position is not on the server any more"
assert_contains "$(cat "$TEST_TMP/purged.err")" "set debezium.source.snapshot.mode=when_needed" "purged: says what to do"
echo "sluice.mysql.resume.by=position" >>"$conf"
run_fail purged_pos "the stored binlog position is not on the server any more"

# ... unless snapshot.mode=when_needed: a new snapshot, then streaming
my_sluice_conf "$conf" "debezium.source.snapshot.mode=when_needed"
start_bg sluice3 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_events "$out" 'r["value"]["op"]=="r" and r["key"]["id"]==3' 1 30 || fail "no new snapshot: $(tail -3 "$TEST_TMP/sluice3.err")"
assert_contains "$(cat "$TEST_TMP/sluice3.err")" "taking a new snapshot (snapshot.mode=when_needed)" "when_needed says why"
my_sql "INSERT INTO inv.t VALUES (4, 4)"
wait_events "$out" 'r["value"]["op"]=="c" and r["key"]["id"]==4' 1 30 || fail "no streaming after the new snapshot"
stop_pid "$SL" TERM 20 || fail "stop failed"
t_ok "purged binlog + when_needed: new snapshot, then streaming"

# --- offsets of another source are refused
printf '# sluice offsets v1\nsource=postgres\nlsn_ack=0/0\n' >"$TEST_TMP/offsets.dat"
run_fail foreign "the offsets file was not written by the MySQL/MariaDB source"
t_done
