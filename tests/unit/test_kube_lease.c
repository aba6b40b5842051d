/*
 * test_kube_lease.c — leader election decisions on a fake clock: create
 * when absent, wait while another holder's lease runs, take over only after
 * leaseDuration of OUR monotonic time without a change (whatever renewTime
 * says — clock skew between machines must not matter), renew keeping
 * acquireTime and transitions, take a released lease at once, the release
 * record, Lease JSON round trips and option checks.
 *
 * Not for: the elector thread against a server (test_kube_lease_flow.c,
 * tests/e2e/kubelease_*).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube_lease.h"

#define SEC 1000 /* ms */
#define WALL 1700000000000000LL

static kube_lease_record rec(const char *holder, long dur, const char *renew,
                             long transitions)
{
    kube_lease_record r;
    memset(&r, 0, sizeof r);
    snprintf(r.holder, sizeof r.holder, "%s", holder);
    r.duration_s = dur;
    snprintf(r.acquire_time, sizeof r.acquire_time,
             "2023-11-14T22:00:00.000000Z");
    snprintf(r.renew_time, sizeof r.renew_time, "%s", renew);
    r.transitions = transitions;
    return r;
}

static void test_create_when_absent(void **state)
{
    (void)state;
    kube_lease_state st = {0};
    kube_lease_record next;
    assert_int_equal(kube_lease_decide(&st, "me", NULL, NULL, 15, 0, WALL,
                                       &next),
                     KUBE_LEASE_CREATE);
    assert_string_equal(next.holder, "me");
    assert_int_equal(next.duration_s, 15);
    assert_int_equal(next.transitions, 0);
    assert_string_equal(next.renew_time, "2023-11-14T22:13:20.000000Z");
    assert_string_equal(next.acquire_time, next.renew_time);
}

static void test_wait_then_take_over(void **state)
{
    (void)state;
    kube_lease_state st = {0};
    kube_lease_record next;
    /* The other holder renewed an hour ago by the server's clock — or its
     * own clock is an hour behind.  We cannot tell, so we do not care: we
     * just saw it, so it is valid for 15 s of our time. */
    kube_lease_record other = rec("other", 15, "2023-11-14T21:13:20.000000Z", 4);
    int64_t t = 5000 * SEC;
    assert_int_equal(kube_lease_decide(&st, "me", &other, "100", 15, t, WALL,
                                       &next),
                     KUBE_LEASE_WAIT);
    assert_true(kube_lease_observed_valid(&st, t));
    assert_int_equal(kube_lease_decide(&st, "me", &other, "100", 15,
                                       t + 14999, WALL, &next),
                     KUBE_LEASE_WAIT);
    /* Unchanged for leaseDuration of our monotonic time: expired. */
    assert_false(kube_lease_observed_valid(&st, t + 15000));
    assert_int_equal(kube_lease_decide(&st, "me", &other, "100", 15,
                                       t + 15000, WALL + 15000000, &next),
                     KUBE_LEASE_UPDATE);
    assert_string_equal(next.holder, "me");
    assert_int_equal(next.transitions, 5);
    assert_string_equal(next.acquire_time, "2023-11-14T22:13:35.000000Z");
    assert_string_equal(next.renew_time, next.acquire_time);
}

