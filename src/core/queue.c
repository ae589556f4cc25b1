/*
 * queue.c — bounded single-producer single-consumer event queue (see queue.h).
 *
 * A ring of event pointers under one mutex with two condition variables. The
 * lock is taken once per push and once per batch pop, so its cost is small next
 * to decoding and encoding an event.
 *
 * Invariants:
 *  1. 0 <= count <= cap, bytes == sum of mem_size of the queued events.
 *  2. A push succeeds only if count < max_events and (bytes + size <= max_bytes
 *     or count == 0 or max_bytes == 0).
 *  3. After close, push fails with SL_ERR_STOPPED; pop drains then returns 0.
 */
#include "core/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct sl_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    sl_event_t **ring;
    size_t cap, head, count;
    size_t bytes, max_bytes;
    int closed;
};

sl_queue_t *sl_queue_new(size_t max_events, size_t max_bytes)
{
    sl_queue_t *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->cap = max_events ? max_events : 1;
    q->ring = calloc(q->cap, sizeof *q->ring);
    if (!q->ring) {
        free(q);
        return NULL;
    }
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
    for (size_t i = 0; i < q->count; i++)
        sl_event_unref(q->ring[(q->head + i) % q->cap]);
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

static int has_room(const sl_queue_t *q, size_t size)
{
    if (q->count >= q->cap)
        return 0;
    return q->max_bytes == 0 || q->count == 0 || q->bytes + size <= q->max_bytes;
}

int sl_queue_push(sl_queue_t *q, sl_event_t *ev, int timeout_ms)
{
    struct timespec dl;
    int rc = SL_OK;
    pthread_mutex_lock(&q->mu);
    if (!q->closed && !has_room(q, ev->mem_size)) {
        deadline_after(&dl, timeout_ms);
        while (!q->closed && !has_room(q, ev->mem_size))
            if (pthread_cond_timedwait(&q->not_full, &q->mu, &dl) == ETIMEDOUT)
                break;
    }
    if (q->closed)
        rc = SL_ERR_STOPPED;
    else if (!has_room(q, ev->mem_size))
        rc = SL_ERR_AGAIN;
    else {
        q->ring[(q->head + q->count) % q->cap] = ev;
        q->count++;
        q->bytes += ev->mem_size;
        if (q->count == 1)
            pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

size_t sl_queue_pop(sl_queue_t *q, sl_event_t **out, size_t max, int timeout_ms)
{
    struct timespec dl;
    size_t n = 0;
    pthread_mutex_lock(&q->mu);
    if (q->count == 0 && !q->closed && timeout_ms > 0) {
        deadline_after(&dl, timeout_ms);
        while (q->count == 0 && !q->closed)
            if (pthread_cond_timedwait(&q->not_empty, &q->mu, &dl) == ETIMEDOUT)
                break;
    }
    while (n < max && q->count > 0) {
        sl_event_t *ev = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        q->bytes -= ev->mem_size;
        out[n++] = ev;
    }
    if (n)
        pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->mu);
    return n;
}

void sl_queue_close(sl_queue_t *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
}

int sl_queue_is_done(sl_queue_t *q)
{
    pthread_mutex_lock(&q->mu);
    int done = q->closed && q->count == 0;
    pthread_mutex_unlock(&q->mu);
    return done;
}

size_t sl_queue_len(sl_queue_t *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->count;
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t sl_queue_bytes(sl_queue_t *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->bytes;
    pthread_mutex_unlock(&q->mu);
    return n;
}
