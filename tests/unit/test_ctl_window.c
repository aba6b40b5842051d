/*
 * test_ctl_window.c — the cheap-count window: a steady leak is suspected
 * within the first evaluations, bursts that drain, ramps that plateau and
 * single spikes are not, and one noisy sample neither raises nor clears.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "controller/ctl_window.h"

#define INTERVAL_MS 30000

/* Feeds counts at 30 s spacing, evaluating after each; returns the index
 * of the first sample at which the window became suspect, or -1. */
static int feed(ctl_window *w, const ctl_thresholds *th, const uint64_t *c,
                int n, bool *final)
{
    int first = -1;
    for (int i = 0; i < n; i++) {
        ctl_window_add(w, (int64_t)i * INTERVAL_MS, c[i]);
        if (ctl_window_evaluate(w, th, NULL) && first < 0)
            first = i;
    }
    *final = w->suspect;
    return first;
}

static void test_fast_leak_called_within_four_intervals(void **state)
{
    (void)state;
    ctl_thresholds th;
    ctl_thresholds_default(&th);
    ctl_window w;
    ctl_window_init(&w, th.window);
    /* 40 goroutines per interval on top of a 200 baseline, a little noise. */
    const uint64_t c[] = {200, 243, 281, 318, 362, 401, 442};
    bool final;
    int first = feed(&w, &th, c, 7, &final);
    assert_true(first >= 2 && first <= 4);
    assert_true(final);
    ctl_trend t;
    ctl_window_trend(&w, &th, &t);
    assert_true(t.per_minute > 70 && t.per_minute < 90);
    ctl_window_free(&w);
}

static void test_burst_that_drains_is_not_called(void **state)
{
    (void)state;
    ctl_thresholds th;
    ctl_thresholds_default(&th);
    ctl_window w;
    ctl_window_init(&w, th.window);
    /* Bursts of slow requests shorter than the interval: spikes that the
     * next sample no longer sees.  Never suspected. */
    const uint64_t spiky[] = {50, 52, 350, 51, 50, 300, 52, 51, 420, 50, 53};
    bool final;
    assert_int_equal(feed(&w, &th, spiky, 11, &final), -1);
    assert_false(final);

    /* A burst that takes two intervals to build and three to drain looks
     * like a leak onset while it builds (only time tells them apart): the
     * window may suspect it — that buys a full capture, not a finding —
     * but the suspicion clears once it has drained. */
    ctl_window_clear(&w);
    const uint64_t slow[] = {50, 52, 350, 900, 600, 120, 55, 51, 50, 53, 52};
    feed(&w, &th, slow, 11, &final);
    assert_false(final);
    ctl_window_free(&w);
}

static void test_ramp_that_plateaus_is_not_called(void **state)
{
    (void)state;
    ctl_thresholds th;
    ctl_thresholds_default(&th);
    ctl_window w;
    ctl_window_init(&w, th.window);
    /* Streams ramp for a minute, then hold.  While the ramp is on, the
     * window may suspect (it looks like a leak); once flat it must clear
     * and stay clear. */
    const uint64_t c[] = {10, 60, 110, 150, 152, 151, 150, 152, 151, 152,
                          150, 151, 152, 150};
    bool final;
    feed(&w, &th, c, 14, &final);
    assert_false(final);
    ctl_window_free(&w);
}

static void test_one_noisy_sample_neither_raises_nor_clears(void **state)
{
    (void)state;
    ctl_thresholds th;
    ctl_thresholds_default(&th);
    th.raise_after = 2;
    ctl_window w;
    ctl_window_init(&w, th.window);
    /* Flat with a single spike at the end: never raised. */
    const uint64_t flat[] = {100, 101, 99, 100, 400};
    bool final;
    assert_int_equal(feed(&w, &th, flat, 5, &final), -1);
    assert_false(final);

    /* A real leak, then one sample that dips: still suspect. */
    ctl_window_clear(&w);
    const uint64_t leak[] = {100, 150, 200, 250, 300, 350, 120, 400, 450};
    feed(&w, &th, leak, 9, &final);
    assert_true(final);
    ctl_window_clear(&w);
    const uint64_t dip[] = {100, 150, 200, 250, 300, 350, 120};
    feed(&w, &th, dip, 7, &final);
    assert_true(final); /* one flat evaluation < clear_after */
    ctl_window_free(&w);
}

static void test_small_numbers_are_not_leaks(void **state)
{
    (void)state;
    ctl_thresholds th;
    ctl_thresholds_default(&th);
    ctl_window w;
    ctl_window_init(&w, th.window);
    /* Steady but tiny growth: 1 goroutine per interval. */
    const uint64_t c[] = {20, 21, 22, 23, 24, 25, 26, 27};
    bool final;
    assert_int_equal(feed(&w, &th, c, 8, &final), -1);
    ctl_window_free(&w);
}

