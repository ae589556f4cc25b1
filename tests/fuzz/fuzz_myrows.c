/*
 * fuzz_myrows.c — libFuzzer target for the MySQL/MariaDB binlog row decoding
 * (mybinlog.c + mytypes.c).
 *
 * Input, by the top two bits of byte 0:
 *   00, 01  rows mode: byte 0 (low bits) picks the rows event type, byte 1 the
 *           decimal.handling.mode (low nibble) and the charset rotation (high nibble),
 *           bytes 2-3 the length L (little-endian) of the TABLE_MAP body that follows;
 *           the rest is the rows event body. Both are parsed, a converter is built for
 *           each column (charset from the TABLE_MAP's collation when known, else from
 *           the rotation), and every row image is decoded until the data ends.
 *   10      binary JSON: the rest goes to my_json_binary_to_text.
 *   11      text value: byte 1 the wire type, bytes 2-3 the metadata, byte 4 the charset
 *           (low 3 bits), nullable (bit 3), unsigned (bit 4), decimal mode (bits 5-6);
 *           the rest is a text-protocol value (ENUM/SET get the labels a, b, c).
 * Checks: no crash or out-of-bounds read (every buffer is allocated to its exact size),
 * a failed call appends nothing, the output stays NUL-terminated.
 */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "source/mysql/mybinlog.h"
#include "source/mysql/mytypes.h"

static const uint8_t row_types[] = {MY_EV_WRITE_ROWS_V1, MY_EV_UPDATE_ROWS_V1, MY_EV_DELETE_ROWS_V1,
                                    MY_EV_WRITE_ROWS,    MY_EV_UPDATE_ROWS,    MY_EV_DELETE_ROWS};
static const char *const charsets[] = {NULL, "binary", "utf8mb4", "latin1", "sjis", "utf16", "ascii", "utf8mb3"};
static const char *const labels[] = {"a", "b", "c"};

static const char *coll_name(uint32_t id)
{
    switch (id) {
    case 8: return "latin1";
    case 11: return "ascii";
    case 13: return "sjis";
    case 33: return "utf8mb3";
    case 45: case 46: case 224: return "utf8mb4";
    case 63: return "binary";
    default: return NULL;
    }
}

static void check_unchanged(const sl_buf_t *b, size_t mark, int rc)
{
    if (rc != SL_OK && b->len != mark)
        abort();
    if (b->data && b->data[b->len] != 0)
        abort();
}

static void rows_mode(const uint8_t *d, size_t n)
{
    if (n < 4)
        return;
    uint8_t type = row_types[(d[0] & 0x3F) % sizeof row_types];
    my_type_opts_t opts = {(d[1] & 15) % 3};
    unsigned rot = d[1] >> 4;
    size_t tl = (size_t)d[2] | (size_t)d[3] << 8;
    d += 4;
    n -= 4;
    if (tl > n)
        return;
    char err[256];
    uint8_t *tmb = malloc(tl ? tl : 1);
    memcpy(tmb, d, tl);
    my_tablemap_t tm;
    int rc = my_tablemap_parse(tmb, tl, &tm, err, sizeof err);
    free(tmb);
    if (rc != SL_OK)
        return;
    size_t rl = n - tl;
    uint8_t *rb = malloc(rl ? rl : 1);
    memcpy(rb, d + tl, rl);
    my_rows_ev_t ev;
    my_conv_t **conv = calloc(tm.ncols, sizeof *conv);
    my_rowcol_t *cols = calloc(tm.ncols, sizeof *cols);
    my_span_t *spans = calloc(tm.ncols, sizeof *spans);
    sl_buf_t b = SL_BUF_INIT;
    bool ok = true;
    for (uint32_t i = 0; i < tm.ncols && ok; i++) {
        const char *cs = coll_name(tm.collation[i]);
        if (!cs)
            cs = charsets[(rot + i) % (sizeof charsets / sizeof *charsets)];
        my_coldef_t def = {tm.types[i], tm.meta[i], tm.is_unsigned[i], tm.nullable[i], cs,
                           (const char *const *)tm.labels[i], tm.nlabels[i],
                           tm.names[i] ? tm.names[i] : "c"};
        if (my_conv_new(&conv[i], &def, &opts, err, sizeof err) != SL_OK)
            ok = false;
        else {
            cols[i].conv = conv[i];
            cols[i].json_key = "\"k\":";
            cols[i].json_key_len = 4;
            cols[i].excluded = (i % 5) == 4;
            sl_buf_reset(&b);
            my_conv_schema(conv[i], &b, tm.names[i] ? tm.names[i] : "c");
        }
    }
    if (ok && my_rows_parse(type, rb, rl, &ev, err, sizeof err) == SL_OK && ev.ncols == tm.ncols) {
        size_t pos = 0;
        for (int img = 0; pos < ev.rows_len; img++) {
            const uint8_t *present =
                ev.kind == MY_ROWS_UPDATE && (img & 1) ? ev.present_after : ev.present;
            sl_buf_reset(&b);
            sl_buf_adds(&b, "x");
            size_t used = 0;
            rc = my_row_decode(cols, tm.ncols, present, ev.rows + pos, ev.rows_len - pos, &used, &b,
                               spans, err, sizeof err);
            check_unchanged(&b, 1, rc);
            if (rc != SL_OK)
                break;
            if (used == 0 || used > ev.rows_len - pos)
                abort();
            for (uint32_t i = 0; i < tm.ncols; i++)
                if (spans[i].len && spans[i].off + spans[i].len > b.len)
                    abort();
            pos += used;
        }
    }
    for (uint32_t i = 0; i < tm.ncols; i++)
        my_conv_free(conv[i]);
    free(conv);
    free(cols);
    free(spans);
    free(rb);
    sl_buf_free(&b);
    my_tablemap_free(&tm);
}

static void json_mode(const uint8_t *d, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    memcpy(p, d, n);
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_adds(&b, "x");
    char err[128];
    int rc = my_json_binary_to_text(p, n, &b, err, sizeof err);
    check_unchanged(&b, 1, rc);
    free(p);
    sl_buf_free(&b);
}

static void text_mode(const uint8_t *d, size_t n)
{
    if (n < 4)
        return;
    my_coldef_t def = {d[0], (uint16_t)(d[1] | d[2] << 8), (d[3] >> 4) & 1, (d[3] >> 3) & 1,
                       charsets[d[3] & 7], labels, 3, "c"};
    my_type_opts_t opts = {((d[3] >> 5) & 3) % 3};
    my_conv_t *c;
    char err[256];
    if (my_conv_new(&c, &def, &opts, err, sizeof err) != SL_OK)
        return;
    char *t = malloc(n - 4 ? n - 4 : 1);
    memcpy(t, d + 4, n - 4);
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_adds(&b, "x");
    int rc = my_conv_text_value(c, t, n - 4, &b, err, sizeof err);
    check_unchanged(&b, 1, rc);
    /* the same bytes as a binlog value */
    size_t mark = b.len, used = 0;
    rc = my_conv_binlog_value(c, (const uint8_t *)t, n - 4, &used, &b, err, sizeof err);
    check_unchanged(&b, mark, rc);
    if (rc == SL_OK && used > n - 4)
        abort();
    my_conv_schema(c, &b, "f");
    free(t);
    sl_buf_free(&b);
    my_conv_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n < 1)
        return 0;
    switch (d[0] >> 6) {
    case 2:
        json_mode(d + 1, n - 1);
        break;
    case 3:
        text_mode(d + 1, n - 1);
        break;
    default:
        rows_mode(d, n);
        break;
    }
    return 0;
}
