/*
 * pgoutput.c — decoder for the pgoutput logical replication messages
 * (protocol versions 1 and 2) and the COPY text row splitter.
 *
 * How it works. Each message is one type byte followed by fixed fields,
 * NUL-terminated strings and counted byte strings, all integers big-endian.
 * A small cursor (struct rd) walks the message; every read checks the bytes
 * left first and fails the whole message on a short read. Strings and column
 * values are returned as pointers into the caller's buffer; the only storage
 * the decoder owns is four scratch arrays (old tuple columns, new tuple
 * columns, relation columns, truncated relation ids) that grow to the largest
 * message seen and keep their capacity.
 *
 * Protocol version 2 adds streaming of in-progress transactions: a Stream
 * Start .. Stream Stop block holds changes of one (sub)transaction, and in it
 * Relation, Type, Insert, Update, Delete, Truncate and Message carry the xid
 * right after the type byte. The wire format does not say whether that xid is
 * there, so the decoder remembers whether it is inside a block. For Message
 * the server writes the xid whenever it is streaming (pgoutput_message sets
 * xid = txn->xid when in_streaming). Non-transactional messages are decoded
 * outside any streamed block (they are sent at once, never from
 * ReorderBufferStreamTXN), so inside a block every Message has the xid.
 * Origin never carries it, not even when sent right after Stream Start.
 * The xid is that of the subtransaction that made the change (a PG 15
 * capture shows changes after ROLLBACK TO SAVEPOINT under a new subxid), so
 * callers map it to the top-level xid of the enclosing Stream Start. Stream
 * Start, Stream Commit and Stream Abort keep their xid in the union; msg->xid
 * stays 0 for them.
 *
 * State diagram (the only state):
 *
 *            'S' Stream Start
 *   OUTSIDE ------------------> STREAMED
 *      ^                           |
 *      +---------------------------+
 *            'E' Stream Stop
 *
 *   OUTSIDE accepts every type but 'E'; STREAMED rejects 'S', 'B', 'C', 'c'
 *   and 'A' (the server never sends them inside a block: seeing one means we
 *   lost track, and guessing would misread the xid prefix of what follows).
 *
 * Invariants:
 *  1. No read goes past buf + len: every fixed field, string and counted byte
 *     string is checked against the bytes left before it is read. Strings
 *     must end with a NUL inside the message.
 *  2. Column counts above SL_PGO_MAX_COLS and truncate relation counts above
 *     SL_PGO_MAX_TRUNCATE_RELS give SL_ERR_TOO_BIG; counts that cannot fit in
 *     the bytes left give SL_ERR_PROTO. Both checks come before scratch grows,
 *     so a hostile count never makes us allocate.
 *  3. A message must be consumed exactly: trailing bytes are SL_ERR_PROTO
 *     (they would mean we misparsed, e.g. a wrong streamed-xid guess), except
 *     for Stream Abort, where protocol version 4 appends abort LSN and time.
 *  4. The streamed-block state changes only when a message decodes
 *     successfully; an error leaves the decoder as it was.
 *  5. An empty namespace string in Relation and Type means pg_catalog (the
 *     server saves the bytes); the decoder returns the static "pg_catalog"
 *     then, every other string points into the message.
 *
 * COPY text rows (sl_pgcopy_split_row) follow CopyReadAttributesText() in
 * PostgreSQL's copyfromparse.c: the delimiter is a tab, a field that is
 * exactly \N (before unescaping) is NULL, and a backslash escapes the next
 * character. COPY TO escapes every backslash, so one at the end of a row is
 * malformed. A NUL byte, raw or decoded from an escape, is rejected: no
 * PostgreSQL text value can hold one (COPY FROM refuses it too), and one
 * inside a value would cut it short wherever it is used as a C string.
 *
 * References: PostgreSQL documentation, "Logical Replication Message Formats"
 * (protocol-logicalrep-message-formats, PG 15/16) and "COPY" (File Formats,
 * Text Format); src/backend/replication/logical/proto.c and pgoutput.c.
 */
#include "source/pg/pgoutput.h"

#include <stdlib.h>
#include <string.h>