static void test_out_of_order_and_reset(void **state)
{
    (void)state;
    ctl_window w;
    ctl_window_init(&w, CTL_WINDOW_MAX);
    assert_true(ctl_window_add(&w, 1000, 5));
    assert_false(ctl_window_add(&w, 1000, 6));
    assert_false(ctl_window_add(&w, 500, 6));
    assert_int_equal(w.n, 1);
    w.suspect = true;
    ctl_window_reset(&w);
    assert_int_equal(w.n, 0);
    assert_true(w.suspect);
    /* The ring keeps the newest CTL_WINDOW_MAX samples. */
    for (int i = 0; i < 200; i++)
        ctl_window_add(&w, i + 1, (uint64_t)i);
    assert_int_equal(w.n, CTL_WINDOW_MAX);
    assert_int_equal(ctl_window_last(&w)->count, 199);
    /* A window of 10 keeps 10, and clearing keeps its ring. */
    ctl_window small;
    ctl_window_init(&small, 10);
    assert_null(small.s);
    for (int i = 0; i < 25; i++)
        ctl_window_add(&small, i + 1, (uint64_t)i);
    assert_int_equal(small.n, 10);
    assert_int_equal(small.s[small.head].count, 15);
    assert_int_equal(ctl_window_last(&small)->count, 24);
    const ctl_sample *ring = small.s;
    ctl_window_clear(&small);
    assert_int_equal(small.n, 0);
    assert_ptr_equal(small.s, ring);
    assert_true(ctl_window_add(&small, 1, 7));
    assert_int_equal(ctl_window_last(&small)->count, 7);
    ctl_window_free(&small);
    assert_null(small.s);
    assert_int_equal(small.cap, 10);
    ctl_window_free(&w);
}

/* A leak whose climb turns ragged (samples that dip, steps of unequal
 * size) is not "flat": a finding must not clear while the count still
 * rises across the window, even when suspicion lapses. */
static void test_ragged_growth_is_not_flat(void **state)
{
    (void)state;
    ctl_thresholds th;
    ctl_thresholds_default(&th);
    ctl_window w;
    ctl_window_init(&w, th.window);
    const uint64_t c[] = {700, 720, 745, 770, 790, 812, 836, 829, 859, 842,
                          866, 851, 880, 861, 893, 874, 905};
    bool final;
    int first = feed(&w, &th, c, 17, &final);
    assert_true(first >= 0);
    ctl_trend t;
    ctl_window_trend(&w, &th, &t);
    assert_false(t.flat);
    ctl_window_free(&w);
}

/* A count that drops (a process restart the watch has not reported yet)
 * is not level either; a window of level samples after it is. */
/* A short window (a short interval) does not make a slow climb level:
 * +18 a minute over 45 s adds up to little, yet it is a leak. */
static void test_slow_climb_in_a_short_window_is_not_flat(void **state)
{
    (void)state;
    ctl_thresholds th;
    ctl_thresholds_default(&th);
    ctl_window w;
    ctl_window_init(&w, th.window);
    const uint64_t c[] = {578, 580, 579, 583, 585, 584, 588, 589, 590, 592};
    for (int i = 0; i < 10; i++)
        ctl_window_add(&w, (int64_t)i * 5000, c[i]);
    ctl_trend t;
    ctl_window_trend(&w, &th, &t);
    assert_true(t.per_minute > 10);
    assert_false(t.flat);
    ctl_window_free(&w);
}

static void test_drop_is_not_flat_until_the_window_is_level(void **state)
{
    (void)state;
    ctl_thresholds th;
    ctl_thresholds_default(&th);
    ctl_window w;
    ctl_window_init(&w, th.window);
    const uint64_t c[] = {100, 150, 200, 250, 300, 350, 400, 30, 31, 30};
    bool final;
    feed(&w, &th, c, 10, &final);
    ctl_trend t;
    ctl_window_trend(&w, &th, &t);
    assert_false(t.flat);
    const uint64_t level[] = {30, 31, 30, 30, 31, 30, 30, 31, 30, 30, 31, 33};
    for (int i = 0; i < 12; i++) {
        ctl_window_add(&w, (int64_t)(10 + i) * INTERVAL_MS, level[i]);
        ctl_window_evaluate(&w, &th, NULL);
    }
    assert_false(w.suspect);
    ctl_window_trend(&w, &th, &t);
    assert_true(t.flat);
    ctl_window_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_leak_called_within_four_intervals),
        cmocka_unit_test(test_burst_that_drains_is_not_called),
        cmocka_unit_test(test_ramp_that_plateaus_is_not_called),
        cmocka_unit_test(test_one_noisy_sample_neither_raises_nor_clears),
        cmocka_unit_test(test_small_numbers_are_not_leaks),
        cmocka_unit_test(test_out_of_order_and_reset),
        cmocka_unit_test(test_ragged_growth_is_not_flat),
        cmocka_unit_test(test_drop_is_not_flat_until_the_window_is_level),
        cmocka_unit_test(test_slow_climb_in_a_short_window_is_not_flat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
