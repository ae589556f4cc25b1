/*
 * backoff.c — reconnection schedule of the sources and the jdbc sink (see backoff.h).
 */
#include <time.h>

#include "core/backoff.h"
#include "core/err.h"
#include "core/log.h"

void sl_backoff_set(sl_backoff_t *b, int64_t initial_ms, int64_t max_ms, int64_t max_retries)
{
    b->initial_ms = initial_ms;
    b->max_ms = max_ms < initial_ms ? initial_ms : max_ms;
    b->max_retries = max_retries;
    b->delay_ms = b->initial_ms;
    b->attempt = 0;
}

void sl_backoff_init(sl_backoff_t *b, const sl_conf_t *conf)
{
    sl_backoff_set(b, sl_conf_int(conf, "debezium.source.errors.retry.delay.initial.ms"),
                   sl_conf_int(conf, "debezium.source.errors.retry.delay.max.ms"),
                   sl_conf_int(conf, "debezium.source.errors.max.retries"));
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

static bool backoff_sleep(sl_backoff_t *b, const atomic_bool *stop, const volatile sig_atomic_t *sig)
{
#define STOPPED() ((stop && atomic_load(stop)) || (sig && *sig))
    for (int64_t waited = 0; waited < b->delay_ms && !STOPPED(); waited += 100) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    b->delay_ms = b->delay_ms * 2 > b->max_ms ? b->max_ms : b->delay_ms * 2;
    return !STOPPED();
#undef STOPPED
}

bool sl_backoff_wait(sl_backoff_t *b, const atomic_bool *stop) { return backoff_sleep(b, stop, NULL); }

bool sl_backoff_wait_sig(sl_backoff_t *b, const volatile sig_atomic_t *stop)
{
    return backoff_sleep(b, NULL, stop);
}

bool sl_backoff_retry(sl_backoff_t *b, int *rc, bool stopping, bool streamed, bool progressed,
                      const char *who, const char *err)
{
    if (stopping && (*rc == SL_ERR_STOPPED || *rc == SL_ERR_CONN || *rc == SL_OK)) {
        *rc = SL_OK;
        return false;
    }
    if (*rc != SL_ERR_CONN || !streamed || !sl_backoff_failed(b, progressed))
        return false;
    sl_warn("%s: %s; reconnecting in %lld ms (attempt %lld)", who, err, (long long)b->delay_ms,
            (long long)b->attempt);
    return true;
}
