/*
 * fuzz_jscan.c — libFuzzer target for the JSON token scanner (core/jscan.c).
 *
 * What: scans arbitrary bytes with sl_jdoc_parse() and, when they are accepted, walks
 * every token. Checks that no read goes past the input (ASan), and:
 *  1. every token lies inside the text, and `next` is after the token and no further
 *     than the end of its parent's subtree (tokens nest);
 *  2. a container's `count` is the number of its direct children (objects: key/value
 *     pairs, every key a string);
 *  3. the same bytes parsed by jansson (JSON_DECODE_ANY | JSON_ALLOW_NUL, depth within
 *     jscan's limit, no NUL byte: jansson stops reading at one) are accepted by jscan
 *     too: jscan never refuses valid JSON.
 *     (jscan does not validate UTF-8, so it may accept what jansson refuses.)
 * Every string token is also unescaped (sl_jdoc_str) and every number read (i64/f64).
 * sl_jdoc_parse_until (stopping after a root member "a") must keep invariant 1, and
 * accept whatever sl_jdoc_parse accepts.
 *
 * Seeds: tests/fuzz/corpus/jscan/.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/jscan.h"

static int depth_of(const uint8_t *s, size_t n)
{
    int d = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        if (in_str) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                in_str = false;
        } else if (s[i] == '"') {
            in_str = true;
        } else if (s[i] == '{' || s[i] == '[') {
            if (++d > max)
                max = d;
        } else if (s[i] == '}' || s[i] == ']') {
            d--;
        }
    }
    return max;
}

static void check_tree(const sl_jdoc_t *d, uint32_t k, uint32_t limit, size_t len)
{
    const sl_jtok_t *t = &d->t[k];
    if (t->next <= k || t->next > limit || (size_t)t->start + t->len > len)
        abort();
    if (t->type != SL_JT_OBJ && t->type != SL_JT_ARR) {
        if (t->next != k + 1)
            abort();
        return;
    }
    uint32_t c = k + 1, n = 0;
    while (c < t->next) {
        if (t->type == SL_JT_OBJ) {
            if (d->t[c].type != SL_JT_STR)
                abort();
            check_tree(d, c, t->next, len);
            c = d->t[c].next;
            if (c >= t->next)
                abort();
        }
        check_tree(d, c, t->next, len);
        c = d->t[c].next;
        n++;
    }
    if (c != t->next || n != t->count)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sl_jdoc_t d = SL_JDOC_INIT;
    /* a copy of exactly `size` bytes: ASan sees any read past the end */
    char *s = malloc(size ? size : 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    int rc = sl_jdoc_parse(&d, s, size);
    if (rc == 0) {
        if (d.n == 0)
            abort();
        check_tree(&d, 0, d.n, size);
        sl_buf_t scratch = SL_BUF_INIT;
        for (uint32_t i = 0; i < d.n; i++) {
            const char *out;
            size_t n;
            int64_t iv;
            double dv;
            if (d.t[i].type == SL_JT_STR && !sl_jdoc_str(&d, (int)i, &scratch, &out, &n))
                abort();
            if (d.t[i].type == SL_JT_NUM) {
                (void)sl_jdoc_i64(&d, (int)i, &iv);
                (void)sl_jdoc_f64(&d, (int)i, &dv);
            }
        }
        sl_buf_free(&scratch);
    } else if (!memchr(data, 0, size) && depth_of(data, size) < SL_JSCAN_MAX_DEPTH) {
        json_error_t je;
        json_t *j = json_loadb(s, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (j) /* valid JSON that jscan refused */
            abort();
    }
    bool whole_ok = rc == 0;
    rc = sl_jdoc_parse_until(&d, s, size, "a", 1);
    if (rc == 0)
        check_tree(&d, 0, d.n, size);
    else if (whole_ok)
        abort();
    free(s);
    return 0;
}
