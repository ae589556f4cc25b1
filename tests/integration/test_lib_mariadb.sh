#!/usr/bin/env bash
# Self-test of the MariaDB helpers of tests/integration/lib.sh: my_start (two
# servers at once, in this script and in another test process, on different
# ports), the binlog settings CDC needs, the users, my_sql/my_sql_file errors,
# my_restart fast and immediate (data and binlog kept), my_stop, my_sluice_conf,
# and that the servers, their launchers and their dirs are gone afterwards —
# also when the other test process is stopped with SIGTERM.
source "$(dirname "$0")/lib.sh"

# --- another test process starts its own server at the same time as we do

child=$TEST_TMP/child.sh
cat >"$child" <<'EOS'
source "$SLUICE_SRC/tests/integration/lib.sh"
my_start
[[ "$(my_sql 'SELECT @@port')" == "$MY_PORT" ]] || fail "child: wrong port"
echo "$MY_PORT $MY_PID ${_MY_LAUNCHER_OF[$MY_PID]:-$MY_PID} $MY_DIR $TEST_TMP" >"$1.tmp"
mv "$1.tmp" "$1"
wait    # until SIGTERM; a foreground sleep would delay the trap
EOS
bash "$child" "$TEST_TMP/info.child" >"$TEST_TMP/child.out" 2>"$TEST_TMP/child.err" &
child_pid=$!
register_pid "$child_pid"

my_start
wait_for "test -s '$TEST_TMP/info.child'" 60 || fail "the other test's my_start did not finish"
read -r c_port c_pid c_launcher c_dir c_tmp <"$TEST_TMP/info.child"

[[ "$MY_PORT" =~ ^[0-9]+$ ]] || fail "MY_PORT [$MY_PORT]"
[[ "$MY_PORT" != "$c_port" ]] || fail "two concurrent my_start got the same port $MY_PORT"
t_ok "two concurrent my_start (two test processes): ports $MY_PORT and $c_port"
assert_eq "$$" "$(cat "$SLUICE_PORT_DIR/$MY_PORT")" "MY_PORT is reserved for this script"
assert_eq "$c_port" "$(MY_PORT=$c_port my_sql 'SELECT @@port')" "the other server answers on its port"
assert_eq "$MY_PORT" "$(my_sql 'SELECT @@port')" "our server answers on MY_PORT"
[[ "$c_pid" != "$MY_PID" && "$c_dir" != "$MY_DIR" ]] || fail "same pid or dir: $c_pid $c_dir"

# --- exports, process tree

