/*
 * test_analysis_ignore.c — ignore rules (lwa_ignore.c): the built-ins for
 * what every Go service runs, goleak-style user rules, and how ignored
 * goroutines leave the counts (and the verdict) alone.
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

/* The capture's own goroutine, as debug=2 and protobuf show it. */
static const char *const pprof_debug2 =
    "runtime/pprof.writeGoroutineStacks;runtime/pprof.writeGoroutine;"
    "runtime/pprof.(*Profile).WriteTo;net/http/pprof.handler.ServeHTTP;"
    "net/http/pprof.Index;net/http.HandlerFunc.ServeHTTP;"
    "net/http.(*ServeMux).ServeHTTP;net/http.serverHandler.ServeHTTP;"
    "net/http.(*conn).serve";
static const char *const pprof_proto =
    "runtime.goroutineProfileWithLabels;"
    "runtime/pprof.runtime_goroutineProfileWithLabels;"
    "runtime/pprof.writeRuntimeProfile;runtime/pprof.writeGoroutine;"
    "runtime/pprof.(*Profile).WriteTo;net/http/pprof.handler.ServeHTTP";
static const char *const accept_loop =
    "internal/poll.runtime_pollWait;internal/poll.(*pollDesc).wait;"
    "internal/poll.(*pollDesc).waitRead;internal/poll.(*FD).Accept;"
    "net.(*netFD).accept;net.(*TCPListener).accept;net.(*TCPListener).Accept;"
    "net/http.(*Server).Serve;main.main";

static lwa_snapshot *take_with(lwa_ignore *ig, lwa_sigtab **tp, const ts_gr *g,
                               size_t n, pprof_format fmt)
{
    lwa_options o;
    lwa_options_default(&o);
    o.ignore = ig;
    *tp = lwa_sigtab_new(&o);
    assert_non_null(*tp);
    pprof_profile *p = ts_build(fmt, PPROF_KIND_GOROUTINE, g, n);
    lwa_snapshot *s = lwa_snapshot_take(*tp, p, "x");
    pprof_profile_free(p);
    assert_non_null(s);
    return s;
}

static void test_builtins(void **state)
{
    (void)state;
    const ts_gr g[] = {
        {pprof_debug2, "running", 1, 0, "net/http.(*Server).Serve", 0, NULL},
        {pprof_proto, NULL, 1, 0, NULL, 0, NULL},
        {"os/signal.signal_recv;os/signal.loop", "syscall", 1, 0,
         "os/signal.Notify.func1.1", 0, NULL},
        {"runtime.gopark;runtime.forcegchelper", NULL, 1, 0, NULL, 0, NULL},
        {"runtime.gopark;runtime.goparkunlock;main.hidden", NULL, 2, 0,
         "runtime.gcenable", 0, NULL},
        {"testing.(*T).Run;testing.runTests.func1;testing.tRunner", "chan receive",
         1, 0, "testing.runTests", 0, NULL},
        {"net/http.(*connReader).backgroundRead", "IO wait", 1, 0,
         "net/http.(*connReader).startBackgroundRead", 0, NULL},
        {accept_loop, "IO wait", 3, 0, NULL, 0, NULL},
        {"main.(*fetcher).gather.func1", "chan send", 40, 0, NULL, 0, NULL},
    };
    lwa_ignore *ig = lwa_ignore_new(true);
    lwa_sigtab *t;
    lwa_snapshot *s = take_with(ig, &t, g, N(g), PPROF_FORMAT_DEBUG2);
    /* everything but the fetcher and two of the three accept loops */
    assert_int_equal(s->total, 51);
    assert_int_equal(s->ignored, 9);
    assert_int_equal(lwa_snapshot_counted(s), 42);
    for (size_t i = 0; i < lwa_sigtab_size(t); i++) {
        const lwa_sig *sig = lwa_sigtab_at(t, i);
        const char *f0 = sig->frames[sig->shown].func;
        if (!strcmp(f0, "main.(*fetcher).gather.func1")) {
            assert_null(sig->ignored_by);
            assert_int_equal(lwa_snapshot_count(s, i), 40);
        } else if (strstr(sig->frames[sig->nframes - 1].func, "main.main")) {
            assert_string_equal(sig->ignored_by, "built-in: net/http accept loop");
            assert_int_equal(sig->allowance, 1);
            assert_int_equal(lwa_snapshot_count(s, i), 2);
        } else if (!strcmp(f0, "main.hidden")) {
            /* not its frames but its creator (the runtime) */
            assert_null(sig->ignored_by);
            assert_int_equal(lwa_snapshot_count(s, i), 0);
        } else {
            assert_non_null(sig->ignored_by);
            assert_int_equal(lwa_snapshot_count(s, i), 0);
        }
    }
    lwa_snapshot_free(s);
    lwa_sigtab_free(t);

    /* without built-ins everything counts */
    lwa_ignore *none = lwa_ignore_new(false);
    s = take_with(none, &t, g, N(g), PPROF_FORMAT_DEBUG2);
    assert_int_equal(s->ignored, 0);
    assert_int_equal(lwa_snapshot_counted(s), 51);
    lwa_snapshot_free(s);
    lwa_sigtab_free(t);
    lwa_ignore_free(none);
    lwa_ignore_free(ig);
}

