#!/usr/bin/env bash
# tests/reliability/run.sh — the reliability harness: scenarios of faults during a workload.
#
#   run.sh SCENARIO... | all      (REL_SCALE=short|soak, default short)
#   run.sh --list                 the scenarios, in order
#
# `make test` runs every scenario short (tests/integration/test_reliability.sh); `make
# soak` runs each long (hundreds of kills, minutes of faults) and writes RELIABILITY.md
# (tests/reliability/soak.sh).
#
# Each scenario starts its own servers (lib.sh: throwaway PostgreSQL / MariaDB on free
# ports), runs sl_workload (workload.c: every change has a unique id (k, ver); every
# committed one is logged), injects its faults while the workload runs, lets sluice
# drain, and has check.py count what the receiver got against the log: lost,
# duplicated, phantom (never committed), per-key order violations, and the final rows
# against the source's. It appends one result line to $REL_RESULTS (if set):
#
#   <scenario> faults=F <check.py's counts> rss_kb=<peak VmHWM of every sluice process>
#
# and asserts what DESIGN.md promises for that sink: nothing lost, no phantom, per-key
# order kept, same final rows; no duplicate for database sinks and for reconnects (which
# resume right after the last event emitted); for kill -9 of an at-least-once sink, at
# most the in-flight tail repeated (max.queue.size twice per kill).
#
# Scenarios (PostgreSQL source unless named):
#   kill9_file       kill -9 sluice at random moments                     -> file sink
#   kill9_jdbc       kill -9 sluice                                       -> PostgreSQL target
#   kill9_jdbc_mariadb, kill9_jdbc_sqlite   the same                      -> MariaDB, SQLite target
#   source_restart   PostgreSQL source restarted, fast and immediate      -> file sink
#   proxy_drop       sluice reaches the source through a relay that resets
#                    its connections every 0.3-1.2 s                       -> file sink
#   sink_outage      the PostgreSQL target is down for seconds at a time;
#                    the slot's confirmed position must not pass what the
#                    target committed, memory stays bounded               -> PostgreSQL target
#   disk_full        the file sink's file system (a small tmpfs) fills up (not
#                    root: its file size limit is lowered); sluice waits
#                    for room, the position stays, then it drains         -> file sink
#   kill9_kafka      kill -9 sluice (at-least-once: duplicates bounded)   -> Kafka (mock cluster)
#   kill9_kafka_eos  the same in exactly-once mode: no duplicate for a read_committed
#                    consumer                                             -> Kafka (mock cluster)
#   kill9_mariadb    MariaDB source, kill -9 sluice                        -> file sink
#   mariadb_restart  MariaDB source restarted (SIGTERM and SIGKILL)        -> file sink
#
# The database target logs every row it applies through a trigger (rel_hist, in the
# same transaction as the row), so a change applied twice shows as a duplicate even
# though the final rows would hide it; the PostgreSQL target also logs its transaction
# id, so a source transaction split over two target transactions shows (split=).
source "$(dirname "$0")/../integration/lib.sh"
require_sluice
REL_DIR=$(cd "$(dirname "$0")" && pwd)
WORKLOAD=${SLUICE_WORKLOAD:-$SLUICE_BUILD/sl_workload}
[[ -x "$WORKLOAD" ]] || fail "no workload generator at $WORKLOAD (build the sl_workload target)"
REL_SCALE=${REL_SCALE:-short}

# scale NAME SHORT SOAK: the parameter for the current scale
scale() { if [[ "$REL_SCALE" == soak ]]; then echo "$3"; else echo "$2"; fi; }

REL_RSS_KB=0
rss_note() { # rss_note PID: keeps the highest VmHWM seen
    local kb
    kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)
    [[ -n "$kb" ]] && ((kb > REL_RSS_KB)) && REL_RSS_KB=$kb
    return 0
}

pg_conninfo() { echo "host=127.0.0.1 port=$1 user=postgres dbname=postgres"; }

