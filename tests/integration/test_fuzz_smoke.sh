#!/usr/bin/env bash
# A short libFuzzer run of every fuzz target (tests/fuzz/fuzz_*.c) over its seed
# corpus, so that `make test` catches a parser that crashes, hangs or reads out of
# bounds on hostile bytes. Longer runs: `make fuzz FUZZ_SECONDS=600`.
# FUZZ_SMOKE_SECONDS (default 10) per target; skipped (passes) without clang.
# -malloc_limit_mb=64: inputs are a few KiB, so a single allocation over 64 MiB means a
# parser trusted a length from the bytes (libFuzzer reports it as a malloc limit crash).
source "$(dirname "$0")/lib.sh"
if ! command -v clang >/dev/null; then
    echo "# clang not installed: fuzz smoke skipped" >&2
    t_ok "skipped (no clang)"
    t_done
    exit 0
fi
secs=${FUZZ_SMOKE_SECONDS:-10}
dir=$SLUICE_BUILD/fuzz-smoke
CC=clang cmake -S "$SLUICE_SRC" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_FUZZ=ON >"$TEST_TMP/cmake.log" 2>&1 \
    || fail "fuzz build: cmake failed: $(tail -5 "$TEST_TMP/cmake.log")"
cmake --build "$dir" -j2 >"$TEST_TMP/build.log" 2>&1 || fail "fuzz build failed: $(tail -20 "$TEST_TMP/build.log")"
for bin in "$dir"/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    corpus=$SLUICE_SRC/tests/fuzz/corpus/${name#fuzz_}
    work=$TEST_TMP/corpus-$name
    mkdir -p "$work"
    # new inputs go to $work; the checked-in corpus is only read
    if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=64 -artifact_prefix="$TEST_TMP/" \
        "$work" "$corpus" >"$TEST_TMP/$name.log" 2>&1; then
        fail "$name found a problem: $(grep -m1 -A15 'ERROR\|==ERROR\|deadly signal\|Timeout\|malloc(.*) exceeds' "$TEST_TMP/$name.log")"
    fi
    t_ok "$name: $(grep -o 'Done [0-9]* runs' "$TEST_TMP/$name.log") in ${secs}s, no crash"
done
t_done