struct sl_pgoutput {
    bool in_stream;
    sl_pgo_col_t *oldcols; /* Update/Delete old tuple */
    uint32_t oldcols_size;
    sl_pgo_col_t *newcols; /* Insert/Update new tuple */
    uint32_t newcols_size;
    sl_pgo_relcol_t *relcols;
    uint32_t relcols_size;
    uint32_t *relids;
    uint32_t relids_size;
};

/* Read cursor over one message. */
struct rd {
    const uint8_t *p;
    const uint8_t *end;
};

static size_t rd_left(const struct rd *r)
{
    return (size_t)(r->end - r->p);
}

static bool rd_u8(struct rd *r, uint8_t *v)
{
    if (rd_left(r) < 1)
        return false;
    *v = r->p[0];
    r->p += 1;
    return true;
}

static bool rd_u16(struct rd *r, uint16_t *v)
{
    if (rd_left(r) < 2)
        return false;
    *v = (uint16_t)((uint16_t)r->p[0] << 8 | r->p[1]);
    r->p += 2;
    return true;
}

static bool rd_u32(struct rd *r, uint32_t *v)
{
    if (rd_left(r) < 4)
        return false;
    *v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
    r->p += 4;
    return true;
}

static bool rd_u64(struct rd *r, uint64_t *v)
{
    uint32_t hi, lo;

    if (!rd_u32(r, &hi) || !rd_u32(r, &lo))
        return false;
    *v = (uint64_t)hi << 32 | lo;
    return true;
}

static bool rd_i64(struct rd *r, int64_t *v)
{
    uint64_t u;

    if (!rd_u64(r, &u))
        return false;
    *v = (int64_t)u; /* two's complement on every platform we build for */
    return true;
}

/* A NUL-terminated string that must end inside the message. */
static bool rd_str(struct rd *r, const char **s)
{
    const uint8_t *nul = memchr(r->p, 0, rd_left(r));

    if (nul == NULL)
        return false;
    *s = (const char *)r->p;
    r->p = nul + 1;
    return true;
}

/* Int32 length + that many bytes. The server writes lengths as signed int32. */
static bool rd_counted(struct rd *r, uint32_t *len, const char **data)
{
    uint32_t n;

    if (!rd_u32(r, &n) || n > INT32_MAX || n > rd_left(r))
        return false;
    *len = n;
    *data = (const char *)r->p;
    r->p += n;
    return true;
}

static bool rd_nspname(struct rd *r, const char **s)
{
    if (!rd_str(r, s))
        return false;
    if ((*s)[0] == '\0')
        *s = "pg_catalog";
    return true;
}

/*
 * Returns `arr` regrown to hold at least `need` elements of `elsize` bytes
 * (capacity doubles, so a run of growing messages reallocates rarely), or
 * NULL if out of memory, when `arr` is left as it was. Call only when `need`
 * exceeds *size; callers have checked `need` against its cap, so
 * `need * elsize` cannot overflow.
 */
static void *scratch_grow(void *arr, uint32_t *size, uint32_t need, size_t elsize)
{
    uint32_t n = *size < 16 ? 16 : *size;
    void *p;

    while (n < need)
        n *= 2;
    p = realloc(arr, (size_t)n * elsize);
    if (p != NULL)
        *size = n;
    return p;
}

/* TupleData: Int16 ncols, then per column a kind byte and, for 't'/'b', Int32 len + bytes. */
static int pgoutput_parse_tuple(struct rd *r, sl_pgo_col_t **cols, uint32_t *cols_size,
                                sl_pgo_tuple_t *tup)
{
    uint16_t n;

    if (!rd_u16(r, &n))
        return SL_ERR_PROTO;
    if (n > SL_PGO_MAX_COLS)
        return SL_ERR_TOO_BIG;
    if (n > rd_left(r)) /* each column takes at least its kind byte */
        return SL_ERR_PROTO;
    if (n > *cols_size) {
        sl_pgo_col_t *p = scratch_grow(*cols, cols_size, n, sizeof(*p));

        if (p == NULL)
            return SL_ERR_NOMEM;
        *cols = p;
    }

    for (uint16_t i = 0; i < n; i++) {
        sl_pgo_col_t *c = &(*cols)[i];
        uint8_t kind;

        if (!rd_u8(r, &kind))
            return SL_ERR_PROTO;
        c->kind = (char)kind;
        c->len = 0;
        c->data = NULL;
        switch (kind) {
        case 'n':
        case 'u':
            break;
        case 't':
        case 'b':
            if (!rd_counted(r, &c->len, &c->data))
                return SL_ERR_PROTO;
            break;
        default:
            return SL_ERR_PROTO;
        }
    }
    tup->ncols = n;
    tup->cols = *cols;
    return SL_OK;
}