static void test_renewals_restart_the_clock(void **state)
{
    (void)state;
    kube_lease_state st = {0};
    kube_lease_record next;
    int64_t t = 0;
    /* A holder whose clock runs far AHEAD keeps renewing: renewTime in our
     * future must not make us wait longer than 15 s after it stops, and its
     * renewals (record changes) must keep us waiting while it lives. */
    char renew[40];
    for (int i = 0; i < 10; i++) {
        snprintf(renew, sizeof renew, "2099-01-01T00:00:%02d.000000Z", i);
        kube_lease_record other = rec("other", 15, renew, 1);
        char rv[16];
        snprintf(rv, sizeof rv, "%d", 200 + i);
        assert_int_equal(kube_lease_decide(&st, "me", &other, rv, 15, t, WALL,
                                           &next),
                         KUBE_LEASE_WAIT);
        t += 10 * SEC; /* longer than half the duration between renewals */
    }
    /* It stops renewing (same record, same resourceVersion). */
    kube_lease_record last = rec("other", 15, renew, 1);
    int64_t stopped = t - 10 * SEC; /* when we last saw a change */
    assert_int_equal(kube_lease_decide(&st, "me", &last, "209", 15,
                                       stopped + 14 * SEC, WALL, &next),
                     KUBE_LEASE_WAIT);
    assert_int_equal(kube_lease_decide(&st, "me", &last, "209", 15,
                                       stopped + 15 * SEC, WALL, &next),
                     KUBE_LEASE_UPDATE);

    /* A change of resourceVersion alone (metadata touched) also counts as
     * life. */
    kube_lease_state s2 = {0};
    kube_lease_record o = rec("other", 15, "x", 0);
    kube_lease_decide(&s2, "me", &o, "1", 15, 0, WALL, &next);
    assert_int_equal(kube_lease_decide(&s2, "me", &o, "2", 15, 14 * SEC, WALL,
                                       &next),
                     KUBE_LEASE_WAIT);
    assert_int_equal(kube_lease_decide(&s2, "me", &o, "2", 15, 28 * SEC, WALL,
                                       &next),
                     KUBE_LEASE_WAIT);
    assert_int_equal(kube_lease_decide(&s2, "me", &o, "2", 15, 29 * SEC, WALL,
                                       &next),
                     KUBE_LEASE_UPDATE);
}

static void test_holder_duration_counts(void **state)
{
    (void)state;
    /* The holder's own leaseDurationSeconds decides, not ours. */
    kube_lease_state st = {0};
    kube_lease_record next;
    kube_lease_record other = rec("other", 60, "r", 0);
    kube_lease_decide(&st, "me", &other, "1", 15, 0, WALL, &next);
    assert_int_equal(kube_lease_decide(&st, "me", &other, "1", 15, 59 * SEC,
                                       WALL, &next),
                     KUBE_LEASE_WAIT);
    assert_int_equal(kube_lease_decide(&st, "me", &other, "1", 15, 60 * SEC,
                                       WALL, &next),
                     KUBE_LEASE_UPDATE);
    assert_int_equal(next.duration_s, 15);
}

static void test_renew_own(void **state)
{
    (void)state;
    kube_lease_state st = {0};
    kube_lease_record next;
    kube_lease_record mine = rec("me", 15, "r1", 7);
    assert_int_equal(kube_lease_decide(&st, "me", &mine, "50", 15, 0,
                                       WALL + 1000000, &next),
                     KUBE_LEASE_UPDATE);
    assert_int_equal(next.transitions, 7);
    assert_string_equal(next.acquire_time, "2023-11-14T22:00:00.000000Z");
    assert_string_equal(next.renew_time, "2023-11-14T22:13:21.000000Z");
    kube_lease_observe_write(&st, &next, "51", 100);
    assert_int_equal(st.observed_mono_ms, 100);
    assert_string_equal(st.observed_rv, "51");
    assert_string_equal(st.observed.holder, "me");
}

static void test_released_lease_taken_at_once(void **state)
{
    (void)state;
    kube_lease_state st = {0};
    kube_lease_record next;
    kube_lease_record held = rec("me", 15, "r", 3);
    kube_lease_decide(&st, "me", &held, "9", 15, 0, WALL, &next);
    kube_lease_observe_write(&st, &next, "10", 0);
    kube_lease_record rel;
    kube_lease_release_record(&st, WALL, &rel);
    assert_string_equal(rel.holder, "");
    assert_int_equal(rel.duration_s, 1);
    assert_int_equal(rel.transitions, 3);

    /* Someone else sees it released: no waiting at all. */
    kube_lease_state other = {0};
    assert_int_equal(kube_lease_decide(&other, "b", &rel, "11", 15, 0, WALL,
                                       &next),
                     KUBE_LEASE_UPDATE);
    assert_string_equal(next.holder, "b");
    assert_int_equal(next.transitions, 4);
}

