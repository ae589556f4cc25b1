/*
 * test_config.c — unit tests for src/core/config.c.
 *
 * What: the properties syntax as java.util.Properties.load reads it (separators,
 * comments, continuations, escapes, \uXXXX, BOM, CRLF, duplicates, limits), the
 * environment overrides, every validation message word for word, that secret
 * values never reach a message, the "did you mean" hints, list splitting, the
 * getters, the ignored-key warning and the generated markdown.
 *
 * How: settings of keys that are in no table are read back through
 * sl_conf_foreach_prefix("") (the typed getters assert that a key is known).
 * Log output is captured by pointing file descriptor 2 at a temporary file.
 */
#include <ctype.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/log.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const sl_prop_def_t src_defs[] = {
    {"debezium.source.database.hostname", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED,
     "Database host."},
    {"debezium.source.database.port", SL_PT_INT, "5432", NULL, 1, 65535, 0, "Database port."},
    {"debezium.source.database.password", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_SECRET,
     "Password."},
    {"debezium.source.slot.name", SL_PT_STRING, "debezium", NULL, 0, 0, 0, "Slot name."},
    {"debezium.source.snapshot.mode", SL_PT_ENUM, "initial", "initial|never|no_data", 0, 0, 0,
     "Snapshot mode."},
    {"debezium.source.tombstones.on.delete", SL_PT_BOOL, "true", NULL, 0, 0, 0, "Tombstones."},
    {"debezium.source.table.include.list", SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0, "Tables."},
    {"debezium.source.column.exclude.list", SL_PT_LIST, NULL, NULL, 0, 0, 0, "Columns."},
    {"debezium.source.secret.pin", SL_PT_INT, NULL, NULL, 0, 9999, SL_PF_SECRET, "A pin."},
    {"debezium.source.secret.mode", SL_PT_ENUM, NULL, "a|b", 0, 0, SL_PF_SECRET, "A mode."},
    {"debezium.source.secret.regex", SL_PT_REGEX_LIST, NULL, NULL, 0, 0, SL_PF_SECRET, "Re."},
    {"debezium.source.heartbeat.interval.ms", SL_PT_INT, "0", NULL, 0, 0, 0, "Heartbeat."},
    {"debezium.source.max.queue.size", SL_PT_INT, "8192", NULL, 2, INT64_MAX, 0, "Queue."},
    {"debezium.source.min.thing", SL_PT_INT, NULL, NULL, INT64_MIN, 5, 0, "At most 5."},
    {"debezium.source.name", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_IGNORED, "Ignored."},
};
static const sl_prop_table_t src_table = {"source.postgres", "PostgreSQL source", src_defs,
                                          N(src_defs)};

static const sl_prop_def_t sink_defs[] = {
    {"debezium.sink.type", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED, "Sink type."},
    {"debezium.sink.kafka.producer.*", SL_PT_PASSTHROUGH, NULL, NULL, 0, 0, 0,
     "Producer properties."},
    {"quarkus.*", SL_PT_PASSTHROUGH, NULL, NULL, 0, 0, SL_PF_IGNORED, "Quarkus."},
};
static const sl_prop_table_t sink_table = {"sink.kafka", "Kafka sink", sink_defs, N(sink_defs)};

static const sl_prop_table_t *const tables[] = {&src_table, &sink_table};

/* ---------- helpers ---------- */

static sl_conf_t *load(const char *text, char *const *envp)
{
    sl_conf_t *conf = NULL;
    char err[512] = "";
    int rc = sl_conf_load_string(&conf, "t.properties", text, strlen(text), envp, tables, N(tables),
                                 err, sizeof err);
    if (rc != SL_OK)
        fail_msg("load failed: %s", err);
    return conf;
}

/* Loads text and expects a load error; returns it in err. */
static int load_err(const char *text, size_t len, char *err, size_t err_size)
{
    sl_conf_t *conf = NULL;
    int rc = sl_conf_load_string(&conf, "t.properties", text, len, NULL, tables, N(tables), err,
                                 err_size);
    assert_null(conf);
    return rc;
}

struct find {
    const char *key;
    const char *value;
    int count;
};

static void find_cb(void *ud, const char *subkey, const char *value)
{
    struct find *f = ud;
    f->count++;
    if (strcmp(subkey, f->key) == 0)
        f->value = value;
}

/* The value of any key (known to a table or not), NULL when unset. */
static const char *get(const sl_conf_t *conf, const char *key)
{
    struct find f = {key, NULL, 0};
    sl_conf_foreach_prefix(conf, "", find_cb, &f);
    return f.value;
}

static int count_keys(const sl_conf_t *conf)
{
    struct find f = {"", NULL, 0};
    sl_conf_foreach_prefix(conf, "", find_cb, &f);
    return f.count;
}

/* Loads text, validates with both tables active; returns the validation code. */
static int validate(const char *text, char *err, size_t err_size)
{
    sl_conf_t *conf = load(text, NULL);
    err[0] = 0;
    int rc = sl_conf_validate(conf, tables, N(tables), tables, N(tables), err, err_size);
    sl_conf_free(conf);
    return rc;
}

#define REQ "debezium.source.database.hostname=h\ndebezium.sink.type=kafka\n"

static void expect_invalid(const char *text, const char *msg)
{
    char err[512];
    assert_int_equal(validate(text, err, sizeof err), SL_ERR_CONFIG);
    assert_string_equal(err, msg);
}

/* regerror()'s text for pattern as config.c words it (first letter lowercase);
 * it differs between C libraries. */
