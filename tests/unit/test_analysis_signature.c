/*
 * test_analysis_signature.c — signatures (lwa_sigtab.c) and snapshots
 * (lwa_snapshot.c): one stack seen through debug=1, debug=2 and protobuf
 * is one signature; keys follow the options; what a later capture knows
 * improves what the table says; counts, blocked minutes and leak marks
 * land where they belong.
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

/* The chan-send fixture's leaking stack in its three forms. */
static const ts_gr as_debug2[] = {
    {"main.(*fetcher).gather.func1@leakwatch.dev/targets/chansend.go:40",
     "chan send", 202, 0, "main.(*fetcher).gather", 0, NULL},
};
static const ts_gr as_debug1[] = {
    {"main.(*fetcher).gather.func1@leakwatch.dev/targets/chansend.go:40",
     NULL, 190, 0, NULL, 0, NULL},
};
static const ts_gr as_proto[] = {
    {"runtime.gopark@runtime/proc.go:462;runtime.chansend@runtime/chan.go:283;"
     "runtime.chansend1@runtime/chan.go:161;"
     "main.(*fetcher).gather.func1@leakwatch.dev/targets/chansend.go:40;"
     "runtime.goexit@runtime/asm_amd64.s:1700",
     NULL, 180, 0, NULL, 0, NULL},
};

static void test_formats_share_signature(void **state)
{
    (void)state;
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    assert_non_null(t);
    lwa_snapshot *a = ts_take(t, PPROF_FORMAT_DEBUG1, as_debug1, 1);
    assert_int_equal(lwa_sigtab_size(t), 1);
    const lwa_sig *s = lwa_sigtab_at(t, 0);
    uint64_t id = s->id;
    /* debug=1 alone cannot say it is a channel send */
    assert_int_equal(s->pattern, LWA_PATTERN_UNKNOWN);

    lwa_snapshot *b = ts_take(t, PPROF_FORMAT_PROTO, as_proto, 1);
    /* protobuf's runtime frames name the wait */
    assert_int_equal(s->pattern, LWA_PATTERN_CHAN_SEND);
    assert_null(s->created_by.func);
    lwa_snapshot *c = ts_take(t, PPROF_FORMAT_DEBUG2, as_debug2, 1);
    assert_int_equal(lwa_sigtab_size(t), 1);
    s = lwa_sigtab_at(t, 0);
    assert_int_equal(s->id, id);
    assert_ptr_equal(lwa_sigtab_find(t, id), s);
    assert_null(lwa_sigtab_find(t, id + 1));
    assert_int_equal(lwa_snapshot_count(a, 0), 190);
    assert_int_equal(lwa_snapshot_count(b, 0), 180);
    assert_int_equal(lwa_snapshot_count(c, 0), 202);
    /* the debug=2 capture knew the reason and the creator */
    assert_int_equal(s->pattern, LWA_PATTERN_CHAN_SEND);
    assert_string_equal(s->wait_reason, "chan send");
    assert_false(s->reason_inferred);
    assert_string_equal(s->created_by.func, "main.(*fetcher).gather");
    assert_string_equal(s->frames[s->shown].func,
                        "main.(*fetcher).gather.func1");
    assert_string_equal(s->frames[s->shown].file,
                        "leakwatch.dev/targets/chansend.go");
    assert_int_equal(s->frames[s->shown].line, 40);
    lwa_snapshot_free(a);
    lwa_snapshot_free(b);
    lwa_snapshot_free(c);
    lwa_sigtab_free(t);
}

/* The parser hides runtime frames in protobuf (as Go's text formats do)
 * after inferring the reason from them: the same frames as debug=1, plus a
 * reason that must win over debug=1's nothing. */
