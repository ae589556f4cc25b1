/*
 * test_core.c — queue bounds, the durable frontier of the txn ring, the offset
 * store's atomic record, LSN text, and split events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include "core/buf.h"
#include "core/event.h"
#include "core/offsets.h"
#include "core/queue.h"
#include "core/txnring.h"

static sl_event_t *ev_n(int64_t index, size_t value_len)
{
    sl_pos_t pos = {.ack_lsn = (uint64_t)index, .index = index};
    char *v = calloc(1, value_len + 1);
    memset(v, 'x', value_len);
    sl_event_t *ev = sl_event_new(&pos, 'c', "t", 1, "{}", 2, v, value_len);
    free(v);
    return ev;
}

static void test_queue_bounds(void **state)
{
    sl_queue_t *q = sl_queue_new(3, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(sl_queue_push(q, ev_n(i, 1), 10), SL_OK);
    sl_event_t *extra = ev_n(3, 1);
    assert_int_equal(sl_queue_push(q, extra, 10), SL_ERR_AGAIN); /* full: not taken */
    sl_event_t *out[8];
    assert_int_equal(sl_queue_pop(q, out, 8, 0), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out[i]->pos.index, i); /* FIFO */
        sl_event_unref(out[i]);
    }
    assert_int_equal(sl_queue_push(q, extra, 10), SL_OK);
    sl_queue_close(q);
    sl_event_t *late = ev_n(9, 1);
    assert_int_equal(sl_queue_push(q, late, 10), SL_ERR_STOPPED); /* not taken */
    sl_event_unref(late);
    assert_int_equal(sl_queue_pop(q, out, 8, 10), 1);
    sl_event_unref(out[0]);
    assert_true(sl_queue_is_done(q));
    sl_queue_destroy(q);
}

/* Two threads through a queue of 4 events / 3 events' bytes: every event arrives once,
 * in order, though both sides keep finding it full or empty (and sleep, and are woken). */
#define STRESS_EVENTS 100000
struct stress {
    sl_queue_t *q;
    int again;
};

static void *stress_producer(void *arg)
{
    struct stress *st = arg;
    for (int64_t i = 0; i < STRESS_EVENTS; i++) {
        sl_event_t *ev = ev_n(i, (size_t)(i % 7) * 10);
        int rc;
        while ((rc = sl_queue_push(st->q, ev, 1)) == SL_ERR_AGAIN)
            st->again++;
        if (rc != SL_OK)
            abort();
    }
    sl_queue_close(st->q);
    return NULL;
}

static void test_queue_threads(void **state)
{
    struct stress st = {.q = sl_queue_new(4, 3 * (sizeof(sl_event_t) + 80))};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stress_producer, &st), 0);
    int64_t next = 0;
    sl_event_t *out[3];
    while (!sl_queue_is_done(st.q)) {
        size_t n = sl_queue_pop(st.q, out, next % 2 ? 3 : 1, 5);
        assert_true(sl_queue_len(st.q) <= 4);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(out[i]->pos.index, next);
            next++;
            sl_event_unref(out[i]);
        }
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(next, STRESS_EVENTS);
    assert_int_equal(sl_queue_bytes(st.q), 0);
    sl_queue_destroy(st.q);
}

/* sl_grow_array: doubles from `first` until `need` fits; refuses an overflowing size and
 * leaves the array as it was. */
static void test_grow_array(void **state)
{
    (void)state;
    size_t cap = 0;
    int *a = sl_grow_array(NULL, &cap, 5, sizeof *a, 4);
    assert_non_null(a);
    assert_int_equal(cap, 8);
    a[7] = 7;
    int *same = sl_grow_array(a, &cap, 8, sizeof *a, 4);
    assert_ptr_equal(same, a);
    a = sl_grow_array(a, &cap, 9, sizeof *a, 4);
    assert_non_null(a);
    assert_int_equal(cap, 16);
    assert_int_equal(a[7], 7);
    assert_null(sl_grow_array(a, &cap, SIZE_MAX / 2, sizeof *a, 4));
    assert_int_equal(cap, 16);
    free(a);
}

static void test_queue_byte_bound(void **state)
{
    sl_queue_t *q = sl_queue_new(100, 1000);
    sl_event_t *big = ev_n(0, 5000);
    /* larger than the byte bound, but the queue is empty: accepted (never wedges) */
    assert_int_equal(sl_queue_push(q, big, 10), SL_OK);
    sl_event_t *small = ev_n(1, 10);
    assert_int_equal(sl_queue_push(q, small, 10), SL_ERR_AGAIN);
    assert_true(sl_queue_bytes(q) >= 5000);
    sl_event_t *out[2];
    assert_int_equal(sl_queue_pop(q, out, 2, 0), 1);
    sl_event_unref(out[0]);
    assert_int_equal(sl_queue_push(q, small, 10), SL_OK);
    sl_queue_destroy(q); /* unrefs what is left */
}

