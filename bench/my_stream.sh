#!/usr/bin/env bash
# bench/my_stream.sh — MariaDB binlog streaming: sluice against mariadb-binlog on
# the same binlog range.
#
# What it does. Starts a throwaway MariaDB (tests/integration/lib.sh my_start, ROW
# binlog with binlog_row_image=FULL and binlog_row_metadata=FULL, no fsync, a 1 GiB
# buffer pool, max_binlog_size 1 GiB, fast page flushing), creates
#     bench.t (id int primary key, a bigint, b varchar(64) /* 40 bytes */,
#              c timestamp, d decimal(10,2))
# and writes, one after the other:
#   A  BENCH_A_ROWS (2,000,000) rows in BENCH_A_TXN_ROWS (100,000)-row transactions
#      (INSERT ... SELECT from the SEQUENCE engine's seq_<from>_to_<to>);
#   B  BENCH_B_TXNS (600,000) one-row transactions (autocommit INSERTs in a stored
#      procedure loop: each is a binlog transaction of its own, GTID + table map +
#      rows + XID, like one-row INSERTs sent by a client, and it takes seconds).
# Each workload starts a binlog file of its own (FLUSH BINARY LOGS); its range is
# SHOW MASTER STATUS before and after it. Each workload is written and measured
# before the next one is written, so nothing follows the range while it is read
# (sluice has no stop position and would read on).
#
# Then, for each workload and run (tools interleaved, run 1 of each, run 2 ...):
#   mariadb-binlog  --read-from-remote-server --host=127.0.0.1 --port=<port> -uroot
#                   -v --base64-output=decode-rows --start-position=<start>
#                   --stop-position=<end> <files of the range> > /dev/null
#                   (the reference: decodes every row to text; the server's dump
#                   thread and the client's decoding are the limit). Before the
#                   measured runs one unmeasured pass checks that it prints one
#                   "### INSERT INTO" per row of the workload.
#   sluice          `sluice run` with the file sink (fsync on, the default), the
#                   MariaDbConnector (my_sluice_conf), snapshot.mode=never,
#                   heartbeats off, offset.flush.interval.ms=0, schemas off.
#                   sluice has no stop position, and a MariaDB source starts at
#                   the end of the binlog when it has no offsets; so BEFORE the
#                   workload is written, a first sluice run with snapshot.mode=never
#                   stores its start position in an offsets file and is stopped at
#                   once (SIGTERM) after it wrote it. Every measured run starts from
#                   a copy of that file; the script polls sluice's offsets file
#                   every 50 ms and stops sluice (SIGTERM) once the durable position
#                   (file=/pos=) has reached the end of the range; wall time = until
#                   then (fallback when the offsets have no file/pos: until the
#                   output has one line per row). The output must have exactly one
#                   line per row.
# When sluice fails (not built, the MariaDB source not implemented yet, no offsets
# written, exit, stall) the script still measures mariadb-binlog and reports
# "sluice: failed (see log)" with the end of sluice's log.
# Each run is under /usr/bin/time -v (CPU, peak RSS). Server CPU = growth of
# mariadbd's own CPU over the run (all threads: the dump thread of the run and
# whatever runs in the background; dirty pages are flushed and purge is done
# before the runs, see lib_bench.sh).
#
# Environment:
#   BENCH_RUNS=3                 runs per tool (medians are reported)
#   BENCH_QUICK=1                smaller defaults: 200,000 rows for A, 20,000 txns for B
#   BENCH_WORKLOADS="A B"
#   BENCH_A_ROWS=2000000 BENCH_A_TXN_ROWS=100000 BENCH_B_TXNS=600000
#   BENCH_MY_BUFFER_POOL=1G      innodb_buffer_pool_size of the server
#   BENCH_MY_VARIANTS="sluice sluice-null"  sluice: the file sink (JSON Lines file, fsync);
#                                sluice-null: the stdout sink into /dev/null, where
#                                mariadb-binlog's text goes too (the same end test by
#                                offsets; its line count is not checked)
#   BENCH_STALL_S=30             give up on a sluice run whose output has not grown
#                                for this long
#   BENCH_SLUICE_PRE_S=30        how long the pre-run may take to write its offsets
#   BENCH_TSV=file               where the per-run results go (default in TEST_TMP)
#   SLUICE_BIN=path              the binary (default build/sluice)
#
# Reproduce:  bash bench/my_stream.sh      (BENCH_QUICK=1 for a short run)
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/integration/lib.sh"
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib_bench.sh"

