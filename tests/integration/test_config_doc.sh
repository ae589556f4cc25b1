#!/usr/bin/env bash
# CONFIGURATION.md is generated from the property tables (sluice --config-doc) and
# must match them; `make config-doc` refreshes it.
source "$(dirname "$0")/lib.sh"
require_sluice
"$SLUICE_BIN" --config-doc >"$TEST_TMP/CONFIGURATION.md"
diff -u "$SLUICE_SRC/CONFIGURATION.md" "$TEST_TMP/CONFIGURATION.md" >&2 \
    || fail "CONFIGURATION.md is out of date: run make config-doc"
t_ok "CONFIGURATION.md matches the property tables"
"$SLUICE_BIN" --help >"$TEST_TMP/help.txt"
assert_contains "$(cat "$TEST_TMP/help.txt")" "sluice run   -c app.properties" "--help shows the commands"
assert_contains "$("$SLUICE_BIN" --version)" "sluice " "--version"
t_done
