/*
 * test_kube_events.c — the Event recorder's decisions without a server, on
 * a fake clock: dedup keys, the per-object spam token bucket, aggregation
 * of similar events, create-vs-patch with count and timestamps, the dedup
 * window, forgetting a garbage-collected Event, the Event body kubectl
 * describe needs, and eviction result classification.
 *
 * Not for: the recorder talking to a server (test_kube_events_flow.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube_events.h"
#include "kube/kube_evict.h"

#define S 1000000LL /* one second in microseconds */

static kube_object_ref pod_ref(const char *name, const char *uid)
{
    kube_object_ref r = {.api_version = "v1",
                         .kind = "Pod",
                         .namespace = "shop",
                         .name = name,
                         .uid = uid};
    return r;
}

static void test_keys(void **state)
{
    (void)state;
    kube_object_ref a = pod_ref("api-1", "u1");
    char k0[40], k1[40];
    kube_event_key("leakwatch", "lw-0", &a, "Warning", "GoroutineLeak", "m",
                   k0);
    assert_int_equal(strlen(k0), 32);
    kube_event_key("leakwatch", "lw-0", &a, "Warning", "GoroutineLeak", "m",
                   k1);
    assert_string_equal(k0, k1);
    /* Every field matters. */
    kube_object_ref b = a;
    b.uid = "u2";
    kube_event_key("leakwatch", "lw-0", &b, "Warning", "GoroutineLeak", "m",
                   k1);
    assert_string_not_equal(k0, k1);
    b = a;
    b.kind = "Deployment";
    kube_event_key("leakwatch", "lw-0", &b, "Warning", "GoroutineLeak", "m",
                   k1);
    assert_string_not_equal(k0, k1);
    b = a;
    b.namespace = "other";
    kube_event_key("leakwatch", "lw-0", &b, "Warning", "GoroutineLeak", "m",
                   k1);
    assert_string_not_equal(k0, k1);
    kube_event_key("leakwatch", "lw-0", &a, "Normal", "GoroutineLeak", "m",
                   k1);
    assert_string_not_equal(k0, k1);
    kube_event_key("leakwatch", "lw-0", &a, "Warning", "LeakContainment", "m",
                   k1);
    assert_string_not_equal(k0, k1);
    kube_event_key("leakwatch", "lw-0", &a, "Warning", "GoroutineLeak", "m2",
                   k1);
    assert_string_not_equal(k0, k1);
    kube_event_key("other", "lw-0", &a, "Warning", "GoroutineLeak", "m", k1);
    assert_string_not_equal(k0, k1);
    kube_event_key("leakwatch", "lw-1", &a, "Warning", "GoroutineLeak", "m",
                   k1);
    assert_string_not_equal(k0, k1);
    /* Field boundaries are not ambiguous. */
    kube_object_ref c = pod_ref("ab", "u1"), d = pod_ref("a", "bu1");
    kube_event_key("x", "y", &c, "Warning", "R", "m", k0);
    kube_event_key("x", "y", &d, "Warning", "R", "m", k1);
    assert_string_not_equal(k0, k1);
}

static void test_spam_filter(void **state)
{
    (void)state;
    kube_event_spam_filter *f = kube_event_spam_filter_new(0, 0, 0);
    kube_object_ref a = pod_ref("api-1", "u1"), b = pod_ref("api-2", "u2");
    int64_t t = 1000 * S;
    /* Default burst 25, then nothing... */
    for (int i = 0; i < 25; i++)
        assert_true(kube_event_spam_allow(f, "leakwatch", "i", &a, t));
    assert_false(kube_event_spam_allow(f, "leakwatch", "i", &a, t));
    assert_false(kube_event_spam_allow(f, "leakwatch", "i", &a, t + 299 * S));
    /* ...another object is not affected... */
    assert_true(kube_event_spam_allow(f, "leakwatch", "i", &b, t));
    /* ...one token back every 5 minutes: at 299 s it was 0.997 of one. */
    assert_true(kube_event_spam_allow(f, "leakwatch", "i", &a, t + 300 * S));
    assert_false(kube_event_spam_allow(f, "leakwatch", "i", &a, t + 300 * S));
    assert_false(kube_event_spam_allow(f, "leakwatch", "i", &a, t + 599 * S));
    assert_true(kube_event_spam_allow(f, "leakwatch", "i", &a, t + 600 * S));
    /* A clock going backwards grants nothing. */
    assert_false(kube_event_spam_allow(f, "leakwatch", "i", &a, t));
    /* A long quiet refills to the burst, not beyond. */
    int ok = 0;
    for (int i = 0; i < 40; i++)
        ok += kube_event_spam_allow(f, "leakwatch", "i", &a, t + 100000 * S);
    assert_int_equal(ok, 25);
    kube_event_spam_filter_free(f);

    /* Configurable, and the LRU forgets old objects (which then start with
     * a full bucket). */
    f = kube_event_spam_filter_new(2, 1.0, 2);
    kube_object_ref c = pod_ref("api-3", "u3");
    assert_true(kube_event_spam_allow(f, "l", "i", &a, t));
    assert_true(kube_event_spam_allow(f, "l", "i", &a, t));
    assert_false(kube_event_spam_allow(f, "l", "i", &a, t));
    assert_true(kube_event_spam_allow(f, "l", "i", &a, t + 1 * S));
    assert_true(kube_event_spam_allow(f, "l", "i", &b, t + 1 * S));
    assert_true(kube_event_spam_allow(f, "l", "i", &c, t + 1 * S)); /* evicts a */
    assert_true(kube_event_spam_allow(f, "l", "i", &a, t + 1 * S));
    kube_event_spam_filter_free(f);
}

