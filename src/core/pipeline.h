/*
 * pipeline.h — runs one source into one sink with durable offsets.
 */
#ifndef SL_PIPELINE_H
#define SL_PIPELINE_H

#include <signal.h>
#include <stddef.h>

#include "core/config.h"
#include "core/plugin.h"

/* Runs until *stop becomes non-zero (graceful: drain, flush, store the offset,
 * acknowledge, return SL_OK) or a fatal error (returns it with errstr set; what was
 * durable before the error is still stored). `conf_path` is used in messages. */
SL_WUR int sl_pipeline_run(const sl_conf_t *conf, const sl_source_ops_t *sops,
                           const sl_sink_ops_t *kops, const char *conf_path,
                           volatile sig_atomic_t *stop, char *errstr, size_t errstr_size);

#endif
