/*
 * lwa_snapshot.c — one capture counted by signature: goroutines per stack
 * and, for debug=2, how long they had been blocked.
 *
 * A snapshot is a pair of dense arrays indexed like the signature table, so
 * comparing captures is a walk over two arrays.  Signatures first seen in
 * a later capture are past the end of an earlier snapshot's arrays and
 * count 0 there.
 *
 * Goroutine labels are counted per signature too, for the signatures that
 * have any (lwa_labels.c), and so are the goroutines that already existed
 * at the previous capture when the dump was parsed with that capture's
 * highest goroutine id as cutoff (debug=2 only).
 *
 * Not for: what the counts mean (lwa_diff.c, lwa_verdict.c).
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/lwa_internal.h"

static int ensure(lwa_snapshot *s, size_t need, bool minutes)
{
    if (need <= s->nstats)
        return 0;
    size_t cap = s->nstats ? s->nstats : 64;
    while (cap < need)
        cap *= 2;
    uint64_t *c = realloc(s->counts, cap * sizeof(*c));
    if (!c)
        return -1;
    memset(c + s->nstats, 0, (cap - s->nstats) * sizeof(*c));
    s->counts = c;
    if (minutes) {
        lwa_minutes *m = realloc(s->minutes, cap * sizeof(*m));
        if (!m)
            return -1;
        memset(m + s->nstats, 0, (cap - s->nstats) * sizeof(*m));
        s->minutes = m;
    }
    if (s->old) {
        uint64_t *o = realloc(s->old, cap * sizeof(*o));
        if (!o)
            return -1;
        memset(o + s->nstats, 0, (cap - s->nstats) * sizeof(*o));
        s->old = o;
    }
    if (s->leaked) {
        uint64_t *l = realloc(s->leaked, cap * sizeof(*l));
        if (!l)
            return -1;
        memset(l + s->nstats, 0, (cap - s->nstats) * sizeof(*l));
        s->leaked = l;
    }
    s->nstats = cap;
    return 0;
}

lwa_snapshot *lwa_snapshot_take(lwa_sigtab *t, const pprof_profile *p,
                                const char *name)
{
    return lwa_snapshot_take_after(t, p, name, 0);
}

lwa_snapshot *lwa_snapshot_take_after(lwa_sigtab *t, const pprof_profile *p,
                                      const char *name, uint64_t cutoff)
{
    lwa_snapshot *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->name = strdup(name ? name : "");
    if (!s->name)
        goto fail;
    s->format = p->format;
    s->kind = p->kind;
    s->truncated = p->truncated;
    s->total = p->total;
    s->nbuckets = p->nbuckets;
    if (p->time_unix_nanos > 0) {
        s->has_time = true;
        s->time_ms = p->time_unix_nanos / 1000000;
    }
    /* Only debug=2 prints blocked minutes; elsewhere zeros mean "unknown",
     * not "fresh". */
    bool minutes = p->format == PPROF_FORMAT_DEBUG2;
    if (ensure(s, lwa_sigtab_size(t) + 1, minutes) < 0)
        goto fail;
    /* A goroutineleak profile in debug=1 or protobuf lists only leaked
     * goroutines; a debug=2 dump lists all and marks the leaked ones. */
    bool all_leaked = p->kind == PPROF_KIND_GOROUTINELEAK &&
                      p->format != PPROF_FORMAT_DEBUG2;
    if (p->kind == PPROF_KIND_GOROUTINELEAK) {
        /* Zero leaked is news too: the detector ran and found nothing. */
        s->leaked = calloc(s->nstats, sizeof(*s->leaked));
        if (!s->leaked)
            goto fail;
    }

    /* Ids that went below the cutoff: the process restarted, and every
     * goroutine would read as old. */
    if (cutoff && p->has_goids && p->max_goid >= cutoff) {
        s->old = calloc(s->nstats, sizeof(*s->old));
        if (!s->old)
            goto fail;
    }

    for (size_t i = 0; i < p->nbuckets; i++) {
        const pprof_bucket *b = &p->buckets[i];
        lwa_placed pl;
        if (lwa_sigtab_place(t, b, &pl) < 0)
            goto fail;
        if (pl.ignored) {
            s->ignored += b->count;
            continue;
        }
        if (ensure(s, (size_t)pl.index + 1, minutes) < 0)
            goto fail;
        s->counts[pl.index] += b->count;
        if (s->old)
            s->old[pl.index] += b->old < b->count ? b->old : b->count;
        if (b->labels && *b->labels) {
            if (!s->labels && !(s->labels = lwa_labels_new()))
                goto fail;
            if (lwa_labels_add(s->labels, pl.index, b->labels, b->count) < 0)
                goto fail;
        }
        if (all_leaked || (b->flags & PPROF_BF_LEAKED)) {
            if (!s->leaked) {
                s->leaked = calloc(s->nstats, sizeof(*s->leaked));
                if (!s->leaked)
                    goto fail;
            }
            s->leaked[pl.index] += b->count;
        }
        if (minutes) {
            lwa_minutes *m = &s->minutes[pl.index];
            if (b->minutes_max > m->max)
                m->max = b->minutes_max;
            for (int k = 0; k < PPROF_MINUTES_BINS; k++)
                m->hist[k] += b->minutes_hist[k];
        }
    }

    /* Rules with an allowance (one accept loop is normal) let that many
     * through unseen and count the rest. */
    size_t n = lwa_sigtab_size(t);
    for (size_t i = 0; i < n && i < s->nstats; i++) {
        const lwa_sig *sig = lwa_sigtab_at(t, i);
        if (!sig->ignored_by || !sig->allowance || !s->counts[i])
            continue;
        uint64_t moved =
            s->counts[i] < sig->allowance ? s->counts[i] : sig->allowance;
        s->counts[i] -= moved;
        s->ignored += moved;
        if (s->leaked && s->leaked[i] > s->counts[i])
            s->leaked[i] = s->counts[i];
        if (s->old && s->old[i] > s->counts[i])
            s->old[i] = s->counts[i];
    }
    if (s->labels)
        lwa_labels_seal(s->labels);
    return s;

fail:
    lwa_snapshot_free(s);
    return NULL;
}

void lwa_snapshot_free(lwa_snapshot *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->counts);
    free(s->minutes);
    free(s->leaked);
    lwa_labels_free(s->labels);
    free(s->old);
    free(s);
}

void lwa_snapshot_set_time(lwa_snapshot *s, int64_t unix_ms)
{
    s->has_time = true;
    s->time_ms = unix_ms;
}

uint64_t lwa_snapshot_count(const lwa_snapshot *s, size_t index)
{
    return index < s->nstats ? s->counts[index] : 0;
}

const lwa_minutes *lwa_snapshot_minutes(const lwa_snapshot *s, size_t index)
{
    if (!s->minutes || index >= s->nstats || !s->counts[index])
        return NULL;
    return &s->minutes[index];
}

uint64_t lwa_snapshot_leaked(const lwa_snapshot *s, size_t index)
{
    return s->leaked && index < s->nstats ? s->leaked[index] : 0;
}

uint64_t lwa_snapshot_old(const lwa_snapshot *s, size_t index)
{
    return s->old && index < s->nstats ? s->old[index] : 0;
}

uint64_t lwa_snapshot_counted(const lwa_snapshot *s)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < s->nstats; i++)
        sum += s->counts[i];
    return sum;
}

size_t lwa_snapshot_unique(const lwa_snapshot *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nstats; i++)
        n += s->counts[i] != 0;
    return n;
}
