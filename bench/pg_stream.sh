#!/usr/bin/env bash
# bench/pg_stream.sh — PostgreSQL streaming: sluice against pg_recvlogical on the
# same WAL.
#
# What it does. Starts a throwaway PostgreSQL 15 (tests/integration/lib.sh), creates
#     t (id bigint primary key, a int, b text /* 40 bytes */, c timestamptz, d numeric(10,2))
# and a publication FOR TABLE t, then creates every replication slot the runs
# will read (pgoutput, one per tool and run) BEFORE writing the workload, so
# that every run decodes exactly the same WAL from the same start:
#   A  BENCH_A_ROWS (2,000,000) row inserts in BENCH_A_TXN_ROWS (100,000)-row
#      transactions (INSERT ... SELECT generate_series);
#   B  BENCH_B_TXNS (600,000) one-row transactions (a server-side DO loop with a
#      COMMIT after each row, synchronous_commit=off: the WAL is the same as that
#      of 600,000 one-row INSERTs sent by a client, and it takes seconds).
# Each workload is written, measured and its slots dropped before the next one's
# slots are created, so a run reads only its own workload and nothing follows
# endpos (sluice has no --endpos and would read on).
# endpos = pg_current_wal_insert_lsn() right after the workload's last commit (the
# insert position, not pg_current_wal_lsn(): with synchronous_commit=off the
# write position may still be behind the last commit).
#
# Then, for each workload and run (tools interleaved, run 1 of each, run 2 ...):
#   pg_recvlogical  --start --endpos=<endpos> -o proto_version=1
#                   -o publication_names=bench_pub -f <file> --no-loop
#                   (the reference: the server's walsender is the limit)
#   sluice          `sluice run` with the file sink (fsync on, the default),
#                   snapshot.mode=never on the pre-created slot, heartbeats off,
#                   offset.flush.interval.ms=0. sluice has no --endpos: the
#                   script polls its offsets file every 50 ms and stops it
#                   (SIGTERM) once lsn_ack >= endpos; wall time = until then.
#                   Variants (BENCH_SLUICE_VARIANTS):
#                     v1          pgoutput protocol v1 (sluice.postgres.streaming=
#                                 false), key/value schemas off — like for like
#                     v2          protocol v2 with in-progress streaming (default
#                                 config), schemas off
#                     v1-schemas  protocol v1, schemas on (Debezium Server's
#                                 default JsonConverter output)
#                     v1-offsets1s  (not run by default) v1 with the default
#                                 offset.flush.interval.ms=1000: the offsets
#                                 file is written and fsynced at most once a
#                                 second instead of after every sink flush
# Each run is under /usr/bin/time -v (CPU, peak RSS); the walsender's CPU comes
# from the postmaster's reaped-children counters (see lib_bench.sh).
# sluice's output is checked: line count = rows of the workload, no ERROR/WARN
# in its log, exit status 0, slot confirmed_flush_lsn = endpos after the stop.
#
# Environment:
#   BENCH_RUNS=3                 runs per tool (medians are reported)
#   BENCH_WORKLOADS="A B"
#   BENCH_A_ROWS=2000000 BENCH_A_TXN_ROWS=100000 BENCH_B_TXNS=600000
#   BENCH_SLUICE_VARIANTS="v1 v2 v1-schemas"
#   BENCH_PROFILE=perf           one more sluice run per workload under
#                                `perf record` (flat); prints the top symbols
#   BENCH_PROFILE_VARIANT=v1     which sluice variant the perf run uses
#   BENCH_PERF_ARGS="-F 999"     perf record options (e.g. "--call-graph dwarf -F 499";
#                                the data is in TEST_TMP, keep it with SLUICE_KEEP_TMP=1)
#   BENCH_STALL_S=30             give up on a sluice run whose lsn_ack has not
#                                moved for this long
#   BENCH_TSV=file               where the per-run results go (default in TEST_TMP)
#   SLUICE_BIN=path              the binary (default build/sluice)
#
# Reproduce:  bash bench/pg_stream.sh      (or: make bench, which runs every benchmark)
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/integration/lib.sh"
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib_bench.sh"
require_sluice

