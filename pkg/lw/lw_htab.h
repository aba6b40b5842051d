/*
 * lw_htab.h — the one hash index of leakwatch: a 64-bit hash maps to a
 * nonzero 64-bit value the caller chooses (an index + 1 into its own
 * array, or a pointer), and the caller compares keys.  The parser's
 * interned strings and stack buckets, the signature table's strings and
 * ids, and the metric registry's series all use it.
 *
 * Written here because none of our libraries has a table keyed by a hash
 * the caller already computed whose keys the caller owns and compares:
 * jansson's object copies string keys, and the parser's hot path cannot
 * afford a callback per probe.  So the probe is a cursor the caller
 * drives: lw_htab_find gives the first value stored under the same hash,
 * lw_htab_next the following one; the caller checks each against its key,
 * and a collision costs one compare, never a wrong merge.  Linear probing
 * over a power-of-two capacity, load (values and tombstones) kept at one
 * half or below, so every probe ends at an empty slot.  Removal leaves a
 * tombstone; the next rebuild drops them, at the same capacity when the
 * table is mostly tombstones.
 *
 * Not for: hashing (lw_hash.h), owning or freeing keys and values, a
 * stable iteration order (slot order changes when the table grows), or
 * bounding size: a table fed by input is capped by its caller.
 */
#ifndef LW_HTAB_H
#define LW_HTAB_H

#include <stddef.h>
#include <stdint.h>

#define LW_HTAB_EMPTY 0u
#define LW_HTAB_GONE UINT64_MAX /* a removed value: probes pass over it */

typedef struct lw_htab_slot {
    uint64_t hash;
    uint64_t val;
} lw_htab_slot;

typedef struct lw_htab {
    lw_htab_slot *slots;
    size_t mask; /* capacity - 1 */
    size_t used; /* values and tombstones */
    size_t live; /* values */
} lw_htab;

/* Where a probe stands.  Valid until the table next changes. */
typedef struct lw_htab_probe {
    uint64_t hash;
    size_t at;      /* the candidate returned last, or the empty slot */
    size_t free_at; /* the first tombstone passed, SIZE_MAX if none */
} lw_htab_probe;

/* An empty table with room for at least min_cap / 2 values before it
 * grows.  0, or -1 when out of memory (then *t is empty and lw_htab_fini
 * is still safe). */
int lw_htab_init(lw_htab *t, size_t min_cap);
void lw_htab_fini(lw_htab *t);

static inline uint64_t lw_htab_scan_(const lw_htab *t, lw_htab_probe *p,
                                     size_t i)
{
    for (;; i = (i + 1) & t->mask) {
        const lw_htab_slot *s = &t->slots[i];
        if (s->val == LW_HTAB_EMPTY) {
            p->at = i;
            return 0;
        }
        if (s->val == LW_HTAB_GONE) {
            if (p->free_at == SIZE_MAX)
                p->free_at = i;
        } else if (s->hash == p->hash) {
            p->at = i;
            return s->val;
        }
    }
}

/* The first value stored under hash, or 0 when there is none (then p
 * stands where lw_htab_add puts a new value). */
static inline uint64_t lw_htab_find(const lw_htab *t, uint64_t hash,
                                    lw_htab_probe *p)
{
    p->hash = hash;
    p->free_at = SIZE_MAX;
    return lw_htab_scan_(t, p, (size_t)hash & t->mask);
}

/* The next value stored under the probe's hash, or 0. */
static inline uint64_t lw_htab_next(const lw_htab *t, lw_htab_probe *p)
{
    return lw_htab_scan_(t, p, (p->at + 1) & t->mask);
}

/* After a probe that ended with 0: stores val (neither 0 nor
 * LW_HTAB_GONE) under the probe's hash, growing the table when the load
 * would pass one half.  0, or -1 when out of memory (table unchanged). */
int lw_htab_add(lw_htab *t, const lw_htab_probe *p, uint64_t val);

/* After find/next returned a value: removes that value. */
void lw_htab_remove(lw_htab *t, const lw_htab_probe *p);
/* Removes the value in slot i, for a walk over the slots (below) that
 * drops some; the walk may go on, as removal never moves a value. */
void lw_htab_remove_slot(lw_htab *t, size_t i);

/* For walking every value: for (i = 0; i <= t->mask; i++) if live... */
static inline int lw_htab_slot_live(const lw_htab_slot *s)
{
    return s->val != LW_HTAB_EMPTY && s->val != LW_HTAB_GONE;
}

#endif
