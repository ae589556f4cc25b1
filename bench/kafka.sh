#!/usr/bin/env bash
# bench/kafka.sh — PostgreSQL -> Kafka against PostgreSQL -> file on the same WAL, and
# kcat -P producing the same messages from a file (the client-side limit).
#
# The Kafka cluster is librdkafka's MOCK cluster (build/kafka_mock_cluster, 3 brokers,
# in memory, in one process on 127.0.0.1, on the same host and cores as sluice): it
# measures sluice's producer side (serialisation, librdkafka batching, delivery
# reports, flush waits), not a real broker's disk or network. A fresh mock cluster is
# started for every Kafka run (it keeps every message in memory), with the topic
# bench.public.t created with BENCH_KAFKA_PARTITIONS (3) partitions, RF 3.
#
# Same method as bench/pg_stream.sh: table t (id bigint pk, a int, b text 40 bytes,
# c timestamptz, d numeric), publication FOR TABLE t, every slot (one per tool and run)
# created BEFORE the workload is written, so every run decodes the same WAL:
#   A  BENCH_A_ROWS (2,000,000) rows in BENCH_A_TXN_ROWS (100,000)-row transactions
#   B  BENCH_B_TXNS (600,000) one-row transactions
# sluice has no --endpos: the script polls its offsets file every 50 ms and stops it
# (SIGTERM) once lsn_ack >= endpos; in Kafka mode the position is only stored after
# every message of it has a successful delivery report (acks=all), so the time until
# then includes the delivery of everything.
#
# Tools (interleaved: run 1 of each, run 2 ...):
#   file         sluice, file sink (fsync on), protocol v1, schemas off (the reference)
#   kafka        sluice, Kafka sink, sluice's defaults (idempotent, acks=all,
#                librdkafka's linger.ms=5, batch.size=1000000)
#   kafka-l50    (BENCH_KAFKA_VARIANTS) as kafka with linger.ms=50, batch.num.messages=100000
#   kafka-l0     as kafka with linger.ms=0
#   kafka-q64k   as kafka with a 8x larger pipeline bound: max.queue.size=65536,
#                max.queue.size.in.bytes=64 MiB (the pipeline flushes the sink, i.e.
#                waits for every delivery report, whenever that bound is reached)
#   kcat         kcat -P -b <bootstrap> -t bench.public.t -K '\t' -z none, reading
#                "key<TAB>value" lines made from the file sink's output of the workload
#                (the same keys and values sluice produced); wall time = until kcat exits
#                (it waits for every delivery report). Default producer settings of
#                kcat/librdkafka (acks=all, not idempotent).
# Checks: every sluice run exits 0, no WARN/ERROR in its log, slot confirmed to endpos;
# file: line count = rows; Kafka: the partitions' end offsets sum to >= rows.
#
# Environment: BENCH_RUNS=3, BENCH_WORKLOADS="A B", BENCH_A_ROWS, BENCH_A_TXN_ROWS,
#   BENCH_B_TXNS, BENCH_KAFKA_VARIANTS="kafka kafka-q64k" (any of kafka kafka-l50 kafka-l0 kafka-q64k),
#   BENCH_KAFKA_PARTITIONS=3, BENCH_STALL_S=30, SLUICE_BIN, SLUICE_KAFKA_MOCK.
#
# Reproduce:  bash bench/kafka.sh      (or: BENCH_ONLY=kafka bash bench/run.sh)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../tests/integration/lib.sh"
source "$here/../tests/kafka/lib.sh"
source "$here/lib_bench.sh"
require_sluice
kafka_require

A_ROWS=${BENCH_A_ROWS:-2000000}
A_TXN_ROWS=${BENCH_A_TXN_ROWS:-100000}
B_TXNS=${BENCH_B_TXNS:-600000}
WORKLOADS=${BENCH_WORKLOADS:-A B}
KVARIANTS=${BENCH_KAFKA_VARIANTS:-kafka kafka-q64k}
PARTS=${BENCH_KAFKA_PARTITIONS:-3}
STALL_S=${BENCH_STALL_S:-30}
PUB=bench_pub
TOPIC=bench.public.t
ANOMALIES=$TEST_TMP/anomalies.txt
: >"$ANOMALIES"