# start_workload NAME TXNS SLEEP_US --pg CONNINFO | --my SPEC: sets WL, WL_LOG
start_workload() {
    local name=$1 txns=$2 sleep_us=$3
    shift 3
    WL_LOG=$TEST_TMP/$name.wl
    : >"$WL_LOG"
    start_bg "$name.workload" "$WORKLOAD" "$@" --log "$WL_LOG" --txns "$txns" --keys 300 \
        --max-changes 6 --big-every 50 --seed "$RANDOM" --sleep-us "$sleep_us"
    WL=$BG_PID
}

wait_workload() {
    stop_pid "$WL" - 600 || fail "workload failed: $(tail -3 "$TEST_TMP/$1.workload.err")"
}

run_sluice() { # run_sluice NAME CONF K: sets SL
    start_bg "$1.sluice$3" "$SLUICE_BIN" run -c "$2"
    SL=$BG_PID
}

wait_streaming() { # wait_streaming NAME K
    wait_for "grep -Eq 'streaming (from|the binlog)' '$TEST_TMP/$1.sluice$2.err'" 60 ||
        fail "$1: sluice did not start: $(tail -5 "$TEST_TMP/$1.sluice$2.err")"
}

pg_state() { PGPORT=$1 psql_c "SELECT k, ver FROM rel_t" -F ' ' >"$2"; }
my_state() { my_sql "SELECT k, ver FROM rel_t" -D rel | tr '\t' ' ' >"$1"; }

# check_until NAME ARGS...: runs check.py until nothing is lost (60 s), sets CHECK
check_until() {
    local name=$1
    shift
    local i
    for ((i = 0; i < 120; i++)); do
        CHECK=$(python3 "$REL_DIR/check.py" --log "$WL_LOG" "$@")
        [[ "$CHECK" == *" lost=0 "*"state=same"* ]] && return 0
        sleep 0.5
    done
    return 0
}

num() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<" $1"; }

# verdict NAME FAULTS MAX_DUP: asserts and records $CHECK
verdict() {
    local name=$1 faults=$2 max_dup=$3
    local line="$name faults=$faults $CHECK rss_kb=$REL_RSS_KB"
    echo "# $line" >&2
    [[ -z "${REL_RESULTS:-}" ]] || echo "$line" >>"$REL_RESULTS"
    ((faults > 0)) || fail "$name: no fault was injected"
    (($(num "$CHECK" changes) > 0)) || fail "$name: no change checked"
    assert_eq "0 0 0" "$(num "$CHECK" lost) $(num "$CHECK" phantom) $(num "$CHECK" order)" \
        "$name ($faults faults, $(num "$CHECK" changes) changes): lost, phantom, order violations"
    assert_contains "$CHECK" "state=same" "$name: final rows equal the source's"
    [[ "$CHECK" != *" split="* ]] || assert_eq 0 "$(num "$CHECK" split)" \
        "$name: every source transaction was applied in one target transaction"
    local dup
    dup=$(num "$CHECK" dup)
    ((dup <= max_dup)) || fail "$name: $dup duplicates, more than the bound $max_dup"
    t_ok "$name: $dup duplicates (bound $max_dup)"
}

file_conf() { # file_conf FILE OUT [extra...] — PostgreSQL source of $SRC_PORT, file sink OUT
    local f=$1 out=$2
    shift 2
    PGPORT=$SRC_PORT sluice_conf "$f" "debezium.source.table.include.list=public.rel_t" \
        "debezium.sink.file.path=$out" "debezium.source.offset.storage.file.filename=$TEST_TMP/$(basename "$f").offsets" \
        "debezium.source.heartbeat.interval.ms=500" "debezium.source.errors.retry.delay.initial.ms=100" \
        "debezium.source.errors.retry.delay.max.ms=1000" "debezium.source.errors.max.retries=-1" "$@"
}

pg_source() {
    pg_start
    SRC_PORT=$PGPORT SRC_DIR=$PG_DIR
    "$WORKLOAD" --pg "$(pg_conninfo "$SRC_PORT")" --setup --txns 0 --log /dev/null 2>/dev/null
}

