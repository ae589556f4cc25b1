/*
 * kafka_sink.c — the `kafka` sink: one Kafka message per event, through librdkafka.
 *
 * How it works. create() builds a librdkafka producer from the keys under
 * debezium.sink.kafka.producer.* (passed through as they are, after sluice's
 * defaults: enable.idempotence=true, acks=all, partitioner=murmur2_random, which
 * is what the Java client does with keyed messages, so Debezium consumers see
 * the same partitioning). submit() hands each event to rd_kafka_producev():
 * topic = event topic, key = event key bytes, value = event value bytes (NULL
 * for a tombstone), msg_opaque = the event. The value is not copied: the sink
 * holds a reference on the event until librdkafka's delivery report for it.
 * Delivery reports are served by rd_kafka_poll()/rd_kafka_flush(), i.e. on the
 * pipeline thread inside poll() and flush(), and become env.on_delivery() calls.
 * flush() waits until every submitted message has its report, at most
 * sluice.sink.kafka.flush.timeout.ms, and fails after that.
 *
 * Invariants:
 *  1. A report with SL_OK means the broker acknowledged the message with the
 *     configured acks (all in-sync replicas by default); librdkafka retries on
 *     its own first (message.timeout.ms / delivery.timeout.ms), and what it gives
 *     up on is reported as an error, which stops the pipeline before the
 *     position passes the event (restart re-sends it: at-least-once).
 *  2. `outstanding` counts submitted events without a report; every successful
 *     submit takes one event reference that the report (or destroy's purge)
 *     gives back, so librdkafka never points into a freed event.
 *  3. A failed submit (queue full: SL_ERR_AGAIN, or an error) produces no report.
 *  4. After a fatal producer error (idempotence broken, fenced) nothing more is
 *     produced: outstanding messages are purged and reported as failed, submit
 *     fails, and last_error says why. Recreating the producer is not done yet:
 *     the pipeline stops and a restart resumes from the durable position.
 *  5. Producer properties that make librdkafka load code from disk
 *     (plugin.library.paths) are refused: a configuration must not turn into
 *     a way of running a shared library.
 *
 * References: librdkafka rdkafka.h (producev, dr_msg_cb, flush, purge, fatal
 * errors) and CONFIGURATION.md of librdkafka.
 */
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "core/plugin.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define PRODUCER_PREFIX "debezium.sink.kafka.producer."
#define CHECK_TIMEOUT_MS 10000
#define FLUSH_SLICE_MS 100
#define DESTROY_DRAIN_MS 5000

typedef struct topic_slot {
    char *name;
    rd_kafka_topic_t *rkt;
} topic_slot_t;

