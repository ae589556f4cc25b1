/*
 * my_tls.c — TLS for the MySQL/MariaDB source's connections.
 *
 * Every connection the source opens (queries and snapshot, the binlog stream,
 * `sluice check`) goes through my_connect(), which calls my_tls_options() before
 * connecting and my_tls_enforce() right after, so all of them use the same settings:
 * debezium.source.database.ssl.mode (Debezium's key and values) and the PEM files
 * sluice.mysql.ssl.ca / .cert / .key. Debezium's Java keystore keys are refused at
 * validation (my_tls_validate) with the conversion to PEM.
 *
 * How the modes map onto libmariadb 3.3 (the installed Connector/C; mysql_optionsv):
 *   disabled         SSL_ENFORCE=0, VERIFY_SERVER_CERT=0: no TLS (also with 3.4, where
 *                    TLS is otherwise on by default)
 *   preferred        SSL_ENFORCE=1: TLS when the server offers it, else plain
 *   required         SSL_ENFORCE=1, and my_tls_enforce() refuses a plain connection
 *   verify_ca        + SSL_CA: with a CA file libmariadb verifies the server's chain
 *                    (SSL_VERIFY_PEER) but not its host name
 *   verify_identity  + VERIFY_SERVER_CERT=1: chain and host name (X509_check_host /
 *                    X509_check_ip_asc against database.hostname); without a CA file
 *                    the chain is checked against the system's CA certificates
 * A CA file given with preferred or required makes libmariadb check the chain too, as
 * the mysql client turns REQUIRED + --ssl-ca into VERIFY_CA.
 *
 * Invariants:
 *  1. A mode that asks for TLS never leaves a plain connection usable: libmariadb 3.3's
 *     SSL_ENFORCE (and a CA file alone) silently falls back to plain text when the
 *     server offers no TLS, so my_tls_enforce() checks mysql_get_ssl_cipher() after
 *     the handshake and closes the connection before any query is sent. (The login
 *     itself then went unencrypted; verify_identity refuses before logging in.)
 *  2. A mode that asks for checking never connects unchecked: verify_ca needs a CA
 *     file (configuration error otherwise), and verify_identity sets
 *     VERIFY_SERVER_CERT, which libmariadb enforces before logging in.
 *     tests/integration/test_my_tls.sh proves both against a throwaway CA, including
 *     that verify_ca does not check the host name with this library.
 *  3. Contradictory or unusable options (a file with ssl.mode=disabled, verify_ca
 *     without a CA, a certificate without its key, an unreadable or non-PEM file, a
 *     Java keystore) are configuration errors naming the key: exit 2 before anything
 *     starts.
 */
#include <errmsg.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "source/mysql/my_source.h"

#define MODE_KEY "debezium.source.database.ssl.mode"
#define CA_KEY   "sluice.mysql.ssl.ca"
#define CERT_KEY "sluice.mysql.ssl.cert"
#define KEY_KEY  "sluice.mysql.ssl.key"

static const char *const mode_names[] = {"disabled", "preferred", "required", "verify_ca",
                                         "verify_identity"};

int my_tls_mode(const sl_conf_t *conf)
{
    int m = sl_conf_enum(conf, MODE_KEY);
    return m >= MY_SSL_DISABLED && m <= MY_SSL_VERIFY_IDENTITY ? m : MY_SSL_PREFERRED;
}

static const char *mode_name(const sl_conf_t *conf)
{
    return mode_names[my_tls_mode(conf)];
}

/* --- validation ------------------------------------------------------------------- */

