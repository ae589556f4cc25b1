/*
 * queue.h — the bounded event queue between the source thread and the pipeline.
 *
 * One producer (the source thread), one consumer (the pipeline thread). Bounded
 * by event count and by bytes (Debezium's max.queue.size and
 * max.queue.size.in.bytes). A full queue never blocks the producer for long:
 * sl_queue_push() waits at most `timeout_ms` and returns SL_ERR_AGAIN, so the
 * source can answer keepalives and send status updates before trying again.
 * That is how backpressure reaches the database without dropping the
 * replication connection.
 */
#ifndef SL_QUEUE_H
#define SL_QUEUE_H

#include <stddef.h>

#include "core/err.h"
#include "core/event.h"

typedef struct sl_queue sl_queue_t;

/* max_bytes == 0: no byte limit. Returns NULL on out of memory. */
sl_queue_t *sl_queue_new(size_t max_events, size_t max_bytes);
/* Frees the queue and unrefs events still in it. */
void sl_queue_destroy(sl_queue_t *q);

/* Takes ownership of `ev` on SL_OK. SL_ERR_AGAIN: full after timeout_ms (ev not taken).
 * SL_ERR_STOPPED: the queue was closed (ev not taken). An event larger than max_bytes
 * is accepted when the queue is empty, so no event can wedge the pipeline. */
SL_WUR int sl_queue_push(sl_queue_t *q, sl_event_t *ev, int timeout_ms);

/* Moves up to `max` events into `out` (ownership passes to the caller). Waits up to
 * timeout_ms for the first one. Returns the count; 0 on timeout or when closed and
 * empty (check sl_queue_is_done()). */
size_t sl_queue_pop(sl_queue_t *q, sl_event_t **out, size_t max, int timeout_ms);

/* No more events: a later push fails with SL_ERR_STOPPED (a waiting producer wakes up),
 * and the consumer drains what is left. Called by the producer when it is done, or by
 * the consumer to make the producer stop. */
void sl_queue_close(sl_queue_t *q);
/* Closed (or aborted) and empty. */
int sl_queue_is_done(sl_queue_t *q);
size_t sl_queue_len(sl_queue_t *q);
size_t sl_queue_bytes(sl_queue_t *q);

#endif
