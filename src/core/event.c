/*
 * event.c — event allocation and LSN text helpers (see event.h).
 */
#include "core/event.h"

#include "core/buf.h"
#include "core/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies text t (NULL: none) to *p with a NUL after it and moves *p past both; returns the
 * copy (NULL for none) and its length in *len. */
static const char *put_text(char **p, const char *t, size_t n, size_t *len)
{
    *len = t ? n : 0;
    if (!t)
        return NULL;
    char *d = *p;
    memcpy(d, t, n);
    d[n] = 0;
    *p += n + 1;
    return d;
}

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
    ev->topic = put_text(&p, topic, topic_len, &ev->topic_len);
    ev->key = put_text(&p, key, key_len, &ev->key_len);
    ev->value = put_text(&p, value, value_len, &ev->value_len);
    ev->mem_size = n;
    ev->schema_id = 0;
    ev->schema = NULL;
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
    if (ev && atomic_fetch_sub_explicit(&ev->refcnt, 1, memory_order_acq_rel) == 1) {
        if (ev->schema)
            sl_schema_unref(ev->schema);
        free(ev);
    }
}

sl_schema_t *sl_schema_new(const char *key, size_t key_len, const char *value, size_t value_len)
{
    sl_schema_t *s = malloc(sizeof *s + (key ? key_len + 1 : 0) + (value ? value_len + 1 : 0));
    if (!s)
        return NULL;
    atomic_init(&s->refcnt, 1);
    s->id = sl_schema_id_new();
    char *p = s->data;
    s->key = put_text(&p, key, key_len, &s->key_len);
    s->value = put_text(&p, value, value_len, &s->value_len);
    return s;
}

void sl_schema_unref(sl_schema_t *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refcnt, 1, memory_order_acq_rel) == 1)
        free(s);
}

int sl_schema_replace(sl_schema_t **slot, const char *key, size_t key_len, const char *value,
                      size_t value_len)
{
    sl_schema_unref(*slot);
    *slot = sl_schema_new(key, key_len, value, value_len);
    return *slot ? SL_OK : SL_ERR_NOMEM;
}

void sl_event_set_schema(sl_event_t *ev, sl_schema_t *s, bool split)
{
    ev->schema_id = s->id;
    if (split)
        ev->schema = sl_schema_ref(s);
}

void sl_event_join(const sl_event_t *ev, bool value, sl_buf_t *out)
{
    const char *t = value ? ev->value : ev->key;
    size_t n = value ? ev->value_len : ev->key_len;
    const char *s = !ev->schema ? NULL : value ? ev->schema->value : ev->schema->key;
    if (!t)
        return;
    if (s) {
        sl_buf_adds(out, "{\"schema\":");
        sl_buf_add(out, s, value ? ev->schema->value_len : ev->schema->key_len);
        sl_buf_adds(out, ",\"payload\":");
    }
    sl_buf_add(out, t, n);
    if (s)
        sl_buf_addc(out, '}');
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