static void test_ring_frontier(void **state)
{
    sl_txnring_t *r = sl_txnring_new();
    sl_event_t *evs[3000];
    for (int i = 0; i < 3000; i++) { /* more than the initial capacity: grows */
        evs[i] = ev_n(i, 1);
        assert_int_equal(sl_txnring_add(r, evs[i]), SL_OK);
        assert_int_equal(evs[i]->seq, (uint64_t)i + 1);
    }
    sl_pos_t pos;
    assert_false(sl_txnring_advance(r, &pos));
    sl_txnring_done(r, evs[1]); /* out of order: frontier must not move */
    sl_txnring_done(r, evs[2]);
    assert_false(sl_txnring_advance(r, &pos));
    sl_txnring_done(r, evs[0]);
    assert_true(sl_txnring_advance(r, &pos));
    assert_int_equal(pos.index, 2);
    assert_int_equal(sl_txnring_len(r), 2997);
    for (int i = 2999; i >= 3; i--)
        sl_txnring_done(r, evs[i]);
    assert_true(sl_txnring_advance(r, &pos));
    assert_int_equal(pos.index, 2999);
    assert_int_equal(sl_txnring_len(r), 0);
    sl_txnring_destroy(r);
}

static void test_offsets(void **state)
{
    char dir[] = "/tmp/sluice-test-offsets-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/sub/dir/offsets.dat", dir);
    sl_offset_store_t *os;
    assert_int_equal(sl_offset_store_open(&os, path, err, sizeof err), SL_OK);
    char *text;
    assert_int_equal(sl_offset_store_load(os, &text, err, sizeof err), SL_OK);
    assert_null(text); /* nothing stored yet */
    const char *rec = "source=postgres\nlsn_ack=0/16B3748\n";
    assert_int_equal(sl_offset_store_commit(os, rec, strlen(rec), err, sizeof err), SL_OK);
    assert_int_equal(sl_offset_store_load(os, &text, err, sizeof err), SL_OK);
    assert_string_equal(text, rec);
    char v[64];
    assert_int_equal(sl_offset_get(text, "lsn_ack", v, sizeof v), 0);
    assert_string_equal(v, "0/16B3748");
    assert_int_equal(sl_offset_get(text, "lsn", v, sizeof v), -1);
    free(text);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0); /* no temp file left behind */
    sl_offset_store_close(os);

    /* a file that is not ours is refused, never overwritten */
    FILE *f = fopen(path, "w");
    fputs("something else\n", f);
    fclose(f);
    assert_int_equal(sl_offset_store_open(&os, path, err, sizeof err), SL_OK);
    assert_int_equal(sl_offset_store_load(os, &text, err, sizeof err), SL_ERR_PROTO);
    assert_non_null(strstr(err, "not a sluice offsets file"));
    sl_offset_store_close(os);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_lsn(void **state)
{
    char b[20];
    assert_string_equal(sl_lsn_fmt(0x16B3748ULL, b), "0/16B3748");
    assert_string_equal(sl_lsn_fmt(0xFFFFFFFF00000001ULL, b), "FFFFFFFF/1");
    uint64_t v;
    assert_int_equal(sl_lsn_parse("1A/2B", &v), 0);
    assert_true(v == ((0x1AULL << 32) | 0x2B));
    assert_int_equal(sl_lsn_parse("1A/2B junk", &v), -1);
    assert_int_equal(sl_lsn_parse("", &v), -1);
    assert_int_equal(sl_lsn_parse("1A", &v), -1);
}

/* A split event joins back into the text an unsplit one carries; its schemas live as long
 * as any event or holder references them (ASan checks the releases). */
static void assert_joined(sl_buf_t *b, const char *want)
{
    sl_buf_addc(b, 0);
    assert_string_equal(b->data, want);
}

static void test_event_split(void **state)
{
    sl_schema_t *sc = sl_schema_new("{\"k\":1}", 7, "{\"v\":2}", 7);
    sl_schema_t *no_key = sl_schema_new(NULL, 0, "{\"v\":3}", 7);
    assert_non_null(sc);
    assert_non_null(no_key);
    assert_true(sc->id != 0 && no_key->id != sc->id);
    sl_pos_t pos = {0};
    sl_event_t *ev = sl_event_new(&pos, 'c', "t", 1, "{\"id\":1}", 8, "{\"after\":{}}", 12);
    ev->schema = sl_schema_ref(sc);
    sl_schema_unref(sc); /* the event's reference keeps it */
    sl_buf_t b = SL_BUF_INIT;
    sl_event_join(ev, false, &b);
    assert_joined(&b, "{\"schema\":{\"k\":1},\"payload\":{\"id\":1}}");
    sl_buf_reset(&b);
    sl_event_join(ev, true, &b);
    assert_joined(&b, "{\"schema\":{\"v\":2},\"payload\":{\"after\":{}}}");
    sl_event_unref(ev);
    /* no key schema: the key is joined as it is; a tombstone has no value to join */
    ev = sl_event_new(&pos, 0, "t", 1, "{\"id\":1}", 8, NULL, 0);
    ev->schema = no_key;
    sl_buf_reset(&b);
    sl_event_join(ev, false, &b);
    assert_joined(&b, "{\"id\":1}");
    sl_buf_reset(&b);
    sl_event_join(ev, true, &b);
    assert_int_equal(b.len, 0);
    sl_event_unref(ev);
    /* unsplit: the text itself */
    ev = sl_event_new(&pos, 'c', "t", 1, NULL, 0, "{\"x\":1}", 7);
    sl_buf_reset(&b);
    sl_event_join(ev, true, &b);
    assert_joined(&b, "{\"x\":1}");
    sl_event_unref(ev);
    sl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_bounds), cmocka_unit_test(test_queue_byte_bound),
        cmocka_unit_test(test_queue_threads), cmocka_unit_test(test_grow_array),
        cmocka_unit_test(test_ring_frontier), cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_lsn), cmocka_unit_test(test_event_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
