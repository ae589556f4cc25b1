/*
 * my_encode.c — MySQL/MariaDB changes rendered as Debezium JSON events.
 *
 * Debezium's MySQL (and MariaDB) connector with Kafka Connect's JsonConverter writes a
 * key ({"id":1}) and a value envelope {"before","after","source","transaction","op",
 * "ts_ms","ts_us","ts_ns"}, each optionally wrapped as {"schema":...,"payload":...}.
 * Schemas depend only on the table's shape: rendered once per table (my_table_t) and
 * copied into each event. Row objects arrive already rendered by my_row_decode (or the
 * snapshot); this file adds the envelope and the `source` block:
 *   version, connector ("mysql" | "mariadb"), name, ts_ms, snapshot, db, sequence,
 *   ts_us, ts_ns, table, server_id, gtid, file, pos, row, thread, query.
 *
 * Schema change events go to the <topic.prefix> topic with key {"databaseName"} and a
 * value holding the DDL text and tableChanges (the table's columns after the change,
 * as information_schema shows them).
 */
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "encode/dbz.h"
#include "source/mysql/my_source.h"
#include "version.h"

#define SRC_VERSION SLUICE_VERSION "-sluice"

#define SOURCE_FIELDS                                                                              \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"version\"},"                             \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"connector\"},"                           \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"                                \
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"                                \
    "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Enum\",\"version\":1,"    \
    "\"parameters\":{\"allowed\":\"true,first,first_in_data_collection,last_in_data_collection,"  \
    "last,false,incremental\"},\"default\":\"false\",\"field\":\"snapshot\"},"                    \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"db\"},"                                  \
    "{\"type\":\"string\",\"optional\":true,\"field\":\"sequence\"},"                             \
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"                                \
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"},"                                 \
    "{\"type\":\"string\",\"optional\":true,\"field\":\"table\"},"                                \
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"server_id\"},"                            \
    "{\"type\":\"string\",\"optional\":true,\"field\":\"gtid\"},"                                 \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"file\"},"                                \
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"pos\"},"                                  \
    "{\"type\":\"int32\",\"optional\":false,\"field\":\"row\"},"                                  \
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"thread\"},"                                \
    "{\"type\":\"string\",\"optional\":true,\"field\":\"query\"}"

static void source_schema(const sl_source_t *src, sl_buf_t *b)
{
    sl_buf_adds(b, "{\"type\":\"struct\",\"fields\":[" SOURCE_FIELDS "],\"optional\":false,"
                   "\"name\":\"io.debezium.connector.");
    sl_buf_adds(b, src->connector);
    sl_buf_adds(b, ".Source\",\"field\":\"source\"}");
}

static void row_schema(sl_buf_t *b, const my_table_t *t, const char *field)
{
    sl_buf_adds(b, "{\"type\":\"struct\",\"fields\":[");
    bool first = true;
    for (uint32_t i = 0; i < t->ncols; i++) {
        const my_col_t *c = &t->cols[i];
        if (c->excluded)
            continue;
        if (!first)
            sl_buf_addc(b, ',');
        first = false;
        my_conv_schema(c->conv, b, c->name);
    }
    sl_buf_adds(b, "],\"optional\":true,\"name\":\"");
    sl_json_str_body(b, t->topic, t->topic_len);
    sl_buf_adds(b, ".Value\",\"field\":\"");
    sl_buf_adds(b, field);
    sl_buf_adds(b, "\"}");
}

int my_encode_table_schemas(sl_source_t *src, my_table_t *t)
{
    sl_buf_t *k = &t->key_schema, *v = &t->value_schema;
    sl_buf_reset(k);
    sl_buf_reset(v);
    if (t->nkeys) {
        sl_buf_adds(k, "{\"type\":\"struct\",\"fields\":[");
        for (uint32_t i = 0; i < t->nkeys; i++) {
            if (i)
                sl_buf_addc(k, ',');
            my_conv_schema(t->cols[t->key_idx[i]].conv, k, t->cols[t->key_idx[i]].name);
        }
        sl_buf_adds(k, "],\"optional\":false,\"name\":\"");
        sl_json_str_body(k, t->topic, t->topic_len);
        sl_buf_adds(k, ".Key\"}");
    }
    sl_buf_adds(v, "{\"type\":\"struct\",\"fields\":[");
    row_schema(v, t, "before");
    sl_buf_addc(v, ',');
    row_schema(v, t, "after");
    sl_buf_addc(v, ',');
    source_schema(src, v);
    sl_dbz_envelope_schema_tail(v, t->topic, t->topic_len);
    if (!sl_buf_ok(k) || !sl_buf_ok(v))
        return SL_ERR_NOMEM;
    return sl_schema_replace(&t->schema, src->o.key_schemas && t->nkeys ? k->data : NULL, k->len,
                             src->o.value_schemas ? v->data : NULL, v->len);
}

int my_encode_init(sl_source_t *src)
{
    sl_buf_reset(&src->source_name);
    sl_buf_adds(&src->source_name, "\"source\":{\"version\":\"" SRC_VERSION "\",\"connector\":\"");
    sl_buf_adds(&src->source_name, src->connector);
    sl_buf_adds(&src->source_name, "\",\"name\":");
    sl_json_strz(&src->source_name, src->o.prefix);
    return sl_buf_ok(&src->source_name) ? SL_OK : SL_ERR_NOMEM;
}

static void str_or_null(sl_buf_t *b, const char *s)
{
    if (s)
        sl_json_strz(b, s);
    else
        sl_buf_adds(b, "null");
}

/* db_json: ,"db":"..." ; table_json: ,"table":"..." or NULL for null */
static void put_source(sl_source_t *src, sl_buf_t *b, const sl_buf_t *db_json,
                       const sl_buf_t *table_json, const char *snapshot, uint64_t ts_ms,
                       const char *file, uint32_t pos, int32_t row, const char *gtid,
                       bool has_thread, uint64_t thread, const char *query)
{
    sl_ts3_t ts;
    sl_ts3_init(&ts, (int64_t)ts_ms * 1000);
    sl_buf_add(b, src->source_name.data, src->source_name.len);
    sl_buf_adds(b, ",\"ts_ms\":");
    sl_ts3_ms(b, &ts);
    sl_buf_adds(b, ",\"snapshot\":\"");
    src->snap_off = b->len;
    sl_buf_adds(b, snapshot);
    sl_buf_addc(b, '"');
    sl_buf_add(b, db_json->data, db_json->len);
    sl_buf_adds(b, ",\"sequence\":null,\"ts_us\":");
    sl_ts3_us(b, &ts);
    sl_buf_adds(b, ",\"ts_ns\":");
    sl_ts3_ns(b, &ts);
    if (table_json)
        sl_buf_add(b, table_json->data, table_json->len);
    else
        sl_buf_adds(b, ",\"table\":null");
    sl_buf_adds(b, ",\"server_id\":");
    sl_json_u64(b, src->server_id);
    sl_buf_adds(b, ",\"gtid\":");
    str_or_null(b, gtid);
    sl_buf_adds(b, ",\"file\":");
    sl_json_strz(b, file);
    sl_buf_adds(b, ",\"pos\":");
    sl_json_u64(b, pos);
    sl_buf_adds(b, ",\"row\":");
    sl_json_i64(b, row);
    sl_buf_adds(b, ",\"thread\":");
    if (has_thread)
        sl_json_u64(b, thread);
    else
        sl_buf_adds(b, "null");
    sl_buf_adds(b, ",\"query\":");
    str_or_null(b, query);
    sl_buf_addc(b, '}');
}

void my_encode_key(const my_table_t *t, const char *row, const my_span_t *spans, sl_buf_t *out)
{
    sl_buf_addc(out, '{');
    for (uint32_t i = 0; i < t->nkeys; i++) {
        uint32_t c = t->key_idx[i];
        if (i)
            sl_buf_addc(out, ',');
        sl_buf_add(out, t->rowcols[c].json_key, t->rowcols[c].json_key_len);
        if (spans[c].len)
            sl_buf_add(out, row + spans[c].off, spans[c].len);
        else
            sl_buf_adds(out, "null");
    }
    sl_buf_addc(out, '}');
}

int my_encode_change(sl_source_t *src, const my_change_t *ch)
{
    const my_table_t *t = ch->table;
    sl_buf_t *k = &src->kb, *v = &src->vb;
    sl_buf_reset(k);
    sl_buf_reset(v);
    bool split = my_split(src, t);
    if (ch->key) {
        if (src->o.key_schemas && !split) {
            sl_buf_adds(k, "{\"schema\":");
            sl_buf_add(k, t->key_schema.data, t->key_schema.len);
            sl_buf_adds(k, ",\"payload\":");
        }
        sl_buf_add(k, ch->key, ch->key_len);
        if (src->o.key_schemas && !split)
            sl_buf_addc(k, '}');
    }
    if (src->o.value_schemas && !split) {
        sl_buf_adds(v, "{\"schema\":");
        sl_buf_add(v, t->value_schema.data, t->value_schema.len);
        sl_buf_adds(v, ",\"payload\":");
    }
    sl_buf_adds(v, "{\"before\":");
    if (ch->before)
        sl_buf_add(v, ch->before, ch->before_len);
    else
        sl_buf_adds(v, "null");
    sl_buf_adds(v, ",\"after\":");
    if (ch->after)
        sl_buf_add(v, ch->after, ch->after_len);
    else
        sl_buf_adds(v, "null");
    sl_buf_addc(v, ',');
    put_source(src, v, &t->source_db, &t->source_table, ch->snapshot, ch->ts_ms, ch->file,
               ch->pos, ch->row, ch->gtid, ch->has_thread, ch->thread, ch->query);
    sl_dbz_change_tail_at(v, ch->op, ch->now_us ? ch->now_us : sl_dbz_now_us());
    if (src->o.value_schemas && !split)
        sl_buf_addc(v, '}');
    return sl_buf_ok(k) && sl_buf_ok(v) ? SL_OK : SL_ERR_NOMEM;
}

/* tableChanges entry for one table as information_schema shows it now. */
static void table_change(sl_source_t *src, sl_buf_t *b, const char *type, const char *db,
                         const char *name)
{
    char id[600];
    snprintf(id, sizeof id, "\"%s\".\"%s\"", db, name);
    sl_buf_adds(b, "{\"type\":\"");
    sl_buf_adds(b, type);
    sl_buf_adds(b, "\",\"id\":");
    sl_json_strz(b, id);
    sl_buf_adds(b, ",\"table\":");
    const my_decl_t *d = strcmp(type, "DROP") ? my_decl_find(src, db, name) : NULL;
    if (!d) {
        sl_buf_adds(b, "null}");
        return;
    }
    sl_buf_adds(b, "{\"defaultCharsetName\":null,\"primaryKeyColumnNames\":[");
    for (uint32_t i = 0; i < d->nkeys; i++) {
        if (i)
            sl_buf_addc(b, ',');
        sl_json_strz(b, d->cols[d->key_idx[i]].name);
    }
    sl_buf_adds(b, "],\"columns\":[");
    for (uint32_t i = 0; i < d->ncols; i++) {
        if (i)
            sl_buf_addc(b, ',');
        sl_buf_adds(b, "{\"name\":");
        const my_decl_col_t *c = &d->cols[i];
        sl_json_strz(b, c->name);
        sl_buf_adds(b, ",\"typeName\":");
        sl_json_strz(b, c->type_name);
        sl_buf_adds(b, ",\"typeExpression\":");
        sl_json_strz(b, c->type_expr);
        sl_buf_adds(b, ",\"charsetName\":");
        str_or_null(b, c->charset);
        sl_buf_adds(b, ",\"position\":");
        sl_json_u64(b, i + 1);
        sl_buf_adds(b, ",\"optional\":");
        sl_json_bool(b, c->def.nullable);
        sl_buf_addc(b, '}');
    }
    sl_buf_adds(b, "]}}");
}

int my_encode_schema_change(sl_source_t *src, const my_ddl_t *ddl, uint64_t ts_ms,
                            const char *file, uint32_t pos, const char *gtid)
{
    sl_buf_t *k = &src->kb, *v = &src->vb;
    sl_buf_reset(k);
    sl_buf_reset(v);
    if (src->o.key_schemas)
        sl_buf_adds(k, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\","
                       "\"optional\":false,\"field\":\"databaseName\"}],\"optional\":false,"
                       "\"name\":\"io.debezium.connector.mysql.SchemaChangeKey\",\"version\":1},"
                       "\"payload\":");
    sl_buf_adds(k, "{\"databaseName\":");
    sl_json_strz(k, ddl->db);
    sl_buf_addc(k, '}');
    if (src->o.key_schemas)
        sl_buf_addc(k, '}');
    if (src->o.value_schemas) {
        sl_buf_adds(v, "{\"schema\":{\"type\":\"struct\",\"fields\":[");
        source_schema(src, v);
        sl_buf_adds(v, ",{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"
                       "{\"type\":\"string\",\"optional\":true,\"field\":\"databaseName\"},"
                       "{\"type\":\"string\",\"optional\":true,\"field\":\"schemaName\"},"
                       "{\"type\":\"string\",\"optional\":true,\"field\":\"ddl\"},"
                       "{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":["
                       "{\"type\":\"string\",\"optional\":false,\"field\":\"type\"},"
                       "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
                       "{\"type\":\"struct\",\"fields\":[],\"optional\":true,"
                       "\"name\":\"io.debezium.connector.schema.Table\",\"version\":1,"
                       "\"field\":\"table\"}],\"optional\":false,"
                       "\"name\":\"io.debezium.connector.schema.Change\",\"version\":1},"
                       "\"optional\":false,\"field\":\"tableChanges\"}],\"optional\":false,"
                       "\"name\":\"io.debezium.connector.mysql.SchemaChangeValue\",\"version\":1},"
                       "\"payload\":");
    }
    sl_buf_t dbj = SL_BUF_INIT;
    sl_buf_adds(&dbj, ",\"db\":");
    sl_json_strz(&dbj, ddl->db);
    sl_buf_addc(v, '{');
    put_source(src, v, &dbj, NULL, "false", ts_ms, file, pos, 0, gtid, ddl->has_thread,
               ddl->thread, NULL);
    sl_buf_free(&dbj);
    sl_buf_adds(v, ",\"ts_ms\":");
    sl_json_i64(v, sl_dbz_now_us() / 1000);
    sl_buf_adds(v, ",\"databaseName\":");
    sl_json_strz(v, ddl->db);
    sl_buf_adds(v, ",\"schemaName\":null,\"ddl\":");
    sl_json_str(v, ddl->sql, ddl->sql_len);
    sl_buf_adds(v, ",\"tableChanges\":[");
    for (size_t i = 0; i < ddl->ntables; i++) {
        if (i)
            sl_buf_addc(v, ',');
        table_change(src, v, ddl->type, ddl->tables[i].db, ddl->tables[i].name);
    }
    sl_buf_adds(v, "]}");
    if (src->o.value_schemas)
        sl_buf_addc(v, '}');
    return sl_buf_ok(k) && sl_buf_ok(v) ? SL_OK : SL_ERR_NOMEM;
}
