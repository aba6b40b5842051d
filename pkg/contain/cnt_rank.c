/*
 * cnt_rank.c — which leaking replica of a workload is restarted first when
 * several leak at once: the one nearest its limit, then the steepest.  A
 * budget that runs out should have been spent on the pods that would have
 * fallen over first.
 *
 * Not for: deciding whether anything is restarted (cnt_decide.c).
 */
#include "contain/cnt_plan.h"

#include <math.h>
#include <string.h>

/* The controller calls once per interval while a finding lasts; three
 * missed intervals mean the finding cleared (or the pod went away). */
#define FRESH_INTERVALS 3
#define FRESH_MIN_MS 30000
/* Two calls far apart say little about the rhythm: never longer than this. */
#define FRESH_MAX_MS 600000

bool cnt_rank_fresh(const cnt_rank_item *it, int64_t now_ms)
{
    int64_t spacing = it->prev_ms > 0 ? it->last_ms - it->prev_ms : 0;
    int64_t limit = spacing * FRESH_INTERVALS;
    if (limit > FRESH_MAX_MS)
        limit = FRESH_MAX_MS;
    if (limit < FRESH_MIN_MS)
        limit = FRESH_MIN_MS;
    return now_ms - it->last_ms <= limit;
}

int cnt_rank_compare(const cnt_rank_item *a, const cnt_rank_item *b)
{
    bool pa = isfinite(a->eta_s), pb = isfinite(b->eta_s);
    if (pa != pb)
        return pa ? -1 : 1;
    if (pa && a->eta_s != b->eta_s)
        return a->eta_s < b->eta_s ? -1 : 1;
    if (a->per_minute != b->per_minute)
        return a->per_minute > b->per_minute ? -1 : 1;
    return strcmp(a->name ? a->name : "", b->name ? b->name : "");
}

int cnt_rank_first(const cnt_rank_item *items, size_t n, int64_t now_ms)
{
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        if (!items[i].eligible || !cnt_rank_fresh(&items[i], now_ms))
            continue;
        if (best < 0 || cnt_rank_compare(&items[i], &items[best]) < 0)
            best = (int)i;
    }
    return best;
}

size_t cnt_rank_fresh_count(const cnt_rank_item *items, size_t n,
                            int64_t now_ms)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (cnt_rank_fresh(&items[i], now_ms))
            k++;
    return k;
}
