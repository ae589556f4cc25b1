/*
 * mytypes.h — MySQL/MariaDB column values to Debezium JSON, from the binlog's row
 * images and from the text protocol (snapshot), and their schemas.
 *
 * A column is described by a my_coldef_t: the binlog wire type and metadata as a
 * TABLE_MAP event carries them, plus what FULL row metadata (or, without it, the
 * schema read from information_schema) adds: signedness, character set, ENUM/SET
 * labels, nullability. my_coldef_from_decl() builds the same description from an
 * information_schema.COLUMNS row, so that the snapshot (text values) and streaming
 * (binary row images) resolve one converter per column the same way, and the same
 * row gives the same JSON and the same schema both ways.
 *
 * A converter (my_conv_t) renders values as Debezium's MySQL connector does with its
 * defaults (decimal.handling.mode=precise, time.precision.mode=adaptive_time_microseconds,
 * bigint.unsigned.handling.mode=long, binary.handling.mode=bytes), and the
 * decimal.handling.mode alternatives string and double.
 *
 * Invariants:
 *  1. Every length read from a row image is checked against the bytes available
 *     before use; a malformed image is SL_ERR_PROTO with a message, never a crash
 *     and never a read past `avail`.
 *  2. Text in a declared character set is converted to UTF-8 (latin1 is cp1252 as
 *     MySQL defines it; utf8mb3/utf8mb4 are validated); bytes are never passed through
 *     mis-decoded. A value that cannot be converted is an error naming the column.
 *  3. Zero dates ('0000-00-00', '0000-00-00 00:00:00') become null for a nullable
 *     column and Debezium's epoch value for a NOT NULL one, as Debezium does; the
 *     converter counts them (my_conv_zero_dates) so the source can warn: never silent.
 *
 * Thread-safety: a converter is immutable after my_conv_new() apart from its
 * zero-date counter (relaxed atomic).
 */
#ifndef SL_MYTYPES_H
#define SL_MYTYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* Wire type codes (enum_field_types in mysql_com.h; the same numbers libmariadb uses). */
enum {
    MY_T_DECIMAL = 0, MY_T_TINY = 1, MY_T_SHORT = 2, MY_T_LONG = 3, MY_T_FLOAT = 4,
    MY_T_DOUBLE = 5, MY_T_NULL = 6, MY_T_TIMESTAMP = 7, MY_T_LONGLONG = 8, MY_T_INT24 = 9,
    MY_T_DATE = 10, MY_T_TIME = 11, MY_T_DATETIME = 12, MY_T_YEAR = 13, MY_T_NEWDATE = 14,
    MY_T_VARCHAR = 15, MY_T_BIT = 16, MY_T_TIMESTAMP2 = 17, MY_T_DATETIME2 = 18,
    MY_T_TIME2 = 19, MY_T_JSON = 245, MY_T_NEWDECIMAL = 246, MY_T_ENUM = 247, MY_T_SET = 248,
    MY_T_TINY_BLOB = 249, MY_T_MEDIUM_BLOB = 250, MY_T_LONG_BLOB = 251, MY_T_BLOB = 252,
    MY_T_VAR_STRING = 253, MY_T_STRING = 254, MY_T_GEOMETRY = 255
};

enum { MY_DECIMAL_PRECISE = 0, MY_DECIMAL_STRING = 1, MY_DECIMAL_DOUBLE = 2 };

typedef struct my_type_opts {
    int decimal_mode; /* MY_DECIMAL_* */
} my_type_opts_t;

/* One column. Strings are borrowed: they must outlive my_conv_new() only (the
 * converter copies what it keeps). */
typedef struct my_coldef {
    uint8_t type;      /* wire type from the TABLE_MAP column_types byte (MY_T_*) */
    uint16_t meta;     /* that column's TABLE_MAP metadata as an integer, see my_tablemap_meta() */
    bool is_unsigned;  /* integer/decimal/float signedness */
    bool nullable;
    const char *charset; /* character set name ("latin1", "utf8mb3", "utf8mb4", "binary",
                            "ascii", ...) of a string/ENUM/SET column; NULL when not a
                            string or unknown (binary then for BLOB/STRING types) */
    const char *const *labels; /* ENUM/SET member names, in declaration order */
    uint32_t nlabels;
    const char *name;  /* column name, for error messages */
} my_coldef_t;

