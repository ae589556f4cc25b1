/*
 * pg_offsets.c — the PostgreSQL source's offset record: a position as text and back.
 *
 * The record (key=value lines, inside the offset store's file):
 *   source=postgres
 *   system_id=<IDENTIFY_SYSTEM's id>   the cluster the position belongs to
 *   slot=<slot name>
 *   lsn_ack=<X/Y>       newest end LSN of a complete transaction: where streaming resumes
 *                       and what was confirmed to the server
 *   txn_lsn=<X/Y>       commit LSN of a transaction delivered only in part (0/0: none)
 *   event_index=<n>     index of its last durable event (-1: none)
 *   snapshot=done|incomplete
 *
 * Invariants:
 *  1. A position that ends a transaction, a heartbeat or the snapshot is "complete":
 *     txn_lsn=0/0 and event_index=-1, so a restart skips nothing.
 *  2. Parsing is strict: a record with a missing or malformed field is refused with a
 *     message, never read as "start from zero".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/offsets.h"
#include "source/pg/pg_source.h"

int pg_offset_format(const char *system_id, const char *slot, const sl_pos_t *pos, sl_buf_t *out)
{
    char a[20], b[20];
    bool complete = (pos->flags & (SL_POS_TXN_END | SL_POS_HEARTBEAT | SL_POS_SNAPSHOT_END)) ||
                    pos->index < 0;
    sl_buf_printf(out,
                  "source=postgres\nsystem_id=%s\nslot=%s\nlsn_ack=%s\ntxn_lsn=%s\n"
                  "event_index=%" PRId64 "\nsnapshot=%s\n",
                  system_id, slot, sl_lsn_fmt(pos->ack_lsn, a),
                  sl_lsn_fmt(complete ? 0 : pos->txn_lsn, b), complete ? (int64_t)-1 : pos->index,
                  (pos->flags & SL_POS_SNAPSHOT) ? "incomplete" : "done");
    return sl_buf_ok(out) ? SL_OK : SL_ERR_NOMEM;
}

int pg_offset_parse(const char *text, pg_offset_t *out, char *errstr, size_t errstr_size)
{
    char v[128];
    memset(out, 0, sizeof *out);
    if (sl_offset_get(text, "source", v, sizeof v) != 0 || strcmp(v, "postgres") != 0) {
        snprintf(errstr, errstr_size, "the offsets file was not written by the PostgreSQL source");
        return SL_ERR_POSITION;
    }
    if (sl_offset_get(text, "system_id", out->system_id, sizeof out->system_id) != 0)
        out->system_id[0] = 0;
    if (sl_offset_get(text, "slot", out->slot, sizeof out->slot) != 0)
        out->slot[0] = 0;
    const char *bad = NULL;
    if (sl_offset_get(text, "lsn_ack", v, sizeof v) != 0 || sl_lsn_parse(v, &out->ack_lsn) != 0)
        bad = "lsn_ack";
    else if (sl_offset_get(text, "txn_lsn", v, sizeof v) != 0 ||
             sl_lsn_parse(v, &out->txn_lsn) != 0)
        bad = "txn_lsn";
    else
        bad = sl_offset_get_index(text, &out->index, &out->snapshot_done);
    if (bad) {
        snprintf(errstr, errstr_size,
                 "the offsets file is damaged (%s is missing or malformed); refusing to guess a "
                 "position (restore it, or remove it to start over with a snapshot)", bad);
        return SL_ERR_POSITION;
    }
    return SL_OK;
}
