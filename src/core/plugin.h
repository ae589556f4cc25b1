/*
 * plugin.h — the two vtables through which sources and sinks plug into the core.
 *
 * The core never names a source or a sink; src/registry.c lists the compiled-in
 * ones (as nginx's module list does). Each vtable carries an ABI number so a
 * table built against an older contract is refused instead of misread.
 *
 * Threads: a source's run() executes on its own thread; everything else (sink
 * calls, the source's ack() after run() returned, create/destroy) runs on the
 * pipeline thread. stop() may be called from any thread.
 *
 * The sink contract (libuv's rule): a submit() that fails never produces a
 * delivery report; a submit() that succeeds produces exactly one, with err ==
 * SL_OK only when the event is durable in the sink (fsynced, acknowledged by
 * all in-sync replicas, committed).
 */
#ifndef SL_PLUGIN_H
#define SL_PLUGIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/event.h"

#define SL_SINK_ABI 1
#define SL_SOURCE_ABI 1

/* --- sinks --------------------------------------------------------------- */

typedef struct sl_sink sl_sink_t; /* each sink defines its own struct sl_sink */

typedef struct sl_sink_env {
    /* Delivery report, called on the pipeline thread from submit/flush/poll. */
    void (*on_delivery)(void *opaque, sl_event_t *ev, int err);
    void *opaque;
    /* Set (by a signal handler) when sluice is asked to stop: a sink that waits to retry
     * gives up early. May be NULL (sluice check). */
    const volatile sig_atomic_t *stop;
} sl_sink_env_t;

typedef struct sl_sink_ops {
    int abi;          /* SL_SINK_ABI */
    const char *name; /* value of debezium.sink.type */
    const sl_prop_table_t *props;
    SL_WUR int (*create)(sl_sink_t **out, const sl_conf_t *conf, const sl_sink_env_t *env,
                         char *errstr, size_t errstr_size);
    /* `sluice check`: prints one line per prerequisite; returns the number of problems. */
    int (*check)(const sl_conf_t *conf, FILE *report);
    /* `ev` stays valid until its delivery report: the pipeline's ring holds a reference
     * until then. A sink that keeps the event beyond the call may take its own reference
     * (sl_event_ref) and drop it after reporting. SL_ERR_AGAIN: call flush/poll first. */
    SL_WUR int (*submit)(sl_sink_t *snk, sl_event_t *ev);
    /* Makes everything submitted durable; synchronous sinks report before returning. */
    SL_WUR int (*flush)(sl_sink_t *snk);
    /* Serves asynchronous delivery reports for up to timeout_ms. */
    int (*poll)(sl_sink_t *snk, int timeout_ms);
    const char *(*last_error)(const sl_sink_t *snk);
    /* Releases everything; must not call on_delivery any more (the pipeline destroys the
     * sink before its ring, so events still in flight are alive while it drains). */
    void (*destroy)(sl_sink_t *snk);

    /* Used when caps() has SL_SINK_CAP_OFFSETS: a sink that stores the source position
     * itself, in the same atomic unit as the events (a database transaction, a Kafka
     * transaction). Then the file offset store is not used, and delivery is exactly-once:
     *  - offset_load: the stored record (malloc'd, NULL when none), called once after
     *    create() and before the source starts;
     *  - flush_offset: like flush(), and the sink stores `offset` (the position right
     *    after the last event submitted so far) atomically with everything it flushes;
     *    called even when no event was submitted since the last flush, so that progress
     *    made of markers alone (empty transactions, the snapshot's end) is stored too. */
    SL_WUR int (*offset_load)(sl_sink_t *snk, char **text, char *errstr, size_t errstr_size);
    SL_WUR int (*flush_offset)(sl_sink_t *snk, const char *offset, size_t offset_len);

    /* Optional: SL_SINK_CAP_* of this instance (it may depend on the configuration). */
    unsigned (*caps)(const sl_sink_t *snk);
    /* Optional: combinations of this sink's keys the property table cannot express,
     * checked at load (run and check), before anything starts: SL_ERR_CONFIG with a
     * one-line message naming the key and file:line (exit 2). */
    int (*validate)(const sl_conf_t *conf, char *errstr, size_t errstr_size);
} sl_sink_ops_t;