typedef struct my_conv my_conv_t;

/* Reads the per-column metadata block of a TABLE_MAP event (the `metadata` field):
 * for each of `ncols` columns, as many bytes as its type uses (0, 1 or 2; STRING's
 * two bytes are real_type/length as the server writes them), stored as an integer in
 * meta_out[i] in the form my_coldef_t.meta expects. SL_ERR_PROTO when the block is
 * shorter or longer than the types need, or a type is unknown.
 *
 * The encoding of meta_out[i] (and of my_coldef_t.meta):
 *   FLOAT, DOUBLE            the storage size byte (4, 8)
 *   BLOB (249-252), JSON,    the size of the length prefix (1..4)
 *   GEOMETRY
 *   TIMESTAMP2, DATETIME2,   the fractional second precision (0..6)
 *   TIME2
 *   VARCHAR, VAR_STRING      the maximum length in bytes (little-endian on the wire)
 *   NEWDECIMAL               precision << 8 | scale
 *   BIT                      (n / 8) << 8 | (n % 8), n = length in bits
 *   STRING (CHAR, BINARY)    the maximum length in bytes, 0..1020: the high bits that
 *                            the server folds into the real-type byte
 *                            (real_type ^ ((len & 0x300) >> 4)) are decoded, so
 *                            meta < 256 means a 1-byte length prefix, else 2
 *   STRING that is an ENUM   MY_T_ENUM << 8 | storage bytes (1 or 2),  0xF701/0xF702
 *   STRING that is a SET     MY_T_SET << 8 | storage bytes (1..4, 8),  0xF801..0xF808
 *   everything else          0
 * An ENUM/SET thus stays recognisable from (MY_T_STRING, meta) alone (meta >> 8 is
 * 247/248, which no CHAR length reaches); my_tablemap_parse() also rewrites its type
 * to MY_T_ENUM/MY_T_SET, and my_conv_new() accepts MY_T_ENUM/MY_T_SET with meta either
 * in this form or as the bare storage size. my_coldef_from_decl() produces exactly
 * this form. */
SL_WUR int my_tablemap_meta(const uint8_t *types, uint32_t ncols, const uint8_t *meta,
                            size_t meta_len, uint16_t *meta_out, char *errstr, size_t errstr_size);

/* Fills `out` from one information_schema.COLUMNS row: DATA_TYPE ("int", "varchar",
 * "enum", ...), COLUMN_TYPE ("int(10) unsigned", "enum('a','b')", "datetime(6)",
 * "decimal(10,2)", "bit(5)"), CHARACTER_SET_NAME (NULL if none), CHARACTER_OCTET_LENGTH
 * (for CHAR/VARCHAR/BINARY/VARBINARY: the wire meta), nullable. ENUM/SET labels are
 * parsed out of COLUMN_TYPE into `labels_buf` (malloc'd array of malloc'd strings,
 * stored in *labels_out; free with my_labels_free). The result equals what a TABLE_MAP
 * with FULL row metadata describes for the same column (MariaDB 10.11): binary
 * string/BLOB types and GEOMETRY get charset "binary" (the TABLE_MAP's collation 63),
 * CHAR/VARCHAR meta is the octet length, YEAR is unsigned, ENUM/SET labels are
 * converted from UTF-8 (information_schema) into the column's character set (as the
 * TABLE_MAP carries them). out->name is left NULL: set it from COLUMN_NAME. `charset`
 * is borrowed like the other strings. SL_ERR_UNSUPPORTED for a data type without a
 * mapping (e.g. MariaDB's inet4/inet6/uuid), SL_ERR_PROTO for a malformed COLUMN_TYPE. */
