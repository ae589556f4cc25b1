/*
 * jscan.h — a JSON reader for the hot path: one pass over the text into a flat array of
 * tokens, no allocation per value (the array is reused from one document to the next).
 *
 * Sinks that read events back (the jdbc sink reads every row it applies) used a DOM
 * library that allocated a node and a hash table per value; for a 20-field row that was
 * most of the sink's CPU. Here a document is an array of tokens in text order: a
 * container token is followed by its children (an object's as key, value, key, value),
 * and every token knows the index just past its subtree (`next`), so siblings are one
 * step apart and a lookup by key is a walk over the object's keys.
 *
 * Invariants:
 *  1. The text is validated as JSON (RFC 8259 grammar, escapes included) while it is
 *     scanned: a malformed document is SL_ERR_PROTO, never a crash or a read past `len`.
 *  2. Tokens point into the caller's text, which must outlive the document's use;
 *     strings are unescaped only when asked for (sl_jdoc_str), into a caller's buffer.
 *  3. Nesting deeper than SL_JSCAN_MAX_DEPTH is refused (bounded recursion).
 *
 * Not checked: UTF-8 validity inside strings (bytes are passed on as they are) and
 * duplicate keys (a lookup finds the first).
 */
#ifndef SL_JSCAN_H
#define SL_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define SL_JSCAN_MAX_DEPTH 64

typedef enum sl_jtype {
    SL_JT_NULL,
    SL_JT_FALSE,
    SL_JT_TRUE,
    SL_JT_NUM,
    SL_JT_STR,
    SL_JT_ARR,
    SL_JT_OBJ
} sl_jtype_t;

enum {
    SL_JT_F_ESC = 1u << 0, /* string: has escapes (sl_jdoc_str unescapes) */
    SL_JT_F_INT = 1u << 1  /* number: no fraction, no exponent */
};

typedef struct sl_jtok {
    uint32_t start, len; /* string: the content between the quotes; else the whole text */
    uint32_t next;       /* index of the token after this one's subtree */
    uint32_t count;      /* array: elements; object: key/value pairs */
    uint8_t type;        /* sl_jtype_t */
    uint8_t flags;       /* SL_JT_F_* */
} sl_jtok_t;

typedef struct sl_jdoc {
    const char *s;
    sl_jtok_t *t;
    uint32_t n, cap;
} sl_jdoc_t;

#define SL_JDOC_INIT {NULL, NULL, 0, 0}

/* Scans `s` (exactly one JSON value, surrounding whitespace allowed) into d, replacing
 * what d held; token 0 is the root. SL_OK, SL_ERR_PROTO (malformed; d is then empty),
 * SL_ERR_NOMEM, SL_ERR_TOO_BIG (over 4 GiB). */
int sl_jdoc_parse(sl_jdoc_t *d, const char *s, size_t len);
/* Like sl_jdoc_parse for a root object, but stops right after the member `key` (its value
 * scanned whole): the members after it are neither scanned nor validated, and lookups do
 * not find them. For documents from a trusted writer (the sources' own events) whose
 * members that matter come first. Without such a member it is sl_jdoc_parse. */
int sl_jdoc_parse_until(sl_jdoc_t *d, const char *s, size_t len, const char *key, size_t key_len);
void sl_jdoc_free(sl_jdoc_t *d);

/* The value of `key` in object token `obj`, or -1 (not an object, no such key). `hint`,
 * when not NULL, is where the previous lookup in the same object ended: looking fields up
 * in their text order then costs one step each (it is updated). */
int sl_jdoc_get(const sl_jdoc_t *d, int obj, const char *key, size_t key_len, int *hint);
/* True when string token `tok` equals the n bytes at s (after unescaping). */
bool sl_jdoc_streq(const sl_jdoc_t *d, int tok, const char *s, size_t n);
/* A string token's content, unescaped: points into the text when it has no escapes,
 * else into `scratch` (reset first). False for a non-string (or out of memory). */
bool sl_jdoc_str(const sl_jdoc_t *d, int tok, sl_buf_t *scratch, const char **out, size_t *len);
/* An integer number token (no fraction or exponent) that fits int64_t. */
bool sl_jdoc_i64(const sl_jdoc_t *d, int tok, int64_t *out);
/* Any number token as a double. */
bool sl_jdoc_f64(const sl_jdoc_t *d, int tok, double *out);

static inline int sl_jdoc_type(const sl_jdoc_t *d, int tok)
{
    return tok >= 0 && (uint32_t)tok < d->n ? d->t[tok].type : -1;
}

#endif
