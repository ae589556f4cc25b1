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
 * Exactly-once mode (sluice.sink.kafka.exactly.once=true), the model of Kafka
 * Connect's KIP-618. The producer is transactional (transactional.id, default
 * "sluice-<topic.prefix>"); create() calls init_transactions, which also fences a
 * previous instance with the same id and aborts its open transaction. The source
 * position lives in a compacted offsets topic keyed by the transactional id:
 * offset_load() reads it back with a read_committed consumer, from the beginning to
 * the end offsets (a small, bounded read), and keeps the newest record of our key.
 * submit() begins a transaction lazily at the first event after a commit.
 * flush_offset() waits for every data message of the transaction, produces the
 * offset record inside it, waits for that too, then commits. Delivery reports of
 * data messages are held back until then: the events are "delivered" only when the
 * commit succeeded; on an abortable error the transaction is aborted and every held
 * event is reported failed (the pipeline stops; a restart resumes from the last
 * committed offset record), on a fatal error likewise.
 *
 * Invariants:
 *  1. A report with SL_OK means the broker acknowledged the message with the
 *     configured acks (all in-sync replicas by default); librdkafka retries on
 *     its own first (message.timeout.ms / delivery.timeout.ms), and what it gives
 *     up on is reported as an error, which stops the pipeline before the
 *     position passes the event (restart re-sends it: at-least-once).
 *     Exactly-once mode: SL_OK only after the transaction holding the message and
 *     the offset record committed.
 *  2. `outstanding` counts submitted events without a report; every successful
 *     submit takes one event reference that the report (or destroy's purge)
 *     gives back, so librdkafka never points into a freed event. In exactly-once
 *     mode the reference moves from librdkafka's report to `held` until the commit.
 *  3. A failed submit (queue full: SL_ERR_AGAIN, or an error) produces no report.
 *  4. After a fatal producer error (idempotence broken, fenced) nothing more is
 *     produced: outstanding messages are purged and reported as failed, submit
 *     fails, and last_error says why. Recreating the producer is not done yet:
 *     the pipeline stops and a restart resumes from the durable position.
 *  5. Producer properties that make librdkafka load code from disk
 *     (plugin.library.paths) are refused: a configuration must not turn into
 *     a way of running a shared library.
 *  6. Exactly-once mode: within a Kafka transaction every data message is
 *     acknowledged before the offset record is produced, and the offset record
 *     before the commit is sent. On a real cluster the commit alone makes them
 *     atomic; the order also keeps the log of librdkafka's mock cluster (which
 *     neither writes commit markers nor hides aborted data) consistent for the
 *     tests: an offset record is never in a log before the data it covers.
 *
 * States (exactly-once mode):
 *   IDLE --submit: begin_transaction--> IN_TXN --flush_offset: commit--> IDLE
 *   IN_TXN --abortable error: abort_transaction, held reported failed--> IDLE
 *   any --fatal error--> FATAL (submit fails; the pipeline stops)
 *
 * Dead-letter topic (debezium.sink.kafka.errors.tolerance=all, like Kafka Connect's).
 * A message refused as too large (MSG_SIZE_TOO_LARGE: by produce() against the
 * producer's message.max.bytes, or in a delivery report from the broker, normal mode)
 * is produced again to errors.deadletterqueue.topic.name with the same key, headers
 * __connect.errors.topic (the original topic), __connect.errors.exception.message (the
 * error) and __sluice.dlq.value.size (the original value's size); the value too if
 * it fits, else none (header __sluice.dlq.value.dropped=true). The event is reported
 * delivered when the dead-letter message is acknowledged (so the position advances
 * past it). Without a topic the event is dropped with a warning. With
 * errors.tolerance=none (the default) the pipeline stops with the error. Other errors
 * are never tolerated: they would lose changes silently.
 *
 * References: librdkafka rdkafka.h (producev, dr_msg_cb, flush, purge, fatal
 * errors, transactional API) and CONFIGURATION.md of librdkafka; KIP-98 and KIP-618.
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
    const sl_conf_t *conf;
    rd_kafka_t *rk;
    int64_t flush_timeout_ms;
    bool headers;
    bool closing; /* destroy: reports only give references back */
    bool fatal;
    size_t outstanding; /* submitted, no delivery report yet (invariant 2) */
    topic_slot_t *topics; /* open addressing, at most half full */
    size_t ntopics, topics_size;
    char err[512];

    /* errors.tolerance=all: a message the producer or the broker refuses as too large
     * goes to dlq_topic (if set) instead of stopping the pipeline */
    bool tolerate;
    char *dlq_topic;
    rd_kafka_topic_t *dlq_rkt;
    uint64_t dlq_count;

    /* exactly-once mode */
    bool eos;
    bool in_txn;
    char *txn_id;        /* transactional.id, also the offset record's key */
    char *offsets_topic; /* compacted, keyed by txn_id */
    rd_kafka_topic_t *offsets_rkt;
    sl_event_t **held; /* acknowledged, waiting for the commit (invariant 2) */
    size_t nheld, held_size;
    int txn_err;        /* first failed delivery of the open transaction */
    int offset_dr;      /* offset record: 0 in flight, 1 acknowledged, -1 failed */
    char txn_label[48]; /* "<instance>.<n>": header __sluice.txn with headers=true */
    uint64_t instance, txn_seq;
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
    if (strcmp(subkey, "transactional.id") == 0) {
        cb->rc = SL_ERR_CONFIG;
        snprintf(cb->errstr, cb->errstr_size,
                 "%s: %s: set sluice.sink.kafka.exactly.once=true and "
                 "sluice.sink.kafka.transactional.id instead (sluice drives the transactions)",
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

static const char *const too_large_hint =
    " (set debezium.sink.kafka.errors.tolerance=all and "
    "debezium.sink.kafka.errors.deadletterqueue.topic.name to send such messages to a "
    "dead-letter topic, or raise the producer's and the broker's message.max.bytes)";

/* dlq_produce: the event `ev` (reference owned by the caller on failure, by the
 * dead-letter message on success) to the dead-letter topic; with_value=false sends
 * no value. Returns the librdkafka error. */
static rd_kafka_resp_err_t dlq_produce(sl_sink_t *snk, sl_event_t *ev, const char *topic,
                                       size_t topic_len, const char *why, bool with_value)
{
    char size[24];
    snprintf(size, sizeof size, "%zu", ev->value ? ev->value_len : 0);
    rd_kafka_vu_t vu[12];
    size_t n = 0;
    vu[n].vtype = RD_KAFKA_VTYPE_RKT, vu[n++].u.rkt = snk->dlq_rkt;
    vu[n].vtype = RD_KAFKA_VTYPE_PARTITION, vu[n++].u.i32 = RD_KAFKA_PARTITION_UA;
    vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS, vu[n++].u.i = 0;
    vu[n].vtype = RD_KAFKA_VTYPE_KEY, vu[n].u.mem.ptr = (void *)ev->key,
    vu[n++].u.mem.size = ev->key ? ev->key_len : 0;
    vu[n].vtype = RD_KAFKA_VTYPE_VALUE,
    vu[n].u.mem.ptr = with_value ? (void *)ev->value : NULL,
    vu[n++].u.mem.size = with_value && ev->value ? ev->value_len : 0;
    vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE, vu[n++].u.ptr = ev;
    vu[n].vtype = RD_KAFKA_VTYPE_HEADER, vu[n].u.header.name = "__connect.errors.topic",
    vu[n].u.header.val = topic, vu[n++].u.header.size = (ssize_t)topic_len;
    vu[n].vtype = RD_KAFKA_VTYPE_HEADER,
    vu[n].u.header.name = "__connect.errors.exception.message", vu[n].u.header.val = why,
    vu[n++].u.header.size = (ssize_t)strlen(why);
    vu[n].vtype = RD_KAFKA_VTYPE_HEADER, vu[n].u.header.name = "__sluice.dlq.value.size",
    vu[n].u.header.val = size, vu[n++].u.header.size = (ssize_t)strlen(size);
    if (!with_value) {
        vu[n].vtype = RD_KAFKA_VTYPE_HEADER, vu[n].u.header.name = "__sluice.dlq.value.dropped",
        vu[n].u.header.val = "true", vu[n++].u.header.size = 4;
    }
    rd_kafka_error_t *err = rd_kafka_produceva(snk->rk, vu, n);
    if (!err)
        return RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_resp_err_t e = rd_kafka_error_code(err);
    rd_kafka_error_destroy(err);
    return e;
}

/* dlq_send: a too-large event to the dead-letter topic (value dropped if it does not
 * fit either). On SL_OK the event's reference belongs to the dead-letter message
 * (and `outstanding` counts it); SL_ERR_AGAIN: the queue is full, try again. */
static int dlq_send(sl_sink_t *snk, sl_event_t *ev, const char *topic, size_t topic_len,
                    rd_kafka_resp_err_t why)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s (%s): message of %zu bytes", rd_kafka_err2str(why),
             rd_kafka_err2name(why), (ev->key ? ev->key_len : 0) + (ev->value ? ev->value_len : 0));
    rd_kafka_resp_err_t e = dlq_produce(snk, ev, topic, topic_len, msg, true);
    if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        e = dlq_produce(snk, ev, topic, topic_len, msg, false);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        snk->outstanding++;
        snk->dlq_count++;
        sl_warn("kafka sink: message to topic \"%.*s\" refused: %s; sent to dead-letter topic "
                "\"%s\"", (int)topic_len, topic, msg, snk->dlq_topic);
        return SL_OK;
    }
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return SL_ERR_AGAIN;
    snprintf(snk->err, sizeof snk->err,
             "message to topic \"%.*s\" refused (%s) and could not be produced to the "
             "dead-letter topic \"%s\": %s (%s)",
             (int)topic_len, topic, msg, snk->dlq_topic, rd_kafka_err2str(e),
             rd_kafka_err2name(e));
    return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? SL_ERR_TOO_BIG : SL_ERR_SERVER;
}

static bool is_dlq_msg(const sl_sink_t *snk, const rd_kafka_message_t *m)
{
    return snk->dlq_rkt && strcmp(rd_kafka_topic_name(m->rkt), snk->dlq_topic) == 0;
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    sl_sink_t *snk = opaque;
    if (snk && m->_private == &snk->offset_dr) { /* the offset record (exactly-once) */
        snk->offset_dr = m->err ? -1 : 1;
        if (m->err && !snk->fatal)
            snprintf(snk->err, sizeof snk->err,
                     "offset record to topic \"%s\" not delivered: %s (%s)",
                     rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err),
                     rd_kafka_err2name(m->err));
        return;
    }
    sl_event_t *ev = m->_private;
    if (!snk || !ev)
        return;
    snk->outstanding--;
    /* normal mode: the broker refused a data message as too large */
    if (!snk->eos && !snk->closing && !snk->fatal && snk->tolerate &&
        m->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && !is_dlq_msg(snk, m)) {
        if (!snk->dlq_rkt) {
            sl_warn("kafka sink: message to topic \"%s\" refused by the broker: %s; dropped "
                    "(errors.tolerance=all, no dead-letter topic)",
                    rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
            snk->env.on_delivery(snk->env.opaque, ev, SL_OK);
            sl_event_unref(ev);
            return;
        }
        const char *t = rd_kafka_topic_name(m->rkt);
        if (dlq_send(snk, ev, t, strlen(t), m->err) == SL_OK)
            return; /* the reference moved to the dead-letter message */
        /* could not even queue it (queue full in a callback): a failed delivery */
    }
    if (snk->eos && !snk->closing && !m->err) {
        /* held until the transaction commits (invariant 1) */
        if (snk->nheld == snk->held_size) {
            size_t nsize = snk->held_size ? snk->held_size * 2 : 1024;
            sl_event_t **nh = realloc(snk->held, nsize * sizeof *nh);
            if (nh) {
                snk->held = nh;
                snk->held_size = nsize;
            }
        }
        if (snk->nheld < snk->held_size) {
            snk->held[snk->nheld++] = ev; /* the reference moves to `held` */
            return;
        }
        snprintf(snk->err, sizeof snk->err, "out of memory holding delivery reports");
        if (snk->txn_err == SL_OK)
            snk->txn_err = SL_ERR_NOMEM;
        snk->env.on_delivery(snk->env.opaque, ev, SL_ERR_NOMEM);
        sl_event_unref(ev);
        return;
    }
    if (!snk->closing) {
        int err = SL_OK;
        if (m->err) {
            err = snk->fatal ? SL_ERR_SERVER : sl_err_of(m->err);
            if (!snk->fatal) /* keep the fatal reason, it says more than "purged" */
                snprintf(snk->err, sizeof snk->err,
                         "message to topic \"%s\" partition %d not delivered: %s (%s)",
                         rd_kafka_topic_name(m->rkt), (int)m->partition, rd_kafka_err2str(m->err),
                         rd_kafka_err2name(m->err));
            if (snk->eos && snk->txn_err == SL_OK)
                snk->txn_err = err; /* the transaction is aborted, not committed */
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
    if (snk && snk->eos &&
        rd_kafka_conf_set(kc, "transactional.id", snk->txn_id, e, sizeof e) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "kafka sink: sluice.sink.kafka.transactional.id: %s", e);
        rd_kafka_conf_destroy(kc);
        return SL_ERR_CONFIG;
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

/* ---------- exactly-once: transactions ---------- */

/* Reports every held event with `err` (SL_OK: committed) and gives back its reference. */
static void held_report(sl_sink_t *snk, int err)
{
    for (size_t i = 0; i < snk->nheld; i++) {
        if (!snk->closing)
            snk->env.on_delivery(snk->env.opaque, snk->held[i], err);
        sl_event_unref(snk->held[i]);
    }
    snk->nheld = 0;
}

/* Keeps a transactional API error in snk->err; marks the producer dead if it is fatal. */
static int txn_error(sl_sink_t *snk, const char *what, rd_kafka_error_t *e)
{
    bool fatal = rd_kafka_error_is_fatal(e);
    if (!snk->fatal)
        snprintf(snk->err, sizeof snk->err, "%s: %s (%s)%s", what, rd_kafka_error_string(e),
                 rd_kafka_error_name(e),
                 fatal ? "; fatal for this producer (restart sluice: it resumes from the last "
                         "committed offset record)"
                       : "");
    if (fatal)
        snk->fatal = true;
    rd_kafka_error_destroy(e);
    return SL_ERR_SERVER;
}

static int txn_begin(sl_sink_t *snk)
{
    rd_kafka_error_t *e = rd_kafka_begin_transaction(snk->rk);
    if (e)
        return txn_error(snk, "could not begin a Kafka transaction", e);
    snk->in_txn = true;
    snk->txn_err = SL_OK;
    snprintf(snk->txn_label, sizeof snk->txn_label, "%016llx.%llu",
             (unsigned long long)snk->instance, (unsigned long long)++snk->txn_seq);
    return SL_OK;
}

/* Aborts the open transaction; every held event is reported failed with `err`. */
static void txn_abort(sl_sink_t *snk, int err)
{
    if (snk->in_txn && !snk->fatal) {
        rd_kafka_error_t *e = rd_kafka_abort_transaction(snk->rk, (int)snk->flush_timeout_ms);
        if (e) {
            sl_warn("kafka sink: aborting the transaction failed: %s (%s); the coordinator "
                    "aborts it when sluice restarts",
                    rd_kafka_error_string(e), rd_kafka_error_name(e));
            if (rd_kafka_error_is_fatal(e))
                snk->fatal = true;
            rd_kafka_error_destroy(e);
        }
    }
    snk->in_txn = false;
    snk->txn_err = SL_OK;
    held_report(snk, err);
}

static int txn_commit(sl_sink_t *snk)
{
    int64_t deadline = now_ms() + snk->flush_timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        rd_kafka_error_t *e = rd_kafka_commit_transaction(snk->rk, left > 0 ? (int)left : 1);
        if (!e) {
            snk->in_txn = false;
            held_report(snk, SL_OK);
            return SL_OK;
        }
        if (rd_kafka_error_is_retriable(e) && now_ms() < deadline) {
            rd_kafka_error_destroy(e);
            continue;
        }
        bool abortable = rd_kafka_error_txn_requires_abort(e);
        int rc = txn_error(snk, "could not commit the Kafka transaction", e);
        if (abortable) {
            txn_abort(snk, rc);
        } else {
            /* fatal, or still unknown at the deadline: nothing is reported delivered; a
             * restart's init_transactions completes or aborts it, offset_load tells which */
            snk->in_txn = false;
            held_report(snk, rc);
        }
        return rc;
    }
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
        if (snk->eos && snk->in_txn && !snk->fatal) {
            rd_kafka_error_t *e = rd_kafka_abort_transaction(snk->rk, DESTROY_DRAIN_MS);
            if (e)
                rd_kafka_error_destroy(e);
        }
        held_report(snk, SL_ERR_STOPPED); /* closing: references only */
    }
    for (size_t i = 0; i < snk->topics_size; i++)
        if (snk->topics[i].name) {
            rd_kafka_topic_destroy(snk->topics[i].rkt);
            free(snk->topics[i].name);
        }
    free(snk->topics);
    if (snk->offsets_rkt)
        rd_kafka_topic_destroy(snk->offsets_rkt);
    if (snk->dlq_rkt)
        rd_kafka_topic_destroy(snk->dlq_rkt);
    if (snk->rk)
        rd_kafka_destroy(snk->rk);
    free(snk->held);
    free(snk->txn_id);
    free(snk->offsets_topic);
    free(snk->dlq_topic);
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

/* "<prefix><topic.prefix>" or the configured value; NULL on out of memory. */
static char *name_or_default(const sl_conf_t *conf, const char *key, const char *prefix)
{
    const char *v = sl_conf_str(conf, key);
    if (v && *v)
        return strdup(v);
    const char *tp = sl_conf_str(conf, "debezium.source.topic.prefix");
    size_t n = strlen(prefix) + (tp ? strlen(tp) : 0) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s", prefix, tp ? tp : "");
    return s;
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
    snk->conf = conf;
    snk->flush_timeout_ms = sl_conf_int(conf, "sluice.sink.kafka.flush.timeout.ms");
    snk->headers = sl_conf_bool(conf, "sluice.sink.kafka.headers");
    snk->eos = sl_conf_bool(conf, "sluice.sink.kafka.exactly.once");
    const char *tol = sl_conf_str(conf, "debezium.sink.kafka.errors.tolerance");
    snk->tolerate = tol && strcasecmp(tol, "all") == 0;
    const char *dlq = sl_conf_str(conf, "debezium.sink.kafka.errors.deadletterqueue.topic.name");
    if (dlq && *dlq && !(snk->dlq_topic = strdup(dlq))) {
        snprintf(errstr, errstr_size, "out of memory");
        free(snk);
        return SL_ERR_NOMEM;
    }
    int rc;
    if (snk->eos) {
        const char *idem = sl_conf_str(conf, PRODUCER_PREFIX "enable.idempotence");
        if (idem && strcasecmp(idem, "false") == 0) {
            snprintf(errstr, errstr_size,
                     "%s: " PRODUCER_PREFIX "enable.idempotence=false contradicts "
                     "sluice.sink.kafka.exactly.once=true (transactions need idempotence)",
                     sl_conf_origin(conf, PRODUCER_PREFIX "enable.idempotence"));
            free(snk);
            return SL_ERR_CONFIG;
        }
        snk->txn_id = name_or_default(conf, "sluice.sink.kafka.transactional.id", "sluice-");
        snk->offsets_topic =
            name_or_default(conf, "sluice.sink.kafka.offsets.topic", "sluice-offsets-");
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snk->instance = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        if (!snk->txn_id || !snk->offsets_topic) {
            snprintf(errstr, errstr_size, "out of memory");
            kafka_destroy(snk);
            return SL_ERR_NOMEM;
        }
    }
    if ((rc = new_producer(conf, snk, &snk->rk, false, errstr, errstr_size)) != SL_OK) {
        kafka_destroy(snk);
        return rc;
    }
    warn_weak_settings(conf);
    if (snk->eos) {
        /* Fences an older instance with the same transactional.id and completes or aborts
         * its open transaction, so that offset_load reads a settled offsets topic. */
        rd_kafka_error_t *e = rd_kafka_init_transactions(snk->rk, (int)snk->flush_timeout_ms);
        if (e) {
            snprintf(errstr, errstr_size,
                     "kafka sink: could not initialize transactions (transactional.id \"%s\") "
                     "on %s: %s (%s)",
                     snk->txn_id, sl_conf_str(conf, PRODUCER_PREFIX "bootstrap.servers"),
                     rd_kafka_error_string(e), rd_kafka_error_name(e));
            rd_kafka_error_destroy(e);
            kafka_destroy(snk);
            return SL_ERR_CONN;
        }
        if (!(snk->offsets_rkt = rd_kafka_topic_new(snk->rk, snk->offsets_topic, NULL))) {
            snprintf(errstr, errstr_size, "kafka sink: offsets topic \"%s\": %s",
                     snk->offsets_topic, rd_kafka_err2str(rd_kafka_last_error()));
            kafka_destroy(snk);
            return SL_ERR_CONFIG;
        }
        sl_info("kafka sink: exactly-once: transactional.id \"%s\", offsets topic \"%s\"",
                snk->txn_id, snk->offsets_topic);
    }
    if (snk->dlq_topic) {
        if (!(snk->dlq_rkt = rd_kafka_topic_new(snk->rk, snk->dlq_topic, NULL))) {
            snprintf(errstr, errstr_size, "kafka sink: dead-letter topic \"%s\": %s",
                     snk->dlq_topic, rd_kafka_err2str(rd_kafka_last_error()));
            kafka_destroy(snk);
            return SL_ERR_CONFIG;
        }
        if (!snk->tolerate)
            sl_warn("kafka sink: debezium.sink.kafka.errors.deadletterqueue.topic.name is set "
                    "but errors.tolerance is none: nothing goes to \"%s\"", snk->dlq_topic);
    }
    sl_info("kafka sink: producer for %s",
            sl_conf_str(conf, PRODUCER_PREFIX "bootstrap.servers"));
    *out = snk;
    return SL_OK;
}

static int kafka_submit(sl_sink_t *snk, sl_event_t *ev)
{
    if (snk->fatal)
        return SL_ERR_SERVER;
    if (snk->eos && !snk->in_txn) {
        int rc = txn_begin(snk);
        if (rc != SL_OK)
            return rc;
    }
    rd_kafka_topic_t *rkt = topic_get(snk, ev->topic, ev->topic_len);
    if (!rkt)
        return SL_ERR_NOMEM;
    sl_event_ref(ev);
    /* msgflags 0: librdkafka points at ev->value until the report (no copy, no free);
     * the key and headers are always copied by librdkafka. */
    rd_kafka_vu_t vu[8];
    size_t n = 0;
    vu[n].vtype = RD_KAFKA_VTYPE_RKT, vu[n++].u.rkt = rkt;
    vu[n].vtype = RD_KAFKA_VTYPE_PARTITION, vu[n++].u.i32 = RD_KAFKA_PARTITION_UA;
    vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS, vu[n++].u.i = 0;
    vu[n].vtype = RD_KAFKA_VTYPE_KEY, vu[n].u.mem.ptr = (void *)ev->key,
    vu[n++].u.mem.size = ev->key ? ev->key_len : 0;
    vu[n].vtype = RD_KAFKA_VTYPE_VALUE, vu[n].u.mem.ptr = (void *)ev->value,
    vu[n++].u.mem.size = ev->value ? ev->value_len : 0;
    vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE, vu[n++].u.ptr = ev;
    if (snk->headers && ev->op) {
        vu[n].vtype = RD_KAFKA_VTYPE_HEADER, vu[n].u.header.name = "__op",
        vu[n].u.header.val = &ev->op, vu[n++].u.header.size = 1;
    }
    if (snk->headers && snk->eos) { /* which Kafka transaction wrote it (tests, audits) */
        vu[n].vtype = RD_KAFKA_VTYPE_HEADER, vu[n].u.header.name = "__sluice.txn",
        vu[n].u.header.val = snk->txn_label, vu[n++].u.header.size = strlen(snk->txn_label);
    }
    rd_kafka_error_t *err = rd_kafka_produceva(snk->rk, vu, n);
    if (!err) {
        snk->outstanding++;
        return SL_OK;
    }
    rd_kafka_resp_err_t e = rd_kafka_error_code(err);
    rd_kafka_error_destroy(err);
    sl_event_unref(ev); /* no report will come (invariant 3) */
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return SL_ERR_AGAIN;
    if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE && snk->tolerate) {
        if (!snk->dlq_rkt) {
            sl_warn("kafka sink: message to topic \"%.*s\" too large (%zu bytes): dropped "
                    "(errors.tolerance=all, no dead-letter topic)",
                    (int)ev->topic_len, ev->topic,
                    (ev->key ? ev->key_len : 0) + (ev->value ? ev->value_len : 0));
            snk->env.on_delivery(snk->env.opaque, ev, SL_OK);
            return SL_OK; /* delivered synchronously; no report follows */
        }
        sl_event_ref(ev);
        int rc = dlq_send(snk, ev, ev->topic, ev->topic_len, e);
        if (rc != SL_OK)
            sl_event_unref(ev);
        return rc;
    }
    snprintf(snk->err, sizeof snk->err, "could not produce to topic \"%.*s\": %s (%s)%s",
             (int)ev->topic_len, ev->topic, rd_kafka_err2str(e), rd_kafka_err2name(e),
             e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? too_large_hint : "");
    return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? SL_ERR_TOO_BIG : SL_ERR_SERVER;
}

/* Invariant 4: fail everything still in flight, once, and say why. */
static int fail_fatal(sl_sink_t *snk)
{
    rd_kafka_purge(snk->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    int64_t deadline = now_ms() + DESTROY_DRAIN_MS;
    while (snk->outstanding && now_ms() < deadline)
        rd_kafka_poll(snk->rk, 10);
    held_report(snk, SL_ERR_SERVER);
    snk->in_txn = false;
    return SL_ERR_SERVER;
}

/* Waits until every submitted message has its report (and, if `offset_dr`, the offset
 * record too), at most flush.timeout.ms. */
static int wait_reports(sl_sink_t *snk, bool offset_dr)
{
    int64_t deadline = now_ms() + snk->flush_timeout_ms;
    /* rd_kafka_flush sends at once (ignores linger.ms) and serves delivery reports;
     * slices so that our own count, not librdkafka's wider outq_len, decides. */
    while ((snk->outstanding || (offset_dr && snk->offset_dr == 0)) && !snk->fatal) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            break;
        (void)rd_kafka_flush(snk->rk, (int)(left < FLUSH_SLICE_MS ? left : FLUSH_SLICE_MS));
    }
    if (snk->fatal)
        return fail_fatal(snk);
    if (snk->outstanding || (offset_dr && snk->offset_dr == 0)) {
        snprintf(snk->err, sizeof snk->err,
                 "%zu messages not acknowledged by the brokers within %lld ms "
                 "(sluice.sink.kafka.flush.timeout.ms); are the brokers reachable?",
                 snk->outstanding + (offset_dr && snk->offset_dr == 0),
                 (long long)snk->flush_timeout_ms);
        return SL_ERR_CONN;
    }
    return SL_OK;
}

/* Exactly-once mode: data only becomes "delivered" with flush_offset's commit, so a
 * plain flush (the pipeline's, when no position is known yet) only waits for acks. */
static int kafka_flush(sl_sink_t *snk)
{
    if (snk->fatal)
        return fail_fatal(snk);
    return wait_reports(snk, false);
}

static int kafka_flush_offset(sl_sink_t *snk, const char *offset, size_t offset_len)
{
    if (snk->fatal)
        return fail_fatal(snk);
    int rc = SL_OK;
    if (!snk->in_txn && (rc = txn_begin(snk)) != SL_OK) /* progress made of markers alone */
        return snk->fatal ? fail_fatal(snk) : rc;
    /* invariant 6: the data, then the offset record, then the commit */
    rc = wait_reports(snk, false);
    if (rc == SL_OK && snk->txn_err == SL_OK) {
        snk->offset_dr = 0;
        rd_kafka_vu_t vu[7];
        size_t n = 0;
        vu[n].vtype = RD_KAFKA_VTYPE_RKT, vu[n++].u.rkt = snk->offsets_rkt;
        vu[n].vtype = RD_KAFKA_VTYPE_PARTITION, vu[n++].u.i32 = RD_KAFKA_PARTITION_UA;
        vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS, vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
        vu[n].vtype = RD_KAFKA_VTYPE_KEY, vu[n].u.mem.ptr = snk->txn_id,
        vu[n++].u.mem.size = strlen(snk->txn_id);
        vu[n].vtype = RD_KAFKA_VTYPE_VALUE, vu[n].u.mem.ptr = (void *)offset,
        vu[n++].u.mem.size = offset_len;
        vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE, vu[n++].u.ptr = &snk->offset_dr;
        vu[n].vtype = RD_KAFKA_VTYPE_HEADER, vu[n].u.header.name = "__sluice.txn",
        vu[n].u.header.val = snk->txn_label, vu[n++].u.header.size = strlen(snk->txn_label);
        rd_kafka_error_t *e = rd_kafka_produceva(snk->rk, vu, n);
        if (e) {
            rc = txn_error(snk, "could not produce the offset record", e);
        } else {
            rc = wait_reports(snk, true);
            if (rc == SL_OK && snk->offset_dr < 0)
                rc = SL_ERR_SERVER;
        }
    }
    if (snk->fatal)
        return fail_fatal(snk);
    if (rc == SL_OK && snk->txn_err != SL_OK)
        rc = snk->txn_err; /* snk->err already says which message failed */
    if (rc != SL_OK) {
        txn_abort(snk, rc);
        return rc;
    }
    rc = txn_commit(snk);
    return snk->fatal ? fail_fatal(snk) : rc;
}

/* ---------- exactly-once: reading the offset back ---------- */

/* Connection keys of the producer that the offsets consumer needs too. */
static bool consumer_key(const char *subkey)
{
    static const char *const prefixes[] = {
        "bootstrap.servers", "metadata.broker.list", "security.protocol", "sasl.", "ssl.",
        "socket.",           "broker.",              "client.",           "api.version",
        "enable.ssl",        "reconnect.",           "retry.backoff",     "debug",
    };
    for (size_t i = 0; i < N(prefixes); i++)
        if (strncmp(subkey, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static void consumer_set_one(void *ud, const char *subkey, const char *value)
{
    struct conf_build *cb = ud;
    char e[256];
    if (cb->rc != SL_OK || !consumer_key(subkey) || in_list(refused, subkey))
        return;
    if (rd_kafka_conf_set(cb->kc, subkey, value, e, sizeof e) != RD_KAFKA_CONF_OK) {
        cb->rc = SL_ERR_CONFIG;
        snprintf(cb->errstr, cb->errstr_size, "%s%s: %s", PRODUCER_PREFIX, subkey, e);
    }
}

static rd_kafka_t *offsets_consumer(sl_sink_t *snk, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    char e[512];
    static const char *const settings[][2] = {
        {"isolation.level", "read_committed"}, {"enable.partition.eof", "true"},
        {"enable.auto.commit", "false"},       {"auto.offset.reset", "earliest"},
        {"client.id", "sluice-offsets"},
        /* assign() needs a group handle; nothing is ever committed or joined */
        {"group.id", "sluice-offsets-reader"},
    };
    struct conf_build cb = {snk->conf, kc, true, SL_OK, errstr, errstr_size};
    sl_conf_foreach_prefix(snk->conf, PRODUCER_PREFIX, consumer_set_one, &cb);
    for (size_t i = 0; cb.rc == SL_OK && i < N(settings); i++)
        if (rd_kafka_conf_set(kc, settings[i][0], settings[i][1], e, sizeof e) !=
            RD_KAFKA_CONF_OK) {
            cb.rc = SL_ERR_CONFIG;
            snprintf(errstr, errstr_size, "kafka sink: offsets consumer: %s", e);
        }
    if (cb.rc != SL_OK) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(kc, log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof e);
    if (!rk) {
        rd_kafka_conf_destroy(kc);
        snprintf(errstr, errstr_size, "kafka sink: offsets consumer: %s", e);
    }
    return rk;
}

/* Exactly-once mode only (kafka_caps); normal mode uses the pipeline's file store. */
static int kafka_offset_load(sl_sink_t *snk, char **text, char *errstr, size_t errstr_size)
{
    *text = NULL;
    rd_kafka_t *rk = offsets_consumer(snk, errstr, errstr_size);
    if (!rk)
        return SL_ERR_CONFIG;
    int rc = SL_OK;
    char *best = NULL;
    bool *eof = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, snk->offsets_topic, NULL);
    rd_kafka_resp_err_t e =
        rkt ? rd_kafka_metadata(rk, 0, rkt, &md, (int)snk->flush_timeout_ms) : rd_kafka_last_error();
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errstr, errstr_size, "kafka sink: offsets topic \"%s\": no metadata: %s",
                 snk->offsets_topic, rd_kafka_err2str(e));
        rc = SL_ERR_CONN;
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        md->topics[0].partition_cnt == 0) {
        sl_info("kafka sink: offsets topic \"%s\" does not exist yet: no stored offset",
                snk->offsets_topic);
        goto out;
    }
    if (md->topics[0].err) {
        snprintf(errstr, errstr_size, "kafka sink: offsets topic \"%s\": %s", snk->offsets_topic,
                 rd_kafka_err2str(md->topics[0].err));
        rc = SL_ERR_SERVER;
        goto out;
    }
    int np = md->topics[0].partition_cnt;
    parts = rd_kafka_topic_partition_list_new(np);
    eof = calloc((size_t)np, sizeof *eof);
    if (!parts || !eof) {
        snprintf(errstr, errstr_size, "out of memory");
        rc = SL_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < np; i++)
        rd_kafka_topic_partition_list_add(parts, snk->offsets_topic, md->topics[0].partitions[i].id)
            ->offset = RD_KAFKA_OFFSET_BEGINNING;
    if ((e = rd_kafka_assign(rk, parts)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errstr, errstr_size, "kafka sink: offsets topic \"%s\": %s", snk->offsets_topic,
                 rd_kafka_err2str(e));
        rc = SL_ERR_SERVER;
        goto out;
    }
    /* From the beginning to the (last stable) end of every partition: the topic is
     * compacted and holds one record per transactional id, so this read is small. */
    int left = np;
    char last_err[256] = "";
    size_t idlen = strlen(snk->txn_id);
    int64_t deadline = now_ms() + snk->flush_timeout_ms;
    while (left > 0 && now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            for (int i = 0; i < np; i++)
                if (md->topics[0].partitions[i].id == m->partition && !eof[i]) {
                    eof[i] = true;
                    left--;
                }
        } else if (m->err) {
            snprintf(last_err, sizeof last_err, "%s", rd_kafka_message_errstr(m));
        } else if (m->key_len == idlen && memcmp(m->key, snk->txn_id, idlen) == 0) {
            free(best); /* newest wins; a null value (tombstone) means "none" */
            best = m->payload ? strndup(m->payload, m->len) : NULL;
            if (m->payload && !best) {
                rd_kafka_message_destroy(m);
                snprintf(errstr, errstr_size, "out of memory");
                rc = SL_ERR_NOMEM;
                goto out;
            }
        }
        rd_kafka_message_destroy(m);
    }
    if (left > 0) {
        snprintf(errstr, errstr_size,
                 "kafka sink: could not read the offsets topic \"%s\" to its end within %lld ms "
                 "(sluice.sink.kafka.flush.timeout.ms)%s%s",
                 snk->offsets_topic, (long long)snk->flush_timeout_ms, *last_err ? ": " : "",
                 last_err);
        rc = SL_ERR_CONN;
        goto out;
    }
    sl_info("kafka sink: offsets topic \"%s\": %s", snk->offsets_topic,
            best ? "resuming from the stored offset" : "no stored offset");
    *text = best;
    best = NULL;
out:
    free(best);
    free(eof);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

static int kafka_poll(sl_sink_t *snk, int timeout_ms)
{
    int n = rd_kafka_poll(snk->rk, timeout_ms);
    if (snk->fatal && (snk->outstanding || snk->nheld))
        (void)fail_fatal(snk);
    return n;
}

static const char *kafka_last_error(const sl_sink_t *snk) { return snk->err; }

/* Normal mode: librdkafka sends on its own and reports through rd_kafka_poll(), so the
 * pipeline need not stop for flushes (plugin.h SL_SINK_CAP_ASYNC). Exactly-once mode is
 * driven by flush_offset (one Kafka transaction per flush). */
static unsigned kafka_caps(const sl_sink_t *snk)
{
    return snk->eos ? SL_SINK_CAP_OFFSETS : SL_SINK_CAP_ASYNC;
}
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
    {"debezium.sink.kafka.errors.tolerance", SL_PT_ENUM, "none", "none|all", 0, 0, 0,
     "What a message the producer or the broker refuses as too large (MSG_SIZE_TOO_LARGE) "
     "does: none stops the pipeline with the error (the position does not pass it); all "
     "sends it to errors.deadletterqueue.topic.name (or drops it with a warning when no "
     "topic is set) and carries on. Other delivery errors always stop."},
    {"debezium.sink.kafka.errors.deadletterqueue.topic.name", SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "With errors.tolerance=all: the dead-letter topic. Each refused event goes there with "
     "its key, its value if that fits (else none, header __sluice.dlq.value.dropped=true), "
     "headers __connect.errors.topic (original topic), __connect.errors.exception.message "
     "(the error) and __sluice.dlq.value.size; the event counts as delivered once that "
     "message is acknowledged."},
    {"sluice.sink.kafka.flush.timeout.ms", SL_PT_INT, "30000", NULL, 1, 86400000, 0,
     "How long a flush waits for the brokers to acknowledge every message in flight; after "
     "that the pipeline stops with an error (the position never advances without acks) and a "
     "restart re-sends from the last durable position."},
    {"sluice.sink.kafka.headers", SL_PT_BOOL, "false", NULL, 0, 0, 0,
     "Add a header __op (c, u, d, r, t, m) to each message (tombstones have none); in "
     "exactly-once mode also __sluice.txn, the Kafka transaction that wrote the message."},
    {"sluice.sink.kafka.exactly.once", SL_PT_BOOL, "false", NULL, 0, 0, 0,
     "Exactly-once delivery for read_committed consumers: a transactional producer writes the "
     "events and the source offset (to sluice.sink.kafka.offsets.topic) in one Kafka "
     "transaction per flush, and on start the offset is read back from that topic instead of "
     "debezium.source.offset.storage.file.filename."},
    {"sluice.sink.kafka.transactional.id", SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "Exactly-once mode: the producer's transactional.id (default sluice-<topic.prefix>). "
     "Only one running sluice may use it: a new one fences the old."},
    {"sluice.sink.kafka.offsets.topic", SL_PT_STRING, NULL, NULL, 0, 0, 0,
     "Exactly-once mode: the topic holding source offsets, keyed by transactional.id (default "
     "sluice-offsets-<topic.prefix>). Create it with cleanup.policy=compact."},
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
    /* used in exactly-once mode only (kafka_caps) */
    .offset_load = kafka_offset_load,
    .flush_offset = kafka_flush_offset,
    .caps = kafka_caps,
};