for v in MY_DIR MY_PORT MY_PID MY_SOCK MY_LOG; do
    [[ -n "${!v:-}" ]] || fail "$v not set"
    [[ "$(bash -c "echo \"\${$v:-}\"")" == "${!v}" ]] || fail "$v not exported"
done
t_ok "MY_DIR MY_PORT MY_PID MY_SOCK MY_LOG exported"
[[ -d "$MY_DIR/data/mysql" ]] || fail "no system tables in $MY_DIR/data"
[[ -S "$MY_SOCK" ]] || fail "no socket $MY_SOCK"
assert_contains "$(cat "$MY_LOG")" "ready for connections" "MY_LOG is the server's error log"
assert_eq mariadbd "$(cat "/proc/$MY_PID/comm")" "MY_PID is mariadbd"
assert_eq "$MY_PID" "$(cat "$MY_DIR/mariadbd.pid")" "MY_PID is the pid file's"
if [[ $(id -u) -eq 0 ]]; then
    assert_eq mysql "$(ps -o user= -p "$MY_PID")" "as root, mariadbd runs as mysql"
    launcher=${_MY_LAUNCHER_OF[$MY_PID]:-}
    [[ -n "$launcher" ]] || fail "no launcher recorded for $MY_PID"
    assert_eq "$launcher" "$(_my_ppid "$MY_PID")" "mariadbd is the child of its runuser launcher"
    assert_eq 1 "$(printf '%s\n' "${_LIB_PIDS[@]}" | grep -c "^$launcher:-$")" \
        "the launcher is only waited for, not signalled"
else
    assert_eq "$(id -un)" "$(ps -o user= -p "$MY_PID")" "mariadbd runs as ourselves"
fi
assert_eq 1 "$(printf '%s\n' "${_LIB_PIDS[@]}" | grep -c "^$MY_PID:TERM$")" "mariadbd registered for SIGTERM"

# --- binlog settings and server options

vars=$(my_sql "SHOW VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image',
               'binlog_row_metadata', 'server_id', 'character_set_server', 'bind_address',
               'innodb_flush_log_at_trx_commit', 'sync_binlog', 'log_bin_basename')")
getvar() { awk -F'\t' -v n="$1" '$1 == n { print $2 }' <<<"$vars"; }
assert_eq ON "$(getvar log_bin)" "log_bin ON"
assert_eq ROW "$(getvar binlog_format)" "binlog_format ROW"
assert_eq FULL "$(getvar binlog_row_image)" "binlog_row_image FULL"
assert_eq FULL "$(getvar binlog_row_metadata)" "binlog_row_metadata FULL"
assert_eq 1 "$(getvar server_id)" "server_id 1"
assert_eq utf8mb4 "$(getvar character_set_server)" "character_set_server utf8mb4"
assert_eq 127.0.0.1 "$(getvar bind_address)" "bind_address 127.0.0.1"
assert_eq 2 "$(getvar innodb_flush_log_at_trx_commit)" "innodb_flush_log_at_trx_commit 2 by default"
assert_eq 0 "$(getvar sync_binlog)" "sync_binlog 0 by default"
assert_eq "$MY_DIR/data/mysql-bin" "$(getvar log_bin_basename)" "binlog in the datadir"

# --- users

assert_contains "$(my_sql 'SELECT CURRENT_USER()')" "root@127.0.0.1" "root over TCP without password"
assert_eq 1 "$(mariadb --no-defaults -S "$MY_SOCK" -uroot -N -B -e 'SELECT 1')" "root@localhost over the socket"
sluice_sql() { mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$MY_PORT" -u sluice -psluice -N -B -e "$1"; }
grants=$(sluice_sql 'SHOW GRANTS')
for g in SELECT RELOAD 'SHOW DATABASES' 'REPLICATION SLAVE' 'BINLOG MONITOR'; do
    assert_contains "$grants" "$g" "sluice has $g"
done
assert_contains "$(sluice_sql 'SHOW MASTER STATUS')" "mysql-bin.0" "sluice: SHOW MASTER STATUS"
if mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$MY_PORT" -u sluice -pwrong \
    -e 'SELECT 1' >/dev/null 2>&1; then
    fail "sluice logged in with a wrong password"
fi
t_ok "sluice needs its password"
assert_eq 0 "$(my_sql "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'test'")" \
    "no test database"
assert_eq "" "$(my_sql "SHOW BINLOG EVENTS" | awk -F'\t' '$6 ~ /USER|GRANT/')" "user setup not binlogged"

# --- SQL

my_sql "CREATE DATABASE lib; CREATE TABLE lib.t (id int PRIMARY KEY, v varchar(20)) ENGINE=InnoDB;
        INSERT INTO lib.t VALUES (1, 'one'), (2, 'zwei ü'), (3, '😀 三')"
assert_eq 3 "$(my_sql 'SELECT count(*) FROM lib.t')" "my_sql: several statements"
assert_eq "😀 三" "$(my_sql 'SELECT v FROM t WHERE id = 3' -D lib)" "my_sql: utf8mb4 round trip, client args"
printf 'INSERT INTO lib.t VALUES (4, %s);\nSELECT count(*) FROM lib.t;\n' "'vier'" >"$TEST_TMP/f.sql"
assert_eq 4 "$(my_sql_file "$TEST_TMP/f.sql")" "my_sql_file"

out=$(bash -c "source '$SLUICE_SRC/tests/integration/lib.sh'; my_sql 'SELECT nope FROM lib.t'" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "my_sql: an SQL error fails"
assert_contains "$out" "Unknown column 'nope'" "my_sql: the error says why"
printf 'SELECT 1;\nSELECT * FROM lib.missing;\nSELECT 2;\n' >"$TEST_TMP/bad.sql"
out=$(bash -c "source '$SLUICE_SRC/tests/integration/lib.sh'; my_sql_file '$TEST_TMP/bad.sql'" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "my_sql_file: an SQL error fails"
assert_contains "$out" "lib.missing' doesn't exist" "my_sql_file: the error says why"

# --- restart keeps data, port and binlog

logs_before=$(my_sql 'SHOW BINARY LOGS' | awk '{print $1}')
n_before=$(wc -l <<<"$logs_before")
first_log=$(head -n 1 <<<"$logs_before")
port=$MY_PORT old_pid=$MY_PID
my_restart immediate
[[ "$MY_PID" != "$old_pid" ]] || fail "MY_PID unchanged after restart"
pid_alive "$old_pid" && fail "old mariadbd $old_pid still alive"
assert_eq "$port" "$MY_PORT" "same port after my_restart immediate"
assert_eq 4 "$(my_sql 'SELECT count(*) FROM lib.t')" "rows survive my_restart immediate"
logs=$(my_sql 'SHOW BINARY LOGS' | awk '{print $1}')
assert_eq "$first_log" "$(head -n 1 <<<"$logs")" "binlog files survive my_restart immediate"
assert_eq $((n_before + 1)) "$(wc -l <<<"$logs")" "a new binlog file after the restart"
assert_contains "$(my_sql "SHOW BINLOG EVENTS IN '$first_log'")" "Write_rows" \
    "the rows are still in the first binlog file"
assert_eq ON "$(my_sql 'SELECT IF(@@log_bin, "ON", "OFF")')" "log_bin ON after my_restart immediate"

old_pid=$MY_PID
my_restart fast
[[ "$MY_PID" != "$old_pid" ]] || fail "MY_PID unchanged after restart"
pid_alive "$old_pid" && fail "old mariadbd $old_pid still alive"
assert_eq 4 "$(my_sql 'SELECT count(*) FROM lib.t')" "rows survive my_restart fast"
assert_contains "$(tail -n 40 "$MY_LOG")" "Shutdown complete" "my_restart fast is a clean shutdown"
logs=$(my_sql 'SHOW BINARY LOGS' | awk '{print $1}')
assert_eq $((n_before + 2)) "$(wc -l <<<"$logs")" "binlog files kept over both restarts"
assert_eq ROW "$(my_sql 'SELECT @@binlog_format')" "options kept over restarts"

# --- a second server in this shell: options and MY_FSYNC

first_dir=$MY_DIR first_port=$MY_PORT
MY_FSYNC=on my_start --server-id=7 --max-connections=42
[[ "$MY_PORT" != "$first_port" && "$MY_PORT" != "$c_port" ]] || fail "third server on a used port"
assert_eq 7 "$(my_sql 'SELECT @@server_id')" "extra options override the defaults"
assert_eq 42 "$(my_sql 'SELECT @@max_connections')" "extra options applied"
assert_eq "1 1" "$(my_sql 'SELECT @@innodb_flush_log_at_trx_commit, @@sync_binlog' | tr '\t' ' ')" "MY_FSYNC=on"
my_restart fast
assert_eq 7 "$(my_sql 'SELECT @@server_id')" "extra options kept by my_restart"
assert_eq 4 "$(MY_PORT=$first_port my_sql 'SELECT count(*) FROM lib.t')" "first server still up"

# --- my_sluice_conf

my_sluice_conf "$TEST_TMP/app.properties" "debezium.source.snapshot.mode=never"
conf=$(cat "$TEST_TMP/app.properties")
assert_contains "$conf" "connector.class=io.debezium.connector.mariadb.MariaDbConnector" "conf: connector"
assert_contains "$conf" "debezium.source.database.port=$MY_PORT"$'\n' "conf: port"
assert_contains "$conf" "debezium.source.database.user=sluice"$'\n' "conf: user"
assert_contains "$conf" "debezium.sink.file.path=$TEST_TMP/out.jsonl" "conf: sink file as sluice_conf"
assert_contains "$conf" "offset.storage.file.filename=$TEST_TMP/offsets.dat" "conf: offsets as sluice_conf"
assert_contains "$conf" "snapshot.mode=never" "conf: extra lines"
sid=$(sed -n 's/^debezium.source.database.server.id=//p' "$TEST_TMP/app.properties")
[[ "$sid" =~ ^[0-9]+$ && $sid -ge 1000 && $sid -le 100000 ]] || fail "server.id [$sid]"
t_ok "conf: server.id $sid in 1000..100000"

# --- my_stop

for dir in "$MY_DIR" "$first_dir"; do
    pid=$(cat "$dir/mariadbd.pid")
    launcher=${_MY_LAUNCHER_OF[$pid]:-$pid}
    if [[ "$dir" == "$MY_DIR" ]]; then my_stop; else my_stop "$dir"; fi
    pid_alive "$pid" && fail "mariadbd $pid alive after my_stop"
    pid_alive "$launcher" && fail "launcher $launcher alive after my_stop"
    [[ -e "$dir" ]] && fail "$dir still there after my_stop"
    [[ -n "${_MY_LAUNCHER_OF[$pid]:-}" ]] && fail "launcher of $pid still recorded"
    printf '%s\n' "${_LIB_PIDS[@]}" | grep -qE "^($pid|$launcher):" && fail "$pid still registered"
    t_ok "my_stop $dir: server, launcher and dir gone"
done
[[ -z "${MY_PID:-}" ]] || fail "MY_PID still set after my_stop"

# --- the other test process ends (SIGTERM): its server and dirs go with it

pid_alive "$c_pid" || fail "the other test's server died early"
stop_pid "$child_pid" TERM 60 && rc=0 || rc=$?
assert_eq 143 "$rc" "the other test exits 143 on SIGTERM"
for pid in "$c_pid" "$c_launcher"; do
    pid_alive "$pid" && fail "pid $pid of the other test still running"
done
for f in "$c_dir" "$c_tmp"; do
    [[ -e "$f" ]] && fail "$f of the other test still there"
done
[[ -e "$SLUICE_PORT_DIR/$c_port" ]] && fail "port $c_port still reserved"
t_ok "the other test's server, launcher, dirs and port are gone after its SIGTERM"

t_done
