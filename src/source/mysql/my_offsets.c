/*
 * my_offsets.c — the MySQL/MariaDB source's offset record, and the GTID state at
 * each durable position.
 *
 * The record (key=value lines, inside whatever stores offsets):
 *   source=mysql
 *   server_id=<n>        @@server_id of the server read (informational)
 *   file=<binlog file>   where streaming resumes by position: right after the newest
 *   pos=<offset>         complete transaction
 *   gtids=<d-s-n,...>    MariaDB GTID state at that point ("" when the server has none):
 *                        where streaming resumes by GTID
 *   txn_gtid=<d-s-n>     a transaction delivered only in part: its GTID ("" none) ...
 *   txn_file=<file>      ... and its first event's coordinate
 *   txn_pos=<offset>
 *   event_index=<n>      ... and the index of its last durable event (-1: none)
 *   snapshot=done|incomplete
 *
 * The GTID log. Positions carry binlog coordinates only (my_source.h). The source
 * pushes (coordinate, GTID) for every transaction it starts; format_pos, which the
 * pipeline calls with durable positions in increasing order, folds every transaction
 * that began before the position's ack coordinate into the per-domain state and
 * renders it. Memory: one 24-byte entry per transaction read but not yet durable.
 *
 * Invariants:
 *  1. A complete position (transaction end, heartbeat, snapshot end, no index) has
 *     no txn_* part and event_index=-1: a restart skips nothing.
 *  2. Parsing is strict: a missing or malformed field is refused with a message,
 *     never read as "start from the beginning" or "start from now".
 *  3. The log is folded only up to a durable position, so the rendered state never
 *     includes a transaction that is not durable.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/offsets.h"
#include "source/mysql/my_source.h"

/* --- GTID log --------------------------------------------------------------- */

int my_gtid_log_init(my_gtid_log_t *g)
{
    memset(g, 0, sizeof *g);
    return pthread_mutex_init(&g->mu, NULL) == 0 ? SL_OK : SL_ERR_NOMEM;
}

void my_gtid_log_fini(my_gtid_log_t *g)
{
    pthread_mutex_destroy(&g->mu);
    free(g->state);
    free(g->q);
    memset(g, 0, sizeof *g);
}

/* Caller holds mu. */
static int fold(my_gtid_log_t *g, const my_gtid_t *x)
{
    for (size_t i = 0; i < g->nstate; i++)
        if (g->state[i].domain == x->domain) {
            g->state[i] = *x;
            return SL_OK;
        }
    my_gtid_t *n = realloc(g->state, (g->nstate + 1) * sizeof *n);
    if (!n)
        return SL_ERR_NOMEM;
    g->state = n;
    /* keep domains sorted so the rendered state is stable */
    size_t at = g->nstate;
    while (at > 0 && g->state[at - 1].domain > x->domain) {
        g->state[at] = g->state[at - 1];
        at--;
    }
    g->state[at] = *x;
    g->nstate++;
    return SL_OK;
}

int my_gtid_log_push(my_gtid_log_t *g, uint64_t txn_coord, const my_gtid_t *gtid)
{
    pthread_mutex_lock(&g->mu);
    if (g->len == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 1024;
        my_gtid_pending_t *q = malloc(cap * sizeof *q);
        if (!q) {
            pthread_mutex_unlock(&g->mu);
            return SL_ERR_NOMEM;
        }
        for (size_t i = 0; i < g->len; i++)
            q[i] = g->q[(g->head + i) % g->cap];
        free(g->q);
        g->q = q;
        g->head = 0;
        g->cap = cap;
    }
    g->q[(g->head + g->len) % g->cap] = (my_gtid_pending_t){txn_coord, *gtid};
    g->len++;
    pthread_mutex_unlock(&g->mu);
    return SL_OK;
}

static int parse_gtid(const char *s, const char **end, my_gtid_t *out)
{
    char *e;
    errno = 0;
    unsigned long d = strtoul(s, &e, 10);
    if (e == s || *e != '-' || errno || d > UINT32_MAX)
        return -1;
    s = e + 1;
    unsigned long sv = strtoul(s, &e, 10);
    if (e == s || *e != '-' || errno || sv > UINT32_MAX)
        return -1;
    s = e + 1;
    unsigned long long n = strtoull(s, &e, 10);
    if (e == s || errno)
        return -1;
    *out = (my_gtid_t){(uint32_t)d, (uint32_t)sv, n};
    *end = e;
    return 0;
}

/* Parses "d-s-n,d-s-n" into fold(); -1 on malformed text. Caller holds mu. */
static int parse_state(my_gtid_log_t *g, const char *s)
{
    while (*s == ' ')
        s++;
    while (*s) {
        my_gtid_t x;
        if (parse_gtid(s, &s, &x) != 0 || fold(g, &x) != SL_OK)
            return -1;
        while (*s == ' ' || *s == '\n')
            s++;
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
        while (*s == ' ' || *s == '\n')
            s++;
    }
    return 0;
}

int my_gtid_log_reset(my_gtid_log_t *g, const char *state)
{
    pthread_mutex_lock(&g->mu);
    g->nstate = 0;
    g->len = 0;
    g->head = 0;
    int rc = parse_state(g, state ? state : "") == 0 ? SL_OK : SL_ERR_PROTO;
    pthread_mutex_unlock(&g->mu);
    return rc;
}

