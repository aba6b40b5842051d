/*
 * test_pprof_leakmarks.c — Go 1.26's "(leaked)" marks in debug=2 dumps,
 * wherever the runtime prints them, read into PPROF_BF_LEAKED with the mark
 * gone from the wait reason: "[chan receive (leaked)]", "[select
 * (leaked)]", "[select (no cases) (leaked)]" (main.main parked on
 * select {}), with goroutine labels (GODEBUG=tracebacklabels=1), next to
 * reachable goroutines with blocked minutes, in the goroutineleak dump and
 * in a goroutine dump taken after it.  Recorded by hack/record-pasted.sh
 * (tests/fixtures/pasted/leakmarks-go1.26/); expectations are read off the
 * headers in the files.  Go 1.26 prints no minutes for a leaked goroutine
 * (traceback.go only does for waiting ones), so marks together with
 * minutes, "(scan)" and "locked to thread" are a hand-made case, labelled.
 *
 * Not for: using the mark as evidence (pkg/analysis).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "support.h"
#include "test_pprof_util.h"

#define LM "tests/fixtures/pasted/leakmarks-go1.26/"

typedef struct marks {
    uint64_t headers, leaked, leaked_labelled, minutes, no_cases_leaked;
} marks;

/* Counts read off the goroutine headers of a dump. */
static marks header_marks(const char *rel)
{
    char *path = tp_path(rel, 0);
    size_t len = 0;
    unsigned char *d = tp_read_path(path, &len);
    free(path);
    assert_non_null(d);
    marks m = {0};
    const char *s = (const char *)d, *end = s + len;
    for (const char *p = s; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        if (n > 10 && memcmp(p, "goroutine ", 10) == 0) {
            m.headers++;
            int leaked = memmem(p, n, " (leaked)", 9) != NULL;
            m.leaked += leaked;
            m.leaked_labelled += leaked && memmem(p, n, " labels:{", 9);
            m.minutes += memmem(p, n, " minutes", 8) != NULL;
            m.no_cases_leaked += memmem(p, n, "[select (no cases) (leaked)]", 28) != NULL;
        }
        p = le + 1;
    }
    free(d);
    return m;
}

static pprof_profile *parse(const char *rel)
{
    char *path = tp_path(rel, 0);
    char err[512];
    pprof_profile *p = pprof_parse_file(path, NULL, err, sizeof(err));
    if (!p)
        fprintf(stderr, "%s\n", err);
    free(path);
    assert_non_null(p);
    return p;
}

static void check_dump(const char *rel)
{
    marks m = header_marks(rel);
    pprof_profile *p = parse(rel);
    assert_int_equal(p->counted, m.headers);
    assert_int_equal(p->skipped_lines, 0);
    marks got = {0};
    for (size_t i = 0; i < p->nbuckets; i++) {
        const pprof_bucket *b = &p->buckets[i];
        int leaked = (b->flags & PPROF_BF_LEAKED) != 0;
        if (b->wait_reason)
            assert_null(strstr(b->wait_reason, "leaked"));
        got.leaked += leaked ? b->count : 0;
        got.leaked_labelled += leaked && b->labels ? b->count : 0;
        got.minutes += b->count - b->minutes_hist[0];
        if (leaked && b->wait_reason && strcmp(b->wait_reason, "select (no cases)") == 0) {
            got.no_cases_leaked += b->count;
            assert_true(b->nframes >= 1);
            assert_string_equal(b->frames[b->nframes - 1].func, "main.main");
        }
    }
    assert_int_equal(got.leaked, m.leaked);
    assert_int_equal(got.leaked_labelled, m.leaked_labelled);
    assert_int_equal(got.minutes, m.minutes);
    assert_int_equal(got.no_cases_leaked, m.no_cases_leaked);
    pprof_profile_free(p);
}

static void test_goroutineleak_dump(void **state)
{
    (void)state;
    marks m = header_marks(LM "goroutineleak.debug2.txt");
    /* What the recording is kept for. */
    assert_true(m.leaked >= 5);
    assert_true(m.leaked_labelled >= 2);
    assert_true(m.minutes >= 1);
    assert_int_equal(m.no_cases_leaked, 1);
    check_dump(LM "goroutineleak.debug2.txt");
    /* The labelled leak reads as its tenant. */
    pprof_profile *p = parse(LM "goroutineleak.debug2.txt");
    uint64_t acme = 0;
    for (size_t i = 0; i < p->nbuckets; i++)
        if ((p->buckets[i].flags & PPROF_BF_LEAKED) && p->buckets[i].labels &&
            strcmp(p->buckets[i].labels, "tenant=acme") == 0)
            acme += p->buckets[i].count;
    assert_int_equal(acme, 2);
    pprof_profile_free(p);
}

static void test_before_and_after(void **state)
{
    (void)state;
    marks before = header_marks(LM "before.debug2.txt");
    assert_int_equal(before.leaked, 0);
    check_dump(LM "before.debug2.txt");
    /* A goroutine dump taken after the leak profile keeps the marks. */
    marks after = header_marks(LM "after.debug2.txt");
    assert_int_equal(after.leaked, header_marks(LM "goroutineleak.debug2.txt").leaked);
    check_dump(LM "after.debug2.txt");
}

static void test_handmade_combinations(void **state)
{
    (void)state;
    /* Hand-made: every status part Go 1.26's goroutineheader can print
     * after a mark, in its order. */
    const char *dump =
        "goroutine 7 [chan receive (leaked), 5 minutes]:\n"
        "main.a()\n\t/x.go:1 +0x1\n\n"
        "goroutine 8 [select (no cases) (leaked) (scan), locked to thread "
        "labels:{\"tenant\": \"acme\"}]:\n"
        "main.main()\n\t/x.go:2 +0x1\n\n"
        "goroutine 9 [chan receive (nil chan) (leaked), 61 minutes]:\n"
        "main.b()\n\t/x.go:3 +0x1\n\n"
        "goroutine 10 [leaked (leaked)]:\n"
        "main.c()\n\t/x.go:4 +0x1\n";
    char err[256];
    pprof_profile *p = tp_parse_str(dump, err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(p->nbuckets, 4);
    const pprof_bucket *b = &p->buckets[0];
    assert_true(b->flags & PPROF_BF_LEAKED);
    assert_string_equal(b->wait_reason, "chan receive");
    assert_int_equal(b->minutes_max, 5);
    b = &p->buckets[1];
    assert_true(b->flags & PPROF_BF_LEAKED);
    assert_true(b->flags & PPROF_BF_LOCKED);
    assert_string_equal(b->wait_reason, "select (no cases)");
    assert_string_equal(b->labels, "tenant=acme");
    b = &p->buckets[2];
    assert_true(b->flags & PPROF_BF_LEAKED);
    assert_string_equal(b->wait_reason, "chan receive (nil chan)");
    assert_int_equal(b->minutes_max, 61);
    /* A leaked goroutine without a wait reason prints its status name,
     * then the mark. */
    b = &p->buckets[3];
    assert_true(b->flags & PPROF_BF_LEAKED);
    assert_string_equal(b->wait_reason, "leaked");
    pprof_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goroutineleak_dump),
        cmocka_unit_test(test_before_and_after),
        cmocka_unit_test(test_handmade_combinations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