static const char *regex_why(const char *pattern)
{
    static char why[256];
    regex_t re;
    int r = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
    assert_int_not_equal(r, 0);
    regerror(r, &re, why, sizeof why);
    if (isupper((unsigned char)why[0]) && !isupper((unsigned char)why[1]))
        why[0] = (char)tolower((unsigned char)why[0]);
    return why;
}

/* ---------- syntax ---------- */

static void test_separators(void **state)
{
    sl_conf_t *conf = load("a=1\n"
                           "b:2\n"
                           "c 3\n"
                           "d = 4\n"
                           "e\t:\t5\n"
                           "f  =  6  \n"
                           "g==7\n"
                           "h =:8\n"
                           "i\n"
                           "j   \n"
                           "k\\=x=9\n"
                           "l\\ m n\n"
                           "o\\:p:q r\n"
                           "=empty\n"
                           "s\f\f10\n",
                           NULL);
    assert_string_equal(get(conf, "a"), "1");
    assert_string_equal(get(conf, "b"), "2");
    assert_string_equal(get(conf, "c"), "3");
    assert_string_equal(get(conf, "d"), "4");
    assert_string_equal(get(conf, "e"), "5");
    assert_string_equal(get(conf, "f"), "6  "); /* Java keeps trailing white space */
    assert_string_equal(get(conf, "g"), "=7");
    assert_string_equal(get(conf, "h"), ":8");
    assert_string_equal(get(conf, "i"), "");
    assert_string_equal(get(conf, "j"), "");
    assert_string_equal(get(conf, "k=x"), "9");
    assert_string_equal(get(conf, "l m"), "n");
    assert_string_equal(get(conf, "o:p"), "q r");
    assert_string_equal(get(conf, ""), "empty");
    assert_string_equal(get(conf, "s"), "10");
    assert_int_equal(count_keys(conf), 15);
    sl_conf_free(conf);
}

static void test_comments_and_blank_lines(void **state)
{
    sl_conf_t *conf = load("# comment\n"
                           "! also a comment\n"
                           "   # indented comment\n"
                           "\t! indented too\n"
                           "\n"
                           "   \t \n"
                           "a=1 # not a comment\n"
                           "# a comment does not continue \\\n"
                           "b=2\n"
                           "c=#3\n",
                           NULL);
    assert_string_equal(get(conf, "a"), "1 # not a comment");
    assert_string_equal(get(conf, "b"), "2");
    assert_string_equal(get(conf, "c"), "#3");
    assert_string_equal(sl_conf_origin(conf, "b"), "t.properties:9");
    assert_int_equal(count_keys(conf), 3);
    sl_conf_free(conf);
}

static void test_continuations(void **state)
{
    sl_conf_t *conf = load("a=one, \\\n"
                           "     two, \\\n"
                           "\t three\n"
                           "b=x\\\n"
                           "   # not a comment\n"
                           "c=even\\\\\n"
                           "d=y\\\n"
                           "\n"
                           "e=after empty continuation\n"
                           "lo\\\n"
                           "  ng=key\n"
                           "f=odd\\\\\\\n"
                           "  z\n"
                           "g=eof\\",
                           NULL);
    assert_string_equal(get(conf, "a"), "one, two, three");
    assert_string_equal(get(conf, "b"), "x# not a comment");
    assert_string_equal(get(conf, "c"), "even\\");
    assert_string_equal(get(conf, "d"), "y");
    assert_string_equal(get(conf, "e"), "after empty continuation");
    assert_string_equal(get(conf, "long"), "key");
    assert_string_equal(get(conf, "f"), "odd\\z");
    assert_string_equal(get(conf, "g"), "eof");
    assert_string_equal(sl_conf_origin(conf, "a"), "t.properties:1");
    assert_string_equal(sl_conf_origin(conf, "b"), "t.properties:4");
    assert_string_equal(sl_conf_origin(conf, "e"), "t.properties:9");
    assert_string_equal(sl_conf_origin(conf, "long"), "t.properties:10");
    assert_string_equal(sl_conf_origin(conf, "g"), "t.properties:14");
    assert_int_equal(count_keys(conf), 8);
    sl_conf_free(conf);

    /* a line that is only a backslash continues into the next one */
    conf = load("\\\n  k=v\n", NULL);
    assert_string_equal(get(conf, "k"), "v");
    assert_int_equal(count_keys(conf), 1);
    sl_conf_free(conf);
}

static void test_escapes(void **state)
{
    sl_conf_t *conf = load("a=\\t|\\n|\\r|\\f|\\\\|\\q|\\=|\\:|\\#|\\ x\n"
                           "b=\\u00e9\\u20AC\\u0041\n"
                           "c=\\uD83D\\uDE00!\n"
                           "k\\u0041y=1\n"
                           "d=caf\xc3\xa9 \xe2\x82\xac\n"
                           "\\#e=2\n",
                           NULL);
    assert_string_equal(get(conf, "a"), "\t|\n|\r|\f|\\|q|=|:|#| x");
    assert_string_equal(get(conf, "b"), "\xc3\xa9\xe2\x82\xac"
                                        "A");
    assert_string_equal(get(conf, "c"), "\xf0\x9f\x98\x80!");
    assert_string_equal(get(conf, "kAy"), "1");
    assert_string_equal(get(conf, "d"), "caf\xc3\xa9 \xe2\x82\xac");
    assert_string_equal(get(conf, "#e"), "2");
    sl_conf_free(conf);
}

