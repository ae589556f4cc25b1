/*
 * fuzz_props.c — libFuzzer target for the properties parser and validator.
 *
 * What: feeds arbitrary bytes to sl_conf_load_string() as a properties file,
 * with a fixed environment, validates the result against a small table that
 * has one key of every type and flag, reads every key back through the getters
 * and frees everything. Any crash, leak, sanitizer report or getter failure after
 * a successful validation is a bug.
 *
 * Invariants checked:
 *  1. a load error or validation error always leaves a non-empty message that
 *     never contains the secret value "hunter2-secret" planted in the
 *     environment (checked only when the input cannot spell it itself: no
 *     "hunter2", also not once line continuations and escapes are folded, and no
 *     "\u" escape in it);
 *  2. after a successful validation the typed getters return values within the
 *     table's limits.
 *
 * Build: clang -g -fsanitize=fuzzer,address,undefined -Isrc src/core/buf.c
 *        src/core/log.c src/core/err.c src/core/config.c tests/fuzz/fuzz_props.c
 * Seeds: tests/fuzz/corpus/props/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const sl_prop_def_t defs[] = {
    {"debezium.source.database.hostname", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED, "Host."},
    {"debezium.source.database.port", SL_PT_INT, "5432", NULL, 1, 65535, 0, "Port."},
    {"debezium.source.database.password", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_SECRET, "Pw."},
    {"debezium.source.secret.pin", SL_PT_INT, NULL, NULL, 0, 9999, SL_PF_SECRET, "Pin."},
    {"debezium.source.heartbeat.interval.ms", SL_PT_INT, "0", NULL, 0, 0, 0, "Heartbeat."},
    {"debezium.source.snapshot.mode", SL_PT_ENUM, "initial", "initial|never|no_data", 0, 0, 0,
     "Mode."},
    {"debezium.source.tombstones.on.delete", SL_PT_BOOL, "true", NULL, 0, 0, 0, "Tombstones."},
    {"debezium.source.table.include.list", SL_PT_REGEX_LIST, NULL, NULL, 0, 0, 0, "Tables."},
    {"debezium.source.column.exclude.list", SL_PT_LIST, NULL, NULL, 0, 0, 0, "Columns."},
    {"debezium.source.name", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_IGNORED, "Ignored."},
    {"debezium.sink.kafka.producer.*", SL_PT_PASSTHROUGH, NULL, NULL, 0, 0, 0, "Producer."},
};
static const sl_prop_table_t table = {"fuzz", "Fuzz", defs, N(defs)};
static const sl_prop_table_t *const tables[] = {&table};

static void count_cb(void *ud, const char *subkey, const char *value)
{
    size_t *n = ud;
    *n += strlen(subkey) + strlen(value);
}

static bool contains(const uint8_t *data, size_t size, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(data + i, needle, n) == 0)
            return true;
    return false;
}

/* The input as the properties reader joins it: a line continuation (backslash, line
 * break, the next line's leading blanks) removed, and the backslash of any other escape
 * dropped, so that a key or value spelled across them ("hunte\<newline>r2") is seen. */
static size_t fold(const uint8_t *data, size_t size, uint8_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < size; i++) {
        if (data[i] != '\\' || i + 1 == size) {
            out[n++] = data[i];
            continue;
        }
        i++;
        if (data[i] == '\n' || data[i] == '\r') {
            if (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n')
                i++;
            while (i + 1 < size && (data[i + 1] == ' ' || data[i + 1] == '\t' || data[i + 1] == '\f'))
                i++;
            continue;
        }
        out[n++] = data[i];
    }
    return n;
}

/* Does err show the planted secret, when the input could not have put it there? */
static bool leaks(const char *err, const uint8_t *data, size_t size)
{
    if (contains(data, size, "hunter2") || contains(data, size, "\\u"))
        return false;
    uint8_t *folded = malloc(size ? size : 1);
    if (!folded)
        return false;
    bool spelled = contains(folded, fold(data, size, folded), "hunter2");
    free(folded);
    return !spelled && strstr(err, "hunter2-secret") != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char env0[] = "DEBEZIUM_SOURCE_DATABASE_PASSWORD=hunter2-secret";
    static char env1[] = "DEBEZIUM_SINK_KAFKA_PRODUCER_ACKS=all";
    static char env2[] = "SLUICE_UNRELATED=1";
    char *envp[] = {env0, env1, env2, NULL};
    sl_log_set_level(SL_LOG_ERROR); /* ignored-key warnings would flood the output */

    sl_conf_t *conf = NULL;
    char err[512] = "";
    int rc = sl_conf_load_string(&conf, "fuzz.properties", (const char *)data, size, envp, tables,
                                 N(tables), err, sizeof err);
    if (rc != SL_OK) {
        if (conf != NULL || err[0] == 0 || leaks(err, data, size))
            abort();
        return 0;
    }
    err[0] = 0;
    rc = sl_conf_validate(conf, tables, N(tables), tables, N(tables), err, sizeof err);
    if (rc != SL_OK && (err[0] == 0 || leaks(err, data, size)))
        abort();
    if (rc == SL_OK) {
        int64_t port = sl_conf_int(conf, "debezium.source.database.port");
        if (port < 1 || port > 65535)
            abort();
        int mode = sl_conf_enum(conf, "debezium.source.snapshot.mode");
        if (mode < 0 || mode > 2)
            abort();
        (void)sl_conf_bool(conf, "debezium.source.tombstones.on.delete");
        (void)sl_conf_int(conf, "debezium.source.heartbeat.interval.ms");
        if (!sl_conf_str(conf, "debezium.source.database.hostname"))
            abort();
        char **l = sl_conf_list(conf, "debezium.source.table.include.list");
        sl_conf_list_free(l);
        l = sl_conf_list(conf, "debezium.source.column.exclude.list");
        sl_conf_list_free(l);
    }
    size_t n = 0;
    sl_conf_foreach_prefix(conf, "", count_cb, &n);
    (void)sl_conf_origin(conf, "debezium.source.database.port");
    sl_conf_free(conf);
    return 0;
}