struct sl_sink {
    sl_sink_env_t env;
    rd_kafka_t *rk;
    int64_t flush_timeout_ms;
    bool headers;
    bool closing; /* destroy: reports only give references back */
    bool fatal;
    size_t outstanding; /* submitted, no delivery report yet (invariant 2) */
    topic_slot_t *topics; /* open addressing, at most half full */
    size_t ntopics, topics_size;
    char err[512];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------- configuration ---------- */

/* Keys of the Java producer that have no librdkafka meaning; a Debezium Server
 * application.properties carries some of them (serializers), so they are accepted
 * and ignored with a warning instead of stopping sluice. */
static const char *const java_only[] = {
    "key.serializer", "value.serializer", "partitioner.class", "interceptor.classes",
    "buffer.memory",  "max.block.ms",     NULL,
};

/* Producer properties refused outright (invariant 5). */
static const char *const refused[] = {"plugin.library.paths", NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static bool looks_secret(const char *subkey)
{
    return strstr(subkey, "password") || strstr(subkey, "secret") || strstr(subkey, ".pem") ||
           strstr(subkey, "oauthbearer.config");
}

struct conf_build {
    const sl_conf_t *conf;
    rd_kafka_conf_t *kc;
    bool quiet; /* check: do not warn twice */
    int rc;
    char *errstr;
    size_t errstr_size;
};

static void conf_set_one(void *ud, const char *subkey, const char *value)
{
    struct conf_build *cb = ud;
    if (cb->rc != SL_OK)
        return;
    char full[512], rkerr[512];
    snprintf(full, sizeof full, PRODUCER_PREFIX "%s", subkey);
    const char *origin = sl_conf_origin(cb->conf, full);
    if (in_list(refused, subkey)) {
        cb->rc = SL_ERR_CONFIG;
        snprintf(cb->errstr, cb->errstr_size,
                 "%s: %s: refused: this property makes librdkafka load code from disk "
                 "(remove it; plugins are not supported)",
                 origin, full);
        return;
    }
    if (in_list(java_only, subkey)) {
        if (!cb->quiet)
            sl_warn("kafka sink: %s (%s) is a Java client property; ignored", full, origin);
        return;
    }
    if (rd_kafka_conf_set(cb->kc, subkey, value, rkerr, sizeof rkerr) != RD_KAFKA_CONF_OK) {
        cb->rc = SL_ERR_CONFIG;
        if (looks_secret(subkey))
            snprintf(cb->errstr, cb->errstr_size, "%s: %s: not accepted by librdkafka", origin,
                     full);
        else
            snprintf(cb->errstr, cb->errstr_size, "%s: %s: %s", origin, full, rkerr);
    }
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* syslog levels */
    sl_log_level_t l = level <= 3 ? SL_LOG_ERROR : level == 4 ? SL_LOG_WARN
                       : level <= 6                    ? SL_LOG_INFO
                                                       : SL_LOG_DEBUG;
    if (l >= sl_log_get_level())
        sl_log(l, "kafka: %s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    sl_sink_t *snk = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[400];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
        sl_error("kafka: fatal producer error: %s: %s", rd_kafka_err2name(orig), why);
        if (snk && !snk->fatal) {
            snk->fatal = true;
            snprintf(snk->err, sizeof snk->err,
                     "fatal producer error: %s: %s (restart sluice: it resumes from the last "
                     "durable position)",
                     rd_kafka_err2name(orig), why);
        }
        return;
    }
    /* Transient (broker down, all brokers down, transport): librdkafka keeps retrying;
     * the flush timeout decides when this becomes a stop. Transport errors are already
     * in the log through log_cb. */
    if (err != RD_KAFKA_RESP_ERR__TRANSPORT)
        sl_warn("kafka: %s: %s", rd_kafka_err2name(err), reason);
}

static int sl_err_of(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
        return SL_ERR_TOO_BIG;
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
        return SL_ERR_CONN;
    default:
        return SL_ERR_SERVER;
    }
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    sl_sink_t *snk = opaque;
    sl_event_t *ev = m->_private;
    if (!snk || !ev)
        return;
    snk->outstanding--;
    if (!snk->closing) {
        int err = SL_OK;
        if (m->err) {
            err = snk->fatal ? SL_ERR_SERVER : sl_err_of(m->err);
            if (!snk->fatal) /* keep the fatal reason, it says more than "purged" */
                snprintf(snk->err, sizeof snk->err,
                         "message to topic \"%s\" partition %d not delivered: %s (%s)",
                         rd_kafka_topic_name(m->rkt), (int)m->partition, rd_kafka_err2str(m->err),
                         rd_kafka_err2name(m->err));
        }
        snk->env.on_delivery(snk->env.opaque, ev, err);
    }
    sl_event_unref(ev);
}

/* Builds the librdkafka configuration: sluice's defaults, then every passthrough key.
 * `snk` is the callbacks' opaque (NULL for check). */
static int build_conf(const sl_conf_t *conf, sl_sink_t *snk, rd_kafka_conf_t **out, bool quiet,
                      char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    char e[256];
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"partitioner", "murmur2_random"},
        {"client.id", "sluice"},
    };
    for (size_t i = 0; i < N(defaults); i++)
        if (rd_kafka_conf_set(kc, defaults[i][0], defaults[i][1], e, sizeof e) !=
            RD_KAFKA_CONF_OK) {
            snprintf(errstr, errstr_size, "kafka sink: default %s=%s: %s", defaults[i][0],
                     defaults[i][1], e);
            rd_kafka_conf_destroy(kc);
            return SL_ERR_CONFIG;
        }
    struct conf_build cb = {conf, kc, quiet, SL_OK, errstr, errstr_size};
    sl_conf_foreach_prefix(conf, PRODUCER_PREFIX, conf_set_one, &cb);
    if (cb.rc != SL_OK) {
        rd_kafka_conf_destroy(kc);
        return cb.rc;
    }
    rd_kafka_conf_set_opaque(kc, snk);
    rd_kafka_conf_set_log_cb(kc, log_cb);
    rd_kafka_conf_set_error_cb(kc, error_cb);
    if (snk)
        rd_kafka_conf_set_dr_msg_cb(kc, dr_msg_cb);
    *out = kc;
    return SL_OK;
}

