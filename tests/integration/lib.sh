# shellcheck shell=bash
# tests/integration/lib.sh — shared helpers for integration tests and scripts/demo.sh.
#
# Source it at the top of a test:
#
#     #!/usr/bin/env bash
#     source "$(dirname "$0")/lib.sh"
#     pg_start
#     psql_c "CREATE TABLE t (id int primary key)"
#     assert_eq 0 "$(psql_c 'SELECT count(*) FROM t')" "table starts empty"
#     t_done                                  # prints "N passed, 0 failed"
#
# How it works. Sourcing turns on `set -euo pipefail`, creates $TEST_TMP and
# installs EXIT/INT/TERM traps. Everything a test starts is registered by pid
# (register_pid) and every directory it creates by path (register_dir); the
# EXIT trap stops the processes (their own signal first, SIGKILL after a grace
# period) and removes the directories, whatever way the script ends.
#
# Invariants:
#   1. Processes are only ever stopped by the pid we registered, never by name:
#      other test runs may be going on at the same time on the same machine.
#   2. register_pid/register_dir must run in the test's main shell, not inside
#      $(...) or a pipeline, or the registration is lost with the subshell.
#   3. Don't set your own `trap ... EXIT`; use on_exit "command" instead. The
#      INT/TERM/HUP traps only run between commands: to wait for a signal, wait
#      on a background job (`sleep 300 & register_pid $!; wait $!`), not on a
#      foreground sleep.
#   4. A port returned by free_port is reserved (a file under $SLUICE_PORT_DIR,
#      taken under flock) until the script that took it exits, so two
#      concurrent test runs never get the same port.
#
# Set on sourcing: PATH starts with $PG_BIN (/usr/lib/postgresql/15/bin: psql,
# pg_recvlogical, ...); TEST_TMP, a scratch dir removed at exit; SLUICE_* below.
#
# Environment read:
#   SLUICE_BIN / SLUICE_SRC / SLUICE_BUILD   set by CTest; defaults: repo root,
#                                            <root>/build, <root>/build/sluice
#   PG_FSYNC=on          keep fsync on in pg_start (durability tests); default off
#   SLUICE_KEEP_TMP=1    keep temp dirs after the run (processes are still stopped)
#   SLUICE_PORT_DIR      where port reservations live (default /tmp/sluice-ports)
#
# Functions (see each for details):
#   free_port                         echo a free, reserved TCP port on 127.0.0.1
#   pg_start [conf lines...]          throwaway PostgreSQL 15; exports PGHOST PGPORT
#                                     PGUSER PG_DIR PG_DATA PG_LOG PG_PID
#   pg_stop [dir]                     fast shutdown, wait, remove the dir
#   pg_restart [fast|immediate]       stop and start the current instance, same port
#   register_pid pid [signal]         stop pid at exit, newest first (default TERM;
#                                     "-": only wait for it), SIGKILL after 15 s
#   unregister_pid pid
#   register_dir dir                  rm -rf dir at exit
#   on_exit "cmd"                     run cmd at exit, before processes are stopped
#   start_bg name cmd [args...]       run cmd in background, stdout/stderr to
#                                     $TEST_TMP/name.out and name.err; sets BG_PID
#   stop_pid pid [signal] [timeout_s] signal pid, wait (SIGKILL after timeout); returns
#                                     its exit status if it is our child, else 0
#   pid_alive pid                     true while pid exists and is not a zombie
#   require_sluice                    fail unless $SLUICE_BIN is executable
#   psql_c SQL [psql args...]         one SQL command, unaligned tuples-only output
#   fail msg                          print, dump server log tail, exit 1
#   assert_eq expected actual msg     (counts as a passed check, see t_ok)
#   assert_contains haystack needle msg
#   wait_for "cmd" [timeout_s]        eval cmd every 0.1 s until true (default 10 s)
#   t_ok name                         count one passed check, print "ok N - name"
#   t_done                            print "N passed, 0 failed"

set -euo pipefail

# ---------------------------------------------------------------- paths

_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SLUICE_SRC:=$(cd "$_LIB_DIR/../.." && pwd)}"
: "${SLUICE_BUILD:=$SLUICE_SRC/build}"
: "${SLUICE_BIN:=$SLUICE_BUILD/sluice}"
export SLUICE_SRC SLUICE_BUILD SLUICE_BIN

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
export PG_BIN PATH="$PG_BIN:$PATH"
: "${SLUICE_PORT_DIR:=/tmp/sluice-ports}"

