/*
 * fuzz_pgoutput.c — libFuzzer target for sl_pgoutput_decode() and
 * sl_pgcopy_split_row().
 *
 * Input: one control byte, then the payload.
 *   bit 0  decode inside a streamed block (a Stream Start is fed first)
 *   bit 1  after a successful decode, decode the same bytes again (scratch reuse
 *          and the state change: a second 'S' must fail, a second 'E' too)
 *   bits 2-7  COPY column count: 0 means "as many as the row has fields"
 * The payload is decoded as one pgoutput message from an exact-size heap copy
 * (so ASan flags any read past the end), and then split as a COPY text row.
 *
 * Besides "no crash", it checks the decoder's promises on success: every
 * string and column value lies inside the message (or is the static
 * "pg_catalog" for an empty namespace), counts are under the caps, and every
 * COPY column lies inside the row.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc src/core/err.c
 *        src/source/pg/pgoutput.c tests/fuzz/fuzz_pgoutput.c -o fuzz_pgoutput
 * Seeds: tests/fuzz/corpus/pgoutput/ (hand-built messages and messages captured
 * from PostgreSQL 15; the first byte of each file is the control byte).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/pg/pgoutput.h"

static const uint8_t *g_lo, *g_hi;

static void check_range(const void *p, size_t n)
{
    const uint8_t *b = p;

    if (b < g_lo || b > g_hi || n > (size_t)(g_hi - b))
        abort();
}

static void check_str(const char *s)
{
    if (strcmp(s, "pg_catalog") == 0 && ((const uint8_t *)s < g_lo || (const uint8_t *)s >= g_hi))
        return; /* the static substitute for an empty namespace */
    check_range(s, 1);
    check_range(s, strnlen(s, (size_t)(g_hi - (const uint8_t *)s)) + 1);
}

static void check_tuple(const sl_pgo_tuple_t *t)
{
    if (t->ncols > SL_PGO_MAX_COLS)
        abort();
    for (uint16_t i = 0; i < t->ncols; i++) {
        const sl_pgo_col_t *c = &t->cols[i];

        switch (c->kind) {
        case 'n':
        case 'u':
            if (c->data != NULL || c->len != 0)
                abort();
            break;
        case 't':
        case 'b':
            check_range(c->data, c->len);
            break;
        default:
            abort();
        }
    }
}

static void check_msg(const sl_pgo_msg_t *m)
{
    switch (m->type) {
    case 'O':
        check_str(m->u.origin.name);
        break;
    case 'R':
        check_str(m->u.relation.nspname);
        check_str(m->u.relation.relname);
        if (m->u.relation.ncols > SL_PGO_MAX_COLS)
            abort();
        for (uint16_t i = 0; i < m->u.relation.ncols; i++)
            check_str(m->u.relation.cols[i].name);
        break;
    case 'Y':
        check_str(m->u.type.nspname);
        check_str(m->u.type.typname);
        break;
    case 'I':
        check_tuple(&m->u.insert.newtup);
        break;
    case 'U':
        if (m->u.update.oldkind != 0)
            check_tuple(&m->u.update.oldtup);
        check_tuple(&m->u.update.newtup);
        break;
    case 'D':
        check_tuple(&m->u.del.oldtup);
        break;
    case 'T':
        if (m->u.truncate.nrels > SL_PGO_MAX_TRUNCATE_RELS)
            abort();
        for (uint32_t i = 0; i < m->u.truncate.nrels; i++)
            (void)*(volatile const uint32_t *)&m->u.truncate.relids[i];
        break;
    case 'M':
        check_str(m->u.message.prefix);
        check_range(m->u.message.content, m->u.message.len);
        break;
    case 'B':
    case 'C':
    case 'S':
    case 'E':
    case 'c':
    case 'A':
        break;
    default:
        abort(); /* SL_OK with a type the decoder does not know */
    }
}

static void fuzz_decode(uint8_t ctl, const uint8_t *data, size_t size)
{
    static const uint8_t stream_start[] = {'S', 0, 0, 0x03, 0x84, 1};
    sl_pgoutput_t *dec = sl_pgoutput_new();
    uint8_t *msg = malloc(size ? size : 1);
    sl_pgo_msg_t m;
    int rc;

    if (dec == NULL || msg == NULL)
        abort();
    if (size)
        memcpy(msg, data, size);
    g_lo = msg;
    g_hi = msg + size;

    if ((ctl & 1) && sl_pgoutput_decode(dec, stream_start, sizeof(stream_start), &m) != SL_OK)
        abort();
    rc = sl_pgoutput_decode(dec, msg, size, &m);
    if (rc == SL_OK) {
        check_msg(&m);
        if (ctl & 2) {
            rc = sl_pgoutput_decode(dec, msg, size, &m);
            if (rc == SL_OK)
                check_msg(&m);
            else if (m.type != 'S' && m.type != 'E')
                abort(); /* the same bytes decoded once; only the block state differs */
        }
    } else if (rc != SL_ERR_PROTO && rc != SL_ERR_TOO_BIG) {
        abort(); /* SL_ERR_NOMEM cannot happen at these sizes */
    }
    free(msg);
    sl_pgoutput_free(dec);
}

static void fuzz_copy(uint8_t ctl, const uint8_t *data, size_t size)
{
    sl_pgo_col_t *cols;
    uint16_t ncols = (uint16_t)(ctl >> 2);
    char *row = malloc(size ? size : 1);
    int rc;

    if (row == NULL)
        abort();
    if (size)
        memcpy(row, data, size);
    if (ncols == 0) {
        size_t tabs = 0;

        for (size_t i = 0; i < size; i++)
            tabs += data[i] == '\t';
        ncols = (uint16_t)(tabs + 1 > SL_PGO_MAX_COLS ? SL_PGO_MAX_COLS : tabs + 1);
    }
    cols = malloc(sizeof(*cols) * ncols);
    if (cols == NULL)
        abort();
    rc = sl_pgcopy_split_row(row, size, cols, ncols);
    if (rc >= 0) {
        if (rc != ncols)
            abort();
        g_lo = (const uint8_t *)row;
        g_hi = (const uint8_t *)row + size;
        for (int i = 0; i < rc; i++) {
            if (cols[i].kind == 'n')
                continue;
            if (cols[i].kind != 't')
                abort();
            check_range(cols[i].data, cols[i].len);
            if (memchr(cols[i].data, 0, cols[i].len) != NULL)
                abort();
        }
    } else if (rc != SL_ERR_PROTO) {
        abort();
    }
    free(cols);
    free(row);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fuzz_decode(data[0], data + 1, size - 1);
    fuzz_copy(data[0], data + 1, size - 1);
    return 0;
}
