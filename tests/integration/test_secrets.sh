#!/usr/bin/env bash
# Secrets stay secret: a planted password (in the properties file, in the environment, in a
# password file) never shows in sluice's stderr, stdout, `sluice check` output or
# /proc/<pid>/cmdline — across a successful debug-level run, a wrong-password failure and a
# configuration error. And a properties file that holds a secret and is readable by other
# users gives one warning at start.
source "$(dirname "$0")/lib.sh"
require_sluice

SECRET="Pl4nted-$$-$RANDOM-right"
WRONG="Pl4nted-$$-$RANDOM-wrong"
pg_start
psql_c "CREATE ROLE app LOGIN SUPERUSER REPLICATION PASSWORD '$SECRET';
        CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'one');"
sed -i '1i host all app 127.0.0.1/32 scram-sha-256\nhost replication app 127.0.0.1/32 scram-sha-256' "$PG_DATA/pg_hba.conf"
psql_c "SELECT pg_reload_conf()" >/dev/null
K=debezium.source.database
cfg=$TEST_TMP/app.properties
# write_conf [key=value...]: configuration for role app, no password line, mode 0600
write_conf() {
    sluice_conf "$cfg" "$K.user=app" "sluice.log.level=debug" "$@"
    sed -i "/^$K.password=postgres$/d" "$cfg"   # the default of sluice_conf
    chmod 600 "$cfg"
}
line_of() { grep -n "^$1=" "$cfg" | cut -d: -f1; }
# no_secret WHAT TEXT: neither planted password appears in TEXT
no_secret() {
    case "$2" in
        *"$SECRET"* | *"$WRONG"*) fail "$1: a planted password leaked: $2" ;;
    esac
    t_ok "$1: no secret"
}
# run_and_stop NAME [env...]: a debug-level run that snapshots and streams one insert;
# checks /proc/<pid>/cmdline while it runs, then stdout and stderr
N=1
run_and_stop() {
    local name=$1
    shift
    start_bg "$name" env "$@" "$SLUICE_BIN" run -c "$cfg"
    local pid=$BG_PID
    N=$((N + 1))
    psql_c "INSERT INTO t VALUES ($N, 'row $N')"
    wait_events "$TEST_TMP/out.jsonl" "r[\"value\"] and r[\"key\"]=={\"id\":$N}" 1 30 \
        || fail "$name: the insert did not arrive: $(cat "$TEST_TMP/$name.err")"
    # env execs sluice: the pid is sluice's by now
    local cmdline
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
    assert_contains "$cmdline" "run -c $cfg" "$name: /proc/<pid>/cmdline is sluice's"
    no_secret "$name: /proc/<pid>/cmdline" "$cmdline"
    kill -TERM "$pid"
    local rc=0
    stop_pid "$pid" - 30 || rc=$?
    assert_eq 0 "$rc" "$name: clean stop"
    assert_contains "$(cat "$TEST_TMP/$name.err")" "DEBUG pg: replication connection" "$name: debug logging was on"
    no_secret "$name: stderr" "$(cat "$TEST_TMP/$name.err")"
    no_secret "$name: stdout" "$(cat "$TEST_TMP/$name.out")"
    no_secret "$name: sink output" "$(cat "$TEST_TMP/out.jsonl")"
    no_secret "$name: offsets" "$(cat "$TEST_TMP/offsets.dat")"
}
# check_and_fail NAME [env...]: check and run with a wrong password: exit 1, no secret
check_and_fail() {
    local name=$1 out rc
    shift
    out=$(env "$@" "$SLUICE_BIN" check -c "$cfg" 2>&1) && rc=0 || rc=$?
    assert_eq 1 "$rc" "$name: check fails"
    assert_contains "$out" 'password authentication failed for user "app"' "$name: check says why"
    no_secret "$name: check output" "$out"
    out=$(env "$@" "$SLUICE_BIN" run -c "$cfg" 2>&1) && rc=0 || rc=$?
    assert_eq 1 "$rc" "$name: run fails"
    assert_contains "$out" 'password authentication failed for user "app"' "$name: run says why"
    no_secret "$name: run output" "$out"
}
check_ok() {
    local name=$1 out rc
    shift
    out=$(env "$@" "$SLUICE_BIN" check -c "$cfg" 2>&1) && rc=0 || rc=$?
    assert_eq 0 "$rc" "$name: check passes (${out//$SECRET/SECRET})"
    no_secret "$name: check output" "$out"
}

# ---------------------------------------------------------------- password in the file
write_conf "$K.password=$SECRET"
check_ok "file"
run_and_stop "file"
write_conf "$K.password=$WRONG"
check_and_fail "file, wrong password"

