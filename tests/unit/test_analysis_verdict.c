/*
 * test_analysis_verdict.c — the decision rules of lwa_verdict.c, one by
 * one: sizes that are too small, two captures, ages from debug=2, the
 * fresh peer, churn, Go's leak detector (and main.main parked for good),
 * goroutine ids (a burst in flight never outranks goroutines that stay; a
 * ticker loop is a sleep loop), growth spread thin, ranking, and what a
 * report says when times are unknown.
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
#include "support.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* One stack ("main.worker", blocked in `reason`) per capture, plus an idle
 * pool that never changes, `step_s` seconds apart. */
static void one_stack_series(ts_world *w, pprof_format fmt, const char *reason,
                             const uint64_t *counts, size_t n, int64_t step_s)
{
    for (size_t i = 0; i < n; i++) {
        ts_gr g[2] = {{"main.worker@w.go:12;main.serve", reason, counts[i], 0,
                    "main.serve", 0, NULL},
                   {"main.idle@i.go:3", "select", 4, 0, NULL, 0, NULL}};
        ts_world_add(w, fmt, counts[i] ? g : g + 1, counts[i] ? 2 : 1,
                     (int64_t)i * step_s);
    }
}

static const lwa_finding *finding_of(const lwa_report *r, const char *func)
{
    for (size_t i = 0; i < r->nfindings; i++)
        if (!strcmp(ts_shown(r->findings[i].sig), func))
            return &r->findings[i];
    return NULL;
}

static void test_steady_leak(void **state)
{
    (void)state;
    ts_world w;
    ts_world_init(&w);
    const uint64_t c[] = {12, 60, 109, 157, 205};
    one_stack_series(&w, PPROF_FORMAT_DEBUG2, "chan send", c, 5, 12);
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_true(r->has_times);
    assert_int_equal(r->total_first, 16);
    assert_int_equal(r->total_last, 209);
    assert_true(r->total_per_minute > 230 && r->total_per_minute < 250);
    assert_int_equal(r->nfindings, 1);
    const lwa_finding *f = &r->findings[0];
    assert_int_equal(f->status, LWA_STATUS_LEAK);
    assert_int_equal(f->growth.shape, LWA_SHAPE_GROWING);
    assert_int_equal(f->count, 205);
    assert_int_equal(f->delta, 193);
    assert_false(f->has_baseline);
    assert_true(f->has_minutes);
    assert_int_equal(f->sig->pattern, LWA_PATTERN_CHAN_SEND);
    assert_non_null(f->why);
    assert_non_null(f->series);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(f->series[i], c[i]);
    assert_string_equal(lwa_verdict_name(r->verdict), "leak");
    assert_string_equal(lwa_status_name(f->status), "leak");
    assert_string_equal(lwa_shape_name(f->growth.shape), "growing");
    ts_world_free(&w);
}

static void test_small_numbers_are_not_leaks(void **state)
{
    (void)state;
    ts_world w;
    ts_world_init(&w);
    const uint64_t c[] = {3, 5, 7, 9, 11};
    one_stack_series(&w, PPROF_FORMAT_DEBUG2, "chan send", c, 5, 60);
    assert_int_equal(ts_world_judge(&w)->verdict, LWA_VERDICT_NO_LEAK);
    ts_world_free(&w);
}

static void test_relative_growth_and_peer(void **state)
{
    (void)state;
    /* +40 on a pool of 5,000: load, not a leak... */
    const uint64_t c[] = {5000, 5010, 5020, 5030, 5040};
    ts_world w;
    ts_world_init(&w);
    one_stack_series(&w, PPROF_FORMAT_DEBUG1, NULL, c, 5, 60);
    assert_int_equal(ts_world_judge(&w)->verdict, LWA_VERDICT_NO_LEAK);
    /* ... unless a fresh peer holds 100: then it is an old leak still
     * growing */
    ts_gr peer[] = {{"main.worker@w.go:12;main.serve", NULL, 100, 0, NULL, 0, NULL}};
    ts_world_peer(&w, PPROF_FORMAT_DEBUG1, peer, 1);
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_true(r->has_baseline);
    assert_true(r->findings[0].has_baseline);
    assert_int_equal(r->findings[0].baseline, 100);
    assert_int_equal(r->findings[0].delta, 40);
    ts_world_free(&w);
}

