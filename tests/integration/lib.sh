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
#   MY_FSYNC=on          my_start with innodb_flush_log_at_trx_commit=1 and
#                        sync_binlog=1; default 2 and 0
#   SLUICE_KEEP_TMP=1    keep temp dirs after the run (processes are still stopped)
#   SLUICE_PORT_DIR      where port reservations live (default /tmp/sluice-ports)
#
# Functions (see each for details):
#   free_port                         echo a free, reserved TCP port on 127.0.0.1
#   pg_start [conf lines...]          throwaway PostgreSQL 15; exports PGHOST PGPORT
#                                     PGUSER PG_DIR PG_DATA PG_LOG PG_PID
#   pg_stop [dir]                     fast shutdown, wait, remove the dir
#   pg_restart [fast|immediate]       stop and start the current instance, same port
#   my_start [mariadbd options...]    throwaway MariaDB (ROW binlog, FULL image and
#                                     metadata, server_id 1; users root and sluice);
#                                     exports MY_DIR MY_PORT MY_PID MY_SOCK MY_LOG
#   my_stop [dir]                     clean shutdown (SIGTERM), wait, remove the dir
#   my_restart [fast|immediate]       SIGTERM or SIGKILL, start again: same port, options
#   my_sql SQL [mariadb args...]      SQL as root over TCP, -N -B output; errors fail
#   my_sql_file FILE [mariadb args...]  the same for a script file
#   my_sluice_conf FILE [key=value...]  sluice_conf for the MariaDbConnector
#   tls_dir                           make $CERTS, a throwaway directory for certificates
#   tls_ca NAME CN                    self-signed CA $CERTS/NAME.{crt,key}
#   tls_cert NAME CN SAN CA           certificate signed by CA (key mode 0600)
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

# pg_restart [fast|immediate] [DOWN_SECONDS]: stop the current server (immediate
# = crash without checkpoint, recovery on start), stay down DOWN_SECONDS (default
# 0), and start it again on the same port and data dir. Updates PG_PID.
pg_restart()
{
    local mode=${1:-fast} down=${2:-0} sig
    case "$mode" in
        fast) sig=INT ;;
        immediate) sig=QUIT ;;
        *) fail "pg_restart: mode must be fast or immediate, not $mode" ;;
    esac
    [[ -n "${PG_PID:-}" ]] || fail "pg_restart: no running server"
    _pg_kill "$PG_PID" "$sig"
    sleep "$down"
    # An immediate stop can leave the pid file behind; postgres sees that its
    # pid is gone and takes the lock over.
    _pg_launch || { _pg_start_error "$PG_LOG" >&2; fail "pg_restart: server did not start again"; }
}

# ---------------------------------------------------------------- MariaDB

# The same model as PostgreSQL above: a throwaway server in a temp dir, started
# as a child of this shell (through runuser as the mysql OS user when we are
# root), registered by pid, on a port from free_port, stopped by pid.

declare -A _MY_LAUNCHER_OF=()   # mariadbd pid -> runuser pid

# Runs a command as the OS user that owns the server: mysql when we are root
# (mariadbd refuses to run as root), ourselves otherwise. The working directory
# is the instance dir, which that user can read.
_my_as()
{
    if [[ $(id -u) -eq 0 ]]; then
        (cd "${_MY_CWD:-/}" && runuser -u mysql -- "$@")
    else
        (cd "${_MY_CWD:-/}" && "$@")
    fi
}

# The server binary: /usr/sbin is not in every user's PATH.
_my_mariadbd()
{
    local b
    b=$(command -v mariadbd 2>/dev/null || true)
    [[ -n "$b" ]] || b=/usr/sbin/mariadbd
    echo "$b"
}

# _my_client [mariadb args...]: the mariadb client as root over TCP on $MY_PORT;
# no option files (~/.my.cnf, /etc/mysql), utf8mb4 whatever the locale says.
_my_client()
{
    mariadb --no-defaults --protocol=TCP --host=127.0.0.1 --port="$MY_PORT" --user=root \
        --connect-timeout=10 --default-character-set=utf8mb4 "$@"
}