declare -A EVENTS=([A]=$A_ROWS [B]=$B_TXNS)
declare -A ENDPOS=()
declare -A DESC=([A]="$A_ROWS rows in $((A_ROWS / A_TXN_ROWS)) txns of $A_TXN_ROWS"
                 [B]="$B_TXNS one-row txns")

bench_log "sluice: $SLUICE_BIN ($("$SLUICE_BIN" --version 2>&1 | head -n 1)); kcat $(kcat -V 2>&1 | head -n 1)"
bench_log "runs: $BENCH_RUNS, workloads: $WORKLOADS, kafka variants: $KVARIANTS"

pg_start "max_replication_slots = 200" "max_wal_senders = 20" "autovacuum = off" \
    "checkpoint_timeout = '1d'" "max_wal_size = '50GB'"
PG_VERSION=$(psql_c "SHOW server_version")
psql_c "CREATE TABLE t (id bigint PRIMARY KEY, a int, b text, c timestamptz, d numeric(10,2));
        CREATE PUBLICATION $PUB FOR TABLE t;"

sluice_tools() { echo file; local v; for v in $KVARIANTS; do echo "$v"; done; }
slot_name() { local s="${1}_${2}_${3}"; s=${s,,}; echo "${s//-/_}"; }

create_slots()
{
    local w=$1 i tool sql=""
    for ((i = 1; i <= BENCH_RUNS; i++)); do
        for tool in $(sluice_tools); do
            sql+="SELECT pg_create_logical_replication_slot('$(slot_name "$w" "$tool" "$i")', 'pgoutput');"
        done
    done
    psql_c "$sql" >/dev/null
}


anomaly() { echo "$*" >>"$ANOMALIES"; bench_log "ANOMALY: $*"; }

check_slot()
{
    local slot=$1 w=$2 who=$3 conf
    conf=$(psql_c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$slot'")
    if [[ -z "$conf" ]] || (($(bench_lsn "$conf") < $(bench_lsn "${ENDPOS[$w]}"))); then
        anomaly "$who: slot $slot confirmed_flush_lsn $conf after the run, endpos ${ENDPOS[$w]}"
    fi
}

# A fresh mock cluster (the previous one's memory freed), topic pre-created.
kafka_fresh()
{
    kafka_stop
    rm -f -- "$TEST_TMP/kafka.out"
    kafka_start -p "$PARTS" "$TOPIC"
}

kafka_stop()
{
    [[ -n "${KAFKA_PID:-}" ]] && { kill -TERM "$KAFKA_PID" 2>/dev/null; stop_pid "$KAFKA_PID" - 30 || true; }
    KAFKA_PID=
}

# kafka_messages: sum of the end offsets of the topic's partitions.
kafka_messages()
{
    local args=() p
    for ((p = 0; p < PARTS; p++)); do args+=(-t "$TOPIC:$p:-1"); done
    kcat -Q -b "$KAFKA_BOOTSTRAP" "${args[@]}" 2>>"$TEST_TMP/kcat.err" |
        awk '/offset/ { for (i = 1; i <= NF; i++) if ($i == "offset") s += $(i + 1) } END { print s + 0 }'
}

sluice_props()
{
    local dir=$1 slot=$2 v=$3
    local extra=()
    case "$v" in
        file) extra=("debezium.sink.type=file" "debezium.sink.file.path=$dir/out.jsonl") ;;
        kafka*)
            extra=("debezium.sink.type=kafka" "debezium.sink.kafka.producer.bootstrap.servers=$KAFKA_BOOTSTRAP")
            case "$v" in
                kafka) ;;
                kafka-l50) extra+=("debezium.sink.kafka.producer.linger.ms=50"
                                   "debezium.sink.kafka.producer.batch.num.messages=100000") ;;
                kafka-l0) extra+=("debezium.sink.kafka.producer.linger.ms=0") ;;
                kafka-q64k) extra+=("debezium.source.max.queue.size=65536"
                                    "debezium.source.max.queue.size.in.bytes=67108864") ;;
                *) fail "unknown kafka variant $v (kafka, kafka-l50, kafka-l0, kafka-q64k)" ;;
            esac
            ;;
    esac
    sluice_conf "$dir/app.properties" \
        "debezium.source.topic.prefix=bench" \
        "debezium.source.snapshot.mode=never" \
        "debezium.source.slot.name=$slot" \
        "debezium.source.publication.name=$PUB" \
        "debezium.source.publication.autocreate.mode=disabled" \
        "sluice.postgres.streaming=false" \
        "debezium.source.heartbeat.interval.ms=0" \
        "debezium.source.offset.flush.interval.ms=0" \
        "debezium.source.offset.storage.file.filename=$dir/offsets.dat" \
        "${extra[@]}"
    chmod 600 "$dir/app.properties"
}