static int pgoutput_parse_relation(sl_pgoutput_t *dec, struct rd *r, sl_pgo_msg_t *out)
{
    uint8_t replident;
    uint16_t n;

    if (!rd_u32(r, &out->u.relation.relid) || !rd_nspname(r, &out->u.relation.nspname) ||
        !rd_str(r, &out->u.relation.relname) || !rd_u8(r, &replident) || !rd_u16(r, &n))
        return SL_ERR_PROTO;
    out->u.relation.replident = (char)replident;
    if (n > SL_PGO_MAX_COLS)
        return SL_ERR_TOO_BIG;
    /* flags(1) + name(at least its NUL) + type oid(4) + typmod(4) */
    if ((size_t)n * 10 > rd_left(r))
        return SL_ERR_PROTO;
    if (n > dec->relcols_size) {
        sl_pgo_relcol_t *p = scratch_grow(dec->relcols, &dec->relcols_size, n, sizeof(*p));

        if (p == NULL)
            return SL_ERR_NOMEM;
        dec->relcols = p;
    }

    for (uint16_t i = 0; i < n; i++) {
        sl_pgo_relcol_t *c = &dec->relcols[i];
        uint32_t typmod;

        if (!rd_u8(r, &c->flags) || !rd_str(r, &c->name) || !rd_u32(r, &c->type_oid) ||
            !rd_u32(r, &typmod))
            return SL_ERR_PROTO;
        c->typmod = (int32_t)typmod;
    }
    out->u.relation.ncols = n;
    out->u.relation.cols = dec->relcols;
    return SL_OK;
}

static int pgoutput_parse_update(sl_pgoutput_t *dec, struct rd *r, sl_pgo_msg_t *out)
{
    uint8_t kind;
    int rc;

    if (!rd_u32(r, &out->u.update.relid) || !rd_u8(r, &kind))
        return SL_ERR_PROTO;
    if (kind == 'K' || kind == 'O') {
        out->u.update.oldkind = (char)kind;
        rc = pgoutput_parse_tuple(r, &dec->oldcols, &dec->oldcols_size, &out->u.update.oldtup);
        if (rc != SL_OK)
            return rc;
        if (!rd_u8(r, &kind))
            return SL_ERR_PROTO;
    }
    if (kind != 'N')
        return SL_ERR_PROTO;
    return pgoutput_parse_tuple(r, &dec->newcols, &dec->newcols_size, &out->u.update.newtup);
}

static int pgoutput_parse_truncate(sl_pgoutput_t *dec, struct rd *r, sl_pgo_msg_t *out)
{
    uint32_t n;

    if (!rd_u32(r, &n) || !rd_u8(r, &out->u.truncate.options))
        return SL_ERR_PROTO;
    if (n > SL_PGO_MAX_TRUNCATE_RELS)
        return SL_ERR_TOO_BIG;
    if ((size_t)n * 4 > rd_left(r))
        return SL_ERR_PROTO;
    if (n > dec->relids_size) {
        uint32_t *p = scratch_grow(dec->relids, &dec->relids_size, n, sizeof(*p));

        if (p == NULL)
            return SL_ERR_NOMEM;
        dec->relids = p;
    }
    for (uint32_t i = 0; i < n; i++)
        (void)rd_u32(r, &dec->relids[i]); /* length checked above */
    out->u.truncate.nrels = n;
    out->u.truncate.relids = dec->relids;
    return SL_OK;
}

