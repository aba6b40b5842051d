/*
 * test_ctl_story.c — a workload's story from finding to verified fix:
 * opened once, restarts counted and never a fix, a newer revision watched
 * over a window at least as long as the finding's, "still grows" moves the
 * story to that revision, under half the load watches again, and the
 * sentences say revision, images, counts and request rates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "controller/ctl_story.h"

#define MIN 60000

static kube_owner orders(void)
{
    kube_owner o;
    memset(&o, 0, sizeof(o));
    snprintf(o.kind, sizeof(o.kind), "Deployment");
    snprintf(o.name, sizeof(o.name), "orders");
    snprintf(o.uid, sizeof(o.uid), "dep-uid");
    return o;
}

static const char *FUNC = "main.(*fetcher).gather.func1";

/* A story found in revision 7 growing 340/min over 4 minutes at 4 req/s. */
static ctl_stories *opened(double req_per_s)
{
    ctl_stories *s = ctl_stories_new(1 * MIN);
    assert_non_null(s);
    kube_owner o = orders();
    ctl_story_facts f = {.ns = "shop", .owner = &o, .func = FUNC,
                         .pattern = "chan-send", .revision = 7,
                         .images = "orders:1.4.2", .per_minute = 340,
                         .span_ms = 4 * MIN, .req_per_s = req_per_s};
    assert_true(ctl_stories_open(s, &f, 0));
    assert_false(ctl_stories_open(s, &f, 1)); /* one story per stack */
    return s;
}

static ctl_verify_outcome see(ctl_stories *s, const char *pod, long rev,
                              int restarts, int64_t count, double requests,
                              int64_t t, ctl_verify_result *r)
{
    ctl_verify_obs o = {.owner_uid = "dep-uid", .func = FUNC, .pod_uid = pod,
                        .pod_name = pod, .revision = rev,
                        .images = rev == 8 ? "orders:1.4.3" : "orders:1.4.4",
                        .restarts = restarts, .count = count,
                        .requests = requests, .t_ms = t};
    return ctl_stories_observe(s, &o, r);
}

static void expect_in(const char *msg, const char *needle)
{
    if (!strstr(msg, needle))
        fail_msg("\"%s\" lacks \"%s\"", msg, needle);
}

static void test_restart_is_not_a_fix(void **state)
{
    (void)state;
    ctl_stories *s = opened(4);
    ctl_verify_result r;
    char func[512];
    assert_int_equal(ctl_stories_pod_gone(s, "dep-uid", FUNC, 7), 1);
    assert_int_equal(ctl_stories_pod_gone(s, "dep-uid", FUNC, 7), 2);
    /* Pods of the same revision: never watched, never a verdict. */
    assert_false(ctl_stories_wants(s, "dep-uid", "p7", 7, 10 * MIN, func, sizeof(func)));
    assert_int_equal(see(s, "p7", 7, 0, 0, 0, 0, &r), CTL_VERIFY_NONE);
    assert_int_equal(see(s, "p7", 7, 0, 2, 9999, 30 * MIN, &r), CTL_VERIFY_NONE);
    /* Nor an unknown revision. */
    assert_false(ctl_stories_wants(s, "dep-uid", "px", -1, 0, func, sizeof(func)));
    assert_true(ctl_stories_is_open(s, "dep-uid", FUNC));
    assert_int_equal(ctl_stories_pod_gone(s, "other", FUNC, 7), -1);
    ctl_stories_free(s);
}

