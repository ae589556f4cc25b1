/*
 * buf.h — a growable byte buffer with a sticky out-of-memory flag.
 *
 * Hot-path writers (the JSON encoder) append many small pieces; checking each
 * append would bury the logic, so an allocation failure sets `oom` and every
 * later append is a no-op. The caller checks sl_buf_ok() once at the end.
 *
 * Invariants:
 *  1. data is NUL-terminated whenever size > 0 (data[len] == 0), so a buffer
 *     can be handed to C string functions; the NUL is not counted in len.
 *  2. once oom is set it stays set until sl_buf_reset().
 */
#ifndef SL_BUF_H
#define SL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct sl_buf {
    char *data;
    size_t len;  /* bytes used */
    size_t size; /* bytes allocated */
    bool oom;
} sl_buf_t;

#define SL_BUF_INIT {NULL, 0, 0, false}

/* Makes room for `extra` more bytes (+ the NUL). Returns false and sets oom on failure. */
bool sl_buf_grow(sl_buf_t *b, size_t extra);
/* Room for `need` elements of `elem` bytes in the array `p` of capacity *cap (doubled,
 * from `first`, until they fit). Returns the array, moved or not; NULL on out of memory
 * or overflow, with `p` and *cap unchanged. */
void *sl_grow_array(void *p, size_t *cap, size_t need, size_t elem, size_t first);
void sl_buf_free(sl_buf_t *b);
/* Empties the buffer, keeps its memory, clears oom. */
static inline void sl_buf_reset(sl_buf_t *b)
{
    b->len = 0;
    b->oom = false;
    if (b->data)
        b->data[0] = 0;
}
static inline bool sl_buf_ok(const sl_buf_t *b) { return !b->oom; }

static inline void sl_buf_add(sl_buf_t *b, const void *p, size_t n)
{
    if (b->size - b->len <= n && !sl_buf_grow(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}
static inline void sl_buf_addc(sl_buf_t *b, char c)
{
    if (b->size - b->len <= 1 && !sl_buf_grow(b, 1))
        return;
    b->data[b->len++] = c;
    b->data[b->len] = 0;
}
static inline void sl_buf_adds(sl_buf_t *b, const char *s) { sl_buf_add(b, s, strlen(s)); }
/* Appends printf-style text. */
void sl_buf_printf(sl_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A malloc'd, NUL-terminated copy of the n bytes at p, which need not be NUL-terminated
 * (a Kafka payload, a binlog field): strndup would look for a NUL past them. NULL when out
 * of memory. */
static inline char *sl_memdupz(const void *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

#endif
