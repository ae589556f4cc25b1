/*
 * json.h — the streaming JSON writer used on the hot path (event encoding).
 *
 * It appends to an sl_buf_t; allocation failures are sticky in the buffer (see
 * buf.h), so these functions return nothing. Output is compact JSON (no spaces),
 * as Kafka Connect's JsonConverter writes it.
 *
 * Strings: input bytes are expected to be UTF-8. Control characters, '"' and '\\'
 * are escaped (\n \r \t \b \f and \u00XX for the rest); valid multi-byte UTF-8
 * (including 4-byte sequences) is copied as is; each byte of an invalid UTF-8
 * sequence becomes U+FFFD, so the output is always valid JSON and valid UTF-8.
 */
#ifndef SL_JSON_H
#define SL_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* "..." with escaping. */
void sl_json_str(sl_buf_t *b, const char *s, size_t n);
static inline void sl_json_strz(sl_buf_t *b, const char *s) { sl_json_str(b, s, strlen(s)); }
/* The escaped body of a string without the surrounding quotes. */
void sl_json_str_body(sl_buf_t *b, const char *s, size_t n);
void sl_json_i64(sl_buf_t *b, int64_t v);
void sl_json_u64(sl_buf_t *b, uint64_t v);
/* Debezium's time triple (ts_ms, ts_us, ts_ns) from one reading in microseconds, with the
 * number formatted once: the millisecond text is the microsecond text without its last
 * three digits, the nanosecond text is it with "000" after. */
typedef struct sl_ts3 {
    int64_t t;
    char text[24]; /* t's digits (and sign) when |t| >= 1000 */
    uint8_t n;     /* 0: |t| < 1000, formatted the plain way */
} sl_ts3_t;
void sl_ts3_init(sl_ts3_t *x, int64_t t_us);
void sl_ts3_ms(sl_buf_t *b, const sl_ts3_t *x); /* t / 1000 */
void sl_ts3_us(sl_buf_t *b, const sl_ts3_t *x); /* t */
void sl_ts3_ns(sl_buf_t *b, const sl_ts3_t *x); /* t * 1000 */
/* Shortest text that reads back as the same double; NaN and ±Infinity are written as
 * the strings "NaN", "Infinity", "-Infinity" (Jackson's default). */
void sl_json_f64(sl_buf_t *b, double v);
/* Same for a float32 value: shortest text that reads back as the same float. */
void sl_json_f32(sl_buf_t *b, float v);
void sl_json_bool(sl_buf_t *b, int v);
void sl_json_null(sl_buf_t *b);
/* "<base64>" (standard alphabet, with padding), as JsonConverter writes bytes. */
void sl_json_base64(sl_buf_t *b, const uint8_t *p, size_t n);

#endif