# ---------------------------------------------------------------- cleanup

_LIB_PIDS=()        # "pid:signal"; signal "-": do not signal, only wait for it
declare -A _PG_LAUNCHER_OF=()   # postmaster pid -> runuser pid
_LIB_DIRS=()
_LIB_ON_EXIT=()
_LIB_T_PASSED=0
_LIB_CLEANED=0

# register_pid pid [signal]: at exit, send signal (default TERM; "-" for none,
# e.g. a wrapper that exits with its child), wait, SIGKILL after 15 s.
register_pid()
{
    _LIB_PIDS+=("$1:${2:-TERM}")
}

unregister_pid()
{
    local i
    for i in "${!_LIB_PIDS[@]}"; do
        [[ "${_LIB_PIDS[$i]%%:*}" == "$1" ]] && unset '_LIB_PIDS[i]'
    done
    return 0
}

register_dir()
{
    _LIB_DIRS+=("$1")
}

unregister_dir()
{
    local i
    for i in "${!_LIB_DIRS[@]}"; do
        [[ "${_LIB_DIRS[$i]}" == "$1" ]] && unset '_LIB_DIRS[i]'
    done
    return 0
}

on_exit()
{
    _LIB_ON_EXIT+=("$1")
}

# True while the process exists and is not a zombie (a reparented zombie still
# answers kill -0 in containers whose pid 1 does not reap).
pid_alive()
{
    local pid=$1 stat state
    kill -0 "$pid" 2>/dev/null || return 1
    # /proc/<pid>/stat: "pid (comm) state ..."; comm may contain spaces and ")".
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    state=${stat##*) }
    state=${state%% *}
    [[ -n "$state" && "$state" != Z ]]
}

# stop_pid pid [signal] [timeout_s]: send signal (default TERM), wait up to
# timeout_s (default 10) for the process to go, then SIGKILL. Returns the exit
# status if pid is a child of this shell (e.g. started with start_bg; a process
# stopped by the signal gives 128+signal unless it handles it), 0 otherwise.
stop_pid()
{
    local pid=$1 sig=${2:-TERM} timeout=${3:-10} deadline rc=0
    if pid_alive "$pid"; then
        [[ "$sig" == - ]] || kill -s "$sig" "$pid" 2>/dev/null || true
        deadline=$(_lib_deadline "$timeout")
        while pid_alive "$pid" && _lib_before "$deadline"; do
            sleep 0.05
        done
        if pid_alive "$pid"; then
            echo "lib.sh: pid $pid still alive ${timeout}s after SIG$sig; SIGKILL" >&2
            kill -s KILL "$pid" 2>/dev/null || true
            while pid_alive "$pid"; do sleep 0.05; done
        fi
    fi
    unregister_pid "$pid"
    # Collect the status of our own child; for anything else wait says "not a
    # child of this shell" and there is nothing to collect.
    local errf="${TEST_TMP:-/tmp}/.wait.$$.$pid"
    wait "$pid" 2>"$errf" || rc=$?
    if [[ $rc -eq 127 ]] && grep -q 'not a child' "$errf" 2>/dev/null; then
        rc=0
    fi
    rm -f -- "$errf"
    return "$rc"
}

_lib_cleanup()
{
    local rc=$?
    [[ $_LIB_CLEANED -eq 1 ]] && return 0
    _LIB_CLEANED=1
    set +e
    local i entry pid sig
    for ((i = ${#_LIB_ON_EXIT[@]} - 1; i >= 0; i--)); do
        [[ -n "${_LIB_ON_EXIT[$i]+x}" ]] && eval "${_LIB_ON_EXIT[$i]}"
    done
    # One at a time, newest first: a client (sluice) stops while the server it
    # talks to is still up, and the server stops after it.
    local -a entries=("${_LIB_PIDS[@]}")
    local deadline
    for ((i = ${#entries[@]} - 1; i >= 0; i--)); do
        entry=${entries[$i]}
        pid=${entry%%:*} sig=${entry#*:}
        if pid_alive "$pid"; then
            [[ "$sig" == - ]] || kill -s "$sig" "$pid" 2>/dev/null
            deadline=$(_lib_deadline 15)
            while pid_alive "$pid" && _lib_before "$deadline"; do sleep 0.05; done
            if pid_alive "$pid"; then
                echo "lib.sh: cleanup: pid $pid did not stop on SIG$sig; SIGKILL" >&2
                kill -s KILL "$pid" 2>/dev/null
                while pid_alive "$pid"; do sleep 0.05; done
            fi
        fi
        wait "$pid" 2>/dev/null     # reap our own children now, not init later
    done
    _LIB_PIDS=()
    for i in "${!_LIB_DIRS[@]}"; do
        if [[ "${SLUICE_KEEP_TMP:-0}" == 1 ]]; then
            echo "lib.sh: kept ${_LIB_DIRS[$i]}" >&2
        else
            rm -rf -- "${_LIB_DIRS[$i]}"
        fi
    done
    _LIB_DIRS=()
    _lib_release_ports
    return "$rc"
}

trap _lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------- time

_lib_now_ms()
{
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
}

_lib_deadline()
{
    # Seconds may be fractional ("0.5").
    local ms
    ms=$(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')
    echo $(($(_lib_now_ms) + ms))
}

_lib_before()
{
    [[ $(_lib_now_ms) -lt $1 ]]
}

# ---------------------------------------------------------------- checks

t_ok()
{
    _LIB_T_PASSED=$((_LIB_T_PASSED + 1))
    echo "ok $_LIB_T_PASSED - $*"
}

t_done()
{
    [[ $_LIB_T_PASSED -gt 0 ]] || fail "t_done: no checks ran"
    echo "$_LIB_T_PASSED passed, 0 failed"
}

fail()
{
    echo "FAIL: $*" >&2
    if [[ -n "${PG_LOG:-}" && -f "$PG_LOG" ]]; then
        echo "--- last lines of $PG_LOG" >&2
        tail -n 20 "$PG_LOG" >&2 || true
        echo "---" >&2
    fi
    # what the background processes (sluice, mock servers) said last: the temp dir is gone
    # after the test, and a failure in CI must be diagnosable from its output alone
    local f
    for f in "${TEST_TMP:-/nonexistent}"/*.err; do
        [[ -s "$f" ]] || continue
        echo "--- last lines of $(basename "$f")" >&2
        tail -n 15 "$f" >&2 || true
    done
    echo "$_LIB_T_PASSED passed, 1 failed"
    exit 1
}

assert_eq()
{
    local expected=$1 actual=$2 msg=${3:-assert_eq}
    if [[ "$expected" != "$actual" ]]; then
        fail "$msg: expected [$expected], got [$actual]"
    fi
    t_ok "$msg"
}

assert_contains()
{
    local haystack=$1 needle=$2 msg=${3:-assert_contains}
    if [[ "$haystack" != *"$needle"* ]]; then
        local shown=$haystack
        [[ ${#shown} -gt 2000 ]] && shown="${shown:0:2000}... (${#haystack} chars)"
        fail "$msg: [$needle] not found in [$shown]"
    fi
    t_ok "$msg"
}

# wait_for "cmd" [timeout_s]: eval cmd every 0.1 s until it succeeds. Returns 1
# (after a message on stderr) on timeout, so `wait_for ... || fail "..."` reads
# well and a bare call stops the script under set -e.
wait_for()
{
    local cmd=$1 timeout=${2:-10} deadline
    deadline=$(_lib_deadline "$timeout")
    while true; do
        if (eval "$cmd") >/dev/null 2>&1; then
            return 0
        fi
        _lib_before "$deadline" || break
        sleep 0.1
    done
    echo "wait_for: timed out after ${timeout}s: $cmd" >&2
    return 1
}

psql_c()
{
    local sql=$1
    shift
    "$PG_BIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d "${PGDATABASE:-postgres}" -c "$sql" "$@"
}

require_sluice()
{
    if [[ ! -x "$SLUICE_BIN" ]]; then
        fail "sluice binary not found at $SLUICE_BIN (build it first: make build)"
    fi
}

# start_bg name cmd [args...]: run cmd in the background with stdout and stderr
# in $TEST_TMP/<name>.out and .err; registers it and sets BG_PID. Call it in the
# main shell (not in $(...)), see invariant 2.
start_bg()
{
    local name=$1
    shift
    "$@" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" &
    BG_PID=$!
    register_pid "$BG_PID"
}

# ---------------------------------------------------------------- ports

_lib_release_ports()
{
    [[ -d "$SLUICE_PORT_DIR" ]] || return 0
    local f
    for f in "$SLUICE_PORT_DIR"/[0-9]*; do
        [[ -f "$f" ]] || continue
        [[ "$(cat "$f" 2>/dev/null)" == "$$" ]] && rm -f -- "$f"
    done
    return 0
}

# free_port: print a TCP port that is free on 127.0.0.1 now and reserved for
# this script (by $$) until it exits. Ports come from below the kernel's
# ephemeral range, so outgoing connections cannot take them in the meantime.
# Reservations of dead scripts are taken over.
free_port()
{
    # Shared by every user who runs tests on this machine (CI as root, people
    # as themselves): world-writable and sticky, like /tmp.
    if [[ ! -d "$SLUICE_PORT_DIR" ]]; then
        mkdir -p "$SLUICE_PORT_DIR" 2>/dev/null || true
        chmod 1777 "$SLUICE_PORT_DIR" 2>/dev/null || true
    fi
    if [[ ! -e "$SLUICE_PORT_DIR/.lock" ]]; then
        (umask 0; : >>"$SLUICE_PORT_DIR/.lock") 2>/dev/null || true
    fi
    local port owner tries=0
    (
        flock -w 30 9 || { echo "free_port: cannot lock $SLUICE_PORT_DIR/.lock" >&2; exit 1; }
        while [[ $tries -lt 50 ]]; do
            tries=$((tries + 1))
            port=$(python3 - <<'PY'
import random, socket
lo = 32768
try:
    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except Exception:
    pass
lo = max(lo, 12000)
for _ in range(200):
    p = random.randrange(10000, lo)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Same option the servers use, so TIME_WAIT leftovers do not count as taken.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p))
        s.listen(1)
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
PY
)
            [[ -n "$port" ]] || continue
            local f="$SLUICE_PORT_DIR/$port"
            if [[ -f "$f" ]]; then
                owner=$(cat "$f" 2>/dev/null || true)
                if [[ -n "$owner" ]] && kill -0 "$owner" 2>/dev/null; then
                    continue
                fi
            fi
            # A stale reservation of another user cannot be taken over (sticky
            # dir): just try another port.
            rm -f -- "$f" 2>/dev/null || true
            if (set -C; echo "$$" >"$f") 2>/dev/null; then
                echo "$port"
                exit 0
            fi
        done
        echo "free_port: no free port found" >&2
        exit 1
    ) 9>>"$SLUICE_PORT_DIR/.lock"
}

# ---------------------------------------------------------------- PostgreSQL

# Runs a command as the OS user that owns the server: postgres when we are root
# (PostgreSQL refuses to run as root), ourselves otherwise. The working
# directory is the instance dir, which that user can read.
_pg_as()
{
    if [[ $(id -u) -eq 0 ]]; then
        (cd "${_PG_CWD:-/}" && runuser -u postgres -- "$@")
    else
        (cd "${_PG_CWD:-/}" && "$@")
    fi
}

# The server's log line that says why it did not start.
_pg_start_error()
{
    grep -E 'FATAL|ERROR|could not' "$1" 2>/dev/null | tail -n 5 || true
}

# Starts the postmaster on $PG_DATA as a child of this shell and waits until it
# accepts connections (what `pg_ctl -w start` does), then sets PG_PID.
#
# Why not pg_ctl: pg_ctl detaches the postmaster (setsid, parent exits), so it is
# reparented to pid 1, and under an init that does not reap orphans (some
# containers and VMs) every stopped server stays behind as a zombie. As our own
# child (through runuser when root, which waits for it) it is always reaped.
# Like pg_ctl we do start it in a session of its own (setsid): a Ctrl-C in the
# terminal goes to the script, whose cleanup then stops things in order
# (clients first), instead of hitting the server at the same moment.
_pg_launch()
{
    local launcher deadline status
    if [[ $(id -u) -eq 0 ]]; then
        (cd "$PG_DIR" && exec setsid runuser -u postgres -- "$PG_BIN/postgres" -D "$PG_DATA") \
            </dev/null >>"$PG_LOG" 2>&1 &
    else
        (cd "$PG_DIR" && exec setsid "$PG_BIN/postgres" -D "$PG_DATA") </dev/null >>"$PG_LOG" 2>&1 &
    fi
    launcher=$!
    register_pid "$launcher" INT
    deadline=$(_lib_deadline 60)
    while true; do
        # Line 8 of postmaster.pid is the postmaster's status; "ready" once it
        # accepts connections (PM_STATUS_READY, as pg_ctl -w reads it).
        status=$(sed -n 8p "$PG_DATA/postmaster.pid" 2>/dev/null || true)
        if [[ "$status" == ready* ]]; then
            PG_PID=$(head -n 1 "$PG_DATA/postmaster.pid")
            if pid_alive "$PG_PID"; then
                break
            fi
        fi
        if ! pid_alive "$launcher"; then
            wait "$launcher" 2>/dev/null || true
            unregister_pid "$launcher"
            return 1
        fi
        if ! _lib_before "$deadline"; then
            echo "lib.sh: PostgreSQL not ready after 60 s" >&2
            return 1    # still registered: cleanup stops it
        fi
        sleep 0.05
    done
    export PG_PID
    # The postmaster is what gets signalled (fast shutdown, SIGINT); runuser, if
    # any, exits with it.
    if [[ "$PG_PID" != "$launcher" ]]; then
        unregister_pid "$launcher"
        register_pid "$launcher" -      # not signalled, only waited for
        register_pid "$PG_PID" INT
        _PG_LAUNCHER_OF[$PG_PID]=$launcher
    fi
}

# Stops the postmaster $1 with signal $2 and waits for it and its launcher.
_pg_kill()
{
    local pid=$1 sig=$2
    stop_pid "$pid" "$sig" 60 || true
    if [[ -n "${_PG_LAUNCHER_OF[$pid]:-}" ]]; then
        stop_pid "${_PG_LAUNCHER_OF[$pid]}" - 10 || true
        unset '_PG_LAUNCHER_OF[$pid]'
    fi
}

# pg_start [extra postgresql.conf lines...]: initdb + start a throwaway server.
# Exports PGHOST=127.0.0.1 PGPORT PGUSER=postgres PG_DIR (the temp dir) PG_DATA
# (data dir) PG_LOG (server log) PG_PID (postmaster). A second pg_start starts a
# second server and points these variables at it; save the first's values if
# you need both.
pg_start()
{
    local dir user
    dir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-pg.XXXXXX")
    register_dir "$dir"
    chmod 0755 "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        user=postgres
        chown postgres: "$dir"
    else
        user=$(id -un)
    fi
    if ! _PG_CWD=$dir _pg_as test -w "$dir"; then
        fail "pg_start: $dir is not writable by $user (is ${TMPDIR:-/tmp} reachable by that user?)"
    fi
    PG_DIR=$dir
    PG_DATA=$dir/data
    PG_LOG=$dir/postgresql.log
    export PG_DIR PG_DATA PG_LOG

    local out
    if ! out=$(_PG_CWD=$dir _pg_as "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust \
            -E UTF8 --locale=C --no-sync 2>&1); then
        echo "$out" >&2
        fail "pg_start: initdb failed"
    fi

    {
        echo "# --- added by tests/integration/lib.sh"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$dir'"
        echo "wal_level = logical"
        echo "max_replication_slots = 20"
        echo "max_wal_senders = 20"
        if [[ "${PG_FSYNC:-off}" == on ]]; then
            echo "fsync = on"
        else
            echo "fsync = off"
            echo "full_page_writes = off"
        fi
        echo "log_min_messages = warning"
        echo "log_line_prefix = '%m [%p] %q%u@%d '"
        echo "# --- extra lines from the test"
        local line
        for line in "$@"; do echo "$line"; done
    } | _PG_CWD=$dir _pg_as tee -a "$PG_DATA/postgresql.conf" >/dev/null
    {
        echo "local all all trust"
        echo "host all all 127.0.0.1/32 trust"
        echo "local replication all trust"
        echo "host replication all 127.0.0.1/32 trust"
    } | _PG_CWD=$dir _pg_as tee "$PG_DATA/pg_hba.conf" >/dev/null

    # The port is reserved against other test runs, but something outside them
    # may still take it between the check and the bind: retry on a new port.
    local port
    for _ in 1 2 3; do
        port=$(free_port) || fail "pg_start: no free port"
        echo "port = $port" | _PG_CWD=$dir _pg_as tee -a "$PG_DATA/postgresql.conf" >/dev/null
        if _pg_launch; then
            export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
            return 0
        fi
        if ! grep -q 'could not bind\|could not create any TCP/IP sockets' "$PG_LOG" 2>/dev/null; then
            break
        fi
        echo "pg_start: port $port was taken, retrying" >&2
    done
    _pg_start_error "$PG_LOG" >&2
    fail "pg_start: server did not start (log: $PG_LOG)"
}

# pg_stop [dir]: fast shutdown of the server in dir (default $PG_DIR) by pid,
# wait until it is gone, remove dir.
pg_stop()
{
    local dir=${1:-${PG_DIR:-}} pid
    [[ -n "$dir" ]] || fail "pg_stop: no server"
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        pid=$(head -n 1 "$dir/data/postmaster.pid")
        _pg_kill "$pid" INT
    fi
    if [[ "${SLUICE_KEEP_TMP:-0}" != 1 ]]; then
        rm -rf -- "$dir"
        unregister_dir "$dir"
    fi
    if [[ "$dir" == "${PG_DIR:-}" ]]; then
        unset PG_PID
    fi
    return 0
}

# pg_restart [fast|immediate]: stop the current server (immediate = crash
# without checkpoint, recovery on start) and start it again on the same port
# and data dir. Updates PG_PID.
pg_restart()
{
    local mode=${1:-fast} sig
    case "$mode" in
        fast) sig=INT ;;
        immediate) sig=QUIT ;;
        *) fail "pg_restart: mode must be fast or immediate, not $mode" ;;
    esac
    [[ -n "${PG_PID:-}" ]] || fail "pg_restart: no running server"
    _pg_kill "$PG_PID" "$sig"
    # An immediate stop can leave the pid file behind; postgres sees that its
    # pid is gone and takes the lock over.
    _pg_launch || { _pg_start_error "$PG_LOG" >&2; fail "pg_restart: server did not start again"; }
}

# ---------------------------------------------------------------- per-test scratch

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-test.XXXXXX")
register_dir "$TEST_TMP"
export TEST_TMP

# ---------------------------------------------------------------------------
# sluice helpers
# ---------------------------------------------------------------------------

# sluice_conf FILE [key=value ...]: writes a properties file for the server of
# the last pg_start (database ${PGDATABASE:-postgres}), file sink at
# $TEST_TMP/out.jsonl, offsets in $TEST_TMP/offsets.dat. Extra arguments are
# appended as lines (a later key overrides an earlier one).
sluice_conf() {
    local file=$1
    shift
    cat >"$file" <<PROPS
debezium.source.connector.class=io.debezium.connector.postgresql.PostgresConnector
debezium.source.database.hostname=127.0.0.1
debezium.source.database.port=$PGPORT
debezium.source.database.user=postgres
debezium.source.database.password=postgres
debezium.source.database.dbname=${PGDATABASE:-postgres}
debezium.source.topic.prefix=test
debezium.source.slot.name=sluice_test
debezium.source.publication.name=sluice_test
debezium.source.offset.storage.file.filename=$TEST_TMP/offsets.dat
debezium.source.offset.flush.interval.ms=100
debezium.sink.type=file
debezium.sink.file.path=$TEST_TMP/out.jsonl
debezium.format.value.schemas.enable=false
debezium.format.key.schemas.enable=false
PROPS
    local kv
    for kv in "$@"; do printf '%s\n' "$kv" >>"$file"; done
}

# jsonl_count FILE PYEXPR: number of records r in FILE (JSON Lines) for which the
# python expression is true, e.g. jsonl_count out.jsonl 'r["value"] and r["value"]["op"]=="c"'
jsonl_count() {
    python3 - "$1" "$2" <<'PY'
import json, sys
n = 0
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)
        try:
            if eval(sys.argv[2]):
                n += 1
        except (KeyError, TypeError, IndexError):
            pass  # a record of another shape (heartbeat, tombstone) does not match
print(n)
PY
}

# wait_events FILE PYEXPR N [timeout_s]: waits until jsonl_count >= N.
wait_events() {
    local file=$1 expr=$2 n=$3 timeout=${4:-30}
    wait_for "[ -f '$file' ] && [ \"\$(jsonl_count '$file' '$expr')\" -ge $n ]" "$timeout"
}

# workload_sql FROM COUNT: SQL for COUNT transactions of 20 inserted rows each (ids FROM,
# FROM+1, ...; table t(id int primary key, v int)); every 10th transaction also updates one
# row and deletes another of its batch. Spread over ~4 s for 600 transactions, so that the
# kills of the durability tests land while it runs. Pipe it into psql -f -.
workload_sql() {
    local from=$1 count=$2 i
    for ((i = 0; i < count; i++)); do
        local a=$((from + i * 20))
        echo "INSERT INTO t SELECT g, g FROM generate_series($a, $((a + 19))) g;"
        if ((i % 10 == 9)); then
            echo "BEGIN; UPDATE t SET v = v + 1 WHERE id = $a; DELETE FROM t WHERE id = $((a + 1)); COMMIT;"
        fi
        if ((i % 2 == 0)); then echo "SELECT pg_sleep(0.01);"; fi
    done
}
