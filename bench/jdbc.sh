#!/usr/bin/env bash
# bench/jdbc.sh — database sink: apply rate PostgreSQL -> PostgreSQL of sluice's jdbc
# sink against PostgreSQL's own logical replication (CREATE SUBSCRIPTION), on the same
# WAL, and against COPY of the same rows (the limit for inserts).
#
# What it does. Starts two throwaway PostgreSQL 15 servers (tests/integration/lib.sh):
# a source and a target. On the source
#     t (id bigint primary key, a int, b text /* 40 bytes */, c timestamptz, d numeric(10,2))
# and a publication FOR TABLE t. For each workload, every replication slot (pgoutput,
# one per tool and run) is created BEFORE the workload is written, so every run
# applies exactly the same WAL:
#   I  BENCH_I_ROWS (200,000) inserts in BENCH_TXN_ROWS (1,000)-row transactions;
#   U  BENCH_U_ROWS (100,000) updates (SET a = a + 1, b = ...) of existing rows, in
#      BENCH_TXN_ROWS-row transactions (one UPDATE statement each, one event per row).
# The workload ends with one marker row (id -1 for I, -2 for U) in its own transaction;
# a run is over when the marker is visible on the target (polled every 20 ms, through one
# long-lived psql session, so that polling adds no backend to "server CPU").
# Before each run the target table t is dropped and created again (same DDL), for U
# filled with the rows the updates touch, in their state before U.
#
# Tools (per workload and run, interleaved):
#   subscription  CREATE SUBSCRIPTION ... WITH (copy_data = false, create_slot = false,
#                 slot_name = <pre-created slot>) on the target; wall time from CREATE
#                 until the marker is there; then DROP SUBSCRIPTION.
#   sluice        `sluice run` with debezium.sink.type=jdbc into the target (insert.mode=
#                 insert, primary.key.mode=record_key, schemas on, snapshot.mode=never,
#                 defaults otherwise: batch.size=500, so each 1,000-row source transaction
#                 is one target transaction; BENCH_SLUICE_PROPS="debezium.sink.jdbc.
#                 batch.size=20000" groups 20 of them); stopped (SIGTERM) once the marker
#                 is on the target.
#   copy          (I only) psql \copy of the same rows (exported once from the source)
#                 into the empty target table: one COPY, one transaction.
# Each run's target table is checked against the source (count + md5 of the rows in
# the workload's id range, marker excluded).
# "server CPU" below is the TARGET's reaped backends (sluice's connection; the
# subscription's apply worker once it is dropped); the source's walsender is not
# counted.
#
# Environment: BENCH_RUNS=3, BENCH_WORKLOADS="I U", BENCH_I_ROWS=200000,
#   BENCH_U_ROWS=100000, BENCH_TXN_ROWS=1000, BENCH_SLUICE_PROPS="k=v k=v" (extra sluice
#   properties), SLUICE_BIN=path.
# Reproduce:  bash bench/jdbc.sh      (or BENCH_ONLY=jdbc bash bench/run.sh)
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/integration/lib.sh"
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib_bench.sh"
require_sluice

I_ROWS=${BENCH_I_ROWS:-200000}
U_ROWS=${BENCH_U_ROWS:-100000}
TXN_ROWS=${BENCH_TXN_ROWS:-1000}
WORKLOADS=${BENCH_WORKLOADS:-I U}
EXTRA_PROPS=${BENCH_SLUICE_PROPS:-}
PUB=bench_pub
ANOMALIES=$TEST_TMP/anomalies.txt
: >"$ANOMALIES"
((U_ROWS <= I_ROWS)) || fail "BENCH_U_ROWS must be <= BENCH_I_ROWS (the updates touch rows of I)"

declare -A EVENTS=([I]=$I_ROWS [U]=$U_ROWS)
declare -A MARK=([I]=-1 [U]=-2)
declare -A HI=([I]=$I_ROWS [U]=$U_ROWS)
declare -A SRCSUM=()
declare -A DESC=([I]="$I_ROWS inserts in txns of $TXN_ROWS" [U]="$U_ROWS updates in txns of $TXN_ROWS")

