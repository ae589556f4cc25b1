/*
 * pg_encode.c — PostgreSQL changes rendered as Debezium JSON events.
 *
 * Debezium's PostgreSQL connector with Kafka Connect's JsonConverter writes a
 * key ({"id":1}) and a value envelope
 *   {"before":{...},"after":{...},"source":{...},"transaction":null,
 *    "op":"c","ts_ms":...,"ts_us":...,"ts_ns":...}
 * each optionally wrapped as {"schema":...,"payload":...}. Schemas depend only
 * on the relation, so they are rendered once per relation (pg_encode_rel_schemas)
 * and copied into each event (or, for a sink that takes split events, handed over by
 * reference: rel->schema, and the event holds the bare payloads); row values go through
 * the column converters (pgtypes.c), the same ones for snapshot and streaming.
 *
 * Invariants:
 *  1. A tuple whose column count differs from the relation's is SL_ERR_PROTO
 *     (the server sends a Relation message before any change in a new shape).
 *  2. A value the converter cannot parse stops the pipeline with the column and
 *     type named: a value is never silently replaced by null.
 *  3. Unchanged TOAST values ('u') become Debezium's placeholder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
#include "encode/dbz.h"
#include "source/pg/pg_source.h"
#include "version.h"

#define SRC_VERSION SLUICE_VERSION "-sluice"

static const char SOURCE_SCHEMA[] =
    "{\"type\":\"struct\",\"fields\":["
    "{\"type\":\"string\",\"optional\":false,\"field\":\"version\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"connector\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"
    "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Enum\",\"version\":1,"
    "\"parameters\":{\"allowed\":\"true,first,first_in_data_collection,last_in_data_collection,"
    "last,false,incremental\"},\"default\":\"false\",\"field\":\"snapshot\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"db\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"sequence\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"schema\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"table\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"txId\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"lsn\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"xmin\"}"
    "],\"optional\":false,\"name\":\"io.debezium.connector.postgresql.Source\",\"field\":\"source\"}";

static void row_schema(sl_buf_t *b, const pg_rel_t *rel, const char *field)
{
    sl_buf_adds(b, "{\"type\":\"struct\",\"fields\":[");
    bool first = true;
    for (uint16_t i = 0; i < rel->ncols; i++) {
        const pg_col_t *c = &rel->cols[i];
        if (c->excluded)
            continue;
        if (!first)
            sl_buf_addc(b, ',');
        first = false;
        sl_pgconv_schema(c->conv, b, c->name, c->optional);
    }
    sl_buf_adds(b, "],\"optional\":true,\"name\":");
    sl_buf_addc(b, '"');
    sl_json_str_body(b, rel->topic, rel->topic_len);
    sl_buf_adds(b, ".Value\",\"field\":\"");
    sl_buf_adds(b, field);
    sl_buf_adds(b, "\"}");
}

int pg_encode_rel_schemas(sl_source_t *src, pg_rel_t *rel)
{
    sl_buf_t *k = &rel->key_schema, *v = &rel->value_schema, *st = &rel->source_table;
    sl_buf_reset(k);
    sl_buf_reset(v);
    sl_buf_reset(st);
    sl_buf_adds(st, ",\"schema\":");
    sl_json_strz(st, rel->nspname);
    sl_buf_adds(st, ",\"table\":");
    sl_json_strz(st, rel->relname);
    for (uint16_t i = 0; i < rel->ncols; i++) {
        pg_col_t *c = &rel->cols[i];
        sl_buf_t key = SL_BUF_INIT;
        sl_json_strz(&key, c->name);
        sl_buf_addc(&key, ':');
        free(c->json_key);
        c->json_key = key.data; /* NULL on out of memory: checked below */
        if (!sl_buf_ok(&key) || !c->json_key)
            return SL_ERR_NOMEM;
    }
    if (rel->nkeys) {
        sl_buf_adds(k, "{\"type\":\"struct\",\"fields\":[");
        for (uint16_t i = 0; i < rel->nkeys; i++) {
            const pg_col_t *c = &rel->cols[rel->key_idx[i]];
            if (i)
                sl_buf_addc(k, ',');
            sl_pgconv_schema(c->conv, k, c->name, false);
        }
        sl_buf_adds(k, "],\"optional\":false,\"name\":\"");
        sl_json_str_body(k, rel->topic, rel->topic_len);
        sl_buf_adds(k, ".Key\"}");
    }
    sl_buf_adds(v, "{\"type\":\"struct\",\"fields\":[");
    row_schema(v, rel, "before");
    sl_buf_addc(v, ',');
    row_schema(v, rel, "after");
    sl_buf_addc(v, ',');
    sl_buf_adds(v, SOURCE_SCHEMA);
    sl_dbz_envelope_schema_tail(v, rel->topic, rel->topic_len);
    if (!sl_buf_ok(k) || !sl_buf_ok(v) || !sl_buf_ok(st))
        return SL_ERR_NOMEM;
    return sl_schema_replace(&rel->schema, src->o.key_schemas && rel->nkeys ? k->data : NULL,
                             k->len, src->o.value_schemas ? v->data : NULL, v->len);
}

