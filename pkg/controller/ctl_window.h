/*
 * ctl_window.h — the rolling window of cheap goroutine counts for one pod,
 * and the hysteresis that turns noisy samples into a stable "suspect" flag.
 *
 * The cheap sample (go_goroutines from /metrics, or the "total N" header of
 * a debug=1 profile) is all the controller takes from every pod every
 * interval.  This window decides when a pod deserves the expensive part —
 * full captures and stack analysis — and when a raised suspicion clears.
 *
 * Why a robust slope: one burst (a request spike that parks 500 goroutines
 * for a few seconds) must neither raise nor clear anything.  The slope is
 * the Theil–Sen estimator (median of pairwise slopes), which ignores a
 * minority of outliers, and growth must also be mostly monotonic and still
 * present at the end of the window, so a ramp that has plateaued or a burst
 * that drained reads as flat.
 *
 * Not for: naming stacks or patterns (pkg/analysis does that from full
 * captures); the window only says "this count is climbing steadily".
 */
#ifndef CTL_WINDOW_H
#define CTL_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_WINDOW_MAX 64

typedef struct ctl_thresholds {
    double min_per_minute;  /* robust slope needed (default 2/min)         */
    uint64_t min_delta;     /* absolute growth over the window (default 30) */
    double min_relative;    /* growth / first count (default 0.02)          */
    double min_monotonic;   /* fraction of non-decreasing steps (0.65)      */
    unsigned min_samples;   /* before any judgement (default 3)             */
    unsigned raise_after;   /* consecutive growing evaluations (default 2)  */
    unsigned clear_after;   /* consecutive flat evaluations (default 3)     */
    unsigned window;        /* samples considered (default 10)              */
} ctl_thresholds;

void ctl_thresholds_default(ctl_thresholds *t);

typedef struct ctl_sample {
    int64_t t_ms;
    uint64_t count;
} ctl_sample;

typedef struct ctl_trend {
    bool growing;          /* this evaluation alone                         */
    double per_minute;     /* Theil–Sen slope over the window               */
    uint64_t first, last;  /* counts at the window's ends                   */
    uint64_t min, max;
    int64_t span_ms;
    double monotonic;      /* fraction of non-decreasing steps              */
    bool still_rising;     /* growth present in the last part of the window */
    /* The window as a whole is level: enough samples, a robust slope
     * within half of min_per_minute either way, and the newest sample at
     * the window's typical level.  Suspicion ends after clear_after
     * evaluations that are not a clean climb (cheap: it only stops full
     * captures); a FINDING clears only on a flat window, so one that still
     * rises raggedly, or that fell (a restart the watch has not reported
     * yet), keeps it. */
    bool flat;
    unsigned n;
} ctl_trend;

/* The ring holds the window's samples and no more (a registry of thousands
 * of pods keeps one each), allocated at the first sample, so a pod another
 * replica samples costs none. */
typedef struct ctl_window {
    ctl_sample *s;                /* ring of cap, oldest at head; or NULL   */
    unsigned cap, head, n;
    unsigned grow_streak, flat_streak;
    bool suspect;                 /* hysteresis output                      */
} ctl_window;

/* An empty window keeping the newest cap samples (1..CTL_WINDOW_MAX; other
 * values keep CTL_WINDOW_MAX).  Nothing is allocated yet. */
void ctl_window_init(ctl_window *w, unsigned cap);
/* Frees the ring; the window is empty and may be used again. */
void ctl_window_free(ctl_window *w);
/* Empties the window and its hysteresis, keeping the ring. */
void ctl_window_clear(ctl_window *w);
/* Samples must arrive in time order; an older or equal timestamp is
 * dropped (returns false), and so is a sample when the ring cannot be
 * allocated. */
bool ctl_window_add(ctl_window *w, int64_t t_ms, uint64_t count);
/* The trend over the last `window` samples. */
void ctl_window_trend(const ctl_window *w, const ctl_thresholds *th,
                      ctl_trend *out);
/* Adds nothing; evaluates the trend and advances the hysteresis.  Returns
 * the (possibly changed) suspect flag. */
bool ctl_window_evaluate(ctl_window *w, const ctl_thresholds *th,
                         ctl_trend *out);
/* A restart (container restarted, count dropped to a fresh level) resets the
 * window so the old process's growth is not blamed on the new one. */
void ctl_window_reset(ctl_window *w);
const ctl_sample *ctl_window_last(const ctl_window *w);

#endif
