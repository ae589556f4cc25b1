#!/usr/bin/env bash
# bench/pg_snapshot.sh — PostgreSQL initial snapshot: sluice against plain COPY.
#
# What it does. Starts a throwaway PostgreSQL 15 (tests/integration/lib.sh), fills
#     s (id bigint primary key, a int, b text /* 40 bytes */, c timestamptz, d numeric(10,2))
# with BENCH_SNAPSHOT_ROWS (5,000,000) rows, VACUUM (FREEZE, ANALYZE)s it (so no
# reader sets hint bits) and reads it once to warm the caches. Then, for each run
# (tools interleaved):
#   COPY            psql -X -c "COPY s TO STDOUT" > /dev/null
#                   (the reference: the server's COPY and libpq, nothing else)
#   sluice          `sluice run` with snapshot.mode=initial_only and the file sink
#                   (JSON Lines, fsync on): it creates its slot with an exported
#                   snapshot, reads s with COPY inside it, writes one event per
#                   row and exits by itself. Variants (BENCH_SNAPSHOT_VARIANTS):
#                     schemas-off  key/value schemas disabled
#                     schemas-on   Debezium Server's default JsonConverter output
#                   A fresh offsets file and output file per run; the slot is
#                   dropped after each run.
# Each run is under /usr/bin/time -v (CPU, peak RSS); "server CPU" is the CPU of
# the backends that ended during the run (the COPY backend; for sluice also its
# walsender and catalog connection), from the postmaster's reaped-children times.
# sluice's output is checked: one line per row, exit status 0, no WARN/ERROR.
#
# Environment:
#   BENCH_RUNS=3                   runs per tool (medians are reported)
#   BENCH_SNAPSHOT_ROWS=5000000
#   BENCH_SNAPSHOT_VARIANTS="schemas-off schemas-on"
#   BENCH_TSV=file                 where the per-run results go (default in TEST_TMP)
#   SLUICE_BIN=path                the binary (default build/sluice)
#
# Reproduce:  bash bench/pg_snapshot.sh     (or: make bench, which runs every benchmark)
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/integration/lib.sh"
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib_bench.sh"
require_sluice

ROWS=${BENCH_SNAPSHOT_ROWS:-5000000}
VARIANTS=${BENCH_SNAPSHOT_VARIANTS:-schemas-off schemas-on}
PUB=bench_snap_pub
SLOT=bench_snap
ANOMALIES=$TEST_TMP/anomalies.txt
: >"$ANOMALIES"
anomaly()
{
    echo "$*" >>"$ANOMALIES"
    bench_log "ANOMALY: $*"
}

bench_log "sluice: $SLUICE_BIN ($("$SLUICE_BIN" --version 2>&1 | head -n 1))"
bench_log "runs: $BENCH_RUNS, rows: $ROWS, sluice variants: $VARIANTS"

pg_start "autovacuum = off" "checkpoint_timeout = '1d'" "max_wal_size = '50GB'"
PG_VERSION=$(psql_c "SHOW server_version")
bench_log "PostgreSQL $PG_VERSION on port $PGPORT"

psql_c "CREATE TABLE s (id bigint PRIMARY KEY, a int, b text, c timestamptz, d numeric(10,2));
        CREATE PUBLICATION $PUB FOR TABLE s;"
t0=$(bench_now)
for ((lo = 1; lo <= ROWS; lo += 1000000)); do
    hi=$((lo + 999999))
    ((hi > ROWS)) && hi=$ROWS
    echo "INSERT INTO s SELECT $ROW_EXPR FROM generate_series($lo, $hi) g;"
done >"$TEST_TMP/gen.sql"
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f "$TEST_TMP/gen.sql"
psql_c "VACUUM (FREEZE, ANALYZE) s"
psql_c "CHECKPOINT"
"$PG_BIN/psql" -X -q -d postgres -c "COPY s TO STDOUT" >/dev/null
bench_log "table s: $ROWS rows, $(psql_c "SELECT pg_size_pretty(pg_table_size('s'))"), ready in $(bench_sub "$(bench_now)" "$t0") s"

run_copy()
{
    local i=$1 tf=$TEST_TMP/copy.time
    bench_begin
    /usr/bin/time -v -o "$tf" "$PG_BIN/psql" -X -q -d postgres -c "COPY s TO STDOUT" >/dev/null
    bench_end
    bench_end_server
    bench_record snapshot "s ${ROWS}" COPY "$i" "$ROWS" "$tf"
}

