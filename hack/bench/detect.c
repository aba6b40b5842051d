/*
 * detect.c — plays synthetic goroutine-count series, sampled every 15 s, to
 * two detectors side by side, for hack/bench/sections/detect.sh:
 *
 *   leakwatch   the controller's cheap-sample window (controller/ctl_window.h)
 *               with the controller's default thresholds; an alarm is the
 *               window's suspect flag rising, which is what starts full
 *               captures.  The GoroutineLeak Event follows once those
 *               captures span --finding-min-span (120 s by default) and the
 *               stack grew across them, so the earliest Event is reported
 *               as alarm + that span.
 *   prometheus  the runbooks' rule, `deriv(go_goroutines[10m]) > 1 for 5m`,
 *               evaluated as Prometheus does: deriv is the least-squares
 *               slope per second over the samples in (t-10m, t]; the alert
 *               goes pending on the first evaluation where the expression
 *               holds and fires on the first one at least 5 m later, having
 *               held at every evaluation between (evaluated every 15 s).
 *
 * Every series is a baseline of request-serving goroutines with uniform
 * noise, plus one shape starting at minute 10: a leak of 1/s, a leak of
 * 0.2/s, bursts that drain (a batch fan-out every 20 minutes), and a ramp
 * that plateaus (a pool warming up), and a flat control.  Each is played
 * with --seeds different noise draws.  For a leak, the time to first alarm
 * is measured from the leak's start (median and worst over seeds; "never"
 * when no alarm came within the hour); every alarm on a series without a
 * leak, or before the leak started, is a false alarm.
 *
 * Not for: timing leakwatch's code (the time is simulated), or the live
 * time to an Event (the controller section and the e2e suites run the real
 * controller).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "controller/ctl_config.h"
#include "controller/ctl_window.h"

#define STEP_S 15          /* scrape and rule evaluation interval */
#define RUN_S (70 * 60)    /* each series is played for 70 minutes */
#define SHAPE_START_S 600  /* the leak / burst / ramp starts at minute 10 */
#define SAMPLES (RUN_S / STEP_S + 1)
#define PROM_RANGE_S 600   /* deriv(...[10m]) */
#define PROM_FOR_S 300     /* for: 5m */
#define PROM_THRESHOLD 1.0 /* > 1 goroutine per second */

typedef enum { SHAPE_FLAT, SHAPE_LEAK, SHAPE_BURSTS, SHAPE_RAMP } shape_kind;

typedef struct series_spec {
    const char *name;
    const char *what;
    shape_kind kind;
    double rate_per_s;  /* leak or ramp slope */
    double ramp_s;      /* ramp length before the plateau */
    double burst;       /* goroutines a burst adds */
    double drain_tau_s; /* exponential drain of a burst */
    double burst_every_s;
} series_spec;