# the kill loop shared by the kill -9 scenarios: kill -9 $SL at random moments (0.1-0.9 s
# apart) and restart it with "RUN k", at least N times and for as long as the workload
# ($WL) runs. Sets KILLS.
kill_loop() {
    local n=$1 run=$2
    KILLS=0
    while ((KILLS < n)) || pid_alive "$WL"; do
        sleep "0.$((RANDOM % 9 + 1))"
        pid_alive "$SL" || fail "sluice died on its own before kill $((KILLS + 1)): $(tail -n 3 "$TEST_TMP"/*.sluice"$KILLS".err)"
        rss_note "$SL"
        kill -9 "$SL" 2>/dev/null || true
        stop_pid "$SL" - 10 || true
        KILLS=$((KILLS + 1))
        "$run" "$KILLS"
    done
}

# kill9_workload NAME CONF KILLS TXNS WORKLOAD_ARGS...: starts sluice on CONF, runs TXNS
# transactions of the workload and kill -9s sluice meanwhile (kill_loop); sets KILLS.
kill9_workload() {
    K9_NAME=$1 K9_CONF=$2
    local kills=$3 txns=$4
    shift 4
    k9_run() { run_sluice "$K9_NAME" "$K9_CONF" "$1"; }
    k9_run 0
    wait_streaming "$K9_NAME" 0
    start_workload "$K9_NAME" "$txns" 2000 "$@"
    kill_loop "$kills" k9_run
    wait_workload "$K9_NAME"
}

stop_sluice() {
    rss_note "$SL"
    kill -TERM "$SL"
    stop_pid "$SL" - 30 || fail "sluice did not stop cleanly"
}

# ------------------------------------------------------------------ scenarios

scenario_kill9_file() {
    pg_source
    local conf=$TEST_TMP/k9f.properties out=$TEST_TMP/k9f.jsonl kills
    kills=$(scale kills 8 150)
    file_conf "$conf" "$out"
    kill9_workload k9f "$conf" "$kills" "$(scale t 1500 40000)" --pg "$(pg_conninfo "$SRC_PORT")"
    kills=$KILLS
    pg_state "$SRC_PORT" "$TEST_TMP/k9f.src"
    check_until k9f --jsonl "$out" --source-state "$TEST_TMP/k9f.src"
    stop_sluice
    verdict kill9_file "$kills" $((kills * 2 * 8192))
    pg_stop
}

# Database targets (TGT_KIND pg | mariadb | sqlite), each with a trigger that logs every
# row it applies to rel_hist (see the header). tgt_setup starts/creates the target and
# sets TGT_URL; tgt_hist FILE and tgt_state FILE read the history and the final rows.
TRIGGER_PG="
CREATE TABLE rel_t (k int PRIMARY KEY, ver int NOT NULL, txn bigint NOT NULL, pad varchar(64));
CREATE TABLE rel_hist (seq bigserial PRIMARY KEY, k int, ver int, op char(1), tx bigint DEFAULT txid_current());
CREATE FUNCTION rel_log() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
  IF TG_OP = 'DELETE' THEN INSERT INTO rel_hist (k, ver, op) VALUES (OLD.k, OLD.ver, 'd'); RETURN OLD; END IF;
  INSERT INTO rel_hist (k, ver, op) VALUES (NEW.k, NEW.ver, lower(left(TG_OP, 1))); RETURN NEW;