A_ROWS=${BENCH_A_ROWS:-2000000}
A_TXN_ROWS=${BENCH_A_TXN_ROWS:-100000}
B_TXNS=${BENCH_B_TXNS:-600000}
WORKLOADS=${BENCH_WORKLOADS:-A B}
VARIANTS=${BENCH_SLUICE_VARIANTS:-v1 v2 v1-schemas}
STALL_S=${BENCH_STALL_S:-30}
PROFILE=${BENCH_PROFILE:-}
PERF_ARGS=${BENCH_PERF_ARGS:--F 999}
PROFILE_VARIANT=${BENCH_PROFILE_VARIANT:-v1}
PUB=bench_pub
ANOMALIES=$TEST_TMP/anomalies.txt
: >"$ANOMALIES"

declare -A EVENTS=([A]=$A_ROWS [B]=$B_TXNS)
declare -A ENDPOS=()
declare -A DESC=([A]="$A_ROWS rows in $((A_ROWS / A_TXN_ROWS)) txns of $A_TXN_ROWS"
                 [B]="$B_TXNS one-row txns")

bench_log "sluice: $SLUICE_BIN ($("$SLUICE_BIN" --version 2>&1 | head -n 1))"
bench_log "runs: $BENCH_RUNS, workloads: $WORKLOADS, sluice variants: $VARIANTS"

# No autovacuum (its ANALYZE would add transactions), no checkpoints while we measure.
pg_start "max_replication_slots = 200" "max_wal_senders = 20" "autovacuum = off" \
    "checkpoint_timeout = '1d'" "max_wal_size = '50GB'"
PG_VERSION=$(psql_c "SHOW server_version")
bench_log "PostgreSQL $PG_VERSION on port $PGPORT"

psql_c "CREATE TABLE t (id bigint PRIMARY KEY, a int, b text, c timestamptz, d numeric(10,2));
        CREATE PUBLICATION $PUB FOR TABLE t;"

tools_of()
{
    echo recv
    local v
    for v in $VARIANTS; do echo "$v"; done
}

slot_name() { local s="${1}_${2}_${3}"; s=${s,,}; echo "${s//-/_}"; }

create_slots()
{
    local w=$1 i tool sql=""
    for ((i = 1; i <= BENCH_RUNS; i++)); do
        for tool in $(tools_of); do
            sql+="SELECT pg_create_logical_replication_slot('$(slot_name "$w" "$tool" "$i")', 'pgoutput');"
        done
    done
    [[ -n "$PROFILE" ]] && sql+="SELECT pg_create_logical_replication_slot('$(slot_name "$w" prof 0)', 'pgoutput');"
    psql_c "$sql" >/dev/null
}



anomaly()
{
    echo "$*" >>"$ANOMALIES"
    bench_log "ANOMALY: $*"
}

check_slot()
{
    local slot=$1 w=$2 who=$3 conf
    conf=$(psql_c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$slot'")
    if [[ -z "$conf" ]] || (($(bench_lsn "$conf") < $(bench_lsn "${ENDPOS[$w]}"))); then
        anomaly "$who: slot $slot confirmed_flush_lsn $conf after the run, endpos ${ENDPOS[$w]}"
    fi
}

run_recv()
{
    local w=$1 i=$2 slot out tf
    slot=$(slot_name "$w" recv "$i")
    out=$TEST_TMP/recv.out
    tf=$TEST_TMP/recv.time
    bench_begin
    /usr/bin/time -v -o "$tf" "$PG_BIN/pg_recvlogical" -d postgres --slot "$slot" --start \
        --endpos="${ENDPOS[$w]}" -o proto_version=1 -o publication_names="$PUB" \
        -f "$out" --no-loop 2>"$TEST_TMP/recv.err" ||
        fail "pg_recvlogical failed: $(tail -n 5 "$TEST_TMP/recv.err")"
    bench_end
    bench_end_server
    check_slot "$slot" "$w" "pg_recvlogical $w run $i"
    rm -f -- "$out"
    bench_record stream "$w" pg_recvlogical "$i" "${EVENTS[$w]}" "$tf"
}

# sluice_props DIR SLOT VARIANT: the properties file of one run.
sluice_props()
{
    local dir=$1 slot=$2 v=$3 streaming=false schemas=false offsets_ms=0
    case "$v" in
        v1) ;;
        v2) streaming=true ;;
        v1-schemas) schemas=true ;;
        v1-offsets1s) offsets_ms=1000 ;;
        *) fail "unknown sluice variant $v (v1, v2, v1-schemas, v1-offsets1s)" ;;
    esac
    sluice_conf "$dir/app.properties" \
        "debezium.source.topic.prefix=bench" \
        "debezium.source.snapshot.mode=never" \
        "debezium.source.slot.name=$slot" \
        "debezium.source.publication.name=$PUB" \
        "debezium.source.publication.autocreate.mode=disabled" \
        "sluice.postgres.streaming=$streaming" \
        "debezium.source.heartbeat.interval.ms=0" \
        "debezium.source.offset.flush.interval.ms=$offsets_ms" \
        "debezium.source.offset.storage.file.filename=$dir/offsets.dat" \
        "debezium.sink.file.path=$dir/out.jsonl" \
        "debezium.format.value.schemas.enable=$schemas" \
        "debezium.format.key.schemas.enable=$schemas"
}

