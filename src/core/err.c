/*
 * err.c — names for sl_err_t and the retry policy.
 */
#include "core/err.h"

const char *sl_err_str(int err)
{
    switch (err) {
    case SL_OK: return "ok";
    case SL_ERR_NOMEM: return "out of memory";
    case SL_ERR_AGAIN: return "try again";
    case SL_ERR_PROTO: return "malformed data";
    case SL_ERR_IO: return "i/o error";
    case SL_ERR_CONFIG: return "invalid configuration";
    case SL_ERR_CONN: return "connection failed";
    case SL_ERR_STOPPED: return "stopped";
    case SL_ERR_POSITION: return "position mismatch";
    case SL_ERR_SERVER: return "server error";
    case SL_ERR_TOO_BIG: return "too big";
    case SL_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown error";
}

bool sl_err_is_retriable(int err)
{
    return err == SL_ERR_AGAIN || err == SL_ERR_CONN;
}