END \$\$;
CREATE TRIGGER rel_log AFTER INSERT OR UPDATE OR DELETE ON rel_t FOR EACH ROW EXECUTE FUNCTION rel_log();"
TRIGGER_MY="
CREATE TABLE rel_t (k int PRIMARY KEY, ver int NOT NULL, txn bigint NOT NULL, pad varchar(64));
CREATE TABLE rel_hist (seq bigint AUTO_INCREMENT PRIMARY KEY, k int, ver int, op char(1));
CREATE TRIGGER rel_i AFTER INSERT ON rel_t FOR EACH ROW INSERT INTO rel_hist (k, ver, op) VALUES (NEW.k, NEW.ver, 'c');
CREATE TRIGGER rel_u AFTER UPDATE ON rel_t FOR EACH ROW INSERT INTO rel_hist (k, ver, op) VALUES (NEW.k, NEW.ver, 'u');
CREATE TRIGGER rel_d AFTER DELETE ON rel_t FOR EACH ROW INSERT INTO rel_hist (k, ver, op) VALUES (OLD.k, OLD.ver, 'd');"
TRIGGER_SQLITE="
CREATE TABLE rel_t (k INTEGER PRIMARY KEY, ver INTEGER NOT NULL, txn INTEGER NOT NULL, pad TEXT);
CREATE TABLE rel_hist (seq INTEGER PRIMARY KEY AUTOINCREMENT, k INTEGER, ver INTEGER, op TEXT);
CREATE TRIGGER rel_i AFTER INSERT ON rel_t BEGIN INSERT INTO rel_hist (k, ver, op) VALUES (NEW.k, NEW.ver, 'c'); END;
CREATE TRIGGER rel_u AFTER UPDATE ON rel_t BEGIN INSERT INTO rel_hist (k, ver, op) VALUES (NEW.k, NEW.ver, 'u'); END;
CREATE TRIGGER rel_d AFTER DELETE ON rel_t BEGIN INSERT INTO rel_hist (k, ver, op) VALUES (OLD.k, OLD.ver, 'd'); END;"

tgt_setup() {
    case $TGT_KIND in
        pg)
            pg_start
            TGT_PORT=$PGPORT
            PGPORT=$TGT_PORT psql_c "$TRIGGER_PG" >/dev/null
            TGT_URL="jdbc:postgresql://127.0.0.1:$TGT_PORT/postgres?connectTimeout=2&user=postgres" ;;
        mariadb)
            my_start
            my_sql "CREATE DATABASE tgt"
            my_sql "$TRIGGER_MY" -D tgt
            TGT_URL="jdbc:mariadb://127.0.0.1:$MY_PORT/tgt?user=root&connectTimeout=2000" ;;
        sqlite)
            TGT_DB=$TEST_TMP/target.db
            sqlite3 "$TGT_DB" "$TRIGGER_SQLITE"
            TGT_URL="jdbc:sqlite:$TGT_DB" ;;
    esac
}
tgt_query() { # tgt_query SQL: space-separated rows
    case $TGT_KIND in
        pg) PGPORT=$TGT_PORT psql_c "$1" -F ' ' ;;
        mariadb) my_sql "$1" -D tgt | tr '\t' ' ' ;;
        # a busy timeout: sluice's WAL recovery after a kill -9 holds an exclusive lock
        sqlite) sqlite3 -batch -cmd '.timeout 10000' -separator " " "$TGT_DB" "$1" ;;
    esac
}
tgt_stop() {
    case $TGT_KIND in
        pg) pg_stop ;;
        mariadb) my_stop ;;
        sqlite) ;;
    esac
}

jdbc_conf() { # jdbc_conf FILE [extra...]
    local f=$1
    shift
    file_conf "$f" /dev/null "debezium.sink.type=jdbc" "debezium.sink.jdbc.connection.url=$TGT_URL" \
        "debezium.sink.jdbc.insert.mode=upsert" \
        "debezium.sink.jdbc.delete.enabled=true" "debezium.sink.jdbc.primary.key.mode=record_key" \
        "debezium.sink.jdbc.table.name.format=\${source.table}" \
        "debezium.sink.jdbc.flush.max.retries=-1" "debezium.sink.jdbc.flush.retry.delay.ms=200" \
        "debezium.format.value.schemas.enable=true" "debezium.format.key.schemas.enable=true" "$@"
}

