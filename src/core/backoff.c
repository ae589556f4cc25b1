/*
 * backoff.c — reconnection schedule of the sources (see backoff.h).
 */
#include <time.h>

#include "core/backoff.h"

void sl_backoff_init(sl_backoff_t *b, const sl_conf_t *conf)
{
    b->initial_ms = sl_conf_int(conf, "debezium.source.errors.retry.delay.initial.ms");
    b->max_ms = sl_conf_int(conf, "debezium.source.errors.retry.delay.max.ms");
    b->max_retries = sl_conf_int(conf, "debezium.source.errors.max.retries");
    b->delay_ms = b->initial_ms;
    b->attempt = 0;
}

bool sl_backoff_failed(sl_backoff_t *b, bool progressed)
{
    if (progressed) {
        b->attempt = 0;
        b->delay_ms = b->initial_ms;
    }
    if (b->max_retries >= 0 && b->attempt >= b->max_retries)
        return false;
    b->attempt++;
    return true;
}

bool sl_backoff_wait(sl_backoff_t *b, const atomic_bool *stop)
{
    for (int64_t waited = 0; waited < b->delay_ms && !atomic_load(stop); waited += 100) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    b->delay_ms = b->delay_ms * 2 > b->max_ms ? b->max_ms : b->delay_ms * 2;
    return !atomic_load(stop);
}