if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
    A_ROWS=${BENCH_A_ROWS:-200000}
    B_TXNS=${BENCH_B_TXNS:-20000}
else
    A_ROWS=${BENCH_A_ROWS:-2000000}
    B_TXNS=${BENCH_B_TXNS:-600000}
fi
A_TXN_ROWS=${BENCH_A_TXN_ROWS:-100000}
WORKLOADS=${BENCH_WORKLOADS:-A B}
VARIANTS=${BENCH_MY_VARIANTS:-sluice sluice-null}
STALL_S=${BENCH_STALL_S:-30}
SLUICE_PRE_S=${BENCH_SLUICE_PRE_S:-30}
BUFFER_POOL=${BENCH_MY_BUFFER_POOL:-1G}
ANOMALIES=$TEST_TMP/anomalies.txt
: >"$ANOMALIES"

declare -A EVENTS=([A]=$A_ROWS [B]=$B_TXNS)
declare -A STARTPOS=() ENDPOS=() BYTES=()
declare -A SLUICE_FAILED=()     # workload -> why sluice could not be measured on it
declare -A DESC=([A]="$A_ROWS rows in $(((A_ROWS + A_TXN_ROWS - 1) / A_TXN_ROWS)) txns of $A_TXN_ROWS"
                 [B]="$B_TXNS one-row txns")

SLUICE_VERSION="not built"
if [[ -x "$SLUICE_BIN" ]]; then
    SLUICE_VERSION=$("$SLUICE_BIN" --version 2>&1 | head -n 1)
fi
bench_log "sluice: $SLUICE_BIN ($SLUICE_VERSION)"
bench_log "runs: $BENCH_RUNS, workloads: $WORKLOADS"

MY_FSYNC=off my_start --innodb-buffer-pool-size="$BUFFER_POOL" --innodb-log-file-size=1G \
    --max-binlog-size=1G --binlog-cache-size=4M --innodb-doublewrite=0 \
    --innodb-io-capacity=20000 --innodb-io-capacity-max=40000
MY_VERSION=$(my_sql 'SELECT VERSION()')
bench_log "MariaDB $MY_VERSION on port $MY_PORT"
bench_my_setup

anomaly()
{
    echo "$*" >>"$ANOMALIES"
    bench_log "ANOMALY: $*"
}

# sluice_fail W WHY LOGFILE: sluice cannot be measured on W; keeps the end of its log.
sluice_fail()
{
    local w=$1 why=$2 log=$3
    SLUICE_FAILED[$w]=$why
    {
        echo "--- workload $w: $why"
        if [[ -s "$log" ]]; then tail -n 15 "$log"; else echo "(sluice wrote nothing on stderr)"; fi
    } >>"$TEST_TMP/sluice-failures.txt"
    bench_log "sluice: failed on workload $w: $why"
}

# sluice_props DIR: the properties file of one sluice run, output and offsets in DIR.
sluice_props()
{
    local dir=$1
    my_sluice_conf "$dir/app.properties" \
        "debezium.source.topic.prefix=bench" \
        "debezium.source.snapshot.mode=never" \
        "debezium.source.table.include.list=bench.t" \
        "debezium.source.heartbeat.interval.ms=0" \
        "debezium.source.offset.flush.interval.ms=0" \
        "debezium.source.offset.storage.file.filename=$dir/offsets.dat" \
        "debezium.sink.file.path=$dir/out.jsonl"
}