# run_sluice W VARIANT RUN [perf]: one streaming run; with "perf", under perf
# record and not recorded in the results.
run_sluice()
{
    local w=$1 v=$2 i=$3 mode=${4:-} slot dir tf tpid spid
    local target ack="" line last="" tlast now reached=0 rc=0 note="" lines
    if [[ "$mode" == perf ]]; then slot=$(slot_name "$w" prof 0); else slot=$(slot_name "$w" "$v" "$i"); fi
    dir=$TEST_TMP/sluice-run
    rm -rf -- "$dir"
    mkdir -p "$dir"
    tf=$dir/time
    sluice_props "$dir" "$slot" "$v"
    target=$(bench_lsn "${ENDPOS[$w]}")
    bench_begin
    if [[ "$mode" == perf ]]; then
        start_bg sluice-run /usr/bin/time -v -o "$tf" perf record $PERF_ARGS -o "$TEST_TMP/perf.$w.data" \
            -- "$SLUICE_BIN" run -c "$dir/app.properties"
    else
        start_bg sluice-run /usr/bin/time -v -o "$tf" "$SLUICE_BIN" run -c "$dir/app.properties"
    fi
    tpid=$BG_PID
    tlast=${EPOCHREALTIME/[.,]/}
    while true; do
        if [[ -f "$dir/offsets.dat" ]]; then
            ack=""
            while IFS= read -r line; do
                [[ "$line" == lsn_ack=* ]] && ack=${line#lsn_ack=}
            done <"$dir/offsets.dat"
            now=${EPOCHREALTIME/[.,]/}
            if [[ -n "$ack" && "$ack" != "$last" ]]; then
                last=$ack
                tlast=$now
                if (($(bench_lsn "$ack") >= target)); then
                    reached=1
                    break
                fi
            fi
        fi
        pid_alive "$tpid" || break
        now=${EPOCHREALTIME/[.,]/}
        ((now - tlast > STALL_S * 1000000)) && break
        sleep 0.05
    done
    bench_end
    if [[ $reached == 0 ]]; then
        # stalled or exited: the time of the last offset change is the end
        B_T1=$(awk -v t="$tlast" 'BEGIN { printf "%.6f", t / 1e6 }')
    fi
    if pid_alive "$tpid"; then
        spid=$(pgrep -P "$tpid" | head -n 1 || true)
        if [[ "$mode" == perf && -n "$spid" ]]; then spid=$(pgrep -P "$spid" | head -n 1 || true); fi
        [[ -n "$spid" ]] && kill -TERM "$spid" 2>/dev/null
    fi
    stop_pid "$tpid" - 120 || rc=$?
    bench_end_server
    lines=$(wc -l <"$dir/out.jsonl" 2>/dev/null || echo 0)
    local who="sluice $v $w run $i"
    [[ "$mode" == perf ]] && who="sluice $v $w (perf run)"
    ((reached)) || { note+="endpos-not-reached(ack=$last) "; anomaly "$who: lsn_ack stopped at $last, endpos ${ENDPOS[$w]} (exit/stall)"; }
    ((rc == 0)) || { note+="exit=$rc "; anomaly "$who: exit status $rc: $(tail -n 3 "$TEST_TMP/sluice-run.err")"; }
    ((lines == EVENTS[$w])) || { note+="lines=$lines "; anomaly "$who: $lines lines written, expected ${EVENTS[$w]}"; }
    if grep -qE ' (WARN|ERROR) ' "$TEST_TMP/sluice-run.err"; then
        anomaly "$who: log: $(grep -E ' (WARN|ERROR) ' "$TEST_TMP/sluice-run.err" | head -n 3 | tr '\n' ' ')"
    fi
    check_slot "$slot" "$w" "$who"
    if [[ ! -f "$TEST_TMP/sample.$v" ]]; then
        head -n 1 "$dir/out.jsonl" >"$TEST_TMP/sample.$v" 2>/dev/null || true
        ((lines > 0)) && echo "$(($(stat -c %s "$dir/out.jsonl") / lines))" >"$TEST_TMP/bytes.$v"
        cp -- "$TEST_TMP/sluice-run.err" "$TEST_TMP/log.$v.$w" 2>/dev/null || true
    fi
    if [[ "$mode" != perf ]]; then
        bench_record stream "$w" "sluice $v" "$i" "${EVENTS[$w]}" "$tf" "$note"
    else
        bench_log "perf run of sluice $v on $w: $(bench_sub "$B_T1" "$B_T0") s (not counted)"
    fi
    rm -rf -- "$dir"
}

for w in $WORKLOADS; do
    # Slots first, then the workload, then the runs: every slot of w starts before
    # w's first transaction, and no WAL is written after endpos while w's runs
    # go on (sluice, which has no --endpos, would read on past it otherwise).
    create_slots "$w"
    bench_generate "$w"
    psql_c "CHECKPOINT"
    bench_log "WAL kept by the slots: $(psql_c "SELECT pg_size_pretty(pg_current_wal_lsn() - min(restart_lsn)) FROM pg_replication_slots")"
    for ((i = 1; i <= BENCH_RUNS; i++)); do
        run_recv "$w" "$i"
        for v in $VARIANTS; do
            run_sluice "$w" "$v" "$i"
        done
    done
    if [[ "$PROFILE" == perf ]]; then
        run_sluice "$w" "$PROFILE_VARIANT" 0 perf
    fi
    psql_c "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots" >/dev/null
done

# ------------------------------------------------------------------ summary

bench_summary "PostgreSQL streaming, same WAL (sluice vs pg_recvlogical)" pg_recvlogical events
echo "workloads:"
for w in $WORKLOADS; do echo "  $w: ${DESC[$w]} (endpos ${ENDPOS[$w]})"; done
echo "columns: CPU = the tool's own user+sys from /usr/bin/time -v; server CPU = the walsender"
echo "(reaped-children CPU of the postmaster); other load = host busy CPU during the run minus"
echo "both, in cores (other processes, kernel writeback); ratio = median of events/s over the"
echo "reference's, with the range of the per-run ratios (run i against run i) in parentheses."
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), PostgreSQL $PG_VERSION"
echo "sluice: $("$SLUICE_BIN" --version 2>&1 | head -n 1) ($SLUICE_BIN)"
for v in $VARIANTS; do
    [[ -s "$TEST_TMP/bytes.$v" ]] && echo "output of sluice $v: $(cat "$TEST_TMP/bytes.$v") bytes per event (JSON line)"