static void test_escape_errors(void **state)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"a=1\nb=\\u12G4\n", "t.properties:2: malformed \\uXXXX escape (expected four hex digits)"},
        {"b=\\u12", "t.properties:1: malformed \\uXXXX escape (expected four hex digits)"},
        {"x\\u=1", "t.properties:1: malformed \\uXXXX escape (expected four hex digits)"},
        {"b=\\uD83D\n", "t.properties:1: unpaired UTF-16 surrogate in \\uXXXX escape"},
        {"b=\\uD83Dx\n", "t.properties:1: unpaired UTF-16 surrogate in \\uXXXX escape"},
        {"b=\\uD83D\\u0041\n", "t.properties:1: unpaired UTF-16 surrogate in \\uXXXX escape"},
        {"b=\\uDE00\n", "t.properties:1: unpaired UTF-16 surrogate in \\uXXXX escape"},
        {"\n\nb=\\u0000\n", "t.properties:3: \\u0000 is not allowed"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char err[256] = "";
        assert_int_equal(load_err(cases[i].text, strlen(cases[i].text), err, sizeof err),
                         SL_ERR_CONFIG);
        assert_string_equal(err, cases[i].msg);
    }
}

static void test_bom_and_crlf(void **state)
{
    sl_conf_t *conf = load("\xef\xbb\xbf"
                           "a=1\r\n"
                           "b=2\r\n"
                           "\r\n"
                           "c=3\r"
                           "d=4\n"
                           "e=x\\\r\n"
                           "  y\r\n"
                           "f=5",
                           NULL);
    assert_string_equal(get(conf, "a"), "1");
    assert_string_equal(get(conf, "b"), "2");
    assert_string_equal(get(conf, "c"), "3");
    assert_string_equal(get(conf, "d"), "4");
    assert_string_equal(get(conf, "e"), "xy");
    assert_string_equal(get(conf, "f"), "5");
    assert_string_equal(sl_conf_origin(conf, "a"), "t.properties:1");
    assert_string_equal(sl_conf_origin(conf, "c"), "t.properties:4");
    assert_string_equal(sl_conf_origin(conf, "d"), "t.properties:5");
    assert_string_equal(sl_conf_origin(conf, "f"), "t.properties:8");
    assert_int_equal(count_keys(conf), 6);
    sl_conf_free(conf);
}

static void test_invalid_utf8(void **state)
{
    static const char *const bad[] = {
        "a=1\nb=\xff\n",           /* never valid */
        "a=1\nb=\xc0\xaf\n",       /* overlong */
        "a=1\nb=\xed\xa0\x80\n",   /* surrogate */
        "a=1\nb=\xf4\x90\x80\x80", /* above U+10FFFF */
        "a=1\nb=\xe2\x82",         /* truncated */
        "a=1\r\nb=\xe2(\xa1\n",    /* bad continuation byte */
    };
    for (size_t i = 0; i < N(bad); i++) {
        char err[256] = "", want[128];
        assert_int_equal(load_err(bad[i], strlen(bad[i]), err, sizeof err), SL_ERR_CONFIG);
        /* the first byte of the bad sequence, always at column 3 of line 2 */
        snprintf(want, sizeof want,
                 "t.properties:2: invalid UTF-8 (byte 0x%02X at column 3); save the file as UTF-8",
                 (unsigned char)strchr(bad[i], 'b')[2]);
        assert_string_equal(err, want);
    }
    char err[256] = "";
    assert_int_equal(load_err("a=1\n\nb=x\0y", 10, err, sizeof err), SL_ERR_CONFIG);
    assert_string_equal(err, "t.properties:3: NUL byte is not allowed (column 4)");
}

static void test_duplicates(void **state)
{
    sl_conf_t *conf = load("a=1\nb=2\n# again\na=3\n", NULL);
    assert_string_equal(get(conf, "a"), "3");
    assert_string_equal(sl_conf_origin(conf, "a"), "t.properties:4");
    assert_string_equal(sl_conf_origin(conf, "b"), "t.properties:2");
    assert_int_equal(count_keys(conf), 2);
    sl_conf_free(conf);
}

static void test_limits(void **state)
{
    size_t n = (1u << 20) + 10;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'x', n);
    memcpy(big, "a=1\nk=", 6);
    big[n] = 0;
    char err[256] = "";
    assert_int_equal(load_err(big, n, err, sizeof err), SL_ERR_CONFIG);
    assert_string_equal(err, "t.properties:2: line is too long (limit 1 MiB)");

    /* the limit counts the joined logical line */
    memcpy(big + 512 * 1024, "\\\n", 2);
    assert_int_equal(load_err(big, n, err, sizeof err), SL_ERR_CONFIG);
    assert_string_equal(err, "t.properties:2: line is too long (limit 1 MiB)");
    free(big);

    n = (16u << 20) + 1;
    big = malloc(n);
    assert_non_null(big);
    memset(big, '#', n);
    assert_int_equal(load_err(big, n, err, sizeof err), SL_ERR_CONFIG);
    assert_string_equal(err, "t.properties: file is too large (limit 16 MiB)");
    free(big);
}

static void test_empty_input(void **state)
{
    sl_conf_t *conf = load("", NULL);
    assert_int_equal(count_keys(conf), 0);
    assert_false(sl_conf_is_set(conf, "debezium.sink.type"));
    sl_conf_free(conf);
    conf = load("\n\n# only comments\n   \n", NULL);
    assert_int_equal(count_keys(conf), 0);
    sl_conf_free(conf);
}