static void render(const my_gtid_log_t *g, sl_buf_t *out)
{
    for (size_t i = 0; i < g->nstate; i++)
        sl_buf_printf(out, "%s%" PRIu32 "-%" PRIu32 "-%" PRIu64, i ? "," : "", g->state[i].domain,
                      g->state[i].server, g->state[i].seq);
}

void my_gtid_log_state(my_gtid_log_t *g, uint64_t ack_coord, sl_buf_t *out)
{
    pthread_mutex_lock(&g->mu);
    while (g->len && g->q[g->head].txn_coord < ack_coord) {
        if (fold(g, &g->q[g->head].gtid) != SL_OK)
            break; /* out of memory: keep it pending; the buffer's OOM flag reports it */
        g->head = (g->head + 1) % g->cap;
        g->len--;
    }
    render(g, out);
    pthread_mutex_unlock(&g->mu);
}

bool my_gtid_log_find(my_gtid_log_t *g, uint64_t txn_coord, my_gtid_t *out)
{
    bool found = false;
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < g->len; i++) {
        const my_gtid_pending_t *e = &g->q[(g->head + i) % g->cap];
        if (e->txn_coord == txn_coord) {
            *out = e->gtid;
            found = true;
            break;
        }
        if (e->txn_coord > txn_coord)
            break;
    }
    pthread_mutex_unlock(&g->mu);
    return found;
}

/* --- the record ------------------------------------------------------------- */

int my_offset_format(sl_source_t *src, const sl_pos_t *pos, sl_buf_t *out)
{
    bool complete = (pos->flags & (SL_POS_TXN_END | SL_POS_HEARTBEAT | SL_POS_SNAPSHOT_END)) ||
                    pos->index < 0 || (pos->flags & SL_POS_SNAPSHOT);
    char file[300], txn_file[300] = "";
    my_file_name(src, my_coord_file(pos->ack_lsn), file, sizeof file);
    sl_buf_printf(out, "source=mysql\nserver_id=%" PRIu32 "\nfile=%s\npos=%" PRIu32 "\ngtids=",
                  src->server_id, file, my_coord_off(pos->ack_lsn));
    my_gtid_log_state(&src->gtids, pos->ack_lsn, out);
    sl_buf_adds(out, "\ntxn_gtid=");
    if (!complete) {
        my_gtid_t g;
        if (my_gtid_log_find(&src->gtids, pos->txn_lsn, &g))
            sl_buf_printf(out, "%" PRIu32 "-%" PRIu32 "-%" PRIu64, g.domain, g.server, g.seq);
        my_file_name(src, my_coord_file(pos->txn_lsn), txn_file, sizeof txn_file);
    }
    sl_buf_printf(out, "\ntxn_file=%s\ntxn_pos=%" PRIu32 "\nevent_index=%" PRId64 "\nsnapshot=%s\n",
                  txn_file, complete ? 0 : my_coord_off(pos->txn_lsn),
                  complete ? (int64_t)-1 : pos->index,
                  (pos->flags & SL_POS_SNAPSHOT) && !(pos->flags & SL_POS_SNAPSHOT_END)
                      ? "incomplete"
                      : "done");
    return sl_buf_ok(out) ? SL_OK : SL_ERR_NOMEM;
}

static int parse_u32(const char *v, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    if (errno || end == v || *end || x > UINT32_MAX)
        return -1;
    *out = (uint32_t)x;
    return 0;
}

int my_offset_parse(const char *text, my_offset_t *out, char *errstr, size_t errstr_size)
{
    char v[128];
    memset(out, 0, sizeof *out);
    if (sl_offset_get(text, "source", v, sizeof v) != 0 || strcmp(v, "mysql") != 0) {
        snprintf(errstr, errstr_size,
                 "the offsets file was not written by the MySQL/MariaDB source");
        return SL_ERR_POSITION;
    }
    const char *bad = NULL;
    if (sl_offset_get(text, "file", out->file, sizeof out->file) != 0)
        bad = "file";
    else if (sl_offset_get(text, "pos", v, sizeof v) != 0 || parse_u32(v, &out->pos) != 0)
        bad = "pos";
    else if (sl_offset_get(text, "gtids", out->gtids, sizeof out->gtids) != 0)
        bad = "gtids";
    else if (sl_offset_get(text, "txn_gtid", out->txn_gtid, sizeof out->txn_gtid) != 0)
        bad = "txn_gtid";
    else if (sl_offset_get(text, "txn_file", out->txn_file, sizeof out->txn_file) != 0)
        bad = "txn_file";
    else if (sl_offset_get(text, "txn_pos", v, sizeof v) != 0 || parse_u32(v, &out->txn_pos) != 0)
        bad = "txn_pos";
    else
        bad = sl_offset_get_index(text, &out->index, &out->snapshot_done);
    if (!bad && out->gtids[0]) {
        my_gtid_log_t g;
        if (my_gtid_log_init(&g) != SL_OK)
            return SL_ERR_NOMEM;
        if (my_gtid_log_reset(&g, out->gtids) != SL_OK)
            bad = "gtids";
        my_gtid_log_fini(&g);
    }
    if (!bad && out->file[0] == 0)
        bad = "file";
    if (bad) {
        snprintf(errstr, errstr_size,
                 "the offsets file is damaged (%s is missing or malformed); refusing to guess a "
                 "position (restore it, or remove it to start over with a snapshot)", bad);
        return SL_ERR_POSITION;
    }
    return SL_OK;
}