static int pgoutput_parse_message(struct rd *r, sl_pgo_msg_t *out)
{
    if (!rd_u8(r, &out->u.message.flags) || !rd_u64(r, &out->u.message.lsn) ||
        !rd_str(r, &out->u.message.prefix) ||
        !rd_counted(r, &out->u.message.len, &out->u.message.content))
        return SL_ERR_PROTO;
    return SL_OK;
}

/* Types that carry the (sub)transaction xid first inside a streamed block. */
static bool has_stream_xid(char type)
{
    return type == 'R' || type == 'Y' || type == 'I' || type == 'U' || type == 'D' || type == 'T' ||
           type == 'M';
}

sl_pgoutput_t *sl_pgoutput_new(void)
{
    return calloc(1, sizeof(sl_pgoutput_t));
}

void sl_pgoutput_free(sl_pgoutput_t *dec)
{
    if (dec == NULL)
        return;
    free(dec->oldcols);
    free(dec->newcols);
    free(dec->relcols);
    free(dec->relids);
    free(dec);
}

void sl_pgoutput_reset(sl_pgoutput_t *dec)
{
    dec->in_stream = false;
}

int sl_pgoutput_decode(sl_pgoutput_t *dec, const uint8_t *buf, size_t len, sl_pgo_msg_t *out)
{
    struct rd r;
    uint8_t kind;
    int rc = SL_OK;

    *out = (sl_pgo_msg_t){0};
    if (len < 1)
        return SL_ERR_PROTO;
    out->type = (char)buf[0];
    r.p = buf + 1;
    r.end = buf + len;

    if (dec->in_stream && has_stream_xid(out->type) && !rd_u32(&r, &out->xid))
        return SL_ERR_PROTO;

    switch (out->type) {
    case 'B':
        if (dec->in_stream || !rd_u64(&r, &out->u.begin.final_lsn) ||
            !rd_i64(&r, &out->u.begin.commit_ts) || !rd_u32(&r, &out->u.begin.xid))
            return SL_ERR_PROTO;
        break;
    case 'C':
        if (dec->in_stream || !rd_u8(&r, &out->u.commit.flags) ||
            !rd_u64(&r, &out->u.commit.commit_lsn) || !rd_u64(&r, &out->u.commit.end_lsn) ||
            !rd_i64(&r, &out->u.commit.commit_ts))
            return SL_ERR_PROTO;
        break;
    case 'O':
        if (!rd_u64(&r, &out->u.origin.commit_lsn) || !rd_str(&r, &out->u.origin.name))
            return SL_ERR_PROTO;
        break;
    case 'R':
        rc = pgoutput_parse_relation(dec, &r, out);
        break;
    case 'Y':
        if (!rd_u32(&r, &out->u.type.type_oid) || !rd_nspname(&r, &out->u.type.nspname) ||
            !rd_str(&r, &out->u.type.typname))
            return SL_ERR_PROTO;
        break;
    case 'I':
        if (!rd_u32(&r, &out->u.insert.relid) || !rd_u8(&r, &kind) || kind != 'N')
            return SL_ERR_PROTO;
        rc = pgoutput_parse_tuple(&r, &dec->newcols, &dec->newcols_size, &out->u.insert.newtup);
        break;
    case 'U':
        rc = pgoutput_parse_update(dec, &r, out);
        break;
    case 'D':
        if (!rd_u32(&r, &out->u.del.relid) || !rd_u8(&r, &kind) || (kind != 'K' && kind != 'O'))
            return SL_ERR_PROTO;
        out->u.del.oldkind = (char)kind;
        rc = pgoutput_parse_tuple(&r, &dec->oldcols, &dec->oldcols_size, &out->u.del.oldtup);
        break;
    case 'T':
        rc = pgoutput_parse_truncate(dec, &r, out);
        break;
    case 'M':
        rc = pgoutput_parse_message(&r, out);
        break;
    case 'S':
        if (dec->in_stream || !rd_u32(&r, &out->u.stream_start.xid) ||
            !rd_u8(&r, &out->u.stream_start.first_segment))
            return SL_ERR_PROTO;
        break;
    case 'E':
        if (!dec->in_stream)
            return SL_ERR_PROTO;
        break;
    case 'c':
        if (dec->in_stream || !rd_u32(&r, &out->u.stream_commit.xid) ||
            !rd_u8(&r, &out->u.stream_commit.flags) ||
            !rd_u64(&r, &out->u.stream_commit.commit_lsn) ||
            !rd_u64(&r, &out->u.stream_commit.end_lsn) ||
            !rd_i64(&r, &out->u.stream_commit.commit_ts))
            return SL_ERR_PROTO;
        break;
    case 'A':
        if (dec->in_stream || !rd_u32(&r, &out->u.stream_abort.xid) ||
            !rd_u32(&r, &out->u.stream_abort.subxid))
            return SL_ERR_PROTO;
        r.p = r.end; /* protocol v4 appends abort LSN and abort time: not ours to read */
        break;
    default:
        /* includes the two-phase messages ('b','P','K','r','p'): we never ask for them */
        return SL_ERR_PROTO;
    }
    if (rc != SL_OK)
        return rc;
    if (r.p != r.end)
        return SL_ERR_PROTO;

    if (out->type == 'S')
        dec->in_stream = true;
    else if (out->type == 'E')
        dec->in_stream = false;
    return SL_OK;
}

