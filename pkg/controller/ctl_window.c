/*
 * ctl_window.c — see ctl_window.h for what the window decides and why.
 */
#include "ctl_window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ctl_thresholds_default(ctl_thresholds *t)
{
    t->min_per_minute = 2.0;
    t->min_delta = 30;
    t->min_relative = 0.02;
    t->min_monotonic = 0.65;
    t->min_samples = 3;
    t->raise_after = 2;
    t->clear_after = 3;
    t->window = 10;
}

void ctl_window_init(ctl_window *w, unsigned cap)
{
    memset(w, 0, sizeof(*w));
    w->cap = cap >= 1 && cap <= CTL_WINDOW_MAX ? cap : CTL_WINDOW_MAX;
}

void ctl_window_free(ctl_window *w)
{
    free(w->s);
    ctl_window_init(w, w->cap);
}

void ctl_window_clear(ctl_window *w)
{
    ctl_sample *s = w->s;
    ctl_window_init(w, w->cap);
    w->s = s;
}

void ctl_window_reset(ctl_window *w)
{
    bool suspect = w->suspect;
    ctl_window_clear(w);
    /* A reset is not evidence of health: the flag clears only through the
     * normal flat streak, so a crash-looping leaker cannot clear itself. */
    w->suspect = suspect;
}

static const ctl_sample *at(const ctl_window *w, unsigned i)
{
    return &w->s[(w->head + i) % w->cap];
}

const ctl_sample *ctl_window_last(const ctl_window *w)
{
    return w->n ? at(w, w->n - 1) : NULL;
}

bool ctl_window_add(ctl_window *w, int64_t t_ms, uint64_t count)
{
    const ctl_sample *last = ctl_window_last(w);
    if (last && t_ms <= last->t_ms)
        return false;
    if (!w->cap)
        w->cap = CTL_WINDOW_MAX; /* zeroed, never initialised */
    if (!w->s && !(w->s = malloc(w->cap * sizeof(*w->s))))
        return false;
    if (w->n == w->cap) {
        w->head = (w->head + 1) % w->cap;
        w->n--;
    }
    ctl_sample *s = &w->s[(w->head + w->n) % w->cap];
    s->t_ms = t_ms;
    s->count = count;
    w->n++;
    return true;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Theil–Sen over samples [from, from+n): median of all pairwise slopes,
 * per minute.  n ≤ CTL_WINDOW_MAX keeps this at most ~2,000 pairs. */
static double theil_sen(const ctl_window *w, unsigned from, unsigned n)
{
    double slopes[CTL_WINDOW_MAX * (CTL_WINDOW_MAX - 1) / 2];
    size_t k = 0;
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = i + 1; j < n; j++) {
            const ctl_sample *a = at(w, from + i), *b = at(w, from + j);
            double dt = (double)(b->t_ms - a->t_ms) / 60000.0;
            if (dt <= 0)
                continue;
            slopes[k++] = ((double)b->count - (double)a->count) / dt;
        }
    if (!k)
        return 0;
    qsort(slopes, k, sizeof(double), cmp_double);
    return k % 2 ? slopes[k / 2] : (slopes[k / 2 - 1] + slopes[k / 2]) / 2;
}

static double median_count(const ctl_window *w, unsigned from, unsigned n)
{
    double v[CTL_WINDOW_MAX] = {0};
    if (!n)
        return 0;
    for (unsigned i = 0; i < n; i++)
        v[i] = (double)at(w, from + i)->count;
    qsort(v, n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void ctl_window_trend(const ctl_window *w, const ctl_thresholds *th,
                      ctl_trend *out)
{
    memset(out, 0, sizeof(*out));
    unsigned win = th->window ? th->window : 10;
    if (win > CTL_WINDOW_MAX)
        win = CTL_WINDOW_MAX;
    unsigned n = w->n < win ? w->n : win;
    out->n = n;
    if (!n)
        return;
    unsigned from = w->n - n;
    const ctl_sample *first = at(w, from), *last = at(w, w->n - 1);
    out->first = first->count;
    out->last = last->count;
    out->span_ms = last->t_ms - first->t_ms;
    out->min = out->max = first->count;
    unsigned nondecreasing = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t c = at(w, from + i)->count;
        if (c < out->min)
            out->min = c;
        if (c > out->max)
            out->max = c;
        if (i && c >= at(w, from + i - 1)->count)
            nondecreasing++;
    }
    out->monotonic = n > 1 ? (double)nondecreasing / (double)(n - 1) : 0;
    out->per_minute = n > 1 ? theil_sen(w, from, n) : 0;

    /* Still rising: the last third of the window (at least its last three
     * samples) has a positive robust slope and the newest sample is at or
     * near the window's maximum.  A plateau fails the first test, a drain
     * the second. */
    unsigned tail = n / 3 < 3 ? 3 : n / 3;
    if (tail > n)
        tail = n;
    double tail_slope = tail > 1 ? theil_sen(w, w->n - tail, tail) : 0;
    uint64_t near = out->max - (out->max - out->min) / 10;
    out->still_rising = tail_slope > 0 && last->count >= near;

    if (n < (th->min_samples ? th->min_samples : 3))
        return;
    /* Level: the robust slope is within half of min_per_minute either way.
     * Not "adds up to little over the window": with a short interval the
     * window is short, and a leak of 18 a minute adds up to little in 45 s
     * yet is no less a leak. */
    out->flat = fabs(out->per_minute) < 0.5 * th->min_per_minute;
    /* ...and the newest sample sits at the window's typical level: a
     * count that just dropped (a new process) or jumped is not level yet,
     * whatever the median of the pairwise slopes says. */
    double med = median_count(w, from, n);
    double tol = fmax((double)th->min_delta, 0.1 * med);
    if (fabs((double)last->count - med) > tol)
        out->flat = false;
    uint64_t delta = out->last > out->first ? out->last - out->first : 0;
    double rel = out->first ? (double)delta / (double)out->first : (delta ? 1e9 : 0);
    out->growing = out->per_minute >= th->min_per_minute &&
                   delta >= th->min_delta && rel >= th->min_relative &&
                   out->monotonic >= th->min_monotonic && out->still_rising;
}

bool ctl_window_evaluate(ctl_window *w, const ctl_thresholds *th,
                         ctl_trend *out)
{
    ctl_trend local;
    if (!out)
        out = &local;
    ctl_window_trend(w, th, out);
    if (out->n < (th->min_samples ? th->min_samples : 3))
        return w->suspect; /* too little data: no change either way */
    if (out->growing) {
        w->grow_streak++;
        w->flat_streak = 0;
        if (w->grow_streak >= (th->raise_after ? th->raise_after : 1))
            w->suspect = true;
    } else {
        w->flat_streak++;
        w->grow_streak = 0;
        if (w->flat_streak >= (th->clear_after ? th->clear_after : 1))
            w->suspect = false;
    }
    return w->suspect;
}
