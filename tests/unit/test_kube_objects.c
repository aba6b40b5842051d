/*
 * test_kube_objects.c — the typed object layer on objects recorded from a
 * real kube-apiserver (tests/fixtures/kube/, hack/record-kube-objects.sh):
 * controller references of a Deployment's pods, its ReplicaSet, a
 * StatefulSet's pod and a bare pod; a pod parsed once into kube_pod; the one
 * rule for serving and fresher pods; a port declared only by a native
 * sidecar.  Expected values are read from the recordings by plain
 * json_object_get chains, never by the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/kube_objects.h"
#include "support.h"


/* obj.a.b... by plain json_object_get, "" when absent. */
static const char *at(const json_t *obj, const char *k1, const char *k2)
{
    const json_t *v = json_object_get(json_object_get(obj, k1), k2);
    return json_is_string(v) ? json_string_value(v) : "";
}

static const json_t *first_owner(const json_t *obj)
{
    return json_array_get(json_object_get(json_object_get(obj, "metadata"),
                                          "ownerReferences"), 0);
}

static void test_controller_refs(void **state)
{
    (void)state;
    kube_owner o;
    json_t *db = ts_kube_object("pod-db-0.json"), *sts = ts_kube_object("statefulset-db.json");
    assert_true(kube_controller_ref(db, &o));
    assert_string_equal(o.kind, "StatefulSet");
    assert_string_equal(o.name, "db");
    assert_string_equal(o.api_version, "apps/v1");
    assert_string_equal(o.uid, at(sts, "metadata", "uid"));
    assert_true(o.uid[0]);

    json_t *lone = ts_kube_object("pod-lone.json");
    memset(&o, 'x', sizeof o);
    assert_false(kube_controller_ref(lone, &o));
    assert_string_equal(o.kind, "");
    assert_string_equal(o.uid, "");

    /* A ReplicaSet's controller is its Deployment. */
    json_t *rsl = ts_kube_object("replicasets-orders.json"), *dep = ts_kube_object("deployment-orders.json");
    json_t *rs = json_array_get(json_object_get(rsl, "items"), 0);
    assert_true(kube_controller_ref(rs, &o));
    assert_string_equal(o.kind, "Deployment");
    assert_string_equal(o.name, "orders");
    assert_string_equal(o.uid, at(dep, "metadata", "uid"));

    /* Only the reference marked controller counts, wherever it is. */
    json_t *refs = json_object_get(json_object_get(db, "metadata"), "ownerReferences");
    json_array_insert_new(refs, 0, json_pack("{s:s,s:s,s:s,s:s}", "apiVersion",
                                             "v1", "kind", "ConfigMap", "name",
                                             "not-me", "uid", "cm-uid"));
    assert_true(kube_controller_ref(db, &o));
    assert_string_equal(o.kind, "StatefulSet");
    json_object_set_new(json_array_get(refs, 1), "controller", json_false());
    assert_false(kube_controller_ref(db, &o));

    json_decref(db);
    json_decref(sts);
    json_decref(lone);
    json_decref(rsl);
    json_decref(dep);
}

