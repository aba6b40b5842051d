/*
 * test_ctl_episode.c — a suspicion episode judged over its whole series of
 * real captures (recorded from tests/targets): a leak is called over three
 * captures, a process whose bursts come and go is not, the series slides
 * past CTL_EPISODE_MAX keeping where it began, and bad bytes are an error,
 * not a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "controller/ctl_episode.h"

static unsigned char *read_fixture(const char *rel, size_t *len)
{
    const char *root = getenv("LW_ROOT");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/fixtures/%s",
             root && *root ? root : ".", rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("fixture %s is missing", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Feeds <dir>/01..<n>.debug2.txt 12 s apart, as the controller would. */
static ctl_episode *feed(const lwa_options *o, const char *dir, int n)
{
    ctl_episode *e = ctl_episode_new(o);
    assert_non_null(e);
    for (int i = 1; i <= n; i++) {
        char rel[256], err[512];
        snprintf(rel, sizeof(rel), "%s/%02d.debug2.txt", dir, i);
        size_t len;
        unsigned char *raw = read_fixture(rel, &len);
        assert_int_equal(ctl_episode_add(e, raw, len, "txt",
                                         1800000000000 + (int64_t)i * 12000,
                                         "pod-a", err, sizeof(err)), 0);
    }
    return e;
}

/* What the controller asks: thresholds without the relative test. */
static lwa_report *judge(const ctl_episode *e)
{
    lwa_thresholds th;
    lwa_thresholds_default(&th);
    th.min_relative = 0;
    return ctl_episode_analyze(e, NULL, &th);
}

static void test_leak_is_called_over_three_captures(void **state)
{
    (void)state;
    lwa_options o;
    lwa_options_default(&o);
    ctl_episode *e = feed(&o, "go1.26.8/chan-send", 3);
    assert_int_equal(ctl_episode_captures(e), 3);
    lwa_report *r = judge(e);
    assert_non_null(r);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_true(r->nfindings >= 1);
    assert_int_equal(r->findings[0].status, LWA_STATUS_LEAK);
    assert_string_equal(lwa_pattern_name(r->findings[0].sig->pattern), "chan-send");
    /* Chained by goroutine id: the leaked goroutines are known to stay. */
    assert_true(r->findings[0].has_ids);
    assert_true(r->findings[0].persisted > 0.9);
    lwa_report_free(r);
    /* Evidence of last resort: the first and the latest capture, the
     * debug=2 text kept gzip-compressed. */
    assert_non_null(ctl_episode_first(e)->raw);
    assert_non_null(ctl_episode_last(e)->raw);
    assert_string_equal(ctl_episode_last(e)->ext, "txt.gz");
    assert_int_equal(ctl_episode_last(e)->raw[0], 0x1f);
    assert_int_equal(ctl_episode_last(e)->raw[1], 0x8b);
    size_t len;
    unsigned char *orig = read_fixture("go1.26.8/chan-send/03.debug2.txt", &len);
    assert_true(ctl_episode_last(e)->len * 4 < len);
    /* ...and it still reads as the same capture. */
    char err[256];
    pprof_profile *back = pprof_parse_buffer(ctl_episode_last(e)->raw,
                                             ctl_episode_last(e)->len, "kept",
                                             NULL, err, sizeof(err));
    pprof_profile *want = pprof_parse_buffer(orig, len, "orig", NULL, err, sizeof(err));
    assert_non_null(back);
    assert_non_null(want);
    assert_int_equal(back->total, want->total);
    pprof_profile_free(back);
    pprof_profile_free(want);
    free(orig);
    assert_true(ctl_episode_last(e)->t_ms > ctl_episode_first(e)->t_ms);
    ctl_episode_free(e);
}

static void test_bursts_that_come_and_go_are_not_called(void **state)
{
    (void)state;
    lwa_options o;
    lwa_options_default(&o);
    ctl_episode *e = feed(&o, "go1.26.8/burst", 5);
    lwa_report *r = judge(e);
    assert_non_null(r);
    for (size_t i = 0; i < r->nfindings; i++)
        assert_int_not_equal(r->findings[i].status, LWA_STATUS_LEAK);

    assert_int_not_equal(r->verdict, LWA_VERDICT_LEAK);
    lwa_report_free(r);
    ctl_episode_free(e);
}