static void test_load_file(void **state)
{
    char path[] = "/tmp/test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "debezium.source.database.port = 6000\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);

    sl_conf_t *conf = NULL;
    char err[256] = "";
    assert_int_equal(sl_conf_load(&conf, path, NULL, tables, N(tables), err, sizeof err), SL_OK);
    assert_int_equal(sl_conf_int(conf, "debezium.source.database.port"), 6000);
    char origin[64];
    snprintf(origin, sizeof origin, "%s:1", path);
    assert_string_equal(sl_conf_origin(conf, "debezium.source.database.port"), origin);

    /* the missing-key hint names the file */
    assert_int_equal(sl_conf_validate(conf, tables, N(tables), tables, N(tables), err, sizeof err),
                     SL_ERR_CONFIG);
    char want[256];
    snprintf(want, sizeof want,
             "debezium.source.database.hostname: required key is missing "
             "(add 'debezium.source.database.hostname=...' to %s)",
             path);
    assert_string_equal(err, want);
    sl_conf_free(conf);
    unlink(path);

    conf = (sl_conf_t *)1;
    assert_int_equal(sl_conf_load(&conf, "/nonexistent/app.properties", NULL, tables, N(tables),
                                  err, sizeof err),
                     SL_ERR_CONFIG);
    assert_null(conf);
    assert_string_equal(err, "could not open file \"/nonexistent/app.properties\": No such file or "
                             "directory");

    /* a NULL error buffer is allowed */
    assert_int_equal(
        sl_conf_load(&conf, "/nonexistent/app.properties", NULL, tables, N(tables), NULL, 0),
        SL_ERR_CONFIG);
}

/* ---------- environment ---------- */

static void test_env_overrides(void **state)
{
    char *envp[] = {
        "PATH=/usr/bin",
        "DEBEZIUM_SOURCE_DATABASE_PORT=6543",
        "DEBEZIUM_SOURCE_DATABASE_PASSWORD=s3cret=x",
        "DEBEZIUM_SINK_KAFKA_PRODUCER_BOOTSTRAP_SERVERS=k1:9092,k2:9092",
        "DEBEZIUM_SINK_KAFKA_PRODUCER_MAX_IN_FLIGHT=5",
        "SLUICE_TEST_DATA=/tmp/data",
        "DEBEZIUM_NOT_A_KEY=1",
        "debezium_source_database_port=1",
        "DEBEZIUM_SOURCE_SLOT_NAME=",
        NULL,
    };
    sl_conf_t *conf = load("debezium.source.database.port=5433\n"
                           "debezium.sink.kafka.producer.max-in-flight=1\n",
                           envp);
    assert_int_equal(sl_conf_int(conf, "debezium.source.database.port"), 6543);
    assert_string_equal(sl_conf_origin(conf, "debezium.source.database.port"), "environment");
    assert_string_equal(sl_conf_str(conf, "debezium.source.database.password"), "s3cret=x");
    assert_string_equal(get(conf, "debezium.sink.kafka.producer.bootstrap.servers"),
                        "k1:9092,k2:9092");
    assert_string_equal(sl_conf_origin(conf, "debezium.sink.kafka.producer.bootstrap.servers"),
                        "environment");
    /* a passthrough key set in the file is overridden under its own spelling */
    assert_string_equal(get(conf, "debezium.sink.kafka.producer.max-in-flight"), "5");
    assert_null(get(conf, "debezium.sink.kafka.producer.max.in.flight"));
    assert_true(sl_conf_is_set(conf, "debezium.source.slot.name"));
    assert_string_equal(sl_conf_str(conf, "debezium.source.slot.name"), "");
    assert_null(get(conf, "debezium.not.a.key"));
    assert_null(get(conf, "sluice.test.data"));
    assert_int_equal(count_keys(conf), 5);
    sl_conf_free(conf);

    /* environment only (no file) */
    char *envp2[] = {"DEBEZIUM_SINK_TYPE=kafka", NULL};
    char err[256] = "";
    assert_int_equal(sl_conf_load(&conf, NULL, envp2, tables, N(tables), err, sizeof err), SL_OK);
    assert_string_equal(sl_conf_str(conf, "debezium.sink.type"), "kafka");
    assert_int_equal(sl_conf_validate(conf, tables, N(tables), tables, N(tables), err, sizeof err),
                     SL_ERR_CONFIG);
    assert_string_equal(err, "debezium.source.database.hostname: required key is missing "
                             "(set DEBEZIUM_SOURCE_DATABASE_HOSTNAME in the environment)");
    sl_conf_free(conf);

    char *envp3[] = {"DEBEZIUM_SINK_TYPE=\xff", NULL};
    assert_int_equal(sl_conf_load(&conf, NULL, envp3, tables, N(tables), err, sizeof err),
                     SL_ERR_CONFIG);
    assert_string_equal(err, "environment variable DEBEZIUM_SINK_TYPE: invalid UTF-8 (byte 0xFF at "
                             "column 1)");
}

/* ---------- validation ---------- */

static void test_validate_ok(void **state)
{
    char err[256];
    assert_int_equal(validate(REQ
                              "debezium.source.database.port= 5433 \n"
                              "debezium.source.snapshot.mode=NEVER\n"
                              "debezium.source.tombstones.on.delete=False\n"
                              "debezium.source.table.include.list=public\\\\.a.*, s[0-9]+\\\\.b\n"
                              "debezium.source.heartbeat.interval.ms=-99999999999\n"
                              "debezium.source.max.queue.size=9223372036854775807\n"
                              "debezium.source.min.thing=-9223372036854775808\n"
                              "debezium.sink.kafka.producer.acks=all\n"
                              "debezium.sink.kafka.producer.sasl.jaas.config=x\n",
                              err, sizeof err),
                     SL_OK);
    assert_string_equal(err, "");
}

