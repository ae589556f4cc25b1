#!/usr/bin/env bash
# TLS to PostgreSQL with a throwaway CA: verify-full with the right CA streams over an
# encrypted replication connection; a certificate for another name, or from another CA,
# is refused in one line (exit 1); sslmode=require encrypts without a CA; a hostssl-only
# server refuses sslmode=disable; a client certificate authenticates (cert auth); and
# contradictory TLS options are configuration errors (exit 2) naming both keys.
source "$(dirname "$0")/lib.sh"
require_sluice

# ---------------------------------------------------------------- certificates
# The server runs as the postgres OS user when we are root: the directory must be
# reachable by it, and its key owned by it with mode 0600 (the server refuses others).
tls_dir
tls_ca ca "sluice test CA"
tls_ca otherca "another CA"
tls_cert server 127.0.0.1 IP:127.0.0.1 ca
tls_cert wrong wrong.example.com DNS:wrong.example.com ca
tls_cert client certuser DNS:certuser ca
for k in server wrong; do
    if [[ $(id -u) -eq 0 ]]; then chown postgres: "$CERTS/$k.key" "$CERTS/$k.crt"; fi
done
t_ok "throwaway CA, server certificates (right and wrong name) and a client certificate"

# ---------------------------------------------------------------- configuration errors
# No server needed: these stop before connecting. HOME without ~/.postgresql/root.crt.
export HOME=$TEST_TMP
cfg=$TEST_TMP/bad.properties
base="debezium.source.connector.class=postgres
debezium.source.database.hostname=127.0.0.1
debezium.source.database.user=postgres
debezium.source.database.dbname=postgres
debezium.source.topic.prefix=t
debezium.sink.type=file
debezium.sink.file.path=$TEST_TMP/bad.jsonl"
K=debezium.source.database
expect_config() { # LINE8 LINE9 EXPECTED
    printf '%s\n%s\n%s\n' "$base" "$1" "$2" >"$cfg"
    local out rc=0
    out=$("$SLUICE_BIN" run -c "$cfg" 2>&1) || rc=$?
    assert_eq 2 "$rc" "exit 2 for: $1 / $2"
    assert_eq "sluice: $3" "$out" "message for: $1 / $2"
}
expect_config "$K.sslmode=disable" "$K.sslrootcert=$CERTS/ca.crt" \
    "$cfg:9: $K.sslrootcert is set but $K.sslmode=disable (set at $cfg:8) never uses TLS; remove one of them (sslmode=verify-full checks the server's certificate)"
if [[ ! -e "$(getent passwd "$(id -un)" | cut -d: -f6)/.postgresql/root.crt" ]]; then
    expect_config "$K.sslmode=verify-full" "$K.port=5432" \
        "$cfg:8: $K.sslmode=verify-full needs $K.sslrootcert, the CA certificate that signed the server's certificate (no default ~/.postgresql/root.crt exists); set it, or use sslmode=require to encrypt without verifying the server"
    expect_config "$K.sslmode=VERIFY-CA" "$K.port=5432" \
        "$cfg:8: $K.sslmode=VERIFY-CA needs $K.sslrootcert, the CA certificate that signed the server's certificate (no default ~/.postgresql/root.crt exists); set it, or use sslmode=require to encrypt without verifying the server"
fi
expect_config "$K.sslmode=verify-full" "$K.sslrootcert=$CERTS/missing.crt" \
    "$cfg:9: $K.sslrootcert: cannot read '$CERTS/missing.crt': No such file or directory"
expect_config "$K.sslmode=require" "$K.sslcert=$CERTS/client.crt" \
    "$cfg:9: $K.sslcert is set without $K.sslkey; a client certificate needs both the certificate and its private key"
[ ! -e "$TEST_TMP/bad.jsonl" ] || fail "a rejected TLS configuration must not start anything"

# ---------------------------------------------------------------- server with ssl=on
pg_start "ssl = on" "ssl_cert_file = '$CERTS/server.crt'" "ssl_key_file = '$CERTS/server.key'" \
    "ssl_ca_file = '$CERTS/ca.crt'"
# TLS only over TCP; certuser authenticates with its client certificate
{
    echo "local all all trust"
    echo "hostssl all certuser 127.0.0.1/32 cert"
    echo "hostssl replication certuser 127.0.0.1/32 cert"
    echo "hostssl all all 127.0.0.1/32 trust"
    echo "hostssl replication all 127.0.0.1/32 trust"
} >"$PG_DATA/pg_hba.conf"
psql_c "SELECT pg_reload_conf()" >/dev/null
psql_c "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'one');
        CREATE ROLE certuser LOGIN REPLICATION; GRANT SELECT ON t TO certuser;"

