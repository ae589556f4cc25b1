/*
 * txnring.c — the in-flight ring (see txnring.h).
 *
 * A circular array indexed by (seq - base_seq). Events get dense sequence
 * numbers at sl_txnring_add, so "done" is one flag per slot and the frontier
 * walk is a scan from the head.
 *
 * Invariants:
 *  1. slots [head, head+count) hold the events with seq base_seq .. base_seq+count-1.
 *  2. every event before base_seq is durable and has been released.
 *  3. the ring holds exactly one reference to each event it contains.
 *  4. bytes == sum of mem_size of the events it contains.
 */
#include "core/txnring.h"

#include <assert.h>
#include <stdlib.h>

typedef struct slot {
    sl_event_t *ev;
    bool done;
} slot_t;

struct sl_txnring {
    slot_t *slots;
    size_t cap, head, count;
    size_t bytes;
    uint64_t base_seq;
};

sl_txnring_t *sl_txnring_new(void)
{
    sl_txnring_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cap = 1024;
    r->slots = calloc(r->cap, sizeof *r->slots);
    if (!r->slots) {
        free(r);
        return NULL;
    }
    r->base_seq = 1;
    return r;
}

void sl_txnring_destroy(sl_txnring_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++)
        sl_event_unref(r->slots[(r->head + i) % r->cap].ev);
    free(r->slots);
    free(r);
}

static int grow(sl_txnring_t *r)
{
    size_t ncap = r->cap * 2;
    slot_t *ns = malloc(ncap * sizeof *ns);
    if (!ns)
        return SL_ERR_NOMEM;
    for (size_t i = 0; i < r->count; i++)
        ns[i] = r->slots[(r->head + i) % r->cap];
    free(r->slots);
    r->slots = ns;
    r->cap = ncap;
    r->head = 0;
    return SL_OK;
}

int sl_txnring_add(sl_txnring_t *r, sl_event_t *ev)
{
    if (r->count == r->cap && grow(r) != SL_OK)
        return SL_ERR_NOMEM;
    ev->seq = r->base_seq + r->count;
    slot_t *s = &r->slots[(r->head + r->count) % r->cap];
    s->ev = ev;
    s->done = false;
    r->count++;
    r->bytes += ev->mem_size;
    return SL_OK;
}

void sl_txnring_done(sl_txnring_t *r, const sl_event_t *ev)
{
    assert(ev->seq >= r->base_seq && ev->seq < r->base_seq + r->count);
    slot_t *s = &r->slots[(r->head + (ev->seq - r->base_seq)) % r->cap];
    assert(s->ev == ev && !s->done);
    s->done = true;
}

bool sl_txnring_advance(sl_txnring_t *r, sl_pos_t *pos)
{
    bool moved = false;
    while (r->count > 0 && r->slots[r->head].done) {
        sl_event_t *ev = r->slots[r->head].ev;
        *pos = ev->pos;
        moved = true;
        r->bytes -= ev->mem_size;
        sl_event_unref(ev);
        r->head = (r->head + 1) % r->cap;
        r->count--;
        r->base_seq++;
    }
    return moved;
}

size_t sl_txnring_len(const sl_txnring_t *r) { return r->count; }
size_t sl_txnring_bytes(const sl_txnring_t *r) { return r->bytes; }