SL_WUR int my_coldef_from_decl(my_coldef_t *out, const char *data_type, const char *column_type,
                               const char *charset, uint64_t octet_length, bool nullable,
                               char ***labels_out, uint32_t *nlabels_out, char *errstr,
                               size_t errstr_size);
void my_labels_free(char **labels, uint32_t n);

SL_WUR int my_conv_new(my_conv_t **out, const my_coldef_t *def, const my_type_opts_t *opts,
                       char *errstr, size_t errstr_size);
void my_conv_free(my_conv_t *conv);

/* Appends this column's field schema, e.g. {"type":"int32","optional":false,"field":"id"};
 * `field` is the raw column name (escaped here). */
void my_conv_schema(const my_conv_t *conv, sl_buf_t *out, const char *field);

/* Decodes one non-NULL value at p (avail bytes left in the row image), appends its JSON
 * and sets *used to the bytes it occupied. SL_ERR_PROTO on malformed bytes, with a
 * message in errstr; nothing appended then. */
SL_WUR int my_conv_binlog_value(const my_conv_t *conv, const uint8_t *p, size_t avail,
                                size_t *used, sl_buf_t *out, char *errstr, size_t errstr_size);

/* Appends the JSON for one non-NULL value in the text protocol's form (a SELECT in the
 * snapshot, session time_zone '+00:00'), `len` bytes, not NUL-terminated. The snapshot
 * selects BIT, GEOMETRY and binary columns as they are (raw bytes). Text arrives in the
 * connection's character set (utf8mb4), so the snapshot's converters are made with
 * charset "utf8mb4" for every non-binary text column (my_tables.c); the JSON is the
 * same as the binlog path's. SL_ERR_PROTO on text that is not a value of the column's type,
 * with a message naming the column; nothing appended then. */
SL_WUR int my_conv_text_value(const my_conv_t *conv, const char *text, size_t len, sl_buf_t *out,
                              char *errstr, size_t errstr_size);

/* Zero dates rendered so far (invariant 3). */
uint64_t my_conv_zero_dates(const my_conv_t *conv);

/* --- row images -------------------------------------------------------------- */

/* A column of the table being decoded, with its JSON key pre-rendered ("name":). */
typedef struct my_rowcol {
    const my_conv_t *conv;
    const char *json_key; /* "\"name\":" */
    size_t json_key_len;
    bool excluded; /* column.exclude.list: decoded (to skip its bytes) but not rendered */
} my_rowcol_t;

/* Where a column's rendered JSON value sits in `out` after my_row_decode (for building
 * the key from the same values). len == 0: column absent or excluded. */
typedef struct my_span {
    size_t off, len;
} my_span_t;

/* Decodes one row image of a rows event: the NULL bitmap (one bit per column present
 * in `present`, a bitmap of ncols bits), then each present non-NULL column's value.
 * Appends {"a":1,"b":null,...} (present, non-excluded columns, in column order) to out,
 * fills spans[i] for each column, sets *used to the row image's size. Any column not
 * present in `present` makes it SL_ERR_UNSUPPORTED (a partial row image: the table's
 * binlog_row_image is not FULL) -- callers check my_bitmap_full() first to say so once.
 * SL_ERR_PROTO on malformed bytes; errstr names the column. */
SL_WUR int my_row_decode(const my_rowcol_t *cols, uint32_t ncols, const uint8_t *present,
                         const uint8_t *p, size_t avail, size_t *used, sl_buf_t *out,
                         my_span_t *spans, char *errstr, size_t errstr_size);

/* True when the first ncols bits of bitmap are all set. */
bool my_bitmap_full(const uint8_t *bitmap, uint32_t ncols);

/* --- MySQL's binary JSON (type 245) -------------------------------------------- */

/* Appends the JSON text of a MySQL binary JSON document (as a JSON string literal, the
 * way Debezium sends io.debezium.data.Json: "{\"a\":1}"). SL_ERR_PROTO on malformed
 * input; depth and sizes bounded. */
SL_WUR int my_json_binary_to_text(const uint8_t *p, size_t len, sl_buf_t *out, char *errstr,
                                  size_t errstr_size);

#endif
