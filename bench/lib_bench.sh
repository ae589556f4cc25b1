# shellcheck shell=bash
# bench/lib_bench.sh — helpers shared by the benchmark scripts (source it after
# tests/integration/lib.sh, which gives the throwaway PostgreSQL, TEST_TMP,
# start_bg/stop_pid and the cleanup traps).
#
# How the measurements are taken:
#   - Every measured process runs under GNU `/usr/bin/time -v`: user and system
#     CPU seconds and the peak RSS (maximum resident set size) are read from its
#     report (bench_time_field).
#   - Wall time is taken in the script with $EPOCHREALTIME around the run (or
#     until a condition is observed, for sluice streaming, which has no --endpos).
#   - Server-side CPU: the postmaster reaps every backend that exits, so the
#     growth of its cutime+cstime (/proc/<postmaster>/stat, fields 16 and 17)
#     over a run is the CPU of the backends that ended in it — the walsender of
#     the run, plus the small catalog connection sluice opens (bench_pg_child_cpu).
#   - Load of everything else: the host's busy CPU (/proc/stat) over the run minus
#     the tool's and the server's CPU, in cores ("other load"). On a 2-core host
#     anything above ~0.2 means the run competed for CPU with something else.
#   - Each run appends one line to $BENCH_TSV:
#         bench workload tool run wall_s events user_s sys_s rss_kb srv_cpu_s note host_busy_s
#     and bench_summary prints medians per (workload, tool) and the ratios.
#
# Invariant: helpers that start processes are called in the main shell (not in
# $(...)), so lib.sh registers them and stops them whatever way the script ends.

BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_TSV=${BENCH_TSV:-$TEST_TMP/results.tsv}
: >"$BENCH_TSV"

[[ -x /usr/bin/time ]] || fail "GNU time (/usr/bin/time) is needed: apt-get install time"

bench_log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# bench_now: seconds since the epoch with microseconds (a string, for awk).
bench_now() { printf '%s' "${EPOCHREALTIME/,/.}"; }

# bench_sub a b: a - b, floating point.
bench_sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a - b }'; }

# bench_lsn X/Y: the LSN as a decimal integer (for numeric comparison).
bench_lsn()
{
    local hi=${1%/*} lo=${1#*/}
    echo $(((16#$hi << 32) | 16#$lo))
}

# bench_time_field FILE NAME: a value from a `/usr/bin/time -v` report.
#   NAME: user | sys | rss_kb | exit
bench_time_field()
{
    local f=$1 what=$2
    case "$what" in
        user) sed -n 's/^[[:space:]]*User time (seconds): //p' "$f" ;;
        sys) sed -n 's/^[[:space:]]*System time (seconds): //p' "$f" ;;
        rss_kb) sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$f" ;;
        exit) sed -n 's/^[[:space:]]*Exit status: //p' "$f" ;;
    esac
}

# bench_pg_child_cpu: CPU seconds (user+sys) of the postmaster's reaped
# children so far.
bench_pg_child_cpu()
{
    local stat rest hz
    stat=$(cat "/proc/$PG_PID/stat")
    rest=${stat##*) }          # fields from 3 (state) on
    hz=$(getconf CLK_TCK)
    # shellcheck disable=SC2086
    set -- $rest
    # field 16 cutime and 17 cstime are the 14th and 15th after the comm field
    awk -v u="${14}" -v s="${15}" -v hz="$hz" 'BEGIN { printf "%.2f", (u + s) / hz }'
}

# bench_host_busy: CPU seconds all CPUs of the host have spent busy (user, nice,
# system, irq, softirq) since boot, from /proc/stat.
bench_host_busy()
{
    awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / hz; exit }' /proc/stat
}

