/*
 * event.h — one change event on its way from a source to the sinks, and its position.
 *
 * A source decodes a change, renders it (topic, key JSON, value JSON) and hands
 * the pipeline an sl_event_t. From then on the event is immutable and
 * reference-counted: the pipeline's transaction ring holds one reference until
 * the event is durable; a sink that keeps it past submit() may hold another.
 * Topic, key and value live inline in the same allocation (one malloc per
 * event). For a sink that asks for it (SL_SINK_CAP_SPLIT) key and value are the bare
 * payloads and their Connect schemas are shared by reference (sl_schema_t below).
 *
 * Markers are events without a payload (kind != SL_EV_DATA). They never reach a
 * sink; they exist so that a position (a transaction's commit, the end of the
 * snapshot) becomes durable in source order like everything else.
 *
 * Positions (DESIGN.md §1): a position is never a bare LSN. It says which
 * transaction the event belongs to (txn_lsn = its commit LSN), where the event is
 * inside it (index), and `ack_lsn`: the newest point that may be acknowledged
 * upstream once this event is durable (the end LSN of the newest transaction that
 * was complete when this event was produced). Restart resumes from ack_lsn and
 * skips, inside transaction txn_lsn, the events with an index <= the stored one.
 */
#ifndef SL_EVENT_H
#define SL_EVENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    SL_POS_SNAPSHOT = 1u << 0,     /* event of the initial snapshot */
    SL_POS_SNAPSHOT_END = 1u << 1, /* the snapshot is complete at this position */
    SL_POS_TXN_END = 1u << 2,      /* the last event of its transaction (commit marker) */
    SL_POS_HEARTBEAT = 1u << 3     /* idle progress: ack_lsn moved without a transaction */
};

typedef struct sl_pos {
    uint64_t ack_lsn; /* may be acknowledged upstream once this event is durable */
    uint64_t txn_lsn; /* commit LSN of the event's transaction (0: snapshot, heartbeat) */
    uint64_t lsn;     /* LSN of the change itself */
    int64_t index;    /* index of the event in its transaction (snapshot: row number) */
    uint32_t xid;
    uint32_t flags;   /* SL_POS_* */
} sl_pos_t;

typedef enum sl_ev_kind {
    SL_EV_DATA = 0,  /* has topic/key/value; goes to sinks */
    SL_EV_MARKER = 1 /* position only */
} sl_ev_kind_t;

/* The Connect schemas of an event's key and value, shared by every event of one relation
 * version: immutable and reference-counted (any thread). key/value are NULL when that
 * side carries no schema (schemas disabled, no key). */
typedef struct sl_schema {
    atomic_int refcnt;
    uint64_t id; /* sl_schema_id_new() */
    const char *key, *value;
    size_t key_len, value_len;
    char data[];
} sl_schema_t;

typedef struct sl_event {
    atomic_int refcnt;
    uint8_t kind; /* sl_ev_kind_t */
    char op;      /* 'c','u','d','r','t','m', 0 for tombstones, heartbeats and markers */
    uint64_t seq; /* assigned by the pipeline: dense, increasing in source order */
    sl_pos_t pos;
    const char *topic; /* NUL-terminated */
    const char *key;   /* NULL: no key */
    const char *value; /* NULL: tombstone */
    size_t topic_len, key_len, value_len;
    size_t mem_size; /* bytes this event accounts for in queue limits */
    /* 0, or the identity of the value's schema text: two events with the same non-zero
     * schema_id have byte-identical {"schema":S,...} parts S (the source renders S once
     * per relation version and copies it). A sink that reads schemas back may key its
     * cache on it instead of comparing the text (the jdbc sink). Set by the source
     * before emit; sl_schema_id_new() gives unique ids. */
    uint64_t schema_id;
    /* NULL, or the event is split (only for a sink with SL_SINK_CAP_SPLIT, plugin.h):
     * key and value are the bare payloads and their schemas are here, by reference, so
     * that kilobytes of schema text are neither copied into nor parsed out of every event.
     * The joined form {"schema":S,"payload":P} is sl_event_join()'s. schema_id equals
     * schema->id. The event holds a reference. */
    sl_schema_t *schema;
    char data[];
} sl_event_t;

/* Allocates an event with copies of topic/key/value (key/value may be NULL). refcnt = 1.
 * Returns NULL on out of memory. */
sl_event_t *sl_event_new(const sl_pos_t *pos, char op, const char *topic, size_t topic_len,
                         const char *key, size_t key_len, const char *value, size_t value_len);
sl_event_t *sl_event_new_marker(const sl_pos_t *pos);
static inline sl_event_t *sl_event_ref(sl_event_t *ev)
{
    atomic_fetch_add_explicit(&ev->refcnt, 1, memory_order_relaxed);
    return ev;
}
void sl_event_unref(sl_event_t *ev);
/* A process-wide unique, non-zero schema id (thread-safe). */
uint64_t sl_schema_id_new(void);

/* A schema pair with a new id and copies of the texts (either may be NULL); refcnt = 1.
 * NULL on out of memory. */
sl_schema_t *sl_schema_new(const char *key, size_t key_len, const char *value,
                           size_t value_len);
static inline sl_schema_t *sl_schema_ref(sl_schema_t *s)
{
    atomic_fetch_add_explicit(&s->refcnt, 1, memory_order_relaxed);
    return s;
}
void sl_schema_unref(sl_schema_t *s);
/* Replaces *slot (released; may be NULL) by a new pair of copies of the texts (NULL: that
 * side has no schema). SL_ERR_NOMEM leaves *slot NULL. */
int sl_schema_replace(sl_schema_t **slot, const char *key, size_t key_len, const char *value,
                      size_t value_len);
/* Gives the event the identity of its schemas (schema_id = s->id) and, when `split`, a
 * reference to them: its key and value are then the bare payloads. */
void sl_event_set_schema(sl_event_t *ev, sl_schema_t *s, bool split);
/* The event's key (value == false) or value as JSON with its schema, as an unsplit event
 * carries it: appends {"schema":S,"payload":P} for a split event whose side has a
 * schema, else the text itself. Appends nothing for a missing key or value. */
struct sl_buf;
void sl_event_join(const sl_event_t *ev, bool value, struct sl_buf *out);

/* PostgreSQL's textual LSN form "XXX/XXX"; buf must hold 20 bytes. */
const char *sl_lsn_fmt(uint64_t lsn, char buf[20]);
/* Parses "XXX/XXX"; returns 0 on success, -1 on malformed text. */
int sl_lsn_parse(const char *s, uint64_t *out);

#endif