static void test_dedup(void **state)
{
    (void)state;
    kube_recorder_opts o = {.instance = "lw-0", .dedup_window_s = 600};
    kube_event_correlator *k = kube_event_correlator_new(&o);
    kube_object_ref a = pod_ref("api-1", "u1");
    int64_t t = 1700000000 * S;
    kube_event_plan p;
    assert_int_equal(kube_event_correlate(k, &a, "Warning", "GoroutineLeak",
                                          "leak!", t, &p),
                     0);
    assert_false(p.patch);
    assert_int_equal(p.count, 1);
    assert_true(!strncmp(p.name, "api-1.", 6));
    assert_string_equal(p.message, "leak!");
    char name[256];
    snprintf(name, sizeof name, "%s", p.name);
    /* Not accepted by the server yet: a repeat still creates. */
    kube_event_plan q;
    kube_event_correlate(k, &a, "Warning", "GoroutineLeak", "leak!", t + 1,
                         &q);
    assert_false(q.patch);
    assert_string_not_equal(q.name, p.name);
    kube_event_plan_clear(&q);
    kube_event_correlator_observed(k, &p);
    kube_event_plan_clear(&p);

    /* Repeats patch the same Event, counting up, first time kept. */
    for (int i = 2; i <= 4; i++) {
        kube_event_correlate(k, &a, "Warning", "GoroutineLeak", "leak!",
                             t + i * 10 * S, &p);
        assert_true(p.patch);
        assert_string_equal(p.name, name);
        assert_int_equal(p.count, i);
        assert_true(p.first_us == t);
        assert_true(p.last_us == t + i * 10 * S);
        kube_event_correlator_observed(k, &p);
        kube_event_plan_clear(&p);
    }
    /* Another message, reason or object is another Event. */
    kube_event_correlate(k, &a, "Warning", "GoroutineLeak", "other", t + 50 * S,
                         &p);
    assert_false(p.patch);
    kube_event_plan_clear(&p);
    kube_object_ref b = pod_ref("api-2", "u2");
    kube_event_correlate(k, &b, "Warning", "GoroutineLeak", "leak!",
                         t + 50 * S, &p);
    assert_false(p.patch);
    kube_event_plan_clear(&p);

    /* Past the window since the last one: a new Event. */
    kube_event_correlate(k, &a, "Warning", "GoroutineLeak", "leak!",
                         t + 40 * S + 601 * S, &p);
    assert_false(p.patch);
    assert_int_equal(p.count, 1);
    kube_event_plan_clear(&p);

    /* Within the window but forgotten (404 from the server): new Event. */
    kube_event_correlate(k, &a, "Warning", "GoroutineLeak", "leak!",
                         t + 60 * S, &p);
    assert_true(p.patch);
    kube_event_correlator_forget(k, p.key);
    kube_event_plan_clear(&p);
    kube_event_correlate(k, &a, "Warning", "GoroutineLeak", "leak!",
                         t + 61 * S, &p);
    assert_false(p.patch);
    kube_event_plan_clear(&p);
    kube_event_correlator_free(k);
}