static int new_producer(const sl_conf_t *conf, sl_sink_t *snk, rd_kafka_t **out, bool quiet,
                        char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *kc = NULL;
    int rc = build_conf(conf, snk, &kc, quiet, errstr, errstr_size);
    if (rc != SL_OK)
        return rc;
    char e[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof e);
    if (!rk) { /* kc is still ours on failure */
        rd_kafka_conf_destroy(kc);
        snprintf(errstr, errstr_size, "kafka sink: invalid producer configuration (%s*): %s",
                 PRODUCER_PREFIX, e);
        return SL_ERR_CONFIG;
    }
    *out = rk;
    return SL_OK;
}

/* ---------- topics ---------- */

static uint64_t hash_str(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* The topic handle for ev->topic, created on first use. NULL on out of memory. */
static rd_kafka_topic_t *topic_get(sl_sink_t *snk, const char *name, size_t len)
{
    if (snk->topics_size) {
        size_t mask = snk->topics_size - 1;
        for (size_t i = hash_str(name, len) & mask;; i = (i + 1) & mask) {
            topic_slot_t *s = &snk->topics[i];
            if (!s->name)
                break;
            if (strncmp(s->name, name, len) == 0 && s->name[len] == '\0')
                return s->rkt;
        }
    }
    if ((snk->ntopics + 1) * 2 > snk->topics_size) {
        size_t nsize = snk->topics_size ? snk->topics_size * 2 : 64;
        topic_slot_t *nt = calloc(nsize, sizeof *nt);
        if (!nt)
            return NULL;
        for (size_t j = 0; j < snk->topics_size; j++) {
            topic_slot_t *s = &snk->topics[j];
            if (!s->name)
                continue;
            size_t i = hash_str(s->name, strlen(s->name)) & (nsize - 1);
            while (nt[i].name)
                i = (i + 1) & (nsize - 1);
            nt[i] = *s;
        }
        free(snk->topics);
        snk->topics = nt;
        snk->topics_size = nsize;
    }
    char *copy = strndup(name, len);
    if (!copy)
        return NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(snk->rk, copy, NULL);
    if (!rkt) {
        snprintf(snk->err, sizeof snk->err, "could not create topic handle \"%s\": %s", copy,
                 rd_kafka_err2str(rd_kafka_last_error()));
        free(copy);
        return NULL;
    }
    size_t mask = snk->topics_size - 1, i = hash_str(name, len) & mask;
    while (snk->topics[i].name)
        i = (i + 1) & mask;
    snk->topics[i] = (topic_slot_t){copy, rkt};
    snk->ntopics++;
    return rkt;
}

/* ---------- the vtable ---------- */

static void kafka_destroy(sl_sink_t *snk)
{
    if (!snk)
        return;
    if (snk->rk) {
        /* Give back the references of whatever is still in flight (invariant 2):
         * purged messages get their reports on the next poll. */
        snk->closing = true;
        if (snk->outstanding) {
            sl_warn("kafka sink: %zu messages still without delivery report; dropping them "
                    "(they are re-sent from the durable position on restart)",
                    snk->outstanding);
            rd_kafka_purge(snk->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        }
        int64_t deadline = now_ms() + DESTROY_DRAIN_MS;
        while (snk->outstanding && now_ms() < deadline)
            rd_kafka_poll(snk->rk, 10);
    }
    for (size_t i = 0; i < snk->topics_size; i++)
        if (snk->topics[i].name) {
            rd_kafka_topic_destroy(snk->topics[i].rkt);
            free(snk->topics[i].name);
        }
    free(snk->topics);
    if (snk->rk)
        rd_kafka_destroy(snk->rk);
    free(snk);
}

static void warn_weak_settings(const sl_conf_t *conf)
{
    const char *acks = sl_conf_str(conf, PRODUCER_PREFIX "acks");
    if (!acks)
        acks = sl_conf_str(conf, PRODUCER_PREFIX "request.required.acks");
    if (acks && strcasecmp(acks, "all") != 0 && strcmp(acks, "-1") != 0)
        sl_warn("kafka sink: acks=%s: a message counts as delivered before every in-sync "
                "replica has it; a broker failure can lose acknowledged changes",
                acks);
    const char *idem = sl_conf_str(conf, PRODUCER_PREFIX "enable.idempotence");
    if (idem && strcasecmp(idem, "false") == 0)
        sl_warn("kafka sink: enable.idempotence=false: producer retries may duplicate or "
                "reorder messages of a partition");
}

static int kafka_create(sl_sink_t **out, const sl_conf_t *conf, const sl_sink_env_t *env,
                        char *errstr, size_t errstr_size)
{
    sl_sink_t *snk = calloc(1, sizeof *snk);
    if (!snk) {
        snprintf(errstr, errstr_size, "out of memory");
        return SL_ERR_NOMEM;
    }
    snk->env = *env;
    snk->flush_timeout_ms = sl_conf_int(conf, "sluice.sink.kafka.flush.timeout.ms");
    snk->headers = sl_conf_bool(conf, "sluice.sink.kafka.headers");
    int rc = new_producer(conf, snk, &snk->rk, false, errstr, errstr_size);
    if (rc != SL_OK) {
        free(snk);
        return rc;
    }
    warn_weak_settings(conf);
    sl_info("kafka sink: producer for %s",
            sl_conf_str(conf, PRODUCER_PREFIX "bootstrap.servers"));
    *out = snk;
    return SL_OK;
}

static int kafka_submit(sl_sink_t *snk, sl_event_t *ev)
{
    if (snk->fatal)
        return SL_ERR_SERVER;
    rd_kafka_topic_t *rkt = topic_get(snk, ev->topic, ev->topic_len);
    if (!rkt)
        return SL_ERR_NOMEM;
    sl_event_ref(ev);
    /* msgflags 0: librdkafka points at ev->value until the report (no copy, no free);
     * the key is always copied by librdkafka. */
    rd_kafka_resp_err_t e;
    if (snk->headers && ev->op)
        e = rd_kafka_producev(snk->rk, RD_KAFKA_V_RKT(rkt),
                              RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA), RD_KAFKA_V_MSGFLAGS(0),
                              RD_KAFKA_V_KEY(ev->key, ev->key ? ev->key_len : 0),
                              RD_KAFKA_V_VALUE((void *)ev->value, ev->value ? ev->value_len : 0),
                              RD_KAFKA_V_HEADER("__op", &ev->op, 1), RD_KAFKA_V_OPAQUE(ev),
                              RD_KAFKA_V_END);
    else
        e = rd_kafka_producev(snk->rk, RD_KAFKA_V_RKT(rkt),
                              RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA), RD_KAFKA_V_MSGFLAGS(0),
                              RD_KAFKA_V_KEY(ev->key, ev->key ? ev->key_len : 0),
                              RD_KAFKA_V_VALUE((void *)ev->value, ev->value ? ev->value_len : 0),
                              RD_KAFKA_V_OPAQUE(ev), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        snk->outstanding++;
        return SL_OK;
    }
    sl_event_unref(ev); /* no report will come (invariant 3) */
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return SL_ERR_AGAIN;
    snprintf(snk->err, sizeof snk->err, "could not produce to topic \"%.*s\": %s (%s)",
             (int)ev->topic_len, ev->topic, rd_kafka_err2str(e), rd_kafka_err2name(e));
    return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? SL_ERR_TOO_BIG : SL_ERR_SERVER;
}

