/*
 * lwa_growth.c — the shape of one count series: how much it grew, how fast,
 * how steadily, and whether it was still growing at the end.
 *
 * Everything here is a pure function of (times, counts) and the
 * thresholds; lwa_verdict.c decides what a shape means for a leak.  The
 * shapes are checked in an order that makes the benign ones win ties:
 *
 *   not significant growth      -> FLAT, SHRINKING, or DRAINED when it rose
 *                                  meaningfully and came back
 *   fell far from its peak      -> DRAINED (a burst returning to baseline)
 *   two captures                -> STEP (no shape to judge)
 *   little in the last third,
 *   or a flat last step         -> PLATEAU (a ramp that flattened)
 *   one step carries the growth -> SPIKE (a jump, not a trend)
 *   neither monotonic nor linear,
 *   or a deep dip on the way    -> NOISY
 *   otherwise                   -> GROWING
 *
 * Not for: per-signature bookkeeping or verdicts.
 */
#include <math.h>
#include <string.h>

#include "analysis/analysis.h"

void lwa_thresholds_default(lwa_thresholds *th)
{
    th->min_growth = 10;
    th->min_relative = 0.10;
    th->min_nondecreasing = 0.70;
    th->min_r2 = 0.90;
    th->max_step_share = 0.60;
    th->max_drawdown = 0.25;
    th->drained_fraction = 0.50;
    th->tail_fraction = 1.0 / 3.0;
    th->min_tail_share = 0.50;
    th->baseline_ratio = 3.0;
    th->baseline_excess = 20;
    th->far_ratio = 5.0;
    th->far_excess = 50;
    th->held_fraction = 0.50;
    th->churn_minutes = 5.0;
    th->churn_persisted = 0.20;
    th->persist_share = 0.90;
    th->sleep_loop_minutes = 2.0;
}

const char *lwa_shape_name(lwa_shape s)
{
    static const char *const names[] = {
        [LWA_SHAPE_SINGLE] = "single",   [LWA_SHAPE_FLAT] = "flat",
        [LWA_SHAPE_SHRINKING] = "shrinking", [LWA_SHAPE_STEP] = "step",
        [LWA_SHAPE_GROWING] = "growing", [LWA_SHAPE_PLATEAU] = "plateau",
        [LWA_SHAPE_DRAINED] = "drained", [LWA_SHAPE_SPIKE] = "spike",
        [LWA_SHAPE_NOISY] = "noisy",
    };
    if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[s];
}

static bool grew_enough(uint64_t from, uint64_t to, const lwa_thresholds *th,
                        bool relaxed)
{
    if (to < from)
        return false;
    uint64_t d = to - from;
    if (d < th->min_growth)
        return false;
    return relaxed || (double)d >= th->min_relative * (double)from;
}

