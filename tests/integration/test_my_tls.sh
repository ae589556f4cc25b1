#!/usr/bin/env bash
# TLS to MariaDB with a throwaway CA (debezium.source.database.ssl.mode, sluice.mysql.ssl.*):
# verify_identity with the right CA snapshots and streams over encrypted query and binlog
# connections; required encrypts without a CA; a CA that did not sign the server's
# certificate, a certificate for another name, or an account that REQUIREs SSL with
# ssl.mode=disabled are refused in one line (exit 1); verify_ca does not check the name
# (libmariadb 3.3); a client certificate authenticates a REQUIRE X509 account; against a
# server without TLS, the modes that need TLS refuse instead of falling back to plain
# text; contradictory options are configuration errors (exit 2) naming the keys.
source "$(dirname "$0")/lib.sh"
require_sluice

# ---------------------------------------------------------------- certificates
# mariadbd runs as the mysql OS user when we are root: the directory must be reachable by
# it and the server's files readable by it. The server serves active.{crt,key}, copies of
# server.* at first and of wrong.* later (FLUSH SSL rereads them).
tls_dir
tls_ca ca "sluice test CA"
tls_ca otherca "another CA"
tls_cert server 127.0.0.1 IP:127.0.0.1 ca
tls_cert wrong wrong.example.com DNS:wrong.example.com ca
tls_cert client x509user DNS:x509user ca
cp "$CERTS/server.crt" "$CERTS/active.crt"
cp -p "$CERTS/server.key" "$CERTS/active.key"
chmod 0644 "$CERTS"/*.crt
if [[ $(id -u) -eq 0 ]]; then chown mysql: "$CERTS/active.key" "$CERTS/active.crt"; fi
openssl x509 -in "$CERTS/ca.crt" -outform der -out "$CERTS/ca.der" 2>/dev/null || fail "der"
t_ok "throwaway CA, server certificates (right and wrong name) and a client certificate"

# ---------------------------------------------------------------- configuration errors
# No server needed: these stop before connecting.
cfg=$TEST_TMP/bad.properties
base="debezium.source.connector.class=mariadb
debezium.source.database.hostname=127.0.0.1
debezium.source.database.user=sluice
debezium.source.database.server.id=4242
debezium.source.topic.prefix=t
debezium.sink.type=file
debezium.sink.file.path=$TEST_TMP/bad.jsonl"
M=debezium.source.database.ssl.mode
S=sluice.mysql.ssl
expect_config() { # LINE8 LINE9 EXPECTED
    printf '%s\n%s\n%s\n' "$base" "$1" "$2" >"$cfg"
    local out rc=0
    out=$("$SLUICE_BIN" run -c "$cfg" 2>&1) || rc=$?
    assert_eq 2 "$rc" "exit 2 for: $1 / $2"
    assert_eq "sluice: $3" "$out" "message for: $1 / $2"
}
expect_config "$M=disabled" "$S.ca=$CERTS/ca.crt" \
    "$cfg:9: $S.ca is set but $M=disabled (set at $cfg:8) never uses TLS; remove one of them (ssl.mode=verify_identity checks the server's certificate)"
expect_config "$M=VERIFY_CA" "debezium.source.database.port=3306" \
    "$cfg:8: $M=VERIFY_CA needs $S.ca, the CA certificate that signed the server's certificate; set it, or use ssl.mode=required to encrypt without verifying the server"
expect_config "$M=required" "$S.cert=$CERTS/client.crt" \
    "$cfg:9: $S.cert is set without $S.key; a client certificate needs both the certificate and its private key"
expect_config "$M=verify_identity" "$S.ca=$CERTS/missing.crt" \
    "$cfg:9: $S.ca: cannot read '$CERTS/missing.crt': No such file or directory"
expect_config "$M=verify_identity" "$S.ca=$CERTS/ca.der" \
    "$cfg:9: $S.ca: '$CERTS/ca.der' is not a PEM file (no -----BEGIN line); convert it, e.g. openssl x509 -inform der -in '$CERTS/ca.der' -out cert.pem"
expect_config "$M=verify_ca" "debezium.source.database.ssl.truststore=/etc/trust.jks" \
    "$cfg:9: debezium.source.database.ssl.truststore: Java keystores are not supported; export the CA certificate as PEM (keytool -exportcert -rfc -keystore FILE -alias NAME) and set $S.ca"
expect_config "$M=verify_identity" "$M=sometimes" \
    "$cfg:9: $M: 'sometimes' is not a valid value (expected one of: disabled, preferred, required, verify_ca, verify_identity)"
rc=0
out=$("$SLUICE_BIN" check -c "$cfg" 2>&1) || rc=$?
assert_eq 2 "$rc" "check: a bad TLS configuration is exit 2 too"
[ ! -e "$TEST_TMP/bad.jsonl" ] || fail "a rejected TLS configuration must not start anything"

# ---------------------------------------------------------------- server with TLS
my_start --ssl-ca="$CERTS/ca.crt" --ssl-cert="$CERTS/active.crt" --ssl-key="$CERTS/active.key"
PRIVS="REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD, SHOW DATABASES"
my_sql "CREATE USER tls@'127.0.0.1' IDENTIFIED BY 'tls' REQUIRE SSL;
        GRANT $PRIVS ON *.* TO tls@'127.0.0.1';
        CREATE USER x509user@'127.0.0.1' IDENTIFIED BY 'x509' REQUIRE X509;
        GRANT $PRIVS ON *.* TO x509user@'127.0.0.1';
        CREATE DATABASE inv; CREATE TABLE inv.t (id INT PRIMARY KEY, v VARCHAR(20));
        INSERT INTO inv.t VALUES (1, 'one')"
TLSUSER=("debezium.source.database.user=tls" "debezium.source.database.password=tls")
HOSTPORT="127.0.0.1:$MY_PORT"

# verify_identity with the right CA: check, snapshot, then streaming, all over TLS
my_sluice_conf "$TEST_TMP/full.properties" "${TLSUSER[@]}" "$M=verify_identity" "$S.ca=$CERTS/ca.crt"
out=$("$SLUICE_BIN" check -c "$TEST_TMP/full.properties" 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "check passes with verify_identity and the right CA"
assert_contains "$out" "ok: connection encrypted with TLSv1." "check reports the encryption"
assert_contains "$out" ", cipher " "check reports the cipher"
assert_contains "$out" "($M=verify_identity)" "check reports the mode"
start_bg full "$SLUICE_BIN" run -c "$TEST_TMP/full.properties"
SL=$BG_PID
wait_events "$TEST_TMP/out.jsonl" 'r["value"] and r["value"]["op"]=="r"' 1 30 \
    || fail "snapshot over TLS did not arrive: $(cat "$TEST_TMP/full.err")"
wait_for "grep -q 'streaming the binlog' '$TEST_TMP/full.err'" 30 || fail "no streaming: $(cat "$TEST_TMP/full.err")"
my_sql "INSERT INTO inv.t VALUES (2, 'two')"
wait_events "$TEST_TMP/out.jsonl" 'r["value"] and r["value"]["op"]=="c" and r["key"]=={"id":2}' 1 30 \
    || fail "insert over TLS did not arrive: $(cat "$TEST_TMP/full.err")"
t_ok "verify_identity with the right CA: snapshot and streaming"
log=$(cat "$TEST_TMP/full.err")
assert_contains "$log" "mysql: query connection to $HOSTPORT encrypted with TLSv1." "the log says the query connection is encrypted"
assert_contains "$log" "mysql: binlog connection to $HOSTPORT encrypted with TLSv1." "the log says the binlog connection is encrypted"
kill -TERM "$SL"
rc=0
stop_pid "$SL" - 30 || rc=$?
assert_eq 0 "$rc" "graceful stop over TLS"

# required: encrypted, no CA needed; preferred (the default) encrypts when the server offers it
my_sluice_conf "$TEST_TMP/req.properties" "${TLSUSER[@]}" "$M=required"
out=$("$SLUICE_BIN" check -c "$TEST_TMP/req.properties" 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "ssl.mode=required without a CA: check passes"
assert_contains "$out" "ok: connection encrypted with TLSv1." "ssl.mode=required encrypts"
my_sluice_conf "$TEST_TMP/pref.properties" "${TLSUSER[@]}"
out=$("$SLUICE_BIN" check -c "$TEST_TMP/pref.properties" 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "default ssl.mode (preferred): check passes for a REQUIRE SSL account"
assert_contains "$out" "($M=preferred)" "the default mode is preferred"
assert_contains "$out" "ok: connection encrypted with TLSv1." "preferred encrypts when the server offers TLS"

# disabled against an account that REQUIREs SSL: refused, one line, with the reason
my_sluice_conf "$TEST_TMP/plain.properties" "${TLSUSER[@]}" "$M=disabled"
out=$("$SLUICE_BIN" run -c "$TEST_TMP/plain.properties" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "ssl.mode=disabled against a REQUIRE SSL account: exit 1"
assert_contains "$out" "cannot connect to MySQL/MariaDB at $HOSTPORT as tls: Access denied for user 'tls'@'127.0.0.1' (using password: YES) (the connection was not encrypted, $M=disabled: if the account requires SSL, set ssl.mode=verify_identity or required)" \
    "ssl.mode=disabled refused: the reason"
assert_eq 1 "$(grep -c "ERROR" <<<"$out")" "ssl.mode=disabled refusal is one line"
my_sluice_conf "$TEST_TMP/plain2.properties" "$M=disabled"
out=$("$SLUICE_BIN" check -c "$TEST_TMP/plain2.properties" 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "ssl.mode=disabled for an account without REQUIRE SSL: check passes"
assert_contains "$out" "ok: connection not encrypted ($M=disabled)" "check says the connection is not encrypted"

# a CA that did not sign the server's certificate: refused
my_sluice_conf "$TEST_TMP/other.properties" "${TLSUSER[@]}" "$M=verify_ca" "$S.ca=$CERTS/otherca.crt"
out=$("$SLUICE_BIN" run -c "$TEST_TMP/other.properties" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "verify_ca with another CA: exit 1"
assert_contains "$out" "cannot connect to MySQL/MariaDB at $HOSTPORT as tls: TLS/SSL error: self-signed certificate in certificate chain ($M=verify_ca checks the server's certificate against $S.ca '$CERTS/otherca.crt': is that the CA that signed it?)" \
    "verify_ca with another CA: the reason"
assert_eq 1 "$(grep -c "ERROR" <<<"$out")" "another CA: one line"
# verify_identity without a CA file checks against the system's CAs, which do not know ours
my_sluice_conf "$TEST_TMP/sys.properties" "${TLSUSER[@]}" "$M=verify_identity"
out=$("$SLUICE_BIN" run -c "$TEST_TMP/sys.properties" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "verify_identity without a CA file: exit 1 (never unchecked)"
assert_contains "$out" "($M=verify_identity without $S.ca checks the server's certificate against the system's CAs: set $S.ca to the CA that signed it)" \
    "verify_identity without a CA file: the reason"

# client certificate: a REQUIRE X509 account gets in with it, not without
my_sluice_conf "$TEST_TMP/cert.properties" "debezium.source.database.user=x509user" \
    "debezium.source.database.password=x509" "$M=verify_identity" "$S.ca=$CERTS/ca.crt" \
    "$S.cert=$CERTS/client.crt" "$S.key=$CERTS/client.key"
out=$("$SLUICE_BIN" check -c "$TEST_TMP/cert.properties" 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "client certificate: check passes"
assert_contains "$out" "as x509user" "client certificate accepted"
my_sluice_conf "$TEST_TMP/nocert.properties" "debezium.source.database.user=x509user" \
    "debezium.source.database.password=x509" "$M=verify_identity" "$S.ca=$CERTS/ca.crt"
out=$("$SLUICE_BIN" run -c "$TEST_TMP/nocert.properties" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "REQUIRE X509 without a client certificate: exit 1"
assert_contains "$out" "Access denied for user 'x509user'@'127.0.0.1'" "REQUIRE X509 without a client certificate: the reason"

# a server certificate for another name: verify_identity refuses, verify_ca (no name check) accepts
cp "$CERTS/wrong.crt" "$CERTS/active.crt"
cp "$CERTS/wrong.key" "$CERTS/active.key"
my_sql "FLUSH SSL"
wait_for "openssl s_client -connect $HOSTPORT -starttls mysql </dev/null 2>/dev/null | grep -q 'wrong.example.com'" 10 \
    || fail "the server did not switch to the wrong-name certificate"
rm -f "$TEST_TMP/offsets.dat"
out=$("$SLUICE_BIN" run -c "$TEST_TMP/full.properties" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "verify_identity against a certificate for another name: exit 1"
assert_contains "$out" "cannot connect to MySQL/MariaDB at $HOSTPORT as tls: TLS/SSL error: Validation of SSL server certificate failed ($M=verify_identity: the server's certificate is not issued for host '127.0.0.1'; set database.hostname to a name it holds, or use ssl.mode=verify_ca to check only the CA)" \
    "wrong name: the reason"
assert_eq 1 "$(grep -c "ERROR" <<<"$out")" "wrong name: one line"
my_sluice_conf "$TEST_TMP/ca.properties" "${TLSUSER[@]}" "$M=verify_ca" "$S.ca=$CERTS/ca.crt"
out=$("$SLUICE_BIN" check -c "$TEST_TMP/ca.properties" 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "verify_ca does not check the name: check passes"
assert_contains "$out" "ok: connection encrypted with TLSv1." "verify_ca encrypts"
my_stop

# ---------------------------------------------------------------- server without TLS
# libmariadb 3.3 falls back to plain text when the server offers no TLS, even with
# SSL_ENFORCE or a CA file: sluice must refuse instead (my_tls.c, invariant 1).
my_start --skip-ssl
HOSTPORT="127.0.0.1:$MY_PORT"
for mode in required verify_ca; do
    my_sluice_conf "$TEST_TMP/notls-$mode.properties" "$M=$mode" "$S.ca=$CERTS/ca.crt"
    out=$("$SLUICE_BIN" run -c "$TEST_TMP/notls-$mode.properties" 2>&1) && rc=0 || rc=$?
    assert_eq 1 "$rc" "ssl.mode=$mode against a server without TLS: exit 1"
    assert_contains "$out" "MySQL/MariaDB at $HOSTPORT offers no TLS, but $M=$mode requires it; enable TLS on the server (ssl_cert, ssl_key) or set ssl.mode=preferred" \
        "ssl.mode=$mode against a server without TLS: the reason"
    assert_eq 1 "$(grep -c "ERROR" <<<"$out")" "ssl.mode=$mode without TLS: one line"
done
my_sluice_conf "$TEST_TMP/notls-id.properties" "$M=verify_identity" "$S.ca=$CERTS/ca.crt"
out=$("$SLUICE_BIN" run -c "$TEST_TMP/notls-id.properties" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "ssl.mode=verify_identity against a server without TLS: exit 1"
assert_contains "$out" "TLS/SSL error: SSL is required, but the server does not support it ($M=verify_identity needs TLS, which the server does not offer: enable it on the server, or set ssl.mode=preferred)" \
    "ssl.mode=verify_identity against a server without TLS: the reason"
my_sluice_conf "$TEST_TMP/notls-pref.properties"
out=$("$SLUICE_BIN" check -c "$TEST_TMP/notls-pref.properties" 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "preferred against a server without TLS: check passes"
assert_contains "$out" "warn: connection not encrypted: the server offers no TLS ($M=preferred)" \
    "preferred against a server without TLS: check warns"
t_done