static void test_aggregation(void **state)
{
    (void)state;
    kube_recorder_opts o = {.instance = "lw-0", .aggregate_max = 3};
    kube_event_correlator *k = kube_event_correlator_new(&o);
    kube_object_ref a = pod_ref("api-1", "u1");
    int64_t t = 1700000000 * S;
    kube_event_plan p;
    char msg[64];
    /* Two distinct messages go out as they are. */
    for (int i = 0; i < 2; i++) {
        snprintf(msg, sizeof msg, "goroutines %d", 100 + i);
        kube_event_correlate(k, &a, "Warning", "GoroutineLeak", msg, t + i,
                             &p);
        assert_false(p.aggregated);
        assert_string_equal(p.message, msg);
        kube_event_correlator_observed(k, &p);
        kube_event_plan_clear(&p);
    }
    /* The third distinct one is combined, and later distinct ones patch the
     * combined Event. */
    kube_event_correlate(k, &a, "Warning", "GoroutineLeak", "goroutines 102",
                         t + 2, &p);
    assert_true(p.aggregated);
    assert_false(p.patch);
    assert_string_equal(p.message,
                        "(combined from similar events): goroutines 102");
    char name[256];
    snprintf(name, sizeof name, "%s", p.name);
    kube_event_correlator_observed(k, &p);
    kube_event_plan_clear(&p);
    kube_event_correlate(k, &a, "Warning", "GoroutineLeak", "goroutines 103",
                         t + 3, &p);
    assert_true(p.aggregated);
    assert_true(p.patch);
    assert_string_equal(p.name, name);
    assert_int_equal(p.count, 2);
    assert_string_equal(p.message,
                        "(combined from similar events): goroutines 103");
    kube_event_correlator_observed(k, &p);
    kube_event_plan_clear(&p);
    /* Another reason is aggregated separately. */
    kube_event_correlate(k, &a, "Normal", "LeakContainment", "restart",
                         t + 4, &p);
    assert_false(p.aggregated);
    kube_event_plan_clear(&p);
    /* After the aggregation window it starts over. */
    kube_event_correlate(k, &a, "Warning", "GoroutineLeak", "goroutines 200",
                         t + 601 * S, &p);
    assert_false(p.aggregated);
    kube_event_plan_clear(&p);
    kube_event_correlator_free(k);

    /* Disabled. */
    kube_recorder_opts off = {.aggregate_max = -1};
    k = kube_event_correlator_new(&off);
    for (int i = 0; i < 20; i++) {
        snprintf(msg, sizeof msg, "m%d", i);
        kube_event_correlate(k, &a, "Warning", "R", msg, t + i, &p);
        assert_false(p.aggregated);
        kube_event_plan_clear(&p);
    }
    kube_event_correlator_free(k);
}

static void test_build(void **state)
{
    (void)state;
    kube_object_ref a = pod_ref("api-1", "u1");
    a.field_path = "spec.containers{app}";
    kube_event_plan p = {.count = 3,
                         .first_us = 1700000000 * S,
                         .last_us = 1700000300 * S,
                         .message = "msg"};
    snprintf(p.name, sizeof p.name, "api-1.abc");
    json_t *e = kube_event_build("leakwatch", "lw-0", &a, "Warning",
                                 "GoroutineLeak", &p);
    assert_non_null(e);
    char *s = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
    print_message("%s\n", s);
    free(s);
    json_error_t je;
    json_t *want = json_loads(
        "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":"
        "\"api-1.abc\",\"namespace\":\"shop\"},\"involvedObject\":{"
        "\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"namespace\":\"shop\","
        "\"name\":\"api-1\",\"uid\":\"u1\",\"fieldPath\":"
        "\"spec.containers{app}\"},\"reason\":\"GoroutineLeak\",\"message\":"
        "\"msg\",\"type\":\"Warning\",\"source\":{\"component\":"
        "\"leakwatch\"},\"firstTimestamp\":\"2023-11-14T22:13:20Z\","
        "\"lastTimestamp\":\"2023-11-14T22:18:20Z\",\"count\":3,"
        "\"reportingComponent\":\"leakwatch\",\"reportingInstance\":"
        "\"lw-0\"}",
        0, &je);
    assert_non_null(want);
    assert_true(json_equal(e, want));
    json_decref(want);
    json_decref(e);

    /* Cluster-scoped objects: Events go to "default", no involvedObject
     * namespace. */
    kube_object_ref n = {.api_version = "v1", .kind = "Node", .name = "n1",
                         .uid = "un"};
    e = kube_event_build("leakwatch", "lw-0", &n, "Normal", "R", &p);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(e, "metadata"), "namespace")),
                        "default");
    assert_null(json_object_get(json_object_get(e, "involvedObject"),
                                "namespace"));
    json_decref(e);
}

