/*
 * pgoutput.h — decoder for PostgreSQL's logical replication message format
 * (the pgoutput plugin, protocol versions 1 and 2).
 *
 * sl_pgoutput_decode() takes the payload of one XLogData ('w') message (after
 * the 25-byte header) and fills an sl_pgo_msg_t. It allocates nothing per
 * message: strings and column values point into the caller's buffer, which
 * must stay unchanged until the message has been used; tuple column arrays
 * live in scratch storage owned by the decoder, valid until the next call.
 *
 * The decoder tracks one piece of state: whether it is inside a streamed
 * block (between Stream Start and Stream Stop), because then Relation, Type,
 * Insert, Update, Delete, Truncate and transactional Message carry the xid
 * of the (sub)transaction first.
 *
 * Invariants:
 *  1. Every length and count read from the wire is checked against the bytes
 *     remaining before it is used; strings must be NUL-terminated inside the
 *     message. Anything else returns SL_ERR_PROTO, never a crash or an
 *     out-of-bounds read.
 *  2. The number of columns is capped at SL_PGO_MAX_COLS (PostgreSQL's
 *     MaxTupleAttributeNumber); the number of relations in a Truncate at
 *     SL_PGO_MAX_TRUNCATE_RELS. Scratch grows only after that check.
 *
 * Reference: PostgreSQL docs, "Logical Replication Message Formats"
 * (protocol-logicalrep-message-formats).
 */
#ifndef SL_PGOUTPUT_H
#define SL_PGOUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SL_PGO_MAX_COLS 1664
#define SL_PGO_MAX_TRUNCATE_RELS 65536

/* One column of a TupleData. */
typedef struct sl_pgo_col {
    char kind;        /* 'n' NULL, 'u' unchanged TOAST, 't' text, 'b' binary */
    uint32_t len;     /* 't'/'b': byte length of data */
    const char *data; /* 't'/'b': points into the message (not NUL-terminated) */
} sl_pgo_col_t;

typedef struct sl_pgo_tuple {
    uint16_t ncols;
    sl_pgo_col_t *cols;
} sl_pgo_tuple_t;

/* One column of a Relation message. */
typedef struct sl_pgo_relcol {
    uint8_t flags;    /* 1 = part of the key (replica identity) */
    const char *name;
    uint32_t type_oid;
    int32_t typmod;
} sl_pgo_relcol_t;

typedef struct sl_pgo_msg {
    char type;    /* 'B','C','O','R','Y','I','U','D','T','M','S','E','c','A' */
    uint32_t xid; /* xid the message carries inside a streamed block (0 otherwise) */
    union {
        struct { uint64_t final_lsn; int64_t commit_ts; uint32_t xid; } begin;
        struct { uint8_t flags; uint64_t commit_lsn; uint64_t end_lsn; int64_t commit_ts; } commit;
        struct { uint64_t commit_lsn; const char *name; } origin;
        struct {
            uint32_t relid;
            const char *nspname;
            const char *relname;
            char replident; /* 'd' default, 'n' nothing, 'f' full, 'i' index */
            uint16_t ncols;
            sl_pgo_relcol_t *cols;
        } relation;
        struct { uint32_t type_oid; const char *nspname; const char *typname; } type;
        struct { uint32_t relid; sl_pgo_tuple_t newtup; } insert;
        struct {
            uint32_t relid;
            char oldkind; /* 0: no old tuple, 'K': key columns only, 'O': full old row */
            sl_pgo_tuple_t oldtup;
            sl_pgo_tuple_t newtup;
        } update;
        struct { uint32_t relid; char oldkind; /* 'K' or 'O' */ sl_pgo_tuple_t oldtup; } del;
        struct {
            uint8_t options; /* 1 CASCADE, 2 RESTART IDENTITY */
            uint32_t nrels;
            const uint32_t *relids; /* host order, decoder scratch */
        } truncate;
        struct {
            uint8_t flags; /* 1 = transactional */
            uint64_t lsn;
            const char *prefix;
            uint32_t len;
            const char *content;
        } message;
        struct { uint32_t xid; uint8_t first_segment; } stream_start;
        struct { uint32_t xid; uint8_t flags; uint64_t commit_lsn; uint64_t end_lsn; int64_t commit_ts; } stream_commit;
        struct { uint32_t xid; uint32_t subxid; } stream_abort;
    } u;
} sl_pgo_msg_t;

typedef struct sl_pgoutput sl_pgoutput_t;

sl_pgoutput_t *sl_pgoutput_new(void); /* NULL on out of memory */
void sl_pgoutput_free(sl_pgoutput_t *dec);
/* Forgets the streamed-block state (after a reconnect). */
void sl_pgoutput_reset(sl_pgoutput_t *dec);

/* Decodes one message. Returns SL_OK, SL_ERR_PROTO (malformed or unknown message
 * type), SL_ERR_TOO_BIG (a count over the caps) or SL_ERR_NOMEM. */
SL_WUR int sl_pgoutput_decode(sl_pgoutput_t *dec, const uint8_t *buf, size_t len, sl_pgo_msg_t *out);

/*
 * COPY text format (COPY ... TO STDOUT, the snapshot path): splits one row
 * (without its trailing newline) into columns, undoing the backslash escapes in
 * place (the row buffer is modified). NULL (\N) columns get kind 'n', others 't'.
 * Returns the number of columns, or SL_ERR_PROTO if the row has a different
 * number of columns than `ncols` or a malformed escape.
 */
SL_WUR int sl_pgcopy_split_row(char *row, size_t len, sl_pgo_col_t *cols, uint16_t ncols);

#endif