/* Invariant 4: fail everything still in flight, once, and say why. */
static int fail_fatal(sl_sink_t *snk)
{
    rd_kafka_purge(snk->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    int64_t deadline = now_ms() + DESTROY_DRAIN_MS;
    while (snk->outstanding && now_ms() < deadline)
        rd_kafka_poll(snk->rk, 10);
    return SL_ERR_SERVER;
}

static int kafka_flush(sl_sink_t *snk)
{
    if (snk->fatal)
        return fail_fatal(snk);
    int64_t deadline = now_ms() + snk->flush_timeout_ms;
    /* rd_kafka_flush sends at once (ignores linger.ms) and serves delivery reports;
     * slices so that our own count, not librdkafka's wider outq_len, decides. */
    while (snk->outstanding && !snk->fatal) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            break;
        (void)rd_kafka_flush(snk->rk, (int)(left < FLUSH_SLICE_MS ? left : FLUSH_SLICE_MS));
    }
    if (snk->fatal)
        return fail_fatal(snk);
    if (snk->outstanding) {
        snprintf(snk->err, sizeof snk->err,
                 "%zu messages not acknowledged by the brokers within %lld ms "
                 "(sluice.sink.kafka.flush.timeout.ms); are the brokers reachable?",
                 snk->outstanding, (long long)snk->flush_timeout_ms);
        return SL_ERR_CONN;
    }
    return SL_OK;
}

