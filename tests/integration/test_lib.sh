#!/usr/bin/env bash
# Self-test of tests/integration/lib.sh: throwaway PostgreSQL start/stop/restart,
# logical replication prerequisites, port reservations, and that whatever a test
# starts is gone after it ends — normally, on failure, and on SIGTERM.
source "$(dirname "$0")/lib.sh"

# --- helpers and ports (no server needed)

p1=$(free_port)
p2=$(free_port)
[[ "$p1" =~ ^[0-9]+$ && "$p2" =~ ^[0-9]+$ ]] || fail "free_port gave [$p1] [$p2]"
[[ "$p1" != "$p2" ]] || fail "free_port gave the same port twice: $p1"
assert_eq "$$" "$(cat "$SLUICE_PORT_DIR/$p1")" "free_port reserves the port for this script"

wait_for "true" 1 || fail "wait_for true"
start=$EPOCHREALTIME
if wait_for "false" 0.3 2>/dev/null; then fail "wait_for false succeeded"; fi
elapsed_ms=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
[[ $elapsed_ms -ge 250 && $elapsed_ms -lt 3000 ]] || fail "wait_for 0.3 took ${elapsed_ms} ms"
t_ok "wait_for polls and times out"

out=$(bash -c "source '$SLUICE_SRC/tests/integration/lib.sh'; t_ok one; fail boom" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "fail exits 1"
assert_contains "$out" "1 passed, 1 failed" "fail prints the closing line"

# --- one server: logical replication prerequisites

pg_start "work_mem = '7MB'"
assert_eq 127.0.0.1 "$PGHOST" "PGHOST"
assert_eq postgres "$PGUSER" "PGUSER"
assert_eq "$PGPORT" "$(psql_c 'SHOW port')" "server listens on PGPORT"
assert_eq logical "$(psql_c 'SHOW wal_level')" "wal_level=logical"
assert_eq 20 "$(psql_c 'SHOW max_replication_slots')" "max_replication_slots=20"
assert_eq 20 "$(psql_c 'SHOW max_wal_senders')" "max_wal_senders=20"
assert_eq off "$(psql_c 'SHOW fsync')" "fsync off by default"
assert_eq 7MB "$(psql_c 'SHOW work_mem')" "extra conf lines applied"
ckpt=$(psql_c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
assert_eq "$PG_PID" "$(awk '{print $4}' "/proc/$ckpt/stat")" "PG_PID is the postmaster (parent of the checkpointer)"
pid_alive "$PG_PID" || fail "postmaster $PG_PID not alive"

ident=$(psql -X -qAt "dbname=postgres replication=database" -c IDENTIFY_SYSTEM)
assert_contains "$ident" "|postgres" "replication connection: IDENTIFY_SYSTEM"
[[ -S "$PG_DIR/.s.PGSQL.$PGPORT" ]] || fail "no unix socket in $PG_DIR"
assert_eq 1 "$(PGHOST=$PG_DIR psql_c 'SELECT 1')" "unix socket in PG_DIR works"

psql_c "SELECT pg_create_logical_replication_slot('lib_test', 'pgoutput')" >/dev/null
psql_c "CREATE TABLE t (id int PRIMARY KEY)"
psql_c "CREATE PUBLICATION lib_test FOR TABLE t"
psql_c "INSERT INTO t VALUES (1), (2)"
changes=$(psql_c "SELECT count(*) FROM pg_logical_slot_peek_binary_changes('lib_test', NULL, NULL,
                  'proto_version', '1', 'publication_names', 'lib_test')")
[[ $changes -ge 4 ]] || fail "pgoutput slot saw $changes messages, expected BEGIN/RELATION/2 INSERTs/COMMIT"
t_ok "pgoutput slot decodes changes ($changes messages)"

# --- restart keeps data, port and slot

old_pid=$PG_PID
pg_restart immediate
[[ "$PG_PID" != "$old_pid" ]] || fail "PG_PID unchanged after restart"
pid_alive "$old_pid" && fail "old postmaster $old_pid still alive"
assert_eq 2 "$(psql_c 'SELECT count(*) FROM t')" "rows survive pg_restart immediate"
assert_eq lib_test "$(psql_c 'SELECT slot_name FROM pg_replication_slots')" "slot survives restart"
pg_restart fast
assert_eq 2 "$(psql_c 'SELECT count(*) FROM t')" "rows survive pg_restart fast"

# --- pg_stop

dir=$PG_DIR pid=$PG_PID
pg_stop
pid_alive "$pid" && fail "postmaster $pid alive after pg_stop"
[[ -e "$dir" ]] && fail "$dir still there after pg_stop"
t_ok "pg_stop stops the server and removes its dir"

# --- everything a script started is gone when it ends, however it ends

child=$TEST_TMP/child.sh
cat >"$child" <<'EOS'
source "$SLUICE_SRC/tests/integration/lib.sh"
pg_start
first_pid=$PG_PID first_dir=$PG_DIR first_port=$PGPORT
PG_FSYNC=on pg_start
[[ "$(psql_c 'SHOW fsync')" == on ]] || fail "PG_FSYNC=on not applied"
[[ "$(PGPORT=$first_port psql_c 'SELECT 1')" == 1 ]] || fail "first server gone"
sleep 300 &
register_pid $!
echo "$first_pid $first_dir $first_port $PG_PID $PG_DIR $PGPORT $! $TEST_TMP" >"$1"
case "$2" in
    exit) exit 0 ;;
    fail) fail "deliberate failure" ;;
    wait) wait ;;     # until SIGTERM; a foreground sleep would delay the trap
esac
EOS

check_gone()   # how info_file
{
    local how=$1 info pid f
    read -r -a info <"$2"
    for pid in "${info[0]}" "${info[3]}" "${info[6]}"; do
        wait_for "! pid_alive $pid" 5 || fail "$how: pid $pid still running"
    done
    for f in "${info[1]}" "${info[4]}" "${info[7]}"; do
        [[ -e "$f" ]] && fail "$how: $f still there"
    done
    for f in "${info[2]}" "${info[5]}"; do
        [[ -e "$SLUICE_PORT_DIR/$f" ]] && fail "$how: port $f still reserved"
    done
    t_ok "cleanup after $how: 2 servers, 1 process, 3 dirs, 2 ports"
}

bash "$child" "$TEST_TMP/info.exit" exit >/dev/null
check_gone "normal exit" "$TEST_TMP/info.exit"

bash "$child" "$TEST_TMP/info.fail" fail >/dev/null 2>&1 && fail "child did not fail"
check_gone "fail" "$TEST_TMP/info.fail"

bash "$child" "$TEST_TMP/info.term" wait >/dev/null 2>&1 &
child_pid=$!
register_pid "$child_pid"
wait_for "test -s '$TEST_TMP/info.term'" 60 || fail "child did not start"
stop_pid "$child_pid" TERM 30 && rc=0 || rc=$?
assert_eq 143 "$rc" "child exits 143 on SIGTERM"
check_gone "SIGTERM" "$TEST_TMP/info.term"

t_done