DDL="CREATE TABLE t (id bigint PRIMARY KEY, a int, b text, c timestamptz, d numeric(10,2))"

bench_log "sluice: $SLUICE_BIN ($("$SLUICE_BIN" --version 2>&1 | head -n 1))"
bench_log "runs: $BENCH_RUNS, workloads: $WORKLOADS"

pg_start "max_replication_slots = 100" "max_wal_senders = 20" "autovacuum = off" \
    "checkpoint_timeout = '1d'" "max_wal_size = '20GB'"
SRC_PORT=$PGPORT
pg_start "autovacuum = off" "checkpoint_timeout = '1d'" "max_wal_size = '20GB'" \
    "max_logical_replication_workers = 8" "wal_retrieve_retry_interval = '50ms'"
TGT_PORT=$PGPORT
# lib_bench's helpers (server CPU, backends gone) look at the target
PG_VERSION=$(psql_c "SHOW server_version")
bench_log "PostgreSQL $PG_VERSION: source port $SRC_PORT, target port $TGT_PORT"
src_c() { PGPORT=$SRC_PORT psql_c "$@"; }
tgt_c() { PGPORT=$TGT_PORT psql_c "$@"; }

src_c "$DDL; CREATE PUBLICATION $PUB FOR TABLE t;"

tools_of()
{
    echo subscription
    echo sluice
    [[ "$1" == I ]] && echo copy
    return 0
}

slot_name() { echo "${1,,}_${2}_${3}"; }

anomaly()
{
    echo "$*" >>"$ANOMALIES"
    bench_log "ANOMALY: $*"
}

checksum() # PORT W
{
    PGPORT=$1 psql_c "SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY id)), '-')
        FROM t x WHERE id BETWEEN 1 AND ${HI[$2]}"
}

generate()
{
    local w=$1 sqlf=$TEST_TMP/gen_$1.sql s e t0 t1
    for ((s = 1; s <= ${HI[$w]}; s += TXN_ROWS)); do
        e=$((s + TXN_ROWS - 1))
        ((e > HI[$w])) && e=${HI[$w]}
        if [[ $w == I ]]; then
            echo "INSERT INTO t SELECT $ROW_EXPR FROM generate_series($s, $e) g;"
        else
            echo "UPDATE t SET a = a + 1, b = md5(b) || 'u' WHERE id BETWEEN $s AND $e;"
        fi
    done >"$sqlf"
    echo "INSERT INTO t VALUES (${MARK[$w]}, 0, 'marker', now(), 0);" >>"$sqlf"
    t0=$(bench_now)
    PGPORT=$SRC_PORT "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f "$sqlf" >/dev/null ||
        fail "workload $w failed"
    t1=$(bench_now)
    SRCSUM[$w]=$(checksum "$SRC_PORT" "$w")
    bench_log "workload $w (${DESC[$w]}) written in $(bench_sub "$t1" "$t0") s"
}

# fresh target table for a run of W
prepare_target()
{
    local w=$1
    tgt_c "SET client_min_messages = warning; DROP TABLE IF EXISTS t; $DDL; DROP TABLE IF EXISTS sluice_offsets" >/dev/null
    if [[ $w == U ]]; then
        tgt_c "INSERT INTO t SELECT $ROW_EXPR FROM generate_series(1, $U_ROWS) g" >/dev/null
    fi
    tgt_c "VACUUM ANALYZE t" >/dev/null
    tgt_c "CHECKPOINT" >/dev/null
}

# The marker is polled through one psql session that lives as long as the bench: a new
# connection per poll would fork a backend 50 times a second, and the target's reaped
# backends are what "server CPU" counts (and the machine has 2 cores).
coproc POLL { PGPORT=$TGT_PORT exec "$PG_BIN/psql" -X -qAt -d postgres 2>&1; }
register_pid "$POLL_PID"
marker_there()
{
    local ans=""
    echo "SELECT count(*) FROM t WHERE id = ${MARK[$1]};" >&"${POLL[1]}"
    read -r -t 30 ans <&"${POLL[0]}" || fail "the polling session did not answer"
    [[ "$ans" == 1 ]]
}

