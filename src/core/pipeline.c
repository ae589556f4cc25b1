/*
 * pipeline.c — source thread -> bounded queue -> sink -> txn ring -> offset store -> ack.
 *
 * How it works. The source runs on its own thread and hands finished (encoded)
 * events to the bounded queue. This thread takes them in batches, registers
 * each in the transaction ring (which gives it its sequence number), submits
 * data events to the sink and marks markers done at once. The sink is flushed
 * when the queue runs dry, when the flush interval has passed, or when enough
 * bytes are pending; its delivery reports mark events done. The ring's done
 * prefix is the durable frontier: its newest position is written to the
 * offset store (at most every offset.flush.interval.ms, and always at the end
 * of a snapshot and at stop), and only after that write is it published to
 * the source as "acked", which the source then confirms to the database.
 *
 * Invariants:
 *  1. A position is written to the offset store only if every event up to it
 *     has a successful delivery report (the ring never passes a not-done event).
 *  2. The source acknowledges upstream only positions already in the offset
 *     store (acked is published after sl_offset_store_commit returns).
 *  3. A failed delivery stops the pipeline: the frontier stays before the
 *     failed event, so a restart re-sends it.
 *  4. Memory: at most max.queue.size events / max.queue.size.in.bytes bytes in
 *     the queue, and as much again in flight in the sink (the ring stops taking
 *     events at either bound and flushes the sink).
 *  5. Group flush: when the queue runs dry the sink is flushed at once, unless
 *     the previous flush was less than sluice.sink.flush.min.interval.ms ago;
 *     then it waits for that gap, so a stream of tiny transactions costs one
 *     fsync per gap, not one per transaction.
 *  6. A sink that stores offsets itself (caps SL_SINK_CAP_OFFSETS; plugin.h) gets,
 *     with each flush, the position right after the last event it accepted (or a
 *     marker that followed it); the file offset store is then not used, and acked is
 *     published as soon as the flushed events are reported.
 *  7. An asynchronous sink (SL_SINK_CAP_ASYNC) is never made to wait for all its
 *     outstanding deliveries while events flow: when the ring is full the pipeline
 *     polls until the oldest events are acknowledged; flush() only finishes a run.
 *  8. Topics are routed (debezium.transforms, route.c) on this thread, right before
 *     an event reaches the sink; every sink sees the routed name.
 *  9. A sink that stores offsets (invariant 6) commits whole source transactions: on
 *     time or when the queue runs dry it is flushed only at a transaction's end, so one
 *     source transaction is one target transaction (grouped with others). Only the
 *     in-flight bound cuts a transaction too large for it (the jdbc sink's batch.size
 *     waits for a transaction's end); a stop inside a transaction commits none of it (a
 *     restart sends it whole).
 *
 * States: RUNNING --(stop flag | source ended | fatal error)--> DRAINING
 *         --(queue empty, sink flushed, offsets stored)--> DONE
 */
#include "core/pipeline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/offsets.h"
#include "core/queue.h"
#include "core/route.h"
#include "core/txnring.h"

#define POP_TIMEOUT_MS 50
#define ASYNC_POLL_MS 2 /* how often an async sink's reports are served while it has some */
#define FLUSH_BYTES (8u << 20)

typedef struct pipeline {
    const sl_source_ops_t *sops;
    sl_source_t *src;
    const sl_sink_ops_t *kops;
    sl_sink_t *snk;
    sl_queue_t *q;
    sl_txnring_t *ring;
    sl_offset_store_t *os;
    sl_router_t *router; /* debezium.transforms; NULL: topics pass as they are */

    pthread_mutex_t ack_mu;
    sl_pos_t acked;
    bool have_acked;

    int delivery_err;
    char delivery_msg[512];

    bool sink_offsets;  /* the sink stores positions with its data (invariant 6) */
    bool async;         /* reports come through poll(): no flush while events flow (7) */
    sl_pos_t sink_pos;  /* position right after the last event the sink accepted */
    bool sink_pos_set;
    bool sink_pos_dirty; /* sink_pos moved since the last flush */

    pthread_t thread;
    int src_rc;
    char src_msg[1024];
    atomic_bool src_finished;
} pipeline_t;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int env_emit(void *opaque, sl_event_t *ev, int timeout_ms)
{
    pipeline_t *p = opaque;
    return sl_queue_push(p->q, ev, timeout_ms);
}