static void test_two_captures(void **state)
{
    (void)state;
    /* Up between two captures, nothing else known: inconclusive */
    ts_world w;
    ts_world_init(&w);
    const uint64_t c[] = {60, 130};
    one_stack_series(&w, PPROF_FORMAT_DEBUG1, NULL, c, 2, 30);
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_INCONCLUSIVE);
    assert_int_equal(r->findings[0].status, LWA_STATUS_SUSPECT);
    assert_int_equal(r->findings[0].growth.shape, LWA_SHAPE_STEP);
    ts_world_free(&w);

    /* debug=2 ages: the 60 of the first capture are still blocked and
     * were blocked before it (2+ minutes, the window is 30 s): a leak */
    ts_world_init(&w);
    ts_gr first[] = {{"main.worker;main.serve", "chan receive", 40, 3, NULL, 0, NULL},
                  {"main.worker;main.serve", "chan receive", 20, 0, NULL, 0, NULL}};
    ts_gr second[] = {{"main.worker;main.serve", "chan receive", 40, 3, NULL, 0, NULL},
                   {"main.worker;main.serve", "chan receive", 20, 1, NULL, 0, NULL},
                   {"main.worker;main.serve", "chan receive", 70, 0, NULL, 0, NULL}};
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, first, 2, 0);
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, second, 3, 30);
    r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_int_equal(r->findings[0].held, 60);
    assert_int_equal(r->findings[0].minutes_max, 3);
    ts_world_free(&w);

    /* the same counts, all goroutines fresh: replaced, not held */
    ts_world_init(&w);
    ts_gr fresh1[] = {{"main.worker;main.serve", "chan receive", 60, 0, NULL, 0, NULL}};
    ts_gr fresh2[] = {{"main.worker;main.serve", "chan receive", 130, 0, NULL, 0, NULL}};
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, fresh1, 1, 0);
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, fresh2, 1, 30);
    r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_INCONCLUSIVE);
    assert_int_equal(r->findings[0].held, 0);
    ts_world_free(&w);

    /* far above a fresh peer: a leak even with two captures */
    ts_world_init(&w);
    const uint64_t d[] = {20, 120};
    one_stack_series(&w, PPROF_FORMAT_DEBUG1, NULL, d, 2, 30);
    ts_gr peer[] = {{"main.worker@w.go:12;main.serve", NULL, 5, 0, NULL, 0, NULL}};
    ts_world_peer(&w, PPROF_FORMAT_DEBUG1, peer, 1);
    assert_int_equal(ts_world_judge(&w)->verdict, LWA_VERDICT_LEAK);
    ts_world_free(&w);

    /* above it, but not far: still inconclusive */
    ts_world_init(&w);
    const uint64_t e[] = {20, 60};
    one_stack_series(&w, PPROF_FORMAT_DEBUG1, NULL, e, 2, 30);
    ts_gr peer2[] = {{"main.worker@w.go:12;main.serve", NULL, 15, 0, NULL, 0, NULL}};
    ts_world_peer(&w, PPROF_FORMAT_DEBUG1, peer2, 1);
    assert_int_equal(ts_world_judge(&w)->verdict, LWA_VERDICT_INCONCLUSIVE);
    ts_world_free(&w);
}

