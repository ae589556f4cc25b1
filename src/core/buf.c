/*
 * buf.c — growable byte buffer (see buf.h for the invariants).
 */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

bool sl_buf_grow(sl_buf_t *b, size_t extra)
{
    if (b->oom)
        return false;
    size_t need = b->len + extra + 1;
    if (need < b->len) { /* overflow */
        b->oom = true;
        return false;
    }
    if (need <= b->size)
        return true;
    size_t nsize = b->size ? b->size : 256;
    while (nsize < need)
        nsize = nsize * 2 > nsize ? nsize * 2 : need;
    char *p = realloc(b->data, nsize);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->size = nsize;
    return true;
}

void *sl_grow_array(void *p, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : first ? first : 1;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return NULL;
        n *= 2;
    }
    if (elem && n > SIZE_MAX / elem)
        return NULL;
    void *np = realloc(p, n * elem);
    if (np)
        *cap = n;
    return np;
}

void sl_buf_free(sl_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->size = 0;
    b->oom = false;
}

void sl_buf_printf(sl_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sl_buf_grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}
