/*
 * queue.c — bounded single-producer single-consumer event queue (see queue.h).
 *
 * A ring of event pointers with two counters: `tail` (events pushed, written only by
 * the producer) and `head` (events popped, written only by the consumer), each on its
 * own cache line, and the bytes pushed and popped beside them. Neither side takes a
 * lock while the queue is neither empty nor full: a push is a slot write and a store
 * of tail, a batch pop a store of head. A mutex and two condition variables serve only
 * to sleep: the side that must wait announces it (cons_waiting / prod_waiting) under
 * the mutex and re-checks the counters before sleeping; the other side, after moving
 * its counter, signals only when it sees the announcement. Both the announcement and
 * the counters are sequentially consistent, so one of the two always sees the other:
 * no wakeup is lost. (Taking the mutex on every push cost ~9% of the source thread.)
 *
 * That handshake needs a full fence after the producer's store of tail, and a fence
 * waits for every store before it, here the event the source has just written (kB of
 * freshly allocated lines): it cost as much as the mutex. And waking a sleeping
 * consumer for each event made both threads trade a futex call per event when the
 * consumer is the faster one. So a push of a data event only publishes tail (a plain
 * release store); a marker (the end of every source transaction, heartbeats, the
 * snapshot's end) and every WAKE_EVERY-th push take the fenced path and wake a sleeping
 * consumer. A consumer asleep while data events come is therefore woken after at most
 * WAKE_EVERY of them, by the marker that ends their transaction, or when the producer
 * finds the queue full (before it sleeps itself, after a fence); its own pop timeout
 * bounds even a stream that pauses inside a transaction.
 *
 * Invariants:
 *  1. 0 <= tail - head <= cap; ring[i % cap] for head <= i < tail are the queued events,
 *     in push order; pushed_bytes - popped_bytes is the sum of their mem_size.
 *  2. A push succeeds only if tail - head < max_events and (bytes + size <= max_bytes
 *     or the queue is empty or max_bytes == 0).
 *  3. After close, push fails with SL_ERR_STOPPED; pop drains then returns 0.
 *  4. A slot is written before tail moves past it (release) and read before head
 *     moves past it: the other side sees whole events.
 */
#include "core/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#define WAKE_EVERY 256

struct sl_queue {
    alignas(64) atomic_size_t tail; /* producer */
    atomic_size_t pushed_bytes;
    alignas(64) atomic_size_t head; /* consumer */
    atomic_size_t popped_bytes;
    alignas(64) atomic_int closed;
    atomic_int cons_waiting, prod_waiting;
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    sl_event_t **ring;
    size_t cap, max_bytes;
};

sl_queue_t *sl_queue_new(size_t max_events, size_t max_bytes)
{
    sl_queue_t *q = aligned_alloc(64, (sizeof *q + 63) / 64 * 64);
    if (!q)
        return NULL;
    q->cap = max_events ? max_events : 1;
    q->ring = calloc(q->cap, sizeof *q->ring);
    if (!q->ring) {
        free(q);
        return NULL;
    }
    atomic_init(&q->tail, 0);
    atomic_init(&q->pushed_bytes, 0);
    atomic_init(&q->head, 0);
    atomic_init(&q->popped_bytes, 0);
    atomic_init(&q->closed, 0);
    atomic_init(&q->cons_waiting, 0);
    atomic_init(&q->prod_waiting, 0);
    q->max_bytes = max_bytes;
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->not_empty, &ca);
    pthread_cond_init(&q->not_full, &ca);
    pthread_condattr_destroy(&ca);
    return q;
}

void sl_queue_destroy(sl_queue_t *q)
{
    if (!q)
        return;
    size_t t = atomic_load(&q->tail);
    for (size_t i = atomic_load(&q->head); i != t; i++)
        sl_event_unref(q->ring[i % q->cap]);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->ring);
    free(q);
}

