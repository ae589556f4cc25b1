/*
 * log.h — logging to standard error.
 *
 * Lines look like `2026-11-22T03:40:01.123Z INFO  pg: streaming from 0/16B3748`.
 * Error messages follow PostgreSQL's style: short, lowercase, no trailing period;
 * detail and hint go on their own lines. Secrets never reach the log: callers
 * never format a password, and config values flagged secret print as "********".
 * Thread-safe (one write(2) per line).
 */
#ifndef SL_LOG_H
#define SL_LOG_H

typedef enum { SL_LOG_DEBUG = 0, SL_LOG_INFO, SL_LOG_WARN, SL_LOG_ERROR } sl_log_level_t;

void sl_log_set_level(sl_log_level_t lvl);
sl_log_level_t sl_log_get_level(void);
void sl_log(sl_log_level_t lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define sl_debug(...) do { if (sl_log_get_level() <= SL_LOG_DEBUG) sl_log(SL_LOG_DEBUG, __VA_ARGS__); } while (0)
#define sl_info(...) sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_warn(...) sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_error(...) sl_log(SL_LOG_ERROR, __VA_ARGS__)

#endif
