/*
 * jdbc.h — shared between the jdbc sink's files: Kafka Connect schema -> target column
 * type, and event value (Debezium JSON) -> the target's text input form.
 *
 * All functions run on the pipeline thread and keep no state. Inputs are jansson
 * values owned by the caller.
 */
#ifndef SL_JDBC_H
#define SL_JDBC_H

#include <jansson.h>
#include <stdbool.h>

#include "core/buf.h"

/* Debezium's unchanged-TOAST placeholder (UnchangedToastedPlaceholder). */
#define JDBC_UNAVAILABLE "__debezium_unavailable_value"

/* PostgreSQL column type for a Connect field schema ({"type":..,"name":..,"parameters":..}),
 * appended to `out` ("numeric(10,2)", "timestamptz", "text[]"). Returns false for a schema
 * that has no column form here (struct, map); `out` is then unchanged. */
bool jdbc_pg_type(const json_t *schema, sl_buf_t *out);

/* Renders `v` (a payload value described by `schema`) as the text PostgreSQL parses for
 * the column type jdbc_pg_type() chose. Returns 0 and sets *is_null for JSON null;
 * -1 with a message in errbuf when the value does not fit its schema. */
int jdbc_pg_value(const json_t *schema, const json_t *v, sl_buf_t *out, bool *is_null,
                  char *errbuf, size_t errbuf_size);

/* True when `v` is Debezium's unchanged-TOAST placeholder in any of its shapes (string,
 * base64 bytes, one-element array, array of the placeholder's byte values). */
bool jdbc_is_unavailable(const json_t *v);

#endif