# sluice_prerun W: before W is written, a sluice run (snapshot.mode=never) that
# stores the current binlog end in its offsets file, stopped as soon as it has;
# the measured runs start from copies of that file.
sluice_prerun()
{
    local w=$1 dir=$TEST_TMP/sluice-pre-$1 pid deadline rc=0
    if [[ ! -x "$SLUICE_BIN" ]]; then
        sluice_fail "$w" "binary $SLUICE_BIN not found (make build)" /dev/null
        return 0
    fi
    rm -rf -- "$dir"
    mkdir -p "$dir"
    sluice_props "$dir"
    start_bg "sluice-pre-$w" "$SLUICE_BIN" run -c "$dir/app.properties"
    pid=$BG_PID
    deadline=$(_lib_deadline "$SLUICE_PRE_S")
    while [[ ! -s "$dir/offsets.dat" ]] && pid_alive "$pid" && _lib_before "$deadline"; do
        sleep 0.05
    done
    stop_pid "$pid" TERM 30 || rc=$?
    bench_my_kill_dumps sluice
    if [[ -s "$dir/offsets.dat" ]]; then
        cp -- "$dir/offsets.dat" "$TEST_TMP/offsets.pre.$w"
        bench_log "sluice pre-run for $w: offsets $(tr '\n' ' ' <"$dir/offsets.dat" | cut -c1-200)"
    elif [[ $rc -ne 0 && $rc -ne 143 ]]; then
        sluice_fail "$w" "the pre-run (snapshot.mode=never, before the workload) exited with status $rc" \
            "$TEST_TMP/sluice-pre-$w.err"
    else
        sluice_fail "$w" "the pre-run (snapshot.mode=never, before the workload) wrote no offsets in ${SLUICE_PRE_S} s" \
            "$TEST_TMP/sluice-pre-$w.err"
    fi
    rm -rf -- "$dir"
}

# mariadb-binlog's arguments for the range of W (start position in the first file,
# stop position in the last).
binlog_args()
{
    local w=$1 sf sp ef ep
    read -r sf sp <<<"${STARTPOS[$w]}"
    read -r ef ep <<<"${ENDPOS[$w]}"
    BINLOG_ARGS=(--no-defaults --read-from-remote-server --host=127.0.0.1 --port="$MY_PORT"
        --user=root -v --base64-output=decode-rows --start-position="$sp" --stop-position="$ep")
    mapfile -t -O "${#BINLOG_ARGS[@]}" BINLOG_ARGS < <(bench_my_binlog_files "$sf" "$ef")
}

# range_bytes W: size of W's binlog range.
range_bytes()
{
    local sf sp ef ep
    read -r sf sp <<<"${STARTPOS[$1]}"
    read -r ef ep <<<"${ENDPOS[$1]}"
    my_sql 'SHOW BINARY LOGS' | awk -F'\t' -v sf="$sf" -v sp="$sp" -v ef="$ef" -v ep="$ep" '
        $1 == sf { on = 1 }
        on { b += ($1 == ef ? ep : $2) - ($1 == sf ? sp : 0) }
        $1 == ef { exit }
        END { print b + 0 }'
}

# verify_binlog W: one unmeasured mariadb-binlog pass over W's range that counts the
# decoded rows (also puts the binlog in the page cache for every measured run alike).
verify_binlog()
{
    local w=$1 n
    binlog_args "$w"
    n=$(mariadb-binlog "${BINLOG_ARGS[@]}" 2>"$TEST_TMP/binlog-verify.err" |
        grep -c '^### INSERT INTO .bench.\..t.$' || true)
    if [[ "$n" != "${EVENTS[$w]}" ]]; then
        anomaly "mariadb-binlog $w: $n rows decoded, expected ${EVENTS[$w]}: $(tail -n 3 "$TEST_TMP/binlog-verify.err")"
    else
        bench_log "mariadb-binlog $w: $n rows in the range (checked)"
    fi
}

run_binlog()
{
    local w=$1 i=$2 tf=$TEST_TMP/binlog.time
    binlog_args "$w"
    bench_my_begin
    /usr/bin/time -v -o "$tf" mariadb-binlog "${BINLOG_ARGS[@]}" >/dev/null 2>"$TEST_TMP/binlog.err" ||
        fail "mariadb-binlog failed: $(tail -n 5 "$TEST_TMP/binlog.err")"
    bench_end
    bench_my_end_server
    bench_record stream "$w" mariadb-binlog "$i" "${EVENTS[$w]}" "$tf"
}