static void test_fixed_after_a_window_as_long_as_the_finding(void **state)
{
    (void)state;
    ctl_stories *s = opened(4);
    ctl_verify_result r;
    char func[512];
    ctl_stories_pod_gone(s, "dep-uid", FUNC, 7);
    assert_true(ctl_stories_wants(s, "dep-uid", "p8", 8, 0, func, sizeof(func)));
    assert_string_equal(func, FUNC);
    assert_int_equal(see(s, "p8", 8, 0, 0, 1000, 0, &r), CTL_VERIFY_WATCHING);
    /* The finding's window was 4 minutes: 3 are not enough. */
    assert_false(ctl_stories_wants(s, "dep-uid", "p8", 8, 3 * MIN, func, sizeof(func)));
    /* Another pod of revision 8 is not wanted while p8 is sampled. */
    assert_false(ctl_stories_wants(s, "dep-uid", "q8", 8, 3 * MIN + 5000, func, sizeof(func)));
    assert_int_equal(see(s, "p8", 8, 0, 1, 1720, 3 * MIN, &r), CTL_VERIFY_WATCHING);
    assert_true(ctl_stories_wants(s, "dep-uid", "p8", 8, 4 * MIN, func, sizeof(func)));
    /* 4.1 req/s over 4 minutes, two goroutines more: flat. */
    assert_int_equal(see(s, "p8", 8, 0, 2, 1984, 4 * MIN, &r), CTL_VERIFY_FIXED);
    assert_string_equal(r.owner.name, "orders");
    assert_string_equal(r.ns, "shop");
    assert_string_equal(r.pattern, "chan-send");
    expect_in(r.message, "main.(*fetcher).gather.func1 no longer grows in "
                         "revision 8 (orders:1.4.3): 0 \xe2\x86\x92 2 over 4m");
    expect_in(r.message, "at 4.1 req/s; it grew +340.0/min in revision 7 "
                         "(orders:1.4.2) at 4.0 req/s");
    expect_in(r.message, "open across 1 restart of revision 7: a restart is not a fix");
    assert_false(ctl_stories_is_open(s, "dep-uid", FUNC));
    assert_int_equal(ctl_stories_count(s), 0);
    ctl_stories_free(s);
}

static void test_not_fixed_moves_the_story(void **state)
{
    (void)state;
    ctl_stories *s = opened(-1);
    ctl_verify_result r;
    char func[512];
    assert_int_equal(see(s, "p8", 8, 0, 10, -1, 0, &r), CTL_VERIFY_WATCHING);
    /* +400 in 4 minutes: more than a quarter of 340/min. */
    assert_int_equal(see(s, "p8", 8, 0, 410, -1, 4 * MIN, &r), CTL_VERIFY_NOT_FIXED);
    expect_in(r.message, "still grows in revision 8 (orders:1.4.3): 10 \xe2\x86\x92 410 "
                         "over 4m (+100.0/min) on pod p8 at an unknown request rate");
    expect_in(r.message, "Pattern chan-send: ");
    assert_true(ctl_stories_is_open(s, "dep-uid", FUNC));
    /* Now about revision 8: its restarts are no fix, revision 9 is watched. */
    assert_false(ctl_stories_wants(s, "dep-uid", "p8", 8, 10 * MIN, func, sizeof(func)));
    assert_true(ctl_stories_wants(s, "dep-uid", "p9", 9, 10 * MIN, func, sizeof(func)));
    assert_int_equal(see(s, "p9", 9, 0, 3, -1, 10 * MIN, &r), CTL_VERIFY_WATCHING);
    assert_int_equal(see(s, "p9", 9, 0, 4, -1, 14 * MIN, &r), CTL_VERIFY_FIXED);
    expect_in(r.message, "it grew +100.0/min in revision 8 (orders:1.4.3)");
    ctl_stories_free(s);
}

static void test_window_restarts(void **state)
{
    (void)state;
    ctl_stories *s = opened(4);
    ctl_verify_result r;
    assert_int_equal(see(s, "p8", 8, 0, 0, 0, 0, &r), CTL_VERIFY_WATCHING);
    /* The process restarted: its count dropped for that reason alone. */
    assert_int_equal(see(s, "p8", 8, 1, 0, 0, 4 * MIN, &r), CTL_VERIFY_WATCHING);
    /* Another pod takes over when the first goes. */
    assert_int_equal(see(s, "q8", 8, 0, 0, 0, 5 * MIN, &r), CTL_VERIFY_WATCHING);
    /* q8 stops being sampled (deleted): after a minute r8 takes over. */
    char func[512];
    assert_false(ctl_stories_wants(s, "dep-uid", "r8", 8, 5 * MIN + 59000, func, sizeof(func)));
    assert_true(ctl_stories_wants(s, "dep-uid", "r8", 8, 6 * MIN + 1, func, sizeof(func)));
    /* Idle: 0.5 req/s is under half the 4 req/s of the finding. */
    assert_int_equal(see(s, "q8", 8, 0, 0, 120, 9 * MIN, &r), CTL_VERIFY_LOW_LOAD);
    expect_in(r.message, "not yet comparable");
    expect_in(r.message, "0.5 req/s, under half the 4.0 req/s it leaked at");
    assert_true(ctl_stories_is_open(s, "dep-uid", FUNC));
    /* A leak that grows at low load is still not fixed. */
    assert_int_equal(see(s, "q8", 8, 0, 500, 240, 13 * MIN, &r), CTL_VERIFY_NOT_FIXED);
    ctl_stories_free(s);
}