static void test_one_capture(void **state)
{
    (void)state;
    ts_world w;
    ts_world_init(&w);
    ts_gr g[] = {{"main.worker;main.serve", "chan send", 50, 0, NULL, 0, NULL},
              {"main.worker;main.serve", "chan send", 50, 1, NULL, 0, NULL},
              {"main.worker;main.serve", "chan send", 100, 3, NULL, 0, NULL},
              {"main.worker;main.serve", "chan send", 100, 12, NULL, 0, NULL},
              {"main.small", "select", 4, 0, NULL, 0, NULL}};
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, N(g), 0);
    /* alone: cannot tell */
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_INCONCLUSIVE);
    assert_false(r->has_times);
    assert_int_equal(r->nfindings, 1); /* main.small is below any rule */
    assert_int_equal(r->findings[0].status, LWA_STATUS_SUSPECT);
    assert_int_equal(r->findings[0].delta, 0);
    /* far above a fresh peer, ages from "now" to 12 minutes: a leak still
     * accumulating */
    ts_gr peer[] = {{"main.worker;main.serve", "chan send", 10, 0, NULL, 0, NULL},
                 {"main.small", "select", 4, 0, NULL, 0, NULL}};
    ts_world_peer(&w, PPROF_FORMAT_DEBUG2, peer, N(peer));
    r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_int_equal(r->findings[0].delta, 290);
    assert_int_equal(r->findings[0].baseline, 10);
    ts_world_free(&w);

    /* far above, but all of one old age: a plateau as likely as a leak */
    ts_world_init(&w);
    ts_gr old[] = {{"main.worker;main.serve", "chan send", 300, 45, NULL, 0, NULL}};
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, old, 1, 0);
    ts_world_peer(&w, PPROF_FORMAT_DEBUG2, peer, N(peer));
    r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_INCONCLUSIVE);
    assert_int_equal(r->findings[0].status, LWA_STATUS_SUSPECT);
    ts_world_free(&w);

    /* looks like its peer: no leak */
    ts_world_init(&w);
    ts_gr same[] = {{"main.worker;main.serve", "chan send", 12, 0, NULL, 0, NULL},
                 {"main.small", "select", 4, 0, NULL, 0, NULL}};
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, same, N(same), 0);
    ts_world_peer(&w, PPROF_FORMAT_DEBUG2, peer, N(peer));
    r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_NO_LEAK);
    assert_int_equal(r->nfindings, 0);
    ts_world_free(&w);
}

static void test_churn_is_not_accumulation(void **state)
{
    (void)state;
    /* Growing steadily for 10 minutes, yet no goroutine is a minute old:
     * they are replaced, not stuck */
    ts_world w;
    ts_world_init(&w);
    const uint64_t c[] = {100, 140, 180, 220, 260, 300};
    one_stack_series(&w, PPROF_FORMAT_DEBUG2, "chan receive", c, 6, 120);
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_INCONCLUSIVE);
    assert_int_equal(r->findings[0].status, LWA_STATUS_SUSPECT);
    assert_int_equal(r->findings[0].growth.shape, LWA_SHAPE_GROWING);
    ts_world_free(&w);
    /* a sleep loop wakes every iteration and never ages: still a leak */
    ts_world_init(&w);
    one_stack_series(&w, PPROF_FORMAT_DEBUG2, "sleep", c, 6, 120);
    assert_int_equal(ts_world_judge(&w)->verdict, LWA_VERDICT_LEAK);
    ts_world_free(&w);
    /* and without ages (debug=1) there is nothing to contradict growth */
    ts_world_init(&w);
    one_stack_series(&w, PPROF_FORMAT_DEBUG1, NULL, c, 6, 120);
    assert_int_equal(ts_world_judge(&w)->verdict, LWA_VERDICT_LEAK);
    ts_world_free(&w);
}