static void test_parse_apply(void **state)
{
    (void)state;
    json_t *lease = json_loads(
        "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
        "\"metadata\":{\"name\":\"l\",\"namespace\":\"n\",\"resourceVersion\":"
        "\"77\",\"labels\":{\"keep\":\"me\"}},\"spec\":{\"holderIdentity\":"
        "\"a\",\"leaseDurationSeconds\":15,\"acquireTime\":"
        "\"2023-11-14T22:00:00.000000Z\",\"renewTime\":"
        "\"2023-11-14T22:00:05.123456Z\",\"leaseTransitions\":2}}",
        0, NULL);
    assert_non_null(lease);
    kube_lease_record r;
    char rv[64];
    assert_int_equal(kube_lease_parse(lease, &r, rv, sizeof rv), 0);
    assert_string_equal(rv, "77");
    assert_string_equal(r.holder, "a");
    assert_int_equal(r.duration_s, 15);
    assert_int_equal(r.transitions, 2);
    assert_string_equal(r.renew_time, "2023-11-14T22:00:05.123456Z");
    snprintf(r.holder, sizeof r.holder, "b");
    r.transitions = 3;
    assert_int_equal(kube_lease_apply(lease, &r), 0);
    kube_lease_record back;
    assert_int_equal(kube_lease_parse(lease, &back, NULL, 0), 0);
    assert_string_equal(back.holder, "b");
    assert_int_equal(back.transitions, 3);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(lease, "metadata"),
                                            "labels"),
                            "keep")),
                        "me");
    json_decref(lease);

    /* A Lease without spec (just created by someone) has no holder. */
    lease = json_loads("{\"metadata\":{\"resourceVersion\":\"1\"}}", 0, NULL);
    assert_int_equal(kube_lease_parse(lease, &r, rv, sizeof rv), 0);
    assert_string_equal(r.holder, "");
    assert_int_equal(kube_lease_apply(lease, &back), 0);
    assert_non_null(json_object_get(lease, "spec"));
    json_decref(lease);
    /* Not a Lease at all. */
    json_t *arr = json_array();
    assert_int_equal(kube_lease_parse(arr, &r, rv, sizeof rv), -1);
    assert_int_equal(kube_lease_parse(NULL, &r, rv, sizeof rv), -1);
    json_decref(arr);
}

static void test_options(void **state)
{
    (void)state;
    char err[256];
    /* Checked before the client is used, so a dangling pointer would be
     * caught by the sanitizers rather than hidden. */
    kube_lease_opts o = {.namespace = "ns", .name = "l"};
    assert_null(kube_lease_start(NULL, &o, err, sizeof err));
    assert_non_null(strstr(err, "client"));
    kube_client *fake = (kube_client *)&o; /* never dereferenced */
    kube_lease_opts bad = o;
    bad.name = "Bad/Name";
    assert_null(kube_lease_start(fake, &bad, err, sizeof err));
    bad = o;
    bad.lease_duration_ms = 10000; /* == renew deadline */
    assert_null(kube_lease_start(fake, &bad, err, sizeof err));
    assert_non_null(strstr(err, "renewDeadline"));
    bad = o;
    bad.retry_period_ms = 9000; /* 1.2 x 9 s > 10 s */
    assert_null(kube_lease_start(fake, &bad, err, sizeof err));
    bad = o;
    bad.lease_duration_ms = 500;
    bad.renew_deadline_ms = 400;
    bad.retry_period_ms = 100;
    assert_null(kube_lease_start(fake, &bad, err, sizeof err));
    bad = o;
    bad.identity = "";
    assert_null(kube_lease_start(fake, &bad, err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_when_absent),
        cmocka_unit_test(test_wait_then_take_over),
        cmocka_unit_test(test_renewals_restart_the_clock),
        cmocka_unit_test(test_holder_duration_counts),
        cmocka_unit_test(test_renew_own),
        cmocka_unit_test(test_released_lease_taken_at_once),
        cmocka_unit_test(test_parse_apply),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