static void deadline_after(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Producer side: room for an event of `size` bytes after `tail` events pushed. */
static bool has_room(sl_queue_t *q, size_t tail, size_t size)
{
    size_t count = tail - atomic_load(&q->head);
    if (count >= q->cap)
        return false;
    if (q->max_bytes == 0 || count == 0)
        return true;
    size_t bytes = atomic_load_explicit(&q->pushed_bytes, memory_order_relaxed) -
                   atomic_load(&q->popped_bytes);
    return bytes + size <= q->max_bytes;
}

/* Producer side, after a fence: wakes the consumer if it sleeps (or is about to). */
static void wake_consumer(sl_queue_t *q)
{
    if (atomic_load(&q->cons_waiting)) {
        pthread_mutex_lock(&q->mu);
        pthread_cond_signal(&q->not_empty);
        pthread_mutex_unlock(&q->mu);
    }
}

int sl_queue_push(sl_queue_t *q, sl_event_t *ev, int timeout_ms)
{
    size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (atomic_load(&q->closed))
        return SL_ERR_STOPPED;
    if (!has_room(q, t, ev->mem_size)) {
        /* the events pushed without a wakeup must not wait for a sleeping consumer */
        atomic_thread_fence(memory_order_seq_cst);
        wake_consumer(q);
        struct timespec dl;
        deadline_after(&dl, timeout_ms);
        pthread_mutex_lock(&q->mu);
        atomic_store(&q->prod_waiting, 1);
        while (!atomic_load(&q->closed) && !has_room(q, t, ev->mem_size))
            if (pthread_cond_timedwait(&q->not_full, &q->mu, &dl) == ETIMEDOUT)
                break;
        atomic_store(&q->prod_waiting, 0);
        pthread_mutex_unlock(&q->mu);
        if (atomic_load(&q->closed))
            return SL_ERR_STOPPED;
        if (!has_room(q, t, ev->mem_size))
            return SL_ERR_AGAIN;
    }
    q->ring[t % q->cap] = ev;
    atomic_store_explicit(&q->pushed_bytes,
                          atomic_load_explicit(&q->pushed_bytes, memory_order_relaxed) +
                              ev->mem_size,
                          memory_order_relaxed);
    if (ev->kind == SL_EV_DATA && (t + 1) % WAKE_EVERY != 0) {
        atomic_store_explicit(&q->tail, t + 1, memory_order_release); /* invariant 4 */
        return SL_OK;
    }
    atomic_store(&q->tail, t + 1); /* publishes the slot (invariant 4), fenced */
    wake_consumer(q);
    return SL_OK;
}

size_t sl_queue_pop(sl_queue_t *q, sl_event_t **out, size_t max, int timeout_ms)
{
    size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t t = atomic_load(&q->tail);
    if (t == h && timeout_ms > 0 && !atomic_load(&q->closed)) {
        struct timespec dl;
        deadline_after(&dl, timeout_ms);
        pthread_mutex_lock(&q->mu);
        atomic_store(&q->cons_waiting, 1);
        while ((t = atomic_load(&q->tail)) == h && !atomic_load(&q->closed))
            if (pthread_cond_timedwait(&q->not_empty, &q->mu, &dl) == ETIMEDOUT)
                break;
        atomic_store(&q->cons_waiting, 0);
        pthread_mutex_unlock(&q->mu);
        t = atomic_load(&q->tail);
    }
    size_t n = 0, bytes = 0;
    while (n < max && h + n != t) {
        sl_event_t *ev = q->ring[(h + n) % q->cap];
        bytes += ev->mem_size;
        out[n++] = ev;
    }
    if (n) {
        atomic_store_explicit(&q->popped_bytes,
                              atomic_load_explicit(&q->popped_bytes, memory_order_relaxed) + bytes,
                              memory_order_release);
        atomic_store(&q->head, h + n); /* frees the slots (invariant 4) */
        if (atomic_load(&q->prod_waiting)) {
            pthread_mutex_lock(&q->mu);
            pthread_cond_signal(&q->not_full);
            pthread_mutex_unlock(&q->mu);
        }
    }
    return n;
}

void sl_queue_close(sl_queue_t *q)
{
    atomic_store(&q->closed, 1);
    pthread_mutex_lock(&q->mu);
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
}

/* head (bytes popped) is read before tail (bytes pushed): both only grow, so the
 * difference is never negative, whichever thread asks. */
int sl_queue_is_done(sl_queue_t *q)
{
    if (!atomic_load(&q->closed))
        return 0;
    size_t h = atomic_load(&q->head);
    return atomic_load(&q->tail) == h;
}

size_t sl_queue_len(sl_queue_t *q)
{
    size_t h = atomic_load(&q->head);
    return atomic_load(&q->tail) - h;
}

size_t sl_queue_bytes(sl_queue_t *q)
{
    size_t popped = atomic_load(&q->popped_bytes);
    return atomic_load(&q->pushed_bytes) - popped;
}