static void test_leak_detector(void **state)
{
    (void)state;
    /* one goroutineleak capture with 50 proven leaks */
    ts_world w;
    ts_world_init(&w);
    ts_gr g[] = {{"main.(*fetcher).gather.func1", NULL, 50, 0, NULL, 0, NULL}};
    ts_world_add_kind(&w, PPROF_FORMAT_DEBUG1, PPROF_KIND_GOROUTINELEAK, g, 1, 0);
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_true(r->findings[0].has_leaked);
    assert_int_equal(r->findings[0].leaked, 50);
    ts_world_free(&w);

    /* empty goroutineleak profiles: the detector proved nothing, which is
     * not health */
    ts_world_init(&w);
    for (int i = 0; i < 4; i++)
        ts_world_add_kind(&w, PPROF_FORMAT_DEBUG1, PPROF_KIND_GOROUTINELEAK, NULL,
                          0, i * 12);
    r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_INCONCLUSIVE);
    assert_int_equal(r->nfindings, 0);
    ts_world_free(&w);

    /* a flat series in which the detector marks a few: stuck once, not
     * growing, no finding */
    ts_world_init(&w);
    for (int i = 0; i < 4; i++) {
        ts_gr d[] = {{"main.stuck", "chan send", 3, 0, NULL, PPROF_BF_LEAKED, NULL},
                  {"main.pool", "select", 8, 0, NULL, 0, NULL}};
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, d, 2, i * 12);
    }
    r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_NO_LEAK);
    assert_int_equal(r->nfindings, 0);
    ts_world_free(&w);

    /* ... a flat set of a dozen marked: a suspect */
    ts_world_init(&w);
    for (int i = 0; i < 4; i++) {
        ts_gr d[] = {{"main.stuck", "chan send", 12, 0, NULL, PPROF_BF_LEAKED, NULL}};
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, d, 1, i * 12);
    }
    r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_INCONCLUSIVE);
    assert_int_equal(r->findings[0].status, LWA_STATUS_SUSPECT);
    assert_int_equal(r->findings[0].leaked, 12);
    ts_world_free(&w);

    /* ... a few marked on a stack that grows a little: a suspect */
    ts_world_init(&w);
    for (int i = 0; i < 4; i++) {
        ts_gr d[] = {{"main.stuck", "chan send", 2 + (uint64_t)i, 0, NULL,
                      PPROF_BF_LEAKED, NULL}};
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, d, 1, i * 12);
    }
    r = ts_world_judge(&w);
    assert_int_equal(r->findings[0].status, LWA_STATUS_SUSPECT);
    ts_world_free(&w);

    /* the mark decides with two captures: a step the shape rules call a
     * suspect is a leak when its goroutines are marked */
    ts_world_init(&w);
    ts_gr a[] = {{"main.stuck", "chan send", 20, 0, NULL, PPROF_BF_LEAKED, NULL}};
    ts_gr b[] = {{"main.stuck", "chan send", 45, 0, NULL, PPROF_BF_LEAKED, NULL}};
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, a, 1, 0);
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, b, 1, 12);
    r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_int_equal(r->findings[0].growth.shape, LWA_SHAPE_STEP);
    ts_world_free(&w);
}

/* A server parked in main.main on `select {}` is marked leaked by Go's
 * detector in every capture; that alone is never a finding. */
static void test_main_select_forever(void **state)
{
    (void)state;
    const char *main_stack = "main.main";
    ts_gr g[] = {{main_stack, "select (no cases)", 1, 0, NULL, PPROF_BF_LEAKED,
                  NULL},
                 {"main.pool", "chan receive", 8, 0, "main.main", 0, NULL}};
    /* one capture, with a peer that looks the same */
    ts_world w;
    ts_world_init(&w);
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, N(g), 0);
    ts_world_peer(&w, PPROF_FORMAT_DEBUG2, g, N(g));
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->nfindings, 0);
    assert_int_equal(r->verdict, LWA_VERDICT_NO_LEAK);
    ts_world_free(&w);
    /* one capture alone: inconclusive for want of data, but no finding */
    ts_world_init(&w);
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, N(g), 0);
    r = ts_world_judge(&w);
    assert_int_equal(r->nfindings, 0);
    ts_world_free(&w);
    /* a series */
    ts_world_init(&w);
    for (int i = 0; i < 4; i++)
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, N(g), i * 12);
    r = ts_world_judge(&w);
    assert_int_equal(r->nfindings, 0);
    assert_int_equal(r->verdict, LWA_VERDICT_NO_LEAK);
    ts_world_free(&w);
    /* a goroutineleak profile that lists only it */
    ts_world_init(&w);
    ts_world_add_kind(&w, PPROF_FORMAT_DEBUG1, PPROF_KIND_GOROUTINELEAK, g, 1, 0);
    r = ts_world_judge(&w);
    assert_int_equal(r->nfindings, 0);
    ts_world_free(&w);
}

/* After the leak profile was asked for, debug=2 prints no minutes for
 * marked goroutines: they are not young. */
