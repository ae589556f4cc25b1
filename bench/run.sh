#!/usr/bin/env bash
# bench/run.sh — every benchmark, one after the other (`make bench` runs this).
#
# Each benchmark starts its own throwaway servers, prints its per-run lines on
# standard error and a summary table (medians of BENCH_RUNS runs, ratios against
# the reference tool measured in the same run) plus the command that reproduces
# it on standard output. The whole output is also kept in $BENCH_LOG
# (default: a file under ${TMPDIR:-/tmp}, named at the end).
#
#   BENCH_RUNS=3          runs per tool
#   BENCH_ONLY="pg_stream pg_snapshot my_stream kafka jdbc"   which benchmarks to run
#   SLUICE_BIN=path       the binary (default build/sluice; `make bench` builds it)
#   and each benchmark's own variables (see the top of each bench/*.sh), e.g.
#   BENCH_A_ROWS, BENCH_B_TXNS, BENCH_SNAPSHOT_ROWS for smaller sizes.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_ONLY=${BENCH_ONLY:-pg_stream pg_snapshot my_stream kafka jdbc}
BENCH_LOG=${BENCH_LOG:-$(mktemp "${TMPDIR:-/tmp}/sluice-bench.XXXXXX.log")}
export BENCH_RUNS=${BENCH_RUNS:-3}

rc=0
{
    echo "# sluice benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ), BENCH_RUNS=$BENCH_RUNS"
    echo "# host: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
        "$(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo), $(uname -sr)"
    if git -C "$here/.." rev-parse --short HEAD >/dev/null 2>&1; then
        echo "# repository: $(git -C "$here/.." rev-parse --short HEAD)$(git -C "$here/.." diff --quiet -- src 2>/dev/null || echo ' + uncommitted changes in src/')"
    fi
    bin=${SLUICE_BIN:-$here/../build/sluice}
    echo "# binary: $bin ($(stat -c 'built %y' "$bin" 2>/dev/null | cut -c1-25 || echo missing))"
} | tee "$BENCH_LOG"
for b in $BENCH_ONLY; do
    [[ -f "$here/$b.sh" ]] || { echo "bench/run.sh: no benchmark $b" >&2; rc=1; continue; }
    echo "## $b" | tee -a "$BENCH_LOG"
    # stderr (progress) is kept in the log too
    if ! bash "$here/$b.sh" 2>&1 | tee -a "$BENCH_LOG"; then
        echo "bench/run.sh: $b failed" | tee -a "$BENCH_LOG" >&2
        rc=1
    fi
done
echo "bench/run.sh: full output in $BENCH_LOG" >&2
exit "$rc"