static int put_value(sl_source_t *src, sl_buf_t *b, const pg_rel_t *rel, const pg_col_t *c,
                     const sl_pgo_col_t *v)
{
    switch (v->kind) {
    case 'n':
        sl_buf_add(b, "null", 4);
        return SL_OK;
    case 'u':
        sl_pgconv_unavailable(c->conv, b);
        return SL_OK;
    case 't': {
        int rc = sl_pgconv_value(c->conv, b, v->data, v->len);
        if (rc == SL_OK)
            return SL_OK;
        if (rc == SL_ERR_UNSUPPORTED) {
            pg_set_error(src, "column %s.%s.%s holds \"%.*s\", which decimal.handling.mode="
                              "precise cannot represent (as Debezium, sluice stops here: set "
                              "debezium.source.decimal.handling.mode=string or double)",
                         rel->nspname, rel->relname, c->name, (int)(v->len > 16 ? 16 : v->len),
                         v->data);
            return rc;
        }
        if (rc == SL_ERR_NOMEM) {
            pg_set_error(src, "out of memory");
            return rc;
        }
        pg_set_error(src, "cannot convert value of column %s.%s.%s (type oid %u): \"%.*s\"",
                     rel->nspname, rel->relname, c->name, c->type_oid,
                     (int)(v->len > 64 ? 64 : v->len), v->data);
        return SL_ERR_PROTO;
    }
    default:
        pg_set_error(src, "unexpected binary value in column %s.%s.%s", rel->nspname,
                     rel->relname, c->name);
        return SL_ERR_PROTO;
    }
}

static int put_row(sl_source_t *src, sl_buf_t *b, const pg_rel_t *rel, const sl_pgo_tuple_t *t)
{
    if (!t) {
        sl_buf_add(b, "null", 4);
        return SL_OK;
    }
    if (t->ncols != rel->ncols) {
        pg_set_error(src, "row of %s.%s has %u columns, the relation has %u", rel->nspname,
                     rel->relname, t->ncols, rel->ncols);
        return SL_ERR_PROTO;
    }
    sl_buf_addc(b, '{');
    bool first = true;
    for (uint16_t i = 0; i < rel->ncols; i++) {
        const pg_col_t *c = &rel->cols[i];
        if (c->excluded)
            continue;
        if (!first)
            sl_buf_addc(b, ',');
        first = false;
        sl_buf_adds(b, c->json_key);
        int rc = put_value(src, b, rel, c, &t->cols[i]);
        if (rc != SL_OK)
            return rc;
    }
    sl_buf_addc(b, '}');
    return SL_OK;
}

int pg_encode_init(sl_source_t *src)
{
    sl_buf_adds(&src->source_name,
                "\"source\":{\"version\":\"" SRC_VERSION "\",\"connector\":\"postgresql\",\"name\":");
    sl_json_strz(&src->source_name, src->o.prefix);
    sl_buf_adds(&src->source_db, "\",\"db\":");
    sl_json_strz(&src->source_db, src->o.dbname);
    return sl_buf_ok(&src->source_name) && sl_buf_ok(&src->source_db) ? SL_OK : SL_ERR_NOMEM;
}

/* A source block in two parts around its first LSN (source.sequence's last element):
 * `head` ends with that element's opening \", `mid` runs from its closing \" to "lsn":;
 * source_join() puts them together with the LSN. Everything in them is the same for the
 * changes of one relation in one transaction. *snap_off: the snapshot text's offset in
 * head. `schema_table` is the rendered ,"schema":..,"table":.. part (rel->source_table). */
