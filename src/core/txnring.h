/*
 * txnring.h — which events are in flight, and how far everything is durable.
 *
 * The pipeline adds every event it takes from the queue, in source order, and
 * marks it done when every sink has acknowledged it (markers are done at once).
 * The durable frontier is the longest prefix of done events; its last event's
 * position is what the offset store may record and the source may acknowledge.
 * Sinks may acknowledge out of order (Kafka partitions); the frontier never
 * passes an event that is not done, so a failed or lost delivery can never
 * advance the position.
 *
 * Single-threaded: owned by the pipeline thread.
 */
#ifndef SL_TXNRING_H
#define SL_TXNRING_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/event.h"

typedef struct sl_txnring sl_txnring_t;

sl_txnring_t *sl_txnring_new(void);
void sl_txnring_destroy(sl_txnring_t *r); /* unrefs events still held */

/* Takes a reference's ownership; sets ev->seq. SL_ERR_NOMEM on failure (ev not taken). */
SL_WUR int sl_txnring_add(sl_txnring_t *r, sl_event_t *ev);
/* Marks the event done (it must be in the ring and not yet done). */
void sl_txnring_done(sl_txnring_t *r, const sl_event_t *ev);
/* Releases the done prefix. Returns true and sets *pos to the last released event's
 * position when the frontier moved. */
bool sl_txnring_advance(sl_txnring_t *r, sl_pos_t *pos);
size_t sl_txnring_len(const sl_txnring_t *r);
/* Sum of mem_size of the events held (in flight in the sinks, or done but not released). */
size_t sl_txnring_bytes(const sl_txnring_t *r);

#endif