# The same over the server's unix socket (setup, readiness): root@localhost.
_my_client_sock()
{
    mariadb --no-defaults --protocol=SOCKET --socket="$MY_SOCK" --user=root \
        --connect-timeout=10 --default-character-set=utf8mb4 "$@"
}

# _my_start_error [offset]: the server's log lines (from byte offset on) that
# say why it did not start.
_my_start_error()
{
    local off=${1:-0}
    echo "--- last lines of $MY_LOG" >&2
    tail -c "+$((off + 1))" "$MY_LOG" 2>/dev/null | tail -n 20 >&2 || true
    echo "---" >&2
}

# parent pid of $1 (field 4 of /proc/<pid>/stat)
_my_ppid()
{
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo "${2:-}"
}

# Starts mariadbd with the arguments in $MY_DIR/mariadbd.args (one a line) as a
# child of this shell (through runuser when root, which waits for it, so it is
# always reaped), in a session of its own (a Ctrl-C goes to the script, whose
# cleanup then stops things in order), and waits until it accepts connections on
# its socket and over TCP on $MY_PORT. Sets MY_PID, the mariadbd process
# (read from its pid file; checked to be the launcher or its child, so a stale
# pid file left by a SIGKILL is never taken for the new server).
_my_launch()
{
    local launcher deadline pid port sock bin
    local -a args
    mapfile -t args <"$MY_DIR/mariadbd.args"
    bin=$(_my_mariadbd)
    _MY_LOG_OFF=$(stat -c %s "$MY_LOG" 2>/dev/null || echo 0)
    if [[ $(id -u) -eq 0 ]]; then
        (cd "$MY_DIR" && exec setsid runuser -u mysql -- "$bin" "${args[@]}") \
            </dev/null >>"$MY_LOG" 2>&1 &
    else
        (cd "$MY_DIR" && exec setsid "$bin" "${args[@]}") </dev/null >>"$MY_LOG" 2>&1 &
    fi
    launcher=$!
    register_pid "$launcher" TERM
    deadline=$(_lib_deadline 60)
    while true; do
        pid=$(cat "$MY_DIR/mariadbd.pid" 2>/dev/null || true)
        if [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid" &&
            [[ "$pid" == "$launcher" || "$(_my_ppid "$pid")" == "$launcher" ]]; then
            # ready on its socket, with the expected port, and that port (TCP,
            # as the tests connect) leads to this server
            if port=$(_my_client_sock -N -B -e 'SELECT @@port' 2>/dev/null) &&
                [[ "$port" == "$MY_PORT" ]] &&
                sock=$(_my_client -N -B -e 'SELECT @@socket' 2>/dev/null) &&
                [[ "$sock" == "$MY_SOCK" ]]; then
                MY_PID=$pid
                break
            fi
        fi
        if ! pid_alive "$launcher"; then
            wait "$launcher" 2>/dev/null || true
            unregister_pid "$launcher"
            return 1
        fi
        if ! _lib_before "$deadline"; then
            echo "lib.sh: MariaDB not ready after 60 s" >&2
            return 1    # still registered: cleanup stops it
        fi
        sleep 0.05
    done
    export MY_PID
    # mariadbd is what gets signalled (SIGTERM: clean shutdown); runuser, if
    # any, exits with it. (runuser would pass a SIGTERM on, but SIGKILLs its
    # child 2 s later: never signal the launcher once the server runs.)
    if [[ "$MY_PID" != "$launcher" ]]; then
        unregister_pid "$launcher"
        register_pid "$launcher" -      # not signalled, only waited for
        register_pid "$MY_PID" TERM
        _MY_LAUNCHER_OF[$MY_PID]=$launcher
    fi
}

# Stops mariadbd $1 with signal $2 and waits for it and its launcher.
_my_kill()
{
    local pid=$1 sig=$2
    stop_pid "$pid" "$sig" 120 || true
    if [[ -n "${_MY_LAUNCHER_OF[$pid]:-}" ]]; then
        stop_pid "${_MY_LAUNCHER_OF[$pid]}" - 10 || true
        unset '_MY_LAUNCHER_OF[$pid]'
    fi
}

# my_start [extra mariadbd options...]: mariadb-install-db + start a throwaway
# MariaDB with a ROW binlog (log_bin=mysql-bin, binlog_row_image=FULL,
# binlog_row_metadata=FULL, server_id=1), utf8mb4, small memory, no fsync
# (MY_FSYNC=on: innodb_flush_log_at_trx_commit=1, sync_binlog=1). The extra
# options come last and override these (--server-id=2, --binlog-format=MIXED ...);
# they are kept for my_restart. Users: root@localhost/127.0.0.1 without password,
# sluice@'%'/'127.0.0.1' (password sluice) with REPLICATION SLAVE, REPLICATION
# CLIENT, SELECT, RELOAD, SHOW DATABASES on *.*. The setup is not binlogged: the
# binlog holds only what the test writes.
# Exports MY_DIR (temp dir) MY_PORT MY_PID (mariadbd) MY_SOCK MY_LOG (error log).
# A second my_start starts a second server and points these at it; save the
# first's values if you need both.
my_start()
{
    local dir user out
    command -v mariadb-install-db >/dev/null 2>&1 ||
        fail "my_start: mariadb-install-db not found (scripts/install-deps.sh installs mariadb-server)"
    dir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-my.XXXXXX")
    register_dir "$dir"
    chmod 0755 "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        user=mysql
        chown mysql: "$dir"
    else
        user=$(id -un)
    fi
    if ! _MY_CWD=$dir _my_as test -w "$dir"; then
        fail "my_start: $dir is not writable by $user (is ${TMPDIR:-/tmp} reachable by that user?)"
    fi
    MY_DIR=$dir
    MY_SOCK=$dir/mysqld.sock
    MY_LOG=$dir/mariadb.log
    export MY_DIR MY_SOCK MY_LOG
    # Created by the server's user: mariadbd reopens the log for --log-error. A
    # tmpdir of its own: in a shared /tmp, concurrent bootstraps were seen to
    # trip over each other's temporary tables.
    _MY_CWD=$dir _my_as touch "$MY_LOG"
    _MY_CWD=$dir _my_as mkdir "$dir/tmp"

    local -a install=(mariadb-install-db --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp"
        --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve
        --innodb-buffer-pool-size=32M --innodb-log-file-size=16M)
    [[ $(id -u) -eq 0 ]] || install+=(--user="$user")
    if ! out=$(_MY_CWD=$dir _my_as "${install[@]}" 2>&1); then
        echo "--- mariadb-install-db said:" >&2
        grep -E 'ERROR|\[Warning\]' <<<"$out" | head -n 20 >&2 || true
        echo "$out" | head -n 30 >&2
        fail "my_start: mariadb-install-db failed"
    fi

    local -a durability
    if [[ "${MY_FSYNC:-off}" == on ]]; then
        durability=(--innodb-flush-log-at-trx-commit=1 --sync-binlog=1)
    else
        durability=(--innodb-flush-log-at-trx-commit=2 --sync-binlog=0)
    fi

    # The port is reserved against other test runs, but something outside them
    # may still take it between the check and the bind: retry on a new port.
    local port
    for _ in 1 2 3; do
        port=$(free_port) || fail "my_start: no free port"
        MY_PORT=$port
        export MY_PORT
        printf '%s\n' --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" --socket="$MY_SOCK" \
            --pid-file="$dir/mariadbd.pid" --port="$port" --bind-address=127.0.0.1 \
            --skip-name-resolve --log-error="$MY_LOG" \
            --log-bin=mysql-bin --binlog-format=ROW --binlog-row-image=FULL \
            --binlog-row-metadata=FULL --server-id=1 \
            --innodb-buffer-pool-size=32M --innodb-log-file-size=16M "${durability[@]}" \
            --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
            "$@" >"$dir/mariadbd.args"
        if _my_launch; then
            _my_setup_users
            return 0
        fi
        if ! tail -c "+$((_MY_LOG_OFF + 1))" "$MY_LOG" 2>/dev/null |
            grep -q 'Bind on TCP/IP port\|Address already in use'; then
            break
        fi
        echo "my_start: port $port was taken, retrying" >&2
    done
    _my_start_error "$_MY_LOG_OFF"
    fail "my_start: server did not start (log: $MY_LOG)"
}

# Users of a fresh server (over the socket, as root@localhost, not binlogged).
_my_setup_users()
{
    local host sql
    host=$(uname -n)
    sql="SET SESSION sql_log_bin = 0;
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'sluice'@'%' IDENTIFIED BY 'sluice';
CREATE USER IF NOT EXISTS 'sluice'@'127.0.0.1' IDENTIFIED BY 'sluice';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD, SHOW DATABASES ON *.* TO 'sluice'@'%';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD, SHOW DATABASES ON *.* TO 'sluice'@'127.0.0.1';"
    # mariadb-install-db also made root@<hostname>, which --skip-name-resolve only
    # warns about at every start.
    case "$host" in
        localhost | 127.0.0.1 | ::1 | *\'* | *\\*) ;;
        *) sql+=" DROP USER IF EXISTS 'root'@'$host';" ;;
    esac
    local out
    if ! out=$(_my_client_sock -N -B -e "$sql" 2>&1); then
        fail "my_start: setting up users failed: $out"
    fi
}

