/*
 * core_props.c — the core's property table: pipeline sizing, offsets, format.
 *
 * Keys keep Debezium Server's names; keys sluice adds live under "sluice.".
 * Keys that Debezium Server users commonly set but that have no meaning here
 * are accepted as SL_PF_IGNORED so an existing application.properties runs.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/plugin.h"
#include "core/route.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const sl_prop_def_t core_defs[] = {
    {"debezium.source.connector.class", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED,
     "Source connector: io.debezium.connector.postgresql.PostgresConnector (alias: postgres)."},
    {"debezium.sink.type", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED,
     "Sink: file | stdout | kafka | jdbc."},
    {"debezium.source.offset.storage.file.filename", SL_PT_STRING, "data/offsets.dat", NULL, 0, 0,
     0, "File holding the newest durable source position; written atomically (temp file, "
        "fsync, rename, directory fsync)."},
    {"debezium.source.offset.storage", SL_PT_ENUM,
     "org.apache.kafka.connect.storage.FileOffsetBackingStore",
     "org.apache.kafka.connect.storage.FileOffsetBackingStore|"
     "org.apache.kafka.connect.storage.KafkaOffsetBackingStore",
     0, 0, 0,
     "Where offsets are stored: the file store (offset.storage.file.filename), or, with the "
     "Kafka sink, a compacted topic (debezium.source.offset.storage.topic; the same as "
     "sluice.sink.kafka.offset.storage=kafka). The jdbc sink keeps its offsets in the target "
     "database (sluice_offsets) whatever this says."},
    {"debezium.source.offset.flush.interval.ms", SL_PT_INT, "1000", NULL, 0, 86400000, 0,
     "Longest time between two offset store writes while events flow. The position is stored "
     "only once it is durable in the sink; a smaller value means fewer duplicates after a "
     "crash. (Debezium's default is 60000; sluice's is 1000.)"},
    {"debezium.source.max.queue.size", SL_PT_INT, "8192", NULL, 2, 1000000, 0,
     "Most events held between the source and the sink (queue, and again in flight in "
     "the sink)."},
    {"debezium.source.max.queue.size.in.bytes", SL_PT_INT, "16777216", NULL, 0, INT64_MAX, 0,
     "Most bytes of encoded events in the queue, and again in flight in the sink (0 = no byte "
     "limit). Together with max.queue.size this bounds memory whatever the transaction size."},
    {"debezium.source.max.batch.size", SL_PT_INT, "2048", NULL, 1, 1000000, 0,
     "Most events the pipeline takes from the queue at once."},
    {"sluice.sink.flush.interval.ms", SL_PT_INT, "100", NULL, 0, 60000, 0,
     "Longest time an event waits in the sink's buffer before a flush (write + fsync) while "
     "events keep arriving; the sink is flushed at once whenever the queue runs dry."},
    {"sluice.sink.flush.min.interval.ms", SL_PT_INT, "10", NULL, 0, 60000, 0,
     "Shortest time between two flushes when the queue runs dry: many tiny transactions then "
     "share one write + fsync. Adds at most this much latency; 0 flushes at once."},
    {"debezium.format.value", SL_PT_ENUM, "json", "json", 0, 0, 0,
     "Value format; Debezium's JSON converter format."},
    {"debezium.format.key", SL_PT_ENUM, "json", "json", 0, 0, 0, "Key format."},
    {"debezium.format.value.schemas.enable", SL_PT_BOOL, "true", NULL, 0, 0, 0,
     "Wrap each value as {\"schema\":...,\"payload\":...} like JsonConverter's schemas.enable."},
    {"debezium.format.key.schemas.enable", SL_PT_BOOL, "true", NULL, 0, 0, 0,
     "Same for keys."},
    {"sluice.log.level", SL_PT_ENUM, "info", "debug|info|warn|error", 0, 0, 0,
     "Log level (logs go to standard error)."},
    {"quarkus.*", SL_PT_PASSTHROUGH, NULL, NULL, 0, 0, SL_PF_IGNORED,
     "Quarkus settings of Debezium Server (logging, HTTP port)."},
    {"debezium.transforms", SL_PT_LIST, NULL, NULL, 0, 0, 0,
     "Transforms applied to every event's topic, in order, before any sink sees it. Only "
     "org.apache.kafka.connect.transforms.RegexRouter is supported: "
     "debezium.transforms.<name>.type, .regex (whole topic; POSIX extended syntax, with \\d "
     "translated; no (?...) groups or lazy quantifiers) and .replacement ($1..$9 for groups)."},
    {"debezium.transforms.*", SL_PT_PASSTHROUGH, NULL, NULL, 0, 0, 0,
     "The keys of each transform listed in debezium.transforms (type, regex, replacement)."},
    {"debezium.source.name", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_IGNORED,
     "Connector instance name in Kafka Connect."},
};

const sl_prop_table_t sl_core_props = {"core", "Core: pipeline, offsets and format", core_defs,
                                       N(core_defs)};

/* Kafka's topic name characters, which Debezium also requires of topic.prefix. */
static bool topic_chars(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

int sl_core_validate(const sl_conf_t *conf, char *errstr, size_t errstr_size)
{
    const char *q = "debezium.source.max.queue.size", *b = "debezium.source.max.batch.size";
    int64_t qn = sl_conf_int(conf, q), bn = sl_conf_int(conf, b);
    if (qn <= bn) {
        const char *at = sl_conf_is_set(conf, q) ? q : b;
        snprintf(errstr, errstr_size,
                 "%s: %s (%lld) must be larger than %s (%lld%s), as in Debezium; raise the "
                 "queue or lower the batch",
                 sl_conf_origin(conf, at), q, (long long)qn, b, (long long)bn,
                 sl_conf_is_set(conf, b) ? "" : ", the default");
        return SL_ERR_CONFIG;
    }
    const char *os = "debezium.source.offset.storage", *sink = sl_conf_str(conf, "debezium.sink.type");
    if (sl_conf_enum(conf, os) == 1 && (!sink || strcmp(sink, "kafka") != 0)) {
        snprintf(errstr, errstr_size,
                 "%s: %s=org.apache.kafka.connect.storage.KafkaOffsetBackingStore needs "
                 "debezium.sink.type=kafka (sink here: %s); use the FileOffsetBackingStore",
                 sl_conf_origin(conf, os), os, sink ? sink : "none");
        return SL_ERR_CONFIG;
    }
    if (sl_router_validate(conf, errstr, errstr_size) != SL_OK)
        return SL_ERR_CONFIG;
    const char *t = "debezium.source.topic.prefix", *tv = sl_conf_str(conf, t);
    if (tv && !topic_chars(tv)) {
        snprintf(errstr, errstr_size,
                 "%s: %s '%s' may only hold letters, digits, '.', '_' and '-' (it starts every "
                 "topic name)",
                 sl_conf_origin(conf, t), t, tv);
        return SL_ERR_CONFIG;
    }
    return SL_OK;
}