/* Debezium's Java keystores: what to do instead. */
static int refuse_keystores(const sl_conf_t *conf, char *errstr, size_t errstr_size)
{
    static const char *const keys[][2] = {
        {"debezium.source.database.ssl.truststore",
         "export the CA certificate as PEM (keytool -exportcert -rfc -keystore FILE -alias "
         "NAME) and set " CA_KEY},
        {"debezium.source.database.ssl.truststore.password", "set " CA_KEY " to a PEM file"},
        {"debezium.source.database.ssl.keystore",
         "convert the client certificate and key to PEM files (keytool -importkeystore to "
         "PKCS12, then openssl pkcs12) and set " CERT_KEY " and " KEY_KEY},
        {"debezium.source.database.ssl.keystore.password",
         "set " CERT_KEY " and " KEY_KEY " to PEM files"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!sl_conf_is_set(conf, keys[i][0]))
            continue;
        snprintf(errstr, errstr_size, "%s: %s: Java keystores are not supported; %s",
                 sl_conf_origin(conf, keys[i][0]), keys[i][0], keys[i][1]);
        return SL_ERR_CONFIG;
    }
    return SL_OK;
}

/* The file can be read and holds a PEM block (a DER or keystore file given by mistake
 * would otherwise fail inside OpenSSL with a less helpful message). */
static int check_pem_file(const sl_conf_t *conf, const char *key, char *errstr, size_t errstr_size)
{
    const char *path = sl_conf_str(conf, key);
    FILE *f = access(path, R_OK) == 0 ? fopen(path, "r") : NULL;
    if (!f) {
        snprintf(errstr, errstr_size, "%s: %s: cannot read '%s': %s", sl_conf_origin(conf, key),
                 key, path, strerror(errno));
        return SL_ERR_CONFIG;
    }
    char line[512];
    bool pem = false;
    while (!pem && fgets(line, sizeof line, f))
        pem = strncmp(line, "-----BEGIN ", 11) == 0;
    fclose(f);
    if (!pem) {
        snprintf(errstr, errstr_size,
                 "%s: %s: '%s' is not a PEM file (no -----BEGIN line); convert it, e.g. "
                 "openssl x509 -inform der -in '%s' -out cert.pem",
                 sl_conf_origin(conf, key), key, path, path);
        return SL_ERR_CONFIG;
    }
    return SL_OK;
}

int my_tls_validate(const sl_conf_t *conf, char *errstr, size_t errstr_size)
{
    static const char *const files[] = {CA_KEY, CERT_KEY, KEY_KEY};
    int rc = refuse_keystores(conf, errstr, errstr_size);
    if (rc != SL_OK)
        return rc;
    int m = my_tls_mode(conf);
    for (size_t i = 0; i < 3; i++) {
        if (!sl_conf_is_set(conf, files[i]))
            continue;
        if (m == MY_SSL_DISABLED) {
            snprintf(errstr, errstr_size,
                     "%s: %s is set but %s=%s (set at %s) never uses TLS; remove one of them "
                     "(ssl.mode=verify_identity checks the server's certificate)",
                     sl_conf_origin(conf, files[i]), files[i], MODE_KEY,
                     sl_conf_str(conf, MODE_KEY), sl_conf_origin(conf, MODE_KEY));
            return SL_ERR_CONFIG;
        }
        if ((rc = check_pem_file(conf, files[i], errstr, errstr_size)) != SL_OK)
            return rc;
    }
    if (m == MY_SSL_VERIFY_CA && !sl_conf_is_set(conf, CA_KEY)) {
        snprintf(errstr, errstr_size,
                 "%s: %s=%s needs %s, the CA certificate that signed the server's certificate; "
                 "set it, or use ssl.mode=required to encrypt without verifying the server",
                 sl_conf_origin(conf, MODE_KEY), MODE_KEY, sl_conf_str(conf, MODE_KEY), CA_KEY);
        return SL_ERR_CONFIG;
    }
    return sl_conf_pair(conf, CERT_KEY, KEY_KEY, SL_CLIENT_CERT_WHY, errstr, errstr_size);
}

/* --- connecting --------------------------------------------------------------------- */

