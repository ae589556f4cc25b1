/*
 * event.c — event allocation and LSN text helpers (see event.h).
 */
#include "core/event.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sl_event_t *sl_event_new(const sl_pos_t *pos, char op, const char *topic, size_t topic_len,
                         const char *key, size_t key_len, const char *value, size_t value_len)
{
    size_t n = sizeof(sl_event_t) + topic_len + 1 + (key ? key_len + 1 : 0) +
               (value ? value_len + 1 : 0);
    sl_event_t *ev = malloc(n);
    if (!ev)
        return NULL;
    atomic_init(&ev->refcnt, 1);
    ev->kind = SL_EV_DATA;
    ev->op = op;
    ev->seq = 0;
    ev->pos = *pos;
    char *p = ev->data;
    memcpy(p, topic, topic_len);
    p[topic_len] = 0;
    ev->topic = p;
    ev->topic_len = topic_len;
    p += topic_len + 1;
    ev->key = NULL;
    ev->key_len = 0;
    if (key) {
        memcpy(p, key, key_len);
        p[key_len] = 0;
        ev->key = p;
        ev->key_len = key_len;
        p += key_len + 1;
    }
    ev->value = NULL;
    ev->value_len = 0;
    if (value) {
        memcpy(p, value, value_len);
        p[value_len] = 0;
        ev->value = p;
        ev->value_len = value_len;
    }
    ev->mem_size = n;
    ev->schema_id = 0;
    return ev;
}

uint64_t sl_schema_id_new(void)
{
    static atomic_uint_fast64_t next;
    return atomic_fetch_add_explicit(&next, 1, memory_order_relaxed) + 1;
}

sl_event_t *sl_event_new_marker(const sl_pos_t *pos)
{
    sl_event_t *ev = sl_event_new(pos, 0, "", 0, NULL, 0, NULL, 0);
    if (ev)
        ev->kind = SL_EV_MARKER;
    return ev;
}

void sl_event_unref(sl_event_t *ev)
{
    if (ev && atomic_fetch_sub_explicit(&ev->refcnt, 1, memory_order_acq_rel) == 1)
        free(ev);
}

const char *sl_lsn_fmt(uint64_t lsn, char buf[20])
{
    snprintf(buf, 20, "%X/%X", (unsigned)(lsn >> 32), (unsigned)lsn);
    return buf;
}

int sl_lsn_parse(const char *s, uint64_t *out)
{
    unsigned hi, lo;
    int n = 0;
    if (sscanf(s, "%8X/%8X%n", &hi, &lo, &n) != 2 || s[n] != 0)
        return -1;
    *out = ((uint64_t)hi << 32) | lo;
    return 0;
}
