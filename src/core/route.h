/*
 * route.h — topic routing: Kafka Connect's RegexRouter, as Debezium Server configures it.
 *
 *   debezium.transforms=Reroute
 *   debezium.transforms.Reroute.type=org.apache.kafka.connect.transforms.RegexRouter
 *   debezium.transforms.Reroute.regex=inventory\.public\.(.*)
 *   debezium.transforms.Reroute.replacement=dbo.$1
 *
 * Every event's topic (heartbeats too) goes through the transforms in the listed order
 * before any sink sees it: a topic the whole regex matches is replaced by the
 * replacement ($1..$9: groups, \$: a dollar sign); others pass unchanged. The regex is
 * POSIX extended, not Java's: \d and \D are translated; (?...) groups, lazy or
 * possessive quantifiers and ${name} references are refused at validation.
 *
 * Invariants:
 *  1. A topic string sl_router_apply returns stays valid until sl_router_free: routed
 *     names are interned, one copy per distinct source topic, so events can point at
 *     them for as long as a sink holds them.
 *  2. The router is used by the pipeline thread only.
 */
#ifndef SL_ROUTE_H
#define SL_ROUTE_H

#include <stddef.h>

#include "core/config.h"

typedef struct sl_router sl_router_t;

/* Checks debezium.transforms and each listed transform's keys: SL_ERR_CONFIG with a
 * one-line message naming the key and file:line. */
int sl_router_validate(const sl_conf_t *conf, char *errstr, size_t errstr_size);
/* *out = NULL when no transform is configured (then nothing needs routing). */
int sl_router_create(sl_router_t **out, const sl_conf_t *conf, char *errstr, size_t errstr_size);
/* The routed topic for `topic` (NULL only when out of memory); sets *len. */
const char *sl_router_apply(sl_router_t *r, const char *topic, size_t *len);
void sl_router_free(sl_router_t *r);

#endif