int my_tls_options(MYSQL *m, const sl_conf_t *conf)
{
    int mode = my_tls_mode(conf);
    my_bool enforce = mode != MY_SSL_DISABLED;
    my_bool verify = mode == MY_SSL_VERIFY_IDENTITY;
    int bad = mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &enforce);
    bad |= mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    if (mode == MY_SSL_DISABLED)
        return bad ? SL_ERR_NOMEM : SL_OK;
    static const struct {
        const char *key;
        enum mysql_option opt;
    } files[] = {
        {CA_KEY, MYSQL_OPT_SSL_CA}, {CERT_KEY, MYSQL_OPT_SSL_CERT}, {KEY_KEY, MYSQL_OPT_SSL_KEY}};
    for (size_t i = 0; i < 3; i++) {
        const char *path = sl_conf_str(conf, files[i].key);
        if (path)
            bad |= mysql_optionsv(m, files[i].opt, path);
    }
    return bad ? SL_ERR_NOMEM : SL_OK;
}

int my_tls_enforce(MYSQL *m, const sl_conf_t *conf, char *errstr, size_t errstr_size)
{
    if (my_tls_mode(conf) < MY_SSL_REQUIRED || mysql_get_ssl_cipher(m))
        return SL_OK;
    snprintf(errstr, errstr_size,
             "MySQL/MariaDB at %s:%lld offers no TLS, but %s=%s requires it; enable TLS on the "
             "server (ssl_cert, ssl_key) or set ssl.mode=preferred",
             sl_conf_str(conf, "debezium.source.database.hostname"),
             (long long)sl_conf_int(conf, "debezium.source.database.port"), MODE_KEY,
             mode_name(conf));
    return SL_ERR_CONN;
}

bool my_tls_describe(MYSQL *m, const sl_conf_t *conf, char *buf, size_t size)
{
    const char *cipher = mysql_get_ssl_cipher(m);
    if (!cipher) {
        snprintf(buf, size, "not encrypted%s (%s=%s)",
                 my_tls_mode(conf) == MY_SSL_DISABLED ? "" : ": the server offers no TLS", MODE_KEY,
                 mode_name(conf));
        return false;
    }
    const char *version = NULL;
    if (mariadb_get_infov(m, MARIADB_CONNECTION_TLS_VERSION, &version) != 0 || !version)
        version = "TLS";
    snprintf(buf, size, "encrypted with %s, cipher %s (%s=%s)", version, cipher, MODE_KEY,
             mode_name(conf));
    return true;
}

const char *my_tls_hint(MYSQL *m, const sl_conf_t *conf, char *buf, size_t size)
{
    int mode = my_tls_mode(conf);
    const char *msg = mysql_error(m);
    const char *ca = sl_conf_str(conf, CA_KEY);
    buf[0] = 0;
    if (mysql_errno(m) == CR_SSL_CONNECTION_ERROR) {
        if (strstr(msg, "server does not support"))
            snprintf(buf, size,
                     " (%s=%s needs TLS, which the server does not offer: enable it "
                     "on the server, or set ssl.mode=preferred)",
                     MODE_KEY, mode_name(conf));
        else if (strstr(msg, "Validation of SSL server certificate failed"))
            snprintf(buf, size,
                     " (%s=verify_identity: the server's certificate is not issued for host "
                     "'%s'; set database.hostname to a name it holds, or use ssl.mode=verify_ca "
                     "to check only the CA)",
                     MODE_KEY, sl_conf_str(conf, "debezium.source.database.hostname"));
        else if (ca)
            snprintf(buf, size,
                     " (%s=%s checks the server's certificate against %s '%s': is that the CA "
                     "that signed it?)",
                     MODE_KEY, mode_name(conf), CA_KEY, ca);
        else if (mode == MY_SSL_VERIFY_IDENTITY)
            snprintf(buf, size,
                     " (%s=verify_identity without %s checks the server's certificate against "
                     "the system's CAs: set %s to the CA that signed it)",
                     MODE_KEY, CA_KEY, CA_KEY);
    } else if (mysql_errno(m) == 1045 /* ER_ACCESS_DENIED_ERROR */ && mode == MY_SSL_DISABLED) {
        snprintf(buf, size,
                 " (the connection was not encrypted, %s=disabled: if the account requires "
                 "SSL, set ssl.mode=verify_identity or required)",
                 MODE_KEY);
    }
    return buf;
}
