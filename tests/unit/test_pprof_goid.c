/*
 * test_pprof_goid.c — goroutine ids across two captures of one process:
 * pprof_profile.max_goid of the first passed as pprof_limits.goid_cutoff to
 * the second splits each bucket into goroutines that were already there
 * (pprof_bucket.old) and new ones.  On recorded pairs (tests/fixtures/
 * go1.26.8): a leaking stack keeps every goroutine it had and adds new
 * ones; a burst's goroutines are all new.  The stacks are picked by how
 * they grew between the captures, not by name.
 *
 * Not for: deciding leak from burst (pkg/analysis, the controller).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "support.h"
#include "test_pprof_util.h"

static pprof_profile *parse_fixture(const char *rel, uint64_t cutoff)
{
    char *path = tp_path(rel, 0);
    pprof_limits lim;
    pprof_limits_default(&lim);
    lim.goid_cutoff = cutoff;
    char err[512];
    pprof_profile *p = pprof_parse_file(path, &lim, err, sizeof(err));
    if (!p)
        fprintf(stderr, "%s\n", err);
    free(path);
    assert_non_null(p);
    return p;
}

static int same_stack(const pprof_bucket *a, const pprof_bucket *b)
{
    if (a->nframes != b->nframes || a->flags != b->flags ||
        (a->wait_reason == NULL) != (b->wait_reason == NULL) ||
        (a->wait_reason && strcmp(a->wait_reason, b->wait_reason) != 0) ||
        (a->labels == NULL) != (b->labels == NULL) ||
        (a->labels && strcmp(a->labels, b->labels) != 0))
        return 0;
    for (uint32_t i = 0; i < a->nframes; i++)
        if (strcmp(a->frames[i].func, b->frames[i].func) != 0 ||
            a->frames[i].line != b->frames[i].line)
            return 0;
    return 1;
}

/* How many goroutines p has in b's stack (0 when none). */
static uint64_t count_in(const pprof_profile *p, const pprof_bucket *b)
{
    uint64_t n = 0;
    for (size_t i = 0; i < p->nbuckets; i++)
        if (same_stack(&p->buckets[i], b))
            n += p->buckets[i].count;
    return n;
}

/* The bucket of `later` that grew most since `earlier`. */
static const pprof_bucket *most_grown(const pprof_profile *earlier,
                                      const pprof_profile *later,
                                      uint64_t *before)
{
    const pprof_bucket *best = NULL;
    uint64_t best_growth = 0;
    for (size_t i = 0; i < later->nbuckets; i++) {
        const pprof_bucket *b = &later->buckets[i];
        uint64_t n = count_in(earlier, b);
        if (b->count > n && b->count - n > best_growth) {
            best_growth = b->count - n;
            best = b;
            *before = n;
        }
    }
    assert_non_null(best);
    return best;
}

static void test_max_goid(void **state)
{
    (void)state;
    pprof_profile *p = parse_fixture("tests/fixtures/go1.26.8/chan-send/01.debug2.txt", 0);
    assert_true(p->has_goids);
    assert_true(p->max_goid > 1);
    /* The cutoff is off: nothing is old. */
    for (size_t i = 0; i < p->nbuckets; i++)
        assert_int_equal(p->buckets[i].old, 0);
    /* With the dump's own maximum as cutoff, every goroutine is old. */
    pprof_profile *q = parse_fixture("tests/fixtures/go1.26.8/chan-send/01.debug2.txt",
                                     p->max_goid);
    for (size_t i = 0; i < q->nbuckets; i++)
        assert_int_equal(q->buckets[i].old, q->buckets[i].count);
    assert_int_equal(q->max_goid, p->max_goid);
    pprof_profile_free(q);
    pprof_profile_free(p);
    /* Formats without ids say so, and count nothing as old. */
    const char *noids[] = {"tests/fixtures/go1.26.8/chan-send/02.debug1.txt",
                           "tests/fixtures/go1.26.8/chan-send/02.pb.gz"};
    for (size_t k = 0; k < 2; k++) {
        p = parse_fixture(noids[k], 1000000);
        assert_false(p->has_goids);
        assert_int_equal(p->max_goid, 0);
        for (size_t i = 0; i < p->nbuckets; i++)
            assert_int_equal(p->buckets[i].old, 0);
        pprof_profile_free(p);
    }
}

static void test_leak_keeps_old_goroutines(void **state)
{
    (void)state;
    pprof_profile *a = parse_fixture("tests/fixtures/go1.26.8/chan-send/02.debug2.txt", 0);
    pprof_profile *b = parse_fixture("tests/fixtures/go1.26.8/chan-send/03.debug2.txt",
                                     a->max_goid);
    uint64_t before = 0;
    const pprof_bucket *leak = most_grown(a, b, &before);
    /* A leaked goroutine never exits: all of them are still there... */
    assert_true(before > 0);
    assert_int_equal(leak->old, before);
    /* ...and most of the stack is old, the rest new since capture 1. */
    assert_true(leak->old * 2 > leak->count);
    assert_true(leak->count > leak->old);
    pprof_profile_free(b);
    pprof_profile_free(a);
}

static void test_burst_is_new(void **state)
{
    (void)state;
    /* burst: snapshot 2 lands mid-burst, 1 on the baseline. */
    pprof_profile *a = parse_fixture("tests/fixtures/go1.26.8/burst/01.debug2.txt", 0);
    pprof_profile *b = parse_fixture("tests/fixtures/go1.26.8/burst/02.debug2.txt",
                                     a->max_goid);
    uint64_t before = 0;
    const pprof_bucket *burst = most_grown(a, b, &before);
    assert_true(burst->count >= 50);
    assert_int_equal(burst->old, 0);
    /* The long-lived goroutines of capture 1 are old in capture 2. */
    uint64_t old = 0;
    for (size_t i = 0; i < b->nbuckets; i++)
        old += b->buckets[i].old;
    assert_true(old > 0);
    assert_true(old <= a->counted);
    pprof_profile_free(b);
    pprof_profile_free(a);
}

static void test_builder_merges_old(void **state)
{
    (void)state;
    pprof_builder *bd = pprof_builder_new(NULL);
    pprof_frame f = {"main.f", "main.go", 3};
    pprof_sample s = {&f, 1, 0, "select", 0, {NULL, NULL, 0}, NULL, 4, 3};
    assert_int_equal(pprof_builder_add(bd, &s), 0);
    s.count = 2;
    s.old = 5; /* more than count: at most count */
    assert_int_equal(pprof_builder_add(bd, &s), 0);
    pprof_profile *p = pprof_builder_finish(bd, PPROF_FORMAT_DEBUG2,
                                            PPROF_KIND_GOROUTINE, 0);
    assert_int_equal(p->nbuckets, 1);
    assert_int_equal(p->buckets[0].count, 6);
    assert_int_equal(p->buckets[0].old, 5);
    pprof_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_goid),
        cmocka_unit_test(test_leak_keeps_old_goroutines),
        cmocka_unit_test(test_burst_is_new),
        cmocka_unit_test(test_builder_merges_old),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