run_sluice()
{
    local w=$1 v=$2 i=$3 slot dir tf tpid spid
    local target ack="" line last="" tlast now reached=0 rc=0 note="" n
    slot=$(slot_name "$w" "$v" "$i")
    dir=$TEST_TMP/sluice-run
    rm -rf -- "$dir"; mkdir -p "$dir"
    tf=$dir/time
    [[ "$v" == kafka* ]] && kafka_fresh
    sluice_props "$dir" "$slot" "$v"
    target=$(bench_lsn "${ENDPOS[$w]}")
    bench_begin
    start_bg sluice-run /usr/bin/time -v -o "$tf" "$SLUICE_BIN" run -c "$dir/app.properties"
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
                last=$ack; tlast=$now
                if (($(bench_lsn "$ack") >= target)); then reached=1; break; fi
            fi
        fi
        pid_alive "$tpid" || break
        now=${EPOCHREALTIME/[.,]/}
        ((now - tlast > STALL_S * 1000000)) && break
        sleep 0.05
    done
    bench_end
    ((reached)) || B_T1=$(awk -v t="$tlast" 'BEGIN { printf "%.6f", t / 1e6 }')
    if pid_alive "$tpid"; then
        spid=$(pgrep -P "$tpid" | head -n 1 || true)
        [[ -n "$spid" ]] && kill -TERM "$spid" 2>/dev/null
    fi
    stop_pid "$tpid" - 120 || rc=$?
    bench_end_server
    local who="sluice $v $w run $i"
    if [[ "$v" == file ]]; then
        n=$(wc -l <"$dir/out.jsonl" 2>/dev/null || echo 0)
        ((n == EVENTS[$w])) || { note+="lines=$n "; anomaly "$who: $n lines written, expected ${EVENTS[$w]}"; }
        # kcat's input: the same key and value, "key<TAB>value" (JSON has no raw tab)
        if [[ ! -s "$TEST_TMP/kcat_in.$w" ]]; then
            python3 -c '
import json, sys
out = open(sys.argv[2], "w")
for l in open(sys.argv[1]):
    r = json.loads(l)
    out.write(json.dumps(r["key"], separators=(",", ":")) + "\t" + json.dumps(r["value"], separators=(",", ":")) + "\n")
' "$dir/out.jsonl" "$TEST_TMP/kcat_in.$w"
            echo "$(($(stat -c %s "$TEST_TMP/kcat_in.$w") / EVENTS[$w]))" >"$TEST_TMP/bytes.$w"
        fi
    else
        n=$(kafka_messages)
        ((n >= EVENTS[$w])) || { note+="messages=$n "; anomaly "$who: $n messages in $TOPIC, expected ${EVENTS[$w]}"; }
        ((n > EVENTS[$w])) && note+="dups=$((n - EVENTS[$w])) "
        kafka_stop   # an idle mock holding millions of messages still uses CPU
    fi
    ((reached)) || { note+="endpos-not-reached(ack=$last) "; anomaly "$who: lsn_ack stopped at $last, endpos ${ENDPOS[$w]}"; }
    ((rc == 0)) || { note+="exit=$rc "; anomaly "$who: exit status $rc: $(tail -n 3 "$TEST_TMP/sluice-run.err")"; }
    if grep -qE ' (WARN|ERROR) ' "$TEST_TMP/sluice-run.err"; then
        anomaly "$who: log: $(grep -E ' (WARN|ERROR) ' "$TEST_TMP/sluice-run.err" | head -n 3 | tr '\n' ' ')"
    fi
    check_slot "$slot" "$w" "$who"
    bench_record kafka "$w" "sluice->$v" "$i" "${EVENTS[$w]}" "$tf" "$note"
    rm -rf -- "$dir"
}