static void test_ref_from(void **state)
{
    (void)state;
    json_t *pod = json_pack("{s:{s:s,s:s,s:s}}", "metadata", "name", "p",
                            "namespace", "ns", "uid", "u");
    kube_object_ref r;
    kube_object_ref_from(pod, "v1", "Pod", &r);
    assert_string_equal(r.kind, "Pod");
    assert_string_equal(r.api_version, "v1");
    assert_string_equal(r.name, "p");
    assert_string_equal(r.namespace, "ns");
    assert_string_equal(r.uid, "u");
    json_object_set_new(pod, "kind", json_string("Deployment"));
    json_object_set_new(pod, "apiVersion", json_string("apps/v1"));
    kube_object_ref_from(pod, "v1", "Pod", &r);
    assert_string_equal(r.kind, "Deployment");
    assert_string_equal(r.api_version, "apps/v1");
    json_decref(pod);
}

/* ---- eviction answers -------------------------------------------------- */

static void classify(long status, const char *body, kube_evict_outcome *o)
{
    json_t *j = body ? json_loads(body, 0, NULL) : NULL;
    kube_evict_classify(status, j, body, body ? strlen(body) : 0, -1, o);
    json_decref(j);
}

static void test_evict_classify(void **state)
{
    (void)state;
    kube_evict_outcome o;
    classify(201, "{\"kind\":\"Status\",\"status\":\"Success\"}", &o);
    assert_int_equal(o.result, KUBE_EVICT_EVICTED);
    classify(200, NULL, &o);
    assert_int_equal(o.result, KUBE_EVICT_EVICTED);

    classify(429,
             "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":"
             "\"Cannot evict pod as it would violate the pod's disruption "
             "budget.\",\"reason\":\"TooManyRequests\",\"details\":{"
             "\"causes\":[{\"reason\":\"DisruptionBudget\",\"message\":\"The "
             "disruption budget web needs 2 healthy pods and has 2 currently"
             "\"}],\"retryAfterSeconds\":10},\"code\":429}",
             &o);
    assert_int_equal(o.result, KUBE_EVICT_PDB_BLOCKED);
    assert_int_equal(o.retry_after_s, 10);
    assert_non_null(strstr(o.message, "disruption budget"));
    assert_string_equal(kube_evict_result_name(o.result), "pdb-blocked");

    classify(429, "{\"kind\":\"Status\",\"message\":\"Too many requests, "
                  "please try again later.\",\"reason\":\"TooManyRequests\","
                  "\"code\":429}",
             &o);
    assert_int_equal(o.result, KUBE_EVICT_THROTTLED);

    classify(500, "{\"kind\":\"Status\",\"message\":\"This pod has more than "
                  "one PodDisruptionBudget, which the eviction subresource "
                  "does not support.\",\"reason\":\"InternalError\",\"code\":"
                  "500}",
             &o);
    assert_int_equal(o.result, KUBE_EVICT_MULTIPLE_PDBS);
    assert_string_equal(kube_evict_result_name(o.result), "multiple-pdbs");
    classify(500, "{\"kind\":\"Status\",\"message\":\"etcd timeout\","
                  "\"code\":500}",
             &o);
    assert_int_equal(o.result, KUBE_EVICT_ERROR);

    classify(404, "{\"kind\":\"Status\",\"message\":\"pods \\\"x\\\" not "
                  "found\",\"reason\":\"NotFound\",\"code\":404}",
             &o);
    assert_int_equal(o.result, KUBE_EVICT_NOT_FOUND);
    assert_non_null(strstr(o.message, "not found"));
    classify(403, "{\"kind\":\"Status\",\"message\":\"pods \\\"x\\\" is "
                  "forbidden: User \\\"u\\\" cannot create resource "
                  "\\\"pods/eviction\\\"\",\"reason\":\"Forbidden\","
                  "\"code\":403}",
             &o);
    assert_int_equal(o.result, KUBE_EVICT_FORBIDDEN);
    assert_non_null(strstr(o.message, "forbidden"));
    classify(409, "{\"kind\":\"Status\",\"message\":\"Precondition failed: "
                  "UID in precondition: a, UID in object meta: b\",\"reason\":"
                  "\"Conflict\",\"code\":409}",
             &o);
    assert_int_equal(o.result, KUBE_EVICT_CONFLICT);
    classify(502, "<html>bad gateway</html>", &o);
    assert_int_equal(o.result, KUBE_EVICT_ERROR);
    assert_true(o.message[0] != '\0');
    assert_string_equal(kube_evict_result_name((kube_evict_result)99),
                        "error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_spam_filter),
        cmocka_unit_test(test_dedup),
        cmocka_unit_test(test_aggregation),
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_ref_from),
        cmocka_unit_test(test_evict_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