static void test_builtin_match_rules(void **state)
{
    (void)state;
    lwa_ignore *ig = lwa_ignore_new(true);
    lwa_ignore_match m;
    pprof_frame serve[2] = {{"net/http.(*Server).Serve", NULL, 0},
                            {"main.main", NULL, 0}};
    /* net/http.(*Server).Serve not parked in Accept is not the loop */
    assert_false(lwa_ignore_stack(ig, serve, 2, &m));
    pprof_frame user[2] = {{"main.testing", NULL, 0},
                           {"testing.tRunner", NULL, 0}};
    /* created by the test harness is not the harness */
    assert_false(lwa_ignore_stack(ig, user, 2, &m));
    assert_true(lwa_ignore_creator(ig, "runtime.gcenable", &m));
    assert_string_equal(m.rule, "built-in: runtime background goroutine");
    assert_false(lwa_ignore_creator(ig, "runtime.Gosched", &m));
    assert_false(lwa_ignore_creator(ig, "main.main", &m));
    assert_false(lwa_ignore_creator(ig, NULL, &m));
    /* an empty stack is nobody's */
    assert_true(lwa_ignore_stack(ig, NULL, 0, &m));
    lwa_ignore_free(ig);
    lwa_ignore_free(NULL);
}

static void test_user_rules(void **state)
{
    (void)state;
    lwa_ignore *ig = lwa_ignore_new(false);
    assert_int_equal(lwa_ignore_add(ig, LWA_IGNORE_TOP, "main.(*pool).worker"), 0);
    assert_int_equal(lwa_ignore_add(ig, LWA_IGNORE_TOP,
                                     "internal/poll.runtime_pollWait"), 0);
    assert_int_equal(lwa_ignore_add(ig, LWA_IGNORE_ANY,
                                     "go.opencensus.io/stats/view.*"), 0);
    assert_int_equal(lwa_ignore_add(ig, LWA_IGNORE_CREATED_BY,
                                     "database/sql.OpenDB"), 0);
    assert_int_equal(lwa_ignore_add(ig, LWA_IGNORE_TOP, ""), -1);
    assert_int_equal(lwa_ignore_add(ig, LWA_IGNORE_TOP, NULL), -1);

    const ts_gr g[] = {
        /* top function by goleak's definition (first frame Go prints) */
        {"internal/poll.runtime_pollWait;internal/poll.(*pollDesc).wait;"
         "net.(*conn).Read;main.reader", "IO wait", 2, 0, NULL, 0, NULL},
        /* top function as leakwatch shows it (innermost user frame) */
        {"runtime.gopark;sync.runtime_notifyListWait;sync.(*Cond).Wait;"
         "main.(*pool).worker;main.(*pool).start", NULL, 3, 0, NULL, 0, NULL},
        /* the same function deeper down is not the top */
        {"main.job;main.(*pool).worker", "select", 5, 0, NULL, 0, NULL},
        /* any frame, by prefix */
        {"time.Sleep;go.opencensus.io/stats/view.(*worker).start", "sleep", 7,
         0, NULL, 0, NULL},
        /* by creator */
        {"database/sql.(*DB).connectionOpener", "select", 11, 0,
         "database/sql.OpenDB", 0, NULL},
        {"database/sql.(*DB).connectionOpener;main.x", "select", 13, 0, NULL,
         0, NULL},
    };
    lwa_sigtab *t;
    lwa_snapshot *s = take_with(ig, &t, g, N(g), PPROF_FORMAT_DEBUG2);
    assert_int_equal(s->ignored, 2 + 3 + 7 + 11);
    assert_int_equal(lwa_snapshot_counted(s), 5 + 13);
    int named = 0;
    for (size_t i = 0; i < lwa_sigtab_size(t); i++) {
        const lwa_sig *sig = lwa_sigtab_at(t, i);
        if (sig->ignored_by && !strcmp(sig->ignored_by,
                                       "--ignore-any go.opencensus.io/stats/view.*"))
            named++;
    }
    assert_int_equal(named, 1);
    lwa_snapshot_free(s);
    lwa_sigtab_free(t);

    /* the creator rule cannot apply where the capture has no creator */
    const ts_gr no_creator[] = {
        {"database/sql.(*DB).connectionOpener", NULL, 11, 0, NULL, 0, NULL}};
    s = take_with(ig, &t, no_creator, 1, PPROF_FORMAT_DEBUG1);
    assert_int_equal(s->ignored, 0);
    lwa_snapshot_free(s);
    lwa_sigtab_free(t);
    lwa_ignore_free(ig);
}