# wait_marker W PID: polls until the marker row is on the target; 0 when it is.
wait_marker()
{
    local w=$1 pid=${2:-} deadline
    deadline=$(_lib_deadline 600)
    while _lib_before "$deadline"; do
        marker_there "$w" && return 0
        [[ -z "$pid" ]] || pid_alive "$pid" || return 1
        sleep 0.02
    done
    return 1
}

verify()
{
    local w=$1 who=$2 got
    got=$(checksum "$TGT_PORT" "$w")
    [[ "$got" == "${SRCSUM[$w]}" ]] || anomaly "$who: target $got, source ${SRCSUM[$w]}"
}

run_sub()
{
    local w=$1 i=$2 slot note=""
    slot=$(slot_name "$w" subscription "$i")
    prepare_target "$w"
    bench_begin
    tgt_c "CREATE SUBSCRIPTION bench_sub CONNECTION 'host=127.0.0.1 port=$SRC_PORT dbname=postgres user=postgres'
           PUBLICATION $PUB WITH (copy_data = false, create_slot = false, slot_name = '$slot')" >/dev/null
    wait_marker "$w" || note="marker-not-reached"
    bench_end
    tgt_c "ALTER SUBSCRIPTION bench_sub DISABLE; ALTER SUBSCRIPTION bench_sub SET (slot_name = NONE);
           DROP SUBSCRIPTION bench_sub" >/dev/null
    sleep 0.3
    bench_end_server
    [[ -z "$note" ]] || anomaly "subscription $w run $i: marker not reached"
    verify "$w" "subscription $w run $i"
    bench_record jdbc "$w" subscription "$i" "${EVENTS[$w]}" /dev/null "$note"
}

run_copy()
{
    local w=$1 i=$2 tf=$TEST_TMP/copy.time
    prepare_target "$w"
    bench_begin
    PGPORT=$TGT_PORT /usr/bin/time -v -o "$tf" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres \
        -c "\\copy t FROM '$TEST_TMP/rows.$w.copy'" || fail "COPY failed"
    bench_end
    bench_end_server
    verify "$w" "copy $w run $i"
    bench_record jdbc "$w" copy "$i" "${EVENTS[$w]}" "$tf"
}

run_sluice()
{
    local w=$1 i=$2 slot dir tf pid rc=0 note="" kv
    slot=$(slot_name "$w" sluice "$i")
    dir=$TEST_TMP/sluice-run
    rm -rf -- "$dir"
    mkdir -p "$dir"
    tf=$dir/time
    local props=(
        "debezium.source.topic.prefix=bench"
        "debezium.source.snapshot.mode=never"
        "debezium.source.slot.name=$slot"
        "debezium.source.publication.name=$PUB"
        "debezium.source.publication.autocreate.mode=disabled"
        "debezium.source.heartbeat.interval.ms=0"
        "debezium.source.offset.storage.file.filename=$dir/offsets.dat"
        "debezium.sink.type=jdbc"
        "debezium.sink.jdbc.connection.url=jdbc:postgresql://127.0.0.1:$TGT_PORT/postgres"
        "debezium.sink.jdbc.connection.username=postgres"
        "debezium.sink.jdbc.insert.mode=insert"
        "debezium.sink.jdbc.primary.key.mode=record_key"
        "debezium.sink.jdbc.table.name.format=\${source.table}"
        "debezium.format.value.schemas.enable=true"
        "debezium.format.key.schemas.enable=true")
    for kv in $EXTRA_PROPS; do props+=("$kv"); done
    PGPORT=$SRC_PORT sluice_conf "$dir/app.properties" "${props[@]}"
    chmod 600 "$dir/app.properties"
    prepare_target "$w"
    bench_begin
    start_bg sluice-run /usr/bin/time -v -o "$tf" "$SLUICE_BIN" run -c "$dir/app.properties"
    pid=$BG_PID
    wait_marker "$w" "$pid" || note="marker-not-reached "
    bench_end
    if pid_alive "$pid"; then
        local spid
        spid=$(pgrep -P "$pid" | head -n 1 || true)
        [[ -n "$spid" ]] && kill -TERM "$spid" 2>/dev/null
    fi
    stop_pid "$pid" - 120 || rc=$?
    bench_end_server
    local who="sluice $w run $i"
    [[ -z "$note" ]] || anomaly "$who: marker not reached: $(tail -n 3 "$TEST_TMP/sluice-run.err")"
    ((rc == 0)) || { note+="exit=$rc "; anomaly "$who: exit status $rc: $(tail -n 3 "$TEST_TMP/sluice-run.err")"; }
    if grep -qE ' (WARN|ERROR) ' "$TEST_TMP/sluice-run.err"; then
        anomaly "$who: log: $(grep -E ' (WARN|ERROR) ' "$TEST_TMP/sluice-run.err" | head -n 3 | tr '\n' ' ')"
    fi
    verify "$w" "$who"
    bench_record jdbc "$w" sluice "$i" "${EVENTS[$w]}" "$tf" "$note"
    rm -rf -- "$dir"
}