static void test_validate_messages(void **state)
{
    expect_invalid(REQ "debezium.source.slot.nmae=x\n",
                   "t.properties:3: unknown key 'debezium.source.slot.nmae' "
                   "(did you mean 'debezium.source.slot.name'?)");
    expect_invalid(REQ "totally.unrelated=1\n", "t.properties:3: unknown key 'totally.unrelated'");
    expect_invalid(REQ "debezium.sink.kafka.producer.=1\n",
                   "t.properties:3: unknown key 'debezium.sink.kafka.producer.'");
    expect_invalid(REQ "bad\\nkey=1\n", "t.properties:3: unknown key 'bad\\nkey'");

    expect_invalid(REQ "debezium.source.database.port=abc\n",
                   "t.properties:3: debezium.source.database.port: 'abc' is not an integer "
                   "(expected 1..65535)");
    expect_invalid(REQ "debezium.source.database.port=54 32\n",
                   "t.properties:3: debezium.source.database.port: '54 32' is not an integer "
                   "(expected 1..65535)");
    expect_invalid(REQ "debezium.source.database.port=5432x\n",
                   "t.properties:3: debezium.source.database.port: '5432x' is not an integer "
                   "(expected 1..65535)");
    expect_invalid(REQ "debezium.source.database.port=\n",
                   "t.properties:3: debezium.source.database.port: '' is not an integer "
                   "(expected 1..65535)");
    expect_invalid(REQ "debezium.source.database.port=0x10\n",
                   "t.properties:3: debezium.source.database.port: '0x10' is not an integer "
                   "(expected 1..65535)");
    expect_invalid(REQ "debezium.source.database.port=70000\n",
                   "t.properties:3: debezium.source.database.port: '70000' is out of range "
                   "(expected 1..65535)");
    expect_invalid(REQ "debezium.source.database.port=0\n",
                   "t.properties:3: debezium.source.database.port: '0' is out of range "
                   "(expected 1..65535)");
    expect_invalid(REQ "debezium.source.database.port=99999999999999999999\n",
                   "t.properties:3: debezium.source.database.port: '99999999999999999999' is out "
                   "of range (expected 1..65535)");
    expect_invalid(REQ "debezium.source.heartbeat.interval.ms=9223372036854775808\n",
                   "t.properties:3: debezium.source.heartbeat.interval.ms: "
                   "'9223372036854775808' is out of range (expected a 64-bit integer)");
    expect_invalid(REQ "debezium.source.heartbeat.interval.ms=1.5\n",
                   "t.properties:3: debezium.source.heartbeat.interval.ms: '1.5' is not an "
                   "integer");
    expect_invalid(REQ "debezium.source.max.queue.size=1\n",
                   "t.properties:3: debezium.source.max.queue.size: '1' is out of range "
                   "(expected 2 or more)");
    expect_invalid(REQ "debezium.source.min.thing=6\n",
                   "t.properties:3: debezium.source.min.thing: '6' is out of range "
                   "(expected at most 5)");

    expect_invalid(REQ "debezium.source.tombstones.on.delete=yes\n",
                   "t.properties:3: debezium.source.tombstones.on.delete: 'yes' is not a boolean "
                   "(expected true or false)");
    expect_invalid(REQ "debezium.source.tombstones.on.delete=1\n",
                   "t.properties:3: debezium.source.tombstones.on.delete: '1' is not a boolean "
                   "(expected true or false)");

    expect_invalid(REQ "debezium.source.snapshot.mode=sometimes\n",
                   "t.properties:3: debezium.source.snapshot.mode: 'sometimes' is not a valid "
                   "value (expected one of: initial, never, no_data)");
    expect_invalid(REQ "debezium.source.snapshot.mode=initial|never\n",
                   "t.properties:3: debezium.source.snapshot.mode: 'initial|never' is not a valid "
                   "value (expected one of: initial, never, no_data)");

    char want[512];
    snprintf(want, sizeof want,
             "t.properties:3: debezium.source.table.include.list: invalid regular expression "
             "'(unclosed': %s",
             regex_why("(unclosed"));
    expect_invalid(REQ "debezium.source.table.include.list=public.a, (unclosed\n", want);
    snprintf(want, sizeof want,
             "t.properties:3: debezium.source.table.include.list: invalid regular expression "
             "'a{2': %s",
             regex_why("a{2"));
    /* as in Debezium, a regular expression cannot contain a comma, escaped or not */
    expect_invalid(REQ "debezium.source.table.include.list=x, a{2\\,1}\n", want);

    /* patterns that would make regcomp() exhaust memory, time or stack */
    expect_invalid(REQ "debezium.source.table.include.list=ok, (a{1000}){1000}\n",
                   "t.properties:3: debezium.source.table.include.list: regular expression "
                   "'(a{1000}){1000}' is too complex");
    expect_invalid(REQ "debezium.source.table.include.list=x++++++++++++++++++++\n",
                   "t.properties:3: debezium.source.table.include.list: regular expression "
                   "'x++++++++++++++++++++' is too complex");
    char deep[256] = "", text[512];
    for (int k = 0; k < 65; k++)
        strcat(deep, "(");
    strcat(deep, "x");
    for (int k = 0; k < 65; k++)
        strcat(deep, ")");
    snprintf(text, sizeof text, REQ "debezium.source.table.include.list=%s\n", deep);
    snprintf(want, sizeof want,
             "t.properties:3: debezium.source.table.include.list: regular expression '%.80s...' "
             "is too complex",
             deep);
    expect_invalid(text, want);
    expect_invalid(REQ "debezium.source.table.include.list=((x*|y?)+){50}\n",
                   "t.properties:3: debezium.source.table.include.list: regular expression "
                   "'((x*|y?)+){50}' repeats a subexpression that can match the empty string");
    expect_invalid(REQ "debezium.source.table.include.list=a, x?+\n",
                   "t.properties:3: debezium.source.table.include.list: regular expression "
                   "'x?+' repeats a subexpression that can match the empty string");
    expect_invalid(REQ "debezium.source.secret.regex=(hunter2|)*\n",
                   "t.properties:3: debezium.source.secret.regex: regular expression repeats a "
                   "subexpression that can match the empty string");
    expect_invalid(REQ "debezium.source.secret.regex=hunter2{9999}{9999}\n",
                   "t.properties:3: debezium.source.secret.regex: regular expression is too "
                   "complex");
    assert_int_equal(validate(REQ "debezium.source.table.include.list=(a|b){100}, x{1000}, "
                                  "[[:alpha:]{]+, a\\\\{, (((((x)))))+, (x?){3000}, (_?[a-z]+)*, "
                                  "(ab|c)+x?\n",
                              want, sizeof want),
                     SL_OK);

    expect_invalid("debezium.sink.type=kafka\n",
                   "debezium.source.database.hostname: required key is missing "
                   "(add 'debezium.source.database.hostname=...' to t.properties)");
    expect_invalid("debezium.source.database.hostname=h\n",
                   "debezium.sink.type: required key is missing "
                   "(add 'debezium.sink.type=...' to t.properties)");

    /* the first problem in file order is reported */
    expect_invalid(REQ "debezium.source.database.port=x\ndebezium.source.slot.nmae=x\n",
                   "t.properties:3: debezium.source.database.port: 'x' is not an integer "
                   "(expected 1..65535)");

    /* the origin of a value from the environment */
    char *envp[] = {"DEBEZIUM_SOURCE_DATABASE_PORT=x", NULL};
    sl_conf_t *conf = load(REQ "debezium.source.database.port=1\n", envp);
    char err[256];
    assert_int_equal(sl_conf_validate(conf, tables, N(tables), tables, N(tables), err, sizeof err),
                     SL_ERR_CONFIG);
    assert_string_equal(err, "environment: debezium.source.database.port: 'x' is not an integer "
                             "(expected 1..65535)");
    sl_conf_free(conf);
}