run_sluice()
{
    local v=$1 i=$2 dir=$TEST_TMP/sluice-run schemas tf rc=0 lines note=""
    case "$v" in
        schemas-off) schemas=false ;;
        schemas-on) schemas=true ;;
        *) fail "unknown variant $v (schemas-off, schemas-on)" ;;
    esac
    rm -rf -- "$dir"
    mkdir -p "$dir"
    tf=$dir/time
    sluice_conf "$dir/app.properties" \
        "debezium.source.topic.prefix=bench" \
        "debezium.source.snapshot.mode=initial_only" \
        "debezium.source.slot.name=$SLOT" \
        "debezium.source.publication.name=$PUB" \
        "debezium.source.publication.autocreate.mode=disabled" \
        "debezium.source.heartbeat.interval.ms=0" \
        "debezium.source.offset.storage.file.filename=$dir/offsets.dat" \
        "debezium.sink.file.path=$dir/out.jsonl" \
        "debezium.format.value.schemas.enable=$schemas" \
        "debezium.format.key.schemas.enable=$schemas"
    bench_begin
    /usr/bin/time -v -o "$tf" "$SLUICE_BIN" run -c "$dir/app.properties" \
        >"$TEST_TMP/sluice-run.out" 2>"$TEST_TMP/sluice-run.err" || rc=$?
    bench_end
    bench_end_server
    lines=$(wc -l <"$dir/out.jsonl" 2>/dev/null || echo 0)
    local who="sluice $v run $i"
    ((rc == 0)) || { note+="exit=$rc "; anomaly "$who: exit status $rc: $(tail -n 3 "$TEST_TMP/sluice-run.err")"; }
    ((lines == ROWS)) || { note+="lines=$lines "; anomaly "$who: $lines lines written, expected $ROWS"; }
    if grep -qE ' (WARN|ERROR) ' "$TEST_TMP/sluice-run.err"; then
        anomaly "$who: log: $(grep -E ' (WARN|ERROR) ' "$TEST_TMP/sluice-run.err" | head -n 3 | tr '\n' ' ')"
    fi
    if [[ ! -f "$TEST_TMP/sample.$v" ]]; then
        head -n 1 "$dir/out.jsonl" >"$TEST_TMP/sample.$v" 2>/dev/null || true
        ((lines > 0)) && echo "$(($(stat -c %s "$dir/out.jsonl") / lines))" >"$TEST_TMP/bytes.$v"
    fi
    psql_c "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots" >/dev/null
    bench_record snapshot "s ${ROWS}" "sluice $v" "$i" "$ROWS" "$tf" "$note"
    rm -rf -- "$dir"
}

for ((i = 1; i <= BENCH_RUNS; i++)); do
    run_copy "$i"
    for v in $VARIANTS; do
        run_sluice "$v" "$i"
    done
done

bench_summary "PostgreSQL snapshot of $ROWS rows (sluice initial_only vs COPY TO STDOUT)" COPY rows
echo "columns: CPU = the client's own user+sys (psql, or sluice) from /usr/bin/time -v; server CPU ="
echo "the backends that ended during the run (COPY backend; for sluice also its walsender and"
echo "catalog connection); other load = host busy CPU during the run minus both, in cores"
echo "(other processes, kernel writeback); ratio = median rows/s over COPY's, per-run range in"
echo "parentheses."
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), PostgreSQL $PG_VERSION"
echo "sluice: $("$SLUICE_BIN" --version 2>&1 | head -n 1) ($SLUICE_BIN)"
for v in $VARIANTS; do
    [[ -s "$TEST_TMP/bytes.$v" ]] && echo "output of sluice $v: $(cat "$TEST_TMP/bytes.$v") bytes per event (JSON line)"
done
for v in $VARIANTS; do
    [[ -s "$TEST_TMP/sample.$v" ]] && echo "sample event (sluice $v): $(cut -c1-300 "$TEST_TMP/sample.$v")"
done
if [[ -s "$ANOMALIES" ]]; then
    echo "anomalies:"
    sed 's/^/  /' "$ANOMALIES"
else
    echo "anomalies: none (every sluice run wrote exactly one line per row, exit 0, no WARN/ERROR)"
fi
echo
echo "reproduce: BENCH_RUNS=$BENCH_RUNS BENCH_SNAPSHOT_ROWS=$ROWS BENCH_SNAPSHOT_VARIANTS=\"$VARIANTS\"" \
    "SLUICE_BIN=$SLUICE_BIN bash bench/pg_snapshot.sh"
