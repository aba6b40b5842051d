/*
 * test_analysis_growth.c — the shape of count series (lwa_growth.c): a
 * steady leak grows, a burst drains, a ramp plateaus, noise and single
 * spikes are not trends; and the same series built as real profiles and
 * judged end to end by lwa_analyze.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/analysis.h"
#include "pprof/pprof.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static lwa_thresholds defaults(void)
{
    lwa_thresholds th;
    lwa_thresholds_default(&th);
    return th;
}

/* Equally spaced captures, `step_s` seconds apart. */
static void times(int64_t *t, size_t n, int64_t step_s)
{
    for (size_t i = 0; i < n; i++)
        t[i] = 1700000000000LL + (int64_t)i * step_s * 1000;
}

static lwa_growth grow(const uint64_t *c, size_t n, int64_t step_s)
{
    lwa_thresholds th = defaults();
    int64_t t[64];
    times(t, n, step_s);
    lwa_growth g;
    lwa_growth_compute(t, c, n, &th, false, &g);
    return g;
}

static void test_steady_leak(void **state)
{
    (void)state;
    const uint64_t c[] = {12, 60, 109, 157, 205};
    lwa_growth g = grow(c, N(c), 12);
    assert_int_equal(g.shape, LWA_SHAPE_GROWING);
    assert_true(g.significant);
    assert_int_equal(g.delta, 193);
    assert_true(g.has_rate);
    /* 193 goroutines in 48 s is about 241 a minute */
    assert_true(g.per_minute > 235 && g.per_minute < 247);
    assert_true(g.r2 > 0.99);
    assert_true(g.nondecreasing == 1.0);
    assert_true(g.span_minutes > 0.79 && g.span_minutes < 0.81);
}

static void test_steady_leak_with_jitter(void **state)
{
    (void)state;
    /* A leak sharing its stack with a little churn: one dip, still a trend */
    const uint64_t c[] = {100, 131, 158, 152, 190, 214, 241, 262};
    lwa_growth g = grow(c, N(c), 30);
    assert_int_equal(g.shape, LWA_SHAPE_GROWING);
    assert_int_equal(g.drawdown, 6);
}

static void test_burst_then_drain(void **state)
{
    (void)state;
    /* The recorded burst fixture: peaks on snapshots 2 and 4 */
    const uint64_t c[] = {0, 75, 0, 100, 0};
    lwa_growth g = grow(c, N(c), 12);
    assert_int_equal(g.shape, LWA_SHAPE_DRAINED);
    assert_false(g.significant);
    /* A burst still draining at the end, well below its peak */
    const uint64_t d[] = {10, 12, 400, 380, 120};
    g = grow(d, N(d), 30);
    assert_true(g.significant);
    assert_int_equal(g.shape, LWA_SHAPE_DRAINED);
}

static void test_ramp_then_plateau(void **state)
{
    (void)state;
    /* The plateau fixture: 100 streams opened over 30 s, then held */
    const uint64_t c[] = {11, 59, 106, 120, 120};
    lwa_growth g = grow(c, N(c), 12);
    assert_true(g.significant);
    assert_int_equal(g.shape, LWA_SHAPE_PLATEAU);
    /* Flat for the whole last third */
    const uint64_t d[] = {100, 300, 500, 500, 500, 500};
    g = grow(d, N(d), 60);
    assert_int_equal(g.shape, LWA_SHAPE_PLATEAU);
    assert_int_equal(g.tail_delta, 0);
    /* A long ramp that stopped in the very last step: the last third
     * still grew, but a trend of 50 a step that adds nothing has ended */
    const uint64_t e[] = {10, 60, 110, 160, 210, 260, 310, 310};
    g = grow(e, N(e), 30);
    assert_true(g.tail_delta >= 100);
    assert_int_equal(g.shape, LWA_SHAPE_PLATEAU);
    /* ... while a slow leak with a quiet last step is not cut short */
    const uint64_t f[] = {10, 12, 13, 15, 16, 18, 20, 21, 23, 23};
    g = grow(f, N(f), 60);
    assert_int_equal(g.shape, LWA_SHAPE_GROWING);
}