static bool env_acked(void *opaque, sl_pos_t *pos)
{
    pipeline_t *p = opaque;
    pthread_mutex_lock(&p->ack_mu);
    bool have = p->have_acked;
    if (have)
        *pos = p->acked;
    pthread_mutex_unlock(&p->ack_mu);
    return have;
}

static void on_delivery(void *opaque, sl_event_t *ev, int err)
{
    pipeline_t *p = opaque;
    if (err != SL_OK) {
        if (p->delivery_err == SL_OK) {
            p->delivery_err = err;
            const char *m = p->kops->last_error ? p->kops->last_error(p->snk) : NULL;
            snprintf(p->delivery_msg, sizeof p->delivery_msg, "sink %s: delivery failed: %s",
                     p->kops->name, m && *m ? m : sl_err_str(err));
        }
        return;
    }
    sl_txnring_done(p->ring, ev);
}

static void *source_main(void *arg)
{
    pipeline_t *p = arg;
    p->src_rc = p->sops->run(p->src);
    if (p->src_rc != SL_OK && p->src_rc != SL_ERR_STOPPED) {
        const char *m = p->sops->last_error ? p->sops->last_error(p->src) : NULL;
        snprintf(p->src_msg, sizeof p->src_msg, "%s", m && *m ? m : sl_err_str(p->src_rc));
    }
    sl_queue_close(p->q);
    atomic_store(&p->src_finished, true);
    return NULL;
}

/* Writes the durable position to the offset store, then publishes it as acked. A sink
 * that stores offsets already holds it (invariant 6): only publish. */
static int commit_offset(pipeline_t *p, const sl_pos_t *pos, char *errstr, size_t errstr_size)
{
    if (p->sink_offsets) {
        pthread_mutex_lock(&p->ack_mu);
        p->acked = *pos;
        p->have_acked = true;
        pthread_mutex_unlock(&p->ack_mu);
        return SL_OK;
    }
    sl_buf_t b = SL_BUF_INIT;
    int rc = p->sops->format_pos(p->src, pos, &b);
    if (rc == SL_OK && !sl_buf_ok(&b))
        rc = SL_ERR_NOMEM;
    if (rc == SL_OK)
        rc = sl_offset_store_commit(p->os, b.data, b.len, errstr, errstr_size);
    else
        snprintf(errstr, errstr_size, "could not render the position: %s", sl_err_str(rc));
    sl_buf_free(&b);
    if (rc != SL_OK)
        return rc;
    pthread_mutex_lock(&p->ack_mu);
    p->acked = *pos;
    p->have_acked = true;
    pthread_mutex_unlock(&p->ack_mu);
    return SL_OK;
}

/* Invariant 9: the sink stores offsets with its data and the last event it accepted is
 * inside a source transaction (not the snapshot, not the transaction's end marker). */
static bool mid_transaction(const pipeline_t *p)
{
    const sl_pos_t *s = &p->sink_pos;
    return p->sink_offsets && p->sink_pos_set && s->txn_lsn != 0 && s->index >= 0 &&
           !(s->flags & (SL_POS_SNAPSHOT | SL_POS_SNAPSHOT_END | SL_POS_TXN_END | SL_POS_HEARTBEAT));
}

