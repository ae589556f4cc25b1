/*
 * relist.h — a list of regular expressions from a *.include.list / *.exclude.list key.
 *
 * Debezium matches each expression against the whole name, case-insensitively;
 * compile() anchors every item as ^(item)$ (POSIX extended). The config layer has
 * already checked the items compile and are not pathological (config.c).
 */
#ifndef SL_RELIST_H
#define SL_RELIST_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

typedef struct sl_relist {
    size_t n;
    regex_t *re;
} sl_relist_t;

/* items: NULL-terminated (NULL = empty list). SL_OK, SL_ERR_NOMEM or SL_ERR_CONFIG. */
int sl_relist_compile(sl_relist_t *l, char **items);
/* The list value of `key` (empty when unset). */
int sl_relist_compile_conf(sl_relist_t *l, const sl_conf_t *conf, const char *key);
bool sl_relist_match(const sl_relist_t *l, const char *s);
void sl_relist_free(sl_relist_t *l);

#endif