static void test_noisy_flat(void **state)
{
    (void)state;
    const uint64_t c[] = {100, 104, 98, 103, 101, 99, 102};
    lwa_growth g = grow(c, N(c), 30);
    assert_false(g.significant);
    assert_int_equal(g.shape, LWA_SHAPE_FLAT);
    /* Big swings with a net gain, rising at the end, are still not a
     * climb */
    const uint64_t d[] = {100, 160, 95, 170, 105, 180};
    g = grow(d, N(d), 30);
    assert_true(g.significant);
    assert_int_equal(g.shape, LWA_SHAPE_NOISY);
    /* ... and falling at the end they are not even that */
    const uint64_t e[] = {100, 160, 95, 170, 105, 150};
    g = grow(e, N(e), 30);
    assert_int_equal(g.shape, LWA_SHAPE_PLATEAU);
}

static void test_single_spike(void **state)
{
    (void)state;
    /* Up and back: a spike in the middle */
    const uint64_t c[] = {10, 10, 300, 10, 10};
    lwa_growth g = grow(c, N(c), 30);
    assert_int_equal(g.shape, LWA_SHAPE_DRAINED);
    /* Up in the last step only: a jump, not a trend */
    const uint64_t d[] = {10, 10, 11, 10, 300};
    g = grow(d, N(d), 30);
    assert_int_equal(g.shape, LWA_SHAPE_SPIKE);
    assert_true(g.max_step_share > 0.99);
}

static void test_small_numbers(void **state)
{
    (void)state;
    /* Perfectly steady, but a handful of goroutines */
    const uint64_t c[] = {1, 3, 5, 7, 9};
    lwa_growth g = grow(c, N(c), 60);
    assert_false(g.significant);
    assert_int_equal(g.shape, LWA_SHAPE_FLAT);
    /* Enough in absolute terms, too little relative to a big pool */
    const uint64_t d[] = {5000, 5008, 5016, 5024, 5032};
    g = grow(d, N(d), 60);
    assert_false(g.significant);
    /* ... unless the stack is far above a fresh peer (relaxed) */
    lwa_thresholds th = defaults();
    int64_t t[5];
    times(t, 5, 60);
    lwa_growth_compute(t, d, 5, &th, true, &g);
    assert_true(g.significant);
    assert_int_equal(g.shape, LWA_SHAPE_GROWING);
}

static void test_two_and_one(void **state)
{
    (void)state;
    const uint64_t c[] = {20, 90};
    lwa_growth g = grow(c, 2, 30);
    assert_int_equal(g.shape, LWA_SHAPE_STEP);
    assert_true(g.per_minute > 139 && g.per_minute < 141);
    const uint64_t d[] = {90};
    g = grow(d, 1, 30);
    assert_int_equal(g.shape, LWA_SHAPE_SINGLE);
    assert_false(g.significant);
    const uint64_t e[] = {90, 20};
    g = grow(e, 2, 30);
    assert_int_equal(g.shape, LWA_SHAPE_SHRINKING);
}

static void test_unknown_times(void **state)
{
    (void)state;
    const uint64_t c[] = {10, 60, 110, 160};
    lwa_thresholds th = defaults();
    lwa_growth g;
    lwa_growth_compute(NULL, c, 4, &th, false, &g);
    assert_false(g.has_rate);
    assert_true(g.per_minute == 0);
    assert_int_equal(g.shape, LWA_SHAPE_GROWING);
    /* times that do not increase are as good as none */
    int64_t t[4] = {5, 5, 5, 5};
    lwa_growth_compute(t, c, 4, &th, false, &g);
    assert_false(g.has_rate);
    assert_int_equal(g.shape, LWA_SHAPE_GROWING);
}

static void test_uneven_spacing(void **state)
{
    (void)state;
    /* 10 a minute, captured at 0, 1, 5 and 6 minutes */
    int64_t t[4] = {0, 60000, 300000, 360000};
    const uint64_t c[] = {100, 110, 150, 160};
    lwa_thresholds th = defaults();
    lwa_growth g;
    lwa_growth_compute(t, c, 4, &th, false, &g);
    assert_true(g.per_minute > 9.99 && g.per_minute < 10.01);
    assert_int_equal(g.shape, LWA_SHAPE_GROWING);
    /* the long step carries most of the goroutines, as its length says
     * it should: compared as rates, no step stands out */
    assert_true(g.max_step_share < 0.4);
    /* the same counts equally spaced are a jump in the middle */
    lwa_growth_compute(NULL, c, 4, &th, false, &g);
    assert_true(g.max_step_share > 0.6);
}

/* ---- the same shapes as real profiles, judged by lwa_analyze ---- */

