#!/usr/bin/env bash
# Least privilege: a role with only LOGIN, REPLICATION and SELECT on the captured tables,
# with the publication created beforehand by the tables' owner, snapshots and streams.
# Take one privilege away and `sluice check` and `sluice run` name exactly which one is
# missing, for which role and table, and what to run, in one line.
source "$(dirname "$0")/lib.sh"
require_sluice

pg_start
psql_c "CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a VALUES (1, 'a1');
        CREATE TABLE b (id int PRIMARY KEY, v text); INSERT INTO b VALUES (1, 'b1');
        CREATE PUBLICATION sluice_test FOR TABLE a, b;
        CREATE ROLE app LOGIN REPLICATION;
        GRANT SELECT ON a, b TO app;"
assert_eq "f|t" "$(psql_c "SELECT rolsuper, rolreplication FROM pg_roles WHERE rolname = 'app'")" \
    "role app: not a superuser, REPLICATION"
K=debezium.source
conf=$TEST_TMP/app.properties
# props SLOT: a configuration for role app on its own slot and offsets
props() {
    sluice_conf "$conf" "$K.database.user=app" "$K.publication.autocreate.mode=disabled" \
        "$K.slot.name=$1" "$K.offset.storage.file.filename=$TEST_TMP/$1.offsets"
}
errors() { grep -c "ERROR" <<<"$1" || true; }

# ---------------------------------------------------------------- everything granted
props s1
out=$("$SLUICE_BIN" check -c "$conf" 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "check passes with LOGIN, REPLICATION and SELECT only"
assert_contains "$out" "all checks passed" "check: all checks passed"
start_bg s1 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_events "$TEST_TMP/out.jsonl" 'r["value"] and r["value"]["op"]=="r"' 2 30 \
    || fail "snapshot as app did not arrive: $(cat "$TEST_TMP/s1.err")"
psql_c "INSERT INTO a VALUES (2, 'a2'); UPDATE b SET v = 'b1x' WHERE id = 1"
wait_events "$TEST_TMP/out.jsonl" 'r["value"] and r["value"]["op"]=="u" and r["key"]=={"id":1}' 1 30 \
    || fail "changes as app did not arrive: $(cat "$TEST_TMP/s1.err")"
assert_eq 1 "$(jsonl_count "$TEST_TMP/out.jsonl" 'r["value"] and r["value"]["op"]=="c" and r["topic"]=="test.public.a" and r["key"]=={"id":2}')" \
    "least privilege: insert streamed"
kill -TERM "$SL"
rc=0
stop_pid "$SL" - 30 || rc=$?
assert_eq 0 "$rc" "least privilege: graceful stop"
assert_eq 0 "$(psql_c "SELECT count(*) FROM pg_publication WHERE pubname = 'sluice_test' AND puballtables")" \
    "the publication was left as the owner made it"

# ---------------------------------------------------------------- no SELECT on b
psql_c "REVOKE SELECT ON b FROM app"
props s2
out=$("$SLUICE_BIN" check -c "$conf" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "check without SELECT: exit 1"
assert_contains "$out" $'\nFAIL: user app has no SELECT privilege on public.b, needed for the snapshot (GRANT SELECT ON public.b TO app)\n' \
    "check names the role, the table and the grant"
assert_eq 1 "$(grep -c '^FAIL' <<<"$out")" "check: exactly one problem"
out=$("$SLUICE_BIN" run -c "$conf" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "run without SELECT: exit 1"
assert_contains "$out" "ERROR user app has no SELECT privilege on table public.b, which the snapshot reads (GRANT SELECT ON public.b TO app)" \
    "run names the role, the table and the grant"
assert_eq 1 "$(errors "$out")" "run without SELECT: one line"
assert_eq 0 "$(psql_c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 's2'")" \
    "no slot is left behind by a snapshot that cannot run"
# streaming alone (no snapshot) does not need SELECT
props s3
echo "$K.snapshot.mode=never" >>"$conf"
start_bg s3 "$SLUICE_BIN" run -c "$conf"
SL=$BG_PID
wait_for "[ \"\$(psql_c \"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 's3' AND active\")\" = 1 ]" 30 \
    || fail "snapshot.mode=never did not start streaming: $(cat "$TEST_TMP/s3.err")"
psql_c "INSERT INTO b VALUES (3, 'b3')"
wait_events "$TEST_TMP/out.jsonl" 'r["value"] and r["value"]["op"]=="c" and r["topic"]=="test.public.b" and r["key"]=={"id":3}' 1 30 \
    || fail "streaming without SELECT did not deliver: $(cat "$TEST_TMP/s3.err")"
t_ok "snapshot.mode=never streams without SELECT"
kill -TERM "$SL"
stop_pid "$SL" - 30 || true
psql_c "GRANT SELECT ON b TO app"

# ---------------------------------------------------------------- no REPLICATION
psql_c "ALTER ROLE app NOREPLICATION"
props s4
out=$("$SLUICE_BIN" check -c "$conf" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "check without REPLICATION: exit 1"
assert_contains "$out" $'\nFAIL: user app lacks the REPLICATION attribute (ALTER ROLE app WITH REPLICATION)\n' \
    "check names the attribute and the fix"
assert_eq 1 "$(grep -c '^FAIL' <<<"$out")" "check: the missing attribute is reported once"
out=$("$SLUICE_BIN" run -c "$conf" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "run without REPLICATION: exit 1"
assert_contains "$out" "ERROR PostgreSQL at 127.0.0.1:$PGPORT refused the replication connection: user app lacks the REPLICATION attribute (ALTER ROLE app WITH REPLICATION)" \
    "run maps the walsender's refusal to the attribute and the fix"
assert_eq 1 "$(errors "$out")" "run without REPLICATION: one line"
psql_c "ALTER ROLE app REPLICATION"

# ---------------------------------------------------------------- no publication
psql_c "DROP PUBLICATION sluice_test"
props s5
out=$("$SLUICE_BIN" check -c "$conf" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "check without the publication: exit 1"
assert_contains "$out" $'\nFAIL: publication "sluice_test" does not exist and autocreate is disabled\n' \
    "check: the publication is missing"
out=$("$SLUICE_BIN" run -c "$conf" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "run without the publication: exit 1"
assert_contains "$out" 'ERROR publication "sluice_test" does not exist and publication.autocreate.mode is disabled (create it, e.g. CREATE PUBLICATION sluice_test FOR ALL TABLES)' \
    "run: the publication is missing"
assert_eq 1 "$(errors "$out")" "run without the publication: one line"
# autocreate by a role that does not own the tables: the server's reason and the way out
sluice_conf "$conf" "$K.database.user=app" "$K.slot.name=s6" "$K.offset.storage.file.filename=$TEST_TMP/s6.offsets"
out=$("$SLUICE_BIN" run -c "$conf" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "autocreate without ownership: exit 1"
assert_contains "$out" 'ERROR could not create publication "sluice_test": ERROR: permission denied for database postgres (create it beforehand as a superuser or the tables'"'"' owner and set publication.autocreate.mode=disabled)' \
    "autocreate without ownership: the server's reason"
assert_eq 1 "$(grep -c '^20.*ERROR' <<<"$out")" "autocreate without ownership: one line"
t_done