static int flush_sink(pipeline_t *p, char *errstr, size_t errstr_size)
{
    int rc;
    if (p->sink_offsets && p->sink_pos_set) {
        sl_buf_t b = SL_BUF_INIT;
        rc = p->sops->format_pos(p->src, &p->sink_pos, &b);
        if (rc == SL_OK && !sl_buf_ok(&b))
            rc = SL_ERR_NOMEM;
        if (rc == SL_OK)
            rc = p->kops->flush_offset(p->snk, b.data, b.len);
        sl_buf_free(&b);
        if (rc == SL_OK)
            p->sink_pos_dirty = false;
    } else {
        rc = p->kops->flush(p->snk);
    }
    if (rc != SL_OK) {
        const char *m = p->kops->last_error ? p->kops->last_error(p->snk) : NULL;
        snprintf(errstr, errstr_size, "sink %s: %s", p->kops->name,
                 m && *m ? m : sl_err_str(rc));
        return rc;
    }
    if (p->delivery_err != SL_OK) {
        snprintf(errstr, errstr_size, "%s", p->delivery_msg);
        return p->delivery_err;
    }
    return SL_OK;
}

int sl_pipeline_run(const sl_conf_t *conf, const sl_source_ops_t *sops, const sl_sink_ops_t *kops,
                    const char *conf_path, volatile sig_atomic_t *stop, char *errstr,
                    size_t errstr_size)
{
    pipeline_t P = {0}, *p = &P;
    int rc = SL_OK;
    char *stored = NULL;
    bool thread_started = false;
    sl_event_t **batch = NULL;

    p->sops = sops;
    p->kops = kops;
    pthread_mutex_init(&p->ack_mu, NULL);
    size_t max_events = (size_t)sl_conf_int(conf, "debezium.source.max.queue.size");
    size_t max_bytes = (size_t)sl_conf_int(conf, "debezium.source.max.queue.size.in.bytes");
    size_t max_batch = (size_t)sl_conf_int(conf, "debezium.source.max.batch.size");
    int64_t flush_interval = sl_conf_int(conf, "sluice.sink.flush.interval.ms");
    int64_t flush_gap = sl_conf_int(conf, "sluice.sink.flush.min.interval.ms");
    size_t max_inflight_bytes = max_bytes ? max_bytes : SIZE_MAX;
    int64_t offset_interval = sl_conf_int(conf, "debezium.source.offset.flush.interval.ms");
    const char *offsets_path = sl_conf_str(conf, "debezium.source.offset.storage.file.filename");

    p->q = sl_queue_new(max_events, max_bytes);
    p->ring = sl_txnring_new();
    batch = malloc(max_batch * sizeof *batch);
    if (!p->q || !p->ring || !batch) {
        rc = SL_ERR_NOMEM;
        snprintf(errstr, errstr_size, "out of memory");
        goto out;
    }
    if ((rc = sl_router_create(&p->router, conf, errstr, errstr_size)) != SL_OK)
        goto out;
    sl_sink_env_t kenv = {.on_delivery = on_delivery, .opaque = p, .stop = stop};
    if ((rc = kops->create(&p->snk, conf, &kenv, errstr, errstr_size)) != SL_OK)
        goto out;
    unsigned caps = kops->caps ? kops->caps(p->snk) : 0;
    p->sink_offsets = (caps & SL_SINK_CAP_OFFSETS) && kops->offset_load && kops->flush_offset;
    p->async = !p->sink_offsets && (caps & SL_SINK_CAP_ASYNC);
    if (p->sink_offsets) {
        if ((rc = kops->offset_load(p->snk, &stored, errstr, errstr_size)) != SL_OK)
            goto out;
    } else {
        if ((rc = sl_offset_store_open(&p->os, offsets_path, errstr, errstr_size)) != SL_OK)
            goto out;
        if ((rc = sl_offset_store_load(p->os, &stored, errstr, errstr_size)) != SL_OK)
            goto out;
    }
    sl_source_env_t senv = {.emit = env_emit,
                            .acked = env_acked,
                            .opaque = p,
                            .stored_offset = stored,
                            .split_events = caps & SL_SINK_CAP_SPLIT,
                            .conf_path = conf_path};
    if ((rc = sops->create(&p->src, conf, &senv, errstr, errstr_size)) != SL_OK)
        goto out;
    if (pthread_create(&p->thread, NULL, source_main, p) != 0) {
        rc = SL_ERR_NOMEM;
        snprintf(errstr, errstr_size, "could not start the source thread");
        goto out;
    }
    thread_started = true;

    sl_pos_t durable = {0};
    bool dirty = false, stopping = false;
    int64_t last_flush = now_ms(), last_offset = now_ms();
    size_t unflushed = 0, unflushed_bytes = 0;
    int fatal = SL_OK;
    char fatal_msg[1024] = "";

    for (;;) {
        if (*stop && !stopping) {
            stopping = true;
            sl_info("stopping: draining the queue and flushing the sink");
            sops->stop(p->src);
        }
        size_t n = 0;
        bool ring_full = sl_txnring_len(p->ring) >= max_events ||
                         sl_txnring_bytes(p->ring) >= max_inflight_bytes;
        int pop_timeout = POP_TIMEOUT_MS;
        if (unflushed && !p->async && !mid_transaction(p)) {
            /* wake up in time for the pending flush (inside a source transaction there is
             * none: its end marker wakes this thread, invariant 9) */
            int64_t due = flush_gap - (now_ms() - last_flush);
            pop_timeout = due <= 0 ? 0 : due < POP_TIMEOUT_MS ? (int)due : POP_TIMEOUT_MS;
        } else if (p->async && sl_txnring_len(p->ring) > 0) {
            /* deliveries outstanding: poll for them soon, but never spin (an async sink is
             * flushed only to finish, so `unflushed` says nothing about when to wake) */
            pop_timeout = ASYNC_POLL_MS;
        }
        if (fatal == SL_OK && !ring_full)
            n = sl_queue_pop(p->q, batch, max_batch, pop_timeout);
        else { /* not taking events (sink full or failing): let deliveries or the source move */
            if (kops->poll(p->snk, 10) <= 0)
                nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
        }
        for (size_t i = 0; i < n && fatal == SL_OK; i++) {
            sl_event_t *ev = batch[i];
            batch[i] = NULL;
            if (sl_txnring_add(p->ring, ev) != SL_OK) {
                sl_event_unref(ev);
                fatal = SL_ERR_NOMEM;
                snprintf(fatal_msg, sizeof fatal_msg, "out of memory");
                break;
            }
            if (ev->kind != SL_EV_DATA) {
                sl_txnring_done(p->ring, ev);
                p->sink_pos = ev->pos; /* follows every event the sink accepted */
                p->sink_pos_set = p->sink_pos_dirty = true;
                continue;
            }
            if (p->router) { /* the routed name outlives the event (route.h invariant 1) */
                size_t len;
                const char *routed = sl_router_apply(p->router, ev->topic, &len);
                if (!routed) {
                    fatal = SL_ERR_NOMEM;
                    snprintf(fatal_msg, sizeof fatal_msg, "out of memory");
                    break;
                }
                ev->topic = routed;
                ev->topic_len = len;
            }
            int src_rc;
            while ((src_rc = kops->submit(p->snk, ev)) == SL_ERR_AGAIN) {
                if (!p->async && (fatal = flush_sink(p, fatal_msg, sizeof fatal_msg)) != SL_OK)
                    break;
                kops->poll(p->snk, p->async ? 100 : 10);
                if (p->async && p->delivery_err != SL_OK)
                    break; /* reported just below */
            }
            if (fatal == SL_OK && src_rc == SL_OK) {
                p->sink_pos = ev->pos;
                p->sink_pos_set = p->sink_pos_dirty = true;
            }
            if (fatal == SL_OK && src_rc != SL_OK) {
                fatal = src_rc;
                const char *m = kops->last_error ? kops->last_error(p->snk) : NULL;
                snprintf(fatal_msg, sizeof fatal_msg, "sink %s: %s", kops->name,
                         m && *m ? m : sl_err_str(src_rc));
            }
            unflushed++;
            unflushed_bytes += ev->value_len + ev->key_len;
        }
        for (size_t i = 0; i < n; i++) /* left over after a fatal error */
            if (batch[i])
                sl_event_unref(batch[i]);

        int64_t t = now_ms();
        bool drained = sl_queue_len(p->q) == 0;
        /* a sink that stores offsets must also hear of progress made of markers alone */
        bool marker_progress = p->sink_offsets && p->sink_pos_dirty && !unflushed &&
                               (drained || t - last_flush >= flush_interval);
        bool want_flush;
        if (p->async) { /* invariant 7: only to finish */
            want_flush = unflushed && drained && atomic_load(&p->src_finished);
        } else {
            bool due = (drained && t - last_flush >= flush_gap) ||
                       t - last_flush >= flush_interval || unflushed_bytes >= FLUSH_BYTES;
            bool full = sl_txnring_len(p->ring) >= max_events ||
                        sl_txnring_bytes(p->ring) >= max_inflight_bytes;
            want_flush = (unflushed || marker_progress) && ((due && !mid_transaction(p)) || full);
        }
        if (fatal == SL_OK && want_flush) {
            fatal = flush_sink(p, fatal_msg, sizeof fatal_msg);
            unflushed = unflushed_bytes = 0;
            last_flush = t;
        }
        if (fatal == SL_OK) {
            kops->poll(p->snk, 0);
            if (p->delivery_err != SL_OK) {
                fatal = p->delivery_err;
                snprintf(fatal_msg, sizeof fatal_msg, "%s", p->delivery_msg);
            }
        }
        sl_pos_t pos;
        if (sl_txnring_advance(p->ring, &pos)) {
            durable = pos;
            dirty = true;
        }
        bool finishing = atomic_load(&p->src_finished) || fatal != SL_OK;
        if (dirty && (t - last_offset >= offset_interval || (durable.flags & SL_POS_SNAPSHOT_END) ||
                      finishing)) {
            char e[512];
            int orc = commit_offset(p, &durable, e, sizeof e);
            if (orc != SL_OK) {
                if (fatal == SL_OK) {
                    fatal = orc;
                    snprintf(fatal_msg, sizeof fatal_msg, "%s", e);
                }
            } else {
                dirty = false;
                last_offset = t;
            }
        }
        if (fatal != SL_OK && !stopping) {
            stopping = true;
            sops->stop(p->src);
            sl_queue_close(p->q);
        }
        if (fatal != SL_OK && atomic_load(&p->src_finished))
            break;
        if (atomic_load(&p->src_finished) && sl_queue_is_done(p->q) && mid_transaction(p) &&
            !dirty) {
            /* stopped inside a source transaction: its rest will never come in this run.
             * Not committing its first part keeps it atomic; a restart sends it whole. */
            sl_info("stopping inside a source transaction: its %zu events so far are not "
                    "committed and will be sent again at restart",
                    unflushed);
            break;
        }
        if (atomic_load(&p->src_finished) && sl_queue_is_done(p->q) && unflushed == 0 &&
            sl_txnring_len(p->ring) == 0 && !dirty && !(p->sink_offsets && p->sink_pos_dirty))
            break;
    }

    pthread_join(p->thread, NULL);
    thread_started = false;
    if (fatal != SL_OK) {
        rc = fatal;
        snprintf(errstr, errstr_size, "%s", fatal_msg);
    } else if (p->src_rc != SL_OK && p->src_rc != SL_ERR_STOPPED) {
        rc = p->src_rc;
        snprintf(errstr, errstr_size, "%s", p->src_msg);
    }
    sl_pos_t final;
    if (env_acked(p, &final) && sops->ack)
        sops->ack(p->src, &final);

out:
    if (thread_started) {
        sops->stop(p->src);
        sl_queue_close(p->q);
        pthread_join(p->thread, NULL);
    }
    if (p->src)
        sops->destroy(p->src);
    if (p->snk)
        kops->destroy(p->snk);
    sl_txnring_destroy(p->ring);
    sl_queue_destroy(p->q);
    sl_offset_store_close(p->os);
    sl_router_free(p->router); /* last: events and sinks may point at its topics */
    free(batch);
    free(stored);
    pthread_mutex_destroy(&p->ack_mu);
    return rc;
}