jdbc_check() { # jdbc_check NAME: reads the target's history and rows until nothing is lost
    local name=$1 i
    pg_state "$SRC_PORT" "$TEST_TMP/$name.src"
    for ((i = 0; i < 120; i++)); do
        if [[ $TGT_KIND == pg ]]; then # with the target transaction of each row
            tgt_query "SELECT k, ver, op, tx FROM rel_hist ORDER BY seq" >"$TEST_TMP/$name.hist" || { sleep 0.5; continue; }
        else
            tgt_query "SELECT k, ver, op FROM rel_hist ORDER BY seq" >"$TEST_TMP/$name.hist" || { sleep 0.5; continue; }
        fi
        tgt_query "SELECT k, ver FROM rel_t" >"$TEST_TMP/$name.tgt" || { sleep 0.5; continue; }
        CHECK=$(python3 "$REL_DIR/check.py" --log "$WL_LOG" --history "$TEST_TMP/$name.hist" \
            --source-state "$TEST_TMP/$name.src" --target-state "$TEST_TMP/$name.tgt")
        [[ "$CHECK" == *" lost=0 "*"state=same"* ]] && return 0
        sleep 0.5
    done
}

# kill -9 of sluice writing into database target TGT_KIND: no loss and no duplicate
kill9_jdbc() {
    local name=$1 kills
    pg_source
    tgt_setup
    kills=$(scale kills 6 100)
    jdbc_conf "$TEST_TMP/$name.properties"
    kill9_workload "$name" "$TEST_TMP/$name.properties" "$kills" "$(scale t 1200 30000)" --pg "$(pg_conninfo "$SRC_PORT")"
    kills=$KILLS
    jdbc_check "$name"
    stop_sluice
    verdict "$name" "$kills" 0
    tgt_stop
    pg_stop "$SRC_DIR"
}

scenario_kill9_jdbc() { TGT_KIND=pg kill9_jdbc kill9_jdbc; }
scenario_kill9_jdbc_mariadb() { TGT_KIND=mariadb kill9_jdbc kill9_jdbc_mariadb; }
scenario_kill9_jdbc_sqlite() { TGT_KIND=sqlite kill9_jdbc kill9_jdbc_sqlite; }

# source_restarts NAME TAG pg|my: the source server restarted (fast and immediate in turn)
# under a workload; the file sink's output must hold every committed change.
source_restarts() {
    local name=$1 tag=$2 kind=$3 conf=$TEST_TMP/$2.properties out=$TEST_TMP/$2.jsonl n k wl
    n=$(scale restarts 2 20)
    if [[ $kind == pg ]]; then
        pg_source
        file_conf "$conf" "$out"
        wl=(--pg "$(pg_conninfo "$SRC_PORT")")
    else
        my_source
        my_conf "$conf" "$out"
        wl=(--my "127.0.0.1:$MY_PORT:root::rel")
    fi
    run_sluice "$tag" "$conf" 0
    wait_streaming "$tag" 0
    start_workload "$tag" "$(scale t 1200 20000)" 2000 "${wl[@]}"
    for ((k = 1; k <= n; k++)); do
        sleep "0.$((RANDOM % 9 + 1))"
        if ((k % 2)); then "${kind}_restart" fast; else "${kind}_restart" immediate; fi
        pid_alive "$SL" || fail "$name: sluice stopped after restart $k: $(tail -3 "$TEST_TMP/$tag.sluice0.err")"
    done
    wait_workload "$tag"
    if [[ $kind == pg ]]; then pg_state "$SRC_PORT" "$TEST_TMP/$tag.src"; else my_state "$TEST_TMP/$tag.src"; fi
    check_until "$tag" --jsonl "$out" --source-state "$TEST_TMP/$tag.src"
    stop_sluice
    verdict "$name" "$n" 0
    "${kind}_stop"
}

scenario_source_restart() { source_restarts source_restart srs pg; }

