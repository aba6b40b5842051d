/*
 * test_analysis_diff.c — per-stack diff of two captures (lwa_diff.c):
 * ordering, totals, stacks that appear or vanish, captures in different
 * formats, and a million goroutines over tens of thousands of stacks.
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

static const lwa_diff_row *row_of(const lwa_diff *d, const char *func)
{
    for (size_t i = 0; i < d->nrows; i++)
        if (!strcmp(ts_shown(d->rows[i].sig), func))
            return &d->rows[i];
    return NULL;
}

static void test_rows_and_totals(void **state)
{
    (void)state;
    static const ts_gr base[] = {
        {"main.leak", "chan send", 12, 0, NULL, 0, NULL},
        {"main.steady", "select", 8, 0, NULL, 0, NULL},
        {"main.shrinks", "sleep", 30, 0, NULL, 0, NULL},
        {"main.gone", "IO wait", 4, 0, NULL, 0, NULL},
    };
    static const ts_gr target[] = {
        {"main.leak", "chan send", 812, 3, NULL, 0, NULL},
        {"main.steady", "select", 8, 0, NULL, 0, NULL},
        {"main.shrinks", "sleep", 10, 0, NULL, 0, NULL},
        {"main.new", "chan receive", 20, 0, NULL, 0, NULL},
        {"main.tied", "chan receive", 20, 0, NULL, 0, NULL},
    };
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    lwa_snapshot *a = ts_take(t, PPROF_FORMAT_DEBUG2, base, N(base));
    lwa_snapshot *b = ts_take(t, PPROF_FORMAT_DEBUG2, target, N(target));
    lwa_diff *d = lwa_diff_new(t, a, b);
    assert_non_null(d);
    assert_int_equal(d->base_total, 54);
    assert_int_equal(d->target_total, 870);
    assert_int_equal(d->total_delta, 816);
    assert_int_equal(d->nrows, 6);
    assert_int_equal(d->grew, 3);
    assert_int_equal(d->shrank, 2);
    assert_int_equal(d->appeared, 2);
    assert_int_equal(d->vanished, 1);
    /* sorted by delta, largest growth first, drops last */
    for (size_t i = 1; i < d->nrows; i++)
        assert_true(d->rows[i - 1].delta >= d->rows[i].delta);
    const lwa_sig *top = d->rows[0].sig;
    assert_string_equal(top->frames[0].func, "main.leak");
    assert_int_equal(d->rows[0].base, 12);
    assert_int_equal(d->rows[0].target, 812);
    assert_int_equal(d->rows[0].delta, 800);
    assert_int_equal(row_of(d, "main.shrinks")->delta, -20);
    assert_int_equal(row_of(d, "main.gone")->target, 0);
    assert_int_equal(row_of(d, "main.steady")->delta, 0);
    assert_int_equal(d->rows[d->nrows - 1].delta, -20);
    /* equal deltas come out in a stable order (by count, then id) */
    const lwa_diff_row *x = row_of(d, "main.new"), *y = row_of(d, "main.tied");
    assert_true((x < y) == (x->sig->id < y->sig->id));
    lwa_diff_free(d);

    /* reversed, the same rows with opposite signs */
    d = lwa_diff_new(t, b, a);
    assert_int_equal(d->total_delta, -816);
    assert_int_equal(d->rows[d->nrows - 1].delta, -800);
    assert_int_equal(d->appeared, 1);
    assert_int_equal(d->vanished, 2);
    lwa_diff_free(d);
    lwa_diff_free(NULL);
    lwa_snapshot_free(a);
    lwa_snapshot_free(b);
    lwa_sigtab_free(t);
}

static void test_across_formats(void **state)
{
    (void)state;
    /* A debug=1 capture of a healthy peer against a protobuf capture of the
     * leaking pod: the stacks line up through their signatures. */
    static const ts_gr peer[] = {
        {"main.(*indexer).consume@chanreceive.go:39", NULL, 28, 0, NULL, 0, NULL},
        {"sync.runtime_SemacquireWaitGroup;sync.(*WaitGroup).Wait;main.(*batcher).awaitAll",
         NULL, 2, 0, NULL, 0, NULL},
    };
    static const ts_gr pod[] = {
        {"runtime.gopark;runtime.chanrecv@chan.go:667;runtime.chanrecv2@chan.go:514;"
         "main.(*indexer).consume@chanreceive.go:39;runtime.goexit",
         NULL, 207, 0, NULL, 0, NULL},
        {"runtime.gopark;runtime.goparkunlock;runtime.semacquire1;"
         "sync.runtime_SemacquireWaitGroup;sync.(*WaitGroup).Wait;main.(*batcher).awaitAll",
         NULL, 2, 0, NULL, 0, NULL},
    };
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    lwa_snapshot *a = ts_take(t, PPROF_FORMAT_DEBUG1, peer, N(peer));
    lwa_snapshot *b = ts_take(t, PPROF_FORMAT_PROTO, pod, N(pod));
    assert_int_equal(lwa_sigtab_size(t), 2);
    lwa_diff *d = lwa_diff_new(t, a, b);
    assert_int_equal(d->nrows, 2);
    assert_int_equal(d->rows[0].delta, 179);
    assert_int_equal(d->rows[0].sig->pattern, LWA_PATTERN_CHAN_RECEIVE);
    assert_int_equal(d->rows[1].delta, 0);
    lwa_diff_free(d);
    lwa_snapshot_free(a);
    lwa_snapshot_free(b);
    lwa_sigtab_free(t);
}

