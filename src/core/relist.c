/*
 * relist.c — compiled include/exclude lists (see relist.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/relist.h"

void sl_relist_free(sl_relist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        regfree(&l->re[i]);
    free(l->re);
    l->re = NULL;
    l->n = 0;
}

int sl_relist_compile(sl_relist_t *l, char **items)
{
    l->n = 0;
    l->re = NULL;
    if (!items)
        return SL_OK;
    size_t n = 0;
    while (items[n])
        n++;
    l->re = calloc(n ? n : 1, sizeof *l->re);
    if (!l->re)
        return SL_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(items[i]) + 5;
        char *pat = malloc(len);
        if (!pat)
            return SL_ERR_NOMEM;
        snprintf(pat, len, "^(%s)$", items[i]);
        int rc = regcomp(&l->re[l->n], pat, REG_EXTENDED | REG_ICASE | REG_NOSUB);
        free(pat);
        if (rc != 0)
            return SL_ERR_CONFIG;
        l->n++;
    }
    return SL_OK;
}

int sl_relist_compile_conf(sl_relist_t *l, const sl_conf_t *conf, const char *key)
{
    char **items = sl_conf_list(conf, key);
    int rc = sl_relist_compile(l, items);
    sl_conf_list_free(items);
    return rc;
}

bool sl_relist_match(const sl_relist_t *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (regexec(&l->re[i], s, 0, NULL, 0) == 0)
            return true;
    return false;
}