# ---------------------------------------------------------------- password in the environment
write_conf
check_ok "environment" "DEBEZIUM_SOURCE_DATABASE_PASSWORD=$SECRET"
run_and_stop "environment" "DEBEZIUM_SOURCE_DATABASE_PASSWORD=$SECRET"
check_and_fail "environment, wrong password" "DEBEZIUM_SOURCE_DATABASE_PASSWORD=$WRONG"

# ---------------------------------------------------------------- password in a file reference
printf '%s\n' "$SECRET" >"$TEST_TMP/pw"
chmod 600 "$TEST_TMP/pw"
write_conf "sluice.postgres.password.file=$TEST_TMP/pw"
check_ok "password file"
run_and_stop "password file"
printf '%s\n' "$WRONG" >"$TEST_TMP/pw"
check_and_fail "password file, wrong password"
chmod 644 "$TEST_TMP/pw"
out=$("$SLUICE_BIN" check -c "$cfg" 2>&1) || true
assert_contains "$out" "WARN  $TEST_TMP/pw is readable by other users and holds a password (chmod 600 $TEST_TMP/pw)" \
    "a password file readable by others is warned about"
write_conf "sluice.postgres.password.file=$TEST_TMP/pw" "$K.password=$SECRET"
out=$("$SLUICE_BIN" check -c "$cfg" 2>&1) && rc=0 || rc=$?
assert_eq 2 "$rc" "password and password file together: exit 2"
assert_eq "sluice: $cfg:$(line_of sluice.postgres.password.file): sluice.postgres.password.file cannot be combined with $K.password (set at $cfg:$(line_of $K.password)); keep only one of them" \
    "$out" "password and password file together: message"
no_secret "password and password file together" "$out"
write_conf "sluice.postgres.password.file=$TEST_TMP/nope"
out=$("$SLUICE_BIN" check -c "$cfg" 2>&1) && rc=0 || rc=$?
assert_eq 2 "$rc" "missing password file: exit 2"
assert_eq "sluice: $cfg:$(line_of sluice.postgres.password.file): sluice.postgres.password.file: cannot read '$TEST_TMP/nope': No such file or directory" \
    "$out" "missing password file: message"

# ---------------------------------------------------------------- configuration errors
for bad in "$K.pasword=$SECRET" "$K.password=$SECRET
$K.port=x" "$K.password=$SECRET
$K.sslmode=disable
$K.sslrootcert=$TEST_TMP/pw"; do
    write_conf "$bad"
    out=$("$SLUICE_BIN" run -c "$cfg" 2>&1) && rc=0 || rc=$?
    what=$(tail -n 1 <<<"$bad")
    assert_eq 2 "$rc" "configuration error exits 2: ${what%%=*}"
    no_secret "configuration error: ${what%%=*}" "$out"
done

# ---------------------------------------------------------------- readable configuration file
warn_line() { grep 'WARN ' <<<"$1" | grep -c 'readable by other users and holds secrets' || true; }
write_conf "$K.password=$SECRET"
chmod 644 "$cfg"
out=$("$SLUICE_BIN" check -c "$cfg" 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "a readable file still works"
assert_eq "WARN  $cfg is readable by other users and holds secrets (chmod 600 $cfg)" \
    "$(grep 'WARN ' <<<"$out" | sed 's/^[^ ]* //')" "mode 0644 with a password: one warning"
no_secret "readable file warning" "$out"
start_bg readable "$SLUICE_BIN" run -c "$cfg"
wait_for "grep -q 'starting' '$TEST_TMP/readable.err'" 10 || fail "run did not start"
kill -TERM "$BG_PID"
stop_pid "$BG_PID" - 30 || true
assert_eq 1 "$(warn_line "$(cat "$TEST_TMP/readable.err")")" "run warns once too"
chmod 640 "$cfg"
assert_eq 1 "$(warn_line "$("$SLUICE_BIN" check -c "$cfg" 2>&1)")" "mode 0640 (group-readable): warned"
chmod 600 "$cfg"
assert_eq 0 "$(warn_line "$("$SLUICE_BIN" check -c "$cfg" 2>&1)")" "mode 0600: no warning"
write_conf
chmod 644 "$cfg"
assert_eq 0 "$(warn_line "$(DEBEZIUM_SOURCE_DATABASE_PASSWORD=$SECRET "$SLUICE_BIN" check -c "$cfg" 2>&1)")" \
    "mode 0644, password from the environment only: no warning"
t_done