done
for v in $VARIANTS; do
    [[ -s "$TEST_TMP/sample.$v" ]] && echo "sample event (sluice $v): $(cut -c1-400 "$TEST_TMP/sample.$v")"
done
if [[ -s "$ANOMALIES" ]]; then
    echo "anomalies:"
    sed 's/^/  /' "$ANOMALIES"
else
    echo "anomalies: none (every sluice run wrote exactly one line per row, exit 0, no WARN/ERROR"
    echo "  in its log, slot confirmed up to endpos)"
fi
if [[ "$PROFILE" == perf ]]; then
    for w in $WORKLOADS; do
        [[ -f "$TEST_TMP/perf.$w.data" ]] || continue
        echo
        echo "== perf profile, sluice $PROFILE_VARIANT, workload $w: top symbols by self time"
        perf report -i "$TEST_TMP/perf.$w.data" --no-children --sort dso,symbol --stdio \
            >"$TEST_TMP/perf.$w.txt" 2>"$TEST_TMP/perf.$w.err" || true
        if grep -qE '^ +[0-9]' "$TEST_TMP/perf.$w.txt"; then
            grep -E '^ +[0-9]' "$TEST_TMP/perf.$w.txt" | sed 's/[[:space:]-]*$//' | head -n 30 || true
        else
            echo "(no samples: $(head -c 300 "$TEST_TMP/perf.$w.err"))"
        fi
    done
fi
echo
echo "reproduce: BENCH_RUNS=$BENCH_RUNS BENCH_WORKLOADS=\"$WORKLOADS\" BENCH_A_ROWS=$A_ROWS" \
    "BENCH_A_TXN_ROWS=$A_TXN_ROWS BENCH_B_TXNS=$B_TXNS BENCH_SLUICE_VARIANTS=\"$VARIANTS\"" \
    "SLUICE_BIN=$SLUICE_BIN bash bench/pg_stream.sh"
