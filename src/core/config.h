/*
 * config.h — properties files, property tables and typed access to settings.
 *
 * A configuration is a Java-style properties file (Debezium Server's key names)
 * plus environment overrides. Each module (core, every source, every sink) owns
 * one property table (sl_prop_table_t) that lists its keys with type, default,
 * limits and documentation; the same tables drive validation, `--help` and the
 * generated CONFIGURATION.md, as librdkafka's one property table does.
 *
 * Lifecycle: sl_conf_load() reads the file and the environment; sl_conf_validate()
 * checks every key against the registered tables (unknown keys get the nearest
 * known key as a hint; values are type-checked; required keys of active modules
 * must be present). After a successful validation the getters cannot fail: they
 * return the value or the table's default.
 *
 * Errors are written into errstr as one line:
 *   "app.properties:12: unknown key 'debezium.source.slot.nmae' (did you mean 'debezium.source.slot.name'?)"
 *   "app.properties:7: debezium.source.database.port: 'abc' is not an integer (expected 1..65535)"
 *   "debezium.source.database.hostname: required key is missing (add 'debezium.source.database.hostname=...' to app.properties)"
 * Values of SL_PF_SECRET keys never appear in any message.
 *
 * Thread-safety: load and validate on one thread; afterwards the object is
 * read-only and may be read from any thread.
 */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "core/err.h"

typedef enum sl_prop_type {
    SL_PT_STRING,      /* any text */
    SL_PT_INT,         /* integer within [min, max] */
    SL_PT_BOOL,        /* true | false (case-insensitive) */
    SL_PT_ENUM,        /* one of `choices` ("a|b|c"), case-insensitive */
    SL_PT_LIST,        /* comma-separated list of strings */
    SL_PT_REGEX_LIST,  /* comma-separated list of POSIX extended regular expressions (each must compile) */
    SL_PT_PASSTHROUGH  /* key ends in ".*": any key under that prefix, value passed on as is */
} sl_prop_type_t;

enum {
    SL_PF_REQUIRED = 1u << 0, /* must be set when the module is active */
    SL_PF_SECRET = 1u << 1,   /* never logged or printed */
    SL_PF_IGNORED = 1u << 2   /* accepted for Debezium compatibility, has no effect (warned once) */
};

typedef struct sl_prop_def {
    const char *key;     /* full key, e.g. "debezium.source.slot.name"; PASSTHROUGH keys end in ".*" */
    sl_prop_type_t type;
    const char *def;     /* default as text, NULL = none */
    const char *choices; /* SL_PT_ENUM: "a|b|c" */
    int64_t min, max;    /* SL_PT_INT bounds (inclusive); min == max == 0 means unbounded */
    unsigned flags;      /* SL_PF_* */
    const char *doc;     /* one or two sentences for CONFIGURATION.md */
} sl_prop_def_t;

typedef struct sl_prop_table {
    const char *module; /* "core", "source.postgres", "sink.file" ... */
    const char *title;  /* section heading in CONFIGURATION.md */
    const sl_prop_def_t *defs;
    size_t n;
} sl_prop_table_t;

typedef struct sl_conf sl_conf_t;

/* Reads `path` (NULL: no file, environment only) and overrides from `envp` (may be NULL).
 * Environment variables DEBEZIUM_* and SLUICE_* override the key whose name, upper-cased
 * with every non-alphanumeric character replaced by '_', equals the variable's name
 * (DEBEZIUM_SOURCE_DATABASE_PASSWORD -> debezium.source.database.password); names that
 * match no known key fall under a PASSTHROUGH prefix when one matches (rest lower-cased,
 * '_' -> '.'), else are ignored. Returns SL_ERR_CONFIG (syntax, unreadable file) or
 * SL_ERR_NOMEM. `tables` are the known tables (used to map environment names). */
SL_WUR int sl_conf_load(sl_conf_t **out, const char *path, char *const *envp,
                        const sl_prop_table_t *const *tables, size_t ntables, char *errstr,
                        size_t errstr_size);
/* Same, from a string (tests, fuzzing); `name` is used as the file name in messages. */
SL_WUR int sl_conf_load_string(sl_conf_t **out, const char *name, const char *text, size_t len,
                               char *const *envp, const sl_prop_table_t *const *tables,
                               size_t ntables, char *errstr, size_t errstr_size);
void sl_conf_free(sl_conf_t *conf);

/* Checks that every key set is known to one of `tables` and well-typed, and that the
 * required keys of the `active` tables are present. Returns SL_OK or SL_ERR_CONFIG with
 * the first problem in errstr. Warns (log) once per SL_PF_IGNORED key that is set. */
SL_WUR int sl_conf_validate(const sl_conf_t *conf, const sl_prop_table_t *const *tables,
                            size_t ntables, const sl_prop_table_t *const *active, size_t nactive,
                            char *errstr, size_t errstr_size);

/* Puts the `active` tables (the configured source's and sink's) first, so that getters
 * resolve a key both sources define (database.port) to the active source's entry: its
 * default and choices. Call once the connector class is known, before any getter. */
void sl_conf_set_active(sl_conf_t *conf, const sl_prop_table_t *const *active, size_t nactive);

/* Getters: value set in file/environment, else the default of the key's table entry,
 * else NULL / 0 / false. Keys must be in a registered table (asserted in debug builds). */
const char *sl_conf_str(const sl_conf_t *conf, const char *key);
int64_t sl_conf_int(const sl_conf_t *conf, const char *key);
bool sl_conf_bool(const sl_conf_t *conf, const char *key);
/* Index of the value in the key's `choices` (0-based). */
int sl_conf_enum(const sl_conf_t *conf, const char *key);
bool sl_conf_is_set(const sl_conf_t *conf, const char *key);
/* "file:line" where the key was set ("environment" for overrides, "default" if unset). */
const char *sl_conf_origin(const sl_conf_t *conf, const char *key);
/* Keys a and b go together (a client certificate and its key): SL_OK when both or neither
 * are set; else SL_ERR_CONFIG with "<file:line>: <set> is set without <other>; <why>". */
int sl_conf_pair(const sl_conf_t *conf, const char *a, const char *b, const char *why,
                 char *errstr, size_t errstr_size);
#define SL_CLIENT_CERT_WHY "a client certificate needs both the certificate and its private key"
/* Iterates keys set under `prefix` (e.g. "debezium.sink.kafka.producer."): calls fn with the
 * key's remainder after the prefix and its value. */
void sl_conf_foreach_prefix(const sl_conf_t *conf, const char *prefix,
                            void (*fn)(void *ud, const char *subkey, const char *value), void *ud);

/* A comma-separated list value split into a NULL-terminated array (trimmed, empty items
 * dropped). Free with sl_conf_list_free(). NULL when the key is unset and has no default. */
char **sl_conf_list(const sl_conf_t *conf, const char *key);
void sl_conf_list_free(char **list);

/* Writes CONFIGURATION.md (markdown) for `tables` to `out`. */
void sl_conf_write_markdown(FILE *out, const sl_prop_table_t *const *tables, size_t ntables);

/* Why an extended regular expression is unsafe to compile (glibc's regcomp blows up on
 * some: see config.c), e.g. "is too complex"; NULL when it is fine. */
const char *sl_regex_problem(const char *pattern);

/* Levenshtein-nearest key among `tables` to `key`, or NULL if nothing is reasonably close. */
const char *sl_conf_nearest_key(const char *key, const sl_prop_table_t *const *tables,
                                size_t ntables);

#endif