/* A workload that runs no pod any more (deleted, scaled to zero) has its
 * story closed after the idle time; one still sampled keeps it. */
static void test_expire(void **state)
{
    (void)state;
    ctl_stories *s = opened(4);   /* opened at 0 */
    kube_owner o = orders();
    snprintf(o.uid, sizeof(o.uid), "dep2");
    ctl_story_facts f = {.ns = "shop", .owner = &o, .func = FUNC,
                         .pattern = "mutex", .revision = 2};
    assert_true(ctl_stories_open(s, &f, 0));
    ctl_stories_touch(s, "dep-uid", 8 * MIN);
    ctl_story_gone gone[4];
    assert_int_equal(ctl_stories_expire(s, 9 * MIN, 10 * MIN, gone, 4), 0);
    assert_int_equal(ctl_stories_expire(s, 10 * MIN, 10 * MIN, gone, 4), 1);
    assert_string_equal(gone[0].owner.uid, "dep2");
    assert_string_equal(gone[0].pattern, "mutex");
    assert_string_equal(gone[0].ns, "shop");
    assert_true(ctl_stories_is_open(s, "dep-uid", FUNC));
    assert_int_equal(ctl_stories_expire(s, 18 * MIN, 10 * MIN, gone, 4), 1);
    assert_int_equal(ctl_stories_count(s), 0);
    ctl_stories_free(s);
}

static void test_end(void **state)
{
    (void)state;
    ctl_stories *s = opened(4);
    assert_int_equal(ctl_stories_count(s), 1);
    assert_true(ctl_stories_end(s, "dep-uid", FUNC));
    assert_false(ctl_stories_end(s, "dep-uid", FUNC));
    assert_int_equal(ctl_stories_count(s), 0);
    ctl_stories_free(s);
}

/* The last green deploy's evidence: the newest revision older than the
 * one asked about, its newest file; other workloads never mix in. */
static void test_older_evidence(void **state)
{
    (void)state;
    ctl_stories *s = ctl_stories_new(0);
    ctl_revision_evidence ev;
    assert_false(ctl_stories_older_evidence(s, "dep-uid", 9, &ev));
    ctl_stories_note_evidence(s, "dep-uid", 6, "orders:1.4.1", "/ev/a_rev6_1.pb.gz", 100);
    ctl_stories_note_evidence(s, "dep-uid", 6, "orders:1.4.1", "/ev/b_rev6_2.pb.gz", 200);
    ctl_stories_note_evidence(s, "dep-uid", 6, "orders:1.4.1", "/ev/c_rev6_0.pb.gz", 50);
    ctl_stories_note_evidence(s, "dep-uid", 7, "orders:1.4.2", "/ev/d_rev7.pb.gz", 300);
    ctl_stories_note_evidence(s, "other", 8, "x:1", "/ev/e_rev8.pb.gz", 400);
    ctl_stories_note_evidence(s, "dep-uid", -1, "?", "/ev/f.pb.gz", 500);
    assert_true(ctl_stories_older_evidence(s, "dep-uid", 7, &ev));
    assert_int_equal(ev.revision, 6);
    assert_string_equal(ev.path, "/ev/b_rev6_2.pb.gz");
    assert_string_equal(ev.images, "orders:1.4.1");
    assert_int_equal(ev.t_s, 200);
    assert_true(ctl_stories_older_evidence(s, "dep-uid", 9, &ev));
    assert_int_equal(ev.revision, 7);
    assert_false(ctl_stories_older_evidence(s, "dep-uid", 6, &ev));
    /* Bounded: the oldest files make room. */
    for (long r = 10; r < 2100; r++)
        ctl_stories_note_evidence(s, "many", r, "m:1", "/ev/m.pb.gz", 1000 + r);
    assert_false(ctl_stories_older_evidence(s, "dep-uid", 9, &ev));
    assert_true(ctl_stories_older_evidence(s, "many", 2100, &ev));
    assert_int_equal(ev.revision, 2099);
    ctl_stories_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_is_not_a_fix),
        cmocka_unit_test(test_fixed_after_a_window_as_long_as_the_finding),
        cmocka_unit_test(test_not_fixed_moves_the_story),
        cmocka_unit_test(test_window_restarts),
        cmocka_unit_test(test_end),
        cmocka_unit_test(test_expire),
        cmocka_unit_test(test_older_evidence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