# bench_begin / bench_end: mark the start and the end of a measured run. They set
# B_T0/B_T1 (wall clock), B_C0/B_C1 (server reaped-children CPU), B_H0/B_H1 (host
# busy CPU). Call bench_begin right before the measured command starts; for
# bench_end, B_T1 may be set again afterwards (sluice streaming ends earlier
# than the moment its process is stopped).
bench_begin()
{
    bench_wait_backends_gone
    B_C0=$(bench_pg_child_cpu)
    B_H0=$(bench_host_busy)
    B_T0=$(bench_now)
}

bench_end()
{
    B_T1=$(bench_now)
    B_H1=$(bench_host_busy)
}

# bench_end_server: after the run's processes are gone, the server CPU.
bench_end_server()
{
    bench_wait_backends_gone
    B_C1=$(bench_pg_child_cpu)
}

# bench_wait_backends_gone: wait until no backend of a replication connection is
# left (the walsender of the last run has exited and been reaped), so that
# bench_pg_child_cpu has counted it.
bench_wait_backends_gone()
{
    wait_for "[ \"\$(psql_c \"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender' OR application_name LIKE 'sluice%'\")\" = 0 ]" 30 ||
        bench_log "warning: a walsender is still running"
    sleep 0.2
}

# bench_record bench workload tool run events timefile [note]: one result line,
# from the marks of bench_begin/bench_end/bench_end_server and the time -v report.
# "other" is the host's busy CPU during the run minus the tool's and the
# server's: the load of everything else on the machine, in cores.
bench_record()
{
    local bench=$1 wl=$2 tool=$3 run=$4 events=$5 tf=$6 note=${7:-}
    local user sys rss wall srv host
    user=$(bench_time_field "$tf" user)
    sys=$(bench_time_field "$tf" sys)
    rss=$(bench_time_field "$tf" rss_kb)
    wall=$(bench_sub "$B_T1" "$B_T0")
    srv=$(bench_sub "$B_C1" "$B_C0")
    host=$(bench_sub "$B_H1" "$B_H0")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$bench" "$wl" "$tool" "$run" "$wall" \
        "$events" "${user:-0}" "${sys:-0}" "${rss:-0}" "$srv" "${note:--}" "$host" >>"$BENCH_TSV"
    awk -v w="$wall" -v e="$events" -v u="$user" -v s="$sys" -v r="$rss" -v srv="$srv" -v h="$host" \
        -v t="$tool" -v wl="$wl" -v run="$run" -v note="$note" 'BEGIN {
        o = (h - u - s - srv) / w; if (o < 0) o = 0
        printf "  %-10s %-20s run %s: %7.2f s %9.0f ev/s %5.2f us/ev CPU %6.1f MiB  server %5.2f us/ev  other load %.1f cores %s\n",
            wl, t, run, w, e / w, (u + s) * 1e6 / e, r / 1024, srv * 1e6 / e, o, note }' >&2
}

