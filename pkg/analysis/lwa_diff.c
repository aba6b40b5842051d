/*
 * lwa_diff.c — per-stack growth from one capture to another, what
 * `go tool pprof -top -diff_base` shows, keyed by signature so that a
 * debug=1 capture diffs against a debug=2 or protobuf one.
 *
 * Both snapshots index the same signature table, so the diff is one walk
 * over the table and a sort of the rows that are non-zero in either: a
 * million-goroutine capture costs what its number of distinct stacks costs.
 *
 * Not for: judging whether growth is a leak (lwa_verdict.c).
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"

static int by_delta(const void *pa, const void *pb)
{
    const lwa_diff_row *a = pa, *b = pb;
    if (a->delta != b->delta)
        return a->delta > b->delta ? -1 : 1;
    if (a->target != b->target)
        return a->target > b->target ? -1 : 1;
    if (a->sig->id != b->sig->id)
        return a->sig->id < b->sig->id ? -1 : 1;
    return a->sig->index < b->sig->index ? -1 : 1;
}

lwa_diff *lwa_diff_new(const lwa_sigtab *t, const lwa_snapshot *base,
                       const lwa_snapshot *target)
{
    lwa_diff *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->base_total = base->total;
    d->target_total = target->total;
    d->total_delta = (int64_t)target->total - (int64_t)base->total;

    size_t n = lwa_sigtab_size(t), rows = 0;
    for (size_t i = 0; i < n; i++)
        rows += lwa_snapshot_count(base, i) || lwa_snapshot_count(target, i);
    if (rows) {
        d->rows = malloc(rows * sizeof(*d->rows));
        if (!d->rows) {
            free(d);
            return NULL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t b = lwa_snapshot_count(base, i);
        uint64_t c = lwa_snapshot_count(target, i);
        if (!b && !c)
            continue;
        lwa_diff_row *r = &d->rows[d->nrows++];
        r->sig = lwa_sigtab_at(t, i);
        r->base = b;
        r->target = c;
        r->delta = (int64_t)c - (int64_t)b;
        d->grew += c > b;
        d->shrank += c < b;
        d->appeared += !b;
        d->vanished += !c;
    }
    if (d->nrows > 1)
        qsort(d->rows, d->nrows, sizeof(*d->rows), by_delta);
    return d;
}

void lwa_diff_free(lwa_diff *d)
{
    if (!d)
        return;
    free(d->rows);
    free(d);
}