# verify-full with the right CA: snapshot, then streaming over TLS
sluice_conf "$TEST_TMP/full.properties" "$K.sslmode=verify-full" "$K.sslrootcert=$CERTS/ca.crt"
out=$("$SLUICE_BIN" check -c "$TEST_TMP/full.properties" 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "check passes with verify-full and the right CA"
assert_contains "$out" "ok: connection encrypted with TLSv1." "check reports the encryption"
start_bg full "$SLUICE_BIN" run -c "$TEST_TMP/full.properties"
SL=$BG_PID
wait_events "$TEST_TMP/out.jsonl" 'r["value"] and r["value"]["op"]=="r"' 1 30 \
    || fail "snapshot over TLS did not arrive: $(cat "$TEST_TMP/full.err")"
psql_c "INSERT INTO t VALUES (2, 'two')"
wait_events "$TEST_TMP/out.jsonl" 'r["value"] and r["value"]["op"]=="c" and r["key"]=={"id":2}' 1 30 \
    || fail "insert over TLS did not arrive: $(cat "$TEST_TMP/full.err")"
t_ok "verify-full with the right CA: snapshot and streaming"
assert_eq "t" "$(psql_c "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_replication r USING (pid) WHERE r.application_name = 'sluice'")" \
    "pg_stat_ssl: the replication connection uses TLS"
kill -TERM "$SL"
rc=0
stop_pid "$SL" - 30 || rc=$?
assert_eq 0 "$rc" "graceful stop over TLS"

# require: encrypted, no CA needed
sluice_conf "$TEST_TMP/req.properties" "$K.sslmode=require" "sluice.log.level=debug"
out=$("$SLUICE_BIN" check -c "$TEST_TMP/req.properties" 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "sslmode=require without a CA: check passes"
assert_contains "$out" "ok: connection encrypted with TLSv1." "sslmode=require encrypts"

# a hostssl-only server refuses a plain connection: one line, exit 1
sluice_conf "$TEST_TMP/plain.properties" "$K.sslmode=disable"
out=$("$SLUICE_BIN" run -c "$TEST_TMP/plain.properties" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "sslmode=disable against a hostssl-only server: exit 1"
assert_contains "$out" "no pg_hba.conf entry for host \"127.0.0.1\", user \"postgres\", database \"postgres\", no encryption" "the server says it wants encryption"
assert_eq 1 "$(grep -c "ERROR" <<<"$out")" "sslmode=disable refusal is one line"

# a CA that did not sign the server's certificate: refused
sluice_conf "$TEST_TMP/other.properties" "$K.sslmode=verify-ca" "$K.sslrootcert=$CERTS/otherca.crt"
out=$("$SLUICE_BIN" run -c "$TEST_TMP/other.properties" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "verify-ca with another CA: exit 1"
assert_contains "$out" "certificate verify failed" "verify-ca with another CA: the reason"
assert_eq 1 "$(grep -c "ERROR" <<<"$out")" "another CA: one line"

# client certificate (cert authentication): with it the user gets in, without it not
sluice_conf "$TEST_TMP/cert.properties" "$K.user=certuser" "$K.sslmode=verify-full" \
    "$K.sslrootcert=$CERTS/ca.crt" "$K.sslcert=$CERTS/client.crt" "$K.sslkey=$CERTS/client.key"
out=$("$SLUICE_BIN" check -c "$TEST_TMP/cert.properties" 2>&1) && rc=0 || rc=$?
assert_contains "$out" "ok: connected to PostgreSQL 15 at 127.0.0.1:$PGPORT as certuser" "client certificate accepted"
assert_contains "$out" "ok: replication connection accepted" "client certificate accepted for replication"
sluice_conf "$TEST_TMP/nocert.properties" "$K.user=certuser" "$K.sslmode=verify-full" \
    "$K.sslrootcert=$CERTS/ca.crt"
out=$("$SLUICE_BIN" run -c "$TEST_TMP/nocert.properties" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "cert auth without a client certificate: exit 1"
assert_contains "$out" "connection requires a valid client certificate" "cert auth without a client certificate: the reason"

# a server certificate for another name: verify-full refuses, verify-ca (no name check) accepts
psql_c "ALTER SYSTEM SET ssl_cert_file = '$CERTS/wrong.crt'" >/dev/null
psql_c "ALTER SYSTEM SET ssl_key_file = '$CERTS/wrong.key'" >/dev/null
psql_c "SELECT pg_reload_conf()" >/dev/null
wait_for "openssl s_client -connect 127.0.0.1:$PGPORT -starttls postgres </dev/null 2>/dev/null | grep -q 'wrong.example.com'" 10 \
    || fail "the server did not switch to the wrong-name certificate"
rm -f "$TEST_TMP/offsets.dat"
out=$("$SLUICE_BIN" run -c "$TEST_TMP/full.properties" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "verify-full against a certificate for another name: exit 1"
assert_contains "$out" "could not connect to PostgreSQL at 127.0.0.1:$PGPORT: connection to server at \"127.0.0.1\", port $PGPORT failed: server certificate for \"wrong.example.com\" (and 1 other name) does not match host name \"127.0.0.1\"" "wrong name: the reason"
assert_eq 1 "$(grep -c "ERROR" <<<"$out")" "wrong name: one line"
sluice_conf "$TEST_TMP/ca.properties" "$K.sslmode=verify-ca" "$K.sslrootcert=$CERTS/ca.crt"
out=$("$SLUICE_BIN" check -c "$TEST_TMP/ca.properties" 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "verify-ca does not check the name: check passes"
t_done