# bench_summary TITLE REFERENCE_TOOL UNIT: medians per (workload, tool) from
# $BENCH_TSV and each tool's events/s relative to REFERENCE_TOOL's.
bench_summary()
{
    python3 - "$BENCH_TSV" "$1" "$2" "$3" <<'PY'
import sys, statistics
from collections import OrderedDict
path, title, ref, unit = sys.argv[1:5]
rows = OrderedDict()
notes = []
for line in open(path):
    f = line.rstrip("\n").split("\t")
    if len(f) < 11:
        continue
    bench, wl, tool, run, wall, ev, user, sys_, rss, srv, note = f[:11]
    host = float(f[11]) if len(f) > 11 else 0.0
    cpu = float(user) + float(sys_)
    rows.setdefault((wl, tool), []).append(
        dict(wall=float(wall), ev=int(ev), cpu=cpu, user=float(user), rss=int(rss), srv=float(srv),
             other=max(0.0, (host - cpu - float(srv)) / float(wall))))
    if note != "-":
        notes.append(f"{wl} {tool} run {run}: {note}")
med = statistics.median
print()
print(f"== {title}: medians of {max((len(v) for v in rows.values()), default=0)} runs")
one = unit[:-1] if unit.endswith("s") else unit
hdr = ("workload", "tool", "runs", "wall s", f"{unit}/s", f"CPU us/{one}", "of it user", "peak RSS MiB",
       f"server CPU us/{one}", "other load", f"{unit}/s vs {ref}")
print("| " + " | ".join(hdr) + " |")
print("|" + "|".join(["---"] * len(hdr)) + "|")
for (wl, tool), rs in rows.items():
    wall = med(r["wall"] for r in rs)
    rate = med(r["ev"] / r["wall"] for r in rs)
    cpu = med(r["cpu"] * 1e6 / r["ev"] for r in rs)
    user = med(r["user"] * 1e6 / r["ev"] for r in rs)
    rss = med(r["rss"] for r in rs) / 1024
    srv = med(r["srv"] * 1e6 / r["ev"] for r in rs)
    other = med(r["other"] for r in rs)
    refrs = rows.get((wl, ref))
    if refrs:
        refrate = med(r["ev"] / r["wall"] for r in refrs)
        ratio = f"{rate / refrate:.2f}x"
        # spread of the per-run ratios (run i of the tool against run i of the reference)
        per = sorted(a["ev"] / a["wall"] / (b["ev"] / b["wall"]) for a, b in zip(rs, refrs))
        if tool != ref and len(per) > 1:
            ratio += f" ({per[0]:.2f}-{per[-1]:.2f})"
    else:
        ratio = "-"
    print(f"| {wl} | {tool} | {len(rs)} | {wall:.2f} | {rate:,.0f} | {cpu:.2f} | {user:.2f} | {rss:.1f} | {srv:.2f} | {other:.1f} | {ratio} |")
if notes:
    print("notes:")
    for n in notes:
        print("  " + n)
PY
}

# --- the streaming workloads (shared by pg_stream.sh and kafka.sh) ----------------------
# Table t(id bigint primary key, a int, b text, c timestamptz, d numeric(10,2)).
# bench_generate W: writes workload A (A_ROWS inserts in A_TXN_ROWS-row transactions) or
# B (B_TXNS one-row transactions, server-side loop, synchronous_commit=off) and records its
# end position in ENDPOS[W]. Uses A_ROWS, A_TXN_ROWS, B_TXNS and DESC[W] of the caller.
ROW_EXPR="g, g % 1000, md5(g::text) || 'abcdefgh', timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', (g % 100000) / 100.0"

bench_generate()
{
    local w=$1 sqlf=$TEST_TMP/gen_$1.sql t0 t1 s e
    case "$w" in
        A)
            for ((s = 1; s <= A_ROWS; s += A_TXN_ROWS)); do
                e=$((s + A_TXN_ROWS - 1))
                ((e > A_ROWS)) && e=$A_ROWS
                echo "INSERT INTO t SELECT $ROW_EXPR FROM generate_series($s, $e) g;"
            done >"$sqlf"
            ;;
        B)
            s=$((A_ROWS + 1))
            e=$((A_ROWS + B_TXNS))
            cat >"$sqlf" <<SQL
SET synchronous_commit = off;
DO \$\$
DECLARE g bigint;
BEGIN
    FOR g IN $s..$e LOOP
        INSERT INTO t VALUES ($ROW_EXPR);
        COMMIT;
    END LOOP;
END
\$\$;
SQL
            ;;
    esac
    echo "SELECT pg_current_wal_insert_lsn();" >>"$sqlf"
    t0=$(bench_now)
    ENDPOS[$w]=$("$PG_BIN/psql" -X -qAt -v ON_ERROR_STOP=1 -d postgres -f "$sqlf" | tail -n 1)
    t1=$(bench_now)
    bench_log "workload $w (${DESC[$w]}) written in $(bench_sub "$t1" "$t0") s; endpos ${ENDPOS[$w]}"
}