static const series_spec specs[] = {
    {"leak-1/s", "leak of 1 goroutine/s from minute 10", SHAPE_LEAK, 1.0, 0, 0, 0, 0},
    {"leak-0.2/s", "leak of 0.2 goroutine/s from minute 10", SHAPE_LEAK, 0.2, 0, 0, 0, 0},
    {"burst-drain", "+600 at once every 20 min from minute 10, draining (tau 60 s)",
     SHAPE_BURSTS, 0, 0, 600, 60, 1200},
    {"ramp-plateau", "+2/s for 5 min from minute 10 (600 goroutines), then flat",
     SHAPE_RAMP, 2.0, 300, 0, 0, 0},
    {"flat", "baseline and noise only (control)", SHAPE_FLAT, 0, 0, 0, 0, 0},
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

#define BASELINE 200.0
#define NOISE 20.0 /* uniform in [-NOISE, +NOISE] per sample */

/* splitmix64: a seeded, reproducible noise source; no libc rand state. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double shape_at(const series_spec *s, double t)
{
    if (t < SHAPE_START_S)
        return 0;
    double since = t - SHAPE_START_S;
    switch (s->kind) {
    case SHAPE_LEAK:
        return floor(s->rate_per_s * since);
    case SHAPE_RAMP:
        return floor(s->rate_per_s * (since < s->ramp_s ? since : s->ramp_s));
    case SHAPE_BURSTS: {
        double into = fmod(since, s->burst_every_s);
        return floor(s->burst * exp(-into / s->drain_tau_s));
    }
    case SHAPE_FLAT:
        break;
    }
    return 0;
}

static void play(const series_spec *s, uint64_t seed, uint64_t *counts)
{
    uint64_t state = seed;
    for (int i = 0; i < SAMPLES; i++) {
        double u = (double)(next_random(&state) >> 11) / 9007199254740992.0;
        double noise = floor((2 * u - 1) * NOISE + 0.5);
        counts[i] = (uint64_t)(BASELINE + noise + shape_at(s, (double)i * STEP_S));
    }
}

/* Least-squares slope per second of the samples in (t - range, t], as
 * PromQL's deriv; NAN with fewer than two samples (no result). */
static double prom_deriv(const uint64_t *counts, int at)
{
    int first = at - PROM_RANGE_S / STEP_S + 1;
    if (first < 0)
        first = 0;
    int n = at - first + 1;
    if (n < 2)
        return NAN;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = first; i <= at; i++) {
        /* Relative to the evaluation time, as Prometheus does, to keep
         * the sums small. */
        double x = (double)(i - at) * STEP_S, y = (double)counts[i];
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    double den = n * sxx - sx * sx;
    return den == 0 ? NAN : (n * sxy - sx * sy) / den;
}

typedef struct alarms {
    int first_s;     /* first alarm at or after the shape's start, -1 none */
    unsigned false_; /* alarms raised on no leak (or before it started) */
} alarms;

static void count_alarm(const series_spec *s, int t, alarms *a)
{
    if (s->kind == SHAPE_LEAK && t >= SHAPE_START_S) {
        if (a->first_s < 0)
            a->first_s = t - SHAPE_START_S;
    } else {
        a->false_++;
    }
}

static void run_prometheus(const series_spec *s, const uint64_t *counts, alarms *a)
{
    a->first_s = -1;
    a->false_ = 0;
    int active_at = -1;
    bool firing = false;
    for (int i = 0; i < SAMPLES; i++) {
        int t = i * STEP_S;
        double d = prom_deriv(counts, i);
        if (!(d > PROM_THRESHOLD)) {
            active_at = -1; /* the alert resolves; a new one starts pending */
            firing = false;
            continue;
        }
        if (active_at < 0)
            active_at = t;
        if (!firing && t - active_at >= PROM_FOR_S) {
            firing = true;
            count_alarm(s, t, a);
        }
    }
}

/* every: the controller samples every `every` points of the series (1:
 * every 15 s as the rule sees it; 2: its default --interval of 30 s). */
static void run_leakwatch(const series_spec *s, const uint64_t *counts,
                          const ctl_thresholds *th, int every, alarms *a)
{
    a->first_s = -1;
    a->false_ = 0;
    ctl_window w;
    ctl_window_init(&w, th->window);
    for (int i = 0; i < SAMPLES; i += every) {
        int t = i * STEP_S;
        bool was = w.suspect;
        ctl_trend trend;
        ctl_window_add(&w, (int64_t)t * 1000, counts[i]);
        if (ctl_window_evaluate(&w, th, &trend) && !was)
            count_alarm(s, t, a);
    }
    ctl_window_free(&w);
}

/* The program's own arithmetic is checked before any figure is printed:
 * a wrong slope would make the whole comparison meaningless. */
static int self_check(void)
{
    uint64_t line[SAMPLES];
    for (int i = 0; i < SAMPLES; i++)
        line[i] = 100 + (uint64_t)(3 * i * STEP_S);
    double d = prom_deriv(line, SAMPLES - 1), d2 = prom_deriv(line, 1);
    if (fabs(d - 3.0) > 1e-9 || fabs(d2 - 3.0) > 1e-9 || !isnan(prom_deriv(line, 0))) {
        fprintf(stderr, "detect: deriv of a line of slope 3/s gave %g and %g\n", d, d2);
        return -1;
    }
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

typedef struct summary {
    unsigned detected, seeds;
    int median_s, worst_s; /* over the seeds that detected; -1 none */
    unsigned false_alarms; /* summed over seeds */
} summary;

static void summarise(const alarms *runs, unsigned seeds, summary *out)
{
    int firsts[256];
    unsigned n = 0;
    out->false_alarms = 0;
    for (unsigned k = 0; k < seeds; k++) {
        out->false_alarms += runs[k].false_;
        if (runs[k].first_s >= 0)
            firsts[n++] = runs[k].first_s;
    }
    out->detected = n;
    out->seeds = seeds;
    if (n == 0) {
        out->median_s = out->worst_s = -1;
        return;
    }
    qsort(firsts, n, sizeof(int), cmp_int);
    out->median_s = firsts[n / 2];
    out->worst_s = firsts[n - 1];
}

static void fmt_time(char *buf, size_t len, int s, unsigned detected, unsigned seeds)
{
    if (s < 0)
        snprintf(buf, len, "never");
    else if (detected < seeds)
        snprintf(buf, len, "%dm%02ds (%u/%u)", s / 60, s % 60, detected, seeds);
    else
        snprintf(buf, len, "%dm%02ds", s / 60, s % 60);
}

static json_t *summary_json(const summary *s)
{
    return json_pack("{s:i, s:i, s:o, s:o, s:i}", "seeds", (int)s->seeds,
                     "detected", (int)s->detected,
                     "median_first_alarm_s", s->median_s < 0 ? json_null() : json_integer(s->median_s),
                     "worst_first_alarm_s", s->worst_s < 0 ? json_null() : json_integer(s->worst_s),
                     "false_alarms", (int)s->false_alarms);
}

static void usage(void)
{
    fprintf(stderr, "usage: detect [--seeds N] [--json FILE]\n");
}

int main(int argc, char **argv)
{
    unsigned seeds = 20;
    const char *json_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
            char *end;
            errno = 0;
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (errno || *end || v < 1 || v > 256) {
                fprintf(stderr, "detect: --seeds: '%s' is not a count in 1..256\n", argv[i]);
                return 2;
            }
            seeds = (unsigned)v;
        } else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
            json_path = argv[++i];
        } else {
            usage();
            return 2;
        }
    }
    if (self_check() < 0)
        return 1;

    ctl_config cfg;
    ctl_config_defaults(&cfg);
    ctl_thresholds th;
    ctl_thresholds_default(&th);
    th.window = (unsigned)cfg.window;
    th.min_delta = (uint64_t)cfg.min_delta;
    th.min_relative = cfg.min_relative;
    int event_span_s = (int)cfg.finding_min_span_s;
    ctl_config_free(&cfg);

    json_t *doc = json_pack("{s:i, s:i, s:i, s:f, s:f, s:s, s:i, s:i}", "step_s", STEP_S,
                            "run_s", RUN_S, "shape_start_s", SHAPE_START_S,
                            "baseline", BASELINE, "noise", NOISE,
                            "prometheus_rule", "deriv(go_goroutines[10m]) > 1 for 5m",
                            "leakwatch_window_samples", (int)th.window,
                            "leakwatch_event_span_s", event_span_s);
    json_t *rows = json_array();
    if (!doc || !rows) {
        fprintf(stderr, "detect: out of memory\n");
        json_decref(doc);
        json_decref(rows);
        return 1;
    }
    json_object_set_new(doc, "series", rows);

    printf("%-13s %-16s %-6s %-16s %-6s %-16s %s\n", "series", "leakwatch 15s",
           "false", "leakwatch 30s", "false", "prometheus rule", "false");
    static uint64_t counts[SAMPLES];
    alarms lw_runs[256], lw30_runs[256], prom_runs[256];
    for (size_t k = 0; k < NSPECS; k++) {
        const series_spec *s = &specs[k];
        for (unsigned seed = 0; seed < seeds; seed++) {
            play(s, 0x6c65616b77617463ull + seed, counts);
            run_leakwatch(s, counts, &th, 1, &lw_runs[seed]);
            run_leakwatch(s, counts, &th, 2, &lw30_runs[seed]);
            run_prometheus(s, counts, &prom_runs[seed]);
        }
        summary lw, lw30, prom;
        summarise(lw_runs, seeds, &lw);
        summarise(lw30_runs, seeds, &lw30);
        summarise(prom_runs, seeds, &prom);
        char a[40], a30[40], p[40];
        fmt_time(a, sizeof(a), lw.median_s, lw.detected, seeds);
        fmt_time(a30, sizeof(a30), lw30.median_s, lw30.detected, seeds);
        fmt_time(p, sizeof(p), prom.median_s, prom.detected, seeds);
        bool leak = s->kind == SHAPE_LEAK;
        printf("%-13s %-16s %-6u %-16s %-6u %-16s %u\n", s->name, leak ? a : "-",
               lw.false_alarms, leak ? a30 : "-", lw30.false_alarms,
               leak ? p : "-", prom.false_alarms);
        json_t *row = json_pack("{s:s, s:s, s:b, s:o, s:o, s:o}", "name", s->name,
                                "what", s->what, "leak", leak,
                                "leakwatch", summary_json(&lw),
                                "leakwatch_30s", summary_json(&lw30),
                                "prometheus", summary_json(&prom));
        if (!row || json_array_append_new(rows, row) < 0) {
            fprintf(stderr, "detect: out of memory\n");
            json_decref(doc);
            return 1;
        }
    }
    printf("(time from the leak's start to the first alarm, median of %u noise draws;\n"
           " false: alarms summed over the draws; a leakwatch alarm starts full\n"
           " captures, and its Event follows at least %d s later)\n", seeds, event_span_s);
    int rc = 0;
    if (json_path && json_dump_file(doc, json_path, JSON_INDENT(2)) < 0) {
        fprintf(stderr, "detect: cannot write %s: %s\n", json_path, strerror(errno));
        rc = 1;
    }
    json_decref(doc);
    return rc;
}