static void test_inferred_reason_beats_none(void **state)
{
    (void)state;
    static const ts_gr hidden[] = {
        {"main.(*fetcher).gather.func1@leakwatch.dev/targets/chansend.go:40",
         "chan send", 180, 0, NULL, 0, NULL},
    };
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    lwa_snapshot *a = ts_take(t, PPROF_FORMAT_DEBUG1, as_debug1, 1);
    assert_int_equal(lwa_sigtab_at(t, 0)->pattern, LWA_PATTERN_UNKNOWN);
    /* the public builder takes a given reason as printed; mark it the way
     * the protobuf parser does */
    pprof_profile *p = ts_build(PPROF_FORMAT_PROTO, PPROF_KIND_GOROUTINE, hidden, 1);
    p->buckets[0].flags |= PPROF_BF_WAIT_INFERRED;
    lwa_snapshot *b = lwa_snapshot_take(t, p, "proto");
    pprof_profile_free(p);
    assert_non_null(b);
    const lwa_sig *s = lwa_sigtab_at(t, 0);
    assert_int_equal(lwa_sigtab_size(t), 1);
    assert_int_equal(s->pattern, LWA_PATTERN_CHAN_SEND);
    assert_true(s->reason_inferred);
    /* and a later debug=1 capture does not take it away */
    lwa_snapshot *c = ts_take(t, PPROF_FORMAT_DEBUG1, as_debug1, 1);
    assert_int_equal(s->pattern, LWA_PATTERN_CHAN_SEND);
    /* a transient state is the weakest evidence of all */
    static const ts_gr running[] = {
        {"main.(*fetcher).gather.func1@leakwatch.dev/targets/chansend.go:40",
         "runnable", 1, 0, NULL, 0, NULL},
    };
    lwa_snapshot *d = ts_take(t, PPROF_FORMAT_DEBUG2, running, 1);
    assert_string_equal(s->wait_reason, "chan send");
    lwa_snapshot_free(a);
    lwa_snapshot_free(b);
    lwa_snapshot_free(c);
    lwa_snapshot_free(d);
    lwa_sigtab_free(t);
}

static void test_proto_frames_tell_the_reason(void **state)
{
    (void)state;
    /* A protobuf capture alone (runtime frames intact) is classified from
     * them, and shows the user frame first. */
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    lwa_snapshot *a = ts_take(t, PPROF_FORMAT_PROTO, as_proto, 1);
    const lwa_sig *s = lwa_sigtab_at(t, 0);
    assert_int_equal(s->pattern, LWA_PATTERN_CHAN_SEND);
    assert_string_equal(s->wait_reason, "chan send");
    assert_true(s->reason_inferred);
    assert_string_equal(s->frames[s->shown].func,
                        "main.(*fetcher).gather.func1");
    lwa_snapshot_free(a);
    lwa_sigtab_free(t);

    /* Without folding, the first frame shown is the first one captured. */
    lwa_options o;
    lwa_options_default(&o);
    o.fold_runtime = false;
    t = lwa_sigtab_new(&o);
    a = ts_take(t, PPROF_FORMAT_PROTO, as_proto, 1);
    s = lwa_sigtab_at(t, 0);
    assert_int_equal(s->shown, 0);
    assert_string_equal(s->frames[0].func, "runtime.gopark");
    lwa_snapshot_free(a);
    lwa_sigtab_free(t);
}

static void test_file_line_option(void **state)
{
    (void)state;
    static const ts_gr g[] = {
        {"main.worker@w.go:10;main.run@r.go:5", "chan send", 3, 0, NULL, 0, NULL},
        {"main.worker@w.go:22;main.run@r.go:5", "chan receive", 4, 0, NULL, 0, NULL},
        {"main.worker@w.go:10;main.run@r.go:7", "chan send", 5, 0, NULL, 0, NULL},
    };
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    lwa_snapshot *s = ts_take(t, PPROF_FORMAT_DEBUG2, g, N(g));
    /* by function: one stack */
    assert_int_equal(lwa_sigtab_size(t), 1);
    assert_int_equal(lwa_snapshot_count(s, 0), 12);
    lwa_snapshot_free(s);
    lwa_sigtab_free(t);

    lwa_options o;
    lwa_options_default(&o);
    o.file_line = true;
    t = lwa_sigtab_new(&o);
    s = ts_take(t, PPROF_FORMAT_DEBUG2, g, N(g));
    assert_int_equal(lwa_sigtab_size(t), 3);
    uint64_t sum = 0;
    for (size_t i = 0; i < 3; i++) {
        sum += lwa_snapshot_count(s, i);
        for (size_t j = 0; j < i; j++)
            assert_true(lwa_sigtab_at(t, i)->id != lwa_sigtab_at(t, j)->id);
    }
    assert_int_equal(sum, 12);
    lwa_snapshot_free(s);
    lwa_sigtab_free(t);
}

static void test_labels_and_creator_not_in_key(void **state)
{
    (void)state;
    static const ts_gr g[] = {
        {"main.handle;main.serve", "select", 2, 0, "main.a", 0, "route=/x"},
        {"main.handle;main.serve", "select", 3, 0, "main.b", 0, "route=/y"},
        {"main.handle;main.serve", "select", 5, 0, NULL, 0, NULL},
        {"main.other;main.serve", "select", 1, 0, NULL, 0, NULL},
    };
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    lwa_snapshot *s = ts_take(t, PPROF_FORMAT_DEBUG2, g, N(g));
    assert_int_equal(lwa_sigtab_size(t), 2);
    const lwa_sig *h = lwa_sigtab_at(t, 0);
    assert_string_equal(h->frames[0].func, "main.handle");
    assert_int_equal(lwa_snapshot_count(s, h->index), 10);
    assert_int_equal(lwa_snapshot_counted(s), 11);
    assert_int_equal(lwa_snapshot_unique(s), 2);
    assert_int_equal(s->total, 11);
    /* the first creator seen is kept */
    assert_string_equal(h->created_by.func, "main.a");
    lwa_snapshot_free(s);
    lwa_sigtab_free(t);
}