scenario_proxy_drop() {
    pg_source
    local conf=$TEST_TMP/pxd.properties out=$TEST_TMP/pxd.jsonl port drops
    port=$(free_port)
    start_bg pxd.proxy python3 "$REL_DIR/dropproxy.py" "$port" "$SRC_PORT" 300 1200
    local proxy=$BG_PID
    wait_for "grep -q ready '$TEST_TMP/pxd.proxy.out'" 10 || fail "proxy did not start"
    file_conf "$conf" "$out" "debezium.source.database.port=$port"
    run_sluice pxd "$conf" 0
    wait_streaming pxd 0
    start_workload pxd "$(scale t 1200 30000)" 2000 --pg "$(pg_conninfo "$SRC_PORT")"
    wait_workload pxd
    pg_state "$SRC_PORT" "$TEST_TMP/pxd.src"
    check_until pxd --jsonl "$out" --source-state "$TEST_TMP/pxd.src"
    pid_alive "$SL" || fail "proxy_drop: sluice stopped: $(tail -3 "$TEST_TMP/pxd.sluice0.err")"
    stop_sluice
    drops=$(grep -c '^drop' "$TEST_TMP/pxd.proxy.out" || true)
    kill -TERM "$proxy"
    stop_pid "$proxy" - 10 || true
    verdict proxy_drop "$drops" 0
    pg_stop
}

slot_confirmed() { PGPORT=$SRC_PORT psql_c "SELECT confirmed_flush_lsn - '0/0' FROM pg_replication_slots"; }

scenario_sink_outage() {
    pg_source
    TGT_KIND=pg
    tgt_setup
    local conf=$TEST_TMP/sko.properties n k down before after
    n=$(scale outages 1 10)
    # a small queue, so the bound is reached while the target is down
    jdbc_conf "$conf" "debezium.source.max.queue.size=2000" "debezium.source.max.batch.size=500" \
        "debezium.source.max.queue.size.in.bytes=4194304"
    run_sluice sko "$conf" 0
    wait_streaming sko 0
    start_workload sko "$(scale t 1500 20000)" 1000 --pg "$(pg_conninfo "$SRC_PORT")"
    for ((k = 1; k <= n; k++)); do
        sleep 1
        down=$((3 + RANDOM % 3))
        _pg_kill "$PG_PID" "$([[ $((k % 2)) == 1 ]] && echo INT || echo QUIT)"
        sleep 1.5 # a status update may still report what the target committed before
        before=$(slot_confirmed)
        sleep "$down"
        after=$(slot_confirmed)
        rss_note "$SL"
        pid_alive "$SL" || fail "sink_outage: sluice stopped while the target was down: $(tail -3 "$TEST_TMP/sko.sluice0.err")"
        assert_eq "$before" "$after" "outage $k: the slot's confirmed position did not move while the target was down"
        _pg_launch || fail "sink_outage: target did not start again"
    done
    wait_workload sko
    jdbc_check sko
    stop_sluice
    verdict sink_outage "$n" 0
    # queue of 4 MiB + in-flight + libpq/jansson buffers: far below this if bounded
    ((REL_RSS_KB < 131072)) || fail "sink_outage: peak RSS $REL_RSS_KB kB"
    pg_stop
    pg_stop "$SRC_DIR"
}

# fill_disk / make_room: the file system of the file sink (a tmpfs at $mnt) runs full;
# without the right to mount (not root) the file's size limit is lowered under sluice
# instead (prlimit --fsize: writes fail with EFBIG, as on a full quota).
fill_disk() {
    if [[ -n "$DF_TMPFS" ]]; then
        dd if=/dev/zero of="$DF_DIR/filler" bs=64k 2>/dev/null || true
    else
        prlimit --pid "$SL" --fsize=$(($(stat -c %s "$DF_DIR/out.jsonl") + 65536)):
    fi
}
make_room() {
    if [[ -n "$DF_TMPFS" ]]; then rm -f "$DF_DIR/filler"; else prlimit --pid "$SL" --fsize=unlimited:; fi
}

