/*
 * offsets.h — the file offset store (offset.storage.file.filename).
 *
 * Stores one small text record: the newest durable position, rendered by the
 * source (key=value lines). Each commit replaces the whole file atomically:
 * write a temporary file, fsync it, rename it over the old one, fsync the
 * directory. A crash at any point leaves either the old or the new record,
 * never a torn one.
 *
 * Invariants:
 *  1. The record on disk is only ever a position that was durable in every sink
 *     when it was written (the pipeline guarantees this; the store only writes).
 *  2. The source acknowledges upstream only what has been committed here.
 */
#ifndef SL_OFFSETS_H
#define SL_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct sl_offset_store sl_offset_store_t;

/* Creates the parent directory when missing. Does not read yet. */
SL_WUR int sl_offset_store_open(sl_offset_store_t **out, const char *path, char *errstr,
                                size_t errstr_size);
void sl_offset_store_close(sl_offset_store_t *os);

/* Reads the stored record: *text = malloc'd NUL-terminated record (caller frees), or
 * NULL when no offsets were ever stored. SL_ERR_IO / SL_ERR_PROTO (not a sluice offsets
 * file) with errstr set. */
SL_WUR int sl_offset_store_load(sl_offset_store_t *os, char **text, char *errstr,
                                size_t errstr_size);

/* Atomically replaces the record. SL_ERR_IO with errstr set (disk full, ...). */
SL_WUR int sl_offset_store_commit(sl_offset_store_t *os, const char *text, size_t len,
                                  char *errstr, size_t errstr_size);

/* Finds `key` in a key=value record; copies its value into out. Returns 0, or -1 if absent. */
int sl_offset_get(const char *text, const char *key, char *out, size_t out_size);
/* The fields every source's record ends with: event_index (-1 or more) and snapshot
 * (done | incomplete). Returns NULL, or the name of the one missing or malformed. */
const char *sl_offset_get_index(const char *text, int64_t *index, bool *snapshot_done);

#endif