static void test_ignored_rows_leave(void **state)
{
    (void)state;
    static const ts_gr g[] = {
        {"runtime/pprof.writeGoroutineStacks;runtime/pprof.writeGoroutine",
         "running", 1, 0, NULL, 0, NULL},
        {"main.worker", "chan receive", 5, 0, NULL, 0, NULL},
    };
    lwa_ignore *ig = lwa_ignore_new(true);
    lwa_options o;
    lwa_options_default(&o);
    o.ignore = ig;
    lwa_sigtab *t = lwa_sigtab_new(&o);
    lwa_snapshot *a = ts_take(t, PPROF_FORMAT_DEBUG2, g, N(g));
    lwa_snapshot *b = ts_take(t, PPROF_FORMAT_DEBUG2, g, N(g));
    lwa_diff *d = lwa_diff_new(t, a, b);
    assert_int_equal(d->nrows, 1);
    assert_int_equal(d->base_total, 6); /* totals are what Go reported */
    lwa_diff_free(d);
    lwa_snapshot_free(a);
    lwa_snapshot_free(b);
    lwa_sigtab_free(t);
    lwa_ignore_free(ig);
}

/* 1,000,000 goroutines over 20,000 stacks in each capture, every stack a
 * little bigger in the second.  Correctness at the size of the benchmark
 * dump; the speed is measured by the benchmark itself. */
static pprof_profile *big(uint64_t per, uint64_t extra_every)
{
    pprof_limits lim;
    pprof_limits_default(&lim);
    pprof_builder *b = pprof_builder_new(&lim);
    for (int i = 0; i < 20000; i++) {
        char fn[48], caller[48];
        snprintf(fn, sizeof(fn), "main.(*svc%d).handle", i % 997);
        snprintf(caller, sizeof(caller), "main.route%d", i);
        pprof_frame fr[4] = {{"runtime.gopark", "proc.go", 462},
                             {"runtime.selectgo", "select.go", 351},
                             {fn, "svc.go", (uint32_t)(i % 300) + 1},
                             {caller, "route.go", 7}};
        uint64_t c = per + (extra_every && i % extra_every == 0 ? 1 : 0);
        pprof_sample s = {fr, 4, 0, NULL, 0, {NULL, NULL, 0}, NULL, c};
        assert_int_equal(pprof_builder_add(b, &s), 0);
    }
    pprof_profile *p = pprof_builder_finish(b, PPROF_FORMAT_PROTO,
                                            PPROF_KIND_GOROUTINE, 0);
    assert_non_null(p);
    return p;
}

static void test_million_goroutines(void **state)
{
    (void)state;
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    pprof_profile *p = big(50, 0);
    assert_int_equal(p->total, 1000000);
    lwa_snapshot *a = lwa_snapshot_take(t, p, "a");
    pprof_profile_free(p);
    p = big(50, 4);
    lwa_snapshot *b = lwa_snapshot_take(t, p, "b");
    pprof_profile_free(p);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(lwa_sigtab_size(t), 20000);
    lwa_diff *d = lwa_diff_new(t, a, b);
    assert_non_null(d);
    assert_int_equal(d->nrows, 20000);
    assert_int_equal(d->grew, 5000);
    assert_int_equal(d->total_delta, 5000);
    assert_int_equal(d->rows[0].delta, 1);
    assert_int_equal(d->rows[4999].delta, 1);
    assert_int_equal(d->rows[5000].delta, 0);
    assert_int_equal(d->rows[0].sig->pattern, LWA_PATTERN_SELECT);
    lwa_diff_free(d);
    lwa_snapshot_free(a);
    lwa_snapshot_free(b);
    lwa_sigtab_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_and_totals),
        cmocka_unit_test(test_across_formats),
        cmocka_unit_test(test_ignored_rows_leave),
        cmocka_unit_test(test_million_goroutines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