# my_stop [dir]: clean shutdown (SIGTERM) of the server in dir (default $MY_DIR)
# by its registered pid, wait until it is gone, remove dir (kept with
# SLUICE_KEEP_TMP=1).
my_stop()
{
    local dir=${1:-${MY_DIR:-}} pid entry
    [[ -n "$dir" ]] || fail "my_stop: no server"
    if [[ -f "$dir/mariadbd.pid" ]]; then
        pid=$(cat "$dir/mariadbd.pid" 2>/dev/null || true)
        # Only a pid this script registered: a pid file left by a SIGKILL may
        # name a process that is not ours any more.
        for entry in "${_LIB_PIDS[@]}"; do
            if [[ "${entry%%:*}" == "$pid" ]]; then
                _my_kill "$pid" TERM
                break
            fi
        done
    fi
    if [[ "${SLUICE_KEEP_TMP:-0}" != 1 ]]; then
        rm -rf -- "$dir"
        unregister_dir "$dir"
    fi
    if [[ "$dir" == "${MY_DIR:-}" ]]; then
        unset MY_PID
    fi
    return 0
}

# my_restart [fast|immediate]: stop the current server (fast: SIGTERM, clean
# shutdown; immediate: SIGKILL, crash recovery on start) and start it again on
# the same port and datadir with the same options. Updates MY_PID.
my_restart()
{
    local mode=${1:-fast} sig
    case "$mode" in
        fast) sig=TERM ;;
        immediate) sig=KILL ;;
        *) fail "my_restart: mode must be fast or immediate, not $mode" ;;
    esac
    [[ -n "${MY_PID:-}" ]] || fail "my_restart: no running server"
    _my_kill "$MY_PID" "$sig"
    unset MY_PID
    # After a SIGKILL the pid file and the socket's lock file are left behind;
    # mariadbd sees that their pid is gone and takes them over.
    _my_launch || { _my_start_error "$_MY_LOG_OFF"; fail "my_restart: server did not start again"; }
}