static pprof_profile *one_stack(const char *func, const char *reason,
                                uint64_t count)
{
    pprof_limits lim;
    pprof_limits_default(&lim);
    pprof_builder *b = pprof_builder_new(&lim);
    assert_non_null(b);
    pprof_frame fr[2] = {{func, "/src/app/x.go", 42},
                         {"main.main", "/src/app/main.go", 9}};
    pprof_frame other[1] = {{"main.idle", "/src/app/idle.go", 3}};
    pprof_sample s = {fr, 2, 0, reason, 0, {"main.main", NULL, 0}, NULL,
                      count};
    pprof_sample o = {other, 1, 0, "select", 0, {NULL, NULL, 0}, NULL, 7};
    if (count)
        assert_int_equal(pprof_builder_add(b, &s), 0);
    assert_int_equal(pprof_builder_add(b, &o), 0);
    pprof_profile *p = pprof_builder_finish(b, PPROF_FORMAT_DEBUG2,
                                            PPROF_KIND_GOROUTINE, 0);
    assert_non_null(p);
    return p;
}

static lwa_verdict judge_series(const uint64_t *c, size_t n, int64_t step_s,
                                lwa_shape *shape)
{
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    assert_non_null(t);
    lwa_snapshot *s[16];
    int64_t tm[16];
    times(tm, n, step_s);
    for (size_t i = 0; i < n; i++) {
        pprof_profile *p = one_stack("main.worker", "chan send", c[i]);
        s[i] = lwa_snapshot_take(t, p, "x");
        pprof_profile_free(p);
        assert_non_null(s[i]);
        lwa_snapshot_set_time(s[i], tm[i]);
    }
    lwa_thresholds th = defaults();
    lwa_report *r = lwa_analyze(t, (const lwa_snapshot *const *)s, n, NULL,
                                &th);
    assert_non_null(r);
    lwa_verdict v = r->verdict;
    *shape = LWA_SHAPE_FLAT;
    for (size_t i = 0; i < r->nfindings; i++)
        if (!strcmp(r->findings[i].sig->frames[0].func, "main.worker"))
            *shape = r->findings[i].growth.shape;
    for (size_t i = 0; i < r->ndismissed; i++)
        if (!strcmp(r->dismissed[i].sig->frames[0].func, "main.worker"))
            *shape = r->dismissed[i].growth.shape;
    lwa_report_free(r);
    for (size_t i = 0; i < n; i++)
        lwa_snapshot_free(s[i]);
    lwa_sigtab_free(t);
    return v;
}

static void test_series_verdicts(void **state)
{
    (void)state;
    lwa_shape sh;
    const uint64_t leak[] = {12, 60, 109, 157, 205};
    assert_int_equal(judge_series(leak, 5, 12, &sh), LWA_VERDICT_LEAK);
    assert_int_equal(sh, LWA_SHAPE_GROWING);
    const uint64_t burst[] = {0, 75, 0, 100, 0};
    assert_int_equal(judge_series(burst, 5, 12, &sh), LWA_VERDICT_NO_LEAK);
    assert_int_equal(sh, LWA_SHAPE_DRAINED);
    const uint64_t plateau[] = {11, 59, 106, 120, 120};
    assert_int_equal(judge_series(plateau, 5, 12, &sh), LWA_VERDICT_NO_LEAK);
    assert_int_equal(sh, LWA_SHAPE_PLATEAU);
    const uint64_t noisy[] = {100, 104, 98, 103, 101, 99, 102};
    assert_int_equal(judge_series(noisy, 7, 30, &sh), LWA_VERDICT_NO_LEAK);
    const uint64_t spike[] = {10, 10, 11, 10, 300};
    assert_int_equal(judge_series(spike, 5, 30, &sh),
                     LWA_VERDICT_INCONCLUSIVE);
    assert_int_equal(sh, LWA_SHAPE_SPIKE);
    const uint64_t mid_spike[] = {10, 10, 300, 10, 10};
    assert_int_equal(judge_series(mid_spike, 5, 30, &sh),
                     LWA_VERDICT_NO_LEAK);
    const uint64_t tiny[] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(judge_series(tiny, 6, 60, &sh), LWA_VERDICT_NO_LEAK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_leak),
        cmocka_unit_test(test_steady_leak_with_jitter),
        cmocka_unit_test(test_burst_then_drain),
        cmocka_unit_test(test_ramp_then_plateau),
        cmocka_unit_test(test_noisy_flat),
        cmocka_unit_test(test_single_spike),
        cmocka_unit_test(test_small_numbers),
        cmocka_unit_test(test_two_and_one),
        cmocka_unit_test(test_unknown_times),
        cmocka_unit_test(test_uneven_spacing),
        cmocka_unit_test(test_series_verdicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