static void test_validate_long_and_odd_values(void **state)
{
    char text[512];
    snprintf(text, sizeof text, REQ "debezium.source.snapshot.mode=%0100d\n", 7);
    char want[512];
    snprintf(want, sizeof want,
             "t.properties:3: debezium.source.snapshot.mode: '%080d...' is not a valid value "
             "(expected one of: initial, never, no_data)",
             0);
    expect_invalid(text, want);
    expect_invalid(REQ "debezium.source.snapshot.mode=a\\tb\\u0001\n",
                   "t.properties:3: debezium.source.snapshot.mode: 'a\\tb\\x01' is not a valid "
                   "value (expected one of: initial, never, no_data)");
}

static void test_only_active_tables_need_required_keys(void **state)
{
    sl_conf_t *conf = load("debezium.source.database.hostname=h\n", NULL);
    char err[256] = "";
    const sl_prop_table_t *const active[] = {&src_table};
    assert_int_equal(sl_conf_validate(conf, tables, N(tables), active, N(active), err, sizeof err),
                     SL_OK);
    sl_conf_free(conf);
}

static void test_secrets_never_leak(void **state)
{
    static const struct {
        const char *line, *msg;
    } cases[] = {
        {"debezium.source.secret.pin=hunter2",
         "t.properties:3: debezium.source.secret.pin: value is not an integer (expected 0..9999)"},
        {"debezium.source.secret.pin=10000hunter2",
         "t.properties:3: debezium.source.secret.pin: value is not an integer (expected 0..9999)"},
        {"debezium.source.secret.pin=12345",
         "t.properties:3: debezium.source.secret.pin: value is out of range (expected 0..9999)"},
        {"debezium.source.secret.mode=hunter2",
         "t.properties:3: debezium.source.secret.mode: value is not a valid value (expected one "
         "of: a, b)"},
        {"debezium.source.secret.regex=hunter2(", NULL},
        {"debezium.source.database.password=\\uD83Dhunter2",
         "t.properties:3: unpaired UTF-16 surrogate in \\uXXXX escape"},
        {"debezium.source.database.password=hunter2\\u00",
         "t.properties:3: malformed \\uXXXX escape (expected four hex digits)"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char text[256], err[512] = "";
        snprintf(text, sizeof text, REQ "%s\n", cases[i].line);
        sl_conf_t *conf = NULL;
        int rc = sl_conf_load_string(&conf, "t.properties", text, strlen(text), NULL, tables,
                                     N(tables), err, sizeof err);
        if (rc == SL_OK) {
            rc = sl_conf_validate(conf, tables, N(tables), tables, N(tables), err, sizeof err);
            sl_conf_free(conf);
        }
        assert_int_equal(rc, SL_ERR_CONFIG);
        if (cases[i].msg) {
            assert_string_equal(err, cases[i].msg);
        } else {
            char want[512];
            snprintf(want, sizeof want,
                     "t.properties:3: debezium.source.secret.regex: invalid regular expression: %s",
                     regex_why("hunter2("));
            assert_string_equal(err, want);
        }
        assert_null(strstr(err, "hunter2"));
    }
}

/* Runs fn with file descriptor 2 pointed at a temporary file; returns what was written. */
static char *capture_stderr(void (*fn)(void *), void *ud)
{
    char path[] = "/tmp/test_config_log_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fd, 2) >= 0);
    fn(ud);
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    off_t len = lseek(fd, 0, SEEK_END);
    char *out = calloc(1, (size_t)len + 1);
    assert_non_null(out);
    assert_int_equal(pread(fd, out, (size_t)len, 0), len);
    close(fd);
    return out;
}

static void validate_twice(void *ud)
{
    sl_conf_t *conf = ud;
    char err[256] = "";
    assert_int_equal(sl_conf_validate(conf, tables, N(tables), tables, N(tables), err, sizeof err),
                     SL_OK);
    assert_int_equal(sl_conf_validate(conf, tables, N(tables), tables, N(tables), err, sizeof err),
                     SL_OK);
}

static int count_substr(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_ignored_keys_warn_once(void **state)
{
    sl_conf_t *conf = load(REQ "debezium.source.name=inventory\nquarkus.log.level=INFO\n", NULL);
    char *log = capture_stderr(validate_twice, conf);
    assert_int_equal(count_substr(log, "WARN  debezium.source.name is accepted for Debezium "
                                       "compatibility and has no effect\n"),
                     1);
    assert_int_equal(count_substr(log, "WARN  quarkus.log.level is accepted for Debezium "
                                       "compatibility and has no effect\n"),
                     1);
    assert_int_equal(count_substr(log, "\n"), 2);
    free(log);
    sl_conf_free(conf);
}

/* ---------- hints ---------- */

static void test_nearest_key(void **state)
{
    static const struct {
        const char *key, *want;
    } cases[] = {
        {"debezium.source.slot.nmae", "debezium.source.slot.name"},
        {"debezium.source.slot.names", "debezium.source.slot.name"},
        {"debezium.source.databse.port", "debezium.source.database.port"},
        {"debezium.source.database.usr", NULL}, /* no 'user' key in the test table */
        {"debezium.source.database.pasword", "debezium.source.database.password"},
        {"DEBEZIUM.SOURCE.SLOT.NAME", "debezium.source.slot.name"},
        {"database.hostname", "debezium.source.database.hostname"},
        {"source.database.hostname", "debezium.source.database.hostname"},
        {"debezium.sink.database.hostname", "debezium.source.database.hostname"},
        {"debezium.database.hostname", "debezium.source.database.hostname"},
        {"debezium.sink.typ", "debezium.sink.type"},
        {"debezium.sink.kafka.producr.acks", "debezium.sink.kafka.producer.*"},
        {"quarkus", NULL},
        {"debezium.source.foo", NULL},
        {"debezium.sink.foo.name", NULL},
        {"totally.unrelated", NULL},
        {"x", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < N(cases); i++) {
        const char *got = sl_conf_nearest_key(cases[i].key, tables, N(tables));
        if (!cases[i].want && got)
            fail_msg("%s: expected no hint, got %s", cases[i].key, got);
        if (cases[i].want && (!got || strcmp(got, cases[i].want) != 0))
            fail_msg("%s: expected %s, got %s", cases[i].key, cases[i].want, got ? got : "(none)");
    }
    char longkey[600];
    memset(longkey, 'a', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = 0;
    assert_null(sl_conf_nearest_key(longkey, tables, N(tables)));
}

/* ---------- getters ---------- */

static void test_getters(void **state)
{
    sl_conf_t *conf = load("debezium.source.database.port= 6000 \n"
                           "debezium.source.snapshot.mode=No_Data\n"
                           "debezium.source.tombstones.on.delete=FALSE\n"
                           "debezium.sink.kafka.producer.acks=all\n"
                           "debezium.sink.kafka.producer.linger.ms=5\n"
                           "debezium.sink.type=kafka\n",
                           NULL);
    assert_int_equal(sl_conf_int(conf, "debezium.source.database.port"), 6000);
    assert_int_equal(sl_conf_enum(conf, "debezium.source.snapshot.mode"), 2);
    assert_false(sl_conf_bool(conf, "debezium.source.tombstones.on.delete"));
    assert_true(sl_conf_is_set(conf, "debezium.source.snapshot.mode"));

    /* defaults */
    assert_string_equal(sl_conf_str(conf, "debezium.source.slot.name"), "debezium");
    assert_false(sl_conf_is_set(conf, "debezium.source.slot.name"));
    assert_string_equal(sl_conf_origin(conf, "debezium.source.slot.name"), "default");
    assert_int_equal(sl_conf_int(conf, "debezium.source.max.queue.size"), 8192);
    assert_null(sl_conf_str(conf, "debezium.source.database.hostname"));
    assert_int_equal(sl_conf_int(conf, "debezium.source.secret.pin"), 0);
    assert_string_equal(sl_conf_str(conf, "debezium.sink.kafka.producer.acks"), "all");
    assert_null(sl_conf_str(conf, "debezium.sink.kafka.producer.retries"));
    sl_conf_free(conf);

    conf = load("", NULL);
    assert_int_equal(sl_conf_enum(conf, "debezium.source.snapshot.mode"), 0);
    assert_true(sl_conf_bool(conf, "debezium.source.tombstones.on.delete"));
    assert_int_equal(sl_conf_int(conf, "debezium.source.database.port"), 5432);
    assert_int_equal(sl_conf_enum(conf, "debezium.source.secret.mode"), -1);
    sl_conf_free(conf);
}

struct collected {
    char buf[256];
};

static void collect_cb(void *ud, const char *subkey, const char *value)
{
    struct collected *c = ud;
    size_t n = strlen(c->buf);
    snprintf(c->buf + n, sizeof c->buf - n, "%s=%s;", subkey, value);
}

static void test_foreach_prefix(void **state)
{
    sl_conf_t *conf = load("debezium.sink.kafka.producer.bootstrap.servers=k:9092\n"
                           "debezium.sink.type=kafka\n"
                           "debezium.sink.kafka.producer.acks=all\n"
                           "debezium.sink.kafka.producerx=1\n",
                           NULL);
    struct collected c = {""};
    sl_conf_foreach_prefix(conf, "debezium.sink.kafka.producer.", collect_cb, &c);
    assert_string_equal(c.buf, "bootstrap.servers=k:9092;acks=all;");
    sl_conf_free(conf);
}

static void test_lists(void **state)
{
    sl_conf_t *conf = load("debezium.source.column.exclude.list= a , b,,c ,\t, \n"
                           "debezium.source.table.include.list=public\\\\.x{1,2}\n",
                           NULL);
    char **l = sl_conf_list(conf, "debezium.source.column.exclude.list");
    assert_non_null(l);
    assert_string_equal(l[0], "a");
    assert_string_equal(l[1], "b");
    assert_string_equal(l[2], "c");
    assert_null(l[3]);
    sl_conf_list_free(l);

    /* Debezium splits regex lists on commas too */
    l = sl_conf_list(conf, "debezium.source.table.include.list");
    assert_non_null(l);
    assert_string_equal(l[0], "public\\.x{1");
    assert_string_equal(l[1], "2}");
    assert_null(l[2]);
    sl_conf_list_free(l);
    sl_conf_free(conf);

    conf = load("debezium.source.column.exclude.list=\n", NULL);
    l = sl_conf_list(conf, "debezium.source.column.exclude.list");
    assert_non_null(l);
    assert_null(l[0]);
    sl_conf_list_free(l);
    sl_conf_free(conf);

    conf = load("", NULL);
    assert_null(sl_conf_list(conf, "debezium.source.column.exclude.list"));
    l = sl_conf_list(conf, "debezium.source.slot.name");
    assert_non_null(l);
    assert_string_equal(l[0], "debezium");
    assert_null(l[1]);
    sl_conf_list_free(l);
    sl_conf_list_free(NULL);
    sl_conf_free(conf);
}

/* ---------- markdown ---------- */

static void test_markdown(void **state)
{
    static const sl_prop_def_t defs[] = {
        {"demo.host", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED, "Host to connect to."},
        {"demo.port", SL_PT_INT, "5432", NULL, 1, 65535, 0, "Port."},
        {"demo.password", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_SECRET | SL_PF_REQUIRED,
         "Password."},
        {"demo.mode", SL_PT_ENUM, "a", "a|b_c", 0, 0, 0, "Mode, a | b."},
        {"demo.flag", SL_PT_BOOL, "false", NULL, 0, 0, 0, NULL},
        {"demo.tables", SL_PT_REGEX_LIST, "", NULL, 0, 0, 0, "Tables."},
        {"demo.name", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_IGNORED, "Unused."},
        {"demo.extra.*", SL_PT_PASSTHROUGH, NULL, NULL, 0, 0, 0, "Extras."},
    };
    static const sl_prop_table_t demo = {"demo", "Demo module", defs, N(defs)};
    static const sl_prop_table_t empty = {"empty", NULL, NULL, 0};
    const sl_prop_table_t *const md_tables[] = {&demo, &empty};

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    sl_conf_write_markdown(f, md_tables, N(md_tables));
    assert_int_equal(fclose(f), 0);
    const char *want =
        "# sluice configuration\n"
        "\n"
        "<!-- generated by `sluice --config-doc`; do not edit by hand -->\n"
        "\n"
        "This file is generated by `sluice --config-doc` from the property tables in the source "
        "code; do not edit it by hand.\n"
        "\n"
        "Settings are read from a Java-style properties file that uses Debezium Server's key "
        "names. Every key can be overridden by an environment variable: upper-case the key and "
        "replace each character that is not a letter or digit with `_` "
        "(`DEBEZIUM_SOURCE_DATABASE_PASSWORD` sets `debezium.source.database.password`).\n"
        "\n"
        "## Demo module\n"
        "\n"
        "| key | type | default | description |\n"
        "|---|---|---|---|\n"
        "| `demo.host` | string |  | *required.* Host to connect to. |\n"
        "| `demo.port` | int (1..65535) | `5432` | Port. |\n"
        "| `demo.password` | string |  | *required, secret.* Password. |\n"
        "| `demo.mode` | one of: `a`, `b_c` | `a` | Mode, a \\| b. |\n"
        "| `demo.flag` | bool | `false` |  |\n"
        "| `demo.tables` | list of regular expressions | (empty) | Tables. |\n"
        "| `demo.name` | string |  | *ignored (Debezium compatibility).* Unused. |\n"
        "| `demo.extra.*` | any key under this prefix |  | Extras. |\n"
        "\n"
        "## empty\n"
        "\n"
        "No keys.\n";
    assert_string_equal(text, want);

    /* deterministic */
    char *again = NULL;
    size_t again_len = 0;
    f = open_memstream(&again, &again_len);
    assert_non_null(f);
    sl_conf_write_markdown(f, md_tables, N(md_tables));
    assert_int_equal(fclose(f), 0);
    assert_string_equal(text, again);
    free(again);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_separators),
        cmocka_unit_test(test_comments_and_blank_lines),
        cmocka_unit_test(test_continuations),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_escape_errors),
        cmocka_unit_test(test_bom_and_crlf),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_env_overrides),
        cmocka_unit_test(test_validate_ok),
        cmocka_unit_test(test_validate_messages),
        cmocka_unit_test(test_validate_long_and_odd_values),
        cmocka_unit_test(test_only_active_tables_need_required_keys),
        cmocka_unit_test(test_secrets_never_leak),
        cmocka_unit_test(test_ignored_keys_warn_once),
        cmocka_unit_test(test_nearest_key),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_foreach_prefix),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_markdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
