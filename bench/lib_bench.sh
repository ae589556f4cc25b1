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
#   - Each run appends one line to $BENCH_TSV:
#         bench  workload  tool  run  wall_s  events  user_s  sys_s  rss_kb  srv_cpu_s  note
#     and bench_summary prints medians per (workload, tool) and the ratios.
#
# Invariant: helpers that start processes are called in the main shell (not in
# $(...)), so lib.sh registers them and stops them whatever way the script ends.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
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

# bench_wait_backends_gone: wait until no backend of a replication connection is
# left (the walsender of the last run has exited and been reaped), so that
# bench_pg_child_cpu has counted it.
bench_wait_backends_gone()
{
    wait_for "[ \"\$(psql_c \"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender' OR application_name LIKE 'sluice%'\")\" = 0 ]" 30 ||
        bench_log "warning: a walsender is still running"
    sleep 0.2
}

# bench_record bench workload tool run wall events timefile srv_cpu [note]
bench_record()
{
    local bench=$1 wl=$2 tool=$3 run=$4 wall=$5 events=$6 tf=$7 srv=$8 note=${9:-}
    local user sys rss
    user=$(bench_time_field "$tf" user)
    sys=$(bench_time_field "$tf" sys)
    rss=$(bench_time_field "$tf" rss_kb)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$bench" "$wl" "$tool" "$run" "$wall" \
        "$events" "${user:-0}" "${sys:-0}" "${rss:-0}" "$srv" "${note:--}" >>"$BENCH_TSV"
    awk -v w="$wall" -v e="$events" -v u="$user" -v s="$sys" -v r="$rss" -v srv="$srv" \
        -v t="$tool" -v wl="$wl" -v run="$run" -v note="$note" 'BEGIN {
        printf "  %-10s %-22s run %s: %8.2f s  %9.0f ev/s  %5.2f us/ev CPU  %6.1f MiB  server %5.2f us/ev %s\n",
            wl, t, run, w, e / w, (u + s) * 1e6 / e, r / 1024, srv * 1e6 / e, note }' >&2
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
    rows.setdefault((wl, tool), []).append(
        dict(wall=float(wall), ev=int(ev), cpu=float(user) + float(sys_),
             rss=int(rss), srv=float(srv)))
    if note != "-":
        notes.append(f"{wl} {tool} run {run}: {note}")
med = statistics.median
print()
print(f"== {title}: medians of {max((len(v) for v in rows.values()), default=0)} runs")
one = unit[:-1] if unit.endswith("s") else unit
hdr = ("workload", "tool", "runs", "wall s", f"{unit}/s", f"CPU us/{one}", "peak RSS MiB",
       f"server CPU us/{one}", f"{unit}/s vs {ref}")
print("| " + " | ".join(hdr) + " |")
print("|" + "|".join(["---"] * len(hdr)) + "|")
for (wl, tool), rs in rows.items():
    wall = med(r["wall"] for r in rs)
    rate = med(r["ev"] / r["wall"] for r in rs)
    cpu = med(r["cpu"] * 1e6 / r["ev"] for r in rs)
    rss = med(r["rss"] for r in rs) / 1024
    srv = med(r["srv"] * 1e6 / r["ev"] for r in rs)
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
    print(f"| {wl} | {tool} | {len(rs)} | {wall:.2f} | {rate:,.0f} | {cpu:.2f} | {rss:.1f} | {srv:.2f} | {ratio} |")
if notes:
    print("notes:")
    for n in notes:
        print("  " + n)
PY
}
