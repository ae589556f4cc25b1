/*
 * err.h — sluice's one error enum.
 *
 * Every fallible function returns SL_OK (0) or a negative sl_err_t. Upstream codes
 * (SQLSTATE, errno, rd_kafka_resp_err_t) are kept beside ours in the object that
 * saw them, never squeezed into this enum. sl_err_is_retriable() is the one place
 * that decides "retry" vs "stop".
 */
#ifndef SL_ERR_H
#define SL_ERR_H

#include <stdbool.h>

#define SL_WUR __attribute__((warn_unused_result))

typedef enum sl_err {
    SL_OK = 0,
    SL_ERR_NOMEM = -1,       /* allocation failed */
    SL_ERR_AGAIN = -2,       /* backpressure: try again later */
    SL_ERR_PROTO = -3,       /* malformed bytes from a server or a file */
    SL_ERR_IO = -4,          /* local I/O (disk full, fsync failed, ...) */
    SL_ERR_CONFIG = -5,      /* invalid configuration */
    SL_ERR_CONN = -6,        /* connection lost or refused (retriable) */
    SL_ERR_STOPPED = -7,     /* the pipeline is stopping */
    SL_ERR_POSITION = -8,    /* stored position does not match the source: data would be lost */
    SL_ERR_SERVER = -9,      /* the server refused a request (privilege, setting, SQL error) */
    SL_ERR_TOO_BIG = -10,    /* a length exceeds a configured cap */
    SL_ERR_UNSUPPORTED = -11 /* a feature the server or build does not have */
} sl_err_t;

const char *sl_err_str(int err);
bool sl_err_is_retriable(int err);

#endif