static int kafka_poll(sl_sink_t *snk, int timeout_ms)
{
    int n = rd_kafka_poll(snk->rk, timeout_ms);
    if (snk->fatal && snk->outstanding)
        (void)fail_fatal(snk);
    return n;
}

static const char *kafka_last_error(const sl_sink_t *snk) { return snk->err; }

static int kafka_check(const sl_conf_t *conf, FILE *report)
{
    char errstr[512];
    const char *bs = sl_conf_str(conf, PRODUCER_PREFIX "bootstrap.servers");
    rd_kafka_t *rk;
    if (new_producer(conf, NULL, &rk, true, errstr, sizeof errstr) != SL_OK) {
        fprintf(report, "FAIL: sink kafka: %s\n", errstr);
        return 1;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, CHECK_TIMEOUT_MS);
    int bad = 0;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(report, "FAIL: sink kafka: no metadata from %s within %d s: %s\n", bs,
                CHECK_TIMEOUT_MS / 1000, rd_kafka_err2str(e));
        bad = 1;
    } else {
        fprintf(report, "ok: sink kafka: connected to %s (%d broker%s)\n", bs, md->broker_cnt,
                md->broker_cnt == 1 ? "" : "s");
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_destroy(rk);
    return bad;
}

static const sl_prop_def_t kafka_defs[] = {
    {PRODUCER_PREFIX "bootstrap.servers", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED,
     "Brokers to bootstrap from, host:port[,host:port...] (passed to librdkafka)."},
    {PRODUCER_PREFIX "*", SL_PT_PASSTHROUGH, NULL, NULL, 0, 0, 0,
     "Any librdkafka producer property (security.protocol, sasl.*, ssl.*, compression.type, "
     "linger.ms, batch.size, message.timeout.ms ...). sluice's defaults: "
     "enable.idempotence=true, acks=all, partitioner=murmur2_random (the Java client's "
     "partitioning of keyed messages), client.id=sluice. Java-only keys (key.serializer, "
     "value.serializer ...) are ignored; plugin.library.paths is refused."},
    {"sluice.sink.kafka.flush.timeout.ms", SL_PT_INT, "30000", NULL, 1, 86400000, 0,
     "How long a flush waits for the brokers to acknowledge every message in flight; after "
     "that the pipeline stops with an error (the position never advances without acks) and a "
     "restart re-sends from the last durable position."},
    {"sluice.sink.kafka.headers", SL_PT_BOOL, "false", NULL, 0, 0, 0,
     "Add a header __op (c, u, d, r, t, m) to each message (tombstones have none)."},
};
static const sl_prop_table_t kafka_props = {"sink.kafka", "Sink: kafka", kafka_defs,
                                            N(kafka_defs)};

const sl_sink_ops_t sl_sink_kafka = {
    .abi = SL_SINK_ABI,
    .name = "kafka",
    .props = &kafka_props,
    .create = kafka_create,
    .check = kafka_check,
    .submit = kafka_submit,
    .flush = kafka_flush,
    .poll = kafka_poll,
    .last_error = kafka_last_error,
    .destroy = kafka_destroy,
};
