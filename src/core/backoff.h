/*
 * backoff.h — when a source reconnects after losing its connection while streaming.
 *
 * The schedule of Debezium's errors.* keys, shared by every source (the jdbc sink sets
 * its own numbers with sl_backoff_set): wait
 * errors.retry.delay.initial.ms, double after each failure up to
 * errors.retry.delay.max.ms, give up after errors.max.retries attempts (-1: never).
 * A connection that streamed again before it was lost starts the schedule afresh, so a
 * flapping network does not exhaust the attempts of a long-running process.
 * Waits sleep in 100 ms steps so a stop request is honoured quickly.
 */
#ifndef SL_BACKOFF_H
#define SL_BACKOFF_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"

typedef struct sl_backoff {
    int64_t initial_ms, max_ms, max_retries;
    int64_t delay_ms; /* the next wait */
    int64_t attempt;  /* failures since the schedule (re)started */
} sl_backoff_t;

/* Reads debezium.source.errors.{max.retries,retry.delay.initial.ms,retry.delay.max.ms}. */
void sl_backoff_init(sl_backoff_t *b, const sl_conf_t *conf);
/* A schedule from explicit numbers (max_retries -1: never give up). */
void sl_backoff_set(sl_backoff_t *b, int64_t initial_ms, int64_t max_ms, int64_t max_retries);
/* Records a failure. `progressed`: the connection streamed since the previous failure
 * (the schedule restarts). Returns false when the attempts are used up. */
bool sl_backoff_failed(sl_backoff_t *b, bool progressed);
/* The reconnect policy every source's run loop shares, after a connect-and-stream attempt
 * returned *rc: only a connection lost while streaming (SL_ERR_CONN with `streamed`) is
 * retried, and only while the schedule allows (`progressed`: it streamed again since the
 * previous loss); everything before streaming (configuration, privileges, positions, the
 * snapshot) is reported at once. True: warn logged as "<who>: <err>; reconnecting in ..."
 * and the caller reconnects after sl_backoff_wait. False: return *rc (SL_OK if stopping). */
bool sl_backoff_retry(sl_backoff_t *b, int *rc, bool stopping, bool streamed, bool progressed,
                      const char *who, const char *err);
/* Sleeps the current delay (then doubles it, capped); false if *stop was set meanwhile. */
bool sl_backoff_wait(sl_backoff_t *b, const atomic_bool *stop);
/* Same, for a flag set by a signal handler (NULL: never stopped). */
bool sl_backoff_wait_sig(sl_backoff_t *b, const volatile sig_atomic_t *stop);

#endif
