/*
 * test_kube_workload.c — a workload and its own pods read through a fake
 * API server that answers with objects recorded from a real kube-apiserver
 * (tests/fixtures/kube/): the selector sent, strays that match it left out,
 * the fresh peer, a workload that is gone; capture targets of its serving
 * pods with the user's overrides; named ports as Kubernetes resolves them
 * (containers, then native sidecars, never a plain init container).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "capture/cap_pod.h"
#include "kube/kube_pods.h"
#include "kube/kube_workload.h"

#include "support.h"
#include "test_kube_watch_fakeapi.h"


typedef struct world {
    pthread_mutex_t mu;
    json_t *deployment, *pods;  /* what the server answers */
    char selector[1024];        /* the labelSelector query it was sent */
    fake_api api;
    kube_client *c;
} world;

static int handler(fake_api *a, const fake_req *r, int fd, void *ud)
{
    (void)a;
    world *w = ud;
    pthread_mutex_lock(&w->mu);
    json_t *answer = NULL;
    if (!strcmp(r->path, "/apis/apps/v1/namespaces/shop/deployments/orders"))
        answer = json_incref(w->deployment);
    else if (!strncmp(r->path, "/api/v1/namespaces/shop/pods?", 29)) {
        fake_query(r->path, "labelSelector", w->selector, sizeof w->selector);
        answer = json_incref(w->pods);
    }
    pthread_mutex_unlock(&w->mu);
    if (!answer)
        return fake_send_status(fd, 404, "NotFound", "not found") ? FAKE_CLOSE
                                                                   : FAKE_KEEP;
    fake_send_json(fd, 200, answer);
    json_decref(answer);
    return FAKE_KEEP;
}

/* A recorded pod turned into one that matches the selector but is not the
 * Deployment's: bare, or owned by a ReplicaSet of another Deployment whose
 * name only starts like this one's. */
static json_t *stray(const char *name, const char *rs_name)
{
    json_t *p = ts_kube_object("pod-lone.json");
    json_t *md = json_object_get(p, "metadata");
    json_object_set_new(md, "name", json_string(name));
    json_object_set_new(md, "uid", json_string(name));
    json_object_set_new(md, "labels", json_pack("{s:s,s:s}", "app", "orders",
                                                "tier", "api"));
    if (rs_name)
        json_object_set_new(md, "ownerReferences",
                            json_pack("[{s:s,s:s,s:s,s:s,s:b}]", "apiVersion",
                                      "apps/v1", "kind", "ReplicaSet", "name",
                                      rs_name, "uid", "other-rs", "controller",
                                      1));
    return p;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    w->deployment = ts_kube_object("deployment-orders.json");
    w->pods = ts_kube_object("pods-orders.json");
    json_t *items = json_object_get(w->pods, "items");
    json_array_append_new(items, stray("lone-match", NULL));
    json_array_append_new(items, stray("orders-canary-5f7d-x", "orders-canary-5f7d"));
    w->c = fake_api_connect(&w->api, handler, w, "shop");
    if (!w->c)
        return -1;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    fake_api_disconnect(&w->api, w->c);
    json_decref(w->deployment);
    json_decref(w->pods);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return 0;
}

/* Index of the recorded orders pod that started later. */
static const char *younger_name(const world *w)
{
    json_t *items = json_object_get(w->pods, "items");
    json_t *a = json_array_get(items, 0), *b = json_array_get(items, 1);
    const char *sa = json_string_value(json_object_get(json_object_get(a, "status"), "startTime"));
    const char *sb = json_string_value(json_object_get(json_object_get(b, "status"), "startTime"));
    json_t *y = strcmp(sa, sb) > 0 ? a : b;
    return json_string_value(json_object_get(json_object_get(y, "metadata"), "name"));
}

static void test_selector_of_recorded_deployment(void **state)
{
    world *w = *state;
    char out[256], err[256];
    assert_int_equal(kube_selector_string(
                         json_object_get(json_object_get(w->deployment, "spec"),
                                         "selector"),
                         out, sizeof out, err, sizeof err),
                     0);
    assert_string_equal(out, "app=orders,tier in (api,web),!canary");
}