# count_lines FILE: adds the newlines of FILE's bytes since the last call to
# LINES_N (LINES_OFF: bytes counted so far); reads each byte once.
count_lines()
{
    local f=$1 size n
    size=$(stat -c %s "$f" 2>/dev/null || echo 0)
    if ((size > LINES_OFF)); then
        n=$(tail -c "+$((LINES_OFF + 1))" "$f" | head -c "$((size - LINES_OFF))" | wc -l)
        LINES_N=$((LINES_N + n))
        LINES_OFF=$size
    fi
}

# read_offsets FILE: OFF_FILE and OFF_POS from sluice's offsets file (the MariaDB
# source's record: file=<binlog file> pos=<offset>, right after the newest durable
# transaction); empty when the file has no such record. Shell builtins only: it is
# called every 50 ms while sluice runs.
read_offsets()
{
    local line
    OFF_FILE="" OFF_POS=""
    [[ -f "$1" ]] || return 0
    while IFS= read -r line; do
        case "$line" in
            file=*) OFF_FILE=${line#file=} ;;
            pos=*) OFF_POS=${line#pos=} ;;
        esac
    done <"$1"
    [[ "$OFF_POS" =~ ^[0-9]+$ ]] || OFF_FILE="" OFF_POS=""
}

# run_sluice W RUN: one measured run from the pre-run's offsets; returns 1 when
# sluice failed (the workload's other runs are then skipped).
#
# The end of the run: the moment sluice's offsets file says it has made durable the
# position at the end of the range (its file sink has written and fsynced every line
# before that), read every 50 ms with shell builtins. If the offsets file has no
# file=/pos= record the script falls back to counting the output's lines (every
# 0.5 s, only the new bytes) until there is one per row. Counting all the time
# instead would cost the host ~0.3-0.5 core of its own on this output (600 bytes a
# line), competing with sluice; the line count is checked once after the run.
run_sluice()
{
    local w=$1 i=$2 tool=${3:-sluice} dir=$TEST_TMP/sluice-run tf tpid spid target reached=0 rc=0 now tlast
    local last="" cur ef ep k=0 note="" lines
    rm -rf -- "$dir"
    mkdir -p "$dir"
    tf=$dir/time
    cp -- "$TEST_TMP/offsets.pre.$w" "$dir/offsets.dat"
    sluice_props "$dir"
    target=${EVENTS[$w]}
    read -r ef ep <<<"${ENDPOS[$w]}"
    LINES_OFF=0 LINES_N=0
    bench_my_begin
    if [[ $tool == sluice-null ]]; then
        # the stdout sink into /dev/null, as mariadb-binlog's output: no file to write
        echo "debezium.sink.type=stdout" >>"$dir/app.properties"
        /usr/bin/time -v -o "$tf" "$SLUICE_BIN" run -c "$dir/app.properties" \
            >/dev/null 2>"$TEST_TMP/sluice-run.err" &
        tpid=$!
        register_pid "$tpid"
    else
        start_bg sluice-run /usr/bin/time -v -o "$tf" "$SLUICE_BIN" run -c "$dir/app.properties"
        tpid=$BG_PID
    fi
    tlast=${EPOCHREALTIME/[.,]/}
    while true; do
        read_offsets "$dir/offsets.dat"
        if [[ -n "$OFF_POS" ]]; then
            cur="$OFF_FILE $OFF_POS"
            if [[ "$OFF_FILE" > "$ef" || ("$OFF_FILE" == "$ef" && $OFF_POS -ge $ep) ]]; then
                reached=1
                break
            fi
        elif ((k++ % 10 == 0)); then
            count_lines "$dir/out.jsonl"
            cur=$LINES_N
            if ((LINES_N >= target)); then
                reached=1
                break
            fi
        fi
        now=${EPOCHREALTIME/[.,]/}
        if [[ "$cur" != "$last" ]]; then
            last=$cur
            tlast=$now
        fi
        pid_alive "$tpid" || break
        ((now - tlast > STALL_S * 1000000)) && break
        sleep 0.05
    done
    bench_end
    if [[ $reached == 0 ]]; then
        # stalled or exited: the time of the last progress is the end
        B_T1=$(awk -v t="$tlast" 'BEGIN { printf "%.6f", t / 1e6 }')
    fi
    if pid_alive "$tpid"; then
        spid=$(pgrep -P "$tpid" | head -n 1 || true)     # sluice, the child of time
        [[ -n "$spid" ]] && kill -TERM "$spid" 2>/dev/null
    fi
    stop_pid "$tpid" - 120 || rc=$?
    bench_my_kill_dumps sluice
    bench_my_end_server
    lines=0
    [[ -f "$dir/out.jsonl" ]] && lines=$(wc -l <"$dir/out.jsonl")
    cp -- "$TEST_TMP/sluice-run.err" "$TEST_TMP/log.sluice.$w" 2>/dev/null || true
    if [[ $reached == 0 ]]; then
        local why="run $i: $lines of $target lines written, offsets at ${last:-nothing}, range end $ef $ep"
        if [[ $rc -ne 0 ]]; then why+=", exit status $rc"; else why+=", no progress for ${STALL_S} s"; fi
        sluice_fail "$w" "$why" "$TEST_TMP/sluice-run.err"
        rm -rf -- "$dir"
        return 1
    fi
    ((rc == 0)) || { note+="exit=$rc "; anomaly "sluice $w run $i: exit status $rc: $(tail -n 3 "$TEST_TMP/sluice-run.err")"; }
    if [[ $tool == sluice ]] && ((lines != target)); then
        note+="lines=$lines "
        anomaly "sluice $w run $i: $lines lines written, expected $target"
    fi
    if grep -qE ' (WARN|ERROR) ' "$TEST_TMP/sluice-run.err"; then
        anomaly "sluice $w run $i: log: $(grep -E ' (WARN|ERROR) ' "$TEST_TMP/sluice-run.err" | head -n 3 | tr '\n' ' ')"
    fi
    if [[ ! -f "$TEST_TMP/sample.$w" ]] && ((lines > 0)); then
        head -n 1 "$dir/out.jsonl" >"$TEST_TMP/sample.$w" 2>/dev/null || true
        echo "$(($(stat -c %s "$dir/out.jsonl") / lines))" >"$TEST_TMP/bytes.$w"
    fi
    bench_record stream "$w" "$tool" "$i" "$target" "$tf" "$note"
    rm -rf -- "$dir"
}