static void test_marked_minutes_unknown(void **state)
{
    (void)state;
    ts_world w;
    ts_world_init(&w);
    /* 6 marked (minutes lost) among growing goroutines all shown under a
     * minute, over ten minutes: churn by minutes alone, but the marked
     * ones are not young */
    const uint64_t c[] = {100, 140, 180, 220, 260, 300};
    for (size_t i = 0; i < N(c); i++) {
        ts_gr g[] = {{"main.worker;main.serve", "chan receive", c[i] - 6, 0,
                      NULL, 0, NULL},
                     {"main.worker;main.serve", "chan receive", 6, 0, NULL,
                      PPROF_BF_LEAKED, NULL}};
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, N(g), (int64_t)i * 120);
    }
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_int_equal(r->findings[0].leaked, 6);
    ts_world_free(&w);

    /* one capture against a peer: old goroutines from 3 and 12 minutes
     * ago, and 5 marked ones without minutes — no young goroutine shows
     * an accumulation still under way, so no age spread: a suspect */
    ts_world_init(&w);
    ts_gr one[] = {{"main.worker;main.serve", "chan send", 100, 3, NULL, 0, NULL},
                   {"main.worker;main.serve", "chan send", 100, 12, NULL, 0, NULL},
                   {"main.worker;main.serve", "chan send", 5, 0, NULL,
                    PPROF_BF_LEAKED, NULL}};
    ts_gr peer[] = {{"main.worker;main.serve", "chan send", 10, 0, NULL, 0, NULL}};
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, one, N(one), 0);
    ts_world_peer(&w, PPROF_FORMAT_DEBUG2, peer, N(peer));
    r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_INCONCLUSIVE);
    assert_int_equal(r->findings[0].status, LWA_STATUS_SUSPECT);
    ts_world_free(&w);
}

/* Goroutine ids: "old" as the parser would count them with the previous
 * capture's highest id as cutoff. */
static void set_old(lwa_snapshot *s, const lwa_sigtab *t, const char *func,
                    uint64_t old)
{
    if (!s->old) {
        s->old = calloc(s->nstats, sizeof(*s->old));
        assert_non_null(s->old);
    }
    for (size_t i = 0; i < lwa_sigtab_size(t); i++) {
        const lwa_sig *g = lwa_sigtab_at(t, i);
        if (!strcmp(ts_shown(g), func)) {
            assert_true(i < s->nstats);
            s->old[i] = old;
            return;
        }
    }
    fail_msg("no stack %s", func);
}

static void test_burst_never_outranks_persistent(void **state)
{
    (void)state;
    /* slowRequest: 58 in flight at each capture, all new each time (ids),
     * and more of them at the end; awaitDone: a slower climb whose
     * goroutines all stay */
    ts_world w;
    ts_world_init(&w);
    const uint64_t burst[] = {10, 30, 50, 70, 90};
    const uint64_t rows[] = {5, 20, 35, 50, 65};
    for (size_t i = 0; i < N(burst); i++) {
        ts_gr g[] = {
            {"main.slowRequest", "chan receive", burst[i], 0, "main.burstLoop",
             0, NULL},
            {"database/sql.(*Rows).awaitDone", "select", rows[i], 0,
             "database/sql.(*Rows).initContextClose", 0, NULL},
        };
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, N(g), (int64_t)i * 10);
        if (i) {
            set_old(w.s[i], w.t, "main.slowRequest", 1);
            set_old(w.s[i], w.t, "database/sql.(*Rows).awaitDone", rows[i - 1]);
        }
    }
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_int_equal(r->nfindings, 1);
    const lwa_finding *f = &r->findings[0];
    assert_string_equal(f->sig->frames[f->sig->shown].func,
                        "database/sql.(*Rows).awaitDone");
    assert_true(f->has_ids);
    assert_true(f->persisted > 0.99);
    assert_int_equal(f->old, 50);
    /* the burst is dismissed as churn, and says so */
    bool seen = false;
    for (size_t i = 0; i < r->ndismissed; i++) {
        const lwa_finding *d = &r->dismissed[i];
        if (strcmp(d->sig->frames[d->sig->shown].func, "main.slowRequest"))
            continue;
        seen = true;
        assert_true(d->churn);
        assert_non_null(strstr(d->why, "churn"));
    }
    assert_true(seen);
    ts_world_free(&w);

    /* two captures: a burst of 58 new goroutines vs a stack whose first
     * goroutines stay: the persistent one leaks, the burst is nothing */
    ts_world_init(&w);
    ts_gr a[] = {{"main.slowRequest", "chan receive", 20, 0, NULL, 0, NULL},
                 {"main.(*replySlot).wait", "sync.Cond.Wait", 20, 0, NULL, 0,
                  NULL}};
    ts_gr b[] = {{"main.slowRequest", "chan receive", 78, 0, NULL, 0, NULL},
                 {"main.(*replySlot).wait", "sync.Cond.Wait", 40, 0, NULL, 0,
                  NULL}};
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, a, 2, 0);
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, b, 2, 10);
    set_old(w.s[1], w.t, "main.slowRequest", 0);
    set_old(w.s[1], w.t, "main.(*replySlot).wait", 20);
    r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_int_equal(r->nfindings, 1);
    f = &r->findings[0];
    assert_string_equal(f->sig->frames[f->sig->shown].func,
                        "main.(*replySlot).wait");
    assert_int_equal(f->status, LWA_STATUS_LEAK);
    ts_world_free(&w);

    /* without ids the same captures stay as they were: both suspects, the
     * larger first (nothing to tell them apart) */
    ts_world_init(&w);
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, a, 2, 0);
    ts_world_add(&w, PPROF_FORMAT_DEBUG2, b, 2, 10);
    r = ts_world_judge(&w);
    assert_int_equal(r->nfindings, 2);
    assert_false(r->findings[0].has_ids);
    ts_world_free(&w);

    /* ids on one stack only (the other appeared from nothing): the one
     * known to stay ranks first even though it grew less */
    ts_world_init(&w);
    for (int i = 0; i < 4; i++) {
        uint64_t k = (uint64_t)i;
        ts_gr g[] = {{"main.fresh", "chan receive", 40 * k, 0, NULL, 0, NULL},
                     {"main.kept", "chan receive", 20 + 15 * k, 0, NULL, 0,
                      NULL}};
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, 2, i * 10);
        if (i)
            set_old(w.s[i], w.t, "main.kept", 20 + 15 * (k - 1));
    }
    r = ts_world_judge(&w);
    assert_true(r->nfindings >= 1);
    f = &r->findings[0];
    assert_string_equal(f->sig->frames[f->sig->shown].func, "main.kept");
    ts_world_free(&w);
}

