/*
 * dbz.h — the parts of Debezium's JSON event format every source shares.
 *
 * Each source renders its own `source` block and row values (they differ per
 * database); the envelope around them is the same for all: the value schema's
 * tail (transaction block, op, ts_*), the tail of a change value
 * (,"transaction":null,"op":..,"ts_ms":..,"ts_us":..,"ts_ns":..}) and heartbeat
 * records. Keeping them here keeps the sources' output identical where Debezium's is.
 */
#ifndef SL_DBZ_H
#define SL_DBZ_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

/* Wall clock, microseconds since the Unix epoch. */
int64_t sl_dbz_now_us(void);

/* Appends the envelope schema's fields after source:
 * ,<transaction block>,op,ts_ms,ts_us,ts_ns],"optional":false,"name":"<topic>.Envelope","version":2} */
void sl_dbz_envelope_schema_tail(sl_buf_t *b, const char *topic, size_t topic_len);

/* Appends ,"transaction":null,"op":"<op>","ts_ms":..,"ts_us":..,"ts_ns":..} (now, or
 * now_us from the caller, who may read the clock once for a batch of events). */
void sl_dbz_change_tail(sl_buf_t *b, char op);
void sl_dbz_change_tail_at(sl_buf_t *b, char op, int64_t now_us);

/* Renders a heartbeat record (Debezium's ServerNameKey / Heartbeat) into k and v. */
void sl_dbz_heartbeat(sl_buf_t *k, sl_buf_t *v, const char *server_name, bool key_schemas,
                      bool value_schemas, int64_t ts_ms);



/* --- snapshot labels ------------------------------------------------------------
 * source.snapshot follows Debezium 2.x: "first" for the very first record,
 * "first_in_data_collection" / "last_in_data_collection" at table boundaries, "last"
 * for the very last record, "true" otherwise. Which row is last is known only when the
 * next one (or the end) is seen, so one encoded row is held back. The source renders
 * each row with "true" at label_off in its value and hands its key/value buffers over
 * (they are swapped, not copied); release() makes the held row's event with its final
 * label. */
#include "core/event.h"

typedef struct sl_dbz_snap_hold {
    bool have;
    bool first_overall, first_in_table;
    int64_t rows;        /* rows held so far (the next row's number) */
    sl_buf_t k, v;       /* the held row's key and value */
    size_t label_off;    /* where "true" sits in v */
    const char *topic;   /* borrowed: must live until release() */
    size_t topic_len;
    sl_pos_t pos;
    sl_schema_t *schema; /* the held event's schemas (a reference), NULL: none */
    bool split;          /* ... and the event is split (event.h) */
} sl_dbz_snap_hold_t;

/* Emits nothing itself: returns the previously held row's event in *out (NULL when none
 * was held) labelled as not last overall, then holds this one. k/v are swapped with the
 * hold's buffers. `schema` (may be NULL) and `split` are given to the event as by
 * sl_event_set_schema (the hold keeps a reference meanwhile). *out is NULL and
 * SL_ERR_NOMEM on out of memory. */
int sl_dbz_snap_hold(sl_dbz_snap_hold_t *h, sl_buf_t *k, sl_buf_t *v, size_t label_off,
                     const char *topic, size_t topic_len, sl_schema_t *schema, bool split,
                     const sl_pos_t *pos, bool first_in_table, sl_event_t **out);
/* The held row's event (NULL when none), labelled with what is known now. */
int sl_dbz_snap_release(sl_dbz_snap_hold_t *h, bool last_in_table, bool last_overall,
                        sl_event_t **out);
void sl_dbz_snap_hold_free(sl_dbz_snap_hold_t *h);
#endif