for w in $WORKLOADS; do
    [[ -n "${EVENTS[$w]:-}" ]] || fail "unknown workload $w (A or B)"
    # The range starts in a new binlog file; sluice's pre-run stores its position
    # before the first row; then the rows; then the runs, with nothing written after
    # the range while they go on.
    bench_my_mark_start "$w"
    sluice_prerun "$w"
    bench_my_generate "$w"
    BYTES[$w]=$(range_bytes "$w")
    bench_log "binlog range of $w: $(awk -v b="${BYTES[$w]}" 'BEGIN { printf "%.1f MiB", b / 1048576 }')"
    bench_my_quiesce
    verify_binlog "$w"
    for ((i = 1; i <= BENCH_RUNS; i++)); do
        run_binlog "$w" "$i"
        for v in $VARIANTS; do
            [[ -z "${SLUICE_FAILED[$w]:-}" ]] && { run_sluice "$w" "$i" "$v" || true; }
        done
    done
done

# ------------------------------------------------------------------ summary

bench_summary "MariaDB streaming, same binlog range (sluice vs mariadb-binlog)" mariadb-binlog events
echo
echo "per workload (medians):"
for w in $WORKLOADS; do
    python3 - "$BENCH_TSV" "$w" "${BYTES[$w]}" "${SLUICE_FAILED[$w]:-}" <<'PY'