# The client's error message from its stderr file $1: the ERROR lines (it also
# echoes the failed statement between dashes), or everything if there are none.
_my_client_error()
{
    if grep -q '^ERROR' "$1" 2>/dev/null; then
        grep '^ERROR' "$1"
    else
        cat "$1" 2>/dev/null
    fi
}

# my_sql "SQL" [mariadb args...]: runs SQL (one or more statements) as root over
# TCP on $MY_PORT: batch mode, tab-separated, no column names (-N -B), utf8mb4.
# An error fails the test with the server's message. E.g. my_sql 'SELECT 1' -D inv
my_sql()
{
    local sql=$1 errf rc=0
    shift
    errf="$TEST_TMP/.my_sql.$BASHPID.err"
    _my_client -N -B -e "$sql" "$@" 2>"$errf" || rc=$?
    if [[ $rc -ne 0 ]]; then
        local msg shown=$sql
        msg=$(_my_client_error "$errf")
        rm -f -- "$errf"
        [[ ${#shown} -gt 300 ]] && shown="${shown:0:300}..."
        fail "my_sql: $msg (SQL: $shown)"
    fi
    rm -f -- "$errf"
}

# my_sql_file FILE [mariadb args...]: the same for a script file (stops at the
# first error).
my_sql_file()
{
    local file=$1 errf rc=0
    shift
    [[ -r "$file" ]] || fail "my_sql_file: cannot read $file"
    errf="$TEST_TMP/.my_sql.$BASHPID.err"
    _my_client -N -B "$@" <"$file" 2>"$errf" || rc=$?
    if [[ $rc -ne 0 ]]; then
        local msg
        msg=$(_my_client_error "$errf")
        rm -f -- "$errf"
        fail "my_sql_file $file: $msg"
    fi
    rm -f -- "$errf"
}

# my_sluice_conf FILE [key=value ...]: like sluice_conf, for the server of the
# last my_start: MariaDbConnector as user sluice, a random
# database.server.id (1000..100000, so that two readers of one server do not
# clash), file sink at $TEST_TMP/out.jsonl, offsets in $TEST_TMP/offsets.dat,
# schemas off. Extra arguments are appended as lines (a later key overrides an
# earlier one). Mode 600 (a password is in it).
my_sluice_conf()
{
    local file=$1
    shift
    [[ -n "${MY_PORT:-}" ]] || fail "my_sluice_conf: no server (my_start first)"
    cat >"$file" <<PROPS
debezium.source.connector.class=io.debezium.connector.mariadb.MariaDbConnector
debezium.source.database.hostname=127.0.0.1
debezium.source.database.port=$MY_PORT
debezium.source.database.user=sluice
debezium.source.database.password=sluice
debezium.source.database.server.id=$((1000 + (RANDOM * 32768 + RANDOM) % 99001))
debezium.source.topic.prefix=test
debezium.source.offset.storage.file.filename=$TEST_TMP/offsets.dat
debezium.source.offset.flush.interval.ms=100
debezium.sink.type=file
debezium.sink.file.path=$TEST_TMP/out.jsonl
debezium.format.value.schemas.enable=false
debezium.format.key.schemas.enable=false
PROPS
    local kv
    for kv in "$@"; do printf '%s\n' "$kv" >>"$file"; done
    chmod 600 "$file"   # it holds a password: sluice warns about a file others can read
}

# ---------------------------------------------------------------- TLS certificates

# A throwaway CA and certificates (EC P-256, valid two days) for the TLS tests. The
# directory is world-readable so that a server running as another OS user reaches it.
tls_dir() {
    CERTS=$(mktemp -d "${TMPDIR:-/tmp}/sluice-tls.XXXXXX")
    register_dir "$CERTS"
    chmod 0755 "$CERTS"
}
_tls_ssl() { openssl "$@" >/dev/null 2>&1 || fail "openssl $*"; }
tls_ca() {
    _tls_ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=$2" -keyout "$CERTS/$1.key" -out "$CERTS/$1.crt"
}
tls_cert() {
    _tls_ssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
        -keyout "$CERTS/$1.key" -out "$CERTS/$1.csr"
    printf 'subjectAltName=%s\n' "$3" >"$CERTS/$1.ext"
    _tls_ssl x509 -req -in "$CERTS/$1.csr" -CA "$CERTS/$4.crt" -CAkey "$CERTS/$4.key" \
        -CAcreateserial -days 2 -extfile "$CERTS/$1.ext" -out "$CERTS/$1.crt"
    chmod 0600 "$CERTS/$1.key"
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

# workload_sql FROM COUNT [TABLE] [SLEEP_EVERY] [PK_CHANGE]: SQL for COUNT transactions of
# 20 inserted rows each (ids FROM, FROM+1, ...; TABLE, default t, has id int primary key,
# v int); every 10th transaction also updates one row and deletes another of its batch,
# and with PK_CHANGE=1 moves a third to a negative id (a primary-key change). A 10 ms
# sleep every SLEEP_EVERY (default 2) transactions spreads 600 transactions over ~4 s, so
# that the kills of the durability tests land while it runs. Pipe it into psql -f -.
workload_sql() {
    local from=$1 count=$2 table=${3:-t} every=${4:-2} pk_change=${5:-0} i
    for ((i = 0; i < count; i++)); do
        local a=$((from + i * 20))
        echo "INSERT INTO $table SELECT g, g FROM generate_series($a, $((a + 19))) g;"
        if ((i % 10 == 9)); then
            local move=""
            ((pk_change)) && move=" UPDATE $table SET id = -id WHERE id = $((a + 2));"
            echo "BEGIN; UPDATE $table SET v = v + 1 WHERE id = $a; DELETE FROM $table WHERE id = $((a + 1));$move COMMIT;"
        fi
        if ((i % every == 0)); then echo "SELECT pg_sleep(0.01);"; fi
    done
}

jsonl_loss_dups() {
    python3 - "$1" "$2" "$3" <<'PY'
import json, sys
path, lo, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = {}
for line in open(path):
    r = json.loads(line)
    v = r["value"]
    if v and v.get("op") in ("c", "r") and v["after"]["id"] >= lo and v["after"]["id"] < lo + n:
        seen[v["after"]["id"]] = seen.get(v["after"]["id"], 0) + 1
missing = [i for i in range(lo, lo + n) if i not in seen]
dups = sum(c - 1 for c in seen.values())
print(f"{len(missing)} {dups}")
PY
}

# jsonl_order_violations FILE: keys whose first update or delete arrived before their
# first create. Replays after a crash may repeat a key's events, but the first arrival
# of each must be in commit order.
jsonl_order_violations() {
    python3 - "$1" <<'PY'
import json, sys
first = {}
for n, line in enumerate(open(sys.argv[1])):
    r = json.loads(line)
    v = r["value"]
    if not v or v.get("op") not in ("c", "r", "u", "d"):
        continue
    first.setdefault((r["key"]["id"], "c" if v["op"] == "r" else v["op"]), n)
print(sum(1 for (k, op), n in first.items() if op in ("u", "d") and first.get((k, "c"), n + 1) > n))
PY
}

# kill9_restarts N RUN [WORKLOAD_PID]: kill -9 sluice ($SL) N times at random moments
# (0.1-0.9 s apart), restarting it each time with "RUN k" (k = 1..N), which must set SL.
# Fails if sluice died on its own in between. Sets KILLS, and KILLS_DURING: the kills
# that landed while WORKLOAD_PID was still running.
kill9_restarts() {
    local n=$1 run=$2 wl=${3:-} k
    KILLS=0 KILLS_DURING=0
    for ((k = 1; k <= n; k++)); do
        sleep "0.$((RANDOM % 9 + 1))"
        pid_alive "$SL" || fail "sluice (pid $SL) died on its own before kill $k"
        [[ -z "$wl" ]] || ! pid_alive "$wl" || KILLS_DURING=$((KILLS_DURING + 1))
        kill -9 "$SL" 2>/dev/null || true
        stop_pid "$SL" - 10 || true
        KILLS=$((KILLS + 1))
        "$run" "$k"
    done
}