scenario_disk_full() {
    pg_source
    local conf=$TEST_TMP/dfl.properties n k before after
    n=$(scale fills 1 10)
    DF_DIR=$TEST_TMP/dfull DF_TMPFS=
    mkdir -p "$DF_DIR"
    # REL_NO_TMPFS=1 tries the fallback as root too
    if [[ -z "${REL_NO_TMPFS:-}" ]] && mount -t tmpfs -o "size=$(scale size 24m 256m)" tmpfs "$DF_DIR" 2>/dev/null; then
        DF_TMPFS=1
        on_exit "umount -l '$DF_DIR' 2>/dev/null || true"
    else
        echo "# disk_full: no tmpfs (not root?): lowering the file size limit instead" >&2
    fi
    local out=$DF_DIR/out.jsonl
    file_conf "$conf" "$out"
    run_sluice dfl "$conf" 0
    wait_streaming dfl 0
    start_workload dfl "$(scale t 1500 20000)" 1000 --pg "$(pg_conninfo "$SRC_PORT")"
    local err=$TEST_TMP/dfl.sluice0.err mark
    for ((k = 1; k <= n; k++)); do
        sleep 1
        mark=$(wc -l <"$err") # what sluice logs from here on belongs to this fill
        fill_disk
        wait_for "tail -n +$((mark + 1)) '$err' | grep -Eq 'No space left|File too large'" 20 ||
            fail "disk_full: sluice did not hit the full disk: $(tail -3 "$err")"
        sleep 1.5
        before=$(slot_confirmed)
        sleep 2
        after=$(slot_confirmed)
        pid_alive "$SL" || fail "disk_full: sluice stopped on a full disk: $(tail -3 "$TEST_TMP/dfl.sluice0.err")"
        assert_eq "$before" "$after" "fill $k: the slot's confirmed position did not move while the disk was full"
        make_room
        wait_for "tail -n +$((mark + 1)) '$err' | grep -q 'writing resumed'" 40 ||
            fail "disk_full: sluice did not resume writing after room was made"
    done
    wait_workload dfl
    pg_state "$SRC_PORT" "$TEST_TMP/dfl.src"
    check_until dfl --jsonl "$out" --source-state "$TEST_TMP/dfl.src"
    stop_sluice
    verdict disk_full "$n" 0
    pg_stop
}

# Kafka (librdkafka's mock cluster, 3 brokers, read back with kcat). The mock keeps a
# bounded log per partition and drops its oldest messages beyond it, so a long run is read
# as it is produced: kafka_follow starts kcat consumers (unbuffered) for the run, and
# kafka_values OUT turns what they wrote into one value per line, in partition order;
# in exactly-once mode only the messages of committed Kafka transactions (the mock writes
# no commit markers: test_kafka_eos.sh explains the rebuilt read_committed view).
kafka_follow() { # kafka_follow TOPIC...: sets FOLLOWERS
    local t
    FOLLOWERS=()
    for t in "$@"; do
        start_bg "kcat.$t" kcat -C -u -b "$KAFKA_BOOTSTRAP" -t "$t" -o beginning -J -q
        FOLLOWERS+=("$BG_PID")
    done
}
kafka_values() { # kafka_values OUT [OFFSETS_TOPIC]
    local offs=/dev/null
    [[ -z "${2:-}" ]] || offs=$TEST_TMP/kcat.$2.out
    python3 - "$TEST_TMP/kcat.test.public.rel_t.out" "$offs" "${2:-}" >"$1" <<'PY'
import json, sys
msgs, offs, eos = sys.argv[1], sys.argv[2], sys.argv[3]
def hdr(m):
    h = m.get("headers") or []
    return dict(zip(h[0::2], h[1::2]))
def lines(path):  # the last line may be cut while kcat writes
    for line in open(path):
        if line.endswith("\n"):
            yield json.loads(line)
committed = {hdr(m).get("__sluice.txn") for m in lines(offs)}
for m in lines(msgs):
    if m["payload"] is not None and (not eos or hdr(m).get("__sluice.txn") in committed):
        print(m["payload"])
PY
}