import sys, statistics
path, w, nbytes, failed = sys.argv[1], sys.argv[2], int(sys.argv[3] or 0), sys.argv[4]
runs = {}
for line in open(path):
    f = line.rstrip("\n").split("\t")
    if len(f) >= 11 and f[1] == w:
        runs.setdefault(f[2], []).append(f)
med = statistics.median
def rate(rs): return med(int(r[5]) / float(r[4]) for r in rs)
ref = runs.get("mariadb-binlog", [])
if ref:
    mb = med(nbytes / float(r[4]) for r in ref) / 1048576
    print(f"  {w}: mariadb-binlog {rate(ref):,.0f} rows/s ({mb:,.1f} MiB/s of binlog), "
          f"CPU {med((float(r[6]) + float(r[7])) * 1e6 / int(r[5]) for r in ref):.2f} us/row, "
          f"peak RSS {med(int(r[8]) for r in ref) / 1024:.1f} MiB")
sl = runs.get("sluice", [])
if sl:
    line = (f"  {w}: sluice {rate(sl):,.0f} rows/s, peak RSS {med(int(r[8]) for r in sl) / 1024:.1f} MiB, "
            f"CPU {med((float(r[6]) + float(r[7])) * 1e6 / int(r[5]) for r in sl):.2f} us/event")
    if ref:
        line += f", sluice/mariadb-binlog {rate(sl) / rate(ref):.2f}x"
    print(line)
if failed:
    print(f"  {w}: sluice: failed (see log): {failed}")
PY
done
echo "columns: CPU = the tool's own user+sys from /usr/bin/time -v; server CPU = mariadbd's CPU"
echo "during the run (its binlog dump thread, and any background work); other load = host busy"
echo "CPU during the run minus both, in cores; ratio = median of events/s over the reference's,"
echo "with the range of the per-run ratios (run i against run i) in parentheses."
echo "mariadb-binlog writes its decoded text to /dev/null; sluice writes JSON Lines to a file"
echo "(fsync on) and its offsets file; sluice-null writes the same lines to /dev/null (stdout sink)."
echo "workloads:"
for w in $WORKLOADS; do
    echo "  $w: ${DESC[$w]} (binlog ${STARTPOS[$w]} .. ${ENDPOS[$w]}, $(awk -v b="${BYTES[$w]}" 'BEGIN { printf "%.1f MiB", b / 1048576 }'))"
done
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), MariaDB $MY_VERSION"
echo "sluice: $SLUICE_VERSION ($SLUICE_BIN)"
for w in $WORKLOADS; do
    [[ -s "$TEST_TMP/bytes.$w" ]] && echo "output of sluice on $w: $(cat "$TEST_TMP/bytes.$w") bytes per event (JSON line)"
    [[ -s "$TEST_TMP/sample.$w" ]] && echo "sample event (sluice, $w): $(cut -c1-400 "$TEST_TMP/sample.$w")"
done
if [[ ${#SLUICE_FAILED[@]} -gt 0 ]]; then
    failed_wl=""
    for w in $WORKLOADS; do [[ -n "${SLUICE_FAILED[$w]:-}" ]] && failed_wl+=" $w"; done
    echo "sluice: failed (see log) on workload(s)$failed_wl; the end of its log:"
    sed 's/^/  /' "$TEST_TMP/sluice-failures.txt"
fi
if [[ -s "$ANOMALIES" ]]; then
    echo "anomalies:"
    sed 's/^/  /' "$ANOMALIES"
else
    echo "anomalies: none (mariadb-binlog decoded one row per inserted row; every sluice run that"
    echo "  completed wrote exactly one line per row, exit 0, no WARN/ERROR in its log)"
fi
echo
echo "reproduce: BENCH_RUNS=$BENCH_RUNS BENCH_WORKLOADS=\"$WORKLOADS\" BENCH_A_ROWS=$A_ROWS" \
    "BENCH_A_TXN_ROWS=$A_TXN_ROWS BENCH_B_TXNS=$B_TXNS BENCH_MY_BUFFER_POOL=$BUFFER_POOL" \
    "SLUICE_BIN=$SLUICE_BIN bash bench/my_stream.sh"