static void test_ignored_growth_is_no_leak(void **state)
{
    (void)state;
    lwa_ignore *ig = lwa_ignore_new(true);
    assert_int_equal(lwa_ignore_add(ig, LWA_IGNORE_TOP, "main.cache"), 0);
    lwa_options o;
    lwa_options_default(&o);
    o.ignore = ig;
    lwa_sigtab *t = lwa_sigtab_new(&o);
    lwa_snapshot *s[5];
    for (int i = 0; i < 5; i++) {
        ts_gr g[] = {{"main.cache", "select", 10 + 50 * (uint64_t)i, 0, NULL, 0,
                   NULL},
                  {"main.idle", "select", 3, 0, NULL, 0, NULL}};
        pprof_profile *p = ts_build(PPROF_FORMAT_DEBUG2, PPROF_KIND_GOROUTINE, g, 2);
        s[i] = lwa_snapshot_take(t, p, "x");
        pprof_profile_free(p);
        lwa_snapshot_set_time(s[i], 60000LL * i);
    }
    lwa_report *r = lwa_analyze(t, (const lwa_snapshot *const *)s, 5, NULL,
                                NULL);
    assert_non_null(r);
    assert_int_equal(r->nfindings, 0);
    /* the process total still climbs: not silently "no-leak" */
    assert_int_equal(r->verdict, LWA_VERDICT_INCONCLUSIVE);
    lwa_report_free(r);
    for (int i = 0; i < 5; i++)
        lwa_snapshot_free(s[i]);
    lwa_sigtab_free(t);
    lwa_ignore_free(ig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtins),
        cmocka_unit_test(test_builtin_match_rules),
        cmocka_unit_test(test_user_rules),
        cmocka_unit_test(test_ignored_growth_is_no_leak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
