/*
 * mybinlog.h — decoding the bodies of the binlog events that carry row data:
 * TABLE_MAP (with the optional metadata of binlog_row_metadata=MINIMAL|FULL) and
 * WRITE/UPDATE/DELETE_ROWS (v1 and v2).
 *
 * libmariadb's mariadb_rpl_fetch() frames events and parses the simple ones (GTID,
 * XID, QUERY, ROTATE); these two are parsed here from the raw event body (the bytes
 * after the 19-byte common header, without the 4-byte checksum), so that every
 * length read from the wire is checked by code this project tests and fuzzes.
 *
 * References: MariaDB/MySQL server sql/log_event.h (Table_map_log_event,
 * Rows_log_event) and the MySQL internals manual's binlog event layouts.
 *
 * Invariants:
 *  1. Nothing is read past body + len; a short or inconsistent body is SL_ERR_PROTO
 *     with a message (errstr), never a crash.
 *  2. Counts read from the wire (columns, names, labels) are bounded by the bytes
 *     that hold them before anything is allocated for them.
 *  3. my_rows_ev_t points into the caller's body: valid while that buffer is.
 */
#ifndef SL_MYBINLOG_H
#define SL_MYBINLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Event type codes this module parses (log_event.h). */
enum {
    MY_EV_TABLE_MAP = 19,
    MY_EV_WRITE_ROWS_V1 = 23,
    MY_EV_UPDATE_ROWS_V1 = 24,
    MY_EV_DELETE_ROWS_V1 = 25,
    MY_EV_WRITE_ROWS = 30,
    MY_EV_UPDATE_ROWS = 31,
    MY_EV_DELETE_ROWS = 32,
    MY_EV_PARTIAL_UPDATE_ROWS = 39 /* MySQL binlog_row_value_options=PARTIAL_JSON: refused */
};

typedef struct my_tablemap {
    uint64_t table_id;
    char *db, *table; /* malloc'd, NUL-terminated */
    uint32_t ncols;
    uint8_t *types;   /* ncols wire types (MY_T_*) */
    uint16_t *meta;   /* ncols, as my_tablemap_meta() gives them */
    bool *nullable;   /* ncols */
    /* Optional metadata (binlog_row_metadata); has_* false when absent. */
    bool has_signedness;
    bool *is_unsigned;  /* ncols; only numeric columns can be true */
    bool has_charsets;
    uint32_t *collation; /* ncols collation ids for string/ENUM/SET columns, 0 otherwise */
    bool has_names;
    char **names;       /* ncols */
    bool has_labels;
    char ***labels;     /* ncols; ENUM/SET columns' member names, NULL for others */
    uint32_t *nlabels;  /* ncols */
    bool has_pk;
    uint32_t npk;
    uint32_t *pk;       /* column indexes in key order (SIMPLE_PRIMARY_KEY or
                           PRIMARY_KEY_WITH_PREFIX, prefix lengths dropped) */
} my_tablemap_t;

/* Parses a TABLE_MAP event body. On success *out owns its memory (my_tablemap_free). */
SL_WUR int my_tablemap_parse(const uint8_t *body, size_t len, my_tablemap_t *out, char *errstr,
                             size_t errstr_size);
void my_tablemap_free(my_tablemap_t *tm);

enum { MY_ROWS_WRITE = 0, MY_ROWS_UPDATE = 1, MY_ROWS_DELETE = 2 };

typedef struct my_rows_ev {
    uint64_t table_id;
    uint16_t flags;           /* STMT_END_F = 1 */
    int kind;                 /* MY_ROWS_* */
    uint32_t ncols;
    const uint8_t *present;   /* columns present in the (before) image: ncols bits */
    const uint8_t *present_after; /* update: columns present in the after image */
    const uint8_t *rows;      /* row images; updates: before, after, before, after ... */
    size_t rows_len;
} my_rows_ev_t;

/* Parses a rows event body of event type `type` (MY_EV_*_ROWS*). */
SL_WUR int my_rows_parse(uint8_t type, const uint8_t *body, size_t len, my_rows_ev_t *out,
                         char *errstr, size_t errstr_size);

#endif