/* The parser's "old" counts reach the snapshot when the dump was parsed
 * with the previous capture's highest id as cutoff, and not when the ids
 * went below it (a restarted process). */
static void test_snapshot_keeps_old(void **state)
{
    (void)state;
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    assert_non_null(t);
    pprof_limits lim;
    pprof_limits_default(&lim);
    pprof_builder *b = pprof_builder_new(&lim);
    ts_stack st;
    ts_stack_parse(&st, "main.kept");
    pprof_sample kept = {st.f, st.n, 0, "chan receive", 0, {NULL, NULL, 0},
                         NULL, 30, 20};
    assert_int_equal(pprof_builder_add(b, &kept), 0);
    ts_stack st2;
    ts_stack_parse(&st2, "main.fresh");
    pprof_sample fresh = {st2.f, st2.n, 0, "chan receive", 0, {NULL, NULL, 0},
                          NULL, 12, 0};
    assert_int_equal(pprof_builder_add(b, &fresh), 0);
    pprof_profile *p =
        pprof_builder_finish(b, PPROF_FORMAT_DEBUG2, PPROF_KIND_GOROUTINE, 0);
    assert_non_null(p);
    p->has_goids = true;
    p->max_goid = 900;

    lwa_snapshot *s = lwa_snapshot_take_after(t, p, "chained", 700);
    assert_non_null(s->old);
    assert_int_equal(lwa_snapshot_old(s, 0), 20);
    assert_int_equal(lwa_snapshot_old(s, 1), 0);
    assert_int_equal(lwa_snapshot_count(s, 1), 12);
    lwa_snapshot_free(s);
    /* no cutoff: ids not used */
    s = lwa_snapshot_take_after(t, p, "alone", 0);
    assert_null(s->old);
    lwa_snapshot_free(s);
    /* the ids went backwards: another process */
    s = lwa_snapshot_take_after(t, p, "restarted", 5000);
    assert_null(s->old);
    lwa_snapshot_free(s);
    /* a format without ids */
    p->has_goids = false;
    s = lwa_snapshot_take_after(t, p, "debug1", 700);
    assert_null(s->old);
    lwa_snapshot_free(s);
    pprof_profile_free(p);
    lwa_sigtab_free(t);
}

