/*
 * lw_htab.c — growth, insertion and removal for the hash index
 * (lw_htab.h says what the table is for; the probes are inline there).
 *
 * Not for: lookups (lw_htab.h) or hashing (lw_hash.h).
 */
#include "lw/lw_htab.h"

#include <stdlib.h>

int lw_htab_init(lw_htab *t, size_t min_cap)
{
    size_t cap = 16;
    while (cap < min_cap && cap < ((size_t)1 << (sizeof(size_t) * 8 - 2)))
        cap *= 2;
    t->slots = calloc(cap, sizeof(*t->slots));
    t->used = t->live = 0;
    if (!t->slots) {
        t->mask = 0;
        return -1;
    }
    t->mask = cap - 1;
    return 0;
}

void lw_htab_fini(lw_htab *t)
{
    free(t->slots);
    t->slots = NULL;
    t->mask = t->used = t->live = 0;
}

/* Every value moves to its first free slot in a new array; tombstones
 * stay behind.  Mostly tombstones (a metric whose series come and go):
 * the same capacity is enough. */
static int rebuild(lw_htab *t)
{
    size_t cap = t->mask + 1;
    size_t ncap = (t->live + 1) * 4 <= cap ? cap : cap * 2;
    if (ncap < cap)
        return -1;
    lw_htab_slot *n = calloc(ncap, sizeof(*n));
    if (!n)
        return -1;
    for (size_t i = 0; i < cap; i++) {
        if (!lw_htab_slot_live(&t->slots[i]))
            continue;
        size_t j = (size_t)t->slots[i].hash & (ncap - 1);
        while (n[j].val != LW_HTAB_EMPTY)
            j = (j + 1) & (ncap - 1);
        n[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = n;
    t->mask = ncap - 1;
    t->used = t->live;
    return 0;
}

int lw_htab_add(lw_htab *t, const lw_htab_probe *p, uint64_t val)
{
    if (val == LW_HTAB_EMPTY || val == LW_HTAB_GONE || !t->slots)
        return -1;
    size_t at = p->free_at != SIZE_MAX ? p->free_at : p->at;
    int reuses_tombstone = p->free_at != SIZE_MAX;
    if (!reuses_tombstone && (t->used + 1) * 2 > t->mask + 1) {
        if (rebuild(t) < 0)
            return -1;
        at = (size_t)p->hash & t->mask;
        while (t->slots[at].val != LW_HTAB_EMPTY)
            at = (at + 1) & t->mask;
    }
    t->slots[at].hash = p->hash;
    t->slots[at].val = val;
    if (!reuses_tombstone)
        t->used++;
    t->live++;
    return 0;
}

void lw_htab_remove_slot(lw_htab *t, size_t i)
{
    lw_htab_slot *s = &t->slots[i];
    if (!lw_htab_slot_live(s))
        return;
    s->val = LW_HTAB_GONE;
    t->live--;
}

void lw_htab_remove(lw_htab *t, const lw_htab_probe *p)
{
    lw_htab_remove_slot(t, p->at);
}