static void test_runtime_only_stacks_stay_apart(void **state)
{
    (void)state;
    /* Stacks with nothing but runtime internals key on all their frames
     * rather than all collapsing into one empty key. */
    static const ts_gr g[] = {
        {"runtime.gopark;runtime.bgsweep", NULL, 1, 0, NULL, 0, NULL},
        {"runtime.gopark;runtime.bgscavenge", NULL, 1, 0, NULL, 0, NULL},
        {"runtime.gopark;runtime.forcegchelper", NULL, 1, 0, NULL, 0, NULL},
    };
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    lwa_snapshot *s = ts_take(t, PPROF_FORMAT_PROTO, g, N(g));
    assert_int_equal(lwa_sigtab_size(t), 3);
    lwa_snapshot_free(s);
    lwa_sigtab_free(t);
}

static void test_many_distinct_ids(void **state)
{
    (void)state;
    /* 2,000 stacks that differ in one name or in frame order */
    pprof_limits lim;
    pprof_limits_default(&lim);
    pprof_builder *b = pprof_builder_new(&lim);
    for (int i = 0; i < 1000; i++) {
        char f1[32], f2[32];
        snprintf(f1, sizeof(f1), "main.w%d", i);
        snprintf(f2, sizeof(f2), "main.v%d", i);
        pprof_frame ab[2] = {{f1, NULL, 0}, {f2, NULL, 0}};
        pprof_frame ba[2] = {{f2, NULL, 0}, {f1, NULL, 0}};
        pprof_sample s1 = {ab, 2, 0, "select", 0, {NULL, NULL, 0}, NULL, 1};
        pprof_sample s2 = {ba, 2, 0, "select", 0, {NULL, NULL, 0}, NULL, 2};
        assert_int_equal(pprof_builder_add(b, &s1), 0);
        assert_int_equal(pprof_builder_add(b, &s2), 0);
    }
    pprof_profile *p = pprof_builder_finish(b, PPROF_FORMAT_DEBUG2,
                                            PPROF_KIND_GOROUTINE, 0);
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    lwa_snapshot *s = lwa_snapshot_take(t, p, "many");
    pprof_profile_free(p);
    assert_int_equal(lwa_sigtab_size(t), 2000);
    for (size_t i = 0; i < 2000; i++) {
        const lwa_sig *g = lwa_sigtab_at(t, i);
        assert_int_equal(g->index, i);
        assert_ptr_equal(lwa_sigtab_find(t, g->id), g);
        assert_int_equal(lwa_snapshot_count(s, i),
                         !strncmp(g->frames[0].func, "main.w", 6) ? 1 : 2);
    }
    assert_int_equal(lwa_snapshot_counted(s), 3000);
    lwa_snapshot_free(s);
    lwa_sigtab_free(t);
}

static void test_strings_are_interned_copies(void **state)
{
    (void)state;
    static const ts_gr g[] = {
        {"main.leaf;main.shared", "select", 1, 0, NULL, 0, NULL},
        {"main.other;main.shared", "select", 1, 0, NULL, 0, NULL},
    };
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    lwa_snapshot *s = ts_take(t, PPROF_FORMAT_DEBUG2, g, N(g));
    /* the profile is gone; the table's strings are its own, shared */
    const lwa_sig *a = lwa_sigtab_at(t, 0), *b = lwa_sigtab_at(t, 1);
    assert_string_equal(a->frames[1].func, "main.shared");
    assert_ptr_equal(a->frames[1].func, b->frames[1].func);
    assert_ptr_equal(a->wait_reason, b->wait_reason);
    lwa_snapshot_free(s);
    lwa_sigtab_free(t);
}