static void test_ticker_loop_is_sleep_loop(void **state)
{
    (void)state;
    /* A time.NewTicker loop per request: [select], goroutines that stay
     * (ids) over 4 minutes, never a blocked minute: a sleep loop */
    ts_world w;
    ts_world_init(&w);
    const uint64_t c[] = {12, 24, 36, 48, 60};
    for (size_t i = 0; i < N(c); i++) {
        ts_gr g[] = {{"main.(*poller).tick", "select", c[i], 0, "main.start", 0,
                      NULL}};
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, 1, (int64_t)i * 60);
        if (i)
            set_old(w.s[i], w.t, "main.(*poller).tick", c[i - 1]);
    }
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_int_equal(r->findings[0].pattern, LWA_PATTERN_SLEEP_LOOP);
    assert_int_equal(r->findings[0].sig->pattern, LWA_PATTERN_SELECT);
    ts_world_free(&w);

    /* the same select whose goroutines show blocked minutes: parked for
     * good, a plain select */
    ts_world_init(&w);
    for (size_t i = 0; i < N(c); i++) {
        ts_gr g[] = {{"main.(*poller).tick", "select", c[i] - 12, 1 + i,
                      "main.start", 0, NULL},
                     {"main.(*poller).tick", "select", 12, 0, "main.start", 0,
                      NULL}};
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, i ? g : g + 1, i ? 2 : 1,
                     (int64_t)i * 60);
        if (i)
            set_old(w.s[i], w.t, "main.(*poller).tick", c[i - 1]);
    }
    r = ts_world_judge(&w);
    assert_int_equal(r->findings[0].pattern, LWA_PATTERN_SELECT);
    ts_world_free(&w);

    /* stays and never ages, but over one minute only: too short to tell a
     * ticker from a select the runtime has not aged yet */
    ts_world_init(&w);
    for (size_t i = 0; i < 3; i++) {
        ts_gr g[] = {{"main.(*poller).tick", "select", c[i], 0, "main.start", 0,
                      NULL}};
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, 1, (int64_t)i * 30);
        if (i)
            set_old(w.s[i], w.t, "main.(*poller).tick", c[i - 1]);
    }
    r = ts_world_judge(&w);
    assert_int_equal(r->findings[0].pattern, LWA_PATTERN_SELECT);
    ts_world_free(&w);

    /* without ids (debug=1 cannot tell who stayed): the frames' pattern */
    ts_world_init(&w);
    for (size_t i = 0; i < N(c); i++) {
        ts_gr g[] = {{"main.(*poller).tick", "select", c[i], 0, "main.start", 0,
                      NULL}};
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, 1, (int64_t)i * 60);
    }
    r = ts_world_judge(&w);
    assert_int_equal(r->findings[0].pattern, LWA_PATTERN_SELECT);
    ts_world_free(&w);
}

static void test_growth_spread_thin(void **state)
{
    (void)state;
    /* 30 stacks each gaining 2 a capture: none alone matters, the
     * process total climbs by 240 */
    ts_world w;
    ts_world_init(&w);
    for (int i = 0; i < 5; i++) {
        ts_gr g[30];
        char names[30][32];
        for (int k = 0; k < 30; k++) {
            snprintf(names[k], sizeof(names[k]), "main.route%d", k);
            g[k] = (ts_gr){names[k], "chan send", 1 + 2 * (uint64_t)i, 0, NULL, 0,
                        NULL};
        }
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, 30, i * 60);
    }
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->nfindings, 0);
    assert_int_equal(r->total.shape, LWA_SHAPE_GROWING);
    assert_int_equal(r->verdict, LWA_VERDICT_INCONCLUSIVE);
    ts_world_free(&w);
}

