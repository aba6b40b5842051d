/*
 * lw_intern.c — shared reference-counted values (see lw_intern.h).
 *
 * Written here because none of our libraries interns arbitrary bytes with
 * counts (jansson interns nothing, and its object keys are copied per
 * object).  Each value is one allocation: a header, then the bytes and a
 * NUL; the table (lw_htab) maps a value's hash to its header.  Counts are
 * atomic so holders may release from any thread; only a sweep frees, and
 * it runs under the same serialisation as get, so a value a get is about
 * to revive cannot be freed under it.
 */
#include "lw/lw_intern.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lw/lw_hash.h"
#include "lw/lw_htab.h"

typedef struct entry {
    size_t len;
    atomic_size_t refs;
    max_align_t data[]; /* len bytes and a NUL, aligned for any type */
} entry;

struct lw_intern {
    lw_htab tab;
    size_t values, bytes;
    size_t sweep_at; /* sweep before a value is added past this many */
};

#define SWEEP_FLOOR 64

static entry *entry_of(const void *v)
{
    return (entry *)(void *)((unsigned char *)(uintptr_t)v - offsetof(entry, data));
}

lw_intern *lw_intern_new(void)
{
    lw_intern *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    if (lw_htab_init(&t->tab, 64) != 0) {
        free(t);
        return NULL;
    }
    t->sweep_at = SWEEP_FLOOR;
    return t;
}

static void drop_where(lw_intern *t, bool only_unheld, size_t *freed)
{
    for (size_t i = 0; t->tab.slots && i <= t->tab.mask; i++) {
        lw_htab_slot *s = &t->tab.slots[i];
        if (!lw_htab_slot_live(s))
            continue;
        entry *e = (entry *)(uintptr_t)s->val;
        if (only_unheld && atomic_load(&e->refs) != 0)
            continue;
        lw_htab_remove_slot(&t->tab, i);
        t->values--;
        t->bytes -= sizeof(*e) + e->len + 1;
        free(e);
        (*freed)++;
    }
}

void lw_intern_free(lw_intern *t)
{
    if (!t)
        return;
    size_t freed = 0;
    drop_where(t, false, &freed);
    lw_htab_fini(&t->tab);
    free(t);
}

size_t lw_intern_sweep(lw_intern *t)
{
    size_t freed = 0;
    drop_where(t, true, &freed);
    t->sweep_at = t->values * 2 > SWEEP_FLOOR ? t->values * 2 : SWEEP_FLOOR;
    return freed;
}

const void *lw_intern_get(lw_intern *t, const void *p, size_t len)
{
    if (len > SIZE_MAX - sizeof(entry) - 1)
        return NULL;
    uint64_t h = lw_hash_bytes(p, len, 0x696e7465726e);
    lw_htab_probe probe;
    for (uint64_t v = lw_htab_find(&t->tab, h, &probe); v;
         v = lw_htab_next(&t->tab, &probe)) {
        entry *e = (entry *)(uintptr_t)v;
        if (e->len == len && !memcmp(e->data, p, len)) {
            atomic_fetch_add(&e->refs, 1);
            return e->data;
        }
    }
    if (t->values >= t->sweep_at) {
        /* Frees what nobody holds; the probe is stale after it. */
        lw_intern_sweep(t);
        uint64_t v = lw_htab_find(&t->tab, h, &probe);
        while (v)
            v = lw_htab_next(&t->tab, &probe);
    }
    entry *e = malloc(sizeof(*e) + len + 1);
    if (!e)
        return NULL;
    e->len = len;
    atomic_init(&e->refs, 1);
    if (len)
        memcpy(e->data, p, len);
    ((unsigned char *)e->data)[len] = '\0';
    if (lw_htab_add(&t->tab, &probe, (uint64_t)(uintptr_t)e) != 0) {
        free(e);
        return NULL;
    }
    t->values++;
    t->bytes += sizeof(*e) + len + 1;
    return e->data;
}

const char *lw_intern_str(lw_intern *t, const char *s)
{
    if (!s)
        s = "";
    return lw_intern_get(t, s, strlen(s));
}

const void *lw_intern_ref(const void *v)
{
    if (v)
        atomic_fetch_add(&entry_of(v)->refs, 1);
    return v;
}

void lw_intern_put(const void *v)
{
    if (v)
        atomic_fetch_sub(&entry_of(v)->refs, 1);
}

void lw_intern_stats_get(const lw_intern *t, lw_intern_stats *st)
{
    st->values = t->values;
    st->bytes = t->bytes;
}