export PGPORT=$TGT_PORT
for w in $WORKLOADS; do
    if [[ $w == U ]] && (($(src_c "SELECT count(*) FROM t WHERE id BETWEEN 1 AND $U_ROWS") < U_ROWS)); then
        # U alone (without I before it): the rows it updates, written before its slots
        src_c "INSERT INTO t SELECT $ROW_EXPR FROM generate_series(1, $U_ROWS) g ON CONFLICT DO NOTHING" >/dev/null
    fi
    sql=""
    for ((i = 1; i <= BENCH_RUNS; i++)); do
        for tool in subscription sluice; do
            sql+="SELECT pg_create_logical_replication_slot('$(slot_name "$w" "$tool" "$i")', 'pgoutput');"
        done
    done
    src_c "$sql" >/dev/null
    generate "$w"
    src_c "CHECKPOINT"
    if [[ $w == I ]]; then
        src_c "\\copy (SELECT * FROM t WHERE id BETWEEN 1 AND $I_ROWS ORDER BY id) TO '$TEST_TMP/rows.I.copy'"
    fi
    for ((i = 1; i <= BENCH_RUNS; i++)); do
        for tool in $(tools_of "$w"); do
            case $tool in
                subscription) run_sub "$w" "$i" ;;
                sluice) run_sluice "$w" "$i" ;;
                copy) run_copy "$w" "$i" ;;
            esac
        done
    done
    src_c "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots" >/dev/null
done

bench_summary "Database sink, PostgreSQL -> PostgreSQL, same WAL (sluice jdbc vs subscription vs COPY)" subscription rows
echo "workloads:"
for w in $WORKLOADS; do echo "  $w: ${DESC[$w]}"; done
echo "columns: CPU = the tool's own user+sys (/usr/bin/time -v; 0 for the subscription, which runs"
echo "inside the target server); server CPU = the target's reaped backends (sluice's session, the"
echo "subscription's apply worker); ratio = median rows/s over the subscription's."
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), PostgreSQL $PG_VERSION (fsync off)"
echo "sluice: $("$SLUICE_BIN" --version 2>&1 | head -n 1) ($SLUICE_BIN)"
if [[ -s "$ANOMALIES" ]]; then
    echo "anomalies:"
    sed 's/^/  /' "$ANOMALIES"
else
    echo "anomalies: none (every run's target table equals the source's, no WARN/ERROR in sluice's log)"
fi
echo
echo "reproduce: BENCH_RUNS=$BENCH_RUNS BENCH_WORKLOADS=\"$WORKLOADS\" BENCH_I_ROWS=$I_ROWS" \
    "BENCH_U_ROWS=$U_ROWS BENCH_TXN_ROWS=$TXN_ROWS SLUICE_BIN=$SLUICE_BIN bash bench/jdbc.sh"