/* The instance stores the source position with its data (offset_load/flush_offset). */
#define SL_SINK_CAP_OFFSETS 2u
/* Delivery reports arrive through poll() on their own (a Kafka producer sends without
 * being flushed): while events flow the pipeline only polls, and calls flush() just to
 * finish. A sink that stores offsets (flush_offset) is always driven by flushes. */
#define SL_SINK_CAP_ASYNC 1u

/* The sink reads split events (sl_event_t.schema, event.h): payloads with their schemas
 * by reference. A source may still hand it unsplit ones (schema NULL). */
#define SL_SINK_CAP_SPLIT 4u

/* --- sources ------------------------------------------------------------- */

typedef struct sl_source sl_source_t;

typedef struct sl_source_env {
    /* Hands an event to the pipeline (ownership passes on SL_OK). Waits at most
     * timeout_ms: SL_ERR_AGAIN means "full, keep the connection alive and retry";
     * SL_ERR_STOPPED means "return from run()". */
    int (*emit)(void *opaque, sl_event_t *ev, int timeout_ms);
    /* Newest position committed to the offset store: what may be acknowledged upstream.
     * Returns false if nothing has been committed in this run. Any thread. */
    bool (*acked)(void *opaque, sl_pos_t *pos);
    void *opaque;
    const char *stored_offset; /* record from the offset store, NULL when none */
    bool split_events;         /* the sink takes split events (SL_SINK_CAP_SPLIT); optional */
    const char *conf_path;     /* for messages */
} sl_source_env_t;

typedef struct sl_source_ops {
    int abi;                    /* SL_SOURCE_ABI */
    const char *name;           /* "postgres" */
    const char *const *classes; /* connector.class values and aliases, NULL-terminated */
    const sl_prop_table_t *props;
    SL_WUR int (*create)(sl_source_t **out, const sl_conf_t *conf, const sl_source_env_t *env,
                         char *errstr, size_t errstr_size);
    /* Checks combinations of keys the property table cannot express (may be NULL).
     * Runs before anything starts; SL_ERR_CONFIG with a one-line message in errstr. */
    int (*validate)(const sl_conf_t *conf, char *errstr, size_t errstr_size);
    /* `sluice check`: prints one line per prerequisite; returns the number of problems. */
    int (*check)(const sl_conf_t *conf, FILE *report);
    /* Source thread: produce events until stop() or a fatal error. SL_OK after stop(). */
    int (*run)(sl_source_t *src);
    void (*stop)(sl_source_t *src);
    /* Renders a durable position as the offset record (key=value lines). */
    SL_WUR int (*format_pos)(sl_source_t *src, const sl_pos_t *pos, sl_buf_t *out);
    /* After run() returned: acknowledge `pos` upstream one last time. */
    int (*ack)(sl_source_t *src, const sl_pos_t *pos);
    const char *(*last_error)(const sl_source_t *src);
    void (*destroy)(sl_source_t *src);
} sl_source_ops_t;

/* registry.c */
extern const sl_source_ops_t *const sl_sources[];
extern const sl_sink_ops_t *const sl_sinks[];
const sl_source_ops_t *sl_registry_source(const char *connector_class);
const sl_sink_ops_t *sl_registry_sink(const char *type);
/* All property tables (core, every source, every sink), NULL-terminated array. */
const sl_prop_table_t *const *sl_registry_tables(size_t *n);

/* core_props.c */
extern const sl_prop_table_t sl_core_props;
/* The core keys' combinations the table cannot express (max.queue.size > max.batch.size,
 * topic.prefix's characters): SL_ERR_CONFIG with a one-line message naming file:line. */
int sl_core_validate(const sl_conf_t *conf, char *errstr, size_t errstr_size);

#endif