/* A service's background of short slow requests (tests/targets/catalog):
 * bursts caught in flight at every capture, 6 to 45 of them, never the
 * same goroutines twice.  Known by id as churn, never a leak. */
static void test_requests_in_flight_are_churn_by_id(void **state)
{
    (void)state;
    lwa_options o;
    lwa_options_default(&o);
    ctl_episode *e = feed(&o, "catalog-go1.26.8/keepalive-pool", 5);
    lwa_report *r = judge(e);
    assert_non_null(r);
    assert_int_not_equal(r->verdict, LWA_VERDICT_LEAK);
    bool churn_seen = false;
    for (size_t i = 0; i < r->ndismissed; i++) {
        const lwa_finding *f = &r->dismissed[i];
        const lwa_sig *sg = f->sig;
        const char *fn = sg->nframes ? sg->frames[sg->shown].func : "";
        if (fn && strstr(fn, "generate")) {
            assert_true(f->has_ids);
            assert_true(f->persisted < 0.2);
            churn_seen = true;
        }
    }
    for (size_t i = 0; i < r->nfindings; i++) {
        const lwa_sig *sg = r->findings[i].sig;
        const char *fn = sg->nframes ? sg->frames[sg->shown].func : "";
        if (fn && strstr(fn, "generate")) {
            assert_true(r->findings[i].has_ids);
            assert_true(r->findings[i].persisted < 0.2);
            churn_seen = true;
        }
    }
    assert_true(churn_seen);
    lwa_report_free(r);
    ctl_episode_free(e);
}

static void test_series_slides_and_keeps_its_start(void **state)
{
    (void)state;
    lwa_options o;
    lwa_options_default(&o);
    ctl_episode *e = ctl_episode_new(&o);
    assert_non_null(e);
    int64_t t0 = 1800000000000;
    for (int i = 0; i < CTL_EPISODE_MAX + 4; i++) {
        char rel[128], err[512];
        snprintf(rel, sizeof(rel), "go1.26.8/chan-send/%02d.debug2.txt", i % 5 + 1);
        size_t len;
        unsigned char *raw = read_fixture(rel, &len);
        assert_int_equal(ctl_episode_add(e, raw, len, "txt", t0 + i * 1000,
                                         "pod-a", err, sizeof(err)), 0);
    }
    assert_int_equal(ctl_episode_captures(e), CTL_EPISODE_MAX);
    assert_true(ctl_episode_first(e)->t_ms == t0);
    assert_true(ctl_episode_last(e)->t_ms == t0 + (CTL_EPISODE_MAX + 3) * 1000);
    ctl_episode_free(e);
}

static void test_garbage_is_an_error_not_a_crash(void **state)
{
    (void)state;
    lwa_options o;
    lwa_options_default(&o);
    ctl_episode *e = ctl_episode_new(&o);
    assert_non_null(e);
    const char junk[] = "\x1f\x8b\x08\x00garbage that claims to be gzip";
    unsigned char *raw = malloc(sizeof(junk));
    assert_non_null(raw);
    memcpy(raw, junk, sizeof(junk));
    char err[512] = "";
    assert_int_equal(ctl_episode_add(e, raw, sizeof(junk), "pb.gz", 1, "pod-a",
                                     err, sizeof(err)), -1);
    assert_non_null(strstr(err, "pod-a"));
    assert_int_equal(ctl_episode_captures(e), 0);
    assert_null(ctl_episode_analyze(e, NULL, NULL));
    ctl_episode_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leak_is_called_over_three_captures),
        cmocka_unit_test(test_bursts_that_come_and_go_are_not_called),
        cmocka_unit_test(test_requests_in_flight_are_churn_by_id),
        cmocka_unit_test(test_series_slides_and_keeps_its_start),
        cmocka_unit_test(test_garbage_is_an_error_not_a_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