static void test_ranking(void **state)
{
    (void)state;
    ts_world w;
    ts_world_init(&w);
    for (int i = 0; i < 5; i++) {
        uint64_t k = (uint64_t)i;
        ts_gr g[] = {
            /* equal growth: the named owner (http) ranks above raw IO */
            {"internal/poll.runtime_pollWait;net.(*conn).Read;"
             "net/http.(*connReader).Read;net/http.(*conn).serve",
             "IO wait", 10 + 100 * k, 0, NULL, 0, NULL},
            {"net/http.(*persistConn).readLoop", "select", 10 + 100 * k, 0,
             NULL, 0, NULL},
            {"main.small", "chan send", 10 + 25 * k, 0, NULL, 0, NULL},
            /* a jump in the last step only: a suspect, after the leaks */
            {"main.jump", "sleep", i == 4 ? 900 : 5, 0, NULL, 0, NULL},
            /* rose and drained: dismissed */
            {"main.burst", "sleep", i == 2 ? 300 : 5, 0, NULL, 0, NULL},
            /* ramped and held: dismissed */
            {"main.ramp", "select", i < 2 ? 40 * k : 80, 0, NULL, 0, NULL},
        };
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, N(g), i * 30);
    }
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_int_equal(r->nfindings, 4);
    assert_int_equal(r->findings[0].sig->pattern, LWA_PATTERN_HTTP_BODY);
    assert_int_equal(r->findings[1].sig->pattern, LWA_PATTERN_NETWORK_IO);
    assert_ptr_equal(&r->findings[2], finding_of(r, "main.small"));
    assert_ptr_equal(&r->findings[3], finding_of(r, "main.jump"));
    assert_int_equal(r->findings[3].status, LWA_STATUS_SUSPECT);
    assert_int_equal(r->findings[3].growth.shape, LWA_SHAPE_SPIKE);
    assert_int_equal(r->ndismissed, 2);
    /* largest rise first */
    const lwa_sig *d0 = r->dismissed[0].sig, *d1 = r->dismissed[1].sig;
    assert_string_equal(d0->frames[d0->shown].func, "main.burst");
    assert_int_equal(r->dismissed[0].growth.shape, LWA_SHAPE_DRAINED);
    assert_string_equal(d1->frames[d1->shown].func, "main.ramp");
    assert_int_equal(r->dismissed[1].growth.shape, LWA_SHAPE_PLATEAU);
    assert_int_equal(r->dismissed[1].status, LWA_STATUS_NONE);
    assert_non_null(r->dismissed[1].why);
    ts_world_free(&w);
}

static void test_unknown_times(void **state)
{
    (void)state;
    ts_world w;
    ts_world_init(&w);
    for (int i = 0; i < 4; i++) {
        ts_gr g[] = {{"main.worker", NULL, 10 + 40 * (uint64_t)i, 0, NULL, 0, NULL}};
        ts_world_add(&w, PPROF_FORMAT_DEBUG1, g, 1, -1);
    }
    const lwa_report *r = ts_world_judge(&w);
    assert_false(r->has_times);
    assert_true(r->total_per_minute == 0);
    assert_false(r->findings[0].growth.has_rate);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    ts_world_free(&w);
    /* times that go backwards count as unknown */
    ts_world_init(&w);
    for (int i = 0; i < 4; i++) {
        ts_gr g[] = {{"main.worker", NULL, 10 + 40 * (uint64_t)i, 0, NULL, 0, NULL}};
        ts_world_add(&w, PPROF_FORMAT_DEBUG1, g, 1, 100 - i);
    }
    assert_false(ts_world_judge(&w)->has_times);
    ts_world_free(&w);
    assert_null(lwa_analyze(NULL, NULL, 0, NULL, NULL));
    lwa_report_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_leak),
        cmocka_unit_test(test_small_numbers_are_not_leaks),
        cmocka_unit_test(test_relative_growth_and_peer),
        cmocka_unit_test(test_two_captures),
        cmocka_unit_test(test_one_capture),
        cmocka_unit_test(test_churn_is_not_accumulation),
        cmocka_unit_test(test_leak_detector),
        cmocka_unit_test(test_main_select_forever),
        cmocka_unit_test(test_marked_minutes_unknown),
        cmocka_unit_test(test_burst_never_outranks_persistent),
        cmocka_unit_test(test_ticker_loop_is_sleep_loop),
        cmocka_unit_test(test_snapshot_keeps_old),
        cmocka_unit_test(test_growth_spread_thin),
        cmocka_unit_test(test_ranking),
        cmocka_unit_test(test_unknown_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