kill9_kafka() { # kill9_kafka NAME EXACTLY_ONCE
    local name=$1 eos=$2 kills conf=$TEST_TMP/$1.properties
    source "$SLUICE_SRC/tests/kafka/lib.sh"
    pg_source
    kafka_start -p 3 test.public.rel_t "sluice-offsets-$name"
    kafka_follow test.public.rel_t "sluice-offsets-$name"
    kills=$(scale kills 6 100)
    file_conf "$conf" /dev/null "debezium.sink.type=kafka" \
        "debezium.sink.kafka.producer.bootstrap.servers=$KAFKA_BOOTSTRAP" \
        "sluice.sink.kafka.exactly.once=$eos" "sluice.sink.kafka.headers=true" \
        "sluice.sink.kafka.offsets.topic=sluice-offsets-$name"
    kill9_workload "$name" "$conf" "$kills" "$(scale t 1200 30000)" --pg "$(pg_conninfo "$SRC_PORT")"
    kills=$KILLS
    pg_state "$SRC_PORT" "$TEST_TMP/$name.src"
    local offs=
    [[ "$eos" == true ]] && offs=sluice-offsets-$name
    local i
    for ((i = 0; i < 120; i++)); do
        kafka_values "$TEST_TMP/$name.values" $offs
        CHECK=$(python3 "$REL_DIR/check.py" --log "$WL_LOG" --values "$TEST_TMP/$name.values" \
            --source-state "$TEST_TMP/$name.src")
        [[ "$CHECK" == *" lost=0 "*"state=same"* ]] && break
        sleep 0.5
    done
    stop_sluice
    if [[ "$eos" == true ]]; then verdict "$name" "$kills" 0; else verdict "$name" "$kills" $((kills * 2 * 8192)); fi
    for f in "${FOLLOWERS[@]}"; do stop_pid "$f" TERM 10 || true; done
    stop_pid "$KAFKA_PID" TERM 10 || true
    pg_stop
}

scenario_kill9_kafka() { kill9_kafka kill9_kafka false; }
scenario_kill9_kafka_eos() { kill9_kafka kill9_kafka_eos true; }

my_source() {
    my_start
    my_sql "CREATE DATABASE rel"
    "$WORKLOAD" --my "127.0.0.1:$MY_PORT:root::rel" --setup --txns 0 --log /dev/null 2>/dev/null ||
        fail "workload setup on MariaDB failed"
}

my_conf() { # my_conf FILE OUT
    my_sluice_conf "$1" "debezium.source.table.include.list=rel.rel_t" "debezium.sink.file.path=$2" \
        "debezium.source.offset.storage.file.filename=$TEST_TMP/$(basename "$1").offsets" \
        "debezium.source.heartbeat.interval.ms=500" "debezium.source.errors.retry.delay.initial.ms=100" \
        "debezium.source.errors.retry.delay.max.ms=1000" "debezium.source.errors.max.retries=-1"
}

scenario_kill9_mariadb() {
    my_source
    local conf=$TEST_TMP/k9m.properties out=$TEST_TMP/k9m.jsonl kills
    kills=$(scale kills 6 100)
    my_conf "$conf" "$out"
    kill9_workload k9m "$conf" "$kills" "$(scale t 1200 30000)" --my "127.0.0.1:$MY_PORT:root::rel"
    kills=$KILLS
    my_state "$TEST_TMP/k9m.src"
    check_until k9m --jsonl "$out" --source-state "$TEST_TMP/k9m.src"
    stop_sluice
    verdict kill9_mariadb "$kills" $((kills * 2 * 8192))
    my_stop
}

scenario_mariadb_restart() { source_restarts mariadb_restart mrs my; }

# in the order of this file
SCENARIOS=$(grep -o '^scenario_[a-z0-9_]*' "$0" | sed 's/^scenario_//' | tr '\n' ' ')
if [[ "${1:-}" == --list ]]; then
    echo "$SCENARIOS"
    exit 0
fi
(($# > 0)) || fail "usage: run.sh SCENARIO... | all | --list (see the header)"
[[ "$1" == all ]] && set -- $SCENARIOS
for s in "$@"; do
    declare -F "scenario_$s" >/dev/null || fail "unknown scenario $s (run.sh --list)"
done
for s in "$@"; do
    REL_RSS_KB=0
    "scenario_$s"
done
t_done
