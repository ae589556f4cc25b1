/*
 * test_pg_offsets.c — the PostgreSQL offset record: positions survive a round trip,
 * complete positions skip nothing on restart, damaged records are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "source/pg/pg_source.h"

static void roundtrip(const sl_pos_t *pos, pg_offset_t *out)
{
    sl_buf_t b = SL_BUF_INIT;
    assert_int_equal(pg_offset_format("7310", "slot_a", pos, &b), SL_OK);
    char err[256];
    assert_int_equal(pg_offset_parse(b.data, out, err, sizeof err), SL_OK);
    assert_string_equal(out->system_id, "7310");
    assert_string_equal(out->slot, "slot_a");
    sl_buf_free(&b);
}

static void test_mid_transaction(void **state)
{
    sl_pos_t pos = {.ack_lsn = 0x1000, .txn_lsn = 0x2000, .lsn = 0x1800, .index = 41};
    pg_offset_t o;
    roundtrip(&pos, &o);
    assert_true(o.ack_lsn == 0x1000);
    assert_true(o.txn_lsn == 0x2000); /* resume inside this transaction... */
    assert_int_equal(o.index, 41);     /* ...after event 41 */
    assert_true(o.snapshot_done);
}

static void test_complete_positions(void **state)
{
    uint32_t flags[] = {SL_POS_TXN_END, SL_POS_HEARTBEAT, SL_POS_SNAPSHOT_END};
    for (size_t i = 0; i < 3; i++) {
        sl_pos_t pos = {.ack_lsn = 0xABCDEF0123ULL, .txn_lsn = 0x2000, .index = 7,
                        .flags = flags[i]};
        pg_offset_t o;
        roundtrip(&pos, &o);
        assert_true(o.ack_lsn == 0xABCDEF0123ULL);
        assert_true(o.txn_lsn == 0);
        assert_int_equal(o.index, -1); /* nothing to skip after a complete position */
        assert_true(o.snapshot_done);
    }
}

static void test_snapshot_incomplete(void **state)
{
    sl_pos_t pos = {.index = 1234, .flags = SL_POS_SNAPSHOT};
    pg_offset_t o;
    roundtrip(&pos, &o);
    assert_false(o.snapshot_done);
}

static void test_damaged(void **state)
{
    const char *bad[] = {
        "",
        "source=mysql\nlsn_ack=0/1\ntxn_lsn=0/0\nevent_index=-1\nsnapshot=done\n",
        "source=postgres\ntxn_lsn=0/0\nevent_index=-1\nsnapshot=done\n",
        "source=postgres\nlsn_ack=zz\ntxn_lsn=0/0\nevent_index=-1\nsnapshot=done\n",
        "source=postgres\nlsn_ack=0/1\ntxn_lsn=0/0\nevent_index=4x\nsnapshot=done\n",
        "source=postgres\nlsn_ack=0/1\ntxn_lsn=0/0\nevent_index=-7\nsnapshot=done\n",
        "source=postgres\nlsn_ack=0/1\ntxn_lsn=0/0\nevent_index=-1\nsnapshot=maybe\n",
        "source=postgres\nlsn_ack=0/1\ntxn_lsn=0/0\nevent_index=-1\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pg_offset_t o;
        char err[256] = "";
        assert_int_equal(pg_offset_parse(bad[i], &o, err, sizeof err), SL_ERR_POSITION);
        assert_true(strlen(err) > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mid_transaction), cmocka_unit_test(test_complete_positions),
        cmocka_unit_test(test_snapshot_incomplete), cmocka_unit_test(test_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