run_kcat()
{
    local w=$1 i=$2 tf=$TEST_TMP/kcat.time n note=""
    kafka_fresh
    bench_begin
    /usr/bin/time -v -o "$tf" kcat -P -b "$KAFKA_BOOTSTRAP" -t "$TOPIC" -K $'\t' -z none \
        -l "$TEST_TMP/kcat_in.$w" 2>"$TEST_TMP/kcatP.err" ||
        anomaly "kcat $w run $i failed: $(tail -n 3 "$TEST_TMP/kcatP.err")"
    bench_end
    B_C1=$(bench_pg_child_cpu)   # no server work in this run
    B_C0=$B_C1
    n=$(kafka_messages)
    ((n == EVENTS[$w])) || { note="messages=$n"; anomaly "kcat $w run $i: $n messages, expected ${EVENTS[$w]}"; }
    kafka_stop
    bench_record kafka "$w" kcat-P "$i" "${EVENTS[$w]}" "$tf" "$note"
}

for w in $WORKLOADS; do
    create_slots "$w"
    bench_generate "$w"
    psql_c "CHECKPOINT"
    for ((i = 1; i <= BENCH_RUNS; i++)); do
        for v in $(sluice_tools); do run_sluice "$w" "$v" "$i"; done
        run_kcat "$w" "$i"
    done
    psql_c "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots" >/dev/null
    rm -f -- "$TEST_TMP/kcat_in.$w"
done
kafka_stop

bench_summary "PostgreSQL -> Kafka (mock cluster) vs PostgreSQL -> file, same WAL" "sluice->file" events
# the same table against kcat -P
python3 - "$BENCH_TSV" <<'PY'
import sys, statistics
from collections import defaultdict
rate = defaultdict(list)
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    rate[(f[1], f[2])].append(int(f[5]) / float(f[4]))
print("ratios of medians (events/s):")
for (wl, tool), rs in sorted(rate.items()):
    if not tool.startswith("sluice->kafka"):
        continue
    m = statistics.median(rs)
    fm = statistics.median(rate.get((wl, "sluice->file"), [float("nan")]))
    km = statistics.median(rate.get((wl, "kcat-P"), [float("nan")]))
    print(f"  {wl} {tool}: {m / fm:.2f}x sluice->file, {m / km:.2f}x kcat -P")
PY
echo "workloads:"
for w in $WORKLOADS; do echo "  $w: ${DESC[$w]} (endpos ${ENDPOS[$w]}), $(cat "$TEST_TMP/bytes.$w" 2>/dev/null) bytes per key+value"; done
echo "Kafka: librdkafka mock cluster, 3 brokers in ONE process on 127.0.0.1 (in memory, same host),"
echo "  topic $TOPIC with $PARTS partitions, RF 3; its CPU is in 'other load'. kcat -P has no server CPU."
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), PostgreSQL $PG_VERSION"
if [[ -s "$ANOMALIES" ]]; then echo "anomalies:"; sed 's/^/  /' "$ANOMALIES"; else
    echo "anomalies: none (every sluice run exit 0, no WARN/ERROR, slot confirmed to endpos, all rows in the file/topic)"; fi
echo
echo "reproduce: BENCH_RUNS=$BENCH_RUNS BENCH_WORKLOADS=\"$WORKLOADS\" BENCH_A_ROWS=$A_ROWS" \
    "BENCH_A_TXN_ROWS=$A_TXN_ROWS BENCH_B_TXNS=$B_TXNS BENCH_KAFKA_VARIANTS=\"$KVARIANTS\"" \
    "SLUICE_BIN=$SLUICE_BIN bash bench/kafka.sh"
