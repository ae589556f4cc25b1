/*
 * dbz.c — Debezium JSON envelope pieces shared by the sources (see dbz.h).
 */
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/json.h"
#include "encode/dbz.h"

static const char TXN_SCHEMA[] =
    "{\"type\":\"struct\",\"fields\":["
    "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"total_order\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"data_collection_order\"}"
    "],\"optional\":true,\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"}";

int64_t sl_dbz_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void sl_dbz_envelope_schema_tail(sl_buf_t *b, const char *topic, size_t topic_len)
{
    sl_buf_addc(b, ',');
    sl_buf_adds(b, TXN_SCHEMA);
    sl_buf_adds(b, ",{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
                   "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},"
                   "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
                   "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"}"
                   "],\"optional\":false,\"name\":\"");
    sl_json_str_body(b, topic, topic_len);
    sl_buf_adds(b, ".Envelope\",\"version\":2}");
}

void sl_dbz_change_tail(sl_buf_t *b, char op) { sl_dbz_change_tail_at(b, op, sl_dbz_now_us()); }

void sl_dbz_change_tail_at(sl_buf_t *b, char op, int64_t t)
{
    sl_buf_adds(b, ",\"transaction\":null,\"op\":\"");
    sl_buf_addc(b, op);
    sl_ts3_t x;
    sl_ts3_init(&x, t);
    sl_buf_adds(b, "\",\"ts_ms\":");
    sl_ts3_ms(b, &x);
    sl_buf_adds(b, ",\"ts_us\":");
    sl_ts3_us(b, &x);
    sl_buf_adds(b, ",\"ts_ns\":");
    sl_ts3_ns(b, &x);
    sl_buf_addc(b, '}');
}

void sl_dbz_heartbeat(sl_buf_t *k, sl_buf_t *v, const char *server_name, bool key_schemas,
                      bool value_schemas, int64_t ts_ms)
{
    sl_buf_reset(k);
    sl_buf_reset(v);
    if (key_schemas)
        sl_buf_adds(k, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\","
                       "\"optional\":false,\"field\":\"serverName\"}],\"optional\":false,"
                       "\"name\":\"io.debezium.connector.common.ServerNameKey\"},\"payload\":");
    sl_buf_adds(k, "{\"serverName\":");
    sl_json_strz(k, server_name);
    sl_buf_addc(k, '}');
    if (key_schemas)
        sl_buf_addc(k, '}');
    if (value_schemas)
        sl_buf_adds(v, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int64\","
                       "\"optional\":false,\"field\":\"ts_ms\"}],\"optional\":false,"
                       "\"name\":\"io.debezium.connector.common.Heartbeat\"},\"payload\":");
    sl_buf_adds(v, "{\"ts_ms\":");
    sl_json_i64(v, ts_ms);
    sl_buf_addc(v, '}');
    if (value_schemas)
        sl_buf_addc(v, '}');
}

int sl_dbz_snap_release(sl_dbz_snap_hold_t *h, bool last_in_table, bool last_overall,
                        sl_event_t **out)
{
    *out = NULL;
    if (!h->have)
        return SL_OK;
    h->have = false;
    const char *label = last_overall        ? "last"
                        : h->first_overall  ? "first"
                        : h->first_in_table ? "first_in_data_collection"
                        : last_in_table     ? "last_in_data_collection"
                                            : "true";
    sl_buf_t *v = &h->v;
    sl_buf_t spliced = SL_BUF_INIT;
    if (strcmp(label, "true") != 0) {
        sl_buf_add(&spliced, v->data, h->label_off);
        sl_buf_adds(&spliced, label);
        sl_buf_add(&spliced, v->data + h->label_off + 4, v->len - h->label_off - 4);
        if (!sl_buf_ok(&spliced)) {
            sl_buf_free(&spliced);
            return SL_ERR_NOMEM;
        }
        v = &spliced;
    }
    *out = sl_event_new(&h->pos, 'r', h->topic, h->topic_len, h->k.len ? h->k.data : NULL,
                        h->k.len, v->data, v->len);
    if (*out && h->schema)
        sl_event_set_schema(*out, h->schema, h->split);
    sl_schema_unref(h->schema);
    h->schema = NULL;
    sl_buf_free(&spliced);
    return *out ? SL_OK : SL_ERR_NOMEM;
}

int sl_dbz_snap_hold(sl_dbz_snap_hold_t *h, sl_buf_t *k, sl_buf_t *v, size_t label_off,
                     const char *topic, size_t topic_len, sl_schema_t *schema, bool split,
                     const sl_pos_t *pos, bool first_in_table, sl_event_t **out)
{
    int rc = sl_dbz_snap_release(h, first_in_table, false, out);
    if (rc != SL_OK)
        return rc;
    sl_schema_unref(h->schema); /* left by a release that failed */
    h->schema = schema ? sl_schema_ref(schema) : NULL;
    h->split = split;
    sl_buf_t t = h->k;
    h->k = *k;
    *k = t;
    t = h->v;
    h->v = *v;
    *v = t;
    h->label_off = label_off;
    h->topic = topic;
    h->topic_len = topic_len;
    h->pos = *pos;
    h->first_overall = h->rows++ == 0;
    h->first_in_table = first_in_table;
    h->have = true;
    return SL_OK;
}

void sl_dbz_snap_hold_free(sl_dbz_snap_hold_t *h)
{
    sl_buf_free(&h->k);
    sl_buf_free(&h->v);
    sl_schema_unref(h->schema);
    h->schema = NULL;
}
