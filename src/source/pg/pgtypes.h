/*
 * pgtypes.h — PostgreSQL values (text form) to Debezium JSON, and their schemas.
 *
 * pgoutput (text mode) and COPY ... TO STDOUT both deliver each column value in
 * PostgreSQL's text output form. A converter (sl_pgconv_t) is resolved once per
 * column (type OID + typmod) and then renders, for every row, the value as the
 * JSON that Debezium's PostgreSQL connector would produce with its default type
 * mapping (decimal.handling.mode, time.precision.mode=adaptive,
 * binary.handling.mode=bytes, interval.handling.mode=numeric), and, once per
 * relation, the field schema for the `schema` part of the event.
 *
 * Because snapshot (COPY) and streaming (pgoutput) go through the same
 * converter, the same row gives the same JSON both ways.
 *
 * Types that are not builtin (domains, enums, arrays of them, extension types)
 * are resolved through a lookup callback that reads pg_type; domains map as
 * their base type, enums as io.debezium.data.Enum, arrays element-wise, and
 * anything unknown as its text form (a string) with the type name in the
 * schema's parameters -- never a silent NULL.
 *
 * Requirements on the caller's session (both the replication connection and the
 * snapshot connection), because the text forms depend on them:
 *   DateStyle=ISO          dates/timestamps as "2024-01-02 03:04:05.123456+00", " BC"
 *   TimeZone=UTC           (other offsets are parsed too, but keep the output stable)
 *   IntervalStyle=iso_8601 intervals as "P1Y2M3DT4H5M6.7S" ("postgres" style is also
 *                          understood; sql_standard and postgres_verbose are not)
 *   bytea_output=hex       bytea as "\x0a1b..." (the escape format is rejected)
 *   lc_monetary=C          money as "$1,234.56" / "-$1,234.56"
 *   extra_float_digits>=1  shortest exact float output (PostgreSQL 12+ default; set 3
 *                          on older servers, otherwise floats arrive already rounded)
 *
 * Thread-safety: a converter is immutable after sl_pgconv_new() and may be used
 * from any thread.
 */
#ifndef SL_PGTYPES_H
#define SL_PGTYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum { SL_DECIMAL_PRECISE = 0, SL_DECIMAL_STRING = 1, SL_DECIMAL_DOUBLE = 2 };

typedef struct sl_pgtype_opts {
    int decimal_mode; /* SL_DECIMAL_* */
} sl_pgtype_opts_t;

/* One row of pg_type, as the lookup callback returns it. */
typedef struct sl_pgtype_info {
    uint32_t oid;
    char name[64];        /* typname, e.g. "int4", "_text", "mood" */
    char typtype;         /* 'b' base, 'd' domain, 'e' enum, 'c' composite, 'r' range, 'm' multirange, 'p' pseudo */
    char category;        /* typcategory: 'A' array, 'N' numeric, 'S' string, ... */
    uint32_t elem_oid;    /* typelem for arrays, else 0 */
    uint32_t base_oid;    /* typbasetype for domains, else 0 */
    int32_t base_typmod;  /* typtypmod for domains, else -1 */
    char *enum_labels;    /* enums: labels in sort order joined by ',' (malloc'd, owned by the
                             info; sl_pgconv_new, which calls the lookup, frees it), else NULL */
} sl_pgtype_info_t;

/* Fills `out` for `oid` (all fields; enum_labels malloc'd or NULL). Returns SL_OK,
 * or an error (the converter creation then fails with it). Builtin OIDs the module
 * knows by number are not looked up. */
typedef int (*sl_pgtype_lookup_fn)(void *ud, uint32_t oid, sl_pgtype_info_t *out);

typedef struct sl_pgconv sl_pgconv_t;

/* Resolves the converter for a column of type `oid` with `typmod` (-1 = none).
 * `lookup` may be NULL when only builtin types are expected (unknown OIDs then
 * become text with name "oid:<n>"). */
SL_WUR int sl_pgconv_new(sl_pgconv_t **out, uint32_t oid, int32_t typmod,
                         sl_pgtype_lookup_fn lookup, void *ud, const sl_pgtype_opts_t *opts,
                         char *errstr, size_t errstr_size);
void sl_pgconv_free(sl_pgconv_t *conv);

/* Appends this column's field schema, e.g.
 *   {"type":"int32","optional":false,"field":"id"}
 *   {"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,
 *    "parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"price"}
 * `field` is the column name (escaped here). */
void sl_pgconv_schema(const sl_pgconv_t *conv, sl_buf_t *out, const char *field, bool optional);

/* Appends the JSON value for one value in text form (`len` bytes, not NUL-terminated).
 * Returns SL_OK, or SL_ERR_PROTO if the text is not a valid value of the type, or
 * SL_ERR_UNSUPPORTED for a numeric NaN/Infinity with decimal_mode SL_DECIMAL_PRECISE
 * (Debezium stops the connector there and tells the user to set
 * decimal.handling.mode=string), or SL_ERR_NOMEM (rare oversized values need scratch
 * memory). On error nothing is appended. */
SL_WUR int sl_pgconv_value(const sl_pgconv_t *conv, sl_buf_t *out, const char *text, size_t len);

/* Appends the value Debezium uses for an unchanged TOASTed column:
 * "__debezium_unavailable_value" (for bytes: the base64 of those bytes; for arrays:
 * a one-element array holding the placeholder), per Debezium's documented behaviour. */
void sl_pgconv_unavailable(const sl_pgconv_t *conv, sl_buf_t *out);

/* The Debezium placeholder text. */
#define SL_UNAVAILABLE_VALUE "__debezium_unavailable_value"

#endif