static void test_pod_parsed_once(void **state)
{
    (void)state;
    json_t *pods = ts_kube_object("pods-orders.json"), *rsl = ts_kube_object("replicasets-orders.json");
    const char *rs_uid = at(json_array_get(json_object_get(rsl, "items"), 0),
                            "metadata", "uid");
    size_t i;
    json_t *item;
    assert_int_equal(json_array_size(json_object_get(pods, "items")), 2);
    json_array_foreach(json_object_get(pods, "items"), i, item)
    {
        kube_pod p;
        kube_pod_parse(item, &p);
        assert_string_equal(p.ns, "shop");
        assert_string_equal(p.name, at(item, "metadata", "name"));
        assert_string_equal(p.uid, at(item, "metadata", "uid"));
        assert_string_equal(p.node, at(item, "spec", "nodeName"));
        assert_string_equal(p.ip, at(item, "status", "podIP"));
        assert_true(p.ip[0]);
        assert_string_equal(p.phase, "Running");
        assert_true(p.ready);
        assert_false(p.terminating);
        assert_false(p.finished);
        assert_int_equal(p.start_s, kube_parse_time(at(item, "status", "startTime")));
        assert_true(p.start_s > 0);
        assert_int_equal(p.restarts, 0);
        assert_true(p.has_controller);
        assert_string_equal(p.controller.kind, "ReplicaSet");
        assert_string_equal(p.controller.uid, rs_uid);
        assert_string_equal(p.controller.name,
                            json_string_value(json_object_get(first_owner(item), "name")));
        assert_int_equal(p.ep_state, 1);
        assert_int_equal(p.ep.port, 6060);
        assert_string_equal(p.ep.port_name, "pprof");
        assert_true(kube_serving(p.ready, p.terminating, p.finished));
    }

    /* A pod being deleted and a finished one are parsed as such. */
    item = json_array_get(json_object_get(pods, "items"), 0);
    json_object_set_new(json_object_get(item, "metadata"), "deletionTimestamp",
                        json_string("2026-12-05T03:00:00Z"));
    json_object_set_new(json_object_get(item, "status"), "phase", json_string("Failed"));
    kube_pod p;
    kube_pod_parse(item, &p);
    assert_true(p.terminating);
    assert_true(p.finished);
    assert_false(kube_serving(p.ready, p.terminating, p.finished));

    json_t *empty = json_object();
    kube_pod_parse(empty, &p);
    assert_string_equal(p.uid, "");
    assert_int_equal(p.start_s, -1);
    assert_false(p.has_controller);
    assert_int_equal(p.ep_state, 0);
    json_decref(empty);
    json_decref(pods);
    json_decref(rsl);
}

static void test_fresher_rule(void **state)
{
    (void)state;
    json_t *pods = ts_kube_object("pods-orders.json");
    json_t *items = json_object_get(pods, "items");
    kube_pod a, b;
    kube_pod_parse(json_array_get(items, 0), &a);
    kube_pod_parse(json_array_get(items, 1), &b);
    /* The recording restarted one replica, so their starts differ. */
    int later = strcmp(at(json_array_get(items, 0), "status", "startTime"),
                       at(json_array_get(items, 1), "status", "startTime"));
    assert_int_not_equal(later, 0);
    const kube_pod *young = later > 0 ? &a : &b, *old = later > 0 ? &b : &a;
    assert_true(kube_fresher(young->start_s, young->name, old->start_s, old->name));
    assert_false(kube_fresher(old->start_s, old->name, young->start_s, young->name));
    /* Equal starts: the smaller name, whichever side asks. */
    assert_true(kube_fresher(100, "a", 100, "b"));
    assert_false(kube_fresher(100, "b", 100, "a"));
    assert_false(kube_fresher(100, "a", 100, "a"));
    /* An unknown start (-1) loses to any known one. */
    assert_false(kube_fresher(-1, "a", 5, "b"));
    assert_false(kube_serving(false, false, false));
    assert_false(kube_serving(true, true, false));
    assert_true(kube_serving(true, false, false));
    json_decref(pods);
}

/* Kubernetes resolves a named port over the containers and the native
 * sidecars (init containers with restartPolicy: Always), whose ports are
 * live for the pod's whole life; a plain init container has exited. */
static void test_sidecar_port(void **state)
{
    (void)state;
    json_t *pod = ts_kube_object("pod-sidecar.json");
    kube_pod p;
    kube_pod_parse(pod, &p);
    assert_false(p.has_controller);
    assert_int_equal(p.ep_state, 1);
    assert_int_equal(p.ep.port, 9090);
    assert_string_equal(p.ep.port_name, "metrics");
    assert_string_equal(p.ep.container, "proxy");
    json_decref(pod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_controller_refs),
        cmocka_unit_test(test_pod_parsed_once),
        cmocka_unit_test(test_fresher_rule),
        cmocka_unit_test(test_sidecar_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