/* ---- COPY text format ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool isoct(char c)
{
    return c >= '0' && c <= '7';
}

int sl_pgcopy_split_row(char *row, size_t len, sl_pgo_col_t *cols, uint16_t ncols)
{
    const char *rp = row; /* read position */
    const char *end = row + len;
    char *wp = row; /* write position: never ahead of rp, so in place is safe */
    uint16_t n = 0;

    /* A table without columns is written as an empty line. */
    if (ncols == 0)
        return len == 0 ? 0 : SL_ERR_PROTO;

    for (;;) {
        char *start = wp;
        bool delim = false;

        if (n >= ncols)
            return SL_ERR_PROTO;

        /* NULL is decided on the field as written, before any unescaping. */
        if (end - rp >= 2 && rp[0] == '\\' && rp[1] == 'N' && (end - rp == 2 || rp[2] == '\t')) {
            cols[n].kind = 'n';
            cols[n].len = 0;
            cols[n].data = NULL;
            n++;
            rp += 2;
            if (rp == end)
                break;
            rp++; /* the tab */
            continue;
        }

        while (rp < end) {
            char c = *rp++;

            if (c == '\t') {
                delim = true;
                break;
            }
            if (c == '\\') {
                if (rp >= end)
                    return SL_ERR_PROTO; /* COPY TO always escapes a backslash */
                c = *rp++;
                switch (c) {
                case 'b':
                    c = '\b';
                    break;
                case 'f':
                    c = '\f';
                    break;
                case 'n':
                    c = '\n';
                    break;
                case 'r':
                    c = '\r';
                    break;
                case 't':
                    c = '\t';
                    break;
                case 'v':
                    c = '\v';
                    break;
                case 'x':
                    if (rp < end && hexval(*rp) >= 0) {
                        int v = hexval(*rp++);

                        if (rp < end && hexval(*rp) >= 0)
                            v = (v << 4) + hexval(*rp++);
                        c = (char)v;
                    }
                    break; /* \x without a hex digit is a plain 'x', as COPY FROM reads it */
                default:
                    if (isoct(c)) {
                        int v = c - '0';

                        if (rp < end && isoct(*rp)) {
                            v = (v << 3) + (*rp++ - '0');
                            if (rp < end && isoct(*rp))
                                v = (v << 3) + (*rp++ - '0');
                        }
                        c = (char)(v & 0377);
                    }
                    break; /* any other character stands for itself */
                }
            }
            if (c == '\0')
                return SL_ERR_PROTO; /* raw or escaped: no text value holds a NUL */
            *wp++ = c;
        }

        cols[n].kind = 't';
        cols[n].len = (uint32_t)(wp - start);
        cols[n].data = start;
        n++;
        if (!delim)
            break;
    }
    return n == ncols ? (int)n : SL_ERR_PROTO;
}