static void test_workload_own_pods_and_peer(void **state)
{
    world *w = *state;
    long status = -1;
    char err[512];
    kube_workload *wl = kube_workload_get(w->c, "shop", "Deployment", "orders",
                                          &status, err, sizeof err);
    assert_non_null(wl);
    assert_int_equal(status, 0);
    /* The selector went out escaped, once. */
    assert_string_equal(w->selector,
                        "app%3Dorders%2Ctier%20in%20%28api%2Cweb%29%2C%21canary");
    assert_string_equal(wl->uid, json_string_value(json_object_get(
                                     json_object_get(w->deployment, "metadata"), "uid")));
    /* Four listed, the two strays left out. */
    assert_int_equal(wl->npods, 2);
    for (size_t i = 0; i < wl->npods; i++) {
        assert_true(kube_workload_owns(wl, &wl->pods[i]));
        assert_non_null(wl->pod_objs[i]);
        assert_int_equal(strncmp(wl->pods[i].name, "orders-", 7), 0);
    }
    long fresh = kube_fresh_peer(wl->pods, wl->npods, NULL);
    assert_true(fresh >= 0);
    assert_string_equal(wl->pods[fresh].name, younger_name(w));
    /* Skipping the fresh one, or its deletion, leaves the other. */
    long other = kube_fresh_peer(wl->pods, wl->npods, &wl->pods[fresh]);
    assert_int_equal(other, 1 - fresh);
    wl->pods[fresh].terminating = true;
    assert_int_equal(kube_fresh_peer(wl->pods, wl->npods, NULL), 1 - fresh);
    wl->pods[1 - fresh].ready = false;
    assert_int_equal(kube_fresh_peer(wl->pods, wl->npods, NULL), -1);
    kube_workload_free(wl);

    wl = kube_workload_get(w->c, "shop", "Deployment", "gone", &status, err,
                           sizeof err);
    assert_null(wl);
    assert_int_equal(status, 404);
    wl = kube_workload_get(w->c, "shop", "DaemonSet", "orders", &status, err,
                           sizeof err);
    assert_null(wl);
    assert_non_null(strstr(err, "DaemonSet"));
}

static void test_capture_targets(void **state)
{
    world *w = *state;
    char err[512];
    cap_overrides none = {0};
    cap_workload_targets tg;
    assert_int_equal(cap_workload_targets_get(w->c, "shop", "Deployment",
                                              "orders", &none, &tg, err,
                                              sizeof err),
                     0);
    assert_int_equal(tg.n, 2);
    assert_true(tg.fresh >= 0 && tg.fresh < 2);
    assert_string_equal(tg.v[tg.fresh].name, younger_name(w));
    for (size_t i = 0; i < tg.n; i++) {
        assert_int_equal(tg.v[i].t.port, 6060); /* leakwatch.dev/port: pprof */
        assert_string_equal(tg.v[i].t.path, "/debug/pprof");
        assert_false(tg.v[i].t.https);
        assert_ptr_equal(tg.v[i].t.pod, tg.v[i].name);
        assert_true(tg.v[i].t.pod_ip[0]);
        assert_true(tg.v[i].start_s > 0);
    }
    cap_workload_targets_clear(&tg);

    cap_overrides http = {.port = "http", .path = "/x/pprof", .scheme = "https"};
    assert_int_equal(cap_workload_targets_get(w->c, "shop", "Deployment",
                                              "orders", &http, &tg, err,
                                              sizeof err),
                     0);
    assert_int_equal(tg.v[0].t.port, 8080);
    assert_string_equal(tg.v[0].t.path, "/x/pprof");
    assert_true(tg.v[0].t.https);
    cap_workload_targets_clear(&tg);

    cap_overrides nope = {.port = "nope"};
    assert_int_equal(cap_workload_targets_get(w->c, "shop", "Deployment",
                                              "orders", &nope, &tg, err,
                                              sizeof err),
                     -1);
    assert_non_null(strstr(err, "no container port named \"nope\""));
    assert_int_equal(tg.n, 0);
    assert_int_equal(cap_workload_targets_get(w->c, "shop", "Deployment",
                                              "gone", &none, &tg, err,
                                              sizeof err),
                     -1);
    assert_non_null(strstr(err, "deployment shop/gone: "));
}

static void test_named_ports_like_kubernetes(void **state)
{
    (void)state;
    json_t *p = ts_kube_object("pod-sidecar.json");
    assert_int_equal(kube_pod_named_port(p, "metrics"), 9090);   /* sidecar */
    assert_int_equal(kube_pod_named_port(p, "http"), 8080);      /* container first */
    assert_int_equal(kube_pod_named_port(p, "setup-debug"), 0);  /* init: exited */
    assert_int_equal(kube_pod_named_port(p, "pprof"), 0);
    assert_int_equal(kube_pod_default_port(p), 9090);            /* metrics before http */
    /* What capture --port NAME does with it. */
    cap_pod_target t;
    char err[256];
    cap_overrides o = {.port = "metrics"};
    assert_int_equal(cap_pod_target_resolve(p, &o, &t, err, sizeof err), 0);
    assert_int_equal(t.t.port, 9090);
    o.port = "setup-debug";
    assert_int_equal(cap_pod_target_resolve(p, &o, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "pod shop/sidecar: no container port named"));
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_selector_of_recorded_deployment,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_workload_own_pods_and_peer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_capture_targets, setup, teardown),
        cmocka_unit_test(test_named_ports_like_kubernetes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