void lwa_growth_compute(const int64_t *t_ms, const uint64_t *c, size_t n,
                        const lwa_thresholds *th, bool relaxed,
                        lwa_growth *g)
{
    memset(g, 0, sizeof(*g));
    g->n = n;
    g->shape = LWA_SHAPE_FLAT;
    if (!n)
        return;
    g->first = c[0];
    g->last = c[n - 1];
    g->min = g->max = c[0];
    for (size_t i = 1; i < n; i++) {
        if (c[i] < g->min)
            g->min = c[i];
        if (c[i] > g->max)
            g->max = c[i];
    }
    g->delta = (int64_t)g->last - (int64_t)g->first;
    g->r2 = 1.0;
    g->nondecreasing = 1.0;
    if (n == 1) {
        g->shape = LWA_SHAPE_SINGLE;
        return;
    }

    /* x: minutes since the first capture, or step numbers when times are
     * unknown or do not increase. */
    bool times = t_ms != NULL;
    for (size_t i = 1; times && i < n; i++)
        times = t_ms[i] > t_ms[i - 1];
#define X(i) (times ? (double)(t_ms[(i)] - t_ms[0]) / 60000.0 : (double)(i))
    g->has_rate = times;
    g->span_minutes = times ? X(n - 1) : 0;

    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += X(i);
        my += (double)c[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxx = 0, sxy = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double dx = X(i) - mx, dy = (double)c[i] - my;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    double slope = sxx > 0 ? sxy / sxx : 0;
    g->per_minute = times ? slope : 0;
    g->r2 = syy > 0 && sxx > 0 ? (sxy * sxy) / (sxx * syy) : 1.0;

    /* Rises are compared as rates (per unit of x), so one long gap
     * between captures does not look like a jump. */
    size_t nondec = 0;
    double rises = 0, max_rise = 0;
    uint64_t high = c[0];
    for (size_t i = 1; i < n; i++) {
        if (c[i] >= c[i - 1]) {
            nondec++;
            double dx = X(i) - X(i - 1);
            double r = (double)(c[i] - c[i - 1]) / (dx > 0 ? dx : 1);
            rises += r;
            if (r > max_rise)
                max_rise = r;
        }
        if (c[i] > high)
            high = c[i];
        else if (high - c[i] > g->drawdown)
            g->drawdown = high - c[i];
    }
    g->nondecreasing = (double)nondec / (double)(n - 1);
    g->max_step_share = rises > 0 ? max_rise / rises : 0;

    /* The tail: the captures in the last tail_fraction of the window,
     * measured from the last one taken at or before its start, so it
     * always holds at least one step. */
    double start = X(n - 1) - th->tail_fraction * (X(n - 1) - X(0));
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (X(i) <= start)
            j = i;
    if (j >= n - 1)
        j = n - 2;
    g->tail_delta = (int64_t)c[n - 1] - (int64_t)c[j];
    g->tail_expected = slope * (X(n - 1) - X(j));

    g->significant = grew_enough(g->first, g->last, th, relaxed);
    if (!g->significant) {
        if (grew_enough(g->first, g->max, th, relaxed))
            g->shape = LWA_SHAPE_DRAINED;
        else if (grew_enough(g->last, g->first, th, relaxed))
            g->shape = LWA_SHAPE_SHRINKING;
        else
            g->shape = LWA_SHAPE_FLAT;
        return;
    }
    if ((double)(g->max - g->last) >
        th->drained_fraction * (double)(g->max - g->first)) {
        g->shape = LWA_SHAPE_DRAINED;
        return;
    }
    if (n == 2) {
        g->shape = LWA_SHAPE_STEP;
        return;
    }
    double need = th->min_tail_share * g->tail_expected;
    if ((double)g->tail_delta < (need > 1 ? need : 1)) {
        g->shape = LWA_SHAPE_PLATEAU;
        return;
    }
    /* The very last step, when the trend predicts enough goroutines in it
     * that a flat step cannot be chance (a Poisson count with mean 4 is 0
     * under 2% of the time): a ramp that just stopped. */
    double last_expected = slope * (X(n - 1) - X(n - 2));
    if (last_expected >= 4 &&
        (double)c[n - 1] - (double)c[n - 2] <
            th->min_tail_share * 0.5 * last_expected) {
        g->shape = LWA_SHAPE_PLATEAU;
        return;
    }
    /* Two steps of a steady leak split roughly evenly; with three or more
     * no single step should carry most of it. */
    double share_limit = n - 1 >= 3 ? th->max_step_share : 0.85;
    if (g->max_step_share > share_limit) {
        g->shape = LWA_SHAPE_SPIKE;
        return;
    }
    double mono = relaxed ? th->min_nondecreasing * 0.7 : th->min_nondecreasing;
    bool steady = g->nondecreasing >= mono || g->r2 >= th->min_r2;
    if (!steady || (double)g->drawdown > th->max_drawdown * (double)g->delta) {
        g->shape = LWA_SHAPE_NOISY;
        return;
    }
    g->shape = LWA_SHAPE_GROWING;
#undef X
}