static void source_parts(sl_source_t *src, sl_buf_t *head, sl_buf_t *mid,
                         const sl_buf_t *schema_table, const char *snapshot, int64_t ts_us,
                         uint32_t xid, size_t *snap_off)
{
    sl_ts3_t ts;
    sl_ts3_init(&ts, ts_us);
    sl_buf_add(head, src->source_name.data, src->source_name.len);
    sl_buf_adds(head, ",\"ts_ms\":");
    sl_ts3_ms(head, &ts);
    sl_buf_adds(head, ",\"snapshot\":\"");
    *snap_off = head->len;
    sl_buf_adds(head, snapshot);
    sl_buf_add(head, src->source_db.data, src->source_db.len);
    sl_buf_adds(head, ",\"sequence\":\"[");
    if (src->last_commit_lsn) {
        sl_buf_adds(head, "\\\"");
        sl_json_u64(head, src->last_commit_lsn);
        sl_buf_adds(head, "\\\"");
    } else
        sl_buf_adds(head, "null");
    sl_buf_adds(head, ",\\\"");
    sl_buf_adds(mid, "\\\"]\",\"ts_us\":");
    sl_ts3_us(mid, &ts);
    sl_buf_adds(mid, ",\"ts_ns\":");
    sl_ts3_ns(mid, &ts);
    sl_buf_add(mid, schema_table->data, schema_table->len);
    sl_buf_adds(mid, ",\"txId\":");
    if (xid)
        sl_json_u64(mid, xid);
    else
        sl_buf_adds(mid, "null");
    sl_buf_adds(mid, ",\"lsn\":");
}

static void source_join(sl_buf_t *b, const sl_buf_t *head, const sl_buf_t *mid, uint64_t lsn)
{
    if (!sl_buf_ok(head) || !sl_buf_ok(mid))
        b->oom = true; /* the event is not rendered: pg_encode_* report out of memory */
    sl_buf_add(b, head->data, head->len);
    sl_json_u64(b, lsn);
    sl_buf_add(b, mid->data, mid->len);
    if (lsn)
        sl_json_u64(b, lsn);
    else
        sl_buf_adds(b, "null");
    sl_buf_adds(b, ",\"xmin\":null}");
}

/* The source block of a change of `rel` at `lsn`, from the parts kept for the last change
 * (src->sblock) while its relation and transaction are the same. Sets src->snap_off. */
static void put_source(sl_source_t *src, sl_buf_t *b, const pg_rel_t *rel, const char *snapshot,
                       int64_t ts_us, uint32_t xid, uint64_t lsn)
{
    struct pg_sblock *c = &src->sblock;
    uint64_t sid = rel->schema ? rel->schema->id : 0;
    if (!c->valid || c->rel != rel || c->schema_id != sid || c->snapshot != snapshot ||
        c->ts_us != ts_us || c->xid != xid || c->last_commit_lsn != src->last_commit_lsn) {
        sl_buf_reset(&c->head);
        sl_buf_reset(&c->mid);
        source_parts(src, &c->head, &c->mid, &rel->source_table, snapshot, ts_us, xid,
                     &c->snap_off);
        c->valid = sl_buf_ok(&c->head) && sl_buf_ok(&c->mid);
        c->rel = rel;
        c->schema_id = sid;
        c->snapshot = snapshot;
        c->ts_us = ts_us;
        c->xid = xid;
        c->last_commit_lsn = src->last_commit_lsn;
    }
    src->snap_off = b->len + c->snap_off;
    source_join(b, &c->head, &c->mid, lsn);
}

int pg_encode_change(sl_source_t *src, const pg_change_t *ch)
{
    const pg_rel_t *rel = ch->rel;
    sl_buf_t *k = &src->kb, *v = &src->vb;
    sl_buf_reset(k);
    sl_buf_reset(v);
    int rc;

    /* key */
    const sl_pgo_tuple_t *kt = ch->key_from ? ch->before : ch->after;
    if (rel->nkeys && kt) {
        if (kt->ncols != rel->ncols) {
            pg_set_error(src, "row of %s.%s has %u columns, the relation has %u", rel->nspname,
                         rel->relname, kt->ncols, rel->ncols);
            return SL_ERR_PROTO;
        }
        if (src->o.key_schemas && !ch->split) {
            sl_buf_adds(k, "{\"schema\":");
            sl_buf_add(k, rel->key_schema.data, rel->key_schema.len);
            sl_buf_adds(k, ",\"payload\":");
        }
        sl_buf_addc(k, '{');
        for (uint16_t i = 0; i < rel->nkeys; i++) {
            const pg_col_t *c = &rel->cols[rel->key_idx[i]];
            if (i)
                sl_buf_addc(k, ',');
            sl_buf_adds(k, c->json_key);
            if ((rc = put_value(src, k, rel, c, &kt->cols[rel->key_idx[i]])) != SL_OK)
                return rc;
        }
        sl_buf_addc(k, '}');
        if (src->o.key_schemas && !ch->split)
            sl_buf_addc(k, '}');
    }

    /* value */
    if (src->o.value_schemas && !ch->split) {
        sl_buf_adds(v, "{\"schema\":");
        sl_buf_add(v, rel->value_schema.data, rel->value_schema.len);
        sl_buf_adds(v, ",\"payload\":");
    }
    sl_buf_adds(v, "{\"before\":");
    if ((rc = put_row(src, v, rel, ch->before)) != SL_OK)
        return rc;
    sl_buf_adds(v, ",\"after\":");
    if ((rc = put_row(src, v, rel, ch->after)) != SL_OK)
        return rc;
    sl_buf_addc(v, ',');
    put_source(src, v, rel, ch->snapshot, ch->ts_us, ch->xid, ch->lsn);
    sl_dbz_change_tail(v, ch->op);
    if (src->o.value_schemas && !ch->split)
        sl_buf_addc(v, '}');
    return sl_buf_ok(k) && sl_buf_ok(v) ? SL_OK : SL_ERR_NOMEM;
}