static void test_minutes_and_time(void **state)
{
    (void)state;
    static const ts_gr g[] = {
        {"main.stuck", "chan receive", 10, 0, NULL, 0, NULL},
        {"main.stuck", "chan receive", 5, 3, NULL, 0, NULL},
        {"main.stuck", "chan receive", 2, 45, NULL, 0, NULL},
        {"main.fresh", "select", 4, 0, NULL, 0, NULL},
    };
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    pprof_profile *p = ts_build(PPROF_FORMAT_DEBUG2, PPROF_KIND_GOROUTINE, g,
                             N(g));
    p->time_unix_nanos = 1795407866300LL * 1000000;
    lwa_snapshot *s = lwa_snapshot_take(t, p, "dump.txt");
    pprof_profile_free(p);
    assert_true(s->has_time);
    assert_int_equal(s->time_ms, 1795407866300LL);
    assert_string_equal(s->name, "dump.txt");
    assert_int_equal(s->format, PPROF_FORMAT_DEBUG2);
    const lwa_minutes *m = lwa_snapshot_minutes(s, 0);
    assert_non_null(m);
    assert_int_equal(m->max, 45);
    assert_int_equal(m->hist[0], 10);
    assert_int_equal(m->hist[pprof_minutes_bin(3)], 5);
    assert_int_equal(m->hist[pprof_minutes_bin(45)], 2);
    m = lwa_snapshot_minutes(s, 1);
    assert_non_null(m);
    assert_int_equal(m->max, 0);
    /* out of range and absent signatures */
    assert_null(lwa_snapshot_minutes(s, 99));
    assert_int_equal(lwa_snapshot_count(s, 99), 0);
    lwa_snapshot_set_time(s, 5);
    assert_int_equal(s->time_ms, 5);
    lwa_snapshot_free(s);

    /* debug=1 carries no minutes: unknown, not zero */
    s = ts_take(t, PPROF_FORMAT_DEBUG1, g, N(g));
    assert_null(s->minutes);
    assert_null(lwa_snapshot_minutes(s, 0));
    assert_false(s->has_time);
    lwa_snapshot_free(s);
    lwa_sigtab_free(t);
}

static void test_leak_marks(void **state)
{
    (void)state;
    static const ts_gr dump[] = {
        {"main.(*fetcher).gather.func1", "chan send", 160, 0, NULL,
         PPROF_BF_LEAKED, NULL},
        {"main.(*fetcher).gather.func1", "chan send", 46, 0, NULL, 0, NULL},
        {"main.drive", "chan receive", 1, 0, NULL, 0, NULL},
    };
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    lwa_snapshot *s = ts_take(t, PPROF_FORMAT_DEBUG2, dump, N(dump));
    assert_non_null(s->leaked);
    assert_int_equal(lwa_snapshot_count(s, 0), 206);
    assert_int_equal(lwa_snapshot_leaked(s, 0), 160);
    assert_int_equal(lwa_snapshot_leaked(s, 1), 0);
    lwa_snapshot_free(s);

    /* a goroutineleak profile in debug=1 lists only leaked goroutines */
    static const ts_gr leakprof[] = {
        {"main.(*fetcher).gather.func1", NULL, 210, 0, NULL, 0, NULL},
    };
    pprof_profile *p = ts_build(PPROF_FORMAT_DEBUG1, PPROF_KIND_GOROUTINELEAK,
                             leakprof, 1);
    s = lwa_snapshot_take(t, p, "leak");
    pprof_profile_free(p);
    assert_int_equal(s->kind, PPROF_KIND_GOROUTINELEAK);
    assert_int_equal(lwa_snapshot_leaked(s, 0), 210);
    lwa_snapshot_free(s);

    /* a regular profile says nothing about leaks */
    s = ts_take(t, PPROF_FORMAT_DEBUG1, leakprof, 1);
    assert_null(s->leaked);
    assert_int_equal(lwa_snapshot_leaked(s, 0), 0);
    lwa_snapshot_free(s);
    lwa_sigtab_free(t);
}

static void test_empty_profile(void **state)
{
    (void)state;
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    pprof_profile *p = ts_build(PPROF_FORMAT_DEBUG1, PPROF_KIND_GOROUTINE, NULL, 0);
    lwa_snapshot *s = lwa_snapshot_take(t, p, "empty");
    pprof_profile_free(p);
    assert_non_null(s);
    assert_int_equal(lwa_snapshot_counted(s), 0);
    assert_int_equal(lwa_snapshot_unique(s), 0);
    assert_int_equal(lwa_sigtab_size(t), 0);
    assert_null(lwa_sigtab_at(t, 0));
    lwa_snapshot_free(s);
    lwa_sigtab_free(t);
    lwa_snapshot_free(NULL);
    lwa_sigtab_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_share_signature),
        cmocka_unit_test(test_inferred_reason_beats_none),
        cmocka_unit_test(test_proto_frames_tell_the_reason),
        cmocka_unit_test(test_file_line_option),
        cmocka_unit_test(test_labels_and_creator_not_in_key),
        cmocka_unit_test(test_runtime_only_stacks_stay_apart),
        cmocka_unit_test(test_many_distinct_ids),
        cmocka_unit_test(test_strings_are_interned_copies),
        cmocka_unit_test(test_minutes_and_time),
        cmocka_unit_test(test_leak_marks),
        cmocka_unit_test(test_empty_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
