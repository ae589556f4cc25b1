# Convenience wrapper around CMake/CTest. The build itself is CMakeLists.txt.
#
#   make test        install missing packages, build, run every test, then again under
#                    ASan+UBSan (what CI runs; SKIP_ASAN=1 for the first half only)
#   make test-unit   unit tests only
#   make demo        live change stream from a throwaway PostgreSQL to your terminal
#   make test-asan   the suite under AddressSanitizer + UBSan (build-asan/)
#   make fuzz        each libFuzzer target for FUZZ_SECONDS (build-fuzz/, clang)
#   make soak        the reliability scenarios, long; writes RELIABILITY.md
#   make bench       bench/run.sh
#   make config-doc  regenerate CONFIGURATION.md from the code's property tables
#   make deps | build | clean

BUILD_TYPE   ?= RelWithDebInfo
JOBS         ?= 2
FUZZ_SECONDS ?= 60
CTEST_ARGS   ?=
CMAKE        ?= cmake
CTEST        ?= ctest

# Targets run their prerequisites in the order written, even under make -j.
.NOTPARALLEL:
.PHONY: all build deps test test-unit demo test-asan fuzz soak bench config-doc clean

all: build

deps:
	scripts/install-deps.sh

build:
	$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)
	$(CMAKE) --build build -j$(JOBS)

# The suite, then the same suite under AddressSanitizer + UBSan (CI runs both; the fuzz
# smoke is sanitized already). SKIP_ASAN=1 runs the first half only.
test: deps build
	$(CTEST) --test-dir build --output-on-failure $(CTEST_ARGS)
ifneq ($(SKIP_ASAN),1)
	$(MAKE) --no-print-directory test-asan CTEST_ARGS="$(CTEST_ARGS) -E fuzz_smoke"
endif

soak: deps build
	bash tests/reliability/soak.sh

test-unit: deps build
	$(CTEST) --test-dir build --output-on-failure -L unit $(CTEST_ARGS)

demo: deps build
	scripts/demo.sh

test-asan: deps
	$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DSLUICE_SANITIZE=ON
	$(CMAKE) --build build-asan -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(CTEST) --test-dir build-asan --output-on-failure $(CTEST_ARGS)

# New inputs a run finds go to build-fuzz/corpus/<name>; tests/fuzz/corpus/<name>
# (the checked-in seeds) is only read. Crashes land in build-fuzz/artifacts/.
fuzz: deps
	CC=clang $(CMAKE) -S . -B build-fuzz -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DSLUICE_FUZZ=ON
	$(CMAKE) --build build-fuzz -j$(JOBS)
	@set -e; found=0; mkdir -p build-fuzz/artifacts; \
	for bin in build-fuzz/fuzz_*; do \
	    [ -f "$$bin" ] && [ -x "$$bin" ] || continue; found=1; \
	    target=$$(basename "$$bin"); name=$${target#fuzz_}; \
	    seeds=tests/fuzz/corpus/$$name; mkdir -p "build-fuzz/corpus/$$name"; \
	    dict=""; [ -f "tests/fuzz/$$name.dict" ] && dict="-dict=tests/fuzz/$$name.dict"; \
	    echo "== $$target: $(FUZZ_SECONDS) s over $$seeds"; \
	    "$$bin" -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -malloc_limit_mb=64 \
	        -artifact_prefix="build-fuzz/artifacts/$$name-" $$dict \
	        "build-fuzz/corpus/$$name" $$( [ -d "$$seeds" ] && echo "$$seeds" ); \
	done; \
	[ $$found = 1 ] || echo "no fuzz_* targets built (tests/fuzz/fuzz_*.c)"

bench: deps build
	@if [ -f bench/run.sh ]; then bash bench/run.sh; else echo "bench/run.sh not written yet"; fi

config-doc: build
	build/sluice --config-doc > CONFIGURATION.md.tmp
	mv CONFIGURATION.md.tmp CONFIGURATION.md

clean:
	rm -rf build build-asan build-fuzz CONFIGURATION.md.tmp