int pg_encode_truncate(sl_source_t *src, const pg_rel_t *rel, uint64_t lsn, uint32_t xid,
                       int64_t ts_us, bool split)
{
    sl_buf_t *v = &src->vb;
    sl_buf_reset(&src->kb);
    sl_buf_reset(v);
    if (src->o.value_schemas && !split) {
        sl_buf_adds(v, "{\"schema\":");
        sl_buf_add(v, rel->value_schema.data, rel->value_schema.len);
        sl_buf_adds(v, ",\"payload\":");
    }
    sl_buf_adds(v, "{\"before\":null,\"after\":null,");
    put_source(src, v, rel, "false", ts_us, xid, lsn);
    sl_dbz_change_tail(v, 't');
    if (src->o.value_schemas && !split)
        sl_buf_addc(v, '}');
    return sl_buf_ok(v) ? SL_OK : SL_ERR_NOMEM;
}

int pg_encode_message(sl_source_t *src, const sl_pgo_msg_t *m, uint64_t lsn, uint32_t xid,
                      int64_t ts_us)
{
    sl_buf_t *k = &src->kb, *v = &src->vb;
    sl_buf_reset(k);
    sl_buf_reset(v);
    if (src->o.key_schemas)
        sl_buf_adds(k, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\","
                       "\"optional\":true,\"field\":\"prefix\"}],\"optional\":false,\"name\":"
                       "\"io.debezium.connector.postgresql.MessageKey\"},\"payload\":");
    sl_buf_adds(k, "{\"prefix\":");
    sl_json_strz(k, m->u.message.prefix);
    sl_buf_addc(k, '}');
    if (src->o.key_schemas)
        sl_buf_addc(k, '}');

    if (src->o.value_schemas) {
        sl_buf_adds(v, "{\"schema\":{\"type\":\"struct\",\"fields\":["
                       "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
                       "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},");
        sl_buf_adds(v, SOURCE_SCHEMA);
        sl_buf_adds(v, ",{\"type\":\"struct\",\"fields\":["
                       "{\"type\":\"string\",\"optional\":false,\"field\":\"prefix\"},"
                       "{\"type\":\"bytes\",\"optional\":true,\"field\":\"content\"}],"
                       "\"optional\":true,\"name\":\"io.debezium.connector.postgresql.Message\","
                       "\"field\":\"message\"}],\"optional\":false,"
                       "\"name\":\"io.debezium.connector.postgresql.MessageValue\"},\"payload\":");
    }
    sl_buf_adds(v, "{\"op\":\"m\",\"ts_ms\":");
    sl_json_i64(v, sl_dbz_now_us() / 1000);
    sl_buf_addc(v, ',');
    static const char NO_TABLE[] = ",\"schema\":\"\",\"table\":\"\"";
    const sl_buf_t no_table = {(char *)NO_TABLE, sizeof NO_TABLE - 1, sizeof NO_TABLE, false};
    sl_buf_t head = SL_BUF_INIT, mid = SL_BUF_INIT;
    size_t snap_off;
    source_parts(src, &head, &mid, &no_table, "false", ts_us, xid, &snap_off);
    source_join(v, &head, &mid, lsn);
    sl_buf_free(&head);
    sl_buf_free(&mid);
    sl_buf_adds(v, ",\"message\":{\"prefix\":");
    sl_json_strz(v, m->u.message.prefix);
    sl_buf_adds(v, ",\"content\":");
    sl_json_base64(v, (const uint8_t *)m->u.message.content, m->u.message.len);
    sl_buf_adds(v, "}}");
    if (src->o.value_schemas)
        sl_buf_addc(v, '}');
    return sl_buf_ok(k) && sl_buf_ok(v) ? SL_OK : SL_ERR_NOMEM;
}

int pg_encode_heartbeat(sl_source_t *src, int64_t ts_ms)
{
    sl_dbz_heartbeat(&src->kb, &src->vb, src->o.prefix, src->o.key_schemas, src->o.value_schemas,
                     ts_ms);
    return sl_buf_ok(&src->kb) && sl_buf_ok(&src->vb) ? SL_OK : SL_ERR_NOMEM;
}