# --- MariaDB (bench/my_stream.sh) --------------------------------------------------------
# The server is the throwaway MariaDB of tests/integration/lib.sh's my_start (MY_PID,
# MY_PORT). mariadbd runs every connection as a thread of its one process, so there
# is no reaped-children counter as with PostgreSQL: the server CPU of a run is the
# growth of mariadbd's own utime+stime (/proc/<mariadbd>/stat fields 14 and 15, all
# its threads, the exited ones included) — the binlog dump thread of the run plus
# whatever the server does in the background meanwhile (bench_my_quiesce first).

# bench_my_server_cpu: CPU seconds (user+sys) mariadbd has used so far.
bench_my_server_cpu()
{
    local stat rest hz
    stat=$(cat "/proc/$MY_PID/stat")
    rest=${stat##*) }          # fields from 3 (state) on
    hz=$(getconf CLK_TCK)
    # shellcheck disable=SC2086
    set -- $rest
    # fields 14 utime and 15 stime are the 12th and 13th after the comm field
    awk -v u="${12}" -v s="${13}" -v hz="$hz" 'BEGIN { printf "%.2f", (u + s) / hz }'
}

# bench_my_dump_threads [user]: ids of the server's binlog dump threads (of user, if given).
bench_my_dump_threads()
{
    # shellcheck disable=SC2016  # the single quotes are SQL's, inside a double-quoted string
    my_sql "SELECT id FROM information_schema.processlist WHERE command LIKE 'Binlog Dump%'${1:+ AND user = '$1'}"
}

# bench_my_kill_dumps user: end the dump threads a stopped reader of that user left
# behind. A dump thread waiting for new events notices a closed connection only
# when it next sends something, so it would otherwise linger until the next write.
bench_my_kill_dumps()
{
    local id
    for id in $(bench_my_dump_threads "$1"); do
        # not my_sql: the thread may have ended meanwhile, which is no error here
        _my_client -N -B -e "KILL CONNECTION $id" >/dev/null 2>&1 || true
    done
}

# bench_my_wait_dumps_gone: wait until no binlog dump thread is left (the reader of
# the last run is gone), so that it neither loads the next run nor misses its CPU.
bench_my_wait_dumps_gone()
{
    wait_for "[ -z \"\$(bench_my_dump_threads)\" ]" 30 ||
        bench_log "warning: a binlog dump thread is still running"
    sleep 0.2
}

# bench_my_quiesce: after writing a workload, let InnoDB write its dirty pages and
# finish purge now rather than during the measured runs (their CPU would count as
# the server's, and their I/O as other load).
bench_my_quiesce()
{
    local pct
    pct=$(my_sql 'SELECT @@innodb_max_dirty_pages_pct')
    my_sql "SET GLOBAL innodb_max_dirty_pages_pct = 0"
    wait_for "[ \"\$(my_sql \"SELECT variable_value FROM information_schema.global_status WHERE variable_name = 'INNODB_BUFFER_POOL_PAGES_DIRTY'\")\" -le 10 ]" 300 ||
        bench_log "warning: InnoDB still has dirty pages after 300 s"
    wait_for "[ \"\$(my_sql \"SELECT variable_value FROM information_schema.global_status WHERE variable_name = 'INNODB_HISTORY_LIST_LENGTH'\")\" -le 100 ]" 120 ||
        bench_log "warning: InnoDB purge still has work after 120 s"
    my_sql "SET GLOBAL innodb_max_dirty_pages_pct = $pct"
    sleep 1
}

# bench_my_begin / bench_my_end_server: bench_begin / bench_end_server for MariaDB
# (B_C0/B_C1 = mariadbd's CPU). bench_end is the same for both.
bench_my_begin()
{
    bench_my_wait_dumps_gone
    B_C0=$(bench_my_server_cpu)
    B_H0=$(bench_host_busy)
    B_T0=$(bench_now)
}

bench_my_end_server()
{
    bench_my_wait_dumps_gone
    B_C1=$(bench_my_server_cpu)
}

# bench_my_binlog_pos: "file pos" of the server's binlog end (SHOW MASTER STATUS).
bench_my_binlog_pos()
{
    my_sql 'SHOW MASTER STATUS' | awk -F'\t' '{ print $1, $2 }'
}

# bench_my_binlog_files FROM TO: the binlog files from FROM to TO, in order.
bench_my_binlog_files()
{
    my_sql 'SHOW BINARY LOGS' | awk -F'\t' -v a="$1" -v b="$2" '$1 == a { on = 1 } on { print $1 } $1 == b { exit }'
}

# The MariaDB version of the streaming workloads: table bench.t(id int primary key,
# a bigint, b varchar(64) /* 40 bytes */, c timestamp, d decimal(10,2)); rows from
# the SEQUENCE engine's seq_<from>_to_<to> tables, session time zone UTC.
MY_ROW_EXPR="seq, (seq % 1000) * 1000003, CONCAT(MD5(seq), 'abcdefgh'), TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND, (seq % 100000) / 100.0"

# bench_my_setup: the table, and the procedure of workload B (created now, so that
# the binlog range of a workload holds nothing but its rows).
bench_my_setup()
{
    my_sql "CREATE DATABASE bench;
            CREATE TABLE bench.t (id int PRIMARY KEY, a bigint, b varchar(64), c timestamp NULL,
                                  d decimal(10,2)) ENGINE=InnoDB;"
    cat >"$TEST_TMP/proc.sql" <<SQL
DELIMITER ;;
CREATE PROCEDURE bench.one_row_txns(IN s INT, IN e INT)
BEGIN
    DECLARE seq INT DEFAULT s;
    WHILE seq <= e DO
        INSERT INTO bench.t VALUES ($MY_ROW_EXPR);
        SET seq = seq + 1;
    END WHILE;
END;;
DELIMITER ;
SQL
    my_sql_file "$TEST_TMP/proc.sql"
}

# bench_my_mark_start W: FLUSH BINARY LOGS (workload W starts a binlog file of its
# own) and record the start of its range in STARTPOS[W] ("file pos").
bench_my_mark_start()
{
    my_sql "FLUSH BINARY LOGS"
    STARTPOS[$1]=$(bench_my_binlog_pos)
}

# bench_my_generate W: writes workload A (A_ROWS rows in A_TXN_ROWS-row transactions,
# INSERT ... SELECT from a sequence) or B (B_TXNS one-row transactions: autocommit
# INSERTs in a stored procedure loop, each its own binlog transaction) and records
# the end of its binlog range in ENDPOS[W] ("file pos"; the start is STARTPOS[W],
# from bench_my_mark_start). Uses A_ROWS, A_TXN_ROWS, B_TXNS and DESC[W] of the caller.
bench_my_generate()
{
    local w=$1 sqlf=$TEST_TMP/gen_$1.sql t0 t1 s e
    {
        echo "SET SESSION time_zone = '+00:00';"
        case "$w" in
            A)
                for ((s = 1; s <= A_ROWS; s += A_TXN_ROWS)); do
                    e=$((s + A_TXN_ROWS - 1))
                    ((e > A_ROWS)) && e=$A_ROWS
                    echo "INSERT INTO bench.t SELECT $MY_ROW_EXPR FROM seq_${s}_to_${e};"
                done
                ;;
            B)
                echo "SET SESSION autocommit = 1;"
                echo "CALL bench.one_row_txns($((A_ROWS + 1)), $((A_ROWS + B_TXNS)));"
                ;;
        esac
    } >"$sqlf"
    t0=$(bench_now)
    my_sql_file "$sqlf" -D bench
    t1=$(bench_now)
    ENDPOS[$w]=$(bench_my_binlog_pos)
    bench_log "workload $w (${DESC[$w]}) written in $(bench_sub "$t1" "$t0") s; binlog ${STARTPOS[$w]} .. ${ENDPOS[$w]}"
}
